#include "keyviz_zlib.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

size_t keyviz_gzip(const uint8_t *input, size_t input_length, int level, uint8_t **output) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
    uLong bound = deflateBound(&zs, (uLong)input_length);
    uint8_t *buffer = malloc(bound);
    if (!buffer) { deflateEnd(&zs); return 0; }
    zs.next_in = (Bytef *)input;
    zs.avail_in = (uInt)input_length;
    zs.next_out = buffer;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    size_t written = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) { free(buffer); return 0; }
    *output = buffer;
    return written;
}
