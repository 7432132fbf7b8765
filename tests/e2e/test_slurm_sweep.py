#!/usr/bin/python3
"""Slurm sweep end to end on a real one-node Slurm (tests/slurm/cluster.py: munged, slurmctld,
slurmd on localhost, stopped by PID at the end).

1. `slurm/submit jobs/mini-smoke.json` (llama-8L and opt-6L x 20%/30% x comp/wanda-sp + 2 dense
   cells, 2 ranks each): one job array of exactly the 10 cells, then the report job after it
   (afterany). Every task ends COMPLETED (job-completion log); every cell's archives are complete
   (`comp info --json`) and carry the task's SLURM job/array ids; DIR/report/table.md has one row
   per cell whose achieved ratio and perplexity are those of `comp info --json` of the archives and
   whose provenance names the Slurm job; the PNGs are real 1600x1000 images. Resubmitting the done
   sweep submits only the report job and touches no cell file; `--local` on it runs no cell.
2. Preemption: a 2-cell sweep (llama-8L, comp, 20%/30%, 32 calibration windows so stage C lasts a
   few seconds). While cell 0 is in stage C (its journal holds layers) its array task is cancelled
   (scancel); while cell 1 is in stage C its batch script gets SIGUSR1, what `--signal` sends before
   the time limit, and must requeue its own task and resume from the journal in the same array.
   A second submission while the first is still queued submits nothing twice. After the array and
   the report job end, resubmission runs only cell 0, which resumes from its journal
   (layers_from_journal >= the layers seen before the cancel); cell 1's files keep their mtimes;
   both end complete and the report lists 2 of 2.
3. Real preemption (the cluster's partition urgent, PriorityTier 2, preempts debug, PreemptMode
   REQUEUE): a one-cell sweep (cell 1 of part 2) in debug; while it is in stage C (its ranks held
   there by SIGSTOP so that the preemption lands in it) a job for every CPU goes to urgent. Slurm
   requeues the cell (PREEMPTED, the urgent job, then COMPLETED), which resumes from its journal
   (exactly the layers held); its archive and part 2's SIGUSR1-requeued cell 1 are bit-identical
   (analysis/archive_diff.py) to an uninterrupted run of the same cell under mpiexec.
Bad input first (no cluster needed): no --out-dir, an unset ${VAR} of the jobs file, a different
jobs file for an existing output folder: one error line, exit 1.
"""
import glob, json, os, re, shutil, signal, struct, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "slurm"))
import e2e_common  # noqa: E402
from e2e_common import COMP, SRC, check, finish, need_shared  # noqa: E402
from cluster import Cluster, ClusterUnavailable  # noqa: E402
sys.path.insert(0, os.path.join(SRC, "analysis"))
from archive_diff import diff as archive_diff  # noqa: E402

SUBMIT = os.path.join(SRC, "slurm", "submit")
MINI = os.path.join(SRC, "jobs", "mini-smoke.json")
T0 = time.time()


def log(msg):
    print(f"[{time.time() - T0:6.1f}s] {msg}", flush=True)


def submit(env, jobs, out, *extra, timeout=120):
    r = subprocess.run([SUBMIT, jobs, "--out-dir", out, *extra], env=env, capture_output=True, text=True,
                       timeout=timeout)
    for line in (r.stdout + r.stderr).strip().splitlines():
        print("  | " + line)
    arrays = re.findall(r"array job (\d+): cells (\S+)", r.stdout)
    agg = re.findall(r"aggregate job (\d+)", r.stdout)
    return r, arrays, (agg[0] if agg else None)


def info(path):
    """comp info --json of an archive (dict), None if it fails or is not complete."""
    r = subprocess.run([COMP, "info", path, "--json"], capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.strip():
        return None
    j = json.loads(r.stdout.strip().splitlines()[-1])
    return j if j.get("complete") in (1, True) else None


def prune_attrs(j):
    return j["prune"]["/prune"]["attrs"]


def sweep_list(env, jobs, out):
    r = subprocess.run([COMP, "sweep", "list", jobs, "--out-dir", out, "--json"], env=env, capture_output=True,
                       text=True)
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()] if r.returncode == 0 else None


def mtimes(paths):
    out = {}
    for d in paths:
        for f in sorted(glob.glob(os.path.join(d, "**"), recursive=True)):
            if os.path.isfile(f):
                out[f] = os.stat(f).st_mtime_ns
    return out


def png_size(path):
    with open(path, "rb") as f:
        b = f.read(24)
    if len(b) < 24 or b[:8] != b"\x89PNG\r\n\x1a\n" or b[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", b[16:24])


def tasks_of(cluster, array):
    """jobcomp records of the tasks of an array job: {task id: [records in end order]}."""
    out = {}
    for rec in cluster.jobcomp():
        if rec.get("ArrayJobId") == str(array):
            out.setdefault(rec.get("ArrayTaskId"), []).append(rec)
    return out


def show_logs(out):
    for f in sorted(glob.glob(f"{out}/slurm/*.out")) + sorted(glob.glob(f"{out}/cells/*/log.txt")):
        with open(f, errors="replace") as fh:
            lines = fh.read().splitlines()[-8:]
        print(f"--- {f}\n" + "\n".join(lines))


def table_rows(md):
    """table.md -> {cell id: {column header: text}} for the results table (rows naming a cell)."""
    rows, header = {}, None
    for line in md.splitlines():
        if not line.startswith("|"):
            header = None if not line.strip() else header
            continue
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cols
            continue
        m = re.search(r"cell `([^`]+)`", line)
        if m and len(cols) == len(header):
            rows[m.group(1)] = dict(zip(header, cols))
    return rows


def first_float(s):
    m = re.search(r"-?\d+\.\d+", s)
    return float(m.group(0)) if m else None


def check_sweep(cluster, env, jobs, out, arrays, what):
    """Every cell done with complete archives carrying its Slurm task's ids; the report matches them."""
    cells = sweep_list(env, jobs, out)
    check(cells is not None and cells and all(c["state"] == "done" for c in cells),
          f"{what}: comp sweep list: all {len(cells or [])} cells done")
    task_job = {}  # cell index -> (array job id, job id of the task's last run)
    for a in arrays:
        for task, recs in tasks_of(cluster, a).items():
            task_job[int(task)] = (a, recs[-1]["JobId"])
    report = open(f"{out}/report/table.md").read() if os.path.exists(f"{out}/report/table.md") else ""
    rows = table_rows(report)
    check(report and len(rows) == len(cells or []), f"{what}: report/table.md has a row for each of the {len(rows)} cells")
    ppl_col = [h for h in (next(iter(rows.values())).keys() if rows else []) if h.endswith(" ppl")]
    bad = []
    for c in cells or []:
        d = f"{out}/cells/{c['id']}"
        evals = sorted(glob.glob(f"{d}/eval-*.h5"))
        archives = evals + ([f"{d}/prune.h5"] if c["variant"] != "dense" else [])
        infos = {p: info(p) for p in archives}
        if not evals or any(v is None for v in infos.values()):
            bad.append(f"{c['id']}: archive missing or incomplete")
            continue
        arr, job = task_job.get(c["index"], (None, None))
        for p, j in infos.items():
            attrs = prune_attrs(j) if p.endswith("prune.h5") else j
            ids = (attrs.get("slurm_job_id"), attrs.get("slurm_array_job_id"), attrs.get("slurm_array_task_id"))
            if ids != (job, arr, str(c["index"])):
                bad.append(f"{os.path.basename(p)} of {c['id']}: slurm ids {ids}, task ran as {(job, arr, str(c['index']))}")
        row = rows.get(c["id"])
        if row is None:
            bad.append(f"{c['id']}: no table row")
            continue
        for e in evals:
            name = os.path.basename(e)[5:-3]
            col = f"{name} ppl"
            want = round(infos[e]["ppl"], 4)
            got = first_float(row.get(col, ""))
            if got is None or abs(got - want) > 0.00005 + 1e-12:
                bad.append(f"{c['id']}: table {col} {row.get(col)!r} vs comp info ppl {infos[e]['ppl']:.6f}")
        achieved = prune_attrs(infos[f"{d}/prune.h5"])["ratio_achieved"] if c["variant"] != "dense" else 0.0
        got = first_float(row.get("achieved", ""))
        if got is None or abs(got - round(achieved, 4)) > 0.00005 + 1e-12:
            bad.append(f"{c['id']}: table achieved {row.get('achieved')!r} vs comp info ratio_achieved {achieved}")
        if job and job not in row.get("provenance", ""):
            bad.append(f"{c['id']}: provenance {row.get('provenance')!r} does not name Slurm job {job}")
    for b in bad[:20]:
        print("   " + b)
    ok = check(not bad and ppl_col, f"{what}: every archive complete with its task's SLURM_JOB_ID/array ids, and every "
          f"table row's achieved ratio and {', '.join(ppl_col)} equal comp info --json of its archives")
    pngs = sorted(glob.glob(f"{out}/report/*.png"))
    named = re.findall(r"`(\w+\.png)`: (?!not in this sweep)", report)
    sizes = {os.path.basename(p): png_size(p) for p in pngs}
    ok &= check(len(named) >= 2 and all(sizes.get(n) == (1600, 1000) for n in named),
          f"{what}: the figures the report lists are 1600x1000 PNGs: {sizes}")
    return ok


def bad_inputs(env, tmp):
    r = subprocess.run([SUBMIT, MINI], env=env, capture_output=True, text=True)
    check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "--out-dir" in r.stderr,
          f"no --out-dir: exit 1, one line: {r.stderr.strip()}")
    e = dict(env)
    e.pop("COMP_SHARED", None)
    r = subprocess.run([SUBMIT, MINI, "--out-dir", f"{tmp}/bad", "--dry-run"], env=e, capture_output=True, text=True)
    check(r.returncode == 1 and "COMP_SHARED" in r.stderr and len(r.stderr.strip().splitlines()) == 1
          and not os.path.exists(f"{tmp}/bad/jobs.json"), f"unset ${{COMP_SHARED}}: exit 1, one line: {r.stderr.strip()}")
    os.makedirs(f"{tmp}/other")
    other = json.load(open(MINI))
    other["ratios"] = [0.25]
    json.dump(other, open(f"{tmp}/other.json", "w"))
    shutil.copy(MINI, f"{tmp}/other/jobs.json")
    r = subprocess.run([SUBMIT, f"{tmp}/other.json", "--out-dir", f"{tmp}/other", "--dry-run"], env=env,
                       capture_output=True, text=True)
    check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "jobs file" in r.stderr,
          f"another jobs file for an existing output folder: refused: {r.stderr.strip()}")


def run_full(c, env, tmp):
    out = f"{tmp}/mini"
    r, arrays, agg = submit(env, MINI, out)
    cells = sweep_list(env, MINI, out)
    check(r.returncode == 0 and len(arrays) == 1 and agg and cells and
          arrays[0][1] == f"{cells[0]['index']}-{cells[-1]['index']}" and len(cells) == 10,
          f"submit: one array of the {len(cells or [])} cells {arrays[0][1] if arrays else '?'}, report job {agg}")
    if not (arrays and agg):
        return
    arr = arrays[0][0]
    q = c.squeue() or []
    dep = [j for j in q if j["id"] == agg]
    check(dep and dep[0]["reason"] == "Dependency", f"report job {agg} waits for the array: {dep}")
    try:
        log(f"waiting for array {arr} and report job {agg}")
        c.wait_jobs([arr, agg], timeout=420)
    except TimeoutError as e:
        check(False, str(e))
        show_logs(out)
        return
    log("sweep 1 finished")
    t = tasks_of(c, arr)
    states = {k: [x["JobState"] + "/" + x["ExitCode"] for x in v] for k, v in t.items()}
    check(len(t) == 10 and all(v == ["COMPLETED/0:0"] for v in states.values()),
          f"jobcomp: the 10 array tasks COMPLETED once, exit 0: {states}")
    aggrec = [x for x in c.jobcomp() if x.get("JobId") == agg]
    check(aggrec and aggrec[-1]["JobState"] == "COMPLETED" and aggrec[-1]["StartTime"] >= max(
        x["EndTime"] for v in t.values() for x in v), f"report job {agg} COMPLETED after the last cell ended")
    if not check_sweep(c, env, MINI, out, [arr], "sweep 1"):
        show_logs(out)

    # resubmission of the done sweep: the report job only, no cell file touched
    before = mtimes(glob.glob(f"{out}/cells/*"))
    r, arrays2, agg2 = submit(env, MINI, out)
    check(r.returncode == 0 and not arrays2 and agg2 and "every cell is done" in r.stdout,
          f"resubmitting the done sweep submits only the report job ({agg2})")
    if agg2:
        c.wait_jobs([agg2], timeout=120)
        rec = [x for x in c.jobcomp() if x.get("JobId") == agg2]
        check(rec and rec[-1]["JobState"] == "COMPLETED", f"report-only job {agg2} COMPLETED")
    r, _, _ = submit(env, MINI, out, "--local")
    check(r.returncode == 0 and " of 10:" not in r.stdout and "report in" in r.stdout,
          "--local on the done sweep runs no cell, writes the report")
    after = mtimes(glob.glob(f"{out}/cells/*"))
    check(before and before == after, f"no file of the {len(cells)} done cells was rewritten ({len(after)} files, same mtimes)")


def journal_layers(cell_dir):
    return sorted(glob.glob(f"{cell_dir}/prune.h5.ckpt/layer_*.bin"))


def wait_in_stage_c(c, arr, index, cell_dir, min_layers=3, timeout=120):
    """Wait until array task arr_index runs and its prune journal holds min_layers layers (the
    protected layers 0, 1 come first, so 3 means at least one pruned layer) while prune.h5 is not
    written yet; returns the journal's layer files then, or None."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        running = [j for j in (c.squeue() or []) if j["array_job"] == arr and j["task"] == str(index)
                   and j["state"] == "RUNNING"]
        layers = journal_layers(cell_dir)
        if running and len(layers) >= min_layers and not os.path.exists(f"{cell_dir}/prune.h5"):
            return layers
        if os.path.exists(f"{cell_dir}/prune.h5"):
            return None
        time.sleep(0.05)
    return None


def wait_tasks(c, jobs, arr, out, timeout=240):
    """Wait until the jobs have left the queue; then (jobcomp records of array arr's tasks, their
    JobStates: {task id: [state in end order]}), or (None, None) after a FAIL and the logs on timeout."""
    try:
        c.wait_jobs(jobs, timeout=timeout)
    except TimeoutError as e:
        check(False, str(e))
        show_logs(out)
        return None, None
    t = tasks_of(c, arr)
    return t, {k: [x["JobState"] for x in v] for k, v in t.items()}


def release_requeued(c, arr, index, how):
    """Wait (60 s at most) for array task arr_index to be back in the queue, PENDING, and release it:
    Slurm holds a requeued job 120 s (BeginTime). Released only once the previous run's slurmstepd
    processes are gone: a task started during that cleanup fails to launch (seen here); Slurm's own
    120 s hold is what prevents that outside this test. True when released."""
    t0 = time.time()
    while time.time() - t0 < 60:
        p = [j for j in (c.squeue() or []) if j["array_job"] == arr and j["task"] == str(index)
             and j["state"] == "PENDING"]
        if p:
            t1 = time.time()
            while c.stepds(p[0]["job_id"]) and time.time() - t1 < 60:
                time.sleep(0.2)
            subprocess.run(["scontrol", "update", f"JobId={arr}_{index}", "StartTime=now"], env=c.env(),
                           capture_output=True)
            log(f"{arr}_{index} {how} ({p[0]['reason']}); released {time.time() - t1:.1f} s later, "
                f"when the slurmstepd processes of job {p[0]['job_id']} had ended")
            return True
        time.sleep(0.2)
    return False


def interrupt_jobs(path, name, ratios):
    """Write the jobs file of the interruption sweeps (parts 2 and 3): llama-8L, comp, seed 0 at the
    given ratios, 32 calibration windows (a longer stage C: time to interrupt it), no dense cell; the
    same ratio gives the same cell in both. Returns the jobs dict."""
    jobs = json.load(open(MINI))
    jobs.update(name=name, dense=False, models=jobs["models"][:1], variants=jobs["variants"][:1], ratios=ratios,
                seeds=[0])
    jobs["calib"]["samples"] = 32
    json.dump(jobs, open(path, "w"), indent=1)
    return jobs


def run_preempt(c, env, tmp):
    jf, out = f"{tmp}/preempt.json", f"{tmp}/preempt"
    interrupt_jobs(jf, "mini-smoke-preempt", [0.2, 0.3])
    r, arrays, agg = submit(env, jf, out)
    check(r.returncode == 0 and len(arrays) == 1 and arrays[0][1] == "0-1" and agg,
          f"preempt sweep: array {arrays} + report job {agg}")
    if not (arrays and agg):
        return
    arr = arrays[0][0]
    r2, arrays2, agg2 = submit(env, jf, out)
    check(r2.returncode == 0 and not arrays2 and not agg2 and "already queued" in r2.stdout,
          "a second submission while the cells are queued submits nothing")
    cells = sweep_list(env, jf, out)
    d0, d1 = (f"{out}/cells/{x['id']}" for x in cells)

    # cell 0: scancel while stage C runs
    seen0 = wait_in_stage_c(c, arr, 0, d0)
    if not check(seen0, f"cell 0 caught in stage C (journal: {len(seen0 or [])} layers)"):
        show_logs(out)
        return
    subprocess.run(["scancel", f"{arr}_0"], env=c.env(), check=True)
    log(f"scancel {arr}_0 with {len(seen0)} layers in its journal")

    # cell 1: SIGUSR1 to its batch script (the --signal warning before the time limit)
    seen1 = wait_in_stage_c(c, arr, 1, d1)
    check(seen1, f"cell 1 caught in stage C (journal: {len(seen1 or [])} layers)")
    if seen1:
        subprocess.run(["scancel", "--signal=USR1", "--batch", f"{arr}_1"], env=c.env(), check=True)
        log(f"SIGUSR1 to the batch script of {arr}_1 with {len(seen1)} layers in its journal")
        release_requeued(c, arr, 1, "requeued itself")
    t, st = wait_tasks(c, [arr, agg], arr, out)
    if t is None:
        return
    check(st.get("0") == ["CANCELLED"], f"task {arr}_0 ended CANCELLED: {st.get('0')}")
    check(st.get("1", [""])[-1] == "COMPLETED" and len(st.get("1", [])) == 2,
          f"task {arr}_1 requeued itself and then COMPLETED: {st.get('1')}")
    out1 = open(glob.glob(f"{out}/slurm/cell-{arr}_1.out")[0]).read()
    check("SIGUSR1" in out1 and "requeueing" in out1 and "restart 1" in out1,
          "cell 1's output (appended over both runs) shows the SIGUSR1 stop, the requeue and the restart")
    j1 = info(f"{d1}/prune.h5")
    lj1 = prune_attrs(j1).get("layers_from_journal") if j1 else None
    check(j1 and lj1 is not None and lj1 >= len(seen1 or [1]),
          f"cell 1 resumed from its journal: layers_from_journal {lj1} >= {len(seen1 or [])} seen before SIGUSR1")
    cl = {x["id"]: x["state"] for x in sweep_list(env, jf, out)}
    check(cl[os.path.basename(d0)] != "done" and cl[os.path.basename(d1)] == "done" and journal_layers(d0)
          and os.path.exists(f"{out}/report/table.md"),
          f"after the first submission: cell 0 {cl[os.path.basename(d0)]} with its journal, cell 1 done, report written")

    before = mtimes([d1])
    r, arrays3, agg3 = submit(env, jf, out)
    check(r.returncode == 0 and len(arrays3) == 1 and arrays3[0][1] == "0" and agg3,
          f"resubmission: only cell 0 ({arrays3}), report job {agg3}")
    if not (arrays3 and agg3):
        return
    try:
        c.wait_jobs([arrays3[0][0], agg3], timeout=180)
    except TimeoutError as e:
        check(False, str(e))
        show_logs(out)
        return
    j0 = info(f"{d0}/prune.h5")
    lj0 = prune_attrs(j0).get("layers_from_journal") if j0 else None
    check(j0 and lj0 is not None and lj0 >= len(seen0),
          f"cell 0 resumed from its journal: layers_from_journal {lj0} >= {len(seen0)} seen before scancel")
    log0 = open(f"{d0}/log.txt", errors="replace").read()
    check("resume" in log0, "cell 0's log shows the resume")
    check(before and mtimes([d1]) == before, f"cell 1 not redone: its {len(before)} files keep their mtimes")
    check_sweep(c, env, jf, out, [arr, arrays3[0][0]], "preempt sweep")
    md = open(f"{out}/report/table.md").read()
    check("2 of 2 cells complete" in md, "the final report counts 2 of 2 cells complete")


def freeze_cell(out):
    """SIGSTOP the comp processes running a cell of the sweep folder out (their command line names it):
    pins the cell where it is (the preemption test must land in stage C, which lasts seconds) until
    Slurm's preemption signals it (SIGCONT and SIGTERM, SIGKILL after KillWait). Returns their pids."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if argv[0] == COMP and "sweep" in argv and out in argv:
            os.kill(int(pid), signal.SIGSTOP)
            pids.append(int(pid))
    return pids


def run_partition_preempt(c, env, tmp):
    """Real preemption: the cluster's partition urgent (PriorityTier 2) preempts debug (PriorityTier
    1, PreemptMode=REQUEUE). A one-cell sweep (cell 1 of the preempt sweep: llama-8L, comp, 30%, 32
    calibration windows) runs in debug; once it is in stage C its ranks are stopped (SIGSTOP, so that
    the preemption lands there) and a job that needs every CPU is submitted to urgent. Slurm must
    stop the cell and requeue it (PREEMPTED, then COMPLETED once the urgent job is done); it resumes
    from its journal, and its archive is bit-identical to an uninterrupted run's of the same cell
    outside Slurm, as is the preempt sweep's SIGUSR1-requeued cell 1."""
    jf, out, ref = f"{tmp}/partition.json", f"{tmp}/partition", f"{tmp}/partition-ref"
    jobs = interrupt_jobs(jf, "mini-smoke-partition", [0.3])
    r, arrays, agg = submit(env, jf, out, "--partition", "debug")
    check(r.returncode == 0 and len(arrays) == 1 and arrays[0][1] == "0" and agg,
          f"partition sweep in debug: array {arrays} + report job {agg}")
    if not (arrays and agg):
        return
    arr = arrays[0][0]
    cell = sweep_list(env, jf, out)[0]
    d = f"{out}/cells/{cell['id']}"
    seen = wait_in_stage_c(c, arr, 0, d)
    frozen = freeze_cell(out) if seen else []
    seen = journal_layers(d) if seen else None  # what the frozen run has committed
    if not check(seen and len(frozen) == jobs["ranks"] and not os.path.exists(f"{d}/prune.h5"),
                 f"cell caught and held in stage C (SIGSTOP to {len(frozen)} ranks; journal: "
                 f"{len(seen or [])} layers)"):
        show_logs(out)
        return
    r = subprocess.run(["sbatch", "--parsable", "--partition", "urgent", f"--ntasks={c.cpus}", "--output",
                        f"{tmp}/urgent.out", "--wrap", "sleep 2"], env=c.env(), capture_output=True, text=True)
    hi = r.stdout.strip().split(";")[0]
    check(r.returncode == 0 and hi.isdigit(),
          f"a job for all {c.cpus} CPUs submitted to urgent: {hi or r.stderr.strip()}")
    log(f"urgent job {hi} submitted with {len(seen)} layers in the cell's journal")
    check(release_requeued(c, arr, 0, "preempted and requeued by Slurm"),
          f"{arr}_0 back in the queue after the preemption")
    t, st = wait_tasks(c, [arr, agg, hi], arr, out)
    if t is None:
        return
    urgent = [x for x in c.jobcomp() if x.get("JobId") == hi]
    check(st.get("0") == ["PREEMPTED", "COMPLETED"], f"task {arr}_0 PREEMPTED, then COMPLETED: {st.get('0')}")
    check(urgent and urgent[-1]["JobState"] == "COMPLETED" and t.get("0") and
          urgent[-1]["StartTime"] >= t["0"][0]["EndTime"] and t["0"][-1]["StartTime"] >= urgent[-1]["EndTime"],
          "the urgent job ran between the cell's two runs")
    ctld = open(os.path.join(c.dir, "slurmctld.log"), errors="replace").read()
    pre = re.findall(r"preempted JobId=(\S+) has been requeued to reclaim resources for JobId=(\d+)", ctld)
    check(pre and pre[0][0].startswith(f"{arr}_0(") and pre[0][1] == hi and len(pre) == 1,
          f"slurmctld logged the one preemption, of {arr}_0 for job {hi}: {pre}")
    out0 = open(glob.glob(f"{out}/slurm/cell-{arr}_0.out")[0]).read()
    check("DUE TO PREEMPTION" in out0 and "restart 1" in out0,
          "the cell's output (appended over both runs) shows the preemption and the restart")
    j = info(f"{d}/prune.h5")
    lj = prune_attrs(j).get("layers_from_journal") if j else None
    check(j and lj is not None and lj == len(seen),  # held: the journal could not grow before the preemption
          f"the cell resumed from its journal: layers_from_journal {lj} == the {len(seen)} held at the preemption")
    check_sweep(c, env, jf, out, [arr], "partition sweep")

    # the same cell uninterrupted, outside Slurm (the cluster is idle now)
    r = subprocess.run(["mpiexec", "-n", str(jobs["ranks"]), COMP, "sweep", "run", jf, "--out-dir", ref, "--cell", "0",
                        "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    refh5 = f"{ref}/cells/{cell['id']}/prune.h5"
    if not check(r.returncode == 0 and info(refh5), f"uninterrupted run of the cell (mpiexec -n {jobs['ranks']})"):
        print(r.stderr.strip()[-2000:])
        return
    for what, path in (("preempted", f"{d}/prune.h5"), ("SIGUSR1-requeued (preempt sweep)",
                                                         f"{tmp}/preempt/cells/{cell['id']}/prune.h5")):
        same, msg = archive_diff(path, refh5) if os.path.exists(path) else (False, f"{path} missing")
        check(same, f"the {what} cell's archive == the uninterrupted run's: {msg}")


def main():
    need_shared()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    env = dict(os.environ, COMP_BIN=COMP, COMP_SHARED=os.path.dirname(os.path.abspath(need_shared())))
    tmp = tempfile.mkdtemp(prefix="comp-slurm-test-")
    try:
        bad_inputs(env, tmp)
        try:
            cluster = Cluster(log=log)
            cluster.start()
        except ClusterUnavailable as e:
            print(f"SKIP: {e}")
            sys.exit(77)
        try:
            env = cluster.env(COMP_BIN=COMP, COMP_SHARED=env["COMP_SHARED"])
            for part, out in ((run_full, "mini"), (run_preempt, "preempt"), (run_partition_preempt, "partition")):
                failed = e2e_common._tally[1]
                part(cluster, env, tmp)
                if e2e_common._tally[1] > failed:  # the logs of a part that failed
                    show_logs(f"{tmp}/{out}")
                    print(cluster.logs_tail(5))
        finally:
            cluster.stop()
    finally:
        if os.environ.get("COMP_KEEP_TMP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    log("done")
    finish()


if __name__ == "__main__":
    main()
