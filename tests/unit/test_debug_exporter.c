/*
 * test_debug_exporter.c - the debug exporter driven through its
 * descriptor, with stderr captured: basic (one log line per batch with
 * its counts), normal (one exact line per record of every signal, text
 * that cannot break a line), detailed (every record as one line of
 * OTLP/JSON, read back with cJSON), exports from several threads at
 * once, and a failed write.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "component.h"
#include "log.h"
#include "otlp_json.h"
#include "registry.h"
#include "samples.h"
#include "telemetry.h"
#include "tt.h"

/* ---- an exporter ---- */

typedef struct dx {
    const td_component_desc *desc;
    void *cfg;
    void *self;
    char err[256];
} dx;

/* A debug exporter of a verbosity, created and started. */
static void
dx_start(dx *d, const char *verbosity)
{
    td_component_ctx ctx = {.id = "debug/test", .kind = TD_KIND_EXPORTER};
    const td_cfg_key *k;
    int i = 0;

    memset(d, 0, sizeof(*d));
    d->desc = td_registry_find(TD_KIND_EXPORTER, "debug", 5);
    TT_CHECK(d->desc != NULL);
    if (d->desc == NULL) {
        return;
    }
    d->cfg = calloc(1, d->desc->cfg_size);
    TT_CHECK(d->cfg != NULL);
    TT_CHECK_INT(td_cfg_defaults(d->desc->keys, d->cfg, d->err,
                                 sizeof(d->err)), TD_OK);

    /* verbosity is an enum: its value is the index of the choice. */
    k = d->desc->keys;
    TT_CHECK(k->name != NULL && strcmp(k->name, "verbosity") == 0
             && k->type == TD_CFG_ENUM);
    while (k->choices[i] != NULL && strcmp(k->choices[i], verbosity) != 0) {
        i++;
    }
    TT_CHECK(k->choices[i] != NULL);
    *(int *) ((char *) d->cfg + k->offset) = i;

    TT_CHECK_INT(d->desc->create(&ctx, d->cfg, &d->self, d->err,
                                 sizeof(d->err)), TD_OK);
    TT_CHECK_INT(d->desc->start(d->self, d->err, sizeof(d->err)), TD_OK);
}

static int
dx_export(dx *d, td_batch *b)
{
    TT_CHECK(b != NULL && d->self != NULL);
    if (b == NULL || d->self == NULL) {
        return TD_ERR;
    }
    d->err[0] = '\0';
    return d->desc->export(d->self, b, td_mono_ms() + 5000, d->err,
                           sizeof(d->err));
}

static void
dx_stop(dx *d)
{
    if (d->self != NULL) {
        d->desc->shutdown(d->self, td_mono_ms() + 5000);
        d->desc->destroy(d->self);
        d->self = NULL;
    }
    if (d->cfg != NULL) {
        td_cfg_free_values(d->desc->keys, d->cfg);
        free(d->cfg);
        d->cfg = NULL;
    }
}

/* ---- stderr capture ---- */

/* Exports b at a verbosity and returns what went to stderr. */
static char *
export_captured(const char *verbosity, td_batch *b)
{
    tt_capture c;
    dx d;

    dx_start(&d, verbosity);
    tt_capture_begin(&c);
    TT_CHECK_INT(dx_export(&d, b), TD_OK);
    dx_stop(&d);
    return tt_capture_end(&c);
}

static int
count_lines(const char *text)
{
    int n = 0;

    for (const char *p = text; p != NULL && *p != '\0'; p++) {
        n += *p == '\n';
    }
    return n;
}

/* Line i (from 0) of text, without its newline, malloc'd; NULL if none. */
static char *
line_at(const char *text, int i)
{
    const char *p = text, *nl;

    while (p != NULL && (nl = strchr(p, '\n')) != NULL) {
        if (i-- == 0) {
            return strndup(p, (size_t) (nl - p));
        }
        p = nl + 1;
    }
    return NULL;
}

/* Checks line i of text against want exactly. */
static void
check_line(const char *text, int i, const char *want)
{
    char *line = line_at(text, i);

    TT_CHECK_STR(line, want);
    free(line);
}

/* ---- basic ---- */

/* The message of the single log line in text; malloc'd. */
static char *
basic_msg(const char *text)
{
    cJSON *doc;
    char *msg = NULL;
    const cJSON *v;

    TT_CHECK_INT(count_lines(text), 1);
    doc = cJSON_Parse(text != NULL ? text : "");
    TT_CHECK(doc != NULL);
    v = cJSON_GetObjectItemCaseSensitive(doc, "level");
    TT_CHECK(cJSON_IsString(v) && strcmp(v->valuestring, "info") == 0);
    v = cJSON_GetObjectItemCaseSensitive(doc, "component");
    TT_CHECK(cJSON_IsString(v) && strcmp(v->valuestring, "debug/test") == 0);
    v = cJSON_GetObjectItemCaseSensitive(doc, "msg");
    TT_CHECK(cJSON_IsString(v));
    if (cJSON_IsString(v)) {
        msg = strdup(v->valuestring);
    }
    cJSON_Delete(doc);
    return msg;
}

/*
 * verbosity basic: one of tandem's own log lines per batch, level info,
 * with the counts of resources, scopes and items (and metrics).
 */
static void
test_basic(void)
{
    static const char *const want[TD_SIGNAL_COUNT] = {
        [TD_SIGNAL_LOGS] = "logs: 2 resources, 3 scopes, 5 log_records",
        [TD_SIGNAL_METRICS] = "metrics: 2 resources, 2 scopes, 5 metrics, "
                              "6 metric_points",
        [TD_SIGNAL_TRACES] = "traces: 2 resources, 2 scopes, 3 spans",
    };
    int level = td_log_level_cur;

    td_log_set_level(TD_LOG_INFO);
    for (int s = 0; s < TD_SIGNAL_COUNT; s++) {
        td_batch *b = sample_batch((td_signal) s);
        char *text = export_captured("basic", b);
        char *msg = basic_msg(text);

        TT_CHECK_STR(msg, want[s]);
        free(msg);
        free(text);
        td_batch_unref(b);
    }

    /* An empty batch is still one line. */
    {
        td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
        char *text = export_captured("basic", b);
        char *msg = basic_msg(text);

        TT_CHECK_STR(msg, "logs: 0 resources, 0 scopes, 0 log_records");
        free(msg);
        free(text);
        td_batch_unref(b);
    }
    td_log_set_level((td_log_level) level);
}

/*
 * basic goes through tandem's own log at level info: with
 * service.telemetry.logs.level warn it shows nothing, as the
 * OpenTelemetry Collector's debug exporter does (docs/EXPORTERS.md).
 */
static void
test_basic_follows_log_level(void)
{
    int level = td_log_level_cur;
    td_batch *b = sample_logs();
    char *text;

    td_log_set_level(TD_LOG_WARN);
    text = export_captured("basic", b);
    TT_CHECK_STR(text, "");
    free(text);
    td_log_set_level((td_log_level) level);
    td_batch_unref(b);
}

/* ---- normal ---- */

#define T0 "2023-11-14T22:13:20.123456789Z"

/* verbosity normal, logs: one line per record, in order. */
static void
test_normal_logs(void)
{
    td_batch *b = sample_logs();
    char *text = export_captured("normal", b);

    TT_CHECK_INT(count_lines(text), SAMPLE_LOGS);
    check_line(text, 0, "log " T0 " INFO(9) \"msg 0\" attributes=10"
                        " trace_id=" SAMPLE_TRACE_HEX
                        " span_id=" SAMPLE_SPAN_HEX);
    check_line(text, 1, "log - ERROR(17) {\"kvlistValue\":{\"values\":"
                        "[{\"key\":\"k\",\"value\":{\"stringValue\":\"v\"}}]}}"
                        " attributes=1");
    check_line(text, 2, "log 2023-11-14T22:13:20.123456791Z INFO(9)"
                        " \"msg 2\" attributes=1");
    check_line(text, 4, "log 2023-11-14T22:13:20.123456793Z INFO(9)"
                        " \"msg 4\" attributes=1");
    free(text);
    td_batch_unref(b);
}

/*
 * Text with newlines and control characters stays on its record's line:
 * the body is quoted and escaped as JSON, the severity text escaped as
 * \xNN (a regression: it used to be written raw).
 */
static void
test_normal_one_line_per_record(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_scope_group *sg = sample_resource(b, "alpha", "lib.a");
    td_log_record *r = sample_log(b, sg, 0);
    char *text;

    TT_CHECK(r != NULL);
    if (r != NULL) {
        r->time_unix_nano = 0;
        r->observed_time_unix_nano = SAMPLE_TIME;
        r->severity_text = td_batch_str(b, "WA\nRN\x7f", 6);
        r->body.u.s = td_batch_str(b, SAMPLE_TEXT, strlen(SAMPLE_TEXT));
    }
    text = export_captured("normal", b);
    TT_CHECK_INT(count_lines(text), 1);
    check_line(text, 0, "log " T0 " WA\\x0aRN\\x7f(9) "
                        "\"tab\\there \\\"q\\\" back\\\\slash\\nnl "
                        "\\u0001 caf\xc3\xa9\" attributes=1");
    free(text);
    td_batch_unref(b);
}

static void
test_normal_traces(void)
{
    td_batch *b = sample_traces();
    char *text = export_captured("normal", b);

    TT_CHECK_INT(count_lines(text), SAMPLE_SPANS);
    check_line(text, 0, "span \"GET /users\" trace_id=" SAMPLE_TRACE_HEX
                        " span_id=" SAMPLE_SPAN_HEX " kind=2 start=" T0
                        " duration=1.500000ms status=2 \"boom\"");
    check_line(text, 1, "span \"db.query\" trace_id=" SAMPLE_TRACE_HEX
                        " span_id=0200000000000000 parent_id="
                        SAMPLE_SPAN_HEX " kind=3 start=- "
                        "duration=0.000000ms status=0");
    check_line(text, 2, "span \"consume\" trace_id="
                        "03000000000000000000000000000000"
                        " span_id=0300000000000000 kind=5 start=- "
                        "duration=0.000000ms status=0");
    free(text);
    td_batch_unref(b);
}

static void
test_normal_metrics(void)
{
    td_batch *b = sample_metrics();
    char *text = export_captured("normal", b);

    TT_CHECK_INT(count_lines(text), SAMPLE_METRICS);
    check_line(text, 0, "metric \"cpu.util\" type=gauge points=2 unit=\"1\"");
    check_line(text, 1, "metric \"requests\" type=sum points=1");
    check_line(text, 2, "metric \"latency\" type=histogram points=1");
    check_line(text, 3, "metric \"rpc.size\" type=summary points=1");
    check_line(text, 4, "metric \"payload\" type=exponential_histogram "
                        "points=1");
    free(text);
    td_batch_unref(b);
}

/* ---- detailed ---- */

static const cJSON *
get(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static const char *
str_of(const cJSON *obj, const char *key)
{
    const cJSON *v = get(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The value of attribute key in an OTLP/JSON attribute list. */
static const cJSON *
attr_of(const cJSON *attrs, const char *key)
{
    const cJSON *kv;

    cJSON_ArrayForEach(kv, attrs) {
        const char *k = str_of(kv, "key");

        if (k != NULL && strcmp(k, key) == 0) {
            return get(kv, "value");
        }
    }
    return NULL;
}

/* The only element of the array obj[key]; NULL unless there is one. */
static const cJSON *
only(const cJSON *obj, const char *key)
{
    const cJSON *arr = get(obj, key);

    TT_CHECK(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == 1);
    return cJSON_GetArrayItem(arr, 0);
}

/*
 * verbosity detailed: one OTLP/JSON request per record, each with its
 * resource and scope, exactly as td_otlp_json_encode_each() writes them;
 * the first record read back down to its body and attributes.
 */
static void
check_detailed(td_signal signal, int records)
{
    static const char *const keys[TD_SIGNAL_COUNT][3] = {
        [TD_SIGNAL_TRACES] = {"resourceSpans", "scopeSpans", "spans"},
        [TD_SIGNAL_METRICS] = {"resourceMetrics", "scopeMetrics",
                               "metrics"},
        [TD_SIGNAL_LOGS] = {"resourceLogs", "scopeLogs", "logRecords"},
    };
    td_buf want = TD_BUF_INIT;
    td_batch *b = sample_batch(signal);
    const cJSON *res, *scope, *rec, *attrs;
    char *text = export_captured("detailed", b);
    char *line = line_at(text, 0);
    cJSON *doc;

    TT_CHECK_INT(count_lines(text), records);
    TT_CHECK_INT(td_otlp_json_encode_each(b, &want), TD_OK);
    TT_CHECK_STR(text, want.data);

    doc = cJSON_Parse(line != NULL ? line : "");
    TT_CHECK(doc != NULL);
    res = only(doc, keys[signal][0]);
    scope = only(res, keys[signal][1]);
    rec = only(scope, keys[signal][2]);
    attrs = get(get(res, "resource"), "attributes");
    TT_CHECK_STR(str_of(attr_of(attrs, "service.name"), "stringValue"),
                 "alpha");
    TT_CHECK_STR(str_of(get(scope, "scope"), "version"), "1.2.3");

    attrs = get(rec, "attributes");
    if (signal == TD_SIGNAL_LOGS) {
        TT_CHECK_STR(str_of(get(rec, "body"), "stringValue"), "msg 0");
        TT_CHECK_STR(str_of(rec, "traceId"), SAMPLE_TRACE_HEX);
    } else if (signal == TD_SIGNAL_TRACES) {
        TT_CHECK_STR(str_of(rec, "name"), "GET /users");
    } else {
        TT_CHECK_STR(str_of(rec, "name"), "cpu.util");
        attrs = get(cJSON_GetArrayItem(get(get(rec, "gauge"), "dataPoints"),
                                       0), "attributes");
    }
    TT_CHECK_STR(str_of(attr_of(attrs, "s"), "stringValue"), SAMPLE_TEXT);
    TT_CHECK_STR(str_of(attr_of(attrs, "i"), "intValue"), "-42");
    TT_CHECK_STR(str_of(attr_of(attrs, "bytes"), "bytesValue"), "AAH/");

    /* Every other line is a whole request too. */
    for (int i = 1; i < records; i++) {
        char *l = line_at(text, i);
        cJSON *other = cJSON_Parse(l != NULL ? l : "");

        TT_CHECK(other != NULL);
        TT_CHECK(only(only(only(other, keys[signal][0]), keys[signal][1]),
                      keys[signal][2]) != NULL);
        cJSON_Delete(other);
        free(l);
    }
    cJSON_Delete(doc);
    free(line);
    free(text);
    td_buf_free(&want);
    td_batch_unref(b);
}

static void
test_detailed(void)
{
    check_detailed(TD_SIGNAL_LOGS, SAMPLE_LOGS);
    check_detailed(TD_SIGNAL_METRICS, SAMPLE_METRICS);
    check_detailed(TD_SIGNAL_TRACES, SAMPLE_SPANS);
}

/* An empty batch shows nothing at normal and detailed. */
static void
test_empty_batch(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_TRACES, 0);
    char *text;

    text = export_captured("normal", b);
    TT_CHECK_STR(text, "");
    free(text);
    text = export_captured("detailed", b);
    TT_CHECK_STR(text, "");
    free(text);
    td_batch_unref(b);
}

/* ---- threads and failures ---- */

#define CONC_THREADS 4
#define CONC_EXPORTS 50

typedef struct conc_arg {
    dx *d;
    td_batch *b;
    int failed;
} conc_arg;

static void *
conc_run(void *p)
{
    conc_arg *a = p;
    char err[256];

    for (int i = 0; i < CONC_EXPORTS; i++) {
        if (a->d->desc->export(a->d->self, a->b, td_mono_ms() + 5000, err,
                               sizeof(err)) != TD_OK) {
            a->failed++;
        }
    }
    return NULL;
}

/*
 * Consumer threads export at the same time: a batch's lines stay
 * together and no line is mixed with another (every line is one of the
 * five the sample makes, and they come in the sample's order).
 */
static void
test_concurrent_exports(void)
{
    td_batch *b = sample_logs();
    pthread_t th[CONC_THREADS];
    conc_arg args[CONC_THREADS];
    char *one, *text, *p;
    size_t one_len;
    int blocks = 0;
    tt_capture c;
    dx d;

    one = export_captured("normal", b);
    one_len = one != NULL ? strlen(one) : 0;
    TT_CHECK(one_len > 0);

    dx_start(&d, "normal");
    tt_capture_begin(&c);
    for (int t = 0; t < CONC_THREADS; t++) {
        args[t] = (conc_arg){&d, b, 0};
        TT_CHECK_INT(pthread_create(&th[t], NULL, conc_run, &args[t]), 0);
    }
    for (int t = 0; t < CONC_THREADS; t++) {
        pthread_join(th[t], NULL);
    }
    dx_stop(&d);
    text = tt_capture_end(&c);
    for (int t = 0; t < CONC_THREADS; t++) {
        TT_CHECK_INT(args[t].failed, 0);
    }

    /* The output is the one batch's text, whole, again and again. */
    for (p = text; p != NULL && one_len > 0 && *p != '\0'; p += one_len) {
        if (strncmp(p, one, one_len) != 0) {
            break;
        }
        blocks++;
    }
    TT_CHECK_INT(blocks, CONC_THREADS * CONC_EXPORTS);
    TT_CHECK(p != NULL && *p == '\0');
    free(text);
    free(one);
    td_batch_unref(b);
}

/* A write that fails is retryable and the message says why. */
static void
test_write_failure(void)
{
    td_batch *b = sample_logs();
    int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
    int saved = dup(STDERR_FILENO);
    int rc;
    dx d;

    TT_CHECK(full >= 0 && saved >= 0);
    if (full < 0 || saved < 0) {
        td_batch_unref(b);
        return;
    }
    dx_start(&d, "detailed");
    fflush(stderr);
    dup2(full, STDERR_FILENO);
    rc = dx_export(&d, b);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(full);
    TT_CHECK_INT(rc, TD_AGAIN);
    TT_CHECK_STR(d.err, "debug: write to stderr: No space left on device");
    dx_stop(&d);
    td_batch_unref(b);
}

static const tt_case cases[] = {
    {"basic", test_basic},
    {"basic_follows_log_level", test_basic_follows_log_level},
    {"normal_logs", test_normal_logs},
    {"normal_one_line_per_record", test_normal_one_line_per_record},
    {"normal_traces", test_normal_traces},
    {"normal_metrics", test_normal_metrics},
    {"detailed", test_detailed},
    {"empty_batch", test_empty_batch},
    {"concurrent_exports", test_concurrent_exports},
    {"write_failure", test_write_failure},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
