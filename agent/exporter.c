/*
 * exporter.c - the exporter helper: a bounded sending queue in memory,
 * the consumer threads that take from it, and retry with exponential
 * backoff and jitter, wrapped around every exporter component.
 *
 * The behaviour follows the OpenTelemetry Collector's exporterhelper
 * (sending_queue, retry_on_failure, timeout). One mutex guards the queue
 * and the shutdown state; three condition variables, all on the
 * monotonic clock, wake consumers when a batch arrives (nonempty), cut a
 * retry wait short when shutdown begins or its deadline passes (wake),
 * and tell shutdown that synchronous sends and reservations have ended
 * (idle). The counters are relaxed atomics (selfmetrics.h) and take no
 * lock.
 *
 * Queue slots are counted as "queued + reserved" so that a pipeline can
 * reserve a slot in every exporter before it commits the batch to any of
 * them (service.c); a reservation that is not committed is released.
 * Shutdown refuses new reservations but lets outstanding ones commit
 * (until its deadline): the consumers stay until the queue is empty and
 * no reservation is left, so a batch a pipeline was promised a slot for
 * is still sent.
 *
 * The queue is in memory only: the Collector's persistent queue
 * (sending_queue.storage) is not implemented, so batches queued when the
 * process dies are lost (docs/LIMITATIONS.md, "Exporter sending queue").
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exporter.h"
#include "log.h"
#include "selfmetrics.h"

/* Same cause: one warning per this many ms; a new cause: one per 1 s. */
#define TD_EXPORTER_WARN_SAME_MS  10000
#define TD_EXPORTER_WARN_NEW_MS   1000

/* The helper's config keys (td_exporter_keys) are in exporter_keys.c. */

/* A queued batch and the ticket its pipeline waits on. */
typedef struct td_exporter_slot {
    td_batch *b;
    td_flight *f;
} td_exporter_slot;

struct td_exporter {
    char *id;
    const td_component_desc *desc;
    void *self;
    td_exporter_settings set;

    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    pthread_cond_t wake;
    pthread_cond_t idle;
    td_exporter_slot *ring;         /* cap slots, len from head */
    size_t cap, head, len;
    size_t reserved;                /* slots taken, not yet committed */
    size_t busy;                    /* synchronous sends running */
    bool stopping;                  /* shutdown began: refuse reserves */
    int64_t deadline;               /* of shutdown, once stopping */
    uint64_t late[TD_SIGNAL_COUNT]; /* items dropped at the deadline */
    atomic_llong queued;            /* len, for td_exporter_queue_len */

    pthread_t *threads;
    size_t n_threads;
    bool component_started;
    bool shut;

    td_counter *sent[TD_SIGNAL_COUNT];
    td_counter *failed[TD_SIGNAL_COUNT];
    td_counter *dropped[TD_SIGNAL_COUNT];
    td_gauge *q_size;
    td_gauge *q_cap;

    /* Rate limit of drop warnings, under warn_lock. */
    pthread_mutex_t warn_lock;
    char warn_cause[256];
    int64_t warn_at;
    uint64_t warn_suppressed;
};

/* Per-thread state of the jitter generator (xorshift64*). */
typedef struct td_exporter_rng {
    uint64_t s;
} td_exporter_rng;

static double
td_exporter_rand01(td_exporter_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (double) ((r->s * 2685821657736338717ull) >> 11)
           * (1.0 / 9007199254740992.0);
}

static void
td_exporter_rng_seed(td_exporter_rng *r, uint64_t salt)
{
    r->s = td_now_ns() ^ (salt * 0x9e3779b97f4a7c15ull);
    if (r->s == 0) {
        r->s = 0x2545f4914f6cdd1dull;
    }
}

/* Absolute CLOCK_MONOTONIC time of a td_mono_ms() value. */
static struct timespec
td_exporter_abstime(int64_t ms)
{
    struct timespec ts;

    ts.tv_sec = (time_t) (ms / 1000);
    ts.tv_nsec = (long) (ms % 1000) * 1000000L;
    return ts;
}

static int
td_exporter_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t attr;
    int rc;

    if (pthread_condattr_init(&attr) != 0) {
        return TD_ENOMEM;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    rc = pthread_cond_init(cv, &attr);
    pthread_condattr_destroy(&attr);
    return rc == 0 ? TD_OK : TD_ENOMEM;
}

static td_counter *
td_exporter_ctr(td_counter *const *arr, td_signal s)
{
    return (unsigned) s < TD_SIGNAL_COUNT ? arr[s] : NULL;
}

/*
 * Logs a dropped batch at warn, at most once per 10 s for the same cause
 * and once per second overall, with the number of lines held back.
 */
static void
td_exporter_warn(td_exporter *x, const char *cause, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
td_exporter_warn(td_exporter *x, const char *cause, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    int64_t now, since;
    uint64_t held;
    bool same;

    if (TD_LOG_WARN > td_log_level_cur) {
        return;
    }
    now = td_mono_ms();
    pthread_mutex_lock(&x->warn_lock);
    same = strncmp(x->warn_cause, cause, sizeof(x->warn_cause) - 1) == 0;
    since = now - x->warn_at;
    if (x->warn_at != 0
        && since < (same ? TD_EXPORTER_WARN_SAME_MS
                         : TD_EXPORTER_WARN_NEW_MS)) {
        x->warn_suppressed++;
        pthread_mutex_unlock(&x->warn_lock);
        return;
    }
    held = x->warn_suppressed;
    x->warn_suppressed = 0;
    x->warn_at = now;
    snprintf(x->warn_cause, sizeof(x->warn_cause), "%s", cause);
    pthread_mutex_unlock(&x->warn_lock);

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (held > 0) {
        td_log(TD_LOG_WARN, x->id, NULL, 0,
               "%s (%" PRIu64 " similar warnings suppressed)", msg, held);
    } else {
        td_log(TD_LOG_WARN, x->id, NULL, 0, "%s", msg);
    }
}

/* Counts items dropped because the shutdown deadline passed. */
static void
td_exporter_drop_late(td_exporter *x, const td_batch *b)
{
    size_t items = td_batch_items(b);

    td_counter_add(td_exporter_ctr(x->dropped, b->signal), items);
    pthread_mutex_lock(&x->lock);
    if ((unsigned) b->signal < TD_SIGNAL_COUNT) {
        x->late[b->signal] += items;
    }
    pthread_mutex_unlock(&x->lock);
}

/*
 * Waits until the td_mono_ms() time until. Returns false, early, when
 * shutdown's deadline has passed; shutdown itself only shortens the wait
 * to its deadline, so that retries go on while the queue drains.
 */
static bool
td_exporter_sleep(td_exporter *x, int64_t until)
{
    bool ok = true;

    pthread_mutex_lock(&x->lock);
    for (;;) {
        int64_t now = td_mono_ms(), wake_at = until;
        struct timespec ts;

        if (x->stopping && now >= x->deadline) {
            ok = false;
            break;
        }
        if (now >= until) {
            break;
        }
        if (x->stopping && x->deadline < wake_at) {
            wake_at = x->deadline;
        }
        ts = td_exporter_abstime(wake_at);
        pthread_cond_timedwait(&x->wake, &x->lock, &ts);
    }
    pthread_mutex_unlock(&x->lock);
    return ok;
}

/*
 * The deadline of the next attempt, or -1 when shutdown's deadline has
 * passed and the batch must be dropped instead.
 */
static int64_t
td_exporter_attempt_deadline(td_exporter *x)
{
    int64_t now = td_mono_ms(), dl;

    dl = x->set.timeout_ms > 0 ? now + x->set.timeout_ms : INT64_MAX;
    pthread_mutex_lock(&x->lock);
    if (x->stopping) {
        if (now >= x->deadline) {
            dl = -1;
        } else if (x->deadline < dl) {
            dl = x->deadline;
        }
    }
    pthread_mutex_unlock(&x->lock);
    return dl;
}

/* The next backoff wait: interval * (1 +- factor * random), in ms. */
static int64_t
td_exporter_jitter(const td_exporter *x, double interval,
                   td_exporter_rng *rng)
{
    double r = x->set.randomization_factor;
    double w = interval * (1.0 - r + 2.0 * r * td_exporter_rand01(rng));

    return w < 1.0 ? 1 : (int64_t) w;
}

/*
 * Delivers one batch: export, and on a retryable failure wait and try
 * again, until it is sent, rejected for good, out of retry time, or the
 * shutdown deadline passes. Counts every outcome. The caller keeps its
 * reference to b.
 */
static void
td_exporter_send(td_exporter *x, td_batch *b, td_exporter_rng *rng)
{
    td_signal sig = b->signal;
    size_t items = td_batch_items(b);
    const char *unit = td_signal_items(sig);
    int64_t start = td_mono_ms();
    double interval = (double) x->set.initial_interval_ms;
    char err[256];

    for (int attempt = 1;; attempt++) {
        int64_t dl = td_exporter_attempt_deadline(x), wait, now;
        int rc;

        if (dl < 0) {
            td_exporter_drop_late(x, b);
            return;
        }
        err[0] = '\0';
        rc = x->desc->export != NULL
             ? x->desc->export(x->self, b, dl, err, sizeof(err)) : TD_OK;
        if (rc == TD_OK) {
            td_counter_add(td_exporter_ctr(x->sent, sig), items);
            return;
        }
        td_counter_add(td_exporter_ctr(x->failed, sig), items);
        if (err[0] == '\0') {
            snprintf(err, sizeof(err), "export failed with code %d", rc);
        }

        if (rc != TD_AGAIN) {
            td_counter_add(td_exporter_ctr(x->dropped, sig), items);
            td_exporter_warn(x, err, "dropped %zu %s rejected for good "
                             "(not retryable): %s", items, unit, err);
            return;
        }
        if (!x->set.retry_enabled) {
            td_counter_add(td_exporter_ctr(x->dropped, sig), items);
            td_exporter_warn(x, err, "dropped %zu %s after a failed "
                             "export (retry_on_failure is disabled): %s",
                             items, unit, err);
            return;
        }

        wait = td_exporter_jitter(x, interval, rng);
        interval *= x->set.multiplier;
        if (interval > (double) x->set.max_interval_ms) {
            interval = (double) x->set.max_interval_ms;
        }
        now = td_mono_ms();
        if (x->set.max_elapsed_ms > 0
            && now + wait - start > x->set.max_elapsed_ms) {
            td_counter_add(td_exporter_ctr(x->dropped, sig), items);
            td_exporter_warn(x, err, "dropped %zu %s after %d attempts in "
                             "%lld ms (retry_on_failure.max_elapsed_time): "
                             "%s", items, unit, attempt,
                             (long long) (now - start), err);
            return;
        }
        if (!td_exporter_sleep(x, now + wait)) {
            td_exporter_drop_late(x, b);
            return;
        }
    }
}

/*
 * True, with the lock held, when consumers may leave: shutdown began and
 * no reservation is outstanding any more (or the deadline passed, for a
 * caller that never commits nor releases).
 */
static bool
td_exporter_done_locked(const td_exporter *x)
{
    return x->stopping
           && (x->reserved == 0 || td_mono_ms() >= x->deadline);
}

/*
 * A consumer: takes the oldest batch and sends it, until shutdown has
 * begun, the queue is empty and no reservation is left. Once the
 * shutdown deadline has passed, what is still queued is dropped (and
 * counted) without an attempt.
 */
static void *
td_exporter_consume(void *arg)
{
    td_exporter *x = arg;
    td_exporter_rng rng;

    td_exporter_rng_seed(&rng, (uint64_t) (uintptr_t) &rng);
    pthread_mutex_lock(&x->lock);
    for (;;) {
        td_exporter_slot slot;
        bool late;

        if (x->len == 0 && td_exporter_done_locked(x)) {
            break;
        }
        if (x->len == 0) {
            if (x->stopping) {
                struct timespec ts = td_exporter_abstime(x->deadline);

                pthread_cond_timedwait(&x->nonempty, &x->lock, &ts);
            } else {
                pthread_cond_wait(&x->nonempty, &x->lock);
            }
            continue;
        }
        slot = x->ring[x->head];
        x->ring[x->head] = (td_exporter_slot) { NULL, NULL };
        x->head = (x->head + 1) % x->cap;
        x->len--;
        atomic_store(&x->queued, (long long) x->len);
        td_gauge_set(x->q_size, (int64_t) x->len);
        late = x->stopping && td_mono_ms() >= x->deadline;
        pthread_mutex_unlock(&x->lock);

        if (late) {
            td_exporter_drop_late(x, slot.b);
        } else {
            td_exporter_send(x, slot.b, &rng);
        }
        td_batch_unref(slot.b);
        td_flight_done(slot.f);
        pthread_mutex_lock(&x->lock);
    }
    pthread_mutex_unlock(&x->lock);
    return NULL;
}

static int
td_exporter_metrics(td_exporter *x)
{
    static const char *const what[3] = {"sent", "send_failed", "dropped"};
    static const char *const help[3] = {
        "Items an exporter delivered.",
        "Items in export attempts that failed; every attempt counts.",
        ("Items an exporter gave up on: rejected, out of retries, or "
         "left at the shutdown deadline.")
    };
    char labels[512], name[128];

    if (td_self_labels(labels, sizeof(labels), "exporter", x->id, NULL)
        != TD_OK) {
        return TD_EINVAL;
    }
    for (int s = 0; s < TD_SIGNAL_COUNT; s++) {
        td_counter **dst[3] = {x->sent, x->failed, x->dropped};

        for (int k = 0; k < 3; k++) {
            snprintf(name, sizeof(name), "tandem_exporter_%s_%s_total",
                     what[k], td_signal_items((td_signal) s));
            dst[k][s] = td_self_counter(name, help[k], labels);
            if (dst[k][s] == NULL) {
                return TD_ENOMEM;
            }
        }
    }
    x->q_size = td_self_gauge("tandem_exporter_queue_size",
                              "Batches waiting in an exporter's sending "
                              "queue.", labels);
    x->q_cap = td_self_gauge("tandem_exporter_queue_capacity",
                             "Batches an exporter's sending queue holds "
                             "(0 without a queue).", labels);
    if (x->q_size == NULL || x->q_cap == NULL) {
        return TD_ENOMEM;
    }
    td_gauge_set(x->q_size, 0);
    td_gauge_set(x->q_cap, x->set.queue_enabled ? x->set.queue_size : 0);
    return TD_OK;
}

/* Keeps the settings usable even when they bypassed the key limits. */
static void
td_exporter_clamp(td_exporter_settings *s)
{
    if (s->num_consumers < 1) {
        s->num_consumers = 1;
    }
    if (s->queue_size < 1) {
        s->queue_size = 1;
    }
    if (s->initial_interval_ms < 1) {
        s->initial_interval_ms = 1;
    }
    if (s->max_interval_ms < s->initial_interval_ms) {
        s->max_interval_ms = s->initial_interval_ms;
    }
    if (s->max_elapsed_ms < 0) {
        s->max_elapsed_ms = 0;
    }
    if (!(s->multiplier >= 1.0)) {
        s->multiplier = 1.0;
    }
    if (!(s->randomization_factor >= 0.0)) {
        s->randomization_factor = 0.0;
    } else if (s->randomization_factor > 1.0) {
        s->randomization_factor = 1.0;
    }
}

static void
td_exporter_free(td_exporter *x, int inited)
{
    if (inited >= 5) {
        pthread_mutex_destroy(&x->warn_lock);
    }
    if (inited >= 4) {
        pthread_cond_destroy(&x->idle);
    }
    if (inited >= 3) {
        pthread_cond_destroy(&x->wake);
    }
    if (inited >= 2) {
        pthread_cond_destroy(&x->nonempty);
    }
    if (inited >= 1) {
        pthread_mutex_destroy(&x->lock);
    }
    free(x->ring);
    free(x->id);
    free(x);
}

td_exporter *
td_exporter_new(const char *id, const td_component_desc *desc, void *self,
                const td_exporter_settings *set)
{
    td_exporter *x = calloc(1, sizeof(*x));
    int inited = 0;

    if (x == NULL) {
        return NULL;
    }
    x->desc = desc;
    x->self = self;
    x->set = *set;
    td_exporter_clamp(&x->set);
    atomic_init(&x->queued, 0);
    x->id = strdup(id);
    x->cap = x->set.queue_enabled ? (size_t) x->set.queue_size : 0;
    x->ring = x->cap > 0 ? calloc(x->cap, sizeof(*x->ring)) : NULL;
    if (x->id == NULL || (x->cap > 0 && x->ring == NULL)) {
        td_exporter_free(x, inited);
        return NULL;
    }

    if (pthread_mutex_init(&x->lock, NULL) != 0) {
        td_exporter_free(x, inited);
        return NULL;
    }
    inited = 1;
    if (td_exporter_cond_init(&x->nonempty) != TD_OK) {
        td_exporter_free(x, inited);
        return NULL;
    }
    inited = 2;
    if (td_exporter_cond_init(&x->wake) != TD_OK) {
        td_exporter_free(x, inited);
        return NULL;
    }
    inited = 3;
    if (td_exporter_cond_init(&x->idle) != TD_OK) {
        td_exporter_free(x, inited);
        return NULL;
    }
    inited = 4;
    if (pthread_mutex_init(&x->warn_lock, NULL) != 0) {
        td_exporter_free(x, inited);
        return NULL;
    }
    inited = 5;

    if (td_exporter_metrics(x) != TD_OK) {
        td_exporter_free(x, inited);
        return NULL;
    }
    return x;
}

/* Tells every thread that shutdown began, with its deadline. */
static void
td_exporter_stop_threads(td_exporter *x, int64_t deadline)
{
    pthread_mutex_lock(&x->lock);
    if (!x->stopping || deadline < x->deadline) {
        x->deadline = deadline;
    }
    x->stopping = true;
    pthread_cond_broadcast(&x->nonempty);
    pthread_cond_broadcast(&x->wake);
    pthread_mutex_unlock(&x->lock);

    /*
     * An export in progress cannot be interrupted: one that overruns its
     * deadline holds this join, and shutdown, past the deadline
     * (docs/LIMITATIONS.md, "Exporter sending queue").
     */
    for (size_t i = 0; i < x->n_threads; i++) {
        pthread_join(x->threads[i], NULL);
    }
    free(x->threads);
    x->threads = NULL;
    x->n_threads = 0;
}

int
td_exporter_start(td_exporter *x, char *err, size_t errlen)
{
    size_t n;
    int rc;

    if (x->component_started) {
        snprintf(err, errlen, "exporter \"%s\" already started", x->id);
        return TD_EINVAL;
    }
    if (x->desc->start != NULL) {
        rc = x->desc->start(x->self, err, errlen);
        if (rc != TD_OK) {
            return rc;
        }
    }
    x->component_started = true;
    if (!x->set.queue_enabled) {
        return TD_OK;
    }

    n = (size_t) x->set.num_consumers;
    x->threads = calloc(n, sizeof(*x->threads));
    if (x->threads == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = TD_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        int prc = pthread_create(&x->threads[i], NULL, td_exporter_consume,
                                 x);

        if (prc != 0) {
            snprintf(err, errlen, "cannot start consumer thread %zu of "
                     "%zu: %s", i + 1, n, strerror(prc));
            rc = TD_ERR;
            goto fail;
        }
        x->n_threads = i + 1;
    }
    return TD_OK;

fail:
    td_exporter_stop_threads(x, td_mono_ms());
    if (x->desc->shutdown != NULL) {
        x->desc->shutdown(x->self, td_mono_ms());
    }
    x->shut = true;
    return rc;
}

td_flight *
td_flight_new(td_gauge *in_flight, int64_t items, int refs)
{
    td_flight *f = malloc(sizeof(*f));

    if (f != NULL) {
        atomic_init(&f->refs, refs);
        f->items = items;
        f->in_flight = in_flight;
    }
    return f;
}

void
td_flight_done(td_flight *f)
{
    if (f != NULL && atomic_fetch_sub(&f->refs, 1) == 1) {
        td_gauge_add(f->in_flight, -f->items);
        free(f);
    }
}

int
td_exporter_reserve(td_exporter *x)
{
    int rc = TD_OK;

    /* Without a queue there is no limit, but shutdown waits for it. */
    pthread_mutex_lock(&x->lock);
    if (x->stopping || (x->cap > 0 && x->len + x->reserved >= x->cap)) {
        rc = TD_AGAIN;
    } else {
        x->reserved++;
    }
    pthread_mutex_unlock(&x->lock);
    return rc;
}

/* Gives a reservation back; the last one wakes a waiting shutdown. */
static void
td_exporter_unreserve_locked(td_exporter *x)
{
    if (x->reserved > 0 && --x->reserved == 0 && x->stopping) {
        pthread_cond_broadcast(&x->nonempty);
        pthread_cond_broadcast(&x->idle);
    }
}

void
td_exporter_release(td_exporter *x)
{
    pthread_mutex_lock(&x->lock);
    td_exporter_unreserve_locked(x);
    pthread_mutex_unlock(&x->lock);
}

/*
 * Without a queue the batch is sent here, in the caller's thread, with
 * the same retry; busy lets shutdown wait for such sends to end.
 */
static void
td_exporter_send_now(td_exporter *x, td_batch *b)
{
    td_exporter_rng rng;

    td_exporter_rng_seed(&rng, (uint64_t) (uintptr_t) &rng);
    pthread_mutex_lock(&x->lock);
    x->busy++;
    td_exporter_unreserve_locked(x);
    pthread_mutex_unlock(&x->lock);

    td_exporter_send(x, b, &rng);

    pthread_mutex_lock(&x->lock);
    if (--x->busy == 0) {
        pthread_cond_broadcast(&x->idle);
    }
    pthread_mutex_unlock(&x->lock);
}

void
td_exporter_commit(td_exporter *x, td_batch *b, td_flight *f)
{
    if (x->cap == 0) {
        td_exporter_send_now(x, b);
        td_flight_done(f);
        return;
    }

    pthread_mutex_lock(&x->lock);
    if (x->reserved == 0 && x->len >= x->cap) {
        /* A commit without a reservation into a full queue: caller bug. */
        pthread_mutex_unlock(&x->lock);
        td_counter_add(td_exporter_ctr(x->dropped, b->signal),
                       td_batch_items(b));
        td_log(TD_LOG_ERROR, x->id, NULL, 0, "dropped %zu %s: committed "
               "to a full queue without a reservation", td_batch_items(b),
               td_signal_items(b->signal));
        td_flight_done(f);
        return;
    }
    td_batch_ref(b);
    x->ring[(x->head + x->len) % x->cap] = (td_exporter_slot) { b, f };
    x->len++;
    atomic_store(&x->queued, (long long) x->len);
    td_gauge_set(x->q_size, (int64_t) x->len);
    pthread_cond_signal(&x->nonempty);
    td_exporter_unreserve_locked(x);
    pthread_mutex_unlock(&x->lock);
}

/*
 * Takes every batch still queued out of the ring (the lock held) and
 * counts it as dropped at the deadline. Returns them in a list through
 * their ring slots so that the caller unrefs them without the lock.
 */
static size_t
td_exporter_take_rest(td_exporter *x, td_exporter_slot *out, size_t max)
{
    size_t n = 0;

    while (x->len > 0 && n < max) {
        td_batch *b = x->ring[x->head].b;
        size_t items = td_batch_items(b);

        out[n] = x->ring[x->head];
        x->ring[x->head] = (td_exporter_slot) { NULL, NULL };
        x->head = (x->head + 1) % x->cap;
        x->len--;
        td_counter_add(td_exporter_ctr(x->dropped, b->signal), items);
        if ((unsigned) b->signal < TD_SIGNAL_COUNT) {
            x->late[b->signal] += items;
        }
        n++;
    }
    atomic_store(&x->queued, (long long) x->len);
    td_gauge_set(x->q_size, (int64_t) x->len);
    return n;
}

/* Drops what no consumer sent (no consumers ran, or a late commit). */
static void
td_exporter_drop_rest(td_exporter *x)
{
    td_exporter_slot *rest;
    size_t n;

    if (x->cap == 0) {
        return;
    }
    rest = calloc(x->cap, sizeof(*rest));
    pthread_mutex_lock(&x->lock);
    if (rest == NULL) {
        /* Without memory for the list, unref one at a time, locked. */
        while (x->len > 0) {
            td_exporter_slot slot;

            td_exporter_take_rest(x, &slot, 1);
            td_batch_unref(slot.b);
            td_flight_done(slot.f);
        }
        pthread_mutex_unlock(&x->lock);
        return;
    }
    n = td_exporter_take_rest(x, rest, x->cap);
    pthread_mutex_unlock(&x->lock);
    for (size_t i = 0; i < n; i++) {
        td_batch_unref(rest[i].b);
        td_flight_done(rest[i].f);
    }
    free(rest);
}

static void
td_exporter_log_late(td_exporter *x)
{
    char msg[256];
    size_t o = 0;
    uint64_t late[TD_SIGNAL_COUNT];

    pthread_mutex_lock(&x->lock);
    memcpy(late, x->late, sizeof(late));
    memset(x->late, 0, sizeof(x->late));
    pthread_mutex_unlock(&x->lock);

    msg[0] = '\0';
    for (int s = 0; s < TD_SIGNAL_COUNT; s++) {
        if (late[s] > 0 && o < sizeof(msg)) {
            o += (size_t) snprintf(msg + o, sizeof(msg) - o, "%s%" PRIu64
                                   " %s", o ? ", " : "", late[s],
                                   td_signal_items((td_signal) s));
        }
    }
    if (msg[0] != '\0') {
        td_log(TD_LOG_WARN, x->id, NULL, 0, "shutdown deadline reached: "
               "dropped %s still queued or being retried", msg);
    }
}

void
td_exporter_shutdown(td_exporter *x, int64_t deadline)
{
    if (x->shut) {
        return;
    }
    td_exporter_stop_threads(x, deadline);

    /*
     * Without a queue, reservations become sends in the callers' threads:
     * wait for those running (they end at the deadline too, see
     * td_exporter_send) and, until the deadline, for those reserved.
     */
    pthread_mutex_lock(&x->lock);
    while (x->busy > 0
           || (x->reserved > 0 && td_mono_ms() < x->deadline)) {
        struct timespec ts = td_exporter_abstime(x->deadline);

        if (x->busy > 0) {
            pthread_cond_wait(&x->idle, &x->lock);
        } else {
            pthread_cond_timedwait(&x->idle, &x->lock, &ts);
        }
    }
    pthread_mutex_unlock(&x->lock);

    td_exporter_drop_rest(x);
    td_exporter_log_late(x);
    if (x->component_started && x->desc->shutdown != NULL) {
        x->desc->shutdown(x->self, deadline);
    }
    x->shut = true;
}

void
td_exporter_destroy(td_exporter *x)
{
    if (x == NULL) {
        return;
    }
    if (x->component_started && !x->shut) {
        td_exporter_shutdown(x, td_mono_ms());
    }
    td_exporter_drop_rest(x);
    if (x->self != NULL && x->desc->destroy != NULL) {
        x->desc->destroy(x->self);
    }
    td_exporter_free(x, 5);
}

int64_t
td_exporter_queue_len(const td_exporter *x)
{
    return (int64_t) atomic_load(&x->queued);
}
