#!/usr/bin/python3
"""Whether two comp pruning archives hold the same pruned model, bit for bit.

Compares every dataset (/model and /layers: weights, kept-column indices; /prune: removed layers,
per-layer ratios, kept columns, Eq. 3 importances; NaN == NaN) and ignores what differs between any
two runs (/prune timings, peak RSS and which rank pruned which layer; provenance attributes). Prints
one line per pair; exit 1 when any pair differs or an archive is incomplete. The e2e tests check
rank-count invariance with it (tests/e2e/test_prune.py).

  /usr/bin/python3 analysis/archive_diff.py A.h5 B.h5
  /usr/bin/python3 analysis/archive_diff.py --sweep runs/cond-eig --variants tridiag lanczos
      (every cell pair of a sweep folder that differs only in the variant name)
"""
import argparse
import os
import sys

import h5py
import numpy as np

RUN_RECORDS = {"prune/layer_seconds", "prune/phase_seconds", "prune/peak_rss_bytes", "prune/layer_rank"}


def datasets(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None)
    return {k: v for k, v in out.items() if k not in RUN_RECORDS}


def diff(a_path, b_path):
    """(same, message)"""
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        for f, p in ((a, a_path), (b, b_path)):
            if not f.attrs.get("complete", False):
                return False, f"{p} is incomplete"
        da, db = datasets(a), datasets(b)
        if set(da) != set(db):
            return False, f"different datasets: {sorted(set(da) ^ set(db))[:5]}"
        worst, n_diff = 0.0, []
        for k in sorted(da):
            x, y = da[k][()], db[k][()]
            if x.shape != y.shape or x.dtype != y.dtype:
                n_diff.append(k)
                continue
            if np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
                continue
            n_diff.append(k)
            if x.dtype.kind == "f":
                worst = max(worst, float(np.nanmax(np.abs(x.astype(np.float64) - y.astype(np.float64)))))
        if n_diff:
            return False, f"{len(n_diff)} of {len(da)} datasets differ (max |diff| {worst:.3g}), first {n_diff[0]}"
        return True, f"identical ({len(da)} datasets)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("archives", nargs="*", help="two prune archives")
    ap.add_argument("--sweep", help="a sweep output folder (with cells/)")
    ap.add_argument("--variants", nargs=2, metavar=("A", "B"), help="with --sweep: the two variant names")
    a = ap.parse_args()
    pairs = []
    if a.sweep:
        if not a.variants:
            ap.error("--sweep needs --variants A B")
        cells = os.path.join(a.sweep, "cells")
        tag_a, tag_b = f"__{a.variants[0]}__", f"__{a.variants[1]}__"
        for c in sorted(os.listdir(cells)):
            if tag_a in c:
                pairs.append((os.path.join(cells, c, "prune.h5"), os.path.join(cells, c.replace(tag_a, tag_b), "prune.h5")))
        if not pairs:
            ap.error(f"no cell of variant {a.variants[0]} under {cells}")
    elif len(a.archives) == 2:
        pairs.append(tuple(a.archives))
    else:
        ap.error("give two archives, or --sweep DIR --variants A B")
    bad = 0
    for p, q in pairs:
        try:
            same, msg = diff(p, q)
        except OSError as e:
            same, msg = False, f"cannot read: {e}"
        bad += not same
        print(f"{'same' if same else 'DIFFERENT'}: {p} vs {q}: {msg}")
    print(f"{len(pairs) - bad} of {len(pairs)} pair(s) identical")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
