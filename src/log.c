/* log.c - see comp/log.h */
#include "comp/log.h"

#include <stdarg.h>
#include <stdio.h>

#include "comp/util.h"

static int g_rank, g_quiet;

void comp_log_init(int rank, int quiet)
{
  g_rank  = rank;
  g_quiet = quiet;
}

int comp_log_rank(void) { return g_rank; }

int comp_log_quiet(void) { return g_quiet; }

void comp_log(const char *fmt, ...)
{
  if (g_rank != 0 || g_quiet) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("comp: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static void fmt_secs(char *buf, size_t n, double s)
{
  if (s < 60)
    snprintf(buf, n, "%.1fs", s);
  else if (s < 3600)
    snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
  else
    snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

static void report(comp_progress *p, int final)
{
  if (g_rank != 0 || g_quiet) return;
  double now = comp_now(), el = now - p->t0;
  char   e[32], r[32];
  fmt_secs(e, sizeof e, el);
  if (final || p->done <= 0) {
    fprintf(stderr, "comp: %s: %lld/%lld done in %s\n", p->what, (long long)p->done, (long long)p->total, e);
  } else {
    fmt_secs(r, sizeof r, el / (double)p->done * (double)(p->total - p->done));
    fprintf(stderr, "comp: %s: %lld/%lld (%.0f%%) elapsed %s ETA %s\n", p->what, (long long)p->done,
            (long long)p->total, 100.0 * (double)p->done / (double)(p->total ? p->total : 1), e, r);
  }
  p->last = now;
}

void comp_progress_start(comp_progress *p, const char *what, int64_t total)
{
  p->what  = what;
  p->total = total;
  p->done  = 0;
  p->t0 = p->last = comp_now();
}

void comp_progress_step(comp_progress *p, int64_t n)
{
  p->done += n;
  if (comp_now() - p->last >= 1.0 && p->done < p->total) report(p, 0);
}

void comp_progress_end(comp_progress *p) { report(p, 1); }
