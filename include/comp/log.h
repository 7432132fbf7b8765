/*
 * comp/log.h - rank-aware messages and progress with ETA on stderr.
 *
 * Only rank 0 prints (comp_log_init tells this module which rank it is). Progress lines are
 * rate-limited to one a second plus the final one, so long runs show where they are and when they
 * will end without flooding batch logs.
 *
 *     comp_progress p; comp_progress_start(&p, "eval", n_windows);
 *     for (...) { ...; comp_progress_step(&p, 1); }
 *     comp_progress_end(&p);
 */
#ifndef COMP_LOG_H
#define COMP_LOG_H

#include <stdint.h>

void comp_log_init(int rank, int quiet);
int  comp_log_rank(void);
int  comp_log_quiet(void);
/* "comp: <message>\n" on stderr, rank 0 only (unless quiet). */
void comp_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef struct comp_progress {
  const char *what;
  int64_t     total, done;
  double      t0, last;
} comp_progress;

void comp_progress_start(comp_progress *p, const char *what, int64_t total);
void comp_progress_step(comp_progress *p, int64_t n);
void comp_progress_end(comp_progress *p);

#endif
