/*
 * comp/forward.h - the decoder forward pass on batches of sequences (fp32, OpenBLAS SGEMM).
 *
 * The forward pass knows nothing about pruning or calibration. Whoever needs intermediate values
 * (calibration, layer importance) subscribes to taps: the forward pass reports each layer's input
 * and output and each dense's input, and the observer copies or accumulates what it wants.
 *
 * Dimension letters: B sequences of T tokens, n = B*T rows; D = n_embd, V = n_vocab,
 * H/Hkv query/kv heads of width hd, F = n_ff. All activations are row-major (token, feature).
 *
 *     comp_fwd_ws *ws; COMP_CALL(comp_fwd_ws_create(&m->hp, T, &ws));
 *     comp_forward_embed(m, tok, B, T, x);                  x (n, D)
 *     for each layer l: comp_forward_layer(m, layer, x, B, T, ws, &taps);
 *     comp_forward_final_norm(m, x, n); comp_forward_logits(m, x, n, logits);   logits (n, V)
 */
#ifndef COMP_FORWARD_H
#define COMP_FORWARD_H

#include <stdint.h>

#include "comp/model.h"

typedef enum comp_tap_point {
  COMP_TAP_LAYER_IN,  /* x (n, D): residual stream entering layer `layer`                  */
  COMP_TAP_DENSE_IN,  /* x (n, d_in_full): input of dense `dense` of layer `layer`          */
  COMP_TAP_LAYER_OUT, /* x (n, D): residual stream leaving layer `layer`                   */
  COMP_TAP_COUNT
} comp_tap_point;

typedef struct comp_taps {
  /* Called synchronously; x is only valid during the call. dense is -1 except for DENSE_IN. */
  void (*fn)(void *ctx, comp_tap_point where, int layer, int dense, const float *x, int64_t n, int64_t width);
  void *ctx;
} comp_taps;

/* The inverse frequency of RoPE's pair i (0 <= i < r/2) in float32 as Hugging Face computes it, for
 * sequences of T tokens: 1/theta^(2i/r) (_compute_default_rope_parameters), divided by the factor of
 * a linear scaling, or Llama 3.1's blend by wavelength (_compute_llama3_parameters), or divided by
 * longrope's short or long factor of the pair, chosen by T (_compute_longrope_parameters), or YaRN's
 * blend of the two by a linear ramp over the pairs (_compute_yarn_parameters). The RoPE tables' only
 * source; their cos and sin are then multiplied by longrope's or YaRN's attention factor. */
float comp_rope_inv_freq(const comp_hparams *hp, int64_t i, int64_t T);

/* Scratch for one chunk of up to B*T tokens with sequences of at most T tokens. */
typedef struct comp_fwd_ws comp_fwd_ws;
comp_status comp_fwd_ws_create(const comp_hparams *hp, int64_t max_tokens, int64_t max_seq, comp_fwd_ws **out);
void        comp_fwd_ws_destroy(comp_fwd_ws **ws);

/* x (B*T, D) = token (+ learned position) embeddings; positions 0..T-1 in every sequence. */
comp_status comp_forward_embed(const comp_model *m, const int32_t *tok, int64_t B, int64_t T, float *x);

/* One decoder layer, in place on the residual stream x (B*T, D). */
comp_status comp_forward_layer(const comp_model *m, const comp_layer *ly, float *x, int64_t B, int64_t T,
                               comp_fwd_ws *ws, const comp_taps *taps);

/* Final norm, in place on x (n, D). */
void comp_forward_final_norm(const comp_model *m, float *x, int64_t n);

/* logits (n, V) = x (n, D) · lm_headᵀ */
void comp_forward_logits(const comp_model *m, const float *x, int64_t n, float *logits);

/* y (n, d_out) = x (n, d_in_full) gathered to the dense's kept inputs · Wᵀ + b. gather: scratch of
 * n*d_in floats when d->in_idx != NULL. */
void comp_dense_apply(const comp_dense *d, const float *x, int64_t n, float *y, float *gather);

/* Whole model: tokens (B, T) -> logits (B*T, V). Fetches layers one at a time. */
comp_status comp_forward(comp_model *m, const int32_t *tok, int64_t B, int64_t T, float *logits, const comp_taps *taps);

/* FLOPs of one layer forward on B sequences of T tokens (GEMMs + attention), for benchmarks. */
double comp_forward_layer_flops(const comp_hparams *hp, int64_t B, int64_t T);

#endif
