/*
 * comp/arch.h - model architectures as data (llama.cpp's table, in C).
 *
 * Code asks for weights by role (COMP_ROLE_ATTN_Q) and never by file name; each architecture is
 * one row of a table that gives the Hugging Face tensor-name template of every role, which
 * config.json keys hold which hyper-parameter, and the structural kinds (norm, activation, FFN,
 * positions). The forward pass switches on those kinds in one place.
 *
 * Adding an architecture: one enum value and one row in src/arch.c, and a variant in the test that
 * checks each family against an independent forward (tests/e2e/test_arch_variants.py). Only a
 * structurally new block needs forward-pass code.
 */
#ifndef COMP_ARCH_H
#define COMP_ARCH_H

#include <stdbool.h>
#include <stddef.h>

typedef enum comp_arch {
  COMP_ARCH_LLAMA,          /* LlamaForCausalLM (MHA/GQA, rotate_half RoPE)                        */
  COMP_ARCH_QWEN2,          /* Qwen2ForCausalLM: LLaMA block with q/k/v biases                    */
  COMP_ARCH_OPT,            /* OPTForCausalLM: pre-LayerNorm, biases, ReLU, learned positions     */
  COMP_ARCH_LLAMA2C,        /* llama2.c .bin checkpoints: LLaMA block with interleaved RoPE       */
  COMP_ARCH_CHATGLM,        /* ChatGLM2/3 (ChatGLMForConditionalGeneration): fused qkv with multi-
                               query groups, fused gate|up, interleaved RoPE on half of each head */
  COMP_ARCH_QWEN3,          /* Qwen3ForCausalLM: LLaMA block with per-head RMSNorm of q and k     */
  COMP_ARCH_MISTRAL,        /* MistralForCausalLM: LLaMA block, attention within a sliding window */
  COMP_ARCH_PHI3,           /* Phi3ForCausalLM: fused qkv_proj and gate_up_proj, partial RoPE       */
  COMP_ARCH_GEMMA,          /* GemmaForCausalLM: RMSNorm by 1 + w, GELU (tanh) gate, scaled embedding */
  COMP_ARCH_GEMMA2,         /* Gemma2ForCausalLM: Gemma's block, norms after each block, soft-capping   */
  COMP_ARCH_GEMMA3,         /* Gemma3ForCausalLM: Gemma-2's block with q/k norms, 5 local layers : 1 global */
  COMP_ARCH_PHI,            /* PhiForCausalLM (Phi-1.5, Phi-2): parallel attention and MLP on one LayerNorm */
  COMP_ARCH_GPT_NEOX,       /* GPTNeoXForCausalLM (Pythia, GPT-NeoX-20B): parallel residual, per-head fused qkv */
  COMP_ARCH_BLOOM,          /* BloomForCausalLM: ALiBi, an embedding LayerNorm, per-head fused qkv */
  COMP_ARCH_INTERNLM2,      /* InternLM2ForCausalLM: LLaMA block, q/k/v fused group by group (wqkv) */
  COMP_ARCH_FALCON,         /* FalconForCausalLM, Falcon-7B: parallel block on one LayerNorm, multi-query */
  COMP_ARCH_FALCON_NEW,     /* Falcon-40B/180B (new_decoder_architecture): GQA, ln_attn and ln_mlp */
  COMP_ARCH_FALCON_NEW_1LN, /* Falcon2-11B: new_decoder_architecture with one LayerNorm */
  COMP_ARCH_GPTJ,           /* GPTJForCausalLM: parallel block on one LayerNorm, interleaved partial RoPE */
  COMP_ARCH_STABLELM,       /* StableLmForCausalLM: LLaMA's block with LayerNorms, partial RoPE, qkv biases */
  COMP_ARCH_GPT2,           /* GPT2LMHeadModel: learned positions, Conv1D denses stored (in, out) */
  COMP_ARCH_COHERE,         /* CohereForCausalLM: parallel block on a bias-free LayerNorm, interleaved RoPE */
  COMP_ARCH_OLMO,           /* OlmoForCausalLM: LLaMA's block with LayerNorms that have no weights */
  COMP_ARCH_GRANITE, /* GraniteForCausalLM: LLaMA's block with embedding, residual, attention and logit multipliers */
  COMP_ARCH_OLMO2,   /* Olmo2ForCausalLM: norms after the attention and the MLP only, whole-width q/k norms */
  COMP_ARCH_STARCODER2,  /* Starcoder2ForCausalLM: LLaMA's attention with LayerNorms, biases, a GELU MLP, a window */
  COMP_ARCH_GPT_BIGCODE, /* GPTBigCodeForCausalLM, multi_query (StarCoder, SantaCoder): GPT-2's block, one kv head */
  COMP_ARCH_GPT_BIGCODE_MHA, /* GPTBigCodeForCausalLM without multi_query: q, k, v head by head in c_attn */
  COMP_ARCH_GLM,             /* GlmForCausalLM (GLM-4-9B): LLaMA's layer, fused gate | up, interleaved RoPE on half */
  COMP_ARCH_GLM4,            /* Glm4ForCausalLM (GLM-4-0414): GLM's block with norms after each block too */
  COMP_ARCH_NEMOTRON,        /* NemotronForCausalLM (Minitron): LayerNorm1P, a squared-ReLU MLP, RoPE on half a head */
  COMP_ARCH_MINISTRAL,       /* MinistralForCausalLM: Mistral's block, full or windowed layer by layer (layer_types) */
  COMP_ARCH_COHERE2,         /* Cohere2ForCausalLM: Cohere's block, windowed layers with RoPE, global ones without */
  COMP_ARCH_SMOLLM3,         /* SmolLM3ForCausalLM: LLaMA's block with every fourth layer without RoPE (NoPE) */
  COMP_ARCH_OLMO3,           /* Olmo3ForCausalLM: OLMo 2's block, 3 windowed layers to 1 global, scaled RoPE on those */
  COMP_ARCH_EXAONE4,       /* Exaone4ForCausalLM: OLMo 2's layer, per-head q/k norms, windowed layers with RoPE only */
  COMP_ARCH_ARCEE,         /* ArceeForCausalLM (AFM-4.5B): LLaMA's attention with a plain relu2 MLP */
  COMP_ARCH_SEED_OSS,      /* SeedOssForCausalLM (Seed-OSS-36B): LLaMA's block, q/k/v biases on by default */
  COMP_ARCH_ERNIE4_5,      /* Ernie4_5ForCausalLM (ERNIE-4.5-0.3B): LLaMA's block, RoPE in pairs, use_bias, tied */
  COMP_ARCH_HELIUM,        /* HeliumForCausalLM (Helium-1 2B): LLaMA's block with RoPE in pairs */
  COMP_ARCH_HUNYUAN_DENSE, /* HunYuanDenseV1ForCausalLM (Hunyuan 0.5B-7B): LLaMA's block, q/k norms after RoPE */
  COMP_ARCH_COUNT
} comp_arch;

typedef enum comp_role {
  /* model-wide */
  COMP_ROLE_TOK_EMBD,
  COMP_ROLE_POS_EMBD,
  COMP_ROLE_OUT_NORM,
  COMP_ROLE_OUT_NORM_B,
  COMP_ROLE_LM_HEAD,
  COMP_ROLE_LM_HEAD_B,   /* (V): the head's bias (Phi-2) */
  COMP_ROLE_EMBD_NORM,   /* (D): LayerNorm of the embedding rows (BLOOM's word_embeddings_layernorm) */
  COMP_ROLE_EMBD_NORM_B, /* (D) */
  /* per layer (templates take the layer index) */
  COMP_ROLE_ATTN_NORM,
  COMP_ROLE_ATTN_NORM_B,
  COMP_ROLE_ATTN_Q,
  COMP_ROLE_ATTN_Q_B,
  COMP_ROLE_ATTN_K,
  COMP_ROLE_ATTN_K_B,
  COMP_ROLE_ATTN_V,
  COMP_ROLE_ATTN_V_B,
  COMP_ROLE_ATTN_OUT,
  COMP_ROLE_ATTN_OUT_B,
  COMP_ROLE_FFN_NORM,
  COMP_ROLE_FFN_NORM_B,
  COMP_ROLE_FFN_GATE,
  COMP_ROLE_FFN_GATE_B,
  COMP_ROLE_FFN_UP,
  COMP_ROLE_FFN_UP_B,
  COMP_ROLE_FFN_DOWN,
  COMP_ROLE_FFN_DOWN_B,
  COMP_ROLE_ATTN_Q_NORM,    /* (head_dim): RMSNorm of each query head before RoPE (Qwen3); qk_norm_full: (H*hd) */
  COMP_ROLE_ATTN_K_NORM,    /* (head_dim): the same for each key head; qk_norm_full: (Hkv*hd)                 */
  COMP_ROLE_ATTN_POST_NORM, /* (D): norm of the attention block's output before the residual add (Gemma-2) */
  COMP_ROLE_FFN_POST_NORM,  /* (D): the same for the FFN block's output                                    */
  COMP_ROLE_COUNT
} comp_role;
#define COMP_ROLE_FIRST_LAYER COMP_ROLE_ATTN_NORM

/* The linear sub-layers ("denses") of a decoder layer, in forward order. */
typedef enum comp_dense_id {
  COMP_DENSE_Q,
  COMP_DENSE_K,
  COMP_DENSE_V,
  COMP_DENSE_O,
  COMP_DENSE_GATE,
  COMP_DENSE_UP,
  COMP_DENSE_DOWN,
  COMP_DENSE_COUNT
} comp_dense_id;

/* RMS: x / rms(x) * w; RMS_UNIT_OFFSET: x / rms(x) * (1 + w) (GemmaRMSNorm, weights stored as w);
 * LAYER: LayerNorm with a bias; LAYER_UNIT_OFFSET: LayerNorm times 1 + w, plus the bias (Nemotron's LayerNorm1P) */
typedef enum comp_norm_kind {
  COMP_NORM_RMS,
  COMP_NORM_LAYER,
  COMP_NORM_RMS_UNIT_OFFSET,
  COMP_NORM_LAYER_UNIT_OFFSET
} comp_norm_kind;
/* GELU: exact (erf); GELU_TANH: its tanh approximation (torch's gelu(approximate="tanh")); RELU2: relu(x)^2 */
typedef enum comp_act_kind {
  COMP_ACT_SILU,
  COMP_ACT_RELU,
  COMP_ACT_GELU,
  COMP_ACT_GELU_TANH,
  COMP_ACT_RELU2,
  COMP_ACT_COUNT
} comp_act_kind;
/* The activation's name in config.json (transformers' ACT2FN key): "silu", "relu", "gelu", "gelu_pytorch_tanh",
 * "relu2". */
const char *comp_act_name(comp_act_kind a);
/* The kind of an ACT2FN key: those names, and "gelu_new" and "gelu_fast" (the same tanh approximation, Phi-2's and
 * SantaCoder's); -1: another. */
int comp_act_from_name(const char *name);
/* Every name comp_act_from_name takes for kind a, " or "-separated, into buf (n bytes). */
void comp_act_names(comp_act_kind a, char *buf, size_t n);
typedef enum comp_ffn_kind { COMP_FFN_GATED, COMP_FFN_PLAIN } comp_ffn_kind; /* act(gate)*up | act(up) */
typedef enum comp_rope_kind {
  COMP_ROPE_NONE,       /* learned absolute positions instead                              */
  COMP_ROPE_HALF,       /* HF rotate_half: pairs (i, i + r/2) of the r = rope_dim rotated  */
  COMP_ROPE_INTERLEAVED /* llama2.c / Meta original / ChatGLM: pairs (2i, 2i+1), 2i+1 < r  */
} comp_rope_kind;

typedef enum comp_need { COMP_NEED_ABSENT = 0, COMP_NEED_REQUIRED, COMP_NEED_OPTIONAL } comp_need;

/* config.json keys that hold each hyper-parameter (NULL: not in config, use the default).
 * rope_ratio multiplies the base (ChatGLM: base = 10000 * rope_ratio); rope_fraction is the share
 * of each head that RoPE rotates, rope_dims the number of its dims (GPT-J's rotary_dim); sliding_window,
 * the keys each query of a windowed layer attends to (null: all; which layers: config's layer_types,
 * else the row's window_period). */
typedef struct comp_arch_config_keys {
  const char *n_embd, *n_layer, *n_head, *n_head_kv, *head_dim, *n_ff, *n_vocab, *n_ctx, *norm_eps, *rope_theta,
      *rope_ratio, *rope_fraction, *rope_dims, *tie_embd, *sliding_window;
  const char *act; /* the activation's name: the row's act, or refused (absent or null: the row's) */
  /* Gemma-2: tanh soft-capping of the attention scores and of the logits (null: none), the query
   * scale's denominator (scores times query_pre_attn_scalar^-1/2) */
  const char *attn_softcap, *final_softcap, *attn_scalar;
  const char *logit_scale; /* Cohere: the logits' multiplier */
  /* Granite: the embedding's multiplier, each block's output's before the residual add, the scores' (in place
   * of 1/sqrt(head_dim)) and the logits' divisor */
  const char *embd_mult, *residual_mult, *attn_mult, *logit_div;
  /* Gemma-3: the windowed layers' pattern (window_period) and their own RoPE base (rope_theta_local) */
  const char *window_period, *rope_theta_local;
  const char *parallel; /* GPT-NeoX's use_parallel_residual: the row's parallel, or a sequential block */
  /* SmolLM3: which layers rotate q and k (a list, 1: RoPE, 0: none, a NoPE layer), else the period of the NoPE
   * layers (layer i has none when (i + 1) % period == 0; the row's nope_period when absent) */
  const char *rope_layers, *nope_period;
  /* Qwen2 / Qwen3: the window applies only when window_switch (use_sliding_window) is true, and then to the layers
   * from window_first (max_window_layers) on */
  const char *window_switch, *window_first;
} comp_arch_config_keys;

/* A config.json switch that selects a block structure: the row describes one setting of it, and a
 * model whose config (or, when the key is absent, whose modeling code's default) says otherwise is
 * refused. UNSET: absent, null, false or 0 (a feature comp does not implement, such as ChatGLM's
 * p-tuning prefix); INT: the integer value (Falcon's num_ln_in_parallel_attn). */
typedef enum comp_cfg_want { COMP_CFG_TRUE, COMP_CFG_FALSE, COMP_CFG_UNSET, COMP_CFG_INT } comp_cfg_want;
typedef struct comp_arch_cfg_rule {
  const char   *key; /* NULL ends the list */
  comp_cfg_want want;
  bool          dflt;  /* TRUE/FALSE: the value when the key is absent; INT: whether absent or null matches */
  int           value; /* INT: the value wanted */
} comp_arch_cfg_rule;

/* A config.json switch that turns optional tensors on (LLaMA's attention_bias, OPT's enable_bias):
 * it tells which of them a model has when only its config is read (comp prune --dry-run); a loaded
 * model has the ones its files hold. */
typedef struct comp_arch_opt_switch {
  const char *key;  /* NULL ends the list                   */
  bool        dflt; /* the modeling code's default          */
  int         n;
  comp_role   role[7];
} comp_arch_opt_switch;

/* A role stored as a block of rows of a tensor it shares with other roles: the tensor its template
 * names is the row-wise concatenation of part[0..n), in order, each with its own shape (ChatGLM's
 * query_key_value = q | k | v, dense_h_to_4h = gate | up), or with per_head, the concatenation over
 * kv heads h of each part's rows of that head's group (GPT-NeoX's query_key_value = q_0 | k_0 | v_0 |
 * q_1 | ...; InternLM2's wqkv = the g query heads of group 0 | k_0 | v_0 | ...: each part's rows
 * split evenly over n_head_kv blocks). The loader gives each role its rows; export writes the parts
 * back as one tensor. */
typedef struct comp_arch_fused {
  int       n; /* 0: the role is a tensor of its own */
  comp_role part[3];
  bool      per_head;
} comp_arch_fused;

typedef struct comp_arch_desc {
  const char *name;             /* "llama"                                         */
  const char *hf_model_type[3]; /* config.json "model_type" values (NULL-ended)  */
  /* rows that share a model_type (Falcon's three decoders): the config picks the first row whose
   * select switches all hold (none: the model_type's only row) */
  comp_arch_cfg_rule select[2];
  comp_norm_kind     norm;
  comp_act_kind      act;
  comp_ffn_kind      ffn;
  comp_rope_kind     rope;
  int                pos_offset;     /* OPT: learned position rows start at 2            */
  float              norm_eps;       /* default when config has no key                  */
  float              rope_theta;     /* default rope base                               */
  float              rope_fraction;  /* share of each head RoPE rotates (0: all of it)  */
  int                head_dim;       /* default head_dim (0: hidden size / heads)       */
  int                n_head_kv;      /* default kv heads (0: all heads; Falcon-7B: 1)   */
  int                sliding_window; /* default when config has no key (0: none)       */
  int                window_period;  /* no layer_types: all windowed (0), or all but i: (i+1) % p == 0 */
  bool               tie_default;    /* tie_word_embeddings when config is silent       */
  bool               embd_scale;     /* embedding rows times sqrt(hidden size) (Gemma)   */
  bool               parallel;       /* default: x + attn(h) + ffn(h'), h = attn_norm(x), h' = ffn_norm(x) or h */
  bool               conv1d;         /* dense weights stored (in, out), fused parts side by side (GPT-2's Conv1D) */
  bool               no_pre_norm;    /* OLMo-2: the attention and the MLP read the residual itself, no norm before */
  bool               qk_norm_full;   /* q_norm / k_norm over all heads of q (H*hd) and k (Hkv*hd) at once (OLMo-2) */
  bool rope_windowed_only;  /* RoPE in the windowed layers only; the full-attention ones have no positions (Cohere2) */
  bool rope_unwindowed_all; /* ... unless the config has no sliding_window: then every layer rotates (EXAONE 4) */
  bool qk_norm_after_rope;  /* q_norm / k_norm applied to the rotated q and k (HunYuan), not before RoPE */
  bool rope_ntk_alpha;      /* rope_scaling dynamic's "alpha": base times alpha^(hd / (hd - 2)) (HunYuan) */
  bool local_rope_plain;    /* the windowed layers rotate with rope_theta unscaled, rope_scaling is the global ones'
                             * (OLMo 3): rope_theta_local = rope_theta when the config scales */
  int         nope_period;  /* without a rope_layers list: layer i has no RoPE when (i + 1) % period == 0 (SmolLM3) */
  int         window_first; /* cfg.window_first when the config has none (Qwen2Config's max_window_layers: 28) */
  bool        alibi;   /* BLOOM: no RoPE; scores of head h plus slope_h * (j - i) (transformers' build_alibi_tensor) */
  int         ff_mult; /* n_ff = ff_mult * n_embd where the config has no FFN width (BLOOM: 4) */
  int         n_ctx;   /* longest sequence where the config gives none (ALiBi models) */
  const char *base_prefix;  /* checkpoints saved from the base model lack it (BLOOM's "transformer.") */
  float       attn_softcap; /* defaults when config has no key (0: none)       */
  float       final_softcap;
  float       attn_scalar;      /* 0: head_dim */
  float       logit_scale;      /* the logits' multiplier when the config has no key (0: none; Cohere's 0.0625) */
  float       rope_theta_local; /* the windowed layers' RoPE base, unscaled (Gemma-3); 0: rope_theta and its scaling */
  /* Granite's multipliers and logit divisor when the config has no key (0: none) */
  float embd_mult, residual_mult, attn_mult, logit_div;
  bool  rope_scaling;     /* reads HF rope_scaling (linear, llama3, longrope, yarn): else refused */
  bool  longrope_aliases; /* Phi3Config: rope_scaling "su" and "yarn" are longrope (older Phi-3 configs' names) */
  comp_arch_config_keys cfg;
  comp_arch_cfg_rule    rules[8];                /* structural switches this row assumes        */
  comp_arch_opt_switch  opt_on[3];               /* config switches of optional tensors         */
  const char           *tensor[COMP_ROLE_COUNT]; /* name template ("%d" = layer); NULL = absent */
  comp_need             need[COMP_ROLE_COUNT];   /* REQUIRED/OPTIONAL for present templates   */
  comp_arch_fused       fused[COMP_ROLE_COUNT];  /* roles that are row blocks of a shared tensor */
} comp_arch_desc;

/* The descriptor of one architecture. */
const comp_arch_desc *comp_arch_get(comp_arch a);
/* The rows after `after` (COMP_ARCH_COUNT: from the first) whose model_type values hold model_type, one
 * at a time; COMP_ARCH_COUNT when there are no more. The caller picks among them by their select
 * switches. */
comp_arch comp_arch_next_hf(const char *model_type, comp_arch after);
/* The config.json "model_type" values the table knows, each once, ", "-separated, into buf (n bytes). */
void comp_arch_hf_names(char *buf, size_t n);
/* Whether role r is an optional norm before the MLP that a sequential block (parallel false) needs:
 * StableLM's post_attention_layernorm, absent from its parallel block, whose MLP reads the attention's. */
bool comp_arch_needs_ffn_norm(const comp_arch_desc *a, comp_role r, bool parallel);
/* The dense whose weight or bias role r is (*bias: which; may be NULL); -1 for a role of no dense. */
int comp_dense_of_role(comp_role r, bool *bias);
/* Weight / bias roles of a dense. */
comp_role   comp_dense_weight_role(comp_dense_id d);
comp_role   comp_dense_bias_role(comp_dense_id d);
const char *comp_dense_name(comp_dense_id d); /* "q", "k", "v", "o", "gate", "up", "down" */
const char *comp_role_name(comp_role r);

#endif
