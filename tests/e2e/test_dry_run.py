"""`comp prune --dry-run`: works from config.json alone, its parameter counts and Gram sizes match
closed forms computed here, and its predicted peak memory per rank is within ±20% of the peak RSS
that real runs record (/prune/peak_rss_bytes) — on the shared llama-8L and opt-6L and on a wider
synthetic LLaMA whose stage-C Grams dominate, for 1 and 2 ranks and every compiled-in solver.
"""
import glob, json, os, shutil, struct, subprocess, sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import COMP, check, finish, last_json, need_shared, run, st_load  # noqa: E402

DATA = need_shared()
TMP = os.environ.get("TMPDIR", "/tmp") + f"/comp_dry_{os.getpid()}"
os.makedirs(TMP, exist_ok=True)
CALIB = f"{DATA}/trained/tinystories_train.txt"
TOK = f"{DATA}/trained/tokenizer.json"

LLAMA2_7B = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
             "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 32000,
             "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "tie_word_embeddings": False}


def dry(model, np_, extra=()):
    r = run(["prune", "--dry-run", "--model", model, "--ratio", "0.3", "--calib", CALIB, "--json", *extra], np_)
    return last_json(r)


def write_llama(path, cfg, seed=0):
    """A LLaMA checkpoint with random weights (true shapes from cfg), fp32 safetensors."""
    os.makedirs(path, exist_ok=True)
    json.dump(cfg, open(f"{path}/config.json", "w"))
    D, F, L, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
    H, Hkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = D // H
    rng = np.random.default_rng(seed)
    t = {"model.embed_tokens.weight": (V, D), "model.norm.weight": (D,), "lm_head.weight": (V, D)}
    for l in range(L):
        p = f"model.layers.{l}."
        t.update({p + "self_attn.q_proj.weight": (H * hd, D), p + "self_attn.k_proj.weight": (Hkv * hd, D),
                  p + "self_attn.v_proj.weight": (Hkv * hd, D), p + "self_attn.o_proj.weight": (D, H * hd),
                  p + "mlp.gate_proj.weight": (F, D), p + "mlp.up_proj.weight": (F, D),
                  p + "mlp.down_proj.weight": (D, F), p + "input_layernorm.weight": (D,),
                  p + "post_attention_layernorm.weight": (D,)})
    hdr, off, blobs = {}, 0, []
    for k, shp in t.items():
        a = (np.ones(shp) if len(shp) == 1 else rng.standard_normal(shp) / np.sqrt(shp[-1])).astype(np.float32)
        b = a.tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(shp), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr).encode()
    h += b" " * (-len(h) % 8)
    with open(f"{path}/model.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def measured(model, np_, extra=(), source=None):
    out = f"{TMP}/run.h5"
    r = run(["prune", "--model", model, "--ratio", "0.3", "--calib", CALIB, "--out", out, "--force", "--quiet",
             "--json", *extra], np_)
    if last_json(r) is None:
        return None
    with h5py.File(out, "r") as f:
        if source:  # the embedding and head, never resident in a pruning run, streamed in blocks
            W = st_load(f"{source}/model.safetensors")
            check(np.array_equal(f["model/tok_embd"][()], W["model.embed_tokens.weight"])
                  and np.array_equal(f["model/lm_head"][()], W["lm_head.weight"]),
                  f"{source}: the archive's tok_embd and lm_head equal the source, read on demand "
                  f"({W['lm_head.weight'].nbytes / 2**20:.0f} MiB each, 4 MiB blocks)")
        return f["prune/peak_rss_bytes"][()]


def compare(name, model, np_, extra=(), source=None):
    """The dry run's predicted peaks against a real run's measured ones (±20%); the measured peaks."""
    p = dry(model, np_, extra)
    m = measured(model, np_, extra, source)
    if not check(p is not None and m is not None, f"{name}, {np_} rank(s): dry run and real run"):
        return None
    want = [p["peak_rank0_bytes"]] + [p["peak_other_bytes"]] * (np_ - 1)
    rel = [w / x - 1 for w, x in zip(want, m)]
    check(all(abs(e) <= 0.20 for e in rel),
          f"{name}, {np_} rank(s): predicted " + ", ".join(f"{w / 2**20:.1f}" for w in want) + " MiB vs measured " +
          ", ".join(f"{x / 2**20:.1f}" for x in m) + " MiB (" + ", ".join(f"{e:+.1%}" for e in rel) + ")")
    return m


def shares_vs_replicated(what, model, group):
    """A group of 2 with the Grams in its shares: predicted peak within 20% of measured, and measured
    lower on every rank than with -mask_gram replicated."""
    own = compare(f"wide synthetic LLaMA, {what}, --solver scalapack, a group of 2, Grams in shares", model, 2, group)
    rep = measured(model, 2, group + ("-mask_gram", "replicated"))
    if check(own is not None and rep is not None, f"{what}, group of 2: runs with the Grams in shares and replicated"):
        check(all(r - o > 8 * 2**20 for o, r in zip(own, rep)),
              f"{what}, group of 2: the Grams in shares lower every rank's peak: " + ", ".join(
                  f"{o / 2**20:.1f} vs {r / 2**20:.1f} MiB" for o, r in zip(own, rep)) + " (replicated)")


def gram_shares_auto(model):
    """--gram-shares auto: cond's Grams whole on every rank while the node holds them, in the group's
    shares once the node's budget (--mem-budget) is below the whole ones' predicted need."""
    group = ["--protect", "0", "--solver", "scalapack", "--step-div", "4", "--ranks-per-layer", "2"]
    whole, shares = (dry(model, 2, group + ["--gram-shares", m]) for m in ("off", "on"))
    if not check(whole is not None and shares is not None, "cond, group of 2: dry runs with and without shares"):
        return
    need = [p["peak_rank0_bytes"] + p["peak_other_bytes"] for p in (whole, shares)]
    for budget, want, why in ((2 * need[0], whole, "the whole Grams fit"),
                              ((need[0] + need[1]) / 2, shares, "only the shares fit")):
        got = dry(model, 2, group + ["--mem-budget", f"{budget / 2**20:.0f}M"])
        gap = abs(whole["peak_rank0_bytes"] - shares["peak_rank0_bytes"]) / 4  # each run's own baseline RSS
        check(got is not None and abs(got["peak_rank0_bytes"] - want["peak_rank0_bytes"]) < gap,
              f"--gram-shares auto, node budget {budget / 2**20:.0f} MiB ({why}: {need[0] / 2**20:.0f} MiB whole, "
              f"{need[1] / 2**20:.0f} MiB in shares): predicted peak {got and got['peak_rank0_bytes'] / 2**20:.1f} MiB")


def main():
    # config.json alone is enough; LLaMA-2-7B's numbers against closed forms
    cfgdir = f"{TMP}/llama2-7b-config"
    os.makedirs(cfgdir, exist_ok=True)
    json.dump(LLAMA2_7B, open(f"{cfgdir}/config.json", "w"))
    p = dry(cfgdir, 4)
    check(p is not None, "dry run of LLaMA-2-7B from config.json alone (4 ranks)")
    if p:
        D, F, L, V = 4096, 11008, 32, 32000
        layer = 4 * D * D + 3 * D * F + 2 * D
        check(p["n_params"] == L * layer + 2 * V * D + D == 6738415616, f"7B parameters {p['n_params']} == 6738415616")
        check(p["n_remove"] == 2 and p["n_prunable"] == 27, f"7B at 0.3: 2 layers removed, 27 pruned: {p}")
        gram = 1.5 * F * F * 8  # down_proj's (11008, 11008) float64 G and its W^T W, packed (cond)
        check(gram < p["stage_c_layer_bytes"] < gram + 4 * layer + 2**30,
              f"7B stage C layer {p['stage_c_layer_bytes'] / 2**30:.2f} GiB: Grams {gram / 2**30:.2f} GiB + "
              f"layer {4 * layer / 2**30:.2f} GiB + inputs/workspace")
        check(p["model_wide_bytes"] < 4 * D * 3 and p["peak_rank0_bytes"] < 3e9 and p["peak_other_bytes"] < 3e9,
              f"7B model-wide tensors resident per rank {p['model_wide_bytes'] / 2**10:.0f} KiB (embedding and head "
              f"on demand); predicted peak per rank {p['peak_rank0_bytes'] / 2**30:.2f} GiB <= 3 GB")
        # leading terms per dense: W^T W, X'^T X', 10 Fisher samples' Grams, the factor, and 11 kappa
        # eigen-solves (10 Fisher samples + the importance): by default (lanczos) a Cholesky factor and
        # 64 steps of 6 d^2 each; with --cond-eig tridiag one tridiagonal reduction, 4/3 d^3
        n = 1280
        eig = {"lanczos": lambda d: d**3 / 3 + 64 * 6 * d * d, "tridiag": lambda d: 4 / 3 * d**3}
        for kind, q in (("lanczos", p), ("tridiag", dry(cfgdir, 4, ["--cond-eig", "tridiag"]))):
            flops = sum(d_out * d * d + n * d * d + 11 * eig[kind](d) + 10 * 128 * d * d + d**3 / 3
                        for d_out, d in [(D, D)] * 6 + [(D, F)])
            got = q["flops_stage_c_per_layer"] if q else float("nan")
            check(0.9 < got / flops < 1.2,
                  f"7B stage C ({kind}{', the default' if q is p else ''}) {got:.3g} FLOP per layer ~ {flops:.3g} "
                  f"(closed form, leading terms)")
    # parameter counts from config.json alone: the shared models' files hold as many; optional biases as the
    # config's switches say (OPT's enable_bias, true by default; LLaMA's attention_bias and mlp_bias)
    for name in ("llama-8L", "opt-6L"):
        src, cfg_only = f"{DATA}/trained/{name}", f"{TMP}/{name}-config"
        os.makedirs(cfg_only, exist_ok=True)
        shutil.copy(f"{src}/config.json", cfg_only)
        held = sum(int(np.prod(v.shape)) for v in st_load(f"{src}/model.safetensors").values())
        q = dry(cfg_only, 1)
        check(q is not None and q["n_params"] == held, f"{name} from config.json alone: {q and q['n_params']} "
              f"parameters, its safetensors hold {held}")
    D, F, L, V, P = 9216, 36864, 64, 50272, 2048  # OPT-66B: every dense with a bias, learned positions
    opt66 = {"model_type": "opt", "hidden_size": D, "ffn_dim": F, "num_hidden_layers": L, "num_attention_heads": 72,
             "vocab_size": V, "max_position_embeddings": P, "do_layer_norm_before": True, "word_embed_proj_dim": D,
             "activation_function": "relu"}
    bias_free = dict(LLAMA2_7B, attention_bias=True, mlp_bias=True)
    # Qwen3 (Qwen/Qwen3-8B and -0.6B config.json): per-head q/k norms of head_dim each layer; 0.6B's head_dim
    # 128 is not hidden_size / heads (64), and is Qwen3Config's default when the key is absent
    qwen3_8b = {"model_type": "qwen3", "hidden_size": 4096, "intermediate_size": 12288, "num_hidden_layers": 36,
                "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 151936,
                "max_position_embeddings": 40960, "rope_theta": 1000000, "tie_word_embeddings": False,
                "use_sliding_window": False, "attention_bias": False}
    qwen3_06b = dict(qwen3_8b, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                     num_attention_heads=16, tie_word_embeddings=True)
    phi3_mini = {"model_type": "phi3", "hidden_size": 3072, "intermediate_size": 8192, "num_hidden_layers": 32,
                 "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 32064,
                 "max_position_embeddings": 4096, "sliding_window": 2047, "tie_word_embeddings": False}
    # Phi-3.5-mini (and Phi-3-mini-128k): Phi-3-mini's shapes with longrope over a 131072-token context
    # grown from 4096; a short and a long factor for each of head_dim 96's 48 rotated pairs
    phi35_mini = dict(phi3_mini, max_position_embeddings=131072, original_max_position_embeddings=4096,
                      sliding_window=262144, rope_scaling={"type": "longrope", "short_factor": [1.05] * 48,
                                                           "long_factor": [1.0 + i / 2 for i in range(48)]})
    # Phi-4-mini: 24 heads of 128 (8 kv), RoPE on 96 dims of each (48 pairs of longrope factors), a tied head
    phi4_mini = dict(phi35_mini, num_attention_heads=24, num_key_value_heads=8, vocab_size=200064,
                     partial_rotary_factor=0.75, tie_word_embeddings=True,
                     rope_scaling=dict(phi35_mini["rope_scaling"], short_factor=[1.0] * 48))
    phi4_layer = (24 + 2 * 8) * 128 * 3072 + 3072 * 3072 + 3 * 8192 * 3072 + 2 * 3072
    # Gemma-7B (google/gemma-7b config.json): 16 heads of 256 over a hidden size of 3072, a tied head;
    # Gemma-2B: one kv head
    gemma7b = {"model_type": "gemma", "hidden_size": 3072, "intermediate_size": 24576, "num_hidden_layers": 28,
               "num_attention_heads": 16, "num_key_value_heads": 16, "head_dim": 256, "vocab_size": 256000,
               "max_position_embeddings": 8192, "hidden_act": "gelu", "hidden_activation": "gelu_pytorch_tanh"}
    gemma2b = dict(gemma7b, hidden_size=2048, intermediate_size=16384, num_hidden_layers=18, num_attention_heads=8,
                   num_key_value_heads=1)
    # Gemma-2-9B and -2B: four norms a layer
    gemma2_9b = {"model_type": "gemma2", "hidden_size": 3584, "intermediate_size": 14336, "num_hidden_layers": 42,
                 "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 256, "vocab_size": 256000,
                 "max_position_embeddings": 8192, "hidden_activation": "gelu_pytorch_tanh",
                 "query_pre_attn_scalar": 256, "sliding_window": 4096, "attn_logit_softcapping": 50.0,
                 "final_logit_softcapping": 30.0}
    gemma2_2b = dict(gemma2_9b, hidden_size=2304, intermediate_size=9216, num_hidden_layers=26, num_attention_heads=8,
                     num_key_value_heads=4)
    # Gemma-3-1B (google/gemma-3-1b-pt config.json): per-head q/k norms besides Gemma 2's four
    gemma3_1b = {"model_type": "gemma3_text", "hidden_size": 1152, "intermediate_size": 6912, "num_hidden_layers": 26,
                 "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 256, "vocab_size": 262144,
                 "max_position_embeddings": 32768, "hidden_activation": "gelu_pytorch_tanh",
                 "query_pre_attn_scalar": 256, "sliding_window": 512, "sliding_window_pattern": 6,
                 "rope_theta": 1000000, "rope_local_base_freq": 10000, "rope_scaling": None,
                 "attn_logit_softcapping": None, "final_logit_softcapping": None}
    # Phi-2 (microsoft/phi-2 config.json): biases everywhere, one LayerNorm a layer, a head with a bias;
    # Phi-1.5 the same block, narrower
    phi2 = {"model_type": "phi", "hidden_size": 2560, "intermediate_size": 10240, "num_hidden_layers": 32,
            "num_attention_heads": 32, "num_key_value_heads": None, "vocab_size": 51200,
            "max_position_embeddings": 2048, "hidden_act": "gelu_new", "layer_norm_eps": 1e-5,
            "partial_rotary_factor": 0.4, "qk_layernorm": False, "rope_theta": 10000.0, "tie_word_embeddings": False}
    phi15 = dict(phi2, hidden_size=2048, intermediate_size=8192, num_hidden_layers=24, partial_rotary_factor=0.5)
    # Pythia-70m and -1.4b (EleutherAI's config.json): q, k, v fused head by head, two LayerNorms a
    # layer, biases everywhere, an untied embed_out
    pythia70m = {"model_type": "gpt_neox", "hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 6,
                 "num_attention_heads": 8, "vocab_size": 50304, "max_position_embeddings": 2048, "hidden_act": "gelu",
                 "layer_norm_eps": 1e-5, "rotary_emb_base": 10000, "rotary_pct": 0.25, "use_parallel_residual": True,
                 "tie_word_embeddings": False}
    pythia14b = dict(pythia70m, hidden_size=2048, intermediate_size=8192, num_hidden_layers=24,
                     num_attention_heads=16)
    # BLOOM-560m and -7b1: ALiBi, the embedding LayerNorm, a 4 * hidden MLP, a tied head; BloomConfig reads
    # hidden_size or n_embed, n_head or num_attention_heads (both spellings are in BigScience's configs)
    bloom560m = {"model_type": "bloom", "hidden_size": 1024, "n_layer": 24, "n_head": 16, "vocab_size": 250880,
                 "layer_norm_epsilon": 1e-5, "apply_residual_connection_post_layernorm": False}
    bloom7b1 = {k: v for k, v in bloom560m.items() if k not in ("hidden_size", "n_head")} | {
        "n_embed": 4096, "num_attention_heads": 32, "n_layer": 30}
    # InternLM2.5-7B (internlm/internlm2_5-7b-chat config.json): GQA 32/8 with q, k, v fused group by group in wqkv,
    # dynamic NTK rope_scaling, untied
    internlm25_7b = {"model_type": "internlm2", "hidden_size": 4096, "intermediate_size": 14336,
                     "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 92544,
                     "max_position_embeddings": 32768, "rms_norm_eps": 1e-5, "rope_theta": 1000000, "bias": False,
                     "hidden_act": "silu", "rope_scaling": {"type": "dynamic", "factor": 2.0},
                     "tie_word_embeddings": False}
    # Falcon-7B (tiiuae/falcon-7b config.json): 71 heads of 64 sharing one kv head, one LayerNorm a layer, a
    # 4 * hidden MLP, no biases, a tied head (6.92B: Hugging Face's 7.22B counts the head's stored copy);
    # Falcon-40B: new_decoder_architecture, 128 heads and 8 kv heads, ln_attn and ln_mlp
    falcon7b = {"model_type": "falcon", "hidden_size": 4544, "num_hidden_layers": 32, "num_attention_heads": 71,
                "vocab_size": 65024, "layer_norm_epsilon": 1e-5, "alibi": False, "bias": False, "multi_query": True,
                "new_decoder_architecture": False, "parallel_attn": True}
    falcon40b = dict(falcon7b, hidden_size=8192, num_hidden_layers=60, num_attention_heads=128, num_kv_heads=8,
                     new_decoder_architecture=True)
    f7 = 65024 * 4544 + 2 * 4544 + 32 * (2 * 4544 + 4544 * (71 + 2) * 64 + 4544 * 4544 + 2 * 4544 * 4 * 4544)
    f40 = 65024 * 8192 + 2 * 8192 + 60 * (4 * 8192 + 8192 * (128 + 16) * 64 + 8192 * 8192 + 2 * 8192 * 4 * 8192)
    # GPT-J-6B (EleutherAI/gpt-j-6b config.json): GPT-2's key names, rotary_dim 64, an untied head with a bias,
    # biases on the MLP only; 6,050,882,784 by the formula (Hugging Face's 6.05B)
    gptj6b = {"model_type": "gptj", "n_embd": 4096, "n_layer": 28, "n_head": 16, "rotary_dim": 64, "n_inner": None,
              "n_positions": 2048, "vocab_size": 50400, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
              "tie_word_embeddings": False}
    gj = 2 * 50400 * 4096 + 50400 + 2 * 4096 + 28 * (2 * 4096 + 4 * 4096 * 4096 + 2 * 4096 * 16384 + 16384 + 4096)
    # StableLM-2-1.6B (stabilityai/stablelm-2-1_6b config.json): LayerNorms with biases, q/k/v biases, untied; with
    # use_parallel_residual there is no post_attention_layernorm
    stablelm2 = {"model_type": "stablelm", "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 24,
                 "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 100352,
                 "max_position_embeddings": 4096, "layer_norm_eps": 1e-5, "partial_rotary_factor": 0.25,
                 "use_qkv_bias": True, "qk_layernorm": False, "use_parallel_residual": False,
                 "tie_word_embeddings": False, "hidden_act": "silu"}
    # GPT-2 (openai-community/gpt2 config.json) and GPT-2 XL: learned positions, Conv1D denses with biases, a tied
    # head: 124,439,808 and 1,557,611,200, the counts published for them
    gpt2s = {"model_type": "gpt2", "n_embd": 768, "n_layer": 12, "n_head": 12, "n_positions": 1024,
             "vocab_size": 50257, "n_inner": None, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
             "scale_attn_weights": True}
    gpt2xl = dict(gpt2s, n_embd=1600, n_layer=48, n_head=25)
    # Command-R (CohereForAI/c4ai-command-r-v01 config.json) and Aya-23-8B: one bias-free LayerNorm a layer, tied
    cmdr = {"model_type": "cohere", "hidden_size": 8192, "intermediate_size": 22528, "num_hidden_layers": 40,
            "num_attention_heads": 64, "num_key_value_heads": 64, "vocab_size": 256000,
            "max_position_embeddings": 8192, "layer_norm_eps": 1e-5, "rope_theta": 8000000.0, "logit_scale": 0.0625,
            "use_qk_norm": False, "hidden_act": "silu", "tie_word_embeddings": True}
    aya8b = dict(cmdr, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                 num_key_value_heads=8, rope_theta=10000.0)
    cohere_n = lambda D, F, L, H, G: 256000 * D + D + L * (D + 2 * D * D + 2 * D * (D // H) * G + 3 * D * F)
    # OLMo-7B and OLMo-1B (allenai/OLMo-7B-hf, OLMo-1B-hf config.json): LayerNorms without parameters, the 7B's
    # head untied, the 1B's tied: 6,888,095,744 and 1,176,764,416
    olmo7b = {"model_type": "olmo", "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
              "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 50304,
              "max_position_embeddings": 2048, "clip_qkv": None, "tie_word_embeddings": False, "hidden_act": "silu"}
    olmo1b = dict(olmo7b, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=16,
                  num_key_value_heads=16, tie_word_embeddings=True)
    # Granite-3.0-8B and -2B (ibm-granite/granite-3.0-8b-base, -2b-base config.json): LLaMA's tensors (the
    # multipliers are not parameters), GQA 32/8, a tied head: 8,170,848,256 and 2,533,531,648, the cards' 8.17B, 2.53B
    gr8b = {"model_type": "granite", "hidden_size": 4096, "intermediate_size": 12800, "num_hidden_layers": 40,
            "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 49155, "max_position_embeddings": 4096,
            "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "attention_bias": False, "mlp_bias": False,
            "embedding_multiplier": 12.0, "residual_multiplier": 0.22, "attention_multiplier": 0.0078125,
            "logits_scaling": 16.0, "hidden_act": "silu", "tie_word_embeddings": True}
    gr2b = dict(gr8b, hidden_size=2048, intermediate_size=8192, attention_multiplier=0.015625, logits_scaling=8.0)
    # OLMo-2-1124-7B and -13B (allenai/OLMo-2-1124-7B, -13B config.json): four RMSNorms a layer, two of them the
    # whole-width q_norm and k_norm, an untied head: 7,298,617,344 and 13,716,198,400, the cards' 7.3B and 13.7B
    olmo2_7b = {"model_type": "olmo2", "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
                "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 100352,
                "max_position_embeddings": 4096, "rms_norm_eps": 1e-6, "rope_theta": 500000, "attention_bias": False,
                "tie_word_embeddings": False, "hidden_act": "silu"}
    olmo2_13b = dict(olmo2_7b, hidden_size=5120, intermediate_size=13824, num_hidden_layers=40,
                     num_attention_heads=40, num_key_value_heads=40)
    # Olmo-3-1025-7B (allenai/Olmo-3-1025-7B config.json): OLMo 2's tensors with the dolma2 vocabulary of 100278,
    # three windowed layers to one global, YaRN on the global ones: 7,298,011,136, the card's 7B
    olmo3_7b = dict(olmo2_7b, model_type="olmo3", vocab_size=100278, max_position_embeddings=65536,
                    sliding_window=4096, rope_scaling={"rope_type": "yarn", "factor": 8.0, "beta_fast": 32,
                                                       "beta_slow": 1, "original_max_position_embeddings": 8192,
                                                       "attention_factor": 1.2079441541679836})
    # EXAONE-4.0-32B (LGAI-EXAONE/EXAONE-4.0-32B config.json): OLMo 2's layer with per-head q/k norms (head_dim 128),
    # GQA 40/8, an untied head: 32,003,216,384, the card's 32.0B
    exaone32b = {"model_type": "exaone4", "hidden_size": 5120, "intermediate_size": 27392, "num_hidden_layers": 64,
                 "num_attention_heads": 40, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 102400,
                 "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 1000000,
                 "rope_scaling": {"factor": 16.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                  "original_max_position_embeddings": 8192, "rope_type": "llama3"},
                 "sliding_window": 4096, "sliding_window_pattern": 4, "tie_word_embeddings": False,
                 "hidden_act": "silu"}
    # ArceeConfig's defaults (AFM-4.5B-Base style shapes; no released config at hand): LLaMA's attention with a plain
    # relu2 MLP (up, down: no gate), an untied head: 4,022,766,080
    arcee = {"model_type": "arcee", "hidden_size": 2560, "intermediate_size": 18432, "num_hidden_layers": 32,
             "num_attention_heads": 32, "vocab_size": 32000, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
             "hidden_act": "relu2", "tie_word_embeddings": False}
    # Seed-OSS-36B (ByteDance-Seed/Seed-OSS-36B-Base config.json): 80 query heads of 128 over a hidden size of 5120,
    # GQA 80/8, q/k/v biases (attention_bias, true by default), an untied head: 36,151,104,512, the card's 36B
    seed36b = {"model_type": "seed_oss", "hidden_size": 5120, "intermediate_size": 27648, "num_hidden_layers": 64,
               "num_attention_heads": 80, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 155136,
               "max_position_embeddings": 524288, "rms_norm_eps": 1e-6, "rope_theta": 10000000.0,
               "tie_word_embeddings": False, "hidden_act": "silu"}
    # ERNIE-4.5-0.3B (baidu/ERNIE-4.5-0.3B-PT config.json, Ernie4_5Config's defaults): GQA 16/2 of head_dim 128
    # over a hidden size of 1024, a tied head: 360,748,032, the card's 0.36B; and Helium-1 2B (kyutai/helium-1-2b,
    # HeliumConfig's defaults): 20 heads of 128, an untied head: 2,172,643,840
    ernie03b = {"model_type": "ernie4_5", "hidden_size": 1024, "intermediate_size": 3072, "num_hidden_layers": 18,
                "num_attention_heads": 16, "num_key_value_heads": 2, "head_dim": 128, "vocab_size": 103424,
                "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "use_bias": False,
                "tie_word_embeddings": True, "hidden_act": "silu"}
    helium2b = {"model_type": "helium", "hidden_size": 2560, "intermediate_size": 7040, "num_hidden_layers": 24,
                "num_attention_heads": 20, "num_key_value_heads": 20, "head_dim": 128, "vocab_size": 48000,
                "max_position_embeddings": 4096, "rms_norm_eps": 1e-8, "rope_theta": 100000.0,
                "tie_word_embeddings": False, "hidden_act": "silu"}
    # Hunyuan-7B (tencent/Hunyuan-7B-Instruct config.json): GQA 32/8 of head_dim 128, per-head q/k norms, a tied
    # head, DynamicNTKAlphaRotary (alpha 1000): 7,504,568,320, the card's 7.5B
    hunyuan7b = {"model_type": "hunyuan_v1_dense", "hidden_size": 4096, "intermediate_size": 14336,
                 "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
                 "vocab_size": 128167, "max_position_embeddings": 262144, "rms_norm_eps": 1e-5,
                 "rope_theta": 10000.0, "rope_scaling": {"type": "dynamic", "alpha": 1000.0, "factor": 1.0},
                 "use_qk_norm": True, "use_cla": False, "tie_word_embeddings": True, "hidden_act": "silu"}
    # StarCoder2-3B and -7B (bigcode/starcoder2-3b, -7b config.json): LayerNorms and every dense with biases, GQA,
    # a tied head (Starcoder2Config leaves tie_word_embeddings at its default, true): 3,030,371,328 and
    # 7,173,923,840, the cards' 3.03B and 7.17B
    sc3b = {"model_type": "starcoder2", "hidden_size": 3072, "intermediate_size": 12288, "num_hidden_layers": 30,
            "num_attention_heads": 24, "num_key_value_heads": 2, "vocab_size": 49152, "max_position_embeddings": 16384,
            "norm_epsilon": 1e-5, "rope_theta": 999999.4420358813, "sliding_window": 4096, "use_bias": True,
            "hidden_act": "gelu_pytorch_tanh"}
    sc7b = dict(sc3b, hidden_size=4608, intermediate_size=18432, num_hidden_layers=32, num_attention_heads=36,
                num_key_value_heads=4, rope_theta=1000000)
    # StarCoder (bigcode/starcoder config.json): GPT-2's block with one key/value head (multi_query), learned
    # positions, a tied head: 15,517,456,384, the card's 15.5B; without multi_query (a head per query head) 3 * 6144
    # c_attn rows a layer instead of 6144 + 2 * 128
    starcoder = {"model_type": "gpt_bigcode", "n_embd": 6144, "n_layer": 40, "n_head": 48, "n_inner": 24576,
                 "n_positions": 8192, "vocab_size": 49152, "layer_norm_epsilon": 1e-5, "multi_query": True,
                 "activation_function": "gelu_pytorch_tanh", "scale_attn_weights": True}
    # GLM-4-9B (THUDM/glm-4-9b-hf config.json): q/k/v biases, gate | up fused, GQA 32/2, an untied head: 9,399,951,360,
    # the card's 9.4B; GLM-4-0414's layer adds two norms of hidden_size
    glm9b = {"model_type": "glm", "hidden_size": 4096, "intermediate_size": 13696, "num_hidden_layers": 40,
             "num_attention_heads": 32, "num_key_value_heads": 2, "head_dim": 128, "partial_rotary_factor": 0.5,
             "vocab_size": 151552, "max_position_embeddings": 131072, "rms_norm_eps": 1.5625e-07,
             "attention_bias": True, "tie_word_embeddings": False, "hidden_act": "silu"}
    # Minitron-4B (nvidia/Minitron-4B-Base config.json): LayerNorm1P with biases, head_dim 128 (heads x head_dim =
    # hidden_size), a relu2 MLP, GQA 24/8, an untied head: 4,190,509,056, the card's 4.19B
    minitron4b = {"model_type": "nemotron", "hidden_size": 3072, "intermediate_size": 9216, "num_hidden_layers": 32,
                  "num_attention_heads": 24, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 256000,
                  "max_position_embeddings": 4096, "norm_eps": 1e-5, "partial_rotary_factor": 0.5,
                  "hidden_act": "relu2", "tie_word_embeddings": False}
    # Ministral-8B-Instruct-2410 (config.json): Mistral's tensors, head_dim 128, GQA 32/8, 36 layers, an untied head:
    # 8,019,808,256, the card's 8.02B
    ministral8b = {"model_type": "ministral", "hidden_size": 4096, "intermediate_size": 12288, "num_hidden_layers": 36,
                   "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 131072,
                   "max_position_embeddings": 32768, "rms_norm_eps": 1e-5, "rope_theta": 100000000.0,
                   "sliding_window": 32768, "tie_word_embeddings": False, "hidden_act": "silu"}
    # Command R7B (CohereForAI/c4ai-command-r7b-12-2024 config.json): Cohere's block, 3 windowed layers to 1 global
    # (the window and RoPE are not parameters): Aya-23-8B's count
    command_r7b = dict(aya8b, model_type="cohere2", sliding_window=4096, sliding_window_pattern=4, rope_theta=50000.0)
    # SmolLM3-3B (HuggingFaceTB/SmolLM3-3B config.json): LLaMA's tensors (NoPE layers have the same), GQA 16/4, a tied
    # head: 3,075,098,624, the card's 3.08B
    smollm3 = {"model_type": "smollm3", "hidden_size": 2048, "intermediate_size": 11008, "num_hidden_layers": 36,
               "num_attention_heads": 16, "num_key_value_heads": 4, "vocab_size": 128256,
               "max_position_embeddings": 65536, "rms_norm_eps": 1e-6, "rope_theta": 5000000.0,
               "no_rope_layer_interval": 4, "use_sliding_window": False, "tie_word_embeddings": True,
               "hidden_act": "silu"}
    q06 = 151936 * 1024 + 1024 + 28 * (2 * 2048 * 1024 + 2 * 1024 * 1024 + 3 * 1024 * 3072 + 2 * 1024 + 2 * 128)
    for name, cfg, want in (
            ("OPT-66B", opt66, V * D + (P + 2) * D + 2 * D + L * (4 * D * D + 4 * D + 2 * D * F + F + D + 4 * D)),
            ("OPT-66B with enable_bias false", dict(opt66, enable_bias=False),
             V * D + (P + 2) * D + 2 * D + L * (4 * D * D + 2 * D * F + 4 * D)),
            ("LLaMA-2-7B with attention_bias and mlp_bias", bias_free,
             6738415616 + 32 * (4 * 4096 + 2 * 11008 + 4096)),
            ("Qwen3-8B", qwen3_8b, 8190735360),  # the model card's 8.2B; 6.95B without the embedding and head
            ("Qwen3-0.6B", qwen3_06b, q06),
            ("Qwen3-0.6B without head_dim", {k: v for k, v in qwen3_06b.items() if k != "head_dim"}, q06),
            ("Qwen3-8B with attention_bias", dict(qwen3_8b, attention_bias=True),
             8190735360 + 36 * (4096 + 2 * 1024 + 4096)),
            ("Phi-3-mini-4k", phi3_mini, 3821079552),  # the model card's 3.8B; fused qkv_proj and gate_up_proj
            ("Phi-3.5-mini (longrope)", phi35_mini, 3821079552),
            ("Phi-4-mini (longrope, partial rotary, tied)", phi4_mini, 200064 * 3072 + 32 * phi4_layer + 3072),
            ("Gemma-7B", gemma7b, 8537680896), ("Gemma-2B", gemma2b, 2506172416),  # the cards' 8.54B and 2.51B
            ("Gemma-2-9B", gemma2_9b, 9241705984), ("Gemma-2-2B", gemma2_2b, 2614341888),  # 9.24B and 2.61B
            ("Gemma-3-1B", gemma3_1b, 999885952),  # Hugging Face's safetensors total for google/gemma-3-1b-it
            ("Phi-2", phi2, 2779683840), ("Phi-1.5", phi15, 1418270720),  # Hugging Face's safetensors totals
            ("Pythia-70m", pythia70m, 70426624), ("Pythia-1.4b", pythia14b, 1414647808),  # GPTNeoXForCausalLM's
            ("BLOOM-560m", bloom560m, 559214592), ("BLOOM-7b1", bloom7b1, 7069016064),
            ("InternLM2.5-7B", internlm25_7b, 7737708544), ("Falcon-7B", falcon7b, f7), ("Falcon-40B", falcon40b, f40),
            ("Falcon-40B with bias", dict(falcon40b, bias=True),
             f40 + 60 * ((128 + 16) * 64 + 8192 + 4 * 8192 + 8192)), ("GPT-J-6B", gptj6b, gj),
            ("StableLM-2-1.6B", stablelm2, 1644515328),  # Hugging Face's safetensors total
            ("StableLM-2-1.6B with use_parallel_residual", dict(stablelm2, use_parallel_residual=True),
             1644515328 - 24 * 2 * 2048), ("GPT-2", gpt2s, 124439808), ("GPT-2 XL", gpt2xl, 1557611200),
            ("Command-R", cmdr, cohere_n(8192, 22528, 40, 64, 64)),
            ("Aya-23-8B", aya8b, cohere_n(4096, 14336, 32, 32, 8)), ("OLMo-7B", olmo7b, 6888095744),
            ("OLMo-1B", olmo1b, 1176764416), ("Granite-3.0-8B", gr8b, 8170848256),
            ("Granite-3.0-2B", gr2b, 2533531648), ("OLMo-2-1124-7B", olmo2_7b, 7298617344),
            ("OLMo-2-1124-13B", olmo2_13b, 13716198400), ("Olmo-3-1025-7B", olmo3_7b, 7298011136),
            ("EXAONE-4.0-32B", exaone32b, 32003216384), ("ArceeConfig defaults", arcee, 4022766080),
            ("Seed-OSS-36B", seed36b, 36151104512), ("ERNIE-4.5-0.3B", ernie03b, 360748032),
            ("ERNIE-4.5-0.3B with use_bias", dict(ernie03b, use_bias=True),
             360748032 + 18 * (2048 + 2 * 256 + 1024 + 2 * 3072 + 1024)), ("Helium-1 2B", helium2b, 2172643840),
            ("Hunyuan-7B", hunyuan7b, 7504568320),
            ("Seed-OSS-36B with attention_out_bias and mlp_bias", dict(seed36b, attention_out_bias=True, mlp_bias=True),
             36151104512 + 64 * (5120 + 2 * 27648 + 5120)),
            ("StarCoder2-3B", sc3b, 3030371328),
            ("StarCoder2-7B", sc7b, 7173923840), ("StarCoder", starcoder, 15517456384),
            ("StarCoder without multi_query", dict(starcoder, multi_query=False),
             15517456384 + 40 * (6144 + 1) * (3 * 6144 - 6400)), ("GLM-4-9B", glm9b, 9399951360),
            ("GLM-4-9B as glm4", dict(glm9b, model_type="glm4"), 9399951360 + 40 * 2 * 4096),
            ("Minitron-4B", minitron4b, 4190509056), ("Ministral-8B", ministral8b, 8019808256),
            ("Command R7B", command_r7b, cohere_n(4096, 14336, 32, 32, 8)), ("SmolLM3-3B", smollm3, 3075098624)):
        d = f"{TMP}/{name.replace(' ', '_')}"
        os.makedirs(d, exist_ok=True)
        json.dump(cfg, open(f"{d}/config.json", "w"))
        q = dry(d, 4)
        check(q is not None and q["n_params"] == want, f"{name}: {q and q['n_params']} parameters == {want}")
    r = run(["prune", "--dry-run", "--model", f"{TMP}/nowhere"])
    check(r.returncode != 0 and "error" in r.stderr, f"dry run of a missing model: {r.stderr.strip()}")

    # predicted vs measured peak RSS
    llama, opt = f"{DATA}/trained/llama-8L", f"{DATA}/trained/opt-6L"
    for np_ in (1, 2):
        compare("llama-8L", llama, np_)
    compare("opt-6L", opt, 2)
    wide = f"{TMP}/wide"
    write_llama(wide, {"model_type": "llama", "hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 4,
                       "num_attention_heads": 8, "num_key_value_heads": 8, "vocab_size": 8192,
                       "max_position_embeddings": 512, "rms_norm_eps": 1e-5, "tie_word_embeddings": False})
    shutil.copy(TOK, f"{wide}/tokenizer.json")
    solvers = [s for s in ("lapack", "scalapack", "petsc")  # the back-ends compiled in
               if run(["prune", "--dry-run", "--model", cfgdir, "--solver", s]).returncode == 0]
    for np_ in (1, 2):
        compare("wide synthetic LLaMA (D 512, F 2048, V 8192)", wide, np_, ("--protect", "0", "--importance", "obs"),
                source=wide)
    for s in solvers[1:]:  # (a coarse profile: petsc's LSQR per kept count is slow at d = 2048)
        compare(f"wide synthetic LLaMA, --solver {s}", wide, 2, ("--protect", "0", "--importance", "obs",
                                                                 "--solver", s, "--step-div", "4"))
    if "scalapack" in solvers:  # a 1x1 grid factors in G's own storage: no second (d, d) (32 MiB at d = 2048)
        compare("wide synthetic LLaMA, --solver scalapack", wide, 1, ("--protect", "0", "--importance", "obs",
                                                                      "--solver", "scalapack", "--step-div", "4"))
        # a group of 2 builds G in its block-cyclic shares (no whole G on any rank): the peak falls by
        # about half a G (16 MiB at d = 2048) against -mask_gram replicated (G + the factor's share);
        # with the default COND importance WᵀW and every Fisher sample's Gram are in the shares too
        # (two shares of d²/2 each, against WᵀW packed + a whole sample's Gram, then G + a share)
        for what, imp in (("obs", ("--importance", "obs")), ("cond", ("--gram-shares", "on"))):
            shares_vs_replicated(what, wide, ("--protect", "0", *imp, "--solver", "scalapack", "--step-div", "4",
                                              "--ranks-per-layer", "2"))
        gram_shares_auto(wide)
    preflight(llama)
    finish()


def preflight(model):
    """--mem-check: a node whose ranks' predicted peaks exceed what it has fails before any work (one
    line, no archive, no journal); warn goes on; the budget is --mem-budget or detected (Slurm's
    allocation here, from the environment a Slurm step would set)."""
    out = f"{TMP}/pre.h5"
    base = ["prune", "--model", model, "--ratio", "0.2", "--calib", CALIB, "--out", out, "--force", "--quiet"]

    def one_error(r, *words):
        lines = [l for l in r.stderr.splitlines() if l.startswith("comp")]
        return (r.returncode != 0 and len(lines) == 1 and lines[0].startswith("comp prune: error:")
                and all(w in lines[0] for w in words)), lines

    r = run(base + ["--mem-budget", "10M"], 2)
    ok, lines = one_error(r, "predicted to need", "more than the 0.01 GiB available (--mem-budget)")
    check(ok and not glob.glob(out + "*"),
          f"2 ranks, --mem-budget 10M: one error line before any work, no archive or journal: {lines}")
    env = dict(os.environ, SLURM_MEM_PER_NODE="20")
    r = subprocess.run(["mpiexec", "-n", "2", COMP, *base], capture_output=True, text=True, timeout=300, env=env)
    ok, lines = one_error(r, "0.02 GiB available (SLURM_MEM_PER_NODE)", "--ntasks-per-node")
    check(ok and not glob.glob(out + "*"), f"2 ranks in a 20 MB Slurm allocation: refused the same way: {lines}")
    r = run(base + ["--mem-budget", "10M", "--mem-check", "warn"], 2)
    warn = [l for l in r.stderr.splitlines() if l.startswith("comp prune: warning:")]
    check(r.returncode == 0 and len(warn) == 1 and os.path.exists(out) and not glob.glob(out + ".*"),
          f"--mem-check warn: one warning, the run completes: {warn}")
    r = run(base + ["--mem-check", "off"], 2, timeout=300)
    check(r.returncode == 0 and not r.stderr.strip(), "--mem-check off: nothing said")
    r = run(base + ["--mem-budget", "1.5T"], 2)
    check(r.returncode == 0 and "warning" not in r.stderr, "--mem-budget 1.5T: the run goes on, nothing to warn of")
    for b, says in (("1M", "does NOT fit"), ("1T", ": fits")):
        r = run(["prune", "--dry-run", "--model", model, "--calib", CALIB, "--mem-budget", b, "--quiet"], 3)
        last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
        check(r.returncode == 0 and says in last and "its 3 rank(s)" in last, f"dry run, 3 ranks, {b}: {last}")
    for bad, why in ((["--mem-check", "maybe"], "--mem-check maybe: use one of error, warn, off"),
                     (["--mem-budget", "12Q"], "--mem-budget 12Q: expected a size")):
        ok, lines = one_error(run(base + bad), why)
        check(ok, f"{' '.join(bad)}: {lines}")


main()
