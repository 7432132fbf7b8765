/*
 * comp/util.h - small process utilities: whole-file reads, wall clock, peak memory, sha256.
 */
#ifndef COMP_UTIL_H
#define COMP_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "comp/error.h"

/* Read a whole file into a malloc'd, NUL-terminated buffer (*len excludes the NUL). */
comp_status comp_read_file(const char *path, char **buf, size_t *len);

/* 1 if path is a directory, 0 otherwise. */
int comp_is_dir(const char *path);
/* 1 if path names an existing regular file. */
int comp_is_file(const char *path);

/* Monotonic wall clock in seconds. */
double comp_now(void);

/* Peak resident set size of this process in bytes (VmHWM), 0 if unknown. */
int64_t comp_peak_rss(void);
/* Resident set size now (VmRSS), 0 if unknown. */
int64_t comp_current_rss(void);

#endif
