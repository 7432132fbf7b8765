#!/usr/bin/python3
"""Independent numpy/scipy oracle for src/prune_math.c (ALGORITHM.md §3-§5, Eqs. 3, 5-10, §4.5).

Usage:  oracle.py TEST_BINARY      writes fixtures + expected results into a temp dir, runs
                                    `TEST_BINARY DIR` and exits with its status (the ctest entry)
        oracle.py --write DIR       only writes the fixtures (for debugging the C test by hand)

Everything is computed here from the spec, without looking at the C code: eigh for κ and its
gradient (itself checked against finite differences below), fresh np.linalg.solve of each restricted
system for Eq. 5, the harmonic-mean form of Eq. 10 with a water-filling clamp found by a different
search than the C loop. Inputs the C side consumes as float are written as float32; every other file
is float64 (C-order .npy). The oracle's own self-checks print "ok"/"FAIL" and a failure exits 1.
"""
import os, subprocess, sys, tempfile

import numpy as np

EPS = 1e-6  # eps_rel used for the mask tuning, importance and the first κ case
n_fail = 0


def self_check(cond, what):
    global n_fail
    print(("oracle ok   " if cond else "oracle FAIL ") + what, flush=True)
    n_fail += not cond


def eq10(imp, in_q, budget, N, p_max):
    """Harmonic-mean form, then water-filling by trying t = 0, 1, ... clamped layers (largest 1/I first)."""
    Q = np.flatnonzero(in_q)
    I = np.maximum(imp[Q], 1e-12)
    H = len(Q) / np.sum(1 / I)
    p = (H / I) * budget / (len(Q) * N)  # Eq. 10 as written
    if p.max() <= p_max:
        r = np.zeros(len(imp)); r[Q] = p; return r
    order = np.argsort(-(1 / I), kind="stable")
    for t in range(1, len(Q) + 1):
        rest = order[t:]
        pq = np.full(len(Q), p_max)
        if len(rest):
            Ir = I[rest]
            Hr = len(rest) / np.sum(1 / Ir)  # Eq. 10 again on the unclamped layers and the rest of the budget
            pq[rest] = (Hr / Ir) * (budget - t * p_max * N) / (len(rest) * N)
            if pq[rest].max() > p_max * (1 + 1e-12):
                continue
        r = np.zeros(len(imp)); r[Q] = pq; return r
    raise AssertionError("eq10 oracle: infeasible")


def kappa_lam(Gm, lam):
    ev = np.linalg.eigvalsh(Gm); return (ev[-1] + lam) / (ev[0] + lam)

def cond_grad(Gm, eps):
    lam = eps * np.mean(np.diag(Gm))
    ev, V = np.linalg.eigh(Gm)
    lmin, lmax, vmin, vmax = ev[0], ev[-1], V[:, 0], V[:, -1]
    g = 2 * (lmax * vmax**2 * (lmin + lam) - (lmax + lam) * lmin * vmin**2) / (lmin + lam) ** 2
    return (lmax + lam) / (lmin + lam), g, lam


def neuron_scores(Wd, Xpd, n_samples, eps=EPS):
    """Every importance metric of one dense (ALGORITHM.md Eq. 6-9 and the alternatives), float64.
    Wd (d_out, d), Xpd (n_samples*T, d) its input X' (rows: tokens, one sample after another)."""
    WtW, T = Wd.T @ Wd, Xpd.shape[0] // n_samples
    G = WtW * (Xpd.T @ Xpd)
    gs = [cond_grad(WtW * (Xs.T @ Xs), eps)[1] for Xs in (Xpd[s * T:(s + 1) * T] for s in range(n_samples))]
    F = (np.array(gs) ** 2).mean(0)
    kap, g, lam = cond_grad(G, eps)
    return {
        "cond": kap - g + 0.5 * F,
        "cond_fisher": F,
        "obs": 1 / np.diag(np.linalg.inv(G + lam * np.eye(G.shape[0]))),
        "wanda": np.linalg.norm(Wd, axis=0) * np.linalg.norm(Xpd, axis=0),
        "magnitude": np.linalg.norm(Wd, axis=0),
    }


def mask_solve(G, c, S, eps=EPS):
    """Eq. 5 on the kept columns S (a fresh solve): m = 1 + (G_SS + λI)⁻¹ (c_S − G_SS 1), λ = ε·mean(diag G)."""
    lam = eps * np.mean(np.diag(G))
    GSS = G[np.ix_(S, S)]
    return 1 + np.linalg.solve(GSS + lam * np.eye(len(S)), c[S] - GSS @ np.ones(len(S)))


def write_all(out):
    def save(name, a, dtype=np.float64):
        np.save(os.path.join(out, name + ".npy"), np.ascontiguousarray(np.asarray(a, dtype=dtype)))

    rng = np.random.default_rng(20240611)

    # ---- Eq. 3: layer importance ------------------------------------------------------------------
    n, D = 120, 48
    x = rng.standard_normal((n, D)).astype(np.float32)
    y = (x + 0.7 * rng.standard_normal((n, D))).astype(np.float32)
    x[5] = 0  # zero-norm rows count as cos = 1
    y[9] = 0
    xd, yd = x.astype(np.float64), y.astype(np.float64)
    nx, ny = np.linalg.norm(xd, axis=1), np.linalg.norm(yd, axis=1)
    cos = np.where((nx > 0) & (ny > 0), (xd * yd).sum(1) / np.where(nx * ny > 0, nx * ny, 1), 1.0)
    save("eq3_x", x, np.float32); save("eq3_y", y, np.float32); save("eq3_I", [1 - cos.mean()])

    # ---- Eq. 10: per-layer ratios ------------------------------------------------------------------
    N_layer = 202_383_360
    cases = {}
    L = 12
    inq = np.ones(L, bool); inq[[0, 1, 11]] = False
    imp = rng.uniform(0.05, 0.5, L)
    cases["a"] = (imp, inq, 0.25 * inq.sum() * N_layer, N_layer, 0.9)  # no clamp
    imp_b = np.array([0.3, 0.3, 0.01, 0.015, 0.3, 0.4, 0.5, 0.35, 0.25, 0.2, 0.45, 0.3])
    cases["b"] = (imp_b, inq, 0.45 * inq.sum() * N_layer, N_layer, 0.6)  # clamp cascade
    imp_c = imp.copy(); imp_c[[3, 6]] = [0.0, -1.0]  # non-positive -> 1e-12 -> p_max
    cases["c"] = (imp_c, inq, 0.3 * inq.sum() * N_layer, N_layer, 0.9)
    cases["d"] = (imp, inq, 0.9 * inq.sum() * N_layer, N_layer, 0.9)  # budget exactly at the cap
    for tag, (im, q, budget, N, pm) in cases.items():
        r = eq10(im, q, budget, N, pm)
        self_check(np.isclose((r * N).sum(), budget, rtol=1e-12) and r.max() <= pm * (1 + 1e-12)
                   and np.all(r[~q] == 0), f"eq10 case {tag}: budget closes, p_l <= p_max (max {r.max():.4f})")
        save(f"eq10_{tag}_imp", im); save(f"eq10_{tag}_inq", q.astype(np.float64))
        save(f"eq10_{tag}_par", [budget, N, pm]); save(f"eq10_{tag}_ratio", r)
    rb = eq10(*cases["b"])
    self_check(np.sum(np.isclose(rb, 0.6)) >= 2, "eq10 case b clamps at least two layers")
    # unclamped layers of case b keep p proportional to 1/I
    free = inq & ~np.isclose(rb, 0.6)
    self_check(np.allclose(rb[free] * imp_b[free], (rb[free] * imp_b[free])[0]), "eq10 case b: p_l*I_l constant on the unclamped")

    # ---- Gram pieces (Eq. 5) -------------------------------------------------------------------------
    d, ns, T = 48, 3, 40
    sc = np.exp(0.5 * rng.standard_normal(d))
    X = (rng.standard_normal((ns * T, d)) * sc).astype(np.float32)
    Xp = (X + 0.1 * rng.standard_normal((ns * T, d)) * sc).astype(np.float32)
    save("X", X, np.float32); save("Xp", Xp, np.float32)
    Xd, Xpd = X.astype(np.float64), Xp.astype(np.float64)
    XX, XpXp, XpX = Xd.T @ Xd, Xpd.T @ Xpd, Xpd.T @ Xd  # XpX[k,j] = sum_t x'_tk x_tj
    save("XX", XX); save("XpXp", XpXp); save("XpX", XpX)

    for d_out in (32, 80):
        tag = f"w{d_out}"
        W = (rng.standard_normal((d_out, d)) / np.sqrt(d)).astype(np.float32)
        Wd = W.astype(np.float64)
        WtW = Wd.T @ Wd
        G = WtW * XpXp  # (WᵀW)∘(X'X'ᵀ) in the paper's column notation
        c = (WtW * XpX).sum(1)
        # the spec's identity c = diag(WᵀW X X'ᵀ) (paper notation, X is d×N = Xd.T)
        self_check(np.allclose(c, np.diag(WtW @ Xd.T @ Xpd)), f"{tag}: c == diag(W^T W X X'^T)")
        G0 = WtW * XX
        save(f"{tag}_W", W, np.float32); save(f"{tag}_WtW", WtW); save(f"{tag}_G", G); save(f"{tag}_c", c)
        save(f"{tag}_G0", G0)

        # ---- Eq. 6-7: κ and its gradient, checked against central finite differences -----------
        for ie, eps in enumerate((EPS, 1e-2)):
            kap, g, lam = cond_grad(G, eps)
            h, gfd = 1e-5, np.zeros(d)
            for k in range(d):
                e = np.ones(d); e[k] += h; kp = kappa_lam(e[:, None] * G * e[None, :], lam)
                e[k] -= 2 * h; km = kappa_lam(e[:, None] * G * e[None, :], lam)
                gfd[k] = (kp - km) / (2 * h)
            self_check(np.allclose(g, gfd, rtol=1e-5, atol=1e-6 * abs(g).max()),
                       f"{tag} eps={eps:g}: closed-form d kappa/dm == finite differences (kappa {kap:.4g})")
            save(f"cond_{tag}_e{ie}_eps", [eps]); save(f"cond_{tag}_e{ie}_kappa", [kap])
            save(f"cond_{tag}_e{ie}_g", g); save(f"cond_{tag}_e{ie}_gfd", gfd)

        # ---- Eq. 8-9 and the alternatives --------------------------------------------------------
        scores = neuron_scores(Wd, Xpd, ns)
        kap, g, lam = cond_grad(G, EPS)
        for name, s in scores.items():
            save(f"score_{tag}_{name}", s)
            save(f"order_{tag}_{name}", np.lexsort((np.arange(d), -s)))  # descending, ties by index

        # ---- Eq. 5 mask tuning: a FRESH solve per k on the kept prefix of the OBS keep order ------
        perm = np.lexsort((np.arange(d), -scores["obs"]))
        lam = EPS * np.mean(np.diag(G))
        ks = [d, d - 1, 40, 36, 24, 12, 1]
        save(f"mt_{tag}_perm", perm); save(f"mt_{tag}_ks", ks)
        for k in ks:
            S = perm[:k]
            GSS = G[np.ix_(S, S)]
            dm = np.linalg.solve(GSS + lam * np.eye(k), c[S] - GSS @ np.ones(k))
            m = 1 + dm
            # the solution is the ridge-regularised restricted least squares of Eq. 2 (paper §4.1):
            # check it against lstsq on the Khatri-Rao system, augmented with the ridge rows.
            if k == 24:
                A = np.stack([np.kron(Xpd[:, j], Wd[:, j]) for j in S], axis=1)
                yv = np.concatenate([(Xd @ Wd.T).reshape(-1) - A @ np.ones(k), np.zeros(k)])
                Aa = np.vstack([A, np.sqrt(lam) * np.eye(k)])
                self_check(np.allclose(np.linalg.lstsq(Aa, yv, rcond=None)[0] + 1, m, rtol=1e-7, atol=1e-8),
                           f"{tag} k={k}: normal-equation solve == ridge lstsq on vec(WX) (Eq. 2/4)")
            save(f"mt_{tag}_m{k}", m); save(f"mt_{tag}_var{k}", [np.var(m)])

    # ---- keep order with many ties ---------------------------------------------------------------------
    ties = rng.integers(0, 5, 48).astype(np.float64)
    save("ties_score", ties); save("ties_order", np.lexsort((np.arange(48), -ties)))

    # ---- guard: two nearly identical input neurons in X' (same w, x' up to 3e-3) whose target
    #      needs m_0 = 30, m_1 = -29: an ill-conditioned G_SS and a tuned mask far beyond |m| = 10 ----
    dg, ng = 8, 60
    Xpg = rng.standard_normal((ng, dg))
    Xpg[:, 1] = Xpg[:, 0] + 3e-3 * rng.standard_normal(ng)
    Xg = Xpg.copy()
    Xg[:, 0], Xg[:, 1] = 30 * Xpg[:, 0], -29 * Xpg[:, 1]
    Wg = rng.standard_normal((dg, dg))
    Wg[:, 1] = Wg[:, 0]  # same weight column too: the Khatri-Rao columns x'_0⊗w_0, x'_1⊗w_1 nearly collinear
    WtWg = Wg.T @ Wg
    Gg, cg = WtWg * (Xpg.T @ Xpg), (WtWg * (Xpg.T @ Xg)).sum(1)
    kg = 6
    lamg = EPS * np.mean(np.diag(Gg))
    mg = 1 + np.linalg.solve(Gg[:kg, :kg] + lamg * np.eye(kg), cg[:kg] - Gg[:kg, :kg] @ np.ones(kg))
    self_check(np.abs(mg).max() > 10, f"guard case: max|m| = {np.abs(mg).max():.3g} > 10")
    self_check(np.linalg.cond(Gg[:kg, :kg] + lamg * np.eye(kg)) > 1e4, "guard case is ill-conditioned (cond %.3g)" % np.linalg.cond(Gg[:kg, :kg] + lamg * np.eye(kg)))
    save("guard_G", Gg); save("guard_c", cg); save("guard_perm", np.arange(dg)); save("guard_k", [kg])
    save("guard_m", mg)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        os.makedirs(sys.argv[2], exist_ok=True)
        write_all(sys.argv[2])
        return 1 if n_fail else 0
    if len(sys.argv) != 2:
        print(__doc__); return 2
    with tempfile.TemporaryDirectory(prefix="prune_math_") as out:
        write_all(out)
        if n_fail:
            print(f"oracle: {n_fail} self-check(s) failed"); return 1
        r = subprocess.run([sys.argv[1], out], env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        return r.returncode


if __name__ == "__main__":
    sys.exit(main())
