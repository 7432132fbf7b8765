/*
 * make_archive.c - writes a pruning archive the way the pruning driver does, with a pretend pruning
 * that tests can recompute on their own: layer DROP of the source is removed, and every dense of the
 * kept layers keeps a pseudo-random subset of its input columns, each scaled by a per-column factor.
 *
 *   mpiexec -n P make_archive MODEL OUT.h5 [--drop L] [--fail-rank R] [--skip-layer I]
 *
 * Column j of dense d (comp_dense_id order) of source layer l: key = mix(mix(mix(l) ^ d) ^ j) with
 * mix = splitmix64's finaliser; kept iff key % 100 < 65 (column 0 if none), scale
 * 0.5 + ((key >> 40) % 1024) / 1024 (exact in fp32), so w = W[:, in_idx] * scale exactly.
 * Kept layers are written round-robin over the ranks (kept layer i by rank i % P).
 * --fail-rank R: rank R reports a failure before closing (the archive must then not appear).
 * --skip-layer I: nobody writes kept layer I, a driver bug that closing must catch.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp/archive.h"
#include "comp/dist.h"

static uint64_t mix(uint64_t x)
{
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

static uint64_t col_key(int l, int d, int64_t j) { return mix(mix(mix((uint64_t)l) ^ (uint64_t)d) ^ (uint64_t)j); }

/* in_idx (d_in_full capacity) of kept columns; returns how many. */
static int64_t kept_cols(int l, int d, int64_t d_in_full, int32_t *in_idx)
{
  int64_t k = 0;
  for (int64_t j = 0; j < d_in_full; j++)
    if (col_key(l, d, j) % 100 < 65) {
      if (in_idx) in_idx[k] = (int32_t)j;
      k++;
    }
  if (k == 0 && in_idx) in_idx[0] = 0;
  return k ? k : 1;
}

/* The pruned copy of source layer `src` (compact denses). */
static comp_status prune_layer(const comp_layer *src, int l, comp_layer **out)
{
  comp_layer *ly    = calloc(1, sizeof *ly);
  int64_t     total = 0;
  for (int d = 0; d < COMP_DENSE_COUNT; d++)
    if (src->dense[d].w) total += src->dense[d].d_out * kept_cols(l, d, src->dense[d].d_in, NULL);
  float *mem = malloc(sizeof(float) * (size_t)total);
  COMP_CHECK(ly && mem, COMP_ERR_NOMEM, "out of memory");
  ly->mem         = mem;
  ly->index       = src->index;
  ly->attn_norm_w = src->attn_norm_w, ly->attn_norm_b = src->attn_norm_b; /* views of src */
  ly->ffn_norm_w = src->ffn_norm_w, ly->ffn_norm_b = src->ffn_norm_b;
  for (int d = 0; d < COMP_DENSE_COUNT; d++) {
    const comp_dense *s = &src->dense[d];
    if (!s->w) continue;
    comp_dense *t = &ly->dense[d];
    t->in_idx     = malloc(sizeof(int32_t) * (size_t)s->d_in);
    COMP_CHECK(t->in_idx, COMP_ERR_NOMEM, "out of memory");
    t->d_in      = kept_cols(l, d, s->d_in, t->in_idx);
    t->d_in_full = s->d_in;
    t->d_out     = s->d_out;
    t->b         = s->b;
    t->w         = mem;
    mem += s->d_out * t->d_in;
    for (int64_t j = 0; j < t->d_in; j++) {
      uint64_t key   = col_key(l, d, t->in_idx[j]);
      float    scale = 0.5f + (float)((key >> 40) % 1024) / 1024.0f;
      for (int64_t r = 0; r < s->d_out; r++) t->w[r * t->d_in + j] = s->w[r * s->d_in + t->in_idx[j]] * scale;
    }
  }
  *out = ly;
  return COMP_OK;
}

/* Load the archive as a model: kept layers, stored parameter counts, and every layer equal to what
 * was written (compact denses). Prints "readback ok: ..." with the counts. */
static comp_status readback(const char *path, comp_model *src, int n_kept, const int *orig)
{
  comp_model *a = NULL;
  COMP_CALL(comp_model_load(path, &a));
  comp_status   s = a->hp.n_layer == n_kept ? COMP_OK : comp_error_set(COMP_ERR_INTERNAL, "readback: layer count");
  const int64_t V = a->hp.n_vocab, D = a->hp.n_embd;
  int64_t       stored = V * D * (a->hp.tied ? 1 : 2) + D + (a->out_norm_b ? D : 0) + /* model-wide */
                   (a->pos_embd ? (a->hp.n_ctx + a->arch->pos_offset) * D : 0);
  for (int i = 0; !s && i < n_kept; i++) {
    comp_layer *got = NULL, *sl = NULL, *want = NULL;
    s = comp_model_layer_get(a, i, &got);
    if (!s) s = comp_model_layer_get(src, orig[i], &sl);
    if (!s) s = prune_layer(sl, orig[i], &want);
    int64_t n = 2 * D + (got && got->attn_norm_b ? D : 0) + (got && got->ffn_norm_b ? D : 0);
    for (int d = 0; !s && d < COMP_DENSE_COUNT; d++) {
      const comp_dense *g = &got->dense[d], *w = &want->dense[d];
      if (!w->w) continue;
      n += g->d_out * g->d_in + (g->b ? g->d_out : 0);
      if (g->d_in != w->d_in || g->d_out != w->d_out || g->d_in_full != w->d_in_full || !g->in_idx ||
          memcmp(g->in_idx, w->in_idx, sizeof(int32_t) * (size_t)g->d_in) ||
          memcmp(g->w, w->w, sizeof(float) * (size_t)(g->d_out * g->d_in)))
        s = comp_error_set(COMP_ERR_INTERNAL, "readback: layer %d dense %d differs from what was written", i, d);
    }
    if (!s && (memcmp(got->attn_norm_w, sl->attn_norm_w, sizeof(float) * (size_t)a->hp.n_embd) ||
               n != comp_model_layer_n_params(a, i)))
      s = comp_error_set(COMP_ERR_INTERNAL, "readback: layer %d norms or parameter count differ", i);
    stored += n;
    comp_layer_free(&want);
    comp_model_layer_put(src, &sl);
    comp_model_layer_put(a, &got);
  }
  if (!s && comp_model_n_params(a) != stored)
    s = comp_error_set(COMP_ERR_INTERNAL, "readback: comp_model_n_params %lld, expected %lld",
                       (long long)comp_model_n_params(a), (long long)stored);
  if (!s) printf("readback ok: %d layers, %lld parameters stored\n", n_kept, (long long)comp_model_n_params(a));
  comp_model_destroy(&a);
  return s;
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  int rank, size, drop = 2, fail_rank = -1, skip = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc < 3) {
    if (rank == 0) fprintf(stderr, "usage: make_archive MODEL OUT.h5 [--drop L] [--fail-rank R] [--skip-layer I]\n");
    MPI_Finalize();
    return 2;
  }
  for (int i = 3; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--drop") == 0) drop = atoi(argv[i + 1]);
    if (strcmp(argv[i], "--fail-rank") == 0) fail_rank = atoi(argv[i + 1]);
    if (strcmp(argv[i], "--skip-layer") == 0) skip = atoi(argv[i + 1]);
  }
  comp_model   *m = NULL;
  comp_archive *a = NULL;
  comp_status   s = comp_dist_agree(MPI_COMM_WORLD, comp_model_load(argv[1], &m));
  int           L = s ? 0 : (int)m->hp.n_layer, n_kept = 0;
  int          *orig = calloc((size_t)L + 1, sizeof(int));
  int64_t      *kept = calloc((size_t)(L + 1) * COMP_DENSE_COUNT, sizeof(int64_t));
  for (int l = 0; !s && l < L; l++) { /* kept columns per dense (-1: the architecture lacks it) */
    comp_layer *ly;
    if (l == drop || (s = comp_model_layer_get(m, l, &ly))) continue;
    for (int d = 0; d < COMP_DENSE_COUNT; d++)
      kept[n_kept * COMP_DENSE_COUNT + d] = ly->dense[d].w ? kept_cols(l, d, ly->dense[d].d_in, NULL) : -1;
    comp_model_layer_put(m, &ly);
    orig[n_kept++] = l;
  }
  s = comp_dist_agree(MPI_COMM_WORLD, s);
  if (!s) s = comp_archive_create(argv[2], MPI_COMM_WORLD, NULL, NULL, &a);
  if (!s) s = comp_archive_put_source(a, m, "0123456789abcdef");
  if (!s) s = comp_archive_put_globals(a, m);
  if (!s) s = comp_archive_define_layers(a, m, n_kept, orig, kept);
  for (int i = rank; !s && i < n_kept; i += size) { /* my layers: independent writes */
    comp_layer *src = NULL, *pr = NULL;
    if (i == skip) continue;
    s = comp_model_layer_get(m, orig[i], &src);
    if (!s) s = prune_layer(src, orig[i], &pr);
    if (!s) s = comp_archive_write_layer(a, i, pr);
    comp_layer_free(&pr);
    comp_model_layer_put(m, &src);
  }
  s = comp_dist_agree(MPI_COMM_WORLD, s);
  /* driver metadata */
  double  imp[64], ratio[64 * COMP_DENSE_COUNT], tau = 0.25;
  int64_t removed[1] = {drop}, calib[5] = {3, 1, 4, 1, 5};
  for (int l = 0; l < L && l < 64; l++) imp[l] = 1.0 / (l + 1);
  for (int i = 0; i < n_kept * COMP_DENSE_COUNT; i++) ratio[i] = (double)kept[i] / 128.0;
  int64_t dl[1] = {L}, dr[2] = {n_kept, COMP_DENSE_COUNT}, d1[1] = {1}, d5[1] = {5}, d0[1] = {0};
  if (!s) s = comp_archive_put_i64(a, "/prune/removed_layers", 1, d1, removed);
  if (!s) s = comp_archive_put_f64(a, "/prune/layer_importance", 1, dl, imp);
  if (!s) s = comp_archive_put_f64(a, "/prune/ratios", 2, dr, ratio);
  if (!s) s = comp_archive_put_i64(a, "/prune/calib/indices", 1, d5, rank == 0 ? calib : NULL);
  if (!s) s = comp_archive_put_i64(a, "/prune/empty", 1, d0, NULL);
  if (!s) s = comp_archive_put_f64(a, "/prune/tau", 0, NULL, &tau);
  if (!s) s = comp_archive_put_attr_str(a, "/prune", "options_json", "{\"method\": \"test\", \"drop\": 2}");
  if (!s) s = comp_archive_put_attr_f64(a, "/prune", "tau", tau);
  if (!s) s = comp_archive_put_attr_i64(a, "/prune/calib", "n_samples", 5);
  if (!s && rank == fail_rank) s = comp_error_set(COMP_ERR_NUMERIC, "rank %d: pretend failure before close", rank);
  comp_status s2 = comp_archive_close(&a, s == COMP_OK); /* no agreement first: close handles a lone failure */
  s              = comp_dist_agree(MPI_COMM_WORLD, s);   /* the run's own failure is the message to report */
  if (!s) s = s2;                                        /* close's status is the same on every rank */
  if (!s && rank == 0) s = readback(argv[2], m, n_kept, orig);
  s = comp_dist_agree(MPI_COMM_WORLD, s);
  if (rank == 0) {
    if (s)
      fprintf(stderr, "make_archive: error: %s\n", comp_error_message());
    else
      printf("wrote %s: %d of %d layers kept, %d rank(s)\n", argv[2], n_kept, L, size);
  }
  free(orig), free(kept);
  comp_model_destroy(&m);
  MPI_Finalize();
  return s ? 1 : 0;
}
