/*
 * service.c - builds, starts and drains the pipelines of a config.
 *
 * Wiring, for one pipeline P of signal S:
 *
 *   receiver --out[S] fan-out--> P.entry --> proc 1 --> ... --> P.exporters
 *
 * P.entry counts items in flight and calls P.head: the first processor's
 * consumer, or P.exporters when there is none. P.exporters reserves a
 * queue slot in every exporter of P, and commits the batch to all of them
 * only when every reservation held, so an exporter with a full queue
 * pushes back on the receiver instead of the batch reaching some
 * exporters and not others.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "exporter.h"
#include "log.h"
#include "pipeline.h"
#include "selfmetrics.h"
#include "service.h"

typedef struct td_svc_proc {
    const td_component_desc *desc;
    void *self;
    td_component_ctx ctx;
    td_consumer in;             /* what the step before calls */
} td_svc_proc;

typedef struct td_svc_pipeline {
    const td_cfg_pipeline *cfg;
    td_svc_proc *procs;
    size_t n_procs;
    td_exporter **exps;
    size_t n_exps;
    td_consumer to_exporters;
    td_consumer *head;          /* the first step after entry */
    td_consumer entry;          /* what the receivers' fan-outs call */
    td_counter *refused;        /* batches refused by a full exporter */
    td_gauge *in_flight;        /* items taken, not yet done everywhere */
    bool takes_batch;           /* a processor may empty its batches */
} td_svc_pipeline;

typedef struct td_svc_receiver {
    const td_cfg_component *comp;
    void *self;
    td_component_ctx ctx;
    int started;
} td_svc_receiver;

typedef struct td_svc_exporter {
    const td_cfg_component *comp;
    td_exporter *x;
    int started;
} td_svc_exporter;

struct td_service {
    const td_config *cfg;
    td_svc_pipeline *pipes;
    size_t n_pipes;
    td_svc_receiver *rcvs;
    size_t n_rcvs;
    td_svc_exporter *exps;
    size_t n_exps;
};

static int
td_service_to_exporters(td_consumer *c, td_batch *b)
{
    td_svc_pipeline *p = c->arg;
    td_flight *f;
    int64_t items;
    size_t i;

    for (i = 0; i < p->n_exps; i++) {
        if (td_exporter_reserve(p->exps[i]) != TD_OK) {
            break;
        }
    }
    if (i < p->n_exps) {
        while (i-- > 0) {
            td_exporter_release(p->exps[i]);
        }
        td_counter_add(p->refused, 1);
        return TD_AGAIN;
    }

    /*
     * Without memory for a ticket the items leave the in-flight gauge
     * now rather than never; the batch itself is still delivered.
     */
    items = (int64_t) td_batch_items(b);
    f = td_flight_new(p->in_flight, items, (int) p->n_exps);
    if (f == NULL) {
        td_gauge_add(p->in_flight, -items);
    }
    for (i = 0; i < p->n_exps; i++) {
        td_exporter_commit(p->exps[i], b, f);
    }
    return TD_OK;
}

/*
 * The pipeline's entry: counts the batch as in flight before the first
 * step sees it (so an exporter that finishes at once cannot take the
 * gauge below zero), and takes it off again when the step refuses.
 */
static int
td_service_entry(td_consumer *c, td_batch *b)
{
    td_svc_pipeline *p = c->arg;
    int64_t items = (int64_t) td_batch_items(b);
    int rc;

    td_gauge_add(p->in_flight, items);
    rc = td_consumer_consume(p->head, b);
    if (rc != TD_OK) {
        td_gauge_add(p->in_flight, -items);
    }
    return rc;
}

static int
td_service_proc_consume(td_consumer *c, td_batch *b)
{
    td_svc_proc *pr = c->arg;

    return pr->desc->consume(pr->self, b);
}

static td_exporter *
td_service_find_exporter(td_service *svc, const td_cfg_component *comp)
{
    for (size_t i = 0; i < svc->n_exps; i++) {
        if (svc->exps[i].comp == comp) {
            return svc->exps[i].x;
        }
    }
    return NULL;
}

static int
td_service_build_exporters(td_service *svc, char *err, size_t errlen)
{
    const td_config *cfg = svc->cfg;
    size_t n = cfg->n_comps[TD_KIND_EXPORTER];

    svc->exps = calloc(n ? n : 1, sizeof(*svc->exps));
    if (svc->exps == NULL) {
        return TD_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const td_cfg_component *comp = &cfg->comps[TD_KIND_EXPORTER][i];
        td_component_ctx ctx = {.id = comp->id, .kind = TD_KIND_EXPORTER};
        td_svc_exporter *se;
        void *self = NULL;
        int rc;

        if (!comp->used) {
            continue;
        }
        rc = comp->desc->create(&ctx, comp->cfg, &self, err, errlen);
        if (rc != TD_OK) {
            return rc;
        }
        se = &svc->exps[svc->n_exps++];
        se->comp = comp;
        se->x = td_exporter_new(comp->id, comp->desc, self, &comp->xset);
        if (se->x == NULL) {
            comp->desc->destroy(self);
            svc->n_exps--;
            snprintf(err, errlen, "out of memory");
            return TD_ENOMEM;
        }
    }
    return TD_OK;
}

/* Processors are created last to first: each needs its successor. */
static int
td_service_build_pipeline(td_service *svc, td_svc_pipeline *p,
                          const td_cfg_pipeline *pc, char *err,
                          size_t errlen)
{
    char labels[256];
    td_consumer *next;

    p->cfg = pc;
    p->exps = calloc(pc->n_exporters, sizeof(*p->exps));
    p->procs = calloc(pc->n_processors ? pc->n_processors : 1,
                      sizeof(*p->procs));
    if (p->exps == NULL || p->procs == NULL) {
        return TD_ENOMEM;
    }
    for (size_t i = 0; i < pc->n_exporters; i++) {
        p->exps[p->n_exps++] = td_service_find_exporter(svc,
                                                        pc->exporters[i]);
    }
    p->to_exporters.consume = td_service_to_exporters;
    p->to_exporters.arg = p;
    if (td_self_labels(labels, sizeof(labels), "pipeline", pc->id, NULL)
        == TD_OK) {
        p->refused = td_self_counter(
            "tandem_pipeline_refused_batches_total",
            "Batches a pipeline refused because an exporter queue was full.",
            labels);
        p->in_flight = td_self_gauge(
            "tandem_pipeline_items_in_flight",
            "Items a pipeline took that not every exporter has finished "
            "with (sent or dropped).",
            labels);
    }

    next = &p->to_exporters;
    for (size_t i = pc->n_processors; i-- > 0;) {
        const td_cfg_component *comp = pc->processors[i];
        td_svc_proc *pr = &p->procs[i];
        int rc;

        pr->desc = comp->desc;
        pr->ctx.id = comp->id;
        pr->ctx.kind = TD_KIND_PROCESSOR;
        pr->ctx.next = next;
        pr->ctx.signal = pc->signal;
        pr->ctx.pipeline = pc->id;
        pr->ctx.in_flight = p->in_flight;
        rc = comp->desc->create(&pr->ctx, comp->cfg, &pr->self, err,
                                errlen);
        if (rc != TD_OK) {
            pr->self = NULL;
            return rc;
        }
        pr->in.consume = td_service_proc_consume;
        pr->in.arg = pr;
        next = &pr->in;
        p->takes_batch |= comp->desc->takes_batch;
    }
    p->head = next;
    p->entry.consume = td_service_entry;
    p->entry.arg = p;
    p->n_procs = pc->n_processors;
    return TD_OK;
}

static int
td_service_build_receivers(td_service *svc, char *err, size_t errlen)
{
    const td_config *cfg = svc->cfg;
    size_t n = cfg->n_comps[TD_KIND_RECEIVER];

    svc->rcvs = calloc(n ? n : 1, sizeof(*svc->rcvs));
    if (svc->rcvs == NULL) {
        return TD_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const td_cfg_component *comp = &cfg->comps[TD_KIND_RECEIVER][i];
        td_svc_receiver *r;
        int rc;

        if (!comp->used) {
            continue;
        }
        r = &svc->rcvs[svc->n_rcvs++];
        r->comp = comp;
        r->ctx.id = comp->id;
        r->ctx.kind = TD_KIND_RECEIVER;
        for (size_t j = 0; j < svc->n_pipes; j++) {
            td_svc_pipeline *p = &svc->pipes[j];
            td_signal sig = p->cfg->signal;

            for (size_t k = 0; k < p->cfg->n_receivers; k++) {
                if (p->cfg->receivers[k] != comp) {
                    continue;
                }
                if (r->ctx.out[sig] == NULL
                    && (r->ctx.out[sig] = td_fanout_new()) == NULL) {
                    return TD_ENOMEM;
                }
                if (td_fanout_add(r->ctx.out[sig], &p->entry,
                                  p->takes_batch) != TD_OK) {
                    snprintf(err, errlen, "receiver \"%s\" feeds more than "
                             "%d pipelines of one signal", comp->id,
                             TD_FANOUT_MAX);
                    return TD_EINVAL;
                }
            }
        }
        rc = comp->desc->create(&r->ctx, comp->cfg, &r->self, err, errlen);
        if (rc != TD_OK) {
            r->self = NULL;
            return rc;
        }
    }
    return TD_OK;
}

int
td_service_build(const td_config *cfg, td_service **out, char *err,
                 size_t errlen)
{
    td_service *svc = calloc(1, sizeof(*svc));
    int rc;

    *out = NULL;
    if (svc == NULL) {
        return TD_ENOMEM;
    }
    svc->cfg = cfg;
    err[0] = '\0';

    /* The budget's gauges show with or without a memory_limiter. */
    rc = td_budget_metrics();
    if (rc == TD_OK) {
        rc = td_service_build_exporters(svc, err, errlen);
    }
    if (rc == TD_OK) {
        svc->pipes = calloc(cfg->n_pipelines ? cfg->n_pipelines : 1,
                            sizeof(*svc->pipes));
        rc = svc->pipes == NULL ? TD_ENOMEM : TD_OK;
    }
    for (size_t i = 0; rc == TD_OK && i < cfg->n_pipelines; i++) {
        rc = td_service_build_pipeline(svc, &svc->pipes[i],
                                       &cfg->pipelines[i], err, errlen);
        svc->n_pipes = i + 1;
    }
    if (rc == TD_OK) {
        rc = td_service_build_receivers(svc, err, errlen);
    }
    if (rc != TD_OK) {
        if (err[0] == '\0') {
            snprintf(err, errlen, "out of memory");
        }
        td_service_free(svc);
        return rc;
    }
    *out = svc;
    return TD_OK;
}

int
td_service_start(td_service *svc, char *err, size_t errlen)
{
    char msg[512];
    int rc;

    for (size_t i = 0; i < svc->n_exps; i++) {
        rc = td_exporter_start(svc->exps[i].x, msg, sizeof(msg));
        if (rc != TD_OK) {
            snprintf(err, errlen, "exporter \"%s\": %s",
                     svc->exps[i].comp->id, msg);
            return rc;
        }
        svc->exps[i].started = 1;
    }
    for (size_t i = 0; i < svc->n_pipes; i++) {
        td_svc_pipeline *p = &svc->pipes[i];

        for (size_t j = p->n_procs; j-- > 0;) {
            td_svc_proc *pr = &p->procs[j];

            if (pr->desc->start == NULL) {
                continue;
            }
            rc = pr->desc->start(pr->self, msg, sizeof(msg));
            if (rc != TD_OK) {
                snprintf(err, errlen, "processor \"%s\" in pipeline "
                         "\"%s\": %s", pr->ctx.id, p->cfg->id, msg);
                return rc;
            }
        }
    }
    for (size_t i = 0; i < svc->n_rcvs; i++) {
        td_svc_receiver *r = &svc->rcvs[i];

        rc = r->comp->desc->start(r->self, msg, sizeof(msg));
        if (rc != TD_OK) {
            snprintf(err, errlen, "receiver \"%s\": %s", r->comp->id, msg);
            return rc;
        }
        r->started = 1;
    }
    return TD_OK;
}

void
td_service_shutdown(td_service *svc)
{
    int64_t deadline = td_mono_ms() + svc->cfg->shutdown_timeout_ms;

    td_log(TD_LOG_INFO, "service", NULL, 0,
           "shutting down: draining pipelines within %lld ms",
           (long long) svc->cfg->shutdown_timeout_ms);

    for (size_t i = 0; i < svc->n_rcvs; i++) {
        td_svc_receiver *r = &svc->rcvs[i];

        if (r->started && r->comp->desc->shutdown != NULL) {
            r->comp->desc->shutdown(r->self, deadline);
        }
        r->started = 0;
    }
    for (size_t i = 0; i < svc->n_pipes; i++) {
        td_svc_pipeline *p = &svc->pipes[i];

        for (size_t j = 0; j < p->n_procs; j++) {
            if (p->procs[j].desc->shutdown != NULL) {
                p->procs[j].desc->shutdown(p->procs[j].self, deadline);
            }
        }
    }
    for (size_t i = 0; i < svc->n_exps; i++) {
        if (svc->exps[i].started) {
            td_exporter_shutdown(svc->exps[i].x, deadline);
        }
        svc->exps[i].started = 0;
    }
    td_log(TD_LOG_INFO, "service", NULL, 0, "shutdown complete");
}

void
td_service_free(td_service *svc)
{
    if (svc == NULL) {
        return;
    }
    for (size_t i = 0; i < svc->n_rcvs; i++) {
        td_svc_receiver *r = &svc->rcvs[i];

        if (r->self != NULL) {
            r->comp->desc->destroy(r->self);
        }
        for (int s = 0; s < TD_SIGNAL_COUNT; s++) {
            td_fanout_free(r->ctx.out[s]);
        }
    }
    for (size_t i = 0; i < svc->n_pipes; i++) {
        td_svc_pipeline *p = &svc->pipes[i];

        for (size_t j = 0; p->cfg != NULL && j < p->cfg->n_processors;
             j++) {
            if (p->procs[j].self != NULL) {
                p->procs[j].desc->destroy(p->procs[j].self);
            }
        }
        free(p->procs);
        free(p->exps);
    }
    for (size_t i = 0; i < svc->n_exps; i++) {
        td_exporter_destroy(svc->exps[i].x);
    }
    free(svc->rcvs);
    free(svc->pipes);
    free(svc->exps);
    free(svc);
}
