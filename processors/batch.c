/*
 * batch.c - the batch processor, with the OpenTelemetry Collector's keys
 * (timeout, send_batch_size, send_batch_max_size, metadata_keys,
 * metadata_cardinality_limit) and its semantics: send_batch_size items
 * trigger a send, timeout after the oldest pending item sends what is
 * pending, and send_batch_max_size bounds every batch sent, splitting
 * larger ones (td_batch_split's relinking, no record is copied).
 *
 * What is pending is kept per shard (one per combination of the values
 * of metadata_keys in a resource, or a single one) as a queue of parts,
 * one part per batch taken in, each remembering when it arrived. A part
 * owns the records of one incoming batch (moved out of it, since the
 * descriptor sets takes_batch) and the arenas they live in, so memory
 * is given back as soon as the items of a batch have all been sent: a
 * single pending batch that every send split would keep every arena it
 * ever merged alive for as long as something stays pending. A chunk to
 * send is built from the oldest parts; one that straddles the chunk's
 * end is split.
 *
 * Back-pressure: the next step may refuse a chunk (TD_AGAIN: an
 * exporter queue is full). The chunk then goes back to the front of its
 * shard, nothing is lost or sent twice, and the timer thread retries
 * after 5 ms, doubling to 100 ms. While a shard holds at least
 * max(send_batch_size, send_batch_max_size) items and cannot send them
 * (a retry is pending, or another thread is sending), new input for it
 * is refused with TD_AGAIN, so the refusal reaches the receiver (tcplog
 * then stops reading the socket). A shard thus holds at most that bound
 * plus one incoming batch.
 *
 * Threads and locking: consume runs on any receiver thread, several at
 * once; one timer thread per instance sends on timeouts and retries.
 * One mutex guards every shard and the sending state. At most one
 * thread sends at a time (sending), and it calls the next step with the
 * mutex released: the next step may take long (an exporter without a
 * sending queue exports in the caller's thread), and no lock of this
 * processor is held while another component runs, so no lock order
 * between components can form. One sender at a time also keeps chunks
 * in order and lets a refused chunk go back to the front. A consume
 * that fills a shard while nobody sends becomes the sender for that
 * shard, for at most the items pending when it started, so that one
 * receiver thread does not send for all the others forever; the timer
 * thread, woken when a sender ends, sends whatever is still ready.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "component.h"
#include "log.h"
#include "otlp_json.h"
#include "pipeline.h"
#include "selfmetrics.h"
#include "td.h"

#define BATCH_BACKOFF_MIN   5       /* ms before the first retry */
#define BATCH_BACKOFF_MAX   100
#define BATCH_WARN_MS       10000   /* a repeated warning at most this often */
#define BATCH_PART_HINT     256     /* arena of a part: its struct, arenas */
#define BATCH_CHUNK_HINT    1024
#define BATCH_RING_MIN      16
#define BATCH_BUCKETS_MIN   64

typedef struct batch_cfg {
    int64_t timeout_ms;
    int64_t send_batch_size;
    int64_t send_batch_max_size;
    td_cfg_strlist metadata_keys;
    int64_t metadata_cardinality_limit;
} batch_cfg;

typedef enum batch_trigger {
    BATCH_TRIGGER_SIZE = 0,
    BATCH_TRIGGER_TIMEOUT,
    BATCH_TRIGGER_SHUTDOWN,
    BATCH_TRIGGERS
} batch_trigger;

static const char *const batch_trigger_names[BATCH_TRIGGERS] = {
    "size", "timeout", "shutdown"
};

/* Records taken in and not yet sent, and when the oldest arrived. */
typedef struct batch_part {
    td_batch *b;
    int64_t since;                  /* td_mono_ms() */
} batch_part;

/*
 * The pending items of one combination of metadata values. The parts
 * are a ring, oldest at head; outside a send it always has a free slot,
 * so that a refused chunk can go back to the front without allocating.
 */
typedef struct batch_shard {
    char *key;                      /* the values as JSON; "" for none */
    size_t key_len;
    uint64_t hash;
    batch_part *ring;
    size_t cap, head, len;
    size_t items;
    size_t incoming;                /* parts a consume is about to add */
    struct batch_shard *next;       /* every shard, oldest first */
    struct batch_shard *chain;      /* same hash bucket */
} batch_shard;

typedef struct batch {
    char *id;
    const batch_cfg *cfg;
    td_consumer *next;
    td_signal signal;
    size_t size;                    /* send_batch_size: the trigger */
    size_t max;                     /* send_batch_max_size, 0 = none */
    size_t bound;                   /* refuse at this many, when stuck */
    int64_t timeout;

    pthread_mutex_t lock;
    pthread_cond_t wake;            /* timer and shutdown wait on it */
    batch_shard *shards, *shards_tail;
    batch_shard **buckets;          /* with metadata_keys only */
    size_t n_buckets;
    size_t n_shards;
    size_t pending;                 /* items in every shard */
    bool sending;                   /* a thread is calling the next step */
    bool retrying;                  /* refused; the next try at retry_at */
    int64_t retry_at;
    int64_t backoff;
    int64_t timer_until;            /* when the timer wakes, or INT64_MAX */
    bool stopping;                  /* shutdown began: send everything */
    bool stopped;                   /* shutdown ended: take nothing more */
    pthread_t thread;
    bool thread_started;
    int64_t warn_at;                /* rate limit of the reject warning */
    uint64_t warn_held;

    td_counter *sent[BATCH_TRIGGERS];
    td_histogram *send_size;
    td_gauge *pending_items;
    td_gauge *cardinality;
    td_counter *rejected;
    td_counter *dropped;
    td_gauge *in_flight;            /* the pipeline's; see batch_drop */
} batch;

/* A run of consecutive resource groups of one batch with one key. */
typedef struct batch_run {
    size_t groups;
    size_t items;
    size_t key_off, key_len;        /* in the consume's key buffer */
    uint64_t hash;
    batch_shard *shard;
    td_batch *part;
} batch_run;

static const td_cfg_key batch_keys[] = {
    {.name = "timeout", .type = TD_CFG_DURATION, .def = "200ms",
     .offset = offsetof(batch_cfg, timeout_ms),
     .desc = "send what is pending this long after its oldest item; "
             "0 sends at once",
     .min = 0, .max = 24LL * 3600 * 1000},
    {.name = "send_batch_size", .type = TD_CFG_INT, .def = "8192",
     .offset = offsetof(batch_cfg, send_batch_size),
     .desc = "items (spans, data points, log records) that trigger a send",
     .min = 1, .max = 1LL << 30},
    {.name = "send_batch_max_size", .type = TD_CFG_INT, .def = "0",
     .offset = offsetof(batch_cfg, send_batch_max_size),
     .desc = "most items in a batch sent, larger ones are split; 0 = any",
     .min = 0, .max = 1LL << 30},
    {.name = "metadata_keys", .type = TD_CFG_STRLIST,
     .offset = offsetof(batch_cfg, metadata_keys),
     .desc = "resource attributes whose values get batches of their own"},
    {.name = "metadata_cardinality_limit", .type = TD_CFG_INT,
     .def = "1000",
     .offset = offsetof(batch_cfg, metadata_cardinality_limit),
     .desc = "most combinations of metadata_keys values; 0 = no limit",
     .min = 0, .max = 1000000},
    {.name = NULL},
};

/* ---- config ---- */

static int
batch_validate(void *cfgp, td_cfg_diag *d)
{
    const batch_cfg *cfg = cfgp;
    const td_cfg_strlist *keys = &cfg->metadata_keys;

    if (cfg->send_batch_max_size > 0
        && cfg->send_batch_max_size < cfg->send_batch_size) {
        td_cfg_error(d, "send_batch_max_size", "send_batch_max_size (%lld) "
                     "must be 0 (no limit) or at least send_batch_size "
                     "(%lld)", (long long) cfg->send_batch_max_size,
                     (long long) cfg->send_batch_size);
        return TD_EINVAL;
    }
    for (size_t i = 0; i < keys->n; i++) {
        if (keys->items[i][0] == '\0') {
            td_cfg_error(d, "metadata_keys", "metadata_keys holds an "
                         "empty name; list resource attribute names");
            return TD_EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(keys->items[i], keys->items[j]) == 0) {
                td_cfg_error(d, "metadata_keys", "metadata_keys lists "
                             "\"%s\" twice", keys->items[i]);
                return TD_EINVAL;
            }
        }
    }
    return TD_OK;
}

/* ---- shards ---- */

/* FNV-1a, 64 bits. */
static uint64_t
batch_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char) s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void
batch_shard_free(batch_shard *s)
{
    for (size_t i = 0; i < s->len; i++) {
        td_batch_unref(s->ring[(s->head + i) % s->cap].b);
    }
    free(s->ring);
    free(s->key);
    free(s);
}

static batch_shard *
batch_shard_new(const char *key, size_t key_len, uint64_t hash)
{
    batch_shard *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        return NULL;
    }
    s->key = malloc(key_len + 1);
    s->ring = calloc(BATCH_RING_MIN, sizeof(*s->ring));
    if (s->key == NULL || s->ring == NULL) {
        free(s->key);
        free(s->ring);
        free(s);
        return NULL;
    }
    memcpy(s->key, key, key_len);
    s->key[key_len] = '\0';
    s->key_len = key_len;
    s->hash = hash;
    s->cap = BATCH_RING_MIN;
    return s;
}

/* Lock held. */
static batch_shard *
batch_shard_find_locked(const batch *bp, const char *key, size_t key_len,
                        uint64_t hash)
{
    batch_shard *s;

    if (bp->buckets == NULL) {
        return bp->shards;
    }
    for (s = bp->buckets[hash & (bp->n_buckets - 1)]; s != NULL;
         s = s->chain) {
        if (s->hash == hash && s->key_len == key_len
            && memcmp(s->key, key, key_len) == 0) {
            return s;
        }
    }
    return NULL;
}

/*
 * Doubles the hash table when shards outnumber buckets twice; without
 * memory it stays as it is (longer chains, still correct).
 */
static void
batch_rehash_locked(batch *bp)
{
    size_t n = bp->n_buckets * 2;
    batch_shard **nb;

    if (bp->n_shards <= bp->n_buckets * 2) {
        return;
    }
    nb = calloc(n, sizeof(*nb));
    if (nb == NULL) {
        return;
    }
    for (batch_shard *s = bp->shards; s != NULL; s = s->next) {
        s->chain = nb[s->hash & (n - 1)];
        nb[s->hash & (n - 1)] = s;
    }
    free(bp->buckets);
    bp->buckets = nb;
    bp->n_buckets = n;
}

static void
batch_shard_add_locked(batch *bp, batch_shard *s)
{
    if (bp->shards_tail != NULL) {
        bp->shards_tail->next = s;
    } else {
        bp->shards = s;
    }
    bp->shards_tail = s;
    bp->n_shards++;
    if (bp->buckets != NULL) {
        size_t i = s->hash & (bp->n_buckets - 1);

        s->chain = bp->buckets[i];
        bp->buckets[i] = s;
        batch_rehash_locked(bp);
    }
    td_gauge_set(bp->cardinality, (int64_t) bp->n_shards);
}

/*
 * Makes room for n more parts and keeps one slot free for a refused
 * chunk. 0 or TD_ENOMEM (the ring is unchanged then).
 */
static int
batch_ring_reserve(batch_shard *s, size_t n)
{
    size_t cap = s->cap;
    batch_part *ring;

    if (s->len + n + 1 <= cap) {
        return TD_OK;
    }
    while (cap < s->len + n + 1) {
        cap *= 2;
    }
    ring = calloc(cap, sizeof(*ring));
    if (ring == NULL) {
        return TD_ENOMEM;
    }
    for (size_t i = 0; i < s->len; i++) {
        ring[i] = s->ring[(s->head + i) % s->cap];
    }
    free(s->ring);
    s->ring = ring;
    s->cap = cap;
    s->head = 0;
    return TD_OK;
}

/* Adds a part at the back (room was reserved). */
static void
batch_push_locked(batch *bp, batch_shard *s, td_batch *part, int64_t now)
{
    size_t n = td_batch_items(part);

    s->ring[(s->head + s->len) % s->cap] = (batch_part){part, now};
    s->len++;
    s->items += n;
    bp->pending += n;
    td_gauge_set(bp->pending_items, (int64_t) bp->pending);
}

/* Puts a refused chunk back at the front (the free slot is there). */
static void
batch_push_front_locked(batch *bp, batch_shard *s, td_batch *chunk,
                        int64_t since)
{
    size_t n = td_batch_items(chunk);

    s->head = (s->head + s->cap - 1) % s->cap;
    s->ring[s->head] = (batch_part){chunk, since};
    s->len++;
    s->items += n;
    bp->pending += n;
    td_gauge_set(bp->pending_items, (int64_t) bp->pending);
}

/* ---- sending ---- */

/* What makes shard s ready to send at now, or -1 when it is not. */
static int
batch_ready_locked(const batch *bp, const batch_shard *s, int64_t now)
{
    if (s->items == 0) {
        return -1;
    }
    if (bp->stopping) {
        return BATCH_TRIGGER_SHUTDOWN;
    }
    if (bp->timeout == 0 || s->items >= bp->size) {
        return BATCH_TRIGGER_SIZE;
    }
    if (now - s->ring[s->head].since >= bp->timeout) {
        return BATCH_TRIGGER_TIMEOUT;
    }
    return -1;
}

/* Nobody sends now, and a refusal is not waiting for its retry. */
static bool
batch_may_send_locked(const batch *bp, int64_t now)
{
    return !bp->sending && (!bp->retrying || now >= bp->retry_at);
}

/*
 * Takes the oldest items of s, at most send_batch_max_size, as one
 * chunk; *since is when the oldest of them arrived. A part that holds
 * exactly what the chunk needs (a refused chunk, or one incoming batch)
 * is the chunk itself. NULL when out of memory with nothing taken; a
 * chunk smaller than asked for when memory ran out half way.
 */
static td_batch *
batch_take_locked(batch *bp, batch_shard *s, int64_t *since)
{
    size_t want = bp->max > 0 && bp->max < s->items ? bp->max : s->items;
    size_t need = want;
    batch_part *front = &s->ring[s->head];
    td_batch *chunk;

    *since = front->since;
    if (td_batch_items(front->b) == want) {
        chunk = front->b;
        s->head = (s->head + 1) % s->cap;
        s->len--;
        need = 0;
    } else {
        chunk = td_batch_new(bp->signal, BATCH_CHUNK_HINT);
        if (chunk == NULL) {
            return NULL;
        }
        while (need > 0 && s->len > 0) {
            size_t have, n;

            front = &s->ring[s->head];
            have = td_batch_items(front->b);
            n = have < need ? have : need;
            if (td_batch_move_items(chunk, front->b, n) != TD_OK) {
                break;
            }
            need -= n;
            if (n == have) {
                td_batch_unref(front->b);
                s->head = (s->head + 1) % s->cap;
                s->len--;
            }
        }
        if (need == want) {
            td_batch_unref(chunk);
            return NULL;
        }
    }

    s->items -= want - need;
    bp->pending -= want - need;
    td_gauge_set(bp->pending_items, (int64_t) bp->pending);
    return chunk;
}

/*
 * Logs a warning at most every BATCH_WARN_MS, with how many were held
 * back since the last one. Lock held; the line is written after the
 * caller unlocks (msg is the caller's buffer, empty when suppressed).
 */
static void
batch_warn_locked(batch *bp, char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
batch_warn_locked(batch *bp, char *msg, size_t len, const char *fmt, ...)
{
    int64_t now = td_mono_ms();
    va_list ap;
    int n;

    msg[0] = '\0';
    if (bp->warn_at != 0 && now - bp->warn_at < BATCH_WARN_MS) {
        bp->warn_held++;
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    if (bp->warn_held > 0 && n >= 0 && (size_t) n < len) {
        snprintf(msg + n, len - (size_t) n, " (%" PRIu64 " similar "
                 "warnings suppressed)", bp->warn_held);
    }
    bp->warn_held = 0;
    bp->warn_at = now;
}

/*
 * Items this processor lost: counted, and taken off the pipeline's
 * in-flight gauge, which counted them when the pipeline took them and
 * which no exporter will now take them off (docs/ARCHITECTURE.md).
 */
static void
batch_drop(batch *bp, size_t items)
{
    td_counter_add(bp->dropped, items);
    td_gauge_add(bp->in_flight, -(int64_t) items);
}

/*
 * Sends one chunk of s, with the lock released during the call to the
 * next step. Returns false when nothing more should be tried now (a
 * refusal, or no memory to build a chunk).
 */
static bool
batch_send_one_locked(batch *bp, batch_shard *s, int trigger)
{
    int64_t since;
    size_t items;
    td_batch *chunk;
    char msg[256];
    int rc;

    if (batch_ring_reserve(s, 0) != TD_OK
        || (chunk = batch_take_locked(bp, s, &since)) == NULL) {
        /* Without memory it is tried again like a refusal. */
        bp->retrying = true;
        bp->retry_at = td_mono_ms() + bp->backoff;
        return false;
    }
    items = td_batch_items(chunk);

    pthread_mutex_unlock(&bp->lock);
    rc = td_consumer_consume(bp->next, chunk);
    if (rc == TD_OK) {
        td_batch_unref(chunk);
        td_counter_add(bp->sent[trigger], 1);
        td_histogram_observe(bp->send_size, (double) items);
    }
    pthread_mutex_lock(&bp->lock);

    if (rc == TD_OK) {
        bp->retrying = false;
        bp->backoff = BATCH_BACKOFF_MIN;
        return true;
    }
    if (rc == TD_AGAIN) {
        batch_push_front_locked(bp, s, chunk, since);
        bp->retrying = true;
        bp->retry_at = td_mono_ms() + bp->backoff;
        bp->backoff = bp->backoff * 2 < BATCH_BACKOFF_MAX
                          ? bp->backoff * 2
                          : BATCH_BACKOFF_MAX;
        return false;
    }

    /* Rejected for good downstream: nothing would take it later. */
    batch_warn_locked(bp, msg, sizeof(msg), "the next step rejected %zu "
                      "%s for good (code %d); they are dropped", items,
                      td_signal_items(bp->signal), rc);
    pthread_mutex_unlock(&bp->lock);
    batch_drop(bp, items);
    td_batch_unref(chunk);
    if (msg[0] != '\0') {
        td_log(TD_LOG_ERROR, bp->id, NULL, 0, "%s", msg);
    }
    pthread_mutex_lock(&bp->lock);
    return true;
}

/*
 * The sender: while allowed, sends ready chunks of shard only (budget
 * items at most, counted in whole chunks), or of every shard when only
 * is NULL. Lock held on entry and on return; bp->sending is this
 * thread's while it runs, and its end wakes the timer (and a waiting
 * shutdown) to look again. Returns true when it sent or tried.
 */
static bool
batch_send_ready_locked(batch *bp, batch_shard *only, size_t budget)
{
    bool tried = false;

    bp->sending = true;
    while (budget > 0 && (!bp->retrying || td_mono_ms() >= bp->retry_at)) {
        int64_t now = td_mono_ms();
        batch_shard *s = only;
        int trigger = -1;
        size_t before;

        if (s != NULL) {
            trigger = batch_ready_locked(bp, s, now);
        } else {
            for (s = bp->shards; s != NULL; s = s->next) {
                if ((trigger = batch_ready_locked(bp, s, now)) >= 0) {
                    break;
                }
            }
        }
        if (trigger < 0) {
            break;
        }
        before = s->items;
        tried = true;
        if (!batch_send_one_locked(bp, s, trigger)) {
            break;
        }
        budget -= before - s->items < budget ? before - s->items : budget;
    }
    bp->sending = false;
    pthread_cond_broadcast(&bp->wake);
    return tried;
}

/*
 * When the timer must look again: a retry still to come, else the
 * oldest item's timeout. A retry whose time has come with nothing ready
 * (a chunk can only come back ready, so this is rare) does not count.
 */
static int64_t
batch_next_wake_locked(const batch *bp, int64_t now)
{
    int64_t until = INT64_MAX;

    if (bp->sending) {
        return INT64_MAX;       /* the sender wakes the timer when done */
    }
    if (bp->retrying && bp->retry_at > now) {
        return bp->retry_at;
    }
    for (const batch_shard *s = bp->shards; s != NULL; s = s->next) {
        if (s->items > 0 && s->ring[s->head].since + bp->timeout < until) {
            until = s->ring[s->head].since + bp->timeout;
        }
    }
    return until;
}

static void
batch_wait_locked(batch *bp, int64_t until)
{
    struct timespec ts;

    if (until == INT64_MAX) {
        pthread_cond_wait(&bp->wake, &bp->lock);
        return;
    }
    ts.tv_sec = (time_t) (until / 1000);
    ts.tv_nsec = (long) (until % 1000) * 1000000L;
    pthread_cond_timedwait(&bp->wake, &bp->lock, &ts);
}

/* The timer thread: timeouts, retries, and what a sender left ready. */
static void *
batch_timer(void *arg)
{
    batch *bp = arg;

    pthread_mutex_lock(&bp->lock);
    while (!bp->stopping) {
        int64_t now = td_mono_ms();

        if (batch_may_send_locked(bp, now)
            && batch_send_ready_locked(bp, NULL, SIZE_MAX)) {
            continue;
        }
        bp->timer_until = batch_next_wake_locked(bp, now);
        if (bp->timer_until > now || bp->sending) {
            batch_wait_locked(bp, bp->timer_until);
        }
        bp->timer_until = INT64_MAX;
    }
    pthread_mutex_unlock(&bp->lock);
    return NULL;
}

/* ---- taking batches in ---- */

/*
 * Whether shard s may take n more parts now: refused (TD_AGAIN) while
 * it holds the bound and cannot send; TD_ENOMEM without room in its
 * ring. Lock held.
 */
static int
batch_admit_locked(const batch *bp, batch_shard *s, size_t parts)
{
    if (s->items >= bp->bound && (bp->sending || bp->retrying)) {
        return TD_AGAIN;
    }
    return batch_ring_reserve(s, parts + s->incoming);
}

/*
 * After a part arrived at now: the timer learns of a timeout earlier
 * than the one it waits for (only a first item can bring one: later
 * items time out after the ones already there).
 */
static void
batch_tell_timer_locked(batch *bp, int64_t now)
{
    if (bp->timeout > 0 && now + bp->timeout < bp->timer_until) {
        pthread_cond_signal(&bp->wake);
    }
}

/* A ready shard is sent by this thread when nobody else sends. */
static void
batch_send_if_ready_locked(batch *bp, batch_shard *s)
{
    int64_t now = td_mono_ms();

    if (batch_may_send_locked(bp, now)
        && batch_ready_locked(bp, s, now) >= 0) {
        batch_send_ready_locked(bp, s, s->items);
    }
}

/* Without metadata_keys: the whole batch becomes one part. */
static int
batch_consume_one(batch *bp, td_batch *b)
{
    batch_shard *s = bp->shards;
    td_batch *part = td_batch_new(bp->signal, BATCH_PART_HINT);
    int64_t now;
    int rc;

    if (part == NULL) {
        return TD_AGAIN;
    }
    pthread_mutex_lock(&bp->lock);
    rc = bp->stopped ? TD_EPERM : batch_admit_locked(bp, s, 1);
    if (rc == TD_OK) {
        rc = td_batch_move_items(part, b, td_batch_items(b));
    }
    if (rc != TD_OK) {
        pthread_mutex_unlock(&bp->lock);
        td_batch_unref(part);
        return rc == TD_ENOMEM ? TD_AGAIN : rc;
    }
    now = td_mono_ms();
    batch_push_locked(bp, s, part, now);
    batch_tell_timer_locked(bp, now);
    batch_send_if_ready_locked(bp, s);
    pthread_mutex_unlock(&bp->lock);
    return TD_OK;
}

/*
 * Appends the values of metadata_keys in a resource as a JSON array (an
 * absent key is null), the shard's key. 0 or TD_ENOMEM.
 */
static int
batch_key(const batch *bp, const td_resource *res, td_buf *out)
{
    const td_cfg_strlist *keys = &bp->cfg->metadata_keys;
    int rc = td_buf_putc(out, '[');

    for (size_t i = 0; i < keys->n && rc == TD_OK; i++) {
        const td_value *v = td_attrs_get(&res->attrs, keys->items[i],
                                         strlen(keys->items[i]));

        if (i > 0) {
            rc = td_buf_putc(out, ',');
        }
        if (rc == TD_OK) {
            rc = v != NULL ? td_otlp_json_value(v, out)
                           : td_buf_puts(out, "null");
        }
    }
    return rc == TD_OK ? td_buf_putc(out, ']') : rc;
}

/*
 * Splits b's resource groups into runs of one key, with a part made
 * ready for each (td_batch_reserve_move: moving into it cannot fail).
 * Returns the number of runs, or 0 when out of memory.
 */
static size_t
batch_runs(const batch *bp, const td_batch *b, td_buf *keys,
           batch_run **out)
{
    batch_run *runs;
    size_t n_groups = 0, n = 0;

    for (const td_resource_group *rg = b->resources; rg; rg = rg->next) {
        n_groups++;
    }
    runs = calloc(n_groups, sizeof(*runs));
    if (runs == NULL) {
        return 0;
    }
    for (const td_resource_group *rg = b->resources; rg; rg = rg->next) {
        size_t off = keys->len;
        batch_run *prev = n > 0 ? &runs[n - 1] : NULL;

        if (batch_key(bp, &rg->resource, keys) != TD_OK) {
            goto fail;
        }
        if (prev != NULL && prev->key_len == keys->len - off
            && memcmp(keys->data + prev->key_off, keys->data + off,
                      prev->key_len) == 0) {
            prev->groups++;
            prev->items += td_resource_group_items(b->signal, rg);
            keys->len = off;
            continue;
        }
        runs[n].groups = 1;
        runs[n].items = td_resource_group_items(b->signal, rg);
        runs[n].key_off = off;
        runs[n].key_len = keys->len - off;
        runs[n].hash = batch_hash(keys->data + off, runs[n].key_len);
        runs[n].part = td_batch_new(bp->signal, BATCH_PART_HINT);
        if (runs[n].part == NULL) {
            goto fail;
        }
        n++;
        if (td_batch_reserve_move(runs[n - 1].part, b) != TD_OK) {
            goto fail;
        }
    }
    *out = runs;
    return n;

fail:
    for (size_t i = 0; i < n; i++) {
        td_batch_unref(runs[i].part);
    }
    free(runs);
    return 0;
}

/*
 * Finds the shard of every run, making new ones (not yet added) for
 * keys not seen before, and checks the cardinality limit and the
 * refusal bound. A run without items gets no shard: its groups are
 * dropped, since a part with nothing to send would keep the arenas of
 * its batch alive until its shard sent something else. Lock held.
 * TD_EPERM past the limit (*fresh, the number of new keys, says by how
 * much), TD_AGAIN or TD_ENOMEM.
 */
static int
batch_place_runs_locked(batch *bp, batch_run *runs, size_t n,
                        const td_buf *keys, batch_shard **fresh_list,
                        size_t *fresh)
{
    size_t limit = (size_t) bp->cfg->metadata_cardinality_limit;
    int rc = TD_OK;

    *fresh = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = keys->data + runs[i].key_off;
        batch_shard *s;

        if (runs[i].items == 0) {
            continue;
        }
        s = batch_shard_find_locked(bp, k, runs[i].key_len, runs[i].hash);
        for (batch_shard *f = *fresh_list; s == NULL && f; f = f->next) {
            if (f->hash == runs[i].hash && f->key_len == runs[i].key_len
                && memcmp(f->key, k, f->key_len) == 0) {
                s = f;
            }
        }
        if (s == NULL) {
            s = batch_shard_new(k, runs[i].key_len, runs[i].hash);
            if (s == NULL) {
                return TD_ENOMEM;
            }
            s->next = *fresh_list;
            *fresh_list = s;
            (*fresh)++;
        }
        runs[i].shard = s;
        s->incoming++;
    }
    if (limit > 0 && bp->n_shards + *fresh > limit) {
        rc = TD_EPERM;
    }
    for (size_t i = 0; i < n && rc == TD_OK; i++) {
        batch_shard *s = runs[i].shard;

        if (s != NULL && s->incoming > 0) {
            s->incoming--;
            rc = batch_admit_locked(bp, s, 1);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (runs[i].shard != NULL) {
            runs[i].shard->incoming = 0;
        }
    }
    return rc;
}

/*
 * With metadata_keys: each run of resource groups with one key goes to
 * its key's shard. Everything that can fail (memory, the limit, the
 * bound) is settled before any record moves, so b is taken whole or
 * not at all.
 */
static int
batch_consume_keyed(batch *bp, td_batch *b)
{
    td_buf keys = TD_BUF_INIT;
    batch_run *runs = NULL;
    batch_shard *fresh_list = NULL, *next;
    size_t n, fresh = 0, items = td_batch_items(b);
    bool over_limit = false;
    char msg[512];
    int64_t now;
    int rc;

    n = batch_runs(bp, b, &keys, &runs);
    if (n == 0) {
        td_buf_free(&keys);
        return TD_AGAIN;
    }

    pthread_mutex_lock(&bp->lock);
    rc = bp->stopped ? TD_EPERM
                     : batch_place_runs_locked(bp, runs, n, &keys,
                                               &fresh_list, &fresh);
    msg[0] = '\0';
    if (rc == TD_EPERM && !bp->stopped) {
        over_limit = true;
        batch_warn_locked(bp, msg, sizeof(msg), "rejected %zu %s: %zu new "
                          "metadata_keys combination(s) such as %.*s would "
                          "pass metadata_cardinality_limit (%lld)", items,
                          td_signal_items(bp->signal), fresh,
                          (int) (fresh_list != NULL ? fresh_list->key_len
                                                    : 0),
                          fresh_list != NULL ? fresh_list->key : "",
                          (long long) bp->cfg->metadata_cardinality_limit);
    }
    if (rc != TD_OK) {
        pthread_mutex_unlock(&bp->lock);
        goto out;
    }

    for (batch_shard *f = fresh_list; f != NULL; f = next) {
        next = f->next;
        f->next = NULL;
        batch_shard_add_locked(bp, f);
    }
    fresh_list = NULL;
    now = td_mono_ms();
    for (size_t i = 0; i < n; i++) {
        batch_shard *s = runs[i].shard;

        /* Reserved: moving whole groups needs no memory now. */
        if (td_batch_move_resources(runs[i].part, b, runs[i].groups)
            != TD_OK) {
            td_log(TD_LOG_ERROR, bp->id, NULL, 0, "moving a reserved run "
                   "failed; %zu %s dropped", td_batch_items(b),
                   td_signal_items(bp->signal));
            batch_drop(bp, td_batch_items(b));
            break;
        }
        if (s != NULL) {
            batch_push_locked(bp, s, runs[i].part, now);
            runs[i].part = NULL;
        }
    }
    batch_tell_timer_locked(bp, now);
    for (size_t i = 0; i < n; i++) {
        if (runs[i].shard != NULL) {
            batch_send_if_ready_locked(bp, runs[i].shard);
        }
    }
    pthread_mutex_unlock(&bp->lock);

out:
    if (over_limit) {
        td_counter_add(bp->rejected, items);
    }
    if (msg[0] != '\0') {
        td_log(TD_LOG_WARN, bp->id, NULL, 0, "%s", msg);
    }
    for (batch_shard *f = fresh_list; f != NULL; f = next) {
        next = f->next;
        batch_shard_free(f);
    }
    for (size_t i = 0; i < n; i++) {
        td_batch_unref(runs[i].part);
    }
    free(runs);
    td_buf_free(&keys);
    return rc == TD_ENOMEM ? TD_AGAIN : rc;
}

static int
batch_consume(void *self, td_batch *b)
{
    batch *bp = self;

    if (td_batch_items(b) == 0) {
        return TD_OK;
    }
    if (bp->cfg->metadata_keys.n == 0) {
        return batch_consume_one(bp, b);
    }
    return batch_consume_keyed(bp, b);
}

/* ---- lifecycle ---- */

/* The Collector's buckets for otelcol_processor_batch_batch_send_size. */
static const double batch_size_buckets[] = {
    10, 25, 50, 75, 100, 250, 500, 750, 1000, 2000, 3000, 4000, 5000,
    6000, 7000, 8000, 9000, 10000, 20000, 30000, 50000, 100000
};

static void
batch_metrics(batch *bp, const td_component_ctx *ctx)
{
    const char *pipe = ctx->pipeline != NULL ? ctx->pipeline : "";
    char labels[512], tl[600];

    if (td_self_labels(labels, sizeof(labels), "processor", ctx->id,
                       "pipeline", pipe, NULL) != TD_OK) {
        return;
    }
    for (int t = 0; t < BATCH_TRIGGERS; t++) {
        snprintf(tl, sizeof(tl), "%s,trigger=\"%s\"", labels,
                 batch_trigger_names[t]);
        bp->sent[t] = td_self_counter(
            "tandem_processor_batch_batches_sent_total",
            "Batches the batch processor sent on, by what triggered them "
            "(size, timeout or shutdown).", tl);
    }
    bp->send_size = td_self_histogram(
        "tandem_processor_batch_batch_send_size",
        "Items (spans, data points, log records) in each batch sent.",
        labels, batch_size_buckets, TD_ARRAY_SIZE(batch_size_buckets));
    bp->pending_items = td_self_gauge(
        "tandem_processor_batch_pending_items",
        "Items the batch processor holds, not yet sent on.", labels);
    bp->cardinality = td_self_gauge(
        "tandem_processor_batch_metadata_cardinality",
        "Distinct combinations of metadata_keys values being batched.",
        labels);
    bp->rejected = td_self_counter(
        "tandem_processor_batch_rejected_items_total",
        "Items rejected for good because their metadata_keys values were "
        "a new combination past metadata_cardinality_limit.", labels);
    bp->dropped = td_self_counter(
        "tandem_processor_batch_dropped_items_total",
        "Items the batch processor dropped: still held at the shutdown "
        "deadline, or rejected for good by the next step.", labels);
    td_gauge_set(bp->cardinality, (int64_t) bp->n_shards);

    bp->in_flight = ctx->in_flight;
}

static void
batch_destroy(void *self)
{
    batch *bp = self;
    batch_shard *s, *next;

    for (s = bp->shards; s != NULL; s = next) {
        next = s->next;
        batch_shard_free(s);
    }
    free(bp->buckets);
    pthread_cond_destroy(&bp->wake);
    pthread_mutex_destroy(&bp->lock);
    free(bp->id);
    free(bp);
}

static int
batch_create(const td_component_ctx *ctx, const void *cfgp, void **self,
             char *err, size_t errlen)
{
    const batch_cfg *cfg = cfgp;
    pthread_condattr_t ca;
    batch *bp = calloc(1, sizeof(*bp));

    if (bp == NULL || (bp->id = strdup(ctx->id)) == NULL) {
        free(bp);
        snprintf(err, errlen, "out of memory");
        return TD_ENOMEM;
    }
    bp->cfg = cfg;
    bp->next = ctx->next;
    bp->signal = ctx->signal;
    bp->size = (size_t) cfg->send_batch_size;
    bp->max = (size_t) cfg->send_batch_max_size;
    bp->bound = bp->max > bp->size ? bp->max : bp->size;
    bp->timeout = cfg->timeout_ms;
    bp->backoff = BATCH_BACKOFF_MIN;
    bp->timer_until = INT64_MAX;

    if (pthread_condattr_init(&ca) != 0) {
        free(bp->id);
        free(bp);
        snprintf(err, errlen, "out of memory");
        return TD_ENOMEM;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&bp->lock, NULL);
    pthread_cond_init(&bp->wake, &ca);
    pthread_condattr_destroy(&ca);

    /* Without metadata_keys the one shard exists from the start. */
    if (cfg->metadata_keys.n == 0) {
        bp->shards = bp->shards_tail = batch_shard_new("", 0, 0);
        bp->n_shards = bp->shards != NULL ? 1 : 0;
    } else {
        bp->n_buckets = BATCH_BUCKETS_MIN;
        bp->buckets = calloc(bp->n_buckets, sizeof(*bp->buckets));
    }
    if (bp->shards == NULL && bp->buckets == NULL) {
        batch_destroy(bp);
        snprintf(err, errlen, "out of memory");
        return TD_ENOMEM;
    }
    batch_metrics(bp, ctx);
    *self = bp;
    return TD_OK;
}

static int
batch_start(void *self, char *err, size_t errlen)
{
    batch *bp = self;
    int rc = pthread_create(&bp->thread, NULL, batch_timer, bp);

    if (rc != 0) {
        snprintf(err, errlen, "cannot start the timer thread: %s",
                 strerror(rc));
        return TD_ERR;
    }
    bp->thread_started = true;
    return TD_OK;
}

/*
 * Sends everything pending before deadline, retrying refusals with the
 * usual backoff; what is left at the deadline is dropped, counted and
 * logged. The timer thread is joined first, and a consume that is
 * sending is waited for, so that this thread is the last sender.
 */
static void
batch_shutdown(void *self, int64_t deadline)
{
    batch *bp = self;
    size_t left = 0;

    pthread_mutex_lock(&bp->lock);
    bp->stopping = true;
    pthread_cond_broadcast(&bp->wake);
    pthread_mutex_unlock(&bp->lock);
    if (bp->thread_started) {
        pthread_join(bp->thread, NULL);
        bp->thread_started = false;
    }

    pthread_mutex_lock(&bp->lock);
    while (bp->pending > 0 && td_mono_ms() < deadline) {
        int64_t now = td_mono_ms();

        if (batch_may_send_locked(bp, now)) {
            batch_send_ready_locked(bp, NULL, SIZE_MAX);
            continue;
        }
        batch_wait_locked(bp, bp->sending || bp->retry_at > deadline
                                  ? deadline
                                  : bp->retry_at);
    }
    while (bp->sending) {
        /* A late consume past the deadline: its chunk is its own. */
        batch_wait_locked(bp, INT64_MAX);
    }
    bp->stopped = true;
    for (batch_shard *s = bp->shards; s != NULL; s = s->next) {
        left += s->items;
        while (s->len > 0) {
            td_batch_unref(s->ring[s->head].b);
            s->head = (s->head + 1) % s->cap;
            s->len--;
        }
        s->items = 0;
    }
    bp->pending = 0;
    td_gauge_set(bp->pending_items, 0);
    pthread_mutex_unlock(&bp->lock);

    if (left > 0) {
        batch_drop(bp, left);
        td_log(TD_LOG_WARN, bp->id, NULL, 0, "shutdown deadline passed "
               "with %zu %s still pending; they are dropped", left,
               td_signal_items(bp->signal));
    }
}

const td_component_desc td_batch_processor = {
    .type = "batch",
    .kind = TD_KIND_PROCESSOR,
    .signals = TD_SIGNALS_ALL,
    .summary = "groups items into batches by size and time",
    .cfg_size = sizeof(batch_cfg),
    .keys = batch_keys,
    .validate = batch_validate,
    .create = batch_create,
    .start = batch_start,
    .consume = batch_consume,
    .takes_batch = true,
    .shutdown = batch_shutdown,
    .destroy = batch_destroy,
};
