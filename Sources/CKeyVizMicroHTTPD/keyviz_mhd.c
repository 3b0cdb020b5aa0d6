#include "keyviz_mhd.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdarg.h>
#include <dlfcn.h>
#include <sys/socket.h>
#include <sys/types.h>

/* The host's line logger; the same function for every daemon, so one static slot is enough. */
static void (*_Atomic log_line_callback)(void *cls, const char *line);

/* Set on a connection's thread when libmicrohttpd gives up building a response's head, which it
   says only in this message, just before it closes the connection (and calls the completion
   notifier) on the same thread. */
static _Thread_local int answer_lost;

static void keyviz_mhd_log(void *cls, const char *format, va_list ap) {
    char line[512];
    vsnprintf(line, sizeof line, format, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    if (strstr(line, "failed to create") && strstr(line, "response header")) answer_lost = 1;
    void (*callback)(void *, const char *) = log_line_callback;
    if (callback) callback(cls, line);
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decoding for the path and query arguments that never produces a NUL: "%00" stays as
   the three characters, so "/metrics%00" cannot alias "/metrics" once read as a C string. */
static size_t keyviz_unescape(void *cls, struct MHD_Connection *connection, char *s) {
    (void)cls; (void)connection;
    char *out = s;
    for (const char *in = s; *in; ) {
        if (in[0] == '%' && in[1] && in[2]) {
            int hi = hex_value(in[1]), lo = hex_value(in[2]);
            if (hi >= 0 && lo >= 0 && (hi | lo) != 0) {
                *out++ = (char)(hi * 16 + lo);
                in += 3;
                continue;
            }
        }
        *out++ = *in++;
    }
    *out = '\0';
    return (size_t)(out - s);
}

void *keyviz_mhd_start(unsigned int flags, int listen_fd, unsigned int thread_pool_size,
                       unsigned int connection_limit, unsigned int per_client_connection_limit,
                       unsigned int connection_timeout_seconds,
                       size_t connection_memory_limit, int strictness, const char *tls_key_pem, const char *tls_cert_pem,
                       void *access_handler, void *notify_connection, void *notify_completed,
                       void *uri_log, void *log_line, void *cls) {
    struct MHD_OptionItem options[16];
    int n = 0;
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, (intptr_t)listen_fd, NULL};
    if (thread_pool_size > 1)
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)thread_pool_size, NULL};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, (intptr_t)connection_limit, NULL};
    if (per_client_connection_limit > 0)
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)per_client_connection_limit, NULL};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)connection_timeout_seconds, NULL};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)connection_memory_limit, NULL};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_STRICT_FOR_CLIENT, (intptr_t)strictness, NULL};
    if (uri_log)
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)uri_log, cls};
    if (tls_key_pem && tls_cert_pem) {
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)tls_key_pem};
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)tls_cert_pem};
    }
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    if (log_line) log_line_callback = (void (*)(void *, const char *))log_line;
    /* The logger comes first so that start-up messages go through it too. */
    if (notify_connection && notify_completed)
        return MHD_start_daemon(flags, 0, NULL, NULL, (MHD_AccessHandlerCallback)access_handler, cls,
                                MHD_OPTION_EXTERNAL_LOGGER, keyviz_mhd_log, cls,
                                MHD_OPTION_UNESCAPE_CALLBACK, keyviz_unescape, NULL,
                                MHD_OPTION_ARRAY, options,
                                MHD_OPTION_NOTIFY_CONNECTION, (MHD_NotifyConnectionCallback)notify_connection, cls,
                                MHD_OPTION_NOTIFY_COMPLETED, (MHD_RequestCompletedCallback)notify_completed, cls,
                                MHD_OPTION_END);
    return MHD_start_daemon(flags, 0, NULL, NULL, (MHD_AccessHandlerCallback)access_handler, cls,
                            MHD_OPTION_EXTERNAL_LOGGER, keyviz_mhd_log, cls,
                            MHD_OPTION_UNESCAPE_CALLBACK, keyviz_unescape, NULL,
                            MHD_OPTION_ARRAY, options, MHD_OPTION_END);
}

int keyviz_mhd_screen_target(const char *target, size_t max_target_bytes, unsigned int max_parameters) {
    if (!target) return 0;
    /* libmicrohttpd hands over the raw target, NUL-terminated inside its own writable read
       buffer, and splits the query at '&' into one pool record per parameter right after this
       callback returns. */
    char *query = strchr(target, '?');
    int problem = 0;
    if (strlen(target) > max_target_bytes) {
        problem = 1;
    } else if (query) {
        unsigned int parameters = 1;
        for (const char *c = query + 1; *c; c++) if (*c == '&') parameters++;
        if (parameters > max_parameters) problem = 2;
    }
    /* A refused query is emptied so that no parameter record is made: running out of pool
       there drops the connection unanswered (libmicrohttpd 0.9.75 overwrites its own 431). */
    if (problem && query) query[1] = '\0';
    return problem;
}

size_t keyviz_mhd_head_cost(void *connection) {
    struct MHD_Connection *c = connection;
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    size_t cost = info ? info->header_size : 0;
    int records = MHD_get_connection_values(c, MHD_HEADER_KIND | MHD_COOKIE_KIND | MHD_GET_ARGUMENT_KIND, NULL, NULL);
    if (records > 0) cost += (size_t)records * KEYVIZ_MHD_RECORD_BYTES;
    const char *cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
    if (cookie) cost += strlen(cookie) + 1;
    return cost;
}

int keyviz_mhd_lost_answer_status(void *connection) {
    if (!answer_lost) return 0;
    answer_lost = 0;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info((struct MHD_Connection *)connection, MHD_CONNECTION_INFO_HTTP_STATUS);
    return info ? (int)info->http_status : 431;
}

int keyviz_mhd_queued_status(void *connection) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info((struct MHD_Connection *)connection, MHD_CONNECTION_INFO_HTTP_STATUS);
    return info ? (int)info->http_status : 0;
}

typedef ssize_t (*record_send_fn)(void *session, const void *data, size_t size);

long keyviz_mhd_send_directly(void *connection, const void *bytes, size_t count) {
    struct MHD_Connection *c = connection;
    const union MHD_ConnectionInfo *tls = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (tls && tls->tls_session) {
        /* GnuTLS is loaded with libmicrohttpd; looked up at run time so this target does not
           have to link it. */
        static _Atomic record_send_fn record_send;
        if (!record_send) record_send = (record_send_fn)dlsym(RTLD_DEFAULT, "gnutls_record_send");
        if (!record_send) return -1;
        ssize_t n = record_send(tls->tls_session, bytes, count);
        return n < 0 ? -1 : (long)n;
    }
    int fd = keyviz_mhd_connection_fd(connection);
    if (fd < 0) return -1;
    size_t sent = 0;
    while (sent < count) {
        ssize_t n = send(fd, (const char *)bytes + sent, count - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0) break;
        sent += (size_t)n;
    }
    /* The FIN follows the answer, so closing the socket later cannot cut it short. */
    if (sent == count) shutdown(fd, SHUT_WR);
    return (long)sent;
}

/* RFC 9110 token characters (a header field name is a token). */
static int is_token(const char *s) {
    if (!*s) return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 'a' && c <= 'z') continue;
        if (c >= 'A' && c <= 'Z') continue;
        if (c >= '0' && c <= '9') continue;
        if (strchr("!#$%&'*+-.^_`|~", c) && c != 0) continue;
        return 0;
    }
    return 1;
}

struct header_scan { int hosts; int bad_names; };

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind; (void)value;
    struct header_scan *scan = cls;
    if (!key || !is_token(key)) scan->bad_names++;
    else if (strcasecmp(key, "host") == 0) scan->hosts++;
    return MHD_YES;
}

int keyviz_mhd_header_problem(void *connection) {
    struct header_scan scan = {0, 0};
    MHD_get_connection_values((struct MHD_Connection *)connection, MHD_HEADER_KIND, scan_header, &scan);
    if (scan.bad_names > 0) return 1;
    if (scan.hosts > 1) return 2;
    return 0;
}

int keyviz_mhd_connection_fd(void *connection) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info((struct MHD_Connection *)connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info ? (int)info->connect_fd : -1;
}

int keyviz_mhd_tls_supported(void) {
    return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}
