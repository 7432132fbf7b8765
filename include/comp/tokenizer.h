/*
 * comp/tokenizer.h - tokenizers in C, exact to their reference implementations.
 *
 * Supported: llama2.c tokenizer.bin (run.c encode: BOS, dummy-prefix space, byte fallback,
 * highest-score merges) and Hugging Face tokenizer.json of the Llama/SentencePiece kind (BPE with
 * merges by rank, byte_fallback, Prepend/Replace "▁" normalizer, special tokens matched in the raw
 * text, TemplateProcessing BOS). Both encoders run in O(n log n) (heap over adjacent pairs).
 * Anything else in a tokenizer.json gives a clear "not supported" error naming the component.
 */
#ifndef COMP_TOKENIZER_H
#define COMP_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "comp/error.h"

typedef struct comp_tokenizer comp_tokenizer;

/* A path ending in .json is a tokenizer.json; anything else a llama2.c tokenizer.bin (vocab_size
 * from the model, since that format stores no count). */
comp_status comp_tokenizer_load(const char *path, int vocab_size, comp_tokenizer **out);
void        comp_tokenizer_destroy(comp_tokenizer **t);

/* Encode len bytes of UTF-8. add_special: what the tokenizer adds by default (BOS). *ids malloc'd. */
comp_status comp_tokenizer_encode(const comp_tokenizer *t, const char *text, size_t len, int add_special,
                                  int32_t **ids, int64_t *n_ids);
/* Decode ids to UTF-8 as the reference decoder does. *out malloc'd and NUL-terminated. */
comp_status comp_tokenizer_decode(const comp_tokenizer *t, const int32_t *ids, int64_t n, int skip_special, char **out,
                                  size_t *out_len);
int         comp_tokenizer_vocab_size(const comp_tokenizer *t);
int         comp_tokenizer_bos(const comp_tokenizer *t); /* -1 if none */
int         comp_tokenizer_eos(const comp_tokenizer *t); /* -1 if none */
const char *comp_tokenizer_kind(const comp_tokenizer *t);

#endif
