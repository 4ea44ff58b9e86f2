/*
 * test_batch.c - the batch processor driven through its descriptor, in
 * front of a recording next step that can refuse on demand.
 *
 * Every item carries a number (a log record's body, a span's id, a data
 * point's value), so a test checks exactly which items each sent batch
 * held, in which order, and that none was lost or sent twice. Timing:
 * the size trigger, max-size splits, timeout 0 and metadata sharding
 * send from the consuming thread and are checked exactly; timeouts and
 * retries are awaited by polling with generous limits, and the only
 * time bounds asserted are ones the processor guarantees (never before
 * the timeout) or ones with hundreds of milliseconds of slack.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "buf.h"
#include "component.h"
#include "config.h"
#include "config_internal.h"
#include "log.h"
#include "pipeline.h"
#include "registry.h"
#include "selfmetrics.h"
#include "service.h"
#include "telemetry.h"
#include "tt.h"

#define REC_MAX_SENDS 4096
#define REC_GROUPS_LEN 64

/* ---- the recording next step ---- */

typedef struct rec {
    td_consumer c;
    pthread_mutex_t lock;
    int64_t *ids;                   /* every item taken, in order */
    size_t n_ids, cap_ids;
    size_t n_sends;
    size_t sizes[REC_MAX_SENDS];
    int64_t at[REC_MAX_SENDS];      /* td_mono_ms() when taken */
    char groups[REC_MAX_SENDS][REC_GROUPS_LEN];  /* tenants, in order */
    td_batch *kept[REC_MAX_SENDS];  /* a reference, read again later */
    atomic_int refuse;              /* refuse every call while set */
    atomic_int refuse_every;        /* refuse every nth call when > 0 */
    atomic_int calls;
    atomic_int refusals;
} rec;

static int64_t
item_id(td_signal sig, const void *item)
{
    int64_t id = 0;

    if (sig == TD_SIGNAL_LOGS) {
        id = ((const td_log_record *) item)->body.u.i;
    } else if (sig == TD_SIGNAL_TRACES) {
        memcpy(&id, ((const td_span *) item)->span_id, sizeof(id));
    } else {
        id = ((const td_number_point *) item)->v.i;
    }
    return id;
}

/* Calls fn for every item's number, in order. */
static void
each_id(const td_batch *b, void (*fn)(void *arg, int64_t id), void *arg)
{
    for (const td_resource_group *rg = b->resources; rg; rg = rg->next) {
        for (const td_scope_group *sg = rg->scopes; sg; sg = sg->next) {
            if (b->signal == TD_SIGNAL_LOGS) {
                for (const td_log_record *r = sg->head.logs; r;
                     r = r->next) {
                    fn(arg, item_id(b->signal, r));
                }
            } else if (b->signal == TD_SIGNAL_TRACES) {
                for (const td_span *s = sg->head.spans; s; s = s->next) {
                    fn(arg, item_id(b->signal, s));
                }
            } else {
                for (const td_metric *m = sg->head.metrics; m;
                     m = m->next) {
                    for (uint32_t i = 0; i < m->n_points; i++) {
                        fn(arg, item_id(b->signal, &m->points.number[i]));
                    }
                }
            }
        }
    }
}

static void
rec_add_id(void *arg, int64_t id)
{
    rec *r = arg;

    if (r->n_ids == r->cap_ids) {
        size_t cap = r->cap_ids ? r->cap_ids * 2 : 1024;
        int64_t *p = realloc(r->ids, cap * sizeof(*p));

        if (p == NULL) {
            abort();
        }
        r->ids = p;
        r->cap_ids = cap;
    }
    r->ids[r->n_ids++] = id;
}

/* The "tenant" of every resource group, as "a,b,-" (- when absent). */
static void
rec_groups(const td_batch *b, char *out, size_t len)
{
    size_t o = 0;

    out[0] = '\0';
    for (const td_resource_group *rg = b->resources; rg && o + 4 < len;
         rg = rg->next) {
        const td_value *v = td_attrs_get(&rg->resource.attrs, "tenant", 6);

        o += (size_t) snprintf(out + o, len - o, "%s%.*s", o ? "," : "",
                               v != NULL ? (int) v->u.s.len : 1,
                               v != NULL ? v->u.s.ptr : "-");
    }
}

static int
rec_consume(td_consumer *c, td_batch *b)
{
    rec *r = c->arg;
    int call = atomic_fetch_add(&r->calls, 1) + 1;
    int every = atomic_load(&r->refuse_every);

    if (atomic_load(&r->refuse) || (every > 0 && call % every == 0)) {
        atomic_fetch_add(&r->refusals, 1);
        return TD_AGAIN;
    }
    pthread_mutex_lock(&r->lock);
    if (r->n_sends < REC_MAX_SENDS) {
        r->sizes[r->n_sends] = td_batch_items(b);
        r->at[r->n_sends] = td_mono_ms();
        rec_groups(b, r->groups[r->n_sends], REC_GROUPS_LEN);
        td_batch_ref(b);
        r->kept[r->n_sends] = b;
        r->n_sends++;
    }
    each_id(b, rec_add_id, r);
    pthread_mutex_unlock(&r->lock);
    return TD_OK;
}

static void
rec_init(rec *r)
{
    memset(r, 0, sizeof(*r));
    r->c.consume = rec_consume;
    r->c.arg = r;
    pthread_mutex_init(&r->lock, NULL);
}

static size_t
rec_sends(rec *r)
{
    size_t n;

    pthread_mutex_lock(&r->lock);
    n = r->n_sends;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Waits up to 10 s for at least n sends; true when they came. */
static bool
rec_wait(rec *r, size_t n)
{
    for (int i = 0; i < 2000 && rec_sends(r) < n; i++) {
        sleep_ms(5);
    }
    return rec_sends(r) >= n;
}

/* The batches kept still hold what they held when taken (ASan too). */
static void
rec_check_kept(rec *r)
{
    rec again;
    size_t n_ids = 0;

    rec_init(&again);
    for (size_t i = 0; i < r->n_sends; i++) {
        TT_CHECK_INT(td_batch_items(r->kept[i]), r->sizes[i]);
        each_id(r->kept[i], rec_add_id, &again);
    }
    for (size_t i = 0; i < r->n_sends; i++) {
        n_ids += r->sizes[i];
    }
    TT_CHECK_INT(again.n_ids, n_ids);
    TT_CHECK(again.n_ids <= r->n_ids);
    TT_CHECK(again.n_ids == 0
             || memcmp(again.ids, r->ids, again.n_ids * sizeof(int64_t))
                    == 0);
    free(again.ids);
    pthread_mutex_destroy(&again.lock);
}

static void
rec_free(rec *r)
{
    for (size_t i = 0; i < r->n_sends; i++) {
        td_batch_unref(r->kept[i]);
    }
    free(r->ids);
    pthread_mutex_destroy(&r->lock);
}

/* ids[from..from+n) are first, first+1, ... */
static bool
ids_run(const rec *r, size_t from, size_t n, int64_t first)
{
    if (from + n > r->n_ids) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (r->ids[from + i] != first + (int64_t) i) {
            return false;
        }
    }
    return true;
}

/* ---- batches ---- */

/*
 * A batch of n items numbered from first: resources of per_group items
 * each (0 = one resource), tenant set when given.
 */
static td_batch *
make_batch(td_signal sig, int64_t first, size_t n, size_t per_group,
           const char *tenant)
{
    td_batch *b = td_batch_new(sig, 0);
    td_scope_group *sg = NULL;
    td_metric *m = NULL;

    for (size_t i = 0; b != NULL && i < n; i++) {
        int64_t id = first + (int64_t) i;

        if (sg == NULL || (per_group > 0 && i % per_group == 0)) {
            td_resource_group *rg = td_batch_add_resource(b);

            TT_CHECK(rg != NULL);
            if (tenant != NULL) {
                TT_CHECK_INT(td_attrs_put_str(b, &rg->resource.attrs,
                                              "tenant", tenant,
                                              strlen(tenant)), 0);
            }
            sg = td_batch_add_scope(b, rg);
            TT_CHECK(sg != NULL);
            m = NULL;
        }
        if (sig == TD_SIGNAL_LOGS) {
            td_log_record *r = td_batch_add_log(b, sg);

            r->body.type = TD_VAL_INT;
            r->body.u.i = id;
        } else if (sig == TD_SIGNAL_TRACES) {
            td_span *s = td_batch_add_span(b, sg);

            memcpy(s->span_id, &id, sizeof(id));
        } else {
            td_number_point *p;

            if (m == NULL) {
                m = td_batch_add_metric(b, sg, TD_METRIC_GAUGE);
                m->name = td_batch_str(b, "g", 1);
            }
            p = td_metric_add_number_point(b, m);
            p->is_int = true;
            p->v.i = id;
        }
    }
    return b;
}

/* ---- driving the processor ---- */

extern const td_component_desc td_batch_processor;

typedef struct proc {
    const td_component_desc *d;
    void *cfg;
    void *self;
    rec r;
    td_component_ctx ctx;
} proc;

static int64_t *
cfg_field(proc *p, const char *key)
{
    for (const td_cfg_key *k = p->d->keys; k->name != NULL; k++) {
        if (strcmp(k->name, key) == 0) {
            return (int64_t *) (void *) ((char *) p->cfg + k->offset);
        }
    }
    TT_CHECK(!"no such key");
    return NULL;
}

static void
cfg_set(proc *p, const char *key, int64_t v)
{
    int64_t *f = cfg_field(p, key);

    if (f != NULL) {
        *f = v;
    }
}

static void
cfg_set_keys(proc *p, const char *a, const char *b)
{
    td_cfg_strlist *l = (td_cfg_strlist *) (void *) cfg_field(p,
                                                              "metadata_keys");

    l->items = calloc(2, sizeof(char *));
    l->items[l->n++] = strdup(a);
    if (b != NULL) {
        l->items[l->n++] = strdup(b);
    }
}

/* Defaults for everything; the caller sets keys, then proc_start. */
static void
proc_init(proc *p, td_signal sig)
{
    char err[256];

    memset(p, 0, sizeof(*p));
    td_self_reset();
    td_log_set_level(TD_LOG_ERROR);
    p->d = &td_batch_processor;
    p->cfg = calloc(1, p->d->cfg_size);
    TT_CHECK(p->cfg != NULL);
    TT_CHECK_INT(td_cfg_defaults(p->d->keys, p->cfg, err, sizeof(err)), 0);
    rec_init(&p->r);
    p->ctx.id = "batch/t";
    p->ctx.kind = TD_KIND_PROCESSOR;
    p->ctx.next = &p->r.c;
    p->ctx.signal = sig;
    p->ctx.pipeline = "logs/t";
}

static bool
proc_start(proc *p)
{
    char err[256] = "";

    TT_CHECK_INT(p->d->create(&p->ctx, p->cfg, &p->self, err, sizeof(err)),
                 0);
    if (p->self == NULL) {
        fprintf(stderr, "create: %s\n", err);
        return false;
    }
    TT_CHECK_INT(p->d->start(p->self, err, sizeof(err)), 0);
    return true;
}

/* Hands b in as a receiver would and drops the caller's reference. */
static int
proc_feed(proc *p, td_batch *b)
{
    int rc = p->d->consume(p->self, b);

    td_batch_unref(b);
    return rc;
}

static void
proc_stop(proc *p, int64_t ms)
{
    p->d->shutdown(p->self, td_mono_ms() + ms);
}

static void
proc_free(proc *p)
{
    p->d->destroy(p->self);
    rec_check_kept(&p->r);
    rec_free(&p->r);
    td_cfg_free_values(p->d->keys, p->cfg);
    free(p->cfg);
    td_self_reset();
}

/* The value of the sample "name{labels}" in the rendered metrics. */
static double
metric(const char *name_labels)
{
    td_buf out = TD_BUF_INIT;
    const char *at;
    double v = -1;

    TT_CHECK_INT(td_self_render(&out), 0);
    if (out.data != NULL) {
        size_t n = strlen(name_labels);

        for (at = out.data; (at = strstr(at, name_labels)) != NULL;
             at += n) {
            if ((at == out.data || at[-1] == '\n') && at[n] == ' ') {
                v = strtod(at + n + 1, NULL);
                break;
            }
        }
    }
    td_buf_free(&out);
    return v;
}

#define LBL "processor=\"batch/t\",pipeline=\"logs/t\""

/* ---- the cases ---- */

/*
 * send_batch_size is a trigger, not a size: the batch that reaches it is
 * sent whole, from the consuming thread; the rest waits for shutdown.
 */
static void
test_size_trigger(void)
{
    proc p;

    proc_init(&p, TD_SIGNAL_LOGS);
    cfg_set(&p, "timeout", 10000);
    cfg_set(&p, "send_batch_size", 10);
    if (!proc_start(&p)) {
        return;
    }
    for (int i = 0; i < 5; i++) {
        TT_CHECK_INT(proc_feed(&p, make_batch(TD_SIGNAL_LOGS, i * 3, 3, 0,
                                              NULL)), 0);
        /* Sent as the fourth batch makes 12 items. */
        TT_CHECK_INT(rec_sends(&p.r), i >= 3 ? 1 : 0);
    }
    TT_CHECK_INT(p.r.sizes[0], 12);
    TT_CHECK(ids_run(&p.r, 0, 12, 0));
    TT_CHECK(metric("tandem_processor_batch_pending_items{" LBL "}") == 3);

    proc_stop(&p, 5000);
    TT_CHECK_INT(rec_sends(&p.r), 2);
    TT_CHECK_INT(p.r.sizes[1], 3);
    TT_CHECK(ids_run(&p.r, 0, 15, 0));

    TT_CHECK(metric("tandem_processor_batch_batches_sent_total{" LBL
                    ",trigger=\"size\"}") == 1);
    TT_CHECK(metric("tandem_processor_batch_batches_sent_total{" LBL
                    ",trigger=\"timeout\"}") == 0);
    TT_CHECK(metric("tandem_processor_batch_batches_sent_total{" LBL
                    ",trigger=\"shutdown\"}") == 1);
    TT_CHECK(metric("tandem_processor_batch_batch_send_size_count{" LBL
                    "}") == 2);
    TT_CHECK(metric("tandem_processor_batch_batch_send_size_sum{" LBL
                    "}") == 15);
    TT_CHECK(metric("tandem_processor_batch_batch_send_size_bucket{" LBL
                    ",le=\"10\"}") == 1);
    TT_CHECK(metric("tandem_processor_batch_batch_send_size_bucket{" LBL
                    ",le=\"25\"}") == 2);
    TT_CHECK(metric("tandem_processor_batch_pending_items{" LBL "}") == 0);
    TT_CHECK(metric("tandem_processor_batch_dropped_items_total{" LBL
                    "}") == 0);
    proc_free(&p);
}

/*
 * The timeout runs from the first item of a pending batch: a second
 * batch that arrives later does not push the send back. Never before
 * the timeout is exact; "not as late as the second batch's own timeout"
 * has 900 ms of slack.
 */
static void
test_timeout_first_item(void)
{
    proc p;
    int64_t t_a, t_b;

    proc_init(&p, TD_SIGNAL_LOGS);
    cfg_set(&p, "timeout", 1500);
    cfg_set(&p, "send_batch_size", 1000);
    if (!proc_start(&p)) {
        return;
    }
    t_a = td_mono_ms();
    TT_CHECK_INT(proc_feed(&p, make_batch(TD_SIGNAL_LOGS, 0, 2, 0, NULL)),
                 0);
    sleep_ms(600);
    t_b = td_mono_ms();
    TT_CHECK_INT(proc_feed(&p, make_batch(TD_SIGNAL_LOGS, 2, 2, 0, NULL)),
                 0);
    TT_CHECK_INT(rec_sends(&p.r), 0);

    TT_CHECK(rec_wait(&p.r, 1));
    TT_CHECK(p.r.at[0] >= t_a + 1500);
    if (t_b < t_a + 1500) {
        /* The second batch came before the first timed out. */
        TT_CHECK_INT(p.r.sizes[0], 4);
        TT_CHECK(ids_run(&p.r, 0, 4, 0));
        TT_CHECK(p.r.at[0] < t_b + 1500);
    }
    TT_CHECK(metric("tandem_processor_batch_batches_sent_total{" LBL
                    ",trigger=\"timeout\"}") == 1);

    /* A new first item starts a new timeout: sent, not held for good. */
    TT_CHECK_INT(proc_feed(&p, make_batch(TD_SIGNAL_LOGS, 4, 1, 0, NULL)),
                 0);
    TT_CHECK(rec_wait(&p.r, 2));
    TT_CHECK(ids_run(&p.r, 0, 5, 0));
    proc_stop(&p, 5000);
    TT_CHECK_INT(rec_sends(&p.r), 2);
    proc_free(&p);
}

/*
 * send_batch_max_size splits a large batch into chunks of exactly that
 * many items, in order, cutting through resources and metrics; for
 * every signal.
 */
static void
max_size_split(td_signal sig)
{
    proc p;

    proc_init(&p, sig);
    cfg_set(&p, "timeout", 10000);
    cfg_set(&p, "send_batch_size", 10);
    cfg_set(&p, "send_batch_max_size", 10);
    if (!proc_start(&p)) {
        return;
    }
    /* 35 items in resources of 12: cuts fall inside resources. */
    TT_CHECK_INT(proc_feed(&p, make_batch(sig, 100, 35, 12, NULL)), 0);
    TT_CHECK_INT(rec_sends(&p.r), 3);
    for (size_t i = 0; i < 3 && i < rec_sends(&p.r); i++) {
        TT_CHECK_INT(p.r.sizes[i], 10);
    }
    TT_CHECK(ids_run(&p.r, 0, 30, 100));

    /* Two more batches: 5 + 4 + 8 = 17, one chunk of 10 goes. */
    TT_CHECK_INT(proc_feed(&p, make_batch(sig, 135, 4, 0, NULL)), 0);
    TT_CHECK_INT(rec_sends(&p.r), 3);
    TT_CHECK_INT(proc_feed(&p, make_batch(sig, 139, 8, 3, NULL)), 0);
    TT_CHECK_INT(rec_sends(&p.r), 4);
    TT_CHECK_INT(p.r.sizes[3], 10);
    proc_stop(&p, 5000);
    TT_CHECK_INT(rec_sends(&p.r), 5);
    TT_CHECK_INT(p.r.sizes[4], 7);
    TT_CHECK(ids_run(&p.r, 0, 47, 100));
    TT_CHECK_INT(p.r.n_ids, 47);
    proc_free(&p);
}

static void
test_max_size_split(void)
{
    max_size_split(TD_SIGNAL_LOGS);
    max_size_split(TD_SIGNAL_TRACES);
    max_size_split(TD_SIGNAL_METRICS);
}

/* timeout 0 sends at once, still in chunks of send_batch_max_size. */
static void
test_timeout_zero(void)
{
    proc p;

    proc_init(&p, TD_SIGNAL_LOGS);
    cfg_set(&p, "timeout", 0);
    cfg_set(&p, "send_batch_max_size", 8192);
    if (!proc_start(&p)) {
        return;
    }
    TT_CHECK_INT(proc_feed(&p, make_batch(TD_SIGNAL_LOGS, 0, 3, 0, NULL)),
                 0);
    TT_CHECK_INT(rec_sends(&p.r), 1);
    TT_CHECK_INT(p.r.sizes[0], 3);
    proc_stop(&p, 1000);
    proc_free(&p);

    proc_init(&p, TD_SIGNAL_LOGS);
    cfg_set(&p, "timeout", 0);
    cfg_set(&p, "send_batch_size", 4);
    cfg_set(&p, "send_batch_max_size", 4);
    if (!proc_start(&p)) {
        return;
    }
    TT_CHECK_INT(proc_feed(&p, make_batch(TD_SIGNAL_LOGS, 0, 10, 0, NULL)),
                 0);
    TT_CHECK_INT(rec_sends(&p.r), 3);
    TT_CHECK_INT(p.r.sizes[0], 4);
    TT_CHECK_INT(p.r.sizes[1], 4);
    TT_CHECK_INT(p.r.sizes[2], 2);
    TT_CHECK_INT(proc_feed(&p, make_batch(TD_SIGNAL_LOGS, 10, 1, 0, NULL)),
                 0);
    TT_CHECK_INT(rec_sends(&p.r), 4);
    TT_CHECK(ids_run(&p.r, 0, 11, 0));
    TT_CHECK(metric("tandem_processor_batch_batches_sent_total{" LBL
                    ",trigger=\"size\"}") == 4);
    proc_stop(&p, 1000);
    TT_CHECK_INT(rec_sends(&p.r), 4);
    proc_free(&p);
}

/* A batch of resources for tenants, "a:3,b:2" (items each). */
static td_batch *
make_tenants(int64_t first, const char *spec)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    const char *s = spec;

    while (b != NULL && *s != '\0') {
        char tenant[16];
        char *end;
        size_t tl = strcspn(s, ":");
        long n;
        td_batch *part;

        snprintf(tenant, sizeof(tenant), "%.*s", (int) tl, s);
        n = strtol(s + tl + 1, &end, 10);
        part = make_batch(TD_SIGNAL_LOGS, first, (size_t) n, 0,
                          strcmp(tenant, "-") == 0 ? NULL : tenant);
        TT_CHECK_INT(td_batch_append(b, part), 0);
        td_batch_unref(part);
        first += n;
        s = *end == ',' ? end + 1 : end;
    }
    return b;
}

/*
 * metadata_keys: each tenant is batched apart, also out of one mixed
 * incoming batch; a new combination past the limit is rejected for
 * good, whole, and counted.
 */
static void
test_metadata_keys(void)
{
    proc p;
    td_batch *b;

    proc_init(&p, TD_SIGNAL_LOGS);
    cfg_set(&p, "timeout", 10000);
    cfg_set(&p, "send_batch_size", 4);
    cfg_set(&p, "metadata_cardinality_limit", 2);
    cfg_set_keys(&p, "tenant", NULL);
    if (!proc_start(&p)) {
        return;
    }
    /* a gets 3 + 2 items (sent at 5), b 2 (held). */
    TT_CHECK_INT(proc_feed(&p, make_tenants(0, "a:3,b:2,a:2")), 0);
    TT_CHECK_INT(rec_sends(&p.r), 1);
    TT_CHECK_STR(p.r.groups[0], "a,a");
    TT_CHECK_INT(p.r.sizes[0], 5);
    TT_CHECK(ids_run(&p.r, 0, 3, 0) && ids_run(&p.r, 3, 2, 5));
    TT_CHECK(metric("tandem_processor_batch_metadata_cardinality{" LBL
                    "}") == 2);

    TT_CHECK_INT(proc_feed(&p, make_tenants(7, "b:2")), 0);
    TT_CHECK_INT(rec_sends(&p.r), 2);
    TT_CHECK_STR(p.r.groups[1], "b,b");
    TT_CHECK(ids_run(&p.r, 5, 2, 3) && ids_run(&p.r, 7, 2, 7));

    /* A third combination (c, then no tenant at all) passes the limit:
     * the whole batch is refused for good and nothing of it is taken. */
    b = make_tenants(9, "a:1,c:2");
    TT_CHECK_INT(p.d->consume(p.self, b), TD_EPERM);
    TT_CHECK_INT(td_batch_items(b), 3);
    td_batch_unref(b);
    TT_CHECK_INT(proc_feed(&p, make_tenants(12, "-:1")), TD_EPERM);
    TT_CHECK(metric("tandem_processor_batch_rejected_items_total{" LBL
                    "}") == 4);
    TT_CHECK(metric("tandem_processor_batch_metadata_cardinality{" LBL
                    "}") == 2);

    /* Known tenants still pass. A resource of a new tenant without
     * items is no new combination: it is dropped, not rejected. */
    b = make_tenants(13, "b:1,a:1");
    {
        td_resource_group *rg = td_batch_add_resource(b);

        TT_CHECK(rg != NULL);
        TT_CHECK_INT(td_attrs_put_str(b, &rg->resource.attrs, "tenant",
                                      "z", 1), 0);
        TT_CHECK(td_batch_add_scope(b, rg) != NULL);
    }
    TT_CHECK_INT(proc_feed(&p, b), 0);
    TT_CHECK(metric("tandem_processor_batch_metadata_cardinality{" LBL
                    "}") == 2);
    proc_stop(&p, 5000);
    TT_CHECK_INT(rec_sends(&p.r), 4);
    TT_CHECK_INT(p.r.n_ids, 11);
    TT_CHECK(strchr(p.r.groups[2], 'z') == NULL
             && strchr(p.r.groups[3], 'z') == NULL);
    proc_free(&p);
}

/* Two keys, one of them absent in some resources: each set its shard. */
static void
test_metadata_two_keys(void)
{
    proc p;
    td_batch *b = make_tenants(0, "a:1,-:1,a:1");

    proc_init(&p, TD_SIGNAL_LOGS);
    cfg_set(&p, "timeout", 10000);
    cfg_set(&p, "send_batch_size", 2);
    cfg_set_keys(&p, "tenant", "region");
    if (!proc_start(&p)) {
        td_batch_unref(b);
        return;
    }
    TT_CHECK(b != NULL);
    TT_CHECK_INT(td_attrs_put_str(b, &b->resources->resource.attrs,
                                  "region", "eu", 2), 0);
    /* (a, eu), (absent, absent), (a, absent): three shards, no send. */
    TT_CHECK_INT(proc_feed(&p, b), 0);
    TT_CHECK_INT(rec_sends(&p.r), 0);
    TT_CHECK(metric("tandem_processor_batch_metadata_cardinality{" LBL
                    "}") == 3);
    TT_CHECK_INT(proc_feed(&p, make_tenants(3, "a:1")), 0);
    TT_CHECK_INT(rec_sends(&p.r), 1);
    TT_CHECK(ids_run(&p.r, 0, 1, 2) && ids_run(&p.r, 1, 1, 3));
    proc_stop(&p, 5000);
    TT_CHECK_INT(p.r.n_ids, 4);
    proc_free(&p);
}

/* Feeds b until taken, at most ~10 s; returns the refusals seen. */
static int
feed_until_taken(proc *p, td_batch *b)
{
    int refused = 0, rc;

    while ((rc = p->d->consume(p->self, b)) == TD_AGAIN && refused < 5000) {
        refused++;
        sleep_ms(2);
    }
    TT_CHECK_INT(rc, 0);
    td_batch_unref(b);
    return refused;
}

/*
 * A refusal downstream keeps the chunk; while the shard is full and
 * cannot send, input is refused without anything taken; the retry
 * sends it once the next step takes again; nothing is lost or doubled.
 */
static void
test_refusal_keeps_and_retries(void)
{
    proc p;
    td_batch *b;

    proc_init(&p, TD_SIGNAL_LOGS);
    cfg_set(&p, "timeout", 10000);
    cfg_set(&p, "send_batch_size", 5);
    cfg_set(&p, "send_batch_max_size", 5);
    if (!proc_start(&p)) {
        return;
    }
    atomic_store(&p.r.refuse, 1);
    TT_CHECK_INT(proc_feed(&p, make_batch(TD_SIGNAL_LOGS, 0, 5, 0, NULL)),
                 0);
    TT_CHECK(atomic_load(&p.r.refusals) >= 1);
    TT_CHECK_INT(rec_sends(&p.r), 0);

    /* Full and stuck: refused, and the batch keeps its items. */
    b = make_batch(TD_SIGNAL_LOGS, 5, 5, 0, NULL);
    TT_CHECK_INT(p.d->consume(p.self, b), TD_AGAIN);
    TT_CHECK_INT(td_batch_items(b), 5);
    TT_CHECK(metric("tandem_processor_batch_pending_items{" LBL "}") == 5);

    /* The timer keeps retrying (5 ms doubling to 100 ms). */
    sleep_ms(300);
    TT_CHECK(atomic_load(&p.r.refusals) >= 3);
    atomic_store(&p.r.refuse, 0);
    TT_CHECK(rec_wait(&p.r, 1));
    TT_CHECK_INT(p.r.sizes[0], 5);
    feed_until_taken(&p, b);
    TT_CHECK_INT(rec_sends(&p.r), 2);
    TT_CHECK(ids_run(&p.r, 0, 10, 0));
    TT_CHECK_INT(p.r.n_ids, 10);
    TT_CHECK(metric("tandem_processor_batch_batches_sent_total{" LBL
                    ",trigger=\"size\"}") == 2);
    proc_stop(&p, 5000);
    proc_free(&p);
}

/*
 * Below the bound a stuck processor still takes input: with
 * send_batch_max_size above send_batch_size, up to the max size.
 */
static void
test_refusal_bound(void)
{
    proc p;
    td_batch *b;
    int taken = 0;

    proc_init(&p, TD_SIGNAL_LOGS);
    cfg_set(&p, "timeout", 10000);
    cfg_set(&p, "send_batch_size", 4);
    cfg_set(&p, "send_batch_max_size", 12);
    if (!proc_start(&p)) {
        return;
    }
    atomic_store(&p.r.refuse, 1);
    for (int i = 0; i < 10; i++) {
        b = make_batch(TD_SIGNAL_LOGS, i * 3, 3, 0, NULL);
        if (p.d->consume(p.self, b) == TD_OK) {
            taken++;
        } else {
            TT_CHECK_INT(td_batch_items(b), 3);
        }
        td_batch_unref(b);
    }
    /* 3, 6, 9, 12: the fourth reaches the bound of 12. */
    TT_CHECK_INT(taken, 4);
    TT_CHECK(metric("tandem_processor_batch_pending_items{" LBL "}") == 12);
    atomic_store(&p.r.refuse, 0);
    TT_CHECK(rec_wait(&p.r, 1));
    proc_stop(&p, 5000);
    TT_CHECK(ids_run(&p.r, 0, 12, 0));
    TT_CHECK_INT(p.r.n_ids, 12);
    proc_free(&p);
}

/* Shutdown sends what is pending, as a "shutdown" batch. */
static void
test_flush_on_shutdown(void)
{
    proc p;

    proc_init(&p, TD_SIGNAL_METRICS);
    cfg_set(&p, "timeout", 10000);
    if (!proc_start(&p)) {
        return;
    }
    TT_CHECK_INT(proc_feed(&p, make_batch(TD_SIGNAL_METRICS, 0, 7, 0,
                                          NULL)), 0);
    TT_CHECK_INT(rec_sends(&p.r), 0);
    proc_stop(&p, 5000);
    TT_CHECK_INT(rec_sends(&p.r), 1);
    TT_CHECK(ids_run(&p.r, 0, 7, 0));
    TT_CHECK(metric("tandem_processor_batch_batches_sent_total{" LBL
                    ",trigger=\"shutdown\"}") == 1);

    /* Nothing is taken after shutdown. */
    TT_CHECK_INT(proc_feed(&p, make_batch(TD_SIGNAL_METRICS, 7, 1, 0,
                                          NULL)), TD_EPERM);
    proc_free(&p);
}

/*
 * Refused until the shutdown deadline: what is left is dropped, counted
 * and taken off the pipeline's items in flight. Refusals at shutdown
 * are retried until then.
 */
static void
test_deadline_drop(void)
{
    proc p;
    td_gauge *in_flight;
    int64_t t0;

    proc_init(&p, TD_SIGNAL_LOGS);
    cfg_set(&p, "timeout", 10000);
    in_flight = td_self_gauge("tandem_pipeline_items_in_flight", "h",
                              "pipeline=\"logs/t\"");
    p.ctx.in_flight = in_flight;
    if (!proc_start(&p)) {
        return;
    }
    td_gauge_set(in_flight, 7);
    atomic_store(&p.r.refuse, 1);
    TT_CHECK_INT(proc_feed(&p, make_batch(TD_SIGNAL_LOGS, 0, 7, 0, NULL)),
                 0);
    t0 = td_mono_ms();
    proc_stop(&p, 300);
    TT_CHECK(td_mono_ms() >= t0 + 300);
    TT_CHECK(atomic_load(&p.r.refusals) >= 2);
    TT_CHECK_INT(rec_sends(&p.r), 0);
    TT_CHECK(metric("tandem_processor_batch_dropped_items_total{" LBL
                    "}") == 7);
    TT_CHECK(metric("tandem_processor_batch_pending_items{" LBL "}") == 0);
    TT_CHECK_INT(atomic_load(&in_flight->v), 0);
    proc_free(&p);
}

#define FEEDERS 4
#define FEED_BATCHES 400
#define FEED_ITEMS 3

/* Batches are made up front: the checks of tt.h are not thread-safe. */
typedef struct feeder {
    proc *p;
    td_batch *b[FEED_BATCHES];
    int failed;                     /* consume codes other than 0/AGAIN */
} feeder;

static void *
feeder_run(void *arg)
{
    feeder *f = arg;

    for (int i = 0; i < FEED_BATCHES; i++) {
        td_batch *b = f->b[i];
        int rc;

        while ((rc = f->p->d->consume(f->p->self, b)) == TD_AGAIN) {
            sleep_ms(1);
        }
        if (rc != TD_OK) {
            f->failed++;
        }
        td_batch_unref(b);
    }
    return NULL;
}

/*
 * Four threads feed at once while the next step refuses every third
 * call: every item arrives exactly once, each thread's items in the
 * order it sent them, no batch above the max size.
 */
static void
test_concurrent_consume(void)
{
    proc p;
    pthread_t th[FEEDERS];
    static feeder f[FEEDERS];
    int64_t next[FEEDERS] = {0};
    size_t total = 0;
    bool order_ok = true;

    proc_init(&p, TD_SIGNAL_LOGS);
    cfg_set(&p, "timeout", 20);
    cfg_set(&p, "send_batch_size", 50);
    cfg_set(&p, "send_batch_max_size", 64);
    if (!proc_start(&p)) {
        return;
    }
    atomic_store(&p.r.refuse_every, 3);
    for (int i = 0; i < FEEDERS; i++) {
        f[i].p = &p;
        f[i].failed = 0;
        for (int j = 0; j < FEED_BATCHES; j++) {
            f[i].b[j] = make_batch(TD_SIGNAL_LOGS,
                                   (int64_t) i * 1000000 + j * FEED_ITEMS,
                                   FEED_ITEMS, 0, NULL);
        }
    }
    for (int i = 0; i < FEEDERS; i++) {
        TT_CHECK_INT(pthread_create(&th[i], NULL, feeder_run, &f[i]), 0);
    }
    for (int i = 0; i < FEEDERS; i++) {
        pthread_join(th[i], NULL);
        TT_CHECK_INT(f[i].failed, 0);
    }
    proc_stop(&p, 10000);

    TT_CHECK_INT(p.r.n_ids, FEEDERS * FEED_BATCHES * FEED_ITEMS);
    for (size_t i = 0; i < p.r.n_ids; i++) {
        int64_t id = p.r.ids[i];
        int who = (int) (id / 1000000);

        if (who < 0 || who >= FEEDERS || id % 1000000 != next[who]) {
            order_ok = false;
            break;
        }
        next[who]++;
    }
    TT_CHECK(order_ok);
    for (size_t i = 0; i < p.r.n_sends; i++) {
        TT_CHECK(p.r.sizes[i] >= 1 && p.r.sizes[i] <= 64);
        total += p.r.sizes[i];
    }
    TT_CHECK_INT(total, FEEDERS * FEED_BATCHES * FEED_ITEMS);
    TT_CHECK(atomic_load(&p.r.refusals) > 0);
    TT_CHECK(metric("tandem_processor_batch_batch_send_size_count{" LBL
                    "}") == (double) p.r.n_sends);
    TT_CHECK(metric("tandem_processor_batch_dropped_items_total{" LBL
                    "}") == 0);
    proc_free(&p);
}

/* An empty batch is taken and nothing is sent for it. */
static void
test_empty_batch(void)
{
    proc p;

    proc_init(&p, TD_SIGNAL_TRACES);
    cfg_set(&p, "timeout", 0);
    if (!proc_start(&p)) {
        return;
    }
    TT_CHECK_INT(proc_feed(&p, td_batch_new(TD_SIGNAL_TRACES, 0)), 0);
    TT_CHECK_INT(proc_feed(&p, make_batch(TD_SIGNAL_TRACES, 0, 0, 0,
                                          NULL)), 0);
    proc_stop(&p, 1000);
    TT_CHECK_INT(rec_sends(&p.r), 0);
    proc_free(&p);
}

/* Pipes the rendered metrics into promtool; its exit status. */
static int
promtool(const char *text)
{
    FILE *f = popen("promtool check metrics >/dev/null 2>&1", "w");
    int st;

    if (f == NULL) {
        return -1;
    }
    fputs(text, f);
    st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The processor's metrics pass promtool's checks. */
static void
test_metrics_promtool(void)
{
    proc p;
    td_buf out = TD_BUF_INIT;

    proc_init(&p, TD_SIGNAL_LOGS);
    cfg_set(&p, "timeout", 0);
    if (!proc_start(&p)) {
        return;
    }
    TT_CHECK_INT(proc_feed(&p, make_batch(TD_SIGNAL_LOGS, 0, 30, 0,
                                          NULL)), 0);
    TT_CHECK_INT(td_self_render(&out), 0);
    TT_CHECK(out.data != NULL && strstr(out.data, "# TYPE "
             "tandem_processor_batch_batch_send_size histogram\n") != NULL);
    TT_CHECK_INT(promtool(out.data != NULL ? out.data : ""), 0);
    td_buf_free(&out);
    proc_stop(&p, 1000);
    proc_free(&p);
}

/* Loads a config holding a batch block; the messages in msgs. */
static int
load(const char *batch_block, td_buf *msgs)
{
    char yaml[1024];
    td_config_source src = {.name = "t.yaml", .text = yaml};
    td_config *cfg = NULL;
    int rc;

    snprintf(yaml, sizeof(yaml),
             "receivers:\n"
             "  tcplog:\n"
             "processors:\n"
             "  batch:\n"
             "%s"
             "exporters:\n"
             "  nop:\n"
             "service:\n"
             "  pipelines:\n"
             "    logs: {receivers: [tcplog], processors: [batch], "
             "exporters: [nop]}\n", batch_block);
    rc = td_config_load(&src, 1, NULL, 0, &cfg, msgs);
    td_config_free(cfg);
    return rc;
}

static void
test_validate(void)
{
    td_buf msgs = TD_BUF_INIT;

    TT_CHECK(td_registry_find(TD_KIND_PROCESSOR, "batch", 5)
             == &td_batch_processor);
    TT_CHECK_INT(load("    send_batch_size: 100\n"
                      "    send_batch_max_size: 100\n"
                      "    metadata_keys: [tenant]\n", &msgs), 0);
    td_buf_free(&msgs);

    TT_CHECK_INT(load("    send_batch_size: 100\n"
                      "    send_batch_max_size: 10\n", &msgs), TD_EINVAL);
    /* At the value of the key, line 6 column 26. */
    TT_CHECK(msgs.data != NULL
             && strstr(msgs.data, "t.yaml:6:26: error: processor \"batch\": "
                       "send_batch_max_size (10) must be 0 (no limit) or "
                       "at least send_batch_size (100)") != NULL);
    td_buf_free(&msgs);

    TT_CHECK_INT(load("    metadata_keys: [tenant, tenant]\n", &msgs),
                 TD_EINVAL);
    TT_CHECK(msgs.data != NULL
             && strstr(msgs.data, "t.yaml:5:20: error: processor \"batch\": "
                       "metadata_keys lists \"tenant\" twice") != NULL);
    td_buf_free(&msgs);

    TT_CHECK_INT(load("    send_batch_size: 0\n", &msgs), TD_EINVAL);
    td_buf_free(&msgs);
}

/* ---- through the service ---- */

typedef struct svc_fake {
    td_fanout *out;                 /* the receiver's logs fan-out */
} svc_fake;

static svc_fake *svc_rcv;
static atomic_size_t svc_exported;

static int
svc_create(const td_component_ctx *ctx, const void *cfg, void **self,
           char *err, size_t errlen)
{
    svc_fake *f = calloc(1, sizeof(*f));

    (void) cfg;
    if (f == NULL) {
        snprintf(err, errlen, "out of memory");
        return TD_ENOMEM;
    }
    if (ctx->kind == TD_KIND_RECEIVER) {
        f->out = ctx->out[TD_SIGNAL_LOGS];
        svc_rcv = f;
    }
    *self = f;
    return TD_OK;
}

static int
svc_start(void *self, char *err, size_t errlen)
{
    (void) self;
    (void) err;
    (void) errlen;
    return TD_OK;
}

static int
svc_export(void *self, td_batch *b, int64_t deadline, char *err,
           size_t errlen)
{
    (void) self;
    (void) deadline;
    (void) err;
    (void) errlen;
    atomic_fetch_add(&svc_exported, td_batch_items(b));
    return TD_OK;
}

static void
svc_shutdown(void *self, int64_t deadline)
{
    (void) self;
    (void) deadline;
}

static void
svc_destroy(void *self)
{
    free(self);
}

static const td_cfg_key svc_no_keys[] = {{.name = NULL}};

static const td_component_desc svc_in = {
    .type = "fakein", .kind = TD_KIND_RECEIVER,
    .signals = TD_SIGNAL_BIT(TD_SIGNAL_LOGS), .summary = "test",
    .cfg_size = 8, .keys = svc_no_keys, .create = svc_create,
    .start = svc_start, .shutdown = svc_shutdown, .destroy = svc_destroy,
};
static const td_component_desc svc_sink = {
    .type = "sink", .kind = TD_KIND_EXPORTER,
    .signals = TD_SIGNAL_BIT(TD_SIGNAL_LOGS), .summary = "test",
    .cfg_size = 8, .keys = svc_no_keys, .create = svc_create,
    .start = svc_start, .export = svc_export, .shutdown = svc_shutdown,
    .destroy = svc_destroy,
};

static int64_t
svc_in_flight(const char *pipeline)
{
    char labels[64];
    td_gauge *g;

    snprintf(labels, sizeof(labels), "pipeline=\"%s\"", pipeline);
    g = td_self_gauge("tandem_pipeline_items_in_flight", "h", labels);
    return g != NULL ? (int64_t) atomic_load(&g->v) : -1;
}

/*
 * The registered processor in a service, next to a pipeline without
 * it on the same receiver: the pipeline with batch gets its own copy
 * while the other still needs the batch, each exporter sees every item
 * once, and the items in flight go back to zero after the flush.
 */
static void
test_through_service(void)
{
    static const td_component_desc *const fakes[] = {&svc_in, &svc_sink};
    td_config_source src = {.name = "t.yaml", .text =
        "receivers:\n"
        "  fakein:\n"
        "processors:\n"
        "  batch:\n"
        "    timeout: 10s\n"
        "    send_batch_size: 5\n"
        "exporters:\n"
        "  sink/a:\n"
        "  sink/b:\n"
        "service:\n"
        "  telemetry: {metrics: {level: none}}\n"
        "  shutdown_timeout: 5s\n"
        "  pipelines:\n"
        "    logs/batched:\n"
        "      receivers: [fakein]\n"
        "      processors: [batch]\n"
        "      exporters: [sink/a]\n"
        "    logs/plain:\n"
        "      receivers: [fakein]\n"
        "      exporters: [sink/b]\n"};
    td_buf msgs = TD_BUF_INIT;
    td_config *cfg = NULL;
    td_service *svc = NULL;
    char err[256];

    td_self_reset();
    td_log_set_level(TD_LOG_ERROR);
    svc_rcv = NULL;
    atomic_store(&svc_exported, 0);
    TT_CHECK_INT(td_config_load_ext(&src, 1, NULL, 0, fakes, 2, &cfg,
                                    &msgs), 0);
    if (cfg == NULL) {
        fprintf(stderr, "%.*s", (int) msgs.len, msgs.data);
        td_buf_free(&msgs);
        return;
    }
    TT_CHECK_INT(td_service_build(cfg, &svc, err, sizeof(err)), 0);
    TT_CHECK_INT(td_service_start(svc, err, sizeof(err)), 0);
    TT_CHECK(svc_rcv != NULL && svc_rcv->out != NULL);

    for (int i = 0; svc_rcv != NULL && i < 4; i++) {
        td_batch *b = make_batch(TD_SIGNAL_LOGS, i * 2, 2, 0, NULL);
        uint32_t pending = td_fanout_all(svc_rcv->out);

        TT_CHECK_INT(td_fanout_consume(svc_rcv->out, b, &pending), 0);
        td_batch_unref(b);
    }
    /* 8 items plain; 6 batched by the size trigger, 2 still held. */
    for (int i = 0; i < 1000 && (atomic_load(&svc_exported) < 14
                                 || svc_in_flight("logs/batched") != 2);
         i++) {
        sleep_ms(5);
    }
    TT_CHECK_INT(atomic_load(&svc_exported), 14);
    TT_CHECK_INT(svc_in_flight("logs/batched"), 2);

    td_service_shutdown(svc);
    TT_CHECK_INT(atomic_load(&svc_exported), 16);
    TT_CHECK_INT(svc_in_flight("logs/batched"), 0);
    TT_CHECK_INT(svc_in_flight("logs/plain"), 0);
    td_service_free(svc);
    td_config_free(cfg);
    td_buf_free(&msgs);
    td_self_reset();
}

static const tt_case cases[] = {
    {"size_trigger", test_size_trigger},
    {"timeout_first_item", test_timeout_first_item},
    {"max_size_split", test_max_size_split},
    {"timeout_zero", test_timeout_zero},
    {"metadata_keys", test_metadata_keys},
    {"metadata_two_keys", test_metadata_two_keys},
    {"refusal_keeps_and_retries", test_refusal_keeps_and_retries},
    {"refusal_bound", test_refusal_bound},
    {"flush_on_shutdown", test_flush_on_shutdown},
    {"deadline_drop", test_deadline_drop},
    {"concurrent_consume", test_concurrent_consume},
    {"empty_batch", test_empty_batch},
    {"metrics_promtool", test_metrics_promtool},
    {"validate", test_validate},
    {"through_service", test_through_service},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
