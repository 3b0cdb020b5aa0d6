#ifndef KEYVIZ_MHD_H
#define KEYVIZ_MHD_H
// Non-variadic wrappers over libmicrohttpd for Swift, which cannot call C variadic functions.
// The header names no libmicrohttpd type so that Swift sees those types through one module only
// (CMicroHTTPD); daemons and callbacks travel as void pointers.
#include <stddef.h>
#include <stdint.h>

/// Starts a daemon on an already listening socket. Returns the daemon (a struct MHD_Daemon *)
/// or NULL; libmicrohttpd says why through `log_line`. `notify_connection` (an
/// MHD_NotifyConnectionCallback) and `notify_completed` (an MHD_RequestCompletedCallback) may
/// be NULL; all callbacks receive `cls`. `log_line` is a `void (*)(void *cls, const char *line)`
/// that gets each libmicrohttpd message formatted, without its newline (the same function for
/// every daemon of the process). `strictness` is MHD_OPTION_STRICT_FOR_CLIENT. Percent-decoding
/// of the path and query never yields a NUL ("%00" stays as is).
void *keyviz_mhd_start(unsigned int flags, int listen_fd, unsigned int thread_pool_size,
                       unsigned int connection_limit, unsigned int connection_timeout_seconds,
                       size_t connection_memory_limit, int strictness, const char *tls_key_pem, const char *tls_cert_pem,
                       void *access_handler, void *notify_connection, void *notify_completed,
                       void *log_line, void *cls);

/// 0 when a connection's request headers are well formed beyond what libmicrohttpd checks;
/// 1 when a header name is not an RFC 9110 token (e.g. a space before the colon), 2 when
/// there is more than one Host header.
int keyviz_mhd_header_problem(void *connection);

/// The socket of a connection (a struct MHD_Connection *), or -1.
int keyviz_mhd_connection_fd(void *connection);

/// 1 when this libmicrohttpd was built with TLS (GnuTLS).
int keyviz_mhd_tls_supported(void);

#endif
