/*
 * ndjson.c - NDJSON framing and the mapping of one line to one OTLP log
 * record (rules for users: docs/TCPLOG.md).
 *
 * JSON is parsed with cJSON into a per-builder scratch arena that is
 * reset per line (agent/cjson_arena.h); what a record keeps is copied
 * into the batch. cJSON does not keep the text of numbers, which matters
 * for 64-bit integers and nanosecond timestamps that a double cannot
 * hold, so this file scans the number tokens of the line itself: in valid
 * JSON they appear in the order of a depth-first walk of the tree, which
 * is the order the mapping visits them.
 *
 * The RFC 3339, epoch and UTF-8 code is hand-written: libc has no
 * UTC-only, allocation-free RFC 3339 parser (strptime ignores fractions
 * and offsets), and UTF-8 repair must follow Unicode's "maximal subpart"
 * practice (Unicode 15, section 3.9, U+FFFD substitution) byte by byte.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cjson_arena.h"
#include "ndjson.h"

#define NDJSON_SCRATCH   (64 * 1024)
#define NDJSON_BUF_FIRST 4096
#define NDJSON_BUF_KEEP  (64 * 1024)
#define NDJSON_NS        1000000000ull

/* ---- framing ---- */

void
td_ndjson_framer_init(td_ndjson_framer *fr, size_t max)
{
    memset(fr, 0, sizeof(*fr));
    fr->max = max > 0 ? max : 1;
}

void
td_ndjson_framer_free(td_ndjson_framer *fr)
{
    free(fr->buf);
    fr->buf = NULL;
    fr->len = fr->cap = 0;
    fr->orig = 0;
    fr->cr = fr->emitted = false;
}

/* Forgets the line handed out last; a buffer grown by a huge line goes. */
static void
ndjson_framer_reset(td_ndjson_framer *fr)
{
    fr->len = 0;
    fr->orig = 0;
    fr->cr = false;
    fr->emitted = false;
    if (fr->cap > NDJSON_BUF_KEEP) {
        free(fr->buf);
        fr->buf = NULL;
        fr->cap = 0;
    }
}

/* Appends n bytes; the caller ensures len + n <= max. */
static int
ndjson_framer_append(td_ndjson_framer *fr, const char *data, size_t n)
{
    if (fr->len + n > fr->cap) {
        size_t ncap = fr->cap > 0 ? fr->cap : NDJSON_BUF_FIRST;
        char *p;

        while (ncap < fr->len + n) {
            ncap *= 2;
        }
        if (ncap > fr->max) {
            ncap = fr->max;
        }
        p = realloc(fr->buf, ncap);
        if (p == NULL) {
            return TD_ENOMEM;
        }
        fr->buf = p;
        fr->cap = ncap;
    }
    memcpy(fr->buf + fr->len, data, n);
    fr->len += n;
    return TD_OK;
}

/*
 * Hands out the buffered line. A \r that ended it belongs to the line
 * end: it is not counted, and it was kept in buf only when it fell
 * within max (it was the byte at orig - 1).
 */
static void
ndjson_framer_line(td_ndjson_framer *fr, td_ndjson_line *line)
{
    uint64_t orig = fr->orig;
    size_t len = fr->len;

    if (fr->cr) {
        if (orig <= fr->max) {
            len--;
        }
        orig--;
    }
    line->ptr = fr->buf != NULL ? fr->buf : "";
    line->len = len;
    line->orig_len = orig;
    line->truncated = orig > fr->max;
    fr->emitted = true;
}

int
td_ndjson_frame(td_ndjson_framer *fr, const char *data, size_t len,
                size_t *used, td_ndjson_line *line)
{
    const char *nl;
    size_t seg, keep;

    if (fr->emitted) {
        ndjson_framer_reset(fr);
    }
    nl = len > 0 ? memchr(data, '\n', len) : NULL;
    seg = nl != NULL ? (size_t) (nl - data) : len;

    /* A whole line inside data is handed out in place, without a copy. */
    if (nl != NULL && fr->orig == 0) {
        size_t n = seg > 0 && data[seg - 1] == '\r' ? seg - 1 : seg;

        line->ptr = data;
        line->len = n < fr->max ? n : fr->max;
        line->orig_len = n;
        line->truncated = n > fr->max;
        *used = seg + 1;
        return 1;
    }

    keep = fr->max - fr->len;
    if (keep > seg) {
        keep = seg;
    }
    if (keep > 0 && ndjson_framer_append(fr, data, keep) != TD_OK) {
        *used = 0;
        return TD_ENOMEM;
    }
    fr->orig += seg;
    if (seg > 0) {
        fr->cr = data[seg - 1] == '\r';
    }
    if (nl == NULL) {
        *used = len;
        return 0;
    }
    *used = seg + 1;
    ndjson_framer_line(fr, line);
    return 1;
}

int
td_ndjson_flush(td_ndjson_framer *fr, td_ndjson_line *line)
{
    if (fr->emitted) {
        ndjson_framer_reset(fr);
    }
    if (fr->orig == 0) {
        return 0;
    }
    ndjson_framer_line(fr, line);
    return 1;
}

/* ---- UTF-8 ---- */

/*
 * Checks the sequence at s. Returns true with *adv = its length when it
 * is valid; false with *adv = the length of its maximal invalid subpart
 * (at least 1), which becomes one U+FFFD. Ranges from RFC 3629 section 4.
 */
static bool
ndjson_utf8_seq(const unsigned char *s, size_t len, size_t *adv)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need;

    if (c < 0x80) {
        *adv = 1;
        return true;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        *adv = 1;
        return false;
    }
    if (len < 2 || s[1] < lo || s[1] > hi) {
        *adv = 1;
        return false;
    }
    for (size_t i = 2; i <= need; i++) {
        if (i >= len || s[i] < 0x80 || s[i] > 0xBF) {
            *adv = i;
            return false;
        }
    }
    *adv = need + 1;
    return true;
}

bool
td_ndjson_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0, adv;

    while (i < len) {
        uint64_t w;

        /* Eight ASCII bytes at a time: the common case for logs. */
        if (i + 8 <= len) {
            memcpy(&w, p + i, 8);
            if ((w & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }
        if (!ndjson_utf8_seq(p + i, len - i, &adv)) {
            return false;
        }
        i += adv;
    }
    return true;
}

/*
 * Returns s itself when it is valid UTF-8, else a copy in the scratch
 * arena with each invalid sequence replaced by U+FFFD (and notes that on
 * the line). NULL on ENOMEM.
 */
static const char *
ndjson_fix_utf8(td_ndjson_builder *bld, const char *s, size_t len,
                size_t *out_len)
{
    const unsigned char *p = (const unsigned char *) s;
    char *out, *o;
    size_t i = 0, adv;

    /*
     * cJSON turns \u escapes into valid UTF-8 (it refuses lone
     * surrogates), so every string of a line that is valid UTF-8 as a
     * whole is valid too, and one check of the line covers them all.
     */
    *out_len = len;
    if (bld->line_utf8 || td_ndjson_utf8_valid(s, len)) {
        return s;
    }
    if (len > SIZE_MAX / 3) {
        return NULL;
    }
    out = td_arena_alloc(bld->scratch, len * 3 + 1);
    if (out == NULL) {
        return NULL;
    }
    o = out;
    while (i < len) {
        if (ndjson_utf8_seq(p + i, len - i, &adv)) {
            memcpy(o, p + i, adv);
            o += adv;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
        }
        i += adv;
    }
    bld->bad_utf8 = true;
    *out_len = (size_t) (o - out);
    return out;
}

/* Drops an incomplete sequence that a cut at max_log_size left at the end. */
static size_t
ndjson_utf8_cut(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = len, need;

    while (i > 0 && len - i < 3 && (p[i - 1] & 0xC0) == 0x80) {
        i--;
    }
    if (i == 0 || p[i - 1] < 0xC0) {
        return len;
    }
    need = p[i - 1] >= 0xF0 ? 4 : p[i - 1] >= 0xE0 ? 3 : 2;
    return len - (i - 1) < need ? i - 1 : len;
}

/* ---- time ---- */

static bool
ndjson_digits(const char *s, size_t n, int *out)
{
    int v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool
ndjson_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
ndjson_days(int y, int m, int d)
{
    static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212,
                                   243, 273, 304, 334};
    int64_t py = (int64_t) y - 1;
    int64_t days = 365 * py + py / 4 - py / 100 + py / 400;

    /* 719162 is the day number of 1970-01-01 counted from 0001-01-01. */
    days -= 719162;
    days += before[m - 1] + (m > 2 && ndjson_leap(y)) + d - 1;
    return days;
}

static int
ndjson_month_days(int y, int m)
{
    static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                              31};

    return m == 2 && ndjson_leap(y) ? 29 : n[m - 1];
}

/* Parses "Z", "+hh:mm", "+hhmm", "+hh" or nothing; seconds east of UTC. */
static int
ndjson_offset(const char *s, size_t len, int64_t *off)
{
    int hh, mm = 0, sign;

    if (len == 0) {
        *off = 0;
        return TD_OK;
    }
    if (len == 1 && (s[0] == 'Z' || s[0] == 'z')) {
        *off = 0;
        return TD_OK;
    }
    if (s[0] != '+' && s[0] != '-') {
        return TD_EINVAL;
    }
    sign = s[0] == '-' ? -1 : 1;
    if (len < 3 || !ndjson_digits(s + 1, 2, &hh)) {
        return TD_EINVAL;
    }
    if (len == 6 && s[3] == ':') {
        if (!ndjson_digits(s + 4, 2, &mm)) {
            return TD_EINVAL;
        }
    } else if (len == 5) {
        if (!ndjson_digits(s + 3, 2, &mm)) {
            return TD_EINVAL;
        }
    } else if (len != 3) {
        return TD_EINVAL;
    }
    if (hh > 23 || mm > 59) {
        return TD_EINVAL;
    }
    *off = sign * (hh * 3600 + mm * 60);
    return TD_OK;
}

int
td_ndjson_parse_rfc3339(const char *s, size_t len, uint64_t *ns)
{
    int y, mo, d, h, mi, sec;
    uint64_t frac = 0, scale = NDJSON_NS;
    int64_t secs, off;
    size_t i = 19;

    if (len < 19 || s[4] != '-' || s[7] != '-' || s[13] != ':'
        || s[16] != ':'
        || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')) {
        return TD_EINVAL;
    }
    if (!ndjson_digits(s, 4, &y) || !ndjson_digits(s + 5, 2, &mo)
        || !ndjson_digits(s + 8, 2, &d) || !ndjson_digits(s + 11, 2, &h)
        || !ndjson_digits(s + 14, 2, &mi)
        || !ndjson_digits(s + 17, 2, &sec)) {
        return TD_EINVAL;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > ndjson_month_days(y, mo)
        || h > 23 || mi > 59 || sec > 60) {
        return TD_EINVAL;
    }

    /* A fraction of any length; digits past nanoseconds are dropped. */
    if (i < len && (s[i] == '.' || s[i] == ',')) {
        size_t start = ++i;

        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (scale > 1) {
                scale /= 10;
                frac += (uint64_t) (s[i] - '0') * scale;
            }
            i++;
        }
        if (i == start) {
            return TD_EINVAL;
        }
    }
    if (ndjson_offset(s + i, len - i, &off) != TD_OK) {
        return TD_EINVAL;
    }

    secs = ndjson_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    if (secs < 0 || (uint64_t) secs > (UINT64_MAX - frac) / NDJSON_NS) {
        return TD_EINVAL;
    }
    *ns = (uint64_t) secs * NDJSON_NS + frac;
    return TD_OK;
}

/* Nanoseconds per unit for an epoch value of this magnitude. */
static uint64_t
ndjson_epoch_scale(double magnitude)
{
    if (magnitude < 1e11) {
        return NDJSON_NS;
    }
    if (magnitude < 1e14) {
        return 1000000;
    }
    if (magnitude < 1e17) {
        return 1000;
    }
    return 1;
}

int
td_ndjson_parse_epoch(const char *s, size_t len, uint64_t *ns)
{
    uint64_t ip = 0, scale, frac = 0, fscale;
    size_t i = 0;

    while (i < len && s[i] >= '0' && s[i] <= '9') {
        unsigned dgt = (unsigned) (s[i] - '0');

        if (ip > (UINT64_MAX - dgt) / 10) {
            return TD_EINVAL;
        }
        ip = ip * 10 + dgt;
        i++;
    }
    if (i == 0) {
        return TD_EINVAL;
    }

    /* Compared as integers: a double rounds 10^17 - 1 up to 10^17. */
    if (ip < 100000000000ull) {
        scale = NDJSON_NS;
    } else if (ip < 100000000000000ull) {
        scale = 1000000;
    } else if (ip < 100000000000000000ull) {
        scale = 1000;
    } else {
        scale = 1;
    }
    fscale = scale;
    if (i < len && s[i] == '.') {
        size_t start = ++i;

        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (fscale > 1) {
                fscale /= 10;
                frac += (uint64_t) (s[i] - '0') * fscale;
            }
            i++;
        }
        if (i == start) {
            return TD_EINVAL;
        }
    }
    if (i != len || ip > (UINT64_MAX - frac) / scale) {
        return TD_EINVAL;
    }
    *ns = ip * scale + frac;
    return TD_OK;
}

/* An epoch in a double (a number written with an exponent). */
static int
ndjson_epoch_double(double v, uint64_t *ns)
{
    double r;

    if (!(v >= 0.0) || !isfinite(v)) {
        return TD_EINVAL;
    }
    r = v * (double) ndjson_epoch_scale(v);
    if (r >= 18446744073709551616.0) {
        return TD_EINVAL;
    }
    *ns = (uint64_t) r;
    return TD_OK;
}

/* ---- severity ---- */

typedef struct ndjson_level_name {
    const char *name;
    int number;
} ndjson_level_name;

/*
 * SeverityNumber values from the OpenTelemetry logs data model: TRACE 1,
 * DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21, each with three more
 * steps. notice sits one step above info (INFO2); the syslog levels above
 * error climb the FATAL range in their syslog order (RFC 5424 6.2.1).
 */
static const ndjson_level_name ndjson_levels[] = {
    {"trace", 1},       {"debug", 5},        {"info", 9},
    {"information", 9}, {"informational", 9}, {"notice", 10},
    {"warn", 13},       {"warning", 13},     {"error", 17},
    {"err", 17},        {"fatal", 21},       {"critical", 22},
    {"crit", 22},       {"alert", 23},       {"emerg", 24},
    {"emergency", 24},  {"panic", 24},
};

int
td_ndjson_severity(const char *s, size_t len)
{
    char low[16];
    int n;

    if (len > 0 && len <= 3 && ndjson_digits(s, len, &n)) {
        /* pino and bunyan: 10 trace ... 60 fatal, in steps of ten. */
        if (n >= 10 && n <= 60 && n % 10 == 0) {
            return 1 + (n / 10 - 1) * 4;
        }
        return n >= 1 && n <= 24 ? n : 0;
    }
    if (len == 0 || len >= sizeof(low)) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        low[i] = c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
    }
    for (size_t i = 0; i < TD_ARRAY_SIZE(ndjson_levels); i++) {
        const char *name = ndjson_levels[i].name;

        if (strlen(name) == len && memcmp(name, low, len) == 0) {
            return ndjson_levels[i].number;
        }
    }
    return 0;
}

/* ---- builder ---- */

int
td_ndjson_builder_init(td_ndjson_builder *bld, const td_ndjson_opts *opts)
{
    memset(bld, 0, sizeof(*bld));
    bld->opts = *opts;
    bld->scratch = td_arena_new(NDJSON_SCRATCH);
    if (bld->scratch == NULL) {
        return TD_ENOMEM;
    }
    td_cjson_arena_init();
    return TD_OK;
}

void
td_ndjson_builder_free(td_ndjson_builder *bld)
{
    td_arena_unref(bld->scratch);
    free(bld->groups);
    memset(bld, 0, sizeof(*bld));
}

void
td_ndjson_builder_begin(td_ndjson_builder *bld, td_batch *b,
                        const char *peer_addr, int peer_port,
                        uint64_t now_ns)
{
    bld->b = b;
    bld->n_groups = 0;
    bld->peer_addr = peer_addr;
    bld->peer_str = TD_STR_NULL;
    bld->peer_port = peer_port;
    bld->now_ns = now_ns;
}

static void
ndjson_err(td_ndjson_builder *bld, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Adds a reason to the line's tandem.parse_error, "; " between reasons. */
static void
ndjson_err(td_ndjson_builder *bld, const char *fmt, ...)
{
    size_t room = sizeof(bld->err) - bld->err_len;
    va_list ap;
    int n;

    if (bld->err_len > 0 && room > 2) {
        memcpy(bld->err + bld->err_len, "; ", 2);
        bld->err_len += 2;
        room -= 2;
    }
    va_start(ap, fmt);
    n = vsnprintf(bld->err + bld->err_len, room, fmt, ap);
    va_end(ap);
    if (n > 0) {
        bld->err_len += (size_t) n < room ? (size_t) n : room - 1;
    }
}

/* Finds or makes the resource group of a service (ptr NULL: none). */
static td_scope_group *
ndjson_group(td_ndjson_builder *bld, const char *svc, size_t svc_len)
{
    const td_cfg_strmap *res = bld->opts.resource;
    td_resource_group *rg;
    td_ndjson_group *g;

    for (size_t i = 0; i < bld->n_groups; i++) {
        g = &bld->groups[i];
        if ((g->service.ptr == NULL) == (svc == NULL)
            && (svc == NULL
                || (g->service.len == svc_len
                    && memcmp(g->service.ptr, svc, svc_len) == 0))) {
            return g->sg;
        }
    }
    if (bld->n_groups == bld->cap_groups) {
        size_t ncap = bld->cap_groups > 0 ? bld->cap_groups * 2 : 8;

        g = realloc(bld->groups, ncap * sizeof(*g));
        if (g == NULL) {
            return NULL;
        }
        bld->groups = g;
        bld->cap_groups = ncap;
    }

    rg = td_batch_add_resource(bld->b);
    if (rg == NULL) {
        return NULL;
    }
    for (size_t i = 0; res != NULL && i < res->n; i++) {
        if (svc != NULL && strcmp(res->keys[i], "service.name") == 0) {
            continue;
        }
        if (td_attrs_put_str(bld->b, &rg->resource.attrs, res->keys[i],
                             res->vals[i], strlen(res->vals[i]))
            != TD_OK) {
            return NULL;
        }
    }
    g = &bld->groups[bld->n_groups];
    g->service = TD_STR_NULL;
    if (svc != NULL) {
        const td_value *v;

        if (td_attrs_put_str(bld->b, &rg->resource.attrs, "service.name",
                             svc, svc_len) != TD_OK) {
            return NULL;
        }
        v = &rg->resource.attrs.items[rg->resource.attrs.n - 1].val;
        g->service = v->u.s;
    }
    g->sg = td_batch_add_scope(bld->b, rg);
    if (g->sg == NULL) {
        return NULL;
    }
    bld->n_groups++;
    return g->sg;
}

/* Copies a string into the batch, valid UTF-8. */
static int
ndjson_str(td_ndjson_builder *bld, const char *s, size_t len, td_str *out)
{
    const char *fixed = ndjson_fix_utf8(bld, s, len, &len);

    if (fixed == NULL) {
        return TD_ENOMEM;
    }
    *out = td_batch_str(bld->b, fixed, len);
    return out->ptr != NULL ? TD_OK : TD_ENOMEM;
}

static td_value *
ndjson_attrs_add(td_ndjson_builder *bld, td_attrs *attrs, const char *key)
{
    size_t len = strlen(key);
    const char *fixed = ndjson_fix_utf8(bld, key, len, &len);

    if (fixed == NULL) {
        return NULL;
    }
    return td_attrs_add(bld->b, attrs, fixed, len);
}

/* Up to this many pairs, duplicate keys are found by comparing all. */
#define NDJSON_DEDUP_SCAN 16

typedef struct ndjson_keyref {
    td_str key;
    uint32_t idx;
} ndjson_keyref;

static bool
ndjson_same_key(td_str a, td_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/* Orders by key, then by position, so that the last of a run is kept. */
static int
ndjson_keyref_cmp(const void *pa, const void *pb)
{
    const ndjson_keyref *a = pa, *b = pb;
    size_t n = a->key.len < b->key.len ? a->key.len : b->key.len;
    int c = memcmp(a->key.ptr, b->key.ptr, n);

    if (c != 0) {
        return c;
    }
    if (a->key.len != b->key.len) {
        return a->key.len < b->key.len ? -1 : 1;
    }
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/*
 * OTLP requires the keys of attributes and of a kvlist to be unique;
 * RFC 8259 (section 4) leaves a repeated name to the parser. As in
 * ECMAScript's JSON.parse the last value wins: earlier pairs with the
 * same key are removed and the survivors keep their order. Long lists
 * are sorted (in the scratch arena) so that a line of many keys cannot
 * cost quadratic time.
 */
static int
ndjson_dedup(td_ndjson_builder *bld, td_attrs *attrs)
{
    uint32_t n = attrs->n, o = 0;
    td_kv *items = attrs->items;
    ndjson_keyref *refs;
    bool *drop;

    if (n < 2) {
        return TD_OK;
    }
    drop = td_arena_calloc(bld->scratch, n, sizeof(*drop));
    if (drop == NULL) {
        return TD_ENOMEM;
    }
    if (n <= NDJSON_DEDUP_SCAN) {
        for (uint32_t i = 0; i + 1 < n; i++) {
            for (uint32_t j = i + 1; j < n && !drop[i]; j++) {
                drop[i] = ndjson_same_key(items[i].key, items[j].key);
            }
        }
    } else {
        refs = td_arena_alloc(bld->scratch, (size_t) n * sizeof(*refs));
        if (refs == NULL) {
            return TD_ENOMEM;
        }
        for (uint32_t i = 0; i < n; i++) {
            refs[i].key = items[i].key;
            refs[i].idx = i;
        }
        qsort(refs, n, sizeof(*refs), ndjson_keyref_cmp);
        for (uint32_t i = 0; i + 1 < n; i++) {
            if (ndjson_same_key(refs[i].key, refs[i + 1].key)) {
                drop[refs[i].idx] = true;
            }
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!drop[i]) {
            items[o++] = items[i];
        }
    }
    attrs->n = o;
    return TD_OK;
}

static bool
ndjson_is_num_char(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.'
           || c == 'e' || c == 'E';
}

/*
 * The position just past the closing quote of the string whose text
 * starts at p (after its opening quote), or n. A quote closes the string
 * when an even number of backslashes precede it. memchr() makes long
 * strings cheap: this scan runs over every line that holds a number.
 */
static size_t
ndjson_string_end(const char *t, size_t p, size_t n)
{
    while (p < n) {
        const char *q = memchr(t + p, '"', n - p);
        size_t i, bs = 0;

        if (q == NULL) {
            return n;
        }
        i = (size_t) (q - t);
        while (i - bs > p && t[i - bs - 1] == '\\') {
            bs++;
        }
        if (bs % 2 == 0) {
            return i + 1;
        }
        p = i + 1;
    }
    return n;
}

/* 1 for a quote and for the bytes that start a JSON number, else 0. */
static const uint8_t ndjson_scan_class[256] = {
    ['"'] = 1, ['-'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
    ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
};

/*
 * Finds the text of the next number in the line, skipping strings. In
 * JSON that cJSON accepted, the n-th number token is the n-th number
 * node of a depth-first walk.
 */
static bool
ndjson_next_number(td_ndjson_builder *bld, const char **tok, size_t *len)
{
    const unsigned char *u = (const unsigned char *) bld->text;
    const char *t = bld->text;
    size_t p = bld->num_pos, n = bld->text_len, start;

    while (p < n) {
        unsigned char c;

        /* Punctuation, literals and blanks: nothing to look at. */
        while (p < n && ndjson_scan_class[u[p]] == 0) {
            p++;
        }
        if (p == n) {
            break;
        }
        c = u[p];
        if (c == '"') {
            p = ndjson_string_end(t, p + 1, n);
            continue;
        }
        start = p;
        while (p < n && ndjson_is_num_char(t[p])) {
            p++;
        }
        *tok = t + start;
        *len = p - start;
        bld->num_pos = p;
        return true;
    }
    bld->num_pos = n;
    return false;
}

/* "-?[0-9]+" within int64, else false. */
static bool
ndjson_tok_int(const char *s, size_t len, int64_t *out)
{
    bool neg = len > 0 && s[0] == '-';
    uint64_t v = 0, lim = neg ? (uint64_t) INT64_MAX + 1 : INT64_MAX;
    size_t i = neg;

    if (i == len) {
        return false;
    }
    for (; i < len; i++) {
        unsigned d = (unsigned) (s[i] - '0');

        if (s[i] < '0' || s[i] > '9' || v > (lim - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *out = neg ? (v == lim ? INT64_MIN : -(int64_t) v) : (int64_t) v;
    return true;
}

/*
 * A JSON number's type follows its text: integer text that fits int64 is
 * an int; a fraction, an exponent or a larger magnitude make a double.
 * A double that is not finite (1e999) keeps its text as a string.
 */
static int
ndjson_number(td_ndjson_builder *bld, const cJSON *it, const char *tok,
              size_t tok_len, td_value *out)
{
    int64_t i;

    if (tok != NULL && ndjson_tok_int(tok, tok_len, &i)) {
        out->type = TD_VAL_INT;
        out->u.i = i;
        return TD_OK;
    }
    if (!isfinite(it->valuedouble) && tok != NULL) {
        out->type = TD_VAL_STR;
        return ndjson_str(bld, tok, tok_len, &out->u.s);
    }
    out->type = TD_VAL_DOUBLE;
    out->u.d = it->valuedouble;
    return TD_OK;
}

/* The members of an object or the elements of an array. */
static uint32_t
ndjson_count(const cJSON *it)
{
    uint32_t n = 0;

    for (const cJSON *c = it->child; c != NULL; c = c->next) {
        n++;
    }
    return n;
}

/*
 * Converts a cJSON node into a value. tok is the number text when the
 * caller already took it (top-level numbers), else NULL. Depth is bounded
 * by cJSON's nesting limit (CJSON_NESTING_LIMIT, 1000).
 */
static int
ndjson_value(td_ndjson_builder *bld, const cJSON *it, const char *tok,
             size_t tok_len, td_value *out)
{
    const cJSON *c;
    int rc;

    switch (it->type & 0xFF) {
    case cJSON_False:
    case cJSON_True:
        out->type = TD_VAL_BOOL;
        out->u.b = (it->type & 0xFF) == cJSON_True;
        return TD_OK;
    case cJSON_Number:
        if (tok == NULL && !ndjson_next_number(bld, &tok, &tok_len)) {
            tok = NULL;
        }
        return ndjson_number(bld, it, tok, tok_len, out);
    case cJSON_String:
        out->type = TD_VAL_STR;
        return ndjson_str(bld, it->valuestring, strlen(it->valuestring),
                          &out->u.s);
    case cJSON_Array:
        out->type = TD_VAL_ARRAY;
        for (c = it->child; c != NULL; c = c->next) {
            td_value *v = td_value_array_add(bld->b, out);

            if (v == NULL) {
                return TD_ENOMEM;
            }
            rc = ndjson_value(bld, c, NULL, 0, v);
            if (rc != TD_OK) {
                return rc;
            }
        }
        return TD_OK;
    case cJSON_Object:
        out->type = TD_VAL_MAP;
        if (td_attrs_reserve(bld->b, &out->u.map, ndjson_count(it))
            != TD_OK) {
            return TD_ENOMEM;
        }
        for (c = it->child; c != NULL; c = c->next) {
            td_value *v = ndjson_attrs_add(bld, &out->u.map, c->string);

            if (v == NULL) {
                return TD_ENOMEM;
            }
            rc = ndjson_value(bld, c, NULL, 0, v);
            if (rc != TD_OK) {
                return rc;
            }
        }
        return ndjson_dedup(bld, &out->u.map);
    default:
        out->type = TD_VAL_EMPTY;
        return TD_OK;
    }
}

static bool
ndjson_has_exp(const char *tok, size_t len)
{
    return memchr(tok, 'e', len) != NULL || memchr(tok, 'E', len) != NULL;
}

/* Sets time_unix_nano from a timestamp value; TD_EINVAL if unparseable. */
static int
ndjson_time(td_log_record *rec, const cJSON *it, const char *tok,
            size_t tok_len)
{
    if (cJSON_IsNumber(it)) {
        if (tok != NULL && !ndjson_has_exp(tok, tok_len)) {
            return td_ndjson_parse_epoch(tok, tok_len, &rec->time_unix_nano);
        }
        return ndjson_epoch_double(it->valuedouble, &rec->time_unix_nano);
    }
    if (cJSON_IsString(it)) {
        const char *s = it->valuestring;
        size_t len = strlen(s);

        if (td_ndjson_parse_rfc3339(s, len, &rec->time_unix_nano) == 0) {
            return TD_OK;
        }
        return td_ndjson_parse_epoch(s, len, &rec->time_unix_nano);
    }
    return TD_EINVAL;
}

/* Sets severity from a level value; TD_EINVAL when not a known level. */
static int
ndjson_level(td_ndjson_builder *bld, td_log_record *rec, const cJSON *it,
             const char *tok, size_t tok_len)
{
    const char *s;
    size_t len;
    int sev;

    if (cJSON_IsNumber(it) && tok != NULL) {
        s = tok;
        len = tok_len;
    } else if (cJSON_IsString(it)) {
        s = it->valuestring;
        len = strlen(s);
    } else {
        return TD_EINVAL;
    }
    sev = td_ndjson_severity(s, len);
    if (sev == 0) {
        return TD_EINVAL;
    }
    rec->severity_number = sev;
    return ndjson_str(bld, s, len, &rec->severity_text);
}

/*
 * Hex digit values plus one; 0 for a byte that is not a hex digit. A
 * table, not comparisons: ids are random, so digit-or-letter branches
 * would be mispredicted about one time in three, 48 times a line.
 */
static const uint8_t ndjson_hex1[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
    ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
    ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

static int
ndjson_hex_id(const cJSON *it, uint8_t *id, size_t n)
{
    const unsigned char *s;
    unsigned bad = 0;

    if (!cJSON_IsString(it) || strlen(it->valuestring) != n * 2) {
        return TD_EINVAL;
    }
    s = (const unsigned char *) it->valuestring;
    for (size_t i = 0; i < n; i++) {
        /* A non-digit gives 0 - 1 = 0xFF: high bits set. */
        uint8_t hi = (uint8_t) (ndjson_hex1[s[2 * i]] - 1);
        uint8_t lo = (uint8_t) (ndjson_hex1[s[2 * i + 1]] - 1);

        bad |= (unsigned) (hi | lo) & 0xF0u;
        id[i] = (uint8_t) ((hi << 4) | (lo & 0x0F));
    }
    if (bad != 0) {
        memset(id, 0, n);
        return TD_EINVAL;
    }
    if (td_id_is_zero(id, n)) {
        return TD_EINVAL;
    }
    return TD_OK;
}

/* The well-known keys of a line, by the field they set. */
typedef enum ndjson_key {
    NDJSON_KEY_OTHER = 0,
    NDJSON_KEY_TIME,            /* timestamp, @timestamp, time, ts */
    NDJSON_KEY_LEVEL,           /* level, severity */
    NDJSON_KEY_MSG,             /* message, msg */
    NDJSON_KEY_TRACE,           /* trace_id */
    NDJSON_KEY_SPAN,            /* span_id */
    NDJSON_KEY_SERVICE          /* service */
} ndjson_key;

/*
 * Classifies a key. The switch on the first byte keeps the common case,
 * an ordinary attribute key, to one or two comparisons.
 */
static ndjson_key
ndjson_key_class(const char *k)
{
    switch (k[0]) {
    case 't':
        if (strcmp(k, "timestamp") == 0 || strcmp(k, "time") == 0
            || strcmp(k, "ts") == 0) {
            return NDJSON_KEY_TIME;
        }
        return strcmp(k, "trace_id") == 0 ? NDJSON_KEY_TRACE
                                          : NDJSON_KEY_OTHER;
    case '@':
        return strcmp(k, "@timestamp") == 0 ? NDJSON_KEY_TIME
                                            : NDJSON_KEY_OTHER;
    case 'l':
        return strcmp(k, "level") == 0 ? NDJSON_KEY_LEVEL
                                       : NDJSON_KEY_OTHER;
    case 'm':
        return strcmp(k, "message") == 0 || strcmp(k, "msg") == 0
                   ? NDJSON_KEY_MSG
                   : NDJSON_KEY_OTHER;
    case 's':
        if (strcmp(k, "severity") == 0) {
            return NDJSON_KEY_LEVEL;
        }
        if (strcmp(k, "span_id") == 0) {
            return NDJSON_KEY_SPAN;
        }
        return strcmp(k, "service") == 0 ? NDJSON_KEY_SERVICE
                                         : NDJSON_KEY_OTHER;
    default:
        return NDJSON_KEY_OTHER;
    }
}

/*
 * What the well-known keys of one line have already set. Of the keys
 * that share a field (timestamp, @timestamp, time, ts; level, severity;
 * message, msg) the first whose value is usable sets it; an unusable
 * value (an unknown level, a time that does not parse) leaves the field
 * to a later key and stays an attribute.
 */
typedef struct ndjson_seen {
    bool time, level, msg, trace, span, service;
} ndjson_seen;

/*
 * Handles a well-known key. Returns 1 when the value was used, 0 when it
 * is to be kept as an ordinary attribute, or a negative code.
 */
static int
ndjson_known(td_ndjson_builder *bld, td_log_record *rec, ndjson_seen *seen,
             const cJSON *c, const char *tok, size_t tok_len)
{
    const char *k = c->string;
    int rc;

    switch (ndjson_key_class(k)) {
    case NDJSON_KEY_TIME:
        if (seen->time) {
            return 0;
        }
        if (ndjson_time(rec, c, tok, tok_len) == TD_OK) {
            seen->time = true;
            return 1;
        }
        ndjson_err(bld, "unparseable timestamp in \"%s\"", k);
        return 0;
    case NDJSON_KEY_LEVEL:
        if (seen->level) {
            return 0;
        }
        rc = ndjson_level(bld, rec, c, tok, tok_len);
        if (rc == TD_OK) {
            seen->level = true;
            return 1;
        }
        return rc == TD_ENOMEM ? rc : 0;
    case NDJSON_KEY_MSG:
        if (seen->msg) {
            return 0;
        }
        seen->msg = true;
        rc = ndjson_value(bld, c, tok, tok_len, &rec->body);
        return rc < 0 ? rc : 1;
    case NDJSON_KEY_TRACE:
        if (seen->trace) {
            return 0;
        }
        seen->trace = true;
        if (ndjson_hex_id(c, rec->trace_id, 16) == TD_OK) {
            return 1;
        }
        ndjson_err(bld, "trace_id is not 32 hex digits (or is all zero)");
        return 0;
    case NDJSON_KEY_SPAN:
        if (seen->span) {
            return 0;
        }
        seen->span = true;
        if (ndjson_hex_id(c, rec->span_id, 8) == TD_OK) {
            return 1;
        }
        ndjson_err(bld, "span_id is not 16 hex digits (or is all zero)");
        return 0;
    case NDJSON_KEY_SERVICE:
        if (seen->service || !cJSON_IsString(c)) {
            return 0;
        }
        seen->service = true;
        return 1;
    default:
        return 0;
    }
}

/* Maps a JSON object line; the record goes to its service's group. */
static int
ndjson_map_object(td_ndjson_builder *bld, const cJSON *root,
                  td_log_record **out)
{
    const char *svc = NULL;
    size_t svc_len = 0, extra;
    ndjson_seen seen = {0};
    td_scope_group *sg;
    td_log_record *rec;
    const cJSON *c;

    for (c = root->child; c != NULL; c = c->next) {
        if (c->string[0] == 's' && strcmp(c->string, "service") == 0
            && cJSON_IsString(c)) {
            svc = ndjson_fix_utf8(bld, c->valuestring,
                                  strlen(c->valuestring), &svc_len);
            if (svc == NULL) {
                return TD_ENOMEM;
            }
            break;
        }
    }
    sg = ndjson_group(bld, svc, svc_len);
    rec = sg != NULL ? td_batch_add_log(bld->b, sg) : NULL;
    if (rec == NULL) {
        return TD_ENOMEM;
    }
    *out = rec;

    /* The line's keys, the configured attributes and the peer's two. */
    extra = bld->opts.attributes != NULL ? bld->opts.attributes->n : 0;
    if (td_attrs_reserve(bld->b, &rec->attrs,
                         ndjson_count(root) + (uint32_t) extra + 2)
        != TD_OK) {
        return TD_ENOMEM;
    }

    for (c = root->child; c != NULL; c = c->next) {
        const char *tok = NULL;
        size_t tok_len = 0;
        td_value *v;
        int rc;

        if (cJSON_IsNumber(c)
            && !ndjson_next_number(bld, &tok, &tok_len)) {
            tok = NULL;
        }
        rc = ndjson_known(bld, rec, &seen, c, tok, tok_len);
        if (rc < 0) {
            return rc;
        }
        if (rc == 1) {
            continue;
        }
        v = ndjson_attrs_add(bld, &rec->attrs, c->string);
        if (v == NULL) {
            return TD_ENOMEM;
        }
        rc = ndjson_value(bld, c, tok, tok_len, v);
        if (rc != TD_OK) {
            return rc;
        }
    }
    return ndjson_dedup(bld, &rec->attrs);
}

/* A line kept as it is: the body is its text. */
static int
ndjson_map_raw(td_ndjson_builder *bld, const char *s, size_t len,
               td_log_record **out)
{
    td_scope_group *sg = ndjson_group(bld, NULL, 0);
    td_log_record *rec = sg != NULL ? td_batch_add_log(bld->b, sg) : NULL;

    if (rec == NULL) {
        return TD_ENOMEM;
    }
    *out = rec;
    rec->body.type = TD_VAL_STR;
    return ndjson_str(bld, s, len, &rec->body.u.s);
}

/* Adds key=val unless the record already has the key. */
static int
ndjson_put_default(td_ndjson_builder *bld, td_log_record *rec,
                   const char *key, const char *val)
{
    if (td_attrs_get(&rec->attrs, key, strlen(key)) != NULL) {
        return TD_OK;
    }
    return td_attrs_put_str(bld->b, &rec->attrs, key, val, strlen(val));
}

/*
 * The value of one of the receiver's own keys in the record: the line's
 * value for that key when it has one (it is replaced), else a new pair.
 * What the receiver observed (the peer, why a line was not parsed) must
 * not be hidden or forged by the line. NULL on ENOMEM.
 */
static td_value *
ndjson_own(td_ndjson_builder *bld, td_log_record *rec, const char *key)
{
    td_str k = {key, strlen(key)};

    for (uint32_t i = 0; i < rec->attrs.n; i++) {
        if (ndjson_same_key(rec->attrs.items[i].key, k)) {
            return &rec->attrs.items[i].val;
        }
    }
    return td_attrs_add(bld->b, &rec->attrs, k.ptr, k.len);
}

static int
ndjson_own_bool(td_ndjson_builder *bld, td_log_record *rec, const char *key)
{
    td_value *v = ndjson_own(bld, rec, key);

    if (v == NULL) {
        return TD_ENOMEM;
    }
    v->type = TD_VAL_BOOL;
    v->u.b = true;
    return TD_OK;
}

static int
ndjson_own_int(td_ndjson_builder *bld, td_log_record *rec, const char *key,
               int64_t val)
{
    td_value *v = ndjson_own(bld, rec, key);

    if (v == NULL) {
        return TD_ENOMEM;
    }
    v->type = TD_VAL_INT;
    v->u.i = val;
    return TD_OK;
}

static int
ndjson_own_str(td_ndjson_builder *bld, td_log_record *rec, const char *key,
               const char *val, size_t len)
{
    td_str s = td_batch_str(bld->b, val, len);
    td_value *v = s.ptr != NULL ? ndjson_own(bld, rec, key) : NULL;

    if (v == NULL) {
        return TD_ENOMEM;
    }
    v->type = TD_VAL_STR;
    v->u.s = s;
    return TD_OK;
}

/* network.peer.address, copied into the batch once for all its records. */
static int
ndjson_own_peer(td_ndjson_builder *bld, td_log_record *rec)
{
    td_value *v;

    if (bld->peer_str.ptr == NULL) {
        bld->peer_str = td_batch_str(bld->b, bld->peer_addr,
                                     strlen(bld->peer_addr));
        if (bld->peer_str.ptr == NULL) {
            return TD_ENOMEM;
        }
    }
    v = ndjson_own(bld, rec, "network.peer.address");
    if (v == NULL) {
        return TD_ENOMEM;
    }
    v->type = TD_VAL_STR;
    v->u.s = bld->peer_str;
    return TD_OK;
}

/*
 * The attributes every record gets after its own keys: the receiver's
 * flags, the configured attributes (where the line has no such key) and
 * the peer.
 */
static int
ndjson_finish(td_ndjson_builder *bld, td_log_record *rec,
              const td_ndjson_line *line)
{
    const td_cfg_strmap *attrs = bld->opts.attributes;
    int rc = TD_OK;

    if (bld->bad_utf8) {
        rc |= ndjson_own_bool(bld, rec, "tandem.invalid_utf8");
    }
    if (bld->err_len > 0) {
        rc |= ndjson_own_str(bld, rec, "tandem.parse_error", bld->err,
                             bld->err_len);
    }
    if (line->truncated) {
        rc |= ndjson_own_bool(bld, rec, "tandem.truncated");
        rc |= ndjson_own_int(bld, rec, "tandem.original_size",
                             (int64_t) line->orig_len);
    }
    for (size_t i = 0; attrs != NULL && i < attrs->n; i++) {
        rc |= ndjson_put_default(bld, rec, attrs->keys[i], attrs->vals[i]);
    }
    if (bld->peer_addr != NULL) {
        rc |= ndjson_own_peer(bld, rec);
        rc |= ndjson_own_int(bld, rec, "network.peer.port",
                             bld->peer_port);
    }
    return rc != 0 ? TD_ENOMEM : TD_OK;
}

/* The first byte from p on that is not JSON whitespace, or end. */
static const char *
ndjson_skip_blank(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'
                       || *p == '\n')) {
        p++;
    }
    return p;
}

/*
 * cJSON keeps strings NUL-terminated, so a NUL inside a JSON string (raw
 * or written \u0000) ends the string there and the rest is lost. True
 * when a string of the line holds one, so that the cut is reported
 * (docs/LIMITATIONS.md, "NUL characters in JSON strings"). Fast
 * searches for a NUL and for backslashes rule out nearly every line
 * before the exact scan.
 */
static bool
ndjson_maybe_nul(const char *s, size_t len)
{
    const char *p = s, *end = s + len;

    if (memchr(s, '\0', len) != NULL) {
        return true;
    }
    while ((p = memchr(p, '\\', (size_t) (end - p))) != NULL) {
        if (end - p >= 6 && memcmp(p + 1, "u0000", 5) == 0) {
            return true;
        }
        p += 2;
        if (p >= end) {
            break;
        }
    }
    return false;
}

static bool
ndjson_nul_in_string(const char *s, size_t len)
{
    bool in = false;

    if (!ndjson_maybe_nul(s, len)) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!in) {
            in = s[i] == '"';
        } else if (s[i] == '"') {
            in = false;
        } else if (s[i] == '\0') {
            return true;
        } else if (s[i] == '\\') {
            if (len - i > 5 && memcmp(s + i + 1, "u0000", 5) == 0) {
                return true;
            }
            i++;
        }
    }
    return false;
}

/*
 * Parses the line with cJSON in the scratch arena. Returns the object, or
 * NULL with the reason in the line's parse error.
 */
static cJSON *
ndjson_parse(td_ndjson_builder *bld, const char *s, size_t len,
             bool truncated)
{
    const char *end = NULL, *extra;
    cJSON *root;

    td_cjson_arena_begin(bld->scratch);
    root = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    td_cjson_arena_end();

    /* A truncated line is expected not to parse: its attributes say why. */
    if (root == NULL) {
        if (!truncated) {
            ndjson_err(bld, "not JSON: syntax error at byte %zu",
                       end != NULL && end >= s ? (size_t) (end - s) : 0);
        }
        return NULL;
    }
    extra = end != NULL ? ndjson_skip_blank(end, s + len) : s;
    if (extra != s + len) {
        if (!truncated) {
            ndjson_err(bld, "not JSON: text after the value at byte %zu",
                       (size_t) (extra - s));
        }
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        if (!truncated) {
            ndjson_err(bld, "JSON value is not an object");
        }
        return NULL;
    }
    return root;
}

int
td_ndjson_map(td_ndjson_builder *bld, const td_ndjson_line *line)
{
    const char *s = line->ptr;
    size_t len = line->len;
    td_log_record *rec = NULL;
    cJSON *root = NULL;
    int rc;

    if (line->truncated) {
        len = ndjson_utf8_cut(s, len);
    } else if (ndjson_skip_blank(s, s + len) == s + len) {
        return 0;
    }

    td_arena_reset(bld->scratch);
    bld->bad_utf8 = false;
    bld->line_utf8 = td_ndjson_utf8_valid(s, len);
    bld->err_len = 0;
    bld->err[0] = '\0';
    bld->text = s;
    bld->text_len = len;
    bld->num_pos = 0;

    if (bld->opts.parse_json) {
        root = ndjson_parse(bld, s, len, line->truncated);
    }
    if (root != NULL) {
        bld->err_len = 0;
        if (ndjson_nul_in_string(s, len)) {
            ndjson_err(bld, "a string held a NUL character and was cut "
                       "there");
        }
        rc = ndjson_map_object(bld, root, &rec);
    } else {
        rc = ndjson_map_raw(bld, s, len, &rec);
    }
    if (rc == TD_OK) {
        rec->observed_time_unix_nano = bld->now_ns;
        rc = ndjson_finish(bld, rec, line);
    }
    return rc == TD_OK ? 1 : rc;
}
