/*
 * comp/checkpoint.h - the journal that lets `comp prune --resume` finish a killed run.
 *
 * A pruning run writing A.h5 keeps a journal directory A.h5.ckpt/ beside it:
 *   plan.bin          stage A + B's outcome (removed layers, importances, per-layer targets), written
 *                     by rank 0 before stage C starts;
 *   layer_NNN.bin     one per finished layer (original index NNN): its outcome and its compact pruned
 *                     denses (kept columns and tuned weights), committed by the rank that pruned it
 *                     the moment the layer is done.
 * Every file is written as NAME.tmp, fsync'ed, renamed and its directory fsync'ed, so a file either
 * exists complete or not at all; each carries the run's key (a SHA-256 of the options, the weights,
 * the config's norm epsilon and RoPE base, dims and scaling, and the comp build) and a SHA-256 of its
 * payload, both checked on read. A killed run (any rank,
 * any phase, SIGKILL) leaves the journal; `--resume` reuses the plan and every finished layer and
 * prunes only the rest, so the archive is the same as an uninterrupted run's. The journal is removed
 * when the archive is complete.
 *
 * Fault injection for tests: COMP_FAULT="POINT:RANK[:N]" makes rank RANK SIGKILL itself at POINT:
 * "stage-a" (after stage A's first layer pass; stage A runs on every rank), "stage-c" (after its N-th committed layer,
 * default 1), "write" (before the archive is closed).
 */
#ifndef COMP_CHECKPOINT_H
#define COMP_CHECKPOINT_H

#include <mpi.h>
#include <stdbool.h>

#include "comp/error.h"
#include "comp/model.h"
#include "comp/prune.h"

typedef struct comp_ckpt comp_ckpt;

/* Collective. The journal of out_path, keyed by key (any string identifying the run: options,
 * weights, build). Rank 0 decides, everyone agrees:
 *   journal absent                  create it (resume or not);
 *   present, resume                 use it; COMP_ERR_ARG when its key differs (another run's);
 *   present, force                  remove it, start over;
 *   present, neither                COMP_ERR_ARG: "--resume to continue or --force to start over". */
comp_status comp_ckpt_open(const char *out_path, const char *key, bool resume, bool force, MPI_Comm comm,
                           comp_ckpt **out);
void        comp_ckpt_close(comp_ckpt **c);
/* Collective, after the archive is complete: rank 0 removes the journal; then closes it. */
comp_status comp_ckpt_finish(comp_ckpt **c);

/* Rank 0. The plan: r's stage A/B fields (n_removed, n_removed_asked, removal_order,
 * importance_iter, seconds[0..1], layer[].removed/removal_step/prunable/importance/target). get
 * returns *found = false when there is none (r untouched). */
comp_status comp_ckpt_put_plan(comp_ckpt *c, const comp_prune_result *r);
comp_status comp_ckpt_get_plan(comp_ckpt *c, comp_prune_result *r, bool *found);

/* Any rank. A finished layer: its outcome and its (compact) denses. */
comp_status comp_ckpt_put_layer(comp_ckpt *c, int l, const comp_prune_layer_info *info, const comp_layer *ly);
/* Whether layer l's file exists and is valid (key and checksum). */
bool comp_ckpt_has_layer(comp_ckpt *c, int l);
/* ly: layer l as loaded from the source model (full denses); its denses are replaced by the
 * journal's compact ones (in place) and info by the journal's outcome. */
comp_status comp_ckpt_get_layer(comp_ckpt *c, int l, comp_prune_layer_info *info, comp_layer *ly);

/* COMP_FAULT hook (see above): SIGKILL this process when point/rank/count match. */
void comp_ckpt_fault(const char *point, int rank, int count);

#endif
