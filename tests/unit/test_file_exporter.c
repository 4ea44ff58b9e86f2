/*
 * test_file_exporter.c - the file exporter driven through its descriptor
 * with known batches of all three signals: one OTLP/JSON line per batch
 * or per record, read back with cJSON down to every attribute value
 * type; appending; zstd frames; open and write failures and their
 * messages; flush_interval. Rotation is in test_file_rotation.c.
 *
 * Every case works in its own directory under /tmp, removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file_fixture.h"
#include "samples.h"
#include "tt.h"

/* ---- what the sample batches must look like ---- */

/* The attribute list written by sample_put_every_value(), value by value. */
static void
check_every_value(const cJSON *attrs)
{
    const cJSON *v;

    TT_CHECK_STR(jstr(jattr(attrs, "s"), "stringValue"), SAMPLE_TEXT);
    TT_CHECK_STR(jstr(jattr(attrs, "i"), "intValue"), "-42");
    TT_CHECK_STR(jstr(jattr(attrs, "big"), "intValue"),
                 "9223372036854775807");
    TT_CHECK(jnum(jattr(attrs, "d"), "doubleValue") == 0.1);
    TT_CHECK(cJSON_IsTrue(jpath(jattr(attrs, "b"), "boolValue")));
    TT_CHECK_STR(jstr(jattr(attrs, "bytes"), "bytesValue"), "AAH/");

    v = jattr(attrs, "arr");
    TT_CHECK_INT(jlen(v, "arrayValue.values"), 4);
    TT_CHECK_STR(jstr(v, "arrayValue.values[0].intValue"), "0");
    TT_CHECK_STR(jstr(v, "arrayValue.values[2].intValue"), "2");
    TT_CHECK_STR(jstr(v, "arrayValue.values[3].stringValue"), "x");

    v = jattr(attrs, "map");
    TT_CHECK_INT(jlen(v, "kvlistValue.values"), 2);
    TT_CHECK(cJSON_IsFalse(jpath(jattr(jpath(v, "kvlistValue.values"),
                                       "flag"), "boolValue")));
    v = jattr(jpath(v, "kvlistValue.values"), "nested");
    TT_CHECK_STR(jstr(jattr(jpath(v, "kvlistValue.values"), "k"),
                      "stringValue"), "v");

    /* An AnyValue with nothing set is the empty object. */
    v = jattr(attrs, "empty");
    TT_CHECK(cJSON_IsObject(v) && cJSON_GetArraySize(v) == 0);
}

/*
 * A resource entry (resourceLogs[i] etc.): its service.name, the other
 * resource attribute and its schema URL.
 */
static void
check_resource(const cJSON *rl, const char *service)
{
    const cJSON *attrs = jpath(rl, "resource.attributes");

    TT_CHECK_INT(jlen(rl, "resource.attributes"), 2);
    TT_CHECK_STR(jstr(jattr(attrs, "service.name"), "stringValue"),
                 service);
    TT_CHECK_STR(jstr(jattr(attrs, "host.cpus"), "intValue"), "8");
    TT_CHECK_STR(jstr(rl, "schemaUrl"), "https://example.com/r");
}

/* The first scope of a resource carries a version and an attribute. */
static void
check_first_scope(const cJSON *sl, const char *name)
{
    TT_CHECK_STR(jstr(sl, "scope.name"), name);
    TT_CHECK_STR(jstr(sl, "scope.version"), "1.2.3");
    TT_CHECK_STR(jstr(jattr(jpath(sl, "scope.attributes"), "scope.attr"),
                      "stringValue"), "x");
}

static const char *
time_str(uint64_t add, char *tmp, size_t len)
{
    snprintf(tmp, len, "%llu", (unsigned long long) (SAMPLE_TIME + add));
    return tmp;
}

/* Log record 0 and 1 of sample_logs(), wherever they were written. */
static void
check_log0(const cJSON *r)
{
    char tmp[32];

    TT_CHECK_STR(jstr(r, "timeUnixNano"), time_str(0, tmp, sizeof(tmp)));
    TT_CHECK_STR(jstr(r, "observedTimeUnixNano"),
                 time_str(1000, tmp, sizeof(tmp)));
    TT_CHECK(jnum(r, "severityNumber") == 9);
    TT_CHECK_STR(jstr(r, "severityText"), "INFO");
    TT_CHECK_STR(jstr(r, "body.stringValue"), "msg 0");
    TT_CHECK_INT(jlen(r, "attributes"), 10);
    TT_CHECK_STR(jstr(jattr(jpath(r, "attributes"), "n"), "intValue"), "0");
    check_every_value(jpath(r, "attributes"));
    TT_CHECK(jnum(r, "flags") == 1);
    TT_CHECK_STR(jstr(r, "traceId"), SAMPLE_TRACE_HEX);
    TT_CHECK_STR(jstr(r, "spanId"), SAMPLE_SPAN_HEX);
    TT_CHECK_STR(jstr(r, "eventName"), "user.login");
}

static void
check_log1(const cJSON *r)
{
    TT_CHECK(jpath(r, "timeUnixNano") == NULL);
    TT_CHECK(jnum(r, "severityNumber") == 17);
    TT_CHECK_STR(jstr(r, "severityText"), "ERROR");
    TT_CHECK_STR(jstr(jattr(jpath(r, "body.kvlistValue.values"), "k"),
                      "stringValue"), "v");
    TT_CHECK(jpath(r, "traceId") == NULL);
}

/* One request holding all of sample_logs(). */
static void
check_logs_doc(const cJSON *doc)
{
    const cJSON *rl = jpath(doc, "resourceLogs[0]");

    TT_CHECK_INT(jlen(doc, "resourceLogs"), 2);
    check_resource(rl, "alpha");
    TT_CHECK_INT(jlen(rl, "scopeLogs"), 2);
    check_first_scope(jpath(rl, "scopeLogs[0]"), "lib.a");
    TT_CHECK_INT(jlen(rl, "scopeLogs[0].logRecords"), 2);
    check_log0(jpath(rl, "scopeLogs[0].logRecords[0]"));
    check_log1(jpath(rl, "scopeLogs[0].logRecords[1]"));
    TT_CHECK_STR(jstr(rl, "scopeLogs[1].scope.name"), "lib.b");
    TT_CHECK(jpath(rl, "scopeLogs[1].scope.version") == NULL);
    TT_CHECK_INT(jlen(rl, "scopeLogs[1].logRecords"), 1);
    TT_CHECK_STR(jstr(rl, "scopeLogs[1].logRecords[0].body.stringValue"),
                 "msg 2");

    rl = jpath(doc, "resourceLogs[1]");
    check_resource(rl, "beta");
    TT_CHECK_INT(jlen(rl, "scopeLogs"), 1);
    check_first_scope(jpath(rl, "scopeLogs[0]"), "lib.c");
    TT_CHECK_INT(jlen(rl, "scopeLogs[0].logRecords"), 2);
    TT_CHECK_STR(jstr(rl, "scopeLogs[0].logRecords[0].body.stringValue"),
                 "msg 3");
    TT_CHECK_STR(jstr(rl, "scopeLogs[0].logRecords[1].body.stringValue"),
                 "msg 4");
}

static void
check_span0(const cJSON *s)
{
    char tmp[32];

    TT_CHECK_STR(jstr(s, "traceId"), SAMPLE_TRACE_HEX);
    TT_CHECK_STR(jstr(s, "spanId"), SAMPLE_SPAN_HEX);
    TT_CHECK(jpath(s, "parentSpanId") == NULL);
    TT_CHECK_STR(jstr(s, "name"), "GET /users");
    TT_CHECK(jnum(s, "kind") == TD_SPAN_KIND_SERVER);
    TT_CHECK_STR(jstr(s, "startTimeUnixNano"),
                 time_str(0, tmp, sizeof(tmp)));
    TT_CHECK_STR(jstr(s, "endTimeUnixNano"),
                 time_str(1500000, tmp, sizeof(tmp)));
    TT_CHECK_INT(jlen(s, "attributes"), 9);
    check_every_value(jpath(s, "attributes"));
    TT_CHECK_INT(jlen(s, "events"), 1);
    TT_CHECK_STR(jstr(s, "events[0].name"), "retry");
    TT_CHECK_STR(jstr(s, "events[0].timeUnixNano"),
                 time_str(10, tmp, sizeof(tmp)));
    TT_CHECK_STR(jstr(jattr(jpath(s, "events[0].attributes"), "attempt"),
                      "intValue"), "2");
    TT_CHECK_INT(jlen(s, "links"), 1);
    TT_CHECK_STR(jstr(s, "links[0].traceId"), SAMPLE_TRACE_HEX);
    TT_CHECK_STR(jstr(s, "links[0].spanId"), "0000000000000007");
    TT_CHECK(jnum(s, "status.code") == TD_STATUS_ERROR);
    TT_CHECK_STR(jstr(s, "status.message"), "boom");
}

static void
check_traces_doc(const cJSON *doc)
{
    const cJSON *rs = jpath(doc, "resourceSpans[0]");

    TT_CHECK_INT(jlen(doc, "resourceSpans"), 2);
    check_resource(rs, "alpha");
    TT_CHECK_INT(jlen(rs, "scopeSpans"), 1);
    check_first_scope(jpath(rs, "scopeSpans[0]"), "tracer.a");
    TT_CHECK_INT(jlen(rs, "scopeSpans[0].spans"), 2);
    check_span0(jpath(rs, "scopeSpans[0].spans[0]"));
    TT_CHECK_STR(jstr(rs, "scopeSpans[0].spans[1].name"), "db.query");
    TT_CHECK_STR(jstr(rs, "scopeSpans[0].spans[1].parentSpanId"),
                 SAMPLE_SPAN_HEX);
    TT_CHECK(jnum(rs, "scopeSpans[0].spans[1].kind") == TD_SPAN_KIND_CLIENT);
    TT_CHECK(cJSON_IsObject(jpath(rs, "scopeSpans[0].spans[1].status")));

    rs = jpath(doc, "resourceSpans[1]");
    check_resource(rs, "beta");
    check_first_scope(jpath(rs, "scopeSpans[0]"), "tracer.b");
    TT_CHECK_INT(jlen(rs, "scopeSpans[0].spans"), 1);
    TT_CHECK_STR(jstr(rs, "scopeSpans[0].spans[0].name"), "consume");
    TT_CHECK(jnum(rs, "scopeSpans[0].spans[0].kind")
             == TD_SPAN_KIND_CONSUMER);
}

static void
check_gauge(const cJSON *m)
{
    const cJSON *p = jpath(m, "gauge.dataPoints[0]");

    TT_CHECK_STR(jstr(m, "name"), "cpu.util");
    TT_CHECK_STR(jstr(m, "unit"), "1");
    TT_CHECK_INT(jlen(m, "gauge.dataPoints"), 2);
    TT_CHECK(jnum(p, "asDouble") == 0.5);
    TT_CHECK_INT(jlen(p, "attributes"), 10);
    TT_CHECK_STR(jstr(jattr(jpath(p, "attributes"), "cpu"), "intValue"),
                 "0");
    check_every_value(jpath(p, "attributes"));
    TT_CHECK(jnum(m, "gauge.dataPoints[1].asDouble") == 1.5);
}

static void
check_metrics_doc(const cJSON *doc)
{
    const cJSON *rm = jpath(doc, "resourceMetrics[0]");
    const cJSON *m;

    TT_CHECK_INT(jlen(doc, "resourceMetrics"), 2);
    check_resource(rm, "alpha");
    check_first_scope(jpath(rm, "scopeMetrics[0]"), "meter.a");
    TT_CHECK_INT(jlen(rm, "scopeMetrics[0].metrics"), 3);
    check_gauge(jpath(rm, "scopeMetrics[0].metrics[0]"));

    m = jpath(rm, "scopeMetrics[0].metrics[1]");
    TT_CHECK_STR(jstr(m, "name"), "requests");
    TT_CHECK_STR(jstr(m, "sum.dataPoints[0].asInt"), "1024");
    TT_CHECK(jnum(m, "sum.aggregationTemporality") == 2);
    TT_CHECK(cJSON_IsTrue(jpath(m, "sum.isMonotonic")));

    m = jpath(rm, "scopeMetrics[0].metrics[2]");
    TT_CHECK_STR(jstr(m, "name"), "latency");
    TT_CHECK_STR(jstr(m, "histogram.dataPoints[0].count"), "3");
    TT_CHECK(jnum(m, "histogram.dataPoints[0].sum") == 31.5);
    TT_CHECK_STR(jstr(m, "histogram.dataPoints[0].bucketCounts[1]"), "2");
    TT_CHECK(jnum(m, "histogram.dataPoints[0].explicitBounds[0]") == 10);
    TT_CHECK(jnum(m, "histogram.aggregationTemporality") == 1);

    rm = jpath(doc, "resourceMetrics[1]");
    check_resource(rm, "beta");
    check_first_scope(jpath(rm, "scopeMetrics[0]"), "meter.b");
    TT_CHECK_INT(jlen(rm, "scopeMetrics[0].metrics"), 2);
    m = jpath(rm, "scopeMetrics[0].metrics[0]");
    TT_CHECK_STR(jstr(m, "name"), "rpc.size");
    TT_CHECK_STR(jstr(m, "summary.dataPoints[0].count"), "4");
    TT_CHECK(jnum(m, "summary.dataPoints[0].sum") == 100);
    m = jpath(rm, "scopeMetrics[0].metrics[1]");
    TT_CHECK_STR(jstr(m, "name"), "payload");
    TT_CHECK(jnum(m, "exponentialHistogram.dataPoints[0].scale") == 3);
    TT_CHECK_STR(jstr(m, "exponentialHistogram.dataPoints[0].zeroCount"),
                 "2");
}

static void
check_doc(td_signal signal, const cJSON *doc)
{
    switch (signal) {
    case TD_SIGNAL_LOGS:
        check_logs_doc(doc);
        break;
    case TD_SIGNAL_TRACES:
        check_traces_doc(doc);
        break;
    default:
        check_metrics_doc(doc);
        break;
    }
}

/* ---- granularity ---- */

static const td_signal signals[] = {
    TD_SIGNAL_LOGS, TD_SIGNAL_METRICS, TD_SIGNAL_TRACES
};

/*
 * granularity batch: two exports of a signal's sample make two lines,
 * each exactly the batch's request, and each reads back with every
 * resource, scope, record and value in place.
 */
static void
check_batch_lines(td_signal signal)
{
    td_buf want = TD_BUF_INIT;
    const char *p, *end;
    size_t len;
    char *text;
    td_batch *b;
    fx f;

    fx_init(&f);
    TT_CHECK_INT(fx_start(&f), TD_OK);
    b = sample_batch(signal);
    TT_CHECK_INT(fx_export(&f, b), TD_OK);
    TT_CHECK_INT(fx_export(&f, b), TD_OK);
    encode_line(b, &want);
    encode_line(b, &want);
    td_batch_unref(b);
    fx_stop(&f);

    text = slurp(f.path, &len);
    TT_CHECK(text != NULL);
    TT_CHECK_INT(count_lines(text, len), 2);
    TT_CHECK(text != NULL && len == want.len
             && memcmp(text, want.data, len) == 0);
    p = text;
    end = text + len;
    for (int i = 0; i < 2 && p < end; i++) {
        cJSON *doc = next_line(&p, end);

        check_doc(signal, doc);
        cJSON_Delete(doc);
    }
    free(text);
    td_buf_free(&want);
    fx_done(&f);
}

static void
test_batch_logs(void)
{
    check_batch_lines(TD_SIGNAL_LOGS);
}

static void
test_batch_metrics(void)
{
    check_batch_lines(TD_SIGNAL_METRICS);
}

static void
test_batch_traces(void)
{
    check_batch_lines(TD_SIGNAL_TRACES);
}

/* Where each record of a sample batch lives, and what names it. */
typedef struct rec_where {
    const char *service;
    const char *scope;
    const char *id;     /* log attribute n, span or metric name */
} rec_where;

static const rec_where logs_where[] = {
    {"alpha", "lib.a", "0"}, {"alpha", "lib.a", "1"},
    {"alpha", "lib.b", "2"}, {"beta", "lib.c", "3"}, {"beta", "lib.c", "4"},
};
static const rec_where spans_where[] = {
    {"alpha", "tracer.a", "GET /users"}, {"alpha", "tracer.a", "db.query"},
    {"beta", "tracer.b", "consume"},
};
static const rec_where metrics_where[] = {
    {"alpha", "meter.a", "cpu.util"}, {"alpha", "meter.a", "requests"},
    {"alpha", "meter.a", "latency"}, {"beta", "meter.b", "rpc.size"},
    {"beta", "meter.b", "payload"},
};

/*
 * One line of granularity record: a whole request with one resource,
 * one scope and one record, the one expected at this position.
 */
static void
check_record_line(td_signal signal, const cJSON *doc, const rec_where *w)
{
    static const char *const keys[TD_SIGNAL_COUNT][3] = {
        [TD_SIGNAL_TRACES] = {"resourceSpans", "scopeSpans", "spans"},
        [TD_SIGNAL_METRICS] = {"resourceMetrics", "scopeMetrics",
                               "metrics"},
        [TD_SIGNAL_LOGS] = {"resourceLogs", "scopeLogs", "logRecords"},
    };
    const char *const *k = keys[signal];
    const cJSON *res, *scope, *rec;
    const char *id;

    TT_CHECK_INT(jlen(doc, k[0]), 1);
    res = cJSON_GetArrayItem(jpath(doc, k[0]), 0);
    TT_CHECK_INT(jlen(res, k[1]), 1);
    scope = cJSON_GetArrayItem(jpath(res, k[1]), 0);
    TT_CHECK_INT(jlen(scope, k[2]), 1);
    rec = cJSON_GetArrayItem(jpath(scope, k[2]), 0);

    check_resource(res, w->service);
    if (strcmp(w->scope, "lib.b") == 0) {
        TT_CHECK_STR(jstr(scope, "scope.name"), "lib.b");
    } else {
        check_first_scope(scope, w->scope);
    }
    id = signal == TD_SIGNAL_LOGS
             ? jstr(jattr(jpath(rec, "attributes"), "n"), "intValue")
             : jstr(rec, "name");
    TT_CHECK_STR(id, w->id);
}

/*
 * granularity record: a line per record, in order, each with its own
 * resource and scope, and the first record complete down to its values.
 */
static void
check_record_lines(td_signal signal)
{
    const rec_where *where = signal == TD_SIGNAL_LOGS ? logs_where
                             : signal == TD_SIGNAL_TRACES ? spans_where
                                                          : metrics_where;
    int n = signal == TD_SIGNAL_LOGS ? SAMPLE_LOGS
            : signal == TD_SIGNAL_TRACES ? SAMPLE_SPANS : SAMPLE_METRICS;
    td_buf want = TD_BUF_INIT;
    const char *p, *end;
    size_t len;
    char *text;
    td_batch *b;
    fx f;

    fx_init(&f);
    cfg_set_enum(f.desc, f.cfg, "granularity", "record");
    TT_CHECK_INT(fx_start(&f), TD_OK);
    b = sample_batch(signal);
    TT_CHECK_INT(fx_export(&f, b), TD_OK);
    TT_CHECK_INT(td_otlp_json_encode_each(b, &want), TD_OK);
    td_batch_unref(b);
    fx_stop(&f);

    text = slurp(f.path, &len);
    TT_CHECK(text != NULL);
    TT_CHECK_INT(count_lines(text, len), n);
    TT_CHECK(text != NULL && len == want.len
             && memcmp(text, want.data, len) == 0);
    p = text;
    end = text + len;
    for (int i = 0; i < n && p < end; i++) {
        cJSON *doc = next_line(&p, end);
        const char *k = signal == TD_SIGNAL_LOGS ? "resourceLogs[0]."
                                                   "scopeLogs[0]."
                                                   "logRecords[0]"
                        : signal == TD_SIGNAL_TRACES ? "resourceSpans[0]."
                                                       "scopeSpans[0]."
                                                       "spans[0]"
                                                     : "resourceMetrics[0]."
                                                       "scopeMetrics[0]."
                                                       "metrics[0]";

        check_record_line(signal, doc, &where[i]);
        if (i == 0 && signal == TD_SIGNAL_LOGS) {
            check_log0(jpath(doc, k));
        } else if (i == 1 && signal == TD_SIGNAL_LOGS) {
            check_log1(jpath(doc, k));
        } else if (i == 0 && signal == TD_SIGNAL_TRACES) {
            check_span0(jpath(doc, k));
        } else if (i == 0) {
            check_gauge(jpath(doc, k));
        }
        cJSON_Delete(doc);
    }
    free(text);
    td_buf_free(&want);
    fx_done(&f);
}

static void
test_record_granularity(void)
{
    for (size_t i = 0; i < TD_ARRAY_SIZE(signals); i++) {
        check_record_lines(signals[i]);
    }
}

/*
 * A batch without resources writes nothing; granularity record with no
 * records writes nothing either (and no empty zstd frame); granularity
 * batch writes what the producer sent, an empty resource included.
 */
static void
test_empty_batches(void)
{
    td_batch *b;
    size_t len;
    char *text;
    fx f;

    fx_init(&f);
    TT_CHECK_INT(fx_start(&f), TD_OK);
    TT_CHECK_INT(fx_export_unref(&f, td_batch_new(TD_SIGNAL_LOGS, 0)),
                 TD_OK);
    TT_CHECK_INT(file_size(f.path), 0);
    b = td_batch_new(TD_SIGNAL_LOGS, 0);
    TT_CHECK(b != NULL && td_batch_add_resource(b) != NULL);
    TT_CHECK_INT(fx_export_unref(&f, b), TD_OK);
    fx_stop(&f);
    text = slurp(f.path, &len);
    TT_CHECK_STR(text, "{\"resourceLogs\":[{\"resource\":{},"
                       "\"scopeLogs\":[]}]}\n");
    free(text);
    fx_done(&f);

    fx_init(&f);
    cfg_set_enum(f.desc, f.cfg, "granularity", "record");
    cfg_set_enum(f.desc, f.cfg, "compression", "zstd");
    TT_CHECK_INT(fx_start(&f), TD_OK);
    b = td_batch_new(TD_SIGNAL_TRACES, 0);
    TT_CHECK(b != NULL && td_batch_add_resource(b) != NULL);
    TT_CHECK_INT(fx_export_unref(&f, b), TD_OK);
    fx_stop(&f);
    TT_CHECK_INT(file_size(f.path), 0);
    fx_done(&f);
}

/* ---- appending ---- */

/*
 * What the file held is kept, and a second exporter (a restart) appends
 * after the first one's lines.
 */
static void
test_append(void)
{
    static const char old[] = "line from before\n{\"earlier\":true}\n";
    td_buf want = TD_BUF_INIT;
    td_batch *b;
    size_t len;
    char *text;
    fx f;

    fx_init(&f);
    spill(f.path, old);
    TT_CHECK_INT(td_buf_puts(&want, old), TD_OK);

    TT_CHECK_INT(fx_start(&f), TD_OK);
    b = sample_logs();
    TT_CHECK_INT(fx_export(&f, b), TD_OK);
    encode_line(b, &want);
    td_batch_unref(b);
    fx_stop(&f);

    TT_CHECK_INT(fx_start(&f), TD_OK);
    b = sample_traces();
    TT_CHECK_INT(fx_export(&f, b), TD_OK);
    encode_line(b, &want);
    td_batch_unref(b);
    fx_stop(&f);

    text = slurp(f.path, &len);
    TT_CHECK(text != NULL && len == want.len
             && memcmp(text, want.data, len) == 0);
    TT_CHECK(text != NULL && strncmp(text, old, strlen(old)) == 0);
    free(text);
    td_buf_free(&want);
    fx_done(&f);
}

/* ---- zstd ---- */

/* Runs `zstd -dc path`; its output, or NULL when zstd is not there. */
static char *
zstd_cli(const char *path, size_t *len)
{
    td_buf out = TD_BUF_INIT;
    char cmd[256], chunk[4096];
    size_t n;
    FILE *p;

    *len = 0;
    if (access("/usr/bin/zstd", X_OK) != 0
        && access("/usr/local/bin/zstd", X_OK) != 0) {
        return NULL;
    }
    snprintf(cmd, sizeof(cmd), "zstd -dc -q '%s'", path);
    p = popen(cmd, "r");
    if (p == NULL) {
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
        TT_CHECK_INT(td_buf_append(&out, chunk, n), TD_OK);
    }
    TT_CHECK_INT(pclose(p), 0);
    *len = out.len;
    return out.data != NULL ? out.data : strdup("");
}

/*
 * compression zstd: the same exports as an uncompressed exporter, one
 * frame each, decode (frame by frame, by libzstd's streaming API and by
 * the zstd tool) to exactly the uncompressed file. Then granularity
 * record: one frame per export holding a line per record.
 */
static void
test_zstd(void)
{
    td_buf unpacked = TD_BUF_INIT;
    size_t plain_len, packed_len, cli_len;
    char *plain, *packed, *cli;
    const char *frame;
    fx a, z;

    fx_init(&a);
    fx_init(&z);
    cfg_set_enum(z.desc, z.cfg, "compression", "zstd");
    TT_CHECK_INT(fx_start(&a), TD_OK);
    TT_CHECK_INT(fx_start(&z), TD_OK);
    for (size_t i = 0; i < TD_ARRAY_SIZE(signals); i++) {
        td_batch *b = sample_batch(signals[i]);

        TT_CHECK_INT(fx_export(&a, b), TD_OK);
        TT_CHECK_INT(fx_export(&z, b), TD_OK);
        td_batch_unref(b);
    }
    fx_stop(&a);
    fx_stop(&z);

    plain = slurp(a.path, &plain_len);
    packed = slurp(z.path, &packed_len);
    TT_CHECK(plain != NULL && packed != NULL);
    TT_CHECK_INT(count_lines(plain, plain_len), 3);
    TT_CHECK(packed_len > 0 && packed_len < plain_len);
    TT_CHECK_INT(zstd_frames(packed, packed_len), 3);

    /* Each frame declares its size: one line, the matching one. */
    frame = packed;
    for (const char *line = plain; packed != NULL && plain != NULL
                                   && line < plain + plain_len;) {
        const char *nl = strchr(line, '\n');
        size_t fsize = ZSTD_findFrameCompressedSize(
            frame, packed_len - (size_t) (frame - packed));

        TT_CHECK(nl != NULL && !ZSTD_isError(fsize));
        if (nl == NULL || ZSTD_isError(fsize)) {
            break;
        }
        TT_CHECK_INT(ZSTD_getFrameContentSize(frame, fsize),
                     nl + 1 - line);
        frame += fsize;
        line = nl + 1;
    }

    TT_CHECK_INT(zstd_unpack(packed, packed_len, &unpacked), 0);
    TT_CHECK(unpacked.len == plain_len
             && memcmp(unpacked.data, plain, plain_len) == 0);
    /* The zstd tool is a test peer: tools/deps.sh --test installs it. */
    cli = zstd_cli(z.path, &cli_len);
    TT_CHECK(cli != NULL);
    TT_CHECK(cli != NULL && cli_len == plain_len
             && memcmp(cli, plain, plain_len) == 0);
    free(cli);
    free(plain);
    free(packed);
    td_buf_free(&unpacked);
    fx_done(&a);
    fx_done(&z);

    fx_init(&z);
    cfg_set_enum(z.desc, z.cfg, "compression", "zstd");
    cfg_set_enum(z.desc, z.cfg, "granularity", "record");
    TT_CHECK_INT(fx_start(&z), TD_OK);
    TT_CHECK_INT(fx_export_unref(&z, sample_logs()), TD_OK);
    TT_CHECK_INT(fx_export_unref(&z, sample_metrics()), TD_OK);
    fx_stop(&z);
    packed = slurp(z.path, &packed_len);
    TT_CHECK_INT(zstd_frames(packed, packed_len), 2);
    TT_CHECK_INT(zstd_unpack(packed, packed_len, &unpacked), 0);
    TT_CHECK_INT(count_lines(unpacked.data, unpacked.len),
                 SAMPLE_LOGS + SAMPLE_METRICS);
    free(packed);
    td_buf_free(&unpacked);
    fx_done(&z);
}

/* ---- failures ---- */

/* Whether err names the path and the text of errno e. */
static void
check_err_names(const char *err, const char *path, int e)
{
    TT_CHECK(strstr(err, path) != NULL);
    TT_CHECK(strstr(err, strerror(e)) != NULL);
    if (strstr(err, path) == NULL || strstr(err, strerror(e)) == NULL) {
        fprintf(stderr, "  message: %s\n", err);
    }
}

/* Starting on path fails with a message naming it and errno e's text. */
static void
check_start_fails(fx *f, const char *path, int e)
{
    cfg_set_str(f->desc, f->cfg, "path", path);
    TT_CHECK(fx_start(f) != TD_OK);
    check_err_names(f->err, path, e);
    TT_CHECK(!exists(path) || e == EISDIR);
    fx_stop(f);
}

/*
 * Starts an exporter on path as user nobody in a child process (root
 * may write anywhere) and returns its message in err; the child's exit
 * status, 77 when it could not drop root.
 */
static int
start_as_nobody(fx *f, const char *path, char *err, size_t errlen)
{
    int fds[2], status = 0;
    ssize_t n;
    pid_t pid;

    if (pipe(fds) != 0) {
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        int rc = 77;

        close(fds[0]);
        if (setgid(65534) == 0 && setuid(65534) == 0) {
            cfg_set_str(f->desc, f->cfg, "path", path);
            rc = fx_start(f) != TD_OK ? 0 : 1;
            if (write(fds[1], f->err, strlen(f->err)) < 0) {
                rc = 2;
            }
        }
        _exit(rc);
    }
    close(fds[1]);
    n = pid > 0 ? read(fds[0], err, errlen - 1) : -1;
    err[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        return -1;
    }
    return WEXITSTATUS(status);
}

/*
 * A path that cannot be opened makes start fail with a message naming
 * the path and the reason: a missing directory, a file where a directory
 * should be, a directory as the path, a directory not writable. No path
 * at all fails at create.
 */
static void
test_open_failures(void)
{
    char path[256], err[512];
    fx f;

    fx_init(&f);
    snprintf(path, sizeof(path), "%s/no/such/dir/out.jsonl", f.dir);
    check_start_fails(&f, path, ENOENT);

    snprintf(path, sizeof(path), "%s/plain", f.dir);
    spill(path, "x\n");
    snprintf(path, sizeof(path), "%s/plain/out.jsonl", f.dir);
    check_start_fails(&f, path, ENOTDIR);

    snprintf(path, sizeof(path), "%s/adir", f.dir);
    TT_CHECK_INT(mkdir(path, 0755), 0);
    check_start_fails(&f, path, EISDIR);

    snprintf(path, sizeof(path), "%s/ro", f.dir);
    TT_CHECK_INT(mkdir(path, 0555), 0);
    TT_CHECK_INT(chmod(f.dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/ro/out.jsonl", f.dir);
    if (geteuid() != 0) {
        check_start_fails(&f, path, EACCES);
    } else {
        int rc = start_as_nobody(&f, path, err, sizeof(err));

        TT_CHECK(rc == 0 || rc == 77);
        if (rc == 0) {
            check_err_names(err, path, EACCES);
            TT_CHECK(!exists(path));
        } else {
            fprintf(stderr, "note: cannot drop root; read-only directory "
                            "not checked\n");
        }
    }

    cfg_set_str(f.desc, f.cfg, "path", NULL);
    TT_CHECK_INT(fx_start(&f), TD_EINVAL);
    TT_CHECK(f.self == NULL);
    TT_CHECK(strstr(f.err, "path") != NULL);
    fx_done(&f);
}

/*
 * A failed write is retryable and says what failed where and why; a
 * write cut short (here by RLIMIT_FSIZE) leaves no partial line behind,
 * and the retry writes the line whole.
 */
static void
test_write_failures(void)
{
    td_buf want = TD_BUF_INIT;
    struct rlimit old, lim;
    td_batch *b;
    size_t len;
    char *text;
    fx f;

    fx_init(&f);
    if (access("/dev/full", W_OK) == 0) {
        cfg_set_str(f.desc, f.cfg, "path", "/dev/full");
        TT_CHECK_INT(fx_start(&f), TD_OK);
        TT_CHECK_INT(fx_export_unref(&f, sample_logs()), TD_AGAIN);
        check_err_names(f.err, "/dev/full", ENOSPC);
        fx_stop(&f);
        cfg_set_str(f.desc, f.cfg, "path", f.path);
    }

    spill(f.path, "kept\n");
    TT_CHECK_INT(td_buf_puts(&want, "kept\n"), TD_OK);
    b = sample_traces();
    encode_line(b, &want);
    TT_CHECK_INT(fx_start(&f), TD_OK);
    TT_CHECK_INT(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 5 + 100;
    signal(SIGXFSZ, SIG_IGN);
    TT_CHECK_INT(setrlimit(RLIMIT_FSIZE, &lim), 0);
    TT_CHECK_INT(fx_export(&f, b), TD_AGAIN);
    TT_CHECK_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    check_err_names(f.err, f.path, EFBIG);
    TT_CHECK_INT(file_size(f.path), 5);

    TT_CHECK_INT(fx_export(&f, b), TD_OK);
    fx_stop(&f);
    text = slurp(f.path, &len);
    TT_CHECK(text != NULL && len == want.len
             && memcmp(text, want.data, len) == 0);
    free(text);
    td_batch_unref(b);
    td_buf_free(&want);
    fx_done(&f);
}

/* ---- flush_interval ---- */

/*
 * flush_interval 0 starts no flush thread (every export fsyncs before it
 * returns) and every line is in the file when export returns. Otherwise
 * one flush thread runs, and shutdown wakes it instead of waiting out
 * the interval.
 */
static void *
idle_thread(void *arg)
{
    return arg;
}

static void
test_flush_interval(void)
{
    pthread_t th;
    int before;
    long long size = 0;
    int64_t t0;
    fx f;

    /*
     * ThreadSanitizer starts a helper thread with the first thread the
     * program makes; one that comes and goes first keeps it out of the
     * counts below.
     */
    TT_CHECK_INT(pthread_create(&th, NULL, idle_thread, NULL), 0);
    pthread_join(th, NULL);
    before = thread_count();

    fx_init(&f);
    cfg_set_int(f.desc, f.cfg, "flush_interval", 0);
    TT_CHECK_INT(fx_start(&f), TD_OK);
    TT_CHECK_INT(thread_count(), before);
    for (int i = 0; i < 3; i++) {
        td_batch *b = sample_metrics();
        td_buf line = TD_BUF_INIT;

        encode_line(b, &line);
        size += (long long) line.len;
        td_buf_free(&line);
        TT_CHECK_INT(fx_export_unref(&f, b), TD_OK);
        TT_CHECK_INT(file_size(f.path), size);
    }
    fx_stop(&f);
    TT_CHECK_INT(file_size(f.path), size);
    fx_done(&f);

    fx_init(&f);
    cfg_set_int(f.desc, f.cfg, "flush_interval", 3600000);
    TT_CHECK_INT(fx_start(&f), TD_OK);
    TT_CHECK_INT(thread_count(), before + 1);
    TT_CHECK_INT(fx_export_unref(&f, sample_logs()), TD_OK);
    TT_CHECK(file_size(f.path) > 0);
    t0 = td_mono_ms();
    fx_stop(&f);
    TT_CHECK(td_mono_ms() - t0 < 1000);
    TT_CHECK_INT(thread_count(), before);
    fx_done(&f);
}

static const tt_case cases[] = {
    {"batch_logs", test_batch_logs},
    {"batch_metrics", test_batch_metrics},
    {"batch_traces", test_batch_traces},
    {"record_granularity", test_record_granularity},
    {"empty_batches", test_empty_batches},
    {"append", test_append},
    {"zstd", test_zstd},
    {"open_failures", test_open_failures},
    {"write_failures", test_write_failures},
    {"flush_interval", test_flush_interval},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
