/* masksolve_scalapack.c - the `scalapack` Eq. 5 mask-solve back-end (see comp/masksolve.h).
 *
 * The lapack back-end's prefix trick, distributed: A = G[π,π] + λI is laid out block-cyclically
 * (nb × nb blocks) over a pr × pc BLACS grid built on the solver's communicator, each rank filling
 * its own blocks straight from the replicated G (no communication), and factored once with pdpotrf
 * (lower). The kept set of every k is the prefix π[0..k), and the Cholesky factor of the leading
 * k×k block of A is the leading k×k block of the full factor, so solve(k) is one pdpotrs with
 * N = k on the same descriptor (IA = JA = 1 addresses exactly that block). The right-hand side
 * c_S − G_SS 1_S lives in a d×1 block-cyclic vector (process column 0) whose owners compute their
 * rows from the replicated G and c; δ is summed onto rank 0 of the communicator (each entry has
 * exactly one owner, so the sum is exact) and m = 1 + δ.
 *
 * Settings (`comp prune -mask_grid RxC -mask_nb NB`, or the environment COMP_SCALAPACK_GRID="RxC",
 * COMP_SCALAPACK_NB): the grid when R*C equals the communicator's size (otherwise the near-square
 * default pr <= pc is used), and the block size (64).
 *
 * ScaLAPACK/BLACS ship no C header (Debian libscalapack-openmpi-dev): the prototypes are declared
 * here, Fortran symbols with trailing underscore, hidden string lengths omitted (1-char args). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp/dist.h"
#include "comp/masksolve.h"
#include "comp/prune_math.h"

/* ---- BLACS / ScaLAPACK prototypes ------------------------------------------------------------------ */

extern int  Csys2blacs_handle(MPI_Comm comm);
extern void Cfree_blacs_system_handle(int handle);
extern void Cblacs_gridinit(int *ictxt, const char *order, int nprow, int npcol);
extern void Cblacs_gridinfo(int ictxt, int *nprow, int *npcol, int *myrow, int *mycol);
extern void Cblacs_gridexit(int ictxt);
extern int  numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
extern void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *irsrc,
                      const int *icsrc, const int *ictxt, const int *lld, int *info);
extern void pdpotrf_(const char *uplo, const int *n, double *a, const int *ia, const int *ja, const int *desca,
                     int *info);
extern void pdpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *ia, const int *ja,
                     const int *desca, double *b, const int *ib, const int *jb, const int *descb, int *info);

extern void pdtrtri_(const char *uplo, const char *diag, const int *n, double *a, const int *ia, const int *ja,
                     const int *desca, int *info);
extern void pdtrsm_(const char *side, const char *uplo, const char *transa, const char *diag, const int *m,
                    const int *n, const double *alpha, const double *a, const int *ia, const int *ja, const int *desca,
                    double *b, const int *ib, const int *jb, const int *descb);

enum { SCALAPACK_NB_DEFAULT = 64, DLEN = 9 };

typedef struct scalapack_ctx {
  const comp_mask_problem *p;    /* the caller's problem (valid until destroy)                         */
  MPI_Comm                 comm; /* the wrapper's communicator                                          */
  int                      sys;  /* BLACS system handle of comm (-1: none)                              */
  int                      ctxt; /* BLACS grid context (-1: none)                                       */
  int                      nprow, npcol, myrow, mycol;
  int                      nb;   /* block size (rows = columns)                                         */
  int                      mloc; /* local rows of A and b                                               */
  int                      nloc; /* local columns of A                                                  */
  int                      desca[DLEN], descb[DLEN];
  double                  *a;        /* (lld, nloc) column-major, lld = max(1, mloc): local blocks of A→L  */
  double                  *b;        /* (max(1, mloc)) local rows of the d×1 rhs (process column 0 only)    */
  double                  *delta;    /* (d) δ of the owned rows, zero elsewhere, summed onto rank 0         */
  bool                     borrowed; /* a is the caller's G_scratch (a 1x1 grid): not freed here        */
  double                  *diag;     /* (d) diag G[π,π] when borrowed (the factor overwrites it)            */
} scalapack_ctx;

/* G[π_i, π_j]: from the caller's G, or, when A is G itself (borrowed), from what pdpotrf("L")
 * leaves of it: the strict upper triangle (never referenced by the factorisation) and the saved
 * diagonal. The same value either way when G is symmetric bit for bit (as prune_layer's is). */
static inline double g_perm(const scalapack_ctx *c, int64_t i, int64_t j)
{
  const int64_t d = c->p->d;
  if (!c->borrowed) return c->p->G[(int64_t)c->p->perm[i] * d + c->p->perm[j]];
  return i == j ? c->diag[i] : i < j ? c->a[j * d + i] : c->a[i * d + j]; /* column-major a(min, max) */
}

/* Global index of local index l in a dimension cut into nb blocks dealt round-robin over np
 * processes starting at process 0, on process ip. */
static int64_t local_to_global(int l, int nb, int ip, int np) { return ((int64_t)(l / nb) * np + ip) * nb + l % nb; }

/* "RxC" -> rows, cols. false on anything else (trailing text, non-positive numbers). */
static bool parse_grid(const char *s, int *rows, int *cols)
{
  char *e;
  long  r = strtol(s, &e, 10);
  if (e == s || (*e != 'x' && *e != 'X')) return false;
  const char *t = e + 1;
  long        c = strtol(t, &e, 10);
  if (e == t || *e != '\0' || r <= 0 || c <= 0 || r > INT_MAX || c > INT_MAX) return false;
  *rows = (int)r;
  *cols = (int)c;
  return true;
}

/* A setting: "-mask_<name> VALUE" among the back-end options (comp_mask_solver_options(), from
 * `comp prune ... -mask_grid 2x4`), else the environment variable env; NULL when neither. */
static const char *setting(const char *name, const char *env, char *buf, size_t cap)
{
  char key[64];
  snprintf(key, sizeof key, "-mask_%s", name);
  const char *o = comp_mask_solver_options(), *hit = NULL;
  for (const char *p = strstr(o, key); p; p = strstr(p + 1, key))
    if ((p == o || p[-1] == ' ') && p[strlen(key)] == ' ') hit = p + strlen(key) + 1;
  if (!hit) return getenv(env);
  size_t n = strcspn(hit, " ");
  snprintf(buf, cap, "%.*s", (int)(n < cap ? n : cap - 1), hit);
  return buf;
}

/* The process grid for `size` ranks: -mask_grid / COMP_SCALAPACK_GRID when it is set and R*C == size, else the
 * near-square factorisation size = pr × pc with pr <= pc (1×2 for 2, 1×3 for 3, 2×2 for 4). */
static comp_status choose_grid(int size, int *nprow, int *npcol)
{
  char        buf[64];
  const char *env = setting("grid", "COMP_SCALAPACK_GRID", buf, sizeof buf);
  int         r, c;
  if (env && *env) {
    COMP_CHECK(parse_grid(env, &r, &c), COMP_ERR_ARG,
               "-mask_grid / COMP_SCALAPACK_GRID %s: expected ROWSxCOLS with positive numbers (e.g. 2x4)", env);
    if ((int64_t)r * c == size) {
      *nprow = r;
      *npcol = c;
      return COMP_OK;
    }
  }
  r = 1;
  for (int i = 1; (int64_t)i * i <= size; i++)
    if (size % i == 0) r = i;
  *nprow = r;
  *npcol = size / r;
  return COMP_OK;
}

static comp_status choose_nb(int *nb)
{
  char        buf[64];
  const char *env = setting("nb", "COMP_SCALAPACK_NB", buf, sizeof buf);
  *nb             = SCALAPACK_NB_DEFAULT;
  if (!env || !*env) return COMP_OK;
  char *e;
  long  v = strtol(env, &e, 10);
  COMP_CHECK(e != env && *e == '\0' && v > 0 && v <= 4096, COMP_ERR_ARG,
             "-mask_nb / COMP_SCALAPACK_NB %s: expected a block size in 1..4096", env);
  *nb = (int)v;
  return COMP_OK;
}

/* Release the grid (collective on its communicator) and the local arrays; NULL-safe. */
static void ctx_free(scalapack_ctx *c)
{
  if (!c) return;
  if (c->ctxt >= 0) Cblacs_gridexit(c->ctxt);
  if (c->sys >= 0) Cfree_blacs_system_handle(c->sys);
  if (!c->borrowed) free(c->a);
  free(c->diag);
  free(c->b);
  free(c->delta);
  free(c);
}

static void scalapack_destroy(void **ctx)
{
  if (!ctx) return;
  ctx_free(*ctx);
  *ctx = NULL;
}

/* A's local blocks: a(li, lj) = G[π_gi, π_gj] + λ[gi == gj] for the global (gi, gj) this rank owns. */
static void fill_local(scalapack_ctx *c, double lambda)
{
  const comp_mask_problem *p   = c->p;
  const int64_t            d   = p->d;
  const int64_t            lld = c->mloc > 1 ? c->mloc : 1;
  for (int lj = 0; lj < c->nloc; lj++) {
    const int64_t gj  = local_to_global(lj, c->nb, c->mycol, c->npcol);
    const double *row = p->G + (int64_t)p->perm[gj] * d; /* G symmetric: column π_gj read as a row */
    double       *col = c->a + lj * lld;
    for (int li = 0; li < c->mloc; li++) {
      const int64_t gi = local_to_global(li, c->nb, c->myrow, c->nprow);
      col[li]          = row[p->perm[gi]] + (gi == gj ? lambda : 0.0);
    }
  }
}

static comp_status scalapack_create(const comp_mask_problem *p, MPI_Comm comm, void **ctx)
{
  *ctx             = NULL;
  scalapack_ctx *c = calloc(1, sizeof *c);
  int            size, zero = 0, one = 1, info = 0;
  MPI_Comm_size(comm, &size);
  comp_status s = c ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "mask solve (scalapack): out of memory");
  if (c) {
    c->p    = p;
    c->comm = comm;
    c->sys  = -1;
    c->ctxt = -1;
  }
  if (!s) s = choose_grid(size, &c->nprow, &c->npcol);
  if (!s) s = choose_nb(&c->nb);
  if ((s = comp_dist_agree(comm, s))) goto fail;

  /* the grid: collective on comm (BLACS process numbers are ranks of comm, placed row-major) */
  c->sys  = Csys2blacs_handle(comm);
  c->ctxt = c->sys;
  Cblacs_gridinit(&c->ctxt, "Row", c->nprow, c->npcol);
  int nprow = 0, npcol = 0;
  Cblacs_gridinfo(c->ctxt, &nprow, &npcol, &c->myrow, &c->mycol);
  if (nprow != c->nprow || npcol != c->npcol || c->myrow < 0 || c->mycol < 0)
    s = comp_error_set(COMP_ERR_MPI, "mask solve (scalapack): BLACS grid %dx%d on %d ranks failed", c->nprow, c->npcol,
                       size);

  const int d = (int)p->d;
  if (!s) {
    c->mloc       = numroc_(&d, &c->nb, &c->myrow, &zero, &c->nprow);
    c->nloc       = numroc_(&d, &c->nb, &c->mycol, &zero, &c->npcol);
    const int ld  = c->mloc > 1 ? c->mloc : 1;                          /* leading dimension of a and b */
    const int nbv = numroc_(&one, &c->nb, &c->mycol, &zero, &c->npcol); /* 1 in process column 0 */
    /* on a 1x1 grid the local blocks are all of G[π,π] (column-major, lld = d): when the caller
     * hands G over, A is G itself, permuted in place (no second (d,d), as with lapack) */
    c->borrowed = c->nprow * c->npcol == 1 && p->G_scratch && p->G_scratch == p->G;
    c->a        = c->borrowed ? p->G_scratch : malloc((size_t)ld * (size_t)(c->nloc > 1 ? c->nloc : 1) * sizeof *c->a);
    c->b        = malloc((size_t)ld * (size_t)(nbv > 1 ? nbv : 1) * sizeof *c->b);
    c->delta    = malloc((size_t)d * sizeof *c->delta);
    if (c->borrowed) c->diag = malloc((size_t)d * sizeof *c->diag);
    if (!c->a || !c->b || !c->delta || (c->borrowed && !c->diag))
      s = comp_error_set(COMP_ERR_NOMEM, "mask solve (scalapack): out of memory for the local %d x %d blocks of d = %d",
                         c->mloc, c->nloc, d);
    if (!s) descinit_(c->desca, &d, &d, &c->nb, &c->nb, &zero, &zero, &c->ctxt, &ld, &info);
    if (!s && info == 0) descinit_(c->descb, &d, &one, &c->nb, &c->nb, &zero, &zero, &c->ctxt, &ld, &info);
    if (!s && info != 0) s = comp_error_set(COMP_ERR_INTERNAL, "mask solve (scalapack): descinit argument %d", -info);
  }
  if ((s = comp_dist_agree(comm, s))) goto fail;

  const double lambda = comp_mask_ridge(p->G, p->d, p->eps_rel); /* before G is permuted */
  if (c->borrowed) {
    s = comp_permute_sym_inplace(c->a, p->perm, p->d); /* the same values fill_local would copy */
    for (int64_t j = 0; !s && j < p->d; j++) c->diag[j] = c->a[j * p->d + j], c->a[j * p->d + j] += lambda;
  } else {
    fill_local(c, lambda);
  }
  if ((s = comp_dist_agree(comm, s))) goto fail;
  pdpotrf_("L", &d, c->a, &one, &one, c->desca, &info); /* info is global */
  if (info != 0)
    s = comp_error_set(COMP_ERR_NUMERIC,
                       info > 0 ? "mask solve (scalapack): G[pi,pi] + lambda*I is not positive definite (leading "
                                  "minor %d); raise eps_rel"
                                : "mask solve (scalapack): pdpotrf argument error %d",
                       info);
  if ((s = comp_dist_agree(comm, s))) goto fail;
  *ctx = c;
  return COMP_OK;
fail:
  ctx_free(c);
  return s;
}

static comp_status scalapack_solve(void *ctx, int64_t k, double *m)
{
  scalapack_ctx           *c = ctx;
  const comp_mask_problem *p = c->p;
  const int                n = (int)k, one = 1;
  int                      info = 0, rank;
  MPI_Comm_rank(c->comm, &rank);

  /* rhs_i = c_{π_i} − Σ_{j<k} G[π_i, π_j] on the rows i < k this rank owns (process column 0) */
  const bool owner = c->mycol == 0;
  for (int li = 0; owner && li < c->mloc; li++) {
    const int64_t gi = local_to_global(li, c->nb, c->myrow, c->nprow);
    if (gi >= k) {
      c->b[li] = 0.0;
      continue;
    }
    double sum = 0.0;
    for (int64_t j = 0; j < k; j++) sum += g_perm(c, gi, j);
    c->b[li] = p->c[p->perm[gi]] - sum;
  }
  /* (L_S L_Sᵀ) δ = rhs with the leading k×k block of the factor */
  pdpotrs_("L", &n, &one, c->a, &one, &one, c->desca, c->b, &one, &one, c->descb, &info);

  /* δ to rank 0: every row has one owner, the others add zeros (exact). Always reached, so no rank
   * leaves the collective early even on failure. */
  memset(c->delta, 0, (size_t)k * sizeof *c->delta);
  for (int li = 0; owner && li < c->mloc; li++) {
    const int64_t gi = local_to_global(li, c->nb, c->myrow, c->nprow);
    if (gi < k) c->delta[gi] = c->b[li];
  }
  MPI_Reduce(c->delta, rank == 0 ? m : NULL, n, MPI_DOUBLE, MPI_SUM, 0, c->comm);
  if (info != 0) return comp_error_set(COMP_ERR_NUMERIC, "mask solve (scalapack): pdpotrs failed (info %d)", info);
  if (rank == 0)
    for (int64_t i = 0; i < k; i++) m[i] += 1.0;
  return COMP_OK;
}

/* All kept counts at once: B (d, nk) block-cyclic like A, column c = c_S − G_SS 1_S for k_c (zero
 * below), then two pdtrsm with the whole factor, the entries beyond k_c zeroed in between so column
 * c sees exactly the leading k_c × k_c block (as comp_masktune_solve_many). */
static comp_status scalapack_solve_many(void *ctx, int nk, const int64_t *ks, double *const *m)
{
  scalapack_ctx           *c  = ctx;
  const comp_mask_problem *p  = c->p;
  const int64_t            d  = p->d;
  const int                di = (int)d, zero = 0, one = 1;
  const double             alpha = 1.0;
  int                      rank, info = 0, desc[DLEN];
  MPI_Comm_rank(c->comm, &rank);
  const int nkl = numroc_(&nk, &c->nb, &c->mycol, &zero, &c->npcol), ld = c->mloc > 1 ? c->mloc : 1;
  double   *B   = calloc((size_t)ld * (size_t)(nkl > 0 ? nkl : 1), sizeof *B); /* (ld, nkl) local part     */
  double   *all = calloc((size_t)(d * nk), sizeof *all);                       /* (d, nk) δ, summed on 0   */
  double   *pre = malloc(sizeof(double) * (size_t)nk);                         /* prefix sums of one row  */
  int      *ord = malloc(sizeof(int) * (size_t)nk);                            /* ks ascending            */
  int       bad = !B || !all || !pre || !ord;
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, c->comm);
  if (bad) {
    free(B), free(all), free(pre), free(ord);
    return comp_error_set(COMP_ERR_NOMEM, "mask solve (scalapack): out of memory for %d right-hand sides", nk);
  }
  descinit_(desc, &di, &nk, &c->nb, &c->nb, &zero, &zero, &c->ctxt, &ld, &info);
  for (int i = 0; i < nk; i++) { /* insertion sort by k (nk is small) */
    int j = i;
    for (; j > 0 && ks[ord[j - 1]] > ks[i]; j--) ord[j] = ord[j - 1];
    ord[j] = i;
  }
  for (int li = 0; li < c->mloc && nkl > 0; li++) {
    const int64_t gi  = local_to_global(li, c->nb, c->myrow, c->nprow);
    double        sum = 0.0;
    int           o   = 0;
    for (int64_t j = 0; j <= d && o < nk; j++) { /* pre[c] = Σ_{j < k_c} G[π_gi, π_j] */
      while (o < nk && ks[ord[o]] == j) pre[ord[o++]] = sum;
      if (j < d) sum += g_perm(c, gi, j);
    }
    for (int lc = 0; lc < nkl; lc++) {
      const int64_t gc = local_to_global(lc, c->nb, c->mycol, c->npcol);
      B[lc * ld + li]  = gi < ks[gc] ? p->c[p->perm[gi]] - pre[gc] : 0.0;
    }
  }
  if (info == 0) pdtrsm_("L", "L", "N", "N", &di, &nk, &alpha, c->a, &one, &one, c->desca, B, &one, &one, desc);
  for (int lc = 0; lc < nkl; lc++)
    for (int li = 0; li < c->mloc; li++)
      if (local_to_global(li, c->nb, c->myrow, c->nprow) >= ks[local_to_global(lc, c->nb, c->mycol, c->npcol)])
        B[lc * ld + li] = 0.0;
  if (info == 0) pdtrsm_("L", "L", "T", "N", &di, &nk, &alpha, c->a, &one, &one, c->desca, B, &one, &one, desc);
  for (int lc = 0; lc < nkl; lc++) { /* every entry has one owner: the sum on rank 0 is exact */
    const int64_t gc = local_to_global(lc, c->nb, c->mycol, c->npcol);
    for (int li = 0; li < c->mloc; li++) {
      const int64_t gi = local_to_global(li, c->nb, c->myrow, c->nprow);
      if (gi < ks[gc]) all[gc * d + gi] = B[lc * ld + li];
    }
  }
  MPI_Reduce(rank == 0 ? MPI_IN_PLACE : all, rank == 0 ? all : NULL, (int)(d * nk), MPI_DOUBLE, MPI_SUM, 0, c->comm);
  if (rank == 0)
    for (int cc = 0; cc < nk; cc++)
      for (int64_t i = 0; i < ks[cc]; i++) m[cc][i] = 1.0 + all[cc * d + i];
  free(B), free(all), free(pre), free(ord);
  return info == 0 ? COMP_OK : comp_error_set(COMP_ERR_INTERNAL, "mask solve (scalapack): descinit argument %d", -info);
}

/* diag((L Lᵀ)⁻¹)_j = Σ_{i>=j} (L⁻¹)_ij²: L⁻¹ in place (pdtrtri, d³/3 over the grid), then each rank
 * sums the squares of its own entries per column and the columns are summed over the grid. */
static comp_status scalapack_diag_inv(void *ctx, double *dinv)
{
  scalapack_ctx *c = ctx;
  const int      d = (int)c->p->d, one = 1;
  int            info = 0;
  pdtrtri_("L", "N", &d, c->a, &one, &one, c->desca, &info);
  memset(dinv, 0, (size_t)d * sizeof *dinv);
  const int64_t lld = c->mloc > 1 ? c->mloc : 1;
  for (int lj = 0; lj < c->nloc; lj++) {
    const int64_t gj  = local_to_global(lj, c->nb, c->mycol, c->npcol);
    const double *col = c->a + lj * lld;
    double        sum = 0.0;
    for (int li = 0; li < c->mloc; li++)
      if (local_to_global(li, c->nb, c->myrow, c->nprow) >= gj) sum += col[li] * col[li];
    dinv[gj] = sum;
  }
  MPI_Allreduce(MPI_IN_PLACE, dinv, d, MPI_DOUBLE, MPI_SUM, c->comm);
  return info == 0 ? COMP_OK : comp_error_set(COMP_ERR_NUMERIC, "obs importance (scalapack): pdtrtri info %d", info);
}

/* y = (L Lᵀ)⁻¹ x: x's rows into the d×1 block-cyclic vector (process column 0), one pdpotrs with
 * the whole factor, the owned rows summed onto rank 0 (one owner each: exact). */
static comp_status scalapack_apply_inv(void *ctx, const double *x, double *y)
{
  scalapack_ctx *c = ctx;
  const int      d = (int)c->p->d, one = 1;
  int            info = 0, rank;
  MPI_Comm_rank(c->comm, &rank);
  const bool owner = c->mycol == 0;
  for (int li = 0; owner && li < c->mloc; li++) c->b[li] = x[local_to_global(li, c->nb, c->myrow, c->nprow)];
  pdpotrs_("L", &d, &one, c->a, &one, &one, c->desca, c->b, &one, &one, c->descb, &info);
  memset(c->delta, 0, (size_t)d * sizeof *c->delta);
  for (int li = 0; owner && li < c->mloc; li++) c->delta[local_to_global(li, c->nb, c->myrow, c->nprow)] = c->b[li];
  MPI_Reduce(c->delta, rank == 0 ? y : NULL, d, MPI_DOUBLE, MPI_SUM, 0, c->comm);
  return info == 0 ? COMP_OK : comp_error_set(COMP_ERR_NUMERIC, "cond importance (scalapack): pdpotrs info %d", info);
}

const comp_mask_solver_ops comp_mask_solver_scalapack_ops = {
    .name       = "scalapack",
    .help       = "Cholesky of G[pi,pi] + lambda*I once, prefix solves, block-cyclic over a 2-D grid "
                  "of the ranks sharing a layer (ScaLAPACK; -mask_grid RxC, -mask_nb NB)",
    .create     = scalapack_create,
    .solve      = scalapack_solve,
    .solve_many = scalapack_solve_many,
    .destroy    = scalapack_destroy,
    .diag_inv   = scalapack_diag_inv,
    .apply_inv  = scalapack_apply_inv,
};
