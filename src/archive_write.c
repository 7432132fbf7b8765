/* archive_write.c - writing a pruning archive with parallel HDF5 (see comp/archive.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive_impl.h"
#include "comp/dist.h"
#include "comp/util.h"
#include "comp/version.h"

/* Datasets of one kept layer, created collectively by define_layers and kept open so that writing
 * a layer is raw data only (no metadata operation, which would have to be collective). */
typedef struct arc_wlayer {
  hid_t   vec[COMP_VEC_COUNT]; /* -1 when absent         */
  hid_t   w[COMP_DENSE_COUNT], idx[COMP_DENSE_COUNT], b[COMP_DENSE_COUNT];
  int64_t k[COMP_DENSE_COUNT]; /* -1: dense absent          */
  int64_t d_out[COMP_DENSE_COUNT], d_in_full[COMP_DENSE_COUNT];
} arc_wlayer;

struct comp_archive {
  MPI_Comm       comm;
  int            rank, size;
  hid_t          file, dxpl; /* dxpl: independent raw-data transfers                     */
  char          *path, *tmp;
  bool           failed; /* a collective call failed: close(ok) will discard          */
  bool           have_source, have_globals;
  int            n_kept;  /* -1 until define_layers                                     */
  arc_wlayer    *ly;      /* (n_kept)                                                   */
  unsigned char *written; /* (n_kept) this rank wrote the layer                        */
};

/* ---- small collective helpers ------------------------------------------------------------------ */

/* Rank 0's string on every rank (malloc'd copy; NULL on rank 0 becomes ""). */
static comp_status bcast_str(comp_archive *a, const char *in, char **out)
{
  long long n = a->rank == 0 ? (long long)(in ? strlen(in) : 0) : 0;
  MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, a->comm);
  *out   = malloc((size_t)n + 1);
  int ok = *out != NULL, all;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, a->comm);
  if (!all) {
    free(*out);
    *out = NULL;
    return comp_error_set(COMP_ERR_NOMEM, "out of memory broadcasting %lld bytes", n);
  }
  if (a->rank == 0 && n) memcpy(*out, in, (size_t)n);
  (*out)[n] = '\0';
  for (long long off = 0; off < n; off += INT_MAX / 2) { /* MPI counts are int */
    long long c = n - off < INT_MAX / 2 ? n - off : INT_MAX / 2;
    MPI_Bcast(*out + off, (int)c, MPI_CHAR, 0, a->comm);
  }
  return COMP_OK;
}

/* Agree on s over all ranks; a failure marks the archive failed. */
static comp_status agree(comp_archive *a, comp_status s)
{
  s = comp_dist_agree(a->comm, s);
  if (s) a->failed = true;
  return s;
}

/* Does every component of absolute path p exist? (H5Lexists needs the parents to exist.) */
static bool path_exists(hid_t file, const char *p)
{
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", p);
  for (char *c = buf + 1;; c++) {
    if (*c == '/' || *c == '\0') {
      char save = *c;
      *c        = '\0';
      if (H5Lexists(file, buf, H5P_DEFAULT) <= 0) return false;
      if (!save) return true;
      *c = save;
    }
  }
}

static comp_status check_path(comp_archive *a, const char *p)
{
  COMP_CHECK(a && a->file >= 0, COMP_ERR_ARG, "archive is not open");
  COMP_CHECK(p && p[0] == '/' && p[1] && strlen(p) < 1000 && p[strlen(p) - 1] != '/' && !strstr(p, "//"), COMP_ERR_ARG,
             "%s: archive object name must be an absolute path like /prune/tau, got \"%s\"", a->path, p ? p : "(null)");
  return COMP_OK;
}

/* Create a dataset (contiguous, never filled: every byte is written by its owner). Collective. */
static hid_t dset_create(hid_t loc, const char *name, hid_t ftype, int ndim, const int64_t *dims)
{
  hsize_t h[8];
  for (int i = 0; i < ndim; i++) h[i] = (hsize_t)dims[i];
  hid_t sp   = ndim == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(ndim, h, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), lcpl = H5Pcreate(H5P_LINK_CREATE), d = -1;
  if (sp >= 0 && dcpl >= 0 && lcpl >= 0 && H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) >= 0 &&
      H5Pset_create_intermediate_group(lcpl, 1) >= 0)
    d = H5Dcreate2(loc, name, ftype, sp, lcpl, dcpl, H5P_DEFAULT);
  if (lcpl >= 0) H5Pclose(lcpl);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (sp >= 0) H5Sclose(sp);
  return d;
}

static hid_t group_create(hid_t loc, const char *name)
{
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), g = -1;
  if (lcpl >= 0 && H5Pset_create_intermediate_group(lcpl, 1) >= 0)
    g = H5Gcreate2(loc, name, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  if (lcpl >= 0) H5Pclose(lcpl);
  return g;
}

/* Rank 0 writes all of dataset d from mem (independent transfer); numel 0: nothing to write. */
static comp_status dset_write_root(comp_archive *a, hid_t d, const char *name, hid_t mtype, const void *mem,
                                   int64_t numel)
{
  if (a->rank != 0 || numel == 0) return COMP_OK;
  COMP_CHECK(mem, COMP_ERR_ARG, "%s: %s: no data given on rank 0", a->path, name);
  COMP_CHECK(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, a->dxpl, mem) >= 0, COMP_ERR_IO, "%s: writing %s failed: %s", a->tmp,
             name, arc_h5_detail());
  return COMP_OK;
}

/* Rank 0 writes the (rows, cols) model-wide tensor of role r to d a block of rows at a time, read
 * by comp_model_wide_rows (from memory, or from the weight store when the model left it there):
 * the whole tensor is never in memory at once. */
static comp_status dset_stream_rows(comp_archive *a, hid_t d, const char *name, const comp_model *src, comp_role r,
                                    int64_t rows, int64_t cols)
{
  enum { BLOCK_BYTES = 4 << 20 };
  const int64_t blk = cols > 0 && BLOCK_BYTES / (cols * 4) > 0 ? BLOCK_BYTES / (cols * 4) : 1;
  float        *buf = malloc(sizeof(float) * (size_t)((blk < rows ? blk : rows) * cols)); /* (blk, cols) */
  hid_t         fs = H5Dget_space(d), ms = -1;
  comp_status   s = buf || rows == 0 ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "%s: out of memory", a->path);
  if (!s && fs < 0) s = comp_error_set(COMP_ERR_IO, "%s: %s: no dataspace: %s", a->tmp, name, arc_h5_detail());
  for (int64_t r0 = 0; !s && r0 < rows; r0 += blk) {
    const hsize_t n = (hsize_t)(rows - r0 < blk ? rows - r0 : blk), start[2] = {(hsize_t)r0, 0},
                  count[2] = {n, (hsize_t)cols};
    if ((s = comp_model_wide_rows(src, r, r0, (int64_t)n, buf))) break;
    ms = H5Screate_simple(2, count, NULL);
    if (ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dwrite(d, H5T_NATIVE_FLOAT, ms, fs, a->dxpl, buf) < 0)
      s = comp_error_set(COMP_ERR_IO, "%s: writing %s failed: %s", a->tmp, name, arc_h5_detail());
    if (ms >= 0) H5Sclose(ms);
  }
  if (fs >= 0) H5Sclose(fs);
  free(buf);
  return s;
}

/* ---- create ------------------------------------------------------------------------------------ */

static void archive_free(comp_archive *a)
{
  if (!a) return;
  for (int i = 0; a->ly && i < a->n_kept; i++) {
    arc_wlayer *w = &a->ly[i];
    for (int j = 0; j < COMP_VEC_COUNT; j++)
      if (w->vec[j] >= 0) H5Dclose(w->vec[j]);
    for (int d = 0; d < COMP_DENSE_COUNT; d++) {
      if (w->w[d] >= 0) H5Dclose(w->w[d]);
      if (w->idx[d] >= 0) H5Dclose(w->idx[d]);
      if (w->b[d] >= 0) H5Dclose(w->b[d]);
    }
  }
  if (a->dxpl >= 0) H5Pclose(a->dxpl);
  free(a->ly), free(a->written), free(a->path), free(a->tmp);
  free(a);
}

comp_status comp_archive_create(const char *path, MPI_Comm comm, const char *comp_version, const char *git_commit,
                                comp_archive **out)
{
  *out            = NULL;
  comp_archive *a = calloc(1, sizeof *a);
  COMP_CHECK(a, COMP_ERR_NOMEM, "out of memory");
  arc_h5_quiet();
  a->comm = comm;
  a->file = a->dxpl = -1;
  a->n_kept         = -1;
  MPI_Comm_rank(comm, &a->rank);
  MPI_Comm_size(comm, &a->size);
  a->path       = strdup(path);
  a->tmp        = malloc(strlen(path) + 5);
  comp_status s = a->path && a->tmp ? COMP_OK : comp_error_set(COMP_ERR_NOMEM, "out of memory");
  if (!s) sprintf(a->tmp, "%s.tmp", path);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  /* MPI-IO, metadata written collectively; libver >= 1.8 keeps attributes over 64 KiB (options JSON) */
  if (!s && (fapl < 0 || H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) < 0 || H5Pset_coll_metadata_write(fapl, 1) < 0 ||
             H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0))
    s = comp_error_set(COMP_ERR_IO, "%s: cannot set up parallel HDF5 access: %s", path, arc_h5_detail());
  if (!s && (a->file = H5Fcreate(a->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0)
    s = comp_error_set(COMP_ERR_IO, "%s: cannot create: %s", a->tmp, arc_h5_detail());
  if (fapl >= 0) H5Pclose(fapl);
  if (!s && ((a->dxpl = H5Pcreate(H5P_DATASET_XFER)) < 0 || H5Pset_dxpl_mpio(a->dxpl, H5FD_MPIO_INDEPENDENT) < 0))
    s = comp_error_set(COMP_ERR_IO, "%s: cannot set up transfers: %s", path, arc_h5_detail());
  s = comp_dist_agree(comm, s);
  /* root attributes: complete = 0 until close(ok) */
  char *ver = NULL, *commit = NULL;
  if (!s) s = bcast_str(a, comp_version ? comp_version : COMP_VERSION, &ver);
  if (!s) s = bcast_str(a, git_commit ? git_commit : comp_git_commit(), &commit);
  if (!s) s = arc_attr_put_str(a->file, a->tmp, "format", COMP_ARCHIVE_FORMAT);
  if (!s) s = arc_attr_put_i64(a->file, a->tmp, "format_version", COMP_ARCHIVE_FORMAT_VERSION);
  if (!s) s = arc_attr_put_i64(a->file, a->tmp, "complete", 0);
  if (!s) s = arc_attr_put_str(a->file, a->tmp, "comp_version", ver);
  if (!s) s = arc_attr_put_str(a->file, a->tmp, "git_commit", commit);
  free(ver), free(commit);
  s = comp_dist_agree(comm, s);
  if (s) {
    if (a->file >= 0) {
      if (a->dxpl >= 0) H5Pclose(a->dxpl), a->dxpl = -1;
      H5Fclose(a->file);
      MPI_Barrier(comm);
      if (a->rank == 0) unlink(a->tmp);
    }
    archive_free(a);
    return s;
  }
  *out = a;
  return COMP_OK;
}

/* ---- /source and /model -------------------------------------------------------------------------- */

/* The HF-style config of a llama2.c checkpoint (the .bin has no config.json). */
static char *llama2c_config(const comp_hparams *hp)
{
  cJSON *j = cJSON_CreateObject(), *ar = cJSON_AddArrayToObject(j, "architectures");
  cJSON_AddItemToArray(ar, cJSON_CreateString("LlamaForCausalLM"));
  cJSON_AddStringToObject(j, "model_type", "llama");
  cJSON_AddNumberToObject(j, "hidden_size", (double)hp->n_embd);
  cJSON_AddNumberToObject(j, "intermediate_size", (double)hp->n_ff);
  cJSON_AddNumberToObject(j, "num_hidden_layers", (double)hp->n_layer);
  cJSON_AddNumberToObject(j, "num_attention_heads", (double)hp->n_head);
  cJSON_AddNumberToObject(j, "num_key_value_heads", (double)hp->n_head_kv);
  cJSON_AddNumberToObject(j, "vocab_size", (double)hp->n_vocab);
  cJSON_AddNumberToObject(j, "max_position_embeddings", (double)hp->n_ctx);
  cJSON_AddNumberToObject(j, "rms_norm_eps", arc_float_clean(hp->norm_eps));
  cJSON_AddNumberToObject(j, "rope_theta", arc_float_clean(hp->rope_theta));
  cJSON_AddBoolToObject(j, "tie_word_embeddings", hp->tied);
  cJSON_AddNumberToObject(j, "bos_token_id", hp->bos);
  cJSON_AddNumberToObject(j, "eos_token_id", hp->eos);
  cJSON_AddStringToObject(j, "hidden_act", "silu");
  cJSON_AddStringToObject(j, "torch_dtype", "float32");
  cJSON_AddStringToObject(j, "comp_source_format", "llama2.c (RoPE on interleaved pairs; HF export permutes q/k rows)");
  char *txt = comp_json_print(j, 1);
  cJSON_Delete(j);
  return txt;
}

comp_status comp_archive_put_source(comp_archive *a, const comp_model *src, const char *model_sha256)
{
  COMP_CHECK(a && a->file >= 0, COMP_ERR_ARG, "archive is not open");
  char       *cfg = NULL, *txt = NULL, *arch = NULL, *mpath = NULL, *sha = NULL, resolved[PATH_MAX], where[4200];
  comp_status s  = COMP_OK;
  const char *p0 = NULL;
  if (a->rank == 0) { /* rank 0 gathers the values, every rank writes the same attributes */
    const char *acfg = comp_archive_model_config(src);
    size_t      n;
    if (acfg) {
      cfg = strdup(acfg);
    } else if (src->hp.arch == COMP_ARCH_LLAMA2C) {
      cfg = llama2c_config(&src->hp);
    } else {
      snprintf(where, sizeof where, "%s/config.json", src->path);
      s = comp_read_file(where, &cfg, &n);
    }
    if (!s && !cfg) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
    p0 = realpath(src->path, resolved) ? resolved : src->path;
  }
  s = comp_dist_agree(a->comm, s);
  if (!s) s = bcast_str(a, cfg, &txt);
  if (!s) s = bcast_str(a, a->rank == 0 ? src->arch->name : NULL, &arch);
  if (!s) s = bcast_str(a, p0, &mpath);
  if (!s) s = bcast_str(a, model_sha256, &sha);
  long long nl = (long long)src->hp.n_layer;
  MPI_Bcast(&nl, 1, MPI_LONG_LONG, 0, a->comm);
  hid_t g = -1;
  snprintf(where, sizeof where, "%s:/source", a->tmp);
  if (!s && (g = group_create(a->file, "/source")) < 0)
    s = comp_error_set(COMP_ERR_IO, "%s: cannot create: %s", where, arc_h5_detail());
  if (!s) s = arc_attr_put_str(g, where, "config_json", txt);
  if (!s) s = arc_attr_put_str(g, where, "arch", arch);
  if (!s) s = arc_attr_put_str(g, where, "model_path", mpath);
  if (!s) s = arc_attr_put_str(g, where, "model_sha256", sha);
  if (!s) s = arc_attr_put_i64(g, where, "n_layer_orig", nl);
  if (g >= 0) H5Gclose(g);
  free(cfg), free(txt), free(arch), free(mpath), free(sha);
  s = agree(a, s);
  if (!s) a->have_source = true;
  return s;
}

/* The rope_scaling attributes of /model (none: nothing, so readers of older archives see the same). */
static comp_status put_rope_scaling(hid_t g, const char *where, const comp_rope_scaling *rs)
{
  if (rs->kind == COMP_ROPE_SCALING_NONE) return COMP_OK;
  COMP_CALL(arc_attr_put_str(g, where, "rope_scaling", comp_rope_scaling_name(rs->kind)));
  COMP_CALL(arc_attr_put_f64(g, where, "rope_scaling_factor", rs->factor));
  if (rs->kind == COMP_ROPE_SCALING_LINEAR) return COMP_OK;
  if (rs->kind == COMP_ROPE_SCALING_LLAMA3) {
    COMP_CALL(arc_attr_put_f64(g, where, "rope_scaling_low_freq_factor", rs->low_freq_factor));
    COMP_CALL(arc_attr_put_f64(g, where, "rope_scaling_high_freq_factor", rs->high_freq_factor));
  } else { /* LONGROPE, YARN: the resolved attention factor, and the ramp's ends or the factor lists */
    COMP_CALL(arc_attr_put_f64(g, where, "rope_scaling_attention_factor", rs->attention_factor));
  }
  if (rs->kind == COMP_ROPE_SCALING_YARN) {
    COMP_CALL(arc_attr_put_f64(g, where, "rope_scaling_beta_fast", rs->beta_fast));
    COMP_CALL(arc_attr_put_f64(g, where, "rope_scaling_beta_slow", rs->beta_slow));
    COMP_CALL(arc_attr_put_i64(g, where, "rope_scaling_truncate", rs->truncate));
  } else if (rs->kind == COMP_ROPE_SCALING_LONGROPE) { /* one factor per rotated pair in each list */
    COMP_CALL(arc_attr_put_f64s(g, where, "rope_scaling_short_factor", rs->n_pairs, rs->short_factor));
    COMP_CALL(arc_attr_put_f64s(g, where, "rope_scaling_long_factor", rs->n_pairs, rs->long_factor));
  }
  return arc_attr_put_i64(g, where, "rope_scaling_original_max_position_embeddings", rs->original_ctx);
}

comp_status comp_archive_put_globals(comp_archive *a, const comp_model *src)
{
  COMP_CHECK(a && a->file >= 0, COMP_ERR_ARG, "archive is not open");
  comp_hparams hp = src->hp; /* rank 0's, so that every rank writes identical metadata */
  MPI_Bcast(&hp, (int)sizeof hp, MPI_BYTE, 0, a->comm);
  const comp_arch_desc *ad = comp_arch_get(hp.arch);
  const int64_t         V = hp.n_vocab, D = hp.n_embd;
  char                  where[4200];
  snprintf(where, sizeof where, "%s:/model", a->tmp);
  comp_status s = COMP_OK;
  hid_t       g = group_create(a->file, "/model");
  if (g < 0) s = comp_error_set(COMP_ERR_IO, "%s: cannot create: %s", where, arc_h5_detail());
  const struct {
    const char *name;
    int64_t     v;
  } iattr[] = {{"n_vocab", V},
               {"n_embd", D},
               {"n_head", hp.n_head},
               {"n_head_kv", hp.n_head_kv},
               {"head_dim", hp.head_dim},
               {"n_ff", hp.n_ff},
               {"n_ctx", hp.n_ctx},
               {"rope_dim", hp.rope_dim},
               {"tied", hp.tied},
               {"bos", hp.bos},
               {"eos", hp.eos}};
  for (size_t i = 0; !s && i < sizeof iattr / sizeof iattr[0]; i++)
    s = arc_attr_put_i64(g, where, iattr[i].name, iattr[i].v);
  if (!s) s = arc_attr_put_f64(g, where, "norm_eps", arc_float_clean(hp.norm_eps));
  if (!s) s = arc_attr_put_f64(g, where, "rope_theta", arc_float_clean(hp.rope_theta));
  if (!s) s = arc_attr_put_str(g, where, "rope", arc_rope_name(hp.rope));
  if (!s && (ad->parallel || ad->cfg.parallel)) s = arc_attr_put_i64(g, where, "parallel", hp.parallel); /* Phi, NeoX */
  if (!s) s = put_rope_scaling(g, where, &hp.rope_scaling);
  if (!s && hp.sliding_window > 0) s = arc_attr_put_i64(g, where, "sliding_window", hp.sliding_window); /* if any */
  /* Gemma-2's attention and logit soft-caps and query scale, each only when set */
  if (!s && hp.attn_softcap > 0) s = arc_attr_put_f64(g, where, "attn_softcap", arc_float_clean(hp.attn_softcap));
  if (!s && hp.final_softcap > 0) s = arc_attr_put_f64(g, where, "final_softcap", arc_float_clean(hp.final_softcap));
  if (!s && hp.attn_scalar > 0) s = arc_attr_put_f64(g, where, "attn_scalar", arc_float_clean(hp.attn_scalar));
  if (!s && hp.rope_theta_local > 0) /* Gemma-3: the windowed layers' RoPE base */
    s = arc_attr_put_f64(g, where, "rope_theta_local", arc_float_clean(hp.rope_theta_local));
  if (!s && hp.logit_scale > 0)
    s = arc_attr_put_f64(g, where, "logit_scale", arc_float_clean(hp.logit_scale)); /* Cohere */
  /* Granite's multipliers and logit divisor */
  const struct {
    const char *name;
    float       v;
  } gattr[] = {{"embd_mult", hp.embd_mult},
               {"residual_mult", hp.residual_mult},
               {"attn_mult", hp.attn_mult},
               {"logit_div", hp.logit_div}};
  for (size_t i = 0; !s && i < sizeof gattr / sizeof gattr[0]; i++)
    if (gattr[i].v > 0) s = arc_attr_put_f64(g, where, gattr[i].name, arc_float_clean(gattr[i].v));
  /* which model-wide tensors exist is rank 0's view too: the positions, an untied head, each vector */
  enum { NW = COMP_WIDE_VEC_COUNT };
  int has[2 + NW] = {src->pos_embd != NULL, !hp.tied};
  for (int v = 0; v < NW; v++) has[2 + v] = comp_wide_vec_get(src, (comp_wide_vec)v) != NULL;
  MPI_Bcast(has, 2 + NW, MPI_INT, 0, a->comm);
  struct global_dset {
    const char  *name;
    bool         present;
    int64_t      rows, cols;
    const float *data; /* NULL: the (V, D) tensor of role streamed from src (comp_model_wide_rows) */
    comp_role    role;
  } t[3 + NW] = {{"tok_embd", true, V, D, NULL, COMP_ROLE_TOK_EMBD},
                 {"pos_embd", has[0], hp.n_ctx + ad->pos_offset, D, src->pos_embd, COMP_ROLE_POS_EMBD},
                 {"lm_head", has[1], V, D, NULL, COMP_ROLE_LM_HEAD}};
  for (int v = 0; v < NW; v++)
    t[3 + v] = (struct global_dset){arc_wide_names[v],
                                    has[2 + v],
                                    comp_wide_vec_len(&hp, (comp_wide_vec)v),
                                    0,
                                    comp_wide_vec_get(src, (comp_wide_vec)v),
                                    comp_wide_vec_role((comp_wide_vec)v)};
  for (size_t i = 0; !s && i < sizeof t / sizeof t[0]; i++) {
    if (!t[i].present) continue;
    int64_t dims[2] = {t[i].rows, t[i].cols};
    hid_t   d       = dset_create(g, t[i].name, H5T_IEEE_F32LE, t[i].cols ? 2 : 1, dims);
    if (d < 0) {
      s = comp_error_set(COMP_ERR_IO, "%s/%s: cannot create: %s", where, t[i].name, arc_h5_detail());
      break;
    }
    s = t[i].data || a->rank != 0
            ? dset_write_root(a, d, t[i].name, H5T_NATIVE_FLOAT, t[i].data, t[i].rows * (t[i].cols ? t[i].cols : 1))
            : dset_stream_rows(a, d, t[i].name, src, t[i].role, t[i].rows, t[i].cols);
    H5Dclose(d);
  }
  if (g >= 0) H5Gclose(g);
  s = agree(a, s);
  if (!s) a->have_globals = true;
  return s;
}

/* ---- layers ------------------------------------------------------------------------------------- */

/* Does layer l of model m have role r? (weight store or archive reader) */
static bool src_has_role(const comp_model *m, comp_role r, int l)
{
  const arc_reader *ar = arc_model_reader(m);
  if (ar) {
    if (l < 0 || l >= ar->n) return false;
    const arc_layer_info *li = &ar->layers[l];
    for (int v = 0; v < COMP_VEC_COUNT; v++)
      if (r == comp_layer_vec_role((comp_layer_vec)v)) return li->has_vec[v];
    for (int d = 0; d < COMP_DENSE_COUNT; d++) {
      if (r == comp_dense_weight_role((comp_dense_id)d)) return li->dense[d].present;
      if (r == comp_dense_bias_role((comp_dense_id)d)) return li->dense[d].has_b;
    }
    return false;
  }
  const char *tmpl = m->arch->tensor[r];
  if (!tmpl || m->arch->need[r] == COMP_NEED_ABSENT || !m->ws) return false;
  char name[256];
  snprintf(name, sizeof name, tmpl, l);
  return comp_model_find_tensor(m, name) != NULL;
}

comp_status comp_archive_define_layers(comp_archive *a, const comp_model *src, int n_kept, const int *orig_idx,
                                       const int64_t *kept)
{
  COMP_CHECK(a && a->file >= 0, COMP_ERR_ARG, "archive is not open");
  enum { C = COMP_DENSE_COUNT, NF = C + COMP_VEC_COUNT }; /* presence flags per layer: dense biases, vectors */
  comp_status  s  = a->n_kept < 0 ? COMP_OK : comp_error_set(COMP_ERR_ARG, "%s: layers defined twice", a->path);
  comp_hparams hp = src->hp;
  MPI_Bcast(&hp, (int)sizeof hp, MPI_BYTE, 0, a->comm);
  int n = n_kept;
  MPI_Bcast(&n, 1, MPI_INT, 0, a->comm);
  if (!s && (n < 0 || n > hp.n_layer))
    s = comp_error_set(COMP_ERR_ARG, "%s: %d kept layers of a %lld-layer model", a->path, n, (long long)hp.n_layer);
  s = agree(a, s);
  if (s) return s;
  int     *orig = malloc(sizeof(int) * (size_t)(n + 1));
  int64_t *k    = malloc(sizeof(int64_t) * (size_t)(n * C + 1));
  int     *flag = malloc(sizeof(int) * (size_t)(n * NF + 1));
  int64_t *win  = malloc(sizeof(int64_t) * (size_t)(2 * n + 1)); /* each kept layer's window, then its NoPE flag */
  a->ly         = calloc((size_t)n + 1, sizeof *a->ly);
  a->written    = calloc((size_t)n + 1, 1);
  if (!orig || !k || !flag || !win || !a->ly || !a->written) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  s = agree(a, s);
  if (!s) {
    a->n_kept = n;
    for (int i = 0; i < n; i++) {
      arc_wlayer *w = &a->ly[i];
      for (int j = 0; j < COMP_VEC_COUNT; j++) w->vec[j] = -1;
      for (int d = 0; d < C; d++) w->w[d] = w->idx[d] = w->b[d] = -1;
    }
    if (a->rank == 0) {
      memcpy(orig, orig_idx, sizeof(int) * (size_t)n);
      memcpy(k, kept, sizeof(int64_t) * (size_t)n * C);
      for (int i = 0; i < n; i++) {
        win[i]     = orig[i] >= 0 && orig[i] < hp.n_layer ? comp_model_layer_window(src, orig[i]) : 0;
        win[n + i] = orig[i] >= 0 && orig[i] < hp.n_layer && comp_model_layer_nope(src, orig[i]);
        for (int d = 0; d < C; d++)
          flag[i * NF + d] = src_has_role(src, comp_dense_bias_role((comp_dense_id)d), orig[i]);
        for (int v = 0; v < COMP_VEC_COUNT; v++)
          flag[i * NF + C + v] = src_has_role(src, comp_layer_vec_role((comp_layer_vec)v), orig[i]);
      }
    }
    MPI_Bcast(orig, n, MPI_INT, 0, a->comm);
    MPI_Bcast(k, n * C, MPI_INT64_T, 0, a->comm);
    MPI_Bcast(flag, n * NF, MPI_INT, 0, a->comm);
    MPI_Bcast(win, 2 * n, MPI_INT64_T, 0, a->comm);
    /* validate before creating anything (same data everywhere, so the same verdict) */
    const comp_arch_desc *ad = comp_arch_get(hp.arch);
    for (int i = 0; !s && i < n; i++) {
      if (orig[i] < 0 || orig[i] >= hp.n_layer || (i > 0 && orig[i] <= orig[i - 1]))
        s = comp_error_set(COMP_ERR_ARG, "%s: kept layer %d: source index %d is not ascending within 0..%lld", a->path,
                           i, orig[i], (long long)hp.n_layer - 1);
      for (int d = 0; !s && d < C; d++) {
        comp_role wr  = comp_dense_weight_role((comp_dense_id)d);
        bool      has = ad->tensor[wr] && ad->need[wr] != COMP_NEED_ABSENT;
        int64_t   dout, din;
        comp_dense_shape(&hp, (comp_dense_id)d, &dout, &din);
        if (has ? k[i * C + d] < 1 || k[i * C + d] > din : k[i * C + d] != -1)
          s = comp_error_set(COMP_ERR_ARG, "%s: kept layer %d dense %s: %lld kept columns (must be %s)", a->path, i,
                             comp_dense_name((comp_dense_id)d), (long long)k[i * C + d],
                             has ? "1..d_in_full" : "-1: absent in this architecture");
      }
    }
  }
  s = agree(a, s);
  /* create /layers/NNN with norms and one group per dense */
  hid_t lg = -1;
  char  where[4200];
  snprintf(where, sizeof where, "%s:/layers", a->tmp);
  if (!s && (lg = group_create(a->file, "/layers")) < 0)
    s = comp_error_set(COMP_ERR_IO, "%s: cannot create: %s", where, arc_h5_detail());
  if (!s) s = arc_attr_put_i64(lg, where, "n_layer", n);
  for (int i = 0; !s && i < n; i++) {
    arc_wlayer *w = &a->ly[i];
    char        name[32], lw[4300];
    snprintf(name, sizeof name, "%03d", i);
    snprintf(lw, sizeof lw, "%s/%s", where, name);
    hid_t g = group_create(lg, name);
    if (g < 0) {
      s = comp_error_set(COMP_ERR_IO, "%s: cannot create: %s", lw, arc_h5_detail());
      break;
    }
    s = arc_attr_put_i64(g, lw, "orig_index", orig[i]);
    if (!s && hp.sliding_window > 0) s = arc_attr_put_i64(g, lw, "window", win[i]); /* models with a window */
    if (!s && comp_arch_get(hp.arch)->cfg.rope_layers)                              /* SmolLM3: 0 for a NoPE layer */
      s = arc_attr_put_i64(g, lw, "rope", !win[n + i]);
    for (int j = 0; !s && j < COMP_VEC_COUNT; j++) {
      int64_t len = comp_layer_vec_len(&hp, (comp_layer_vec)j);
      if (flag[i * NF + C + j] && (w->vec[j] = dset_create(g, arc_vec_names[j], H5T_IEEE_F32LE, 1, &len)) < 0)
        s = comp_error_set(COMP_ERR_IO, "%s/%s: cannot create: %s", lw, arc_vec_names[j], arc_h5_detail());
    }
    for (int d = 0; !s && d < C; d++) {
      w->k[d] = k[i * C + d];
      if (w->k[d] < 0) continue;
      comp_dense_shape(&hp, (comp_dense_id)d, &w->d_out[d], &w->d_in_full[d]);
      char dw[4400];
      snprintf(dw, sizeof dw, "%s/%s", lw, comp_dense_name((comp_dense_id)d));
      hid_t   dg      = group_create(g, comp_dense_name((comp_dense_id)d));
      int64_t wdim[2] = {w->d_out[d], w->k[d]};
      if (dg < 0) s = comp_error_set(COMP_ERR_IO, "%s: cannot create: %s", dw, arc_h5_detail());
      if (!s) s = arc_attr_put_i64(dg, dw, "d_in_full", w->d_in_full[d]);
      if (!s) s = arc_attr_put_i64(dg, dw, "d_out", w->d_out[d]);
      if (!s && ((w->w[d] = dset_create(dg, "w", H5T_IEEE_F32LE, 2, wdim)) < 0 ||
                 (w->idx[d] = dset_create(dg, "in_idx", H5T_STD_I32LE, 1, &w->k[d])) < 0 ||
                 (flag[i * NF + d] && (w->b[d] = dset_create(dg, "b", H5T_IEEE_F32LE, 1, &w->d_out[d])) < 0)))
        s = comp_error_set(COMP_ERR_IO, "%s: cannot create datasets: %s", dw, arc_h5_detail());
      if (dg >= 0) H5Gclose(dg);
    }
    H5Gclose(g);
  }
  if (lg >= 0) H5Gclose(lg);
  free(orig), free(k), free(flag), free(win);
  return agree(a, s);
}

comp_status comp_archive_write_layer(comp_archive *a, int pos, const comp_layer *ly)
{
  COMP_CHECK(a && a->file >= 0 && a->n_kept >= 0, COMP_ERR_ARG, "archive is not open or has no layers defined");
  COMP_CHECK(pos >= 0 && pos < a->n_kept, COMP_ERR_ARG, "%s: kept layer %d out of range (%d defined)", a->path, pos,
             a->n_kept);
  const arc_wlayer *w = &a->ly[pos];
  const float      *nv[COMP_VEC_COUNT];
  int32_t          *iota = NULL;
  comp_status       s    = COMP_OK;
  for (int j = 0; j < COMP_VEC_COUNT; j++) nv[j] = comp_layer_vec_get(ly, (comp_layer_vec)j);
  /* check everything against the definition first: a partial layer is worse than none */
  for (int j = 0; !s && j < COMP_VEC_COUNT; j++)
    if ((w->vec[j] >= 0) != (nv[j] != NULL))
      s = comp_error_set(COMP_ERR_ARG, "%s: kept layer %d: %s is %s", a->path, pos, arc_vec_names[j],
                         nv[j] ? "given but was not defined" : "missing");
  int64_t max_k = 0;
  for (int d = 0; !s && d < COMP_DENSE_COUNT; d++) {
    const comp_dense *dn   = &ly->dense[d];
    const char       *name = comp_dense_name((comp_dense_id)d);
    if (w->k[d] < 0) {
      if (dn->w) s = comp_error_set(COMP_ERR_ARG, "%s: kept layer %d: dense %s was not defined", a->path, pos, name);
      continue;
    }
    int64_t full = dn->d_in_full ? dn->d_in_full : dn->d_in;
    if (!dn->w || dn->d_out != w->d_out[d] || full != w->d_in_full[d] || dn->d_in != w->k[d] ||
        (!dn->in_idx && dn->d_in != full))
      s = comp_error_set(COMP_ERR_ARG,
                         "%s: kept layer %d dense %s: got (d_out %lld, d_in %lld, d_in_full %lld%s), defined (%lld, "
                         "%lld, %lld)",
                         a->path, pos, name, (long long)dn->d_out, (long long)dn->d_in, (long long)full,
                         dn->w ? "" : ", no weights", (long long)w->d_out[d], (long long)w->k[d],
                         (long long)w->d_in_full[d]);
    else if ((w->b[d] >= 0) != (dn->b != NULL))
      s = comp_error_set(COMP_ERR_ARG, "%s: kept layer %d dense %s: bias %s", a->path, pos, name,
                         dn->b ? "given but not defined" : "missing");
    for (int64_t j = 0; !s && dn->in_idx && j < dn->d_in; j++)
      if (dn->in_idx[j] < 0 || dn->in_idx[j] >= full || (j > 0 && dn->in_idx[j] <= dn->in_idx[j - 1]))
        s = comp_error_set(COMP_ERR_ARG,
                           "%s: kept layer %d dense %s: in_idx[%lld] = %d not strictly ascending in [0, %lld)", a->path,
                           pos, name, (long long)j, dn->in_idx[j], (long long)full);
    if (!dn->in_idx && dn->d_in > max_k) max_k = dn->d_in;
  }
  if (!s && max_k > 0 && !(iota = malloc(sizeof(int32_t) * (size_t)max_k)))
    s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
  for (int64_t j = 0; !s && j < max_k; j++) iota[j] = (int32_t)j;
  /* raw data, independent transfers */
  for (int j = 0; !s && j < COMP_VEC_COUNT; j++)
    if (w->vec[j] >= 0 && H5Dwrite(w->vec[j], H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, a->dxpl, nv[j]) < 0)
      s = comp_error_set(COMP_ERR_IO, "%s: layer %03d/%s: write failed: %s", a->tmp, pos, arc_vec_names[j],
                         arc_h5_detail());
  for (int d = 0; !s && d < COMP_DENSE_COUNT; d++) {
    const comp_dense *dn = &ly->dense[d];
    if (w->k[d] < 0) continue;
    if (H5Dwrite(w->w[d], H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, a->dxpl, dn->w) < 0 ||
        H5Dwrite(w->idx[d], H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, a->dxpl, dn->in_idx ? dn->in_idx : iota) < 0 ||
        (w->b[d] >= 0 && H5Dwrite(w->b[d], H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, a->dxpl, dn->b) < 0))
      s = comp_error_set(COMP_ERR_IO, "%s: layer %03d/%s: write failed: %s", a->tmp, pos,
                         comp_dense_name((comp_dense_id)d), arc_h5_detail());
  }
  free(iota);
  if (!s) a->written[pos] = 1;
  return s;
}

/* ---- generic metadata -------------------------------------------------------------------------- */

static comp_status put_array(comp_archive *a, const char *name, int ndim, const int64_t *dims, const void *data,
                             hid_t ftype, hid_t mtype)
{
  COMP_CHECK(a && a->file >= 0, COMP_ERR_ARG, "archive is not open");
  char       *nm   = NULL;
  comp_status s    = bcast_str(a, name, &nm);
  int64_t     d[9] = {0};
  int         nd   = ndim;
  MPI_Bcast(&nd, 1, MPI_INT, 0, a->comm);
  if (!s && (nd < 0 || nd > 8)) s = comp_error_set(COMP_ERR_ARG, "%s: %s: ndim %d (0..8 allowed)", a->path, nm, nd);
  if (!s && a->rank == 0 && nd > 0) memcpy(d, dims, sizeof(int64_t) * (size_t)nd);
  if (!s) MPI_Bcast(d, 8, MPI_INT64_T, 0, a->comm);
  int64_t numel = 1;
  for (int i = 0; !s && i < nd; i++) {
    if (d[i] < 0 || (d[i] > 0 && numel > INT64_MAX / 8 / d[i]))
      s = comp_error_set(COMP_ERR_ARG, "%s: %s: bad dimension %lld", a->path, nm, (long long)d[i]);
    numel *= d[i];
  }
  if (!s) s = check_path(a, nm);
  if (!s && path_exists(a->file, nm)) s = comp_error_set(COMP_ERR_ARG, "%s: %s already exists", a->path, nm);
  s = agree(a, s);
  if (!s) {
    hid_t ds = dset_create(a->file, nm, ftype, nd, d);
    if (ds < 0) s = comp_error_set(COMP_ERR_IO, "%s:%s: cannot create: %s", a->tmp, nm, arc_h5_detail());
    if (!s) s = dset_write_root(a, ds, nm, mtype, data, numel);
    if (ds >= 0) H5Dclose(ds);
    s = agree(a, s);
  }
  free(nm);
  return s;
}

comp_status comp_archive_put_f64(comp_archive *a, const char *name, int ndim, const int64_t *dims, const double *data)
{
  return put_array(a, name, ndim, dims, data, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE);
}

comp_status comp_archive_put_i64(comp_archive *a, const char *name, int ndim, const int64_t *dims, const int64_t *data)
{
  return put_array(a, name, ndim, dims, data, H5T_STD_I64LE, H5T_NATIVE_INT64);
}

enum attr_kind { ATTR_STR, ATTR_F64, ATTR_I64 };

/* Attribute `name` on object obj (a group is created if obj does not exist). Collective. */
static comp_status put_attr(comp_archive *a, const char *obj, const char *name, enum attr_kind kind, const char *sv,
                            double dv, int64_t iv)
{
  COMP_CHECK(a && a->file >= 0, COMP_ERR_ARG, "archive is not open");
  char       *o = NULL, *nm = NULL, *str = NULL, where[1200];
  comp_status s = bcast_str(a, obj, &o);
  if (!s) s = bcast_str(a, name, &nm);
  if (!s && kind == ATTR_STR) s = bcast_str(a, sv, &str);
  MPI_Bcast(&dv, 1, MPI_DOUBLE, 0, a->comm);
  MPI_Bcast(&iv, 1, MPI_INT64_T, 0, a->comm);
  if (!s) s = check_path(a, o);
  if (!s && (!nm[0] || strchr(nm, '/')))
    s = comp_error_set(COMP_ERR_ARG, "%s: attribute name \"%s\" must be non-empty without '/'", a->path, nm);
  s       = agree(a, s);
  hid_t h = -1;
  if (!s) {
    snprintf(where, sizeof where, "%s:%s", a->tmp, o);
    if (!path_exists(a->file, o)) {
      hid_t g = group_create(a->file, o);
      if (g >= 0) H5Gclose(g);
    }
    if ((h = H5Oopen(a->file, o, H5P_DEFAULT)) < 0)
      s = comp_error_set(COMP_ERR_IO, "%s: cannot open or create: %s", where, arc_h5_detail());
  }
  if (!s && kind == ATTR_STR) s = arc_attr_put_str(h, where, nm, str);
  if (!s && kind == ATTR_F64) s = arc_attr_put_f64(h, where, nm, dv);
  if (!s && kind == ATTR_I64) s = arc_attr_put_i64(h, where, nm, iv);
  if (h >= 0) H5Oclose(h);
  free(o), free(nm), free(str);
  return agree(a, s);
}

comp_status comp_archive_put_attr_str(comp_archive *a, const char *obj, const char *name, const char *value)
{
  return put_attr(a, obj, name, ATTR_STR, value, 0, 0);
}

comp_status comp_archive_put_attr_f64(comp_archive *a, const char *obj, const char *name, double value)
{
  return put_attr(a, obj, name, ATTR_F64, NULL, value, 0);
}

comp_status comp_archive_put_attr_i64(comp_archive *a, const char *obj, const char *name, int64_t value)
{
  return put_attr(a, obj, name, ATTR_I64, NULL, 0, value);
}

/* ---- close --------------------------------------------------------------------------------------- */

comp_status comp_archive_close(comp_archive **ap, bool ok)
{
  if (!ap || !*ap) return COMP_OK;
  comp_archive *a = *ap;
  *ap             = NULL;
  int mine = ok && !a->failed, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_LAND, a->comm);
  comp_status s = COMP_OK;
  if (all) { /* a finished run: is everything there? */
    int *cnt = calloc((size_t)(a->n_kept > 0 ? a->n_kept : 1), sizeof(int));
    int *sum = calloc((size_t)(a->n_kept > 0 ? a->n_kept : 1), sizeof(int));
    if (!cnt || !sum) s = comp_error_set(COMP_ERR_NOMEM, "out of memory");
    for (int i = 0; !s && i < a->n_kept; i++) cnt[i] = a->written[i];
    s = comp_dist_agree(a->comm, s);
    if (!s && a->n_kept > 0) MPI_Allreduce(cnt, sum, a->n_kept, MPI_INT, MPI_SUM, a->comm);
    if (!s && !a->have_source)
      s = comp_error_set(COMP_ERR_ARG, "%s: comp_archive_put_source was never called", a->path);
    if (!s && !a->have_globals)
      s = comp_error_set(COMP_ERR_ARG, "%s: comp_archive_put_globals was never called", a->path);
    if (!s && a->n_kept < 0)
      s = comp_error_set(COMP_ERR_ARG, "%s: comp_archive_define_layers was never called", a->path);
    for (int i = 0; !s && i < a->n_kept; i++)
      if (sum[i] != 1)
        s = comp_error_set(COMP_ERR_ARG, "%s: kept layer %d was written by %d ranks (exactly one must write it)",
                           a->path, i, sum[i]);
    free(cnt), free(sum);
    if (!s) s = arc_attr_put_i64(a->file, a->tmp, "complete", 1); /* LAST: the file is finished */
    s = comp_dist_agree(a->comm, s);
  }
  /* close every handle (collective), then the file */
  for (int i = 0; a->ly && i < a->n_kept; i++) {
    arc_wlayer *w = &a->ly[i];
    for (int j = 0; j < COMP_VEC_COUNT; j++)
      if (w->vec[j] >= 0) H5Dclose(w->vec[j]), w->vec[j] = -1;
    for (int d = 0; d < COMP_DENSE_COUNT; d++) {
      if (w->w[d] >= 0) H5Dclose(w->w[d]), w->w[d] = -1;
      if (w->idx[d] >= 0) H5Dclose(w->idx[d]), w->idx[d] = -1;
      if (w->b[d] >= 0) H5Dclose(w->b[d]), w->b[d] = -1;
    }
  }
  comp_status cs =
      H5Fclose(a->file) < 0 ? comp_error_set(COMP_ERR_IO, "%s: close failed: %s", a->tmp, arc_h5_detail()) : COMP_OK;
  a->file = -1;
  cs      = comp_dist_agree(a->comm, cs);
  if (!s) s = cs;
  MPI_Barrier(a->comm); /* every rank has closed before the file is renamed or removed */
  bool completed = all && !s;
  int  err       = 0;
  if (a->rank == 0) {
    if (completed && rename(a->tmp, a->path) != 0) err = errno;
    if (!completed || err) unlink(a->tmp);
  }
  MPI_Bcast(&err, 1, MPI_INT, 0, a->comm);
  if (completed && err)
    s = comp_error_set(COMP_ERR_IO, "%s: cannot rename %s into place: %s", a->path, a->tmp, strerror(err));
  else if (!completed && !s)
    s = comp_error_set(COMP_ERR_IO, "%s: not written (the run failed%s)", a->path, mine ? " on another rank" : "");
  archive_free(a);
  return s;
}
