/*
 * comp/arch.h - model architectures as data (llama.cpp's table, in C).
 *
 * Code asks for weights by role (COMP_ROLE_ATTN_Q) and never by file name; each architecture is
 * one row of a table that gives the Hugging Face tensor-name template of every role, which
 * config.json keys hold which hyper-parameter, and the structural kinds (norm, activation, FFN,
 * positions). The forward pass switches on those kinds in one place.
 *
 * Adding an architecture: one enum value, one row in src/arch.c, one line in the test that walks
 * the table (tests/unit/test_arch.c). Only a structurally new block needs forward-pass code.
 */
#ifndef COMP_ARCH_H
#define COMP_ARCH_H

#include <stdbool.h>

typedef enum comp_arch {
  COMP_ARCH_LLAMA,   /* LlamaForCausalLM, MistralForCausalLM (MHA/GQA, rotate_half RoPE)   */
  COMP_ARCH_QWEN2,   /* Qwen2ForCausalLM: LLaMA block with q/k/v biases                    */
  COMP_ARCH_OPT,     /* OPTForCausalLM: pre-LayerNorm, biases, ReLU, learned positions     */
  COMP_ARCH_LLAMA2C, /* llama2.c .bin checkpoints: LLaMA block with interleaved RoPE       */
  COMP_ARCH_COUNT
} comp_arch;

typedef enum comp_role {
  /* model-wide */
  COMP_ROLE_TOK_EMBD,
  COMP_ROLE_POS_EMBD,
  COMP_ROLE_OUT_NORM,
  COMP_ROLE_OUT_NORM_B,
  COMP_ROLE_LM_HEAD,
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

typedef enum comp_norm_kind { COMP_NORM_RMS, COMP_NORM_LAYER } comp_norm_kind;
typedef enum comp_act_kind { COMP_ACT_SILU, COMP_ACT_RELU, COMP_ACT_GELU } comp_act_kind;
typedef enum comp_ffn_kind { COMP_FFN_GATED, COMP_FFN_PLAIN } comp_ffn_kind; /* act(gate)*up | act(up) */
typedef enum comp_rope_kind {
  COMP_ROPE_NONE,       /* learned absolute positions instead                              */
  COMP_ROPE_HALF,       /* HF rotate_half: pairs (i, i + head_dim/2)                       */
  COMP_ROPE_INTERLEAVED /* llama2.c / Meta original: pairs (2i, 2i+1)                      */
} comp_rope_kind;

typedef enum comp_need { COMP_NEED_ABSENT = 0, COMP_NEED_REQUIRED, COMP_NEED_OPTIONAL } comp_need;

/* config.json keys that hold each hyper-parameter (NULL: not in config, use the default). */
typedef struct comp_arch_config_keys {
  const char *n_embd, *n_layer, *n_head, *n_head_kv, *head_dim, *n_ff, *n_vocab, *n_ctx, *norm_eps, *rope_theta,
      *tie_embd;
} comp_arch_config_keys;

typedef struct comp_arch_desc {
  const char           *name;             /* "llama"                                         */
  const char           *hf_model_type[3]; /* config.json "model_type" values (NULL-ended)  */
  comp_norm_kind        norm;
  comp_act_kind         act;
  comp_ffn_kind         ffn;
  comp_rope_kind        rope;
  int                   pos_offset;  /* OPT: learned position rows start at 2            */
  float                 norm_eps;    /* default when config has no key                  */
  float                 rope_theta;  /* default rope base                               */
  bool                  tie_default; /* tie_word_embeddings when config is silent       */
  comp_arch_config_keys cfg;
  const char           *tensor[COMP_ROLE_COUNT]; /* name template ("%d" = layer); NULL = absent */
  comp_need             need[COMP_ROLE_COUNT];   /* REQUIRED/OPTIONAL for present templates   */
} comp_arch_desc;

/* The descriptor of one architecture. */
const comp_arch_desc *comp_arch_get(comp_arch a);
/* Map config.json "model_type" to an architecture; COMP_ARCH_COUNT if unknown. */
comp_arch comp_arch_from_hf(const char *model_type);
/* Weight / bias roles of a dense. */
comp_role   comp_dense_weight_role(comp_dense_id d);
comp_role   comp_dense_bias_role(comp_dense_id d);
const char *comp_dense_name(comp_dense_id d); /* "q", "k", "v", "o", "gate", "up", "down" */
const char *comp_role_name(comp_role r);

#endif
