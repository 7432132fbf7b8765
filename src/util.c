/* util.c - see comp/util.h */
#include "comp/util.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

comp_status comp_read_file(const char *path, char **buf, size_t *len)
{
  *buf    = NULL;
  *len    = 0;
  FILE *f = fopen(path, "rb");
  COMP_CHECK(f, COMP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    return comp_error_set(COMP_ERR_IO, "%s: not a regular file", path);
  }
  size_t n = (size_t)st.st_size;
  char  *b = malloc(n + 1);
  if (!b) {
    fclose(f);
    return comp_error_set(COMP_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, n);
  }
  size_t got = n ? fread(b, 1, n, f) : 0;
  fclose(f);
  if (got != n) {
    free(b);
    return comp_error_set(COMP_ERR_IO, "%s: short read (%zu of %zu bytes)", path, got, n);
  }
  b[n] = '\0';
  *buf = b;
  *len = n;
  return COMP_OK;
}

int comp_is_dir(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int comp_is_file(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

double comp_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

comp_status comp_parse_size(const char *s, int64_t *bytes)
{
  char  *end = NULL;
  double v   = s ? strtod(s, &end) : NAN;
  double mul = 1;
  if (end && end != s && *end) {
    switch (toupper((unsigned char)*end)) {
    case 'K':
      mul = 1024.0;
      break;
    case 'M':
      mul = 1024.0 * 1024;
      break;
    case 'G':
      mul = 1024.0 * 1024 * 1024;
      break;
    case 'T':
      mul = 1024.0 * 1024 * 1024 * 1024;
      break;
    default:
      mul = 0;
      break;
    }
    end++;
    if (*end == 'i' && end[1] == 'B')
      end += 2; /* "64GiB" */
    else if (*end == 'B')
      end++; /* "64GB"  */
  }
  COMP_CHECK(end && end != s && *end == '\0' && mul > 0 && isfinite(v) && v * mul >= 1 && v * mul < 9.2e18,
             COMP_ERR_ARG, "%s: expected a size such as 512M, 64G or 1.5T (K, M, G, T: binary units)", s ? s : "");
  *bytes = (int64_t)(v * mul);
  return COMP_OK;
}

/* The first integer after `key` on a line of a "key value" file (/proc/meminfo, /proc/self/status,
 * memory.stat); -1 if none. */
static int64_t file_key(const char *path, const char *key)
{
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char    line[512];
  int64_t v  = -1;
  size_t  kl = strlen(key);
  while (v < 0 && fgets(line, sizeof line, f))
    if (strncmp(line, key, kl) == 0 && (line[kl] == ' ' || line[kl] == ':' || line[kl] == '\t'))
      v = strtoll(line + kl + (line[kl] == ':'), NULL, 10);
  fclose(f);
  return v;
}

/* A "Vm...:" line of /proc/self/status in bytes, 0 if unknown. */
static int64_t proc_status_bytes(const char *key)
{
  int64_t kb = file_key("/proc/self/status", key);
  return kb > 0 ? kb * 1024 : 0;
}

int64_t comp_peak_rss(void) { return proc_status_bytes("VmHWM"); }

int64_t comp_current_rss(void) { return proc_status_bytes("VmRSS"); }

/* A file holding one integer ("max" and unreadable: -1). */
static int64_t file_int(const char *path)
{
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char    buf[64] = "";
  int64_t v       = -1;
  if (fgets(buf, sizeof buf, f) && buf[0] >= '0' && buf[0] <= '9') v = strtoll(buf, NULL, 10);
  fclose(f);
  return v;
}

static void budget_offer(comp_mem_budget *b, int64_t bytes, const char *fmt, const char *a, const char *c)
{
  if (bytes < 0 || (b->bytes >= 0 && bytes >= b->bytes)) return;
  b->bytes = bytes;
  snprintf(b->source, sizeof b->source, fmt, a, c);
}

/* One cgroup directory base + dir ("" the hierarchy's root): limit − (usage − inactive_file) +
 * node_rss when a limit is set. v2 file names, or v1's. */
static void cgroup_level(comp_mem_budget *b, const char *base, const char *dir, bool v2, int64_t node_rss)
{
  char path[8448];
  snprintf(path, sizeof path, "%s%s/%s", base, dir, v2 ? "memory.max" : "memory.limit_in_bytes");
  int64_t lim = file_int(path);
  if (lim <= 0 || lim >= ((int64_t)1 << 60)) return; /* none ("max"; v1: a huge page-rounded number) */
  snprintf(path, sizeof path, "%s%s/%s", base, dir, v2 ? "memory.current" : "memory.usage_in_bytes");
  int64_t used = file_int(path);
  if (used < 0) return;
  snprintf(path, sizeof path, "%s%s/memory.stat", base, dir);
  int64_t cache = file_key(path, v2 ? "inactive_file" : "total_inactive_file");
  if (cache < 0) cache = file_key(path, "inactive_file");
  int64_t free_ = lim - (used - (cache > 0 && cache < used ? cache : 0));
  budget_offer(b, (free_ > 0 ? free_ : 0) + node_rss, "cgroup %s %s", *dir ? dir : "/",
               v2 ? "memory.max" : "memory.limit_in_bytes");
}

/* Every level of cgroup rel (e.g. "/slurm/job_7/step_0") under the hierarchy mounted at base,
 * from the process's own up to the root: a limit anywhere above applies too. */
static void cgroup_levels(comp_mem_budget *b, const char *base, const char *rel, bool v2, int64_t node_rss)
{
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", rel);
  for (bool last = false; !last;) {
    size_t n = strlen(dir);
    while (n > 0 && dir[n - 1] == '/') dir[--n] = '\0';
    last = n == 0;
    cgroup_level(b, base, dir, v2, node_rss);
    char *slash = strrchr(dir, '/');
    if (slash)
      *slash = '\0';
    else
      dir[0] = '\0';
  }
}

void comp_mem_budget_detect_at(const char *root, int64_t node_rss, comp_mem_budget *b)
{
  char path[8448];
  b->bytes     = -1;
  b->source[0] = '\0';
  snprintf(path, sizeof path, "%s/proc/meminfo", root);
  int64_t avail = file_key(path, "MemAvailable");
  if (avail >= 0) budget_offer(b, avail * 1024 + node_rss, "%s%s", "MemAvailable", "");
  /* the process's cgroups: "0::/rel" (v2), "N:memory:/rel" or "N:a,memory,b:/rel" (v1) */
  snprintf(path, sizeof path, "%s/proc/self/cgroup", root);
  FILE *f = fopen(path, "r");
  char  line[4096];
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2              = '\0';
    const char *ctrl = c1 + 1, *rel = c2 + 1;
    if (*ctrl == '\0') { /* v2: pure (/sys/fs/cgroup) or hybrid (/sys/fs/cgroup/unified) */
      snprintf(path, sizeof path, "%s/sys/fs/cgroup/unified/cgroup.controllers", root);
      bool hybrid = comp_is_file(path);
      snprintf(path, sizeof path, "%s/sys/fs/cgroup%s", root, hybrid ? "/unified" : "");
      cgroup_levels(b, path, rel, true, node_rss);
    } else {
      char ctl[256];
      snprintf(ctl, sizeof ctl, ",%s,", ctrl);
      if (!strstr(ctl, ",memory,")) continue;
      snprintf(path, sizeof path, "%s/sys/fs/cgroup/memory", root);
      cgroup_levels(b, path, rel, false, node_rss);
    }
  }
  if (f) fclose(f);
  /* Slurm's allocation (0 means the whole node) */
  const char *per_node = getenv("SLURM_MEM_PER_NODE"), *per_cpu = getenv("SLURM_MEM_PER_CPU"),
             *cpus = getenv("SLURM_CPUS_ON_NODE");
  int64_t mb       = per_node ? strtoll(per_node, NULL, 10) : 0;
  if (mb > 0)
    budget_offer(b, mb * 1024 * 1024, "%s%s", "SLURM_MEM_PER_NODE", "");
  else if (per_cpu && cpus && strtoll(per_cpu, NULL, 10) > 0 && strtoll(cpus, NULL, 10) > 0)
    budget_offer(b, strtoll(per_cpu, NULL, 10) * strtoll(cpus, NULL, 10) * 1024 * 1024, "%s%s",
                 "SLURM_MEM_PER_CPU x SLURM_CPUS_ON_NODE", "");
}

void comp_mem_budget_detect(int64_t node_rss, comp_mem_budget *b) { comp_mem_budget_detect_at("", node_rss, b); }

void comp_double_text(double v, char buf[40])
{
  for (int p = 15; p <= 17; p++) {
    snprintf(buf, 40, "%.*g", p, v);
    if (strtod(buf, NULL) == v) break;
  }
}

/* Number items of the tree from c on as raw text that reads back exactly (comp_double_text). */
static int exact_numbers(cJSON *c)
{
  for (; c; c = c->next) {
    if (cJSON_IsNumber(c) && isfinite(c->valuedouble)) {
      char buf[40];
      comp_double_text(c->valuedouble, buf);
      char *txt = malloc(strlen(buf) + 1);
      if (!txt) return -1;
      c->valuestring = strcpy(txt, buf);
      c->type        = cJSON_Raw | (c->type & ~0xFF);
    }
    if (c->child && exact_numbers(c->child) != 0) return -1;
  }
  return 0;
}

char *comp_json_print(const cJSON *j, int formatted)
{
  cJSON *d   = cJSON_Duplicate(j, 1);
  char  *txt = d && exact_numbers(d) == 0 ? (formatted ? cJSON_Print(d) : cJSON_PrintUnformatted(d)) : NULL;
  cJSON_Delete(d);
  return txt;
}
