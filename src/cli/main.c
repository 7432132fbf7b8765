/*
 * main.c - the comp program: `comp <command> [options]`, git-style.
 *
 * main() is the only place that initialises and finalises MPI and that decides the exit code.
 * Commands agree on their status across ranks before returning, so a failure never leaves ranks
 * waiting in a collective; MPI_Abort is kept for the case where that agreement itself is impossible.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "comp/log.h"
#include "comp/masksolve.h"
#include "comp/version.h"

static const struct {
  const char *name;
  int (*fn)(int, char **);
  const char *summary;
} commands[] = {
    {"prune", comp_cmd_prune, "COMP structured pruning (or a baseline) of a model into one HDF5 archive"},
    {"eval", comp_cmd_eval, "perplexity of a model on a text (windowed protocol, MPI-distributed)"},
    {"generate", comp_cmd_generate, "greedy generation from a prompt"},
    {"tokenize", comp_cmd_tokenize, "token ids of a text (to check tokenizers)"},
    {"bench", comp_cmd_bench, "forward-pass speed against the measured SGEMM peak"},
    {"bench-prune", comp_cmd_bench_prune, "stage C of one synthetic layer of true shape: seconds, GFLOP/s, memory"},
    {"export", comp_cmd_export, "a pruning archive as a Hugging Face checkpoint (original architecture)"},
    {"info", comp_cmd_info, "what a pruning or eval archive holds (layers, kept columns, /prune records)"},
    {"sweep", comp_cmd_sweep, "list / run the cells of a jobs file (models x variants x ratios x seeds)"},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *f)
{
  fprintf(f,
          "comp %s (%s) - COMP structured pruning for LLMs, MPI-distributed\n\n"
          "usage: [mpiexec -n P] comp <command> [options]   (comp <command> --help for its options)\n\ncommands:\n",
          COMP_VERSION, comp_git_commit());
  for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
  /* Run without mpiexec (a singleton), Open MPI 4 starts a helper daemon first, for a later
   * MPI_Comm_spawn: about 0.7 s of each start here. comp never spawns, so it asks for none
   * (ess_singleton_isolated; the user's own setting wins, and other MPIs ignore the variable). */
  setenv("OMPI_MCA_ess_singleton_isolated", "1", 0);
  MPI_Init(&argc, &argv);
  int rank = 0, rc = 2;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  comp_log_init(rank, 0);
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    if (rank == 0) usage(argc < 2 ? stderr : stdout);
    rc = argc < 2 ? 2 : 0;
  } else if (strcmp(argv[1], "--version") == 0) {
    if (rank == 0) printf("comp %s (%s)\n", COMP_VERSION, comp_git_commit());
    rc = 0;
  } else {
    int found = 0;
    for (int i = 0; i < N_COMMANDS; i++)
      if (strcmp(argv[1], commands[i].name) == 0) {
        rc    = commands[i].fn(argc - 1, argv + 1);
        found = 1;
      }
    if (!found && rank == 0) fprintf(stderr, "comp: error: unknown command '%s' (see comp --help)\n", argv[1]);
  }
  comp_mask_solvers_finalize(); /* PetscFinalize when the petsc back-end started PETSc */
  MPI_Finalize();
  return rc;
}
