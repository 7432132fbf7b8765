"""The pruning result does not depend on the mask-solve back-end nor on how ranks share layers:
every compiled-in --solver, with 1-3 ranks, groups of ranks sharing a layer (--ranks-per-layer) and
ScaLAPACK grids 1x1, 1x2, 2x1, 1x3 (cond's Grams whole on every rank or, --gram-shares on, in the
group's shares; -mask_gram replicated), gives the same kept columns and the same weights (to 1e-5
relative) as one rank with lapack, on the shared llama-8L and opt-6L.
"""
import os, sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import check, finish, last_json, need_shared, run  # noqa: E402

DATA = need_shared()
TMP = os.environ.get("TMPDIR", "/tmp") + f"/comp_solvers_{os.getpid()}"
os.makedirs(TMP, exist_ok=True)
CALIB = f"{DATA}/trained/tinystories_train.txt"


def prune(model, out, np_, extra):
    r = run(["prune", "--model", model, "--calib", CALIB, "--ratio", "0.3", "--out", out, "--force", "--quiet",
             "--json", *extra], np_)
    return last_json(r)


def compare(a, b):
    """(same structure and integer data, max relative difference of the float datasets)."""
    fa, fb = h5py.File(a, "r"), h5py.File(b, "r")
    same, worst = True, 0.0

    def walk(name, obj):
        nonlocal same, worst
        if not isinstance(obj, h5py.Dataset):
            return
        x, y = fa["layers/" + name][()], obj[()]
        if x.shape != y.shape:
            same = False
        elif x.dtype.kind == "f":
            worst = max(worst, float(np.max(np.abs(x - y), initial=0) / (np.max(np.abs(y), initial=0) + 1e-30)))
        elif not np.array_equal(x, y):
            same = False
    fb["layers"].visititems(walk)
    same = same and np.array_equal(fa["prune/pruned_columns"][()], fb["prune/pruned_columns"][()])
    return same, worst, int(fa["prune"].attrs["ranks_per_layer"])


def main():
    solvers = [s for s in ("lapack", "scalapack", "petsc")
               if run(["prune", "--dry-run", "--model", f"{DATA}/trained/llama-8L", "--solver", s]).returncode == 0]
    print("solvers compiled in:", solvers)
    check("lapack" in solvers, "lapack is always there")
    configs = [("lapack", 2, 2, ()), ("lapack", 3, 3, ())]
    if "scalapack" in solvers:
        # groups: cond's Grams whole on every rank (--gram-shares auto, memory permitting) or in the
        # group's block-cyclic shares (on: WᵀW, every Fisher sample's Gram and G); -mask_gram
        # replicated: no own shares at all
        shares = ("--gram-shares", "on")
        configs += [("scalapack", 1, 0, ()), ("scalapack", 2, 2, ("-mask_grid", "1x2")),
                    ("scalapack", 2, 2, ("-mask_grid", "1x2", *shares)), ("scalapack", 2, 2, ("-mask_grid", "2x1")),
                    ("scalapack", 2, 2, ("-mask_grid", "2x1", *shares)), ("scalapack", 3, 3, ()),
                    ("scalapack", 3, 3, shares), ("scalapack", 3, 0, ()), ("scalapack", 2, 2, ("-mask_gram", "replicated"))]
    if "petsc" in solvers:  # LSQR per kept count is slow: a coarser profile (against lapack with the same)
        configs += [("petsc", 1, 0, ()), ("petsc", 2, 2, ())]
    coarse = ("--step-div", "8")
    for name in ("llama-8L", "opt-6L"):
        model = f"{DATA}/trained/{name}"
        ref, cref = f"{TMP}/{name}_ref.h5", f"{TMP}/{name}_cref.h5"
        if not check(prune(model, ref, 1, ()) is not None and prune(model, cref, 1, coarse) is not None,
                     f"{name}: references (1 rank, lapack; default and --step-div 8)"):
            continue
        for solver, np_, rpl, more in configs:
            out = f"{TMP}/{name}_{solver}_{np_}_{rpl}_{'_'.join(more)}.h5"
            extra = ["--solver", solver, "--ranks-per-layer", str(rpl), *more]
            if solver == "petsc":
                extra += coarse
            what = f"{name}: --solver {solver}, {np_} rank(s), --ranks-per-layer {rpl}" + (f", {' '.join(more)}" if more else "")
            if not check(prune(model, out, np_, extra) is not None, what + ": runs"):
                continue
            same, worst, k = compare(out, cref if solver == "petsc" else ref)
            want_k = rpl if rpl else 1
            check(same and worst <= 1e-5 and k == want_k,
                  f"{what}: same kept columns, weights within {worst:.1e} of lapack on 1 rank (group size {k})")
            if solver == "lapack":  # the group splits the Gram panels; each is computed whole by one rank
                check(worst == 0.0, f"{what}: bit-identical to 1 rank")
    # OBS importance on a group: from the scalapack back-end's distributed factor (pdpotrf + pdtrtri)
    if "scalapack" in solvers:
        model, imp = f"{DATA}/trained/llama-8L", ("--importance", "obs")
        ref = f"{TMP}/obs_ref.h5"
        if check(prune(model, ref, 1, imp) is not None, "llama-8L --importance obs: reference (1 rank, lapack)"):
            for np_, grid in ((2, "1x2"), (3, None)):
                out = f"{TMP}/obs_{np_}.h5"
                extra = [*imp, "--solver", "scalapack", "--ranks-per-layer", str(np_)] + (["-mask_grid", grid] if grid else [])
                what = f"llama-8L --importance obs --solver scalapack, {np_} ranks sharing each layer"
                if check(prune(model, out, np_, extra) is not None, what + ": runs"):
                    same, worst, k = compare(out, ref)
                    check(same and worst <= 1e-5 and k == np_,
                          f"{what}: same kept columns, weights within {worst:.1e} of lapack on 1 rank")
    r = run(["prune", "--model", f"{DATA}/trained/llama-8L", "--calib", CALIB, "--ratio", "0.3", "--out",
             f"{TMP}/x.h5", "--solver", "nosuch"])
    check(r.returncode != 0 and "not a solver compiled into this build" in r.stderr, f"unknown solver: {r.stderr.strip()}")
    if "petsc" in solvers:  # PETSc options pass through with the mask_ prefix
        r = run(["prune", "--model", f"{DATA}/trained/llama-8L", "--calib", CALIB, "--ratio", "0.3", "--out",
                 f"{TMP}/x.h5", "--force", "--solver", "petsc", "-mask_ksp_max_it", "2"])
        err = next((x for x in r.stderr.splitlines() if "error" in x), r.stderr.strip())
        check(r.returncode != 0 and "petsc" in err.lower() and not os.path.exists(f"{TMP}/x.h5"),
              f"-mask_ksp_max_it 2 reaches KSPLSQR, which stops unconverged with one error line: {err}")
    r = run(["prune", "--model", f"{DATA}/trained/llama-8L", "--calib", CALIB, "--ratio", "0.3", "--out",
             f"{TMP}/x.h5", "--ranks-per-layer", "3"], 2)
    check(r.returncode != 0 and "--ranks-per-layer" in r.stderr, "--ranks-per-layer larger than the rank count is refused")
    finish()


main()
