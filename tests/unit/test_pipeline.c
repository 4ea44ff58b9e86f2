/*
 * test_pipeline.c - the fan-out from a receiver to its pipelines: every
 * pipeline sees the same batch (one shared, reference-counted object, no
 * copy), a refusal keeps only the refusing pipelines pending so that a
 * retry reaches no pipeline twice, and a permanent failure is reported
 * without being retried.
 */
#include <stdatomic.h>

#include "pipeline.h"
#include "telemetry.h"
#include "tt.h"

#define REC_MAX 16

/* A consumer that records what it saw and answers with a script. */
typedef struct rec {
    td_consumer c;
    int answers[REC_MAX];       /* returned call by call; then TD_OK */
    int n_answers;
    td_batch *seen[REC_MAX];    /* batches taken (referenced) */
    int calls, taken;
} rec;

static int
rec_consume(td_consumer *c, td_batch *b)
{
    rec *r = c->arg;
    int rc = r->calls < r->n_answers ? r->answers[r->calls] : TD_OK;

    r->calls++;
    if (rc == TD_OK && r->taken < REC_MAX) {
        td_batch_ref(b);
        r->seen[r->taken++] = b;
    }
    return rc;
}

static void
rec_init(rec *r)
{
    memset(r, 0, sizeof(*r));
    r->c.consume = rec_consume;
    r->c.arg = r;
}

static void
rec_free(rec *r)
{
    for (int i = 0; i < r->taken; i++) {
        td_batch_unref(r->seen[i]);
    }
}

static td_batch *
one_record_batch(void)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_resource_group *rg = b != NULL ? td_batch_add_resource(b) : NULL;
    td_scope_group *sg = rg != NULL ? td_batch_add_scope(b, rg) : NULL;

    TT_CHECK(sg != NULL && td_batch_add_log(b, sg) != NULL);
    return b;
}

static void
test_all_take_the_same_batch(void)
{
    td_fanout *f = td_fanout_new();
    rec r[3];
    td_batch *b = one_record_batch();
    uint32_t pending;

    for (int i = 0; i < 3; i++) {
        rec_init(&r[i]);
        TT_CHECK_INT(td_fanout_add(f, &r[i].c), TD_OK);
    }
    pending = td_fanout_all(f);
    TT_CHECK_INT(pending, 7);
    TT_CHECK_INT(td_fanout_consume(f, b, &pending), TD_OK);
    TT_CHECK_INT(pending, 0);
    for (int i = 0; i < 3; i++) {
        TT_CHECK_INT(r[i].taken, 1);
        TT_CHECK(r[i].seen[0] == b);    /* shared, not copied */
    }
    /* The caller's reference plus one per pipeline. */
    TT_CHECK_INT(atomic_load(&b->refs), 4);
    td_batch_unref(b);
    for (int i = 0; i < 3; i++) {
        rec_free(&r[i]);
    }
    td_fanout_free(f);
}

static void
test_refusal_retries_only_the_refusing(void)
{
    td_fanout *f = td_fanout_new();
    rec r[3];
    td_batch *b = one_record_batch();
    uint32_t pending;

    for (int i = 0; i < 3; i++) {
        rec_init(&r[i]);
        TT_CHECK_INT(td_fanout_add(f, &r[i].c), TD_OK);
    }
    /* The middle pipeline refuses twice, then takes the batch. */
    r[1].answers[0] = TD_AGAIN;
    r[1].answers[1] = TD_AGAIN;
    r[1].n_answers = 2;

    pending = td_fanout_all(f);
    TT_CHECK_INT(td_fanout_consume(f, b, &pending), TD_AGAIN);
    TT_CHECK_INT(pending, 2);
    TT_CHECK_INT(td_fanout_consume(f, b, &pending), TD_AGAIN);
    TT_CHECK_INT(pending, 2);
    TT_CHECK_INT(td_fanout_consume(f, b, &pending), TD_OK);
    TT_CHECK_INT(pending, 0);

    TT_CHECK_INT(r[0].calls, 1);
    TT_CHECK_INT(r[1].calls, 3);
    TT_CHECK_INT(r[2].calls, 1);
    for (int i = 0; i < 3; i++) {
        TT_CHECK_INT(r[i].taken, 1);
    }
    td_batch_unref(b);
    for (int i = 0; i < 3; i++) {
        rec_free(&r[i]);
    }
    td_fanout_free(f);
}

static void
test_permanent_failure_is_not_retried(void)
{
    td_fanout *f = td_fanout_new();
    rec r[2];
    td_batch *b = one_record_batch();
    uint32_t pending;

    rec_init(&r[0]);
    rec_init(&r[1]);
    r[0].answers[0] = TD_EPERM;
    r[0].n_answers = 1;
    r[1].answers[0] = TD_AGAIN;
    r[1].n_answers = 1;
    td_fanout_add(f, &r[0].c);
    td_fanout_add(f, &r[1].c);

    /* A refusal elsewhere wins: the caller must come back for r[1]. */
    pending = td_fanout_all(f);
    TT_CHECK_INT(td_fanout_consume(f, b, &pending), TD_AGAIN);
    TT_CHECK_INT(pending, 2);
    /* Then the permanent failure is what is left to report. */
    TT_CHECK_INT(td_fanout_consume(f, b, &pending), TD_OK);
    TT_CHECK_INT(pending, 0);
    TT_CHECK_INT(r[0].calls, 1);
    TT_CHECK_INT(r[0].taken, 0);
    TT_CHECK_INT(r[1].taken, 1);

    /* Alone, the permanent failure comes back as its code. */
    r[0].calls = 0;
    pending = 1;
    TT_CHECK_INT(td_fanout_consume(f, b, &pending), TD_EPERM);
    TT_CHECK_INT(pending, 0);

    td_batch_unref(b);
    rec_free(&r[0]);
    rec_free(&r[1]);
    td_fanout_free(f);
}

static void
test_fanout_limit(void)
{
    td_fanout *f = td_fanout_new();
    rec r;

    rec_init(&r);
    for (int i = 0; i < TD_FANOUT_MAX; i++) {
        TT_CHECK_INT(td_fanout_add(f, &r.c), TD_OK);
    }
    TT_CHECK_INT(td_fanout_all(f), UINT32_MAX);
    TT_CHECK_INT(td_fanout_add(f, &r.c), TD_EINVAL);
    td_fanout_free(f);
}

static const tt_case cases[] = {
    {"all_take_the_same_batch", test_all_take_the_same_batch},
    {"refusal_retries_only_the_refusing",
     test_refusal_retries_only_the_refusing},
    {"permanent_failure_is_not_retried",
     test_permanent_failure_is_not_retried},
    {"fanout_limit", test_fanout_limit},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
