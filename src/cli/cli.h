/*
 * cli.h - the subcommands of the comp program (git-style: `comp <command> [options]`).
 *
 * Each command is one function `int comp_cmd_<name>(int argc, char **argv)` in its own file
 * src/cli/cmd_<name>.c. argv[0] is the command name. It returns the process exit code
 * (0 success, 1 error already reported on stderr as one line, 2 usage error). MPI is already
 * initialised when a command runs; commands never call exit() or MPI_Abort themselves.
 */
#ifndef COMP_CLI_H
#define COMP_CLI_H

int comp_cmd_tokenize(int argc, char **argv);
int comp_cmd_eval(int argc, char **argv);
int comp_cmd_generate(int argc, char **argv);
int comp_cmd_bench(int argc, char **argv);
int comp_cmd_bench_prune(int argc, char **argv);
int comp_cmd_export(int argc, char **argv);
int comp_cmd_info(int argc, char **argv);
int comp_cmd_prune(int argc, char **argv);
int comp_cmd_sweep(int argc, char **argv);

#endif
