/* test_forward_golden - the forward pass against golden PyTorch outputs: per-layer hidden states,
 * final norm and logits within 1e-4 of the reference's scale, for the embedded default model
 * (models/default: F16, GQA, tied; golden files in tests/data/default_golden, written by
 * tools/train_default/export.py and checked there by a float64 numpy forward) and, when ../shared
 * is present, for an HF LLaMA (GQA, untied), an HF OPT (biases, LayerNorm, learned positions, tied)
 * and the llama2.c stories260K checkpoint (interleaved RoPE). */
#include <cjson/cJSON.h>

#include "comp/forward.h"
#include "comp/util.h"
#include "comp_test.h"

typedef struct {
  float  *hs; /* (L+1, T, D) captured residual stream */
  int64_t T, D;
} capture;

static void on_tap(void *ctx, comp_tap_point where, int layer, int dense, const float *x, int64_t n, int64_t width)
{
  capture *c = ctx;
  if (where == COMP_TAP_LAYER_OUT)
    memcpy(c->hs + (int64_t)(layer + 1) * n * width, x, (size_t)(n * width) * sizeof(float));
}

static int32_t *prompt_ids(const char *golden_json, int64_t *T)
{
  char  *txt;
  size_t len;
  if (comp_read_file(golden_json, &txt, &len) != COMP_OK) return NULL;
  cJSON   *j   = cJSON_Parse(txt);
  cJSON   *a   = cJSON_GetObjectItem(j, "prompt_ids");
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)cJSON_GetArraySize(a));
  *T           = cJSON_GetArraySize(a);
  for (int i = 0; i < *T; i++) ids[i] = cJSON_GetArrayItem(a, i)->valueint;
  cJSON_Delete(j);
  free(txt);
  return ids;
}

static void check_model(const char *mpath, const char *gpath, int with_hidden)
{
  char        p[2200];
  const char *model_rel = mpath;
  comp_model *m         = NULL;
  CHECK_OK(comp_model_load(mpath, &m));
  if (!m) return;
  int64_t T = 0;
  snprintf(p, sizeof p, "%s/golden.json", gpath);
  int32_t *ids = prompt_ids(p, &T);
  CHECK(ids != NULL);
  const int64_t D = m->hp.n_embd, V = m->hp.n_vocab, L = m->hp.n_layer;
  capture       c    = {.hs = calloc((size_t)((L + 1) * T * D), sizeof(float)), .T = T, .D = D};
  comp_taps     taps = {.fn = on_tap, .ctx = &c};
  comp_fwd_ws  *ws   = NULL;
  CHECK_OK(comp_fwd_ws_create(&m->hp, T, T, &ws));
  float *x = malloc(sizeof(float) * (size_t)(T * D)), *logits = malloc(sizeof(float) * (size_t)(T * V));
  CHECK_OK(comp_forward_embed(m, ids, 1, T, x));
  memcpy(c.hs, x, sizeof(float) * (size_t)(T * D));
  for (int l = 0; l < L; l++) {
    comp_layer *ly = NULL;
    CHECK_OK(comp_model_layer_get(m, l, &ly));
    if (ly) CHECK_OK(comp_forward_layer(m, ly, x, 1, T, ws, &taps));
    comp_model_layer_put(m, &ly);
  }
  comp_forward_final_norm(m, x, T);
  comp_forward_logits(m, x, T, logits);
  int     nd;
  int64_t dims[4];
  if (with_hidden) {
    snprintf(p, sizeof p, "%s/hidden_states.npy", gpath);
    float *ref = comp_test_npy(p, &nd, dims);
    CHECK(ref && nd == 3 && dims[0] == L + 1 && dims[1] == T && dims[2] == D);
    for (int64_t i = 0; ref && i <= L; i++) {
      double e = comp_test_rel_err(c.hs + i * T * D, ref + i * T * D, T * D);
      CHECK_MSG(e < 1e-4, "%s hidden state %lld rel err %.3g", model_rel, (long long)i, e);
    }
    free(ref);
    snprintf(p, sizeof p, "%s/final_norm.npy", gpath);
    if (comp_is_file(p)) { /* not every golden set stores it */
      ref      = comp_test_npy(p, &nd, dims);
      double e = ref ? comp_test_rel_err(x, ref, T * D) : 1;
      CHECK_MSG(e < 1e-4, "%s final norm rel err %.3g", model_rel, e);
      free(ref);
    }
  }
  snprintf(p, sizeof p, "%s/logits.npy", gpath);
  float *ref = comp_test_npy(p, &nd, dims);
  CHECK(ref && dims[0] == T && dims[1] == V);
  double e = ref ? comp_test_rel_err(logits, ref, T * V) : 1;
  CHECK_MSG(e < 1e-4, "%s logits rel err %.3g", model_rel, e);
  printf("%-60s logits max rel err %.3g\n", model_rel, e);
  /* the whole-model convenience path gives the same logits */
  float *l2 = malloc(sizeof(float) * (size_t)(T * V));
  CHECK_OK(comp_forward(m, ids, 1, T, l2, NULL));
  CHECK(memcmp(l2, logits, sizeof(float) * (size_t)(T * V)) == 0);
  free(l2);
  free(ref);
  free(x);
  free(logits);
  free(c.hs);
  free(ids);
  comp_fwd_ws_destroy(&ws);
  comp_model_destroy(&m);
}

/* Layer 0 of m on the first T tokens of ids with workspace ws: out (T, D). */
static void layer0(comp_model *m, const int32_t *ids, int64_t T, comp_fwd_ws *ws, float *out)
{
  comp_layer *ly = NULL;
  CHECK_OK(comp_forward_embed(m, ids, 1, T, out));
  CHECK_OK(comp_model_layer_get(m, 0, &ly));
  if (ly) CHECK_OK(comp_forward_layer(m, ly, out, 1, T, ws, NULL));
  comp_model_layer_put(m, &ly);
}

/* longrope picks its factor set by the length of the sequence run (transformers'
 * longrope_frequency_update): a workspace made for sequences longer than the original context, run
 * on a shorter one, gives what a workspace made for the shorter one gives, and back again. */
static void check_longrope_tables(void)
{
  comp_model *m = NULL;
  CHECK_OK(comp_model_load(COMP_SRC_DIR "/models/default", &m));
  int64_t  T   = 0;
  int32_t *ids = prompt_ids(COMP_SRC_DIR "/tests/data/default_golden/golden.json", &T);
  if (!m || !ids || T < 12) {
    CHECK(m && ids && T >= 12);
    free(ids);
    comp_model_destroy(&m);
    return;
  }
  comp_rope_scaling *rs = &m->hp.rope_scaling;
  *rs                   = (comp_rope_scaling){.kind             = COMP_ROPE_SCALING_LONGROPE,
                                              .factor           = 4,
                                              .original_ctx     = 8,
                                              .attention_factor = 1.2,
                                              .n_pairs          = m->hp.rope_dim / 2};
  for (int64_t i = 0; i < rs->n_pairs; i++)
    rs->short_factor[i] = 1 + 0.1 * (double)i, rs->long_factor[i] = 3 + (double)i;
  const int64_t D = m->hp.n_embd, S = 8; /* S: a sequence within the original context */
  float        *out = malloc(sizeof(float) * (size_t)(4 * T * D)), *a = out, *b = a + T * D, *c = b + T * D;
  float        *d  = c + T * D;
  comp_fwd_ws  *wl = NULL, *ws = NULL, *wl2 = NULL;
  CHECK_OK(comp_fwd_ws_create(&m->hp, T, T, &wl)); /* long tables */
  CHECK_OK(comp_fwd_ws_create(&m->hp, S, S, &ws)); /* short tables */
  CHECK_OK(comp_fwd_ws_create(&m->hp, T, T, &wl2));
  if (wl && ws && wl2) {
    layer0(m, ids, S, wl, a), layer0(m, ids, S, ws, b);
    CHECK_MSG(memcmp(a, b, sizeof(float) * (size_t)(S * D)) == 0,
              "longrope: %lld tokens through a workspace for %lld: the short factors", (long long)S, (long long)T);
    layer0(m, ids, T, wl, a), layer0(m, ids, T, wl2, c);
    CHECK_MSG(memcmp(a, c, sizeof(float) * (size_t)(T * D)) == 0, "longrope: %lld tokens again: the long factors",
              (long long)T);
    rs->kind = COMP_ROPE_SCALING_NONE; /* the scaling is applied: plain RoPE differs */
    comp_fwd_ws_destroy(&ws);
    CHECK_OK(comp_fwd_ws_create(&m->hp, S, S, &ws));
    if (ws) layer0(m, ids, S, ws, d);
    CHECK_MSG(ws && memcmp(b, d, sizeof(float) * (size_t)(S * D)) != 0, "longrope: plain RoPE gives other outputs");
  }
  comp_fwd_ws_destroy(&wl), comp_fwd_ws_destroy(&ws), comp_fwd_ws_destroy(&wl2);
  free(out);
  free(ids);
  comp_model_destroy(&m);
}

int main(int argc, char **argv)
{
  check_model(COMP_SRC_DIR "/models/default", COMP_SRC_DIR "/tests/data/default_golden", 1);
  check_longrope_tables();
  const char *shared = argc > 1 ? argv[1] : getenv("COMP_SHARED");
  if (!shared || !comp_is_dir(shared)) {
    printf("SKIP: shared data folder %s not found: only the embedded default model was checked\n",
           shared ? shared : "(unset)");
    return comp_test_end();
  }
  char m[1024], g[1024];
#define SHARED_CASE(model, golden, hidden)                                                                             \
  snprintf(m, sizeof m, "%s/data/%s", shared, model);                                                                  \
  snprintf(g, sizeof g, "%s/data/trained/golden/%s", shared, golden);                                                  \
  check_model(m, g, hidden)
  SHARED_CASE("trained/llama-8L", "llama-8L", 1);
  SHARED_CASE("trained/opt-6L", "opt-6L", 1);
  SHARED_CASE("llama2c-stories260K/stories260K.bin", "stories260K", 0);
  return comp_test_end();
}
