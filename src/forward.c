/* forward.c - the decoder forward pass (see comp/forward.h). Reads like the math; one switch per
 * structural kind of the architecture table. */
#include "comp/forward.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct comp_fwd_ws {
  int64_t max_tok, max_seq;
  float  *h;         /* (n, D)   normed input of a block                 */
  float  *q;         /* (n, H*hd)                                        */
  float  *k;         /* (n, Hkv*hd)                                      */
  float  *v;         /* (n, Hkv*hd)                                      */
  float  *att;       /* (n, H*hd) attention output before o              */
  float  *s;         /* (T, T)   attention scores of one head            */
  float  *f1;        /* (n, F)   gate / fc1                              */
  float  *f2;        /* (n, F)   up                                      */
  float  *o;         /* (n, D)   block output before the residual add    */
  float  *gather;    /* (n, max d_in) gathered inputs of compact denses  */
  float  *rcos;      /* (T, r/2) RoPE tables, r = rope_dim               */
  float  *rsin;      /* (T, r/2)                                         */
  float  *lcos;      /* (T, r/2) the windowed layers' (Gemma-3), or NULL  */
  float  *lsin;      /* (T, r/2)                                         */
  float  *alibi;     /* (H) ALiBi slopes (BLOOM), or NULL                */
  int64_t rope_T;    /* positions the tables hold                        */
  bool    rope_long; /* the tables use longrope's long factors           */
};

/* longrope's factor set for sequences of T tokens: the long one beyond the original context. */
static bool rope_long(const comp_hparams *hp, int64_t T)
{
  return hp->rope_scaling.kind == COMP_ROPE_SCALING_LONGROPE && T > hp->rope_scaling.original_ctx;
}

/* longrope's and YaRN's attention_factor in float32 (the scalar torch multiplies the fp32 cos and sin
 * by); 1 for the other kinds. */
static float rope_attention_factor(const comp_hparams *hp)
{
  const comp_rope_scaling_kind k = hp->rope_scaling.kind;
  return k == COMP_ROPE_SCALING_LONGROPE || k == COMP_ROPE_SCALING_YARN ? (float)hp->rope_scaling.attention_factor
                                                                        : 1.0f;
}

/* YaRN's share of extrapolation (the unscaled frequency) in pair i of r/2 (_compute_yarn_parameters:
 * 1 - linear_ramp_factor(low, high, r/2)[i]). The ramp runs between the pairs that turn beta_fast and
 * beta_slow times in original_ctx positions (find_correction_range, in double: each end rounded out
 * to a whole pair when truncate, then kept within [0, r - 1]); the ramp itself in float32. */
static float yarn_extrapolation(const comp_rope_scaling *sc, float theta, int64_t r, int64_t i)
{
  const double ctx = (double)sc->original_ctx, two_pi = 2 * M_PI;
  double       lo = (double)r * log(ctx / (sc->beta_fast * two_pi)) / (2 * log((double)theta));
  double       hi = (double)r * log(ctx / (sc->beta_slow * two_pi)) / (2 * log((double)theta));
  if (sc->truncate) lo = floor(lo), hi = ceil(hi);
  lo = lo > 0 ? lo : 0;
  hi = hi < (double)(r - 1) ? hi : (double)(r - 1);
  if (lo == hi) hi += 0.001; /* the singularity transformers steps around */
  float ramp = ((float)i - (float)lo) / (float)(hi - lo);
  ramp       = ramp < 0.0f ? 0.0f : ramp > 1.0f ? 1.0f : ramp;
  return 1.0f - ramp;
}

float comp_rope_inv_freq(const comp_hparams *hp, int64_t i, int64_t T)
{
  const comp_rope_scaling *sc = &hp->rope_scaling;
  const float              v  = 1.0f / powf(hp->rope_theta, (float)(2 * i) / (float)hp->rope_dim); /* the default */
  if (sc->kind == COMP_ROPE_SCALING_LINEAR) return v / (float)sc->factor;
  if (sc->kind == COMP_ROPE_SCALING_LONGROPE) { /* 1 / (ext * base^(2i/r)), ext the fp32 factor tensor */
    const float ext = (float)(rope_long(hp, T) ? sc->long_factor[i] : sc->short_factor[i]);
    return 1.0f / (ext * powf(hp->rope_theta, (float)(2 * i) / (float)hp->rope_dim));
  }
  if (sc->kind == COMP_ROPE_SCALING_YARN) { /* interpolation * (1 - e) + extrapolation * e */
    const float pos = powf(hp->rope_theta, (float)(2 * i) / (float)hp->rope_dim);
    const float e   = yarn_extrapolation(sc, hp->rope_theta, hp->rope_dim, i);
    return (1.0f / ((float)sc->factor * pos)) * (1.0f - e) + (1.0f / pos) * e;
  }
  if (sc->kind != COMP_ROPE_SCALING_LLAMA3) return v;
  /* torch's order of float32 operations; Python-float scalars meet the float32 tensors as float32
   * and x / tensor is reciprocal(tensor) * x */
  const float f = (float)sc->factor, ctx = (float)sc->original_ctx;
  const float lo_wavelen = (float)((double)sc->original_ctx / sc->low_freq_factor);
  const float hi_wavelen = (float)((double)sc->original_ctx / sc->high_freq_factor);
  const float wavelen    = (1.0f / v) * (float)(2 * M_PI);
  const float llama      = wavelen > lo_wavelen ? v / f : v; /* low frequencies: divided by factor */
  const float smooth =
      ((1.0f / wavelen) * ctx - (float)sc->low_freq_factor) / (float)(sc->high_freq_factor - sc->low_freq_factor);
  const float blended = (1.0f - smooth) * llama / f + smooth * llama;
  return !(wavelen < hi_wavelen) && !(wavelen > lo_wavelen) ? blended : llama; /* high ones: unchanged */
}

/* RoPE tables rcos, rsin (P, r/2) for positions p < P, computed as HF does in fp32: angle =
 * p * inv_freq over the r = rope_dim rotated dims of a head (r = hd but for partial rotary: ChatGLM's
 * r = hd/2), cos and sin times longrope's attention factor; the inverse frequencies those of
 * sequences of T tokens (which longrope's factor set depends on). */
static void rope_fill(const comp_hparams *hp, int64_t P, int64_t T, float *rcos, float *rsin)
{
  const int64_t half = hp->rope_dim / 2;
  const float   att  = rope_attention_factor(hp);
  for (int64_t i = 0; i < half; i++) {
    float inv = comp_rope_inv_freq(hp, i, T);
    for (int64_t p = 0; p < P; p++) {
      float a            = (float)p * inv;
      rcos[p * half + i] = cosf(a) * att;
      rsin[p * half + i] = sinf(a) * att;
    }
  }
}

/* The workspace's tables for positions < w->rope_T */
static void rope_tables(const comp_hparams *hp, comp_fwd_ws *w, int64_t T)
{
  rope_fill(hp, w->rope_T, T, w->rcos, w->rsin);
  w->rope_long = rope_long(hp, T);
}

/* The windowed layers' RoPE where they have their own (Gemma-3's rope_local_base_freq): plain RoPE
 * with that base, no scaling */
static void rope_tables_local(const comp_hparams *hp, comp_fwd_ws *w)
{
  comp_hparams local = *hp;
  local.rope_theta   = hp->rope_theta_local;
  local.rope_scaling = (comp_rope_scaling){.kind = COMP_ROPE_SCALING_NONE};
  rope_fill(&local, w->rope_T, w->rope_T, w->lcos, w->lsin);
}

/* ALiBi's slope of each of H heads as transformers' build_alibi_tensor computes them in fp32: base^k
 * for k = 1..P with base = 2^(-8/P), P the largest power of two <= H; the other heads take
 * (2^(-4/P))^k for the odd k = 1, 3, ... (malloc'd; NULL when out of memory). */
static float *alibi_slopes(int64_t H)
{
  float  *s = malloc((size_t)H * sizeof *s);
  int64_t P = 1;
  while (2 * P <= H) P *= 2;
  if (!s) return NULL;
  const float base  = (float)pow(2.0, -pow(2.0, -(log2((double)P) - 3))),
              extra = (float)pow(2.0, -pow(2.0, -(log2(2.0 * (double)P) - 3)));
  for (int64_t h = 0; h < H; h++) s[h] = h < P ? powf(base, (float)(h + 1)) : powf(extra, (float)(2 * (h - P) + 1));
  return s;
}

comp_status comp_fwd_ws_create(const comp_hparams *hp, int64_t max_tok, int64_t max_seq, comp_fwd_ws **out)
{
  const int64_t D = hp->n_embd, Hd = hp->n_head * hp->head_dim, KVd = hp->n_head_kv * hp->head_dim, F = hp->n_ff;
  int64_t       dmax = D > Hd ? D : Hd;
  dmax               = dmax > F ? dmax : F;
  comp_fwd_ws *w     = calloc(1, sizeof *w);
  COMP_CHECK(w, COMP_ERR_NOMEM, "out of memory");
  w->max_tok       = max_tok;
  w->max_seq       = max_seq;
  w->h             = malloc((size_t)(max_tok * D) * sizeof(float));
  w->q             = malloc((size_t)(max_tok * Hd) * sizeof(float));
  w->k             = malloc((size_t)(max_tok * KVd) * sizeof(float));
  w->v             = malloc((size_t)(max_tok * KVd) * sizeof(float));
  w->att           = malloc((size_t)(max_tok * Hd) * sizeof(float));
  w->s             = malloc((size_t)(max_seq * max_seq) * sizeof(float));
  w->f1            = malloc((size_t)(max_tok * F) * sizeof(float));
  w->f2            = malloc((size_t)(max_tok * F) * sizeof(float));
  w->o             = malloc((size_t)(max_tok * D) * sizeof(float));
  w->gather        = malloc((size_t)(max_tok * dmax) * sizeof(float));
  w->rcos          = malloc((size_t)(max_seq * (hp->head_dim / 2 + 1)) * sizeof(float));
  w->rsin          = malloc((size_t)(max_seq * (hp->head_dim / 2 + 1)) * sizeof(float));
  const bool local = hp->rope != COMP_ROPE_NONE && hp->rope_theta_local > 0; /* Gemma-3's second tables */
  if (local) {
    w->lcos = malloc((size_t)(max_seq * (hp->head_dim / 2 + 1)) * sizeof(float));
    w->lsin = malloc((size_t)(max_seq * (hp->head_dim / 2 + 1)) * sizeof(float));
  }
  if (!w->h || !w->q || !w->k || !w->v || !w->att || !w->s || !w->f1 || !w->f2 || !w->o || !w->gather || !w->rcos ||
      !w->rsin || (local && (!w->lcos || !w->lsin))) {
    comp_fwd_ws_destroy(&w);
    return comp_error_set(COMP_ERR_NOMEM, "out of memory for forward scratch (%lld tokens)", (long long)max_tok);
  }
  w->rope_T = max_seq;
  rope_tables(hp, w, max_seq);
  if (local) rope_tables_local(hp, w);
  if (comp_arch_get(hp->arch)->alibi && !(w->alibi = alibi_slopes(hp->n_head))) {
    comp_fwd_ws_destroy(&w);
    return comp_error_set(COMP_ERR_NOMEM, "out of memory");
  }
  *out = w;
  return COMP_OK;
}

void comp_fwd_ws_destroy(comp_fwd_ws **ws)
{
  if (!ws || !*ws) return;
  comp_fwd_ws *w = *ws;
  free(w->h), free(w->q), free(w->k), free(w->v), free(w->att), free(w->s), free(w->f1), free(w->f2), free(w->o);
  free(w->gather), free(w->rcos), free(w->rsin), free(w->lcos), free(w->lsin), free(w->alibi);
  free(w);
  *ws = NULL;
}

/* ---- kernels ------------------------------------------------------------------------------------ */

/* o (n, D) = norm(x (n, D)) * w + b; statistics in fp64. */
static void norm_rows(comp_norm_kind kind, float *o, const float *x, const float *w, const float *b, int64_t n,
                      int64_t D, float eps)
{
  for (int64_t t = 0; t < n; t++) {
    const float *xr   = x + t * D;
    float       *orow = o + t * D;
    if (kind == COMP_NORM_RMS || kind == COMP_NORM_RMS_UNIT_OFFSET) {
      double ss = 0;
      for (int64_t i = 0; i < D; i++) ss += (double)xr[i] * xr[i];
      float r = (float)(1.0 / sqrt(ss / (double)D + (double)eps));
      if (kind == COMP_NORM_RMS)
        for (int64_t i = 0; i < D; i++) orow[i] = w[i] * (xr[i] * r);
      else /* GemmaRMSNorm: times 1 + w, in fp32 */
        for (int64_t i = 0; i < D; i++) orow[i] = (xr[i] * r) * (1.0f + w[i]);
    } else {
      double mu = 0, var = 0;
      for (int64_t i = 0; i < D; i++) mu += xr[i];
      mu /= (double)D;
      for (int64_t i = 0; i < D; i++) var += ((double)xr[i] - mu) * ((double)xr[i] - mu);
      double r = 1.0 / sqrt(var / (double)D + (double)eps);
      if (kind == COMP_NORM_LAYER_UNIT_OFFSET) /* Nemotron's LayerNorm1P: times 1 + w, in fp32 */
        for (int64_t i = 0; i < D; i++) orow[i] = (float)(((double)xr[i] - mu) * r) * (1.0f + w[i]) + (b ? b[i] : 0.0f);
      else
        for (int64_t i = 0; i < D; i++) /* no weight (OLMo's): ones */
          orow[i] = (float)(((double)xr[i] - mu) * r) * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f);
    }
  }
}

void comp_dense_apply(const comp_dense *d, const float *x, int64_t n, float *y, float *gather)
{
  const float *in = x;
  if (d->in_idx) { /* compact dense: read only the kept input columns */
    for (int64_t t = 0; t < n; t++)
      for (int64_t j = 0; j < d->d_in; j++) gather[t * d->d_in + j] = x[t * d->d_in_full + d->in_idx[j]];
    in = gather;
  }
  /* y (n, d_out) = in (n, d_in) · Wᵀ, W (d_out, d_in) row-major */
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)d->d_out, (int)d->d_in, 1.0f, in, (int)d->d_in,
              d->w, (int)d->d_in, 0.0f, y, (int)d->d_out);
  if (d->b)
    for (int64_t t = 0; t < n; t++)
      for (int64_t i = 0; i < d->d_out; i++) y[t * d->d_out + i] += d->b[i];
}

/* Rotate x (B*T, nh*hd) in place: the pairs of the first r dims of each head by position (0..T-1
 * within each sequence); dims r..hd-1 pass through. */
static void rope_apply(comp_rope_kind kind, float *x, int64_t B, int64_t T, int64_t nh, int64_t hd, int64_t r,
                       const float *rcos, const float *rsin)
{
  const int64_t half = r / 2;
  for (int64_t b = 0; b < B; b++)
    for (int64_t p = 0; p < T; p++) {
      const float *c = rcos + p * half, *s = rsin + p * half;
      float       *row = x + (b * T + p) * nh * hd;
      for (int64_t h = 0; h < nh; h++) {
        float *v = row + h * hd;
        for (int64_t i = 0; i < half; i++) {
          /* rotate_half pairs (i, i+r/2); interleaved pairs (2i, 2i+1) */
          int64_t i0 = kind == COMP_ROPE_HALF ? i : 2 * i, i1 = kind == COMP_ROPE_HALF ? i + half : 2 * i + 1;
          float   v0 = v[i0], v1 = v[i1];
          v[i0] = v0 * c[i] - v1 * s[i];
          v[i1] = v0 * s[i] + v1 * c[i];
        }
      }
    }
}

/* Causal multi-head attention with grouped kv heads:
 * att_h = softmax(q_h k_gᵀ / sqrt(hd) + causal mask) v_g,  g = h / (H/Hkv); with a window W > 0 (the
 * layer's) the mask also hides keys j <= i - W from query i. */
static void attention(const comp_hparams *hp, comp_fwd_ws *w, int64_t B, int64_t T, int64_t W)
{
  const int64_t H = hp->n_head, Hkv = hp->n_head_kv, hd = hp->head_dim, Hd = H * hd, KVd = Hkv * hd;
  /* 1/sqrt(head_dim), Gemma-2's query_pre_attn_scalar^-1/2 (a Python float, then fp32), or Granite's
   * attention_multiplier */
  const float scale = hp->attn_mult > 0     ? hp->attn_mult
                      : hp->attn_scalar > 0 ? (float)(1.0 / sqrt((double)hp->attn_scalar))
                                            : 1.0f / sqrtf((float)hd);
  const float cap   = hp->attn_softcap;
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < H; h++) {
      const int64_t g  = h / (H / Hkv);
      const float  *qh = w->q + b * T * Hd + h * hd;   /* (T, hd) stride Hd  */
      const float  *kg = w->k + b * T * KVd + g * hd;  /* (T, hd) stride KVd */
      const float  *vg = w->v + b * T * KVd + g * hd;  /* (T, hd) stride KVd */
      float        *oh = w->att + b * T * Hd + h * hd; /* (T, hd) stride Hd  */
      /* s (T, T) = scale * qh · kgᵀ */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)hd, scale, qh, (int)Hd, kg, (int)KVd,
                  0.0f, w->s, (int)T);
      for (int64_t i = 0; i < T; i++) { /* causal softmax of row i over j0 <= j <= i */
        float        *r  = w->s + i * T;
        const int64_t j0 = W > 0 && i >= W ? i - W + 1 : 0;
        if (w->alibi) /* BLOOM: slope_h times the key's position (the query's cancels in the softmax) */
          for (int64_t j = j0; j <= i; j++) r[j] += w->alibi[h] * (float)j;
        if (cap > 0) /* Gemma-2: cap·tanh(s/cap), before the mask */
          for (int64_t j = j0; j <= i; j++) r[j] = cap * tanhf(r[j] / cap);
        float mx = r[j0];
        for (int64_t j = j0 + 1; j <= i; j++) mx = r[j] > mx ? r[j] : mx;
        double sum = 0;
        for (int64_t j = j0; j <= i; j++) {
          r[j] = expf(r[j] - mx);
          sum += r[j];
        }
        float inv = (float)(1.0 / sum);
        for (int64_t j = 0; j < j0; j++) r[j] = 0.0f;
        for (int64_t j = j0; j <= i; j++) r[j] *= inv;
        for (int64_t j = i + 1; j < T; j++) r[j] = 0.0f;
      }
      /* oh (T, hd) = s (T, T) · vg (T, hd) */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)hd, (int)T, 1.0f, w->s, (int)T, vg, (int)KVd,
                  0.0f, oh, (int)Hd);
    }
}

static inline float act_apply(comp_act_kind a, float x)
{
  switch (a) {
  case COMP_ACT_SILU:
    return x / (1.0f + expf(-x));
  case COMP_ACT_RELU:
    return x > 0.0f ? x : 0.0f;
  case COMP_ACT_GELU:
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
  case COMP_ACT_GELU_TANH: /* torch: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
  case COMP_ACT_RELU2: /* transformers' ReLUSquaredActivation */
    return x > 0.0f ? x * x : 0.0f;
  case COMP_ACT_COUNT:
    break;
  }
  return x;
}

/* h (n, D) = norm(x) before the attention or the MLP, or x itself where the row has none (OLMo-2) */
static void pre_norm(const comp_arch_desc *a, float *h, const float *x, const float *w, const float *b, int64_t n,
                     int64_t D, float eps)
{
  if (a->no_pre_norm)
    memcpy(h, x, sizeof(float) * (size_t)(n * D));
  else
    norm_rows(a->norm, h, x, w, b, n, D, eps);
}

/* x (n) += o (n), or o times Granite's residual_multiplier */
static void residual_add(const comp_hparams *hp, float *x, const float *o, int64_t n)
{
  if (hp->residual_mult > 0)
    for (int64_t i = 0; i < n; i++) x[i] += o[i] * hp->residual_mult;
  else
    for (int64_t i = 0; i < n; i++) x[i] += o[i];
}

static void tap(const comp_taps *taps, comp_tap_point where, int layer, int dense, const float *x, int64_t n,
                int64_t width)
{
  if (taps && taps->fn) taps->fn(taps->ctx, where, layer, dense, x, n, width);
}

/* ---- the model ---------------------------------------------------------------------------------- */

comp_status comp_forward_embed(const comp_model *m, const int32_t *tok, int64_t B, int64_t T, float *x)
{
  const int64_t D     = m->hp.n_embd;
  const float   scale = (float)sqrt((double)D);
  COMP_CHECK(T <= m->hp.n_ctx, COMP_ERR_ARG, "sequence length %lld exceeds the model's maximum %lld", (long long)T,
             (long long)m->hp.n_ctx);
  for (int64_t b = 0; b < B; b++)
    for (int64_t p = 0; p < T; p++) {
      int32_t id = tok[b * T + p];
      COMP_CHECK(id >= 0 && id < m->hp.n_vocab, COMP_ERR_ARG, "token id %d outside the vocabulary (%lld)", id,
                 (long long)m->hp.n_vocab);
      float *row = x + (b * T + p) * D;
      COMP_CALL(comp_model_wide_rows(m, COMP_ROLE_TOK_EMBD, id, 1, row)); /* resident or on demand */
      if (m->embd_norm_w)                                                 /* BLOOM: word_embeddings_layernorm */
        norm_rows(m->arch->norm, row, row, m->embd_norm_w, m->embd_norm_b, 1, D, m->hp.norm_eps);
      if (m->arch->embd_scale) /* Gemma: times sqrt(D) as an fp32 tensor */
        for (int64_t i = 0; i < D; i++) row[i] *= scale;
      if (m->hp.embd_mult > 0) /* Granite: times embedding_multiplier */
        for (int64_t i = 0; i < D; i++) row[i] *= m->hp.embd_mult;
      if (m->pos_embd) {
        const float *pe = m->pos_embd + (p + m->arch->pos_offset) * D;
        for (int64_t i = 0; i < D; i++) row[i] += pe[i];
      }
    }
  return COMP_OK;
}

/* The layer's q_norm / k_norm (where it has them) on w->q (n, H·hd) and w->k (n, Hkv·hd): each head normalised
 * by the model's RMSNorm (Gemma's: times 1 + w; Qwen3, Gemma-3, HunYuan), or all heads at once (OLMo-2's
 * qk_norm_full: n rows of H·hd, of Hkv·hd) */
static void qk_norms(const comp_model *m, const comp_layer *ly, comp_fwd_ws *w, int64_t n)
{
  const comp_hparams   *hp = &m->hp;
  const comp_arch_desc *a  = m->arch;
  const comp_norm_kind  qk = a->norm == COMP_NORM_RMS_UNIT_OFFSET ? COMP_NORM_RMS_UNIT_OFFSET : COMP_NORM_RMS;
  const int64_t         qh = a->qk_norm_full ? 1 : hp->n_head, kh = a->qk_norm_full ? 1 : hp->n_head_kv;
  const int64_t         Hd = hp->n_head * hp->head_dim, KVd = hp->n_head_kv * hp->head_dim;
  if (ly->q_norm_w) norm_rows(qk, w->q, w->q, ly->q_norm_w, NULL, n * qh, Hd / qh, hp->norm_eps);
  if (ly->k_norm_w) norm_rows(qk, w->k, w->k, ly->k_norm_w, NULL, n * kh, KVd / kh, hp->norm_eps);
}

comp_status comp_forward_layer(const comp_model *m, const comp_layer *ly, float *x, int64_t B, int64_t T,
                               comp_fwd_ws *w, const comp_taps *taps)
{
  const comp_hparams   *hp = &m->hp;
  const comp_arch_desc *a  = m->arch;
  const int64_t         n = B * T, D = hp->n_embd, F = hp->n_ff;
  const int64_t         Hd = hp->n_head * hp->head_dim;
  const int             l  = ly->index;
  COMP_CHECK(n <= w->max_tok && T <= w->max_seq, COMP_ERR_INTERNAL, "forward scratch too small (%lld tokens)",
             (long long)n);
  tap(taps, COMP_TAP_LAYER_IN, l, -1, x, n, D);

  /* attention block: x += o(attn(rope(qn(q(h))), rope(kn(k(h))), v(h))),  h = norm(x) (OLMo-2: x), qn/kn:
   * per-head norms where the layer has them (OLMo-2: over all heads at once; else identity) */
  pre_norm(a, w->h, x, ly->attn_norm_w, ly->attn_norm_b, n, D, hp->norm_eps);
  tap(taps, COMP_TAP_DENSE_IN, l, COMP_DENSE_Q, w->h, n, D);
  tap(taps, COMP_TAP_DENSE_IN, l, COMP_DENSE_K, w->h, n, D);
  tap(taps, COMP_TAP_DENSE_IN, l, COMP_DENSE_V, w->h, n, D);
  comp_dense_apply(&ly->dense[COMP_DENSE_Q], w->h, n, w->q, w->gather);
  comp_dense_apply(&ly->dense[COMP_DENSE_K], w->h, n, w->k, w->gather);
  comp_dense_apply(&ly->dense[COMP_DENSE_V], w->h, n, w->v, w->gather);
  if (!a->qk_norm_after_rope) qk_norms(m, ly, w, n); /* Qwen3, Gemma-3, OLMo-2: before RoPE */
  /* no RoPE in SmolLM3's NoPE layers and Cohere2's and EXAONE 4's global ones */
  const bool rotates = ly->window > 0 || !a->rope_windowed_only || (a->rope_unwindowed_all && hp->sliding_window <= 0);
  if (hp->rope != COMP_ROPE_NONE && !ly->nope && rotates) {
    const bool local = w->lcos && ly->window > 0; /* Gemma-3's local layers: their own base, no scaling */
    if (!local && rope_long(hp, T) != w->rope_long) rope_tables(hp, w, T); /* longrope: the factors of T tokens */
    const float *rc = local ? w->lcos : w->rcos, *rs = local ? w->lsin : w->rsin;
    rope_apply(hp->rope, w->q, B, T, hp->n_head, hp->head_dim, hp->rope_dim, rc, rs);
    rope_apply(hp->rope, w->k, B, T, hp->n_head_kv, hp->head_dim, hp->rope_dim, rc, rs);
  }
  if (a->qk_norm_after_rope) qk_norms(m, ly, w, n); /* HunYuan: the rotated q and k */
  attention(hp, w, B, T, ly->window);
  tap(taps, COMP_TAP_DENSE_IN, l, COMP_DENSE_O, w->att, n, Hd);
  comp_dense_apply(&ly->dense[COMP_DENSE_O], w->att, n, w->o, w->gather);
  if (ly->attn_post_norm_w) /* Gemma-2, OLMo-2: the block's output normed before the residual add */
    norm_rows(a->norm, w->o, w->o, ly->attn_post_norm_w, NULL, n, D, hp->norm_eps);
  /* a parallel block's FFN reads the layer's input x: h = ffn_norm(x) (GPT-NeoX), or the attention's
   * h where the layer has one norm only (Phi-2) */
  if (hp->parallel && ly->ffn_norm_w) norm_rows(a->norm, w->h, x, ly->ffn_norm_w, ly->ffn_norm_b, n, D, hp->norm_eps);
  residual_add(hp, x, w->o, n * D);

  /* FFN block: x += down(act(gate(h)) * up(h))  or  x += down(act(up(h))),  h = norm(x) */
  if (!hp->parallel) pre_norm(a, w->h, x, ly->ffn_norm_w, ly->ffn_norm_b, n, D, hp->norm_eps);
  float *hid = w->f2; /* (n, F) input of down */
  if (a->ffn == COMP_FFN_GATED) {
    tap(taps, COMP_TAP_DENSE_IN, l, COMP_DENSE_GATE, w->h, n, D);
    tap(taps, COMP_TAP_DENSE_IN, l, COMP_DENSE_UP, w->h, n, D);
    comp_dense_apply(&ly->dense[COMP_DENSE_GATE], w->h, n, w->f1, w->gather);
    comp_dense_apply(&ly->dense[COMP_DENSE_UP], w->h, n, w->f2, w->gather);
    for (int64_t i = 0; i < n * F; i++) w->f2[i] = act_apply(a->act, w->f1[i]) * w->f2[i];
  } else {
    tap(taps, COMP_TAP_DENSE_IN, l, COMP_DENSE_UP, w->h, n, D);
    comp_dense_apply(&ly->dense[COMP_DENSE_UP], w->h, n, w->f2, w->gather);
    for (int64_t i = 0; i < n * F; i++) w->f2[i] = act_apply(a->act, w->f2[i]);
  }
  tap(taps, COMP_TAP_DENSE_IN, l, COMP_DENSE_DOWN, hid, n, F);
  comp_dense_apply(&ly->dense[COMP_DENSE_DOWN], hid, n, w->o, w->gather);
  if (ly->ffn_post_norm_w) norm_rows(a->norm, w->o, w->o, ly->ffn_post_norm_w, NULL, n, D, hp->norm_eps);
  residual_add(hp, x, w->o, n * D);
  tap(taps, COMP_TAP_LAYER_OUT, l, -1, x, n, D);
  return COMP_OK;
}

void comp_forward_final_norm(const comp_model *m, float *x, int64_t n)
{
  norm_rows(m->arch->norm, x, x, m->out_norm_w, m->out_norm_b, n, m->hp.n_embd, m->hp.norm_eps);
}

void comp_forward_logits(const comp_model *m, const float *x, int64_t n, float *logits)
{
  const int64_t D = m->hp.n_embd, V = m->hp.n_vocab;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)V, (int)D, 1.0f, x, (int)D, m->lm_head, (int)D,
              0.0f, logits, (int)V);
  if (m->lm_head_b) /* Phi-2: the head's bias */
    for (int64_t t = 0; t < n; t++)
      for (int64_t i = 0; i < V; i++) logits[t * V + i] += m->lm_head_b[i];
  if (m->hp.logit_scale > 0) /* Cohere: logits times logit_scale */
    for (int64_t i = 0; i < n * V; i++) logits[i] *= m->hp.logit_scale;
  if (m->hp.logit_div > 0) /* Granite: logits divided by logits_scaling */
    for (int64_t i = 0; i < n * V; i++) logits[i] /= m->hp.logit_div;
  const float cap = m->hp.final_softcap;
  if (cap > 0) /* Gemma-2: logits / cap, tanh, times cap */
    for (int64_t i = 0; i < n * V; i++) logits[i] = tanhf(logits[i] / cap) * cap;
}

comp_status comp_forward(comp_model *m, const int32_t *tok, int64_t B, int64_t T, float *logits, const comp_taps *taps)
{
  const int64_t n = B * T;
  comp_status   s = COMP_OK;
  comp_fwd_ws  *w = NULL;
  float        *x = malloc((size_t)(n * m->hp.n_embd) * sizeof(float));
  if (!x) return comp_error_set(COMP_ERR_NOMEM, "out of memory");
  if ((s = comp_fwd_ws_create(&m->hp, n, T, &w)) || (s = comp_forward_embed(m, tok, B, T, x))) goto out;
  for (int l = 0; l < m->hp.n_layer && !s; l++) {
    comp_layer *ly = NULL;
    if ((s = comp_model_layer_get(m, l, &ly))) break;
    s = comp_forward_layer(m, ly, x, B, T, w, taps);
    comp_model_layer_put(m, &ly);
  }
  if (!s) {
    comp_forward_final_norm(m, x, n);
    comp_forward_logits(m, x, n, logits);
  }
out:
  comp_fwd_ws_destroy(&w);
  free(x);
  return s;
}

double comp_forward_layer_flops(const comp_hparams *hp, int64_t B, int64_t T)
{
  const double n = (double)(B * T), D = (double)hp->n_embd, Hd = (double)(hp->n_head * hp->head_dim),
               KVd = (double)(hp->n_head_kv * hp->head_dim), F = (double)hp->n_ff;
  const int gated = comp_arch_get(hp->arch)->ffn == COMP_FFN_GATED;
  double    proj  = 2.0 * n * (D * Hd + 2 * D * KVd + Hd * D) + 2.0 * n * ((gated ? 2 : 1) * D * F + F * D);
  double    attn  = 2.0 * 2.0 * (double)B * (double)T * (double)T * Hd; /* scores + weighted sum, full square */
  return proj + attn;
}
