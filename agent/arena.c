/*
 * arena.c - bump allocator with a chain of blocks.
 *
 * Blocks double in size up to 1 MiB; a request larger than a block gets a
 * block of its own. The arena header lives in the first block.
 *
 * Every block is charged to the memory budget (budget.h) when it is
 * malloc'd and uncharged when it is freed, by its usable size, the same
 * figure td_arena_bytes() reports. That is one atomic add per block, not
 * per allocation; an arena shared by several batches is charged once.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "budget.h"

#define TD_ARENA_DEFAULT   4096
#define TD_ARENA_MAX_BLOCK (1024 * 1024)

typedef struct td_arena_block {
    struct td_arena_block *prev;
    size_t size;            /* usable bytes after the header */
    size_t used;
    _Alignas(16) unsigned char data[];
} td_arena_block;

struct td_arena {
    atomic_int refs;
    td_arena_block *cur;
    td_arena_block *first;
    size_t bytes;           /* sum of block sizes */
    size_t used;            /* sum of allocations */
    size_t next_size;
    void *last;             /* most recent allocation, for realloc */
};

static td_arena_block *
td_arena_block_new(size_t size)
{
    td_arena_block *blk = malloc(sizeof(*blk) + size);

    if (blk == NULL) {
        return NULL;
    }
    blk->prev = NULL;
    blk->size = size;
    blk->used = 0;
    td_budget_charge(size);
    return blk;
}

td_arena *
td_arena_new(size_t first_block)
{
    td_arena_block *blk;
    td_arena *a;
    size_t size = first_block ? first_block : TD_ARENA_DEFAULT;

    blk = td_arena_block_new(size + sizeof(td_arena) + 16);
    if (blk == NULL) {
        return NULL;
    }
    a = (td_arena *) (void *) blk->data;
    blk->used = (sizeof(td_arena) + 15) & ~(size_t) 15;
    atomic_init(&a->refs, 1);
    a->cur = a->first = blk;
    a->bytes = blk->size;
    a->used = 0;
    a->next_size = size * 2 < TD_ARENA_MAX_BLOCK ? size * 2
                                                 : TD_ARENA_MAX_BLOCK;
    a->last = NULL;
    return a;
}

void
td_arena_ref(td_arena *a)
{
    atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
}

static void
td_arena_free_blocks(td_arena_block *blk, td_arena_block *stop)
{
    while (blk != stop) {
        td_arena_block *prev = blk->prev;

        free(blk);
        blk = prev;
    }
}

void
td_arena_unref(td_arena *a)
{
    td_arena_block *first;

    if (a == NULL
        || atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel)
               != 1) {
        return;
    }
    first = a->first;
    td_budget_uncharge(a->bytes);
    td_arena_free_blocks(a->cur, first);
    free(first);
}

void *
td_arena_alloc(td_arena *a, size_t size)
{
    size_t align = size >= 16 ? 16 : 8;
    td_arena_block *blk = a->cur;
    size_t off = (blk->used + align - 1) & ~(align - 1);
    void *p;

    if (off + size > blk->size) {
        size_t bsize = a->next_size;

        if (bsize < size) {
            bsize = size;
        }
        blk = td_arena_block_new(bsize);
        if (blk == NULL) {
            return NULL;
        }
        blk->prev = a->cur;
        a->cur = blk;
        a->bytes += bsize;
        if (a->next_size < TD_ARENA_MAX_BLOCK) {
            a->next_size *= 2;
        }
        off = 0;
    }
    p = blk->data + off;
    blk->used = off + size;
    a->used += size;
    a->last = p;
    return p;
}

void *
td_arena_calloc(td_arena *a, size_t n, size_t size)
{
    void *p;

    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }
    p = td_arena_alloc(a, n * size);
    if (p != NULL) {
        memset(p, 0, n * size);
    }
    return p;
}

char *
td_arena_strndup(td_arena *a, const char *s, size_t len)
{
    char *p = td_arena_alloc(a, len + 1);

    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

void *
td_arena_realloc(td_arena *a, void *ptr, size_t old_size, size_t new_size)
{
    td_arena_block *blk = a->cur;
    void *p;

    if (ptr == NULL) {
        return td_arena_alloc(a, new_size);
    }
    if (ptr == a->last
        && (unsigned char *) ptr + new_size <= blk->data + blk->size
        && (unsigned char *) ptr >= blk->data) {
        blk->used = (size_t) ((unsigned char *) ptr - blk->data) + new_size;
        a->used = a->used - old_size + new_size;
        return ptr;
    }
    p = td_arena_alloc(a, new_size);
    if (p != NULL) {
        memcpy(p, ptr, old_size < new_size ? old_size : new_size);
    }
    return p;
}

size_t
td_arena_bytes(const td_arena *a)
{
    return a->bytes;
}

size_t
td_arena_used(const td_arena *a)
{
    return a->used;
}

void
td_arena_reset(td_arena *a)
{
    td_arena_block *first = a->first;

    td_budget_uncharge(a->bytes - first->size);
    td_arena_free_blocks(a->cur, first);
    first->prev = NULL;
    first->used = (sizeof(td_arena) + 15) & ~(size_t) 15;
    a->cur = first;
    a->bytes = first->size;
    a->used = 0;
    a->last = NULL;
}
