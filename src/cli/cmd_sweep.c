/*
 * cmd_sweep.c - `comp sweep list|run JOBS.json --out-dir DIR`: the cells of a jobs file (comp/sweep.h)
 * and running them, with `comp prune` and `comp eval` called in-process on every rank.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "comp/archive.h"
#include "comp/dist.h"
#include "comp/eval_archive.h"
#include "comp/log.h"
#include "comp/sweep.h"
#include "comp/util.h"

static const char usage_line[] = "[mpiexec -n P] comp sweep list|run JOBS.json --out-dir DIR [--cell I|all] [--json]";

static const char about[] =
    "A sweep is a jobs file (jobs/<name>.json; format in jobs/README.md): models x variants x ratios x seeds,\n"
    "plus one dense cell per model, each evaluated on the listed texts. Paths may use ${VAR} from the\n"
    "environment (an unset one is an error naming it).\n"
    "\n"
    "  comp sweep list JOBS.json --out-dir DIR [--json]\n"
    "      every cell, one per line: index, id, state (done | partial | todo); with --json one object per\n"
    "      line {index, id, state, ranks, model, variant, ratio, seed} (dense cells: variant \"dense\",\n"
    "      ratio 0, seed 0). Indices are stable: dense cells first, then models x variants x ratios x seeds.\n"
    "  mpiexec -n RANKS comp sweep run JOBS.json --out-dir DIR --cell I|all\n"
    "      cell I (or every cell not done, in order): comp prune into DIR/cells/<id>/prune.h5 (with\n"
    "      --resume when an interrupted run left its journal; skipped when the archive is complete),\n"
    "      then comp eval of each text into DIR/cells/<id>/eval-<name>.h5 (skipped when complete),\n"
    "      then the marker DIR/cells/<id>/done. A done cell returns at once; with all, a failed cell does\n"
    "      not stop the others (exit 1 at the end, naming the first failure). The commands' output goes\n"
    "      to DIR/cells/<id>/log.txt; progress with ETA to stderr. The jobs file is copied to\n"
    "      DIR/jobs.json at the first run; another jobs file is refused for that folder.\n"
    "Both check the whole jobs file first (keys, types, variables, that the files exist, and every\n"
    "model's and variant's comp prune args) so a bad file fails before any work.";

/* ---- checks before any work -------------------------------------------------------------------- */

/* Every (model, variant) prune command line, through comp prune --check-args (collective). */
static comp_status check_prune_args(const comp_sweep *sw, const char *out_dir, MPI_Comm comm)
{
  comp_status s = COMP_OK;
  for (int m = 0; !s && m < sw->n_models && sw->n_ratios > 0 && sw->n_seeds > 0; m++)
    for (int v = 0; !s && v < sw->n_variants; v++) {
      comp_sweep_cell c = {.index   = -1,
                           .model   = &sw->models[m],
                           .variant = &sw->variants[v],
                           .ratio   = sw->ratios[0],
                           .seed    = sw->seeds[0]};
      snprintf(c.id, sizeof c.id, "%s__%s__check", sw->models[m].name, sw->variants[v].name);
      int    argc = 0;
      char **argv = NULL;
      s           = comp_sweep_prune_argv(sw, &c, out_dir, false, false, &argc, &argv);
      char **cp   = s ? NULL : malloc(sizeof(char *) * (size_t)(argc + 2));
      if (!s && !cp) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
      if (!s) {
        memcpy(cp, argv, sizeof(char *) * (size_t)argc);
        cp[argc]     = "--check-args";
        cp[argc + 1] = NULL;
        comp_error_clear();
        comp_cli_capture_errors(1);
        int rc = comp_cmd_prune(argc + 1, cp);
        comp_cli_capture_errors(0);
        if (rc) {
          char msg[1024];
          snprintf(msg, sizeof msg, "%s", comp_error_message());
          comp_error_clear();
          s = comp_error_set(COMP_ERR_FORMAT, "%s: variant \"%s\" on model \"%s\": comp prune refuses its args: %s",
                             sw->path, sw->variants[v].name, sw->models[m].name, msg);
        }
      }
      free(cp);
      comp_sweep_argv_free(&argv);
      s = comp_dist_agree(comm, s);
    }
  return s;
}

/* The files the cells read exist (rank 0). */
static comp_status check_files(const comp_sweep *sw)
{
  for (int m = 0; m < sw->n_models; m++) {
    COMP_CHECK(comp_is_dir(sw->models[m].path) || comp_is_file(sw->models[m].path), COMP_ERR_IO,
               "%s: models[%d].path: %s: no such model directory or file", sw->path, m, sw->models[m].path);
    COMP_CHECK(!sw->models[m].tokenizer || comp_is_file(sw->models[m].tokenizer), COMP_ERR_IO,
               "%s: models[%d].tokenizer: %s: no such file", sw->path, m, sw->models[m].tokenizer);
  }
  COMP_CHECK(comp_sweep_cell_count(sw) == (sw->dense ? sw->n_models : 0) || comp_is_file(sw->calib_text), COMP_ERR_IO,
             "%s: calib.text: %s: no such file", sw->path, sw->calib_text);
  for (int e = 0; e < sw->n_evals; e++)
    COMP_CHECK(comp_is_file(sw->evals[e].text), COMP_ERR_IO, "%s: evals[%d].text: %s: no such file", sw->path, e,
               sw->evals[e].text);
  return COMP_OK;
}

/* ---- running one command of a cell ----------------------------------------------------------------- */

static void iso_now(char *buf, size_t n)
{
  time_t t = time(NULL);
  strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
}

/* fn(argc, argv) on every rank with stdout and stderr appended to log (collective). Returns the
 * command's exit code (-1 if the log could not be opened, agreed). */
static int run_logged(int (*fn)(int, char **), int argc, char **argv, const char *log, int quiet, MPI_Comm comm)
{
  int rank;
  MPI_Comm_rank(comm, &rank);
  fflush(stdout);
  fflush(stderr);
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0666), o1 = fd >= 0 ? dup(1) : -1, o2 = fd >= 0 ? dup(2) : -1;
  comp_status s = fd >= 0 && o1 >= 0 && o2 >= 0
                      ? COMP_OK
                      : comp_error_set(COMP_ERR_IO, "%s: cannot open the cell's log: %s", log, strerror(errno));
  s             = comp_dist_agree(comm, s);
  if (s) {
    if (fd >= 0) close(fd);
    if (o1 >= 0) close(o1);
    if (o2 >= 0) close(o2);
    return -1;
  }
  if (rank == 0) {
    char when[32];
    iso_now(when, sizeof when);
    dprintf(fd, "==== %s comp", when);
    for (int i = 0; i < argc; i++) dprintf(fd, " %s", argv[i]);
    dprintf(fd, "\n");
  }
  dup2(fd, 1);
  dup2(fd, 2);
  close(fd);
  char **cp = malloc(sizeof(char *) * (size_t)(argc + 1)); /* commands may reorder their argv */
  int    rc = -1;
  if (cp) {
    memcpy(cp, argv, sizeof(char *) * (size_t)(argc + 1));
    comp_error_clear();
    rc = fn(argc, cp);
  }
  free(cp);
  fflush(stdout);
  fflush(stderr);
  dup2(o1, 1);
  dup2(o2, 2);
  close(o1);
  close(o2);
  comp_log_init(rank, quiet); /* a command's --quiet must not outlive it */
  int all = rc;
  MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, comm);
  if (all && !rc) comp_error_set(COMP_ERR_INTERNAL, "a command failed on another rank");
  return all;
}

/* Replace the recorded message (a command's) by one that says which cell and step failed. */
static comp_status cell_error(const comp_sweep_cell *c, const char *step, const char *log)
{
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", comp_error_message());
  comp_error_clear();
  return comp_error_set(COMP_ERR_IO, "cell %d %s: %s failed: %s (log %s)", c->index, c->id, step, msg, log);
}

/* ---- one cell ---------------------------------------------------------------------------------------- */

static void say(int quiet, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int quiet, const char *fmt, ...)
{
  if (quiet || comp_log_rank() != 0) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("comp sweep: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  fflush(stderr);
  va_end(ap);
}

/* What to do with one output file (rank 0's view, broadcast): 0 skip (complete), 1 run, 2 run with
 * --force (something incomplete is in the way), 3 run with --resume (a prune journal is there). */
static int plan_file(const char *path, const char *format, bool journal, MPI_Comm comm)
{
  int what = 1;
  if (comp_log_rank() == 0) {
    char    fmt[64], ckpt[4200];
    int64_t complete;
    comp_archive_file_kind(path, fmt, sizeof fmt, &complete);
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", path);
    if (strcmp(fmt, format) == 0 && complete == 1)
      what = 0;
    else if (journal && comp_is_dir(ckpt))
      what = 3;
    else if (comp_is_file(path))
      what = 2;
  }
  MPI_Bcast(&what, 1, MPI_INT, 0, comm);
  return what;
}

static comp_status run_cell(const comp_sweep *sw, const comp_sweep_cell *c, const char *dir, int quiet, MPI_Comm comm)
{
  int  state = 0;
  char cdir[4096], log[4200], path[4200];
  COMP_CALL(comp_sweep_cell_path(dir, c, NULL, cdir, sizeof cdir));
  snprintf(log, sizeof log, "%s/log.txt", cdir);
  if (comp_log_rank() == 0) state = (int)comp_sweep_cell_state(dir, c);
  MPI_Bcast(&state, 1, MPI_INT, 0, comm);
  if (state == COMP_CELL_DONE) {
    say(quiet, "cell %d %s: done already", c->index, c->id);
    return COMP_OK;
  }
  comp_status s = comp_dist_agree(comm, comp_log_rank() == 0 ? comp_sweep_mkdirs(cdir) : COMP_OK);
  int         argc;
  char      **argv = NULL;
  double      t0   = comp_now();
  if (!s && c->variant) {
    int what = plan_file(strcat(strcpy(path, cdir), "/prune.h5"), COMP_ARCHIVE_FORMAT, true, comm);
    if (what == 0) {
      say(quiet, "cell %d %s: prune.h5 complete, not pruned again", c->index, c->id);
    } else {
      say(quiet, "cell %d %s: prune%s (log %s)", c->index, c->id, what == 3 ? " --resume" : "", log);
      s = comp_sweep_prune_argv(sw, c, dir, what == 3, what == 2, &argc, &argv);
      s = comp_dist_agree(comm, s);
      if (!s && run_logged(comp_cmd_prune, argc, argv, log, quiet, comm) != 0) s = cell_error(c, "prune", log);
      comp_sweep_argv_free(&argv);
      if (!s) say(quiet, "cell %d %s: pruned in %.1fs", c->index, c->id, comp_now() - t0);
    }
  }
  for (int e = 0; !s && e < sw->n_evals; e++) {
    snprintf(path, sizeof path, "%s/eval-%s.h5", cdir, sw->evals[e].name);
    int what = plan_file(path, COMP_EVAL_ARCHIVE_FORMAT, false, comm);
    if (what == 0) {
      say(quiet, "cell %d %s: eval-%s.h5 complete, not evaluated again", c->index, c->id, sw->evals[e].name);
      continue;
    }
    double te = comp_now();
    s         = comp_dist_agree(comm, comp_sweep_eval_argv(sw, c, e, dir, what == 2, &argc, &argv));
    if (!s && run_logged(comp_cmd_eval, argc, argv, log, quiet, comm) != 0) s = cell_error(c, sw->evals[e].name, log);
    comp_sweep_argv_free(&argv);
    if (!s && !quiet && comp_log_rank() == 0) {
      cJSON *j = NULL;
      if (comp_eval_archive_describe(path, &j) == COMP_OK)
        say(quiet, "cell %d %s: eval %s ppl %.4f (%.1fs)", c->index, c->id, sw->evals[e].name,
            cJSON_GetObjectItemCaseSensitive(j, "ppl") ? cJSON_GetObjectItemCaseSensitive(j, "ppl")->valuedouble : 0,
            comp_now() - te);
      comp_error_clear();
      cJSON_Delete(j);
    }
  }
  if (!s) s = comp_dist_agree(comm, comp_log_rank() == 0 ? comp_sweep_mark_done(sw, c, dir) : COMP_OK);
  if (!s) say(quiet, "cell %d %s: done in %.1fs", c->index, c->id, comp_now() - t0);
  return s;
}

/* ---- the subcommands ------------------------------------------------------------------------------- */

static comp_status do_list(const comp_sweep *sw, const char *dir, int json)
{
  if (comp_log_rank() != 0) return COMP_OK;
  int n = comp_sweep_cell_count(sw);
  for (int i = 0; i < n; i++) {
    comp_sweep_cell c;
    COMP_CALL(comp_sweep_cell_get(sw, i, &c));
    const char *st = comp_cell_state_name(comp_sweep_cell_state(dir, &c));
    if (!json) {
      printf("%d %s %s\n", i, c.id, st);
      continue;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "index", i);
    cJSON_AddStringToObject(j, "id", c.id);
    cJSON_AddStringToObject(j, "state", st);
    cJSON_AddNumberToObject(j, "ranks", sw->ranks);
    cJSON_AddStringToObject(j, "model", c.model->name);
    cJSON_AddStringToObject(j, "variant", c.variant ? c.variant->name : "dense");
    cJSON_AddNumberToObject(j, "ratio", c.ratio);
    cJSON_AddNumberToObject(j, "seed", (double)c.seed);
    char *t = comp_json_print(j, 0);
    printf("%s\n", t ? t : "{}");
    free(t);
    cJSON_Delete(j);
  }
  fflush(stdout);
  return COMP_OK;
}

static comp_status do_run(const comp_sweep *sw, const char *dir, const char *cell, int quiet, MPI_Comm comm)
{
  int   n = comp_sweep_cell_count(sw), size, first = 0, last = n;
  char *end;
  MPI_Comm_size(comm, &size);
  COMP_CHECK(cell, COMP_ERR_ARG, "comp sweep run needs --cell I (0..%d) or --cell all", n - 1);
  if (strcmp(cell, "all") != 0) {
    long v = strtol(cell, &end, 10);
    COMP_CHECK(*cell && !*end, COMP_ERR_ARG, "--cell %s: give a cell index (0..%d) or all", cell, n - 1);
    COMP_CHECK(v >= 0 && v < n, COMP_ERR_ARG, "--cell %s: out of range (%s has %d cells, 0..%d)", cell, sw->path, n,
               n - 1);
    first = (int)v, last = (int)v + 1;
  }
  if (size != sw->ranks)
    say(quiet, "note: %s asks for %d rank(s) per cell, this run has %d (results do not depend on it)", sw->path,
        sw->ranks, size);
  int todo = 0, total = last - first;
  if (comp_log_rank() == 0)
    for (int i = first; i < last; i++) {
      comp_sweep_cell c;
      if (comp_sweep_cell_get(sw, i, &c) == COMP_OK && comp_sweep_cell_state(dir, &c) != COMP_CELL_DONE) todo++;
    }
  MPI_Bcast(&todo, 1, MPI_INT, 0, comm);
  if (total > 1) say(quiet, "%s: %d cell(s), %d to run, %d done already", sw->path, total, todo, total - todo);
  double      t0              = comp_now();
  int         ran             = 0;
  comp_status s               = COMP_OK;
  int         failed          = 0;
  char        first_err[1200] = "";
  for (int i = first; !s && i < last; i++) {
    comp_sweep_cell c;
    s         = comp_sweep_cell_get(sw, i, &c);
    int state = 0;
    if (!s && comp_log_rank() == 0) state = (int)comp_sweep_cell_state(dir, &c);
    MPI_Bcast(&state, 1, MPI_INT, 0, comm);
    if (!s && total > 1 && state == COMP_CELL_DONE) continue; /* --cell all: skip quietly, counted above */
    if (!s) s = run_cell(sw, &c, dir, quiet, comm);
    if (s && total > 1) { /* --cell all goes on with the other cells; the first failure is reported */
      if (!failed++) snprintf(first_err, sizeof first_err, "%s", comp_error_message());
      say(quiet, "%s", comp_error_message());
      comp_error_clear();
      s = COMP_OK;
    }
    if (!s && total > 1) {
      ran++;
      double el = comp_now() - t0;
      say(quiet, "%d/%d cell(s) run%s, elapsed %.0fs, ETA %.0fs", ran, todo, failed ? " (some failed)" : "", el,
          el / ran * (todo - ran));
    }
  }
  if (!s && failed) s = comp_error_set(COMP_ERR_IO, "%d of %d cell(s) failed; the first: %s", failed, todo, first_err);
  return s;
}

int comp_cmd_sweep(int argc, char **argv)
{
  const char *sub = NULL, *jobs = NULL, *dir = NULL, *cell = NULL;
  int         json = 0, quiet = 0;
  comp_opt    opts[] = {
         {"out-dir", COMP_OPT_STR, &dir, "DIR", "the sweep's output folder (required; created by run)"},
         {"cell", COMP_OPT_STR, &cell, "I|all", "run: the cell index (from list), or all (every cell not done)"},
         {"json", COMP_OPT_FLAG, &json, NULL, "list: one JSON object per cell"},
         {"quiet", COMP_OPT_FLAG, &quiet, NULL, "run: no progress on stderr"},
  };
  const char *cmd = argv[0];
  if (argc > 1 && (strcmp(argv[1], "list") == 0 || strcmp(argv[1], "run") == 0)) {
    sub     = argv[1];
    argv[1] = (char *)cmd, argc--, argv++;
  }
  if (sub && argc > 1 && argv[1][0] != '-') { /* the positional jobs file */
    jobs    = argv[1];
    argv[1] = (char *)cmd, argc--, argv++;
  }
  int rc = comp_args_parse(argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), usage_line, about);
  if (rc) return rc == 1 ? 0 : 2;
  if (!sub) {
    comp_cli_error("sweep", "give a subcommand: comp sweep list|run JOBS.json --out-dir DIR (see comp sweep --help)");
    return 2;
  }
  if (!jobs || !dir) {
    comp_cli_error("sweep", !jobs ? "no jobs file given (comp sweep list|run JOBS.json --out-dir DIR)"
                                  : "--out-dir DIR is required");
    return 2;
  }
  MPI_Comm    comm = MPI_COMM_WORLD;
  comp_sweep *sw   = NULL;
  comp_status s    = comp_dist_agree(comm, comp_sweep_load(jobs, &sw));
  if (!s) s = check_prune_args(sw, dir, comm);
  if (!s) s = comp_dist_agree(comm, comp_log_rank() == 0 ? check_files(sw) : COMP_OK);
  bool run = strcmp(sub, "run") == 0;
  if (!s) s = comp_dist_agree(comm, comp_log_rank() == 0 ? comp_sweep_claim(sw, dir, run) : COMP_OK);
  if (!s) s = run ? do_run(sw, dir, cell, quiet, comm) : do_list(sw, dir, json);
  s = comp_dist_agree(comm, s);
  if (s) comp_cli_error("sweep", comp_error_message());
  comp_sweep_free(&sw);
  return s ? 1 : 0;
}
