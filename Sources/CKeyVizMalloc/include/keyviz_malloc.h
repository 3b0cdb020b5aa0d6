#ifndef KEYVIZ_MALLOC_H
#define KEYVIZ_MALLOC_H
// glibc's mallopt and mallinfo2 for Swift (malloc.h is not part of the Glibc module).

/// Fixes glibc's mmap threshold at `bytes` (turning off its dynamic growth), so buffers at least
/// that large are mapped and unmapped directly instead of staying in per-thread arenas.
/// Returns 1 on success, 0 where mallopt is unavailable.
int keyviz_fix_mmap_threshold(int bytes);

/// Bytes the process has allocated with malloc and not freed (glibc's mallinfo2: arena chunks
/// in use plus mmapped chunks), or -1 where unavailable. Unlike resident memory, this does not
/// include free memory that glibc keeps in its arenas, so it shows live objects only.
long long keyviz_heap_in_use_bytes(void);
#endif
