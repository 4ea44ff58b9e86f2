/*
 * test_otlp_json.c - the OTLP/JSON encoder against exact expected text,
 * checked for validity with cJSON.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "buf.h"
#include "otlp_json.h"
#include "telemetry.h"
#include "tt.h"

static const uint8_t tid[16] = {
    0x49, 0xb3, 0x5e, 0x01, 0x2e, 0xc9, 0x4e, 0x4e,
    0xcb, 0x64, 0xd5, 0x58, 0x53, 0x28, 0x5b, 0x6d
};
static const uint8_t sid[8] = {
    0x09, 0x2d, 0x4f, 0x31, 0x40, 0x1d, 0xb6, 0xa8
};

#define TID "\"49b35e012ec94e4ecb64d55853285b6d\""
#define SID "\"092d4f31401db6a8\""

/* Encodes b, checks the text is JSON, and returns it (malloc'd). */
static char *
encode(const td_batch *b)
{
    td_buf out = TD_BUF_INIT;
    cJSON *doc;

    TT_CHECK_INT(td_otlp_json_encode(b, &out), 0);
    doc = cJSON_Parse(out.data);
    TT_CHECK(doc != NULL);
    cJSON_Delete(doc);
    return out.data;
}

static char *
value_json(const td_value *v)
{
    td_buf out = TD_BUF_INIT;

    TT_CHECK_INT(td_otlp_json_value(v, &out), 0);
    return out.data;
}

static void
check_value(const td_value *v, const char *want)
{
    char *got = value_json(v);

    TT_CHECK_STR(got, want);
    free(got);
}

static td_scope_group *
one_scope(td_batch *b)
{
    td_resource_group *rg = td_batch_add_resource(b);
    td_scope_group *sg = td_batch_add_scope(b, rg);

    td_attrs_put_str(b, &rg->resource.attrs, "service.name", "svc", 3);
    sg->scope.name = td_batch_str(b, "lib", 3);
    sg->scope.version = td_batch_str(b, "1.2", 3);
    return sg;
}

static void
test_logs_exact(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_scope_group *sg = one_scope(b);
    td_log_record *r = td_batch_add_log(b, sg);
    const char *body = "say \"hi\"\n\x01 caf\xc3\xa9";
    char *got;

    r->time_unix_nano = 1796320364624000000ull;
    r->observed_time_unix_nano = 1796320364625000001ull;
    r->severity_number = 17;
    r->severity_text = td_batch_str(b, "ERROR", 5);
    r->body.type = TD_VAL_STR;
    r->body.u.s = td_batch_str(b, body, strlen(body));
    td_attrs_put_int(b, &r->attrs, "user.id", 42);
    r->dropped_attributes_count = 2;
    r->flags = 1;
    memcpy(r->trace_id, tid, 16);
    memcpy(r->span_id, sid, 8);
    r->event_name = td_batch_str(b, "lab.event", 9);
    b->resources->resource.schema_url = td_batch_str(b, "u1", 2);
    sg->scope.schema_url = td_batch_str(b, "u2", 2);
    sg->scope.dropped_attributes_count = 3;

    got = encode(b);
    TT_CHECK_STR(got,
        "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":"
        "\"service.name\",\"value\":{\"stringValue\":\"svc\"}}]},"
        "\"scopeLogs\":[{\"scope\":{\"name\":\"lib\",\"version\":\"1.2\","
        "\"droppedAttributesCount\":3},\"logRecords\":[{"
        "\"timeUnixNano\":\"1796320364624000000\","
        "\"observedTimeUnixNano\":\"1796320364625000001\","
        "\"severityNumber\":17,\"severityText\":\"ERROR\","
        "\"body\":{\"stringValue\":\"say \\\"hi\\\"\\n\\u0001 caf\xc3\xa9\"},"
        "\"attributes\":[{\"key\":\"user.id\",\"value\":{\"intValue\":"
        "\"42\"}}],\"droppedAttributesCount\":2,\"flags\":1,"
        "\"traceId\":" TID ",\"spanId\":" SID ","
        "\"eventName\":\"lab.event\"}],\"schemaUrl\":\"u2\"}],"
        "\"schemaUrl\":\"u1\"}]}");
    free(got);
    td_batch_unref(b);
}

/* Defaults are left out; body and status stay. */
static void
test_defaults_omitted(void)
{
    td_batch *logs = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_batch *traces = td_batch_new(TD_SIGNAL_TRACES, 0);
    td_batch *metrics = td_batch_new(TD_SIGNAL_METRICS, 0);
    td_resource_group *rg;
    char *got;

    got = encode(logs);
    TT_CHECK_STR(got, "{\"resourceLogs\":[]}");
    free(got);

    rg = td_batch_add_resource(logs);
    td_batch_add_scope(logs, rg);
    got = encode(logs);
    TT_CHECK_STR(got, "{\"resourceLogs\":[{\"resource\":{},"
                      "\"scopeLogs\":[{\"scope\":{},\"logRecords\":[]}]}]}");
    free(got);
    td_batch_add_log(logs, rg->scopes);
    td_batch_add_log(logs, rg->scopes);
    got = encode(logs);
    TT_CHECK_STR(got, "{\"resourceLogs\":[{\"resource\":{},"
                      "\"scopeLogs\":[{\"scope\":{},\"logRecords\":["
                      "{\"body\":{}},{\"body\":{}}]}]}]}");
    free(got);

    rg = td_batch_add_resource(traces);
    td_batch_add_span(traces, td_batch_add_scope(traces, rg));
    got = encode(traces);
    TT_CHECK_STR(got, "{\"resourceSpans\":[{\"resource\":{},"
                      "\"scopeSpans\":[{\"scope\":{},\"spans\":["
                      "{\"status\":{}}]}]}]}");
    free(got);

    /* A metric with no data, and a gauge whose point is all zero. */
    rg = td_batch_add_resource(metrics);
    td_batch_add_metric(metrics, td_batch_add_scope(metrics, rg),
                        TD_METRIC_EMPTY);
    td_metric_add_number_point(metrics,
                               td_batch_add_metric(metrics, rg->scopes,
                                                   TD_METRIC_GAUGE));
    got = encode(metrics);
    TT_CHECK_STR(got, "{\"resourceMetrics\":[{\"resource\":{},"
                      "\"scopeMetrics\":[{\"scope\":{},\"metrics\":["
                      "{},{\"gauge\":{\"dataPoints\":[{\"asDouble\":0}]}}"
                      "]}]}]}");
    free(got);

    td_batch_unref(logs);
    td_batch_unref(traces);
    td_batch_unref(metrics);
}

static void
test_values(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_value v = {0}, *e;

    check_value(&v, "{}");
    v.type = TD_VAL_STR;
    v.u.s = TD_STR_LIT("a\\b\t");
    check_value(&v, "{\"stringValue\":\"a\\\\b\\t\"}");
    v.u.s = TD_STR_NULL;
    check_value(&v, "{\"stringValue\":\"\"}");
    v.type = TD_VAL_BOOL;
    v.u.b = false;
    check_value(&v, "{\"boolValue\":false}");
    v.u.b = true;
    check_value(&v, "{\"boolValue\":true}");
    v.type = TD_VAL_INT;
    v.u.i = INT64_MIN;
    check_value(&v, "{\"intValue\":\"-9223372036854775808\"}");
    v.u.i = INT64_MAX;
    check_value(&v, "{\"intValue\":\"9223372036854775807\"}");

    v.type = TD_VAL_BYTES;
    v.u.s = TD_STR_NULL;
    check_value(&v, "{\"bytesValue\":\"\"}");
    v.u.s = (td_str){"\x00", 1};
    check_value(&v, "{\"bytesValue\":\"AA==\"}");
    v.u.s = (td_str){"\x00\x01", 2};
    check_value(&v, "{\"bytesValue\":\"AAE=\"}");
    v.u.s = (td_str){"\xfb\xff\xbf", 3};
    check_value(&v, "{\"bytesValue\":\"+/+/\"}");

    memset(&v, 0, sizeof(v));
    v.type = TD_VAL_ARRAY;
    check_value(&v, "{\"arrayValue\":{\"values\":[]}}");
    e = td_value_array_add(b, &v);
    e->type = TD_VAL_BOOL;
    e = td_value_array_add(b, &v);
    e->type = TD_VAL_MAP;
    td_attrs_put_str(b, &e->u.map, "k", "v", 1);
    td_value_array_add(b, e);   /* refused: a map is not an array */
    check_value(&v, "{\"arrayValue\":{\"values\":[{\"boolValue\":false},"
                    "{\"kvlistValue\":{\"values\":[{\"key\":\"k\","
                    "\"value\":{\"stringValue\":\"v\"}}]}}]}}");

    memset(&v, 0, sizeof(v));
    v.type = TD_VAL_MAP;
    check_value(&v, "{\"kvlistValue\":{\"values\":[]}}");
    e = td_attrs_add(b, &v.u.map, "", 0);
    check_value(&v, "{\"kvlistValue\":{\"values\":[{\"key\":\"\","
                    "\"value\":{}}]}}");
    td_batch_unref(b);
}

static void
check_double(double d, const char *want)
{
    td_value v = {.type = TD_VAL_DOUBLE, .u.d = d};
    char expect[96];

    snprintf(expect, sizeof(expect), "{\"doubleValue\":%s}", want);
    check_value(&v, expect);
}

static void
test_doubles(void)
{
    check_double(0.1, "0.1");
    check_double(3.0, "3");
    check_double(-2.5, "-2.5");
    check_double(1e300, "1e+300");
    check_double(5e-324, "4.94065645841247e-324");
    check_double(1.0 / 3.0, "0.3333333333333333");
    check_double(0.0, "0");
    check_double(-0.0, "-0");
    check_double(NAN, "\"NaN\"");
    check_double(INFINITY, "\"Infinity\"");
    check_double(-INFINITY, "\"-Infinity\"");

    /* Whatever is printed reads back to the same double. */
    srand(7);
    for (int i = 0; i < 2000; i++) {
        double d = ((double) rand() / RAND_MAX - 0.5)
                   * pow(10.0, (double) (rand() % 60 - 30));
        td_value v = {.type = TD_VAL_DOUBLE, .u.d = d};
        char *got = value_json(&v);
        cJSON *doc = cJSON_Parse(got);
        const char *num = strchr(got, ':') + 1;

        TT_CHECK(doc != NULL);
        TT_CHECK(strtod(num, NULL) == d);
        cJSON_Delete(doc);
        free(got);
    }
}

/* A value larger than one base64 chunk is still one base64 string. */
static void
test_big_bytes(void)
{
    size_t n = (3u << 20) + 5;
    unsigned char *raw = malloc(n), *want = malloc(4 * (n / 3 + 1) + 1);
    td_value v = {.type = TD_VAL_BYTES};
    char *got;
    int wlen;

    for (size_t i = 0; i < n; i++) {
        raw[i] = (unsigned char) (i * 31 + 7);
    }
    wlen = EVP_EncodeBlock(want, raw, (int) n);
    v.u.s = (td_str){(const char *) raw, n};
    got = value_json(&v);
    TT_CHECK_INT(strlen(got), 15 + (size_t) wlen + 2);
    TT_CHECK(strncmp(got + 15, (const char *) want, (size_t) wlen) == 0);
    free(got);
    free(raw);
    free(want);
}

static void
test_traces_exact(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_TRACES, 0);
    td_span *s = td_batch_add_span(b, one_scope(b));
    td_span_event *ev;
    td_span_link *ln;
    char *got;

    memcpy(s->trace_id, tid, 16);
    memcpy(s->span_id, sid, 8);
    s->trace_state = td_batch_str(b, "k=v", 3);
    s->parent_span_id[7] = 0xab;
    s->flags = 257;
    s->name = td_batch_str(b, "GET /x", 6);
    s->kind = TD_SPAN_KIND_CLIENT;
    s->start_time_unix_nano = 100;
    s->end_time_unix_nano = 18446744073709551615ull;
    td_attrs_put_double(b, &s->attrs, "ratio", 0.25);
    s->dropped_attributes_count = 1;
    ev = td_span_add_event(b, s);
    ev->time_unix_nano = 150;
    ev->name = td_batch_str(b, "exception", 9);
    td_attrs_put_str(b, &ev->attrs, "exception.type", "Error", 5);
    ev->dropped_attributes_count = 4;
    s->dropped_events_count = 5;
    ln = td_span_add_link(b, s);
    memcpy(ln->trace_id, tid, 16);
    ln->span_id[0] = 1;
    ln->trace_state = td_batch_str(b, "a=1", 3);
    td_attrs_put_bool(b, &ln->attrs, "follows", true);
    ln->dropped_attributes_count = 6;
    ln->flags = 256;
    s->dropped_links_count = 7;
    s->status_code = TD_STATUS_ERROR;
    s->status_message = td_batch_str(b, "deadlock", 8);

    got = encode(b);
    TT_CHECK_STR(got,
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":"
        "\"service.name\",\"value\":{\"stringValue\":\"svc\"}}]},"
        "\"scopeSpans\":[{\"scope\":{\"name\":\"lib\",\"version\":\"1.2\"},"
        "\"spans\":[{\"traceId\":" TID ",\"spanId\":" SID ","
        "\"traceState\":\"k=v\",\"parentSpanId\":\"00000000000000ab\","
        "\"flags\":257,\"name\":\"GET /x\",\"kind\":3,"
        "\"startTimeUnixNano\":\"100\","
        "\"endTimeUnixNano\":\"18446744073709551615\","
        "\"attributes\":[{\"key\":\"ratio\",\"value\":{\"doubleValue\":"
        "0.25}}],\"droppedAttributesCount\":1,"
        "\"events\":[{\"timeUnixNano\":\"150\",\"name\":\"exception\","
        "\"attributes\":[{\"key\":\"exception.type\",\"value\":"
        "{\"stringValue\":\"Error\"}}],\"droppedAttributesCount\":4}],"
        "\"droppedEventsCount\":5,"
        "\"links\":[{\"traceId\":" TID ",\"spanId\":\"0100000000000000\","
        "\"traceState\":\"a=1\",\"attributes\":[{\"key\":\"follows\","
        "\"value\":{\"boolValue\":true}}],\"droppedAttributesCount\":6,"
        "\"flags\":256}],\"droppedLinksCount\":7,"
        "\"status\":{\"message\":\"deadlock\",\"code\":2}}]}]}]}");
    free(got);
    td_batch_unref(b);
}

static uint64_t *
u64s(td_batch *b, uint32_t n, uint64_t first)
{
    uint64_t *p = td_arena_alloc(b->arena, n * sizeof(*p));

    for (uint32_t i = 0; i < n; i++) {
        p[i] = first + i;
    }
    return p;
}

static void
test_metrics_exact(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_METRICS, 0);
    td_scope_group *sg = one_scope(b);
    td_metric *m;
    td_number_point *np;
    td_hist_point *hp;
    td_exphist_point *ep;
    td_summary_point *sp;
    char *got;

    m = td_batch_add_metric(b, sg, TD_METRIC_GAUGE);
    m->name = td_batch_str(b, "temp", 4);
    m->description = td_batch_str(b, "d", 1);
    m->unit = td_batch_str(b, "Cel", 3);
    td_attrs_put_str(b, &m->metadata, "m", "x", 1);
    np = td_metric_add_number_point(b, m);
    td_attrs_put_int(b, &np->attrs, "core", 0);
    np->start_time_unix_nano = 1;
    np->time_unix_nano = 2;
    np->v.d = 61.5;
    np->flags = TD_POINT_FLAG_NO_RECORDED_VALUE;
    np->exemplars = td_arena_calloc(b->arena, 1, sizeof(td_exemplar));
    np->n_exemplars = 1;
    np->exemplars[0].time_unix_nano = 3;
    np->exemplars[0].is_int = true;
    np->exemplars[0].v.i = -5;
    memcpy(np->exemplars[0].trace_id, tid, 16);
    memcpy(np->exemplars[0].span_id, sid, 8);

    m = td_batch_add_metric(b, sg, TD_METRIC_SUM);
    m->name = td_batch_str(b, "bytes", 5);
    m->temporality = TD_TEMPORALITY_CUMULATIVE;
    m->monotonic = true;
    np = td_metric_add_number_point(b, m);
    np->is_int = true;
    np->v.i = 1024;

    m = td_batch_add_metric(b, sg, TD_METRIC_HISTOGRAM);
    m->name = td_batch_str(b, "dur", 3);
    m->temporality = TD_TEMPORALITY_DELTA;
    hp = td_metric_add_hist_point(b, m);
    hp->count = 6;
    hp->has_sum = hp->has_min = true;
    hp->sum = 0;
    hp->min = 3;
    hp->max = 99;           /* has_max unset: not written */
    hp->bucket_counts = u64s(b, 3, 1);
    hp->n_buckets = 3;
    hp->bounds = td_arena_alloc(b->arena, 2 * sizeof(double));
    hp->bounds[0] = 0;
    hp->bounds[1] = 2.5;
    hp->n_bounds = 2;

    m = td_batch_add_metric(b, sg, TD_METRIC_EXP_HISTOGRAM);
    m->name = td_batch_str(b, "lat", 3);
    m->temporality = TD_TEMPORALITY_CUMULATIVE;
    ep = td_metric_add_exphist_point(b, m);
    ep->count = 5;
    ep->has_sum = ep->has_max = true;
    ep->sum = 3.5;
    ep->max = 3;
    ep->scale = -3;
    ep->zero_count = 2;
    ep->zero_threshold = 0.001;
    ep->positive.offset = -80;
    ep->positive.counts = u64s(b, 2, 0);
    ep->positive.n = 2;

    m = td_batch_add_metric(b, sg, TD_METRIC_SUMMARY);
    m->name = td_batch_str(b, "rt", 2);
    sp = td_metric_add_summary_point(b, m);
    sp->count = 10;
    sp->sum = 5.5;
    sp->quantiles = td_arena_calloc(b->arena, 2, sizeof(td_quantile));
    sp->quantiles[1].quantile = 1;
    sp->quantiles[1].value = 9;
    sp->n_quantiles = 2;

    got = encode(b);
    TT_CHECK_STR(got,
        "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":"
        "\"service.name\",\"value\":{\"stringValue\":\"svc\"}}]},"
        "\"scopeMetrics\":[{\"scope\":{\"name\":\"lib\","
        "\"version\":\"1.2\"},\"metrics\":["
        "{\"name\":\"temp\",\"description\":\"d\",\"unit\":\"Cel\","
        "\"metadata\":[{\"key\":\"m\",\"value\":{\"stringValue\":\"x\"}}],"
        "\"gauge\":{\"dataPoints\":[{\"attributes\":[{\"key\":\"core\","
        "\"value\":{\"intValue\":\"0\"}}],\"startTimeUnixNano\":\"1\","
        "\"timeUnixNano\":\"2\",\"asDouble\":61.5,\"exemplars\":[{"
        "\"timeUnixNano\":\"3\",\"asInt\":\"-5\",\"spanId\":" SID ","
        "\"traceId\":" TID "}],\"flags\":1}]}},"
        "{\"name\":\"bytes\",\"sum\":{\"dataPoints\":[{\"asInt\":\"1024\"}],"
        "\"aggregationTemporality\":2,\"isMonotonic\":true}},"
        "{\"name\":\"dur\",\"histogram\":{\"dataPoints\":[{\"count\":\"6\","
        "\"sum\":0,\"bucketCounts\":[\"1\",\"2\",\"3\"],"
        "\"explicitBounds\":[0,2.5],\"min\":3}],"
        "\"aggregationTemporality\":1}},"
        "{\"name\":\"lat\",\"exponentialHistogram\":{\"dataPoints\":[{"
        "\"count\":\"5\",\"sum\":3.5,\"scale\":-3,\"zeroCount\":\"2\","
        "\"positive\":{\"offset\":-80,\"bucketCounts\":[\"0\",\"1\"]},"
        "\"max\":3,\"zeroThreshold\":0.001}],"
        "\"aggregationTemporality\":2}},"
        "{\"name\":\"rt\",\"summary\":{\"dataPoints\":[{\"count\":\"10\","
        "\"sum\":5.5,\"quantileValues\":[{\"quantile\":0,\"value\":0},"
        "{\"quantile\":1,\"value\":9}]}]}}"
        "]}]}]}");
    free(got);
    td_batch_unref(b);
}

/* Two resources, three scopes, five records: five lines. */
static td_batch *
spread_logs(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    int n = 0;

    for (int r = 0; r < 2; r++) {
        td_resource_group *rg = td_batch_add_resource(b);
        char svc[16];

        snprintf(svc, sizeof(svc), "svc%d", r);
        td_attrs_put_str(b, &rg->resource.attrs, "service.name", svc, 4);
        for (int s = 0; s < 2 - r; s++) {
            td_scope_group *sg = td_batch_add_scope(b, rg);

            sg->scope.name = td_batch_str(b, svc, 4);
            for (int i = 0; i < (s == 0 ? 2 : 1); i++) {
                td_log_record *lr = td_batch_add_log(b, sg);

                lr->body.type = TD_VAL_INT;
                lr->body.u.i = n++;
            }
        }
    }
    /* An empty scope yields no line. */
    td_batch_add_scope(b, b->resources_tail);
    return b;
}

static void
test_each(void)
{
    td_batch *b = spread_logs();
    td_buf out = TD_BUF_INIT;
    char *line, *save = NULL;
    int lines = 0;

    td_buf_puts(&out, "keep|");
    TT_CHECK_INT(td_otlp_json_encode_each(b, &out), 0);
    TT_CHECK(strncmp(out.data, "keep|", 5) == 0);
    TT_CHECK(out.data[out.len - 1] == '\n');
    for (line = strtok_r(out.data + 5, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        cJSON *doc = cJSON_Parse(line);
        cJSON *rl = cJSON_GetObjectItem(doc, "resourceLogs");
        cJSON *res = cJSON_GetArrayItem(rl, 0);
        cJSON *sl = cJSON_GetObjectItem(res, "scopeLogs");
        cJSON *recs = cJSON_GetObjectItem(cJSON_GetArrayItem(sl, 0),
                                          "logRecords");
        cJSON *body = cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 0),
                                          "body");
        cJSON *iv = cJSON_GetObjectItem(body, "intValue");
        cJSON *attrs = cJSON_GetObjectItem(
            cJSON_GetObjectItem(res, "resource"), "attributes");
        cJSON *svc = cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetArrayItem(attrs, 0), "value"),
            "stringValue");
        char num[16];

        TT_CHECK(doc != NULL);
        TT_CHECK_INT(cJSON_GetArraySize(rl), 1);
        TT_CHECK_INT(cJSON_GetArraySize(sl), 1);
        TT_CHECK_INT(cJSON_GetArraySize(recs), 1);
        snprintf(num, sizeof(num), "%d", lines);
        TT_CHECK(cJSON_IsString(iv));
        TT_CHECK_STR(cJSON_GetStringValue(iv), num);
        TT_CHECK_STR(cJSON_GetStringValue(svc),
                     lines < 3 ? "svc0" : "svc1");
        cJSON_Delete(doc);
        lines++;
    }
    TT_CHECK_INT(lines, 5);
    td_buf_free(&out);

    /* The whole batch in one object has all five records. */
    line = encode(b);
    TT_CHECK(strstr(line, "{\"intValue\":\"4\"}") != NULL);
    free(line);
    td_batch_unref(b);
}

/* Encoding appends to what the buffer already holds. */
static void
test_appends(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_TRACES, 0);
    td_buf out = TD_BUF_INIT;

    td_buf_puts(&out, "x");
    TT_CHECK_INT(td_otlp_json_encode(b, &out), 0);
    TT_CHECK_STR(out.data, "x{\"resourceSpans\":[]}");
    td_buf_clear(&out);
    TT_CHECK_INT(td_otlp_json_encode_each(b, &out), 0);
    TT_CHECK_INT(out.len, 0);
    td_buf_free(&out);
    td_batch_unref(b);
}

static const tt_case cases[] = {
    {"logs_exact", test_logs_exact},
    {"defaults_omitted", test_defaults_omitted},
    {"values", test_values},
    {"doubles", test_doubles},
    {"big_bytes", test_big_bytes},
    {"traces_exact", test_traces_exact},
    {"metrics_exact", test_metrics_exact},
    {"each", test_each},
    {"appends", test_appends},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
