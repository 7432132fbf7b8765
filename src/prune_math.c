/* prune_math.c - the numerics of COMP pruning (see comp/prune_math.h and ALGORITHM.md §3-§5).
 * All math in float64. Symmetric matrices are handed to LAPACK as column-major lower triangles
 * (a row-major symmetric matrix is its own transpose), which avoids LAPACKE's transposed copies. */
#include "comp/prune_math.h"

#include "comp/masksolve.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define COMP_IMP_TINY   1e-12   /* non-positive layer importances are clamped to this          */
#define COMP_GRAM_CHUNK 8388608 /* doubles per float->double staging buffer (64 MiB)          */

/* ---- Eq. 3 ------------------------------------------------------------------------------------- */

double comp_eq3_cos_sum(const float *x, const float *y, int64_t n, int64_t D)
{
  double sum_cos = 0.0;
  for (int64_t t = 0; t < n; t++) {
    const float *xt = x + t * D, *yt = y + t * D;
    double       xy = 0, xx = 0, yy = 0;
    for (int64_t i = 0; i < D; i++) {
      xy += (double)xt[i] * yt[i];
      xx += (double)xt[i] * xt[i];
      yy += (double)yt[i] * yt[i];
    }
    sum_cos += (xx > 0 && yy > 0) ? xy / (sqrt(xx) * sqrt(yy)) : 1.0;
  }
  return sum_cos;
}

double comp_eq3_layer_importance(const double *seq_cos, int64_t S, int64_t T)
{
  if (S <= 0 || T <= 0) return 0.0;
  double sum_cos = 0.0;
  for (int64_t b = 0; b < S; b++) sum_cos += seq_cos[b];
  return 1.0 - sum_cos / ((double)S * (double)T);
}

/* ---- Eq. 10 ------------------------------------------------------------------------------------ */

comp_status comp_eq10_layer_ratios(int L, const bool *in_q, const double *imp, double budget, int64_t n_layer_params,
                                   double p_max, double *ratio)
{
  COMP_CHECK(L >= 0, COMP_ERR_ARG, "layer ratios: number of layers %d < 0", L);
  COMP_CHECK(n_layer_params > 0, COMP_ERR_ARG, "layer ratios: parameters per layer %lld must be > 0",
             (long long)n_layer_params);
  COMP_CHECK(p_max > 0 && p_max <= 1, COMP_ERR_ARG, "layer ratios: p_max %g must be in (0, 1]", p_max);
  COMP_CHECK(isfinite(budget) && budget >= 0, COMP_ERR_ARG,
             "layer ratios: neuron-pruning budget %.6g parameters is negative (the removed layers already exceed "
             "the target ratio)",
             budget);
  int q = 0;
  for (int l = 0; l < L; l++) {
    ratio[l] = 0.0;
    if (!in_q[l]) continue;
    COMP_CHECK(isfinite(imp[l]), COMP_ERR_ARG, "layer ratios: importance of layer %d is not finite", l);
    q++;
  }
  if (budget == 0) return COMP_OK;
  COMP_CHECK(q > 0, COMP_ERR_ARG, "layer ratios: %.6g parameters to remove but no layer may be neuron-pruned", budget);
  const double N = (double)n_layer_params, cap = p_max * q * N;
  COMP_CHECK(budget <= cap * (1 + 1e-12), COMP_ERR_ARG,
             "layer ratios: %.6g parameters to remove exceed p_max*|Q|*N_layer = %g*%d*%lld = %.6g; lower the "
             "target ratio, remove more layers or raise p_max",
             budget, p_max, q, (long long)n_layer_params, cap);

  /* p_l = (H/I_l) B/(|Q| N) with H = |Q|/Σ_Q 1/I_j is  p_l = w_l * (B/N) / Σ_Q w_j,  w = 1/I. Water-filling:
   * clamp every layer above p_max, give the rest of the budget to the unclamped ones by the same rule. */
  bool *clamped = calloc((size_t)L, sizeof *clamped);
  COMP_CHECK(clamped || L == 0, COMP_ERR_NOMEM, "layer ratios: out of memory");
  double rest = budget / N; /* Σ p_l still to hand out over the unclamped layers */
  for (;;) {
    double sum_w = 0;
    for (int l = 0; l < L; l++)
      if (in_q[l] && !clamped[l]) sum_w += 1.0 / (imp[l] > COMP_IMP_TINY ? imp[l] : COMP_IMP_TINY);
    int n_new = 0;
    for (int l = 0; l < L; l++) {
      if (!in_q[l] || clamped[l]) continue;
      double w = 1.0 / (imp[l] > COMP_IMP_TINY ? imp[l] : COMP_IMP_TINY);
      ratio[l] = rest > 0 ? w * rest / sum_w : 0.0;
      if (ratio[l] > p_max) n_new++;
    }
    if (n_new == 0) break;
    for (int l = 0; l < L; l++) {
      if (in_q[l] && !clamped[l] && ratio[l] > p_max) {
        clamped[l] = true;
        ratio[l]   = p_max;
        rest -= p_max;
      }
    }
  }
  free(clamped);
  return COMP_OK;
}

/* ---- Gram matrices ----------------------------------------------------------------------------- */

static void to_double(double *dst, const float *src, int64_t n)
{
  for (int64_t i = 0; i < n; i++) dst[i] = src[i];
}

/* Copy the lower triangle of the row-major (d,d) A onto its upper triangle. */
static void mirror_lower(double *A, int64_t d)
{
  for (int64_t i = 0; i < d; i++)
    for (int64_t j = 0; j < i; j++) A[j * d + i] = A[i * d + j];
}

void comp_sym_from_lower(double *A, int64_t d) { mirror_lower(A, d); }

static int64_t gram_chunk_rows(int64_t n, int64_t d)
{
  int64_t rows = d > 0 ? COMP_GRAM_CHUNK / d : n;
  rows         = rows < 64 ? 64 : rows;
  return rows < n ? rows : n;
}

void comp_gram_acc(double *A, const float *X, int64_t n, int64_t d)
{
  if (n <= 0 || d <= 0) return;
  int64_t rows = gram_chunk_rows(n, d);
  double *buf  = malloc((size_t)(rows * d) * sizeof *buf);
  if (!buf) { /* no memory for staging: same sums, without BLAS */
    for (int64_t t = 0; t < n; t++)
      for (int64_t i = 0; i < d; i++)
        for (int64_t j = 0; j <= i; j++) A[i * d + j] += (double)X[t * d + i] * X[t * d + j];
  } else {
    for (int64_t t0 = 0; t0 < n; t0 += rows) {
      int64_t r = n - t0 < rows ? n - t0 : rows;
      to_double(buf, X + t0 * d, r * d);
      cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)r, 1.0, buf, (int)d, 1.0, A, (int)d);
    }
    free(buf);
  }
  mirror_lower(A, d);
}

void comp_cross_acc(double *A, const float *Xp, const float *X, int64_t n, int64_t d)
{
  if (n <= 0 || d <= 0) return;
  int64_t rows = gram_chunk_rows(n, d);
  double *bp = malloc((size_t)(rows * d) * sizeof *bp), *bx = malloc((size_t)(rows * d) * sizeof *bx);
  if (!bp || !bx) { /* no memory for staging: same sums, without BLAS */
    for (int64_t t = 0; t < n; t++)
      for (int64_t k = 0; k < d; k++)
        for (int64_t j = 0; j < d; j++) A[k * d + j] += (double)Xp[t * d + k] * X[t * d + j];
  } else {
    for (int64_t t0 = 0; t0 < n; t0 += rows) {
      int64_t r = n - t0 < rows ? n - t0 : rows;
      to_double(bp, Xp + t0 * d, r * d);
      to_double(bx, X + t0 * d, r * d);
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)r, 1.0, bp, (int)d, bx, (int)d, 1.0, A,
                  (int)d);
    }
  }
  free(bp);
  free(bx);
}

void comp_wtw(double *WtW, const float *W, int64_t d_out, int64_t d_in)
{
  memset(WtW, 0, (size_t)(d_in * d_in) * sizeof *WtW);
  comp_gram_acc(WtW, W, d_out, d_in);
}

void comp_eq5_gram(double *G, const double *WtW, const double *XpXp, int64_t d)
{
  for (int64_t i = 0; i < d * d; i++) G[i] = WtW[i] * XpXp[i];
}

void comp_eq5_rhs(double *c, const double *WtW, const double *XpX, int64_t d)
{
  for (int64_t k = 0; k < d; k++) {
    double s = 0;
    for (int64_t j = 0; j < d; j++) s += WtW[k * d + j] * XpX[k * d + j];
    c[k] = s;
  }
}

/* A (r1-r0, lda) row-major = rows [r0, r1) × columns [0, r1) of XᵀX, X (n,d) float: the rows of X are
 * staged to double in chunks of columns [0, r1) only, one DGEMM each. */
static comp_status gram_rows(double *A, int64_t lda, const float *X, int64_t n, int64_t d, int64_t r0, int64_t r1)
{
  const int64_t w = r1, m = r1 - r0;
  int64_t       rows = gram_chunk_rows(n, w);
  double       *buf  = malloc((size_t)(rows * w) * sizeof *buf); /* (rows, r1) */
  COMP_CHECK(buf || n == 0, COMP_ERR_NOMEM, "Gram: out of memory for a %lld x %lld staging buffer", (long long)rows,
             (long long)w);
  for (int64_t i = 0; i < m; i++) memset(A + i * lda, 0, (size_t)w * sizeof *A);
  for (int64_t t0 = 0; t0 < n; t0 += rows) {
    int64_t r = n - t0 < rows ? n - t0 : rows;
    for (int64_t t = 0; t < r; t++) to_double(buf + t * w, X + (t0 + t) * d, w);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)w, (int)r, 1.0, buf + r0, (int)w, buf, (int)w,
                1.0, A, (int)lda);
  }
  free(buf);
  return COMP_OK;
}

comp_status comp_wtw_rows(double *WtW, const float *W, int64_t d_out, int64_t d, int64_t r0, int64_t r1)
{
  COMP_CHECK(0 <= r0 && r0 < r1 && r1 <= d, COMP_ERR_ARG, "WtW rows: [%lld, %lld) outside 0..%lld", (long long)r0,
             (long long)r1, (long long)d);
  return gram_rows(WtW + r0 * d, d, W, d_out, d, r0, r1);
}

comp_status comp_wtw_rows_packed(double *WtWp, const float *W, int64_t d_out, int64_t d, int64_t r0, int64_t r1)
{
  COMP_CHECK(0 <= r0 && r0 < r1 && r1 <= d, COMP_ERR_ARG, "WtW rows: [%lld, %lld) outside 0..%lld", (long long)r0,
             (long long)r1, (long long)d);
  const int64_t m = r1 - r0;
  double       *P = malloc((size_t)(m * r1) * sizeof *P); /* (m, r1) the rows, then their lower part packed */
  COMP_CHECK(P, COMP_ERR_NOMEM, "WtW: out of memory for a %lld x %lld panel", (long long)m, (long long)r1);
  comp_status st = gram_rows(P, r1, W, d_out, d, r0, r1);
  for (int64_t i = 0; !st && i < m; i++)
    memcpy(WtWp + comp_packed_row(r0 + i), P + i * r1, (size_t)(r0 + i + 1) * sizeof *P);
  free(P);
  return st;
}

void comp_packed_from_full(double *Ap, const double *A, int64_t d)
{
  for (int64_t i = 0; i < d; i++) memcpy(Ap + comp_packed_row(i), A + i * d, (size_t)(i + 1) * sizeof *A);
}

void comp_eq5_gram_packed(double *G, const double *WtWp, const double *XpXp, int64_t d)
{
  for (int64_t i = 0; i < d; i++) {
    const double *w = WtWp + comp_packed_row(i);
    for (int64_t j = 0; j <= i; j++) G[i * d + j] = w[j] * XpXp[i * d + j];
  }
  mirror_lower(G, d);
}

void comp_eq5_rhs_packed(double *c, const double *WtWp, const double *XpX, int64_t d)
{
  for (int64_t k = 0; k < d; k++) { /* the terms in comp_eq5_rhs's order: row k's, then column k's */
    const double *w = WtWp + comp_packed_row(k), *x = XpX + k * d;
    double        s = 0;
    for (int64_t j = 0; j <= k; j++) s += w[j] * x[j];
    for (int64_t j = k + 1; j < d; j++) s += WtWp[comp_packed_row(j) + k] * x[j];
    c[k] = s;
  }
}

comp_status comp_eq5_gram_rows(double *G, const double *WtWp, const float *W, int64_t d_out, const float *X, int64_t n,
                               int64_t d, int64_t r0, int64_t r1, double *diag_wtw, double *diag_xx)
{
  COMP_CHECK(0 <= r0 && r0 < r1 && r1 <= d, COMP_ERR_ARG, "Gram rows: [%lld, %lld) outside 0..%lld", (long long)r0,
             (long long)r1, (long long)d);
  const int64_t m = r1 - r0;
  double       *P = NULL; /* (m, r1) rows of WᵀW when WtWp is not given */
  if (!WtWp) {
    P = malloc((size_t)(m * r1) * sizeof *P);
    COMP_CHECK(P, COMP_ERR_NOMEM, "Gram: out of memory for a %lld x %lld panel", (long long)m, (long long)r1);
    comp_status st = gram_rows(P, r1, W, d_out, d, r0, r1);
    if (st) {
      free(P);
      return st;
    }
  }
  comp_status st = gram_rows(G + r0 * d, d, X, n, d, r0, r1);
  for (int64_t i = 0; !st && i < m; i++) {
    const double *wr = P ? P + i * r1 : WtWp + comp_packed_row(r0 + i);
    double       *gr = G + (r0 + i) * d;
    if (diag_wtw) diag_wtw[r0 + i] = wr[r0 + i];
    if (diag_xx) diag_xx[r0 + i] = gr[r0 + i];
    for (int64_t j = 0; j <= r0 + i; j++) gr[j] *= wr[j]; /* the lower triangle: the rest is mirrored */
  }
  free(P);
  return st;
}

void comp_row_sums(double *c, const double *G, int64_t d)
{
  for (int64_t k = 0; k < d; k++) {
    double s = 0;
    for (int64_t j = 0; j < d; j++) s += G[k * d + j];
    c[k] = s;
  }
}

/* ---- Eq. 6-7: condition number and its mask gradient ----------------------------------------- */

double comp_mask_ridge(const double *G, int64_t d, double eps_rel)
{
  double tr = 0;
  for (int64_t i = 0; i < d; i++) tr += G[i * d + i];
  return eps_rel * tr / (double)d;
}

/* The extreme eigenpairs of the symmetric a (d,d), destroyed: one tridiagonal reduction (dsytrd),
 * then bisection + inverse iteration for eigenvalues 1 and d (dstebz, dstein) and the back
 * transformation of the two vectors (dormtr) — what dsyevr does for one index range, once instead
 * of twice. v (d,2): column 0 = v_min, column 1 = v_max. */
static comp_status extreme_eigpairs(double *a, int64_t d, double *lmin, double *lmax, double *v)
{
  const lapack_int n = (lapack_int)d;
  double *td = calloc((size_t)(4 * d), sizeof *td); /* diag (d), offdiag (d), tau (d), w (d): dstein reads all of w */
  lapack_int *iw = malloc((size_t)(3 * d + 6) * sizeof *iw);
  comp_status st = COMP_OK;
  if (!td || !iw) {
    st = comp_error_set(COMP_ERR_NOMEM, "condition number: out of memory");
    goto done;
  }
  double     *dg = td, *e = td + d, *tau = td + 2 * d, *w = td + 3 * d;
  lapack_int *iblock = iw, *isplit = iw + d, *ifail = iw + 2 * d, m = 0, nsplit = 0;
  lapack_int  info = LAPACKE_dsytrd(LAPACK_COL_MAJOR, 'L', n, a, n, dg, e, tau);
  for (int which = 0; info == 0 && which < 2; which++) {
    lapack_int il = which == 0 ? 1 : n;
    info =
        LAPACKE_dstebz('I', 'B', n, 0.0, 0.0, il, il, 2 * LAPACKE_dlamch('S'), dg, e, &m, &nsplit, w, iblock, isplit);
    if (info == 0 && m != 1) info = -100;
    if (info == 0) info = LAPACKE_dstein(LAPACK_COL_MAJOR, n, dg, e, 1, w, iblock, isplit, v + which * d, n, ifail);
    if (info == 0) *(which == 0 ? lmin : lmax) = w[0];
  }
  if (info == 0 && d > 1) info = LAPACKE_dormtr(LAPACK_COL_MAJOR, 'L', 'L', 'N', n, 2, a, n, tau, v, n);
  if (info == LAPACK_WORK_MEMORY_ERROR)
    st = comp_error_set(COMP_ERR_NOMEM, "condition number: out of memory");
  else if (info != 0)
    st = comp_error_set(COMP_ERR_NUMERIC,
                        "condition number: extreme eigenpairs of a %lld x %lld matrix failed (info %d)", (long long)d,
                        (long long)d, (int)info);
done:
  free(td);
  free(iw);
  return st;
}

/* ---- the extreme eigenpairs by Lanczos (--cond-eig lanczos) ------------------------------------- */

comp_status comp_sym_apply(void *ctx, const double *x, double *y)
{
  const comp_sym *c = ctx;
  cblas_dsymv(CblasColMajor, CblasLower, (int)c->d, 1.0, c->A, (int)c->d, x, 1, 0.0, y, 1);
  return COMP_OK;
}

static comp_status op_inv(void *ctx, const double *x, double *y) /* y = (L Lᵀ)⁻¹ x, L in A's lower */
{
  const comp_sym *c = ctx;
  memcpy(y, x, (size_t)c->d * sizeof *y);
  cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)c->d, c->A, (int)c->d, y, 1);
  cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, (int)c->d, c->A, (int)c->d, y, 1);
  return COMP_OK;
}

#define LANCZOS_TOL 1e-11

comp_status comp_lanczos_top(comp_spd_op op, void *ctx, int64_t d, int steps, double *theta, double *v, bool *converged)
{
  *converged = false;
  COMP_CHECK(d > 0 && d <= INT32_MAX && steps > 0, COMP_ERR_ARG, "lanczos: dimension %lld, %d steps", (long long)d,
             steps);
  const int   kmax = (int)(d < steps ? d : steps);
  double     *Q    = malloc(sizeof(double) * (size_t)(kmax + 1) * (size_t)d); /* (kmax+1, d) the Lanczos basis */
  double     *w = malloc(sizeof(double) * (size_t)d), *c = malloc(sizeof(double) * (size_t)(kmax + 1));
  double     *al = malloc(sizeof(double) * (size_t)kmax), *be = malloc(sizeof(double) * (size_t)kmax);
  double     *td = malloc(sizeof(double) * (size_t)kmax), *te = malloc(sizeof(double) * (size_t)kmax);
  double     *S  = malloc(sizeof(double) * (size_t)kmax); /* (j) T_j's top eigenvector */
  comp_status st = COMP_OK;
  if (!Q || !w || !c || !al || !be || !td || !te || !S) {
    st = comp_error_set(COMP_ERR_NOMEM, "condition number: out of memory for the Lanczos basis");
    goto done;
  }
  uint64_t x   = 0x9e3779b97f4a7c15ull; /* splitmix64: a start vector with no special structure */
  double   nrm = 0;
  for (int64_t i = 0; i < d; i++) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z          = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z          = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    Q[i] = (double)(z >> 11) / 9007199254740992.0 - 0.5;
    nrm += Q[i] * Q[i];
  }
  cblas_dscal((int)d, 1.0 / sqrt(nrm), Q, 1);
  for (int j = 0; j < kmax; j++) {
    double *q = Q + (int64_t)j * d;
    if ((st = op(ctx, q, w))) break;
    al[j] = cblas_ddot((int)d, q, 1, w, 1);
    /* full reorthogonalisation against q_0..q_j, twice (Kahan's "twice is enough") */
    for (int pass = 0; pass < 2; pass++) {
      cblas_dgemv(CblasRowMajor, CblasNoTrans, j + 1, (int)d, 1.0, Q, (int)d, w, 1, 0.0, c, 1);
      cblas_dgemv(CblasRowMajor, CblasTrans, j + 1, (int)d, -1.0, Q, (int)d, c, 1, 1.0, w, 1);
    }
    be[j]          = cblas_dnrm2((int)d, w, 1);
    const bool end = j + 1 == kmax || be[j] <= 1e-14 * fabs(al[j]);
    /* T_{j+1}'s largest Ritz pair, at every step: dstevr for the one index, O(j) beside op's O(d²) */
    memcpy(td, al, sizeof(double) * (size_t)(j + 1));
    memcpy(te, be, sizeof(double) * (size_t)j);
    lapack_int nf = 0, isuppz[2], n = j + 1;
    if (LAPACKE_dstevr(LAPACK_COL_MAJOR, 'V', 'I', n, td, te, 0, 0, n, n, 0, &nf, c, S, n, isuppz) != 0 || nf != 1)
      break;
    const double th = c[0]; /* S (j+1): its eigenvector */
    if (be[j] * fabs(S[j]) <= LANCZOS_TOL * fabs(th) || be[j] <= 1e-14 * fabs(al[j])) {
      *theta = th;
      cblas_dgemv(CblasRowMajor, CblasTrans, j + 1, (int)d, 1.0, Q, (int)d, S, 1, 0.0, v, 1);
      cblas_dscal((int)d, 1.0 / cblas_dnrm2((int)d, v, 1), v, 1);
      *converged = true;
      break;
    }
    if (end) break;
    memcpy(Q + (int64_t)(j + 1) * d, w, sizeof(double) * (size_t)d);
    cblas_dscal((int)d, 1.0 / be[j], Q + (int64_t)(j + 1) * d, 1);
  }
done:
  free(Q), free(w), free(c), free(al), free(be), free(td), free(te), free(S);
  return st;
}

/* extreme_eigpairs' contract by Lanczos, for G + lam·I positive definite: λmax and v_max from G
 * itself; λmin and v_min by shift-invert, the largest eigenpair of (G + lam·I)⁻¹ through its
 * Cholesky factor (d³/3 flops at DGEMM speed, then two triangular solves per step) instead of a
 * tridiagonal reduction (4/3·d³, half of it matrix-vector). a is destroyed (the factor is written
 * over its lower triangle). *converged = false (and nothing else set) when either end needs more
 * than `steps` steps; a is then restored to G, for the tridiagonal method. */
static comp_status extreme_eigpairs_lanczos(double *a, int64_t d, double lam, int steps, double *lmin, double *lmax,
                                            double *v, bool *converged)
{
  *converged = false;
  double *dg = malloc((size_t)d * sizeof *dg); /* (d) G's diagonal, for the fallback */
  COMP_CHECK(dg, COMP_ERR_NOMEM, "condition number: out of memory");
  for (int64_t k = 0; k < d; k++) dg[k] = a[k * d + k];
  double      th       = 0;
  bool        conv_max = false, conv_min = false;
  comp_sym    ctx = {.A = a, .d = d};
  comp_status st  = comp_lanczos_top(comp_sym_apply, &ctx, d, steps, &th, v + d, &conv_max); /* λmax, v_max */
  if (!st && conv_max) {
    *lmax = th;
    for (int64_t k = 0; k < d; k++) a[k * d + k] += lam;
    lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)d, a, (lapack_int)d);
    if (info != 0) {
      st = comp_error_set(COMP_ERR_NUMERIC,
                          "condition number: G + lambda*I is not positive definite (LAPACK info %d, lambda %.3g); "
                          "raise eps_rel",
                          (int)info, lam);
      goto done;
    }
    st = comp_lanczos_top(op_inv, &ctx, d, steps, &th, v, &conv_min); /* 1/(λmin + lam), v_min */
    if (!st && conv_min) *lmin = 1.0 / th - lam;
    if (!st && !conv_min) { /* G again: its strict upper (col-major) triangle was never written */
      for (int64_t j = 0; j < d; j++)
        for (int64_t i = j + 1; i < d; i++) a[j * d + i] = a[i * d + j];
      for (int64_t k = 0; k < d; k++) a[k * d + k] = dg[k];
    }
  }
  *converged = !st && conv_max && conv_min;
done:
  free(dg);
  return st;
}

comp_status comp_eq7_from_eigpairs(int64_t d, double lam, double lmin, double lmax, const double *vmin,
                                   const double *vmax, double *kappa, double *g)
{
  const double den = lmin + lam;
  COMP_CHECK(den > 0 && isfinite(lmax), COMP_ERR_NUMERIC,
             "condition number: G + lambda*I is not positive definite (lambda_min %.3g, lambda %.3g); raise eps_rel",
             lmin, lam);
  *kappa = (lmax + lam) / den;
  for (int64_t k = 0; k < d; k++)
    g[k] = 2.0 * (lmax * vmax[k] * vmax[k] * den - (lmax + lam) * lmin * vmin[k] * vmin[k]) / (den * den);
  return COMP_OK;
}

/* Eq. 7 on G (d,d); work (d,d) is clobbered and may be G itself (then G is destroyed), NULL: a
 * copy is allocated. eig: the eigen-solver; steps: LANCZOS' step limit (0: COMP_LANCZOS_STEPS). */
static comp_status cond_grad(const double *G, double *work, int64_t d, double eps_rel, comp_eig_kind eig, int steps,
                             double *kappa, double *g)
{
  COMP_CHECK(d > 0 && d <= INT32_MAX / 2, COMP_ERR_ARG, "condition number: dimension %lld out of range", (long long)d);
  COMP_CHECK(eps_rel >= 0 && isfinite(eps_rel), COMP_ERR_ARG, "condition number: eps_rel %g must be >= 0", eps_rel);
  const double lam  = comp_mask_ridge(G, d, eps_rel);
  double      *v    = malloc((size_t)(2 * d) * sizeof *v); /* (d, 2) v_min, v_max */
  double       lmin = 0, lmax = 0, *own = work ? NULL : malloc((size_t)(d * d) * sizeof *own);
  if (!v || (!work && !own)) {
    free(v);
    return comp_error_set(COMP_ERR_NOMEM, "condition number: out of memory for a %lld x %lld matrix", (long long)d,
                          (long long)d);
  }
  if (own) work = own;
  if (work != G) memcpy(work, G, (size_t)(d * d) * sizeof *work);
  bool        done_lanczos = false;
  comp_status st           = eig == COMP_EIG_LANCZOS
                                 ? extreme_eigpairs_lanczos(work, d, lam, steps > 0 ? steps : COMP_LANCZOS_STEPS, &lmin, &lmax, v,
                                                            &done_lanczos)
                                 : COMP_OK;
  if (!st && !done_lanczos) st = extreme_eigpairs(work, d, &lmin, &lmax, v);
  if (!st) st = comp_eq7_from_eigpairs(d, lam, lmin, lmax, v, v + d, kappa, g);
  free(own);
  free(v);
  return st;
}

comp_status comp_eq7_cond_grad_eig(const double *G, int64_t d, double eps_rel, comp_eig_kind eig, double *kappa,
                                   double *g)
{
  return cond_grad(G, NULL, d, eps_rel, eig, 0, kappa, g);
}

comp_status comp_eq7_cond_grad(const double *G, int64_t d, double eps_rel, double *kappa, double *g)
{
  return comp_eq7_cond_grad_eig(G, d, eps_rel, COMP_EIG_TRIDIAG, kappa, g);
}

comp_status comp_eq7_cond_grad_destroy(double *G, int64_t d, double eps_rel, double *kappa, double *g)
{
  return cond_grad(G, G, d, eps_rel, COMP_EIG_TRIDIAG, 0, kappa, g);
}

/* ---- Eq. 8: Fisher accumulator ---------------------------------------------------------------- */

comp_status comp_fisher_init(comp_fisher *f, int64_t d)
{
  COMP_CHECK(d > 0, COMP_ERR_ARG, "fisher: dimension %lld must be > 0", (long long)d);
  f->d         = d;
  f->n         = 0;
  f->eig       = COMP_EIG_TRIDIAG;
  f->eig_steps = 0;
  f->F         = calloc((size_t)d, sizeof *f->F);
  COMP_CHECK(f->F, COMP_ERR_NOMEM, "fisher: out of memory");
  return COMP_OK;
}

static comp_status fisher_add(comp_fisher *f, const double *G_s, double *work, double eps_rel)
{
  double *g = malloc((size_t)f->d * sizeof *g), kappa;
  COMP_CHECK(g, COMP_ERR_NOMEM, "fisher: out of memory");
  comp_status st = cond_grad(G_s, work, f->d, eps_rel, f->eig, f->eig_steps, &kappa, g);
  if (st == COMP_OK) {
    for (int64_t k = 0; k < f->d; k++) f->F[k] += g[k] * g[k];
    f->n++;
  }
  free(g);
  return st;
}

comp_status comp_fisher_add(comp_fisher *f, const double *G_s, double eps_rel)
{
  return fisher_add(f, G_s, NULL, eps_rel);
}

comp_status comp_fisher_add_destroy(comp_fisher *f, double *G_s, double eps_rel)
{
  return fisher_add(f, G_s, G_s, eps_rel);
}

void comp_fisher_free(comp_fisher *f)
{
  if (!f) return;
  free(f->F);
  f->F = NULL;
  f->n = 0;
  f->d = 0;
}

/* ---- Eq. 9 and the alternative neuron importances --------------------------------------------- */

static const char *const comp_eig_names[COMP_EIG_COUNT] = {"tridiag", "lanczos"};

const char *comp_eig_name(comp_eig_kind k) { return k < COMP_EIG_COUNT ? comp_eig_names[k] : "?"; }

comp_status comp_eig_parse(const char *s, comp_eig_kind *k)
{
  for (int i = 0; s && i < COMP_EIG_COUNT; i++)
    if (strcmp(s, comp_eig_names[i]) == 0) {
      *k = (comp_eig_kind)i;
      return COMP_OK;
    }
  return comp_error_set(COMP_ERR_ARG, "unknown --cond-eig '%s' (valid: tridiag, lanczos)", s ? s : "");
}

static const char *const comp_importance_names[COMP_IMP_COUNT] = {"cond", "cond_fisher", "obs", "wanda", "magnitude"};

const char *comp_importance_name(comp_importance_kind k)
{
  return (unsigned)k < COMP_IMP_COUNT ? comp_importance_names[k] : "?";
}

comp_status comp_importance_parse(const char *s, comp_importance_kind *k)
{
  for (int i = 0; i < COMP_IMP_COUNT; i++) {
    if (s && strcmp(s, comp_importance_names[i]) == 0) {
      *k = (comp_importance_kind)i;
      return COMP_OK;
    }
  }
  return comp_error_set(COMP_ERR_ARG, "unknown importance '%s' (valid: cond, cond_fisher, obs, wanda, magnitude)",
                        s ? s : "(null)");
}

/* score_k = 1/[(G+λI)⁻¹]_kk, from the Cholesky factor. a (d,d) is the LAPACK workspace: a copy of G
 * is made there unless a == G (then G's row-major upper triangle and diagonal are clobbered). */
static comp_status obs_score(const double *G, double *a, int64_t d, double eps_rel, double *score)
{
  COMP_CHECK(d <= INT32_MAX / 2, COMP_ERR_ARG, "obs importance: dimension %lld too large", (long long)d);
  const double lam = comp_mask_ridge(G, d, eps_rel);
  if (a != G) memcpy(a, G, (size_t)(d * d) * sizeof *a);
  for (int64_t i = 0; i < d; i++) a[i * d + i] += lam;
  lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)d, a, (lapack_int)d);
  if (info == 0) info = LAPACKE_dpotri(LAPACK_COL_MAJOR, 'L', (lapack_int)d, a, (lapack_int)d);
  if (info == 0)
    for (int64_t k = 0; k < d; k++) score[k] = 1.0 / a[k * d + k];
  COMP_CHECK(info == 0, COMP_ERR_NUMERIC,
             "obs importance: G + lambda*I is not positive definite (LAPACK info %d); raise eps_rel", (int)info);
  return COMP_OK;
}

/* Eq. 9 from G and the Fisher diagonal; work as obs_score's a (NULL: a copy is allocated). */
static comp_status cond_score(const double *G, double *work, int64_t d, const comp_fisher *fisher, double eps_rel,
                              double *score)
{
  double kappa = 0;
  COMP_CALL(cond_grad(G, work, d, eps_rel, fisher->eig, fisher->eig_steps, &kappa, score)); /* score = g */
  comp_eq9_cond_score(d, kappa, score, fisher, score);
  return COMP_OK;
}

void comp_eq9_cond_score(int64_t d, double kappa, const double *g, const comp_fisher *fisher, double *score)
{
  for (int64_t k = 0; k < d; k++) score[k] = kappa - g[k] + 0.5 * fisher->F[k] / fisher->n;
}

static comp_status check_fisher(comp_importance_kind kind, int64_t d, const comp_fisher *fisher)
{
  COMP_CHECK(fisher && fisher->F && fisher->d == d && fisher->n > 0, COMP_ERR_ARG,
             "importance %s: needs a Fisher accumulator of dimension %lld with at least one sample",
             comp_importance_name(kind), (long long)d);
  return COMP_OK;
}

comp_status comp_neuron_importance(comp_importance_kind kind, int64_t d, const double *G, const double *wtw_diag,
                                   const double *xx_diag, const comp_fisher *fisher, double eps_rel, double *score)
{
  COMP_CHECK(d > 0, COMP_ERR_ARG, "importance: dimension %lld must be > 0", (long long)d);
  const char *name = comp_importance_name(kind);
  switch (kind) {
  case COMP_IMP_COND:
  case COMP_IMP_COND_FISHER: {
    COMP_CALL(check_fisher(kind, d, fisher));
    if (kind == COMP_IMP_COND_FISHER) {
      for (int64_t k = 0; k < d; k++) score[k] = fisher->F[k] / fisher->n;
      return COMP_OK;
    }
    COMP_CHECK(G, COMP_ERR_ARG, "importance %s: needs G", name);
    return cond_score(G, NULL, d, fisher, eps_rel, score);
  }
  case COMP_IMP_OBS: {
    COMP_CHECK(G, COMP_ERR_ARG, "importance %s: needs G", name);
    double *a = malloc((size_t)(d * d) * sizeof *a);
    COMP_CHECK(a, COMP_ERR_NOMEM, "obs importance: out of memory");
    comp_status st = obs_score(G, a, d, eps_rel, score);
    free(a);
    return st;
  }
  case COMP_IMP_WANDA:
    COMP_CHECK(wtw_diag && xx_diag, COMP_ERR_ARG, "importance %s: needs diag(WtW) and diag(XX)", name);
    for (int64_t k = 0; k < d; k++) score[k] = sqrt(wtw_diag[k] * xx_diag[k]);
    return COMP_OK;
  case COMP_IMP_MAGNITUDE:
    COMP_CHECK(wtw_diag, COMP_ERR_ARG, "importance %s: needs diag(WtW)", name);
    for (int64_t k = 0; k < d; k++) score[k] = sqrt(wtw_diag[k]);
    return COMP_OK;
  default:
    return comp_error_set(COMP_ERR_ARG, "importance: unknown kind %d", (int)kind);
  }
}

comp_status comp_neuron_importance_inplace(comp_importance_kind kind, int64_t d, double *G, const double *wtw_diag,
                                           const double *xx_diag, const comp_fisher *fisher, double eps_rel,
                                           double *score)
{
  if (kind != COMP_IMP_COND && kind != COMP_IMP_OBS)
    return comp_neuron_importance(kind, d, G, wtw_diag, xx_diag, fisher, eps_rel, score);
  COMP_CHECK(d > 0 && G, COMP_ERR_ARG, "importance %s: needs G of dimension > 0", comp_importance_name(kind));
  if (kind == COMP_IMP_COND) COMP_CALL(check_fisher(kind, d, fisher));
  double *dg = malloc((size_t)d * sizeof *dg); /* (d) G's diagonal, restored at the end */
  COMP_CHECK(dg, COMP_ERR_NOMEM, "importance: out of memory");
  for (int64_t k = 0; k < d; k++) dg[k] = G[k * d + k];
  comp_status st =
      kind == COMP_IMP_OBS ? obs_score(G, G, d, eps_rel, score) : cond_score(G, G, d, fisher, eps_rel, score);
  mirror_lower(G, d); /* the strict lower triangle was never touched */
  for (int64_t k = 0; k < d; k++) G[k * d + k] = dg[k];
  free(dg);
  return st;
}

/* ---- keep order -------------------------------------------------------------------------------- */

/* true when neuron a has higher keep priority than b: larger score, then lower index; NaN last. */
static bool keep_before(const double *s, int32_t a, int32_t b)
{
  bool na = isnan(s[a]), nb = isnan(s[b]);
  if (na != nb) return nb;
  if (!na && s[a] != s[b]) return s[a] > s[b];
  return a < b;
}

/* Heap sort with the total order keep_before: deterministic, O(d log d), no allocation. */
static void sift_down(const double *s, int32_t *p, int64_t root, int64_t n)
{
  for (;;) {
    int64_t child = 2 * root + 1;
    if (child >= n) return;
    if (child + 1 < n && keep_before(s, p[child], p[child + 1])) child++; /* the later-ordered child */
    if (!keep_before(s, p[root], p[child])) return;
    int32_t t = p[root];
    p[root]   = p[child];
    p[child]  = t;
    root      = child;
  }
}

void comp_keep_order(const double *score, int64_t d, int32_t *perm)
{
  for (int64_t i = 0; i < d; i++) perm[i] = (int32_t)i;
  for (int64_t i = d / 2 - 1; i >= 0; i--) sift_down(score, perm, i, d);
  for (int64_t end = d - 1; end > 0; end--) {
    int32_t t = perm[0];
    perm[0]   = perm[end];
    perm[end] = t;
    sift_down(score, perm, 0, end);
  }
}

/* ---- Eq. 5 mask tuning, prefix-Cholesky ------------------------------------------------------- */

struct comp_masktune {
  int64_t d;
  double  lambda;   /* ridge λ = eps_rel*mean(diag G)                                         */
  double *a;        /* (d,d) column-major: lower = L of chol(G[π,π]+λI), strict upper = G[π,π] */
  double *diag;     /* (d)   diag of G[π,π] (without λ)                                        */
  double *cp;       /* (d)   c[π]                                                              */
  bool    borrowed; /* a is the caller's G (comp_masktune_create_inplace): not freed here     */
};

/* perm (d) is a permutation of 0..d-1 (seen: d scratch flags). */
static comp_status check_perm(const int32_t *perm, int64_t d, bool *seen)
{
  for (int64_t i = 0; i < d; i++) {
    if (perm[i] < 0 || perm[i] >= d || seen[perm[i]])
      return comp_error_set(COMP_ERR_ARG, "mask tuning: keep order is not a permutation of 0..%lld (entry %lld = %d)",
                            (long long)(d - 1), (long long)i, (int)perm[i]);
    seen[perm[i]] = true;
  }
  return COMP_OK;
}

/* A (d,d) row-major := A[π,π] in place: rows gathered along the permutation's cycles (one row of
 * scratch), then each row's columns (tmp, d doubles); done (d) scratch flags, cleared on entry. */
static void permute_sym_inplace(double *A, const int32_t *perm, int64_t d, double *tmp, bool *done)
{
  memset(done, 0, (size_t)d * sizeof *done);
  for (int64_t s = 0; s < d; s++) {
    if (done[s]) continue;
    memcpy(tmp, A + s * d, (size_t)d * sizeof *tmp);
    for (int64_t i = s;;) {
      int64_t j = perm[i];
      done[i]   = true;
      if (j == s) {
        memcpy(A + i * d, tmp, (size_t)d * sizeof *tmp);
        break;
      }
      memcpy(A + i * d, A + j * d, (size_t)d * sizeof *tmp);
      i = j;
    }
  }
  for (int64_t i = 0; i < d; i++) {
    double *row = A + i * d;
    for (int64_t j = 0; j < d; j++) tmp[j] = row[perm[j]];
    memcpy(row, tmp, (size_t)d * sizeof *tmp);
  }
}

comp_status comp_permute_sym_inplace(double *A, const int32_t *perm, int64_t d)
{
  bool       *seen = calloc((size_t)(d > 0 ? d : 1), sizeof *seen);
  double     *tmp  = malloc((size_t)(d > 0 ? d : 1) * sizeof *tmp); /* (d) row scratch */
  comp_status st   = seen && tmp ? check_perm(perm, d, seen) : comp_error_set(COMP_ERR_NOMEM, "out of memory");
  if (!st) permute_sym_inplace(A, perm, d, tmp, seen);
  free(seen);
  free(tmp);
  return st;
}

/* Shared by both constructors: mt->a holds G[π,π] (column-major view), λ set; save its diagonal, add
 * λ, factor. */
static comp_status masktune_factor(comp_masktune *mt, const double *c, const int32_t *perm)
{
  const int64_t d = mt->d;
  for (int64_t j = 0; j < d; j++) {
    mt->diag[j] = mt->a[j * d + j];
    mt->a[j * d + j] += mt->lambda;
    mt->cp[j] = c[perm[j]];
  }
  lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)d, mt->a, (lapack_int)d);
  if (info != 0)
    return comp_error_set(COMP_ERR_NUMERIC,
                          info > 0 ? "mask tuning: G[pi,pi] + lambda*I is not positive definite (leading minor %d); "
                                     "raise eps_rel"
                                   : "mask tuning: dpotrf argument error %d",
                          (int)info);
  return COMP_OK;
}

static comp_status masktune_create(double *G_inplace, const double *G, const double *c, const int32_t *perm, int64_t d,
                                   double eps_rel, comp_masktune **out)
{
  *out = NULL;
  COMP_CHECK(d > 0 && d <= INT32_MAX / 2, COMP_ERR_ARG, "mask tuning: dimension %lld out of range", (long long)d);
  COMP_CHECK(eps_rel >= 0 && isfinite(eps_rel), COMP_ERR_ARG, "mask tuning: eps_rel %g must be >= 0", eps_rel);
  comp_masktune *mt   = calloc(1, sizeof *mt);
  bool          *seen = calloc((size_t)d, sizeof *seen);
  double        *tmp  = G_inplace ? malloc((size_t)d * sizeof *tmp) : NULL; /* (d) row scratch */
  comp_status    st   = COMP_OK;
  if (!mt || !seen || (G_inplace && !tmp) || !(mt->diag = malloc((size_t)d * sizeof *mt->diag)) ||
      !(mt->cp = malloc((size_t)d * sizeof *mt->cp)) ||
      (!G_inplace && !(mt->a = malloc((size_t)(d * d) * sizeof *mt->a)))) {
    st = comp_error_set(COMP_ERR_NOMEM, "mask tuning: out of memory for d = %lld", (long long)d);
    goto fail;
  }
  if ((st = check_perm(perm, d, seen))) goto fail;
  mt->d      = d;
  mt->lambda = comp_mask_ridge(G, d, eps_rel);
  if (G_inplace) {
    permute_sym_inplace(G_inplace, perm, d, tmp, seen);
    mt->a        = G_inplace;
    mt->borrowed = true;
  } else {
    for (int64_t j = 0; j < d; j++) { /* column j of G[π,π] */
      const double *row = G + (int64_t)perm[j] * d;
      for (int64_t i = 0; i < d; i++) mt->a[j * d + i] = row[perm[i]];
    }
  }
  if ((st = masktune_factor(mt, c, perm))) goto fail;
  free(seen);
  free(tmp);
  *out = mt;
  return COMP_OK;
fail:
  free(seen);
  free(tmp);
  comp_masktune_destroy(&mt);
  return st;
}

comp_status comp_masktune_create(const double *G, const double *c, const int32_t *perm, int64_t d, double eps_rel,
                                 comp_masktune **out)
{
  return masktune_create(NULL, G, c, perm, d, eps_rel, out);
}

comp_status comp_masktune_create_inplace(double *G, const double *c, const int32_t *perm, int64_t d, double eps_rel,
                                         comp_masktune **out)
{
  return masktune_create(G, G, c, perm, d, eps_rel, out);
}

comp_status comp_masktune_solve(comp_masktune *mt, int64_t k, double *m, bool *ok)
{
  COMP_CHECK(mt && k >= 0 && k <= mt->d, COMP_ERR_ARG, "mask tuning: kept count %lld outside 0..%lld", (long long)k,
             mt ? (long long)mt->d : 0LL);
  *ok = true;
  if (k == 0) return COMP_OK;
  const int64_t d = mt->d;
  const double *a = mt->a;
  /* rhs = c_S − G_SS 1_S; G_SS off-diagonals live in the strict upper triangle (column j, rows i < j). */
  for (int64_t i = 0; i < k; i++) m[i] = mt->cp[i] - mt->diag[i];
  for (int64_t j = 1; j < k; j++) {
    const double *col = a + j * d;
    double        sj  = 0;
    for (int64_t i = 0; i < j; i++) {
      m[i] -= col[i];
      sj += col[i];
    }
    m[j] -= sj;
  }
  /* (L_S L_Sᵀ) δ = rhs with the leading k×k block of L, then m = 1 + δ */
  cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)k, a, (int)d, m, 1);
  cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, (int)k, a, (int)d, m, 1);
  for (int64_t i = 0; i < k; i++) {
    m[i] += 1.0;
    if (!isfinite(m[i]) || fabs(m[i]) > COMP_MASK_GUARD) *ok = false;
  }
  return COMP_OK;
}

comp_status comp_masktune_solve_many(comp_masktune *mt, int nk, const int64_t *k, double *const *m)
{
  const int64_t d = mt->d;
  for (int c = 0; c < nk; c++)
    COMP_CHECK(k[c] >= 0 && k[c] <= d, COMP_ERR_ARG, "mask tuning: kept count %lld outside 0..%lld", (long long)k[c],
               (long long)d);
  if (nk <= 0) return COMP_OK;
  double *E = calloc((size_t)(d * nk), sizeof *E);  /* (d, nk) col-major: E_jc = [j < k_c], then the solutions */
  double *R = malloc((size_t)(d * nk) * sizeof *R); /* (d, nk) col-major: G[π,π] E                          */
  if (!E || !R) {
    free(E), free(R);
    return comp_error_set(COMP_ERR_NOMEM, "mask tuning: out of memory for %d right-hand sides", nk);
  }
  for (int c = 0; c < nk; c++)
    for (int64_t j = 0; j < k[c]; j++) E[c * d + j] = 1.0;
  /* G[π,π] E from the strict upper triangle (G) and diag: dsymm reads the diagonal of a, which holds
   * L's, so that term is swapped for G's */
  cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, (int)d, nk, 1.0, mt->a, (int)d, E, (int)d, 0.0, R, (int)d);
  for (int c = 0; c < nk; c++)
    for (int64_t i = 0; i < d; i++) {
      double *b = E + c * d;
      R[c * d + i] += (mt->diag[i] - mt->a[i * d + i]) * b[i];
      b[i] = i < k[c] ? mt->cp[i] - R[c * d + i] : 0.0; /* rhs = c_S − G_SS 1_S, zero beyond k */
    }
  /* (L_S L_Sᵀ) δ = rhs for every k at once: entries beyond k_c are zeroed between the two solves,
   * so column c sees exactly the leading k_c × k_c block */
  cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)d, nk, 1.0, mt->a, (int)d, E,
              (int)d);
  for (int c = 0; c < nk; c++)
    for (int64_t i = k[c]; i < d; i++) E[c * d + i] = 0.0;
  cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, (int)d, nk, 1.0, mt->a, (int)d, E,
              (int)d);
  for (int c = 0; c < nk; c++)
    for (int64_t i = 0; i < k[c]; i++) m[c][i] = 1.0 + E[c * d + i];
  free(E);
  free(R);
  return COMP_OK;
}

void comp_masktune_destroy(comp_masktune **mt)
{
  if (!mt || !*mt) return;
  if (!(*mt)->borrowed) free((*mt)->a);
  free((*mt)->diag);
  free((*mt)->cp);
  free(*mt);
  *mt = NULL;
}

double comp_mask_variance(const double *m, int64_t k)
{
  if (k <= 0) return 0.0;
  double mean = 0, var = 0;
  for (int64_t i = 0; i < k; i++) mean += m[i];
  mean /= (double)k;
  for (int64_t i = 0; i < k; i++) var += (m[i] - mean) * (m[i] - mean);
  return var / (double)k;
}
