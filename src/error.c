/* error.c - the per-process error message behind comp/error.h. */
#include "comp/error.h"

#include <stdarg.h>
#include <stdio.h>

static char        g_msg[1024];
static int         g_has_msg;
static comp_status g_last = COMP_OK;

const char *comp_status_str(comp_status s)
{
  static const char *const names[COMP_STATUS_COUNT] = {
#define COMP_X(name, msg) msg,
      COMP_STATUS_LIST(COMP_X)
#undef COMP_X
  };
  if ((int)s < 0 || s >= COMP_STATUS_COUNT) return "unknown status";
  return names[s];
}

comp_status comp_error_set(comp_status s, const char *fmt, ...)
{
  if (s != COMP_OK && !g_has_msg) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    g_has_msg = 1;
    g_last    = s;
  }
  return s;
}

const char *comp_error_message(void) { return g_has_msg ? g_msg : comp_status_str(g_last); }

void comp_error_clear(void)
{
  g_has_msg = 0;
  g_msg[0]  = '\0';
  g_last    = COMP_OK;
}
