/* cmd_tokenize.c - `comp tokenize`: print token ids (one JSON array per line) to check tokenizers. */
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

int comp_cmd_tokenize(int argc, char **argv)
{
  const char *tok_path = NULL, *file = NULL, *str = NULL;
  int64_t     vocab = 0;
  int         no_special = 0, paragraphs = 0, decode = 0;
  comp_opt    opts[] = {
      {"tokenizer", COMP_OPT_STR, &tok_path, "PATH", "tokenizer.json or llama2.c tokenizer.bin (required)"},
      {"vocab-size", COMP_OPT_INT, &vocab, "N", "vocabulary size (needed for llama2.c tokenizer.bin)"},
      {"text", COMP_OPT_STR, &file, "FILE", "text file to encode"},
      {"string", COMP_OPT_STR, &str, "TEXT", "text to encode"},
      {"no-special", COMP_OPT_FLAG, &no_special, NULL, "do not add BOS / template tokens"},
      {"paragraphs", COMP_OPT_FLAG, &paragraphs, NULL, "split the text on \"\\n\\n\" and encode each piece alone"},
      {"decode", COMP_OPT_FLAG, &decode, NULL, "print the decoded text after each id line"},
  };
  int rc = comp_args_parse(argc, argv, opts, (int)(sizeof opts / sizeof opts[0]),
                           "comp tokenize --tokenizer T (--text FILE | --string S) [--paragraphs] [--no-special]",
                           "Encodes text and prints the ids as one JSON array per line (rank 0 only).");
  if (rc) return rc == 1 ? 0 : 2;
  if (comp_log_rank() != 0) return 0;
  comp_tokenizer *t    = NULL;
  char           *text = NULL;
  size_t          len  = 0;
  comp_status     s    = tok_path ? comp_tokenizer_load(tok_path, (int)vocab, &t) : comp_error_set(COMP_ERR_ARG, "--tokenizer is required");
  if (!s) {
    if (file) s = comp_text_read(file, &text, &len);
    else if (str) text = strdup(str), len = strlen(str);
    else s = comp_error_set(COMP_ERR_ARG, "give --text FILE or --string TEXT");
  }
  for (size_t a = 0; !s && a <= len;) {
    const char *sep = paragraphs ? strstr(text + a, "\n\n") : NULL;
    size_t      b   = sep ? (size_t)(sep - text) : len;
    int32_t    *ids;
    int64_t     n;
    if ((s = comp_tokenizer_encode(t, text + a, b - a, !no_special, &ids, &n))) break;
    print_ids(ids, n);
    if (decode) {
      char  *d;
      size_t dl;
      if (!comp_tokenizer_decode(t, ids, n, 1, &d, &dl)) printf("%s\n", d), free(d);
    }
    free(ids);
    if (!sep) break;
    a = b + 2;
  }
  if (s) comp_cli_error("tokenize", comp_error_message());
  free(text);
  comp_tokenizer_destroy(&t);
  return s ? 1 : 0;
}
