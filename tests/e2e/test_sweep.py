"""`comp sweep` on jobs/mini-smoke.json (2 models x 2 ratios x 2 variants + 2 dense cells): bad jobs files
fail before any work with one line; `run --cell all` under mpiexec -n 2 produces every cell's archives
with their provenance; `list` then says done; a second run redoes nothing (mtimes); a cell whose prune
was SIGKILLed (COMP_FAULT=stage-c:0) resumes from its journal on the next run and ends with the same
weights and perplexity as the uninterrupted run of that cell. Independent references: the dense cells'
perplexity against the golden PyTorch values, archive hashes against hashlib.
"""
import hashlib, json, os, shutil, subprocess, sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import COMP, SRC, check, finish, need_shared  # noqa: E402

DATA = need_shared()
TMP = os.environ.get("TMPDIR", "/tmp") + f"/comp_sweep_{os.getpid()}"
os.makedirs(TMP, exist_ok=True)
JOBS = f"{SRC}/jobs/mini-smoke.json"
ENV = {**os.environ, "COMP_SHARED": os.path.dirname(DATA)}
IDS = ["llama-8L__dense", "opt-6L__dense"] + [f"{m}__{v}__r{r}__s0" for m in ("llama-8L", "opt-6L")
                                              for v in ("comp", "wanda-sp") for r in ("0.2", "0.3")]


def sweep(args, np_=None, env=None, timeout=600):
    cmd = (["mpiexec", "-n", str(np_)] if np_ else []) + [COMP, "sweep", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**ENV, **(env or {})})


def listing(out, jobs=JOBS):
    r = sweep(["list", jobs, "--out-dir", out, "--json"])
    return [json.loads(x) for x in r.stdout.splitlines()] if r.returncode == 0 else None


def error_lines(r):
    return [x for x in r.stderr.splitlines() if x.startswith("comp") and "error:" in x]


def s(v):
    return v.decode() if isinstance(v, bytes) else v


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def bad_inputs():
    """Each broken jobs file (or argument): exit 1, one error line naming the problem, no cell started."""
    base = json.load(open(JOBS))

    def variant(fn):
        j = json.loads(json.dumps(base))
        fn(j)
        return j
    cases = [
        ("unset variable", variant(lambda j: j["models"][1].update(path="${COMP_NO_SUCH_VAR}/opt-6L")),
         "COMP_NO_SUCH_VAR is not set"),
        ("malformed ${", variant(lambda j: j["calib"].update(text="${COMP_SHARED/x")), "malformed ${VAR}"),
        ("missing model file", variant(lambda j: j["models"][0].update(path="${COMP_SHARED}/data/nope")),
         "no such model"),
        ("unknown key", variant(lambda j: j.update(modles=[])), 'unknown key "modles"'),
        ("unknown nested key", variant(lambda j: j["evals"][0].update(seqlen=256)), 'unknown key "seqlen"'),
        ("missing key", variant(lambda j: j.pop("seeds")), 'missing key "seeds"'),
        ("ranks as string", variant(lambda j: j.update(ranks="2")), "ranks: must be an integer"),
        ("ratio as string", variant(lambda j: j.update(ratios=[0.2, "0.3"])), "ratios[1]: must be a number"),
        ("ratio out of range", variant(lambda j: j.update(ratios=[0.2, 1.5])), "must be inside (0, 1)"),
        ("dense not bool", variant(lambda j: j.update(dense="yes")), "dense: must be true or false"),
        ("args not a list", variant(lambda j: j["variants"][0].update(args="--method comp")), "must be a list"),
        ("bad time", variant(lambda j: j.update(time="10 minutes")), "time"),
        ("duplicate model name", variant(lambda j: j["models"][1].update(name="llama-8L")), "used twice"),
        ("unknown variant arg", variant(lambda j: j["variants"][1].update(args=["--method", "wanda-sp", "--fast"])),
         "unknown option --fast"),
        ("bad variant choice", variant(lambda j: j["variants"][0].update(args=["--layer-order", "random"])),
         "--layer-order random"),
        ("reserved variant arg", variant(lambda j: j["variants"][0].update(args=["--ratio", "0.5"])),
         "the sweep sets --ratio"),
    ]
    for name, j, want in cases:
        path = f"{TMP}/bad.json"
        with open(path, "w") as f:
            json.dump(j, f)
        out = f"{TMP}/bad_out"
        shutil.rmtree(out, ignore_errors=True)
        np_ = 2 if name in ("unknown variant arg", "unset variable") else None
        r = sweep(["run", path, "--out-dir", out, "--cell", "all"], np_)
        lines = error_lines(r)
        check(r.returncode == 1 and len(lines) == 1 and want in lines[0] and not os.path.exists(f"{out}/cells"),
              f"{name}{' (2 ranks)' if np_ else ''}: exit {r.returncode}, {lines[0] if lines else r.stderr[-300:]!r}")
    with open(f"{TMP}/notjson.json", "w") as f:
        f.write('{"name": "x",\n "ranks": 2,,\n}')
    r = sweep(["list", f"{TMP}/notjson.json", "--out-dir", f"{TMP}/bad_out"])
    lines = error_lines(r)
    check(r.returncode == 1 and len(lines) == 1 and "not valid JSON (near line 2)" in lines[0],
          f"not JSON: {lines[0] if lines else r.stderr!r}")
    for cell in ("10", "-1", "x"):
        r = sweep(["run", JOBS, "--out-dir", f"{TMP}/bad_out", "--cell", cell], 2 if cell == "10" else None)
        lines = error_lines(r)
        check(r.returncode == 1 and len(lines) == 1 and ("out of range" in lines[0] or "give a cell index" in lines[0]),
              f"--cell {cell}: {lines[0] if lines else r.stderr!r}")


def failing_cell():
    """A cell that fails at run time (not caught by the checks) does not stop --cell all; exit 1 names it."""
    j = json.load(open(JOBS))
    j.update(models=j["models"][:1], ratios=[0.3], dense=False,
             variants=[{"name": "too-many-layers", "args": ["--remove-layers", "7"]}, j["variants"][1]])
    path, out = f"{TMP}/failing.json", f"{TMP}/failing"
    json.dump(j, open(path, "w"))
    r = sweep(["run", path, "--out-dir", out, "--cell", "all"], 2)
    lines = error_lines(r)
    st = {c["id"]: c["state"] for c in (listing(out, path) or [])}
    check(r.returncode == 1 and len(lines) == 1 and "1 of 2 cell(s) failed" in lines[0] and "prune failed" in lines[0] and
          st == {"llama-8L__too-many-layers__r0.3__s0": "partial", "llama-8L__wanda-sp__r0.3__s0": "done"},
          f"a failing cell: the other cell still runs, exit 1 with one line: {lines[0] if lines else r.stderr[-300:]!r}")


def main():
    bad_inputs()
    failing_cell()
    out = f"{TMP}/run"
    cells = listing(out)
    check(cells is not None and [c["id"] for c in cells] == IDS and [c["index"] for c in cells] == list(range(10)) and
          all(c["state"] == "todo" and c["ranks"] == 2 for c in cells),
          "list: 10 cells (2 dense first, then models x variants x ratios x seeds), all todo")
    check(not os.path.exists(out), "list creates nothing")
    c3 = cells[3] if cells else {}
    check(c3 == {"index": 3, "id": "llama-8L__comp__r0.3__s0", "state": "todo", "ranks": 2, "model": "llama-8L",
                 "variant": "comp", "ratio": 0.3, "seed": 0}, f"list --json fields: {c3}")

    # --- the whole sweep on 2 ranks
    r = sweep(["run", JOBS, "--out-dir", out, "--cell", "all"], 2,
              {"SLURM_ARRAY_JOB_ID": "4242", "SLURM_ARRAY_TASK_ID": "7"}, timeout=900)
    check(r.returncode == 0, f"run --cell all under mpiexec -n 2 (rc {r.returncode})")
    if r.returncode:
        print(r.stderr[-3000:])
        finish()
    check("ETA" in r.stderr, "progress with ETA on stderr")
    check(open(f"{out}/jobs.json", "rb").read() == open(JOBS, "rb").read(), "DIR/jobs.json is a copy of the jobs file")
    golden = {m: json.load(open(f"{DATA}/trained/golden/{m}/golden.json"))["heldout_ppl"]["ppl"]
              for m in ("llama-8L", "opt-6L")}
    for i, cid in enumerate(IDS):
        d = f"{out}/cells/{cid}"
        dense = cid.endswith("__dense")
        want = {"done", "log.txt", "eval-tinystories.h5"} | (set() if dense else {"prune.h5"})
        have = set(os.listdir(d)) if os.path.isdir(d) else set()
        done = json.loads(open(f"{d}/done").read()) if "done" in have else {}
        ok = have == want and done.get("id") == cid and done.get("index") == i and \
            done.get("evals") == {"tinystories": f"cells/{cid}/eval-tinystories.h5"} and \
            done.get("prune") == (None if dense else f"cells/{cid}/prune.h5")
        with h5py.File(f"{d}/eval-tinystories.h5", "r") as f:
            ea = {k: s(v) for k, v in f.attrs.items()}
        ok = ok and ea["complete"] == 1 and ea["sweep_cell"] == cid and ea["sweep_jobs"] == os.path.realpath(JOBS) and \
            ea["slurm_array_job_id"] == "4242" and ea["slurm_array_task_id"] == "7" and ea["ranks"] == 2 and \
            ea["seq_len"] == 256 and ea["windows"] == 155
        model = cid.split("__")[0]
        if dense:
            ok = ok and ea["model_kind"] == "hf" and abs(ea["ppl"] / golden[model] - 1) < 1e-6 and \
                ea["model_sha256"] == sha(f"{DATA}/trained/{model}/model.safetensors")
            extra = f"dense ppl {ea['ppl']:.6f} vs golden {golden[model]:.6f}"
        else:
            with h5py.File(f"{d}/prune.h5", "r") as f:
                pa = {k: s(v) for k, v in f["prune"].attrs.items()}
                src = s(f["source"].attrs["model_sha256"])
            variant, ratio = cid.split("__")[1], float(cid.split("__")[2][1:])
            ok = ok and pa["sweep_cell"] == cid and pa["sweep_jobs"] == os.path.realpath(JOBS) and \
                pa["method"] == variant and pa["ratio_target"] == ratio and abs(pa["ratio_achieved"] - ratio) < 0.01 and \
                pa["slurm_array_task_id"] == "7" and ea["model_kind"] == "archive" and ea["model_sha256"] == src and \
                ea["archive_complete_sha256"] == sha(f"{d}/prune.h5") and ea["ppl"] > golden[model]
            extra = f"{variant} {ratio}: achieved {pa['ratio_achieved']:.4f}, ppl {ea['ppl']:.4f}"
        check(ok, f"cell {i} {cid}: files {sorted(have)}, done marker, provenance in the archives; {extra}")
    cells = listing(out)
    check(cells is not None and all(c["state"] == "done" for c in cells), "list after the run: every cell done")

    # --- a second run redoes nothing
    def stamps():
        return {os.path.join(dp, f): os.stat(os.path.join(dp, f)).st_mtime_ns
                for dp, _, fs in os.walk(f"{out}/cells") for f in fs}
    before = stamps()
    r = sweep(["run", JOBS, "--out-dir", out, "--cell", "all"], 2)
    check(r.returncode == 0 and stamps() == before and "0 to run" in r.stderr,
          f"a second run --cell all redoes nothing ({len(before)} files, mtimes unchanged)")
    r = sweep(["run", JOBS, "--out-dir", out, "--cell", "3"], 2)
    check(r.returncode == 0 and "done already" in r.stderr and stamps() == before, "run --cell 3 of a done cell: says so")

    # --- another jobs file is refused for this folder
    other = f"{TMP}/other.json"
    j = json.load(open(JOBS))
    j["ratios"] = [0.2]
    json.dump(j, open(other, "w"))
    r = sweep(["run", other, "--out-dir", out, "--cell", "all"])
    lines = error_lines(r)
    check(r.returncode == 1 and len(lines) == 1 and "belongs to another jobs file" in lines[0] and stamps() == before,
          f"another jobs file for the same folder is refused: {lines[0] if lines else r.stderr!r}")

    # --- a prune killed mid-run resumes with --resume on the next run of the cell
    out2 = f"{TMP}/killed"
    cid = IDS[3]
    d2 = f"{out2}/cells/{cid}"
    r = sweep(["run", JOBS, "--out-dir", out2, "--cell", "3"], 2, {"COMP_FAULT": "stage-c:0"})
    journal = sorted(os.listdir(f"{d2}/prune.h5.ckpt")) if os.path.isdir(f"{d2}/prune.h5.ckpt") else []
    check(r.returncode != 0 and not os.path.exists(f"{d2}/prune.h5") and not os.path.exists(f"{d2}/done") and
          any(x.startswith("layer_") for x in journal), f"COMP_FAULT=stage-c:0 kills cell 3 mid-prune; journal {journal}")
    st = {c["id"]: c["state"] for c in (listing(out2) or [])}
    check(st.get(cid) == "partial" and st.get(IDS[2]) == "todo", f"list: the killed cell is partial ({st.get(cid)})")
    r = sweep(["run", JOBS, "--out-dir", out2, "--cell", "3"], 2)
    check(r.returncode == 0 and "prune --resume" in r.stderr and "--resume" in open(f"{d2}/log.txt").read() and
          os.path.exists(f"{d2}/done") and not os.path.exists(f"{d2}/prune.h5.ckpt"),
          "the next run of the cell resumes from the journal (--resume), finishes, removes the journal")
    ref = f"{out}/cells/{cid}"
    same, n = True, 0
    with h5py.File(f"{d2}/prune.h5", "r") as a, h5py.File(f"{ref}/prune.h5", "r") as b:
        took = int(a["prune"].attrs["layers_from_journal"])

        def cmp(name, obj):
            nonlocal same, n
            if isinstance(obj, h5py.Dataset):
                n += 1
                same = same and name in a["layers"] and np.array_equal(a["layers"][name][()], obj[()])
        b["layers"].visititems(cmp)
        same = same and set(a["layers"].keys()) == set(b["layers"].keys())
        for k in ("kept_columns", "removal_order", "layer_target_ratio"):
            same = same and np.array_equal(a["prune/" + k][()], b["prune/" + k][()], equal_nan=True)
    check(same and n > 0 and took >= 1,
          f"resumed cell == uninterrupted cell: {n} /layers datasets bit-identical, {took} layer(s) from the journal")
    pa, pb = (h5py.File(f"{x}/eval-tinystories.h5", "r").attrs["ppl"] for x in (d2, ref))
    check(pa == pb, f"and the same perplexity ({pa:.6f})")
    shutil.rmtree(TMP, ignore_errors=True)
    finish()


main()
