/*
 * comp/sweep.h - declarative sweeps: the jobs file (jobs/<name>.json), its cells, and their state in
 * an output folder. The `comp sweep` subcommand and slurm/submit are built on it; jobs/README.md is
 * the user's description of the format.
 *
 * ---- The jobs file (JSON; every key below, no others) ---------------------------------------------
 *
 *   name (str), description (str, optional), paper (str, optional, e.g. "Table I"),
 *   ranks (int >= 1: MPI ranks per cell), time (str "HH:MM:SS" or "D-HH:MM:SS": Slurm limit per cell),
 *   models: [{name, path, tokenizer (optional), prune_args (optional list of str)}],
 *   calib: {text, samples (int >= 1), len (int >= 2)},
 *   evals: [{name, text, seq_len (int >= 2), max_windows (optional int >= 0; 0 = all, the protocol;
 *           N = score only the first N windows, recorded in the eval archive)}],
 *   ratios: [float in (0, 1)], variants: [{name, args (list of str: comp prune options)}],
 *   seeds: [int >= 0], dense (bool: also evaluate every unpruned model once).
 *
 * Names are [A-Za-z0-9._+-], without "__", unique in their list; "dense" is not a variant name.
 * Paths and args may contain ${VAR}, expanded from the environment when the file is loaded; a
 * variable that is unset or empty is an error naming it. Options that the sweep itself sets (model,
 * tokenizer, ratio, calib and its samples/len, seed, out, resume, force, json, dry-run, help,
 * sweep-cell, sweep-jobs) are refused in prune_args and variant args.
 *
 * ---- Cells ---------------------------------------------------------------------------------------
 *
 * A cell is one (model, variant, ratio, seed), or one dense (model) cell. Indices are stable: the
 * dense cells first (one per model, in model order, when dense is true), then models x variants x
 * ratios x seeds (the last one fastest). Ids: "<model>__<variant>__r<ratio as %g>__s<seed>",
 * "<model>__dense".
 *
 * ---- The output folder DIR -------------------------------------------------------------------------
 *
 *   DIR/jobs.json                      the jobs file, copied at the first run; a different one is refused
 *   DIR/cells/<id>/prune.h5            the comp prune archive (journal prune.h5.ckpt/ while running)
 *   DIR/cells/<id>/eval-<eval>.h5      the eval archives (comp/eval_archive.h)
 *   DIR/cells/<id>/log.txt             everything the cell's commands printed
 *   DIR/cells/<id>/done                written last: one JSON line {"id", "index", "prune", "evals",
 *                                      "finished", "slurm_job_id", ...}, paths relative to DIR
 *
 * A cell is done when its done marker exists, partial when its folder exists without one, todo
 * otherwise. Nothing here is collective; the file-system functions are meant for one rank.
 */
#ifndef COMP_SWEEP_H
#define COMP_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "comp/error.h"

typedef struct comp_sweep_model {
  char  *name, *path, *tokenizer; /* tokenizer NULL: beside the model */
  int    n_args;
  char **args; /* extra comp prune args for this model */
} comp_sweep_model;

typedef struct comp_sweep_eval {
  char   *name, *text;
  int64_t seq_len;
  int64_t max_windows; /* 0: every window (the protocol); N: only the first N (miniatures) */
} comp_sweep_eval;

typedef struct comp_sweep_variant {
  char  *name;
  int    n_args;
  char **args; /* comp prune args */
} comp_sweep_variant;

typedef struct comp_sweep {
  char               *path;     /* the jobs file as given (for messages)     */
  char               *abs_path; /* absolute (recorded as sweep_jobs)         */
  char               *name, *description, *paper, *time;
  int                 ranks;
  int                 n_models;
  comp_sweep_model   *models;
  char               *calib_text;
  int64_t             calib_samples, calib_len;
  int                 n_evals;
  comp_sweep_eval    *evals;
  int                 n_ratios;
  double             *ratios;
  int                 n_variants;
  comp_sweep_variant *variants;
  int                 n_seeds;
  int64_t            *seeds;
  bool                dense;
} comp_sweep;

typedef struct comp_sweep_cell {
  int                       index;
  const comp_sweep_model   *model;
  const comp_sweep_variant *variant; /* NULL: a dense cell */
  double                    ratio;   /* 0 for dense cells   */
  int64_t                   seed;
  char                      id[256];
} comp_sweep_cell;

typedef enum { COMP_CELL_TODO, COMP_CELL_PARTIAL, COMP_CELL_DONE } comp_cell_state;

/* Parse, validate and expand a jobs file. Errors name the file and the key ("jobs.json: models[1].path:
 * ..."). *out: free with comp_sweep_free. */
comp_status comp_sweep_load(const char *path, comp_sweep **out);
void        comp_sweep_free(comp_sweep **s);

/* ${VAR} expansion of in (malloc'd into *out). where names the key for messages. */
comp_status comp_sweep_expand(const char *where, const char *in, char **out);

int         comp_sweep_cell_count(const comp_sweep *s);
comp_status comp_sweep_cell_get(const comp_sweep *s, int index, comp_sweep_cell *c);

/* DIR/cells/<id>[/name] into buf (name NULL: the folder). Fails when it does not fit. */
comp_status     comp_sweep_cell_path(const char *out_dir, const comp_sweep_cell *c, const char *name, char *buf,
                                     size_t cap);
comp_cell_state comp_sweep_cell_state(const char *out_dir, const comp_sweep_cell *c);
const char     *comp_cell_state_name(comp_cell_state st);

/*
 * comp_sweep_claim - bind the output folder to this jobs file: create DIR (and parents) when create,
 * copy the jobs file to DIR/jobs.json when none is there (atomically: a concurrent claim of the same
 * file wins once), and refuse a DIR/jobs.json whose bytes differ from the jobs file's. With create
 * false a missing DIR or DIR/jobs.json is fine.
 */
comp_status comp_sweep_claim(const comp_sweep *s, const char *out_dir, bool create);

/*
 * The argument vectors of a cell's commands (argv[0] = "prune" / "eval", as comp_cmd_* take them):
 * comp prune of a pruned cell into DIR/cells/<id>/prune.h5 (resume: add --resume; force: add --force),
 * comp eval of eval e on the cell's model (the prune archive, or the model for a dense cell) into
 * DIR/cells/<id>/eval-<name>.h5. *argv: NULL-terminated, free with comp_sweep_argv_free.
 */
comp_status comp_sweep_prune_argv(const comp_sweep *s, const comp_sweep_cell *c, const char *out_dir, bool resume,
                                  bool force, int *argc, char ***argv);
comp_status comp_sweep_eval_argv(const comp_sweep *s, const comp_sweep_cell *c, int e, const char *out_dir, bool force,
                                 int *argc, char ***argv);
void        comp_sweep_argv_free(char ***argv);

/* Write DIR/cells/<id>/done (tmp + rename): one JSON line. */
comp_status comp_sweep_mark_done(const comp_sweep *s, const comp_sweep_cell *c, const char *out_dir);

/* mkdir -p */
comp_status comp_sweep_mkdirs(const char *path);

#endif
