/*
 * comp/prune_math.h - the numerics of COMP pruning, one function per paper concept (ALGORITHM.md §3-§5).
 *
 * Pure math: no model, no MPI, no I/O. Inputs are activations/weights in float (row-major, token or
 * output row first); everything derived is float64. Symmetric (d,d) matrices are stored full, both
 * triangles, unless named packed (the lower triangle alone, comp_packed_row). Nothing here prints or
 * exits; failures return a comp_status with a message (comp/error.h).
 *
 * Letters: n token rows, D residual width, L layers, d = d_in of one dense, d_out its output width.
 * Paper notation (ALGORITHM.md §1) uses X (d_in, N); here activations arrive as rows, X (n, d), so the
 * paper's X'Xᵀ is our X'ᵀX: XpX_kj = Σ_t x'_tk x_tj.
 *
 * Per dense (X' = X unless the driver chooses otherwise):
 *
 *     comp_wtw(WtW, W, d_out, d);                       WtW (d,d)
 *     comp_gram_acc(XpXp, Xp, n, d); comp_cross_acc(XpX, Xp, X, n, d);
 *     comp_eq5_gram(G, WtW, XpXp, d); comp_eq5_rhs(c, WtW, XpX, d);
 *     comp_fisher_init(&f, d); for each sample s: comp_fisher_add(&f, G_s, eps);   G_s from sample s
 *     comp_neuron_importance(COMP_IMP_COND, d, G, diag(WtW), diag(XpXp), &f, eps, score);
 *     comp_keep_order(score, d, perm);
 *     comp_masktune_create(G, c, perm, d, eps, &mt);     (or any back-end of comp/masksolve.h)
 *     for k = d, d - s, ...: comp_masktune_solve(mt, k, m, &ok); comp_mask_variance(m, k) ...
 *     comp_masktune_destroy(&mt); comp_fisher_free(&f);
 */
#ifndef COMP_PRUNE_MATH_H
#define COMP_PRUNE_MATH_H

#include <stdbool.h>
#include <stdint.h>

#include "comp/error.h"

/* ---- layer-grained: importance and per-layer ratios ------------------------------------------- */

/* Eq. 3: layer importance I = 1 - mean over the calibration tokens of cos(x_t, y_t), x the layer's
 * input and y its output, in two steps so that it does not depend on how the sequences are spread
 * over ranks:
 *   comp_eq3_cos_sum: Σ_t cos(x_t, y_t) over n rows of x, y (n, D) float row-major, accumulated in
 *     double (one sequence's rows in stage A). A zero-norm row contributes cos = 1 (no change).
 *   comp_eq3_layer_importance: 1 - (Σ_b seq_cos[b]) / (S·T), the sums of S sequences of T tokens
 *     added in sequence order. S or T <= 0 gives 0. */
double comp_eq3_cos_sum(const float *x, const float *y, int64_t n, int64_t D);
double comp_eq3_layer_importance(const double *seq_cos, int64_t S, int64_t T);

/* Eq. 10 with clamp/redistribute: ratio (L) out. in_q (L): layers that may be neuron-pruned; imp (L)
 * their importances (only read where in_q; non-positive values are clamped to 1e-12, non-finite ones
 * are an error). budget = parameters neuron pruning must remove (p*N_tot - n*N_layer);
 * n_layer_params = N_layer.
 *   p_l = (H(I)/I_l) * budget / (|Q| * N_layer),  H = harmonic mean over Q,
 * then p_l <= p_max, the excess redistributed over the unclamped layers in proportion to 1/I_l
 * (repeated until none exceeds), so Σ_Q p_l N_layer == budget. ratio = 0 outside Q.
 * Errors (COMP_ERR_ARG): budget < 0, |Q| == 0 with budget > 0, budget > p_max*|Q|*N_layer,
 * N_layer <= 0, p_max outside (0, 1]. */
comp_status comp_eq10_layer_ratios(int L, const bool *in_q, const double *imp, double budget, int64_t n_layer_params,
                                   double p_max, double *ratio);

/* ---- Gram matrices (fp64 accumulation, both triangles filled) ------------------------------------ */

/* A (d,d) += Xᵀ X for X (n,d); A must be symmetric on entry (e.g. zeroed). */
void comp_gram_acc(double *A, const float *X, int64_t n, int64_t d);
/* A (d,d) += X'ᵀ X for Xp (n,d), X (n,d):  A_kj = Σ_t x'_tk x_tj. */
void comp_cross_acc(double *A, const float *Xp, const float *X, int64_t n, int64_t d);
/* WtW (d_in,d_in) = Wᵀ W for W (d_out,d_in) (overwritten). */
void comp_wtw(double *WtW, const float *W, int64_t d_out, int64_t d_in);

/* Rows [r0, r1) of the lower triangle of WᵀW (W (d_out,d) float), i.e. the block rows r0..r1-1 ×
 * columns 0..r1-1 of WtW (d,d) row-major (the diagonal block whole; nothing else written): one
 * DGEMM per staged chunk of W's rows. Building a (d,d) matrix panel by panel is how the ranks
 * sharing a layer split it (each panel is computed whole by one rank, so the result is the same
 * bit for bit whoever computes it). COMP_ERR_NOMEM when the staging buffer cannot be had. */
comp_status comp_wtw_rows(double *WtW, const float *W, int64_t d_out, int64_t d, int64_t r0, int64_t r1);
/* Packed symmetric storage, for a matrix kept beside a full one: the lower triangle row by row, row
 * i's columns 0..i starting at comp_packed_row(i); d(d+1)/2 doubles, half of a (d,d) matrix. */
static inline int64_t comp_packed_row(int64_t i) { return i * (i + 1) / 2; }
/* comp_wtw_rows into packed storage: rows [r0, r1) of WtWp (d(d+1)/2), the same numbers. Through
 * an (r1-r0, r1) panel; COMP_ERR_NOMEM when it cannot be had. */
comp_status comp_wtw_rows_packed(double *WtWp, const float *W, int64_t d_out, int64_t d, int64_t r0, int64_t r1);
/* Ap (d(d+1)/2) = the lower triangle of the symmetric A (d,d). */
void comp_packed_from_full(double *Ap, const double *A, int64_t d);
/* The same rows of Eq. 5's G = (WᵀW)∘(XᵀX) (X (n,d) float), written into G (d,d) row-major, without a
 * second (d,d) matrix: the rows of XᵀX go straight into G and are multiplied by those of WᵀW, taken
 * from the packed WtWp (d(d+1)/2) when given (else computed from W into an (r1-r0, r1) panel). Only
 * the lower triangle is meant (comp_sym_from_lower completes G). diag_wtw, diag_xx (d): entries
 * r0..r1-1 receive the diagonals of WᵀW and XᵀX (either may be NULL). */
comp_status comp_eq5_gram_rows(double *G, const double *WtWp, const float *W, int64_t d_out, const float *X, int64_t n,
                               int64_t d, int64_t r0, int64_t r1, double *diag_wtw, double *diag_xx);
/* Copy the lower triangle of the row-major (d,d) A onto its upper triangle. */
void comp_sym_from_lower(double *A, int64_t d);
/* c (d) = G 1 (row sums of G (d,d)): Eq. 5's right-hand side when X′ = X, bit for bit what
 * comp_eq5_rhs(c, WtW, XpXp) gives from the G it multiplied. */
void comp_row_sums(double *c, const double *G, int64_t d);

/* Eq. 5 coefficient matrix: G (d,d) = WtW (d,d) ∘ XpXp (d,d) (Hadamard). */
void comp_eq5_gram(double *G, const double *WtW, const double *XpXp, int64_t d);
/* Eq. 5 right-hand side: c (d), c_k = Σ_j WtW_kj * XpX_kj, i.e. c = ((WᵀW)∘(X'Xᵀ))1; WtW, XpX (d,d).
 * XpX may be XpXp (X' = X: then c = G 1). */
void comp_eq5_rhs(double *c, const double *WtW, const double *XpX, int64_t d);
/* comp_eq5_gram and comp_eq5_rhs from the packed WtWp (d(d+1)/2), bit for bit the same results;
 * G may be XpXp (in place). */
void comp_eq5_gram_packed(double *G, const double *WtWp, const double *XpXp, int64_t d);
void comp_eq5_rhs_packed(double *c, const double *WtWp, const double *XpX, int64_t d);

/* ---- neuron-grained: condition number, Fisher, importance ------------------------------------- */

/* Eq. 6-7: kappa = κ(G+λI) = (λmax+λ)/(λmin+λ), λ = eps_rel*mean(diag G), and its gradient g (d) with
 * respect to the relaxed mask at m = 1 (G(m) = diag(m) G diag(m)):
 *   g_k = 2[λmax v_max,k² (λmin+λ) − (λmax+λ) λmin v_min,k²] / (λmin+λ)².
 * G (d,d) symmetric, not modified (a (d,d) copy is made). Extreme eigenpairs as LAPACK's dsyevr
 * finds them for one index, but with a single tridiagonal reduction for both ends (dsytrd; dstebz
 * + dstein for indices 1 and d; dormtr). COMP_ERR_NUMERIC when λmin+λ <= 0 or LAPACK fails. */
comp_status comp_eq7_cond_grad(const double *G, int64_t d, double eps_rel, double *kappa, double *g);
/* How κ's extreme eigenpairs are found: TRIDIAG, one tridiagonal reduction of G (dsytrd) then
 * bisection and inverse iteration for eigenvalues 1 and d (the direct dense method; the zero
 * value, comp_eq7_cond_grad's); LANCZOS, Lanczos on G for λmax and on (G + λI)⁻¹ through its
 * Cholesky factor for λmin (shift-invert), to a Ritz residual of 1e-11·θ within COMP_LANCZOS_STEPS
 * steps, else the tridiagonal method (comp prune's default since the side-by-side sweep
 * jobs/mini-cond-eig.json gave the same pruned weights, bench/results/cond 5.6x faster at 7B). */
#define COMP_LANCZOS_STEPS 320
typedef enum comp_eig_kind { COMP_EIG_TRIDIAG, COMP_EIG_LANCZOS, COMP_EIG_COUNT } comp_eig_kind;
const char *comp_eig_name(comp_eig_kind k);
comp_status comp_eig_parse(const char *s, comp_eig_kind *k);
/* comp_eq7_cond_grad with the eigen-solver chosen. */
comp_status comp_eq7_cond_grad_eig(const double *G, int64_t d, double eps_rel, comp_eig_kind eig, double *kappa,
                                   double *g);
/* The same, destroying G (no copy: bounded memory for large d). */
comp_status comp_eq7_cond_grad_destroy(double *G, int64_t d, double eps_rel, double *kappa, double *g);

/* Eq. 7 from the extreme eigenpairs (λmin, v_min (d)), (λmax, v_max (d)) of G and the ridge λ:
 * κ and g as comp_eq7_cond_grad states them. COMP_ERR_NUMERIC when λmin + λ <= 0. */
comp_status comp_eq7_from_eigpairs(int64_t d, double lam, double lmin, double lmax, const double *vmin,
                                   const double *vmax, double *kappa, double *g);

/* y (d) = A x (d) for a symmetric positive (semi)definite A known only through this callback (a
 * matrix, or a factor distributed over ranks: then the call is collective and y is the same on
 * every rank). */
typedef comp_status (*comp_spd_op)(void *ctx, const double *x, double *y);
/* A symmetric matrix as a comp_spd_op (Lanczos' operator for λmax): ctx a comp_sym, y = A x with A's
 * column-major lower (= row-major upper) triangle read (DSYMV). */
typedef struct comp_sym {
  const double *A; /* (d, d) */
  int64_t       d;
} comp_sym;
comp_status comp_sym_apply(void *ctx, const double *x, double *y);
/* The largest eigenpair (θ, v (d)) of op: Lanczos with full reorthogonalisation from a fixed
 * pseudo-random start (the same on every rank and run), stopped at the first step whose Ritz
 * residual ‖A v − θ v‖ is below 1e-11·θ (tested at every step); *converged = false (θ and v
 * unset) when not within min(steps, d) steps. COND's --cond-eig lanczos: on G for λmax, on
 * (G + λI)⁻¹ for λmin (shift-invert). Every step's arithmetic besides op is replicated, so ranks
 * that get the same y get the same result. */
comp_status comp_lanczos_top(comp_spd_op op, void *ctx, int64_t d, int steps, double *theta, double *v,
                             bool *converged);

/* Neuron importance: score (d), HIGHER = more important = kept longer; prune in ascending score.
 *  COMP_IMP_COND:        Eq. 9: score_k = κ − g_k + ½ F_kk, κ and g from the full G, F_kk = mean_s (g^(s)_k)²
 *  COMP_IMP_COND_FISHER: score_k = F_kk only (the FPT-style alternative)
 *  COMP_IMP_OBS:         1/[(G+λI)⁻¹]_kk (Cholesky + inverse diagonal)
 *  COMP_IMP_WANDA:       ‖w_k‖·‖x_k‖ = sqrt(WtW_kk * XX_kk)
 *  COMP_IMP_MAGNITUDE:   ‖w_k‖ = sqrt(WtW_kk) */
typedef enum comp_importance_kind {
  COMP_IMP_COND,
  COMP_IMP_COND_FISHER,
  COMP_IMP_OBS,
  COMP_IMP_WANDA,
  COMP_IMP_MAGNITUDE,
  COMP_IMP_COUNT
} comp_importance_kind;

/* "cond", "cond_fisher", "obs", "wanda", "magnitude" ("?" outside the enum). */
const char *comp_importance_name(comp_importance_kind k);
/* Name -> kind; COMP_ERR_ARG listing the valid names otherwise. */
comp_status comp_importance_parse(const char *s, comp_importance_kind *k);

/* Eq. 8 streaming Fisher accumulator for COND / COND_FISHER: comp_fisher_add once per calibration
 * sample with that sample's G_s (d,d) (λ_s = eps_rel*mean(diag G_s)); then comp_neuron_importance. */
typedef struct comp_fisher {
  int64_t d; /* neurons                   */
  int     n; /* samples added              */
  double *F; /* (d) Σ_s (g^(s)_k)²         */
  /* eigen-solver of the samples' κ and of COND's (comp_fisher_init: TRIDIAG; set it after), and
   * LANCZOS' step limit per end (0: COMP_LANCZOS_STEPS) */
  comp_eig_kind eig;
  int           eig_steps;
} comp_fisher;
comp_status comp_fisher_init(comp_fisher *f, int64_t d);
comp_status comp_fisher_add(comp_fisher *f, const double *G_s, double eps_rel);
/* The same, destroying G_s (no (d,d) copy). */
comp_status comp_fisher_add_destroy(comp_fisher *f, double *G_s, double eps_rel);
void        comp_fisher_free(comp_fisher *f);
/* Eq. 9 from Eq. 7's κ and g (d) and the Fisher accumulator: score_k = κ − g_k + ½ F_k / n
 * (score may be g). */
void comp_eq9_cond_score(int64_t d, double kappa, const double *g, const comp_fisher *fisher, double *score);

/* score (d) of the chosen kind. G (d,d) full gram (COND: κ, g; OBS; not modified), wtw_diag (d) and
 * xx_diag (d) the diagonals of WᵀW and X′ᵀX′ (WANDA: both, MAGNITUDE: wtw_diag), fisher (COND
 * kinds, with >= 1 sample; may be NULL otherwise). Inputs a kind does not use may be NULL. */
comp_status comp_neuron_importance(comp_importance_kind kind, int64_t d, const double *G, const double *wtw_diag,
                                   const double *xx_diag, const comp_fisher *fisher, double eps_rel, double *score);

/* The same, without a (d,d) copy: G's row-major upper triangle and diagonal are the LAPACK
 * workspace (COND's tridiagonal reduction, OBS's Cholesky and inverse) and are restored from the
 * strict lower triangle and a saved diagonal before returning, so G is unchanged on return (also on
 * failure). Bounded memory for large d. */
comp_status comp_neuron_importance_inplace(comp_importance_kind kind, int64_t d, double *G, const double *wtw_diag,
                                           const double *xx_diag, const comp_fisher *fisher, double eps_rel,
                                           double *score);

/* perm (d) = indices sorted by descending score (keep-priority order), ties by lower index first
 * (deterministic); NaN scores go last. */
void comp_keep_order(const double *score, int64_t d, int32_t *perm);

/* ---- Eq. 5 mask tuning with the prefix-Cholesky trick (§4.5) ---------------------------------- */

/* A (d,d) symmetric row-major (hence also column-major) := A[π,π] in place, with d doubles and d
 * flags of scratch instead of a second (d,d); perm must be a permutation of 0..d-1 (else
 * COMP_ERR_ARG, A untouched). Used where a back-end factors G[π,π] in G's own storage. */
comp_status comp_permute_sym_inplace(double *A, const int32_t *perm, int64_t d);

/* Factors chol(G[π,π] + λI) = L Lᵀ, λ = eps_rel*mean(diag G), ONCE (LAPACKE_dpotrf, lower). For any k
 * the kept set is S = π[0..k) and the solve uses the leading k×k block of L, in the shifted form
 * (G_SS+λI) d = c_S − G_SS 1_S, m_S = 1 + d: O(k²) per solve. G (d,d), c (d), perm (d) a permutation
 * of 0..d-1 (COMP_ERR_ARG otherwise). COMP_ERR_NUMERIC when G[π,π]+λI is not positive definite.
 * Holds d² + 2d doubles (L and G[π,π] share one (d,d) array); G and c may be freed after create. */
typedef struct comp_masktune comp_masktune;
comp_status comp_masktune_create(const double *G, const double *c, const int32_t *perm, int64_t d, double eps_rel,
                                 comp_masktune **out);
/* m (k): the tuned mask of the kept columns, in perm order (m[i] belongs to column perm[i]); 0 <= k <= d.
 * *ok = false when the guard rejects it (non-finite or any |m_i| > 10); m is written either way. */
comp_status comp_masktune_solve(comp_masktune *mt, int64_t k, double *m, bool *ok);
/* The same for nk kept counts k (nk) at once, m[c] (k[c]) each (no guard): two triangular solves
 * with nk right-hand sides (BLAS3) instead of 2·nk matrix-vector ones; equal up to rounding. */
comp_status comp_masktune_solve_many(comp_masktune *mt, int nk, const int64_t *k, double *const *m);
/* The same, in place: G (d,d) becomes the factor's storage (its contents are destroyed; the caller
 * still owns and frees G, after comp_masktune_destroy): no second (d,d) matrix. λ is taken from G
 * before it is permuted, so the result is that of comp_masktune_create bit for bit. */
comp_status comp_masktune_create_inplace(double *G, const double *c, const int32_t *perm, int64_t d, double eps_rel,
                                         comp_masktune **out);
void        comp_masktune_destroy(comp_masktune **mt);

/* Population variance of m (k): (1/k) Σ (m_i − mean)²; 0 for k <= 0. */
double comp_mask_variance(const double *m, int64_t k);

#endif /* COMP_PRUNE_MATH_H */
