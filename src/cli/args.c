/* args.c - see args.h */
#include "args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "comp/error.h"
#include "comp/log.h"

static int g_capture;

void comp_cli_capture_errors(int on) { g_capture = on; }

void comp_cli_error(const char *cmd, const char *msg)
{
  if (g_capture)
    comp_error_set(COMP_ERR_ARG, "%s", msg);
  else if (comp_log_rank() == 0)
    fprintf(stderr, "comp %s: error: %s\n", cmd, msg);
}

static void print_help(const comp_opt *opts, int n, const char *usage, const char *about)
{
  if (comp_log_rank() != 0) return;
  printf("usage: %s\n\n%s\n\noptions:\n", usage, about);
  for (int i = 0; i < n; i++) {
    char left[64];
    snprintf(left, sizeof left, "--%s%s%s", opts[i].name, opts[i].metavar ? " " : "",
             opts[i].metavar ? opts[i].metavar : "");
    printf("  %-24s ", left);
    for (const char *c = opts[i].help; *c; c++) /* continuation lines line up under the first */
      if (*c == '\n')
        printf("\n%27s", "");
      else
        putchar(*c);
    putchar('\n');
  }
  printf("  %-24s %s\n", "--help", "show this help and exit");
}

int comp_args_parse(int argc, char **argv, const comp_opt *opts, int n_opts, const char *usage, const char *about)
{
  const char *cmd = argv[0];
  char        msg[512];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      print_help(opts, n_opts, usage, about);
      return 1;
    }
    if (strncmp(a, "--", 2) != 0) {
      snprintf(msg, sizeof msg, "unexpected argument '%s' (see comp %s --help)", a, cmd);
      comp_cli_error(cmd, msg);
      return 2;
    }
    const char     *name = a + 2, *eq = strchr(name, '=');
    size_t          nl = eq ? (size_t)(eq - name) : strlen(name);
    const comp_opt *o  = NULL;
    for (int k = 0; k < n_opts; k++)
      if (strlen(opts[k].name) == nl && strncmp(opts[k].name, name, nl) == 0) o = &opts[k];
    if (!o) {
      snprintf(msg, sizeof msg, "unknown option --%.*s (see comp %s --help)", (int)nl, name, cmd);
      comp_cli_error(cmd, msg);
      return 2;
    }
    if (o->type == COMP_OPT_FLAG) {
      if (eq) {
        snprintf(msg, sizeof msg, "option --%s takes no value", o->name);
        comp_cli_error(cmd, msg);
        return 2;
      }
      *(int *)o->dst = 1;
      continue;
    }
    const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!val) {
      snprintf(msg, sizeof msg, "option --%s needs a value", o->name);
      comp_cli_error(cmd, msg);
      return 2;
    }
    char *end = NULL;
    errno     = 0;
    switch (o->type) {
    case COMP_OPT_STR:
      *(const char **)o->dst = val;
      break;
    case COMP_OPT_INT: {
      long long v = strtoll(val, &end, 10);
      if (errno || !*val || *end) {
        snprintf(msg, sizeof msg, "option --%s needs an integer, got '%s'", o->name, val);
        comp_cli_error(cmd, msg);
        return 2;
      }
      *(int64_t *)o->dst = v;
      break;
    }
    case COMP_OPT_DOUBLE: {
      double v = strtod(val, &end);
      if (errno || !*val || *end) {
        snprintf(msg, sizeof msg, "option --%s needs a number, got '%s'", o->name, val);
        comp_cli_error(cmd, msg);
        return 2;
      }
      *(double *)o->dst = v;
      break;
    }
    case COMP_OPT_FLAG:
      break;
    }
  }
  return 0;
}
