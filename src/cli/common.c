/* common.c - see common.h */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp/arch.h"
#include "comp/dist.h"
#include "comp/sha256.h"
#include "comp/text.h"
#include "comp/util.h"

comp_status comp_cli_load(const char *model_path, comp_wide_mode wide, const char *tok_path, MPI_Comm comm,
                          comp_model **m, comp_tokenizer **t, char *used_tok, size_t used_cap)
{
  *m            = NULL;
  *t            = NULL;
  comp_status s = model_path ? COMP_OK : comp_error_set(COMP_ERR_ARG, "--model is required");
  if (!s) s = comp_model_load_wide(model_path, wide, m);
  if (!s) {
    const char *base = (*m)->src_path ? (*m)->src_path : model_path; /* archives: beside their source */
    if (tok_path) {
      snprintf(used_tok, used_cap, "%s", tok_path);
    } else if (comp_is_dir(base)) { /* tokenizer.json, else a SentencePiece tokenizer.model (ChatGLM) */
      snprintf(used_tok, used_cap, "%s/tokenizer.json", base);
      char spm[4200];
      snprintf(spm, sizeof spm, "%s/tokenizer.model", base);
      if (!comp_is_file(used_tok) && comp_is_file(spm)) snprintf(used_tok, used_cap, "%s", spm);
    } else {
      const char *slash = strrchr(base, '/');
      int         dl    = slash ? (int)(slash - base) : 1;
      snprintf(used_tok, used_cap, "%.*s/tokenizer.bin", dl, slash ? base : ".");
    }
    if (!comp_is_file(used_tok))
      s = comp_error_set(COMP_ERR_IO, "%s: tokenizer not found (pass --tokenizer)", used_tok);
    else
      s = comp_tokenizer_load(used_tok, (int)(*m)->hp.n_vocab, t);
  }
  if (!s && comp_tokenizer_vocab_size(*t) > (*m)->hp.n_vocab)
    s = comp_error_set(COMP_ERR_FORMAT, "%s: tokenizer has %d tokens but the model's vocabulary is %lld", used_tok,
                       comp_tokenizer_vocab_size(*t), (long long)(*m)->hp.n_vocab);
  s = comp_dist_agree(comm, s);
  if (s) {
    comp_tokenizer_destroy(t);
    comp_model_destroy(m);
  }
  return s;
}

int comp_cli_prefix(const comp_tokenizer *t, const comp_model *m, int32_t *pre, int cap)
{
  const int32_t *tp;
  int            n = comp_tokenizer_prefix(t, &tp);
  if (n > cap) n = cap;
  for (int k = 0; k < n; k++) pre[k] = tp[k];
  const int bos = comp_tokenizer_bos(t) >= 0 ? comp_tokenizer_bos(t) : m->hp.bos; /* a BOS it does not add */
  if (n == 0 && bos >= 0 && cap > 0) pre[n++] = bos;
  return n;
}

comp_status comp_cli_encode_bos(const comp_tokenizer *t, const comp_model *m, const char *text, size_t len,
                                int32_t **ids, int64_t *n_ids)
{
  COMP_CALL(comp_tokenizer_encode(t, text, len, 1, ids, n_ids));
  int32_t pre[COMP_CLI_PREFIX_MAX];
  int     np = comp_cli_prefix(t, m, pre, COMP_CLI_PREFIX_MAX);
  if (np > 0 && (*n_ids < np || memcmp(*ids, pre, sizeof(int32_t) * (size_t)np) != 0)) {
    int32_t *b = realloc(*ids, sizeof(int32_t) * (size_t)(*n_ids + np));
    COMP_CHECK(b, COMP_ERR_NOMEM, "out of memory");
    memmove(b + np, b, sizeof(int32_t) * (size_t)*n_ids);
    memcpy(b, pre, sizeof(int32_t) * (size_t)np);
    *ids = b;
    *n_ids += np;
  }
  return COMP_OK;
}

comp_status comp_cli_tokenize_file(const comp_tokenizer *t, const comp_model *m, const char *path, MPI_Comm comm,
                                   int32_t **ids, int64_t *n_ids)
{
  int rank;
  MPI_Comm_rank(comm, &rank);
  *ids          = NULL;
  *n_ids        = 0;
  comp_status s = path ? COMP_OK : comp_error_set(COMP_ERR_ARG, "--text is required");
  if (!s && rank == 0) {
    char  *text = NULL;
    size_t len  = 0;
    s           = comp_text_read(path, &text, &len);
    if (!s) s = comp_cli_encode_bos(t, m, text, len, ids, n_ids);
    free(text);
  }
  s = comp_dist_agree(comm, s);
  if (s) {
    free(*ids);
    *ids = NULL;
    return s;
  }
  MPI_Bcast(n_ids, 1, MPI_INT64_T, 0, comm);
  if (rank != 0) *ids = malloc(sizeof(int32_t) * (size_t)(*n_ids > 0 ? *n_ids : 1));
  s = comp_dist_agree(comm, *ids ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory"));
  if (!s) MPI_Bcast(*ids, (int)*n_ids, MPI_INT32_T, 0, comm);
  return s;
}

comp_status comp_cli_model_sha256(const comp_model *m, char hex[65])
{
  int          nf    = m->ws ? comp_wstore_file_count(m->ws) : 1;
  const char **files = malloc(sizeof(char *) * (size_t)nf);
  COMP_CHECK(files, COMP_ERR_NOMEM, "out of memory");
  for (int i = 0; i < nf; i++) files[i] = m->ws ? comp_wstore_file_path(m->ws, i) : m->path;
  comp_status s = comp_sha256_files(files, nf, hex);
  free(files);
  return s;
}

char *comp_cli_command_line(int argc, char **argv)
{
  size_t n = 6;
  for (int i = 0; i < argc; i++) n += strlen(argv[i]) + 1;
  char *c = malloc(n);
  if (!c) return NULL;
  strcpy(c, "comp");
  for (int i = 0; i < argc; i++) strcat(strcat(c, " "), argv[i]);
  return c;
}

void comp_cli_fill_uniform(float *p, int64_t n, float a, uint64_t seed)
{
  uint64_t s = seed * 2654435761u + 1;
  for (int64_t i = 0; i < n; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    p[i] = a * (2.0f * (float)((s >> 11) * (1.0 / 9007199254740992.0)) - 1.0f);
  }
}

const char *comp_cli_model_help(char *buf, size_t n, const char *tail)
{
  char names[256];
  comp_arch_hf_names(names, sizeof names);
  snprintf(buf, n, "Hugging Face model directory (model_type %s)%s", names, tail);
  return buf;
}
