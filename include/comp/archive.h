/*
 * comp/archive.h - the HDF5 archive that holds a pruned model, and everything that reads it back.
 *
 * A pruning run writes one archive (parallel HDF5, every rank writes the layers it pruned); the
 * archive is then a model like any other: comp_model_load("run.h5") reads it (compact weights),
 * `comp export run.h5 --out DIR` turns it back into a Hugging Face checkpoint of the original
 * architecture, `comp info run.h5` summarises it, and analysis/ reads it with h5py.
 *
 * ---- Layout, format_version 1 (the contract with analysis/ and h5py users) ----------------------
 *
 *   /                 attrs: format = "comp-archive", format_version = 1 (int),
 *                            complete (int: 0 at creation, set to 1 LAST when the run succeeded),
 *                            comp_version, git_commit (of the program that wrote it)
 *   /source           attrs: config_json (the source config.json verbatim; for llama2.c sources a
 *                            synthesized HF-style config), arch ("llama", "qwen2", "opt", "llama2c",
 *                            "chatglm"),
 *                            model_path (absolute when it could be resolved), model_sha256 (as
 *                            given by the writer, "" if none), n_layer_orig (int)
 *   /model            attrs: the hyper-parameters the archive is read with: n_vocab, n_embd, n_head,
 *                            n_head_kv, head_dim, n_ff, n_ctx, rope_dim (dims of a head RoPE
 *                            rotates; archives without it: head_dim), tied, bos, eos (int), norm_eps,
 *                            rope_theta (float64), rope ("none", "half", "interleaved");
 *                            only when the source config has a Hugging Face rope_scaling (absent:
 *                            plain RoPE, as in archives before them): rope_scaling ("linear",
 *                            "llama3", "longrope", "yarn"), rope_scaling_factor (float64), and for
 *                            llama3 rope_scaling_low_freq_factor, rope_scaling_high_freq_factor
 *                            (float64), for all but linear
 *                            rope_scaling_original_max_position_embeddings (int), for longrope and
 *                            yarn rope_scaling_attention_factor (float64, resolved), for longrope
 *                            rope_scaling_short_factor, rope_scaling_long_factor (float64 lists of
 *                            rope_dim / 2), for yarn rope_scaling_beta_fast, rope_scaling_beta_slow
 *                            (float64) and rope_scaling_truncate (int 0/1)
 *                            only with an attention window (Mistral's and Gemma-2's sliding_window;
 *                            absent: full attention, as in archives before it): sliding_window (int);
 *                            Gemma-2 archives written before per-layer windows have local_window
 *                            (int) instead: the even source layers' window, the odd ones attend to all;
 *                            only when set (Gemma-2, Gemma-3): attn_softcap, final_softcap,
 *                            attn_scalar, rope_theta_local (float64: the windowed layers' RoPE base);
 *                            only when set: logit_scale (float64: the logits' multiplier, Cohere),
 *                            embd_mult, residual_mult, attn_mult, logit_div (float64: Granite's
 *                            embedding_multiplier, residual_multiplier, attention_multiplier,
 *                            logits_scaling);
 *                            for architectures with a parallel block (Phi, GPT-NeoX): parallel (int:
 *                            1 when attention and MLP read the layer's input; absent: the row's)
 *      tok_embd       (V, D) f32
 *      pos_embd       (n_ctx + pos_offset, D) f32        only learned positions (OPT; pos_offset 2)
 *      out_norm_w     (D) f32
 *      out_norm_b     (D) f32                            only LayerNorm architectures
 *      lm_head        (V, D) f32                         only when the head is not tied
 *      lm_head_b      (V) f32                            only when the head has a bias (Phi-2)
 *      embd_norm_w, embd_norm_b (D) f32                  only with an embedding LayerNorm (BLOOM)
 *   /layers           attrs: n_layer (int, = number of kept layers)
 *      000, 001, ...  one group per KEPT layer, in model order; attrs: orig_index (int: its index
 *                     in the source model), and with a /model sliding_window: window (int: the keys
 *                     each query of this layer attends to, 0: all; absent: /model's sliding_window),
 *                     and in SmolLM3's archives: rope (int: 1 when the layer rotates q and k, 0 for a
 *                     NoPE layer; absent: 1)
 *         attn_norm_w (D) f32, attn_norm_b (D) f32 if any, ffn_norm_w (D) f32, ffn_norm_b (D) f32 if any
 *                     (none in OLMo's and OLMo-2's),
 *         q_norm_w, k_norm_w (head_dim) f32 if any (Qwen3's per-head RMSNorm of q and k; OLMo-2's norm all
 *                     heads at once: (n_head * head_dim) and (n_head_kv * head_dim)),
 *         attn_post_norm_w, ffn_post_norm_w (D) f32 if any (Gemma-2's and OLMo-2's norms of each block's output)
 *         q, k, v, o, gate, up, down      one group per dense the architecture has (the names of
 *                     comp_dense_name()); attrs d_in_full, d_out (int)
 *            w        (d_out, k) f32 = W[:, in_idx] · diag(m̂): the kept input columns, with the
 *                     refitted per-column scale folded in
 *            in_idx   (k) int32: which of the d_in_full inputs are kept, strictly ascending
 *            b        (d_out) f32, only if the dense has a bias
 *   /prune            the run record, written by `comp prune` (src/prune.c) through comp_archive_put_*();
 *                     L = layers of the SOURCE model, indexed by original layer, J = 7 denses in the
 *                     order q k v o gate up down (-1 where a dense is absent or the layer removed)
 *                     attrs: method ("comp", "shortgpt", "wanda-sp", "magnitude"), options_json (every
 *                            option as run, incl. model path, calibration file, seed), ratio_target,
 *                            ratio_achieved (removed/n_params, nominal: pruned columns + layers),
 *                            ratio_achieved_stripped (also dead upstream rows, ALGORITHM.md §6),
 *                            n_params, n_layer_params, removed_params, removed_params_stripped,
 *                            n_removed_layers, n_removed_layers_asked (before the budget clamp),
 *                            ranks, layers_from_journal (layers a --resume took from the journal),
 *                            slurm_job_id, slurm_array_job_id, slurm_array_task_id ("" outside Slurm),
 *                            sweep_cell, sweep_jobs (the `comp sweep` cell id and jobs file; "" outside
 *                            a sweep)   (numbers as float64)
 *      importance_iterations (n_removed + 1, L) f64  Eq. 3 at every stage-A iteration (NaN: removed)
 *      removal_order  (n_removed) i64      original indices, in removal order
 *      removal_step   (L) i64              position in removal_order, -1 if kept
 *      layer_importance (L) f64            Eq. 3 on the final layer-pruned model (NaN if removed)
 *      layer_target_ratio (L) f64          p_l of Eq. 10 (0 for protected layers)
 *      layer_achieved_ratio (L) f64        pruned dense params / N_layer
 *      layer_tau      (L) f64              accepted τ of Algorithm 1 (NaN: not by τ)
 *      pruned_columns, kept_columns (L, J) i64   input columns per dense
 *      layer_rank     (L) i64              MPI rank that pruned the layer (-1 if removed; after --resume
 *                                          the rank of the run that committed it to the journal)
 *      layer_seconds  (L) f64              stage C wall time per layer
 *      phase_seconds  (4) f64              calibration + stage A, stage B, stage C, archive write
 *      calib_start    (S) i64              token offset of each calibration window (after BOS)
 *      peak_rss_bytes (ranks) f64          peak resident memory of each rank
 *
 * Strings are variable-length UTF-8 (h5py returns str); integers int64 unless said otherwise.
 * Dense W_full of the pruned model is zero except W_full[:, in_idx] = w.
 *
 * ---- Writing (parallel HDF5, MPI-IO) ------------------------------------------------------------
 *
 * A run that fails must never leave something that looks like a finished archive: the file is
 * created as "<path>.tmp"; comp_archive_close(&a, true) sets complete = 1, closes, and renames it to
 * <path>; comp_archive_close(&a, false) removes it. Readers refuse archives whose complete != 1.
 *
 * Metadata operations (creating groups, datasets, attributes) are COLLECTIVE: every rank calls the
 * functions marked collective, in the same order (arguments are taken from rank 0, so other ranks
 * may pass the same values or, where noted, NULL data). Raw layer data is written independently by
 * the rank that owns the layer. Collective functions return the status agreed on all ranks.
 *
 *     comp_archive *a;
 *     COMP_CALL(comp_archive_create("run.h5", comm, COMP_VERSION, comp_git_commit(), &a));
 *     s = comp_archive_put_source(a, src, sha256_hex);                 collective
 *     s = comp_archive_put_globals(a, src);                            collective
 *     s = comp_archive_define_layers(a, src, n_kept, orig_idx, kept);  collective
 *     for my layers: s = comp_archive_write_layer(a, pos, layer);      independent
 *     s = comp_archive_put_f64(a, "/prune/tau", 0, NULL, &tau);        collective
 *     s = comp_dist_agree(comm, s);
 *     comp_status s2 = comp_archive_close(&a, s == COMP_OK);          collective
 *
 * ---- Reading -------------------------------------------------------------------------------------
 *
 * comp_model_load() recognises an archive by the HDF5 signature (not the extension) and gives a
 * comp_model with hp.n_layer = kept layers whose comp_model_layer_get() returns compact denses
 * (w (d_out, k), in_idx, d_in = k, d_in_full). Reading is serial (each rank opens the file
 * read-only); shapes are validated on load and in_idx when a layer is read.
 */
#ifndef COMP_ARCHIVE_H
#define COMP_ARCHIVE_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

#include "comp/error.h"
#include "comp/model.h"

#define COMP_ARCHIVE_FORMAT         "comp-archive"
#define COMP_ARCHIVE_FORMAT_VERSION 1

/* ---- writing -------------------------------------------------------------------------------- */

typedef struct comp_archive comp_archive;

/*
 * comp_archive_create - create "<path>.tmp" (truncating a stale one) with the root attributes.
 * Collective on comm. comp_version/git_commit NULL: this library's COMP_VERSION/comp_git_commit().
 * Out: *out, freed by comp_archive_close(). An existing <path> is left alone until a successful close
 * replaces it.
 */
comp_status comp_archive_create(const char *path, MPI_Comm comm, const char *comp_version, const char *git_commit,
                                comp_archive **out);

/* Collective; rank 0's data is written. /source from the source model src (config, arch, path);
 * model_sha256 may be NULL. */
comp_status comp_archive_put_source(comp_archive *a, const comp_model *src, const char *model_sha256);

/* Collective; rank 0's data is written. /model: hyper-parameters and model-wide tensors of src. */
comp_status comp_archive_put_globals(comp_archive *a, const comp_model *src);

/*
 * comp_archive_define_layers - create the datasets of every kept layer (called once).
 * Collective. In: orig_idx (n_kept) source layer of each kept layer, strictly ascending;
 * kept (n_kept * COMP_DENSE_COUNT) kept input columns of dense d of kept layer i at
 * [i * COMP_DENSE_COUNT + d], 1 <= k <= d_in_full, or -1 for a dense the architecture lacks.
 * Which biases and norm biases exist is taken from src.
 */
comp_status comp_archive_define_layers(comp_archive *a, const comp_model *src, int n_kept, const int *orig_idx,
                                       const int64_t *kept);

/*
 * comp_archive_write_layer - write kept layer `pos` (0..n_kept-1). Independent: only the rank that
 * owns the layer calls it, each layer is written by exactly one rank (checked at close).
 * ly: norms as in the source; every dense compact (w (d_out, k), in_idx (k) strictly ascending,
 * d_in = k, d_in_full) or with in_idx == NULL meaning all d_in_full columns kept; shapes and bias
 * presence must match what comp_archive_define_layers() declared.
 */
comp_status comp_archive_write_layer(comp_archive *a, int pos, const comp_layer *ly);

/*
 * Generic metadata for the driver. Collective; every argument is taken from rank 0 (other ranks may
 * pass data == NULL). name/obj are absolute paths such as "/prune/tau"; missing intermediate groups
 * are created. Datasets: ndim 0 (scalar, dims may be NULL) to 8, dims may contain 0 (empty).
 * A dataset that exists is an error; an attribute that exists is replaced.
 */
comp_status comp_archive_put_f64(comp_archive *a, const char *name, int ndim, const int64_t *dims, const double *data);
comp_status comp_archive_put_i64(comp_archive *a, const char *name, int ndim, const int64_t *dims, const int64_t *data);
comp_status comp_archive_put_attr_str(comp_archive *a, const char *obj, const char *name, const char *value);
comp_status comp_archive_put_attr_f64(comp_archive *a, const char *obj, const char *name, double value);
comp_status comp_archive_put_attr_i64(comp_archive *a, const char *obj, const char *name, int64_t value);

/*
 * comp_archive_close - finish or discard the archive. Collective. Always frees *a (NULL is fine).
 * ok true on EVERY rank (and source, globals and each defined layer written exactly once): set
 * complete = 1, close, rank 0 renames "<path>.tmp" to <path>. Otherwise: close and delete the tmp file.
 * Returns COMP_OK only when the archive was completed; a rank's own earlier error message is kept.
 */
comp_status comp_archive_close(comp_archive **a, bool ok);

/* ---- reading -------------------------------------------------------------------------------- */

/* true if path is a regular file starting with the 8-byte HDF5 signature \x89HDF\r\n\x1a\n. */
bool comp_archive_is_hdf5(const char *path);

/*
 * comp_archive_file_kind - what an HDF5 file of this project is, from its root attributes: fmt (cap
 * bytes) = the format attribute ("comp-archive", "comp-eval", ...; "" when the file is absent, not
 * HDF5 or has none), *complete = the complete attribute (0 when absent). Never fails; not collective.
 * A finished pruning archive: fmt "comp-archive" and *complete == 1.
 */
void comp_archive_file_kind(const char *path, char *fmt, size_t cap, int64_t *complete);

/*
 * comp_archive_load_model - fill m (allocated by comp_model_load, m->path set) from the archive at
 * path: hyper-parameters, model-wide tensors, a layer reader (m->reader) and m->src_path.
 * Refuses incomplete archives. Not collective. On error m may be partly filled: comp_model_destroy it.
 */
comp_status comp_archive_load_model(const char *path, comp_model *m);

/* For an archive-backed model (m->reader installed by comp_archive_load_model): the source config.json
 * text and the source layer index of kept layer l. NULL / -1 otherwise. */
const char *comp_archive_model_config(const comp_model *m);
int         comp_archive_model_orig_index(const comp_model *m, int l);
/* For an archive-backed model: its /source model_sha256 (the weights it was pruned from). NULL otherwise. */
const char *comp_archive_model_sha256(const comp_model *m);

/* ---- tools ---------------------------------------------------------------------------------- */

/*
 * comp_archive_export_hf - write a Hugging Face checkpoint of the archive in the source architecture:
 * config.json (source config with the layer count updated, torch_dtype float32, and rope_scaling as
 * /model's attributes say, in Hugging Face's form: rope_type and its kind's fields), model.safetensors
 * (F32, layers renumbered 0..n_kept-1, every dense expanded to full width with zeros in the pruned
 * columns), and the tokenizer files of the source directory when it still exists, with the modeling
 * code its auto_map names (trust_remote_code checkpoints such as ChatGLM). Fused tensors of the source
 * format (ChatGLM's query_key_value, dense_h_to_4h) are written fused again, each part expanded to
 * full width on its own. Written to a
 * temporary directory beside out_dir and renamed; a non-empty out_dir is refused unless force (then it
 * must be a flat directory of files, which is replaced). Not collective (one process).
 * llama2.c sources become a Hugging Face LLaMA: q/k rows are permuted from interleaved to rotate-half
 * RoPE order, and no tokenizer is copied (use --tokenizer with the llama2.c tokenizer.bin).
 * Out: *n_tokenizer_files (may be NULL) how many tokenizer/generation/modeling-code files were copied.
 */
comp_status comp_archive_export_hf(const char *archive_path, const char *out_dir, bool force, int *n_tokenizer_files);

struct cJSON;
/*
 * comp_archive_describe - a JSON description of an archive (incomplete ones too, with complete false):
 * format, provenance, source, /model's attributes ("model": the hyper-parameters the archive is read
 * with), kept/removed layers, parameter counts (dense original vs stored), per
 * layer kept columns per dense, and everything under /prune (attributes with their values, datasets
 * with shape, dtype and, when small, values). Not collective. *out: free with cJSON_Delete().
 */
comp_status comp_archive_describe(const char *path, struct cJSON **out);

#endif
