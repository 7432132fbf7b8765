/* tokenizer.c - llama2.c tokenizer.bin and SentencePiece-kind tokenizer.json (see comp/tokenizer.h).
 *
 * One merge engine serves both: the text becomes a linked list of symbols (one per code point, or
 * byte-fallback tokens), and a heap of adjacent pairs repeatedly merges the best pair, leftmost on
 * ties. "Best" is the highest vocabulary score of the merged piece (llama2.c run.c) or the lowest
 * merge rank (Hugging Face BPE). Stale heap entries are rechecked when popped. */
#include "comp/tokenizer.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp/text.h"
#include "comp/util.h"

enum { KIND_LLAMA2C, KIND_HF };

struct comp_tokenizer {
  int      kind;
  int      n;          /* vocabulary size                                     */
  char   **piece;      /* (n) NUL-terminated pieces                           */
  int     *len;        /* (n) piece lengths                                   */
  float   *score;      /* (n) llama2.c merge scores                           */
  int      hcap;       /* string hash: piece -> id                            */
  int32_t *htab;       /* (hcap) id or -1                                     */
  int      mcap;       /* pair hash (HF): (a,b) -> rank, result               */
  uint64_t *mkey;      /* (mcap) (a<<32|b)+1, 0 = empty                       */
  int32_t *mrank, *mres;
  int      byte_id[256]; /* id of <0xXX>, -1 if absent                        */
  int      byte_fallback, unk, bos, eos;
  int      n_prefix;   /* template ids before the sequence (HF)               */
  int32_t  prefix[4];
  int      n_suffix;
  int32_t  suffix[4];
  int      prepend;    /* HF normalizer: Prepend "▁"                           */
  int      replace;    /* HF normalizer: Replace " " -> "▁"                    */
  int      strip;      /* HF decoder strips one leading space                 */
  int      n_added;    /* HF added tokens, matched in the raw text            */
  int32_t *added_id;
  int     *special;    /* (n) 1 for special tokens (skipped when decoding)    */
};

static uint32_t fnv(const char *s, size_t n)
{
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

static int lookup(const comp_tokenizer *t, const char *s, size_t n)
{
  for (uint32_t h = fnv(s, n) & (uint32_t)(t->hcap - 1);; h = (h + 1) & (uint32_t)(t->hcap - 1)) {
    int id = t->htab[h];
    if (id < 0) return -1;
    if ((size_t)t->len[id] == n && memcmp(t->piece[id], s, n) == 0) return id;
  }
}

static comp_status build_hash(comp_tokenizer *t)
{
  t->hcap = 16;
  while (t->hcap < 2 * t->n) t->hcap *= 2;
  t->htab = malloc(sizeof(int32_t) * (size_t)t->hcap);
  COMP_CHECK(t->htab, COMP_ERR_NOMEM, "out of memory");
  memset(t->htab, 0xff, sizeof(int32_t) * (size_t)t->hcap);
  for (int id = 0; id < t->n; id++) {
    if (!t->piece[id] || lookup(t, t->piece[id], (size_t)t->len[id]) >= 0) continue; /* first id wins */
    uint32_t h = fnv(t->piece[id], (size_t)t->len[id]) & (uint32_t)(t->hcap - 1);
    while (t->htab[h] >= 0) h = (h + 1) & (uint32_t)(t->hcap - 1);
    t->htab[h] = id;
  }
  for (int b = 0; b < 256; b++) {
    char buf[8];
    snprintf(buf, sizeof buf, "<0x%02X>", b);
    t->byte_id[b] = lookup(t, buf, 6);
  }
  return COMP_OK;
}

static int pair_find(const comp_tokenizer *t, int32_t a, int32_t b, int32_t *res)
{
  if (!t->mcap) return -1;
  uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
  for (uint64_t h = (key * 0x9e3779b97f4a7c15ull) >> 40 & (uint64_t)(t->mcap - 1);; h = (h + 1) & (uint64_t)(t->mcap - 1)) {
    if (t->mkey[h] == 0) return -1;
    if (t->mkey[h] == key) {
      *res = t->mres[h];
      return t->mrank[h];
    }
  }
}

void comp_tokenizer_destroy(comp_tokenizer **tp)
{
  if (!tp || !*tp) return;
  comp_tokenizer *t = *tp;
  for (int i = 0; t->piece && i < t->n; i++) free(t->piece[i]);
  free(t->piece), free(t->len), free(t->score), free(t->htab), free(t->mkey), free(t->mrank), free(t->mres);
  free(t->added_id), free(t->special);
  free(t);
  *tp = NULL;
}

static comp_status alloc_vocab(comp_tokenizer *t, int n)
{
  t->n       = n;
  t->piece   = calloc((size_t)n, sizeof *t->piece);
  t->len     = calloc((size_t)n, sizeof *t->len);
  t->score   = calloc((size_t)n, sizeof *t->score);
  t->special = calloc((size_t)n, sizeof *t->special);
  COMP_CHECK(t->piece && t->len && t->score && t->special, COMP_ERR_NOMEM, "out of memory");
  return COMP_OK;
}

static comp_status load_llama2c(comp_tokenizer *t, const char *path, int vocab_size)
{
  COMP_CHECK(vocab_size > 0, COMP_ERR_ARG, "%s: a llama2.c tokenizer needs the model's vocabulary size", path);
  char  *buf;
  size_t n, off = 4;
  COMP_CALL(comp_read_file(path, &buf, &n));
  comp_status s = alloc_vocab(t, vocab_size);
  if (!s && n < 4) s = comp_error_set(COMP_ERR_FORMAT, "%s: truncated llama2.c tokenizer (no header)", path);
  for (int i = 0; !s && i < vocab_size; i++) {
    int32_t l;
    if (off + 8 > n) {
      s = comp_error_set(COMP_ERR_FORMAT, "%s: truncated llama2.c tokenizer at token %d of %d", path, i, vocab_size);
      break;
    }
    memcpy(&t->score[i], buf + off, 4);
    memcpy(&l, buf + off + 4, 4);
    off += 8;
    if (l < 0 || (size_t)l > n - off) {
      s = comp_error_set(COMP_ERR_FORMAT, "%s: truncated llama2.c tokenizer at token %d of %d", path, i, vocab_size);
      break;
    }
    t->piece[i] = malloc((size_t)l + 1);
    if (!t->piece[i]) {
      s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
      break;
    }
    memcpy(t->piece[i], buf + off, (size_t)l);
    t->piece[i][l] = '\0';
    t->len[i]      = l;
    off += (size_t)l;
  }
  free(buf);
  if (s) return s;
  t->kind = KIND_LLAMA2C;
  t->bos = 1, t->eos = 2, t->unk = 0, t->byte_fallback = 1;
  t->special[0] = t->special[1] = t->special[2] = 1;
  t->n_prefix                     = 1;
  t->prefix[0]                    = 1;
  return build_hash(t);
}

static comp_status load_json(comp_tokenizer *t, const char *path)
{
  char  *buf;
  size_t n;
  COMP_CALL(comp_read_file(path, &buf, &n));
  cJSON *j = cJSON_ParseWithLength(buf, n);
  free(buf);
  COMP_CHECK(cJSON_IsObject(j), COMP_ERR_FORMAT, "%s: not a JSON object", path);
  comp_status s     = COMP_OK;
  cJSON      *model = cJSON_GetObjectItem(j, "model"), *vocab = cJSON_GetObjectItem(model, "vocab");
  cJSON      *merges = cJSON_GetObjectItem(model, "merges"), *type = cJSON_GetObjectItem(model, "type");
  cJSON      *added = cJSON_GetObjectItem(j, "added_tokens");
#define FAIL(st, ...)                                                                                \
  do {                                                                                               \
    s = comp_error_set(st, __VA_ARGS__);                                                             \
    goto out;                                                                                        \
  } while (0)
  if (!cJSON_IsObject(vocab) || !cJSON_IsArray(merges))
    FAIL(COMP_ERR_FORMAT, "%s: model.vocab / model.merges missing", path);
  if (!cJSON_IsString(type) || strcmp(type->valuestring, "BPE") != 0)
    FAIL(COMP_ERR_UNSUPPORTED, "%s: tokenizer model type %s is not supported (BPE only)", path,
         cJSON_IsString(type) ? type->valuestring : "(none)");
  cJSON *pre = cJSON_GetObjectItem(j, "pre_tokenizer");
  if (pre && !cJSON_IsNull(pre)) {
    cJSON *pt = cJSON_GetObjectItem(pre, "type");
    FAIL(COMP_ERR_UNSUPPORTED, "%s: pre_tokenizer %s is not supported yet", path, cJSON_IsString(pt) ? pt->valuestring : "?");
  }
  const char *nulls[] = {"continuing_subword_prefix", "end_of_word_suffix"};
  for (int i = 0; i < 2; i++) {
    cJSON *v = cJSON_GetObjectItem(model, nulls[i]);
    if (v && !cJSON_IsNull(v)) FAIL(COMP_ERR_UNSUPPORTED, "%s: model.%s is not supported", path, nulls[i]);
  }
  /* vocabulary: model.vocab plus added tokens */
  int maxid = -1;
  for (cJSON *e = vocab->child; e; e = e->next) maxid = e->valueint > maxid ? e->valueint : maxid;
  for (cJSON *e = added ? added->child : NULL; e; e = e->next) {
    int id = cJSON_GetObjectItem(e, "id") ? cJSON_GetObjectItem(e, "id")->valueint : -1;
    maxid  = id > maxid ? id : maxid;
  }
  if (maxid < 0 || maxid > (1 << 24)) FAIL(COMP_ERR_FORMAT, "%s: empty or implausible vocabulary", path);
  if ((s = alloc_vocab(t, maxid + 1))) goto out;
  for (cJSON *e = vocab->child; e; e = e->next) {
    if (!cJSON_IsNumber(e) || e->valueint < 0) FAIL(COMP_ERR_FORMAT, "%s: bad vocab entry %s", path, e->string);
    free(t->piece[e->valueint]);
    t->piece[e->valueint] = strdup(e->string);
    t->len[e->valueint]   = (int)strlen(e->string);
  }
  t->n_added  = cJSON_GetArraySize(added);
  t->added_id = calloc((size_t)t->n_added + 1, sizeof(int32_t));
  int k       = 0;
  for (cJSON *e = added ? added->child : NULL; e; e = e->next, k++) {
    cJSON *c = cJSON_GetObjectItem(e, "content"), *id = cJSON_GetObjectItem(e, "id");
    if (!cJSON_IsString(c) || !cJSON_IsNumber(id)) FAIL(COMP_ERR_FORMAT, "%s: bad added_tokens entry", path);
    free(t->piece[id->valueint]);
    t->piece[id->valueint]   = strdup(c->valuestring);
    t->len[id->valueint]     = (int)strlen(c->valuestring);
    t->special[id->valueint] = cJSON_IsTrue(cJSON_GetObjectItem(e, "special"));
    t->added_id[k]           = id->valueint;
  }
  if ((s = build_hash(t))) goto out;
  /* merges: "a b" or ["a","b"], rank = position */
  int nm  = cJSON_GetArraySize(merges);
  t->mcap = 16;
  while (t->mcap < 2 * nm + 2) t->mcap *= 2;
  t->mkey  = calloc((size_t)t->mcap, sizeof *t->mkey);
  t->mrank = malloc(sizeof(int32_t) * (size_t)t->mcap);
  t->mres  = malloc(sizeof(int32_t) * (size_t)t->mcap);
  if (!t->mkey || !t->mrank || !t->mres) FAIL(COMP_ERR_NOMEM, "out of memory");
  int rank = 0;
  for (cJSON *e = merges->child; e; e = e->next, rank++) {
    char a[512], b[512];
    if (cJSON_IsString(e)) {
      const char *sp = strchr(e->valuestring + 1, ' ');
      if (!sp || (size_t)(sp - e->valuestring) >= sizeof a || strlen(sp + 1) >= sizeof b)
        FAIL(COMP_ERR_FORMAT, "%s: bad merge \"%s\"", path, e->valuestring);
      memcpy(a, e->valuestring, (size_t)(sp - e->valuestring));
      a[sp - e->valuestring] = '\0';
      strcpy(b, sp + 1);
    } else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 && cJSON_IsString(e->child) &&
               cJSON_IsString(e->child->next) && strlen(e->child->valuestring) < sizeof a &&
               strlen(e->child->next->valuestring) < sizeof b) {
      strcpy(a, e->child->valuestring);
      strcpy(b, e->child->next->valuestring);
    } else {
      FAIL(COMP_ERR_FORMAT, "%s: bad merge entry %d", path, rank);
    }
    char ab[1024];
    snprintf(ab, sizeof ab, "%s%s", a, b);
    int ia = lookup(t, a, strlen(a)), ib = lookup(t, b, strlen(b)), iab = lookup(t, ab, strlen(ab)), dummy;
    if (ia < 0 || ib < 0 || iab < 0) continue; /* HF skips merges whose pieces are not in vocab */
    if (pair_find(t, ia, ib, &dummy) >= 0) continue;
    uint64_t key = (((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib) + 1;
    uint64_t h   = (key * 0x9e3779b97f4a7c15ull) >> 40 & (uint64_t)(t->mcap - 1);
    while (t->mkey[h]) h = (h + 1) & (uint64_t)(t->mcap - 1);
    t->mkey[h] = key, t->mrank[h] = rank, t->mres[h] = iab;
  }
  cJSON *bf = cJSON_GetObjectItem(model, "byte_fallback"), *unk = cJSON_GetObjectItem(model, "unk_token");
  t->byte_fallback = cJSON_IsTrue(bf);
  t->unk           = cJSON_IsString(unk) ? lookup(t, unk->valuestring, strlen(unk->valuestring)) : -1;
  /* normalizer: null, Prepend, Replace(" " -> x), or a Sequence of those */
  cJSON *nz = cJSON_GetObjectItem(j, "normalizer");
  cJSON *list = nz && cJSON_IsObject(nz) && cJSON_GetObjectItem(nz, "normalizers") ? cJSON_GetObjectItem(nz, "normalizers") : NULL;
  for (cJSON *e = list ? list->child : (cJSON_IsObject(nz) ? nz : NULL); e; e = list ? e->next : NULL) {
    const char *ty = cJSON_GetStringValue(cJSON_GetObjectItem(e, "type"));
    if (ty && strcmp(ty, "Sequence") == 0) continue;
    if (ty && strcmp(ty, "Prepend") == 0 && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "prepend")) ?: "", "\xe2\x96\x81") == 0)
      t->prepend = 1;
    else if (ty && strcmp(ty, "Replace") == 0 &&
             strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "pattern"), "String")) ?: "", " ") == 0 &&
             strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "content")) ?: "", "\xe2\x96\x81") == 0)
      t->replace = 1;
    else
      FAIL(COMP_ERR_UNSUPPORTED, "%s: normalizer %s is not supported yet", path, ty ? ty : "?");
  }
  /* post-processor: TemplateProcessing single = [SpecialToken*, Sequence A, SpecialToken*] */
  cJSON *pp = cJSON_GetObjectItem(j, "post_processor");
  if (pp && !cJSON_IsNull(pp)) {
    const char *ty = cJSON_GetStringValue(cJSON_GetObjectItem(pp, "type"));
    if (!ty || strcmp(ty, "TemplateProcessing") != 0)
      FAIL(COMP_ERR_UNSUPPORTED, "%s: post_processor %s is not supported yet", path, ty ? ty : "?");
    int seen_seq = 0;
    for (cJSON *e = cJSON_GetObjectItem(pp, "single")->child; e; e = e->next) {
      cJSON *st = cJSON_GetObjectItem(e, "SpecialToken");
      if (!st) {
        seen_seq = 1;
        continue;
      }
      const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(st, "id"));
      cJSON      *sp   = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(pp, "special_tokens"), name ?: ""), "ids");
      for (cJSON *i = sp ? sp->child : NULL; i; i = i->next) {
        if (!seen_seq && t->n_prefix < 4) t->prefix[t->n_prefix++] = i->valueint;
        if (seen_seq && t->n_suffix < 4) t->suffix[t->n_suffix++] = i->valueint;
      }
    }
  }
  cJSON *dec = cJSON_GetObjectItem(j, "decoder");
  char  *dtxt = dec ? cJSON_PrintUnformatted(dec) : NULL;
  t->strip    = dtxt && strstr(dtxt, "\"Strip\"") != NULL;
  free(dtxt);
  t->kind = KIND_HF;
  t->bos  = t->n_prefix ? t->prefix[0] : -1;
  t->eos  = lookup(t, "</s>", 4);
out:
#undef FAIL
  cJSON_Delete(j);
  return s;
}

comp_status comp_tokenizer_load(const char *path, int vocab_size, comp_tokenizer **out)
{
  *out              = NULL;
  comp_tokenizer *t = calloc(1, sizeof *t);
  COMP_CHECK(t, COMP_ERR_NOMEM, "out of memory");
  size_t      pl = strlen(path);
  comp_status s  = pl > 5 && strcmp(path + pl - 5, ".json") == 0 ? load_json(t, path) : load_llama2c(t, path, vocab_size);
  if (s) {
    comp_tokenizer_destroy(&t);
    return s;
  }
  *out = t;
  return COMP_OK;
}

int         comp_tokenizer_vocab_size(const comp_tokenizer *t) { return t->n; }
int         comp_tokenizer_bos(const comp_tokenizer *t) { return t->bos; }
int         comp_tokenizer_eos(const comp_tokenizer *t) { return t->eos; }
const char *comp_tokenizer_kind(const comp_tokenizer *t) { return t->kind == KIND_HF ? "bpe-sentencepiece" : "llama2c"; }

/* ---- the merge engine --------------------------------------------------------------------------- */

typedef struct {
  float   pri;     /* higher first */
  int32_t pos;     /* left symbol index; lower first on ties */
  int32_t a, b, r; /* left id, right id, merged id */
} cand;

typedef struct {
  cand   *h;
  int64_t n, cap;
} heap;

static int cand_less(const cand *x, const cand *y) /* x comes before y */
{
  return x->pri > y->pri || (x->pri == y->pri && x->pos < y->pos);
}

static int heap_push(heap *q, cand c)
{
  if (q->n == q->cap) {
    int64_t cap = q->cap ? 2 * q->cap : 256;
    cand   *h   = realloc(q->h, sizeof(cand) * (size_t)cap);
    if (!h) return -1;
    q->h = h, q->cap = cap;
  }
  int64_t i = q->n++;
  while (i > 0 && cand_less(&c, &q->h[(i - 1) / 2])) q->h[i] = q->h[(i - 1) / 2], i = (i - 1) / 2;
  q->h[i] = c;
  return 0;
}

static cand heap_pop(heap *q)
{
  cand top = q->h[0], last = q->h[--q->n];
  int64_t i = 0;
  for (;;) {
    int64_t c = 2 * i + 1;
    if (c >= q->n) break;
    if (c + 1 < q->n && cand_less(&q->h[c + 1], &q->h[c])) c++;
    if (!cand_less(&q->h[c], &last)) break;
    q->h[i] = q->h[c], i = c;
  }
  if (q->n) q->h[i] = last;
  return top;
}

/* priority of merging ids a,b: -1e30 if impossible */
static int pair_cand(const comp_tokenizer *t, int32_t pos, int32_t a, int32_t b, cand *c)
{
  int32_t r;
  if (t->kind == KIND_HF) {
    int rank = pair_find(t, a, b, &r);
    if (rank < 0) return 0;
    *c = (cand){.pri = -(float)rank, .pos = pos, .a = a, .b = b, .r = r};
    return 1;
  }
  char buf[1024];
  if (t->len[a] + t->len[b] >= (int)sizeof buf) return 0;
  memcpy(buf, t->piece[a], (size_t)t->len[a]);
  memcpy(buf + t->len[a], t->piece[b], (size_t)t->len[b]);
  r = lookup(t, buf, (size_t)(t->len[a] + t->len[b]));
  if (r < 0) return 0;
  *c = (cand){.pri = t->score[r], .pos = pos, .a = a, .b = b, .r = r};
  return 1;
}

/* Append the symbols of s (n bytes, already normalized) to out, merged. */
static comp_status bpe(const comp_tokenizer *t, const char *s, size_t n, int32_t lead, int32_t **out, int64_t *n_out,
                       int64_t *cap)
{
  int64_t  m   = 0;
  int32_t *id  = malloc(sizeof(int32_t) * (n + 2)), *nx = malloc(sizeof(int32_t) * (n + 2)),
          *pv  = malloc(sizeof(int32_t) * (n + 2));
  heap     q   = {0};
  comp_status st = COMP_OK;
  if (!id || !nx || !pv) {
    st = comp_error_set(COMP_ERR_NOMEM, "out of memory");
    goto done;
  }
  if (lead >= 0) id[m++] = lead;
  for (size_t i = 0; i < n;) { /* one symbol per code point, byte fallback otherwise */
    unsigned c = (unsigned char)s[i];
    size_t   l = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
    if (i + l > n) l = n - i;
    int v = lookup(t, s + i, l);
    if (v >= 0) id[m++] = v;
    else if (t->byte_fallback) {
      for (size_t k = 0; k < l; k++) id[m++] = t->kind == KIND_LLAMA2C ? (unsigned char)s[i + k] + 3 : t->byte_id[(unsigned char)s[i + k]];
    } else if (!(t->kind == KIND_HF && m > 0 && id[m - 1] == t->unk)) /* fuse_unk */
      id[m++] = t->unk;
    i += l;
  }
  for (int64_t i = 0; i < m; i++) {
    if (id[i] < 0 || id[i] >= t->n) {
      st = comp_error_set(COMP_ERR_FORMAT, "text needs a byte-fallback or unknown token the tokenizer lacks");
      goto done;
    }
    nx[i] = (int32_t)(i + 1 < m ? i + 1 : -1), pv[i] = (int32_t)(i - 1);
  }
  for (int64_t i = 0; i + 1 < m; i++) {
    cand c;
    if (pair_cand(t, (int32_t)i, id[i], id[i + 1], &c) && heap_push(&q, c)) st = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  }
  while (!st && q.n) {
    cand c = heap_pop(&q);
    int32_t p = c.pos, r = nx[p];
    if (id[p] != c.a || r < 0 || id[r] != c.b) continue; /* stale */
    id[p] = c.r;
    id[r] = -2; /* dead */
    nx[p] = nx[r];
    if (nx[r] >= 0) pv[nx[r]] = p;
    cand d;
    if (pv[p] >= 0 && pair_cand(t, pv[p], id[pv[p]], id[p], &d)) heap_push(&q, d);
    if (nx[p] >= 0 && pair_cand(t, p, id[p], id[nx[p]], &d)) heap_push(&q, d);
  }
  for (int64_t i = 0; !st && m > 0 && i >= 0; i = nx[i]) {
    if (*n_out == *cap) {
      *cap       = *cap * 2 + 64;
      int32_t *o = realloc(*out, sizeof(int32_t) * (size_t)*cap);
      if (!o) {
        st = comp_error_set(COMP_ERR_NOMEM, "out of memory");
        break;
      }
      *out = o;
    }
    (*out)[(*n_out)++] = id[i];
  }
done:
  free(id), free(nx), free(pv), free(q.h);
  return st;
}

static comp_status push_ids(int32_t **out, int64_t *n, int64_t *cap, const int32_t *ids, int k)
{
  for (int i = 0; i < k; i++) {
    if (*n == *cap) {
      *cap       = *cap * 2 + 64;
      int32_t *o = realloc(*out, sizeof(int32_t) * (size_t)*cap);
      COMP_CHECK(o, COMP_ERR_NOMEM, "out of memory");
      *out = o;
    }
    (*out)[(*n)++] = ids[i];
  }
  return COMP_OK;
}

comp_status comp_tokenizer_encode(const comp_tokenizer *t, const char *text, size_t len, int add_special,
                                  int32_t **ids, int64_t *n_ids)
{
  *ids = NULL, *n_ids = 0;
  int64_t cap = 0;
  COMP_CHECK(comp_utf8_invalid_at(text, len) == len, COMP_ERR_FORMAT, "text is not valid UTF-8");
  comp_status s = COMP_OK;
  if (t->kind == KIND_LLAMA2C) { /* run.c: BOS, dummy prefix " ", then merges over everything */
    int32_t lead = -1;
    if (add_special) s = push_ids(ids, n_ids, &cap, t->prefix, 1);
    if (!s && len > 0) {
      /* the dummy prefix and BOS take part in merges exactly as in run.c */
      char *buf = malloc(len + 2);
      if (!buf) return comp_error_set(COMP_ERR_NOMEM, "out of memory");
      buf[0] = ' ';
      memcpy(buf + 1, text, len);
      if (add_special) {
        (*n_ids)--; /* re-add BOS as the first merge symbol */
        lead = t->prefix[0];
      }
      s = bpe(t, buf, len + 1, lead, ids, n_ids, &cap);
      free(buf);
    }
  } else {
    if (add_special) s = push_ids(ids, n_ids, &cap, t->prefix, t->n_prefix);
    /* split on added tokens (leftmost, longest), normalize and merge the plain segments */
    size_t i = 0, seg = 0;
    char  *norm = malloc(3 * len + 4);
    if (!norm) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
    while (!s && i <= len) {
      int best = -1, bl = 0;
      for (int k = 0; i < len && k < t->n_added; k++) {
        int id = t->added_id[k], l = t->len[id];
        if (l > bl && (size_t)l <= len - i && memcmp(text + i, t->piece[id], (size_t)l) == 0) best = id, bl = l;
      }
      if (best < 0 && i < len) {
        i++;
        continue;
      }
      if (i > seg) { /* plain segment [seg, i) */
        size_t o = 0;
        if (t->prepend) memcpy(norm, "\xe2\x96\x81", 3), o = 3;
        for (size_t k = seg; k < i; k++) {
          if (t->replace && text[k] == ' ') memcpy(norm + o, "\xe2\x96\x81", 3), o += 3;
          else norm[o++] = text[k];
        }
        s = bpe(t, norm, o, -1, ids, n_ids, &cap);
      }
      if (best < 0) break;
      if (!s) s = push_ids(ids, n_ids, &cap, &best, 1);
      i += (size_t)bl;
      seg = i;
    }
    free(norm);
    if (!s && add_special) s = push_ids(ids, n_ids, &cap, t->suffix, t->n_suffix);
  }
  if (s) {
    free(*ids);
    *ids = NULL, *n_ids = 0;
  } else if (!*ids) {
    *ids = malloc(sizeof(int32_t));
  }
  return s;
}

comp_status comp_tokenizer_decode(const comp_tokenizer *t, const int32_t *ids, int64_t n, int skip_special, char **out,
                                  size_t *out_len)
{
  size_t cap = 64, o = 0;
  char  *b   = malloc(cap);
  COMP_CHECK(b, COMP_ERR_NOMEM, "out of memory");
  for (int64_t i = 0; i < n; i++) {
    int32_t id = ids[i];
    if (id < 0 || id >= t->n || !t->piece[id]) {
      free(b);
      return comp_error_set(COMP_ERR_ARG, "token id %d outside the tokenizer's vocabulary", id);
    }
    if (skip_special && t->special[id]) continue;
    const char *p = t->piece[id];
    int         l = t->len[id];
    unsigned    byte;
    char        one;
    if (l == 6 && sscanf(p, "<0x%02X>", &byte) == 1) one = (char)byte, p = &one, l = 1;
    else if (t->kind == KIND_LLAMA2C && i > 0 && ids[i - 1] == t->bos && p[0] == ' ') p++, l--;
    if (o + 3 * (size_t)l + 1 > cap) {
      cap      = 2 * cap + 3 * (size_t)l + 1;
      char *nb = realloc(b, cap);
      if (!nb) {
        free(b);
        return comp_error_set(COMP_ERR_NOMEM, "out of memory");
      }
      b = nb;
    }
    for (int k = 0; k < l; k++) {
      if (t->kind == KIND_HF && k + 2 < l && memcmp(p + k, "\xe2\x96\x81", 3) == 0) b[o++] = ' ', k += 2;
      else b[o++] = p[k];
    }
  }
  size_t start = (t->kind == KIND_HF && t->strip && o > 0 && b[0] == ' ') ? 1 : 0;
  memmove(b, b + start, o - start);
  o -= start;
  b[o]     = '\0';
  *out     = b;
  *out_len = o;
  return COMP_OK;
}
