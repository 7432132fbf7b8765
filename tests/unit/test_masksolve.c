/*
 * test_masksolve.c - every mask-solve back-end compiled in (comp/masksolve.h) against the lapack one,
 * on Eq. 5 problems built from REAL dense inputs. Run under mpiexec (1, 2, 3 ranks; the scalapack
 * grid from COMP_SCALAPACK_GRID when set).
 *
 * For each model in ../shared/data (trained/llama-8L, trained/opt-6L, llama2c-stories260K), real
 * text (trained/tinystories_heldout.txt) is tokenised with the model's tokenizer and run through
 * the forward pass; the taps capture the inputs X (n, d) of the q, o and down denses of two layers.
 * From W and X come G, c and a keep order (WANDA for q, OBS otherwise), and every
 * back-end solves k = d, d-1, d-d/8, ..., 65, 64, 63, 1: max over k of ‖m − m_lapack‖₂/‖m_lapack‖₂
 * must be <= 1e-6 and the guard flags must agree. Two problems per model have X′ ≠ X (X′ mixes in
 * or is the same dense's input of the other layer, c from comp_cross_acc) so the c path and the guard
 * are covered, and a synthetic indefinite matrix checks that the factorising back-ends report the
 * same leading minor. Back-ends with apply_inv (scalapack) also give COND importance's shift-invert
 * operator: against LAPACK's dposv, and κ and g of Eq. 7 built on it against the tridiagonal method.
 * Back-ends that build G themselves (own_gram: scalapack, each rank only its blocks) are given no
 * G at all: OBS scores from diag_inv in the identity order, masks solved in that order after it
 * (the factor rebuilt), then reorder() to the keep order and every k again, all against LAPACK on
 * the replicated G (1e-6). Those that also swap G's rows (regram: COND with no whole G) are created
 * without G and X: two calibration sequences in turn as Fisher samples (ridge, G_s x, κ and g of
 * Eq. 7 through apply and apply_inv against the whole G_s), then all rows (G x, masks after reorder).
 *
 * argv[1]: the shared folder (exit 77 = skip when missing). One line per (model, layer, dense,
 * back-end) on rank 0; exit status 1 on any failure.
 */
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <mpi.h>
#include <stdbool.h>

#include "comp/forward.h"
#include "comp/masksolve.h"
#include "comp/prune_math.h"
#include "comp/tokenizer.h"
#include "comp/util.h"
#include "comp_test.h"

enum { B = 4, T = 64, N_TOK = B * T, N_SEL = 3, N_LAYERS = 2, MAX_K = 16 };
#define TOL     1e-6
#define EPS_REL 1e-6

static const comp_dense_id sel_dense[N_SEL] = {COMP_DENSE_Q, COMP_DENSE_O, COMP_DENSE_DOWN};

static int rank_, size_;

/* Inputs and weights of the selected denses of the selected layers of one model. */
typedef struct capture {
  int     layer[N_LAYERS];        /* decoder layer indices                       */
  float  *x[N_LAYERS][N_SEL];     /* (N_TOK, d) dense input                       */
  float  *w[N_LAYERS][N_SEL];     /* (d_out, d) weights                           */
  int64_t d[N_LAYERS][N_SEL];     /* input width                                  */
  int64_t d_out[N_LAYERS][N_SEL]; /* output rows                                  */
} capture;

static int slot_of(const capture *c, int layer)
{
  for (int i = 0; i < N_LAYERS; i++)
    if (c->layer[i] == layer) return i;
  return -1;
}

static void on_tap(void *ctx, comp_tap_point where, int layer, int dense, const float *x, int64_t n, int64_t width)
{
  capture *c = ctx;
  int      l = slot_of(c, layer);
  if (where != COMP_TAP_DENSE_IN || l < 0) return;
  for (int j = 0; j < N_SEL; j++) {
    if ((int)sel_dense[j] != dense || c->x[l][j]) continue;
    c->x[l][j] = malloc((size_t)(n * width) * sizeof(float));
    if (c->x[l][j]) memcpy(c->x[l][j], x, (size_t)(n * width) * sizeof(float));
    c->d[l][j] = width;
  }
}

static void capture_free(capture *c)
{
  for (int l = 0; l < N_LAYERS; l++)
    for (int j = 0; j < N_SEL; j++) {
      free(c->x[l][j]);
      free(c->w[l][j]);
    }
}

/* ids (N_TOK): the first N_TOK tokens of the first 4 KB of real text (tiled if shorter). */
static bool text_tokens(const char *shared, const comp_tokenizer *tok, int64_t n_vocab, int32_t *ids)
{
  char   path[1200], *txt = NULL;
  size_t len = 0;
  snprintf(path, sizeof path, "%s/data/trained/tinystories_heldout.txt", shared);
  int32_t *all = NULL;
  int64_t  n   = 0;
  CHECK_OK(comp_read_file(path, &txt, &len));
  if (!txt) return false;
  if (len > 4096) len = 4096;
  while (len > 0 && txt[len - 1] != '\n') len--; /* whole lines: never a split UTF-8 sequence */
  CHECK_OK(comp_tokenizer_encode(tok, txt, len, 1, &all, &n));
  free(txt);
  bool ok = all && n > 0;
  for (int64_t i = 0; ok && i < N_TOK; i++) {
    ids[i] = all[i % n];
    ok     = ids[i] >= 0 && ids[i] < n_vocab;
  }
  CHECK_MSG(ok, "%s: tokenising failed or token out of the vocabulary", path);
  free(all);
  return ok;
}

/* Load a model, run the real tokens through it, keep the selected denses' inputs and weights. */
static bool capture_model(const char *shared, const char *model_path, const char *tok_path, capture *c)
{
  comp_model     *m   = NULL;
  comp_tokenizer *tok = NULL;
  comp_fwd_ws    *ws  = NULL;
  int32_t         ids[N_TOK]; /* (B, T) */
  float          *x  = NULL;  /* (N_TOK, D) residual stream */
  bool            ok = false;
  CHECK_OK(comp_model_load(model_path, &m));
  if (!m) return false;
  CHECK_OK(comp_tokenizer_load(tok_path, (int)m->hp.n_vocab, &tok));
  if (!tok || !text_tokens(shared, tok, m->hp.n_vocab, ids)) goto done;
  const int L  = (int)m->hp.n_layer;
  c->layer[0]  = 1 < L ? 1 : 0;
  c->layer[1]  = L - 1;
  comp_taps tp = {.fn = on_tap, .ctx = c};
  x            = malloc((size_t)(N_TOK * m->hp.n_embd) * sizeof *x);
  CHECK_OK(comp_fwd_ws_create(&m->hp, N_TOK, T, &ws));
  if (!x || !ws) goto done;
  CHECK_OK(comp_forward_embed(m, ids, B, T, x));
  for (int l = 0; l < L; l++) {
    comp_layer *ly = NULL;
    CHECK_OK(comp_model_layer_get(m, l, &ly));
    if (!ly) goto done;
    comp_status s = comp_forward_layer(m, ly, x, B, T, ws, &tp);
    CHECK_OK(s);
    int sl = slot_of(c, l);
    for (int j = 0; sl >= 0 && j < N_SEL; j++) {
      const comp_dense *dn = &ly->dense[sel_dense[j]];
      CHECK(dn->w && !dn->in_idx && dn->d_in == c->d[sl][j]);
      c->d_out[sl][j] = dn->d_out;
      c->w[sl][j]     = malloc((size_t)(dn->d_out * dn->d_in) * sizeof(float));
      if (c->w[sl][j]) memcpy(c->w[sl][j], dn->w, (size_t)(dn->d_out * dn->d_in) * sizeof(float));
    }
    comp_model_layer_put(m, &ly);
    if (s) goto done;
  }
  ok = true;
  for (int l = 0; l < N_LAYERS; l++)
    for (int j = 0; j < N_SEL; j++) ok = ok && c->x[l][j] && c->w[l][j];
  CHECK_MSG(ok, "%s: not every selected dense input was captured", model_path);
done:
  free(x);
  comp_fwd_ws_destroy(&ws);
  comp_tokenizer_destroy(&tok);
  comp_model_destroy(&m);
  return ok;
}

/* One Eq. 5 problem and what it owns. */
typedef struct problem {
  comp_mask_problem p;
  double           *G, *c; /* (d,d), (d) */
  int32_t          *perm;  /* (d)        */
  float            *Xp;    /* (n,d) when X′ ≠ X, else NULL */
} problem;

static void problem_free(problem *pr)
{
  free(pr->G);
  free(pr->c);
  free(pr->perm);
  free(pr->Xp);
}

/* G = WᵀW ∘ X′ᵀX′, c = (WᵀW ∘ X′ᵀX)1, perm from importance `kind` (WANDA or OBS). Xo: the other
 * layer's input of the same dense, mixed into X′ = (1 − alpha) X + alpha Xo when non-NULL.
 * Not COND: comp_eq7_cond_grad hands LAPACKE_dstein a w (d) of which only w[0] is set, and LAPACKE
 * NaN-checks all d entries, so it fails at random (info -6) on uninitialised heap. */
static bool problem_build(problem *pr, const float *W, int64_t d_out, int64_t d, const float *X, const float *Xo,
                          float alpha, comp_importance_kind kind)
{
  memset(pr, 0, sizeof *pr);
  const size_t dd    = (size_t)(d * d);
  double      *WtW   = malloc(dd * sizeof *WtW);                /* (d,d) */
  double      *XX    = calloc(dd, sizeof *XX);                  /* (d,d) X′ᵀX′, then X′ᵀX */
  double      *score = malloc((size_t)d * sizeof *score);       /* (d)   */
  double      *diags = malloc((size_t)(2 * d) * sizeof *diags); /* (2,d) diag WᵀW, diag X′ᵀX′ */
  pr->G              = malloc(dd * sizeof *pr->G);
  pr->c              = malloc((size_t)d * sizeof *pr->c);
  pr->perm           = malloc((size_t)d * sizeof *pr->perm);
  bool         ok    = WtW && XX && score && diags && pr->G && pr->c && pr->perm;
  const float *Xp    = X;
  if (ok && Xo) {
    ok = (pr->Xp = malloc((size_t)(N_TOK * d) * sizeof *pr->Xp)) != NULL;
    for (int64_t i = 0; ok && i < N_TOK * d; i++) pr->Xp[i] = (1.0f - alpha) * X[i] + alpha * Xo[i];
    Xp = pr->Xp;
  }
  CHECK(ok);
  if (!ok) goto done;
  comp_wtw(WtW, W, d_out, d);
  comp_gram_acc(XX, Xp, N_TOK, d);
  for (int64_t k = 0; k < d; k++) {
    diags[k]     = WtW[k * d + k];
    diags[d + k] = XX[k * d + k];
  }
  comp_eq5_gram(pr->G, WtW, XX, d);
  if (Xo) {
    memset(XX, 0, dd * sizeof *XX);
    comp_cross_acc(XX, Xp, X, N_TOK, d);
  }
  comp_eq5_rhs(pr->c, WtW, XX, d);
  comp_status s = comp_neuron_importance(kind, d, pr->G, diags, diags + d, NULL, EPS_REL, score);
  CHECK_OK(s);
  ok = s == COMP_OK;
  if (ok) comp_keep_order(score, d, pr->perm);
  pr->p = (comp_mask_problem){.d       = d,
                              .d_out   = d_out,
                              .n       = N_TOK,
                              .W       = W,
                              .X       = X,
                              .Xp      = Xp,
                              .G       = pr->G,
                              .c       = pr->c,
                              .perm    = pr->perm,
                              .eps_rel = EPS_REL};
done:
  free(WtW);
  free(XX);
  free(score);
  free(diags);
  return ok;
}

/* k = d, d-1, d - i*d/8 (i = 1..7), 65, 64, 63, 1: descending, unique, within 1..d. */
static int k_list(int64_t d, int64_t *ks)
{
  int64_t cand[MAX_K], step = d / 8 > 0 ? d / 8 : 1;
  int     nc = 0, n = 0;
  cand[nc++] = d;
  cand[nc++] = d - 1;
  for (int i = 1; i <= 7; i++) cand[nc++] = d - i * step;
  cand[nc++] = 65;
  cand[nc++] = 64;
  cand[nc++] = 63;
  cand[nc++] = 1;
  for (int i = 0; i < nc; i++) {
    bool dup = cand[i] < 1 || cand[i] > d;
    for (int j = 0; j < n && !dup; j++) dup = ks[j] == cand[i];
    if (!dup) ks[n++] = cand[i];
  }
  for (int i = 1; i < n; i++) /* insertion sort, descending */
    for (int j = i; j > 0 && ks[j] > ks[j - 1]; j--) {
      int64_t t = ks[j];
      ks[j]     = ks[j - 1];
      ks[j - 1] = t;
    }
  return n;
}

/* Solve every k with back-end ops (many: in one comp_mask_solver_solve_many call); m (nk, d) rows,
 * ok (nk). false when create or a solve fails. */
static bool solve_all(const comp_mask_solver_ops *ops, const comp_mask_problem *p, const int64_t *ks, int nk, double *m,
                      bool *ok, bool many)
{
  comp_mask_solver *ms = NULL;
  comp_status       s  = comp_mask_solver_create(ops, p, MPI_COMM_WORLD, &ms);
  CHECK_MSG(s == COMP_OK, "%s create: %s", ops->name, comp_error_message());
  comp_error_clear();
  if (!s && many) {
    double *rows[MAX_K];
    for (int i = 0; i < nk; i++) rows[i] = m + (int64_t)i * p->d;
    s = comp_mask_solver_solve_many(ms, nk, ks, rows, ok);
    CHECK_MSG(s == COMP_OK, "%s solve_many: %s", ops->name, comp_error_message());
    comp_error_clear();
    nk = 0;
  }
  for (int i = 0; !s && i < nk; i++) {
    s = comp_mask_solver_solve(ms, ks[i], m + (int64_t)i * p->d, &ok[i]);
    CHECK_MSG(s == COMP_OK, "%s solve k=%lld: %s", ops->name, (long long)ks[i], comp_error_message());
    comp_error_clear();
  }
  comp_mask_solver_destroy(&ms);
  return s == COMP_OK;
}

/* true when ok on every rank: a step that failed on one rank is skipped on all, so the ranks never
 * call different collectives. */
static bool all_ok(bool ok)
{
  int v = ok, all = 0;
  MPI_Allreduce(&v, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all != 0;
}

static const char *grid_name(void)
{
  const char *g = getenv("COMP_SCALAPACK_GRID");
  return g && *g ? g : "default";
}

/* p in the identity order (id (d) filled here): the problem the importance's factor solves. */
static comp_mask_problem identity_order(const comp_mask_problem *p, int32_t *id)
{
  comp_mask_problem q = *p;
  for (int64_t k = 0; k < p->d; k++) id[k] = (int32_t)k;
  q.perm = id;
  return q;
}

/* Back-ends with diag_inv (OBS importance on the solver's ranks): 1/diag((G+λI)⁻¹) from the
 * distributed factor against comp_neuron_importance(OBS) (LAPACK dpotrf + dpotri on one rank). */
static void check_diag_inv(const char *model, int layer, const char *dense, const problem *pr)
{
  const comp_mask_problem *p   = &pr->p;
  const int64_t            d   = p->d;
  double                  *ref = malloc((size_t)d * sizeof *ref), *got = malloc((size_t)d * sizeof *got);
  int32_t                 *id = malloc((size_t)d * sizeof *id);
  CHECK(ref && got && id);
  if (!all_ok(ref && got && id)) goto done;
  CHECK_OK(comp_neuron_importance(COMP_IMP_OBS, d, p->G, NULL, NULL, NULL, EPS_REL, ref));
  const comp_mask_problem q = identity_order(p, id);
  for (int i = 0; i < comp_mask_solver_count(); i++) {
    const comp_mask_solver_ops *ops = comp_mask_solver_at(i);
    if (!ops->diag_inv) continue;
    comp_mask_solver *ms = NULL;
    comp_status       s  = comp_mask_solver_create(ops, &q, MPI_COMM_WORLD, &ms);
    if (!s) s = comp_mask_solver_diag_inv(ms, got);
    comp_mask_solver_destroy(&ms);
    CHECK_MSG(s == COMP_OK, "%s diag_inv: %s", ops->name, comp_error_message());
    comp_error_clear();
    if (s) continue;
    double worst = 0;
    for (int64_t k = 0; k < d; k++) {
      double e = fabs(1.0 / got[k] - ref[k]) / fabs(ref[k]);
      if (!(e <= worst)) worst = e;
    }
    CHECK_MSG(worst <= 1e-10, "%s L%d %s (d=%lld) %s: OBS scores from diag_inv differ by %.3g", model, layer, dense,
              (long long)d, ops->name, worst);
    if (rank_ == 0)
      printf("%-12s L%d %-6s d=%-4lld %-10s ranks=%d grid=%-7s OBS score from diag_inv vs LAPACK: max rel diff %.2e\n",
             model, layer, dense, (long long)d, ops->name, size_, grid_name(), worst);
  }
done:
  free(ref);
  free(got);
  free(id);
}

/* max over the nk rows of ‖m − mref‖₂/‖mref‖₂ (row i: ks[i] entries) and the guard flags that differ. */
static double masks_diff(const double *m, const double *mref, const bool *ok, const bool *okref, const int64_t *ks,
                         int nk, int64_t d, int *guard_diff)
{
  double worst = 0;
  *guard_diff  = 0;
  for (int i = 0; i < nk; i++) {
    const double *a = m + (int64_t)i * d, *r = mref + (int64_t)i * d;
    double        num = 0, den = 0;
    for (int64_t j = 0; j < ks[i]; j++) {
      num += (a[j] - r[j]) * (a[j] - r[j]);
      den += r[j] * r[j];
    }
    double e = sqrt(num) / (den > 0 ? sqrt(den) : 1e-300);
    if (!(e <= worst)) worst = e; /* NaN sticks */
    *guard_diff += ok[i] != okref[i];
  }
  return worst;
}

/* Back-ends that build their own share of G (no G handed in, X′ = X): diag_inv in the identity
 * order, masks in that order after it, reorder() to the keep order, masks again; against LAPACK. */
static void check_own_gram(const char *model, int layer, const char *dense, const problem *pr)
{
  const comp_mask_problem *p = &pr->p;
  const int64_t            d = p->d;
  int64_t                  ks[MAX_K];
  const int                nk  = k_list(d, ks);
  double                  *ref = malloc((size_t)d * sizeof *ref), *got = malloc((size_t)d * sizeof *got);
  double  *mref = malloc((size_t)(nk * d) * sizeof *mref), *mid = malloc((size_t)(nk * d) * sizeof *mid);
  double  *m  = malloc((size_t)(nk * d) * sizeof *m);
  int32_t *id = malloc((size_t)d * sizeof *id);
  bool     okref[MAX_K], okid[MAX_K], ok[MAX_K];
  if (!all_ok(ref && got && mref && mid && m && id) || pr->Xp) goto done;
  CHECK_OK(comp_neuron_importance(COMP_IMP_OBS, d, p->G, NULL, NULL, NULL, EPS_REL, ref));
  const comp_mask_problem qid = identity_order(p, id);
  if (!solve_all(comp_mask_solver_find("lapack"), &qid, ks, nk, mid, okid, true) ||
      !solve_all(comp_mask_solver_find("lapack"), p, ks, nk, mref, okref, true))
    goto done;
  for (int b = 0; b < comp_mask_solver_count(); b++) {
    const comp_mask_solver_ops *ops = comp_mask_solver_at(b);
    if (!comp_mask_solver_owns_gram(ops)) continue;
    comp_mask_problem q = qid;
    q.G = q.G_scratch    = NULL;
    q.c                  = NULL;
    comp_mask_solver *ms = NULL;
    double           *rows[MAX_K];
    double            e_obs = 0, e_id = 0, e_perm = 0, e_one = 0;
    int               g_id = 0, g_perm = 0, g_one = 0;
    comp_status       s = comp_mask_solver_create(ops, &q, MPI_COMM_WORLD, &ms);
    if (!s) s = comp_mask_solver_diag_inv(ms, got);
    for (int64_t k = 0; !s && k < d; k++) {
      double e = fabs(1.0 / got[k] - ref[k]) / fabs(ref[k]);
      if (!(e <= e_obs)) e_obs = e;
    }
    for (int i = 0; i < nk; i++) rows[i] = m + (int64_t)i * d;
    if (!s) s = comp_mask_solver_solve_many(ms, nk, ks, rows, ok); /* identity order, after diag_inv */
    if (!s) e_id = masks_diff(m, mid, ok, okid, ks, nk, d, &g_id);
    if (!s) s = comp_mask_solver_reorder(ms, p->perm);
    if (!s) s = comp_mask_solver_solve_many(ms, nk, ks, rows, ok); /* the keep order */
    if (!s) e_perm = masks_diff(m, mref, ok, okref, ks, nk, d, &g_perm);
    for (int i = 0; !s && i < nk; i++) s = comp_mask_solver_solve(ms, ks[i], rows[i], &ok[i]);
    if (!s) e_one = masks_diff(m, mref, ok, okref, ks, nk, d, &g_one);
    comp_mask_solver_destroy(&ms);
    CHECK_MSG(s == COMP_OK, "%s own G: %s", ops->name, comp_error_message());
    comp_error_clear();
    if (s) continue;
    CHECK_MSG(e_obs <= TOL && e_id <= TOL && e_perm <= TOL && e_one <= TOL && !g_id && !g_perm && !g_one,
              "%s L%d %s (d=%lld) %s own G: OBS %.3g, identity-order masks %.3g, keep-order masks %.3g / %.3g, guard "
              "differences %d %d %d",
              model, layer, dense, (long long)d, ops->name, e_obs, e_id, e_perm, e_one, g_id, g_perm, g_one);
    if (rank_ == 0)
      printf("%-12s L%d %-6s d=%-4lld %-10s ranks=%d grid=%-7s own G: OBS %.2e, masks identity order %.2e, after "
             "reorder %.2e batched / %.2e single\n",
             model, layer, dense, (long long)d, ops->name, size_, grid_name(), e_obs, e_id, e_perm, e_one);
  }
done:
  free(ref), free(got), free(mref), free(mid), free(m), free(id);
}

/* Lanczos' operator for λmin in check_apply_inv: y = (G + λI)⁻¹ x through a back-end. */
static comp_status op_inv(void *ctx, const double *x, double *y) { return comp_mask_solver_apply_inv(ctx, x, y); }

/* Back-ends with apply_inv (COND importance's shift-invert on the solver's ranks): y = (G+λI)⁻¹ x
 * from the distributed factor against LAPACK's dposv on one rank, and the whole of Eq. 7 built on
 * it (λmax by Lanczos on G, λmin by Lanczos on apply_inv) against comp_eq7_cond_grad (one
 * tridiagonal reduction): κ (to what a dense eigen-solver attains, ~ε·κ relative) and g. */
static void check_apply_inv(const char *model, int layer, const char *dense, const problem *pr)
{
  const comp_mask_problem *p   = &pr->p;
  const int64_t            d   = p->d;
  const double             lam = comp_mask_ridge(p->G, d, EPS_REL);
  double                  *A = malloc((size_t)(d * d) * sizeof *A), *x = malloc((size_t)d * sizeof *x);
  double                  *yref = malloc((size_t)d * sizeof *yref), *y = malloc((size_t)d * sizeof *y);
  double                  *g = malloc((size_t)d * sizeof *g), *gref = malloc((size_t)d * sizeof *gref);
  double                  *v    = malloc((size_t)(2 * d) * sizeof *v); /* (d, 2) v_min, v_max */
  int32_t                 *id   = malloc((size_t)d * sizeof *id);
  double                   kref = 0;
  CHECK(A && x && yref && y && g && gref && v && id);
  if (!all_ok(A && x && yref && y && g && gref && v && id)) goto done;
  memcpy(A, p->G, (size_t)(d * d) * sizeof *A);
  for (int64_t k = 0; k < d; k++) {
    A[k * d + k] += lam;
    x[k]    = sin(0.37 * (double)(k + 1)) + 0.5;
    yref[k] = x[k];
  }
  CHECK(LAPACKE_dposv(LAPACK_COL_MAJOR, 'L', (lapack_int)d, 1, A, (lapack_int)d, yref, (lapack_int)d) == 0);
  CHECK_OK(comp_eq7_cond_grad(p->G, d, EPS_REL, &kref, gref));
  const comp_mask_problem q = identity_order(p, id);
  for (int i = 0; i < comp_mask_solver_count(); i++) {
    const comp_mask_solver_ops *ops = comp_mask_solver_at(i);
    if (!ops->apply_inv) continue;
    comp_mask_solver *ms     = NULL;
    double            th_max = 0, th_inv = 0, kappa = 0;
    bool              cmax = false, cmin = false;
    comp_sym          so = {.A = p->G, .d = d};
    comp_status       s  = comp_mask_solver_create(ops, &q, MPI_COMM_WORLD, &ms);
    if (!s) s = comp_mask_solver_apply_inv(ms, x, y);
    if (!s) s = comp_lanczos_top(comp_sym_apply, &so, d, COMP_LANCZOS_STEPS, &th_max, v + d, &cmax);
    if (!s) s = comp_lanczos_top(op_inv, ms, d, COMP_LANCZOS_STEPS, &th_inv, v, &cmin);
    if (!s && cmax && cmin) s = comp_eq7_from_eigpairs(d, lam, 1.0 / th_inv - lam, th_max, v, v + d, &kappa, g);
    comp_mask_solver_destroy(&ms);
    CHECK_MSG(s == COMP_OK && cmax && cmin, "%s apply_inv / Lanczos: %s (converged %d %d)", ops->name,
              comp_error_message(), cmax, cmin);
    comp_error_clear();
    if (s || !cmax || !cmin) continue;
    double ey = 0, ny = 0, eg = 0, ng = 0;
    for (int64_t k = 0; k < d; k++) {
      ey = fmax(ey, fabs(y[k] - yref[k])), ny = fmax(ny, fabs(yref[k]));
      eg = fmax(eg, fabs(g[k] - gref[k])), ng = fmax(ng, fabs(gref[k]));
    }
    const double ek = fabs(kappa - kref) / kref;
    ey /= ny, eg /= ng;
    CHECK_MSG(ey <= 1e-9 && ek <= 1e-12 + 64 * DBL_EPSILON * kref && eg <= 1e-6,
              "%s L%d %s (d=%lld) %s: (G+lambda I)^-1 x off by %.3g, kappa by %.3g, its gradient by %.3g", model, layer,
              dense, (long long)d, ops->name, ey, ek, eg);
    if (rank_ == 0)
      printf("%-12s L%d %-6s d=%-4lld %-10s ranks=%d grid=%-7s apply_inv vs dposv %.2e; kappa %.6g vs tridiag %.2e, "
             "g %.2e\n",
             model, layer, dense, (long long)d, ops->name, size_, grid_name(), ey, kappa, ek, eg);
  }
done:
  free(A), free(x), free(yref), free(y), free(g), free(gref), free(v), free(id);
}

/* Lanczos' operator for λmax in check_regram: y = G x through a back-end. */
static comp_status op_apply(void *ctx, const double *x, double *y) { return comp_mask_solver_apply(ctx, x, y); }

/* max |y − G x| / max |G x| for G (d,d) whole (row-major, symmetric). */
static double apply_diff(const double *G, const double *x, const double *y, int64_t d)
{
  double e = 0, n = 0;
  for (int64_t i = 0; i < d; i++) {
    double r = 0;
    for (int64_t j = 0; j < d; j++) r += G[i * d + j] * x[j];
    e = fmax(e, fabs(y[i] - r)), n = fmax(n, fabs(r));
  }
  return e / n;
}

/* Eq. 7 through a back-end's G (apply) and its factor (apply_inv), as prune_layer's COND on a group
 * without a whole G: κ and g (d); false when Lanczos does not converge or a call fails. */
static comp_status eq7_through(comp_mask_solver *ms, int64_t d, double lam, double *v, double *kappa, double *g,
                               bool *conv)
{
  double      th_max = 0, th_inv = 0;
  bool        cmax = false, cmin = false;
  comp_status s = comp_lanczos_top(op_apply, ms, d, COMP_LANCZOS_STEPS, &th_max, v + d, &cmax);
  if (!s && cmax) s = comp_lanczos_top(op_inv, ms, d, COMP_LANCZOS_STEPS, &th_inv, v, &cmin);
  *conv = cmax && cmin;
  if (!s && *conv) s = comp_eq7_from_eigpairs(d, lam, 1.0 / th_inv - lam, th_max, v, v + d, kappa, g);
  return s;
}

/* Back-ends that keep WᵀW's share and swap G's rows (regram: COND's Fisher samples and κ with no
 * whole G on any rank). Created without G and X; each of two calibration sequences in turn as a
 * Fisher sample — the ridge against comp_mask_ridge, G_s x (apply) against the whole G_s, κ and g of
 * Eq. 7 through apply and apply_inv against comp_eq7_cond_grad (one tridiagonal reduction) on the
 * whole G_s, solves and G_s x after its factor refused — then all rows: the ridge, G x before and
 * after the factor, and the masks after reorder() to the keep order against LAPACK on the
 * replicated G. */
static void check_regram(const char *model, int layer, const char *dense, const problem *pr)
{
  const comp_mask_problem *p = &pr->p;
  const int64_t            d = p->d, ts = p->n / B; /* a sample's rows */
  int64_t                  ks[MAX_K];
  const int                nk = k_list(d, ks);
  double *Gs = malloc((size_t)(d * d) * sizeof *Gs), *WtW = malloc((size_t)(d * d) * sizeof *WtW); /* (d, d) each */
  double *x = malloc((size_t)d * sizeof *x), *y = malloc((size_t)d * sizeof *y),
         *v  = malloc((size_t)(2 * d) * sizeof *v);
  double  *g = malloc((size_t)d * sizeof *g), *gref = malloc((size_t)d * sizeof *gref);
  double  *mref = malloc((size_t)(nk * d) * sizeof *mref), *m = malloc((size_t)(nk * d) * sizeof *m);
  int32_t *id = malloc((size_t)d * sizeof *id);
  bool     okref[MAX_K], ok[MAX_K];
  if (!all_ok(Gs && WtW && x && y && v && g && gref && mref && m && id) || pr->Xp) goto done;
  if (!solve_all(comp_mask_solver_find("lapack"), p, ks, nk, mref, okref, true)) goto done;
  comp_wtw(WtW, p->W, p->d_out, d);
  for (int64_t k = 0; k < d; k++) x[k] = sin(0.37 * (double)(k + 1)) + 0.5;
  for (int b = 0; b < comp_mask_solver_count(); b++) {
    const comp_mask_solver_ops *ops = comp_mask_solver_at(b);
    if (!comp_mask_solver_regrams(ops)) continue;
    comp_mask_problem q = identity_order(p, id);
    q.G = q.G_scratch = NULL;
    q.c               = NULL;
    q.X = q.Xp           = NULL;
    comp_mask_solver *ms = NULL;
    double           *rows[MAX_K];
    double            lam = 0, kappa = 0, kref = 0, e_lam = 0, e_ax = 0, e_k = 0, e_g = 0, e_m = 0;
    bool              conv = true, refused = true;
    int               guard_diff = 0;
    comp_status       s          = comp_mask_solver_create(ops, &q, MPI_COMM_WORLD, &ms);
    if (!s) { /* nothing to solve before the first regram */
      refused = comp_mask_solver_solve(ms, 1, m, ok) == COMP_ERR_ARG;
      comp_error_clear();
    }
    for (int smp = 0; !s && conv && smp < 2; smp++) {
      const float *Xs = p->X + (int64_t)smp * ts * d;
      memset(Gs, 0, (size_t)(d * d) * sizeof *Gs);
      comp_gram_acc(Gs, Xs, ts, d);
      comp_eq5_gram(Gs, WtW, Gs, d);
      const double lref = comp_mask_ridge(Gs, d, EPS_REL);
      CHECK_OK(comp_eq7_cond_grad(Gs, d, EPS_REL, &kref, gref));
      s = comp_mask_solver_regram(ms, Xs, ts, true, &lam);
      if (!s) s = comp_mask_solver_apply(ms, x, y);
      if (!s) e_ax = fmax(e_ax, apply_diff(Gs, x, y, d));
      if (!s) s = eq7_through(ms, d, lam, v, &kappa, g, &conv);
      if (s || !conv) break;
      e_lam     = fmax(e_lam, fabs(lam - lref) / lref);
      e_k       = fmax(e_k, fabs(kappa - kref) / kref / (1e-12 + 64 * DBL_EPSILON * kref)); /* what tridiag attains */
      double eg = 0, ng = 0;
      for (int64_t k = 0; k < d; k++) eg = fmax(eg, fabs(g[k] - gref[k])), ng = fmax(ng, fabs(gref[k]));
      e_g = fmax(e_g, eg / ng);
      /* a factored sample: no G x (its lower triangle is the factor) and no solves */
      refused = refused && comp_mask_solver_apply(ms, x, y) == COMP_ERR_ARG;
      comp_error_clear();
      refused = refused && comp_mask_solver_solve(ms, 1, m, ok) == COMP_ERR_ARG;
      comp_error_clear();
    }
    if (!s && conv) s = comp_mask_solver_regram(ms, p->X, p->n, false, &lam);
    if (!s) e_lam = fmax(e_lam, fabs(lam - comp_mask_ridge(p->G, d, EPS_REL)) / lam);
    if (!s && conv) s = comp_mask_solver_apply(ms, x, y); /* from G's lower triangle */
    if (!s && conv) e_ax = fmax(e_ax, apply_diff(p->G, x, y, d));
    if (!s && conv) s = comp_mask_solver_apply_inv(ms, x, v); /* factors */
    if (!s && conv) s = comp_mask_solver_apply(ms, x, y);     /* from G's upper triangle and diagonal */
    if (!s && conv) e_ax = fmax(e_ax, apply_diff(p->G, x, y, d));
    if (!s && conv) s = comp_mask_solver_reorder(ms, p->perm);
    for (int i = 0; i < nk; i++) rows[i] = m + (int64_t)i * d;
    if (!s && conv) s = comp_mask_solver_solve_many(ms, nk, ks, rows, ok);
    if (!s && conv) e_m = masks_diff(m, mref, ok, okref, ks, nk, d, &guard_diff);
    comp_mask_solver_destroy(&ms);
    CHECK_MSG(s == COMP_OK && conv, "%s regram: %s (Lanczos converged %d)", ops->name, comp_error_message(), conv);
    comp_error_clear();
    if (s || !conv) continue;
    CHECK_MSG(e_lam <= 1e-12 && e_ax <= 1e-12 && e_k <= 1 && e_g <= 1e-6 && e_m <= TOL && !guard_diff && refused,
              "%s L%d %s (d=%lld) %s regram: ridge %.3g, G x %.3g, kappa %.3g of its bound, g %.3g, masks %.3g (guard "
              "differences %d), refusals %d",
              model, layer, dense, (long long)d, ops->name, e_lam, e_ax, e_k, e_g, e_m, guard_diff, refused);
    if (rank_ == 0)
      printf("%-12s L%d %-6s d=%-4lld %-10s ranks=%d grid=%-7s regram: samples' ridge %.2e, G x %.2e, kappa %.2f of "
             "its bound, g %.2e; all rows: masks after reorder %.2e\n",
             model, layer, dense, (long long)d, ops->name, size_, grid_name(), e_lam, e_ax, e_k, e_g, e_m);
  }
done:
  free(Gs), free(WtW), free(x), free(y), free(v), free(g), free(gref), free(mref), free(m), free(id);
}

/* Every back-end against lapack on one problem; one line per back-end. */
static void compare(const char *model, int layer, const char *dense, const problem *pr)
{
  const comp_mask_problem *p = &pr->p;
  int64_t                  ks[MAX_K];
  const int                nk   = k_list(p->d, ks);
  double                  *mref = malloc((size_t)(nk * p->d) * sizeof *mref);
  double                  *m    = malloc((size_t)(nk * p->d) * sizeof *m);
  bool                     okref[MAX_K], ok[MAX_K];
  CHECK(mref && m);
  if (!all_ok(mref && m) || !solve_all(comp_mask_solver_find("lapack"), p, ks, nk, mref, okref, false)) goto done;
  int n_guard = 0;
  for (int i = 0; i < nk; i++) n_guard += !okref[i];
  for (int bm = 0; bm < 2 * comp_mask_solver_count(); bm++) { /* each back-end, one k at a time and batched */
    const comp_mask_solver_ops *ops  = comp_mask_solver_at(bm / 2);
    const bool                  many = bm % 2;
    double                      t0   = MPI_Wtime();
    if (!solve_all(ops, p, ks, nk, m, ok, many)) continue;
    int          guard_diff;
    const double t = MPI_Wtime() - t0, worst = masks_diff(m, mref, ok, okref, ks, nk, p->d, &guard_diff);
    CHECK_MSG(worst <= TOL, "%s L%d %s (d=%lld) %s: max rel diff %.3g > %g", model, layer, dense, (long long)p->d,
              ops->name, worst, TOL);
    CHECK_MSG(guard_diff == 0, "%s L%d %s (d=%lld) %s: guard disagrees with lapack for %d of %d k", model, layer, dense,
              (long long)p->d, ops->name, guard_diff, nk);
    if (rank_ == 0)
      printf(
          "%-12s L%d %-6s d=%-4lld X'%sX %-10s %-7s ranks=%d grid=%-7s max rel diff %.2e over %2d k (%d guarded) %.3f "
          "s\n",
          model, layer, dense, (long long)p->d, pr->Xp ? "!=" : "==", ops->name, many ? "batched" : "single", size_,
          grid_name(), worst, nk, n_guard, t);
  }
done:
  free(mref);
  free(m);
}

/* G handed over (G_scratch = G, a copy): lapack factors in it, scalapack on a 1x1 grid too (its
 * block-cyclic A is all of G[π,π]; the right sides then come from the factor's untouched upper
 * triangle); with G symmetric bit for bit, as prune_layer builds it, the masks must equal those of
 * the copying path bit for bit. */
static void check_in_place(const char *model, int layer, const char *dense, const problem *pr)
{
  const comp_mask_problem *p = &pr->p;
  int64_t                  ks[MAX_K];
  const int                nk = k_list(p->d, ks);
  double *mref = malloc((size_t)(nk * p->d) * sizeof *mref), *m = malloc((size_t)(nk * p->d) * sizeof *m);
  double *Gc = malloc((size_t)(p->d * p->d) * sizeof *Gc);
  double *Gs = malloc((size_t)(p->d * p->d) * sizeof *Gs); /* (d, d) G's lower triangle mirrored */
  bool    okref[MAX_K], ok[MAX_K];
  if (!all_ok(mref && m && Gc && Gs)) goto done;
  for (int64_t i = 0; i < p->d; i++)
    for (int64_t j = 0; j < p->d; j++) Gs[i * p->d + j] = j <= i ? p->G[i * p->d + j] : p->G[j * p->d + i];
  for (int b = 0; b < comp_mask_solver_count(); b++) {
    const comp_mask_solver_ops *ops = comp_mask_solver_at(b);
    if (strcmp(ops->name, "lapack") != 0 && strcmp(ops->name, "scalapack") != 0) continue;
    comp_mask_problem ref = *p, q = *p;
    memcpy(Gc, Gs, (size_t)(p->d * p->d) * sizeof *Gc);
    ref.G = Gs;
    q.G = q.G_scratch = Gc;
    if (!solve_all(ops, &ref, ks, nk, mref, okref, true) || !solve_all(ops, &q, ks, nk, m, ok, true)) continue;
    bool same = true; /* row i holds ks[i] entries */
    for (int i = 0; i < nk; i++)
      same = same && memcmp(m + (int64_t)i * p->d, mref + (int64_t)i * p->d, (size_t)ks[i] * sizeof *m) == 0;
    CHECK_MSG(same, "%s L%d %s (d=%lld) %s: masks with G handed over differ from the copying path", model, layer, dense,
              (long long)p->d, ops->name);
    if (rank_ == 0 && same)
      printf("%-12s L%d %-6s d=%-4lld %-10s grid=%-7s G handed over (in place): masks identical\n", model, layer, dense,
             (long long)p->d, ops->name, grid_name());
  }
done:
  free(mref);
  free(m);
  free(Gc);
  free(Gs);
}

static void check_model(const char *shared, const char *name, const char *model_path, const char *tok_path)
{
  capture c;
  memset(&c, 0, sizeof c);
  if (!all_ok(capture_model(shared, model_path, tok_path, &c))) {
    capture_free(&c);
    return;
  }
  for (int l = 0; l < N_LAYERS; l++)
    for (int j = 0; j < N_SEL; j++) {
      problem              pr;
      comp_importance_kind kind = j == 0 ? COMP_IMP_WANDA : COMP_IMP_OBS;
      if (all_ok(problem_build(&pr, c.w[l][j], c.d_out[l][j], c.d[l][j], c.x[l][j], NULL, 0.0f, kind))) {
        compare(name, c.layer[l], comp_dense_name(sel_dense[j]), &pr);
        check_diag_inv(name, c.layer[l], comp_dense_name(sel_dense[j]), &pr);
        check_apply_inv(name, c.layer[l], comp_dense_name(sel_dense[j]), &pr);
        check_in_place(name, c.layer[l], comp_dense_name(sel_dense[j]), &pr);
        check_own_gram(name, c.layer[l], comp_dense_name(sel_dense[j]), &pr);
        check_regram(name, c.layer[l], comp_dense_name(sel_dense[j]), &pr);
      }
      problem_free(&pr);
    }
  /* X′ ≠ X: the down dense of the last layer, X′ mixing in (0.1) or replaced by (1.0) the first
   * selected layer's input; the latter drives some masks past the guard (opt-6L) */
  for (int a = 0; a < 2; a++) {
    problem pr;
    if (all_ok(problem_build(&pr, c.w[1][2], c.d_out[1][2], c.d[1][2], c.x[1][2], c.x[0][2], a ? 1.0f : 0.1f,
                             COMP_IMP_OBS)))
      compare(name, c.layer[1], comp_dense_name(sel_dense[2]), &pr);
    problem_free(&pr);
  }
  capture_free(&c);
}

/* G = I except G_jj = −1 at j = 100 (d = 130, three 64-blocks), λ = 0, identity order: the
 * factorising back-ends must fail with COMP_ERR_NUMERIC naming leading minor 101. */
static void check_indefinite(void)
{
  enum { D = 130, BAD = 100 };
  double *G = calloc(D * D, sizeof *G), c[D] = {0};
  int32_t perm[D];
  float   w = 1.0f;
  if (!G) return;
  for (int i = 0; i < D; i++) {
    G[i * D + i] = i == BAD ? -1.0 : 1.0;
    perm[i]      = i;
  }
  comp_mask_problem p = {.d = D, .d_out = 1, .n = 1, .W = &w, .X = &w, .Xp = &w, .G = G, .c = c, .perm = perm};
  for (int b = 0; b < comp_mask_solver_count(); b++) {
    const comp_mask_solver_ops *ops = comp_mask_solver_at(b);
    if (strcmp(ops->name, "lapack") != 0 && strcmp(ops->name, "scalapack") != 0) continue;
    comp_mask_solver *ms = NULL;
    comp_status       s  = comp_mask_solver_create(ops, &p, MPI_COMM_WORLD, &ms);
    CHECK_MSG(s == COMP_ERR_NUMERIC && strstr(comp_error_message(), "leading minor 101"),
              "%s on an indefinite matrix: status %d, '%s'", ops->name, (int)s, comp_error_message());
    if (rank_ == 0) printf("indefinite G (d=%d) %-10s -> %s\n", D, ops->name, comp_error_message());
    comp_error_clear();
    comp_mask_solver_destroy(&ms);
  }
  free(G);
}

int main(int argc, char **argv)
{
  const char *shared = comp_test_shared(argc, argv); /* before MPI_Init: every rank exits 77 alike */
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  double t0 = MPI_Wtime();
  char   m[1024], t[1100];
  snprintf(m, sizeof m, "%s/data/trained/llama-8L", shared);
  snprintf(t, sizeof t, "%s/tokenizer.json", m);
  check_model(shared, "llama-8L", m, t);
  snprintf(m, sizeof m, "%s/data/trained/opt-6L", shared);
  snprintf(t, sizeof t, "%s/tokenizer.json", m);
  check_model(shared, "opt-6L", m, t);
  snprintf(m, sizeof m, "%s/data/llama2c-stories260K/stories260K.bin", shared);
  snprintf(t, sizeof t, "%s/data/llama2c-stories260K/tok512.bin", shared);
  check_model(shared, "stories260K", m, t);
  check_indefinite();

  int fail = comp_test_fail_, any = 0;
  MPI_Allreduce(&fail, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank_ == 0)
    printf("%d back-end(s), %d rank(s), grid %s: %d passed, %d failed on rank 0 (%.2f s)\n", comp_mask_solver_count(),
           size_, grid_name(), comp_test_pass_, comp_test_fail_, MPI_Wtime() - t0);
  comp_mask_solvers_finalize();
  MPI_Finalize();
  return any ? 1 : 0;
}
