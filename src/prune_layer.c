/* prune_layer.c - stage C for one decoder layer: neuron importance, mask tuning (Eq. 5) and
 * Algorithm 1's allocation of the layer's ratio to its denses (see comp/prune.h).
 *
 * With X′ = X (the default) every dense of a layer sees what the unpruned layer feeds it, so the
 * denses are independent: for each dense we compute, once, its "variance profile" — the tuned
 * mask's variance after removing s, 2s, 3s ... columns in ascending importance (each a prefix
 * solve of one Cholesky factor). Algorithm 1 with threshold τ prunes a dense until its variance
 * first exceeds τ; the smallest τ on the grid that meets the layer's target is taken from the
 * profiles without re-solving, then single steps are handed back (highest variance first) while
 * the layer still meets its target, so the layer lands on its ratio instead of overshooting. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comp/dist.h"
#include "comp/forward.h"
#include "comp/masksolve.h"
#include "comp/prune.h"
#include "comp/util.h"

/* The calibration inputs of every dense of one layer, captured from the forward pass. Denses the
 * forward hands the same buffer back to back (q, k, v; gate, up) share one copy. */
typedef struct dense_inputs {
  float       *x[COMP_DENSE_COUNT];      /* (n, d_in_full) each, allocated at the first capture     */
  bool         want[COMP_DENSE_COUNT];   /* capture this dense                                      */
  bool         shared[COMP_DENSE_COUNT]; /* x[j] is the previous tapped dense's buffer (not owned)  */
  int64_t      width[COMP_DENSE_COUNT];  /* x[j]'s columns                                          */
  int64_t      n;
  int64_t      row0;     /* the rows the forward's call fills start here                              */
  int          prev;     /* the dense tapped last in this pass (-1: none)                             */
  const float *prev_src; /* the forward's buffer it was given                                          */
  int64_t      prev_width;
  bool         nomem;
} dense_inputs;

static void capture_tap(void *ctx, comp_tap_point where, int layer, int dense, const float *x, int64_t n, int64_t width)
{
  (void)layer;
  dense_inputs *di = ctx;
  if (where != COMP_TAP_DENSE_IN || dense < 0 || dense >= COMP_DENSE_COUNT || !di->want[dense]) return;
  const bool same = di->prev >= 0 && di->prev_src == x && di->prev_width == width && di->x[di->prev];
  if (di->shared[dense] && !same) di->x[dense] = NULL, di->shared[dense] = false; /* never, with a fixed forward */
  if (!di->x[dense] && same) {
    di->x[dense]      = di->x[di->prev];
    di->shared[dense] = true;
  } else if (!di->x[dense] && !(di->x[dense] = malloc(sizeof(float) * (size_t)(di->n * width)))) {
    di->nomem = true;
    return;
  }
  di->width[dense] = width;
  if (!di->shared[dense] && di->row0 + n <= di->n)
    memcpy(di->x[dense] + di->row0 * width, x, sizeof(float) * (size_t)(n * width));
  di->prev       = dense;
  di->prev_src   = x;
  di->prev_width = width;
}

static void dense_inputs_free(dense_inputs *di)
{
  for (int j = 0; j < COMP_DENSE_COUNT; j++) {
    if (!di->shared[j]) free(di->x[j]);
    di->x[j]      = NULL;
    di->shared[j] = false;
  }
}

/* What one dense's analysis leaves for the allocation step. The Grams and the solver's factor are
 * freed when the analysis ends: the tuned masks it may need later (one per step of the profile,
 * and the uniform allocation's) are kept instead, Σ_i (d - i·step) ≈ d·step_div/2 doubles — so
 * only one dense's (d,d) matrices are ever resident (bounded memory). */
typedef struct dense_plan {
  bool     present;
  int64_t  d_in, d_out, step;
  int32_t *perm;    /* (d_in) keep-priority order (most important first)                     */
  int64_t  n_steps; /* steps whose solve passed the guard                                     */
  double  *var;     /* (n_steps) Var(m̂) after removing (i+1)*step columns                     */
  double  *masks;   /* step i's m̂ (d_in − (i+1)·step, perm order) at mask_offset(i); NULL
                       when no mask was solved                                                  */
  int64_t r_extra;  /* pruned columns of the uniform allocation's own solve (-1: none)        */
  double *m_extra;  /* (d_in − r_extra) its m̂                                                 */
  bool    ok_extra;
  int64_t r; /* chosen number of pruned columns                                              */
} dense_plan;

/* Phase timing: tick(o, PHASE, &t) adds the time since t to PHASE (when profiling) and restarts t. */
static void tick(const comp_prune_opts *o, comp_prune_phase ph, double *t)
{
  double now = comp_now();
  if (o->prof) o->prof->seconds[ph] += now - *t;
  *t = now;
}

static void plan_free(dense_plan *p)
{
  free(p->perm);
  free(p->var);
  free(p->masks);
  free(p->m_extra);
  memset(p, 0, sizeof *p);
}

/* Offset of step i's mask in dense_plan.masks: Σ_{j<i} (d − (j+1)·step). */
static int64_t mask_offset(const dense_plan *p, int64_t i) { return i * p->d_in - p->step * i * (i + 1) / 2; }

/* The tuned mask for r pruned columns (NULL when none was solved); *ok its guard. */
static const double *plan_mask(const dense_plan *p, int64_t r, bool *ok)
{
  *ok = true;
  if (r == p->r_extra && p->m_extra) return (*ok = p->ok_extra), p->m_extra;
  if (p->masks && r > 0 && r % p->step == 0 && r / p->step <= p->n_steps)
    return p->masks + mask_offset(p, r / p->step - 1);
  return NULL;
}

/* The same fraction of dense p's input columns as of the layer's (rounded, within what the guard
 * allows when a profile was solved). */
static int64_t uniform_columns(const dense_plan *p, double fraction)
{
  int64_t r = (int64_t)llround(fraction * (double)p->d_in), cap = p->n_steps * p->step; /* whole steps */
  if (r > p->d_in - 1) r = p->d_in - 1;
  if (r > cap && p->masks) r = cap;
  return r < 0 ? 0 : r;
}

/* Row panels of a (d,d) Gram-like matrix: each is computed whole by one rank of the group, so the
 * matrix is the same bit for bit whatever the group's size. */
enum { GRAM_PANEL = 256 };

/* Owner of row panel i among P ranks: zigzag (0..P-1, P-1..0, ...), as the panels grow with i. */
static int panel_owner(int64_t i, int P)
{
  const int64_t r = i % (2 * P);
  return (int)(r < P ? r : 2 * P - 1 - r);
}

/* What build_by_panels builds: WᵀW (gram false) into A packed (d(d+1)/2), or Eq. 5's
 * G = (WᵀW)∘(XᵀX) (gram true) into A (d,d), from the packed WtWp when given, and the diagonals of
 * WᵀW and XᵀX into dg_w, dg_x (d each). */
typedef struct panel_job {
  double       *A;    /* (d, d) or (d(d+1)/2) out                           */
  const double *WtWp; /* (d(d+1)/2) or NULL                                 */
  const float  *W;    /* (d_out, d)                                         */
  const float  *X;    /* (n, d)                                             */
  int64_t       d_out, n, d;
  double       *dg_w, *dg_x; /* (d) each, gram only                        */
  bool          gram;
} panel_job;

/* Collective on comm: the lower triangle panel by panel (panel_owner), the panels broadcast by their
 * owners, the upper triangle mirrored. Work and no more memory than the matrix split over the ranks. */
static comp_status build_by_panels(const panel_job *j, MPI_Comm comm)
{
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const int64_t d = j->d, np = (d + GRAM_PANEL - 1) / GRAM_PANEL;
  comp_status   s = COMP_OK;
  for (int64_t i = 0; !s && i < np; i++) {
    const int64_t r0 = i * GRAM_PANEL, r1 = r0 + GRAM_PANEL < d ? r0 + GRAM_PANEL : d;
    if (panel_owner(i, size) != rank) continue;
    s = j->gram ? comp_eq5_gram_rows(j->A, j->WtWp, j->W, j->d_out, j->X, j->n, d, r0, r1, j->dg_w, j->dg_x)
                : comp_wtw_rows_packed(j->A, j->W, j->d_out, d, r0, r1);
  }
  if ((s = comp_dist_agree(comm, s))) return s;
  for (int64_t i = 0; size > 1 && i < np; i++) {
    const int64_t r0 = i * GRAM_PANEL, r1 = r0 + GRAM_PANEL < d ? r0 + GRAM_PANEL : d;
    const int     root = panel_owner(i, size);
    MPI_Datatype  blk; /* rows r0..r1-1, columns 0..r1-1 of the row-major (d, d); packed: contiguous */
    if (j->gram)
      MPI_Type_vector((int)(r1 - r0), (int)r1, (int)d, MPI_DOUBLE, &blk);
    else
      MPI_Type_contiguous((int)(comp_packed_row(r1) - comp_packed_row(r0)), MPI_DOUBLE, &blk);
    MPI_Type_commit(&blk);
    MPI_Bcast(j->A + (j->gram ? r0 * d : comp_packed_row(r0)), 1, blk, root, comm);
    MPI_Type_free(&blk);
    if (j->gram && j->dg_w) MPI_Bcast(j->dg_w + r0, (int)(r1 - r0), MPI_DOUBLE, root, comm);
    if (j->gram && j->dg_x) MPI_Bcast(j->dg_x + r0, (int)(r1 - r0), MPI_DOUBLE, root, comm);
  }
  if (j->gram) comp_sym_from_lower(j->A, d);
  return COMP_OK;
}

/* Eq. 5's problem for dense dn: G (d,d), c (d), keep order perm (d), n token rows of X and X′. */
static comp_mask_problem mask_problem(const comp_dense *dn, const float *X, const float *Xp, const double *G,
                                      const double *c, const int32_t *perm, int64_t n, const comp_prune_opts *o)
{
  return (comp_mask_problem){.d       = dn->d_in,
                             .d_out   = dn->d_out,
                             .n       = n,
                             .W       = dn->w,
                             .X       = X,
                             .Xp      = Xp,
                             .G       = G,
                             .c       = c,
                             .perm    = perm,
                             .eps_rel = o->ridge_eps};
}

/* The importance's factor over the group: the solver back-end on G + λI in the identity order
 * (dense dn's problem, *mp and the identity *id filled here: both outlive *ms; free *id after
 * destroying *ms; G and c NULL: a back-end that builds its own share of G). Collective. */
static comp_status group_factor(const comp_dense *dn, const float *X, const float *Xp, const double *G, const double *c,
                                int64_t n, const comp_prune_opts *o, MPI_Comm comm, comp_mask_problem *mp, int32_t **id,
                                comp_mask_solver **ms)
{
  const int64_t d = dn->d_in;
  *ms             = NULL;
  *id             = malloc(sizeof(int32_t) * (size_t)d); /* (d) identity order */
  comp_status s   = *id ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory");
  for (int64_t k = 0; !s && k < d; k++) (*id)[k] = (int32_t)k;
  if ((s = comp_dist_agree(comm, s))) return s;
  *mp = mask_problem(dn, X, Xp, G, c, *id, n, o);
  return comp_mask_solver_create(o->solver, mp, comm, ms); /* agreed */
}

/* OBS scores 1/[(G+λI)⁻¹]_kk (d) from the solver back-end's factor (diag_inv). Collective. */
static comp_status obs_from_factor(comp_mask_solver *ms, int64_t d, double *score)
{
  comp_status s = comp_mask_solver_diag_inv(ms, score);
  for (int64_t k = 0; !s && k < d; k++) score[k] = 1.0 / score[k];
  return s;
}

/* OBS importance over the group: diag((G+λI)⁻¹) from the solver back-end's distributed factor
 * (scalapack: pdpotrf + pdtrtri on the group's grid) instead of one replicated Cholesky + inverse. */
static comp_status obs_distributed(const comp_dense *dn, const float *X, const float *Xp, const double *G,
                                   const double *c, int64_t n, const comp_prune_opts *o, MPI_Comm comm, double *score)
{
  comp_mask_problem mp;
  int32_t          *id = NULL;
  comp_mask_solver *ms = NULL;
  comp_status       s  = group_factor(dn, X, Xp, G, c, n, o, comm, &mp, &id, &ms);
  if (!s) s = obs_from_factor(ms, dn->d_in, score);
  comp_mask_solver_destroy(&ms);
  free(id);
  return s;
}

/* OBS importance over the group with no whole G on any rank: the solver back-end builds its own
 * share of G from W and X (scalapack: each rank its block-cyclic blocks, d²/ranks doubles), in the
 * identity order, and diag((G+λI)⁻¹) comes from its factor; *ms (on *mp and the identity *id, both
 * to outlive it) is kept for the mask solves, which reorder it to the keep order. Collective. */
static comp_status obs_own_gram(const comp_dense *dn, const float *X, int64_t n, const comp_prune_opts *o,
                                MPI_Comm comm, comp_mask_problem *mp, int32_t **id, comp_mask_solver **ms,
                                double *score, double *t)
{
  comp_status s = group_factor(dn, X, X, NULL, NULL, n, o, comm, mp, id, ms); /* agreed */
  if (s) return s;
  tick(o, COMP_PHASE_GRAM, t);
  return obs_from_factor(*ms, dn->d_in, score);
}

/* Lanczos' operator for λmin: y = (G + λI)⁻¹ x through the solver's distributed factor. */
static comp_status op_solver_inv(void *ctx, const double *x, double *y)
{
  return comp_mask_solver_apply_inv(ctx, x, y);
}

/* Lanczos' operator for λmax without a whole G: y = G x through the solver's distributed G. */
static comp_status op_solver_apply(void *ctx, const double *x, double *y) { return comp_mask_solver_apply(ctx, x, y); }

/* Eq. 7 over the group: λmax by Lanczos through op (y the same on every rank), λmin by shift-invert
 * Lanczos through ms's distributed factor of G + λI (lam the ridge), then κ and g (d) from the two
 * pairs. *conv = false (κ and g unset) when either end needs more than `steps` steps. Collective. */
static comp_status group_cond_grad(comp_spd_op op, void *octx, comp_mask_solver *ms, int64_t d, double lam, int steps,
                                   MPI_Comm comm, double *kappa, double *g, bool *conv)
{
  double     *v      = malloc(sizeof(double) * (size_t)(2 * d)); /* (d, 2) v_min, v_max */
  double      th_max = 0, th_inv = 0;
  bool        conv_max = false, conv_min = false;
  comp_status s = comp_dist_agree(comm, v ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory"));
  if (!s) s = comp_dist_agree(comm, comp_lanczos_top(op, octx, d, steps, &th_max, v + d, &conv_max));
  if (!s && conv_max) s = comp_dist_agree(comm, comp_lanczos_top(op_solver_inv, ms, d, steps, &th_inv, v, &conv_min));
  if (!s && conv_max && conv_min) s = comp_eq7_from_eigpairs(d, lam, 1.0 / th_inv - lam, th_max, v, v + d, kappa, g);
  *conv = !s && conv_max && conv_min;
  free(v);
  return s;
}

/* COND importance over the group (Eq. 7, 9 with --cond-eig lanczos): λmax by Lanczos on G, as one
 * rank does; λmin by shift-invert Lanczos through the solver back-end's distributed factor of
 * G + λI (scalapack: pdpotrf over the group's grid, two pdtrsv per step) instead of a Cholesky
 * replicated on every rank of the group. *done = false (nothing set) when Lanczos needs more steps
 * than allowed: the caller then takes the replicated path (the tridiagonal method). */
static comp_status cond_distributed(const comp_dense *dn, const float *X, const float *Xp, const double *G,
                                    const double *c, int64_t n, const comp_fisher *fisher, const comp_prune_opts *o,
                                    MPI_Comm comm, double *score, bool *done)
{
  const int64_t     d     = dn->d_in;
  const int         steps = fisher->eig_steps > 0 ? fisher->eig_steps : COMP_LANCZOS_STEPS;
  int32_t          *id    = NULL;
  comp_mask_solver *ms    = NULL;
  double            kappa = 0;
  comp_sym          gop   = {.A = G, .d = d}; /* G replicated on every rank */
  comp_mask_problem mp;
  comp_status       s = group_factor(dn, X, Xp, G, c, n, o, comm, &mp, &id, &ms); /* agreed */
  if (!s)
    s = group_cond_grad(comp_sym_apply, &gop, ms, d, comp_mask_ridge(G, d, o->ridge_eps), steps, comm, &kappa, score,
                        done); /* score = g */
  if (!s && *done) comp_eq9_cond_score(d, kappa, score, fisher, score);
  comp_mask_solver_destroy(&ms);
  free(id);
  return s;
}

/* COND importance over the group with no whole (d,d) matrix on any rank (Eq. 7-9, --cond-eig
 * lanczos; COND_FISHER: Eq. 8 alone). The back-end keeps WᵀW's share (a problem without X); each
 * Fisher sample's G_s = (WᵀW)∘(X_sᵀX_s) is made in the shares in turn (regram), its λmax found by
 * Lanczos through the distributed G_s x and its λmin by shift-invert through its distributed
 * factor; then G itself, for κ and g. F sums the (g^(s))² in sample order, as one rank does. *ms
 * is left holding G in the identity order (*mp, *id outlive it), for the mask solves after a
 * reorder. *done = false when Lanczos needs more steps than allowed (*ms destroyed, F zeroed): the
 * caller then takes the replicated path. Collective. */
static comp_status cond_own_gram(const comp_dense *dn, const float *X, int64_t S, int64_t T, const comp_prune_opts *o,
                                 MPI_Comm comm, comp_mask_problem *mp, int32_t **id, comp_mask_solver **ms,
                                 comp_fisher *fisher, double *score, bool *done, double *t)
{
  const int64_t d = dn->d_in, n = S * T;
  const int     steps = fisher->eig_steps > 0 ? fisher->eig_steps : COMP_LANCZOS_STEPS;
  double        lam = 0, kappa = 0;
  bool          conv = true;
  comp_status   s    = group_factor(dn, NULL, NULL, NULL, NULL, n, o, comm, mp, id, ms); /* WᵀW's share; agreed */
  tick(o, COMP_PHASE_WTW, t);
  for (int64_t smp = 0; !s && conv && smp < S; smp++) { /* score = g^(s) */
    s = comp_mask_solver_regram(*ms, X + smp * T * d, T, true, &lam);
    if (!s) s = group_cond_grad(op_solver_apply, *ms, *ms, d, lam, steps, comm, &kappa, score, &conv);
    for (int64_t k = 0; !s && conv && k < d; k++) fisher->F[k] += score[k] * score[k];
  }
  fisher->n = (int)S;
  tick(o, COMP_PHASE_FISHER, t);
  if (!s && conv) s = comp_mask_solver_regram(*ms, X, n, false, &lam);
  tick(o, COMP_PHASE_GRAM, t);
  if (!s && conv && o->importance == COMP_IMP_COND) { /* score = g, then Eq. 9 */
    s = group_cond_grad(op_solver_apply, *ms, *ms, d, lam, steps, comm, &kappa, score, &conv);
    if (!s && conv) comp_eq9_cond_score(d, kappa, score, fisher, score);
  } else if (!s && conv) {
    s = comp_neuron_importance(COMP_IMP_COND_FISHER, d, NULL, NULL, NULL, fisher, o->ridge_eps, score);
  }
  *done = !s && conv;
  if (!*done) {
    comp_mask_solver_destroy(ms);
    free(*id);
    *id = NULL;
    memset(fisher->F, 0, sizeof(double) * (size_t)d);
    fisher->n = 0;
  }
  return s;
}

bool comp_prune_grams_in_shares(const comp_prune_opts *o, int group, bool xp_is_x)
{
  if (group < 2 || !xp_is_x || !o->solver) return false;
  if (o->importance == COMP_IMP_OBS) return comp_mask_solver_owns_gram(o->solver) && o->solver->diag_inv;
  const bool cond = o->importance == COMP_IMP_COND || o->importance == COMP_IMP_COND_FISHER;
  return cond && o->cond_shares && o->cond_eig == COMP_EIG_LANCZOS && comp_mask_solver_regrams(o->solver);
}

/* Importance, keep order and (with mask tuning) the variance profile of one dense, collective on
 * comm (the ranks sharing the layer). W (d_out, d_in), X (S*T, d_in) what the unpruned model feeds
 * it (the target of Eq. 2), Xp (S*T, d_in) what it is fed when pruned (X′; NULL for X′ = X).
 * Importance is computed on X′. fraction: the uniform allocation's share (NaN: τ allocation).
 * Bounded memory: one (d,d) matrix is alive at a time — G, built panel by panel, used in place by
 * the importance and factored in place by lapack — and one and a half with the COND kinds (WᵀW,
 * packed, beside a Fisher sample, then beside G); two and a half with X′ ≠ X (and X′Xᵀ). On a group
 * whose back-end builds G in its shares (scalapack, X′ = X): OBS and COND with Lanczos hold no whole
 * (d,d) at all, only shares of G (and of WᵀW for COND), d²/ranks doubles each. */
static comp_status analyse_dense(const comp_dense *dn, const float *X, const float *Xp, int64_t S, int64_t T,
                                 double fraction, const comp_prune_opts *o, MPI_Comm comm, dense_plan *p)
{
  const int64_t     d = dn->d_in, n = S * T;
  comp_status       s      = COMP_OK;
  const bool        cond   = o->importance == COMP_IMP_COND || o->importance == COMP_IMP_COND_FISHER;
  double           *WtWp   = NULL;                                     /* (d(d+1)/2) WᵀW packed          */
  double           *G      = NULL;                                     /* (d, d) X′X′ᵀ, then Eq. 5's G */
  double           *c      = malloc(sizeof(double) * (size_t)d);       /* (d) right side of Eq. 5    */
  double           *dg     = malloc(sizeof(double) * (size_t)(2 * d)); /* (d) diag WᵀW, (d) diag X′X′ᵀ */
  double           *score  = malloc(sizeof(double) * (size_t)d);       /* (d) neuron importance      */
  comp_fisher       fisher = {0};
  comp_mask_solver *ms     = NULL;
  comp_mask_problem mp_own;              /* the own-Gram path's problem and identity order (outlive ms) */
  int32_t          *id_own = NULL;       /* (d)                                                          */
  double            t      = comp_now(); /* phase timer */
  int               grank, gsize;
  MPI_Comm_rank(comm, &grank);
  MPI_Comm_size(comm, &gsize);
  p->present = true;
  p->d_in    = d;
  p->d_out   = dn->d_out;
  p->r_extra = -1;
  p->step    = (int64_t)llround((double)d / o->step_div);
  if (p->step < 1) p->step = 1;
  p->perm = malloc(sizeof(int32_t) * (size_t)d);
  p->var  = malloc(sizeof(double) * (size_t)(d / p->step + 1));
  if (!Xp) Xp = X;
  /* OBS, or COND when asked, on a group whose back-end keeps the Grams in its shares (scalapack) */
  const bool shares   = comp_prune_grams_in_shares(o, gsize, Xp == X);
  const bool own      = shares && o->importance == COMP_IMP_OBS;
  bool       own_cond = shares && cond;
  if (!c || !dg || !score || !p->perm || !p->var) {
    s = comp_error_set(COMP_ERR_NOMEM, "out of memory analysing a dense with %lld inputs", (long long)d);
    goto agree;
  }
  if (own_cond) { /* no whole (d,d) matrix on any rank */
    s          = comp_dist_agree(comm, comp_fisher_init(&fisher, d));
    fisher.eig = o->cond_eig;
    if (!s) s = cond_own_gram(dn, X, S, T, o, comm, &mp_own, &id_own, &ms, &fisher, score, &own_cond, &t); /* agreed */
    if (s || own_cond) {
      if (!s) comp_keep_order(score, d, p->perm);
      tick(o, COMP_PHASE_IMPORTANCE, &t);
      goto agree;
    }
    comp_fisher_free(&fisher); /* Lanczos did not converge: the replicated path, from the start */
  }
  const bool need_wtw = cond || Xp != X;
  if (need_wtw && !(WtWp = malloc(sizeof(double) * (size_t)comp_packed_row(d)))) {
    s = comp_error_set(COMP_ERR_NOMEM, "out of memory for WtW of a dense with %lld inputs", (long long)d);
    goto agree;
  }
  /* WᵀW is kept (packed) only when something besides G needs it (the Fisher samples, or the cross
   * term of X′ ≠ X); otherwise its panels are made and used inside G's (one (d,d) matrix alive) */
  if (need_wtw) {
    panel_job jw = {.A = WtWp, .W = dn->w, .d_out = dn->d_out, .d = d};
    if ((s = build_by_panels(&jw, comm))) goto done; /* agreed */
  }
  tick(o, COMP_PHASE_WTW, &t);
  if (cond) {
    /* Eq. 8: one Fisher sample per calibration sequence, G_s = (WᵀW)∘(X_s X_sᵀ), destroyed by its
     * eigen-solve (no copy). The samples are independent: the ranks sharing the layer take turns
     * (sample s on group rank s mod P), and every rank then sums all (g^(s))² in sample order, so
     * F is bit-identical to one rank's. */
    double *Gs = malloc(sizeof(double) * (size_t)(d * d)); /* (d, d) */
    double *sq = calloc((size_t)(S * d), sizeof(double));  /* (S, d) (g^(s)_k)²  */
    if (!Gs || !sq) s = comp_error_set(COMP_ERR_NOMEM, "out of memory for the Fisher samples");
    if (!s) s = comp_fisher_init(&fisher, d);
    fisher.eig = o->cond_eig;
    for (int64_t smp = grank; !s && smp < S; smp += gsize) {
      comp_fisher one = {0};
      memset(Gs, 0, sizeof(double) * (size_t)(d * d));
      comp_gram_acc(Gs, Xp + smp * T * d, T, d);
      comp_eq5_gram_packed(Gs, WtWp, Gs, d);
      s       = comp_fisher_init(&one, d);
      one.eig = o->cond_eig;
      if (!s) s = comp_fisher_add_destroy(&one, Gs, o->ridge_eps);
      if (!s) memcpy(sq + smp * d, one.F, sizeof(double) * (size_t)d);
      comp_fisher_free(&one);
    }
    if ((s = comp_dist_agree(comm, s)) == COMP_OK) {
      if (gsize > 1) MPI_Allreduce(MPI_IN_PLACE, sq, (int)(S * d), MPI_DOUBLE, MPI_SUM, comm); /* one owner each */
      for (int64_t smp = 0; smp < S; smp++)
        for (int64_t k = 0; k < d; k++) fisher.F[k] += sq[smp * d + k];
      fisher.n = (int)S;
    }
    free(sq);
    free(Gs);
    tick(o, COMP_PHASE_FISHER, &t);
    if (s) goto done; /* already agreed */
  }
  if (own) { /* OBS on a group whose back-end builds G in its shares: no whole G anywhere */
    s = obs_own_gram(dn, X, n, o, comm, &mp_own, &id_own, &ms, score, &t); /* agreed */
    if (!s) comp_keep_order(score, d, p->perm);
    tick(o, COMP_PHASE_IMPORTANCE, &t);
    goto agree;
  }
  if (!(G = malloc(sizeof(double) * (size_t)(d * d)))) {
    s = comp_error_set(COMP_ERR_NOMEM, "out of memory for the Gram of a dense with %lld inputs", (long long)d);
    goto agree;
  }
  if (Xp == X) { /* G by panels over the group, c = G 1 */
    s            = comp_dist_agree(comm, s);
    panel_job jg = {.A     = G,
                    .WtWp  = WtWp,
                    .W     = dn->w,
                    .X     = X,
                    .d_out = dn->d_out,
                    .n     = n,
                    .d     = d,
                    .dg_w  = dg,
                    .dg_x  = dg + d,
                    .gram  = true};
    if (s || (s = build_by_panels(&jg, comm))) goto done; /* agreed */
    comp_row_sums(c, G, d);
  } else {                                                 /* c = ((WᵀW)∘(X′Xᵀ))1 */
    double *XpX = calloc((size_t)(d * d), sizeof(double)); /* (d, d) X′Xᵀ */
    if (!XpX) {
      s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
      goto agree;
    }
    memset(G, 0, sizeof(double) * (size_t)(d * d));
    comp_gram_acc(G, Xp, n, d);
    comp_cross_acc(XpX, Xp, X, n, d);
    comp_eq5_rhs_packed(c, WtWp, XpX, d);
    free(XpX);
    for (int64_t k = 0; k < d; k++) dg[k] = WtWp[comp_packed_row(k) + k], dg[d + k] = G[k * d + k];
    comp_eq5_gram_packed(G, WtWp, G, d);
  }
  free(WtWp);
  WtWp = NULL;
  tick(o, COMP_PHASE_GRAM, &t);
  if ((s = comp_dist_agree(comm, s))) goto done;
  bool scored = false; /* by the group's distributed factor */
  if (o->importance == COMP_IMP_OBS && gsize > 1 && o->solver->diag_inv) {
    s      = obs_distributed(dn, X, Xp, G, c, n, o, comm, score); /* collective */
    scored = true;
  } else if (o->importance == COMP_IMP_COND && fisher.eig == COMP_EIG_LANCZOS && gsize > 1 && o->solver->apply_inv) {
    s = cond_distributed(dn, X, Xp, G, c, n, &fisher, o, comm, score, &scored); /* collective */
    if (!s && !scored) fisher.eig = COMP_EIG_TRIDIAG; /* Lanczos did not converge: what one rank falls back to */
  }
  if (!s && !scored) s = comp_neuron_importance_inplace(o->importance, d, G, dg, dg + d, &fisher, o->ridge_eps, score);
  if (!s) comp_keep_order(score, d, p->perm);
  tick(o, COMP_PHASE_IMPORTANCE, &t);
agree: /* every rank of the group gets here, failed or not, before the next collective */
  if ((s = comp_dist_agree(comm, s))) goto done;
  MPI_Bcast(p->perm, (int)d, MPI_INT32_T, 0, comm); /* one order for the whole group, whatever the BLAS */
  p->n_steps = 0;
  /* without mask tuning, τ allocation still needs the tuned masks' variance profile (the ablation
   * keeps the allocation and drops only the refitted scales); uniform allocation needs nothing */
  if (!o->mask_tuning && o->alloc != COMP_ALLOC_TAU) { /* every step is allowed */
    for (int64_t r = p->step; r + p->step <= d; r += p->step) p->var[p->n_steps++] = 0.0;
    goto done;
  }
  const int64_t nmax = (d - p->step) / p->step; /* steps with r + step <= d */
  p->masks           = malloc(sizeof(double) * (size_t)(mask_offset(p, nmax) + 1));
  if (!p->masks) s = comp_error_set(COMP_ERR_NOMEM, "out of memory for the mask profile");
  if ((s = comp_dist_agree(comm, s))) goto done;
  comp_mask_problem mp = mask_problem(dn, X, Xp, G, c, p->perm, n, o);
  mp.G_scratch         = G; /* lapack factors in place: G is not read again */
  if ((s = ms ? comp_mask_solver_reorder(ms, p->perm) : comp_mask_solver_create(o->solver, &mp, comm, &ms))) goto done;
  /* Algorithm 1's inner loop, for every τ at once: r grows by one step while k = d - r >= step;
   * all steps are solved together, the profile ends at the first the guard rejects */
  {
    int64_t *ks     = malloc(sizeof(int64_t) * (size_t)(nmax > 0 ? nmax : 1));
    double **ms_out = malloc(sizeof(double *) * (size_t)(nmax > 0 ? nmax : 1));
    bool    *oks    = malloc(sizeof(bool) * (size_t)(nmax > 0 ? nmax : 1));
    s               = ks && ms_out && oks ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; !s && i < nmax; i++) {
      ks[i]     = d - (i + 1) * p->step;
      ms_out[i] = p->masks + mask_offset(p, i);
    }
    s = comp_dist_agree(comm, s);
    if (!s) s = comp_mask_solver_solve_many(ms, (int)nmax, ks, ms_out, oks);
    for (int64_t i = 0; !s && i < nmax && oks[i]; i++) /* the guard ends the dense as a too-high τ would */
      p->var[p->n_steps++] = comp_mask_variance(ms_out[i], ks[i]);
    free(ks);
    free(ms_out);
    free(oks);
    if (s) goto done;
  }
  if (!isnan(fraction)) { /* the uniform allocation's own column count, when off the step grid */
    int64_t r = uniform_columns(p, fraction);
    bool    ok;
    if (r > 0 && !plan_mask(p, r, &ok)) {
      p->m_extra = malloc(sizeof(double) * (size_t)(d - r));
      if (!p->m_extra) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
      s = comp_dist_agree(comm, s);
      if (!s) s = comp_mask_solver_solve(ms, d - r, p->m_extra, &p->ok_extra);
      if (!s) p->r_extra = r;
    }
  }
done:
  comp_mask_solver_destroy(&ms);
  free(id_own);
  tick(o, COMP_PHASE_SOLVE, &t);
  comp_fisher_free(&fisher);
  free(WtWp);
  free(G);
  free(c);
  free(dg);
  free(score);
  return s;
}

/* Steps dense p takes under threshold tau: it stops before the first step whose variance > tau. */
static int64_t steps_at(const dense_plan *p, double tau)
{
  int64_t i = 0;
  while (i < p->n_steps && p->var[i] <= tau) i++;
  return i;
}

/* The τ grid: 0, tau_first, ×tau_growth ... up to tau_max, then ∞ (every step the guard allows). */
static double next_tau(double tau, const comp_prune_opts *o)
{
  double t = tau == 0 ? o->tau_first : tau * o->tau_growth;
  return (t > o->tau_max && o->tau_max > 0) ? INFINITY : t;
}

/* Algorithm 1 on the profiles: smallest τ of the grid meeting target_params, then landing. */
static double allocate_tau(dense_plan *pl, double target_params, const comp_prune_opts *o)
{
  double tau = 0.0;
  for (;;) {
    double removed = 0, removed_max = 0;
    for (int j = 0; j < COMP_DENSE_COUNT; j++) {
      if (!pl[j].present) continue;
      removed += (double)(steps_at(&pl[j], tau) * pl[j].step * pl[j].d_out);
      removed_max += (double)(pl[j].n_steps * pl[j].step * pl[j].d_out);
    }
    if (removed >= target_params || removed >= removed_max || isinf(tau)) break;
    tau = next_tau(tau, o);
  }
  double removed = 0;
  for (int j = 0; j < COMP_DENSE_COUNT; j++)
    if (pl[j].present) {
      pl[j].r = steps_at(&pl[j], tau) * pl[j].step;
      removed += (double)(pl[j].r * pl[j].d_out);
    }
  /* land: hand back the step with the highest variance while the layer still meets its target */
  for (;;) {
    int    best = -1;
    double bv   = -1;
    for (int j = 0; j < COMP_DENSE_COUNT; j++) {
      if (!pl[j].present || pl[j].r == 0) continue;
      if (removed - (double)(pl[j].step * pl[j].d_out) < target_params) continue;
      double v = pl[j].var[pl[j].r / pl[j].step - 1];
      if (v > bv) bv = v, best = j;
    }
    if (best < 0) break;
    pl[best].r -= pl[best].step;
    removed -= (double)(pl[best].step * pl[best].d_out);
  }
  return tau;
}

/* --neuron-allocation uniform: every dense gives up the fraction target_params / (its layer's dense params). */
static void allocate_uniform(dense_plan *pl, double target_params)
{
  double all = 0;
  for (int j = 0; j < COMP_DENSE_COUNT; j++)
    if (pl[j].present) all += (double)(pl[j].d_in * pl[j].d_out);
  for (int j = 0; j < COMP_DENSE_COUNT; j++)
    if (pl[j].present) pl[j].r = uniform_columns(&pl[j], all > 0 ? target_params / all : 0);
}

static int cmp_i32(const void *a, const void *b)
{
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* Replace dense dn by its compact form: kept columns S = perm[0..k) in ascending order, scaled by
 * m̂ (tune) or as they are. */
static comp_status compact_dense(comp_dense *dn, const dense_plan *p, bool tune)
{
  const int64_t d = p->d_in, k = d - p->r;
  if (p->r == 0) return COMP_OK;
  bool          ok   = true;
  const double *m    = tune ? plan_mask(p, p->r, &ok) : NULL; /* (k) m̂ in perm order */
  int32_t      *keep = malloc(sizeof(int32_t) * (size_t)k);   /* (k) kept columns, sorted */
  double       *scal = malloc(sizeof(double) * (size_t)d);    /* (d) m̂ by column          */
  if (!keep || !scal) {
    free(keep);
    free(scal);
    return comp_error_set(COMP_ERR_NOMEM, "out of memory");
  }
  for (int64_t i = 0; i < k; i++) {
    keep[i]          = p->perm[i];
    scal[p->perm[i]] = (m && ok) ? m[i] : 1.0;
  }
  qsort(keep, (size_t)k, sizeof *keep, cmp_i32);
  /* in place: row o of W′ (d_out, k) is written at or before where row o of W (d_out, d) is read */
  for (int64_t o = 0; o < dn->d_out; o++)
    for (int64_t i = 0; i < k; i++) dn->w[o * k + i] = (float)(dn->w[o * d + keep[i]] * scal[keep[i]]);
  free(dn->in_idx);
  dn->in_idx = keep;
  dn->d_in   = k;
  free(scal);
  return COMP_OK;
}

/* Run layer ly on x (S*T, D) and keep every wanted dense's input (S*T rows) in di, on every rank
 * of comm (the ranks sharing the layer). Each calibration sequence is run alone, a batch of one as
 * stage A runs it, so a row's values never depend on how many rows a call is given (OpenBLAS picks
 * SGEMM kernels by size): the sequences are split over comm's ranks and the captured rows gathered,
 * the same bit for bit for any group size. h (T, D) scratch, ws: one sequence. Collective. */
static comp_status capture_inputs(const comp_model *m, const comp_layer *ly, const float *x, int64_t S, int64_t T,
                                  MPI_Comm comm, comp_fwd_ws *ws, float *h, dense_inputs *di)
{
  const int64_t D = m->hp.n_embd;
  int           grank, gsize;
  MPI_Comm_rank(comm, &grank);
  MPI_Comm_size(comm, &gsize);
  int64_t s0, s1;
  comp_dist_range(S, grank, gsize, &s0, &s1);
  comp_taps   taps = {.fn = capture_tap, .ctx = di};
  comp_status s    = COMP_OK;
  for (int64_t b = s0; !s && b < s1; b++) {
    memcpy(h, x + b * T * D, sizeof(float) * (size_t)(T * D));
    di->prev = -1;
    di->row0 = b * T;
    s        = comp_forward_layer(m, ly, h, 1, T, ws, &taps);
    if (!s && di->nomem)
      s = comp_error_set(COMP_ERR_NOMEM, "out of memory for the calibration inputs of layer %d", ly->index);
  }
  if ((s = comp_dist_agree(comm, s)) || gsize == 1) return s;
  /* the buffers' layout from group rank 0 (it always has a sequence): ranks without one allocate */
  int64_t lay[2 * COMP_DENSE_COUNT]; /* width, shared */
  for (int j = 0; j < COMP_DENSE_COUNT; j++) lay[2 * j] = di->x[j] ? di->width[j] : 0, lay[2 * j + 1] = di->shared[j];
  MPI_Bcast(lay, 2 * COMP_DENSE_COUNT, MPI_INT64_T, 0, comm);
  for (int j = 0, last = -1; j < COMP_DENSE_COUNT; j++) {
    if (!lay[2 * j]) continue;
    di->width[j] = lay[2 * j];
    if (!di->x[j] && lay[2 * j + 1] && last >= 0) {
      di->x[j] = di->x[last], di->shared[j] = true;
    } else if (!di->x[j] && !(di->x[j] = malloc(sizeof(float) * (size_t)(di->n * lay[2 * j])))) {
      s = comp_error_set(COMP_ERR_NOMEM, "out of memory for the calibration inputs of layer %d", ly->index);
    }
    last = j;
  }
  int *cnt = malloc(sizeof(int) * (size_t)gsize * 2), *dsp = cnt ? cnt + gsize : NULL; /* (gsize) rows */
  if (!cnt)
    s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  else
    comp_dist_counts(S, gsize, T, cnt, dsp); /* the sequences' rows of each rank */
  if (!(s = comp_dist_agree(comm, s)))
    for (int j = 0; j < COMP_DENSE_COUNT; j++) {
      if (!lay[2 * j] || di->shared[j]) continue;
      MPI_Datatype row; /* one captured row */
      MPI_Type_contiguous((int)di->width[j], MPI_FLOAT, &row);
      MPI_Type_commit(&row);
      MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, di->x[j], cnt, dsp, row, comm);
      MPI_Type_free(&row);
    }
  free(cnt);
  return s;
}

/* Pruned input columns dense p takes under the allocation rule, before any landing cap. */
static int64_t columns_at(const dense_plan *p, const comp_prune_opts *o, double tau, double fraction)
{
  return o->alloc == COMP_ALLOC_TAU ? steps_at(p, tau) * p->step : uniform_columns(p, fraction);
}

/* --inputs within-layer (§4.2, Algorithm 1 as first written): the denses are pruned in forward
 * order and dense j's X′ is its input in the partially pruned layer (denses before j already
 * pruned and tuned), so every τ of the grid re-prunes the layer from a fresh copy. When the
 * accepted τ overshoots the target, the pass is repeated at that τ with each dense capped to what
 * the layer still needs (the landing; a cap changes only the denses after it). X: the unpruned
 * layer's dense inputs on x (n, D). On success ly holds the compact pruned denses. */
static comp_status prune_within_layer(const comp_model *m, comp_layer *ly, const float *x, const dense_inputs *X,
                                      int64_t S, int64_t T, double target_params, const comp_prune_opts *o,
                                      MPI_Comm comm, comp_fwd_ws *ws, float *h, dense_plan *pl, double *tau_out)
{
  const int64_t n    = S * T;
  comp_status   s    = COMP_OK;
  comp_layer    view = *ly; /* the working copy: own dense weights, shared norms and biases */
  dense_inputs  Xp   = {.n = n};
  double        all  = 0;
  view.mem           = NULL;
  for (int j = 0; j < COMP_DENSE_COUNT; j++) {
    view.dense[j].w      = NULL;
    view.dense[j].in_idx = NULL;
    if (!ly->dense[j].w) continue;
    all += (double)(ly->dense[j].d_in * ly->dense[j].d_out);
    view.dense[j].w = malloc(sizeof(float) * (size_t)(ly->dense[j].d_out * ly->dense[j].d_in_full));
    Xp.want[j]      = true;
    if (!view.dense[j].w) {
      s = comp_error_set(COMP_ERR_NOMEM, "out of memory for the within-layer working copy");
      goto done;
    }
  }
  const double fraction = all > 0 ? target_params / all : 0;
  const double ufrac    = o->alloc == COMP_ALLOC_UNIFORM ? fraction : NAN;
  double       tau      = 0.0;
  bool         landing  = false;
  for (;;) {
    double removed = 0;
    bool   at_max  = true; /* every dense took every step its guard allowed */
    for (int j = 0; j < COMP_DENSE_COUNT; j++) {
      if (!ly->dense[j].w) continue;
      comp_dense *vd = &view.dense[j];
      memcpy(vd->w, ly->dense[j].w, sizeof(float) * (size_t)(vd->d_out * vd->d_in_full));
      free(vd->in_idx);
      vd->in_idx = NULL;
      vd->d_in   = vd->d_in_full;
    }
    for (int j = 0; j < COMP_DENSE_COUNT; j++) {
      if (!ly->dense[j].w) continue;
      /* X′_j: dense j's input in the layer whose denses before j are pruned */
      if ((s = capture_inputs(m, &view, x, S, T, comm, ws, h, &Xp))) goto done;
      plan_free(&pl[j]);
      if ((s = analyse_dense(&view.dense[j], X->x[j], Xp.x[j], S, T, ufrac, o, comm, &pl[j]))) goto done;
      int64_t r = columns_at(&pl[j], o, tau, fraction);
      if (landing) { /* no more than the layer still needs, in whole steps */
        double  need = target_params - removed;
        int64_t rmax = need <= 0 ? 0 : (int64_t)ceil(need / (double)(pl[j].step * pl[j].d_out)) * pl[j].step;
        if (r > rmax) r = rmax;
      }
      if (r < pl[j].n_steps * pl[j].step) at_max = false;
      pl[j].r = r;
      removed += (double)(r * pl[j].d_out);
      if ((s = comp_dist_agree(comm, compact_dense(&view.dense[j], &pl[j], o->mask_tuning)))) goto done;
    }
    if (o->alloc == COMP_ALLOC_UNIFORM || landing) break;
    if (removed >= target_params) {
      if (removed == target_params) break;
      landing = true; /* same τ once more, capped */
      continue;
    }
    if (at_max || isinf(tau)) break; /* nothing more to take: the layer stays short of its target */
    tau = next_tau(tau, o);
  }
  *tau_out = o->alloc == COMP_ALLOC_TAU ? tau : NAN;
  /* the accepted pass replaces the layer's denses (compact rows fit where the full ones were) */
  for (int j = 0; j < COMP_DENSE_COUNT; j++) {
    if (!ly->dense[j].w) continue;
    comp_dense *d = &ly->dense[j], *v = &view.dense[j];
    memcpy(d->w, v->w, sizeof(float) * (size_t)(v->d_out * v->d_in));
    free(d->in_idx);
    d->in_idx = v->in_idx;
    d->d_in   = v->d_in;
    v->in_idx = NULL;
    pl[j].r   = d->d_in_full - d->d_in;
  }
done:
  for (int j = 0; j < COMP_DENSE_COUNT; j++) {
    free(view.dense[j].w);
    free(view.dense[j].in_idx);
  }
  dense_inputs_free(&Xp);
  return s;
}

comp_status comp_prune_layer(const comp_model *m, comp_layer *ly, const float *x, const float *xp, int64_t S, int64_t T,
                             double target, const comp_prune_opts *o, MPI_Comm comm, comp_prune_layer_info *info)
{
  const int64_t n = S * T, D = m->hp.n_embd;
  comp_status   s  = COMP_OK;
  dense_inputs  di = {.n = n}, dp = {.n = n};
  dense_plan    pl[COMP_DENSE_COUNT];
  comp_fwd_ws  *ws      = NULL;
  const bool    with_xp = o->inputs == COMP_INPUTS_PRUNED && xp;
  float        *h       = malloc(sizeof(float) * (size_t)(T * D)); /* (T, D) one sequence's residual stream */
  memset(pl, 0, sizeof pl);
  if (!h) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  for (int j = 0; !s && j < COMP_DENSE_COUNT; j++) {
    info->kept[j] = info->pruned[j] = -1;
    if (!ly->dense[j].w) continue;
    if (ly->dense[j].in_idx) {
      s = comp_error_set(COMP_ERR_INTERNAL, "layer %d is already pruned", ly->index);
      break;
    }
    di.want[j] = true;
    dp.want[j] = with_xp;
  }
  if (!s) s = comp_fwd_ws_create(&m->hp, T, T, &ws); /* one sequence at a time */
  /* the ranks sharing the layer agree before the collective capture and analysis */
  if ((s = comp_dist_agree(comm, s))) goto done;
  /* X: what the unpruned layer feeds each dense on its original input x, the sequences split over
   * the group */
  double t = comp_now();
  s        = capture_inputs(m, ly, x, S, T, comm, ws, h, &di); /* agreed */
  tick(o, COMP_PHASE_CAPTURE, &t);
  if (s) goto done;

  const double target_params = target * (double)comp_model_layer_n_params(m, ly->index);
  if (o->inputs == COMP_INPUTS_WITHIN_LAYER) {
    if ((s = prune_within_layer(m, ly, x, &di, S, T, target_params, o, comm, ws, h, pl, &info->tau))) goto done;
  } else {
    /* X′ = X, or (--inputs pruned) what the unpruned layer feeds each dense on the pruned model's
     * hidden states xp: the denses are independent, each analysed once */
    if (with_xp && (s = capture_inputs(m, ly, xp, S, T, comm, ws, h, &dp))) goto done;
    /* bounded memory: the forward workspace and scratch stream are not needed past the captures */
    comp_fwd_ws_destroy(&ws);
    free(h);
    h          = NULL;
    double all = 0;
    for (int j = 0; j < COMP_DENSE_COUNT; j++)
      if (ly->dense[j].w) all += (double)(ly->dense[j].d_in * ly->dense[j].d_out);
    const double ufrac = o->alloc == COMP_ALLOC_UNIFORM && all > 0 ? target_params / all : NAN;
    for (int j = 0; j < COMP_DENSE_COUNT; j++)
      if (ly->dense[j].w && (s = analyse_dense(&ly->dense[j], di.x[j], dp.x[j], S, T, ufrac, o, comm, &pl[j])))
        goto done;
    t         = comp_now();
    info->tau = o->alloc == COMP_ALLOC_TAU ? allocate_tau(pl, target_params, o) : NAN;
    if (o->alloc == COMP_ALLOC_UNIFORM) allocate_uniform(pl, target_params);
    for (int j = 0; j < COMP_DENSE_COUNT; j++)
      if (pl[j].present && (s = compact_dense(&ly->dense[j], &pl[j], o->mask_tuning))) goto done;
    tick(o, COMP_PHASE_COMPACT, &t);
  }
  double removed = 0;
  for (int j = 0; j < COMP_DENSE_COUNT; j++) {
    if (!pl[j].present) continue;
    info->kept[j]   = pl[j].d_in - pl[j].r;
    info->pruned[j] = pl[j].r;
    removed += (double)(pl[j].r * pl[j].d_out);
  }
  info->achieved = removed / (double)comp_model_layer_n_params(m, ly->index);
done:
  for (int j = 0; j < COMP_DENSE_COUNT; j++) plan_free(&pl[j]);
  dense_inputs_free(&di);
  dense_inputs_free(&dp);
  comp_fwd_ws_destroy(&ws);
  free(h);
  return s;
}
