/* masksolve.c - the registry of Eq. 5 mask-solve back-ends and the lapack one (see comp/masksolve.h).
 *
 * The wrapper does what every back-end would otherwise repeat: validating the problem, agreeing on
 * status over the communicator, broadcasting rank 0's mask and applying FPT's guard, so a back-end
 * only has to solve. */
#include "comp/masksolve.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp/dist.h"
#include "comp/prune_math.h"

/* ---- lapack: prefix Cholesky, replicated (comp_masktune in prune_math.c) ----------------------- */

static comp_status lapack_create(const comp_mask_problem *p, MPI_Comm comm, void **ctx)
{
  (void)comm;
  comp_masktune *mt = NULL;
  comp_status    s  = p->G_scratch && p->G_scratch == p->G
                          ? comp_masktune_create_inplace(p->G_scratch, p->c, p->perm, p->d, p->eps_rel, &mt)
                          : comp_masktune_create(p->G, p->c, p->perm, p->d, p->eps_rel, &mt);
  *ctx              = mt;
  return s;
}

static comp_status lapack_solve(void *ctx, int64_t k, double *m)
{
  bool ok;
  return comp_masktune_solve(ctx, k, m, &ok);
}

static comp_status lapack_solve_many(void *ctx, int nk, const int64_t *k, double *const *m)
{
  return comp_masktune_solve_many(ctx, nk, k, m);
}

static void lapack_destroy(void **ctx)
{
  comp_masktune *mt = *ctx;
  comp_masktune_destroy(&mt);
  *ctx = NULL;
}

static const comp_mask_solver_ops lapack_ops = {
    .name       = "lapack",
    .help       = "Cholesky of G[pi,pi] + lambda*I once, prefix solves (LAPACK, on each rank; default)",
    .create     = lapack_create,
    .solve      = lapack_solve,
    .solve_many = lapack_solve_many,
    .destroy    = lapack_destroy,
};

/* ---- the registry ------------------------------------------------------------------------------- */

#ifdef COMP_WITH_SCALAPACK
extern const comp_mask_solver_ops comp_mask_solver_scalapack_ops;
#endif
#ifdef COMP_WITH_PETSC
extern const comp_mask_solver_ops comp_mask_solver_petsc_ops;
#endif

static const comp_mask_solver_ops *const registry[] = {
    &lapack_ops,
#ifdef COMP_WITH_SCALAPACK
    &comp_mask_solver_scalapack_ops,
#endif
#ifdef COMP_WITH_PETSC
    &comp_mask_solver_petsc_ops,
#endif
};
enum { N_SOLVERS = sizeof registry / sizeof registry[0] };

int comp_mask_solver_count(void) { return N_SOLVERS; }

const comp_mask_solver_ops *comp_mask_solver_at(int i) { return i >= 0 && i < N_SOLVERS ? registry[i] : NULL; }

const comp_mask_solver_ops *comp_mask_solver_find(const char *name)
{
  for (int i = 0; name && i < N_SOLVERS; i++)
    if (strcmp(registry[i]->name, name) == 0) return registry[i];
  return NULL;
}

comp_status comp_mask_solver_parse(const char *name, const comp_mask_solver_ops **ops)
{
  *ops = comp_mask_solver_find(name);
  if (*ops) return COMP_OK;
  char names[256] = "";
  for (int i = 0; i < N_SOLVERS; i++)
    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", registry[i]->name);
  return comp_error_set(COMP_ERR_ARG, "--solver %s: not a solver compiled into this build (use one of %s)", name,
                        names);
}

static char *solver_options;

comp_status comp_mask_solver_set_options(const char *opts)
{
  char *c = strdup(opts ? opts : "");
  if (!c) return comp_error_set(COMP_ERR_NOMEM, "out of memory");
  free(solver_options);
  solver_options = c;
  return COMP_OK;
}

const char *comp_mask_solver_options(void) { return solver_options ? solver_options : ""; }

void comp_mask_solvers_finalize(void)
{
  for (int i = 0; i < N_SOLVERS; i++)
    if (registry[i]->finalize) registry[i]->finalize();
  free(solver_options);
  solver_options = NULL;
}

/* ---- the wrapper ---------------------------------------------------------------------------------- */

struct comp_mask_solver {
  const comp_mask_solver_ops *ops;
  void                       *ctx;
  MPI_Comm                    comm;
  int64_t                     d;
};

static comp_status check_perm(const int32_t *perm, int64_t d)
{
  bool *seen = calloc((size_t)d, sizeof *seen);
  COMP_CHECK(seen, COMP_ERR_NOMEM, "out of memory");
  for (int64_t i = 0; i < d; i++) {
    if (perm[i] < 0 || perm[i] >= d || seen[perm[i]]) {
      free(seen);
      return comp_error_set(COMP_ERR_ARG, "mask solve: keep order is not a permutation of 0..%lld (entry %lld = %d)",
                            (long long)(d - 1), (long long)i, (int)perm[i]);
    }
    seen[perm[i]] = true;
  }
  free(seen);
  return COMP_OK;
}

static comp_status check_problem(const comp_mask_solver_ops *ops, const comp_mask_problem *p)
{
  COMP_CHECK(p && p->d > 0 && p->d <= INT32_MAX / 2 && p->d_out > 0 && p->n > 0, COMP_ERR_ARG,
             "mask solve: bad dimensions");
  COMP_CHECK(p->W && p->perm && (p->G ? p->c != NULL : p->c == NULL), COMP_ERR_ARG, "mask solve: missing problem data");
  COMP_CHECK((p->X && p->Xp) || (!p->X && !p->Xp && !p->G && comp_mask_solver_regrams(ops)), COMP_ERR_ARG,
             "mask solve: problem without X (only back-ends that build G themselves and regram take one)");
  COMP_CHECK(p->G || (comp_mask_solver_owns_gram(ops) && p->Xp == p->X), COMP_ERR_ARG,
             "mask solve: back-end %s needs G (it builds none itself, or X' differs from X)", ops->name);
  COMP_CHECK(p->eps_rel >= 0 && isfinite(p->eps_rel), COMP_ERR_ARG, "mask solve: eps_rel %g must be >= 0", p->eps_rel);
  return check_perm(p->perm, p->d);
}

bool comp_mask_solver_owns_gram(const comp_mask_solver_ops *ops)
{
  return ops && ops->own_gram && ops->reorder && ops->own_gram();
}

comp_status comp_mask_solver_create(const comp_mask_solver_ops *ops, const comp_mask_problem *p, MPI_Comm comm,
                                    comp_mask_solver **out)
{
  *out                 = NULL;
  comp_mask_solver *ms = calloc(1, sizeof *ms);
  comp_status       s  = ms ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory");
  if (!s && !ops) s = comp_error_set(COMP_ERR_ARG, "mask solve: no back-end");
  if (!s) s = check_problem(ops, p);
  s = comp_dist_agree(comm, s);
  if (s) {
    free(ms);
    return s;
  }
  ms->ops = ops;
  ms->d   = p->d;
  MPI_Comm_dup(comm, &ms->comm);
  s = comp_dist_agree(ms->comm, ops->create(p, ms->comm, &ms->ctx));
  if (s) comp_mask_solver_destroy(&ms);
  *out = ms;
  return s;
}

comp_status comp_mask_solver_solve(comp_mask_solver *ms, int64_t k, double *m, bool *ok)
{
  COMP_CHECK(ms && k >= 0 && k <= ms->d, COMP_ERR_ARG, "mask solve: kept count %lld outside 0..%lld", (long long)k,
             ms ? (long long)ms->d : 0LL);
  *ok           = true;
  comp_status s = k > 0 ? ms->ops->solve(ms->ctx, k, m) : COMP_OK;
  if ((s = comp_dist_agree(ms->comm, s))) return s;
  if (k > 0) MPI_Bcast(m, (int)k, MPI_DOUBLE, 0, ms->comm);
  for (int64_t i = 0; i < k; i++)
    if (!isfinite(m[i]) || fabs(m[i]) > COMP_MASK_GUARD) *ok = false;
  return COMP_OK;
}

comp_status comp_mask_solver_solve_many(comp_mask_solver *ms, int nk, const int64_t *k, double *const *m, bool *ok)
{
  if (!ms->ops->solve_many) { /* one at a time */
    for (int c = 0; c < nk; c++) COMP_CALL(comp_mask_solver_solve(ms, k[c], m[c], &ok[c]));
    return COMP_OK;
  }
  for (int c = 0; c < nk; c++)
    COMP_CHECK(k[c] >= 0 && k[c] <= ms->d, COMP_ERR_ARG, "mask solve: kept count %lld outside 0..%lld", (long long)k[c],
               (long long)ms->d);
  comp_status s = comp_dist_agree(ms->comm, ms->ops->solve_many(ms->ctx, nk, k, m));
  if (s) return s;
  for (int c = 0; c < nk; c++) {
    if (k[c] > 0) MPI_Bcast(m[c], (int)k[c], MPI_DOUBLE, 0, ms->comm);
    ok[c] = true;
    for (int64_t i = 0; i < k[c]; i++)
      if (!isfinite(m[c][i]) || fabs(m[c][i]) > COMP_MASK_GUARD) ok[c] = false;
  }
  return COMP_OK;
}

void comp_mask_solver_destroy(comp_mask_solver **ms)
{
  if (!ms || !*ms) return;
  if ((*ms)->ctx) (*ms)->ops->destroy(&(*ms)->ctx);
  if ((*ms)->comm != MPI_COMM_NULL && (*ms)->comm) MPI_Comm_free(&(*ms)->comm);
  free(*ms);
  *ms = NULL;
}

comp_status comp_mask_solver_diag_inv(comp_mask_solver *ms, double *dinv)
{
  COMP_CHECK(ms && ms->ops->diag_inv, COMP_ERR_ARG, "mask solve: back-end %s has no inverse diagonal",
             ms ? ms->ops->name : "?");
  return comp_dist_agree(ms->comm, ms->ops->diag_inv(ms->ctx, dinv));
}

comp_status comp_mask_solver_reorder(comp_mask_solver *ms, const int32_t *perm)
{
  COMP_CHECK(ms && ms->ops->reorder, COMP_ERR_ARG, "mask solve: back-end %s cannot reorder", ms ? ms->ops->name : "?");
  COMP_CALL(comp_dist_agree(ms->comm, check_perm(perm, ms->d)));
  return comp_dist_agree(ms->comm, ms->ops->reorder(ms->ctx, perm));
}

comp_status comp_mask_solver_apply_inv(comp_mask_solver *ms, const double *x, double *y)
{
  COMP_CHECK(ms && ms->ops->apply_inv, COMP_ERR_ARG, "mask solve: back-end %s has no inverse operator",
             ms ? ms->ops->name : "?");
  COMP_CALL(comp_dist_agree(ms->comm, ms->ops->apply_inv(ms->ctx, x, y)));
  MPI_Bcast(y, (int)ms->d, MPI_DOUBLE, 0, ms->comm); /* one y for every rank, whatever the reduction */
  return COMP_OK;
}

comp_status comp_mask_solver_apply(comp_mask_solver *ms, const double *x, double *y)
{
  COMP_CHECK(ms && ms->ops->apply, COMP_ERR_ARG, "mask solve: back-end %s cannot apply G", ms ? ms->ops->name : "?");
  COMP_CALL(comp_dist_agree(ms->comm, ms->ops->apply(ms->ctx, x, y)));
  MPI_Bcast(y, (int)ms->d, MPI_DOUBLE, 0, ms->comm); /* one y for every rank, whatever the reduction */
  return COMP_OK;
}

bool comp_mask_solver_regrams(const comp_mask_solver_ops *ops)
{
  return comp_mask_solver_owns_gram(ops) && ops->regram && ops->apply && ops->apply_inv;
}

comp_status comp_mask_solver_regram(comp_mask_solver *ms, const float *X, int64_t n, bool sample, double *lambda)
{
  COMP_CHECK(ms && ms->ops->regram, COMP_ERR_ARG, "mask solve: back-end %s cannot regram", ms ? ms->ops->name : "?");
  COMP_CHECK(X && n > 0, COMP_ERR_ARG, "mask solve: regram needs rows");
  COMP_CALL(comp_dist_agree(ms->comm, ms->ops->regram(ms->ctx, X, n, sample, lambda)));
  MPI_Bcast(lambda, 1, MPI_DOUBLE, 0, ms->comm);
  return COMP_OK;
}
