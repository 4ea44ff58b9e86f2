/*
 * OTLP/JSON decoding (opentelemetry-proto, docs/specification.md, "JSON
 * Protobuf Encoding"): logs and traces into the model. cJSON parses into
 * a scratch arena; what the batch keeps is copied into its own arena.
 */
#include "otlp_json_decode.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cjson_arena.h"

/* The decoder's state: the batch, the JSON path and the first error. */
typedef struct jd_ctx {
    td_batch *b;
    char path[512];
    size_t plen;
    char *err;
    size_t errlen;
    int nomem;
} jd_ctx;

static size_t
jd_push(jd_ctx *c, const char *key, int idx)
{
    size_t old = c->plen;
    int n;

    if (idx >= 0) {
        n = snprintf(c->path + old, sizeof(c->path) - old, "%s%s[%d]",
                     old > 0 ? "." : "", key, idx);
    } else {
        n = snprintf(c->path + old, sizeof(c->path) - old, "%s%s",
                     old > 0 ? "." : "", key);
    }
    if (n > 0) {
        c->plen = old + (size_t) n < sizeof(c->path)
                      ? old + (size_t) n : sizeof(c->path) - 1;
    }
    return old;
}

static void
jd_pop(jd_ctx *c, size_t old)
{
    c->plen = old;
    c->path[old] = '\0';
}

/* Records "path.key: what"; only the first error is kept. */
static int
jd_fail(jd_ctx *c, const char *key, const char *what)
{
    if (c->err != NULL && c->errlen > 0 && c->err[0] == '\0') {
        const char *sep = c->plen > 0 && key[0] != '\0' ? "." : "";

        /* A deep path is cut so that the reason always fits. */
        if (c->plen == 0 && key[0] == '\0') {
            snprintf(c->err, c->errlen, "%s", what);
        } else {
            snprintf(c->err, c->errlen, "%.160s%s%s: %s", c->path, sep,
                     key, what);
        }
    }
    return TD_EINVAL;
}

/* Looks up the camelCase key, then the snake_case proto name. */
static const cJSON *
jd_get(const cJSON *obj, const char *camel, const char *snake)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, camel);

    if (it == NULL && snake != NULL) {
        it = cJSON_GetObjectItemCaseSensitive(obj, snake);
    }
    return it;
}

static int
jd_str(jd_ctx *c, const cJSON *obj, const char *camel, const char *snake,
       td_str *out)
{
    const cJSON *it = jd_get(obj, camel, snake);

    if (it == NULL || cJSON_IsNull(it)) {
        return 0;
    }
    if (!cJSON_IsString(it)) {
        return jd_fail(c, camel, "not a string");
    }
    *out = td_batch_str(c->b, it->valuestring, strlen(it->valuestring));
    if (out->ptr == NULL) {
        c->nomem = 1;
        return TD_ENOMEM;
    }
    return 0;
}

/*
 * A 64-bit integer: a decimal string (the proto3 JSON mapping) or a
 * JSON number (the JavaScript SDK). A number beyond 2^53 has lost
 * precision in cJSON's double already; it is taken as it is.
 */
static int
jd_int64(jd_ctx *c, const cJSON *it, const char *key, int is_signed,
         uint64_t *out)
{
    char *end;

    if (cJSON_IsNumber(it)) {
        double d = it->valuedouble;

        if (!(d >= -9223372036854775808.0 && d < 18446744073709551616.0)
            || (!is_signed && d < 0) || d != (double) (long long) 0 + d
            || d - (double) (uint64_t) (d < 0 ? 0 : d) != (d < 0 ? d : 0)) {
            return jd_fail(c, key, "not an integer");
        }
        if (d < 0) {
            if (d != (double) (int64_t) d) {
                return jd_fail(c, key, "not an integer");
            }
            *out = (uint64_t) (int64_t) d;
        } else {
            *out = (uint64_t) d;
        }
        return 0;
    }
    if (!cJSON_IsString(it) || it->valuestring[0] == '\0') {
        return jd_fail(c, key, "not an integer");
    }
    errno = 0;
    if (is_signed) {
        *out = (uint64_t) strtoll(it->valuestring, &end, 10);
    } else {
        if (it->valuestring[0] == '-') {
            return jd_fail(c, key, "not an unsigned integer");
        }
        *out = (uint64_t) strtoull(it->valuestring, &end, 10);
    }
    if (errno != 0 || *end != '\0' || it->valuestring[0] == ' '
        || it->valuestring[0] == '+') {
        return jd_fail(c, key, "not a decimal integer");
    }
    return 0;
}

static int
jd_u64(jd_ctx *c, const cJSON *obj, const char *camel, const char *snake,
       uint64_t *out)
{
    const cJSON *it = jd_get(obj, camel, snake);

    if (it == NULL || cJSON_IsNull(it)) {
        return 0;
    }
    return jd_int64(c, it, camel, 0, out);
}

static int
jd_u32(jd_ctx *c, const cJSON *obj, const char *camel, const char *snake,
       uint32_t *out)
{
    uint64_t v = 0;
    int rc = jd_u64(c, obj, camel, snake, &v);

    if (rc < 0) {
        return rc;
    }
    if (v > UINT32_MAX) {
        return jd_fail(c, camel, "out of range");
    }
    *out = (uint32_t) v;
    return 0;
}

/* An enum: an integer or one of the names in names[] (index = value). */
static int
jd_enum(jd_ctx *c, const cJSON *obj, const char *camel, const char *snake,
        const char *const *names, int n, int32_t *out)
{
    const cJSON *it = jd_get(obj, camel, snake);

    if (it == NULL || cJSON_IsNull(it)) {
        return 0;
    }
    if (cJSON_IsString(it)) {
        for (int i = 0; i < n; i++) {
            if (names[i] != NULL && strcmp(names[i], it->valuestring) == 0) {
                *out = i;
                return 0;
            }
        }
        return jd_fail(c, camel, "unknown enum name");
    }
    if (!cJSON_IsNumber(it) || it->valuedouble != (double) it->valueint
        || it->valuedouble < 0 || it->valuedouble >= n) {
        return jd_fail(c, camel, "not a valid enum value");
    }
    *out = it->valueint;
    return 0;
}

static int
jd_hexval(int ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* A trace or span id: 2n hex digits; an empty string means absent. */
static int
jd_id(jd_ctx *c, const cJSON *obj, const char *camel, const char *snake,
      uint8_t *id, size_t n)
{
    const cJSON *it = jd_get(obj, camel, snake);
    const char *s;
    static const char *const msg[] = {"not 16 hex digits",
                                      "not 32 hex digits"};

    if (it == NULL || cJSON_IsNull(it)) {
        return 0;
    }
    if (!cJSON_IsString(it)) {
        return jd_fail(c, camel, msg[n == 16]);
    }
    s = it->valuestring;
    if (s[0] == '\0') {
        return 0;
    }
    if (strlen(s) != n * 2) {
        return jd_fail(c, camel, msg[n == 16]);
    }
    for (size_t i = 0; i < n; i++) {
        int hi = jd_hexval((unsigned char) s[2 * i]);
        int lo = jd_hexval((unsigned char) s[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return jd_fail(c, camel, msg[n == 16]);
        }
        id[i] = (uint8_t) (hi << 4 | lo);
    }
    return 0;
}

static int
jd_b64val(int ch)
{
    if (ch >= 'A' && ch <= 'Z') {
        return ch - 'A';
    }
    if (ch >= 'a' && ch <= 'z') {
        return ch - 'a' + 26;
    }
    if (ch >= '0' && ch <= '9') {
        return ch - '0' + 52;
    }
    if (ch == '+' || ch == '-') {
        return 62;
    }
    if (ch == '/' || ch == '_') {
        return 63;
    }
    return -1;
}

/* Base64 (standard or URL alphabet, padding optional) into the batch. */
static int
jd_base64(jd_ctx *c, const char *s, const char *key, td_str *out)
{
    size_t len = strlen(s);
    char *dst;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;

    while (len > 0 && s[len - 1] == '=') {
        len--;
    }
    dst = td_arena_alloc(c->b->arena, len * 3 / 4 + 1);
    if (dst == NULL) {
        c->nomem = 1;
        return TD_ENOMEM;
    }
    for (size_t i = 0; i < len; i++) {
        int v = jd_b64val((unsigned char) s[i]);

        if (v < 0) {
            return jd_fail(c, key, "not base64");
        }
        acc = acc << 6 | (uint32_t) v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            dst[n++] = (char) (acc >> bits & 0xFF);
        }
    }
    if (bits >= 6) {
        return jd_fail(c, key, "not base64");
    }
    out->ptr = dst;
    out->len = n;
    return 0;
}

/*
 * RFC 3629 UTF-8: cJSON passes any byte through, but OTLP strings are
 * proto3 strings, which must be valid UTF-8.
 */
static int
jd_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char ch = s[i];
        size_t n;
        uint32_t cp;

        if (ch < 0x80) {
            i++;
            continue;
        }
        if (ch >= 0xC2 && ch <= 0xDF) {
            n = 1;
            cp = ch & 0x1F;
        } else if (ch >= 0xE0 && ch <= 0xEF) {
            n = 2;
            cp = ch & 0x0F;
        } else if (ch >= 0xF0 && ch <= 0xF4) {
            n = 3;
            cp = ch & 0x07;
        } else {
            return 0;
        }
        if (len - i <= n) {
            return 0;
        }
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return 0;
            }
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)
            || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return 0;
        }
        i += n + 1;
    }
    return 1;
}

static int jd_attrs(jd_ctx *c, const cJSON *arr, const char *key,
                    td_attrs *attrs, int depth);

/* The deepest AnyValue nesting accepted; cJSON stops at 1000 levels. */
#define JD_MAX_DEPTH 64

/* An AnyValue object ({"stringValue": ...}) into *v. */
static int
jd_value(jd_ctx *c, const cJSON *obj, const char *key, td_value *v,
         int depth)
{
    const cJSON *it;
    uint64_t u = 0;
    int rc;

    if (depth > JD_MAX_DEPTH) {
        return jd_fail(c, key, "nested too deeply");
    }
    if (obj == NULL || cJSON_IsNull(obj)) {
        v->type = TD_VAL_EMPTY;
        return 0;
    }
    if (!cJSON_IsObject(obj)) {
        return jd_fail(c, key, "not an AnyValue object");
    }
    if ((it = jd_get(obj, "stringValue", "string_value")) != NULL) {
        if (!cJSON_IsString(it)) {
            return jd_fail(c, key, "stringValue is not a string");
        }
        v->type = TD_VAL_STR;
        v->u.s = td_batch_str(c->b, it->valuestring,
                              strlen(it->valuestring));
        if (v->u.s.ptr == NULL) {
            c->nomem = 1;
            return TD_ENOMEM;
        }
        return 0;
    }
    if ((it = jd_get(obj, "boolValue", "bool_value")) != NULL) {
        if (!cJSON_IsBool(it)) {
            return jd_fail(c, key, "boolValue is not a boolean");
        }
        v->type = TD_VAL_BOOL;
        v->u.b = cJSON_IsTrue(it);
        return 0;
    }
    if ((it = jd_get(obj, "intValue", "int_value")) != NULL) {
        size_t old = jd_push(c, key, -1);

        rc = jd_int64(c, it, "intValue", 1, &u);
        jd_pop(c, old);
        if (rc < 0) {
            return rc;
        }
        v->type = TD_VAL_INT;
        v->u.i = (int64_t) u;
        return 0;
    }
    if ((it = jd_get(obj, "doubleValue", "double_value")) != NULL) {
        v->type = TD_VAL_DOUBLE;
        if (cJSON_IsNumber(it)) {
            v->u.d = it->valuedouble;
            return 0;
        }
        if (cJSON_IsString(it)) {
            const char *s = it->valuestring;

            if (strcmp(s, "NaN") == 0) {
                v->u.d = (double) NAN;
                return 0;
            }
            if (strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0) {
                v->u.d = s[0] == '-' ? -(double) INFINITY : (double) INFINITY;
                return 0;
            }
        }
        return jd_fail(c, key, "doubleValue is not a number");
    }
    if ((it = jd_get(obj, "bytesValue", "bytes_value")) != NULL) {
        if (!cJSON_IsString(it)) {
            return jd_fail(c, key, "bytesValue is not a string");
        }
        v->type = TD_VAL_BYTES;
        return jd_base64(c, it->valuestring, key, &v->u.s);
    }
    if ((it = jd_get(obj, "arrayValue", "array_value")) != NULL) {
        const cJSON *vals;
        size_t old;
        int i = 0;

        v->type = TD_VAL_ARRAY;
        if (!cJSON_IsObject(it)) {
            return jd_fail(c, key, "arrayValue is not an object");
        }
        vals = cJSON_GetObjectItemCaseSensitive(it, "values");
        if (vals == NULL) {
            return 0;
        }
        if (!cJSON_IsArray(vals)) {
            return jd_fail(c, key, "arrayValue.values is not an array");
        }
        old = jd_push(c, key, -1);
        jd_push(c, "arrayValue", -1);
        for (const cJSON *e = vals->child; e != NULL; e = e->next, i++) {
            td_value *ev = td_value_array_add(c->b, v);
            char name[32];

            if (ev == NULL) {
                c->nomem = 1;
                jd_pop(c, old);
                return TD_ENOMEM;
            }
            snprintf(name, sizeof(name), "values[%d]", i);
            rc = jd_value(c, e, name, ev, depth + 1);
            if (rc < 0) {
                jd_pop(c, old);
                return rc;
            }
        }
        jd_pop(c, old);
        return 0;
    }
    if ((it = jd_get(obj, "kvlistValue", "kvlist_value")) != NULL) {
        size_t old;

        v->type = TD_VAL_MAP;
        if (!cJSON_IsObject(it)) {
            return jd_fail(c, key, "kvlistValue is not an object");
        }
        old = jd_push(c, key, -1);
        jd_push(c, "kvlistValue", -1);
        rc = jd_attrs(c, cJSON_GetObjectItemCaseSensitive(it, "values"),
                      "values", &v->u.map, depth + 1);
        jd_pop(c, old);
        return rc;
    }
    v->type = TD_VAL_EMPTY;
    return 0;
}

/* A KeyValue list (attributes, kvlistValue.values) into attrs. */
static int
jd_attrs(jd_ctx *c, const cJSON *arr, const char *key, td_attrs *attrs,
         int depth)
{
    int i = 0;
    int rc = 0;

    if (arr == NULL || cJSON_IsNull(arr)) {
        return 0;
    }
    if (!cJSON_IsArray(arr)) {
        return jd_fail(c, key, "not an array");
    }
    for (const cJSON *kv = arr->child; kv != NULL; kv = kv->next, i++) {
        size_t old = jd_push(c, key, i);
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(kv, "key");
        td_value *v;

        if (!cJSON_IsObject(kv)) {
            rc = jd_fail(c, "", "not an object");
        } else if (!cJSON_IsString(k)) {
            rc = jd_fail(c, "key", "not a string");
        } else if ((v = td_attrs_add(c->b, attrs, k->valuestring,
                                     strlen(k->valuestring))) == NULL) {
            c->nomem = 1;
            rc = TD_ENOMEM;
        } else {
            rc = jd_value(c, cJSON_GetObjectItemCaseSensitive(kv, "value"),
                          "value", v, depth);
        }
        jd_pop(c, old);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

static int
jd_resource(jd_ctx *c, const cJSON *obj, td_resource *res)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(obj, "resource");
    size_t old;
    int rc = 0;

    if (jd_str(c, obj, "schemaUrl", "schema_url", &res->schema_url) < 0) {
        return TD_EINVAL;
    }
    if (r == NULL || cJSON_IsNull(r)) {
        return 0;
    }
    old = jd_push(c, "resource", -1);
    if (!cJSON_IsObject(r)) {
        rc = jd_fail(c, "", "not an object");
    }
    if (rc == 0) {
        rc = jd_attrs(c, cJSON_GetObjectItemCaseSensitive(r, "attributes"),
                      "attributes", &res->attrs, 0);
    }
    if (rc == 0) {
        rc = jd_u32(c, r, "droppedAttributesCount",
                    "dropped_attributes_count",
                    &res->dropped_attributes_count);
    }
    jd_pop(c, old);
    return rc;
}

static int
jd_scope(jd_ctx *c, const cJSON *obj, td_scope *sc)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(obj, "scope");
    size_t old;
    int rc = 0;

    if (jd_str(c, obj, "schemaUrl", "schema_url", &sc->schema_url) < 0) {
        return TD_EINVAL;
    }
    if (s == NULL || cJSON_IsNull(s)) {
        return 0;
    }
    old = jd_push(c, "scope", -1);
    if (!cJSON_IsObject(s)) {
        rc = jd_fail(c, "", "not an object");
    }
    if (rc == 0) {
        rc = jd_str(c, s, "name", NULL, &sc->name);
    }
    if (rc == 0) {
        rc = jd_str(c, s, "version", NULL, &sc->version);
    }
    if (rc == 0) {
        rc = jd_attrs(c, cJSON_GetObjectItemCaseSensitive(s, "attributes"),
                      "attributes", &sc->attrs, 0);
    }
    if (rc == 0) {
        rc = jd_u32(c, s, "droppedAttributesCount",
                    "dropped_attributes_count",
                    &sc->dropped_attributes_count);
    }
    jd_pop(c, old);
    return rc;
}

static const char *const jd_severity_names[] = {
    "SEVERITY_NUMBER_UNSPECIFIED",
    "SEVERITY_NUMBER_TRACE", "SEVERITY_NUMBER_TRACE2",
    "SEVERITY_NUMBER_TRACE3", "SEVERITY_NUMBER_TRACE4",
    "SEVERITY_NUMBER_DEBUG", "SEVERITY_NUMBER_DEBUG2",
    "SEVERITY_NUMBER_DEBUG3", "SEVERITY_NUMBER_DEBUG4",
    "SEVERITY_NUMBER_INFO", "SEVERITY_NUMBER_INFO2",
    "SEVERITY_NUMBER_INFO3", "SEVERITY_NUMBER_INFO4",
    "SEVERITY_NUMBER_WARN", "SEVERITY_NUMBER_WARN2",
    "SEVERITY_NUMBER_WARN3", "SEVERITY_NUMBER_WARN4",
    "SEVERITY_NUMBER_ERROR", "SEVERITY_NUMBER_ERROR2",
    "SEVERITY_NUMBER_ERROR3", "SEVERITY_NUMBER_ERROR4",
    "SEVERITY_NUMBER_FATAL", "SEVERITY_NUMBER_FATAL2",
    "SEVERITY_NUMBER_FATAL3", "SEVERITY_NUMBER_FATAL4",
};

/* One LogRecord into rec (not yet in the batch). */
static int
jd_log(jd_ctx *c, const cJSON *o, td_log_record *rec)
{
    int32_t sev = 0;

    if (!cJSON_IsObject(o)) {
        return jd_fail(c, "", "not an object");
    }
    if (jd_u64(c, o, "timeUnixNano", "time_unix_nano",
               &rec->time_unix_nano) < 0
        || jd_u64(c, o, "observedTimeUnixNano", "observed_time_unix_nano",
                  &rec->observed_time_unix_nano) < 0
        || jd_enum(c, o, "severityNumber", "severity_number",
                   jd_severity_names, 25, &sev) < 0
        || jd_str(c, o, "severityText", "severity_text",
                  &rec->severity_text) < 0
        || jd_value(c, cJSON_GetObjectItemCaseSensitive(o, "body"), "body",
                    &rec->body, 0) < 0
        || jd_attrs(c, cJSON_GetObjectItemCaseSensitive(o, "attributes"),
                    "attributes", &rec->attrs, 0) < 0
        || jd_u32(c, o, "droppedAttributesCount",
                  "dropped_attributes_count",
                  &rec->dropped_attributes_count) < 0
        || jd_u32(c, o, "flags", NULL, &rec->flags) < 0
        || jd_id(c, o, "traceId", "trace_id", rec->trace_id, 16) < 0
        || jd_id(c, o, "spanId", "span_id", rec->span_id, 8) < 0
        || jd_str(c, o, "eventName", "event_name", &rec->event_name) < 0) {
        return c->nomem ? TD_ENOMEM : TD_EINVAL;
    }
    rec->severity_number = sev;
    return 0;
}

static const char *const jd_kind_names[] = {
    "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
};

static const char *const jd_status_names[] = {
    "STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR",
};

static int
jd_events(jd_ctx *c, const cJSON *arr, td_span *sp)
{
    int i = 0;
    int rc = 0;

    if (arr == NULL || cJSON_IsNull(arr)) {
        return 0;
    }
    if (!cJSON_IsArray(arr)) {
        return jd_fail(c, "events", "not an array");
    }
    for (const cJSON *e = arr->child; e != NULL && rc == 0; e = e->next) {
        size_t old = jd_push(c, "events", i++);
        td_span_event *ev = td_span_add_event(c->b, sp);

        if (ev == NULL) {
            c->nomem = 1;
            rc = TD_ENOMEM;
        } else if (!cJSON_IsObject(e)) {
            rc = jd_fail(c, "", "not an object");
        } else if (jd_u64(c, e, "timeUnixNano", "time_unix_nano",
                          &ev->time_unix_nano) < 0
                   || jd_str(c, e, "name", NULL, &ev->name) < 0
                   || jd_attrs(c,
                               cJSON_GetObjectItemCaseSensitive(
                                   e, "attributes"),
                               "attributes", &ev->attrs, 0) < 0
                   || jd_u32(c, e, "droppedAttributesCount",
                             "dropped_attributes_count",
                             &ev->dropped_attributes_count) < 0) {
            rc = TD_EINVAL;
        }
        jd_pop(c, old);
    }
    return rc;
}

static int
jd_links(jd_ctx *c, const cJSON *arr, td_span *sp)
{
    int i = 0;
    int rc = 0;

    if (arr == NULL || cJSON_IsNull(arr)) {
        return 0;
    }
    if (!cJSON_IsArray(arr)) {
        return jd_fail(c, "links", "not an array");
    }
    for (const cJSON *e = arr->child; e != NULL && rc == 0; e = e->next) {
        size_t old = jd_push(c, "links", i++);
        td_span_link *ln = td_span_add_link(c->b, sp);

        if (ln == NULL) {
            c->nomem = 1;
            rc = TD_ENOMEM;
        } else if (!cJSON_IsObject(e)) {
            rc = jd_fail(c, "", "not an object");
        } else if (jd_id(c, e, "traceId", "trace_id", ln->trace_id, 16) < 0
                   || jd_id(c, e, "spanId", "span_id", ln->span_id, 8) < 0
                   || jd_str(c, e, "traceState", "trace_state",
                             &ln->trace_state) < 0
                   || jd_attrs(c,
                               cJSON_GetObjectItemCaseSensitive(
                                   e, "attributes"),
                               "attributes", &ln->attrs, 0) < 0
                   || jd_u32(c, e, "droppedAttributesCount",
                             "dropped_attributes_count",
                             &ln->dropped_attributes_count) < 0
                   || jd_u32(c, e, "flags", NULL, &ln->flags) < 0) {
            rc = TD_EINVAL;
        }
        jd_pop(c, old);
    }
    return rc;
}

/* One Span into sp (not yet in the batch). */
static int
jd_span(jd_ctx *c, const cJSON *o, td_span *sp)
{
    const cJSON *st;
    int32_t kind = 0;
    int32_t code = 0;

    if (!cJSON_IsObject(o)) {
        return jd_fail(c, "", "not an object");
    }
    if (jd_id(c, o, "traceId", "trace_id", sp->trace_id, 16) < 0
        || jd_id(c, o, "spanId", "span_id", sp->span_id, 8) < 0
        || jd_id(c, o, "parentSpanId", "parent_span_id",
                 sp->parent_span_id, 8) < 0
        || jd_str(c, o, "traceState", "trace_state", &sp->trace_state) < 0
        || jd_u32(c, o, "flags", NULL, &sp->flags) < 0
        || jd_str(c, o, "name", NULL, &sp->name) < 0
        || jd_enum(c, o, "kind", NULL, jd_kind_names, 6, &kind) < 0
        || jd_u64(c, o, "startTimeUnixNano", "start_time_unix_nano",
                  &sp->start_time_unix_nano) < 0
        || jd_u64(c, o, "endTimeUnixNano", "end_time_unix_nano",
                  &sp->end_time_unix_nano) < 0
        || jd_attrs(c, cJSON_GetObjectItemCaseSensitive(o, "attributes"),
                    "attributes", &sp->attrs, 0) < 0
        || jd_u32(c, o, "droppedAttributesCount",
                  "dropped_attributes_count",
                  &sp->dropped_attributes_count) < 0
        || jd_events(c, cJSON_GetObjectItemCaseSensitive(o, "events"),
                     sp) < 0
        || jd_u32(c, o, "droppedEventsCount", "dropped_events_count",
                  &sp->dropped_events_count) < 0
        || jd_links(c, cJSON_GetObjectItemCaseSensitive(o, "links"), sp) < 0
        || jd_u32(c, o, "droppedLinksCount", "dropped_links_count",
                  &sp->dropped_links_count) < 0) {
        return c->nomem ? TD_ENOMEM : TD_EINVAL;
    }
    sp->kind = (td_span_kind) kind;
    st = cJSON_GetObjectItemCaseSensitive(o, "status");
    if (st != NULL && !cJSON_IsNull(st)) {
        size_t old = jd_push(c, "status", -1);
        int rc = 0;

        if (!cJSON_IsObject(st)) {
            rc = jd_fail(c, "", "not an object");
        } else if (jd_str(c, st, "message", NULL, &sp->status_message) < 0
                   || jd_enum(c, st, "code", NULL, jd_status_names, 3,
                              &code) < 0) {
            rc = c->nomem ? TD_ENOMEM : TD_EINVAL;
        }
        jd_pop(c, old);
        if (rc < 0) {
            return rc;
        }
        sp->status_code = (td_status_code) code;
    }
    return 0;
}

/*
 * The records of one scope group. A bad record is skipped and counted;
 * it was decoded into a local copy, so the batch never holds half of one.
 */
static int
jd_records(jd_ctx *c, const cJSON *arr, const char *key,
           td_scope_group *sg, size_t *rejected)
{
    int i = 0;

    if (arr == NULL || cJSON_IsNull(arr)) {
        return 0;
    }
    if (!cJSON_IsArray(arr)) {
        return jd_fail(c, key, "not an array");
    }
    for (const cJSON *o = arr->child; o != NULL; o = o->next, i++) {
        size_t old = jd_push(c, key, i);
        int rc;

        if (c->b->signal == TD_SIGNAL_LOGS) {
            td_log_record rec;
            td_log_record *dst;

            memset(&rec, 0, sizeof(rec));
            rc = jd_log(c, o, &rec);
            if (rc == 0) {
                if ((dst = td_batch_add_log(c->b, sg)) == NULL) {
                    rc = TD_ENOMEM;
                } else {
                    rec.next = dst->next;
                    *dst = rec;
                }
            }
        } else {
            td_span sp;
            td_span *dst;

            memset(&sp, 0, sizeof(sp));
            rc = jd_span(c, o, &sp);
            if (rc == 0) {
                if ((dst = td_batch_add_span(c->b, sg)) == NULL) {
                    rc = TD_ENOMEM;
                } else {
                    sp.next = dst->next;
                    *dst = sp;
                }
            }
        }
        jd_pop(c, old);
        if (rc == TD_ENOMEM || c->nomem) {
            return TD_ENOMEM;
        }
        if (rc < 0) {
            (*rejected)++;
        }
    }
    return 0;
}

/* Names of the lists per signal: camelCase, then snake_case. */
typedef struct jd_names {
    const char *res[2];
    const char *scope[2];
    const char *rec[2];
} jd_names;

static int
jd_request(jd_ctx *c, const cJSON *root, const jd_names *nm,
           size_t *rejected)
{
    const cJSON *rl = jd_get(root, nm->res[0], nm->res[1]);
    int i = 0;
    int rc = 0;

    if (rl == NULL || cJSON_IsNull(rl)) {
        return 0;
    }
    if (!cJSON_IsArray(rl)) {
        return jd_fail(c, nm->res[0], "not an array");
    }
    for (const cJSON *r = rl->child; r != NULL && rc == 0; r = r->next) {
        size_t old = jd_push(c, nm->res[0], i++);
        td_resource_group *rg = td_batch_add_resource(c->b);
        const cJSON *sl;
        int j = 0;

        if (rg == NULL) {
            c->nomem = 1;
            rc = TD_ENOMEM;
        } else if (!cJSON_IsObject(r)) {
            rc = jd_fail(c, "", "not an object");
        } else {
            rc = jd_resource(c, r, &rg->resource);
        }
        sl = rc == 0 ? jd_get(r, nm->scope[0], nm->scope[1]) : NULL;
        if (sl != NULL && !cJSON_IsNull(sl) && !cJSON_IsArray(sl)) {
            rc = jd_fail(c, nm->scope[0], "not an array");
            sl = NULL;
        }
        for (const cJSON *s = sl != NULL ? sl->child : NULL;
             s != NULL && rc == 0; s = s->next) {
            size_t sold = jd_push(c, nm->scope[0], j++);
            td_scope_group *sg = td_batch_add_scope(c->b, rg);

            if (sg == NULL) {
                c->nomem = 1;
                rc = TD_ENOMEM;
            } else if (!cJSON_IsObject(s)) {
                rc = jd_fail(c, "", "not an object");
            } else if ((rc = jd_scope(c, s, &sg->scope)) == 0) {
                rc = jd_records(c, jd_get(s, nm->rec[0], nm->rec[1]),
                                nm->rec[0], sg, rejected);
            }
            jd_pop(c, sold);
        }
        jd_pop(c, old);
    }
    return c->nomem ? TD_ENOMEM : rc;
}

static const jd_names jd_logs_names = {
    {"resourceLogs", "resource_logs"},
    {"scopeLogs", "scope_logs"},
    {"logRecords", "log_records"},
};

static const jd_names jd_traces_names = {
    {"resourceSpans", "resource_spans"},
    {"scopeSpans", "scope_spans"},
    {"spans", NULL},
};

int
td_otlp_json_decode(td_signal signal, const char *buf, size_t len,
                    td_batch **out, size_t *rejected, char *err,
                    size_t errlen)
{
    jd_ctx c;
    td_arena *scratch;
    cJSON *root;
    size_t nrej = 0;
    int rc;

    *out = NULL;
    if (rejected != NULL) {
        *rejected = 0;
    }
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    memset(&c, 0, sizeof(c));
    c.err = err;
    c.errlen = errlen;
    if (signal != TD_SIGNAL_LOGS && signal != TD_SIGNAL_TRACES) {
        jd_fail(&c, "", "metrics are not decoded yet");
        return TD_EINVAL;
    }
    if (!jd_utf8_valid((const unsigned char *) buf, len)) {
        jd_fail(&c, "", "not valid UTF-8");
        return TD_EINVAL;
    }
    scratch = td_arena_new(len * 8 + 4096);
    if (scratch == NULL) {
        return TD_ENOMEM;
    }
    td_cjson_arena_init();
    td_cjson_arena_begin(scratch);
    root = cJSON_ParseWithLength(buf, len);
    if (root == NULL) {
        td_cjson_arena_end();
        td_arena_unref(scratch);
        jd_fail(&c, "", "not valid JSON");
        return TD_EINVAL;
    }
    rc = TD_ENOMEM;
    c.b = td_batch_new(signal, len);
    if (c.b != NULL && !cJSON_IsObject(root)) {
        rc = jd_fail(&c, "", "not a JSON object");
    } else if (c.b != NULL) {
        rc = jd_request(&c, root, signal == TD_SIGNAL_LOGS
                                      ? &jd_logs_names : &jd_traces_names,
                        &nrej);
    }
    td_cjson_arena_end();
    td_arena_unref(scratch);
    if (rc < 0) {
        if (rc == TD_ENOMEM && err != NULL && errlen > 0) {
            snprintf(err, errlen, "out of memory");
        }
        if (c.b != NULL) {
            td_batch_unref(c.b);
        }
        return rc;
    }
    if (rejected != NULL) {
        *rejected = nrej;
    }
    *out = c.b;
    return 0;
}
