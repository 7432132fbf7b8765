/*
 * test_prune_math.c - src/prune_math.c against the independent numpy oracle (tests/prune_math/oracle.py).
 *
 * The oracle writes deterministic fixtures and its expected results as .npy files into a directory and
 * runs this program with that directory as argv[1]. Nothing random is generated here; the few extra
 * cases (error paths, ties, a non-positive-definite matrix) are written out literally.
 */
#include <stdbool.h>

#include "comp/prune_math.h"
#include "comp_test.h"

static const char *dir;

/* Read a little-endian float64 C-order .npy file <dir>/<name>.npy; *n = element count. */
static double *npy_f8(const char *name, int64_t *n)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/%s.npy", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) goto missing;
  unsigned char pre[10];
  if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 || pre[6] != 1) {
    fclose(f);
    goto missing;
  }
  size_t hl = (size_t)(pre[8] | pre[9] << 8);
  char  *h  = calloc(1, hl + 1);
  if (!h || fread(h, 1, hl, f) != hl || !strstr(h, "'<f8'") || strstr(h, "'fortran_order': True")) {
    free(h);
    fclose(f);
    goto missing;
  }
  int64_t cnt = 1;
  for (char *p = strchr(strstr(h, "'shape'"), '(') + 1; *p && *p != ')';) {
    char *e;
    long  v = strtol(p, &e, 10);
    if (e == p) break;
    cnt *= v;
    p = e;
    while (*p == ',' || *p == ' ') p++;
  }
  free(h);
  double *d = malloc((size_t)cnt * sizeof *d);
  if (d && fread(d, sizeof *d, (size_t)cnt, f) != (size_t)cnt) {
    free(d);
    d = NULL;
  }
  fclose(f);
  if (!d) goto missing;
  if (n) *n = cnt;
  return d;
missing:
  fprintf(stderr, "FAIL cannot read %s\n", path);
  exit(1);
}

static float *npy_f4(const char *name, int64_t *rows, int64_t *cols)
{
  char    path[1024];
  int     nd;
  int64_t dims[4];
  snprintf(path, sizeof path, "%s/%s.npy", dir, name);
  float *x = comp_test_npy(path, &nd, dims);
  if (!x || nd != 2) {
    fprintf(stderr, "FAIL cannot read %s\n", path);
    exit(1);
  }
  *rows = dims[0];
  *cols = dims[1];
  return x;
}

/* max_i |a_i - b_i| / max(max_i |b_i|, tiny) */
static double rel_err(const double *a, const double *b, int64_t n)
{
  double md = 0, mb = 1e-300;
  for (int64_t i = 0; i < n; i++) {
    double e = fabs(a[i] - b[i]);
    md       = e > md || isnan(e) ? e : md;
    mb       = fabs(b[i]) > mb ? fabs(b[i]) : mb;
  }
  return md / mb;
}

/* One printed line per check. */
#define REPORT(cond, ...)                                                                                              \
  do {                                                                                                                 \
    bool ok_ = (cond);                                                                                                 \
    printf("%s ", ok_ ? "ok  " : "FAIL");                                                                              \
    printf(__VA_ARGS__);                                                                                               \
    printf("\n");                                                                                                      \
    CHECK(cond);                                                                                                       \
  } while (0)

static void test_eq3(void)
{
  int64_t n, D, n2, D2, ne;
  float  *x = npy_f4("eq3_x", &n, &D), *y = npy_f4("eq3_y", &n2, &D2);
  double *I = npy_f8("eq3_I", &ne);
  /* as stage A does it: one cosine sum per sequence (here S = 8 sequences of T = n/8 rows), then Eq. 3 */
  const int64_t S = 8, T = n / S;
  double        seq[8], same[8];
  for (int64_t b = 0; b < S; b++) {
    seq[b]  = comp_eq3_cos_sum(x + b * T * D, y + b * T * D, T, D);
    same[b] = comp_eq3_cos_sum(x + b * T * D, x + b * T * D, T, D);
  }
  double got = comp_eq3_layer_importance(seq, S, T);
  REPORT(n == n2 && D == D2 && n % S == 0 && fabs(got - I[0]) <= 1e-12 * fabs(I[0]),
         "eq3 layer importance (%lld sequences of %lld rows, D=%lld, zero rows): %.15f vs numpy %.15f", (long long)S,
         (long long)T, (long long)D, got, I[0]);
  double id = comp_eq3_layer_importance(same, S, T);
  REPORT(fabs(id) < 1e-14, "eq3 importance of an identity layer is 0 (%.3g)", id);
  free(x);
  free(y);
  free(I);
}

static void test_eq10(void)
{
  const char *tags[] = {"a", "b", "c", "d"};
  const char *what[] = {"no clamp", "clamp cascade (p_max 0.6)", "non-positive importances", "budget at the cap"};
  for (int t = 0; t < 4; t++) {
    char    nm[64];
    int64_t L;
    snprintf(nm, sizeof nm, "eq10_%s_imp", tags[t]);
    double *imp = npy_f8(nm, &L);
    snprintf(nm, sizeof nm, "eq10_%s_inq", tags[t]);
    double *inqd = npy_f8(nm, NULL);
    snprintf(nm, sizeof nm, "eq10_%s_par", tags[t]);
    double *par = npy_f8(nm, NULL);
    snprintf(nm, sizeof nm, "eq10_%s_ratio", tags[t]);
    double *want = npy_f8(nm, NULL);
    bool    inq[64];
    double  r[64], pmax = 0;
    for (int64_t l = 0; l < L; l++) inq[l] = inqd[l] != 0;
    comp_status st  = comp_eq10_layer_ratios((int)L, inq, imp, par[0], (int64_t)par[1], par[2], r);
    double      sum = 0;
    for (int64_t l = 0; l < L; l++) {
      sum += r[l] * par[1];
      pmax = r[l] > pmax ? r[l] : pmax;
    }
    REPORT(st == COMP_OK && rel_err(r, want, L) < 1e-12, "eq10 case %s (%s): ratios vs numpy, rel err %.2e", tags[t],
           what[t], rel_err(r, want, L));
    REPORT(fabs(sum - par[0]) <= 1e-12 * par[0] && pmax <= par[2] * (1 + 1e-15),
           "eq10 case %s: sum p_l N_layer = %.6f == budget %.6f, max p_l %.4f <= p_max %.2f", tags[t], sum, par[0],
           pmax, par[2]);
    comp_error_clear();
    if (t == 0) { /* error paths on case a's layers */
      int q = 0;
      for (int64_t l = 0; l < L; l++) q += inq[l];
      st = comp_eq10_layer_ratios((int)L, inq, imp, 0.9 * q * par[1] * 1.01, (int64_t)par[1], 0.9, r);
      REPORT(st == COMP_ERR_ARG && strstr(comp_error_message(), "p_max"), "eq10 impossible budget -> COMP_ERR_ARG: %s",
             comp_error_message());
      comp_error_clear();
      st = comp_eq10_layer_ratios((int)L, inq, imp, -1.0, (int64_t)par[1], 0.9, r);
      REPORT(st == COMP_ERR_ARG, "eq10 negative budget -> COMP_ERR_ARG: %s", comp_error_message());
      comp_error_clear();
      bool none[64] = {false};
      st            = comp_eq10_layer_ratios((int)L, none, imp, 1000.0, (int64_t)par[1], 0.9, r);
      REPORT(st == COMP_ERR_ARG, "eq10 |Q| = 0 with budget > 0 -> COMP_ERR_ARG: %s", comp_error_message());
      comp_error_clear();
      r[0] = 7;
      st   = comp_eq10_layer_ratios((int)L, none, imp, 0.0, (int64_t)par[1], 0.9, r);
      REPORT(st == COMP_OK && r[0] == 0, "eq10 |Q| = 0 with budget 0 -> all ratios 0");
      comp_error_clear();
    }
    free(imp);
    free(inqd);
    free(par);
    free(want);
  }
}

/* Grams, Eq. 5 pieces, κ and its gradient, Fisher and the importances, keep order and mask tuning for W. */
static void test_dense(int d_out)
{
  char    nm[96];
  int64_t n, d, n2, d2, wo, wi;
  float  *X = npy_f4("X", &n, &d), *Xp = npy_f4("Xp", &n2, &d2);
  snprintf(nm, sizeof nm, "w%d_W", d_out);
  float  *W  = npy_f4(nm, &wo, &wi);
  double *XX = npy_f8("XX", NULL), *XpXp = npy_f8("XpXp", NULL), *XpX = npy_f8("XpX", NULL);
#define LOAD(var, fmt)                                                                                                 \
  snprintf(nm, sizeof nm, fmt, d_out);                                                                                 \
  double *var = npy_f8(nm, NULL)
  LOAD(WtW_ref, "w%d_WtW");
  LOAD(G_ref, "w%d_G");
  LOAD(c_ref, "w%d_c");
  LOAD(G0_ref, "w%d_G0");
  const int64_t dd = d * d, T = 40, ns = n / T;
  double       *WtW = calloc((size_t)dd, sizeof(double)), *A = calloc((size_t)dd, sizeof(double));
  double       *B = calloc((size_t)dd, sizeof(double)), *C = calloc((size_t)dd, sizeof(double));
  double       *G = malloc((size_t)dd * sizeof(double)), *G0 = malloc((size_t)dd * sizeof(double));
  double       *c = malloc((size_t)d * sizeof(double)), *c0 = malloc((size_t)d * sizeof(double));
  REPORT(n == n2 && d == d2 && wi == d && wo == d_out, "w%d fixture shapes: X (%lld,%lld), W (%lld,%lld)", d_out,
         (long long)n, (long long)d, (long long)wo, (long long)wi);

  /* ---- grams: accumulate sample by sample (3 x 40 tokens) ---- */
  comp_wtw(WtW, W, d_out, d);
  for (int64_t s = 0; s < ns; s++) {
    comp_gram_acc(A, X + s * T * d, T, d);
    comp_gram_acc(B, Xp + s * T * d, T, d);
    comp_cross_acc(C, Xp + s * T * d, X + s * T * d, T, d);
  }
  REPORT(rel_err(WtW, WtW_ref, dd) < 1e-13, "w%d WtW (d_out %s d_in) vs numpy: %.2e", d_out, d_out < d ? "<" : ">",
         rel_err(WtW, WtW_ref, dd));
  REPORT(rel_err(A, XX, dd) < 1e-13 && rel_err(B, XpXp, dd) < 1e-13,
         "w%d gram_acc X^T X, X'^T X' in %lld chunks vs numpy: %.2e, %.2e", d_out, (long long)ns, rel_err(A, XX, dd),
         rel_err(B, XpXp, dd));
  REPORT(rel_err(C, XpX, dd) < 1e-13, "w%d cross_acc X'^T X (X' != X) vs numpy: %.2e", d_out, rel_err(C, XpX, dd));
  bool sym = true;
  for (int64_t i = 0; i < d; i++)
    for (int64_t j = 0; j < d; j++) sym = sym && A[i * d + j] == A[j * d + i] && WtW[i * d + j] == WtW[j * d + i];
  REPORT(sym, "w%d gram_acc / wtw results exactly symmetric", d_out);
  comp_eq5_gram(G, WtW, B, d);
  comp_eq5_rhs(c, WtW, C, d);
  REPORT(rel_err(G, G_ref, dd) < 1e-13, "w%d eq5 G = WtW o X'X'^T vs numpy: %.2e", d_out, rel_err(G, G_ref, dd));
  REPORT(rel_err(c, c_ref, d) < 1e-12, "w%d eq5 c = (WtW o X'X^T) 1 vs numpy: %.2e", d_out, rel_err(c, c_ref, d));
  comp_eq5_gram(G0, WtW, A, d);
  comp_eq5_rhs(c0, WtW, A, d); /* X' = X */
  REPORT(rel_err(G0, G0_ref, dd) < 1e-13, "w%d eq5 G0 (X' = X) vs numpy: %.2e", d_out, rel_err(G0, G0_ref, dd));

  /* ---- the same matrices built by row panels (how the ranks of a layer group split them) ---- */
  {
    double       *P = malloc((size_t)dd * sizeof(double)), *Q = malloc((size_t)dd * sizeof(double));
    double       *dw = malloc((size_t)d * sizeof(double)), *dx = malloc((size_t)d * sizeof(double));
    double       *cs  = malloc((size_t)d * sizeof(double));
    const int64_t pan = 7; /* not a divisor of d: a short last panel */
    for (int64_t r0 = 0; r0 < d; r0 += pan) {
      CHECK_OK(comp_wtw_rows(P, W, d_out, d, r0, r0 + pan < d ? r0 + pan : d));
      CHECK_OK(comp_eq5_gram_rows(Q, NULL, W, d_out, X, n, d, r0, r0 + pan < d ? r0 + pan : d, dw, dx));
    }
    comp_sym_from_lower(P, d);
    comp_sym_from_lower(Q, d);
    REPORT(rel_err(P, WtW_ref, dd) < 1e-13, "w%d WtW by row panels of %lld vs numpy: %.2e", d_out, (long long)pan,
           rel_err(P, WtW_ref, dd));
    REPORT(rel_err(Q, G0_ref, dd) < 1e-13, "w%d G0 = WtW o XX^T by row panels (from W) vs numpy: %.2e", d_out,
           rel_err(Q, G0_ref, dd));
    double *wd = malloc((size_t)d * sizeof(double)), *xd = malloc((size_t)d * sizeof(double));
    for (int64_t i = 0; i < d; i++) wd[i] = WtW_ref[i * d + i], xd[i] = XX[i * d + i];
    REPORT(rel_err(dw, wd, d) < 1e-13 && rel_err(dx, xd, d) < 1e-13, "w%d panel diagonals vs numpy: %.2e, %.2e", d_out,
           rel_err(dw, wd, d), rel_err(dx, xd, d));
    comp_row_sums(cs, Q, d);
    double *c0r = malloc((size_t)d * sizeof(double));
    for (int64_t i = 0; i < d; i++) {
      c0r[i] = 0;
      for (int64_t j = 0; j < d; j++) c0r[i] += G0_ref[i * d + j];
    }
    REPORT(rel_err(cs, c0r, d) < 1e-12, "w%d c = G 1 (row sums) vs numpy G0 1: %.2e", d_out, rel_err(cs, c0r, d));
    /* WtW packed (how the driver keeps it beside a second (d,d) matrix): the same numbers, bit for bit */
    const size_t np = (size_t)comp_packed_row(d);
    double      *Wp = malloc(np * sizeof(double)), *Wp2 = malloc(np * sizeof(double));
    for (int64_t r0 = 0; r0 < d; r0 += pan)
      CHECK_OK(comp_wtw_rows_packed(Wp, W, d_out, d, r0, r0 + pan < d ? r0 + pan : d));
    comp_packed_from_full(Wp2, WtW, d);
    bool same = true;
    for (int64_t i = 0; i < d; i++)
      for (int64_t j = 0; j <= i; j++)
        same = same && Wp[comp_packed_row(i) + j] == P[i * d + j] && Wp2[comp_packed_row(i) + j] == WtW[i * d + j];
    REPORT(same, "w%d packed WtW by row panels of %lld == the full panels' lower triangle, bit for bit", d_out,
           (long long)pan);
    for (int64_t r0 = 0; r0 < d; r0 += 16) /* from a stored packed WtW */
      CHECK_OK(comp_eq5_gram_rows(P, Wp, NULL, d_out, X, n, d, r0, r0 + 16 < d ? r0 + 16 : d, NULL, NULL));
    comp_sym_from_lower(P, d);
    REPORT(rel_err(P, G0_ref, dd) < 1e-13, "w%d G0 by row panels of 16 from a stored packed WtW vs numpy: %.2e", d_out,
           rel_err(P, G0_ref, dd));
    double *Gp = malloc((size_t)dd * sizeof(double)), *cp = malloc((size_t)d * sizeof(double));
    comp_eq5_gram_packed(Gp, Wp2, B, d);
    comp_eq5_rhs_packed(cp, Wp2, C, d);
    REPORT(memcmp(Gp, G, (size_t)dd * sizeof(double)) == 0 && memcmp(cp, c, (size_t)d * sizeof(double)) == 0,
           "w%d eq5 G and c from packed WtW == from full WtW, bit for bit", d_out);
    memcpy(Gp, B, (size_t)dd * sizeof(double));
    comp_eq5_gram_packed(Gp, Wp2, Gp, d); /* in place, as the Fisher samples use it */
    REPORT(memcmp(Gp, G, (size_t)dd * sizeof(double)) == 0, "w%d eq5 G from packed WtW in place == G", d_out);
    free(Wp), free(Wp2), free(Gp), free(cp);
    comp_error_clear();
    REPORT(comp_eq5_gram_rows(Q, NULL, W, d_out, X, n, d, 3, 2, NULL, NULL) == COMP_ERR_ARG &&
               comp_wtw_rows(P, W, d_out, d, 0, d + 1) == COMP_ERR_ARG &&
               comp_wtw_rows_packed(P, W, d_out, d, -1, 2) == COMP_ERR_ARG,
           "w%d row panels outside 0..d -> COMP_ERR_ARG", d_out);
    comp_error_clear();
    free(P), free(Q), free(dw), free(dx), free(cs), free(wd), free(xd), free(c0r);
  }

  /* ---- Eq. 6-7: κ and gradient vs eigh closed form and finite differences ---- */
  double *g = malloc((size_t)d * sizeof(double));
  for (int ie = 0; ie < 2; ie++) {
    snprintf(nm, sizeof nm, "cond_w%d_e%d_eps", d_out, ie);
    double *eps = npy_f8(nm, NULL);
    snprintf(nm, sizeof nm, "cond_w%d_e%d_kappa", d_out, ie);
    double *kap = npy_f8(nm, NULL);
    snprintf(nm, sizeof nm, "cond_w%d_e%d_g", d_out, ie);
    double *gref = npy_f8(nm, NULL);
    snprintf(nm, sizeof nm, "cond_w%d_e%d_gfd", d_out, ie);
    double *gfd   = npy_f8(nm, NULL);
    double  kappa = 0;
    CHECK_OK(comp_eq7_cond_grad(G_ref, d, eps[0], &kappa, g));
    REPORT(fabs(kappa - kap[0]) < 1e-9 * kap[0], "w%d eps %g: kappa %.12g vs numpy eigh %.12g", d_out, eps[0], kappa,
           kap[0]);
    REPORT(rel_err(g, gref, d) < 1e-8, "w%d eps %g: gradient vs eigh closed form: %.2e", d_out, eps[0],
           rel_err(g, gref, d));
    REPORT(rel_err(g, gfd, d) < 1e-5, "w%d eps %g: gradient vs finite differences: %.2e", d_out, eps[0],
           rel_err(g, gfd, d));
    CHECK_OK(comp_eq7_cond_grad_eig(G_ref, d, eps[0], COMP_EIG_LANCZOS, &kappa, g));
    REPORT(fabs(kappa - kap[0]) < 1e-9 * kap[0] && rel_err(g, gref, d) < 1e-8,
           "w%d eps %g: lanczos kappa %.12g, gradient vs eigh closed form %.2e", d_out, eps[0], kappa,
           rel_err(g, gref, d));
    free(eps);
    free(kap);
    free(gref);
    free(gfd);
  }

  /* ---- Eq. 8-9 and the alternatives: per-sample grams from X' ---- */
  comp_fisher f, f2, f3; /* f2: the in-place variant, which must give the same F; f3: lanczos */
  CHECK_OK(comp_fisher_init(&f, d));
  CHECK_OK(comp_fisher_init(&f2, d));
  CHECK_OK(comp_fisher_init(&f3, d));
  f3.eig     = COMP_EIG_LANCZOS;
  double *Gs = malloc((size_t)dd * sizeof(double)), *Xs = calloc((size_t)dd, sizeof(double));
  for (int64_t s = 0; s < ns; s++) {
    memset(Xs, 0, (size_t)dd * sizeof(double));
    comp_gram_acc(Xs, Xp + s * T * d, T, d);
    comp_eq5_gram(Gs, WtW, Xs, d);
    CHECK_OK(comp_fisher_add(&f, Gs, 1e-6));
    CHECK_OK(comp_fisher_add(&f3, Gs, 1e-6));
    CHECK_OK(comp_fisher_add_destroy(&f2, Gs, 1e-6));
  }
  REPORT(f.n == ns, "w%d fisher accumulated %d samples", d_out, f.n);
  REPORT(rel_err(f2.F, f.F, d) < 1e-15, "w%d fisher_add_destroy == fisher_add: %.2e", d_out, rel_err(f2.F, f.F, d));
  comp_fisher_free(&f2);
  REPORT(rel_err(f3.F, f.F, d) < 1e-8, "w%d fisher with lanczos == tridiag: %.2e", d_out, rel_err(f3.F, f.F, d));
  double *wdiag = malloc((size_t)d * sizeof(double)), *xdiag = malloc((size_t)d * sizeof(double));
  for (int64_t i = 0; i < d; i++) wdiag[i] = WtW[i * d + i], xdiag[i] = B[i * d + i];
  double  *score = malloc((size_t)d * sizeof(double));
  int32_t *perm  = malloc((size_t)d * sizeof(int32_t));
  for (int k = 0; k < COMP_IMP_COUNT; k++) {
    const char *name = comp_importance_name((comp_importance_kind)k);
    snprintf(nm, sizeof nm, "score_w%d_%s", d_out, name);
    double *want = npy_f8(nm, NULL);
    snprintf(nm, sizeof nm, "order_w%d_%s", d_out, name);
    double *order = npy_f8(nm, NULL);
    CHECK_OK(comp_neuron_importance((comp_importance_kind)k, d, G, wdiag, xdiag, &f, 1e-6, score));
    { /* in place: the same scores bit for bit, G restored bit for bit */
      double *Gc = malloc((size_t)dd * sizeof(double)), *sc = malloc((size_t)d * sizeof(double));
      memcpy(Gc, G, (size_t)dd * sizeof(double));
      CHECK_OK(comp_neuron_importance_inplace((comp_importance_kind)k, d, Gc, wdiag, xdiag, &f, 1e-6, sc));
      REPORT(memcmp(sc, score, (size_t)d * sizeof(double)) == 0 && memcmp(Gc, G, (size_t)dd * sizeof(double)) == 0,
             "w%d importance %-11s in place == with a copy, G restored exactly", d_out, name);
      free(Gc), free(sc);
    }
    double tol = k == COMP_IMP_WANDA || k == COMP_IMP_MAGNITUDE ? 1e-13 : 1e-8;
    REPORT(rel_err(score, want, d) < tol, "w%d importance %-11s vs numpy: %.2e", d_out, name, rel_err(score, want, d));
    if (k == COMP_IMP_COND || k == COMP_IMP_COND_FISHER) { /* the lanczos eigen-solver, copy and in place */
      double *Gc = malloc((size_t)dd * sizeof(double)), *sc = malloc((size_t)d * sizeof(double));
      memcpy(Gc, G, (size_t)dd * sizeof(double));
      CHECK_OK(comp_neuron_importance((comp_importance_kind)k, d, G, wdiag, xdiag, &f3, 1e-6, score));
      CHECK_OK(comp_neuron_importance_inplace((comp_importance_kind)k, d, Gc, wdiag, xdiag, &f3, 1e-6, sc));
      REPORT(rel_err(score, want, d) < 1e-8 && memcmp(sc, score, (size_t)d * sizeof(double)) == 0 &&
                 memcmp(Gc, G, (size_t)dd * sizeof(double)) == 0,
             "w%d importance %-11s with lanczos vs numpy: %.2e (in place identical, G restored)", d_out, name,
             rel_err(score, want, d));
      free(Gc), free(sc);
    }
    comp_keep_order(want, d, perm); /* on the oracle's own scores: exact comparison */
    bool same = true;
    for (int64_t i = 0; i < d; i++) same = same && perm[i] == (int32_t)order[i];
    REPORT(same, "w%d keep_order(%s scores) == numpy lexsort", d_out, name);
    free(want);
    free(order);
  }
  comp_error_clear();
  REPORT(comp_neuron_importance(COMP_IMP_COND, d, G, wdiag, xdiag, NULL, 1e-6, score) == COMP_ERR_ARG,
         "w%d importance cond without a Fisher accumulator -> COMP_ERR_ARG", d_out);
  comp_error_clear();
  free(wdiag);
  free(xdiag);
  comp_fisher_free(&f);
  comp_fisher_free(&f3);

  /* ---- Eq. 5 mask tuning: prefix Cholesky vs a fresh solve per k ---- */
  snprintf(nm, sizeof nm, "mt_w%d_perm", d_out);
  double *permd = npy_f8(nm, NULL);
  int64_t nk;
  snprintf(nm, sizeof nm, "mt_w%d_ks", d_out);
  double *ks = npy_f8(nm, &nk);
  for (int64_t i = 0; i < d; i++) perm[i] = (int32_t)permd[i];
  comp_masktune *mt = NULL;
  CHECK_OK(comp_masktune_create(G_ref, c_ref, perm, d, 1e-6, &mt));
  double *m = malloc((size_t)d * sizeof(double));
  for (int64_t i = 0; mt && i < nk; i++) {
    int64_t k = (int64_t)ks[i];
    snprintf(nm, sizeof nm, "mt_w%d_m%lld", d_out, (long long)k);
    double *want = npy_f8(nm, NULL);
    snprintf(nm, sizeof nm, "mt_w%d_var%lld", d_out, (long long)k);
    double *var = npy_f8(nm, NULL);
    bool    ok = false, want_ok = true;
    for (int64_t j = 0; j < k; j++) want_ok = want_ok && fabs(want[j]) <= 10;
    CHECK_OK(comp_masktune_solve(mt, k, m, &ok));
    REPORT(rel_err(m, want, k) < 1e-9 && ok == want_ok,
           "w%d masktune k=%2lld (X' != X): prefix-Cholesky vs fresh np.linalg.solve: %.2e, ok=%d", d_out, (long long)k,
           rel_err(m, want, k), ok);
    double v = comp_mask_variance(m, k);
    REPORT(fabs(v - var[0]) <= 1e-9 * var[0] + 1e-15, "w%d mask variance k=%2lld: %.6e vs np.var %.6e", d_out,
           (long long)k, v, var[0]);
    free(want);
    free(var);
  }
  comp_masktune_destroy(&mt);
  REPORT(mt == NULL, "w%d masktune_destroy clears the handle", d_out);
  { /* in place (G's storage becomes the factor): the same masks bit for bit */
    double        *Gc = malloc((size_t)dd * sizeof(double)), *m1 = malloc((size_t)d * sizeof(double));
    double        *m2  = malloc((size_t)d * sizeof(double));
    comp_masktune *mt2 = NULL;
    memcpy(Gc, G_ref, (size_t)dd * sizeof(double));
    CHECK_OK(comp_masktune_create(G_ref, c_ref, perm, d, 1e-6, &mt));
    CHECK_OK(comp_masktune_create_inplace(Gc, c_ref, perm, d, 1e-6, &mt2));
    bool same = mt && mt2, ok1, ok2;
    for (int64_t i = 0; same && i < nk; i++) {
      const int64_t k = (int64_t)ks[i];
      CHECK_OK(comp_masktune_solve(mt, k, m1, &ok1));
      CHECK_OK(comp_masktune_solve(mt2, k, m2, &ok2));
      same = ok1 == ok2 && memcmp(m1, m2, (size_t)k * sizeof(double)) == 0;
    }
    REPORT(same, "w%d masktune_create_inplace == masktune_create (every k, bit for bit)", d_out);
    comp_masktune_destroy(&mt);
    comp_masktune_destroy(&mt2);
    free(Gc), free(m1), free(m2);
  }

  /* X' = X, nothing pruned: m = 1 (C-computed G0, c0) */
  CHECK_OK(comp_masktune_create(G0, c0, perm, d, 1e-6, &mt));
  bool   ok   = false;
  double dev1 = 0;
  if (mt) CHECK_OK(comp_masktune_solve(mt, d, m, &ok));
  for (int64_t i = 0; i < d; i++) dev1 = fabs(m[i] - 1) > dev1 ? fabs(m[i] - 1) : dev1;
  REPORT(mt && ok && dev1 < 1e-10, "w%d masktune X' = X, k = d: max|m - 1| = %.2e", d_out, dev1);
  comp_masktune_destroy(&mt);

  free(m);
  free(ks);
  free(permd);
  free(score);
  free(perm);
  free(Gs);
  free(Xs);
  free(g);
  free(X);
  free(Xp);
  free(W);
  free(XX);
  free(XpXp);
  free(XpX);
  free(WtW_ref);
  free(G_ref);
  free(c_ref);
  free(G0_ref);
  free(WtW);
  free(A);
  free(B);
  free(C);
  free(G);
  free(G0);
  free(c);
  free(c0);
#undef LOAD
}

static void test_guard_and_errors(void)
{
  int64_t d, nk;
  double *G = npy_f8("guard_G", &d), *c = npy_f8("guard_c", NULL), *pd = npy_f8("guard_perm", NULL);
  double *kk = npy_f8("guard_k", &nk), *want = npy_f8("guard_m", NULL);
  int64_t dim = 0;
  while (dim * dim < d) dim++;
  int32_t perm[16];
  for (int64_t i = 0; i < dim; i++) perm[i] = (int32_t)pd[i];
  comp_masktune *mt = NULL;
  CHECK_OK(comp_masktune_create(G, c, perm, dim, 1e-6, &mt));
  double  m[16];
  bool    ok = true;
  int64_t k  = (int64_t)kk[0];
  if (mt) CHECK_OK(comp_masktune_solve(mt, k, m, &ok));
  double mmax = 0;
  for (int64_t i = 0; i < k; i++) mmax = fabs(want[i]) > mmax ? fabs(want[i]) : mmax;
  REPORT(mt && !ok && rel_err(m, want, k) < 1e-6,
         "guard: ill-conditioned case (numpy max|m| %.1f) rejected, m vs numpy %.2e", mmax, rel_err(m, want, k));
  c[0] = NAN;
  comp_masktune_destroy(&mt);
  CHECK_OK(comp_masktune_create(G, c, perm, dim, 1e-6, &mt));
  ok = true;
  if (mt) CHECK_OK(comp_masktune_solve(mt, k, m, &ok));
  REPORT(mt && !ok, "guard: non-finite mask rejected");
  ok = false;
  if (mt) CHECK_OK(comp_masktune_solve(mt, 0, m, &ok));
  REPORT(ok, "masktune k = 0 is accepted (nothing kept)");
  comp_error_clear();
  REPORT(mt && comp_masktune_solve(mt, dim + 1, m, &ok) == COMP_ERR_ARG, "masktune k > d -> COMP_ERR_ARG");
  comp_error_clear();
  comp_masktune_destroy(&mt);
  perm[1] = perm[0];
  REPORT(comp_masktune_create(G, c, perm, dim, 1e-6, &mt) == COMP_ERR_ARG && mt == NULL,
         "masktune with a non-permutation -> COMP_ERR_ARG: %s", comp_error_message());
  comp_error_clear();

  /* indefinite matrix, no ridge: Cholesky fails, κ is undefined */
  const double  Gi[4] = {1, 2, 2, 1}, ci[2] = {1, 1};
  const int32_t pi[2] = {0, 1};
  REPORT(comp_masktune_create(Gi, ci, pi, 2, 0.0, &mt) == COMP_ERR_NUMERIC && mt == NULL,
         "masktune on an indefinite G -> COMP_ERR_NUMERIC: %s", comp_error_message());
  comp_error_clear();
  double kap, gi[2], sc[2];
  REPORT(comp_eq7_cond_grad(Gi, 2, 0.0, &kap, gi) == COMP_ERR_NUMERIC,
         "cond_grad on an indefinite G -> "
         "COMP_ERR_NUMERIC: %s",
         comp_error_message());
  comp_error_clear();
  REPORT(comp_neuron_importance(COMP_IMP_OBS, 2, Gi, NULL, NULL, NULL, 0.0, sc) == COMP_ERR_NUMERIC,
         "obs importance on an indefinite G -> COMP_ERR_NUMERIC: %s", comp_error_message());
  comp_error_clear();
  /* diagonal G: κ = max/min, g_k = 2κ(v_max,k² − v_min,k²) with λ = 0 */
  const double Gd[9] = {4, 0, 0, 0, 1, 0, 0, 0, 2};
  double       gd[3];
  CHECK_OK(comp_eq7_cond_grad(Gd, 3, 0.0, &kap, gd));
  REPORT(fabs(kap - 4) < 1e-14 && fabs(gd[0] - 8) < 1e-13 && fabs(gd[1] + 8) < 1e-13 && fabs(gd[2]) < 1e-13,
         "cond_grad on diag(4,1,2): kappa %.15g, g = (%.15g, %.15g, %.15g)", kap, gd[0], gd[1], gd[2]);
  free(G);
  free(c);
  free(pd);
  free(kk);
  free(want);
}

/* κ and its gradient in closed form: G = H diag(λ) H with the reflector H = I − 2uuᵀ (orthogonal),
 * so v_min = H e_0, v_max = H e_{d-1}, for two spectra of d = 600: quadratic spacing, and 1e4 + i with
 * the two smallest 1e-3 apart and λmax far off. Both methods must give the closed form; the lanczos
 * importance in place must restore G exactly, also when the step limit is cut to 10 (λmax of the
 * second spectrum still converges, its λmin then needs the tridiagonal fallback after the Cholesky
 * factor has been written over G). */
static void test_cond_closed_form(void)
{
  const int64_t d = 600;
  double       *G = malloc(sizeof(double) * (size_t)(d * d)), *Gc = malloc(sizeof(double) * (size_t)(d * d)),
         *u = malloc(sizeof(double) * (size_t)d), *lam = malloc(sizeof(double) * (size_t)d),
         *g = malloc(sizeof(double) * (size_t)d), *want = malloc(sizeof(double) * (size_t)d),
         *sc = malloc(sizeof(double) * (size_t)d), *sc2 = malloc(sizeof(double) * (size_t)d);
  double nu = 0;
  for (int64_t i = 0; i < d; i++) u[i] = sin(0.37 * (double)i + 1.0) + 0.1;
  for (int64_t i = 0; i < d; i++) nu += u[i] * u[i];
  for (int64_t i = 0; i < d; i++) u[i] /= sqrt(nu);
  for (int spectrum = 0; spectrum < 2; spectrum++) {
    for (int64_t i = 0; i < d; i++) lam[i] = spectrum == 0 ? 1.0 + 10.0 * (double)i * (double)i : 1e4 + (double)i;
    if (spectrum == 1) lam[1] = 1e4 + 1e-3, lam[d - 1] = 2e4; /* gap 1e-3 at the bottom, 600 wide */
    /* G = H Λ H: G_ij = Λ_i δ_ij − 2 u_i u_j (Λ_i + Λ_j) + 4 u_i u_j (uᵀΛu) */
    double ulu = 0;
    for (int64_t i = 0; i < d; i++) ulu += u[i] * u[i] * lam[i];
    for (int64_t i = 0; i < d; i++)
      for (int64_t j = 0; j < d; j++)
        G[i * d + j] = (i == j ? lam[i] : 0.0) - 2 * u[i] * u[j] * (lam[i] + lam[j]) + 4 * u[i] * u[j] * ulu;
    const double eps = 1e-3; /* ridge: eps·mean(diag G) = eps·tr(Λ)/d */
    double       tr  = 0;
    for (int64_t i = 0; i < d; i++) tr += lam[i];
    const double ridge = eps * tr / (double)d, lmin = lam[0] + ridge, lmax = lam[d - 1];
    const double kappa_want = (lmax + ridge) / lmin;
    for (int64_t k = 0; k < d; k++) {
      double vmin = (k == 0 ? 1.0 : 0.0) - 2 * u[k] * u[0], vmax = (k == d - 1 ? 1.0 : 0.0) - 2 * u[k] * u[d - 1];
      want[k] = 2.0 * (lmax * vmax * vmax * lmin - (lmax + ridge) * lam[0] * vmin * vmin) / (lmin * lmin);
    }
    for (int e = 0; e < COMP_EIG_COUNT; e++) {
      double kappa = 0;
      CHECK_OK(comp_eq7_cond_grad_eig(G, d, eps, (comp_eig_kind)e, &kappa, g));
      REPORT(fabs(kappa - kappa_want) < 1e-9 * kappa_want && rel_err(g, want, d) < 1e-7,
             "cond closed form, spectrum %d, %s: kappa %.12g vs %.12g, gradient %.2e", spectrum,
             comp_eig_name((comp_eig_kind)e), kappa, kappa_want, rel_err(g, want, d));
    }
    comp_fisher f;
    CHECK_OK(comp_fisher_init(&f, d));
    CHECK_OK(comp_fisher_add(&f, G, eps));
    CHECK_OK(comp_neuron_importance(COMP_IMP_COND, d, G, NULL, NULL, &f, eps, sc));
    f.eig = COMP_EIG_LANCZOS;
    for (int cut = 0; cut < 2; cut++) {
      f.eig_steps = cut ? 10 : 0;
      memcpy(Gc, G, sizeof(double) * (size_t)(d * d));
      CHECK_OK(comp_neuron_importance_inplace(COMP_IMP_COND, d, Gc, NULL, NULL, &f, eps, sc2));
      REPORT(rel_err(sc2, sc, d) < 1e-7 && memcmp(Gc, G, sizeof(double) * (size_t)(d * d)) == 0,
             "cond importance in place, spectrum %d, lanczos (%d steps at most) vs tridiag %.2e, G restored exactly",
             spectrum, cut ? 10 : COMP_LANCZOS_STEPS, rel_err(sc2, sc, d));
    }
    comp_fisher_free(&f);
  }
  REPORT(comp_eig_parse("lanczos", &(comp_eig_kind){0}) == COMP_OK &&
             comp_eig_parse("qr", &(comp_eig_kind){0}) == COMP_ERR_ARG,
         "--cond-eig names parse (%s)", comp_error_message());
  comp_error_clear();
  free(G), free(Gc), free(u), free(lam), free(g), free(want), free(sc), free(sc2);
}

static void test_order_and_names(void)
{
  int64_t d;
  double *s = npy_f8("ties_score", &d), *order = npy_f8("ties_order", NULL);
  int32_t perm[64];
  comp_keep_order(s, d, perm);
  bool same = true;
  for (int64_t i = 0; i < d; i++) same = same && perm[i] == (int32_t)order[i];
  REPORT(same, "keep_order with many ties (5 distinct values in %lld) == numpy lexsort", (long long)d);
  const double lit[7]  = {1, 3, 3, 2, NAN, 3, 1};
  const int    want[7] = {1, 2, 5, 3, 0, 6, 4};
  comp_keep_order(lit, 7, perm);
  same = true;
  for (int i = 0; i < 7; i++) same = same && perm[i] == want[i];
  REPORT(same, "keep_order {1,3,3,2,NaN,3,1} -> {1,2,5,3,0,6,4} (ties by index, NaN last)");
  comp_keep_order(lit, 1, perm);
  REPORT(perm[0] == 0, "keep_order d = 1");

  bool roundtrip = true;
  for (int k = 0; k < COMP_IMP_COUNT; k++) {
    comp_importance_kind got = COMP_IMP_COUNT;
    roundtrip = roundtrip && comp_importance_parse(comp_importance_name((comp_importance_kind)k), &got) == COMP_OK &&
                (int)got == k;
  }
  REPORT(roundtrip && strcmp(comp_importance_name(COMP_IMP_COND_FISHER), "cond_fisher") == 0,
         "importance names round-trip (cond, cond_fisher, obs, wanda, magnitude)");
  comp_importance_kind k;
  REPORT(comp_importance_parse("fisher", &k) == COMP_ERR_ARG && strstr(comp_error_message(), "cond_fisher") &&
             strstr(comp_error_message(), "magnitude"),
         "unknown importance -> COMP_ERR_ARG listing the names: %s", comp_error_message());
  comp_error_clear();
  const double mv[4] = {1, 2, 3, 4};
  REPORT(fabs(comp_mask_variance(mv, 4) - 1.25) < 1e-15 && comp_mask_variance(mv, 0) == 0,
         "mask variance {1,2,3,4} = 1.25 (population), empty = 0");
  free(s);
  free(order);
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: %s FIXTURE_DIR   (run by tests/prune_math/oracle.py)\n", argv[0]);
    return 2;
  }
  dir = argv[1];
  test_eq3();
  test_eq10();
  test_dense(32);
  test_dense(80);
  test_guard_and_errors();
  test_cond_closed_form();
  test_order_and_names();
  return comp_test_end();
}
