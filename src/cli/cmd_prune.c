/* cmd_prune.c - `comp prune`: COMP (or a baseline) on a model, into one HDF5 archive. */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "common.h"
#include "comp/archive.h"
#include "comp/calib.h"
#include "comp/cost.h"
#include "comp/dist.h"
#include "comp/log.h"
#include "comp/masksolve.h"
#include "comp/prune.h"
#include "comp/sha256.h"
#include "comp/text.h"
#include "comp/util.h"
#include "comp/version.h"

/* "--protect 0,1,-1": original layer indices, negative from the end; "none" for no protection. */
/* Option values by name; each list follows its enum's order (comp/prune.h). */
static const char *const orders[]      = {"iterative", "oneshot", NULL};
static const char *const allocs[]      = {"tau", "uniform", NULL};
static const char *const input_kinds[] = {"original", "within-layer", "pruned", NULL};
static const char *const mem_checks[]  = {"error", "warn", "off", NULL};
enum { MEM_CHECK_ERROR, MEM_CHECK_WARN, MEM_CHECK_OFF };
static const char *const gram_shares_modes[] = {"auto", "on", "off", NULL};
enum { GRAM_SHARES_AUTO, GRAM_SHARES_ON, GRAM_SHARES_OFF };

/* *k = the index of v in names, or an error naming the choices. */
static comp_status parse_choice(const char *opt, const char *v, const char *const *names, int *k)
{
  char choices[256] = "";
  for (int i = 0; names[i]; i++) {
    if (strcmp(v, names[i]) == 0) return (*k = i), COMP_OK;
    snprintf(choices + strlen(choices), sizeof choices - strlen(choices), "%s%s", i ? ", " : "", names[i]);
  }
  return comp_error_set(COMP_ERR_ARG, "%s %s: use one of %s", opt, v, choices);
}

static comp_status parse_protect(const char *s, int L, bool *protect)
{
  memset(protect, 0, sizeof(bool) * 1024);
  if (strcmp(s, "none") == 0) return COMP_OK;
  const char *p = s;
  while (*p) {
    char *end;
    long  v = strtol(p, &end, 10);
    COMP_CHECK(end != p, COMP_ERR_ARG, "--protect %s: expected comma-separated layer indices (negative from the end)",
               s);
    if (v < 0) v += L;
    COMP_CHECK(v >= 0 && v < L, COMP_ERR_ARG, "--protect %s: layer index out of range for %d layers", s, L);
    protect[v] = true;
    p          = *end == ',' ? end + 1 : end;
    COMP_CHECK(*end == ',' || *end == '\0', COMP_ERR_ARG, "--protect %s: expected comma-separated integers", s);
  }
  return COMP_OK;
}

/* This node's ranks' predicted peaks summed (comp/cost.h) into *need and what the node has into *b
 * (--mem-budget, else detected; bytes < 0: unknown), on the node's first rank (*first; *nsize the
 * node's rank count). Collective. */
static comp_status node_need(const comp_hparams *hp, const comp_prune_opts *o, double baseline, int64_t budget_opt,
                             MPI_Comm comm, double *need, comp_mem_budget *b, int *nsize, bool *first)
{
  int rank, size, nrank;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  comp_prune_cost pc;
  const int       quiet = comp_log_quiet(); /* the run says what the estimate would (a clamped --remove-layers) */
  comp_log_init(comp_log_rank(), 1);
  comp_status s = comp_prune_cost_estimate(hp, o, size, 0, baseline, &pc);
  comp_log_init(comp_log_rank(), quiet);
  if ((s = comp_dist_agree(comm, s))) return s;
  MPI_Comm node;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &nrank);
  MPI_Comm_size(node, nsize);
  double mine[2] = {rank == 0 ? pc.peak_rank0 : pc.peak_other, (double)comp_current_rss()}, sum[2] = {0, 0};
  MPI_Reduce(mine, sum, 2, MPI_DOUBLE, MPI_SUM, 0, node);
  MPI_Comm_free(&node);
  *first   = nrank == 0;
  *need    = sum[0];
  b->bytes = -1;
  if (!*first) return COMP_OK;
  if (budget_opt > 0) {
    b->bytes = budget_opt;
    snprintf(b->source, sizeof b->source, "--mem-budget");
  } else {
    comp_mem_budget_detect((int64_t)sum[1], b);
  }
  return COMP_OK;
}

/* --gram-shares: whether COND's Grams go into a group's block-cyclic shares (comp_prune_opts'
 * cond_shares). auto: only when some node cannot hold its ranks' predicted peaks with the Grams
 * whole on every rank and the shares lower them (a COND kind with lanczos on groups, a back-end
 * that regrams): the faster path whenever the memory allows it. Collective. */
static comp_status resolve_gram_shares(const comp_hparams *hp, comp_prune_opts *o, int mode, double baseline,
                                       int64_t budget_opt, MPI_Comm comm)
{
  o->cond_shares = mode == GRAM_SHARES_ON;
  if (mode != GRAM_SHARES_AUTO || !comp_mask_solver_regrams(o->solver)) return COMP_OK;
  double          whole = 0, shares = 0;
  comp_mem_budget b;
  int             nsize = 0;
  bool            first = false;
  COMP_CALL(node_need(hp, o, baseline, budget_opt, comm, &whole, &b, &nsize, &first));
  int short_whole = first && b.bytes >= 0 && whole > (double)b.bytes;
  MPI_Allreduce(MPI_IN_PLACE, &short_whole, 1, MPI_INT, MPI_MAX, comm);
  if (!short_whole) return COMP_OK; /* the common case: one estimate */
  o->cond_shares = true;
  COMP_CALL(node_need(hp, o, baseline, budget_opt, comm, &shares, &b, &nsize, &first));
  int lower = first && shares < whole; /* the shares apply here (a COND kind on groups) */
  MPI_Allreduce(MPI_IN_PLACE, &lower, 1, MPI_INT, MPI_MAX, comm);
  o->cond_shares = lower != 0;
  if (o->cond_shares)
    comp_log("memory: cond's Grams in the groups' shares (--gram-shares auto): whole on every rank they would need "
             "more than a node has");
  return COMP_OK;
}

/* The memory preflight (--mem-check): on every node, the sum of its ranks' predicted peaks
 * (comp/cost.h, on the resident baseline this process measured before loading anything) against
 * what the node has (comp_mem_budget_detect, or --mem-budget). Collective. mode MEM_CHECK_ERROR:
 * a node over its budget fails the run before any work, one line naming the node, the figures and
 * the way out; MEM_CHECK_WARN: the same as a warning, and the run goes on. Within 20% of the budget
 * (the cost model's accuracy) is a warning either way. report: only say it (--dry-run, rank 0's node). */
static comp_status mem_preflight(const comp_hparams *hp, const comp_prune_opts *o, double baseline, int mode,
                                 int64_t budget_opt, bool report, MPI_Comm comm)
{
  int rank, nsize;
  MPI_Comm_rank(comm, &rank);
  if (mode == MEM_CHECK_OFF) return COMP_OK;
  double          need  = 0;
  bool            first = false;
  comp_mem_budget b;
  comp_status     s = node_need(hp, o, baseline, budget_opt, comm, &need, &b, &nsize, &first);
  if (s) return s;
  if (first && !(report && rank != 0)) {
    char host[MPI_MAX_PROCESSOR_NAME] = "";
    int  hl                           = 0;
    MPI_Get_processor_name(host, &hl);
    const double GiB = 1024.0 * 1024 * 1024;
    char         what[512];
    snprintf(what, sizeof what, "node %s: its %d rank(s) are predicted to need %.2f GiB together at their peak", host,
             nsize, need / GiB);
    if (b.bytes < 0) {
      if (!report) fprintf(stderr, "comp prune: warning: %s; the memory available is unknown here (no check)\n", what);
    } else if (report) {
      printf("%s, %.2f GiB available (%s): %s\n", what, (double)b.bytes / GiB, b.source,
             need > (double)b.bytes         ? "does NOT fit"
             : need > 0.8 * (double)b.bytes ? "fits, within 20%"
                                            : "fits");
    } else if (need > (double)b.bytes && mode == MEM_CHECK_ERROR) {
      s = comp_error_set(COMP_ERR_NOMEM,
                         "%s, more than the %.2f GiB available (%s); run fewer ranks per node (Slurm: "
                         "--ntasks-per-node) or on nodes with more memory, or pass --mem-check warn to try anyway "
                         "(comp prune --dry-run: the breakdown)",
                         what, (double)b.bytes / GiB, b.source);
    } else if (need > 0.8 * (double)b.bytes) {
      fprintf(stderr, "comp prune: warning: %s, %s the %.2f GiB available (%s)\n", what,
              need > (double)b.bytes ? "more than" : "within 20% of", (double)b.bytes / GiB, b.source);
    } else {
      comp_log("memory: %s, %.2f GiB available (%s)", what, (double)b.bytes / GiB, b.source);
    }
  }
  return comp_dist_agree(comm, s);
}

/* --dry-run: the cost model of comp/cost.h on this process's measured baseline (MPI, BLAS and the
 * tokenizer loaded, as in a real run). Rank 0 prints. */
static comp_status dry_run_report(const char *model, const char *tok_path, const comp_hparams *hp,
                                  const comp_prune_opts *o, int ranks, const char *calib, int json, MPI_Comm comm)
{
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (rank != 0) return comp_dist_agree(comm, COMP_OK);
  char path[4096];
  if (tok_path)
    snprintf(path, sizeof path, "%s", tok_path);
  else if (comp_is_dir(model))
    snprintf(path, sizeof path, "%s/tokenizer.json", model);
  else
    snprintf(path, sizeof path, "%.*s/tokenizer.bin", strrchr(model, '/') ? (int)(strrchr(model, '/') - model) : 1,
             strrchr(model, '/') ? model : ".");
  comp_tokenizer *t = NULL;
  if (comp_is_file(path) && comp_tokenizer_load(path, (int)hp->n_vocab, &t)) comp_error_clear();
  double a[64 * 64], b[64 * 64], c[64 * 64]; /* touch BLAS once, as the run does */
  for (int i = 0; i < 64 * 64; i++) a[i] = b[i] = 1e-3 * i;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 64, 64, 64, 1.0, a, 64, b, 64, 0.0, c, 64);
  { /* and parallel HDF5's MPI-IO path, as the archive writer does (a scratch file, discarded) */
    char          tmp[64];
    comp_archive *ar = NULL;
    snprintf(tmp, sizeof tmp, "/tmp/comp-dry-run-%d.h5", (int)getpid());
    if (comp_archive_create(tmp, MPI_COMM_SELF, COMP_VERSION, comp_git_commit(), &ar) == COMP_OK)
      comp_archive_close(&ar, false);
    comp_error_clear();
  }
  const double baseline = (double)comp_current_rss();
  /* the calibration text is tokenized on rank 0 before stage A: its transient peak is measured by
   * doing it (the ids stay, on every rank) */
  double   ids_bytes = 0, tok_peak = 0;
  char    *text  = NULL;
  size_t   tlen  = 0;
  int32_t *ids   = NULL;
  int64_t  n_ids = 0;
  if (calib && t && comp_text_read(calib, &text, &tlen) == COMP_OK &&
      comp_tokenizer_encode(t, text, tlen, 1, &ids, &n_ids) == COMP_OK) {
    ids_bytes = 4.0 * (double)n_ids;
    tok_peak  = (double)comp_peak_rss();
  }
  comp_error_clear();
  free(text);
  free(ids);
  comp_prune_cost pc;
  comp_status     s = comp_prune_cost_estimate(hp, o, ranks, ids_bytes, baseline, &pc);
  comp_tokenizer_destroy(&t);
  if (s) return comp_dist_agree(comm, s);
  if (tok_peak + pc.mem_model_wide > pc.peak_rank0) pc.peak_rank0 = tok_peak + pc.mem_model_wide;
  const double GiB = 1024.0 * 1024 * 1024, MiB = 1024.0 * 1024;
  printf("dry run: %s  (%s, L %lld, D %lld, F %lld, V %lld; %lld parameters, %lld per layer)\n", model,
         comp_arch_get(hp->arch)->name, (long long)hp->n_layer, (long long)hp->n_embd, (long long)hp->n_ff,
         (long long)hp->n_vocab, (long long)pc.n_params, (long long)pc.layer_params);
  printf("ratio %.3f: %d layer(s) removed, %d neuron-pruned; %d rank(s), solver %s, %d x %lld calibration tokens\n",
         o->ratio, pc.n_remove, pc.n_prunable, ranks, o->solver->name, o->calib_samples, (long long)o->calib_len);
  if (o->cond_shares) printf("cond's Grams in the groups' block-cyclic shares (--gram-shares)\n");
  printf("memory, predicted peak resident:\n");
  printf("  %-56s %10.1f MiB\n", "baseline (this process: MPI, BLAS, tokenizer)", baseline / MiB);
  printf("  %-56s %10.1f MiB\n", "model-wide tensors, every rank", pc.mem_model_wide / MiB);
  printf("  %-56s %10.1f MiB\n", "calibration token ids, every rank", pc.mem_calib / MiB);
  if (tok_peak > 0)
    printf("  %-56s %10.1f MiB\n", "tokenizing the calibration text, rank 0 (measured peak)", tok_peak / MiB);
  printf("  %-56s %10.1f MiB\n", "stage A, rank 0 (its sequences' rows of every input)", pc.mem_stage_a / MiB);
  printf("  %-56s %10.1f MiB\n", "stage C, one layer (weights, inputs, workspace, Grams)", pc.mem_stage_c_work / MiB);
  printf("  %-56s %10.1f MiB\n", "  of which the largest dense's analysis", pc.mem_analysis / MiB);
  printf("  peak rank 0 %.3f GiB", pc.peak_rank0 / GiB);
  if (ranks > 1) printf(", ranks 1..%d %.3f GiB", ranks - 1, pc.peak_other / GiB);
  printf("\nwork:\n  stage A at most %.3g FLOP (busiest rank %.3g: %d of the %d sequences)\n  stage C %.3g FLOP (%.3g "
         "per layer; busiest rank %d layer(s): %.3g)\n",
         pc.flops_stage_a, pc.flops_stage_a_per_rank, pc.stage_a_seqs_per_rank, o->calib_samples, pc.flops_stage_c,
         pc.flops_stage_c_per_layer, pc.layers_per_rank, pc.layers_per_rank * pc.flops_stage_c_per_layer);
  if (json) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", model);
    cJSON_AddStringToObject(j, "solver", o->solver->name);
    struct {
      const char *k;
      double      v;
    } f[] = {{"ranks", ranks},
             {"ratio", o->ratio},
             {"calib_samples", o->calib_samples},
             {"calib_len", (double)o->calib_len},
             {"n_remove", pc.n_remove},
             {"n_prunable", pc.n_prunable},
             {"n_params", (double)pc.n_params},
             {"baseline_bytes", baseline},
             {"model_wide_bytes", pc.mem_model_wide},
             {"stage_a_bytes", pc.mem_stage_a},
             {"stage_c_layer_bytes", pc.mem_stage_c_work},
             {"peak_rank0_bytes", pc.peak_rank0},
             {"peak_other_bytes", pc.peak_other},
             {"flops_stage_a", pc.flops_stage_a},
             {"flops_stage_a_per_rank", pc.flops_stage_a_per_rank},
             {"flops_stage_c", pc.flops_stage_c},
             {"flops_stage_c_per_layer", pc.flops_stage_c_per_layer},
             {"layers_per_rank", pc.layers_per_rank}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) cJSON_AddNumberToObject(j, f[i].k, f[i].v);
    char *txt = comp_json_print(j, 0);
    printf("%s\n", txt);
    free(txt);
    cJSON_Delete(j);
  }
  fflush(stdout);
  return comp_dist_agree(comm, COMP_OK);
}

/* Pull the back-end options ("-mask_ksp_rtol 1e-12", PETSc style: one dash, prefix mask_, an
 * optional value) out of argv into opts; the rest stays in argv for comp_args_parse. */
static comp_status take_solver_options(int *argc, char **argv, char *opts, size_t cap)
{
  int out = 1;
  opts[0] = '\0';
  for (int i = 1; i < *argc; i++) {
    if (strncmp(argv[i], "-mask_", 6) != 0) {
      argv[out++] = argv[i];
      continue;
    }
    char *end;
    bool  has_val = i + 1 < *argc && (argv[i + 1][0] != '-' || (strtod(argv[i + 1], &end), *end == '\0'));
    int   w       = snprintf(opts + strlen(opts), cap - strlen(opts), "%s%s%s%s", opts[0] ? " " : "", argv[i],
                     has_val ? " " : "", has_val ? argv[i + 1] : "");
    if (w < 0 || strlen(opts) + 1 >= cap) return comp_error_set(COMP_ERR_ARG, "solver options too long");
    i += has_val;
  }
  *argc = out;
  return COMP_OK;
}

int comp_cmd_prune(int argc, char **argv)
{
  char        solver_opts[2048];
  comp_status so = take_solver_options(&argc, argv, solver_opts, sizeof solver_opts);
  if (!so) so = comp_mask_solver_set_options(solver_opts);
  if (so) {
    comp_cli_error("prune", comp_error_message());
    return 2;
  }
  /* the back-ends compiled in, one line each (comp/masksolve.h) */
  char solver_help[1024] = "Eq. 5 mask-solve back-end (default lapack):";
  for (int i = 0; i < comp_mask_solver_count(); i++)
    snprintf(solver_help + strlen(solver_help), sizeof solver_help - strlen(solver_help), "\n%s: %s",
             comp_mask_solver_at(i)->name, comp_mask_solver_at(i)->help);
  const char *model = NULL, *tok_path = NULL, *calib = NULL, *out = NULL, *method = NULL, *order = NULL,
             *protect = NULL, *importance = NULL, *cond_eig = NULL, *alloc = NULL, *inputs = NULL, *solver = NULL,
             *sweep_cell = NULL, *sweep_jobs = NULL, *mem_check = NULL, *mem_budget = NULL, *gram_shares = NULL;
  double   ratio = NAN, ridge = 1e-6, p_max = 0.9, tau_first = 1e-6, tau_growth = 1.5, tau_max = 1.0;
  int64_t  ranks_per_layer = 0, remove_layers = -1, samples = 10, len = 128, seed = 0, step_div = 128;
  int      json = 0, quiet = 0, no_tuning = 0, force = 0, resume = 0, dry_run = 0, check_args = 0;
  char     model_help[320];
  comp_opt opts[] = {
      {"model", COMP_OPT_STR, &model, "PATH",
       comp_cli_model_help(model_help, sizeof model_help, " or llama2.c .bin checkpoint (required)")},
      {"tokenizer", COMP_OPT_STR, &tok_path, "PATH", "tokenizer.json or tokenizer.bin (default: beside the model)"},
      {"ratio", COMP_OPT_DOUBLE, &ratio, "P", "fraction of all parameters to remove, in (0, 1) (required)"},
      {"calib", COMP_OPT_STR, &calib, "FILE", "calibration text (required; UTF-8)"},
      {"out", COMP_OPT_STR, &out, "A.h5",
       "the archive to write (required; written as A.h5.tmp, renamed when complete)"},
      {"force", COMP_OPT_FLAG, &force, NULL,
       "overwrite an existing archive (and discard an interrupted run's journal)"},
      {"resume", COMP_OPT_FLAG, &resume, NULL,
       "continue an interrupted run (killed rank, time limit) from its journal A.h5.ckpt/:\n"
       "stages A/B and every finished layer are reused; same options required"},
      {"method", COMP_OPT_STR, &method, "M", "comp (default), shortgpt, wanda-sp, magnitude"},
      {"calib-samples", COMP_OPT_INT, &samples, "N", "calibration windows (default 10)"},
      {"calib-len", COMP_OPT_INT, &len, "T",
       "tokens per calibration window, BOS (the tokenizer's prefix: ChatGLM's [gMASK] sop) first (default 128)"},
      {"seed", COMP_OPT_INT, &seed, "S", "seed of the calibration offsets (default 0; offsets are recorded)"},
      {"remove-layers", COMP_OPT_INT, &remove_layers, "N",
       "layers removed in stage A (default 2, lowered on models too small for it); clamped so removal never "
       "exceeds the budget; more than the unprotected layers less one is an error"},
      {"layer-order", COMP_OPT_STR, &order, "K", "iterative (default: recompute Eq. 3 after each removal) or oneshot"},
      {"protect", COMP_OPT_STR, &protect, "LIST",
       "layers never neuron-pruned, comma-separated, negative from the end (default 0,1,-1; or none)"},
      {"importance", COMP_OPT_STR, &importance, "K",
       "neuron importance: cond (Eq. 9, default), cond_fisher, obs, wanda, magnitude"},
      {"cond-eig", COMP_OPT_STR, &cond_eig, "K",
       "how cond/cond_fisher find G's extreme eigenpairs: lanczos (default: Lanczos for the largest,\n"
       "shift-invert Lanczos through one Cholesky factor for the smallest, to a Ritz residual of\n"
       "1e-11; falls back to tridiag when 320 steps do not converge) or tridiag (one dense\n"
       "tridiagonal reduction per solve, the direct method; the same pruned weights on the shared\n"
       "models, 5.6x slower on a LLaMA-2-7B layer: bench/results/cond-tridiag)"},
      {"neuron-allocation", COMP_OPT_STR, &alloc, "K",
       "tau (Algorithm 1 variance threshold, default) or uniform (same fraction per dense)"},
      {"inputs", COMP_OPT_STR, &inputs, "K",
       "dense inputs X': original (default: X' = X, what the unpruned layer feeds\n"
       "each dense); within-layer (X' from the partially pruned layer, denses in forward\n"
       "order, re-pruned for every tau); pruned (the layer's input from the model pruned\n"
       "so far; this chains the layers, so rank 0 prunes them all, in order)"},
      {"no-mask-tuning", COMP_OPT_FLAG, &no_tuning, NULL,
       "ablation: the same allocation, but the kept columns keep scale 1 (no Eq. 5 refit)"},
      {"solver", COMP_OPT_STR, &solver, "NAME", solver_help},
      {"ranks-per-layer", COMP_OPT_INT, &ranks_per_layer, "K",
       "ranks that share one layer in stage C (Gram panels and Fisher samples split over\n"
       "them, mask solves on their communicator, e.g. a scalapack grid, and with scalapack\n"
       "the cond/obs importance's factor too); default: ranks / layers to prune when ranks\n"
       "outnumber them, else 1"},
      {"ridge", COMP_OPT_DOUBLE, &ridge, "EPS", "ridge λ = EPS·mean(diag G) (default 1e-6)"},
      {"p-max", COMP_OPT_DOUBLE, &p_max, "P", "largest per-layer ratio in Eq. 10 (default 0.9)"},
      {"step-div", COMP_OPT_INT, &step_div, "K", "pruning step s_j = max(1, round(d_in / K)) (default 128)"},
      {"tau-first", COMP_OPT_DOUBLE, &tau_first, "T", "first non-zero τ of the grid (default 1e-6)"},
      {"tau-growth", COMP_OPT_DOUBLE, &tau_growth, "G", "τ grid factor (default 1.5)"},
      {"tau-max", COMP_OPT_DOUBLE, &tau_max, "T",
       "last τ of the grid; beyond it every step the guard allows (default 1)"},
      {"dry-run", COMP_OPT_FLAG, &dry_run, NULL,
       "print the predicted peak memory per rank and the FLOPs per phase for these options,\n"
       "this rank count (mpiexec -n P) and --solver, from config.json alone (no weights), and exit"},
      {"mem-check", COMP_OPT_STR, &mem_check, "MODE",
       "before any work, each node's predicted peak memory (the --dry-run model, summed over\n"
       "the node's ranks) against what the node has (MemAvailable, the cgroup limits,\n"
       "Slurm's allocation): error (default: fail at once, one line), warn (say so, go on), off"},
      {"mem-budget", COMP_OPT_STR, &mem_budget, "SIZE",
       "the memory per node that --mem-check compares with instead of the detected (e.g. 64G)"},
      {"gram-shares", COMP_OPT_STR, &gram_shares, "MODE",
       "cond/cond_fisher (lanczos) on groups with --solver scalapack: WtW, each Fisher sample's\n"
       "Gram and G in the group's block-cyclic shares (d^2/ranks doubles each, no whole (d,d) on\n"
       "any rank; each sample's factor on the group's grid, slower: bench/results/cond-shares)\n"
       "or whole on every rank (the samples split over the group). auto (default): in shares only\n"
       "when a node cannot hold the whole ones (--mem-budget or detected); on; off. --importance\n"
       "obs builds G in shares always (same speed; -mask_gram replicated: never)"},
      {"sweep-cell", COMP_OPT_STR, &sweep_cell, "ID",
       "provenance: the sweep cell this run belongs to, recorded in /prune (set by comp sweep run)"},
      {"sweep-jobs", COMP_OPT_STR, &sweep_jobs, "FILE",
       "provenance: the sweep's jobs file, recorded in /prune (set by comp sweep run)"},
      {"check-args", COMP_OPT_FLAG, &check_args, NULL,
       "only check the options (names, values, choices), load nothing, and exit 0 if they are\n"
       "valid (comp sweep uses it before any work; --protect is checked against the model later)"},
      {"json", COMP_OPT_FLAG, &json, NULL, "print one JSON object with the outcome as the last stdout line"},
      {"quiet", COMP_OPT_FLAG, &quiet, NULL, "no progress on stderr"},
  };
  int rc = comp_args_parse(
      argc, argv, opts, (int)(sizeof opts / sizeof opts[0]),
      "mpiexec -n P comp prune --model M --ratio R --calib FILE --out A.h5 [options] [--json]",
      "Structured pruning without fine-tuning (COMP, arXiv:2501.15255, as ../shared/docs/ALGORITHM.md specifies):\n"
      "  A. all ranks, each on its share of the calibration windows: layer importance (Eq. 3), iterative\n"
      "     removal of the least important layer;\n"
      "  B. per-layer ratios of the remaining unprotected layers (Eq. 10);\n"
      "  C. all ranks, layers balanced over ranks: per dense, input-neuron importance and mask tuning by\n"
      "     least squares (Eq. 5, ridge + prefix Cholesky), allocated by Algorithm 1's variance threshold.\n"
      "Baselines in the same tool: shortgpt, wanda-sp, magnitude. The archive holds the compact pruned\n"
      "model and the whole run record; evaluate it with `comp eval --model A.h5`, export it with\n"
      "`comp export`, summarise it with `comp info`. The result does not depend on the rank count.\n"
      "Every finished layer is committed to the journal A.h5.ckpt/ at once; after a kill, rerun the\n"
      "same command with --resume (any rank count) to finish with the same archive.\n"
      "Back-end options pass through with one dash and the prefix mask_ (PETSc style), e.g.\n"
      "  --solver petsc -mask_ksp_rtol 1e-12 -mask_ksp_max_it 5000");
  if (rc) return rc == 1 ? 0 : 2;
  if (quiet) comp_log_init(comp_log_rank(), 1);
  const double    base_rss = (double)comp_current_rss(); /* before any model data: the preflight's baseline */
  MPI_Comm        comm     = MPI_COMM_WORLD;
  int             rank, size;
  comp_model     *m = NULL;
  comp_tokenizer *t = NULL;
  int32_t *ids = NULL, *tok = NULL, pre[COMP_CLI_PREFIX_MAX]; /* pre (n_pre): the ids before each window's text */
  int64_t  n_ids = 0;
  int      n_pre = 0;
  char     used_tok[4096], sha[65] = "";
  comp_prune_opts   o;
  comp_prune_result r;
  char             *options_json = NULL;
  double            t0           = comp_now();
  memset(&r, 0, sizeof r);
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  comp_status s        = COMP_OK;
  int         mem_mode = MEM_CHECK_ERROR, shares_mode = GRAM_SHARES_AUTO;
  int64_t     mem_bytes = 0;
  if (dry_run && isnan(ratio)) ratio = 0.2;
  if (dry_run && !model)
    s = comp_error_set(COMP_ERR_ARG, "--dry-run needs --model (config.json is enough)");
  else if (!dry_run && (!model || !calib || !out || isnan(ratio)))
    s = comp_error_set(COMP_ERR_ARG, "--model, --ratio, --calib and --out are required (see comp prune --help)");
  else if (!(ratio > 0 && ratio < 1))
    s = comp_error_set(COMP_ERR_ARG, "--ratio %g: must be inside (0, 1)", ratio);
  else if (samples < 1 || len < 2)
    s = comp_error_set(COMP_ERR_ARG, "--calib-samples must be >= 1 and --calib-len >= 2");
  else if (step_div < 1 || !(ridge > 0) || !(p_max > 0 && p_max <= 1) || !(tau_growth > 1) || !(tau_first > 0))
    s = comp_error_set(COMP_ERR_ARG, "bad solver option (need --step-div >= 1, --ridge > 0, 0 < --p-max <= 1, "
                                     "--tau-first > 0, --tau-growth > 1)");
  else if (remove_layers < -1)
    s = comp_error_set(COMP_ERR_ARG, "--remove-layers must be >= 0");
  else if (seed < 0)
    s = comp_error_set(COMP_ERR_ARG, "--seed must be >= 0");
  else if (gram_shares && (s = parse_choice("--gram-shares", gram_shares, gram_shares_modes, &shares_mode))) {
    /* s says why */
  } else if (mem_check && (s = parse_choice("--mem-check", mem_check, mem_checks, &mem_mode)) != COMP_OK) {
    /* s says why */
  } else if (mem_budget && comp_parse_size(mem_budget, &mem_bytes)) {
    char why[512];
    snprintf(why, sizeof why, "%s", comp_error_message());
    comp_error_clear(); /* the first message stands otherwise */
    s = comp_error_set(COMP_ERR_ARG, "--mem-budget %s", why);
  } else if (ranks_per_layer < 0 || ranks_per_layer > size)
    s = comp_error_set(COMP_ERR_ARG, "--ranks-per-layer %lld: must be in 1..%d (the rank count)",
                       (long long)ranks_per_layer, size);
  else if (!dry_run && !check_args && !force && rank == 0 && comp_is_file(out))
    s = comp_error_set(COMP_ERR_ARG, "%s exists (use --force to overwrite)", out);
  if (!s && check_args) { /* the choices, without a model (the layer count is not known here) */
    comp_prune_opts_default(&o, 1);
    int k = 0;
    if (!s && method) s = comp_prune_method_parse(method, &o.method);
    if (!s && importance) s = comp_importance_parse(importance, &o.importance);
    if (!s && cond_eig) s = comp_eig_parse(cond_eig, &o.cond_eig);
    if (!s && solver) s = comp_mask_solver_parse(solver, &o.solver);
    if (!s && order) s = parse_choice("--layer-order", order, orders, &k);
    if (!s && alloc) s = parse_choice("--neuron-allocation", alloc, allocs, &k);
    if (!s && inputs) s = parse_choice("--inputs", inputs, input_kinds, &k);
    s = comp_dist_agree(comm, s);
    goto end;
  }
  if (!s && !dry_run && rank == 0) { /* fail before the work, not when the archive is written */
    char        dir[4096];
    const char *slash = strrchr(out, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - out) + (slash == out) : 1, slash ? out : ".");
    if (access(dir, W_OK | X_OK) != 0)
      s = comp_error_set(COMP_ERR_IO, "--out %s: the directory %s does not exist or is not writable", out, dir);
  }
  s = comp_dist_agree(comm, s);
  comp_hparams        hp_cfg;
  const comp_hparams *hp = NULL;
  if (!s && dry_run) { /* the configuration alone */
    s  = comp_model_config(model, &hp_cfg);
    hp = &hp_cfg;
  } else if (!s) {
    s = comp_cli_load(model, COMP_WIDE_ON_DEMAND, tok_path, comm, &m, &t, used_tok, sizeof used_tok);
    if (!s) hp = &m->hp;
  }
  s = comp_dist_agree(comm, s);
  if (!s) {
    comp_prune_opts_default(&o, (int)hp->n_layer);
    o.ratio           = ratio;
    o.remove_layers   = (int)remove_layers;
    o.mask_tuning     = !no_tuning;
    o.ridge_eps       = ridge;
    o.p_max           = p_max;
    o.step_div        = (int)step_div;
    o.tau_first       = tau_first;
    o.tau_growth      = tau_growth;
    o.tau_max         = tau_max;
    o.calib_samples   = (int)samples;
    o.calib_len       = len;
    o.seed            = (uint64_t)seed;
    o.resume          = resume;
    o.ranks_per_layer = (int)ranks_per_layer;
    o.force           = force;
    o.sweep_cell      = sweep_cell;
    o.sweep_jobs      = sweep_jobs;
    if (hp->n_layer > 1024) s = comp_error_set(COMP_ERR_UNSUPPORTED, "%s: more than 1024 layers", model);
    if (!s && method) s = comp_prune_method_parse(method, &o.method);
    if (!s && protect) s = parse_protect(protect, (int)hp->n_layer, o.protect);
    if (!s && importance) s = comp_importance_parse(importance, &o.importance);
    if (!s && cond_eig) s = comp_eig_parse(cond_eig, &o.cond_eig);
    if (!s && solver) s = comp_mask_solver_parse(solver, &o.solver);
    int k = 0;
    if (!s && order && !(s = parse_choice("--layer-order", order, orders, &k))) o.order = (comp_layer_order)k;
    if (!s && alloc && !(s = parse_choice("--neuron-allocation", alloc, allocs, &k))) o.alloc = (comp_alloc_kind)k;
    if (!s && inputs && !(s = parse_choice("--inputs", inputs, input_kinds, &k))) o.inputs = (comp_inputs_kind)k;
    if (!s && len > hp->n_ctx)
      s = comp_error_set(COMP_ERR_ARG, "--calib-len %lld is larger than the model's %lld positions", (long long)len,
                         (long long)hp->n_ctx);
    /* the baselines are what they are: no layer removal / tuning knobs */
    if (!s && (o.method == COMP_METHOD_WANDA_SP || o.method == COMP_METHOD_MAGNITUDE)) {
      o.importance  = o.method == COMP_METHOD_WANDA_SP ? COMP_IMP_WANDA : COMP_IMP_MAGNITUDE;
      o.alloc       = COMP_ALLOC_UNIFORM;
      o.mask_tuning = false;
      o.inputs      = COMP_INPUTS_ORIGINAL;
    }
  }
  s = comp_dist_agree(comm, s);
  if (!s) s = resolve_gram_shares(hp, &o, shares_mode, base_rss, mem_bytes, comm);
  if (dry_run) { /* done either way: the report, or the error once (at end:) */
    if (!s) s = dry_run_report(model, tok_path, hp, &o, size, calib, json, comm);
    if (!s && !json) s = mem_preflight(hp, &o, base_rss, mem_mode, mem_bytes, true, comm);
    goto end;
  }
  if (!s) s = mem_preflight(hp, &o, base_rss, mem_mode, mem_bytes, false, comm);
  /* calibration windows: the text tokenized once on rank 0 (BOS first), offsets drawn from the seed */
  if (!s) s = comp_cli_tokenize_file(t, m, calib, comm, &ids, &n_ids);
  if (!s) {
    tok           = malloc(sizeof(int32_t) * (size_t)(samples * len));
    r.calib_start = malloc(sizeof(int64_t) * (size_t)samples);
    if (!tok || !r.calib_start) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
    /* the text's prefix (BOS; ChatGLM's [gMASK] sop), which comp_cli_tokenize_file put first, starts
     * every window; a model without one gets plain text windows */
    n_pre = comp_cli_prefix(t, m, pre, COMP_CLI_PREFIX_MAX);
    if (!s) {
      s = comp_calib_sample(ids + n_pre, n_ids - n_pre, pre, n_pre, (int)samples, len, (uint64_t)seed, r.calib_start,
                            tok);
      if (s) s = comp_error_set(s, "%s: %s", calib, comp_error_message());
    }
  }
  s = comp_dist_agree(comm, s);
  if (!s && rank == 0) s = comp_cli_model_sha256(m, sha); /* the weights as loaded: every shard, in order */
  s = comp_dist_agree(comm, s);
  if (!s) {
    MPI_Bcast(sha, sizeof sha, MPI_CHAR, 0, comm);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", model);
    cJSON_AddStringToObject(j, "tokenizer", used_tok);
    cJSON_AddStringToObject(j, "calib", calib);
    cJSON_AddStringToObject(j, "method", comp_prune_method_name(o.method));
    cJSON_AddNumberToObject(j, "ratio", ratio);
    cJSON_AddNumberToObject(j, "calib_samples", (double)samples);
    cJSON_AddNumberToObject(j, "calib_len", (double)len);
    cJSON *cp = cJSON_AddArrayToObject(j, "calib_prefix"); /* the ids before each window's text */
    for (int k = 0; k < n_pre; k++) cJSON_AddItemToArray(cp, cJSON_CreateNumber(pre[k]));
    cJSON_AddNumberToObject(j, "seed", (double)seed);
    cJSON_AddNumberToObject(j, "remove_layers", (double)remove_layers);
    cJSON_AddStringToObject(j, "layer_order", orders[o.order]);
    cJSON *pl = cJSON_AddArrayToObject(j, "protect");
    for (int l = 0; l < m->hp.n_layer; l++)
      if (o.protect[l]) cJSON_AddItemToArray(pl, cJSON_CreateNumber(l));
    cJSON_AddStringToObject(j, "importance", comp_importance_name(o.importance));
    cJSON_AddStringToObject(j, "cond_eig", comp_eig_name(o.cond_eig));
    cJSON_AddStringToObject(j, "neuron_allocation", allocs[o.alloc]);
    cJSON_AddStringToObject(j, "inputs", input_kinds[o.inputs]);
    cJSON_AddBoolToObject(j, "mask_tuning", o.mask_tuning);
    cJSON_AddStringToObject(j, "solver", o.solver->name);
    cJSON_AddStringToObject(j, "solver_options", comp_mask_solver_options());
    cJSON_AddStringToObject(j, "gram_shares", gram_shares_modes[shares_mode]); /* as asked: a resume may differ */
    cJSON_AddNumberToObject(j, "ridge", o.ridge_eps);
    cJSON_AddNumberToObject(j, "p_max", o.p_max);
    cJSON_AddNumberToObject(j, "step_div", o.step_div);
    cJSON_AddNumberToObject(j, "tau_first", o.tau_first);
    cJSON_AddNumberToObject(j, "tau_growth", o.tau_growth);
    cJSON_AddNumberToObject(j, "tau_max", o.tau_max);
    cJSON *wf = cJSON_AddArrayToObject(j, "weights_files"); /* what model_sha256 hashes, in order */
    for (int i = 0; m->ws && i < comp_wstore_file_count(m->ws); i++)
      cJSON_AddItemToArray(wf, cJSON_CreateString(comp_wstore_file_path(m->ws, i)));
    options_json = comp_json_print(j, 0);
    cJSON_Delete(j);
    comp_log("prune: %s, method %s, ratio %.3f, %lld calibration windows of %lld tokens, %d rank(s)", model,
             comp_prune_method_name(o.method), ratio, (long long)samples, (long long)len, size);
    s = comp_prune_run(m, sha, tok, &o, out, options_json, comm, &r);
  }
  if (s) {
    comp_cli_error("prune", comp_error_message());
  } else if (rank == 0) {
    int kept = 0;
    for (int l = 0; l < r.n_layer; l++) kept += !r.layer[l].removed;
    double ach = (double)r.removed_nominal / (double)r.n_params, str = (double)r.removed_stripped / (double)r.n_params;
    printf("archive %s\nmethod %s  target %.4f  achieved %.4f  (dead rows stripped %.4f)  layers %d -> %d\n", out,
           comp_prune_method_name(o.method), ratio, ach, str, r.n_layer, kept);
    for (int l = 0; l < r.n_layer; l++) {
      const comp_prune_layer_info *li = &r.layer[l];
      if (li->removed) {
        printf("  layer %2d  removed (step %d)\n", l, li->removal_step);
        continue;
      }
      printf("  layer %2d  importance %.5f  target %.4f  achieved %.4f  tau %-9.3g kept", l, li->importance, li->target,
             li->achieved, li->tau);
      for (int j = 0; j < COMP_DENSE_COUNT; j++)
        if (li->kept[j] >= 0) printf(" %s %lld", comp_dense_name((comp_dense_id)j), (long long)li->kept[j]);
      printf("\n");
    }
    if (json) {
      cJSON *j = cJSON_CreateObject();
      cJSON_AddStringToObject(j, "archive", out);
      cJSON_AddStringToObject(j, "model", model);
      cJSON_AddStringToObject(j, "model_sha256", sha);
      cJSON_AddStringToObject(j, "method", comp_prune_method_name(o.method));
      cJSON_AddNumberToObject(j, "ratio_target", ratio);
      cJSON_AddNumberToObject(j, "ratio_achieved", ach);
      cJSON_AddNumberToObject(j, "ratio_achieved_stripped", str);
      cJSON_AddNumberToObject(j, "n_params", (double)r.n_params);
      cJSON_AddNumberToObject(j, "removed_params", (double)r.removed_nominal);
      cJSON_AddNumberToObject(j, "layers", r.n_layer);
      cJSON_AddNumberToObject(j, "layers_kept", kept);
      cJSON_AddNumberToObject(j, "layers_removed_asked", r.n_removed_asked);
      cJSON *ro = cJSON_AddArrayToObject(j, "removed_layers");
      for (int i = 0; i < r.n_removed; i++) cJSON_AddItemToArray(ro, cJSON_CreateNumber(r.removal_order[i]));
      cJSON_AddNumberToObject(j, "ranks", size);
      cJSON_AddNumberToObject(j, "seconds", comp_now() - t0);
      cJSON_AddNumberToObject(j, "peak_rss_bytes_rank0", (double)comp_peak_rss());
      cJSON_AddStringToObject(j, "comp_commit", comp_git_commit());
      cJSON_AddItemToObject(j, "options", cJSON_Parse(options_json));
      char *str2 = comp_json_print(j, 0);
      printf("%s\n", str2);
      free(str2);
      cJSON_Delete(j);
    }
    fflush(stdout);
  }
end:
  if (s && (dry_run || check_args)) comp_cli_error("prune", comp_error_message());
  free(options_json);
  comp_prune_result_free(&r);
  free(tok);
  free(ids);
  comp_tokenizer_destroy(&t);
  comp_model_destroy(&m);
  return s ? 1 : 0;
}
