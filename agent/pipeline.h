/*
 * pipeline.h - how batches move from receivers through processors to
 * exporters.
 *
 * A receiver sees one td_fanout per signal: the set of pipelines of that
 * signal that list it. Handing a batch over may be refused by some
 * pipelines (a memory limit, a full sending queue); the fan-out reports
 * which ones still need the batch, so the receiver retries only those and
 * no pipeline gets a batch twice.
 *
 * Inside a pipeline each processor sees the next step as a td_consumer.
 * The last step hands the batch to every exporter of the pipeline at once:
 * it first reserves a slot in each exporter's queue and only when all
 * succeed does it enqueue the (shared, reference counted) batch; if one
 * queue is full nothing is enqueued and TD_AGAIN goes back upstream.
 *
 * Ownership: the caller of a consume function keeps its reference; a step
 * that keeps the batch takes its own.
 */
#ifndef TD_PIPELINE_H
#define TD_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "component.h"
#include "telemetry.h"

struct td_consumer {
    int (*consume)(td_consumer *c, td_batch *b);
    void *arg;
};

static inline int
td_consumer_consume(td_consumer *c, td_batch *b)
{
    return c->consume(c, b);
}

/* At most this many pipelines may take from one receiver per signal. */
#define TD_FANOUT_MAX 32

/* Bit mask of every pipeline of a fan-out: the initial "pending" set. */
uint32_t td_fanout_all(const td_fanout *f);

/*
 * Hands b to every pipeline whose bit is set in *pending and clears the
 * bits of those that took it. Returns 0 when none is left pending,
 * TD_AGAIN when some refused (call again later with the same mask), or
 * a negative code for a permanent failure (bits of those pipelines are
 * cleared and the loss is counted by the pipeline). Any thread.
 *
 * A pipeline that takes batches may empty b: once this returns 0 the
 * caller must not read b again (count its items before the call).
 */
int td_fanout_consume(td_fanout *f, td_batch *b, uint32_t *pending);

/*
 * Building a fan-out by hand (the service does it from the config; tests
 * use it with recording consumers). td_fanout_add keeps the consumer
 * pointer, which must outlive the fan-out. takes_batch says that the
 * consumer may move the records out of the batches it is given (a
 * pipeline with a processor whose descriptor sets takes_batch): such a
 * consumer gets the caller's batch only when no other pipeline still
 * needs it, else its own copy. NULL / TD_ENOMEM / TD_EINVAL (more than
 * TD_FANOUT_MAX). Main thread, before any consume.
 */
td_fanout *td_fanout_new(void);
int td_fanout_add(td_fanout *f, td_consumer *c, bool takes_batch);
void td_fanout_free(td_fanout *f);

#endif
