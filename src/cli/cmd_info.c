/* cmd_info.c - `comp info A.h5 [--json]`: what a pruning archive holds. */
#include <cjson/cJSON.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "comp/archive.h"
#include "comp/dist.h"
#include "comp/eval_archive.h"
#include "comp/log.h"
#include "comp/util.h"

static double num(const cJSON *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : "";
}

static void print_list(const char *label, const cJSON *arr)
{
  printf("%s", label);
  const cJSON *e;
  cJSON_ArrayForEach(e, arr) printf(" %d", e->valueint);
  if (!cJSON_GetArraySize(arr)) printf(" none");
  putchar('\n');
}

static void print_human(const cJSON *j)
{
  const cJSON *src = cJSON_GetObjectItemCaseSensitive(j, "source"), *pa = cJSON_GetObjectItemCaseSensitive(j, "params");
  bool         complete = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "complete"));
  printf("archive  %s (%s v%.0f, %s, written by comp %s @ %s)\n", str(j, "path"), str(j, "format"),
         num(j, "format_version"), complete ? "complete" : "INCOMPLETE: the run that wrote it did not finish",
         str(j, "comp_version"), str(j, "git_commit"));
  printf("source   %s (%s, %.0f layers, sha256 %s)\n", str(src, "model_path"), str(src, "arch"),
         num(src, "n_layer_orig"), str(src, "model_sha256")[0] ? str(src, "model_sha256") : "-");
  printf("model   "); /* the hyper-parameters the archive is read with (/model's attributes) */
  const cJSON *hpa;
  int          col = 9;
  cJSON_ArrayForEach(hpa, cJSON_GetObjectItemCaseSensitive(j, "model"))
  {
    char *t = comp_json_print(hpa, 0);
    int   w = (int)(strlen(hpa->string) + strlen(t) + 2);
    if (col + w > 110) printf("\n        "), col = 9;
    col += printf(" %s %s", hpa->string, t);
    free(t);
  }
  putchar('\n');
  printf("layers   %.0f of %.0f kept\n", num(j, "n_layer_kept"), num(src, "n_layer_orig"));
  print_list("  kept   ", cJSON_GetObjectItemCaseSensitive(j, "kept_layers"));
  print_list("  removed", cJSON_GetObjectItemCaseSensitive(j, "removed_layers"));
  double dense = num(pa, "dense"), stored = num(pa, "stored");
  printf("params   dense %.0f, stored %.0f (%.2f%%; model-wide %.0f)\n", dense, stored,
         dense > 0 ? 100.0 * stored / dense : 0.0, num(pa, "model_wide"));
  printf("kept input columns per dense (of d_in_full):\n  layer orig");
  static const char *const dn[] = {"q", "k", "v", "o", "gate", "up", "down"};
  for (int d = 0; d < 7; d++) printf(" %11s", dn[d]);
  const cJSON *ly0     = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "layers"), 0);
  const bool   windows = ly0 && cJSON_GetObjectItemCaseSensitive(ly0, "window"); /* models with a window */
  printf(windows ? " window\n" : "\n");
  const cJSON *ly;
  cJSON_ArrayForEach(ly, cJSON_GetObjectItemCaseSensitive(j, "layers"))
  {
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(ly, "kept"),
                *f = cJSON_GetObjectItemCaseSensitive(ly, "d_in_full");
    printf("  %5.0f %4.0f", num(ly, "index"), num(ly, "orig_index"));
    for (int d = 0; d < 7; d++) {
      char cell[32] = "-";
      if (cJSON_GetObjectItemCaseSensitive(k, dn[d]))
        snprintf(cell, sizeof cell, "%.0f/%.0f", num(k, dn[d]), num(f, dn[d]));
      printf(" %11s", cell);
    }
    if (windows && num(ly, "window") > 0) printf(" %6.0f", num(ly, "window"));
    printf(windows && num(ly, "window") <= 0 ? "    all\n" : "\n");
  }
  const cJSON *pr = cJSON_GetObjectItemCaseSensitive(j, "prune"), *e;
  printf("prune%s\n", pr && pr->child ? "" : "    (nothing recorded)");
  cJSON_ArrayForEach(e, pr)
  {
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape"),
                *attrs = cJSON_GetObjectItemCaseSensitive(e, "attrs");
    if (shape) {
      printf("  %-32s %s [", e->string, str(e, "dtype"));
      const cJSON *x;
      int          i = 0;
      cJSON_ArrayForEach(x, shape) printf(i++ ? ",%.0f" : "%.0f", x->valuedouble);
      printf("]");
      const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
      if (v && cJSON_GetArraySize(v) <= 8) {
        char *t = comp_json_print(v, 0);
        printf(" = %s", t);
        free(t);
      }
      putchar('\n');
    } else {
      printf("  %s\n", e->string);
    }
    const cJSON *a;
    cJSON_ArrayForEach(a, attrs)
    {
      char *t = comp_json_print(a, 0);
      printf("    @%s = %.*s%s\n", a->string, 100, t, strlen(t) > 100 ? "..." : "");
      free(t);
    }
  }
}

/* An eval archive: the result first, then every attribute. */
static void print_eval(const cJSON *j)
{
  printf("eval archive  %s (%s v%.0f, %s, written by comp %s @ %s)\n", str(j, "path"), str(j, "format"),
         num(j, "format_version"), num(j, "complete") == 1 ? "complete" : "INCOMPLETE", str(j, "comp_version"),
         str(j, "git_commit"));
  printf("ppl %.6f  nll_mean %.6f  windows %.0f x %.0f  tokens %.0f  ranks %.0f  %.2fs\n", num(j, "ppl"),
         num(j, "nll_mean"), num(j, "windows"), num(j, "seq_len"), num(j, "tokens"), num(j, "ranks"),
         num(j, "seconds"));
  const cJSON *e;
  cJSON_ArrayForEach(e, j)
  {
    if (cJSON_IsString(e))
      printf("  %-24s %s\n", e->string, e->valuestring);
    else if (cJSON_IsNumber(e))
      printf("  %-24s %.17g\n", e->string, e->valuedouble);
  }
}

int comp_cmd_info(int argc, char **argv)
{
  const char *archive = NULL;
  int         json    = 0;
  comp_opt    opts[]  = {
          {"archive", COMP_OPT_STR, &archive, "A.h5", "the pruning or eval archive (or give it as the first argument)"},
          {"json", COMP_OPT_FLAG, &json, NULL, "print one JSON object with the description as the last stdout line"},
  };
  if (argc > 1 && argv[1][0] != '-') { /* positional archive: `comp info A.h5` */
    archive = argv[1];
    argv[1] = argv[0];
    argc--, argv++;
  }
  int rc = comp_args_parse(argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), "comp info A.h5|R.h5 [--json]",
                           "Summarises a comp pruning archive: provenance, source model, the hyper-parameters it\n"
                           "is read with (/model: shapes, RoPE and its scaling, windows, soft-caps), kept and\n"
                           "removed layers, parameters (source vs stored), kept input columns of every dense (and\n"
                           "each layer's attention window, where the model has one), and\n"
                           "what the pruning run recorded under /prune. Incomplete archives are described too.\n"
                           "For an eval archive (comp eval --out R.h5): the result and every attribute\n"
                           "(include/comp/eval_archive.h).");
  if (rc) return rc == 1 ? 0 : 2;
  cJSON      *j       = NULL;
  comp_status s       = archive ? COMP_OK : comp_error_set(COMP_ERR_ARG, "no archive given (comp info A.h5)");
  bool        is_eval = false;
  if (!s && comp_log_rank() == 0) {
    char    fmt[64];
    int64_t complete;
    comp_archive_file_kind(archive, fmt, sizeof fmt, &complete);
    is_eval = strcmp(fmt, COMP_EVAL_ARCHIVE_FORMAT) == 0;
    s       = is_eval ? comp_eval_archive_describe(archive, &j) : comp_archive_describe(archive, &j);
  }
  s = comp_dist_agree(MPI_COMM_WORLD, s);
  if (s) {
    comp_cli_error("info", comp_error_message());
  } else if (comp_log_rank() == 0) {
    if (is_eval)
      print_eval(j);
    else
      print_human(j);
    if (json) {
      char *t = comp_json_print(j, 0);
      printf("%s\n", t);
      free(t);
    }
    fflush(stdout);
  }
  cJSON_Delete(j);
  return s ? 1 : 0;
}
