/* eval_archive.c - the eval archive: one perplexity evaluation as a small HDF5 file (comp/eval_archive.h). */
#include "comp/eval_archive.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "archive_impl.h"
#include "comp/version.h"

/* path made absolute when it can be resolved (the file exists), else as given */
static const char *absolute(const char *p, char *buf) { return p && realpath(p, buf) ? buf : (p ? p : ""); }

comp_status comp_eval_archive_write(const char *path, const comp_eval_record *r)
{
  COMP_CHECK(path && r, COMP_ERR_ARG, "eval archive: no path or record");
  char  *tmp = malloc(strlen(path) + 5), text_abs[PATH_MAX], model_abs[PATH_MAX], tok_abs[PATH_MAX], where[4200];
  char   created[32];
  time_t now = time(NULL);
  COMP_CHECK(tmp, COMP_ERR_NOMEM, "out of memory");
  sprintf(tmp, "%s.tmp", path);
  snprintf(where, sizeof where, "%s:/", tmp);
  strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  arc_h5_quiet();
  comp_status s = COMP_OK;
  hid_t       f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) s = comp_error_set(COMP_ERR_IO, "%s: cannot create: %s", tmp, arc_h5_detail());
  const char *job = getenv("SLURM_JOB_ID"), *ajob = getenv("SLURM_ARRAY_JOB_ID"), *task = getenv("SLURM_ARRAY_TASK_ID");
  const struct {
    const char *name, *v;
  } str[] = {{"format", COMP_EVAL_ARCHIVE_FORMAT},
             {"comp_version", COMP_VERSION},
             {"git_commit", comp_git_commit()},
             {"text_path", absolute(r->text_path, text_abs)},
             {"text_sha256", r->text_sha256},
             {"model_path", absolute(r->model_path, model_abs)},
             {"model_kind", r->model_kind},
             {"model_sha256", r->model_sha256},
             {"archive_complete_sha256", r->archive_complete_sha256},
             {"tokenizer_path", absolute(r->tokenizer_path, tok_abs)},
             {"protocol", "text as stored, tokenized once with BOS, non-overlapping windows of seq_len tokens, "
                          "remainder dropped, ppl = exp(mean NLL over predicted tokens)"},
             {"slurm_job_id", job},
             {"slurm_array_job_id", ajob},
             {"slurm_array_task_id", task},
             {"sweep_cell", r->sweep_cell},
             {"sweep_jobs", r->sweep_jobs},
             {"created", created},
             {"command", r->command}};
  const struct {
    const char *name;
    int64_t     v;
  } i64[] = {{"format_version", COMP_EVAL_ARCHIVE_FORMAT_VERSION},
             {"complete", 0},
             {"tokens", r->tokens},
             {"predicted", r->predicted},
             {"windows", r->windows},
             {"seq_len", r->seq_len},
             {"ranks", r->ranks},
             {"max_windows", r->max_windows}};
  const struct {
    const char *name;
    double      v;
  } f64[] = {
      {"ppl", r->ppl}, {"nll_mean", r->nll_mean}, {"seconds", r->seconds}, {"peak_rss_bytes", r->peak_rss_bytes}};
  for (size_t i = 0; !s && i < sizeof str / sizeof str[0]; i++)
    s = arc_attr_put_str(f, where, str[i].name, str[i].v ? str[i].v : "");
  for (size_t i = 0; !s && i < sizeof i64 / sizeof i64[0]; i++) s = arc_attr_put_i64(f, where, i64[i].name, i64[i].v);
  for (size_t i = 0; !s && i < sizeof f64 / sizeof f64[0]; i++) s = arc_attr_put_f64(f, where, f64[i].name, f64[i].v);
  if (!s) s = arc_attr_put_i64(f, where, "complete", 1); /* last */
  if (f >= 0 && H5Fclose(f) < 0 && !s) s = comp_error_set(COMP_ERR_IO, "%s: closing failed: %s", tmp, arc_h5_detail());
  if (!s && rename(tmp, path) != 0) s = comp_error_set(COMP_ERR_IO, "%s: cannot rename to %s", tmp, path);
  if (s) unlink(tmp);
  free(tmp);
  return s;
}

comp_status comp_eval_archive_describe(const char *path, struct cJSON **out)
{
  *out = NULL;
  char    fmt[64];
  int64_t complete;
  comp_archive_file_kind(path, fmt, sizeof fmt, &complete);
  COMP_CHECK(strcmp(fmt, COMP_EVAL_ARCHIVE_FORMAT) == 0, COMP_ERR_FORMAT,
             "%s: not a comp eval archive (no format attribute \"%s\")", path, COMP_EVAL_ARCHIVE_FORMAT);
  arc_h5_quiet();
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  COMP_CHECK(f >= 0, COMP_ERR_IO, "%s: cannot open: %s", path, arc_h5_detail());
  char where[4200];
  snprintf(where, sizeof where, "%s:/", path);
  cJSON *a = arc_attrs_json(f, where), *j = cJSON_CreateObject();
  H5Fclose(f);
  cJSON_AddStringToObject(j, "path", path);
  cJSON *e;
  while (a && (e = a->child) != NULL) cJSON_AddItemToObject(j, e->string, cJSON_DetachItemViaPointer(a, e));
  cJSON_Delete(a);
  *out = j;
  return COMP_OK;
}
