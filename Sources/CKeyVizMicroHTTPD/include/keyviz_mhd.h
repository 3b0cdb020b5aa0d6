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
/// be NULL, and so may `uri_log` (MHD_OPTION_URI_LOG_CALLBACK: its result is the request's
/// first `*con_cls`); all callbacks receive `cls`. `log_line` is a `void (*)(void *cls, const
/// char *line)` that gets each libmicrohttpd message formatted, without its newline (the same
/// function for every daemon of the process). `per_client_connection_limit` is
/// MHD_OPTION_PER_IP_CONNECTION_LIMIT (0: none). `strictness` is MHD_OPTION_STRICT_FOR_CLIENT.
/// Percent-decoding of the path and query never yields a NUL ("%00" stays as is).
void *keyviz_mhd_start(unsigned int flags, int listen_fd, unsigned int thread_pool_size,
                       unsigned int connection_limit, unsigned int per_client_connection_limit,
                       unsigned int connection_timeout_seconds,
                       size_t connection_memory_limit, int strictness, const char *tls_key_pem, const char *tls_cert_pem,
                       void *access_handler, void *notify_connection, void *notify_completed,
                       void *uri_log, void *log_line, void *cls);

/// Pool bytes libmicrohttpd 0.9.75 spends on each header field, cookie and query parameter it
/// records (a 56-byte record rounded up to its 16-byte alignment).
#define KEYVIZ_MHD_RECORD_BYTES 64

/// For a URI log callback: 0 when the raw request target `target` is at most
/// `max_target_bytes` long with at most `max_parameters` query parameters (pieces between
/// '&'); otherwise 1 (too long) or 2 (too many parameters), and the query is emptied in place
/// so that libmicrohttpd records none of it.
int keyviz_mhd_screen_target(const char *target, size_t max_target_bytes, unsigned int max_parameters);

/// Connection memory the request's head takes in libmicrohttpd's pool once its headers are in:
/// its bytes (request line, headers, blank line), a record per header field, cookie and query
/// parameter, and the copy of the Cookie header that cookies are split from.
size_t keyviz_mhd_head_cost(void *connection);

/// For the completion notifier of a request that ended with an error: the status of the response
/// that was queued for it when libmicrohttpd then failed to build that response's head (it had
/// too little connection memory left) and so wrote nothing, else 0. Reads and clears a flag of
/// the calling thread, set by the logger.
int keyviz_mhd_lost_answer_status(void *connection);

/// The status of the response libmicrohttpd queued for a connection's current request (its own
/// error answers included), or 0 when none was queued.
int keyviz_mhd_queued_status(void *connection);

/// Writes `count` bytes of a complete response straight to the connection (TLS through its
/// GnuTLS session), bypassing libmicrohttpd, then ends the sending side. Only for a request
/// libmicrohttpd has written nothing for and is closing. Returns the bytes written, or -1.
long keyviz_mhd_send_directly(void *connection, const void *bytes, size_t count);

/// 0 when a connection's request headers are well formed beyond what libmicrohttpd checks;
/// 1 when a header name is not an RFC 9110 token (e.g. a space before the colon), 2 when
/// there is more than one Host header.
int keyviz_mhd_header_problem(void *connection);

/// The socket of a connection (a struct MHD_Connection *), or -1.
int keyviz_mhd_connection_fd(void *connection);

/// 1 when this libmicrohttpd was built with TLS (GnuTLS).
int keyviz_mhd_tls_supported(void);

#endif
