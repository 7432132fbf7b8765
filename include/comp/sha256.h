/*
 * comp/sha256.h - SHA-256 (FIPS 180-4) of files, for provenance records.
 *
 *     char hex[65]; COMP_CALL(comp_sha256_file("model.safetensors", hex));
 */
#ifndef COMP_SHA256_H
#define COMP_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "comp/error.h"

typedef struct comp_sha256 {
  uint32_t h[8];
  uint64_t n; /* bytes hashed                 */
  uint8_t  buf[64];
  size_t   used; /* bytes waiting in buf         */
} comp_sha256;

void comp_sha256_init(comp_sha256 *c);
void comp_sha256_update(comp_sha256 *c, const void *data, size_t len);
void comp_sha256_final(comp_sha256 *c, char hex[65]); /* lowercase hex digest, NUL-terminated */

/* Hash a whole file (read in 1 MiB blocks). */
comp_status comp_sha256_file(const char *path, char hex[65]);
/* Hash the concatenation of n files, in order (one file: the same as comp_sha256_file). */
comp_status comp_sha256_files(const char *const *paths, int n, char hex[65]);

#endif
