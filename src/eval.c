/* eval.c - windowed perplexity, distributed over ranks (see comp/eval.h). */
#include "comp/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comp/dist.h"
#include "comp/forward.h"
#include "comp/log.h"
#include "comp/util.h"

double comp_eval_window_nll(const float *logits, const int32_t *ids, int64_t T, int64_t V)
{
  double nll = 0;
  for (int64_t t = 0; t + 1 < T; t++) {
    const float *r  = logits + t * V;
    float        mx = r[0];
    for (int64_t v = 1; v < V; v++) mx = r[v] > mx ? r[v] : mx;
    double sum = 0;
    for (int64_t v = 0; v < V; v++) sum += exp((double)r[v] - mx);
    nll += log(sum) + (double)mx - (double)r[ids[t + 1]];
  }
  return nll;
}

/* Score windows [lo, hi) of this rank; nll_out[w - lo] = NLL sum of window w. */
static comp_status eval_local(comp_model *m, const int32_t *ids, int64_t L, int64_t lo, int64_t hi, int64_t batch,
                              double *nll_out, comp_progress *prog)
{
  const int64_t D = m->hp.n_embd, V = m->hp.n_vocab;
  comp_status   s  = COMP_OK;
  comp_fwd_ws  *ws = NULL;
  float        *x = malloc((size_t)(batch * L * D) * sizeof(float)), *logits = malloc((size_t)(L * V) * sizeof(float));
  if (!x || !logits) {
    s = comp_error_set(COMP_ERR_NOMEM, "out of memory for %lld evaluation windows", (long long)batch);
    goto out;
  }
  if ((s = comp_fwd_ws_create(&m->hp, L, L, &ws))) goto out;
  for (int64_t b0 = lo; b0 < hi && !s; b0 += batch) {
    const int64_t nb = hi - b0 < batch ? hi - b0 : batch;
    if ((s = comp_forward_embed(m, ids + b0 * L, nb, L, x))) break;
    for (int l = 0; l < m->hp.n_layer && !s; l++) { /* one layer resident, applied window by window */
      comp_layer *ly = NULL;
      if ((s = comp_model_layer_get(m, l, &ly))) break;
      for (int64_t w = 0; w < nb && !s; w++) s = comp_forward_layer(m, ly, x + w * L * D, 1, L, ws, NULL);
      comp_model_layer_put(m, &ly);
      comp_progress_step(prog, nb);
    }
    for (int64_t w = 0; w < nb && !s; w++) {
      float *xw = x + w * L * D;
      comp_forward_final_norm(m, xw, L);
      comp_forward_logits(m, xw, L, logits);
      nll_out[b0 - lo + w] = comp_eval_window_nll(logits, ids + (b0 + w) * L, L, V);
      if (!isfinite(nll_out[b0 - lo + w]))
        s = comp_error_set(COMP_ERR_NUMERIC, "non-finite loss in window %lld", (long long)(b0 + w));
    }
    comp_progress_step(prog, nb);
  }
out:
  comp_fwd_ws_destroy(&ws);
  free(x);
  free(logits);
  return s;
}

comp_status comp_eval_perplexity(comp_model *m, const int32_t *ids, int64_t n_ids, const comp_eval_opts *o,
                                 MPI_Comm comm, comp_eval_result *res)
{
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  memset(res, 0, sizeof *res);
  const int64_t L = o->seq_len;
  COMP_CHECK(L >= 2, COMP_ERR_ARG, "--seq-len must be at least 2 (got %lld)", (long long)L);
  COMP_CHECK(L <= m->hp.n_ctx, COMP_ERR_ARG, "--seq-len %lld is larger than the model allows (%lld positions)",
             (long long)L, (long long)m->hp.n_ctx);
  int64_t W = n_ids / L;
  if (o->max_windows > 0 && W > o->max_windows) W = o->max_windows;
  COMP_CHECK(W >= 1, COMP_ERR_ARG, "the text has %lld tokens, fewer than one window of --seq-len %lld",
             (long long)n_ids, (long long)L);
  int64_t lo, hi;
  comp_dist_range(W, rank, size, &lo, &hi);
  /* windows held at once: a 1 GiB residual budget unless told */
  int64_t batch = o->batch_windows;
  if (batch <= 0) {
    batch = (int64_t)((1ll << 30) / (L * m->hp.n_embd * (int64_t)sizeof(float)));
    batch = batch < 1 ? 1 : batch;
  }
  if (batch > hi - lo && hi > lo) batch = hi - lo;
  double       *mine = calloc((size_t)(hi - lo) + 1, sizeof(double));
  double       *all  = calloc((size_t)W, sizeof(double));
  comp_progress prog;
  const double  t0 = comp_now();
  comp_status   s  = (mine && all) ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory");
  comp_progress_start(&prog, "eval (rank 0 windows x layers)", (hi - lo) * (m->hp.n_layer + 1));
  if (!s && hi > lo) s = eval_local(m, ids, L, lo, hi, batch, mine, &prog);
  comp_progress_end(&prog);
  s = comp_dist_agree(comm, s);
  if (!s) {
    int *counts = malloc(sizeof(int) * (size_t)size), *displs = malloc(sizeof(int) * (size_t)size);
    for (int r = 0; r < size; r++) {
      int64_t a, b;
      comp_dist_range(W, r, size, &a, &b);
      counts[r] = (int)(b - a);
      displs[r] = (int)a;
    }
    if (MPI_Allgatherv(mine, (int)(hi - lo), MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, comm) != MPI_SUCCESS)
      s = comp_error_set(COMP_ERR_MPI, "MPI_Allgatherv of window losses failed");
    free(counts);
    free(displs);
    double nll = 0;
    for (int64_t w = 0; w < W; w++) nll += all[w]; /* window order: same sum for any rank count */
    double sec = comp_now() - t0, maxsec = sec;
    MPI_Allreduce(&sec, &maxsec, 1, MPI_DOUBLE, MPI_MAX, comm);
    res->nll       = nll;
    res->n_tokens  = n_ids;
    res->n_windows = W;
    res->n_pred    = W * (L - 1);
    res->ppl       = exp(nll / (double)res->n_pred);
    res->seconds   = maxsec;
  }
  free(mine);
  free(all);
  return s;
}
