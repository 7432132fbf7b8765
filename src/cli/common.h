/* common.h - loading steps shared by the subcommands (collective, status agreed on all ranks). */
#ifndef COMP_CLI_COMMON_H
#define COMP_CLI_COMMON_H

#include <mpi.h>

#include "comp/model.h"
#include "comp/tokenizer.h"

/* Load the model on every rank and its tokenizer (tok_path NULL: tokenizer.json in an HF directory,
 * tokenizer.bin beside a llama2.c checkpoint). The tokenizer path used is written to used_tok. wide:
 * whether the embedding and head are read now or on demand (comp_model_load_wide). */
comp_status comp_cli_load(const char *model_path, comp_wide_mode wide, const char *tok_path, MPI_Comm comm,
                          comp_model **m, comp_tokenizer **t, char *used_tok, size_t used_cap);

/* Tokenize a text file on rank 0 (BOS, or the tokenizer's prefix, first, as the evaluation protocol
 * says), broadcast the ids. */
comp_status comp_cli_tokenize_file(const comp_tokenizer *t, const comp_model *m, const char *path, MPI_Comm comm,
                                   int32_t **ids, int64_t *n_ids);

/* The ids every text starts with, into pre (cap entries at most): what the tokenizer puts before a
 * text (BOS; a tokenizer.json template's; ChatGLM's [gMASK] sop), else its BOS (tokenizer_config's
 * bos_token), else the model's bos_token_id, else none. Returns their count. */
int comp_cli_prefix(const comp_tokenizer *t, const comp_model *m, int32_t *pre, int cap);
enum { COMP_CLI_PREFIX_MAX = 8 }; /* room callers give comp_cli_prefix */

/* Encode text with comp_cli_prefix's ids first (the tokenizer's own, or the model's bos id if the
 * tokenizer adds none). */
comp_status comp_cli_encode_bos(const comp_tokenizer *t, const comp_model *m, const char *text, size_t len,
                                int32_t **ids, int64_t *n_ids);

/* sha256 of the weights as loaded: every weight file of m in order (shards included), or the file
 * itself for a llama2.c checkpoint or an archive. Not collective. */
comp_status comp_cli_model_sha256(const comp_model *m, char hex[65]);

/* The command line as one string: "comp " + argv joined by spaces (malloc'd; NULL when out of memory). */
char *comp_cli_command_line(int argc, char **argv);

/* --model's help: "Hugging Face model directory (model_type llama, ...)<tail>", the model_type
 * values from the architecture table, into buf (n bytes); returns buf. */
const char *comp_cli_model_help(char *buf, size_t n, const char *tail);
/* What comp eval and comp generate run besides Hugging Face directories (--model's help tail), and
 * the tokenizers they read (--tokenizer's help). */
#define COMP_CLI_RUN_MODELS                                                                                            \
  ", llama2.c .bin checkpoint\nor comp prune archive (.h5, evaluated compact: gathers, then smaller matmuls) "         \
  "(required)"
#define COMP_CLI_TOKENIZER_HELP                                                                                        \
  "tokenizer.json, SentencePiece tokenizer.model or llama2.c tokenizer.bin (default: beside the model)"

/* p (n) = deterministic uniform(-a, a) numbers (xorshift from seed; no rand()) for synthetic data. */
void comp_cli_fill_uniform(float *p, int64_t n, float a, uint64_t seed);

#endif
