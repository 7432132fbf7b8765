/*
 * comp/error.h - one status type for the whole code base, and how errors travel.
 *
 * Every library function that can fail returns comp_status. The first function that detects a
 * problem records one human-readable line with comp_error_set() (naming the file and what is
 * wrong) and returns the status; callers propagate it unchanged with COMP_CALL, or release what
 * they own and return it from a single exit label. Library code never prints errors and never
 * calls exit(): only main() decides between MPI_Finalize and MPI_Abort.
 *
 *     COMP_CHECK(n_head > 0, COMP_ERR_FORMAT, "%s: num_attention_heads must be > 0", path);
 *     COMP_CALL(comp_tokenizer_encode(tok, text, len, true, &ids, &n));
 *
 * Not thread-safe by design: the message lives in one per-process buffer, like errno.
 */
#ifndef COMP_ERROR_H
#define COMP_ERROR_H

#define COMP_STATUS_LIST(X)                                                                                            \
  X(OK, "success")                                                                                                     \
  X(ERR_NOMEM, "out of memory")                                                                                        \
  X(ERR_IO, "file I/O failed")                                                                                         \
  X(ERR_FORMAT, "malformed input")                                                                                     \
  X(ERR_ARG, "invalid argument")                                                                                       \
  X(ERR_MPI, "MPI call failed")                                                                                        \
  X(ERR_UNSUPPORTED, "not supported")                                                                                  \
  X(ERR_NUMERIC, "numerical failure")                                                                                  \
  X(ERR_INTERNAL, "internal error")

typedef enum comp_status {
#define COMP_X(name, msg) COMP_##name,
  COMP_STATUS_LIST(COMP_X)
#undef COMP_X
      COMP_STATUS_COUNT
} comp_status;

/* Short generic description of a status ("malformed input"). Never NULL. */
const char *comp_status_str(comp_status s);

/* Record the message for status s (printf-style) unless one is already recorded, and return s.
 * The message should name the offending file or option and say what is wrong, in one line. */
comp_status comp_error_set(comp_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The recorded message, or comp_status_str of the last status if none was recorded. */
const char *comp_error_message(void);

/* Forget the recorded message (call after an error has been reported or deliberately ignored). */
void comp_error_clear(void);

/* Propagate a non-OK status to the caller. The only control-flow macro in the code base. */
#define COMP_CALL(expr)                                                                                                \
  do {                                                                                                                 \
    comp_status comp_call_s_ = (expr);                                                                                 \
    if (comp_call_s_ != COMP_OK) return comp_call_s_;                                                                  \
  } while (0)

/* Input/usage check that is always compiled in: on failure record the message and return. */
#define COMP_CHECK(cond, status, ...)                                                                                  \
  do {                                                                                                                 \
    if (!(cond)) return comp_error_set((status), __VA_ARGS__);                                                         \
  } while (0)

#endif /* COMP_ERROR_H */
