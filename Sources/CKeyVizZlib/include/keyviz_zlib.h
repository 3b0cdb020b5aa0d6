#ifndef KEYVIZ_ZLIB_H
#define KEYVIZ_ZLIB_H
// gzip through zlib for Swift (zlib's stream API is macro-heavy: deflateInit2 is a macro).
#include <stddef.h>
#include <stdint.h>

/// gzip (RFC 1952) of `input` at `level`; returns the length written to *output (malloc'd,
/// freed by the caller with free), or 0 on failure.
size_t keyviz_gzip(const uint8_t *input, size_t input_length, int level, uint8_t **output);

#endif
