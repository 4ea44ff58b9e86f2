/*
 * telemetry.c - batches of logs, metrics and traces in arena memory.
 *
 * A batch and everything it points to live in arenas. The td_batch struct
 * itself is the first allocation of its own arena, so that creating a
 * batch is one malloc and freeing it is one td_arena_unref() per arena.
 * Merged batches (td_batch_append) are kept alive by holding references
 * to their arenas instead of copying their records.
 *
 * Growable arrays (attributes, data points, array values, events, links)
 * double their capacity in the arena; the old array is left behind as
 * garbage, which at most doubles their cost and is freed with the batch.
 */
#include <string.h>

#include "telemetry.h"

/* First capacity of an array that grows one element at a time. */
#define TD_TELEMETRY_MIN_CAP 4

td_batch *
td_batch_new(td_signal signal, size_t hint)
{
    td_arena *arena = td_arena_new(hint);
    td_batch *b;

    if (arena == NULL) {
        return NULL;
    }
    b = td_arena_calloc(arena, 1, sizeof(*b));
    if (b == NULL) {
        td_arena_unref(arena);
        return NULL;
    }
    b->signal = signal;
    atomic_init(&b->refs, 1);
    b->arena = arena;
    return b;
}

void
td_batch_ref(td_batch *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
}

void
td_batch_unref(td_batch *b)
{
    td_arena *own;

    if (b == NULL
        || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel)
               != 1) {
        return;
    }

    /*
     * The adopted list and the struct itself live in the batch's own
     * arena, so that arena must be the last one dropped.
     */
    own = b->arena;
    for (uint32_t i = 0; i < b->n_adopted; i++) {
        td_arena_unref(b->adopted[i]);
    }
    td_arena_unref(own);
}

size_t
td_batch_bytes(const td_batch *b)
{
    size_t bytes = td_arena_bytes(b->arena);

    for (uint32_t i = 0; i < b->n_adopted; i++) {
        bytes += td_arena_bytes(b->adopted[i]);
    }
    return bytes;
}

/* Makes room for n more adopted arenas. */
static int
td_batch_reserve_adopted(td_batch *dst, uint32_t n)
{
    uint32_t cap = dst->cap_adopted;
    td_arena **p;

    if (dst->n_adopted + n <= cap) {
        return TD_OK;
    }
    if (cap == 0) {
        cap = TD_BATCH_MAX_ARENAS;
    }
    while (cap < dst->n_adopted + n) {
        cap *= 2;
    }
    p = td_arena_realloc(dst->arena, dst->adopted,
                         dst->cap_adopted * sizeof(*p), cap * sizeof(*p));
    if (p == NULL) {
        return TD_ENOMEM;
    }
    dst->adopted = p;
    dst->cap_adopted = cap;
    return TD_OK;
}

/*
 * True when a is dst's own arena or one of the last few it adopted.
 * Moving thousands of small batches into one would cost a quadratic
 * scan if every arena were looked up in the whole list; an arena that
 * comes twice nearly always comes right after itself (two parts of one
 * batch), and one that is missed only holds a second reference, which
 * costs a slot and is dropped with the first.
 */
#define TD_BATCH_RECENT_ARENAS 8

static bool
td_batch_holds_recent(const td_batch *dst, const td_arena *a)
{
    uint32_t from = dst->n_adopted > TD_BATCH_RECENT_ARENAS
                        ? dst->n_adopted - TD_BATCH_RECENT_ARENAS
                        : 0;

    if (dst->arena == a) {
        return true;
    }
    for (uint32_t i = from; i < dst->n_adopted; i++) {
        if (dst->adopted[i] == a) {
            return true;
        }
    }
    return false;
}

/*
 * dst takes a new reference on src's own arena and takes over src's
 * references on the arenas src adopted, so src ends up holding only its
 * own arena (where its struct lives) and no records. Room for every
 * arena is reserved first so that a failure leaves both batches as they
 * were.
 */
int
td_batch_append(td_batch *dst, td_batch *src)
{
    if (dst == src || dst->signal != src->signal) {
        return TD_EINVAL;
    }
    if (td_batch_reserve_adopted(dst, src->n_adopted + 1) != TD_OK) {
        return TD_ENOMEM;
    }

    if (!td_batch_holds_recent(dst, src->arena)) {
        td_arena_ref(src->arena);
        dst->adopted[dst->n_adopted++] = src->arena;
    }
    for (uint32_t i = 0; i < src->n_adopted; i++) {
        if (td_batch_holds_recent(dst, src->adopted[i])) {
            td_arena_unref(src->adopted[i]);
        } else {
            dst->adopted[dst->n_adopted++] = src->adopted[i];
        }
    }
    src->n_adopted = 0;

    if (src->resources != NULL) {
        if (dst->resources_tail != NULL) {
            dst->resources_tail->next = src->resources;
        } else {
            dst->resources = src->resources;
        }
        dst->resources_tail = src->resources_tail;
    }
    dst->items += src->items;
    src->resources = src->resources_tail = NULL;
    src->items = 0;
    return TD_OK;
}

/* ---- moving items between batches ---- */

/* Items of a scope group: its records, or the points of its metrics. */
static size_t
td_scope_group_items(td_signal signal, const td_scope_group *sg)
{
    size_t n = 0;

    if (signal != TD_SIGNAL_METRICS) {
        return sg->n_records;
    }
    for (const td_metric *m = sg->head.metrics; m != NULL; m = m->next) {
        n += m->n_points;
    }
    return n;
}

size_t
td_resource_group_items(td_signal signal, const td_resource_group *rg)
{
    size_t n = 0;

    for (const td_scope_group *sg = rg->scopes; sg != NULL;
         sg = sg->next) {
        n += td_scope_group_items(signal, sg);
    }
    return n;
}

int
td_batch_reserve_move(td_batch *dst, const td_batch *src)
{
    return td_batch_reserve_adopted(dst, src->n_adopted + 1);
}

/*
 * Where a partial move cuts src, found before anything changes. The
 * resource groups up to rg_prev move whole; rg is the first that stays,
 * and it straddles the cut when rg_need (its items that move) is not 0.
 * Inside rg the same holds for scope groups (sg_prev, sg, sg_need), and
 * inside sg for metrics: m_whole of them move whole, up to m_prev, and
 * m straddles when m_need of its points move.
 */
typedef struct td_cut {
    td_resource_group *rg_prev, *rg;
    size_t rg_need;
    td_scope_group *sg_prev, *sg;
    size_t sg_need;
    td_metric *m_prev, *m;
    uint32_t m_whole;
    uint32_t m_need;
} td_cut;

/*
 * Finds the cut after n items, n below the items of src. Groups with no
 * items right before the cut count as before it.
 */
static void
td_cut_find(const td_batch *src, size_t n, td_cut *cut)
{
    td_resource_group *rg = src->resources;
    td_scope_group *sg;
    td_metric *m;
    size_t k;

    memset(cut, 0, sizeof(*cut));
    while (rg != NULL
           && (k = td_resource_group_items(src->signal, rg)) <= n) {
        n -= k;
        cut->rg_prev = rg;
        rg = rg->next;
    }
    cut->rg = rg;
    if (rg == NULL || n == 0) {
        return;
    }

    cut->rg_need = n;
    sg = rg->scopes;
    while (sg != NULL && (k = td_scope_group_items(src->signal, sg)) <= n) {
        n -= k;
        cut->sg_prev = sg;
        sg = sg->next;
    }
    cut->sg = sg;
    if (sg == NULL || n == 0) {
        return;
    }

    cut->sg_need = n;
    if (src->signal != TD_SIGNAL_METRICS) {
        return;
    }
    for (m = sg->head.metrics; m != NULL && m->n_points <= n; m = m->next) {
        n -= m->n_points;
        cut->m_prev = m;
        cut->m_whole++;
    }
    cut->m = m;
    cut->m_need = (uint32_t) n;
}

/* dst keeps alive every arena src holds; room was reserved. */
static void
td_batch_share_arenas(td_batch *dst, const td_batch *src)
{
    if (!td_batch_holds_recent(dst, src->arena)) {
        td_arena_ref(src->arena);
        dst->adopted[dst->n_adopted++] = src->arena;
    }
    for (uint32_t i = 0; i < src->n_adopted; i++) {
        if (!td_batch_holds_recent(dst, src->adopted[i])) {
            td_arena_ref(src->adopted[i]);
            dst->adopted[dst->n_adopted++] = src->adopted[i];
        }
    }
}

static void
td_batch_link_resource(td_batch *b, td_resource_group *first,
                       td_resource_group *last)
{
    if (b->resources_tail != NULL) {
        b->resources_tail->next = first;
    } else {
        b->resources = first;
    }
    b->resources_tail = last;
}

static void
td_resource_link_scope(td_resource_group *rg, td_scope_group *first,
                       td_scope_group *last)
{
    if (rg->scopes_tail != NULL) {
        rg->scopes_tail->next = first;
    } else {
        rg->scopes = first;
    }
    rg->scopes_tail = last;
}

static size_t
td_metric_point_size(td_metric_type type)
{
    switch (type) {
    case TD_METRIC_GAUGE:
    case TD_METRIC_SUM:
        return sizeof(td_number_point);
    case TD_METRIC_HISTOGRAM:
        return sizeof(td_hist_point);
    case TD_METRIC_EXP_HISTOGRAM:
        return sizeof(td_exphist_point);
    case TD_METRIC_SUMMARY:
        return sizeof(td_summary_point);
    default:
        return 0;
    }
}

/*
 * Moves the first need log records or spans of sg into sgc, which is
 * empty; sg keeps at least one.
 */
static void
td_move_records(td_signal signal, td_scope_group *sgc, td_scope_group *sg,
                size_t need)
{
    if (signal == TD_SIGNAL_LOGS) {
        td_log_record *last = sg->head.logs;

        for (size_t i = 1; i < need; i++) {
            last = last->next;
        }
        sgc->head.logs = sg->head.logs;
        sg->head.logs = last->next;
        last->next = NULL;
        sgc->tail = last;
    } else {
        td_span *last = sg->head.spans;

        for (size_t i = 1; i < need; i++) {
            last = last->next;
        }
        sgc->head.spans = sg->head.spans;
        sg->head.spans = last->next;
        last->next = NULL;
        sgc->tail = last;
    }
    sgc->n_records = (uint32_t) need;
    sg->n_records -= (uint32_t) need;
}

/*
 * Moves the metrics of the cut into sgc, which is empty: the whole ones,
 * then mc, a copy of the straddling metric holding its first points
 * (when the cut falls inside one). The straddling metric keeps the rest
 * of its points, and both sides' capacity ends at their last point.
 */
static void
td_move_metrics(td_scope_group *sgc, td_scope_group *sg, const td_cut *cut,
                td_metric *mc)
{
    if (cut->m_prev != NULL) {
        sgc->head.metrics = sg->head.metrics;
        sgc->tail = cut->m_prev;
        cut->m_prev->next = NULL;
    }
    sgc->n_records = cut->m_whole;
    sg->n_records -= cut->m_whole;
    sg->head.metrics = cut->m;
    if (mc == NULL) {
        return;
    }

    *mc = *cut->m;
    mc->next = NULL;
    mc->n_points = mc->cap_points = cut->m_need;
    mc->metadata.cap = mc->metadata.n;
    if (cut->m_prev != NULL) {
        cut->m_prev->next = mc;
    } else {
        sgc->head.metrics = mc;
    }
    sgc->tail = mc;
    sgc->n_records++;

    cut->m->points.number = (void *) ((unsigned char *) cut->m->points.number
                                      + (size_t) cut->m_need
                                            * td_metric_point_size(
                                                cut->m->type));
    cut->m->n_points -= cut->m_need;
    cut->m->cap_points = cut->m->n_points;
}

/*
 * Moves the part of the straddling resource group that goes, into rgc
 * (and sgc, mc where the scope group and a metric straddle too). The
 * descriptors are shallow copies whose attribute lists have no spare
 * capacity, so that growing one never writes into the other's array.
 */
static void
td_move_partial(td_batch *dst, td_batch *src, const td_cut *cut,
                td_resource_group *rgc, td_scope_group *sgc, td_metric *mc)
{
    td_resource_group *rg = cut->rg;

    rgc->resource = rg->resource;
    rgc->resource.attrs.cap = rgc->resource.attrs.n;
    if (cut->sg_prev != NULL) {
        td_resource_link_scope(rgc, rg->scopes, cut->sg_prev);
        cut->sg_prev->next = NULL;
        rg->scopes = cut->sg;
    }
    if (sgc != NULL) {
        td_scope_group *sg = cut->sg;

        sgc->scope = sg->scope;
        sgc->scope.attrs.cap = sgc->scope.attrs.n;
        if (src->signal == TD_SIGNAL_METRICS) {
            td_move_metrics(sgc, sg, cut, mc);
        } else {
            td_move_records(src->signal, sgc, sg, cut->sg_need);
        }
        td_resource_link_scope(rgc, sgc, sgc);
    }
    td_batch_link_resource(dst, rgc, rgc);
}

int
td_batch_move_items(td_batch *dst, td_batch *src, size_t n)
{
    td_resource_group *rgc = NULL;
    td_scope_group *sgc = NULL;
    td_metric *mc = NULL;
    td_cut cut;

    if (dst == src || dst->signal != src->signal) {
        return TD_EINVAL;
    }
    if (n >= src->items) {
        return td_batch_append(dst, src);
    }

    /* Every allocation first, so that a failure changes nothing. */
    td_cut_find(src, n, &cut);
    if (td_batch_reserve_move(dst, src) != TD_OK
        || (cut.rg_need > 0
            && (rgc = td_arena_calloc(dst->arena, 1, sizeof(*rgc))) == NULL)
        || (cut.sg_need > 0
            && (sgc = td_arena_calloc(dst->arena, 1, sizeof(*sgc))) == NULL)
        || (cut.m_need > 0
            && (mc = td_arena_alloc(dst->arena, sizeof(*mc))) == NULL)) {
        return TD_ENOMEM;
    }

    td_batch_share_arenas(dst, src);
    if (cut.rg_prev != NULL) {
        td_batch_link_resource(dst, src->resources, cut.rg_prev);
        cut.rg_prev->next = NULL;
        src->resources = cut.rg;
        if (cut.rg == NULL) {
            src->resources_tail = NULL;
        }
    }
    if (rgc != NULL) {
        td_move_partial(dst, src, &cut, rgc, sgc, mc);
    }
    dst->items += n;
    src->items -= n;
    return TD_OK;
}

int
td_batch_move_resources(td_batch *dst, td_batch *src, size_t n_groups)
{
    td_resource_group *last = NULL;
    size_t items = 0;

    if (dst == src || dst->signal != src->signal) {
        return TD_EINVAL;
    }
    if (n_groups == 0) {
        return TD_OK;
    }
    for (td_resource_group *rg = src->resources; rg != NULL && n_groups > 0;
         rg = rg->next, n_groups--) {
        items += td_resource_group_items(src->signal, rg);
        last = rg;
    }
    if (last == NULL || last->next == NULL) {
        return td_batch_append(dst, src);
    }
    if (td_batch_reserve_move(dst, src) != TD_OK) {
        return TD_ENOMEM;
    }

    td_batch_share_arenas(dst, src);
    td_batch_link_resource(dst, src->resources, last);
    src->resources = last->next;
    last->next = NULL;
    dst->items += items;
    src->items -= items;
    return TD_OK;
}

td_batch *
td_batch_split(td_batch *src, size_t max_items)
{
    size_t arenas = 2 * ((size_t) src->n_adopted + 1);
    size_t hint = sizeof(td_batch) + sizeof(td_resource_group)
                  + sizeof(td_scope_group) + sizeof(td_metric) + 256;
    td_batch *dst;

    /* Room for the adopted list and the copied descriptors at once. */
    hint += (arenas > TD_BATCH_MAX_ARENAS ? arenas : TD_BATCH_MAX_ARENAS)
            * sizeof(td_arena *);
    dst = td_batch_new(src->signal, hint);
    if (dst == NULL) {
        return NULL;
    }
    if (td_batch_move_items(dst, src, max_items) != TD_OK) {
        td_batch_unref(dst);
        return NULL;
    }
    return dst;
}

td_resource_group *
td_batch_add_resource(td_batch *b)
{
    td_resource_group *rg = td_arena_calloc(b->arena, 1, sizeof(*rg));

    if (rg == NULL) {
        return NULL;
    }
    if (b->resources_tail != NULL) {
        b->resources_tail->next = rg;
    } else {
        b->resources = rg;
    }
    b->resources_tail = rg;
    return rg;
}

td_scope_group *
td_batch_add_scope(td_batch *b, td_resource_group *rg)
{
    td_scope_group *sg = td_arena_calloc(b->arena, 1, sizeof(*sg));

    if (sg == NULL) {
        return NULL;
    }
    if (rg->scopes_tail != NULL) {
        rg->scopes_tail->next = sg;
    } else {
        rg->scopes = sg;
    }
    rg->scopes_tail = sg;
    return sg;
}

td_log_record *
td_batch_add_log(td_batch *b, td_scope_group *sg)
{
    td_log_record *r, *tail = sg->tail;

    if (b->signal != TD_SIGNAL_LOGS) {
        return NULL;
    }
    r = td_arena_calloc(b->arena, 1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    if (tail != NULL) {
        tail->next = r;
    } else {
        sg->head.logs = r;
    }
    sg->tail = r;
    sg->n_records++;
    b->items++;
    return r;
}

td_span *
td_batch_add_span(td_batch *b, td_scope_group *sg)
{
    td_span *s, *tail = sg->tail;

    if (b->signal != TD_SIGNAL_TRACES) {
        return NULL;
    }
    s = td_arena_calloc(b->arena, 1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    if (tail != NULL) {
        tail->next = s;
    } else {
        sg->head.spans = s;
    }
    sg->tail = s;
    sg->n_records++;
    b->items++;
    return s;
}

td_metric *
td_batch_add_metric(td_batch *b, td_scope_group *sg, td_metric_type type)
{
    td_metric *m, *tail = sg->tail;

    if (b->signal != TD_SIGNAL_METRICS) {
        return NULL;
    }
    m = td_arena_calloc(b->arena, 1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->type = type;
    if (tail != NULL) {
        tail->next = m;
    } else {
        sg->head.metrics = m;
    }
    sg->tail = m;
    sg->n_records++;
    return m;
}

/*
 * Adds one zeroed element to an array of *n elements of size bytes with
 * capacity *cap, doubling the capacity in the arena when full. Returns
 * the new element or NULL on ENOMEM (the array is unchanged then).
 */
static void *
td_batch_grow(td_batch *b, void **items, uint32_t *n, uint32_t *cap,
              size_t size)
{
    unsigned char *p = *items;

    if (*n == UINT32_MAX) {
        return NULL;
    }
    if (*n >= *cap) {
        uint32_t ncap = *cap >= TD_TELEMETRY_MIN_CAP ? *cap
                                                     : TD_TELEMETRY_MIN_CAP;

        while (ncap <= *n) {
            ncap = ncap > UINT32_MAX / 2 ? UINT32_MAX : ncap * 2;
        }
        p = td_arena_realloc(b->arena, *items, (size_t) *n * size,
                             (size_t) ncap * size);
        if (p == NULL) {
            return NULL;
        }
        *items = p;
        *cap = ncap;
    }
    p += (size_t) *n * size;
    memset(p, 0, size);
    (*n)++;
    return p;
}

static void *
td_metric_add_point(td_batch *b, td_metric *m, size_t size)
{
    void *items = m->points.number;
    void *p = td_batch_grow(b, &items, &m->n_points, &m->cap_points, size);

    if (p == NULL) {
        return NULL;
    }
    m->points.number = items;
    b->items++;
    return p;
}

td_number_point *
td_metric_add_number_point(td_batch *b, td_metric *m)
{
    if (m->type != TD_METRIC_GAUGE && m->type != TD_METRIC_SUM) {
        return NULL;
    }
    return td_metric_add_point(b, m, sizeof(td_number_point));
}

td_hist_point *
td_metric_add_hist_point(td_batch *b, td_metric *m)
{
    if (m->type != TD_METRIC_HISTOGRAM) {
        return NULL;
    }
    return td_metric_add_point(b, m, sizeof(td_hist_point));
}

td_exphist_point *
td_metric_add_exphist_point(td_batch *b, td_metric *m)
{
    if (m->type != TD_METRIC_EXP_HISTOGRAM) {
        return NULL;
    }
    return td_metric_add_point(b, m, sizeof(td_exphist_point));
}

td_summary_point *
td_metric_add_summary_point(td_batch *b, td_metric *m)
{
    if (m->type != TD_METRIC_SUMMARY) {
        return NULL;
    }
    return td_metric_add_point(b, m, sizeof(td_summary_point));
}

td_str
td_batch_str(td_batch *b, const char *s, size_t len)
{
    char *p = td_arena_strndup(b->arena, len > 0 ? s : "", len);

    if (p == NULL) {
        return TD_STR_NULL;
    }
    return (td_str){p, len};
}

int
td_attrs_reserve(td_batch *b, td_attrs *attrs, uint32_t n)
{
    uint32_t want;
    void *p;

    if (n > UINT32_MAX - attrs->n) {
        return TD_ENOMEM;
    }
    want = attrs->n + n;
    if (want <= attrs->cap) {
        return TD_OK;
    }
    p = td_arena_realloc(b->arena, attrs->items,
                         (size_t) attrs->n * sizeof(td_kv),
                         (size_t) want * sizeof(td_kv));
    if (p == NULL) {
        return TD_ENOMEM;
    }
    attrs->items = p;
    attrs->cap = want;
    return TD_OK;
}

td_value *
td_attrs_add(td_batch *b, td_attrs *attrs, const char *key, size_t key_len)
{
    void *items = attrs->items;
    td_str k = td_batch_str(b, key, key_len);
    td_kv *kv;

    if (k.ptr == NULL) {
        return NULL;
    }
    kv = td_batch_grow(b, &items, &attrs->n, &attrs->cap, sizeof(*kv));
    if (kv == NULL) {
        return NULL;
    }
    attrs->items = items;
    kv->key = k;
    return &kv->val;
}

int
td_attrs_put_str(td_batch *b, td_attrs *attrs, const char *key,
                 const char *val, size_t val_len)
{
    td_str s = td_batch_str(b, val, val_len);
    td_value *v;

    if (s.ptr == NULL) {
        return TD_ENOMEM;
    }
    v = td_attrs_add(b, attrs, key, strlen(key));
    if (v == NULL) {
        return TD_ENOMEM;
    }
    v->type = TD_VAL_STR;
    v->u.s = s;
    return TD_OK;
}

int
td_attrs_put_int(td_batch *b, td_attrs *attrs, const char *key,
                 int64_t val)
{
    td_value *v = td_attrs_add(b, attrs, key, strlen(key));

    if (v == NULL) {
        return TD_ENOMEM;
    }
    v->type = TD_VAL_INT;
    v->u.i = val;
    return TD_OK;
}

int
td_attrs_put_double(td_batch *b, td_attrs *attrs, const char *key,
                    double val)
{
    td_value *v = td_attrs_add(b, attrs, key, strlen(key));

    if (v == NULL) {
        return TD_ENOMEM;
    }
    v->type = TD_VAL_DOUBLE;
    v->u.d = val;
    return TD_OK;
}

int
td_attrs_put_bool(td_batch *b, td_attrs *attrs, const char *key, bool val)
{
    td_value *v = td_attrs_add(b, attrs, key, strlen(key));

    if (v == NULL) {
        return TD_ENOMEM;
    }
    v->type = TD_VAL_BOOL;
    v->u.b = val;
    return TD_OK;
}

/* The first pair with the key wins, as OTLP leaves duplicates undefined. */
const td_value *
td_attrs_get(const td_attrs *attrs, const char *key, size_t key_len)
{
    for (uint32_t i = 0; i < attrs->n; i++) {
        const td_kv *kv = &attrs->items[i];

        if (kv->key.len == key_len
            && (key_len == 0 || memcmp(kv->key.ptr, key, key_len) == 0)) {
            return &kv->val;
        }
    }
    return NULL;
}

/* An empty value becomes an empty array on its first element. */
td_value *
td_value_array_add(td_batch *b, td_value *arr)
{
    void *items;
    td_value *v;

    if (arr->type == TD_VAL_EMPTY) {
        memset(arr, 0, sizeof(*arr));
        arr->type = TD_VAL_ARRAY;
    }
    if (arr->type != TD_VAL_ARRAY) {
        return NULL;
    }
    items = arr->u.arr.items;
    v = td_batch_grow(b, &items, &arr->u.arr.n, &arr->u.arr.cap,
                      sizeof(*v));
    if (v == NULL) {
        return NULL;
    }
    arr->u.arr.items = items;
    return v;
}

/*
 * Spans keep no capacity for events and links, so their capacity is
 * implied: the count rounded up to a power of two (at least
 * TD_TELEMETRY_MIN_CAP). td_batch_clone allocates them the same way.
 */
static uint32_t
td_span_implied_cap(uint32_t n)
{
    uint32_t cap = TD_TELEMETRY_MIN_CAP;

    while (cap < n && cap <= UINT32_MAX / 2) {
        cap *= 2;
    }
    return n == 0 ? 0 : cap;
}

td_span_event *
td_span_add_event(td_batch *b, td_span *s)
{
    void *items = s->events;
    uint32_t cap = td_span_implied_cap(s->n_events);
    td_span_event *ev;

    ev = td_batch_grow(b, &items, &s->n_events, &cap, sizeof(*ev));
    if (ev != NULL) {
        s->events = items;
    }
    return ev;
}

td_span_link *
td_span_add_link(td_batch *b, td_span *s)
{
    void *items = s->links;
    uint32_t cap = td_span_implied_cap(s->n_links);
    td_span_link *ln;

    ln = td_batch_grow(b, &items, &s->n_links, &cap, sizeof(*ln));
    if (ln != NULL) {
        s->links = items;
    }
    return ln;
}

bool
td_id_is_zero(const uint8_t *id, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (id[i] != 0) {
            return false;
        }
    }
    return true;
}

/* ---- deep copy ---- */

/*
 * The clone helpers copy into b's arena and return 0 or TD_ENOMEM. A
 * copied structure starts as a byte copy of the original; the helpers
 * then replace every pointer in it by a pointer to a fresh copy.
 */

static int
td_clone_str(td_batch *b, td_str *s)
{
    if (s->ptr == NULL) {
        return TD_OK;
    }
    *s = td_batch_str(b, s->ptr, s->len);
    return s->ptr != NULL ? TD_OK : TD_ENOMEM;
}

/* Copies n elements of size bytes, with room for cap. */
static void *
td_clone_array(td_batch *b, const void *src, uint32_t n, uint32_t cap,
               size_t size)
{
    void *p;

    if (src == NULL || n == 0) {
        return NULL;
    }
    p = td_arena_alloc(b->arena, (size_t) (cap > n ? cap : n) * size);
    if (p != NULL) {
        memcpy(p, src, (size_t) n * size);
    }
    return p;
}

static int td_clone_attrs(td_batch *b, td_attrs *attrs);

/* Array and map values nest; depth is whatever the producer built. */
static int
td_clone_value(td_batch *b, td_value *v)
{
    switch (v->type) {
    case TD_VAL_STR:
    case TD_VAL_BYTES:
        return td_clone_str(b, &v->u.s);
    case TD_VAL_ARRAY:
        if (v->u.arr.n == 0) {
            v->u.arr.items = NULL;
            v->u.arr.cap = 0;
            return TD_OK;
        }
        v->u.arr.items = td_clone_array(b, v->u.arr.items, v->u.arr.n,
                                        v->u.arr.n, sizeof(td_value));
        if (v->u.arr.items == NULL) {
            return TD_ENOMEM;
        }
        v->u.arr.cap = v->u.arr.n;
        for (uint32_t i = 0; i < v->u.arr.n; i++) {
            if (td_clone_value(b, &v->u.arr.items[i]) != TD_OK) {
                return TD_ENOMEM;
            }
        }
        return TD_OK;
    case TD_VAL_MAP:
        return td_clone_attrs(b, &v->u.map);
    default:
        return TD_OK;
    }
}

static int
td_clone_attrs(td_batch *b, td_attrs *attrs)
{
    if (attrs->n == 0) {
        attrs->items = NULL;
        attrs->cap = 0;
        return TD_OK;
    }
    attrs->items = td_clone_array(b, attrs->items, attrs->n, attrs->n,
                                  sizeof(td_kv));
    if (attrs->items == NULL) {
        return TD_ENOMEM;
    }
    attrs->cap = attrs->n;
    for (uint32_t i = 0; i < attrs->n; i++) {
        td_kv *kv = &attrs->items[i];

        if (td_clone_str(b, &kv->key) != TD_OK
            || td_clone_value(b, &kv->val) != TD_OK) {
            return TD_ENOMEM;
        }
    }
    return TD_OK;
}

/*
 * Copies a plain array of n elements into b, or yields NULL for none;
 * TD_CLONE_PLAIN returns TD_ENOMEM from the calling function when the
 * copy failed.
 */
#define TD_CLONE_PLAIN(b, field, n)                                      \
    do {                                                                 \
        (field) = td_clone_array((b), (field), (n), (n), sizeof(*(field))); \
        if ((field) == NULL && (n) > 0) {                                \
            return TD_ENOMEM;                                            \
        }                                                                \
    } while (0)

static int
td_clone_exemplars(td_batch *b, td_exemplar **ex, uint32_t n)
{
    TD_CLONE_PLAIN(b, *ex, n);
    for (uint32_t i = 0; i < n; i++) {
        if (td_clone_attrs(b, &(*ex)[i].filtered_attrs) != TD_OK) {
            return TD_ENOMEM;
        }
    }
    return TD_OK;
}

static int
td_clone_resource(td_batch *b, td_resource *r)
{
    if (td_clone_attrs(b, &r->attrs) != TD_OK
        || td_clone_str(b, &r->schema_url) != TD_OK) {
        return TD_ENOMEM;
    }
    return TD_OK;
}

static int
td_clone_scope(td_batch *b, td_scope *s)
{
    if (td_clone_str(b, &s->name) != TD_OK
        || td_clone_str(b, &s->version) != TD_OK
        || td_clone_attrs(b, &s->attrs) != TD_OK
        || td_clone_str(b, &s->schema_url) != TD_OK) {
        return TD_ENOMEM;
    }
    return TD_OK;
}

static int
td_clone_logs(td_batch *b, td_scope_group *dsg, const td_scope_group *ssg)
{
    for (const td_log_record *sr = ssg->head.logs; sr; sr = sr->next) {
        td_log_record *r = td_batch_add_log(b, dsg);

        if (r == NULL) {
            return TD_ENOMEM;
        }
        *r = *sr;
        r->next = NULL;
        if (td_clone_str(b, &r->severity_text) != TD_OK
            || td_clone_value(b, &r->body) != TD_OK
            || td_clone_attrs(b, &r->attrs) != TD_OK
            || td_clone_str(b, &r->event_name) != TD_OK) {
            return TD_ENOMEM;
        }
    }
    return TD_OK;
}

static int
td_clone_span(td_batch *b, td_span *s)
{
    uint32_t cap;

    if (td_clone_str(b, &s->trace_state) != TD_OK
        || td_clone_str(b, &s->name) != TD_OK
        || td_clone_attrs(b, &s->attrs) != TD_OK
        || td_clone_str(b, &s->status_message) != TD_OK) {
        return TD_ENOMEM;
    }

    /* Events and links keep their implied capacity, see above. */
    cap = td_span_implied_cap(s->n_events);
    s->events = td_clone_array(b, s->events, s->n_events, cap,
                               sizeof(*s->events));
    if (s->events == NULL && s->n_events > 0) {
        return TD_ENOMEM;
    }
    for (uint32_t i = 0; i < s->n_events; i++) {
        if (td_clone_str(b, &s->events[i].name) != TD_OK
            || td_clone_attrs(b, &s->events[i].attrs) != TD_OK) {
            return TD_ENOMEM;
        }
    }

    cap = td_span_implied_cap(s->n_links);
    s->links = td_clone_array(b, s->links, s->n_links, cap,
                              sizeof(*s->links));
    if (s->links == NULL && s->n_links > 0) {
        return TD_ENOMEM;
    }
    for (uint32_t i = 0; i < s->n_links; i++) {
        if (td_clone_str(b, &s->links[i].trace_state) != TD_OK
            || td_clone_attrs(b, &s->links[i].attrs) != TD_OK) {
            return TD_ENOMEM;
        }
    }
    return TD_OK;
}

static int
td_clone_spans(td_batch *b, td_scope_group *dsg, const td_scope_group *ssg)
{
    for (const td_span *ss = ssg->head.spans; ss; ss = ss->next) {
        td_span *s = td_batch_add_span(b, dsg);

        if (s == NULL) {
            return TD_ENOMEM;
        }
        *s = *ss;
        s->next = NULL;
        if (td_clone_span(b, s) != TD_OK) {
            return TD_ENOMEM;
        }
    }
    return TD_OK;
}

static int
td_clone_number_points(td_batch *b, td_number_point *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (td_clone_attrs(b, &p[i].attrs) != TD_OK
            || td_clone_exemplars(b, &p[i].exemplars, p[i].n_exemplars)
                   != TD_OK) {
            return TD_ENOMEM;
        }
    }
    return TD_OK;
}

static int
td_clone_hist_points(td_batch *b, td_hist_point *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        TD_CLONE_PLAIN(b, p[i].bucket_counts, p[i].n_buckets);
        TD_CLONE_PLAIN(b, p[i].bounds, p[i].n_bounds);
        if (td_clone_attrs(b, &p[i].attrs) != TD_OK
            || td_clone_exemplars(b, &p[i].exemplars, p[i].n_exemplars)
                   != TD_OK) {
            return TD_ENOMEM;
        }
    }
    return TD_OK;
}

static int
td_clone_exphist_points(td_batch *b, td_exphist_point *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        TD_CLONE_PLAIN(b, p[i].positive.counts, p[i].positive.n);
        TD_CLONE_PLAIN(b, p[i].negative.counts, p[i].negative.n);
        if (td_clone_attrs(b, &p[i].attrs) != TD_OK
            || td_clone_exemplars(b, &p[i].exemplars, p[i].n_exemplars)
                   != TD_OK) {
            return TD_ENOMEM;
        }
    }
    return TD_OK;
}

static int
td_clone_summary_points(td_batch *b, td_summary_point *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        TD_CLONE_PLAIN(b, p[i].quantiles, p[i].n_quantiles);
        if (td_clone_attrs(b, &p[i].attrs) != TD_OK) {
            return TD_ENOMEM;
        }
    }
    return TD_OK;
}

/* Copies the points of m (already a byte copy of the source metric). */
static int
td_clone_points(td_batch *b, td_metric *m)
{
    static const size_t sizes[] = {
        [TD_METRIC_GAUGE] = sizeof(td_number_point),
        [TD_METRIC_SUM] = sizeof(td_number_point),
        [TD_METRIC_HISTOGRAM] = sizeof(td_hist_point),
        [TD_METRIC_EXP_HISTOGRAM] = sizeof(td_exphist_point),
        [TD_METRIC_SUMMARY] = sizeof(td_summary_point),
    };

    if (m->type <= TD_METRIC_EMPTY || m->type > TD_METRIC_SUMMARY
        || m->n_points == 0 || m->points.number == NULL) {
        m->points.number = NULL;
        m->n_points = m->cap_points = 0;
        return TD_OK;
    }
    m->points.number = td_clone_array(b, m->points.number, m->n_points,
                                      m->n_points, sizes[m->type]);
    if (m->points.number == NULL) {
        return TD_ENOMEM;
    }
    m->cap_points = m->n_points;
    b->items += m->n_points;

    switch (m->type) {
    case TD_METRIC_GAUGE:
    case TD_METRIC_SUM:
        return td_clone_number_points(b, m->points.number, m->n_points);
    case TD_METRIC_HISTOGRAM:
        return td_clone_hist_points(b, m->points.hist, m->n_points);
    case TD_METRIC_EXP_HISTOGRAM:
        return td_clone_exphist_points(b, m->points.exphist, m->n_points);
    default:
        return td_clone_summary_points(b, m->points.summary, m->n_points);
    }
}

static int
td_clone_metrics(td_batch *b, td_scope_group *dsg,
                 const td_scope_group *ssg)
{
    for (const td_metric *sm = ssg->head.metrics; sm; sm = sm->next) {
        td_metric *m = td_batch_add_metric(b, dsg, sm->type);

        if (m == NULL) {
            return TD_ENOMEM;
        }
        *m = *sm;
        m->next = NULL;
        if (td_clone_str(b, &m->name) != TD_OK
            || td_clone_str(b, &m->description) != TD_OK
            || td_clone_str(b, &m->unit) != TD_OK
            || td_clone_attrs(b, &m->metadata) != TD_OK
            || td_clone_points(b, m) != TD_OK) {
            return TD_ENOMEM;
        }
    }
    return TD_OK;
}

static int
td_clone_scope_group(td_batch *b, td_resource_group *rg,
                     const td_scope_group *ssg)
{
    td_scope_group *sg = td_batch_add_scope(b, rg);

    if (sg == NULL) {
        return TD_ENOMEM;
    }
    sg->scope = ssg->scope;
    if (td_clone_scope(b, &sg->scope) != TD_OK) {
        return TD_ENOMEM;
    }
    switch (b->signal) {
    case TD_SIGNAL_LOGS:
        return td_clone_logs(b, sg, ssg);
    case TD_SIGNAL_TRACES:
        return td_clone_spans(b, sg, ssg);
    default:
        return td_clone_metrics(b, sg, ssg);
    }
}

/* Bytes handed out in every arena of a batch: what a copy will need. */
static size_t
td_batch_used(const td_batch *b)
{
    size_t used = td_arena_used(b->arena);

    for (uint32_t i = 0; i < b->n_adopted; i++) {
        used += td_arena_used(b->adopted[i]);
    }
    return used;
}

td_batch *
td_batch_clone(const td_batch *src)
{
    td_batch *b = td_batch_new(src->signal, td_batch_used(src));

    if (b == NULL) {
        return NULL;
    }
    for (const td_resource_group *srg = src->resources; srg;
         srg = srg->next) {
        td_resource_group *rg = td_batch_add_resource(b);

        if (rg == NULL) {
            goto fail;
        }
        rg->resource = srg->resource;
        if (td_clone_resource(b, &rg->resource) != TD_OK) {
            goto fail;
        }
        for (const td_scope_group *ssg = srg->scopes; ssg;
             ssg = ssg->next) {
            if (td_clone_scope_group(b, rg, ssg) != TD_OK) {
                goto fail;
            }
        }
    }
    return b;

fail:
    td_batch_unref(b);
    return NULL;
}
