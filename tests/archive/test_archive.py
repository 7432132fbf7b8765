#!/usr/bin/python3
"""The pruning archive end to end, on the embedded default model (models/default, no ../shared needed):
make_archive (playing the pruning driver) writes archives under mpiexec -n 1/2/3; they are read with h5py
and checked against weights recomputed in numpy from model.safetensors; the rank counts give identical
archives; `comp eval` on the archive equals `comp eval` on its `comp export`; a failed run leaves no
file; incomplete or inconsistent archives are refused with one error line; `comp info --json` parses.
With ../shared present the export round trip is also checked on OPT (biases, LayerNorm, learned
positions) and llama2.c (q/k rows permuted for Hugging Face RoPE).

usage: test_archive.py MAKE_ARCHIVE   (env: COMP, COMP_SRC, COMP_BUILD, COMP_SHARED)"""
import json, os, shutil, sys, tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from e2e_common import check, finish, run_cmd, st_load  # noqa: E402
from e2e_common import ev as common_ev  # noqa: E402

COMP, SRC, MAKE = os.environ["COMP"], os.environ["COMP_SRC"], sys.argv[1]
SH = os.environ.get("COMP_SHARED", "")
MODEL = f"{SRC}/models/default"
TEXT = f"{MODEL}/sample.txt"
DENSES = ["q", "k", "v", "o", "gate", "up", "down"]
HF = {"q": "self_attn.q_proj", "k": "self_attn.k_proj", "v": "self_attn.v_proj", "o": "self_attn.o_proj",
      "gate": "mlp.gate_proj", "up": "mlp.up_proj", "down": "mlp.down_proj"}


def run(cmd, np_=None):
    return run_cmd(cmd, np_)


def ev(model, np_=None, extra=(), text=TEXT):
    return common_ev(model, text, 128, np_, ["--max-windows", "8", *extra])


def one_error_line(r, needle):
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    return r.returncode != 0 and len(lines) == 1 and needle in lines[0]


M64 = (1 << 64) - 1


def mix(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def pretend_pruning(l, d, d_in):
    """make_archive's kept columns and scales for dense d of source layer l, recomputed here."""
    keys = [mix(mix(mix(l) ^ d) ^ j) for j in range(d_in)]
    idx = [j for j in range(d_in) if keys[j] % 100 < 65] or [0]
    scale = np.array([0.5 + ((keys[j] >> 40) % 1024) / 1024 for j in idx], dtype=np.float32)
    return np.array(idx, dtype=np.int32), scale


def walk(f):
    """{path: ('attrs', {...}) or ('data', array, attrs)} of a whole HDF5 file."""
    out = {"/": ("attrs", dict(f.attrs))}
    def visit(name, o):
        out[name] = ("data", o[()], dict(o.attrs)) if isinstance(o, h5py.Dataset) else ("attrs", dict(o.attrs))
    f.visititems(visit)
    return out


def same(a, b):
    if set(a) != set(b):
        return False
    for k in a:
        x, y = a[k], b[k]
        if x[0] != y[0] or (x[0] == "data" and not np.array_equal(x[1], y[1])) or repr(x[-1]) != repr(y[-1]):
            print("differs:", k)
            return False
    return True


tmp = tempfile.mkdtemp(prefix="archive_test_", dir=os.environ.get("COMP_BUILD"))
try:
    # ---- (1) write with 1, 2, 3 ranks ----------------------------------------------------------------
    A = {}
    for n in (1, 2, 3):
        A[n] = f"{tmp}/a{n}.h5"
        r = run([MAKE, MODEL, A[n]], n)
        check(r.returncode == 0 and os.path.isfile(A[n]) and not os.path.exists(A[n] + ".tmp"),
              f"make_archive under mpiexec -n {n} wrote {os.path.basename(A[n])} and no .tmp is left"
              + ("" if r.returncode == 0 else ": " + r.stderr.strip()))
        if n == 1:
            rb = [l for l in r.stdout.splitlines() if l.startswith("readback ok")]
            check(rb and "readback ok: 3 layers" in rb[0], "comp_model_load(A.h5): 3 layers, each layer_get equal to "
                  "what was written (compact denses), comp_model_n_params as stored: " + (rb[0] if rb else r.stdout))
            readback_params = int(r.stdout.split("layers, ")[1].split()[0]) if "readback ok" in r.stdout else -1

    # ---- layout and values, independently of the C code ----------------------------------------------
    W = st_load(f"{MODEL}/model.safetensors")
    cfg = json.load(open(f"{MODEL}/config.json"))
    with h5py.File(A[1], "r") as f:
        at = f.attrs
        check(at["format"] == "comp-archive" and at["format_version"] == 1 and at["complete"] == 1
              and at["comp_version"] and at["git_commit"], "root attributes: format, version 1, complete=1, provenance")
        s = f["source"].attrs
        check(json.loads(s["config_json"]) == cfg and s["arch"] == "llama" and s["n_layer_orig"] == 4
              and s["model_path"] == os.path.realpath(MODEL) and s["model_sha256"] == "0123456789abcdef",
              "/source: config.json verbatim, arch, model path, sha256, n_layer_orig")
        mo = f["model"].attrs
        check(mo["n_embd"] == 128 and mo["n_head"] == 4 and mo["n_head_kv"] == 2 and mo["n_ff"] == 320
              and mo["tied"] == 1 and mo["rope"] == "half" and mo["norm_eps"] == 1e-5, "/model hyper-parameters")
        check(np.array_equal(f["model/tok_embd"][()], W["model.embed_tokens.weight"])
              and np.array_equal(f["model/out_norm_w"][()], W["model.norm.weight"])
              and set(f["model"].keys()) == {"tok_embd", "out_norm_w"}, "/model tensors equal the source (tied: no lm_head)")
        check(f["layers"].attrs["n_layer"] == 3 and list(f["layers"].keys()) == ["000", "001", "002"]
              and [f[f"layers/{i:03d}"].attrs["orig_index"] for i in range(3)] == [0, 1, 3],
              "/layers: 3 kept layers 000..002 from source layers 0, 1, 3")
        ok_w = ok_idx = ok_norm = ok_attr = True
        for i, l in enumerate([0, 1, 3]):
            g = f[f"layers/{i:03d}"]
            ok_norm &= np.array_equal(g["attn_norm_w"][()], W[f"model.layers.{l}.input_layernorm.weight"])
            ok_norm &= np.array_equal(g["ffn_norm_w"][()], W[f"model.layers.{l}.post_attention_layernorm.weight"])
            ok_norm &= "attn_norm_b" not in g and "ffn_norm_b" not in g
            for d, name in enumerate(DENSES):
                Wd = W[f"model.layers.{l}.{HF[name]}.weight"]
                idx, scale = pretend_pruning(l, d, Wd.shape[1])
                dg = g[name]
                ok_idx &= dg["in_idx"].dtype == np.int32 and np.array_equal(dg["in_idx"][()], idx)
                ok_w &= dg["w"].dtype == np.float32 and np.array_equal(dg["w"][()], Wd[:, idx] * scale)
                ok_attr &= dg.attrs["d_in_full"] == Wd.shape[1] and dg.attrs["d_out"] == Wd.shape[0] and "b" not in dg
        check(ok_idx, "in_idx of every dense = the kept columns recomputed in numpy (int32, ascending)")
        check(ok_w, "w == W_orig[:, in_idx] * scale exactly for every dense (numpy from model.safetensors)")
        check(ok_norm and ok_attr, "norms equal the source; d_in_full/d_out attributes; no biases")
        p = f["prune"]
        check(list(p["removed_layers"][()]) == [2] and p["tau"][()] == 0.25 and p["ratios"].shape == (3, 7)
              and list(p["calib/indices"][()]) == [3, 1, 4, 1, 5] and p["empty"].shape == (0,)
              and json.loads(p.attrs["options_json"])["drop"] == 2 and p.attrs["tau"] == 0.25
              and p["calib"].attrs["n_samples"] == 5, "/prune datasets and attributes as the driver wrote them")

    # ---- (2) identical archives for 1, 2, 3 ranks ------------------------------------------------------
    with h5py.File(A[1], "r") as f1, h5py.File(A[2], "r") as f2, h5py.File(A[3], "r") as f3:
        w1 = walk(f1)
        check(same(w1, walk(f2)) and same(w1, walk(f3)), f"archives from 1, 2, 3 ranks are identical ({len(w1)} objects)")

    # ---- (3) comp eval on the archive == comp eval on its export ---------------------------------------
    e1, e2, e0 = ev(A[1]), ev(A[1], 2), ev(MODEL)
    check(e1 is not None and e2 is not None and e1["ppl"] == e2["ppl"] and e1["tokens"] == e0["tokens"],
          f"comp eval --model A.h5 runs, identical on 1 and 2 ranks (ppl {e1 and e1['ppl']:.6f})")
    check(e1 is not None and e1["tokenizer"] == f"{os.path.realpath(MODEL)}/tokenizer.json",
          "the archive's tokenizer is found beside its source model")
    X = f"{tmp}/export"
    r = run([COMP, "export", A[1], "--out", X])
    check(r.returncode == 0 and sorted(os.listdir(X)) == sorted(["config.json", "model.safetensors", "tokenizer.json",
          "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"]),
          "comp export A.h5 --out DIR writes config, weights and the tokenizer files" + ("" if r.returncode == 0 else ": " + r.stderr))
    ex = ev(X)
    rel = abs(ex["ppl"] / e1["ppl"] - 1) if ex and e1 else 1
    check(rel < 1e-6, f"ppl of the export {ex and ex['ppl']:.9f} == archive {e1 and e1['ppl']:.9f} (rel {rel:.1e} < 1e-6)")
    xc = json.load(open(f"{X}/config.json"))
    check(xc["num_hidden_layers"] == 3 and xc["torch_dtype"] == "float32"
          and {k: v for k, v in xc.items() if k not in ("num_hidden_layers", "torch_dtype")}
          == {k: v for k, v in cfg.items() if k not in ("num_hidden_layers", "torch_dtype")},
          "exported config.json: source config with num_hidden_layers 3, torch_dtype float32")
    XW = st_load(f"{X}/model.safetensors")
    ok = set(XW) == {k for k in W if not k.startswith("model.layers.3.")}
    with h5py.File(A[1], "r") as f:
        for i in range(3):
            for name in DENSES:
                full, dg = XW[f"model.layers.{i}.{HF[name]}.weight"], f[f"layers/{i:03d}/{name}"]
                idx, w = dg["in_idx"][()], dg["w"][()]
                rest = np.setdiff1d(np.arange(full.shape[1]), idx)
                ok &= full.shape == (dg.attrs["d_out"], dg.attrs["d_in_full"]) and np.array_equal(full[:, idx], w) \
                    and not full[:, rest].any()
            ok &= np.array_equal(XW[f"model.layers.{i}.input_layernorm.weight"], f[f"layers/{i:03d}/attn_norm_w"][()])
    check(ok, "exported safetensors: layers renumbered 0..2, W_full[:, in_idx] == w, zeros elsewhere (F32)")
    r = run([COMP, "export", A[1], "--out", X])
    check(one_error_line(r, "not empty (use --force"), "export refuses a non-empty DIR without --force")
    r = run([COMP, "export", A[1], "--out", X, "--force", "--quiet"])
    check(r.returncode == 0 and not [p for p in os.listdir(tmp) if ".old-" in p or ".tmp-" in p],
          "export --force replaces it and leaves no temporary directory")

    # ---- (4) failures: nothing at the path; incomplete / inconsistent archives refused -------------------
    for n, bad in ((2, 1), (3, 0)):
        F = f"{tmp}/failed{n}.h5"
        r = run([MAKE, MODEL, F, "--fail-rank", str(bad)], n)
        check(r.returncode != 0 and not os.path.exists(F) and not os.path.exists(F + ".tmp")
              and "pretend failure" in r.stderr,
              f"rank {bad} of {n} failing before close: exit {r.returncode}, no {os.path.basename(F)} nor .tmp left")
    F = f"{tmp}/skipped.h5"
    r = run([MAKE, MODEL, F, "--skip-layer", "1"], 2)
    check(r.returncode != 0 and not os.path.exists(F) and not os.path.exists(F + ".tmp")
          and "kept layer 1 was written by 0 ranks" in r.stderr,
          "a kept layer that no rank wrote: close refuses to complete, nothing left: " + r.stderr.strip())
    I = f"{tmp}/incomplete.h5"
    shutil.copy(A[1], I)
    with h5py.File(I, "r+") as f:
        f.attrs["complete"] = 0
    r = run([COMP, "eval", "--model", I, "--text", TEXT, "--seq-len", "128", "--quiet"])
    check(one_error_line(r, "incomplete archive (the run that wrote it did not finish)") and I in r.stderr,
          "comp eval refuses complete=0 with one error line: " + r.stderr.strip())
    r = run([COMP, "info", I, "--json"])
    check(r.returncode == 0 and json.loads(r.stdout.splitlines()[-1])["complete"] is False and "INCOMPLETE" in r.stdout,
          "comp info still describes an incomplete archive (complete: false)")
    for what, edit, needle in (
            ("in_idx of the wrong length", lambda f: (f.__delitem__("layers/001/q/in_idx"),
                                                     f.create_dataset("layers/001/q/in_idx", data=np.arange(5, dtype=np.int32))),
             "layers/001/q/in_idx: shape [5]"),
            ("in_idx not ascending", lambda f: f["layers/002/down/in_idx"].__setitem__(slice(0, 2), [7, 3]),
             "in_idx: entry 1 = 3 is not strictly ascending"),
            ("a missing dense", lambda f: f.__delitem__("layers/000/up"), "layers/000/up: missing dense"),
            ("w with the wrong row count", lambda f: (f.__delitem__("layers/000/k/w"),
                                                     f.create_dataset("layers/000/k/w", data=np.zeros((3, 4), np.float32))),
             "layers/000/k/w: expected shape [64, k]")):
        B = f"{tmp}/bad.h5"
        shutil.copy(A[1], B)
        with h5py.File(B, "r+") as f:
            edit(f)
        r = run([COMP, "eval", "--model", B, "--text", TEXT, "--seq-len", "128", "--max-windows", "8", "--quiet"])
        check(one_error_line(r, needle), f"an archive with {what} is refused with one error line: {r.stderr.strip()}")
    N = f"{tmp}/not_archive.h5"
    with h5py.File(N, "w") as f:
        f["x"] = 1
    r = run([COMP, "eval", "--model", N, "--text", TEXT, "--quiet"])
    check(one_error_line(r, "not a comp archive"), "an HDF5 file that is not an archive: one error line")

    # ---- (5) comp info --------------------------------------------------------------------------------
    r = run([COMP, "info", A[2], "--json"])
    j = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else {}
    sizes = {}
    with h5py.File(A[2], "r") as f:
        f.visititems(lambda n_, o: sizes.__setitem__(n_, o.size) if isinstance(o, h5py.Dataset) else None)
    stored = sum(v for k, v in sizes.items() if k.startswith(("layers/", "model/")) and not k.endswith("in_idx"))
    check(j.get("complete") is True and j.get("kept_layers") == [0, 1, 3] and j.get("removed_layers") == [2]
          and j.get("n_layer_kept") == 3 and j["params"]["stored"] == stored == readback_params
          and j["params"]["dense"] == sum(t.size for t in W.values())
          and j["layers"][2]["kept"]["down"] == sizes["layers/002/down/in_idx"]
          and "/prune/tau" in j["prune"] and j["prune"]["/prune"]["attrs"]["tau"] == 0.25,
          f"comp info --json: kept/removed layers, params stored {stored} and dense, per-dense kept columns, /prune")
    check("removed 2" in r.stdout and "203/320" in r.stdout, "comp info prints the human summary before the JSON line")
    with h5py.File(A[2], "r") as f:  # /model's attributes, read independently
        want = {k: v.decode() if isinstance(v, bytes) else v if isinstance(v, str) else
                [float(x) for x in v] if getattr(v, "ndim", 0) else float(v) for k, v in f["model"].attrs.items()}
    got = {k: [float(x) for x in v] if isinstance(v, list) else v if isinstance(v, str) else float(v)
           for k, v in j.get("model", {}).items()}
    check(got == want and "n_embd" in got and "model    " in r.stdout,
          f"comp info: /model's {len(want)} attributes (the hyper-parameters the archive is read with) in --json and "
          f"the summary{'' if got == want else f': {got} != {want}'}")

    # ---- other architectures from ../shared (optional) ---------------------------------------------------
    D = f"{SH}/data"
    if os.path.isdir(D):
        held = f"{D}/trained/tinystories_heldout.txt"
        for name, model, extra in (("opt-6L", f"{D}/trained/opt-6L", []),
                                   ("stories260K", f"{D}/llama2c-stories260K/stories260K.bin",
                                    ["--tokenizer", f"{D}/llama2c-stories260K/tok512.bin"])):
            P, Q = f"{tmp}/{name}.h5", f"{tmp}/{name}-hf"
            r = run([MAKE, model, P], 2)
            r2 = run([COMP, "export", P, "--out", Q, "--quiet"]) if r.returncode == 0 else r
            a, b = ev(P, None, extra, held), ev(Q, None, extra, held)
            rel = abs(b["ppl"] / a["ppl"] - 1) if a and b else 1
            check(r2.returncode == 0 and rel < 1e-6,
                  f"{name}: archive (2 ranks) and its export give the same ppl {a and a['ppl']:.6f} (rel {rel:.1e})")
    else:
        print(f"SKIP OPT / llama2.c export round trips: shared data folder {SH!r} not found")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
finish()
