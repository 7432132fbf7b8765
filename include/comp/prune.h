/*
 * comp/prune.h - the COMP pruning pipeline (ALGORITHM.md §2, §5) and its baselines, under MPI.
 *
 * Stage A  comp_prune_layer_order()   all ranks, each on its share of the calibration sequences: Eq. 3
 *                                     layer importance, iterative (or one-shot) removal of the least
 *                                     important layer.
 * Stage B  comp_prune_layer_ratios()  Eq. 10 ratios of the remaining, unprotected layers.
 * Stage C  comp_prune_layer()         one layer: per dense, Gram G = (WᵀW)∘(X′X′ᵀ), neuron
 *                                     importance, prefix-Cholesky mask tuning (Eq. 5), and the
 *                                     allocation of the layer's ratio to its denses (Algorithm 1's
 *                                     variance threshold τ, or the same fraction everywhere).
 * comp_prune_run() ties them together: all ranks run stage A on their sequences, rank 0 stage B;
 * layers are assigned to ranks balanced by cost, each layer's calibration input is gathered from
 * the ranks' rows on the ranks that prune it, each rank prunes its layers independently, and all
 * ranks write one HDF5 archive (comp/archive.h).
 *
 * Parameter accounting (§6): N_tot counts every stored parameter (embeddings and head included);
 * removed = n·N_layer + Σ r_j·d_out,j (pruned input columns), the nominal ratio; the "stripped" ratio
 * also counts upstream rows no kept column reads any more (v rows under o, gate/up rows under down).
 */
#ifndef COMP_PRUNE_H
#define COMP_PRUNE_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

#include "comp/masksolve.h"
#include "comp/model.h"
#include "comp/prune_math.h"

typedef enum comp_prune_method {
  COMP_METHOD_COMP,      /* layers removed + Eq. 10 ratios + importance + mask tuning (default) */
  COMP_METHOD_SHORTGPT,  /* one-shot block-influence layer removal up to the ratio               */
  COMP_METHOD_WANDA_SP,  /* same fraction of input columns in every dense, ‖w‖·‖x‖, no tuning  */
  COMP_METHOD_MAGNITUDE, /* same fraction of input columns in every dense, ‖w‖, no tuning       */
  COMP_METHOD_COUNT
} comp_prune_method;

typedef enum comp_layer_order { COMP_ORDER_ITERATIVE, COMP_ORDER_ONESHOT } comp_layer_order;
typedef enum comp_alloc_kind { COMP_ALLOC_TAU, COMP_ALLOC_UNIFORM } comp_alloc_kind;
/* What each dense sees as X′: the unpruned layer's input to it (default, §13), the partially
 * pruned layer's (§4.2), or the accumulated pruned model's (Table III "w/o identical inputs"). */
typedef enum comp_inputs_kind { COMP_INPUTS_ORIGINAL, COMP_INPUTS_WITHIN_LAYER, COMP_INPUTS_PRUNED } comp_inputs_kind;

/* Stage C's phases, for profiles (comp_prune_opts.prof) and the cost model (comp/cost.h). */
typedef enum comp_prune_phase {
  COMP_PHASE_CAPTURE,    /* forward pass capturing every dense's input          */
  COMP_PHASE_WTW,        /* WᵀW                                                 */
  COMP_PHASE_FISHER,     /* Eq. 8: per-sample Grams and κ-gradients              */
  COMP_PHASE_GRAM,       /* X′ᵀX′, X′ᵀX, Eq. 5's G and c                        */
  COMP_PHASE_IMPORTANCE, /* Eq. 7/9 (or the alternative) and the keep order      */
  COMP_PHASE_SOLVE,      /* the mask solver: factor and every prefix solve       */
  COMP_PHASE_COMPACT,    /* allocation and folding the masks into the weights    */
  COMP_PHASE_COUNT
} comp_prune_phase;
const char *comp_prune_phase_name(comp_prune_phase p);

/* Wall seconds per phase, accumulated over every dense and layer a rank prunes. */
typedef struct comp_prune_prof {
  double seconds[COMP_PHASE_COUNT];
} comp_prune_prof;

typedef struct comp_prune_opts {
  comp_prune_method method;
  double            ratio;         /* p: target fraction of all parameters removed, in (0, 1)     */
  int               remove_layers; /* n (stage A); clamped to the budget, see comp_prune_result;
                                       -1: the default 2, lowered to what the layer count allows */
  comp_layer_order     order;
  bool                 protect[1024]; /* protected original layer indices (default 0, 1, L-1)       */
  comp_importance_kind importance;
  comp_eig_kind        cond_eig; /* COND kinds' extreme eigenpairs (default lanczos)      */
  /* COND kinds (lanczos) on a group whose back-end can (scalapack): WᵀW, every Fisher sample's Gram
   * and G in the group's block-cyclic shares, d²/ranks each, no whole (d,d) on any rank; false
   * (default): whole on every rank, the samples split over the group (faster: no sample's factor
   * on a grid). comp prune --gram-shares auto turns it on when the node's memory needs it. */
  bool                        cond_shares;
  comp_alloc_kind             alloc;
  comp_inputs_kind            inputs;
  bool                        mask_tuning;
  const comp_mask_solver_ops *solver;    /* Eq. 5 back-end (comp/masksolve.h); default lapack  */
  double                      ridge_eps; /* ε: λ = ε·mean(diag G)                                 */
  double                      p_max;     /* Eq. 10 clamp                                           */
  int                         step_div;  /* s_j = max(1, round(d_in / step_div))                   */
  double                      tau_first; /* τ grid: 0, tau_first, ×tau_growth ... up to tau_max    */
  double                      tau_growth;
  double                      tau_max;
  int                         calib_samples; /* 10                                                   */
  int64_t                     calib_len;     /* 128                                                  */
  uint64_t                    seed;
  bool                        resume;  /* continue from the journal OUT.ckpt (comp/checkpoint.h)  */
  bool                        force;   /* discard a journal found there                            */
  comp_prune_prof            *prof;    /* when not NULL, stage C adds its phase timings here */
  int         ranks_per_layer;         /* stage C group size (ranks sharing a layer); 0: size / layers to prune */
  const char *sweep_cell, *sweep_jobs; /* provenance recorded in /prune (NULL: not part of a sweep); not
                                          part of the journal key */
} comp_prune_opts;

void        comp_prune_opts_default(comp_prune_opts *o, int n_layer);
const char *comp_prune_method_name(comp_prune_method m);
comp_status comp_prune_method_parse(const char *s, comp_prune_method *m);

/* Per-layer outcome (indexed by original layer). */
typedef struct comp_prune_layer_info {
  bool    removed;                  /* dropped in stage A                                       */
  int     removal_step;             /* 0-based position in the removal order, -1 if kept        */
  bool    prunable;                 /* in Q (neuron-pruned)                                      */
  double  importance;               /* Eq. 3 on the final layer-pruned model (NaN if removed)   */
  double  target;                   /* p_l                                                       */
  double  achieved;                 /* removed dense params / N_layer                            */
  double  tau;                      /* accepted τ (NaN when not by τ)                            */
  int64_t kept[COMP_DENSE_COUNT];   /* kept input columns per dense (-1 = absent)     */
  int64_t pruned[COMP_DENSE_COUNT]; /* pruned input columns per dense                 */
  double  seconds;                  /* stage C wall time of this layer                */
  int     rank;                     /* the rank that pruned it                        */
} comp_prune_layer_info;

typedef struct comp_prune_result {
  int                    n_layer;          /* L of the source model                    */
  int                    n_removed;        /* layers removed                           */
  int                    n_removed_asked;  /* --remove-layers before clamping          */
  int                   *removal_order;    /* (n_removed) original indices             */
  double                *importance_iter;  /* (n_removed + 1, L) Eq. 3 per iteration, NaN = removed/not computed */
  comp_prune_layer_info *layer;            /* (L)                                       */
  int64_t                n_params;         /* N_tot                                    */
  int64_t                n_layer_params;   /* N_layer                                  */
  int64_t                removed_nominal;  /* parameters removed (pruned columns + layers)   */
  int64_t                removed_stripped; /* + dead upstream rows                      */
  int64_t               *calib_start;      /* (calib_samples) offsets in the text       */
  double                 seconds[4];       /* calibration+stage A, stage B, stage C, write */
} comp_prune_result;

void comp_prune_result_free(comp_prune_result *r);

/* How many layers stage A removes (n), from the options and the parameter counts: the request
 * (--remove-layers, default 2) checked against the layer count (COMP_ERR_ARG when impossible),
 * then clamped to the budget; shortgpt: as many as the ratio allows (at least one). */
comp_status comp_prune_n_remove(const comp_prune_opts *o, int L, int64_t n_params, int64_t n_layer_params,
                                int *n_remove, int *asked);

/* Stage A, collective on comm and data-parallel over the calibration sequences: on the calibration
 * tokens tok (S, T) (every rank holds them all), order and remove layers; r gets the same on every
 * rank, bit for bit, for any rank count. rows receives this rank's rows of every layer's input on
 * the final layer-pruned model: rows[l] ((s1-s0)*T, D) for the sequences [s0, s1) that
 * comp_dist_range(S, rank, size) gives this rank, NULL for removed layers and on ranks without
 * sequences (caller frees each). Each sequence is forwarded alone (a batch of one). */
comp_status comp_prune_layer_order(comp_model *m, const int32_t *tok, int64_t S, int64_t T, const comp_prune_opts *o,
                                   int n_remove, MPI_Comm comm, comp_prune_result *r, float **rows);

/* Stage B: fill r->layer[l].prunable/target from the final importances (Eq. 10). */
comp_status comp_prune_layer_ratios(const comp_model *m, const comp_prune_opts *o, comp_prune_result *r);

/* Stage C for one layer, collective on comm (the ranks sharing the layer, each holding it and x;
 * MPI_COMM_SELF when a rank prunes it alone): x (S*T, D) its calibration input on the (layer-pruned)
 * original model; xp (S*T, D) its input on the model pruned so far (used by --inputs pruned, else
 * may be NULL); ly is replaced by its pruned compact form (in_idx set on pruned denses), the same
 * on every rank of comm; info gets the counts. target = fraction of N_layer to remove. */
comp_status comp_prune_layer(const comp_model *m, comp_layer *ly, const float *x, const float *xp, int64_t S, int64_t T,
                             double target, const comp_prune_opts *o, MPI_Comm comm, comp_prune_layer_info *info);

/* Whether a group of `group` ranks keeps a dense's Grams only in its back-end's block-cyclic shares
 * (no whole (d,d) on any rank), X′ = X (xp_is_x): OBS with a back-end that builds its own G (and has
 * diag_inv); the COND kinds with Lanczos and cond_shares with one that also regrams. The one rule
 * for comp_prune_layer and the cost model (comp/cost.h). */
bool comp_prune_grams_in_shares(const comp_prune_opts *o, int group, bool xp_is_x);

/* The whole run, collective on comm: calibration tokens tok (S, T) on every rank; writes the archive
 * at out_path (complete only on success). */
comp_status comp_prune_run(comp_model *m, const char *model_sha256, const int32_t *tok, const comp_prune_opts *o,
                           const char *out_path, const char *options_json, MPI_Comm comm, comp_prune_result *r);

#endif
