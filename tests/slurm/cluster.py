#!/usr/bin/python3
"""A real one-node Slurm cluster on localhost for tests (../shared/docs/STACK.md §3).

Everything lives in one scratch folder: its own munge key and munged (own socket, so a munged
already running on the machine is neither used nor disturbed), slurm.conf from STACK.md's template
with free TCP ports, state, spool, logs and the job-completion log (no accounting database, so no
sacct: JobCompType=jobcomp/filetxt records every finished job). The three daemons are children of
this process, are stopped by their PIDs in stop() (also when the test fails, and by
PR_SET_PDEATHSIG should the test process be killed outright), after every job of the cluster has
been cancelled and has left the queue. Two partitions on the one node: debug (the default) and
urgent, whose jobs preempt debug's (PreemptType=preempt/partition_prio, PreemptMode=REQUEUE: a
preempted job is stopped and put back in the queue, as on a cluster with a preemptible partition).

    with Cluster() as c:                      # raises ClusterUnavailable(reason) when it cannot run
        env = c.env()                         # os.environ + SLURM_CONF
        subprocess.run(["sbatch", ...], env=env)
        c.wait_jobs(["12"], timeout=60)

Command line (for trying things by hand):
    /usr/bin/python3 tests/slurm/cluster.py run -- CMD ARGS...   # CMD runs with SLURM_CONF set
"""
import ctypes, os, pwd, re, shutil, signal, socket, subprocess, sys, tempfile, time

SLURM_CONF_TEMPLATE = """\
# slurm.conf of the test cluster (tests/slurm/cluster.py; template: ../shared/docs/STACK.md section 3)
ClusterName=comptest
SlurmctldHost=localhost
SlurmctldPort=@CTLD_PORT@
SlurmdPort=@SLURMD_PORT@
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=@MUNGE_SOCKET@
MailProg=/bin/true
StateSaveLocation=@D@/state
SlurmdSpoolDir=@D@/spool
SlurmctldPidFile=@D@/slurmctld.pid
SlurmdPidFile=@D@/slurmd.pid
SlurmctldLogFile=@D@/slurmctld.log
SlurmdLogFile=@D@/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=@D@/jobcomp.log
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=pmix
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=5
MinJobAge=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs=@CPUS@ RealMemory=@MEM@ State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP PriorityTier=1
PartitionName=urgent Nodes=localhost MaxTime=INFINITE State=UP PriorityTier=2 PreemptMode=OFF
"""

DAEMONS = ("/usr/sbin/munged", "/usr/sbin/mungekey", "/usr/sbin/slurmctld", "/usr/sbin/slurmd")
CLIENTS = ("sbatch", "squeue", "scancel", "scontrol", "sinfo", "srun")
PACKAGES = "slurmctld slurmd slurm-client munge"


class ClusterUnavailable(Exception):
    """The cluster cannot run here (not root, packages missing): a reason for a test to skip."""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children():
    """PIDs of this process's children that are still alive (not zombies)."""
    me, out = os.getpid(), []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(st[1]) == me and st[0] != "Z":
                out.append(int(d))
    return out


def _reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _die_with_parent():
    """preexec_fn: SIGTERM this child when the test process dies (even by SIGKILL)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Cluster:
    def __init__(self, cpus=None, keep=False, log=print):
        self.cpus = max(2, cpus or os.cpu_count() or 2)
        self.keep = keep  # keep the scratch folder after stop (debugging)
        self.log = log
        self.dir = None
        self.procs = {}  # name -> Popen, in start order

    # ---- start / stop ---------------------------------------------------------------------------
    @staticmethod
    def check_available():
        """Raise ClusterUnavailable naming what is missing."""
        if os.geteuid() != 0:
            raise ClusterUnavailable("a localhost Slurm needs root (slurmd runs jobs as their user)")
        missing = [p for p in DAEMONS if not os.access(p, os.X_OK)]
        missing += [c for c in CLIENTS if shutil.which(c) is None]
        if missing:
            raise ClusterUnavailable(f"not installed: {' '.join(missing)} (Debian: apt-get install {PACKAGES})")
        try:
            pwd.getpwnam("munge")
        except KeyError:
            raise ClusterUnavailable("no 'munge' user (Debian package munge not installed?)")

    def start(self, timeout=30):
        self.check_available()
        self.dir = tempfile.mkdtemp(prefix="comp-slurm-")
        # orphans (slurmstepd, job processes) become our children: reaped, and any left over killed, in stop()
        ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout):
        D = self.dir
        os.chmod(D, 0o755)
        for sub in ("state", "spool"):
            os.mkdir(os.path.join(D, sub))
        mu = pwd.getpwnam("munge")
        # munge: key, seed and log private to the munge user; the socket folder readable by all
        mkey, mrun = os.path.join(D, "munge"), os.path.join(D, "munge-run")
        for sub, mode in ((mkey, 0o700), (mrun, 0o755)):
            os.mkdir(sub)
            os.chown(sub, mu.pw_uid, mu.pw_gid)
            os.chmod(sub, mode)
        self.munge_socket = os.path.join(mrun, "munge.socket")
        key = os.path.join(mkey, "munge.key")
        subprocess.run(["/usr/sbin/mungekey", "--create", "--keyfile", key], check=True, user=mu.pw_uid,
                       group=mu.pw_gid, capture_output=True)
        self._spawn("munged", ["/usr/sbin/munged", "--foreground", f"--socket={self.munge_socket}",
                               f"--key-file={key}", f"--pid-file={mrun}/munged.pid",
                               f"--log-file={mkey}/munged.log", f"--seed-file={mkey}/munged.seed"],
                    user=mu.pw_uid, group=mu.pw_gid)
        self._wait(lambda: os.path.exists(self.munge_socket), timeout, "munged socket")
        r = subprocess.run(f"munge -S {self.munge_socket} -n | unmunge -S {self.munge_socket}", shell=True,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"munge self-test failed: {r.stderr.strip()}")

        mem = 1024
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = max(1024, int(int(line.split()[1]) / 1024 * 0.8))
        conf = SLURM_CONF_TEMPLATE
        for k, v in {"@D@": D, "@CTLD_PORT@": _free_port(), "@SLURMD_PORT@": _free_port(),
                     "@MUNGE_SOCKET@": self.munge_socket, "@CPUS@": self.cpus, "@MEM@": mem}.items():
            conf = conf.replace(k, str(v))
        self.conf = os.path.join(D, "slurm.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self._spawn("slurmctld", ["/usr/sbin/slurmctld", "-D", "-i", "-f", self.conf])
        self._spawn("slurmd", ["/usr/sbin/slurmd", "-D", "-N", "localhost", "-f", self.conf])
        self._wait(lambda: self.node_state() == "idle", timeout, "node idle")
        self.log(f"slurm: cluster up in {D} (SLURM_CONF={self.conf}; pids "
                 + ", ".join(f"{n} {p.pid}" for n, p in self.procs.items()) + ")")

    def _spawn(self, name, cmd, **kw):
        out = open(os.path.join(self.dir, f"{name}.out"), "w")
        self.procs[name] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env=self.env(), preexec_fn=_die_with_parent, **kw)
        out.close()

    def _wait(self, cond, timeout, what):
        t0 = time.time()
        while not cond():
            for n, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"{n} exited ({p.returncode}) while waiting for {what}:\n" + self.logs_tail())
            if time.time() - t0 > timeout:
                raise RuntimeError(f"timeout ({timeout} s) waiting for {what}:\n" + self.logs_tail())
            time.sleep(0.2)

    def logs_tail(self, n=15):
        out = []
        for f in ("munged.out", "slurmctld.out", "slurmd.out", "slurmctld.log", "slurmd.log", "munge/munged.log"):
            p = os.path.join(self.dir or "", f)
            if self.dir and os.path.exists(p):
                with open(p, errors="replace") as fh:
                    lines = fh.read().splitlines()[-n:]
                out.append(f"--- {p}\n" + "\n".join(lines))
        return "\n".join(out)

    def stop(self):
        """Cancel every job of the cluster, wait until the queue is empty, then stop the daemons by PID."""
        if not self.procs:
            return
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            subprocess.run(["scancel", "--user", pwd.getpwuid(os.geteuid()).pw_name], env=self.env(),
                           capture_output=True, timeout=30)
            t0 = time.time()
            while time.time() - t0 < 30:
                q = self.squeue()
                if q is not None and not q:
                    break
                time.sleep(0.3)
        for name in ("slurmd", "slurmctld", "munged"):
            p = self.procs.get(name)
            if p is None:
                continue
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            self.log(f"slurm: stopped {name} (pid {p.pid}, exit {p.returncode})")
        self.procs = {}
        time.sleep(0.2)
        for pid in _children():  # job processes that outlived the daemons: none expected
            try:
                with open(f"/proc/{pid}/cmdline") as f:
                    cmd = f.read().replace("\0", " ").strip()
                os.kill(pid, signal.SIGKILL)
                self.log(f"slurm: killed leftover pid {pid} ({cmd})")
            except OSError:
                pass
        time.sleep(0.1)
        _reap()
        if self.dir and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # ---- queries --------------------------------------------------------------------------------
    def env(self, **extra):
        e = dict(os.environ)
        if self.dir:
            e["SLURM_CONF"] = os.path.join(self.dir, "slurm.conf")
        e.update({k: str(v) for k, v in extra.items()})
        return e

    def node_state(self):
        r = subprocess.run(["sinfo", "-h", "-o", "%T"], env=self.env(), capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else None

    def squeue(self):
        """Every job/array task in the queue: list of dicts (id, array_job, task, state, reason, name),
        array tasks one per line; None when squeue fails."""
        r = subprocess.run(["squeue", "-h", "-r", "-o", "%i|%F|%K|%T|%r|%A|%j"], env=self.env(),
                           capture_output=True, text=True)
        if r.returncode != 0:
            return None
        out = []
        for line in r.stdout.splitlines():
            i, a, k, st, reason, job, name = line.split("|", 6)
            out.append({"id": i, "array_job": a, "task": k, "state": st, "reason": reason, "job_id": job,
                        "name": name})
        return out

    @staticmethod
    def stepds(job_id):
        """PIDs of the slurmstepd processes of a job (their title is "slurmstepd: [JOB.STEP]")."""
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/cmdline", "rb") as f:
                        cmd = f.read().decode(errors="replace")
                except OSError:
                    continue
                if cmd.startswith(f"slurmstepd: [{job_id}."):
                    out.append(int(d))
        return out

    def jobcomp(self):
        """Finished jobs from the job-completion log: list of dicts of its KEY=VALUE fields (one per
        end of a job; a requeued task appears once per run)."""
        p = os.path.join(self.dir, "jobcomp.log")
        if not os.path.exists(p):
            return []
        out = []
        with open(p) as f:
            for line in f:
                out.append(dict(re.findall(r"(\w+)=(\S*)", line)))
        return out

    def wait_jobs(self, jobs, timeout, poll=0.5):
        """Wait until none of the given job ids (array job ids included) is in the queue."""
        jobs = {str(j) for j in jobs}
        t0 = time.time()
        while True:
            q = self.squeue()
            if q is not None and not [j for j in q if j["array_job"] in jobs or j["id"] in jobs]:
                return time.time() - t0
            if time.time() - t0 > timeout:
                raise TimeoutError(f"jobs {sorted(jobs)} still queued after {timeout} s: {q}")
            time.sleep(poll)


def main(argv):
    if len(argv) < 3 or argv[1] != "run" or "--" not in argv:
        print(__doc__)
        return 2
    cmd = argv[argv.index("--") + 1:]
    with Cluster(keep="COMP_SLURM_KEEP" in os.environ) as c:
        return subprocess.run(cmd, env=c.env()).returncode


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except ClusterUnavailable as e:
        print(f"cluster.py: {e}", file=sys.stderr)
        sys.exit(1)
