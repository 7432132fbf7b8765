/* tokenizer_spm.c - a SentencePiece tokenizer.model (a protobuf ModelProto) of the BPE kind, encoded
 * as sentencepiece's bpe_model.cc SampleEncode (alpha 0) after normalizer.cc Normalize, with
 * sentencepiece_processor.cc's byte fallback (see comp/tokenizer.h).
 *
 * Normalize with an identity rule (no precompiled_charsmap): drop leading spaces, add the dummy
 * prefix, collapse runs of spaces, drop trailing ones (remove_extra_whitespaces), ' ' -> U+2581
 * (escape_whitespaces). Encode: user-defined pieces are matched first (longest) and never merge;
 * every other character is one symbol; then repeatedly merge the adjacent pair whose concatenation
 * is a normal or user-defined piece with the highest score, leftmost on ties - the merge engine of
 * tokenizer.c with every split of every piece tabulated, as for llama2.c. A character that is not a
 * piece becomes its UTF-8 bytes' <0xXX> pieces (byte_fallback) or unk. Models outside this (unigram,
 * a normalization charsmap such as nmt_nfkc, unused pieces, whitespace as suffix) are refused. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp/unicode.h"
#include "comp/util.h"
#include "tokenizer_impl.h"

enum { SP_NORMAL = 1, SP_UNKNOWN = 2, SP_CONTROL = 3, SP_USER_DEFINED = 4, SP_UNUSED = 5, SP_BYTE = 6 };
enum { SP_MODEL_BPE = 2 };
enum { SP_ADDED = 7 }; /* not a protobuf type: a special token a Python tokenizer appends after the pieces */

/* Python tokenizers that wrap a SentencePiece model, give special tokens the ids after its pieces
 * and put some of them before every text: one row per tokenizer_class of tokenizer_config.json (or
 * the class its auto_map's AutoTokenizer names). Encode matches none of them in the text. */
enum { SPM_MAX_ADDED = 16, SPM_MAX_PREFIX = 4 };
static const struct spm_family {
  const char *tokenizer_class;
  const char *added[SPM_MAX_ADDED];   /* ids n_pieces, n_pieces + 1, ... in order */
  const char *prefix[SPM_MAX_PREFIX]; /* before every text (encode with add_special) */
} spm_families[] = {
    /* THUDM's tokenization_chatglm.py (ChatGLM2-6B, ChatGLM3-6B): SPTokenizer numbers its special
     * tokens from sp_model.vocab_size() on (ChatGLM2 stops after eop), and get_prefix_tokens() puts
     * [gMASK] sop before every input: ids 64790 and 64792 for their 64789 pieces. */
    {"ChatGLMTokenizer",
     {"[MASK]", "[gMASK]", "[sMASK]", "sop", "eop", "<|system|>", "<|user|>", "<|assistant|>", "<|observation|>"},
     {"[gMASK]", "sop"}},
};

struct tok_spm {
  int      add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces, byte_fallback;
  int32_t  unk;       /* unk_id                                                         */
  int32_t  byte[256]; /* id of <0xXX>, -1 if absent                                     */
  uint8_t *type;      /* (v.n) SP_* of every piece                                       */
  int32_t *user;      /* user-defined piece ids, longest first                           */
  int32_t  n_user;
  int32_t  prefix[SPM_MAX_PREFIX]; /* the family's prefix ids (none: a bare model) */
  int      n_prefix;
};

/* ---- protobuf wire format (proto2: varint, fixed64, length-delimited, fixed32) ------------- */

typedef struct pb {
  const uint8_t *p, *end;
} pb;

static int pb_varint(pb *b, uint64_t *v)
{
  *v = 0;
  for (int s = 0; s < 64 && b->p < b->end; s += 7) {
    uint8_t c = *b->p++;
    *v |= (uint64_t)(c & 0x7f) << s;
    if (!(c & 0x80)) return 1;
  }
  return 0;
}

/* Next field of b: its number, wire type, and (length-delimited) its bytes or (else) its value. */
static int pb_next(pb *b, uint32_t *field, int *wire, pb *sub, uint64_t *val)
{
  uint64_t key;
  if (b->p >= b->end || !pb_varint(b, &key)) return 0;
  *field = (uint32_t)(key >> 3), *wire = (int)(key & 7);
  switch (*wire) {
  case 0:
    return pb_varint(b, val);
  case 1:
    if (b->end - b->p < 8) return 0;
    memcpy(val, b->p, 8), b->p += 8;
    return 1;
  case 2:
    if (!pb_varint(b, val) || *val > (uint64_t)(b->end - b->p)) return 0;
    sub->p = b->p, sub->end = b->p + *val, b->p += *val;
    return 1;
  case 5: {
    uint32_t u;
    if (b->end - b->p < 4) return 0;
    memcpy(&u, b->p, 4), b->p += 4, *val = u;
    return 1;
  }
  default:
    return 0;
  }
}

/* TrainerSpec / NormalizerSpec fields that change encoding (sentencepiece_model.proto numbers). */
typedef struct spm_specs {
  int64_t model_type, suffix, bos, eos, charsmap;
  char    name[64];
} spm_specs;

static void read_trainer_spec(pb b, struct tok_spm *m, spm_specs *sp)
{
  uint32_t field;
  int      wire;
  pb       f;
  uint64_t v;
  while (b.p < b.end && pb_next(&b, &field, &wire, &f, &v)) {
    const int32_t iv = (int32_t)v; /* int32 fields: negative values are 10-byte varints */
    if (wire != 0) continue;
    if (field == 3) sp->model_type = iv;
    if (field == 24) sp->suffix = iv; /* treat_whitespace_as_suffix */
    if (field == 35) m->byte_fallback = iv != 0;
    if (field == 40) m->unk = iv;
    if (field == 41) sp->bos = iv;
    if (field == 42) sp->eos = iv;
  }
}

static void read_normalizer_spec(pb b, struct tok_spm *m, spm_specs *sp)
{
  uint32_t field;
  int      wire;
  pb       f;
  uint64_t v;
  while (b.p < b.end && pb_next(&b, &field, &wire, &f, &v)) {
    if (field == 1 && wire == 2) snprintf(sp->name, sizeof sp->name, "%.*s", (int)(f.end - f.p), (const char *)f.p);
    if (field == 2 && wire == 2) sp->charsmap = f.end - f.p;
    if (field == 3 && wire == 0) m->add_dummy_prefix = v != 0;
    if (field == 4 && wire == 0) m->remove_extra_whitespaces = v != 0;
    if (field == 5 && wire == 0) m->escape_whitespaces = v != 0;
  }
}

/* ---- load ------------------------------------------------------------------------------------ */

/* The family tokenizer_config.json beside path names (tokenizer_class, else the class after the last
 * '.' of auto_map.AutoTokenizer[0]); NULL when there is no such file or it names none of them. */
static const struct spm_family *spm_family_of(const char *path)
{
  cJSON      *cfg = tok_config_beside(path);
  const char *cls = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cfg, "tokenizer_class"));
  if (!cls) {
    const cJSON *am =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "auto_map"), "AutoTokenizer");
    cls = cJSON_GetStringValue(cJSON_IsArray(am) ? cJSON_GetArrayItem(am, 0) : am);
    if (cls && strrchr(cls, '.')) cls = strrchr(cls, '.') + 1;
  }
  const struct spm_family *fam = NULL;
  for (size_t k = 0; cls && k < sizeof spm_families / sizeof *spm_families; k++)
    if (strcmp(cls, spm_families[k].tokenizer_class) == 0) fam = &spm_families[k];
  cJSON_Delete(cfg);
  return fam;
}

comp_status tok_spm_load(comp_tokenizer *t, const char *path)
{
  char  *buf = NULL;
  size_t n   = 0;
  COMP_CALL(comp_read_file(path, &buf, &n));
  t->kind           = TOK_SPM;
  struct tok_spm *m = t->spm = calloc(1, sizeof *t->spm);
  float          *score      = NULL;
  comp_status     s          = m ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory");
  /* pass 1: count the pieces and read the specs (defaults: sentencepiece_model.proto's) */
  int64_t   n_pieces = 0;
  spm_specs sp       = {.model_type = 1, .bos = 1, .eos = 2};
  pb        b        = {(const uint8_t *)buf, (const uint8_t *)buf + n}, sub, f;
  uint32_t  field;
  int       wire;
  uint64_t  v;
  if (m) m->add_dummy_prefix = m->remove_extra_whitespaces = m->escape_whitespaces = 1;
  while (!s && b.p < b.end) {
    if (!pb_next(&b, &field, &wire, &sub, &v)) {
      s = comp_error_set(COMP_ERR_FORMAT, "%s: not a SentencePiece model (bad protobuf at byte %td)", path,
                         (const char *)b.p - buf);
      break;
    }
    if (field == 1 && wire == 2) n_pieces++;
    if (field == 2 && wire == 2) read_trainer_spec(sub, m, &sp);
    if (field == 3 && wire == 2) read_normalizer_spec(sub, m, &sp);
  }
  if (!s && (n_pieces == 0 || n_pieces > (1 << 24)))
    s = comp_error_set(COMP_ERR_FORMAT, "%s: not a SentencePiece model (%lld pieces)", path, (long long)n_pieces);
  if (!s && sp.model_type != SP_MODEL_BPE)
    s = comp_error_set(COMP_ERR_UNSUPPORTED, "%s: SentencePiece model_type %lld is not supported (only BPE, 2)", path,
                       (long long)sp.model_type);
  if (!s && sp.charsmap > 0)
    s = comp_error_set(COMP_ERR_UNSUPPORTED,
                       "%s: SentencePiece normalizer \"%s\" (a precompiled charsmap) is not supported (only identity)",
                       path, sp.name);
  if (!s && sp.suffix)
    s = comp_error_set(COMP_ERR_UNSUPPORTED, "%s: treat_whitespace_as_suffix is not supported", path);
  /* pass 2: the pieces, then the special tokens of the Python tokenizer's family, if any */
  const struct spm_family *fam     = s ? NULL : spm_family_of(path);
  int                      n_added = 0;
  while (fam && n_added < SPM_MAX_ADDED && fam->added[n_added]) n_added++;
  const int64_t n_total = n_pieces + n_added;
  if (!s) s = tok_vocab_alloc(&t->v, (int32_t)n_total);
  if (!s) {
    score   = malloc(sizeof *score * (size_t)n_pieces);
    m->type = calloc((size_t)n_total, 1);
    m->user = malloc(sizeof *m->user * (size_t)n_pieces);
    if (!score || !m->type || !m->user) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  }
  int32_t id = 0;
  b          = (pb){(const uint8_t *)buf, (const uint8_t *)buf + n};
  while (!s && pb_next(&b, &field, &wire, &sub, &v)) {
    if (field != 1 || wire != 2) continue;
    const uint8_t *piece = NULL;
    size_t         plen  = 0;
    float          sc    = 0;
    int64_t        ty    = SP_NORMAL;
    while (sub.p < sub.end && pb_next(&sub, &field, &wire, &f, &v)) {
      if (field == 1 && wire == 2) piece = f.p, plen = (size_t)(f.end - f.p);
      if (field == 2 && wire == 5) {
        uint32_t u = (uint32_t)v;
        memcpy(&sc, &u, 4);
      }
      if (field == 3 && wire == 0) ty = (int64_t)v;
    }
    if (!piece || plen == 0 || ty < SP_NORMAL || ty > SP_BYTE) {
      s = comp_error_set(COMP_ERR_FORMAT, "%s: piece %d is empty or has type %lld", path, id, (long long)ty);
      break;
    }
    if (ty == SP_UNUSED) {
      s = comp_error_set(COMP_ERR_UNSUPPORTED, "%s: piece %d is of type UNUSED (not supported)", path, id);
      break;
    }
    s           = tok_vocab_set(&t->v, id, (const char *)piece, plen);
    score[id]   = sc;
    m->type[id] = (uint8_t)ty;
    if (ty == SP_USER_DEFINED) m->user[m->n_user++] = id;
    id++;
  }
  free(buf);
  for (int k = 0; !s && k < n_added; k++) {
    s                     = tok_vocab_set(&t->v, (int32_t)n_pieces + k, fam->added[k], strlen(fam->added[k]));
    m->type[n_pieces + k] = SP_ADDED;
  }
  for (int k = 0; !s && fam && k < SPM_MAX_PREFIX && fam->prefix[k]; k++)
    for (int a = 0; a < n_added; a++)
      if (strcmp(fam->prefix[k], fam->added[a]) == 0) m->prefix[m->n_prefix++] = (int32_t)n_pieces + a;
  if (!s) s = tok_vocab_index(&t->v);
  if (!s && (m->unk < 0 || m->unk >= n_pieces))
    s = comp_error_set(COMP_ERR_FORMAT, "%s: unk_id %d outside the %lld pieces", path, m->unk, (long long)n_pieces);
  for (int i = 0; !s && i < 256; i++) {
    char hex[8];
    snprintf(hex, sizeof hex, "<0x%02X>", i);
    m->byte[i] = tok_vocab_find(&t->v, hex, 6);
    if (m->byte[i] >= 0 && m->type[m->byte[i]] != SP_BYTE) m->byte[i] = -1;
    if (m->byte_fallback && m->byte[i] < 0)
      s = comp_error_set(COMP_ERR_FORMAT, "%s: byte_fallback without a piece <0x%02X>", path, i);
  }
  for (int32_t i = 1; !s && i < m->n_user; i++) /* user-defined pieces longest first (few of them) */
    for (int32_t j = i; j > 0 && t->v.len[m->user[j]] > t->v.len[m->user[j - 1]]; j--) {
      int32_t x  = m->user[j];
      m->user[j] = m->user[j - 1], m->user[j - 1] = x;
    }
  /* merges: every split of a normal or user-defined piece into two pieces, priority = its score */
  int64_t n_splits = 0;
  for (int32_t i = 0; !s && i < t->v.n; i++) n_splits += t->v.len[i] > 1 ? t->v.len[i] - 1 : 0;
  if (!s) s = tok_pairs_init(&t->pairs, n_splits);
  for (int32_t r = 0; !s && r < t->v.n; r++) {
    if (m->type[r] != SP_NORMAL && m->type[r] != SP_USER_DEFINED) continue;
    const char *p = t->v.piece[r];
    for (int32_t k = 1; k < t->v.len[r]; k++) {
      int32_t a = tok_vocab_find(&t->v, p, (size_t)k), c = tok_vocab_find(&t->v, p + k, (size_t)(t->v.len[r] - k));
      if (a >= 0 && c >= 0) tok_pairs_put(&t->pairs, a, c, r, (double)score[r]);
    }
  }
  free(score);
  if (s) return s;
  t->special = calloc((size_t)n_total, 1);
  COMP_CHECK(t->special, COMP_ERR_NOMEM, "out of memory");
  for (int32_t i = 0; i < t->v.n; i++) t->special[i] = m->type[i] == SP_CONTROL || m->type[i] == SP_ADDED;
  /* SentencePieceProcessor::Encode adds no BOS/EOS (a family may add its prefix); eos is still the
   * end-of-text id */
  t->bos      = -1;
  t->prefix   = m->prefix;
  t->n_prefix = m->n_prefix;
  t->eos      = sp.eos >= 0 && sp.eos < t->v.n ? (int32_t)sp.eos : -1;
  return COMP_OK;
}

void tok_spm_free(struct tok_spm *m)
{
  if (!m) return;
  free(m->type), free(m->user);
  free(m);
}

/* ---- encode / decode ------------------------------------------------------------------------- */

/* normalizer.cc Normalize with the identity rule into out (capacity 3*len + 4). */
static size_t spm_normalize(const struct tok_spm *m, const char *in, size_t len, char *out)
{
  static const char ws[] = "\xe2\x96\x81";
  size_t            i = 0, o = 0;
  if (m->remove_extra_whitespaces)
    while (i < len && in[i] == ' ') i++;
  if (i == len) return 0;
  if (m->add_dummy_prefix) o += m->escape_whitespaces ? (memcpy(out + o, ws, 3), 3) : (out[o] = ' ', 1);
  int prev_space = m->remove_extra_whitespaces;
  for (; i < len; i++) {
    if (in[i] == ' ' && prev_space) continue;
    if (in[i] == ' ' && m->escape_whitespaces)
      memcpy(out + o, ws, 3), o += 3;
    else
      out[o++] = in[i];
    prev_space = m->remove_extra_whitespaces && in[i] == ' ';
  }
  if (m->remove_extra_whitespaces) {
    const size_t sl = m->escape_whitespaces ? 3 : 1;
    while (o >= sl && memcmp(out + o - sl, m->escape_whitespaces ? ws : " ", sl) == 0) o -= sl;
  }
  return o;
}

comp_status tok_spm_encode(const comp_tokenizer *t, const char *text, size_t len, int add_special, tok_ids *out)
{
  const struct tok_spm *m = t->spm; /* sentencepiece adds nothing; a family its prefix */
  if (add_special && m->n_prefix) COMP_CALL(tok_ids_push(out, m->prefix, m->n_prefix));
  char    *norm = malloc(3 * len + 4);
  int32_t *sym  = malloc(sizeof *sym * (3 * len + 4));
  if (!norm || !sym) {
    free(norm), free(sym);
    return comp_error_set(COMP_ERR_NOMEM, "out of memory for %zu bytes of text", len);
  }
  const size_t nl = spm_normalize(m, text, len, norm);
  int64_t      n  = 0, k;
  for (size_t i = 0; i < nl;) { /* user-defined pieces first (longest), else one character */
    int32_t id = -1;
    size_t  cl = 0;
    for (int32_t u = 0; u < m->n_user && id < 0; u++)
      if ((size_t)t->v.len[m->user[u]] <= nl - i && memcmp(norm + i, t->v.piece[m->user[u]], t->v.len[m->user[u]]) == 0)
        id = m->user[u], cl = (size_t)t->v.len[id];
    if (id < 0) {
      comp_utf8_next(norm + i, nl - i, &cl);
      id = tok_vocab_find(&t->v, norm + i, cl);
      if (id >= 0 && m->type[id] != SP_NORMAL && m->type[id] != SP_USER_DEFINED) id = -1;
    }
    sym[n++] = id >= 0 ? id : -1 - (int32_t)i; /* not a piece: negative, never merges */
    i += cl;
  }
  tok_work    w = {0};
  comp_status s = tok_bpe(&w, &t->pairs, sym, NULL, n, &k);
  tok_work_free(&w);
  for (int64_t j = 0; !s && j < k; j++) {
    if (sym[j] >= 0) {
      s = tok_ids_push(out, &sym[j], 1);
      continue;
    }
    if (!m->byte_fallback && j > 0 && sym[j - 1] < 0) continue; /* a run of unknown characters: one unk */
    const size_t i = (size_t)(-1 - sym[j]);
    size_t       cl;
    comp_utf8_next(norm + i, nl - i, &cl);
    for (size_t b = 0; !s && m->byte_fallback && b < cl; b++) s = tok_ids_push(out, &m->byte[(uint8_t)norm[i + b]], 1);
    if (!s && !m->byte_fallback) s = tok_ids_push(out, &m->unk, 1);
  }
  free(norm), free(sym);
  return s;
}

/* sentencepiece DecodeIds: pieces concatenated, <0xXX> as bytes, U+2581 as ' ', the dummy-prefix
 * space of the first piece dropped; control pieces give nothing, unk its surface " \u2047 "
 * (sentencepiece has no skip switch). A family's special tokens are written by name unless
 * skip_special, and do not count as the first piece. */
comp_status tok_spm_decode(const comp_tokenizer *t, const int32_t *ids, int64_t n, int skip_special, char **out,
                           size_t *out_len)
{
  const struct tok_spm *m     = t->spm;
  size_t                total = 1;
  for (int64_t i = 0; i < n; i++) total += (size_t)t->v.len[ids[i]] + 3;
  char *b = malloc(total);
  COMP_CHECK(b, COMP_ERR_NOMEM, "out of memory decoding %lld ids", (long long)n);
  size_t o = 0, first = 1; /* the first piece drops the dummy prefix's U+2581 */
  for (int64_t i = 0; i < n; i++) {
    const int ty = m->type[ids[i]];
    if (ty == SP_CONTROL || (ty == SP_ADDED && skip_special)) continue;
    if (ty == SP_ADDED) {
      memcpy(b + o, t->v.piece[ids[i]], (size_t)t->v.len[ids[i]]), o += (size_t)t->v.len[ids[i]];
      continue;
    }
    const size_t strip = first && m->add_dummy_prefix && ty != SP_BYTE && ty != SP_UNKNOWN;
    first              = 0;
    if (ty == SP_UNKNOWN) {
      memcpy(b + o, " \xe2\x81\x87 ", 5), o += 5;
      continue;
    }
    unsigned char byte;
    const char   *p = t->v.piece[ids[i]];
    if (ty == SP_BYTE && sscanf(p, "<0x%02hhX>", &byte) == 1) {
      b[o++] = (char)byte;
      continue;
    }
    const int32_t pl = t->v.len[ids[i]];
    int32_t       j  = strip && pl >= 3 && memcmp(p, "\xe2\x96\x81", 3) == 0 ? 3 : 0;
    while (j < pl)
      if (j + 3 <= pl && memcmp(p + j, "\xe2\x96\x81", 3) == 0)
        b[o++] = ' ', j += 3;
      else
        b[o++] = p[j++];
  }
  b[o]     = '\0';
  *out     = b;
  *out_len = o;
  return COMP_OK;
}
