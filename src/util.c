/* util.c - see comp/util.h */
#include "comp/util.h"

#include <errno.h>
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

/* A "Vm...:" line of /proc/self/status in bytes, 0 if unknown. */
static int64_t proc_status_kb(const char *key)
{
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return 0;
  char    line[256];
  int64_t kb = 0;
  size_t  kl = strlen(key);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, key, kl) == 0) kb = strtoll(line + kl, NULL, 10);
  fclose(f);
  return kb * 1024;
}

int64_t comp_peak_rss(void) { return proc_status_kb("VmHWM:"); }

int64_t comp_current_rss(void) { return proc_status_kb("VmRSS:"); }
