/*
 * test_split.c - td_batch_split and td_batch_move_items: moving the first
 * items of a batch into another without copying records, for all three
 * signals, at every cut position.
 *
 * Batches are built from a shape string: resource groups separated by
 * '|', scope groups by ',', and in each scope either a record count
 * (logs, traces: "3,0,2|1") or metrics written as a type letter and a
 * point count (g gauge, s sum, h histogram, e exponential histogram,
 * q summary: "g3s2,h0|e4"). Every item is distinct, so the halves of a
 * split are compared with the original item by item: each item is
 * rendered as OTLP/JSON alone in a request that carries its resource,
 * scope and (for a data point) metric, and the lines of the two halves,
 * one after the other, must be the lines of the original.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "otlp_json.h"
#include "telemetry.h"
#include "tt.h"

/* ---- building ---- */

static void
put_str(td_batch *b, td_str *s, const char *text)
{
    *s = td_batch_str(b, text, strlen(text));
    TT_CHECK(s->ptr != NULL);
}

static void
fill_log(td_batch *b, td_log_record *r, int seq)
{
    r->time_unix_nano = 1000u * (uint64_t) seq;
    r->severity_number = 9;
    r->body.type = TD_VAL_INT;
    r->body.u.i = seq;
    r->span_id[0] = (uint8_t) seq;
    TT_CHECK_INT(td_attrs_put_int(b, &r->attrs, "seq", seq), 0);
}

static void
fill_span(td_batch *b, td_span *s, int seq)
{
    char name[32];
    td_span_event *ev;

    snprintf(name, sizeof(name), "span %d", seq);
    put_str(b, &s->name, name);
    s->trace_id[0] = 0xab;
    s->span_id[0] = (uint8_t) seq;
    s->start_time_unix_nano = 10u * (uint64_t) seq;
    s->end_time_unix_nano = 10u * (uint64_t) seq + 5;
    ev = td_span_add_event(b, s);
    TT_CHECK(ev != NULL);
    put_str(b, &ev->name, "event");
    TT_CHECK_INT(td_attrs_put_int(b, &s->attrs, "seq", seq), 0);
}

static td_exemplar *
make_exemplar(td_batch *b, int seq)
{
    td_exemplar *ex = td_arena_calloc(b->arena, 1, sizeof(*ex));

    TT_CHECK(ex != NULL);
    ex->is_int = true;
    ex->v.i = seq;
    ex->time_unix_nano = (uint64_t) seq;
    TT_CHECK_INT(td_attrs_put_int(b, &ex->filtered_attrs, "ex", seq), 0);
    return ex;
}

/* Adds one data point of m's type whose every value tells seq apart. */
static void
add_point(td_batch *b, td_metric *m, int seq)
{
    uint64_t useq = (uint64_t) seq;

    switch (m->type) {
    case TD_METRIC_GAUGE:
    case TD_METRIC_SUM: {
        td_number_point *p = td_metric_add_number_point(b, m);

        TT_CHECK(p != NULL);
        p->is_int = m->type == TD_METRIC_SUM;
        if (p->is_int) {
            p->v.i = seq;
        } else {
            p->v.d = seq + 0.5;
        }
        p->time_unix_nano = useq;
        TT_CHECK_INT(td_attrs_put_int(b, &p->attrs, "seq", seq), 0);
        p->exemplars = make_exemplar(b, seq);
        p->n_exemplars = 1;
        break;
    }
    case TD_METRIC_HISTOGRAM: {
        td_hist_point *p = td_metric_add_hist_point(b, m);

        TT_CHECK(p != NULL);
        p->count = useq + 1;
        p->has_sum = true;
        p->sum = seq * 2.0;
        p->bucket_counts = td_arena_calloc(b->arena, 2, sizeof(uint64_t));
        p->bucket_counts[0] = useq;
        p->bucket_counts[1] = 1;
        p->n_buckets = 2;
        p->bounds = td_arena_calloc(b->arena, 1, sizeof(double));
        p->bounds[0] = seq + 0.25;
        p->n_bounds = 1;
        TT_CHECK_INT(td_attrs_put_int(b, &p->attrs, "seq", seq), 0);
        break;
    }
    case TD_METRIC_EXP_HISTOGRAM: {
        td_exphist_point *p = td_metric_add_exphist_point(b, m);

        TT_CHECK(p != NULL);
        p->count = useq + 2;
        p->scale = seq % 5;
        p->zero_count = 1;
        p->positive.offset = -seq;
        p->positive.counts = td_arena_calloc(b->arena, 1, sizeof(uint64_t));
        p->positive.counts[0] = useq + 1;
        p->positive.n = 1;
        TT_CHECK_INT(td_attrs_put_int(b, &p->attrs, "seq", seq), 0);
        break;
    }
    case TD_METRIC_SUMMARY: {
        td_summary_point *p = td_metric_add_summary_point(b, m);

        TT_CHECK(p != NULL);
        p->count = useq + 3;
        p->sum = seq * 3.0;
        p->quantiles = td_arena_calloc(b->arena, 1, sizeof(td_quantile));
        p->quantiles[0].quantile = 0.5;
        p->quantiles[0].value = seq;
        p->n_quantiles = 1;
        TT_CHECK_INT(td_attrs_put_int(b, &p->attrs, "seq", seq), 0);
        break;
    }
    default:
        TT_CHECK(0);
    }
}

static td_metric_type
metric_type_of(char c)
{
    switch (c) {
    case 'g':
        return TD_METRIC_GAUGE;
    case 's':
        return TD_METRIC_SUM;
    case 'h':
        return TD_METRIC_HISTOGRAM;
    case 'e':
        return TD_METRIC_EXP_HISTOGRAM;
    default:
        return TD_METRIC_SUMMARY;
    }
}

/* Adds the metrics of one scope, "g3s2", numbering points from *seq. */
static void
add_metrics(td_batch *b, td_scope_group *sg, const char **p, int *seq,
            int ri, int si)
{
    int mi = 0;

    while (**p >= 'a' && **p <= 'z') {
        td_metric *m = td_batch_add_metric(b, sg, metric_type_of(**p));
        char name[48], *end;
        long n;

        TT_CHECK(m != NULL);
        snprintf(name, sizeof(name), "m%d.%d.%d", ri, si, mi++);
        put_str(b, &m->name, name);
        put_str(b, &m->description, "what it measures");
        put_str(b, &m->unit, "{items}");
        TT_CHECK_INT(td_attrs_put_str(b, &m->metadata, "md", name,
                                      strlen(name)), 0);
        if (m->type != TD_METRIC_GAUGE && m->type != TD_METRIC_SUMMARY) {
            m->temporality = TD_TEMPORALITY_CUMULATIVE;
        }
        m->monotonic = m->type == TD_METRIC_SUM;
        n = strtol(*p + 1, &end, 10);
        *p = end;
        for (long i = 0; i < n; i++) {
            add_point(b, m, (*seq)++);
        }
    }
}

/* A batch of a signal in the given shape; item numbers start at first. */
static td_batch *
build(td_signal signal, const char *shape, int first)
{
    td_batch *b = td_batch_new(signal, 0);
    const char *p = shape;
    int seq = first, ri = 0;

    TT_CHECK(b != NULL);
    while (b != NULL) {
        td_resource_group *rg = td_batch_add_resource(b);
        int si = 0;

        TT_CHECK(rg != NULL);
        TT_CHECK_INT(td_attrs_put_int(b, &rg->resource.attrs, "r", ri), 0);
        put_str(b, &rg->resource.schema_url, "https://schema/r");
        while (*p != '\0' && *p != '|') {
            td_scope_group *sg = td_batch_add_scope(b, rg);
            char name[32];

            TT_CHECK(sg != NULL);
            snprintf(name, sizeof(name), "scope %d.%d", ri, si);
            put_str(b, &sg->scope.name, name);
            put_str(b, &sg->scope.version, "1.2");
            TT_CHECK_INT(td_attrs_put_int(b, &sg->scope.attrs, "s", si), 0);
            if (signal == TD_SIGNAL_METRICS) {
                add_metrics(b, sg, &p, &seq, ri, si);
            } else {
                char *end;
                long n = strtol(p, &end, 10);

                p = end;
                for (long i = 0; i < n; i++) {
                    if (signal == TD_SIGNAL_LOGS) {
                        fill_log(b, td_batch_add_log(b, sg), seq++);
                    } else {
                        fill_span(b, td_batch_add_span(b, sg), seq++);
                    }
                }
            }
            si++;
            if (*p == ',') {
                p++;
            }
        }
        ri++;
        if (*p == '\0') {
            break;
        }
        p++;
    }
    return b;
}

/* ---- looking ---- */

/* Appends one request holding only rec (a copy), with its groups. */
static void
render_one(td_signal signal, const td_resource_group *rg,
           const td_scope_group *sg, void *rec, td_buf *out)
{
    td_batch tmp;
    td_resource_group r = *rg;
    td_scope_group s = *sg;

    memset(&tmp, 0, sizeof(tmp));
    tmp.signal = signal;
    tmp.resources = tmp.resources_tail = &r;
    r.next = NULL;
    r.scopes = r.scopes_tail = &s;
    s.next = NULL;
    s.head.any = rec;
    s.tail = rec;
    s.n_records = 1;
    TT_CHECK_INT(td_otlp_json_encode(&tmp, out), 0);
    TT_CHECK_INT(td_buf_putc(out, '\n'), 0);
}

static size_t
point_size(td_metric_type type)
{
    switch (type) {
    case TD_METRIC_HISTOGRAM:
        return sizeof(td_hist_point);
    case TD_METRIC_EXP_HISTOGRAM:
        return sizeof(td_exphist_point);
    case TD_METRIC_SUMMARY:
        return sizeof(td_summary_point);
    default:
        return sizeof(td_number_point);
    }
}

static void
render_metric(const td_resource_group *rg, const td_scope_group *sg,
              const td_metric *m, td_buf *out)
{
    for (uint32_t i = 0; i < m->n_points; i++) {
        td_metric one = *m;

        one.next = NULL;
        one.points.number = (void *) ((unsigned char *) m->points.number
                                      + i * point_size(m->type));
        one.n_points = one.cap_points = 1;
        render_one(TD_SIGNAL_METRICS, rg, sg, &one, out);
    }
}

/* Every item of b as one line, in order; malloc'd ("" for none). */
static char *
items_of(const td_batch *b)
{
    td_buf out = TD_BUF_INIT;

    for (const td_resource_group *rg = b->resources; rg; rg = rg->next) {
        for (const td_scope_group *sg = rg->scopes; sg; sg = sg->next) {
            if (b->signal == TD_SIGNAL_LOGS) {
                for (td_log_record *r = sg->head.logs; r; r = r->next) {
                    td_log_record one = *r;

                    one.next = NULL;
                    render_one(b->signal, rg, sg, &one, &out);
                }
            } else if (b->signal == TD_SIGNAL_TRACES) {
                for (td_span *s = sg->head.spans; s; s = s->next) {
                    td_span one = *s;

                    one.next = NULL;
                    render_one(b->signal, rg, sg, &one, &out);
                }
            } else {
                for (td_metric *m = sg->head.metrics; m; m = m->next) {
                    render_metric(rg, sg, m, &out);
                }
            }
        }
    }
    return out.data != NULL ? out.data : strdup("");
}

static char *
concat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);

    TT_CHECK(s != NULL);
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

/*
 * The lists of a batch are well formed: every tail is the last element,
 * every count is what the list holds, a metric's capacity covers its
 * points, and the batch's item counter is what the walk finds.
 */
static void
check_shape(const td_batch *b)
{
    const td_resource_group *rg_last = NULL;
    size_t items = 0;

    for (const td_resource_group *rg = b->resources; rg; rg = rg->next) {
        const td_scope_group *sg_last = NULL;

        for (const td_scope_group *sg = rg->scopes; sg; sg = sg->next) {
            const void *last = NULL;
            uint32_t n = 0;

            if (b->signal == TD_SIGNAL_LOGS) {
                for (const td_log_record *r = sg->head.logs; r;
                     r = r->next) {
                    last = r;
                    n++;
                }
                items += n;
            } else if (b->signal == TD_SIGNAL_TRACES) {
                for (const td_span *s = sg->head.spans; s; s = s->next) {
                    last = s;
                    n++;
                }
                items += n;
            } else {
                for (const td_metric *m = sg->head.metrics; m;
                     m = m->next) {
                    TT_CHECK(m->cap_points >= m->n_points);
                    items += m->n_points;
                    last = m;
                    n++;
                }
            }
            TT_CHECK_INT(sg->n_records, n);
            if (n > 0) {
                TT_CHECK(sg->tail == last);
            }
            sg_last = sg;
        }
        TT_CHECK(rg->scopes_tail == sg_last);
        rg_last = rg;
    }
    TT_CHECK(b->resources_tail == rg_last);
    TT_CHECK_INT(td_batch_items(b), items);
}

/* ---- the cases ---- */

static const char *const logs_shape = "3,0,2|1||0|4,1";
static const char *const traces_shape = "2,3|1,0|2";
static const char *const metrics_shape = "g3s2,h0|e4q2,|g1";

/*
 * Cuts a fresh batch after k items for every k (and beyond the end):
 * both halves are well formed, hold the right counts and, one after the
 * other, the original's items. The halves are dropped in either order,
 * and the survivor still reads the same (ASan checks the arenas).
 */
static void
every_cut(td_signal signal, const char *shape)
{
    td_batch *orig = build(signal, shape, 0);
    char *want = items_of(orig);
    size_t total = td_batch_items(orig);

    TT_CHECK(total > 0);
    for (size_t k = 0; k <= total + 1; k++) {
        td_batch *b = build(signal, shape, 0);
        td_batch *h = td_batch_split(b, k);
        size_t moved = k < total ? k : total;
        char *hi, *bi, *both;

        TT_CHECK(h != NULL);
        if (h == NULL) {
            td_batch_unref(b);
            continue;
        }
        TT_CHECK_INT(td_batch_items(h), moved);
        TT_CHECK_INT(td_batch_items(b), total - moved);
        check_shape(h);
        check_shape(b);
        hi = items_of(h);
        bi = items_of(b);
        both = concat(hi, bi);
        TT_CHECK_STR(both, want);

        if (k % 2 == 0) {
            td_batch_unref(h);
            free(hi);
            hi = items_of(b);
            TT_CHECK_STR(hi, bi);
            td_batch_unref(b);
        } else {
            td_batch_unref(b);
            free(bi);
            bi = items_of(h);
            TT_CHECK_STR(bi, hi);
            td_batch_unref(h);
        }
        free(hi);
        free(bi);
        free(both);
    }
    free(want);
    td_batch_unref(orig);
}

static void
test_logs_every_cut(void)
{
    every_cut(TD_SIGNAL_LOGS, logs_shape);
}

static void
test_traces_every_cut(void)
{
    every_cut(TD_SIGNAL_TRACES, traces_shape);
}

static void
test_metrics_every_cut(void)
{
    every_cut(TD_SIGNAL_METRICS, metrics_shape);
}

/*
 * A cut inside a scope: the resource and scope appear in both halves as
 * shallow copies (same strings and attribute arrays, a new descriptor
 * whose attribute capacity ends at its last pair).
 */
static void
test_straddling_groups(void)
{
    td_batch *b = build(TD_SIGNAL_LOGS, "5", 0);
    td_log_record *first = b->resources->scopes->head.logs;
    td_log_record *third = first->next->next;
    td_batch *h = td_batch_split(b, 2);
    td_resource_group *hr, *br;
    td_scope_group *hs, *bs;

    TT_CHECK(h != NULL);
    if (h == NULL) {
        td_batch_unref(b);
        return;
    }
    hr = h->resources;
    br = b->resources;
    TT_CHECK(hr != NULL && br != NULL && hr != br);
    TT_CHECK(hr->next == NULL && br->next == NULL);
    TT_CHECK(hr->resource.attrs.items == br->resource.attrs.items);
    TT_CHECK_INT(hr->resource.attrs.n, 1);
    TT_CHECK_INT(hr->resource.attrs.cap, 1);
    TT_CHECK(hr->resource.schema_url.ptr == br->resource.schema_url.ptr);

    hs = hr->scopes;
    bs = br->scopes;
    TT_CHECK(hs != NULL && bs != NULL && hs != bs);
    TT_CHECK(hs->scope.name.ptr == bs->scope.name.ptr);
    TT_CHECK_MEM(hs->scope.name.ptr, hs->scope.name.len, "scope 0.0");
    TT_CHECK_MEM(hs->scope.version.ptr, hs->scope.version.len, "1.2");
    TT_CHECK_INT(hs->scope.attrs.cap, hs->scope.attrs.n);
    TT_CHECK_INT(hs->n_records, 2);
    TT_CHECK_INT(bs->n_records, 3);
    TT_CHECK_INT(hs->head.logs->body.u.i, 0);
    TT_CHECK_INT(((td_log_record *) hs->tail)->body.u.i, 1);
    TT_CHECK(((td_log_record *) hs->tail)->next == NULL);
    TT_CHECK_INT(bs->head.logs->body.u.i, 2);

    /* Records were relinked, not copied. */
    TT_CHECK(hs->head.logs == first);
    TT_CHECK(bs->head.logs == third);

    /* Each half grows on its own: a record added to one is not in the
     * other. */
    fill_log(h, td_batch_add_log(h, hs), 100);
    fill_log(b, td_batch_add_log(b, bs), 101);
    TT_CHECK_INT(td_attrs_put_int(h, &hr->resource.attrs, "more", 1), 0);
    check_shape(h);
    check_shape(b);
    TT_CHECK_INT(((td_log_record *) hs->tail)->body.u.i, 100);
    TT_CHECK_INT(((td_log_record *) bs->tail)->body.u.i, 101);
    TT_CHECK_INT(hr->resource.attrs.n, 2);
    TT_CHECK_INT(br->resource.attrs.n, 1);
    td_batch_unref(b);
    td_batch_unref(h);
}

/*
 * A metric of each type cut inside its points: the new half holds a
 * copy of the metric with the first points, the old half the rest; all
 * descriptive fields are the same; both have exactly their points as
 * capacity, so that adding a point to one leaves the other as it was.
 */
static void
test_metric_split_each_type(void)
{
    static const char *const shapes[] = {"g5", "s5", "h5", "e5", "q5"};

    for (size_t t = 0; t < TD_ARRAY_SIZE(shapes); t++) {
        td_batch *b = build(TD_SIGNAL_METRICS, shapes[t], 0);
        td_batch *h = td_batch_split(b, 2);
        td_metric *hm, *bm;
        char *hb, *bb, *ha, *ba;

        TT_CHECK(h != NULL);
        if (h == NULL) {
            td_batch_unref(b);
            continue;
        }
        hm = h->resources->scopes->head.metrics;
        bm = b->resources->scopes->head.metrics;
        TT_CHECK(hm != bm);
        TT_CHECK_INT(hm->n_points, 2);
        TT_CHECK_INT(bm->n_points, 3);
        TT_CHECK_INT(hm->cap_points, 2);
        TT_CHECK_INT(bm->cap_points, 3);
        TT_CHECK(hm->type == bm->type);
        TT_CHECK(hm->temporality == bm->temporality);
        TT_CHECK(hm->monotonic == bm->monotonic);
        TT_CHECK(hm->name.ptr == bm->name.ptr);
        TT_CHECK(hm->description.ptr == bm->description.ptr);
        TT_CHECK(hm->unit.ptr == bm->unit.ptr);
        TT_CHECK(hm->metadata.items == bm->metadata.items);
        TT_CHECK_INT(hm->metadata.cap, hm->metadata.n);
        TT_CHECK(hm->next == NULL);
        /* The rest starts right after the points that moved. */
        TT_CHECK((unsigned char *) bm->points.number
                 == (unsigned char *) hm->points.number
                        + 2 * point_size(hm->type));

        hb = items_of(h);
        bb = items_of(b);
        add_point(h, hm, 50);
        add_point(b, bm, 51);
        TT_CHECK_INT(hm->n_points, 3);
        TT_CHECK_INT(bm->n_points, 4);
        check_shape(h);
        check_shape(b);
        /* Each half kept its points and gained only its own new one. */
        ha = items_of(h);
        ba = items_of(b);
        TT_CHECK(strncmp(ha, hb, strlen(hb)) == 0);
        TT_CHECK(strncmp(ba, bb, strlen(bb)) == 0);
        TT_CHECK(strstr(ha, "\"seq\"") != NULL);
        TT_CHECK(strstr(ha + strlen(hb), "\"intValue\":\"50\"") != NULL);
        TT_CHECK(strstr(ba + strlen(bb), "\"intValue\":\"51\"") != NULL);
        TT_CHECK(strstr(ha, "\"intValue\":\"51\"") == NULL);
        TT_CHECK(strstr(ba, "\"intValue\":\"50\"") == NULL);
        free(hb);
        free(bb);
        free(ha);
        free(ba);
        td_batch_unref(h);
        td_batch_unref(b);
    }
}

/*
 * Splitting off max items until nothing is left: every chunk but the
 * last has exactly max items, together they are the original, and the
 * emptied batch is released before or after its chunks.
 */
static void
split_until_empty(td_signal signal, const char *shape, size_t max,
                  int unref_src_first)
{
    td_batch *orig = build(signal, shape, 0);
    td_batch *b = build(signal, shape, 0);
    td_batch *chunks[64];
    size_t n = 0, total = td_batch_items(b);
    char *want = items_of(orig), *got = strdup("");

    while (td_batch_items(b) > 0 && n < TD_ARRAY_SIZE(chunks)) {
        size_t before = td_batch_items(b);
        char *ci, *next;

        chunks[n] = td_batch_split(b, max);
        TT_CHECK(chunks[n] != NULL);
        if (chunks[n] == NULL) {
            break;
        }
        TT_CHECK_INT(td_batch_items(chunks[n]),
                     before < max ? before : max);
        check_shape(chunks[n]);
        ci = items_of(chunks[n]);
        next = concat(got, ci);
        free(got);
        free(ci);
        got = next;
        n++;
    }
    TT_CHECK_INT(n, (total + max - 1) / max);
    TT_CHECK_INT(td_batch_items(b), 0);
    TT_CHECK(b->resources == NULL);
    TT_CHECK_STR(got, want);

    if (unref_src_first) {
        td_batch_unref(b);
    }
    /* The chunks still read right once their source is gone. */
    free(got);
    got = strdup("");
    for (size_t i = 0; i < n; i++) {
        char *ci = items_of(chunks[i]);
        char *next = concat(got, ci);

        free(got);
        free(ci);
        got = next;
        td_batch_unref(chunks[i]);
    }
    TT_CHECK_STR(got, want);
    if (!unref_src_first) {
        td_batch_unref(b);
    }
    free(got);
    free(want);
    td_batch_unref(orig);
}

static void
test_split_until_empty(void)
{
    split_until_empty(TD_SIGNAL_LOGS, logs_shape, 3, 1);
    split_until_empty(TD_SIGNAL_LOGS, logs_shape, 1, 0);
    split_until_empty(TD_SIGNAL_TRACES, traces_shape, 4, 0);
    split_until_empty(TD_SIGNAL_METRICS, metrics_shape, 5, 1);
    split_until_empty(TD_SIGNAL_METRICS, metrics_shape, 1, 0);
    split_until_empty(TD_SIGNAL_METRICS, "g40", 7, 1);
}

/*
 * max_items at or beyond the items moves everything and leaves the
 * source empty with only its own arena; 0 moves nothing.
 */
static void
test_split_all_and_nothing(void)
{
    td_batch *b = build(TD_SIGNAL_LOGS, "4|2", 0);
    char *want = items_of(b), *got;
    size_t bytes = td_batch_bytes(b);
    td_batch *none, *all;

    none = td_batch_split(b, 0);
    TT_CHECK(none != NULL);
    TT_CHECK_INT(td_batch_items(none), 0);
    TT_CHECK(none->resources == NULL);
    TT_CHECK_INT(td_batch_items(b), 6);
    got = items_of(b);
    TT_CHECK_STR(got, want);
    free(got);

    all = td_batch_split(b, 6);
    TT_CHECK(all != NULL);
    TT_CHECK_INT(td_batch_items(all), 6);
    TT_CHECK_INT(td_batch_items(b), 0);
    TT_CHECK(b->resources == NULL && b->resources_tail == NULL);
    TT_CHECK_INT(b->n_adopted, 0);
    /* The records' memory now counts in the new batch. */
    TT_CHECK(td_batch_bytes(all) >= bytes);
    got = items_of(all);
    TT_CHECK_STR(got, want);
    free(got);

    /* An empty source splits into another empty batch. */
    td_batch_unref(none);
    none = td_batch_split(b, 5);
    TT_CHECK(none != NULL && td_batch_items(none) == 0);
    td_batch_unref(none);
    td_batch_unref(b);
    td_batch_unref(all);
    free(want);
}

/*
 * A partial split leaves both halves holding every arena of the source:
 * td_batch_bytes of each counts the shared blocks.
 */
static void
test_split_bytes(void)
{
    td_batch *b = build(TD_SIGNAL_LOGS, "40", 0);
    size_t bytes = td_batch_bytes(b);
    td_batch *h = td_batch_split(b, 10);

    TT_CHECK(h != NULL);
    TT_CHECK_INT(td_batch_bytes(b), bytes);
    TT_CHECK(td_batch_bytes(h) > bytes);
    td_batch_unref(h);
    td_batch_unref(b);
}

/*
 * A source that itself holds merged batches (adopted arenas) splits at
 * every position, and the halves outlive it in either order.
 */
static void
test_split_merged(void)
{
    td_batch *orig = build(TD_SIGNAL_METRICS, "g2s1|h2", 0);
    td_batch *tail = build(TD_SIGNAL_METRICS, "e2q3", 5);
    char *want, *half_want;
    size_t total;

    TT_CHECK_INT(td_batch_append(orig, tail), 0);
    td_batch_unref(tail);
    want = items_of(orig);
    total = td_batch_items(orig);
    TT_CHECK_INT(total, 10);
    td_batch_unref(orig);

    for (size_t k = 0; k <= total; k++) {
        td_batch *a = build(TD_SIGNAL_METRICS, "g2s1|h2", 0);
        td_batch *t = build(TD_SIGNAL_METRICS, "e2q3", 5);
        td_batch *h, *h2;
        char *got, *rest;

        TT_CHECK_INT(td_batch_append(a, t), 0);
        td_batch_unref(t);
        h = td_batch_split(a, k);
        TT_CHECK(h != NULL);
        if (h == NULL) {
            td_batch_unref(a);
            continue;
        }
        /* Split the rest again into a third batch, then drop the source. */
        h2 = td_batch_split(a, total);
        TT_CHECK(h2 != NULL);
        td_batch_unref(a);
        got = items_of(h);
        rest = items_of(h2);
        half_want = concat(got, rest);
        TT_CHECK_STR(half_want, want);
        free(half_want);
        free(got);
        free(rest);
        td_batch_unref(h2);
        td_batch_unref(h);
    }
    free(want);
}

/*
 * td_batch_move_items into a batch that holds items already appends
 * after them; bad arguments change nothing; the item count of a group
 * is what the group holds.
 */
static void
test_move_items(void)
{
    td_batch *dst = build(TD_SIGNAL_TRACES, "2", 0);
    td_batch *src = build(TD_SIGNAL_TRACES, "3|1", 2);
    td_batch *logs = build(TD_SIGNAL_LOGS, "1", 0);
    td_batch *m = build(TD_SIGNAL_METRICS, "g2s3,h1", 0);
    const char *prev = NULL;
    char *got;

    TT_CHECK_INT(td_resource_group_items(TD_SIGNAL_METRICS,
                                         m->resources), 6);
    TT_CHECK_INT(td_resource_group_items(TD_SIGNAL_TRACES,
                                         src->resources), 3);
    TT_CHECK_INT(td_batch_move_items(dst, dst, 1), TD_EINVAL);
    TT_CHECK_INT(td_batch_move_items(dst, logs, 1), TD_EINVAL);
    TT_CHECK_INT(td_batch_items(logs), 1);

    TT_CHECK_INT(td_batch_reserve_move(dst, src), 0);
    TT_CHECK_INT(td_batch_move_items(dst, src, 3), 0);
    TT_CHECK_INT(td_batch_items(dst), 5);
    TT_CHECK_INT(td_batch_items(src), 1);
    TT_CHECK_INT(td_batch_move_items(dst, src, 1), 0);
    check_shape(dst);
    check_shape(src);
    TT_CHECK_INT(td_batch_items(src), 0);
    check_shape(dst);
    check_shape(src);

    /* dst's own spans 0 and 1, then src's 2 to 5, in order. */
    got = items_of(dst);
    for (int i = 0; i < 6; i++) {
        char needle[32];
        const char *at;

        snprintf(needle, sizeof(needle), "\"span %d\"", i);
        at = strstr(got, needle);
        TT_CHECK(at != NULL && (prev == NULL || at > prev));
        prev = at;
    }
    free(got);
    td_batch_unref(src);
    td_batch_unref(dst);
    td_batch_unref(logs);
    td_batch_unref(m);
}

/*
 * Moving whole resource groups: groups without items go where they are
 * counted, a count past the end moves everything, and after
 * td_batch_reserve_move the moves need no memory.
 */
static void
test_move_resources(void)
{
    td_batch *src = build(TD_SIGNAL_LOGS, "2|0|3||1", 0);
    td_batch *a = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_batch *c = td_batch_new(TD_SIGNAL_LOGS, 0);
    const td_value *r;
    char *want = items_of(src), *ga, *gb, *gc, *ab, *all;

    TT_CHECK_INT(td_batch_reserve_move(a, src), 0);
    TT_CHECK_INT(td_batch_reserve_move(b, src), 0);
    TT_CHECK_INT(td_batch_reserve_move(c, src), 0);
    TT_CHECK_INT(td_batch_move_resources(a, src, 0), 0);
    TT_CHECK(a->resources == NULL);

    /* Two groups: 2 items and the empty one after them. */
    TT_CHECK_INT(td_batch_move_resources(a, src, 2), 0);
    TT_CHECK_INT(td_batch_items(a), 2);
    TT_CHECK(a->resources != NULL && a->resources->next != NULL
             && a->resources->next->next == NULL);
    r = td_attrs_get(&a->resources_tail->resource.attrs, "r", 1);
    TT_CHECK(r != NULL && r->u.i == 1);
    /* One more: the group of 3. */
    TT_CHECK_INT(td_batch_move_resources(b, src, 1), 0);
    TT_CHECK_INT(td_batch_items(b), 3);
    TT_CHECK_INT(td_batch_items(src), 1);
    r = td_attrs_get(&src->resources->resource.attrs, "r", 1);
    TT_CHECK(r != NULL && r->u.i == 3);
    /* Past the end: the group without scopes and the last one. */
    TT_CHECK_INT(td_batch_move_resources(c, src, 9), 0);
    TT_CHECK_INT(td_batch_items(c), 1);
    TT_CHECK(src->resources == NULL && td_batch_items(src) == 0);
    check_shape(a);
    check_shape(b);
    check_shape(c);
    check_shape(src);
    TT_CHECK_INT(td_batch_move_resources(a, a, 1), TD_EINVAL);

    td_batch_unref(src);
    ga = items_of(a);
    gb = items_of(b);
    gc = items_of(c);
    ab = concat(ga, gb);
    all = concat(ab, gc);
    TT_CHECK_STR(all, want);
    td_batch_unref(b);
    td_batch_unref(a);
    td_batch_unref(c);
    free(ga);
    free(gb);
    free(gc);
    free(ab);
    free(all);
    free(want);
}

/*
 * Many small batches moved into one: every arena is kept once, the
 * parts of one batch moved one after the other add its arenas once.
 */
static void
test_move_many_small(void)
{
    td_batch *dst = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_batch *b;
    size_t total = 0;

    for (int i = 0; i < 3000; i++) {
        b = build(TD_SIGNAL_LOGS, "1", i);
        TT_CHECK_INT(td_batch_move_items(dst, b, 1), 0);
        td_batch_unref(b);
        total++;
    }
    TT_CHECK_INT(td_batch_items(dst), total);
    TT_CHECK_INT(dst->n_adopted, 3000);

    /* One batch in three parts through three splits. */
    b = build(TD_SIGNAL_LOGS, "6", 0);
    for (int i = 0; i < 3; i++) {
        td_batch *part = td_batch_split(b, 2);

        TT_CHECK(part != NULL);
        TT_CHECK_INT(td_batch_move_items(dst, part, 2), 0);
        td_batch_unref(part);
    }
    /* b's arena, and each part's own arena (its struct) once. */
    TT_CHECK_INT(dst->n_adopted, 3000 + 1 + 3);
    TT_CHECK_INT(td_batch_items(dst), total + 6);
    check_shape(dst);
    td_batch_unref(b);
    td_batch_unref(dst);
}

static const tt_case cases[] = {
    {"logs_every_cut", test_logs_every_cut},
    {"traces_every_cut", test_traces_every_cut},
    {"metrics_every_cut", test_metrics_every_cut},
    {"straddling_groups", test_straddling_groups},
    {"metric_split_each_type", test_metric_split_each_type},
    {"split_until_empty", test_split_until_empty},
    {"split_all_and_nothing", test_split_all_and_nothing},
    {"split_bytes", test_split_bytes},
    {"split_merged", test_split_merged},
    {"move_items", test_move_items},
    {"move_resources", test_move_resources},
    {"move_many_small", test_move_many_small},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
