#include "keyviz_malloc.h"

/* Any libc header defines __GLIBC__ on glibc (through features.h); without one before the test
   below, it is undefined and mallopt silently became a no-op. */
#include <stdlib.h>
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

long long keyviz_heap_in_use_bytes(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 info = mallinfo2();
    return (long long)(info.uordblks + info.hblkhd);
#else
    return -1;
#endif
}
