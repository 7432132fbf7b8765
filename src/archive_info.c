/* archive_info.c - a JSON description of an archive (comp_archive_describe, used by `comp info`). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive_impl.h"

enum { MAX_VALUES = 64 }; /* attributes / datasets with at most this many numbers get their values listed */

/* The value of attribute `name` of obj as JSON: string, number, short numeric list, or a type note. */
static cJSON *attr_json(hid_t obj, const char *where, const char *name)
{
  hid_t       at = H5Aopen(obj, name, H5P_DEFAULT);
  hid_t       ft = at >= 0 ? H5Aget_type(at) : -1, sp = at >= 0 ? H5Aget_space(at) : -1;
  H5T_class_t c = ft >= 0 ? H5Tget_class(ft) : H5T_NO_CLASS;
  hssize_t    n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
  cJSON      *v = NULL;
  if (c == H5T_STRING && n == 1) {
    char *s = NULL;
    if (arc_attr_get_str(obj, where, name, &s) == COMP_OK) v = cJSON_CreateString(s);
    free(s);
  } else if ((c == H5T_INTEGER || c == H5T_FLOAT) && n >= 1 && n <= MAX_VALUES) {
    double buf[MAX_VALUES];
    if (H5Aread(at, H5T_NATIVE_DOUBLE, buf) >= 0) {
      int is_scalar = H5Sget_simple_extent_ndims(sp) == 0;
      v             = is_scalar ? cJSON_CreateNumber(buf[0]) : cJSON_CreateDoubleArray(buf, (int)n);
    }
  }
  if (!v) {
    char note[64];
    snprintf(note, sizeof note, "<%s, %lld values>",
             c == H5T_STRING    ? "string"
             : c == H5T_INTEGER ? "int"
             : c == H5T_FLOAT   ? "float"
                                : "other",
             (long long)n);
    v = cJSON_CreateString(note);
  }
  comp_error_clear(); /* a description never fails on one odd attribute */
  if (sp >= 0) H5Sclose(sp);
  if (ft >= 0) H5Tclose(ft);
  if (at >= 0) H5Aclose(at);
  return v;
}

typedef struct attr_walk {
  const char *where;
  cJSON      *obj;
} attr_walk;

static herr_t attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *ctx)
{
  attr_walk *w = ctx;
  cJSON_AddItemToObject(w->obj, name, attr_json(loc, w->where, name));
  return 0;
}

/* {attr: value} of object h, or NULL if it has none. */
cJSON *arc_attrs_json(hid_t h, const char *where)
{
  attr_walk w = {where, cJSON_CreateObject()};
  H5Aiterate2(h, H5_INDEX_NAME, H5_ITER_INC, NULL, attr_cb, &w);
  if (!w.obj->child) {
    cJSON_Delete(w.obj);
    return NULL;
  }
  return w.obj;
}

static cJSON *dataset_json(hid_t d)
{
  cJSON      *j  = cJSON_CreateObject();
  hid_t       sp = H5Dget_space(d), ft = H5Dget_type(d);
  int         nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
  hsize_t     dims[H5S_MAX_RANK];
  H5T_class_t c  = ft >= 0 ? H5Tget_class(ft) : H5T_NO_CLASS;
  size_t      sz = ft >= 0 ? H5Tget_size(ft) : 0;
  if (nd >= 0) H5Sget_simple_extent_dims(sp, dims, NULL);
  cJSON *shape = cJSON_AddArrayToObject(j, "shape");
  for (int i = 0; i < nd; i++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)dims[i]));
  char dt[16];
  snprintf(dt, sizeof dt, "%s%zu", c == H5T_FLOAT ? "f" : c == H5T_INTEGER ? "i" : "other", sz * 8);
  cJSON_AddStringToObject(j, "dtype", dt);
  hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
  double   buf[MAX_VALUES];
  if ((c == H5T_FLOAT || c == H5T_INTEGER) && n >= 0 && n <= MAX_VALUES &&
      (n == 0 || H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0))
    cJSON_AddItemToObject(j, "value", nd == 0 ? cJSON_CreateNumber(buf[0]) : cJSON_CreateDoubleArray(buf, (int)n));
  if (ft >= 0) H5Tclose(ft);
  if (sp >= 0) H5Sclose(sp);
  return j;
}

/* Everything under group g (path `path`): out[path] = {"attrs": {...}} / {"shape", "dtype", "value", "attrs"}. */
static void walk_group(hid_t g, const char *file, const char *path, cJSON *out, int depth)
{
  char where[4400];
  snprintf(where, sizeof where, "%s:%s", file, path);
  cJSON *ga = arc_attrs_json(g, where);
  if (ga) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddItemToObject(e, "attrs", ga);
    cJSON_AddItemToObject(out, path, e);
  }
  H5G_info_t gi;
  if (depth > 32 || H5Gget_info(g, &gi) < 0) return;
  for (hsize_t i = 0; i < gi.nlinks; i++) {
    char name[256], child[1200];
    if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT) < 0) continue;
    snprintf(child, sizeof child, "%s/%s", path, name);
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    if (o < 0) continue;
    if (H5Iget_type(o) == H5I_GROUP) {
      walk_group(o, file, child, out, depth + 1);
    } else if (H5Iget_type(o) == H5I_DATASET) {
      cJSON *d = dataset_json(o);
      snprintf(where, sizeof where, "%s:%s", file, child);
      cJSON *da = arc_attrs_json(o, where);
      if (da) cJSON_AddItemToObject(d, "attrs", da);
      cJSON_AddItemToObject(out, child, d);
    }
    H5Oclose(o);
  }
}

comp_status comp_archive_describe(const char *path, struct cJSON **out)
{
  *out = NULL;
  arc_reader *r;
  COMP_CALL(arc_reader_open(path, true, &r));
  const comp_arch_desc *ad = comp_arch_get(r->hp.arch);
  const int64_t         V = r->hp.n_vocab, D = r->hp.n_embd;
  cJSON                *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "path", path);
  cJSON_AddStringToObject(j, "format", COMP_ARCHIVE_FORMAT);
  cJSON_AddNumberToObject(j, "format_version", (double)r->format_version);
  cJSON_AddBoolToObject(j, "complete", r->complete == 1);
  cJSON_AddStringToObject(j, "comp_version", r->comp_version);
  cJSON_AddStringToObject(j, "git_commit", r->git_commit);
  cJSON *src = cJSON_AddObjectToObject(j, "source");
  cJSON_AddStringToObject(src, "arch", r->source_arch);
  cJSON_AddStringToObject(src, "model_path", r->source_path);
  cJSON_AddStringToObject(src, "model_sha256", r->model_sha256);
  cJSON_AddNumberToObject(src, "n_layer_orig", (double)r->n_layer_orig);

  /* layers kept and removed */
  cJSON_AddNumberToObject(j, "n_layer_kept", r->n);
  cJSON *kept = cJSON_AddArrayToObject(j, "kept_layers"), *removed = cJSON_AddArrayToObject(j, "removed_layers");
  for (int l = 0, i = 0; l < r->n_layer_orig; l++) {
    bool k = i < r->n && r->layers[i].orig == l;
    cJSON_AddItemToArray(k ? kept : removed, cJSON_CreateNumber(l));
    i += k;
  }

  /* parameters: model-wide + layers, as in the source (dense) and as stored */
  hid_t   mg   = H5Gopen2(r->file, "model", H5P_DEFAULT);
  int64_t wide = V * D + D;
  if (mg >= 0) { /* and /model's attributes: the hyper-parameters the archive is read with */
    char   where[4200];
    cJSON *ma = (snprintf(where, sizeof where, "%s:/model", path), arc_attrs_json(mg, where));
    cJSON_AddItemToObject(j, "model", ma ? ma : cJSON_CreateObject());
    if (H5Lexists(mg, "pos_embd", H5P_DEFAULT) > 0) wide += (r->hp.n_ctx + ad->pos_offset) * D;
    if (H5Lexists(mg, "lm_head", H5P_DEFAULT) > 0) wide += V * D;
    for (int v = COMP_WIDE_OUT_NORM_B; v < COMP_WIDE_VEC_COUNT; v++) /* out_norm_w is in V * D + D */
      wide += H5Lexists(mg, arc_wide_names[v], H5P_DEFAULT) > 0 ? comp_wide_vec_len(&r->hp, (comp_wide_vec)v) : 0;
    H5Gclose(mg);
  }
  int64_t stored = wide, full_layer = 0;
  if (r->n > 0) {
    full_layer = arc_layer_n_full(r, 0);
  } else { /* no layer kept: the required tensors of one layer */
    full_layer = 2 * D;
    for (int d = 0; d < COMP_DENSE_COUNT; d++) {
      comp_role wr = comp_dense_weight_role((comp_dense_id)d);
      int64_t   o, i;
      comp_dense_shape(&r->hp, (comp_dense_id)d, &o, &i);
      if (ad->tensor[wr] && ad->need[wr] == COMP_NEED_REQUIRED) full_layer += o * i;
    }
  }
  cJSON *layers = cJSON_AddArrayToObject(j, "layers");
  for (int l = 0; l < r->n; l++) {
    const arc_layer_info *li = &r->layers[l];
    cJSON                *e  = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "index", l);
    cJSON_AddNumberToObject(e, "orig_index", li->orig);
    if (r->hp.sliding_window > 0) cJSON_AddNumberToObject(e, "window", (double)li->window);      /* 0: all keys */
    if (comp_arch_get(r->hp.arch)->cfg.rope_layers) cJSON_AddBoolToObject(e, "rope", !li->nope); /* SmolLM3 */
    cJSON_AddNumberToObject(e, "params_stored", (double)arc_layer_n_stored(r, l));
    cJSON_AddNumberToObject(e, "params_full", (double)arc_layer_n_full(r, l));
    cJSON *k = cJSON_AddObjectToObject(e, "kept"), *f = cJSON_AddObjectToObject(e, "d_in_full");
    for (int d = 0; d < COMP_DENSE_COUNT; d++)
      if (li->dense[d].present) {
        cJSON_AddNumberToObject(k, comp_dense_name((comp_dense_id)d), (double)li->dense[d].k);
        cJSON_AddNumberToObject(f, comp_dense_name((comp_dense_id)d), (double)li->dense[d].d_in_full);
      }
    cJSON_AddItemToArray(layers, e);
    stored += arc_layer_n_stored(r, l);
  }
  cJSON *pa = cJSON_AddObjectToObject(j, "params");
  cJSON_AddNumberToObject(pa, "model_wide", (double)wide);
  cJSON_AddNumberToObject(pa, "dense", (double)(wide + r->n_layer_orig * full_layer));
  cJSON_AddNumberToObject(pa, "stored", (double)stored);
  cJSON_AddStringToObject(pa, "note", "dense: the source model, every removed layer counted like kept layer 0");

  /* /prune: whatever the driver wrote */
  cJSON *pr = cJSON_AddObjectToObject(j, "prune");
  if (H5Lexists(r->file, "prune", H5P_DEFAULT) > 0) {
    hid_t pg = H5Gopen2(r->file, "prune", H5P_DEFAULT);
    if (pg >= 0) {
      walk_group(pg, path, "/prune", pr, 0);
      H5Gclose(pg);
    }
  }
  arc_reader_close(&r);
  *out = j;
  return COMP_OK;
}
