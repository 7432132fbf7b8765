/* arch.c - the architecture table (see comp/arch.h). The only place that compares model_type strings. */
#include "comp/arch.h"

#include <stdio.h>
#include <string.h>

/* LLaMA's attention tensors (q, k, v, o with their optional biases) */
#define LLAMA_ATTN_TENSORS                                                                                             \
  [COMP_ROLE_ATTN_Q]     = "model.layers.%d.self_attn.q_proj.weight",                                                  \
  [COMP_ROLE_ATTN_Q_B]   = "model.layers.%d.self_attn.q_proj.bias",                                                    \
  [COMP_ROLE_ATTN_K]     = "model.layers.%d.self_attn.k_proj.weight",                                                  \
  [COMP_ROLE_ATTN_K_B]   = "model.layers.%d.self_attn.k_proj.bias",                                                    \
  [COMP_ROLE_ATTN_V]     = "model.layers.%d.self_attn.v_proj.weight",                                                  \
  [COMP_ROLE_ATTN_V_B]   = "model.layers.%d.self_attn.v_proj.bias",                                                    \
  [COMP_ROLE_ATTN_OUT]   = "model.layers.%d.self_attn.o_proj.weight",                                                  \
  [COMP_ROLE_ATTN_OUT_B] = "model.layers.%d.self_attn.o_proj.bias"
/* LLaMA's dense tensors (q, k, v, o, gate, up, down with their optional biases) */
#define LLAMA_DENSE_TENSORS                                                                                            \
  LLAMA_ATTN_TENSORS, [COMP_ROLE_FFN_GATE] = "model.layers.%d.mlp.gate_proj.weight",                                   \
                      [COMP_ROLE_FFN_GATE_B] = "model.layers.%d.mlp.gate_proj.bias",                                   \
                      [COMP_ROLE_FFN_UP]     = "model.layers.%d.mlp.up_proj.weight",                                   \
                      [COMP_ROLE_FFN_UP_B]   = "model.layers.%d.mlp.up_proj.bias",                                     \
                      [COMP_ROLE_FFN_DOWN]   = "model.layers.%d.mlp.down_proj.weight",                                 \
                      [COMP_ROLE_FFN_DOWN_B] = "model.layers.%d.mlp.down_proj.bias"
/* LLaMA's embedding, head and norm tensors; ffn_norm: the norm before the MLP (Gemma-2 names it otherwise) */
#define LLAMA_NORM_TENSORS(ffn_norm)                                                                                   \
  [COMP_ROLE_TOK_EMBD] = "model.embed_tokens.weight", [COMP_ROLE_OUT_NORM] = "model.norm.weight",                      \
  [COMP_ROLE_LM_HEAD] = "lm_head.weight", [COMP_ROLE_ATTN_NORM] = "model.layers.%d.input_layernorm.weight",            \
  [COMP_ROLE_FFN_NORM] = ffn_norm
/* their biases where the norms are LayerNorms (StableLM, StarCoder2) */
#define LLAMA_NORM_BIASES                                                                                              \
  [COMP_ROLE_OUT_NORM_B] = "model.norm.bias", [COMP_ROLE_ATTN_NORM_B] = "model.layers.%d.input_layernorm.bias",        \
  [COMP_ROLE_FFN_NORM_B] = "model.layers.%d.post_attention_layernorm.bias"
/* LLaMA's attention and LayerNorms (with biases) and a plain MLP up -> down, its tensors named mlp.<up> and
 * mlp.<down> (StarCoder2's c_fc / c_proj, Nemotron's up_proj / down_proj) */
#define PLAIN_MLP_TENSORS(up, down)                                                                                    \
  [COMP_ROLE_FFN_UP] = "model.layers.%d.mlp." up ".weight", [COMP_ROLE_FFN_UP_B] = "model.layers.%d.mlp." up ".bias",  \
  [COMP_ROLE_FFN_DOWN]   = "model.layers.%d.mlp." down ".weight",                                                      \
  [COMP_ROLE_FFN_DOWN_B] = "model.layers.%d.mlp." down ".bias"
#define LLAMA_LN_PLAIN_TENSORS(up, down)                                                                               \
  LLAMA_NORM_TENSORS("model.layers.%d.post_attention_layernorm.weight"), LLAMA_NORM_BIASES, LLAMA_ATTN_TENSORS,        \
      PLAIN_MLP_TENSORS(up, down)
/* LLaMA's tensor names */
#define LLAMA_TENSORS_FFN_NORM(ffn_norm) LLAMA_NORM_TENSORS(ffn_norm), LLAMA_DENSE_TENSORS
#define LLAMA_TENSORS                    LLAMA_TENSORS_FFN_NORM("model.layers.%d.post_attention_layernorm.weight")

/* What LLaMA's tensors need; ffn_norm: the norm before the MLP's (StableLM's: only in its sequential block) */
#define LLAMA_NEED_FFN_NORM(qkv_bias, ffn_norm)                                                                        \
  [COMP_ROLE_TOK_EMBD] = COMP_NEED_REQUIRED, [COMP_ROLE_OUT_NORM] = COMP_NEED_REQUIRED,                                \
  [COMP_ROLE_LM_HEAD]       = COMP_NEED_OPTIONAL, /* absent when tied */                                               \
      [COMP_ROLE_ATTN_NORM] = COMP_NEED_REQUIRED, [COMP_ROLE_FFN_NORM] = ffn_norm,                                     \
  [COMP_ROLE_ATTN_Q] = COMP_NEED_REQUIRED, [COMP_ROLE_ATTN_K] = COMP_NEED_REQUIRED,                                    \
  [COMP_ROLE_ATTN_V] = COMP_NEED_REQUIRED, [COMP_ROLE_ATTN_OUT] = COMP_NEED_REQUIRED,                                  \
  [COMP_ROLE_FFN_GATE] = COMP_NEED_REQUIRED, [COMP_ROLE_FFN_UP] = COMP_NEED_REQUIRED,                                  \
  [COMP_ROLE_FFN_DOWN] = COMP_NEED_REQUIRED, [COMP_ROLE_ATTN_Q_B] = qkv_bias, [COMP_ROLE_ATTN_K_B] = qkv_bias,         \
  [COMP_ROLE_ATTN_V_B] = qkv_bias, [COMP_ROLE_ATTN_OUT_B] = COMP_NEED_OPTIONAL,                                        \
  [COMP_ROLE_FFN_GATE_B] = COMP_NEED_OPTIONAL, [COMP_ROLE_FFN_UP_B] = COMP_NEED_OPTIONAL,                              \
  [COMP_ROLE_FFN_DOWN_B] = COMP_NEED_OPTIONAL
#define LLAMA_NEED(qkv_bias) LLAMA_NEED_FFN_NORM(qkv_bias, COMP_NEED_REQUIRED)

/* transformers' LlamaConfig: attention_bias (q, k, v, o) and mlp_bias (gate, up, down), both false */
#define LLAMA_OPT_ON                                                                                                   \
  {                                                                                                                    \
    {"attention_bias", false, 4, {COMP_ROLE_ATTN_Q_B, COMP_ROLE_ATTN_K_B, COMP_ROLE_ATTN_V_B, COMP_ROLE_ATTN_OUT_B}},  \
        {"mlp_bias", false, 3, {COMP_ROLE_FFN_GATE_B, COMP_ROLE_FFN_UP_B, COMP_ROLE_FFN_DOWN_B}},                      \
  }

/* Qwen2Config / Qwen3Config: with use_sliding_window (false by default) the layers from max_window_layers (28) on
 * attend to the last sliding_window (4096) keys only; without it, every layer to all keys */
#define QWEN_WINDOW .sliding_window = 4096, .window_first = 28
#define QWEN_CFG                                                                                                       \
  {                                                                                                                    \
    LLAMA_CFG_KEYS, .sliding_window = "sliding_window", .window_switch = "use_sliding_window",                         \
                    .window_first = "max_window_layers"                                                                \
  }

/* Qwen3: LLaMA's tensors and the per-head q/k RMSNorm weights. Qwen3Config and GemmaConfig have
 * attention_bias (q, k, v, o; false), their MLPs no biases */
#define QK_NORM_TENSORS                                                                                                \
  [COMP_ROLE_ATTN_Q_NORM] = "model.layers.%d.self_attn.q_norm.weight", [COMP_ROLE_ATTN_K_NORM] =                       \
                                                                           "model.layers.%d.self_attn.k_norm.weight"
#define QK_NORM_NEED [COMP_ROLE_ATTN_Q_NORM] = COMP_NEED_REQUIRED, [COMP_ROLE_ATTN_K_NORM] = COMP_NEED_REQUIRED
#define ATTN_BIAS_OPT_ON                                                                                               \
  {                                                                                                                    \
    {"attention_bias", false, 4, {COMP_ROLE_ATTN_Q_B, COMP_ROLE_ATTN_K_B, COMP_ROLE_ATTN_V_B, COMP_ROLE_ATTN_OUT_B}},  \
  }

#define SHAPE_KEYS(eps, theta)                                                                                         \
  .n_embd = "hidden_size", .n_layer = "num_hidden_layers", .n_head = "num_attention_heads",                            \
  .n_head_kv = "num_key_value_heads", .head_dim = "head_dim", .n_ff = "intermediate_size", .n_vocab = "vocab_size",    \
  .n_ctx = "max_position_embeddings", .norm_eps = eps, .rope_theta = theta, .tie_embd = "tie_word_embeddings"
#define LLAMA_SHAPE_KEYS SHAPE_KEYS("rms_norm_eps", "rope_theta")
#define LLAMA_CFG_KEYS   LLAMA_SHAPE_KEYS, .act = "hidden_act"
#define LLAMA_CFG                                                                                                      \
  {                                                                                                                    \
    LLAMA_CFG_KEYS                                                                                                     \
  }
#define MISTRAL_CFG                                                                                                    \
  {                                                                                                                    \
    LLAMA_CFG_KEYS, .sliding_window = "sliding_window"                                                                 \
  }
#define PHI3_CFG                                                                                                       \
  {                                                                                                                    \
    LLAMA_CFG_KEYS, .rope_fraction = "partial_rotary_factor", .sliding_window = "sliding_window"                       \
  }

/* Fused tensors (ChatGLM, Phi-3): the roles each one holds, in row order */
#define QKV_PARTS     COMP_ROLE_ATTN_Q, COMP_ROLE_ATTN_K, COMP_ROLE_ATTN_V
#define QKV_B_PARTS   COMP_ROLE_ATTN_Q_B, COMP_ROLE_ATTN_K_B, COMP_ROLE_ATTN_V_B
#define GATE_UP_PARTS COMP_ROLE_FFN_GATE, COMP_ROLE_FFN_UP

/* The LLaMA block the llama, mistral, phi3, qwen2 and qwen3 rows share: pre-RMSNorm, SiLU-gated FFN,
 * rotate_half RoPE with base 10000 unless the config says otherwise, Hugging Face's rope_scaling
 * (modeling_rope_utils), an untied head unless the config ties it */
#define LLAMA_BLOCK_THETA_TIE(theta, tie)                                                                              \
  .norm = COMP_NORM_RMS, .act = COMP_ACT_SILU, .ffn = COMP_FFN_GATED, .rope = COMP_ROPE_HALF, .rope_theta = theta,     \
  .tie_default = tie, .rope_scaling = true
#define LLAMA_BLOCK LLAMA_BLOCK_THETA_TIE(10000.0f, false)

/* The Gemma block the gemma, gemma2 and gemma3 rows share: GemmaRMSNorm (times 1 + w), a tanh-GELU
 * gate, the embedding times sqrt(hidden_size), rotate_half RoPE with base theta, head_dim 256, a tied
 * head unless the config unties it */
#define GEMMA_BLOCK(theta)                                                                                             \
  .norm = COMP_NORM_RMS_UNIT_OFFSET, .act = COMP_ACT_GELU_TANH, .ffn = COMP_FFN_GATED, .rope = COMP_ROPE_HALF,         \
  .rope_theta = theta, .norm_eps = 1e-6f, .head_dim = 256, .tie_default = true, .embd_scale = true,                    \
  .rope_scaling = true

/* Gemma-2's tensors (also Gemma-3's): LLaMA's with four norms a layer, the one before the MLP renamed */
#define GEMMA2_TENSORS                                                                                                 \
  LLAMA_TENSORS_FFN_NORM("model.layers.%d.pre_feedforward_layernorm.weight"),                                          \
      [COMP_ROLE_ATTN_POST_NORM] = "model.layers.%d.post_attention_layernorm.weight",                                  \
      [COMP_ROLE_FFN_POST_NORM]  = "model.layers.%d.post_feedforward_layernorm.weight"
#define GEMMA2_NEED                                                                                                    \
  LLAMA_NEED(COMP_NEED_OPTIONAL), [COMP_ROLE_ATTN_POST_NORM] = COMP_NEED_REQUIRED,                                     \
                                  [COMP_ROLE_FFN_POST_NORM] = COMP_NEED_REQUIRED

/* The parallel LayerNorm block the phi, gpt_neox and falcon rows share: LayerNorms with biases (eps
 * 1e-5), a plain MLP with activation act, rotate_half RoPE with base 10000 on the first frac of each
 * head, HF rope_scaling, attention and MLP adding to the residual together; and what it needs: every
 * tensor but the attention's biases (attn_b), the MLP's (mlp_b) and the head (absent when tied) */
#define LN_PLAIN_BLOCK(act_, frac)                                                                                     \
  .norm = COMP_NORM_LAYER, .act = act_, .ffn = COMP_FFN_PLAIN, .rope = COMP_ROPE_HALF, .norm_eps = 1e-5f,              \
  .rope_theta = 10000.0f, .rope_fraction = frac, .parallel = true, .rope_scaling = true
#define LN_PLAIN_NEED(attn_b, mlp_b)                                                                                   \
  [COMP_ROLE_TOK_EMBD] = COMP_NEED_REQUIRED, [COMP_ROLE_OUT_NORM] = COMP_NEED_REQUIRED,                                \
  [COMP_ROLE_OUT_NORM_B] = COMP_NEED_REQUIRED, [COMP_ROLE_LM_HEAD] = COMP_NEED_OPTIONAL,                               \
  [COMP_ROLE_ATTN_NORM] = COMP_NEED_REQUIRED, [COMP_ROLE_ATTN_NORM_B] = COMP_NEED_REQUIRED,                            \
  [COMP_ROLE_ATTN_Q] = COMP_NEED_REQUIRED, [COMP_ROLE_ATTN_K] = COMP_NEED_REQUIRED,                                    \
  [COMP_ROLE_ATTN_V] = COMP_NEED_REQUIRED, [COMP_ROLE_ATTN_OUT] = COMP_NEED_REQUIRED, [COMP_ROLE_ATTN_Q_B] = attn_b,   \
  [COMP_ROLE_ATTN_K_B] = attn_b, [COMP_ROLE_ATTN_V_B] = attn_b, [COMP_ROLE_ATTN_OUT_B] = attn_b,                       \
  [COMP_ROLE_FFN_UP] = COMP_NEED_REQUIRED, [COMP_ROLE_FFN_UP_B] = mlp_b, [COMP_ROLE_FFN_DOWN] = COMP_NEED_REQUIRED,    \
  [COMP_ROLE_FFN_DOWN_B] = mlp_b
/* the same in a sequential block, where the MLP has its own LayerNorm (GPT-2, StarCoder2, Nemotron) */
#define LN_SEQ_NEED(attn_b, mlp_b)                                                                                     \
  LN_PLAIN_NEED(attn_b, mlp_b), [COMP_ROLE_FFN_NORM] = COMP_NEED_REQUIRED, [COMP_ROLE_FFN_NORM_B] = COMP_NEED_REQUIRED

/* q, k and v in one tensor (and their biases in another), kv head by kv head (GPT-NeoX, BLOOM, InternLM2) */
#define PER_HEAD_QKV                                                                                                   \
  [COMP_ROLE_ATTN_Q] = {3, {QKV_PARTS}, true}, [COMP_ROLE_ATTN_K] = {3, {QKV_PARTS}, true},                            \
  [COMP_ROLE_ATTN_V] = {3, {QKV_PARTS}, true}, [COMP_ROLE_ATTN_Q_B] = {3, {QKV_B_PARTS}, true},                        \
  [COMP_ROLE_ATTN_K_B] = {3, {QKV_B_PARTS}, true}, [COMP_ROLE_ATTN_V_B] = {3, {QKV_B_PARTS}, true}

/* q | k | v stacked in one tensor (ChatGLM, Phi-3, GPT-2), and their biases in another */
#define STACKED_QKV                                                                                                    \
  [COMP_ROLE_ATTN_Q] = {3, {QKV_PARTS}}, [COMP_ROLE_ATTN_K] = {3, {QKV_PARTS}}, [COMP_ROLE_ATTN_V] = {3, {QKV_PARTS}}
#define STACKED_QKV_B                                                                                                  \
  [COMP_ROLE_ATTN_Q_B] = {3, {QKV_B_PARTS}}, [COMP_ROLE_ATTN_K_B] = {3, {QKV_B_PARTS}},                                \
  [COMP_ROLE_ATTN_V_B] = {3, {QKV_B_PARTS}}
/* Fused rows (ChatGLM, Phi-3): q | k | v in one tensor, gate | up in another */
#define FUSED_QKV_GATE_UP                                                                                              \
  STACKED_QKV, [COMP_ROLE_FFN_GATE] = {2, {GATE_UP_PARTS}}, [COMP_ROLE_FFN_UP] = {2, {GATE_UP_PARTS}}

static const comp_arch_desc arch_llama = {
    .name          = "llama",
    .hf_model_type = {"llama", NULL},
    LLAMA_BLOCK,
    .norm_eps = 1e-6f,
    .cfg      = LLAMA_CFG,
    .tensor   = {LLAMA_TENSORS},
    .need     = {LLAMA_NEED(COMP_NEED_OPTIONAL)},
    .opt_on   = LLAMA_OPT_ON,
};

static const comp_arch_desc arch_mistral = {
    /* transformers' modeling_mistral.py: LLaMA's block; with config.sliding_window set, every layer's
     * query i attends to keys j with i - W < j <= i (masking_utils' sliding_window_overlay).
     * MistralConfig's default is 4096 (Mistral-7B-v0.1); v0.2 and later configs write null. */
    .name          = "mistral",
    .hf_model_type = {"mistral", NULL},
    LLAMA_BLOCK,
    .norm_eps       = 1e-6f,
    .sliding_window = 4096,
    .cfg            = MISTRAL_CFG,
    .tensor         = {LLAMA_TENSORS},
    .need           = {LLAMA_NEED(COMP_NEED_OPTIONAL)}, /* MistralConfig has no bias switches */
};

static const comp_arch_desc arch_ministral = {
    /* transformers' modeling_ministral.py (Ministral-8B-Instruct-2410): Mistral's block (no biases) with each
     * layer's attention as layer_types says: sliding_attention, the last sliding_window keys (4096 by default),
     * or full_attention; without layer_types every layer is windowed (none where sliding_window is null) */
    .name          = "ministral",
    .hf_model_type = {"ministral", NULL},
    LLAMA_BLOCK,
    .norm_eps       = 1e-6f,
    .sliding_window = 4096,
    .cfg            = MISTRAL_CFG,
    .tensor         = {LLAMA_TENSORS},
    .need           = {LLAMA_NEED(COMP_NEED_OPTIONAL)},
};

static const comp_arch_desc arch_smollm3 = {
    /* transformers' modeling_smollm3.py (SmolLM3-3B): LLaMA's block and tensors (attention_bias, mlp_bias) where the
     * layers no_rope_layers marks 0 (without the list: each no_rope_layer_interval-th, 4) rotate neither q nor k
     * (NoPE); a tied head unless the config unties it. use_sliding_window is not implemented. */
    .name          = "smollm3",
    .hf_model_type = {"smollm3", NULL},
    LLAMA_BLOCK_THETA_TIE(2000000.0f, true), /* SmolLM3Config's base; PretrainedConfig's tie_word_embeddings */
    .norm_eps    = 1e-6f,
    .nope_period = 4,
    .cfg         = {LLAMA_CFG_KEYS, .rope_layers = "no_rope_layers", .nope_period = "no_rope_layer_interval"},
    .rules       = {{"use_sliding_window", COMP_CFG_FALSE, false}},
    .tensor      = {LLAMA_TENSORS},
    .need        = {LLAMA_NEED(COMP_NEED_OPTIONAL)},
    .opt_on      = LLAMA_OPT_ON,
};

static const comp_arch_desc arch_phi3 = {
    /* transformers' modeling_phi3.py: LLaMA's block with q | k | v in the rows of qkv_proj and gate | up
     * in those of gate_up_proj (chunk(2): act(first half) * second half); rotate_half RoPE on the first
     * partial_rotary_factor of each head; with sliding_window set, Mistral's window (Phi3Config's
     * default: none; Phi-3-mini-4k writes 2047). No biases; the 128k models' longrope is a rope_scaling
     * kind (src/model.c), which the first of them called "su" or "yarn" (Phi3Config renames both). */
    .name          = "phi3",
    .hf_model_type = {"phi3", NULL},
    LLAMA_BLOCK,
    .longrope_aliases = true,
    .norm_eps         = 1e-5f,
    .cfg              = PHI3_CFG,
    .tensor =
        {
            [COMP_ROLE_TOK_EMBD]  = "model.embed_tokens.weight",
            [COMP_ROLE_OUT_NORM]  = "model.norm.weight",
            [COMP_ROLE_LM_HEAD]   = "lm_head.weight",
            [COMP_ROLE_ATTN_NORM] = "model.layers.%d.input_layernorm.weight",
            [COMP_ROLE_ATTN_Q]    = "model.layers.%d.self_attn.qkv_proj.weight",
            [COMP_ROLE_ATTN_K]    = "model.layers.%d.self_attn.qkv_proj.weight",
            [COMP_ROLE_ATTN_V]    = "model.layers.%d.self_attn.qkv_proj.weight",
            [COMP_ROLE_ATTN_OUT]  = "model.layers.%d.self_attn.o_proj.weight",
            [COMP_ROLE_FFN_NORM]  = "model.layers.%d.post_attention_layernorm.weight",
            [COMP_ROLE_FFN_GATE]  = "model.layers.%d.mlp.gate_up_proj.weight",
            [COMP_ROLE_FFN_UP]    = "model.layers.%d.mlp.gate_up_proj.weight",
            [COMP_ROLE_FFN_DOWN]  = "model.layers.%d.mlp.down_proj.weight",
        },
    .need =
        {
            [COMP_ROLE_TOK_EMBD]  = COMP_NEED_REQUIRED,
            [COMP_ROLE_OUT_NORM]  = COMP_NEED_REQUIRED,
            [COMP_ROLE_LM_HEAD]   = COMP_NEED_OPTIONAL,
            [COMP_ROLE_ATTN_NORM] = COMP_NEED_REQUIRED,
            [COMP_ROLE_ATTN_Q]    = COMP_NEED_REQUIRED,
            [COMP_ROLE_ATTN_K]    = COMP_NEED_REQUIRED,
            [COMP_ROLE_ATTN_V]    = COMP_NEED_REQUIRED,
            [COMP_ROLE_ATTN_OUT]  = COMP_NEED_REQUIRED,
            [COMP_ROLE_FFN_NORM]  = COMP_NEED_REQUIRED,
            [COMP_ROLE_FFN_GATE]  = COMP_NEED_REQUIRED,
            [COMP_ROLE_FFN_UP]    = COMP_NEED_REQUIRED,
            [COMP_ROLE_FFN_DOWN]  = COMP_NEED_REQUIRED,
        },
    .fused = {FUSED_QKV_GATE_UP},
};

static const comp_arch_desc arch_qwen2 = {
    .name          = "qwen2",
    .hf_model_type = {"qwen2", NULL},
    LLAMA_BLOCK,
    .norm_eps = 1e-6f,
    QWEN_WINDOW,
    .cfg    = QWEN_CFG,
    .tensor = {LLAMA_TENSORS},
    .need   = {LLAMA_NEED(COMP_NEED_REQUIRED)},
};

static const comp_arch_desc arch_qwen3 = {
    /* transformers' modeling_qwen3.py: Qwen2's block without the q/k/v biases, and q_norm /
     * k_norm, an RMSNorm over head_dim with the model's eps, applied to each head of q and k
     * after the projection and before RoPE. Qwen3Config's head_dim default is 128, not
     * hidden_size / heads. */
    .name          = "qwen3",
    .hf_model_type = {"qwen3", NULL},
    LLAMA_BLOCK,
    .norm_eps = 1e-6f,
    .head_dim = 128,
    QWEN_WINDOW,
    .cfg    = QWEN_CFG,
    .opt_on = ATTN_BIAS_OPT_ON,
    .tensor = {LLAMA_TENSORS, QK_NORM_TENSORS},
    .need   = {LLAMA_NEED(COMP_NEED_OPTIONAL), QK_NORM_NEED},
};

static const comp_arch_desc arch_gemma = {
    /* transformers' modeling_gemma.py: LLaMA's tensors and block with GemmaRMSNorm (x / rms(x) times
     * 1 + w, the weights stored as w), the embedding rows times sqrt(hidden_size) (in fp32), a GELU
     * (tanh approximation) gate, head_dim 256 and a tied head by default. The activation is
     * hidden_activation's (gelu_pytorch_tanh when absent or null, as transformers 4.39-4.47 and
     * Google's reference take it; Gemma's configs also say "hidden_act": "gelu", which those
     * versions ignore). GemmaConfig has attention_bias (q, k, v, o), its MLP no biases. */
    .name          = "gemma",
    .hf_model_type = {"gemma", NULL},
    GEMMA_BLOCK(10000.0f),
    .cfg    = {LLAMA_SHAPE_KEYS, .act = "hidden_activation"},
    .opt_on = ATTN_BIAS_OPT_ON,
    .tensor = {LLAMA_TENSORS},
    .need   = {LLAMA_NEED(COMP_NEED_OPTIONAL)},
};

static const comp_arch_desc arch_gemma2 = {
    /* transformers' modeling_gemma2.py: Gemma's block (GemmaRMSNorm, scaled embedding, tanh-GELU
     * gate) with four norms a layer (input_layernorm before the attention, post_attention_layernorm
     * on its output before the residual add, pre_ / post_feedforward_layernorm around the MLP), the
     * attention scores times query_pre_attn_scalar^-1/2 and soft-capped (cap·tanh(s/cap)) before the
     * mask, the logits soft-capped too. Every other layer (the even ones, or those layer_types calls
     * sliding_attention) attends to the last sliding_window keys only, the others to all. */
    .name          = "gemma2",
    .hf_model_type = {"gemma2", NULL},
    GEMMA_BLOCK(10000.0f),
    .attn_softcap   = 50.0f,
    .final_softcap  = 30.0f,
    .attn_scalar    = 256.0f,
    .sliding_window = 4096,
    .window_period  = 2,
    .cfg            = {LLAMA_SHAPE_KEYS, .act = "hidden_activation", .attn_softcap = "attn_logit_softcapping",
                       .final_softcap = "final_logit_softcapping", .attn_scalar = "query_pre_attn_scalar",
                       .sliding_window = "sliding_window"},
    .opt_on         = ATTN_BIAS_OPT_ON,
    .tensor         = {GEMMA2_TENSORS},
    .need           = {GEMMA2_NEED},
};

static const comp_arch_desc arch_gemma3 = {
    /* transformers' modeling_gemma3.py (Gemma3ForCausalLM, the text-only models: Gemma-3-1B): Gemma-2's
     * layer with q_norm / k_norm (GemmaRMSNorm of each query and key head, before RoPE), no soft-caps
     * by default, base 1e6. Layers attend to the last sliding_window keys, all but each
     * sliding_window_pattern-th (layer i global when (i + 1) % 6 == 0) or as layer_types says; the
     * windowed (local) layers rotate with base rope_local_base_freq and no scaling, the global ones
     * with rope_theta and rope_scaling (the multimodal Gemma3ForConditionalGeneration is another
     * model_type, "gemma3"). */
    .name          = "gemma3",
    .hf_model_type = {"gemma3_text", NULL},
    GEMMA_BLOCK(1e6f),
    .attn_scalar      = 256.0f,
    .sliding_window   = 4096,
    .window_period    = 6,
    .rope_theta_local = 10000.0f,
    .cfg              = {LLAMA_SHAPE_KEYS, .act = "hidden_activation", .attn_softcap = "attn_logit_softcapping",
                         .final_softcap = "final_logit_softcapping", .attn_scalar = "query_pre_attn_scalar",
                         .sliding_window = "sliding_window", .window_period = "sliding_window_pattern",
                         .rope_theta_local = "rope_local_base_freq"},
    .opt_on           = ATTN_BIAS_OPT_ON,
    .tensor           = {GEMMA2_TENSORS, QK_NORM_TENSORS},
    .need             = {GEMMA2_NEED, QK_NORM_NEED},
};

static const comp_arch_desc arch_phi = {
    /* transformers' modeling_phi.py (PhiForCausalLM: Phi-1, Phi-1.5, Phi-2): one LayerNorm (with a bias)
     * whose output both the attention and the MLP read, their outputs added to the residual together;
     * q, k, v and dense (o) with biases, rotate_half RoPE on the first partial_rotary_factor (0.5) of
     * each head, fc1 -> gelu_new (the tanh GELU) -> fc2 with biases, a final LayerNorm and an untied
     * head with a bias. PhiConfig's qk_layernorm (false) is not implemented. */
    .name          = "phi",
    .hf_model_type = {"phi", NULL},
    LN_PLAIN_BLOCK(COMP_ACT_GELU_TANH, 0.5f),
    .cfg = {SHAPE_KEYS("layer_norm_eps", "rope_theta"), .act = "hidden_act", .rope_fraction = "partial_rotary_factor"},
    .rules  = {{"qk_layernorm", COMP_CFG_FALSE, false}},
    .tensor = {[COMP_ROLE_TOK_EMBD]    = "model.embed_tokens.weight",
               [COMP_ROLE_OUT_NORM]    = "model.final_layernorm.weight",
               [COMP_ROLE_OUT_NORM_B]  = "model.final_layernorm.bias",
               [COMP_ROLE_LM_HEAD]     = "lm_head.weight",
               [COMP_ROLE_LM_HEAD_B]   = "lm_head.bias",
               [COMP_ROLE_ATTN_NORM]   = "model.layers.%d.input_layernorm.weight",
               [COMP_ROLE_ATTN_NORM_B] = "model.layers.%d.input_layernorm.bias",
               [COMP_ROLE_ATTN_Q]      = "model.layers.%d.self_attn.q_proj.weight",
               [COMP_ROLE_ATTN_Q_B]    = "model.layers.%d.self_attn.q_proj.bias",
               [COMP_ROLE_ATTN_K]      = "model.layers.%d.self_attn.k_proj.weight",
               [COMP_ROLE_ATTN_K_B]    = "model.layers.%d.self_attn.k_proj.bias",
               [COMP_ROLE_ATTN_V]      = "model.layers.%d.self_attn.v_proj.weight",
               [COMP_ROLE_ATTN_V_B]    = "model.layers.%d.self_attn.v_proj.bias",
               [COMP_ROLE_ATTN_OUT]    = "model.layers.%d.self_attn.dense.weight",
               [COMP_ROLE_ATTN_OUT_B]  = "model.layers.%d.self_attn.dense.bias",
               [COMP_ROLE_FFN_UP]      = "model.layers.%d.mlp.fc1.weight",
               [COMP_ROLE_FFN_UP_B]    = "model.layers.%d.mlp.fc1.bias",
               [COMP_ROLE_FFN_DOWN]    = "model.layers.%d.mlp.fc2.weight",
               [COMP_ROLE_FFN_DOWN_B]  = "model.layers.%d.mlp.fc2.bias"},
    .need   = {LN_PLAIN_NEED(COMP_NEED_REQUIRED, COMP_NEED_REQUIRED), [COMP_ROLE_LM_HEAD_B] = COMP_NEED_REQUIRED},
};

static const comp_arch_desc arch_gpt_neox = {
    /* transformers' modeling_gpt_neox.py (Pythia, GPT-NeoX-20B, Dolly-v2, RedPajama-INCITE): pre-LayerNorm
     * (with biases) layers whose attention and MLP both read the layer's input, through their own
     * norms, and add to the residual together (use_parallel_residual; false: the usual sequential
     * block); query_key_value holds q, k and v head by head (view(..., heads, 3 * head_dim)),
     * rotate_half RoPE on the first rotary_pct (0.25) of each head with base rotary_emb_base, a plain
     * GELU MLP, biases everywhere (attention_bias: those of the attention), an untied embed_out. */
    .name          = "gpt_neox",
    .hf_model_type = {"gpt_neox", NULL},
    LN_PLAIN_BLOCK(COMP_ACT_GELU, 0.25f),
    .cfg    = {SHAPE_KEYS("layer_norm_eps", "rotary_emb_base"), .act = "hidden_act", .rope_fraction = "rotary_pct",
               .parallel = "use_parallel_residual"},
    .opt_on = {{"attention_bias",
                true,
                4,
                {COMP_ROLE_ATTN_Q_B, COMP_ROLE_ATTN_K_B, COMP_ROLE_ATTN_V_B, COMP_ROLE_ATTN_OUT_B}}},
    .tensor = {[COMP_ROLE_TOK_EMBD]    = "gpt_neox.embed_in.weight",
               [COMP_ROLE_OUT_NORM]    = "gpt_neox.final_layer_norm.weight",
               [COMP_ROLE_OUT_NORM_B]  = "gpt_neox.final_layer_norm.bias",
               [COMP_ROLE_LM_HEAD]     = "embed_out.weight",
               [COMP_ROLE_ATTN_NORM]   = "gpt_neox.layers.%d.input_layernorm.weight",
               [COMP_ROLE_ATTN_NORM_B] = "gpt_neox.layers.%d.input_layernorm.bias",
               [COMP_ROLE_ATTN_Q]      = "gpt_neox.layers.%d.attention.query_key_value.weight",
               [COMP_ROLE_ATTN_K]      = "gpt_neox.layers.%d.attention.query_key_value.weight",
               [COMP_ROLE_ATTN_V]      = "gpt_neox.layers.%d.attention.query_key_value.weight",
               [COMP_ROLE_ATTN_Q_B]    = "gpt_neox.layers.%d.attention.query_key_value.bias",
               [COMP_ROLE_ATTN_K_B]    = "gpt_neox.layers.%d.attention.query_key_value.bias",
               [COMP_ROLE_ATTN_V_B]    = "gpt_neox.layers.%d.attention.query_key_value.bias",
               [COMP_ROLE_ATTN_OUT]    = "gpt_neox.layers.%d.attention.dense.weight",
               [COMP_ROLE_ATTN_OUT_B]  = "gpt_neox.layers.%d.attention.dense.bias",
               [COMP_ROLE_FFN_NORM]    = "gpt_neox.layers.%d.post_attention_layernorm.weight",
               [COMP_ROLE_FFN_NORM_B]  = "gpt_neox.layers.%d.post_attention_layernorm.bias",
               [COMP_ROLE_FFN_UP]      = "gpt_neox.layers.%d.mlp.dense_h_to_4h.weight",
               [COMP_ROLE_FFN_UP_B]    = "gpt_neox.layers.%d.mlp.dense_h_to_4h.bias",
               [COMP_ROLE_FFN_DOWN]    = "gpt_neox.layers.%d.mlp.dense_4h_to_h.weight",
               [COMP_ROLE_FFN_DOWN_B]  = "gpt_neox.layers.%d.mlp.dense_4h_to_h.bias"},
    .need   = {LN_PLAIN_NEED(COMP_NEED_OPTIONAL, COMP_NEED_REQUIRED), [COMP_ROLE_FFN_NORM] = COMP_NEED_REQUIRED,
               [COMP_ROLE_FFN_NORM_B] = COMP_NEED_REQUIRED},
    .fused  = {PER_HEAD_QKV},
};

static const comp_arch_desc arch_bloom = {
    /* transformers' modeling_bloom.py (BLOOM, BLOOMZ): the embedding rows LayerNorm'd
     * (word_embeddings_layernorm), pre-LayerNorm layers (biases everywhere) with query_key_value
     * holding q, k and v head by head (view(..., heads, 3, head_dim)), no RoPE: ALiBi adds slope_h *
     * key position to head h's scores, a 4 * hidden MLP with bloom_gelu (the tanh GELU), a tied head.
     * BloomConfig reads hidden_size or n_embed, n_layer, n_head; it has no context length (2048, the
     * training length, here). Checkpoints saved from BloomModel name tensors without "transformer.";
     * apply_residual_connection_post_layernorm (false) is not implemented. */
    .name          = "bloom",
    .hf_model_type = {"bloom", NULL},
    .norm          = COMP_NORM_LAYER,
    .act           = COMP_ACT_GELU_TANH,
    .ffn           = COMP_FFN_PLAIN,
    .rope          = COMP_ROPE_NONE,
    .norm_eps      = 1e-5f,
    .alibi         = true,
    .ff_mult       = 4,
    .n_ctx         = 2048,
    .tie_default   = true,
    .base_prefix   = "transformer.",
    .cfg           = {.n_embd   = "hidden_size|n_embed",
                      .n_layer  = "n_layer|num_hidden_layers",
                      .n_head   = "n_head|num_attention_heads",
                      .n_vocab  = "vocab_size",
                      .norm_eps = "layer_norm_epsilon",
                      .tie_embd = "tie_word_embeddings"},
    .rules         = {{"apply_residual_connection_post_layernorm", COMP_CFG_FALSE, false}},
    .tensor        = {[COMP_ROLE_TOK_EMBD]    = "transformer.word_embeddings.weight",
                      [COMP_ROLE_EMBD_NORM]   = "transformer.word_embeddings_layernorm.weight",
                      [COMP_ROLE_EMBD_NORM_B] = "transformer.word_embeddings_layernorm.bias",
                      [COMP_ROLE_OUT_NORM]    = "transformer.ln_f.weight",
                      [COMP_ROLE_OUT_NORM_B]  = "transformer.ln_f.bias",
                      [COMP_ROLE_LM_HEAD]     = "lm_head.weight",
                      [COMP_ROLE_ATTN_NORM]   = "transformer.h.%d.input_layernorm.weight",
                      [COMP_ROLE_ATTN_NORM_B] = "transformer.h.%d.input_layernorm.bias",
                      [COMP_ROLE_ATTN_Q]      = "transformer.h.%d.self_attention.query_key_value.weight",
                      [COMP_ROLE_ATTN_K]      = "transformer.h.%d.self_attention.query_key_value.weight",
                      [COMP_ROLE_ATTN_V]      = "transformer.h.%d.self_attention.query_key_value.weight",
                      [COMP_ROLE_ATTN_Q_B]    = "transformer.h.%d.self_attention.query_key_value.bias",
                      [COMP_ROLE_ATTN_K_B]    = "transformer.h.%d.self_attention.query_key_value.bias",
                      [COMP_ROLE_ATTN_V_B]    = "transformer.h.%d.self_attention.query_key_value.bias",
                      [COMP_ROLE_ATTN_OUT]    = "transformer.h.%d.self_attention.dense.weight",
                      [COMP_ROLE_ATTN_OUT_B]  = "transformer.h.%d.self_attention.dense.bias",
                      [COMP_ROLE_FFN_NORM]    = "transformer.h.%d.post_attention_layernorm.weight",
                      [COMP_ROLE_FFN_NORM_B]  = "transformer.h.%d.post_attention_layernorm.bias",
                      [COMP_ROLE_FFN_UP]      = "transformer.h.%d.mlp.dense_h_to_4h.weight",
                      [COMP_ROLE_FFN_UP_B]    = "transformer.h.%d.mlp.dense_h_to_4h.bias",
                      [COMP_ROLE_FFN_DOWN]    = "transformer.h.%d.mlp.dense_4h_to_h.weight",
                      [COMP_ROLE_FFN_DOWN_B]  = "transformer.h.%d.mlp.dense_4h_to_h.bias"},
    .need          = {LN_PLAIN_NEED(COMP_NEED_REQUIRED, COMP_NEED_REQUIRED), [COMP_ROLE_FFN_NORM] = COMP_NEED_REQUIRED,
                      [COMP_ROLE_FFN_NORM_B] = COMP_NEED_REQUIRED, [COMP_ROLE_EMBD_NORM] = COMP_NEED_REQUIRED,
                      [COMP_ROLE_EMBD_NORM_B] = COMP_NEED_REQUIRED},
    .fused         = {PER_HEAD_QKV},
};

static const comp_arch_desc arch_internlm2 = {
    /* InternLM's modeling_internlm2.py (trust_remote_code; InternLM2, InternLM2.5): LLaMA's block under
     * other names, with q, k and v fused in wqkv kv head by kv head: rearrange "(h gs d)" with gs = the
     * g = heads / kv_heads query heads of the group, then its k, then its v; biases on wqkv and wo
     * when config.bias (InternLM2Config's default true; the released configs say false). Its dynamic
     * NTK rope_scaling is plain RoPE within max_position_embeddings (src/model.c). */
    .name          = "internlm2",
    .hf_model_type = {"internlm2", NULL},
    LLAMA_BLOCK,
    .norm_eps = 1e-6f,
    .cfg      = LLAMA_CFG,
    .opt_on   = {{"bias", true, 4, {COMP_ROLE_ATTN_Q_B, COMP_ROLE_ATTN_K_B, COMP_ROLE_ATTN_V_B, COMP_ROLE_ATTN_OUT_B}}},
    .tensor   = {[COMP_ROLE_TOK_EMBD]   = "model.tok_embeddings.weight",
                 [COMP_ROLE_OUT_NORM]   = "model.norm.weight",
                 [COMP_ROLE_LM_HEAD]    = "output.weight",
                 [COMP_ROLE_ATTN_NORM]  = "model.layers.%d.attention_norm.weight",
                 [COMP_ROLE_ATTN_Q]     = "model.layers.%d.attention.wqkv.weight",
                 [COMP_ROLE_ATTN_K]     = "model.layers.%d.attention.wqkv.weight",
                 [COMP_ROLE_ATTN_V]     = "model.layers.%d.attention.wqkv.weight",
                 [COMP_ROLE_ATTN_Q_B]   = "model.layers.%d.attention.wqkv.bias",
                 [COMP_ROLE_ATTN_K_B]   = "model.layers.%d.attention.wqkv.bias",
                 [COMP_ROLE_ATTN_V_B]   = "model.layers.%d.attention.wqkv.bias",
                 [COMP_ROLE_ATTN_OUT]   = "model.layers.%d.attention.wo.weight",
                 [COMP_ROLE_ATTN_OUT_B] = "model.layers.%d.attention.wo.bias",
                 [COMP_ROLE_FFN_NORM]   = "model.layers.%d.ffn_norm.weight",
                 [COMP_ROLE_FFN_GATE]   = "model.layers.%d.feed_forward.w1.weight",
                 [COMP_ROLE_FFN_UP]     = "model.layers.%d.feed_forward.w3.weight",
                 [COMP_ROLE_FFN_DOWN]   = "model.layers.%d.feed_forward.w2.weight"},
    .need     = {LLAMA_NEED(COMP_NEED_OPTIONAL)},
    .fused    = {PER_HEAD_QKV},
};

/* transformers' modeling_falcon.py (FalconForCausalLM): three decoders behind one model_type, each a row
 * picked by the config's new_decoder_architecture and num_ln_in_parallel_attn. All have LayerNorms with
 * biases (layer_norm_epsilon), attention and MLP adding to the residual together (parallel_attn),
 * query_key_value holding q, k and v kv head by kv head (each group's query heads, then its k and v;
 * with one kv head that is q | k | v), rotate_half RoPE on the whole head with base rope_theta and HF
 * rope_scaling, dense_h_to_4h -> activation (exact GELU) -> dense_4h_to_h, ffn_hidden_size wide (4 *
 * hidden when absent), biases on every dense when config.bias, a tied head unless the config unties it,
 * max_position_embeddings 2048 when absent. ALiBi (Falcon-RW) and the sequential block
 * (parallel_attn false) are not implemented. */
#define FALCON_BLOCK                                                                                                   \
  LN_PLAIN_BLOCK(COMP_ACT_GELU, 0.0f),                                                                                 \
      .ff_mult = 4, .n_ctx = 2048, .tie_default = true, .base_prefix = "transformer.",                                 \
      .rules  = {{"alibi", COMP_CFG_FALSE, false}, {"parallel_attn", COMP_CFG_TRUE, true}},                            \
      .opt_on = {{"bias",                                                                                              \
                  false,                                                                                               \
                  6,                                                                                                   \
                  {COMP_ROLE_ATTN_Q_B, COMP_ROLE_ATTN_K_B, COMP_ROLE_ATTN_V_B, COMP_ROLE_ATTN_OUT_B,                   \
                   COMP_ROLE_FFN_UP_B, COMP_ROLE_FFN_DOWN_B}}},                                                        \
      .fused  = {PER_HEAD_QKV}
/* FalconConfig's keys (n_embed, n_layer and n_head in configs written before transformers 4.33);
 * kv: the key of the kv heads, NULL where the row fixes them */
#define FALCON_CFG(kv)                                                                                                 \
  {                                                                                                                    \
    .n_embd = "hidden_size|n_embed", .n_layer = "num_hidden_layers|n_layer", .n_head = "num_attention_heads|n_head",   \
    .n_head_kv = kv, .n_ff = "ffn_hidden_size", .n_vocab = "vocab_size", .n_ctx = "max_position_embeddings",           \
    .norm_eps = "layer_norm_epsilon", .rope_theta = "rope_theta", .tie_embd = "tie_word_embeddings",                   \
    .act = "activation"                                                                                                \
  }
/* Falcon's tensors but the MLP's LayerNorm (a row with none: the MLP reads the attention's); attn_norm:
 * the LayerNorm before the attention */
#define FALCON_TENSORS(attn_norm)                                                                                      \
  [COMP_ROLE_TOK_EMBD] = "transformer.word_embeddings.weight", [COMP_ROLE_OUT_NORM] = "transformer.ln_f.weight",       \
  [COMP_ROLE_OUT_NORM_B] = "transformer.ln_f.bias", [COMP_ROLE_LM_HEAD] = "lm_head.weight",                            \
  [COMP_ROLE_ATTN_NORM]   = "transformer.h.%d." attn_norm ".weight",                                                   \
  [COMP_ROLE_ATTN_NORM_B] = "transformer.h.%d." attn_norm ".bias",                                                     \
  [COMP_ROLE_ATTN_Q]      = "transformer.h.%d.self_attention.query_key_value.weight",                                  \
  [COMP_ROLE_ATTN_K]      = "transformer.h.%d.self_attention.query_key_value.weight",                                  \
  [COMP_ROLE_ATTN_V]      = "transformer.h.%d.self_attention.query_key_value.weight",                                  \
  [COMP_ROLE_ATTN_Q_B]    = "transformer.h.%d.self_attention.query_key_value.bias",                                    \
  [COMP_ROLE_ATTN_K_B]    = "transformer.h.%d.self_attention.query_key_value.bias",                                    \
  [COMP_ROLE_ATTN_V_B]    = "transformer.h.%d.self_attention.query_key_value.bias",                                    \
  [COMP_ROLE_ATTN_OUT]    = "transformer.h.%d.self_attention.dense.weight",                                            \
  [COMP_ROLE_ATTN_OUT_B]  = "transformer.h.%d.self_attention.dense.bias",                                              \
  [COMP_ROLE_FFN_UP]      = "transformer.h.%d.mlp.dense_h_to_4h.weight",                                               \
  [COMP_ROLE_FFN_UP_B]    = "transformer.h.%d.mlp.dense_h_to_4h.bias",                                                 \
  [COMP_ROLE_FFN_DOWN]    = "transformer.h.%d.mlp.dense_4h_to_h.weight",                                               \
  [COMP_ROLE_FFN_DOWN_B]  = "transformer.h.%d.mlp.dense_4h_to_h.bias"

static const comp_arch_desc arch_falcon = {
    /* Falcon-7B (new_decoder_architecture false, multi_query): one input_layernorm whose output both the
     * attention and the MLP read; one kv head shared by every query head (query_key_value = q | k | v) */
    .name          = "falcon",
    .hf_model_type = {"falcon", NULL},
    .select        = {{"new_decoder_architecture", COMP_CFG_FALSE, false}, {"multi_query", COMP_CFG_TRUE, true}},
    FALCON_BLOCK,
    .n_head_kv = 1,
    .cfg       = FALCON_CFG(NULL),
    .tensor    = {FALCON_TENSORS("input_layernorm")},
    .need      = {LN_PLAIN_NEED(COMP_NEED_OPTIONAL, COMP_NEED_OPTIONAL)},
};

static const comp_arch_desc arch_falcon_new = {
    /* Falcon-40B and -180B (new_decoder_architecture, num_ln_in_parallel_attn 2 or absent): num_kv_heads
     * kv heads, the attention reading ln_attn(x) and the MLP ln_mlp(x) */
    .name          = "falcon_new",
    .hf_model_type = {"falcon", NULL},
    .select = {{"new_decoder_architecture", COMP_CFG_TRUE, false}, {"num_ln_in_parallel_attn", COMP_CFG_INT, true, 2}},
    FALCON_BLOCK,
    .cfg    = FALCON_CFG("num_kv_heads|n_head_kv"),
    .tensor = {FALCON_TENSORS("ln_attn"), [COMP_ROLE_FFN_NORM] = "transformer.h.%d.ln_mlp.weight",
               [COMP_ROLE_FFN_NORM_B] = "transformer.h.%d.ln_mlp.bias"},
    .need   = {LN_SEQ_NEED(COMP_NEED_OPTIONAL, COMP_NEED_OPTIONAL)},
};

static const comp_arch_desc arch_falcon_new_1ln = {
    /* Falcon2-11B (new_decoder_architecture, num_ln_in_parallel_attn 1): num_kv_heads kv heads, one
     * input_layernorm for both */
    .name          = "falcon_new_1ln",
    .hf_model_type = {"falcon", NULL},
    .select = {{"new_decoder_architecture", COMP_CFG_TRUE, false}, {"num_ln_in_parallel_attn", COMP_CFG_INT, false, 1}},
    FALCON_BLOCK,
    .cfg    = FALCON_CFG("num_kv_heads|n_head_kv"),
    .tensor = {FALCON_TENSORS("input_layernorm")},
    .need   = {LN_PLAIN_NEED(COMP_NEED_OPTIONAL, COMP_NEED_OPTIONAL)},
};

/* GPT-2's config.json keys (GPTJConfig and GPTBigCodeConfig use them too; hidden_size etc. are their aliases) */
#define GPT2_CFG_KEYS                                                                                                  \
  .n_embd = "n_embd|hidden_size", .n_layer = "n_layer|num_hidden_layers", .n_head = "n_head|num_attention_heads",      \
  .n_ff = "n_inner", .n_vocab = "vocab_size", .n_ctx = "n_positions|max_position_embeddings",                          \
  .norm_eps = "layer_norm_epsilon", .tie_embd = "tie_word_embeddings", .act = "activation_function"

static const comp_arch_desc arch_gptj = {
    /* transformers' modeling_gptj.py (GPT-J-6B): one LayerNorm (ln_1) whose output both the attention and
     * the MLP read, their outputs added to the residual together; q, k, v and out_proj without biases;
     * RoPE on the first rotary_dim dims of each head, pairs (2i, 2i + 1) (rotate_every_two), base 10000;
     * fc_in -> gelu_new -> fc_out with biases, 4 * n_embd wide unless n_inner says; ln_f and an untied
     * head with a bias. GPTJConfig's keys are GPT-2's (n_embd, n_layer, n_head, n_positions). */
    .name          = "gptj",
    .hf_model_type = {"gptj", NULL},
    .norm          = COMP_NORM_LAYER,
    .act           = COMP_ACT_GELU_TANH,
    .ffn           = COMP_FFN_PLAIN,
    .rope          = COMP_ROPE_INTERLEAVED,
    .norm_eps      = 1e-5f,
    .rope_theta    = 10000.0f,
    .parallel      = true,
    .ff_mult       = 4,
    .tie_default   = false,
    .cfg           = {GPT2_CFG_KEYS, .rope_dims = "rotary_dim"},
    .tensor        = {[COMP_ROLE_TOK_EMBD]    = "transformer.wte.weight",
                      [COMP_ROLE_OUT_NORM]    = "transformer.ln_f.weight",
                      [COMP_ROLE_OUT_NORM_B]  = "transformer.ln_f.bias",
                      [COMP_ROLE_LM_HEAD]     = "lm_head.weight",
                      [COMP_ROLE_LM_HEAD_B]   = "lm_head.bias",
                      [COMP_ROLE_ATTN_NORM]   = "transformer.h.%d.ln_1.weight",
                      [COMP_ROLE_ATTN_NORM_B] = "transformer.h.%d.ln_1.bias",
                      [COMP_ROLE_ATTN_Q]      = "transformer.h.%d.attn.q_proj.weight",
                      [COMP_ROLE_ATTN_K]      = "transformer.h.%d.attn.k_proj.weight",
                      [COMP_ROLE_ATTN_V]      = "transformer.h.%d.attn.v_proj.weight",
                      [COMP_ROLE_ATTN_OUT]    = "transformer.h.%d.attn.out_proj.weight",
                      [COMP_ROLE_FFN_UP]      = "transformer.h.%d.mlp.fc_in.weight",
                      [COMP_ROLE_FFN_UP_B]    = "transformer.h.%d.mlp.fc_in.bias",
                      [COMP_ROLE_FFN_DOWN]    = "transformer.h.%d.mlp.fc_out.weight",
                      [COMP_ROLE_FFN_DOWN_B]  = "transformer.h.%d.mlp.fc_out.bias"},
    .need          = {LN_PLAIN_NEED(COMP_NEED_ABSENT, COMP_NEED_REQUIRED), [COMP_ROLE_LM_HEAD_B] = COMP_NEED_REQUIRED},
};

static const comp_arch_desc arch_stablelm = {
    /* transformers' modeling_stablelm.py (StableLM-3B-4E1T, StableLM-2-1.6B, StableLM Zephyr, Stable Code):
     * LLaMA's tensors and SiLU gate with LayerNorms (with biases, layer_norm_eps), q, k, v biases when
     * use_qkv_bias, RoPE on the first partial_rotary_factor (0.25) of each head; use_parallel_residual
     * (false): attention and MLP both on input_layernorm's output, added to the residual together, and
     * no post_attention_layernorm. qk_layernorm (a LayerNorm per head) is not implemented. */
    .name          = "stablelm",
    .hf_model_type = {"stablelm", NULL},
    .norm          = COMP_NORM_LAYER,
    .act           = COMP_ACT_SILU,
    .ffn           = COMP_FFN_GATED,
    .rope          = COMP_ROPE_HALF,
    .norm_eps      = 1e-5f,
    .rope_theta    = 10000.0f,
    .rope_fraction = 0.25f,
    .rope_scaling  = true,
    .cfg   = {SHAPE_KEYS("layer_norm_eps", "rope_theta"), .act = "hidden_act", .rope_fraction = "partial_rotary_factor",
              .parallel = "use_parallel_residual"},
    .rules = {{"qk_layernorm", COMP_CFG_FALSE, false}},
    .opt_on = {{"use_qkv_bias", false, 3, {COMP_ROLE_ATTN_Q_B, COMP_ROLE_ATTN_K_B, COMP_ROLE_ATTN_V_B}}},
    .tensor = {LLAMA_TENSORS, LLAMA_NORM_BIASES},
    /* the norm before the MLP: there exactly when the block is sequential (comp_arch_needs_ffn_norm) */
    .need = {LLAMA_NEED_FFN_NORM(COMP_NEED_OPTIONAL, COMP_NEED_OPTIONAL), [COMP_ROLE_OUT_NORM_B] = COMP_NEED_REQUIRED,
             [COMP_ROLE_ATTN_NORM_B] = COMP_NEED_REQUIRED, [COMP_ROLE_FFN_NORM_B] = COMP_NEED_OPTIONAL},
};

/* The GPT-2 block the gpt2 and gpt_bigcode rows share: the token and learned position embeddings added,
 * pre-LayerNorm layers (ln_1, ln_2, biases everywhere), q, k, v in c_attn, a 4 * n_embd MLP (n_inner) with the
 * tanh GELU, ln_f and a head tied to the embedding; checkpoints saved from the base model lack "transformer." */
#define GPT2_BLOCK                                                                                                     \
  .norm = COMP_NORM_LAYER, .act = COMP_ACT_GELU_TANH, .ffn = COMP_FFN_PLAIN, .rope = COMP_ROPE_NONE,                   \
  .norm_eps = 1e-5f, .ff_mult = 4, .tie_default = true, .base_prefix = "transformer.", .cfg = {GPT2_CFG_KEYS},         \
  .tensor = {[COMP_ROLE_TOK_EMBD]    = "transformer.wte.weight",                                                       \
             [COMP_ROLE_POS_EMBD]    = "transformer.wpe.weight",                                                       \
             [COMP_ROLE_OUT_NORM]    = "transformer.ln_f.weight",                                                      \
             [COMP_ROLE_OUT_NORM_B]  = "transformer.ln_f.bias",                                                        \
             [COMP_ROLE_LM_HEAD]     = "lm_head.weight",                                                               \
             [COMP_ROLE_ATTN_NORM]   = "transformer.h.%d.ln_1.weight",                                                 \
             [COMP_ROLE_ATTN_NORM_B] = "transformer.h.%d.ln_1.bias",                                                   \
             [COMP_ROLE_ATTN_Q]      = "transformer.h.%d.attn.c_attn.weight",                                          \
             [COMP_ROLE_ATTN_K]      = "transformer.h.%d.attn.c_attn.weight",                                          \
             [COMP_ROLE_ATTN_V]      = "transformer.h.%d.attn.c_attn.weight",                                          \
             [COMP_ROLE_ATTN_Q_B]    = "transformer.h.%d.attn.c_attn.bias",                                            \
             [COMP_ROLE_ATTN_K_B]    = "transformer.h.%d.attn.c_attn.bias",                                            \
             [COMP_ROLE_ATTN_V_B]    = "transformer.h.%d.attn.c_attn.bias",                                            \
             [COMP_ROLE_ATTN_OUT]    = "transformer.h.%d.attn.c_proj.weight",                                          \
             [COMP_ROLE_ATTN_OUT_B]  = "transformer.h.%d.attn.c_proj.bias",                                            \
             [COMP_ROLE_FFN_NORM]    = "transformer.h.%d.ln_2.weight",                                                 \
             [COMP_ROLE_FFN_NORM_B]  = "transformer.h.%d.ln_2.bias",                                                   \
             [COMP_ROLE_FFN_UP]      = "transformer.h.%d.mlp.c_fc.weight",                                             \
             [COMP_ROLE_FFN_UP_B]    = "transformer.h.%d.mlp.c_fc.bias",                                               \
             [COMP_ROLE_FFN_DOWN]    = "transformer.h.%d.mlp.c_proj.weight",                                           \
             [COMP_ROLE_FFN_DOWN_B]  = "transformer.h.%d.mlp.c_proj.bias"},                                             \
  .need   = {LN_SEQ_NEED(COMP_NEED_REQUIRED, COMP_NEED_REQUIRED), [COMP_ROLE_POS_EMBD] = COMP_NEED_REQUIRED}

static const comp_arch_desc arch_gpt2 = {
    /* transformers' modeling_gpt2.py (GPT2LMHeadModel: GPT-2, DistilGPT2, and checkpoints saved from
     * GPT2Model, without "transformer."): GPT-2's block with gelu_new, q | k | v side by side in c_attn. Every
     * dense is a Conv1D: weight stored (in, out), read and written back as such.
     * scale_attn_by_inverse_layer_idx and cross-attention are not implemented. */
    .name          = "gpt2",
    .hf_model_type = {"gpt2", NULL},
    GPT2_BLOCK,
    .conv1d = true,
    .rules  = {{"scale_attn_weights", COMP_CFG_TRUE, true},
               {"scale_attn_by_inverse_layer_idx", COMP_CFG_FALSE, false},
               {"add_cross_attention", COMP_CFG_FALSE, false}},
    .fused  = {STACKED_QKV, STACKED_QKV_B},
};

/* GPTBigCodeConfig's switches that the gpt_bigcode rows do not implement */
#define GPT_BIGCODE_RULES                                                                                              \
  {                                                                                                                    \
    {"scale_attn_weights", COMP_CFG_TRUE, true}, {"add_cross_attention", COMP_CFG_FALSE, false},                       \
  }

static const comp_arch_desc arch_gpt_bigcode = {
    /* transformers' modeling_gpt_bigcode.py with multi_query (true by default: StarCoder, StarCoderBase,
     * SantaCoder, WizardCoder, OctoCoder): GPT-2's block with nn.Linear denses (weights (out, in)), the
     * activation_function gelu_pytorch_tanh (or gelu_fast, the same function), one key/value head: c_attn's
     * rows are q (n_embd) | k (head_dim) | v (head_dim) */
    .name          = "gpt_bigcode",
    .hf_model_type = {"gpt_bigcode", NULL},
    .select        = {{"multi_query", COMP_CFG_TRUE, true}},
    GPT2_BLOCK,
    .n_head_kv = 1,
    .rules     = GPT_BIGCODE_RULES,
    .fused     = {STACKED_QKV, STACKED_QKV_B},
};

static const comp_arch_desc arch_gpt_bigcode_mha = {
    /* modeling_gpt_bigcode.py with multi_query false: a key and a value head per query head, c_attn's rows
     * viewed as (n_head, 3 * head_dim): q_h | k_h | v_h head by head, as GPT-NeoX's query_key_value */
    .name          = "gpt_bigcode_mha",
    .hf_model_type = {"gpt_bigcode", NULL},
    .select        = {{"multi_query", COMP_CFG_FALSE, true}},
    GPT2_BLOCK,
    .rules = GPT_BIGCODE_RULES,
    .fused = {PER_HEAD_QKV},
};

/* The Cohere block the cohere and cohere2 rows share: one LayerNorm without a bias (CohereLayerNorm) whose output
 * both the attention and the SiLU-gated MLP read, added to the residual together; RoPE on whole heads in pairs
 * (2i, 2i + 1) (repeat_interleave), base rope_theta; no dense biases unless attention_bias; a tied head; the logits
 * times logit_scale (0.0625); rope_scaling not implemented */
#define COHERE_BLOCK                                                                                                   \
  .norm = COMP_NORM_LAYER, .act = COMP_ACT_SILU, .ffn = COMP_FFN_GATED, .rope = COMP_ROPE_INTERLEAVED,                 \
  .norm_eps = 1e-5f, .rope_theta = 10000.0f, .parallel = true, .tie_default = true, .logit_scale = 0.0625f,            \
  .opt_on = ATTN_BIAS_OPT_ON, .tensor = {LLAMA_TENSORS_FFN_NORM(NULL)},                                                \
  .need = {LLAMA_NEED_FFN_NORM(COMP_NEED_OPTIONAL, COMP_NEED_ABSENT)} /* the MLP reads the attention's norm */
#define COHERE_CFG_KEYS SHAPE_KEYS("layer_norm_eps", "rope_theta"), .act = "hidden_act", .logit_scale = "logit_scale"

static const comp_arch_desc arch_cohere = {
    /* transformers' modeling_cohere.py (CohereForCausalLM: Command-R, Aya 23, Aya Expanse): the Cohere block.
     * use_qk_norm (Command-R+'s per-head LayerNorms) is not implemented. */
    .name          = "cohere",
    .hf_model_type = {"cohere", NULL},
    COHERE_BLOCK,
    .cfg   = {COHERE_CFG_KEYS},
    .rules = {{"use_qk_norm", COMP_CFG_FALSE, false}},
};

static const comp_arch_desc arch_cohere2 = {
    /* transformers' modeling_cohere2.py (Cohere2ForCausalLM: Command R7B, Command A, Aya Vision's text model): the
     * Cohere block with local layers (all but each sliding_window_pattern-th, 4, or as layer_types says) attending
     * to the last sliding_window keys (4096) and rotating q and k, and global layers attending to all keys without
     * any position encoding (no RoPE) */
    .name          = "cohere2",
    .hf_model_type = {"cohere2", NULL},
    COHERE_BLOCK,
    .sliding_window     = 4096,
    .window_period      = 4,
    .rope_windowed_only = true,
    .cfg = {COHERE_CFG_KEYS, .sliding_window = "sliding_window", .window_period = "sliding_window_pattern"},
};

static const comp_arch_desc arch_olmo = {
    /* transformers' modeling_olmo.py (OLMo-1B, OLMo-7B, OLMo-1.7-7B; the -hf checkpoints): LLaMA's block and
     * dense tensors with OlmoLayerNorm, a LayerNorm with neither weight nor bias (eps 1e-5), wherever LLaMA
     * has an RMSNorm, so no norm tensors at all; no dense biases unless attention_bias; an untied head
     * unless tied. clip_qkv (clamping q, k and v) is not implemented. */
    .name          = "olmo",
    .hf_model_type = {"olmo", NULL},
    .norm          = COMP_NORM_LAYER,
    .act           = COMP_ACT_SILU,
    .ffn           = COMP_FFN_GATED,
    .rope          = COMP_ROPE_HALF,
    .norm_eps      = 1e-5f,
    .rope_theta    = 10000.0f,
    .rope_scaling  = true,
    .cfg           = {SHAPE_KEYS(NULL, "rope_theta"), .act = "hidden_act"},
    .rules         = {{"clip_qkv", COMP_CFG_UNSET, false}},
    .opt_on        = ATTN_BIAS_OPT_ON,
    .tensor        = {[COMP_ROLE_TOK_EMBD] = "model.embed_tokens.weight",
                      [COMP_ROLE_LM_HEAD]  = "lm_head.weight",
                      LLAMA_DENSE_TENSORS},
    .need          = {LLAMA_NEED(COMP_NEED_OPTIONAL)},
};

/* OLMo 2's tensors: LLaMA's denses, q/k norms over all heads, the norms after the attention and the MLP only */
#define OLMO2_TENSORS                                                                                                  \
  [COMP_ROLE_TOK_EMBD] = "model.embed_tokens.weight", [COMP_ROLE_OUT_NORM] = "model.norm.weight",                      \
  [COMP_ROLE_LM_HEAD] = "lm_head.weight", LLAMA_DENSE_TENSORS,                                                         \
  QK_NORM_TENSORS, [COMP_ROLE_ATTN_POST_NORM] = "model.layers.%d.post_attention_layernorm.weight",                     \
  [COMP_ROLE_FFN_POST_NORM] = "model.layers.%d.post_feedforward_layernorm.weight"
#define OLMO2_NEED                                                                                                     \
  LLAMA_NEED(COMP_NEED_OPTIONAL),                                                                                      \
      QK_NORM_NEED, [COMP_ROLE_ATTN_POST_NORM] = COMP_NEED_REQUIRED, [COMP_ROLE_FFN_POST_NORM] = COMP_NEED_REQUIRED

static const comp_arch_desc arch_olmo2 = {
    /* transformers' modeling_olmo2.py (OLMo-2 1B, 7B, 13B, 32B; the -hf checkpoints): LLaMA's dense tensors and
     * SiLU gate, no norm before the attention or the MLP: each reads the residual itself and its output is
     * RMSNormed (post_attention_layernorm, post_feedforward_layernorm) before the residual add; q and k RMSNormed
     * over their whole width, all heads at once (q_norm (H*hd), k_norm (Hkv*hd)), before RoPE; no dense biases
     * unless attention_bias; an untied head unless tied */
    .name          = "olmo2",
    .hf_model_type = {"olmo2", NULL},
    LLAMA_BLOCK,
    .norm_eps     = 1e-5f,
    .no_pre_norm  = true,
    .qk_norm_full = true,
    .cfg          = LLAMA_CFG,
    .opt_on       = ATTN_BIAS_OPT_ON,
    .tensor       = {OLMO2_TENSORS},
    .need         = {OLMO2_NEED},
};

static const comp_arch_desc arch_exaone4 = {
    /* transformers' modeling_exaone4.py (EXAONE-4.0-32B, -1.2B): OLMo 2's layer (no norm before the attention or the
     * MLP, their outputs RMSNormed before the residual add) and tensors with Qwen3's q_norm / k_norm (RMSNorm of each
     * q and k head, before RoPE); local layers (all but each sliding_window_pattern-th, 4, or as layer_types says)
     * attend to the last sliding_window keys (4096) and rotate q and k, global ones attend to all keys with no
     * position encoding; without a sliding_window, every layer attends to all keys and rotates. No biases; an
     * untied head unless tied. */
    .name          = "exaone4",
    .hf_model_type = {"exaone4", NULL},
    LLAMA_BLOCK,
    .norm_eps            = 1e-5f,
    .no_pre_norm         = true,
    .sliding_window      = 4096,
    .window_period       = 4,
    .rope_windowed_only  = true,
    .rope_unwindowed_all = true,
    .cfg    = {LLAMA_CFG_KEYS, .sliding_window = "sliding_window", .window_period = "sliding_window_pattern"},
    .tensor = {OLMO2_TENSORS},
    .need   = {OLMO2_NEED},
};

static const comp_arch_desc arch_olmo3 = {
    /* transformers' modeling_olmo3.py (Olmo-3-1025-7B, Olmo-3-1125-32B and their Think / Instruct models): OLMo 2's
     * block and tensors with local layers (all but each fourth, or as layer_types says) attending to the last
     * sliding_window keys (4096) and rotating with plain RoPE of rope_theta, and global layers rotating with
     * rope_scaling too (the YaRN of the long-context checkpoints), as OLMo-core trains them and transformers 4.57
     * runs them (transformers 5.0 to 5.9 scaled every layer; its pull request 45945 restores this) */
    .name          = "olmo3",
    .hf_model_type = {"olmo3", NULL},
    LLAMA_BLOCK,
    .norm_eps         = 1e-5f,
    .no_pre_norm      = true,
    .qk_norm_full     = true,
    .sliding_window   = 4096,
    .window_period    = 4,
    .local_rope_plain = true,
    .cfg              = MISTRAL_CFG,
    .opt_on           = ATTN_BIAS_OPT_ON,
    .tensor           = {OLMO2_TENSORS},
    .need             = {OLMO2_NEED},
};

static const comp_arch_desc arch_starcoder2 = {
    /* transformers' modeling_starcoder2.py (StarCoder2 3B, 7B, 15B): LLaMA's attention (GQA, rotate_half RoPE,
     * HF rope_scaling) with LayerNorms (biases, norm_epsilon), q, k, v, o and the plain MLP c_fc -> tanh GELU ->
     * c_proj with biases when use_bias (true), a tied head unless the config unties it; with sliding_window set
     * (none by default) every layer's query i attends to keys i - W < j <= i */
    .name          = "starcoder2",
    .hf_model_type = {"starcoder2", NULL},
    .norm          = COMP_NORM_LAYER,
    .act           = COMP_ACT_GELU_TANH,
    .ffn           = COMP_FFN_PLAIN,
    .rope          = COMP_ROPE_HALF,
    .norm_eps      = 1e-5f,
    .rope_theta    = 10000.0f,
    .rope_scaling  = true,
    .tie_default   = true,
    .cfg    = {SHAPE_KEYS("norm_epsilon", "rope_theta"), .act = "hidden_act", .sliding_window = "sliding_window"},
    .opt_on = {{"use_bias",
                true,
                6,
                {COMP_ROLE_ATTN_Q_B, COMP_ROLE_ATTN_K_B, COMP_ROLE_ATTN_V_B, COMP_ROLE_ATTN_OUT_B, COMP_ROLE_FFN_UP_B,
                 COMP_ROLE_FFN_DOWN_B}}},
    .tensor = {LLAMA_LN_PLAIN_TENSORS("c_fc", "c_proj")},
    .need   = {LN_SEQ_NEED(COMP_NEED_OPTIONAL, COMP_NEED_OPTIONAL)},
};

/* The GLM-4 block the glm and glm4 rows share (transformers' modeling_glm.py, modeling_glm4.py): LLaMA's
 * RMSNorms, q, k, v (biases when attention_bias, true by default) and o (no bias), gate | up in the rows of
 * gate_up_proj (chunk(2): silu(first half) * second half); RoPE on the first partial_rotary_factor (0.5) of each
 * head in pairs (2i, 2i + 1), base rope_theta; head_dim 128 by default; an untied head */
#define GLM_BLOCK                                                                                                      \
  .norm = COMP_NORM_RMS, .act = COMP_ACT_SILU, .ffn = COMP_FFN_GATED, .rope = COMP_ROPE_INTERLEAVED,                   \
  .rope_theta = 10000.0f, .rope_fraction = 0.5f, .norm_eps = 1.5625e-7f, .head_dim = 128, .rope_scaling = true,        \
  .tie_default = false, .cfg = {LLAMA_CFG_KEYS, .rope_fraction = "partial_rotary_factor"},                             \
  .opt_on = {{"attention_bias", true, 3, {QKV_B_PARTS}}},                                                              \
  .fused  = {[COMP_ROLE_FFN_GATE] = {2, {GATE_UP_PARTS}}, [COMP_ROLE_FFN_UP] = {2, {GATE_UP_PARTS}}}
#define GLM_TENSORS                                                                                                    \
  LLAMA_NORM_TENSORS("model.layers.%d.post_attention_layernorm.weight"),                                               \
      LLAMA_ATTN_TENSORS, [COMP_ROLE_FFN_GATE] = "model.layers.%d.mlp.gate_up_proj.weight",                            \
                          [COMP_ROLE_FFN_UP]   = "model.layers.%d.mlp.gate_up_proj.weight",                            \
                          [COMP_ROLE_FFN_DOWN] = "model.layers.%d.mlp.down_proj.weight"

static const comp_arch_desc arch_glm = {
    /* GLM-4-9B, GLM-4-9B-Chat (the -hf checkpoints, GlmForCausalLM): the GLM-4 block, LLaMA's layer */
    .name = "glm",           .hf_model_type = {"glm", NULL},           GLM_BLOCK,
    .tensor = {GLM_TENSORS}, .need = {LLAMA_NEED(COMP_NEED_OPTIONAL)},
};

static const comp_arch_desc arch_glm4 = {
    /* GLM-4-0414 and GLM-Z1 (9B, 32B; Glm4ForCausalLM): the GLM-4 block with each block's output RMSNormed
     * before the residual add (post_self_attn_layernorm, post_mlp_layernorm: Gemma-2's post-norm roles) */
    .name          = "glm4",
    .hf_model_type = {"glm4", NULL},
    GLM_BLOCK,
    .tensor = {GLM_TENSORS, [COMP_ROLE_ATTN_POST_NORM] = "model.layers.%d.post_self_attn_layernorm.weight",
               [COMP_ROLE_FFN_POST_NORM] = "model.layers.%d.post_mlp_layernorm.weight"},
    .need   = {LLAMA_NEED(COMP_NEED_OPTIONAL), [COMP_ROLE_ATTN_POST_NORM] = COMP_NEED_REQUIRED,
               [COMP_ROLE_FFN_POST_NORM] = COMP_NEED_REQUIRED},
};

static const comp_arch_desc arch_nemotron = {
    /* transformers' modeling_nemotron.py (Nemotron-4-Minitron 4B and 8B, Nemotron-Mini-4B, Nemotron-3-8B):
     * LLaMA's attention (rotate_half RoPE on the first partial_rotary_factor (0.5) of each head, base rope_theta,
     * no rope_scaling: the modeling code always rotates with the default frequencies) with NemotronLayerNorm1P
     * (a LayerNorm times 1 + w, plus its bias, norm_eps) everywhere, the plain MLP up_proj -> relu2 -> down_proj,
     * biases when attention_bias (q, k, v, o) and mlp_bias (up, down), an untied head unless tied */
    .name          = "nemotron",
    .hf_model_type = {"nemotron", NULL},
    .norm          = COMP_NORM_LAYER_UNIT_OFFSET,
    .act           = COMP_ACT_RELU2,
    .ffn           = COMP_FFN_PLAIN,
    .rope          = COMP_ROPE_HALF,
    .norm_eps      = 1e-5f,
    .rope_theta    = 10000.0f,
    .rope_fraction = 0.5f,
    .tie_default   = false,
    .cfg    = {SHAPE_KEYS("norm_eps", "rope_theta"), .act = "hidden_act", .rope_fraction = "partial_rotary_factor"},
    .opt_on = {{"attention_bias", false, 4, {QKV_B_PARTS, COMP_ROLE_ATTN_OUT_B}},
               {"mlp_bias", false, 2, {COMP_ROLE_FFN_UP_B, COMP_ROLE_FFN_DOWN_B}}},
    .tensor = {LLAMA_LN_PLAIN_TENSORS("up_proj", "down_proj")},
    .need   = {LN_PLAIN_NEED(COMP_NEED_OPTIONAL, COMP_NEED_OPTIONAL), [COMP_ROLE_FFN_NORM] = COMP_NEED_REQUIRED,
               [COMP_ROLE_FFN_NORM_B] = COMP_NEED_REQUIRED},
};

static const comp_arch_desc arch_arcee = {
    /* transformers' modeling_arcee.py (AFM-4.5B): LLaMA's attention, RMSNorms and tensors (attention_bias: q, k, v,
     * o) with Nemotron's plain MLP up_proj -> relu2 -> down_proj (mlp_bias: both), an untied head unless tied */
    .name          = "arcee",
    .hf_model_type = {"arcee", NULL},
    .norm          = COMP_NORM_RMS,
    .act           = COMP_ACT_RELU2,
    .ffn           = COMP_FFN_PLAIN,
    .rope          = COMP_ROPE_HALF,
    .norm_eps      = 1e-5f,
    .rope_theta    = 10000.0f,
    .rope_scaling  = true,
    .cfg           = LLAMA_CFG,
    .opt_on        = {{"attention_bias", false, 4, {QKV_B_PARTS, COMP_ROLE_ATTN_OUT_B}},
                      {"mlp_bias", false, 2, {COMP_ROLE_FFN_UP_B, COMP_ROLE_FFN_DOWN_B}}},
    .tensor        = {LLAMA_NORM_TENSORS("model.layers.%d.post_attention_layernorm.weight"), LLAMA_ATTN_TENSORS,
                      PLAIN_MLP_TENSORS("up_proj", "down_proj")},
    .need          = {LLAMA_NEED(COMP_NEED_OPTIONAL)}, /* the gate's need is moot: no template */
};

static const comp_arch_desc arch_seed_oss = {
    /* transformers' modeling_seed_oss.py (Seed-OSS-36B Base and Instruct): LLaMA's block and tensors with q, k and v
     * biases unless attention_bias is false (SeedOssConfig's default: true), an o_proj bias only with
     * attention_out_bias, MLP biases with mlp_bias, head_dim 128 unless the config says, an untied head */
    .name          = "seed_oss",
    .hf_model_type = {"seed_oss", NULL},
    LLAMA_BLOCK,
    .norm_eps = 1e-6f,
    .head_dim = 128,
    .cfg      = LLAMA_CFG,
    .opt_on   = {{"attention_bias", true, 3, {QKV_B_PARTS}},
                 {"attention_out_bias", false, 1, {COMP_ROLE_ATTN_OUT_B}},
                 {"mlp_bias", false, 3, {COMP_ROLE_FFN_GATE_B, COMP_ROLE_FFN_UP_B, COMP_ROLE_FFN_DOWN_B}}},
    .tensor   = {LLAMA_TENSORS},
    .need     = {LLAMA_NEED(COMP_NEED_OPTIONAL)},
};

/* LLaMA's block with RoPE in pairs (2i, 2i + 1) over the whole head (GLM's rotate_half and cos / sin
 * repeat_interleaved: ERNIE 4.5, Helium), base theta, the head tied or not */
#define LLAMA_PAIRS_BLOCK(theta, tie)                                                                                  \
  .norm = COMP_NORM_RMS, .act = COMP_ACT_SILU, .ffn = COMP_FFN_GATED, .rope = COMP_ROPE_INTERLEAVED,                   \
  .rope_theta = theta, .tie_default = tie, .rope_scaling = true, .head_dim = 128

static const comp_arch_desc arch_ernie4_5 = {
    /* transformers' modeling_ernie4_5.py (ERNIE-4.5-0.3B Base and PT; the dense model): LLaMA's block and tensors
     * with RoPE in pairs (2i, 2i + 1) over the whole head, base 500000, biases on all seven denses when use_bias,
     * head_dim 128 and a tied head unless the config says otherwise */
    .name          = "ernie4_5",
    .hf_model_type = {"ernie4_5", NULL},
    LLAMA_PAIRS_BLOCK(500000.0f, true),
    .norm_eps = 1e-5f,
    .cfg      = LLAMA_CFG,
    .opt_on   = {{"use_bias",
                  false,
                  7,
                  {QKV_B_PARTS, COMP_ROLE_ATTN_OUT_B, COMP_ROLE_FFN_GATE_B, COMP_ROLE_FFN_UP_B, COMP_ROLE_FFN_DOWN_B}}},
    .tensor   = {LLAMA_TENSORS},
    .need     = {LLAMA_NEED(COMP_NEED_OPTIONAL)},
};

static const comp_arch_desc arch_helium = {
    /* transformers' modeling_helium.py (Helium-1 2B, helium-1-preview-2b): LLaMA's block and tensors with RoPE in
     * pairs (2i, 2i + 1) over the whole head, base 100000, q/k/v biases with attention_bias (o_proj never has one),
     * MLP biases with mlp_bias, head_dim 128 unless the config says, an untied head unless tied */
    .name          = "helium",
    .hf_model_type = {"helium", NULL},
    LLAMA_PAIRS_BLOCK(100000.0f, false),
    .norm_eps = 1e-8f,
    .cfg      = LLAMA_CFG,
    .opt_on   = {{"attention_bias", false, 3, {QKV_B_PARTS}},
                 {"mlp_bias", false, 3, {COMP_ROLE_FFN_GATE_B, COMP_ROLE_FFN_UP_B, COMP_ROLE_FFN_DOWN_B}}},
    .tensor   = {LLAMA_TENSORS},
    .need     = {LLAMA_NEED(COMP_NEED_OPTIONAL)},
};

static const comp_arch_desc arch_hunyuan_dense = {
    /* transformers' modeling_hunyuan_v1_dense.py (Hunyuan-0.5B, -1.8B, -4B, -7B, Hunyuan-MT, Hy-MT2): LLaMA's block
     * and tensors with q and k RMSNormed head by head after RoPE (query_layernorm, key_layernorm), a tied head
     * unless untied; rope_scaling "dynamic" with an "alpha" (DynamicNTKAlphaRotary) raises the base to rope_theta
     * * alpha^(head_dim / (head_dim - 2)) at every length. Cross-layer attention (use_cla) is not implemented. */
    .name          = "hunyuan_v1_dense",
    .hf_model_type = {"hunyuan_v1_dense", NULL},
    LLAMA_BLOCK_THETA_TIE(10000.0f, true),
    .norm_eps           = 1e-5f,
    .qk_norm_after_rope = true,
    .rope_ntk_alpha     = true,
    .cfg                = LLAMA_CFG,
    .rules              = {{"use_cla", COMP_CFG_UNSET, false}, {"use_qk_norm", COMP_CFG_TRUE, true}},
    .opt_on             = ATTN_BIAS_OPT_ON,
    .tensor             = {LLAMA_TENSORS, [COMP_ROLE_ATTN_Q_NORM] = "model.layers.%d.self_attn.query_layernorm.weight",
                           [COMP_ROLE_ATTN_K_NORM] = "model.layers.%d.self_attn.key_layernorm.weight"},
    .need               = {LLAMA_NEED(COMP_NEED_OPTIONAL), QK_NORM_NEED},
};

static const comp_arch_desc arch_granite = {
    /* transformers' modeling_granite.py (Granite 3.0, 3.1, 3.2, 3.3 dense models; PowerLM): LLaMA's block and
     * tensors (attention_bias, mlp_bias) with four multipliers: the embedding rows times embedding_multiplier,
     * the scores times attention_multiplier (instead of 1/sqrt(head_dim)), each block's output times
     * residual_multiplier before the residual add, the logits divided by logits_scaling; each 1 when absent */
    .name          = "granite",
    .hf_model_type = {"granite", NULL},
    LLAMA_BLOCK,
    .norm_eps      = 1e-6f,
    .embd_mult     = 1.0f,
    .residual_mult = 1.0f,
    .attn_mult     = 1.0f,
    .logit_div     = 1.0f,
    .cfg           = {LLAMA_CFG_KEYS, .embd_mult = "embedding_multiplier", .residual_mult = "residual_multiplier",
                      .attn_mult = "attention_multiplier", .logit_div = "logits_scaling"},
    .tensor        = {LLAMA_TENSORS},
    .need          = {LLAMA_NEED(COMP_NEED_OPTIONAL)},
    .opt_on        = LLAMA_OPT_ON,
};

static const comp_arch_desc arch_opt = {
    .name          = "opt",
    .hf_model_type = {"opt", NULL},
    .norm          = COMP_NORM_LAYER,
    .act           = COMP_ACT_RELU,
    .ffn           = COMP_FFN_PLAIN,
    .rope          = COMP_ROPE_NONE,
    .pos_offset    = 2,
    .norm_eps      = 1e-5f,
    .tie_default   = true,
    .cfg           = {.n_embd   = "hidden_size",
                      .n_layer  = "num_hidden_layers",
                      .n_head   = "num_attention_heads",
                      .n_ff     = "ffn_dim",
                      .n_vocab  = "vocab_size",
                      .n_ctx    = "max_position_embeddings",
                      .tie_embd = "tie_word_embeddings",
                      .act      = "activation_function"},
    /* OPTConfig.enable_bias (default true): every dense's bias */
    .opt_on = {{"enable_bias",
                true,
                6,
                {COMP_ROLE_ATTN_Q_B, COMP_ROLE_ATTN_K_B, COMP_ROLE_ATTN_V_B, COMP_ROLE_ATTN_OUT_B, COMP_ROLE_FFN_UP_B,
                 COMP_ROLE_FFN_DOWN_B}}},
    .tensor =
        {
            [COMP_ROLE_TOK_EMBD]    = "model.decoder.embed_tokens.weight",
            [COMP_ROLE_POS_EMBD]    = "model.decoder.embed_positions.weight",
            [COMP_ROLE_OUT_NORM]    = "model.decoder.final_layer_norm.weight",
            [COMP_ROLE_OUT_NORM_B]  = "model.decoder.final_layer_norm.bias",
            [COMP_ROLE_LM_HEAD]     = "lm_head.weight",
            [COMP_ROLE_ATTN_NORM]   = "model.decoder.layers.%d.self_attn_layer_norm.weight",
            [COMP_ROLE_ATTN_NORM_B] = "model.decoder.layers.%d.self_attn_layer_norm.bias",
            [COMP_ROLE_ATTN_Q]      = "model.decoder.layers.%d.self_attn.q_proj.weight",
            [COMP_ROLE_ATTN_Q_B]    = "model.decoder.layers.%d.self_attn.q_proj.bias",
            [COMP_ROLE_ATTN_K]      = "model.decoder.layers.%d.self_attn.k_proj.weight",
            [COMP_ROLE_ATTN_K_B]    = "model.decoder.layers.%d.self_attn.k_proj.bias",
            [COMP_ROLE_ATTN_V]      = "model.decoder.layers.%d.self_attn.v_proj.weight",
            [COMP_ROLE_ATTN_V_B]    = "model.decoder.layers.%d.self_attn.v_proj.bias",
            [COMP_ROLE_ATTN_OUT]    = "model.decoder.layers.%d.self_attn.out_proj.weight",
            [COMP_ROLE_ATTN_OUT_B]  = "model.decoder.layers.%d.self_attn.out_proj.bias",
            [COMP_ROLE_FFN_NORM]    = "model.decoder.layers.%d.final_layer_norm.weight",
            [COMP_ROLE_FFN_NORM_B]  = "model.decoder.layers.%d.final_layer_norm.bias",
            [COMP_ROLE_FFN_UP]      = "model.decoder.layers.%d.fc1.weight",
            [COMP_ROLE_FFN_UP_B]    = "model.decoder.layers.%d.fc1.bias",
            [COMP_ROLE_FFN_DOWN]    = "model.decoder.layers.%d.fc2.weight",
            [COMP_ROLE_FFN_DOWN_B]  = "model.decoder.layers.%d.fc2.bias",
        },
    .need =
        {
            [COMP_ROLE_TOK_EMBD] = COMP_NEED_REQUIRED,    [COMP_ROLE_POS_EMBD] = COMP_NEED_REQUIRED,
            [COMP_ROLE_OUT_NORM] = COMP_NEED_REQUIRED,    [COMP_ROLE_OUT_NORM_B] = COMP_NEED_REQUIRED,
            [COMP_ROLE_LM_HEAD] = COMP_NEED_OPTIONAL,     [COMP_ROLE_ATTN_NORM] = COMP_NEED_REQUIRED,
            [COMP_ROLE_ATTN_NORM_B] = COMP_NEED_REQUIRED, [COMP_ROLE_ATTN_Q] = COMP_NEED_REQUIRED,
            [COMP_ROLE_ATTN_Q_B] = COMP_NEED_OPTIONAL,    [COMP_ROLE_ATTN_K] = COMP_NEED_REQUIRED,
            [COMP_ROLE_ATTN_K_B] = COMP_NEED_OPTIONAL,    [COMP_ROLE_ATTN_V] = COMP_NEED_REQUIRED,
            [COMP_ROLE_ATTN_V_B] = COMP_NEED_OPTIONAL,    [COMP_ROLE_ATTN_OUT] = COMP_NEED_REQUIRED,
            [COMP_ROLE_ATTN_OUT_B] = COMP_NEED_OPTIONAL,  [COMP_ROLE_FFN_NORM] = COMP_NEED_REQUIRED,
            [COMP_ROLE_FFN_NORM_B] = COMP_NEED_REQUIRED,  [COMP_ROLE_FFN_UP] = COMP_NEED_REQUIRED,
            [COMP_ROLE_FFN_UP_B] = COMP_NEED_OPTIONAL,    [COMP_ROLE_FFN_DOWN] = COMP_NEED_REQUIRED,
            [COMP_ROLE_FFN_DOWN_B] = COMP_NEED_OPTIONAL,
        },
};

static const comp_arch_desc arch_llama2c = {
    .name          = "llama2c",
    .hf_model_type = {NULL},
    .norm          = COMP_NORM_RMS,
    .act           = COMP_ACT_SILU,
    .ffn           = COMP_FFN_GATED,
    .rope          = COMP_ROPE_INTERLEAVED,
    .norm_eps      = 1e-5f,
    .rope_theta    = 10000.0f,
    .tensor        = {LLAMA_TENSORS},
    .need          = {LLAMA_NEED(COMP_NEED_OPTIONAL)},
};

static const comp_arch_desc arch_chatglm = {
    /* THUDM's modeling_chatglm.py (ChatGLM2-6B, ChatGLM3-6B): GLMBlock is a pre-RMSNorm LLaMA
     * block; SelfAttention splits query_key_value rows as q (H*hd) | k (G*hd) | v (G*hd)
     * with G = multi_query_group_num, MLP's swiglu chunks dense_h_to_4h as silu(first half)
     * * second half, and apply_rotary_pos_emb rotates interleaved pairs of the first
     * kv_channels/2 dims of each head with base 10000 * rope_ratio.
     * transformer.rotary_pos_emb.inv_freq is a buffer the forward pass never reads. */
    .name          = "chatglm",
    .hf_model_type = {"chatglm", NULL},
    .norm          = COMP_NORM_RMS,
    .act           = COMP_ACT_SILU,
    .ffn           = COMP_FFN_GATED,
    .rope          = COMP_ROPE_INTERLEAVED,
    .norm_eps      = 1e-5f,
    .rope_theta    = 10000.0f,
    .rope_fraction = 0.5f,
    .tie_default   = false,
    .cfg           = {.n_embd     = "hidden_size",
                      .n_layer    = "num_layers",
                      .n_head     = "num_attention_heads",
                      .n_head_kv  = "multi_query_group_num",
                      .head_dim   = "kv_channels",
                      .n_ff       = "ffn_hidden_size",
                      .n_vocab    = "padded_vocab_size",
                      .n_ctx      = "seq_length",
                      .norm_eps   = "layernorm_epsilon",
                      .rope_ratio = "rope_ratio",
                      .tie_embd   = "tie_word_embeddings"},
    /* the defaults are configuration_chatglm.py's */
    .rules =
        {
            {"rmsnorm", COMP_CFG_TRUE, true},
            {"post_layer_norm", COMP_CFG_TRUE, true},
            {"apply_residual_connection_post_layernorm", COMP_CFG_FALSE, false},
            {"multi_query_attention", COMP_CFG_TRUE, false}, /* else qkv rows interleave per head */
            {"add_qkv_bias", COMP_CFG_TRUE, false},
            {"add_bias_linear", COMP_CFG_FALSE, false},
            {"pre_seq_len", COMP_CFG_UNSET, false},      /* p-tuning prefix encoder */
            {"quantization_bit", COMP_CFG_UNSET, false}, /* int4/int8 weights */
        },
    .tensor =
        {
            [COMP_ROLE_TOK_EMBD]  = "transformer.embedding.word_embeddings.weight",
            [COMP_ROLE_OUT_NORM]  = "transformer.encoder.final_layernorm.weight",
            [COMP_ROLE_LM_HEAD]   = "transformer.output_layer.weight",
            [COMP_ROLE_ATTN_NORM] = "transformer.encoder.layers.%d.input_layernorm.weight",
            [COMP_ROLE_ATTN_Q]    = "transformer.encoder.layers.%d.self_attention.query_key_value.weight",
            [COMP_ROLE_ATTN_Q_B]  = "transformer.encoder.layers.%d.self_attention.query_key_value.bias",
            [COMP_ROLE_ATTN_K]    = "transformer.encoder.layers.%d.self_attention.query_key_value.weight",
            [COMP_ROLE_ATTN_K_B]  = "transformer.encoder.layers.%d.self_attention.query_key_value.bias",
            [COMP_ROLE_ATTN_V]    = "transformer.encoder.layers.%d.self_attention.query_key_value.weight",
            [COMP_ROLE_ATTN_V_B]  = "transformer.encoder.layers.%d.self_attention.query_key_value.bias",
            [COMP_ROLE_ATTN_OUT]  = "transformer.encoder.layers.%d.self_attention.dense.weight",
            [COMP_ROLE_FFN_NORM]  = "transformer.encoder.layers.%d.post_attention_layernorm.weight",
            [COMP_ROLE_FFN_GATE]  = "transformer.encoder.layers.%d.mlp.dense_h_to_4h.weight",
            [COMP_ROLE_FFN_UP]    = "transformer.encoder.layers.%d.mlp.dense_h_to_4h.weight",
            [COMP_ROLE_FFN_DOWN]  = "transformer.encoder.layers.%d.mlp.dense_4h_to_h.weight",
        },
    .need =
        {
            [COMP_ROLE_TOK_EMBD]  = COMP_NEED_REQUIRED,
            [COMP_ROLE_OUT_NORM]  = COMP_NEED_REQUIRED,
            [COMP_ROLE_LM_HEAD]   = COMP_NEED_OPTIONAL,
            [COMP_ROLE_ATTN_NORM] = COMP_NEED_REQUIRED,
            [COMP_ROLE_ATTN_Q]    = COMP_NEED_REQUIRED,
            [COMP_ROLE_ATTN_Q_B]  = COMP_NEED_REQUIRED,
            [COMP_ROLE_ATTN_K]    = COMP_NEED_REQUIRED,
            [COMP_ROLE_ATTN_K_B]  = COMP_NEED_REQUIRED,
            [COMP_ROLE_ATTN_V]    = COMP_NEED_REQUIRED,
            [COMP_ROLE_ATTN_V_B]  = COMP_NEED_REQUIRED,
            [COMP_ROLE_ATTN_OUT]  = COMP_NEED_REQUIRED,
            [COMP_ROLE_FFN_NORM]  = COMP_NEED_REQUIRED,
            [COMP_ROLE_FFN_GATE]  = COMP_NEED_REQUIRED,
            [COMP_ROLE_FFN_UP]    = COMP_NEED_REQUIRED,
            [COMP_ROLE_FFN_DOWN]  = COMP_NEED_REQUIRED,
        },
    .fused = {FUSED_QKV_GATE_UP, STACKED_QKV_B},
};

/* one row per family, indexed by comp_arch */
static const comp_arch_desc *const arch_table[COMP_ARCH_COUNT] = {
    [COMP_ARCH_LLAMA]           = &arch_llama,
    [COMP_ARCH_QWEN2]           = &arch_qwen2,
    [COMP_ARCH_QWEN3]           = &arch_qwen3,
    [COMP_ARCH_OPT]             = &arch_opt,
    [COMP_ARCH_LLAMA2C]         = &arch_llama2c,
    [COMP_ARCH_CHATGLM]         = &arch_chatglm,
    [COMP_ARCH_MISTRAL]         = &arch_mistral,
    [COMP_ARCH_PHI3]            = &arch_phi3,
    [COMP_ARCH_GEMMA]           = &arch_gemma,
    [COMP_ARCH_GEMMA2]          = &arch_gemma2,
    [COMP_ARCH_GEMMA3]          = &arch_gemma3,
    [COMP_ARCH_PHI]             = &arch_phi,
    [COMP_ARCH_GPT_NEOX]        = &arch_gpt_neox,
    [COMP_ARCH_BLOOM]           = &arch_bloom,
    [COMP_ARCH_INTERNLM2]       = &arch_internlm2,
    [COMP_ARCH_FALCON]          = &arch_falcon,
    [COMP_ARCH_FALCON_NEW]      = &arch_falcon_new,
    [COMP_ARCH_FALCON_NEW_1LN]  = &arch_falcon_new_1ln,
    [COMP_ARCH_GPTJ]            = &arch_gptj,
    [COMP_ARCH_STABLELM]        = &arch_stablelm,
    [COMP_ARCH_GPT2]            = &arch_gpt2,
    [COMP_ARCH_COHERE]          = &arch_cohere,
    [COMP_ARCH_OLMO]            = &arch_olmo,
    [COMP_ARCH_GRANITE]         = &arch_granite,
    [COMP_ARCH_OLMO2]           = &arch_olmo2,
    [COMP_ARCH_STARCODER2]      = &arch_starcoder2,
    [COMP_ARCH_GPT_BIGCODE]     = &arch_gpt_bigcode,
    [COMP_ARCH_GPT_BIGCODE_MHA] = &arch_gpt_bigcode_mha,
    [COMP_ARCH_GLM]             = &arch_glm,
    [COMP_ARCH_GLM4]            = &arch_glm4,
    [COMP_ARCH_NEMOTRON]        = &arch_nemotron,
    [COMP_ARCH_MINISTRAL]       = &arch_ministral,
    [COMP_ARCH_COHERE2]         = &arch_cohere2,
    [COMP_ARCH_SMOLLM3]         = &arch_smollm3,
    [COMP_ARCH_OLMO3]           = &arch_olmo3,
    [COMP_ARCH_EXAONE4]         = &arch_exaone4,
    [COMP_ARCH_ARCEE]           = &arch_arcee,
    [COMP_ARCH_SEED_OSS]        = &arch_seed_oss,
    [COMP_ARCH_ERNIE4_5]        = &arch_ernie4_5,
    [COMP_ARCH_HELIUM]          = &arch_helium,
    [COMP_ARCH_HUNYUAN_DENSE]   = &arch_hunyuan_dense,
};

const char *comp_act_name(comp_act_kind a)
{
  static const char *const names[] = {[COMP_ACT_SILU]      = "silu",
                                      [COMP_ACT_RELU]      = "relu",
                                      [COMP_ACT_GELU]      = "gelu",
                                      [COMP_ACT_GELU_TANH] = "gelu_pytorch_tanh",
                                      [COMP_ACT_RELU2]     = "relu2"};
  return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}

/* ACT2FN keys for the same function: gelu_new is 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))), the
 * tanh GELU gelu_pytorch_tanh computes, and gelu_fast the same written 0.5x(1 + tanh(0.79788456x(1 + 0.044715x^2))) */
static const struct {
  const char   *name;
  comp_act_kind kind;
} act_aliases[] = {{"gelu_new", COMP_ACT_GELU_TANH}, {"gelu_fast", COMP_ACT_GELU_TANH}};

int comp_act_from_name(const char *name)
{
  for (int a = COMP_ACT_SILU; a < COMP_ACT_COUNT; a++)
    if (strcmp(name, comp_act_name((comp_act_kind)a)) == 0) return a;
  for (size_t i = 0; i < sizeof act_aliases / sizeof act_aliases[0]; i++)
    if (strcmp(name, act_aliases[i].name) == 0) return (int)act_aliases[i].kind;
  return -1;
}

void comp_act_names(comp_act_kind a, char *buf, size_t n)
{
  int used = snprintf(buf, n, "%s", comp_act_name(a));
  for (size_t i = 0; i < sizeof act_aliases / sizeof act_aliases[0] && used >= 0 && (size_t)used < n; i++)
    if (act_aliases[i].kind == a) used += snprintf(buf + used, n - (size_t)used, " or %s", act_aliases[i].name);
}

const comp_arch_desc *comp_arch_get(comp_arch a) { return a < COMP_ARCH_COUNT ? arch_table[a] : NULL; }

static bool row_has_type(const comp_arch_desc *d, const char *model_type)
{
  for (int i = 0; i < 3 && d->hf_model_type[i]; i++)
    if (strcmp(d->hf_model_type[i], model_type) == 0) return true;
  return false;
}

comp_arch comp_arch_next_hf(const char *model_type, comp_arch after)
{
  for (int a = after == COMP_ARCH_COUNT ? 0 : (int)after + 1; a < COMP_ARCH_COUNT && model_type; a++)
    if (row_has_type(arch_table[a], model_type)) return (comp_arch)a;
  return COMP_ARCH_COUNT;
}

void comp_arch_hf_names(char *buf, size_t n)
{
  size_t used = 0;
  if (n) buf[0] = '\0';
  for (int a = 0; a < COMP_ARCH_COUNT; a++)
    for (int i = 0; i < 3 && arch_table[a]->hf_model_type[i]; i++) {
      bool listed = false; /* rows that share a model_type (Falcon's) list it once */
      for (int b = 0; b < a && !listed; b++) listed = row_has_type(arch_table[b], arch_table[a]->hf_model_type[i]);
      if (listed) continue;
      int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", arch_table[a]->hf_model_type[i]);
      if (w < 0 || (size_t)w >= n - used) return; /* truncated: buf holds what fit */
      used += (size_t)w;
    }
}

static const comp_role dense_roles[COMP_DENSE_COUNT][2] = {
    [COMP_DENSE_Q]    = {COMP_ROLE_ATTN_Q, COMP_ROLE_ATTN_Q_B},
    [COMP_DENSE_K]    = {COMP_ROLE_ATTN_K, COMP_ROLE_ATTN_K_B},
    [COMP_DENSE_V]    = {COMP_ROLE_ATTN_V, COMP_ROLE_ATTN_V_B},
    [COMP_DENSE_O]    = {COMP_ROLE_ATTN_OUT, COMP_ROLE_ATTN_OUT_B},
    [COMP_DENSE_GATE] = {COMP_ROLE_FFN_GATE, COMP_ROLE_FFN_GATE_B},
    [COMP_DENSE_UP]   = {COMP_ROLE_FFN_UP, COMP_ROLE_FFN_UP_B},
    [COMP_DENSE_DOWN] = {COMP_ROLE_FFN_DOWN, COMP_ROLE_FFN_DOWN_B},
};
int comp_dense_of_role(comp_role r, bool *bias)
{
  for (int d = 0; d < COMP_DENSE_COUNT; d++)
    if (r == dense_roles[d][0] || r == dense_roles[d][1]) {
      if (bias) *bias = r == dense_roles[d][1];
      return d;
    }
  return -1;
}

bool comp_arch_needs_ffn_norm(const comp_arch_desc *a, comp_role r, bool parallel)
{
  return (r == COMP_ROLE_FFN_NORM || r == COMP_ROLE_FFN_NORM_B) && a->tensor[r] && a->need[r] == COMP_NEED_OPTIONAL &&
         !parallel;
}

comp_role comp_dense_weight_role(comp_dense_id d) { return dense_roles[d][0]; }
comp_role comp_dense_bias_role(comp_dense_id d) { return dense_roles[d][1]; }

const char *comp_dense_name(comp_dense_id d)
{
  static const char *const n[COMP_DENSE_COUNT] = {"q", "k", "v", "o", "gate", "up", "down"};
  return d < COMP_DENSE_COUNT ? n[d] : "?";
}

const char *comp_role_name(comp_role r)
{
  static const char *const n[COMP_ROLE_COUNT] = {
      "tok_embd",  "pos_embd",    "out_norm",    "out_norm_b",  "lm_head",        "lm_head_b",
      "embd_norm", "embd_norm_b", "attn_norm",   "attn_norm_b", "attn_q",         "attn_q_b",
      "attn_k",    "attn_k_b",    "attn_v",      "attn_v_b",    "attn_out",       "attn_out_b",
      "ffn_norm",  "ffn_norm_b",  "ffn_gate",    "ffn_gate_b",  "ffn_up",         "ffn_up_b",
      "ffn_down",  "ffn_down_b",  "attn_q_norm", "attn_k_norm", "attn_post_norm", "ffn_post_norm"};
  return r < COMP_ROLE_COUNT ? n[r] : "?";
}
