/*
 * budget.c - the process-wide memory budget (see budget.h).
 *
 * The counters on the hot paths (used, reserved, held) and the limits in
 * force are plain atomics read and written with relaxed ordering: each is
 * a figure on its own, and nothing else is published through them. A
 * decision taken on slightly stale figures is corrected by the next one;
 * what matters is that every charge is matched by one uncharge, which
 * the atomic adds guarantee.
 *
 * The owners' limits, their resident-memory flags and the limited-state
 * bookkeeping sit behind one mutex. They change when a memory_limiter is
 * created or destroyed, or once per check interval, never per batch.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "log.h"
#include "selfmetrics.h"
#include "td.h"

/* At most one "limited" log line this often; the rest are counted. */
#define TD_BUDGET_LOG_EVERY_MS 10000

/*
 * A reservation refused this recently keeps the budget limited: a
 * receiver paused for room retries at least every 100 ms.
 */
#define TD_BUDGET_PRESSURE_MS 500

/* A cgroup limit this large means "no limit" (v1 writes about 2^63). */
#define TD_BUDGET_NO_LIMIT ((uint64_t) 1 << 62)

#define TD_BUDGET_MIB (1024.0 * 1024.0)

#define TD_BUDGET_LIMITED_NAME "tandem_memory_limited_seconds_total"
#define TD_BUDGET_LIMITED_HELP                                          \
    "Seconds spent with the memory budget above its soft limit or the " \
    "resident size above the hard limit."

/* One memory_limiter's limits. */
typedef struct td_budget_owner {
    const void *owner;
    size_t soft, hard;
    bool rss_over;
    struct td_budget_owner *next;
} td_budget_owner;

static atomic_size_t td_budget_used_v;
static atomic_size_t td_budget_reserved_v;
static atomic_size_t td_budget_held_v;
static atomic_size_t td_budget_soft_v;
static atomic_size_t td_budget_hard_v;
static atomic_bool td_budget_rss_over_v;
static _Atomic int64_t td_budget_refused_ms;    /* last refusal, 0 none */
static atomic_uint_fast64_t td_budget_limited_s;

static pthread_mutex_t td_budget_lock = PTHREAD_MUTEX_INITIALIZER;
static td_budget_owner *td_budget_owners;

/* The limited state as td_budget_update() last saw it. */
static struct {
    int64_t last_ms;        /* previous update, 0 before the first */
    bool limited;
    int64_t pending_ms;     /* limited time not yet counted in seconds */
    int64_t since_ms;       /* when the logged limited period began */
    bool logged;            /* the entry into this period was logged */
    int64_t last_log_ms;    /* last "limited" line */
    uint64_t unlogged;      /* entries not logged since then */
} td_budget_state;

#define TD_BUDGET_DEFAULT_PATHS                                          \
    {                                                                    \
        .statm = "/proc/self/statm",                                     \
        .cgroup2 = "/sys/fs/cgroup/memory.max",                          \
        .cgroup1 = "/sys/fs/cgroup/memory/memory.limit_in_bytes",        \
        .meminfo = "/proc/meminfo",                                      \
        .self = "/proc/self/cgroup",                                     \
        .root = "/sys/fs/cgroup",                                        \
    }

static const td_budget_paths td_budget_default_paths =
    TD_BUDGET_DEFAULT_PATHS;
static td_budget_paths td_budget_cur_paths = TD_BUDGET_DEFAULT_PATHS;

/* ---- counters ---- */

void
td_budget_charge(size_t bytes)
{
    atomic_fetch_add_explicit(&td_budget_used_v, bytes,
                              memory_order_relaxed);
}

void
td_budget_uncharge(size_t bytes)
{
    atomic_fetch_sub_explicit(&td_budget_used_v, bytes,
                              memory_order_relaxed);
}

size_t
td_budget_used(void)
{
    return atomic_load_explicit(&td_budget_used_v, memory_order_relaxed);
}

/*
 * The reservation is added first and taken back when it does not fit,
 * so that two threads reserving at once cannot both squeeze into the
 * same room; at worst both back off and retry.
 */
int
td_budget_reserve(size_t bytes)
{
    size_t soft = atomic_load_explicit(&td_budget_soft_v,
                                       memory_order_relaxed);
    size_t reserved, used;

    reserved = atomic_fetch_add_explicit(&td_budget_reserved_v, bytes,
                                         memory_order_relaxed) + bytes;
    if (soft == 0) {
        return TD_OK;
    }
    used = atomic_load_explicit(&td_budget_used_v, memory_order_relaxed);
    if (used + reserved > soft) {
        atomic_fetch_sub_explicit(&td_budget_reserved_v, bytes,
                                  memory_order_relaxed);
        atomic_store_explicit(&td_budget_refused_ms, td_mono_ms(),
                              memory_order_relaxed);
        return TD_AGAIN;
    }
    return TD_OK;
}

void
td_budget_release(size_t bytes)
{
    atomic_fetch_sub_explicit(&td_budget_reserved_v, bytes,
                              memory_order_relaxed);
}

size_t
td_budget_reserved(void)
{
    return atomic_load_explicit(&td_budget_reserved_v,
                                memory_order_relaxed);
}

void
td_budget_hold(size_t bytes)
{
    atomic_fetch_add_explicit(&td_budget_held_v, bytes,
                              memory_order_relaxed);
}

void
td_budget_unhold(size_t bytes)
{
    atomic_fetch_sub_explicit(&td_budget_held_v, bytes,
                              memory_order_relaxed);
}

size_t
td_budget_held(void)
{
    return atomic_load_explicit(&td_budget_held_v, memory_order_relaxed);
}

/* ---- limits ---- */

/* Publishes the tightest limits and the resident-memory flag. Locked. */
static void
td_budget_publish_locked(void)
{
    size_t soft = 0, hard = 0;
    bool over = false;

    for (const td_budget_owner *o = td_budget_owners; o != NULL;
         o = o->next) {
        if (o->soft != 0 && (soft == 0 || o->soft < soft)) {
            soft = o->soft;
        }
        if (o->hard != 0 && (hard == 0 || o->hard < hard)) {
            hard = o->hard;
        }
        over = over || o->rss_over;
    }
    atomic_store_explicit(&td_budget_soft_v, soft, memory_order_relaxed);
    atomic_store_explicit(&td_budget_hard_v, hard, memory_order_relaxed);
    atomic_store_explicit(&td_budget_rss_over_v, over,
                          memory_order_relaxed);
}

static td_budget_owner **
td_budget_find_locked(const void *owner)
{
    td_budget_owner **pp = &td_budget_owners;

    while (*pp != NULL && (*pp)->owner != owner) {
        pp = &(*pp)->next;
    }
    return pp;
}

void
td_budget_clear(const void *owner)
{
    td_budget_owner **pp, *o;

    pthread_mutex_lock(&td_budget_lock);
    pp = td_budget_find_locked(owner);
    o = *pp;
    if (o != NULL) {
        *pp = o->next;
        free(o);
        td_budget_publish_locked();
    }
    pthread_mutex_unlock(&td_budget_lock);
}

int
td_budget_set_limits(const void *owner, size_t soft, size_t hard)
{
    td_budget_owner **pp, *o;

    if (hard != 0 && soft > hard) {
        return TD_EINVAL;
    }
    if (soft == 0 && hard == 0) {
        td_budget_clear(owner);
        return TD_OK;
    }
    pthread_mutex_lock(&td_budget_lock);
    pp = td_budget_find_locked(owner);
    o = *pp;
    if (o == NULL) {
        o = calloc(1, sizeof(*o));
        if (o == NULL) {
            pthread_mutex_unlock(&td_budget_lock);
            return TD_ENOMEM;
        }
        o->owner = owner;
        *pp = o;
    }
    o->soft = soft;
    o->hard = hard;
    td_budget_publish_locked();
    pthread_mutex_unlock(&td_budget_lock);
    return TD_OK;
}

size_t
td_budget_soft_limit(void)
{
    return atomic_load_explicit(&td_budget_soft_v, memory_order_relaxed);
}

size_t
td_budget_hard_limit(void)
{
    return atomic_load_explicit(&td_budget_hard_v, memory_order_relaxed);
}

bool
td_budget_admits(void)
{
    size_t soft = td_budget_soft_limit();
    size_t used, held;

    if (soft == 0) {
        return true;
    }
    used = td_budget_used();
    held = td_budget_held();
    /* Held bytes are part of used; a moment's skew may show more. */
    return used <= held || used - held <= soft;
}

void
td_budget_set_rss_over(const void *owner, bool over)
{
    td_budget_owner *o;

    pthread_mutex_lock(&td_budget_lock);
    o = *td_budget_find_locked(owner);
    if (o != NULL && o->rss_over != over) {
        o->rss_over = over;
        td_budget_publish_locked();
    }
    pthread_mutex_unlock(&td_budget_lock);
}

/*
 * Reservations keep the bytes at or under the soft limit, so "above the
 * soft limit" alone would seldom hold while receivers are paused for
 * room; a recent refusal counts as being at the limit.
 */
bool
td_budget_limited(void)
{
    size_t soft = td_budget_soft_limit();
    int64_t refused;

    if (atomic_load_explicit(&td_budget_rss_over_v, memory_order_relaxed)) {
        return true;
    }
    if (soft == 0) {
        return false;
    }
    if (td_budget_used() > soft) {
        return true;
    }
    refused = atomic_load_explicit(&td_budget_refused_ms,
                                   memory_order_relaxed);
    return refused != 0 && td_mono_ms() - refused < TD_BUDGET_PRESSURE_MS;
}

/* ---- the limited state over time ---- */

/* Moves whole seconds of limited time into the counter. Locked. */
static void
td_budget_count_locked(int64_t ms)
{
    int64_t secs;

    td_budget_state.pending_ms += ms;
    secs = td_budget_state.pending_ms / 1000;
    if (secs <= 0) {
        return;
    }
    td_budget_state.pending_ms -= secs * 1000;
    atomic_fetch_add_explicit(&td_budget_limited_s, (uint64_t) secs,
                              memory_order_relaxed);
    /*
     * Looked up each time rather than kept: the registry may have been
     * reset (tests) since the metrics were registered.
     */
    td_counter_add(td_self_counter(TD_BUDGET_LIMITED_NAME,
                                   TD_BUDGET_LIMITED_HELP, ""),
                   (uint64_t) secs);
}

/* Logs a change of the limited state, rate-limited. Locked. */
static void
td_budget_log_locked(bool limited, int64_t now_ms, size_t rss)
{
    double used = (double) td_budget_used() / TD_BUDGET_MIB;
    double soft = (double) td_budget_soft_limit() / TD_BUDGET_MIB;
    double hard = (double) td_budget_hard_limit() / TD_BUDGET_MIB;
    double res = (double) rss / TD_BUDGET_MIB;
    char again[80] = "";

    if (!limited) {
        if (td_budget_state.logged) {
            td_log(TD_LOG_INFO, "memory", NULL, 0,
                   "memory no longer limited after %.1f s: telemetry "
                   "uses %.1f MiB of the %.1f MiB soft limit, resident "
                   "%.1f MiB of the %.1f MiB hard limit; taking data "
                   "again", (double) (now_ms - td_budget_state.since_ms)
                            / 1000.0, used, soft, res, hard);
        }
        td_budget_state.logged = false;
        return;
    }
    if (td_budget_state.last_log_ms != 0
        && now_ms - td_budget_state.last_log_ms < TD_BUDGET_LOG_EVERY_MS) {
        td_budget_state.unlogged++;
        return;
    }
    if (td_budget_state.unlogged > 0) {
        snprintf(again, sizeof(again), " (limited %llu more times since "
                 "the last message)",
                 (unsigned long long) td_budget_state.unlogged);
    }
    td_log(TD_LOG_WARN, "memory", NULL, 0,
           "memory limited: telemetry uses %.1f MiB of the %.1f MiB soft "
           "limit, resident %.1f MiB of the %.1f MiB hard limit; refusing "
           "data and answering not ready until it falls%s", used, soft,
           res, hard, again);
    td_budget_state.logged = true;
    td_budget_state.since_ms = now_ms;
    td_budget_state.last_log_ms = now_ms;
    td_budget_state.unlogged = 0;
}

bool
td_budget_update(int64_t now_ms, size_t rss)
{
    bool limited = td_budget_limited();

    pthread_mutex_lock(&td_budget_lock);
    if (td_budget_state.last_ms != 0 && td_budget_state.limited
        && now_ms > td_budget_state.last_ms) {
        td_budget_count_locked(now_ms - td_budget_state.last_ms);
    }
    if (now_ms > td_budget_state.last_ms) {
        td_budget_state.last_ms = now_ms;
    }
    if (limited != td_budget_state.limited) {
        td_budget_state.limited = limited;
        td_budget_log_locked(limited, now_ms, rss);
    }
    pthread_mutex_unlock(&td_budget_lock);
    return limited;
}

uint64_t
td_budget_limited_seconds(void)
{
    return atomic_load_explicit(&td_budget_limited_s, memory_order_relaxed);
}

/* ---- metrics ---- */

static double
td_budget_used_fn(void *arg)
{
    (void) arg;
    return (double) td_budget_used();
}

static double
td_budget_reserved_fn(void *arg)
{
    (void) arg;
    return (double) td_budget_reserved();
}

static double
td_budget_soft_fn(void *arg)
{
    (void) arg;
    return (double) td_budget_soft_limit();
}

static double
td_budget_hard_fn(void *arg)
{
    (void) arg;
    return (double) td_budget_hard_limit();
}

int
td_budget_metrics(void)
{
    static const char limit_help[] =
        "Limits of the memory budget in force (the tightest of every "
        "memory_limiter); 0 when none is set.";
    int rc;

    rc = td_self_gauge_fn("tandem_memory_budget_used_bytes",
                          "Bytes of telemetry alive in the process "
                          "(arena blocks of every batch).", "",
                          td_budget_used_fn, NULL);
    if (rc == TD_OK) {
        rc = td_self_gauge_fn("tandem_memory_budget_reserved_bytes",
                              "Bytes receivers reserved for reads not yet "
                              "turned into batches.", "",
                              td_budget_reserved_fn, NULL);
    }
    if (rc == TD_OK) {
        rc = td_self_gauge_fn("tandem_memory_budget_limit_bytes",
                              limit_help, "limit=\"soft\"",
                              td_budget_soft_fn, NULL);
    }
    if (rc == TD_OK) {
        rc = td_self_gauge_fn("tandem_memory_budget_limit_bytes",
                              limit_help, "limit=\"hard\"",
                              td_budget_hard_fn, NULL);
    }
    if (rc == TD_OK
        && td_self_counter(TD_BUDGET_LIMITED_NAME, TD_BUDGET_LIMITED_HELP,
                           "") == NULL) {
        rc = TD_ENOMEM;
    }
    return rc;
}

/* ---- the memory the process has ---- */

const td_budget_paths *
td_budget_get_paths(void)
{
    return &td_budget_cur_paths;
}

void
td_budget_set_paths(const td_budget_paths *paths)
{
    td_budget_cur_paths = paths != NULL ? *paths : td_budget_default_paths;
}

int
td_budget_read_rss(const char *statm, size_t *bytes)
{
    unsigned long long pages;
    long page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen(statm, "r");
    int n;

    if (f == NULL) {
        return TD_ERR;
    }
    n = fscanf(f, "%*u %llu", &pages);
    fclose(f);
    if (n != 1) {
        return TD_ERR;
    }
    *bytes = (size_t) pages * (size_t) (page > 0 ? page : 4096);
    return TD_OK;
}

/*
 * Reads a cgroup limit file: 0 with the limit, 1 when it sets none
 * ("max" or a huge value), TD_ERR when it is missing or unreadable.
 */
static int
td_budget_read_cgroup(const char *path, uint64_t *limit)
{
    char text[64];
    unsigned long long v;
    char *end;
    size_t n;
    FILE *f;

    if (path == NULL || (f = fopen(path, "r")) == NULL) {
        return TD_ERR;
    }
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    if (strncmp(text, "max", 3) == 0) {
        return 1;
    }
    v = strtoull(text, &end, 10);
    if (end == text || (*end != '\0' && *end != '\n')) {
        return TD_ERR;
    }
    if (v >= TD_BUDGET_NO_LIMIT || v == 0) {
        return 1;
    }
    *limit = v;
    return TD_OK;
}

/* MemTotal of a meminfo file, in bytes. */
static int
td_budget_read_meminfo(const char *path, uint64_t *total)
{
    char line[256];
    int rc = TD_ERR;
    FILE *f;

    if (path == NULL || (f = fopen(path, "r")) == NULL) {
        return TD_ERR;
    }
    while (rc != TD_OK && fgets(line, sizeof(line), f) != NULL) {
        unsigned long long kb;

        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1 && kb > 0) {
            *total = (uint64_t) kb * 1024;
            rc = TD_OK;
        }
    }
    fclose(f);
    return rc;
}

int
td_budget_read_total(const char *cgroup2, const char *cgroup1,
                     const char *meminfo, size_t *bytes,
                     const char **source, char *err, size_t errlen)
{
    const char *const paths[2] = {cgroup2, cgroup1};
    static const char *const names[2] = {"cgroup v2 memory.max",
                                         "cgroup v1 memory.limit_in_bytes"};
    uint64_t total = 0, limit;
    bool have_total;

    have_total = td_budget_read_meminfo(meminfo, &total) == TD_OK;
    for (int i = 0; i < 2; i++) {
        if (td_budget_read_cgroup(paths[i], &limit) != TD_OK) {
            continue;
        }
        if (have_total && limit > total) {
            break;
        }
        *bytes = (size_t) limit;
        *source = names[i];
        return TD_OK;
    }
    if (!have_total) {
        snprintf(err, errlen, "cannot tell how much memory the process "
                 "may use: no cgroup memory limit in %s or %s, and no "
                 "MemTotal in %s", cgroup2 ? cgroup2 : "(none)",
                 cgroup1 ? cgroup1 : "(none)", meminfo ? meminfo : "(none)");
        return TD_ERR;
    }
    *bytes = (size_t) total;
    *source = "MemTotal";
    return TD_OK;
}

/* True when a v1 line's controller list ("cpu,memory") names memory. */
static bool
td_budget_has_memory(const char *list, size_t len)
{
    const char *p = list, *end = list + len;

    while (p < end) {
        const char *comma = memchr(p, ',', (size_t) (end - p));
        size_t n = (size_t) ((comma != NULL ? comma : end) - p);

        if (n == 6 && memcmp(p, "memory", 6) == 0) {
            return true;
        }
        p += n + 1;
    }
    return false;
}

void
td_budget_cgroup_files(const td_budget_paths *paths, char *v2, char *v1,
                       size_t len)
{
    FILE *f = paths->self != NULL ? fopen(paths->self, "r") : NULL;
    char line[1024];

    snprintf(v2, len, "%s", paths->cgroup2 ? paths->cgroup2 : "");
    snprintf(v1, len, "%s", paths->cgroup1 ? paths->cgroup1 : "");
    if (f == NULL || paths->root == NULL) {
        if (f != NULL) {
            fclose(f);
        }
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *c1 = strchr(line, ':'), *c2, *path;
        size_t plen;

        c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL) {
            continue;
        }
        path = c2 + 1;
        plen = strcspn(path, "\n");
        path[plen] = '\0';
        /* The root cgroup ("/") has no limit file of its own. */
        if (plen == 0 || strcmp(path, "/") == 0) {
            continue;
        }
        if (strncmp(line, "0::", 3) == 0) {
            snprintf(v2, len, "%s%s/memory.max", paths->root, path);
        } else if (td_budget_has_memory(c1 + 1, (size_t) (c2 - c1 - 1))) {
            snprintf(v1, len, "%s/memory%s/memory.limit_in_bytes",
                     paths->root, path);
        }
    }
    fclose(f);
}
