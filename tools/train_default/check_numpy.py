"""Independent check of the golden outputs: a LLaMA forward in numpy float64 that reads
model.safetensors directly (own parser, own math; shares no code with model.py/export.py).

usage: python3 check_numpy.py MODEL_DIR GOLDEN_DIR [--tol 1e-4]
Compares logits and hidden states with logits.npy / hidden_states.npy and the greedy ids.
"""
import json
import struct
import sys

import numpy as np

model_dir, golden_dir = sys.argv[1], sys.argv[2]
tol = float(sys.argv[sys.argv.index("--tol") + 1]) if "--tol" in sys.argv else 1e-4
cfg = json.load(open(f"{model_dir}/config.json"))
golden = json.load(open(f"{golden_dir}/golden.json", encoding="utf-8"))

raw = open(f"{model_dir}/model.safetensors", "rb").read()
hlen = struct.unpack("<Q", raw[:8])[0]
assert hlen % 8 == 0
hdr = json.loads(raw[8:8 + hlen].decode("utf-8"))
assert hdr.pop("__metadata__") == {"format": "pt"}
names = list(hdr)
assert names == sorted(names)
W, end = {}, 0
for n in names:
    e = hdr[n]
    s, t = e["data_offsets"]
    assert s == end and e["dtype"] == "F16"
    end = t
    W[n] = np.frombuffer(raw, dtype="<f2", count=(t - s) // 2, offset=8 + hlen + s).reshape(e["shape"]).astype(np.float64)
assert 8 + hlen + end == len(raw) and "lm_head.weight" not in W

D, L = cfg["hidden_size"], cfg["num_hidden_layers"]
H, KV, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
eps, theta = cfg["rms_norm_eps"], cfg["rope_theta"]


def rms(x, w):
    return w * x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)


def rope(x, T):  # x: (heads, T, hd), HF rotate_half layout
    inv = theta ** (-np.arange(0, hd, 2) / hd)
    ang = np.arange(T)[:, None] * inv[None]
    c, s = np.cos(ang), np.sin(ang)
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], -1)


def forward(ids):
    T = len(ids)
    x = W["model.embed_tokens.weight"][ids]
    hs = [x]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for i in range(L):
        p = f"model.layers.{i}."
        h = rms(x, W[p + "input_layernorm.weight"])
        q = (h @ W[p + "self_attn.q_proj.weight"].T).reshape(T, H, hd).transpose(1, 0, 2)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).reshape(T, KV, hd).transpose(1, 0, 2)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).reshape(T, KV, hd).transpose(1, 0, 2)
        q, k = rope(q, T), rope(k, T)
        out = np.zeros((H, T, hd))
        for hh in range(H):
            kv = hh // (H // KV)
            a = q[hh] @ k[kv].T / np.sqrt(hd) + mask
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            out[hh] = a @ v[kv]
        x = x + out.transpose(1, 0, 2).reshape(T, H * hd) @ W[p + "self_attn.o_proj.weight"].T
        h = rms(x, W[p + "post_attention_layernorm.weight"])
        g = h @ W[p + "mlp.gate_proj.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * (h @ W[p + "mlp.up_proj.weight"].T)) @ W[p + "mlp.down_proj.weight"].T
        hs.append(x)
    logits = rms(x, W["model.norm.weight"]) @ W["model.embed_tokens.weight"].T
    return logits, np.stack(hs)


ids = golden["prompt_ids"]
logits, hs = forward(ids)
gl = np.load(f"{golden_dir}/logits.npy")
gh = np.load(f"{golden_dir}/hidden_states.npy")
assert gl.shape == logits.shape and gh.shape == hs.shape, (gl.shape, gh.shape)
dl = np.abs(gl - logits).max()
dh = np.abs(gh - hs).max()
print(f"max |dlogit| {dl:.3e}, max |dhidden| {dh:.3e} (logit range {logits.min():.2f}..{logits.max():.2f})")
seq = list(ids)
for _ in range(len(golden["greedy_ids"])):
    seq.append(int(forward(seq)[0][-1].argmax()))
same = seq[len(ids):] == golden["greedy_ids"]
print("greedy ids match:", same)
ok = dl < tol and dh < tol and same
print("OK" if ok else "FAILED")
sys.exit(0 if ok else 1)
