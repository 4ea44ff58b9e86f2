/*
 * exporter.h - the exporter helper: the sending queue, its consumer
 * threads and retry with backoff that every exporter gets, with the
 * OpenTelemetry Collector's keys (sending_queue, retry_on_failure,
 * timeout).
 *
 * The config loader parses these keys from every exporter's block into a
 * td_exporter_settings (td_exporter_keys below) next to the exporter's
 * own config struct.
 */
#ifndef TD_EXPORTER_H
#define TD_EXPORTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "component.h"
#include "selfmetrics.h"

typedef struct td_exporter_settings {
    int64_t timeout_ms;             /* timeout: per export attempt */
    bool queue_enabled;             /* sending_queue.enabled */
    int64_t num_consumers;          /* sending_queue.num_consumers */
    int64_t queue_size;             /* sending_queue.queue_size, batches */
    bool retry_enabled;             /* retry_on_failure.enabled */
    int64_t initial_interval_ms;
    int64_t max_interval_ms;
    int64_t max_elapsed_ms;         /* 0 = retry until shutdown */
    double multiplier;
    double randomization_factor;
} td_exporter_settings;

/* The helper's keys, merged into every exporter's table. */
extern const td_cfg_key td_exporter_keys[];

typedef struct td_exporter td_exporter;

/*
 * Wraps a created exporter instance. The helper owns nothing of self
 * until td_exporter_destroy(), which calls desc->destroy(self).
 * Registers the exporter's own metrics. NULL on ENOMEM.
 */
td_exporter *td_exporter_new(const char *id, const td_component_desc *desc,
                             void *self, const td_exporter_settings *set);

/* Starts the component, then the consumer threads. 0 or a code. */
int td_exporter_start(td_exporter *x, char *err, size_t errlen);

/*
 * A delivery ticket: how a pipeline learns that every exporter it gave a
 * batch to is done with it (sent, or given up on and counted as
 * dropped). The pipeline makes one per committed batch with one
 * reference per exporter; each exporter calls td_flight_done() once when
 * it finishes with its copy, and the last call takes the batch's items
 * off the pipeline's in-flight gauge and frees the ticket.
 */
typedef struct td_flight {
    atomic_int refs;
    int64_t items;
    td_gauge *in_flight;            /* may be NULL */
} td_flight;

/*
 * A ticket for items counted on in_flight, with refs references. NULL
 * on ENOMEM (the caller then commits without one). Any thread.
 */
td_flight *td_flight_new(td_gauge *in_flight, int64_t items, int refs);

/* Drops one reference; NULL is ignored. Any thread. */
void td_flight_done(td_flight *f);

/*
 * Two-phase enqueue, so a pipeline can give one batch to all its
 * exporters or to none. reserve takes a slot (TD_AGAIN when full or when
 * the exporter is shutting down); commit fills a reserved slot with a
 * new reference to b and takes over one reference of the ticket f (NULL
 * for none), which it drops once the batch is sent or dropped; release
 * gives a reserved slot back. Any thread.
 */
int td_exporter_reserve(td_exporter *x);
void td_exporter_commit(td_exporter *x, td_batch *b, td_flight *f);
void td_exporter_release(td_exporter *x);

/*
 * Stops taking batches, lets the consumers drain the queue (retrying
 * as configured) until deadline, then drops and counts what is left,
 * joins the threads and calls the component's shutdown. Main thread.
 */
void td_exporter_shutdown(td_exporter *x, int64_t deadline);

void td_exporter_destroy(td_exporter *x);

/* Batches waiting in the queue (own metrics, tests). */
int64_t td_exporter_queue_len(const td_exporter *x);

#endif
