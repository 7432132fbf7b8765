/* prune.c - stages A and B of COMP, the baselines' layer plans, and the MPI driver (comp/prune.h). */
#include "comp/prune.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp/archive.h"
#include "comp/checkpoint.h"
#include "comp/dist.h"
#include "comp/forward.h"
#include "comp/log.h"
#include "comp/sha256.h"
#include "comp/util.h"
#include "comp/version.h"

static const char *method_names[COMP_METHOD_COUNT] = {"comp", "shortgpt", "wanda-sp", "magnitude"};

const char *comp_prune_method_name(comp_prune_method m) { return m < COMP_METHOD_COUNT ? method_names[m] : "?"; }

comp_status comp_prune_method_parse(const char *s, comp_prune_method *m)
{
  for (int i = 0; i < COMP_METHOD_COUNT; i++)
    if (strcmp(s, method_names[i]) == 0) {
      *m = (comp_prune_method)i;
      return COMP_OK;
    }
  return comp_error_set(COMP_ERR_ARG, "--method %s: unknown (comp, shortgpt, wanda-sp, magnitude)", s);
}

const char *comp_prune_phase_name(comp_prune_phase p)
{
  static const char *const names[COMP_PHASE_COUNT] = {"capture",    "wtw",   "fisher", "gram",
                                                      "importance", "solve", "compact"};
  return (unsigned)p < COMP_PHASE_COUNT ? names[p] : "?";
}

void comp_prune_opts_default(comp_prune_opts *o, int n_layer)
{
  memset(o, 0, sizeof *o);
  o->method        = COMP_METHOD_COMP;
  o->ratio         = 0.2;
  o->remove_layers = -1; /* the default n = 2, see comp_prune_opts */
  o->order         = COMP_ORDER_ITERATIVE;
  if (n_layer > 0) o->protect[0] = true;
  if (n_layer > 1) o->protect[1] = true;
  if (n_layer > 0 && n_layer <= 1024) o->protect[n_layer - 1] = true;
  o->importance    = COMP_IMP_COND;
  o->cond_eig      = COMP_EIG_LANCZOS;
  o->alloc         = COMP_ALLOC_TAU;
  o->inputs        = COMP_INPUTS_ORIGINAL;
  o->mask_tuning   = true;
  o->solver        = comp_mask_solver_at(0); /* lapack */
  o->ridge_eps     = 1e-6;
  o->p_max         = 0.9;
  o->step_div      = 128;
  o->tau_first     = 1e-6;
  o->tau_growth    = 1.5;
  o->tau_max       = 1.0;
  o->calib_samples = 10;
  o->calib_len     = 128;
  o->seed          = 0;
}

void comp_prune_result_free(comp_prune_result *r)
{
  free(r->removal_order);
  free(r->importance_iter);
  free(r->layer);
  free(r->calib_start);
  memset(r, 0, sizeof *r);
}

/* ---- stage A: Eq. 3 and the layer order ------------------------------------------------------ */

/* Stage A is data-parallel over the calibration sequences. Rank r holds the rows of its sequences
 * [s0, s1) (comp_dist_range) of every alive layer's input and forwards each sequence alone, as a
 * batch of one (T rows): a row's values then never depend on how the sequences are spread over the
 * ranks, as they would with one batched SGEMM, whose results depend on its row count. The
 * per-sequence cosine sums of Eq. 3 are gathered and added in sequence order, so every rank computes
 * the same importances, bit for bit, for any rank count, and takes the same removal decisions. */
typedef struct stage_a {
  MPI_Comm     comm;
  int64_t      S, T, D, s0, s1; /* S sequences of T tokens; this rank's [s0, s1)         */
  int         *counts, *displs; /* (size) sequences per rank and their offsets           */
  double      *cos_mine;        /* (s1 - s0) Σ_t cos(x_t, y_t) of this rank's sequences */
  double      *cos_all;         /* (S) of every sequence, gathered                       */
  comp_fwd_ws *ws;              /* one sequence                                          */
} stage_a;

static void stage_a_destroy(stage_a *a)
{
  free(a->counts);
  free(a->displs);
  free(a->cos_mine);
  free(a->cos_all);
  comp_fwd_ws_destroy(&a->ws);
  memset(a, 0, sizeof *a);
}

static comp_status stage_a_create(const comp_model *m, int64_t S, int64_t T, MPI_Comm comm, stage_a *a)
{
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  memset(a, 0, sizeof *a);
  a->comm = comm, a->S = S, a->T = T, a->D = m->hp.n_embd;
  comp_dist_range(S, rank, size, &a->s0, &a->s1);
  a->counts   = malloc(sizeof(int) * (size_t)size);
  a->displs   = malloc(sizeof(int) * (size_t)size);
  a->cos_mine = malloc(sizeof(double) * (size_t)(a->s1 - a->s0 + 1));
  a->cos_all  = malloc(sizeof(double) * (size_t)S);
  comp_status s =
      a->counts && a->displs && a->cos_mine && a->cos_all ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory");
  if (!s) comp_dist_counts(S, size, 1, a->counts, a->displs);
  if (!s && a->s1 > a->s0) s = comp_fwd_ws_create(&m->hp, T, T, &a->ws);
  if (s) stage_a_destroy(a);
  return s;
}

/* One layer on B sequences of T tokens, x (B*T, D) in place, each sequence alone (ws: one sequence):
 * the rows stage A and the --inputs pruned chain compute, whatever the batch. */
static comp_status forward_by_sequence(const comp_model *m, const comp_layer *ly, float *x, int64_t B, int64_t T,
                                       comp_fwd_ws *ws)
{
  comp_status s = COMP_OK;
  for (int64_t b = 0; !s && b < B; b++) s = comp_forward_layer(m, ly, x + b * T * m->hp.n_embd, 1, T, ws, NULL);
  return s;
}

/* This rank's rows of a layer input: (s1 - s0) * T rows of D floats. */
static int64_t stage_a_rows(const stage_a *a) { return (a->s1 - a->s0) * a->T; }

/* Collective. Run the alive layers from l0 on: rows[l0] must hold this rank's rows of layer l0's
 * input; fills rows[l] of every later alive layer and imp[l] (Eq. 3) of every alive layer from l0
 * on, the same on every rank. */
static comp_status pass_from(comp_model *m, stage_a *a, int l0, const bool *alive, float **rows, double *imp,
                             comp_progress *prog)
{
  const int64_t nr = stage_a_rows(a), D = a->D, T = a->T, L = m->hp.n_layer;
  float        *h = NULL; /* (nr, D) the residual stream of this rank's sequences */
  comp_status   s = COMP_OK;
  if (nr > 0 && !(h = malloc(sizeof(float) * (size_t)(nr * D))))
    s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  else if (nr > 0)
    memcpy(h, rows[l0], sizeof(float) * (size_t)(nr * D));
  for (int l = l0; l < L; l++) {
    if (!alive[l]) continue;
    if (!s && nr > 0 && l != l0) {
      if (!rows[l] && !(rows[l] = malloc(sizeof(float) * (size_t)(nr * D))))
        s = comp_error_set(COMP_ERR_NOMEM, "out of memory caching layer inputs");
      else
        memcpy(rows[l], h, sizeof(float) * (size_t)(nr * D));
    }
    comp_layer *ly = NULL;
    if (!s && nr > 0) s = comp_model_layer_get(m, l, &ly);
    if (!s && nr > 0) s = forward_by_sequence(m, ly, h, a->s1 - a->s0, T, a->ws);
    for (int64_t b = 0; !s && b < a->s1 - a->s0; b++) /* Eq. 3's sum of each sequence */
      a->cos_mine[b] = comp_eq3_cos_sum(rows[l] + b * T * D, h + b * T * D, T, D);
    if (ly) comp_model_layer_put(m, &ly);
    if ((s = comp_dist_agree(a->comm, s))) break;
    MPI_Allgatherv(a->cos_mine, (int)(a->s1 - a->s0), MPI_DOUBLE, a->cos_all, a->counts, a->displs, MPI_DOUBLE,
                   a->comm);
    imp[l] = comp_eq3_layer_importance(a->cos_all, a->S, T);
    comp_progress_step(prog, 1);
  }
  free(h);
  return s;
}

static int argmin_alive(const double *imp, const bool *alive, int L)
{
  int best = -1;
  for (int l = 0; l < L; l++)
    if (alive[l] && (best < 0 || imp[l] < imp[best])) best = l;
  return best;
}

comp_status comp_prune_layer_order(comp_model *m, const int32_t *tok, int64_t S, int64_t T, const comp_prune_opts *o,
                                   int n_remove, MPI_Comm comm, comp_prune_result *r, float **rows)
{
  const int     L     = (int)m->hp.n_layer;
  const int64_t D     = m->hp.n_embd;
  comp_status   s     = COMP_OK;
  stage_a       a     = {0};
  comp_progress prog  = {0};
  bool         *alive = malloc(sizeof(bool) * (size_t)L);
  double       *imp   = malloc(sizeof(double) * (size_t)L);
  for (int l = 0; l < L; l++) rows[l] = NULL;
  r->n_removed       = n_remove;
  r->removal_order   = calloc((size_t)(n_remove > 0 ? n_remove : 1), sizeof(int));
  r->importance_iter = malloc(sizeof(double) * (size_t)((n_remove + 1) * L));
  if (!alive || !imp || !r->removal_order || !r->importance_iter) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  if (!s) s = stage_a_create(m, S, T, comm, &a);
  const int64_t nr = stage_a_rows(&a);
  if (!s && nr > 0 && !(rows[0] = malloc(sizeof(float) * (size_t)(nr * D))))
    s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  if (!s && nr > 0) s = comp_forward_embed(m, tok + a.s0 * T, a.s1 - a.s0, T, rows[0]);
  if ((s = comp_dist_agree(comm, s))) goto done;
  for (int l = 0; l < L; l++) alive[l] = true, imp[l] = NAN;
  for (int64_t i = 0; i < (int64_t)(n_remove + 1) * L; i++) r->importance_iter[i] = NAN;
  {
    int size;
    MPI_Comm_size(comm, &size);
    comp_log("stage A: %lld calibration sequence(s) over %d rank(s), at most %lld per rank", (long long)S, size,
             (long long)((S + size - 1) / size));
  }
  /* layer passes: at most L per importance computation (an upper bound: a recomputation starts
   * after the removed layer) */
  comp_progress_start(&prog, "stage A (layer passes, at most)",
                      (int64_t)L * (1 + (o->order == COMP_ORDER_ITERATIVE ? n_remove : n_remove > 0)));
  if ((s = pass_from(m, &a, 0, alive, rows, imp, &prog))) goto done;
  comp_ckpt_fault("stage-a", comp_log_rank(), 0);
  memcpy(r->importance_iter, imp, sizeof(double) * (size_t)L);
  double *first = r->importance_iter; /* the one-shot order ranks by the first importances */
  for (int it = 0; it < n_remove; it++) {
    int victim           = argmin_alive(o->order == COMP_ORDER_ONESHOT ? first : imp, alive, L);
    alive[victim]        = false;
    r->removal_order[it] = victim;
    imp[victim]          = NAN;
    /* the next alive layer now receives the removed layer's input */
    int next = victim + 1;
    while (next < L && !alive[next]) next++;
    if (next < L) {
      free(rows[next]);
      rows[next] = rows[victim];
    } else {
      free(rows[victim]);
    }
    rows[victim] = NULL;
    comp_log("stage A: removed layer %d (importance %.6f)", victim, r->importance_iter[(int64_t)it * L + victim]);
    /* iterative: recompute the importances after the removed layer; one-shot: only at the end */
    bool recompute = o->order == COMP_ORDER_ITERATIVE || it == n_remove - 1;
    if (recompute && next < L && (s = pass_from(m, &a, next, alive, rows, imp, &prog))) goto done;
    if (recompute) memcpy(r->importance_iter + (int64_t)(it + 1) * L, imp, sizeof(double) * (size_t)L);
  }
  for (int l = 0; l < L; l++) {
    r->layer[l].removed      = !alive[l];
    r->layer[l].importance   = imp[l];
    r->layer[l].removal_step = -1;
  }
  for (int it = 0; it < n_remove; it++) r->layer[r->removal_order[it]].removal_step = it;
done:
  if (prog.what) comp_progress_end(&prog);
  stage_a_destroy(&a);
  free(alive);
  free(imp);
  return s;
}

/* ---- stage B: Eq. 10 -------------------------------------------------------------------------- */

comp_status comp_prune_layer_ratios(const comp_model *m, const comp_prune_opts *o, comp_prune_result *r)
{
  const int L      = (int)m->hp.n_layer;
  bool     *in_q   = calloc((size_t)L, sizeof(bool));
  double   *imp    = calloc((size_t)L, sizeof(double));
  double   *ratio  = calloc((size_t)L, sizeof(double));
  double    budget = o->ratio * (double)r->n_params - (double)r->n_removed * (double)r->n_layer_params;
  if (!in_q || !imp || !ratio) {
    free(in_q);
    free(imp);
    free(ratio);
    return comp_error_set(COMP_ERR_NOMEM, "out of memory");
  }
  for (int l = 0; l < L; l++) {
    in_q[l] = !r->layer[l].removed;
    if (o->method == COMP_METHOD_COMP) in_q[l] = in_q[l] && !o->protect[l];
    if (o->method == COMP_METHOD_SHORTGPT) in_q[l] = false;
    imp[l] = r->layer[l].importance;
  }
  comp_status s = COMP_OK;
  if (o->method == COMP_METHOD_WANDA_SP || o->method == COMP_METHOD_MAGNITUDE) {
    /* the same ratio everywhere so the whole model reaches p */
    int nq = 0;
    for (int l = 0; l < L; l++) nq += in_q[l];
    double pl = budget / ((double)nq * (double)r->n_layer_params);
    if (pl > o->p_max)
      s = comp_error_set(COMP_ERR_ARG, "--ratio %.3f needs %.1f%% of every layer (more than p_max %.2f)", o->ratio,
                         100 * pl, o->p_max);
    for (int l = 0; l < L; l++) ratio[l] = in_q[l] ? pl : 0;
  } else if (o->method == COMP_METHOD_COMP) {
    s = comp_eq10_layer_ratios(L, in_q, imp, budget, r->n_layer_params, o->p_max, ratio);
  }
  for (int l = 0; !s && l < L; l++) {
    r->layer[l].prunable = in_q[l];
    r->layer[l].target   = ratio[l];
  }
  free(in_q);
  free(imp);
  free(ratio);
  return s;
}

/* ---- accounting ------------------------------------------------------------------------------- */

/* Parameters no kept column reads any more once the layer's denses are compact (§6 dead rows):
 * o's pruned columns leave v rows unread when every query head of the kv group pruned that dim;
 * down's pruned columns leave gate and up rows unread. Counted with the rows' kept widths. */
static int64_t dead_rows(const comp_hparams *hp, const comp_layer *ly)
{
  int64_t           dead = 0;
  const comp_dense *o = &ly->dense[COMP_DENSE_O], *v = &ly->dense[COMP_DENSE_V];
  if (o->w && v->w && o->in_idx) {
    const int64_t hd = hp->head_dim, rep = hp->n_head / hp->n_head_kv, width = hp->n_head * hd;
    char         *kept = calloc((size_t)width, 1);
    if (kept) {
      for (int64_t i = 0; i < o->d_in; i++) kept[o->in_idx[i]] = 1;
      for (int64_t g = 0; g < hp->n_head_kv; g++)
        for (int64_t e = 0; e < hd; e++) {
          int used = 0;
          for (int64_t q = 0; q < rep && !used; q++) used = kept[(g * rep + q) * hd + e];
          if (!used) dead += v->d_in + (v->b ? 1 : 0);
        }
      free(kept);
    }
  }
  const comp_dense *dn = &ly->dense[COMP_DENSE_DOWN];
  if (dn->w && dn->in_idx) {
    int64_t unread = dn->d_in_full - dn->d_in;
    for (int j = COMP_DENSE_GATE; j <= COMP_DENSE_UP; j++)
      if (ly->dense[j].w) dead += unread * (ly->dense[j].d_in + (ly->dense[j].b ? 1 : 0));
  }
  return dead;
}

/* ---- the driver -------------------------------------------------------------------------------- */

/* Whether layer l is neuron-pruned in this run (kept, prunable, a positive target, not in the journal). */
static bool needs_stage_c(const comp_prune_result *r, const bool *in_journal, int l)
{
  return !r->layer[l].removed && r->layer[l].prunable && r->layer[l].target > 0 && !in_journal[l];
}

/* Balanced assignment of the kept layers to ranks. A prunable layer costs its dense factorisations
 * (the same for every layer), the others (and layers already in the resume journal, in_journal[l])
 * almost nothing: dealing the costly layers round-robin, then the rest continuing the deal, is
 * longest-processing-time first for these costs. */
static void assign_layers(const comp_prune_result *r, const bool *in_journal, int size, int *owner)
{
  int next = 0;
  for (int pass = 0; pass < 2; pass++)
    for (int l = 0; l < r->n_layer; l++)
      if (!r->layer[l].removed && (r->layer[l].prunable && !in_journal[l]) == (pass == 0)) owner[l] = next++ % size;
}

/* Resume, collective: this rank's rows of every kept layer's calibration input on the layer-pruned
 * model of the plan in r (one forward pass; stage A's iterations are not repeated). The rows are
 * those stage A computes, bit for bit. */
static comp_status plan_inputs(comp_model *m, const int32_t *tok, int64_t S, int64_t T, const comp_prune_result *r,
                               MPI_Comm comm, float **rows)
{
  const int     L     = (int)m->hp.n_layer;
  const int64_t D     = m->hp.n_embd;
  stage_a       a     = {0};
  comp_progress prog  = {0};
  bool         *alive = malloc(sizeof(bool) * (size_t)L);
  double       *imp   = malloc(sizeof(double) * (size_t)L);
  int           l0    = 0;
  comp_status   s     = alive && imp ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory");
  for (int l = 0; !s && l < L; l++) alive[l] = !r->layer[l].removed;
  while (!s && l0 < L && !alive[l0]) l0++;
  if (!s && l0 == L) s = comp_error_set(COMP_ERR_INTERNAL, "the plan removes every layer");
  if (!s) s = stage_a_create(m, S, T, comm, &a);
  const int64_t nr = stage_a_rows(&a);
  if (!s && nr > 0 && !(rows[l0] = malloc(sizeof(float) * (size_t)(nr * D))))
    s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  if (!s && nr > 0) s = comp_forward_embed(m, tok + a.s0 * T, a.s1 - a.s0, T, rows[l0]);
  if (!(s = comp_dist_agree(comm, s))) {
    comp_progress_start(&prog, "resume: layer inputs", L - r->n_removed);
    s = pass_from(m, &a, l0, alive, rows, imp, &prog);
    comp_progress_end(&prog);
  }
  stage_a_destroy(&a);
  free(alive);
  free(imp);
  return s;
}

/* Collective: the full calibration input (n, D) of a layer, whose rows stage A left spread over
 * the ranks (rows: this rank's cnt[rank] rows, NULL when none; cnt/dsp (size) every rank's row
 * count and offset), assembled on rank `root` in *full. row_type: one row of D floats. */
static comp_status gather_input(MPI_Comm comm, int64_t n, int64_t D, const int *cnt, const int *dsp,
                                MPI_Datatype row_type, const float *rows, int root, float **full)
{
  int rank;
  MPI_Comm_rank(comm, &rank);
  comp_status s = COMP_OK;
  if (rank == root && !(*full = malloc(sizeof(float) * (size_t)(n * D))))
    s = comp_error_set(COMP_ERR_NOMEM, "out of memory for a layer's calibration input");
  if ((s = comp_dist_agree(comm, s))) return s;
  MPI_Gatherv(rows, cnt[rank], row_type, rank == root ? *full : NULL, cnt, dsp, row_type, root, comm);
  return COMP_OK;
}

comp_status comp_prune_n_remove(const comp_prune_opts *o, int L, int64_t n_params, int64_t n_layer_params,
                                int *n_remove_out, int *asked_out)
{
  /* how many layers stage A removes: the request is checked against the layer count first (an
   * impossible request is an error), then clamped to what the parameter budget allows */
  comp_status s        = COMP_OK;
  int         n_remove = 0, n_protected = 0, asked = 0;
  /* (1e-9: a ratio written as exactly k layers' share must allow k layers despite rounding) */
  const int n_fit = (int)floor(o->ratio * (double)n_params / (double)n_layer_params + 1e-9);
  for (int l = 0; l < L; l++) n_protected += o->protect[l];
  if (o->method == COMP_METHOD_COMP) {
    const int n_struct = L - n_protected - 1 > 0 ? L - n_protected - 1 : 0; /* one layer must stay prunable */
    asked              = o->remove_layers;
    if (asked < 0) { /* the default: 2, or fewer on a model too small for it */
      asked = 2 < n_struct ? 2 : n_struct;
      if (asked < 2) comp_log("stage A: default n = 2 lowered to %d (%d layers, %d protected)", asked, L, n_protected);
    }
    if (asked > n_struct)
      s = comp_error_set(COMP_ERR_ARG,
                         "--remove-layers %d: the model has %d layers, %d protected, and at least one must stay "
                         "prunable, so at most %d can be removed",
                         asked, L, n_protected, n_struct);
    n_remove = asked < n_fit ? asked : n_fit;
    if (!s && n_remove < asked)
      comp_log("stage A: --remove-layers %d clamped to %d: %d layers (%.1f%% each) already exceed the %.1f%% budget",
               asked, n_remove, n_remove + 1, 100.0 * (double)n_layer_params / (double)n_params, 100 * o->ratio);
  } else if (o->method == COMP_METHOD_SHORTGPT) {
    n_remove = asked = n_fit > 0 ? n_fit : 1;
    if (n_fit == 0)
      comp_log("shortgpt: one layer (%.1f%% of the parameters) exceeds the %.1f%% target; removing one anyway",
               100.0 * (double)n_layer_params / (double)n_params, 100 * o->ratio);
    if (n_remove > L - 1)
      s = comp_error_set(COMP_ERR_ARG, "shortgpt: ratio %.3f would remove %d of %d layers", o->ratio, n_remove, L);
  }
  *n_remove_out = n_remove;
  *asked_out    = asked;
  return s;
}

/* What config.json adds to the weights that the forward pass depends on (model_sha256 hashes the
 * weight files alone): the norm epsilon, RoPE's base, rotated dims and scaling, the attention windows
 * (each layer's, hashed, when they differ), Gemma-2's caps and query scale, Gemma-3's local base, a
 * parallel block, Granite's multipliers, SmolLM3's NoPE layers. */
/* buf[*k...] += the formatted text (nothing once buf is full) */
static void key_add(char *buf, size_t n, int *k, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  if (*k >= 0 && (size_t)*k < n) *k += vsnprintf(buf + *k, n - (size_t)*k, fmt, ap);
  va_end(ap);
}

static void forward_hparams_key(const comp_model *m, char *buf, size_t n)
{
  const comp_hparams      *hp = &m->hp;
  const comp_rope_scaling *rs = &hp->rope_scaling;
  int                      k  = 0;
  key_add(buf, n, &k, "norm_eps %.9g rope %d theta %.9g dims %lld scaling %d %.17g %.17g %.17g %lld window %lld",
          (double)hp->norm_eps, (int)hp->rope, (double)hp->rope_theta, (long long)hp->rope_dim, (int)rs->kind,
          rs->factor, rs->low_freq_factor, rs->high_freq_factor, (long long)rs->original_ctx,
          (long long)hp->sliding_window);
  if (hp->parallel) key_add(buf, n, &k, " parallel");                                                   /* Phi, NeoX */
  if (hp->attn_softcap > 0 || hp->final_softcap > 0 || hp->attn_scalar > 0 || hp->rope_theta_local > 0) /* Gemma */
    key_add(buf, n, &k, " softcap %.9g %.9g scalar %.9g local theta %.9g", (double)hp->attn_softcap,
            (double)hp->final_softcap, (double)hp->attn_scalar, (double)hp->rope_theta_local);
  if (hp->embd_mult > 0 || hp->residual_mult > 0 || hp->attn_mult > 0) /* Granite */
    key_add(buf, n, &k, " mult %.9g %.9g %.9g", (double)hp->embd_mult, (double)hp->residual_mult,
            (double)hp->attn_mult);
  char        hex[65];
  comp_sha256 c;
  if (m->layer_window) { /* each layer's window, hashed */
    comp_sha256_init(&c);
    comp_sha256_update(&c, m->layer_window, sizeof(int64_t) * (size_t)hp->n_layer);
    comp_sha256_final(&c, hex);
    key_add(buf, n, &k, " windows %s", hex);
  }
  if (m->layer_nope) { /* SmolLM3: which layers have no RoPE, hashed */
    comp_sha256_init(&c);
    comp_sha256_update(&c, m->layer_nope, (size_t)hp->n_layer);
    comp_sha256_final(&c, hex);
    key_add(buf, n, &k, " nope %s", hex);
  }
  if (rs->kind == COMP_ROPE_SCALING_LONGROPE) { /* its factor lists, hashed */
    comp_sha256_init(&c);
    comp_sha256_update(&c, rs->short_factor, sizeof(double) * (size_t)rs->n_pairs);
    comp_sha256_update(&c, rs->long_factor, sizeof(double) * (size_t)rs->n_pairs);
    comp_sha256_final(&c, hex);
    key_add(buf, n, &k, " attention %.17g lists %s", rs->attention_factor, hex);
  }
  if (rs->kind == COMP_ROPE_SCALING_YARN)
    key_add(buf, n, &k, " attention %.17g beta %.17g %.17g truncate %d", rs->attention_factor, rs->beta_fast,
            rs->beta_slow, (int)rs->truncate);
}

comp_status comp_prune_run(comp_model *m, const char *model_sha256, const int32_t *tok, const comp_prune_opts *o,
                           const char *out_path, const char *options_json, MPI_Comm comm, comp_prune_result *r)
{
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const int     L = (int)m->hp.n_layer;
  const int64_t S = o->calib_samples, T = o->calib_len, n = S * T, D = m->hp.n_embd;
  comp_status   s          = COMP_OK;
  float       **inputs     = calloc((size_t)L, sizeof(float *)); /* (n, D) full inputs of my stage C layers */
  float       **rows       = calloc((size_t)L, sizeof(float *)); /* this rank's stage A rows of each input */
  int          *owner      = malloc(sizeof(int) * (size_t)L);
  comp_layer  **mine       = calloc((size_t)L, sizeof(comp_layer *));
  comp_archive *archive    = NULL;
  comp_ckpt    *ck         = NULL;
  bool         *in_journal = NULL;
  double        t0         = comp_now();
  r->n_layer               = L;
  r->layer                 = calloc((size_t)L, sizeof *r->layer);
  r->n_params              = comp_model_n_params(m);
  r->n_layer_params        = comp_model_layer_n_params(m, 0);
  if (!inputs || !rows || !owner || !mine || !r->layer) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  s = comp_dist_agree(comm, s);
  if (s) goto done;

  int n_remove = 0;
  s            = comp_prune_n_remove(o, L, r->n_params, r->n_layer_params, &n_remove, &r->n_removed_asked);
  s            = comp_dist_agree(comm, s);
  if (s) goto done;

  /* the resume journal, keyed by everything that determines the result */
  {
    char hk[640];
    forward_hparams_key(m, hk, sizeof hk);
    size_t klen = strlen(options_json ? options_json : "") + strlen(model_sha256) + strlen(hk) + 256;
    char  *key  = malloc(klen);
    if (!key) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
    if (!s)
      snprintf(key, klen, "%s\n%s\n%s\ncomp %s %s", options_json ? options_json : "", model_sha256, hk, COMP_VERSION,
               comp_git_commit());
    s = comp_dist_agree(comm, s);
    if (!s) s = comp_ckpt_open(out_path, key, o->resume, o->force, comm, &ck);
    free(key);
    if (s) goto done;
  }

  /* stage A on every rank (data-parallel over the calibration sequences) and B on rank 0, or the
   * journal's plan; then everyone learns the plan */
  bool planned = false;
  if (rank == 0 && o->resume) s = comp_ckpt_get_plan(ck, r, &planned);
  s = comp_dist_agree(comm, s);
  if (s) goto done;
  MPI_Bcast(&planned, (int)sizeof planned, MPI_BYTE, 0, comm);
  if (planned) {
    comp_log("resume: stages A and B from the journal (%d layer(s) removed)", r->n_removed);
  } else {
    comp_prune_opts oa = *o;
    if (o->method == COMP_METHOD_SHORTGPT) oa.order = COMP_ORDER_ONESHOT;
    s             = comp_prune_layer_order(m, tok, S, T, &oa, n_remove, comm, r, rows);
    r->seconds[0] = comp_now() - t0;
    if (!s && rank == 0) s = comp_prune_layer_ratios(m, o, r);
    r->seconds[1] = comp_now() - t0 - r->seconds[0];
    if (!s && rank == 0) s = comp_ckpt_put_plan(ck, r);
  }
  s = comp_dist_agree(comm, s);
  if (s) goto done;
  MPI_Bcast(&r->n_removed, 1, MPI_INT, 0, comm);
  if (!r->removal_order) r->removal_order = calloc((size_t)(r->n_removed > 0 ? r->n_removed : 1), sizeof(int));
  if (!r->importance_iter) r->importance_iter = malloc(sizeof(double) * (size_t)((r->n_removed + 1) * L));
  s = comp_dist_agree(comm, r->removal_order && r->importance_iter ? COMP_OK
                                                                   : comp_error_set(COMP_ERR_NOMEM, "out of memory"));
  if (s) goto done;
  MPI_Bcast(r->removal_order, r->n_removed, MPI_INT, 0, comm);
  MPI_Bcast(r->importance_iter, (r->n_removed + 1) * L, MPI_DOUBLE, 0, comm);
  MPI_Bcast(r->layer, (int)(sizeof(comp_prune_layer_info) * (size_t)L), MPI_BYTE, 0, comm);
  MPI_Bcast(r->seconds, 2, MPI_DOUBLE, 0, comm);
  if (planned) s = comp_dist_agree(comm, plan_inputs(m, tok, S, T, r, comm, rows));
  if (s) goto done;

  /* stage C: kept layers to ranks; each layer's input rows, spread over the ranks by stage A, are
   * gathered on the ranks that prune it */
  double     tc      = comp_now();
  const bool chained = o->inputs == COMP_INPUTS_PRUNED && o->method == COMP_METHOD_COMP;
  /* layers the journal already holds are loaded, not pruned again */
  in_journal = calloc((size_t)L, sizeof(bool));
  s          = comp_dist_agree(comm, in_journal ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory"));
  if (s) goto done;
  int n_done_before = 0;
  if (rank == 0 && o->resume)
    for (int l = 0; l < L; l++) n_done_before += in_journal[l] = !r->layer[l].removed && comp_ckpt_has_layer(ck, l);
  MPI_Bcast(in_journal, (int)(sizeof(bool) * (size_t)L), MPI_BYTE, 0, comm);
  if (n_done_before) comp_log("resume: %d finished layer(s) in the journal", n_done_before);
  /* --inputs pruned chains the layers (layer l is calibrated on the output of the pruned layers
   * before it), so rank 0 prunes them all in order; otherwise they are independent units. When
   * ranks outnumber the layers to prune, ranks form groups (contiguous blocks) that share a layer:
   * each member holds the layer and its input, the mask solves run on the group's communicator
   * (scalapack: its 2-D grid), and the group's first rank commits and writes the layer. */
  int n_units = 0;
  for (int l = 0; l < L; l++) n_units += needs_stage_c(r, in_journal, l);
  int K = 1; /* ranks per group */
  if (!chained && o->inputs == COMP_INPUTS_ORIGINAL)
    K = o->ranks_per_layer > 0 ? o->ranks_per_layer : (n_units > 0 && size > n_units ? size / n_units : 1);
  if (K > size) K = size;
  const int G    = chained ? 1 : size / K; /* groups */
  int       my_g = chained ? (rank == 0 ? 0 : -1) : -1, *leader = malloc(sizeof(int) * (size_t)G);
  int      *gown = malloc(sizeof(int) * (size_t)L);
  s              = comp_dist_agree(comm, leader && gown ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory"));
  if (s) {
    free(leader);
    free(gown);
    goto done;
  }
  for (int g = 0; g < G; g++) {
    int64_t lo, hi;
    comp_dist_range(size, g, G, &lo, &hi);
    leader[g] = chained ? 0 : (int)lo;
    if (!chained && rank >= lo && rank < hi) my_g = g;
  }
  MPI_Comm gcomm = MPI_COMM_NULL;
  MPI_Comm_split(comm, my_g < 0 ? MPI_UNDEFINED : my_g, rank, &gcomm);
  if (K > 1) comp_log("stage C: %d group(s) of %d+ ranks share the %d layer(s) to prune", G, K, n_units);
  assign_layers(r, in_journal, G, gown);
  for (int l = 0; l < L; l++) owner[l] = r->layer[l].removed ? -1 : leader[gown[l]];
  int first = 0; /* the first kept layer: --inputs pruned starts its chain from its input */
  while (first < L && r->layer[first].removed) first++;
  {
    MPI_Datatype row = MPI_DATATYPE_NULL; /* one token row (D floats) */
    int         *cnt = malloc(sizeof(int) * (size_t)size * 2), *dsp = cnt ? cnt + size : NULL; /* (size) rows */
    s = comp_dist_agree(comm, cnt ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory"));
    if (!s) comp_dist_counts(S, size, T, cnt, dsp); /* stage A's split of the sequences, in rows */
    if (!s) {
      MPI_Type_contiguous((int)D, MPI_FLOAT, &row);
      MPI_Type_commit(&row);
    }
    for (int l = 0; !s && l < L; l++) {
      int64_t lo = 0, hi = 0; /* the ranks that need layer l's input */
      if (needs_stage_c(r, in_journal, l)) {
        hi = 1;
        if (!chained) comp_dist_range(size, gown[l], G, &lo, &hi);
      } else if (chained && l == first) {
        hi = 1;
      }
      for (int q = (int)lo; !s && q < hi; q++) s = gather_input(comm, n, D, cnt, dsp, row, rows[l], q, &inputs[l]);
      free(rows[l]); /* stage A's rows leave as soon as they are assembled */
      rows[l] = NULL;
    }
    if (row != MPI_DATATYPE_NULL) MPI_Type_free(&row);
    free(cnt);
  }
  if (s) {
    if (gcomm != MPI_COMM_NULL) MPI_Comm_free(&gcomm);
    free(leader);
    free(gown);
    goto done;
  }
  int     n_mine = 0, n_done = 0;
  int64_t dead = 0; /* upstream rows no kept column reads (the stripped count) */
  for (int l = 0; l < L; l++)
    n_mine += !r->layer[l].removed && gown[l] == my_g && (owner[l] == rank || needs_stage_c(r, in_journal, l));
  comp_progress prog;
  float        *xp  = NULL; /* (n, D) hidden states of the model pruned so far (chained only) */
  comp_fwd_ws  *cws = NULL;
  if (chained && rank == 0) {
    xp = malloc(sizeof(float) * (size_t)(n * D));
    if (!xp || first == L)
      s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
    else
      memcpy(xp, inputs[first], sizeof(float) * (size_t)(n * D));
    if (!s) s = comp_fwd_ws_create(&m->hp, T, T, &cws);
  }
  for (int l = 0; l < L; l++) /* what only started the chain, and what the journal already holds */
    if (gown[l] != my_g || !needs_stage_c(r, in_journal, l)) {
      free(inputs[l]);
      inputs[l] = NULL;
    }
  comp_progress_start(&prog, "stage C (rank 0's layers)", n_mine);
  for (int l = 0; l < L && !s; l++) {
    if (r->layer[l].removed || gown[l] != my_g) continue;
    const bool lead = owner[l] == rank;
    if (!lead && !needs_stage_c(r, in_journal, l)) { /* the leader's alone; keep in step with it */
      if (K > 1) s = comp_dist_agree(gcomm, s);
      continue;
    }
    double lt = comp_now();
    s         = comp_model_layer_get(m, l, &mine[l]);
    if (!s && in_journal[l]) { /* from the journal */
      s = comp_ckpt_get_layer(ck, l, &r->layer[l], mine[l]);
      if (!s && xp) s = forward_by_sequence(m, mine[l], xp, S, T, cws);
      if (!s) dead += dead_rows(&m->hp, mine[l]);
      comp_layer_free(&mine[l]);
      comp_progress_step(&prog, 1);
      if (K > 1) s = comp_dist_agree(gcomm, s);
      continue;
    }
    /* the group agrees once per layer it prunes together, at the layer's end otherwise */
    const bool together = K > 1 && needs_stage_c(r, in_journal, l);
    if (together) s = comp_dist_agree(gcomm, s);
    if (s) {
      if (K > 1 && !together) s = comp_dist_agree(gcomm, s);
      break;
    }
    r->layer[l].rank = owner[l];
    r->layer[l].tau  = NAN;
    for (int j = 0; j < COMP_DENSE_COUNT; j++) {
      r->layer[l].kept[j]   = mine[l]->dense[j].w ? mine[l]->dense[j].d_in : -1;
      r->layer[l].pruned[j] = mine[l]->dense[j].w ? 0 : -1;
    }
    if (needs_stage_c(r, in_journal, l))
      s = comp_prune_layer(m, mine[l], inputs[l], xp, S, T, r->layer[l].target, o, K > 1 ? gcomm : MPI_COMM_SELF,
                           &r->layer[l]);
    if (!s && xp) s = forward_by_sequence(m, mine[l], xp, S, T, cws);
    r->layer[l].seconds = comp_now() - lt;
    if (!s && lead) s = comp_ckpt_put_layer(ck, l, &r->layer[l], mine[l]); /* committed: a resume keeps it */
    /* bounded memory: the layer and its input leave; the archive is written from the journal */
    if (!s && lead) dead += dead_rows(&m->hp, mine[l]);
    comp_layer_free(&mine[l]);
    free(inputs[l]);
    inputs[l] = NULL;
    comp_progress_step(&prog, 1);
    if (!s && lead) comp_ckpt_fault("stage-c", rank, ++n_done);
    if (K > 1) s = comp_dist_agree(gcomm, s);
  }
  comp_progress_end(&prog);
  if (gcomm != MPI_COMM_NULL) MPI_Comm_free(&gcomm);
  free(leader);
  free(gown);
  free(xp);
  comp_fwd_ws_destroy(&cws);
  s = comp_dist_agree(comm, s);
  if (s) goto done;
  r->seconds[2] = comp_now() - tc;

  /* everyone learns every layer's outcome (owners hold them) */
  for (int l = 0; l < L; l++)
    if (!r->layer[l].removed) MPI_Bcast(&r->layer[l], (int)sizeof(comp_prune_layer_info), MPI_BYTE, owner[l], comm);
  int64_t removed_cols = 0;
  for (int l = 0; l < L; l++) {
    if (r->layer[l].removed) continue;
    for (int j = 0; j < COMP_DENSE_COUNT; j++)
      if (r->layer[l].pruned[j] > 0) {
        int64_t d_out, d_in_full;
        comp_dense_shape(&m->hp, (comp_dense_id)j, &d_out, &d_in_full);
        removed_cols += r->layer[l].pruned[j] * d_out;
      }
  }
  MPI_Allreduce(MPI_IN_PLACE, &dead, 1, MPI_INT64_T, MPI_SUM, comm);
  r->removed_nominal  = (int64_t)r->n_removed * r->n_layer_params + removed_cols;
  r->removed_stripped = r->removed_nominal + dead;

  /* one archive, written by all ranks */
  double   tw     = comp_now();
  int      n_kept = 0, *orig = malloc(sizeof(int) * (size_t)L);
  int64_t *kept = malloc(sizeof(int64_t) * (size_t)L * COMP_DENSE_COUNT);
  if (!orig || !kept) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  for (int l = 0; !s && l < L; l++) {
    if (r->layer[l].removed) continue;
    orig[n_kept] = l;
    for (int j = 0; j < COMP_DENSE_COUNT; j++) kept[(int64_t)n_kept * COMP_DENSE_COUNT + j] = r->layer[l].kept[j];
    n_kept++;
  }
  s = comp_dist_agree(comm, s);
  if (!s) s = comp_dist_agree(comm, comp_archive_create(out_path, comm, COMP_VERSION, comp_git_commit(), &archive));
  if (!s) s = comp_dist_agree(comm, comp_archive_put_source(archive, m, model_sha256));
  if (!s) s = comp_dist_agree(comm, comp_archive_put_globals(archive, m));
  if (!s) s = comp_dist_agree(comm, comp_archive_define_layers(archive, m, n_kept, orig, kept));
  for (int pos = 0; !s && pos < n_kept; pos++) {
    comp_status ls = COMP_OK;
    const int   l  = orig[pos];
    if (owner[l] == rank) { /* one layer at a time, back from the journal */
      ls = comp_model_layer_get(m, l, &mine[l]);
      if (!ls) ls = comp_ckpt_get_layer(ck, l, &r->layer[l], mine[l]);
      if (!ls) ls = comp_archive_write_layer(archive, pos, mine[l]);
      comp_layer_free(&mine[l]);
    }
    if (ls) s = ls;
  }
  s             = comp_dist_agree(comm, s);
  r->seconds[3] = comp_now() - tw;
  if (!s) {
    /* the run record: what the analysis needs, as datasets under /prune */
    int64_t dimL[1] = {L}, dimI[2] = {r->n_removed + 1, L}, dimR[1] = {r->n_removed}, dimC[1] = {S},
            dimLD[2] = {L, COMP_DENSE_COUNT}, dimP[1] = {4};
    double  *col = malloc(sizeof(double) * (size_t)L * 5);
    int64_t *ic  = malloc(sizeof(int64_t) * (size_t)L * (COMP_DENSE_COUNT * 2 + 2) +
                          sizeof(int64_t) * (size_t)(r->n_removed + S + 1));
    if (!col || !ic) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
    s = comp_dist_agree(comm, s);
    if (!s) {
      double  *tgt = col, *ach = col + L, *tau = col + 2 * L, *imp = col + 3 * L, *sec = col + 4 * L;
      int64_t *pc = ic, *kc = ic + (int64_t)L * COMP_DENSE_COUNT, *rk = kc + (int64_t)L * COMP_DENSE_COUNT,
              *rm = rk + L, *ord = rm + L, *cal = ord + r->n_removed;
      for (int l = 0; l < L; l++) {
        tgt[l] = r->layer[l].target, ach[l] = r->layer[l].achieved, tau[l] = r->layer[l].tau;
        imp[l] = r->layer[l].importance, sec[l] = r->layer[l].seconds;
        rk[l] = r->layer[l].removed ? -1 : r->layer[l].rank; /* who pruned it (a resumed run: maybe an earlier one) */
        rm[l] = r->layer[l].removed ? r->layer[l].removal_step : -1;
        for (int j = 0; j < COMP_DENSE_COUNT; j++) {
          pc[l * COMP_DENSE_COUNT + j] = r->layer[l].removed ? -1 : r->layer[l].pruned[j];
          kc[l * COMP_DENSE_COUNT + j] = r->layer[l].removed ? -1 : r->layer[l].kept[j];
        }
      }
      for (int i = 0; i < r->n_removed; i++) ord[i] = r->removal_order[i];
      for (int64_t i = 0; i < S; i++) cal[i] = r->calib_start ? r->calib_start[i] : -1;
      double phase[4] = {r->seconds[0], r->seconds[1], r->seconds[2], r->seconds[3]};
      struct {
        const char *name;
        int         nd;
        int64_t    *dims;
        double     *data;
      } f64[] = {
          {"/prune/layer_target_ratio", 1, dimL, tgt}, {"/prune/layer_achieved_ratio", 1, dimL, ach},
          {"/prune/layer_tau", 1, dimL, tau},          {"/prune/layer_importance", 1, dimL, imp},
          {"/prune/layer_seconds", 1, dimL, sec},      {"/prune/importance_iterations", 2, dimI, r->importance_iter},
          {"/prune/phase_seconds", 1, dimP, phase}};
      struct {
        const char *name;
        int         nd;
        int64_t    *dims;
        int64_t    *data;
      } i64[] = {{"/prune/pruned_columns", 2, dimLD, pc}, {"/prune/kept_columns", 2, dimLD, kc},
                 {"/prune/layer_rank", 1, dimL, rk},      {"/prune/removal_step", 1, dimL, rm},
                 {"/prune/removal_order", 1, dimR, ord},  {"/prune/calib_start", 1, dimC, cal}};
      for (size_t i = 0; !s && i < sizeof f64 / sizeof f64[0]; i++)
        s = comp_dist_agree(comm, comp_archive_put_f64(archive, f64[i].name, f64[i].nd, f64[i].dims, f64[i].data));
      for (size_t i = 0; !s && i < sizeof i64 / sizeof i64[0]; i++)
        s = comp_dist_agree(comm, comp_archive_put_i64(archive, i64[i].name, i64[i].nd, i64[i].dims, i64[i].data));
      struct {
        const char *name;
        double      v;
      } attrs[] = {{"ratio_target", o->ratio},
                   {"ratio_achieved", (double)r->removed_nominal / (double)r->n_params},
                   {"ratio_achieved_stripped", (double)r->removed_stripped / (double)r->n_params},
                   {"n_params", (double)r->n_params},
                   {"n_layer_params", (double)r->n_layer_params},
                   {"removed_params", (double)r->removed_nominal},
                   {"removed_params_stripped", (double)r->removed_stripped},
                   {"n_removed_layers", (double)r->n_removed},
                   {"n_removed_layers_asked", (double)r->n_removed_asked},
                   {"ranks", (double)size},
                   {"layers_from_journal", (double)n_done_before},
                   {"ranks_per_layer", (double)K}};
      for (size_t i = 0; !s && i < sizeof attrs / sizeof attrs[0]; i++)
        s = comp_dist_agree(comm, comp_archive_put_attr_f64(archive, "/prune", attrs[i].name, attrs[i].v));
      const char *job = getenv("SLURM_JOB_ID");
      if (!s)
        s = comp_dist_agree(comm,
                            comp_archive_put_attr_str(archive, "/prune", "method", comp_prune_method_name(o->method)));
      if (!s)
        s = comp_dist_agree(
            comm, comp_archive_put_attr_str(archive, "/prune", "options_json", options_json ? options_json : "{}"));
      if (!s) s = comp_dist_agree(comm, comp_archive_put_attr_str(archive, "/prune", "slurm_job_id", job ? job : ""));
      const struct {
        const char *name, *v;
      } prov[] = {{"slurm_array_job_id", getenv("SLURM_ARRAY_JOB_ID")},
                  {"slurm_array_task_id", getenv("SLURM_ARRAY_TASK_ID")},
                  {"sweep_cell", o->sweep_cell},
                  {"sweep_jobs", o->sweep_jobs}};
      for (size_t i = 0; !s && i < sizeof prov / sizeof prov[0]; i++)
        s = comp_dist_agree(comm,
                            comp_archive_put_attr_str(archive, "/prune", prov[i].name, prov[i].v ? prov[i].v : ""));
      if (!s) {
        /* peak RSS per rank */
        double  rss = (double)comp_peak_rss(), *all = rank == 0 ? malloc(sizeof(double) * (size_t)size) : NULL;
        int64_t dimS[1] = {size};
        s = comp_dist_agree(comm, rank == 0 && !all ? comp_error_set(COMP_ERR_NOMEM, "out of memory") : COMP_OK);
        if (!s) MPI_Gather(&rss, 1, MPI_DOUBLE, all, 1, MPI_DOUBLE, 0, comm);
        if (!s) s = comp_dist_agree(comm, comp_archive_put_f64(archive, "/prune/peak_rss_bytes", 1, dimS, all));
        free(all);
      }
    }
    free(col);
    free(ic);
  }
  free(orig);
  free(kept);
  if (archive) {
    if (!s) comp_ckpt_fault("write", rank, 0);
    comp_status cs = comp_archive_close(&archive, s == COMP_OK);
    if (!s) s = comp_dist_agree(comm, cs);
  }
  if (!s) s = comp_ckpt_finish(&ck); /* the archive is complete: the journal has served */
done:
  comp_ckpt_close(&ck); /* on failure the journal stays for --resume */
  free(in_journal);
  for (int l = 0; inputs && l < L; l++) free(inputs[l]);
  for (int l = 0; rows && l < L; l++) free(rows[l]);
  free(rows);
  for (int l = 0; mine && l < L; l++) comp_layer_free(&mine[l]);
  free(inputs);
  free(owner);
  free(mine);
  return s;
}
