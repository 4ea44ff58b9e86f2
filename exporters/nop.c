/*
 * nop.c - the exporter that accepts every batch and does nothing with it,
 * for benchmarks and for pipelines that only feed tandem's own metrics.
 */
#include "component.h"

static const td_cfg_key nop_keys[] = {
    {.name = NULL}
};

/*
 * The exporter has no keys, but the config loader allocates cfg_size
 * bytes for every component, so the struct is not empty.
 */
typedef struct nop_cfg {
    char unused;
} nop_cfg;

/* Instances carry no state; a static byte gives a non-NULL self. */
static char nop_instance;

static int
nop_create(const td_component_ctx *ctx, const void *cfg, void **self,
           char *err, size_t errlen)
{
    (void) ctx;
    (void) cfg;
    (void) err;
    (void) errlen;
    *self = &nop_instance;
    return TD_OK;
}

static int
nop_start(void *self, char *err, size_t errlen)
{
    (void) self;
    (void) err;
    (void) errlen;
    return TD_OK;
}

static int
nop_export(void *self, td_batch *b, int64_t deadline, char *err,
           size_t errlen)
{
    (void) self;
    (void) b;
    (void) deadline;
    (void) err;
    (void) errlen;
    return TD_OK;
}

static void
nop_shutdown(void *self, int64_t deadline)
{
    (void) self;
    (void) deadline;
}

static void
nop_destroy(void *self)
{
    (void) self;
}

const td_component_desc td_nop_exporter = {
    .type = "nop",
    .kind = TD_KIND_EXPORTER,
    .signals = TD_SIGNALS_ALL,
    .summary = "accepts every batch and drops it (benchmarks, testing)",
    .cfg_size = sizeof(nop_cfg),
    .keys = nop_keys,
    .create = nop_create,
    .start = nop_start,
    .export = nop_export,
    .shutdown = nop_shutdown,
    .destroy = nop_destroy,
};
