/*
 * test_ndjson.c - NDJSON framing and the mapping of a line to a log
 * record (receivers/ndjson.c), against the rules in docs/TCPLOG.md.
 *
 * Records are checked field by field; values are compared through their
 * OTLP/JSON rendering (td_otlp_json_value), which spells out the type of
 * every AnyValue, so that an int and a double of the same magnitude, or
 * a string and a number, never pass for each other. Whole batches are
 * compared through td_otlp_json_encode where two ways of feeding the
 * same bytes must give the same records.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "otlp_json.h"
#include "receivers/ndjson.h"
#include "telemetry.h"
#include "tt.h"

/* The observed time every fixture stamps on its records. */
#define NOW 1700000000000000000ull

/* 2024-05-01T12:00:00Z in seconds and nanoseconds. */
#define T0  1714564800ull
#define T0N 1714564800000000000ull

#define FFFD "\xEF\xBF\xBD"

/* ---- fixture ---- */

typedef struct fx {
    td_ndjson_opts opts;
    td_ndjson_builder bld;
    td_batch *b;
} fx;

static void
fx_open_opts(fx *f, bool json, const td_cfg_strmap *res,
             const td_cfg_strmap *attrs, const char *peer, int port)
{
    memset(f, 0, sizeof(*f));
    f->opts.parse_json = json;
    f->opts.resource = res;
    f->opts.attributes = attrs;
    TT_CHECK_INT(td_ndjson_builder_init(&f->bld, &f->opts), 0);
    f->b = td_batch_new(TD_SIGNAL_LOGS, 0);
    TT_CHECK(f->b != NULL);
    td_ndjson_builder_begin(&f->bld, f->b, peer, port, NOW);
}

static void
fx_open(fx *f)
{
    fx_open_opts(f, true, NULL, NULL, NULL, 0);
}

static void
fx_close(fx *f)
{
    td_batch_unref(f->b);
    td_ndjson_builder_free(&f->bld);
}

/* Maps len bytes as one complete, untruncated line. */
static int
fx_map_len(fx *f, const char *s, size_t len)
{
    td_ndjson_line line = {s, len, len, false};

    return td_ndjson_map(&f->bld, &line);
}

static int
fx_map(fx *f, const char *s)
{
    return fx_map_len(f, s, strlen(s));
}

/*
 * The idx-th record of a batch, walking resources, scopes, records. A
 * missing record fails the check and yields an empty one, so callers
 * may read its fields.
 */
static const td_log_record *
rec_at(const td_batch *b, size_t idx)
{
    static const td_log_record missing;

    for (td_resource_group *rg = b->resources; rg != NULL; rg = rg->next) {
        for (td_scope_group *sg = rg->scopes; sg != NULL; sg = sg->next) {
            for (td_log_record *r = sg->head.logs; r != NULL; r = r->next) {
                if (idx-- == 0) {
                    return r;
                }
            }
        }
    }
    TT_CHECK(!"the batch has that many records");
    return &missing;
}

/* Maps one line into a fresh fixture and returns its only record. */
static const td_log_record *
one(fx *f, const char *s)
{
    fx_open(f);
    TT_CHECK_INT(fx_map(f, s), 1);
    TT_CHECK_INT(td_batch_items(f->b), 1);
    return rec_at(f->b, 0);
}

/* ---- rendering ---- */

/* Four rotating buffers so that one check may render two values. */
static char tt_out[4][8192];
static int tt_out_next;

static char *
out_buf(void)
{
    char *p = tt_out[tt_out_next];

    tt_out_next = (tt_out_next + 1) % 4;
    p[0] = '\0';
    return p;
}

static const char *
val_json(const td_value *v)
{
    td_buf b = TD_BUF_INIT;
    char *p = out_buf();

    if (v == NULL) {
        return "(absent)";
    }
    TT_CHECK_INT(td_otlp_json_value(v, &b), 0);
    snprintf(p, sizeof(tt_out[0]), "%s", b.data != NULL ? b.data : "");
    td_buf_free(&b);
    return p;
}

static const td_value *
attr(const td_log_record *r, const char *key)
{
    return r != NULL ? td_attrs_get(&r->attrs, key, strlen(key)) : NULL;
}

static const char *
attr_json(const td_log_record *r, const char *key)
{
    return val_json(attr(r, key));
}

static const char *
body_json(const td_log_record *r)
{
    return r != NULL ? val_json(&r->body) : "(no record)";
}

/* A td_str as a C string ("(null)" for the null string). */
static const char *
str_c(td_str s)
{
    char *p = out_buf();

    if (s.ptr == NULL) {
        return "(null)";
    }
    snprintf(p, sizeof(tt_out[0]), "%.*s", (int) s.len, s.ptr);
    return p;
}

/* The keys of an attribute list, comma-separated, in order. */
static const char *
keys_of(const td_attrs *a)
{
    char *p = out_buf();
    size_t o = 0;

    if (a == NULL || a->items == NULL) {
        return p;
    }
    for (uint32_t i = 0; i < a->n && o < sizeof(tt_out[0]) - 1; i++) {
        o += (size_t) snprintf(p + o, sizeof(tt_out[0]) - o, "%s%.*s",
                               i > 0 ? "," : "", (int) a->items[i].key.len,
                               a->items[i].key.ptr);
    }
    return p;
}

static const char *
rec_keys(const td_log_record *r)
{
    return r != NULL ? keys_of(&r->attrs) : "(no record)";
}

/* The whole batch as OTLP/JSON, checked to be JSON; malloc'd. */
static char *
batch_json(const td_batch *b)
{
    td_buf out = TD_BUF_INIT;
    cJSON *doc;

    TT_CHECK_INT(td_otlp_json_encode(b, &out), 0);
    doc = cJSON_Parse(out.data != NULL ? out.data : "");
    TT_CHECK(doc != NULL);
    cJSON_Delete(doc);
    return out.data;
}

/* ---- UTF-8 walk ---- */

static bool value_utf8(const td_value *v);

static bool
attrs_utf8(const td_attrs *a)
{
    for (uint32_t i = 0; i < a->n; i++) {
        if (!td_ndjson_utf8_valid(a->items[i].key.ptr, a->items[i].key.len)
            || !value_utf8(&a->items[i].val)) {
            return false;
        }
    }
    return true;
}

static bool
value_utf8(const td_value *v)
{
    switch (v->type) {
    case TD_VAL_STR:
        return td_ndjson_utf8_valid(v->u.s.ptr, v->u.s.len);
    case TD_VAL_ARRAY:
        for (uint32_t i = 0; i < v->u.arr.n; i++) {
            if (!value_utf8(&v->u.arr.items[i])) {
                return false;
            }
        }
        return true;
    case TD_VAL_MAP:
        return attrs_utf8(&v->u.map);
    default:
        return true;
    }
}

/* True when every string of every record and resource is UTF-8. */
static bool
batch_utf8(const td_batch *b)
{
    for (td_resource_group *rg = b->resources; rg != NULL; rg = rg->next) {
        if (!attrs_utf8(&rg->resource.attrs)) {
            return false;
        }
        for (td_scope_group *sg = rg->scopes; sg != NULL; sg = sg->next) {
            for (td_log_record *r = sg->head.logs; r != NULL; r = r->next) {
                if (!value_utf8(&r->body) || !attrs_utf8(&r->attrs)
                    || !td_ndjson_utf8_valid(r->severity_text.ptr,
                                             r->severity_text.len)) {
                    return false;
                }
            }
        }
    }
    return true;
}

/* ---- framing helpers ---- */

/*
 * Frames data in chunks of at most step bytes (0: all at once), maps
 * every line into f and flushes at the end. Checks on every call that
 * the framer holds no more than its maximum. Returns the records added.
 */
static int
feed(fx *f, size_t max, const char *data, size_t len, size_t step)
{
    td_ndjson_framer fr;
    td_ndjson_line line;
    int added = 0, rc;

    td_ndjson_framer_init(&fr, max);
    while (len > 0) {
        size_t n = step > 0 && step < len ? step : len;
        const char *p = data;
        size_t left = n, used;

        do {
            rc = td_ndjson_frame(&fr, p, left, &used, &line);
            TT_CHECK(rc == 0 || rc == 1);
            TT_CHECK(used <= left);
            TT_CHECK(fr.len <= max && fr.cap <= max);
            p += used;
            left -= used;
            if (rc == 1) {
                TT_CHECK(line.len <= max);
                rc = td_ndjson_map(&f->bld, &line);
                TT_CHECK(rc == 0 || rc == 1);
                added += rc;
            }
        } while (rc >= 0 && left > 0);
        TT_CHECK_INT(left, 0);
        data += n;
        len -= n;
    }
    if (td_ndjson_flush(&fr, &line) == 1) {
        added += td_ndjson_map(&f->bld, &line);
    }
    TT_CHECK(!td_ndjson_pending(&fr));
    td_ndjson_framer_free(&fr);
    return added;
}

/* ---- helpers exported by ndjson.h ---- */

static uint64_t
rfc(const char *s)
{
    uint64_t ns = 1;

    if (td_ndjson_parse_rfc3339(s, strlen(s), &ns) != 0) {
        return 1;       /* no valid input maps to 1 ns past the epoch */
    }
    return ns;
}

static void
test_rfc3339(void)
{
    TT_CHECK(rfc("2024-05-01T12:00:00Z") == T0N);
    TT_CHECK(rfc("2024-05-01T12:00:00") == T0N);
    TT_CHECK(rfc("2024-05-01 12:00:00Z") == T0N);
    TT_CHECK(rfc("2024-05-01t12:00:00z") == T0N);
    TT_CHECK(rfc("2024-05-01T14:00:00+02:00") == T0N);
    TT_CHECK(rfc("2024-05-01T07:30:00-04:30") == T0N);
    TT_CHECK(rfc("2024-05-01T14:00:00+0200") == T0N);
    TT_CHECK(rfc("2024-05-01T14:00:00+02") == T0N);
    TT_CHECK(rfc("2024-05-01T12:00:00.5Z") == T0N + 500000000);
    TT_CHECK(rfc("2024-05-01T12:00:00,25Z") == T0N + 250000000);
    TT_CHECK(rfc("2024-05-01T12:00:00.000001Z") == T0N + 1000);
    TT_CHECK(rfc("2024-05-01T12:00:00.123456789Z") == T0N + 123456789);
    TT_CHECK(rfc("2024-05-01T12:00:00.1234567891234Z") == T0N + 123456789);
    TT_CHECK(rfc("1970-01-01T00:00:00Z") == 0);
    TT_CHECK(rfc("2024-02-29T00:00:00Z") == 1709164800ull * 1000000000);
    TT_CHECK(rfc("2016-12-31T23:59:60Z") == 1483228800ull * 1000000000);

    /* Malformed, out of range or before the epoch. */
    TT_CHECK(rfc("2023-02-29T00:00:00Z") == 1);
    TT_CHECK(rfc("2024-13-01T00:00:00Z") == 1);
    TT_CHECK(rfc("2024-00-01T00:00:00Z") == 1);
    TT_CHECK(rfc("2024-04-31T00:00:00Z") == 1);
    TT_CHECK(rfc("2024-05-01T24:00:00Z") == 1);
    TT_CHECK(rfc("2024-05-01T12:60:00Z") == 1);
    TT_CHECK(rfc("2024-05-01T12:00:61Z") == 1);
    TT_CHECK(rfc("2024-05-01T12:00:00.Z") == 1);
    TT_CHECK(rfc("2024-05-01T12:00:00+24:00") == 1);
    TT_CHECK(rfc("2024-05-01T12:00:00+02:0") == 1);
    TT_CHECK(rfc("2024-05-01T12:00:00 UTC") == 1);
    TT_CHECK(rfc("2024-05-01X12:00:00Z") == 1);
    TT_CHECK(rfc("2024-5-01T12:00:00Z") == 1);
    TT_CHECK(rfc("2024-05-01") == 1);
    TT_CHECK(rfc("1969-12-31T23:59:59Z") == 1);
    TT_CHECK(rfc("1970-01-01T00:30:00+01:00") == 1);
    TT_CHECK(rfc("9999-12-31T23:59:59Z") == 1);     /* past 2^64 ns */
    TT_CHECK(rfc("") == 1);
}

static uint64_t
epoch(const char *s)
{
    uint64_t ns = 1;

    if (td_ndjson_parse_epoch(s, strlen(s), &ns) != 0) {
        return 1;
    }
    return ns;
}

static void
test_epoch(void)
{
    TT_CHECK(epoch("1714564800") == T0N);
    TT_CHECK(epoch("1714564800123") == T0N + 123000000);
    TT_CHECK(epoch("1714564800123456") == T0N + 123456000);
    TT_CHECK(epoch("1714564800123456789") == T0N + 123456789);
    TT_CHECK(epoch("1714564800.25") == T0N + 250000000);
    TT_CHECK(epoch("1714564800123.5") == T0N + 123500000);
    TT_CHECK(epoch("1714564800123456.7") == T0N + 123456700);
    TT_CHECK(epoch("1714564800123456789.9") == T0N + 123456789);
    TT_CHECK(epoch("0") == 0);

    /*
     * The unit boundaries: below 1e11 seconds, below 1e14 ms, below 1e17
     * us. Values of a unit that pass 2^64 ns (year 2554) are refused.
     */
    TT_CHECK(epoch("18446744073") == 18446744073ull * 1000000000);
    TT_CHECK(epoch("18446744074") == 1);
    TT_CHECK(epoch("99999999999") == 1);
    TT_CHECK(epoch("100000000000") == 100000000000ull * 1000000);
    TT_CHECK(epoch("100000000000000") == 100000000000000ull * 1000);
    TT_CHECK(epoch("100000000000000000") == 100000000000000000ull);

    /*
     * Just below 1e17 is microseconds even where a double would round
     * the integer up to 1e17; as microseconds it passes 2^64 ns.
     */
    TT_CHECK(epoch("99999999999999999") == 1);
    TT_CHECK(epoch("99999999999999") == 1);
    TT_CHECK(epoch("18446744073709551615") == UINT64_MAX);

    TT_CHECK(epoch("") == 1);
    TT_CHECK(epoch("-1") == 1);
    TT_CHECK(epoch("+1") == 1);
    TT_CHECK(epoch("1.") == 1);
    TT_CHECK(epoch(".5") == 1);
    TT_CHECK(epoch("1714564800x") == 1);
    TT_CHECK(epoch("1e9") == 1);
    TT_CHECK(epoch(" 1714564800") == 1);
    TT_CHECK(epoch("99999999999999999999") == 1);   /* over 2^64 */
    TT_CHECK(epoch("18446744073709551616") == 1);
}

static void
test_severity_names(void)
{
    static const struct {
        const char *s;
        int n;
    } cases[] = {
        {"trace", 1},  {"TRACE", 1},      {"debug", 5},
        {"Debug", 5},  {"DEBUG", 5},      {"info", 9},
        {"INFO", 9},   {"Info", 9},       {"information", 9},
        {"INFORMATION", 9}, {"informational", 9}, {"notice", 10},
        {"warn", 13},  {"WARN", 13},      {"warning", 13},
        {"Warning", 13}, {"error", 17},   {"ERROR", 17},
        {"err", 17},   {"ERR", 17},       {"fatal", 21},
        {"FATAL", 21}, {"critical", 22},  {"CRITICAL", 22},
        {"crit", 22},  {"alert", 23},     {"emerg", 24},
        {"emergency", 24}, {"panic", 24}, {"PANIC", 24},
        /* pino and bunyan numbers, then OTLP numbers. */
        {"10", 1},     {"20", 5},         {"30", 9},
        {"40", 13},    {"50", 17},        {"60", 21},
        {"1", 1},      {"9", 9},          {"13", 13},
        {"17", 17},    {"24", 24},
        /* Unknown. */
        {"", 0},       {"0", 0},          {"25", 0},
        {"70", 0},     {"100", 0},        {"-1", 0},
        {"verbose", 0}, {"informationx", 0}, {"inf", 0},
        {"warn ", 0},  {"a-very-long-level-name", 0},
    };

    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++) {
        int got = td_ndjson_severity(cases[i].s, strlen(cases[i].s));

        if (got != cases[i].n) {
            fprintf(stderr, "severity \"%s\": %d, expected %d\n",
                    cases[i].s, got, cases[i].n);
        }
        TT_CHECK_INT(got, cases[i].n);
    }
}

static void
test_utf8_valid(void)
{
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        {"", true},
        {"plain ascii, longer than eight bytes", true},
        {"caf\xC3\xA9", true},
        {"\xE2\x82\xAC euro", true},
        {"\xF0\x9F\x98\x80 smile", true},
        {"\xF4\x8F\xBF\xBF", true},             /* U+10FFFF */
        {"\xC3", false},                        /* cut short */
        {"\xE2\x82", false},
        {"\xF0\x9F\x98", false},
        {"\x80", false},                        /* lone continuation */
        {"\xC0\xAF", false},                    /* overlong */
        {"\xE0\x80\xAF", false},                /* overlong */
        {"\xED\xA0\x80", false},                /* surrogate */
        {"\xF4\x90\x80\x80", false},            /* past U+10FFFF */
        {"\xF5\x80\x80\x80", false},
        {"\xFF", false},
        {"12345678\xFF", false},                /* after the fast path */
    };

    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++) {
        TT_CHECK(td_ndjson_utf8_valid(cases[i].s, strlen(cases[i].s))
                 == cases[i].ok);
    }
}

/* ---- framing ---- */

static void
test_frame_basic(void)
{
    const char data[] = "one\ntwo\n\nthree";
    td_ndjson_framer fr;
    td_ndjson_line line;
    size_t used;

    td_ndjson_framer_init(&fr, 100);
    TT_CHECK_INT(td_ndjson_frame(&fr, data, 14, &used, &line), 1);
    TT_CHECK_INT(used, 4);
    TT_CHECK(line.ptr == data);             /* no copy for a whole line */
    TT_CHECK_INT(line.len, 3);
    TT_CHECK_INT(line.orig_len, 3);
    TT_CHECK(!line.truncated);

    TT_CHECK_INT(td_ndjson_frame(&fr, data + 4, 10, &used, &line), 1);
    TT_CHECK_INT(used, 4);
    TT_CHECK(line.len == 3 && memcmp(line.ptr, "two", 3) == 0);

    TT_CHECK_INT(td_ndjson_frame(&fr, data + 8, 6, &used, &line), 1);
    TT_CHECK_INT(used, 1);
    TT_CHECK_INT(line.len, 0);

    TT_CHECK(!td_ndjson_pending(&fr));
    TT_CHECK_INT(td_ndjson_frame(&fr, data + 9, 5, &used, &line), 0);
    TT_CHECK_INT(used, 5);
    TT_CHECK(td_ndjson_pending(&fr));
    TT_CHECK_INT(fr.len, 5);

    /* The rest of the line arrives; the line comes from the buffer. */
    TT_CHECK_INT(td_ndjson_frame(&fr, "s!\nx", 4, &used, &line), 1);
    TT_CHECK_INT(used, 3);
    TT_CHECK(line.len == 7 && memcmp(line.ptr, "threes!", 7) == 0);
    TT_CHECK_INT(line.orig_len, 7);
    TT_CHECK(!td_ndjson_pending(&fr));

    TT_CHECK_INT(td_ndjson_frame(&fr, "x", 1, &used, &line), 0);
    TT_CHECK_INT(td_ndjson_flush(&fr, &line), 1);
    TT_CHECK(line.len == 1 && line.ptr[0] == 'x');
    TT_CHECK_INT(td_ndjson_flush(&fr, &line), 0);
    TT_CHECK_INT(td_ndjson_frame(&fr, NULL, 0, &used, &line), 0);
    TT_CHECK_INT(used, 0);
    TT_CHECK_INT(td_ndjson_flush(&fr, &line), 0);
    td_ndjson_framer_free(&fr);
}

/* A line longer than max is cut; its original length is kept. */
static void
test_frame_overlong(void)
{
    char big[10000];
    td_ndjson_framer fr;
    td_ndjson_line line;
    size_t used;

    memset(big, 'a', sizeof(big));
    td_ndjson_framer_init(&fr, 64);

    /* Whole in one read: handed out in place, cut to max. */
    big[99] = '\n';
    TT_CHECK_INT(td_ndjson_frame(&fr, big, 100, &used, &line), 1);
    TT_CHECK_INT(used, 100);
    TT_CHECK_INT(line.len, 64);
    TT_CHECK_INT(line.orig_len, 99);
    TT_CHECK(line.truncated);
    big[99] = 'a';

    /* Over many reads: the buffer never grows past max. */
    for (int i = 0; i < 50; i++) {
        TT_CHECK_INT(td_ndjson_frame(&fr, big, sizeof(big), &used, &line),
                     0);
        TT_CHECK_INT(used, sizeof(big));
        TT_CHECK(fr.len <= 64 && fr.cap <= 64);
    }
    TT_CHECK_INT(td_ndjson_frame(&fr, "zz\n", 3, &used, &line), 1);
    TT_CHECK_INT(line.len, 64);
    TT_CHECK_INT(line.orig_len, 50 * sizeof(big) + 2);
    TT_CHECK(line.truncated);

    /* Exactly max is not truncated. */
    big[64] = '\n';
    TT_CHECK_INT(td_ndjson_frame(&fr, big, 65, &used, &line), 1);
    TT_CHECK_INT(line.len, 64);
    TT_CHECK(!line.truncated);
    TT_CHECK_INT(td_ndjson_frame(&fr, big, 30, &used, &line), 0);
    TT_CHECK_INT(td_ndjson_frame(&fr, big + 30, 35, &used, &line), 1);
    TT_CHECK_INT(line.len, 64);
    TT_CHECK(!line.truncated);
    td_ndjson_framer_free(&fr);
}

/*
 * \r\n ends a line as \n does; the \r is neither content nor counted,
 * so a CRLF line of exactly max bytes is not truncated.
 */
static void
test_frame_crlf(void)
{
    char buf[32];
    td_ndjson_framer fr;
    td_ndjson_line line;
    size_t used;

    td_ndjson_framer_init(&fr, 8);
    TT_CHECK_INT(td_ndjson_frame(&fr, "abc\r\n", 5, &used, &line), 1);
    TT_CHECK(line.len == 3 && memcmp(line.ptr, "abc", 3) == 0);
    TT_CHECK_INT(line.orig_len, 3);

    memcpy(buf, "12345678\r\n", 10);
    TT_CHECK_INT(td_ndjson_frame(&fr, buf, 10, &used, &line), 1);
    TT_CHECK_INT(line.len, 8);
    TT_CHECK_INT(line.orig_len, 8);
    TT_CHECK(!line.truncated);

    /* The same split so that \r and \n arrive in different reads. */
    TT_CHECK_INT(td_ndjson_frame(&fr, buf, 9, &used, &line), 0);
    TT_CHECK_INT(td_ndjson_frame(&fr, buf + 9, 1, &used, &line), 1);
    TT_CHECK_INT(line.len, 8);
    TT_CHECK_INT(line.orig_len, 8);
    TT_CHECK(!line.truncated);

    /* Seven bytes and \r fit: the \r is kept in the buffer, not shown. */
    TT_CHECK_INT(td_ndjson_frame(&fr, buf, 7, &used, &line), 0);
    TT_CHECK_INT(td_ndjson_frame(&fr, "\r", 1, &used, &line), 0);
    TT_CHECK_INT(td_ndjson_frame(&fr, "\n", 1, &used, &line), 1);
    TT_CHECK(line.len == 7 && memcmp(line.ptr, "1234567", 7) == 0);
    TT_CHECK(!line.truncated);

    /* One byte over max, then \r\n: truncated, \r not counted. */
    memcpy(buf, "123456789\r\n", 11);
    TT_CHECK_INT(td_ndjson_frame(&fr, buf, 11, &used, &line), 1);
    TT_CHECK_INT(line.len, 8);
    TT_CHECK_INT(line.orig_len, 9);
    TT_CHECK(line.truncated);
    TT_CHECK_INT(td_ndjson_frame(&fr, buf, 4, &used, &line), 0);
    TT_CHECK_INT(td_ndjson_frame(&fr, buf + 4, 7, &used, &line), 1);
    TT_CHECK_INT(line.len, 8);
    TT_CHECK_INT(line.orig_len, 9);
    TT_CHECK(line.truncated);

    /* A \r inside a line stays. */
    TT_CHECK_INT(td_ndjson_frame(&fr, "a\rb\n", 4, &used, &line), 1);
    TT_CHECK(line.len == 3 && memcmp(line.ptr, "a\rb", 3) == 0);

    /* A final line ending in \r at end of stream loses the \r too. */
    TT_CHECK_INT(td_ndjson_frame(&fr, "end\r", 4, &used, &line), 0);
    TT_CHECK_INT(td_ndjson_flush(&fr, &line), 1);
    TT_CHECK(line.len == 3 && memcmp(line.ptr, "end", 3) == 0);
    td_ndjson_framer_free(&fr);
}

/* ---- mapping: timestamps ---- */

static uint64_t
time_of(const char *json)
{
    fx f;
    const td_log_record *r = one(&f, json);
    uint64_t t = r != NULL ? r->time_unix_nano : 1;

    if (r != NULL) {
        TT_CHECK(r->observed_time_unix_nano == NOW);
    }
    fx_close(&f);
    return t;
}

static void
test_time_keys(void)
{
    TT_CHECK(time_of("{\"timestamp\":\"2024-05-01T12:00:00Z\"}") == T0N);
    TT_CHECK(time_of("{\"@timestamp\":\"2024-05-01T12:00:00.5Z\"}")
             == T0N + 500000000);
    TT_CHECK(time_of("{\"time\":\"2024-05-01T14:00:00+02:00\"}") == T0N);
    TT_CHECK(time_of("{\"ts\":\"2024-05-01 12:00:00.123456789Z\"}")
             == T0N + 123456789);
    TT_CHECK(time_of("{\"ts\":\"2024-05-01T07:30:00.000001-04:30\"}")
             == T0N + 1000);
    TT_CHECK(time_of("{\"msg\":\"no time\"}") == 0);

    /* A time key is not also kept as an attribute. */
    {
        fx f;
        const td_log_record *r =
            one(&f, "{\"@timestamp\":\"2024-05-01T12:00:00Z\",\"a\":1}");

        TT_CHECK_STR(rec_keys(r), "a");
        fx_close(&f);
    }
}

static void
test_time_epoch(void)
{
    /* Numbers: seconds, milliseconds, microseconds, nanoseconds. */
    TT_CHECK(time_of("{\"ts\":1714564800}") == T0N);
    TT_CHECK(time_of("{\"ts\":1714564800123}") == T0N + 123000000);
    TT_CHECK(time_of("{\"ts\":1714564800123456}") == T0N + 123456000);
    TT_CHECK(time_of("{\"ts\":1714564800123456789}") == T0N + 123456789);

    /* The same as strings. */
    TT_CHECK(time_of("{\"time\":\"1714564800\"}") == T0N);
    TT_CHECK(time_of("{\"time\":\"1714564800123\"}") == T0N + 123000000);
    TT_CHECK(time_of("{\"time\":\"1714564800123456\"}") == T0N + 123456000);
    TT_CHECK(time_of("{\"time\":\"1714564800123456789\"}")
             == T0N + 123456789);

    /* Fractions are exact: the number's text is read, not a double. */
    TT_CHECK(time_of("{\"ts\":1714564800.123456789}") == T0N + 123456789);
    TT_CHECK(time_of("{\"ts\":1714564800123.5}") == T0N + 123500000);
    TT_CHECK(time_of("{\"timestamp\":\"1714564800.25\"}")
             == T0N + 250000000);

    /* An exponent goes through a double. */
    TT_CHECK(time_of("{\"ts\":1.7145648e9}") == T0N);
    TT_CHECK(time_of("{\"ts\":1.7145648E12}") == T0N);
}

/*
 * An unparseable timestamp leaves the time unset (0: unknown in OTLP,
 * the observed time still set), keeps the value as an attribute and
 * says why in tandem.parse_error.
 */
static void
test_time_invalid(void)
{
    static const struct {
        const char *json, *key, *val;
    } cases[] = {
        {"{\"ts\":\"yesterday\"}", "ts", "{\"stringValue\":\"yesterday\"}"},
        {"{\"time\":\"2024-13-01T00:00:00Z\"}", "time",
         "{\"stringValue\":\"2024-13-01T00:00:00Z\"}"},
        {"{\"timestamp\":\"1969-12-31T23:59:59Z\"}", "timestamp",
         "{\"stringValue\":\"1969-12-31T23:59:59Z\"}"},
        {"{\"@timestamp\":-5}", "@timestamp", "{\"intValue\":\"-5\"}"},
        {"{\"ts\":true}", "ts", "{\"boolValue\":true}"},
        {"{\"ts\":null}", "ts", "{}"},
        {"{\"ts\":1e300}", "ts", "{\"doubleValue\":1e+300}"},
        {"{\"ts\":123456789012345678901}", "ts",
         "{\"doubleValue\":1.2345678901234568e+20}"},
        {"{\"ts\":{\"s\":1}}", "ts",
         "{\"kvlistValue\":{\"values\":[{\"key\":\"s\",\"value\":"
         "{\"intValue\":\"1\"}}]}}"},
    };

    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++) {
        char want[64];
        fx f;
        const td_log_record *r = one(&f, cases[i].json);

        snprintf(want, sizeof(want), "{\"stringValue\":\"unparseable "
                 "timestamp in \\\"%s\\\"\"}", cases[i].key);
        TT_CHECK(r != NULL && r->time_unix_nano == 0);
        TT_CHECK(r != NULL && r->observed_time_unix_nano == NOW);
        TT_CHECK_STR(attr_json(r, cases[i].key), cases[i].val);
        TT_CHECK_STR(attr_json(r, "tandem.parse_error"), want);
        fx_close(&f);
    }
}

/* The first time key with a usable value sets the time. */
static void
test_time_precedence(void)
{
    fx f;
    const td_log_record *r;

    r = one(&f, "{\"ts\":1714564800,\"time\":\"2030-01-01T00:00:00Z\"}");
    TT_CHECK(r->time_unix_nano == T0N);
    TT_CHECK_STR(attr_json(r, "time"),
                 "{\"stringValue\":\"2030-01-01T00:00:00Z\"}");
    TT_CHECK_STR(rec_keys(r), "time");
    fx_close(&f);

    r = one(&f, "{\"time\":\"soon\",\"ts\":1714564800}");
    TT_CHECK(r->time_unix_nano == T0N);
    TT_CHECK_STR(attr_json(r, "time"), "{\"stringValue\":\"soon\"}");
    TT_CHECK(attr(r, "ts") == NULL);
    TT_CHECK_STR(attr_json(r, "tandem.parse_error"),
                 "{\"stringValue\":\"unparseable timestamp in "
                 "\\\"time\\\"\"}");
    fx_close(&f);
}

/* ---- mapping: severity ---- */

static void
test_level_mapping(void)
{
    static const struct {
        const char *json;
        int n;
        const char *text;
    } cases[] = {
        {"{\"level\":\"trace\"}", 1, "trace"},
        {"{\"level\":\"DEBUG\"}", 5, "DEBUG"},
        {"{\"level\":\"info\"}", 9, "info"},
        {"{\"level\":\"Information\"}", 9, "Information"},
        {"{\"level\":\"warn\"}", 13, "warn"},
        {"{\"level\":\"WARNING\"}", 13, "WARNING"},
        {"{\"level\":\"error\"}", 17, "error"},
        {"{\"level\":\"Err\"}", 17, "Err"},
        {"{\"level\":\"fatal\"}", 21, "fatal"},
        {"{\"level\":\"CRITICAL\"}", 22, "CRITICAL"},
        {"{\"level\":\"panic\"}", 24, "panic"},
        {"{\"severity\":\"notice\"}", 10, "notice"},
        {"{\"severity\":\"Warn\"}", 13, "Warn"},
        {"{\"level\":30}", 9, "30"},
        {"{\"level\":50}", 17, "50"},
        {"{\"level\":17}", 17, "17"},
        {"{\"severity\":\"40\"}", 13, "40"},
        {"{\"severity\":21}", 21, "21"},
    };

    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++) {
        fx f;
        const td_log_record *r = one(&f, cases[i].json);

        TT_CHECK_INT(r->severity_number, cases[i].n);
        TT_CHECK_STR(str_c(r->severity_text), cases[i].text);
        TT_CHECK_STR(rec_keys(r), "");
        fx_close(&f);
    }
}

/* An unknown level leaves severity unset and stays an attribute. */
static void
test_level_unknown(void)
{
    static const struct {
        const char *json, *key, *val;
    } cases[] = {
        {"{\"level\":\"verbose\"}", "level", "{\"stringValue\":\"verbose\"}"},
        {"{\"level\":\"\"}", "level", "{\"stringValue\":\"\"}"},
        {"{\"level\":0}", "level", "{\"intValue\":\"0\"}"},
        {"{\"level\":70}", "level", "{\"intValue\":\"70\"}"},
        {"{\"level\":3.5}", "level", "{\"doubleValue\":3.5}"},
        {"{\"severity\":true}", "severity", "{\"boolValue\":true}"},
        {"{\"severity\":null}", "severity", "{}"},
        {"{\"level\":[\"info\"]}", "level",
         "{\"arrayValue\":{\"values\":[{\"stringValue\":\"info\"}]}}"},
    };

    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++) {
        fx f;
        const td_log_record *r = one(&f, cases[i].json);

        TT_CHECK_INT(r->severity_number, 0);
        TT_CHECK(r->severity_text.len == 0);
        TT_CHECK_STR(attr_json(r, cases[i].key), cases[i].val);
        TT_CHECK(attr(r, "tandem.parse_error") == NULL);
        fx_close(&f);
    }
}

static void
test_level_precedence(void)
{
    fx f;
    const td_log_record *r;

    /* Both usable: the first wins, the other stays an attribute. */
    r = one(&f, "{\"severity\":\"error\",\"level\":\"info\"}");
    TT_CHECK_INT(r->severity_number, 17);
    TT_CHECK_STR(attr_json(r, "level"), "{\"stringValue\":\"info\"}");
    fx_close(&f);

    /* The first is unknown: the next one still sets the severity. */
    r = one(&f, "{\"level\":\"loud\",\"severity\":\"warn\"}");
    TT_CHECK_INT(r->severity_number, 13);
    TT_CHECK_STR(str_c(r->severity_text), "warn");
    TT_CHECK_STR(attr_json(r, "level"), "{\"stringValue\":\"loud\"}");
    TT_CHECK_STR(rec_keys(r), "level");
    fx_close(&f);
}

/* ---- mapping: body ---- */

static void
test_message(void)
{
    fx f;
    const td_log_record *r;

    r = one(&f, "{\"message\":\"a\",\"msg\":\"b\"}");
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"a\"}");
    TT_CHECK_STR(attr_json(r, "msg"), "{\"stringValue\":\"b\"}");
    TT_CHECK_STR(rec_keys(r), "msg");
    fx_close(&f);

    r = one(&f, "{\"msg\":\"b\",\"message\":\"a\"}");
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"b\"}");
    TT_CHECK_STR(attr_json(r, "message"), "{\"stringValue\":\"a\"}");
    fx_close(&f);

    /* A body keeps its JSON type. */
    r = one(&f, "{\"msg\":{\"k\":[1,\"x\"]}}");
    TT_CHECK_STR(body_json(r),
                 "{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":"
                 "{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},"
                 "{\"stringValue\":\"x\"}]}}}]}}");
    fx_close(&f);

    r = one(&f, "{\"message\":42}");
    TT_CHECK_STR(body_json(r), "{\"intValue\":\"42\"}");
    fx_close(&f);

    r = one(&f, "{\"message\":\"line one\\nline \\\"two\\\" \\u00e9\"}");
    TT_CHECK_STR(body_json(r),
                 "{\"stringValue\":\"line one\\nline \\\"two\\\" "
                 "\xC3\xA9\"}");
    fx_close(&f);

    /* No message: an empty body. */
    r = one(&f, "{\"other\":\"x\"}");
    TT_CHECK(r->body.type == TD_VAL_EMPTY);
    TT_CHECK_STR(body_json(r), "{}");
    fx_close(&f);
}

/* ---- mapping: trace context ---- */

static void
test_trace_ids(void)
{
    static const uint8_t tid[16] = {
        0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03,
        0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c
    };
    static const uint8_t sid[8] = {
        0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74
    };
    fx f;
    const td_log_record *r;

    r = one(&f, "{\"trace_id\":\"5b8efff798038103d269b633813fc60c\","
                "\"span_id\":\"eee19b7ec3c1b174\"}");
    TT_CHECK(memcmp(r->trace_id, tid, 16) == 0);
    TT_CHECK(memcmp(r->span_id, sid, 8) == 0);
    TT_CHECK_STR(rec_keys(r), "");
    fx_close(&f);

    r = one(&f, "{\"trace_id\":\"5B8EFFF798038103D269B633813FC60C\","
                "\"span_id\":\"EEE19B7EC3C1B174\"}");
    TT_CHECK(memcmp(r->trace_id, tid, 16) == 0);
    TT_CHECK(memcmp(r->span_id, sid, 8) == 0);
    fx_close(&f);
}

static void
test_trace_ids_invalid(void)
{
    static const char *const bad_trace[] = {
        "\"5b8efff798038103d269b633813fc60\"",      /* 31 digits */
        "\"5b8efff798038103d269b633813fc60c0\"",    /* 33 digits */
        "\"5b8efff798038103d269b633813fc6zz\"",
        "\"00000000000000000000000000000000\"",
        "\"\"",
        "12345",
        "[\"5b8efff798038103d269b633813fc60c\"]",
    };
    char line[256];
    fx f;
    const td_log_record *r;

    for (size_t i = 0; i < TD_ARRAY_SIZE(bad_trace); i++) {
        snprintf(line, sizeof(line), "{\"trace_id\":%s}", bad_trace[i]);
        r = one(&f, line);
        TT_CHECK(td_id_is_zero(r->trace_id, 16));
        TT_CHECK(attr(r, "trace_id") != NULL);
        TT_CHECK_STR(attr_json(r, "tandem.parse_error"),
                     "{\"stringValue\":\"trace_id is not 32 hex digits "
                     "(or is all zero)\"}");
        fx_close(&f);
    }

    /* Both bad: both reasons, the trace_id one first. */
    r = one(&f, "{\"span_id\":\"0000000000000000\",\"trace_id\":\"x\","
                "\"msg\":\"m\"}");
    TT_CHECK(td_id_is_zero(r->trace_id, 16));
    TT_CHECK(td_id_is_zero(r->span_id, 8));
    TT_CHECK_STR(attr_json(r, "span_id"),
                 "{\"stringValue\":\"0000000000000000\"}");
    TT_CHECK_STR(attr_json(r, "tandem.parse_error"),
                 "{\"stringValue\":\"span_id is not 16 hex digits (or is "
                 "all zero); trace_id is not 32 hex digits (or is all "
                 "zero)\"}");
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"m\"}");
    fx_close(&f);

    /* A valid trace_id next to a bad span_id is still taken. */
    r = one(&f, "{\"trace_id\":\"0102030405060708090a0b0c0d0e0f10\","
                "\"span_id\":\"0102\"}");
    TT_CHECK(r->trace_id[0] == 1 && r->trace_id[15] == 0x10);
    TT_CHECK(td_id_is_zero(r->span_id, 8));
    fx_close(&f);
}

/* ---- mapping: service and resources ---- */

static const td_resource_group *
rg_at(const td_batch *b, size_t idx)
{
    const td_resource_group *rg = b->resources;

    while (rg != NULL && idx-- > 0) {
        rg = rg->next;
    }
    return rg;
}

static size_t
rg_count(const td_batch *b)
{
    size_t n = 0;

    for (const td_resource_group *rg = b->resources; rg; rg = rg->next) {
        n++;
    }
    return n;
}

static const char *
rg_service(const td_resource_group *rg)
{
    const td_value *v;

    if (rg == NULL) {
        return "(no group)";
    }
    v = td_attrs_get(&rg->resource.attrs, "service.name", 12);
    return val_json(v);
}

static uint32_t
rg_records(const td_resource_group *rg)
{
    return rg != NULL && rg->scopes != NULL ? rg->scopes->n_records : 0;
}

static void
test_service_groups(void)
{
    fx f;

    fx_open(&f);
    TT_CHECK_INT(fx_map(&f, "{\"service\":\"api\",\"msg\":\"1\"}"), 1);
    TT_CHECK_INT(fx_map(&f, "{\"service\":\"db\",\"msg\":\"2\"}"), 1);
    TT_CHECK_INT(fx_map(&f, "{\"msg\":\"3\"}"), 1);
    TT_CHECK_INT(fx_map(&f, "not json"), 1);
    TT_CHECK_INT(fx_map(&f, "{\"msg\":\"5\",\"service\":\"api\"}"), 1);
    TT_CHECK_INT(fx_map(&f, "{\"service\":7,\"msg\":\"6\"}"), 1);
    TT_CHECK_INT(td_batch_items(f.b), 6);

    TT_CHECK_INT(rg_count(f.b), 3);
    TT_CHECK_STR(rg_service(rg_at(f.b, 0)), "{\"stringValue\":\"api\"}");
    TT_CHECK_STR(rg_service(rg_at(f.b, 1)), "{\"stringValue\":\"db\"}");
    TT_CHECK_STR(rg_service(rg_at(f.b, 2)), "(absent)");
    TT_CHECK_INT(rg_records(rg_at(f.b, 0)), 2);
    TT_CHECK_INT(rg_records(rg_at(f.b, 1)), 1);
    TT_CHECK_INT(rg_records(rg_at(f.b, 2)), 3);

    /* Records keep their order inside a group. */
    TT_CHECK_STR(body_json(rec_at(f.b, 0)), "{\"stringValue\":\"1\"}");
    TT_CHECK_STR(body_json(rec_at(f.b, 1)), "{\"stringValue\":\"5\"}");
    TT_CHECK_STR(body_json(rec_at(f.b, 2)), "{\"stringValue\":\"2\"}");

    /* service is not an attribute, unless it is not a string. */
    TT_CHECK_STR(rec_keys(rec_at(f.b, 0)), "");
    TT_CHECK_STR(attr_json(rec_at(f.b, 5), "service"),
                 "{\"intValue\":\"7\"}");
    fx_close(&f);

    /* A new batch starts with no groups. */
    fx_open(&f);
    TT_CHECK_INT(fx_map(&f, "{\"service\":\"api\"}"), 1);
    td_batch_unref(f.b);
    f.b = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_ndjson_builder_begin(&f.bld, f.b, NULL, 0, NOW);
    TT_CHECK_INT(fx_map(&f, "{\"service\":\"api\"}"), 1);
    TT_CHECK_INT(rg_count(f.b), 1);
    TT_CHECK_INT(rg_records(rg_at(f.b, 0)), 1);
    fx_close(&f);
}

/* ---- mapping: attribute values ---- */

static void
test_values_numbers(void)
{
    fx f;
    const td_log_record *r;
    const td_value *v;

    r = one(&f, "{\"i\":42,\"neg\":-7,\"zero\":-0,\"d\":42.0,\"e\":1e3,"
                "\"frac\":0.1,\"max\":9223372036854775807,"
                "\"min\":-9223372036854775808,"
                "\"over\":9223372036854775808,"
                "\"under\":-9223372036854775809,"
                "\"huge\":123456789012345678901234567890,"
                "\"inf\":1e999,\"ninf\":-1e999,"
                "\"exact\":1234567890123456789}");
    TT_CHECK_STR(attr_json(r, "i"), "{\"intValue\":\"42\"}");
    TT_CHECK_STR(attr_json(r, "neg"), "{\"intValue\":\"-7\"}");
    TT_CHECK_STR(attr_json(r, "zero"), "{\"intValue\":\"0\"}");
    TT_CHECK_STR(attr_json(r, "d"), "{\"doubleValue\":42}");
    TT_CHECK_STR(attr_json(r, "e"), "{\"doubleValue\":1000}");
    TT_CHECK_STR(attr_json(r, "frac"), "{\"doubleValue\":0.1}");
    TT_CHECK_STR(attr_json(r, "max"),
                 "{\"intValue\":\"9223372036854775807\"}");
    TT_CHECK_STR(attr_json(r, "min"),
                 "{\"intValue\":\"-9223372036854775808\"}");
    TT_CHECK_STR(attr_json(r, "exact"),
                 "{\"intValue\":\"1234567890123456789\"}");

    /* Past int64: a double, as close as a double gets. */
    v = attr(r, "over");
    TT_CHECK(v != NULL && v->type == TD_VAL_DOUBLE
             && v->u.d == 9223372036854775808.0);
    v = attr(r, "under");
    TT_CHECK(v != NULL && v->type == TD_VAL_DOUBLE
             && v->u.d == -9223372036854775809.0);
    v = attr(r, "huge");
    TT_CHECK(v != NULL && v->type == TD_VAL_DOUBLE
             && v->u.d == 123456789012345678901234567890.0);

    /* Not finite as a double: the text is kept as a string. */
    TT_CHECK_STR(attr_json(r, "inf"), "{\"stringValue\":\"1e999\"}");
    TT_CHECK_STR(attr_json(r, "ninf"), "{\"stringValue\":\"-1e999\"}");
    TT_CHECK_STR(rec_keys(r), "i,neg,zero,d,e,frac,max,min,over,under,"
                 "huge,inf,ninf,exact");
    fx_close(&f);
}

/*
 * Number texts are matched to number nodes by position; digits inside
 * strings and keys must not shift the match.
 */
static void
test_values_number_order(void)
{
    fx f;
    const td_log_record *r;

    r = one(&f, "{\"1.5\":\"2.5 -3 1e9\",\"a\":7,\"s\":\"x\\\"9\\\"\","
                "\"n\":[1,{\"b\":2,\"c\":[3.5,-4]},\"5\"],\"z\":8,"
                "\"level\":\"40\",\"w\":9.25}");
    TT_CHECK_STR(attr_json(r, "1.5"), "{\"stringValue\":\"2.5 -3 1e9\"}");
    TT_CHECK_STR(attr_json(r, "a"), "{\"intValue\":\"7\"}");
    TT_CHECK_STR(attr_json(r, "s"), "{\"stringValue\":\"x\\\"9\\\"\"}");
    TT_CHECK_STR(attr_json(r, "n"),
                 "{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},"
                 "{\"kvlistValue\":{\"values\":[{\"key\":\"b\",\"value\":"
                 "{\"intValue\":\"2\"}},{\"key\":\"c\",\"value\":"
                 "{\"arrayValue\":{\"values\":[{\"doubleValue\":3.5},"
                 "{\"intValue\":\"-4\"}]}}}]}},{\"stringValue\":\"5\"}]}}");
    TT_CHECK_STR(attr_json(r, "z"), "{\"intValue\":\"8\"}");
    TT_CHECK_STR(attr_json(r, "w"), "{\"doubleValue\":9.25}");
    TT_CHECK_INT(r->severity_number, 13);
    fx_close(&f);

    /* Numbers inside a message body and a bad timestamp stay in step. */
    r = one(&f, "{\"msg\":{\"n\":[10,20]},\"ts\":[1,2],\"after\":"
                "12345678901234567}");
    TT_CHECK_STR(attr_json(r, "after"),
                 "{\"intValue\":\"12345678901234567\"}");
    TT_CHECK_STR(attr_json(r, "ts"),
                 "{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"},"
                 "{\"intValue\":\"2\"}]}}");
    fx_close(&f);

    /*
     * A string that ends in an escaped backslash ("a\\"), and one with
     * an escaped backslash before an escaped quote: a quote closes a
     * string after an even number of backslashes only.
     */
    r = one(&f, "{\"p\":\"a\\\\\",\"k\":5,\"q\":\"\\\\\\\"1\\\\\","
                "\"m\":2.5,\"r\":\"\\\\\\\\\",\"t\":-6}");
    TT_CHECK_STR(attr_json(r, "p"), "{\"stringValue\":\"a\\\\\"}");
    TT_CHECK_STR(attr_json(r, "k"), "{\"intValue\":\"5\"}");
    TT_CHECK_STR(attr_json(r, "q"),
                 "{\"stringValue\":\"\\\\\\\"1\\\\\"}");
    TT_CHECK_STR(attr_json(r, "m"), "{\"doubleValue\":2.5}");
    TT_CHECK_STR(attr_json(r, "t"), "{\"intValue\":\"-6\"}");
    fx_close(&f);
}

static void
test_values_nested(void)
{
    fx f;
    const td_log_record *r;

    r = one(&f, "{\"http\":{\"method\":\"GET\",\"status\":200,\"headers\":"
                "{\"a\":[\"x\",\"y\"]}},\"tags\":[\"a\",1,2.5,true,null,"
                "{\"k\":\"v\"},[]],\"empty\":{},\"t\":true,\"f\":false,"
                "\"nil\":null,\"deep\":[[[[1]]]]}");
    TT_CHECK_STR(attr_json(r, "http"),
                 "{\"kvlistValue\":{\"values\":["
                 "{\"key\":\"method\",\"value\":{\"stringValue\":\"GET\"}},"
                 "{\"key\":\"status\",\"value\":{\"intValue\":\"200\"}},"
                 "{\"key\":\"headers\",\"value\":{\"kvlistValue\":"
                 "{\"values\":[{\"key\":\"a\",\"value\":{\"arrayValue\":"
                 "{\"values\":[{\"stringValue\":\"x\"},"
                 "{\"stringValue\":\"y\"}]}}}]}}}]}}");
    TT_CHECK_STR(attr_json(r, "tags"),
                 "{\"arrayValue\":{\"values\":[{\"stringValue\":\"a\"},"
                 "{\"intValue\":\"1\"},{\"doubleValue\":2.5},"
                 "{\"boolValue\":true},{},{\"kvlistValue\":{\"values\":"
                 "[{\"key\":\"k\",\"value\":{\"stringValue\":\"v\"}}]}},"
                 "{\"arrayValue\":{\"values\":[]}}]}}");
    TT_CHECK_STR(attr_json(r, "empty"), "{\"kvlistValue\":{\"values\":[]}}");
    TT_CHECK_STR(attr_json(r, "t"), "{\"boolValue\":true}");
    TT_CHECK_STR(attr_json(r, "f"), "{\"boolValue\":false}");
    TT_CHECK(attr(r, "nil") != NULL && attr(r, "nil")->type == TD_VAL_EMPTY);
    TT_CHECK_STR(attr_json(r, "deep"),
                 "{\"arrayValue\":{\"values\":[{\"arrayValue\":{\"values\":"
                 "[{\"arrayValue\":{\"values\":[{\"arrayValue\":{\"values\":"
                 "[{\"intValue\":\"1\"}]}}]}}]}}]}}");
    TT_CHECK_STR(rec_keys(r), "http,tags,empty,t,f,nil,deep");
    fx_close(&f);
}

/*
 * A key written twice is one attribute (OTLP requires unique keys): the
 * last value wins, as in JavaScript's JSON.parse. The same holds inside
 * nested objects.
 */
static void
test_duplicate_keys(void)
{
    char line[2048];
    size_t o = 0;
    fx f;
    const td_log_record *r;

    r = one(&f, "{\"a\":1,\"b\":2,\"a\":\"x\",\"m\":{\"k\":1,\"j\":2,"
                "\"k\":[3]}}");
    TT_CHECK_STR(rec_keys(r), "b,a,m");
    TT_CHECK_STR(attr_json(r, "a"), "{\"stringValue\":\"x\"}");
    TT_CHECK_STR(attr_json(r, "m"),
                 "{\"kvlistValue\":{\"values\":[{\"key\":\"j\",\"value\":"
                 "{\"intValue\":\"2\"}},{\"key\":\"k\",\"value\":"
                 "{\"arrayValue\":{\"values\":[{\"intValue\":\"3\"}]}}}]}}");
    fx_close(&f);

    /* Many keys, many repeats: k0..k29 three times over. */
    o += (size_t) snprintf(line + o, sizeof(line) - o, "{");
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < 30; k++) {
            o += (size_t) snprintf(line + o, sizeof(line) - o,
                                   "%s\"k%d\":%d", o > 1 ? "," : "", k,
                                   round * 100 + k);
        }
    }
    snprintf(line + o, sizeof(line) - o, "}");
    r = one(&f, line);
    TT_CHECK_INT(r->attrs.n, 30);
    TT_CHECK_STR(attr_json(r, "k0"), "{\"intValue\":\"200\"}");
    TT_CHECK_STR(attr_json(r, "k29"), "{\"intValue\":\"229\"}");
    TT_CHECK_MEM(r->attrs.items[0].key.ptr, r->attrs.items[0].key.len,
                 "k0");
    TT_CHECK_MEM(r->attrs.items[29].key.ptr, r->attrs.items[29].key.len,
                 "k29");
    fx_close(&f);
}

/* ---- mapping: lines that are not JSON objects ---- */

static void
test_not_json(void)
{
    static const struct {
        const char *line, *err;
    } cases[] = {
        {"hello world", "not JSON: syntax error at byte 0"},
        {"{\"a\":1} trailing", "not JSON: text after the value at byte 8"},
        {"{\"a\":1}\t\t}", "not JSON: text after the value at byte 9"},
        {"{\"a\":1}{\"b\":2}", "not JSON: text after the value at byte 7"},
        {"[1,2]", "JSON value is not an object"},
        {"42", "JSON value is not an object"},
        {"\"just a string\"", "JSON value is not an object"},
        {"null", "JSON value is not an object"},
        {"true", "JSON value is not an object"},
    };

    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++) {
        char want_body[128], want_err[128];
        td_buf b = TD_BUF_INIT;
        fx f;
        const td_log_record *r = one(&f, cases[i].line);

        td_buf_json_str(&b, cases[i].line, strlen(cases[i].line));
        snprintf(want_body, sizeof(want_body), "{\"stringValue\":%s}",
                 b.data);
        td_buf_free(&b);
        snprintf(want_err, sizeof(want_err), "{\"stringValue\":\"%s\"}",
                 cases[i].err);
        TT_CHECK_STR(body_json(r), want_body);
        TT_CHECK_STR(attr_json(r, "tandem.parse_error"), want_err);
        TT_CHECK_STR(rec_keys(r), "tandem.parse_error");
        TT_CHECK_INT(r->severity_number, 0);
        TT_CHECK(r->time_unix_nano == 0);
        TT_CHECK(r->observed_time_unix_nano == NOW);
        fx_close(&f);
    }
}

/* Broken JSON says where it broke; the whole line is the body. */
static void
test_not_json_positions(void)
{
    static const char *const lines[] = {
        "{\"a\":}", "{\"a\":1", "{\"a\" 1}", "{a:1}", "{\"a\":tru}",
        "{\"a\":\"\\ud800\"}", "{\"a\":01x}", "{\"a\":1,}",
    };

    for (size_t i = 0; i < TD_ARRAY_SIZE(lines); i++) {
        fx f;
        const td_log_record *r = one(&f, lines[i]);
        const td_value *v = attr(r, "tandem.parse_error");

        TT_CHECK(v != NULL && v->type == TD_VAL_STR);
        TT_CHECK(v != NULL && v->u.s.len > 31
                 && memcmp(v->u.s.ptr, "not JSON: syntax error at byte ",
                           31) == 0);
        TT_CHECK(r->body.type == TD_VAL_STR
                 && r->body.u.s.len == strlen(lines[i])
                 && memcmp(r->body.u.s.ptr, lines[i], strlen(lines[i]))
                        == 0);
        fx_close(&f);
    }
}

/* Whitespace around an object is fine; a blank line is no record. */
static void
test_blank_and_spaces(void)
{
    fx f;
    const td_log_record *r;

    r = one(&f, "  \t{\"a\":1}\t  ");
    TT_CHECK_STR(rec_keys(r), "a");
    fx_close(&f);

    fx_open(&f);
    TT_CHECK_INT(fx_map(&f, ""), 0);
    TT_CHECK_INT(fx_map(&f, "   "), 0);
    TT_CHECK_INT(fx_map(&f, "\t \t"), 0);
    TT_CHECK_INT(td_batch_items(f.b), 0);
    TT_CHECK(f.b->resources == NULL);
    fx_close(&f);

    fx_open_opts(&f, false, NULL, NULL, NULL, 0);
    TT_CHECK_INT(fx_map(&f, "  "), 0);
    TT_CHECK_INT(fx_map(&f, " x "), 1);
    TT_CHECK_STR(body_json(rec_at(f.b, 0)), "{\"stringValue\":\" x \"}");
    fx_close(&f);
}

/* ---- mapping: invalid UTF-8 ---- */

static void
test_invalid_utf8(void)
{
    fx f;
    const td_log_record *r;

    r = one(&f, "{\"msg\":\"caf\xC3\",\"k\xFF\":\"v\xE2\x82\","
                "\"ok\":\"\xC3\xA9\",\"n\":{\"\xC0\xAF\":[\"\xED\xA0\x80\"]},"
                "\"service\":\"s\xF5\"}");
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"caf" FFFD "\"}");
    TT_CHECK_STR(attr_json(r, "k" FFFD), "{\"stringValue\":\"v" FFFD "\"}");
    TT_CHECK_STR(attr_json(r, "ok"), "{\"stringValue\":\"\xC3\xA9\"}");
    TT_CHECK_STR(attr_json(r, "n"),
                 "{\"kvlistValue\":{\"values\":[{\"key\":\"" FFFD FFFD
                 "\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue"
                 "\":\"" FFFD FFFD FFFD "\"}]}}}]}}");
    TT_CHECK_STR(attr_json(r, "tandem.invalid_utf8"), "{\"boolValue\":true}");
    TT_CHECK_STR(rg_service(f.b->resources),
                 "{\"stringValue\":\"s" FFFD "\"}");
    TT_CHECK(attr(r, "tandem.parse_error") == NULL);
    TT_CHECK(batch_utf8(f.b));
    fx_close(&f);

    /* Escapes are decoded to valid UTF-8; no flag. */
    r = one(&f, "{\"msg\":\"\\u00e9\\ud83d\\ude00\"}");
    TT_CHECK_STR(body_json(r),
                 "{\"stringValue\":\"\xC3\xA9\xF0\x9F\x98\x80\"}");
    TT_CHECK(attr(r, "tandem.invalid_utf8") == NULL);
    fx_close(&f);

    /* Not JSON and not UTF-8: repaired body, both flags. */
    r = one(&f, "bad \xFF\xFE line");
    TT_CHECK_STR(body_json(r),
                 "{\"stringValue\":\"bad " FFFD FFFD " line\"}");
    TT_CHECK_STR(attr_json(r, "tandem.invalid_utf8"), "{\"boolValue\":true}");
    TT_CHECK(attr(r, "tandem.parse_error") != NULL);
    TT_CHECK(batch_utf8(f.b));
    fx_close(&f);

    /* parse: none repairs too. */
    fx_open_opts(&f, false, NULL, NULL, NULL, 0);
    TT_CHECK_INT(fx_map(&f, "raw \xC3("), 1);
    r = rec_at(f.b, 0);
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"raw " FFFD "(\"}");
    TT_CHECK_STR(rec_keys(r), "tandem.invalid_utf8");
    fx_close(&f);

    /* A level or time value with bad bytes is an attribute, repaired. */
    r = one(&f, "{\"level\":\"inf\xFF\",\"ts\":\"2024\xFF\"}");
    TT_CHECK_INT(r->severity_number, 0);
    TT_CHECK_STR(attr_json(r, "level"), "{\"stringValue\":\"inf" FFFD "\"}");
    TT_CHECK_STR(attr_json(r, "ts"), "{\"stringValue\":\"2024" FFFD "\"}");
    TT_CHECK(batch_utf8(f.b));
    fx_close(&f);
}

/* NUL bytes are valid UTF-8 and survive in a raw body. */
static void
test_nul_bytes(void)
{
    static const char raw[] = "a\0b";
    fx f;
    const td_log_record *r;

    fx_open(&f);
    TT_CHECK_INT(fx_map_len(&f, raw, 3), 1);
    r = rec_at(f.b, 0);
    TT_CHECK(r->body.type == TD_VAL_STR && r->body.u.s.len == 3
             && memcmp(r->body.u.s.ptr, raw, 3) == 0);
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"a\\u0000b\"}");
    fx_close(&f);
}

/*
 * A NUL in a JSON string cuts the string (cJSON's strings end at NUL):
 * the cut is reported, never silent. An escaped backslash before
 * "u0000" is no NUL, and a raw NUL between tokens is whitespace.
 */
static void
test_nul_in_strings(void)
{
    static const char raw_in[] = "{\"msg\":\"a\0b\",\"k\":1}";
    static const char raw_out[] = "{\"k\":\0 1}";
    const char *why = "{\"stringValue\":\"a string held a NUL character "
                      "and was cut there\"}";
    fx f;
    const td_log_record *r;

    r = one(&f, "{\"msg\":\"a\\u0000b\",\"k\\u0000x\":1}");
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"a\"}");
    TT_CHECK_STR(attr_json(r, "k"), "{\"intValue\":\"1\"}");
    TT_CHECK_STR(attr_json(r, "tandem.parse_error"), why);
    fx_close(&f);

    fx_open(&f);
    TT_CHECK_INT(fx_map_len(&f, raw_in, sizeof(raw_in) - 1), 1);
    r = rec_at(f.b, 0);
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"a\"}");
    TT_CHECK_STR(attr_json(r, "tandem.parse_error"), why);
    TT_CHECK_STR(attr_json(r, "k"), "{\"intValue\":\"1\"}");
    fx_close(&f);

    r = one(&f, "{\"msg\":\"a\\\\u0000b\"}");
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"a\\\\u0000b\"}");
    TT_CHECK_STR(rec_keys(r), "");
    fx_close(&f);

    fx_open(&f);
    TT_CHECK_INT(fx_map_len(&f, raw_out, sizeof(raw_out) - 1), 1);
    r = rec_at(f.b, 0);
    TT_CHECK_STR(rec_keys(r), "k");
    fx_close(&f);
}

/* ---- mapping: over-long lines ---- */

static void
test_truncated(void)
{
    const char *text = "0123456789abcdefXYZ\n";
    const char *json = "{\"msg\":\"hi\"}        tail that is cut\n";
    fx f;
    const td_log_record *r;

    /* Not JSON once cut: the kept bytes are the body, flagged. */
    fx_open(&f);
    TT_CHECK_INT(feed(&f, 16, text, strlen(text), 0), 1);
    r = rec_at(f.b, 0);
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"0123456789abcdef\"}");
    TT_CHECK_STR(attr_json(r, "tandem.truncated"), "{\"boolValue\":true}");
    TT_CHECK_STR(attr_json(r, "tandem.original_size"),
                 "{\"intValue\":\"19\"}");
    TT_CHECK_STR(rec_keys(r), "tandem.truncated,tandem.original_size");
    fx_close(&f);

    /* Cut JSON that still parses is mapped, and flagged. */
    fx_open(&f);
    TT_CHECK_INT(feed(&f, 20, json, strlen(json), 3), 1);
    r = rec_at(f.b, 0);
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"hi\"}");
    TT_CHECK_STR(attr_json(r, "tandem.truncated"), "{\"boolValue\":true}");
    TT_CHECK_STR(attr_json(r, "tandem.original_size"),
                 "{\"intValue\":\"36\"}");
    fx_close(&f);

    /* A cut inside a JSON string: the kept text is the body. */
    fx_open(&f);
    TT_CHECK_INT(feed(&f, 10, "{\"msg\":\"abcdefghij\"}\n", 21, 1), 1);
    r = rec_at(f.b, 0);
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"{\\\"msg\\\":\\\"ab\"}");
    TT_CHECK_STR(attr_json(r, "tandem.original_size"),
                 "{\"intValue\":\"20\"}");
    fx_close(&f);
}

/* A cut through a multi-byte character drops its first bytes. */
static void
test_truncated_utf8(void)
{
    const char *line = "abcd\xC3\xA9xyz\n";
    const char *line4 = "ab\xF0\x9F\x98\x80z\n";
    fx f;
    const td_log_record *r;

    fx_open(&f);
    TT_CHECK_INT(feed(&f, 5, line, strlen(line), 0), 1);
    TT_CHECK_INT(feed(&f, 5, line4, strlen(line4), 1), 1);
    TT_CHECK_INT(feed(&f, 6, line, strlen(line), 2), 1);
    r = rec_at(f.b, 0);
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"abcd\"}");
    TT_CHECK(attr(r, "tandem.invalid_utf8") == NULL);
    TT_CHECK_STR(attr_json(r, "tandem.original_size"),
                 "{\"intValue\":\"9\"}");
    r = rec_at(f.b, 1);
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"ab\"}");
    TT_CHECK(attr(r, "tandem.invalid_utf8") == NULL);
    r = rec_at(f.b, 2);
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"abcd\xC3\xA9\"}");
    TT_CHECK(batch_utf8(f.b));
    fx_close(&f);
}

/* A huge line through small reads: bounded memory, one record. */
static void
test_truncated_stream(void)
{
    size_t n = 300000;
    char *big = malloc(n + 1);
    fx f;
    const td_log_record *r;

    TT_CHECK(big != NULL);
    memset(big, 'q', n);
    big[n] = '\n';
    fx_open(&f);
    TT_CHECK_INT(feed(&f, 256, big, n + 1, 4096), 1);
    r = rec_at(f.b, 0);
    TT_CHECK(r->body.type == TD_VAL_STR && r->body.u.s.len == 256);
    TT_CHECK_STR(attr_json(r, "tandem.original_size"),
                 "{\"intValue\":\"300000\"}");
    fx_close(&f);
    free(big);
}

/*
 * A line longer than the framer's first block grows the buffer (never
 * past max); after a line that made it large, the buffer is released.
 */
static void
test_frame_buffer_growth(void)
{
    size_t n = 70000;
    char *big = malloc(n + 1);
    td_ndjson_framer fr;
    td_ndjson_line line;
    size_t used, cap_max = 0;

    TT_CHECK(big != NULL);
    memset(big, 'g', n);
    big[n] = '\n';
    td_ndjson_framer_init(&fr, 100000);
    for (size_t o = 0; o < n; o += 1000) {
        TT_CHECK_INT(td_ndjson_frame(&fr, big + o, 1000, &used, &line), 0);
        TT_CHECK(fr.cap >= fr.len && fr.cap <= 100000);
        cap_max = fr.cap > cap_max ? fr.cap : cap_max;
    }
    TT_CHECK_INT(td_ndjson_frame(&fr, big + n, 1, &used, &line), 1);
    TT_CHECK_INT(line.len, n);
    TT_CHECK(!line.truncated);
    TT_CHECK(memcmp(line.ptr, big, n) == 0);
    TT_CHECK(cap_max >= n);

    /* The next line starts with a small buffer again. */
    TT_CHECK_INT(td_ndjson_frame(&fr, "ab", 2, &used, &line), 0);
    TT_CHECK(fr.cap < cap_max);
    TT_CHECK_INT(td_ndjson_flush(&fr, &line), 1);
    TT_CHECK(line.len == 2 && memcmp(line.ptr, "ab", 2) == 0);
    td_ndjson_framer_free(&fr);
    free(big);
}

/* ---- framing and mapping together ---- */

static const char stream[] =
    "{\"ts\":\"2024-05-01T12:00:00Z\",\"level\":\"info\",\"msg\":\"one\"}\n"
    "\r\n"
    "plain text line\r\n"
    "\n"
    "{\"service\":\"api\",\"msg\":\"caf\xC3\xA9 \xE2\x82\xAC\",\"n\":[1,2.5]}"
    "\r\n"
    "{\"msg\":\"a line long enough to pass the sixty-four bytes that this "
    "test keeps of one line\"}\n"
    "   \n"
    "\xFF not utf8\n"
    "{\"service\":\"db\",\"trace_id\":\"5b8efff798038103d269b633813fc60c\"}\n"
    "{\"final\":\"no newline\"}";

/* Whole, byte by byte and in odd chunks: the same records. */
static void
test_split_reads(void)
{
    size_t len = sizeof(stream) - 1;
    const size_t steps[] = {1, 2, 3, 7, 13, 64, 65, 200};
    char *whole;
    fx f;

    fx_open(&f);
    TT_CHECK_INT(feed(&f, 64, stream, len, 0), 7);
    whole = batch_json(f.b);
    TT_CHECK(whole != NULL && strstr(whole, "no newline") != NULL);
    TT_CHECK(whole != NULL && strstr(whole, "plain text line\"") != NULL);
    TT_CHECK(batch_utf8(f.b));
    fx_close(&f);

    for (size_t i = 0; i < TD_ARRAY_SIZE(steps); i++) {
        char *got;

        fx_open(&f);
        TT_CHECK_INT(feed(&f, 64, stream, len, steps[i]), 7);
        got = batch_json(f.b);
        TT_CHECK_STR(got, whole);
        free(got);
        fx_close(&f);
    }
    free(whole);
}

/* CRLF and LF give the same records. */
static void
test_crlf(void)
{
    const char *lf = "{\"msg\":\"x\",\"level\":\"warn\"}\ntext\n\n";
    const char *crlf = "{\"msg\":\"x\",\"level\":\"warn\"}\r\ntext\r\n\r\n";
    char *a, *b;
    fx f;

    fx_open(&f);
    TT_CHECK_INT(feed(&f, 1024, lf, strlen(lf), 0), 2);
    a = batch_json(f.b);
    TT_CHECK(attr(rec_at(f.b, 1), "tandem.parse_error") != NULL);
    TT_CHECK_STR(body_json(rec_at(f.b, 1)), "{\"stringValue\":\"text\"}");
    fx_close(&f);

    fx_open(&f);
    TT_CHECK_INT(feed(&f, 1024, crlf, strlen(crlf), 1), 2);
    b = batch_json(f.b);
    fx_close(&f);
    TT_CHECK_STR(b, a);
    free(a);
    free(b);

    /* A CRLF line of exactly max_log_size bytes is not cut. */
    fx_open(&f);
    TT_CHECK_INT(feed(&f, 12, "{\"msg\":\"ab\"}\r\n", 14, 0), 1);
    TT_CHECK_STR(rec_keys(rec_at(f.b, 0)), "");
    TT_CHECK_STR(body_json(rec_at(f.b, 0)), "{\"stringValue\":\"ab\"}");
    fx_close(&f);
}

static void
test_flush_final_line(void)
{
    const char *data = "{\"a\":1}\n{\"msg\":\"last\"}";
    td_ndjson_framer fr;
    td_ndjson_line line;
    size_t used;
    fx f;

    fx_open(&f);
    td_ndjson_framer_init(&fr, 1024);
    TT_CHECK_INT(td_ndjson_frame(&fr, data, strlen(data), &used, &line), 1);
    TT_CHECK_INT(td_ndjson_map(&f.bld, &line), 1);
    TT_CHECK_INT(td_ndjson_frame(&fr, data + used, strlen(data) - used,
                                 &used, &line), 0);
    TT_CHECK(td_ndjson_pending(&fr));
    TT_CHECK_INT(td_ndjson_flush(&fr, &line), 1);
    TT_CHECK_INT(td_ndjson_map(&f.bld, &line), 1);
    TT_CHECK(!td_ndjson_pending(&fr));
    TT_CHECK_INT(td_ndjson_flush(&fr, &line), 0);
    TT_CHECK_STR(body_json(rec_at(f.b, 1)), "{\"stringValue\":\"last\"}");
    TT_CHECK(attr(rec_at(f.b, 1), "tandem.truncated") == NULL);
    td_ndjson_framer_free(&fr);
    fx_close(&f);
}

/* ---- peer and configured attributes ---- */

static void
test_peer(void)
{
    fx f;
    const td_log_record *r;

    fx_open_opts(&f, true, NULL, NULL, "10.0.0.7", 51234);
    TT_CHECK_INT(fx_map(&f, "{\"msg\":\"x\",\"a\":1}"), 1);
    TT_CHECK_INT(fx_map(&f, "not json"), 1);
    r = rec_at(f.b, 0);
    TT_CHECK_STR(rec_keys(r), "a,network.peer.address,network.peer.port");
    TT_CHECK_STR(attr_json(r, "network.peer.address"),
                 "{\"stringValue\":\"10.0.0.7\"}");
    TT_CHECK_STR(attr_json(r, "network.peer.port"),
                 "{\"intValue\":\"51234\"}");
    r = rec_at(f.b, 1);
    TT_CHECK_STR(rec_keys(r), "tandem.parse_error,network.peer.address,"
                 "network.peer.port");
    fx_close(&f);

    fx_open_opts(&f, false, NULL, NULL, "2001:db8::1", 5);
    TT_CHECK_INT(fx_map(&f, "raw"), 1);
    TT_CHECK_STR(attr_json(rec_at(f.b, 0), "network.peer.address"),
                 "{\"stringValue\":\"2001:db8::1\"}");
    fx_close(&f);

    /* The line cannot claim another peer: what the socket saw wins. */
    fx_open_opts(&f, true, NULL, NULL, "10.0.0.7", 51234);
    TT_CHECK_INT(fx_map(&f, "{\"network.peer.address\":\"1.2.3.4\","
                            "\"network.peer.port\":\"x\",\"b\":2}"), 1);
    r = rec_at(f.b, 0);
    TT_CHECK_STR(rec_keys(r), "network.peer.address,network.peer.port,b");
    TT_CHECK_STR(attr_json(r, "network.peer.address"),
                 "{\"stringValue\":\"10.0.0.7\"}");
    TT_CHECK_STR(attr_json(r, "network.peer.port"),
                 "{\"intValue\":\"51234\"}");
    fx_close(&f);
}

/* tandem.* flags are the receiver's: a line cannot set or hide them. */
static void
test_own_flags_win(void)
{
    fx f;
    const td_log_record *r;

    r = one(&f, "{\"tandem.parse_error\":\"mine\",\"ts\":\"bad\","
                "\"tandem.invalid_utf8\":false,\"m\":\"\xFF\"}");
    TT_CHECK_STR(rec_keys(r), "tandem.parse_error,ts,tandem.invalid_utf8,m");
    TT_CHECK_STR(attr_json(r, "tandem.parse_error"),
                 "{\"stringValue\":\"unparseable timestamp in "
                 "\\\"ts\\\"\"}");
    TT_CHECK_STR(attr_json(r, "tandem.invalid_utf8"), "{\"boolValue\":true}");
    fx_close(&f);

    /* Without a reason of the receiver's, the line's key stays. */
    r = one(&f, "{\"tandem.parse_error\":\"mine\"}");
    TT_CHECK_STR(attr_json(r, "tandem.parse_error"),
                 "{\"stringValue\":\"mine\"}");
    fx_close(&f);
}

static void
test_config_maps(void)
{
    static char k1[] = "deployment.environment", k2[] = "service.name";
    static char v1[] = "prod", v2[] = "fallback";
    static char k3[] = "team", k4[] = "region", v3[] = "core", v4[] = "eu";
    char *rk[] = {k1, k2}, *rv[] = {v1, v2};
    char *ak[] = {k3, k4}, *av[] = {v3, v4};
    td_cfg_strmap res = {rk, rv, 2}, attrs = {ak, av, 2};
    const td_resource_group *rg;
    fx f;
    const td_log_record *r;

    fx_open_opts(&f, true, &res, &attrs, "127.0.0.1", 9);
    TT_CHECK_INT(fx_map(&f, "{\"msg\":\"no service\",\"team\":\"own\"}"),
                 1);
    TT_CHECK_INT(fx_map(&f, "{\"service\":\"api\",\"msg\":\"m\"}"), 1);
    TT_CHECK_INT(fx_map(&f, "oops"), 1);
    TT_CHECK_INT(rg_count(f.b), 2);

    /* Without a service, the configured service.name stays. */
    rg = rg_at(f.b, 0);
    TT_CHECK_STR(keys_of(&rg->resource.attrs),
                 "deployment.environment,service.name");
    TT_CHECK_STR(rg_service(rg), "{\"stringValue\":\"fallback\"}");
    TT_CHECK_STR(val_json(td_attrs_get(&rg->resource.attrs,
                                       "deployment.environment", 22)),
                 "{\"stringValue\":\"prod\"}");
    TT_CHECK_INT(rg_records(rg), 2);

    /* The line's service replaces it; the rest of the resource stays. */
    rg = rg_at(f.b, 1);
    TT_CHECK_STR(keys_of(&rg->resource.attrs),
                 "deployment.environment,service.name");
    TT_CHECK_STR(rg_service(rg), "{\"stringValue\":\"api\"}");

    /* Configured attributes fill in; the line's own value wins. */
    r = rec_at(f.b, 0);
    TT_CHECK_STR(rec_keys(r), "team,region,network.peer.address,"
                 "network.peer.port");
    TT_CHECK_STR(attr_json(r, "team"), "{\"stringValue\":\"own\"}");
    TT_CHECK_STR(attr_json(r, "region"), "{\"stringValue\":\"eu\"}");
    r = rec_at(f.b, 1);
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"oops\"}");
    TT_CHECK_STR(rec_keys(r), "tandem.parse_error,team,region,"
                 "network.peer.address,network.peer.port");
    r = rec_at(f.b, 2);
    TT_CHECK_STR(body_json(r), "{\"stringValue\":\"m\"}");
    TT_CHECK_STR(attr_json(r, "team"), "{\"stringValue\":\"core\"}");
    fx_close(&f);
}

/* parse: none keeps every line as it came, JSON or not. */
static void
test_parse_none(void)
{
    const char *json = "{\"level\":\"error\",\"msg\":\"x\",\"service\":\"s\"}";
    fx f;
    const td_log_record *r;

    fx_open_opts(&f, false, NULL, NULL, NULL, 0);
    TT_CHECK_INT(fx_map(&f, json), 1);
    r = rec_at(f.b, 0);
    TT_CHECK_STR(str_c(r->body.u.s), json);
    TT_CHECK(r->body.type == TD_VAL_STR);
    TT_CHECK_INT(r->severity_number, 0);
    TT_CHECK_STR(rec_keys(r), "");
    TT_CHECK_STR(rg_service(f.b->resources), "(absent)");
    fx_close(&f);
}

/* A full record through the OTLP/JSON encoder, every field exact. */
static void
test_render_record(void)
{
    char *got;
    fx f;

    fx_open_opts(&f, true, NULL, NULL, "192.0.2.1", 4000);
    TT_CHECK_INT(fx_map(&f, "{\"time\":\"2024-05-01T12:00:00.5Z\","
                            "\"severity\":\"ERROR\",\"msg\":\"boom\","
                            "\"service\":\"pay\","
                            "\"trace_id\":\"0102030405060708090a0b0c0d0e0f10\","
                            "\"span_id\":\"1112131415161718\","
                            "\"user\":{\"id\":7}}"), 1);
    got = batch_json(f.b);
    TT_CHECK_STR(got,
        "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":"
        "\"service.name\",\"value\":{\"stringValue\":\"pay\"}}]},"
        "\"scopeLogs\":[{\"scope\":{},\"logRecords\":[{"
        "\"timeUnixNano\":\"1714564800500000000\","
        "\"observedTimeUnixNano\":\"1700000000000000000\","
        "\"severityNumber\":17,\"severityText\":\"ERROR\","
        "\"body\":{\"stringValue\":\"boom\"},\"attributes\":["
        "{\"key\":\"user\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":"
        "\"id\",\"value\":{\"intValue\":\"7\"}}]}}},"
        "{\"key\":\"network.peer.address\",\"value\":{\"stringValue\":"
        "\"192.0.2.1\"}},{\"key\":\"network.peer.port\",\"value\":"
        "{\"intValue\":\"4000\"}}],"
        "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\","
        "\"spanId\":\"1112131415161718\"}]}]}]}");
    free(got);
    fx_close(&f);
}

static const tt_case cases[] = {
    {"rfc3339", test_rfc3339},
    {"epoch", test_epoch},
    {"severity_names", test_severity_names},
    {"utf8_valid", test_utf8_valid},
    {"frame_basic", test_frame_basic},
    {"frame_overlong", test_frame_overlong},
    {"frame_crlf", test_frame_crlf},
    {"time_keys", test_time_keys},
    {"time_epoch", test_time_epoch},
    {"time_invalid", test_time_invalid},
    {"time_precedence", test_time_precedence},
    {"level_mapping", test_level_mapping},
    {"level_unknown", test_level_unknown},
    {"level_precedence", test_level_precedence},
    {"message", test_message},
    {"trace_ids", test_trace_ids},
    {"trace_ids_invalid", test_trace_ids_invalid},
    {"service_groups", test_service_groups},
    {"values_numbers", test_values_numbers},
    {"values_number_order", test_values_number_order},
    {"values_nested", test_values_nested},
    {"duplicate_keys", test_duplicate_keys},
    {"not_json", test_not_json},
    {"not_json_positions", test_not_json_positions},
    {"blank_and_spaces", test_blank_and_spaces},
    {"invalid_utf8", test_invalid_utf8},
    {"nul_bytes", test_nul_bytes},
    {"nul_in_strings", test_nul_in_strings},
    {"truncated", test_truncated},
    {"truncated_utf8", test_truncated_utf8},
    {"truncated_stream", test_truncated_stream},
    {"frame_buffer_growth", test_frame_buffer_growth},
    {"split_reads", test_split_reads},
    {"crlf", test_crlf},
    {"flush_final_line", test_flush_final_line},
    {"peer", test_peer},
    {"own_flags_win", test_own_flags_win},
    {"config_maps", test_config_maps},
    {"parse_none", test_parse_none},
    {"render_record", test_render_record},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
