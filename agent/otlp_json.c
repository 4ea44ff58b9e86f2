/*
 * otlp_json.c - batches as OTLP/JSON.
 *
 * OTLP/JSON is the proto3 JSON mapping of the OTLP protos, with the
 * exceptions the OTLP specification makes (ids as hex, not base64; enums
 * as integers). See the OTLP spec, "JSON Protobuf Encoding", and
 * https://protobuf.dev/programming-guides/json/.
 *
 * The encoder is written by hand instead of building a cJSON tree: a tree
 * would cost one allocation per field of every record, and the mapping is
 * a fixed walk over structs we own.
 *
 * Fields that hold their proto3 default (0, "", empty list) are left out,
 * as the mapping does by default, with these exceptions kept on purpose:
 * the top-level resource list (a reader of a file needs it to know the
 * signal), "resource" and "scope" (messages that are always present in
 * pdata), a log record's body, a span's status, the value of a number
 * data point and of an exemplar (a oneof that is set), the values of an
 * array or kvlist AnyValue, and both members of a quantile pair.
 *
 * Errors are sticky: the first failed append is remembered, later appends
 * are skipped, and the public functions cut the buffer back to where it
 * was so that a failure leaves no half object behind.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "otlp_json.h"

typedef struct ojs {
    td_buf *out;
    int err;
} ojs;

/* Per signal: the request's list, the scope list and the record list. */
static const char *const ojs_keys[TD_SIGNAL_COUNT][3] = {
    [TD_SIGNAL_TRACES] = {"resourceSpans", "scopeSpans", "spans"},
    [TD_SIGNAL_METRICS] = {"resourceMetrics", "scopeMetrics", "metrics"},
    [TD_SIGNAL_LOGS] = {"resourceLogs", "scopeLogs", "logRecords"},
};

/* ---- primitives ---- */

static void
ojs_mem(ojs *e, const char *s, size_t len)
{
    if (e->err == 0) {
        e->err = td_buf_append(e->out, s, len);
    }
}

static void
ojs_raw(ojs *e, const char *s)
{
    ojs_mem(e, s, strlen(s));
}

static void
ojs_str(ojs *e, td_str s)
{
    if (e->err == 0) {
        e->err = td_buf_json_str(e->out, s.len > 0 ? s.ptr : "", s.len);
    }
}

/*
 * Starts a member of an object: a comma unless it is the first (*n
 * counts the members written so far), then the quoted key and a colon.
 */
static void
ojs_key(ojs *e, int *n, const char *key)
{
    if ((*n)++ > 0) {
        ojs_mem(e, ",", 1);
    }
    ojs_mem(e, "\"", 1);
    ojs_raw(e, key);
    ojs_mem(e, "\":", 2);
}

/* 64-bit integers are JSON strings in the proto3 mapping. */
static void
ojs_u64_str(ojs *e, uint64_t v)
{
    char tmp[24];
    int len = snprintf(tmp, sizeof(tmp), "\"%llu\"", (unsigned long long) v);

    ojs_mem(e, tmp, (size_t) len);
}

static void
ojs_i64_str(ojs *e, int64_t v)
{
    char tmp[24];
    int len = snprintf(tmp, sizeof(tmp), "\"%lld\"", (long long) v);

    ojs_mem(e, tmp, (size_t) len);
}

/* 32-bit integers and enums are JSON numbers. */
static void
ojs_i64_num(ojs *e, int64_t v)
{
    char tmp[24];
    int len = snprintf(tmp, sizeof(tmp), "%lld", (long long) v);

    ojs_mem(e, tmp, (size_t) len);
}

/*
 * Doubles are written with the fewest of 15, 16 or 17 significant digits
 * that read back to the same value, so 0.1 stays "0.1" while every value
 * still round-trips. The mapping spells the non-finite values as strings.
 */
static void
ojs_double(ojs *e, double d)
{
    char tmp[32];
    int len = 0;

    if (isnan(d)) {
        ojs_raw(e, "\"NaN\"");
        return;
    }
    if (isinf(d)) {
        ojs_raw(e, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        len = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) {
            break;
        }
    }
    ojs_mem(e, tmp, (size_t) len);
}

/* Trace and span ids are lowercase hex in OTLP/JSON, not base64. */
static void
ojs_hex(ojs *e, const uint8_t *id, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[2 * 16 + 2];
    size_t o = 0;

    tmp[o++] = '"';
    for (size_t i = 0; i < len && i < 16; i++) {
        tmp[o++] = hex[id[i] >> 4];
        tmp[o++] = hex[id[i] & 0xf];
    }
    tmp[o++] = '"';
    ojs_mem(e, tmp, o);
}

/*
 * bytes fields are standard base64 with padding. EVP_EncodeBlock takes an
 * int length, so large values go in chunks of a multiple of 3 bytes,
 * which keeps the output one continuous base64 string.
 */
static void
ojs_base64(ojs *e, const uint8_t *p, size_t len)
{
    const size_t chunk = 3u << 20;

    ojs_mem(e, "\"", 1);
    while (e->err == 0 && len > 0) {
        size_t n = len < chunk ? len : chunk;
        size_t olen = 4 * ((n + 2) / 3);
        td_buf *out = e->out;

        e->err = td_buf_reserve(out, olen + 1);
        if (e->err != 0) {
            break;
        }
        EVP_EncodeBlock((unsigned char *) out->data + out->len, p, (int) n);
        out->len += olen;
        out->data[out->len] = '\0';
        p += n;
        len -= n;
    }
    ojs_mem(e, "\"", 1);
}

/* ---- optional fields: written only when not the default ---- */

static void
ojs_f_str(ojs *e, int *n, const char *key, td_str s)
{
    if (s.len > 0) {
        ojs_key(e, n, key);
        ojs_str(e, s);
    }
}

static void
ojs_f_u64(ojs *e, int *n, const char *key, uint64_t v)
{
    if (v != 0) {
        ojs_key(e, n, key);
        ojs_u64_str(e, v);
    }
}

static void
ojs_f_int(ojs *e, int *n, const char *key, int64_t v)
{
    if (v != 0) {
        ojs_key(e, n, key);
        ojs_i64_num(e, v);
    }
}

static void
ojs_f_double(ojs *e, int *n, const char *key, double d)
{
    if (d != 0) {
        ojs_key(e, n, key);
        ojs_double(e, d);
    }
}

static void
ojs_f_id(ojs *e, int *n, const char *key, const uint8_t *id, size_t len)
{
    if (!td_id_is_zero(id, len)) {
        ojs_key(e, n, key);
        ojs_hex(e, id, len);
    }
}

/* ---- AnyValue and key/value lists (common/v1/common.proto) ---- */

static void ojs_value(ojs *e, const td_value *v);

static void
ojs_kvs(ojs *e, const td_attrs *attrs)
{
    ojs_mem(e, "[", 1);
    for (uint32_t i = 0; i < attrs->n; i++) {
        if (i > 0) {
            ojs_mem(e, ",", 1);
        }
        ojs_mem(e, "{\"key\":", 7);
        ojs_str(e, attrs->items[i].key);
        ojs_mem(e, ",\"value\":", 9);
        ojs_value(e, &attrs->items[i].val);
        ojs_mem(e, "}", 1);
    }
    ojs_mem(e, "]", 1);
}

static void
ojs_f_attrs(ojs *e, int *n, const char *key, const td_attrs *attrs)
{
    if (attrs->n > 0) {
        ojs_key(e, n, key);
        ojs_kvs(e, attrs);
    }
}

/*
 * AnyValue is a oneof; an unset one is the empty object. Arrays and maps
 * recurse, as deep as the producer nested them.
 */
static void
ojs_value(ojs *e, const td_value *v)
{
    switch (v->type) {
    case TD_VAL_STR:
        ojs_raw(e, "{\"stringValue\":");
        ojs_str(e, v->u.s);
        break;
    case TD_VAL_BOOL:
        ojs_raw(e, v->u.b ? "{\"boolValue\":true" : "{\"boolValue\":false");
        break;
    case TD_VAL_INT:
        ojs_raw(e, "{\"intValue\":");
        ojs_i64_str(e, v->u.i);
        break;
    case TD_VAL_DOUBLE:
        ojs_raw(e, "{\"doubleValue\":");
        ojs_double(e, v->u.d);
        break;
    case TD_VAL_BYTES:
        ojs_raw(e, "{\"bytesValue\":");
        ojs_base64(e, (const uint8_t *) v->u.s.ptr, v->u.s.len);
        break;
    case TD_VAL_ARRAY:
        ojs_raw(e, "{\"arrayValue\":{\"values\":[");
        for (uint32_t i = 0; i < v->u.arr.n; i++) {
            if (i > 0) {
                ojs_mem(e, ",", 1);
            }
            ojs_value(e, &v->u.arr.items[i]);
        }
        ojs_raw(e, "]}");
        break;
    case TD_VAL_MAP:
        ojs_raw(e, "{\"kvlistValue\":{\"values\":");
        ojs_kvs(e, &v->u.map);
        ojs_raw(e, "}");
        break;
    default:
        ojs_raw(e, "{");
        break;
    }
    ojs_mem(e, "}", 1);
}

/* ---- resource and scope (resource/v1, common/v1) ---- */

static void
ojs_resource(ojs *e, const td_resource *r)
{
    int n = 0;

    ojs_raw(e, "\"resource\":{");
    ojs_f_attrs(e, &n, "attributes", &r->attrs);
    ojs_f_int(e, &n, "droppedAttributesCount", r->dropped_attributes_count);
    ojs_mem(e, "}", 1);
}

static void
ojs_scope(ojs *e, const td_scope *s)
{
    int n = 0;

    ojs_raw(e, "\"scope\":{");
    ojs_f_str(e, &n, "name", s->name);
    ojs_f_str(e, &n, "version", s->version);
    ojs_f_attrs(e, &n, "attributes", &s->attrs);
    ojs_f_int(e, &n, "droppedAttributesCount", s->dropped_attributes_count);
    ojs_mem(e, "}", 1);
}

/* ---- logs (logs/v1/logs.proto LogRecord) ---- */

static void
ojs_log(ojs *e, const td_log_record *r)
{
    int n = 0;

    ojs_mem(e, "{", 1);
    ojs_f_u64(e, &n, "timeUnixNano", r->time_unix_nano);
    ojs_f_u64(e, &n, "observedTimeUnixNano", r->observed_time_unix_nano);
    ojs_f_int(e, &n, "severityNumber", r->severity_number);
    ojs_f_str(e, &n, "severityText", r->severity_text);
    ojs_key(e, &n, "body");
    ojs_value(e, &r->body);
    ojs_f_attrs(e, &n, "attributes", &r->attrs);
    ojs_f_int(e, &n, "droppedAttributesCount", r->dropped_attributes_count);
    ojs_f_int(e, &n, "flags", r->flags);
    ojs_f_id(e, &n, "traceId", r->trace_id, sizeof(r->trace_id));
    ojs_f_id(e, &n, "spanId", r->span_id, sizeof(r->span_id));
    ojs_f_str(e, &n, "eventName", r->event_name);
    ojs_mem(e, "}", 1);
}

/* ---- traces (trace/v1/trace.proto Span) ---- */

static void
ojs_span_events(ojs *e, int *n, const td_span *s)
{
    if (s->n_events == 0) {
        return;
    }
    ojs_key(e, n, "events");
    ojs_mem(e, "[", 1);
    for (uint32_t i = 0; i < s->n_events; i++) {
        const td_span_event *ev = &s->events[i];
        int m = 0;

        ojs_raw(e, i > 0 ? ",{" : "{");
        ojs_f_u64(e, &m, "timeUnixNano", ev->time_unix_nano);
        ojs_f_str(e, &m, "name", ev->name);
        ojs_f_attrs(e, &m, "attributes", &ev->attrs);
        ojs_f_int(e, &m, "droppedAttributesCount",
                  ev->dropped_attributes_count);
        ojs_mem(e, "}", 1);
    }
    ojs_mem(e, "]", 1);
}

static void
ojs_span_links(ojs *e, int *n, const td_span *s)
{
    if (s->n_links == 0) {
        return;
    }
    ojs_key(e, n, "links");
    ojs_mem(e, "[", 1);
    for (uint32_t i = 0; i < s->n_links; i++) {
        const td_span_link *ln = &s->links[i];
        int m = 0;

        ojs_raw(e, i > 0 ? ",{" : "{");
        ojs_f_id(e, &m, "traceId", ln->trace_id, sizeof(ln->trace_id));
        ojs_f_id(e, &m, "spanId", ln->span_id, sizeof(ln->span_id));
        ojs_f_str(e, &m, "traceState", ln->trace_state);
        ojs_f_attrs(e, &m, "attributes", &ln->attrs);
        ojs_f_int(e, &m, "droppedAttributesCount",
                  ln->dropped_attributes_count);
        ojs_f_int(e, &m, "flags", ln->flags);
        ojs_mem(e, "}", 1);
    }
    ojs_mem(e, "]", 1);
}

static void
ojs_span(ojs *e, const td_span *s)
{
    int n = 0, m = 0;

    ojs_mem(e, "{", 1);
    ojs_f_id(e, &n, "traceId", s->trace_id, sizeof(s->trace_id));
    ojs_f_id(e, &n, "spanId", s->span_id, sizeof(s->span_id));
    ojs_f_str(e, &n, "traceState", s->trace_state);
    ojs_f_id(e, &n, "parentSpanId", s->parent_span_id,
             sizeof(s->parent_span_id));
    ojs_f_int(e, &n, "flags", s->flags);
    ojs_f_str(e, &n, "name", s->name);
    ojs_f_int(e, &n, "kind", s->kind);
    ojs_f_u64(e, &n, "startTimeUnixNano", s->start_time_unix_nano);
    ojs_f_u64(e, &n, "endTimeUnixNano", s->end_time_unix_nano);
    ojs_f_attrs(e, &n, "attributes", &s->attrs);
    ojs_f_int(e, &n, "droppedAttributesCount", s->dropped_attributes_count);
    ojs_span_events(e, &n, s);
    ojs_f_int(e, &n, "droppedEventsCount", s->dropped_events_count);
    ojs_span_links(e, &n, s);
    ojs_f_int(e, &n, "droppedLinksCount", s->dropped_links_count);
    ojs_key(e, &n, "status");
    ojs_mem(e, "{", 1);
    ojs_f_str(e, &m, "message", s->status_message);
    ojs_f_int(e, &m, "code", s->status_code);
    ojs_mem(e, "}}", 2);
}

/* ---- metrics (metrics/v1/metrics.proto) ---- */

static void
ojs_exemplars(ojs *e, int *n, const td_exemplar *ex, uint32_t count)
{
    if (count == 0) {
        return;
    }
    ojs_key(e, n, "exemplars");
    ojs_mem(e, "[", 1);
    for (uint32_t i = 0; i < count; i++) {
        int m = 0;

        ojs_raw(e, i > 0 ? ",{" : "{");
        ojs_f_attrs(e, &m, "filteredAttributes", &ex[i].filtered_attrs);
        ojs_f_u64(e, &m, "timeUnixNano", ex[i].time_unix_nano);
        if (ex[i].is_int) {
            ojs_key(e, &m, "asInt");
            ojs_i64_str(e, ex[i].v.i);
        } else {
            ojs_key(e, &m, "asDouble");
            ojs_double(e, ex[i].v.d);
        }
        ojs_f_id(e, &m, "spanId", ex[i].span_id, sizeof(ex[i].span_id));
        ojs_f_id(e, &m, "traceId", ex[i].trace_id, sizeof(ex[i].trace_id));
        ojs_mem(e, "}", 1);
    }
    ojs_mem(e, "]", 1);
}

static void
ojs_u64_list(ojs *e, int *n, const char *key, const uint64_t *v,
             uint32_t count)
{
    if (count == 0) {
        return;
    }
    ojs_key(e, n, key);
    ojs_mem(e, "[", 1);
    for (uint32_t i = 0; i < count; i++) {
        if (i > 0) {
            ojs_mem(e, ",", 1);
        }
        ojs_u64_str(e, v[i]);
    }
    ojs_mem(e, "]", 1);
}

static void
ojs_double_list(ojs *e, int *n, const char *key, const double *v,
                uint32_t count)
{
    if (count == 0) {
        return;
    }
    ojs_key(e, n, key);
    ojs_mem(e, "[", 1);
    for (uint32_t i = 0; i < count; i++) {
        if (i > 0) {
            ojs_mem(e, ",", 1);
        }
        ojs_double(e, v[i]);
    }
    ojs_mem(e, "]", 1);
}

/* The fields every kind of data point starts with. */
static void
ojs_point_head(ojs *e, int *n, const td_attrs *attrs, uint64_t start,
               uint64_t time)
{
    ojs_f_attrs(e, n, "attributes", attrs);
    ojs_f_u64(e, n, "startTimeUnixNano", start);
    ojs_f_u64(e, n, "timeUnixNano", time);
}

static void
ojs_number_point(ojs *e, const td_number_point *p)
{
    int n = 0;

    ojs_point_head(e, &n, &p->attrs, p->start_time_unix_nano,
                   p->time_unix_nano);
    if (p->is_int) {
        ojs_key(e, &n, "asInt");
        ojs_i64_str(e, p->v.i);
    } else {
        ojs_key(e, &n, "asDouble");
        ojs_double(e, p->v.d);
    }
    ojs_exemplars(e, &n, p->exemplars, p->n_exemplars);
    ojs_f_int(e, &n, "flags", p->flags);
}

/* sum, min and max are proto3 optional: present when set, even if 0. */
static void
ojs_optional_double(ojs *e, int *n, const char *key, bool has, double d)
{
    if (has) {
        ojs_key(e, n, key);
        ojs_double(e, d);
    }
}

static void
ojs_hist_point(ojs *e, const td_hist_point *p)
{
    int n = 0;

    ojs_point_head(e, &n, &p->attrs, p->start_time_unix_nano,
                   p->time_unix_nano);
    ojs_f_u64(e, &n, "count", p->count);
    ojs_optional_double(e, &n, "sum", p->has_sum, p->sum);
    ojs_u64_list(e, &n, "bucketCounts", p->bucket_counts, p->n_buckets);
    ojs_double_list(e, &n, "explicitBounds", p->bounds, p->n_bounds);
    ojs_exemplars(e, &n, p->exemplars, p->n_exemplars);
    ojs_f_int(e, &n, "flags", p->flags);
    ojs_optional_double(e, &n, "min", p->has_min, p->min);
    ojs_optional_double(e, &n, "max", p->has_max, p->max);
}

static void
ojs_exp_buckets(ojs *e, int *n, const char *key, const td_exp_buckets *bk)
{
    int m = 0;

    if (bk->n == 0 && bk->offset == 0) {
        return;
    }
    ojs_key(e, n, key);
    ojs_mem(e, "{", 1);
    ojs_f_int(e, &m, "offset", bk->offset);
    ojs_u64_list(e, &m, "bucketCounts", bk->counts, bk->n);
    ojs_mem(e, "}", 1);
}

static void
ojs_exphist_point(ojs *e, const td_exphist_point *p)
{
    int n = 0;

    ojs_point_head(e, &n, &p->attrs, p->start_time_unix_nano,
                   p->time_unix_nano);
    ojs_f_u64(e, &n, "count", p->count);
    ojs_optional_double(e, &n, "sum", p->has_sum, p->sum);
    ojs_f_int(e, &n, "scale", p->scale);
    ojs_f_u64(e, &n, "zeroCount", p->zero_count);
    ojs_exp_buckets(e, &n, "positive", &p->positive);
    ojs_exp_buckets(e, &n, "negative", &p->negative);
    ojs_f_int(e, &n, "flags", p->flags);
    ojs_exemplars(e, &n, p->exemplars, p->n_exemplars);
    ojs_optional_double(e, &n, "min", p->has_min, p->min);
    ojs_optional_double(e, &n, "max", p->has_max, p->max);
    ojs_f_double(e, &n, "zeroThreshold", p->zero_threshold);
}

static void
ojs_summary_point(ojs *e, const td_summary_point *p)
{
    int n = 0;

    ojs_point_head(e, &n, &p->attrs, p->start_time_unix_nano,
                   p->time_unix_nano);
    ojs_f_u64(e, &n, "count", p->count);
    ojs_f_double(e, &n, "sum", p->sum);
    if (p->n_quantiles > 0) {
        ojs_key(e, &n, "quantileValues");
        ojs_mem(e, "[", 1);
        for (uint32_t i = 0; i < p->n_quantiles; i++) {
            ojs_raw(e, i > 0 ? ",{\"quantile\":" : "{\"quantile\":");
            ojs_double(e, p->quantiles[i].quantile);
            ojs_raw(e, ",\"value\":");
            ojs_double(e, p->quantiles[i].value);
            ojs_mem(e, "}", 1);
        }
        ojs_mem(e, "]", 1);
    }
    ojs_f_int(e, &n, "flags", p->flags);
}

static void
ojs_points(ojs *e, int *n, const td_metric *m)
{
    if (m->n_points == 0) {
        return;
    }
    ojs_key(e, n, "dataPoints");
    ojs_mem(e, "[", 1);
    for (uint32_t i = 0; i < m->n_points; i++) {
        ojs_raw(e, i > 0 ? ",{" : "{");
        switch (m->type) {
        case TD_METRIC_GAUGE:
        case TD_METRIC_SUM:
            ojs_number_point(e, &m->points.number[i]);
            break;
        case TD_METRIC_HISTOGRAM:
            ojs_hist_point(e, &m->points.hist[i]);
            break;
        case TD_METRIC_EXP_HISTOGRAM:
            ojs_exphist_point(e, &m->points.exphist[i]);
            break;
        default:
            ojs_summary_point(e, &m->points.summary[i]);
            break;
        }
        ojs_mem(e, "}", 1);
    }
    ojs_mem(e, "]", 1);
}

static void
ojs_metric(ojs *e, const td_metric *m)
{
    static const char *const data_keys[] = {
        [TD_METRIC_GAUGE] = "gauge",
        [TD_METRIC_SUM] = "sum",
        [TD_METRIC_HISTOGRAM] = "histogram",
        [TD_METRIC_EXP_HISTOGRAM] = "exponentialHistogram",
        [TD_METRIC_SUMMARY] = "summary",
    };
    int n = 0, d = 0;

    ojs_mem(e, "{", 1);
    ojs_f_str(e, &n, "name", m->name);
    ojs_f_str(e, &n, "description", m->description);
    ojs_f_str(e, &n, "unit", m->unit);
    ojs_f_attrs(e, &n, "metadata", &m->metadata);

    /* An empty metric (no data field set) has nothing more to say. */
    if (m->type > TD_METRIC_EMPTY && m->type <= TD_METRIC_SUMMARY) {
        ojs_key(e, &n, data_keys[m->type]);
        ojs_mem(e, "{", 1);
        ojs_points(e, &d, m);
        if (m->type == TD_METRIC_SUM || m->type == TD_METRIC_HISTOGRAM
            || m->type == TD_METRIC_EXP_HISTOGRAM) {
            ojs_f_int(e, &d, "aggregationTemporality", m->temporality);
        }
        if (m->type == TD_METRIC_SUM && m->monotonic) {
            ojs_key(e, &d, "isMonotonic");
            ojs_raw(e, "true");
        }
        ojs_mem(e, "}", 1);
    }
    ojs_mem(e, "}", 1);
}

/* ---- request structure ---- */

/* Writes one record of the batch's signal. */
static void
ojs_record(ojs *e, td_signal signal, const void *rec)
{
    switch (signal) {
    case TD_SIGNAL_LOGS:
        ojs_log(e, rec);
        break;
    case TD_SIGNAL_TRACES:
        ojs_span(e, rec);
        break;
    default:
        ojs_metric(e, rec);
        break;
    }
}

static const void *
ojs_next(td_signal signal, const void *rec)
{
    switch (signal) {
    case TD_SIGNAL_LOGS:
        return ((const td_log_record *) rec)->next;
    case TD_SIGNAL_TRACES:
        return ((const td_span *) rec)->next;
    default:
        return ((const td_metric *) rec)->next;
    }
}

/* Opens {"resourceX":[{"resource":{..},"scopeX":[ */
static void
ojs_open_resource(ojs *e, td_signal signal, const td_resource_group *rg,
                  bool first)
{
    ojs_raw(e, first ? "{" : ",{");
    ojs_resource(e, &rg->resource);
    ojs_raw(e, ",\"");
    ojs_raw(e, ojs_keys[signal][1]);
    ojs_raw(e, "\":[");
}

static void
ojs_close_resource(ojs *e, const td_resource_group *rg)
{
    int n = 1;

    ojs_mem(e, "]", 1);
    ojs_f_str(e, &n, "schemaUrl", rg->resource.schema_url);
    ojs_mem(e, "}", 1);
}

static void
ojs_open_scope(ojs *e, td_signal signal, const td_scope_group *sg,
               bool first)
{
    ojs_raw(e, first ? "{" : ",{");
    ojs_scope(e, &sg->scope);
    ojs_raw(e, ",\"");
    ojs_raw(e, ojs_keys[signal][2]);
    ojs_raw(e, "\":[");
}

static void
ojs_close_scope(ojs *e, const td_scope_group *sg)
{
    int n = 1;

    ojs_mem(e, "]", 1);
    ojs_f_str(e, &n, "schemaUrl", sg->scope.schema_url);
    ojs_mem(e, "}", 1);
}

static void
ojs_open_request(ojs *e, td_signal signal)
{
    ojs_raw(e, "{\"");
    ojs_raw(e, ojs_keys[signal][0]);
    ojs_raw(e, "\":[");
}

/* Cuts out back to len after a failure; returns the sticky error. */
static int
ojs_finish(ojs *e, size_t len)
{
    if (e->err != 0) {
        e->out->len = len;
        if (e->out->data != NULL) {
            e->out->data[len] = '\0';
        }
        return TD_ENOMEM;
    }
    return TD_OK;
}

static bool
ojs_signal_ok(const td_batch *b)
{
    return b->signal >= TD_SIGNAL_TRACES && b->signal < TD_SIGNAL_COUNT;
}

/*
 * Empty scopes and resources are kept: they are part of what the
 * producer sent, and proto3 JSON allows empty lists to be written.
 */
int
td_otlp_json_encode(const td_batch *b, td_buf *out)
{
    ojs e = {out, 0};
    size_t start = out->len;
    td_signal sig = b->signal;

    if (!ojs_signal_ok(b)) {
        return TD_EINVAL;
    }
    ojs_open_request(&e, sig);
    for (const td_resource_group *rg = b->resources; rg; rg = rg->next) {
        ojs_open_resource(&e, sig, rg, rg == b->resources);
        for (const td_scope_group *sg = rg->scopes; sg; sg = sg->next) {
            ojs_open_scope(&e, sig, sg, sg == rg->scopes);
            for (const void *rec = sg->head.any; rec;
                 rec = ojs_next(sig, rec)) {
                if (rec != sg->head.any) {
                    ojs_mem(&e, ",", 1);
                }
                ojs_record(&e, sig, rec);
            }
            ojs_close_scope(&e, sg);
        }
        ojs_close_resource(&e, rg);
    }
    ojs_raw(&e, "]}");
    return ojs_finish(&e, start);
}

int
td_otlp_json_encode_each(const td_batch *b, td_buf *out)
{
    ojs e = {out, 0};
    size_t start = out->len;
    td_signal sig = b->signal;

    if (!ojs_signal_ok(b)) {
        return TD_EINVAL;
    }
    for (const td_resource_group *rg = b->resources; rg; rg = rg->next) {
        for (const td_scope_group *sg = rg->scopes; sg; sg = sg->next) {
            for (const void *rec = sg->head.any; rec && e.err == 0;
                 rec = ojs_next(sig, rec)) {
                ojs_open_request(&e, sig);
                ojs_open_resource(&e, sig, rg, true);
                ojs_open_scope(&e, sig, sg, true);
                ojs_record(&e, sig, rec);
                ojs_close_scope(&e, sg);
                ojs_close_resource(&e, rg);
                ojs_raw(&e, "]}\n");
            }
        }
    }
    return ojs_finish(&e, start);
}

int
td_otlp_json_value(const td_value *v, td_buf *out)
{
    ojs e = {out, 0};
    size_t start = out->len;

    ojs_value(&e, v);
    return ojs_finish(&e, start);
}
