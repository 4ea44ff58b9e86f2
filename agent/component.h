/*
 * component.h - what a receiver, processor or exporter is to the core.
 *
 * Every component type is one static td_component_desc: its type name,
 * the signals it supports, a declarative table of config keys and a small
 * table of callbacks. The core sees only the descriptor and a void *
 * instance. The key table drives config parsing and validation, the
 * defaults, and `tandem components`.
 *
 * Lifecycle, all called from the main thread unless said otherwise:
 *   validate (offline) -> create -> start -> ... -> shutdown -> destroy.
 */
#ifndef TD_COMPONENT_H
#define TD_COMPONENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "telemetry.h"
#include "td.h"

typedef enum td_kind {
    TD_KIND_RECEIVER = 0,
    TD_KIND_PROCESSOR,
    TD_KIND_EXPORTER,
    TD_KIND_EXTENSION,
    TD_KIND_COUNT
} td_kind;

/* "receiver", "processor", "exporter", "extension". */
const char *td_kind_name(td_kind kind);

/* ---- config key tables ---- */

typedef enum td_cfg_type {
    TD_CFG_STR = 0,     /* char *, malloc'd; NULL when unset, no default */
    TD_CFG_BOOL,        /* bool */
    TD_CFG_INT,         /* int64_t within [min, max] */
    TD_CFG_DOUBLE,      /* double within [min, max] when max > min */
    TD_CFG_DURATION,    /* int64_t milliseconds within [min, max] */
    TD_CFG_ENUM,        /* int: index in choices (NULL-terminated) */
    TD_CFG_STRLIST,     /* td_cfg_strlist */
    TD_CFG_STRMAP,      /* td_cfg_strmap: a map of scalar values */
    TD_CFG_SECTION      /* a nested map whose keys are in sub */
} td_cfg_type;

#define TD_CFG_REQUIRED 0x1u    /* must be set by the user */

typedef struct td_cfg_strlist {
    char **items;       /* malloc'd strings */
    size_t n;
} td_cfg_strlist;

typedef struct td_cfg_strmap {
    char **keys;        /* malloc'd, in the order written */
    char **vals;        /* malloc'd scalars as written (after ${} expansion) */
    size_t n;
} td_cfg_strmap;

typedef struct td_cfg_key td_cfg_key;

/*
 * One key. offset is from the start of the component's config struct,
 * also for keys inside sections (sections only group keys in YAML; their
 * values live in the same flat struct). def is the default as YAML text
 * ("200ms", "true", "0.0.0.0:5000") or NULL for none; it is parsed by the
 * same code as user input. Tables end with an entry whose name is NULL.
 */
struct td_cfg_key {
    const char *name;
    td_cfg_type type;
    const char *def;
    size_t offset;
    const char *desc;           /* one line, for `tandem components` */
    int64_t min, max;           /* INT and DURATION; DOUBLE if max > min */
    const char *const *choices; /* ENUM */
    const td_cfg_key *sub;      /* SECTION */
    unsigned flags;
};

/*
 * Cross-key validation reports through a td_cfg_diag, which knows where
 * each key of the component's block was written. key is a dotted path
 * relative to the block ("sending_queue.queue_size") or NULL for the
 * block itself; when the key was not written, the block's position is
 * used. Messages are one sentence saying what is wrong and what is
 * allowed.
 */
typedef struct td_cfg_diag td_cfg_diag;

void td_cfg_error(td_cfg_diag *d, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void td_cfg_warn(td_cfg_diag *d, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when the user wrote key (dotted path) in the block. */
bool td_cfg_is_set(const td_cfg_diag *d, const char *key);

/* Sets every key of a table to its default (or zero). For tests, too. */
int td_cfg_defaults(const td_cfg_key *keys, void *cfg, char *err,
                    size_t errlen);

/* Frees what a config struct owns (strings, lists, maps), not cfg. */
void td_cfg_free_values(const td_cfg_key *keys, void *cfg);

/* ---- instances ---- */

typedef struct td_fanout td_fanout;
typedef struct td_consumer td_consumer;

typedef struct td_component_ctx {
    const char *id;             /* "tcplog" or "tcplog/edge" */
    td_kind kind;
    /*
     * Receivers: where each signal's output goes (NULL for a signal that
     * no pipeline takes from this receiver). See pipeline.h.
     */
    td_fanout *out[TD_SIGNAL_COUNT];
    /* Processors: the next step of the pipeline, and its signal. */
    td_consumer *next;
    td_signal signal;
    const char *pipeline;       /* processors: the pipeline's id */
    /*
     * Processors: the pipeline's items-in-flight gauge. A processor that
     * drops items (a shutdown deadline, a permanent rejection) takes
     * them off it, since no exporter ever will. May be NULL.
     */
    struct td_gauge *in_flight;
} td_component_ctx;

typedef struct td_component_desc {
    const char *type;           /* "tcplog" */
    td_kind kind;
    unsigned signals;           /* TD_SIGNAL_BIT()s it supports */
    const char *summary;        /* one line */
    size_t cfg_size;
    const td_cfg_key *keys;

    /* Checks across keys after parsing; offline. 0 or TD_EINVAL. */
    int (*validate)(void *cfg, td_cfg_diag *d);

    /*
     * Makes an instance; opens nothing yet. cfg stays valid until
     * destroy. 0, or a negative code with a message in err.
     */
    int (*create)(const td_component_ctx *ctx, const void *cfg,
                  void **self, char *err, size_t errlen);

    /* Opens sockets and starts threads. 0, or a code and a message. */
    int (*start)(void *self, char *err, size_t errlen);

    /*
     * Processors: takes a batch. The caller keeps its reference; take
     * your own with td_batch_ref() to keep the batch. TD_AGAIN refuses
     * (nothing kept, the caller retries later). Any thread. Once a
     * batch went downstream and was taken (0), do not read it again: a
     * later processor with takes_batch may have emptied it.
     */
    int (*consume)(void *self, td_batch *b);

    /*
     * Processors: true when consume may move the records out of the
     * batch it is given (td_batch_append(mine, b)) when it returns 0.
     * The service then hands such a pipeline a batch that nobody reads
     * afterwards: the receiver's own when this pipeline is the last to
     * need it, else a copy (td_batch_clone). A processor that only reads
     * or forwards leaves it false, and batches stay shared.
     */
    bool takes_batch;

    /*
     * Exporters: delivers one batch before deadline (td_mono_ms() clock),
     * called by the exporter helper's consumer threads, several at once
     * when num_consumers > 1. 0 sent; TD_AGAIN retryable; TD_EPERM
     * rejected for good (message in err).
     */
    int (*export)(void *self, td_batch *b, int64_t deadline,
                  char *err, size_t errlen);

    /*
     * Receivers: stop accepting, hand what they hold to the pipelines,
     * retrying refusals until deadline, and join their threads.
     * Processors: send what they hold downstream before deadline.
     * Exporters: called after their queue is drained; close files.
     */
    void (*shutdown)(void *self, int64_t deadline);

    /* Frees the instance. NULL self is never passed. */
    void (*destroy)(void *self);
} td_component_desc;

#endif
