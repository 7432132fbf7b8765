/* tokenizer.c - the parts both tokenizer formats share: vocabulary and merge tables, the merge
 * engine, and the public entry points, which dispatch to tokenizer_llama2c.c / tokenizer_json.c.
 *
 * The merge engine (tok_bpe) keeps the word as a linked list of symbols and a binary heap of
 * candidate merges keyed by (priority desc, position asc). Popping the top gives the pair the
 * naive algorithm would pick next (highest priority, leftmost on ties: run.c's scan and HF's
 * (rank, position) queue alike). Merging never reorders symbols, so the position of a pair's left
 * symbol orders pairs as the current word does; entries whose symbols have changed since they were
 * pushed are stale and skipped when popped. Each merge pushes at most two entries: O(n log n). */
#include "comp/tokenizer.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "comp/text.h"
#include "comp/util.h"
#include "tokenizer_impl.h"

/* ---- vocabulary ----------------------------------------------------------------------------- */

static uint32_t hash_bytes(const char *s, size_t n) /* FNV-1a */
{
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

comp_status tok_vocab_alloc(tok_vocab *v, int32_t n)
{
  v->n     = n;
  v->piece = calloc((size_t)n, sizeof *v->piece);
  v->len   = calloc((size_t)n, sizeof *v->len);
  COMP_CHECK(v->piece && v->len, COMP_ERR_NOMEM, "out of memory for a vocabulary of %d tokens", n);
  return COMP_OK;
}

comp_status tok_vocab_set(tok_vocab *v, int32_t id, const char *s, size_t len)
{
  char *p = malloc(len + 1);
  COMP_CHECK(p, COMP_ERR_NOMEM, "out of memory");
  memcpy(p, s, len);
  p[len] = '\0';
  free(v->piece[id]);
  v->piece[id] = p;
  v->len[id]   = (int32_t)len;
  return COMP_OK;
}

/* slot of piece s, or of the empty slot where it would go */
static uint32_t vocab_slot(const tok_vocab *v, const char *s, size_t len)
{
  uint32_t mask = v->hcap - 1, h = hash_bytes(s, len) & mask;
  for (;; h = (h + 1) & mask) {
    int32_t id = v->hid[h];
    if (id < 0 || ((size_t)v->len[id] == len && memcmp(v->piece[id], s, len) == 0)) return h;
  }
}

comp_status tok_vocab_index(tok_vocab *v)
{
  v->hcap = 16;
  while (v->hcap < 2u * (uint32_t)v->n + 2u) v->hcap *= 2;
  v->hid = malloc(sizeof *v->hid * v->hcap);
  COMP_CHECK(v->hid, COMP_ERR_NOMEM, "out of memory");
  memset(v->hid, 0xff, sizeof *v->hid * v->hcap);
  for (int32_t id = 0; id < v->n; id++) {
    if (!v->piece[id]) continue;
    uint32_t h = vocab_slot(v, v->piece[id], (size_t)v->len[id]);
    if (v->hid[h] < 0) v->hid[h] = id; /* the lowest id keeps a duplicated piece */
  }
  return COMP_OK;
}

void tok_vocab_claim(tok_vocab *v, int32_t id) { v->hid[vocab_slot(v, v->piece[id], (size_t)v->len[id])] = id; }

int32_t tok_vocab_find(const tok_vocab *v, const char *s, size_t len) { return v->hid[vocab_slot(v, s, len)]; }

void tok_vocab_free(tok_vocab *v)
{
  for (int32_t i = 0; v->piece && i < v->n; i++) free(v->piece[i]);
  free(v->piece), free(v->len), free(v->hid);
  memset(v, 0, sizeof *v);
}

/* ---- merge table ------------------------------------------------------------------------------ */

static uint32_t pair_slot(const tok_pairs *p, uint64_t key)
{
  uint32_t mask = p->cap - 1, h = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & mask;
  while (p->key[h] && p->key[h] != key) h = (h + 1) & mask;
  return h;
}

static uint64_t pair_key(int32_t a, int32_t b) { return (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1; }

comp_status tok_pairs_init(tok_pairs *p, int64_t expected)
{
  p->cap = 16;
  while ((int64_t)p->cap < 2 * expected + 2) p->cap *= 2;
  p->key  = calloc(p->cap, sizeof *p->key);
  p->res  = malloc(sizeof *p->res * p->cap);
  p->prio = malloc(sizeof *p->prio * p->cap);
  COMP_CHECK(p->key && p->res && p->prio, COMP_ERR_NOMEM, "out of memory for %lld merges", (long long)expected);
  return COMP_OK;
}

void tok_pairs_put(tok_pairs *p, int32_t a, int32_t b, int32_t r, double prio)
{
  uint64_t key = pair_key(a, b);
  uint32_t h   = pair_slot(p, key);
  if (!p->key[h]) p->count++;
  p->key[h] = key, p->res[h] = r, p->prio[h] = prio;
}

int tok_pairs_find(const tok_pairs *p, int32_t a, int32_t b, int32_t *r, double *prio)
{
  if (!p->cap || a < 0 || b < 0) return 0;
  uint32_t h = pair_slot(p, pair_key(a, b));
  if (!p->key[h]) return 0;
  *r = p->res[h], *prio = p->prio[h];
  return 1;
}

void tok_pairs_free(tok_pairs *p)
{
  free(p->key), free(p->res), free(p->prio);
  memset(p, 0, sizeof *p);
}

comp_status tok_ids_push(tok_ids *ids, const int32_t *v, int64_t n)
{
  if (ids->n + n > ids->cap) {
    int64_t  cap = ids->cap * 2 + n + 64;
    int32_t *g   = realloc(ids->v, sizeof *g * (size_t)cap);
    COMP_CHECK(g, COMP_ERR_NOMEM, "out of memory for %lld token ids", (long long)cap);
    ids->v = g, ids->cap = cap;
  }
  if (n > 0) memcpy(ids->v + ids->n, v, sizeof *v * (size_t)n);
  ids->n += n;
  return COMP_OK;
}

/* ---- the merge engine ------------------------------------------------------------------------- */

static int cand_before(const tok_cand *x, const tok_cand *y)
{
  return x->prio > y->prio || (x->prio == y->prio && x->pos < y->pos);
}

static void heap_down(tok_cand *h, int64_t n, int64_t i)
{
  tok_cand c = h[i];
  for (;;) {
    int64_t k = 2 * i + 1;
    if (k >= n) break;
    if (k + 1 < n && cand_before(&h[k + 1], &h[k])) k++;
    if (!cand_before(&h[k], &c)) break;
    h[i] = h[k], i = k;
  }
  h[i] = c;
}

static comp_status heap_push(tok_work *w, tok_cand c)
{
  if (w->heap_n == w->heap_cap) {
    int64_t   cap = w->heap_cap * 2 + 256;
    tok_cand *g   = realloc(w->heap, sizeof *g * (size_t)cap);
    COMP_CHECK(g, COMP_ERR_NOMEM, "out of memory in the BPE merge heap");
    w->heap = g, w->heap_cap = cap;
  }
  int64_t i = w->heap_n++;
  while (i > 0 && cand_before(&c, &w->heap[(i - 1) / 2])) w->heap[i] = w->heap[(i - 1) / 2], i = (i - 1) / 2;
  w->heap[i] = c;
  return COMP_OK;
}

/* candidate for merging the symbol at pos with the one after it, if the table has that pair */
static int make_cand(const tok_pairs *p, const int32_t *sym, int32_t pos, int32_t right, tok_cand *c)
{
  c->pos = pos, c->a = sym[pos], c->b = sym[right];
  return tok_pairs_find(p, c->a, c->b, &c->r, &c->prio);
}

comp_status tok_bpe(tok_work *w, const tok_pairs *p, int32_t *sym, int32_t *orig, int64_t n, int64_t *m)
{
  *m = n;
  if (n < 2) {
    if (orig && n == 1) orig[0] = 0;
    return COMP_OK;
  }
  COMP_CHECK(n < INT32_MAX, COMP_ERR_ARG, "a word of %lld symbols is too long to tokenize", (long long)n);
  if (n > w->cap) {
    int32_t *nx = realloc(w->next, sizeof *nx * (size_t)n);
    if (nx) w->next = nx;
    int32_t *pv = realloc(w->prev, sizeof *pv * (size_t)n);
    if (pv) w->prev = pv;
    COMP_CHECK(nx && pv, COMP_ERR_NOMEM, "out of memory for a word of %lld symbols", (long long)n);
    w->cap = n;
  }
  int32_t *next = w->next, *prev = w->prev;
  for (int64_t i = 0; i < n; i++) next[i] = (int32_t)(i + 1 < n ? i + 1 : -1), prev[i] = (int32_t)(i - 1);
  if (w->heap_cap < n) {
    tok_cand *g = realloc(w->heap, sizeof *g * (size_t)n);
    COMP_CHECK(g, COMP_ERR_NOMEM, "out of memory in the BPE merge heap");
    w->heap = g, w->heap_cap = n;
  }
  w->heap_n = 0;
  for (int32_t i = 0; i + 1 < n; i++) /* all initial candidates, then heapify in O(n) */
    if (make_cand(p, sym, i, i + 1, &w->heap[w->heap_n])) w->heap_n++;
  for (int64_t i = w->heap_n / 2 - 1; i >= 0; i--) heap_down(w->heap, w->heap_n, i);
  while (w->heap_n > 0) {
    tok_cand c = w->heap[0];
    w->heap[0] = w->heap[--w->heap_n];
    if (w->heap_n > 0) heap_down(w->heap, w->heap_n, 0);
    int32_t pos = c.pos, right = next[pos];
    if (sym[pos] != c.a || right < 0 || sym[right] != c.b) continue; /* stale */
    sym[pos]   = c.r;
    sym[right] = INT32_MIN; /* dead */
    next[pos]  = next[right];
    if (next[right] >= 0) prev[next[right]] = pos;
    tok_cand d;
    if (prev[pos] >= 0 && make_cand(p, sym, prev[pos], pos, &d)) COMP_CALL(heap_push(w, d));
    if (next[pos] >= 0 && make_cand(p, sym, pos, next[pos], &d)) COMP_CALL(heap_push(w, d));
  }
  int64_t k = 0;
  for (int32_t i = 0; i >= 0; i = next[i]) {
    if (orig) orig[k] = i;
    sym[k++] = sym[i];
  }
  *m = k;
  return COMP_OK;
}

void tok_work_free(tok_work *w)
{
  free(w->heap), free(w->next), free(w->prev);
  memset(w, 0, sizeof *w);
}

/* ---- tokenizer_config.json ------------------------------------------------------------------- */

struct cJSON *tok_config_beside(const char *path)
{
  const char *slash = strrchr(path, '/');
  size_t      dl    = slash ? (size_t)(slash - path + 1) : 0, n;
  char       *cpath = malloc(dl + 32), *buf = NULL;
  cJSON      *cfg = NULL;
  if (cpath) {
    memcpy(cpath, path, dl);
    strcpy(cpath + dl, "tokenizer_config.json");
    if (comp_is_file(cpath) && comp_read_file(cpath, &buf, &n) == COMP_OK) cfg = cJSON_ParseWithLength(buf, n);
    comp_error_clear(); /* the config is optional */
  }
  free(buf), free(cpath);
  return cfg;
}

/* ---- public API ------------------------------------------------------------------------------- */

comp_status comp_tokenizer_load(const char *path, int vocab_size, comp_tokenizer **out)
{
  *out = NULL;
  COMP_CHECK(path && *path, COMP_ERR_ARG, "no tokenizer path given");
  comp_tokenizer *t = calloc(1, sizeof *t);
  COMP_CHECK(t, COMP_ERR_NOMEM, "out of memory");
  t->bos = t->eos = -1;
  t->path         = strdup(path);
  size_t      pl  = strlen(path);
  comp_status s   = !t->path                                          ? comp_error_set(COMP_ERR_NOMEM, "out of memory")
                    : pl >= 5 && strcmp(path + pl - 5, ".json") == 0  ? tok_json_load(t, path)
                    : pl >= 6 && strcmp(path + pl - 6, ".model") == 0 ? tok_spm_load(t, path)
                                                                      : tok_llama2c_load(t, path, vocab_size);
  if (s) {
    comp_tokenizer_destroy(&t);
    return s;
  }
  *out = t;
  return COMP_OK;
}

void comp_tokenizer_destroy(comp_tokenizer **tp)
{
  if (!tp || !*tp) return;
  comp_tokenizer *t = *tp;
  tok_vocab_free(&t->v);
  tok_pairs_free(&t->pairs);
  tok_json_free(t->json);
  tok_spm_free(t->spm);
  free(t->special);
  free(t->path);
  free(t);
  *tp = NULL;
}

comp_status comp_tokenizer_encode(const comp_tokenizer *t, const char *text, size_t len, int add_special, int32_t **ids,
                                  int64_t *n_ids)
{
  *ids   = NULL;
  *n_ids = 0;
  COMP_CHECK(t && (text || len == 0), COMP_ERR_ARG, "comp_tokenizer_encode: no tokenizer or no text");
  size_t bad = comp_utf8_invalid_at(text, len);
  COMP_CHECK(bad == len, COMP_ERR_FORMAT, "text to encode is not valid UTF-8 (first bad byte at offset %zu)", bad);
  tok_ids     out = {0};
  comp_status s   = t->kind == TOK_LLAMA2C ? tok_llama2c_encode(t, text ? text : "", len, add_special, &out)
                    : t->kind == TOK_SPM   ? tok_spm_encode(t, text ? text : "", len, add_special, &out)
                                           : tok_json_encode(t, text ? text : "", len, add_special, &out);
  if (!s && !out.v) { /* no ids: still hand back a buffer the caller can free */
    out.v = malloc(sizeof *out.v);
    if (!out.v) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  }
  if (s) {
    free(out.v);
    return s;
  }
  *ids   = out.v;
  *n_ids = out.n;
  return COMP_OK;
}

comp_status comp_tokenizer_decode(const comp_tokenizer *t, const int32_t *ids, int64_t n, int skip_special, char **out,
                                  size_t *out_len)
{
  *out     = NULL;
  *out_len = 0;
  COMP_CHECK(t && (ids || n == 0) && n >= 0, COMP_ERR_ARG, "comp_tokenizer_decode: no tokenizer or no ids");
  for (int64_t i = 0; i < n; i++)
    COMP_CHECK(ids[i] >= 0 && ids[i] < t->v.n && t->v.piece[ids[i]], COMP_ERR_ARG,
               "%s: token id %d (position %lld) is not in the vocabulary of %d", t->path, ids[i], (long long)i, t->v.n);
  return t->kind == TOK_LLAMA2C ? tok_llama2c_decode(t, ids, n, skip_special, out, out_len)
         : t->kind == TOK_SPM   ? tok_spm_decode(t, ids, n, skip_special, out, out_len)
                                : tok_json_decode(t, ids, n, skip_special, out, out_len);
}

int comp_tokenizer_vocab_size(const comp_tokenizer *t) { return t->v.n; }
int comp_tokenizer_bos(const comp_tokenizer *t) { return t->bos; }
int comp_tokenizer_prefix(const comp_tokenizer *t, const int32_t **ids)
{
  *ids = t->prefix;
  return t->n_prefix;
}
int comp_tokenizer_eos(const comp_tokenizer *t) { return t->eos; }

const char *comp_tokenizer_kind(const comp_tokenizer *t)
{
  if (t->kind == TOK_LLAMA2C) return "llama2c";
  if (t->kind == TOK_SPM) return "sentencepiece-bpe";
  return tok_json_bytelevel(t->json) ? "bpe-bytelevel" : "bpe-sentencepiece";
}
