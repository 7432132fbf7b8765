/* tokenizer_llama2c.c - llama2.c tokenizer.bin, encoded and decoded exactly as karpathy/llama2.c
 * run.c does (see comp/tokenizer.h).
 *
 * run.c merges by looking up the concatenation of two adjacent pieces and taking the pair whose
 * merged piece has the highest score. The same relation is tabulated here once at load: every split
 * of every piece into two pieces gives a merge (left, right) -> piece with priority = its score. The
 * merge engine in tokenizer.c then gives run.c's result in O(n log n) instead of O(n^2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp/unicode.h"
#include "comp/util.h"
#include "tokenizer_impl.h"

enum { L2C_UNK = 0, L2C_BOS = 1, L2C_EOS = 2, L2C_BYTE0 = 3 }; /* run.c's fixed ids */

comp_status tok_llama2c_load(comp_tokenizer *t, const char *path, int vocab_size)
{
  COMP_CHECK(vocab_size > 0, COMP_ERR_ARG,
             "%s: a llama2.c tokenizer.bin needs the model's vocabulary size (got %d; pass --vocab-size)", path,
             vocab_size);
  char  *buf = NULL;
  size_t n = 0, off = 4;
  float *score = NULL;
  COMP_CALL(comp_read_file(path, &buf, &n));
  t->kind             = TOK_LLAMA2C;
  comp_status s       = tok_vocab_alloc(&t->v, vocab_size);
  int32_t     max_len = 0;
  if (!s && n < 4)
    s = comp_error_set(COMP_ERR_FORMAT, "%s: truncated llama2.c tokenizer (%zu bytes, no header)", path, n);
  if (!s) {
    memcpy(&max_len, buf, 4);
    if (max_len <= 0 || max_len > (1 << 20))
      s = comp_error_set(COMP_ERR_FORMAT, "%s: not a llama2.c tokenizer (max_token_length %d)", path, max_len);
  }
  if (!s && !(score = malloc(sizeof *score * (size_t)vocab_size))) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  for (int i = 0; !s && i < vocab_size; i++) { /* float32 score, int32 length, bytes */
    int32_t l = -1;
    if (off + 8 <= n) memcpy(&score[i], buf + off, 4), memcpy(&l, buf + off + 4, 4);
    if (off + 8 > n || l < 0 || (size_t)l > n - off - 8) {
      s = comp_error_set(COMP_ERR_FORMAT,
                         "%s: truncated llama2.c tokenizer: token %d of %d is cut off at byte %zu of %zu "
                         "(wrong --vocab-size, or a damaged file)",
                         path, i, vocab_size, off, n);
      break;
    }
    s = tok_vocab_set(&t->v, i, buf + off + 8, (size_t)l);
    off += 8 + (size_t)l;
  }
  free(buf);
  if (!s) s = tok_vocab_index(&t->v);
  /* merges: every split of a piece into two pieces, priority = the merged piece's score */
  int64_t n_splits = 0;
  for (int i = 0; !s && i < vocab_size; i++) n_splits += t->v.len[i] > 1 ? t->v.len[i] - 1 : 0;
  if (!s) s = tok_pairs_init(&t->pairs, n_splits);
  for (int32_t id = 0; !s && id < vocab_size; id++) {
    const char *p = t->v.piece[id];
    int32_t     l = t->v.len[id], r = tok_vocab_find(&t->v, p, (size_t)l);
    /* run.c: best_score starts at -1e10 and only a strictly higher score merges */
    if (r != id || !(score[id] > -1e10f)) continue;
    for (int32_t k = 1; k < l; k++) {
      int32_t a = tok_vocab_find(&t->v, p, (size_t)k), b = tok_vocab_find(&t->v, p + k, (size_t)(l - k));
      if (a >= 0 && b >= 0) tok_pairs_put(&t->pairs, a, b, id, (double)score[id]);
    }
  }
  free(score);
  if (s) return s;
  t->special = calloc((size_t)vocab_size, 1);
  COMP_CHECK(t->special, COMP_ERR_NOMEM, "out of memory");
  for (int i = L2C_UNK; i <= L2C_EOS && i < vocab_size; i++) t->special[i] = 1;
  t->bos      = vocab_size > L2C_BOS ? L2C_BOS : -1;
  t->prefix   = &t->bos;
  t->n_prefix = t->bos >= 0;
  t->eos      = vocab_size > L2C_EOS ? L2C_EOS : -1;
  return COMP_OK;
}

/* run.c encode(text, bos, eos=0): BOS, the dummy prefix " " if the text is non-empty, a symbol per
 * code point (its piece, or one byte-fallback id per byte), then merges over all of them. */
comp_status tok_llama2c_encode(const comp_tokenizer *t, const char *text, size_t len, int add_special, tok_ids *out)
{
  if (add_special) COMP_CHECK(t->bos >= 0, COMP_ERR_FORMAT, "%s: vocabulary too small for BOS", t->path);
  if (len == 0) return add_special ? tok_ids_push(out, &t->bos, 1) : COMP_OK;
  int32_t dummy = tok_vocab_find(&t->v, " ", 1);
  COMP_CHECK(dummy >= 0, COMP_ERR_FORMAT, "%s: no \" \" piece for run.c's dummy prefix", t->path);
  int32_t *sym = malloc(sizeof *sym * (len + 2));
  COMP_CHECK(sym, COMP_ERR_NOMEM, "out of memory for %zu symbols", len + 2);
  int64_t     n = 0, m = 0;
  comp_status s = COMP_OK;
  if (add_special) sym[n++] = t->bos;
  sym[n++] = dummy;
  for (size_t i = 0; i < len;) {
    size_t cl;
    comp_utf8_next(text + i, len - i, &cl);
    int32_t id = tok_vocab_find(&t->v, text + i, cl);
    if (id >= 0)
      sym[n++] = id;
    else
      for (size_t k = 0; k < cl; k++) sym[n++] = (unsigned char)text[i + k] + L2C_BYTE0;
    i += cl;
  }
  for (int64_t i = 0; i < n && !s; i++)
    if (sym[i] >= t->v.n)
      s = comp_error_set(COMP_ERR_FORMAT, "%s: the text needs byte-fallback id %d but the vocabulary has %d ids",
                         t->path, sym[i], t->v.n);
  tok_work w = {0};
  if (!s) s = tok_bpe(&w, &t->pairs, sym, NULL, n, &m);
  if (!s) s = tok_ids_push(out, sym, m);
  tok_work_free(&w);
  free(sym);
  return s;
}

/* run.c decode(prev, token) for each token, concatenated */
comp_status tok_llama2c_decode(const comp_tokenizer *t, const int32_t *ids, int64_t n, int skip_special, char **out,
                               size_t *out_len)
{
  size_t total = 1;
  for (int64_t i = 0; i < n; i++) total += (size_t)t->v.len[ids[i]];
  char *b = malloc(total);
  COMP_CHECK(b, COMP_ERR_NOMEM, "out of memory decoding %lld ids", (long long)n);
  size_t o = 0;
  for (int64_t i = 0; i < n; i++) {
    if (skip_special && t->special[ids[i]]) continue;
    const char   *piece = t->v.piece[ids[i]];
    size_t        l     = (size_t)t->v.len[ids[i]];
    unsigned char byte;
    if (i > 0 && ids[i - 1] == L2C_BOS && piece[0] == ' ') piece++, l--; /* run.c: strip after BOS */
    if (sscanf(piece, "<0x%02hhX>", &byte) == 1)
      b[o++] = (char)byte;
    else
      memcpy(b + o, piece, l), o += l;
  }
  b[o]     = '\0';
  *out     = b;
  *out_len = o;
  return COMP_OK;
}
