/* cost.c - the predicted memory and work of a pruning run (see comp/cost.h). Each term mirrors an
 * allocation in src/prune.c, src/prune_layer.c, src/prune_math.c or src/forward.c; keep them in
 * step when those change (tests/e2e/test_dry_run.py compares the prediction with measured peaks). */
#include "comp/cost.h"

#include "comp/forward.h"
#include "comp/masksolve.h"

#include <math.h>
#include <string.h>

#define F32        4.0
#define F64        8.0
#define GRAM_CHUNK 8388608.0 /* doubles of comp_gram_acc's staging buffer (src/prune_math.c) */
#define GRAM_PANEL 256.0     /* rows of a Gram panel (src/prune_layer.c)                      */

/* comp_fwd_ws_create(hp, n, T): the forward workspace (src/forward.c). */
static double fwd_ws_bytes(const comp_hparams *hp, double n, double T)
{
  const double D = (double)hp->n_embd, Hd = (double)(hp->n_head * hp->head_dim),
               KVd = (double)(hp->n_head_kv * hp->head_dim), F = (double)hp->n_ff;
  double dmax = D > Hd ? D : Hd;
  dmax        = dmax > F ? dmax : F;
  return F32 * (2 * n * D + 2 * n * Hd + 2 * n * KVd + T * T + 2 * n * F + n * dmax + 2 * T * (hp->head_dim / 2 + 1));
}

/* comp_gram_acc's staging rows × d doubles (rows = max(64, chunk/d), at most the matrix's rows). */
static double staging_bytes(double rows, double d)
{
  double r = floor(GRAM_CHUNK / d);
  r        = r < 64 ? 64 : r;
  return F64 * (r < rows ? r : rows) * d;
}

/* Steps of a dense's variance profile and the doubles of its stored masks (src/prune_layer.c). */
static void profile(double d, int step_div, double *n_steps, double *mask_doubles)
{
  double step   = round(d / step_div);
  step          = step < 1 ? 1 : step;
  double nmax   = floor((d - step) / step);
  *n_steps      = nmax;
  *mask_doubles = nmax * d - step * nmax * (nmax + 1) / 2;
}

comp_status comp_prune_cost_estimate(const comp_hparams *hp, const comp_prune_opts *o, int ranks, double calib_bytes,
                                     double baseline, comp_prune_cost *c)
{
  memset(c, 0, sizeof *c);
  COMP_CHECK(ranks >= 1, COMP_ERR_ARG, "ranks must be >= 1");
  const int    L = (int)hp->n_layer;
  const double S = o->calib_samples, T = (double)o->calib_len, n = S * T, D = (double)hp->n_embd;
  c->ranks        = ranks;
  c->layer_params = comp_hparams_layer_params(hp);
  c->n_params     = comp_hparams_n_params(hp);
  int asked;
  COMP_CALL(comp_prune_n_remove(o, L, c->n_params, c->layer_params, &c->n_remove, &asked));
  int n_protected = 0;
  for (int l = 0; l < L && l < 1024; l++) n_protected += o->protect[l];
  const int kept          = L - c->n_remove;
  c->n_prunable           = o->method == COMP_METHOD_SHORTGPT ? 0 : kept - n_protected > 0 ? kept - n_protected : 0;
  c->layers_per_rank      = (c->n_prunable + ranks - 1) / ranks;
  const int kept_per_rank = (kept + ranks - 1) / ranks;

  /* every rank: the model-wide tensors but the token embedding and the head, which stay on disk
   * (comp_model_load_wide ON_DEMAND: rows read as tokens need them, streamed into the archive in
   * 4 MB blocks), and the calibration ids (about one 4-byte id per 4 bytes) */
  const double embd_head = (double)hp->n_vocab * (double)hp->n_embd * (hp->tied ? 1 : 2);
  c->mem_model_wide      = F32 * ((double)(c->n_params - (int64_t)L * c->layer_params) - embd_head);
  c->mem_calib           = calib_bytes;

  /* one layer being pruned */
  const double layer = F32 * (double)c->layer_params, x = F32 * n * D, ws = fwd_ws_bytes(hp, T, T);
  double       di = 0, masks = 0, analysis = 0, per_layer_flops = 0;
  const bool   cond          = o->importance == COMP_IMP_COND || o->importance == COMP_IMP_COND_FISHER;
  const bool   pruned_inputs = o->inputs == COMP_INPUTS_PRUNED;
  /* ranks sharing a layer (src/prune.c) and whether OBS then runs on the solver's distributed factor */
  const double group    = o->ranks_per_layer > 0                       ? o->ranks_per_layer
                          : c->n_prunable > 0 && ranks > c->n_prunable ? (double)(ranks / c->n_prunable)
                                                                       : 1.0;
  const bool   obs_dist = o->importance == COMP_IMP_OBS && group > 1 && o->solver && o->solver->diag_inv;
  /* ... and whether the back-end then builds G in its shares (no whole G on any rank) */
  const bool shares   = comp_prune_grams_in_shares(o, (int)group, o->inputs == COMP_INPUTS_ORIGINAL);
  const bool obs_own  = shares && o->importance == COMP_IMP_OBS;
  const bool cond_own = shares && cond; /* WᵀW and every Fisher sample's Gram in shares too */
  for (int j = 0; j < COMP_DENSE_COUNT; j++) {
    if (!comp_hparams_has_dense(hp, (comp_dense_id)j)) continue;
    int64_t dout64, d64;
    comp_dense_shape(hp, (comp_dense_id)j, &dout64, &d64);
    const double d = (double)d64, d_out = (double)dout64;
    if (d > (double)c->d_max) c->d_max = d64;
    /* the forward hands q, k, v one buffer and gate, up another: captured once (src/prune_layer.c) */
    const bool shared =
        j == COMP_DENSE_K || j == COMP_DENSE_V || (j == COMP_DENSE_UP && comp_hparams_has_dense(hp, COMP_DENSE_GATE));
    if (!shared) di += F32 * n * d;
    double steps, md;
    profile(d, o->step_div, &steps, &md);
    masks += F64 * md;
    /* (d, d) matrices alive at once (src/prune_layer.c analyse_dense), the most over its phases: G
     * alone — built by row panels (one panel of WᵀW rows + the staging buffer beside it), used in
     * place by the importance and factored in place by lapack; WᵀW, packed (half a matrix), beside
     * a Fisher sample and then G with the COND kinds or X′ ≠ X, and X′Xᵀ too with X′ ≠ X; in the
     * solve, scalapack's block-cyclic share of the factor beside G on a group of 2 or more (on a
     * 1x1 grid it factors G in place, as lapack does) */
    const double panel = F64 * GRAM_PANEL * d + staging_bytes(d_out > n ? d_out : n, d);
    const double build = 1 + (cond || pruned_inputs ? 0.5 : 0) + (pruned_inputs ? 1 : 0);
    const double solve = 1 + (o->solver && strcmp(o->solver->name, "scalapack") == 0 && group > 1 ? 1 / group : 0);
    double       a     = (build > solve ? build : solve) * F64 * d * d + panel;
    if (o->solver && strcmp(o->solver->name, "petsc") == 0) {
      /* G + f64 X′ (n, d) and Wᵀ (d, d_out) + an (n, d) product buffer + ~3 LSQR vectors of the
       * tall problem's n·d_out rows (src/masksolve_petsc.c, one rank holding all token rows) */
      double p = F64 * (d * d + 2 * n * d + d * d_out + 3 * n * d_out);
      a        = a > p ? a : p;
    }
    if (obs_own || cond_own) {
      /* the group's share q = d²/group of G (src/masksolve_scalapack.c): built beside a staging
       * buffer (<= 64 MiB) and an XᵀX panel (256 columns of its rows); twice while it is reordered
       * to the keep order, beside the fetch buffers (44 bytes an entry). COND: WᵀW's share beside
       * G's through the Fisher samples and the last regram, and Lanczos' basis (steps × d) */
      const double q = F64 * d * d / group, stage = F64 * d * (d_out > n ? d_out : n);
      double       move = d * d / group / 16; /* entries a round: a 16th of the share, in 2^16..2^21 */
      move              = 44.0 * (move > 2097152.0 ? 2097152.0 : move < 65536.0 ? 65536.0 : move);
      const double mk   = (stage < 67108864.0 ? stage : 67108864.0) + F64 * GRAM_PANEL * d;
      const double lz   = F64 * (d < COMP_LANCZOS_STEPS ? d : COMP_LANCZOS_STEPS) * d;
      a                 = obs_own ? fmax(q + mk, 2 * q + move) : 2 * q + fmax(mk, fmax(move, lz));
    }
    analysis = analysis > a ? analysis : a;
    /* work per phase: WᵀW and X′ᵀX′ (rows·d² each: syrk, or DGEMMs on the lower row panels; WᵀW
     * counts as Gram work when it is made panel by panel inside G's), Fisher samples and importance
     * eigen-solves (tridiagonal reduction 4/3·d³ each), OBS (potrf + potri: d³; on a group with a
     * distributed factor potrf + trtri: 2/3·d³), the factor (d³/3) and the prefix solves (2k² per step) */
    double *ph = c->flops_phase;
    ph[cond || pruned_inputs ? COMP_PHASE_WTW : COMP_PHASE_GRAM] += d_out * d * d;
    ph[COMP_PHASE_GRAM] += n * d * d;
    /* one κ: a tridiagonal reduction (4/3·d³), or with lanczos a Cholesky factor (d³/3) and, counted
     * at 64 steps each, the Lanczos matrix-vector products (2d²) and triangular solve pairs (4d²);
     * the importance's (COND) on a group with apply_inv: the same work, its factor and solves on the
     * group's grid beside G (memory: as the solve's share, counted below) */
    const double eig = o->cond_eig == COMP_EIG_LANCZOS ? d * d * d / 3 + 64 * 6 * d * d : (4.0 / 3.0) * d * d * d;
    if (cond) ph[COMP_PHASE_FISHER] += S * T * d * d + S * eig;
    if (o->importance == COMP_IMP_COND) ph[COMP_PHASE_IMPORTANCE] += eig;
    if (o->importance == COMP_IMP_OBS) ph[COMP_PHASE_IMPORTANCE] += (obs_dist ? 2.0 / 3.0 : 1.0) * d * d * d;
    if (o->mask_tuning || o->alloc == COMP_ALLOC_TAU) {
      double step = round(d / o->step_div);
      step        = step < 1 ? 1 : step;
      ph[COMP_PHASE_SOLVE] += d * d * d / 3;
      for (double i = 1; i <= steps; i++) ph[COMP_PHASE_SOLVE] += 2 * (d - i * step) * (d - i * step);
    }
  }
  const double fwd = comp_forward_layer_flops(hp, o->calib_samples, o->calib_len); /* one layer pass */
  c->flops_phase[COMP_PHASE_CAPTURE] = fwd;                                        /* the capture pass */
  for (int p = 0; p < COMP_PHASE_COUNT; p++) per_layer_flops += c->flops_phase[p];
  c->mem_analysis = analysis;
  /* the capture pass (one sequence's workspace and residual stream: it runs a sequence at a time)
   * and the analysis are not alive at once */
  const double capture = F32 * T * D /* h */ + ws, after = analysis + masks;
  c->mem_stage_c_work = layer + x + di + (capture > after ? capture : after);
  /* the inputs of the layers a rank prunes arrive before its first layer starts */
  c->mem_stage_c_rank0 = c->mem_stage_c_work + (kept_per_rank - 1) * x;
  c->mem_stage_c_other = ranks > 1 ? c->mem_stage_c_work + (kept_per_rank - 1) * x : 0;
  /* stage A, every rank (rank 0 the busiest): its rows of every layer's input (the sequences are
   * dealt out, at most ceil(S/ranks) each), its residual stream, a one-sequence workspace, one
   * layer; then, while the inputs are assembled, the rows not yet gathered beside the full inputs of
   * the layers it prunes */
  const double xr     = F32 * ceil(S / ranks) * T * D;
  const double gather = L * xr + kept_per_rank * x;
  c->mem_stage_a      = L * xr + xr + fwd_ws_bytes(hp, T, T) + layer;
  c->mem_stage_a      = c->mem_stage_a > gather ? c->mem_stage_a : gather;
  const double common = baseline + c->mem_model_wide + c->mem_calib;
  c->peak_rank0       = common + (c->mem_stage_a > c->mem_stage_c_rank0 ? c->mem_stage_a : c->mem_stage_c_rank0);
  c->peak_other =
      ranks > 1 ? common + (c->mem_stage_a > c->mem_stage_c_other ? c->mem_stage_a : c->mem_stage_c_other) : 0;
  /* work */
  const double passes =
      o->method == COMP_METHOD_COMP && o->order == COMP_ORDER_ITERATIVE ? L * (1.0 + c->n_remove) : 2.0 * L;
  c->flops_stage_a           = passes * fwd;
  c->stage_a_seqs_per_rank   = (int)ceil(S / ranks);
  c->flops_stage_a_per_rank  = c->flops_stage_a * c->stage_a_seqs_per_rank / S;
  c->flops_stage_c_per_layer = per_layer_flops;
  c->flops_stage_c           = c->n_prunable * per_layer_flops;
  return COMP_OK;
}
