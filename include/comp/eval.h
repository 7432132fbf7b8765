/*
 * comp/eval.h - perplexity with the protocol of ALGORITHM.md §8 (SliceGPT/GPTQ style).
 *
 * The ids are the evaluation text tokenized once (BOS first). They are cut into non-overlapping
 * windows of seq_len tokens, the remainder is dropped, each window is scored on its own (no carried
 * context), and ppl = exp(mean NLL over all predicted tokens: seq_len-1 per window).
 *
 * Collective on comm: windows are split across ranks in contiguous blocks; each window's NLL sum is
 * computed the same way whatever the rank count (one window per forward chunk), gathered in window
 * order and added up on every rank in that order, so the result is bit-identical for any rank count.
 * Memory: the residual stream of at most `batch_windows` windows plus one layer's weights; layers are
 * fetched once per batch.
 */
#ifndef COMP_EVAL_H
#define COMP_EVAL_H

#include <mpi.h>
#include <stdint.h>

#include "comp/model.h"

typedef struct comp_eval_opts {
  int64_t seq_len;       /* L: tokens per window                                      */
  int64_t max_windows;   /* 0: all windows, else the first max_windows                 */
  int64_t batch_windows; /* windows held at once per rank (0: auto from a memory budget) */
} comp_eval_opts;

typedef struct comp_eval_result {
  double  ppl;       /* exp(nll / n_pred)                                           */
  double  nll;       /* sum of token NLLs                                            */
  int64_t n_tokens;  /* ids in the text (BOS included)                               */
  int64_t n_windows; /* windows scored                                               */
  int64_t n_pred;    /* predicted tokens: n_windows * (seq_len - 1)                  */
  double  seconds;   /* wall time of the evaluation (max over ranks)                 */
} comp_eval_result;

comp_status comp_eval_perplexity(comp_model *m, const int32_t *ids, int64_t n_ids, const comp_eval_opts *o,
                                 MPI_Comm comm, comp_eval_result *res);

/* NLL of each position's next token: nll[t] = -log softmax(logits[t])[ids[t+1]], t < T-1, in fp64. */
double comp_eval_window_nll(const float *logits, const int32_t *ids, int64_t T, int64_t V);

#endif
