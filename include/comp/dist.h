/*
 * comp/dist.h - MPI helpers: splitting work, agreeing on status at phase boundaries.
 *
 * A rank that returns early from a collective phase would leave the others waiting forever, so
 * every phase ends with comp_dist_agree(): all ranks learn the worst status, and the lowest failing
 * rank's message is carried to every rank so main() can print exactly one line.
 */
#ifndef COMP_DIST_H
#define COMP_DIST_H

#include <mpi.h>
#include <stdint.h>

#include "comp/error.h"

/* Contiguous block [*lo, *hi) of n items owned by `rank` of `size` (balanced, first ranks larger). */
void comp_dist_range(int64_t n, int rank, int size, int64_t *lo, int64_t *hi);
/* Every rank's block of comp_dist_range(n, ., size) in units of `unit` (e.g. rows per item):
 * cnt[q] and dsp[q] (size each), the counts and displacements of a Gatherv/Allgatherv. */
void comp_dist_counts(int64_t n, int size, int64_t unit, int *cnt, int *dsp);

/* Collective on comm: returns the worst status over all ranks. If any rank failed, the message of
 * the lowest failing rank becomes this rank's recorded message (prefixed with its rank when > 0). */
comp_status comp_dist_agree(MPI_Comm comm, comp_status local);

#endif
