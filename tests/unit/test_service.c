/*
 * test_service.c - the service built from a config, with components that
 * exist only in this test: a receiver that hands in batches on demand, a
 * processor that notes its name and passes the batch on (or refuses),
 * and an exporter that records what it gets. It shows that processors
 * run in the order the pipeline lists them, one instance per pipeline;
 * that an exporter listed by two pipelines is one instance; that a
 * refusal in a processor reaches the receiver; that items in flight go
 * back to zero; and that shutdown goes receivers, processors, exporters.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "config.h"
#include "config_internal.h"
#include "td.h"
#include "log.h"
#include "pipeline.h"
#include "selfmetrics.h"
#include "service.h"
#include "telemetry.h"
#include "tt.h"

#define EV_MAX 256

/* What the fake components did, in order, as short words. */
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static char ev[EV_MAX][64];
static int n_ev;

static void
ev_add(const char *what, const char *id)
{
    pthread_mutex_lock(&ev_lock);
    if (n_ev < EV_MAX) {
        snprintf(ev[n_ev++], sizeof(ev[0]), "%s:%s", what, id);
    }
    pthread_mutex_unlock(&ev_lock);
}

/* The events of one kind, joined by spaces. */
static const char *
ev_list(const char *what)
{
    static char out[4096];
    size_t o = 0, wl = strlen(what);

    out[0] = '\0';
    pthread_mutex_lock(&ev_lock);
    for (int i = 0; i < n_ev && o < sizeof(out) - 40; i++) {
        if (strncmp(ev[i], what, wl) == 0 && ev[i][wl] == ':') {
            o += (size_t) snprintf(out + o, sizeof(out) - o, "%s%s",
                                   o > 0 ? " " : "", ev[i] + wl + 1);
        }
    }
    pthread_mutex_unlock(&ev_lock);
    return out;
}

static void
ev_reset(void)
{
    pthread_mutex_lock(&ev_lock);
    n_ev = 0;
    pthread_mutex_unlock(&ev_lock);
}

/* ---- the components ---- */

typedef struct nocfg {
    int64_t unused;
} nocfg;

static const td_cfg_key no_keys[] = {{.name = NULL}};

typedef struct inst {
    char id[32];
    td_fanout *out;             /* receivers */
    td_consumer *next;          /* processors */
    atomic_int refuse;          /* processors: refuse this many batches */
} inst;

static inst *fake_rcv;          /* the last receiver made */
static inst *fake_procs[8];
static int n_procs;
static atomic_int n_exporters_made;
static atomic_size_t exported_items;
static atomic_int export_gate;  /* while 1, exports wait */

static int
fake_create(const td_component_ctx *ctx, const void *cfg, void **self,
            char *err, size_t errlen)
{
    inst *in = calloc(1, sizeof(*in));

    (void) cfg;
    if (in == NULL) {
        snprintf(err, errlen, "out of memory");
        return TD_ENOMEM;
    }
    snprintf(in->id, sizeof(in->id), "%s", ctx->id);
    atomic_init(&in->refuse, 0);
    switch (ctx->kind) {
    case TD_KIND_RECEIVER:
        in->out = ctx->out[TD_SIGNAL_LOGS];
        fake_rcv = in;
        break;
    case TD_KIND_PROCESSOR:
        in->next = ctx->next;
        if (n_procs < 8) {
            fake_procs[n_procs++] = in;
        }
        ev_add("proc_for", ctx->pipeline);
        break;
    default:
        atomic_fetch_add(&n_exporters_made, 1);
        break;
    }
    *self = in;
    return TD_OK;
}

static int
fake_start(void *self, char *err, size_t errlen)
{
    (void) err;
    (void) errlen;
    ev_add("start", ((inst *) self)->id);
    return TD_OK;
}

static void
fake_shutdown(void *self, int64_t deadline)
{
    (void) deadline;
    ev_add("shutdown", ((inst *) self)->id);
}

static void
fake_destroy(void *self)
{
    free(self);
}

static int
fake_consume(void *self, td_batch *b)
{
    inst *in = self;

    if (atomic_load(&in->refuse) > 0) {
        atomic_fetch_sub(&in->refuse, 1);
        ev_add("refuse", in->id);
        return TD_AGAIN;
    }
    ev_add("proc", in->id);
    return td_consumer_consume(in->next, b);
}

static int
fake_export(void *self, td_batch *b, int64_t deadline, char *err,
            size_t errlen)
{
    (void) self;
    (void) err;
    (void) errlen;
    while (atomic_load(&export_gate) && td_mono_ms() < deadline) {
        struct timespec ts = {0, 1000000L};

        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&exported_items, td_batch_items(b));
    return TD_OK;
}

#define FAKE_DESC(name, k, sig)                                          \
    {                                                                    \
        .type = name, .kind = k, .signals = sig,                         \
        .summary = "exists only in test_service", .cfg_size = 8,         \
        .keys = no_keys, .create = fake_create, .start = fake_start,     \
        .consume = fake_consume, .export = fake_export,                  \
        .shutdown = fake_shutdown, .destroy = fake_destroy,              \
    }

static const td_component_desc fake_in =
    FAKE_DESC("fakein", TD_KIND_RECEIVER, TD_SIGNAL_BIT(TD_SIGNAL_LOGS));
static const td_component_desc fake_tag =
    FAKE_DESC("tag", TD_KIND_PROCESSOR, TD_SIGNAL_BIT(TD_SIGNAL_LOGS));
static const td_component_desc fake_sink =
    FAKE_DESC("sink", TD_KIND_EXPORTER, TD_SIGNAL_BIT(TD_SIGNAL_LOGS));

static const td_component_desc *const fakes[] = {&fake_in, &fake_tag,
                                                 &fake_sink};

/* ---- helpers ---- */

static const char *const test_yaml =
    "receivers:\n"
    "  fakein:\n"
    "processors:\n"
    "  tag/first:\n"
    "  tag/second:\n"
    "  tag/third:\n"
    "exporters:\n"
    "  sink:\n"
    "    sending_queue: {num_consumers: 2}\n"
    "service:\n"
    "  telemetry: {metrics: {level: none}}\n"
    "  shutdown_timeout: 5s\n"
    "  pipelines:\n"
    "    logs/one:\n"
    "      receivers: [fakein]\n"
    "      processors: [tag/third, tag/first, tag/second]\n"
    "      exporters: [sink]\n"
    "    logs/two:\n"
    "      receivers: [fakein]\n"
    "      processors: [tag/first]\n"
    "      exporters: [sink]\n";

static td_batch *
batch_of(size_t n)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_resource_group *rg = b != NULL ? td_batch_add_resource(b) : NULL;
    td_scope_group *sg = rg != NULL ? td_batch_add_scope(b, rg) : NULL;

    for (size_t i = 0; sg != NULL && i < n; i++) {
        TT_CHECK(td_batch_add_log(b, sg) != NULL);
    }
    return b;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static int64_t
gauge(const char *pipeline)
{
    char labels[64];
    td_gauge *g;

    snprintf(labels, sizeof(labels), "pipeline=\"%s\"", pipeline);
    g = td_self_gauge("tandem_pipeline_items_in_flight", "h", labels);
    return g != NULL ? (int64_t) atomic_load(&g->v) : -1;
}

static int
wait_items(size_t n)
{
    for (int i = 0; i < 500 && atomic_load(&exported_items) < n; i++) {
        sleep_ms(10);
    }
    return atomic_load(&exported_items) == n;
}

/* ---- the cases ---- */

static void
test_order_and_instances(void)
{
    td_config_source src = {.name = "t.yaml", .text = test_yaml};
    td_buf msgs = TD_BUF_INIT;
    td_config *cfg = NULL;
    td_service *svc = NULL;
    char err[256];
    uint32_t pending;
    td_batch *b;

    ev_reset();
    n_procs = 0;
    fake_rcv = NULL;
    atomic_store(&n_exporters_made, 0);
    atomic_store(&exported_items, 0);
    td_self_reset();
    td_log_set_level(TD_LOG_ERROR);

    TT_CHECK_INT(td_config_load_ext(&src, 1, NULL, 0, fakes, 3, &cfg,
                                    &msgs), TD_OK);
    if (cfg == NULL) {
        fprintf(stderr, "%.*s", (int) msgs.len, msgs.data);
        td_buf_free(&msgs);
        return;
    }
    TT_CHECK_INT(td_service_build(cfg, &svc, err, sizeof(err)), TD_OK);
    TT_CHECK_INT(td_service_start(svc, err, sizeof(err)), TD_OK);

    /* A processor per pipeline that lists it; one shared exporter. */
    TT_CHECK_INT(n_procs, 4);
    TT_CHECK_STR(ev_list("proc_for"), "logs/one logs/one logs/one logs/two");
    TT_CHECK_INT(atomic_load(&n_exporters_made), 1);
    /* Exporters start first, then processors, then receivers. */
    TT_CHECK(strncmp(ev_list("start"), "sink ", 5) == 0);
    TT_CHECK(strstr(ev_list("start"), "fakein") != NULL
             && strcmp(ev_list("start") + strlen(ev_list("start")) - 6,
                       "fakein") == 0);

    TT_CHECK(fake_rcv != NULL && fake_rcv->out != NULL);
    if (fake_rcv == NULL || fake_rcv->out == NULL) {
        goto out;
    }

    /*
     * Both pipelines take the batch; each runs its processors in order.
     * While the exporter is held, the items are in flight in both.
     */
    atomic_store(&export_gate, 1);
    b = batch_of(5);
    pending = td_fanout_all(fake_rcv->out);
    TT_CHECK_INT(td_fanout_consume(fake_rcv->out, b, &pending), TD_OK);
    TT_CHECK_STR(ev_list("proc"), "tag/third tag/first tag/second "
                                  "tag/first");
    TT_CHECK_INT(gauge("logs/one"), 5);
    TT_CHECK_INT(gauge("logs/two"), 5);
    atomic_store(&export_gate, 0);
    TT_CHECK(wait_items(10));
    td_batch_unref(b);

    /*
     * The middle processor of logs/one refuses once: logs/one stays
     * pending, logs/two took the batch; the retry reaches logs/one only.
     */
    ev_reset();
    atomic_store(&fake_procs[1]->refuse, 1);    /* tag/first of one */
    b = batch_of(3);
    pending = td_fanout_all(fake_rcv->out);
    TT_CHECK_INT(td_fanout_consume(fake_rcv->out, b, &pending), TD_AGAIN);
    TT_CHECK_INT(pending, 1);
    TT_CHECK_INT(gauge("logs/one"), 0);     /* refused: not in flight */
    TT_CHECK_INT(td_fanout_consume(fake_rcv->out, b, &pending), TD_OK);
    TT_CHECK_INT(pending, 0);
    TT_CHECK_STR(ev_list("refuse"), "tag/first");
    TT_CHECK_STR(ev_list("proc"), "tag/third tag/first tag/third "
                                  "tag/first tag/second");
    TT_CHECK(wait_items(16));
    td_batch_unref(b);

    /* The last exporter to finish takes the items off; allow it a beat. */
    for (int i = 0; i < 100 && gauge("logs/one") + gauge("logs/two"); i++) {
        sleep_ms(10);
    }
    TT_CHECK_INT(gauge("logs/one"), 0);
    TT_CHECK_INT(gauge("logs/two"), 0);

out:
    ev_reset();
    td_service_shutdown(svc);
    /* Receivers first, then the processors, then the exporter. */
    TT_CHECK_STR(ev_list("shutdown"), "fakein tag/third tag/first "
                                      "tag/second tag/first sink");
    td_service_free(svc);
    td_config_free(cfg);
    td_buf_free(&msgs);
    td_self_reset();
}

static const tt_case cases[] = {
    {"order_and_instances", test_order_and_instances},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
