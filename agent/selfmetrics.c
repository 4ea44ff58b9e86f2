/*
 * selfmetrics.c - tandem's own counters and gauges, and their rendering
 * in the Prometheus text exposition format 0.0.4.
 *
 * Families live in one list sorted by name, each with its series in the
 * order they were registered. A series is allocated on its own so that
 * the pointer handed to the registering component stays put while the
 * lists grow. One mutex covers registration and rendering: registration
 * happens while the service is built and a scrape is rare, so the lock is
 * never contended on a hot path; updates are relaxed atomics and take no
 * lock at all.
 *
 * A histogram series keeps one counter per bucket rather than
 * cumulative ones, so that an observation is one atomic add (plus a
 * compare-and-swap loop on the sum's bits); rendering adds the buckets
 * up and writes their total as _count, so a scrape always reads
 * buckets that rise and end at _count.
 *
 * The process metrics (memory, CPU, descriptors, start time) are read
 * from /proc/self at every render, the way Prometheus client libraries
 * do, and mixed into the sorted output with the registered families.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "selfmetrics.h"
#include "td.h"

typedef enum td_self_type {
    TD_SELF_COUNTER = 0,
    TD_SELF_GAUGE,
    TD_SELF_HISTOGRAM
} td_self_type;

typedef struct td_self_series {
    char *labels;                   /* label text, "" for none */
    td_counter counter;             /* TD_SELF_COUNTER */
    td_gauge gauge;                 /* TD_SELF_GAUGE without fn */
    double (*fn)(void *arg);        /* TD_SELF_GAUGE computed at render */
    void *arg;
    td_histogram hist;              /* TD_SELF_HISTOGRAM */
    struct td_self_series *next;
} td_self_series;

typedef struct td_self_family {
    char *name;
    char *help;
    td_self_type type;
    double *bounds;                 /* TD_SELF_HISTOGRAM: the le values */
    size_t n_bounds;
    td_self_series *series;
    td_self_series *tail;
    struct td_self_family *next;
} td_self_family;

/*
 * One row of the rendered output: a registered family, or a process
 * metric computed for this render (fam NULL, value and labels set).
 */
typedef struct td_self_row {
    const char *name;
    const char *help;
    td_self_type type;
    const td_self_family *fam;
    const char *labels;
    double value;
} td_self_row;

static pthread_mutex_t td_self_lock = PTHREAD_MUTEX_INITIALIZER;
static td_self_family *td_self_families;    /* sorted by name */
static size_t td_self_n_families;

/* [a-zA-Z_:][a-zA-Z0-9_:]*, the text format's metric name rule. */
static bool
td_self_name_ok(const char *name)
{
    if (name == NULL || name[0] == '\0'
        || isdigit((unsigned char) name[0])) {
        return false;
    }
    for (const char *p = name; *p != '\0'; p++) {
        if (!isalnum((unsigned char) *p) && *p != '_' && *p != ':') {
            return false;
        }
    }
    return true;
}

static bool
td_self_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Finds or creates the series (name, labels) of a type. Called with the
 * lock held. NULL when out of memory or when name is already a family of
 * the other type (a programming error, logged).
 */
static td_self_series *
td_self_find_locked(const char *name, const char *help, td_self_type type,
                    const char *labels)
{
    td_self_family **pp = &td_self_families, *fam;
    td_self_series *s;
    int cmp = 1;

    while (*pp != NULL && (cmp = strcmp((*pp)->name, name)) < 0) {
        pp = &(*pp)->next;
    }
    if (*pp != NULL && cmp == 0) {
        fam = *pp;
        if (fam->type != type) {
            td_log(TD_LOG_ERROR, "selfmetrics", NULL, 0,
                   "metric %s registered with two different types",
                   name);
            return NULL;
        }
    } else {
        fam = calloc(1, sizeof(*fam));
        if (fam == NULL) {
            return NULL;
        }
        fam->name = strdup(name);
        fam->help = strdup(help != NULL ? help : "");
        if (fam->name == NULL || fam->help == NULL) {
            free(fam->name);
            free(fam->help);
            free(fam);
            return NULL;
        }
        fam->type = type;
        fam->next = *pp;
        *pp = fam;
        td_self_n_families++;
    }

    for (s = fam->series; s != NULL; s = s->next) {
        if (strcmp(s->labels, labels) == 0) {
            return s;
        }
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    s->labels = strdup(labels);
    if (s->labels == NULL) {
        free(s);
        return NULL;
    }
    atomic_init(&s->counter.v, 0);
    atomic_init(&s->gauge.v, 0);
    if (fam->tail != NULL) {
        fam->tail->next = s;
    } else {
        fam->series = s;
    }
    fam->tail = s;
    return s;
}

static td_self_series *
td_self_find(const char *name, const char *help, td_self_type type,
             const char *labels)
{
    td_self_series *s;

    if (!td_self_name_ok(name)) {
        td_log(TD_LOG_ERROR, "selfmetrics", NULL, 0,
               "invalid metric name \"%s\"", name ? name : "(null)");
        return NULL;
    }
    pthread_mutex_lock(&td_self_lock);
    s = td_self_find_locked(name, help, type, labels ? labels : "");
    pthread_mutex_unlock(&td_self_lock);
    return s;
}

td_counter *
td_self_counter(const char *name, const char *help, const char *labels)
{
    td_self_series *s;

    if (name == NULL || !td_self_ends_with(name, "_total")) {
        td_log(TD_LOG_ERROR, "selfmetrics", NULL, 0,
               "counter \"%s\" does not end in _total",
               name ? name : "(null)");
        return NULL;
    }
    s = td_self_find(name, help, TD_SELF_COUNTER, labels);
    return s != NULL ? &s->counter : NULL;
}

td_gauge *
td_self_gauge(const char *name, const char *help, const char *labels)
{
    td_self_series *s = td_self_find(name, help, TD_SELF_GAUGE, labels);

    return s != NULL ? &s->gauge : NULL;
}

int
td_self_gauge_fn(const char *name, const char *help, const char *labels,
                 double (*fn)(void *arg), void *arg)
{
    td_self_series *s;

    if (fn == NULL || !td_self_name_ok(name)) {
        return TD_EINVAL;
    }
    pthread_mutex_lock(&td_self_lock);
    s = td_self_find_locked(name, help, TD_SELF_GAUGE,
                            labels ? labels : "");
    if (s != NULL) {
        s->fn = fn;
        s->arg = arg;
    }
    pthread_mutex_unlock(&td_self_lock);
    return s != NULL ? TD_OK : TD_ENOMEM;
}

/* ---- histograms ---- */

_Static_assert(sizeof(uint_fast64_t) == sizeof(double),
               "a histogram's sum is kept as the bits of a double");

/* Called with the lock held. */
static td_self_family *
td_self_family_locked(const char *name)
{
    for (td_self_family *f = td_self_families; f != NULL; f = f->next) {
        if (strcmp(f->name, name) == 0) {
            return f;
        }
    }
    return NULL;
}

/*
 * A histogram's samples add _bucket, _sum and _count to its name and le
 * to its labels, so those must not be taken already; bounds must be
 * finite and strictly increasing (the text format's le rules).
 */
static bool
td_self_hist_args_ok(const char *name, const char *labels,
                     const double *bounds, size_t n)
{
    static const char *const reserved[] = {"_bucket", "_sum", "_count",
                                           "_total"};

    if (!td_self_name_ok(name)) {
        return false;
    }
    for (size_t i = 0; i < TD_ARRAY_SIZE(reserved); i++) {
        if (td_self_ends_with(name, reserved[i])) {
            return false;
        }
    }
    if (labels != NULL
        && (strncmp(labels, "le=", 3) == 0 || strstr(labels, ",le=") != NULL)) {
        return false;
    }
    if (n > 0 && bounds == NULL) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
            return false;
        }
    }
    return true;
}

static bool
td_self_same_bounds(const td_self_family *fam, const double *bounds,
                    size_t n)
{
    return fam->n_bounds == n
           && (n == 0
               || memcmp(fam->bounds, bounds, n * sizeof(*bounds)) == 0);
}

/* Gives a new series its buckets; called with the lock held. */
static int
td_self_hist_init_locked(td_self_series *s, const td_self_family *fam)
{
    if (s->hist.counts != NULL) {
        return TD_OK;
    }
    s->hist.counts = calloc(fam->n_bounds + 1, sizeof(*s->hist.counts));
    if (s->hist.counts == NULL) {
        return TD_ENOMEM;
    }
    for (size_t i = 0; i <= fam->n_bounds; i++) {
        atomic_init(&s->hist.counts[i], 0);
    }
    atomic_init(&s->hist.sum_bits, 0);      /* the bits of 0.0 */
    s->hist.bounds = fam->bounds;
    s->hist.n_bounds = fam->n_bounds;
    return TD_OK;
}

td_histogram *
td_self_histogram(const char *name, const char *help, const char *labels,
                  const double *bounds, size_t n_bounds)
{
    td_self_family *fam;
    td_self_series *s;
    double *copy = NULL;

    if (name == NULL
        || !td_self_hist_args_ok(name, labels, bounds, n_bounds)) {
        td_log(TD_LOG_ERROR, "selfmetrics", NULL, 0,
               "histogram \"%s\" has a bad name, labels or bucket bounds",
               name ? name : "(null)");
        return NULL;
    }

    pthread_mutex_lock(&td_self_lock);
    fam = td_self_family_locked(name);
    if (fam != NULL && fam->type == TD_SELF_HISTOGRAM
        && !td_self_same_bounds(fam, bounds, n_bounds)) {
        pthread_mutex_unlock(&td_self_lock);
        td_log(TD_LOG_ERROR, "selfmetrics", NULL, 0,
               "histogram %s registered with two sets of bucket bounds",
               name);
        return NULL;
    }
    if (fam == NULL && n_bounds > 0) {
        copy = malloc(n_bounds * sizeof(*copy));
        if (copy == NULL) {
            pthread_mutex_unlock(&td_self_lock);
            return NULL;
        }
        memcpy(copy, bounds, n_bounds * sizeof(*copy));
    }

    s = td_self_find_locked(name, help, TD_SELF_HISTOGRAM,
                            labels ? labels : "");
    if (fam == NULL && (fam = td_self_family_locked(name)) != NULL) {
        fam->bounds = copy;
        fam->n_bounds = n_bounds;
        copy = NULL;
    }
    if (s != NULL && td_self_hist_init_locked(s, fam) != TD_OK) {
        s = NULL;
    }
    pthread_mutex_unlock(&td_self_lock);
    free(copy);
    return s != NULL ? &s->hist : NULL;
}

void
td_histogram_observe(td_histogram *h, double v)
{
    size_t i = 0;
    uint_fast64_t old, bits;
    double sum;

    if (h == NULL || h->counts == NULL) {
        return;
    }
    /* NaN compares false with every bound and lands in +Inf. */
    while (i < h->n_bounds && !(v <= h->bounds[i])) {
        i++;
    }
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);

    old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
    do {
        memcpy(&sum, &old, sizeof(sum));
        sum += v;
        memcpy(&bits, &sum, sizeof(bits));
    } while (!atomic_compare_exchange_weak_explicit(
        &h->sum_bits, &old, bits, memory_order_relaxed,
        memory_order_relaxed));
}

uint64_t
td_histogram_count(const td_histogram *h)
{
    uint64_t n = 0;

    if (h == NULL || h->counts == NULL) {
        return 0;
    }
    for (size_t i = 0; i <= h->n_bounds; i++) {
        n += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
    }
    return n;
}

double
td_histogram_sum(const td_histogram *h)
{
    uint_fast64_t bits;
    double sum;

    if (h == NULL || h->counts == NULL) {
        return 0.0;
    }
    bits = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
    memcpy(&sum, &bits, sizeof(sum));
    return sum;
}

/* Label names follow [a-zA-Z_][a-zA-Z0-9_]* (no colon, unlike names). */
static bool
td_self_label_name_ok(const char *k)
{
    if (k[0] == '\0' || isdigit((unsigned char) k[0])) {
        return false;
    }
    for (const char *p = k; *p != '\0'; p++) {
        if (!isalnum((unsigned char) *p) && *p != '_') {
            return false;
        }
    }
    return true;
}

int
td_self_labels(char *out, size_t len, ...)
{
    va_list ap;
    const char *k;
    size_t o = 0;
    int rc = TD_OK;

    if (out == NULL || len == 0) {
        return TD_EINVAL;
    }
    va_start(ap, len);
    while (rc == TD_OK && (k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        size_t need = strlen(k) + 4;    /* k="" plus a comma */

        if (v == NULL) {
            v = "";
        }
        if (!td_self_label_name_ok(k) || o + need >= len) {
            rc = TD_EINVAL;
            break;
        }
        o += (size_t) snprintf(out + o, len - o, "%s%s=\"", o ? "," : "",
                               k);
        for (const char *p = v; *p != '\0' && rc == TD_OK; p++) {
            const char *esc = *p == '\\' ? "\\\\"
                              : *p == '"' ? "\\\""
                              : *p == '\n' ? "\\n" : NULL;
            size_t n = esc != NULL ? 2 : 1;

            /* Room for this character and the closing quote. */
            if (o + n + 1 >= len) {
                rc = TD_EINVAL;
                break;
            }
            if (esc != NULL) {
                memcpy(out + o, esc, 2);
            } else {
                out[o] = *p;
            }
            o += n;
        }
        if (rc == TD_OK) {
            out[o++] = '"';
        }
    }
    va_end(ap);

    if (rc != TD_OK) {
        out[0] = '\0';
        return rc;
    }
    out[o] = '\0';
    return TD_OK;
}

/* HELP text escapes only backslash and newline (format 0.0.4). */
static int
td_self_put_help(td_buf *out, const char *help)
{
    int rc = TD_OK;

    for (const char *p = help; *p != '\0' && rc == TD_OK; p++) {
        if (*p == '\\') {
            rc = td_buf_append(out, "\\\\", 2);
        } else if (*p == '\n') {
            rc = td_buf_append(out, "\\n", 2);
        } else {
            rc = td_buf_putc(out, *p);
        }
    }
    return rc;
}

/*
 * Writes a float the way Go's strconv does for the text format: NaN,
 * +Inf, -Inf, else the shortest of %.15g and %.17g that reads back equal.
 */
static int
td_self_put_double(td_buf *out, double v)
{
    char tmp[64];

    if (isnan(v)) {
        return td_buf_puts(out, "NaN");
    }
    if (isinf(v)) {
        return td_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
    }
    snprintf(tmp, sizeof(tmp), "%.15g", v);
    if (strtod(tmp, NULL) != v) {
        snprintf(tmp, sizeof(tmp), "%.17g", v);
    }
    return td_buf_puts(out, tmp);
}

static int
td_self_put_sample(td_buf *out, const char *name, const char *labels)
{
    if (labels[0] == '\0') {
        return td_buf_printf(out, "%s ", name);
    }
    return td_buf_printf(out, "%s{%s} ", name, labels);
}

/* name plus suffix, then the labels in braces when there are any. */
static int
td_self_put_suffixed(td_buf *out, const char *name, const char *suffix,
                     const char *labels)
{
    if (labels[0] == '\0') {
        return td_buf_printf(out, "%s%s ", name, suffix);
    }
    return td_buf_printf(out, "%s%s{%s} ", name, suffix, labels);
}

/*
 * A histogram series: cumulative buckets with le (+Inf last), then _sum
 * and _count. The buckets are read once and _count is their total, so
 * the rendered counts agree even while observations go on.
 */
static int
td_self_put_hist(td_buf *out, const char *name, const char *labels,
                 const td_histogram *h)
{
    uint64_t cum = 0;
    int rc = TD_OK;

    if (h->counts == NULL) {
        return TD_OK;
    }
    for (size_t i = 0; i <= h->n_bounds && rc == TD_OK; i++) {
        cum += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        rc = td_buf_printf(out, "%s_bucket{%s%sle=\"", name, labels,
                           labels[0] != '\0' ? "," : "");
        if (rc == TD_OK) {
            rc = i < h->n_bounds ? td_self_put_double(out, h->bounds[i])
                                 : td_buf_puts(out, "+Inf");
        }
        if (rc == TD_OK) {
            rc = td_buf_printf(out, "\"} %" PRIu64 "\n", cum);
        }
    }
    if (rc == TD_OK) {
        rc = td_self_put_suffixed(out, name, "_sum", labels);
    }
    if (rc == TD_OK) {
        rc = td_self_put_double(out, td_histogram_sum(h));
    }
    if (rc == TD_OK) {
        rc = td_buf_putc(out, '\n');
    }
    if (rc == TD_OK) {
        rc = td_self_put_suffixed(out, name, "_count", labels);
    }
    if (rc == TD_OK) {
        rc = td_buf_printf(out, "%" PRIu64 "\n", cum);
    }
    return rc;
}

static const char *
td_self_type_name(td_self_type type)
{
    switch (type) {
    case TD_SELF_COUNTER:
        return "counter";
    case TD_SELF_HISTOGRAM:
        return "histogram";
    default:
        return "gauge";
    }
}

static int
td_self_put_row(td_buf *out, const td_self_row *row)
{
    int rc;

    rc = td_buf_printf(out, "# HELP %s ", row->name);
    if (rc == TD_OK) {
        rc = td_self_put_help(out, row->help);
    }
    if (rc == TD_OK) {
        rc = td_buf_printf(out, "\n# TYPE %s %s\n", row->name,
                           td_self_type_name(row->type));
    }
    if (rc != TD_OK) {
        return rc;
    }

    if (row->fam == NULL) {
        rc = td_self_put_sample(out, row->name, row->labels);
        if (rc == TD_OK) {
            rc = td_self_put_double(out, row->value);
        }
        return rc == TD_OK ? td_buf_putc(out, '\n') : rc;
    }
    for (const td_self_series *s = row->fam->series;
         s != NULL && rc == TD_OK; s = s->next) {
        if (row->type == TD_SELF_HISTOGRAM) {
            rc = td_self_put_hist(out, row->name, s->labels, &s->hist);
            continue;
        }
        rc = td_self_put_sample(out, row->name, s->labels);
        if (rc != TD_OK) {
            break;
        }
        if (row->type == TD_SELF_COUNTER) {
            rc = td_buf_printf(out, "%" PRIu64 "\n",
                               (uint64_t) td_counter_get(&s->counter));
        } else if (s->fn != NULL) {
            rc = td_self_put_double(out, s->fn(s->arg));
            if (rc == TD_OK) {
                rc = td_buf_putc(out, '\n');
            }
        } else {
            rc = td_buf_printf(out, "%" PRId64 "\n", (int64_t)
                               atomic_load_explicit(&s->gauge.v,
                                                    memory_order_relaxed));
        }
    }
    return rc;
}

/* ---- process metrics from /proc/self ---- */

/* Reads "Key:   1234 kB" from /proc/self/status into bytes. */
static bool
td_self_status_kb(const char *key, double *bytes)
{
    char line[256];
    size_t klen = strlen(key);
    bool found = false;
    FILE *f = fopen("/proc/self/status", "r");

    if (f == NULL) {
        return false;
    }
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        unsigned long long kb;

        if (strncmp(line, key, klen) == 0 && line[klen] == ':'
            && sscanf(line + klen + 1, "%llu", &kb) == 1) {
            *bytes = (double) kb * 1024.0;
            found = true;
        }
    }
    fclose(f);
    return found;
}

/*
 * Reads utime, stime (fields 14, 15) and starttime (22) of
 * /proc/self/stat, see proc(5). The command name (field 2) is in
 * parentheses and may hold spaces, so fields are counted from the last
 * closing parenthesis.
 */
static bool
td_self_stat(double *cpu_seconds, double *start_ticks)
{
    char buf[1024];
    unsigned long long v[20];
    size_t n;
    char *p;
    FILE *f = fopen("/proc/self/stat", "r");

    if (f == NULL) {
        return false;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL) {
        return false;
    }
    p += 2;         /* ") " then field 3, the state letter */
    if (*p == '\0') {
        return false;
    }
    p++;
    for (int i = 0; i < 20; i++) {  /* fields 4 to 23 */
        char *end;

        errno = 0;
        v[i] = strtoull(p, &end, 10);
        if (end == p || errno != 0) {
            return false;
        }
        p = end;
    }
    *cpu_seconds = (double) (v[10] + v[11]);    /* fields 14 and 15 */
    *start_ticks = (double) v[18];              /* field 22 */
    return true;
}

/* The boot time in seconds since the epoch ("btime" of /proc/stat). */
static bool
td_self_boot_time(double *btime)
{
    char line[256];
    bool found = false;
    FILE *f = fopen("/proc/stat", "r");

    if (f == NULL) {
        return false;
    }
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        unsigned long long t;

        if (sscanf(line, "btime %llu", &t) == 1) {
            *btime = (double) t;
            found = true;
        }
    }
    fclose(f);
    return found;
}

/* Open descriptors, not counting the one opendir() itself holds. */
static bool
td_self_open_fds(double *n)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long count = 0;

    if (d == NULL) {
        return false;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            count++;
        }
    }
    closedir(d);
    *n = (double) (count > 0 ? count - 1 : 0);
    return true;
}

/* Appends the process rows that could be read; returns how many. */
static size_t
td_self_process_rows(td_self_row *rows)
{
    double v, cpu, start, btime;
    long tck = sysconf(_SC_CLK_TCK);
    size_t n = 0;

    if (tck <= 0) {
        tck = 100;
    }
    if (td_self_status_kb("VmRSS", &v)) {
        rows[n++] = (td_self_row){
            "tandem_process_resident_memory_bytes",
            "Resident memory size in bytes.", TD_SELF_GAUGE, NULL, "", v};
    }
    if (td_self_status_kb("VmHWM", &v)) {
        rows[n++] = (td_self_row){
            "tandem_process_resident_memory_peak_bytes",
            "Peak resident memory size in bytes.", TD_SELF_GAUGE, NULL, "",
            v};
    }
    if (td_self_stat(&cpu, &start)) {
        rows[n++] = (td_self_row){
            "tandem_process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            TD_SELF_COUNTER, NULL, "", cpu / (double) tck};
        if (td_self_boot_time(&btime)) {
            rows[n++] = (td_self_row){
                "tandem_process_start_time_seconds",
                "Start time of the process since the Unix epoch in seconds.",
                TD_SELF_GAUGE, NULL, "", btime + start / (double) tck};
        }
    }
    if (td_self_open_fds(&v)) {
        rows[n++] = (td_self_row){
            "tandem_process_open_fds", "Number of open file descriptors.",
            TD_SELF_GAUGE, NULL, "", v};
    }
    rows[n++] = (td_self_row){
        "tandem_build_info", "Build information about tandem.",
        TD_SELF_GAUGE, NULL, "version=\"" TD_VERSION "\"", 1.0};
    return n;
}

#define TD_SELF_PROCESS_ROWS 6

static int
td_self_row_cmp(const void *a, const void *b)
{
    const td_self_row *x = a, *y = b;

    return strcmp(x->name, y->name);
}

int
td_self_render(td_buf *out)
{
    td_self_row *rows;
    size_t n = 0, n_proc;
    int rc = TD_OK;

    pthread_mutex_lock(&td_self_lock);
    rows = calloc(td_self_n_families + TD_SELF_PROCESS_ROWS,
                  sizeof(*rows));
    if (rows == NULL) {
        pthread_mutex_unlock(&td_self_lock);
        return TD_ENOMEM;
    }
    for (const td_self_family *f = td_self_families; f != NULL;
         f = f->next) {
        rows[n++] = (td_self_row){f->name, f->help, f->type, f, NULL, 0};
    }

    /*
     * A registered family wins over a process metric of the same name:
     * a name may appear only once in an exposition.
     */
    n_proc = td_self_process_rows(rows + n);
    for (size_t i = n, end = n + n_proc; i < end; i++) {
        bool dup = false;

        for (size_t j = 0; j < td_self_n_families && !dup; j++) {
            dup = strcmp(rows[j].name, rows[i].name) == 0;
        }
        if (!dup) {
            rows[n++] = rows[i];
        }
    }
    qsort(rows, n, sizeof(*rows), td_self_row_cmp);

    for (size_t i = 0; i < n && rc == TD_OK; i++) {
        rc = td_self_put_row(out, &rows[i]);
    }
    pthread_mutex_unlock(&td_self_lock);
    free(rows);
    return rc;
}

void
td_self_reset(void)
{
    td_self_family *f, *fnext;
    td_self_series *s, *snext;

    pthread_mutex_lock(&td_self_lock);
    for (f = td_self_families; f != NULL; f = fnext) {
        fnext = f->next;
        for (s = f->series; s != NULL; s = snext) {
            snext = s->next;
            free(s->hist.counts);
            free(s->labels);
            free(s);
        }
        free(f->name);
        free(f->help);
        free(f->bounds);
        free(f);
    }
    td_self_families = NULL;
    td_self_n_families = 0;
    pthread_mutex_unlock(&td_self_lock);
}
