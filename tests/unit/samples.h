/*
 * samples.h - known batches of all three signals for the exporter tests,
 * with the values the tests read back.
 *
 * Every sample has two resources ("alpha" and "beta"), three scopes and
 * a handful of records, so that tests can check that records stay with
 * their resource and scope. The first record of each signal carries one
 * attribute of every AnyValue type (sample_put_every_value). Include
 * after tt.h; the builders check their own allocations with TT_CHECK.
 */
#ifndef TD_TEST_SAMPLES_H
#define TD_TEST_SAMPLES_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "telemetry.h"
#include "tt.h"

/* Escapes, a control character and a two-byte UTF-8 sequence. */
#define SAMPLE_TEXT "tab\there \"q\" back\\slash\nnl \x01 caf\xc3\xa9"
#define SAMPLE_TIME 1700000000123456789ull

/* Records, resources and scopes of each sample batch. */
#define SAMPLE_LOGS 5
#define SAMPLE_SPANS 3
#define SAMPLE_METRICS 5
#define SAMPLE_POINTS 6

static const uint8_t sample_trace_id[16] = {
    0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03,
    0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c
};
static const uint8_t sample_span_id[8] = {
    0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74
};

#define SAMPLE_TRACE_HEX "5b8efff798038103d269b633813fc60c"
#define SAMPLE_SPAN_HEX "eee19b7ec3c1b174"

/*
 * Puts, in this order: s (string SAMPLE_TEXT), i (int -42), big (int
 * INT64_MAX, beyond a double's precision), d (double 0.1), b (bool
 * true), bytes (00 01 ff), arr (ints 0..2 and a string "x"), map
 * (flag: false, nested: {k: "v"}) and empty (no value).
 */
static inline void
sample_put_every_value(td_batch *b, td_attrs *attrs)
{
    td_value *v, *arr, *map, *nested;

    TT_CHECK_INT(td_attrs_put_str(b, attrs, "s", SAMPLE_TEXT,
                                  strlen(SAMPLE_TEXT)), 0);
    TT_CHECK_INT(td_attrs_put_int(b, attrs, "i", -42), 0);
    TT_CHECK_INT(td_attrs_put_int(b, attrs, "big", INT64_MAX), 0);
    TT_CHECK_INT(td_attrs_put_double(b, attrs, "d", 0.1), 0);
    TT_CHECK_INT(td_attrs_put_bool(b, attrs, "b", true), 0);

    v = td_attrs_add(b, attrs, "bytes", 5);
    TT_CHECK(v != NULL);
    if (v != NULL) {
        v->type = TD_VAL_BYTES;
        v->u.s = td_batch_str(b, "\x00\x01\xff", 3);
    }

    arr = td_attrs_add(b, attrs, "arr", 3);
    TT_CHECK(arr != NULL);
    if (arr != NULL) {
        arr->type = TD_VAL_ARRAY;
        for (int i = 0; i < 3; i++) {
            v = td_value_array_add(b, arr);
            TT_CHECK(v != NULL);
            if (v != NULL) {
                v->type = TD_VAL_INT;
                v->u.i = i;
            }
        }
        v = td_value_array_add(b, arr);
        TT_CHECK(v != NULL);
        if (v != NULL) {
            v->type = TD_VAL_STR;
            v->u.s = td_batch_str(b, "x", 1);
        }
    }

    map = td_attrs_add(b, attrs, "map", 3);
    TT_CHECK(map != NULL);
    if (map != NULL) {
        map->type = TD_VAL_MAP;
        TT_CHECK_INT(td_attrs_put_bool(b, &map->u.map, "flag", false), 0);
        nested = td_attrs_add(b, &map->u.map, "nested", 6);
        TT_CHECK(nested != NULL);
        if (nested != NULL) {
            nested->type = TD_VAL_MAP;
            TT_CHECK_INT(td_attrs_put_str(b, &nested->u.map, "k", "v", 1),
                         0);
        }
    }

    TT_CHECK(td_attrs_add(b, attrs, "empty", 5) != NULL);
}

/* A resource with service.name, a scope named scope; both with extras. */
static inline td_scope_group *
sample_resource(td_batch *b, const char *service, const char *scope)
{
    td_resource_group *rg = td_batch_add_resource(b);
    td_scope_group *sg;

    TT_CHECK(rg != NULL);
    if (rg == NULL) {
        return NULL;
    }
    TT_CHECK_INT(td_attrs_put_str(b, &rg->resource.attrs, "service.name",
                                  service, strlen(service)), 0);
    TT_CHECK_INT(td_attrs_put_int(b, &rg->resource.attrs, "host.cpus", 8),
                 0);
    rg->resource.schema_url = td_batch_str(b, "https://example.com/r", 21);
    sg = td_batch_add_scope(b, rg);
    TT_CHECK(sg != NULL);
    if (sg == NULL) {
        return NULL;
    }
    sg->scope.name = td_batch_str(b, scope, strlen(scope));
    sg->scope.version = td_batch_str(b, "1.2.3", 5);
    TT_CHECK_INT(td_attrs_put_str(b, &sg->scope.attrs, "scope.attr", "x",
                                  1), 0);
    return sg;
}

/* A second scope in the last resource of b. */
static inline td_scope_group *
sample_scope(td_batch *b, const char *scope)
{
    td_scope_group *sg = td_batch_add_scope(b, b->resources_tail);

    TT_CHECK(sg != NULL);
    if (sg != NULL) {
        sg->scope.name = td_batch_str(b, scope, strlen(scope));
    }
    return sg;
}

static inline td_log_record *
sample_log(td_batch *b, td_scope_group *sg, int n)
{
    td_log_record *r = sg != NULL ? td_batch_add_log(b, sg) : NULL;
    char body[32];
    int len = snprintf(body, sizeof(body), "msg %d", n);

    TT_CHECK(r != NULL);
    if (r == NULL) {
        return NULL;
    }
    r->time_unix_nano = SAMPLE_TIME + (uint64_t) n;
    r->severity_number = 9;
    r->severity_text = td_batch_str(b, "INFO", 4);
    r->body.type = TD_VAL_STR;
    r->body.u.s = td_batch_str(b, body, (size_t) len);
    TT_CHECK_INT(td_attrs_put_int(b, &r->attrs, "n", n), 0);
    return r;
}

/*
 * Logs "msg 0" .. "msg 4": alpha/lib.a holds 0 and 1, alpha/lib.b holds
 * 2, beta/lib.c holds 3 and 4. Record 0 has every value type, ids,
 * flags and an event name; record 1 has a kvlist body and no time.
 */
static inline td_batch *
sample_logs(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_scope_group *sg;
    td_log_record *r;

    TT_CHECK(b != NULL);
    if (b == NULL) {
        return NULL;
    }
    sg = sample_resource(b, "alpha", "lib.a");
    r = sample_log(b, sg, 0);
    if (r != NULL) {
        r->observed_time_unix_nano = SAMPLE_TIME + 1000;
        sample_put_every_value(b, &r->attrs);
        memcpy(r->trace_id, sample_trace_id, 16);
        memcpy(r->span_id, sample_span_id, 8);
        r->flags = 1;
        r->event_name = td_batch_str(b, "user.login", 10);
    }
    r = sample_log(b, sg, 1);
    if (r != NULL) {
        r->time_unix_nano = 0;
        r->severity_number = 17;
        r->severity_text = td_batch_str(b, "ERROR", 5);
        memset(&r->body, 0, sizeof(r->body));
        r->body.type = TD_VAL_MAP;
        TT_CHECK_INT(td_attrs_put_str(b, &r->body.u.map, "k", "v", 1), 0);
    }
    sample_log(b, sample_scope(b, "lib.b"), 2);
    sg = sample_resource(b, "beta", "lib.c");
    sample_log(b, sg, 3);
    sample_log(b, sg, 4);
    TT_CHECK_INT(td_batch_items(b), SAMPLE_LOGS);
    return b;
}

/*
 * Spans: alpha/tracer.a holds "GET /users" (server, every value type,
 * an event, a link, status error "boom", 1.5 ms long) and its child
 * "db.query"; beta/tracer.b holds "consume".
 */
static inline td_batch *
sample_traces(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_TRACES, 0);
    td_scope_group *sg;
    td_span_event *ev;
    td_span_link *ln;
    td_span *s;

    TT_CHECK(b != NULL);
    if (b == NULL) {
        return NULL;
    }
    sg = sample_resource(b, "alpha", "tracer.a");
    s = sg != NULL ? td_batch_add_span(b, sg) : NULL;
    TT_CHECK(s != NULL);
    if (s != NULL) {
        memcpy(s->trace_id, sample_trace_id, 16);
        memcpy(s->span_id, sample_span_id, 8);
        s->name = td_batch_str(b, "GET /users", 10);
        s->kind = TD_SPAN_KIND_SERVER;
        s->start_time_unix_nano = SAMPLE_TIME;
        s->end_time_unix_nano = SAMPLE_TIME + 1500000;
        s->status_code = TD_STATUS_ERROR;
        s->status_message = td_batch_str(b, "boom", 4);
        sample_put_every_value(b, &s->attrs);
        ev = td_span_add_event(b, s);
        ln = td_span_add_link(b, s);
        TT_CHECK(ev != NULL && ln != NULL);
        if (ev != NULL && ln != NULL) {
            ev->name = td_batch_str(b, "retry", 5);
            ev->time_unix_nano = SAMPLE_TIME + 10;
            TT_CHECK_INT(td_attrs_put_int(b, &ev->attrs, "attempt", 2), 0);
            memcpy(ln->trace_id, sample_trace_id, 16);
            ln->span_id[7] = 7;
        }
    }
    s = sg != NULL ? td_batch_add_span(b, sg) : NULL;
    TT_CHECK(s != NULL);
    if (s != NULL) {
        memcpy(s->trace_id, sample_trace_id, 16);
        s->span_id[0] = 2;
        memcpy(s->parent_span_id, sample_span_id, 8);
        s->name = td_batch_str(b, "db.query", 8);
        s->kind = TD_SPAN_KIND_CLIENT;
    }
    sg = sample_resource(b, "beta", "tracer.b");
    s = sg != NULL ? td_batch_add_span(b, sg) : NULL;
    TT_CHECK(s != NULL);
    if (s != NULL) {
        s->trace_id[0] = 3;
        s->span_id[0] = 3;
        s->name = td_batch_str(b, "consume", 7);
        s->kind = TD_SPAN_KIND_CONSUMER;
    }
    TT_CHECK_INT(td_batch_items(b), SAMPLE_SPANS);
    return b;
}

static inline void
sample_metrics_alpha(td_batch *b, td_scope_group *sg)
{
    td_number_point *np;
    td_hist_point *hp;
    td_metric *m;

    m = td_batch_add_metric(b, sg, TD_METRIC_GAUGE);
    TT_CHECK(m != NULL);
    if (m != NULL) {
        m->name = td_batch_str(b, "cpu.util", 8);
        m->unit = td_batch_str(b, "1", 1);
        for (int i = 0; i < 2; i++) {
            np = td_metric_add_number_point(b, m);
            TT_CHECK(np != NULL);
            if (np != NULL) {
                np->time_unix_nano = SAMPLE_TIME;
                np->v.d = 0.5 + i;
                TT_CHECK_INT(td_attrs_put_int(b, &np->attrs, "cpu", i), 0);
            }
        }
        if (m->n_points > 0) {
            sample_put_every_value(b, &m->points.number[0].attrs);
        }
    }

    m = td_batch_add_metric(b, sg, TD_METRIC_SUM);
    np = m != NULL ? td_metric_add_number_point(b, m) : NULL;
    TT_CHECK(np != NULL);
    if (np != NULL) {
        m->name = td_batch_str(b, "requests", 8);
        m->temporality = TD_TEMPORALITY_CUMULATIVE;
        m->monotonic = true;
        np->is_int = true;
        np->v.i = 1024;
    }

    m = td_batch_add_metric(b, sg, TD_METRIC_HISTOGRAM);
    hp = m != NULL ? td_metric_add_hist_point(b, m) : NULL;
    TT_CHECK(hp != NULL);
    if (hp != NULL) {
        m->name = td_batch_str(b, "latency", 7);
        m->temporality = TD_TEMPORALITY_DELTA;
        hp->count = 3;
        hp->has_sum = true;
        hp->sum = 31.5;
        hp->bucket_counts = td_arena_calloc(b->arena, 2, sizeof(uint64_t));
        hp->bounds = td_arena_calloc(b->arena, 1, sizeof(double));
        TT_CHECK(hp->bucket_counts != NULL && hp->bounds != NULL);
        if (hp->bucket_counts != NULL && hp->bounds != NULL) {
            hp->bucket_counts[0] = 1;
            hp->bucket_counts[1] = 2;
            hp->n_buckets = 2;
            hp->bounds[0] = 10.0;
            hp->n_bounds = 1;
        }
    }
}

/*
 * Metrics: alpha/meter.a holds gauge "cpu.util" (two double points, the
 * first with every value type), sum "requests" (int 1024, cumulative,
 * monotonic) and histogram "latency"; beta/meter.b holds summary
 * "rpc.size" and exponential histogram "payload".
 */
static inline td_batch *
sample_metrics(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_METRICS, 0);
    td_scope_group *sg;
    td_summary_point *sp;
    td_exphist_point *ep;
    td_metric *m;

    TT_CHECK(b != NULL);
    if (b == NULL) {
        return NULL;
    }
    sg = sample_resource(b, "alpha", "meter.a");
    if (sg != NULL) {
        sample_metrics_alpha(b, sg);
    }
    sg = sample_resource(b, "beta", "meter.b");
    m = sg != NULL ? td_batch_add_metric(b, sg, TD_METRIC_SUMMARY) : NULL;
    sp = m != NULL ? td_metric_add_summary_point(b, m) : NULL;
    TT_CHECK(sp != NULL);
    if (sp != NULL) {
        m->name = td_batch_str(b, "rpc.size", 8);
        sp->count = 4;
        sp->sum = 100.0;
    }
    m = sg != NULL ? td_batch_add_metric(b, sg, TD_METRIC_EXP_HISTOGRAM)
                   : NULL;
    ep = m != NULL ? td_metric_add_exphist_point(b, m) : NULL;
    TT_CHECK(ep != NULL);
    if (ep != NULL) {
        m->name = td_batch_str(b, "payload", 7);
        ep->count = 2;
        ep->scale = 3;
        ep->zero_count = 2;
    }
    TT_CHECK_INT(td_batch_items(b), SAMPLE_POINTS);
    return b;
}

/* The sample batch of a signal. */
static inline td_batch *
sample_batch(td_signal signal)
{
    switch (signal) {
    case TD_SIGNAL_LOGS:
        return sample_logs();
    case TD_SIGNAL_TRACES:
        return sample_traces();
    default:
        return sample_metrics();
    }
}

#endif
