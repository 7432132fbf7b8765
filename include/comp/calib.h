/*
 * comp/calib.h - calibration windows drawn from a token stream, reproducible from a seed.
 *
 * COMP calibrates on 10 random windows of 128 tokens (ALGORITHM.md §8, LLM-Pruner's setting). Each
 * window is BOS (or whatever the tokenizer puts before a text: ChatGLM's [gMASK] sop) followed by
 * consecutive tokens of the text at a random offset; the offsets are returned so a run can record
 * them and be replayed.
 *
 *     int64_t start[10]; int32_t tok[10 * 128];
 *     COMP_CALL(comp_calib_sample(ids + 1, n - 1, &bos, 1, 10, 128, seed, start, tok));
 */
#ifndef COMP_CALIB_H
#define COMP_CALIB_H

#include <stdint.h>

#include "comp/error.h"

/* A small deterministic generator (splitmix64) so offsets do not depend on the C library. */
typedef struct comp_rng {
  uint64_t s;
} comp_rng;
void     comp_rng_seed(comp_rng *r, uint64_t seed);
uint64_t comp_rng_next(comp_rng *r);
/* Uniform integer in [0, n) (n > 0), without modulo bias. */
uint64_t comp_rng_below(comp_rng *r, uint64_t n);

/* Draw n_samples windows of len tokens: tok[s*len ..] = the n_prefix ids of prefix (BOS, ChatGLM's
 * [gMASK] sop, or none), then ids[start[s] .. start[s]+len-n_prefix). ids (n_ids) is the text
 * without its leading prefix. Error (COMP_ERR_ARG) when len <= n_prefix or the text holds fewer than
 * n_samples*(len-n_prefix) tokens. */
comp_status comp_calib_sample(const int32_t *ids, int64_t n_ids, const int32_t *prefix, int n_prefix, int n_samples,
                              int64_t len, uint64_t seed, int64_t *start /* (n_samples) */,
                              int32_t *tok /* (n_samples, len) */);

#endif
