/*
 * arena.h - bump allocator that owns a batch's memory.
 *
 * An arena is a chain of blocks. Allocation bumps a pointer; nothing is
 * freed on its own; td_arena_unref() on the last reference frees every
 * block at once. Arenas are reference counted so that a batch built by
 * merging others (the batch processor) can keep their memory alive without
 * copying it. One thread allocates from an arena at a time; references
 * may be taken and dropped from any thread.
 *
 * Every arena's blocks count in the process-wide memory budget
 * (budget.h) from the malloc of a block to its free.
 */
#ifndef TD_ARENA_H
#define TD_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct td_arena td_arena;

/*
 * Creates an arena whose first block holds at least first_block bytes
 * (0 picks a default). Returns NULL when out of memory. The caller holds
 * one reference.
 */
td_arena *td_arena_new(size_t first_block);

/* Takes one more reference. */
void td_arena_ref(td_arena *a);

/* Drops a reference; the last one frees every block. NULL is ignored. */
void td_arena_unref(td_arena *a);

/*
 * Returns size bytes aligned to 8 (16 for requests of 16 and more), or
 * NULL when out of memory. The memory is not zeroed.
 */
void *td_arena_alloc(td_arena *a, size_t size);

/* As td_arena_alloc(), zeroed. */
void *td_arena_calloc(td_arena *a, size_t n, size_t size);

/* Copies len bytes and adds a NUL; NULL when out of memory. */
char *td_arena_strndup(td_arena *a, const char *s, size_t len);

/*
 * Grows the most recent allocation ptr (of old_size bytes) to new_size
 * in place when it is the last one made, else copies it. Returns NULL
 * when out of memory (ptr stays valid).
 */
void *td_arena_realloc(td_arena *a, void *ptr, size_t old_size,
                       size_t new_size);

/* Bytes held in blocks (what the arena costs), O(1). */
size_t td_arena_bytes(const td_arena *a);

/* Bytes handed out by allocations, O(1). */
size_t td_arena_used(const td_arena *a);

/*
 * Forgets every allocation but keeps the first block, for scratch arenas
 * reused per line. Only valid while the caller holds the sole reference.
 */
void td_arena_reset(td_arena *a);

#endif
