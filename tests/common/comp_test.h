/*
 * comp_test.h - a small assertion kit for the C tests (libuv/Redis-sized), plus a .npy reader.
 *
 * A failed CHECK prints file:line and the condition and marks the test failed; the test goes on so
 * one run reports every failure. Tests end with `return comp_test_end();`, which prints
 * "N passed, M failed" and returns 0 or 1. Tests that need ../shared call comp_test_shared(argc, argv)
 * which returns its path or exits 77 (ctest: skipped) with a SKIP line.
 */
#ifndef COMP_TEST_H
#define COMP_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "comp/error.h"

static int comp_test_pass_, comp_test_fail_;

#define CHECK(cond)                                                                                                    \
  do {                                                                                                                 \
    if (cond)                                                                                                          \
      comp_test_pass_++;                                                                                               \
    else {                                                                                                             \
      comp_test_fail_++;                                                                                               \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                                  \
    }                                                                                                                  \
  } while (0)

#define CHECK_MSG(cond, ...)                                                                                           \
  do {                                                                                                                 \
    if (cond)                                                                                                          \
      comp_test_pass_++;                                                                                               \
    else {                                                                                                             \
      comp_test_fail_++;                                                                                               \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                                  \
      fprintf(stderr, __VA_ARGS__);                                                                                    \
      fputc('\n', stderr);                                                                                             \
    }                                                                                                                  \
  } while (0)

#define CHECK_OK(expr)                                                                                                 \
  do {                                                                                                                 \
    comp_status s_ = (expr);                                                                                           \
    CHECK_MSG(s_ == COMP_OK, "%s", comp_error_message());                                                              \
    comp_error_clear();                                                                                                \
  } while (0)

static inline int comp_test_end(void)
{
  printf("%d passed, %d failed\n", comp_test_pass_, comp_test_fail_);
  return comp_test_fail_ ? 1 : 0;
}

static inline const char *comp_test_shared(int argc, char **argv)
{
  const char *p = argc > 1 ? argv[1] : getenv("COMP_SHARED");
  struct stat st;
  if (!p || stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
    printf("SKIP: shared data folder %s not found (put ../shared beside the checkout)\n", p ? p : "(unset)");
    exit(77);
  }
  return p;
}

/* Read a little-endian float32 C-order .npy file. Returns malloc'd data; shape in dims. */
static inline float *comp_test_npy(const char *path, int *ndim, int64_t dims[4])
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char pre[10];
  if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
    fclose(f);
    return NULL;
  }
  size_t hl = pre[6] == 1 ? (size_t)(pre[8] | pre[9] << 8) : 0;
  if (pre[6] != 1) { /* version 2/3: 4-byte header length */
    unsigned char b2[2];
    if (fread(b2, 1, 2, f) != 2) {
      fclose(f);
      return NULL;
    }
    hl = (size_t)(pre[8] | pre[9] << 8 | b2[0] << 16 | b2[1] << 24);
  }
  char *h = calloc(1, hl + 1);
  if (!h || fread(h, 1, hl, f) != hl || !strstr(h, "'<f4'") || strstr(h, "'fortran_order': True")) {
    free(h);
    fclose(f);
    return NULL;
  }
  char   *p = strchr(strstr(h, "'shape'"), '(') + 1;
  int64_t n = 1;
  *ndim     = 0;
  while (*p && *p != ')') {
    char *e;
    long  v = strtol(p, &e, 10);
    if (e == p) break;
    dims[(*ndim)++] = v;
    n *= v;
    p = e;
    while (*p == ',' || *p == ' ') p++;
  }
  free(h);
  float *d = malloc((size_t)n * sizeof(float));
  if (d && fread(d, sizeof(float), (size_t)n, f) != (size_t)n) {
    free(d);
    d = NULL;
  }
  fclose(f);
  return d;
}

/* max_i |a_i - b_i| / max(max_i |b_i|, tiny): error relative to the reference's scale */
static inline double comp_test_rel_err(const float *a, const float *b, int64_t n)
{
  double md = 0, mb = 1e-30;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]);
    md       = d > md ? d : md;
    mb       = fabs((double)b[i]) > mb ? fabs((double)b[i]) : mb;
  }
  return md / mb;
}

#endif
