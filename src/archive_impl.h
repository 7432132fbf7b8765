/*
 * archive_impl.h - internals shared by the archive modules (archive.c: HDF5 helpers and the reader,
 * archive_write.c, archive_export.c, archive_info.c). Not a public header.
 */
#ifndef COMP_ARCHIVE_IMPL_H
#define COMP_ARCHIVE_IMPL_H

#include <hdf5.h>
#include <stdbool.h>
#include <stdint.h>

#include "comp/archive.h"

/* ---- HDF5 helpers (archive.c) ------------------------------------------------------------------ */

/* Turn off HDF5's automatic error-stack printing (library code never prints). */
void arc_h5_quiet(void);
/* The innermost message of the current HDF5 error stack ("" if none), for our one-line errors. */
const char *arc_h5_detail(void);

/* Attributes. Writers: all ranks call them with the same value when the file is open with MPI-IO.
 * An existing attribute is replaced. where: "file:/object" for messages. */
comp_status arc_attr_put_str(hid_t obj, const char *where, const char *name, const char *value);
comp_status arc_attr_put_i64(hid_t obj, const char *where, const char *name, int64_t value);
comp_status arc_attr_put_f64(hid_t obj, const char *where, const char *name, double value);
comp_status arc_attr_put_f64s(hid_t obj, const char *where, const char *name, int64_t n, const double *values);
/* Readers: a missing attribute is an error naming where/name. *value from get_str: free(). */
comp_status arc_attr_get_str(hid_t obj, const char *where, const char *name, char **value);
comp_status arc_attr_get_i64(hid_t obj, const char *where, const char *name, int64_t *value);
comp_status arc_attr_get_f64(hid_t obj, const char *where, const char *name, double *value);
/* A list of exactly n numbers. */
comp_status arc_attr_get_f64s(hid_t obj, const char *where, const char *name, int64_t n, double *values);

/* {attr: value} of every attribute of object h (strings, numbers, short numeric lists; a type note for
 * anything else), or NULL when it has none. where: "file:/object". (archive_info.c) */
struct cJSON *arc_attrs_json(hid_t h, const char *where);

/* Shape of dataset `name` under loc: *ndim (-1 if absent), dims (up to 8). */
comp_status arc_dset_shape(hid_t loc, const char *where, const char *name, int *ndim, int64_t dims[8]);
/* Read dataset `name` (numel elements expected, converted to float / int32). */
comp_status arc_read_f32(hid_t loc, const char *where, const char *name, int64_t numel, float *dst);
comp_status arc_read_i32(hid_t loc, const char *where, const char *name, int64_t numel, int32_t *dst);

/* (d_out, d_in_full) of dense d for hyper-parameters hp. */
/* The shortest decimal that reads back as f (1e-5f -> 1e-05, not 9.99999974737875e-06). */
double arc_float_clean(float f);
/* "none" / "half" / "interleaved" and back (-1 if unknown). */
const char *arc_rope_name(comp_rope_kind r);
int         arc_rope_from_name(const char *s);
/* Architecture by its table name ("llama"); COMP_ARCH_COUNT if unknown. */
comp_arch arc_arch_from_name(const char *name);

/* ---- the reader (archive.c) ------------------------------------------------------------------- */

/* Dataset names of a layer's vectors under /layers/NNN ("attn_norm_w", ..., "q_norm_w"). */
extern const char *const arc_vec_names[COMP_VEC_COUNT];
/* /model's dataset of each model-wide vector (comp_wide_vec) */
extern const char *const arc_wide_names[COMP_WIDE_VEC_COUNT];

typedef struct arc_dense_info {
  bool    present, has_b;
  int64_t d_out, k, d_in_full;
} arc_dense_info;

typedef struct arc_layer_info {
  int            orig;                    /* index in the source model          */
  int64_t        window;                  /* attention window (0: all keys)     */
  bool           nope;                    /* no RoPE (SmolLM3's NoPE layers)    */
  bool           has_vec[COMP_VEC_COUNT]; /* which of the layer's vectors it has */
  arc_dense_info dense[COMP_DENSE_COUNT];
} arc_layer_info;

typedef struct arc_reader {
  hid_t           file;
  char           *path;
  char           *config_json;  /* /source config_json                    */
  char           *source_path;  /* /source model_path                     */
  char           *source_arch;  /* /source arch                           */
  char           *model_sha256; /* /source model_sha256                   */
  char           *comp_version, *git_commit;
  int64_t         format_version, complete, n_layer_orig;
  comp_hparams    hp;            /* n_layer = kept layers                 */
  int64_t         parity_window; /* older Gemma-2 archives' local_window: the even source layers' window (0: none) */
  int             n;             /* kept layers                           */
  arc_layer_info *layers;        /* (n)                                   */
} arc_reader;

/* Open and validate an archive (everything but the layer data). allow_incomplete: for `comp info`.
 * Not collective. Close with arc_reader_close (NULL-safe). */
comp_status arc_reader_open(const char *path, bool allow_incomplete, arc_reader **out);
void        arc_reader_close(arc_reader **r);
/* Read the model-wide tensors into m (hp must be set). */
comp_status arc_reader_globals(arc_reader *r, comp_model *m);
/* Read kept layer l as a comp_layer with compact denses (free with comp_layer_free). */
comp_status arc_reader_layer(arc_reader *r, int l, comp_layer **out);
/* The reader behind an archive-backed model (comp_archive_load_model), NULL for other models. */
const arc_reader *arc_model_reader(const comp_model *m);
/* Floats stored for kept layer l / for one full-width (unpruned) copy of its structure. */
int64_t arc_layer_n_stored(const arc_reader *r, int l);
int64_t arc_layer_n_full(const arc_reader *r, int l);

#endif
