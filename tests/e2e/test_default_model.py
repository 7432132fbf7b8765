#!/usr/bin/python3
"""The embedded default model (models/default) against its golden PyTorch outputs
(tests/data/default_golden, written by tools/train_default/export.py and cross-checked there by a
float64 numpy forward): files intact (SHA256SUMS) and under 5 MB, prompt ids, greedy continuation
of the golden prompt and greedy story from BOS byte for byte, perplexity of sample.txt on 1 and 2
ranks (identical, within 0.1% of golden) and, when ../shared is present, held-out perplexity within
0.1% of golden. Runs without ../shared (the held-out check is then reported skipped)."""
import hashlib, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import SHARED as SH, SRC, check, ev, finish, run  # noqa: E402

M = f"{SRC}/models/default"
G = json.load(open(f"{SRC}/tests/data/default_golden/golden.json", encoding="utf-8"))


# files: SHA256SUMS lists every shipped file, all match, total under 5 MB
sums = [l.split() for l in open(f"{M}/SHA256SUMS", encoding="utf-8").read().splitlines() if l.strip()]
bad = [f for h, f in sums if hashlib.sha256(open(f"{M}/{f.lstrip('*')}", "rb").read()).hexdigest() != h]
listed = {f.lstrip("*") for _, f in sums}
present = {f for f in os.listdir(M) if f != "SHA256SUMS"}
check(not bad and listed == present, f"models/default: {len(sums)} files match SHA256SUMS"
      + (f" (mismatch: {bad})" if bad else "") + (f" (unlisted/missing: {listed ^ present})" if listed != present else ""))
size = sum(os.path.getsize(f"{M}/{f}") for f in os.listdir(M))
check(size < 5 * 1024 * 1024, f"models/default is {size / 1e6:.2f} MB (< 5 MB)")

# token ids of the golden prompt
r = run(["tokenize", "--tokenizer", f"{M}/tokenizer.json", "--string", G["prompt"]])
check(r.returncode == 0 and json.loads(r.stdout) == G["prompt_ids"], "prompt ids == golden prompt_ids")

# greedy continuation of the prompt (comp stops at EOS = BOS = 0, so compare up to the first 0)
gids = G["greedy_ids"][:G["greedy_ids"].index(0)] if 0 in G["greedy_ids"] else G["greedy_ids"]
r = run(["generate", "--model", M, "--prompt", G["prompt"], "--steps", str(len(gids))])
check(r.returncode == 0 and r.stdout == G["prompt"] + G["greedy_text"] + "\n",
      f"greedy {len(gids)} after the prompt == golden text")

# greedy from BOS alone
if "bos_greedy_text" in G:
    r = run(["generate", "--model", M, "--steps", str(64)])
    check(r.returncode == 0 and r.stdout == G["bos_greedy_text"] + "\n",
          f"greedy from BOS == golden ({len(G['bos_greedy_ids'])} tokens): {r.stdout[:60]!r}")

# sample.txt perplexity: first 32 windows of 128 tokens, 1 and 2 ranks
sp = G["sample_ppl"]
res = {n: ev(M, f"{M}/sample.txt", sp["window"], n, ["--max-windows", str(sp["n_windows"])]) for n in (1, 2)}
ok = all(res.values()) and res[1]["ppl"] == res[2]["ppl"]
check(ok, f"sample.txt ppl identical on 1 and 2 ranks: {[res[n] and res[n]['ppl'] for n in (1, 2)]}")
if res[1]:
    rel = abs(res[1]["ppl"] - sp["ppl"]) / sp["ppl"]
    check(rel < 1e-3 and res[1]["windows"] == sp["n_windows"],
          f"sample.txt ppl {res[1]['ppl']:.6f} vs golden {sp['ppl']:.6f} (rel {rel:.2e} < 1e-3)")

# held-out perplexity (needs ../shared)
hp = G["heldout_ppl"]
if os.path.isdir(SH):
    e = ev(M, f"{SH}/data/trained/tinystories_heldout.txt", hp["window"])
    rel = abs(e["ppl"] - hp["ppl"]) / hp["ppl"] if e else 1
    check(e is not None and rel < 1e-3 and e["tokens"] == hp["n_tokens"],
          f"held-out ppl {e and e['ppl']:.6f} vs golden {hp['ppl']:.6f} (rel {rel:.2e} < 1e-3)")
else:
    print(f"SKIP held-out ppl: shared data folder {SH!r} not found")
finish()
