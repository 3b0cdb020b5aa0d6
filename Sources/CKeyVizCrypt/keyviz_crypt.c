#include "keyviz_crypt.h"

#include <crypt.h>
#include <string.h>

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

int keyviz_crypt(const char *password, const char *setting, char *out, size_t out_size) {
    struct crypt_data data;
    memset(&data, 0, sizeof data);
    const char *computed = crypt_r(password, setting, &data);
    if (!computed || computed[0] == '*' || strlen(computed) + 1 > out_size) return 0;
    memcpy(out, computed, strlen(computed) + 1);
    return 1;
}
