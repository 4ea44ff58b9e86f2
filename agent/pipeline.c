/*
 * pipeline.c - fan-out from receivers to pipelines, and the last step of
 * a pipeline that hands a batch to all of its exporters or to none.
 */
#include <stdlib.h>

#include "pipeline.h"
#include "td.h"

struct td_fanout {
    td_consumer *c[TD_FANOUT_MAX];
    uint32_t takes;             /* bits of consumers that take batches */
    size_t n;
};

td_fanout *
td_fanout_new(void)
{
    return calloc(1, sizeof(td_fanout));
}

int
td_fanout_add(td_fanout *f, td_consumer *c, bool takes_batch)
{
    if (f->n == TD_FANOUT_MAX) {
        return TD_EINVAL;
    }
    if (takes_batch) {
        f->takes |= 1u << f->n;
    }
    f->c[f->n++] = c;
    return TD_OK;
}

/*
 * Offers b to consumer i. A consumer that may empty its batch gets a
 * copy while another pipeline still needs b; without memory for the
 * copy it is refused for now and retried with the others.
 */
static int
td_fanout_offer(td_fanout *f, size_t i, td_batch *b, uint32_t pending)
{
    uint32_t bit = 1u << i;
    td_batch *copy;
    int rc;

    if ((f->takes & bit) == 0 || (pending & ~bit) == 0) {
        return td_consumer_consume(f->c[i], b);
    }
    copy = td_batch_clone(b);
    if (copy == NULL) {
        return TD_AGAIN;
    }
    rc = td_consumer_consume(f->c[i], copy);
    td_batch_unref(copy);
    return rc;
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
        rc = td_fanout_offer(f, i, b, *pending);
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
