#!/usr/bin/python3
"""Checkpoint variants of llama-8L made here with numpy: F16 and BF16 storage (round to nearest even)
and a 3-shard model.safetensors.index.json. Sharded F32 must give the bit-identical perplexity; F16 and
BF16 must stay close to F32 (weight rounding only: a wrong conversion gives garbage), and greedy
generation from F16 must equal F32's."""
import json, os, shutil, struct, subprocess, sys, tempfile
import numpy as np

COMP, SH = os.environ["COMP"], os.environ.get("COMP_SHARED", "")
if not os.path.isdir(SH):
    print(f"SKIP: shared data folder {SH!r} not found (put ../shared beside the checkout)"); sys.exit(77)
SRC, TEXT = f"{SH}/data/trained/llama-8L", f"{SH}/data/trained/tinystories_heldout.txt"
tmp = tempfile.mkdtemp(prefix="comp_dt_")
passed = failed = 0


def check(c, what):
    global passed, failed
    print(("ok   " if c else "FAIL ") + what, flush=True)
    passed, failed = passed + bool(c), failed + (not c)


def load(path):
    b = open(path, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); base = 8 + n
    return {k: np.frombuffer(b[base + v["data_offsets"][0]: base + v["data_offsets"][1]], "<f4").reshape(v["shape"])
            for k, v in h.items() if k != "__metadata__"}


def save(path, tensors, dtype):
    h, off, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k], "<f4")
        if dtype == "F16":
            raw = a.astype("<f2").tobytes()
        elif dtype == "BF16":
            u = a.view("<u4").astype(np.uint64)
            raw = (((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF).astype("<u2").tobytes()
        else:
            raw = a.tobytes()
        h[k] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw); off += len(raw)
    hb = json.dumps(h).encode(); hb += b" " * (-len(hb) % 8)
    open(path, "wb").write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))


def variant(name):
    d = f"{tmp}/{name}"; os.makedirs(d)
    for f in ("config.json", "tokenizer.json"): shutil.copy(f"{SRC}/{f}", d)
    return d


def ppl(model):
    r = subprocess.run([COMP, "eval", "--model", model, "--text", TEXT, "--seq-len", "256", "--json", "--quiet"],
                       capture_output=True, text=True)
    return json.loads(r.stdout.splitlines()[-1])["ppl"] if r.returncode == 0 else print(r.stderr)


def gen(model):
    return subprocess.run([COMP, "generate", "--model", model, "--prompt", "Once upon a time", "--steps", "24"],
                          capture_output=True, text=True).stdout


W = load(f"{SRC}/model.safetensors")
for dt in ("F16", "BF16"):
    save(f"{variant(dt)}/model.safetensors", W, dt)
d = variant("sharded"); names = sorted(W); parts = [names[i::3] for i in range(3)]; wm = {}
for i, p in enumerate(parts):
    fn = f"model-{i + 1:05d}-of-00003.safetensors"; save(f"{d}/{fn}", {k: W[k] for k in p}, "F32")
    wm.update({k: fn for k in p})
json.dump({"metadata": {}, "weight_map": wm}, open(f"{d}/model.safetensors.index.json", "w"))

p32, p16, pbf, psh = ppl(SRC), ppl(f"{tmp}/F16"), ppl(f"{tmp}/BF16"), ppl(f"{tmp}/sharded")
print(f"ppl F32 {p32}  F16 {p16}  BF16 {pbf}  sharded {psh}")
check(psh == p32, "sharded F32 checkpoint: bit-identical perplexity")
check(p16 is not None and abs(p16 / p32 - 1) < 1e-4, "F16 storage: perplexity within 0.01% of F32")
check(pbf is not None and abs(pbf / p32 - 1) < 1e-3, "BF16 storage: perplexity within 0.1% of F32")
check(gen(f"{tmp}/F16") == gen(SRC), "F16 storage: greedy text equals F32")
shutil.rmtree(tmp)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
