/*
 * comp/cost.h - what a pruning run will cost, from the hyper-parameters alone (`comp prune
 * --dry-run`): the peak resident memory of every rank and the floating-point work of every phase.
 *
 * The memory model follows the allocations of src/prune.c and src/prune_layer.c (one term per
 * buffer, named after it), on top of a measured baseline (the process with MPI, BLAS and the
 * tokenizer loaded, which the caller measures in its own process):
 *   every rank   model-wide tensors (embeddings, head, norms: comp_model_load), calibration ids
 *                (`comp prune --dry-run` also measures rank 0's peak while tokenizing the text);
 *   stage A      every rank: its rows (its share of the S sequences) of every kept layer's
 *                calibration input (L, n/ranks, D) f32 + one layer + a one-sequence forward
 *                workspace; then the rows not yet gathered beside the full inputs (n, D) of the
 *                layers it prunes;
 *   stage C      one layer (f32) + its input (n, D) + every dense's captured input (n, d_in) + the
 *                larger of the forward workspace (capture) and the analysis of the largest dense
 *                (freed in between): G (d, d) f64 alone, built by row panels (one panel of WᵀW
 *                rows + the staging buffer), used in place by the importance and factored in place
 *                by lapack; WᵀW beside it with the COND kinds (a Fisher sample before G) and WᵀW +
 *                X′Xᵀ with --inputs pruned; + the tuned-mask profiles of the layer's denses;
 *   the solver   lapack: nothing more; scalapack: the factor's block-cyclic share (d²/group);
 *                petsc: f64 copies of X′ and W and the LSQR vectors.
 * FLOPs: stage A counts forward passes (comp_forward_layer_flops) over at most L·(1 + n) layer
 * passes, shared by up to S ranks (one calibration sequence at least each); stage C counts per prunable layer the
 * capture pass, WᵀW, X′ᵀX′, the Fisher samples and importance eigen-solves (tridiagonal reduction 4/3·d³ each), the
 * factorisation (d³/3) and the prefix solves (2k² per step).
 */
#ifndef COMP_COST_H
#define COMP_COST_H

#include <stdint.h>

#include "comp/model.h"
#include "comp/prune.h"

typedef struct comp_prune_cost {
  int     ranks;
  int     n_remove;               /* layers stage A will remove                               */
  int     n_prunable;             /* layers stage C neuron-prunes                             */
  int     layers_per_rank;        /* prunable layers on the busiest rank                      */
  int64_t n_params;               /* N_tot                                                    */
  int64_t layer_params;           /* N_layer                                                  */
  int64_t d_max;                  /* largest dense input                                      */
  double  mem_model_wide;         /* bytes, every rank                                        */
  double  mem_calib;              /* bytes, every rank: the calibration text's token ids      */
  double  mem_stage_a;            /* bytes, the busiest rank (0), on top of the above         */
  double  mem_stage_c_work;       /* bytes, any rank pruning a layer (layer, inputs, Grams)   */
  double  mem_stage_c_rank0;      /* rank 0's stage C peak on top of the common terms         */
  double  mem_stage_c_other;      /* another rank's                                           */
  double  mem_analysis;           /* of mem_stage_c_work: the largest dense's analysis       */
  double  peak_rank0;             /* baseline + everything, rank 0                            */
  double  peak_other;             /* baseline + everything, ranks >= 1                        */
  double  flops_stage_a;          /* at most                                                  */
  double  flops_stage_a_per_rank; /* of the busiest rank (stage_a_seqs_per_rank sequences) */
  int     stage_a_seqs_per_rank;  /* calibration sequences on the busiest rank in stage A  */
  double  flops_stage_c;          /* all prunable layers                                      */
  double  flops_stage_c_per_layer;
  double  flops_phase[COMP_PHASE_COUNT]; /* of one prunable layer, by stage C phase           */
} comp_prune_cost;

/* hp: the model's hyper-parameters; o: the run's options (ratio, remove_layers, protect,
 * importance, solver, calib samples/len); ranks: the MPI size; calib_bytes: bytes of the
 * calibration token ids (0 if unknown); baseline: measured resident bytes of the process before any
 * model data (added to the peaks). */
comp_status comp_prune_cost_estimate(const comp_hparams *hp, const comp_prune_opts *o, int ranks, double calib_bytes,
                                     double baseline, comp_prune_cost *c);

#endif
