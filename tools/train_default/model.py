"""A LLaMA decoder in plain PyTorch that follows Hugging Face's LlamaForCausalLM
(modeling_llama.py, eager attention) at inference, plus a safetensors writer/reader.

  x = embed_tokens(ids); per layer:
    h = x + o_proj(attn(input_layernorm(x)))                 no biases
    x = h + down_proj(silu(gate_proj(n)) * up_proj(n)),  n = post_attention_layernorm(h)
  RMSNorm: float32 math, weight * (x * rsqrt(mean(x^2) + eps))
  RoPE, HF rotate_half layout: inv_freq = 1/theta^(arange(0,hd,2)/hd), emb = cat(f, f),
    q' = q*cos + rotate_half(q)*sin,  rotate_half(x) = cat(-x[hd/2:], x[:hd/2])
  GQA: kv head j serves q heads j*n_rep .. j*n_rep+n_rep-1 (HF repeat_kv)
  scores = q k^T / sqrt(hd) + causal mask, softmax in float32; final norm;
  lm_head tied to embed_tokens (tie_word_embeddings true: lm_head.weight is not stored).
Dropout (both residual branches only) is training-only.
"""
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 0,
    "eos_token_id": 0,
    "head_dim": 32,
    "hidden_act": "silu",
    "hidden_size": 128,
    "initializer_range": 0.02,
    "intermediate_size": 320,
    "max_position_embeddings": 512,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 4,
    "num_hidden_layers": 4,
    "num_key_value_heads": 2,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": None,
    "rope_theta": 10000.0,
    "tie_word_embeddings": True,
    "torch_dtype": "float16",
    "transformers_version": "4.40.0",
    "use_cache": True,
    "vocab_size": 1024,
}


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        h = x.to(torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dt)


def rope_tables(T, hd, theta, start=0):
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    pos = torch.arange(start, start + T, dtype=torch.int64).float()
    f = torch.outer(pos, inv_freq)
    emb = torch.cat((f, f), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


_MASKS = {}


def causal_mask(T, S, past):
    key = (T, S, past)
    if key not in _MASKS:
        ok = torch.ones(T, S, dtype=torch.bool).tril(past)
        _MASKS[key] = torch.zeros(T, S).masked_fill(~ok, float("-inf"))
    return _MASKS[key]


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.nh, self.nkv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.hd = c["head_dim"]
        self.q_proj = nn.Linear(d, self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, d, bias=False)

    def forward(self, x, cos, sin, cache=None):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        past = 0
        if cache is not None:
            if "k" in cache:
                past = cache["k"].shape[2]
                k = torch.cat((cache["k"], k), 2)
                v = torch.cat((cache["v"], v), 2)
            cache["k"], cache["v"] = k, v
        rep = self.nh // self.nkv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        s = s + causal_mask(T, k.shape[2], past)
        p = torch.softmax(s.float(), dim=-1).to(q.dtype)
        o = (p @ v).transpose(1, 2).reshape(B, T, self.nh * self.hd)
        return self.o_proj(o)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, f = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(d, f, bias=False)
        self.up_proj = nn.Linear(d, f, bias=False)
        self.down_proj = nn.Linear(f, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, cos, sin, drop=0.0, cache=None):
        a = self.self_attn(self.input_layernorm(x), cos, sin, cache)
        if drop > 0 and self.training:
            a = F.dropout(a, drop, True)
        h = x + a
        m = self.mlp(self.post_attention_layernorm(h))
        if drop > 0 and self.training:
            m = F.dropout(m, drop, True)
        return h + m


class Inner(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class LlamaForCausalLM(nn.Module):
    def __init__(self, c, dropout=0.0):
        super().__init__()
        self.c = c
        self.model = Inner(c)
        self.dropout = dropout

    def forward(self, ids, return_hidden=False, caches=None, start=0):
        c = self.c
        x = self.model.embed_tokens(ids)
        cos, sin = rope_tables(ids.shape[1], c["head_dim"], c["rope_theta"], start)
        hs = [x]
        for i, layer in enumerate(self.model.layers):
            x = layer(x, cos, sin, self.dropout, None if caches is None else caches[i])
            hs.append(x)
        logits = self.model.norm(x) @ self.model.embed_tokens.weight.t()
        return (logits, hs) if return_hidden else logits

    def init_weights(self, gen):
        L = self.c["num_hidden_layers"]
        with torch.no_grad():
            for n, p in self.named_parameters():
                if n.endswith("layernorm.weight") or n == "model.norm.weight":
                    p.fill_(1.0)
                elif n.endswith("o_proj.weight") or n.endswith("down_proj.weight"):
                    p.normal_(0.0, 0.02 / math.sqrt(2 * L), generator=gen)
                else:
                    p.normal_(0.0, 0.02, generator=gen)


# ----------------------------------------------------------------------------- safetensors
_DT = {torch.float32: ("F32", 4), torch.float16: ("F16", 2)}
_NP = {"F32": "<f4", "F16": "<f2"}


def save_safetensors(tensors, path):
    """tensors: dict name -> torch tensor (F32 or F16). Names sorted, data contiguous,
    header JSON (with __metadata__ {"format":"pt"}) padded with spaces to a multiple of 8."""
    names = sorted(tensors)
    hdr = {"__metadata__": {"format": "pt"}}
    off = 0
    blobs = []
    for n in names:
        t = tensors[n].contiguous()
        dt, sz = _DT[t.dtype]
        b = t.numpy().astype(_NP[dt]).tobytes()
        assert len(b) == t.numel() * sz
        hdr[n] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    """-> dict name -> torch tensor in the stored dtype."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        arr = np.frombuffer(raw[base + a:base + b], dtype=_NP[v["dtype"]]).reshape(v["shape"])
        out[k] = torch.from_numpy(arr.copy())
    return out


def load_model(model_dir):
    """HF folder -> fp32 model (F16 weights upcast)."""
    c = json.load(open(f"{model_dir}/config.json"))
    m = LlamaForCausalLM(c)
    sd = {k: v.float() for k, v in load_safetensors(f"{model_dir}/model.safetensors").items()}
    m.load_state_dict(sd, strict=True)
    m.eval()
    return m


@torch.no_grad()
def windowed_nll(model, ids, T, max_windows=None, batch=16):
    """Non-overlapping T-token windows (remainder dropped), each scored alone.
    -> (mean NLL, n predictions, n windows)."""
    ids = torch.as_tensor(np.asarray(ids), dtype=torch.int64)
    nw = ids.numel() // T
    if max_windows is not None:
        nw = min(nw, max_windows)
    w = ids[: nw * T].view(nw, T)
    tot, n = 0.0, 0
    for i in range(0, nw, batch):
        x = w[i:i + batch]
        lg = model(x)
        tot += F.cross_entropy(lg[:, :-1].reshape(-1, lg.shape[-1]).double(),
                               x[:, 1:].reshape(-1), reduction="sum").item()
        n += x[:, 1:].numel()
    return tot / n, n, nw
