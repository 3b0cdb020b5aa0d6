#ifndef KEYVIZ_MALLOC_H
#define KEYVIZ_MALLOC_H
// glibc's mallopt for Swift (malloc.h is not part of the Glibc module).

/// Fixes glibc's mmap threshold at `bytes` (turning off its dynamic growth), so buffers at least
/// that large are mapped and unmapped directly instead of staying in per-thread arenas.
/// Returns 1 on success, 0 where mallopt is unavailable.
int keyviz_fix_mmap_threshold(int bytes);
#endif
