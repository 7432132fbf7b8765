"""Shared helpers of the end-to-end test drivers: the pass/fail tally and running `comp`."""
import json, os, struct, subprocess, sys

import numpy as np

COMP = os.environ["COMP"]
SRC = os.environ.get("COMP_SRC", "")
SHARED = os.environ.get("COMP_SHARED", "")
_tally = [0, 0]


def check(cond, what):
    """Print one ok/FAIL line and count it."""
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    _tally[0 if cond else 1] += 1
    return bool(cond)


def run_cmd(cmd, np=None, timeout=600):
    """Run a program (under mpiexec -n np when np is given); returns the CompletedProcess."""
    cmd = (["mpiexec", "-n", str(np)] if np else []) + list(cmd)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def run(args, np=None, timeout=600):
    """Run comp with args (under mpiexec -n np when np is given)."""
    return run_cmd([COMP, *args], np, timeout)


def last_json(r):
    """The JSON object on the last stdout line of a successful run, else None (stderr printed)."""
    if r.returncode != 0:
        print(r.stderr.strip())
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def ev(model, text, L, np=None, extra=()):
    """`comp eval --json` result (dict) or None."""
    return last_json(run(["eval", "--model", model, "--text", text, "--seq-len", str(L), "--json", "--quiet", *extra], np))


def need_shared():
    """Exit 77 (ctest: skipped) with a clear line when ../shared is absent."""
    if not os.path.isdir(SHARED):
        print(f"SKIP: shared data folder {SHARED!r} not found (put ../shared beside the checkout)")
        sys.exit(77)
    return f"{SHARED}/data"


def finish():
    """Print the tally and exit non-zero on any failure."""
    print(f"{_tally[0]} passed, {_tally[1]} failed")
    sys.exit(1 if _tally[1] else 0)


def st_load(path):
    """safetensors -> dict of float32 numpy arrays (F16/F32)."""
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        dt = {"F32": "<f4", "F16": "<f2"}[v["dtype"]]
        a, z = v["data_offsets"]
        out[k] = np.frombuffer(b[8 + n + a:8 + n + z], dt).astype(np.float32).reshape(v["shape"])
    return out


def st_save(path, tensors):
    """dict of arrays -> safetensors, every tensor F32, names sorted."""
    h, off, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for k in sorted(tensors):
        raw = np.ascontiguousarray(tensors[k], "<f4").tobytes()
        h[k] = {"dtype": "F32", "shape": list(tensors[k].shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw); off += len(raw)
    hb = json.dumps(h).encode(); hb += b" " * (-len(hb) % 8)
    open(path, "wb").write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
