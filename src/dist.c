/* dist.c - see comp/dist.h */
#include "comp/dist.h"

#include <stdio.h>
#include <string.h>

void comp_dist_range(int64_t n, int rank, int size, int64_t *lo, int64_t *hi)
{
  int64_t q = n / size, r = n % size;
  *lo = rank * q + (rank < r ? rank : r);
  *hi = *lo + q + (rank < r ? 1 : 0);
}

void comp_dist_counts(int64_t n, int size, int64_t unit, int *cnt, int *dsp)
{
  for (int q = 0; q < size; q++) {
    int64_t lo, hi;
    comp_dist_range(n, q, size, &lo, &hi);
    cnt[q] = (int)((hi - lo) * unit), dsp[q] = (int)(lo * unit);
  }
}

comp_status comp_dist_agree(MPI_Comm comm, comp_status local)
{
  int rank, size, mine = (int)local, worst = 0;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if (MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS)
    return comp_error_set(COMP_ERR_MPI, "MPI_Allreduce failed while agreeing on status");
  if (worst == COMP_OK) return COMP_OK;
  int cand = local != COMP_OK ? rank : size, first = size;
  MPI_Allreduce(&cand, &first, 1, MPI_INT, MPI_MIN, comm);
  char msg[1024] = "";
  if (rank == first) {
    if (first > 0)
      snprintf(msg, sizeof msg, "[rank %d] %s", rank, comp_error_message());
    else
      snprintf(msg, sizeof msg, "%s", comp_error_message());
  }
  MPI_Bcast(msg, sizeof msg, MPI_CHAR, first, comm);
  comp_error_clear();
  comp_error_set((comp_status)worst, "%s", msg);
  return (comp_status)worst;
}
