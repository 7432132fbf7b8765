/* wstore.c - tensor index over safetensors / sharded / llama2.c checkpoints (see comp/wstore.h). */
#include "comp/wstore.h"

#include "comp/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct comp_wstore {
  int           n_files;
  char        **paths;  /* (n_files) */
  int          *fds;    /* (n_files) */
  uint64_t     *sizes;  /* (n_files) bytes */
  int           n, cap; /* tensors */
  comp_wtensor *t;      /* (n) */
};

static const struct {
  const char *name;
  int         size;
} dtype_info[COMP_DTYPE_COUNT] = {
    [COMP_DTYPE_F32] = {"F32", 4}, [COMP_DTYPE_F16] = {"F16", 2}, [COMP_DTYPE_BF16] = {"BF16", 2}};

const char *comp_dtype_name(comp_dtype d) { return d < COMP_DTYPE_COUNT ? dtype_info[d].name : "?"; }
int         comp_dtype_size(comp_dtype d) { return d < COMP_DTYPE_COUNT ? dtype_info[d].size : 0; }

float comp_f16_to_f32(uint16_t h)
{
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13); /* inf / nan */
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else { /* subnormal: renormalise */
    int e = -1;
    do {
      e++;
      man <<= 1;
    } while (!(man & 0x400u));
    bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ffu) << 13);
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

float comp_bf16_to_f32(uint16_t h)
{
  uint32_t bits = (uint32_t)h << 16;
  float    f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

comp_status comp_wstore_create(comp_wstore **out)
{
  *out = calloc(1, sizeof **out);
  return *out ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory creating a weight store");
}

void comp_wstore_destroy(comp_wstore **ws)
{
  if (!ws || !*ws) return;
  comp_wstore *w = *ws;
  for (int i = 0; i < w->n_files; i++) {
    if (w->fds[i] >= 0) close(w->fds[i]);
    free(w->paths[i]);
  }
  for (int i = 0; i < w->n; i++) free(w->t[i].name);
  free(w->paths);
  free(w->fds);
  free(w->sizes);
  free(w->t);
  free(w);
  *ws = NULL;
}

comp_status comp_wstore_add_file(comp_wstore *ws, const char *path, int *file_index, uint64_t *file_size)
{
  int fd = open(path, O_RDONLY);
  COMP_CHECK(fd >= 0, COMP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return comp_error_set(COMP_ERR_IO, "%s: not a regular file", path);
  }
  int    n     = ws->n_files + 1;
  char **paths = realloc(ws->paths, n * sizeof *paths);
  if (paths) ws->paths = paths;
  int *fds = realloc(ws->fds, n * sizeof *fds);
  if (fds) ws->fds = fds;
  uint64_t *sizes = realloc(ws->sizes, n * sizeof *sizes);
  if (sizes) ws->sizes = sizes;
  char *p = strdup(path);
  if (!paths || !fds || !sizes || !p) {
    free(p);
    close(fd);
    return comp_error_set(COMP_ERR_NOMEM, "out of memory");
  }
  ws->paths[n - 1] = p;
  ws->fds[n - 1]   = fd;
  ws->sizes[n - 1] = (uint64_t)st.st_size;
  ws->n_files      = n;
  if (file_index) *file_index = n - 1;
  if (file_size) *file_size = (uint64_t)st.st_size;
  return COMP_OK;
}

comp_status comp_wstore_add_tensor(comp_wstore *ws, const char *name, comp_dtype dtype, int ndim, const int64_t *shape,
                                   int file, uint64_t offset)
{
  const char *path = ws->paths[file];
  COMP_CHECK(ndim >= 0 && ndim <= 4, COMP_ERR_FORMAT, "%s: tensor %s has %d dimensions (at most 4 supported)", path,
             name, ndim);
  COMP_CHECK(!comp_wstore_find(ws, name), COMP_ERR_FORMAT, "%s: tensor %s appears twice", path, name);
  if (ws->n == ws->cap) {
    int           cap = ws->cap ? 2 * ws->cap : 64;
    comp_wtensor *t   = realloc(ws->t, cap * sizeof *t);
    COMP_CHECK(t, COMP_ERR_NOMEM, "out of memory");
    ws->t   = t;
    ws->cap = cap;
  }
  comp_wtensor *t = &ws->t[ws->n];
  memset(t, 0, sizeof *t);
  t->numel = 1;
  for (int i = 0; i < ndim; i++) {
    COMP_CHECK(shape[i] >= 0, COMP_ERR_FORMAT, "%s: tensor %s has a negative dimension", path, name);
    t->shape[i] = shape[i];
    COMP_CHECK(shape[i] == 0 || t->numel <= INT64_MAX / shape[i], COMP_ERR_FORMAT, "%s: tensor %s shape overflows",
               path, name);
    t->numel *= shape[i];
  }
  t->ndim   = ndim;
  t->dtype  = dtype;
  t->file   = file;
  t->offset = offset;
  t->nbytes = (uint64_t)t->numel * (uint64_t)comp_dtype_size(dtype);
  COMP_CHECK(offset <= ws->sizes[file] && t->nbytes <= ws->sizes[file] - offset, COMP_ERR_FORMAT,
             "%s: tensor %s (bytes %llu..%llu) lies beyond the end of the file (%llu bytes): truncated?", path, name,
             (unsigned long long)offset, (unsigned long long)(offset + t->nbytes), (unsigned long long)ws->sizes[file]);
  t->name = strdup(name);
  COMP_CHECK(t->name, COMP_ERR_NOMEM, "out of memory");
  ws->n++;
  return COMP_OK;
}

const comp_wtensor *comp_wstore_find(const comp_wstore *ws, const char *name)
{
  for (int i = 0; i < ws->n; i++)
    if (strcmp(ws->t[i].name, name) == 0) return &ws->t[i];
  return NULL;
}

comp_status comp_wtensor_rows(const comp_wtensor *t, int64_t row0, int64_t n_rows, comp_wtensor *view)
{
  COMP_CHECK(t->ndim >= 1 && row0 >= 0 && n_rows >= 0 && row0 + n_rows <= t->shape[0], COMP_ERR_INTERNAL,
             "tensor %s: rows %lld..%lld out of range", t->name, (long long)row0, (long long)(row0 + n_rows));
  const int64_t row = t->shape[0] ? t->numel / t->shape[0] : 0; /* elements per row */
  *view             = *t;
  view->shape[0]    = n_rows;
  view->numel       = n_rows * row;
  view->offset      = t->offset + (uint64_t)(row0 * row) * (uint64_t)comp_dtype_size(t->dtype);
  view->nbytes      = (uint64_t)view->numel * (uint64_t)comp_dtype_size(t->dtype);
  return COMP_OK;
}

comp_status comp_wtensor_row_blocks(const comp_wtensor *t, int64_t row0, int64_t blk_rows, int64_t stride,
                                    int64_t n_blk, comp_wtensor *view)
{
  COMP_CHECK(t->blk_rows == 0 && t->ndim >= 1 && blk_rows > 0 && stride >= blk_rows && n_blk > 0 && row0 >= 0 &&
                 row0 + (n_blk - 1) * stride + blk_rows <= t->shape[0],
             COMP_ERR_INTERNAL, "tensor %s: %lld blocks of %lld rows every %lld from row %lld out of range", t->name,
             (long long)n_blk, (long long)blk_rows, (long long)stride, (long long)row0);
  COMP_CALL(comp_wtensor_rows(t, row0, n_blk * blk_rows, view)); /* the shape, numel and nbytes of the whole */
  view->blk_rows   = blk_rows;
  view->blk_stride = stride;
  return COMP_OK;
}

comp_status comp_wtensor_cols_t(const comp_wtensor *t, int64_t col0, int64_t n_cols, comp_wtensor *view)
{
  COMP_CHECK(t->blk_rows == 0 && t->tr_cols == 0 && t->ndim == 2 && col0 >= 0 && n_cols > 0 &&
                 col0 + n_cols <= t->shape[1],
             COMP_ERR_INTERNAL, "tensor %s: columns %lld..%lld out of range", t->name, (long long)col0,
             (long long)(col0 + n_cols));
  *view          = *t;
  view->shape[0] = n_cols;
  view->shape[1] = t->shape[0];
  view->numel    = n_cols * t->shape[0];
  view->nbytes   = (uint64_t)view->numel * (uint64_t)comp_dtype_size(t->dtype);
  view->tr_cols  = t->shape[1];
  view->tr_col0  = col0;
  return COMP_OK;
}

int                 comp_wstore_count(const comp_wstore *ws) { return ws->n; }
const comp_wtensor *comp_wstore_at(const comp_wstore *ws, int i) { return &ws->t[i]; }
const char         *comp_wstore_file_path(const comp_wstore *ws, int file) { return ws->paths[file]; }
int                 comp_wstore_file_count(const comp_wstore *ws) { return ws->n_files; }

static comp_status pread_all(int fd, void *buf, size_t n, uint64_t off, const char *path)
{
  char *p = buf;
  while (n > 0) {
    ssize_t r = pread(fd, p, n, (off_t)off);
    if (r < 0 && errno == EINTR) continue;
    COMP_CHECK(r > 0, COMP_ERR_IO, "%s: read failed at byte %llu: %s", path, (unsigned long long)off,
               r == 0 ? "unexpected end of file" : strerror(errno));
    p += r;
    n -= (size_t)r;
    off += (uint64_t)r;
  }
  return COMP_OK;
}

/* Transposed view t (comp_wtensor_cols_t): each stored row's span of the view's columns (one read per
 * row, only those bytes: c_attn's q, k and v each read their own third), written as a column of dst. */
static comp_status read_cols_t(const comp_wstore *ws, const comp_wtensor *t, float *dst)
{
  const int64_t R = t->shape[1], n = t->shape[0], esz = comp_dtype_size(t->dtype);
  float        *tmp = malloc(sizeof(float) * (size_t)n);
  COMP_CHECK(tmp, COMP_ERR_NOMEM, "out of memory reading %s", t->name);
  comp_wtensor span = *t; /* stored row i, columns [tr_col0, tr_col0 + n) */
  span.tr_cols = 0, span.ndim = 1, span.shape[0] = n, span.numel = n, span.nbytes = (uint64_t)(n * esz);
  comp_status s = COMP_OK;
  for (int64_t i = 0; i < R && s == COMP_OK; i++) {
    span.offset = t->offset + (uint64_t)((i * t->tr_cols + t->tr_col0) * esz);
    s           = comp_wstore_read(ws, &span, tmp);
    for (int64_t j = 0; s == COMP_OK && j < n; j++) dst[j * R + i] = tmp[j];
  }
  free(tmp);
  return s;
}

comp_status comp_wstore_read(const comp_wstore *ws, const comp_wtensor *t, float *dst)
{
  if (t->tr_cols > 0) return read_cols_t(ws, t, dst);
  if (t->blk_rows > 0) { /* block by block, each a contiguous view */
    const int64_t row = t->numel / t->shape[0], esz = comp_dtype_size(t->dtype);
    for (int64_t b = 0; b < t->shape[0] / t->blk_rows; b++) {
      comp_wtensor blk = *t;
      blk.blk_rows     = 0;
      blk.shape[0]     = t->blk_rows;
      blk.numel        = t->blk_rows * row;
      blk.nbytes       = (uint64_t)(blk.numel * esz);
      blk.offset       = t->offset + (uint64_t)(b * t->blk_stride * row * esz);
      COMP_CALL(comp_wstore_read(ws, &blk, dst + b * blk.numel));
    }
    return COMP_OK;
  }
  int         fd   = ws->fds[t->file];
  const char *path = ws->paths[t->file];
  if (t->dtype == COMP_DTYPE_F32) return pread_all(fd, dst, t->nbytes, t->offset, path);
  enum { CHUNK = 1 << 20 };
  uint16_t *tmp = malloc((size_t)(t->numel < CHUNK ? t->numel : CHUNK) * sizeof *tmp + 1);
  COMP_CHECK(tmp, COMP_ERR_NOMEM, "out of memory reading %s", t->name);
  comp_status s = COMP_OK;
  for (int64_t i = 0; i < t->numel && s == COMP_OK; i += CHUNK) {
    int64_t m = t->numel - i < CHUNK ? t->numel - i : CHUNK;
    s         = pread_all(fd, tmp, (size_t)m * 2, t->offset + (uint64_t)i * 2, path);
    for (int64_t j = 0; s == COMP_OK && j < m; j++)
      dst[i + j] = t->dtype == COMP_DTYPE_F16 ? comp_f16_to_f32(tmp[j]) : comp_bf16_to_f32(tmp[j]);
  }
  free(tmp);
  return s;
}

/* ---- safetensors -------------------------------------------------------------------------- */

static int cmp_offset(const void *a, const void *b)
{
  const comp_wtensor *x = *(comp_wtensor *const *)a, *y = *(comp_wtensor *const *)b;
  if (x->file != y->file) return x->file < y->file ? -1 : 1;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Parse one safetensors file into ws (as file index `file`). Only tensors for which want(name)
 * is true are kept (NULL: all). */
static comp_status parse_safetensors(comp_wstore *ws, const char *path)
{
  int      file;
  uint64_t fsize;
  COMP_CALL(comp_wstore_add_file(ws, path, &file, &fsize));
  COMP_CHECK(fsize >= 8, COMP_ERR_FORMAT, "%s: truncated safetensors file (%llu bytes, no header)", path,
             (unsigned long long)fsize);
  unsigned char lenbuf[8];
  COMP_CALL(pread_all(ws->fds[file], lenbuf, 8, 0, path));
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | lenbuf[i];
  COMP_CHECK(hlen >= 2 && hlen <= fsize - 8 && hlen <= (100u << 20), COMP_ERR_FORMAT,
             "%s: safetensors header length %llu is out of range (file has %llu bytes)", path, (unsigned long long)hlen,
             (unsigned long long)fsize);
  char *hdr = malloc(hlen + 1);
  COMP_CHECK(hdr, COMP_ERR_NOMEM, "out of memory");
  comp_status s = pread_all(ws->fds[file], hdr, hlen, 8, path);
  hdr[hlen]     = '\0';
  cJSON *root   = NULL;
  if (s == COMP_OK) {
    root = cJSON_ParseWithLength(hdr, hlen);
    if (!root || !cJSON_IsObject(root))
      s = comp_error_set(COMP_ERR_FORMAT, "%s: safetensors header is not a JSON object", path);
  }
  const uint64_t base = 8 + hlen, data_size = fsize - base;
  int            first = ws->n;
  for (cJSON *e = root ? root->child : NULL; s == COMP_OK && e; e = e->next) {
    if (strcmp(e->string, "__metadata__") == 0) continue;
    cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2) {
      s = comp_error_set(COMP_ERR_FORMAT, "%s: tensor %s: header entry lacks dtype/shape/data_offsets", path,
                         e->string);
      break;
    }
    comp_dtype dtype = COMP_DTYPE_COUNT;
    for (int d = 0; d < COMP_DTYPE_COUNT; d++)
      if (strcmp(dt->valuestring, dtype_info[d].name) == 0) dtype = (comp_dtype)d;
    if (dtype == COMP_DTYPE_COUNT) {
      s = comp_error_set(COMP_ERR_UNSUPPORTED, "%s: tensor %s has unsupported dtype %s (supported: F32, F16, BF16)",
                         path, e->string, dt->valuestring);
      break;
    }
    int64_t shape[4];
    int     ndim = cJSON_GetArraySize(sh);
    if (ndim > 4) {
      s = comp_error_set(COMP_ERR_FORMAT, "%s: tensor %s has %d dimensions", path, e->string, ndim);
      break;
    }
    int bad = 0;
    for (int i = 0; i < ndim; i++) {
      cJSON *v = cJSON_GetArrayItem(sh, i);
      if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9.0e15)
        bad = 1;
      else
        shape[i] = (int64_t)v->valuedouble;
    }
    double b0 = cJSON_IsNumber(of->child) ? of->child->valuedouble : -1;
    double b1 = cJSON_IsNumber(of->child->next) ? of->child->next->valuedouble : -1;
    if (bad || b0 < 0 || b1 < b0 || b1 > (double)data_size) {
      s = comp_error_set(COMP_ERR_FORMAT,
                         "%s: tensor %s: shape or data_offsets [%.0f, %.0f] out of range (data section has %llu bytes)",
                         path, e->string, b0, b1, (unsigned long long)data_size);
      break;
    }
    s = comp_wstore_add_tensor(ws, e->string, dtype, ndim, shape, file, base + (uint64_t)b0);
    if (s == COMP_OK && ws->t[ws->n - 1].nbytes != (uint64_t)(b1 - b0))
      s = comp_error_set(COMP_ERR_FORMAT, "%s: tensor %s: data_offsets span %.0f bytes but shape and dtype need %llu",
                         path, e->string, b1 - b0, (unsigned long long)ws->t[ws->n - 1].nbytes);
  }
  /* no two tensors of this file may share bytes */
  if (s == COMP_OK && ws->n - first > 1) {
    int            m   = ws->n - first;
    comp_wtensor **ord = malloc(m * sizeof *ord);
    if (!ord) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
    for (int i = 0; s == COMP_OK && i < m; i++) ord[i] = &ws->t[first + i];
    if (s == COMP_OK) {
      qsort(ord, m, sizeof *ord, cmp_offset);
      for (int i = 1; i < m && s == COMP_OK; i++)
        if (ord[i]->offset < ord[i - 1]->offset + ord[i - 1]->nbytes)
          s = comp_error_set(COMP_ERR_FORMAT, "%s: tensors %s and %s overlap", path, ord[i - 1]->name, ord[i]->name);
    }
    free(ord);
  }
  cJSON_Delete(root);
  free(hdr);
  return s;
}

comp_status comp_wstore_open_safetensors(const char *path, comp_wstore **out)
{
  COMP_CALL(comp_wstore_create(out));
  comp_status s = parse_safetensors(*out, path);
  if (s != COMP_OK) comp_wstore_destroy(out);
  return s;
}

comp_status comp_wstore_open_sharded(const char *index_path, comp_wstore **out)
{
  comp_status s    = COMP_OK;
  char       *text = NULL, *dir = NULL;
  size_t      n    = 0;
  cJSON      *root = NULL;
  *out             = NULL;
  COMP_CALL(comp_read_file(index_path, &text, &n));
  root       = cJSON_ParseWithLength(text, n);
  cJSON *map = root ? cJSON_GetObjectItemCaseSensitive(root, "weight_map") : NULL;
  if (!cJSON_IsObject(map)) {
    s = comp_error_set(COMP_ERR_FORMAT, "%s: not a safetensors index (no weight_map object)", index_path);
    goto out;
  }
  if ((s = comp_wstore_create(out)) != COMP_OK) goto out;
  dir         = strdup(index_path);
  char *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash) *slash = '\0';
  /* open each distinct shard once, then check that every mapped name is in its shard */
  for (cJSON *e = map->child; e && s == COMP_OK; e = e->next) {
    if (!cJSON_IsString(e)) {
      s = comp_error_set(COMP_ERR_FORMAT, "%s: weight_map entry %s is not a file name", index_path, e->string);
      break;
    }
    int seen = 0;
    for (cJSON *p = map->child; p != e; p = p->next)
      if (cJSON_IsString(p) && strcmp(p->valuestring, e->valuestring) == 0) seen = 1;
    if (seen) continue;
    if (strchr(e->valuestring, '/')) {
      s = comp_error_set(COMP_ERR_FORMAT, "%s: shard name %s must be a plain file name", index_path, e->valuestring);
      break;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", slash ? dir : ".", e->valuestring);
    s = parse_safetensors(*out, path);
  }
  for (cJSON *e = map->child; e && s == COMP_OK; e = e->next) {
    const comp_wtensor *t = comp_wstore_find(*out, e->string);
    const char         *p = t ? strrchr((*out)->paths[t->file], '/') : NULL;
    p                     = p ? p + 1 : (t ? (*out)->paths[t->file] : NULL);
    if (!t || strcmp(p, e->valuestring) != 0)
      s = comp_error_set(COMP_ERR_FORMAT, "%s: tensor %s is mapped to %s but not found there", index_path, e->string,
                         e->valuestring);
  }
out:
  if (s != COMP_OK) comp_wstore_destroy(out);
  cJSON_Delete(root);
  free(text);
  free(dir);
  return s;
}
