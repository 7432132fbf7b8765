#!/usr/bin/python3
"""Architecture variants the shipped models do not cover, checked against an independent float64
numpy forward written here from Hugging Face's modeling code (LlamaForCausalLM / Qwen2ForCausalLM):
  qwen2      model_type qwen2: q/k/v biases (required), GQA 4/2, untied lm_head
  llama-mha  model_type llama: multi-head (kv heads = heads), attention_bias + mlp_bias (all seven
             dense biases), tied head
  mistral    model_type mistral: GQA 4/1, no biases, untied
Weights are random (seeded) at a scale where every tensor moves the loss; `comp eval` on the first
windows of models/default/sample.txt must give the oracle's mean NLL within 1e-5 relative, and a
copy with the q/k/v biases zeroed must not (so the biases are really applied).
Needs only the repository (tokenizer: models/default)."""
import json, os, shutil, subprocess, sys, tempfile
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import COMP, SRC, check, finish, st_save  # noqa: E402

TOK, TEXT = f"{SRC}/models/default/tokenizer.json", f"{SRC}/models/default/sample.txt"
L, W = 64, 6  # window length, windows scored
tmp = tempfile.mkdtemp(prefix="comp_arch_")


def make(name, model_type, nh, nkv, qkv_bias, all_bias, tied, seed):
    d, hd, ff, nl, V = 64, 16, 96, 2, 1024
    rng = np.random.default_rng(seed)
    lin = lambda o, i: (rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32)
    vec = lambda n, s=0.5: (s * rng.standard_normal(n)).astype(np.float32)
    t = {"model.embed_tokens.weight": rng.standard_normal((V, d)).astype(np.float32),
         "model.norm.weight": (1 + vec(d, 0.1))}
    if not tied:
        t["lm_head.weight"] = lin(V, d)
    for l in range(nl):
        p = f"model.layers.{l}."
        t[p + "input_layernorm.weight"] = 1 + vec(d, 0.1)
        t[p + "post_attention_layernorm.weight"] = 1 + vec(d, 0.1)
        shapes = {"self_attn.q_proj": (nh * hd, d), "self_attn.k_proj": (nkv * hd, d), "self_attn.v_proj": (nkv * hd, d),
                  "self_attn.o_proj": (d, nh * hd), "mlp.gate_proj": (ff, d), "mlp.up_proj": (ff, d), "mlp.down_proj": (d, ff)}
        for k, (o, i) in shapes.items():
            t[p + k + ".weight"] = lin(o, i)
            if all_bias or (qkv_bias and k[-6:] in ("q_proj", "k_proj", "v_proj")):
                t[p + k + ".bias"] = vec(o)
    cfg = {"architectures": ["Qwen2ForCausalLM" if model_type == "qwen2" else
                             "MistralForCausalLM" if model_type == "mistral" else "LlamaForCausalLM"],
           "model_type": model_type, "hidden_size": d, "intermediate_size": ff, "num_hidden_layers": nl,
           "num_attention_heads": nh, "num_key_value_heads": nkv, "head_dim": hd, "vocab_size": V,
           "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "hidden_act": "silu",
           "tie_word_embeddings": tied, "bos_token_id": 0, "eos_token_id": 0}
    if model_type == "llama":
        cfg.update(attention_bias=all_bias, mlp_bias=all_bias)
    out = f"{tmp}/{name}"; os.makedirs(out)
    json.dump(cfg, open(f"{out}/config.json", "w"), indent=1)
    st_save(f"{out}/model.safetensors", t)
    shutil.copy(TOK, out)
    return out, cfg, t


def oracle_nll(cfg, t, ids):
    """Mean NLL over the W windows of L tokens (float64, HF LlamaForCausalLM conventions)."""
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    T = {k: v.astype(np.float64) for k, v in t.items()}
    lin = lambda x, k: x @ T[k + ".weight"].T + (T[k + ".bias"] if k + ".bias" in T else 0)
    rms = lambda x, w: w * (x / np.sqrt((x * x).mean(-1, keepdims=True) + cfg["rms_norm_eps"]))
    inv = 1.0 / (cfg["rope_theta"] ** (np.arange(0, hd, 2) / hd))
    f = np.outer(np.arange(L), inv); emb = np.concatenate([f, f], -1); cos, sin = np.cos(emb), np.sin(emb)
    rot = lambda x: np.concatenate([-x[..., hd // 2:], x[..., :hd // 2]], -1)
    mask = np.triu(np.full((L, L), -np.inf), 1)
    head = T.get("lm_head.weight", T["model.embed_tokens.weight"])
    tot, cnt = 0.0, 0
    for w in range(W):
        seq = ids[w * L:(w + 1) * L]
        x = T["model.embed_tokens.weight"][seq]
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            h = rms(x, T[p + "input_layernorm.weight"])
            q = lin(h, p + "self_attn.q_proj").reshape(L, nh, hd).transpose(1, 0, 2)
            k = lin(h, p + "self_attn.k_proj").reshape(L, nkv, hd).transpose(1, 0, 2)
            v = lin(h, p + "self_attn.v_proj").reshape(L, nkv, hd).transpose(1, 0, 2)
            q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
            k, v = np.repeat(k, nh // nkv, 0), np.repeat(v, nh // nkv, 0)
            s = q @ k.transpose(0, 2, 1) / np.sqrt(hd) + mask
            pr = np.exp(s - s.max(-1, keepdims=True)); pr /= pr.sum(-1, keepdims=True)
            x = x + lin((pr @ v).transpose(1, 0, 2).reshape(L, nh * hd), p + "self_attn.o_proj")
            h = rms(x, T[p + "post_attention_layernorm.weight"])
            g = lin(h, p + "mlp.gate_proj")
            x = x + lin(g / (1 + np.exp(-g)) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
        z = rms(x, T["model.norm.weight"]) @ head.T
        z = z - z.max(-1, keepdims=True); lp = z - np.log(np.exp(z).sum(-1, keepdims=True))
        tot -= lp[np.arange(L - 1), seq[1:]].sum(); cnt += L - 1
    return tot / cnt


def comp_nll(model):
    r = subprocess.run([COMP, "eval", "--model", model, "--text", TEXT, "--seq-len", str(L), "--max-windows", str(W),
                        "--json", "--quiet"], capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr.strip()); return None
    return float(np.log(json.loads(r.stdout.splitlines()[-1])["ppl"]))


r = subprocess.run([COMP, "tokenize", "--tokenizer", TOK, "--text", TEXT], capture_output=True, text=True)
ids = np.array(json.loads(r.stdout))
variants = [("qwen2", "qwen2", 4, 2, True, False, False, 1),
            ("llama-mha", "llama", 4, 4, False, True, True, 2),
            ("mistral", "mistral", 4, 1, False, False, False, 3)]
for name, mt, nh, nkv, qkv_b, all_b, tied, seed in variants:
    path, cfg, t = make(name, mt, nh, nkv, qkv_b, all_b, tied, seed)
    ref, got = oracle_nll(cfg, t, ids), comp_nll(path)
    rel = abs(got - ref) / ref if got is not None else 1
    check(rel < 1e-5, f"{name}: mean NLL {got} vs numpy oracle {ref:.8f} (rel {rel:.1e} < 1e-5)")
    if qkv_b or all_b:  # the same model with the q/k/v biases zeroed must give a different loss
        z = dict(t)
        for k in z:
            if k.endswith(("q_proj.bias", "k_proj.bias", "v_proj.bias")):
                z[k] = np.zeros_like(z[k])
        st_save(f"{path}/model.safetensors", z)
        nz = comp_nll(path)
        check(nz is not None and abs(nz - ref) / ref > 1e-3 and abs(nz - oracle_nll(cfg, z, ids)) / ref < 1e-5,
              f"{name}: zeroed q/k/v biases change the loss ({ref:.6f} -> {nz}), as in the oracle")
shutil.rmtree(tmp, ignore_errors=True)
finish()
