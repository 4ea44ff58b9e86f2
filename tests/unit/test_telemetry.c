/*
 * test_telemetry.c - batches: building all three signals, counting,
 * growth, append, clone and reference counting.
 *
 * Clones are compared with their originals through the OTLP/JSON
 * encoding, which writes every field the model has; the encoder itself
 * is tested against exact strings in test_otlp_json.c.
 */
#include <math.h>
#include <string.h>

#include "buf.h"
#include "otlp_json.h"
#include "telemetry.h"
#include "tt.h"

static const uint8_t trace_id[16] = {
    0xaa, 0x68, 0x5e, 0x72, 0x38, 0x44, 0x05, 0x0a,
    0xf2, 0x7c, 0xe2, 0xc0, 0x1e, 0xc9, 0x2d, 0xa9
};
static const uint8_t span_id[8] = {
    0xd8, 0x58, 0x0e, 0x69, 0xa1, 0xb4, 0xf6, 0xce
};

/* Fills attrs with one value of every AnyValue type, nested ones too. */
static void
put_every_value(td_batch *b, td_attrs *attrs)
{
    td_value *v, *arr, *map, *inner;

    TT_CHECK_INT(td_attrs_put_str(b, attrs, "s", "text", 4), 0);
    TT_CHECK_INT(td_attrs_put_int(b, attrs, "i", -42), 0);
    TT_CHECK_INT(td_attrs_put_double(b, attrs, "d", 0.25), 0);
    TT_CHECK_INT(td_attrs_put_bool(b, attrs, "b", true), 0);

    v = td_attrs_add(b, attrs, "bytes", 5);
    TT_CHECK(v != NULL);
    v->type = TD_VAL_BYTES;
    v->u.s = td_batch_str(b, "\x00\x01\xff", 3);

    arr = td_attrs_add(b, attrs, "arr", 3);
    TT_CHECK(arr != NULL);
    for (int i = 0; i < 5; i++) {
        v = td_value_array_add(b, arr);
        TT_CHECK(v != NULL);
        v->type = TD_VAL_INT;
        v->u.i = i;
    }
    v = td_value_array_add(b, arr);
    v->type = TD_VAL_MAP;
    TT_CHECK_INT(td_attrs_put_str(b, &v->u.map, "in", "array", 5), 0);

    map = td_attrs_add(b, attrs, "map", 3);
    map->type = TD_VAL_MAP;
    TT_CHECK_INT(td_attrs_put_bool(b, &map->u.map, "flag", false), 0);
    inner = td_attrs_add(b, &map->u.map, "nested", 6);
    inner->type = TD_VAL_MAP;
    TT_CHECK_INT(td_attrs_put_str(b, &inner->u.map, "k", "v", 1), 0);
    v = td_attrs_add(b, &inner->u.map, "list", 4);
    TT_CHECK(td_value_array_add(b, v) != NULL);

    TT_CHECK(td_attrs_add(b, attrs, "empty", 5) != NULL);
}

static td_scope_group *
add_scope(td_batch *b, const char *svc, const char *scope)
{
    td_resource_group *rg = td_batch_add_resource(b);
    td_scope_group *sg;

    TT_CHECK(rg != NULL);
    TT_CHECK_INT(td_attrs_put_str(b, &rg->resource.attrs, "service.name",
                                  svc, strlen(svc)), 0);
    rg->resource.schema_url = td_batch_str(b, "https://s/1", 11);
    sg = td_batch_add_scope(b, rg);
    TT_CHECK(sg != NULL);
    sg->scope.name = td_batch_str(b, scope, strlen(scope));
    sg->scope.version = td_batch_str(b, "1.0", 3);
    return sg;
}

static td_batch *
make_logs(int n)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_scope_group *sg = add_scope(b, "svc", "logger");

    for (int i = 0; i < n; i++) {
        td_log_record *r = td_batch_add_log(b, sg);
        char msg[32];
        int len = snprintf(msg, sizeof(msg), "message %d", i);

        TT_CHECK(r != NULL);
        r->time_unix_nano = 1000000000ull * (uint64_t) (i + 1);
        r->severity_number = 9;
        r->severity_text = td_batch_str(b, "INFO", 4);
        r->body.type = TD_VAL_STR;
        r->body.u.s = td_batch_str(b, msg, (size_t) len);
        memcpy(r->trace_id, trace_id, 16);
        memcpy(r->span_id, span_id, 8);
        if (i == 0) {
            put_every_value(b, &r->attrs);
        }
    }
    return b;
}

static td_batch *
make_traces(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_TRACES, 0);
    td_scope_group *sg = add_scope(b, "svc", "tracer");
    td_span *s = td_batch_add_span(b, sg);

    memcpy(s->trace_id, trace_id, 16);
    memcpy(s->span_id, span_id, 8);
    s->name = td_batch_str(b, "GET /", 5);
    s->kind = TD_SPAN_KIND_SERVER;
    s->start_time_unix_nano = 10;
    s->end_time_unix_nano = 20;
    s->trace_state = td_batch_str(b, "a=b", 3);
    s->status_code = TD_STATUS_ERROR;
    s->status_message = td_batch_str(b, "boom", 4);
    put_every_value(b, &s->attrs);

    /* Attributes in between force the arrays to move when they grow. */
    for (int i = 0; i < 11; i++) {
        td_span_event *ev = td_span_add_event(b, s);
        td_span_link *ln = td_span_add_link(b, s);
        char name[16];
        int len = snprintf(name, sizeof(name), "ev%d", i);

        TT_CHECK(ev != NULL && ln != NULL);
        ev->name = td_batch_str(b, name, (size_t) len);
        ev->time_unix_nano = (uint64_t) i + 11;
        TT_CHECK_INT(td_attrs_put_int(b, &ev->attrs, "n", i), 0);
        memcpy(ln->trace_id, trace_id, 16);
        ln->span_id[7] = (uint8_t) (i + 1);
        ln->flags = (uint32_t) i;
        TT_CHECK_INT(td_attrs_put_int(b, &ln->attrs, "l", i), 0);
    }

    s = td_batch_add_span(b, sg);
    s->name = td_batch_str(b, "child", 5);
    s->parent_span_id[0] = 1;
    return b;
}

static td_exemplar *
make_exemplars(td_batch *b)
{
    td_exemplar *ex = td_arena_calloc(b->arena, 2, sizeof(*ex));

    ex[0].time_unix_nano = 5;
    ex[0].v.d = 1.5;
    memcpy(ex[0].span_id, span_id, 8);
    TT_CHECK_INT(td_attrs_put_str(b, &ex[0].filtered_attrs, "f", "x", 1),
                 0);
    ex[1].is_int = true;
    ex[1].v.i = 7;
    return ex;
}

static td_batch *
make_metrics(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_METRICS, 0);
    td_scope_group *sg = add_scope(b, "svc", "meter");
    td_metric *m;
    td_number_point *np;
    td_hist_point *hp;
    td_exphist_point *ep;
    td_summary_point *sp;

    m = td_batch_add_metric(b, sg, TD_METRIC_GAUGE);
    m->name = td_batch_str(b, "g", 1);
    TT_CHECK_INT(td_attrs_put_str(b, &m->metadata, "md", "1", 1), 0);
    for (int i = 0; i < 9; i++) {
        np = td_metric_add_number_point(b, m);
        TT_CHECK(np != NULL);
        np->v.d = i + 0.5;
        TT_CHECK_INT(td_attrs_put_int(b, &np->attrs, "i", i), 0);
    }
    m->points.number[0].exemplars = make_exemplars(b);
    m->points.number[0].n_exemplars = 2;

    m = td_batch_add_metric(b, sg, TD_METRIC_SUM);
    m->name = td_batch_str(b, "s", 1);
    m->temporality = TD_TEMPORALITY_CUMULATIVE;
    m->monotonic = true;
    np = td_metric_add_number_point(b, m);
    np->is_int = true;
    np->v.i = 1024;

    m = td_batch_add_metric(b, sg, TD_METRIC_HISTOGRAM);
    m->name = td_batch_str(b, "h", 1);
    m->temporality = TD_TEMPORALITY_DELTA;
    hp = td_metric_add_hist_point(b, m);
    hp->count = 3;
    hp->has_sum = hp->has_min = hp->has_max = true;
    hp->sum = 6;
    hp->min = 1;
    hp->max = 3;
    hp->bucket_counts = td_arena_calloc(b->arena, 3, sizeof(uint64_t));
    hp->bucket_counts[0] = 1;
    hp->bucket_counts[1] = 2;
    hp->n_buckets = 3;
    hp->bounds = td_arena_calloc(b->arena, 2, sizeof(double));
    hp->bounds[0] = 1.5;
    hp->bounds[1] = 2.5;
    hp->n_bounds = 2;
    hp->exemplars = make_exemplars(b);
    hp->n_exemplars = 2;

    m = td_batch_add_metric(b, sg, TD_METRIC_EXP_HISTOGRAM);
    m->name = td_batch_str(b, "e", 1);
    ep = td_metric_add_exphist_point(b, m);
    ep->count = 4;
    ep->scale = 3;
    ep->zero_count = 1;
    ep->zero_threshold = 1e-9;
    ep->positive.offset = -2;
    ep->positive.counts = td_arena_calloc(b->arena, 2, sizeof(uint64_t));
    ep->positive.counts[1] = 3;
    ep->positive.n = 2;
    ep->negative.counts = td_arena_calloc(b->arena, 1, sizeof(uint64_t));
    ep->negative.counts[0] = 1;
    ep->negative.n = 1;

    m = td_batch_add_metric(b, sg, TD_METRIC_SUMMARY);
    m->name = td_batch_str(b, "q", 1);
    sp = td_metric_add_summary_point(b, m);
    sp->count = 10;
    sp->sum = 55;
    sp->quantiles = td_arena_calloc(b->arena, 2, sizeof(td_quantile));
    sp->quantiles[0].quantile = 0.5;
    sp->quantiles[0].value = 5;
    sp->quantiles[1].quantile = 0.99;
    sp->quantiles[1].value = 9.9;
    sp->n_quantiles = 2;
    return b;
}

/* The OTLP/JSON of a batch, malloc'd. */
static char *
json_of(const td_batch *b)
{
    td_buf out = TD_BUF_INIT;

    TT_CHECK_INT(td_otlp_json_encode(b, &out), 0);
    return out.data;
}

static void
test_values(void)
{
    td_batch *b = make_logs(1);
    td_attrs *attrs = &b->resources->scopes->head.logs->attrs;
    const td_value *v, *map, *nested;

    TT_CHECK_INT(attrs->n, 8);
    v = td_attrs_get(attrs, "s", 1);
    TT_CHECK(v != NULL && v->type == TD_VAL_STR);
    TT_CHECK_MEM(v->u.s.ptr, v->u.s.len, "text");
    v = td_attrs_get(attrs, "i", 1);
    TT_CHECK(v != NULL && v->type == TD_VAL_INT && v->u.i == -42);
    v = td_attrs_get(attrs, "d", 1);
    TT_CHECK(v != NULL && v->type == TD_VAL_DOUBLE && v->u.d == 0.25);
    v = td_attrs_get(attrs, "b", 1);
    TT_CHECK(v != NULL && v->type == TD_VAL_BOOL && v->u.b);
    v = td_attrs_get(attrs, "bytes", 5);
    TT_CHECK(v != NULL && v->type == TD_VAL_BYTES && v->u.s.len == 3);
    TT_CHECK(v != NULL && memcmp(v->u.s.ptr, "\x00\x01\xff", 3) == 0);
    v = td_attrs_get(attrs, "arr", 3);
    TT_CHECK(v != NULL && v->type == TD_VAL_ARRAY && v->u.arr.n == 6);
    TT_CHECK(v != NULL && v->u.arr.items[4].u.i == 4);
    TT_CHECK(v != NULL && v->u.arr.items[5].type == TD_VAL_MAP);
    map = td_attrs_get(attrs, "map", 3);
    TT_CHECK(map != NULL && map->type == TD_VAL_MAP);
    nested = map ? td_attrs_get(&map->u.map, "nested", 6) : NULL;
    TT_CHECK(nested != NULL && nested->type == TD_VAL_MAP);
    v = nested ? td_attrs_get(&nested->u.map, "k", 1) : NULL;
    TT_CHECK(v != NULL && v->type == TD_VAL_STR && v->u.s.len == 1);
    v = td_attrs_get(attrs, "empty", 5);
    TT_CHECK(v != NULL && v->type == TD_VAL_EMPTY);
    TT_CHECK(td_attrs_get(attrs, "missing", 7) == NULL);
    TT_CHECK(td_attrs_get(attrs, "ma", 2) == NULL);

    /* An array cannot be added to a value of another type. */
    TT_CHECK(td_value_array_add(b, &attrs->items[0].val) == NULL);
    td_batch_unref(b);
}

static void
test_many_attrs(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 64);
    td_attrs attrs = {NULL, 0, 0};
    char key[16];

    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        TT_CHECK_INT(td_attrs_put_int(b, &attrs, key, i), 0);
    }
    TT_CHECK_INT(attrs.n, 1000);
    TT_CHECK(attrs.cap >= 1000);
    for (int i = 0; i < 1000; i += 37) {
        int len = snprintf(key, sizeof(key), "k%d", i);
        const td_value *v = td_attrs_get(&attrs, key, (size_t) len);

        TT_CHECK(v != NULL && v->u.i == i);
    }
    td_batch_unref(b);
}

static void
test_counts(void)
{
    td_batch *logs = make_logs(25), *traces = make_traces();
    td_batch *metrics = make_metrics();
    td_scope_group *sg;

    TT_CHECK_INT(td_batch_items(logs), 25);
    TT_CHECK_INT(logs->resources->scopes->n_records, 25);
    TT_CHECK_INT(td_batch_items(traces), 2);
    TT_CHECK_INT(traces->resources->scopes->head.spans->n_events, 11);
    TT_CHECK_INT(traces->resources->scopes->head.spans->n_links, 11);
    /* 9 gauge + 1 sum + 1 histogram + 1 exp histogram + 1 summary. */
    TT_CHECK_INT(td_batch_items(metrics), 13);
    TT_CHECK_INT(metrics->resources->scopes->n_records, 5);

    /* A second scope and resource add to the same counter. */
    sg = add_scope(logs, "other", "l2");
    TT_CHECK(td_batch_add_log(logs, sg) != NULL);
    TT_CHECK_INT(td_batch_items(logs), 26);

    /* Records of the wrong signal or points of the wrong type. */
    TT_CHECK(td_batch_add_span(logs, sg) == NULL);
    TT_CHECK(td_batch_add_metric(logs, sg, TD_METRIC_GAUGE) == NULL);
    sg = metrics->resources->scopes;
    TT_CHECK(td_metric_add_hist_point(metrics, sg->head.metrics) == NULL);
    TT_CHECK(td_metric_add_number_point(metrics,
                                        sg->head.metrics->next->next)
             == NULL);
    TT_CHECK_INT(td_batch_items(metrics), 13);

    td_batch_unref(logs);
    td_batch_unref(traces);
    td_batch_unref(metrics);
}

static void
test_event_ids(void)
{
    td_batch *b = make_traces();
    const td_span *s = b->resources->scopes->head.spans;

    for (uint32_t i = 0; i < s->n_events; i++) {
        const td_value *v = td_attrs_get(&s->events[i].attrs, "n", 1);
        char name[16];

        snprintf(name, sizeof(name), "ev%u", i);
        TT_CHECK_MEM(s->events[i].name.ptr, s->events[i].name.len, name);
        TT_CHECK(v != NULL && v->u.i == (int64_t) i);
        TT_CHECK_INT(s->links[i].span_id[7], i + 1);
        TT_CHECK_INT(s->links[i].flags, i);
    }
    TT_CHECK(td_id_is_zero(s->next->trace_id, 16));
    TT_CHECK(!td_id_is_zero(s->next->parent_span_id, 8));
    td_batch_unref(b);
}

static void
test_bytes(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_scope_group *sg = add_scope(b, "svc", "s");
    size_t before = td_batch_bytes(b);

    TT_CHECK(before > 0);
    for (int i = 0; i < 5000; i++) {
        td_log_record *r = td_batch_add_log(b, sg);

        r->body.type = TD_VAL_STR;
        r->body.u.s = td_batch_str(b, "some log line of moderate size", 30);
    }
    TT_CHECK(td_batch_bytes(b) > before);
    TT_CHECK(td_batch_bytes(b) >= 5000 * (sizeof(td_log_record) + 30));
    TT_CHECK_INT(td_batch_items(b), 5000);
    td_batch_unref(b);
}

static void
test_append(void)
{
    td_batch *dst = make_logs(3), *src = make_logs(4), *deep = make_logs(2);
    td_batch *tr = make_traces();
    char *want_src = json_of(src);
    size_t dst_bytes = td_batch_bytes(dst), src_bytes, deep_bytes;
    const td_log_record *r;
    int n = 0;

    /* deep goes into src first, so dst must adopt both arenas. */
    deep_bytes = td_batch_bytes(deep);
    TT_CHECK_INT(td_batch_append(src, deep), 0);
    TT_CHECK_INT(td_batch_items(src), 6);
    TT_CHECK_INT(td_batch_items(deep), 0);
    TT_CHECK(deep->resources == NULL);
    td_batch_unref(deep);
    src_bytes = td_batch_bytes(src);
    TT_CHECK(src_bytes >= deep_bytes);

    TT_CHECK_INT(td_batch_append(dst, tr), TD_EINVAL);
    TT_CHECK_INT(td_batch_append(dst, src), 0);
    TT_CHECK_INT(td_batch_items(dst), 9);
    TT_CHECK_INT(td_batch_items(src), 0);
    TT_CHECK(src->resources == NULL && src->resources_tail == NULL);
    TT_CHECK(td_batch_bytes(dst) >= dst_bytes + src_bytes);
    td_batch_unref(src);

    /* Three resources now, in order: dst's, src's, deep's. */
    for (const td_resource_group *rg = dst->resources; rg; rg = rg->next) {
        for (r = rg->scopes->head.logs; r; r = r->next) {
            n++;
        }
    }
    TT_CHECK_INT(n, 9);
    TT_CHECK(dst->resources->next->next != NULL);
    TT_CHECK(dst->resources_tail == dst->resources->next->next);
    r = dst->resources->next->scopes->head.logs->next;
    TT_CHECK_MEM(r->body.u.s.ptr, r->body.u.s.len, "message 1");
    r = dst->resources_tail->scopes->head.logs;
    TT_CHECK_MEM(r->body.u.s.ptr, r->body.u.s.len, "message 0");

    /* New records still go to the end after the move. */
    TT_CHECK(td_batch_add_log(dst, dst->resources_tail->scopes) != NULL);
    TT_CHECK_INT(td_batch_items(dst), 10);
    TT_CHECK(dst->resources_tail->scopes->tail
             == dst->resources_tail->scopes->head.logs->next->next);
    {
        char *all = json_of(dst);

        TT_CHECK(strstr(all, "\"message 3\"") != NULL);
        TT_CHECK(all != NULL && strlen(all) > strlen(want_src));
        free(all);
    }

    free(want_src);
    td_batch_unref(tr);
    td_batch_unref(dst);
}

/* Appending an empty batch, and into an empty batch. */
static void
test_append_empty(void)
{
    td_batch *dst = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_batch *src = make_logs(2), *none = td_batch_new(TD_SIGNAL_LOGS, 0);

    TT_CHECK_INT(td_batch_append(dst, none), 0);
    TT_CHECK(dst->resources == NULL);
    TT_CHECK_INT(td_batch_append(dst, src), 0);
    TT_CHECK(dst->resources != NULL && dst->resources_tail != NULL);
    TT_CHECK_INT(td_batch_items(dst), 2);
    td_batch_unref(src);
    td_batch_unref(none);

    /* Appending many batches grows the list of adopted arenas. */
    for (int i = 0; i < 40; i++) {
        td_batch *more = make_logs(1);

        TT_CHECK_INT(td_batch_append(dst, more), 0);
        td_batch_unref(more);
    }
    TT_CHECK_INT(td_batch_items(dst), 42);
    TT_CHECK_INT(dst->n_adopted, 42);
    td_batch_unref(dst);
}

static void
check_clone(td_batch *orig)
{
    char *want = json_of(orig), *got;
    td_batch *copy = td_batch_clone(orig);

    TT_CHECK(copy != NULL);
    if (copy == NULL) {
        free(want);
        return;
    }
    TT_CHECK_INT(td_batch_items(copy), td_batch_items(orig));
    TT_CHECK_INT(copy->signal, orig->signal);
    TT_CHECK_INT(copy->n_adopted, 0);
    got = json_of(copy);
    TT_CHECK_STR(got, want);
    free(got);

    /* The copy points into its own memory only. */
    TT_CHECK(copy->resources != orig->resources);
    TT_CHECK(copy->resources->resource.attrs.items
             != orig->resources->resource.attrs.items);
    TT_CHECK(copy->resources->scopes->scope.name.ptr
             != orig->resources->scopes->scope.name.ptr);

    /* ... and stays whole once the original is gone. */
    td_batch_unref(orig);
    got = json_of(copy);
    TT_CHECK_STR(got, want);
    free(got);
    free(want);
    td_batch_unref(copy);
}

static void
test_clone(void)
{
    td_batch *merged = make_logs(2), *part = make_logs(3);

    check_clone(make_logs(3));
    check_clone(make_traces());
    check_clone(make_metrics());

    /* A merged batch clones into one arena. */
    TT_CHECK_INT(td_batch_append(merged, part), 0);
    td_batch_unref(part);
    check_clone(merged);
}

/* Changing a clone leaves the original alone. */
static void
test_clone_independent(void)
{
    td_batch *orig = make_metrics();
    td_batch *copy = td_batch_clone(orig);
    char *before = json_of(orig), *after;
    td_metric *m = copy->resources->scopes->head.metrics;
    td_value *v;

    m->points.number[0].v.d = 99;
    m->points.number[0].exemplars[0].v.d = 99;
    m->next->next->points.hist[0].bucket_counts[0] = 99;
    m->next->next->next->points.exphist[0].positive.counts[0] = 99;
    m->next->next->next->next->points.summary[0].quantiles[0].value = 99;
    v = td_attrs_add(copy, &m->metadata, "added", 5);
    TT_CHECK(v != NULL);
    TT_CHECK(td_metric_add_number_point(copy, m) != NULL);
    TT_CHECK_INT(td_batch_items(copy), 14);
    TT_CHECK_INT(td_batch_items(orig), 13);

    after = json_of(orig);
    TT_CHECK_STR(after, before);
    free(after);
    after = json_of(copy);
    TT_CHECK(strcmp(after, before) != 0);
    free(after);
    free(before);
    td_batch_unref(copy);
    td_batch_unref(orig);
}

/* Events and links keep growing in a clone. */
static void
test_clone_grow_events(void)
{
    td_batch *orig = make_traces();
    td_batch *copy = td_batch_clone(orig);
    td_span *s = copy->resources->scopes->head.spans;

    td_batch_unref(orig);
    for (int i = 0; i < 30; i++) {
        td_span_event *ev = td_span_add_event(copy, s);

        TT_CHECK(ev != NULL);
        ev->name = td_batch_str(copy, "more", 4);
        TT_CHECK_INT(td_attrs_put_int(copy, &ev->attrs, "x", i), 0);
    }
    TT_CHECK_INT(s->n_events, 41);
    TT_CHECK_MEM(s->events[10].name.ptr, s->events[10].name.len, "ev10");
    TT_CHECK_MEM(s->events[40].name.ptr, s->events[40].name.len, "more");
    td_batch_unref(copy);
}

/* Under ASan a missed or extra unref shows as a leak or a double free. */
static void
test_refs(void)
{
    td_batch *b = make_logs(2);
    char *want = json_of(b), *got;

    td_batch_ref(b);
    td_batch_ref(b);
    TT_CHECK_INT(atomic_load(&b->refs), 3);
    td_batch_unref(b);
    td_batch_unref(b);
    TT_CHECK_INT(atomic_load(&b->refs), 1);
    got = json_of(b);
    TT_CHECK_STR(got, want);
    free(got);
    free(want);
    td_batch_unref(b);
    td_batch_unref(NULL);
}

static void
test_str(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    char src[] = "abc";
    td_str s = td_batch_str(b, src, 3), e = td_batch_str(b, NULL, 0);

    src[0] = 'x';
    TT_CHECK_MEM(s.ptr, s.len, "abc");
    TT_CHECK(e.ptr != NULL && e.len == 0);
    TT_CHECK(b->charged == 0);
    td_batch_unref(b);
}

/* A reserved list takes its pairs without moving; more still grow it. */
static void
test_attrs_reserve(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_attrs a = {0};
    td_kv *first;
    char key[16];

    TT_CHECK(b != NULL);
    if (b == NULL) {
        return;
    }
    TT_CHECK_INT(td_attrs_put_int(b, &a, "k0", 0), TD_OK);
    TT_CHECK_INT(td_attrs_reserve(b, &a, 9), TD_OK);
    TT_CHECK_INT(a.cap, 10);
    first = a.items;
    for (int i = 1; i < 10; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        TT_CHECK_INT(td_attrs_put_int(b, &a, key, i), TD_OK);
    }
    TT_CHECK(a.items == first);
    TT_CHECK_INT(a.n, 10);
    TT_CHECK_INT(td_attrs_reserve(b, &a, 0), TD_OK);
    TT_CHECK_INT(a.cap, 10);
    TT_CHECK_INT(td_attrs_put_int(b, &a, "k10", 10), TD_OK);
    TT_CHECK(a.cap > 10);
    for (int i = 0; i < 11; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        TT_CHECK(td_attrs_get(&a, key, strlen(key)) != NULL
                 && td_attrs_get(&a, key, strlen(key))->u.i == i);
    }
    TT_CHECK_INT(td_attrs_reserve(b, &a, UINT32_MAX), TD_ENOMEM);
    td_batch_unref(b);
}

static const tt_case cases[] = {
    {"attrs_reserve", test_attrs_reserve},
    {"values", test_values},
    {"many_attrs", test_many_attrs},
    {"counts", test_counts},
    {"event_ids", test_event_ids},
    {"bytes", test_bytes},
    {"append", test_append},
    {"append_empty", test_append_empty},
    {"clone", test_clone},
    {"clone_independent", test_clone_independent},
    {"clone_grow_events", test_clone_grow_events},
    {"refs", test_refs},
    {"str", test_str},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
