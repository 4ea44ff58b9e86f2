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
        TT_CHECK_INT(td_fanout_add(f, &r[i].c, false), TD_OK);
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
        TT_CHECK_INT(td_fanout_add(f, &r[i].c, false), TD_OK);
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
    td_fanout_add(f, &r[0].c, false);
    td_fanout_add(f, &r[1].c, false);

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

/*
 * A consumer that takes batches empties what it is given, as the batch
 * processor does. It must get a copy while another pipeline still needs
 * the batch, and the caller's batch only as the last one to need it.
 */
typedef struct taker {
    td_consumer c;
    td_batch *mine;             /* where the records go */
    td_batch *given[REC_MAX];   /* what consume saw (not referenced) */
    int calls;
    int refuse_first;
} taker;

static int
taker_consume(td_consumer *c, td_batch *b)
{
    taker *t = c->arg;

    if (t->calls < REC_MAX) {
        t->given[t->calls] = b;
    }
    if (t->calls++ < t->refuse_first) {
        return TD_AGAIN;
    }
    TT_CHECK_INT(td_batch_append(t->mine, b), TD_OK);
    return TD_OK;
}

static void
test_takers_get_their_own(void)
{
    td_fanout *f = td_fanout_new();
    taker t0 = {0}, t2 = {0};
    td_batch *b = one_record_batch();
    uint32_t pending;
    rec r1;

    t0.c = (td_consumer) {taker_consume, &t0};
    t2.c = (td_consumer) {taker_consume, &t2};
    t0.mine = td_batch_new(TD_SIGNAL_LOGS, 0);
    t2.mine = td_batch_new(TD_SIGNAL_LOGS, 0);
    rec_init(&r1);
    r1.answers[0] = TD_AGAIN;
    r1.n_answers = 1;
    TT_CHECK_INT(td_fanout_add(f, &t0.c, true), TD_OK);
    TT_CHECK_INT(td_fanout_add(f, &r1.c, false), TD_OK);
    TT_CHECK_INT(td_fanout_add(f, &t2.c, true), TD_OK);

    /*
     * r1 refuses, so both takers empty copies: b must stay whole for
     * r1's retry.
     */
    pending = td_fanout_all(f);
    TT_CHECK_INT(td_fanout_consume(f, b, &pending), TD_AGAIN);
    TT_CHECK_INT(pending, 2);
    TT_CHECK(t0.given[0] != b && t2.given[0] != b);
    TT_CHECK_INT(td_batch_items(t0.mine), 1);
    TT_CHECK_INT(td_batch_items(t2.mine), 1);
    TT_CHECK_INT(td_batch_items(b), 1);
    TT_CHECK_INT(td_fanout_consume(f, b, &pending), TD_OK);
    TT_CHECK(r1.seen[0] == b);
    TT_CHECK_INT(td_batch_items(b), 1);
    rec_free(&r1);

    /* A taker that is the last to need b gets b itself, no copy. */
    pending = td_fanout_all(f);
    r1.calls = r1.taken = r1.n_answers = 0;
    TT_CHECK_INT(td_fanout_consume(f, b, &pending), TD_OK);
    TT_CHECK(t0.given[1] != b);
    TT_CHECK(t2.given[1] == b);
    TT_CHECK_INT(td_batch_items(b), 0);
    TT_CHECK_INT(td_batch_items(t2.mine), 2);

    td_batch_unref(b);
    rec_free(&r1);
    td_batch_unref(t0.mine);
    td_batch_unref(t2.mine);
    td_fanout_free(f);
}

static void
test_fanout_limit(void)
{
    td_fanout *f = td_fanout_new();
    rec r;

    rec_init(&r);
    for (int i = 0; i < TD_FANOUT_MAX; i++) {
        TT_CHECK_INT(td_fanout_add(f, &r.c, false), TD_OK);
    }
    TT_CHECK_INT(td_fanout_all(f), UINT32_MAX);
    TT_CHECK_INT(td_fanout_add(f, &r.c, false), TD_EINVAL);
    td_fanout_free(f);
}

static const tt_case cases[] = {
    {"all_take_the_same_batch", test_all_take_the_same_batch},
    {"refusal_retries_only_the_refusing",
     test_refusal_retries_only_the_refusing},
    {"permanent_failure_is_not_retried",
     test_permanent_failure_is_not_retried},
    {"takers_get_their_own", test_takers_get_their_own},
    {"fanout_limit", test_fanout_limit},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
