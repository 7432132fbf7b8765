/* archive.c - HDF5 helpers shared by the archive modules, and the archive reader behind
 * comp_model_load() (see comp/archive.h for the layout). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive_impl.h"

/* ---- HDF5 helpers ----------------------------------------------------------------------------- */

void arc_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static herr_t detail_walk(unsigned n, const H5E_error2_t *e, void *ctx)
{
  if (e->desc && e->desc[0]) snprintf((char *)ctx, 512, "%s", e->desc); /* downward: last = innermost */
  return 0;
}

const char *arc_h5_detail(void)
{
  static char buf[512];
  buf[0] = '\0';
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, detail_walk, buf);
  return buf[0] ? buf : "HDF5 call failed";
}

/* Create (replacing) attribute `name` of type ftype, scalar (n 0) or a list of n, and write mem
 * (memory type mtype). */
static comp_status attr_put_n(hid_t obj, const char *where, const char *name, hid_t ftype, hid_t mtype, hsize_t n,
                              const void *mem)
{
  comp_status s  = COMP_OK;
  hid_t       sp = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR), at = -1;
  if (sp < 0 || (H5Aexists(obj, name) > 0 && H5Adelete(obj, name) < 0) ||
      (at = H5Acreate2(obj, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT)) < 0 || H5Awrite(at, mtype, mem) < 0)
    s = comp_error_set(COMP_ERR_IO, "%s: cannot write attribute %s: %s", where, name, arc_h5_detail());
  if (at >= 0) H5Aclose(at);
  if (sp >= 0) H5Sclose(sp);
  return s;
}

static comp_status attr_put(hid_t obj, const char *where, const char *name, hid_t ftype, hid_t mtype, const void *mem)
{
  return attr_put_n(obj, where, name, ftype, mtype, 0, mem);
}

static hid_t vlen_str_type(void)
{
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
    H5Tclose(t);
    t = -1;
  }
  return t;
}

comp_status arc_attr_put_str(hid_t obj, const char *where, const char *name, const char *value)
{
  hid_t t = vlen_str_type();
  COMP_CHECK(t >= 0, COMP_ERR_IO, "%s: cannot make a string type: %s", where, arc_h5_detail());
  const char *v = value ? value : "";
  comp_status s = attr_put(obj, where, name, t, t, &v);
  H5Tclose(t);
  return s;
}

comp_status arc_attr_put_i64(hid_t obj, const char *where, const char *name, int64_t value)
{
  return attr_put(obj, where, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

comp_status arc_attr_put_f64(hid_t obj, const char *where, const char *name, double value)
{
  return attr_put(obj, where, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

comp_status arc_attr_put_f64s(hid_t obj, const char *where, const char *name, int64_t n, const double *values)
{
  COMP_CHECK(n > 0, COMP_ERR_INTERNAL, "%s: attribute %s: an empty list", where, name);
  return attr_put_n(obj, where, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, (hsize_t)n, values);
}

/* Open attribute `name` of class cls holding n elements; *at and *ft to close by the caller. */
static comp_status attr_open_n(hid_t obj, const char *where, const char *name, H5T_class_t cls, hssize_t want,
                               hid_t *at, hid_t *ft)
{
  *at = *ft = -1;
  COMP_CHECK(H5Aexists(obj, name) > 0, COMP_ERR_FORMAT, "%s: missing attribute %s", where, name);
  *at         = H5Aopen(obj, name, H5P_DEFAULT);
  *ft         = *at >= 0 ? H5Aget_type(*at) : -1;
  hid_t    sp = *at >= 0 ? H5Aget_space(*at) : -1;
  hssize_t n  = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
  if (sp >= 0) H5Sclose(sp);
  H5T_class_t c  = *ft >= 0 ? H5Tget_class(*ft) : H5T_NO_CLASS;
  bool        ok = c == cls || (cls == H5T_INTEGER && c == H5T_FLOAT) || (cls == H5T_FLOAT && c == H5T_INTEGER);
  if (*ft < 0 || n != want || !ok) {
    if (*ft >= 0) H5Tclose(*ft);
    if (*at >= 0) H5Aclose(*at);
    *at = *ft = -1;
    if (want == 1)
      return comp_error_set(COMP_ERR_FORMAT, "%s: attribute %s is not a single %s", where, name,
                            cls == H5T_STRING ? "string" : "number");
    return comp_error_set(COMP_ERR_FORMAT, "%s: attribute %s is not a list of %lld numbers", where, name,
                          (long long)want);
  }
  return COMP_OK;
}

/* Open scalar (one-element) attribute `name` of class cls; *at and *ft to close by the caller. */
static comp_status attr_open(hid_t obj, const char *where, const char *name, H5T_class_t cls, hid_t *at, hid_t *ft)
{
  return attr_open_n(obj, where, name, cls, 1, at, ft);
}

comp_status arc_attr_get_str(hid_t obj, const char *where, const char *name, char **value)
{
  hid_t at, ft, mt = -1;
  *value = NULL;
  COMP_CALL(attr_open(obj, where, name, H5T_STRING, &at, &ft));
  comp_status s = COMP_OK;
  if (H5Tis_variable_str(ft) > 0) {
    char *p = NULL;
    mt      = H5Tcopy(ft); /* same cset, variable length, native layout */
    if (mt < 0 || H5Aread(at, mt, &p) < 0)
      s = comp_error_set(COMP_ERR_IO, "%s: cannot read attribute %s: %s", where, name, arc_h5_detail());
    else if (!(*value = strdup(p ? p : "")))
      s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
    if (p) H5free_memory(p);
  } else {
    size_t n = H5Tget_size(ft);
    *value   = calloc(n + 1, 1); /* fixed length: one more byte keeps it NUL-terminated */
    mt       = H5Tcopy(ft);
    if (!*value)
      s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
    else if (mt < 0 || H5Aread(at, mt, *value) < 0)
      s = comp_error_set(COMP_ERR_IO, "%s: cannot read attribute %s: %s", where, name, arc_h5_detail());
  }
  if (mt >= 0) H5Tclose(mt);
  H5Tclose(ft);
  H5Aclose(at);
  if (s) {
    free(*value);
    *value = NULL;
  }
  return s;
}

static comp_status attr_get_nums(hid_t obj, const char *where, const char *name, H5T_class_t cls, hid_t mtype,
                                 hssize_t n, void *v)
{
  hid_t at, ft;
  COMP_CALL(attr_open_n(obj, where, name, cls, n, &at, &ft));
  comp_status s = H5Aread(at, mtype, v) < 0 ? comp_error_set(COMP_ERR_FORMAT, "%s: cannot read attribute %s: %s", where,
                                                             name, arc_h5_detail())
                                            : COMP_OK;
  H5Tclose(ft);
  H5Aclose(at);
  return s;
}

comp_status arc_attr_get_i64(hid_t obj, const char *where, const char *name, int64_t *value)
{
  return attr_get_nums(obj, where, name, H5T_INTEGER, H5T_NATIVE_INT64, 1, value);
}

comp_status arc_attr_get_f64(hid_t obj, const char *where, const char *name, double *value)
{
  return attr_get_nums(obj, where, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, 1, value);
}

comp_status arc_attr_get_f64s(hid_t obj, const char *where, const char *name, int64_t n, double *values)
{
  return attr_get_nums(obj, where, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, (hssize_t)n, values);
}

comp_status arc_dset_shape(hid_t loc, const char *where, const char *name, int *ndim, int64_t dims[8])
{
  *ndim = -1;
  if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return COMP_OK;
  hid_t   d = H5Dopen2(loc, name, H5P_DEFAULT), sp = d >= 0 ? H5Dget_space(d) : -1;
  int     nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
  hsize_t h[H5S_MAX_RANK];
  if (nd >= 0 && nd <= 8 && H5Sget_simple_extent_dims(sp, h, NULL) >= 0) {
    *ndim = nd;
    for (int i = 0; i < nd; i++) dims[i] = (int64_t)h[i];
  }
  if (sp >= 0) H5Sclose(sp);
  if (d >= 0) H5Dclose(d);
  COMP_CHECK(*ndim >= 0, COMP_ERR_FORMAT, "%s/%s: not a readable dataset of at most 8 dimensions", where, name);
  return COMP_OK;
}

static comp_status read_dset(hid_t loc, const char *where, const char *name, int64_t numel, H5T_class_t cls,
                             hid_t mtype, void *dst)
{
  hid_t       d  = H5Dopen2(loc, name, H5P_DEFAULT);
  hid_t       sp = d >= 0 ? H5Dget_space(d) : -1, ft = d >= 0 ? H5Dget_type(d) : -1;
  hssize_t    n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
  comp_status s = COMP_OK;
  if (d < 0)
    s = comp_error_set(COMP_ERR_FORMAT, "%s: missing dataset %s", where, name);
  else if (ft < 0 || H5Tget_class(ft) != cls)
    s = comp_error_set(COMP_ERR_FORMAT, "%s/%s: expected %s data", where, name,
                       cls == H5T_FLOAT ? "floating-point" : "integer");
  else if (n != numel)
    s = comp_error_set(COMP_ERR_FORMAT, "%s/%s: has %lld elements, expected %lld", where, name, (long long)n,
                       (long long)numel);
  else if (numel > 0 && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0)
    s = comp_error_set(COMP_ERR_IO, "%s/%s: read failed: %s", where, name, arc_h5_detail());
  if (ft >= 0) H5Tclose(ft);
  if (sp >= 0) H5Sclose(sp);
  if (d >= 0) H5Dclose(d);
  return s;
}

comp_status arc_read_f32(hid_t loc, const char *where, const char *name, int64_t numel, float *dst)
{
  return read_dset(loc, where, name, numel, H5T_FLOAT, H5T_NATIVE_FLOAT, dst);
}

comp_status arc_read_i32(hid_t loc, const char *where, const char *name, int64_t numel, int32_t *dst)
{
  return read_dset(loc, where, name, numel, H5T_INTEGER, H5T_NATIVE_INT32, dst);
}

double arc_float_clean(float f)
{
  char buf[32];
  for (int p = 6; p < 9; p++) {
    snprintf(buf, sizeof buf, "%.*g", p, (double)f);
    if ((float)strtod(buf, NULL) == f) return strtod(buf, NULL);
  }
  return (double)f;
}

const char *arc_rope_name(comp_rope_kind r)
{
  return r == COMP_ROPE_NONE ? "none" : r == COMP_ROPE_HALF ? "half" : "interleaved";
}

int arc_rope_from_name(const char *s)
{
  if (strcmp(s, "none") == 0) return COMP_ROPE_NONE;
  if (strcmp(s, "half") == 0) return COMP_ROPE_HALF;
  if (strcmp(s, "interleaved") == 0) return COMP_ROPE_INTERLEAVED;
  return -1;
}

comp_arch arc_arch_from_name(const char *name)
{
  for (int a = 0; a < COMP_ARCH_COUNT; a++)
    if (strcmp(comp_arch_get((comp_arch)a)->name, name) == 0) return (comp_arch)a;
  return COMP_ARCH_COUNT;
}

bool comp_archive_is_hdf5(const char *path)
{
  static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  unsigned char              buf[8];
  FILE                      *f = fopen(path, "rb");
  size_t                     n = f ? fread(buf, 1, 8, f) : 0;
  if (f) fclose(f);
  return n == 8 && memcmp(buf, sig, 8) == 0;
}

void comp_archive_file_kind(const char *path, char *fmt, size_t cap, int64_t *complete)
{
  if (cap) fmt[0] = '\0';
  *complete = 0;
  if (!comp_archive_is_hdf5(path)) return;
  arc_h5_quiet();
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return;
  char *v = NULL;
  if (H5Aexists(f, "format") > 0) {
    if (arc_attr_get_str(f, path, "format", &v) == COMP_OK && cap)
      snprintf(fmt, cap, "%s", v);
    else
      comp_error_clear(); /* a probe: an odd attribute is an answer, not an error */
  }
  free(v);
  if (H5Aexists(f, "complete") > 0 && arc_attr_get_i64(f, path, "complete", complete) != COMP_OK) {
    *complete = 0;
    comp_error_clear();
  }
  H5Fclose(f);
}

/* ---- the reader ------------------------------------------------------------------------------- */

const char *const arc_vec_names[COMP_VEC_COUNT] = {[COMP_VEC_ATTN_NORM]      = "attn_norm_w",
                                                   [COMP_VEC_ATTN_NORM_B]    = "attn_norm_b",
                                                   [COMP_VEC_FFN_NORM]       = "ffn_norm_w",
                                                   [COMP_VEC_FFN_NORM_B]     = "ffn_norm_b",
                                                   [COMP_VEC_Q_NORM]         = "q_norm_w",
                                                   [COMP_VEC_K_NORM]         = "k_norm_w",
                                                   [COMP_VEC_ATTN_POST_NORM] = "attn_post_norm_w",
                                                   [COMP_VEC_FFN_POST_NORM]  = "ffn_post_norm_w"};

const char *const arc_wide_names[COMP_WIDE_VEC_COUNT] = {[COMP_WIDE_OUT_NORM]    = "out_norm_w",
                                                         [COMP_WIDE_OUT_NORM_B]  = "out_norm_b",
                                                         [COMP_WIDE_LM_HEAD_B]   = "lm_head_b",
                                                         [COMP_WIDE_EMBD_NORM]   = "embd_norm_w",
                                                         [COMP_WIDE_EMBD_NORM_B] = "embd_norm_b"};

static bool role_expected(const comp_arch_desc *ad, comp_role r)
{
  return ad->tensor[r] && ad->need[r] != COMP_NEED_ABSENT;
}

static bool role_required(const comp_arch_desc *ad, comp_role r)
{
  return ad->tensor[r] && ad->need[r] == COMP_NEED_REQUIRED;
}

/* A (D)-vector or a (rows, cols) matrix dataset: *present tells whether it exists; wrong shape and a
 * missing required one are errors. cols < 0: one-dimensional. */
static comp_status check_shape(hid_t loc, const char *where, const char *name, bool required, int64_t rows,
                               int64_t cols, bool *present)
{
  int     nd;
  int64_t dims[8];
  COMP_CALL(arc_dset_shape(loc, where, name, &nd, dims));
  if (present) *present = nd >= 0;
  COMP_CHECK(nd >= 0 || !required, COMP_ERR_FORMAT, "%s: missing dataset %s", where, name);
  if (nd < 0) return COMP_OK;
  bool ok = cols < 0 ? nd == 1 && dims[0] == rows : nd == 2 && dims[0] == rows && dims[1] == cols;
  if (!ok) {
    char got[128] = "";
    for (int i = 0; i < nd; i++)
      snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? "," : "", (long long)dims[i]);
    if (cols < 0)
      return comp_error_set(COMP_ERR_FORMAT, "%s/%s: shape [%s], expected [%lld]", where, name, got, (long long)rows);
    return comp_error_set(COMP_ERR_FORMAT, "%s/%s: shape [%s], expected [%lld,%lld]", where, name, got, (long long)rows,
                          (long long)cols);
  }
  return COMP_OK;
}

/* rs from the rope_scaling attributes of /model (absent: none, as in archives before them). */
static comp_status read_rope_scaling(hid_t g, const char *where, comp_rope_kind rope, int64_t rope_dim,
                                     comp_rope_scaling *rs)
{
  *rs = (comp_rope_scaling){.kind = COMP_ROPE_SCALING_NONE};
  if (H5Aexists(g, "rope_scaling") <= 0) return COMP_OK;
  char *name = NULL;
  COMP_CALL(arc_attr_get_str(g, where, "rope_scaling", &name));
  const int   kind = comp_rope_scaling_from_name(name);
  comp_status s =
      kind > 0
          ? COMP_OK
          : comp_error_set(COMP_ERR_FORMAT,
                           "%s: attribute rope_scaling = \"%s\" must be linear, llama3, longrope or yarn", where, name);
  free(name);
  if (s) return s;
  COMP_CHECK(rope != COMP_ROPE_NONE, COMP_ERR_FORMAT, "%s: attribute rope_scaling without RoPE (rope = none)", where);
  rs->kind = (comp_rope_scaling_kind)kind;
  COMP_CALL(arc_attr_get_f64(g, where, "rope_scaling_factor", &rs->factor));
  if (rs->kind == COMP_ROPE_SCALING_LLAMA3) {
    COMP_CALL(arc_attr_get_f64(g, where, "rope_scaling_low_freq_factor", &rs->low_freq_factor));
    COMP_CALL(arc_attr_get_f64(g, where, "rope_scaling_high_freq_factor", &rs->high_freq_factor));
  }
  if (rs->kind != COMP_ROPE_SCALING_LINEAR)
    COMP_CALL(arc_attr_get_i64(g, where, "rope_scaling_original_max_position_embeddings", &rs->original_ctx));
  if (rs->kind == COMP_ROPE_SCALING_YARN || rs->kind == COMP_ROPE_SCALING_LONGROPE) /* resolved */
    COMP_CALL(arc_attr_get_f64(g, where, "rope_scaling_attention_factor", &rs->attention_factor));
  if (rs->kind == COMP_ROPE_SCALING_YARN) {
    int64_t truncate = 0;
    COMP_CALL(arc_attr_get_f64(g, where, "rope_scaling_beta_fast", &rs->beta_fast));
    COMP_CALL(arc_attr_get_f64(g, where, "rope_scaling_beta_slow", &rs->beta_slow));
    COMP_CALL(arc_attr_get_i64(g, where, "rope_scaling_truncate", &truncate));
    COMP_CHECK(truncate == 0 || truncate == 1, COMP_ERR_FORMAT,
               "%s: attribute rope_scaling_truncate = %lld must be 0 or 1", where, (long long)truncate);
    rs->truncate = truncate;
  }
  if (rs->kind == COMP_ROPE_SCALING_LONGROPE) { /* a factor per rotated pair */
    rs->n_pairs = rope_dim / 2;
    COMP_CHECK(rs->n_pairs >= 1 && rs->n_pairs <= COMP_ROPE_MAX_PAIRS, COMP_ERR_FORMAT,
               "%s: rope_scaling longrope on %lld rotated dims (at most %d)", where, (long long)rope_dim,
               2 * COMP_ROPE_MAX_PAIRS);
    COMP_CALL(arc_attr_get_f64s(g, where, "rope_scaling_short_factor", rs->n_pairs, rs->short_factor));
    COMP_CALL(arc_attr_get_f64s(g, where, "rope_scaling_long_factor", rs->n_pairs, rs->long_factor));
  }
  return comp_rope_scaling_check(rs, where);
}

static comp_status read_hparams(arc_reader *r, hid_t g, const char *where, comp_arch arch)
{
  comp_hparams            *hp = &r->hp;
  int64_t                  v[10];
  double                   eps, theta;
  char                    *rope     = NULL;
  static const char *const keys[10] = {"n_vocab", "n_embd", "n_head", "n_head_kv", "head_dim",
                                       "n_ff",    "n_ctx",  "tied",   "bos",       "eos"};
  for (int i = 0; i < 10; i++) COMP_CALL(arc_attr_get_i64(g, where, keys[i], &v[i]));
  COMP_CALL(arc_attr_get_f64(g, where, "norm_eps", &eps));
  COMP_CALL(arc_attr_get_f64(g, where, "rope_theta", &theta));
  COMP_CALL(arc_attr_get_str(g, where, "rope", &rope));
  int rk = arc_rope_from_name(rope);
  free(rope);
  COMP_CHECK(rk >= 0, COMP_ERR_FORMAT, "%s: attribute rope must be none, half or interleaved", where);
  *hp = (comp_hparams){.arch       = arch,
                       .n_vocab    = v[0],
                       .n_embd     = v[1],
                       .n_head     = v[2],
                       .n_head_kv  = v[3],
                       .head_dim   = v[4],
                       .n_ff       = v[5],
                       .n_ctx      = v[6],
                       .tied       = v[7] != 0,
                       .bos        = (int)v[8],
                       .eos        = (int)v[9],
                       .norm_eps   = (float)eps,
                       .rope_theta = (float)theta,
                       .rope       = (comp_rope_kind)rk};
  for (int i = 0; i < 7; i++)
    COMP_CHECK(v[i] > 0 && v[i] < (int64_t)1 << 31, COMP_ERR_FORMAT, "%s: attribute %s = %lld is out of range", where,
               keys[i], (long long)v[i]);
  COMP_CHECK(hp->n_head % hp->n_head_kv == 0, COMP_ERR_FORMAT, "%s: n_head %lld is not a multiple of n_head_kv %lld",
             where, (long long)hp->n_head, (long long)hp->n_head_kv);
  COMP_CHECK(hp->rope == COMP_ROPE_NONE || hp->head_dim % 2 == 0, COMP_ERR_FORMAT, "%s: head_dim must be even for RoPE",
             where);
  COMP_CHECK(eps > 0 && (theta > 0 || hp->rope == COMP_ROPE_NONE), COMP_ERR_FORMAT,
             "%s: norm_eps and rope_theta must be positive", where);
  hp->rope_dim = hp->rope == COMP_ROPE_NONE ? 0 : hp->head_dim; /* archives before rope_dim: whole heads */
  hp->parallel = comp_arch_get(arch)->parallel;                 /* the attribute where a config may say */
  if (H5Aexists(g, "parallel") > 0) {
    int64_t par;
    COMP_CALL(arc_attr_get_i64(g, where, "parallel", &par));
    hp->parallel = par != 0;
  }
  if (hp->rope != COMP_ROPE_NONE && H5Aexists(g, "rope_dim") > 0) {
    COMP_CALL(arc_attr_get_i64(g, where, "rope_dim", &hp->rope_dim));
    COMP_CHECK(hp->rope_dim >= 2 && hp->rope_dim % 2 == 0 && hp->rope_dim <= hp->head_dim, COMP_ERR_FORMAT,
               "%s: attribute rope_dim = %lld must be even and within 2..head_dim", where, (long long)hp->rope_dim);
  }
  if (H5Aexists(g, "sliding_window") > 0) { /* absent: full attention, as in archives before it */
    COMP_CALL(arc_attr_get_i64(g, where, "sliding_window", &hp->sliding_window));
    COMP_CHECK(hp->sliding_window > 0, COMP_ERR_FORMAT, "%s: attribute sliding_window = %lld must be positive", where,
               (long long)hp->sliding_window);
  }
  /* Gemma-2's soft-caps and query scale, Gemma-3's local RoPE base, Cohere's logit scale, Granite's multipliers
   * and logit divisor (absent: none, as in archives before them) */
  const char *const fk[] = {"attn_softcap", "final_softcap", "attn_scalar", "rope_theta_local", "logit_scale",
                            "embd_mult",    "residual_mult", "attn_mult",   "logit_div"};
  float *const fv[] = {&hp->attn_softcap, &hp->final_softcap, &hp->attn_scalar, &hp->rope_theta_local, &hp->logit_scale,
                       &hp->embd_mult,    &hp->residual_mult, &hp->attn_mult,   &hp->logit_div};
  _Static_assert(sizeof fk / sizeof fk[0] == sizeof fv / sizeof fv[0], "a pointer per attribute");
  for (size_t i = 0; i < sizeof fk / sizeof fk[0]; i++) {
    double x = 0;
    if (H5Aexists(g, fk[i]) <= 0) continue;
    COMP_CALL(arc_attr_get_f64(g, where, fk[i], &x));
    COMP_CHECK(x > 0 && x < 1e30, COMP_ERR_FORMAT, "%s: attribute %s = %g must be positive", where, fk[i], x);
    *fv[i] = (float)x;
  }
  if (H5Aexists(g, "local_window") > 0) { /* Gemma-2 archives before per-layer windows: the even source layers' */
    COMP_CALL(arc_attr_get_i64(g, where, "local_window", &r->parity_window));
    COMP_CHECK(r->parity_window > 0 && hp->sliding_window == 0, COMP_ERR_FORMAT,
               "%s: attribute local_window = %lld must be positive, and only without sliding_window", where,
               (long long)r->parity_window);
    hp->sliding_window = r->parity_window;
  }
  return read_rope_scaling(g, where, hp->rope, hp->rope_dim, &hp->rope_scaling);
}

/* Validate kept layer i (group g) and fill r->layers[i]. */
static comp_status read_layer_info(arc_reader *r, hid_t g, const char *where, int i)
{
  const comp_arch_desc *ad = comp_arch_get(r->hp.arch);
  arc_layer_info       *li = &r->layers[i];
  int64_t               orig;
  COMP_CALL(arc_attr_get_i64(g, where, "orig_index", &orig));
  COMP_CHECK(orig >= 0 && orig < r->n_layer_orig && (i == 0 || orig > r->layers[i - 1].orig), COMP_ERR_FORMAT,
             "%s: orig_index %lld is not ascending within 0..%lld", where, (long long)orig,
             (long long)r->n_layer_orig - 1);
  li->orig = (int)orig;
  /* the layer's attention window: its own attribute, else the even source layers' (older Gemma-2
   * archives), else the model's */
  li->window = r->parity_window > 0 ? (orig % 2 == 0 ? r->parity_window : 0) : r->hp.sliding_window;
  if (H5Aexists(g, "window") > 0) {
    COMP_CALL(arc_attr_get_i64(g, where, "window", &li->window));
    COMP_CHECK(li->window >= 0, COMP_ERR_FORMAT, "%s: attribute window = %lld must not be negative", where,
               (long long)li->window);
  }
  li->nope = false; /* SmolLM3: rope 0 for a NoPE layer (absent: RoPE) */
  if (H5Aexists(g, "rope") > 0) {
    int64_t rope;
    COMP_CALL(arc_attr_get_i64(g, where, "rope", &rope));
    COMP_CHECK(rope == 0 || rope == 1, COMP_ERR_FORMAT, "%s: attribute rope = %lld must be 0 or 1", where,
               (long long)rope);
    li->nope = rope == 0;
  }
  for (int v = 0; v < COMP_VEC_COUNT; v++) {
    comp_role vr = comp_layer_vec_role((comp_layer_vec)v);
    COMP_CALL(check_shape(g, where, arc_vec_names[v],
                          role_required(ad, vr) || comp_arch_needs_ffn_norm(ad, vr, r->hp.parallel),
                          comp_layer_vec_len(&r->hp, (comp_layer_vec)v), -1, &li->has_vec[v]));
    COMP_CHECK(!li->has_vec[v] || role_expected(ad, vr), COMP_ERR_FORMAT,
               "%s: unexpected dataset %s for architecture %s", where, arc_vec_names[v], ad->name);
  }
  for (int d = 0; d < COMP_DENSE_COUNT; d++) {
    arc_dense_info *di   = &li->dense[d];
    const char     *name = comp_dense_name((comp_dense_id)d);
    comp_role       wr = comp_dense_weight_role((comp_dense_id)d), br = comp_dense_bias_role((comp_dense_id)d);
    char            dw[4400];
    snprintf(dw, sizeof dw, "%s/%s", where, name);
    di->present = H5Lexists(g, name, H5P_DEFAULT) > 0;
    COMP_CHECK(di->present == role_expected(ad, wr), COMP_ERR_FORMAT, "%s: %s for architecture %s", dw,
               di->present ? "unexpected dense" : "missing dense", ad->name);
    if (!di->present) continue;
    comp_dense_shape(&r->hp, (comp_dense_id)d, &di->d_out, &di->d_in_full);
    hid_t dg = H5Gopen2(g, name, H5P_DEFAULT);
    COMP_CHECK(dg >= 0, COMP_ERR_FORMAT, "%s: not a group", dw);
    int64_t     a_out = -1, a_in = -1, dims[8];
    int         nd;
    comp_status s = arc_attr_get_i64(dg, dw, "d_out", &a_out);
    if (!s) s = arc_attr_get_i64(dg, dw, "d_in_full", &a_in);
    if (!s && (a_out != di->d_out || a_in != di->d_in_full))
      s = comp_error_set(COMP_ERR_FORMAT, "%s: d_out %lld, d_in_full %lld but the hyper-parameters imply %lld, %lld",
                         dw, (long long)a_out, (long long)a_in, (long long)di->d_out, (long long)di->d_in_full);
    if (!s) s = arc_dset_shape(dg, dw, "w", &nd, dims);
    if (!s && (nd != 2 || dims[0] != di->d_out || dims[1] < 1 || dims[1] > di->d_in_full))
      s = comp_error_set(COMP_ERR_FORMAT, "%s/w: expected shape [%lld, k] with 1 <= k <= %lld", dw,
                         (long long)di->d_out, (long long)di->d_in_full);
    if (!s) di->k = dims[1];
    if (!s) s = check_shape(dg, dw, "in_idx", true, di->k, -1, NULL);
    if (!s) s = check_shape(dg, dw, "b", role_required(ad, br), di->d_out, -1, &di->has_b);
    if (!s && di->has_b && !role_expected(ad, br))
      s = comp_error_set(COMP_ERR_FORMAT, "%s: unexpected bias for architecture %s", dw, ad->name);
    H5Gclose(dg);
    if (s) return s;
  }
  return COMP_OK;
}

/* The parts of arc_reader_open after the file is open (single exit there). */
static comp_status reader_validate(arc_reader *r, bool allow_incomplete)
{
  const char *path = r->path;
  char        where[4200], *fmt = NULL, *arch = NULL;
  comp_status s;
  snprintf(where, sizeof where, "%s", path);
  if (H5Aexists(r->file, "format") <= 0)
    return comp_error_set(COMP_ERR_FORMAT, "%s: an HDF5 file but not a comp archive (no format attribute)", path);
  COMP_CALL(arc_attr_get_str(r->file, where, "format", &fmt));
  bool is_comp = strcmp(fmt, COMP_ARCHIVE_FORMAT) == 0;
  free(fmt);
  COMP_CHECK(is_comp, COMP_ERR_FORMAT, "%s: not a comp archive (format attribute is not \"%s\")", path,
             COMP_ARCHIVE_FORMAT);
  COMP_CALL(arc_attr_get_i64(r->file, where, "format_version", &r->format_version));
  COMP_CHECK(r->format_version == COMP_ARCHIVE_FORMAT_VERSION, COMP_ERR_UNSUPPORTED,
             "%s: archive format_version %lld, this build reads version %d", path, (long long)r->format_version,
             COMP_ARCHIVE_FORMAT_VERSION);
  COMP_CALL(arc_attr_get_i64(r->file, where, "complete", &r->complete));
  COMP_CHECK(r->complete == 1 || allow_incomplete, COMP_ERR_FORMAT,
             "%s: incomplete archive (the run that wrote it did not finish)", path);
  COMP_CALL(arc_attr_get_str(r->file, where, "comp_version", &r->comp_version));
  COMP_CALL(arc_attr_get_str(r->file, where, "git_commit", &r->git_commit));

  /* /source */
  snprintf(where, sizeof where, "%s:/source", path);
  COMP_CHECK(H5Lexists(r->file, "source", H5P_DEFAULT) > 0, COMP_ERR_FORMAT, "%s: missing group", where);
  hid_t g = H5Gopen2(r->file, "source", H5P_DEFAULT);
  COMP_CHECK(g >= 0, COMP_ERR_FORMAT, "%s: not a group", where);
  s = arc_attr_get_str(g, where, "config_json", &r->config_json);
  if (!s) s = arc_attr_get_str(g, where, "arch", &arch);
  if (!s) s = arc_attr_get_str(g, where, "model_path", &r->source_path);
  if (!s) s = arc_attr_get_str(g, where, "model_sha256", &r->model_sha256);
  if (!s) s = arc_attr_get_i64(g, where, "n_layer_orig", &r->n_layer_orig);
  H5Gclose(g);
  r->source_arch = arch;
  if (s) return s;
  comp_arch a = arc_arch_from_name(arch);
  COMP_CHECK(a != COMP_ARCH_COUNT, COMP_ERR_UNSUPPORTED, "%s: unknown architecture \"%s\"", where, arch);
  COMP_CHECK(r->n_layer_orig >= 0 && r->n_layer_orig < 100000, COMP_ERR_FORMAT, "%s: n_layer_orig out of range", where);

  /* /model: hyper-parameters and model-wide tensors (shapes only here) */
  snprintf(where, sizeof where, "%s:/model", path);
  COMP_CHECK(H5Lexists(r->file, "model", H5P_DEFAULT) > 0, COMP_ERR_FORMAT, "%s: missing group", where);
  g = H5Gopen2(r->file, "model", H5P_DEFAULT);
  COMP_CHECK(g >= 0, COMP_ERR_FORMAT, "%s: not a group", where);
  const comp_arch_desc *ad = comp_arch_get(a);
  s                        = read_hparams(r, g, where, a);
  if (!s) s = check_shape(g, where, "tok_embd", true, r->hp.n_vocab, r->hp.n_embd, NULL);
  if (!s && role_expected(ad, COMP_ROLE_POS_EMBD))
    s = check_shape(g, where, "pos_embd", true, r->hp.n_ctx + ad->pos_offset, r->hp.n_embd, NULL);
  if (!s && !r->hp.tied) s = check_shape(g, where, "lm_head", true, r->hp.n_vocab, r->hp.n_embd, NULL);
  for (int v = 0; !s && v < COMP_WIDE_VEC_COUNT; v++) { /* the final norm's weight, required everywhere, and the rest */
    const comp_role wr = comp_wide_vec_role((comp_wide_vec)v);
    if (role_expected(ad, wr))
      s = check_shape(g, where, arc_wide_names[v], role_required(ad, wr), comp_wide_vec_len(&r->hp, (comp_wide_vec)v),
                      -1, NULL);
  }
  H5Gclose(g);
  if (s) return s;

  /* /layers */
  snprintf(where, sizeof where, "%s:/layers", path);
  COMP_CHECK(H5Lexists(r->file, "layers", H5P_DEFAULT) > 0, COMP_ERR_FORMAT, "%s: missing group", where);
  g = H5Gopen2(r->file, "layers", H5P_DEFAULT);
  COMP_CHECK(g >= 0, COMP_ERR_FORMAT, "%s: not a group", where);
  int64_t    n = -1;
  H5G_info_t info;
  s = arc_attr_get_i64(g, where, "n_layer", &n);
  if (!s && (n < 0 || n > r->n_layer_orig || H5Gget_info(g, &info) < 0 || (int64_t)info.nlinks != n))
    s = comp_error_set(COMP_ERR_FORMAT, "%s: n_layer %lld does not match its %lld groups (or exceeds n_layer_orig)",
                       where, (long long)n, (long long)(n >= 0 ? (int64_t)info.nlinks : -1));
  if (!s && n > 0 && !(r->layers = calloc((size_t)n, sizeof *r->layers)))
    s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  for (int i = 0; !s && i < n; i++) {
    char name[32], lw[4300];
    snprintf(name, sizeof name, "%03d", i);
    snprintf(lw, sizeof lw, "%s/%s", where, name);
    hid_t lg = H5Lexists(g, name, H5P_DEFAULT) > 0 ? H5Gopen2(g, name, H5P_DEFAULT) : -1;
    if (lg < 0) {
      s = comp_error_set(COMP_ERR_FORMAT, "%s: missing layer group", lw);
      break;
    }
    s = read_layer_info(r, lg, lw, i);
    H5Gclose(lg);
  }
  H5Gclose(g);
  if (s) return s;
  r->n          = (int)n;
  r->hp.n_layer = n;
  return COMP_OK;
}

comp_status arc_reader_open(const char *path, bool allow_incomplete, arc_reader **out)
{
  *out          = NULL;
  arc_reader *r = calloc(1, sizeof *r);
  COMP_CHECK(r, COMP_ERR_NOMEM, "out of memory");
  arc_h5_quiet();
  r->file          = -1;
  r->path          = strdup(path);
  comp_status s    = r->path ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory");
  hid_t       fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (!s && fapl >= 0) H5Pset_file_locking(fapl, 0, 1); /* read-only: no lock needed (NFS/Lustre) */
  if (!s && (r->file = H5Fopen(path, H5F_ACC_RDONLY, fapl)) < 0)
    s = comp_error_set(COMP_ERR_IO, "%s: cannot open as HDF5: %s", path, arc_h5_detail());
  if (fapl >= 0) H5Pclose(fapl);
  if (!s) s = reader_validate(r, allow_incomplete);
  if (s) {
    arc_reader_close(&r);
    return s;
  }
  *out = r;
  return COMP_OK;
}

void arc_reader_close(arc_reader **rp)
{
  if (!rp || !*rp) return;
  arc_reader *r = *rp;
  if (r->file >= 0) H5Fclose(r->file);
  free(r->path), free(r->config_json), free(r->source_path), free(r->source_arch), free(r->model_sha256);
  free(r->comp_version), free(r->git_commit), free(r->layers);
  free(r);
  *rp = NULL;
}

/* malloc'd copy of dataset /model/name (rows x cols floats). */
static comp_status read_global(arc_reader *r, hid_t g, const char *name, int64_t numel, float **dst)
{
  char where[4200];
  snprintf(where, sizeof where, "%s:/model", r->path);
  *dst = malloc((size_t)numel * sizeof(float));
  COMP_CHECK(*dst, COMP_ERR_NOMEM, "out of memory reading %s/%s", where, name);
  return arc_read_f32(g, where, name, numel, *dst);
}

comp_status arc_reader_globals(arc_reader *r, comp_model *m)
{
  const comp_arch_desc *ad = comp_arch_get(r->hp.arch);
  const int64_t         V = r->hp.n_vocab, D = r->hp.n_embd;
  hid_t                 g = H5Gopen2(r->file, "model", H5P_DEFAULT);
  COMP_CHECK(g >= 0, COMP_ERR_FORMAT, "%s:/model: not a group", r->path);
  comp_status s = read_global(r, g, "tok_embd", V * D, &m->tok_embd);
  if (!s && role_expected(ad, COMP_ROLE_POS_EMBD))
    s = read_global(r, g, "pos_embd", (r->hp.n_ctx + ad->pos_offset) * D, &m->pos_embd);
  if (!s && !r->hp.tied) s = read_global(r, g, "lm_head", V * D, &m->lm_head);
  if (!s && r->hp.tied) m->lm_head = m->tok_embd;
  for (int v = 0; !s && v < COMP_WIDE_VEC_COUNT; v++) /* those the archive has (validated at open) */
    if (H5Lexists(g, arc_wide_names[v], H5P_DEFAULT) > 0)
      s = read_global(r, g, arc_wide_names[v], comp_wide_vec_len(&r->hp, (comp_wide_vec)v),
                      comp_wide_vec_at(m, (comp_wide_vec)v));
  H5Gclose(g);
  return s;
}

/* Floats of kept layer l: as stored (k kept columns per dense) or at full width (d_in_full). */
static int64_t layer_n(const arc_reader *r, int l, bool full)
{
  if (l < 0 || l >= r->n) return 0;
  const arc_layer_info *li = &r->layers[l];
  int64_t               n  = 0;
  for (int v = 0; v < COMP_VEC_COUNT; v++) n += li->has_vec[v] ? comp_layer_vec_len(&r->hp, (comp_layer_vec)v) : 0;
  for (int d = 0; d < COMP_DENSE_COUNT; d++) {
    const arc_dense_info *di = &li->dense[d];
    if (di->present) n += di->d_out * (full ? di->d_in_full : di->k) + (di->has_b ? di->d_out : 0);
  }
  return n;
}

int64_t arc_layer_n_stored(const arc_reader *r, int l) { return layer_n(r, l, false); }
int64_t arc_layer_n_full(const arc_reader *r, int l) { return layer_n(r, l, true); }

comp_status arc_reader_layer(arc_reader *r, int l, comp_layer **out)
{
  *out = NULL;
  COMP_CHECK(l >= 0 && l < r->n, COMP_ERR_ARG, "%s: layer %d out of range (%d kept layers)", r->path, l, r->n);
  const arc_layer_info *li = &r->layers[l];
  char                  where[4300], name[32];
  snprintf(name, sizeof name, "/layers/%03d", l);
  snprintf(where, sizeof where, "%s:%s", r->path, name);
  comp_layer *ly  = calloc(1, sizeof *ly);
  float      *mem = malloc((size_t)arc_layer_n_stored(r, l) * sizeof(float));
  hid_t       g   = H5Gopen2(r->file, name, H5P_DEFAULT);
  comp_status s   = COMP_OK;
  if (ly) ly->mem = mem; /* owned by the layer from here on */
  if (!ly || !mem) {
    if (!ly) free(mem);
    s = comp_error_set(COMP_ERR_NOMEM, "%s: out of memory reading the layer", where);
  } else if (g < 0) {
    s = comp_error_set(COMP_ERR_FORMAT, "%s: cannot open: %s", where, arc_h5_detail());
  }
  if (!s) {
    ly->index = l;
    /* the vectors first, then each dense's w and b, all in the one block */
    float *p = mem;
    for (int v = 0; !s && v < COMP_VEC_COUNT; v++) {
      if (!li->has_vec[v]) continue;
      const int64_t len                         = comp_layer_vec_len(&r->hp, (comp_layer_vec)v);
      *comp_layer_vec_at(ly, (comp_layer_vec)v) = p;
      s                                         = arc_read_f32(g, where, arc_vec_names[v], len, p);
      p += len;
    }
    for (int d = 0; !s && d < COMP_DENSE_COUNT; d++) {
      const arc_dense_info *di = &li->dense[d];
      if (!di->present) continue;
      comp_dense *dn = &ly->dense[d];
      char        dw[4400];
      snprintf(dw, sizeof dw, "%s/%s", where, comp_dense_name((comp_dense_id)d));
      *dn = (comp_dense){.w = p, .d_out = di->d_out, .d_in = di->k, .d_in_full = di->d_in_full};
      p += di->d_out * di->k;
      if (di->has_b) dn->b = p, p += di->d_out;
      dn->in_idx = malloc((size_t)di->k * sizeof(int32_t));
      hid_t dg   = H5Gopen2(g, comp_dense_name((comp_dense_id)d), H5P_DEFAULT);
      if (!dn->in_idx)
        s = comp_error_set(COMP_ERR_NOMEM, "%s: out of memory", dw);
      else if (dg < 0)
        s = comp_error_set(COMP_ERR_FORMAT, "%s: cannot open: %s", dw, arc_h5_detail());
      if (!s) s = arc_read_i32(dg, dw, "in_idx", di->k, dn->in_idx);
      for (int64_t j = 0; !s && j < di->k; j++)
        if (dn->in_idx[j] < 0 || dn->in_idx[j] >= di->d_in_full || (j > 0 && dn->in_idx[j] <= dn->in_idx[j - 1]))
          s = comp_error_set(COMP_ERR_FORMAT, "%s/in_idx: entry %lld = %d is not strictly ascending within [0, %lld)",
                             dw, (long long)j, dn->in_idx[j], (long long)di->d_in_full);
      if (!s) s = arc_read_f32(dg, dw, "w", di->d_out * di->k, dn->w);
      if (!s && di->has_b) s = arc_read_f32(dg, dw, "b", di->d_out, dn->b);
      if (dg >= 0) H5Gclose(dg);
    }
  }
  if (g >= 0) H5Gclose(g);
  if (s) {
    comp_layer_free(&ly);
    return s;
  }
  *out = ly;
  return COMP_OK;
}

/* ---- comp_model integration -------------------------------------------------------------------- */

static comp_status model_layer_get(void *ctx, int l, comp_layer **out) { return arc_reader_layer(ctx, l, out); }
static int64_t     model_layer_n(const void *ctx, int l) { return arc_layer_n_stored(ctx, l); }
static void        model_reader_destroy(void *ctx)
{
  arc_reader *r = ctx;
  arc_reader_close(&r);
}

comp_status comp_archive_load_model(const char *path, comp_model *m)
{
  arc_reader *r;
  COMP_CALL(arc_reader_open(path, false, &r));
  m->reader =
      (comp_layer_reader){.get = model_layer_get, .n_params = model_layer_n, .destroy = model_reader_destroy, .ctx = r};
  m->hp           = r->hp;
  m->arch         = comp_arch_get(r->hp.arch);
  bool one_window = true; /* each kept layer's window (comp_model_layer_window) */
  for (int l = 0; l < r->n; l++) one_window = one_window && r->layers[l].window == r->hp.sliding_window;
  if (!one_window) {
    COMP_CHECK((m->layer_window = malloc((size_t)r->n * sizeof(int64_t))), COMP_ERR_NOMEM, "out of memory");
    for (int l = 0; l < r->n; l++) m->layer_window[l] = r->layers[l].window;
  }
  bool any_nope = false; /* SmolLM3's NoPE layers (comp_model_layer_nope) */
  for (int l = 0; l < r->n; l++) any_nope = any_nope || r->layers[l].nope;
  if (any_nope) {
    COMP_CHECK((m->layer_nope = malloc((size_t)r->n)), COMP_ERR_NOMEM, "out of memory");
    for (int l = 0; l < r->n; l++) m->layer_nope[l] = (int8_t)r->layers[l].nope;
  }
  if (r->source_path[0] && !(m->src_path = strdup(r->source_path)))
    return comp_error_set(COMP_ERR_NOMEM, "out of memory");
  return arc_reader_globals(r, m);
}

const arc_reader *arc_model_reader(const comp_model *m)
{
  return m && m->reader.get == model_layer_get ? m->reader.ctx : NULL;
}

const char *comp_archive_model_config(const comp_model *m)
{
  const arc_reader *r = arc_model_reader(m);
  return r ? r->config_json : NULL;
}

const char *comp_archive_model_sha256(const comp_model *m)
{
  const arc_reader *r = arc_model_reader(m);
  return r ? r->model_sha256 : NULL;
}

int comp_archive_model_orig_index(const comp_model *m, int l)
{
  const arc_reader *r = arc_model_reader(m);
  return r && l >= 0 && l < r->n ? r->layers[l].orig : -1;
}
