/* cmd_bench_prune.c - `comp bench-prune`: stage C of one decoder layer with a real model's shapes
 * (config.json alone; synthetic weights), through the same comp_prune_layer() a run uses, every rank
 * of the job sharing the layer (the --ranks-per-layer placement). Reports per phase the seconds,
 * the FLOPs of comp/cost.h, GFLOP/s and their fraction of the DGEMM peak measured here, and the peak
 * RSS; analysis/bench_projection.py turns the 1- and 2-rank results into projected wall times. */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "common.h"
#include "comp/cost.h"
#include "comp/dist.h"
#include "comp/forward.h"
#include "comp/log.h"
#include "comp/masksolve.h"
#include "comp/prune.h"
#include "comp/util.h"
#include "comp/version.h"

/* Best-of-reps DGEMM GFLOP/s, (m,k)·(k,n), on every rank at once (the peak under the job's load). */
static double dgemm_peak(int64_t m, int64_t n, int64_t k, int reps)
{
  double *a = malloc(sizeof(double) * (size_t)(m * k)), *b = malloc(sizeof(double) * (size_t)(k * n)),
         *c   = malloc(sizeof(double) * (size_t)(m * n));
  double best = 1e30;
  for (int64_t i = 0; a && b && i < m * k; i++) a[i] = 1e-3 * (double)(i % 977);
  for (int64_t i = 0; a && b && i < k * n; i++) b[i] = 1e-3 * (double)(i % 953);
  for (int r = 0; a && b && c && r < reps + 1; r++) { /* the first run warms up */
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = comp_now();
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0, a, (int)k, b, (int)n, 0.0, c,
                (int)n);
    double dt = comp_now() - t0;
    if (r > 0 && dt < best) best = dt;
  }
  free(a), free(b), free(c);
  return best < 1e30 ? 2.0 * (double)m * (double)n * (double)k / best / 1e9 : 0;
}

static int64_t layer_params_cb(const void *ctx, int l)
{
  (void)l;
  return comp_hparams_layer_params(ctx);
}

/* Layer 0 of a LLaMA-family model with hp's shapes: weights ~ U(±1/sqrt(d_in)), norms 1. */
static comp_status synth_layer(const comp_hparams *hp, uint64_t seed, comp_layer **out)
{
  *out = NULL;
  COMP_CHECK(comp_arch_get(hp->arch)->norm == COMP_NORM_RMS, COMP_ERR_UNSUPPORTED,
             "bench-prune: LLaMA-family (RMSNorm, no biases) configs only");
  int64_t total = 2 * hp->n_embd;
  for (int j = 0; j < COMP_DENSE_COUNT; j++) {
    int64_t o, i;
    comp_dense_shape(hp, (comp_dense_id)j, &o, &i);
    if (comp_hparams_has_dense(hp, (comp_dense_id)j)) total += o * i;
  }
  comp_layer *ly = calloc(1, sizeof *ly);
  float      *p  = malloc(sizeof(float) * (size_t)total);
  if (!ly || !p) {
    free(ly), free(p);
    return comp_error_set(COMP_ERR_NOMEM, "out of memory for a synthetic layer (%lld floats)", (long long)total);
  }
  ly->mem = p;
  for (int j = 0; j < COMP_DENSE_COUNT; j++) {
    int64_t o, i;
    comp_dense_shape(hp, (comp_dense_id)j, &o, &i);
    if (!comp_hparams_has_dense(hp, (comp_dense_id)j)) continue;
    comp_cli_fill_uniform(p, o * i, 1.0f / sqrtf((float)i), seed + 10 + (uint64_t)j);
    ly->dense[j] = (comp_dense){.w = p, .d_out = o, .d_in = i, .d_in_full = i};
    p += o * i;
  }
  ly->attn_norm_w = p, p += hp->n_embd;
  ly->ffn_norm_w  = p;
  for (int64_t i = 0; i < 2 * hp->n_embd; i++) ly->attn_norm_w[i] = 1.0f;
  *out = ly;
  return COMP_OK;
}

int comp_cmd_bench_prune(int argc, char **argv)
{
  const char *config = NULL, *importance = NULL, *solver = NULL, *cond_eig = NULL;
  double      target  = 0.27;
  int64_t     samples = 10, len = 128, seed = 1, step_div = 128;
  int         json = 0, shares = 0;
  comp_opt    opts[] = {
         {"config", COMP_OPT_STR, &config, "DIR",
          "model directory with config.json (weights not needed; e.g. bench/configs/llama-2-7b)"},
         {"target", COMP_OPT_DOUBLE, &target, "P",
          "the layer's ratio p_l (default 0.27: LLaMA-2-7B at 30% after removing 2 layers)"},
         {"calib-samples", COMP_OPT_INT, &samples, "N", "calibration windows (default 10)"},
         {"calib-len", COMP_OPT_INT, &len, "T", "tokens per window (default 128)"},
         {"importance", COMP_OPT_STR, &importance, "K", "neuron importance (default cond, as comp prune)"},
         {"cond-eig", COMP_OPT_STR, &cond_eig, "K", "cond's eigen-solver: lanczos (default) or tridiag, as comp prune"},
         {"solver", COMP_OPT_STR, &solver, "NAME", "mask-solve back-end (default lapack)"},
         {"gram-shares", COMP_OPT_FLAG, &shares, NULL,
          "cond's Grams in the ranks' block-cyclic shares (comp prune --gram-shares on; default off)"},
         {"step-div", COMP_OPT_INT, &step_div, "K", "pruning step d_in/K (default 128)"},
         {"seed", COMP_OPT_INT, &seed, "S", "seed of the synthetic weights and inputs (default 1)"},
         {"json", COMP_OPT_FLAG, &json, NULL, "print the results as one JSON object on the last stdout line"},
  };
  int rc = comp_args_parse(
      argc, argv, opts, (int)(sizeof opts / sizeof opts[0]),
      "mpiexec -n P comp bench-prune --config DIR [--importance K] [--solver NAME] [--json]",
      "Prunes ONE decoder layer with the shapes of DIR/config.json (synthetic weights and calibration\n"
      "inputs, N = samples x len tokens) through comp_prune_layer(), the code path of `comp prune`; all\n"
      "P ranks share the layer (as --ranks-per-layer P). Prints per phase: seconds, GFLOP (the cost\n"
      "model of `comp prune --dry-run`), GFLOP/s and the fraction of the DGEMM peak measured on every\n"
      "rank before and again after the layer (the higher of the two: a virtual machine's rate moves);\n"
      "and the peak RSS per rank. Not a test: run bench/run.sh for the committed results.");
  if (rc) return rc == 1 ? 0 : 2;
  MPI_Comm comm = MPI_COMM_WORLD;
  int      rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  comp_model      m;
  comp_layer     *ly = NULL;
  float          *x  = NULL;
  comp_prune_opts o;
  comp_prune_prof prof;
  comp_prune_cost cost;
  memset(&m, 0, sizeof m);
  memset(&prof, 0, sizeof prof);
  comp_status s = config ? COMP_OK : comp_error_set(COMP_ERR_ARG, "--config is required");
  if (!s) s = comp_model_config(config, &m.hp);
  if (!s) {
    m.arch            = comp_arch_get(m.hp.arch);
    m.reader.n_params = layer_params_cb;
    m.reader.ctx      = &m.hp;
    comp_prune_opts_default(&o, (int)m.hp.n_layer);
    o.calib_samples = (int)samples;
    o.calib_len     = len;
    o.step_div      = (int)step_div;
    o.prof          = &prof;
    o.cond_shares   = shares != 0;
    if (importance) s = comp_importance_parse(importance, &o.importance);
    if (!s && cond_eig) s = comp_eig_parse(cond_eig, &o.cond_eig);
    if (!s && solver) s = comp_mask_solver_parse(solver, &o.solver);
    if (!s && !(target > 0 && target < 1)) s = comp_error_set(COMP_ERR_ARG, "--target must be in (0, 1)");
  }
  s                  = comp_dist_agree(comm, s);
  const int64_t n    = samples * len;
  double        peak = 0, peak_before = 0, peak_after = 0, t_fwd = 0, t_fwd_batch = 0, t_layer = 0;
  if (!s) {
    peak_before = dgemm_peak(2048, 2048, 2048, 3);
    s           = synth_layer(&m.hp, (uint64_t)seed, &ly);
    x           = malloc(sizeof(float) * (size_t)(n * m.hp.n_embd));
    if (!s && !x) s = comp_error_set(COMP_ERR_NOMEM, "out of memory for the calibration inputs");
  }
  s = comp_dist_agree(comm, s);
  if (!s) { /* one forward pass on the N tokens as stage A runs it (each sequence alone), and batched */
    comp_fwd_ws *ws = NULL;
    comp_cli_fill_uniform(x, n * m.hp.n_embd, 1.7320508f, (uint64_t)seed + 99); /* unit variance */
    float *h = malloc(sizeof(float) * (size_t)(n * m.hp.n_embd));
    s        = h ? comp_fwd_ws_create(&m.hp, n, len, &ws) : comp_error_set(COMP_ERR_NOMEM, "out of memory");
    if (!s) {
      memcpy(h, x, sizeof(float) * (size_t)(n * m.hp.n_embd));
      double t0 = comp_now();
      for (int64_t b = 0; !s && b < samples; b++)
        s = comp_forward_layer(&m, ly, h + b * len * m.hp.n_embd, 1, len, ws, NULL);
      t_fwd = comp_now() - t0;
      memcpy(h, x, sizeof(float) * (size_t)(n * m.hp.n_embd));
      t0 = comp_now();
      if (!s) s = comp_forward_layer(&m, ly, h, samples, len, ws, NULL);
      t_fwd_batch = comp_now() - t0;
    }
    comp_fwd_ws_destroy(&ws);
    free(h);
  }
  s = comp_dist_agree(comm, s);
  comp_prune_layer_info info;
  memset(&info, 0, sizeof info);
  if (!s) {
    comp_log("bench-prune: %s layer, N = %lld tokens, importance %s, solver %s, %d rank(s) sharing it", config,
             (long long)n, comp_importance_name(o.importance), o.solver->name, size);
    MPI_Barrier(comm);
    double t0 = comp_now();
    s         = comp_prune_layer(&m, ly, x, NULL, samples, len, target, &o, size > 1 ? comm : MPI_COMM_SELF, &info);
    t_layer   = comp_now() - t0;
  }
  s = comp_dist_agree(comm, s);
  if (!s) peak_after = dgemm_peak(2048, 2048, 2048, 3); /* the rate may have moved while the layer ran */
  peak              = fmax(peak_before, peak_after);
  o.ranks_per_layer = size; /* the layer's FLOPs as the group that shares it does them */
  if (!s) s = comp_prune_cost_estimate(&m.hp, &o, 1, 0, 0, &cost);
  double rss = (double)comp_peak_rss(), rss_max = 0, sec[COMP_PHASE_COUNT];
  MPI_Allreduce(&rss, &rss_max, 1, MPI_DOUBLE, MPI_MAX, comm);
  MPI_Allreduce(prof.seconds, sec, COMP_PHASE_COUNT, MPI_DOUBLE, MPI_MAX, comm);
  if (!s && rank == 0) {
    const double fwd_flops = comp_forward_layer_flops(&m.hp, samples, len);
    char         host[256] = "";
    gethostname(host, sizeof host - 1);
    printf("bench-prune %s: D %lld, F %lld, %lld layer parameters; N = %lld; importance %s; solver %s; %d rank(s)\n",
           config, (long long)m.hp.n_embd, (long long)m.hp.n_ff, (long long)cost.layer_params, (long long)n,
           comp_importance_name(o.importance), o.solver->name, size);
    printf("DGEMM peak (measured, per rank, all ranks at once): %.1f GFLOP/s (before the layer %.1f, after %.1f)\n",
           peak, peak_before, peak_after);
    printf("%-12s %10s %10s %10s %8s\n", "phase", "seconds", "GFLOP", "GFLOP/s", "of peak");
    cJSON *j = cJSON_CreateObject(), *ph = cJSON_CreateObject();
    for (int p = 0; p < COMP_PHASE_COUNT; p++) {
      double gf = cost.flops_phase[p] / 1e9, rate = sec[p] > 0 ? gf / sec[p] : 0;
      printf("%-12s %10.3f %10.1f %10.1f %7.0f%%\n", comp_prune_phase_name((comp_prune_phase)p), sec[p], gf, rate,
             100 * rate / (peak * size));
      cJSON *e = cJSON_AddObjectToObject(ph, comp_prune_phase_name((comp_prune_phase)p));
      cJSON_AddNumberToObject(e, "seconds", sec[p]);
      cJSON_AddNumberToObject(e, "gflop", gf);
      cJSON_AddNumberToObject(e, "gflops", rate);
      cJSON_AddNumberToObject(e, "fraction_of_peak", rate / (peak * size));
    }
    printf("layer: %.3f s (achieved ratio %.4f, target %.4f); one forward pass on N tokens, a sequence at a time "
           "(stage A) %.3f s (%.1f GFLOP/s), batched %.3f s; peak RSS %.2f GiB (max over ranks)\n",
           t_layer, info.achieved, target, t_fwd, fwd_flops / t_fwd / 1e9, t_fwd_batch,
           rss_max / (1024.0 * 1024 * 1024));
    cJSON_AddStringToObject(j, "config", config);
    cJSON_AddStringToObject(j, "host", host);
    cJSON_AddStringToObject(j, "importance", comp_importance_name(o.importance));
    cJSON_AddStringToObject(j, "cond_eig", comp_eig_name(o.cond_eig));
    cJSON_AddStringToObject(j, "solver", o.solver->name);
    cJSON_AddBoolToObject(j, "gram_shares", o.cond_shares);
    cJSON_AddNumberToObject(j, "ranks", size);
    cJSON_AddNumberToObject(j, "tokens", (double)n);
    cJSON_AddNumberToObject(j, "dgemm_peak_gflops_per_rank", peak); /* the higher of: */
    cJSON_AddNumberToObject(j, "dgemm_before_gflops_per_rank", peak_before);
    cJSON_AddNumberToObject(j, "dgemm_after_gflops_per_rank", peak_after);
    cJSON_AddNumberToObject(j, "layer_seconds", t_layer);
    cJSON_AddNumberToObject(j, "layer_gflop", cost.flops_stage_c_per_layer / 1e9);
    cJSON_AddNumberToObject(j, "forward_seconds", t_fwd); /* stage A's way: one sequence at a time */
    cJSON_AddNumberToObject(j, "forward_batched_seconds", t_fwd_batch);
    cJSON_AddNumberToObject(j, "forward_gflop", fwd_flops / 1e9);
    cJSON_AddNumberToObject(j, "achieved_ratio", info.achieved);
    cJSON_AddNumberToObject(j, "peak_rss_bytes_max", rss_max);
    cJSON_AddNumberToObject(j, "predicted_stage_c_layer_bytes", cost.mem_stage_c_work);
    cJSON_AddStringToObject(j, "comp_commit", comp_git_commit());
    cJSON_AddItemToObject(j, "phases", ph);
    if (json) {
      char *txt = comp_json_print(j, 0);
      printf("%s\n", txt);
      free(txt);
    }
    cJSON_Delete(j);
    fflush(stdout);
  }
  if (s) comp_cli_error("bench-prune", comp_error_message());
  comp_layer_free(&ly);
  free(x);
  return s ? 1 : 0;
}
