"""Turn `comp bench-prune` results (one 7B-shaped layer on 1 and 2 ranks) into the benchmark report of
issue 4: per-phase seconds and GFLOP/s against the measured DGEMM peak, peak RSS, the 1->2 rank
strong-scaling efficiency, and the projected wall time of whole models at 30% for 1..64 ranks.

Projection (stated in the report): per-layer stage C cost of a model = the measured 7B layer time
scaled by the cost model's per-layer FLOPs (`comp prune --dry-run`); with P ranks and Q layers to
prune, ceil(Q/P) layers per rank while P <= Q, else groups of K = P // Q ranks per layer at the
measured 1->2 efficiency compounded per doubling; stage A = the busiest rank's share of its FLOPs
(ceil(S/P) of the S calibration sequences) at the measured forward-pass rate (a sequence at a time).

    /usr/bin/python3 analysis/bench_projection.py --comp build/comp --results bench/results/cond \\
        --configs bench/configs/llama-2-7b bench/configs/llama-2-13b > bench/results/cond/RESULTS.md
"""
import argparse, json, math, os, platform, subprocess

RSS_TARGET_GIB = 3e9 / 2**30  # issue 4: peak RSS <= 3 GB per rank for the 7B shape


def machine():
    info = {"cpu": platform.processor() or "?", "cores": os.cpu_count(), "kernel": platform.release()}
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            k, _, v = line.partition(":")
            if k.strip() in ("Model name", "Thread(s) per core", "Core(s) per socket", "Socket(s)", "L3 cache"):
                info[k.strip()] = v.strip()
        mem = open("/proc/meminfo").read().split()[1]
        info["memory_GiB"] = round(int(mem) / 2**20, 1)
        blas = subprocess.run(["dpkg-query", "-W", "libopenblas0-pthread"], capture_output=True, text=True).stdout
        info["openblas"] = blas.split()[-1] if blas.strip() else "?"
    except OSError:
        pass
    return info


def dry(comp, cfg, imp, eig="tridiag"):
    r = subprocess.run([comp, "prune", "--dry-run", "--model", cfg, "--ratio", "0.3", "--importance", imp,
                        "--cond-eig", eig, "--json"], capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--comp", required=True)
    ap.add_argument("--results", required=True, help="folder with np1.json and np2.json")
    ap.add_argument("--configs", nargs="+", required=True)
    ap.add_argument("--machine", help="the machine line of the run (re-rendering results on another machine: "
                                      "copy it from the old RESULTS.md; default: this machine's)")
    a = ap.parse_args()
    r1 = json.load(open(f"{a.results}/np1.json"))
    r2 = json.load(open(f"{a.results}/np2.json"))
    s1p = f"{a.results}/np1_scalapack.json"  # the same back-end as the 2-rank run, on one rank
    r1s = json.load(open(s1p)) if os.path.exists(s1p) else None
    imp = r1["importance"]
    eig = r1.get("cond_eig", "tridiag")
    peak = r1["dgemm_peak_gflops_per_rank"]
    m = machine() if not a.machine else {}
    print(f"# Benchmark: stage C of one LLaMA-2-7B-shaped layer ({imp} importance"
          + (f", --cond-eig {eig}" if imp.startswith("cond") else "") + ")\n")
    print((a.machine.rstrip() if a.machine else "Machine: " + ", ".join(f"{k} {v}" for k, v in m.items()) + ".") + "  ")
    print(f"comp {r1['comp_commit']}; OPENBLAS_NUM_THREADS=1, one rank per core; synthetic weights with the true "
          f"shapes, N = {r1['tokens']} calibration tokens, `comp bench-prune` (the code path of `comp prune`). "
          "Reproduce: `" + ("SHARES=1 " if r2.get("gram_shares") else "") + "bench/run.sh " + imp + (f" {eig}" if imp.startswith("cond") and eig != "lanczos" else "")
          + "`.\n")
    print(f"DGEMM peak measured on this machine: {peak:.1f} GFLOP/s per rank (best of 3, 2048^3, all ranks at once"
          + (", the higher of the rates measured before and after the layer: " + "; ".join(
              f"{r['ranks']} rank(s) {r['solver']}: {r['dgemm_before_gflops_per_rank']:.1f} before, "
              f"{r['dgemm_after_gflops_per_rank']:.1f} after" for r in (r1, r1s, r2) if r)
             if "dgemm_after_gflops_per_rank" in r1 else "") + ").\n")
    sh = ", Grams in shares" if r2.get("gram_shares") else ""
    print(f"| phase | 1 rank s ({r1['solver']}) | GFLOP | GFLOP/s | of DGEMM peak | "
          + (f"1 rank s ({r1s['solver']}) | " if r1s else "") + f"2 ranks s ({r2['solver']}{sh}) | speed-up |")
    print("|---|---|---|---|---|---|---|" + ("---|" if r1s else ""))
    for ph, e in r1["phases"].items():
        e2 = r2["phases"][ph]
        sp = e["seconds"] / e2["seconds"] if e2["seconds"] > 0 else float("nan")
        frac = f"{100 * e['fraction_of_peak']:.0f}%" + (" (fp32 SGEMM)" if ph == "capture" else "")
        mid = f"{r1s['phases'][ph]['seconds']:.2f} | " if r1s else ""
        print(f"| {ph} | {e['seconds']:.2f} | {e['gflop']:.0f} | {e['gflops']:.1f} | {frac} | {mid}{e2['seconds']:.2f} | "
              f"{sp:.2f} |")
    t1, t2 = r1["layer_seconds"], r2["layer_seconds"]
    t1s = r1s["layer_seconds"] if r1s else None
    tbest = min(t1, t1s) if t1s else t1
    eff = tbest / (2 * t2)
    mid = f"**{t1s:.1f}** | " if r1s else ""
    print(f"| **layer** | **{t1:.1f}** | {r1['layer_gflop']:.0f} | {r1['layer_gflop'] / t1:.1f} | "
          f"{100 * r1['layer_gflop'] / t1 / peak:.0f}% | {mid}**{t2:.1f}** | {t1 / t2:.2f} |\n")
    rss1, rss2 = r1["peak_rss_bytes_max"] / 2**30, r2["peak_rss_bytes_max"] / 2**30
    rss1s = f", {r1s['peak_rss_bytes_max'] / 2**30:.2f} GiB on 1 rank with {r1s['solver']}" if r1s else ""
    print(f"- Peak RSS per rank: {rss1:.2f} GiB on 1 rank ({r1['solver']}){rss1s}, {rss2:.2f} GiB per rank on 2 ranks "
          f"({r2['solver']}) (target <= 3 GB = 2.79 GiB: {'met' if max(rss1, rss2) <= RSS_TARGET_GIB else 'NOT met'}); "
          f"the cost model predicted {r1['predicted_stage_c_layer_bytes'] / 2**30:.2f} GiB (1 rank) and "
          f"{r2['predicted_stage_c_layer_bytes'] / 2**30:.2f} GiB (2 ranks) for the layer's working set.")
    if r1s:
        effs = t1s / (2 * t2)
        print(f"- 1 -> 2 rank strong-scaling efficiency on one layer with {r2['solver']} (1 rank: {t1s:.1f} s, 2 ranks "
              f"sharing it: {t2:.1f} s): {effs:.2f} (target >= 0.85: {'met' if effs >= 0.85 else 'NOT met'}).")
    print(f"- Against the faster 1-rank run ({r1['solver'] if tbest == t1 else r1s['solver']}, {tbest:.1f} s), the "
          f"stricter measure and the one the projection below uses: {eff:.2f} "
          f"({'>=' if eff >= 0.85 else 'below'} 0.85).")
    runs = [(f"{r['ranks']} rank(s) {r['solver']}", r["layer_seconds_runs"]) for r in (r1, r1s, r2)
            if r and len(r.get("layer_seconds_runs", [])) > 1]
    if runs:
        print("- Each configuration ran " + str(len(runs[0][1])) + " times, the fastest kept (layer seconds: "
              + "; ".join(f"{n} " + ", ".join(f"{t:.1f}" for t in ts) for n, ts in runs) + ").")
    kern = {k: v for k, v in r1["phases"].items() if k in ("wtw", "gram", "solve", "fisher", "importance")}
    kern = {k: v for k, v in kern.items() if v["gflop"] > 0}  # phases this importance does not have are left out
    below = [f"{k} {100 * v['fraction_of_peak']:.0f}%" for k, v in kern.items() if v["fraction_of_peak"] < 0.6]
    print(f"- Kernels >= 60% of the DGEMM peak on 1 rank ({', '.join(kern)}): "
          f"{'all' if not below else 'not all; below: ' + ', '.join(below)}.")
    batched = (f"; batched in one call: {r1['forward_batched_seconds']:.2f} s"
               if "forward_batched_seconds" in r1 else "")
    how = ("a sequence at a time as stage A runs it" if "forward_batched_seconds" in r1
           else "one batched call (a result file from before stage A forwarded a sequence at a time)")
    print(f"- One forward pass of the layer on N tokens, {how}: "
          f"{r1['forward_seconds']:.2f} s ({r1['forward_gflop'] / r1['forward_seconds']:.1f} GFLOP/s){batched}.\n")
    fwd_rate = r1["forward_gflop"] / r1["forward_seconds"]
    base = dry(a.comp, a.configs[0], imp, eig)
    print("## Projected wall time at 30% (stage A on min(ranks, S) ranks + stage C)\n")
    ps = [1, 2, 4, 8, 16, 32, 64]
    print("| model | layers pruned | " + " | ".join(f"{p} rank{'s' if p > 1 else ''}" for p in ps) + " |")
    print("|---|---|" + "---|" * len(ps))
    overlap = []  # the most a stage A/C overlap could save, per model (printed below the table)
    gain64 = most64 = 0.0
    for cfg in a.configs:
        d = dry(a.comp, cfg, imp, eig)
        q = d["n_prunable"]
        tl = t1 * d["flops_stage_c_per_layer"] / base["flops_stage_c_per_layer"]
        S = d["calib_samples"]
        L = json.load(open(f"{cfg}/config.json"))["num_hidden_layers"]
        t_fwd = d["flops_stage_a"] / (L * (1 + d["n_remove"]) * S) / 1e9 / fwd_rate  # one layer, one sequence
        row, spans = [], []
        for p in ps:
            # stage A: each rank forwards its share of the S calibration sequences (the busiest has
            # ceil(S/p)); the per-layer gathers of its Eq. 3 sums and the inputs are not counted
            ta = d["flops_stage_a"] * math.ceil(S / p) / S / 1e9 / fwd_rate
            if p <= q:
                tc = math.ceil(q / p) * tl
            else:
                k = p // q
                tc = tl / (k * eff ** math.log2(k))
            row.append(f"{(ta + tc) / 60:.1f} min")
            if p in (1, 64):
                # with same-size groups: the last layer's two forwards; at most: the whole last pass
                same, whole = (f * math.ceil(S / p) * t_fwd for f in (2, L))
                spans.append(f"{p} rank{'s' if p > 1 else ''}: {same:.1f} s / {whole:.0f} s "
                             f"of {(ta + tc) / 60:.1f} min")
                if p == 64 and cfg == a.configs[0]:
                    gain64, most64 = same, whole  # the first model's, for the early-start cost below
        print(f"| {os.path.basename(cfg.rstrip('/'))} | {q} | " + " | ".join(row) + " |")
        overlap.append(f"- {os.path.basename(cfg.rstrip('/'))}: " + "; ".join(spans) + ".")
    print("\nStage A/C overlap, the most any schedule could save (a layer's stage C input is final only once stage "
          "A's last pass has reached it; every prunable layer costs the same in stage C): with same-size groups, the "
          "last prunable layer's wait after its input (two layer forwards of the busiest rank's sequences); with "
          "groups started early on the layers before the last removal, at most that whole last pass (L layer "
          "forwards):")
    print("\n".join(overlap))
    # what an early start would cost: the ratio (Eq. 10) is known only when stage A's last pass ends,
    # so a layer started early can run only its ratio-free phases; the solves need every dense's Gram
    # again, kept over the wait or rebuilt (capture, WᵀW, Gram once more), measured here on 2 ranks
    hp = json.load(open(f"{a.configs[0]}/config.json"))
    h, ff = hp["hidden_size"], hp["intermediate_size"]
    # the Grams of q, k, v, o, gate, up (d_in = h) and down (d_in = ff), but the largest: the measured
    # peak already holds one Gram
    keep = 8 * (6 * h * h + ff * ff - max(h, ff) ** 2) / 2**30
    ph2 = r2["phases"]
    free_s = sum(ph2[p]["seconds"] for p in ("capture", "wtw", "fisher", "gram", "importance") if p in ph2)
    again = sum(ph2[p]["seconds"] for p in ("capture", "wtw", "gram") if p in ph2)
    print(f"\nWhat an early start costs (LLaMA-2-7B, 2 ranks a layer): its ratio (Eq. 10) is known only once stage "
          f"A's last pass ends, so a layer started before could run its ratio-free phases ({free_s:.1f} s of "
          f"{t2:.1f} s) and then wait; its solves need each of its seven denses' Gram again: kept over the "
          f"wait, at least {keep:.2f} GiB more per rank with the Grams whole (all but the largest, which the "
          f"measured peak holds already: at least {rss2 + keep:.2f} GiB, "
          f"{'over' if rss2 + keep > RSS_TARGET_GIB else 'within'} the 3 GB target; half that in shares); "
          f"rebuilt, {again:.1f} s more per layer (capture, WᵀW, Gram), {'more' if again > gain64 else 'less'} "
          f"than the {gain64:.1f} s the overlap could save with same-size groups on 64 ranks "
          f"({'and' if again > most64 else 'but not'} than the {most64:.0f} s at most). comp does not "
          f"split stage C at the ratio, and the table above counts no overlap.")
    S = base["calib_samples"]
    print(f"\nStage A (at most L·(1+n) layer passes, data-parallel over the {S} calibration sequences) is "
          f"included: {base['flops_stage_a'] / 1e9 / fwd_rate / 60:.1f} min for LLaMA-2-7B on 1 rank, "
          f"{base['flops_stage_a'] / S / 1e9 / fwd_rate / 60:.1f} min on {S} or more, at the measured forward rate.")


main()
