/* calib.c - calibration windows (see comp/calib.h). */
#include "comp/calib.h"

void comp_rng_seed(comp_rng *r, uint64_t seed) { r->s = seed; }

uint64_t comp_rng_next(comp_rng *r)
{
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
  z          = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z          = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t comp_rng_below(comp_rng *r, uint64_t n)
{
  uint64_t lim = UINT64_MAX - UINT64_MAX % n, v;
  do v = comp_rng_next(r);
  while (v >= lim);
  return v % n;
}

comp_status comp_calib_sample(const int32_t *ids, int64_t n_ids, const int32_t *prefix, int n_prefix, int n_samples,
                              int64_t len, uint64_t seed, int64_t *start, int32_t *tok)
{
  COMP_CHECK(n_samples > 0 && len >= 2, COMP_ERR_ARG, "calibration needs at least 1 sample of at least 2 tokens");
  COMP_CHECK(n_prefix >= 0 && len > n_prefix, COMP_ERR_ARG,
             "calibration windows of %lld tokens leave none for the text after the %d prefix token(s)", (long long)len,
             n_prefix);
  const int64_t body = len - n_prefix; /* text tokens per window */
  COMP_CHECK(n_ids >= (int64_t)n_samples * body, COMP_ERR_ARG,
             "the calibration text has %lld tokens; %d samples of %lld tokens need at least %lld", (long long)n_ids,
             n_samples, (long long)len, (long long)n_samples * body);
  comp_rng r;
  comp_rng_seed(&r, seed);
  for (int s = 0; s < n_samples; s++) {
    start[s]     = (int64_t)comp_rng_below(&r, (uint64_t)(n_ids - body + 1));
    int32_t *out = tok + (int64_t)s * len;
    for (int k = 0; k < n_prefix; k++) *out++ = prefix[k];
    for (int64_t t = 0; t < body; t++) out[t] = ids[start[s] + t];
  }
  return COMP_OK;
}
