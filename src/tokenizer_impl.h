/*
 * tokenizer_impl.h - internals shared by tokenizer.c (common parts, dispatch, the merge engine),
 * tokenizer_llama2c.c (llama2.c tokenizer.bin), tokenizer_json.c (Hugging Face tokenizer.json) and
 * tokenizer_spm.c (SentencePiece tokenizer.model).
 * Not a public header: include comp/tokenizer.h outside these three files.
 */
#ifndef COMP_TOKENIZER_IMPL_H
#define COMP_TOKENIZER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "comp/tokenizer.h"

enum { TOK_LLAMA2C, TOK_JSON, TOK_SPM };

/* The vocabulary both ways: id -> piece bytes, and piece -> id through an open-addressing hash. */
typedef struct tok_vocab {
  int32_t  n;     /* ids are 0 .. n-1                                                     */
  char   **piece; /* (n) NUL-terminated piece bytes; NULL for an id no entry names         */
  int32_t *len;   /* (n) byte length of each piece                                        */
  uint32_t hcap;  /* hash slots, a power of two >= 2 n                                    */
  int32_t *hid;   /* (hcap) the id in each slot, -1 = empty                               */
} tok_vocab;

/* Merge table: adjacent symbols (a, b) -> merged id, and the priority of that merge (higher merges
 * first): llama2.c uses the merged piece's score, tokenizer.json minus the merge's rank. */
typedef struct tok_pairs {
  uint32_t  cap;   /* slots, a power of two; 0 = no table                                 */
  uint32_t  count; /* filled slots                                                        */
  uint64_t *key;   /* (cap) ((a << 32) | b) + 1, 0 = empty                                */
  int32_t  *res;   /* (cap) merged id                                                     */
  double   *prio;  /* (cap) priority                                                      */
} tok_pairs;

/* A growable list of ids (the output of encode). */
typedef struct tok_ids {
  int32_t *v;
  int64_t  n, cap;
} tok_ids;

/* One merge candidate in the engine's heap: merge symbol pos with its right neighbour. */
typedef struct tok_cand {
  double  prio;    /* higher first                                                        */
  int32_t pos;     /* index of the left symbol in the word; lower first on equal prio     */
  int32_t a, b, r; /* left id, right id (checked on pop: stale if changed), merged id     */
} tok_cand;

/* Scratch space of the merge engine, grown as needed and reused for every word of one encode. */
typedef struct tok_work {
  tok_cand *heap; /* (heap_cap) binary heap of candidates                                  */
  int64_t   heap_n, heap_cap;
  int32_t  *next, *prev; /* (cap) linked list over the word's symbols, -1 = none            */
  int64_t   cap;
} tok_work;

typedef struct tok_json tok_json; /* the tokenizer.json pipeline, defined in tokenizer_json.c */
typedef struct tok_spm  tok_spm;  /* a SentencePiece tokenizer.model's settings, tokenizer_spm.c */

struct comp_tokenizer {
  int              kind;     /* TOK_LLAMA2C, TOK_JSON or TOK_SPM                            */
  char            *path;     /* the file it was loaded from (for messages)                  */
  tok_vocab        v;        /* all ids: model vocabulary and added tokens                  */
  tok_pairs        pairs;    /* merges                                                       */
  uint8_t         *special;  /* (v.n) 1 = special token, left out by decode(skip_special)   */
  int32_t          bos, eos; /* -1 if none                                                  */
  const int32_t   *prefix;   /* (n_prefix) what encode(add_special) puts before the text       */
  int              n_prefix; /* (llama2.c: BOS; tokenizer.json: the template's; ChatGLM: two) */
  struct tok_json *json;     /* tokenizer.json only                                          */
  struct tok_spm  *spm;      /* tokenizer.model only                                         */
};

/* ---- tokenizer.c ---------------------------------------------------------------------------- */
/* tokenizer_config.json in the folder of path, parsed (the caller cJSON_Deletes it); NULL when there
 * is none or it does not parse (the file is optional: no error is set). */
struct cJSON *tok_config_beside(const char *path);
comp_status   tok_vocab_alloc(tok_vocab *v, int32_t n);
/* Give id the piece s[0, len) (copied; replaces an earlier one). */
comp_status tok_vocab_set(tok_vocab *v, int32_t id, const char *s, size_t len);
/* Build the piece -> id hash; on duplicate pieces the lowest id wins. */
comp_status tok_vocab_index(tok_vocab *v);
/* Make piece(id) -> id win over any earlier id with the same piece (added tokens). */
void    tok_vocab_claim(tok_vocab *v, int32_t id);
int32_t tok_vocab_find(const tok_vocab *v, const char *s, size_t len); /* -1 if absent */
void    tok_vocab_free(tok_vocab *v);

comp_status tok_pairs_init(tok_pairs *p, int64_t expected);
/* Add or replace the merge (a, b) -> r with priority prio. */
void tok_pairs_put(tok_pairs *p, int32_t a, int32_t b, int32_t r, double prio);
int  tok_pairs_find(const tok_pairs *p, int32_t a, int32_t b, int32_t *r, double *prio); /* 1 if found */
void tok_pairs_free(tok_pairs *p);

comp_status tok_ids_push(tok_ids *ids, const int32_t *v, int64_t n);

/* Merge the word sym[0, n) in place: repeatedly merge the adjacent pair with the highest priority,
 * the leftmost one on ties, until no pair merges. Negative ids never merge. On return sym[0, *m)
 * are the merged symbols and, if orig is not NULL, orig[k] the index in the input word of the first
 * symbol that went into sym[k]. O(n log n). */
comp_status tok_bpe(tok_work *w, const tok_pairs *p, int32_t *sym, int32_t *orig, int64_t n, int64_t *m);
void        tok_work_free(tok_work *w);

/* ---- tokenizer_llama2c.c ------------------------------------------------------------------------ */
comp_status tok_llama2c_load(comp_tokenizer *t, const char *path, int vocab_size);
comp_status tok_llama2c_encode(const comp_tokenizer *t, const char *text, size_t len, int add_special, tok_ids *out);
comp_status tok_llama2c_decode(const comp_tokenizer *t, const int32_t *ids, int64_t n, int skip_special, char **out,
                               size_t *out_len);

/* ---- tokenizer_spm.c ---------------------------------------------------------------------------- */
comp_status tok_spm_load(comp_tokenizer *t, const char *path);
comp_status tok_spm_encode(const comp_tokenizer *t, const char *text, size_t len, int add_special, tok_ids *out);
comp_status tok_spm_decode(const comp_tokenizer *t, const int32_t *ids, int64_t n, int skip_special, char **out,
                           size_t *out_len);
void        tok_spm_free(struct tok_spm *m);

/* ---- tokenizer_json.c --------------------------------------------------------------------------- */
comp_status tok_json_load(comp_tokenizer *t, const char *path);
comp_status tok_json_encode(const comp_tokenizer *t, const char *text, size_t len, int add_special, tok_ids *out);
comp_status tok_json_decode(const comp_tokenizer *t, const int32_t *ids, int64_t n, int skip_special, char **out,
                            size_t *out_len);
void        tok_json_free(struct tok_json *j);
int         tok_json_bytelevel(const struct tok_json *j);

#endif
