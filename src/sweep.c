/* sweep.c - jobs files, cells and their state in an output folder (see comp/sweep.h). */
#include "comp/sweep.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "comp/util.h"

/* options the sweep sets itself: refused in prune_args / variant args */
static const char *const reserved_opts[] = {"model", "tokenizer",  "ratio",      "calib", "calib-samples", "calib-len",
                                            "seed",  "out",        "resume",     "force", "json",          "dry-run",
                                            "help",  "sweep-cell", "sweep-jobs", NULL};

/* ---- ${VAR} expansion ------------------------------------------------------------------------------ */

comp_status comp_sweep_expand(const char *where, const char *in, char **out)
{
  *out       = NULL;
  size_t cap = strlen(in) + 1, n = 0;
  char  *buf = malloc(cap);
  COMP_CHECK(buf, COMP_ERR_NOMEM, "out of memory");
  for (const char *p = in; *p;) {
    const char *add = p;
    size_t      len = 1;
    char        name[256];
    if (p[0] == '$' && p[1] == '{') {
      const char *e  = strchr(p + 2, '}');
      size_t      k  = e ? (size_t)(e - p - 2) : 0;
      bool        ok = e && k > 0 && k < sizeof name;
      for (size_t i = 0; ok && i < k; i++) {
        char ch = p[2 + i];
        ok = ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (i > 0 && ch >= '0' && ch <= '9');
      }
      if (!ok) {
        free(buf);
        return comp_error_set(COMP_ERR_FORMAT, "%s: \"%s\": malformed ${VAR} (a variable name in ${...})", where, in);
      }
      memcpy(name, p + 2, k);
      name[k]       = '\0';
      const char *v = getenv(name);
      if (!v || !*v) {
        free(buf);
        return comp_error_set(COMP_ERR_ARG, "%s: environment variable %s is not set (it is used in \"%s\")", where,
                              name, in);
      }
      add = v, len = strlen(v);
      p = e + 1;
    } else {
      p++;
    }
    if (n + len + 1 > cap) {
      cap      = 2 * (n + len + 1);
      char *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        return comp_error_set(COMP_ERR_NOMEM, "out of memory");
      }
      buf = nb;
    }
    memcpy(buf + n, add, len);
    n += len;
  }
  buf[n] = '\0';
  *out   = buf;
  return COMP_OK;
}

/* ---- parsing helpers --------------------------------------------------------------------------------- */

/* Every key of obj is one of allowed[] (NULL-terminated). */
static comp_status check_keys(const cJSON *obj, const char *where, const char *const *allowed)
{
  const cJSON *e;
  cJSON_ArrayForEach(e, obj)
  {
    bool ok = false;
    for (int i = 0; allowed[i] && !ok; i++) ok = strcmp(e->string, allowed[i]) == 0;
    if (!ok) {
      char list[512] = "";
      for (int i = 0; allowed[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", allowed[i]);
      return comp_error_set(COMP_ERR_FORMAT, "%s: unknown key \"%s\" (allowed: %s)", where, e->string, list);
    }
  }
  return COMP_OK;
}

static const cJSON *item(const cJSON *obj, const char *key) { return cJSON_GetObjectItemCaseSensitive(obj, key); }

/* "file: key" at the top level, "file: models[0].key" below it */
static const char *join(char *buf, size_t cap, const char *where, const char *key)
{
  snprintf(buf, cap, strstr(where, ": ") ? "%s.%s" : "%s: %s", where, key);
  return buf;
}

/* A string member (expanded when expand); NULL when absent and !required. */
static comp_status get_str(const cJSON *obj, const char *where, const char *key, bool required, bool expand, char **out)
{
  *out           = NULL;
  const cJSON *v = item(obj, key);
  if (!v && !required) return COMP_OK;
  COMP_CHECK(v, COMP_ERR_FORMAT, "%s: missing key \"%s\"", where, key);
  char w[512];
  join(w, sizeof w, where, key);
  COMP_CHECK(cJSON_IsString(v), COMP_ERR_FORMAT, "%s: must be a string", w);
  if (expand) return comp_sweep_expand(w, v->valuestring, out);
  *out = strdup(v->valuestring);
  COMP_CHECK(*out, COMP_ERR_NOMEM, "out of memory");
  return COMP_OK;
}

static comp_status as_int(const cJSON *v, const char *where, int64_t lo, int64_t *out)
{
  COMP_CHECK(cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9e15,
             COMP_ERR_FORMAT, "%s: must be an integer", where);
  COMP_CHECK(v->valuedouble >= (double)lo, COMP_ERR_FORMAT, "%s: must be >= %lld, got %.17g", where, (long long)lo,
             v->valuedouble);
  *out = (int64_t)v->valuedouble;
  return COMP_OK;
}

static comp_status get_int(const cJSON *obj, const char *where, const char *key, int64_t lo, int64_t *out)
{
  const cJSON *v = item(obj, key);
  COMP_CHECK(v, COMP_ERR_FORMAT, "%s: missing key \"%s\"", where, key);
  char w[512];
  return as_int(v, join(w, sizeof w, where, key), lo, out);
}

static comp_status get_array(const cJSON *obj, const char *where, const char *key, const cJSON **out)
{
  const cJSON *v = item(obj, key);
  COMP_CHECK(v, COMP_ERR_FORMAT, "%s: missing key \"%s\"", where, key);
  char w[512];
  join(w, sizeof w, where, key);
  COMP_CHECK(cJSON_IsArray(v), COMP_ERR_FORMAT, "%s: must be a list", w);
  *out = v;
  return COMP_OK;
}

/* [A-Za-z0-9._+-]+ without "__" */
static comp_status check_name(const char *where, const char *name)
{
  bool ok = name[0] != '\0' && strlen(name) < 64 && !strstr(name, "__");
  for (const char *c = name; ok && *c; c++)
    ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("._+-", *c);
  COMP_CHECK(ok, COMP_ERR_FORMAT,
             "%s: name \"%s\": use 1-63 characters of A-Z a-z 0-9 . _ + - (and no \"__\", it separates the parts "
             "of a cell id)",
             where, name);
  return COMP_OK;
}

/* A list of comp prune args (strings, expanded), none of them an option the sweep sets. */
static comp_status get_args(const cJSON *obj, const char *where, const char *key, int *n, char ***out)
{
  *n = 0, *out = NULL;
  const cJSON *a = item(obj, key);
  if (!a) return COMP_OK;
  char w[512];
  join(w, sizeof w, where, key);
  COMP_CHECK(cJSON_IsArray(a), COMP_ERR_FORMAT, "%s: must be a list of strings (comp prune options)", w);
  int k = cJSON_GetArraySize(a);
  *out  = calloc((size_t)k + 1, sizeof(char *));
  COMP_CHECK(*out, COMP_ERR_NOMEM, "out of memory");
  const cJSON *e;
  cJSON_ArrayForEach(e, a)
  {
    char wi[600];
    snprintf(wi, sizeof wi, "%s[%d]", w, *n);
    COMP_CHECK(cJSON_IsString(e), COMP_ERR_FORMAT, "%s: must be a string", wi);
    const char *s = e->valuestring;
    if (s[0] == '-' && (s[1] == 'h' || s[1] == '-')) {
      const char *nm = s[1] == 'h' ? "help" : s + 2, *eq = strchr(nm, '=');
      size_t      nl = eq ? (size_t)(eq - nm) : strlen(nm);
      for (int r = 0; reserved_opts[r]; r++)
        COMP_CHECK(!(strlen(reserved_opts[r]) == nl && strncmp(reserved_opts[r], nm, nl) == 0), COMP_ERR_FORMAT,
                   "%s: \"%s\": the sweep sets --%s itself (models, calib, ratios, seeds and the output folder)", wi, s,
                   reserved_opts[r]);
    }
    COMP_CALL(comp_sweep_expand(wi, s, &(*out)[*n]));
    (*n)++;
  }
  return COMP_OK;
}

static void free_args(int n, char **a)
{
  for (int i = 0; a && i < n; i++) free(a[i]);
  free(a);
}

void comp_sweep_free(comp_sweep **sp)
{
  comp_sweep *s = sp ? *sp : NULL;
  if (!s) return;
  for (int i = 0; s->models && i < s->n_models; i++) {
    free(s->models[i].name), free(s->models[i].path), free(s->models[i].tokenizer);
    free_args(s->models[i].n_args, s->models[i].args);
  }
  for (int i = 0; s->evals && i < s->n_evals; i++) free(s->evals[i].name), free(s->evals[i].text);
  for (int i = 0; s->variants && i < s->n_variants; i++) {
    free(s->variants[i].name);
    free_args(s->variants[i].n_args, s->variants[i].args);
  }
  free(s->models), free(s->evals), free(s->variants), free(s->ratios), free(s->seeds);
  free(s->path), free(s->abs_path), free(s->name), free(s->description), free(s->paper), free(s->time),
      free(s->calib_text);
  free(s);
  *sp = NULL;
}

/* "HH:MM:SS" or "D-HH:MM:SS" (Slurm's --time forms with seconds) */
static bool time_ok(const char *t)
{
  int  d = 0, h, m, sec, n = 0;
  bool ok = (sscanf(t, "%d-%d:%d:%d%n", &d, &h, &m, &sec, &n) == 4 && (size_t)n == strlen(t)) ||
            (d = 0, n = 0, sscanf(t, "%d:%d:%d%n", &h, &m, &sec, &n) == 3 && (size_t)n == strlen(t));
  return ok && d >= 0 && h >= 0 && m >= 0 && m < 60 && sec >= 0 && sec < 60 && strchr(t, ' ') == NULL &&
         (d > 0 || h > 0 || m > 0 || sec > 0);
}

static comp_status parse(const cJSON *j, const char *where, comp_sweep *s)
{
  static const char *const top[]   = {"name",  "description", "paper",    "ranks", "time",  "models", "calib",
                                      "evals", "ratios",      "variants", "seeds", "dense", NULL};
  static const char *const mkeys[] = {"name", "path", "tokenizer", "prune_args", NULL};
  static const char *const ckeys[] = {"text", "samples", "len", NULL};
  static const char *const ekeys[] = {"name", "text", "seq_len", "max_windows", NULL};
  static const char *const vkeys[] = {"name", "args", NULL};
  char                     w[512];
  int64_t                  v;
  COMP_CHECK(cJSON_IsObject(j), COMP_ERR_FORMAT, "%s: the jobs file must hold one JSON object", where);
  COMP_CALL(check_keys(j, where, top));
  COMP_CALL(get_str(j, where, "name", true, false, &s->name));
  COMP_CALL(check_name(where, s->name));
  COMP_CALL(get_str(j, where, "description", false, false, &s->description));
  COMP_CALL(get_str(j, where, "paper", false, false, &s->paper));
  COMP_CALL(get_int(j, where, "ranks", 1, &v));
  COMP_CHECK(v <= 1 << 20, COMP_ERR_FORMAT, "%s: ranks: %lld is too many", where, (long long)v);
  s->ranks = (int)v;
  COMP_CALL(get_str(j, where, "time", true, false, &s->time));
  COMP_CHECK(time_ok(s->time), COMP_ERR_FORMAT, "%s: time: \"%s\": use \"HH:MM:SS\" or \"D-HH:MM:SS\"", where, s->time);
  const cJSON *d = item(j, "dense");
  COMP_CHECK(d, COMP_ERR_FORMAT, "%s: missing key \"dense\"", where);
  COMP_CHECK(cJSON_IsBool(d), COMP_ERR_FORMAT, "%s: dense: must be true or false", where);
  s->dense = cJSON_IsTrue(d);

  /* models */
  const cJSON *a, *e;
  COMP_CALL(get_array(j, where, "models", &a));
  COMP_CHECK(cJSON_GetArraySize(a) > 0, COMP_ERR_FORMAT, "%s: models: empty", where);
  s->models = calloc((size_t)cJSON_GetArraySize(a), sizeof *s->models);
  COMP_CHECK(s->models, COMP_ERR_NOMEM, "out of memory");
  cJSON_ArrayForEach(e, a)
  {
    comp_sweep_model *m = &s->models[s->n_models];
    snprintf(w, sizeof w, "%s: models[%d]", where, s->n_models);
    COMP_CHECK(cJSON_IsObject(e), COMP_ERR_FORMAT, "%s: must be an object {name, path, ...}", w);
    s->n_models++;
    COMP_CALL(check_keys(e, w, mkeys));
    COMP_CALL(get_str(e, w, "name", true, false, &m->name));
    COMP_CALL(check_name(w, m->name));
    for (int i = 0; i < s->n_models - 1; i++)
      COMP_CHECK(strcmp(s->models[i].name, m->name) != 0, COMP_ERR_FORMAT, "%s: model name \"%s\" used twice", w,
                 m->name);
    COMP_CALL(get_str(e, w, "path", true, true, &m->path));
    COMP_CALL(get_str(e, w, "tokenizer", false, true, &m->tokenizer));
    COMP_CALL(get_args(e, w, "prune_args", &m->n_args, &m->args));
  }

  /* calibration */
  const cJSON *c = item(j, "calib");
  COMP_CHECK(c, COMP_ERR_FORMAT, "%s: missing key \"calib\"", where);
  snprintf(w, sizeof w, "%s: calib", where);
  COMP_CHECK(cJSON_IsObject(c), COMP_ERR_FORMAT, "%s: must be an object {text, samples, len}", w);
  COMP_CALL(check_keys(c, w, ckeys));
  COMP_CALL(get_str(c, w, "text", true, true, &s->calib_text));
  COMP_CALL(get_int(c, w, "samples", 1, &s->calib_samples));
  COMP_CALL(get_int(c, w, "len", 2, &s->calib_len));

  /* evaluations */
  COMP_CALL(get_array(j, where, "evals", &a));
  COMP_CHECK(cJSON_GetArraySize(a) > 0, COMP_ERR_FORMAT,
             "%s: evals: empty (a cell without evaluation measures nothing)", where);
  s->evals = calloc((size_t)cJSON_GetArraySize(a), sizeof *s->evals);
  COMP_CHECK(s->evals, COMP_ERR_NOMEM, "out of memory");
  cJSON_ArrayForEach(e, a)
  {
    comp_sweep_eval *ev = &s->evals[s->n_evals];
    snprintf(w, sizeof w, "%s: evals[%d]", where, s->n_evals);
    COMP_CHECK(cJSON_IsObject(e), COMP_ERR_FORMAT, "%s: must be an object {name, text, seq_len}", w);
    s->n_evals++;
    COMP_CALL(check_keys(e, w, ekeys));
    COMP_CALL(get_str(e, w, "name", true, false, &ev->name));
    COMP_CALL(check_name(w, ev->name));
    for (int i = 0; i < s->n_evals - 1; i++)
      COMP_CHECK(strcmp(s->evals[i].name, ev->name) != 0, COMP_ERR_FORMAT, "%s: eval name \"%s\" used twice", w,
                 ev->name);
    COMP_CALL(get_str(e, w, "text", true, true, &ev->text));
    COMP_CALL(get_int(e, w, "seq_len", 2, &ev->seq_len));
    if (item(e, "max_windows")) COMP_CALL(get_int(e, w, "max_windows", 0, &ev->max_windows));
  }

  /* ratios */
  COMP_CALL(get_array(j, where, "ratios", &a));
  s->ratios = calloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(double));
  COMP_CHECK(s->ratios, COMP_ERR_NOMEM, "out of memory");
  cJSON_ArrayForEach(e, a)
  {
    snprintf(w, sizeof w, "%s: ratios[%d]", where, s->n_ratios);
    COMP_CHECK(cJSON_IsNumber(e), COMP_ERR_FORMAT, "%s: must be a number", w);
    COMP_CHECK(e->valuedouble > 0 && e->valuedouble < 1, COMP_ERR_FORMAT, "%s: %g: must be inside (0, 1)", w,
               e->valuedouble);
    for (int i = 0; i < s->n_ratios; i++) {
      char x[32], y[32];
      snprintf(x, sizeof x, "%g", s->ratios[i]);
      snprintf(y, sizeof y, "%g", e->valuedouble);
      COMP_CHECK(strcmp(x, y) != 0, COMP_ERR_FORMAT, "%s: ratio %s given twice (cell ids use %%g)", w, y);
    }
    s->ratios[s->n_ratios++] = e->valuedouble;
  }

  /* variants */
  COMP_CALL(get_array(j, where, "variants", &a));
  s->variants = calloc((size_t)cJSON_GetArraySize(a) + 1, sizeof *s->variants);
  COMP_CHECK(s->variants, COMP_ERR_NOMEM, "out of memory");
  cJSON_ArrayForEach(e, a)
  {
    comp_sweep_variant *va = &s->variants[s->n_variants];
    snprintf(w, sizeof w, "%s: variants[%d]", where, s->n_variants);
    COMP_CHECK(cJSON_IsObject(e), COMP_ERR_FORMAT, "%s: must be an object {name, args}", w);
    s->n_variants++;
    COMP_CALL(check_keys(e, w, vkeys));
    COMP_CALL(get_str(e, w, "name", true, false, &va->name));
    COMP_CALL(check_name(w, va->name));
    COMP_CHECK(strcmp(va->name, "dense") != 0, COMP_ERR_FORMAT,
               "%s: \"dense\" is not a variant name (set \"dense\": true for the unpruned models)", w);
    for (int i = 0; i < s->n_variants - 1; i++)
      COMP_CHECK(strcmp(s->variants[i].name, va->name) != 0, COMP_ERR_FORMAT, "%s: variant name \"%s\" used twice", w,
                 va->name);
    COMP_CHECK(item(e, "args"), COMP_ERR_FORMAT, "%s: missing key \"args\" (use [] for comp prune's defaults)", w);
    COMP_CALL(get_args(e, w, "args", &va->n_args, &va->args));
  }

  /* seeds */
  COMP_CALL(get_array(j, where, "seeds", &a));
  s->seeds = calloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(int64_t));
  COMP_CHECK(s->seeds, COMP_ERR_NOMEM, "out of memory");
  cJSON_ArrayForEach(e, a)
  {
    snprintf(w, sizeof w, "%s: seeds[%d]", where, s->n_seeds);
    COMP_CALL(as_int(e, w, 0, &s->seeds[s->n_seeds]));
    for (int i = 0; i < s->n_seeds; i++)
      COMP_CHECK(s->seeds[i] != s->seeds[s->n_seeds], COMP_ERR_FORMAT, "%s: seed %lld given twice", w,
                 (long long)s->seeds[i]);
    s->n_seeds++;
  }
  bool pruned = s->n_variants > 0 && s->n_ratios > 0 && s->n_seeds > 0;
  COMP_CHECK(pruned || s->dense, COMP_ERR_FORMAT,
             "%s: no cells (give variants, ratios and seeds, or set \"dense\": true)", where);
  return COMP_OK;
}

comp_status comp_sweep_load(const char *path, comp_sweep **out)
{
  *out             = NULL;
  char       *text = NULL;
  size_t      len  = 0;
  cJSON      *j    = NULL;
  comp_status s    = comp_read_file(path, &text, &len);
  if (!s) {
    const char *end = NULL;
    j               = cJSON_ParseWithOpts(text, &end, 1);
    if (!j) {
      const char *at   = cJSON_GetErrorPtr();
      int         line = 1;
      for (const char *p = text; at && p < at && *p; p++) line += *p == '\n';
      s = comp_error_set(COMP_ERR_FORMAT, "%s: not valid JSON (near line %d)", path, line);
    }
  }
  comp_sweep *sw = s ? NULL : calloc(1, sizeof *sw);
  if (!s && !sw) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  char abs[4096];
  if (!s && (!(sw->path = strdup(path)) || !(sw->abs_path = strdup(realpath(path, abs) ? abs : path))))
    s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  if (!s) s = parse(j, path, sw);
  if (!s && (size_t)comp_sweep_cell_count(sw) > (size_t)1 << 30)
    s = comp_error_set(COMP_ERR_FORMAT, "%s: too many cells", path);
  cJSON_Delete(j);
  free(text);
  if (s) {
    comp_sweep_free(&sw);
    return s;
  }
  *out = sw;
  return COMP_OK;
}

/* ---- cells --------------------------------------------------------------------------------------- */

int comp_sweep_cell_count(const comp_sweep *s)
{
  return (s->dense ? s->n_models : 0) + s->n_models * s->n_variants * s->n_ratios * s->n_seeds;
}

comp_status comp_sweep_cell_get(const comp_sweep *s, int index, comp_sweep_cell *c)
{
  int n = comp_sweep_cell_count(s);
  COMP_CHECK(index >= 0 && index < n, COMP_ERR_ARG, "cell %d: out of range (%s has %d cells, 0..%d)", index, s->path, n,
             n - 1);
  memset(c, 0, sizeof *c);
  c->index = index;
  int i    = index;
  if (s->dense && i < s->n_models) {
    c->model = &s->models[i];
    snprintf(c->id, sizeof c->id, "%s__dense", c->model->name);
    return COMP_OK;
  }
  if (s->dense) i -= s->n_models;
  int si = i % s->n_seeds;
  i /= s->n_seeds;
  int ri = i % s->n_ratios;
  i /= s->n_ratios;
  int vi = i % s->n_variants;
  i /= s->n_variants;
  c->model   = &s->models[i];
  c->variant = &s->variants[vi];
  c->ratio   = s->ratios[ri];
  c->seed    = s->seeds[si];
  snprintf(c->id, sizeof c->id, "%s__%s__r%g__s%lld", c->model->name, c->variant->name, c->ratio, (long long)c->seed);
  return COMP_OK;
}

comp_status comp_sweep_cell_path(const char *out_dir, const comp_sweep_cell *c, const char *name, char *buf, size_t cap)
{
  int n = snprintf(buf, cap, "%s/cells/%s%s%s", out_dir, c->id, name ? "/" : "", name ? name : "");
  COMP_CHECK(n > 0 && (size_t)n < cap, COMP_ERR_ARG, "%s: output path too long", out_dir);
  return COMP_OK;
}

comp_cell_state comp_sweep_cell_state(const char *out_dir, const comp_sweep_cell *c)
{
  char p[4096];
  if (comp_sweep_cell_path(out_dir, c, "done", p, sizeof p)) {
    comp_error_clear();
    return COMP_CELL_TODO;
  }
  if (comp_is_file(p)) return COMP_CELL_DONE;
  p[strlen(p) - 5] = '\0'; /* the folder */
  return comp_is_dir(p) ? COMP_CELL_PARTIAL : COMP_CELL_TODO;
}

const char *comp_cell_state_name(comp_cell_state st)
{
  return st == COMP_CELL_DONE ? "done" : st == COMP_CELL_PARTIAL ? "partial" : "todo";
}

/* ---- the output folder ------------------------------------------------------------------------------ */

comp_status comp_sweep_mkdirs(const char *path)
{
  char p[4096];
  COMP_CHECK(strlen(path) < sizeof p, COMP_ERR_ARG, "%s: path too long", path);
  snprintf(p, sizeof p, "%s", path);
  for (char *c = p + 1;; c++) {
    if (*c == '/' || *c == '\0') {
      char save = *c;
      *c        = '\0';
      if (mkdir(p, 0777) != 0 && errno != EEXIST)
        return comp_error_set(COMP_ERR_IO, "%s: cannot create the folder: %s", p, strerror(errno));
      COMP_CHECK(comp_is_dir(p), COMP_ERR_IO, "%s: exists and is not a folder", p);
      if (!save) break;
      *c = save;
    }
  }
  return COMP_OK;
}

comp_status comp_sweep_claim(const comp_sweep *s, const char *out_dir, bool create)
{
  char dst[4096], tmp[4200];
  COMP_CHECK(snprintf(dst, sizeof dst, "%s/jobs.json", out_dir) < (int)sizeof dst, COMP_ERR_ARG, "%s: path too long",
             out_dir);
  if (!create && !comp_is_file(dst)) return COMP_OK;
  char  *mine = NULL, *theirs = NULL;
  size_t nm = 0, nt = 0;
  COMP_CALL(comp_read_file(s->path, &mine, &nm));
  comp_status st = create ? comp_sweep_mkdirs(out_dir) : COMP_OK;
  if (!st && create && !comp_is_file(dst)) { /* write a private copy, then link it in: only one claim wins */
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", dst, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(mine, 1, nm, f) != nm || fflush(f) != 0 || fsync(fileno(f)) != 0)
      st = comp_error_set(COMP_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    if (f) fclose(f);
    if (!st && link(tmp, dst) != 0 && errno != EEXIST)
      st = comp_error_set(COMP_ERR_IO, "%s: cannot create: %s", dst, strerror(errno));
    unlink(tmp);
  }
  if (!st) st = comp_read_file(dst, &theirs, &nt);
  if (!st && (nt != nm || memcmp(mine, theirs, nm) != 0))
    st = comp_error_set(COMP_ERR_ARG,
                        "%s: this output folder belongs to another jobs file (its jobs.json differs from %s); use the "
                        "same jobs file or another --out-dir",
                        out_dir, s->path);
  free(mine), free(theirs);
  return st;
}

comp_status comp_sweep_mark_done(const comp_sweep *s, const comp_sweep_cell *c, const char *out_dir)
{
  char path[4096], tmp[4200], rel[4200];
  COMP_CALL(comp_sweep_cell_path(out_dir, c, "done", path, sizeof path));
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  char   created[32];
  time_t now = time(NULL);
  strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "id", c->id);
  cJSON_AddNumberToObject(j, "index", c->index);
  cJSON_AddStringToObject(j, "model", c->model->name);
  cJSON_AddStringToObject(j, "variant", c->variant ? c->variant->name : "dense");
  cJSON_AddNumberToObject(j, "ratio", c->ratio);
  cJSON_AddNumberToObject(j, "seed", (double)c->seed);
  if (c->variant) {
    snprintf(rel, sizeof rel, "cells/%s/prune.h5", c->id);
    cJSON_AddStringToObject(j, "prune", rel);
  } else {
    cJSON_AddNullToObject(j, "prune");
  }
  cJSON *ev = cJSON_AddObjectToObject(j, "evals");
  for (int e = 0; e < s->n_evals; e++) {
    snprintf(rel, sizeof rel, "cells/%s/eval-%s.h5", c->id, s->evals[e].name);
    cJSON_AddStringToObject(ev, s->evals[e].name, rel);
  }
  cJSON_AddStringToObject(j, "paths_relative_to", "the sweep's output folder");
  cJSON_AddStringToObject(j, "finished", created);
  const char *job = getenv("SLURM_JOB_ID");
  cJSON_AddStringToObject(j, "slurm_job_id", job ? job : "");
  char *line = comp_json_print(j, 0);
  cJSON_Delete(j);
  COMP_CHECK(line, COMP_ERR_NOMEM, "out of memory");
  FILE       *f  = fopen(tmp, "w");
  comp_status st = COMP_OK;
  if (!f || fprintf(f, "%s\n", line) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0)
    st = comp_error_set(COMP_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
  if (f) fclose(f);
  if (!st && rename(tmp, path) != 0) st = comp_error_set(COMP_ERR_IO, "%s: cannot rename: %s", tmp, strerror(errno));
  if (st) unlink(tmp);
  free(line);
  return st;
}

/* ---- argument vectors ---------------------------------------------------------------------------- */

typedef struct argv_b {
  int    n, cap;
  char **v;
  bool   nomem;
} argv_b;

static void push(argv_b *b, const char *s)
{
  if (b->nomem) return;
  if (b->n + 2 > b->cap) {
    int    cap = b->cap ? 2 * b->cap : 32;
    char **nv  = realloc(b->v, sizeof(char *) * (size_t)cap);
    if (!nv) {
      b->nomem = true;
      return;
    }
    b->v = nv, b->cap = cap;
  }
  if (!(b->v[b->n] = strdup(s))) {
    b->nomem = true;
    return;
  }
  b->v[++b->n] = NULL;
}

static void pushf(argv_b *b, const char *fmt, double x)
{
  char buf[64];
  snprintf(buf, sizeof buf, fmt, x);
  push(b, buf);
}

/* the shortest %.Ng that reads back as x */
static void push_double(argv_b *b, double x)
{
  char buf[64];
  for (int p = 6; p <= 17; p++) {
    snprintf(buf, sizeof buf, "%.*g", p, x);
    if (strtod(buf, NULL) == x) break;
  }
  push(b, buf);
}

static comp_status finish_argv(argv_b *b, int *argc, char ***argv)
{
  if (b->nomem) {
    for (int i = 0; i < b->n; i++) free(b->v[i]);
    free(b->v);
    return comp_error_set(COMP_ERR_NOMEM, "out of memory");
  }
  *argc = b->n, *argv = b->v;
  return COMP_OK;
}

void comp_sweep_argv_free(char ***argv)
{
  if (!argv || !*argv) return;
  for (char **p = *argv; *p; p++) free(*p);
  free(*argv);
  *argv = NULL;
}

comp_status comp_sweep_prune_argv(const comp_sweep *s, const comp_sweep_cell *c, const char *out_dir, bool resume,
                                  bool force, int *argc, char ***argv)
{
  COMP_CHECK(c->variant, COMP_ERR_ARG, "cell %s: a dense cell is not pruned", c->id);
  char out[4096];
  COMP_CALL(comp_sweep_cell_path(out_dir, c, "prune.h5", out, sizeof out));
  argv_b b = {0};
  push(&b, "prune");
  push(&b, "--model"), push(&b, c->model->path);
  if (c->model->tokenizer) push(&b, "--tokenizer"), push(&b, c->model->tokenizer);
  push(&b, "--ratio"), push_double(&b, c->ratio);
  push(&b, "--calib"), push(&b, s->calib_text);
  push(&b, "--calib-samples"), pushf(&b, "%.0f", (double)s->calib_samples);
  push(&b, "--calib-len"), pushf(&b, "%.0f", (double)s->calib_len);
  push(&b, "--seed"), pushf(&b, "%.0f", (double)c->seed);
  push(&b, "--out"), push(&b, out);
  push(&b, "--sweep-cell"), push(&b, c->id);
  push(&b, "--sweep-jobs"), push(&b, s->abs_path);
  push(&b, "--json");
  for (int i = 0; i < c->model->n_args; i++) push(&b, c->model->args[i]);
  for (int i = 0; i < c->variant->n_args; i++) push(&b, c->variant->args[i]);
  if (resume) push(&b, "--resume");
  if (force) push(&b, "--force");
  return finish_argv(&b, argc, argv);
}

comp_status comp_sweep_eval_argv(const comp_sweep *s, const comp_sweep_cell *c, int e, const char *out_dir, bool force,
                                 int *argc, char ***argv)
{
  COMP_CHECK(e >= 0 && e < s->n_evals, COMP_ERR_ARG, "eval %d: out of range", e);
  char out[4096], name[200], model[4096];
  snprintf(name, sizeof name, "eval-%s.h5", s->evals[e].name);
  COMP_CALL(comp_sweep_cell_path(out_dir, c, name, out, sizeof out));
  if (c->variant)
    COMP_CALL(comp_sweep_cell_path(out_dir, c, "prune.h5", model, sizeof model));
  else
    snprintf(model, sizeof model, "%s", c->model->path);
  argv_b b = {0};
  push(&b, "eval");
  push(&b, "--model"), push(&b, model);
  if (c->model->tokenizer) push(&b, "--tokenizer"), push(&b, c->model->tokenizer);
  push(&b, "--text"), push(&b, s->evals[e].text);
  push(&b, "--seq-len"), pushf(&b, "%.0f", (double)s->evals[e].seq_len);
  if (s->evals[e].max_windows > 0) push(&b, "--max-windows"), pushf(&b, "%.0f", (double)s->evals[e].max_windows);
  push(&b, "--out"), push(&b, out);
  push(&b, "--sweep-cell"), push(&b, c->id);
  push(&b, "--sweep-jobs"), push(&b, s->abs_path);
  push(&b, "--json");
  if (force) push(&b, "--force");
  return finish_argv(&b, argc, argv);
}
