/*
 * memory_limiter.c - the memory_limiter processor, with the OpenTelemetry
 * Collector's keys (check_interval, limit_mib, spike_limit_mib,
 * limit_percentage, spike_limit_percentage).
 *
 * The Collector's limiter measures the heap every check_interval and
 * refuses data while the last measure was above its soft limit, so a
 * burst that arrives between two checks is allocated in full before it
 * is noticed. Here the decision is taken on the process-wide memory
 * budget (agent/budget.h), which counts the bytes of every batch alive as
 * they are allocated and which receivers reserve before they read: the
 * soft limit (limit - spike) is enforced per read and per batch, and the
 * check interval only matters for what the budget cannot see.
 *
 * consume: when the bytes of telemetry not held by receivers pass the
 * soft limit (td_budget_admits()), the batch is refused with TD_AGAIN
 * and nothing is kept; else it goes on to the next step. As exporters
 * drain, the budget falls and data is taken again; batches that
 * receivers hold after a refusal do not count for this (refusing them
 * frees nothing), so held batches alone can never keep it refusing.
 *
 * A check thread wakes every check_interval, reads the resident size
 * (/proc/self/statm) and the budget, and when either is above the hard
 * limit gives free heap memory back to the system (malloc_trim) and logs
 * it. Resident memory above the hard limit makes the process limited
 * (td_budget_limited(): /health/ready answers 503) without refusing data
 * by itself: what the budget does not count (partial lines, encoders,
 * fragmentation) would not shrink by refusing telemetry, and refusing on
 * it could refuse forever. The thread also keeps the limited state's
 * seconds counter and its log lines (td_budget_update()).
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget.h"
#include "component.h"
#include "log.h"
#include "pipeline.h"
#include "selfmetrics.h"
#include "td.h"

#define ML_MIB              ((size_t) 1024 * 1024)
#define ML_SPIKE_DEFAULT    5       /* spike = limit / 5 (20%) when unset */
#define ML_LOG_EVERY_MS     10000   /* hard-limit lines at most this often */

typedef struct ml_cfg {
    int64_t check_interval_ms;
    int64_t limit_mib;
    int64_t spike_limit_mib;
    int64_t limit_percentage;
    int64_t spike_limit_percentage;
} ml_cfg;

typedef struct ml {
    char *id;
    const ml_cfg *cfg;
    td_consumer *next;
    size_t hard, soft;
    char basis[160];                /* how the limits were computed */
    td_counter *refused;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;                      /* under lock */
    int64_t last_log_ms;            /* check thread only */
    uint64_t unlogged;
} ml;

static const td_cfg_key ml_keys[] = {
    {.name = "check_interval", .type = TD_CFG_DURATION, .def = "1s",
     .offset = offsetof(ml_cfg, check_interval_ms),
     .desc = "how often resident memory is checked against the hard limit",
     .min = 1, .max = 3600 * 1000},
    {.name = "limit_mib", .type = TD_CFG_INT,
     .offset = offsetof(ml_cfg, limit_mib),
     .desc = "hard limit in MiB; set this or limit_percentage",
     .min = 1, .max = 1LL << 30},
    {.name = "spike_limit_mib", .type = TD_CFG_INT,
     .offset = offsetof(ml_cfg, spike_limit_mib),
     .desc = "soft limit = limit_mib minus this; 0 = 20% of limit_mib",
     .min = 0, .max = 1LL << 30},
    {.name = "limit_percentage", .type = TD_CFG_INT,
     .offset = offsetof(ml_cfg, limit_percentage),
     .desc = "hard limit in % of the cgroup memory limit, else of RAM",
     .min = 1, .max = 100},
    {.name = "spike_limit_percentage", .type = TD_CFG_INT,
     .offset = offsetof(ml_cfg, spike_limit_percentage),
     .desc = "soft limit = limit_percentage minus this; 0 = 20% of it",
     .min = 0, .max = 100},
    {.name = NULL},
};

/* ---- config ---- */

/*
 * Exactly one way to give the limit; the spike key of the other way is
 * an error rather than silently ignored.
 */
static int
ml_validate(void *cfgp, td_cfg_diag *d)
{
    const ml_cfg *cfg = cfgp;
    bool mib = td_cfg_is_set(d, "limit_mib");
    bool pct = td_cfg_is_set(d, "limit_percentage");

    if (mib && pct) {
        td_cfg_error(d, "limit_percentage", "limit_mib and "
                     "limit_percentage are both set; set one of them");
        return TD_EINVAL;
    }
    if (!mib && !pct) {
        td_cfg_error(d, NULL, "one of limit_mib or limit_percentage is "
                     "required: the memory limit in MiB, or in percent of "
                     "the memory the process may use");
        return TD_EINVAL;
    }
    if (mib && td_cfg_is_set(d, "spike_limit_percentage")) {
        td_cfg_error(d, "spike_limit_percentage", "spike_limit_percentage "
                     "goes with limit_percentage; with limit_mib, set "
                     "spike_limit_mib");
        return TD_EINVAL;
    }
    if (pct && td_cfg_is_set(d, "spike_limit_mib")) {
        td_cfg_error(d, "spike_limit_mib", "spike_limit_mib goes with "
                     "limit_mib; with limit_percentage, set "
                     "spike_limit_percentage");
        return TD_EINVAL;
    }
    if (mib && cfg->spike_limit_mib >= cfg->limit_mib) {
        td_cfg_error(d, "spike_limit_mib", "spike_limit_mib (%lld) must be "
                     "less than limit_mib (%lld): the soft limit is their "
                     "difference", (long long) cfg->spike_limit_mib,
                     (long long) cfg->limit_mib);
        return TD_EINVAL;
    }
    if (pct && cfg->spike_limit_percentage >= cfg->limit_percentage) {
        td_cfg_error(d, "spike_limit_percentage", "spike_limit_percentage "
                     "(%lld) must be less than limit_percentage (%lld): the "
                     "soft limit is their difference",
                     (long long) cfg->spike_limit_percentage,
                     (long long) cfg->limit_percentage);
        return TD_EINVAL;
    }
    return TD_OK;
}

/* Computes the hard and soft limits in bytes. */
static int
ml_limits(ml *m, char *err, size_t errlen)
{
    const ml_cfg *cfg = m->cfg;
    const td_budget_paths *paths = td_budget_get_paths();
    const char *source = NULL;
    size_t total, spike;

    if (cfg->limit_mib > 0) {
        m->hard = (size_t) cfg->limit_mib * ML_MIB;
        spike = cfg->spike_limit_mib > 0
                    ? (size_t) cfg->spike_limit_mib * ML_MIB
                    : m->hard / ML_SPIKE_DEFAULT;
        snprintf(m->basis, sizeof(m->basis), "limit_mib %lld",
                 (long long) cfg->limit_mib);
    } else if (cfg->limit_percentage > 0) {
        char v2[512], v1[512];

        td_budget_cgroup_files(paths, v2, v1, sizeof(v2));
        if (td_budget_read_total(v2, v1, paths->meminfo, &total, &source,
                                 err, errlen) != TD_OK) {
            return TD_ERR;
        }
        m->hard = total / 100 * (size_t) cfg->limit_percentage
                  + total % 100 * (size_t) cfg->limit_percentage / 100;
        spike = cfg->spike_limit_percentage > 0
                    ? total / 100 * (size_t) cfg->spike_limit_percentage
                          + total % 100
                                * (size_t) cfg->spike_limit_percentage / 100
                    : m->hard / ML_SPIKE_DEFAULT;
        snprintf(m->basis, sizeof(m->basis), "limit_percentage %lld of "
                 "%.1f MiB (%s)", (long long) cfg->limit_percentage,
                 (double) total / (double) ML_MIB, source);
    } else {
        snprintf(err, errlen, "one of limit_mib or limit_percentage is "
                 "required");
        return TD_EINVAL;
    }
    if (spike >= m->hard) {
        snprintf(err, errlen, "the spike limit (%zu bytes) must be less "
                 "than the limit (%zu bytes)", spike, m->hard);
        return TD_EINVAL;
    }
    m->soft = m->hard - spike;
    return TD_OK;
}

/* ---- the check thread ---- */

/*
 * Gives free heap memory back to the system and says so, with the
 * figures before and after, at most once per ML_LOG_EVERY_MS.
 */
static void
ml_release(ml *m, size_t rss, bool have_rss, size_t used, size_t *after)
{
    const td_budget_paths *paths = td_budget_get_paths();
    int64_t now = td_mono_ms();
    char again[80] = "";

#ifdef __GLIBC__
    malloc_trim(0);
#endif
    if (!have_rss || td_budget_read_rss(paths->statm, after) != TD_OK) {
        *after = rss;
    }
    if (m->last_log_ms != 0 && now - m->last_log_ms < ML_LOG_EVERY_MS) {
        m->unlogged++;
        return;
    }
    if (m->unlogged > 0) {
        snprintf(again, sizeof(again), " (%llu more times since the last "
                 "message)", (unsigned long long) m->unlogged);
    }
    td_log(TD_LOG_WARN, m->id, NULL, 0,
           "above the hard limit of %.1f MiB: resident %.1f MiB, "
           "telemetry %.1f MiB; returned free heap memory to the system, "
           "resident now %.1f MiB%s", (double) m->hard / (double) ML_MIB,
           (double) rss / (double) ML_MIB, (double) used / (double) ML_MIB,
           (double) *after / (double) ML_MIB, again);
    m->last_log_ms = now;
    m->unlogged = 0;
}

/* One check: resident size and budget against the hard limit. */
static void
ml_check(ml *m)
{
    const td_budget_paths *paths = td_budget_get_paths();
    size_t rss = 0, used = td_budget_used();
    bool have_rss = td_budget_read_rss(paths->statm, &rss) == TD_OK;

    if ((have_rss && rss > m->hard) || used > m->hard) {
        ml_release(m, rss, have_rss, used, &rss);
    }
    td_budget_set_rss_over(m, have_rss && rss > m->hard);
    td_budget_update(td_mono_ms(), rss);
}

static void *
ml_thread(void *arg)
{
    ml *m = arg;
    struct timespec ts;

    pthread_mutex_lock(&m->lock);
    while (!m->stop) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += m->cfg->check_interval_ms / 1000;
        ts.tv_nsec += (long) (m->cfg->check_interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!m->stop
               && pthread_cond_timedwait(&m->cond, &m->lock, &ts)
                      != ETIMEDOUT) {
        }
        if (m->stop) {
            break;
        }
        pthread_mutex_unlock(&m->lock);
        ml_check(m);
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

/* ---- lifecycle ---- */

static void ml_destroy(void *self);

static int
ml_metrics(ml *m, const td_component_ctx *ctx, char *err, size_t errlen)
{
    char labels[512], name[128];

    if (td_self_labels(labels, sizeof(labels), "processor", ctx->id,
                       "pipeline", ctx->pipeline ? ctx->pipeline : "",
                       NULL) != TD_OK) {
        snprintf(err, errlen, "processor id \"%s\" is too long for metric "
                 "labels", ctx->id);
        return TD_EINVAL;
    }
    snprintf(name, sizeof(name),
             "tandem_processor_memory_limiter_refused_%s_total",
             td_signal_items(ctx->signal));
    m->refused = td_self_counter(
        name, "Items memory_limiter refused because the memory budget was "
        "above its soft limit; a batch refused again on a retry counts "
        "again.", labels);
    if (td_budget_metrics() != TD_OK) {
        snprintf(err, errlen, "out of memory");
        return TD_ENOMEM;
    }
    return TD_OK;
}

static int
ml_create(const td_component_ctx *ctx, const void *cfgp, void **self,
          char *err, size_t errlen)
{
    pthread_condattr_t attr;
    ml *m;
    int rc;

    m = calloc(1, sizeof(*m));
    if (m == NULL || (m->id = strdup(ctx->id)) == NULL) {
        free(m);
        snprintf(err, errlen, "out of memory");
        return TD_ENOMEM;
    }
    m->cfg = cfgp;
    m->next = ctx->next;
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &attr);
    pthread_condattr_destroy(&attr);

    rc = ml_limits(m, err, errlen);
    if (rc == TD_OK) {
        rc = ml_metrics(m, ctx, err, errlen);
    }
    if (rc == TD_OK) {
        rc = td_budget_set_limits(m, m->soft, m->hard);
        if (rc != TD_OK) {
            snprintf(err, errlen, "out of memory");
        }
    }
    if (rc != TD_OK) {
        ml_destroy(m);
        return rc;
    }
    *self = m;
    return TD_OK;
}

/*
 * Checks once before the first batch can arrive, so that a process that
 * starts above its hard limit says so at once, then leaves the rest to
 * the thread.
 */
static int
ml_start(void *self, char *err, size_t errlen)
{
    ml *m = self;
    size_t rss;
    int rc;

    td_log(TD_LOG_INFO, m->id, NULL, 0, "memory limits: hard %.1f MiB, "
           "soft %.1f MiB (%s)", (double) m->hard / (double) ML_MIB,
           (double) m->soft / (double) ML_MIB, m->basis);
    if (td_budget_read_rss(td_budget_get_paths()->statm, &rss) != TD_OK) {
        td_log(TD_LOG_WARN, m->id, NULL, 0, "cannot read the resident "
               "size from %s; only the memory budget is checked against "
               "the hard limit", td_budget_get_paths()->statm);
    }
    ml_check(m);
    rc = pthread_create(&m->thread, NULL, ml_thread, m);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the check thread: %s",
                 strerror(rc));
        return TD_ERR;
    }
    m->thread_started = true;
    return TD_OK;
}

static int
ml_consume(void *self, td_batch *b)
{
    ml *m = self;

    if (!td_budget_admits()) {
        td_counter_add(m->refused, td_batch_items(b));
        return TD_AGAIN;
    }
    return td_consumer_consume(m->next, b);
}

/* Nothing is held; only the check thread stops. */
static void
ml_shutdown(void *self, int64_t deadline)
{
    ml *m = self;

    (void) deadline;
    if (!m->thread_started) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    m->stop = true;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->thread, NULL);
    m->thread_started = false;
}

static void
ml_destroy(void *self)
{
    ml *m = self;

    ml_shutdown(m, td_mono_ms());
    td_budget_clear(m);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    free(m->id);
    free(m);
}

const td_component_desc td_memory_limiter_processor = {
    .type = "memory_limiter",
    .kind = TD_KIND_PROCESSOR,
    .signals = TD_SIGNALS_ALL,
    .summary = "refuses data while the memory budget is above its soft "
               "limit",
    .cfg_size = sizeof(ml_cfg),
    .keys = ml_keys,
    .validate = ml_validate,
    .create = ml_create,
    .start = ml_start,
    .consume = ml_consume,
    .shutdown = ml_shutdown,
    .destroy = ml_destroy,
};
