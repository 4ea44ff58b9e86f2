/*
 * debug.c - the debug exporter: shows what tandem receives, on stderr.
 *
 * verbosity basic logs one line per batch through td_log(); normal writes
 * one short line per record; detailed writes every record as one line of
 * OTLP/JSON. A batch's lines are rendered into a buffer first and then
 * written with one write(2) under a mutex, so the output of exports that
 * run at the same time on several consumer threads never interleaves.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "component.h"
#include "log.h"
#include "otlp_json.h"

enum { DEBUG_BASIC = 0, DEBUG_NORMAL, DEBUG_DETAILED };

typedef struct debug_cfg {
    int verbosity;
} debug_cfg;

typedef struct debug_exp {
    char *id;
    int verbosity;
    int fd;                     /* where normal and detailed output go */
    pthread_mutex_t mu;         /* one batch's output at a time on fd */
} debug_exp;

static const char *const debug_verbosities[] = {
    "basic", "normal", "detailed", NULL
};

static const td_cfg_key debug_keys[] = {
    {.name = "verbosity", .type = TD_CFG_ENUM, .def = "basic",
     .offset = offsetof(debug_cfg, verbosity),
     .desc = "basic: a line per batch; normal: a line per record; "
             "detailed: every record as OTLP/JSON",
     .choices = debug_verbosities},
    {.name = NULL}
};

static int
debug_create(const td_component_ctx *ctx, const void *cfg, void **self,
             char *err, size_t errlen)
{
    const debug_cfg *c = cfg;
    debug_exp *x = calloc(1, sizeof(*x));

    if (x == NULL || (x->id = strdup(ctx->id)) == NULL) {
        free(x);
        snprintf(err, errlen, "debug: out of memory");
        return TD_ENOMEM;
    }
    x->verbosity = c->verbosity;
    x->fd = STDERR_FILENO;
    pthread_mutex_init(&x->mu, NULL);
    *self = x;
    return TD_OK;
}

static int
debug_start(void *self, char *err, size_t errlen)
{
    (void) self;
    (void) err;
    (void) errlen;
    return TD_OK;
}

/*
 * The renderers below collect append results with |=: every result is 0
 * or TD_ENOMEM, so a non-zero total means some part of the output is
 * missing and the batch must not be shown half.
 */

/* Nanoseconds since the epoch as RFC 3339 UTC, or "-" for unset. */
static int
debug_put_time(td_buf *out, uint64_t ns)
{
    time_t secs = (time_t) (ns / 1000000000u);
    struct tm tm;
    char tmp[40];

    if (ns == 0 || gmtime_r(&secs, &tm) == NULL) {
        return td_buf_putc(out, '-');
    }
    strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
    return td_buf_printf(out, "%s.%09" PRIu64 "Z", tmp, ns % 1000000000u);
}

static int
debug_put_id(td_buf *out, const char *key, const uint8_t *id, size_t len)
{
    int rc;

    if (td_id_is_zero(id, len)) {
        return TD_OK;
    }
    rc = td_buf_printf(out, " %s=", key);
    for (size_t i = 0; i < len; i++) {
        rc |= td_buf_printf(out, "%02x", id[i]);
    }
    return rc;
}

static int
debug_put_str(td_buf *out, td_str s)
{
    return td_buf_json_str(out, s.len > 0 ? s.ptr : "", s.len);
}

/*
 * Text shown without quotes (a severity text). Control characters are
 * written as \xNN so that a record never spreads over two lines.
 */
static int
debug_put_bare(td_buf *out, td_str s)
{
    int rc = 0;

    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char) s.ptr[i];

        if (c < 0x20 || c == 0x7f) {
            rc |= td_buf_printf(out, "\\x%02x", c);
        } else {
            rc |= td_buf_putc(out, (char) c);
        }
    }
    return rc;
}

/* A string body is shown quoted; any other value as OTLP/JSON. */
static int
debug_put_body(td_buf *out, const td_value *body)
{
    if (body->type == TD_VAL_STR) {
        return debug_put_str(out, body->u.s);
    }
    return td_otlp_json_value(body, out);
}

static int
debug_line_log(td_buf *out, const td_log_record *r)
{
    uint64_t t = r->time_unix_nano ? r->time_unix_nano
                                   : r->observed_time_unix_nano;
    int rc;

    rc = td_buf_puts(out, "log ");
    rc |= debug_put_time(out, t);
    rc |= td_buf_putc(out, ' ');
    rc |= debug_put_bare(out, r->severity_text);
    rc |= td_buf_printf(out, "(%d) ", (int) r->severity_number);
    rc |= debug_put_body(out, &r->body);
    if (r->attrs.n > 0) {
        rc |= td_buf_printf(out, " attributes=%" PRIu32, r->attrs.n);
    }
    rc |= debug_put_id(out, "trace_id", r->trace_id, sizeof(r->trace_id));
    rc |= debug_put_id(out, "span_id", r->span_id, sizeof(r->span_id));
    return rc | td_buf_putc(out, '\n');
}

static int
debug_line_span(td_buf *out, const td_span *s)
{
    uint64_t dur = s->end_time_unix_nano > s->start_time_unix_nano
                       ? s->end_time_unix_nano - s->start_time_unix_nano
                       : 0;
    int rc;

    rc = td_buf_puts(out, "span ");
    rc |= debug_put_str(out, s->name);
    rc |= debug_put_id(out, "trace_id", s->trace_id, sizeof(s->trace_id));
    rc |= debug_put_id(out, "span_id", s->span_id, sizeof(s->span_id));
    rc |= debug_put_id(out, "parent_id", s->parent_span_id,
                       sizeof(s->parent_span_id));
    rc |= td_buf_printf(out, " kind=%d start=", (int) s->kind);
    rc |= debug_put_time(out, s->start_time_unix_nano);
    rc |= td_buf_printf(out, " duration=%" PRIu64 ".%06" PRIu64
                        "ms status=%d", dur / 1000000u, dur % 1000000u,
                        (int) s->status_code);
    if (s->status_message.len > 0) {
        rc |= td_buf_putc(out, ' ');
        rc |= debug_put_str(out, s->status_message);
    }
    return rc | td_buf_putc(out, '\n');
}

static int
debug_line_metric(td_buf *out, const td_metric *m)
{
    static const char *const types[] = {
        [TD_METRIC_EMPTY] = "empty",
        [TD_METRIC_GAUGE] = "gauge",
        [TD_METRIC_SUM] = "sum",
        [TD_METRIC_HISTOGRAM] = "histogram",
        [TD_METRIC_EXP_HISTOGRAM] = "exponential_histogram",
        [TD_METRIC_SUMMARY] = "summary",
    };
    const char *type = (unsigned) m->type < TD_ARRAY_SIZE(types)
                           ? types[m->type] : "unknown";
    int rc;

    rc = td_buf_puts(out, "metric ");
    rc |= debug_put_str(out, m->name);
    rc |= td_buf_printf(out, " type=%s points=%" PRIu32, type,
                        m->n_points);
    if (m->unit.len > 0) {
        rc |= td_buf_puts(out, " unit=");
        rc |= debug_put_str(out, m->unit);
    }
    return rc | td_buf_putc(out, '\n');
}

/* One line per record; 0 or TD_ENOMEM. */
static int
debug_render_normal(const td_batch *b, td_buf *out)
{
    int rc = 0;

    for (const td_resource_group *rg = b->resources; rg; rg = rg->next) {
        for (const td_scope_group *sg = rg->scopes; sg; sg = sg->next) {
            switch (b->signal) {
            case TD_SIGNAL_LOGS:
                for (const td_log_record *r = sg->head.logs; r;
                     r = r->next) {
                    rc |= debug_line_log(out, r);
                }
                break;
            case TD_SIGNAL_TRACES:
                for (const td_span *s = sg->head.spans; s; s = s->next) {
                    rc |= debug_line_span(out, s);
                }
                break;
            default:
                for (const td_metric *m = sg->head.metrics; m;
                     m = m->next) {
                    rc |= debug_line_metric(out, m);
                }
                break;
            }
        }
    }
    return rc != 0 ? TD_ENOMEM : TD_OK;
}

static void
debug_basic(const debug_exp *x, const td_batch *b)
{
    size_t resources = 0, scopes = 0, records = 0;

    for (const td_resource_group *rg = b->resources; rg; rg = rg->next) {
        resources++;
        for (const td_scope_group *sg = rg->scopes; sg; sg = sg->next) {
            scopes++;
            records += sg->n_records;
        }
    }
    if (b->signal == TD_SIGNAL_METRICS) {
        td_log(TD_LOG_INFO, x->id, NULL, 0,
               "metrics: %zu resources, %zu scopes, %zu metrics, "
               "%zu metric_points", resources, scopes, records,
               td_batch_items(b));
    } else {
        td_log(TD_LOG_INFO, x->id, NULL, 0,
               "%s: %zu resources, %zu scopes, %zu %s",
               td_signal_name(b->signal), resources, scopes,
               td_batch_items(b), td_signal_items(b->signal));
    }
}

/* Writes all of data; 0 or the errno of the failed write. */
static int
debug_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0) {
            int e = errno;

            if (e == EINTR) {
                continue;
            }
            return e;
        }
        data += n;
        len -= (size_t) n;
    }
    return 0;
}

static int
debug_export(void *self, td_batch *b, int64_t deadline, char *err,
             size_t errlen)
{
    debug_exp *x = self;
    td_buf out = TD_BUF_INIT;
    int rc = TD_OK, e;

    (void) deadline;
    if (x->verbosity == DEBUG_BASIC) {
        debug_basic(x, b);
        return TD_OK;
    }

    if (x->verbosity == DEBUG_DETAILED) {
        rc = td_otlp_json_encode_each(b, &out);
    } else {
        rc = debug_render_normal(b, &out);
    }
    if (rc != TD_OK) {
        snprintf(err, errlen, "debug: out of memory rendering a batch");
        td_buf_free(&out);
        return TD_AGAIN;
    }

    pthread_mutex_lock(&x->mu);
    e = debug_write_all(x->fd, out.data, out.len);
    pthread_mutex_unlock(&x->mu);
    td_buf_free(&out);
    if (e != 0) {
        char tmp[128];

        snprintf(err, errlen, "debug: write to stderr: %s",
                 strerror_r(e, tmp, sizeof(tmp)));
        return TD_AGAIN;
    }
    return TD_OK;
}

static void
debug_shutdown(void *self, int64_t deadline)
{
    (void) self;
    (void) deadline;
}

static void
debug_destroy(void *self)
{
    debug_exp *x = self;

    pthread_mutex_destroy(&x->mu);
    free(x->id);
    free(x);
}

const td_component_desc td_debug_exporter = {
    .type = "debug",
    .kind = TD_KIND_EXPORTER,
    .signals = TD_SIGNALS_ALL,
    .summary = "writes batch summaries or every record to stderr",
    .cfg_size = sizeof(debug_cfg),
    .keys = debug_keys,
    .create = debug_create,
    .start = debug_start,
    .export = debug_export,
    .shutdown = debug_shutdown,
    .destroy = debug_destroy,
};
