/*
 * pipeline.c - fan-out from receivers to pipelines, and the last step of
 * a pipeline that hands a batch to all of its exporters or to none.
 */
#include <stdlib.h>

#include "pipeline.h"
#include "td.h"

struct td_fanout {
    td_consumer *c[TD_FANOUT_MAX];
    size_t n;
};

td_fanout *
td_fanout_new(void)
{
    return calloc(1, sizeof(td_fanout));
}

int
td_fanout_add(td_fanout *f, td_consumer *c)
{
    if (f->n == TD_FANOUT_MAX) {
        return TD_EINVAL;
    }
    f->c[f->n++] = c;
    return TD_OK;
}

void
td_fanout_free(td_fanout *f)
{
    free(f);
}

uint32_t
td_fanout_all(const td_fanout *f)
{
    return f->n == 32 ? UINT32_MAX : (1u << f->n) - 1;
}

int
td_fanout_consume(td_fanout *f, td_batch *b, uint32_t *pending)
{
    int again = 0, failed = 0;

    for (size_t i = 0; i < f->n; i++) {
        uint32_t bit = 1u << i;
        int rc;

        if ((*pending & bit) == 0) {
            continue;
        }
        rc = td_consumer_consume(f->c[i], b);
        if (rc == TD_AGAIN) {
            again = 1;
            continue;
        }
        *pending &= ~bit;
        if (rc != TD_OK) {
            failed = rc;
        }
    }
    if (again) {
        return TD_AGAIN;
    }
    return failed;
}
