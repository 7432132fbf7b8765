/*
 * comp/wstore.h - a read-only index of the tensors of a checkpoint, and reading them as fp32.
 *
 * A weight store maps tensor names to (file, byte offset, dtype, shape). It is filled from
 *   - a Hugging Face safetensors file (`model.safetensors`),
 *   - a sharded checkpoint (`model.safetensors.index.json` + shards), or
 *   - a llama2.c checkpoint (`*.bin`): the loader there gives every array its Hugging Face name,
 *     so the rest of the code asks for weights by one naming scheme only.
 * Nothing is mapped or held in memory beyond the index: comp_wstore_read() reads one tensor with
 * pread() and converts it to fp32, so a caller holds exactly the layers it asked for.
 *
 * Every header is validated when opened (header length, JSON, dtypes, shapes vs byte ranges, ranges
 * inside the file, no overlaps); errors name the file and the tensor.
 *
 *     comp_wstore *ws; COMP_CALL(comp_wstore_open_safetensors("m/model.safetensors", &ws));
 *     const comp_wtensor *t = comp_wstore_find(ws, "model.norm.weight");
 *     float *buf = malloc(t->numel * sizeof *buf); COMP_CALL(comp_wstore_read(ws, t, buf));
 *     comp_wstore_destroy(&ws);
 */
#ifndef COMP_WSTORE_H
#define COMP_WSTORE_H

#include <stdint.h>

#include "comp/error.h"

typedef enum comp_dtype { COMP_DTYPE_F32, COMP_DTYPE_F16, COMP_DTYPE_BF16, COMP_DTYPE_COUNT } comp_dtype;

typedef struct comp_wtensor {
  char      *name;     /* e.g. "model.layers.3.mlp.up_proj.weight"                    */
  comp_dtype dtype;    /* storage type; reads always give fp32                         */
  int        ndim;     /* 0..4                                                         */
  int64_t    shape[4]; /* row-major, slowest first (HF/torch order)                    */
  int64_t    numel;    /* product of shape (1 for ndim 0)                              */
  int        file;     /* index into the store's files                                 */
  uint64_t   offset;   /* absolute byte offset in that file                            */
  uint64_t   nbytes;   /* numel * element size                                         */
  int64_t    blk_rows; /* 0: contiguous; else shape[0] / blk_rows blocks of blk_rows rows, the first at
                          offset, each blk_stride rows of the file after the last (comp_wtensor_row_blocks) */
  int64_t blk_stride;
  int64_t tr_cols; /* 0: as stored; else the view is columns [tr_col0, tr_col0 + shape[0]) of a stored
                      (shape[1], tr_cols) tensor, transposed (comp_wtensor_cols_t: GPT-2's Conv1D) */
  int64_t tr_col0;
} comp_wtensor;

typedef struct comp_wstore comp_wstore;

comp_status comp_wstore_open_safetensors(const char *path, comp_wstore **out);
comp_status comp_wstore_open_sharded(const char *index_json_path, comp_wstore **out);
/* Create an empty store over files that the caller adds tensors to (used by the llama2.c loader). */
comp_status comp_wstore_create(comp_wstore **out);
comp_status comp_wstore_add_file(comp_wstore *ws, const char *path, int *file_index, uint64_t *file_size);
comp_status comp_wstore_add_tensor(comp_wstore *ws, const char *name, comp_dtype dtype, int ndim, const int64_t *shape,
                                   int file, uint64_t offset);
void        comp_wstore_destroy(comp_wstore **ws);

/* NULL if absent. */
const comp_wtensor *comp_wstore_find(const comp_wstore *ws, const char *name);
int                 comp_wstore_count(const comp_wstore *ws);
const comp_wtensor *comp_wstore_at(const comp_wstore *ws, int i);
const char         *comp_wstore_file_path(const comp_wstore *ws, int file);
int                 comp_wstore_file_count(const comp_wstore *ws);

/* A view of rows [row0, row0 + n_rows) of t (a contiguous byte range of the same file): *view is t
 * with its offset, first dimension, numel and nbytes narrowed; name stays t's (not owned). */
comp_status comp_wtensor_rows(const comp_wtensor *t, int64_t row0, int64_t n_rows, comp_wtensor *view);
/* A view of n_blk blocks of blk_rows rows of contiguous t: rows row0 + b * stride + [0, blk_rows) for
 * b < n_blk (a part of a tensor whose parts alternate head by head: GPT-NeoX's query_key_value). */
comp_status comp_wtensor_row_blocks(const comp_wtensor *t, int64_t row0, int64_t blk_rows, int64_t stride,
                                    int64_t n_blk, comp_wtensor *view);

/* A view of columns [col0, col0 + n_cols) of contiguous 2-D t, stored (rows, cols), as the
 * (n_cols, rows) matrix of their transpose (a Conv1D weight, stored (in, out), read as (out, in)). */
comp_status comp_wtensor_cols_t(const comp_wtensor *t, int64_t col0, int64_t n_cols, comp_wtensor *view);

/* Read tensor t converted to fp32 into dst (t->numel floats). */
comp_status comp_wstore_read(const comp_wstore *ws, const comp_wtensor *t, float *dst);

const char *comp_dtype_name(comp_dtype d);
int         comp_dtype_size(comp_dtype d);
float       comp_f16_to_f32(uint16_t h);
float       comp_bf16_to_f32(uint16_t h);

#endif
