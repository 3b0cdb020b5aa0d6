#include "keyviz_malloc.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

int keyviz_fix_mmap_threshold(int bytes) {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
    return mallopt(M_MMAP_THRESHOLD, bytes);
#else
    (void)bytes;
    return 0;
#endif
}
