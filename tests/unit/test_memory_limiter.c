/*
 * test_memory_limiter.c - the memory_limiter processor, /health/ready
 * while memory is limited, and tcplog's reservation before each read.
 *
 * The processor runs against a recording next step and fake memory
 * files (statm, cgroup v2 and v1 limits, meminfo) pointed at through
 * td_budget_set_paths(). The receiver runs on 127.0.0.1 with a budget
 * made full by a batch the test holds: it stops reading, and once the
 * batch is freed it reads again without losing or reordering a line.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "budget.h"
#include "config.h"
#include "config_internal.h"
#include "log.h"
#include "pipeline.h"
#include "receivers/tcplog.h"
#include "selfmetrics.h"
#include "telemetry.h"
#include "td.h"
#include "tt.h"

extern const td_component_desc td_memory_limiter_processor;

#define MIB ((size_t) 1024 * 1024)

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* A logs batch holding about bytes of arena memory. */
static td_batch *
ballast(size_t bytes)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, bytes);

    TT_CHECK(b != NULL);
    TT_CHECK(b == NULL || td_batch_bytes(b) >= bytes);
    return b;
}

/* A logs batch of n records. */
static td_batch *
batch_of(size_t n)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_resource_group *rg = b != NULL ? td_batch_add_resource(b) : NULL;
    td_scope_group *sg = rg != NULL ? td_batch_add_scope(b, rg) : NULL;

    TT_CHECK(sg != NULL);
    for (size_t i = 0; sg != NULL && i < n; i++) {
        TT_CHECK(td_batch_add_log(b, sg) != NULL);
    }
    return b;
}

/* ---- fake memory files ---- */

static char tmpdir[64];
static char statm_path[128], cg2_path[128], cg1_path[128], mem_path[128];

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    TT_CHECK(f != NULL);
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

/* Writes a statm file whose resident size is bytes. */
static void
write_statm(size_t bytes)
{
    char text[64];

    snprintf(text, sizeof(text), "100000 %zu 10 1 0 100 0\n",
             bytes / (size_t) sysconf(_SC_PAGESIZE));
    write_file(statm_path, text);
}

/*
 * Points the budget at files in a fresh directory: a small resident
 * size, no cgroup files yet, 4 GiB of RAM.
 */
static void
fake_begin(void)
{
    td_budget_paths p;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_ml.XXXXXX");
    TT_CHECK(mkdtemp(tmpdir) != NULL);
    snprintf(statm_path, sizeof(statm_path), "%s/statm", tmpdir);
    snprintf(cg2_path, sizeof(cg2_path), "%s/memory.max", tmpdir);
    snprintf(cg1_path, sizeof(cg1_path), "%s/memory.limit_in_bytes",
             tmpdir);
    snprintf(mem_path, sizeof(mem_path), "%s/meminfo", tmpdir);
    write_statm(100 * 1024);
    write_file(mem_path, "MemTotal:        4194304 kB\n"
                         "MemFree:         1000 kB\n");
    p.statm = statm_path;
    p.cgroup2 = cg2_path;
    p.cgroup1 = cg1_path;
    p.meminfo = mem_path;
    td_budget_set_paths(&p);
}

static void
fake_end(void)
{
    td_budget_set_paths(NULL);
    unlink(statm_path);
    unlink(cg2_path);
    unlink(cg1_path);
    unlink(mem_path);
    rmdir(tmpdir);
}

/* ---- a memory_limiter instance ---- */

/* The next step: counts what it is given and keeps nothing. */
typedef struct recorder {
    td_consumer c;
    atomic_size_t items;
    atomic_int calls;
} recorder;

static int
recorder_consume(td_consumer *c, td_batch *b)
{
    recorder *r = c->arg;

    atomic_fetch_add(&r->items, td_batch_items(b));
    atomic_fetch_add(&r->calls, 1);
    return TD_OK;
}

typedef struct limiter {
    int64_t cfg[16];                /* the processor's config struct */
    recorder rec;
    void *self;
    int rc;
    char err[256];
} limiter;

/* Sets a key of the config through the descriptor's key table. */
static void
limiter_set(limiter *l, const char *key, int64_t v)
{
    const td_cfg_key *k = td_memory_limiter_processor.keys;

    for (; k->name != NULL && strcmp(k->name, key) != 0; k++) {
    }
    TT_CHECK(k->name != NULL);
    if (k->name != NULL) {
        memcpy((char *) l->cfg + k->offset, &v, sizeof(v));
    }
}

/* Makes an instance of the defaults; set keys, then limiter_create. */
static void
limiter_init(limiter *l)
{
    char err[128];

    memset(l, 0, sizeof(*l));
    TT_CHECK(td_memory_limiter_processor.cfg_size <= sizeof(l->cfg));
    TT_CHECK_INT(td_cfg_defaults(td_memory_limiter_processor.keys, l->cfg,
                                 err, sizeof(err)), TD_OK);
    l->rec.c.consume = recorder_consume;
    l->rec.c.arg = &l->rec;
}

static int
limiter_create(limiter *l, const char *id)
{
    td_component_ctx ctx = {.id = id, .kind = TD_KIND_PROCESSOR,
                            .next = &l->rec.c, .signal = TD_SIGNAL_LOGS,
                            .pipeline = "logs"};

    l->rc = td_memory_limiter_processor.create(&ctx, l->cfg, &l->self,
                                               l->err, sizeof(l->err));
    return l->rc;
}

static void
limiter_free(limiter *l)
{
    if (l->rc == TD_OK && l->self != NULL) {
        td_memory_limiter_processor.shutdown(l->self, td_mono_ms() + 1000);
        td_memory_limiter_processor.destroy(l->self);
    }
    l->self = NULL;
}

static uint64_t
refused_items(void)
{
    return td_counter_get(td_self_counter(
        "tandem_processor_memory_limiter_refused_log_records_total", "h",
        "processor=\"memory_limiter\",pipeline=\"logs\""));
}

/* ---- HTTP, for /health/ready ---- */

/* GETs path from 127.0.0.1:port; returns the status, body in body. */
static int
http_get(int port, const char *path, char *body, size_t len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char buf[4096], req[256];
    size_t got = 0;
    int fd, status = -1, n;
    char *sep;

    sa.sin_port = htons((uint16_t) port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    body[0] = '\0';
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n"
                 "Connection: close\r\n\r\n", path);
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0
        || write(fd, req, (size_t) n) != n) {
        close(fd);
        return -1;
    }
    while (got < sizeof(buf) - 1) {
        ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);

        if (r <= 0) {
            break;
        }
        got += (size_t) r;
    }
    close(fd);
    buf[got] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        return -1;
    }
    sep = strstr(buf, "\r\n\r\n");
    snprintf(body, len, "%s", sep != NULL ? sep + 4 : "");
    return status;
}

/* ---- the cases ---- */

typedef struct loaded {
    int rc;
    td_config *cfg;
    td_buf msgs;
} loaded;

static void
load(loaded *l, const char *yaml)
{
    static const td_component_desc *const extra[] = {
        &td_memory_limiter_processor};
    td_config_source src = {.name = "m.yaml", .text = yaml};

    memset(l, 0, sizeof(*l));
    l->rc = td_config_load_ext(&src, 1, NULL, 0, extra, 1, &l->cfg,
                               &l->msgs);
}

static void
loaded_free(loaded *l)
{
    td_config_free(l->cfg);
    td_buf_free(&l->msgs);
}

#define PIPE(n, p) "    logs/" n ": {receivers: [tcplog], processors: [" \
                   p "], exporters: [debug]}\n"

/* Exactly one way to give the limit, and a spike below it. */
static void
test_validate(void)
{
    loaded l;

    load(&l, "receivers: {tcplog: }\n"
             "processors:\n"
             "  memory_limiter:\n"
             "  memory_limiter/both: {limit_mib: 100, "
             "limit_percentage: 50}\n"
             "  memory_limiter/spike: {limit_mib: 100, "
             "spike_limit_mib: 100}\n"
             "  memory_limiter/pct: {limit_percentage: 50, "
             "spike_limit_percentage: 60}\n"
             "  memory_limiter/mix: {limit_mib: 100, "
             "spike_limit_percentage: 10}\n"
             "  memory_limiter/mix2: {limit_percentage: 10, "
             "spike_limit_mib: 10}\n"
             "  memory_limiter/zero: {limit_mib: 0}\n"
             "exporters: {debug: }\n"
             "service:\n"
             "  pipelines:\n"
             PIPE("a", "memory_limiter") PIPE("b", "memory_limiter/both")
             PIPE("c", "memory_limiter/spike") PIPE("d", "memory_limiter/pct")
             PIPE("e", "memory_limiter/mix") PIPE("f", "memory_limiter/mix2")
             PIPE("g", "memory_limiter/zero"));
    TT_CHECK_INT(l.rc, TD_EINVAL);
    TT_CHECK(l.msgs.data != NULL);
    TT_CHECK_STR(l.msgs.data,
        "m.yaml:3:3: error: processor \"memory_limiter\": one of limit_mib "
        "or limit_percentage is required: the memory limit in MiB, or in "
        "percent of the memory the process may use\n"
        "m.yaml:4:59: error: processor \"memory_limiter/both\": limit_mib "
        "and limit_percentage are both set; set one of them\n"
        "m.yaml:5:59: error: processor \"memory_limiter/spike\": "
        "spike_limit_mib (100) must be less than limit_mib (100): the soft "
        "limit is their difference\n"
        "m.yaml:6:70: error: processor \"memory_limiter/pct\": "
        "spike_limit_percentage (60) must be less than limit_percentage "
        "(50): the soft limit is their difference\n"
        "m.yaml:7:64: error: processor \"memory_limiter/mix\": "
        "spike_limit_percentage goes with limit_percentage; with "
        "limit_mib, set spike_limit_mib\n"
        "m.yaml:8:64: error: processor \"memory_limiter/mix2\": "
        "spike_limit_mib goes with limit_mib; with limit_percentage, set "
        "spike_limit_percentage\n"
        "m.yaml:9:36: error: invalid value for \"limit_mib\" in processor "
        "\"memory_limiter/zero\": \"0\" is out of range; it must be "
        "between 1 and 1073741824\n");
    loaded_free(&l);

    /* The Collector's spellings load, with check_interval's default. */
    load(&l, "receivers: {tcplog: }\n"
             "processors:\n"
             "  memory_limiter: {check_interval: 2s, limit_mib: 400, "
             "spike_limit_mib: 100}\n"
             "  memory_limiter/p: {limit_percentage: 80}\n"
             "exporters: {debug: }\n"
             "service:\n"
             "  pipelines:\n"
             PIPE("a", "memory_limiter") PIPE("b", "memory_limiter/p"));
    TT_CHECK_INT(l.rc, TD_OK);
    if (l.rc != TD_OK) {
        fprintf(stderr, "%s", l.msgs.data ? l.msgs.data : "");
    }
    loaded_free(&l);
}

/*
 * Above the soft limit a batch is refused and counted, nothing goes on;
 * once the budget falls the same batch is taken.
 */
static void
test_soft_limit(void)
{
    td_batch *b, *big;
    limiter l;

    fake_begin();
    td_self_reset();
    td_log_set_level(TD_LOG_ERROR);
    limiter_init(&l);
    limiter_set(&l, "limit_mib", 8);
    limiter_set(&l, "spike_limit_mib", 4);
    TT_CHECK_INT(limiter_create(&l, "memory_limiter"), TD_OK);
    TT_CHECK_STR(l.err, "");
    TT_CHECK_INT(td_budget_hard_limit(), 8 * MIB);
    TT_CHECK_INT(td_budget_soft_limit(), 4 * MIB);
    TT_CHECK_INT(td_memory_limiter_processor.start(l.self, l.err,
                                                   sizeof(l.err)), TD_OK);

    b = batch_of(7);
    TT_CHECK_INT(td_memory_limiter_processor.consume(l.self, b), TD_OK);
    TT_CHECK_INT(atomic_load(&l.rec.items), 7);

    big = ballast(5 * MIB);
    TT_CHECK_INT(td_memory_limiter_processor.consume(l.self, b), TD_AGAIN);
    TT_CHECK_INT(td_memory_limiter_processor.consume(l.self, b), TD_AGAIN);
    TT_CHECK_INT(atomic_load(&l.rec.items), 7);
    TT_CHECK_INT(refused_items(), 14);
    TT_CHECK(td_budget_limited());

    /* A receiver holding the ballast after a refusal does not block. */
    td_budget_hold(td_batch_bytes(big));
    TT_CHECK_INT(td_memory_limiter_processor.consume(l.self, b), TD_OK);
    td_budget_unhold(td_batch_bytes(big));

    td_batch_unref(big);
    TT_CHECK(!td_budget_limited());
    TT_CHECK_INT(td_memory_limiter_processor.consume(l.self, b), TD_OK);
    TT_CHECK_INT(atomic_load(&l.rec.items), 21);
    TT_CHECK_INT(refused_items(), 14);
    td_batch_unref(b);

    limiter_free(&l);
    TT_CHECK_INT(td_budget_soft_limit(), 0);
    TT_CHECK_INT(td_budget_hard_limit(), 0);
    td_self_reset();
    fake_end();
}

/*
 * Resident memory above the hard limit: at start (and on every check)
 * free heap memory goes back to the system and a line says so with the
 * numbers; /health/ready answers 503 until resident memory falls.
 */
static void
test_hard_limit(void)
{
    td_admin *adm = NULL;
    char err[256], body[256];
    tt_capture cap;
    limiter l;
    char *text;
    int i;

    fake_begin();
    td_self_reset();
    td_log_set_level(TD_LOG_INFO);
    TT_CHECK_INT(td_admin_start("127.0.0.1:0", &adm, err, sizeof(err)),
                 TD_OK);
    if (adm == NULL) {
        fake_end();
        return;
    }
    td_admin_set_ready(adm, true);
    TT_CHECK_INT(http_get(td_admin_port(adm), "/health/ready", body,
                          sizeof(body)), 200);

    limiter_init(&l);
    limiter_set(&l, "limit_mib", 2);
    limiter_set(&l, "check_interval", 10);
    write_statm(6 * MIB);
    TT_CHECK_INT(limiter_create(&l, "memory_limiter"), TD_OK);
    tt_capture_begin(&cap);
    TT_CHECK_INT(td_memory_limiter_processor.start(l.self, l.err,
                                                   sizeof(l.err)), TD_OK);
    text = tt_capture_end(&cap);
    TT_CHECK(strstr(text, "\"component\":\"memory_limiter\",\"msg\":"
                          "\"memory limits: hard 2.0 MiB, soft 1.6 MiB "
                          "(limit_mib 2)\"") != NULL);
    TT_CHECK(strstr(text, "\"level\":\"warn\",\"component\":"
                          "\"memory_limiter\",\"msg\":\"above the hard "
                          "limit of 2.0 MiB: resident 6.0 MiB, telemetry ")
             != NULL);
    TT_CHECK(strstr(text, "MiB; returned free heap memory to the system, "
                          "resident now 6.0 MiB\"") != NULL);
    free(text);

    TT_CHECK(td_budget_limited());
    TT_CHECK(td_budget_admits());   /* resident size refuses nothing */
    TT_CHECK_INT(http_get(td_admin_port(adm), "/health/ready", body,
                          sizeof(body)), 503);
    TT_CHECK_STR(body, "{\"status\":\"not ready\",\"reason\":\"memory "
                       "limited\"}");

    /*
     * The check thread sees resident memory fall (10 s at most). The
     * budget's own line about it is tested in test_budget.
     */
    write_statm(1 * MIB);
    tt_capture_begin(&cap);
    for (i = 0; i < 1000 && td_budget_limited(); i++) {
        sleep_ms(10);
    }
    free(tt_capture_end(&cap));
    TT_CHECK(!td_budget_limited());
    TT_CHECK_INT(http_get(td_admin_port(adm), "/health/ready", body,
                          sizeof(body)), 200);
    TT_CHECK_STR(body, "{\"status\":\"ready\"}");

    limiter_free(&l);
    td_admin_stop(adm);
    td_log_set_level(TD_LOG_ERROR);
    td_self_reset();
    fake_end();
}

/* Telemetry above the hard limit also makes the check give memory back. */
static void
test_hard_limit_by_budget(void)
{
    tt_capture cap;
    td_batch *big;
    limiter l;
    char *text;

    fake_begin();
    td_self_reset();
    td_log_set_level(TD_LOG_WARN);
    limiter_init(&l);
    limiter_set(&l, "limit_mib", 2);
    TT_CHECK_INT(limiter_create(&l, "memory_limiter/b"), TD_OK);
    big = ballast(3 * MIB);
    tt_capture_begin(&cap);
    TT_CHECK_INT(td_memory_limiter_processor.start(l.self, l.err,
                                                   sizeof(l.err)), TD_OK);
    text = tt_capture_end(&cap);
    TT_CHECK(strstr(text, "\"component\":\"memory_limiter/b\",\"msg\":"
                          "\"above the hard limit of 2.0 MiB: resident "
                          "0.1 MiB, telemetry 3.0 MiB") != NULL);
    free(text);
    td_batch_unref(big);
    limiter_free(&l);
    td_log_set_level(TD_LOG_ERROR);
    td_self_reset();
    fake_end();
}

/* The limit as a percentage of the cgroup's limit, or of RAM. */
static void
test_percentage(void)
{
    limiter l;

    fake_begin();
    td_self_reset();

    /* cgroup v2 */
    write_file(cg2_path, "1073741824\n");
    limiter_init(&l);
    limiter_set(&l, "limit_percentage", 50);
    limiter_set(&l, "spike_limit_percentage", 10);
    TT_CHECK_INT(limiter_create(&l, "memory_limiter"), TD_OK);
    TT_CHECK_INT(td_budget_hard_limit(), 536870912);
    TT_CHECK_INT(td_budget_soft_limit(), 536870912 - 107374182);
    limiter_free(&l);

    /* cgroup v2 says "max": cgroup v1, with the default spike of 20%. */
    write_file(cg2_path, "max\n");
    write_file(cg1_path, "2147483648\n");
    limiter_init(&l);
    limiter_set(&l, "limit_percentage", 50);
    TT_CHECK_INT(limiter_create(&l, "memory_limiter"), TD_OK);
    TT_CHECK_INT(td_budget_hard_limit(), 1073741824);
    TT_CHECK_INT(td_budget_soft_limit(), 1073741824 - 214748364);
    limiter_free(&l);

    /* No cgroup limit at all (v1's "none"): total RAM, 4 GiB here. */
    write_file(cg1_path, "9223372036854771712\n");
    limiter_init(&l);
    limiter_set(&l, "limit_percentage", 25);
    TT_CHECK_INT(limiter_create(&l, "memory_limiter"), TD_OK);
    TT_CHECK_INT(td_budget_hard_limit(), 1073741824);
    limiter_free(&l);

    /* Nothing to go by: create fails and says why. */
    unlink(cg1_path);
    unlink(mem_path);
    limiter_init(&l);
    limiter_set(&l, "limit_percentage", 25);
    TT_CHECK_INT(limiter_create(&l, "memory_limiter"), TD_ERR);
    TT_CHECK(strstr(l.err, "cannot tell how much memory the process may "
                           "use: no cgroup memory limit in ") == l.err);
    TT_CHECK_INT(td_budget_hard_limit(), 0);
    td_self_reset();
    fake_end();
}

/* Two instances (two pipelines): the tighter limits are in force. */
static void
test_two_instances(void)
{
    limiter a, b;

    fake_begin();
    td_self_reset();
    limiter_init(&a);
    limiter_set(&a, "limit_mib", 100);
    limiter_init(&b);
    limiter_set(&b, "limit_mib", 50);
    limiter_set(&b, "spike_limit_mib", 5);
    TT_CHECK_INT(limiter_create(&a, "memory_limiter"), TD_OK);
    TT_CHECK_INT(limiter_create(&b, "memory_limiter"), TD_OK);
    TT_CHECK_INT(td_budget_hard_limit(), 50 * MIB);
    TT_CHECK_INT(td_budget_soft_limit(), 45 * MIB);
    limiter_free(&b);
    TT_CHECK_INT(td_budget_hard_limit(), 100 * MIB);
    TT_CHECK_INT(td_budget_soft_limit(), 80 * MIB);
    limiter_free(&a);
    TT_CHECK_INT(td_budget_hard_limit(), 0);
    td_self_reset();
    fake_end();
}

/* /health/ready follows the budget's soft limit, without a limiter. */
static void
test_ready_toggles(void)
{
    static int owner;
    td_admin *adm = NULL;
    char err[256], body[256];
    td_batch *big;

    TT_CHECK_INT(td_admin_start("127.0.0.1:0", &adm, err, sizeof(err)),
                 TD_OK);
    if (adm == NULL) {
        return;
    }
    TT_CHECK_INT(http_get(td_admin_port(adm), "/health/ready", body,
                          sizeof(body)), 503);
    TT_CHECK_STR(body, "{\"status\":\"not ready\"}");
    td_admin_set_ready(adm, true);
    TT_CHECK_INT(td_budget_set_limits(&owner, td_budget_used() + MIB,
                                      td_budget_used() + 2 * MIB), TD_OK);
    TT_CHECK_INT(http_get(td_admin_port(adm), "/health/ready", body,
                          sizeof(body)), 200);

    big = ballast(2 * MIB);
    TT_CHECK_INT(http_get(td_admin_port(adm), "/health/ready", body,
                          sizeof(body)), 503);
    TT_CHECK_STR(body, "{\"status\":\"not ready\",\"reason\":\"memory "
                       "limited\"}");
    TT_CHECK_INT(http_get(td_admin_port(adm), "/health/live", body,
                          sizeof(body)), 200);
    td_batch_unref(big);
    TT_CHECK_INT(http_get(td_admin_port(adm), "/health/ready", body,
                          sizeof(body)), 200);
    TT_CHECK_STR(body, "{\"status\":\"ready\"}");
    td_budget_clear(&owner);
    td_admin_stop(adm);
}

/* ---- tcplog's reservation ---- */

/* A pipeline that takes every batch and keeps the first 256. */
typedef struct sink {
    td_consumer c;
    pthread_mutex_t lock;
    td_batch *seen[256];
    atomic_int taken;               /* kept in seen */
    atomic_int batches;
    atomic_int records;
} sink;

static int
sink_consume(td_consumer *c, td_batch *b)
{
    sink *s = c->arg;
    int n;

    pthread_mutex_lock(&s->lock);
    n = atomic_load(&s->taken);
    if (n < 256) {
        td_batch_ref(b);
        s->seen[n] = b;
        atomic_store(&s->taken, n + 1);
    }
    atomic_fetch_add(&s->batches, 1);
    atomic_fetch_add(&s->records, (int) td_batch_items(b));
    pthread_mutex_unlock(&s->lock);
    return TD_OK;
}

/* A tcplog receiver on 127.0.0.1:0 feeding a sink. */
typedef struct rig {
    sink s;
    td_fanout *f;
    td_tcplog_cfg cfg;
    void *self;
    int fd;
} rig;

static void
rig_start(rig *r)
{
    td_component_ctx ctx = {.id = "tcplog", .kind = TD_KIND_RECEIVER};
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char err[256] = "";

    memset(r, 0, sizeof(*r));
    r->fd = -1;
    pthread_mutex_init(&r->s.lock, NULL);
    r->s.c.consume = sink_consume;
    r->s.c.arg = &r->s;
    r->f = td_fanout_new();
    TT_CHECK(r->f != NULL && td_fanout_add(r->f, &r->s.c, false) == TD_OK);
    ctx.out[TD_SIGNAL_LOGS] = r->f;
    r->cfg.endpoint = (char *) (uintptr_t) "127.0.0.1:0";
    r->cfg.max_log_size = 4096;
    r->cfg.max_connections = 4;
    r->cfg.parse = TD_TCPLOG_PARSE_JSON;
    TT_CHECK_INT(td_tcplog_receiver.create(&ctx, &r->cfg, &r->self, err,
                                           sizeof(err)), TD_OK);
    TT_CHECK_INT(td_tcplog_receiver.start(r->self, err, sizeof(err)),
                 TD_OK);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_port = htons((uint16_t) td_tcplog_port(r->self));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    TT_CHECK_INT(connect(r->fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
}

/* Closes the client, stops the receiver, frees what the sink kept. */
static void
rig_stop(rig *r)
{
    close(r->fd);
    td_tcplog_receiver.shutdown(r->self, td_mono_ms() + 2000);
    td_tcplog_receiver.destroy(r->self);
    td_fanout_free(r->f);
}

static void
rig_free(rig *r)
{
    for (int i = 0; i < atomic_load(&r->s.taken); i++) {
        td_batch_unref(r->s.seen[i]);
    }
    pthread_mutex_destroy(&r->s.lock);
}

/* True when the records' bodies are "line 0" .. "line n-1", in order. */
static bool
sink_in_order(sink *s, int n)
{
    char want[32];
    int next = 0;

    for (int i = 0; i < atomic_load(&s->taken); i++) {
        for (const td_resource_group *rg = s->seen[i]->resources;
             rg != NULL; rg = rg->next) {
            for (const td_scope_group *sg = rg->scopes; sg != NULL;
                 sg = sg->next) {
                for (const td_log_record *rec = sg->head.logs;
                     rec != NULL; rec = rec->next) {
                    snprintf(want, sizeof(want), "line %d", next++);
                    if (rec->body.type != TD_VAL_STR
                        || rec->body.u.s.len != strlen(want)
                        || memcmp(rec->body.u.s.ptr, want,
                                  strlen(want)) != 0) {
                        return false;
                    }
                }
            }
        }
    }
    return next == n;
}

static bool
wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 1000 && atomic_load(v) < want; i++) {
        sleep_ms(10);
    }
    return atomic_load(v) >= want;
}

static uint64_t
pauses(void)
{
    return td_counter_get(td_self_counter(
        "tandem_receiver_memory_pauses_total", "h",
        "receiver=\"tcplog\",transport=\"tcp\""));
}

/*
 * With the budget full, the receiver does not read: lines sent then stay
 * in the socket. Once the budget has room it reads again, and every line
 * arrives once, in order. Reservations all go back.
 */
static void
test_tcplog_reservation(void)
{
    size_t r0 = td_budget_reserved(), start = td_budget_used(), used;
    static int owner;
    char line[64];
    td_batch *big;
    int lines = 2000;
    rig r;

    td_self_reset();
    td_log_set_level(TD_LOG_ERROR);
    rig_start(&r);

    /* Room for the ballast and a little more, not for a read. */
    used = td_budget_used();
    TT_CHECK_INT(td_budget_set_limits(&owner, used + 4 * MIB,
                                      used + 8 * MIB), TD_OK);
    big = ballast(4 * MIB - 64 * 1024);

    for (int i = 0; i < lines; i++) {
        int n = snprintf(line, sizeof(line), "{\"msg\":\"line %d\"}\n", i);

        TT_CHECK(write(r.fd, line, (size_t) n) == n);
    }
    for (int i = 0; i < 1000 && pauses() == 0; i++) {
        sleep_ms(10);
    }
    TT_CHECK_INT(pauses(), 1);
    sleep_ms(200);
    TT_CHECK_INT(atomic_load(&r.s.batches), 0);
    TT_CHECK_INT(td_budget_reserved(), r0);   /* nothing kept waiting */

    td_batch_unref(big);
    TT_CHECK(wait_for(&r.s.records, lines));
    rig_stop(&r);

    TT_CHECK_INT(atomic_load(&r.s.records), lines);
    TT_CHECK(sink_in_order(&r.s, lines));
    TT_CHECK_INT(td_budget_reserved(), r0);
    TT_CHECK_INT(td_budget_held(), 0);
    rig_free(&r);
    td_budget_clear(&owner);
    TT_CHECK_INT(td_budget_used(), start);
    td_self_reset();
}

/*
 * Two-byte lines cost some 190 times their size once mapped. After the
 * first large read teaches the receiver that, it reads about 1 KiB at a
 * time (256 KiB of budget / the factor), so 200 KB of such lines arrive
 * in well over 100 batches rather than in a few of 64 KiB. Every line
 * arrives.
 */
static void
test_tcplog_tiny_lines(void)
{
    int lines = 100000;
    char *text = malloc((size_t) lines * 2);
    size_t off = 0;
    rig r;

    TT_CHECK(text != NULL);
    if (text == NULL) {
        return;
    }
    for (int i = 0; i < lines; i++) {
        text[2 * i] = 'x';
        text[2 * i + 1] = '\n';
    }
    td_self_reset();
    td_log_set_level(TD_LOG_ERROR);
    rig_start(&r);
    while (off < (size_t) lines * 2) {
        ssize_t n = write(r.fd, text + off, (size_t) lines * 2 - off);

        if (n <= 0) {
            break;
        }
        off += (size_t) n;
    }
    TT_CHECK_INT(off, lines * 2);
    TT_CHECK(wait_for(&r.s.records, lines));
    rig_stop(&r);
    TT_CHECK_INT(atomic_load(&r.s.records), lines);
    TT_CHECK(atomic_load(&r.s.batches) > 100);
    rig_free(&r);
    free(text);
    td_self_reset();
}

static const tt_case cases[] = {
    {"validate", test_validate},
    {"soft_limit", test_soft_limit},
    {"hard_limit", test_hard_limit},
    {"hard_limit_by_budget", test_hard_limit_by_budget},
    {"percentage", test_percentage},
    {"two_instances", test_two_instances},
    {"ready_toggles", test_ready_toggles},
    {"tcplog_reservation", test_tcplog_reservation},
    {"tcplog_tiny_lines", test_tcplog_tiny_lines},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
