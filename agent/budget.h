/*
 * budget.h - the process-wide memory budget: the bytes of telemetry alive
 * anywhere in tandem (being built by a receiver, held by one after a
 * refusal, inside a processor, queued or being sent by an exporter).
 *
 * What is charged: every block of every arena. arena.c charges a block
 * when it mallocs it and uncharges it when it frees it. All memory of a
 * batch lives in arenas, and batches merged by td_batch_append() share
 * arenas by reference, so the count is exact, follows a batch as it
 * grows, and counts a shared arena once, for as long as any batch still
 * holds it. The only arenas that are not batches are the receivers'
 * scratch arenas, where cJSON parses the line being decoded (one per
 * receiver, 64 KiB when idle); they hold telemetry too and are counted.
 * Not charged: a connection's partial line, exporters' encoding buffers,
 * and everything else outside arenas. The resident size (RSS) covers
 * those; memory_limiter watches it against the hard limit.
 *
 * Limits come from the memory_limiter instances (one per pipeline that
 * lists one); each sets its own, and the tightest soft and the tightest
 * hard limit are in force. 0 means no limit.
 *
 * Reservations keep a burst from overshooting the soft limit: a receiver
 * reserves the bytes a read may turn into before it reads, and releases
 * the reservation once the batch is built (the arena charge then holds
 * the real bytes). A reservation is refused when used + reserved + bytes
 * would pass the soft limit. Data is then held back at the soft limit
 * rather than above it, so a recent refusal also counts as limited.
 *
 * Held bytes: a batch that a receiver keeps after a pipeline refused it
 * is still charged, and also marked held. Refusing it again frees
 * nothing, so processors compare only the rest (used - held) with the
 * soft limit; otherwise batches held by receivers could keep the budget
 * above the limit forever with nothing downstream left to drain.
 *
 * Threads: charge, uncharge, reserve, release, hold, unhold and the
 * readers (used, reserved, held, limits, admits, limited) are relaxed
 * atomics without locks and may be called from any thread, on hot paths.
 * The functions that set limits, report resident memory, update the
 * limited state or register metrics take a mutex: any thread, but not
 * per batch.
 */
#ifndef TD_BUDGET_H
#define TD_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Counts bytes as alive (arena blocks). Any thread. */
void td_budget_charge(size_t bytes);

/* Stops counting bytes charged before. Any thread. */
void td_budget_uncharge(size_t bytes);

/* Bytes charged and not uncharged. Any thread. */
size_t td_budget_used(void);

/*
 * Reserves bytes that a read or a decode is about to turn into arena
 * memory. Returns 0, or TD_AGAIN (nothing reserved) when a soft limit is
 * set and used + reserved + bytes would pass it. A successful reserve
 * must be followed by td_budget_release() of the same bytes. Any thread.
 */
int td_budget_reserve(size_t bytes);

/* Gives back a reservation made by td_budget_reserve(). Any thread. */
void td_budget_release(size_t bytes);

/* Bytes reserved and not released. Any thread. */
size_t td_budget_reserved(void);

/*
 * Marks bytes of charged batches as held by a receiver after a refusal,
 * and unmarks them once the batch is taken or dropped. Any thread.
 */
void td_budget_hold(size_t bytes);
void td_budget_unhold(size_t bytes);

/* Bytes marked held. Any thread. */
size_t td_budget_held(void);

/*
 * Sets the limits of one owner (a memory_limiter instance; any unique
 * pointer): soft and hard in bytes, 0 for none. The tightest non-zero
 * limits of all owners are in force. Setting both to 0 removes the
 * owner (as td_budget_clear() does). Returns 0, TD_EINVAL when soft is
 * above a non-zero hard, or TD_ENOMEM. Any thread; not a hot path.
 */
int td_budget_set_limits(const void *owner, size_t soft, size_t hard);

/* Removes an owner's limits and its resident-memory flag. Any thread. */
void td_budget_clear(const void *owner);

/* The soft and hard limits in force, 0 for none. Any thread. */
size_t td_budget_soft_limit(void);
size_t td_budget_hard_limit(void);

/*
 * True unless a soft limit is set and the bytes not held by receivers
 * (used - held) are above it: what a processor asks before it takes a
 * batch. Any thread; three relaxed loads.
 */
bool td_budget_admits(void);

/*
 * Records whether an owner last saw the resident size above its hard
 * limit (memory_limiter's check thread). Any thread.
 */
void td_budget_set_rss_over(const void *owner, bool over);

/*
 * The limited state: a soft limit is set and used is above it or a
 * reservation was refused in the last 500 ms (receivers are paused for
 * room), or some owner saw the resident size above the hard limit.
 * /health/ready answers 503 while it holds. Any thread; lock-free.
 */
bool td_budget_limited(void);

/*
 * Follows the limited state over time, for memory_limiter's check
 * threads: adds the time since the previous update to
 * tandem_memory_limited_seconds_total when the state held then, and logs
 * a transition into or out of the limited state (into at most once per
 * 10 s, with a count of the ones not logged; out only after a logged
 * into). now_ms is td_mono_ms(); rss is the resident size in bytes for
 * the log line, 0 when unknown. Returns the state. Any thread; several
 * check threads may call it, time is counted once.
 */
bool td_budget_update(int64_t now_ms, size_t rss);

/* Seconds counted in the limited state so far (tests). Any thread. */
uint64_t td_budget_limited_seconds(void);

/*
 * Registers the budget's own metrics: tandem_memory_budget_used_bytes,
 * tandem_memory_budget_reserved_bytes,
 * tandem_memory_budget_limit_bytes{limit="soft"|"hard"} and
 * tandem_memory_limited_seconds_total. Registering again is harmless
 * (after td_self_reset(), it is needed). 0 or TD_ENOMEM. Main thread.
 */
int td_budget_metrics(void);

/* ---- the memory the process has ---- */

/*
 * Where the process's memory figures are read from. Tests point them at
 * files of their own; the defaults are the kernel's.
 */
typedef struct td_budget_paths {
    const char *statm;      /* /proc/self/statm: resident pages */
    const char *cgroup2;    /* /sys/fs/cgroup/memory.max */
    const char *cgroup1;    /* .../memory/memory.limit_in_bytes */
    const char *meminfo;    /* /proc/meminfo: MemTotal */
    const char *self;       /* /proc/self/cgroup: the process's cgroup */
    const char *root;       /* /sys/fs/cgroup: where cgroupfs is */
} td_budget_paths;

/*
 * The paths in use. td_budget_set_paths() replaces them (NULL restores
 * the defaults); the strings must outlive their use. Main thread, while
 * no memory_limiter is running.
 */
const td_budget_paths *td_budget_get_paths(void);
void td_budget_set_paths(const td_budget_paths *paths);

/*
 * The memory.max (v2) and memory.limit_in_bytes (v1) files of the
 * process's own cgroup, from the "0::PATH" and "N:...memory...:PATH"
 * lines of self (as /proc/self/cgroup has them) under root: a systemd
 * service with MemoryMax= has its limit there, not at the root. Where
 * self cannot be read or names no cgroup, v2 and v1 are paths->cgroup2
 * and paths->cgroup1. Writes at most len bytes to each. Main thread.
 */
void td_budget_cgroup_files(const td_budget_paths *paths, char *v2,
                            char *v1, size_t len);

/*
 * The resident size from a statm file (second field, in pages). 0, or
 * TD_ERR when the file cannot be read or parsed. Any thread.
 */
int td_budget_read_rss(const char *statm, size_t *bytes);

/*
 * The memory the process may use: the cgroup v2 limit (memory.max), else
 * the cgroup v1 limit (memory.limit_in_bytes), else MemTotal of
 * meminfo. A cgroup file that is missing, says "max", or holds a value
 * of 2^62 or more (v1 writes about 2^63 for none) sets no limit; a cgroup
 * limit above MemTotal counts as MemTotal. source names where the figure
 * came from, for log lines ("cgroup v2 memory.max", "cgroup v1
 * memory.limit_in_bytes" or "MemTotal"). Any path may be NULL (not
 * looked at). 0, or TD_ERR with a sentence in err when no figure is
 * found. Any thread.
 */
int td_budget_read_total(const char *cgroup2, const char *cgroup1,
                         const char *meminfo, size_t *bytes,
                         const char **source, char *err, size_t errlen);

#endif
