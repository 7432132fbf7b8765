/*
 * comp/tokenizer.h - tokenizers in C, exact to their reference implementations.
 *
 * Three file formats:
 *  - llama2.c tokenizer.bin (int32 max_token_length, then per token float32 score, int32 length,
 *    bytes), encoded exactly as karpathy/llama2.c run.c encode(): BOS, a dummy-prefix " ", one
 *    symbol per UTF-8 code point (byte fallback id = byte + 3), then repeatedly merge the adjacent
 *    pair whose concatenation is a piece with the highest score, leftmost on ties. Decoded as run.c
 *    decode() (the piece after BOS drops its leading space, <0xXX> pieces become the raw byte).
 *  - Hugging Face tokenizer.json with a BPE model, as @huggingface/tokenizers runs it: added tokens
 *    matched in the raw text first (leftmost, longest), normalizers Sequence / Prepend / Replace /
 *    NFC (already-NFC text only), pre-tokenizers ByteLevel (GPT-2 regex + byte-to-unicode map) /
 *    Metaspace, merges by rank (leftmost on ties), byte_fallback, unk_token, fuse_unk, ignore_merges,
 *    TemplateProcessing / ByteLevel post-processors, and the Llama (Replace, ByteFallback, Fuse,
 *    Strip), ByteLevel and Metaspace decoders. Anything else fails to load with a message naming it.
 *  - SentencePiece tokenizer.model (protobuf ModelProto) of the BPE kind with the identity normalizer
 *    (ChatGLM2/3's), encoded as the sentencepiece library does: dummy prefix, extra spaces removed,
 *    ' ' -> U+2581, user-defined pieces first, then merges by piece score (leftmost on ties), byte
 *    fallback (<0xXX>) or one unk per run of unknown characters. sentencepiece's encode adds no BOS.
 *    When tokenizer_config.json beside it names THUDM's ChatGLMTokenizer, its special tokens follow
 *    the pieces ([MASK] [gMASK] [sMASK] sop eop <|system|> <|user|> <|assistant|> <|observation|>,
 *    ids n_pieces, n_pieces + 1, ...) and add_special puts [gMASK] sop before the text, as its
 *    get_prefix_tokens() does (64790 64792 for ChatGLM2/3-6B). Unigram models and precompiled
 *    normalizers (nmt_nfkc) are refused.
 * The encoders are O(n log n): a heap of adjacent-pair candidates over a linked list of symbols.
 *
 *     comp_tokenizer *tok;
 *     COMP_CALL(comp_tokenizer_load("models/default/tokenizer.json", 0, &tok));
 *     COMP_CALL(comp_tokenizer_encode(tok, text, len, 1, &ids, &n_ids));   (ids: malloc'd)
 *
 * A loaded tokenizer is read-only: encode and decode may run concurrently on one. Errors are
 * reported through comp_error_set (comp/error.h); nothing here prints or exits.
 */
#ifndef COMP_TOKENIZER_H
#define COMP_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "comp/error.h"

typedef struct comp_tokenizer comp_tokenizer;

/* Load by path: a file ending in .json is an HF tokenizer.json (vocab_size is ignored; BOS comes
 * from the post-processor template, EOS from tokenizer_config.json beside it if there is one); one
 * ending in .model a SentencePiece model (no BOS; EOS its eos_id; the specials and prefix of the
 * Python tokenizer class tokenizer_config.json beside it names, if comp knows it); anything else is
 * a llama2.c tokenizer.bin, which needs vocab_size > 0 from the model (llama2.c stores no count). */
comp_status comp_tokenizer_load(const char *path, int vocab_size, comp_tokenizer **out);
/* Free *t (NULL-safe) and set *t = NULL. */
void comp_tokenizer_destroy(comp_tokenizer **t);

/* Encode len bytes of UTF-8 text (an error if not valid UTF-8; empty text gives just the specials).
 * add_special: add what the tokenizer adds by default (llama2.c: BOS, and run.c's dummy-prefix
 * space in any case; tokenizer.json: the post-processor template, e.g. BOS). *ids is malloc'd (the
 * caller frees it; never NULL on success), *n_ids its length. */
comp_status comp_tokenizer_encode(const comp_tokenizer *t, const char *text, size_t len, int add_special, int32_t **ids,
                                  int64_t *n_ids);

/* Decode ids to text as the reference decoder does (run.c decode / the tokenizer.json decoder
 * pipeline). skip_special leaves special tokens (BOS, EOS, unk, special added tokens) out. *out is
 * malloc'd and NUL-terminated, *out_len its length without the NUL. An id outside the vocabulary
 * is an error. */
comp_status comp_tokenizer_decode(const comp_tokenizer *t, const int32_t *ids, int64_t n, int skip_special, char **out,
                                  size_t *out_len);

int comp_tokenizer_vocab_size(const comp_tokenizer *t); /* largest id + 1                    */
int comp_tokenizer_bos(const comp_tokenizer *t);        /* -1 if none                        */
int comp_tokenizer_eos(const comp_tokenizer *t);        /* -1 if none                        */
const char *
comp_tokenizer_kind(const comp_tokenizer *t); /* "llama2c", "bpe-sentencepiece", "bpe-bytelevel", "sentencepiece-bpe" */
/* The ids encode(add_special) puts before every text: llama2.c [BOS], tokenizer.json its template's
 * (e.g. [BOS]), a SentencePiece model its family's ([gMASK] sop for THUDM's ChatGLMTokenizer) or
 * none. *ids points into t (valid while t lives); returns their count (0: *ids may be anything). */
int comp_tokenizer_prefix(const comp_tokenizer *t, const int32_t **ids);

#endif
