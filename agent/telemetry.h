/*
 * telemetry.h - logs, metrics and traces in memory, in the OTLP shape.
 *
 * A batch holds one signal as resource -> scope -> records, the way the
 * OTLP protos nest them (opentelemetry/proto/{logs,metrics,trace}/v1).
 * All memory of a batch (strings, attributes, records) lives in arenas the
 * batch references; td_batch_unref() on the last reference frees it all.
 * Strings are (ptr, len) pairs and need not be NUL-terminated; they are
 * valid UTF-8 where OTLP requires it (producers make them so).
 *
 * Lists that grow one at a time (resources, scopes, log records, spans,
 * metrics) are singly linked with a tail pointer so that appending never
 * copies. Attribute lists, data points, events and links are arrays.
 *
 * Ownership and threads: a batch is built by one thread. Once handed to a
 * consumer it is read-only and may be shared by several consumers (fan-out)
 * through td_batch_ref()/td_batch_unref(), which any thread may call. A
 * consumer that wants to change a batch whose refcount is above one must
 * work on its own copy.
 */
#ifndef TD_TELEMETRY_H
#define TD_TELEMETRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "td.h"

typedef struct td_str {
    const char *ptr;
    size_t len;
} td_str;

#define TD_STR_NULL ((td_str){NULL, 0})
#define TD_STR_LIT(s) ((td_str){(s), sizeof(s) - 1})

/* AnyValue (opentelemetry/proto/common/v1/common.proto). */
typedef enum td_value_type {
    TD_VAL_EMPTY = 0,
    TD_VAL_STR,
    TD_VAL_BOOL,
    TD_VAL_INT,
    TD_VAL_DOUBLE,
    TD_VAL_BYTES,
    TD_VAL_ARRAY,
    TD_VAL_MAP
} td_value_type;

typedef struct td_value td_value;
typedef struct td_kv td_kv;

/* A list of key/value pairs: attributes or a kvlist value. */
typedef struct td_attrs {
    td_kv *items;
    uint32_t n;
    uint32_t cap;
} td_attrs;

struct td_value {
    td_value_type type;
    union {
        td_str s;       /* TD_VAL_STR and TD_VAL_BYTES (raw bytes) */
        bool b;
        int64_t i;
        double d;
        struct {
            td_value *items;
            uint32_t n;
            uint32_t cap;
        } arr;
        td_attrs map;
    } u;
};

struct td_kv {
    td_str key;
    td_value val;
};

typedef struct td_resource {
    td_attrs attrs;
    uint32_t dropped_attributes_count;
    td_str schema_url;  /* ResourceLogs/Spans/Metrics.schema_url */
} td_resource;

typedef struct td_scope {
    td_str name;
    td_str version;
    td_attrs attrs;
    uint32_t dropped_attributes_count;
    td_str schema_url;  /* ScopeLogs/Spans/Metrics.schema_url */
} td_scope;

/* ---- logs (opentelemetry/proto/logs/v1/logs.proto) ---- */

typedef struct td_log_record {
    uint64_t time_unix_nano;
    uint64_t observed_time_unix_nano;
    int32_t severity_number;        /* SeverityNumber, 0 = unspecified */
    td_str severity_text;
    td_value body;
    td_attrs attrs;
    uint32_t dropped_attributes_count;
    uint32_t flags;
    uint8_t trace_id[16];           /* all zero = absent */
    uint8_t span_id[8];             /* all zero = absent */
    td_str event_name;
    struct td_log_record *next;
} td_log_record;

/* ---- traces (opentelemetry/proto/trace/v1/trace.proto) ---- */

typedef enum td_span_kind {
    TD_SPAN_KIND_UNSPECIFIED = 0,
    TD_SPAN_KIND_INTERNAL = 1,
    TD_SPAN_KIND_SERVER = 2,
    TD_SPAN_KIND_CLIENT = 3,
    TD_SPAN_KIND_PRODUCER = 4,
    TD_SPAN_KIND_CONSUMER = 5
} td_span_kind;

typedef enum td_status_code {
    TD_STATUS_UNSET = 0,
    TD_STATUS_OK = 1,
    TD_STATUS_ERROR = 2
} td_status_code;

typedef struct td_span_event {
    uint64_t time_unix_nano;
    td_str name;
    td_attrs attrs;
    uint32_t dropped_attributes_count;
} td_span_event;

typedef struct td_span_link {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    td_str trace_state;
    td_attrs attrs;
    uint32_t dropped_attributes_count;
    uint32_t flags;
} td_span_link;

typedef struct td_span {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    td_str trace_state;
    uint8_t parent_span_id[8];      /* all zero = root span */
    uint32_t flags;
    td_str name;
    td_span_kind kind;
    uint64_t start_time_unix_nano;
    uint64_t end_time_unix_nano;
    td_attrs attrs;
    uint32_t dropped_attributes_count;
    td_span_event *events;
    uint32_t n_events;
    uint32_t dropped_events_count;
    td_span_link *links;
    uint32_t n_links;
    uint32_t dropped_links_count;
    td_str status_message;
    td_status_code status_code;
    struct td_span *next;
} td_span;

/* ---- metrics (opentelemetry/proto/metrics/v1/metrics.proto) ---- */

typedef enum td_metric_type {
    TD_METRIC_EMPTY = 0,
    TD_METRIC_GAUGE,
    TD_METRIC_SUM,
    TD_METRIC_HISTOGRAM,
    TD_METRIC_EXP_HISTOGRAM,
    TD_METRIC_SUMMARY
} td_metric_type;

typedef enum td_temporality {
    TD_TEMPORALITY_UNSPECIFIED = 0,
    TD_TEMPORALITY_DELTA = 1,
    TD_TEMPORALITY_CUMULATIVE = 2
} td_temporality;

/* DataPointFlags: FLAG_NO_RECORDED_VALUE. */
#define TD_POINT_FLAG_NO_RECORDED_VALUE 1u

typedef struct td_exemplar {
    td_attrs filtered_attrs;
    uint64_t time_unix_nano;
    bool is_int;
    union {
        double d;
        int64_t i;
    } v;
    uint8_t span_id[8];
    uint8_t trace_id[16];
} td_exemplar;

/* NumberDataPoint, for gauges and sums. */
typedef struct td_number_point {
    td_attrs attrs;
    uint64_t start_time_unix_nano;
    uint64_t time_unix_nano;
    bool is_int;
    union {
        double d;
        int64_t i;
    } v;
    td_exemplar *exemplars;
    uint32_t n_exemplars;
    uint32_t flags;
} td_number_point;

/* HistogramDataPoint: n_buckets == n_bounds + 1 when buckets are set. */
typedef struct td_hist_point {
    td_attrs attrs;
    uint64_t start_time_unix_nano;
    uint64_t time_unix_nano;
    uint64_t count;
    bool has_sum, has_min, has_max;
    double sum, min, max;
    uint64_t *bucket_counts;
    uint32_t n_buckets;
    double *bounds;
    uint32_t n_bounds;
    td_exemplar *exemplars;
    uint32_t n_exemplars;
    uint32_t flags;
} td_hist_point;

typedef struct td_exp_buckets {
    int32_t offset;
    uint64_t *counts;
    uint32_t n;
} td_exp_buckets;

/* ExponentialHistogramDataPoint. */
typedef struct td_exphist_point {
    td_attrs attrs;
    uint64_t start_time_unix_nano;
    uint64_t time_unix_nano;
    uint64_t count;
    bool has_sum, has_min, has_max;
    double sum, min, max;
    int32_t scale;
    uint64_t zero_count;
    double zero_threshold;
    td_exp_buckets positive;
    td_exp_buckets negative;
    td_exemplar *exemplars;
    uint32_t n_exemplars;
    uint32_t flags;
} td_exphist_point;

typedef struct td_quantile {
    double quantile;
    double value;
} td_quantile;

/* SummaryDataPoint. */
typedef struct td_summary_point {
    td_attrs attrs;
    uint64_t start_time_unix_nano;
    uint64_t time_unix_nano;
    uint64_t count;
    double sum;
    td_quantile *quantiles;
    uint32_t n_quantiles;
    uint32_t flags;
} td_summary_point;

typedef struct td_metric {
    td_str name;
    td_str description;
    td_str unit;
    td_attrs metadata;
    td_metric_type type;
    td_temporality temporality;     /* sums, histograms, exp histograms */
    bool monotonic;                 /* sums only */
    union {
        td_number_point *number;    /* gauge, sum */
        td_hist_point *hist;
        td_exphist_point *exphist;
        td_summary_point *summary;
    } points;
    uint32_t n_points;
    uint32_t cap_points;
    struct td_metric *next;
} td_metric;

/* ---- grouping ---- */

/* One scope and its records; which list is used depends on the signal. */
typedef struct td_scope_group {
    td_scope scope;
    union {
        td_log_record *logs;
        td_span *spans;
        td_metric *metrics;
        void *any;
    } head;
    void *tail;
    uint32_t n_records;             /* records, spans or metrics */
    struct td_scope_group *next;
} td_scope_group;

typedef struct td_resource_group {
    td_resource resource;
    td_scope_group *scopes;
    td_scope_group *scopes_tail;
    struct td_resource_group *next;
} td_resource_group;

#define TD_BATCH_MAX_ARENAS 8

typedef struct td_batch {
    td_signal signal;
    atomic_int refs;
    td_arena *arena;                /* where new memory of this batch goes */
    td_arena **adopted;             /* arenas of merged batches, or NULL */
    uint32_t n_adopted;
    uint32_t cap_adopted;
    td_resource_group *resources;
    td_resource_group *resources_tail;
    size_t items;                   /* spans, data points or log records */
    size_t charged;                 /* bytes charged to the memory budget */
} td_batch;

/*
 * Creates an empty batch of a signal with its own arena, first block of
 * at least hint bytes (0 = default). NULL when out of memory. The caller
 * holds one reference.
 */
td_batch *td_batch_new(td_signal signal, size_t hint);

void td_batch_ref(td_batch *b);

/* Drops a reference; the last frees every arena the batch holds. */
void td_batch_unref(td_batch *b);

/* Items in O(1): spans, metric data points or log records. */
static inline size_t
td_batch_items(const td_batch *b)
{
    return b->items;
}

/* Bytes of memory the batch holds, O(1) (arena blocks). */
size_t td_batch_bytes(const td_batch *b);

/*
 * Makes dst keep src's arenas alive and moves src's resource groups to
 * the end of dst, without copying records. src is left empty (its items
 * move too) but must still be unreferenced by its owner. Both batches
 * must be of the same signal and dst must have a single reference.
 * Returns 0 or TD_ENOMEM.
 */
int td_batch_append(td_batch *dst, td_batch *src);

/*
 * Moving records between batches (the batch processor's regrouping).
 *
 * td_batch_move_items() moves the first n items of src (log records,
 * spans or metric data points, counted as td_batch_items() counts them)
 * to the end of dst, in order, without copying a record: records are
 * relinked and dst keeps alive every arena src holds. Where the cut
 * falls inside a resource group or a scope group, that group appears in
 * both batches: dst gets a shallow copy of its descriptor (resource or
 * scope attributes, schema url, name, version), pointing into the same
 * arenas. Where it falls inside a metric's data points, dst gets a copy
 * of the metric (name, description, unit, type, temporality, monotonic)
 * with the first points and src's metric keeps the rest; both sides
 * then have exactly as much capacity as points, so adding points to
 * either one later copies the array instead of writing over the other's
 * points. Groups with no items just before the cut move with the items
 * before them.
 *
 * With n >= td_batch_items(src) everything moves, as td_batch_append()
 * does, and src is left empty, holding only its own arena. An arena
 * that reaches dst twice (parts of one batch moved into it one after
 * another are caught, others may not be) is held twice, and counted
 * twice by td_batch_bytes(): the lookup is kept short so that moving
 * thousands of small batches into one stays linear. With a
 * smaller n both batches keep every arena src held, so td_batch_bytes()
 * of each counts the shared blocks: it says how much memory a batch
 * keeps alive, and the sum over two halves of one split counts the
 * shared blocks twice. n == 0 moves nothing but leading empty groups.
 *
 * The caller owns both batches (one reference each, nobody else reading
 * them). Both must be of the same signal. Returns 0, TD_EINVAL (same
 * batch, other signal) or TD_ENOMEM; on failure neither batch changed.
 * Every allocation is made before anything is moved.
 */
int td_batch_move_items(td_batch *dst, td_batch *src, size_t n);

/*
 * Moves the first n_groups resource groups of src, whole and in order,
 * to the end of dst, with their items, as td_batch_move_items() moves
 * items (records relinked, every arena of src kept alive by both).
 * n_groups at or beyond src's groups moves everything. Unlike a move by
 * items, a group without items goes exactly where it is counted. Same
 * ownership and return codes as td_batch_move_items().
 */
int td_batch_move_resources(td_batch *dst, td_batch *src, size_t n_groups);

/*
 * Makes room in dst for every arena src holds, so that a later
 * td_batch_move_resources(dst, src, n), or a td_batch_move_items() whose
 * cut falls between two resource groups (or at the end of src), needs
 * no memory and cannot fail. For a caller that must move several runs
 * of one batch all or nothing. 0 or TD_ENOMEM.
 */
int td_batch_reserve_move(td_batch *dst, const td_batch *src);

/*
 * Moves the first max_items items of src into a new batch, as
 * td_batch_move_items() does, and returns it (one reference, the
 * caller's). max_items >= td_batch_items(src) moves everything and
 * leaves src empty; max_items == 0 gives a batch with no items. NULL
 * only when out of memory, and src is unchanged then. Any thread that
 * owns src.
 */
td_batch *td_batch_split(td_batch *src, size_t max_items);

/*
 * Items of one resource group: the log records or spans of its scopes,
 * or the data points of their metrics. O(scopes), or O(metrics) for a
 * metrics batch.
 */
size_t td_resource_group_items(td_signal signal,
                               const td_resource_group *rg);

/* Appends a resource group (zeroed) and returns it; NULL on ENOMEM. */
td_resource_group *td_batch_add_resource(td_batch *b);

/* Appends a scope group (zeroed) to a resource group; NULL on ENOMEM. */
td_scope_group *td_batch_add_scope(td_batch *b, td_resource_group *rg);

/* Appends a zeroed log record to a scope of a logs batch; counts it. */
td_log_record *td_batch_add_log(td_batch *b, td_scope_group *sg);

/* Appends a zeroed span to a scope of a traces batch; counts it. */
td_span *td_batch_add_span(td_batch *b, td_scope_group *sg);

/*
 * Appends a metric of a type (points not yet allocated) to a scope of a
 * metrics batch. Points are added with td_metric_add_*_point(), which
 * count them as items.
 */
td_metric *td_batch_add_metric(td_batch *b, td_scope_group *sg,
                               td_metric_type type);

td_number_point *td_metric_add_number_point(td_batch *b, td_metric *m);
td_hist_point *td_metric_add_hist_point(td_batch *b, td_metric *m);
td_exphist_point *td_metric_add_exphist_point(td_batch *b, td_metric *m);
td_summary_point *td_metric_add_summary_point(td_batch *b, td_metric *m);

/* Copies len bytes into the batch; returns TD_STR_NULL on ENOMEM. */
td_str td_batch_str(td_batch *b, const char *s, size_t len);

/*
 * Makes room for n more pairs in one allocation, so that a list whose
 * size is known ahead is not grown (and copied) step by step. 0 or
 * TD_ENOMEM. The caller owns the batch being built.
 */
int td_attrs_reserve(td_batch *b, td_attrs *attrs, uint32_t n);

/*
 * Appends a key/value to an attribute list, growing it in the batch's
 * arena; the key is copied. Returns the new pair's value (set it) or NULL
 * on ENOMEM. The td_attrs_put_* helpers set the value too (copying
 * strings).
 */
td_value *td_attrs_add(td_batch *b, td_attrs *attrs, const char *key,
                       size_t key_len);
int td_attrs_put_str(td_batch *b, td_attrs *attrs, const char *key,
                     const char *val, size_t val_len);
int td_attrs_put_int(td_batch *b, td_attrs *attrs, const char *key,
                     int64_t val);
int td_attrs_put_double(td_batch *b, td_attrs *attrs, const char *key,
                        double val);
int td_attrs_put_bool(td_batch *b, td_attrs *attrs, const char *key,
                      bool val);

/* Finds a key (len bytes) in a list; NULL if absent. */
const td_value *td_attrs_get(const td_attrs *attrs, const char *key,
                             size_t key_len);

/* Appends an element to an array value; NULL on ENOMEM. */
td_value *td_value_array_add(td_batch *b, td_value *arr);

/* Events and links of a span, grown in the arena. NULL on ENOMEM. */
td_span_event *td_span_add_event(td_batch *b, td_span *s);
td_span_link *td_span_add_link(td_batch *b, td_span *s);

/*
 * Deep-copies every record of src into a new batch with its own arena
 * (for a consumer that must modify a shared batch). NULL on ENOMEM.
 */
td_batch *td_batch_clone(const td_batch *src);

/* True when a trace or span id is all zero (absent). */
bool td_id_is_zero(const uint8_t *id, size_t len);

#endif
