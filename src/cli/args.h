/*
 * args.h - a small, table-driven option parser shared by the subcommands.
 *
 * Options are `--name value`, `--name=value` or flags (`--json`). A table row per option gives its
 * type, destination and help text; --help prints the table. Unknown options and bad values produce
 * one error line and exit code 2.
 */
#ifndef COMP_CLI_ARGS_H
#define COMP_CLI_ARGS_H

#include <stdint.h>
#include <stdio.h>

typedef enum { COMP_OPT_STR, COMP_OPT_INT, COMP_OPT_DOUBLE, COMP_OPT_FLAG } comp_opt_type;

typedef struct comp_opt {
  const char   *name; /* without the leading "--"                              */
  comp_opt_type type;
  void         *dst; /* const char **, int64_t *, double *, int *             */
  const char   *metavar;
  const char   *help;
} comp_opt;

/* Returns 0 to go on, 2 on a usage error (message printed on rank 0), 1 if --help was printed
 * (the caller returns 0). `usage` is the first help line, `about` a paragraph after it. */
int comp_args_parse(int argc, char **argv, const comp_opt *opts, int n_opts, const char *usage, const char *about);

/* Print "comp <cmd>: error: <message>" on rank 0 (or record it, see below). */
void comp_cli_error(const char *cmd, const char *msg);

/* While on, comp_cli_error and the option parser record their message with comp_error_set (the first
 * one wins) instead of printing it: a caller that runs a command's checks in-process (comp sweep)
 * reports the outcome itself, as its own one line. */
void comp_cli_capture_errors(int on);

#endif
