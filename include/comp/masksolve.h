/*
 * comp/masksolve.h - Eq. 5 mask-solve back-ends, chosen by name (`comp prune --solver NAME`).
 *
 * A registry of operations tables in the PETSc style: each back-end fills a comp_mask_solver_ops
 * and is listed in src/masksolve.c; one that is not compiled in is simply absent (and so absent
 * from --help). Every back-end answers the same question for one dense:
 *
 *   kept set S = perm[0..k) (the k most important input columns), find m̂_S minimising
 *     ‖ vec(W diag(m) X′ᵀ) − vec(W Xᵀ) ‖² + λ ‖m_S − 1‖²,   m = 0 outside S,
 *   i.e. (G_SS + λI) δ = c_S − G_SS 1_S,  m̂_S = 1 + δ,   λ = eps_rel · mean(diag G),
 *   with G = (WᵀW)∘(X′ᵀX′) and c = ((WᵀW)∘(X′ᵀX))1 (ALGORITHM.md Eq. 4, 5, §4.5).
 *
 *   lapack     Cholesky of G[π,π] + λI once; every k a pair of triangular solves with the leading
 *              k×k block (the prefix trick). Replicated on every rank of comm.
 *   scalapack  the same factor, block-cyclic over comm's 2-D process grid (pdpotrf once, two pdtrsv
 *              on the leading k×k block per k). Also serves the importance on a group of ranks:
 *              diag_inv (OBS) and apply_inv (COND's shift-invert Lanczos); builds G itself, each
 *              rank only its blocks (own_gram), and reorders them for the keep order; keeps WᵀW's
 *              blocks to make each COND Fisher sample's Gram in the same shares (regram) and
 *              applies G (apply: Lanczos' λmax), so COND needs no whole (d,d) on any rank either.
 *   petsc      KSPLSQR on the tall problem of Eq. 4, matrix-free: a MatShell applies
 *              𝒜_S δ = vec(X′_S diag(δ) W_Sᵀ) and its transpose without forming the Khatri–Rao
 *              matrix; the ridge is the extra block √λ·I. Options pass through with the prefix
 *              "mask_" (e.g. -mask_ksp_rtol 1e-12), see comp_mask_solver_set_options().
 *
 * All ranks of comm call create/solve/destroy together (collective) with the same problem; the
 * mask returned by solve is identical on every rank (the wrapper broadcasts rank 0's) and so is the
 * guard flag, so callers' control flow never diverges. Masks are in perm order: m[i] belongs to
 * column perm[i].
 *
 *     comp_mask_problem p = {.d = d, .d_out = d_out, .n = n, .W = W, .X = X, .Xp = Xp,
 *                            .G = G, .c = c, .perm = perm, .eps_rel = 1e-6};
 *     comp_mask_solver *ms;
 *     COMP_CALL(comp_mask_solver_create(comp_mask_solver_find("lapack"), &p, comm, &ms));
 *     for k = d - s, d - 2s ...: comp_mask_solver_solve(ms, k, m, &ok);
 *     comp_mask_solver_destroy(&ms);
 */
#ifndef COMP_MASKSOLVE_H
#define COMP_MASKSOLVE_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

#include "comp/error.h"

/* FPT's guard: a tuned mask with a non-finite entry or any |m_i| > this is rejected. */
#define COMP_MASK_GUARD 10.0

/* One dense's mask-tuning problem, the same on every rank of the solver's communicator. The
 * problem's arrays must stay valid until destroy (back-ends may keep pointers to them). */
typedef struct comp_mask_problem {
  int64_t      d;         /* input columns of the dense                                       */
  int64_t      d_out;     /* output rows                                                      */
  int64_t      n;         /* calibration token rows                                           */
  const float *W;         /* (d_out, d) row-major                                              */
  const float *X;         /* (n, d) what the unpruned layer feeds the dense (the target); NULL
                             with G NULL (regram back-ends): only WᵀW's share is made, and
                             comp_mask_solver_regram gives G its rows before anything else     */
  const float  *Xp;       /* (n, d) X′, what it is fed when pruned (== X by default, NULL too)  */
  const double *G;        /* (d, d) (WᵀW)∘(X′ᵀX′), both triangles; NULL: the back-end builds its
                             own share from W and X (own_gram back-ends, X′ = X; c NULL too)   */
  double *G_scratch;      /* NULL, or G itself handed over: a back-end may use its storage (lapack
                             factors in place: no second (d,d)); G must not be read after create */
  const double  *c;       /* (d) ((WᵀW)∘(X′ᵀX))1 (NULL with G NULL: c = G 1)                     */
  const int32_t *perm;    /* (d) keep order, most important first                              */
  double         eps_rel; /* ridge λ = eps_rel · mean(diag G)                                  */
} comp_mask_problem;

/* A back-end. create/solve/destroy are collective on comm. solve writes m (k) = m̂ of the kept set
 * perm[0..k) on (at least) rank 0 of comm. */
typedef struct comp_mask_solver_ops {
  const char *name;
  const char *help; /* one line for --help */
  comp_status (*create)(const comp_mask_problem *p, MPI_Comm comm, void **ctx);
  comp_status (*solve)(void *ctx, int64_t k, double *m);
  /* optional: nk kept counts at once, m[c] (k[c]) on rank 0 (NULL: solve is called nk times) */
  comp_status (*solve_many)(void *ctx, int nk, const int64_t *k, double *const *m);
  void (*destroy)(void **ctx);
  void (*finalize)(void); /* at program end, once (NULL: nothing to do) */
  /* optional: diag((G[π,π] + λI)⁻¹) (d) in perm order on every rank, from the factor (which it may
   * consume: then a later solve re-factors). OBS importance on the solver's ranks (scalapack:
   * pdtrtri). */
  comp_status (*diag_inv)(void *ctx, double *dinv);
  /* optional: y (d) = (G[π,π] + λI)⁻¹ x (d), perm order, x the same on every rank, y on (at least)
   * rank 0, from the factor (kept: any number of calls, and solves after them). COND importance's
   * shift-invert Lanczos on the solver's ranks (scalapack: two pdtrsv). */
  comp_status (*apply_inv)(void *ctx, const double *x, double *y);
  /* optional: true when the back-end builds G itself for a problem without one (G and c NULL,
   * X′ = X), each rank only its share of G (scalapack: its block-cyclic blocks, d²/ranks doubles,
   * unless -mask_gram replicated): a group's per-rank memory then falls with its size */
  bool (*own_gram)(void);
  /* optional: move the factor to a new keep order (perm valid until destroy) from the G the
   * back-end holds, e.g. after diag_inv ranked the columns; collective */
  comp_status (*reorder)(void *ctx, const int32_t *perm);
  /* optional: y (d) = G[π,π] x (d), x the same on every rank, y on (at least) rank 0, from the G
   * the back-end holds (whatever its factor has done): COND's λmax by Lanczos on the solver's ranks
   * without a whole G on any (scalapack: each rank its own blocks) */
  comp_status (*apply)(void *ctx, const double *x, double *y);
  /* optional, with own_gram: G := (WᵀW)∘(XᵀX) for X's n rows (X (n, d)), WᵀW's share kept from a
   * create without X, in the create's order; sample: a Fisher sample (only apply and apply_inv
   * follow, so the back-end may skip what solves need), else the last regram (WᵀW's share may be
   * released; solves, reorder and diag_inv follow). *lambda: the new G's ridge. Collective. */
  comp_status (*regram)(void *ctx, const float *X, int64_t n, bool sample, double *lambda);
} comp_mask_solver_ops;

/* The registry: back-ends compiled in, in --help order (lapack first, the default). */
int                         comp_mask_solver_count(void);
const comp_mask_solver_ops *comp_mask_solver_at(int i);
/* NULL when no back-end of that name is compiled in. */
const comp_mask_solver_ops *comp_mask_solver_find(const char *name);
/* Name -> back-end, or COMP_ERR_ARG naming the ones compiled in. */
comp_status comp_mask_solver_parse(const char *name, const comp_mask_solver_ops **ops);

/* Options for back-ends that take them (PETSc: "-mask_ksp_rtol 1e-12 ..."), set before the first
 * create; the string is copied. */
comp_status comp_mask_solver_set_options(const char *opts);
const char *comp_mask_solver_options(void);
/* Call once before MPI_Finalize: each back-end's finalize (PetscFinalize). */
void comp_mask_solvers_finalize(void);

typedef struct comp_mask_solver comp_mask_solver;

/* Collective on comm (which is duplicated; the caller may free its own). Validates the problem
 * (dimensions, perm a permutation) and agrees on the status over comm. */
comp_status comp_mask_solver_create(const comp_mask_solver_ops *ops, const comp_mask_problem *p, MPI_Comm comm,
                                    comp_mask_solver **out);
/* Collective. m (k), identical on every rank; *ok = false when the guard rejects it (non-finite or
 * any |m_i| > COMP_MASK_GUARD = 10); m is written either way. 0 <= k <= d. */
comp_status comp_mask_solver_solve(comp_mask_solver *ms, int64_t k, double *m, bool *ok);
/* Collective. The same for nk kept counts at once (the variance profile: a back-end may batch
 * them, e.g. lapack's BLAS3 prefix solves); ok (nk) the guard of each. */
comp_status comp_mask_solver_solve_many(comp_mask_solver *ms, int nk, const int64_t *k, double *const *m, bool *ok);
void        comp_mask_solver_destroy(comp_mask_solver **ms);
/* Collective. The back-end's diag_inv (COMP_ERR_ARG when it has none): dinv (d) on every rank. */
comp_status comp_mask_solver_diag_inv(comp_mask_solver *ms, double *dinv);

/* true when ops builds its own share of G (comp_mask_problem's G and c may be NULL, X′ = X) and
 * can reorder: the problem then never needs a whole (d,d) G on any rank. */
bool comp_mask_solver_owns_gram(const comp_mask_solver_ops *ops);
/* Collective. The back-end's reorder (COMP_ERR_ARG when it has none, or perm is not a permutation):
 * solves from now on are in the order perm (valid until destroy). */
comp_status comp_mask_solver_reorder(comp_mask_solver *ms, const int32_t *perm);

/* Collective. The back-end's apply_inv (COMP_ERR_ARG when it has none): y (d) on every rank. */
comp_status comp_mask_solver_apply_inv(comp_mask_solver *ms, const double *x, double *y);
/* Collective. The back-end's apply, y = G[π,π] x (COMP_ERR_ARG when it has none): y (d) on every rank. */
comp_status comp_mask_solver_apply(comp_mask_solver *ms, const double *x, double *y);

/* true when ops builds its own shares of G (comp_mask_solver_owns_gram) and can also swap G's rows
 * (regram) and apply G and its inverse: COND's Fisher samples and κ then need no whole (d,d) matrix
 * on any rank either. */
bool comp_mask_solver_regrams(const comp_mask_solver_ops *ops);
/* Collective. The back-end's regram (COMP_ERR_ARG when it has none): G := (WᵀW)∘(XᵀX) for X (n, d);
 * *lambda its ridge, the same on every rank. */
comp_status comp_mask_solver_regram(comp_mask_solver *ms, const float *X, int64_t n, bool sample, double *lambda);

/* The reference ridge λ = eps_rel · mean(diag G) (G (d,d)). */
double comp_mask_ridge(const double *G, int64_t d, double eps_rel);

#endif /* COMP_MASKSOLVE_H */
