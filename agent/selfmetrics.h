/*
 * selfmetrics.h - tandem's own counters and gauges, rendered as
 * Prometheus text at service.telemetry.metrics.address /metrics.
 *
 * Metrics are registered while the service is built (main thread) and
 * updated from any thread with relaxed atomics. A family is a name, a help
 * text and a type; each series is the family plus a label set written as
 * Prometheus label text (`receiver="tcplog",transport="tcp"`).
 * Registration returns a pointer that stays valid until td_self_reset().
 */
#ifndef TD_SELFMETRICS_H
#define TD_SELFMETRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct td_counter {
    atomic_uint_fast64_t v;
} td_counter;

typedef struct td_gauge {
    atomic_int_fast64_t v;
} td_gauge;

/*
 * Finds or creates a counter series. name must end in "_total"; help is
 * the family's HELP line. NULL on ENOMEM (callers may then pass NULL to
 * td_counter_add, which ignores it).
 */
td_counter *td_self_counter(const char *name, const char *help,
                            const char *labels);

/*
 * Writes a label set `k="v",k2="v2"` from NULL-terminated key, value
 * pairs, escaping values as the text format requires (backslash, double
 * quote, newline). 0, or TD_EINVAL when it does not fit in len bytes.
 */
int td_self_labels(char *out, size_t len, ...);

/* Finds or creates a gauge series. */
td_gauge *td_self_gauge(const char *name, const char *help,
                        const char *labels);

/*
 * Registers a gauge whose value fn computes at render time (called from
 * the HTTP thread, with the registry's lock held: fn must be quick and
 * must not call td_self_*). Registering the same series again replaces
 * fn and arg. Returns 0, TD_EINVAL (bad name, NULL fn) or TD_ENOMEM.
 */
int td_self_gauge_fn(const char *name, const char *help,
                     const char *labels, double (*fn)(void *arg),
                     void *arg);

static inline void
td_counter_add(td_counter *c, uint64_t n)
{
    if (c != NULL) {
        atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
    }
}

static inline uint64_t
td_counter_get(const td_counter *c)
{
    return c == NULL ? 0
                     : atomic_load_explicit(&c->v, memory_order_relaxed);
}

static inline void
td_gauge_add(td_gauge *g, int64_t n)
{
    if (g != NULL) {
        atomic_fetch_add_explicit(&g->v, n, memory_order_relaxed);
    }
}

static inline void
td_gauge_set(td_gauge *g, int64_t n)
{
    if (g != NULL) {
        atomic_store_explicit(&g->v, n, memory_order_relaxed);
    }
}

/*
 * A histogram series: fixed upper bounds given at registration, one
 * counter per bucket (not cumulative: rendering adds them up, so the
 * buckets, the +Inf bucket and _count always agree within a scrape) and
 * the sum of the observed values. Updated with relaxed atomics.
 */
typedef struct td_histogram {
    const double *bounds;           /* n_bounds, strictly increasing */
    size_t n_bounds;
    atomic_uint_fast64_t *counts;   /* n_bounds + 1; the last is +Inf */
    atomic_uint_fast64_t sum_bits;  /* the sum, as a double's bits */
} td_histogram;

/*
 * Finds or creates a histogram series. bounds are the buckets' upper
 * bounds (le), n_bounds of them, finite and strictly increasing; they
 * are copied, and every series of a family must use the same ones. The
 * name must not end in _bucket, _sum, _count or _total, and labels must
 * not set le. NULL on a bad name, bounds or labels (logged) and on
 * ENOMEM; td_histogram_observe() ignores NULL. Main thread, like every
 * registration.
 */
td_histogram *td_self_histogram(const char *name, const char *help,
                                const char *labels, const double *bounds,
                                size_t n_bounds);

/*
 * Counts one observation: in the first bucket whose bound is >= v (or
 * +Inf) and in the sum. Any thread, no lock. NaN is counted in +Inf
 * and makes the sum NaN, as Prometheus client libraries do.
 */
void td_histogram_observe(td_histogram *h, double v);

/* Observations so far (the +Inf bucket's cumulative count). */
uint64_t td_histogram_count(const td_histogram *h);

/* The sum of the observations so far. */
double td_histogram_sum(const td_histogram *h);

/*
 * Renders every family, with HELP and TYPE lines, plus the process
 * metrics (resident memory, CPU seconds, open fds, start time), in the
 * Prometheus text format 0.0.4. Returns 0 or TD_ENOMEM. Any thread.
 */
int td_self_render(td_buf *out);

/* Forgets every series (tests, and service teardown). */
void td_self_reset(void);

#endif
