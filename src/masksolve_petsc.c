/* masksolve_petsc.c - the `petsc` Eq. 5 mask-solve back-end (see comp/masksolve.h).
 *
 * Eq. 4 as a damped least-squares problem, solved by KSPLSQR without ever forming the Khatri–Rao
 * matrix 𝒜. For the kept set S = π[0..k) and δ = m_S − 1:
 *
 *   min ‖ [𝒜_S D⁻¹; √λ D⁻¹] y − [r; 0] ‖²,   δ = D⁻¹ y,   m_S = 1 + δ,
 *   𝒜_S δ = vec(X′_S diag(δ) W_Sᵀ)          (n·d_out),  r = vec(X Wᵀ) − 𝒜_S 1_S,
 *
 * whose normal equations are exactly the lapack back-end's (G_SS + λI) δ = c_S − G_SS 1_S. D is a
 * column scaling, D_ii = sqrt(G_ii + λ) (the column norms of the augmented operator): a change of
 * variables only, it gives the scaled operator unit columns and so takes the large spread of
 * activation scales (outlier features) out of LSQR's condition number. -mask_petsc_column_scale 0
 * turns it off.
 *
 * Layout: the operator is a MatShell on the solver's communicator. Token rows are split into
 * contiguous blocks over the ranks (each rank keeps only its block of X′, X Wᵀ, in double); rank 0
 * also owns the k ridge rows and the whole k-vector y. MatMult broadcasts δ (k) from rank 0 and
 * each rank applies its block with one dgemm; MatMultTranspose reduces each rank's k partial sums
 * onto rank 0. So the n·d_out·k work of every LSQR iteration is divided over the communicator and
 * the traffic is 2k doubles per iteration; the mask is on rank 0 (the wrapper broadcasts it).
 *
 * Columns are stored in π order once per create: X′ (n_loc, d) and Wᵀ (d, d_out) so the leading k
 * columns/rows are X′_S and W_Sᵀ for every k, and solve(k) allocates only PETSc's objects (a new
 * shell, KSP and two vectors per k; nothing PETSc lives between solves). Memory per rank:
 * 2·n_loc·d + n_loc·d_out + 2·d·d_out + 3d doubles (and n_loc·d more inside create when X′ ≠ X).
 *
 * Defaults (overridable with -mask_ksp_*, applied by KSPSetFromOptions after them): rtol 1e-14,
 * atol 0, max_it 10k + 1000, PCNONE, and the exact Frobenius norm of the operator (MATOP_NORM:
 * ‖·‖_F² = Σ_S (G_ii + λ)/D_ii², known from diag G) in KSPLSQRConvergedDefault's test
 * ‖Aᵀr‖ < rtol·‖A‖_F·‖r‖ (-ksp_lsqr_exact_mat_norm) instead of LSQR's running estimate.
 * A KSP that does not converge is a COMP_ERR_NUMERIC error.
 *
 * PETSc lifecycle: if PETSc is not initialised, the first create does it on MPI_COMM_SELF as
 * PETSC_COMM_WORLD (so initialisation is local and never waits for ranks outside comm), with
 * -no_signal_handler and comp_mask_solver_options() inserted first; .finalize calls PetscFinalize
 * only then. Every entry point pushes PetscReturnErrorHandler so PETSc never prints or aborts, and
 * every PetscErrorCode becomes a comp_status with a message (PCALL below). */
#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <petscksp.h>

#include "comp/masksolve.h"

#define PETSC_MASK_RTOL   1e-14 /* KSPLSQRConvergedDefault: ‖Aᵀr‖ < rtol·‖A‖_F·‖r‖ */
#define PETSC_MASK_PREFIX "mask_"

typedef struct petsc_mask {
  MPI_Comm comm;  /* the wrapper's communicator (not owned)                              */
  int      rank;  /* in comm; rank 0 owns y (k) and the ridge rows                      */
  int64_t  d;     /* input columns                                                       */
  int64_t  d_out; /* output rows                                                         */
  int64_t  n_loc; /* token rows of this rank                                             */
  int64_t  k;     /* kept count of the solve in progress                                 */
  double   sqrt_lambda;
  double  *xp;    /* (n_loc, d)     X′ rows of this rank, columns in π order          */
  double  *wt;    /* (d, d_out)     W[:, π]ᵀ: row i is w_{π_i}                        */
  double  *xwt;   /* (n_loc, d_out) X Wᵀ of this rank's rows (the target output)      */
  double  *ws;    /* (d, d_out)     work: diag(δ) W_Sᵀ                                */
  double  *p;     /* (n_loc, d)     work: Y W_S, leading dimension k                  */
  double  *delta; /* (d)            work: δ (MatMult), partial sums of 𝒜ᵀy (transpose)*/
  double  *gdiag; /* (d)            diag G[π,π]                                       */
  double  *scale; /* (d)            D_ii = sqrt(G_ii + λ) (1 without column scaling)  */
} petsc_mask;

static bool petsc_inited_here; /* this file called PetscInitialize                        */
static bool petsc_options_in;  /* comp_mask_solver_options() has been inserted             */

/* A PETSc error as a comp_status with a message naming the call. */
static comp_status petsc_fail(const char *call, PetscErrorCode ierr)
{
  const char *text = NULL;
  if (PetscErrorMessage((int)ierr, &text, NULL) || !text) text = "unknown";
  comp_status s = ierr == PETSC_ERR_MEM                                     ? COMP_ERR_NOMEM
                  : ierr == PETSC_ERR_FP || ierr == PETSC_ERR_NOT_CONVERGED ? COMP_ERR_NUMERIC
                                                                            : COMP_ERR_INTERNAL;
  return comp_error_set(s, "petsc: %s failed (error %d: %s)", call, (int)ierr, text);
}

/* Call a PETSc function; on error record the message in `st` and jump to `cleanup`. Needs a local
 * comp_status st and a cleanup: label (the single exit of the function). */
#define PCALL(x)                                                                                                       \
  do {                                                                                                                 \
    PetscErrorCode pcall_ierr_ = (x);                                                                                  \
    if (pcall_ierr_) {                                                                                                 \
      st = petsc_fail(#x, pcall_ierr_);                                                                                \
      goto cleanup;                                                                                                    \
    }                                                                                                                  \
  } while (0)

/* ---- the shell: [𝒜_S D⁻¹; √λ D⁻¹] (n·d_out + k, k) ---------------------------------------------- */

/* out (n·d_out + k) = A y, y (k) on rank 0. Collective on the matrix's communicator. */
static PetscErrorCode shell_mult(Mat A, Vec y, Vec out)
{
  petsc_mask        *ctx;
  const PetscScalar *ya;
  PetscScalar       *oa;
  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(A, &ctx));
  const int64_t k = ctx->k, d = ctx->d, d_out = ctx->d_out, n = ctx->n_loc;
  PetscCall(VecGetArrayRead(y, &ya));
  if (ctx->rank == 0)
    for (int64_t i = 0; i < k; i++) ctx->delta[i] = ya[i] / ctx->scale[i];
  PetscCall(VecRestoreArrayRead(y, &ya));
  PetscCallMPI(MPI_Bcast(ctx->delta, (int)k, MPI_DOUBLE, 0, ctx->comm));
  PetscCall(VecGetArray(out, &oa));
  if (n > 0) { /* token rows: X′_S (diag(δ) W_Sᵀ) */
    for (int64_t i = 0; i < k; i++) {
      const double *w = ctx->wt + i * d_out;
      double       *z = ctx->ws + i * d_out, di = ctx->delta[i];
      for (int64_t j = 0; j < d_out; j++) z[j] = di * w[j];
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d_out, (int)k, 1.0, ctx->xp, (int)d, ctx->ws,
                (int)d_out, 0.0, oa, (int)d_out);
  }
  if (ctx->rank == 0) /* ridge rows: √λ δ */
    for (int64_t i = 0; i < k; i++) oa[n * d_out + i] = ctx->sqrt_lambda * ctx->delta[i];
  PetscCall(VecRestoreArray(out, &oa));
  PetscFunctionReturn(0);
}

/* out (k, on rank 0) = Aᵀ v, v (n·d_out + k). (𝒜_Sᵀ v)_i = Σ_t x′_{t,S_i} (V W_S)_{t,i}, V the
 * (n, d_out) reshaping of v's token rows. Collective. */
static PetscErrorCode shell_mult_transpose(Mat A, Vec v, Vec out)
{
  petsc_mask        *ctx;
  const PetscScalar *va;
  PetscScalar       *oa;
  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(A, &ctx));
  const int64_t k = ctx->k, d = ctx->d, d_out = ctx->d_out, n = ctx->n_loc;
  double       *g = ctx->delta; /* (k) this rank's partial 𝒜_Sᵀ v */
  PetscCall(VecGetArrayRead(v, &va));
  memset(g, 0, (size_t)k * sizeof *g);
  if (n > 0) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)k, (int)d_out, 1.0, va, (int)d_out, ctx->wt,
                (int)d_out, 0.0, ctx->p, (int)k);
    for (int64_t t = 0; t < n; t++) {
      const double *x = ctx->xp + t * d, *pt = ctx->p + t * k;
      for (int64_t i = 0; i < k; i++) g[i] += x[i] * pt[i];
    }
  }
  if (ctx->rank == 0) {
    PetscCallMPI(MPI_Reduce(MPI_IN_PLACE, g, (int)k, MPI_DOUBLE, MPI_SUM, 0, ctx->comm));
    PetscCall(VecGetArray(out, &oa));
    for (int64_t i = 0; i < k; i++) oa[i] = (g[i] + ctx->sqrt_lambda * va[n * d_out + i]) / ctx->scale[i];
    PetscCall(VecRestoreArray(out, &oa));
  } else {
    PetscCallMPI(MPI_Reduce(g, NULL, (int)k, MPI_DOUBLE, MPI_SUM, 0, ctx->comm));
  }
  PetscCall(VecRestoreArrayRead(v, &va));
  PetscFunctionReturn(0);
}

/* Frobenius norm, exact from diag G: column i of the shell has norm² (G_ii + λ)/D_ii². The same on
 * every rank (no communication). */
static PetscErrorCode shell_norm(Mat A, NormType type, PetscReal *nrm)
{
  petsc_mask *ctx;
  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(A, &ctx));
  PetscCheck(type == NORM_FROBENIUS, PETSC_COMM_SELF, PETSC_ERR_SUP, "mask shell: only the Frobenius norm");
  const double lambda = ctx->sqrt_lambda * ctx->sqrt_lambda;
  double       sum    = 0;
  for (int64_t i = 0; i < ctx->k; i++) sum += (ctx->gdiag[i] + lambda) / (ctx->scale[i] * ctx->scale[i]);
  *nrm = sqrt(sum);
  PetscFunctionReturn(0);
}

/* ---- lifecycle ----------------------------------------------------------------------------------- */

/* Initialise PETSc once per process (locally, see the header comment). */
static comp_status petsc_start(void)
{
  comp_status st = COMP_OK;
  PetscBool   inited;
  PCALL(PetscInitialized(&inited));
  if (!inited) {
    PetscBool finalized;
    PCALL(PetscFinalized(&finalized));
    if (finalized) return comp_error_set(COMP_ERR_INTERNAL, "petsc: PETSc was already finalized in this process");
    PETSC_COMM_WORLD = MPI_COMM_SELF;
    PCALL(PetscOptionsSetValue(NULL, "-no_signal_handler", NULL));
    PCALL(PetscOptionsInsertString(NULL, comp_mask_solver_options()));
    petsc_options_in = true;
    PCALL(PetscInitializeNoArguments());
    petsc_inited_here = true;
  } else if (!petsc_options_in) { /* initialised by someone else: our options still apply */
    PCALL(PetscOptionsInsertString(NULL, comp_mask_solver_options()));
    petsc_options_in = true;
  }
cleanup:
  return st;
}

static void petsc_mask_free(petsc_mask *ctx)
{
  if (!ctx) return;
  free(ctx->xp);
  free(ctx->wt);
  free(ctx->xwt);
  free(ctx->ws);
  free(ctx->p);
  free(ctx->delta);
  free(ctx->gdiag);
  free(ctx->scale);
  free(ctx);
}

static comp_status petsc_create(const comp_mask_problem *pb, MPI_Comm comm, void **out)
{
  *out                 = NULL;
  comp_status   st     = COMP_OK;
  bool          pushed = false;
  petsc_mask   *ctx    = NULL;
  double       *xtmp   = NULL; /* (n_loc, d) X in π order when X != X′ */
  const int64_t d = pb->d, d_out = pb->d_out;
  int           rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if (pb->n > (PETSC_MAX_INT - d) / d_out) /* PetscInt is 32-bit in Debian's PETSc */
    return comp_error_set(COMP_ERR_UNSUPPORTED,
                          "petsc: the least-squares operator has %lld x %lld rows, more than PetscInt holds "
                          "(use --solver lapack, or a PETSc with 64-bit indices)",
                          (long long)pb->n, (long long)d_out);
  if ((st = petsc_start())) return st;
  PCALL(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  pushed = true;

  const int64_t n_lo = pb->n * rank / size, n_hi = pb->n * (rank + 1) / size, n = n_hi - n_lo;
  ctx = calloc(1, sizeof *ctx);
  if (ctx) {
    ctx->xp    = malloc((size_t)(n * d + 1) * sizeof *ctx->xp);
    ctx->wt    = malloc((size_t)(d * d_out) * sizeof *ctx->wt);
    ctx->xwt   = malloc((size_t)(n * d_out + 1) * sizeof *ctx->xwt);
    ctx->ws    = malloc((size_t)(d * d_out) * sizeof *ctx->ws);
    ctx->p     = malloc((size_t)(n * d + 1) * sizeof *ctx->p);
    ctx->delta = malloc((size_t)d * sizeof *ctx->delta);
    ctx->gdiag = malloc((size_t)d * sizeof *ctx->gdiag);
    ctx->scale = malloc((size_t)d * sizeof *ctx->scale);
  }
  if (pb->X != pb->Xp) xtmp = malloc((size_t)(n * d + 1) * sizeof *xtmp);
  if (!ctx || !ctx->xp || !ctx->wt || !ctx->xwt || !ctx->ws || !ctx->p || !ctx->delta || !ctx->gdiag || !ctx->scale ||
      (pb->X != pb->Xp && !xtmp)) {
    st = comp_error_set(COMP_ERR_NOMEM, "petsc: out of memory for a dense with %lld inputs and %lld token rows",
                        (long long)d, (long long)n);
    goto cleanup;
  }
  ctx->comm  = comm;
  ctx->rank  = rank;
  ctx->d     = d;
  ctx->d_out = d_out;
  ctx->n_loc = n;

  PetscBool col_scale = PETSC_TRUE;
  PCALL(PetscOptionsGetBool(NULL, PETSC_MASK_PREFIX, "-petsc_column_scale", &col_scale, NULL));
  const double lambda = comp_mask_ridge(pb->G, d, pb->eps_rel);
  ctx->sqrt_lambda    = sqrt(lambda);
  for (int64_t i = 0; i < d; i++) {
    const int64_t pi = pb->perm[i];
    ctx->gdiag[i]    = pb->G[pi * d + pi];
    ctx->scale[i]    = col_scale ? sqrt(ctx->gdiag[i] + lambda) : 1.0;
    if (!(ctx->scale[i] > 0) || !isfinite(ctx->scale[i])) ctx->scale[i] = 1.0; /* zero column, λ = 0 */
    for (int64_t j = 0; j < d_out; j++) ctx->wt[i * d_out + j] = pb->W[j * d + pi];
  }
  for (int64_t t = 0; t < n; t++) {
    const float *xp = pb->Xp + (n_lo + t) * d, *x = pb->X + (n_lo + t) * d;
    for (int64_t i = 0; i < d; i++) ctx->xp[t * d + i] = xp[pb->perm[i]];
    if (xtmp)
      for (int64_t i = 0; i < d; i++) xtmp[t * d + i] = x[pb->perm[i]];
  }
  if (n > 0) /* X Wᵀ = X[:, π] W[:, π]ᵀ */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d_out, (int)d, 1.0, xtmp ? xtmp : ctx->xp,
                (int)d, ctx->wt, (int)d_out, 0.0, ctx->xwt, (int)d_out);
  *out = ctx;
  ctx  = NULL;
cleanup:
  if (pushed) PetscPopErrorHandler();
  free(xtmp);
  petsc_mask_free(ctx);
  return st;
}

static comp_status petsc_solve(void *vctx, int64_t k, double *m)
{
  petsc_mask        *ctx    = vctx;
  comp_status        st     = COMP_OK;
  bool               pushed = false;
  Mat                A      = NULL;
  Vec                y = NULL, b = NULL;
  KSP                ksp = NULL;
  PC                 pc;
  KSPConvergedReason reason;
  PetscInt           its;
  PetscScalar       *ba;
  const PetscScalar *ya;
  const int64_t      n = ctx->n_loc, d = ctx->d, d_out = ctx->d_out;
  const PetscInt     rows = (PetscInt)(n * d_out + (ctx->rank == 0 ? k : 0)), cols = ctx->rank == 0 ? (PetscInt)k : 0;
  ctx->k = k;
  PCALL(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  pushed = true;

  PCALL(MatCreateShell(ctx->comm, rows, cols, PETSC_DETERMINE, PETSC_DETERMINE, ctx, &A));
  PCALL(MatShellSetOperation(A, MATOP_MULT, (void (*)(void))shell_mult));
  PCALL(MatShellSetOperation(A, MATOP_MULT_TRANSPOSE, (void (*)(void))shell_mult_transpose));
  PCALL(MatShellSetOperation(A, MATOP_NORM, (void (*)(void))shell_norm));
  PCALL(MatCreateVecs(A, &y, &b));

  /* b = [r; 0], r = X Wᵀ − X′_S W_Sᵀ on this rank's token rows */
  PCALL(VecGetArray(b, &ba));
  if (n > 0) {
    memcpy(ba, ctx->xwt, (size_t)(n * d_out) * sizeof *ba);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d_out, (int)k, -1.0, ctx->xp, (int)d, ctx->wt,
                (int)d_out, 1.0, ba, (int)d_out);
  }
  if (ctx->rank == 0) memset(ba + n * d_out, 0, (size_t)k * sizeof *ba);
  PCALL(VecRestoreArray(b, &ba));

  PCALL(KSPCreate(ctx->comm, &ksp));
  PCALL(KSPSetOptionsPrefix(ksp, PETSC_MASK_PREFIX));
  PCALL(KSPSetType(ksp, KSPLSQR));
  PCALL(KSPSetOperators(ksp, A, A));
  PCALL(KSPGetPC(ksp, &pc));
  PCALL(PCSetType(pc, PCNONE));
  PCALL(KSPSetTolerances(ksp, PETSC_MASK_RTOL, 0.0, PETSC_DEFAULT, (PetscInt)(10 * k + 1000)));
  PCALL(KSPLSQRSetExactMatNorm(ksp, PETSC_TRUE));
  PCALL(KSPSetFromOptions(ksp));
  PCALL(KSPSolve(ksp, b, y));
  PCALL(KSPGetConvergedReason(ksp, &reason));
  PCALL(KSPGetIterationNumber(ksp, &its));
  if (reason < 0) {
    st = comp_error_set(COMP_ERR_NUMERIC,
                        "petsc: KSPLSQR did not converge for k = %lld of d = %lld (%s after %d iterations; "
                        "try -mask_ksp_max_it or a looser -mask_ksp_rtol, or --solver lapack)",
                        (long long)k, (long long)d, KSPConvergedReasons[reason], (int)its);
    goto cleanup;
  }
  if (ctx->rank == 0) {
    PCALL(VecGetArrayRead(y, &ya));
    for (int64_t i = 0; i < k; i++) m[i] = 1.0 + ya[i] / ctx->scale[i];
    PCALL(VecRestoreArrayRead(y, &ya));
  }
cleanup:
  KSPDestroy(&ksp);
  VecDestroy(&y);
  VecDestroy(&b);
  MatDestroy(&A);
  if (pushed) PetscPopErrorHandler();
  return st;
}

static void petsc_destroy(void **vctx)
{
  petsc_mask_free(*vctx); /* holds no PETSc object between solves */
  *vctx = NULL;
}

static void petsc_finalize(void)
{
  PetscBool finalized = PETSC_TRUE;
  if (!petsc_inited_here || PetscFinalized(&finalized) || finalized) return;
  PetscFinalize();
  petsc_inited_here = false;
}

const comp_mask_solver_ops comp_mask_solver_petsc_ops = {
    .name     = "petsc",
    .help     = "KSPLSQR on the tall Eq. 4 problem, matrix-free over token rows (PETSc; options -mask_ksp_*)",
    .create   = petsc_create,
    .solve    = petsc_solve,
    .destroy  = petsc_destroy,
    .finalize = petsc_finalize,
};
