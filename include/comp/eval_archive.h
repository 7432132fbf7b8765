/*
 * comp/eval_archive.h - the "eval archive": one perplexity evaluation as a small HDF5 file.
 *
 * Written by `comp eval ... --out R.h5` (and by `comp sweep run` through it); read by `comp info`,
 * by analysis/ with h5py and by the sweep's cell state. The contract with those readers:
 *
 * ---- Layout, format_version 1 ----------------------------------------------------------------------
 *
 *   /  attrs only (no groups, no datasets):
 *      format = "comp-eval", format_version = 1 (int64), complete (int64: set to 1 LAST),
 *      comp_version, git_commit (of the program that wrote it),
 *      ppl, nll_mean (float64: exp(nll_mean) = ppl), tokens (int64: ids in the text, BOS included),
 *      predicted (int64: tokens scored = windows * (seq_len - 1)), windows, seq_len, ranks,
 *      max_windows (int64: 0 = all windows), seconds (float64, wall time of the evaluation),
 *      peak_rss_bytes (float64, max over ranks), text_path (absolute), text_sha256 (of the file as
 *      stored = as scored), model_path (absolute), model_kind ("hf", "llama2c" or "archive"),
 *      model_sha256 (hf / llama2c: sha256 of every weight file as loaded, in order - what
 *      `comp prune` records in /source model_sha256; archive: the archive's /source model_sha256),
 *      archive_complete_sha256 (sha256 of the archive file when model_kind is "archive", else ""),
 *      tokenizer_path (absolute), protocol (one sentence), slurm_job_id, slurm_array_job_id,
 *      slurm_array_task_id ("" outside Slurm), sweep_cell, sweep_jobs ("" outside a sweep),
 *      created (ISO 8601 UTC), command (the command line, argv joined by spaces)
 *
 * Strings are variable-length UTF-8. The file is written as "<path>.tmp" and renamed when complete;
 * a failed write leaves nothing.
 */
#ifndef COMP_EVAL_ARCHIVE_H
#define COMP_EVAL_ARCHIVE_H

#include <stdint.h>

#include "comp/error.h"

#define COMP_EVAL_ARCHIVE_FORMAT         "comp-eval"
#define COMP_EVAL_ARCHIVE_FORMAT_VERSION 1

typedef struct comp_eval_record {
  double      ppl, nll_mean;
  int64_t     tokens, predicted, windows, seq_len, ranks, max_windows;
  double      seconds, peak_rss_bytes;
  const char *text_path;               /* made absolute by the writer                      */
  const char *text_sha256;             /* 64 hex                                           */
  const char *model_path;              /* made absolute by the writer                      */
  const char *model_kind;              /* "hf", "llama2c", "archive"                       */
  const char *model_sha256;            /* see the layout above                             */
  const char *archive_complete_sha256; /* "" or NULL unless model_kind is "archive"       */
  const char *tokenizer_path;          /* made absolute by the writer                      */
  const char *command;                 /* argv joined                                      */
  const char *sweep_cell, *sweep_jobs; /* NULL or "" outside a sweep                       */
} comp_eval_record;

/*
 * comp_eval_archive_write - write r to "<path>.tmp", set complete = 1 last and rename it to path
 * (replacing an existing file). Adds format, version, commit, created and the SLURM_* variables of
 * this process. Not collective (one process, serial HDF5). On failure nothing is left at path or
 * path.tmp.
 */
comp_status comp_eval_archive_write(const char *path, const comp_eval_record *r);

struct cJSON;
/* Every root attribute of an eval archive as a JSON object (path added). Refuses files that are not
 * comp-eval archives; incomplete ones are described (complete 0). *out: free with cJSON_Delete(). */
comp_status comp_eval_archive_describe(const char *path, struct cJSON **out);

#endif
