/* cmd_eval.c - `comp eval`: perplexity of a model on a text file (ALGORITHM.md §8 protocol). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "common.h"
#include "comp/archive.h"
#include "comp/dist.h"
#include "comp/eval.h"
#include "comp/eval_archive.h"
#include "comp/log.h"
#include "comp/sha256.h"
#include "comp/util.h"
#include "comp/version.h"

/* The eval archive of one result (rank 0): hashes of the text and the model, then the record. */
static comp_status write_record(const char *out, const char *model, const comp_model *m, const char *text,
                                const char *tok, int64_t seq_len, int64_t max_windows, int ranks, double rss_max,
                                const comp_eval_result *res, const char *command, const char *sweep_cell,
                                const char *sweep_jobs)
{
  char text_sha[65], model_sha[65] = "", arch_sha[65] = "";
  COMP_CALL(comp_sha256_file(text, text_sha));
  const char *kind = "hf";
  if (comp_archive_is_hdf5(model)) { /* a pruning archive: its source's hash, and the file's own */
    kind            = "archive";
    const char *src = comp_archive_model_sha256(m);
    snprintf(model_sha, sizeof model_sha, "%s", src ? src : "");
    COMP_CALL(comp_sha256_file(model, arch_sha));
  } else {
    if (m->hp.arch == COMP_ARCH_LLAMA2C) kind = "llama2c";
    COMP_CALL(comp_cli_model_sha256(m, model_sha));
  }
  comp_eval_record r = {.ppl                     = res->ppl,
                        .nll_mean                = res->nll / (double)res->n_pred,
                        .tokens                  = res->n_tokens,
                        .predicted               = res->n_pred,
                        .windows                 = res->n_windows,
                        .seq_len                 = seq_len,
                        .ranks                   = ranks,
                        .max_windows             = max_windows,
                        .seconds                 = res->seconds,
                        .peak_rss_bytes          = rss_max,
                        .text_path               = text,
                        .text_sha256             = text_sha,
                        .model_path              = model,
                        .model_kind              = kind,
                        .model_sha256            = model_sha,
                        .archive_complete_sha256 = arch_sha,
                        .tokenizer_path          = tok,
                        .command                 = command,
                        .sweep_cell              = sweep_cell,
                        .sweep_jobs              = sweep_jobs};
  return comp_eval_archive_write(out, &r);
}

int comp_cmd_eval(int argc, char **argv)
{
  const char *model = NULL, *tok_path = NULL, *text = NULL, *out = NULL, *sweep_cell = NULL, *sweep_jobs = NULL;
  int64_t     seq_len = 2048, max_windows = 0, batch = 0;
  int         json = 0, quiet = 0, force = 0;
  char       *command = comp_cli_command_line(argc, argv);
  char        model_help[320];
  comp_opt    opts[] = {
         {"model", COMP_OPT_STR, &model, "PATH", comp_cli_model_help(model_help, sizeof model_help, COMP_CLI_RUN_MODELS)},
         {"tokenizer", COMP_OPT_STR, &tok_path, "PATH", COMP_CLI_TOKENIZER_HELP},
         {"text", COMP_OPT_STR, &text, "FILE", "evaluation text, scored exactly as stored (required; UTF-8, non-empty)"},
         {"seq-len", COMP_OPT_INT, &seq_len, "L", "tokens per window (default 2048; at most the model's max positions)"},
         {"max-windows", COMP_OPT_INT, &max_windows, "N", "score only the first N windows (default: all)"},
         {"batch-windows", COMP_OPT_INT, &batch, "N", "windows held in memory at once per rank (default: 1 GiB budget)"},
         {"out", COMP_OPT_STR, &out, "R.h5",
          "also write the result as an eval archive (HDF5, root attributes: ppl, nll_mean, tokens,\n"
             "windows, seq_len, ranks, seconds, peak_rss_bytes, text_path/_sha256, model_path/_kind/\n"
             "_sha256, archive_complete_sha256, slurm_job_id, created, command, ...; layout in\n"
             "include/comp/eval_archive.h); written as R.h5.tmp, renamed when complete"},
         {"force", COMP_OPT_FLAG, &force, NULL, "overwrite an existing --out file"},
         {"sweep-cell", COMP_OPT_STR, &sweep_cell, "ID",
          "provenance: the sweep cell this run belongs to (set by comp sweep run)"},
         {"sweep-jobs", COMP_OPT_STR, &sweep_jobs, "FILE", "provenance: the sweep's jobs file (set by comp sweep run)"},
         {"json", COMP_OPT_FLAG, &json, NULL, "print one JSON object with the result as the last stdout line"},
         {"quiet", COMP_OPT_FLAG, &quiet, NULL, "no progress on stderr"},
  };
  int rc =
      comp_args_parse(argc, argv, opts, (int)(sizeof opts / sizeof opts[0]),
                      "mpiexec -n P comp eval --model M --text FILE [--seq-len L] [--json]",
                      "Perplexity with the SliceGPT/GPTQ protocol: the file is tokenized once with BOS at the start\n"
                      "(or what the tokenizer puts before a text: ChatGLM's [gMASK] sop), cut into non-overlapping\n"
                      "windows of L tokens (remainder dropped), each window scored on its own, ppl = exp(mean NLL\n"
                      "over all predicted tokens). Windows are split across MPI ranks; the result is identical for\n"
                      "any rank count. Progress with ETA goes to stderr (rank 0).");
  if (rc) {
    free(command);
    return rc == 1 ? 0 : 2;
  }
  if (quiet) comp_log_init(comp_log_rank(), 1);
  MPI_Comm         comm = MPI_COMM_WORLD;
  int              size;
  comp_model      *m   = NULL;
  comp_tokenizer  *t   = NULL;
  int32_t         *ids = NULL;
  int64_t          n   = 0;
  char             used_tok[4096];
  comp_eval_result res;
  MPI_Comm_size(comm, &size);
  comp_status s = command ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory");
  if (!s && out && comp_log_rank() == 0) { /* fail before the work, not when the result is written */
    char        dir[4096];
    const char *slash = strrchr(out, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - out) + (slash == out) : 1, slash ? out : ".");
    if (!force && comp_is_file(out))
      s = comp_error_set(COMP_ERR_ARG, "%s exists (use --force to overwrite)", out);
    else if (access(dir, W_OK | X_OK) != 0)
      s = comp_error_set(COMP_ERR_IO, "--out %s: the directory %s does not exist or is not writable", out, dir);
  }
  s = comp_dist_agree(comm, s);
  if (!s) s = comp_cli_load(model, COMP_WIDE_RESIDENT, tok_path, comm, &m, &t, used_tok, sizeof used_tok);
  if (!s) s = comp_cli_tokenize_file(t, m, text, comm, &ids, &n);
  if (!s) {
    comp_eval_opts o = {.seq_len = seq_len, .max_windows = max_windows, .batch_windows = batch};
    comp_log("eval: %s on %s: %lld tokens, %lld windows of %lld, %d rank(s)", model, text, (long long)n,
             (long long)(n / (seq_len > 0 ? seq_len : 1)), (long long)seq_len, size);
    s = comp_dist_agree(comm, comp_eval_perplexity(m, ids, n, &o, comm, &res));
  }
  double rss = (double)comp_peak_rss(), rss_max = 0;
  if (!s) MPI_Reduce(&rss, &rss_max, 1, MPI_DOUBLE, MPI_MAX, 0, comm);
  if (!s && out) { /* the eval archive, by rank 0 */
    if (comp_log_rank() == 0)
      s = write_record(out, model, m, text, used_tok, seq_len, max_windows, size, rss_max, &res, command, sweep_cell,
                       sweep_jobs);
    s = comp_dist_agree(comm, s);
  }
  if (s) {
    comp_cli_error("eval", comp_error_message());
  } else if (comp_log_rank() == 0) {
    printf("ppl %.6f  nll %.6f  windows %lld x %lld  predicted %lld  ranks %d  %.2fs\n", res.ppl,
           res.nll / (double)res.n_pred, (long long)res.n_windows, (long long)seq_len, (long long)res.n_pred, size,
           res.seconds);
    if (json) {
      cJSON *j = cJSON_CreateObject();
      cJSON_AddNumberToObject(j, "ppl", res.ppl);
      cJSON_AddNumberToObject(j, "mean_nll", res.nll / (double)res.n_pred);
      cJSON_AddNumberToObject(j, "tokens", (double)res.n_tokens);
      cJSON_AddNumberToObject(j, "predicted", (double)res.n_pred);
      cJSON_AddNumberToObject(j, "windows", (double)res.n_windows);
      cJSON_AddNumberToObject(j, "seq_len", (double)seq_len);
      cJSON_AddStringToObject(j, "model", model);
      cJSON_AddStringToObject(j, "tokenizer", used_tok);
      cJSON_AddStringToObject(j, "text", text);
      cJSON_AddNumberToObject(j, "ranks", size);
      cJSON_AddNumberToObject(j, "seconds", res.seconds);
      cJSON_AddNumberToObject(j, "tokens_per_second", (double)(res.n_windows * seq_len) / res.seconds);
      cJSON_AddNumberToObject(j, "peak_rss_bytes_rank0", (double)comp_peak_rss());
      cJSON_AddStringToObject(j, "protocol",
                              "text as stored, tokenized once with BOS, non-overlapping windows, "
                              "remainder dropped, ppl = exp(mean NLL over predicted tokens)");
      cJSON_AddStringToObject(j, "comp_version", COMP_VERSION);
      cJSON_AddStringToObject(j, "comp_commit", comp_git_commit());
      if (out) cJSON_AddStringToObject(j, "out", out);
      char *str = comp_json_print(j, 0);
      printf("%s\n", str);
      free(str);
      cJSON_Delete(j);
    }
    fflush(stdout);
  }
  free(ids);
  free(command);
  comp_tokenizer_destroy(&t);
  comp_model_destroy(&m);
  return s ? 1 : 0;
}
