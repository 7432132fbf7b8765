#!/bin/sh
# The whole pipeline under AddressSanitizer + UBSan (registered only in a -DCOMP_SANITIZE=ON build):
# prune (comp and a baseline) / info / export / eval of the embedded default model, on 1 and 2
# ranks, with leak checking. lsan.supp names the libraries whose own start-up allocations LSan
# reports (Open MPI, hwloc, PETSc); slow unwinding is needed so that those frames are seen.
set -eu
M="$COMP_SRC/models/default"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0
export LSAN_OPTIONS=suppressions=$(dirname "$0")/lsan.supp
P="--model $M --calib $M/sample.txt --protect 0,-1 --quiet --force"
"$COMP" prune $P --ratio 0.3 --remove-layers 1 --importance cond_fisher --out "$T/a.h5"
"$COMP" prune $P --ratio 0.3 --method wanda-sp --out "$T/b.h5"
"$COMP" prune $P --ratio 0.3 --inputs within-layer --no-mask-tuning --out "$T/w.h5"
"$COMP" info "$T/a.h5" >/dev/null
"$COMP" export "$T/a.h5" --out "$T/exp" --force >/dev/null
"$COMP" eval --model "$T/a.h5" --text "$M/sample.txt" --seq-len 128 --max-windows 4 --quiet >/dev/null
"$COMP" eval --model "$T/exp" --text "$M/sample.txt" --seq-len 128 --max-windows 4 --quiet >/dev/null
mpiexec -n 2 "$COMP" prune $P --ratio 0.2 --neuron-allocation uniform --out "$T/c.h5"
mpiexec -n 2 "$COMP" prune $P --ratio 0.2 --inputs pruned --importance obs --out "$T/p.h5"
# a failing run must not leak or crash either
if "$COMP" prune $P --ratio 0.3 --remove-layers 9 --out "$T/d.h5" 2>/dev/null; then
  echo "FAIL: --remove-layers 9 succeeded"; exit 1
fi
test ! -e "$T/d.h5"
# eval archive, info of it, and a sweep (jobs file parsing, in-process prune/eval, done markers)
"$COMP" eval --model "$T/a.h5" --text "$M/sample.txt" --seq-len 128 --max-windows 4 --quiet --out "$T/r.h5" >/dev/null
"$COMP" info "$T/r.h5" --json >/dev/null
cat > "$T/jobs.json" <<EOF
{"name": "asan", "ranks": 2, "time": "00:05:00",
 "models": [{"name": "default", "path": "\${COMP_SRC}/models/default", "prune_args": ["--protect", "0,-1"]}],
 "calib": {"text": "\${COMP_SRC}/models/default/sample.txt", "samples": 4, "len": 64},
 "evals": [{"name": "sample", "text": "\${COMP_SRC}/models/default/sample.txt", "seq_len": 128, "max_windows": 4}],
 "ratios": [0.3], "variants": [{"name": "comp", "args": []}, {"name": "wanda-sp", "args": ["--method", "wanda-sp"]}],
 "seeds": [0], "dense": true}
EOF
"$COMP" sweep list "$T/jobs.json" --out-dir "$T/sw" --json >/dev/null
mpiexec -n 2 "$COMP" sweep run "$T/jobs.json" --out-dir "$T/sw" --cell all --quiet
"$COMP" sweep run "$T/jobs.json" --out-dir "$T/sw" --cell all --quiet
test "$("$COMP" sweep list "$T/jobs.json" --out-dir "$T/sw" | grep -c ' done$')" = 3
sed 's/"comp", "args": \[\]/"comp", "args": ["--bogus"]/' "$T/jobs.json" > "$T/bad.json"
if "$COMP" sweep run "$T/bad.json" --out-dir "$T/sw2" --cell all 2>/dev/null; then
  echo "FAIL: a bad variant arg was accepted"; exit 1
fi
# Llama-3 / Qwen2 kinds: a Split pre-tokenizer behind NFC (and o200k's Split); rope_scaling llama3,
# pruned and exported
mkdir "$T/l3"
cp "$M/model.safetensors" "$M/tokenizer_config.json" "$T/l3/"
/usr/bin/python3 - "$M" "$T/l3" <<'PY'
import json, sys
m, d = sys.argv[1:]
tj = json.load(open(f"{m}/tokenizer.json", encoding="utf-8"))
tj["normalizer"] = {"type": "NFC"}
tj["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
    r"\s*[\r\n]+|\s+(?!\S)|\s+")}, "behavior": "Isolated", "invert": False},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
json.dump(tj, open(f"{d}/tokenizer.json", "w", encoding="utf-8"), ensure_ascii=False)
U, L = r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]", r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]"  # o200k (GPT-4o, Phi-4-mini)
c, p = "(?i:'s|'t|'re|'ve|'m|'ll|'d)", r"[^\r\n\p{L}\p{N}]?"
tj["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = (
    f"{p}{U}*{L}+{c}?|{p}{U}+{L}*{c}?|" + r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
json.dump(tj, open(f"{d}/o200k.json", "w", encoding="utf-8"), ensure_ascii=False)
bloom = " ?[^(\\s|[.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c])]+"  # BLOOM's Split regex
tj["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = bloom
json.dump(tj, open(f"{d}/bloom.json", "w", encoding="utf-8"), ensure_ascii=False)
tj["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [  # Falcon's
    {"type": "Punctuation", "behavior": "Contiguous"},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    {"type": "Digits", "individual_digits": False},
    {"type": "Split", "pattern": {"Regex": "[0-9][0-9][0-9]"}, "behavior": "Isolated", "invert": False}]}
json.dump(tj, open(f"{d}/falcon.json", "w", encoding="utf-8"), ensure_ascii=False)
cfg = json.load(open(f"{m}/config.json"))
cfg["rope_scaling"] = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                       "original_max_position_embeddings": 64}
json.dump(cfg, open(f"{d}/config.json", "w"))
PY
printf 'DON\047T 12345 cafe\314\201 \341\204\200\341\205\241 !!\r\n\r\n  x\n' > "$T/edge.txt"
"$COMP" tokenize --tokenizer "$T/l3/tokenizer.json" --text "$T/edge.txt" --decode >/dev/null
printf 'camelCase HTTPServer \307\205ungla \314\201x .\314\201a We\047LL !\n/x\n' >> "$T/edge.txt"
"$COMP" tokenize --tokenizer "$T/l3/o200k.json" --text "$T/edge.txt" --decode >/dev/null
printf 'a\342\200\246b\343\200\202c (x|y) !?. ,w\n' >> "$T/edge.txt"
"$COMP" tokenize --tokenizer "$T/l3/bloom.json" --text "$T/edge.txt" --decode >/dev/null
printf '\320\262\320\262 \303\2622 \302\262\302\2631 2024 \302\2757 a...b!!?\n' >> "$T/edge.txt"
"$COMP" tokenize --tokenizer "$T/l3/falcon.json" --text "$T/edge.txt" --decode >/dev/null
"$COMP" tokenize --tokenizer "$T/l3/tokenizer.json" --text "$M/sample.txt" >/dev/null
"$COMP" prune --model "$T/l3" --calib "$M/sample.txt" --protect 0,-1 --quiet --force --ratio 0.3 --out "$T/l3.h5"
"$COMP" export "$T/l3.h5" --out "$T/l3exp" --force >/dev/null
"$COMP" eval --model "$T/l3exp" --text "$M/sample.txt" --seq-len 128 --max-windows 4 --quiet >/dev/null
# Qwen3 (per-head q/k norms, in the archive's layer vectors; YaRN's ramp and attention factor) and Phi-3 (fused qkv_proj
# / gate_up_proj, RoPE on half of each head, a sliding window, longrope's factor lists in the archive's attributes) made
# from the default model, pruned, exported, evaluated (Phi-3's archive also on windows within its original context: the
# short factors), Gemma (RMSNorm times 1 + w, a tanh-GELU gate, a scaled embedding), Gemma-2 (four norms a layer,
# soft-capped scores and logits, local layers) and Gemma-3 (q/k norms, local layers rotating with their own base), Phi-2
# (attention and MLP in parallel on one LayerNorm, a head with a bias), GPT-NeoX (q, k, v fused head by head, a parallel
# block with two LayerNorms), BLOOM (ALiBi, the embedding LayerNorm'd; BloomModel's tensor names), Falcon-40B's decoder
# (q, k, v fused kv head by kv head, ln_attn and ln_mlp), GPT-J (interleaved RoPE on a quarter of each head, a head
# bias) and StableLM (LayerNorms with biases, RoPE on a quarter of each head, the sequential block) and GPT-2 (learned
# positions, Conv1D weights stored (in, out), read by column blocks and written back transposed) and Cohere (the
# parallel block on a bias-free LayerNorm, interleaved RoPE, the logits scaled) and OLMo (LayerNorms without parameters)
# and Granite (the four multipliers) and OLMo-2 (norms after the blocks only, q and k normed over all heads at once) and
# GPT-BigCode (GPT-2's block with nn.Linear denses and one key/value head in c_attn) and Nemotron (LayerNorm1P, a relu2
# MLP) and SmolLM3 (every second layer without RoPE, carried through the archive per layer) and OLMo-3 (OLMo-2's block,
# windowed layers with plain RoPE, the global ones with YaRN) and EXAONE-4 (OLMo-2's layer with per-head q/k norms,
# global layers without RoPE) and Arcee (LLaMA's attention with a plain relu2 MLP) and ERNIE 4.5 (RoPE in pairs) and
# HunYuan (q/k norms after RoPE, a base raised by alpha)
mkdir "$T/q3" "$T/p3" "$T/g1" "$T/g2" "$T/g3" "$T/ph" "$T/nx" "$T/bl" "$T/fa" "$T/gj" "$T/sl" "$T/gp" "$T/co" "$T/ol" \
  "$T/gr" "$T/o2" "$T/o3" "$T/ex" "$T/ar" "$T/er" "$T/hy" "$T/bc" "$T/nm" "$T/s3"
/usr/bin/python3 - "$M" "$T" <<'PY'
import json, os, sys
import numpy as np
sys.path.insert(0, os.path.join(os.environ["COMP_SRC"], "tests", "e2e"))
from e2e_common import st_load, st_save  # noqa: E402
m, t = sys.argv[1:]
cfg = json.load(open(f"{m}/config.json"))
w = {k: v.astype(np.float32) for k, v in st_load(f"{m}/model.safetensors").items()}
hd, rng = cfg["head_dim"], np.random.default_rng(0)
q3 = dict(w, **{f"model.layers.{l}.self_attn.{n}_norm.weight": (1 + 0.1 * rng.standard_normal(hd)).astype(np.float32)
                for l in range(cfg["num_hidden_layers"]) for n in "qk"})
st_save(f"{t}/q3/model.safetensors", q3)
json.dump(dict(cfg, model_type="qwen3", architectures=["Qwen3ForCausalLM"], rope_scaling={
    "rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64}), open(f"{t}/q3/config.json", "w"))
p3 = {k: v for k, v in w.items() if not k.endswith(("q_proj.weight", "k_proj.weight", "v_proj.weight",
                                                     "gate_proj.weight", "up_proj.weight"))}
for l in range(cfg["num_hidden_layers"]):
    p = f"model.layers.{l}."
    p3[p + "self_attn.qkv_proj.weight"] = np.concatenate([w[p + f"self_attn.{x}_proj.weight"] for x in "qkv"])
    p3[p + "mlp.gate_up_proj.weight"] = np.concatenate([w[p + f"mlp.{x}_proj.weight"] for x in ("gate", "up")])
st_save(f"{t}/p3/model.safetensors", p3)
lr = {"type": "longrope", "short_factor": [1 + i / 10 for i in range(8)], "long_factor": [2.0 + i for i in range(8)]}
json.dump(dict(cfg, model_type="phi3", architectures=["Phi3ForCausalLM"], partial_rotary_factor=0.5,
               sliding_window=32, rope_scaling=lr, original_max_position_embeddings=64),
          open(f"{t}/p3/config.json", "w"))
st_save(f"{t}/g1/model.safetensors", w)  # Gemma: the same weights read with GemmaRMSNorm, a GELU gate
json.dump(dict(cfg, model_type="gemma", architectures=["GemmaForCausalLM"], hidden_activation="gelu_pytorch_tanh",
               hidden_act="gelu"), open(f"{t}/g1/config.json", "w"))
for l in range(cfg["num_hidden_layers"]):  # Gemma-2: norms after the attention and the MLP, soft-caps, local layers
    p = f"model.layers.{l}."
    w[p + "pre_feedforward_layernorm.weight"] = w[p + "post_attention_layernorm.weight"]
    w[p + "post_feedforward_layernorm.weight"] = w[p + "input_layernorm.weight"]
st_save(f"{t}/g2/model.safetensors", w)
json.dump(dict(cfg, model_type="gemma2", architectures=["Gemma2ForCausalLM"], query_pre_attn_scalar=24,
               attn_logit_softcapping=5.0, final_logit_softcapping=10.0, sliding_window=48),
          open(f"{t}/g2/config.json", "w"))
st_save(f"{t}/g3/model.safetensors", dict(w, **{k: v - 1 for k, v in q3.items() if k.endswith(("q_norm.weight",
                                                                                           "k_norm.weight"))}))
json.dump(dict(cfg, model_type="gemma3_text", architectures=["Gemma3ForCausalLM"], query_pre_attn_scalar=24,
               sliding_window=48, sliding_window_pattern=3, rope_local_base_freq=1000.0,
               rope_scaling={"rope_type": "linear", "factor": 2.0}), open(f"{t}/g3/config.json", "w"))
b = lambda n: (0.1 * rng.standard_normal(n)).astype(np.float32)
E, V, D = w["model.embed_tokens.weight"], cfg["vocab_size"], cfg["hidden_size"]
ph = {"model.embed_tokens.weight": E, "lm_head.weight": E.copy(), "lm_head.bias": b(V),
      "model.final_layernorm.weight": w["model.norm.weight"], "model.final_layernorm.bias": b(D)}
for l in range(cfg["num_hidden_layers"]):
    p = f"model.layers.{l}."
    ph[p + "input_layernorm.weight"], ph[p + "input_layernorm.bias"] = w[p + "input_layernorm.weight"], b(D)
    for src, dst in (("self_attn.q_proj", "self_attn.q_proj"), ("self_attn.k_proj", "self_attn.k_proj"),
                     ("self_attn.v_proj", "self_attn.v_proj"), ("self_attn.o_proj", "self_attn.dense"),
                     ("mlp.up_proj", "mlp.fc1"), ("mlp.down_proj", "mlp.fc2")):
        ph[p + dst + ".weight"] = w[p + src + ".weight"]
        ph[p + dst + ".bias"] = b(w[p + src + ".weight"].shape[0])
st_save(f"{t}/ph/model.safetensors", ph)
json.dump(dict(cfg, model_type="phi", architectures=["PhiForCausalLM"], hidden_act="gelu_new", layer_norm_eps=1e-5,
               partial_rotary_factor=0.5, tie_word_embeddings=False), open(f"{t}/ph/config.json", "w"))
H = cfg["num_attention_heads"]
nx = {"gpt_neox.embed_in.weight": E, "embed_out.weight": E.copy(), "gpt_neox.final_layer_norm.weight":
      w["model.norm.weight"], "gpt_neox.final_layer_norm.bias": b(D)}
for l in range(cfg["num_hidden_layers"]):
    p, q = f"model.layers.{l}.", f"gpt_neox.layers.{l}."
    qkv = [w[p + f"self_attn.{x}_proj.weight"] for x in "qk"] + [w[p + "self_attn.v_proj.weight"]]
    qkv = [np.repeat(m.reshape(-1, hd, D), H // (m.shape[0] // hd), 0) for m in qkv]  # MHA: kv heads repeated
    nx[q + "attention.query_key_value.weight"] = np.concatenate([m[h] for h in range(H) for m in qkv])
    nx[q + "attention.query_key_value.bias"] = b(3 * H * hd)
    for n, src in (("input_layernorm", "input_layernorm"), ("post_attention_layernorm", "post_attention_layernorm")):
        nx[q + n + ".weight"], nx[q + n + ".bias"] = w[p + src + ".weight"], b(D)
    for dst, src in (("attention.dense", "self_attn.o_proj"), ("mlp.dense_h_to_4h", "mlp.up_proj"),
                     ("mlp.dense_4h_to_h", "mlp.down_proj")):
        nx[q + dst + ".weight"], nx[q + dst + ".bias"] = w[p + src + ".weight"], b(w[p + src + ".weight"].shape[0])
st_save(f"{t}/nx/model.safetensors", nx)
json.dump({k: v for k, v in cfg.items() if k not in ("num_key_value_heads", "head_dim")} | dict(
    model_type="gpt_neox", architectures=["GPTNeoXForCausalLM"], hidden_act="gelu", layer_norm_eps=1e-5,
    rotary_pct=0.25, tie_word_embeddings=False), open(f"{t}/nx/config.json", "w"))
bl = {"word_embeddings.weight": E, "word_embeddings_layernorm.weight": w["model.norm.weight"],
      "word_embeddings_layernorm.bias": b(D), "ln_f.weight": w["model.norm.weight"], "ln_f.bias": b(D)}
for l in range(cfg["num_hidden_layers"]):  # GPT-NeoX's layers, a sequential block with a 4 * hidden MLP
    q, o = f"gpt_neox.layers.{l}.", f"h.{l}."
    for n in ("input_layernorm", "post_attention_layernorm", "attention.query_key_value", "attention.dense"):
        for x in ("weight", "bias"):
            bl[o + n.replace("attention.", "self_attention.") + "." + x] = nx[q + n + "." + x]
    bl[o + "mlp.dense_h_to_4h.weight"], bl[o + "mlp.dense_h_to_4h.bias"] = b(4 * D * D).reshape(4 * D, D), b(4 * D)
    bl[o + "mlp.dense_4h_to_h.weight"], bl[o + "mlp.dense_4h_to_h.bias"] = b(4 * D * D).reshape(D, 4 * D), b(D)
st_save(f"{t}/bl/model.safetensors", bl)
json.dump({"model_type": "bloom", "architectures": ["BloomForCausalLM"], "hidden_size": D, "n_layer":
           cfg["num_hidden_layers"], "n_head": H, "vocab_size": V, "layer_norm_epsilon": 1e-5, "bos_token_id": 0,
           "eos_token_id": 0}, open(f"{t}/bl/config.json", "w"))
G, F = cfg.get("num_key_value_heads", H), cfg["intermediate_size"]
fa = {"transformer.word_embeddings.weight": E, "lm_head.weight": E.copy(), "transformer.ln_f.weight":
      w["model.norm.weight"], "transformer.ln_f.bias": b(D)}
for l in range(cfg["num_hidden_layers"]):  # the default model's layers as Falcon-40B's decoder, a plain MLP
    p, o = f"model.layers.{l}.", f"transformer.h.{l}."
    q, k, v = (w[p + f"self_attn.{x}_proj.weight"].reshape(-1, hd, D) for x in "qkv")
    fa[o + "self_attention.query_key_value.weight"] = np.concatenate(
        [m for j in range(G) for m in (*q[j * (H // G):(j + 1) * (H // G)], k[j], v[j])])
    for n, src in (("ln_attn", "input_layernorm"), ("ln_mlp", "post_attention_layernorm")):
        fa[o + n + ".weight"], fa[o + n + ".bias"] = w[p + src + ".weight"], b(D)
    for dst, src in (("self_attention.dense", "self_attn.o_proj"), ("mlp.dense_h_to_4h", "mlp.up_proj"),
                     ("mlp.dense_4h_to_h", "mlp.down_proj")):
        fa[o + dst + ".weight"] = w[p + src + ".weight"]
st_save(f"{t}/fa/model.safetensors", fa)
json.dump({"model_type": "falcon", "architectures": ["FalconForCausalLM"], "hidden_size": D, "num_hidden_layers":
           cfg["num_hidden_layers"], "num_attention_heads": H, "num_kv_heads": G, "new_decoder_architecture": True,
           "ffn_hidden_size": F, "vocab_size": V, "max_position_embeddings": cfg["max_position_embeddings"],
           "layer_norm_epsilon": 1e-5, "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": 0},
          open(f"{t}/fa/config.json", "w"))
gj = {"transformer.wte.weight": E, "lm_head.weight": E.copy(), "lm_head.bias": b(V), "transformer.ln_f.weight":
      w["model.norm.weight"], "transformer.ln_f.bias": b(D)}
for l in range(cfg["num_hidden_layers"]):  # GPT-NeoX's MHA layers under GPT-J's names
    q, o = f"gpt_neox.layers.{l}.", f"transformer.h.{l}."
    qkv = nx[q + "attention.query_key_value.weight"].reshape(H, 3, hd, D)
    for i, n in enumerate("qkv"):
        gj[o + f"attn.{n}_proj.weight"] = qkv[:, i].reshape(H * hd, D)
    gj[o + "attn.out_proj.weight"] = nx[q + "attention.dense.weight"]
    gj[o + "ln_1.weight"], gj[o + "ln_1.bias"] = nx[q + "input_layernorm.weight"], nx[q + "input_layernorm.bias"]
    for dst, src in (("mlp.fc_in", "mlp.dense_h_to_4h"), ("mlp.fc_out", "mlp.dense_4h_to_h")):
        gj[o + dst + ".weight"], gj[o + dst + ".bias"] = nx[q + src + ".weight"], nx[q + src + ".bias"]
st_save(f"{t}/gj/model.safetensors", gj)
json.dump({"model_type": "gptj", "architectures": ["GPTJForCausalLM"], "n_embd": D, "n_layer": cfg["num_hidden_layers"],
           "n_head": H, "rotary_dim": hd // 4, "n_inner": F, "n_positions": cfg["max_position_embeddings"],
           "vocab_size": V, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "tie_word_embeddings": False,
           "bos_token_id": 0, "eos_token_id": 0}, open(f"{t}/gj/config.json", "w"))
sl = dict(w, **{k.replace(".weight", ".bias"): b(D) for k in w
                if k.endswith("layernorm.weight") or k == "model.norm.weight"})
sl["lm_head.weight"] = E.copy()
st_save(f"{t}/sl/model.safetensors", sl)
json.dump(dict(cfg, model_type="stablelm", architectures=["StableLmForCausalLM"], layer_norm_eps=1e-5,
               partial_rotary_factor=0.25, use_qkv_bias=False, tie_word_embeddings=False),
          open(f"{t}/sl/config.json", "w"))
P = cfg["max_position_embeddings"]
gp = {"wte.weight": E, "wpe.weight": (0.02 * rng.standard_normal((P, D))).astype(np.float32),
      "ln_f.weight": w["model.norm.weight"], "ln_f.bias": b(D)}
for l in range(cfg["num_hidden_layers"]):  # GPT-J's layers (from GPT-NeoX's) as GPT-2's sequential block
    o, q = f"h.{l}.", f"transformer.h.{l}."
    gp[o + "attn.c_attn.weight"] = np.concatenate([gj[q + f"attn.{x}_proj.weight"] for x in "qkv"]).T.copy()
    gp[o + "attn.c_attn.bias"] = b(3 * D)
    gp[o + "attn.c_proj.weight"], gp[o + "attn.c_proj.bias"] = gj[q + "attn.out_proj.weight"].T.copy(), b(D)
    gp[o + "mlp.c_fc.weight"] = gj[q + "mlp.fc_in.weight"].T.copy()
    gp[o + "mlp.c_proj.weight"] = gj[q + "mlp.fc_out.weight"].T.copy()
    gp[o + "mlp.c_fc.bias"], gp[o + "mlp.c_proj.bias"] = gj[q + "mlp.fc_in.bias"], gj[q + "mlp.fc_out.bias"]
    for n in ("ln_1", "ln_2"):
        gp[o + n + ".weight"], gp[o + n + ".bias"] = gj[q + "ln_1.weight"], b(D)
st_save(f"{t}/gp/model.safetensors", gp)
json.dump({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_embd": D, "n_layer": cfg["num_hidden_layers"],
           "n_head": H, "n_inner": F, "n_positions": P, "vocab_size": V, "activation_function": "gelu_new",
           "layer_norm_epsilon": 1e-5, "bos_token_id": 0, "eos_token_id": 0}, open(f"{t}/gp/config.json", "w"))
st_save(f"{t}/co/model.safetensors", {k: v for k, v in w.items() if "post_attention_layernorm" not in k})
json.dump(dict(cfg, model_type="cohere", architectures=["CohereForCausalLM"], layer_norm_eps=1e-5, logit_scale=0.5,
               tie_word_embeddings=True), open(f"{t}/co/config.json", "w"))
st_save(f"{t}/ol/model.safetensors", {k: v for k, v in w.items() if "norm" not in k})
json.dump(dict(cfg, model_type="olmo", architectures=["OlmoForCausalLM"], clip_qkv=None),
          open(f"{t}/ol/config.json", "w"))
st_save(f"{t}/gr/model.safetensors", w)
json.dump(dict(cfg, model_type="granite", architectures=["GraniteForCausalLM"], embedding_multiplier=4.0,
               residual_multiplier=0.5, attention_multiplier=0.2, logits_scaling=2.0), open(f"{t}/gr/config.json", "w"))
o2 = {k: v for k, v in w.items() if "input_layernorm" not in k and "pre_feedforward" not in k}
for l in range(cfg["num_hidden_layers"]):
    for n, h in (("q", cfg["num_attention_heads"]), ("k", cfg["num_key_value_heads"])):
        o2[f"model.layers.{l}.self_attn.{n}_norm.weight"] = (1 + 0.1 * rng.standard_normal(h * hd)).astype(np.float32)
st_save(f"{t}/o2/model.safetensors", o2)
json.dump(dict(cfg, model_type="olmo2", architectures=["Olmo2ForCausalLM"]), open(f"{t}/o2/config.json", "w"))
st_save(f"{t}/ex/model.safetensors", dict(o2, **{k: v for k, v in q3.items() if k.endswith(("q_norm.weight",
                                                                                          "k_norm.weight"))}))
json.dump(dict(cfg, model_type="exaone4", architectures=["Exaone4ForCausalLM"], sliding_window=48,
               sliding_window_pattern=2), open(f"{t}/ex/config.json", "w"))  # EXAONE 4: per-head q/k norms, NoPE
st_save(f"{t}/ar/model.safetensors", {k: v for k, v in w.items() if "gate_proj" not in k and "feedforward" not in k})
json.dump(dict(cfg, model_type="arcee", architectures=["ArceeForCausalLM"], hidden_act="relu2"),
          open(f"{t}/ar/config.json", "w"))  # Arcee: LLaMA's attention, a plain relu2 MLP
st_save(f"{t}/er/model.safetensors", {k: v for k, v in w.items() if "feedforward" not in k})
json.dump(dict(cfg, model_type="ernie4_5", architectures=["Ernie4_5ForCausalLM"]),
          open(f"{t}/er/config.json", "w"))  # ERNIE 4.5: RoPE in pairs over the whole head
st_save(f"{t}/hy/model.safetensors", dict({k: v for k, v in w.items() if "feedforward" not in k}, **{
    k.replace("q_norm", "query_layernorm").replace("k_norm", "key_layernorm"): v for k, v in q3.items()
    if k.endswith(("q_norm.weight", "k_norm.weight"))}))
json.dump(dict(cfg, model_type="hunyuan_v1_dense", architectures=["HunYuanDenseV1ForCausalLM"],
               rope_scaling={"type": "dynamic", "alpha": 100.0, "factor": 1.0}),
          open(f"{t}/hy/config.json", "w"))  # HunYuan: q/k norms after RoPE, the base raised by alpha
st_save(f"{t}/o3/model.safetensors", o2)  # OLMo 3: OLMo 2's tensors, windowed layers unscaled, the global ones YaRN
json.dump(dict(cfg, model_type="olmo3", architectures=["Olmo3ForCausalLM"], sliding_window=48, rope_scaling={
    "rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64}), open(f"{t}/o3/config.json", "w"))
bc = {"transformer." + k: v for k, v in gp.items()}  # GPT-2's weights as nn.Linear, one key/value head kept
for k in [k for k in bc if k.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight"))]:
    bc[k] = bc[k].T.copy()
for l in range(cfg["num_hidden_layers"]):
    for n in ("weight", "bias"):
        a = bc[f"transformer.h.{l}.attn.c_attn.{n}"]
        bc[f"transformer.h.{l}.attn.c_attn.{n}"] = np.concatenate([a[:D], a[D:D + hd], a[2 * D:2 * D + hd]])
st_save(f"{t}/bc/model.safetensors", bc)
json.dump({"model_type": "gpt_bigcode", "architectures": ["GPTBigCodeForCausalLM"], "n_embd": D, "n_head": H,
           "n_layer": cfg["num_hidden_layers"], "n_inner": F, "n_positions": P, "vocab_size": V, "multi_query": True,
           "activation_function": "gelu_pytorch_tanh", "layer_norm_epsilon": 1e-5, "bos_token_id": 0,
           "eos_token_id": 0}, open(f"{t}/bc/config.json", "w"))
nm = {k: (v - 1 if k.endswith("norm.weight") else v) for k, v in w.items()  # LayerNorm1P: stored as w, times 1 + w
      if "gate_proj" not in k and "feedforward" not in k}
nm.update({k.replace(".weight", ".bias"): b(D) for k in nm if k.endswith("norm.weight")})
st_save(f"{t}/nm/model.safetensors", nm)
json.dump(dict(cfg, model_type="nemotron", architectures=["NemotronForCausalLM"], hidden_act="relu2", norm_eps=1e-5,
               partial_rotary_factor=0.5), open(f"{t}/nm/config.json", "w"))
st_save(f"{t}/s3/model.safetensors", {k: v for k, v in w.items() if "feedforward" not in k})
json.dump(dict(cfg, model_type="smollm3", architectures=["SmolLM3ForCausalLM"], no_rope_layer_interval=2),
          open(f"{t}/s3/config.json", "w"))
PY
for k in q3 p3 g1 g2 g3 ph nx bl fa gj sl gp co ol gr o2 o3 ex ar er hy bc nm s3; do
  cp "$M/tokenizer.json" "$M/tokenizer_config.json" "$T/$k/"
  mpiexec -n 2 "$COMP" prune --model "$T/$k" --calib "$M/sample.txt" --protect 0,-1 --quiet --force --ratio 0.3 \
    --out "$T/$k.h5"
  "$COMP" export "$T/$k.h5" --out "$T/${k}exp" --force >/dev/null
  "$COMP" eval --model "$T/${k}exp" --text "$M/sample.txt" --seq-len 128 --max-windows 4 --quiet >/dev/null
done
"$COMP" eval --model "$T/p3.h5" --text "$M/sample.txt" --seq-len 32 --max-windows 4 --quiet >/dev/null
echo "sanitized pipeline ok"
