/* tokenizer_json.c - Hugging Face tokenizer.json with a BPE model (see comp/tokenizer.h).
 *
 * Encoding follows the pipeline of @huggingface/tokenizers (and of the Rust library it mirrors):
 *   1. split the raw text on added tokens that are matched before normalization (leftmost, longest);
 *      lstrip / rstrip tokens trim the whitespace of their neighbours;
 *   2. normalize each piece in between; split it again on the "normalized" added tokens;
 *   3. pre-tokenize each remaining piece (ByteLevel: GPT-2 regex, bytes -> printable code points;
 *      Metaspace: " " -> replacement, prefix, optional split; Split: a known regex, see
 *      split_patterns; Punctuation and Digits: runs of punctuation or of numbers apart);
 *   4. BPE each pre-token: one symbol per code point, merges by rank (lowest first, leftmost on
 *      ties), then byte_fallback / unk for code points outside the vocabulary (fuse_unk);
 *   5. the post-processor template adds the special tokens (BOS ...) around the whole.
 * Decoding runs the decoder pipeline (Replace, ByteFallback, Fuse, Strip, ByteLevel, Metaspace)
 * over the token strings, as the Rust library does. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp/text.h"
#include "comp/unicode.h"
#include "comp/util.h"
#include "tokenizer_impl.h"

#define META "\xe2\x96\x81" /* U+2581, SentencePiece's space */

enum { N_PREPEND, N_REPLACE, N_NFC };                                          /* normalizer steps */
enum { P_BYTELEVEL, P_METASPACE, P_SPLIT, P_PUNCT, P_DIGITS };                 /* pre-tokenizer steps */
enum { D_REPLACE, D_BYTEFALLBACK, D_FUSE, D_STRIP, D_BYTELEVEL, D_METASPACE }; /* decoder steps */
enum { SCHEME_ALWAYS, SCHEME_FIRST, SCHEME_NEVER };                            /* Metaspace prepend_scheme */
enum { MAX_PRE = 8 };

/* One normalizer step: Prepend a, Replace every a by b, or NFC. */
typedef struct tok_norm {
  int    type;
  char  *a, *b;
  size_t al, bl;
} tok_norm;

/* One pre-tokenizer step. */
typedef struct tok_pre {
  int    type;
  int    prefix_space, use_regex; /* ByteLevel                                             */
  char   rep[8];                  /* Metaspace replacement (UTF-8), and its length          */
  size_t rep_len;
  int    scheme, split; /* Metaspace prepend_scheme, split (Rust: MergedWithNext) */
  /* Split: the matcher of its regex (a split_patterns row) */
  size_t (*match)(const char *s, size_t n);
  int individual; /* Digits: individual_digits (each number character a pre-token of its own) */
} tok_pre;

/* One decoder step. */
typedef struct tok_dec {
  int      type;
  char    *a, *b; /* Replace a by b; Metaspace: a = replacement        */
  size_t   al, bl;
  uint32_t ch; /* Strip: the code point stripped                    */
  int      start, stop, scheme;
} tok_dec;

/* An added token (tokenizer.json "added_tokens"). */
typedef struct tok_added {
  int32_t id;
  char   *match; /* what is matched: the content, or its normalized form (normalized tokens) */
  size_t  match_len;
  int     lstrip, rstrip, special;
  int     normalized; /* matched in the normalized text (needs a normalizer)                    */
} tok_added;

struct tok_json {
  int        byte_fallback, fuse_unk, ignore_merges;
  int32_t    unk;          /* unk_token id, -1 if none or not in the vocabulary          */
  char      *unk_name;     /* unk_token, NULL if none                                    */
  int32_t    byte_id[256]; /* id of "<0xXX>", -1 if absent                               */
  int        n_added;
  tok_added *added;
  /* leftmost-longest matching of added tokens, splitter 0 on raw text, 1 on normalized text:
   * by_byte[k][start[k][c] .. start[k][c+1]) lists the tokens starting with byte c, longest first */
  int32_t  *by_byte[2];
  int32_t   start[2][257];
  int       n_norm;
  tok_norm *norm;
  int       n_pre;
  tok_pre   pre[MAX_PRE];
  int       n_prefix, n_suffix; /* post-processor template: ids before / after the sequence */
  int32_t  *prefix, *suffix;
  int       has_decoder, n_dec;
  tok_dec  *dec;
  int       bytelevel; /* a ByteLevel pre-tokenizer: kind "bpe-bytelevel" */
};

/* ---- GPT-2 byte-level helpers --------------------------------------------------------------------- */

/* GPT-2 bytes_to_unicode: printable bytes map to themselves, the other 68 to U+0100.. in order */
static uint32_t byte_to_cp(unsigned b)
{
  if (b <= 0x20) return 0x100 + b;
  if (b >= 0x7f && b <= 0xa0) return 0x100 + 33 + (b - 0x7f);
  if (b == 0xad) return 0x100 + 67;
  return b;
}

static int cp_to_byte(uint32_t cp) /* -1 if cp is not in the map's image */
{
  if (cp < 0x100) return (cp <= 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad) ? -1 : (int)cp;
  if (cp < 0x100 + 33) return (int)(cp - 0x100);
  if (cp < 0x100 + 67) return (int)(cp - 0x100 - 33 + 0x7f);
  return cp == 0x100 + 67 ? 0xad : -1;
}

enum { CL_LETTER, CL_NUMBER, CL_SPACE, CL_OTHER };

typedef int (*uni_pred)(uint32_t cp); /* a whitespace predicate: which \s a pattern means */

static int cp_class(uint32_t cp, uni_pred is_space)
{
  if (comp_uni_is_letter(cp)) return CL_LETTER;
  if (comp_uni_is_number(cp)) return CL_NUMBER;
  if (is_space(cp)) return CL_SPACE;
  return CL_OTHER;
}

static int class_at(const char *s, size_t n, uni_pred is_space, size_t *l)
{
  return cp_class(comp_utf8_next(s, n, l), is_space);
}

/* \s+(?!\S)|\s+ at a whitespace run of s (n bytes): the run, less its last character when a
 * non-space follows and the run has more than one */
static size_t space_run(const char *s, size_t n, uni_pred is_space)
{
  size_t i = 0, l, last = 0;
  while (i < n && is_space(comp_utf8_next(s + i, n - i, &l))) last = l, i += l;
  return i < n && i > last ? i - last : i;
}

/* Byte length of the next match of the GPT-2 pattern at s (n > 0 bytes, valid UTF-8):
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * The alternatives are tried in order, as a backtracking regex engine does. is_space is \s:
 * ECMAScript's in ByteLevel's built-in pattern, White_Space in a Split pattern. */
static size_t gpt2_match(const char *s, size_t n, uni_pred is_space)
{
  if (s[0] == '\'' && n >= 2) {
    if (s[1] == 's' || s[1] == 't' || s[1] == 'm' || s[1] == 'd') return 2;
    if (n >= 3 && ((s[1] == 'r' && s[2] == 'e') || (s[1] == 'v' && s[2] == 'e') || (s[1] == 'l' && s[2] == 'l')))
      return 3;
  }
  size_t l, i = 0;
  int    cl = class_at(s, n, is_space, &l);
  if (s[0] == ' ' && n > 1) { /* " ?" then a letter, number or other run */
    int c1 = class_at(s + 1, n - 1, is_space, &l);
    if (c1 != CL_SPACE) i = 1, cl = c1;
  }
  if (cl == CL_SPACE) return space_run(s, n, is_space);
  while (i < n && class_at(s + i, n - i, is_space, &l) == cl) i += l;
  return i;
}

static size_t gpt2_next(const char *s, size_t n) { return gpt2_match(s, n, comp_uni_is_space); }
static size_t split_gpt2(const char *s, size_t n) { return gpt2_match(s, n, comp_uni_is_white_space); }

/* The alternatives after the words that Llama-3's, Qwen2's and o200k's patterns share, at s (n > 0
 * bytes, valid UTF-8), \s = White_Space:
 *   \p{N}{1,max_digits}| ?[^\s\p{L}\p{N}]+[tail]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * (tail "\r\n", o200k's "\r\n/"): one match, never empty. */
static size_t number_other_space(const char *s, size_t n, int max_digits, const char *tail)
{
  const uni_pred ws = comp_uni_is_white_space;
  size_t         l0, l, i;
  const uint32_t c0 = comp_utf8_next(s, n, &l0);
  if (cp_class(c0, ws) == CL_NUMBER) { /* \p{N}{1,max_digits} */
    i = l0;
    for (int k = 1; k < max_digits && i < n && class_at(s + i, n - i, ws, &l) == CL_NUMBER; k++) i += l;
    return i;
  }
  /*  ?[^\s\p{L}\p{N}]+[tail]* : other characters, after an optional space, then any of tail's */
  i = c0 == ' ' && l0 < n ? l0 : 0;
  if (class_at(s + i, n - i, ws, &l) == CL_OTHER) {
    while (i < n && class_at(s + i, n - i, ws, &l) == CL_OTHER) i += l;
    while (i < n && s[i] && strchr(tail, s[i])) i++;
    return i;
  }
  /* \s*[\r\n]+ : the whitespace run up to its last CR or LF, if it has one */
  size_t end = 0;
  for (i = 0; i < n && ws(comp_utf8_next(s + i, n - i, &l)); i += l)
    if (s[i] == '\r' || s[i] == '\n') end = i + 1;
  return end ? end : space_run(s, n, ws);
}

/* i plus the length of (?i:'s|'t|'re|'ve|'m|'ll|'d) at s[i] (ASCII letters of either case), or i. */
static size_t contraction_end(const char *s, size_t n, size_t i)
{
  if (i + 1 >= n || s[i] != '\'') return i;
  const int a = s[i + 1] | 0x20, b = i + 2 < n ? s[i + 2] | 0x20 : 0;
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
  return i;
}

/* Byte length of the next match at s (n > 0 bytes, valid UTF-8) of Llama-3's pattern
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
 *   \s*[\r\n]+|\s+(?!\S)|\s+
 * (max_digits 3), or Qwen2's, the same with \p{N} (max_digits 1); alternatives in order, \s =
 * White_Space, (?i:) folding ASCII letters (as @huggingface/tokenizers compiles it). */
static size_t llama3_match(const char *s, size_t n, int max_digits)
{
  const uni_pred ws = comp_uni_is_white_space;
  size_t         l0, l, i = contraction_end(s, n, 0); /* a contraction, either case */
  if (i) return i;
  const uint32_t c0 = comp_utf8_next(s, n, &l0);
  const int      k0 = cp_class(c0, ws), crlf0 = c0 == '\r' || c0 == '\n';
  /* [^\r\n\p{L}\p{N}]?\p{L}+ : letters, after one optional character that is none of those */
  i = k0 != CL_LETTER && k0 != CL_NUMBER && !crlf0 && l0 < n ? l0 : 0;
  if (class_at(s + i, n - i, ws, &l) == CL_LETTER) {
    while (i < n && class_at(s + i, n - i, ws, &l) == CL_LETTER) i += l;
    return i;
  }
  return number_other_space(s, n, max_digits, "\r\n");
}

static size_t split_llama3(const char *s, size_t n) { return llama3_match(s, n, 3); }
static size_t split_qwen2(const char *s, size_t n) { return llama3_match(s, n, 1); }

/* o200k's word classes: U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}], L = [\p{Ll}\p{Lm}\p{Lo}\p{M}] */
static int in_upper_set(const char *s, size_t n, size_t *l)
{
  const comp_uni_case c = comp_uni_letter_case(comp_utf8_next(s, n, l));
  return c == COMP_UNI_UPPER || c == COMP_UNI_OTHER_LETTER || c == COMP_UNI_MARK;
}
static int in_lower_set(const char *s, size_t n, size_t *l)
{
  const comp_uni_case c = comp_uni_letter_case(comp_utf8_next(s, n, l));
  return c == COMP_UNI_LOWER || c == COMP_UNI_OTHER_LETTER || c == COMP_UNI_MARK;
}

/* The end of a greedy run of set's characters in s[i, n). */
static size_t run_end(const char *s, size_t n, size_t i, int (*set)(const char *, size_t, size_t *))
{
  size_t l;
  while (i < n && set(s + i, n - i, &l)) i += l;
  return i;
}

/* The end of o200k's first (alt 1) or second word alternative at s[st, n), the optional prefix
 * already taken; 0 for no match. Alt 1, U*L+: U* gives back characters from the end of its greedy run
 * until an L character starts L+ (a U character is in L when it is Lm, Lo or M). Alt 2, U+L*. */
static size_t o200k_word(const char *s, size_t n, size_t st, int alt)
{
  const size_t a = run_end(s, n, st, in_upper_set);
  size_t       l;
  if (alt == 2) return a > st ? contraction_end(s, n, run_end(s, n, a, in_lower_set)) : 0;
  for (size_t k = a;; k -= l) { /* k: where L+ would start, from the end of U*'s run back to st */
    if (k < n && in_lower_set(s + k, n - k, &l)) return contraction_end(s, n, run_end(s, n, k, in_lower_set));
    if (k == st) return 0;
    comp_utf8_prev(s, k, &l);
  }
}

/* Byte length of the next match at s (n > 0 bytes, valid UTF-8) of the o200k (GPT-4o; Phi-4-mini)
 * pattern
 *   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
 *   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
 *   \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * alternatives in order, each word alternative first with its optional prefix character, then
 * without (a mark is in the prefix's class and in both word classes); \s = White_Space. */
static size_t split_o200k(const char *s, size_t n)
{
  size_t         l0;
  const uint32_t c0     = comp_utf8_next(s, n, &l0);
  const int      k0     = cp_class(c0, comp_uni_is_white_space);
  const int      prefix = k0 != CL_LETTER && k0 != CL_NUMBER && c0 != '\r' && c0 != '\n';
  for (int alt = 1; alt <= 2; alt++)
    for (int pre = prefix; pre >= 0; pre--) {
      const size_t e = o200k_word(s, n, pre ? l0 : 0, alt);
      if (e) return e;
    }
  return number_other_space(s, n, 3, "\r\n/");
}

/* BLOOM's  ?[^(\s|[.,!?…。，、।۔،])]+ : an optional space, then a run of characters other than White_Space,
 * ( ) | and the 11 punctuation marks of the nested class (Oniguruma reads [...] inside a class as a
 * nested set, as the npm tokenizers' normalize_bloom_split_char_class spells out). */
static int bloom_excluded(uint32_t c)
{
  static const uint32_t punct[] = {'(',    ')',    '|',    '.',    ',',    '!',    '?',
                                   0x2026, 0x3002, 0xFF0C, 0x3001, 0x0964, 0x06D4, 0x060C};
  for (size_t i = 0; i < sizeof punct / sizeof punct[0]; i++)
    if (c == punct[i]) return 1;
  return comp_uni_is_white_space(c);
}
/* Falcon's "[0-9][0-9][0-9]": three ASCII digits */
static size_t split_three_digits(const char *s, size_t n)
{
  for (size_t i = 0; i < 3; i++)
    if (i >= n || s[i] < '0' || s[i] > '9') return 0;
  return 3;
}
static size_t split_bloom(const char *s, size_t n)
{
  size_t l, i = s[0] == ' ' ? 1 : 0, j; /* a space is excluded from the run: no backtracking to do */
  for (j = i; j < n && !bloom_excluded(comp_utf8_next(s + j, n - j, &l)); j += l) {
  }
  return j > i ? j : 0;
}

/* The Split pre-tokenizer regexes comp knows, one row per pattern, found by the pattern's exact text
 * in tokenizer.json (llama.cpp's unicode_regex_split does the same); each row's matcher returns the
 * byte length of the match at s, 0 for none. */
typedef size_t (*split_match_fn)(const char *s, size_t n);
static const struct split_pattern {
  const char    *name, *regex;
  split_match_fn match;
} split_patterns[] = {
    {"GPT-2", "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", split_gpt2},
    {"Llama-3",
     "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
     "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
     "\\s+(?!\\S)|\\s+",
     split_llama3},
    {"Qwen2",
     "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
     "\\s+(?!\\S)|\\s+",
     split_qwen2},
    {"o200k",
     "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'"
     "ll|'d)?|"
     "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'"
     "ll|'d)?|"
     "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     split_o200k},
    {"BLOOM", " ?[^(\\s|[.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C])]+", split_bloom},
    {"Falcon digits", "[0-9][0-9][0-9]", split_three_digits},
};
enum { N_SPLIT_PATTERNS = (int)(sizeof split_patterns / sizeof split_patterns[0]) };

/* ---- loading ---------------------------------------------------------------------------------------- */

static const cJSON *jget(const cJSON *o, const char *key) { return cJSON_GetObjectItemCaseSensitive(o, key); }
static const char  *jstr(const cJSON *o, const char *key) { return cJSON_GetStringValue(jget(o, key)); }
static int          jnull(const cJSON *o) { return !o || cJSON_IsNull(o); }
static int          jtrue(const cJSON *o, const char *key) { return cJSON_IsTrue(jget(o, key)); }
static const char  *jtype(const cJSON *o)
{
  const char *ty = jstr(o, "type");
  return ty ? ty : "(no type)";
}
static int jint(const cJSON *o, int64_t lo, int64_t hi, int64_t *v)
{
  if (!cJSON_IsNumber(o) || o->valuedouble != (double)(int64_t)o->valuedouble) return 0;
  *v = (int64_t)o->valuedouble;
  return *v >= lo && *v <= hi;
}

static comp_status dup_bytes(const char *s, size_t n, char **out)
{
  *out = malloc(n + 1);
  COMP_CHECK(*out, COMP_ERR_NOMEM, "out of memory");
  memcpy(*out, s, n);
  (*out)[n] = '\0';
  return COMP_OK;
}

/* The String of a {"String": ...} pattern; a Regex pattern is not supported. */
static comp_status string_pattern(const cJSON *pat, const char *path, const char *what, const char **out)
{
  *out = jstr(pat, "String");
  COMP_CHECK(*out || !jget(pat, "Regex"), COMP_ERR_UNSUPPORTED,
             "%s: %s with a Regex pattern is not supported (String patterns only)", path, what);
  COMP_CHECK(*out, COMP_ERR_FORMAT, "%s: %s has no String pattern", path, what);
  COMP_CHECK(**out, COMP_ERR_UNSUPPORTED, "%s: %s with an empty pattern is not supported", path, what);
  return COMP_OK;
}

static comp_status parse_normalizer(tok_json *j, const cJSON *n, const char *path)
{
  if (jnull(n)) return COMP_OK;
  const char *ty = jtype(n);
  if (strcmp(ty, "Sequence") == 0) {
    const cJSON *list = jget(n, "normalizers"), *e;
    COMP_CHECK(cJSON_IsArray(list), COMP_ERR_FORMAT, "%s: normalizer Sequence without a normalizers list", path);
    cJSON_ArrayForEach(e, list) COMP_CALL(parse_normalizer(j, e, path));
    return COMP_OK;
  }
  tok_norm *g = realloc(j->norm, sizeof *g * (size_t)(j->n_norm + 1));
  COMP_CHECK(g, COMP_ERR_NOMEM, "out of memory");
  j->norm      = g;
  tok_norm *st = memset(&j->norm[j->n_norm++], 0, sizeof *st);
  if (strcmp(ty, "Prepend") == 0) {
    const char *p = jstr(n, "prepend");
    COMP_CHECK(p, COMP_ERR_FORMAT, "%s: normalizer Prepend without a prepend string", path);
    st->type = N_PREPEND, st->al = strlen(p);
    return dup_bytes(p, st->al, &st->a);
  }
  if (strcmp(ty, "Replace") == 0) {
    const char *pat, *content = jstr(n, "content");
    COMP_CALL(string_pattern(jget(n, "pattern"), path, "normalizer Replace", &pat));
    COMP_CHECK(content, COMP_ERR_FORMAT, "%s: normalizer Replace without content", path);
    st->type = N_REPLACE, st->al = strlen(pat), st->bl = strlen(content);
    COMP_CALL(dup_bytes(pat, st->al, &st->a));
    return dup_bytes(content, st->bl, &st->b);
  }
  if (strcmp(ty, "NFC") == 0) {
    st->type = N_NFC;
    return COMP_OK;
  }
  j->n_norm--;
  return comp_error_set(COMP_ERR_UNSUPPORTED,
                        "%s: normalizer %s is not supported (supported: Sequence, Prepend, Replace, NFC)", path, ty);
}

static comp_status parse_scheme(const cJSON *o, const char *path, const char *what, int *scheme)
{
  const char *ps = jstr(o, "prepend_scheme");
  if (!ps) { /* older files: add_prefix_space */
    *scheme = cJSON_IsFalse(jget(o, "add_prefix_space")) ? SCHEME_NEVER : SCHEME_ALWAYS;
    return COMP_OK;
  }
  *scheme = strcmp(ps, "always") == 0  ? SCHEME_ALWAYS
            : strcmp(ps, "first") == 0 ? SCHEME_FIRST
            : strcmp(ps, "never") == 0 ? SCHEME_NEVER
                                       : -1;
  COMP_CHECK(*scheme >= 0, COMP_ERR_UNSUPPORTED, "%s: %s prepend_scheme \"%s\" is not supported", path, what, ps);
  return COMP_OK;
}

static comp_status parse_replacement(const cJSON *o, const char *path, const char *what, char *rep, size_t *rep_len)
{
  const char *r = jstr(o, "replacement");
  if (!r) r = META;
  size_t l;
  COMP_CHECK(*r && strlen(r) < 8 && (comp_utf8_next(r, strlen(r), &l), l == strlen(r)), COMP_ERR_UNSUPPORTED,
             "%s: %s replacement must be one character", path, what);
  memcpy(rep, r, l + 1);
  *rep_len = l;
  return COMP_OK;
}

/* A Split pre-tokenizer: one of split_patterns' regexes, behavior Isolated (matches and the text
 * between them are pre-tokens of their own), not inverted. */
static comp_status parse_split(const cJSON *p, const char *path, split_match_fn *match)
{
  const char *re = jstr(jget(p, "pattern"), "Regex"), *behavior = jstr(p, "behavior");
  COMP_CHECK(re, COMP_ERR_UNSUPPORTED, "%s: pre_tokenizer Split without a Regex pattern is not supported", path);
  COMP_CHECK(behavior && strcmp(behavior, "Isolated") == 0 && !jtrue(p, "invert"), COMP_ERR_UNSUPPORTED,
             "%s: pre_tokenizer Split with behavior %s%s is not supported (Isolated, not inverted)", path,
             behavior ? behavior : "(none)", jtrue(p, "invert") ? ", inverted," : "");
  char known[64] = "";
  for (int k = 0; k < N_SPLIT_PATTERNS; k++) {
    if (strcmp(re, split_patterns[k].regex) == 0) return *match = split_patterns[k].match, COMP_OK;
    snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "", split_patterns[k].name);
  }
  return comp_error_set(COMP_ERR_UNSUPPORTED, "%s: pre_tokenizer Split regex \"%.60s%s\" is not one comp knows (%s)",
                        path, re, strlen(re) > 60 ? "..." : "", known);
}

static comp_status parse_pre_tokenizer(tok_json *j, const cJSON *p, const char *path)
{
  if (jnull(p)) return COMP_OK;
  const char *ty = jtype(p);
  if (strcmp(ty, "Sequence") == 0) {
    const cJSON *list = jget(p, "pretokenizers"), *e;
    COMP_CHECK(cJSON_IsArray(list), COMP_ERR_FORMAT, "%s: pre_tokenizer Sequence without a pretokenizers list", path);
    cJSON_ArrayForEach(e, list) COMP_CALL(parse_pre_tokenizer(j, e, path));
    return COMP_OK;
  }
  COMP_CHECK(j->n_pre < MAX_PRE, COMP_ERR_UNSUPPORTED, "%s: more than %d pre-tokenizers", path, MAX_PRE);
  tok_pre *st = memset(&j->pre[j->n_pre], 0, sizeof j->pre[0]);
  if (strcmp(ty, "ByteLevel") == 0) {
    st->type         = P_BYTELEVEL;
    st->prefix_space = jtrue(p, "add_prefix_space");
    st->use_regex    = !cJSON_IsFalse(jget(p, "use_regex"));
    j->bytelevel     = 1;
  } else if (strcmp(ty, "Metaspace") == 0) {
    st->type  = P_METASPACE;
    st->split = !cJSON_IsFalse(jget(p, "split"));
    COMP_CALL(parse_replacement(p, path, "pre_tokenizer Metaspace", st->rep, &st->rep_len));
    COMP_CALL(parse_scheme(p, path, "pre_tokenizer Metaspace", &st->scheme));
  } else if (strcmp(ty, "Split") == 0) {
    st->type = P_SPLIT;
    COMP_CALL(parse_split(p, path, &st->match));
  } else if (strcmp(ty, "Punctuation") == 0) { /* Falcon's */
    const char *behavior = jstr(p, "behavior");
    COMP_CHECK(behavior && strcmp(behavior, "Contiguous") == 0, COMP_ERR_UNSUPPORTED,
               "%s: pre_tokenizer Punctuation with behavior %s is not supported (Contiguous)", path,
               behavior ? behavior : "(none)");
    st->type = P_PUNCT;
  } else if (strcmp(ty, "Digits") == 0) {
    st->type       = P_DIGITS;
    st->individual = jtrue(p, "individual_digits");
  } else {
    return comp_error_set(COMP_ERR_UNSUPPORTED,
                          "%s: pre_tokenizer %s is not supported (supported: Sequence, ByteLevel, Metaspace, Split, "
                          "Punctuation, Digits)",
                          path, ty);
  }
  j->n_pre++;
  return COMP_OK;
}

/* TemplateProcessing "single": special tokens before and after Sequence A */
static comp_status parse_template(comp_tokenizer *t, const cJSON *pp, const char *path)
{
  tok_json    *j      = t->json;
  const cJSON *single = jget(pp, "single"), *specials = jget(pp, "special_tokens"), *e;
  COMP_CHECK(cJSON_IsArray(single), COMP_ERR_FORMAT, "%s: TemplateProcessing without a \"single\" template", path);
  int seen_a = 0;
  cJSON_ArrayForEach(e, single)
  {
    const cJSON *st = jget(e, "SpecialToken"), *sq = jget(e, "Sequence");
    if (sq) {
      const char *id = jstr(sq, "id");
      COMP_CHECK(id && strcmp(id, "A") == 0 && !seen_a, COMP_ERR_FORMAT,
                 "%s: the single template must hold Sequence A once", path);
      seen_a = 1;
      continue;
    }
    const char *name = jstr(st, "id");
    COMP_CHECK(name, COMP_ERR_FORMAT, "%s: a TemplateProcessing item is neither SpecialToken nor Sequence", path);
    const cJSON *ids    = jget(jget(specials, name), "ids"), *i;
    int32_t      one[1] = {-1};
    int          n      = 0;
    if (cJSON_IsArray(ids))
      n = cJSON_GetArraySize(ids);
    else
      one[0] = tok_vocab_find(&t->v, name, strlen(name));
    COMP_CHECK(n > 0 || one[0] >= 0, COMP_ERR_FORMAT, "%s: template special token \"%s\" has no id", path, name);
    int32_t **list = seen_a ? &j->suffix : &j->prefix;
    int      *cnt  = seen_a ? &j->n_suffix : &j->n_prefix;
    int32_t  *g    = realloc(*list, sizeof *g * (size_t)(*cnt + (n ? n : 1)));
    COMP_CHECK(g, COMP_ERR_NOMEM, "out of memory");
    *list = g;
    if (!n) g[(*cnt)++] = one[0];
    cJSON_ArrayForEach(i, ids)
    {
      int64_t v;
      COMP_CHECK(jint(i, 0, t->v.n - 1, &v), COMP_ERR_FORMAT,
                 "%s: template token \"%s\" has an id outside the vocabulary", path, name);
      g[(*cnt)++] = (int32_t)v;
    }
  }
  COMP_CHECK(seen_a, COMP_ERR_FORMAT, "%s: the single template has no Sequence A", path);
  return COMP_OK;
}

static comp_status parse_post_processor(comp_tokenizer *t, const cJSON *pp, const char *path)
{
  if (jnull(pp)) return COMP_OK;
  const char *ty = jtype(pp);
  if (strcmp(ty, "Sequence") == 0) {
    const cJSON *list = jget(pp, "processors"), *e;
    COMP_CHECK(cJSON_IsArray(list), COMP_ERR_FORMAT, "%s: post_processor Sequence without a processors list", path);
    cJSON_ArrayForEach(e, list) COMP_CALL(parse_post_processor(t, e, path));
    return COMP_OK;
  }
  if (strcmp(ty, "ByteLevel") == 0) return COMP_OK; /* offsets only: ids unchanged */
  if (strcmp(ty, "TemplateProcessing") == 0) {
    COMP_CHECK(!t->json->n_prefix && !t->json->n_suffix, COMP_ERR_UNSUPPORTED, "%s: more than one TemplateProcessing",
               path);
    return parse_template(t, pp, path);
  }
  return comp_error_set(COMP_ERR_UNSUPPORTED,
                        "%s: post_processor %s is not supported (supported: TemplateProcessing, ByteLevel, Sequence)",
                        path, ty);
}

static comp_status parse_decoder(tok_json *j, const cJSON *d, const char *path)
{
  if (jnull(d)) return COMP_OK;
  j->has_decoder = 1;
  const char *ty = jtype(d);
  if (strcmp(ty, "Sequence") == 0) {
    const cJSON *list = jget(d, "decoders"), *e;
    COMP_CHECK(cJSON_IsArray(list), COMP_ERR_FORMAT, "%s: decoder Sequence without a decoders list", path);
    cJSON_ArrayForEach(e, list) COMP_CALL(parse_decoder(j, e, path));
    return COMP_OK;
  }
  tok_dec *g = realloc(j->dec, sizeof *g * (size_t)(j->n_dec + 1));
  COMP_CHECK(g, COMP_ERR_NOMEM, "out of memory");
  j->dec      = g;
  tok_dec *st = memset(&j->dec[j->n_dec++], 0, sizeof *st);
  if (strcmp(ty, "Replace") == 0) {
    const char *pat, *content = jstr(d, "content");
    COMP_CALL(string_pattern(jget(d, "pattern"), path, "decoder Replace", &pat));
    COMP_CHECK(content, COMP_ERR_FORMAT, "%s: decoder Replace without content", path);
    st->type = D_REPLACE, st->al = strlen(pat), st->bl = strlen(content);
    COMP_CALL(dup_bytes(pat, st->al, &st->a));
    return dup_bytes(content, st->bl, &st->b);
  }
  if (strcmp(ty, "ByteFallback") == 0) return st->type = D_BYTEFALLBACK, COMP_OK;
  if (strcmp(ty, "Fuse") == 0) return st->type = D_FUSE, COMP_OK;
  if (strcmp(ty, "ByteLevel") == 0) return st->type = D_BYTELEVEL, COMP_OK;
  if (strcmp(ty, "Strip") == 0) {
    const char *c = jstr(d, "content");
    int64_t     a = 0, b = 0;
    size_t      l = 0;
    COMP_CHECK(c && *c && (comp_utf8_next(c, strlen(c), &l), l == strlen(c)), COMP_ERR_UNSUPPORTED,
               "%s: decoder Strip content must be one character", path);
    COMP_CHECK((!jget(d, "start") || jint(jget(d, "start"), 0, 1 << 20, &a)) &&
                   (!jget(d, "stop") || jint(jget(d, "stop"), 0, 1 << 20, &b)),
               COMP_ERR_FORMAT, "%s: decoder Strip start/stop must be counts", path);
    st->type = D_STRIP, st->ch = comp_utf8_next(c, l, &l), st->start = (int)a, st->stop = (int)b;
    return COMP_OK;
  }
  if (strcmp(ty, "Metaspace") == 0) {
    char   rep[8];
    size_t rl;
    st->type = D_METASPACE;
    COMP_CALL(parse_replacement(d, path, "decoder Metaspace", rep, &rl));
    COMP_CALL(parse_scheme(d, path, "decoder Metaspace", &st->scheme));
    st->al = rl;
    return dup_bytes(rep, rl, &st->a);
  }
  j->n_dec--;
  return comp_error_set(COMP_ERR_UNSUPPORTED,
                        "%s: decoder %s is not supported (supported: Sequence, Replace, ByteFallback, Fuse, Strip, "
                        "ByteLevel, Metaspace)",
                        path, ty);
}

static comp_status norm_apply(const tok_json *j, const char *s, size_t n, char **buf, size_t *cap, size_t *out_n,
                              const char **out);

/* by_byte / start for splitter k over the added tokens with normalized == k */
static comp_status build_splitter(tok_json *j, int k)
{
  int32_t *cnt = j->start[k];
  memset(j->start[k], 0, sizeof j->start[k]);
  for (int i = 0; i < j->n_added; i++)
    if (j->added[i].normalized == k && j->added[i].match_len) cnt[(unsigned char)j->added[i].match[0] + 1]++;
  for (int c = 0; c < 256; c++) cnt[c + 1] += cnt[c];
  j->by_byte[k] = malloc(sizeof(int32_t) * (size_t)(cnt[256] + 1));
  COMP_CHECK(j->by_byte[k], COMP_ERR_NOMEM, "out of memory");
  int32_t fill[256];
  memcpy(fill, cnt, sizeof fill);
  for (int i = 0; i < j->n_added; i++)
    if (j->added[i].normalized == k && j->added[i].match_len) {
      int32_t *list = j->by_byte[k] + cnt[(unsigned char)j->added[i].match[0]];
      int32_t  at   = fill[(unsigned char)j->added[i].match[0]]++ - cnt[(unsigned char)j->added[i].match[0]];
      while (at > 0 && j->added[list[at - 1]].match_len < j->added[i].match_len) list[at] = list[at - 1], at--;
      list[at] = i; /* longest first; among equal lengths the earlier token first */
    }
  return COMP_OK;
}

static comp_status load_added(comp_tokenizer *t, const cJSON *added, const char *path)
{
  tok_json    *j = t->json;
  const cJSON *e;
  j->n_added = cJSON_GetArraySize(added);
  j->added   = calloc((size_t)j->n_added + 1, sizeof *j->added);
  COMP_CHECK(j->added, COMP_ERR_NOMEM, "out of memory");
  int k = 0;
  cJSON_ArrayForEach(e, added)
  {
    tok_added  *a = &j->added[k++];
    const char *c = jstr(e, "content");
    int64_t     id;
    COMP_CHECK(c && *c && jint(jget(e, "id"), 0, t->v.n - 1, &id), COMP_ERR_FORMAT,
               "%s: added_tokens entry %d needs a non-empty content and an id", path, k - 1);
    COMP_CHECK(!jtrue(e, "single_word"), COMP_ERR_UNSUPPORTED, "%s: added token \"%s\" has single_word (not supported)",
               path, c);
    a->id      = (int32_t)id;
    a->special = jtrue(e, "special");
    a->lstrip = jtrue(e, "lstrip"), a->rstrip = jtrue(e, "rstrip");
    const cJSON *nz = jget(e, "normalized");
    a->normalized   = (cJSON_IsBool(nz) ? cJSON_IsTrue(nz) : !a->special) && j->n_norm > 0;
    if (a->special) t->special[a->id] = 1;
    const char *m;
    size_t      ml;
    char       *buf = NULL;
    size_t      cap = 0;
    if (a->normalized)
      COMP_CALL(norm_apply(j, c, strlen(c), &buf, &cap, &ml, &m));
    else
      m = c, ml = strlen(c);
    comp_status s = dup_bytes(m, ml, &a->match);
    a->match_len  = ml;
    free(buf);
    COMP_CALL(s);
  }
  COMP_CALL(build_splitter(j, 0));
  return build_splitter(j, 1);
}

/* eos (and bos if the template adds none) from tokenizer_config.json beside the file, if any */
static void read_config_specials(comp_tokenizer *t, const char *path)
{
  cJSON      *cfg     = tok_config_beside(path);
  const char *keys[2] = {"bos_token", "eos_token"};
  int32_t    *dst[2]  = {&t->bos, &t->eos};
  for (int k = 0; cfg && k < 2; k++) {
    const cJSON *v    = jget(cfg, keys[k]);
    const char  *name = cJSON_IsString(v) ? v->valuestring : jstr(v, "content");
    if (name && *dst[k] < 0) *dst[k] = tok_vocab_find(&t->v, name, strlen(name));
  }
  cJSON_Delete(cfg);
}

comp_status tok_json_load(comp_tokenizer *t, const char *path)
{
  char  *buf = NULL, *ab = NULL;
  size_t n = 0, ab_cap = 0;
  t->kind = TOK_JSON;
  COMP_CALL(comp_read_file(path, &buf, &n));
  const char *end  = NULL;
  cJSON      *root = cJSON_ParseWithLengthOpts(buf, n, &end, 0);
  size_t      at   = end && end >= buf && end <= buf + n ? (size_t)(end - buf) : 0;
  free(buf);
  COMP_CHECK(root, COMP_ERR_FORMAT, "%s: malformed JSON (parse error near byte %zu)", path, at);
  comp_status s = COMP_OK;
#define FAIL(st, ...)                                                                                                  \
  do {                                                                                                                 \
    s = comp_error_set(st, __VA_ARGS__);                                                                               \
    goto done;                                                                                                         \
  } while (0)
#define TRY(expr)                                                                                                      \
  do {                                                                                                                 \
    if ((s = (expr))) goto done;                                                                                       \
  } while (0)
  tok_json *j = t->json = calloc(1, sizeof *t->json);
  if (!j) FAIL(COMP_ERR_NOMEM, "out of memory");
  j->unk             = -1;
  const cJSON *model = jget(root, "model"), *vocab = jget(model, "vocab"), *merges = jget(model, "merges");
  const cJSON *added = jget(root, "added_tokens"), *e;
  if (!cJSON_IsObject(root) || !cJSON_IsObject(model)) FAIL(COMP_ERR_FORMAT, "%s: no \"model\" object", path);
  const char *mtype = jstr(model, "type");
  if (mtype && strcmp(mtype, "BPE") != 0)
    FAIL(COMP_ERR_UNSUPPORTED, "%s: model type %s is not supported (BPE only)", path, mtype);
  if (!cJSON_IsObject(vocab) || !cJSON_IsArray(merges))
    FAIL(COMP_ERR_FORMAT, "%s: the BPE model needs a \"vocab\" object and a \"merges\" list", path);
  const char *unsupported_keys[] = {"continuing_subword_prefix", "end_of_word_suffix"};
  for (int k = 0; k < 2; k++)
    if (!jnull(jget(model, unsupported_keys[k])) &&
        !(cJSON_IsString(jget(model, unsupported_keys[k])) && !*jstr(model, unsupported_keys[k])))
      FAIL(COMP_ERR_UNSUPPORTED, "%s: model.%s is not supported (must be null)", path, unsupported_keys[k]);
  const cJSON *dropout = jget(model, "dropout");
  if (!jnull(dropout) && !(cJSON_IsNumber(dropout) && dropout->valuedouble == 0))
    FAIL(COMP_ERR_UNSUPPORTED, "%s: BPE dropout is not supported (must be null)", path);
  if (!jnull(added) && !cJSON_IsArray(added)) FAIL(COMP_ERR_FORMAT, "%s: added_tokens is not a list", path);

  /* vocabulary: model.vocab, then added tokens (which win lookups of their content) */
  int64_t max_id = -1, id;
  cJSON_ArrayForEach(e, vocab)
  {
    if (!jint(e, 0, (1 << 24) - 1, &id)) FAIL(COMP_ERR_FORMAT, "%s: vocab entry \"%s\" has a bad id", path, e->string);
    max_id = id > max_id ? id : max_id;
  }
  cJSON_ArrayForEach(e, added) if (jint(jget(e, "id"), 0, (1 << 24) - 1, &id) && id > max_id) max_id = id;
  if (max_id < 0) FAIL(COMP_ERR_FORMAT, "%s: empty vocabulary", path);
  TRY(tok_vocab_alloc(&t->v, (int32_t)max_id + 1));
  if (!(t->special = calloc((size_t)t->v.n, 1))) FAIL(COMP_ERR_NOMEM, "out of memory");
  cJSON_ArrayForEach(e, vocab) TRY(tok_vocab_set(&t->v, (int32_t)e->valueint, e->string, strlen(e->string)));
  cJSON_ArrayForEach(e, added)
  {
    const char *c = jstr(e, "content");
    if (c && jint(jget(e, "id"), 0, max_id, &id)) TRY(tok_vocab_set(&t->v, (int32_t)id, c, strlen(c)));
  }
  TRY(tok_vocab_index(&t->v));
  cJSON_ArrayForEach(e, added) if (jint(jget(e, "id"), 0, max_id, &id)) tok_vocab_claim(&t->v, (int32_t)id);

  /* merges by rank, "a b" strings or ["a", "b"] pairs; a later duplicate replaces an earlier one */
  TRY(tok_pairs_init(&t->pairs, cJSON_GetArraySize(merges)));
  int rank = 0;
  cJSON_ArrayForEach(e, merges)
  {
    const char *a = NULL, *b = NULL, *sp;
    size_t      al = 0, bl = 0;
    if (cJSON_IsString(e) && (sp = strchr(e->valuestring, ' ')) && !strchr(sp + 1, ' '))
      a = e->valuestring, al = (size_t)(sp - a), b = sp + 1, bl = strlen(b);
    else if (cJSON_GetArraySize(e) == 2 && cJSON_IsString(e->child) && cJSON_IsString(e->child->next))
      a = e->child->valuestring, al = strlen(a), b = e->child->next->valuestring, bl = strlen(b);
    else
      FAIL(COMP_ERR_FORMAT, "%s: merge %d is neither \"a b\" nor [\"a\", \"b\"]", path, rank);
    if (al + bl + 1 > ab_cap) {
      ab_cap  = 2 * (al + bl + 1);
      char *g = realloc(ab, ab_cap);
      if (!g) FAIL(COMP_ERR_NOMEM, "out of memory");
      ab = g;
    }
    memcpy(ab, a, al), memcpy(ab + al, b, bl);
    int32_t ia = tok_vocab_find(&t->v, a, al), ib = tok_vocab_find(&t->v, b, bl),
            ir = tok_vocab_find(&t->v, ab, al + bl);
    if (ia < 0 || ib < 0 || ir < 0)
      FAIL(COMP_ERR_FORMAT, "%s: merge %d (\"%.*s\" + \"%.*s\"): \"%.*s\" is not in the vocabulary", path, rank,
           (int)al, a, (int)bl, b,
           ia < 0   ? (int)al
           : ib < 0 ? (int)bl
                    : (int)(al + bl),
           ia < 0   ? a
           : ib < 0 ? b
                    : ab);
    tok_pairs_put(&t->pairs, ia, ib, ir, -(double)rank);
    rank++;
  }
  j->byte_fallback = jtrue(model, "byte_fallback");
  j->fuse_unk      = jtrue(model, "fuse_unk");
  j->ignore_merges = jtrue(model, "ignore_merges");
  const char *unk  = jstr(model, "unk_token");
  if (unk) {
    TRY(dup_bytes(unk, strlen(unk), &j->unk_name));
    j->unk = tok_vocab_find(&t->v, unk, strlen(unk));
  }
  for (int c = 0; c < 256; c++) {
    char hex[8];
    snprintf(hex, sizeof hex, "<0x%02X>", c);
    j->byte_id[c] = tok_vocab_find(&t->v, hex, 6);
  }

  TRY(parse_normalizer(j, jget(root, "normalizer"), path));
  TRY(parse_pre_tokenizer(j, jget(root, "pre_tokenizer"), path));
  TRY(parse_post_processor(t, jget(root, "post_processor"), path));
  TRY(parse_decoder(j, jget(root, "decoder"), path));
  TRY(load_added(t, added, path));
  if (j->n_prefix) t->bos = j->prefix[0];
  t->prefix   = j->prefix;
  t->n_prefix = j->n_prefix;
  read_config_specials(t, path);
  const char *eos_names[] = {"</s>", "<|endoftext|>", "<|end_of_text|>"};
  for (int k = 0; k < 3 && t->eos < 0; k++) {
    int32_t v = tok_vocab_find(&t->v, eos_names[k], strlen(eos_names[k]));
    if (v >= 0 && t->special[v]) t->eos = v;
  }
done:
#undef FAIL
#undef TRY
  free(ab);
  cJSON_Delete(root);
  return s;
}

void tok_json_free(tok_json *j)
{
  if (!j) return;
  for (int i = 0; i < j->n_added; i++) free(j->added[i].match);
  for (int i = 0; i < j->n_norm; i++) free(j->norm[i].a), free(j->norm[i].b);
  for (int i = 0; i < j->n_dec; i++) free(j->dec[i].a), free(j->dec[i].b);
  free(j->added), free(j->by_byte[0]), free(j->by_byte[1]), free(j->norm), free(j->dec);
  free(j->prefix), free(j->suffix), free(j->unk_name);
  free(j);
}

int tok_json_bytelevel(const tok_json *j) { return j->bytelevel; }

/* ---- encoding --------------------------------------------------------------------------------------- */

static comp_status grow(char **buf, size_t *cap, size_t need)
{
  if (need <= *cap) return COMP_OK;
  size_t c = need + need / 2 + 64;
  char  *g = realloc(*buf, c);
  COMP_CHECK(g, COMP_ERR_NOMEM, "out of memory (%zu bytes)", c);
  *buf = g, *cap = c;
  return COMP_OK;
}

/* Normalize s[0, n) with every step. *out is s itself when nothing changes, else a pointer into
 * *buf (grown as needed; it holds two halves used alternately by successive steps). */
static comp_status norm_apply(const tok_json *j, const char *s, size_t n, char **buf, size_t *cap, size_t *out_n,
                              const char **out)
{
  const char *cur = s;
  size_t      cn = n, half = 0;
  int         side = 0;
  for (int k = 0; k < j->n_norm; k++) {
    const tok_norm *st   = &j->norm[k];
    size_t          need = cn;
    if (st->type == N_NFC) { /* NFC: the identity unless a character may change */
      size_t i = 0, l;
      while (i < cn && comp_uni_nfc_inert(comp_utf8_next(cur + i, cn - i, &l))) i += l;
      if (i == cn) continue;
      need = 3 * cn;
    } else if (st->type == N_PREPEND)
      need = cn + st->al;
    else { /* N_REPLACE: count the matches first */
      size_t hits = 0;
      for (size_t i = 0; i + st->al <= cn;)
        if (memcmp(cur + i, st->a, st->al) == 0)
          hits++, i += st->al;
        else
          i++;
      if (!hits) continue;
      need = cn + hits * st->bl;
    }
    if (need > half) { /* both halves must fit; cur may live in the buffer */
      size_t off = cur == s ? (size_t)-1 : (size_t)(cur - *buf);
      COMP_CALL(grow(buf, cap, 2 * need));
      if (off != (size_t)-1) { /* keep the current text: move it to the new second half */
        memmove(*buf + need, *buf + off, cn);
        cur = *buf + need, side = 0;
      }
      half = need;
    }
    char  *dst = *buf + (side ? half : 0);
    size_t o   = 0;
    if (st->type == N_NFC) {
      uint32_t *w = malloc(2 * cn * sizeof *w); /* (2 cn) code points */
      COMP_CHECK(w, COMP_ERR_NOMEM, "normalizer NFC: out of memory");
      o = comp_uni_nfc(cur, cn, dst, w);
      free(w);
    } else if (st->type == N_PREPEND) {
      memcpy(dst, st->a, st->al);
      memcpy(dst + st->al, cur, cn);
      o = st->al + cn;
    } else {
      for (size_t i = 0; i < cn;)
        if (i + st->al <= cn && memcmp(cur + i, st->a, st->al) == 0)
          memcpy(dst + o, st->b, st->bl), o += st->bl, i += st->al;
        else
          dst[o++] = cur[i++];
    }
    cur = dst, cn = o, side = !side;
  }
  *out   = cur;
  *out_n = cn;
  return COMP_OK;
}

/* A piece of the text after splitting on added tokens. */
typedef struct span {
  size_t  off, len;
  int32_t added; /* index into added, -1 for text */
} span;

/* The state of one encode call. */
typedef struct enc {
  const comp_tokenizer *t;
  const tok_json       *j;
  tok_ids              *out;
  tok_work              w;
  int32_t              *sym, *orig; /* (sym_cap) BPE symbols of one word, their input index     */
  size_t               *off;        /* (sym_cap) byte offset of each input symbol                */
  int64_t               sym_cap;
  char                 *nbuf; /* normalizer output                                        */
  size_t                nbuf_cap;
  char                 *pbuf[2 * MAX_PRE]; /* pre-tokenizer step k: [2k] output, [2k+1] prefixed input */
  size_t                pcap[2 * MAX_PRE];
  int                   last_unk; /* fuse_unk: the model's last output was unk               */
} enc;

static comp_status emit(enc *e, int32_t id)
{
  e->last_unk = id == e->j->unk;
  return tok_ids_push(e->out, &id, 1);
}

static comp_status emit_unknown(enc *e, const char *s, size_t n)
{
  const tok_json *j  = e->j;
  int             ok = j->byte_fallback;
  for (size_t k = 0; ok && k < n; k++) ok = j->byte_id[(unsigned char)s[k]] >= 0;
  if (ok) {
    for (size_t k = 0; k < n; k++) COMP_CALL(emit(e, j->byte_id[(unsigned char)s[k]]));
    return COMP_OK;
  }
  if (!j->unk_name) return COMP_OK; /* no unk_token: the character is dropped */
  if (j->fuse_unk && e->last_unk) return COMP_OK;
  COMP_CHECK(j->unk >= 0, COMP_ERR_FORMAT, "%s: the text needs unk_token \"%s\", which is not in the vocabulary",
             e->t->path, j->unk_name);
  return emit(e, j->unk);
}

/* BPE of one pre-token */
static comp_status model_word(enc *e, const char *s, size_t n)
{
  const comp_tokenizer *t = e->t;
  if (n == 0) return COMP_OK;
  if (e->j->ignore_merges) {
    int32_t id = tok_vocab_find(&t->v, s, n);
    if (id >= 0) return emit(e, id);
  }
  if ((int64_t)n > e->sym_cap) {
    int64_t  cap = (int64_t)n + 64;
    int32_t *a   = realloc(e->sym, sizeof *a * (size_t)cap);
    if (a) e->sym = a;
    int32_t *b = realloc(e->orig, sizeof *b * (size_t)cap);
    if (b) e->orig = b;
    size_t *c = realloc(e->off, sizeof *c * (size_t)cap);
    if (c) e->off = c;
    COMP_CHECK(a && b && c, COMP_ERR_NOMEM, "out of memory for a word of %zu bytes", n);
    e->sym_cap = cap;
  }
  int64_t k = 0, m;
  for (size_t i = 0, l; i < n; i += l) { /* one symbol per code point; -1: not in the vocabulary */
    comp_utf8_next(s + i, n - i, &l);
    e->sym[k]   = tok_vocab_find(&t->v, s + i, l);
    e->off[k++] = i;
  }
  COMP_CALL(tok_bpe(&e->w, &t->pairs, e->sym, e->orig, k, &m));
  for (int64_t q = 0; q < m; q++) {
    if (e->sym[q] >= 0) {
      COMP_CALL(emit(e, e->sym[q]));
    } else {
      size_t at = e->off[e->orig[q]], l;
      comp_utf8_next(s + at, n - at, &l);
      COMP_CALL(emit_unknown(e, s + at, l));
    }
  }
  return COMP_OK;
}

/* Run pre-tokenizer steps k.. on s[0, n), then the model on each resulting pre-token. */
static comp_status pre_run(enc *e, int k, const char *s, size_t n, int section)
{
  if (n == 0) return COMP_OK;
  if (k == e->j->n_pre) return model_word(e, s, n);
  const tok_pre *p = &e->j->pre[k];
  if (p->type == P_BYTELEVEL) {
    if (p->prefix_space && s[0] != ' ') {
      COMP_CALL(grow(&e->pbuf[2 * k + 1], &e->pcap[2 * k + 1], n + 1));
      e->pbuf[2 * k + 1][0] = ' ';
      memcpy(e->pbuf[2 * k + 1] + 1, s, n);
      s = e->pbuf[2 * k + 1], n++;
    }
    COMP_CALL(grow(&e->pbuf[2 * k], &e->pcap[2 * k], 2 * n));
    char *o = e->pbuf[2 * k];
    for (size_t a = 0; a < n;) {
      size_t w = p->use_regex ? gpt2_next(s + a, n - a) : n, ol = 0;
      for (size_t i = 0; i < w; i++) ol += comp_utf8_put(o + ol, byte_to_cp((unsigned char)s[a + i]));
      COMP_CALL(pre_run(e, k + 1, o, ol, section));
      a += w;
    }
    return COMP_OK;
  }
  if (p->type == P_SPLIT) { /* Isolated: each match, and each run of text no match covers */
    size_t a = 0, gap = 0, l;
    while (a < n) {
      size_t w = p->match(s + a, n - a);
      if (w == 0) {
        comp_utf8_next(s + a, n - a, &l);
        a += l;
        continue;
      }
      COMP_CALL(pre_run(e, k + 1, s + gap, a - gap, section));
      COMP_CALL(pre_run(e, k + 1, s + a, w, section));
      gap = a += w;
    }
    return pre_run(e, k + 1, s + gap, n - gap, section);
  }
  if (p->type == P_PUNCT || p->type == P_DIGITS) { /* runs of the class (or each one alone), and runs of the rest */
    int (*in_class)(uint32_t) = p->type == P_PUNCT ? comp_uni_is_punctuation : comp_uni_is_number;
    for (size_t a = 0, b, l; a < n; a = b) {
      const int in = in_class(comp_utf8_next(s + a, n - a, &l));
      for (b = a + l; b < n && !(in && p->individual) && in_class(comp_utf8_next(s + b, n - b, &l)) == in; b += l) {
      }
      COMP_CALL(pre_run(e, k + 1, s + a, b - a, section));
    }
    return COMP_OK;
  }
  /* Metaspace: " " -> replacement, prefix it (always / first section only), split before each one */
  size_t spaces = 0;
  for (size_t i = 0; i < n; i++) spaces += s[i] == ' ';
  COMP_CALL(grow(&e->pbuf[2 * k], &e->pcap[2 * k], n + (spaces + 1) * p->rep_len));
  char  *o      = e->pbuf[2 * k];
  size_t ol     = 0;
  int    starts = n >= p->rep_len && memcmp(s, p->rep, p->rep_len) == 0; /* after " " -> rep, too */
  if (s[0] == ' ') starts = 1;
  if (!starts && (p->scheme == SCHEME_ALWAYS || (p->scheme == SCHEME_FIRST && section == 0)))
    memcpy(o, p->rep, p->rep_len), ol = p->rep_len;
  for (size_t i = 0; i < n; i++)
    if (s[i] == ' ')
      memcpy(o + ol, p->rep, p->rep_len), ol += p->rep_len;
    else
      o[ol++] = s[i];
  if (!p->split) return pre_run(e, k + 1, o, ol, section);
  size_t from = 0;
  for (size_t i = 1; i + p->rep_len <= ol; i++)
    if (memcmp(o + i, p->rep, p->rep_len) == 0) {
      COMP_CALL(pre_run(e, k + 1, o + from, i - from, section));
      from = i;
    }
  return pre_run(e, k + 1, o + from, ol - from, section);
}

/* Split s[0, n) on the added tokens of splitter k (leftmost, longest), then apply lstrip / rstrip to
 * the neighbouring text (ECMAScript trim whitespace). *sp is malloc'd. */
static comp_status split_added(const tok_json *j, int k, const char *s, size_t n, span **sp, int64_t *n_sp)
{
  int64_t cap = 16, m = 0;
  span   *v = malloc(sizeof *v * (size_t)cap);
  COMP_CHECK(v, COMP_ERR_NOMEM, "out of memory");
  size_t from = 0;
  for (size_t i = 0; i <= n; i++) {
    int32_t best = -1;
    if (i < n) {
      const int32_t *list = j->by_byte[k] + j->start[k][(unsigned char)s[i]];
      int32_t        cnt  = j->start[k][(unsigned char)s[i] + 1] - j->start[k][(unsigned char)s[i]];
      for (int32_t q = 0; q < cnt && best < 0; q++) {
        const tok_added *a = &j->added[list[q]];
        if (a->match_len <= n - i && memcmp(s + i, a->match, a->match_len) == 0) best = list[q];
      }
      if (best < 0) continue;
    }
    if (m + 2 > cap) {
      cap *= 2;
      span *g = realloc(v, sizeof *g * (size_t)cap);
      if (!g) free(v);
      COMP_CHECK(g, COMP_ERR_NOMEM, "out of memory");
      v = g;
    }
    if (i > from) v[m++] = (span){from, i - from, -1};
    if (best < 0) break;
    v[m++] = (span){i, j->added[best].match_len, best};
    i += j->added[best].match_len;
    from = i;
    i--;
  }
  for (int64_t q = 0; q < m; q++) {
    if (v[q].added < 0) continue;
    size_t l;
    if (j->added[v[q].added].lstrip && q > 0 && v[q - 1].added < 0)
      while (v[q - 1].len > 0 && comp_uni_is_space(comp_utf8_prev(s + v[q - 1].off, v[q - 1].len, &l)))
        v[q - 1].len -= l;
    if (j->added[v[q].added].rstrip && q + 1 < m && v[q + 1].added < 0)
      while (v[q + 1].len > 0 && comp_uni_is_space(comp_utf8_next(s + v[q + 1].off, v[q + 1].len, &l)))
        v[q + 1].off += l, v[q + 1].len -= l;
  }
  *sp   = v;
  *n_sp = m;
  return COMP_OK;
}

/* @huggingface/tokenizers emits a piece that equals an added token's content (or normalized
 * content) as that token without tokenizing it */
static int32_t whole_added(const tok_json *j, const comp_tokenizer *t, const char *s, size_t n)
{
  int32_t id = tok_vocab_find(&t->v, s, n);
  for (int i = 0; i < j->n_added; i++)
    if (j->added[i].id == id || (j->added[i].match_len == n && memcmp(j->added[i].match, s, n) == 0))
      return j->added[i].id;
  return -1;
}

static comp_status encode_section(enc *e, const char *s, size_t n, int section)
{
  const tok_json *j = e->j;
  const char     *ns;
  size_t          nn;
  COMP_CALL(norm_apply(j, s, n, &e->nbuf, &e->nbuf_cap, &nn, &ns));
  if (nn == 0) return COMP_OK;
  span   *sub = NULL;
  int64_t n_sub;
  COMP_CALL(split_added(j, 1, ns, nn, &sub, &n_sub));
  comp_status st = COMP_OK;
  for (int64_t q = 0; q < n_sub && !st; q++) {
    int32_t id = sub[q].added >= 0 ? j->added[sub[q].added].id : whole_added(j, e->t, ns + sub[q].off, sub[q].len);
    if (sub[q].len == 0) continue;
    if (id >= 0) {
      st = tok_ids_push(e->out, &id, 1);
      continue;
    }
    e->last_unk = 0;
    st          = pre_run(e, 0, ns + sub[q].off, sub[q].len, section);
  }
  free(sub);
  return st;
}

comp_status tok_json_encode(const comp_tokenizer *t, const char *text, size_t len, int add_special, tok_ids *out)
{
  const tok_json *j  = t->json;
  enc             e  = {.t = t, .j = j, .out = out};
  span           *sp = NULL;
  int64_t         n_sp;
  comp_status     s = add_special ? tok_ids_push(out, j->prefix, j->n_prefix) : COMP_OK;
  if (!s) s = split_added(j, 0, text, len, &sp, &n_sp);
  for (int64_t q = 0; !s && q < n_sp; q++) {
    if (sp[q].len == 0) continue;
    int32_t id = sp[q].added >= 0 ? j->added[sp[q].added].id : whole_added(j, t, text + sp[q].off, sp[q].len);
    if (id >= 0)
      s = tok_ids_push(out, &id, 1);
    else
      s = encode_section(&e, text + sp[q].off, sp[q].len, (int)(q < 1 << 30 ? q : 1 << 30));
  }
  if (!s && add_special) s = tok_ids_push(out, j->suffix, j->n_suffix);
  free(sp);
  tok_work_free(&e.w);
  free(e.sym), free(e.orig), free(e.off), free(e.nbuf);
  for (int k = 0; k < 2 * MAX_PRE; k++) free(e.pbuf[k]);
  return s;
}

/* ---- decoding ---------------------------------------------------------------------------------------- */

/* A list of token strings, each malloc'd, as the decoder steps pass them on. */
typedef struct strlist {
  char  **p;
  size_t *n;
  int64_t len, cap;
} strlist;

static void strlist_free(strlist *l)
{
  for (int64_t i = 0; i < l->len; i++) free(l->p[i]);
  free(l->p), free(l->n);
  memset(l, 0, sizeof *l);
}

/* append s[0, n) (copied) */
static comp_status strlist_add(strlist *l, const char *s, size_t n)
{
  if (l->len == l->cap) {
    int64_t cap = l->cap * 2 + 16;
    char  **p   = realloc(l->p, sizeof *p * (size_t)cap);
    if (p) l->p = p;
    size_t *q = realloc(l->n, sizeof *q * (size_t)cap);
    if (q) l->n = q;
    COMP_CHECK(p && q, COMP_ERR_NOMEM, "out of memory");
    l->cap = cap;
  }
  char *c;
  COMP_CALL(dup_bytes(s, n, &c));
  l->p[l->len] = c, l->n[l->len++] = n;
  return COMP_OK;
}

static int hexval(char c)
{
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

/* "<0xXX>" -> the byte, else -1 */
static int byte_token(const char *p, size_t n)
{
  if (n != 6 || memcmp(p, "<0x", 3) != 0 || p[5] != '>' || hexval(p[3]) < 0 || hexval(p[4]) < 0) return -1;
  return hexval(p[3]) * 16 + hexval(p[4]);
}

/* One decoder step: in -> out (out starts empty). */
static comp_status dec_step(const tok_dec *d, const strlist *in, strlist *out)
{
  char       *buf = NULL;
  size_t      cap = 0, o = 0;
  comp_status s = COMP_OK;
#define NEED(x)                                                                                                        \
  do {                                                                                                                 \
    if ((s = grow(&buf, &cap, (x)))) goto done;                                                                        \
  } while (0)
  if (d->type == D_FUSE || d->type == D_BYTELEVEL) {
    size_t total = 1;
    for (int64_t i = 0; i < in->len; i++) total += in->n[i];
    NEED(3 * total);
    char *raw = buf + 2 * total; /* ByteLevel: bytes in the last third, lossy UTF-8 into the front */
    for (int64_t i = 0; i < in->len; i++) {
      if (d->type == D_FUSE) {
        memcpy(buf + o, in->p[i], in->n[i]), o += in->n[i];
        continue;
      }
      size_t start = o, l; /* a token maps to bytes only if all its characters are in the byte map */
      for (size_t k = 0; k < in->n[i]; k += l) {
        int b = cp_to_byte(comp_utf8_next(in->p[i] + k, in->n[i] - k, &l));
        if (b < 0) {
          memcpy(raw + start, in->p[i], in->n[i]), o = start + in->n[i];
          break;
        }
        raw[o++] = (char)b;
      }
    }
    if (d->type == D_BYTELEVEL) {
      memmove(buf + 2 * total - o, raw, o); /* lossy output never outruns its input */
      o = comp_utf8_lossy(buf + 2 * total - o, o, buf);
    }
    s = strlist_add(out, buf, o);
    goto done;
  }
  for (int64_t i = 0; i < in->len && !s; i++) {
    const char *p = in->p[i];
    size_t      n = in->n[i], l;
    o             = 0;
    if (d->type == D_REPLACE || d->type == D_METASPACE) {
      const char *a  = d->a;
      size_t      al = d->al, bl = d->type == D_REPLACE ? d->bl : 1;
      NEED(n / al * bl + n + 1);
      for (size_t k = 0; k < n;)
        if (k + al <= n && memcmp(p + k, a, al) == 0) {
          if (d->type == D_REPLACE)
            memcpy(buf + o, d->b, bl), o += bl;
          else if (!(i == 0 && d->scheme != SCHEME_NEVER))
            buf[o++] = ' '; /* Rust: drops it in token 0 */
          k += al;
        } else {
          buf[o++] = p[k++];
        }
      s = strlist_add(out, buf, o);
    } else if (d->type == D_STRIP) {
      size_t a = 0, b = n;
      for (int k = 0; k < d->start && a < n && comp_utf8_next(p + a, n - a, &l) == d->ch; k++) a += l;
      for (int k = 0; k < d->stop && b > a && comp_utf8_prev(p, b, &l) == d->ch; k++) b -= l;
      s = strlist_add(out, p + a, b - a);
    } else { /* D_BYTEFALLBACK: runs of <0xXX> tokens become their bytes; invalid UTF-8: U+FFFD per byte */
      if (byte_token(p, n) < 0) {
        s = strlist_add(out, p, n);
        continue;
      }
      int64_t e = i;
      NEED((size_t)(in->len - i) + 1);
      for (; e < in->len && byte_token(in->p[e], in->n[e]) >= 0; e++) buf[o++] = (char)byte_token(in->p[e], in->n[e]);
      if (comp_utf8_invalid_at(buf, o) == o)
        s = strlist_add(out, buf, o);
      else
        for (size_t k = 0; k < o && !s; k++) s = strlist_add(out, "\xef\xbf\xbd", 3);
      i = e - 1;
    }
  }
done:
#undef NEED
  free(buf);
  return s;
}

comp_status tok_json_decode(const comp_tokenizer *t, const int32_t *ids, int64_t n, int skip_special, char **out,
                            size_t *out_len)
{
  const tok_json *j = t->json;
  strlist         a = {0}, b = {0};
  comp_status     s = COMP_OK;
  for (int64_t i = 0; i < n && !s; i++)
    if (!(skip_special && t->special[ids[i]])) s = strlist_add(&a, t->v.piece[ids[i]], (size_t)t->v.len[ids[i]]);
  for (int k = 0; k < j->n_dec && !s; k++) {
    s = dec_step(&j->dec[k], &a, &b);
    strlist_free(&a);
    a = b;
    memset(&b, 0, sizeof b);
  }
  size_t total = 1, o = 0;
  for (int64_t i = 0; i < a.len; i++) total += a.n[i] + 1;
  char *r = s ? NULL : malloc(total);
  if (!s && !r) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  for (int64_t i = 0; !s && i < a.len; i++) {
    if (i > 0 && !j->has_decoder) r[o++] = ' '; /* no decoder: tokens joined by spaces */
    memcpy(r + o, a.p[i], a.n[i]), o += a.n[i];
  }
  strlist_free(&a);
  strlist_free(&b);
  if (s) return s;
  r[o]     = '\0';
  *out     = r;
  *out_len = o;
  return COMP_OK;
}
