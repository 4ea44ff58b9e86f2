/*
 * cjson_arena.c - cJSON allocation hooks that use a thread's scratch
 * arena.
 *
 * Parsing one NDJSON line with cJSON makes one allocation per node and
 * per string. Routing those to a bump arena that is reset per line turns
 * them into pointer bumps and the frees into nothing, without touching
 * other users of cJSON: a thread with no arena set gets malloc/free.
 */
#include <pthread.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "cjson_arena.h"

static _Thread_local td_arena *td_cjson_arena_cur;
static pthread_once_t td_cjson_arena_once = PTHREAD_ONCE_INIT;

static void *
td_cjson_arena_malloc(size_t size)
{
    td_arena *a = td_cjson_arena_cur;

    if (a != NULL) {
        return td_arena_alloc(a, size > 0 ? size : 1);
    }
    return malloc(size);
}

/* While an arena is set, memory goes away with the arena's reset. */
static void
td_cjson_arena_free(void *p)
{
    if (td_cjson_arena_cur == NULL) {
        free(p);
    }
}

static void
td_cjson_arena_install(void)
{
    cJSON_Hooks hooks = {
        .malloc_fn = td_cjson_arena_malloc,
        .free_fn = td_cjson_arena_free,
    };

    cJSON_InitHooks(&hooks);
}

void
td_cjson_arena_init(void)
{
    pthread_once(&td_cjson_arena_once, td_cjson_arena_install);
}

void
td_cjson_arena_begin(td_arena *a)
{
    td_cjson_arena_init();
    td_cjson_arena_cur = a;
}

void
td_cjson_arena_end(void)
{
    td_cjson_arena_cur = NULL;
}
