"""Checkpoint -> models/default (HF folder, F16 safetensors), sample.txt, golden outputs.

usage: python3 export.py --ckpt CKPT.pt --tok TOK_DIR --work WORK_DIR --hfjs HFJS_DIR
                         --out MODEL_DIR --golden GOLDEN_DIR [--log TRAIN_LOG] [--seed 1234]
Everything after the safetensors write uses the F16 weights as read back (upcast to fp32).
WORK_DIR must hold heldout_ids.bin (encode_js.mjs file mode of the held-out text).
"""
import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bpe import bytes_to_unicode  # noqa: E402
from model import load_model, load_safetensors, save_safetensors, windowed_nll  # noqa: E402

PROMPT = "Once upon a time, there was a little girl named Lily. She loved to play"
N_GREEDY = 32
N_BOS_GREEDY = 64
MAX_NEW = 400
SAMPLE_BYTES = 200_000
SAMPLE_BATCH = 32

ap = argparse.ArgumentParser()
ap.add_argument("--ckpt", required=True)
ap.add_argument("--tok", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--hfjs", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--golden", required=True)
ap.add_argument("--log", default=None)
ap.add_argument("--seed", type=int, default=1234)
ap.add_argument("--threads", type=int, default=1)
args = ap.parse_args()
torch.set_num_threads(args.threads)
os.makedirs(args.out, exist_ok=True)
os.makedirs(args.golden, exist_ok=True)


def jdump(obj, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def node(mode, inp, out):
    subprocess.run(["node", os.path.join(HERE, "encode_js.mjs"), args.hfjs, args.out, mode, inp, out],
                   check=True)


# ---------------------------------------------------------------- folder: config, weights, tokenizer
ck = torch.load(args.ckpt, map_location="cpu")
cfg = ck["config"]
sd = ck["state_dict"]
assert "lm_head.weight" not in sd
f16 = {k: v.detach().to(torch.float16) for k, v in sd.items()}
st_path = os.path.join(args.out, "model.safetensors")
save_safetensors(f16, st_path)
back = load_safetensors(st_path)
assert sorted(back) == sorted(f16)
for k in f16:
    assert back[k].dtype == torch.float16 and torch.equal(back[k].view(torch.int16), f16[k].view(torch.int16)), k
nparams = sum(v.numel() for v in back.values())
jdump(cfg, os.path.join(args.out, "config.json"))
jdump({"_from_model_config": True, "bos_token_id": cfg["bos_token_id"], "eos_token_id": cfg["eos_token_id"],
       "transformers_version": cfg["transformers_version"]}, os.path.join(args.out, "generation_config.json"))
for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
    shutil.copyfile(os.path.join(args.tok, f), os.path.join(args.out, f))
if args.log:
    shutil.copyfile(args.log, os.path.join(args.out, "training_log.jsonl"))

model = load_model(args.out)   # F16 weights as read back, fp32 math

# ---------------------------------------------------------------- decode helpers
vocab = json.load(open(os.path.join(args.out, "tokenizer.json"), encoding="utf-8"))["model"]["vocab"]
u2b = {u: b for b, u in bytes_to_unicode().items()}
id_bytes = {i: (b"" if i == 0 else bytes(u2b[ch] for ch in t)) for t, i in vocab.items()}


def decode(ids):
    return b"".join(id_bytes[i] for i in ids).decode("utf-8", errors="replace")


# ---------------------------------------------------------------- held-out ppl
held = np.fromfile(os.path.join(args.work, "heldout_ids.bin"), dtype="<i4").astype(np.int64)
h_nll, h_n, h_w = windowed_nll(model, held, 256)
print(f"held-out (F16 weights): nll {h_nll:.5f} ppl {math.exp(h_nll):.4f} ({h_w} windows, {h_n} predictions)")

# ---------------------------------------------------------------- sample.txt
t0 = time.time()
gen = torch.Generator().manual_seed(args.seed)
stories, total = [], 0
with torch.no_grad():
    while total < SAMPLE_BYTES:
        B = SAMPLE_BATCH
        caches = [dict() for _ in model.model.layers]
        cur = torch.zeros(B, 1, dtype=torch.int64)        # BOS
        toks = [[] for _ in range(B)]
        buf = [b"" for _ in range(B)]
        done = [False] * B
        for pos in range(MAX_NEW):
            logits = model(cur, caches=caches, start=pos)[:, -1]
            nxt = torch.multinomial(torch.softmax(logits.double(), -1), 1, generator=gen)
            for r in range(B):
                t = int(nxt[r, 0])
                if done[r]:
                    continue
                if t == 0:
                    done[r] = True
                    continue
                toks[r].append(t)
                buf[r] += id_bytes[t]
                if b"\n\n" in buf[r]:
                    done[r] = True
            if all(done):
                break
            cur = nxt
        for r in range(B):
            s = decode(toks[r]).split("\n\n")[0].rstrip()
            if not s or total >= SAMPLE_BYTES:
                continue
            stories.append(s)
            total += len(s.encode("utf-8")) + 2
sample = "\n\n".join(stories)
with open(os.path.join(args.out, "sample.txt"), "w", encoding="utf-8", newline="") as f:
    f.write(sample)
print(f"sample.txt: {len(stories)} stories, {len(sample.encode('utf-8'))} bytes, {time.time() - t0:.1f}s")

# ---------------------------------------------------------------- JS-encoded prompt + sample
node("file", os.path.join(args.out, "sample.txt"), os.path.join(args.work, "sample_ids.bin"))
sample_ids = np.fromfile(os.path.join(args.work, "sample_ids.bin"), dtype="<i4").astype(np.int64)
s_nll, s_n, s_w = windowed_nll(model, sample_ids, 128, max_windows=32)
assert s_w == 32
print(f"sample.txt first 32x128 windows: nll {s_nll:.5f} ppl {math.exp(s_nll):.4f}")
pin = os.path.join(args.work, "prompt_in.json")
pout = os.path.join(args.work, "prompt_out.json")
json.dump([PROMPT], open(pin, "w"))
node("list", pin, pout)
prompt_ids = json.load(open(pout))[0]["ids"]
assert prompt_ids[0] == 0

# ---------------------------------------------------------------- golden
with torch.no_grad():
    x = torch.tensor([prompt_ids])
    logits, hs = model(x, return_hidden=True)
    logits = logits[0].numpy().astype(np.float32)
    hidden = torch.stack([h[0] for h in hs]).numpy().astype(np.float32)
    seq = list(prompt_ids)
    for _ in range(N_GREEDY):
        seq.append(int(model(torch.tensor([seq]))[0, -1].argmax()))
    bos_seq = [0]                     # greedy from BOS alone, stopping at EOS (= BOS = 0)
    for _ in range(N_BOS_GREEDY):
        nxt = int(model(torch.tensor([bos_seq]))[0, -1].argmax())
        if nxt == 0:
            break
        bos_seq.append(nxt)
greedy = seq[len(prompt_ids):]
bos_greedy = bos_seq[1:]
np.save(os.path.join(args.golden, "logits.npy"), logits)
np.save(os.path.join(args.golden, "hidden_states.npy"), hidden)
golden = {
    "model": "models/default",
    "weights": "model.safetensors F16, upcast to float32; forward in float32 (PyTorch, HF LlamaForCausalLM conventions)",
    "prompt": PROMPT,
    "prompt_ids": prompt_ids,
    "greedy_ids": greedy,
    "greedy_text": decode(greedy),
    "bos_greedy_ids": bos_greedy,
    "bos_greedy_text": decode(bos_greedy),
    "bos_greedy_note": f"greedy from BOS alone, at most {N_BOS_GREEDY} new tokens, stops before EOS (id 0)",
    "heldout_ppl": {
        "file": "shared/data/trained/tinystories_heldout.txt",
        "ppl": math.exp(h_nll), "mean_nll": h_nll, "n_tokens": int(held.size),
        "window": 256, "n_windows": h_w, "n_predictions": h_n,
        "protocol": "whole file tokenized once with BOS (tokenizer.json), non-overlapping 256-token windows, "
                    "remainder dropped, each window scored alone, ppl = exp(mean NLL)",
    },
    "sample_ppl": {
        "file": "models/default/sample.txt",
        "ppl": math.exp(s_nll), "mean_nll": s_nll, "n_tokens": int(sample_ids.size),
        "window": 128, "n_windows": s_w, "n_predictions": s_n,
        "protocol": "whole file tokenized once with BOS, first 32 non-overlapping 128-token windows, "
                    "each scored alone, ppl = exp(mean NLL)",
    },
    "logits.npy": {"dtype": "float32", "shape": list(logits.shape),
                   "meaning": "logits[t] predicts the token after prompt_ids[:t+1]"},
    "hidden_states.npy": {"dtype": "float32", "shape": list(hidden.shape),
                          "meaning": "[0] embedding output, [i] residual stream after layer i-1 (before final norm)"},
}
jdump(golden, os.path.join(args.golden, "golden.json"))
print("greedy:", repr(golden["greedy_text"]))
print("greedy from BOS:", repr(golden["bos_greedy_text"]))

# ---------------------------------------------------------------- SOURCE.md + SHA256SUMS
a = ck["args"]
log_rows = [json.loads(l) for l in open(args.log)] if args.log else []
curve = "\n".join(f"| {r['step']} | {r['train_loss']:.4f} | {r['heldout_ppl']:.3f} | {r['elapsed_s']:.0f} |"
                  for r in log_rows if "heldout_ppl" in r)
src = f"""# models/default: the project's own tiny LLaMA

A {nparams:,}-parameter LlamaForCausalLM (hidden 128, intermediate 320, 4 layers, 4 heads,
2 key/value heads, head_dim 32, RMSNorm eps 1e-5, rope_theta 10000, max positions 512,
vocab 1024, tied embeddings: `lm_head.weight` is not stored) with its own byte-level BPE
tokenizer. Trained from scratch on TinyStories text by the scripts in `tools/train_default/`.
It is tiny and only writes simple children's stories; it exists so the project has a
small, redistributable default model with known outputs.

## Files
- `config.json`, `generation_config.json`: HF LlamaForCausalLM fields; bos = eos = 0.
- `model.safetensors`: {len(back)} tensors, **F16**, names sorted, header padded to 8 bytes.
- `tokenizer.json` (+ `tokenizer_config.json`, `special_tokens_map.json`): GPT-2-style byte-level BPE,
  1024 ids: 0 = `<|endoftext|>` (BOS and EOS, prepended by the post-processor), 1..256 the byte symbols
  in GPT-2 bytes_to_unicode order, 257..1023 one per merge (767 merges), trained by `bpe.py` on the
  train text. Checked with `@huggingface/tokenizers` 0.2.0 (JS): same ids as an independent Python encoder
  on the whole train and held-out texts, exact decode round-trip.
- `sample.txt`: {len(stories)} stories ({len(sample.encode('utf-8')):,} bytes) sampled from this model (F16 weights),
  temperature 1.0, seed {args.seed}, batches of {SAMPLE_BATCH} stories, each started from BOS and ended at EOS, at the
  first blank line ("\\n\\n", the story separator the model learned) or after {MAX_NEW} tokens; trailing
  whitespace removed, empty stories skipped, joined with "\\n\\n", no trailing newline. Default
  evaluation / calibration text.
- `training_log.jsonl`: the training curve.

## How it was made
Command (from a checkout with `../shared` beside it): `sh tools/train_default/make_all.sh`
(see tools/train_default/README.md). Debian python3 with python3-torch {torch.__version__} (CPU) and numpy,
node {subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()} with `@huggingface/tokenizers@0.2.0`.

- Data: `shared/data/trained/tinystories_train.txt` (714,271 chars), split into stories at "\\n\\n",
  each story encoded with its BOS by the JS tokenizer and concatenated (BOS = EOS separates stories; {int(np.fromfile(os.path.join(args.work, 'train_ids.bin'), dtype='<i4').size):,} ids). Held-out: `tinystories_heldout.txt` ({held.size:,} ids).
- Seed {a['seed']} (init and batch sampling). {a['steps']} steps of {a['batch']} random windows of {a['seq'] + 1} tokens;
  AdamW (0.9, 0.95), lr {a['lr']} with {a['warmup']} warm-up steps then cosine to {a['lr'] * a['min_lr_frac']:g},
  weight decay {a['wd']} on matrices/embeddings, grad clip 1.0, residual dropout {a['dropout']},
  init N(0, 0.02) (o_proj/down_proj 0.02/sqrt(8)), {a['threads']} torch thread.
- Training time: {ck['train_seconds']:.0f} s wall on a 2-vCPU machine.

| step | train loss | held-out ppl | elapsed s |
| ---: | ---: | ---: | ---: |
{curve}

## Numbers (F16 weights, fp32 math)
- Held-out perplexity **{math.exp(h_nll):.3f}** (mean NLL {h_nll:.5f}): whole file tokenized once with BOS,
  {h_w} non-overlapping 256-token windows, remainder dropped, each window scored alone, ppl = exp(mean NLL).
  Not comparable with the tok512 models in shared/ (different tokenizer: ~3.1 chars/token here vs 2.0).
- sample.txt, first 32 non-overlapping 128-token windows: ppl {math.exp(s_nll):.3f}.
- Golden outputs: `tests/data/default_golden/` (checked by `tools/train_default/check_numpy.py`,
  an independent float64 numpy forward).

## License
Code: the project's own. Weights, tokenizer and sample.txt were trained on / derived from
TinyStories text (Eldan & Li, 2023), distributed under CDLA-Sharing-1.0.
"""
with open(os.path.join(args.out, "SOURCE.md"), "w", encoding="utf-8") as f:
    f.write(src)
lines = []
for fn in sorted(os.listdir(args.out)):
    if fn == "SHA256SUMS":
        continue
    h = hashlib.sha256(open(os.path.join(args.out, fn), "rb").read()).hexdigest()
    lines.append(f"{h}  {fn}\n")
with open(os.path.join(args.out, "SHA256SUMS"), "w") as f:
    f.writelines(lines)
print("wrote", args.out, args.golden)
