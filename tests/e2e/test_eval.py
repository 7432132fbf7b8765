#!/usr/bin/python3
"""End-to-end checks of `comp eval` / `comp generate` / `comp tokenize` against independent references
in ../shared/data (golden PyTorch outputs, llama2.c's expected output): perplexity within 0.1% of the
golden value, identical perplexity under mpiexec -n 1, 2, 3, greedy text byte for byte, token ids."""
import json, os, subprocess, sys

COMP, SH = os.environ["COMP"], os.environ.get("COMP_SHARED", "")
if not os.path.isdir(SH):
    print(f"SKIP: shared data folder {SH!r} not found (put ../shared beside the checkout)"); sys.exit(77)
D = f"{SH}/data"
passed = failed = 0


def check(cond, what):
    global passed, failed
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    passed, failed = passed + bool(cond), failed + (not cond)


def run(args, np=None):
    cmd = ([ "mpiexec", "-n", str(np)] if np else []) + [COMP] + args
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return r


def ev(model, text, L, np=None, extra=()):
    r = run(["eval", "--model", model, "--text", text, "--seq-len", str(L), "--json", "--quiet", *extra], np)
    if r.returncode != 0:
        print(r.stderr)
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


held = f"{D}/trained/tinystories_heldout.txt"
cases = [("llama-8L", f"{D}/trained/llama-8L", []),
         ("opt-6L", f"{D}/trained/opt-6L", []),
         ("stories260K", f"{D}/llama2c-stories260K/stories260K.bin", ["--tokenizer", f"{D}/llama2c-stories260K/tok512.bin"])]
for name, model, extra in cases:
    g = json.load(open(f"{D}/trained/golden/{name}/golden.json"))["heldout_ppl"]
    res = {}
    for np in (1, 2, 3):
        res[np] = ev(model, held, g["window"], np, extra)
    r1 = res[1]
    check(r1 is not None and abs(r1["ppl"] / g["ppl"] - 1) < 1e-3,
          f"{name}: ppl {r1 and r1['ppl']:.6f} vs golden {g['ppl']:.6f} (within 0.1%)")
    check(r1 is not None and r1["tokens"] == g["n_tokens"] and r1["windows"] == g["n_windows"]
          and r1["predicted"] == g["n_predicted"], f"{name}: token/window/prediction counts equal golden")
    check(all(res[n] is not None and res[n]["ppl"] == r1["ppl"] and res[n]["ranks"] == n for n in (2, 3)),
          f"{name}: mpiexec -n 1/2/3 give identical ppl {[res[n] and res[n]['ppl'] for n in (1, 2, 3)]}")

# stories260K: greedy 200 steps from BOS equals llama2.c's expected output byte for byte
r = run(["generate", "--model", f"{D}/llama2c-stories260K/stories260K.bin", "--tokenizer",
         f"{D}/llama2c-stories260K/tok512.bin", "--steps", "200"])
exp = open(f"{D}/llama2c-stories260K/expected_greedy_200.txt", "rb").read()
check(r.returncode == 0 and r.stdout.encode() == exp + b"\n", "stories260K greedy 200 == expected_greedy_200.txt")

# HF models: greedy continuation of the golden prompt equals the golden greedy ids' text
for name in ("llama-8L", "opt-6L"):
    g = json.load(open(f"{D}/trained/golden/{name}/golden.json"))
    r = run(["generate", "--model", f"{D}/trained/{name}", "--prompt", g["prompt"], "--steps", "48"])
    check(r.returncode == 0 and r.stdout.rstrip("\n") == g["greedy_text"].strip(), f"{name}: greedy 48 == golden text")
    # token ids of the prompt via tokenizer.json and via llama2.c tok512.bin equal golden prompt_ids
    for tok in (f"{D}/trained/{name}/tokenizer.json", f"{D}/llama2c-stories260K/tok512.bin"):
        r = run(["tokenize", "--tokenizer", tok, "--vocab-size", "512", "--string", g["prompt"]])
        check(r.returncode == 0 and json.loads(r.stdout) == g["prompt_ids"], f"{name}: prompt ids via {os.path.basename(tok)}")

# the same ids from both tokenizers on every TinyStories paragraph
r1 = run(["tokenize", "--tokenizer", f"{D}/trained/tokenizer.json", "--text", held, "--paragraphs"])
r2 = run(["tokenize", "--tokenizer", f"{D}/llama2c-stories260K/tok512.bin", "--vocab-size", "512", "--text", held, "--paragraphs"])
a, b = r1.stdout.splitlines(), r2.stdout.splitlines()
check(len(a) > 400 and a == b, f"tokenizer.json == llama2.c encode on {len(a)} held-out paragraphs")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
