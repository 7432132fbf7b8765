#!/usr/bin/python3
"""`comp prune` checked number by number against an independent float64 numpy re-computation.

The embedded default model (4 layers, GQA 4/2) is pruned on one rank at 0.3 with one layer removed,
twice: importance cond with layers 0 and -1 protected, and importance obs with only the last layer
protected (two layers share the budget by Eq. 10), so stage A, stage B and stage C all run. From the
calibration offsets recorded in the archive and the token ids of `comp tokenize`, this script
rebuilds the calibration windows and runs its own forward pass (HF LlamaForCausalLM conventions,
float64, written from the spec, not from the C code), then checks:
- stage A: Eq. 3 importances (1 − mean per-token cosine of layer input and output) of every
  iteration, and that the removed layer is the argmin;
- stage B: the per-layer targets equal Eq. 10 (tests/prune_math/oracle.py's water-filling form)
  on the final importances with budget p·N_tot − n·N_layer;
- stage C, for every dense of every pruned layer (X′ = X): the kept columns are the top of the
  neuron-importance order (cond, Eq. 9; and obs in a second run), and the stored column scales
  equal a fresh ridge solve of Eq. 5 on the kept set;
- --inputs pruned: layer 1's kept sets and scales from X' = layer 1 fed by the pruned layer 0 (numpy
  forward of the archive's layer 0), c from the cross term X'ᵀX; and with only layer 1 pruned the
  archive equals the X' = X one (a property of the definition, not special-cased in the code);
- --inputs within-layer: dense j's X' from layer 1 with the archive's pruned denses before j.
"""
import json, os, sys, tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "prune_math"))
from e2e_common import SRC, check, finish, last_json, run, st_load  # noqa: E402
from oracle import eq10, mask_solve, neuron_scores  # noqa: E402

M = f"{SRC}/models/default"
CAL = f"{M}/sample.txt"
tmp = tempfile.mkdtemp(prefix="comp_prune_oracle_")
cfg = json.load(open(f"{M}/config.json"))
W = {k: v.astype(np.float64) for k, v in st_load(f"{M}/model.safetensors").items()}
D, nh, nkv, hd, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"], \
    cfg["num_hidden_layers"]
DENSES = [("q", "self_attn.q_proj"), ("k", "self_attn.k_proj"), ("v", "self_attn.v_proj"), ("o", "self_attn.o_proj"),
          ("gate", "mlp.gate_proj"), ("up", "mlp.up_proj"), ("down", "mlp.down_proj")]


def rms(x, w):
    return w * (x / np.sqrt((x * x).mean(-1, keepdims=True) + cfg["rms_norm_eps"]))


def layer(x, l, taps=None, Wl=None):
    """One decoder layer on x (S, T, D); taps[name] receives each dense's input (S*T, d_in);
    Wl: weights to use instead of the model's (by tensor name)."""
    S, T, _ = x.shape
    p = f"model.layers.{l}."
    Wl = {**W, **(Wl or {})}
    lin = lambda h, k, name: (taps.__setitem__(name, h.reshape(S * T, -1)) if taps is not None else None) \
        or h @ Wl[p + k + ".weight"].T
    inv = 1.0 / (cfg["rope_theta"] ** (np.arange(0, hd, 2) / hd))
    f = np.outer(np.arange(T), inv)
    cos, sin = np.cos(np.concatenate([f, f], -1)), np.sin(np.concatenate([f, f], -1))
    rot = lambda z: np.concatenate([-z[..., hd // 2:], z[..., :hd // 2]], -1)
    h = rms(x, W[p + "input_layernorm.weight"])
    q = lin(h, "self_attn.q_proj", "q").reshape(S, T, nh, hd).transpose(0, 2, 1, 3)
    k = lin(h, "self_attn.k_proj", "k").reshape(S, T, nkv, hd).transpose(0, 2, 1, 3)
    v = lin(h, "self_attn.v_proj", "v").reshape(S, T, nkv, hd).transpose(0, 2, 1, 3)
    q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
    k, v = np.repeat(k, nh // nkv, 1), np.repeat(v, nh // nkv, 1)
    s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd) + np.triu(np.full((T, T), -np.inf), 1)
    pr = np.exp(s - s.max(-1, keepdims=True))
    pr /= pr.sum(-1, keepdims=True)
    x = x + lin((pr @ v).transpose(0, 2, 1, 3).reshape(S, T, nh * hd), "self_attn.o_proj", "o")
    h = rms(x, W[p + "post_attention_layernorm.weight"])
    g = lin(h, "mlp.gate_proj", "gate")
    return x + lin(g / (1 + np.exp(-g)) * lin(h, "mlp.up_proj", "up"), "mlp.down_proj", "down")


def eq3(x, y):
    """1 − mean over tokens of cos(x_t, y_t) (zero-norm rows count as cos = 1)."""
    x, y = x.reshape(-1, D), y.reshape(-1, D)
    nx, ny = np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1)
    cos = np.where((nx > 0) & (ny > 0), (x * y).sum(1) / np.where(nx * ny > 0, nx * ny, 1), 1.0)
    return 1 - cos.mean()


def prune(out, protect, *extra):
    r = run(["prune", "--model", M, "--calib", CAL, "--ratio", "0.3", "--remove-layers", "1", "--protect",
             ",".join(map(str, protect)), "--out", out, "--json", "--quiet", *extra])
    return last_json(r)


def dense_check(Wd, X, Xp, idx, w, metric):
    """One pruned dense against numpy: (kept set == top of `metric`'s order on X', max deviation of the
    stored column scales from a fresh Eq. 5 ridge solve with G = (WᵀW)∘(X'ᵀX'), c = ((WᵀW)∘(X'ᵀX))1,
    relative to max|m|). Ties or fp32 accumulation may swap neighbours at the cut: a differing set
    passes only where the scores at the boundary agree to 1e-6."""
    d, k = Wd.shape[1], len(idx)
    score = neuron_scores(Wd, Xp, len(tok))[metric]
    top = np.sort(np.lexsort((np.arange(d), -score))[:k])
    same = np.array_equal(top, idx)
    if not same:
        cut = np.sort(score)[::-1][k - 1]
        same = bool(np.all(np.abs(score[np.setxor1d(top, idx)] - cut) <= 1e-6 * abs(cut)))
    WtW = Wd.T @ Wd
    m_ref = mask_solve(WtW * (Xp.T @ Xp), (WtW * (Xp.T @ X)).sum(1), idx)
    m_got = (w * Wd[:, idx]).sum(0) / (Wd[:, idx] ** 2).sum(0)
    return same, np.abs(m_got - m_ref).max() / max(np.abs(m_ref).max(), 1.0)


def check_layer(l, g, metric, X_of, Xp_of):
    """Every pruned dense of archive group g (original layer l); X_of/Xp_of(dense name, g) give X, X'."""
    sets_ok, worst, n = True, 0.0, 0
    for dn, key in DENSES:
        Wd = W[f"model.layers.{l}.{key}.weight"]
        idx, w = g[dn]["in_idx"][()], g[dn]["w"][()].astype(np.float64)
        Xp = Xp_of(dn, g)  # called for every dense, in forward order
        if len(idx) == Wd.shape[1]:
            continue
        same, dev = dense_check(Wd, X_of(dn), Xp, idx, w, metric)
        sets_ok, worst, n = sets_ok and same, max(worst, dev), n + 1
    return sets_ok, worst, n


def report(what, metric, res):
    sets_ok, worst, n = res
    check(n > 0 and sets_ok, f"{what}: kept columns of {n} pruned denses == top of numpy's {metric} order on X'")
    check(n > 0 and worst < 2e-3, f"{what}: column scales == fresh Eq. 5 ridge solve (max dev {worst:.1e} of max|m|)")


runs = {"cond": (f"{tmp}/cond.h5", [0, L - 1]), "obs": (f"{tmp}/obs.h5", [L - 1])}
ok = prune(runs["cond"][0], runs["cond"][1]) is not None and \
    prune(runs["obs"][0], runs["obs"][1], "--importance", "obs") is not None
check(ok, "comp prune (cond and obs) on the default model")
if not ok:
    finish()

# ---- calibration windows from the recorded offsets ---------------------------------------------------
r = run(["tokenize", "--tokenizer", f"{M}/tokenizer.json", "--text", CAL])
ids = json.loads(r.stdout.strip().splitlines()[0])
bos, body = ids[0], ids[1:]
with h5py.File(runs["cond"][0], "r") as f:
    p = f["prune"]
    starts, T = p["calib_start"][()], int(json.loads(p.attrs["options_json"])["calib_len"])
    imp_iter, order = p["importance_iterations"][()], list(p["removal_order"][()])
    removed_layers = int(p.attrs["n_removed_layers"])
    Ntot, Nl = int(p.attrs["n_params"]), int(p.attrs["n_layer_params"])
tok = np.array([[bos] + body[s:s + T - 1] for s in starts])  # (S, T)
x0 = W["model.embed_tokens.weight"][tok]  # (S, T, D)

# ---- stage A: Eq. 3 per iteration, removal = argmin ---------------------------------------------------
kept, worst, argmin_ok = list(range(L)), 0.0, True
for it in range(removed_layers + 1):
    x, imp = x0, np.full(L, np.nan)
    for l in kept:
        y = layer(x, l)
        imp[l] = eq3(x, y)
        x = y
    got = imp_iter[it]
    worst = max(worst, np.nanmax(np.abs(got - imp) / np.abs(imp)))
    check(np.array_equal(np.isnan(got), np.isnan(imp)), f"stage A iteration {it}: the same layers scored")
    if it < removed_layers:
        argmin_ok &= int(np.nanargmin(imp)) == order[it]
        kept.remove(order[it])
check(worst < 1e-4, f"stage A: Eq. 3 importances of every iteration == numpy (max rel dev {worst:.1e})")
check(argmin_ok, f"stage A: removed layer(s) {order} are the argmin of Eq. 3")

inputs, x = {}, x0
for l in kept:
    inputs[l] = x
    x = layer(x, l)

for metric, (path, protect) in runs.items():
    # ---- stage B: Eq. 10 on the final importances ----------------------------------------------------
    with h5py.File(path, "r") as f:
        target, final = f["prune/layer_target_ratio"][()], f["prune/importance_iterations"][()][-1]
    inq = np.array([l in kept and l not in protect for l in range(L)])
    ref = eq10(np.where(inq, final, 1.0), inq, 0.3 * Ntot - removed_layers * Nl, Nl, 0.9)
    check(np.allclose(target, ref, rtol=1e-9, atol=1e-12),
          f"stage B (protect {protect}): layer targets {np.round(target, 4)} == Eq. 10 oracle")

    # ---- stage C: kept sets and mask scales of every dense of every pruned layer (X' = X) -------------
    tot = [True, 0.0, 0]
    with h5py.File(path, "r") as f:
        for name in sorted(f["layers"]):
            g = f["layers"][name]
            l = int(g.attrs["orig_index"])
            if inq[l]:
                taps = {}
                layer(inputs[l], l, taps)
                ok_, dev, n = check_layer(l, g, metric, taps.get, lambda dn, _g, t=taps: t[dn])
                tot = [tot[0] and ok_, max(tot[1], dev), tot[2] + n]
    report(f"stage C ({metric})", metric, tot)

# ---- --inputs pruned with two pruned layers: layer 1 is calibrated on pruned layer 0's output ---------
res = prune(f"{tmp}/chain.h5", [L - 1], "--importance", "obs", "--inputs", "pruned")
check(res is not None, "comp prune --inputs pruned (layers 0 and 1 pruned)")
if res is not None:
    with h5py.File(f"{tmp}/chain.h5", "r") as f:
        lay = {int(f["layers"][n].attrs["orig_index"]): f["layers"][n] for n in f["layers"]}
        full = {}  # layer 0 as pruned: zero columns, kept columns scaled
        for dn, key in DENSES:
            Wd = W[f"model.layers.0.{key}.weight"]
            Z = np.zeros_like(Wd)
            Z[:, lay[0][dn]["in_idx"][()]] = lay[0][dn]["w"][()]
            full[f"model.layers.0.{key}.weight"] = Z
        xp = layer(x0, 0, Wl=full)  # the pruned model's input to layer 1
        tx, txp = {}, {}
        layer(inputs[1], 1, tx)
        layer(xp, 1, txp)
        report("--inputs pruned, layer 1 (X' = layer 1 fed by pruned layer 0)", "obs",
               check_layer(1, lay[1], "obs", tx.get, lambda dn, _g: txp[dn]))

# ---- --inputs within-layer: dense j's X' comes from layer 1 with denses before j already pruned -----------
res = prune(f"{tmp}/within.h5", [0, L - 1], "--importance", "obs", "--inputs", "within-layer")
check(res is not None, "comp prune --inputs within-layer")
if res is not None:
    with h5py.File(f"{tmp}/within.h5", "r") as f:
        g = [f["layers"][n] for n in f["layers"] if int(f["layers"][n].attrs["orig_index"]) == 1][0]
        tx, part = {}, {}
        layer(inputs[1], 1, tx)

        def partial_xp(dn, g):
            """X' of dense dn: layer 1 with the denses before it as the archive has them."""
            txp = {}
            layer(inputs[1], 1, txp, Wl=part)
            key = dict(DENSES)[dn]
            Z = np.zeros_like(W[f"model.layers.1.{key}.weight"])
            Z[:, g[dn]["in_idx"][()]] = g[dn]["w"][()]
            part[f"model.layers.1.{key}.weight"] = Z
            return txp[dn]

        report("--inputs within-layer, layer 1", "obs", check_layer(1, g, "obs", tx.get, partial_xp))
        check(abs(res["ratio_achieved"] - 0.3) <= 0.01, f"--inputs within-layer lands: achieved {res['ratio_achieved']:.4f}")

# ---- --inputs pruned: the first pruned layer's input is unpruned, so nothing changes -------------------
res = prune(f"{tmp}/pruned.h5", runs["cond"][1], "--inputs", "pruned")
same = res is not None
if same:
    with h5py.File(runs["cond"][0], "r") as a, h5py.File(f"{tmp}/pruned.h5", "r") as b:
        for name in a["layers"]:  # noqa: B007
            for dn, _ in DENSES:
                same &= np.array_equal(a["layers"][name][dn]["w"][()], b["layers"][name][dn]["w"][()])
check(same, "--inputs pruned == original here (layer 1, the only pruned one, follows unpruned layer 0)")
finish()
