#!/usr/bin/python3
"""ChatGLM2/3 (model_type chatglm, THUDM's ChatGLMForConditionalGeneration) end to end, on tiny
random-weight checkpoints in the layout THUDM ships (config.json keys of chatglm3-6b, fused
query_key_value and dense_h_to_4h), against an independent float64 numpy forward written here from
modeling_chatglm.py:
  SelfAttention   query_key_value rows split q (H*hd) | k (G*hd) | v (G*hd), G = multi_query_group_num,
                  bias on qkv only (add_qkv_bias), key/value group of head h = h // (H/G)
  RotaryEmbedding(kv_channels // 2): only the first r = hd/2 dims of a head rotate, as interleaved
                  pairs (x[..., :r] viewed as (r/2, 2)), theta_i = 1/(10000*rope_ratio)^(2i/r)
  MLP             swiglu: chunk(dense_h_to_4h(x), 2) -> silu(first half) * second half
  GLMBlock        pre-RMSNorm (layernorm_epsilon), residual, final_layernorm, untied output_layer
Checks: `comp eval` mean NLL == oracle within 1e-5 relative (kv_channels 16 with H*hd == D, and
kv_channels 24 with rope_ratio 50 where H*hd != D); the comparison can fail: oracles with the
rotate_half pairing or a whole-head rotary disagree with comp, and copies with the gate/up halves
or the k/v row blocks swapped change comp's loss exactly as they change the oracle's;
`comp prune` (comp, default options; --importance obs) gives identical archives on 1 and 2 ranks,
whose compact denses are column-scaled row blocks of the fused source tensors; `comp eval` of the
archive == the oracle on `comp export`'s HF folder (fused tensors again, modeling code copied);
bad chatglm configs give one error line; `comp prune --dry-run` from chatglm3-6b's config.json
alone counts its parameters as the HF module shapes do. Needs only the repository."""
import json, os, shutil, subprocess, sys, tempfile
import numpy as np
import h5py
import sentencepiece as spm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import COMP, SRC, check, finish, last_json, run, st_load, st_save  # noqa: E402

TOK, TEXT = f"{SRC}/models/default/tokenizer.json", f"{SRC}/models/default/sample.txt"
L, W = 64, 6  # window length, windows scored
tmp = tempfile.mkdtemp(prefix="comp_chatglm_")
CODE = ["configuration_chatglm.py", "modeling_chatglm.py", "tokenization_chatglm.py"]


def config(nl, d, nh, groups, kvc, ff, V, seq, **extra):
    """config.json with the keys (and key order) of THUDM/chatglm3-6b's."""
    cfg = {"_name_or_path": "THUDM/chatglm3-6b", "model_type": "chatglm", "architectures": ["ChatGLMModel"],
           "auto_map": {"AutoConfig": "configuration_chatglm.ChatGLMConfig",
                        "AutoModel": "modeling_chatglm.ChatGLMForConditionalGeneration",
                        "AutoModelForCausalLM": "modeling_chatglm.ChatGLMForConditionalGeneration",
                        "AutoModelForSeq2SeqLM": "modeling_chatglm.ChatGLMForConditionalGeneration",
                        "AutoModelForSequenceClassification": "modeling_chatglm.ChatGLMForSequenceClassification"},
           "add_bias_linear": False, "add_qkv_bias": True, "apply_query_key_layer_scaling": True,
           "apply_residual_connection_post_layernorm": False, "attention_dropout": 0.0,
           "attention_softmax_in_fp32": True, "bias_dropout_fusion": True, "ffn_hidden_size": ff,
           "fp32_residual_connection": False, "hidden_dropout": 0.0, "hidden_size": d, "kv_channels": kvc,
           "layernorm_epsilon": 1e-05, "multi_query_attention": True, "multi_query_group_num": groups,
           "num_attention_heads": nh, "num_layers": nl, "original_rope": True, "padded_vocab_size": V,
           "post_layer_norm": True, "rmsnorm": True, "seq_length": seq, "use_cache": True, "torch_dtype": "float32",
           "transformers_version": "4.30.2", "tie_word_embeddings": False, "eos_token_id": 2, "pad_token_id": 0}
    cfg.update(extra)
    return cfg


def make(name, cfg, seed):
    d, nh, G, hd, ff, V = (cfg[k] for k in ("hidden_size", "num_attention_heads", "multi_query_group_num",
                                            "kv_channels", "ffn_hidden_size", "padded_vocab_size"))
    rng = np.random.default_rng(seed)
    lin = lambda o, i: (rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32)
    vec = lambda n, s=0.5: (s * rng.standard_normal(n)).astype(np.float32)
    r = hd // 2
    t = {"transformer.embedding.word_embeddings.weight": rng.standard_normal((V, d)).astype(np.float32),
         "transformer.encoder.final_layernorm.weight": 1 + vec(d, 0.1),
         "transformer.output_layer.weight": lin(V, d),
         # the buffer THUDM's checkpoints carry; modeling_chatglm.py's forward never reads it
         "transformer.rotary_pos_emb.inv_freq": (1.0 / 10000 ** (np.arange(0, r, 2) / r)).astype(np.float32)}
    for l in range(cfg["num_layers"]):
        p = f"transformer.encoder.layers.{l}."
        t[p + "input_layernorm.weight"] = 1 + vec(d, 0.1)
        t[p + "post_attention_layernorm.weight"] = 1 + vec(d, 0.1)
        t[p + "self_attention.query_key_value.weight"] = lin((nh + 2 * G) * hd, d)
        t[p + "self_attention.query_key_value.bias"] = vec((nh + 2 * G) * hd)
        t[p + "self_attention.dense.weight"] = lin(d, nh * hd)
        t[p + "mlp.dense_h_to_4h.weight"] = lin(2 * ff, d)
        t[p + "mlp.dense_4h_to_h.weight"] = lin(d, ff)
    out = f"{tmp}/{name}"; os.makedirs(out)
    json.dump(cfg, open(f"{out}/config.json", "w"), indent=2)
    st_save(f"{out}/model.safetensors", t)
    shutil.copy(TOK, out)
    json.dump({"auto_map": {"AutoTokenizer": ["tokenization_chatglm.ChatGLMTokenizer", None]}},
              open(f"{out}/tokenizer_config.json", "w"))
    for f in CODE:  # stand-ins for THUDM's remote code, which export must carry along
        open(f"{out}/{f}", "w").write(f"# stand-in for THUDM's {f}\n")
    return out, t


def hidden(cfg, T, seq, pairing="interleaved", rot_frac=0.5):
    """modeling_chatglm.py's forward of one sequence in float64: the residual stream before each layer and
    after the last, and the logits (the pairing and rotated share can be changed to show that the
    comparisons see them)."""
    d, nh, G, hd, F = (cfg[k] for k in ("hidden_size", "num_attention_heads", "multi_query_group_num",
                                        "kv_channels", "ffn_hidden_size"))
    eps, base, n = cfg["layernorm_epsilon"], 10000.0 * cfg.get("rope_ratio", 1), len(seq)
    rms = lambda x, w: w * (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps))
    r = int(hd * rot_frac) // 2 * 2
    theta = 1.0 / (base ** (np.arange(0, r, 2) / r))
    ang = np.outer(np.arange(n), theta)[:, None, :]  # (n, 1, r/2)
    cos, sin = np.cos(ang), np.sin(ang)

    def rope(x):  # (n, heads, hd)
        xr, xp = x[..., :r], x[..., r:]
        if pairing == "interleaved":  # apply_rotary_pos_emb: x[..., :r] as (r/2, 2) pairs
            a, b = xr[..., 0::2], xr[..., 1::2]
            out = np.stack([a * cos - b * sin, b * cos + a * sin], -1).reshape(xr.shape)
        else:  # rotate_half pairs (i, i + r/2), as LLaMA
            a, b = xr[..., :r // 2], xr[..., r // 2:]
            out = np.concatenate([a * cos - b * sin, b * cos + a * sin], -1)
        return np.concatenate([out, xp], -1)

    mask = np.triu(np.full((n, n), -np.inf), 1)
    xs = [T["transformer.embedding.word_embeddings.weight"][seq]]
    for l in range(cfg["num_layers"]):
        p, x = f"transformer.encoder.layers.{l}.", xs[-1]
        h = rms(x, T[p + "input_layernorm.weight"])
        qkv = h @ T[p + "self_attention.query_key_value.weight"].T + T[p + "self_attention.query_key_value.bias"]
        q, k, v = np.split(qkv, [nh * hd, (nh + G) * hd], -1)
        q, k, v = rope(q.reshape(n, nh, hd)), rope(k.reshape(n, G, hd)), v.reshape(n, G, hd)
        k, v = np.repeat(k, nh // G, 1), np.repeat(v, nh // G, 1)  # expand: head h reads group h // (H/G)
        q, k, v = q.transpose(1, 0, 2), k.transpose(1, 0, 2), v.transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd) + mask
        pr = np.exp(s - s.max(-1, keepdims=True)); pr /= pr.sum(-1, keepdims=True)
        ctx = (pr @ v).transpose(1, 0, 2).reshape(n, nh * hd)
        x = x + ctx @ T[p + "self_attention.dense.weight"].T
        h = rms(x, T[p + "post_attention_layernorm.weight"])
        g, u = np.split(h @ T[p + "mlp.dense_h_to_4h.weight"].T, 2, -1)  # torch.chunk(x, 2, -1)
        xs.append(x + (g / (1 + np.exp(-g)) * u) @ T[p + "mlp.dense_4h_to_h.weight"].T)
    return xs, rms(xs[-1], T["transformer.encoder.final_layernorm.weight"]) @ T["transformer.output_layer.weight"].T


def oracle_nll(cfg, t, ids, **kw):
    """Mean NLL over the W windows of L tokens, float64."""
    T = {k: v.astype(np.float64) for k, v in t.items()}
    tot, cnt = 0.0, 0
    for w in range(W):
        seq = ids[w * L:(w + 1) * L]
        z = hidden(cfg, T, seq, **kw)[1]
        z = z - z.max(-1, keepdims=True); lp = z - np.log(np.exp(z).sum(-1, keepdims=True))
        tot -= lp[np.arange(L - 1), seq[1:]].sum(); cnt += L - 1
    return tot / cnt


def comp_nll(model, np_=None):
    res = last_json(run(["eval", "--model", model, "--text", TEXT, "--seq-len", str(L), "--max-windows", str(W),
                         "--json", "--quiet"], np_))
    return float(np.log(res["ppl"])) if res else None


def rel(a, b):
    return abs(a - b) / abs(b) if a is not None else 1.0


r = subprocess.run([COMP, "tokenize", "--tokenizer", TOK, "--text", TEXT], capture_output=True, text=True)
ids = np.array(json.loads(r.stdout))

# ---- the forward pass against the oracle ------------------------------------------------------------
cfg = config(4, 64, 4, 2, 16, 96, 1024, 256)
glm, t = make("glm", cfg, 1)
ref, got = oracle_nll(cfg, t, ids), comp_nll(glm)
check(rel(got, ref) < 1e-5, f"chatglm (4 layers, D 64, 4 heads, 2 kv groups, kv_channels 16): mean NLL {got} vs "
      f"numpy oracle {ref:.8f} (rel {rel(got, ref):.1e} < 1e-5)")
for what, kw in [("rotate_half pairing", dict(pairing="half")), ("whole-head rotary", dict(rot_frac=1.0))]:
    other = oracle_nll(cfg, t, ids, **kw)
    check(rel(got, other) > 1e-3, f"an oracle with {what} disagrees with comp ({other:.6f} vs {got})")
cfg32 = config(2, 64, 4, 2, 24, 80, 1024, 256, rope_ratio=50)  # H*hd = 96 != D; base 10000*50
glm32, t32 = make("glm-32k", cfg32, 2)
ref32, got32 = oracle_nll(cfg32, t32, ids), comp_nll(glm32)
check(rel(got32, ref32) < 1e-5, f"chatglm with kv_channels 24 (H*hd 96 != D 64) and rope_ratio 50: mean NLL {got32} "
      f"vs oracle {ref32:.8f} (rel {rel(got32, ref32):.1e})")
cfg1 = dict(cfg32); cfg1.pop("rope_ratio")
check(rel(got32, oracle_nll(cfg1, t32, ids)) > 1e-4, "rope_ratio is applied (the oracle without it disagrees)")


def swapped(name, fn):
    """A copy of glm with fn applied to each layer's (prefix, tensors); returns (comp NLL, oracle NLL)."""
    z = {k: v.copy() for k, v in t.items()}
    for l in range(cfg["num_layers"]):
        fn(f"transformer.encoder.layers.{l}.", z)
    path = f"{tmp}/{name}"; shutil.copytree(glm, path)
    st_save(f"{path}/model.safetensors", z)
    return comp_nll(path), oracle_nll(cfg, z, ids)


def swap_halves(p, z):
    w = z[p + "mlp.dense_h_to_4h.weight"]; F = w.shape[0] // 2
    z[p + "mlp.dense_h_to_4h.weight"] = np.concatenate([w[F:], w[:F]])


def swap_kv(p, z):
    q, kv = 4 * 16, 2 * 16
    for k in ("weight", "bias"):
        a = z[p + "self_attention.query_key_value." + k]
        z[p + "self_attention.query_key_value." + k] = np.concatenate([a[:q], a[q + kv:], a[q:q + kv]])


for what, fn in [("gate/up halves of dense_h_to_4h swapped", swap_halves), ("k and v row blocks swapped", swap_kv)]:
    c, o = swapped(what.split()[0], fn)
    check(c is not None and rel(c, ref) > 1e-3 and rel(c, o) < 1e-5,
          f"{what}: comp's loss moves ({ref:.6f} -> {c}) to the oracle's ({o:.6f})")

# ---- pruning, on 1 and 2 ranks ------------------------------------------------------------------------
SKIP = ("prune/layer_seconds", "prune/phase_seconds", "prune/peak_rss_bytes", "prune/layer_rank")


def datasets(path):
    d = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda k, o: d.__setitem__(k, o[()]) if isinstance(o, h5py.Dataset) else None)
    return d


def prune(name, extra, np_):
    out = f"{tmp}/{name}-{np_}.h5"
    res = last_json(run(["prune", "--model", glm, "--calib", TEXT, "--out", out, "--json",
                         "--quiet", *extra], np_))
    return out if res else None


def blocks(p):
    """Source row blocks of each comp dense of layer prefix p: (weight, bias or None)."""
    qkv, b = t[p + "self_attention.query_key_value.weight"], t[p + "self_attention.query_key_value.bias"]
    h4 = t[p + "mlp.dense_h_to_4h.weight"]
    H, G, F = 4 * 16, 2 * 16, 96
    return {"q": (qkv[:H], b[:H]), "k": (qkv[H:H + G], b[H:H + G]), "v": (qkv[H + G:], b[H + G:]),
            "o": (t[p + "self_attention.dense.weight"], None), "gate": (h4[:F], None), "up": (h4[F:], None),
            "down": (t[p + "mlp.dense_4h_to_h.weight"], None)}


archives = {}
# defaults on 4 layers: no layer removed, layers 0, 1, 3 protected, so one layer carries the ratio
for name, extra in [("default", ["--ratio", "0.08"]),
                    ("obs", ["--ratio", "0.15", "--importance", "obs", "--protect", "0", "--remove-layers", "1"])]:
    a1, a2 = prune(name, extra, None), prune(name, extra, 2)
    ok = a1 and a2
    if ok:
        d1, d2 = datasets(a1), datasets(a2)
        ok = sorted(d1) == sorted(d2) and all(np.array_equal(d1[k], d2[k], equal_nan=d1[k].dtype.kind == "f")
                                              for k in d1 if k not in SKIP)
    check(ok, f"comp prune ({' '.join(extra)}) on 1 and 2 ranks: identical archives")
    archives[name] = a2
    if not a2:
        continue
    worst, bias_ok, pruned = 0.0, True, 0
    with h5py.File(a2, "r") as f:
        for g in f["layers"].values():
            for dn, (Wsrc, bsrc) in blocks(f"transformer.encoder.layers.{int(g.attrs['orig_index'])}.").items():
                w, idx = g[dn]["w"][()], g[dn]["in_idx"][()]
                ref_w = Wsrc[:, idx].astype(np.float64)
                scale = (w * ref_w).sum(0) / np.maximum((ref_w * ref_w).sum(0), 1e-30)
                worst = max(worst, np.abs(w - ref_w * scale).max() / np.abs(w).max())
                bias_ok &= (bsrc is None) == ("b" not in g[dn]) and (bsrc is None or np.array_equal(g[dn]["b"][()], bsrc))
                pruned += len(idx) < Wsrc.shape[1]
    check(worst < 1e-5 and bias_ok and pruned > 0,
          f"{name}: every dense is its row block of query_key_value / dense_h_to_4h with one scale per kept column "
          f"(max rel dev {worst:.1e}; {pruned} denses pruned), q/k/v biases are the fused bias's blocks")

# ---- the archive evaluates, and exports to a HF chatglm folder the oracle reads ------------------------
a = archives.get("obs")
if a:
    ea = comp_nll(a, 2)
    exp = f"{tmp}/exported"
    r = run(["export", a, "--out", exp])
    check(r.returncode == 0 and ea is not None and np.isfinite(ea), f"comp eval of the archive ({ea}) and comp export")
    if r.returncode == 0:
        et, ecfg = st_load(f"{exp}/model.safetensors"), json.load(open(f"{exp}/config.json"))
        n = ecfg["num_layers"]
        want = {"transformer.embedding.word_embeddings.weight", "transformer.encoder.final_layernorm.weight",
                "transformer.output_layer.weight"} | {
            f"transformer.encoder.layers.{l}.{k}" for l in range(n) for k in (
                "input_layernorm.weight", "post_attention_layernorm.weight", "self_attention.query_key_value.weight",
                "self_attention.query_key_value.bias", "self_attention.dense.weight", "mlp.dense_h_to_4h.weight",
                "mlp.dense_4h_to_h.weight")}
        check(set(et) == want and n == 3, f"export: {len(et)} tensors with THUDM's names (fused qkv and dense_h_to_4h), "
              f"num_layers {n}")
        check(all(os.path.isfile(f"{exp}/{f}") for f in CODE + ["tokenizer.json"]),
              "export carries the modeling code auto_map names and the tokenizer")
        oe = oracle_nll(ecfg, et, ids)
        check(rel(ea, oe) < 1e-5, f"numpy oracle on the exported folder {oe:.8f} == comp eval of the archive {ea} "
              f"(rel {rel(ea, oe):.1e})")

# ---- THUDM's SentencePiece tokenizer: [gMASK] sop before the text, in eval and in the calibration windows ---
# ChatGLM2/3 ship tokenizer.model and tokenization_chatglm.py, whose SPTokenizer numbers [MASK] [gMASK] [sMASK]
# sop eop ... from sp.vocab_size() on and whose get_prefix_tokens() puts [gMASK] sop before every input. A BPE
# model with the identity normalizer (ChatGLM's kind) is trained here; the oracle ids are that rule on top of
# the sentencepiece library's encode.
spd = f"{tmp}/glm-spm"
shutil.copytree(glm, spd)
os.remove(f"{spd}/tokenizer.json")
spm.SentencePieceTrainer.train(input=TEXT, model_prefix=f"{spd}/tokenizer", vocab_size=700, model_type="bpe",
                               normalization_rule_name="identity", byte_fallback=True, minloglevel=2)
json.dump({"name_or_path": "THUDM/chatglm3-6b", "remove_space": False, "do_lower_case": False,
           "tokenizer_class": "ChatGLMTokenizer",
           "auto_map": {"AutoTokenizer": ["tokenization_chatglm.ChatGLMTokenizer", None]}},
          open(f"{spd}/tokenizer_config.json", "w"), indent=2)
sp = spm.SentencePieceProcessor(model_file=f"{spd}/tokenizer.model")
nsp, body = sp.vocab_size(), sp.encode(open(TEXT, encoding="utf-8", newline="").read())  # the bytes as stored
pre = [nsp + 1, nsp + 3]  # [gMASK], sop
sids = np.array(pre + body)
r = subprocess.run([COMP, "tokenize", "--tokenizer", f"{spd}/tokenizer.model", "--text", TEXT], capture_output=True,
                   text=True)
got_ids = json.loads(r.stdout) if r.returncode == 0 else None
r = subprocess.run([COMP, "tokenize", "--tokenizer", f"{spd}/tokenizer.model", "--text", TEXT, "--no-special"],
                   capture_output=True, text=True)
check(got_ids == sids.tolist() and r.returncode == 0 and json.loads(r.stdout) == body,
      f"ChatGLMTokenizer's tokenizer.model: comp tokenize == [gMASK] sop ({pre}) + sentencepiece's {len(body)} ids; "
      f"--no-special == sentencepiece's alone ({got_ids[:4] if got_ids else r.stderr.strip()[:160]} ...)")
sref, sgot = oracle_nll(cfg, t, sids), comp_nll(spd)
check(rel(sgot, sref) < 1e-5 and rel(sgot, oracle_nll(cfg, t, np.array(body))) > 1e-4,
      f"comp eval with tokenizer.model: mean NLL {sgot} == oracle on [gMASK] sop + text {sref:.8f} "
      f"(rel {rel(sgot, sref):.1e}), not the oracle on the text alone")
sa = f"{tmp}/glm-spm.h5"
res = last_json(run(["prune", "--model", spd, "--calib", TEXT, "--out", sa, "--ratio", "0.08", "--json", "--quiet"]))
if check(res is not None, "comp prune with tokenizer.model"):
    with h5py.File(sa, "r") as f:
        p = f["prune"]
        starts, imp = p["calib_start"][()], p["importance_iterations"][()][0]
        opts = json.loads(p.attrs["options_json"])
    T64, Tc = {k: v.astype(np.float64) for k, v in t.items()}, int(opts["calib_len"])

    def eq3(wins):
        """Eq. 3 of every layer: 1 - mean over all tokens of all windows of cos(layer input, layer output)."""
        xs = [np.concatenate(z) for z in zip(*(hidden(cfg, T64, np.array(w))[0] for w in wins))]
        cos = lambda a, b: (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        return np.array([1 - cos(xs[l], xs[l + 1]).mean() for l in range(cfg["num_layers"])])

    want = eq3([pre + body[s:s + Tc - 2] for s in starts])
    plain = eq3([body[s:s + Tc] for s in starts])
    dev, dev0 = np.abs(imp - want).max() / np.abs(want).max(), np.abs(imp - plain).max() / np.abs(plain).max()
    check(opts.get("calib_prefix") == pre and dev < 1e-4 and dev0 > 1e-3,
          f"comp prune: every calibration window starts with [gMASK] sop (options calib_prefix "
          f"{opts.get('calib_prefix')}); Eq. 3 importances == the oracle's on those windows (max rel dev {dev:.1e}), "
          f"not on text-only windows ({dev0:.1e})")

# ---- bad configs: one error line, exit 1 ---------------------------------------------------------------
def bad(what, cfg_edit, expect):
    path = f"{tmp}/bad-{len(os.listdir(tmp))}"
    shutil.copytree(glm, path)
    c = json.load(open(f"{path}/config.json")); cfg_edit(c)
    json.dump(c, open(f"{path}/config.json", "w"))
    for args in (["eval", "--model", path, "--text", TEXT, "--seq-len", "64", "--quiet"],
                 ["prune", "--dry-run", "--model", path, "--ratio", "0.2", "--calib", TEXT]):
        r = run(args)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        check(r.returncode == 1 and len(lines) == 1 and "error" in lines[0] and expect in lines[0],
              f"bad config ({what}, comp {args[0]}): {' | '.join(lines)[:240]}")


bad("multi_query_attention false", lambda c: c.update(multi_query_attention=False), "multi_query_attention = false")
bad("add_qkv_bias absent (default false)", lambda c: c.pop("add_qkv_bias"), "add_qkv_bias = false (the default)")
bad("add_bias_linear true", lambda c: c.update(add_bias_linear=True), "add_bias_linear = true")
bad("LayerNorm instead of RMSNorm", lambda c: c.update(rmsnorm=False), "rmsnorm = false")
bad("post-LN residual", lambda c: c.update(apply_residual_connection_post_layernorm=True), "apply_residual")
bad("p-tuning prefix", lambda c: c.update(pre_seq_len=128), '"pre_seq_len" is set')
bad("rmsnorm not a boolean", lambda c: c.update(rmsnorm="yes"), "must be true or false")
bad("kv_channels 18: 9 rotated dims", lambda c: c.update(kv_channels=18), "must be even")
bad("missing num_layers", lambda c: c.pop("num_layers"), 'missing field "num_layers"')
with open(f"{glm}/config.json") as f:
    c = json.load(f)
c["multi_query_group_num"] = 1
path = f"{tmp}/bad-groups"; shutil.copytree(glm, path); json.dump(c, open(f"{path}/config.json", "w"))
r = run(["eval", "--model", path, "--text", TEXT, "--seq-len", "64", "--quiet"])
lines = [l for l in r.stderr.splitlines() if l.strip()]
check(r.returncode == 1 and len(lines) == 1 and "query_key_value.weight has shape [128,64] but the config implies "
      "[96,64]" in lines[0], f"kv groups that disagree with query_key_value: {' | '.join(lines)[:240]}")

# ---- dry run from chatglm3-6b's config.json alone -------------------------------------------------------
big = f"{tmp}/chatglm3-6b-config"; os.makedirs(big)
c6 = config(28, 4096, 32, 2, 128, 13696, 65024, 32768, torch_dtype="float16")
json.dump(c6, open(f"{big}/config.json", "w"))
p = last_json(run(["prune", "--dry-run", "--model", big, "--ratio", "0.2", "--calib", TEXT, "--json"], 2))
D, V, H, G, hd, F, nl = 4096, 65024, 32, 2, 128, 13696, 28
qkv = (H + 2 * G) * hd
layer = 2 * D + qkv * D + qkv + D * H * hd + 2 * F * D + D * F  # nn.Linear shapes of GLMBlock
check(p is not None and p["n_params"] == nl * layer + 2 * V * D + D,
      f"dry run of chatglm3-6b from config.json alone: {p and p['n_params']} parameters == {nl * layer + 2 * V * D + D}")

shutil.rmtree(tmp, ignore_errors=True)
finish()
