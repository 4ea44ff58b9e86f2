/*
 * test_exporter.c - the exporter helper around a fake exporter defined
 * here: delivery order, several consumers, a full queue, retry with
 * backoff, permanent failures, the synchronous mode without a queue, and
 * shutdown (draining within the deadline, dropping at it).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exporter.h"
#include "log.h"
#include "selfmetrics.h"
#include "telemetry.h"
#include "tt.h"

#define FAKE_MAX_CALLS 4096

typedef struct fake {
    pthread_mutex_t lock;
    int fail_first;             /* this many calls return TD_AGAIN */
    int rc_always;              /* when nonzero, every call returns it */
    int64_t delay_ms;           /* time one export takes */
    int start_rc;
    int calls;
    size_t order[FAKE_MAX_CALLS];   /* items of each successful batch */
    int n_order;
    int64_t call_at[FAKE_MAX_CALLS];
    int64_t last_deadline;
    pthread_t thread;           /* thread of the last call */
    int running, max_running;
    int started, shut, destroyed;
    int calls_after_shutdown;
    int64_t shutdown_deadline;
} fake;

static void
fake_init(fake *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
}

static void
fake_sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t) (ms / 1000),
                          (long) (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static int
fake_start(void *self, char *err, size_t errlen)
{
    fake *f = self;

    if (f->start_rc != TD_OK) {
        snprintf(err, errlen, "fake refuses to start");
        return f->start_rc;
    }
    f->started = 1;
    return TD_OK;
}

static int
fake_export(void *self, td_batch *b, int64_t deadline, char *err,
            size_t errlen)
{
    fake *f = self;
    int rc = TD_OK, n;

    pthread_mutex_lock(&f->lock);
    n = f->calls++;
    if (n < FAKE_MAX_CALLS) {
        f->call_at[n] = td_mono_ms();
    }
    f->last_deadline = deadline;
    f->thread = pthread_self();
    if (f->shut) {
        f->calls_after_shutdown++;
    }
    if (++f->running > f->max_running) {
        f->max_running = f->running;
    }
    if (f->rc_always != 0) {
        rc = f->rc_always;
    } else if (n < f->fail_first) {
        rc = TD_AGAIN;
    }
    pthread_mutex_unlock(&f->lock);

    if (f->delay_ms > 0) {
        fake_sleep_ms(f->delay_ms);
    }

    pthread_mutex_lock(&f->lock);
    f->running--;
    if (rc == TD_OK && f->n_order < FAKE_MAX_CALLS) {
        f->order[f->n_order++] = td_batch_items(b);
    }
    pthread_mutex_unlock(&f->lock);
    if (rc != TD_OK) {
        snprintf(err, errlen, rc == TD_AGAIN ? "peer busy"
                                             : "peer rejected the batch");
    }
    return rc;
}

static void
fake_shutdown(void *self, int64_t deadline)
{
    fake *f = self;

    pthread_mutex_lock(&f->lock);
    f->shut = 1;
    f->shutdown_deadline = deadline;
    pthread_mutex_unlock(&f->lock);
}

static void
fake_destroy(void *self)
{
    fake *f = self;

    f->destroyed = 1;
}

static const td_cfg_key fake_keys[] = {
    {.name = NULL}
};

static const td_component_desc fake_desc = {
    .type = "fake",
    .kind = TD_KIND_EXPORTER,
    .signals = TD_SIGNALS_ALL,
    .summary = "test double",
    .keys = fake_keys,
    .start = fake_start,
    .export = fake_export,
    .shutdown = fake_shutdown,
    .destroy = fake_destroy,
};

static int
fake_calls(fake *f)
{
    int n;

    pthread_mutex_lock(&f->lock);
    n = f->calls;
    pthread_mutex_unlock(&f->lock);
    return n;
}

static td_exporter_settings
test_settings(void)
{
    td_exporter_settings s = {
        .timeout_ms = 1000,
        .queue_enabled = true,
        .num_consumers = 1,
        .queue_size = 100,
        .retry_enabled = true,
        .initial_interval_ms = 10,
        .max_interval_ms = 100,
        .max_elapsed_ms = 0,
        .multiplier = 2.0,
        .randomization_factor = 0.0,
    };

    return s;
}

/* A logs batch of n records; the caller holds the one reference. */
static td_batch *
test_batch(size_t n)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_resource_group *rg = b != NULL ? td_batch_add_resource(b) : NULL;
    td_scope_group *sg = rg != NULL ? td_batch_add_scope(b, rg) : NULL;

    TT_CHECK(sg != NULL);
    for (size_t i = 0; sg != NULL && i < n; i++) {
        TT_CHECK(td_batch_add_log(b, sg) != NULL);
    }
    TT_CHECK(b == NULL || td_batch_items(b) == n);
    return b;
}

/* Reserves, commits and drops the local reference. */
static int
test_enqueue(td_exporter *x, size_t items)
{
    td_batch *b;
    int rc = td_exporter_reserve(x);

    if (rc != TD_OK) {
        return rc;
    }
    b = test_batch(items);
    if (b == NULL) {
        td_exporter_release(x);
        return TD_ENOMEM;
    }
    td_exporter_commit(x, b, NULL);
    td_batch_unref(b);
    return TD_OK;
}

static uint64_t
test_counter(const char *what, const char *id)
{
    char name[128], labels[128];

    snprintf(name, sizeof(name), "tandem_exporter_%s_log_records_total",
             what);
    snprintf(labels, sizeof(labels), "exporter=\"%s\"", id);
    /* Finding the series returns the one the helper registered. */
    return td_counter_get(td_self_counter(name, "h", labels));
}

static int64_t
test_gauge(const char *name, const char *id)
{
    char labels[128];
    td_gauge *g;

    snprintf(labels, sizeof(labels), "exporter=\"%s\"", id);
    g = td_self_gauge(name, "h", labels);
    return g != NULL ? (int64_t) atomic_load(&g->v) : -1;
}

/* Polls until the fake saw calls calls or ms pass. */
static int
test_wait_calls(fake *f, int calls, int64_t ms)
{
    int64_t end = td_mono_ms() + ms;

    while (fake_calls(f) < calls && td_mono_ms() < end) {
        fake_sleep_ms(2);
    }
    return fake_calls(f) >= calls;
}

static void
test_order(void)
{
    td_exporter_settings s = test_settings();
    fake f;
    td_exporter *x;
    char err[256];
    size_t sum = 0;

    fake_init(&f);
    td_self_reset();
    x = td_exporter_new("fake/order", &fake_desc, &f, &s);
    TT_CHECK(x != NULL);
    if (x == NULL) {
        return;
    }
    TT_CHECK_INT(td_exporter_start(x, err, sizeof(err)), TD_OK);
    TT_CHECK(f.started);
    for (size_t i = 1; i <= 20; i++) {
        TT_CHECK_INT(test_enqueue(x, i), TD_OK);
        sum += i;
    }
    td_exporter_shutdown(x, td_mono_ms() + 5000);
    TT_CHECK_INT(f.n_order, 20);
    for (int i = 0; i < f.n_order; i++) {
        TT_CHECK_INT(f.order[i], i + 1);
    }
    TT_CHECK_INT(test_counter("sent", "fake/order"), sum);
    TT_CHECK_INT(test_counter("dropped", "fake/order"), 0);
    TT_CHECK_INT(test_counter("send_failed", "fake/order"), 0);
    TT_CHECK_INT(td_exporter_queue_len(x), 0);
    TT_CHECK(f.shut);
    TT_CHECK_INT(f.calls_after_shutdown, 0);

    /* After shutdown nothing is taken. */
    TT_CHECK_INT(td_exporter_reserve(x), TD_AGAIN);
    td_exporter_destroy(x);
    TT_CHECK(f.destroyed);
    td_self_reset();
}

static void
test_many_consumers(void)
{
    td_exporter_settings s = test_settings();
    fake f;
    td_exporter *x;
    char err[256];
    size_t sum = 0, got = 0;

    fake_init(&f);
    f.delay_ms = 5;
    td_self_reset();
    s.num_consumers = 4;
    s.queue_size = 200;
    x = td_exporter_new("fake/many", &fake_desc, &f, &s);
    TT_CHECK(x != NULL);
    if (x == NULL) {
        return;
    }
    TT_CHECK_INT(td_exporter_start(x, err, sizeof(err)), TD_OK);
    for (size_t i = 1; i <= 120; i++) {
        TT_CHECK_INT(test_enqueue(x, i % 7 + 1), TD_OK);
        sum += i % 7 + 1;
    }
    td_exporter_shutdown(x, td_mono_ms() + 10000);
    TT_CHECK_INT(f.n_order, 120);
    for (int i = 0; i < f.n_order; i++) {
        got += f.order[i];
    }
    TT_CHECK_INT(got, sum);
    TT_CHECK_INT(test_counter("sent", "fake/many"), sum);
    /* Four threads with 5 ms exports overlap. */
    TT_CHECK(f.max_running >= 2);
    TT_CHECK(f.max_running <= 4);
    td_exporter_destroy(x);
    td_self_reset();
}

static void
test_queue_full(void)
{
    td_exporter_settings s = test_settings();
    fake f;
    td_exporter *x;
    char err[256];

    fake_init(&f);
    td_self_reset();
    s.queue_size = 2;
    x = td_exporter_new("fake/full", &fake_desc, &f, &s);
    TT_CHECK(x != NULL);
    if (x == NULL) {
        return;
    }
    TT_CHECK_INT(test_gauge("tandem_exporter_queue_capacity", "fake/full"),
                 2);

    /* Not started: nothing consumes, so the queue fills. */
    TT_CHECK_INT(td_exporter_reserve(x), TD_OK);
    TT_CHECK_INT(td_exporter_reserve(x), TD_OK);
    TT_CHECK_INT(td_exporter_reserve(x), TD_AGAIN);
    td_exporter_release(x);
    TT_CHECK_INT(td_exporter_reserve(x), TD_OK);
    td_exporter_release(x);
    td_exporter_release(x);

    TT_CHECK_INT(test_enqueue(x, 3), TD_OK);
    TT_CHECK_INT(test_enqueue(x, 4), TD_OK);
    TT_CHECK_INT(td_exporter_queue_len(x), 2);
    TT_CHECK_INT(test_gauge("tandem_exporter_queue_size", "fake/full"), 2);
    TT_CHECK_INT(test_enqueue(x, 5), TD_AGAIN);

    TT_CHECK_INT(td_exporter_start(x, err, sizeof(err)), TD_OK);
    TT_CHECK(test_wait_calls(&f, 2, 5000));
    td_exporter_shutdown(x, td_mono_ms() + 5000);
    TT_CHECK_INT(test_counter("sent", "fake/full"), 7);
    TT_CHECK_INT(test_gauge("tandem_exporter_queue_size", "fake/full"), 0);
    td_exporter_destroy(x);
    td_self_reset();
}

static void
test_retry_then_success(void)
{
    td_exporter_settings s = test_settings();
    fake f;
    td_exporter *x;
    char err[256];
    /* 10, 20, 25, 25: doubled from 10 ms and capped at 25 ms. */
    const int64_t gaps[4] = {10, 20, 25, 25};

    fake_init(&f);
    f.fail_first = 4;
    td_self_reset();
    s.max_interval_ms = 25;
    x = td_exporter_new("fake/retry", &fake_desc, &f, &s);
    TT_CHECK(x != NULL);
    if (x == NULL) {
        return;
    }
    TT_CHECK_INT(td_exporter_start(x, err, sizeof(err)), TD_OK);
    TT_CHECK_INT(test_enqueue(x, 6), TD_OK);
    TT_CHECK(test_wait_calls(&f, 5, 5000));
    td_exporter_shutdown(x, td_mono_ms() + 5000);

    TT_CHECK_INT(f.calls, 5);
    TT_CHECK_INT(f.n_order, 1);
    TT_CHECK_INT(test_counter("sent", "fake/retry"), 6);
    TT_CHECK_INT(test_counter("send_failed", "fake/retry"), 4 * 6);
    TT_CHECK_INT(test_counter("dropped", "fake/retry"), 0);
    for (int i = 0; i < 4; i++) {
        int64_t gap = f.call_at[i + 1] - f.call_at[i];

        TT_CHECK(gap >= gaps[i]);
        TT_CHECK(gap < gaps[i] + 500);
    }
    /* Each attempt gets timeout_ms from its start. */
    TT_CHECK(f.last_deadline >= f.call_at[4] + 1000);
    TT_CHECK(f.last_deadline <= f.call_at[4] + 1001);
    td_exporter_destroy(x);
    td_self_reset();
}

static void
test_jitter_bounds(void)
{
    td_exporter_settings s = test_settings();
    fake f;
    td_exporter *x;
    char err[256];

    fake_init(&f);
    f.fail_first = 6;
    td_self_reset();
    s.initial_interval_ms = 40;
    s.multiplier = 1.0;
    s.max_interval_ms = 40;
    s.randomization_factor = 0.5;
    x = td_exporter_new("fake/jitter", &fake_desc, &f, &s);
    TT_CHECK(x != NULL);
    if (x == NULL) {
        return;
    }
    TT_CHECK_INT(td_exporter_start(x, err, sizeof(err)), TD_OK);
    TT_CHECK_INT(test_enqueue(x, 1), TD_OK);
    TT_CHECK(test_wait_calls(&f, 7, 5000));
    td_exporter_shutdown(x, td_mono_ms() + 5000);
    /* Each wait lies in 40 ms * (1 +- 0.5), that is 20 to 60 ms. */
    for (int i = 0; i < 6; i++) {
        int64_t gap = f.call_at[i + 1] - f.call_at[i];

        TT_CHECK(gap >= 20);
        TT_CHECK(gap < 60 + 300);
    }
    td_exporter_destroy(x);
    td_self_reset();
}

/* Runs fn with stderr going to a file; returns the file's text. */
static char *
test_capture_stderr(void (*fn)(void *), void *arg)
{
    tt_capture c;

    tt_capture_begin(&c);
    fn(arg);
    return tt_capture_end(&c);
}

static int
test_count(const char *text, const char *needle)
{
    int n = 0;

    for (const char *p = text; p != NULL && (p = strstr(p, needle)) != NULL;
         p++) {
        n++;
    }
    return n;
}

static void
test_permanent_run(void *arg)
{
    td_exporter *x = arg;

    for (size_t i = 1; i <= 5; i++) {
        TT_CHECK_INT(test_enqueue(x, i), TD_OK);
    }
    td_exporter_shutdown(x, td_mono_ms() + 5000);
}

static void
test_permanent_failure(void)
{
    td_exporter_settings s = test_settings();
    fake f;
    td_exporter *x;
    char err[256], *log;

    fake_init(&f);
    f.rc_always = TD_EPERM;
    td_self_reset();
    td_log_set_level(TD_LOG_WARN);
    x = td_exporter_new("fake/perm", &fake_desc, &f, &s);
    TT_CHECK(x != NULL);
    if (x == NULL) {
        return;
    }
    TT_CHECK_INT(td_exporter_start(x, err, sizeof(err)), TD_OK);
    log = test_capture_stderr(test_permanent_run, x);

    /* No retry for a permanent failure: one call per batch. */
    TT_CHECK_INT(f.calls, 5);
    TT_CHECK_INT(test_counter("sent", "fake/perm"), 0);
    TT_CHECK_INT(test_counter("send_failed", "fake/perm"), 15);
    TT_CHECK_INT(test_counter("dropped", "fake/perm"), 15);

    /* Five drops of one cause within 10 s: one warning, with the id. */
    TT_CHECK(log != NULL);
    TT_CHECK_INT(test_count(log, "peer rejected the batch"), 1);
    TT_CHECK(log != NULL && strstr(log, "\"component\":\"fake/perm\"")
                            != NULL);
    TT_CHECK(log != NULL && strstr(log, "\"level\":\"warn\"") != NULL);
    free(log);
    td_exporter_destroy(x);
    td_self_reset();
}

static void
test_retry_disabled_and_max_elapsed(void)
{
    td_exporter_settings s = test_settings();
    fake f;
    td_exporter *x;
    char err[256];
    int64_t t0;

    /* retry_on_failure.enabled: false drops on the first TD_AGAIN. */
    fake_init(&f);
    f.rc_always = TD_AGAIN;
    td_self_reset();
    s.retry_enabled = false;
    x = td_exporter_new("fake/noretry", &fake_desc, &f, &s);
    TT_CHECK(x != NULL);
    if (x == NULL) {
        return;
    }
    TT_CHECK_INT(td_exporter_start(x, err, sizeof(err)), TD_OK);
    TT_CHECK_INT(test_enqueue(x, 2), TD_OK);
    td_exporter_shutdown(x, td_mono_ms() + 5000);
    TT_CHECK_INT(f.calls, 1);
    TT_CHECK_INT(test_counter("dropped", "fake/noretry"), 2);
    td_exporter_destroy(x);

    /* max_elapsed_time gives up before shutdown. */
    fake_init(&f);
    f.rc_always = TD_AGAIN;
    s = test_settings();
    s.initial_interval_ms = 10;
    s.multiplier = 1.0;
    s.max_elapsed_ms = 60;
    x = td_exporter_new("fake/elapsed", &fake_desc, &f, &s);
    TT_CHECK(x != NULL);
    if (x == NULL) {
        return;
    }
    TT_CHECK_INT(td_exporter_start(x, err, sizeof(err)), TD_OK);
    t0 = td_mono_ms();
    TT_CHECK_INT(test_enqueue(x, 3), TD_OK);
    while (test_counter("dropped", "fake/elapsed") == 0
           && td_mono_ms() - t0 < 5000) {
        fake_sleep_ms(2);
    }
    TT_CHECK_INT(test_counter("dropped", "fake/elapsed"), 3);
    TT_CHECK(td_mono_ms() - t0 >= 50);
    /* About six attempts fit in 60 ms of 10 ms waits. */
    TT_CHECK(fake_calls(&f) >= 3 && fake_calls(&f) <= 8);
    TT_CHECK_INT(test_counter("send_failed", "fake/elapsed"),
                 3 * fake_calls(&f));
    td_exporter_shutdown(x, td_mono_ms() + 1000);
    td_exporter_destroy(x);
    td_self_reset();
}

static void
test_shutdown_drains(void)
{
    td_exporter_settings s = test_settings();
    fake f;
    td_exporter *x;
    char err[256];
    int64_t t0, took;

    fake_init(&f);
    f.delay_ms = 20;
    f.fail_first = 2;
    td_self_reset();
    x = td_exporter_new("fake/drain", &fake_desc, &f, &s);
    TT_CHECK(x != NULL);
    if (x == NULL) {
        return;
    }
    TT_CHECK_INT(td_exporter_start(x, err, sizeof(err)), TD_OK);
    for (size_t i = 1; i <= 10; i++) {
        TT_CHECK_INT(test_enqueue(x, 1), TD_OK);
    }
    t0 = td_mono_ms();
    td_exporter_shutdown(x, t0 + 10000);
    took = td_mono_ms() - t0;

    /* Ten sends and two retries of 20 ms each, well before 10 s. */
    TT_CHECK_INT(test_counter("sent", "fake/drain"), 10);
    TT_CHECK_INT(test_counter("dropped", "fake/drain"), 0);
    TT_CHECK(took >= 150);
    TT_CHECK(took < 5000);
    TT_CHECK(f.shut);
    TT_CHECK_INT(f.shutdown_deadline, t0 + 10000);
    TT_CHECK_INT(f.calls_after_shutdown, 0);
    td_exporter_destroy(x);
    td_self_reset();
}

static void
test_deadline_run(void *arg)
{
    td_exporter *x = arg;
    int64_t t0, took;

    for (size_t i = 1; i <= 4; i++) {
        TT_CHECK_INT(test_enqueue(x, 5), TD_OK);
    }
    fake_sleep_ms(30);
    t0 = td_mono_ms();
    td_exporter_shutdown(x, t0 + 300);
    took = td_mono_ms() - t0;
    /* The retry wait ends at the deadline, not at its 1 s interval. */
    TT_CHECK(took >= 290);
    TT_CHECK(took < 900);
}

static void
test_shutdown_drops_at_deadline(void)
{
    td_exporter_settings s = test_settings();
    fake f;
    td_exporter *x;
    char err[256], *log;

    fake_init(&f);
    f.rc_always = TD_AGAIN;
    td_self_reset();
    td_log_set_level(TD_LOG_WARN);
    s.initial_interval_ms = 1000;
    s.max_interval_ms = 1000;
    x = td_exporter_new("fake/late", &fake_desc, &f, &s);
    TT_CHECK(x != NULL);
    if (x == NULL) {
        return;
    }
    TT_CHECK_INT(td_exporter_start(x, err, sizeof(err)), TD_OK);
    log = test_capture_stderr(test_deadline_run, x);

    /* One batch was retrying, three never left the queue. */
    TT_CHECK_INT(test_counter("dropped", "fake/late"), 20);
    TT_CHECK_INT(test_counter("sent", "fake/late"), 0);
    TT_CHECK(f.calls >= 1 && f.calls <= 2);
    TT_CHECK_INT(test_counter("send_failed", "fake/late"), 5 * f.calls);
    TT_CHECK_INT(td_exporter_queue_len(x), 0);
    TT_CHECK(f.shut);
    TT_CHECK_INT(f.calls_after_shutdown, 0);
    TT_CHECK(log != NULL && strstr(log, "dropped 20 log_records") != NULL);
    free(log);
    td_exporter_destroy(x);
    td_self_reset();
}

/*
 * A delivery ticket shared by two exporters leaves the in-flight gauge
 * only when both are done: one sends, the other drops at its deadline.
 */
static void
test_flight_ticket(void)
{
    td_exporter_settings s = test_settings();
    td_gauge g;
    fake ok, bad;
    td_exporter *xa, *xb;
    td_flight *f;
    td_batch *b;
    char err[256];

    fake_init(&ok);
    fake_init(&bad);
    bad.rc_always = TD_AGAIN;
    td_self_reset();
    td_log_set_level(TD_LOG_ERROR);
    atomic_init(&g.v, 0);
    xa = td_exporter_new("fake/ticket_a", &fake_desc, &ok, &s);
    s.initial_interval_ms = 1000;
    xb = td_exporter_new("fake/ticket_b", &fake_desc, &bad, &s);
    TT_CHECK(xa != NULL && xb != NULL);
    if (xa == NULL || xb == NULL) {
        return;
    }
    TT_CHECK_INT(td_exporter_start(xa, err, sizeof(err)), TD_OK);
    TT_CHECK_INT(td_exporter_start(xb, err, sizeof(err)), TD_OK);

    b = test_batch(7);
    td_gauge_add(&g, 7);
    f = td_flight_new(&g, 7, 2);
    TT_CHECK(f != NULL);
    TT_CHECK_INT(td_exporter_reserve(xa), TD_OK);
    TT_CHECK_INT(td_exporter_reserve(xb), TD_OK);
    td_exporter_commit(xa, b, f);
    td_exporter_commit(xb, b, f);
    td_batch_unref(b);

    TT_CHECK(test_wait_calls(&ok, 1, 2000));
    TT_CHECK(test_wait_calls(&bad, 1, 2000));
    fake_sleep_ms(20);
    TT_CHECK_INT(atomic_load(&g.v), 7);     /* b is still retrying */

    td_exporter_shutdown(xa, td_mono_ms() + 1000);
    td_exporter_shutdown(xb, td_mono_ms() + 100);
    TT_CHECK_INT(test_counter("sent", "fake/ticket_a"), 7);
    TT_CHECK_INT(test_counter("dropped", "fake/ticket_b"), 7);
    TT_CHECK_INT(atomic_load(&g.v), 0);
    td_exporter_destroy(xa);
    td_exporter_destroy(xb);
    td_self_reset();
}

typedef struct test_shut_arg {
    td_exporter *x;
    int64_t deadline;
    atomic_int done;
} test_shut_arg;

static void *
test_shutdown_thread(void *arg)
{
    test_shut_arg *a = arg;

    td_exporter_shutdown(a->x, a->deadline);
    atomic_store(&a->done, 1);
    return NULL;
}

/*
 * A slot reserved before shutdown began is still honoured: shutdown
 * waits for its commit and the batch is sent, with and without a queue.
 */
static void
test_reserved_during_shutdown(void)
{
    for (int queued = 1; queued >= 0; queued--) {
        td_exporter_settings s = test_settings();
        test_shut_arg a;
        pthread_t th;
        td_exporter *x;
        td_batch *b;
        fake f;
        char err[256];

        fake_init(&f);
        td_self_reset();
        s.queue_enabled = queued;
        x = td_exporter_new("fake/resv", &fake_desc, &f, &s);
        TT_CHECK(x != NULL);
        if (x == NULL) {
            return;
        }
        TT_CHECK_INT(td_exporter_start(x, err, sizeof(err)), TD_OK);
        TT_CHECK_INT(td_exporter_reserve(x), TD_OK);

        a.x = x;
        a.deadline = td_mono_ms() + 3000;
        atomic_init(&a.done, 0);
        TT_CHECK_INT(pthread_create(&th, NULL, test_shutdown_thread, &a),
                     0);
        fake_sleep_ms(50);
        TT_CHECK_INT(atomic_load(&a.done), 0);
        TT_CHECK_INT(td_exporter_reserve(x), TD_AGAIN);

        b = test_batch(9);
        td_exporter_commit(x, b, NULL);
        td_batch_unref(b);
        pthread_join(th, NULL);
        TT_CHECK_INT(atomic_load(&a.done), 1);
        TT_CHECK_INT(test_counter("sent", "fake/resv"), 9);
        TT_CHECK_INT(test_counter("dropped", "fake/resv"), 0);
        TT_CHECK_INT(f.calls_after_shutdown, 0);
        td_exporter_destroy(x);
    }
    td_self_reset();
}

static void
test_no_queue_sync(void)
{
    td_exporter_settings s = test_settings();
    fake f;
    td_exporter *x;
    char err[256];

    fake_init(&f);
    f.fail_first = 1;
    td_self_reset();
    s.queue_enabled = false;
    s.queue_size = 1;
    x = td_exporter_new("fake/sync", &fake_desc, &f, &s);
    TT_CHECK(x != NULL);
    if (x == NULL) {
        return;
    }
    TT_CHECK_INT(test_gauge("tandem_exporter_queue_capacity", "fake/sync"),
                 0);
    TT_CHECK_INT(td_exporter_start(x, err, sizeof(err)), TD_OK);

    /* No queue, no limit: reservations always hold. */
    for (int i = 0; i < 10; i++) {
        TT_CHECK_INT(td_exporter_reserve(x), TD_OK);
    }
    for (int i = 0; i < 10; i++) {
        td_exporter_release(x);
    }
    TT_CHECK_INT(test_enqueue(x, 4), TD_OK);

    /* Sent, after one retry, before commit returned, in this thread. */
    TT_CHECK_INT(f.calls, 2);
    TT_CHECK_INT(test_counter("sent", "fake/sync"), 4);
    TT_CHECK(pthread_equal(f.thread, pthread_self()));
    td_exporter_shutdown(x, td_mono_ms() + 1000);
    TT_CHECK_INT(td_exporter_reserve(x), TD_AGAIN);
    td_exporter_destroy(x);
    td_self_reset();
}

static void
test_metrics_registered(void)
{
    td_exporter_settings s = test_settings();
    td_buf out = TD_BUF_INIT;
    fake f;
    td_exporter *x;
    static const char *const want[] = {
        "tandem_exporter_sent_spans_total{exporter=\"fake/m\"} 0\n",
        "tandem_exporter_sent_metric_points_total{exporter=\"fake/m\"} 0\n",
        "tandem_exporter_sent_log_records_total{exporter=\"fake/m\"} 0\n",
        "tandem_exporter_send_failed_spans_total{exporter=\"fake/m\"} 0\n",
        ("tandem_exporter_dropped_metric_points_total{exporter=\"fake/m\"} "
         "0\n"),
        "tandem_exporter_dropped_log_records_total{exporter=\"fake/m\"} 0\n",
        "tandem_exporter_queue_size{exporter=\"fake/m\"} 0\n",
        "tandem_exporter_queue_capacity{exporter=\"fake/m\"} 100\n",
        "# TYPE tandem_exporter_sent_spans_total counter\n",
        "# TYPE tandem_exporter_queue_size gauge\n",
    };

    fake_init(&f);
    td_self_reset();
    x = td_exporter_new("fake/m", &fake_desc, &f, &s);
    TT_CHECK(x != NULL);
    TT_CHECK_INT(td_self_render(&out), TD_OK);
    for (size_t i = 0; i < TD_ARRAY_SIZE(want); i++) {
        TT_CHECK(out.data != NULL && strstr(out.data, want[i]) != NULL);
    }
    td_buf_free(&out);

    /* Never started: destroy still frees the component, no shutdown. */
    td_exporter_destroy(x);
    TT_CHECK(f.destroyed);
    TT_CHECK(!f.shut);
    td_self_reset();
}

static void
test_start_failure(void)
{
    td_exporter_settings s = test_settings();
    fake f;
    td_exporter *x;
    char err[256] = "";

    fake_init(&f);
    f.start_rc = TD_ERR;
    td_self_reset();
    x = td_exporter_new("fake/nostart", &fake_desc, &f, &s);
    TT_CHECK(x != NULL);
    if (x == NULL) {
        return;
    }
    TT_CHECK_INT(td_exporter_start(x, err, sizeof(err)), TD_ERR);
    TT_CHECK_STR(err, "fake refuses to start");
    td_exporter_destroy(x);
    TT_CHECK(f.destroyed);
    TT_CHECK(!f.shut);
    td_self_reset();
}

static const tt_case cases[] = {
    {"order", test_order},
    {"many_consumers", test_many_consumers},
    {"queue_full", test_queue_full},
    {"retry_then_success", test_retry_then_success},
    {"jitter_bounds", test_jitter_bounds},
    {"permanent_failure", test_permanent_failure},
    {"retry_disabled_and_max_elapsed", test_retry_disabled_and_max_elapsed},
    {"shutdown_drains", test_shutdown_drains},
    {"shutdown_drops_at_deadline", test_shutdown_drops_at_deadline},
    {"reserved_during_shutdown", test_reserved_during_shutdown},
    {"no_queue_sync", test_no_queue_sync},
    {"metrics_registered", test_metrics_registered},
    {"start_failure", test_start_failure},
    {"flight_ticket", test_flight_ticket},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
