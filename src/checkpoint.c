/* checkpoint.c - the resume journal of a pruning run (see comp/checkpoint.h).
 *
 * File format (native byte order: a journal is resumed by the same build on the same cluster):
 *   "COMPCKP1" | u32 kind (1 plan, 2 layer) | u32 0 | u64 payload bytes | char key[64] (hex) |
 *   payload | sha256(payload) (32 raw bytes)                                                      */
#include "comp/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "comp/dist.h"
#include "comp/log.h"
#include "comp/sha256.h"

enum { KIND_PLAN = 1, KIND_LAYER = 2, HDR = 8 + 4 + 4 + 8 + 64 };

struct comp_ckpt {
  char     dir[4096];
  char     key[65];
  MPI_Comm comm;
};

/* ---- a growable byte buffer and its reader ------------------------------------------------------ */

typedef struct buf {
  unsigned char *p;
  size_t         n, cap;
  bool           bad; /* out of memory (put) or out of data (get) */
} buf;

static void put(buf *b, const void *x, size_t len)
{
  if (b->bad) return;
  if (b->n + len > b->cap) {
    size_t         cap = (b->cap ? b->cap * 2 : 4096) + len;
    unsigned char *np  = realloc(b->p, cap);
    if (!np) {
      b->bad = true;
      return;
    }
    b->p = np, b->cap = cap;
  }
  memcpy(b->p + b->n, x, len);
  b->n += len;
}

static void get(buf *b, void *x, size_t len)
{
  if (b->bad || b->n + len > b->cap) {
    b->bad = true;
    memset(x, 0, len);
    return;
  }
  memcpy(x, b->p + b->n, len);
  b->n += len;
}

#define PUT(b, v) put((b), &(v), sizeof(v))
#define GET(b, v) get((b), &(v), sizeof(v))

/* ---- files: atomic write, validated read ---------------------------------------------------------- */

static void path_of(const comp_ckpt *c, int kind, int l, char *p, size_t cap)
{
  if (kind == KIND_PLAN)
    snprintf(p, cap, "%s/plan.bin", c->dir);
  else
    snprintf(p, cap, "%s/layer_%04d.bin", c->dir, l);
}

static comp_status fsync_dir(const char *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  COMP_CHECK(fd >= 0, COMP_ERR_IO, "%s: %s", dir, strerror(errno));
  int rc = fsync(fd);
  close(fd);
  COMP_CHECK(rc == 0 || errno == EINVAL, COMP_ERR_IO, "fsync %s: %s", dir, strerror(errno));
  return COMP_OK;
}

static comp_status write_file(const comp_ckpt *c, int kind, int l, const buf *payload)
{
  char path[4200], tmp[4300];
  path_of(c, kind, l, path, sizeof path);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  unsigned char hdr[HDR] = "COMPCKP1", sum[32];
  uint32_t      k = (uint32_t)kind, z = 0;
  uint64_t      len = payload->n;
  memcpy(hdr + 8, &k, 4);
  memcpy(hdr + 12, &z, 4);
  memcpy(hdr + 16, &len, 8);
  memcpy(hdr + 24, c->key, 64);
  char        hex[65];
  comp_sha256 h;
  comp_sha256_init(&h);
  comp_sha256_update(&h, payload->p, payload->n);
  comp_sha256_final(&h, hex);
  for (int i = 0; i < 32; i++) {
    unsigned v;
    sscanf(hex + 2 * i, "%2x", &v);
    sum[i] = (unsigned char)v;
  }
  FILE *f = fopen(tmp, "wb");
  COMP_CHECK(f, COMP_ERR_IO, "%s: %s", tmp, strerror(errno));
  bool ok = fwrite(hdr, 1, HDR, f) == HDR && fwrite(payload->p, 1, payload->n, f) == payload->n &&
            fwrite(sum, 1, 32, f) == 32 && fflush(f) == 0 && fsync(fileno(f)) == 0;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    comp_status s = comp_error_set(COMP_ERR_IO, "writing the checkpoint %s: %s", path, strerror(errno));
    unlink(tmp);
    return s;
  }
  return fsync_dir(c->dir);
}

/* The payload of a valid file (key and checksum match): *found = false when the file is absent or
 * damaged; an error when it belongs to another run. */
static comp_status read_file(const comp_ckpt *c, int kind, int l, buf *payload, bool *found)
{
  char path[4200];
  path_of(c, kind, l, path, sizeof path);
  *found = false;
  memset(payload, 0, sizeof *payload);
  FILE *f = fopen(path, "rb");
  if (!f) return COMP_OK;
  unsigned char hdr[HDR], sum[32];
  uint32_t      k;
  uint64_t      len = 0;
  comp_status   s   = COMP_OK;
  if (fread(hdr, 1, HDR, f) != HDR || memcmp(hdr, "COMPCKP1", 8) != 0) goto invalid;
  memcpy(&k, hdr + 8, 4);
  memcpy(&len, hdr + 16, 8);
  if (k != (uint32_t)kind || len > ((uint64_t)1 << 40)) goto invalid;
  if (memcmp(hdr + 24, c->key, 64) != 0) {
    s = comp_error_set(
        COMP_ERR_ARG,
        "%s belongs to another run (other options, weights, config or comp build); start over with --force", path);
    goto done;
  }
  payload->p = malloc(len + 1);
  if (!payload->p) {
    s = comp_error_set(COMP_ERR_NOMEM, "out of memory reading %s", path);
    goto done;
  }
  payload->cap = len;
  if (fread(payload->p, 1, len, f) != len || fread(sum, 1, 32, f) != 32) goto invalid;
  char        hex[65], want[65];
  comp_sha256 h;
  comp_sha256_init(&h);
  comp_sha256_update(&h, payload->p, len);
  comp_sha256_final(&h, hex);
  for (int i = 0; i < 32; i++) snprintf(want + 2 * i, 3, "%02x", sum[i]);
  if (strcmp(hex, want) != 0) goto invalid;
  *found = true;
  goto done;
invalid: /* a damaged file is a layer to redo, not an error */
  comp_log("checkpoint: %s is damaged; it will be redone", path);
  free(payload->p);
  memset(payload, 0, sizeof *payload);
done:
  fclose(f);
  if (s) {
    free(payload->p);
    memset(payload, 0, sizeof *payload);
  }
  return s;
}

/* ---- open / finish -------------------------------------------------------------------------------- */

static comp_status remove_dir(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? COMP_OK : comp_error_set(COMP_ERR_IO, "%s: %s", dir, strerror(errno));
  struct dirent *e;
  char           p[4400];
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    unlink(p);
  }
  closedir(d);
  COMP_CHECK(rmdir(dir) == 0, COMP_ERR_IO, "removing %s: %s", dir, strerror(errno));
  return COMP_OK;
}

comp_status comp_ckpt_open(const char *out_path, const char *key, bool resume, bool force, MPI_Comm comm,
                           comp_ckpt **out)
{
  int rank;
  MPI_Comm_rank(comm, &rank);
  *out          = NULL;
  comp_ckpt  *c = calloc(1, sizeof *c);
  comp_status s = c ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory");
  if (!s) {
    snprintf(c->dir, sizeof c->dir, "%s.ckpt", out_path);
    comp_sha256 h;
    comp_sha256_init(&h);
    comp_sha256_update(&h, key, strlen(key));
    comp_sha256_final(&h, c->key);
  }
  if (!s && rank == 0) {
    struct stat st;
    bool        exists = stat(c->dir, &st) == 0;
    if (exists && !resume && !force)
      s = comp_error_set(COMP_ERR_ARG,
                         "%s holds the journal of an interrupted run: --resume to continue it or --force to start over",
                         c->dir);
    else if (exists && force && !resume)
      s = remove_dir(c->dir);
    if (!s && mkdir(c->dir, 0777) != 0 && errno != EEXIST)
      s = comp_error_set(COMP_ERR_IO, "creating %s: %s", c->dir, strerror(errno));
    if (!s && exists && resume) comp_log("resume: using the journal %s", c->dir);
  }
  s = comp_dist_agree(comm, s);
  if (s) {
    free(c);
    return s;
  }
  c->comm = comm;
  *out    = c;
  return COMP_OK;
}

void comp_ckpt_close(comp_ckpt **c)
{
  if (!c || !*c) return;
  free(*c);
  *c = NULL;
}

comp_status comp_ckpt_finish(comp_ckpt **c)
{
  if (!c || !*c) return COMP_OK;
  int rank;
  MPI_Comm_rank((*c)->comm, &rank);
  comp_status s = rank == 0 ? remove_dir((*c)->dir) : COMP_OK;
  s             = comp_dist_agree((*c)->comm, s);
  comp_ckpt_close(c);
  return s;
}

/* ---- plan ----------------------------------------------------------------------------------------- */

comp_status comp_ckpt_put_plan(comp_ckpt *c, const comp_prune_result *r)
{
  buf     b = {0};
  int32_t L = r->n_layer, nr = r->n_removed, na = r->n_removed_asked;
  PUT(&b, L);
  PUT(&b, nr);
  PUT(&b, na);
  put(&b, r->seconds, 2 * sizeof(double));
  for (int i = 0; i < nr; i++) PUT(&b, r->removal_order[i]);
  put(&b, r->importance_iter, sizeof(double) * (size_t)((nr + 1) * L));
  for (int l = 0; l < L; l++) {
    const comp_prune_layer_info *li = &r->layer[l];
    int32_t                      st = li->removal_step;
    unsigned char                rm = li->removed, pq = li->prunable;
    PUT(&b, rm);
    PUT(&b, pq);
    PUT(&b, st);
    PUT(&b, li->importance);
    PUT(&b, li->target);
  }
  comp_status s = b.bad ? comp_error_set(COMP_ERR_NOMEM, "out of memory") : write_file(c, KIND_PLAN, 0, &b);
  free(b.p);
  return s;
}

comp_status comp_ckpt_get_plan(comp_ckpt *c, comp_prune_result *r, bool *found)
{
  buf         b;
  comp_status s = read_file(c, KIND_PLAN, 0, &b, found);
  if (s || !*found) return s;
  int32_t L, nr, na;
  GET(&b, L);
  GET(&b, nr);
  GET(&b, na);
  if (b.bad || L != r->n_layer || nr < 0 || nr > L) {
    free(b.p);
    return comp_error_set(COMP_ERR_FORMAT, "%s/plan.bin does not match the model", c->dir);
  }
  int    *order = calloc((size_t)(nr > 0 ? nr : 1), sizeof(int));
  double *imp   = malloc(sizeof(double) * (size_t)((nr + 1) * L));
  if (!order || !imp) {
    free(order);
    free(imp);
    free(b.p);
    return comp_error_set(COMP_ERR_NOMEM, "out of memory");
  }
  get(&b, r->seconds, 2 * sizeof(double));
  for (int i = 0; i < nr; i++) {
    int32_t v;
    GET(&b, v);
    order[i] = v;
  }
  get(&b, imp, sizeof(double) * (size_t)((nr + 1) * L));
  for (int l = 0; l < L; l++) {
    comp_prune_layer_info *li = &r->layer[l];
    int32_t                st;
    unsigned char          rm, pq;
    GET(&b, rm);
    GET(&b, pq);
    GET(&b, st);
    GET(&b, li->importance);
    GET(&b, li->target);
    li->removed = rm, li->prunable = pq, li->removal_step = st;
  }
  free(b.p);
  if (b.bad) {
    free(order);
    free(imp);
    return comp_error_set(COMP_ERR_FORMAT, "%s/plan.bin is truncated", c->dir);
  }
  free(r->removal_order);
  free(r->importance_iter);
  r->removal_order   = order;
  r->importance_iter = imp;
  r->n_removed       = nr;
  r->n_removed_asked = na;
  return COMP_OK;
}

/* ---- layers ---------------------------------------------------------------------------------------- */

comp_status comp_ckpt_put_layer(comp_ckpt *c, int l, const comp_prune_layer_info *info, const comp_layer *ly)
{
  buf     b    = {0};
  int32_t rank = info->rank;
  PUT(&b, info->achieved);
  PUT(&b, info->tau);
  PUT(&b, info->seconds);
  PUT(&b, rank);
  put(&b, info->kept, sizeof info->kept);
  put(&b, info->pruned, sizeof info->pruned);
  for (int j = 0; j < COMP_DENSE_COUNT; j++) {
    const comp_dense *dn = &ly->dense[j];
    int64_t           k  = dn->w ? dn->d_in : -1;
    unsigned char     ix = dn->in_idx != NULL;
    PUT(&b, k);
    if (!dn->w) continue;
    PUT(&b, ix);
    if (ix) put(&b, dn->in_idx, sizeof(int32_t) * (size_t)k);
    put(&b, dn->w, sizeof(float) * (size_t)(k * dn->d_out)); /* (d_out, k) */
  }
  comp_status s = b.bad ? comp_error_set(COMP_ERR_NOMEM, "out of memory") : write_file(c, KIND_LAYER, l, &b);
  free(b.p);
  return s;
}

bool comp_ckpt_has_layer(comp_ckpt *c, int l)
{
  buf  b;
  bool found = false;
  if (read_file(c, KIND_LAYER, l, &b, &found)) comp_error_clear();
  free(b.p);
  return found;
}

comp_status comp_ckpt_get_layer(comp_ckpt *c, int l, comp_prune_layer_info *info, comp_layer *ly)
{
  buf         b;
  bool        found;
  comp_status s = read_file(c, KIND_LAYER, l, &b, &found);
  if (s) return s;
  COMP_CHECK(found, COMP_ERR_IO, "checkpoint of layer %d vanished from %s", l, c->dir);
  int32_t rank;
  GET(&b, info->achieved);
  GET(&b, info->tau);
  GET(&b, info->seconds);
  GET(&b, rank);
  get(&b, info->kept, sizeof info->kept);
  get(&b, info->pruned, sizeof info->pruned);
  info->rank = rank;
  for (int j = 0; !s && j < COMP_DENSE_COUNT; j++) {
    comp_dense   *dn = &ly->dense[j];
    int64_t       k;
    unsigned char ix = 0;
    GET(&b, k);
    if (b.bad || (k < 0) != (dn->w == NULL) || k > dn->d_in_full) {
      s = comp_error_set(COMP_ERR_FORMAT, "checkpoint of layer %d does not match the model", l);
      break;
    }
    if (!dn->w) continue;
    GET(&b, ix);
    int32_t *idx = NULL;
    if (ix && !(idx = malloc(sizeof(int32_t) * (size_t)k))) {
      s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
      break;
    }
    if (ix) get(&b, idx, sizeof(int32_t) * (size_t)k);
    get(&b, dn->w, sizeof(float) * (size_t)(k * dn->d_out)); /* fits: k <= d_in_full */
    free(dn->in_idx);
    dn->in_idx = idx;
    dn->d_in   = k;
    if (b.bad) s = comp_error_set(COMP_ERR_FORMAT, "checkpoint of layer %d is truncated", l);
  }
  free(b.p);
  return s;
}

/* ---- fault injection -------------------------------------------------------------------------------- */

void comp_ckpt_fault(const char *point, int rank, int count)
{
  const char *f = getenv("COMP_FAULT");
  if (!f) return;
  size_t pl = strlen(point);
  if (strncmp(f, point, pl) != 0 || f[pl] != ':') return;
  int want_rank = -1, want_n = 1;
  if (sscanf(f + pl + 1, "%d:%d", &want_rank, &want_n) < 1) return;
  if (want_rank == rank && (count <= 0 || count == want_n)) {
    fprintf(stderr, "comp: COMP_FAULT %s: rank %d kills itself\n", f, rank);
    fflush(stderr);
    raise(SIGKILL);
  }
}
