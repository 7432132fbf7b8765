/* cmd_bench.c - `comp bench`: forward-pass throughput against the SGEMM peak measured on the same
 * machine, for a synthetic layer of a given shape (default LLaMA-2-7B) and optionally a real model. */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "common.h"
#include "comp/dist.h"
#include "comp/eval.h"
#include "comp/forward.h"
#include "comp/log.h"
#include "comp/util.h"
#include "comp/version.h"

/* Best-of-reps SGEMM GFLOP/s for C (m,n) = A (m,k) Bᵀ with B (n,k): the shape of our dense layers. */
static double sgemm_peak(int64_t m, int64_t n, int64_t k, int reps)
{
  float *a = malloc(sizeof(float) * (size_t)(m * k)), *b = malloc(sizeof(float) * (size_t)(n * k)),
        *c = malloc(sizeof(float) * (size_t)(m * n));
  if (!a || !b || !c) return 0;
  comp_cli_fill_uniform(a, m * k, 1, 1), comp_cli_fill_uniform(b, n * k, 1, 2);
  double best = 1e30;
  for (int r = 0; r < reps + 1; r++) { /* first run warms up */
    double t0 = comp_now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, 1.0f, a, (int)k, b, (int)k, 0.0f, c,
                (int)n);
    double dt = comp_now() - t0;
    if (r > 0 && dt < best) best = dt;
  }
  free(a), free(b), free(c);
  return 2.0 * (double)m * (double)n * (double)k / best / 1e9;
}

/* A model with one synthetic layer of the given shape (weights ~ U(-1/sqrt(fan_in), +)). */
static comp_status synth_layer(comp_model *m, comp_layer **out, int64_t D, int64_t F, int64_t H, int64_t Hkv)
{
  memset(m, 0, sizeof *m);
  m->hp            = (comp_hparams){.arch       = COMP_ARCH_LLAMA,
                                    .n_vocab    = 32000,
                                    .n_embd     = D,
                                    .n_layer    = 1,
                                    .n_head     = H,
                                    .n_head_kv  = Hkv,
                                    .head_dim   = D / H,
                                    .n_ff       = F,
                                    .n_ctx      = 4096,
                                    .norm_eps   = 1e-5f,
                                    .rope_theta = 10000.0f,
                                    .rope       = COMP_ROPE_HALF,
                                    .rope_dim   = D / H,
                                    .bos        = 1,
                                    .eos        = 2};
  m->arch          = comp_arch_get(COMP_ARCH_LLAMA);
  const int64_t hd = D / H, sizes[COMP_DENSE_COUNT][2] = {{H * hd, D}, {Hkv * hd, D}, {Hkv * hd, D}, {D, H * hd},
                                                          {F, D},      {F, D},        {D, F}};
  int64_t       total = 2 * D;
  for (int d = 0; d < COMP_DENSE_COUNT; d++) total += sizes[d][0] * sizes[d][1];
  comp_layer *ly = calloc(1, sizeof *ly);
  float      *p  = malloc(sizeof(float) * (size_t)total);
  if (!ly || !p) {
    free(ly), free(p);
    return comp_error_set(COMP_ERR_NOMEM, "out of memory for a synthetic layer (%lld floats)", (long long)total);
  }
  ly->mem = p;
  for (int d = 0; d < COMP_DENSE_COUNT; d++) {
    int64_t o = sizes[d][0], i = sizes[d][1];
    comp_cli_fill_uniform(p, o * i, 1.0f / sqrtf((float)i), 10 + (uint64_t)d);
    ly->dense[d] = (comp_dense){.w = p, .d_out = o, .d_in = i, .d_in_full = i};
    p += o * i;
  }
  ly->attn_norm_w = p, p += D;
  ly->ffn_norm_w  = p;
  for (int64_t i = 0; i < 2 * D; i++) ly->attn_norm_w[i] = 1.0f;
  *out = ly;
  return COMP_OK;
}

int comp_cmd_bench(int argc, char **argv)
{
  const char *model = NULL, *tok_path = NULL, *text = NULL;
  int64_t     seq_len = 2048, D = 4096, F = 11008, H = 32, Hkv = 32, reps = 3, model_seq = 0, model_windows = 8;
  int         json = 0, skip_layer = 0;
  comp_opt    opts[] = {
         {"hidden", COMP_OPT_INT, &D, "D", "synthetic layer width (default 4096, LLaMA-2-7B)"},
         {"intermediate", COMP_OPT_INT, &F, "F", "synthetic layer FFN width (default 11008)"},
         {"heads", COMP_OPT_INT, &H, "H", "synthetic layer attention heads (default 32)"},
         {"kv-heads", COMP_OPT_INT, &Hkv, "H", "synthetic layer key/value heads (default 32)"},
         {"seq-len", COMP_OPT_INT, &seq_len, "T", "tokens in the synthetic layer's window (default 2048)"},
         {"repeat", COMP_OPT_INT, &reps, "N", "timed repetitions, best is reported (default 3)"},
         {"no-layer", COMP_OPT_FLAG, &skip_layer, NULL, "skip the synthetic layer"},
         {"model", COMP_OPT_STR, &model, "PATH", "also measure eval throughput of this model"},
         {"tokenizer", COMP_OPT_STR, &tok_path, "PATH", "its tokenizer (default: beside the model)"},
         {"text", COMP_OPT_STR, &text, "FILE", "text for the model's eval (required with --model)"},
         {"model-seq-len", COMP_OPT_INT, &model_seq, "L",
          "window for the model's eval (default: min(2048, max positions))"},
         {"model-windows", COMP_OPT_INT, &model_windows, "N", "windows for the model's eval (default 8)"},
         {"json", COMP_OPT_FLAG, &json, NULL, "print the results as one JSON object on the last stdout line"},
  };
  int rc =
      comp_args_parse(argc, argv, opts, (int)(sizeof opts / sizeof opts[0]),
                      "comp bench [--model M --text FILE] [--seq-len T] [--json]",
                      "Measures the SGEMM peak of this machine (OpenBLAS, the threads OPENBLAS_NUM_THREADS allows),\n"
                      "then one decoder layer forward with LLaMA-2-7B shapes (synthetic weights, one window of T\n"
                      "tokens, the same code path as eval) and, with --model, eval tokens/s of a real model. Reports\n"
                      "GFLOP/s and the fraction of the measured peak. Run it on one rank.");
  if (rc) return rc == 1 ? 0 : 2;
  comp_status s    = COMP_OK;
  cJSON      *j    = cJSON_CreateObject();
  double      peak = 0;
  /* SGEMM peak on the shape of the layer's largest GEMM (T x F x D) and a square one; best of both */
  double p1 = sgemm_peak(seq_len, F, D, (int)reps), p2 = sgemm_peak(2048, 2048, 2048, (int)reps);
  peak = p1 > p2 ? p1 : p2;
  comp_log("bench: SGEMM peak %.1f GFLOP/s (layer-shaped %.1f, 2048^3 %.1f)", peak, p1, p2);
  cJSON_AddNumberToObject(j, "sgemm_peak_gflops", peak);
  cJSON_AddNumberToObject(j, "sgemm_layer_shape_gflops", p1);
  cJSON_AddNumberToObject(j, "sgemm_2048_gflops", p2);
  printf("SGEMM peak (measured): %.1f GFLOP/s\n", peak);

  if (!skip_layer) {
    comp_model   m;
    comp_layer  *ly = NULL;
    comp_fwd_ws *ws = NULL;
    float       *x  = malloc(sizeof(float) * (size_t)(seq_len * D));
    s               = x ? synth_layer(&m, &ly, D, F, H, Hkv) : comp_error_set(COMP_ERR_NOMEM, "out of memory");
    if (!s) s = comp_fwd_ws_create(&m.hp, seq_len, seq_len, &ws);
    double best = 1e30;
    for (int r = 0; !s && r < reps + 1; r++) {
      comp_cli_fill_uniform(x, seq_len * D, 1.0f, 99);
      double t0 = comp_now();
      s         = comp_forward_layer(&m, ly, x, 1, seq_len, ws, NULL);
      double dt = comp_now() - t0;
      if (r > 0 && dt < best) best = dt;
    }
    if (!s) {
      double fl = comp_forward_layer_flops(&m.hp, 1, seq_len), gf = fl / best / 1e9;
      printf("layer D=%lld F=%lld H=%lld Hkv=%lld, %lld tokens: %.3f s, %.1f GFLOP/s = %.0f%% of SGEMM peak, %.0f "
             "tokens/s\n",
             (long long)D, (long long)F, (long long)H, (long long)Hkv, (long long)seq_len, best, gf, 100 * gf / peak,
             (double)seq_len / best);
      cJSON *o = cJSON_AddObjectToObject(j, "layer");
      cJSON_AddNumberToObject(o, "hidden", (double)D);
      cJSON_AddNumberToObject(o, "intermediate", (double)F);
      cJSON_AddNumberToObject(o, "heads", (double)H);
      cJSON_AddNumberToObject(o, "kv_heads", (double)Hkv);
      cJSON_AddNumberToObject(o, "tokens", (double)seq_len);
      cJSON_AddNumberToObject(o, "seconds", best);
      cJSON_AddNumberToObject(o, "gflop", fl / 1e9);
      cJSON_AddNumberToObject(o, "gflops", gf);
      cJSON_AddNumberToObject(o, "fraction_of_peak", gf / peak);
      cJSON_AddNumberToObject(o, "tokens_per_second", (double)seq_len / best);
    }
    comp_fwd_ws_destroy(&ws);
    comp_layer_free(&ly);
    free(x);
  }

  if (!s && model) {
    comp_model      *m   = NULL;
    comp_tokenizer  *t   = NULL;
    int32_t         *ids = NULL;
    int64_t          n   = 0;
    char             used[4096];
    comp_eval_result res;
    s = comp_cli_load(model, COMP_WIDE_RESIDENT, tok_path, MPI_COMM_WORLD, &m, &t, used, sizeof used);
    if (!s) s = comp_cli_tokenize_file(t, m, text, MPI_COMM_WORLD, &ids, &n);
    if (!s) {
      int64_t        L = model_seq > 0 ? model_seq : (m->hp.n_ctx < 2048 ? m->hp.n_ctx : 2048);
      comp_eval_opts o = {.seq_len = L, .max_windows = model_windows};
      comp_model_set_cache(m, true); /* weights read once (untimed warm-up below) */
      comp_eval_opts warm = {.seq_len = L, .max_windows = 1};
      s                   = comp_eval_perplexity(m, ids, n, &warm, MPI_COMM_WORLD, &res);
      if (!s) s = comp_eval_perplexity(m, ids, n, &o, MPI_COMM_WORLD, &res);
      if (!s) {
        double toks = (double)(res.n_windows * L);
        double fl   = (double)m->hp.n_layer * comp_forward_layer_flops(&m->hp, res.n_windows, L) +
                    2.0 * toks * (double)m->hp.n_embd * (double)m->hp.n_vocab;
        printf("model %s: %lld windows x %lld tokens: %.3f s, %.0f tokens/s, %.1f GFLOP/s = %.0f%% of SGEMM peak (ppl "
               "%.4f)\n",
               model, (long long)res.n_windows, (long long)L, res.seconds, toks / res.seconds, fl / res.seconds / 1e9,
               100 * fl / res.seconds / 1e9 / peak, res.ppl);
        cJSON *o2 = cJSON_AddObjectToObject(j, "model");
        cJSON_AddStringToObject(o2, "path", model);
        cJSON_AddNumberToObject(o2, "seq_len", (double)L);
        cJSON_AddNumberToObject(o2, "windows", (double)res.n_windows);
        cJSON_AddNumberToObject(o2, "seconds", res.seconds);
        cJSON_AddNumberToObject(o2, "tokens_per_second", toks / res.seconds);
        cJSON_AddNumberToObject(o2, "gflops", fl / res.seconds / 1e9);
        cJSON_AddNumberToObject(o2, "fraction_of_peak", fl / res.seconds / 1e9 / peak);
      }
    }
    free(ids);
    comp_tokenizer_destroy(&t);
    comp_model_destroy(&m);
  }
  if (s)
    comp_cli_error("bench", comp_error_message());
  else if (json) {
    cJSON_AddNumberToObject(j, "peak_rss_bytes", (double)comp_peak_rss());
    cJSON_AddStringToObject(j, "comp_commit", comp_git_commit());
    char *str = comp_json_print(j, 0);
    printf("%s\n", str);
    free(str);
  }
  cJSON_Delete(j);
  return s ? 1 : 0;
}
