/*
 * comp/util.h - small process utilities: whole-file reads, wall clock, peak memory, sha256, JSON text.
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

/* j as JSON text (formatted: cJSON_Print's layout, else one line), malloc'd (free with cJSON_free;
 * NULL when out of memory), every finite number in the fewest digits that read back as the same double.
 * cJSON alone prints 15 significant digits whenever they read back within an ulp, so a value it wrote
 * (a perplexity, a loss) could come back one ulp off. */
struct cJSON;
char *comp_json_print(const struct cJSON *j, int formatted);
/* v in the fewest of 15, 16 or 17 significant digits ("%.*g") that strtod reads back as v. */
void comp_double_text(double v, char buf[40]);

/* "SIZE" -> bytes: a number with an optional binary suffix K, M, G or T (KiB ... TiB; "1.5G",
 * "512M", "4096"). COMP_ERR_ARG on anything else or a value that is not positive. */
comp_status comp_parse_size(const char *s, int64_t *bytes);

/* What the ranks on one node may use at their peak, in bytes: the least of
 *   MemAvailable (/proc/meminfo) + node_rss,
 *   every memory-limited cgroup of this process, from its own up to the root (v2: memory.max −
 *   memory.current; v1: memory.limit_in_bytes − memory.usage_in_bytes; reclaimable page cache,
 *   inactive_file of memory.stat, not counted as used) + node_rss,
 *   Slurm's allocation on the node (SLURM_MEM_PER_NODE, else SLURM_MEM_PER_CPU × SLURM_CPUS_ON_NODE;
 *   megabytes),
 * where node_rss is what the node's ranks hold now (it is in the usage the free figures leave out,
 * and in the peaks the budget is compared with). bytes = -1 when none of them could be read. */
typedef struct comp_mem_budget {
  int64_t bytes;
  char    source[256]; /* the limit that set it, e.g. "cgroup /slurm/job_7 memory.max" */
} comp_mem_budget;
void comp_mem_budget_detect(int64_t node_rss, comp_mem_budget *b);
/* The same with /proc and /sys read under root (a test's fake tree; "" is the real one). */
void comp_mem_budget_detect_at(const char *root, int64_t node_rss, comp_mem_budget *b);

#endif
