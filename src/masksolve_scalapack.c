/* masksolve_scalapack.c - the `scalapack` Eq. 5 mask-solve back-end (see comp/masksolve.h).
 *
 * The lapack back-end's prefix trick, distributed: A = G[π,π] + λI is laid out block-cyclically
 * (nb × nb blocks) over a pr × pc BLACS grid built on the solver's communicator and factored once
 * with pdpotrf (lower). The kept set of every k is the prefix π[0..k), and the Cholesky factor of
 * the leading k×k block of A is the leading k×k block of the full factor, so solve(k) is two
 * pdtrsv with N = k on the same descriptor (IA = JA = 1 addresses exactly that block).
 *
 * A's local blocks come either from the caller's replicated G (each rank copies its own blocks, no
 * communication) or, when the problem has no G (own_gram: X′ = X, c = G 1), from W and X
 * themselves: each rank computes the lower-triangle part of its own blocks of (WᵀW)∘(XᵀX) with
 * local DGEMMs on the columns it owns (W and X are on every rank; the flops of one triangle, split
 * over the grid), and the upper triangle is fetched from the transposed positions' owners. G is
 * then never whole on any rank: d²/(pr·pc) doubles each, so a group's per-rank memory falls with
 * its size. reorder() moves A to a new keep order the same way (each entry fetched from where it
 * lies in the old order), from G's strict upper triangle, which pdpotrf("L") and pdtrtri("L")
 * leave untouched, and the saved diagonal.
 *
 * For COND (regram, apply): a problem without X keeps WᵀW's lower blocks (wtw); each Fisher sample's
 * G_s = (WᵀW)∘(X_sᵀX_s) is then made from them in A (the lower triangle only: a sample is used by
 * apply, while A still holds it, and by apply_inv through its factor), and finally G for all rows
 * (the upper fetched, WᵀW's blocks released). apply multiplies each rank's own entries of one
 * triangle and their mirrors, the partial products summed over the grid.
 *
 * The right-hand sides c_S − G_SS 1_S of any k come from the same untouched upper triangle:
 * Σ_{j<k} G[π_i, π_j] is summed by every rank over its own blocks (row i's entries right of the
 * diagonal and column i's above it) and the partial sums added over the grid (one allreduce of d
 * doubles per k); δ is summed onto rank 0 of the communicator (each entry has exactly one owner,
 * so that sum is exact) and m = 1 + δ.
 *
 * Settings (`comp prune -mask_grid RxC -mask_nb NB -mask_gram own|replicated`, or the environment
 * COMP_SCALAPACK_GRID="RxC", COMP_SCALAPACK_NB, COMP_SCALAPACK_GRAM): the grid when R*C equals the
 * communicator's size (otherwise the near-square default pr <= pc is used), the block size (64), and
 * whether a group builds G in its block-cyclic shares (own, the default) or replicated.
 *
 * ScaLAPACK/BLACS ship no C header (Debian libscalapack-openmpi-dev): the prototypes are declared
 * here, Fortran symbols with trailing underscore, hidden string lengths omitted (1-char args). */
#include <cblas.h>
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
extern void pdtrsv_(const char *uplo, const char *trans, const char *diag, const int *n, const double *a, const int *ia,
                    const int *ja, const int *desca, double *x, const int *ix, const int *jx, const int *descx,
                    const int *incx);

extern void pdtrtri_(const char *uplo, const char *diag, const int *n, double *a, const int *ia, const int *ja,
                     const int *desca, int *info);
extern void pdtrsm_(const char *side, const char *uplo, const char *transa, const char *diag, const int *m,
                    const int *n, const double *alpha, const double *a, const int *ia, const int *ja, const int *desca,
                    double *b, const int *ib, const int *jb, const int *descb);

enum {
  SCALAPACK_NB_DEFAULT = 64,
  DLEN                 = 9,
  GRAM_PANEL_COLS      = 256,      /* local columns per DGEMM of the own Gram build                   */
  GRAM_STAGE_BYTES     = 64 << 20, /* staging of W's / X's rows as doubles in the own Gram build       */
  MOVE_ENTRIES         = 1 << 21,  /* entries fetched per rank and round when A is redistributed, at most */
  MOVE_MIN             = 1 << 16,  /* ... and at least                                                   */
};

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
  int64_t                 *grow;     /* (mloc) global index of each local row                              */
  int64_t                 *gcol;     /* (nloc) global index of each local column                           */
  double                  *diag;     /* (d) diag G[π,π], every rank (the factor overwrites A's)            */
  double                  *cperm;    /* (d) c_{π_i}: the caller's c permuted, or (own_gram) G[π,π]'s row sums */
  double                  *wtw;      /* (lld, nloc) WᵀW's lower blocks, kept for regram (problem without X)   */
  const int32_t           *perm;     /* (d) the current keep order π (p->perm, then reorder's)              */
  double                   lambda;   /* the ridge                                                          */
  bool                     borrowed; /* a is the caller's G_scratch (a 1x1 grid): not freed here        */
  bool                     own_gram; /* A built here from W and X (the problem has no G)                 */
  bool                     factored; /* a holds the factor (own_gram: made at the first use)             */
  bool                     stale;    /* a's lower triangle is pdtrtri's L⁻¹ (after diag_inv)             */
  bool                     sample;   /* a holds a Fisher sample's lower triangle alone (regram): no solves */
} scalapack_ctx;

/* Global index of local index l in a dimension cut into nb blocks dealt round-robin over np
 * processes starting at process 0, on process ip. */
static int64_t local_to_global(int l, int nb, int ip, int np) { return ((int64_t)(l / nb) * np + ip) * nb + l % nb; }
/* The process holding global index g, and g's local index there. */
static int     owner_of(int64_t g, int nb, int np) { return (int)((g / nb) % np); }
static int64_t global_to_local(int64_t g, int nb, int np) { return g / nb / np * nb + g % nb; }
/* Local indices on process ip whose global index is below g (the first local index at or after g). */
static int64_t local_below(int64_t g, int nb, int ip, int np)
{
  const int64_t blk = g / nb, full = blk > ip ? (blk - ip + np - 1) / np : 0;
  return full * nb + (blk % np == ip ? g % nb : 0);
}

static int64_t lld_of(const scalapack_ctx *c) { return c->mloc > 1 ? c->mloc : 1; }

/* A's diagonal entry in local column lj when this rank holds it, else NULL. */
static double *diag_at(const scalapack_ctx *c, int lj)
{
  const int64_t g = c->gcol[lj];
  return owner_of(g, c->nb, c->nprow) == c->myrow ? c->a + lj * lld_of(c) + global_to_local(g, c->nb, c->nprow) : NULL;
}

/* ks[ord[0..nk)] ascending (insertion sort: nk is small). */
static void sort_ks(int nk, const int64_t *ks, int *ord)
{
  for (int i = 0; i < nk; i++) {
    int j = i;
    for (; j > 0 && ks[ord[j - 1]] > ks[i]; j--) ord[j] = ord[j - 1];
    ord[j] = i;
  }
}

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

/* -mask_gram / COMP_SCALAPACK_GRAM: whether a group builds G in its shares (own, the default). */
static bool scalapack_own_gram(void)
{
  char        buf[64];
  const char *v = setting("gram", "COMP_SCALAPACK_GRAM", buf, sizeof buf);
  return !v || !*v || strcmp(v, "replicated") != 0;
}

/* Release the grid (collective on its communicator) and the local arrays; NULL-safe. */
static void ctx_free(scalapack_ctx *c)
{
  if (!c) return;
  if (c->ctxt >= 0) Cblacs_gridexit(c->ctxt);
  if (c->sys >= 0) Cfree_blacs_system_handle(c->sys);
  if (!c->borrowed) free(c->a);
  free(c->diag);
  free(c->cperm);
  free(c->wtw);
  free(c->grow);
  free(c->gcol);
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

/* A's local blocks from the replicated G: a(li, lj) = G[π_gi, π_gj] (both triangles). */
static void fill_local(scalapack_ctx *c)
{
  const comp_mask_problem *p   = c->p;
  const int64_t            d   = p->d;
  const int64_t            lld = lld_of(c);
  for (int lj = 0; lj < c->nloc; lj++) {
    const double *row = p->G + (int64_t)c->perm[c->gcol[lj]] * d; /* G symmetric: column π_gj read as a row */
    double       *col = c->a + lj * lld;
    for (int li = 0; li < c->mloc; li++) col[li] = row[c->perm[c->grow[li]]];
  }
}

/* C += Z[:, π(rows)]ᵀ Z[:, π(cols)] on this rank's local columns [lc0, lc1) (column lc of C at
 * C + (lc − lc0)·ldc, rows by local row index), in panels of GRAM_PANEL_COLS columns, each from the
 * local row of its first global column on: the lower triangle and the diagonal blocks, one
 * triangle's flops. Z (nz, d) float row-major, staged to double a chunk of rows at a time. */
static comp_status local_gram_acc(const scalapack_ctx *c, double *C, int64_t ldc, const float *Z, int64_t nz, int lc0,
                                  int lc1)
{
  const int64_t d   = c->p->d;
  const int64_t li0 = local_below(c->gcol[lc0], c->nb, c->myrow, c->nprow);
  const int64_t mr = c->mloc - li0, nc = lc1 - lc0;
  if (mr <= 0 || nc <= 0 || nz <= 0) return COMP_OK;
  int64_t rows = GRAM_STAGE_BYTES / (int64_t)sizeof(double) / (mr + nc);
  rows         = rows < 16 ? 16 : rows > nz ? nz : rows;
  double  *zr  = malloc(sizeof(double) * (size_t)(rows * mr)); /* (mr, rows) column-major: Z's rows, my rows' columns */
  double  *zc  = malloc(sizeof(double) * (size_t)(rows * nc)); /* (nc, rows) column-major: my columns' columns        */
  int32_t *cr = malloc(sizeof(int32_t) * (size_t)(mr + nc)), *cc = cr ? cr + mr : NULL; /* Z's column of each */
  if (!zr || !zc || !cr) {
    free(zr), free(zc), free(cr);
    return comp_error_set(COMP_ERR_NOMEM, "mask solve (scalapack): out of memory staging the Gram's rows");
  }
  for (int64_t i = 0; i < mr; i++) cr[i] = c->perm[c->grow[li0 + i]];
  for (int64_t j = 0; j < nc; j++) cc[j] = c->perm[c->gcol[lc0 + j]];
  for (int64_t t0 = 0; t0 < nz; t0 += rows) {
    const int64_t r = nz - t0 < rows ? nz - t0 : rows;
    for (int64_t t = 0; t < r; t++) {
      const float *z = Z + (t0 + t) * d;
      for (int64_t i = 0; i < mr; i++) zr[t * mr + i] = z[cr[i]];
      for (int64_t j = 0; j < nc; j++) zc[t * nc + j] = z[cc[j]];
    }
    for (int p0 = lc0; p0 < lc1; p0 += GRAM_PANEL_COLS) {
      const int     p1 = p0 + GRAM_PANEL_COLS < lc1 ? p0 + GRAM_PANEL_COLS : lc1;
      const int64_t pi = local_below(c->gcol[p0], c->nb, c->myrow, c->nprow) - li0; /* offset in zr */
      if (pi >= mr) continue;
      cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)(mr - pi), p1 - p0, (int)r, 1.0, zr + pi, (int)mr,
                  zc + (p0 - lc0), (int)nc, 1.0, C + (int64_t)(p0 - lc0) * ldc + li0 + pi, (int)ldc);
    }
  }
  free(zr), free(zc), free(cr);
  return COMP_OK;
}

/* Where a local entry (ga, gb) of the new blocks is fetched from: the global position (*gi, *gj) of
 * the old blocks (same grid), or *gi = -1: not fetched. */
typedef void (*source_fn)(const void *ctx, int64_t ga, int64_t gb, int64_t *gi, int64_t *gj);

/* dst's local entries := src's at the positions f names, fetched from their owners: each rank asks
 * for its entries (local indices on the owner) and the owners answer, MOVE_ENTRIES at most per
 * rank and round. Collective on c->comm. src may be dst when no fetched position is also written. */
static comp_status redistribute(const scalapack_ctx *c, const double *src, double *dst, source_fn f, const void *fctx)
{
  int size;
  MPI_Comm_size(c->comm, &size);
  /* a round's asks: MOVE_ENTRIES, or a sixteenth of the local blocks when that is less (at least
   * MOVE_MIN): the buffers (44 bytes an entry) stay small beside the blocks themselves */
  const int64_t lld = lld_of(c), share = (int64_t)c->mloc * c->nloc;
  int64_t       per    = share / 16 < MOVE_ENTRIES ? share / 16 : MOVE_ENTRIES;
  per                  = per < MOVE_MIN ? MOVE_MIN : per;
  const int64_t chunk  = c->mloc > 0 ? (per / c->mloc > 0 ? per / c->mloc : 1) : c->nloc + 1;
  int           rounds = c->nloc > 0 ? (int)((c->nloc + chunk - 1) / chunk) : 0, zero = 0;
  int          *cnt = calloc((size_t)size * 4, sizeof *cnt);      /* send counts, displacements; receive the same */
  int64_t      *ldp = malloc(sizeof(int64_t) * (size_t)c->nprow); /* lld on each process row */
  const int64_t cap = chunk * (c->mloc > 0 ? c->mloc : 1);
  int64_t      *req = malloc(sizeof(int64_t) * (size_t)cap), *rin = NULL;
  double       *val = malloc(sizeof(double) * (size_t)cap), *vout = NULL;
  int          *dest = malloc(sizeof(int) * (size_t)cap);     /* owner of each asked entry (-1: none) */
  int64_t      *ask  = malloc(sizeof(int64_t) * (size_t)cap); /* its local index there, in entry order */
  const int64_t d    = c->p->d;
  int32_t      *own  = malloc(sizeof(int32_t) * (size_t)(4 * d)); /* (4, d) owner and local index of a global */
  int32_t      *rloc = own ? own + d : NULL, *cown = own ? own + 2 * d : NULL, *cloc = own ? own + 3 * d : NULL;
  int           bad = !cnt || !ldp || !req || !val || !dest || !ask || !own;
  MPI_Allreduce(MPI_IN_PLACE, &rounds, 1, MPI_INT, MPI_MAX, c->comm);
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, c->comm);
  comp_status s = bad ? comp_error_set(COMP_ERR_NOMEM, "mask solve (scalapack): out of memory moving A") : COMP_OK;
  for (int64_t g = 0; !s && g < d; g++) { /* row (own, rloc) and column (cown, cloc): no divisions per entry */
    own[g]  = owner_of(g, c->nb, c->nprow);
    rloc[g] = (int32_t)global_to_local(g, c->nb, c->nprow);
    cown[g] = owner_of(g, c->nb, c->npcol);
    cloc[g] = (int32_t)global_to_local(g, c->nb, c->npcol);
  }
  for (int pr = 0; !s && pr < c->nprow; pr++) {
    const int m = numroc_(&(int){(int)c->p->d}, &c->nb, &pr, &zero, &c->nprow);
    ldp[pr]     = m > 1 ? m : 1;
  }
  int *scnt = cnt, *sdsp = cnt + size, *rcnt = cnt + 2 * size, *rdsp = cnt + 3 * size;
  for (int round = 0; !s && round < rounds; round++) {
    const int64_t lc0 = round * chunk, lc1 = lc0 + chunk < c->nloc ? lc0 + chunk : c->nloc;
    int64_t       n = 0, nin = 0;
    memset(scnt, 0, sizeof(int) * (size_t)size);
    for (int64_t lj = lc0; lj < lc1; lj++)
      for (int li = 0; li < c->mloc; li++, n++) {
        int64_t gi, gj;
        f(fctx, c->grow[li], c->gcol[lj], &gi, &gj);
        dest[n] = gi < 0 ? -1 : own[gi] * c->npcol + cown[gj];
        if (dest[n] < 0) continue;
        scnt[dest[n]]++;
        ask[n] = rloc[gi] + (int64_t)cloc[gj] * ldp[own[gi]];
      }
    MPI_Alltoall(scnt, 1, MPI_INT, rcnt, 1, MPI_INT, c->comm);
    for (int q = 0; q < size; q++) {
      sdsp[q] = q ? sdsp[q - 1] + scnt[q - 1] : 0;
      rdsp[q] = q ? rdsp[q - 1] + rcnt[q - 1] : 0;
    }
    nin = rdsp[size - 1] + rcnt[size - 1];
    free(rin), free(vout);
    rin  = malloc(sizeof(int64_t) * (size_t)(nin > 0 ? nin : 1));
    vout = malloc(sizeof(double) * (size_t)(nin > 0 ? nin : 1));
    bad  = !rin || !vout;
    MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, c->comm);
    if (bad) {
      s = comp_error_set(COMP_ERR_NOMEM, "mask solve (scalapack): out of memory moving A");
      break;
    }
    /* the asks, grouped by owner, each group in this rank's entry order */
    for (int64_t i = 0; i < n; i++)
      if (dest[i] >= 0) req[sdsp[dest[i]]++] = ask[i];
    for (int q = 0; q < size; q++) sdsp[q] -= scnt[q];
    MPI_Alltoallv(req, scnt, sdsp, MPI_INT64_T, rin, rcnt, rdsp, MPI_INT64_T, c->comm);
    for (int64_t i = 0; i < nin; i++) vout[i] = src[rin[i]];
    MPI_Alltoallv(vout, rcnt, rdsp, MPI_DOUBLE, val, scnt, sdsp, MPI_DOUBLE, c->comm);
    n = 0;
    for (int64_t lj = lc0; lj < lc1; lj++)
      for (int li = 0; li < c->mloc; li++, n++)
        if (dest[n] >= 0) dst[lj * lld + li] = val[sdsp[dest[n]]++];
  }
  free(cnt), free(ldp), free(req), free(val), free(dest), free(ask), free(own), free(rin), free(vout);
  return s;
}

/* The upper triangle from the lower one: (ga, gb), ga < gb, is fetched from (gb, ga). */
static void from_lower(const void *ctx, int64_t ga, int64_t gb, int64_t *gi, int64_t *gj)
{
  (void)ctx;
  *gi = ga < gb ? gb : -1;
  *gj = ga;
}

/* The strict lower triangle from the upper one: (ga, gb), ga > gb, is fetched from (gb, ga). */
static void from_upper(const void *ctx, int64_t ga, int64_t gb, int64_t *gi, int64_t *gj)
{
  (void)ctx;
  *gi = ga > gb ? gb : -1;
  *gj = ga;
}

/* Doubles of the local blocks (lld × nloc, at least one column). */
static int64_t share_of(const scalapack_ctx *c) { return lld_of(c) * (c->nloc > 0 ? c->nloc : 1); }

/* dst's lower blocks := WᵀW's (local DGEMMs on the columns this rank owns; the rest zero). Local. */
static comp_status wtw_lower(const scalapack_ctx *c, double *dst)
{
  memset(dst, 0, sizeof(double) * (size_t)share_of(c));
  return c->nloc > 0 ? local_gram_acc(c, dst, lld_of(c), c->p->W, c->p->d_out, 0, c->nloc) : COMP_OK;
}

/* A's lower blocks := wtw's (NULL: WᵀW computed into A now) ∘ XᵀX of X's n rows (X (n, d) float),
 * the XᵀX part panel by panel into a scratch panel multiplied in. Local, no communication. */
static comp_status lower_gram(scalapack_ctx *c, const double *wtw, const float *X, int64_t n)
{
  const int64_t lld = lld_of(c);
  double       *T = malloc(sizeof(double) * (size_t)(lld * GRAM_PANEL_COLS)); /* (lld, 256) XᵀX columns of a panel */
  comp_status   s = T ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "mask solve (scalapack): out of memory for a panel");
  if (!s && wtw)
    memcpy(c->a, wtw, sizeof(double) * (size_t)share_of(c));
  else if (!s)
    s = wtw_lower(c, c->a);
  for (int p0 = 0; !s && p0 < c->nloc; p0 += GRAM_PANEL_COLS) {
    const int     p1 = p0 + GRAM_PANEL_COLS < c->nloc ? p0 + GRAM_PANEL_COLS : c->nloc;
    const int64_t l0 = local_below(c->gcol[p0], c->nb, c->myrow, c->nprow);
    memset(T, 0, sizeof(double) * (size_t)(lld * GRAM_PANEL_COLS));
    s = local_gram_acc(c, T, lld, X, n, p0, p1);
    for (int j = p0; !s && j < p1; j++)
      for (int64_t li = l0; li < c->mloc; li++) c->a[j * lld + li] *= T[(j - p0) * lld + li];
  }
  free(T);
  return s;
}

/* A's local blocks from W and X (own_gram): G[π,π] = (WᵀW)∘(XᵀX) in the π order, the lower triangle
 * by local DGEMMs (lower_gram), the upper fetched from the transposed positions, so A is symmetric
 * bit for bit. A problem without X: WᵀW's lower blocks alone, kept in c->wtw for regram. Collective. */
static comp_status own_gram(scalapack_ctx *c)
{
  const comp_mask_problem *p = c->p;
  comp_status              s = COMP_OK;
  if (!p->X) {
    c->wtw = malloc(sizeof(double) * (size_t)share_of(c));
    s      = c->wtw ? wtw_lower(c, c->wtw)
                    : comp_error_set(COMP_ERR_NOMEM, "mask solve (scalapack): out of memory for WtW's share");
    memset(c->a, 0, sizeof(double) * (size_t)share_of(c)); /* G = 0 until regram */
    c->sample = true;                                      /* nothing to solve until regram */
    return comp_dist_agree(c->comm, s);
  }
  if ((s = comp_dist_agree(c->comm, lower_gram(c, NULL, p->X, p->n)))) return s;
  return redistribute(c, c->a, c->a, from_lower, NULL);
}

/* A's diagonal := c->diag (G[π,π]'s, without the ridge). */
static void put_diag(scalapack_ctx *c)
{
  for (int lj = 0; lj < c->nloc; lj++)
    if (diag_at(c, lj)) *diag_at(c, lj) = c->diag[c->gcol[lj]];
}

/* c->diag (d) on every rank from A's diagonal before the ridge (each entry has one owner). */
static void gather_diag(scalapack_ctx *c)
{
  const int64_t d = c->p->d;
  memset(c->diag, 0, sizeof(double) * (size_t)d);
  for (int lj = 0; lj < c->nloc; lj++)
    if (diag_at(c, lj)) c->diag[c->gcol[lj]] = *diag_at(c, lj);
  MPI_Allreduce(MPI_IN_PLACE, c->diag, (int)d, MPI_DOUBLE, MPI_SUM, c->comm);
}

/* pre[c·d + i] = Σ_{j < ks[c]} G[π_i, π_j] on every rank, from A's strict upper triangle (G's,
 * untouched by pdpotrf / pdtrtri "L") and the saved diagonal: row i's entries right of the
 * diagonal walked column by column with a running sum per local row, column i's above it walked
 * down the column, the partial sums added over the grid. Collective. */
static comp_status prefix_sums(const scalapack_ctx *c, int nk, const int64_t *ks, double *pre)
{
  const int64_t d = c->p->d, lld = lld_of(c);
  int           rank;
  MPI_Comm_rank(c->comm, &rank);
  int    *ord = malloc(sizeof(int) * (size_t)nk);
  double *run = calloc((size_t)(c->mloc > 0 ? c->mloc : 1), sizeof *run); /* (mloc) row i's sum so far */
  int     bad = !ord || !run;
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, c->comm);
  if (bad) {
    free(ord), free(run);
    return comp_error_set(COMP_ERR_NOMEM, "mask solve (scalapack): out of memory for the right-hand sides");
  }
  sort_ks(nk, ks, ord);
  memset(pre, 0, sizeof(double) * (size_t)(nk * d));
  int o = 0;
  for (int lj = 0; lj < c->nloc; lj++) { /* (i, j), i < j, counted in row i for k > j */
    const int64_t gj = c->gcol[lj], lim = local_below(gj, c->nb, c->myrow, c->nprow);
    for (; o < nk && ks[ord[o]] <= gj; o++)
      for (int li = 0; li < c->mloc; li++) pre[ord[o] * d + c->grow[li]] += run[li];
    const double *col = c->a + lj * lld;
    for (int64_t li = 0; li < lim; li++) run[li] += col[li];
  }
  for (; o < nk; o++)
    for (int li = 0; li < c->mloc; li++) pre[ord[o] * d + c->grow[li]] += run[li];
  for (int lj = 0; lj < c->nloc; lj++) { /* (i, j), i < j, counted in row j for k > i */
    const int64_t gj = c->gcol[lj], lim = local_below(gj, c->nb, c->myrow, c->nprow);
    const double *col = c->a + lj * lld;
    double        sum = 0;
    o                 = 0;
    for (int64_t li = 0; li < lim; li++) {
      for (; o < nk && ks[ord[o]] <= c->grow[li]; o++) pre[ord[o] * d + gj] += sum;
      sum += col[li];
    }
    for (; o < nk; o++) pre[ord[o] * d + gj] += sum;
  }
  for (int k = 0; rank == 0 && k < nk; k++)
    for (int64_t i = 0; i < ks[k]; i++) pre[k * d + i] += c->diag[i];
  MPI_Allreduce(MPI_IN_PLACE, pre, (int)(nk * d), MPI_DOUBLE, MPI_SUM, c->comm);
  free(ord), free(run);
  return COMP_OK;
}

/* λ = eps_rel · mean(diag G) of an own G, from the gathered c->diag (summed in index order, as
 * comp_mask_ridge sums a whole G's). */
static void own_ridge(scalapack_ctx *c)
{
  double tr = 0;
  for (int64_t i = 0; i < c->p->d; i++) tr += c->diag[i];
  c->lambda = c->p->eps_rel * tr / (double)c->p->d;
}

/* c->cperm (d): the caller's c in the π order, or (own_gram: c = G 1) G[π,π]'s row sums. */
static comp_status set_cperm(scalapack_ctx *c)
{
  const comp_mask_problem *p = c->p;
  if (!c->own_gram) {
    for (int64_t i = 0; i < p->d; i++) c->cperm[i] = p->c[c->perm[i]];
    return COMP_OK;
  }
  return prefix_sums(c, 1, &p->d, c->cperm);
}

/* A := L with L Lᵀ = A + λI (pdpotrf, lower); the strict upper triangle (G's) is left as it is. */
static comp_status factor(scalapack_ctx *c)
{
  const int d = (int)c->p->d, one = 1;
  int       info = 0;
  for (int lj = 0; lj < c->nloc; lj++)
    if (diag_at(c, lj)) *diag_at(c, lj) += c->lambda;
  pdpotrf_("L", &d, c->a, &one, &one, c->desca, &info); /* info is global */
  c->factored = info == 0;
  if (info != 0)
    return comp_error_set(COMP_ERR_NUMERIC,
                          info > 0 ? "mask solve (scalapack): G[pi,pi] + lambda*I is not positive definite (leading "
                                     "minor %d); raise eps_rel"
                                   : "mask solve (scalapack): pdpotrf argument error %d",
                          info);
  return COMP_OK;
}

/* The factor, when a has none: after diag_inv (stale) A's lower triangle is first rebuilt from G's
 * upper one and the saved diagonal. Collective. */
static comp_status ensure_factor(scalapack_ctx *c)
{
  if (c->factored) return COMP_OK;
  if (c->stale) {
    COMP_CALL(redistribute(c, c->a, c->a, from_upper, NULL));
    put_diag(c);
    c->stale = false;
  }
  return factor(c);
}

static comp_status scalapack_create(const comp_mask_problem *p, MPI_Comm comm, void **ctx)
{
  *ctx             = NULL;
  scalapack_ctx *c = calloc(1, sizeof *c);
  int            size, zero = 0, one = 1, info = 0;
  MPI_Comm_size(comm, &size);
  comp_status s = c ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "mask solve (scalapack): out of memory");
  if (c) {
    c->p        = p;
    c->comm     = comm;
    c->sys      = -1;
    c->ctxt     = -1;
    c->perm     = p->perm;
    c->own_gram = !p->G;
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
    c->borrowed = c->nprow * c->npcol == 1 && p->G && p->G_scratch == p->G;
    c->a        = c->borrowed ? p->G_scratch : malloc((size_t)ld * (size_t)(c->nloc > 1 ? c->nloc : 1) * sizeof *c->a);
    c->b        = malloc((size_t)ld * (size_t)(nbv > 1 ? nbv : 1) * sizeof *c->b);
    c->delta    = malloc((size_t)d * sizeof *c->delta);
    c->diag     = malloc((size_t)d * sizeof *c->diag);
    c->cperm    = malloc((size_t)d * sizeof *c->cperm);
    c->grow     = malloc((size_t)(c->mloc > 0 ? c->mloc : 1) * sizeof *c->grow);
    c->gcol     = malloc((size_t)(c->nloc > 0 ? c->nloc : 1) * sizeof *c->gcol);
    if (!c->a || !c->b || !c->delta || !c->diag || !c->cperm || !c->grow || !c->gcol)
      s = comp_error_set(COMP_ERR_NOMEM, "mask solve (scalapack): out of memory for the local %d x %d blocks of d = %d",
                         c->mloc, c->nloc, d);
    if (!s) descinit_(c->desca, &d, &d, &c->nb, &c->nb, &zero, &zero, &c->ctxt, &ld, &info);
    if (!s && info == 0) descinit_(c->descb, &d, &one, &c->nb, &c->nb, &zero, &zero, &c->ctxt, &ld, &info);
    if (!s && info != 0) s = comp_error_set(COMP_ERR_INTERNAL, "mask solve (scalapack): descinit argument %d", -info);
    for (int li = 0; !s && li < c->mloc; li++) c->grow[li] = local_to_global(li, c->nb, c->myrow, c->nprow);
    for (int lj = 0; !s && lj < c->nloc; lj++) c->gcol[lj] = local_to_global(lj, c->nb, c->mycol, c->npcol);
  }
  if ((s = comp_dist_agree(comm, s))) goto fail;

  /* λ = eps_rel · mean(diag G): from the caller's G before a borrowed one is permuted in place, so
   * both paths sum the same diagonal in the same order; an own G's from its gathered diagonal */
  if (p->G) c->lambda = comp_mask_ridge(p->G, p->d, p->eps_rel);
  if (c->own_gram) {
    if ((s = own_gram(c))) goto fail; /* agreed */
  } else if (c->borrowed) {
    s = comp_permute_sym_inplace(c->a, p->perm, p->d); /* the same values fill_local would copy */
  } else {
    fill_local(c);
  }
  if ((s = comp_dist_agree(comm, s))) goto fail;
  if (c->sample) { /* WᵀW's share alone: regram comes first */
    *ctx = c;
    return COMP_OK;
  }
  gather_diag(c);
  if (!p->G) own_ridge(c);
  if ((s = set_cperm(c))) goto fail;
  /* with a replicated G the factor is made now (a failure is the create's); an own G is factored at
   * its first use, so a reorder() after the importance does not factor twice */
  if (!c->own_gram && (s = comp_dist_agree(comm, factor(c)))) goto fail;
  *ctx = c;
  return COMP_OK;
fail:
  ctx_free(c);
  return s;
}

/* The old keep order's inverse and the new order, for reorder's fetch. */
typedef struct reorder_map {
  const int32_t *inv;  /* (d) position of column x in the old order  */
  const int32_t *perm; /* (d) the new order                           */
} reorder_map;

/* New entry (ga, gb) = G[π′_ga, π′_gb], off the diagonal: in the old blocks' strict upper triangle. */
static void from_old_order(const void *ctx, int64_t ga, int64_t gb, int64_t *gi, int64_t *gj)
{
  const reorder_map *m = ctx;
  const int64_t      i = m->inv[m->perm[ga]], j = m->inv[m->perm[gb]];
  *gi = ga == gb ? -1 : i < j ? i : j;
  *gj = i < j ? j : i;
}

/* A for the new keep order perm, from the G this context holds (the replicated one, or its own: the
 * strict upper triangle and the diagonal, whatever the factor has done to the rest); factored at
 * the next use. Collective. */
static comp_status scalapack_reorder(void *ctx, const int32_t *perm)
{
  scalapack_ctx *c = ctx;
  const int64_t  d = c->p->d;
  COMP_CHECK(!c->borrowed, COMP_ERR_ARG, "mask solve (scalapack): no reorder of a G handed over");
  COMP_CHECK(!c->sample, COMP_ERR_ARG, "mask solve (scalapack): no reorder of a Fisher sample's Gram");
  c->factored = false;
  c->stale    = false;
  if (!c->own_gram) {
    c->perm = perm;
    fill_local(c);
    gather_diag(c);
    return set_cperm(c);
  }
  int32_t *inv = malloc(sizeof(int32_t) * (size_t)d);          /* (d) old position of each column */
  double  *a2  = malloc(sizeof(double) * (size_t)share_of(c)); /* the new local blocks */
  int      bad = !inv || !a2;
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, c->comm);
  comp_status s = bad ? comp_error_set(COMP_ERR_NOMEM, "mask solve (scalapack): out of memory reordering A") : COMP_OK;
  if (!s) {
    for (int64_t x = 0; x < d; x++) inv[c->perm[x]] = (int32_t)x;
    reorder_map m = {.inv = inv, .perm = perm};
    s             = redistribute(c, c->a, a2, from_old_order, &m);
  }
  if (s) {
    free(inv), free(a2);
    return s;
  }
  free(c->a);
  c->a = a2;
  /* the diagonal and the row sums c = G 1 move with their columns */
  for (int64_t x = 0; x < d; x++) c->delta[x] = c->diag[inv[perm[x]]];
  memcpy(c->diag, c->delta, sizeof(double) * (size_t)d);
  for (int64_t x = 0; x < d; x++) c->delta[x] = c->cperm[inv[perm[x]]];
  memcpy(c->cperm, c->delta, sizeof(double) * (size_t)d);
  free(inv);
  put_diag(c);
  c->perm = perm;
  return COMP_OK;
}

/* out (n, on rank 0) := (L Lᵀ)⁻¹ b with the leading n×n block of the factor L (A's lower
 * triangle), b the d×1 block-cyclic vector (its first n rows; process column 0). Two triangular
 * solves, pdtrsv each: what pdpotrs does, but with one right side pdpotrs (pdtrsm on a single
 * column) ran 1.7x slower on a 1x2 grid and 6x slower on 1x1 at d = 11008 (0.12 / 0.91 s against
 * 0.07 / 0.15 s). The owned rows are then summed onto rank 0: every row has one owner, the others
 * add zeros (exact). Collective; always reached, so no rank leaves it early even on failure. */
static void chol_solve_to_root(scalapack_ctx *c, int n, double *out)
{
  const int one = 1;
  int       rank;
  MPI_Comm_rank(c->comm, &rank);
  pdtrsv_("L", "N", "N", &n, c->a, &one, &one, c->desca, c->b, &one, &one, c->descb, &one);
  pdtrsv_("L", "T", "N", &n, c->a, &one, &one, c->desca, c->b, &one, &one, c->descb, &one);
  memset(c->delta, 0, (size_t)n * sizeof *c->delta);
  for (int li = 0; c->mycol == 0 && li < c->mloc; li++)
    if (c->grow[li] < n) c->delta[c->grow[li]] = c->b[li];
  MPI_Reduce(c->delta, rank == 0 ? out : NULL, n, MPI_DOUBLE, MPI_SUM, 0, c->comm);
}

static comp_status scalapack_solve(void *ctx, int64_t k, double *m)
{
  scalapack_ctx *c = ctx;
  COMP_CHECK(!c->sample, COMP_ERR_ARG, "mask solve (scalapack): no solve on a Fisher sample's Gram");
  const int64_t d = c->p->d;
  int           rank;
  MPI_Comm_rank(c->comm, &rank);
  COMP_CALL(ensure_factor(c));                      /* global status */
  double *pre = malloc(sizeof(double) * (size_t)d); /* (d) Σ_{j<k} G[π_i, π_j] */
  int     bad = !pre;
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, c->comm);
  comp_status s = bad ? comp_error_set(COMP_ERR_NOMEM, "mask solve (scalapack): out of memory") : COMP_OK;
  if (!s) s = prefix_sums(c, 1, &k, pre);
  if (s) {
    free(pre);
    return s;
  }
  /* rhs_i = c_{π_i} − Σ_{j<k} G[π_i, π_j] on the rows i < k this rank owns (process column 0) */
  const bool owner = c->mycol == 0;
  for (int li = 0; owner && li < c->mloc; li++)
    c->b[li] = c->grow[li] < k ? c->cperm[c->grow[li]] - pre[c->grow[li]] : 0;
  free(pre);
  /* (L_S L_Sᵀ) δ = rhs with the leading k×k block of the factor, δ to rank 0 */
  chol_solve_to_root(c, (int)k, m);
  if (rank == 0)
    for (int64_t i = 0; i < k; i++) m[i] += 1.0;
  return COMP_OK;
}

/* All kept counts at once: B (d, nk) block-cyclic like A, column c = c_S − G_SS 1_S for k_c (zero
 * below), then two pdtrsm with the whole factor, the entries beyond k_c zeroed in between so column
 * c sees exactly the leading k_c × k_c block (as comp_masktune_solve_many). */
static comp_status scalapack_solve_many(void *ctx, int nk, const int64_t *ks, double *const *m)
{
  scalapack_ctx *c = ctx;
  COMP_CHECK(!c->sample, COMP_ERR_ARG, "mask solve (scalapack): no solve on a Fisher sample's Gram");
  const int64_t d  = c->p->d;
  const int     di = (int)d, zero = 0, one = 1;
  const double  alpha = 1.0;
  int           rank, info = 0, desc[DLEN];
  MPI_Comm_rank(c->comm, &rank);
  COMP_CALL(ensure_factor(c)); /* global status */
  const int nkl = numroc_(&nk, &c->nb, &c->mycol, &zero, &c->npcol), ld = c->mloc > 1 ? c->mloc : 1;
  double   *B   = calloc((size_t)ld * (size_t)(nkl > 0 ? nkl : 1), sizeof *B); /* (ld, nkl) local part     */
  double   *all = calloc((size_t)(d * nk), sizeof *all); /* (nk, d) Σ_{j<k_c} G[π_i, π_j], then δ, summed on 0 */
  int       bad = !B || !all;
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, c->comm);
  comp_status s =
      bad ? comp_error_set(COMP_ERR_NOMEM, "mask solve (scalapack): out of memory for %d right-hand sides", nk)
          : prefix_sums(c, nk, ks, all);
  if (s) {
    free(B), free(all);
    return s;
  }
  descinit_(desc, &di, &nk, &c->nb, &c->nb, &zero, &zero, &c->ctxt, &ld, &info);
  for (int lc = 0; lc < nkl; lc++) {
    const int64_t gc = local_to_global(lc, c->nb, c->mycol, c->npcol);
    for (int li = 0; li < c->mloc; li++) {
      const int64_t gi = c->grow[li];
      B[lc * ld + li]  = gi < ks[gc] ? c->cperm[gi] - all[gc * d + gi] : 0.0;
    }
  }
  if (info == 0) pdtrsm_("L", "L", "N", "N", &di, &nk, &alpha, c->a, &one, &one, c->desca, B, &one, &one, desc);
  for (int lc = 0; lc < nkl; lc++)
    for (int li = 0; li < c->mloc; li++)
      if (c->grow[li] >= ks[local_to_global(lc, c->nb, c->mycol, c->npcol)]) B[lc * ld + li] = 0.0;
  if (info == 0) pdtrsm_("L", "L", "T", "N", &di, &nk, &alpha, c->a, &one, &one, c->desca, B, &one, &one, desc);
  memset(all, 0, sizeof(double) * (size_t)(d * nk));
  for (int lc = 0; lc < nkl; lc++) { /* every entry has one owner: the sum on rank 0 is exact */
    const int64_t gc = local_to_global(lc, c->nb, c->mycol, c->npcol);
    for (int li = 0; li < c->mloc; li++)
      if (c->grow[li] < ks[gc]) all[gc * d + c->grow[li]] = B[lc * ld + li];
  }
  MPI_Reduce(rank == 0 ? MPI_IN_PLACE : all, rank == 0 ? all : NULL, (int)(d * nk), MPI_DOUBLE, MPI_SUM, 0, c->comm);
  if (rank == 0)
    for (int cc = 0; cc < nk; cc++)
      for (int64_t i = 0; i < ks[cc]; i++) m[cc][i] = 1.0 + all[cc * d + i];
  free(B), free(all);
  return info == 0 ? COMP_OK : comp_error_set(COMP_ERR_INTERNAL, "mask solve (scalapack): descinit argument %d", -info);
}

/* diag((L Lᵀ)⁻¹)_j = Σ_{i>=j} (L⁻¹)_ij²: L⁻¹ in place (pdtrtri, d³/3 over the grid), then each rank
 * sums the squares of its own entries per column and the columns are summed over the grid. G's
 * strict upper triangle stays: a solve afterwards rebuilds the lower one from it and re-factors. */
static comp_status scalapack_diag_inv(void *ctx, double *dinv)
{
  scalapack_ctx *c = ctx;
  COMP_CHECK(!c->sample, COMP_ERR_ARG, "mask solve (scalapack): no diag_inv on a Fisher sample's Gram");
  const int d = (int)c->p->d, one = 1;
  int       info = 0;
  COMP_CALL(ensure_factor(c)); /* global status */
  pdtrtri_("L", "N", &d, c->a, &one, &one, c->desca, &info);
  c->factored = false;
  c->stale    = true;
  memset(dinv, 0, (size_t)d * sizeof *dinv);
  const int64_t lld = lld_of(c);
  for (int lj = 0; lj < c->nloc; lj++) {
    const int64_t gj  = c->gcol[lj];
    const double *col = c->a + lj * lld;
    double        sum = 0.0;
    for (int li = 0; li < c->mloc; li++)
      if (c->grow[li] >= gj) sum += col[li] * col[li];
    dinv[gj] = sum;
  }
  MPI_Allreduce(MPI_IN_PLACE, dinv, d, MPI_DOUBLE, MPI_SUM, c->comm);
  return info == 0 ? COMP_OK : comp_error_set(COMP_ERR_NUMERIC, "obs importance (scalapack): pdtrtri info %d", info);
}

/* y = (L Lᵀ)⁻¹ x: x's rows into the d×1 block-cyclic vector (process column 0), solved with the
 * whole factor, the owned rows summed onto rank 0 (one owner each: exact). */
static comp_status scalapack_apply_inv(void *ctx, const double *x, double *y)
{
  scalapack_ctx *c = ctx;
  const int      d = (int)c->p->d;
  COMP_CALL(ensure_factor(c)); /* global status */
  for (int li = 0; c->mycol == 0 && li < c->mloc; li++) c->b[li] = x[c->grow[li]];
  chol_solve_to_root(c, d, y);
  return COMP_OK;
}

/* A := (WᵀW)∘(XᵀX) for X's n rows, from the WᵀW share kept at create (a problem without X), in
 * the create's order; sample: the lower triangle alone (a Fisher sample: only apply and apply_inv
 * follow), else the upper fetched too and WᵀW's share released (the last regram: solves follow).
 * *lambda the new ridge. Collective. */
static comp_status scalapack_regram(void *ctx, const float *X, int64_t n, bool sample, double *lambda)
{
  scalapack_ctx *c = ctx;
  COMP_CHECK(c->wtw, COMP_ERR_ARG, "mask solve (scalapack): regram needs WtW's share (a problem without G and X)");
  COMP_CHECK(c->perm == c->p->perm, COMP_ERR_ARG, "mask solve (scalapack): regram after a reorder");
  c->factored   = false;
  c->stale      = false;
  c->sample     = true;
  comp_status s = comp_dist_agree(c->comm, lower_gram(c, c->wtw, X, n));
  if (!s && !sample) s = redistribute(c, c->a, c->a, from_lower, NULL);
  if (s) return s;
  gather_diag(c);
  own_ridge(c);
  *lambda = c->lambda;
  if (sample) return COMP_OK;
  free(c->wtw);
  c->wtw    = NULL;
  c->sample = false;
  return set_cperm(c);
}

/* y = G[π,π] x on every rank: each rank multiplies its own entries of one triangle, counting the
 * mirrored entry too — the lower one (diagonal included) while A holds G, else G's strict upper
 * one and the saved diagonal (after a factor) — and the partial sums are added over the grid. */
static comp_status scalapack_apply(void *ctx, const double *x, double *y)
{
  scalapack_ctx *c = ctx;
  const int64_t  d = c->p->d, lld = lld_of(c);
  const bool     lower = !c->factored && !c->stale;
  int            rank;
  MPI_Comm_rank(c->comm, &rank);
  COMP_CHECK(lower || !c->sample, COMP_ERR_ARG, "mask solve (scalapack): G x of a factored Fisher sample");
  double *xr  = malloc(sizeof(double) * (size_t)(2 * (c->mloc > 0 ? c->mloc : 1))); /* (mloc) x, then y, of my rows */
  double *yr  = xr ? xr + (c->mloc > 0 ? c->mloc : 1) : NULL;
  int     bad = !xr;
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, c->comm);
  COMP_CHECK(!bad, COMP_ERR_NOMEM, "mask solve (scalapack): out of memory for G x");
  for (int li = 0; li < c->mloc; li++) xr[li] = x[c->grow[li]], yr[li] = 0;
  memset(y, 0, sizeof(double) * (size_t)d);
  for (int lj = 0; lj < c->nloc; lj++) {
    const int64_t gj = c->gcol[lj], lim = local_below(gj, c->nb, c->myrow, c->nprow);
    const double *col = c->a + lj * lld;
    if (lower) { /* rows at or below the diagonal; the mirror of those strictly below */
      const int64_t below = lim + (lim < c->mloc && c->grow[lim] == gj);
      cblas_daxpy((int)(c->mloc - lim), x[gj], col + lim, 1, yr + lim, 1);
      y[gj] += cblas_ddot((int)(c->mloc - below), col + below, 1, xr + below, 1);
    } else { /* rows strictly above the diagonal, and their mirror */
      cblas_daxpy((int)lim, x[gj], col, 1, yr, 1);
      y[gj] += cblas_ddot((int)lim, col, 1, xr, 1);
    }
  }
  for (int li = 0; li < c->mloc; li++) y[c->grow[li]] += yr[li];
  for (int64_t i = 0; !lower && rank == 0 && i < d; i++) y[i] += c->diag[i] * x[i];
  MPI_Allreduce(MPI_IN_PLACE, y, (int)d, MPI_DOUBLE, MPI_SUM, c->comm);
  free(xr);
  return COMP_OK;
}

const comp_mask_solver_ops comp_mask_solver_scalapack_ops = {
    .name       = "scalapack",
    .help       = "Cholesky of G[pi,pi] + lambda*I once, prefix solves, block-cyclic over a 2-D grid "
                  "of the ranks sharing a layer, G built in its shares (ScaLAPACK; -mask_grid RxC, -mask_nb NB, "
                  "-mask_gram own|replicated)",
    .create     = scalapack_create,
    .solve      = scalapack_solve,
    .solve_many = scalapack_solve_many,
    .destroy    = scalapack_destroy,
    .diag_inv   = scalapack_diag_inv,
    .apply_inv  = scalapack_apply_inv,
    .own_gram   = scalapack_own_gram,
    .reorder    = scalapack_reorder,
    .apply      = scalapack_apply,
    .regram     = scalapack_regram,
};
