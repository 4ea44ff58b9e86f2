/*
 * test_otlp_json_decode.c - the OTLP/JSON decoder against the JS SDK's
 * captures, round trips through the encoder, and every error message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "otlp_json.h"
#include "otlp_json_decode.h"
#include "telemetry.h"
#include "tt.h"

/* Reads a sample file (malloc'd, NUL-terminated); NULL on failure. */
static char *
read_sample(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long n;

    TT_CHECK(f != NULL);
    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0
        && fseek(f, 0, SEEK_SET) == 0
        && (data = calloc(1, (size_t) n + 1)) != NULL) {
        *len = fread(data, 1, (size_t) n, f);
    }
    fclose(f);
    return data;
}

/* Decodes text and returns the batch; checks the return code. */
static td_batch *
decode(td_signal sig, const char *text, int want, size_t *rej, char *err)
{
    td_batch *b = NULL;
    size_t r = 0;
    char buf[256];

    TT_CHECK_INT(td_otlp_json_decode(sig, text, strlen(text), &b, &r,
                                     err != NULL ? err : buf, 256),
                 want);
    if (rej != NULL) {
        *rej = r;
    }
    return b;
}

/* Encodes b into a malloc'd string. */
static char *
encode(const td_batch *b)
{
    td_buf out = TD_BUF_INIT;

    TT_CHECK_INT(td_otlp_json_encode(b, &out), 0);
    return out.data;
}

/* decode -> encode -> decode -> encode gives the same text. */
static void
round_trip(td_signal sig, const char *text)
{
    td_batch *b1 = decode(sig, text, 0, NULL, NULL);
    td_batch *b2;
    char *e1, *e2;

    if (b1 == NULL) {
        return;
    }
    e1 = encode(b1);
    b2 = decode(sig, e1, 0, NULL, NULL);
    if (b2 != NULL) {
        e2 = encode(b2);
        TT_CHECK_STR(e2, e1);
        free(e2);
        td_batch_unref(b2);
    }
    free(e1);
    td_batch_unref(b1);
}

static void
test_logs_sample(void)
{
    size_t len = 0, rej = 9;
    char *text = read_sample("samples/otlp/logs.json", &len);
    td_batch *b;
    td_scope_group *sg;
    td_log_record *r;
    const td_value *v;

    if (text == NULL) {
        return;
    }
    b = decode(TD_SIGNAL_LOGS, text, 0, &rej, NULL);
    TT_CHECK_INT(rej, 0);
    if (b != NULL) {
        TT_CHECK_INT(td_batch_items(b), 4);
        v = td_attrs_get(&b->resources->resource.attrs, "service.name", 12);
        TT_CHECK(v != NULL && v->type == TD_VAL_STR);
        if (v != NULL) {
            TT_CHECK_MEM(v->u.s.ptr, v->u.s.len, "tandem-peer-test");
        }
        sg = b->resources->scopes;
        TT_CHECK_MEM(sg->scope.name.ptr, sg->scope.name.len, "lab-logger");
        TT_CHECK_MEM(sg->scope.version.ptr, sg->scope.version.len,
                     "1.0.0");
        r = sg->head.logs;
        TT_CHECK(r->time_unix_nano == 1796320364624000000ull);
        TT_CHECK_INT(r->severity_number, 9);
        TT_CHECK_MEM(r->severity_text.ptr, r->severity_text.len, "INFO");
        TT_CHECK_MEM(r->body.u.s.ptr, r->body.u.s.len, "user logged in");
        v = td_attrs_get(&r->attrs, "user.id", 7);
        TT_CHECK(v != NULL && v->type == TD_VAL_INT && v->u.i == 42);
        r = r->next;
        v = td_attrs_get(&r->attrs, "amount", 6);
        TT_CHECK(v != NULL && v->type == TD_VAL_DOUBLE && v->u.d == 12.5);
        r = r->next;
        TT_CHECK_INT(r->flags, 1);
        TT_CHECK_MEM(r->event_name.ptr, r->event_name.len, "lab.event");
        TT_CHECK(r->trace_id[0] == 0x49 && r->trace_id[15] == 0x6d);
        TT_CHECK(r->span_id[0] == 0x09 && r->span_id[7] == 0xa8);
        td_batch_unref(b);
    }
    round_trip(TD_SIGNAL_LOGS, text);
    free(text);
}

static void
test_traces_sample(void)
{
    size_t len = 0;
    char *text = read_sample("samples/otlp/traces.json", &len);
    td_batch *b;
    td_span *s;

    if (text == NULL) {
        return;
    }
    b = decode(TD_SIGNAL_TRACES, text, 0, NULL, NULL);
    if (b != NULL) {
        TT_CHECK_INT(td_batch_items(b), 3);
        s = b->resources->scopes->head.spans;
        TT_CHECK_MEM(s->name.ptr, s->name.len, "SELECT orders");
        TT_CHECK_INT(s->kind, TD_SPAN_KIND_CLIENT);
        TT_CHECK(s->trace_id[0] == 0xaa && s->span_id[0] == 0xd8);
        TT_CHECK(s->parent_span_id[0] == 0x84);
        TT_CHECK(s->end_time_unix_nano == 1796320364595698302ull);
        TT_CHECK_INT(s->n_events, 1);
        if (s->n_events == 1) {
            const td_value *v = td_attrs_get(&s->events[0].attrs,
                                             "exception.type", 14);

            TT_CHECK(v != NULL && v->type == TD_VAL_STR);
        }
        td_batch_unref(b);
    }
    round_trip(TD_SIGNAL_TRACES, text);
    free(text);
}

static void
test_forms(void)
{
    const char *text =
        "{\"resource_logs\":[{\"scope_logs\":[{\"log_records\":[{"
        "\"time_unix_nano\":1700000000000000000,\"severity_number\":"
        "\"SEVERITY_NUMBER_WARN\",\"unknown\":{\"x\":[1]},\"body\":{"
        "\"kvlistValue\":{\"values\":[{\"key\":\"a\",\"value\":{"
        "\"arrayValue\":{\"values\":[{\"boolValue\":true},{\"intValue\":"
        "\"-7\"},{\"bytesValue\":\"aGk=\"}]}}}]}}}]}]}]}";
    td_batch *b = decode(TD_SIGNAL_LOGS, text, 0, NULL, NULL);
    td_log_record *r;
    const td_value *a;

    if (b == NULL) {
        return;
    }
    TT_CHECK_INT(td_batch_items(b), 1);
    r = b->resources->scopes->head.logs;
    TT_CHECK_INT(r->severity_number, 13);
    TT_CHECK(r->time_unix_nano == 1700000000000000000ull);
    TT_CHECK_INT(r->body.type, TD_VAL_MAP);
    a = td_attrs_get(&r->body.u.map, "a", 1);
    TT_CHECK(a != NULL && a->type == TD_VAL_ARRAY && a->u.arr.n == 3);
    if (a != NULL && a->u.arr.n == 3) {
        TT_CHECK(a->u.arr.items[0].u.b);
        TT_CHECK(a->u.arr.items[1].u.i == -7);
        TT_CHECK_MEM(a->u.arr.items[2].u.s.ptr, a->u.arr.items[2].u.s.len,
                     "hi");
    }
    td_batch_unref(b);
    round_trip(TD_SIGNAL_LOGS, text);
}

static void
test_empty(void)
{
    td_batch *b = decode(TD_SIGNAL_TRACES, "{}", 0, NULL, NULL);

    TT_CHECK(b != NULL);
    if (b != NULL) {
        TT_CHECK_INT(td_batch_items(b), 0);
        TT_CHECK(b->resources == NULL);
        td_batch_unref(b);
    }
}

/* Checks that text fails the whole request with exactly msg. */
static void
check_fail(td_signal sig, const char *text, const char *msg)
{
    char err[256];

    TT_CHECK(decode(sig, text, TD_EINVAL, NULL, err) == NULL);
    TT_CHECK_STR(err, msg);
}

/* Checks that the one record of text is skipped with exactly msg. */
static void
check_skip(const char *rec, const char *msg)
{
    char text[512], err[256];
    size_t rej = 0;
    td_batch *b;

    snprintf(text, sizeof(text),
             "{\"resourceLogs\":[{\"scopeLogs\":[{},{\"logRecords\":"
             "[{},%s]}]}]}", rec);
    b = decode(TD_SIGNAL_LOGS, text, 0, &rej, err);
    TT_CHECK_INT(rej, 1);
    TT_CHECK_STR(err, msg);
    if (b != NULL) {
        TT_CHECK_INT(td_batch_items(b), 1);
        td_batch_unref(b);
    }
}

static void
test_errors(void)
{
    const char *p = "resourceLogs[0].scopeLogs[1].logRecords[1]";
    char msg[256];

    check_fail(TD_SIGNAL_LOGS, "{", "not valid JSON");
    check_fail(TD_SIGNAL_LOGS, "[]", "not a JSON object");
    check_fail(TD_SIGNAL_LOGS, "{\"resourceLogs\":{}}",
               "resourceLogs: not an array");
    check_fail(TD_SIGNAL_LOGS, "{\"resourceLogs\":[1]}",
               "resourceLogs[0]: not an object");
    check_fail(TD_SIGNAL_TRACES,
               "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{"
               "\"key\":1}]}}]}",
               "resourceSpans[0].resource.attributes[0].key: "
               "not a string");
    check_fail(TD_SIGNAL_METRICS, "{}", "metrics are not decoded yet");
    check_fail(TD_SIGNAL_LOGS, "{\"resourceLogs\":[{\"x\":\"\xff\"}]}",
               "not valid UTF-8");
    snprintf(msg, sizeof(msg), "%s.traceId: not 32 hex digits", p);
    check_skip("{\"traceId\":\"abc\"}", msg);
    snprintf(msg, sizeof(msg), "%s.spanId: not 16 hex digits", p);
    check_skip("{\"spanId\":\"zz2d4f31401db6a8\"}", msg);
    snprintf(msg, sizeof(msg), "%s.timeUnixNano: not a decimal integer",
             p);
    check_skip("{\"timeUnixNano\":\"12x\"}", msg);
    snprintf(msg, sizeof(msg), "%s.severityNumber: unknown enum name", p);
    check_skip("{\"severityNumber\":\"LOUD\"}", msg);
    snprintf(msg, sizeof(msg), "%s.body.intValue: not an integer", p);
    check_skip("{\"body\":{\"intValue\":1.5}}", msg);
    snprintf(msg, sizeof(msg), "%s.body: bytesValue is not a string", p);
    check_skip("{\"body\":{\"bytesValue\":1}}", msg);
    snprintf(msg, sizeof(msg), "%s.severityText: not a string", p);
    check_skip("{\"severityText\":3}", msg);
}

static void
test_deep(void)
{
    size_t depth = 200, n = 0;
    char *text = malloc(depth * 40 + 200);
    char err[256];
    td_batch *b = NULL;
    size_t rej = 0;

    TT_CHECK(text != NULL);
    if (text == NULL) {
        return;
    }
    n += (size_t) sprintf(text, "{\"resourceLogs\":[{\"scopeLogs\":[{"
                                "\"logRecords\":[{\"body\":");
    for (size_t i = 0; i < depth; i++) {
        n += (size_t) sprintf(text + n, "{\"arrayValue\":{\"values\":[");
    }
    for (size_t i = 0; i < depth; i++) {
        n += (size_t) sprintf(text + n, "]}}");
    }
    sprintf(text + n, "}]}]}]}");
    TT_CHECK_INT(td_otlp_json_decode(TD_SIGNAL_LOGS, text, strlen(text),
                                     &b, &rej, err, sizeof(err)), 0);
    TT_CHECK_INT(rej, 1);
    TT_CHECK(strstr(err, "nested too deeply") != NULL);
    if (b != NULL) {
        td_batch_unref(b);
    }
    free(text);
}

static const tt_case cases[] = {
    {"logs_sample", test_logs_sample},
    {"traces_sample", test_traces_sample},
    {"forms", test_forms},
    {"empty", test_empty},
    {"errors", test_errors},
    {"deep", test_deep},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
