/*
 * cjson_arena.h - lets cJSON allocate from a td_arena on one thread.
 *
 * cJSON's allocation hooks are process-wide. td_cjson_arena_init()
 * installs hooks once that allocate from the calling thread's current
 * arena when one is set (td_cjson_arena_begin) and from malloc otherwise;
 * the free hook does nothing while an arena is set (the arena frees
 * everything at once) and calls free() otherwise. Code that never calls
 * td_cjson_arena_begin() sees plain malloc/free, so other users of cJSON
 * in the process are not affected.
 *
 * This is the only place in tandem that may call cJSON_InitHooks():
 * another call would silently route arena-scoped parses to malloc, and
 * their trees would leak.
 *
 * Rules: a tree parsed between begin and end lives in the arena and must
 * not be used after the arena is reset or freed; do not cJSON_Delete() a
 * tree made with malloc while an arena is set on the same thread (the
 * free would be skipped).
 */
#ifndef TD_CJSON_ARENA_H
#define TD_CJSON_ARENA_H

#include "arena.h"

/*
 * Installs the hooks (once, through pthread_once). Call it from the main
 * thread before other threads use cJSON, so that the hooks never change
 * under a running parse. Later calls do nothing. Any thread.
 */
void td_cjson_arena_init(void);

/*
 * Makes cJSON on the calling thread allocate from a until
 * td_cjson_arena_end(). Calls td_cjson_arena_init() if needed. The caller
 * keeps its reference to a.
 */
void td_cjson_arena_begin(td_arena *a);

/* Back to malloc/free on the calling thread. */
void td_cjson_arena_end(void);

#endif
