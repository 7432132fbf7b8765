/* cmd_tokenize.c - `comp tokenize`: print token ids (one JSON array per line) to check tokenizers. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "comp/log.h"
#include "comp/text.h"
#include "comp/tokenizer.h"

static void print_ids(const int32_t *ids, int64_t n)
{
  putchar('[');
  for (int64_t i = 0; i < n; i++) printf(i ? ",%d" : "%d", ids[i]);
  puts("]");
}

/* Encodes text[0..len) and prints the id line (and the decoded text with --decode). */
static comp_status encode_print(comp_tokenizer *t, const char *text, size_t len, int special, int decode)
{
  int32_t *ids;
  int64_t  n;
  COMP_CALL(comp_tokenizer_encode(t, text, len, special, &ids, &n));
  print_ids(ids, n);
  if (decode) {
    char  *d;
    size_t dl;
    if (!comp_tokenizer_decode(t, ids, n, 1, &d, &dl)) printf("%s\n", d), free(d);
  }
  free(ids);
  return COMP_OK;
}

/* --jsonl: every line of the file is one JSON string; each is encoded alone. */
static comp_status encode_jsonl(comp_tokenizer *t, const char *path, const char *text, size_t len, int special,
                                int decode)
{
  long line = 0;
  for (size_t a = 0; a < len;) {
    const char *nl = memchr(text + a, '\n', len - a);
    size_t      b  = nl ? (size_t)(nl - text) : len;
    line++;
    if (b > a) {
      cJSON *j = cJSON_ParseWithLength(text + a, b - a);
      if (!cJSON_IsString(j)) {
        cJSON_Delete(j);
        return comp_error_set(COMP_ERR_FORMAT, "%s line %ld: not a JSON string", path, line);
      }
      comp_status s = encode_print(t, j->valuestring, strlen(j->valuestring), special, decode);
      cJSON_Delete(j);
      if (s) return s;
    }
    a = b + 1;
  }
  return COMP_OK;
}

int comp_cmd_tokenize(int argc, char **argv)
{
  const char *tok_path = NULL, *file = NULL, *str = NULL, *jsonl = NULL;
  int64_t     vocab      = 0;
  int         no_special = 0, paragraphs = 0, decode = 0;
  comp_opt    opts[] = {
         {"tokenizer", COMP_OPT_STR, &tok_path, "PATH",
          "tokenizer.json, SentencePiece tokenizer.model or llama2.c tokenizer.bin (required)"},
         {"vocab-size", COMP_OPT_INT, &vocab, "N", "vocabulary size (needed for llama2.c tokenizer.bin)"},
         {"text", COMP_OPT_STR, &file, "FILE", "text file to encode"},
         {"string", COMP_OPT_STR, &str, "TEXT", "text to encode"},
         {"jsonl", COMP_OPT_STR, &jsonl, "FILE", "file with one JSON string per line; each is encoded alone"},
         {"no-special", COMP_OPT_FLAG, &no_special, NULL, "do not add BOS / template tokens"},
         {"paragraphs", COMP_OPT_FLAG, &paragraphs, NULL, "split the text on \"\\n\\n\" and encode each piece alone"},
         {"decode", COMP_OPT_FLAG, &decode, NULL, "print the decoded text after each id line"},
  };
  int rc = comp_args_parse(
      argc, argv, opts, (int)(sizeof opts / sizeof opts[0]),
      "comp tokenize --tokenizer T (--text FILE | --string S | --jsonl FILE) [--paragraphs] [--no-special]",
      "Encodes text and prints the ids as one JSON array per line (rank 0 only).");
  if (rc) return rc == 1 ? 0 : 2;
  if (comp_log_rank() != 0) return 0;
  comp_tokenizer *t    = NULL;
  char           *text = NULL;
  size_t          len  = 0;
  comp_status     s    = tok_path ? comp_tokenizer_load(tok_path, (int)vocab, &t)
                                  : comp_error_set(COMP_ERR_ARG, "--tokenizer is required");
  if (!s) {
    if (jsonl)
      s = comp_text_read(jsonl, &text, &len);
    else if (file)
      s = comp_text_read(file, &text, &len);
    else if (str)
      text = strdup(str), len = strlen(str);
    else
      s = comp_error_set(COMP_ERR_ARG, "give --text FILE, --string TEXT or --jsonl FILE");
  }
  if (!s && jsonl) s = encode_jsonl(t, jsonl, text, len, !no_special, decode);
  for (size_t a = 0; !s && !jsonl && a <= len;) {
    const char *sep = paragraphs ? strstr(text + a, "\n\n") : NULL;
    size_t      b   = sep ? (size_t)(sep - text) : len;
    if ((s = encode_print(t, text + a, b - a, !no_special, decode))) break;
    if (!sep) break;
    a = b + 2;
  }
  if (s) comp_cli_error("tokenize", comp_error_message());
  free(text);
  comp_tokenizer_destroy(&t);
  return s ? 1 : 0;
}
