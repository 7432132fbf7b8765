/* model.c - checkpoint loading and validation, layers on demand (see comp/model.h). */
#include "comp/model.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp/archive.h"
#include "comp/util.h"

/* ---- config.json ----------------------------------------------------------------------------- */

const cJSON *comp_config_item(const cJSON *cfg, const char *keys, char *name, size_t n)
{
  const char *p = keys;
  if (name && n) snprintf(name, n, "%.*s", keys ? (int)strcspn(keys, "|") : 0, keys ? keys : "");
  while (p && *p) {
    char         k[128];
    const size_t len = strcspn(p, "|");
    snprintf(k, sizeof k, "%.*s", (int)len, p);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, k);
    if (v) {
      if (name && n) snprintf(name, n, "%s", k);
      return v;
    }
    p += len + (p[len] == '|');
  }
  return NULL;
}

static const cJSON *cfg_item(const cJSON *cfg, const char *keys) { return comp_config_item(cfg, keys, NULL, 0); }

/* Read integer key `key` (NULL key: use dflt). required: missing is an error. */
static comp_status cfg_int(const cJSON *cfg, const char *path, const char *key, bool required, int64_t dflt,
                           int64_t *out)
{
  *out           = dflt;
  const cJSON *v = cfg_item(cfg, key);
  if (!v || cJSON_IsNull(v)) {
    COMP_CHECK(!required, COMP_ERR_FORMAT, "%s: missing field \"%s\"", path, key);
    return COMP_OK;
  }
  COMP_CHECK(cJSON_IsNumber(v) && v->valuedouble == (double)(int64_t)v->valuedouble && v->valuedouble > 0 &&
                 v->valuedouble < 1e12,
             COMP_ERR_FORMAT, "%s: field \"%s\" must be a positive integer", path, key);
  *out = (int64_t)v->valuedouble;
  return COMP_OK;
}

static comp_status cfg_float(const cJSON *cfg, const char *path, const char *key, float dflt, float *out)
{
  *out           = dflt;
  const cJSON *v = cfg_item(cfg, key);
  if (!v || cJSON_IsNull(v)) return COMP_OK;
  COMP_CHECK(cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 1e30, COMP_ERR_FORMAT,
             "%s: field \"%s\" must be a positive number below 1e30", path, key);
  *out = (float)v->valuedouble;
  return COMP_OK;
}

/* A positive number that null turns off: absent, dflt; null, 0 (Gemma-2's soft-caps, its window). */
static comp_status cfg_float_or_off(const cJSON *cfg, const char *path, const char *key, float dflt, float *out)
{
  const cJSON *v = cfg_item(cfg, key);
  *out           = key && !v ? dflt : 0.0f;
  return v && !cJSON_IsNull(v) ? cfg_float(cfg, path, key, dflt, out) : COMP_OK;
}

static const char *cfg_str(const cJSON *cfg, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

_Static_assert(COMP_ROLE_COUNT <= 64, "comp_hparams.opt_on holds one bit per role");

/* Which optional roles the config's switches turn on (comp_arch_opt_switch) */
static comp_status read_opt_switches(const cJSON *cfg, const char *path, const comp_arch_desc *d, uint64_t *on)
{
  *on = 0;
  for (int i = 0; i < (int)(sizeof d->opt_on / sizeof d->opt_on[0]) && d->opt_on[i].key; i++) {
    const comp_arch_opt_switch *w = &d->opt_on[i];
    const cJSON                *v = cJSON_GetObjectItemCaseSensitive(cfg, w->key);
    COMP_CHECK(!v || cJSON_IsNull(v) || cJSON_IsBool(v), COMP_ERR_FORMAT, "%s: field \"%s\" must be true or false",
               path, w->key);
    if (cJSON_IsBool(v) ? cJSON_IsTrue(v) : w->dflt)
      for (int k = 0; k < w->n; k++) *on |= UINT64_C(1) << w->role[k];
  }
  return COMP_OK;
}

/* Whether the config holds switch r (comp_arch_cfg_rule); *absent: the key is absent or null. */
static comp_status rule_holds(const cJSON *cfg, const char *path, const comp_arch_cfg_rule *r, bool *holds,
                              bool *absent)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, r->key);
  *absent        = !v || cJSON_IsNull(v);
  if (r->want == COMP_CFG_UNSET) {
    *holds = *absent || cJSON_IsFalse(v) || (cJSON_IsNumber(v) && v->valuedouble == 0);
    return COMP_OK;
  }
  if (r->want == COMP_CFG_INT) {
    COMP_CHECK(*absent ||
                   (cJSON_IsNumber(v) && fabs(v->valuedouble) < 1e9 && v->valuedouble == (double)(int)v->valuedouble),
               COMP_ERR_FORMAT, "%s: field \"%s\" must be an integer", path, r->key);
    *holds = *absent ? r->dflt : (int)v->valuedouble == r->value;
    return COMP_OK;
  }
  COMP_CHECK(*absent || cJSON_IsBool(v), COMP_ERR_FORMAT, "%s: field \"%s\" must be true or false", path, r->key);
  *holds = (*absent ? r->dflt : cJSON_IsTrue(v)) == (r->want == COMP_CFG_TRUE);
  return COMP_OK;
}

/* The structural switches of the architecture's row (comp_arch_cfg_rule) against the config. */
static comp_status check_rules(const cJSON *cfg, const char *path, const comp_arch_desc *d)
{
  for (int i = 0; i < (int)(sizeof d->rules / sizeof d->rules[0]) && d->rules[i].key; i++) {
    const comp_arch_cfg_rule *r  = &d->rules[i];
    bool                      ok = false, absent = false;
    COMP_CALL(rule_holds(cfg, path, r, &ok, &absent));
    if (ok) continue;
    if (r->want == COMP_CFG_UNSET)
      return comp_error_set(COMP_ERR_UNSUPPORTED,
                            "%s: \"%s\" is set; comp does not implement it for %s (it must be absent, null or 0)", path,
                            r->key, d->name);
    if (r->want == COMP_CFG_INT)
      return comp_error_set(COMP_ERR_UNSUPPORTED, "%s: %s is not supported for %s (comp implements %s = %d)", path,
                            r->key, d->name, r->key, r->value);
    const bool want = r->want == COMP_CFG_TRUE;
    return comp_error_set(COMP_ERR_UNSUPPORTED, "%s: %s = %s%s is not supported for %s (comp implements %s = %s)", path,
                          r->key, want ? "false" : "true", absent ? " (the default)" : "", d->name, r->key,
                          want ? "true" : "false");
  }
  return COMP_OK;
}

/* "key value" of switch r as the config has it (absent: the modeling code's default, where the row
 * knows it), appended to buf (n bytes) */
static void describe_switch(const cJSON *cfg, const comp_arch_cfg_rule *r, char *buf, size_t n)
{
  const size_t used = strlen(buf);
  const cJSON *v    = cJSON_GetObjectItemCaseSensitive(cfg, r->key);
  char        *txt  = v && !cJSON_IsNull(v) ? cJSON_PrintUnformatted(v) : NULL;
  const char  *dflt = r->want == COMP_CFG_INT ? "absent" : (r->dflt ? "true (the default)" : "false (the default)");
  snprintf(buf + used, n - used, "%s%s = %s", used ? ", " : "", r->key, txt ? txt : dflt);
  cJSON_free(txt);
}

/* The row for model_type mt: the first of the rows that share it whose select switches the config
 * all holds (Falcon's decoders); none: one error line naming the config's switches and the rows. */
static comp_status pick_row(const cJSON *cfg, const char *path, const char *mt, comp_arch *out)
{
  *out = comp_arch_next_hf(mt, COMP_ARCH_COUNT);
  if (*out == COMP_ARCH_COUNT) {
    char known[256];
    comp_arch_hf_names(known, sizeof known);
    return comp_error_set(COMP_ERR_UNSUPPORTED, "%s: unknown architecture model_type \"%s\" (supported: %s)", path, mt,
                          known);
  }
  char have[256] = "", rows[512] = "";
  for (comp_arch a = *out; a != COMP_ARCH_COUNT; a = comp_arch_next_hf(mt, a)) {
    const comp_arch_desc *d   = comp_arch_get(a);
    bool                  all = true, absent = false;
    for (int i = 0; i < (int)(sizeof d->select / sizeof d->select[0]) && d->select[i].key && all; i++)
      COMP_CALL(rule_holds(cfg, path, &d->select[i], &all, &absent));
    if (all) return *out = a, COMP_OK;
    size_t used = strlen(rows);
    snprintf(rows + used, sizeof rows - used, "%s%s:", used ? "; " : "", d->name);
    for (int i = 0; i < (int)(sizeof d->select / sizeof d->select[0]) && d->select[i].key; i++) {
      const comp_arch_cfg_rule *r = &d->select[i];
      used                        = strlen(rows);
      if (r->want == COMP_CFG_INT)
        snprintf(rows + used, sizeof rows - used, " %s %d%s", r->key, r->value, r->dflt ? " or absent" : "");
      else
        snprintf(rows + used, sizeof rows - used, " %s %s", r->key, r->want == COMP_CFG_TRUE ? "true" : "false");
      if (!strstr(have, r->key)) describe_switch(cfg, r, have, sizeof have);
    }
  }
  *out = COMP_ARCH_COUNT;
  return comp_error_set(COMP_ERR_UNSUPPORTED, "%s: %s with %s is not supported (comp implements %s)", path, mt, have,
                        rows);
}

/* Each layer's attention window (*win, n_layer of them; NULL when every layer has hp->sliding_window).
 * transformers' newer configs list each layer's kind in layer_types: full_attention (every earlier
 * key) or sliding_attention (the last sliding_window keys; Gemma-2, Mistral-style hybrids); others
 * (chunked, linear attention) are refused. Without the list, the row's window_period (Gemma-3: the
 * config's sliding_window_pattern) says which layers are windowed: all (0), or those with
 * (i + 1) % p != 0 (Gemma-2: p = 2, the even layers; Gemma-3: p = 6; p = 1: none). */
static comp_status layer_windows(const cJSON *cfg, const char *path, const comp_arch_desc *d, const comp_hparams *hp,
                                 int64_t **win)
{
  const cJSON  *lt = cJSON_GetObjectItemCaseSensitive(cfg, "layer_types");
  const int64_t L = hp->n_layer, W = hp->sliding_window;
  int64_t       period = d->window_period; /* the row's, or the config's (Gemma-3's sliding_window_pattern) */
  const bool    listed = lt && !cJSON_IsNull(lt);
  *win                 = NULL;
  if (!listed) /* as transformers, which reads the pattern only to make layer_types */
    COMP_CALL(cfg_int(cfg, path, d->cfg.window_period, false, d->window_period, &period));
  COMP_CHECK(!listed || cJSON_IsArray(lt), COMP_ERR_FORMAT, "%s: field \"layer_types\" must be a list", path);
  COMP_CHECK(!listed || cJSON_GetArraySize(lt) == L, COMP_ERR_FORMAT, "%s: layer_types has %d entries for %lld layers",
             path, cJSON_GetArraySize(lt), (long long)L);
  /* Gemma-3: a layer's kind picks both its window and its RoPE base, so the window cannot be off */
  COMP_CHECK(W > 0 || (hp->rope_theta_local <= 0 && !d->local_rope_plain), COMP_ERR_UNSUPPORTED,
             "%s: %s with sliding_window null is not supported (its local layers are windowed and rotated with "
             "their own RoPE)",
             path, d->name);
  int64_t first = -1; /* Qwen2/3: the first windowed layer (max_window_layers), from which every layer is */
  if (!listed && d->cfg.window_first && W > 0) {
    const cJSON *f = cfg_item(cfg, d->cfg.window_first);
    first          = d->window_first;
    if (f && !cJSON_IsNull(f)) {
      COMP_CHECK(cJSON_IsNumber(f) && f->valuedouble >= 0 && f->valuedouble < 1e12 &&
                     f->valuedouble == floor(f->valuedouble),
                 COMP_ERR_FORMAT, "%s: field \"%s\" must be a non-negative integer", path, d->cfg.window_first);
      first = (int64_t)f->valuedouble;
    }
  }
  if (!listed && first < 0 && !(W > 0 && period > 0)) return COMP_OK; /* one window (or none) for every layer */
  int64_t *w = malloc((size_t)L * sizeof *w);
  COMP_CHECK(w, COMP_ERR_NOMEM, "out of memory");
  for (int64_t l = 0; l < L; l++) {
    const cJSON *e = listed ? cJSON_GetArrayItem(lt, (int)l) : NULL;
    if (!e) { /* the row's pattern */
      w[l] = first >= 0 ? (l >= first ? W : 0) : (l + 1) % period == 0 ? 0 : W;
      continue;
    }
    const char *k    = cJSON_IsString(e) ? e->valuestring : NULL;
    comp_status s    = COMP_OK;
    bool        full = k && strcmp(k, "full_attention") == 0, slide = k && strcmp(k, "sliding_attention") == 0;
    if (!k)
      s = comp_error_set(COMP_ERR_FORMAT, "%s: layer_types[%lld] must be a string", path, (long long)l);
    else if (!full && !slide)
      s = comp_error_set(COMP_ERR_UNSUPPORTED,
                         "%s: layer_types[%lld] = \"%s\" is not supported (comp implements full_attention and "
                         "sliding_attention)",
                         path, (long long)l, k);
    else if (slide && W <= 0)
      s = comp_error_set(COMP_ERR_UNSUPPORTED,
                         "%s: layer_types[%lld] = \"sliding_attention\" is not supported for %s without a "
                         "sliding_window",
                         path, (long long)l, d->name);
    if (s) {
      free(w);
      return s;
    }
    w[l] = slide ? W : 0;
  }
  *win = w;
  return COMP_OK;
}

/* transformers 5 writes partial_rotary_factor into rope_parameters (Phi-3): there it is the share of
 * each head RoPE rotates, as the top-level key would be; where the top-level key is set, or the
 * architecture rotates a fixed share, it must agree with *frac. */
static comp_status rope_parameters_fraction(const cJSON *cfg, const char *path, const comp_arch_desc *d, float *frac)
{
  const cJSON *rp = cJSON_GetObjectItemCaseSensitive(cfg, "rope_parameters");
  const cJSON *v  = cJSON_IsObject(rp) ? cJSON_GetObjectItemCaseSensitive(rp, "partial_rotary_factor") : NULL;
  if (!v || cJSON_IsNull(v)) return COMP_OK;
  COMP_CHECK(cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble <= 1, COMP_ERR_FORMAT,
             "%s: rope_parameters \"partial_rotary_factor\" must be a number in (0, 1]", path);
  const cJSON *top = d->cfg.rope_fraction ? cJSON_GetObjectItemCaseSensitive(cfg, d->cfg.rope_fraction) : NULL;
  const bool   own = d->cfg.rope_fraction && (!top || cJSON_IsNull(top));
  COMP_CHECK(own || (float)v->valuedouble == *frac, COMP_ERR_FORMAT,
             "%s: rope_parameters' partial_rotary_factor %g differs from the share of each head %s rotates here (%g)",
             path, v->valuedouble, d->name, (double)*frac);
  *frac = (float)v->valuedouble;
  return COMP_OK;
}

/* A positive integer that null turns off (an attention window): absent, dflt; null, 0. */
static comp_status cfg_int_or_off(const cJSON *cfg, const char *path, const char *key, int64_t dflt, int64_t *out)
{
  const cJSON *v = cfg_item(cfg, key);
  *out           = key && !v ? dflt : 0;
  return v && !cJSON_IsNull(v) ? cfg_int(cfg, path, key, false, 0, out) : COMP_OK;
}

/* ---- rope_scaling ------------------------------------------------------------------------------ */

static const char *const rope_scaling_names[] = {[COMP_ROPE_SCALING_LINEAR]   = "linear",
                                                 [COMP_ROPE_SCALING_LLAMA3]   = "llama3",
                                                 [COMP_ROPE_SCALING_LONGROPE] = "longrope",
                                                 [COMP_ROPE_SCALING_YARN]     = "yarn"};
enum { ROPE_SCALING_KINDS = sizeof rope_scaling_names / sizeof rope_scaling_names[0] };

const char *comp_rope_scaling_name(comp_rope_scaling_kind k)
{
  return (int)k > 0 && (int)k < ROPE_SCALING_KINDS ? rope_scaling_names[k] : NULL;
}

int comp_rope_scaling_from_name(const char *name)
{
  for (int k = 1; name && k < ROPE_SCALING_KINDS; k++)
    if (strcmp(name, rope_scaling_names[k]) == 0) return k;
  return -1;
}

comp_status comp_rope_scaling_check(const comp_rope_scaling *rs, const char *where)
{
  if (rs->kind == COMP_ROPE_SCALING_NONE) return COMP_OK;
  const char *t = comp_rope_scaling_name(rs->kind);
  COMP_CHECK(t, COMP_ERR_FORMAT, "%s: unknown rope_scaling kind %d", where, (int)rs->kind);
  COMP_CHECK(isfinite(rs->factor) && rs->factor > 0, COMP_ERR_FORMAT,
             "%s: rope_scaling (rope_type %s) factor = %g must be a positive number", where, t, rs->factor);
  if (rs->kind == COMP_ROPE_SCALING_LINEAR) return COMP_OK;
  if (rs->kind == COMP_ROPE_SCALING_LONGROPE) {
    COMP_CHECK(rs->n_pairs >= 1 && rs->n_pairs <= COMP_ROPE_MAX_PAIRS, COMP_ERR_FORMAT,
               "%s: rope_scaling (rope_type %s) has %lld factors per list (1..%d)", where, t, (long long)rs->n_pairs,
               COMP_ROPE_MAX_PAIRS);
    for (int k = 0; k < 2; k++) {
      const double *f = k ? rs->long_factor : rs->short_factor;
      for (int64_t i = 0; i < rs->n_pairs; i++)
        COMP_CHECK(isfinite(f[i]) && f[i] > 0, COMP_ERR_FORMAT,
                   "%s: rope_scaling (rope_type %s) %s[%lld] = %g must be a positive number", where, t,
                   k ? "long_factor" : "short_factor", (long long)i, f[i]);
    }
  } else if (rs->kind == COMP_ROPE_SCALING_YARN) { /* _validate_yarn_parameters' bounds */
    COMP_CHECK(rs->factor >= 1, COMP_ERR_FORMAT, "%s: rope_scaling (rope_type %s) factor = %g must be at least 1",
               where, t, rs->factor);
    COMP_CHECK(isfinite(rs->beta_slow) && rs->beta_slow > 0 && isfinite(rs->beta_fast) &&
                   rs->beta_fast >= rs->beta_slow,
               COMP_ERR_FORMAT,
               "%s: rope_scaling (rope_type %s) beta_fast = %g and beta_slow = %g must be positive numbers, "
               "beta_fast the larger",
               where, t, rs->beta_fast, rs->beta_slow);
  } else { /* LLAMA3 */
    COMP_CHECK(isfinite(rs->low_freq_factor) && rs->low_freq_factor > 0, COMP_ERR_FORMAT,
               "%s: rope_scaling (rope_type %s) low_freq_factor = %g must be a positive number", where, t,
               rs->low_freq_factor);
    COMP_CHECK(isfinite(rs->high_freq_factor) && rs->high_freq_factor > rs->low_freq_factor, COMP_ERR_FORMAT,
               "%s: rope_scaling (rope_type %s) high_freq_factor = %g must be greater than low_freq_factor = %g", where,
               t, rs->high_freq_factor, rs->low_freq_factor);
  }
  if (rs->kind == COMP_ROPE_SCALING_LONGROPE || rs->kind == COMP_ROPE_SCALING_YARN)
    COMP_CHECK(isfinite(rs->attention_factor) && rs->attention_factor > 0, COMP_ERR_FORMAT,
               "%s: rope_scaling (rope_type %s) attention_factor = %g must be a positive number", where, t,
               rs->attention_factor);
  COMP_CHECK(rs->original_ctx > 0, COMP_ERR_FORMAT,
             "%s: rope_scaling (rope_type %s) original_max_position_embeddings = %lld must be positive", where, t,
             (long long)rs->original_ctx);
  return COMP_OK;
}

/* *out = the number rs[key], which the scaling of rope_type t requires (rs is the config's field nm). */
static comp_status rope_scaling_number(const cJSON *rs, const char *path, const char *nm, const char *t,
                                       const char *key, double *out)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(rs, key);
  COMP_CHECK(v && !cJSON_IsNull(v), COMP_ERR_FORMAT, "%s: %s (rope_type %s) has no \"%s\"", path, nm, t, key);
  COMP_CHECK(cJSON_IsNumber(v), COMP_ERR_FORMAT, "%s: %s (rope_type %s) \"%s\" must be a number", path, nm, t, key);
  *out = v->valuedouble;
  return COMP_OK;
}

/* list[0..n) = the numbers of rs[key], which must hold exactly n (one per rotated pair). */
static comp_status longrope_list(const cJSON *rs, const char *path, const char *nm, const char *key, int64_t n,
                                 double *list)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(rs, key);
  COMP_CHECK(cJSON_IsArray(v), COMP_ERR_FORMAT, "%s: %s (rope_type longrope) \"%s\" must be a list of numbers", path,
             nm, key);
  const int64_t got = cJSON_GetArraySize(v);
  COMP_CHECK(got == n, COMP_ERR_FORMAT,
             "%s: %s (rope_type longrope) \"%s\" has %lld numbers; RoPE rotates %lld pairs of each head here", path, nm,
             key, (long long)got, (long long)n);
  int64_t      i = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, v)
  {
    COMP_CHECK(cJSON_IsNumber(e), COMP_ERR_FORMAT, "%s: %s (rope_type longrope) %s[%lld] must be a number", path, nm,
               key, (long long)i);
    list[i++] = e->valuedouble;
  }
  return COMP_OK;
}

/* *v = obj's original_max_position_embeddings (NULL when absent or null), which must be a positive integer; who
 * names obj in the error line. */
static comp_status original_ctx_item(const cJSON *obj, const char *path, const char *who, const cJSON **v)
{
  *v = cJSON_GetObjectItemCaseSensitive(obj, "original_max_position_embeddings");
  if (*v && cJSON_IsNull(*v)) *v = NULL;
  COMP_CHECK(!*v || (cJSON_IsNumber(*v) && (*v)->valuedouble >= 1 && (*v)->valuedouble < 1e12 &&
                     (*v)->valuedouble == floor((*v)->valuedouble)),
             COMP_ERR_FORMAT, "%s: %s original_max_position_embeddings must be a positive integer", path, who);
  return COMP_OK;
}

/* Phi-3's longrope as transformers reads it (_compute_longrope_parameters and, for the factor set a
 * sequence uses, longrope_frequency_update): original_max_position_embeddings from the scaling
 * object (transformers 5), else the config's top level (Phi3Config), else max_position_embeddings;
 * factor, when not given, max_position_embeddings / original; attention_factor, when not given,
 * sqrt(1 + ln(factor) / ln(original)) (1 for factor <= 1). A given factor that differs from the
 * ratio while the top level has the original is refused: transformers 4 takes the ratio, 5 the factor. */
static comp_status parse_longrope(const cJSON *cfg, const cJSON *rs, const char *path, const char *nm,
                                  const comp_hparams *hp, comp_rope_scaling *sc)
{
  sc->n_pairs = hp->rope_dim / 2;
  COMP_CHECK(sc->n_pairs <= COMP_ROPE_MAX_PAIRS, COMP_ERR_UNSUPPORTED,
             "%s: %s (rope_type longrope) on %lld rotated dims per head: comp holds factors for at most %d", path, nm,
             (long long)hp->rope_dim, 2 * COMP_ROPE_MAX_PAIRS);
  COMP_CALL(longrope_list(rs, path, nm, "short_factor", sc->n_pairs, sc->short_factor));
  COMP_CALL(longrope_list(rs, path, nm, "long_factor", sc->n_pairs, sc->long_factor));
  const cJSON *in, *top;
  COMP_CALL(original_ctx_item(rs, path, nm, &in));
  COMP_CALL(original_ctx_item(cfg, path, "the config's", &top));
  COMP_CHECK(!in || !top || in->valuedouble == top->valuedouble, COMP_ERR_FORMAT,
             "%s: %s original_max_position_embeddings %g and the config's %g differ", path, nm, in->valuedouble,
             top->valuedouble);
  sc->original_ctx   = in ? (int64_t)in->valuedouble : top ? (int64_t)top->valuedouble : hp->n_ctx;
  const double ratio = (double)hp->n_ctx / (double)sc->original_ctx;
  const cJSON *f     = cJSON_GetObjectItemCaseSensitive(rs, "factor");
  const cJSON *af    = cJSON_GetObjectItemCaseSensitive(rs, "attention_factor");
  if (f && !cJSON_IsNull(f)) {
    COMP_CALL(rope_scaling_number(rs, path, nm, "longrope", "factor", &sc->factor));
    COMP_CHECK(!top || sc->factor == ratio, COMP_ERR_FORMAT,
               "%s: %s (rope_type longrope) factor %g differs from max_position_embeddings / "
               "original_max_position_embeddings = %g (transformers 4 takes the ratio, 5 the factor)",
               path, nm, sc->factor, ratio);
  } else {
    sc->factor = ratio;
  }
  if (af && !cJSON_IsNull(af))
    return rope_scaling_number(rs, path, nm, "longrope", "attention_factor", &sc->attention_factor);
  sc->attention_factor = comp_longrope_default_attention(sc->factor, sc->original_ctx);
  return COMP_OK;
}

double comp_longrope_default_attention(double factor, int64_t original_ctx)
{
  return factor <= 1.0 ? 1.0 : sqrt(1.0 + log(factor) / log((double)original_ctx));
}

/* YaRN's get_mscale(scale, m): 0.1 m ln(scale) + 1, and 1 for scale <= 1 */
static double yarn_mscale(double scale, double m) { return scale <= 1.0 ? 1.0 : 0.1 * m * log(scale) + 1.0; }

double comp_yarn_default_attention(double factor) { return yarn_mscale(factor, 1.0); }

/* *out = rs[key] when it is a number other than 0 (absent, null or 0: dflt), as YaRN's
 * `rope_scaling.get(key) or dflt` reads beta_fast and beta_slow. */
static comp_status yarn_number_or(const cJSON *rs, const char *path, const char *nm, const char *key, double dflt,
                                  double *out)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(rs, key);
  *out           = dflt;
  if (!v || cJSON_IsNull(v)) return COMP_OK;
  COMP_CHECK(cJSON_IsNumber(v), COMP_ERR_FORMAT, "%s: %s (rope_type yarn) \"%s\" must be a number", path, nm, key);
  if (v->valuedouble != 0) *out = v->valuedouble;
  return COMP_OK;
}

/* YaRN as transformers reads it since the fix of its issue 38224 (_compute_yarn_parameters; Qwen2.5 and
 * Qwen3 long-context configs, OLMo 3, SmolLM3): factor required; original_max_position_embeddings from
 * the scaling object, else max_position_embeddings (the ramp's context; the factor stays as given:
 * transformers before that fix replaced it by max_position_embeddings / original); attention_factor
 * when given, else mscale and mscale_all_dim's ratio get_mscale(factor, mscale) / get_mscale(factor,
 * mscale_all_dim) when both are set (DeepSeek's convention), else get_mscale(factor); beta_fast 32 and
 * beta_slow 1 unless set; truncate (rounding the ramp's ends out to whole pairs) true unless false. */
static comp_status parse_yarn(const cJSON *rs, const char *path, const char *nm, const comp_hparams *hp,
                              comp_rope_scaling *sc)
{
  COMP_CALL(rope_scaling_number(rs, path, nm, "yarn", "factor", &sc->factor));
  const cJSON *o;
  char         who[64];
  snprintf(who, sizeof who, "%s (rope_type yarn)", nm);
  COMP_CALL(original_ctx_item(rs, path, who, &o));
  sc->original_ctx = o ? (int64_t)o->valuedouble : hp->n_ctx;
  COMP_CALL(yarn_number_or(rs, path, nm, "beta_fast", 32, &sc->beta_fast));
  COMP_CALL(yarn_number_or(rs, path, nm, "beta_slow", 1, &sc->beta_slow));
  const cJSON *tr = cJSON_GetObjectItemCaseSensitive(rs, "truncate");
  COMP_CHECK(!tr || cJSON_IsBool(tr), COMP_ERR_FORMAT, "%s: %s (rope_type yarn) \"truncate\" must be true or false",
             path, nm);
  sc->truncate    = !tr || cJSON_IsTrue(tr);
  const cJSON *af = cJSON_GetObjectItemCaseSensitive(rs, "attention_factor");
  if (af && !cJSON_IsNull(af))
    return rope_scaling_number(rs, path, nm, "yarn", "attention_factor", &sc->attention_factor);
  double ms = 0, ma = 0;
  COMP_CALL(yarn_number_or(rs, path, nm, "mscale", 0, &ms));
  COMP_CALL(yarn_number_or(rs, path, nm, "mscale_all_dim", 0, &ma));
  sc->attention_factor =
      ms != 0 && ma != 0 ? yarn_mscale(sc->factor, ms) / yarn_mscale(sc->factor, ma) : yarn_mscale(sc->factor, 1.0);
  return COMP_OK;
}

/* transformers 5's Gemma-3 configs hold one rope_parameters per layer kind: {"full_attention": {...},
 * "sliding_attention": {...}}. The sliding (local) layers' must be plain RoPE, its base the local one
 * (hp->rope_theta_local); *rp becomes the full (global) layers' object, read as a flat one is. */
static comp_status rope_parameters_by_kind(const cJSON *cfg, const char *path, const comp_arch_desc *d,
                                           comp_hparams *hp, const cJSON **rp)
{
  const cJSON *full = cJSON_GetObjectItemCaseSensitive(*rp, "full_attention");
  const cJSON *loc  = cJSON_GetObjectItemCaseSensitive(*rp, "sliding_attention");
  if (!full && !loc) return COMP_OK; /* one object for every layer */
  COMP_CHECK(d->rope_theta_local > 0 || d->local_rope_plain, COMP_ERR_UNSUPPORTED,
             "%s: rope_parameters per layer kind are not supported for %s (its layers share one RoPE)", path, d->name);
  COMP_CHECK((!full || cJSON_IsObject(full)) && (!loc || cJSON_IsObject(loc)), COMP_ERR_FORMAT,
             "%s: rope_parameters' full_attention and sliding_attention must be objects", path);
  if (loc) {
    const cJSON *t  = cJSON_GetObjectItemCaseSensitive(loc, "rope_type");
    const cJSON *th = cJSON_GetObjectItemCaseSensitive(loc, "rope_theta");
    const cJSON *kb = cJSON_GetObjectItemCaseSensitive(cfg, d->cfg.rope_theta_local);
    COMP_CHECK(!t || cJSON_IsNull(t) || (cJSON_IsString(t) && strcmp(t->valuestring, "default") == 0),
               COMP_ERR_UNSUPPORTED, "%s: rope_parameters' sliding_attention must be plain RoPE (rope_type default)",
               path);
    if (th && !cJSON_IsNull(th)) {
      COMP_CHECK(cJSON_IsNumber(th) && th->valuedouble > 0, COMP_ERR_FORMAT,
                 "%s: rope_parameters' sliding_attention rope_theta must be a positive number", path);
      COMP_CHECK(!cJSON_IsNumber(kb) || kb->valuedouble == th->valuedouble, COMP_ERR_FORMAT,
                 "%s: %s %g and rope_parameters' sliding_attention rope_theta %g differ", path, d->cfg.rope_theta_local,
                 kb->valuedouble, th->valuedouble);
      hp->rope_theta_local = (float)th->valuedouble;
    }
  }
  *rp = full; /* absent: plain RoPE */
  return COMP_OK;
}

/* Dynamic NTK scaling (rope_type "dynamic"): transformers' dynamic_rope_update recomputes the base only
 * for sequences longer than max_position_embeddings (_compute_dynamic_ntk_parameters gives the plain
 * base up to it), and comp refuses those (comp_forward_embed), so within n_ctx it is plain RoPE: the
 * factor is checked and the scaling left NONE (archives record none; exports keep the source's
 * rope_scaling). An original_max_position_embeddings other than n_ctx would move that threshold:
 * refused. */
static comp_status dynamic_within_context(const cJSON *rs, const char *path, const char *nm, const comp_hparams *hp)
{
  double       factor = 0, orig = 0;
  const cJSON *o = cJSON_GetObjectItemCaseSensitive(rs, "original_max_position_embeddings");
  COMP_CALL(rope_scaling_number(rs, path, nm, "dynamic", "factor", &factor));
  if (o && !cJSON_IsNull(o)) {
    COMP_CALL(rope_scaling_number(rs, path, nm, "dynamic", "original_max_position_embeddings", &orig));
    COMP_CHECK(orig == (double)hp->n_ctx, COMP_ERR_UNSUPPORTED,
               "%s: %s (rope_type dynamic) original_max_position_embeddings %g differs from max_position_embeddings "
               "%lld: not supported (comp runs dynamic scaling as plain RoPE up to max_position_embeddings)",
               path, nm, orig, (long long)hp->n_ctx);
  }
  COMP_CHECK(factor >= 1, COMP_ERR_FORMAT, "%s: %s (rope_type dynamic) factor = %g must be at least 1", path, nm,
             factor);
  return COMP_OK;
}

/* HunYuan's DynamicNTKAlphaRotary (modeling_hunyuan_v1_dense.py): rope_scaling "dynamic" with an "alpha" raises
 * the base to rope_theta * alpha^(head_dim / (head_dim - 2)) at every length (the scaling kind stays NONE: the
 * raised base is the model's; exports keep the source's rope_scaling and rope_theta). Its factor, which that code
 * reads only beyond max_position_embeddings (refused here), is checked when given. */
static comp_status ntk_alpha(const cJSON *rs, const char *path, const char *nm, comp_hparams *hp)
{
  double       alpha = 0;
  const cJSON *f     = cJSON_GetObjectItemCaseSensitive(rs, "factor");
  COMP_CALL(rope_scaling_number(rs, path, nm, "dynamic", "alpha", &alpha));
  COMP_CHECK(isfinite(alpha) && alpha > 0 && alpha < 1e12, COMP_ERR_FORMAT,
             "%s: %s (rope_type dynamic) alpha = %g must be a positive number", path, nm, alpha);
  COMP_CHECK(hp->head_dim > 2, COMP_ERR_FORMAT, "%s: %s (rope_type dynamic) alpha needs head_dim > 2", path, nm);
  COMP_CHECK(!f || cJSON_IsNull(f) || (cJSON_IsNumber(f) && f->valuedouble >= 1), COMP_ERR_FORMAT,
             "%s: %s (rope_type dynamic) factor must be a number of at least 1", path, nm);
  hp->rope_theta = (float)((double)hp->rope_theta * pow(alpha, (double)hp->head_dim / (double)(hp->head_dim - 2)));
  return COMP_OK;
}

/* hp->rope_scaling from the config's "rope_scaling" (absent or null: none), read as Hugging Face
 * does: the kind from "rope_type" (older configs: "type"; "default" is plain RoPE), then the fields
 * the kind's _compute_*_parameters reads; other keys are ignored, as there. transformers 5 writes
 * "rope_parameters" instead, with the base (rope_theta) in it too; it is read the same way. */
static comp_status parse_rope_scaling(const cJSON *cfg, const char *path, const comp_arch_desc *d, comp_hparams *hp)
{
  const cJSON *rs = cJSON_GetObjectItemCaseSensitive(cfg, "rope_scaling");
  const cJSON *rp = cJSON_GetObjectItemCaseSensitive(cfg, "rope_parameters");
  const char  *nm = "rope_scaling";
  if (rp && !cJSON_IsNull(rp)) {
    COMP_CHECK(!rs || cJSON_IsNull(rs), COMP_ERR_FORMAT, "%s: both rope_scaling and rope_parameters are set", path);
    COMP_CHECK(cJSON_IsObject(rp), COMP_ERR_FORMAT, "%s: rope_parameters must be an object or null", path);
    COMP_CALL(rope_parameters_by_kind(cfg, path, d, hp, &rp));
    const cJSON *th  = cJSON_GetObjectItemCaseSensitive(rp, "rope_theta");
    const cJSON *top = d->cfg.rope_theta ? cJSON_GetObjectItemCaseSensitive(cfg, d->cfg.rope_theta) : NULL;
    if (th && !cJSON_IsNull(th)) {
      COMP_CHECK(cJSON_IsNumber(th) && th->valuedouble > 0, COMP_ERR_FORMAT,
                 "%s: rope_parameters \"rope_theta\" must be a positive number", path);
      COMP_CHECK(!cJSON_IsNumber(top) || top->valuedouble == th->valuedouble, COMP_ERR_FORMAT,
                 "%s: rope_theta %g and rope_parameters' rope_theta %g differ", path, top->valuedouble,
                 th->valuedouble);
      hp->rope_theta = (float)th->valuedouble;
    }
    rs = rp, nm = "rope_parameters";
  }
  if (!rs || cJSON_IsNull(rs)) return COMP_OK;
  COMP_CHECK(cJSON_IsObject(rs), COMP_ERR_FORMAT, "%s: %s must be an object or null", path, nm);
  const char *t = NULL, *keys[] = {"rope_type", "type"};
  for (int i = 0; i < 2; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rs, keys[i]);
    if (!v || cJSON_IsNull(v)) continue;
    COMP_CHECK(cJSON_IsString(v), COMP_ERR_FORMAT, "%s: %s \"%s\" must be a string", path, nm, keys[i]);
    COMP_CHECK(!t || strcmp(t, v->valuestring) == 0, COMP_ERR_FORMAT,
               "%s: %s has rope_type \"%s\" and type \"%s\" (one kind, please)", path, nm, t, v->valuestring);
    t = v->valuestring;
  }
  COMP_CHECK(t, COMP_ERR_FORMAT, "%s: %s has no \"rope_type\" (or \"type\")", path, nm);
  if (d->longrope_aliases && (strcmp(t, "su") == 0 || strcmp(t, "yarn") == 0)) t = "longrope"; /* Phi3Config */
  if (strcmp(t, "default") == 0) return COMP_OK;
  if (strcmp(t, "dynamic") == 0 && d->rope_scaling) {
    const cJSON *al = d->rope_ntk_alpha ? cJSON_GetObjectItemCaseSensitive(rs, "alpha") : NULL;
    if (al && !cJSON_IsNull(al) && !(cJSON_IsNumber(al) && al->valuedouble == 0)) return ntk_alpha(rs, path, nm, hp);
    return dynamic_within_context(rs, path, nm, hp);
  }
  COMP_CHECK(d->rope_scaling, COMP_ERR_UNSUPPORTED, "%s: %s scales RoPE (%s), but %s %s", path, nm, t, d->name,
             d->rope != COMP_ROPE_NONE ? "does not scale its RoPE"
             : d->alibi                ? "has no RoPE (ALiBi)"
                                       : "has no RoPE (learned positions)");
  const int kind = comp_rope_scaling_from_name(t);
  COMP_CHECK(kind > 0, COMP_ERR_UNSUPPORTED,
             "%s: %s rope_type \"%s\" is not supported (comp implements linear, llama3, longrope and yarn)", path, nm,
             t);
  comp_rope_scaling sc = {.kind = (comp_rope_scaling_kind)kind};
  if (sc.kind == COMP_ROPE_SCALING_LONGROPE)
    COMP_CALL(parse_longrope(cfg, rs, path, nm, hp, &sc));
  else if (sc.kind == COMP_ROPE_SCALING_YARN)
    COMP_CALL(parse_yarn(rs, path, nm, hp, &sc));
  else
    COMP_CALL(rope_scaling_number(rs, path, nm, t, "factor", &sc.factor));
  if (sc.kind == COMP_ROPE_SCALING_LLAMA3) {
    double ctx = 0;
    COMP_CALL(rope_scaling_number(rs, path, nm, t, "low_freq_factor", &sc.low_freq_factor));
    COMP_CALL(rope_scaling_number(rs, path, nm, t, "high_freq_factor", &sc.high_freq_factor));
    COMP_CALL(rope_scaling_number(rs, path, nm, t, "original_max_position_embeddings", &ctx));
    COMP_CHECK(ctx > 0 && ctx < 1e12 && ctx == floor(ctx), COMP_ERR_FORMAT,
               "%s: %s (rope_type %s) original_max_position_embeddings = %g must be a positive integer", path, nm, t,
               ctx);
    sc.original_ctx = (int64_t)ctx;
  }
  COMP_CALL(comp_rope_scaling_check(&sc, path));
  hp->rope_scaling = sc;
  return COMP_OK;
}

/* Qwen2/3's use_sliding_window (key; NULL: no switch): absent, null or false turns the window off (*window = 0), as
 * Qwen2Config sets sliding_window to None; true keeps it. */
static comp_status window_switch(const cJSON *cfg, const char *path, const char *key, int64_t *window)
{
  const cJSON *v = key ? cfg_item(cfg, key) : NULL;
  if (!key) return COMP_OK;
  COMP_CHECK(!v || cJSON_IsNull(v) || cJSON_IsBool(v), COMP_ERR_FORMAT, "%s: field \"%s\" must be true or false", path,
             key);
  if (!cJSON_IsTrue(v)) *window = 0;
  return COMP_OK;
}

/* hp from config.json at path, and each layer's window when they differ (*win: NULL, or n_layer of them) */
/* SmolLM3's NoPE layers: *nope (L) = 1 where layer l does not rotate q and k (the config's rope_layers list holds
 * 0 there; without the list, each nope_period-th layer), NULL when every layer rotates. */
static comp_status layer_nope(const cJSON *cfg, const char *path, const comp_arch_desc *d, const comp_hparams *hp,
                              int8_t **nope)
{
  const cJSON  *rl = d->cfg.rope_layers ? cJSON_GetObjectItemCaseSensitive(cfg, d->cfg.rope_layers) : NULL;
  const int64_t L  = hp->n_layer;
  int64_t       period;
  *nope = NULL;
  if (!d->cfg.rope_layers) return COMP_OK;
  COMP_CALL(cfg_int(cfg, path, d->cfg.nope_period, false, d->nope_period, &period));
  const bool listed = rl && !cJSON_IsNull(rl);
  COMP_CHECK(!listed || (cJSON_IsArray(rl) && cJSON_GetArraySize(rl) >= L), COMP_ERR_FORMAT,
             "%s: field \"%s\" must be a list of at least %lld entries (one per layer)", path, d->cfg.rope_layers,
             (long long)L);
  int8_t *v = calloc((size_t)L, 1);
  COMP_CHECK(v, COMP_ERR_NOMEM, "out of memory");
  bool any = false;
  for (int64_t l = 0; l < L; l++) {
    const cJSON *e = listed ? cJSON_GetArrayItem(rl, (int)l) : NULL;
    if (listed && !(cJSON_IsNumber(e) && (e->valuedouble == 0 || e->valuedouble == 1))) {
      free(v);
      return comp_error_set(COMP_ERR_FORMAT, "%s: %s[%lld] must be 0 or 1", path, d->cfg.rope_layers, (long long)l);
    }
    v[l] = (int8_t)(listed ? e->valuedouble == 0 : (l + 1) % period == 0);
    any  = any || v[l];
  }
  if (any)
    *nope = v;
  else
    free(v);
  return COMP_OK;
}

static comp_status parse_config(const char *path, comp_hparams *hp, int64_t **win, int8_t **nope)
{
  *win             = NULL;
  *nope            = NULL;
  char       *text = NULL;
  size_t      n    = 0;
  comp_status s    = comp_read_file(path, &text, &n);
  if (s != COMP_OK) return s;
  cJSON *cfg = cJSON_ParseWithLength(text, n);
  free(text);
  COMP_CHECK(cJSON_IsObject(cfg), COMP_ERR_FORMAT, "%s: not a JSON object", path);
  const char *mt = cfg_str(cfg, "model_type");
  if (!mt) {
    cJSON_Delete(cfg);
    return comp_error_set(COMP_ERR_FORMAT, "%s: missing field \"model_type\"", path);
  }
  comp_arch a;
  if ((s = pick_row(cfg, path, mt, &a))) {
    cJSON_Delete(cfg);
    return s;
  }
  const comp_arch_desc        *d = comp_arch_get(a);
  const comp_arch_config_keys *k = &d->cfg;
  memset(hp, 0, sizeof *hp);
  hp->arch = a;
  hp->rope = d->rope;
  hp->bos = hp->eos = -1;
  int64_t v;
  if ((s = cfg_int(cfg, path, k->n_embd, true, 0, &hp->n_embd)) ||
      (s = cfg_int(cfg, path, k->n_layer, true, 0, &hp->n_layer)) ||
      (s = cfg_int(cfg, path, k->n_head, true, 0, &hp->n_head)) ||
      (s = cfg_int(cfg, path, k->n_ff, k->n_ff != NULL && !d->ff_mult, d->ff_mult * hp->n_embd, &hp->n_ff)) ||
      (s = cfg_int(cfg, path, k->n_vocab, true, 0, &hp->n_vocab)) ||
      (s = cfg_int(cfg, path, k->n_ctx, k->n_ctx != NULL && !d->n_ctx, d->n_ctx, &hp->n_ctx)) ||
      (s = cfg_int(cfg, path, k->n_head_kv, false, d->n_head_kv ? d->n_head_kv : hp->n_head, &hp->n_head_kv)) ||
      (s = cfg_int(cfg, path, k->head_dim, false, d->head_dim ? d->head_dim : hp->n_embd / hp->n_head,
                   &hp->head_dim)) ||
      (s = cfg_float(cfg, path, k->norm_eps, d->norm_eps, &hp->norm_eps)) ||
      (s = cfg_float(cfg, path, k->rope_theta, d->rope_theta, &hp->rope_theta)))
    goto out;
  float ratio = 1.0f, frac = 1.0f;
  if ((s = cfg_float(cfg, path, k->rope_ratio, 1.0f, &ratio)) ||
      (s = cfg_float(cfg, path, k->rope_fraction, d->rope_fraction > 0 ? d->rope_fraction : 1.0f, &frac)) ||
      (s = rope_parameters_fraction(cfg, path, d, &frac)) || (s = check_rules(cfg, path, d)) ||
      (s = read_opt_switches(cfg, path, d, &hp->opt_on)))
    goto out;
  if ((s = cfg_int_or_off(cfg, path, k->sliding_window, d->sliding_window, &hp->sliding_window)) ||
      (s = window_switch(cfg, path, k->window_switch, &hp->sliding_window)) ||
      (s = cfg_float(cfg, path, k->rope_theta_local, d->rope_theta_local, &hp->rope_theta_local)) ||
      (s = layer_windows(cfg, path, d, hp, win)) || (s = layer_nope(cfg, path, d, hp, nope)) ||
      (s = cfg_float_or_off(cfg, path, k->attn_softcap, d->attn_softcap, &hp->attn_softcap)) ||
      (s = cfg_float_or_off(cfg, path, k->final_softcap, d->final_softcap, &hp->final_softcap)) ||
      (s = cfg_float(cfg, path, k->attn_scalar, d->attn_scalar, &hp->attn_scalar)) ||
      (s = cfg_float(cfg, path, k->logit_scale, d->logit_scale, &hp->logit_scale)) ||
      (s = cfg_float(cfg, path, k->embd_mult, d->embd_mult, &hp->embd_mult)) ||
      (s = cfg_float(cfg, path, k->residual_mult, d->residual_mult, &hp->residual_mult)) ||
      (s = cfg_float(cfg, path, k->attn_mult, d->attn_mult, &hp->attn_mult)) ||
      (s = cfg_float(cfg, path, k->logit_div, d->logit_div, &hp->logit_div)))
    goto out;
  hp->rope_theta *= ratio;
  hp->rope_dim = hp->rope == COMP_ROPE_NONE ? 0 : (int64_t)((double)hp->head_dim * (double)frac);
  if (k->rope_dims && hp->rope != COMP_ROPE_NONE) { /* GPT-J: rotary_dim dims of each head */
    const cJSON *rd = cfg_item(cfg, k->rope_dims);
    if (!rd || cJSON_IsNull(rd)) {
      s = comp_error_set(COMP_ERR_UNSUPPORTED, "%s: %s %s is not supported for %s (RoPE over a whole head)", path,
                         k->rope_dims, rd ? "null" : "absent", d->name);
      goto out;
    }
    if ((s = cfg_int(cfg, path, k->rope_dims, true, 0, &hp->rope_dim))) goto out;
  }
  const cJSON *tie = cJSON_GetObjectItemCaseSensitive(cfg, k->tie_embd);
  hp->tied         = cJSON_IsBool(tie) ? cJSON_IsTrue(tie) : d->tie_default;
  const cJSON *par = k->parallel ? cJSON_GetObjectItemCaseSensitive(cfg, k->parallel) : NULL;
  hp->parallel     = cJSON_IsBool(par) ? cJSON_IsTrue(par) : d->parallel;
  if (par && !cJSON_IsNull(par) && !cJSON_IsBool(par)) {
    s = comp_error_set(COMP_ERR_FORMAT, "%s: field \"%s\" must be true or false", path, k->parallel);
    goto out;
  }
  if (cfg_int(cfg, path, "bos_token_id", false, -1, &v) == COMP_OK) hp->bos = (int)v;
  if (cfg_int(cfg, path, "eos_token_id", false, -1, &v) == COMP_OK) hp->eos = (int)v;
  comp_error_clear(); /* bos/eos are informational: a list or 0 is not an error */
  if (hp->n_head % hp->n_head_kv != 0) {
    s = comp_error_set(COMP_ERR_FORMAT, "%s: num_attention_heads %lld is not a multiple of num_key_value_heads %lld",
                       path, (long long)hp->n_head, (long long)hp->n_head_kv);
    goto out;
  }
  if (hp->rope != COMP_ROPE_NONE && hp->head_dim % 2 != 0) {
    s = comp_error_set(COMP_ERR_FORMAT, "%s: head_dim %lld must be even for RoPE", path, (long long)hp->head_dim);
    goto out;
  }
  if (hp->rope != COMP_ROPE_NONE && (hp->rope_dim < 2 || hp->rope_dim % 2 != 0 || hp->rope_dim > hp->head_dim)) {
    char how[64];
    if (k->rope_dims)
      snprintf(how, sizeof how, "%s", k->rope_dims);
    else
      snprintf(how, sizeof how, "fraction %g", (double)frac);
    s = comp_error_set(COMP_ERR_FORMAT, "%s: RoPE on %lld of the %lld dims of a head (%s): must be even", path,
                       (long long)hp->rope_dim, (long long)hp->head_dim, how);
    goto out;
  }
  if ((s = parse_rope_scaling(cfg, path, d, hp))) goto out;
  if (d->local_rope_plain && hp->rope_theta_local <= 0 && hp->rope_scaling.kind != COMP_ROPE_SCALING_NONE)
    hp->rope_theta_local = hp->rope_theta; /* OLMo 3: the windowed layers' RoPE unscaled */
  const char *act = k->act ? cfg_str(cfg, k->act) : NULL;
  if (act && comp_act_from_name(act) != (int)d->act) {
    char want[128];
    comp_act_names(d->act, want, sizeof want);
    s = comp_error_set(COMP_ERR_UNSUPPORTED, "%s: activation %s \"%s\" is not supported for %s (expected %s)", path,
                       k->act, act, d->name, want);
    goto out;
  }
  if (a == COMP_ARCH_OPT) {
    const cJSON *ln = cJSON_GetObjectItemCaseSensitive(cfg, "do_layer_norm_before");
    int64_t      proj;
    if (cJSON_IsFalse(ln)) {
      s = comp_error_set(COMP_ERR_UNSUPPORTED, "%s: post-LayerNorm OPT (do_layer_norm_before=false) is not supported",
                         path);
      goto out;
    }
    if ((s = cfg_int(cfg, path, "word_embed_proj_dim", false, hp->n_embd, &proj))) goto out;
    if (proj != hp->n_embd) {
      s = comp_error_set(COMP_ERR_UNSUPPORTED,
                         "%s: word_embed_proj_dim != hidden_size (project_in/out) is not supported", path);
      goto out;
    }
    if (hp->n_embd % hp->n_head != 0) {
      s = comp_error_set(COMP_ERR_FORMAT, "%s: hidden_size %lld is not a multiple of num_attention_heads %lld", path,
                         (long long)hp->n_embd, (long long)hp->n_head);
      goto out;
    }
  }
out:
  cJSON_Delete(cfg);
  if (s) free(*win), *win = NULL, free(*nope), *nope = NULL;
  return s;
}

/* ---- llama2.c checkpoints ---------------------------------------------------------------------- */

/* Index a llama2.c "version 0" checkpoint under Hugging Face LLaMA tensor names. */
static comp_status open_llama2c(const char *path, comp_hparams *hp, comp_wstore **out)
{
  comp_wstore *ws = NULL;
  int          file;
  uint64_t     fsize;
  comp_status  s = comp_wstore_create(&ws);
  if (s != COMP_OK) return s;
  if ((s = comp_wstore_add_file(ws, path, &file, &fsize))) goto fail;
  int32_t h[7];
  FILE   *f   = fopen(path, "rb");
  size_t  got = f ? fread(h, sizeof(int32_t), 7, f) : 0;
  if (f) fclose(f);
  if (got != 7) {
    s = comp_error_set(COMP_ERR_FORMAT, "%s: truncated llama2.c checkpoint (no 28-byte header)", path);
    goto fail;
  }
  const int64_t dim = h[0], hidden = h[1], L = h[2], nh = h[3], nkv = h[4], seq = h[6];
  const int     shared = h[5] > 0;
  const int64_t V      = shared ? h[5] : -(int64_t)h[5];
  if (dim <= 0 || hidden <= 0 || L <= 0 || nh <= 0 || nkv <= 0 || V <= 0 || seq <= 0 || dim % nh || nh % nkv ||
      dim > 65536 || hidden > 1 << 20 || L > 4096 || V > 1 << 24 || seq > 1 << 22) {
    s = comp_error_set(
        COMP_ERR_FORMAT,
        "%s: implausible llama2.c header dim=%d hidden=%d layers=%d heads=%d kv_heads=%d vocab=%d seq_len=%d", path,
        h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
    goto fail;
  }
  const int64_t hs = dim / nh, kvd = nkv * hs;
  memset(hp, 0, sizeof *hp);
  *hp          = (comp_hparams){.arch       = COMP_ARCH_LLAMA2C,
                                .n_vocab    = V,
                                .n_embd     = dim,
                                .n_layer    = L,
                                .n_head     = nh,
                                .n_head_kv  = nkv,
                                .head_dim   = hs,
                                .n_ff       = hidden,
                                .n_ctx      = seq,
                                .norm_eps   = 1e-5f,
                                .rope_theta = 10000.0f,
                                .rope       = COMP_ROPE_INTERLEAVED,
                                .rope_dim   = hs,
                                .tied       = shared,
                                .bos        = 1,
                                .eos        = 2};
  uint64_t off = 28;
  char     name[256];
  /* add (L, rows, cols) stacked arrays, one tensor per layer */
#define ADD_GLOBAL(role, nd, ...)                                                                                      \
  do {                                                                                                                 \
    int64_t sh_[] = {__VA_ARGS__};                                                                                     \
    if ((s = comp_wstore_add_tensor(ws, comp_arch_get(COMP_ARCH_LLAMA2C)->tensor[role], COMP_DTYPE_F32, nd, sh_, file, \
                                    off)))                                                                             \
      goto fail;                                                                                                       \
    off += comp_wstore_at(ws, comp_wstore_count(ws) - 1)->nbytes;                                                      \
  } while (0)
#define ADD_LAYERS(role, nd, ...)                                                                                      \
  do {                                                                                                                 \
    int64_t sh_[] = {__VA_ARGS__};                                                                                     \
    for (int64_t l = 0; l < L; l++) {                                                                                  \
      snprintf(name, sizeof name, comp_arch_get(COMP_ARCH_LLAMA2C)->tensor[role], (int)l);                             \
      if ((s = comp_wstore_add_tensor(ws, name, COMP_DTYPE_F32, nd, sh_, file, off))) goto fail;                       \
      off += comp_wstore_at(ws, comp_wstore_count(ws) - 1)->nbytes;                                                    \
    }                                                                                                                  \
  } while (0)
  ADD_GLOBAL(COMP_ROLE_TOK_EMBD, 2, V, dim);
  ADD_LAYERS(COMP_ROLE_ATTN_NORM, 1, dim);
  ADD_LAYERS(COMP_ROLE_ATTN_Q, 2, dim, dim);
  ADD_LAYERS(COMP_ROLE_ATTN_K, 2, kvd, dim);
  ADD_LAYERS(COMP_ROLE_ATTN_V, 2, kvd, dim);
  ADD_LAYERS(COMP_ROLE_ATTN_OUT, 2, dim, dim);
  ADD_LAYERS(COMP_ROLE_FFN_NORM, 1, dim);
  ADD_LAYERS(COMP_ROLE_FFN_GATE, 2, hidden, dim); /* w1 */
  ADD_LAYERS(COMP_ROLE_FFN_DOWN, 2, dim, hidden); /* w2 */
  ADD_LAYERS(COMP_ROLE_FFN_UP, 2, hidden, dim);   /* w3 */
  ADD_GLOBAL(COMP_ROLE_OUT_NORM, 1, dim);
  off += (uint64_t)seq * (uint64_t)hs * 4; /* freq_cis_real + freq_cis_imag (seq, hs/2) each: unused */
  if (!shared) ADD_GLOBAL(COMP_ROLE_LM_HEAD, 2, V, dim);
  if (off > fsize) {
    s = comp_error_set(COMP_ERR_FORMAT, "%s: truncated llama2.c checkpoint (%llu bytes, header implies %llu)", path,
                       (unsigned long long)fsize, (unsigned long long)off);
    goto fail;
  }
#undef ADD_GLOBAL
#undef ADD_LAYERS
  *out = ws;
  return COMP_OK;
fail:
  comp_wstore_destroy(&ws);
  return s;
}

/* ---- validation ------------------------------------------------------------------------------- */

/* Expected shape of role r (ndim returned; 0 means "not applicable"). */
static int role_shape(const comp_hparams *hp, int pos_offset, comp_role r, int64_t sh[2])
{
  const int64_t D = hp->n_embd, Hd = hp->n_head * hp->head_dim, KVd = hp->n_head_kv * hp->head_dim, F = hp->n_ff,
                V = hp->n_vocab;
  switch (r) {
  case COMP_ROLE_TOK_EMBD:
  case COMP_ROLE_LM_HEAD:
    sh[0] = V, sh[1] = D;
    return 2;
  case COMP_ROLE_POS_EMBD:
    sh[0] = hp->n_ctx + pos_offset, sh[1] = D;
    return 2;
  case COMP_ROLE_LM_HEAD_B:
    sh[0] = V;
    return 1;
  case COMP_ROLE_OUT_NORM:
  case COMP_ROLE_OUT_NORM_B:
  case COMP_ROLE_EMBD_NORM:
  case COMP_ROLE_EMBD_NORM_B:
  case COMP_ROLE_ATTN_NORM:
  case COMP_ROLE_ATTN_NORM_B:
  case COMP_ROLE_FFN_NORM:
  case COMP_ROLE_FFN_NORM_B:
  case COMP_ROLE_ATTN_OUT_B:
  case COMP_ROLE_FFN_DOWN_B:
    sh[0] = D;
    return 1;
  case COMP_ROLE_ATTN_Q:
    sh[0] = Hd, sh[1] = D;
    return 2;
  case COMP_ROLE_ATTN_Q_B:
    sh[0] = Hd;
    return 1;
  case COMP_ROLE_ATTN_K:
  case COMP_ROLE_ATTN_V:
    sh[0] = KVd, sh[1] = D;
    return 2;
  case COMP_ROLE_ATTN_K_B:
  case COMP_ROLE_ATTN_V_B:
    sh[0] = KVd;
    return 1;
  case COMP_ROLE_ATTN_OUT:
    sh[0] = D, sh[1] = Hd;
    return 2;
  case COMP_ROLE_FFN_GATE:
  case COMP_ROLE_FFN_UP:
    sh[0] = F, sh[1] = D;
    return 2;
  case COMP_ROLE_FFN_GATE_B:
  case COMP_ROLE_FFN_UP_B:
    sh[0] = F;
    return 1;
  case COMP_ROLE_FFN_DOWN:
    sh[0] = D, sh[1] = F;
    return 2;
  case COMP_ROLE_ATTN_Q_NORM: /* each head's, or all of q at once (OLMo-2) */
    sh[0] = comp_arch_get(hp->arch)->qk_norm_full ? Hd : hp->head_dim;
    return 1;
  case COMP_ROLE_ATTN_K_NORM:
    sh[0] = comp_arch_get(hp->arch)->qk_norm_full ? KVd : hp->head_dim;
    return 1;
  case COMP_ROLE_ATTN_POST_NORM:
  case COMP_ROLE_FFN_POST_NORM:
    sh[0] = D;
    return 1;
  default:
    return 0;
  }
}

void comp_dense_shape(const comp_hparams *hp, comp_dense_id d, int64_t *d_out, int64_t *d_in_full)
{
  int64_t sh[2] = {0, 0};
  role_shape(hp, 0, comp_dense_weight_role(d), sh);
  *d_out = sh[0], *d_in_full = sh[1];
}

const comp_wtensor *comp_model_find_tensor(const comp_model *m, const char *name)
{
  const comp_wtensor *t  = comp_wstore_find(m->ws, name);
  const char         *bp = m->arch->base_prefix; /* saved from the base model: names without it */
  if (!t && bp && strncmp(name, bp, strlen(bp)) == 0) t = comp_wstore_find(m->ws, name + strlen(bp));
  return t;
}

/* Find role r of layer l (l < 0: model-wide). *found is false when it is absent and allowed; else
 * *t is its tensor, or its block of rows of the tensor it shares with other roles (arch->fused). */
static comp_status find_role(const comp_model *m, comp_role r, int l, comp_wtensor *t, bool *found)
{
  *found           = false;
  const char *tmpl = m->arch->tensor[r];
  if (!tmpl || m->arch->need[r] == COMP_NEED_ABSENT) return COMP_OK;
  char name[256];
  snprintf(name, sizeof name, tmpl, l);
  const comp_wtensor *ft = comp_model_find_tensor(m, name);
  bool required = (m->arch->need[r] == COMP_NEED_REQUIRED || comp_arch_needs_ffn_norm(m->arch, r, m->hp.parallel)) &&
                  !(r == COMP_ROLE_LM_HEAD && m->hp.tied);
  if (r == COMP_ROLE_LM_HEAD && !m->hp.tied) required = true;
  if (r == COMP_ROLE_LM_HEAD && m->hp.tied) ft = NULL; /* tied: the embedding is the head */
  const char *file = comp_wstore_file_path(m->ws, 0);
  COMP_CHECK(ft || !required, COMP_ERR_FORMAT, "%s: missing tensor %s", file, name);
  if (!ft) return COMP_OK;
  /* the shape the config implies: the role's own, or its parts' stacked row-wise */
  const comp_arch_fused *fu = &m->arch->fused[r];
  const int64_t          H  = fu->per_head ? m->hp.n_head_kv : 1; /* per_head: each part's rows in H blocks */
  int64_t                sh[2], row0 = 0, rows;
  int                    nd = role_shape(&m->hp, m->arch->pos_offset, r, sh);
  rows                      = sh[0];
  if (fu->n > 0) {
    sh[0] = 0;
    for (int i = 0; i < fu->n; i++) {
      int64_t ps[2] = {0, 0};
      role_shape(&m->hp, m->arch->pos_offset, fu->part[i], ps);
      COMP_CHECK(ps[0] % H == 0, COMP_ERR_FORMAT, "%s: %s has %lld rows, not a multiple of the %lld kv heads",
                 comp_wstore_file_path(m->ws, ft->file), name, (long long)ps[0], (long long)H);
      if (fu->part[i] == r) row0 = sh[0] / H; /* within a head's block when per_head */
      sh[0] += ps[0];
    }
  }
  /* a Conv1D dense (GPT-2) stores its weight (in, out): the parts side by side */
  bool       bias = false;
  const bool tr   = m->arch->conv1d && nd == 2 && comp_dense_of_role(r, &bias) >= 0 && !bias;
  if (tr) {
    const int64_t out = sh[0];
    sh[0] = sh[1], sh[1] = out;
  }
  bool ok = ft->ndim == nd;
  for (int i = 0; ok && i < nd; i++) ok = ft->shape[i] == sh[i];
  if (!ok) {
    char got[96] = "", want[96] = "";
    for (int i = 0; i < ft->ndim; i++)
      snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? "," : "", (long long)ft->shape[i]);
    for (int i = 0; i < nd; i++)
      snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? "," : "", (long long)sh[i]);
    return comp_error_set(COMP_ERR_FORMAT, "%s: tensor %s has shape [%s] but the config implies [%s]",
                          comp_wstore_file_path(m->ws, ft->file), name, got, want);
  }
  if (tr)
    COMP_CALL(comp_wtensor_cols_t(ft, row0, rows, t));
  else if (fu->n > 0 && fu->per_head)
    COMP_CALL(comp_wtensor_row_blocks(ft, row0, rows / H, sh[0] / H, H, t));
  else if (fu->n > 0)
    COMP_CALL(comp_wtensor_rows(ft, row0, rows, t));
  else
    *t = *ft;
  *found = true;
  return COMP_OK;
}

static comp_status read_role(const comp_model *m, comp_role r, int l, float **dst)
{
  comp_wtensor t;
  bool         found;
  *dst = NULL;
  COMP_CALL(find_role(m, r, l, &t, &found));
  if (!found) return COMP_OK;
  *dst = malloc((size_t)t.numel * sizeof(float));
  COMP_CHECK(*dst, COMP_ERR_NOMEM, "out of memory reading %s", t.name);
  return comp_wstore_read(m->ws, &t, *dst);
}

/* ---- public ----------------------------------------------------------------------------------- */

comp_status comp_model_config(const char *path, comp_hparams *hp)
{
  char p[4096];
  memset(hp, 0, sizeof *hp);
  if (comp_archive_is_hdf5(path))
    return comp_error_set(COMP_ERR_UNSUPPORTED, "%s: a pruning archive, not a source model", path);
  if (comp_is_dir(path)) {
    snprintf(p, sizeof p, "%s/config.json", path);
    int64_t    *win  = NULL; /* validated, not needed */
    int8_t     *nope = NULL;
    comp_status s    = parse_config(p, hp, &win, &nope);
    free(win);
    free(nope);
    return s;
  }
  COMP_CHECK(comp_is_file(path), COMP_ERR_IO, "%s: no such model directory or file", path);
  comp_wstore *ws = NULL; /* a llama2.c header: the index only, no weight data is read */
  comp_status  s  = open_llama2c(path, hp, &ws);
  comp_wstore_destroy(&ws);
  return s;
}

/* Parameters of role r in one layer (l >= 0) or model-wide (l < 0) as the hyper-parameters imply;
 * optional roles (biases some checkpoints have) are not counted, an untied head is. */
static int64_t role_params(const comp_hparams *hp, comp_role r)
{
  const comp_arch_desc *a     = comp_arch_get(hp->arch);
  int64_t               sh[2] = {1, 1};
  if (r == COMP_ROLE_LM_HEAD && hp->tied) return 0;
  if (!a->tensor[r] || (a->need[r] != COMP_NEED_REQUIRED && r != COMP_ROLE_LM_HEAD && !(hp->opt_on >> r & 1) &&
                        !comp_arch_needs_ffn_norm(a, r, hp->parallel)))
    return 0;
  int nd = role_shape(hp, a->pos_offset, r, sh);
  return nd == 0 ? 0 : nd == 1 ? sh[0] : sh[0] * sh[1];
}

int64_t comp_hparams_layer_params(const comp_hparams *hp)
{
  int64_t n = 0;
  for (int r = COMP_ROLE_FIRST_LAYER; r < COMP_ROLE_COUNT; r++) n += role_params(hp, (comp_role)r);
  return n;
}

int64_t comp_hparams_n_params(const comp_hparams *hp)
{
  int64_t n = hp->n_layer * comp_hparams_layer_params(hp);
  for (int r = 0; r < COMP_ROLE_FIRST_LAYER; r++) n += role_params(hp, (comp_role)r);
  return n;
}

bool comp_hparams_has_dense(const comp_hparams *hp, comp_dense_id d)
{
  return comp_arch_get(hp->arch)->tensor[comp_dense_weight_role(d)] != NULL;
}

comp_status comp_model_load(const char *path, comp_model **out)
{
  return comp_model_load_wide(path, COMP_WIDE_RESIDENT, out);
}

comp_status comp_model_load_wide(const char *path, comp_wide_mode wide, comp_model **out)
{
  comp_status s = COMP_OK;
  comp_model *m = calloc(1, sizeof *m);
  *out          = NULL;
  COMP_CHECK(m, COMP_ERR_NOMEM, "out of memory");
  m->path = strdup(path);
  char p[4096];
  if (comp_archive_is_hdf5(path)) { /* a pruning archive: its own reader fills m */
    if ((s = comp_archive_load_model(path, m))) goto fail;
    *out = m;
    return COMP_OK;
  }
  if (comp_is_dir(path)) {
    snprintf(p, sizeof p, "%s/config.json", path);
    if ((s = parse_config(p, &m->hp, &m->layer_window, &m->layer_nope))) goto fail;
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", path);
    if (comp_is_file(p)) {
      s = comp_wstore_open_sharded(p, &m->ws);
    } else {
      snprintf(p, sizeof p, "%s/model.safetensors", path);
      if (!comp_is_file(p)) {
        s = comp_error_set(COMP_ERR_IO, "%s: no model.safetensors or model.safetensors.index.json", path);
        goto fail;
      }
      s = comp_wstore_open_safetensors(p, &m->ws);
    }
    if (s) goto fail;
  } else if (comp_is_file(path)) {
    if ((s = open_llama2c(path, &m->hp, &m->ws))) goto fail;
  } else {
    s = comp_error_set(COMP_ERR_IO, "%s: no such model directory or file", path);
    goto fail;
  }
  m->arch = comp_arch_get(m->hp.arch);
  /* validate every tensor the model needs before reading any data */
  for (int r = 0; r < COMP_ROLE_COUNT && !s; r++) {
    comp_wtensor t;
    bool         found;
    if (r < COMP_ROLE_FIRST_LAYER) s = find_role(m, (comp_role)r, -1, &t, &found);
    for (int l = 0; r >= COMP_ROLE_FIRST_LAYER && l < m->hp.n_layer && !s; l++)
      s = find_role(m, (comp_role)r, l, &t, &found);
  }
  if (s) goto fail;
  const bool resident = wide == COMP_WIDE_RESIDENT;
  if ((resident && (s = read_role(m, COMP_ROLE_TOK_EMBD, -1, &m->tok_embd))) ||
      (s = read_role(m, COMP_ROLE_POS_EMBD, -1, &m->pos_embd)) ||
      (resident && (s = read_role(m, COMP_ROLE_LM_HEAD, -1, &m->lm_head))))
    goto fail;
  for (int v = 0; v < COMP_WIDE_VEC_COUNT && !s; v++)
    s = read_role(m, comp_wide_vec_role((comp_wide_vec)v), -1, comp_wide_vec_at(m, (comp_wide_vec)v));
  if (s) goto fail;
  if (m->hp.tied) m->lm_head = m->tok_embd;
  *out = m;
  return COMP_OK;
fail:
  comp_model_destroy(&m);
  return s;
}

comp_status comp_model_wide_rows(const comp_model *m, comp_role r, int64_t row0, int64_t n, float *dst)
{
  COMP_CHECK(r == COMP_ROLE_TOK_EMBD || r == COMP_ROLE_LM_HEAD, COMP_ERR_INTERNAL, "model-wide rows of role %d",
             (int)r);
  const int64_t V = m->hp.n_vocab, D = m->hp.n_embd;
  COMP_CHECK(row0 >= 0 && n >= 0 && row0 + n <= V, COMP_ERR_ARG, "rows %lld..%lld outside the vocabulary (%lld)",
             (long long)row0, (long long)(row0 + n), (long long)V);
  if (r == COMP_ROLE_LM_HEAD && m->hp.tied) r = COMP_ROLE_TOK_EMBD;
  const float *mem = r == COMP_ROLE_TOK_EMBD ? m->tok_embd : m->lm_head;
  if (mem) {
    memcpy(dst, mem + row0 * D, (size_t)(n * D) * sizeof *dst);
    return COMP_OK;
  }
  COMP_CHECK(m->ws, COMP_ERR_INTERNAL, "%s: model-wide tensor neither resident nor in a weight store", m->path);
  comp_wtensor t, v;
  bool         found;
  COMP_CALL(find_role(m, r, -1, &t, &found));
  COMP_CHECK(found, COMP_ERR_INTERNAL, "%s: model-wide tensor of role %d absent", m->path, (int)r);
  COMP_CALL(comp_wtensor_rows(&t, row0, n, &v));
  return comp_wstore_read(m->ws, &v, dst);
}

comp_role comp_layer_vec_role(comp_layer_vec v)
{
  static const comp_role r[COMP_VEC_COUNT] = {[COMP_VEC_ATTN_NORM]      = COMP_ROLE_ATTN_NORM,
                                              [COMP_VEC_ATTN_NORM_B]    = COMP_ROLE_ATTN_NORM_B,
                                              [COMP_VEC_FFN_NORM]       = COMP_ROLE_FFN_NORM,
                                              [COMP_VEC_FFN_NORM_B]     = COMP_ROLE_FFN_NORM_B,
                                              [COMP_VEC_Q_NORM]         = COMP_ROLE_ATTN_Q_NORM,
                                              [COMP_VEC_K_NORM]         = COMP_ROLE_ATTN_K_NORM,
                                              [COMP_VEC_ATTN_POST_NORM] = COMP_ROLE_ATTN_POST_NORM,
                                              [COMP_VEC_FFN_POST_NORM]  = COMP_ROLE_FFN_POST_NORM};
  return r[v];
}

int64_t comp_layer_vec_len(const comp_hparams *hp, comp_layer_vec v)
{
  int64_t sh[2] = {0, 0};
  role_shape(hp, 0, comp_layer_vec_role(v), sh); /* one-dimensional: (D) or (head_dim) */
  return sh[0];
}

float **comp_layer_vec_at(comp_layer *ly, comp_layer_vec v)
{
  switch (v) {
  case COMP_VEC_ATTN_NORM:
    return &ly->attn_norm_w;
  case COMP_VEC_ATTN_NORM_B:
    return &ly->attn_norm_b;
  case COMP_VEC_FFN_NORM:
    return &ly->ffn_norm_w;
  case COMP_VEC_FFN_NORM_B:
    return &ly->ffn_norm_b;
  case COMP_VEC_Q_NORM:
    return &ly->q_norm_w;
  case COMP_VEC_K_NORM:
    return &ly->k_norm_w;
  case COMP_VEC_ATTN_POST_NORM:
    return &ly->attn_post_norm_w;
  default:
    return &ly->ffn_post_norm_w;
  }
}

comp_role comp_wide_vec_role(comp_wide_vec v)
{
  static const comp_role r[COMP_WIDE_VEC_COUNT] = {[COMP_WIDE_OUT_NORM]    = COMP_ROLE_OUT_NORM,
                                                   [COMP_WIDE_OUT_NORM_B]  = COMP_ROLE_OUT_NORM_B,
                                                   [COMP_WIDE_LM_HEAD_B]   = COMP_ROLE_LM_HEAD_B,
                                                   [COMP_WIDE_EMBD_NORM]   = COMP_ROLE_EMBD_NORM,
                                                   [COMP_WIDE_EMBD_NORM_B] = COMP_ROLE_EMBD_NORM_B};
  return r[v];
}

int64_t comp_wide_vec_len(const comp_hparams *hp, comp_wide_vec v)
{
  int64_t sh[2] = {0, 0};
  role_shape(hp, 0, comp_wide_vec_role(v), sh); /* one-dimensional: (D) or (V) */
  return sh[0];
}

float **comp_wide_vec_at(comp_model *m, comp_wide_vec v)
{
  switch (v) {
  case COMP_WIDE_OUT_NORM:
    return &m->out_norm_w;
  case COMP_WIDE_OUT_NORM_B:
    return &m->out_norm_b;
  case COMP_WIDE_LM_HEAD_B:
    return &m->lm_head_b;
  case COMP_WIDE_EMBD_NORM:
    return &m->embd_norm_w;
  default:
    return &m->embd_norm_b;
  }
}

const float *comp_wide_vec_get(const comp_model *m, comp_wide_vec v)
{
  return *comp_wide_vec_at((comp_model *)m, v); /* read only */
}

const float *comp_layer_vec_get(const comp_layer *ly, comp_layer_vec v)
{
  return *comp_layer_vec_at((comp_layer *)ly, v); /* read only */
}

void comp_layer_free(comp_layer **layer)
{
  if (!layer || !*layer) return;
  for (int d = 0; d < COMP_DENSE_COUNT; d++) free((*layer)->dense[d].in_idx);
  free((*layer)->mem);
  free(*layer);
  *layer = NULL;
}

void comp_model_set_cache(comp_model *m, bool keep)
{
  if (keep && !m->cached) m->cached = calloc((size_t)m->hp.n_layer, sizeof *m->cached);
  m->cache = keep && m->cached;
  if (!m->cache && m->cached) {
    for (int l = 0; l < m->hp.n_layer; l++) comp_layer_free(&m->cached[l]);
    free(m->cached);
    m->cached = NULL;
  }
}

void comp_model_destroy(comp_model **mp)
{
  if (!mp || !*mp) return;
  comp_model *m = *mp;
  comp_model_set_cache(m, false);
  if (m->lm_head != m->tok_embd) free(m->lm_head);
  free(m->tok_embd);
  free(m->pos_embd);
  for (int v = 0; v < COMP_WIDE_VEC_COUNT; v++) free(*comp_wide_vec_at(m, (comp_wide_vec)v));
  comp_wstore_destroy(&m->ws);
  if (m->reader.destroy) m->reader.destroy(m->reader.ctx);
  free(m->src_path);
  free(m->layer_window);
  free(m->layer_nope);
  free(m->path);
  free(m);
  *mp = NULL;
}

int64_t comp_model_layer_window(const comp_model *m, int l)
{
  return m->layer_window ? m->layer_window[l] : m->hp.sliding_window;
}

bool comp_model_layer_nope(const comp_model *m, int l) { return m->layer_nope && m->layer_nope[l]; }

comp_status comp_model_layer_get(comp_model *m, int l, comp_layer **out)
{
  *out = NULL;
  COMP_CHECK(l >= 0 && l < m->hp.n_layer, COMP_ERR_ARG, "layer %d out of range", l);
  if (m->cache && m->cached[l]) {
    *out = m->cached[l];
    return COMP_OK;
  }
  if (m->reader.get) {
    COMP_CALL(m->reader.get(m->reader.ctx, l, out));
    (*out)->window = comp_model_layer_window(m, l);
    (*out)->nope   = comp_model_layer_nope(m, l);
    if (m->cache) m->cached[l] = *out;
    return COMP_OK;
  }
  /* one allocation for every tensor of the layer */
  comp_wtensor t[COMP_ROLE_COUNT];
  bool         has[COMP_ROLE_COUNT] = {0};
  int64_t      total                = 0;
  for (int r = COMP_ROLE_FIRST_LAYER; r < COMP_ROLE_COUNT; r++) {
    COMP_CALL(find_role(m, (comp_role)r, l, &t[r], &has[r]));
    if (has[r]) total += t[r].numel;
  }
  comp_layer *ly  = calloc(1, sizeof *ly);
  float      *mem = malloc((size_t)total * sizeof(float));
  if (!ly || !mem) {
    free(ly);
    free(mem);
    return comp_error_set(COMP_ERR_NOMEM, "out of memory loading layer %d (%lld floats)", l, (long long)total);
  }
  ly->index                   = l;
  ly->window                  = comp_model_layer_window(m, l);
  ly->nope                    = comp_model_layer_nope(m, l);
  ly->mem                     = mem;
  float *ptr[COMP_ROLE_COUNT] = {0};
  for (int r = COMP_ROLE_FIRST_LAYER; r < COMP_ROLE_COUNT; r++) {
    if (!has[r]) continue;
    comp_status s = comp_wstore_read(m->ws, &t[r], mem);
    if (s) {
      comp_layer_free(&ly);
      return s;
    }
    ptr[r] = mem;
    mem += t[r].numel;
  }
  for (int v = 0; v < COMP_VEC_COUNT; v++) *comp_layer_vec_at(ly, (comp_layer_vec)v) = ptr[comp_layer_vec_role(v)];
  for (int d = 0; d < COMP_DENSE_COUNT; d++) {
    comp_role wr = comp_dense_weight_role((comp_dense_id)d), br = comp_dense_bias_role((comp_dense_id)d);
    if (!has[wr]) continue;
    ly->dense[d] = (comp_dense){.w         = ptr[wr],
                                .b         = ptr[br],
                                .d_out     = t[wr].shape[0],
                                .d_in      = t[wr].shape[1],
                                .in_idx    = NULL,
                                .d_in_full = t[wr].shape[1]};
  }
  if (m->cache) m->cached[l] = ly;
  *out = ly;
  return COMP_OK;
}

void comp_model_layer_put(comp_model *m, comp_layer **layer)
{
  if (!layer || !*layer) return;
  if (m->cache && m->cached && m->cached[(*layer)->index] == *layer) {
    *layer = NULL;
    return;
  }
  comp_layer_free(layer);
}

int64_t comp_model_layer_n_params(const comp_model *m, int l)
{
  if (m->reader.n_params) return m->reader.n_params(m->reader.ctx, l);
  int64_t n = 0;
  for (int r = COMP_ROLE_FIRST_LAYER; r < COMP_ROLE_COUNT; r++) {
    comp_wtensor t;
    bool         found;
    if (find_role(m, (comp_role)r, l, &t, &found) == COMP_OK && found) n += t.numel;
  }
  return n;
}

int64_t comp_model_layer_bytes(const comp_model *m) { return comp_model_layer_n_params(m, 0) * 4; }

int64_t comp_model_n_params(const comp_model *m)
{
  int64_t n = 0;
  if (m->reader.get) { /* no weight store: count the model-wide tensors that were loaded */
    const int64_t V = m->hp.n_vocab, D = m->hp.n_embd;
    n += V * D + (m->pos_embd ? (m->hp.n_ctx + m->arch->pos_offset) * D : 0) +
         (m->lm_head && m->lm_head != m->tok_embd ? V * D : 0);
    for (int v = 0; v < COMP_WIDE_VEC_COUNT; v++)
      n += comp_wide_vec_get(m, (comp_wide_vec)v) ? comp_wide_vec_len(&m->hp, (comp_wide_vec)v) : 0;
  }
  for (int r = 0; !m->reader.get && r < COMP_ROLE_FIRST_LAYER; r++) {
    comp_wtensor t;
    bool         found;
    if (find_role(m, (comp_role)r, -1, &t, &found) == COMP_OK && found) n += t.numel;
  }
  for (int l = 0; l < m->hp.n_layer; l++) n += comp_model_layer_n_params(m, l);
  return n;
}
