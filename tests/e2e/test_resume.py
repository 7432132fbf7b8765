"""Resume after a kill: `comp prune` is SIGKILLed (one rank, in stage A, stage C or while writing the
archive; by the COMP_FAULT hook and by an outside `kill -9`), then `--resume` (with another rank
count) must finish with an archive whose every dataset (weights and pruning record; not the run's
timings) is bit-identical to an uninterrupted run's (analysis/archive_diff.py), reusing the journal (A.h5.ckpt/) instead of pruning finished layers again.
"""
import glob, os, signal, subprocess, sys, time

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import COMP, SRC, check, finish, last_json, need_shared  # noqa: E402
sys.path.insert(0, f"{SRC}/analysis")
from archive_diff import diff as archive_diff  # noqa: E402

DATA = need_shared()
TMP = os.environ.get("TMPDIR", "/tmp") + f"/comp_resume_{os.getpid()}"
os.makedirs(TMP, exist_ok=True)
CALIB = f"{DATA}/trained/tinystories_train.txt"
def prune(model, out, np_, extra=(), env=None):
    args = [COMP, "prune", "--model", model, "--calib", CALIB, "--ratio", "0.3", "--out", out, "--quiet", "--json",
            *extra]
    return subprocess.run(["mpiexec", "-n", str(np_), *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


def same_archive(a, b):
    """Every dataset bit-identical but the run's timings, memory and rank placement (analysis/archive_diff.py)."""
    same, msg = archive_diff(a, b)
    if not same:
        print("  ", msg)
    return same


def err_line(r):
    """comp's one error line (mpiexec adds its own banner after it)."""
    return next((x for x in r.stderr.splitlines() if "error:" in x), r.stderr.strip()[-200:])


def journal(out):
    return sorted(os.path.basename(p) for p in glob.glob(out + ".ckpt/*.bin"))


def case(name, model, ref, fault, np_kill, np_resume, extra=()):
    out = f"{TMP}/{name}.h5"
    r = prune(model, out, np_kill, extra, {"COMP_FAULT": fault})
    check(r.returncode != 0 and not os.path.exists(out),
          f"{name}: COMP_FAULT={fault} on {np_kill} rank(s) kills the run, no archive (rc {r.returncode})")
    j = journal(out)
    print(f"  journal after the kill: {j}")
    r = prune(model, out, np_resume, extra)
    check(r.returncode != 0 and "--resume" in r.stderr,
          f"{name}: rerun without --resume refuses the journal: {err_line(r)}")
    r = prune(model, out, np_resume, (*extra, "--resume"))
    js = last_json(r)
    check(js is not None and os.path.exists(out), f"{name}: --resume on {np_resume} rank(s) completes")
    if js is None:
        return j
    check(same_archive(out, ref), f"{name}: resumed archive == uninterrupted archive (bit-identical layers)")
    n_layers = sum(1 for x in j if x.startswith("layer_"))
    with h5py.File(out, "r") as f:
        took = int(f["prune"].attrs["layers_from_journal"])
    check(took == n_layers, f"{name}: {took} layer(s) taken from the journal, {n_layers} were committed before the kill")
    check(not os.path.exists(out + ".ckpt"), f"{name}: the journal is removed once the archive is complete")
    return j


def external_kill(model, ref, np_):
    """kill -9 one rank process from outside, as soon as its first layer is committed."""
    out = f"{TMP}/ext.h5"
    args = [COMP, "prune", "--model", model, "--calib", CALIB, "--ratio", "0.3", "--out", out, "--quiet"]
    p = subprocess.Popen(["mpiexec", "-n", str(np_), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed, t0 = None, time.time()
    while p.poll() is None and time.time() - t0 < 120:
        if any(x.startswith("layer_") for x in journal(out)):
            kids = subprocess.run(["pgrep", "-f", f"{COMP} prune .*--out {out}"], capture_output=True, text=True)
            pids = [int(x) for x in kids.stdout.split() if int(x) != p.pid]
            if pids:
                killed = pids[-1]
                os.kill(killed, signal.SIGKILL)
                break
        time.sleep(0.002)
    p.wait(timeout=120)
    j = journal(out)
    if killed is None or p.returncode == 0:
        print("  SKIP-ish: the run finished before a rank could be killed; resuming anyway")
    check(killed is None or (p.returncode != 0 and not os.path.exists(out)),
          f"external kill -9 of pid {killed}: run aborted, no archive; journal {j}")
    r = prune(model, out, 1, ("--resume",) if killed else ("--force",))
    check(last_json(r) is not None and same_archive(out, ref), "external kill: --resume on 1 rank == uninterrupted")


def main():
    llama = f"{DATA}/trained/llama-8L"
    ref = f"{TMP}/ref.h5"
    check(last_json(prune(llama, ref, 2)) is not None, "uninterrupted reference run (llama-8L, 0.3, 2 ranks)")

    case("stage-c", llama, ref, "stage-c:1:1", 2, 3)  # rank 1 dies after committing its first layer
    j = case("stage-a", llama, ref, "stage-a:0", 2, 1)  # rank 0 dies in stage A: no plan yet
    check(j == [], "stage-a: nothing was committed before stage A finished")
    j = case("write", llama, ref, "write:1", 3, 2)  # every layer committed, killed while writing the archive
    check(len([x for x in j if x.startswith("layer_")]) == 6, "write: all 6 kept layers were in the journal")

    # a journal belongs to one run: other options are refused
    out = f"{TMP}/mismatch.h5"
    prune(llama, out, 1, (), {"COMP_FAULT": "stage-c:0:1"})
    r = prune(llama, out, 1, ("--resume", "--seed", "7"))
    check(r.returncode != 0 and "another run" in r.stderr,
          f"--resume with other options is refused: {err_line(r)}")
    r = prune(llama, out, 1, ("--force", "--seed", "7"))
    check(last_json(r) is not None and not os.path.exists(out + ".ckpt"), "--force discards the journal and runs")

    # the chained mode (--inputs pruned) resumes through the loaded layers
    cref = f"{TMP}/cref.h5"
    check(last_json(prune(llama, cref, 1, ("--inputs", "pruned"))) is not None, "chained reference run")
    case("chained", llama, cref, "stage-c:0:3", 1, 2, ("--inputs", "pruned"))

    # another architecture (OPT) and an outside kill -9
    opt = f"{DATA}/trained/opt-6L"
    oref = f"{TMP}/oref.h5"
    check(last_json(prune(opt, oref, 1)) is not None, "uninterrupted reference run (opt-6L, 1 rank)")
    case("opt", opt, oref, "stage-c:0:2", 2, 1)
    external_kill(llama, ref, 2)
    finish()


main()
