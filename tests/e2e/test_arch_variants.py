#!/usr/bin/python3
"""Architecture variants the shipped models do not cover, checked against an independent float64
numpy forward written here from Hugging Face's modeling code (LlamaForCausalLM / Qwen2ForCausalLM):
  qwen2      model_type qwen2: q/k/v biases (required), GQA 4/2, untied lm_head
  llama-mha  model_type llama: multi-head (kv heads = heads), attention_bias + mlp_bias (all seven
             dense biases), tied head
  mistral    model_type mistral: GQA 4/1, no biases, untied; no sliding_window key (MistralConfig's
             default 4096, more than the windows scored); mistral-swa: sliding_window 16, so that
             each query of a 64-token window attends to its last 16 keys only
  phi3       model_type phi3: q | k | v fused in qkv_proj, gate | up in gate_up_proj,
             partial_rotary_factor 0.5 (RoPE on 8 of 16 dims), sliding_window 24; pruned and exported
             (the fused tensors written back); phi3 longrope: the same model with Phi-3-mini-128k's
             rope_scaling kind, an original context of 32 so that the 64-token windows take the long
             factors (an original of 64: the short ones), cos and sin times the attention factor
  qwen3      model_type qwen3: q_norm / k_norm (RMSNorm of each q and k head, before RoPE), head_dim
             24 (heads x head_dim = 96, not hidden_size 64), GQA 4/2, tied head
  rope-llama3  model_type llama with Llama 3.1's rope_scaling (rope_type llama3), factors chosen so
             that head_dim 16 has pairs in all three wavelength bands (kept, smoothed, divided)
  rope-linear  model_type llama with an older-style rope_scaling {"type": "linear", "factor": 4.0}
  gemma      model_type gemma: GemmaRMSNorm (x / rms(x) times 1 + w), the embedding times sqrt(hidden),
             a gelu_pytorch_tanh gate, MQA, tied; pruned and exported
  gemma2     5 layers of Gemma's block with norms after the attention and the MLP,
             query_pre_attn_scalar 20 and small soft-caps (2 on the scores, 8 on the logits) so that they
             bind, the even layers attending to the last 16 keys only (Gemma2Config's default pattern;
             layer_types windowing the odd ones instead); layer 3 nearly the identity, so that pruning
             removes it and the kept layers' kinds no longer alternate from the first: the archive's
             per-layer windows, the exported layer_types, and an archive of the older kind (local_window)
  gemma3_text  7 layers of Gemma 2's layer with q/k norms (times 1 + w), the default pattern (layer 5
             global, the others attending to 16 keys), the local layers rotating with base 100 and no
             scaling, the global one with base 1000 and linear scaling 8; transformers 5's rope_parameters
             per layer kind; layer 2 nearly the identity, removed, so the exported layer_types matter
  phi        model_type phi (Phi-1.5, Phi-2; oracle_phi_nll from modeling_phi.py): 4 layers, attention and
             MLP in parallel on one LayerNorm, biases everywhere, RoPE on half of each head, gelu_new, a
             head with a bias; pruned with a layer removed and exported
  bloom      model_type bloom (oracle_bloom_nll from modeling_bloom.py): 4 layers of 6 heads (ALiBi's
             slopes for a head count that is not a power of two), the embedding LayerNorm'd, q, k, v
             head by head, a tied head; saved with BloomModel's names (no "transformer."), read also
             with the prefixed names and n_embed; pruned with a layer removed and exported
  internlm2  model_type internlm2 (trust_remote_code): a 3-layer LLaMA (GQA 4/2) under InternLM's names with
             q, k, v fused in wqkv kv head by kv head, against the LLaMA oracle on the unfused tensors;
             stacked q | k | v gives another loss; pruned, exported with the remote code files
  gpt_neox   model_type gpt_neox (Pythia; oracle_neox_nll from modeling_gpt_neox.py): 4 layers,
             query_key_value holding q, k, v head by head, attention and MLP in parallel on two
             LayerNorms, RoPE on a quarter of each head, exact GELU; pruned with a layer removed and
             exported (the fused tensors written back head by head)
  falcon     model_type falcon (oracle_falcon_nll from modeling_falcon.py), its three decoders: Falcon-7B's
             (one LayerNorm, one kv head, a tied head, a config without max_position_embeddings and
             ffn_hidden_size, and as older configs name the keys), Falcon-40B's (new_decoder_architecture:
             GQA 4/2 kv head by kv head in query_key_value, ln_attn and ln_mlp, biases, an untied head) and
             Falcon2-11B's (num_ln_in_parallel_attn 1); 4 layers each; the 7B and 40B kinds pruned with a
             layer removed and exported
  gptj       model_type gptj (GPT-J; oracle_gptj_nll from modeling_gptj.py): 4 layers, attention and MLP in
             parallel on one LayerNorm, RoPE on the first rotary_dim (8 of 16) dims of each head in pairs
             (2i, 2i + 1), gelu_new, a head with a bias; pruned with a layer removed and exported
  stablelm   model_type stablelm (oracle_stablelm_nll from modeling_stablelm.py): 4 layers of LLaMA's block
             with LayerNorms, q/k/v biases, GQA 4/2, RoPE on a quarter of each head; sequential (pruned with
             a layer removed and exported) and with use_parallel_residual (no post_attention_layernorm)
  gpt2       model_type gpt2 (oracle_gpt2_nll from modeling_gpt2.py): 4 layers, learned positions, every dense a
             Conv1D (weight stored (in, out); q | k | v side by side in c_attn), gelu_new, a tied head; saved
             as GPT2Model saves (no "transformer."), read also with the prefix; pruned with a layer removed and
             exported (the Conv1D weights written back (in, out))
  cohere     model_type cohere (oracle_cohere_nll from modeling_cohere.py): 4 layers, attention and SiLU-gated MLP
             in parallel on one LayerNorm without a bias, RoPE on whole heads in pairs (2i, 2i + 1), GQA 4/2, a
             tied head, the logits times logit_scale; pruned with a layer removed and exported
  olmo       model_type olmo (oracle_olmo_nll from modeling_olmo.py): 4 layers of LLaMA's block with LayerNorms that
             have neither weight nor bias (no norm tensors), GQA 4/2, untied; pruned with a layer removed and exported
  olmo2      model_type olmo2 (oracle_olmo2_nll from modeling_olmo2.py): 4 layers, no norm before the attention or
             the MLP, RMSNorms of their outputs, q and k RMSNormed over all heads at once, GQA 4/2, untied; pruned
             with a layer removed and exported
  olmo3      model_type olmo3 (oracle_olmo2_nll extended from modeling_olmo3.py of transformers 4.57): OLMo 2's
             block, layers 0-2 attending to the last 16 keys with plain RoPE, layer 3 to all with YaRN; layer 1
             nearly the identity, so that pruning removes it and keeps the global layer; pruned and exported
  arcee      model_type arcee (the LLaMA oracle with ArceeMLP from modeling_arcee.py): 4 layers of LLaMA's attention
             with the plain MLP up_proj -> relu2 -> down_proj, biases everywhere, GQA 4/2; pruned with a layer
             removed and exported
  seed_oss   model_type seed_oss (the LLaMA oracle; modeling_seed_oss.py): 2 layers, q/k/v biases, GQA 4/2; pruned
             and exported; a config without head_dim (128 by default) refused
  ernie4_5, helium  model_types ernie4_5 and helium (the LLaMA oracle with GLM's rotate_half: RoPE in pairs
             (2i, 2i + 1)): 2 layers, GQA 4/2; ERNIE with all seven biases and a tied head, Helium with q/k/v and MLP
             biases; both pruned and exported
  hunyuan_v1_dense  model_type hunyuan_v1_dense (the LLaMA oracle with modeling_hunyuan_v1_dense.py's q/k norms
             after RoPE and DynamicNTKAlphaRotary's raised base): 2 layers, GQA 4/2, tied; pruned and exported
  exaone4    model_type exaone4 (oracle_olmo2_nll extended from modeling_exaone4.py): OLMo 2's layer with per-head
             q/k norms, layers 0-2 windowed to 16 keys with RoPE, layer 3 global without positions; layer 1 nearly
             the identity, so that pruning removes it; pruned and exported
  starcoder2 model_type starcoder2 (oracle_starcoder2_nll from modeling_starcoder2.py): 4 layers of LLaMA's attention
             with LayerNorms, biases everywhere, a tanh-GELU MLP, GQA 4/2, a tied head, sliding_window 24 (null: all
             keys); pruned with a layer removed and exported
  gpt_bigcode  model_type gpt_bigcode (oracle_bigcode_nll from modeling_gpt_bigcode.py): GPT-2's block with nn.Linear
             denses, 4 layers; multi_query (StarCoder's: c_attn = q | k | v of one kv head) and not (q, k, v head
             by head); both pruned with a layer removed and exported
  glm, glm4  model_type glm (GLM-4-9B) and glm4 (GLM-4-0414; oracle_glm_nll from modeling_glm.py and modeling_glm4.py):
             4 layers, q/k/v biases, gate | up fused, RoPE on half of each head in pairs (2i, 2i + 1), GQA 4/2,
             head_dim 16; glm4 with norms after each block; both pruned with a layer removed and exported
  nemotron   model_type nemotron (oracle_nemotron_nll from modeling_nemotron.py): 4 layers, LayerNorm1P (times 1 + w,
             plus the bias), a relu2 MLP, RoPE on half of each head, GQA 4/2, attention and MLP biases; pruned with
             a layer removed and exported
  ministral  model_type ministral (Ministral-8B): Mistral's block, 4 layers, layer_types windowing layers 1 and 3 to 16
             keys (without the list: every layer); pruned with a layer removed and exported (layer_types of the kept
             layers)
  cohere2    model_type cohere2 (oracle_cohere_nll from modeling_cohere2.py): Cohere's block, 4 layers of which 0 and 2
             attend to the last 16 keys with RoPE and 1 and 3 (sliding_window_pattern 2) to all keys without;
             pruned with a layer removed and exported (the kept layers' layer_types)
  smollm3    model_type smollm3 (SmolLM3): LLaMA's block, 4 layers, no_rope_layers leaving layers 1 and 3 without RoPE
             (NoPE), the same by no_rope_layer_interval 2, and the default interval 4; pruned with a layer removed and
             exported (no_rope_layers of the kept layers)
  granite    model_type granite (oracle_granite_nll from modeling_granite.py): 4 layers of LLaMA's block, GQA 4/2, a
             tied head, with the embedding, residual and attention multipliers and the logit divisor; pruned with a
             layer removed and exported
Weights are random (seeded) at a scale where every tensor moves the loss; `comp eval` on the first
windows of models/default/sample.txt must give the oracle's mean NLL within 1e-5 relative, and a
copy with the q/k/v biases zeroed (a copy without rope_scaling, with q_norm / k_norm set to ones,
with sliding_window null) must not (so the biases, the scaling, the q/k norms, the window are
really applied). The qwen3 model is pruned and exported: q_norm / k_norm are carried through the
archive unchanged, and its eval equals the export's; so is mistral-swa, its window carried by the
archive and the exported config.json. The llama3 model is also pruned, its archive evaluated,
exported (rope_scaling back in config.json) and read without its rope_scaling attributes (plain
RoPE, as archives from before them); bad configs get one error line and exit 1.
Needs only the repository (tokenizer: models/default)."""
import json, math, os, shutil, subprocess, sys, tempfile
import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import COMP, SRC, check, finish, last_json, run, st_load, st_save  # noqa: E402

TOK, TEXT = f"{SRC}/models/default/tokenizer.json", f"{SRC}/models/default/sample.txt"
L, W = 64, 6  # window length, windows scored
tmp = tempfile.mkdtemp(prefix="comp_arch_")


def make(name, model_type, nh, nkv, qkv_bias, all_bias, tied, seed, rope_scaling=None, qk_scale=1.0, hd=16,
         extra=None, nl=2):
    d, ff, V = 64, 96, 1024
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
        shapes = {"self_attn.q_proj": (nh * hd, d), "self_attn.k_proj": (nkv * hd, d),
                  "self_attn.v_proj": (nkv * hd, d), "self_attn.o_proj": (d, nh * hd), "mlp.gate_proj": (ff, d),
                  "mlp.up_proj": (ff, d), "mlp.down_proj": (d, ff)}
        for k, (o, i) in shapes.items():
            t[p + k + ".weight"] = lin(o, i) * (qk_scale if k[-6:] in ("q_proj", "k_proj") else 1)
            if all_bias or (qkv_bias and k[-6:] in ("q_proj", "k_proj", "v_proj")):
                t[p + k + ".bias"] = vec(o)
        if model_type == "qwen3":  # weights far from 1: the norms move the loss
            t[p + "self_attn.q_norm.weight"], t[p + "self_attn.k_norm.weight"] = 1 + vec(hd), 1 + vec(hd)
    arch = {"qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM", "mistral": "MistralForCausalLM"}
    cfg = {"architectures": [arch.get(model_type, "LlamaForCausalLM")],
           "model_type": model_type, "hidden_size": d, "intermediate_size": ff, "num_hidden_layers": nl,
           "num_attention_heads": nh, "num_key_value_heads": nkv, "head_dim": hd, "vocab_size": V,
           "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "hidden_act": "silu",
           "tie_word_embeddings": tied, "bos_token_id": 0, "eos_token_id": 0}
    if model_type == "llama":
        cfg.update(attention_bias=all_bias, mlp_bias=all_bias)
    if rope_scaling:
        cfg["rope_scaling"] = rope_scaling
    cfg.update(extra or {})
    return write_model(name, cfg, t)


def write_model(name, cfg, t):
    """tmp/name: config.json, model.safetensors and the tokenizer; (that directory, cfg, t)."""
    out = f"{tmp}/{name}"; os.makedirs(out)
    json.dump(cfg, open(f"{out}/config.json", "w"), indent=1)
    st_save(f"{out}/model.safetensors", t)
    shutil.copy(TOK, out)
    return out, cfg, t


def inv_freq(cfg, hd):
    """RoPE's inverse frequencies (float64) as Hugging Face's modeling_rope_utils.py computes them:
    _compute_default_rope_parameters, then for a rope_scaling _compute_linear_scaling_rope_parameters
    or _compute_llama3_parameters; with llama3 also each pair's band ("high": kept, "medium":
    smoothed, "low": divided by factor), else None."""
    inv = 1.0 / (cfg["rope_theta"] ** (np.arange(0, hd, 2) / hd))
    rs = cfg.get("rope_scaling")
    if not rs:
        return inv, None
    kind, factor = rs.get("rope_type", rs.get("type")), rs["factor"]
    if kind == "linear":
        return inv / factor, None
    if kind == "dynamic":  # _compute_dynamic_ntk_parameters at seq_len <= max_position_embeddings: the plain base
        return inv, None
    old, lo, hi = rs["original_max_position_embeddings"], rs["low_freq_factor"], rs["high_freq_factor"]
    wavelen = 2 * np.pi / inv
    llama = np.where(wavelen > old / lo, inv / factor, inv)
    smooth = (old / wavelen - lo) / (hi - lo)
    medium = ~(wavelen < old / hi) & ~(wavelen > old / lo)
    band = np.where(medium, "medium", np.where(wavelen > old / lo, "low", "high"))
    return np.where(medium, (1 - smooth) * llama / factor + smooth * llama, llama), band


def longrope(cfg, r):
    """Phi-3's longrope for windows of L tokens (transformers 5's _compute_longrope_parameters and
    longrope_frequency_update, float64): the long factors when L exceeds the original context (the
    scaling object's, else the config's top-level original_max_position_embeddings), else the short
    ones; and the attention factor cos and sin are multiplied by. None when cfg has no longrope."""
    rs = cfg.get("rope_scaling") or cfg.get("rope_parameters") or {}
    if rs.get("rope_type", rs.get("type")) != "longrope":
        return None
    orig = rs.get("original_max_position_embeddings") or cfg["original_max_position_embeddings"]
    factor = rs.get("factor") or cfg["max_position_embeddings"] / orig
    att = rs.get("attention_factor") or (1.0 if factor <= 1 else np.sqrt(1 + np.log(factor) / np.log(orig)))
    ext = np.array(rs["long_factor"] if L > orig else rs["short_factor"])
    base = cfg.get("rope_theta") or rs["rope_theta"]
    return 1.0 / (ext * base ** (np.arange(0, r, 2) / r)), att


def yarn(cfg, r):
    """YaRN (transformers' _compute_yarn_parameters since the fix of its issue 38224, float64) over r rotated
    dims: each pair's inverse frequency, blended from the default one (extrapolation) and the default divided by
    factor (interpolation) by a linear ramp between the pairs that turn beta_fast and beta_slow times in the
    original context (rounded out to whole pairs unless truncate is false), and the attention factor cos and sin
    are multiplied by (given, or mscale / mscale_all_dim's ratio, or 0.1 ln(factor) + 1); None when cfg's
    scaling is not YaRN (Phi3Config reads "yarn" as longrope)."""
    rs = cfg.get("rope_scaling") or cfg.get("rope_parameters") or {}
    if rs.get("rope_type", rs.get("type")) != "yarn" or cfg["model_type"] == "phi3":
        return None
    base, factor = cfg.get("rope_theta") or rs["rope_theta"], rs["factor"]
    orig = rs.get("original_max_position_embeddings") or cfg["max_position_embeddings"]
    mscale = lambda m: 1.0 if factor <= 1 else 0.1 * m * np.log(factor) + 1
    att = rs.get("attention_factor")
    if att is None:
        att = mscale(rs["mscale"]) / mscale(rs["mscale_all_dim"]) if rs.get("mscale") and rs.get("mscale_all_dim") \
            else mscale(1)
    pair_of = lambda turns: r * np.log(orig / (turns * 2 * np.pi)) / (2 * np.log(base))
    lo, hi = pair_of(rs.get("beta_fast") or 32), pair_of(rs.get("beta_slow") or 1)
    if rs.get("truncate", True):
        lo, hi = np.floor(lo), np.ceil(hi)
    lo, hi = max(lo, 0), min(hi, r - 1)
    extra = 1 - np.clip((np.arange(r // 2) - lo) / ((hi + 0.001 if lo == hi else hi) - lo), 0, 1)
    pos = base ** (np.arange(0, r, 2) / r)
    return (1 / (factor * pos)) * (1 - extra) + (1 / pos) * extra, att


def windowed(cfg):
    """Which layers attend to the last sliding_window keys only: layer_types' sliding_attention ones;
    without the list, Gemma2Config's default (the even layers), Qwen2Config's (with use_sliding_window, the layers from
    max_window_layers on; without, none), else every layer (Mistral, Phi-3)."""
    qwen = cfg["model_type"] in ("qwen2", "qwen3")
    if not cfg.get("sliding_window") or (qwen and not cfg.get("use_sliding_window")):
        return [False] * cfg["num_hidden_layers"]
    if cfg.get("layer_types"):
        return [k == "sliding_attention" for k in cfg["layer_types"]]
    if qwen:
        return [i >= cfg.get("max_window_layers", 28) for i in range(cfg["num_hidden_layers"])]
    p = {"gemma2": 2, "gemma3_text": cfg.get("sliding_window_pattern", 6),  # Gemma3TextConfig's, Cohere2Config's
         "cohere2": cfg.get("sliding_window_pattern", 4), "olmo3": 4,
         "exaone4": cfg.get("sliding_window_pattern", 4)}.get(cfg["model_type"])
    return [p is None or (i + 1) % p != 0 for i in range(cfg["num_hidden_layers"])]


def ln_tools(cfg, t, r, base, eps="layer_norm_eps"):
    """What the LayerNorm families' oracles share, in float64: the tensors, a linear layer with its bias,
    a LayerNorm with its bias (epsilon: cfg[eps]), rotate_half RoPE with base on the first r dims of
    each head (r = 0: none), the causal mask."""
    T = {k: v.astype(np.float64) for k, v in t.items()}
    lin = lambda x, k: x @ T[k + ".weight"].T + T[k + ".bias"]
    ln = lambda x, k: ((x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + cfg[eps])
                       * T[k + ".weight"] + T[k + ".bias"])
    if r == 0:
        return T, lin, ln, lambda x: x, np.triu(np.full((L, L), -np.inf), 1)
    f = np.outer(np.arange(L), 1.0 / (base ** (np.arange(0, r, 2) / r)))
    cos, sin = np.cos(np.concatenate([f, f], -1)), np.sin(np.concatenate([f, f], -1))
    rot = lambda x: np.concatenate([-x[..., r // 2:], x[..., :r // 2]], -1)
    rope = lambda x: np.concatenate([x[..., :r] * cos + rot(x[..., :r]) * sin, x[..., r:]], -1)
    return T, lin, ln, rope, np.triu(np.full((L, L), -np.inf), 1)


def windows_nll(logits_of):
    """Mean NLL over the W windows of L tokens; logits_of(seq) gives a window's (L, V) logits."""
    tot, cnt = 0.0, 0
    for w in range(W):
        seq = ids[w * L:(w + 1) * L]
        z = logits_of(seq)
        z = z - z.max(-1, keepdims=True); lp = z - np.log(np.exp(z).sum(-1, keepdims=True))
        tot -= lp[np.arange(L - 1), seq[1:]].sum(); cnt += L - 1
    return tot / cnt


def attend(q, k, v, rope, mask, bias=0):
    """softmax(rope(q) rope(k)^T / sqrt(hd) + bias + mask) v over heads: (heads, L, hd) -> (L, heads * hd)."""
    s = rope(q) @ rope(k).transpose(0, 2, 1) / np.sqrt(q.shape[-1]) + bias + mask
    pr = np.exp(s - s.max(-1, keepdims=True)); pr /= pr.sum(-1, keepdims=True)
    return (pr @ v).transpose(1, 0, 2).reshape(L, -1)


def rope_pairs(theta, r, inv=None, att=1.0):
    """RoPE on the first r dims of each head in pairs (2i, 2i + 1) (GPT-J's rotate_every_two, Cohere's
    repeat_interleave), base theta (or the inverse frequencies inv), cos and sin times att: (heads, L, hd) -> the
    same."""
    f = np.outer(np.arange(L), 1.0 / (theta ** (np.arange(0, r, 2) / r)) if inv is None else inv)  # (L, r/2)
    cos, sin = np.cos(f) * att, np.sin(f) * att

    def rope(x):
        a, b = x[..., 0:r:2], x[..., 1:r:2]
        out = x.copy()
        out[..., 0:r:2], out[..., 1:r:2] = a * cos - b * sin, b * cos + a * sin
        return out
    return rope


def gqa_heads(mm, h, p, hd, group):
    """q, k, v of layer prefix p from h (LLaMA's q_proj / k_proj / v_proj through mm), (heads, L, hd) each, every
    kv head repeated for the group query heads it serves."""
    q, k, v = (mm(h, p + f"self_attn.{n}_proj").reshape(L, -1, hd).transpose(1, 0, 2) for n in "qkv")
    return q, np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)


def oracle_phi_nll(cfg, t, ids, parallel=True):
    """Mean NLL over the W windows of L tokens of a PhiForCausalLM (modeling_phi.py), float64: per layer
    h = LayerNorm(x), x + dense(attn(q, k, v of h)) + fc2(gelu_new(fc1(h))), RoPE on the first
    partial_rotary_factor of each head; a final LayerNorm, a head with a bias. parallel=False: the MLP
    reads LayerNorm(x + attention) instead (a wrong oracle, to show the parallel block matters)."""
    nh, D = cfg["num_attention_heads"], cfg["hidden_size"]
    hd = D // nh
    T, lin, ln, rope, mask = ln_tools(cfg, t, int(hd * cfg.get("partial_rotary_factor", 0.5)),
                                      cfg.get("rope_theta", 1e4))
    gelu = lambda g: 0.5 * g * (1 + np.tanh(np.sqrt(2 / np.pi) * (g + 0.044715 * g ** 3)))

    def logits(seq):
        x = T["model.embed_tokens.weight"][seq]
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            h = ln(x, p + "input_layernorm")
            q, k, v = (lin(h, p + f"self_attn.{n}_proj").reshape(L, nh, hd).transpose(1, 0, 2) for n in "qkv")
            o = lin(attend(q, k, v, rope, mask), p + "self_attn.dense")
            hf = h if parallel else ln(x + o, p + "input_layernorm")
            x = x + o + lin(gelu(lin(hf, p + "mlp.fc1")), p + "mlp.fc2")
        return lin(ln(x, "model.final_layernorm"), "lm_head")
    return windows_nll(logits)


def oracle_neox_nll(cfg, t, ids, layout="per-head"):
    """Mean NLL over the W windows of L tokens of a GPTNeoXForCausalLM (modeling_gpt_neox.py), float64:
    query_key_value's rows head by head (view(..., heads, 3 * head_dim), then q | k | v of each head;
    layout="stacked": read as q | k | v instead, a wrong oracle), RoPE on the first rotary_pct of each
    head, x + attn(ln1(x)) + mlp(ln2(x)) (use_parallel_residual) or the sequential block, exact GELU."""
    nh, D = cfg["num_attention_heads"], cfg["hidden_size"]
    hd = D // nh
    T, lin, ln, rope, mask = ln_tools(cfg, t, int(hd * cfg.get("rotary_pct", 0.25)), cfg.get("rotary_emb_base", 1e4))
    gelu = lambda g: 0.5 * g * (1 + np.vectorize(math.erf)(g / np.sqrt(2)))

    def logits(seq):
        x = T["gpt_neox.embed_in.weight"][seq]
        for l in range(cfg["num_hidden_layers"]):
            p = f"gpt_neox.layers.{l}."
            qkv = lin(ln(x, p + "input_layernorm"), p + "attention.query_key_value")  # (L, 3D)
            if layout == "per-head":
                qkv = qkv.reshape(L, nh, 3 * hd).transpose(1, 0, 2)  # (nh, L, 3hd)
                q, k, v = qkv[..., :hd], qkv[..., hd:2 * hd], qkv[..., 2 * hd:]
            else:
                q, k, v = (qkv[:, i * D:(i + 1) * D].reshape(L, nh, hd).transpose(1, 0, 2) for i in range(3))
            o = lin(attend(q, k, v, rope, mask), p + "attention.dense")
            mlp = lambda h: lin(gelu(lin(h, p + "mlp.dense_h_to_4h")), p + "mlp.dense_4h_to_h")
            if cfg.get("use_parallel_residual", True):
                x = x + o + mlp(ln(x, p + "post_attention_layernorm"))
            else:
                x = x + o
                x = x + mlp(ln(x, p + "post_attention_layernorm"))
        return ln(x, "gpt_neox.final_layer_norm") @ T["embed_out.weight"].T
    return windows_nll(logits)


def alibi_slopes(n):
    """transformers' build_alibi_tensor's slopes, in float32: base^k (k = 1..P, base = 2^(-8/P), P the
    largest power of two <= n), then (2^(-4/P))^k for odd k for the other heads."""
    P = 2 ** math.floor(math.log2(n))
    sl = np.float32(2 ** (-(2 ** -(math.log2(P) - 3)))) ** np.arange(1, 1 + P, dtype=np.float32)
    if P != n:
        ex = np.float32(2 ** (-(2 ** -(math.log2(2 * P) - 3))))
        sl = np.concatenate([sl, ex ** np.arange(1, 1 + 2 * min(P, n - P), 2, dtype=np.float32)])
    return sl.astype(np.float32)


def oracle_bloom_nll(cfg, t, ids, alibi=True, layout="per-head", embd_norm=True):
    """Mean NLL over the W windows of L tokens of a BloomForCausalLM (modeling_bloom.py), float64 but for
    the fp32 ALiBi slopes: the embedding LayerNorm'd, per layer x += dense(attn(ln1(x))) with q, k, v
    head by head in query_key_value (view(..., heads, 3, head_dim)) and slope_h * key position added to
    head h's scores, then x += fc2(bloom_gelu(fc1(ln2(x)))); ln_f; the tied head. alibi, layout,
    embd_norm: wrong oracles without ALiBi, reading q | k | v stacked, without the embedding norm."""
    nh, D = cfg.get("n_head", cfg.get("num_attention_heads")), cfg.get("hidden_size", cfg.get("n_embed"))
    hd = D // nh
    T, lin, ln, rope, mask = ln_tools(cfg, t, 0, 1.0, eps="layer_norm_epsilon")
    gelu = lambda g: g * 0.5 * (1.0 + np.tanh(0.79788456 * g * (1 + 0.044715 * g * g)))
    bias = (alibi_slopes(nh).astype(np.float64)[:, None, None] * np.arange(L)[None, None, :]) if alibi else 0
    E = T["transformer.word_embeddings.weight"]

    def logits(seq):
        x = E[seq]
        if embd_norm:
            x = ln(x, "transformer.word_embeddings_layernorm")
        for l in range(cfg.get("n_layer", cfg.get("num_hidden_layers"))):
            p = f"transformer.h.{l}."
            qkv = lin(ln(x, p + "input_layernorm"), p + "self_attention.query_key_value")  # (L, 3D)
            if layout == "per-head":
                qkv = qkv.reshape(L, nh, 3, hd).transpose(2, 1, 0, 3)  # (3, nh, L, hd)
            else:
                qkv = qkv.reshape(L, 3, nh, hd).transpose(1, 2, 0, 3)
            x = x + lin(attend(qkv[0], qkv[1], qkv[2], rope, mask, bias), p + "self_attention.dense")
            h = ln(x, p + "post_attention_layernorm")
            x = x + lin(gelu(lin(h, p + "mlp.dense_h_to_4h")), p + "mlp.dense_4h_to_h")
        return ln(x, "transformer.ln_f") @ E.T
    return windows_nll(logits)


IL2_NAMES = {"attention_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
             "attention.wo": "self_attn.o_proj", "feed_forward.w1": "mlp.gate_proj", "feed_forward.w3": "mlp.up_proj",
             "feed_forward.w2": "mlp.down_proj"}


def internlm2_wqkv(cfg, q, k, v, layout="grouped"):
    """InternLM2's wqkv (weight or bias) from q, k, v: for each kv head h, the rows of its g query heads,
    then of k_h, then of v_h (modeling_internlm2.py: rearrange "b q (h gs d) -> b q h gs d", gs = g + 2);
    layout="stacked": q | k | v instead."""
    nkv, hd = cfg["num_key_value_heads"], cfg["head_dim"]
    g = cfg["num_attention_heads"] // nkv
    if layout == "stacked":
        return np.concatenate([q, k, v])
    return np.concatenate([x for h in range(nkv) for x in (q[h * g * hd:(h + 1) * g * hd], k[h * hd:(h + 1) * hd],
                                                           v[h * hd:(h + 1) * hd])])


def internlm2_to_llama(cfg, t):
    """An InternLM2 checkpoint's tensors under LLaMA's names, wqkv split as its remote code reads it."""
    nkv, hd = cfg["num_key_value_heads"], cfg["head_dim"]
    g = cfg["num_attention_heads"] // nkv
    out = {"model.embed_tokens.weight": t["model.tok_embeddings.weight"], "model.norm.weight": t["model.norm.weight"],
           "lm_head.weight": t["output.weight"]}
    for k, v in t.items():
        m = k.split(".")
        if k.startswith("model.layers.") and ".wqkv." not in k:
            p, rest = ".".join(m[:3]), ".".join(m[3:-1])
            out[f"{p}.{IL2_NAMES[rest]}.{m[-1]}"] = v
        elif ".wqkv." in k:
            x = v.reshape(nkv, g + 2, hd, *v.shape[1:])
            p = ".".join(m[:3])
            for n, part in (("q", x[:, :g]), ("k", x[:, g]), ("v", x[:, g + 1])):
                out[f"{p}.self_attn.{n}_proj.{m[-1]}"] = part.reshape(-1, *v.shape[1:])
    return out


def falcon_kv(cfg):
    """FalconAttention's kv heads: num_kv_heads (new_decoder_architecture; FalconConfig's default: all),
    else one (multi_query, the default) or all."""
    if cfg.get("new_decoder_architecture", False):
        return cfg.get("num_kv_heads", cfg["num_attention_heads"])
    return 1 if cfg.get("multi_query", True) else cfg["num_attention_heads"]


def oracle_falcon_nll(cfg, t, ids, layout="grouped", mlp_on_attn_norm=False):
    """Mean NLL over the W windows of L tokens of a FalconForCausalLM (modeling_falcon.py), float64:
    query_key_value's rows as _split_heads views them (new_decoder_architecture: (kv heads, g + 2, hd),
    each group's g query heads, then its k and v; multi_query: (heads + 2, hd)), each kv head serving
    its group's query heads; layout="stacked": read as q | k | v instead (a wrong oracle). RoPE on the
    whole head; x + attn(ln_attn(x)) + mlp(ln_mlp(x)) where the decoder has two LayerNorms (new arch
    and num_ln_in_parallel_attn 2 or absent), else both on input_layernorm(x) (mlp_on_attn_norm: the MLP
    on the attention's LayerNorm even so, a wrong oracle); exact GELU; biases where config.bias; ln_f, the
    head tied to the embedding unless tie_word_embeddings is false."""
    nh, D = cfg.get("num_attention_heads", cfg.get("n_head")), cfg.get("hidden_size", cfg.get("n_embed"))
    hd, nkv = D // nh, falcon_kv(dict(cfg, num_attention_heads=nh))
    nl = cfg.get("num_hidden_layers", cfg.get("n_layer"))
    g = nh // nkv
    T, _, ln, rope, mask = ln_tools(cfg, t, hd, cfg.get("rope_theta", 1e4), eps="layer_norm_epsilon")
    lin = lambda x, k: x @ T[k + ".weight"].T + (T[k + ".bias"] if cfg.get("bias", False) else 0)
    gelu = lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / np.sqrt(2)))
    two = cfg.get("new_decoder_architecture", False) and cfg.get("num_ln_in_parallel_attn") in (None, 2)
    head = T["transformer.word_embeddings.weight"] if cfg.get("tie_word_embeddings", True) else T["lm_head.weight"]

    def logits(seq):
        x = T["transformer.word_embeddings.weight"][seq]
        for l in range(nl):
            p = f"transformer.h.{l}."
            ha = ln(x, p + ("ln_attn" if two else "input_layernorm"))
            hm = ln(x, p + "ln_mlp") if two and not mlp_on_attn_norm else ha
            qkv = lin(ha, p + "self_attention.query_key_value")  # (L, (nh + 2 nkv) hd)
            if layout == "grouped":
                qkv = qkv.reshape(L, nkv, g + 2, hd)
                q, k, v = qkv[:, :, :g].reshape(L, nh, hd), qkv[:, :, g], qkv[:, :, g + 1]
            else:
                q = qkv[:, :nh * hd].reshape(L, nh, hd)
                k, v = (qkv[:, (nh + i * nkv) * hd:(nh + (i + 1) * nkv) * hd].reshape(L, nkv, hd) for i in range(2))
            k, v = np.repeat(k, g, axis=1), np.repeat(v, g, axis=1)  # kv head j serves query heads j*g .. j*g+g-1
            o = lin(attend(*(a.transpose(1, 0, 2) for a in (q, k, v)), rope, mask), p + "self_attention.dense")
            x = x + o + lin(gelu(lin(hm, p + "mlp.dense_h_to_4h")), p + "mlp.dense_4h_to_h")
        return ln(x, "transformer.ln_f") @ head.T
    return windows_nll(logits)


def oracle_gptj_nll(cfg, t, ids, pairs="interleaved"):
    """Mean NLL over the W windows of L tokens of a GPTJForCausalLM (modeling_gptj.py), float64: per layer
    h = ln_1(x), x + out_proj(attn(q, k, v of h)) + fc_out(gelu_new(fc_in(h))); RoPE on the first
    rotary_dim dims of each head, rotate_every_two: pairs (2i, 2i + 1) (pairs="half": rotate_half's
    (i, i + r/2), a wrong oracle); ln_f and lm_head with its bias."""
    nh, D, r = cfg["n_head"], cfg["n_embd"], cfg["rotary_dim"]
    hd = D // nh
    T, lin, ln, rope_half, mask = ln_tools(cfg, t, r, 1e4, eps="layer_norm_epsilon")
    rope = rope_pairs(1e4, r) if pairs == "interleaved" else rope_half
    mm = lambda x, k: x @ T[k + ".weight"].T
    gelu = lambda g: 0.5 * g * (1 + np.tanh(np.sqrt(2 / np.pi) * (g + 0.044715 * g ** 3)))

    def logits(seq):
        x = T["transformer.wte.weight"][seq]
        for l in range(cfg["n_layer"]):
            p = f"transformer.h.{l}."
            h = ln(x, p + "ln_1")
            q, k, v = (mm(h, p + f"attn.{n}_proj").reshape(L, nh, hd).transpose(1, 0, 2) for n in "qkv")
            x = x + mm(attend(q, k, v, rope, mask), p + "attn.out_proj") + lin(gelu(lin(h, p + "mlp.fc_in")),
                                                                              p + "mlp.fc_out")
        return lin(ln(x, "transformer.ln_f"), "lm_head")
    return windows_nll(logits)


def oracle_stablelm_nll(cfg, t, ids, parallel=None):
    """Mean NLL over the W windows of L tokens of a StableLmForCausalLM (modeling_stablelm.py), float64:
    LLaMA's block with LayerNorms (biases), q/k/v biases where present, each kv head serving its group,
    RoPE (rotate_half) on the first partial_rotary_factor of each head; use_parallel_residual: x +
    attn(h) + mlp(h), h = input_layernorm(x), else the sequential block through post_attention_layernorm
    (parallel overrides the config: a wrong oracle)."""
    nh, nkv, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["hidden_size"]
    hd = D // nh
    T, _, ln, rope, mask = ln_tools(cfg, t, int(hd * cfg.get("partial_rotary_factor", 0.25)),
                                    cfg.get("rope_theta", 1e4))
    mm = lambda x, k: x @ T[k + ".weight"].T + (T[k + ".bias"] if k + ".bias" in T else 0)
    par = cfg.get("use_parallel_residual", False) if parallel is None else parallel
    head = T["lm_head.weight"] if "lm_head.weight" in T else T["model.embed_tokens.weight"]

    def logits(seq):
        x = T["model.embed_tokens.weight"][seq]
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            h = ln(x, p + "input_layernorm")
            q, k, v = gqa_heads(mm, h, p, hd, nh // nkv)
            o = mm(attend(q, k, v, rope, mask), p + "self_attn.o_proj")
            mlp = lambda y: mm(mm(y, p + "mlp.gate_proj") / (1 + np.exp(-mm(y, p + "mlp.gate_proj")))
                               * mm(y, p + "mlp.up_proj"), p + "mlp.down_proj")
            if par:
                x = x + o + mlp(h)
            else:
                x = x + o
                x = x + mlp(ln(x, p + "post_attention_layernorm"))
        return ln(x, "model.norm") @ head.T
    return windows_nll(logits)


def oracle_gpt2_nll(cfg, t, ids, linear=False):
    """Mean NLL over the W windows of L tokens of a GPT2LMHeadModel (modeling_gpt2.py), float64: wte +
    wpe, per layer x + c_proj(attn(c_attn(ln_1(x)))), then x + mlp(ln_2(x)), gelu_new; every Conv1D
    computes x @ W + b with W stored (in, out) (linear=True: x @ W.T for the square c_proj, a wrong
    oracle); ln_f and the tied head. Tensors may lack the "transformer." prefix."""
    nh, D = cfg["n_head"], cfg["n_embd"]
    hd = D // nh
    t = {k if k.startswith(("transformer.", "lm_head")) else "transformer." + k: v for k, v in t.items()}
    T, _, ln, rope, mask = ln_tools(cfg, t, 0, 1e4, eps="layer_norm_epsilon")
    conv = lambda x, k: x @ (T[k + ".weight"].T if linear and k.endswith("attn.c_proj") else T[k + ".weight"]) \
        + T[k + ".bias"]
    gelu = lambda g: 0.5 * g * (1 + np.tanh(np.sqrt(2 / np.pi) * (g + 0.044715 * g ** 3)))

    def logits(seq):
        x = T["transformer.wte.weight"][seq] + T["transformer.wpe.weight"][:L]
        for l in range(cfg["n_layer"]):
            p = f"transformer.h.{l}."
            qkv = conv(ln(x, p + "ln_1"), p + "attn.c_attn")  # (L, 3D): q | k | v
            q, k, v = (qkv[:, i * D:(i + 1) * D].reshape(L, nh, hd).transpose(1, 0, 2) for i in range(3))
            x = x + conv(attend(q, k, v, rope, mask), p + "attn.c_proj")
            x = x + conv(gelu(conv(ln(x, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
        return ln(x, "transformer.ln_f") @ T["transformer.wte.weight"].T
    return windows_nll(logits)


def oracle_cohere_nll(cfg, t, ids, pairs="interleaved", scale=True, nope=True):
    """Mean NLL over the W windows of L tokens of a CohereForCausalLM (modeling_cohere.py), float64: per layer
    h = CohereLayerNorm(x) (no bias), x + o_proj(attn(h)) + down(silu(gate(h)) * up(h)); RoPE on whole heads,
    pairs (2i, 2i + 1) (pairs="half": rotate_half, a wrong oracle), each kv head serving its group; the final
    norm, the tied head, the logits times logit_scale (scale=False: not, a wrong oracle). A Cohere2ForCausalLM
    (modeling_cohere2.py): the windowed(cfg) layers attend to the last sliding_window keys, and only they rotate q
    and k (nope=False: every layer does, a wrong oracle)."""
    nh, nkv, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["hidden_size"]
    hd = D // nh
    T = {k: v.astype(np.float64) for k, v in t.items()}
    eps = cfg.get("layer_norm_eps", 1e-5)
    ln = lambda x, k: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps) * T[k + ".weight"]
    _, _, _, rope_half, causal = ln_tools(cfg, t, hd, cfg.get("rope_theta", 1e4))
    rope = rope_pairs(cfg.get("rope_theta", 1e4), hd) if pairs == "interleaved" else rope_half
    mm = lambda x, k: x @ T[k + ".weight"].T
    local = windowed(cfg) if cfg["model_type"] == "cohere2" else [False] * cfg["num_hidden_layers"]
    sw = np.tril(np.full((L, L), -np.inf), -cfg["sliding_window"]) if any(local) else 0
    v2 = cfg["model_type"] == "cohere2" and nope

    def logits(seq):
        x = T["model.embed_tokens.weight"][seq]
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            h = ln(x, p + "input_layernorm")
            q, k, v = gqa_heads(mm, h, p, hd, nh // nkv)
            g = mm(h, p + "mlp.gate_proj")
            r = rope if local[l] or not v2 else (lambda y: y)  # Cohere2's global layers: no positions
            x = x + mm(attend(q, k, v, r, causal + (sw if local[l] else 0)), p + "self_attn.o_proj") + mm(
                g / (1 + np.exp(-g)) * mm(h, p + "mlp.up_proj"), p + "mlp.down_proj")
        z = ln(x, "model.norm") @ T["model.embed_tokens.weight"].T
        return z * cfg.get("logit_scale", 0.0625) if scale else z
    return windows_nll(logits)


def oracle_olmo_nll(cfg, t, ids, rms=False):
    """Mean NLL over the W windows of L tokens of an OlmoForCausalLM (modeling_olmo.py), float64: LLaMA's block
    with OlmoLayerNorm (a LayerNorm without weight or bias, eps 1e-5) for each norm (rms=True: an RMSNorm, a
    wrong oracle), each kv head serving its group, rotate_half RoPE, the SiLU gate, an untied head."""
    nh, nkv, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["hidden_size"]
    hd = D // nh
    T = {k: v.astype(np.float64) for k, v in t.items()}
    _, _, _, rope, mask = ln_tools(cfg, t, hd, cfg.get("rope_theta", 1e4))
    norm = (lambda x: x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-5)) if rms else (
        lambda x: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5))
    mm = lambda x, k: x @ T[k + ".weight"].T

    def logits(seq):
        x = T["model.embed_tokens.weight"][seq]
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            x = x + mm(attend(*gqa_heads(mm, norm(x), p, hd, nh // nkv), rope, mask), p + "self_attn.o_proj")
            h = norm(x)
            g = mm(h, p + "mlp.gate_proj")
            x = x + mm(g / (1 + np.exp(-g)) * mm(h, p + "mlp.up_proj"), p + "mlp.down_proj")
        return norm(x) @ T["lm_head.weight"].T
    return windows_nll(logits)


def oracle_olmo2_nll(cfg, t, ids, variant=None):
    """Mean NLL over the W windows of L tokens of an Olmo2ForCausalLM (modeling_olmo2.py), float64: per layer
    x + post_attention_layernorm(o_proj(attn(rope(q_norm(q(x))), rope(k_norm(k(x))), v(x)))), then the same with
    the SiLU-gated MLP and post_feedforward_layernorm: no norm before either block; q_norm / k_norm RMSNorms over
    all heads of q and k at once, before RoPE; each kv head serving its group; the final RMSNorm, an untied head.
    Wrong oracles: variant "per-head" normalises each head of q and k on its own (Qwen3's way, times the weight's
    slice), "pre-norm" puts the two layer norms before their blocks (LLaMA's place).
    Olmo3ForCausalLM (modeling_olmo3.py of transformers 4.57, OLMo-core's model): the windowed(cfg) layers attend to
    the last sliding_window keys and rotate with plain RoPE, the others with the config's YaRN; wrong oracles:
    variant "all-scaled" rotates every layer with the YaRN (transformers 5.0 to 5.9), "no-window" masks no layer.
    Exaone4ForCausalLM (modeling_exaone4.py): OLMo 3's masks with Qwen3's q/k norms (each head on its own, times one
    head_dim weight), the windowed layers rotating q and k, the others not at all (every layer rotating when
    sliding_window is null); wrong oracle: variant "rope-everywhere" rotates the global layers too."""
    nh, nkv, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["hidden_size"]
    exaone = cfg["model_type"] == "exaone4"
    hd = cfg.get("head_dim") or D // nh
    T = {k: v.astype(np.float64) for k, v in t.items()}
    _, _, _, rope, mask = ln_tools(cfg, t, hd, cfg.get("rope_theta", 1e4))
    win = windowed(cfg) if variant != "no-window" else [False] * cfg["num_hidden_layers"]
    masks = [mask + np.tril(np.full((L, L), -np.inf), -cfg["sliding_window"]) if w else mask for w in win]
    inv, att = yarn(cfg, hd) or (None, 1.0)
    if inv is not None:  # rotate_half RoPE with YaRN's frequencies, cos and sin times its attention factor
        f = np.outer(np.arange(L), inv)
        cos, sin = np.cos(np.concatenate([f, f], -1)) * att, np.sin(np.concatenate([f, f], -1)) * att
        scaled = lambda x: x * cos + np.concatenate([-x[..., hd // 2:], x[..., :hd // 2]], -1) * sin
    ropes = [rope if w and variant != "all-scaled" or inv is None else scaled for w in windowed(cfg)]
    if exaone and cfg.get("sliding_window") and variant != "rope-everywhere":  # global NoPE in hybrid models
        ropes = [rp if w else (lambda x: x) for rp, w in zip(ropes, windowed(cfg))]
    unit = lambda x: x / np.sqrt((x * x).mean(-1, keepdims=True) + cfg["rms_norm_eps"])
    rms = lambda x, k: unit(x) * T[k + ".weight"]
    mm = lambda x, k: x @ T[k + ".weight"].T

    def qk_norm(y, k, heads):  # (L, heads * hd)
        if exaone:  # Qwen3's: each head normalised on its own, one (hd) weight for all
            return (unit(y.reshape(L, heads, hd)) * T[k + ".weight"]).reshape(L, heads * hd)
        if variant != "per-head":
            return rms(y, k)
        return unit(y.reshape(L, heads, hd)).reshape(L, heads * hd) * T[k + ".weight"]

    def heads(y, n):
        return y.reshape(L, n, hd).transpose(1, 0, 2)

    def logits(seq):
        x = T["model.embed_tokens.weight"][seq]
        pre = variant == "pre-norm"
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            h = rms(x, p + "post_attention_layernorm") if pre else x
            q = heads(qk_norm(mm(h, p + "self_attn.q_proj"), p + "self_attn.q_norm", nh), nh)
            k = heads(qk_norm(mm(h, p + "self_attn.k_proj"), p + "self_attn.k_norm", nkv), nkv)
            v = heads(mm(h, p + "self_attn.v_proj"), nkv)
            o = mm(attend(q, np.repeat(k, nh // nkv, 0), np.repeat(v, nh // nkv, 0), ropes[l], masks[l]),
                   p + "self_attn.o_proj")
            x = x + (o if pre else rms(o, p + "post_attention_layernorm"))
            h = rms(x, p + "post_feedforward_layernorm") if pre else x
            g = mm(h, p + "mlp.gate_proj")
            o = mm(g / (1 + np.exp(-g)) * mm(h, p + "mlp.up_proj"), p + "mlp.down_proj")
            x = x + (o if pre else rms(o, p + "post_feedforward_layernorm"))
        return rms(x, "model.norm") @ T["lm_head.weight"].T
    return windows_nll(logits)


def oracle_starcoder2_nll(cfg, t, ids):
    """Mean NLL over the W windows of L tokens of a Starcoder2ForCausalLM (modeling_starcoder2.py), float64: per layer
    x + o_proj(attn(h)), h = input_layernorm(x), then x + c_proj(gelu(c_fc(post_attention_layernorm(x)))); LayerNorms
    and denses with biases, rotate_half RoPE on whole heads, each kv head serving its group, the window's keys only
    where sliding_window is set; the final LayerNorm, the tied head."""
    hd = cfg["hidden_size"] // cfg["num_attention_heads"]
    T, lin, ln, rope, mask = ln_tools(cfg, t, hd, cfg.get("rope_theta", 1e4), eps="norm_epsilon")
    if cfg.get("sliding_window"):  # masking_utils.sliding_window_overlay: key j visible from query i iff j > i - W
        mask = mask + np.tril(np.full((L, L), -np.inf), -cfg["sliding_window"])
    gelu = lambda g: 0.5 * g * (1 + np.tanh(np.sqrt(2 / np.pi) * (g + 0.044715 * g ** 3)))
    return plain_mlp_nll(cfg, T, lin, ln, rope, mask, gelu, "mlp.c_fc", "mlp.c_proj")


def plain_mlp_nll(cfg, T, lin, ln, rope, mask, act, up, down):
    """windows_nll of LLaMA's sequential layer with a plain MLP (StarCoder2's, Nemotron's): x + o_proj(attn(h)),
    h = ln(x, input_layernorm), then x + down(act(up(ln(x, post_attention_layernorm)))); each kv head serving its
    group; the final norm, the head (the embedding where tied)."""
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg["hidden_size"] // nh

    def logits(seq):
        x = T["model.embed_tokens.weight"][seq]
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            q, k, v = gqa_heads(lin, ln(x, p + "input_layernorm"), p, hd, nh // nkv)
            x = x + lin(attend(q, k, v, rope, mask), p + "self_attn.o_proj")
            x = x + lin(act(lin(ln(x, p + "post_attention_layernorm"), p + up)), p + down)
        return ln(x, "model.norm") @ T.get("lm_head.weight", T["model.embed_tokens.weight"]).T
    return windows_nll(logits)


def oracle_bigcode_nll(cfg, t, ids, layout=None):
    """Mean NLL over the W windows of L tokens of a GPTBigCodeForCausalLM (modeling_gpt_bigcode.py), float64: wte +
    wpe, per layer x + c_proj(attn(c_attn(ln_1(x)))), then x + c_proj(gelu(c_fc(ln_2(x)))) with the tanh GELU and
    nn.Linear denses; c_attn's rows with multi_query: q (n_embd) | k (head_dim) | v (head_dim), the one kv head
    serving every query head (layout "kv-swapped": v before k, a wrong oracle), without: q_h | k_h | v_h head by
    head (layout "stacked": q | k | v, a wrong oracle); ln_f and the tied head."""
    nh, D = cfg["n_head"], cfg["n_embd"]
    hd, mq = D // nh, cfg.get("multi_query", True)
    T, lin, ln, rope, mask = ln_tools(cfg, t, 0, 1e4, eps="layer_norm_epsilon")
    gelu = lambda g: 0.5 * g * (1 + np.tanh(np.sqrt(2 / np.pi) * (g + 0.044715 * g ** 3)))
    heads = lambda y: y.reshape(L, -1, hd).transpose(1, 0, 2)

    def logits(seq):
        x = T["transformer.wte.weight"][seq] + T["transformer.wpe.weight"][:L]
        for l in range(cfg["n_layer"]):
            p = f"transformer.h.{l}."
            qkv = lin(ln(x, p + "ln_1"), p + "attn.c_attn")
            if mq:
                q, k, v = heads(qkv[:, :D]), heads(qkv[:, D:D + hd]), heads(qkv[:, D + hd:])
                k, v = (v, k) if layout == "kv-swapped" else (k, v)
                k, v = np.repeat(k, nh, 0), np.repeat(v, nh, 0)
            elif layout == "stacked":
                q, k, v = (heads(qkv[:, i * D:(i + 1) * D]) for i in range(3))
            else:
                qkv = qkv.reshape(L, nh, 3 * hd).transpose(1, 0, 2)  # (nh, L, 3 hd): view(..., heads, 3 * head_dim)
                q, k, v = qkv[..., :hd], qkv[..., hd:2 * hd], qkv[..., 2 * hd:]
            x = x + lin(attend(q, k, v, rope, mask), p + "attn.c_proj")
            x = x + lin(gelu(lin(ln(x, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
        return ln(x, "transformer.ln_f") @ T["transformer.wte.weight"].T
    return windows_nll(logits)


def oracle_glm_nll(cfg, t, ids, pairs="interleaved", post=True):
    """Mean NLL over the W windows of L tokens of a GlmForCausalLM / Glm4ForCausalLM (modeling_glm.py,
    modeling_glm4.py), float64: LLaMA's layer (RMSNorms, q/k/v with biases, o without) with gate | up in the rows of
    gate_up_proj (silu(first half) * second half), RoPE on the first partial_rotary_factor of each head in pairs
    (2i, 2i + 1) (pairs="half": rotate_half, a wrong oracle), each kv head serving its group; glm4 also RMSNorms
    each block's output before the residual add (post_self_attn_layernorm, post_mlp_layernorm; post=False: not, a
    wrong oracle); the final norm, an untied head."""
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    T = {k: v.astype(np.float64) for k, v in t.items()}
    r = int(hd * cfg.get("partial_rotary_factor", 0.5))
    _, _, _, rope_half, mask = ln_tools(cfg, t, r, cfg.get("rope_theta", 1e4))
    rope = rope_pairs(cfg.get("rope_theta", 1e4), r) if pairs == "interleaved" else rope_half
    rms = lambda x, k: x / np.sqrt((x * x).mean(-1, keepdims=True) + cfg["rms_norm_eps"]) * T[k + ".weight"]
    lin = lambda x, k: x @ T[k + ".weight"].T + (T[k + ".bias"] if k + ".bias" in T else 0)
    g4 = post and cfg["model_type"] == "glm4"
    F = cfg["intermediate_size"]

    def logits(seq):
        x = T["model.embed_tokens.weight"][seq]
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            o = lin(attend(*gqa_heads(lin, rms(x, p + "input_layernorm"), p, hd, nh // nkv), rope, mask),
                    p + "self_attn.o_proj")
            x = x + (rms(o, p + "post_self_attn_layernorm") if g4 else o)
            gu = lin(rms(x, p + "post_attention_layernorm"), p + "mlp.gate_up_proj")
            o = lin(gu[:, :F] / (1 + np.exp(-gu[:, :F])) * gu[:, F:], p + "mlp.down_proj")
            x = x + (rms(o, p + "post_mlp_layernorm") if g4 else o)
        return rms(x, "model.norm") @ T["lm_head.weight"].T
    return windows_nll(logits)


def oracle_nemotron_nll(cfg, t, ids, unit=True, act="relu2"):
    """Mean NLL over the W windows of L tokens of a NemotronForCausalLM (modeling_nemotron.py), float64: LLaMA's
    sequential block with NemotronLayerNorm1P (a LayerNorm times 1 + w, plus the bias; unit=False: times w, a wrong
    oracle) for every norm, rotate_half RoPE on the first partial_rotary_factor of each head, each kv head serving its
    group, the plain MLP up_proj -> relu(x)^2 -> down_proj (act="relu": without the square, a wrong oracle), biases
    where the tensors have them; an untied head."""
    r = int(cfg["hidden_size"] // cfg["num_attention_heads"] * cfg.get("partial_rotary_factor", 0.5))
    T, _, _, rope, mask = ln_tools(cfg, t, r, cfg.get("rope_theta", 1e4))
    lin = lambda x, k: x @ T[k + ".weight"].T + (T[k + ".bias"] if k + ".bias" in T else 0)
    ln = lambda x, k: ((x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + cfg["norm_eps"])
                       * (T[k + ".weight"] + unit) + T[k + ".bias"])
    relu = lambda g: np.maximum(g, 0) ** (2 if act == "relu2" else 1)
    return plain_mlp_nll(cfg, T, lin, ln, rope, mask, relu, "mlp.up_proj", "mlp.down_proj")


GRANITE_MULT = {"embedding_multiplier": "embedding", "residual_multiplier": "residual",
                "attention_multiplier": "attention", "logits_scaling": "logits"}


def oracle_granite_nll(cfg, t, ids, off=()):
    """Mean NLL over the W windows of L tokens of a GraniteForCausalLM (modeling_granite.py), float64: LLaMA's
    block (RMSNorm, rotate_half RoPE, GQA, the SiLU gate) with the embedding times embedding_multiplier, the scores
    times attention_multiplier (not 1/sqrt(head_dim)), each block's output times residual_multiplier before the
    residual add, and the logits divided by logits_scaling; each 1 when absent. off: the GRANITE_MULT values of
    multipliers left out (a wrong oracle)."""
    nh, nkv, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["hidden_size"]
    hd = D // nh
    m = {k: 1.0 if v in off else float(np.float32(cfg.get(k, 1.0))) for k, v in GRANITE_MULT.items()}
    T = {k: v.astype(np.float64) for k, v in t.items()}
    _, _, _, rope, mask = ln_tools(cfg, t, hd, cfg.get("rope_theta", 1e4))
    rms = lambda x, k: x / np.sqrt((x * x).mean(-1, keepdims=True) + cfg["rms_norm_eps"]) * T[k + ".weight"]
    mm = lambda x, k: x @ T[k + ".weight"].T
    # attend() scales by 1/sqrt(hd): the queries times sqrt(hd) * attention_multiplier give the multiplier instead
    qs = (np.sqrt(hd) * m["attention_multiplier"]) if "attention" not in off else 1.0

    def logits(seq):
        x = T["model.embed_tokens.weight"][seq] * m["embedding_multiplier"]
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            q, k, v = gqa_heads(mm, rms(x, p + "input_layernorm"), p, hd, nh // nkv)
            x = x + mm(attend(q * qs, k, v, rope, mask), p + "self_attn.o_proj") * m["residual_multiplier"]
            h = rms(x, p + "post_attention_layernorm")
            g = mm(h, p + "mlp.gate_proj")
            x = x + mm(g / (1 + np.exp(-g)) * mm(h, p + "mlp.up_proj"), p + "mlp.down_proj") * m["residual_multiplier"]
        head = T.get("lm_head.weight", T["model.embed_tokens.weight"])
        return rms(x, "model.norm") @ head.T / m["logits_scaling"]
    return windows_nll(logits)


def rope_layers(cfg):
    """SmolLM3Config's no_rope_layers: 1 where a layer rotates q and k, 0 where it has no positions; without the list,
    every no_rope_layer_interval-th layer (4) has none."""
    n = cfg.get("no_rope_layer_interval", 4)
    return cfg.get("no_rope_layers") or [int((i + 1) % n != 0) for i in range(cfg["num_hidden_layers"])]


# What each family's modeling code changes in LlamaForCausalLM's forward (model_type -> features), for oracle_nll:
#   gemma         GemmaRMSNorm (times 1 + w), the embedding times sqrt(hidden_size), the tanh GELU gate
#   gemma2        Gemma2DecoderLayer: norms after the attention and the MLP, query_pre_attn_scalar, soft-caps
#   local_rope    Gemma3TextModel: the windowed layers rotate with rope_local_base_freq, unscaled
#   nope          SmolLM3: the layers no_rope_layers marks 0 rotate nothing
#   relu2_mlp     ArceeMLP (Nemotron's): down(relu(up(h))^2), no gate
#   pairs         ERNIE 4.5, Helium: RoPE in pairs (2i, 2i + 1) (GLM's rotate_half, cos and sin repeat_interleaved)
#   qk_after_rope HunYuan: query_layernorm / key_layernorm on each head of the rotated q and k
#   ntk_alpha     HunYuan's DynamicNTKAlphaRotary: the base times alpha^(hd / (hd - 2)) at every length
LLAMA_VARIANTS = {
    "gemma": {"gemma"}, "gemma2": {"gemma", "gemma2"}, "gemma3_text": {"gemma", "gemma2", "local_rope"},
    "smollm3": {"nope"}, "arcee": {"relu2_mlp"}, "ernie4_5": {"pairs"}, "helium": {"pairs"},
    "hunyuan_v1_dense": {"qk_after_rope", "ntk_alpha"},
}


def oracle_nll(cfg, t, ids, inv=None, gemma=("norm", "scale", "gelu"), nope=True, square=True, pairs=None,
               qk_after=True):
    """Mean NLL over the W windows of L tokens (float64, HF LlamaForCausalLM conventions) with the features
    LLAMA_VARIANTS gives cfg's model_type; inv: RoPE's inverse frequencies instead of inv_freq(cfg)'s. The
    windowed(cfg) layers mask keys older than the window. Wrong oracles: gemma names the Gemma features kept
    ("norm", "scale", "gelu"); nope=False rotates SmolLM3's NoPE layers; square=False leaves Arcee's ReLU unsquared;
    pairs=False rotates halves; qk_after=False norms HunYuan's q and k before RoPE. Families in FAMILY_ORACLES:
    their own oracle."""
    own = FAMILY_ORACLES.get(cfg["model_type"])  # the families with an oracle of their own
    if own:
        return own(cfg, t, ids)
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    T = {k: v.astype(np.float64) for k, v in t.items()}
    feat = LLAMA_VARIANTS.get(cfg["model_type"], set())
    g_on = set(gemma) if "gemma" in feat else set()
    g2 = "gemma2" in feat  # Gemma2DecoderLayer: four norms, query scalar, soft-caps
    cap = lambda x, c: c * np.tanh(x / c) if c else x
    qscale = cfg.get("query_pre_attn_scalar", 256) ** -0.5 if g2 else 1 / np.sqrt(hd)
    lin = lambda x, k: x @ T[k + ".weight"].T + (T[k + ".bias"] if k + ".bias" in T else 0)
    rms = lambda x, w: (1 + w if "norm" in g_on else w) * (x / np.sqrt((x * x).mean(-1, keepdims=True)
                                                                       + cfg["rms_norm_eps"]))
    act = (lambda g: 0.5 * g * (1 + np.tanh(np.sqrt(2 / np.pi) * (g + 0.044715 * g ** 3)))) if "gelu" in g_on \
        else (lambda g: g / (1 + np.exp(-g)))
    emb_scale = float(np.float32(np.sqrt(cfg["hidden_size"]))) if "scale" in g_on else 1.0  # GemmaModel's normalizer
    # Phi-3: RoPE on the first r = head_dim * partial_rotary_factor dims of each head (transformers 5:
    # the factor in rope_parameters), the inverse frequencies of an r-dim rotation
    prf = cfg.get("partial_rotary_factor") or (cfg.get("rope_parameters") or {}).get("partial_rotary_factor", 1.0)
    r = int(hd * prf)
    lr, att = longrope(cfg, r) or yarn(cfg, r) or (None, 1.0)
    alpha = (cfg.get("rope_scaling") or {}).get("alpha") if "ntk_alpha" in feat else None
    if alpha and inv is None:  # HunYuan's DynamicNTKAlphaRotary: a raised base at every length
        inv = 1.0 / ((cfg["rope_theta"] * alpha ** (hd / (hd - 2))) ** (np.arange(0, r, 2) / r))
    inv = (inv_freq(cfg, r)[0] if lr is None else lr) if inv is None else inv
    rot = lambda x: np.concatenate([-x[..., r // 2:], x[..., :r // 2]], -1)

    pairs = "pairs" in feat if pairs is None else pairs

    def rope_of(inv, att=1.0):
        if pairs:
            return rope_pairs(None, r, inv, att)
        f = np.outer(np.arange(L), inv); emb = np.concatenate([f, f], -1)
        cos, sin = np.cos(emb) * att, np.sin(emb) * att
        return lambda x: np.concatenate([x[..., :r] * cos + rot(x[..., :r]) * sin, x[..., r:]], -1)
    # Gemma3TextModel: the sliding layers' rotary_emb_local, base rope_local_base_freq without scaling
    local = "local_rope" in feat
    ropes = [rope_of(1.0 / (cfg.get("rope_local_base_freq", 1e4) ** (np.arange(0, r, 2) / r))) if local and w
             else rope_of(inv, att) for w in windowed(cfg)]
    if "nope" in feat and nope:  # SmolLM3Attention: RoPE only where use_rope
        ropes = [rp if on else (lambda x: x) for rp, on in zip(ropes, rope_layers(cfg))]
    causal = np.triu(np.full((L, L), -np.inf), 1)
    # masking_utils.sliding_window_overlay: key j visible from query i iff j > i - W
    local = causal + np.tril(np.full((L, L), -np.inf), -cfg["sliding_window"]) if cfg.get("sliding_window") else None
    masks = [local if w else causal for w in windowed(cfg)]
    head = T.get("lm_head.weight", T["model.embed_tokens.weight"])
    tot, cnt = 0.0, 0
    for w in range(W):
        seq = ids[w * L:(w + 1) * L]
        x = T["model.embed_tokens.weight"][seq] * emb_scale
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            h = rms(x, T[p + "input_layernorm.weight"])
            q = lin(h, p + "self_attn.q_proj").reshape(L, nh, hd).transpose(1, 0, 2)
            k = lin(h, p + "self_attn.k_proj").reshape(L, nkv, hd).transpose(1, 0, 2)
            if p + "self_attn.q_norm.weight" in T:  # Qwen3Attention: q_norm / k_norm over each head, then RoPE
                q, k = rms(q, T[p + "self_attn.q_norm.weight"]), rms(k, T[p + "self_attn.k_norm.weight"])
            v = lin(h, p + "self_attn.v_proj").reshape(L, nkv, hd).transpose(1, 0, 2)
            hq, hk = T.get(p + "self_attn.query_layernorm.weight"), T.get(p + "self_attn.key_layernorm.weight")
            after = "qk_after_rope" in feat and hq is not None
            if after and not qk_after:  # HunYuan's norms before RoPE: a wrong oracle
                q, k = rms(q, hq), rms(k, hk)
            q, k = ropes[l](q), ropes[l](k)
            if after and qk_after:  # HunYuanDenseV1Attention: each head of the rotated q and k
                q, k = rms(q, hq), rms(k, hk)
            k, v = np.repeat(k, nh // nkv, 0), np.repeat(v, nh // nkv, 0)
            s = cap(q @ k.transpose(0, 2, 1) * qscale, cfg.get("attn_logit_softcapping") if g2 else None) + masks[l]
            pr = np.exp(s - s.max(-1, keepdims=True)); pr /= pr.sum(-1, keepdims=True)
            o = lin((pr @ v).transpose(1, 0, 2).reshape(L, nh * hd), p + "self_attn.o_proj")
            x = x + (rms(o, T[p + "post_attention_layernorm.weight"]) if g2 else o)
            h = rms(x, T[p + ("pre_feedforward_layernorm" if g2 else "post_attention_layernorm") + ".weight"])
            if "relu2_mlp" in feat:  # ArceeMLP (Nemotron's): down(relu(up(h))^2), no gate
                o = lin(np.maximum(lin(h, p + "mlp.up_proj"), 0) ** (2 if square else 1), p + "mlp.down_proj")
            else:
                g = lin(h, p + "mlp.gate_proj")
                o = lin(act(g) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
            x = x + (rms(o, T[p + "post_feedforward_layernorm.weight"]) if g2 else o)
        z = cap(rms(x, T["model.norm.weight"]) @ head.T, cfg.get("final_logit_softcapping") if g2 else None)
        z = z - z.max(-1, keepdims=True); lp = z - np.log(np.exp(z).sum(-1, keepdims=True))
        tot -= lp[np.arange(L - 1), seq[1:]].sum(); cnt += L - 1
    return tot / cnt


FAMILY_ORACLES = {  # model_type -> the oracle written from that family's modeling code
    "phi": oracle_phi_nll, "gpt_neox": oracle_neox_nll, "falcon": oracle_falcon_nll, "gptj": oracle_gptj_nll,
    "stablelm": oracle_stablelm_nll, "gpt2": oracle_gpt2_nll, "cohere": oracle_cohere_nll,
    "cohere2": oracle_cohere_nll, "olmo": oracle_olmo_nll, "granite": oracle_granite_nll, "glm": oracle_glm_nll,
    "glm4": oracle_glm_nll, "nemotron": oracle_nemotron_nll, "gpt_bigcode": oracle_bigcode_nll,
    "starcoder2": oracle_starcoder2_nll, "olmo2": oracle_olmo2_nll, "olmo3": oracle_olmo2_nll,
    "exaone4": oracle_olmo2_nll,
    # InternLM2: LLaMA's block, the LLaMA oracle on the unfused tensors
    "internlm2": lambda cfg, t, ids: oracle_nll(dict(cfg, model_type="llama"), internlm2_to_llama(cfg, t), ids),
    # BLOOM: the names BloomForCausalLM saves; BloomModel's lack "transformer."
    "bloom": lambda cfg, t, ids: oracle_bloom_nll(cfg, {k if k.startswith(("transformer.", "lm_head")) else
                                                        "transformer." + k: v for k, v in t.items()}, ids),
}


def comp_nll(model):
    r = subprocess.run([COMP, "eval", "--model", model, "--text", TEXT, "--seq-len", str(L), "--max-windows", str(W),
                        "--json", "--quiet"], capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr.strip()); return None
    return float(np.log(json.loads(r.stdout.splitlines()[-1])["ppl"]))


QK = 3  # q/k weights scaled up: sharper attention, which RoPE and a sliding window move more


def draws(seed):
    """gen(*shape, sc=1.0): float32 standard normal draws times sc, from a generator seeded with seed."""
    rng = np.random.default_rng(seed)
    return lambda *sh, sc=1.0: (sc * rng.standard_normal(sh)).astype(np.float32)


def matches_oracle(label, path, cfg, t, what=None):
    """comp eval of the model at path == the numpy oracle on its config cfg and tensors t (mean NLL within 1e-5
    relative), what: the features the label stands for; comp's NLL (None when comp eval failed)."""
    ref, got = oracle_nll(cfg, t, ids), comp_nll(path)
    check(got is not None and abs(got - ref) / ref < 1e-5, f"{label}: mean NLL {got} vs numpy oracle {ref:.8f}"
          + (f" ({what})" if what else ""))
    return got


def config_moves_loss(label, path, c, t, got, what):
    """The model at path read with config c instead (the same weights): comp's loss moves more than 5e-4 relative
    away from got, to the oracle's on c (within 1e-5); what: how c differs."""
    nz, oz = comp_nll(with_config(path, c, str(len(os.listdir(tmp))))), oracle_nll(c, t, ids)
    check(nz is not None and abs(nz - got) / got > 5e-4 and abs(nz - oz) / oz < 1e-5,
          f"{label} {what}: the loss changes ({got:.6f} -> {nz}), as in the oracle ({oz:.6f})")


def disagrees(label, got, oz, what):
    """A wrong oracle (what: which one) gives oz, more than 5e-4 relative away from comp's got."""
    check(got is not None and abs(oz - got) / got > 5e-4, f"{label}: {what} gives {oz:.6f}, not comp's {got}")


def refused(label, path, cfg, expect):
    """comp eval of the model at path read with config cfg: exit 1 and one error line holding expect."""
    r = run(["eval", "--model", with_config(path, cfg, str(len(os.listdir(tmp)))), "--text", TEXT, "--seq-len", str(L),
             "--quiet"])
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    check(r.returncode == 1 and len(lines) == 1 and expect in lines[0], f"{label}: {' | '.join(lines)[:240]}")


def prune(model, arc, ratio, remove):
    """comp prune on 4 calibration windows of L tokens, no layer protected; the finished run."""
    return run(["prune", "--model", model, "--calib", TEXT, "--out", arc, "--ratio", str(ratio), "--remove-layers",
                str(remove), "--protect", "none", "--calib-len", str(L), "--calib-samples", "4", "--json", "--quiet"])


def prune_export(model, name, ratio=0.2, remove=0):
    """comp prune (ratio 0.2, no layer removed, unless said) and comp export of model into tmp/name.h5
    and tmp/name-export: (archive, export, exported config, exported tensors), or None after a failed
    check saying which step failed."""
    arc, exp = f"{tmp}/{name}.h5", f"{tmp}/{name}-export"
    res = last_json(prune(model, arc, ratio, remove))
    r = run(["export", arc, "--out", exp]) if res else None
    if r is None or r.returncode != 0:
        check(False, f"{name} pruned and exported: " + (r.stderr.strip() if r is not None else "comp prune failed"))
        return None
    return arc, exp, json.load(open(f"{exp}/config.json")), st_load(f"{exp}/model.safetensors")


def with_config(path, cfg, suffix):
    """A copy of model directory path with cfg as its config.json."""
    d = f"{path}-{suffix}"
    shutil.copytree(path, d)
    json.dump(cfg, open(f"{d}/config.json", "w"), indent=1)
    return d


def layer_attrs(arc, name):
    """Attribute name of each kept layer of an archive, in model order."""
    with h5py.File(arc, "r") as h:
        return [int(h["layers"][g].attrs[name]) for g in sorted(h["layers"])]


def model_attr(arc, name):
    """Attribute name of an archive's /model group (None when absent)."""
    with h5py.File(arc, "r") as h:
        return h["model"].attrs.get(name)


def archive_arch(arc):
    """The comp row an archive was written with (/source attribute arch)."""
    with h5py.File(arc, "r") as h:
        a = h["source"].attrs.get("arch")
    return a.decode() if isinstance(a, bytes) else a


def archive_is_export(name, arc, exp, ecfg, et):
    """comp eval of archive arc == of its export exp (rel < 1e-6) == the numpy oracle on the exported
    tensors et with the exported config ecfg (rel < 1e-5); the archive's NLL."""
    ea, ee, oe = comp_nll(arc), comp_nll(exp), oracle_nll(ecfg, et, ids)
    check(ea is not None and ee is not None and abs(ea - ee) / ea < 1e-6 and abs(ea - oe) / ea < 1e-5,
          f"{name}: comp eval of the archive {ea} == of the export {ee} (rel < 1e-6) == numpy oracle on the export "
          f"{oe:.8f} (rel < 1e-5)")
    return ea


r = subprocess.run([COMP, "tokenize", "--tokenizer", TOK, "--text", TEXT], capture_output=True, text=True)
ids = np.array(json.loads(r.stdout))
variants = [("qwen2", "qwen2", 4, 2, True, False, False, 1, 16),
            ("llama-mha", "llama", 4, 4, False, True, True, 2, 16),
            ("mistral", "mistral", 4, 1, False, False, False, 3, 16),
            ("qwen3", "qwen3", 4, 2, False, False, True, 6, 24),
            ("mistral-swa", "mistral", 4, 1, False, False, False, 7, 16)]
models = {}
for name, mt, nh, nkv, qkv_b, all_b, tied, seed, hd in variants:
    path, cfg, t = make(name, mt, nh, nkv, qkv_b, all_b, tied, seed, hd=hd, qk_scale=QK if "swa" in name else 1,
                        extra={"sliding_window": 16} if "swa" in name else {})
    models[name] = path, cfg, t
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
    if mt == "qwen3":  # q_norm / k_norm weights set to ones (the norms' scales) must give a different loss
        for which in ("q_norm", "k_norm"):
            z = {k: np.ones_like(v) if which in k else v for k, v in t.items()}
            st_save(f"{path}/model.safetensors", z)
            nz = comp_nll(path)
            check(nz is not None and abs(nz - ref) / ref > 1e-3 and abs(nz - oracle_nll(cfg, z, ids)) / ref < 1e-5,
                  f"{name}: {which} weights set to ones change the loss ({ref:.6f} -> {nz}), as in the oracle")
        st_save(f"{path}/model.safetensors", t)
    if "swa" in name:  # the same weights with sliding_window null: full attention, another loss
        fcfg = dict(cfg, sliding_window=None)
        nz, fref = comp_nll(with_config(path, fcfg, "full")), oracle_nll(fcfg, t, ids)
        check(nz is not None and abs(nz - ref) / ref > 1e-3 and abs(nz - fref) / fref < 1e-5,
              f"{name}: with sliding_window null the loss changes ({ref:.6f} -> {nz}), as in the oracle ({fref:.6f})")

# ---- mistral-swa pruned and exported: the window goes through the archive and the export ----------
path, cfg, t = models["mistral-swa"]
arc, exp = f"{tmp}/swa.h5", f"{tmp}/swa-export"
res = last_json(prune(path, arc, 0.2, 0))
r = run(["export", arc, "--out", exp]) if res else None
ecfg = json.load(open(f"{exp}/config.json")) if r and r.returncode == 0 else {}
win = model_attr(arc, "sliding_window") if res else None
check(win == 16 and ecfg.get("sliding_window") == 16 and ecfg.get("model_type") == "mistral",
      f"mistral-swa pruned: archive sliding_window {win}, exported config.json {ecfg.get('sliding_window')}")
if ecfg:
    archive_is_export("mistral-swa", arc, exp, ecfg, st_load(f"{exp}/model.safetensors"))
res = last_json(prune(models["mistral"][0], f"{tmp}/mistral.h5", 0.2, 0))  # no key: MistralConfig's 4096
win = model_attr(f"{tmp}/mistral.h5", "sliding_window") if res else None
check(win == 4096, f"mistral without a sliding_window key: the archive's window {win} (MistralConfig's default 4096)")

# ---- qwen3 pruned and exported: the q/k norms go through the archive unchanged --------------------
path, cfg, t = models["qwen3"]
arc, exp = f"{tmp}/qwen3.h5", f"{tmp}/qwen3-export"
res = last_json(prune(path, arc, 0.3, 1))
check(res is not None, "comp prune of qwen3 (ratio 0.3, one layer removed)")
if res:
    with h5py.File(arc, "r") as h:
        kept = [h[f"layers/{g}"].attrs["orig_index"] for g in sorted(h["layers"])]
        same = all(np.array_equal(h[f"layers/{i:03d}/{n}_norm_w"][()], t[f"model.layers.{o}.self_attn.{n}_norm.weight"])
                   for i, o in enumerate(kept) for n in "qk")
    check(len(kept) == 1 and same, f"archive: kept layer {kept}, its q_norm_w / k_norm_w equal the source's")
    r = run(["export", arc, "--out", exp])
    check(r.returncode == 0, "comp export of the qwen3 archive" + (f": {r.stderr.strip()}" if r.returncode else ""))
if res and r.returncode == 0:
    ecfg, et = json.load(open(f"{exp}/config.json")), st_load(f"{exp}/model.safetensors")
    norms = sorted(k for k in et if "_norm." in k and "self_attn" in k)
    check(ecfg.get("model_type") == "qwen3" and ecfg.get("head_dim") == 24 and
          norms == ["model.layers.0.self_attn.k_norm.weight", "model.layers.0.self_attn.q_norm.weight"],
          f"export: model_type {ecfg.get('model_type')}, head_dim {ecfg.get('head_dim')}, per-head norms {norms}")
    archive_is_export("qwen3", arc, exp, ecfg, et)

# ---- qwen2 with use_sliding_window: the layers from max_window_layers on attend to the last sliding_window keys ------
qspath, qsm, qst = make("qwen2-swa", "qwen2", 4, 2, True, False, False, 42, qk_scale=QK, nl=4, extra=dict(
    use_sliding_window=True, sliding_window=16, max_window_layers=2))
for k in ("self_attn.o_proj", "mlp.down_proj"):  # layer 1 nearly the identity: pruning removes it, so that the kept
    qst[f"model.layers.1.{k}.weight"] *= 0.01  # layers' first windowed one moves from 2 to 1
st_save(f"{qspath}/model.safetensors", qst)
got = matches_oracle("qwen2 use_sliding_window", qspath, qsm, qst, "layers 2 and 3 attend to the last 16 keys")
for what, c in (("max_window_layers 0 (every layer windowed)", dict(qsm, max_window_layers=0)),
                ("use_sliding_window false (no window, as Qwen2Config drops it)", dict(qsm, use_sliding_window=False))):
    config_moves_loss("qwen2", qspath, c, qst, got, f"with {what}")
nz = comp_nll(with_config(qspath, dict(qsm, layer_types=["full_attention"] * 2 + ["sliding_attention"] * 2), "lt"))
check(nz is not None and nz == got, f"qwen2 with the same windows as layer_types: {nz} == {got}")
pe = prune_export(qspath, "qwen2-swa", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    kept, wins = layer_attrs(arc, "orig_index"), layer_attrs(arc, "window")
    want = [16 if i >= 2 else 0 for i in kept]
    kinds = ["sliding_attention" if w else "full_attention" for w in want]
    check(kept == [0, 2, 3] and wins == want and ecfg.get("layer_types") == kinds
          and ecfg.get("max_window_layers") == want.count(0), f"qwen2 use_sliding_window pruned (kept layers {kept}) "
          f"and exported: archive windows {wins}, layer_types {ecfg.get('layer_types')}, max_window_layers "
          f"{ecfg.get('max_window_layers')}")
    archive_is_export("qwen2 use_sliding_window", arc, exp, ecfg, et)
    nz = comp_nll(with_config(exp, {k: v for k, v in ecfg.items() if k != "layer_types"}, "no-lt"))
    check(nz is not None and abs(nz - comp_nll(exp)) < 1e-12, f"the export read by max_window_layers alone (as "
          f"transformers before layer_types): {nz}")
refused("qwen2 with max_window_layers -1", qspath, dict(qsm, max_window_layers=-1),
        'field "max_window_layers" must be a non-negative integer')

# ---- rope_scaling: Llama 3.1's llama3 and linear ----------------------------------------------------
LLAMA3 = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_position_embeddings": 64}  # bands at wavelengths 16 and 64: 2π/inv is 6.3, 20, 63, 199..
LINEAR = {"type": "linear", "factor": 4.0}  # the older "type" key
rope_models = {}
for name, rs, seed in [("llama3", LLAMA3, 4), ("linear", LINEAR, 5)]:
    path, cfg, t = make(f"rope-{name}", "llama", 4, 2, False, False, False, seed, rope_scaling=rs, qk_scale=QK)
    rope_models[name] = path, cfg, t
    inv, band = inv_freq(cfg, cfg["head_dim"])
    if band is not None:
        check(set(band) == {"high", "medium", "low"}, f"rope-{name}: the pairs' bands {list(band)} cover all three")
    ref, got = oracle_nll(cfg, t, ids), comp_nll(path)
    rel = abs(got - ref) / ref if got is not None else 1
    check(rel < 1e-5, f"rope-{name}: mean NLL {got} vs numpy oracle {ref:.8f} (rel {rel:.1e} < 1e-5)")
    pcfg = {k: v for k, v in cfg.items() if k != "rope_scaling"}
    nz, pref = comp_nll(with_config(path, pcfg, "plain")), oracle_nll(pcfg, t, ids)
    check(nz is not None and abs(nz - ref) / ref > 1e-4 and abs(nz - pref) / ref < 1e-5,
          f"rope-{name}: without rope_scaling the loss changes ({ref:.6f} -> {nz}, rel "
          f"{abs((nz or 0) - ref) / ref:.1e} > 1e-4), as in the oracle ({pref:.6f})")
    if band is not None and got is not None:  # an oracle with one band's rule wrong disagrees with comp
        inv0, f = inv_freq(pcfg, cfg["head_dim"])[0], rs["factor"]
        wrong = {"medium pairs kept": np.where(band == "medium", inv0, inv),
                 "medium pairs divided by factor": np.where(band == "medium", inv0 / f, inv),
                 "high pairs divided by factor": np.where(band == "high", inv0 / f, inv)}
        dev = {k: abs(got - oracle_nll(cfg, t, ids, w)) / ref for k, w in wrong.items()}
        check(min(dev.values()) > 1e-4, "rope-llama3: oracles with one band's rule wrong disagree with comp: " +
              ", ".join(f"{k} rel {v:.1e}" for k, v in dev.items()))

# ---- rope_scaling dynamic (NTK): plain RoPE up to max_position_embeddings (transformers' dynamic_rope_update
# changes the base only beyond it, and comp refuses longer sequences) ---------------------------------------
path, cfg, t = rope_models["linear"]
pcfg = {k: v for k, v in cfg.items() if k != "rope_scaling"}
DYN = {"type": "dynamic", "factor": 2.0}
dpath = with_config(path, dict(pcfg, rope_scaling=DYN), "dynamic")
nz, pz, oz = comp_nll(dpath), comp_nll(with_config(path, pcfg, "undynamic")), oracle_nll(pcfg, t, ids)
check(nz is not None and nz == pz and abs(nz - oz) / oz < 1e-5,
      f"rope_scaling dynamic within max_position_embeddings: {nz} == plain RoPE {pz} == oracle {oz:.8f}")
pe = prune_export(dpath, "dynamic")
if pe:
    check(pe[2].get("rope_scaling") == DYN and model_attr(pe[0], "rope_scaling") is None,
          f"rope_scaling dynamic: the archive records no scaling, the export keeps the source's "
          f"{pe[2].get('rope_scaling')}")
r = run(["eval", "--model", dpath, "--text", TEXT, "--seq-len", str(2 * pcfg["max_position_embeddings"]), "--quiet"])
lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
check(r.returncode == 1 and len(lines) == 1 and "larger than the model allows (128 positions)" in lines[0],
      f"rope_scaling dynamic: windows beyond max_position_embeddings (where its base would change) refused: "
      f"{' | '.join(lines)[:200]}")

# ---- transformers 5's config.json: base and scaling in "rope_parameters" --------------------------------
path, cfg, t = rope_models["llama3"]
ref = oracle_nll(cfg, t, ids)
for what, v5, ocfg in (
        ("llama3 scaling and base", dict(LLAMA3, rope_theta=cfg["rope_theta"]), cfg),
        ("base 500000, rope_type default", {"rope_type": "default", "rope_theta": 500000.0},
         dict({k: v for k, v in cfg.items() if k != "rope_scaling"}, rope_theta=500000.0))):
    d = with_config(path, dict({k: v for k, v in cfg.items() if k not in ("rope_scaling", "rope_theta")},
                               rope_parameters=v5), f"v5-{len(os.listdir(tmp))}")
    got, want = comp_nll(d), oracle_nll(ocfg, t, ids)
    check(got is not None and abs(got - want) / want < 1e-5 and (ocfg is cfg or abs(want - ref) / ref > 1e-4),
          f"rope_parameters ({what}): mean NLL {got} vs numpy oracle {want:.8f} (scaled with base "
          f"{cfg['rope_theta']:g}: {ref:.8f})")
    if ocfg is cfg:  # pruned and exported, it keeps rope_parameters (and gains no rope_scaling beside it)
        r = prune(d, f"{d}.h5", 0.2, 0)
        r = r if r.returncode else run(["export", f"{d}.h5", "--out", f"{d}-export"])
        ecfg = json.load(open(f"{d}-export/config.json")) if r.returncode == 0 else {}
        ea, ee = comp_nll(f"{d}.h5"), comp_nll(f"{d}-export") if ecfg else None
        check(ecfg.get("rope_parameters") == v5 and "rope_scaling" not in ecfg and ea is not None and ea == ee,
              f"rope_parameters pruned and exported: {ecfg.get('rope_parameters')}, rope_scaling "
              f"{ecfg.get('rope_scaling')}; eval of the archive {ea} == of the export {ee}")

# ---- the llama3 model pruned: archive attributes, eval, export, an archive without the attributes ----
path, cfg, t = rope_models["llama3"]
arc, exp = f"{tmp}/llama3.h5", f"{tmp}/llama3-export"
res = last_json(prune(path, arc, 0.2, 0))
check(res is not None, "comp prune of rope-llama3 (ratio 0.2, no layer removed)")
if res:
    with h5py.File(arc, "r") as h:
        attrs = dict(h["model"].attrs)
    fields = {k[len("rope_scaling_"):]: v for k, v in attrs.items() if k.startswith("rope_scaling_")}
    check(attrs.get("rope_scaling") == "llama3" and fields == {k: v for k, v in LLAMA3.items() if k != "rope_type"},
          f"archive /model: rope_scaling {attrs.get('rope_scaling')!r} with {fields}")
    r = run(["export", arc, "--out", exp])
    ecfg = json.load(open(f"{exp}/config.json")) if r.returncode == 0 else {}
    ers = ecfg.get("rope_scaling", {})
    floats = all(isinstance(ers.get(k), float) for k in ("factor", "low_freq_factor", "high_freq_factor"))
    check(ers == LLAMA3 and floats, f"comp export: config.json rope_scaling {ers} == the source's (factors floats)"
          + ("" if r.returncode == 0 else f": {r.stderr.strip()}"))
if res and ecfg:
    et = st_load(f"{exp}/model.safetensors")
    ea = archive_is_export("rope-llama3", arc, exp, ecfg, et)
    noattr = f"{tmp}/llama3-no-attrs.h5"  # as an archive written before the rope_scaling attributes
    shutil.copy(arc, noattr)
    with h5py.File(noattr, "r+") as h:
        for k in [k for k in h["model"].attrs if k.startswith("rope_scaling")]:
            del h["model"].attrs[k]
    eo, op = comp_nll(noattr), oracle_nll({k: v for k, v in ecfg.items() if k != "rope_scaling"}, et, ids)
    check(eo is not None and ea is not None and abs(eo - ea) / ea > 1e-4 and abs(eo - op) / op < 1e-5,
          f"the archive without rope_scaling attributes reads as plain RoPE: {eo} (oracle {op:.8f}; scaled {ea})")
    with h5py.File(noattr, "r+") as h:
        h["model"].attrs["rope_scaling"] = "su"
    r = run(["eval", "--model", noattr, "--text", TEXT, "--seq-len", str(L), "--quiet"])
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    check(r.returncode == 1 and len(lines) == 1 and 'rope_scaling = "su" must be linear, llama3, longrope or yarn'
          in lines[0], f"archive with rope_scaling = su: {' | '.join(lines)[:240]}")

# ---- rope_scaling yarn (Qwen2.5 / Qwen3 long context, OLMo 3, SmolLM3; DeepSeek's mscale pair) ---------------
# factor 8 over an original context of 32 (max_position_embeddings 128: transformers before the fix of its issue
# 38224 took 128 / 32 = 4 as the factor); the ramp runs over pairs 0..2 of 8, so that pair 0 keeps its frequency,
# pair 1 is blended half and half and pairs 2..7 are divided by 8; cos and sin times 0.1 ln 8 + 1 = 1.208
YARN = {"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 32}
path, cfg, t = make("rope-yarn", "llama", 4, 2, False, False, False, 14, rope_scaling=YARN, qk_scale=QK)
ycfg = cfg
inv, att = yarn(cfg, cfg["head_dim"])
inv0 = inv_freq({k: v for k, v in cfg.items() if k != "rope_scaling"}, cfg["head_dim"])[0]
share = (inv - inv0 / 8) / (inv0 - inv0 / 8)  # each pair's share of extrapolation
check(np.allclose(share, [1, 0.5, 0, 0, 0, 0, 0, 0]) and abs(att - 1.2079442) < 1e-6,
      f"rope-yarn: the oracle's ramp {np.round(share, 3).tolist()}, attention factor {att:.7f}")
got = matches_oracle("rope-yarn", path, cfg, t, "factor 8, original context 32, attention factor 1.208")
disagrees("rope-yarn", got, oracle_nll(cfg, t, ids, inv=inv0 / 8), "an oracle dividing every pair by the factor")
disagrees("rope-yarn", got, oracle_nll(dict(cfg, rope_scaling=dict(YARN, factor=4.0)), t, ids),
          "an oracle taking max_position_embeddings / original = 4 as the factor (transformers before the fix)")
for what, rs in (("attention_factor 1", dict(YARN, attention_factor=1.0)),
                 ("DeepSeek's mscale 1 / mscale_all_dim 0.5 (attention factor 1.13)",
                  dict(YARN, mscale=1.0, mscale_all_dim=0.5)),
                 ("beta_fast 2, beta_slow 0.1 (the ramp over pairs 0..4)", dict(YARN, beta_fast=2.0, beta_slow=0.1)),
                 ("truncate false (the ramp's end 1.41, not 2)", dict(YARN, truncate=False)),
                 ("no original context (max_position_embeddings 128: the ramp over pairs 0..3)",
                  {k: v for k, v in YARN.items() if k != "original_max_position_embeddings"})):
    config_moves_loss("rope-yarn", path, dict(cfg, rope_scaling=rs), t, got, f"with {what}")
for what, c in (("the older type key", dict(cfg, rope_scaling=dict({k: v for k, v in YARN.items() if k != "rope_type"},
                                                                   type="yarn"))),
                ("transformers 5's rope_parameters", dict({k: v for k, v in cfg.items() if k != "rope_scaling"},
                                                          rope_parameters=dict(YARN, rope_theta=cfg["rope_theta"]))),
                ("beta_fast and beta_slow null, as their defaults", dict(cfg, rope_scaling=dict(
                    YARN, beta_fast=None, beta_slow=None)))):
    nz = comp_nll(with_config(path, c, str(len(os.listdir(tmp)))))
    check(nz is not None and nz == got, f"rope-yarn with {what}: {nz} == {got}")
pe = prune_export(path, "rope-yarn")
if pe:
    arc, exp, ecfg, et = pe
    with h5py.File(arc, "r") as h:
        a = {k[len("rope_scaling_"):]: v for k, v in h["model"].attrs.items() if k.startswith("rope_scaling_")}
        kind = h["model"].attrs.get("rope_scaling")
    want = {"factor": 8.0, "original_max_position_embeddings": 32, "attention_factor": 0.1 * np.log(8) + 1,
            "beta_fast": 32.0, "beta_slow": 1.0, "truncate": 1}
    check(kind == "yarn" and a.keys() == want.keys() and all(abs(a[k] - v) < 1e-15 for k, v in want.items()),
          f"rope-yarn archive /model: rope_scaling {kind!r} with {a}")
    check(ecfg.get("rope_scaling") == dict(YARN, beta_fast=32.0, beta_slow=1.0),
          f"rope-yarn export: config.json rope_scaling {ecfg.get('rope_scaling')} (the source's, the ramp's ends "
          f"written out, the attention factor the default one left out)")
    archive_is_export("rope-yarn", arc, exp, ecfg, et)
ms = dict(cfg, rope_scaling=dict(YARN, mscale=1.0, mscale_all_dim=0.5, truncate=False,
                                 original_max_position_embeddings=128))
pe = prune_export(with_config(path, ms, "mscale"), "rope-yarn-mscale")
if pe:
    ers = pe[2].get("rope_scaling") or {}
    check(ers.keys() == {"rope_type", "factor", "beta_fast", "beta_slow", "attention_factor", "truncate"} and
          abs(ers["attention_factor"] - yarn(ms, 16)[1]) < 1e-15 and ers["truncate"] is False,
          f"rope-yarn with mscale, untruncated, original = max_position_embeddings, exported: {ers} (the attention "
          f"factor written out, the original context left out)")
    archive_is_export("rope-yarn (mscale)", pe[0], pe[1], pe[2], pe[3])


# ---- phi3: fused qkv_proj / gate_up_proj, RoPE on half of each head, a sliding window -------------------
def phi3_fuse(t):
    """LLaMA-named tensors -> Phi-3's: q | k | v rows in qkv_proj, gate | up rows in gate_up_proj."""
    out = {k: v for k, v in t.items() if not k.endswith(("q_proj.weight", "k_proj.weight", "v_proj.weight",
                                                          "gate_proj.weight", "up_proj.weight"))}
    for p in sorted({k[:k.index("self_attn")] for k in t if "self_attn" in k}):
        out[p + "self_attn.qkv_proj.weight"] = np.concatenate([t[p + f"self_attn.{x}_proj.weight"] for x in "qkv"])
        out[p + "mlp.gate_up_proj.weight"] = np.concatenate([t[p + f"mlp.{x}_proj.weight"] for x in ("gate", "up")])
    return out


def phi3_split(t, cfg):
    """Phi-3's tensors -> LLaMA names (the oracle's)."""
    q, kv, F = cfg["num_attention_heads"] * cfg["head_dim"], cfg["num_key_value_heads"] * cfg["head_dim"], \
        cfg["intermediate_size"]
    out = {k: v for k, v in t.items() if not k.endswith(("qkv_proj.weight", "gate_up_proj.weight"))}
    for k, v in t.items():
        p = k[:k.index("self_attn")] if "qkv_proj" in k else k[:k.index("mlp")] if "gate_up_proj" in k else None
        if "qkv_proj" in k:
            out.update({p + "self_attn.q_proj.weight": v[:q], p + "self_attn.k_proj.weight": v[q:q + kv],
                        p + "self_attn.v_proj.weight": v[q + kv:]})
        elif "gate_up_proj" in k:
            out.update({p + "mlp.gate_proj.weight": v[:F], p + "mlp.up_proj.weight": v[F:]})
    return out


PHI3 = {"partial_rotary_factor": 0.5, "sliding_window": 24}
path, cfg, t = make("phi3", "phi3", 4, 2, False, False, False, 8, qk_scale=QK, extra=PHI3)
cfg = dict(cfg, architectures=["Phi3ForCausalLM"], rms_norm_eps=1e-5)
json.dump(cfg, open(f"{path}/config.json", "w"), indent=1)
st_save(f"{path}/model.safetensors", phi3_fuse(t))
ref, got = oracle_nll(cfg, t, ids), comp_nll(path)  # ref: what the changed configs below move away from
check(got is not None and abs(got - ref) / ref < 1e-5, f"phi3: mean NLL {got} vs numpy oracle {ref:.8f} (fused "
      f"qkv_proj and gate_up_proj, RoPE on 8 of 16 dims, sliding_window 24)")
for what, c in (("partial_rotary_factor 1", dict(cfg, partial_rotary_factor=1.0)),
                ("no sliding_window", dict(cfg, sliding_window=None))):
    nz, oz = comp_nll(with_config(path, c, str(len(os.listdir(tmp))))), oracle_nll(c, t, ids)
    check(nz is not None and abs(nz - ref) / ref > 1e-3 and abs(nz - oz) / oz < 1e-5,
          f"phi3 with {what}: the loss changes ({ref:.6f} -> {nz}), as in the oracle ({oz:.6f})")
v5 = {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5}  # transformers 5's place for both
nz = comp_nll(with_config(path, dict({k: v for k, v in cfg.items() if k not in ("partial_rotary_factor", "rope_theta")},
                                     rope_parameters=v5), "v5"))
check(nz is not None and nz == got, f"phi3 with partial_rotary_factor in rope_parameters: {nz} == {got}")
pe = prune_export(path, "phi3")
if pe:
    arc, exp, ecfg, et = pe
    fused = sorted(k for k in et if k.startswith("model.layers.0.") and "proj" in k)
    check(fused == [f"model.layers.0.{x}.weight" for x in ("mlp.down_proj", "mlp.gate_up_proj", "self_attn.o_proj",
                                                           "self_attn.qkv_proj")] and
          et["model.layers.0.self_attn.qkv_proj.weight"].shape == (4 * 16 + 2 * 2 * 16, 64) and
          ecfg.get("partial_rotary_factor") == 0.5 and ecfg.get("sliding_window") == 24,
          f"phi3 pruned and exported: layer 0's tensors {fused}, config partial_rotary_factor "
          f"{ecfg.get('partial_rotary_factor')}, sliding_window {ecfg.get('sliding_window')}")
    archive_is_export("phi3", arc, exp, ecfg, phi3_split(et, ecfg))


# ---- phi3 with longrope (Phi-3-mini-128k, Phi-3.5-mini, Phi-4-mini): factors per rotated pair -----------
rng = np.random.default_rng(9)
LR = {"type": "longrope", "short_factor": list(1 + rng.random(4)), "long_factor": list(2 + 4 * rng.random(4))}
lcfg = dict(cfg, rope_scaling=LR, original_max_position_embeddings=32)  # factor 128 / 32: attention factor 1.18
lpath = with_config(path, lcfg, "longrope")
got = matches_oracle(f"phi3 longrope, {L}-token windows beyond the original 32", lpath, lcfg, t, "the long factors, "
                     "cos and sin times 1.18")
for what, c in (("short and long swapped", dict(lcfg, rope_scaling=dict(LR, short_factor=LR["long_factor"],
                                                                        long_factor=LR["short_factor"]))),
                ("original context 64 (the short factors)", dict(lcfg, original_max_position_embeddings=64)),
                ("attention_factor 2", dict(lcfg, rope_scaling=dict(LR, attention_factor=2.0)))):
    nz, oz = comp_nll(with_config(path, c, str(len(os.listdir(tmp))))), oracle_nll(c, t, ids)
    check(nz is not None and abs(nz - got) / got > 1e-3 and abs(nz - oz) / oz < 1e-5,
          f"phi3 longrope with {what}: the loss changes ({got:.6f} -> {nz}), as in the oracle ({oz:.6f})")
v5 = {"rope_type": "longrope", "rope_theta": 10000.0, "partial_rotary_factor": 0.5, "short_factor": LR["short_factor"],
      "long_factor": LR["long_factor"], "original_max_position_embeddings": 32}  # transformers 5's rope_parameters
nz = comp_nll(with_config(path, dict({k: v for k, v in lcfg.items() if k not in (
    "partial_rotary_factor", "rope_theta", "rope_scaling", "original_max_position_embeddings")}, rope_parameters=v5),
    "longrope-v5"))
check(nz is not None and nz == got, f"phi3 longrope in transformers 5's rope_parameters: {nz} == {got}")
for alias in ("su", "yarn"):  # the first 128k configs' names, which Phi3Config reads as longrope
    nz = comp_nll(with_config(lpath, dict(lcfg, rope_scaling=dict(LR, type=alias)), alias))
    check(nz is not None and nz == got,
          f"phi3 with rope_scaling type {alias!r} (longrope to Phi3Config): {nz} == {got}")
pe = prune_export(lpath, "phi3-longrope")
if pe:
    arc, exp, ecfg, et = pe
    with h5py.File(arc, "r") as h:
        a = h["model"].attrs
        kept = (a.get("rope_scaling"), list(a.get("rope_scaling_short_factor", [])),
                list(a.get("rope_scaling_long_factor", [])), a.get("rope_scaling_original_max_position_embeddings"))
    check(kept == ("longrope", LR["short_factor"], LR["long_factor"], 32),
          f"phi3 longrope archive: rope_scaling {kept[0]}, the factor lists and original context 32 kept exactly "
          f"({kept[3]})")
    ers = ecfg.get("rope_scaling") or {}
    check(ers == LR and ecfg.get("original_max_position_embeddings") == 32,
          f"phi3 longrope export: config.json rope_scaling {sorted(ers)} == the source's three fields (exact "
          f"factors), original_max_position_embeddings {ecfg.get('original_max_position_embeddings')}")
    archive_is_export("phi3 longrope", arc, exp, ecfg, phi3_split(et, ecfg))


# ---- gemma: RMSNorm times 1 + w, the embedding times sqrt(hidden), a tanh-GELU gate, head_dim 256 ----------
gpath, gm, gt = make("gemma", "gemma", 4, 1, False, False, True, 10, hd=32)  # MQA as Gemma-2B, tied
gt = {k: v - 1 if k.endswith("norm.weight") else v for k, v in gt.items()}  # stored w: the scale is 1 + w
gt["model.embed_tokens.weight"] /= 8  # times sqrt(64) in the forward pass: unit-scale rows, as Gemma's
gm = dict(gm, architectures=["GemmaForCausalLM"], hidden_act="gelu", hidden_activation="gelu_pytorch_tanh")
json.dump(gm, open(f"{gpath}/config.json", "w"), indent=1)
st_save(f"{gpath}/model.safetensors", gt)
got = matches_oracle("gemma", gpath, gm, gt, "GemmaRMSNorm, embedding times sqrt(64), gelu_pytorch_tanh, MQA, tied")
for off in ("norm", "scale", "gelu"):  # each Gemma feature moves the loss: an oracle without it disagrees
    oz = oracle_nll(gm, gt, ids, gemma=[f for f in ("norm", "scale", "gelu") if f != off])
    check(got is not None and abs(oz - got) / got > 1e-4, f"gemma: the oracle without its {off} gives {oz:.6f}, "
          f"not comp's {got}")
gcfg = {k: v for k, v in gm.items() if k != "hidden_activation"}  # absent: GemmaMLP's gelu_pytorch_tanh
nz = comp_nll(with_config(gpath, gcfg, "no-hidden-activation"))
check(nz is not None and nz == got, f"gemma without hidden_activation (GemmaConfig's gelu_pytorch_tanh): {nz} == {got}")
pe = prune_export(gpath, "gemma")
if pe:
    arc, exp, ecfg, et = pe
    check(ecfg.get("model_type") == "gemma" and "lm_head.weight" not in et and
          np.array_equal(et["model.layers.0.input_layernorm.weight"], gt["model.layers.0.input_layernorm.weight"]),
          f"gemma pruned and exported: model_type {ecfg.get('model_type')}, tied (no lm_head), the norm weights "
          "written as stored (w, not 1 + w)")
    archive_is_export("gemma", arc, exp, ecfg, et)


# ---- gemma2: Gemma's block with norms after the attention and the MLP, a query scalar, soft-capping, and
# local layers (the even ones) attending to the last sliding_window keys; 5 layers, so that removing one
# changes which kind each position holds ------------------------------------------------------------------
def gemma2_weights(t, D, seed, quiet):
    """t's LLaMA-named tensors as Gemma 2 stores them: every norm weight w (the scale is 1 + w; q/k norms
    too), unit-scale embedding rows (times sqrt(64) in the forward pass), random norms after the attention
    and the MLP; layer quiet's two are -0.95 (times 0.05): it adds little, so stage A removes it."""
    t = {k: v - 1 if k.endswith("norm.weight") else v for k, v in t.items()}
    t["model.embed_tokens.weight"] /= 8
    rng = np.random.default_rng(seed)
    for p in sorted({k[:k.index(".", len("model.layers.")) + 1] for k in t if k.startswith("model.layers.")}):
        t[p + "pre_feedforward_layernorm.weight"] = t[p + "post_attention_layernorm.weight"]
        for k in ("post_attention_layernorm", "post_feedforward_layernorm"):
            t[p + k + ".weight"] = (0.5 * rng.standard_normal(D)).astype(np.float32)
    for k in ("post_attention_layernorm", "post_feedforward_layernorm"):
        t[f"model.layers.{quiet}.{k}.weight"] = np.full(D, -0.95, np.float32)
    return t


g2path, g2m, g2t = make("gemma2", "gemma", 4, 1, False, False, True, 12, hd=32, qk_scale=QK, nl=5)
g2t = gemma2_weights(g2t, g2m["hidden_size"], 11, 3)
g2m = dict(g2m, model_type="gemma2", architectures=["Gemma2ForCausalLM"], hidden_activation="gelu_pytorch_tanh",
           query_pre_attn_scalar=20, attn_logit_softcapping=2.0, final_logit_softcapping=8.0,  # small caps: they bind
           sliding_window=16)  # local layers see 16 of a window's 64 keys
json.dump(g2m, open(f"{g2path}/config.json", "w"), indent=1)
st_save(f"{g2path}/model.safetensors", g2t)
got = matches_oracle("gemma2", g2path, g2m, g2t, "four norms a layer, scores times 20^-1/2 capped at 2, logits "
                     "capped at 8, layers 0, 2, 4 windowed to 16 keys")
for what, lt in (("every layer windowed", ["sliding_attention"] * 5), ("no layer windowed", ["full_attention"] * 5)):
    oz = oracle_nll(dict(g2m, layer_types=lt), g2t, ids)
    disagrees("gemma2", got, oz, f"the oracle with {what}")
for what, c in (("no attention soft-cap", dict(g2m, attn_logit_softcapping=None)),
                ("no logit soft-cap", dict(g2m, final_logit_softcapping=None)),
                ("query_pre_attn_scalar 2", dict(g2m, query_pre_attn_scalar=2)),
                ("layer_types windowing the odd layers",
                 dict(g2m, layer_types=["full_attention", "sliding_attention"] * 2 + ["full_attention"]))):
    config_moves_loss("gemma2", g2path, c, g2t, got, f"with {what}")
# layer 3 removed: the kept layers' kinds no longer alternate from the first (layer 4, now the fourth, is local)
pe = prune_export(g2path, "gemma2", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    orig, wins = layer_attrs(arc, "orig_index"), layer_attrs(arc, "window")
    want = ["sliding_attention" if o % 2 == 0 else "full_attention" for o in orig]
    check(orig == [0, 1, 2, 4] and wins == [16 if o % 2 == 0 else 0 for o in orig] and ecfg.get("layer_types") == want
          and ecfg.get("sliding_window") == 16,
          f"gemma2 archive: kept layers {orig} with windows {wins}; exported layer_types {ecfg.get('layer_types')}")
    post = sorted(k for k in et if k.startswith("model.layers.0.") and "feedforward" in k)
    check(ecfg.get("final_logit_softcapping") == 8.0 and len(post) == 2 and model_attr(arc, "final_softcap") == 8.0,
          f"gemma2 pruned and exported: layer 0's {post}, the caps in the archive and the config")
    ea = archive_is_export("gemma2", arc, exp, ecfg, et)
    by_pos = oracle_nll({k: v for k, v in ecfg.items() if k != "layer_types"}, et, ids)  # Gemma2Config's default
    check(ea is not None and abs(by_pos - ea) / ea > 5e-4,
          f"gemma2 export: the oracle alternating by position ({by_pos:.6f}) disagrees with the archive's {ea}")
    # an archive from before per-layer windows: /model local_window (the even source layers'), no window attributes
    old = f"{tmp}/gemma2-old.h5"
    shutil.copy(arc, old)
    with h5py.File(old, "r+") as h:
        del h["model"].attrs["sliding_window"]
        h["model"].attrs["local_window"] = 16
        for g in h["layers"]:
            del h["layers"][g].attrs["window"]
    nz = comp_nll(old)
    check(nz is not None and nz == ea, f"gemma2 archive with the older local_window attribute: {nz} == {ea}")

# ---- gemma3_text: Gemma 2's layer with q/k norms, 5 local layers to 1 global, the local ones rotating with
# their own base (rope_local_base_freq) and without the global ones' rope_scaling; 7 layers --------------------
g3path, g3m, g3t = make("gemma3", "qwen3", 4, 2, False, False, True, 13, hd=32, qk_scale=QK, nl=7)  # q/k norms
g3t = gemma2_weights(g3t, g3m["hidden_size"], 14, 2)
g3m = {k: v for k, v in g3m.items() if k != "hidden_act"}
g3m.update(model_type="gemma3_text", architectures=["Gemma3ForCausalLM"], hidden_activation="gelu_pytorch_tanh",
           query_pre_attn_scalar=24, sliding_window=16, rope_theta=1000.0, rope_local_base_freq=100.0,
           rope_scaling={"rope_type": "linear", "factor": 8.0})  # no sliding_window_pattern: 6
json.dump(g3m, open(f"{g3path}/config.json", "w"), indent=1)
st_save(f"{g3path}/model.safetensors", g3t)
got = matches_oracle("gemma3_text", g3path, g3m, g3t, "q/k norms times 1 + w, layers 0-4 and 6 windowed to 16 keys "
                     "with base 100, layer 5 global with base 1000 and linear scaling 8")
glob = dict(g3m, model_type="gemma2", layer_types=["sliding_attention" if w else "full_attention"
                                                   for w in windowed(g3m)])  # one RoPE for every layer
oz = oracle_nll(glob, g3t, ids)
disagrees("gemma3_text", got, oz, "the oracle rotating every layer with the global base and scaling")
for what, c in (("sliding_window_pattern 2", dict(g3m, sliding_window_pattern=2)),
                ("rope_local_base_freq 10000 (the default)", {k: v for k, v in g3m.items()
                                                              if k != "rope_local_base_freq"}),
                ("sliding_window 32", dict(g3m, sliding_window=32))):
    config_moves_loss("gemma3_text", g3path, c, g3t, got, f"with {what}")
p2 = dict(g3m, sliding_window_pattern=2)  # three global layers: their scaling moves the loss more than one does
got2, nz = comp_nll(with_config(g3path, p2, "p2")), comp_nll(with_config(g3path, dict(p2, rope_scaling=None), "p2-1"))
oz = oracle_nll(dict(p2, rope_scaling=None), g3t, ids)
check(nz is not None and got2 is not None and abs(nz - got2) / got2 > 5e-4 and abs(nz - oz) / oz < 1e-5,
      f"gemma3_text (sliding_window_pattern 2) without rope_scaling: the loss changes ({got2:.6f} -> {nz}), as in the "
      f"oracle ({oz:.6f})")
v5 = {k: v for k, v in g3m.items() if k not in ("rope_theta", "rope_scaling", "rope_local_base_freq")}
v5["rope_parameters"] = {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000.0},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 100.0}}
nz = comp_nll(with_config(g3path, v5, "v5"))
check(nz is not None and nz == got, f"gemma3_text with transformers 5's rope_parameters per layer kind: {nz} == {got}")
pe = prune_export(g3path, "gemma3", 0.25, 1)
if pe:
    arc, exp, ecfg, et = pe
    orig = layer_attrs(arc, "orig_index")
    kinds = ["full_attention" if o == 5 else "sliding_attention" for o in orig]
    check(orig == [0, 1, 3, 4, 5, 6] and ecfg.get("layer_types") == kinds and model_attr(arc, "rope_theta_local")
          == 100.0 and "model.layers.0.self_attn.q_norm.weight" in et,
          f"gemma3_text: kept layers {orig}, exported layer_types {ecfg.get('layer_types')}, the archive's local base "
          f"{model_attr(arc, 'rope_theta_local')}")
    ea = archive_is_export("gemma3_text", arc, exp, ecfg, et)
    by_pos = oracle_nll({k: v for k, v in ecfg.items() if k != "layer_types"}, et, ids)  # layer 4 global, 5 local
    check(ea is not None and abs(by_pos - ea) / ea > 5e-4,
          f"gemma3_text export: the oracle with the pattern by position ({by_pos:.6f}) disagrees with the archive's "
          f"{ea}")


# ---- phi (Phi-1.5, Phi-2): attention and MLP in parallel on one LayerNorm, biases everywhere, partial RoPE,
# gelu_new, a head with a bias; 4 layers ------------------------------------------------------------------
def phi_model(seed, nl=4, d=64, ff=128, nh=4, V=1024):
    g = draws(seed)
    t = {"model.embed_tokens.weight": g(V, d), "model.final_layernorm.weight": 1 + g(d, sc=0.2),
         "model.final_layernorm.bias": g(d, sc=0.2), "lm_head.weight": g(V, d, sc=d ** -0.5),
         "lm_head.bias": g(V, sc=0.5)}
    for l in range(nl):
        p = f"model.layers.{l}."
        t[p + "input_layernorm.weight"], t[p + "input_layernorm.bias"] = 1 + g(d, sc=0.2), g(d, sc=0.2)
        for n, (o, i) in {"self_attn.q_proj": (d, d), "self_attn.k_proj": (d, d), "self_attn.v_proj": (d, d),
                          "self_attn.dense": (d, d), "mlp.fc1": (ff, d), "mlp.fc2": (d, ff)}.items():
            t[p + n + ".weight"] = g(o, i, sc=(QK if n[-6:] in ("q_proj", "k_proj") else 1) * i ** -0.5)
            t[p + n + ".bias"] = g(o, sc=0.1)
    cfg = {"architectures": ["PhiForCausalLM"], "model_type": "phi", "hidden_size": d, "intermediate_size": ff,
           "num_hidden_layers": nl, "num_attention_heads": nh, "vocab_size": V, "max_position_embeddings": 128,
           "layer_norm_eps": 1e-5, "rope_theta": 10000.0, "partial_rotary_factor": 0.5, "hidden_act": "gelu_new",
           "qk_layernorm": False, "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": 0}
    return write_model("phi", cfg, t)


phpath, phm, pht = phi_model(15)
got = matches_oracle("phi", phpath, phm, pht, "attention and MLP in parallel on one LayerNorm, RoPE on 8 of 16 "
                     "dims, gelu_new, a head with a bias")
oz = oracle_phi_nll(phm, pht, ids, parallel=False)
disagrees("phi", got, oz, "the oracle with a sequential block")
for what, c, tt in (("no head bias", phm, dict(pht, **{"lm_head.bias": np.zeros_like(pht["lm_head.bias"])})),
                    ("partial_rotary_factor 0.25", dict(phm, partial_rotary_factor=0.25), pht)):
    d = f"{tmp}/phi-{len(os.listdir(tmp))}"
    shutil.copytree(phpath, d)
    json.dump(c, open(f"{d}/config.json", "w"))
    st_save(f"{d}/model.safetensors", tt)
    nz, oz = comp_nll(d), oracle_nll(c, tt, ids)
    check(nz is not None and abs(nz - got) / got > 5e-4 and abs(nz - oz) / oz < 1e-5,
          f"phi with {what}: the loss changes ({got:.6f} -> {nz}), as in the oracle ({oz:.6f})")
pe = prune_export(phpath, "phi", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    check(ecfg.get("num_hidden_layers") == 3 and "lm_head.bias" in et and np.array_equal(et["lm_head.bias"],
          pht["lm_head.bias"]) and not any("post_attention" in k for k in et),
          f"phi pruned (a layer removed) and exported: {ecfg.get('num_hidden_layers')} layers, the head's bias "
          f"carried, no second norm")
    archive_is_export("phi", arc, exp, ecfg, et)


# ---- gpt_neox (Pythia, GPT-NeoX-20B): q, k, v fused head by head, parallel residual with two LayerNorms,
# RoPE on a quarter of each head, exact GELU, biases, untied embed_out; 4 layers ---------------------------
def per_head_layer(t, g, p, d, nh, ff, attn):
    """Layer p of the LayerNorm families that fuse q, k, v head by head (GPT-NeoX, BLOOM), into t: rows
    h*3hd + [0, hd) q, [hd, 2hd) k, [2hd, 3hd) v of attn.query_key_value (weight and bias), random
    LayerNorms, attn.dense and the MLP (ff wide) with biases; g(*shape, sc) draws the tensors."""
    hd = d // nh
    for n in ("input_layernorm", "post_attention_layernorm"):
        t[p + n + ".weight"], t[p + n + ".bias"] = 1 + g(d, sc=0.2), g(d, sc=0.2)
    w = [g(d, d, sc=(QK if i < 2 else 1) * d ** -0.5) for i in range(3)]
    b = [g(d, sc=0.1) for _ in range(3)]
    t[p + attn + ".query_key_value.weight"] = np.concatenate([w[i][h * hd:(h + 1) * hd] for h in range(nh)
                                                              for i in range(3)])
    t[p + attn + ".query_key_value.bias"] = np.concatenate([b[i][h * hd:(h + 1) * hd] for h in range(nh)
                                                            for i in range(3)])
    for n, (o, i) in {attn + ".dense": (d, d), "mlp.dense_h_to_4h": (ff, d), "mlp.dense_4h_to_h": (d, ff)}.items():
        t[p + n + ".weight"], t[p + n + ".bias"] = g(o, i, sc=i ** -0.5), g(o, sc=0.1)


def neox_model(seed, nl=4, d=64, ff=128, nh=4, V=1024):
    g = draws(seed)
    t = {"gpt_neox.embed_in.weight": g(V, d), "gpt_neox.final_layer_norm.weight": 1 + g(d, sc=0.2),
         "gpt_neox.final_layer_norm.bias": g(d, sc=0.2), "embed_out.weight": g(V, d, sc=d ** -0.5)}
    for l in range(nl):
        per_head_layer(t, g, f"gpt_neox.layers.{l}.", d, nh, ff, "attention")
    cfg = {"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "hidden_size": d,
           "intermediate_size": ff, "num_hidden_layers": nl, "num_attention_heads": nh, "vocab_size": V,
           "max_position_embeddings": 128, "layer_norm_eps": 1e-5, "rotary_emb_base": 10000, "rotary_pct": 0.25,
           "hidden_act": "gelu", "use_parallel_residual": True, "tie_word_embeddings": False, "bos_token_id": 0,
           "eos_token_id": 0}
    return write_model("neox", cfg, t)


nxpath, nxm, nxt = neox_model(16)
got = matches_oracle("gpt_neox", nxpath, nxm, nxt, "q, k, v head by head in query_key_value, parallel residual, "
                     "RoPE on 4 of 16 dims")
oz = oracle_neox_nll(nxm, nxt, ids, layout="stacked")
disagrees("gpt_neox", got, oz, "the oracle reading query_key_value as q | k | v")
for what, c in (("use_parallel_residual false", dict(nxm, use_parallel_residual=False)),
                ("rotary_pct 0.5", dict(nxm, rotary_pct=0.5)),
                ("rotary_emb_base 100", dict(nxm, rotary_emb_base=100))):
    config_moves_loss("gpt_neox", nxpath, c, nxt, got, f"with {what}")
nx5 = {k: v for k, v in nxm.items() if k not in ("rotary_emb_base", "rotary_pct")}
nz = comp_nll(with_config(nxpath, dict(nx5, rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                                           "partial_rotary_factor": 0.25}), "v5"))
check(nz is not None and nz == got, f"gpt_neox with transformers 5's rope_parameters: {nz} == {got}")
pe = prune_export(nxpath, "neox", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    kept = layer_attrs(arc, "orig_index")
    same = all(np.array_equal(et[f"gpt_neox.layers.{i}.attention.query_key_value.bias"],
                              nxt[f"gpt_neox.layers.{o}.attention.query_key_value.bias"]) for i, o in enumerate(kept))
    check(len(kept) == 3 and same and model_attr(arc, "parallel") == 1,
          f"gpt_neox pruned (kept layers {kept}) and exported: query_key_value's biases written back head by head, "
          f"exactly; the archive's parallel attribute {model_attr(arc, 'parallel')}")
    archive_is_export("gpt_neox", arc, exp, ecfg, et)


# ---- bloom: ALiBi instead of RoPE, the embedding LayerNorm'd, q, k, v fused head by head, a 4 * hidden
# MLP, a tied head; saved as BloomModel saves (no "transformer." prefix); 4 layers of 6 heads --------------
def bloom_model(seed, nl=4, d=96, nh=6, V=1024):
    g = draws(seed)
    t = {"word_embeddings.weight": g(V, d, sc=0.3), "word_embeddings_layernorm.weight": 1 + g(d, sc=0.2),
         "word_embeddings_layernorm.bias": g(d, sc=0.2), "ln_f.weight": 1 + g(d, sc=0.2), "ln_f.bias": g(d, sc=0.2)}
    for l in range(nl):
        per_head_layer(t, g, f"h.{l}.", d, nh, 4 * d, "self_attention")
    cfg = {"architectures": ["BloomForCausalLM"], "model_type": "bloom", "hidden_size": d, "n_layer": nl,
           "n_head": nh, "vocab_size": V, "layer_norm_epsilon": 1e-5, "apply_residual_connection_post_layernorm":
           False, "bos_token_id": 0, "eos_token_id": 0}
    return write_model("bloom", cfg, t)


blpath, blm, blt = bloom_model(17)
got = matches_oracle("bloom", blpath, blm, blt, "ALiBi with 6 heads' slopes, the embedding LayerNorm, q, k, v head "
                     "by head, a tied head; BloomModel's names")
blp = {"transformer." + k: v for k, v in blt.items()}
for what, kw in (("without ALiBi", {"alibi": False}), ("reading q | k | v stacked", {"layout": "stacked"}),
                 ("without the embedding LayerNorm", {"embd_norm": False})):
    oz = oracle_bloom_nll(blm, blp, ids, **kw)
    disagrees("bloom", got, oz, f"the oracle {what}")
d = f"{tmp}/bloom-prefixed"  # the names BloomForCausalLM saves, and BigScience's n_embed for hidden_size
shutil.copytree(blpath, d)
st_save(f"{d}/model.safetensors", blp)
json.dump(dict({k: v for k, v in blm.items() if k != "hidden_size"}, n_embed=blm["hidden_size"]),
          open(f"{d}/config.json", "w"))
nz = comp_nll(d)
check(nz is not None and nz == got, f"bloom with transformer.-prefixed names and n_embed: {nz} == {got}")
pe = prune_export(blpath, "bloom", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    check(ecfg.get("n_layer") == 3 and "num_hidden_layers" not in ecfg and
          "transformer.word_embeddings_layernorm.bias" in et and "lm_head.weight" not in et,
          f"bloom pruned and exported: n_layer {ecfg.get('n_layer')}, the embedding norm carried, the head tied")
    archive_is_export("bloom", arc, exp, ecfg, et)


# ---- internlm2: LLaMA's block under InternLM's names, q, k, v fused kv head by kv head in wqkv (GQA 4/2 here, so
# a group holds two query heads), dynamic NTK rope_scaling as the released configs have it; 3 layers -----------
ipath, icfg, it = make("internlm2-llama", "llama", 4, 2, False, False, False, 18, qk_scale=QK, nl=3)
ref = oracle_nll(icfg, it, ids)


def internlm2_model(name, layout="grouped"):
    t2 = {"model.tok_embeddings.weight": it["model.embed_tokens.weight"], "model.norm.weight": it["model.norm.weight"],
          "output.weight": it["lm_head.weight"]}
    for l in range(icfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        t2[p + "attention.wqkv.weight"] = internlm2_wqkv(icfg, *(it[p + f"self_attn.{x}_proj.weight"] for x in "qkv"),
                                                         layout=layout)
        for n, ln_ in IL2_NAMES.items():
            t2[p + n + ".weight"] = it[p + ln_ + ".weight"]
    c2 = {k: v for k, v in icfg.items() if k not in ("attention_bias", "mlp_bias")}
    c2.update(model_type="internlm2", architectures=["InternLM2ForCausalLM"], bias=False,
              rope_scaling={"type": "dynamic", "factor": 2.0},
              auto_map={"AutoConfig": "configuration_internlm2.InternLM2Config",
                        "AutoModelForCausalLM": "modeling_internlm2.InternLM2ForCausalLM"})
    out, c2, t2 = write_model(name, c2, t2)
    for f in ("configuration_internlm2.py", "modeling_internlm2.py"):  # stand-ins for the remote code
        open(f"{out}/{f}", "w").write("# InternLM's remote code would be here\n")
    return out, c2, t2


i2path, i2cfg, i2t = internlm2_model("internlm2")
got = comp_nll(i2path)
check(got is not None and abs(got - ref) / ref < 1e-5 and abs(oracle_nll(i2cfg, i2t, ids) - ref) < 1e-12,
      f"internlm2: mean NLL {got} vs the LLaMA oracle on the unfused tensors {ref:.8f} (wqkv group by group, GQA 4/2, "
      f"dynamic rope_scaling)")
nz = comp_nll(internlm2_model("internlm2-stacked", layout="stacked")[0])
check(nz is not None and got is not None and abs(nz - got) / got > 5e-4,
      f"internlm2: the same weights with wqkv stacked q | k | v give another loss ({nz} vs {got})")
pe = prune_export(i2path, "internlm2", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    copied = sorted(f for f in os.listdir(exp) if f.endswith(".py"))
    check(ecfg.get("num_hidden_layers") == 2 and copied == ["configuration_internlm2.py", "modeling_internlm2.py"],
          f"internlm2 pruned (a layer removed) and exported: {ecfg.get('num_hidden_layers')} layers, remote code "
          f"{copied}")
    archive_is_export("internlm2", arc, exp, ecfg, et)


# ---- falcon: the three decoders of modeling_falcon.py, one row each; 4 layers of 4 heads --------------------
def falcon_model(name, seed, new, nkv, two_ln, bias, tied, ff=None, extra=None, nl=4, d=64, nh=4, V=1024):
    """A FalconForCausalLM: query_key_value kv head by kv head (each group's query heads, then its k and
    v), q and k rows scaled by QK; LayerNorms ln_attn and ln_mlp (two_ln) or input_layernorm; dense
    biases when bias; lm_head when not tied; the config as FalconConfig writes it for these switches."""
    gen = draws(seed)
    hd, f, g = d // nh, ff or 4 * d, nh // nkv
    t = {"transformer.word_embeddings.weight": gen(V, d, sc=0.25 if tied else 1.0),
         "transformer.ln_f.weight": 1 + gen(d, sc=0.2),
         "transformer.ln_f.bias": gen(d, sc=0.2)}
    if not tied:
        t["lm_head.weight"] = gen(V, d, sc=d ** -0.5)
    for l in range(nl):
        p = f"transformer.h.{l}."
        for n in (("ln_attn", "ln_mlp") if two_ln else ("input_layernorm",)):
            t[p + n + ".weight"], t[p + n + ".bias"] = 1 + gen(d, sc=0.5), gen(d, sc=0.5)
        q, k = gen(nh * hd, d, sc=QK * d ** -0.5), gen(nkv * hd, d, sc=QK * d ** -0.5)
        v = gen(nkv * hd, d, sc=d ** -0.5)
        t[p + "self_attention.query_key_value.weight"] = np.concatenate(
            [m for j in range(nkv) for m in (q[j * g * hd:(j + 1) * g * hd], k[j * hd:(j + 1) * hd],
                                             v[j * hd:(j + 1) * hd])])
        shapes = {"self_attention.query_key_value": (nh + 2 * nkv) * hd, "self_attention.dense": d,
                  "mlp.dense_h_to_4h": f, "mlp.dense_4h_to_h": d}
        for n, (o, i) in {"self_attention.dense": (d, d), "mlp.dense_h_to_4h": (f, d),
                          "mlp.dense_4h_to_h": (d, f)}.items():
            t[p + n + ".weight"] = gen(o, i, sc=i ** -0.5)
        if bias:
            for n, o in shapes.items():
                t[p + n + ".bias"] = gen(o, sc=0.1)
    cfg = {"architectures": ["FalconForCausalLM"], "model_type": "falcon", "hidden_size": d, "num_hidden_layers": nl,
           "num_attention_heads": nh, "vocab_size": V, "layer_norm_epsilon": 1e-5, "alibi": False,
           "new_decoder_architecture": new, "multi_query": True, "parallel_attn": True, "bias": bias,
           "num_kv_heads": nkv if new else nh, "bos_token_id": 0, "eos_token_id": 0}
    if ff:
        cfg["ffn_hidden_size"] = ff
    if not tied:
        cfg["tie_word_embeddings"] = False
    cfg.update(extra or {})
    return write_model(name, cfg, t)


# Falcon-7B's kind: its config has no max_position_embeddings (2048), ffn_hidden_size (4 * hidden) or rope_theta;
# num_kv_heads as transformers writes it for a multi_query model (all heads), which FalconAttention ignores
f7 = falcon_model("falcon-7b", 21, False, 1, False, False, True)
# Falcon-40B's: new_decoder_architecture, GQA 4/2, two LayerNorms, biases, an untied head, a narrower MLP
f40 = falcon_model("falcon-40b", 22, True, 2, True, True, False, ff=96,
                   extra={"rope_theta": 1000.0, "max_position_embeddings": 256})
# Falcon2-11B's: new_decoder_architecture with num_ln_in_parallel_attn 1 (one LayerNorm), GQA 4/2
f11 = falcon_model("falcon2-11b", 23, True, 2, False, False, False, ff=192,
                   extra={"num_ln_in_parallel_attn": 1, "rope_theta": 500042.0, "max_position_embeddings": 8192,
                          "activation": "gelu"})
F_KINDS = (("falcon (7B's kind)", f7, "falcon"), ("falcon (40B's kind)", f40, "falcon_new"),
           ("falcon (11B's kind)", f11, "falcon_new_1ln"))
for label, (fpath, fcfg, ft), _ in F_KINDS:
    got = matches_oracle(label, fpath, fcfg, ft)
    if fcfg["new_decoder_architecture"]:  # one kv head reads the same either way; two do not
        oz = oracle_falcon_nll(fcfg, ft, ids, layout="stacked")
        disagrees(label, got, oz, "the oracle reading query_key_value as q | k | v")
fz = oracle_falcon_nll(f40[1], f40[2], ids, mlp_on_attn_norm=True)
fg = comp_nll(f40[0])
check(fg is not None and abs(fz - fg) / fg > 5e-4, f"falcon (40B's kind): an oracle feeding the MLP ln_attn's output "
      f"gives {fz:.6f}, not comp's {fg}")
old = {("n_embed" if k == "hidden_size" else "n_layer" if k == "num_hidden_layers" else "n_head"
        if k == "num_attention_heads" else k): v for k, v in f7[1].items()}
nz, n7 = comp_nll(with_config(f7[0], old, "old-keys")), comp_nll(f7[0])
check(nz is not None and nz == n7, f"falcon (7B's kind) with n_embed, n_layer, n_head as older configs write: {nz} == "
      f"{n7}")
for label, (fpath, fcfg, ft), kind in F_KINDS[:2]:
    pe = prune_export(fpath, kind, 0.3, 1)
    if pe:
        arc, exp, ecfg, et = pe
        arch = archive_arch(arc)
        check(ecfg.get("num_hidden_layers") == 3 and arch == kind and ("lm_head.weight" in et) != fcfg.get(
            "tie_word_embeddings", True), f"{label} pruned (a layer removed) and exported: archive arch {arch}, "
              f"{ecfg.get('num_hidden_layers')} layers, lm_head {'written' if 'lm_head.weight' in et else 'tied'}")
        archive_is_export(label, arc, exp, ecfg, et)


# ---- gptj: attention and MLP in parallel on one LayerNorm, RoPE on rotary_dim dims in pairs (2i, 2i + 1),
# gelu_new, a head with a bias; 4 layers of 4 heads of 16 --------------------------------------------------
def gptj_model(seed, nl=4, d=64, nh=4, rot=8, V=1024):
    gen = draws(seed)
    t = {"transformer.wte.weight": gen(V, d), "transformer.ln_f.weight": 1 + gen(d, sc=0.2),
         "transformer.ln_f.bias": gen(d, sc=0.2), "lm_head.weight": gen(V, d, sc=d ** -0.5), "lm_head.bias": gen(V)}
    for l in range(nl):
        p = f"transformer.h.{l}."
        t[p + "ln_1.weight"], t[p + "ln_1.bias"] = 1 + gen(d, sc=0.2), gen(d, sc=0.2)
        for n in "qkv":
            t[p + f"attn.{n}_proj.weight"] = gen(d, d, sc=(QK if n != "v" else 1) * d ** -0.5)
        t[p + "attn.out_proj.weight"] = gen(d, d, sc=d ** -0.5)
        for n, (o, i) in {"mlp.fc_in": (4 * d, d), "mlp.fc_out": (d, 4 * d)}.items():
            t[p + n + ".weight"], t[p + n + ".bias"] = gen(o, i, sc=i ** -0.5), gen(o, sc=0.1)
    cfg = {"architectures": ["GPTJForCausalLM"], "model_type": "gptj", "n_embd": d, "n_layer": nl, "n_head": nh,
           "rotary_dim": rot, "n_inner": None, "n_positions": 128, "vocab_size": V, "layer_norm_epsilon": 1e-5,
           "activation_function": "gelu_new", "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": 0}
    return write_model("gptj", cfg, t)


gjpath, gjm, gjt = gptj_model(24)
got = matches_oracle("gptj", gjpath, gjm, gjt, "parallel block, RoPE on 8 of 16 dims in pairs (2i, 2i + 1), a head "
                     "bias")
oz = oracle_gptj_nll(gjm, gjt, ids, pairs="half")
disagrees("gptj", got, oz, "the oracle rotating halves (rotate_half)")
for what, c in (("rotary_dim 16 (the whole head)", dict(gjm, rotary_dim=16)),
                ("n_inner 256 spelled out", dict(gjm, n_inner=256))):
    nz, oz = comp_nll(with_config(gjpath, c, str(len(os.listdir(tmp))))), oracle_nll(c, gjt, ids)
    same = "n_inner" in what
    check(nz is not None and (nz == got if same else abs(nz - got) / got > 1e-4) and abs(nz - oz) / oz < 1e-5,
          f"gptj with {what}: {'the same loss' if same else 'the loss changes'} ({got:.6f} -> {nz}), as in the oracle "
          f"({oz:.6f})")
pe = prune_export(gjpath, "gptj", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    kept = layer_attrs(arc, "orig_index")
    check(len(kept) == 3 and ecfg.get("n_layer") == 3 and np.array_equal(et.get("lm_head.bias"), gjt["lm_head.bias"])
          and ecfg.get("rotary_dim") == 8, f"gptj pruned (kept layers {kept}) and exported: n_layer "
          f"{ecfg.get('n_layer')}, rotary_dim {ecfg.get('rotary_dim')}, the head's bias carried")
    archive_is_export("gptj", arc, exp, ecfg, et)


# ---- stablelm: LLaMA's block with LayerNorms, q/k/v biases, RoPE on a quarter of each head; sequential, and
# with use_parallel_residual (no post_attention_layernorm); 4 layers, GQA 4/2 ----------------------------------
def llama_denses(t, gen, p, d, nh, nkv, ff, qkv_bias=False):
    """LLaMA's denses of layer prefix p into t, drawn by gen(*shape, sc): q, k, v (rows of q and k scaled by QK; GQA
    nh / nkv; each followed by its bias when qkv_bias), o_proj, and the SiLU gate's gate / up / down (ff wide)."""
    hd = d // nh
    for n, o in (("q", nh * hd), ("k", nkv * hd), ("v", nkv * hd)):
        t[p + f"self_attn.{n}_proj.weight"] = gen(o, d, sc=(QK if n != "v" else 1) * d ** -0.5)
        if qkv_bias:
            t[p + f"self_attn.{n}_proj.bias"] = gen(o, sc=0.1)
    t[p + "self_attn.o_proj.weight"] = gen(d, d, sc=d ** -0.5)
    for n, (o, i) in {"gate_proj": (ff, d), "up_proj": (ff, d), "down_proj": (d, ff)}.items():
        t[p + "mlp." + n + ".weight"] = gen(o, i, sc=i ** -0.5)


def stablelm_model(name, seed, parallel, nl=4, d=64, nh=4, nkv=2, ff=128, V=1024):
    gen = draws(seed)
    t = {"model.embed_tokens.weight": gen(V, d), "model.norm.weight": 1 + gen(d, sc=0.2),
         "model.norm.bias": gen(d, sc=0.2), "lm_head.weight": gen(V, d, sc=d ** -0.5)}
    for l in range(nl):
        p = f"model.layers.{l}."
        for n in ("input_layernorm",) + (() if parallel else ("post_attention_layernorm",)):
            t[p + n + ".weight"], t[p + n + ".bias"] = 1 + gen(d, sc=0.3), gen(d, sc=0.3)
        llama_denses(t, gen, p, d, nh, nkv, ff, qkv_bias=True)
    cfg = {"architectures": ["StableLmForCausalLM"], "model_type": "stablelm", "hidden_size": d,
           "intermediate_size": ff, "num_hidden_layers": nl, "num_attention_heads": nh, "num_key_value_heads": nkv,
           "vocab_size": V, "max_position_embeddings": 128, "layer_norm_eps": 1e-5, "rope_theta": 10000,
           "partial_rotary_factor": 0.25, "hidden_act": "silu", "use_qkv_bias": True, "qk_layernorm": False,
           "use_parallel_residual": parallel, "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": 0}
    return write_model(name, cfg, t)


for label, sm in (("stablelm", stablelm_model("stablelm", 25, False)),
                  ("stablelm with use_parallel_residual", stablelm_model("stablelm-par", 26, True))):
    got = matches_oracle(label, sm[0], sm[1], sm[2])
    if sm[1]["use_parallel_residual"]:  # read as the sequential block, its missing MLP norm is one error line
        r = run(["eval", "--model", with_config(sm[0], dict(sm[1], use_parallel_residual=False), "seq"), "--text",
                 TEXT, "--seq-len", str(L), "--quiet"])
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        check(r.returncode == 1 and len(lines) == 1 and "missing tensor model.layers.0.post_attention_layernorm"
              in lines[0], f"{label}: the same weights as a sequential block: {' | '.join(lines)[:200]}")
    else:
        oz = oracle_stablelm_nll(sm[1], sm[2], ids, parallel=True)
        disagrees(label, got, oz, "a parallel-block oracle")
        slpath, slm, slt = sm
pe = prune_export(slpath, "stablelm", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    check(ecfg.get("num_hidden_layers") == 3 and model_attr(arc, "parallel") == 0 and any(
        k.endswith("post_attention_layernorm.bias") for k in et), f"stablelm pruned (a layer removed) and exported: "
          f"{ecfg.get('num_hidden_layers')} layers, archive parallel {model_attr(arc, 'parallel')}, the MLP's norm "
          f"carried")
    archive_is_export("stablelm", arc, exp, ecfg, et)


# ---- gpt2: learned positions, Conv1D denses (weights stored (in, out)), q | k | v side by side in c_attn, gelu_new,
# a tied head; saved as GPT2Model saves (no "transformer."); 4 layers of 4 heads ------------------------------------
def gpt2_model(seed, nl=4, d=64, nh=4, V=1024, P=128):
    gen = draws(seed)
    t = {"wte.weight": gen(V, d, sc=0.3), "wpe.weight": gen(P, d, sc=0.3), "ln_f.weight": 1 + gen(d, sc=0.2),
         "ln_f.bias": gen(d, sc=0.2)}
    for l in range(nl):
        p = f"h.{l}."
        for n in ("ln_1", "ln_2"):
            t[p + n + ".weight"], t[p + n + ".bias"] = 1 + gen(d, sc=0.2), gen(d, sc=0.2)
        qkv = np.concatenate([gen(d, d, sc=(QK if i < 2 else 1) * d ** -0.5) for i in range(3)], axis=1)
        t[p + "attn.c_attn.weight"], t[p + "attn.c_attn.bias"] = qkv, gen(3 * d, sc=0.1)  # (in, out)
        for n, (i, o) in {"attn.c_proj": (d, d), "mlp.c_fc": (d, 4 * d), "mlp.c_proj": (4 * d, d)}.items():
            t[p + n + ".weight"], t[p + n + ".bias"] = gen(i, o, sc=i ** -0.5), gen(o, sc=0.1)
    cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": d, "n_layer": nl, "n_head": nh,
           "n_inner": None, "n_positions": P, "vocab_size": V, "layer_norm_epsilon": 1e-5,
           "activation_function": "gelu_new", "scale_attn_weights": True, "bos_token_id": 0, "eos_token_id": 0}
    return write_model("gpt2", cfg, t)


g2path, g2cfg, g2t = gpt2_model(27)
got = matches_oracle("gpt2", g2path, g2cfg, g2t, "Conv1D denses, learned positions, GPT2Model's names")
oz = oracle_gpt2_nll(g2cfg, g2t, ids, linear=True)
disagrees("gpt2", got, oz, "an oracle reading c_proj as nn.Linear (out, in)")
pre = f"{tmp}/gpt2-prefixed"
shutil.copytree(g2path, pre)
st_save(f"{pre}/model.safetensors", {"transformer." + k: v for k, v in g2t.items()})
nz = comp_nll(pre)
check(nz is not None and nz == got, f"gpt2 with GPT2LMHeadModel's transformer.-prefixed names: {nz} == {got}")
pe = prune_export(g2path, "gpt2", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    kept = layer_attrs(arc, "orig_index")
    shapes = {k: et[k].shape for k in et if k.endswith(("c_attn.weight", "mlp.c_fc.weight"))}
    check(len(kept) == 3 and ecfg.get("n_layer") == 3 and all(
        v == ((64, 192) if "c_attn" in k else (64, 256)) for k, v in shapes.items()) and len(shapes) == 6,
          f"gpt2 pruned (kept layers {kept}) and exported: n_layer {ecfg.get('n_layer')}, Conv1D weights written "
          f"(in, out): {sorted(set(shapes.values()))}")
    archive_is_export("gpt2", arc, exp, ecfg, et)


# ---- cohere: attention and SiLU-gated MLP in parallel on one bias-free LayerNorm, RoPE on whole heads in pairs
# (2i, 2i + 1), GQA 4/2, a tied head, the logits times logit_scale; 4 layers -------------------------------------
def cohere_model(seed, nl=4, d=64, nh=4, nkv=2, ff=128, V=1024):
    gen = draws(seed)
    t = {"model.embed_tokens.weight": gen(V, d), "model.norm.weight": 1 + gen(d, sc=0.2)}
    for l in range(nl):
        p = f"model.layers.{l}."
        t[p + "input_layernorm.weight"] = 1 + gen(d, sc=0.3)
        llama_denses(t, gen, p, d, nh, nkv, ff)
    cfg = {"architectures": ["CohereForCausalLM"], "model_type": "cohere", "hidden_size": d, "intermediate_size": ff,
           "num_hidden_layers": nl, "num_attention_heads": nh, "num_key_value_heads": nkv, "vocab_size": V,
           "max_position_embeddings": 128, "layer_norm_eps": 1e-5, "rope_theta": 1000.0, "logit_scale": 0.25,
           "hidden_act": "silu", "use_qk_norm": False, "attention_bias": False, "bos_token_id": 0, "eos_token_id": 0}
    return write_model("cohere", cfg, t)


copath, com, cot = cohere_model(28)
got = matches_oracle("cohere", copath, com, cot, "parallel block on a bias-free LayerNorm, interleaved RoPE, "
                     "logit_scale 0.25")
for what, kw in (("rotating halves (rotate_half)", {"pairs": "half"}), ("without logit_scale", {"scale": False})):
    oz = oracle_cohere_nll(com, cot, ids, **kw)
    disagrees("cohere", got, oz, f"the oracle {what}")
c5 = {k: v for k, v in com.items() if k != "logit_scale"}  # CohereConfig's default, 0.0625
config_moves_loss("cohere", copath, c5, cot, got, "without a logit_scale key (0.0625)")
pe = prune_export(copath, "cohere", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    check(ecfg.get("num_hidden_layers") == 3 and model_attr(arc, "logit_scale") == 0.25 and "lm_head.weight" not in et,
          f"cohere pruned (a layer removed) and exported: {ecfg.get('num_hidden_layers')} layers, archive logit_scale "
          f"{model_attr(arc, 'logit_scale')}, the head tied")
    archive_is_export("cohere", arc, exp, ecfg, et)


# ---- olmo: LLaMA's block with LayerNorms that have neither weight nor bias (no norm tensors), GQA 4/2, untied --
def olmo_model(seed, nl=4, d=64, nh=4, nkv=2, ff=128, V=1024):
    gen = draws(seed)
    t = {"model.embed_tokens.weight": gen(V, d), "lm_head.weight": gen(V, d, sc=d ** -0.5)}
    for l in range(nl):
        p = f"model.layers.{l}."
        llama_denses(t, gen, p, d, nh, nkv, ff)
    cfg = {"architectures": ["OlmoForCausalLM"], "model_type": "olmo", "hidden_size": d, "intermediate_size": ff,
           "num_hidden_layers": nl, "num_attention_heads": nh, "num_key_value_heads": nkv, "vocab_size": V,
           "max_position_embeddings": 128, "rope_theta": 10000.0, "hidden_act": "silu", "attention_bias": False,
           "clip_qkv": None, "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": 0}
    return write_model("olmo", cfg, t)


olpath, olm, olt = olmo_model(29)
got = matches_oracle("olmo", olpath, olm, olt, "LayerNorms without weight or bias")
oz = oracle_olmo_nll(olm, olt, ids, rms=True)
disagrees("olmo", got, oz, "an oracle with RMSNorms")
pe = prune_export(olpath, "olmo", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    check(ecfg.get("num_hidden_layers") == 3 and not any("norm" in k for k in et), f"olmo pruned (a layer removed) "
          f"and exported: {ecfg.get('num_hidden_layers')} layers, no norm tensors")
    archive_is_export("olmo", arc, exp, ecfg, et)


# ---- granite: LLaMA's block with the embedding, residual and attention multipliers and the logit divisor, GQA 4/2,
# a tied head; 4 layers -----------------------------------------------------------------------------------------
def granite_model(seed, nl=4, d=64, nh=4, nkv=2, ff=128, V=1024):
    gen = draws(seed)
    t = {"model.embed_tokens.weight": gen(V, d, sc=0.3), "model.norm.weight": 1 + gen(d, sc=0.2)}
    for l in range(nl):
        p = f"model.layers.{l}."
        for n in ("input_layernorm", "post_attention_layernorm"):
            t[p + n + ".weight"] = 1 + gen(d, sc=0.3)
        llama_denses(t, gen, p, d, nh, nkv, ff)
    cfg = {"architectures": ["GraniteForCausalLM"], "model_type": "granite", "hidden_size": d, "intermediate_size": ff,
           "num_hidden_layers": nl, "num_attention_heads": nh, "num_key_value_heads": nkv, "vocab_size": V,
           "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "hidden_act": "silu",
           "attention_bias": False, "mlp_bias": False, "tie_word_embeddings": True, "embedding_multiplier": 6.0,
           "residual_multiplier": 0.3, "attention_multiplier": 0.4, "logits_scaling": 2.0, "bos_token_id": 0,
           "eos_token_id": 0}
    return write_model("granite", cfg, t)


grpath, grm, grt = granite_model(30)
got = matches_oracle("granite", grpath, grm, grt, "embedding, residual and attention multipliers, logit divisor")
for key, what in GRANITE_MULT.items():
    oz = oracle_granite_nll(grm, grt, ids, off=(what,))
    disagrees("granite", got, oz, f"the oracle without {key}")
g5 = {k: v for k, v in grm.items() if k not in GRANITE_MULT}  # GraniteConfig's defaults: 1 each
config_moves_loss("granite", grpath, g5, grt, got, "without the multiplier keys (1 each)")
pe = prune_export(grpath, "granite", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    mults = [model_attr(arc, a) for a in ("embd_mult", "residual_mult", "attn_mult", "logit_div")]
    check(ecfg.get("num_hidden_layers") == 3 and mults == [6.0, 0.3, 0.4, 2.0] and all(
        ecfg.get(k) == grm[k] for k in GRANITE_MULT) and "lm_head.weight" not in et, f"granite pruned (a layer "
          f"removed) and exported: {ecfg.get('num_hidden_layers')} layers, archive multipliers {mults}, the config's "
          f"carried, the head tied")
    archive_is_export("granite", arc, exp, ecfg, et)


# ---- olmo2: no norm before the attention or the MLP, RMSNorms of their outputs, q and k RMSNormed over all heads at
# once, GQA 4/2, untied; 4 layers --------------------------------------------------------------------------------
def olmo2_model(seed, nl=4, d=64, nh=4, nkv=2, ff=128, V=1024, name="olmo2", extra=None, damp=None):
    """An OLMo 2 model (name: its directory; extra: config fields over OLMo 2's); layer damp's block outputs times
    0.01 (its post-norm weights), so that it is nearly the identity."""
    gen = draws(seed)
    t = {"model.embed_tokens.weight": gen(V, d), "model.norm.weight": 1 + gen(d, sc=0.2),
         "lm_head.weight": gen(V, d, sc=d ** -0.5)}
    for l in range(nl):
        p = f"model.layers.{l}."
        llama_denses(t, gen, p, d, nh, nkv, ff)
        for n in ("q", "k"):  # heads of unequal size: normalising all at once differs from head by head
            t[p + f"self_attn.{n}_proj.weight"][:d // nh] *= 0.25
        for n in ("post_attention_layernorm", "post_feedforward_layernorm"):
            t[p + n + ".weight"] = 1 + gen(d, sc=0.3)
        t[p + "self_attn.q_norm.weight"] = 2 + gen(d, sc=0.5)  # (H*hd): the whole of q
        t[p + "self_attn.k_norm.weight"] = 2 + gen(d // nh * nkv, sc=0.5)  # (Hkv*hd)
        if l == damp:
            for n in ("post_attention_layernorm", "post_feedforward_layernorm"):
                t[p + n + ".weight"] *= 0.01
    cfg = {"architectures": ["Olmo2ForCausalLM"], "model_type": "olmo2", "hidden_size": d, "intermediate_size": ff,
           "num_hidden_layers": nl, "num_attention_heads": nh, "num_key_value_heads": nkv, "vocab_size": V,
           "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 500000.0, "hidden_act": "silu",
           "attention_bias": False, "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": 0}
    return write_model(name, dict(cfg, **(extra or {})), t)


o2path, o2m, o2t = olmo2_model(31)
got = matches_oracle("olmo2", o2path, o2m, o2t, "norms after the blocks only, q and k normed over all heads at once")
for variant, what in (("per-head", "normalising each head of q and k on its own"),
                      ("pre-norm", "with the layer norms before their blocks")):
    oz = oracle_olmo2_nll(o2m, o2t, ids, variant=variant)
    disagrees("olmo2", got, oz, f"the oracle {what}")
pe = prune_export(o2path, "olmo2", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    with h5py.File(arc, "r") as h:
        qn = {h["layers"][g]["q_norm_w"].shape for g in h["layers"]} | {h["layers"][g]["k_norm_w"].shape
                                                                          for g in h["layers"]}
    check(ecfg.get("num_hidden_layers") == 3 and qn == {(64,), (32,)} and not any(
        "input_layernorm" in k for k in et) and sum(k.endswith("q_norm.weight") for k in et) == 3, f"olmo2 pruned (a "
          f"layer removed) and exported: {ecfg.get('num_hidden_layers')} layers, archive q/k norm shapes {sorted(qn)}, "
          f"no pre-norms")
    archive_is_export("olmo2", arc, exp, ecfg, et)
bad_t = {k: v for k, v in o2t.items() if k != "model.layers.1.self_attn.q_norm.weight"}
bad_t["model.layers.1.self_attn.q_norm.weight"] = o2t["model.layers.1.self_attn.q_norm.weight"][:16]  # one head's
q = f"{tmp}/olmo2-head-q-norm"
shutil.copytree(o2path, q)
st_save(f"{q}/model.safetensors", bad_t)
r = run(["eval", "--model", q, "--text", TEXT, "--seq-len", str(L), "--quiet"])
lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
check(r.returncode == 1 and len(lines) == 1 and "q_norm" in lines[0] and "64" in lines[0], f"olmo2 with a per-head "
      f"q_norm (16 values, not 64): {' | '.join(lines)[:240]}")


# ---- olmo3: OLMo 2's block, layers 0-2 attending to the last 16 keys with plain RoPE, layer 3 to all with the YaRN
# of the long-context checkpoints (Olmo-3-1025-7B's rope_scaling with an original context of 32) -----------------
O3YARN = {"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 32, "beta_fast": 32, "beta_slow": 1,
          "attention_factor": 1.2079441541679836}
o3path, o3m, o3t = olmo2_model(32, name="olmo3", damp=1, extra=dict(  # layer 1 nearly the identity: removed first
    architectures=["Olmo3ForCausalLM"], model_type="olmo3", sliding_window=16, rope_scaling=O3YARN, rope_theta=1e4))
got = matches_oracle("olmo3", o3path, o3m, o3t, "3 layers windowed to 16 keys with plain RoPE, the fourth with YaRN")
for variant, what in (("all-scaled", "rotating every layer with the YaRN (transformers 5.0 to 5.9)"),
                      ("no-window", "masking no layer")):
    disagrees("olmo3", got, oracle_olmo2_nll(o3m, o3t, ids, variant=variant), f"the oracle {what}")
disagrees("olmo3", got, oracle_olmo2_nll(dict(o3m, model_type="olmo2", sliding_window=None), o3t, ids),
          "OLMo 2's reading (no window, every layer scaled)")
config_moves_loss("olmo3", o3path, dict(o3m, layer_types=["full_attention", "sliding_attention", "full_attention",
                                                           "sliding_attention"]), o3t, got,
                  "with layer_types windowing layers 1 and 3 instead")
config_moves_loss("olmo3", o3path, {k: v for k, v in o3m.items() if k != "rope_scaling"}, o3t, got,
                  "without rope_scaling")
o3v5 = {"full_attention": dict(O3YARN, rope_theta=o3m["rope_theta"]),  # transformers 5's per-kind rope_parameters
        "sliding_attention": {"rope_type": "default", "rope_theta": o3m["rope_theta"]}}
nz = comp_nll(with_config(o3path, dict({k: v for k, v in o3m.items() if k not in ("rope_scaling", "rope_theta")},
                                       rope_parameters=o3v5), "v5"))
check(nz is not None and nz == got, f"olmo3 with transformers 5's rope_parameters per layer kind: {nz} == {got}")
pe = prune_export(o3path, "olmo3", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    kept, wins = layer_attrs(arc, "orig_index"), layer_attrs(arc, "window")
    want = ["full_attention" if i == 3 else "sliding_attention" for i in kept]
    check(len(kept) == 3 and 3 in kept and wins == [0 if i == 3 else 16 for i in kept] and ecfg.get("layer_types")
          == want and ecfg.get("rope_scaling") == {k: v for k, v in O3YARN.items() if k != "attention_factor"}
          and model_attr(arc, "rope_theta_local") == o3m["rope_theta"],
          f"olmo3 pruned (kept layers {kept}, the global one among them) and exported: archive windows {wins}, the "
          f"local layers' base {model_attr(arc, 'rope_theta_local')}, layer_types {ecfg.get('layer_types')}, "
          f"rope_scaling {ecfg.get('rope_scaling')} (the attention factor, 0.1 ln 8 + 1, left as the default)")
    archive_is_export("olmo3", arc, exp, ecfg, et)
refused("olmo3 with sliding_window null", o3path, dict(o3m, sliding_window=None),
        "olmo3 with sliding_window null is not supported")


# ---- arcee: LLaMA's attention with the plain MLP up_proj -> relu2 -> down_proj, all biases (attention_bias, mlp_bias),
# GQA 4/2, 4 layers ----------------------------------------------------------------------------------------------------
arpath, arm, art = make("arcee", "arcee", 4, 2, False, True, False, 35, qk_scale=QK, nl=4, extra=dict(
    architectures=["ArceeForCausalLM"], hidden_act="relu2", attention_bias=True, mlp_bias=True))
art = {k: v for k, v in art.items() if "gate_proj" not in k}
st_save(f"{arpath}/model.safetensors", art)
got = matches_oracle("arcee", arpath, arm, art, "a plain relu2 MLP, biases everywhere")
disagrees("arcee", got, oracle_nll(arm, art, ids, square=False), "an oracle with an unsquared ReLU")
pe = prune_export(arpath, "arcee", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    check(ecfg.get("num_hidden_layers") == 3 and not any("gate_proj" in k for k in et) and
          sum(k.endswith("mlp.up_proj.bias") for k in et) == 3, f"arcee pruned (a layer removed) and exported: "
          f"{ecfg.get('num_hidden_layers')} layers, no gate, the MLP biases carried")
    archive_is_export("arcee", arc, exp, ecfg, et)
refused("arcee with a SiLU MLP", arpath, dict(arm, hidden_act="silu"), 'hidden_act "silu" is not supported for arcee')

# ---- seed_oss: LLaMA's block with q/k/v biases (SeedOssConfig's attention_bias: true by default), GQA 4/2 ----------
sopath, som, sot = make("seed-oss", "seed_oss", 4, 2, True, False, False, 36, qk_scale=QK, extra=dict(
    architectures=["SeedOssForCausalLM"], rms_norm_eps=1e-6))
got = matches_oracle("seed_oss", sopath, som, sot, "q/k/v biases, GQA 4/2")
disagrees("seed_oss", got, oracle_nll(som, {k: v for k, v in sot.items() if not k.endswith("bias")}, ids),
          "an oracle without the q/k/v biases")
pe = prune_export(sopath, "seed-oss")
if pe:
    check(pe[2].get("model_type") == "seed_oss" and sum(k.endswith("k_proj.bias") for k in pe[3]) == 2,
          f"seed_oss pruned and exported: model_type {pe[2].get('model_type')}, the k biases carried")
    archive_is_export("seed_oss", *pe)
refused("seed_oss without head_dim (SeedOssConfig's default 128, not the 16 stored)", sopath,
        {k: v for k, v in som.items() if k != "head_dim"}, "q_proj.weight has shape [64,64] but the config implies "
        "[512,64]")

# ---- ernie4_5 and helium: LLaMA's block with RoPE in pairs (2i, 2i + 1); ERNIE with all seven biases (use_bias) and a
# tied head, Helium with q/k/v and MLP biases (attention_bias, mlp_bias; no o_proj bias) ---------------------------
for mt, arch, seed, extra in (("ernie4_5", "Ernie4_5ForCausalLM", 37, dict(use_bias=True, rope_theta=10000.0)),
                              ("helium", "HeliumForCausalLM", 39, dict(attention_bias=True, mlp_bias=True))):
    ppath, pm, pt = make(mt, mt, 4, 2, True, mt == "ernie4_5", mt == "ernie4_5", seed, qk_scale=QK, extra=dict(
        architectures=[arch], **extra))
    if mt == "helium":  # biases on q, k, v and the MLP, none on o_proj
        rng = np.random.default_rng(seed)
        for k in [k for k in pt if k.endswith("mlp.gate_proj.weight") or k.endswith("mlp.up_proj.weight")
                  or k.endswith("mlp.down_proj.weight")]:
            pt[k[:-len("weight")] + "bias"] = (0.5 * rng.standard_normal(pt[k].shape[0])).astype(np.float32)
        st_save(f"{ppath}/model.safetensors", pt)
    got = matches_oracle(mt, ppath, pm, pt, "RoPE in pairs (2i, 2i + 1), biases")
    disagrees(mt, got, oracle_nll(pm, pt, ids, pairs=False), "an oracle rotating halves (LLaMA's rotate_half)")
    pe = prune_export(ppath, mt)
    if pe:
        check(pe[2].get("model_type") == mt and sum(k.endswith("bias") for k in pe[3]) == sum(
            k.endswith("bias") for k in pt), f"{mt} pruned and exported: every bias carried")
        archive_is_export(mt, *pe)

# ---- hunyuan_v1_dense: LLaMA's block with q and k RMSNormed head by head after RoPE (query_layernorm,
# key_layernorm), a tied head, DynamicNTKAlphaRotary's base raised by alpha 1000 --------------------------------------
HYROPE = {"type": "dynamic", "alpha": 1000.0, "factor": 1.0}
hypath, hym, hyt = make("hunyuan", "hunyuan_v1_dense", 4, 2, False, False, True, 41, qk_scale=QK, extra=dict(
    architectures=["HunYuanDenseV1ForCausalLM"], rope_scaling=HYROPE, use_qk_norm=True, use_cla=False))
rng = np.random.default_rng(41)
for l in range(hym["num_hidden_layers"]):
    for n in ("query_layernorm", "key_layernorm"):
        hyt[f"model.layers.{l}.self_attn.{n}.weight"] = (1 + 0.5 * rng.standard_normal(16)).astype(np.float32)
st_save(f"{hypath}/model.safetensors", hyt)
got = matches_oracle("hunyuan", hypath, hym, hyt, "q/k norms after RoPE, base 10000 * 1000^(16/14)")
disagrees("hunyuan", got, oracle_nll(hym, hyt, ids, qk_after=False), "an oracle norming q and k before RoPE")
disagrees("hunyuan", got, oracle_nll(dict(hym, rope_scaling={"type": "dynamic", "factor": 1.0}), hyt, ids),
          "an oracle without alpha (plain dynamic: the base unraised)")
config_moves_loss("hunyuan", hypath, dict(hym, rope_scaling=dict(HYROPE, alpha=10.0)), hyt, got, "with alpha 10")
pe = prune_export(hypath, "hunyuan", 0.3, 1)
if pe:
    check(pe[2].get("rope_scaling") == HYROPE and pe[2].get("rope_theta") == hym["rope_theta"] and
          abs(model_attr(pe[0], "rope_theta") / (1e4 * 1000 ** (16 / 14)) - 1) < 1e-6,
          f"hunyuan pruned and exported: archive base {model_attr(pe[0], 'rope_theta'):.6g} (raised), the export's "
          f"rope_theta {pe[2].get('rope_theta')} and rope_scaling {pe[2].get('rope_scaling')} as the source's")
    archive_is_export("hunyuan", *pe)
refused("hunyuan with use_cla", hypath, dict(hym, use_cla=True), '"use_cla" is set')
refused("hunyuan with use_qk_norm false", hypath, dict(hym, use_qk_norm=False), "use_qk_norm")

# ---- exaone4: OLMo 2's layer with per-head q/k norms; layers 0-2 attending to the last 16 keys and rotating q and k,
# layer 3 to all keys without positions; layer 1 nearly the identity, so that pruning removes it ---------------------
exm = dict(architectures=["Exaone4ForCausalLM"], model_type="exaone4", sliding_window=16, rope_theta=1e4, head_dim=16)
expath, exm, ext = olmo2_model(33, name="exaone4", damp=1, extra=exm)
rng = np.random.default_rng(34)
for k in [k for k in ext if k.endswith(("q_norm.weight", "k_norm.weight"))]:  # one weight of head_dim for every head
    ext[k] = (2 + 0.5 * rng.standard_normal(16)).astype(np.float32)
st_save(f"{expath}/model.safetensors", ext)
got = matches_oracle("exaone4", expath, exm, ext, "3 layers windowed to 16 keys with RoPE, the fourth global without")
for variant, what in (("rope-everywhere", "rotating the global layer too"), ("no-window", "masking no layer")):
    disagrees("exaone4", got, oracle_olmo2_nll(exm, ext, ids, variant=variant), f"the oracle {what}")
for what, c in (("sliding_window null (every layer global and rotating)", dict(exm, sliding_window=None)),
                ("sliding_window_pattern 3 (layer 2 global, 3 windowed)", dict(exm, sliding_window_pattern=3))):
    config_moves_loss("exaone4", expath, c, ext, got, f"with {what}")
lt = ["sliding_attention"] * 3 + ["full_attention"]
nz = comp_nll(with_config(expath, dict(exm, sliding_window_pattern="LLLG", layer_types=lt), "lllg"))
check(nz is not None and nz == got, f"exaone4 with layer_types and the pattern as a string (\"LLLG\", not read, as in "
      f"transformers): {nz} == {got}")
pe = prune_export(expath, "exaone4", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    kept = layer_attrs(arc, "orig_index")
    check(kept == [0, 2, 3] and ecfg.get("layer_types") == ["sliding_attention"] * 2 + ["full_attention"] and
          {et[k].shape for k in et if k.endswith("_norm.weight") and "self_attn" in k} == {(16,)},
          f"exaone4 pruned (kept layers {kept}) and exported: layer_types {ecfg.get('layer_types')}, per-head q/k "
          f"norms")
    archive_is_export("exaone4", arc, exp, ecfg, et)
refused("exaone4 with the pattern as a string and no layer_types (transformers cannot read it either)", expath,
        dict(exm, sliding_window_pattern="LLLG"), 'field "sliding_window_pattern" must be a positive integer')


# ---- starcoder2: LLaMA's attention with LayerNorms, biases everywhere, a tanh-GELU MLP, GQA 4/2, a tied head, a
# sliding window of 24 keys; 4 layers -------------------------------------------------------------------------------
def starcoder2_model(seed, nl=4, d=64, nh=4, nkv=2, ff=128, V=1024):
    gen = draws(seed)
    t = {"model.embed_tokens.weight": gen(V, d, sc=0.3), "model.norm.weight": 1 + gen(d, sc=0.2),
         "model.norm.bias": gen(d, sc=0.2)}
    for l in range(nl):
        p = f"model.layers.{l}."
        for n in ("input_layernorm", "post_attention_layernorm"):
            t[p + n + ".weight"], t[p + n + ".bias"] = 1 + gen(d, sc=0.3), gen(d, sc=0.3)
        for n, (o, i) in {"self_attn.q_proj": (d, d), "self_attn.k_proj": (d // nh * nkv, d),
                          "self_attn.v_proj": (d // nh * nkv, d), "self_attn.o_proj": (d, d), "mlp.c_fc": (ff, d),
                          "mlp.c_proj": (d, ff)}.items():
            t[p + n + ".weight"] = gen(o, i, sc=(QK if n[-6:] in ("q_proj", "k_proj") else 1) * i ** -0.5)
            t[p + n + ".bias"] = gen(o, sc=0.1)
    cfg = {"architectures": ["Starcoder2ForCausalLM"], "model_type": "starcoder2", "hidden_size": d,
           "intermediate_size": ff, "num_hidden_layers": nl, "num_attention_heads": nh, "num_key_value_heads": nkv,
           "vocab_size": V, "max_position_embeddings": 128, "norm_epsilon": 1e-5, "rope_theta": 10000.0,
           "hidden_act": "gelu_pytorch_tanh", "sliding_window": 24, "use_bias": True, "bos_token_id": 0,
           "eos_token_id": 0}
    return write_model("starcoder2", cfg, t)


scpath, scm, sct = starcoder2_model(32)
got = matches_oracle("starcoder2", scpath, scm, sct, "LayerNorms, biases, tanh-GELU MLP, a window of 24 keys")
s0 = dict(scm, sliding_window=None)  # Starcoder2Config's default: every key
config_moves_loss("starcoder2", scpath, s0, sct, got, "with sliding_window null")
pe = prune_export(scpath, "starcoder2", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    check(ecfg.get("num_hidden_layers") == 3 and model_attr(arc, "sliding_window") == 24 and ecfg.get(
        "sliding_window") == 24 and "lm_head.weight" not in et and sum(k.endswith("c_fc.bias") for k in et) == 3,
          f"starcoder2 pruned (a layer removed) and exported: {ecfg.get('num_hidden_layers')} layers, window "
          f"{model_attr(arc, 'sliding_window')} in the archive and {ecfg.get('sliding_window')} in the config, the "
          f"head tied, the biases carried")
    archive_is_export("starcoder2", arc, exp, ecfg, et)


# ---- gpt_bigcode: GPT-2's block with nn.Linear denses; multi_query (c_attn = q | k | v of one kv head) and not
# (q, k, v head by head); 4 layers of 4 heads --------------------------------------------------------------------------
def bigcode_model(name, seed, mq, nl=4, d=64, nh=4, V=1024, P=128):
    gen = draws(seed)
    hd = d // nh
    t = {"transformer.wte.weight": gen(V, d, sc=0.3), "transformer.wpe.weight": gen(P, d, sc=0.3),
         "transformer.ln_f.weight": 1 + gen(d, sc=0.2), "transformer.ln_f.bias": gen(d, sc=0.2)}
    for l in range(nl):
        p = f"transformer.h.{l}."
        for n in ("ln_1", "ln_2"):
            t[p + n + ".weight"], t[p + n + ".bias"] = 1 + gen(d, sc=0.2), gen(d, sc=0.2)
        qkv = gen(d + 2 * hd if mq else 3 * d, d, sc=QK * d ** -0.5)  # (out, in)
        t[p + "attn.c_attn.weight"], t[p + "attn.c_attn.bias"] = qkv, gen(qkv.shape[0], sc=0.1)
        for n, (o, i) in {"attn.c_proj": (d, d), "mlp.c_fc": (4 * d, d), "mlp.c_proj": (d, 4 * d)}.items():
            t[p + n + ".weight"], t[p + n + ".bias"] = gen(o, i, sc=i ** -0.5), gen(o, sc=0.1)
    cfg = {"architectures": ["GPTBigCodeForCausalLM"], "model_type": "gpt_bigcode", "n_embd": d, "n_layer": nl,
           "n_head": nh, "n_inner": None, "n_positions": P, "vocab_size": V, "layer_norm_epsilon": 1e-5,
           "activation_function": "gelu_pytorch_tanh", "multi_query": mq, "scale_attn_weights": True,
           "attention_softmax_in_fp32": True, "scale_attention_softmax_in_fp32": True, "bos_token_id": 0,
           "eos_token_id": 0}
    return write_model(name, cfg, t)


for name, mq, wrong in (("gpt_bigcode", True, "kv-swapped"), ("gpt_bigcode-mha", False, "stacked")):
    bcpath, bcm, bct = bigcode_model(name, 33 + mq, mq)
    got = matches_oracle(name, bcpath, bcm, bct, f"multi_query {mq}")
    oz = oracle_bigcode_nll(bcm, bct, ids, layout=wrong)
    disagrees(name, got, oz, f"the oracle reading c_attn {wrong}")
    pe = prune_export(bcpath, name, 0.3, 1)
    if pe:
        arc, exp, ecfg, et = pe
        kind = archive_arch(arc)
        shapes = {et[k].shape for k in et if k.endswith("c_attn.weight")}
        want = ("gpt_bigcode", (96, 64)) if mq else ("gpt_bigcode_mha", (192, 64))
        check(ecfg.get("n_layer") == 3 and (kind, *shapes) == want and ecfg.get("multi_query") == mq,
              f"{name} pruned (a layer removed) and exported: {ecfg.get('n_layer')} layers, archive arch {kind}, "
              f"c_attn written back {sorted(shapes)}")
        archive_is_export(name, arc, exp, ecfg, et)


# ---- glm, glm4: LLaMA's layer with q/k/v biases, gate | up fused, RoPE on half of each head in pairs, GQA 4/2; glm4
# with norms after each block too; 4 layers -----------------------------------------------------------------------
def glm_model(name, seed, g4, nl=4, d=64, nh=4, nkv=2, ff=128, V=1024):
    gen = draws(seed)
    t = {"model.embed_tokens.weight": gen(V, d), "model.norm.weight": 1 + gen(d, sc=0.2),
         "lm_head.weight": gen(V, d, sc=d ** -0.5)}
    for l in range(nl):
        p = f"model.layers.{l}."
        norms = ("input_layernorm", "post_attention_layernorm") + (
            ("post_self_attn_layernorm", "post_mlp_layernorm") if g4 else ())
        for n in norms:
            t[p + n + ".weight"] = 1 + gen(d, sc=0.3)
        llama_denses(t, gen, p, d, nh, nkv, ff, qkv_bias=True)
        t[p + "mlp.gate_up_proj.weight"] = np.concatenate([t.pop(p + "mlp.gate_proj.weight"),
                                                           t.pop(p + "mlp.up_proj.weight")])
    cfg = {"architectures": ["Glm4ForCausalLM" if g4 else "GlmForCausalLM"], "model_type": "glm4" if g4 else "glm",
           "hidden_size": d, "intermediate_size": ff, "num_hidden_layers": nl, "num_attention_heads": nh,
           "num_key_value_heads": nkv, "head_dim": d // nh, "partial_rotary_factor": 0.5, "vocab_size": V,
           "max_position_embeddings": 128, "rms_norm_eps": 1.5625e-07, "rope_theta": 500.0, "hidden_act": "silu",
           "attention_bias": True, "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": [0, 1]}
    return write_model(name, cfg, t)


for name, g4 in (("glm", False), ("glm4", True)):
    gpath, gcfg, gt = glm_model(name, 35 + g4, g4)
    got = matches_oracle(name, gpath, gcfg, gt, "fused gate | up, q/k/v biases, RoPE on half of each head in "
                         f"pairs{', norms after each block' if g4 else ''}")
    for what, kw in (("rotating halves (rotate_half)", {"pairs": "half"}),) + (
            (("without the norms after each block", {"post": False}),) if g4 else ()):
        oz = oracle_glm_nll(gcfg, gt, ids, **kw)
        disagrees(name, got, oz, f"the oracle {what}")
    pe = prune_export(gpath, name, 0.3, 1)
    if pe:
        arc, exp, ecfg, et = pe
        fused = {et[k].shape for k in et if k.endswith("gate_up_proj.weight")}
        check(ecfg.get("num_hidden_layers") == 3 and fused == {(256, 64)} and sum(
            k.endswith("post_mlp_layernorm.weight") for k in et) == (3 if g4 else 0), f"{name} pruned (a layer "
              f"removed) and exported: {ecfg.get('num_hidden_layers')} layers, gate | up written back fused {fused}")
        archive_is_export(name, arc, exp, ecfg, et)


# ---- nemotron: LayerNorm1P (times 1 + w, plus the bias), a relu2 MLP, RoPE on half of each head, GQA 4/2, attention
# and MLP biases; 4 layers ---------------------------------------------------------------------------------------------
def nemotron_model(seed, nl=4, d=64, nh=4, nkv=2, ff=128, V=1024):
    gen = draws(seed)
    # LayerNorm1P weights stored as w: the scale is 1 + w
    t = {"model.embed_tokens.weight": gen(V, d), "model.norm.weight": gen(d, sc=0.2),
         "model.norm.bias": gen(d, sc=0.2), "lm_head.weight": gen(V, d, sc=d ** -0.5)}
    for l in range(nl):
        p = f"model.layers.{l}."
        for n in ("input_layernorm", "post_attention_layernorm"):
            t[p + n + ".weight"], t[p + n + ".bias"] = gen(d, sc=0.3), gen(d, sc=0.3)
        llama_denses(t, gen, p, d, nh, nkv, ff, qkv_bias=True)
        t.pop(p + "mlp.gate_proj.weight")
        for n, o in (("self_attn.o_proj", d), ("mlp.up_proj", ff), ("mlp.down_proj", d)):
            t[p + n + ".bias"] = gen(o, sc=0.1)
    cfg = {"architectures": ["NemotronForCausalLM"], "model_type": "nemotron", "hidden_size": d,
           "intermediate_size": ff, "num_hidden_layers": nl, "num_attention_heads": nh, "num_key_value_heads": nkv,
           "vocab_size": V, "max_position_embeddings": 128, "norm_eps": 1e-5, "rope_theta": 10000.0,
           "partial_rotary_factor": 0.5, "hidden_act": "relu2", "attention_bias": True, "mlp_bias": True,
           "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": 0}
    return write_model("nemotron", cfg, t)


nmpath, nmm, nmt = nemotron_model(37)
got = matches_oracle("nemotron", nmpath, nmm, nmt, "LayerNorm1P, relu2 MLP, RoPE on 8 of 16 dims, biases")
for what, kw in (("with LayerNorms times w (not 1 + w)", {"unit": False}),
                 ("with relu (not squared)", {"act": "relu"})):
    disagrees("nemotron", got, oracle_nemotron_nll(nmm, nmt, ids, **kw), f"the oracle {what}")
pe = prune_export(nmpath, "nemotron", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    check(ecfg.get("num_hidden_layers") == 3 and sum(k.endswith("up_proj.bias") for k in et) == 3 and np.array_equal(
        et["model.norm.weight"], nmt["model.norm.weight"]), f"nemotron pruned (a layer removed) and exported: "
          f"{ecfg.get('num_hidden_layers')} layers, the MLP biases carried, LayerNorm1P weights written back as stored")
    archive_is_export("nemotron", arc, exp, ecfg, et)


# ---- ministral: Mistral's block with layer_types picking each layer's attention (windowed to 16 keys or full) ------
MLT = ["full_attention", "sliding_attention", "full_attention", "sliding_attention"]
mnpath, mncfg, mnt = make("ministral", "ministral", 4, 2, False, False, False, 38, qk_scale=QK, nl=4,
                          extra={"architectures": ["MinistralForCausalLM"], "sliding_window": 16, "layer_types": MLT})
got = matches_oracle("ministral", mnpath, mncfg, mnt, "layers 1 and 3 windowed to 16 keys, 0 and 2 full")
for what, lt in (("every layer windowed", ["sliding_attention"] * 4), ("no layer windowed", ["full_attention"] * 4)):
    disagrees("ministral", got, oracle_nll(dict(mncfg, layer_types=lt), mnt, ids), f"the oracle with {what}")
m5 = {k: v for k, v in mncfg.items() if k != "layer_types"}  # MinistralConfig's default: every layer windowed
config_moves_loss("ministral", mnpath, m5, mnt, got, "without layer_types (every layer windowed)")
pe = prune_export(mnpath, "ministral", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    kept = layer_attrs(arc, "orig_index")
    check(len(kept) == 3 and ecfg.get("num_hidden_layers") == 3 and ecfg.get("layer_types") == [MLT[i] for i in kept],
          f"ministral pruned (kept layers {kept}) and exported: layer_types {ecfg.get('layer_types')}")
    archive_is_export("ministral", arc, exp, ecfg, et)


# ---- cohere2: Cohere's block, layers 0 and 2 windowed to 16 keys with RoPE, 1 and 3 global without positions -----
c2path = f"{tmp}/cohere2"
shutil.copytree(copath, c2path)
c2m = dict(com, model_type="cohere2", architectures=["Cohere2ForCausalLM"], sliding_window=16,
           sliding_window_pattern=2)
json.dump(c2m, open(f"{c2path}/config.json", "w"), indent=1)
got = matches_oracle("cohere2", c2path, c2m, cot, "layers 0 and 2 windowed to 16 keys with RoPE, 1 and 3 global "
                     "without")
disagrees("cohere2", got, oracle_cohere_nll(c2m, cot, ids, nope=False), "the oracle rotating every layer")
config_moves_loss("cohere2", c2path, dict(c2m, layer_types=["sliding_attention"] * 4), cot, got,
                  "with every layer windowed (layer_types)")
pe = prune_export(c2path, "cohere2", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    kept = layer_attrs(arc, "orig_index")
    want = ["full_attention" if i % 2 else "sliding_attention" for i in kept]
    check(len(kept) == 3 and ecfg.get("layer_types") == want and layer_attrs(arc, "window") == [
        0 if i % 2 else 16 for i in kept], f"cohere2 pruned (kept layers {kept}) and exported: layer windows "
          f"{layer_attrs(arc, 'window')}, layer_types {ecfg.get('layer_types')}")
    archive_is_export("cohere2", arc, exp, ecfg, et)


# ---- smollm3: LLaMA's block with layers 1 and 3 rotating neither q nor k (NoPE) ------------------------------------
smpath, smcfg, smt = make("smollm3", "smollm3", 4, 2, False, False, False, 39, qk_scale=QK, nl=4,
                          extra={"architectures": ["SmolLM3ForCausalLM"], "no_rope_layers": [1, 0, 1, 0],
                                 "no_rope_layer_interval": 4, "use_sliding_window": False})
got = matches_oracle("smollm3", smpath, smcfg, smt, "layers 1 and 3 without RoPE")
disagrees("smollm3", got, oracle_nll(smcfg, smt, ids, nope=False), "the oracle rotating every layer")
s2 = dict({k: v for k, v in smcfg.items() if k != "no_rope_layers"}, no_rope_layer_interval=2)
nz = comp_nll(with_config(smpath, s2, "interval-2"))
check(nz is not None and nz == got, f"smollm3 with no_rope_layer_interval 2 instead of the list: {nz} == {got}")
config_moves_loss("smollm3", smpath, {k: v for k, v in smcfg.items() if k not in ("no_rope_layers",
                                                                                 "no_rope_layer_interval")},
                  smt, got, "without no_rope_layers and its interval (4: layer 3 without RoPE)")
pe = prune_export(smpath, "smollm3", 0.3, 1)
if pe:
    arc, exp, ecfg, et = pe
    kept = layer_attrs(arc, "orig_index")
    want = [[1, 0, 1, 0][i] for i in kept]
    info = last_json(run(["info", arc, "--json"]))
    shown = [int(ly["rope"]) for ly in info["layers"]] if info else None
    check(len(kept) == 3 and layer_attrs(arc, "rope") == want == shown and ecfg.get("no_rope_layers") == want
          and 0 in want, f"smollm3 pruned (kept layers {kept}) and exported: archive rope {layer_attrs(arc, 'rope')} "
          f"(comp info: {shown}), no_rope_layers {ecfg.get('no_rope_layers')}")
    archive_is_export("smollm3", arc, exp, ecfg, et)


# ---- bad configs: one error line, exit 1 (parsed before any weight is read) ----------------------------
def bad(what, cfg, expect, dry_run=False, kind="rope_scaling"):
    d = f"{tmp}/bad-{len(os.listdir(tmp))}"
    os.makedirs(d)
    json.dump(cfg, open(f"{d}/config.json", "w"))
    args = (["prune", "--dry-run", "--model", d, "--ratio", "0.2", "--calib", TEXT] if dry_run else
            ["eval", "--model", d, "--tokenizer", TOK, "--text", TEXT, "--seq-len", str(L), "--quiet"])
    r = run(args)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    check(r.returncode == 1 and len(lines) == 1 and "error" in lines[0] and expect in lines[0],
          f"bad {kind} ({what}, comp {args[0]}): {' | '.join(lines)[:240]}")


def scaled(**rs):
    return dict(cfg, rope_scaling={k: v for k, v in rs.items() if v is not None})


bad("dynamic with another original context", scaled(rope_type="dynamic", factor=2.0,
                                                    original_max_position_embeddings=64),
    "original_max_position_embeddings 64 differs from max_position_embeddings 128")
bad("dynamic with factor 0.5", scaled(rope_type="dynamic", factor=0.5), "factor = 0.5 must be at least 1")
bad("an unknown kind, older type key", scaled(type="ntk-by-parts", factor=4.0),
    'rope_type "ntk-by-parts" is not supported (comp implements linear, llama3, longrope and yarn)', dry_run=True)
bad("yarn with factor 0.5", dict(ycfg, rope_scaling=dict(YARN, factor=0.5)), "factor = 0.5 must be at least 1")
bad("yarn with beta_fast below beta_slow", dict(ycfg, rope_scaling=dict(YARN, beta_fast=1.0, beta_slow=32.0)),
    "beta_fast = 1 and beta_slow = 32 must be positive numbers, beta_fast the larger")
bad("yarn with truncate \"no\"", dict(ycfg, rope_scaling=dict(YARN, truncate="no")),
    '"truncate" must be true or false')
bad("yarn with original context 0", dict(ycfg, rope_scaling=dict(YARN, original_max_position_embeddings=0)),
    "original_max_position_embeddings must be a positive integer", dry_run=True)
bad("yarn with attention_factor 0", dict(ycfg, rope_scaling=dict(YARN, attention_factor=0)),
    "attention_factor = 0 must be a positive number")
bad("no rope_type", scaled(factor=2.0), 'has no "rope_type"')
bad("llama3 without factor", scaled(**dict(LLAMA3, factor=None)), 'has no "factor"')
bad("factor 0", scaled(rope_type="linear", factor=0), "factor = 0 must be a positive number")
bad("low_freq_factor == high_freq_factor", scaled(**dict(LLAMA3, low_freq_factor=4.0)),
    "high_freq_factor = 4 must be greater than low_freq_factor = 4")
bad("rope_scaling and rope_parameters", dict(scaled(**LLAMA3), rope_parameters={"rope_type": "default"}),
    "both rope_scaling and rope_parameters are set")
unscaled = {k: v for k, v in cfg.items() if k != "rope_scaling"}
bad("rope_parameters' base against rope_theta", dict(unscaled, rope_parameters={"rope_type": "default",
                                                                               "rope_theta": 5e5}),
    "rope_parameters' rope_theta 500000 differ")
bad("rope_parameters su (longrope only to Phi3Config)",
    dict(ycfg, rope_scaling=None, rope_parameters={"rope_type": "su", "factor": 4.0}),
    'rope_parameters rope_type "su" is not supported')
bad("OPT (learned positions)",
    {"model_type": "opt", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "ffn_dim": 96,
     "vocab_size": 1024, "max_position_embeddings": 128, "rope_scaling": LINEAR}, "opt has no RoPE")
bad("ChatGLM (its modeling code has no scaling)",
    {"model_type": "chatglm", "hidden_size": 64, "num_layers": 2, "num_attention_heads": 4, "ffn_hidden_size": 96,
     "padded_vocab_size": 1024, "seq_length": 128, "multi_query_attention": True, "multi_query_group_num": 2,
     "kv_channels": 16, "add_qkv_bias": True, "rope_scaling": LINEAR}, "chatglm does not scale its RoPE")
qcfg = models["qwen3"][1]
bad("mistral with sliding_window 0", dict(models["mistral"][1], sliding_window=0),
    'field "sliding_window" must be a positive integer', kind="config")
bad("phi3 longrope with 3 short factors for 4 pairs", dict(lcfg, rope_scaling=dict(LR, short_factor=[1.0] * 3)),
    '"short_factor" has 3 numbers; RoPE rotates 4 pairs', dry_run=True)
bad("phi3 longrope with a factor the top-level original context contradicts",
    dict(lcfg, rope_scaling=dict(LR, factor=2.0)), "factor 2 differs from max_position_embeddings / "
    "original_max_position_embeddings = 4")
bad("phi3 longrope with a zero long factor", dict(lcfg, rope_scaling=dict(LR, long_factor=[1.0, 0, 1.0, 1.0])),
    "long_factor[1] = 0 must be a positive number")
bad("phi3 with two rotary factors", dict(cfg, rope_parameters={"rope_type": "default", "partial_rotary_factor": 0.75}),
    "rope_parameters' partial_rotary_factor 0.75 differs", kind="config")
bad("gemma with an exact GELU", dict(gm, hidden_activation="gelu"),
    'activation hidden_activation "gelu" is not supported for gemma (expected gelu_pytorch_tanh or gelu_new or '
    'gelu_fast)',
    kind="config")
bad("qwen3 with a sliding-window layer", dict(qcfg, layer_types=["full_attention", "sliding_attention"]),
    'layer_types[1] = "sliding_attention" is not supported for qwen3 without a sliding_window', dry_run=True,
    kind="config")
bad("gemma2 with a chunked-attention layer", dict(g2m, layer_types=["full_attention"] * 4 + ["chunked_attention"]),
    'layer_types[4] = "chunked_attention" is not supported', kind="config")
bad("gemma3_text with sliding_window null", dict(g3m, sliding_window=None),
    "gemma3 with sliding_window null is not supported", kind="config")
bad("gemma3_text with a scaled local RoPE", dict(v5, rope_parameters={"sliding_attention": {
    "rope_type": "linear", "factor": 2.0}}), "sliding_attention must be plain RoPE", dry_run=True, kind="config")
bad("qwen3 with rope_parameters per layer kind", dict(qcfg, rope_parameters={"full_attention": {
    "rope_type": "default"}}), "rope_parameters per layer kind are not supported for qwen3", kind="config")
bad("phi with qk_layernorm", dict(phm, qk_layernorm=True), "qk_layernorm = true is not supported for phi",
    kind="config")
bad("phi with an exact GELU", dict(phm, hidden_act="gelu"), 'activation hidden_act "gelu" is not supported for phi',
    kind="config")
bad("gpt_neox with use_parallel_residual 1", dict(nxm, use_parallel_residual=1),
    'field "use_parallel_residual" must be true or false', kind="config")
bad("bloom with apply_residual_connection_post_layernorm", dict(blm, apply_residual_connection_post_layernorm=True),
    "apply_residual_connection_post_layernorm = true is not supported for bloom", kind="config")
bad("bloom with a rope_scaling", dict(blm, rope_scaling={"rope_type": "linear", "factor": 2.0}),
    "bloom has no RoPE (ALiBi)")
bad("gemma2 with 3 layer_types for 5 layers", dict(g2m, layer_types=["full_attention"] * 3),
    "layer_types has 3 entries for 5 layers", dry_run=True, kind="config")
bad("falcon with ALiBi (Falcon-RW)", dict(f7[1], alibi=True), "alibi = true is not supported for falcon",
    kind="config")
bad("falcon with a sequential block", dict(f40[1], parallel_attn=False),
    "parallel_attn = false is not supported for falcon_new", kind="config")
bad("falcon, multi-head without new_decoder_architecture", dict(f7[1], multi_query=False),
    "falcon with new_decoder_architecture = false, multi_query = false, num_ln_in_parallel_attn = absent is not "
    "supported (comp implements falcon: new_decoder_architecture false multi_query true; ", dry_run=True, kind="config")
bad("falcon with num_ln_in_parallel_attn 3", dict(f40[1], num_ln_in_parallel_attn=3),
    "num_ln_in_parallel_attn = 3 is not supported", kind="config")
for x in (1.5, 1e300):
    bad(f"falcon with num_ln_in_parallel_attn {x}", dict(f40[1], num_ln_in_parallel_attn=x),
        'field "num_ln_in_parallel_attn" must be an integer', kind="config")
bad("falcon with a ReLU", dict(f7[1], activation="relu"), 'activation activation "relu" is not supported for falcon',
    kind="config")
bad("gptj with rotary_dim null", dict(gjm, rotary_dim=None), "rotary_dim null is not supported for gptj",
    dry_run=True, kind="config")
bad("gptj with rotary_dim 5 of 16", dict(gjm, rotary_dim=5), "RoPE on 5 of the 16 dims of a head (rotary_dim)",
    kind="config")
bad("gptj with a rope_scaling", dict(gjm, rope_scaling={"rope_type": "linear", "factor": 2.0}),
    "but gptj does not scale its RoPE")
bad("stablelm with qk_layernorm", dict(slm, qk_layernorm=True), "qk_layernorm = true is not supported for stablelm",
    kind="config")
bad("gpt2 with scale_attn_by_inverse_layer_idx", dict(g2cfg, scale_attn_by_inverse_layer_idx=True),
    "scale_attn_by_inverse_layer_idx = true is not supported for gpt2", kind="config")
bad("gpt2 with a rope_scaling", dict(g2cfg, rope_scaling={"rope_type": "linear", "factor": 2.0}),
    "gpt2 has no RoPE (learned positions)")
bad("cohere with use_qk_norm", dict(com, use_qk_norm=True), "use_qk_norm = true is not supported for cohere",
    kind="config")
bad("cohere with logit_scale 0", dict(com, logit_scale=0), 'field "logit_scale" must be a positive number',
    kind="config")
bad("olmo with clip_qkv", dict(olm, clip_qkv=8.0), '"clip_qkv" is set; comp does not implement it for olmo',
    kind="config")
bad("nemotron with rope_scaling", dict(nmm, rope_scaling={"rope_type": "linear", "factor": 2.0}), "rope_scaling",
    kind="config")
bad("smollm3 with 2 no_rope_layers for 4 layers", dict(smcfg, no_rope_layers=[1, 0]),
    'field "no_rope_layers" must be a list of at least 4 entries', kind="config")
bad("smollm3 with no_rope_layers [1, 2, 1, 0]", dict(smcfg, no_rope_layers=[1, 2, 1, 0]),
    "no_rope_layers[1] must be 0 or 1", kind="config")
bad("smollm3 with use_sliding_window", dict(smcfg, use_sliding_window=True, sliding_window=16),
    "use_sliding_window = true is not supported for smollm3", kind="config")
bad("granite with attention_multiplier 0", dict(grm, attention_multiplier=0),
    'field "attention_multiplier" must be a positive number', kind="config")
bad("granite with residual_multiplier 1e300", dict(grm, residual_multiplier=1e300),
    'field "residual_multiplier" must be a positive number below 1e30', kind="config")
q = f"{tmp}/qwen3-no-k-norm"  # a Qwen3 checkpoint without one of its per-head norms
shutil.copytree(models["qwen3"][0], q)
st_save(f"{q}/model.safetensors",
        {k: v for k, v in models["qwen3"][2].items() if k != "model.layers.1.self_attn.k_norm.weight"})
r = run(["eval", "--model", q, "--text", TEXT, "--seq-len", str(L), "--quiet"])
lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
check(r.returncode == 1 and len(lines) == 1 and "missing tensor model.layers.1.self_attn.k_norm.weight" in lines[0],
      f"qwen3 without layer 1's k_norm: {' | '.join(lines)[:240]}")
# --help and the unknown-model_type error name every family, from the architecture table
TYPES = ["llama", "mistral", "qwen2", "qwen3", "phi3", "phi", "gemma", "gemma2", "gemma3_text", "gpt_neox", "bloom",
         "internlm2", "falcon", "gptj", "stablelm", "gpt2", "cohere", "olmo", "opt", "chatglm"]
for cmd in ("prune", "eval", "generate"):
    line = next((ln for ln in run([cmd, "--help"]).stdout.splitlines() if ln.strip().startswith("--model")), "")
    check(all(f" {t}," in line or f" {t})" in line for t in TYPES), f"comp {cmd} --help: {line.strip()[:160]}")
bad("an unknown model_type", dict(cfg, model_type="gemma3"), 'model_type "gemma3" (supported: llama, ',
    kind="config")
shutil.rmtree(tmp, ignore_errors=True)
finish()
