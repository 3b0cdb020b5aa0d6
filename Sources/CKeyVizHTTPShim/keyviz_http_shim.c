#include "keyviz_http_shim.h"

#include <crypt.h>
#include <malloc.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void *keyviz_mhd_start(unsigned int flags, int listen_fd, unsigned int thread_pool_size,
                       unsigned int connection_limit, unsigned int connection_timeout_seconds,
                       size_t connection_memory_limit, const char *tls_key_pem, const char *tls_cert_pem,
                       void *access_handler, void *notify_connection, void *notify_completed, void *cls) {
    struct MHD_OptionItem options[12];
    int n = 0;
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, (intptr_t)listen_fd, NULL};
    if (thread_pool_size > 1)
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)thread_pool_size, NULL};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, (intptr_t)connection_limit, NULL};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)connection_timeout_seconds, NULL};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)connection_memory_limit, NULL};
    if (tls_key_pem && tls_cert_pem) {
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)tls_key_pem};
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)tls_cert_pem};
    }
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    if (notify_connection && notify_completed)
        return MHD_start_daemon(flags, 0, NULL, NULL, (MHD_AccessHandlerCallback)access_handler, cls,
                                MHD_OPTION_ARRAY, options,
                                MHD_OPTION_NOTIFY_CONNECTION, (MHD_NotifyConnectionCallback)notify_connection, cls,
                                MHD_OPTION_NOTIFY_COMPLETED, (MHD_RequestCompletedCallback)notify_completed, cls,
                                MHD_OPTION_END);
    return MHD_start_daemon(flags, 0, NULL, NULL, (MHD_AccessHandlerCallback)access_handler, cls,
                            MHD_OPTION_ARRAY, options, MHD_OPTION_END);
}

int keyviz_mhd_connection_fd(void *connection) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info((struct MHD_Connection *)connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info ? (int)info->connect_fd : -1;
}

int keyviz_mhd_tls_supported(void) {
    return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

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

int keyviz_crypt_matches(const char *password, const char *stored_hash) {
    struct crypt_data data;
    memset(&data, 0, sizeof data);
    const char *computed = crypt_r(password, stored_hash, &data);
    if (!computed || computed[0] == '*') return 0;
    size_t a = strlen(computed), b = strlen(stored_hash);
    unsigned char diff = (unsigned char)(a != b);
    size_t n = a < b ? a : b;
    for (size_t i = 0; i < n; i++) diff |= (unsigned char)(computed[i] ^ stored_hash[i]);
    return diff == 0;
}

int keyviz_fix_mmap_threshold(int bytes) {
#ifdef M_MMAP_THRESHOLD
    return mallopt(M_MMAP_THRESHOLD, bytes);
#else
    (void)bytes;
    return 0;
#endif
}
