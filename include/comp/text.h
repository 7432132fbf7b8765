/*
 * comp/text.h - evaluation and calibration text: read as is, checked to be non-empty UTF-8.
 *
 * The evaluation protocol (ALGORITHM.md §8) scores a file's content exactly as stored: datasets
 * made of rows are stored with rows joined by "\n\n", so no further processing happens here.
 */
#ifndef COMP_TEXT_H
#define COMP_TEXT_H

#include <stddef.h>

#include "comp/error.h"

/* Read path; error if missing, empty, or not valid UTF-8 (the message gives the byte offset). */
comp_status comp_text_read(const char *path, char **text, size_t *len);

/* Offset of the first invalid UTF-8 sequence in s, or len if the whole buffer is valid. */
size_t comp_utf8_invalid_at(const char *s, size_t len);

#endif
