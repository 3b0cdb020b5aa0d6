#ifndef KEYVIZ_CRYPT_H
#define KEYVIZ_CRYPT_H
// crypt_r(3) for Swift: struct crypt_data is too large for Swift's stack-allocated imports to
// be convenient, and the comparison must be constant time.
#include <stddef.h>

/// 1 when crypt(password, stored_hash) reproduces stored_hash (bcrypt $2b$/$2y$, SHA-256-crypt
/// $5$, SHA-512-crypt $6$, yescrypt $y$), compared in constant time; 0 otherwise.
int keyviz_crypt_matches(const char *password, const char *stored_hash);

/// crypt(password, setting) into `out` (NUL-terminated); 1 on success, 0 when crypt fails or
/// the result does not fit. Used to make a dummy hash with a configured hash's scheme and cost.
int keyviz_crypt(const char *password, const char *setting, char *out, size_t out_size);

#endif
