/* cmd_generate.c - `comp generate`: greedy decoding from a prompt (rank 0 does the work). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "common.h"
#include "comp/dist.h"
#include "comp/forward.h"
#include "comp/log.h"

/* argmax of the next-token logits after ids[0..T-1], recomputing the whole sequence. */
static comp_status next_token(comp_model *m, const int32_t *ids, int64_t T, float *x, float *logits, int32_t *out)
{
  comp_fwd_ws *ws = NULL;
  COMP_CALL(comp_fwd_ws_create(&m->hp, T, T, &ws));
  comp_status s = comp_forward_embed(m, ids, 1, T, x);
  for (int l = 0; l < m->hp.n_layer && !s; l++) {
    comp_layer *ly = NULL;
    if ((s = comp_model_layer_get(m, l, &ly))) break;
    s = comp_forward_layer(m, ly, x, 1, T, ws, NULL);
    comp_model_layer_put(m, &ly);
  }
  comp_fwd_ws_destroy(&ws);
  if (s) return s;
  float *last = x + (T - 1) * m->hp.n_embd;
  comp_forward_final_norm(m, last, 1);
  comp_forward_logits(m, last, 1, logits);
  int32_t best = 0;
  for (int64_t v = 1; v < m->hp.n_vocab; v++)
    if (logits[v] > logits[best]) best = (int32_t)v;
  *out = best;
  return COMP_OK;
}

int comp_cmd_generate(int argc, char **argv)
{
  const char *model = NULL, *tok_path = NULL, *prompt = "";
  int64_t     steps = 64;
  char        model_help[320];
  comp_opt    opts[] = {
         {"model", COMP_OPT_STR, &model, "PATH", comp_cli_model_help(model_help, sizeof model_help, COMP_CLI_RUN_MODELS)},
         {"tokenizer", COMP_OPT_STR, &tok_path, "PATH", COMP_CLI_TOKENIZER_HELP},
         {"prompt", COMP_OPT_STR, &prompt, "TEXT", "prompt (default empty: start from BOS)"},
         {"steps", COMP_OPT_INT, &steps, "N",
          "new tokens to generate (default 64; stops early at EOS/BOS or max positions)"},
  };
  int rc = comp_args_parse(argc, argv, opts, (int)(sizeof opts / sizeof opts[0]),
                           "comp generate --model M [--tokenizer T] [--prompt TEXT] [--steps N]",
                           "Greedy (argmax) generation. Prints the prompt and its continuation, decoded by the\n"
                           "tokenizer's own decoder, followed by a newline. Only rank 0 computes.");
  if (rc) return rc == 1 ? 0 : 2;
  comp_model     *m = NULL;
  comp_tokenizer *t = NULL;
  char            used_tok[4096];
  int32_t        *ids = NULL;
  int64_t         n   = 0;
  char           *str = NULL;
  float          *x = NULL, *logits = NULL;
  comp_status s = comp_cli_load(model, COMP_WIDE_RESIDENT, tok_path, MPI_COMM_WORLD, &m, &t, used_tok, sizeof used_tok);
  if (!s && steps < 0) s = comp_error_set(COMP_ERR_ARG, "--steps must be >= 0");
  if (!s && comp_log_rank() == 0) {
    comp_model_set_cache(m, true);
    s           = comp_cli_encode_bos(t, m, prompt, strlen(prompt), &ids, &n);
    int64_t cap = n + steps;
    if (cap > m->hp.n_ctx) cap = m->hp.n_ctx;
    int32_t *grown = s ? NULL : realloc(ids, sizeof(int32_t) * (size_t)(cap > n ? cap : n));
    if (!s && !grown) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
    if (!s) ids = grown;
    if (!s && n > m->hp.n_ctx)
      s = comp_error_set(COMP_ERR_ARG, "the prompt has %lld tokens, more than the model's %lld positions", (long long)n,
                         (long long)m->hp.n_ctx);
    x      = s ? NULL : malloc(sizeof(float) * (size_t)(cap * m->hp.n_embd));
    logits = s ? NULL : malloc(sizeof(float) * (size_t)m->hp.n_vocab);
    if (!s && (!x || !logits)) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
    size_t printed = 0, len = 0;
    int    bos = comp_tokenizer_bos(t) >= 0 ? comp_tokenizer_bos(t) : m->hp.bos;
    int    eos = comp_tokenizer_eos(t) >= 0 ? comp_tokenizer_eos(t) : m->hp.eos;
    while (!s && n < cap) {
      int32_t next;
      if ((s = next_token(m, ids, n, x, logits, &next))) break;
      if (next == eos || next == bos) break;
      ids[n++] = next;
      /* print what the decoded text gained (decoding the whole sequence keeps the decoder exact);
       * a trailing U+FFFD may be a character whose bytes are still arriving: hold it back */
      free(str);
      str = NULL;
      if ((s = comp_tokenizer_decode(t, ids, n, 1, &str, &len))) break;
      size_t stable = len;
      while (stable >= printed + 3 && memcmp(str + stable - 3, "\xef\xbf\xbd", 3) == 0) stable -= 3;
      if (stable > printed) {
        fwrite(str + printed, 1, stable - printed, stdout);
        fflush(stdout);
        printed = stable;
      }
    }
    if (!s) {
      free(str);
      str = NULL;
      len = 0;
      if (n > 0 && (s = comp_tokenizer_decode(t, ids, n, 1, &str, &len)) == COMP_OK && len > printed)
        fwrite(str + printed, 1, len - printed, stdout);
      if (!s) fputc('\n', stdout);
      fflush(stdout);
    }
  }
  s = comp_dist_agree(MPI_COMM_WORLD, s);
  if (s) comp_cli_error("generate", comp_error_message());
  free(str);
  free(ids);
  free(x);
  free(logits);
  comp_tokenizer_destroy(&t);
  comp_model_destroy(&m);
  return s ? 1 : 0;
}
