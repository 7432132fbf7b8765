/* archive_export.c - an archive back to a Hugging Face checkpoint of the source architecture (see
 * comp_archive_export_hf in comp/archive.h). */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_impl.h"
#include "comp/util.h"

/* One tensor of the exported safetensors file, in file order. */
typedef struct exp_tensor {
  char      name[256];
  int       ndim;
  int64_t   shape[2];
  int       layer; /* -1: model-wide                         */
  comp_role role;
} exp_tensor;

/* Remove a directory that holds only files (what export writes). Refuses subdirectories. */
static comp_status remove_flat_dir(const char *dir, bool check_only)
{
  DIR *d = opendir(dir);
  COMP_CHECK(d, COMP_ERR_IO, "%s: cannot open directory: %s", dir, strerror(errno));
  comp_status    s = COMP_OK;
  struct dirent *e;
  char           p[4400];
  while (!s && (e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(p, &st) != 0 || S_ISDIR(st.st_mode))
      s = comp_error_set(COMP_ERR_IO, "%s: not replaced: it contains the directory %s (not a model checkpoint?)", dir,
                         e->d_name);
    else if (!check_only && unlink(p) != 0)
      s = comp_error_set(COMP_ERR_IO, "%s: cannot remove: %s", p, strerror(errno));
  }
  closedir(d);
  if (!s && !check_only && rmdir(dir) != 0)
    s = comp_error_set(COMP_ERR_IO, "%s: cannot remove: %s", dir, strerror(errno));
  return s;
}

static bool dir_is_empty(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d) return false;
  struct dirent *e;
  bool           empty = true;
  while (empty && (e = readdir(d))) empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
  closedir(d);
  return empty;
}

static comp_status write_all(FILE *f, const char *path, const void *p, size_t n)
{
  COMP_CHECK(fwrite(p, 1, n, f) == n, COMP_ERR_IO, "%s: write failed: %s", path, strerror(errno));
  return COMP_OK;
}

static comp_status write_text(const char *path, const char *text)
{
  FILE *f = fopen(path, "wb");
  COMP_CHECK(f, COMP_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
  comp_status s = write_all(f, path, text, strlen(text));
  if (fclose(f) != 0 && !s) s = comp_error_set(COMP_ERR_IO, "%s: write failed: %s", path, strerror(errno));
  return s;
}

/* cfg[key] = v, in place when the key exists (the file keeps its key order). */
static void set_item(cJSON *cfg, const char *key, cJSON *v)
{
  if (cJSON_GetObjectItemCaseSensitive(cfg, key))
    cJSON_ReplaceItemInObjectCaseSensitive(cfg, key, v);
  else
    cJSON_AddItemToObject(cfg, key, v);
}

/* A JSON number that Python reads back as a float equal to v (17 digits at most, ".0" kept). */
static cJSON *json_float(double v)
{
  char buf[40];
  comp_double_text(v, buf);
  if (!strpbrk(buf, ".eEn")) strcat(buf, ".0");
  return cJSON_CreateRaw(buf);
}

/* Phi-3's longrope object in j: Phi3Config's three fields as the 128k models write them (transformers
 * 4's Phi3Config accepts no others; the original context goes at the config's top level), and
 * attention_factor only when it is not the one transformers derives from max_position_embeddings
 * (n_ctx) / original. */
static cJSON *longrope_json(cJSON *j, const comp_rope_scaling *rs, int64_t n_ctx)
{
  cJSON_AddStringToObject(j, "type", "longrope");
  cJSON *sf = cJSON_AddArrayToObject(j, "short_factor"), *lf = cJSON_AddArrayToObject(j, "long_factor");
  for (int64_t i = 0; i < rs->n_pairs; i++) {
    cJSON_AddItemToArray(sf, json_float(rs->short_factor[i]));
    cJSON_AddItemToArray(lf, json_float(rs->long_factor[i]));
  }
  const double att = comp_longrope_default_attention((double)n_ctx / (double)rs->original_ctx, rs->original_ctx);
  if (rs->attention_factor != att) cJSON_AddItemToObject(j, "attention_factor", json_float(rs->attention_factor));
  return j;
}

/* YaRN's object in j: factor, the ramp's ends and the original context only where it is not
 * max_position_embeddings (n_ctx: transformers before the fix of its issue 38224 would otherwise take
 * n_ctx / original as the factor), the attention factor where it is not get_mscale(factor) (so that
 * a source's mscale pair is read alike without it), truncate only when false. */
static cJSON *yarn_json(cJSON *j, const comp_rope_scaling *rs, int64_t n_ctx)
{
  cJSON_AddStringToObject(j, "rope_type", "yarn");
  cJSON_AddItemToObject(j, "factor", json_float(rs->factor));
  if (rs->original_ctx != n_ctx)
    cJSON_AddNumberToObject(j, "original_max_position_embeddings", (double)rs->original_ctx);
  cJSON_AddItemToObject(j, "beta_fast", json_float(rs->beta_fast));
  cJSON_AddItemToObject(j, "beta_slow", json_float(rs->beta_slow));
  if (rs->attention_factor != comp_yarn_default_attention(rs->factor))
    cJSON_AddItemToObject(j, "attention_factor", json_float(rs->attention_factor));
  if (!rs->truncate) cJSON_AddFalseToObject(j, "truncate");
  return j;
}

/* Hugging Face's rope_scaling object of rs: rope_type and the fields its kind reads; NULL for none. */
static cJSON *rope_scaling_json(const comp_rope_scaling *rs, int64_t n_ctx)
{
  if (rs->kind == COMP_ROPE_SCALING_NONE) return NULL;
  cJSON *j = cJSON_CreateObject();
  if (rs->kind == COMP_ROPE_SCALING_LONGROPE) return longrope_json(j, rs, n_ctx);
  if (rs->kind == COMP_ROPE_SCALING_YARN) return yarn_json(j, rs, n_ctx);
  cJSON_AddStringToObject(j, "rope_type", comp_rope_scaling_name(rs->kind));
  cJSON_AddItemToObject(j, "factor", json_float(rs->factor));
  if (rs->kind == COMP_ROPE_SCALING_LLAMA3) {
    cJSON_AddItemToObject(j, "low_freq_factor", json_float(rs->low_freq_factor));
    cJSON_AddItemToObject(j, "high_freq_factor", json_float(rs->high_freq_factor));
    cJSON_AddNumberToObject(j, "original_max_position_embeddings", (double)rs->original_ctx);
  }
  return j;
}

/* config.json: the source config with the layer count and dtype of the export, and the RoPE scaling
 * the archive is read with. */
static comp_status export_config(const arc_reader *r, const char *path)
{
  const comp_arch_desc *ad  = comp_arch_get(r->hp.arch);
  cJSON                *cfg = cJSON_Parse(r->config_json);
  COMP_CHECK(cJSON_IsObject(cfg), COMP_ERR_FORMAT, "%s: /source config_json is not a JSON object", r->path);
  char nl_key[128]; /* the layer count's key as the source names it (alternatives: BLOOM's n_layer) */
  comp_config_item(cfg, ad->cfg.n_layer ? ad->cfg.n_layer : "num_hidden_layers", nl_key, sizeof nl_key);
  set_item(cfg, nl_key, cJSON_CreateNumber(r->n));
  /* each kept layer's attention kind, when the source lists them (newer configs) or alternates them
   * (Gemma-2, Gemma-3: once a layer is removed the kinds need not follow the pattern any more) */
  const cJSON *lt = cJSON_GetObjectItemCaseSensitive(cfg, "layer_types");
  if (cJSON_IsArray(lt) || ((ad->window_period > 0 || ad->cfg.window_first) && r->hp.sliding_window > 0)) {
    cJSON *kept = cJSON_CreateArray();
    for (int l = 0; l < r->n; l++)
      cJSON_AddItemToArray(kept, cJSON_CreateString(r->layers[l].window > 0 ? "sliding_attention" : "full_attention"));
    set_item(cfg, "layer_types", kept);
  }
  /* Qwen2/3: transformers before layer_types reads the windowed layers as those from max_window_layers on: the
   * kept layers' first windowed one, where the windowed ones are all those after it (else layer_types alone) */
  if (ad->cfg.window_first && r->hp.sliding_window > 0) {
    int first = 0, monotone = 1;
    while (first < r->n && r->layers[first].window <= 0) first++;
    for (int l = first; l < r->n; l++) monotone &= r->layers[l].window > 0;
    if (monotone) set_item(cfg, ad->cfg.window_first, cJSON_CreateNumber(first));
  }
  if (ad->cfg.rope_layers) { /* SmolLM3: which kept layers rotate (the period no longer describes them) */
    cJSON *rope = cJSON_CreateArray();
    for (int l = 0; l < r->n; l++) cJSON_AddItemToArray(rope, cJSON_CreateNumber(!r->layers[l].nope));
    set_item(cfg, ad->cfg.rope_layers, rope);
  }
  set_item(cfg, "torch_dtype", cJSON_CreateString("float32"));
  /* a transformers 5 source keeps its rope_parameters, which hold the same scaling and base */
  const cJSON *rp = cJSON_GetObjectItemCaseSensitive(cfg, "rope_parameters");
  cJSON       *rs = rp && !cJSON_IsNull(rp) ? NULL : rope_scaling_json(&r->hp.rope_scaling, r->hp.n_ctx);
  if (rs) set_item(cfg, "rope_scaling", rs);
  /* longrope: transformers 4 reads the original context (which picks the factor set) at the top level */
  if (rs && r->hp.rope_scaling.kind == COMP_ROPE_SCALING_LONGROPE)
    set_item(cfg, "original_max_position_embeddings", cJSON_CreateNumber((double)r->hp.rope_scaling.original_ctx));
  char *txt = comp_json_print(cfg, 1);
  cJSON_Delete(cfg);
  COMP_CHECK(txt, COMP_ERR_NOMEM, "out of memory");
  size_t n    = strlen(txt);
  char  *txt2 = realloc(txt, n + 2);
  if (txt2) txt = txt2, txt[n] = '\n', txt[n + 1] = '\0';
  comp_status s = write_text(path, txt);
  free(txt);
  return s;
}

/* Append tensor (name from the role's template at layer l) to the list. */
static void add_tensor(exp_tensor *t, int *n, const comp_arch_desc *ad, comp_role role, int l, int64_t rows,
                       int64_t cols)
{
  exp_tensor *e = &t[(*n)++];
  snprintf(e->name, sizeof e->name, ad->tensor[role], l);
  e->role     = role;
  e->layer    = l;
  e->ndim     = cols ? 2 : 1;
  e->shape[0] = rows;
  e->shape[1] = cols;
}

/* Rows of the tensor that holds dense role r: its dense's d_out, or its fused parts' together. */
static int64_t fused_rows(const comp_arch_desc *ad, const arc_layer_info *li, comp_role r)
{
  const comp_arch_fused *fu    = &ad->fused[r];
  int64_t                rows  = 0;
  bool                   bias  = false;
  const int              npart = fu->n > 0 ? fu->n : 1;
  for (int i = 0; i < npart; i++) {
    int d = comp_dense_of_role(fu->n > 0 ? fu->part[i] : r, &bias);
    rows += d >= 0 ? li->dense[d].d_out : 0;
  }
  return rows;
}

/* Every tensor of the export, in file order: model-wide first, then layer by layer. */
static comp_status export_plan(const arc_reader *r, const comp_model *m, exp_tensor **out, int *n_out)
{
  const comp_arch_desc *ad = comp_arch_get(r->hp.arch);
  const int64_t         V = r->hp.n_vocab, D = r->hp.n_embd;
  int                   n = 0;
  exp_tensor *t = calloc((size_t)(3 + COMP_WIDE_VEC_COUNT + r->n * (COMP_VEC_COUNT + 2 * COMP_DENSE_COUNT)), sizeof *t);
  COMP_CHECK(t, COMP_ERR_NOMEM, "out of memory");
  add_tensor(t, &n, ad, COMP_ROLE_TOK_EMBD, -1, V, D);
  if (m->pos_embd) add_tensor(t, &n, ad, COMP_ROLE_POS_EMBD, -1, r->hp.n_ctx + ad->pos_offset, D);
  for (int v = 0; v < COMP_WIDE_VEC_COUNT; v++)
    if (comp_wide_vec_get(m, (comp_wide_vec)v))
      add_tensor(t, &n, ad, comp_wide_vec_role((comp_wide_vec)v), -1, comp_wide_vec_len(&r->hp, (comp_wide_vec)v), 0);
  if (!r->hp.tied) add_tensor(t, &n, ad, COMP_ROLE_LM_HEAD, -1, V, D);
  for (int l = 0; l < r->n; l++) {
    const arc_layer_info *li = &r->layers[l];
    for (int v = 0; v < COMP_VEC_COUNT; v++)
      if (li->has_vec[v])
        add_tensor(t, &n, ad, comp_layer_vec_role((comp_layer_vec)v), l, comp_layer_vec_len(&r->hp, (comp_layer_vec)v),
                   0);
    for (int d = 0; d < COMP_DENSE_COUNT; d++) {
      const arc_dense_info *di = &li->dense[d];
      if (!di->present) continue;
      comp_role wr = comp_dense_weight_role((comp_dense_id)d), br = comp_dense_bias_role((comp_dense_id)d);
      if ((ad->fused[wr].n == 0 || ad->fused[wr].part[0] == wr) && ad->conv1d) /* stored (in, out) */
        add_tensor(t, &n, ad, wr, l, di->d_in_full, fused_rows(ad, li, wr));
      else if (ad->fused[wr].n == 0 || ad->fused[wr].part[0] == wr) /* a fused tensor goes with its first part */
        add_tensor(t, &n, ad, wr, l, fused_rows(ad, li, wr), di->d_in_full);
      if (di->has_b && (ad->fused[br].n == 0 || ad->fused[br].part[0] == br))
        add_tensor(t, &n, ad, br, l, fused_rows(ad, li, br), 0);
    }
  }
  for (int i = 0; i < n; i++)
    if (!ad->tensor[t[i].role]) {
      comp_status s = comp_error_set(COMP_ERR_INTERNAL, "architecture %s has no tensor name for role %s", ad->name,
                                     comp_role_name(t[i].role));
      free(t);
      return s;
    }
  *out   = t;
  *n_out = n;
  return COMP_OK;
}

/* The safetensors header: JSON padded with spaces to a multiple of 8 bytes. */
static char *safetensors_header(const exp_tensor *t, int n, uint64_t *len)
{
  size_t cap = 64 + (size_t)n * 400, used = 0;
  char  *h = malloc(cap);
  if (!h) return NULL;
  used += (size_t)snprintf(h + used, cap - used, "{\"__metadata__\":{\"format\":\"pt\"}");
  uint64_t off = 0;
  for (int i = 0; i < n; i++) {
    uint64_t bytes = (uint64_t)t[i].shape[0] * (uint64_t)(t[i].ndim == 2 ? t[i].shape[1] : 1) * 4;
    if (t[i].ndim == 2)
      used += (size_t)snprintf(h + used, cap - used, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld,%lld]", t[i].name,
                               (long long)t[i].shape[0], (long long)t[i].shape[1]);
    else
      used += (size_t)snprintf(h + used, cap - used, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%lld]", t[i].name,
                               (long long)t[i].shape[0]);
    used += (size_t)snprintf(h + used, cap - used, ",\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                             (unsigned long long)(off + bytes));
    off += bytes;
  }
  used += (size_t)snprintf(h + used, cap - used, "}");
  while (used % 8) h[used++] = ' ';
  *len = used;
  return h;
}

/* Rows of q/k of a llama2.c model in Hugging Face order: HF rotates pairs (i, i + hd/2) where llama2.c
 * rotates (2i, 2i+1), so HF row (h, half, i) is llama2.c row (h, 2i + half). */
static int64_t hf_row_source(int64_t row, int64_t hd)
{
  int64_t h = row / hd, r = row % hd, half = r / (hd / 2), i = r % (hd / 2);
  return h * hd + 2 * i + half;
}

/* The full-width dense (pruned columns zero) into buf (d_out, d_in_full); rows permuted if asked. */
static void expand_dense(const comp_dense *dn, bool permute, int64_t hd, float *buf)
{
  memset(buf, 0, sizeof(float) * (size_t)(dn->d_out * dn->d_in_full));
  for (int64_t r = 0; r < dn->d_out; r++) {
    const float *src = dn->w + (permute ? hf_row_source(r, hd) : r) * dn->d_in;
    float       *dst = buf + r * dn->d_in_full;
    for (int64_t j = 0; j < dn->d_in; j++) dst[dn->in_idx ? dn->in_idx[j] : j] = src[j];
  }
}

static comp_status export_safetensors(comp_model *m, const arc_reader *r, const char *path)
{
  exp_tensor *t = NULL;
  int         n = 0;
  COMP_CALL(export_plan(r, m, &t, &n));
  const bool permute = r->hp.arch == COMP_ARCH_LLAMA2C;
  uint64_t   hlen    = 0;
  char      *hdr     = safetensors_header(t, n, &hlen);
  int64_t    maxw    = 0;
  for (int i = 0; i < n; i++)
    if (t[i].ndim == 2 && t[i].layer >= 0 && t[i].shape[0] * t[i].shape[1] > maxw) maxw = t[i].shape[0] * t[i].shape[1];
  float      *buf  = malloc(sizeof(float) * (size_t)(maxw + 1));
  float      *perm = NULL; /* per-head fused tensors reordered (allocated when one is written) */
  FILE       *f    = fopen(path, "wb");
  comp_status s    = COMP_OK;
  if (!hdr || !buf)
    s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  else if (!f)
    s = comp_error_set(COMP_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
  unsigned char lenbuf[8];
  for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)(hlen >> (8 * i)); /* little-endian u64 */
  if (!s) s = write_all(f, path, lenbuf, 8);
  if (!s) s = write_all(f, path, hdr, hlen);
  comp_layer *ly = NULL;
  for (int i = 0; !s && i < n; i++) {
    const exp_tensor *e     = &t[i];
    size_t            bytes = (size_t)(e->shape[0] * (e->ndim == 2 ? e->shape[1] : 1)) * 4;
    const float      *src   = NULL;
    if (e->layer < 0) {
      src = e->role == COMP_ROLE_TOK_EMBD ? m->tok_embd : e->role == COMP_ROLE_POS_EMBD ? m->pos_embd : m->lm_head;
      for (int v = 0; v < COMP_WIDE_VEC_COUNT; v++) /* or one of the model-wide vectors */
        if (e->role == comp_wide_vec_role((comp_wide_vec)v)) src = comp_wide_vec_get(m, (comp_wide_vec)v);
    } else {
      if (!ly || ly->index != e->layer) {
        comp_model_layer_put(m, &ly);
        if ((s = comp_model_layer_get(m, e->layer, &ly))) break;
      }
      for (int v = 0; !src && v < COMP_VEC_COUNT; v++) /* one of the layer's vectors */
        if (e->role == comp_layer_vec_role((comp_layer_vec)v)) src = comp_layer_vec_get(ly, (comp_layer_vec)v);
      /* a dense's weight or bias; a fused tensor is its parts' rows, one after the other */
      const comp_arch_fused *fu      = &comp_arch_get(r->hp.arch)->fused[e->role];
      const int              npart   = fu->n > 0 ? fu->n : 1;
      float                 *dst     = buf;
      int64_t                prow[3] = {0, 0, 0}, cols = 1; /* each part's rows, the row length */
      for (int pi = 0; !src && pi < npart; pi++) {
        bool bias = false;
        int  d    = comp_dense_of_role(fu->n > 0 ? fu->part[pi] : e->role, &bias);
        if (d < 0 || !ly->dense[d].w || (bias && !ly->dense[d].b)) break; /* reported as "no data" below */
        const comp_dense *dn = &ly->dense[d];
        bool              qk = permute && (d == COMP_DENSE_Q || d == COMP_DENSE_K);
        if (!bias) {
          expand_dense(dn, qk, r->hp.head_dim, dst);
          dst += dn->d_out * dn->d_in_full;
        } else {
          for (int64_t j = 0; j < dn->d_out; j++) dst[j] = dn->b[qk ? hf_row_source(j, r->hp.head_dim) : j];
          dst += dn->d_out;
        }
        prow[pi] = dn->d_out, cols = bias ? 1 : dn->d_in_full;
        if (pi == npart - 1) src = buf;
      }
      if (src && fu->n > 0 && fu->per_head) { /* kv head h's rows of each part, then h + 1's (GPT-NeoX) */
        if (!perm && !(perm = malloc(sizeof(float) * (size_t)(maxw + 1)))) {
          s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
          break;
        }
        const int64_t H = r->hp.n_head_kv;
        float        *o = perm;
        for (int64_t h = 0; h < H; h++)
          for (int pi = 0, p0 = 0; pi < npart; p0 += (int)prow[pi], pi++) {
            const int64_t hr = prow[pi] / H;
            memcpy(o, buf + (p0 + h * hr) * cols, (size_t)(hr * cols) * sizeof(float));
            o += hr * cols;
          }
        src = perm;
      }
      if (src && e->ndim == 2 && comp_arch_get(r->hp.arch)->conv1d) { /* a Conv1D weight: written (in, out) */
        if (!perm && !(perm = malloc(sizeof(float) * (size_t)(maxw + 1)))) {
          s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
          break;
        }
        const int64_t out = e->shape[1], in = e->shape[0];
        for (int64_t o = 0; o < out; o++)
          for (int64_t c = 0; c < in; c++) perm[c * out + o] = src[o * in + c];
        src = perm;
      }
    }
    if (!src) {
      s = comp_error_set(COMP_ERR_INTERNAL, "%s: no data for tensor %s", r->path, e->name);
      break;
    }
    s = write_all(f, path, src, bytes);
  }
  comp_model_layer_put(m, &ly);
  if (f && fclose(f) != 0 && !s) s = comp_error_set(COMP_ERR_IO, "%s: write failed: %s", path, strerror(errno));
  free(buf), free(perm), free(hdr), free(t);
  return s;
}

/* Copy src_dir/name to dst_dir/name if it exists; *copied += 1 when it did. */
static comp_status copy_if_present(const char *src_dir, const char *dst_dir, const char *name, int *copied)
{
  char sp[4400], dp[4400];
  snprintf(sp, sizeof sp, "%s/%s", src_dir, name);
  snprintf(dp, sizeof dp, "%s/%s", dst_dir, name);
  if (!comp_is_file(sp)) return COMP_OK;
  char  *buf = NULL;
  size_t n   = 0;
  COMP_CALL(comp_read_file(sp, &buf, &n));
  FILE       *f = fopen(dp, "wb");
  comp_status s =
      f ? write_all(f, dp, buf, n) : comp_error_set(COMP_ERR_IO, "%s: cannot create: %s", dp, strerror(errno));
  if (f && fclose(f) != 0 && !s) s = comp_error_set(COMP_ERR_IO, "%s: write failed: %s", dp, strerror(errno));
  free(buf);
  if (!s) (*copied)++;
  return s;
}

/* The modeling code a trust_remote_code checkpoint names in the "auto_map" of its config.json or
 * tokenizer_config.json ("modeling_chatglm.ChatGLMForConditionalGeneration" -> modeling_chatglm.py),
 * copied so that the export loads like its source. *copied counts the files. */
static comp_status copy_remote_code(const char *src_dir, const char *dst_dir, int *copied)
{
  static const char *const cfgs[] = {"config.json", "tokenizer_config.json"};
  comp_status              s      = COMP_OK;
  for (size_t c = 0; !s && c < sizeof cfgs / sizeof cfgs[0]; c++) {
    char   p[4400], *text = NULL;
    size_t n = 0;
    snprintf(p, sizeof p, "%s/%s", src_dir, cfgs[c]);
    if (!comp_is_file(p) || comp_read_file(p, &text, &n) != COMP_OK) {
      comp_error_clear(); /* no such file: nothing to copy */
      continue;
    }
    cJSON *j = cJSON_ParseWithLength(text, n), *am = cJSON_GetObjectItemCaseSensitive(j, "auto_map");
    free(text);
    for (cJSON *e = cJSON_IsObject(am) ? am->child : NULL; !s && e; e = e->next) {
      for (cJSON *v = cJSON_IsArray(e) ? e->child : e; !s && v; v = cJSON_IsArray(e) ? v->next : NULL) {
        const char *ref = cJSON_IsString(v) ? v->valuestring : NULL, *sep = ref ? strstr(ref, "--") : NULL;
        ref             = sep ? sep + 2 : ref; /* "owner/repo--module.Class": the module of another repo */
        const char *dot = ref ? strrchr(ref, '.') : NULL;
        if (!dot || dot == ref || strchr(ref, '/') || dot - ref > 200) continue;
        char file[256], dp[4700];
        snprintf(file, sizeof file, "%.*s.py", (int)(dot - ref), ref);
        snprintf(dp, sizeof dp, "%s/%s", dst_dir, file);
        if (!comp_is_file(dp)) s = copy_if_present(src_dir, dst_dir, file, copied);
      }
    }
    cJSON_Delete(j);
  }
  return s;
}

/* Put the finished tmp directory at out_dir (replacing an empty one, or a flat one when forced). */
static comp_status move_into_place(const char *tmp, const char *out_dir, bool exists)
{
  if (!exists || dir_is_empty(out_dir)) {
    if (exists && rmdir(out_dir) != 0)
      return comp_error_set(COMP_ERR_IO, "%s: cannot replace: %s", out_dir, strerror(errno));
    COMP_CHECK(rename(tmp, out_dir) == 0, COMP_ERR_IO, "%s: cannot rename %s into place: %s", out_dir, tmp,
               strerror(errno));
    return COMP_OK;
  }
  char old[4400];
  snprintf(old, sizeof old, "%s.old-%ld", out_dir, (long)getpid());
  COMP_CHECK(rename(out_dir, old) == 0, COMP_ERR_IO, "%s: cannot move aside: %s", out_dir, strerror(errno));
  if (rename(tmp, out_dir) != 0) {
    int err = errno;
    rename(old, out_dir);
    return comp_error_set(COMP_ERR_IO, "%s: cannot rename %s into place: %s", out_dir, tmp, strerror(err));
  }
  return remove_flat_dir(old, false);
}

comp_status comp_archive_export_hf(const char *archive_path, const char *out_dir, bool force, int *n_tokenizer_files)
{
  if (n_tokenizer_files) *n_tokenizer_files = 0;
  COMP_CHECK(out_dir && out_dir[0], COMP_ERR_ARG, "no output directory given");
  struct stat st;
  bool        exists = stat(out_dir, &st) == 0;
  COMP_CHECK(!exists || S_ISDIR(st.st_mode), COMP_ERR_IO, "%s: exists and is not a directory", out_dir);
  COMP_CHECK(!exists || force || dir_is_empty(out_dir), COMP_ERR_IO,
             "%s: exists and is not empty (use --force to replace it)", out_dir);
  if (exists && force && !dir_is_empty(out_dir)) COMP_CALL(remove_flat_dir(out_dir, true));
  COMP_CHECK(comp_archive_is_hdf5(archive_path), COMP_ERR_FORMAT, "%s: not an HDF5 archive", archive_path);

  comp_model *m = NULL;
  COMP_CALL(comp_model_load(archive_path, &m));
  const arc_reader *r = arc_model_reader(m);
  char              tmp[4200], p[4400];
  int               copied = 0;
  snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out_dir, (long)getpid());
  comp_status s = COMP_OK;
  if (mkdir(tmp, 0755) != 0) s = comp_error_set(COMP_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
  bool made = !s;
  if (!s) {
    snprintf(p, sizeof p, "%s/config.json", tmp);
    s = export_config(r, p);
  }
  if (!s) {
    snprintf(p, sizeof p, "%s/model.safetensors", tmp);
    s = export_safetensors(m, r, p);
  }
  static const char *const tok_files[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                          "generation_config.json", "tokenizer.model"};
  if (r->source_path[0] && comp_is_dir(r->source_path))
    for (size_t i = 0; !s && i < sizeof tok_files / sizeof tok_files[0]; i++)
      s = copy_if_present(r->source_path, tmp, tok_files[i], &copied);
  if (!s && r->source_path[0] && comp_is_dir(r->source_path)) s = copy_remote_code(r->source_path, tmp, &copied);
  if (!s) s = move_into_place(tmp, out_dir, exists);
  if (s && made) {
    comp_status keep = s; /* the first error is the one to report */
    remove_flat_dir(tmp, false);
    s = keep;
  }
  comp_model_destroy(&m);
  if (!s && n_tokenizer_files) *n_tokenizer_files = copied;
  return s;
}
