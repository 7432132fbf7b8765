/*
 * comp/model.h - a loaded language model: hyper-parameters, model-wide weights, and decoder
 * layers fetched one at a time.
 *
 * comp_model_load() opens a checkpoint, validates config and every tensor's shape against it
 * (from the index alone, no weight data read), and reads only the model-wide tensors (embeddings,
 * final norm, head; comp_model_load_wide can leave the embedding and head on disk). Decoder layers are read on demand
 * with comp_model_layer_get() and released with comp_model_layer_put(), so a pass over the model holds one layer at a
 * time unless comp_model_set_cache() asks to keep them (small models, generation).
 *
 * Sources: a Hugging Face directory (config.json + model.safetensors or the sharded
 * model.safetensors.index.json; F32/F16/BF16, computed in fp32), a llama2.c checkpoint (.bin), or
 * a pruning archive (an HDF5 file, comp/archive.h: compact denses, layer counts as stored).
 *
 *     comp_model *m; COMP_CALL(comp_model_load("shared/data/trained/llama-8L", &m));
 *     for (int l = 0; l < m->hp.n_layer; l++) {
 *       comp_layer *ly; COMP_CALL(comp_model_layer_get(m, l, &ly)); ...; comp_model_layer_put(m, &ly);
 *     }
 *     comp_model_destroy(&m);
 *
 * Not collective: every rank loads its own copy (they read the same files).
 */
#ifndef COMP_MODEL_H
#define COMP_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "comp/arch.h"
#include "comp/error.h"
#include "comp/wstore.h"

/* Hugging Face `rope_scaling` of the kinds comp implements (modeling_rope_utils.py): the default
 * inv_freq divided by factor (LINEAR), or Llama 3.1's by wavelength (LLAMA3): wavelengths below
 * original_ctx / high_freq_factor kept, above original_ctx / low_freq_factor divided by factor,
 * smoothly blended between; or Phi-3's LONGROPE: pair i's inv_freq divided by short_factor[i] for a
 * sequence of at most original_ctx tokens and by long_factor[i] for a longer one (transformers'
 * longrope_frequency_update: the window scored decides), cos and sin times attention_factor; or
 * YaRN (YARN, _compute_yarn_parameters): pair i's inv_freq blended from the default (extrapolation)
 * and the default divided by factor (interpolation) by a linear ramp between the pairs that turn
 * beta_fast and beta_slow times in original_ctx positions, cos and sin times attention_factor.
 * "dynamic" (NTK) is read as NONE: it changes nothing up to max_position_embeddings, and longer
 * sequences are refused. Other kinds are refused at load. */
#define COMP_ROPE_MAX_PAIRS 256 /* LONGROPE: the factors of up to 512 rotated dims per head */
typedef enum comp_rope_scaling_kind {
  COMP_ROPE_SCALING_NONE,
  COMP_ROPE_SCALING_LINEAR,
  COMP_ROPE_SCALING_LLAMA3,
  COMP_ROPE_SCALING_LONGROPE,
  COMP_ROPE_SCALING_YARN
} comp_rope_scaling_kind;
typedef struct comp_rope_scaling {
  comp_rope_scaling_kind kind;
  double                 factor;           /* LINEAR, LLAMA3: > 0; YARN: >= 1; LONGROPE: the context's growth */
  double                 low_freq_factor;  /* LLAMA3: > 0                                          */
  double                 high_freq_factor; /* LLAMA3: > low_freq_factor                            */
  int64_t                original_ctx;     /* LLAMA3, LONGROPE, YARN: original_max_position_embeddings, > 0 */
  double                 attention_factor; /* LONGROPE, YARN: cos and sin are multiplied by it, > 0 */
  double                 beta_fast;        /* YARN: rotations where the ramp starts (32 by default) */
  double                 beta_slow;        /* YARN: rotations where it ends (1), <= beta_fast       */
  bool                   truncate;         /* YARN: the ramp's ends rounded out to whole pairs      */
  int64_t                n_pairs;          /* LONGROPE: rope_dim / 2 factors in each list          */
  double                 short_factor[COMP_ROPE_MAX_PAIRS]; /* (n_pairs) LONGROPE: divisors for T <= original_ctx */
  double                 long_factor[COMP_ROPE_MAX_PAIRS];  /* (n_pairs) LONGROPE: divisors for T > original_ctx  */
} comp_rope_scaling;

typedef struct comp_hparams {
  comp_arch         arch;
  int64_t           n_vocab;   /* V                                                      */
  int64_t           n_embd;    /* D: residual width                                      */
  int64_t           n_layer;   /* L: decoder layers                                      */
  int64_t           n_head;    /* H: query heads                                         */
  int64_t           n_head_kv; /* Hkv: key/value heads (GQA when < H)                    */
  int64_t           head_dim;  /* hd: H*hd is the attention width (usually D)            */
  int64_t           n_ff;      /* F: FFN hidden width                                    */
  int64_t           n_ctx;     /* longest sequence the model allows                      */
  float             norm_eps;
  float             rope_theta;
  comp_rope_kind    rope;
  int64_t           rope_dim;       /* r: leading dims of each head RoPE rotates (== hd, or less: ChatGLM) */
  comp_rope_scaling rope_scaling;   /* .kind NONE: plain RoPE (and always without RoPE)    */
  int64_t           sliding_window; /* W of the windowed layers: query i attends to keys i-W < j <= i (0: none) */
  float             attn_softcap;   /* scores s -> cap·tanh(s/cap) before the mask (0: none)  */
  float             final_softcap;  /* the same for the logits (0: none)                      */
  float             attn_scalar;    /* scores times attn_scalar^-1/2 (0: head_dim, the usual)  */
  float             logit_scale;    /* logits times logit_scale (Cohere; 0: none)              */
  float             embd_mult;      /* embedding rows times embd_mult (Granite; 0: none)       */
  float             residual_mult;  /* each block's output times it before the residual add (Granite; 0: none) */
  float             attn_mult;      /* scores times attn_mult instead of 1/sqrt(hd) (Granite; 0: none) */
  float             logit_div;      /* logits divided by logit_div (Granite's logits_scaling; 0: none) */
  float    rope_theta_local; /* the windowed layers' RoPE base, unscaled (Gemma-3); 0: rope_theta and rope_scaling */
  bool     tied;             /* lm_head shares tok_embd                                */
  bool     parallel;         /* x + attn(h) + ffn(h'), h = attn_norm(x), h' = ffn_norm(x) or h (Phi-2, GPT-NeoX) */
  uint64_t opt_on;           /* bit r: config.json turns optional role r on (counting) */
  int      bos, eos;         /* -1 when unknown                                        */
} comp_hparams;

/* One linear sub-layer: y = W x + b on (possibly gathered) inputs. */
typedef struct comp_dense {
  float   *w; /* (d_out, d_in) row-major                                               */
  float   *b; /* (d_out) or NULL                                                        */
  int64_t  d_out;
  int64_t  d_in;   /* columns of w: the kept inputs                                          */
  int32_t *in_idx; /* (d_in) which of the d_in_full inputs are read, or NULL for all (dense) */
  int64_t  d_in_full;
} comp_dense;

typedef struct comp_layer {
  int        index;                   /* decoder layer index in the model                           */
  int64_t    window;                  /* query i attends to keys i-window < j <= i (0: all j <= i)   */
  bool       nope;                    /* no RoPE in this layer (SmolLM3's NoPE layers)               */
  comp_dense dense[COMP_DENSE_COUNT]; /* .w == NULL for denses the architecture lacks   */
  float     *attn_norm_w;             /* (D)                                                         */
  float     *attn_norm_b;             /* (D) or NULL                                                 */
  float     *ffn_norm_w;              /* (D)                                                         */
  float     *ffn_norm_b;              /* (D) or NULL                                                 */
  float     *q_norm_w;                /* (head_dim) or NULL: RMSNorm of each query head (Qwen3)      */
  float     *k_norm_w;                /* (head_dim) or NULL: RMSNorm of each key head                */
  float     *attn_post_norm_w;        /* (D) or NULL: norm of the attention output (Gemma-2)         */
  float     *ffn_post_norm_w;         /* (D) or NULL: norm of the FFN output                         */
  void      *mem;                     /* one allocation backing every tensor above (owned)           */
} comp_layer;

/* A layer's vectors besides its denses (norm weights and biases), in a fixed order: their role and
 * length (n_embd, or head_dim for the per-head q/k norms: H*hd and Hkv*hd where the row's qk_norm_full
 * normalises all heads at once, OLMo-2), and where a layer holds each one. */
typedef enum comp_layer_vec {
  COMP_VEC_ATTN_NORM,
  COMP_VEC_ATTN_NORM_B,
  COMP_VEC_FFN_NORM,
  COMP_VEC_FFN_NORM_B,
  COMP_VEC_Q_NORM,
  COMP_VEC_K_NORM,
  COMP_VEC_ATTN_POST_NORM,
  COMP_VEC_FFN_POST_NORM,
  COMP_VEC_COUNT
} comp_layer_vec;
comp_role    comp_layer_vec_role(comp_layer_vec v);
int64_t      comp_layer_vec_len(const comp_hparams *hp, comp_layer_vec v);
float      **comp_layer_vec_at(comp_layer *ly, comp_layer_vec v);
const float *comp_layer_vec_get(const comp_layer *ly, comp_layer_vec v); /* NULL: the layer has none */

/* The model-wide vectors (the final norm's weight and bias, the head's bias, the embedding norm's
 * weight and bias), in a fixed order: their role and length (n_embd, or n_vocab for the head's bias),
 * and where a model holds each one (NULL: the model has none). */
typedef enum comp_wide_vec {
  COMP_WIDE_OUT_NORM,
  COMP_WIDE_OUT_NORM_B,
  COMP_WIDE_LM_HEAD_B,
  COMP_WIDE_EMBD_NORM,
  COMP_WIDE_EMBD_NORM_B,
  COMP_WIDE_VEC_COUNT
} comp_wide_vec;
comp_role comp_wide_vec_role(comp_wide_vec v);
int64_t   comp_wide_vec_len(const comp_hparams *hp, comp_wide_vec v);

/* Where decoder layers come from when they are not in a weight store: a reader installed by another
 * module (the archive reader, comp/archive.h). get returns a new layer owned by the caller;
 * n_params counts the floats stored for layer l; destroy releases ctx. */
typedef struct comp_layer_reader {
  comp_status (*get)(void *ctx, int l, comp_layer **out);
  int64_t (*n_params)(const void *ctx, int l);
  void (*destroy)(void *ctx);
  void *ctx;
} comp_layer_reader;

typedef struct comp_model {
  char                 *path; /* what was given to comp_model_load                       */
  comp_hparams          hp;
  const comp_arch_desc *arch;
  comp_wstore          *ws;
  float                *tok_embd;     /* (V, D)                                                  */
  float                *pos_embd;     /* (n_ctx + pos_offset, D) or NULL                         */
  float                *out_norm_w;   /* (D)                                                     */
  float                *out_norm_b;   /* (D) or NULL                                             */
  float                *lm_head;      /* (V, D); == tok_embd when tied                           */
  float                *lm_head_b;    /* (V) or NULL: the head's bias (Phi-2)                    */
  float                *embd_norm_w;  /* (D) or NULL: LayerNorm of the embedding rows (BLOOM) */
  float                *embd_norm_b;  /* (D) or NULL */
  bool                  cache;        /* keep layers once read                                   */
  comp_layer          **cached;       /* (L) when cache                                          */
  comp_layer_reader     reader;       /* .get set: layers come from here and ws is NULL (archives) */
  char                 *src_path;     /* archives: the model they were pruned from, else NULL     */
  int64_t              *layer_window; /* (L) each layer's attention window (0: all keys), when they differ (Gemma-2's
                                         local and global layers, layer_types); NULL: hp.sliding_window in every layer */
  int8_t *layer_nope;                 /* (L) 1 where a layer has no RoPE (SmolLM3's NoPE layers); NULL: none */
} comp_model;

comp_status comp_model_load(const char *path, comp_model **out);
/* Which model-wide tensors comp_model_load_wide reads: RESIDENT, all of them (comp_model_load:
 * evaluation needs the head); ON_DEMAND, all but the token embedding and the head, which stay in
 * the weight store (tok_embd and lm_head NULL) and are read a block of rows at a time by
 * comp_model_wide_rows (pruning: 1 GB less per rank at 7B). Archives are always read RESIDENT. */
typedef enum { COMP_WIDE_RESIDENT, COMP_WIDE_ON_DEMAND } comp_wide_mode;
comp_status comp_model_load_wide(const char *path, comp_wide_mode wide, comp_model **out);
/* dst (n, D) = rows [row0, row0 + n) of the token embedding (r COMP_ROLE_TOK_EMBD) or the head
 * (COMP_ROLE_LM_HEAD; the embedding when tied): copied when resident, else read from the store. */
comp_status comp_model_wide_rows(const comp_model *m, comp_role r, int64_t row0, int64_t n, float *dst);
/* The hyper-parameters alone (config.json of a Hugging Face directory, the header of a llama2.c
 * checkpoint): no weights are needed (`comp prune --dry-run`). */
comp_status comp_model_config(const char *path, comp_hparams *hp);
/* The rope_type name of a scaling kind ("linear", "llama3", "longrope", "yarn"; NULL for NONE) and back (-1:
 * unknown). */
const char *comp_rope_scaling_name(comp_rope_scaling_kind k);
int         comp_rope_scaling_from_name(const char *name);
/* longrope's attention factor when the config gives none (_compute_longrope_parameters):
 * sqrt(1 + ln(factor) / ln(original_ctx)), 1 for factor <= 1. */
double comp_longrope_default_attention(double factor, int64_t original_ctx);
/* YaRN's attention factor when the config gives neither it nor mscale and mscale_all_dim
 * (_compute_yarn_parameters' get_mscale): 0.1 ln(factor) + 1, 1 for factor <= 1. */
double comp_yarn_default_attention(double factor);
/* COMP_ERR_FORMAT naming the field and value when rs's fields do not fit its kind; where prefixes
 * the message (the config or archive it was read from). */
comp_status comp_rope_scaling_check(const comp_rope_scaling *rs, const char *where);
/* Parameter counts implied by the hyper-parameters (required tensors and the optional ones the
 * config turns on, opt_on; tied head counted once). */
int64_t comp_hparams_layer_params(const comp_hparams *hp);
int64_t comp_hparams_n_params(const comp_hparams *hp);
bool    comp_hparams_has_dense(const comp_hparams *hp, comp_dense_id d);
void    comp_model_destroy(comp_model **m);
void    comp_model_set_cache(comp_model *m, bool keep);

/* config.json's value for keys, which may name alternatives "a|b" (the first present wins: BloomConfig
 * reads hidden_size or n_embed); name (n bytes, may be NULL) gets the key found, else the first. */
struct cJSON;
const struct cJSON *comp_config_item(const struct cJSON *cfg, const char *keys, char *name, size_t n);

/* Tensor name of m's weight store, or the same name without the architecture's base_prefix (how
 * checkpoints saved from the base model name it: BLOOM's "transformer."); NULL when neither is there. */
const comp_wtensor *comp_model_find_tensor(const comp_model *m, const char *name);

/* The attention window of layer l (comp_layer.window): keys i-W < j <= i for query i, 0 for all. */
int64_t comp_model_layer_window(const comp_model *m, int l);
/* Whether layer l has no RoPE (comp_layer.nope). */
bool comp_model_layer_nope(const comp_model *m, int l);

float      **comp_wide_vec_at(comp_model *m, comp_wide_vec v);
const float *comp_wide_vec_get(const comp_model *m, comp_wide_vec v); /* NULL: the model has none */

/* Fetch decoder layer l (read from disk unless cached). Release with comp_model_layer_put. */
comp_status comp_model_layer_get(comp_model *m, int l, comp_layer **out);
void        comp_model_layer_put(comp_model *m, comp_layer **layer);
void        comp_layer_free(comp_layer **layer);

/* Parameter counts (as stored: tied head counted once). */
int64_t comp_model_n_params(const comp_model *m);
int64_t comp_model_layer_n_params(const comp_model *m, int l);
/* Bytes of fp32 weights in one decoder layer. */
int64_t comp_model_layer_bytes(const comp_model *m);
/* Full (unpruned) shape of dense d as the hyper-parameters imply it: W is (d_out, d_in_full). */
void comp_dense_shape(const comp_hparams *hp, comp_dense_id d, int64_t *d_out, int64_t *d_in_full);

#endif
