#!/usr/bin/python3
"""Regenerate analysis/results/RESULTS.md: held-out perplexity of every method and ablation at equal
achieved ratio, on the real models in ../shared/data (and the embedded default model).

usage: /usr/bin/python3 analysis/results_table.py [--comp build/comp] [--shared ../shared] [--ranks 2]
                                                  [--ratios 0.2,0.3] [--models llama-8L,opt-6L,stories260K,default]
Every run is `comp prune` (one archive per row, kept under analysis/results/archives/, not committed)
followed by `comp eval` of the archive on the held-out text with the §8 protocol (256-token windows:
the shared models allow 512 positions). Rows: dense; comp with importance cond / obs / wanda and
allocation tau / uniform; the ablations one-shot layer order and no mask tuning; the baselines
wanda-sp and magnitude (same fraction of columns in every dense) at the same target; ShortGPT, which
removes whole layers and cannot land on the target, at its own achieved ratio together with comp
pruned to that same achieved ratio (with and without layer removal). The JSON of every run is kept in
results.json; `--from-json` rewrites RESULTS.md from it without running anything.
"""
import argparse, json, os, subprocess, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ap = argparse.ArgumentParser()
ap.add_argument("--comp", default=f"{ROOT}/build/comp")
ap.add_argument("--shared", default=f"{ROOT}/../shared")
ap.add_argument("--ranks", type=int, default=2)
ap.add_argument("--ratios", default="0.2,0.3")
ap.add_argument("--models", default="llama-8L,opt-6L,stories260K,default")
ap.add_argument("--out", default=f"{HERE}/results")
ap.add_argument("--from-json", action="store_true", help="only rewrite RESULTS.md from the results.json in --out")
args = ap.parse_args()
D = f"{args.shared}/data"
HELD = f"{D}/trained/tinystories_heldout.txt"
MODELS = {
    "llama-8L": dict(model=f"{D}/trained/llama-8L", extra=[], calib=f"{D}/trained/tinystories_train.txt", held=HELD),
    "opt-6L": dict(model=f"{D}/trained/opt-6L", extra=[], calib=f"{D}/trained/tinystories_train.txt", held=HELD),
    "stories260K": dict(model=f"{D}/llama2c-stories260K/stories260K.bin",
                        extra=["--tokenizer", f"{D}/llama2c-stories260K/tok512.bin"],
                        calib=f"{D}/trained/tinystories_train.txt", held=HELD),
    # 4 layers: with the default protection (0, 1, -1) one layer would carry the whole budget
    "default": dict(model=f"{ROOT}/models/default", extra=[], calib=f"{ROOT}/models/default/sample.txt", held=HELD,
                    popts=["--protect", "0,-1"]),
}
os.makedirs(f"{args.out}/archives", exist_ok=True)
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1")


def comp(cmd, ranks=1):
    full = (["mpiexec", "-n", str(ranks)] if ranks > 1 else []) + [args.comp] + cmd
    r = subprocess.run(full, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(full)}\n{r.stderr.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def ppl(model, m):
    return comp(["eval", "--model", model, *m["extra"], "--text", m["held"], "--seq-len", "256", "--json", "--quiet"],
                args.ranks)["ppl"]


def prune(name, m, ratio, tag, opts):
    out = f"{args.out}/archives/{name}-{ratio}-{tag}.h5"
    res = comp(["prune", "--model", m["model"], *m["extra"], "--calib", m["calib"], "--ratio", str(ratio), "--out", out,
                "--force", "--json", "--quiet", *m.get("popts", []), *opts], args.ranks)
    return res, ppl(out, m)


VARIANTS = [  # (tag, label, options)
    ("comp", "COMP (cond, tau)", []),
    ("comp-obs", "COMP, importance obs", ["--importance", "obs"]),
    ("comp-wanda", "COMP, importance wanda", ["--importance", "wanda"]),
    ("comp-uniform", "COMP, allocation uniform", ["--neuron-allocation", "uniform"]),
    ("comp-obs-uniform", "COMP, obs + uniform", ["--importance", "obs", "--neuron-allocation", "uniform"]),
    ("comp-within", "COMP, inputs within-layer (§4.2)", ["--inputs", "within-layer"]),
    ("comp-pruned", "COMP, inputs pruned (w/o identical inputs)", ["--inputs", "pruned"]),
    ("comp-oneshot", "COMP, one-shot layer order", ["--layer-order", "oneshot"]),
    ("comp-notune", "COMP, no mask tuning", ["--no-mask-tuning"]),
    ("comp-n0", "COMP, no layer removed", ["--remove-layers", "0"]),
    ("wanda-sp", "Wanda-sp", ["--method", "wanda-sp"]),
    ("magnitude", "magnitude", ["--method", "magnitude"]),
]


def run_all():
    rows, t0 = [], time.time()
    for name in args.models.split(","):
        m = MODELS[name]
        if not os.path.exists(m["model"]):
            print(f"skip {name}: {m['model']} not found"); continue
        dense = ppl(m["model"], m)
        for ratio in [float(x) for x in args.ratios.split(",")]:
            rows.append(dict(model=name, ratio=ratio, tag="dense", label="dense", achieved=0.0, ppl=dense))
            for tag, label, opts in VARIANTS:
                try:
                    res, p = prune(name, m, ratio, tag, opts)
                    rows.append(dict(model=name, ratio=ratio, tag=tag, label=label, achieved=res["ratio_achieved"], ppl=p,
                                     removed_layers=res["removed_layers"], run=res))
                except RuntimeError as e:
                    rows.append(dict(model=name, ratio=ratio, tag=tag, label=label, achieved=None, ppl=None, error=str(e)))
                print(f"{name} {ratio} {tag}: {rows[-1].get('ppl')} ({time.time() - t0:.0f}s)", flush=True)
            # ShortGPT lands where whole layers land: compare with COMP pruned to that achieved ratio
            res, p = prune(name, m, ratio, "shortgpt", ["--method", "shortgpt"])
            sg = res["ratio_achieved"]
            rows.append(dict(model=name, ratio=ratio, tag="shortgpt", label=f"ShortGPT ({len(res['removed_layers'])} layers)",
                             achieved=sg, ppl=p, removed_layers=res["removed_layers"], run=res))
            for tag, label, opts in (("comp-at-shortgpt", "COMP at ShortGPT's ratio", []),
                                     ("comp-n0-at-shortgpt", "COMP, no layer removed, at ShortGPT's ratio",
                                      ["--remove-layers", "0"])):
                try:
                    res2, p2 = prune(name, m, repr(sg), tag, opts)
                    rows.append(dict(model=name, ratio=ratio, tag=tag, label=label, achieved=res2["ratio_achieved"], ppl=p2,
                                     removed_layers=res2["removed_layers"], run=res2))
                except RuntimeError as e:
                    rows.append(dict(model=name, ratio=ratio, tag=tag, label=label, achieved=None, ppl=None, error=str(e)))
            print(f"{name} {ratio} shortgpt: {p} at {sg:.4f}", flush=True)
    return rows, dict(date=time.strftime("%Y-%m-%d"), seconds=round(time.time() - t0), ranks=args.ranks)


if args.from_json:
    saved = json.load(open(f"{args.out}/results.json"))
    rows, meta = saved["rows"], saved["meta"]
else:
    rows, meta = run_all()
    json.dump(dict(meta=meta, rows=rows), open(f"{args.out}/results.json", "w"), indent=1)
lines = ["# Held-out perplexity after pruning, no fine-tuning",
         "",
         "Generated by `/usr/bin/python3 analysis/results_table.py` (do not edit by hand). Held-out text:",
         "shared/data/trained/tinystories_heldout.txt, §8 protocol with 256-token windows. Calibration: 10 x 128",
         "tokens, seed 0, from the TinyStories train text (models/default: its own sample.txt). `achieved` is the",
         "fraction of all parameters removed (pruned input columns + removed layers, ALGORITHM.md §6).",
         f"{meta['ranks']} MPI ranks; {meta['date']}; total {meta['seconds']} s.", ""]

def tally(a, b):
    """(cases where tag a has the lower ppl than tag b, equal ppl (rel 1e-9), cases with both)."""
    won = tied = n = 0
    for key in dict.fromkeys((r["model"], r["ratio"]) for r in rows):
        pa = [r["ppl"] for r in rows if (r["model"], r["ratio"]) == key and r["tag"] == a and r.get("ppl")]
        pb = [r["ppl"] for r in rows if (r["model"], r["ratio"]) == key and r["tag"] == b and r.get("ppl")]
        if pa and pb:
            n += 1
            tied += abs(pa[0] - pb[0]) <= 1e-9 * pb[0]
            won += pa[0] < pb[0] and abs(pa[0] - pb[0]) > 1e-9 * pb[0]
    return won, tied, n


lines += ["## Summary (lower perplexity wins; model x target cases)", ""]
for a, b, what in (("comp", "wanda-sp", "COMP (cond, tau) beats Wanda-sp"),
                   ("comp", "magnitude", "COMP (cond, tau) beats magnitude"),
                   ("comp-obs-uniform", "wanda-sp", "COMP (obs, uniform) beats Wanda-sp"),
                   ("comp-obs", "comp", "importance obs beats cond"),
                   ("comp-wanda", "comp", "importance wanda beats cond"),
                   ("comp-uniform", "comp", "allocation uniform beats tau (cond)"),
                   ("comp", "comp-notune", "mask tuning beats no tuning (same allocation)"),
                   ("comp", "comp-within", "inputs original beat within-layer"),
                   ("comp", "comp-pruned", "inputs original beat pruned (equal: only one layer pruned)"),
                   ("comp", "comp-n0", "removing layers beats none (equal: n clamped to 0)"),
                   ("comp-at-shortgpt", "shortgpt", "COMP beats ShortGPT at ShortGPT's ratio (equal: the same layers removed, nothing left for neurons)"),
                   ("comp-n0-at-shortgpt", "shortgpt", "COMP without layer removal beats ShortGPT at its ratio")):
    won, tied, n = tally(a, b)
    lines.append(f"- {what}: {won} of {n}" + (f" ({tied} equal)" if tied else ""))
lines.append("")
for name in dict.fromkeys(r["model"] for r in rows):
    for ratio in dict.fromkeys(r["ratio"] for r in rows if r["model"] == name):
        lines += [f"## {name}, target {ratio:.0%}", "", "| method | achieved | layers removed | ppl |", "|---|---:|---|---:|"]
        for r in rows:
            if r["model"] != name or r["ratio"] != ratio:
                continue
            ach = "—" if r["achieved"] is None else f"{r['achieved']:.4f}"
            p = f"{r['ppl']:.3f}" if r.get("ppl") is not None else f"error: {r.get('error', '').splitlines()[-1][:80]}"
            lines.append(f"| {r['label']} | {ach} | {r.get('removed_layers', '')} | {p} |")
        lines.append("")
open(f"{args.out}/RESULTS.md", "w").write("\n".join(lines) + "\n")
print(f"wrote {args.out}/RESULTS.md")
