/*
 * config_keys.c - declarative key tables (td_cfg_key) to config structs:
 * defaults, conversion of each value type with messages a person can act
 * on, unknown keys with suggestions, required keys, freeing, durations,
 * and the td_cfg_diag calls that components' validate callbacks use.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

/* Most key names one unknown-key message considers. */
#define TD_CFG_MAX_NAMES 128

typedef struct td_cfg_ctx {
    td_cfg_loader *ld;
    const char *where;          /* "receiver \"tcplog\"" or "service" */
    bool dotted;
    const char *const *extra;   /* top-level names handled elsewhere */
    int errors;
} td_cfg_ctx;

static const char *const td_cfg_kind_names[TD_KIND_COUNT] = {
    "receiver", "processor", "exporter", "extension"
};

const char *
td_kind_name(td_kind kind)
{
    return (unsigned) kind < TD_KIND_COUNT ? td_cfg_kind_names[kind]
                                           : "component";
}

/* ---- small helpers ---- */

const char *
td_cfg_quote(const char *s, char *buf, size_t len)
{
    size_t o = 0, i;

    buf[o++] = '"';
    for (i = 0; s[i] != '\0' && o + 8 < len; i++) {
        unsigned char c = (unsigned char) s[i];

        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char) c;
        } else if (c == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t) snprintf(buf + o, len - o, "\\x%02x", c);
        } else {
            buf[o++] = (char) c;
        }
    }
    if (s[i] != '\0') {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

size_t
td_cfg_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t prev[65], cur[65];

    if (la > 64 || lb > 64) {
        return (size_t) -1;
    }
    for (size_t j = 0; j <= lb; j++) {
        prev[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

            cur[j] = sub < del ? sub : del;
            cur[j] = ins < cur[j] ? ins : cur[j];
        }
        memcpy(prev, cur, (lb + 1) * sizeof(*prev));
    }
    return prev[lb];
}

/*
 * A suggestion must be close (at most 2 edits, or a third of the word)
 * and must not be a rewrite of the whole word, which would only confuse.
 */
const char *
td_cfg_suggest(const char *s, const char *const *names, size_t n)
{
    size_t best = (size_t) -1, len = strlen(s);
    const char *pick = NULL;

    for (size_t i = 0; i < n; i++) {
        size_t d = td_cfg_distance(s, names[i]);

        if (d < best) {
            best = d;
            pick = names[i];
        }
    }
    if (pick == NULL || best >= len || best >= strlen(pick)) {
        return NULL;
    }
    return best <= 2 || best <= len / 3 ? pick : NULL;
}

void
td_cfg_fmt_duration(int64_t ms, char *buf, size_t len)
{
    int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60;
    int64_t frac = ms % 1000;
    size_t o = 0;

    if (ms <= 0) {
        snprintf(buf, len, "0s");
        return;
    }
    if (h == 0 && m == 0 && s == 0) {
        snprintf(buf, len, "%lldms", (long long) frac);
        return;
    }
    buf[0] = '\0';
    if (h != 0) {
        o += (size_t) snprintf(buf + o, len - o, "%lldh", (long long) h);
    }
    if (m != 0 && o < len) {
        o += (size_t) snprintf(buf + o, len - o, "%lldm", (long long) m);
    }
    if ((s != 0 || frac != 0) && o < len) {
        if (frac == 0) {
            snprintf(buf + o, len - o, "%llds", (long long) s);
        } else {
            char f[8];
            size_t fl;

            snprintf(f, sizeof(f), "%03lld", (long long) frac);
            for (fl = 3; f[fl - 1] == '0'; fl--) {
                continue;
            }
            snprintf(buf + o, len - o, "%lld.%.*ss", (long long) s,
                     (int) fl, f);
        }
    }
}

/* Why a text is not a duration, for messages; compared by address. */
static const char td_cfg_dur_empty[] = "it is empty";
static const char td_cfg_dur_negative[] = "a duration cannot be negative";
static const char td_cfg_dur_no_unit[] =
    "a number needs a unit: h, m, s or ms";
static const char td_cfg_dur_unit[] = "the units are h, m, s and ms";
static const char td_cfg_dur_no_number[] =
    "a unit needs a number before it";
static const char td_cfg_dur_fine[] = "it is finer than a millisecond";
static const char td_cfg_dur_long[] = "it is too long";

/*
 * Go's time.ParseDuration grammar restricted to what a config needs:
 * one or more DECIMAL UNIT parts with units h, m, s and ms, or a bare
 * "0". The result must be whole milliseconds (ms is tandem's clock
 * resolution), so "1.5s" is fine and "0.5ms" is not; no sign, no
 * spaces. Overflow is an error. On failure *why says what is wrong.
 */
static int
td_cfg_duration(const char *s, int64_t *ms, const char **why)
{
    int64_t total = 0;

    if (s == NULL || *s == '\0') {
        *why = td_cfg_dur_empty;
        return TD_EINVAL;
    }
    if (strcmp(s, "0") == 0) {
        *ms = 0;
        return TD_OK;
    }
    if (*s == '-') {
        *why = td_cfg_dur_negative;
        return TD_EINVAL;
    }
    while (*s != '\0') {
        uint64_t whole = 0, frac = 0, scale = 1, unit;
        int digits = 0, fdigits = 0;

        for (; *s >= '0' && *s <= '9'; s++, digits++) {
            if (whole > (UINT64_MAX - 9) / 10) {
                *why = td_cfg_dur_long;
                return TD_EINVAL;
            }
            whole = whole * 10 + (uint64_t) (*s - '0');
        }
        if (*s == '.') {
            for (s++; *s >= '0' && *s <= '9'; s++, fdigits++) {
                if (fdigits >= 12) {
                    if (*s != '0') {
                        *why = td_cfg_dur_fine;
                        return TD_EINVAL;
                    }
                    continue;
                }
                frac = frac * 10 + (uint64_t) (*s - '0');
                scale *= 10;
            }
        }
        if (digits == 0 && fdigits == 0) {
            *why = *s == 'h' || *s == 'm' || *s == 's'
                   ? td_cfg_dur_no_number : td_cfg_dur_unit;
            return TD_EINVAL;
        }
        if (s[0] == 'm' && s[1] == 's') {
            unit = 1;
            s += 2;
        } else if (*s == 'h' || *s == 'm' || *s == 's') {
            unit = *s == 'h' ? 3600000u : *s == 'm' ? 60000u : 1000u;
            s++;
        } else {
            *why = *s == '\0' ? td_cfg_dur_no_unit : td_cfg_dur_unit;
            return TD_EINVAL;
        }
        if (frac * unit % scale != 0) {
            *why = td_cfg_dur_fine;
            return TD_EINVAL;
        }
        if (whole > (uint64_t) INT64_MAX / unit) {
            *why = td_cfg_dur_long;
            return TD_EINVAL;
        }
        whole = whole * unit + frac * unit / scale;
        if (whole > (uint64_t) (INT64_MAX - total)) {
            *why = td_cfg_dur_long;
            return TD_EINVAL;
        }
        total += (int64_t) whole;
    }
    *ms = total;
    return TD_OK;
}

int
td_parse_duration(const char *s, int64_t *ms)
{
    const char *why;

    return td_cfg_duration(s, ms, &why);
}

/* What a node is, for "got ...": the quoted value of a scalar. */
static const char *
td_cfg_found(const td_cfg_node *n, char *buf, size_t len)
{
    if (n->kind == TD_CFG_NODE_SCALAR && !n->is_null) {
        return td_cfg_quote(n->str, buf, len);
    }
    return td_cfg_node_what(n);
}

static void *
td_cfg_field(void *cfg, const td_cfg_key *k)
{
    return (char *) cfg + k->offset;
}

static bool
td_cfg_ranged(const td_cfg_key *k)
{
    return k->max > k->min;
}

/* "an integer", "one of json, none": what a key's type accepts. */
static void
td_cfg_expected(const td_cfg_key *k, char *buf, size_t len)
{
    size_t o = 0;

    switch (k->type) {
    case TD_CFG_STR:
        snprintf(buf, len, "a string");
        break;
    case TD_CFG_BOOL:
        snprintf(buf, len, "true or false");
        break;
    case TD_CFG_INT:
        snprintf(buf, len, "an integer");
        break;
    case TD_CFG_DOUBLE:
        snprintf(buf, len, "a number");
        break;
    case TD_CFG_DURATION:
        snprintf(buf, len, "a duration such as 200ms, 5s or 1m30s");
        break;
    case TD_CFG_ENUM:
        o = (size_t) snprintf(buf, len, "one of ");
        for (size_t i = 0; k->choices[i] != NULL && o < len; i++) {
            o += (size_t) snprintf(buf + o, len - o, "%s%s",
                                   i ? ", " : "", k->choices[i]);
        }
        break;
    case TD_CFG_STRLIST:
        snprintf(buf, len, "a list of strings such as [a, b]");
        break;
    case TD_CFG_STRMAP:
        snprintf(buf, len, "a map of names to single values");
        break;
    default:
        snprintf(buf, len, "a map of keys");
        break;
    }
}

static void
td_cfg_range_text(const td_cfg_key *k, char *buf, size_t len)
{
    char lo[32], hi[32];

    if (k->type == TD_CFG_DURATION) {
        td_cfg_fmt_duration(k->min, lo, sizeof(lo));
        td_cfg_fmt_duration(k->max, hi, sizeof(hi));
    } else {
        snprintf(lo, sizeof(lo), "%lld", (long long) k->min);
        snprintf(hi, sizeof(hi), "%lld", (long long) k->max);
    }
    snprintf(buf, len, "between %s and %s", lo, hi);
}

static int
td_cfg_parse_int(const char *s, int64_t *v)
{
    const char *p = s;
    long long x;
    char *end;

    if (*p == '-' || *p == '+') {
        p++;
    }
    if (*p < '0' || *p > '9') {
        return TD_EINVAL;
    }
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return TD_EINVAL;
        }
    }
    errno = 0;
    x = strtoll(s, &end, 10);
    if (errno == ERANGE) {
        return TD_AGAIN;    /* a number, but beyond int64 */
    }
    *v = (int64_t) x;
    return TD_OK;
}

/*
 * Parses a decimal number. TD_AGAIN for a number too large for a double
 * (the caller calls that out of range); underflow rounds to zero.
 */
static int
td_cfg_parse_double(const char *s, double *v)
{
    char *end;

    if (*s == '\0' || strspn(s, "0123456789+-.eE") != strlen(s)) {
        return TD_EINVAL;
    }
    errno = 0;
    *v = strtod(s, &end);
    if (*end != '\0' || end == s) {
        return TD_EINVAL;
    }
    if (!isfinite(*v) || (errno == ERANGE && fabs(*v) > 1.0)) {
        return TD_AGAIN;
    }
    return TD_OK;
}

/*
 * Sets a scalar-typed key from text: user input after ${} expansion, or
 * a table default. On failure why gets "expected X, got "s"" or the
 * allowed range, and the field keeps its value.
 */
static int
td_cfg_scalar(const td_cfg_key *k, const char *s, void *cfg, char *why,
              size_t len)
{
    void *f = td_cfg_field(cfg, k);
    char exp[256], q[128], range[96];
    const char *bad;
    int64_t iv;
    double dv;
    int rc;

    switch (k->type) {
    case TD_CFG_STR: {
        char *copy = strdup(s);

        if (copy == NULL) {
            return TD_ENOMEM;
        }
        free(*(char **) f);
        *(char **) f = copy;
        return TD_OK;
    }
    case TD_CFG_BOOL:
        if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
            *(bool *) f = true;
            return TD_OK;
        }
        if (!strcmp(s, "false") || !strcmp(s, "False")
            || !strcmp(s, "FALSE")) {
            *(bool *) f = false;
            return TD_OK;
        }
        break;
    case TD_CFG_INT:
        rc = td_cfg_parse_int(s, &iv);
        if (rc == TD_OK && (!td_cfg_ranged(k) || (iv >= k->min
                                                  && iv <= k->max))) {
            *(int64_t *) f = iv;
            return TD_OK;
        }
        if (rc != TD_EINVAL) {
            td_cfg_range_text(k, range, sizeof(range));
            snprintf(why, len, "%s is out of range; it must be %s",
                     td_cfg_quote(s, q, sizeof(q)),
                     td_cfg_ranged(k) ? range : "a 64-bit integer");
            return TD_EINVAL;
        }
        break;
    case TD_CFG_DOUBLE:
        rc = td_cfg_parse_double(s, &dv);
        if (rc == TD_EINVAL) {
            break;
        }
        if (rc == TD_AGAIN || (td_cfg_ranged(k) && (dv < (double) k->min
                                                    || dv > (double) k->max))) {
            td_cfg_range_text(k, range, sizeof(range));
            snprintf(why, len, "%s is out of range; it must be %s",
                     td_cfg_quote(s, q, sizeof(q)),
                     td_cfg_ranged(k) ? range : "a finite number");
            return TD_EINVAL;
        }
        *(double *) f = dv;
        return TD_OK;
    case TD_CFG_DURATION:
        if (td_cfg_duration(s, &iv, &bad) != TD_OK) {
            if (bad != td_cfg_dur_long || !td_cfg_ranged(k)) {
                td_cfg_expected(k, exp, sizeof(exp));
                snprintf(why, len, "expected %s, got %s (%s)", exp,
                         td_cfg_quote(s, q, sizeof(q)), bad);
                return TD_EINVAL;
            }
            iv = INT64_MAX;
        }
        if (td_cfg_ranged(k) && (iv < k->min || iv > k->max)) {
            td_cfg_range_text(k, range, sizeof(range));
            snprintf(why, len, "%s is out of range; it must be %s",
                     td_cfg_quote(s, q, sizeof(q)), range);
            return TD_EINVAL;
        }
        *(int64_t *) f = iv;
        return TD_OK;
    case TD_CFG_ENUM:
        for (int i = 0; k->choices[i] != NULL; i++) {
            if (strcmp(k->choices[i], s) == 0) {
                *(int *) f = i;
                return TD_OK;
            }
        }
        break;
    default:
        break;
    }
    td_cfg_expected(k, exp, sizeof(exp));
    snprintf(why, len, "expected %s, got %s", exp,
             td_cfg_quote(s, q, sizeof(q)));
    return TD_EINVAL;
}

static void
td_cfg_free_list(td_cfg_strlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i]);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static void
td_cfg_free_map(td_cfg_strmap *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->keys[i]);
        free(m->vals[i]);
    }
    free(m->keys);
    free(m->vals);
    m->keys = m->vals = NULL;
    m->n = 0;
}

/*
 * Sets a list or map key from a node. why and *bad (the node to point
 * at) on failure; the field keeps its value then.
 */
static int
td_cfg_collection(const td_cfg_key *k, const td_cfg_node *n, void *cfg,
                  char *why, size_t len, const td_cfg_node **bad)
{
    bool is_list = k->type == TD_CFG_STRLIST;
    char exp[96], q[128];
    char **a, **b = NULL;

    *bad = n;
    td_cfg_expected(k, exp, sizeof(exp));
    if (n->kind != (is_list ? TD_CFG_NODE_SEQ : TD_CFG_NODE_MAP)) {
        snprintf(why, len, "expected %s, got %s", exp,
                 td_cfg_found(n, q, sizeof(q)));
        return TD_EINVAL;
    }
    for (size_t i = 0; i < n->n; i++) {
        if (n->vals[i]->kind != TD_CFG_NODE_SCALAR) {
            *bad = n->vals[i];
            if (is_list) {
                snprintf(why, len, "item %zu: expected a single value, "
                         "got %s", i + 1, td_cfg_node_what(n->vals[i]));
            } else {
                snprintf(why, len, "%s: expected a single value, got %s",
                         td_cfg_quote(n->keys[i]->str, q, sizeof(q)),
                         td_cfg_node_what(n->vals[i]));
            }
            return TD_EINVAL;
        }
    }
    a = calloc(n->n ? n->n : 1, sizeof(*a));
    if (!is_list) {
        b = calloc(n->n ? n->n : 1, sizeof(*b));
    }
    for (size_t i = 0; a != NULL && (is_list || b != NULL) && i < n->n;
         i++) {
        a[i] = strdup(is_list ? n->vals[i]->str : n->keys[i]->str);
        if (!is_list) {
            b[i] = strdup(n->vals[i]->str);
        }
        if (a[i] == NULL || (!is_list && b[i] == NULL)) {
            for (size_t j = 0; j <= i; j++) {
                free(a[j]);
                free(b ? b[j] : NULL);
            }
            free(a);
            a = NULL;
        }
    }
    if (a == NULL || (!is_list && b == NULL)) {
        free(a);
        free(b);
        return TD_ENOMEM;
    }
    if (is_list) {
        td_cfg_strlist *l = td_cfg_field(cfg, k);

        td_cfg_free_list(l);
        l->items = a;
        l->n = n->n;
    } else {
        td_cfg_strmap *m = td_cfg_field(cfg, k);

        td_cfg_free_map(m);
        m->keys = a;
        m->vals = b;
        m->n = n->n;
    }
    return TD_OK;
}

/* ---- defaults and freeing ---- */

static int
td_cfg_default_coll(const td_cfg_key *k, void *cfg, char *err,
                    size_t errlen)
{
    td_buf msgs = TD_BUF_INIT;
    td_cfg_loader ld;
    td_cfg_node *n = NULL;
    const td_cfg_node *bad;
    char why[256];
    int rc;

    memset(&ld, 0, sizeof(ld));
    ld.msgs = &msgs;
    rc = td_cfg_yaml_parse(&ld, "default", k->def, strlen(k->def), 0, &n);
    if (rc == TD_OK && n != NULL) {
        rc = td_cfg_collection(k, n, cfg, why, sizeof(why), &bad);
        if (rc == TD_EINVAL) {
            snprintf(err, errlen, "default of \"%s\": %s", k->name, why);
        }
    } else if (rc == TD_EINVAL || n == NULL) {
        snprintf(err, errlen, "default of \"%s\" is not YAML: %s", k->name,
                 msgs.data ? msgs.data : "empty");
        rc = TD_EINVAL;
    }
    td_cfg_node_free(&ld, n);
    td_buf_free(&msgs);
    return rc;
}

int
td_cfg_defaults(const td_cfg_key *keys, void *cfg, char *err, size_t errlen)
{
    char why[256];

    for (const td_cfg_key *k = keys; k->name != NULL; k++) {
        void *f = td_cfg_field(cfg, k);
        int rc;

        switch (k->type) {
        case TD_CFG_SECTION:
            rc = td_cfg_defaults(k->sub, cfg, err, errlen);
            if (rc != TD_OK) {
                return rc;
            }
            continue;
        case TD_CFG_STR:
            *(char **) f = NULL;
            break;
        case TD_CFG_BOOL:
            *(bool *) f = false;
            break;
        case TD_CFG_INT:
        case TD_CFG_DURATION:
            *(int64_t *) f = 0;
            break;
        case TD_CFG_DOUBLE:
            *(double *) f = 0.0;
            break;
        case TD_CFG_ENUM:
            *(int *) f = 0;
            break;
        case TD_CFG_STRLIST:
            memset(f, 0, sizeof(td_cfg_strlist));
            break;
        case TD_CFG_STRMAP:
            memset(f, 0, sizeof(td_cfg_strmap));
            break;
        }
        if (k->def == NULL) {
            continue;
        }
        if (k->type == TD_CFG_STRLIST || k->type == TD_CFG_STRMAP) {
            rc = td_cfg_default_coll(k, cfg, err, errlen);
        } else {
            rc = td_cfg_scalar(k, k->def, cfg, why, sizeof(why));
            if (rc == TD_EINVAL) {
                snprintf(err, errlen, "default of \"%s\": %s", k->name,
                         why);
            }
        }
        if (rc != TD_OK) {
            if (rc == TD_ENOMEM) {
                snprintf(err, errlen, "out of memory");
            }
            return rc;
        }
    }
    return TD_OK;
}

void
td_cfg_free_values(const td_cfg_key *keys, void *cfg)
{
    if (cfg == NULL) {
        return;
    }
    for (const td_cfg_key *k = keys; k->name != NULL; k++) {
        void *f = td_cfg_field(cfg, k);

        switch (k->type) {
        case TD_CFG_SECTION:
            td_cfg_free_values(k->sub, cfg);
            break;
        case TD_CFG_STR:
            free(*(char **) f);
            *(char **) f = NULL;
            break;
        case TD_CFG_STRLIST:
            td_cfg_free_list(f);
            break;
        case TD_CFG_STRMAP:
            td_cfg_free_map(f);
            break;
        default:
            break;
        }
    }
}

/* ---- parsing a block ---- */

static const td_cfg_key *
td_cfg_lookup(const td_cfg_key *keys, const char *name)
{
    for (const td_cfg_key *k = keys; k != NULL && k->name != NULL; k++) {
        if (strcmp(k->name, name) == 0) {
            return k;
        }
    }
    return NULL;
}

static size_t
td_cfg_names(const td_cfg_key *keys, const char **names, size_t n)
{
    for (const td_cfg_key *k = keys; k != NULL && k->name != NULL
                                     && n < TD_CFG_MAX_NAMES; k++) {
        names[n++] = k->name;
    }
    return n;
}

/* "receiver "tcplog"" plus, in dotted mode, ".telemetry.logs". */
static void
td_cfg_where(const td_cfg_ctx *c, const char *path, char *buf, size_t len)
{
    if (c->dotted && path[0] != '\0') {
        snprintf(buf, len, "%s.%s", c->where, path);
    } else {
        snprintf(buf, len, "%s", c->where);
    }
}

/* The key as named in a message: its section path unless dotted. */
static void
td_cfg_keyname(const td_cfg_ctx *c, const char *path, const char *key,
               char *buf, size_t len)
{
    char q[128];

    td_cfg_quote(key, q, sizeof(q));
    if (!c->dotted && path[0] != '\0') {
        snprintf(buf, len, "\"%s.%s", path, q + 1);
    } else {
        snprintf(buf, len, "%s", q);
    }
}

static void
td_cfg_unknown(td_cfg_ctx *c, const td_cfg_node *key, const char *path,
               const td_cfg_key *keys, const td_cfg_key *keys2,
               const char *const *extra)
{
    const char *names[TD_CFG_MAX_NAMES];
    char where[256], name[256];
    const char *hint;
    td_buf list = TD_BUF_INIT;
    size_t n;

    c->errors++;
    if (td_cfg_quiet(c->ld)) {
        /* Only counted: spare the list and the suggestion. */
        td_cfg_node_error(c->ld, key, "unknown key");
        return;
    }
    n = td_cfg_names(keys, names, 0);
    n = td_cfg_names(keys2, names, n);
    for (size_t i = 0; extra != NULL && extra[i] != NULL
                       && n < TD_CFG_MAX_NAMES; i++) {
        names[n++] = extra[i];
    }
    for (size_t i = 0; i < n; i++) {
        if (td_buf_printf(&list, "%s%s", i ? ", " : "", names[i])
            != TD_OK) {
            c->ld->nomem = true;
        }
    }
    td_cfg_where(c, path, where, sizeof(where));
    td_cfg_keyname(c, path, key->str, name, sizeof(name));
    hint = td_cfg_suggest(key->str, names, n);
    if (n == 0) {
        td_cfg_node_error(c->ld, key, "unknown key %s in %s; it takes no "
                          "keys", name, where);
    } else if (hint != NULL) {
        td_cfg_node_error(c->ld, key, "unknown key %s in %s; did you mean "
                          "\"%s\"? valid keys: %s", name, where, hint,
                          list.data);
    } else {
        td_cfg_node_error(c->ld, key, "unknown key %s in %s; valid keys: "
                          "%s", name, where, list.data);
    }
    td_buf_free(&list);
}

static void td_cfg_map(td_cfg_ctx *c, const td_cfg_node *map,
                       const td_cfg_key *keys, void *cfg,
                       const td_cfg_key *keys2, void *cfg2,
                       const char *path);

/* Sets one key from its value node; reports what is wrong with it. */
static void
td_cfg_value(td_cfg_ctx *c, const td_cfg_key *k, const td_cfg_node *key,
             const td_cfg_node *val, void *cfg, const char *path)
{
    char why[512], where[256], name[256], sub[256], q[128];
    const td_cfg_node *bad = val;
    int rc;

    if (k->type == TD_CFG_SECTION) {
        if (val->kind == TD_CFG_NODE_SCALAR && val->is_null) {
            return;
        }
        snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "",
                 key->str);
        if (val->kind == TD_CFG_NODE_MAP) {
            td_cfg_map(c, val, k->sub, cfg, NULL, NULL, sub);
            return;
        }
        snprintf(why, sizeof(why), "expected a map of keys, got %s",
                 td_cfg_found(val, q, sizeof(q)));
        rc = TD_EINVAL;
    } else if (val->kind == TD_CFG_NODE_SCALAR && val->is_null) {
        /* "key:" with nothing after it keeps the default. */
        return;
    } else if (val->kind == TD_CFG_NODE_SCALAR && val->bad) {
        /* Reported already; counted so that validate does not run. */
        c->errors++;
        return;
    } else if (k->type == TD_CFG_STRLIST || k->type == TD_CFG_STRMAP) {
        rc = td_cfg_collection(k, val, cfg, why, sizeof(why), &bad);
    } else if (val->kind != TD_CFG_NODE_SCALAR) {
        char exp[256];

        td_cfg_expected(k, exp, sizeof(exp));
        snprintf(why, sizeof(why), "expected %s, got %s", exp,
                 td_cfg_node_what(val));
        rc = TD_EINVAL;
    } else {
        rc = td_cfg_scalar(k, val->str, cfg, why, sizeof(why));
    }
    if (rc == TD_ENOMEM) {
        c->ld->nomem = true;
        return;
    }
    if (rc == TD_OK) {
        return;
    }
    td_cfg_where(c, path, where, sizeof(where));
    td_cfg_keyname(c, path, key->str, name, sizeof(name));
    c->errors++;
    td_cfg_node_error(c->ld, bad, "invalid value for %s in %s: %s", name,
                      where, why);
}

static bool
td_cfg_is_extra(const char *const *extra, const char *name)
{
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        if (strcmp(extra[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static void
td_cfg_map(td_cfg_ctx *c, const td_cfg_node *map, const td_cfg_key *keys,
           void *cfg, const td_cfg_key *keys2, void *cfg2, const char *path)
{
    const char *const *extra = path[0] == '\0' ? c->extra : NULL;

    for (size_t i = 0; i < map->n; i++) {
        const td_cfg_node *key = map->keys[i];
        const td_cfg_key *k = td_cfg_lookup(keys, key->str);

        if (k != NULL) {
            td_cfg_value(c, k, key, map->vals[i], cfg, path);
        } else if ((k = td_cfg_lookup(keys2, key->str)) != NULL) {
            td_cfg_value(c, k, key, map->vals[i], cfg2, path);
        } else if (!td_cfg_is_extra(extra, key->str)) {
            td_cfg_unknown(c, key, path, keys, keys2, extra);
        }
    }
}

int
td_cfg_parse_block(td_cfg_loader *ld, const td_cfg_node *block,
                   const td_cfg_key *keys, void *cfg,
                   const td_cfg_key *keys2, void *cfg2,
                   const char *const *extra, const char *where, bool dotted)
{
    td_cfg_ctx c = {.ld = ld, .where = where, .dotted = dotted,
                    .extra = extra};

    if (block == NULL || (block->kind == TD_CFG_NODE_SCALAR
                          && block->is_null)) {
        return 0;
    }
    if (block->kind != TD_CFG_NODE_MAP) {
        td_cfg_node_error(ld, block, "%s must be a map of settings, got %s",
                          where, td_cfg_node_what(block));
        return 1;
    }
    td_cfg_map(&c, block, keys, cfg, keys2, cfg2, "");
    return c.errors;
}

static int
td_cfg_required(td_cfg_loader *ld, const td_cfg_node *map,
                const td_cfg_node *at, const td_cfg_key *keys,
                const char *where, const char *path)
{
    int errors = 0;

    for (const td_cfg_key *k = keys; k->name != NULL; k++) {
        const td_cfg_node *v = td_cfg_node_get(map, k->name);
        char sub[256];

        snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "",
                 k->name);
        if (k->type == TD_CFG_SECTION) {
            errors += td_cfg_required(ld, v, at, k->sub, where, sub);
            continue;
        }
        if ((k->flags & TD_CFG_REQUIRED) == 0
            || (v != NULL && !(v->kind == TD_CFG_NODE_SCALAR
                               && v->is_null))) {
            continue;
        }
        errors++;
        if (v != NULL) {
            /* Written without a value: point at the key. */
            long i = td_cfg_node_find(map, k->name, strlen(k->name));

            td_cfg_node_error(ld, map->keys[i], "key \"%s\" in %s is "
                              "required but has no value; it has no "
                              "default, so give it one", sub, where);
            continue;
        }
        td_cfg_node_error(ld, at, "missing required key \"%s\" in %s; it "
                          "has no default, so add it", sub, where);
    }
    return errors;
}

int
td_cfg_check_required(td_cfg_loader *ld, const td_cfg_node *block,
                      const td_cfg_node *at, const td_cfg_key *keys,
                      const char *where)
{
    return td_cfg_required(ld, block, at, keys, where, "");
}

/* ---- td_cfg_diag ---- */

/* Finds the key and value nodes of a dotted path in a block. */
static bool
td_cfg_path(const td_cfg_node *block, const char *path,
            const td_cfg_node **key, const td_cfg_node **val)
{
    const td_cfg_node *map = block;

    while (map != NULL && map->kind == TD_CFG_NODE_MAP) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t) (dot - path) : strlen(path);
        long at = td_cfg_node_find(map, path, len);

        if (at < 0) {
            return false;
        }
        if (dot == NULL) {
            *key = map->keys[at];
            *val = map->vals[at];
            return true;
        }
        map = map->vals[at];
        path = dot + 1;
    }
    return false;
}

static void td_cfg_diag_msg(td_cfg_diag *d, bool error, const char *key,
                            const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void
td_cfg_diag_msg(td_cfg_diag *d, bool error, const char *key,
                const char *fmt, va_list ap)
{
    const td_cfg_node *k = NULL, *v = NULL, *at = d->at;
    char text[1024];

    if (key != NULL && td_cfg_path(d->block, key, &k, &v)) {
        at = v->kind == TD_CFG_NODE_SCALAR && v->is_null ? k : v;
    }
    vsnprintf(text, sizeof(text), fmt, ap);
    if (error) {
        d->n_errors++;
    }
    td_cfg_msg(d->ld, error, at->file, at->line, at->col, "%s: %s",
               d->what, text);
}

void
td_cfg_error(td_cfg_diag *d, const char *key, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    td_cfg_diag_msg(d, true, key, fmt, ap);
    va_end(ap);
}

void
td_cfg_warn(td_cfg_diag *d, const char *key, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    td_cfg_diag_msg(d, false, key, fmt, ap);
    va_end(ap);
}

bool
td_cfg_is_set(const td_cfg_diag *d, const char *key)
{
    const td_cfg_node *k, *v;

    if (key == NULL || !td_cfg_path(d->block, key, &k, &v)) {
        return false;
    }
    return !(v->kind == TD_CFG_NODE_SCALAR && v->is_null);
}
