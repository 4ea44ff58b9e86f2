/*
 * tcplog.c - the tcplog receiver: newline-delimited JSON (or plain text)
 * logs over TCP, like Logstash's tcp input with the json_lines codec.
 *
 * One thread runs an epoll loop (level-triggered) over the listener, an
 * eventfd for wake-ups and every connection. Each read(2) of a socket is
 * framed into lines (ndjson.c) and all lines of that read become one
 * batch, handed to the pipelines through the fan-out. When a pipeline
 * refuses (TD_AGAIN), the batch stays on its connection and the socket
 * leaves the epoll set: nothing more is read from it, the kernel's
 * receive buffer fills and TCP flow control slows the sender down. The
 * batch is offered again with a backoff (5 ms doubling to 100 ms) and
 * reading resumes once every pipeline took it. No line is dropped.
 *
 * Before each read the connection reserves, in the process-wide memory
 * budget (budget.h), the bytes the read may turn into once mapped: the
 * read size times the connection's expansion factor. When the budget has
 * no room, the socket leaves the epoll set in the same way, the
 * reservation is retried with the same backoff, and reading resumes once
 * it fits; the kernel's buffers and TCP slow the sender meanwhile. Once
 * the read's batch is built the reservation is released: its arena
 * blocks are then charged with the real bytes.
 *
 * The expansion factor starts at TCPLOG_EXPANSION (bench/td_mapbench: a
 * 327-byte line of the benchmark's mix takes 3.05 times its size in
 * arena memory, 4.0 with the block rounding) and follows what each
 * connection's reads of at least TCPLOG_LEARN_MIN bytes really cost,
 * with a quarter more as margin: tiny lines cost far more per byte (a
 * 2-byte line takes some 190 times its size), and for such a connection
 * the read size shrinks instead, so that one read never reserves much
 * more than TCPLOG_RESERVE_MAX, nor more than an eighth of the soft
 * limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "log.h"
#include "pipeline.h"
#include "selfmetrics.h"
#include "receivers/ndjson.h"
#include "receivers/tcplog.h"

#define TCPLOG_READ_SIZE    (64 * 1024)
#define TCPLOG_EVENTS       64
#define TCPLOG_BACKOFF_MIN  5
#define TCPLOG_BACKOFF_MAX  100
#define TCPLOG_ACCEPT_PAUSE 100     /* ms without accepting after EMFILE */
#define TCPLOG_PEER_LEN     (INET6_ADDRSTRLEN + 16)

/* Reservations before reading; see the comment at the top. */
#define TCPLOG_EXPANSION    4       /* least arena bytes per input byte */
#define TCPLOG_EXPANSION_MAX 1024
#define TCPLOG_RESERVE_MAX  (TCPLOG_READ_SIZE * TCPLOG_EXPANSION)
#define TCPLOG_READ_MIN     512     /* smallest read a reservation buys */
#define TCPLOG_LEARN_MIN    4096    /* smaller reads do not teach */
#define TCPLOG_BATCH_SLACK  2048    /* a batch's fixed cost over its data */

/* At most one line per second for a repeated warning, with a count. */
typedef struct tcplog_ratelimit {
    int64_t last_ms;
    uint64_t suppressed;
} tcplog_ratelimit;

typedef struct tcplog_conn {
    int fd;
    char peer[TCPLOG_PEER_LEN];     /* "addr:port" for log lines */
    char addr[INET6_ADDRSTRLEN];    /* network.peer.address */
    int port;
    td_ndjson_framer fr;
    td_batch *held;                 /* refused batch waiting for a retry */
    size_t held_bytes;              /* its bytes, marked held in budget */
    uint32_t pending;               /* pipelines that still need it */
    size_t expansion;               /* arena bytes per input byte */
    size_t reserved;                /* budget reserved for the next read */
    size_t read_len;                /* bytes that reservation covers */
    bool budget_wait;               /* paused: no room in the budget */
    int64_t retry_at;
    int64_t backoff_ms;
    int64_t last_active;
    bool reading;                   /* in the epoll set */
    bool closing;                   /* close once held is delivered */
    uint64_t empty_lines;
    struct tcplog_conn *prev, *next;
} tcplog_conn;

typedef struct tcplog {
    char *id;
    const td_tcplog_cfg *cfg;
    td_fanout *out;
    td_ndjson_opts opts;
    td_ndjson_builder bld;
    char *rbuf;
    int lfd, epfd, wakefd;
    int port;
    pthread_t thread;
    bool thread_started;
    bool shut;
    atomic_bool stopping;
    _Atomic int64_t deadline;
    tcplog_conn *conns;
    size_t n_conns;
    size_t n_held;
    size_t n_waiting;               /* connections with budget_wait */
    int64_t next_retry;             /* earliest retry_at, or -1 */
    int64_t accept_paused_until;    /* 0 when accepting */
    int64_t next_idle_scan;
    tcplog_ratelimit rl_maxconn, rl_accept, rl_perm, rl_line;
    td_counter *accepted, *refused, *bytes, *pauses;
    td_gauge *open;
} tcplog;

/* Tags that tell the listener and the eventfd apart from connections. */
static char tcplog_tag_listen, tcplog_tag_wake;

static const char *const tcplog_parse_choices[] = {"json", "none", NULL};

static const td_cfg_key tcplog_keys[] = {
    {.name = "endpoint", .type = TD_CFG_STR, .def = "0.0.0.0:5000",
     .offset = offsetof(td_tcplog_cfg, endpoint),
     .desc = "host:port to listen on; port 0 picks a free port"},
    {.name = "max_log_size", .type = TD_CFG_INT, .def = "1048576",
     .offset = offsetof(td_tcplog_cfg, max_log_size),
     .desc = "bytes kept of one line; the rest is dropped and flagged",
     .min = 1, .max = 67108864},
    {.name = "max_connections", .type = TD_CFG_INT, .def = "1024",
     .offset = offsetof(td_tcplog_cfg, max_connections),
     .desc = "connections open at once; more are closed at accept",
     .min = 1, .max = 1000000},
    {.name = "idle_timeout", .type = TD_CFG_DURATION, .def = "0",
     .offset = offsetof(td_tcplog_cfg, idle_timeout_ms),
     .desc = "close a connection silent this long; 0 never",
     .min = 0, .max = 365LL * 24 * 3600 * 1000},
    {.name = "parse", .type = TD_CFG_ENUM, .def = "json",
     .offset = offsetof(td_tcplog_cfg, parse),
     .desc = "json: map JSON objects to fields; none: every line is a body",
     .choices = tcplog_parse_choices},
    {.name = "resource", .type = TD_CFG_STRMAP,
     .offset = offsetof(td_tcplog_cfg, resource),
     .desc = "attributes added to the resource of every record"},
    {.name = "attributes", .type = TD_CFG_STRMAP,
     .offset = offsetof(td_tcplog_cfg, attributes),
     .desc = "attributes added to every record"},
    {.name = NULL},
};

/* ---- endpoint ---- */

static int
tcplog_port_text(const char *s, int *port)
{
    long v = 0;
    size_t n = strlen(s);

    if (n == 0 || n > 5) {
        return TD_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return TD_EINVAL;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v > 65535) {
        return TD_EINVAL;
    }
    *port = (int) v;
    return TD_OK;
}

int
td_tcplog_split_endpoint(const char *ep, char *host, size_t hostlen,
                         int *port, char *err, size_t errlen)
{
    const char *colon, *hs = ep;
    size_t hl;

    if (ep == NULL || ep[0] == '\0') {
        snprintf(err, errlen, "endpoint is empty; write host:port, for "
                 "example 0.0.0.0:5000");
        return TD_EINVAL;
    }
    if (ep[0] == '[') {
        const char *close = strchr(ep, ']');

        if (close == NULL || close[1] != ':') {
            snprintf(err, errlen, "endpoint \"%s\" has an IPv6 address "
                     "without \"]:port\"; write [::1]:5000", ep);
            return TD_EINVAL;
        }
        hs = ep + 1;
        hl = (size_t) (close - hs);
        colon = close + 1;
    } else {
        colon = strrchr(ep, ':');
        if (colon == NULL) {
            snprintf(err, errlen, "endpoint \"%s\" has no port; write "
                     "host:port, for example 0.0.0.0:5000", ep);
            return TD_EINVAL;
        }
        hl = (size_t) (colon - ep);
        if (memchr(ep, ':', hl) != NULL) {
            snprintf(err, errlen, "endpoint \"%s\": an IPv6 address needs "
                     "brackets, as in [::1]:5000", ep);
            return TD_EINVAL;
        }
    }
    if (tcplog_port_text(colon + 1, port) != TD_OK) {
        snprintf(err, errlen, "endpoint \"%s\" has port \"%s\"; a port is "
                 "a number from 0 to 65535", ep, colon + 1);
        return TD_EINVAL;
    }
    if (hl >= hostlen) {
        snprintf(err, errlen, "endpoint \"%s\" has a host name longer "
                 "than %zu bytes", ep, hostlen - 1);
        return TD_EINVAL;
    }
    memcpy(host, hs, hl);
    host[hl] = '\0';
    return TD_OK;
}

static int
tcplog_validate(void *cfgp, td_cfg_diag *d)
{
    td_tcplog_cfg *cfg = cfgp;
    char host[256], err[256];
    int port;

    if (td_tcplog_split_endpoint(cfg->endpoint, host, sizeof(host), &port,
                                 err, sizeof(err)) != TD_OK) {
        td_cfg_error(d, "endpoint", "%s", err);
        return TD_EINVAL;
    }
    return TD_OK;
}

/* ---- small helpers ---- */

static bool
tcplog_rl_allow(tcplog_ratelimit *rl, int64_t now, uint64_t *suppressed)
{
    if (rl->last_ms != 0 && now - rl->last_ms < 1000) {
        rl->suppressed++;
        return false;
    }
    rl->last_ms = now;
    *suppressed = rl->suppressed;
    rl->suppressed = 0;
    return true;
}

/* Writes the numeric address and port of a peer. */
static void
tcplog_peer_name(const struct sockaddr_storage *ss, char *addr,
                 size_t addrlen, int *port)
{
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const void *) ss;

        /* A v4 client of a dual-stack listener shows as plain IPv4. */
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], addr,
                      (socklen_t) addrlen);
        } else {
            inet_ntop(AF_INET6, &s6->sin6_addr, addr, (socklen_t) addrlen);
        }
        *port = ntohs(s6->sin6_port);
    } else if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const void *) ss;

        inet_ntop(AF_INET, &s4->sin_addr, addr, (socklen_t) addrlen);
        *port = ntohs(s4->sin_port);
    } else {
        snprintf(addr, addrlen, "unknown");
        *port = 0;
    }
}

static void
tcplog_peer_text(char *out, size_t len, const char *addr, int port)
{
    if (strchr(addr, ':') != NULL) {
        snprintf(out, len, "[%s]:%d", addr, port);
    } else {
        snprintf(out, len, "%s:%d", addr, port);
    }
}

/* Adds a connection's socket to the epoll set, or takes it out. */
static void
tcplog_set_reading(tcplog *t, tcplog_conn *conn, bool on)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = conn};

    if (conn->reading == on) {
        return;
    }
    /* Out of the set rather than events = 0: EPOLLHUP would still fire. */
    if (epoll_ctl(t->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, conn->fd,
                  &ev) != 0) {
        int err = errno;

        td_log(TD_LOG_ERROR, t->id, conn->peer, err,
               "epoll_ctl failed; closing the connection");
        conn->closing = true;
        return;
    }
    conn->reading = on;
}

static void
tcplog_conn_close(tcplog *t, tcplog_conn *conn)
{
    tcplog_set_reading(t, conn, false);
    close(conn->fd);
    if (conn->held != NULL) {
        td_budget_unhold(conn->held_bytes);
        td_batch_unref(conn->held);
        t->n_held--;
    }
    if (conn->reserved > 0) {
        td_budget_release(conn->reserved);
    }
    if (conn->budget_wait) {
        t->n_waiting--;
    }
    td_ndjson_framer_free(&conn->fr);
    if (conn->empty_lines > 0) {
        td_log(TD_LOG_DEBUG, t->id, conn->peer, 0,
               "connection closed; %llu empty lines were skipped",
               (unsigned long long) conn->empty_lines);
    } else {
        td_log(TD_LOG_DEBUG, t->id, conn->peer, 0, "connection closed");
    }
    if (conn->prev != NULL) {
        conn->prev->next = conn->next;
    } else {
        t->conns = conn->next;
    }
    if (conn->next != NULL) {
        conn->next->prev = conn->prev;
    }
    t->n_conns--;
    td_gauge_add(t->open, -1);
    free(conn);
}

/* ---- delivery ---- */

static void
tcplog_hold(tcplog *t, tcplog_conn *conn, td_batch *b, uint32_t pending,
            int64_t now)
{
    conn->held = b;
    conn->held_bytes = td_batch_bytes(b);
    td_budget_hold(conn->held_bytes);
    conn->pending = pending;
    conn->backoff_ms = TCPLOG_BACKOFF_MIN;
    conn->retry_at = now + conn->backoff_ms;
    t->n_held++;
    if (t->next_retry < 0 || conn->retry_at < t->next_retry) {
        t->next_retry = conn->retry_at;
    }
    tcplog_set_reading(t, conn, false);
}

static void
tcplog_lost(tcplog *t, tcplog_conn *conn, size_t n, int rc)
{
    uint64_t sup;

    td_counter_add(t->refused, n);
    if (tcplog_rl_allow(&t->rl_perm, td_mono_ms(), &sup)) {
        td_log(TD_LOG_WARN, t->id, conn->peer, 0,
               "a pipeline rejected %zu log records for good (code %d); "
               "%llu similar messages suppressed", n, rc,
               (unsigned long long) sup);
    }
}

/*
 * Offers a batch to every pipeline. Keeps it on the connection when one
 * refuses; the caller's reference moves to the connection then.
 */
static void
tcplog_deliver(tcplog *t, tcplog_conn *conn, td_batch *b)
{
    uint32_t pending = td_fanout_all(t->out);
    size_t n = td_batch_items(b);
    int rc = td_fanout_consume(t->out, b, &pending);

    if (rc == TD_AGAIN) {
        td_counter_add(t->refused, n);
        td_log(TD_LOG_DEBUG, t->id, conn->peer, 0,
               "pipeline refused %zu log records; reading paused", n);
        tcplog_hold(t, conn, b, pending, td_mono_ms());
        return;
    }
    if (rc == TD_OK) {
        td_counter_add(t->accepted, n);
    } else {
        tcplog_lost(t, conn, n, rc);
    }
    td_batch_unref(b);
}

/* Retries one held batch. True when it is gone (taken or lost). */
static bool
tcplog_retry(tcplog *t, tcplog_conn *conn, int64_t now)
{
    size_t n = td_batch_items(conn->held);
    int rc = td_fanout_consume(t->out, conn->held, &conn->pending);

    if (rc == TD_AGAIN) {
        conn->backoff_ms *= 2;
        if (conn->backoff_ms > TCPLOG_BACKOFF_MAX) {
            conn->backoff_ms = TCPLOG_BACKOFF_MAX;
        }
        conn->retry_at = now + conn->backoff_ms;
        return false;
    }
    if (rc == TD_OK) {
        td_counter_add(t->accepted, n);
    } else {
        tcplog_lost(t, conn, n, rc);
    }
    td_budget_unhold(conn->held_bytes);
    td_batch_unref(conn->held);
    conn->held = NULL;
    t->n_held--;
    return true;
}

/* ---- room in the memory budget ---- */

/*
 * Reserves room for the next read of a connection: the read size, and
 * the budget the read may turn into. 0 or TD_AGAIN (nothing reserved).
 */
static int
tcplog_reserve(tcplog_conn *conn)
{
    size_t room = TCPLOG_RESERVE_MAX, soft = td_budget_soft_limit();
    size_t len, want;

    if (soft != 0 && room > soft / 8) {
        room = soft / 8;
    }
    len = room / conn->expansion;
    if (len > TCPLOG_READ_SIZE) {
        len = TCPLOG_READ_SIZE;
    } else if (len < TCPLOG_READ_MIN) {
        len = TCPLOG_READ_MIN;
    }
    want = len * conn->expansion + TCPLOG_BATCH_SLACK;
    if (td_budget_reserve(want) != TD_OK) {
        return TD_AGAIN;
    }
    conn->reserved = want;
    conn->read_len = len;
    return TD_OK;
}

static void
tcplog_unreserve(tcplog_conn *conn)
{
    td_budget_release(conn->reserved);
    conn->reserved = 0;
}

/*
 * Stops reading a connection until the budget has room for its next
 * read, and schedules the next try. A pause is counted once however
 * often it is retried.
 */
static void
tcplog_budget_pause(tcplog *t, tcplog_conn *conn, int64_t now)
{
    if (!conn->budget_wait) {
        conn->budget_wait = true;
        conn->backoff_ms = TCPLOG_BACKOFF_MIN;
        t->n_waiting++;
        td_counter_add(t->pauses, 1);
        td_log(TD_LOG_DEBUG, t->id, conn->peer, 0,
               "no room in the memory budget for the next read; reading "
               "paused");
    } else {
        conn->backoff_ms *= 2;
        if (conn->backoff_ms > TCPLOG_BACKOFF_MAX) {
            conn->backoff_ms = TCPLOG_BACKOFF_MAX;
        }
    }
    conn->retry_at = now + conn->backoff_ms;
    if (t->next_retry < 0 || conn->retry_at < t->next_retry) {
        t->next_retry = conn->retry_at;
    }
    tcplog_set_reading(t, conn, false);
}

/*
 * Learns what a read really cost in arena memory (the bytes handed out,
 * not the blocks, which the hint sized up front), with a quarter more
 * as margin. Small reads are mostly a batch's fixed cost and teach
 * nothing about the next large one.
 */
static void
tcplog_learn(tcplog_conn *conn, const td_batch *b, size_t len)
{
    size_t used, f;

    if (len < TCPLOG_LEARN_MIN) {
        return;
    }
    used = td_arena_used(b->arena);
    f = (used * 5 + len * 4 - 1) / (len * 4);
    conn->expansion = f < TCPLOG_EXPANSION ? TCPLOG_EXPANSION
                      : f > TCPLOG_EXPANSION_MAX ? TCPLOG_EXPANSION_MAX
                                                 : f;
}

/* ---- retries ---- */

/*
 * Retries one connection that is due: its held batch, or its
 * reservation. True when it may read again (or close).
 */
static bool
tcplog_retry_conn(tcplog *t, tcplog_conn *conn, int64_t now)
{
    if (conn->held != NULL) {
        return tcplog_retry(t, conn, now);
    }
    if (tcplog_reserve(conn) != TD_OK) {
        tcplog_budget_pause(t, conn, now);
        return false;
    }
    conn->budget_wait = false;
    t->n_waiting--;
    return true;
}

/*
 * Retries every held batch and paused reservation that is due and
 * computes the next due time. While shutting down (resume false) no
 * reservation is retried: nothing more will be read.
 */
static void
tcplog_retry_due(tcplog *t, int64_t now, bool resume)
{
    tcplog_conn *conn = t->conns, *next;

    t->next_retry = -1;
    for (; conn != NULL; conn = next) {
        next = conn->next;
        if (conn->held == NULL && (!conn->budget_wait || !resume)) {
            continue;
        }
        if (conn->retry_at <= now && tcplog_retry_conn(t, conn, now)) {
            if (conn->closing) {
                tcplog_conn_close(t, conn);
            } else if (resume) {
                conn->last_active = now;
                tcplog_set_reading(t, conn, true);
            }
            continue;
        }
        if (t->next_retry < 0 || conn->retry_at < t->next_retry) {
            t->next_retry = conn->retry_at;
        }
    }
}

/* ---- reading ---- */

/*
 * A line that was kept but not fully understood (not JSON, a bad field,
 * cut at max_log_size) is said once in the log, with the peer and the
 * reason, at most once a second for the whole receiver; the record
 * itself carries the same reason in its attributes.
 */
static void
tcplog_line_warn(tcplog *t, tcplog_conn *conn, const td_ndjson_line *line)
{
    const char *why = td_ndjson_line_error(&t->bld);
    uint64_t sup;

    if ((why == NULL && !line->truncated)
        || !tcplog_rl_allow(&t->rl_line, td_mono_ms(), &sup)) {
        return;
    }
    if (line->truncated) {
        td_log(TD_LOG_WARN, t->id, conn->peer, 0,
               "a line of %llu bytes was cut to max_log_size (%zu) and "
               "flagged tandem.truncated; %llu similar messages "
               "suppressed", (unsigned long long) line->orig_len,
               line->len, (unsigned long long) sup);
    } else {
        td_log(TD_LOG_WARN, t->id, conn->peer, 0,
               "a line was kept with tandem.parse_error: %s; %llu similar "
               "messages suppressed", why, (unsigned long long) sup);
    }
}

/* Maps one line into the batch, making the batch on the first line. */
static int
tcplog_map(tcplog *t, tcplog_conn *conn, td_batch **b, size_t hint,
           const td_ndjson_line *line)
{
    int rc;

    if (*b == NULL) {
        *b = td_batch_new(TD_SIGNAL_LOGS, hint);
        if (*b == NULL) {
            return TD_ENOMEM;
        }
        td_ndjson_builder_begin(&t->bld, *b, conn->addr, conn->port,
                                td_now_ns());
    }
    rc = td_ndjson_map(&t->bld, line);
    if (rc == 0) {
        conn->empty_lines++;
    } else if (rc == 1) {
        tcplog_line_warn(t, conn, line);
    }
    return rc < 0 ? rc : TD_OK;
}

/*
 * Frames data (and, at end of stream, the partial line) into one batch
 * and delivers it. On ENOMEM the connection is closed: the lines of this
 * read that were mapped into the failed batch are lost and logged.
 */
static void
tcplog_ingest(tcplog *t, tcplog_conn *conn, const char *data, size_t len,
              bool eof)
{
    size_t hint = len * conn->expansion + 1024, used, in_len = len;
    td_batch *b = NULL;
    td_ndjson_line line;
    int rc = TD_OK;

    while (rc == TD_OK) {
        rc = td_ndjson_frame(&conn->fr, data, len, &used, &line);
        if (rc != 1) {
            break;
        }
        data += used;
        len -= used;
        rc = tcplog_map(t, conn, &b, hint, &line);
    }
    if (rc == 0 && eof && td_ndjson_flush(&conn->fr, &line) == 1) {
        rc = tcplog_map(t, conn, &b, hint, &line);
    }
    if (rc < 0) {
        td_log(TD_LOG_ERROR, t->id, conn->peer, ENOMEM,
               "out of memory; %zu log records of this read are lost and "
               "the connection is closed", b != NULL ? td_batch_items(b) : 0);
        td_counter_add(t->refused, b != NULL ? td_batch_items(b) : 0);
        td_batch_unref(b);
        conn->closing = true;
        return;
    }
    if (b != NULL && td_batch_items(b) > 0) {
        tcplog_learn(conn, b, in_len);
        tcplog_deliver(t, conn, b);
    } else {
        td_batch_unref(b);
    }
}

static void
tcplog_readable(tcplog *t, tcplog_conn *conn)
{
    ssize_t n;

    if (!conn->reading || conn->held != NULL) {
        return;
    }
    if (conn->reserved == 0 && tcplog_reserve(conn) != TD_OK) {
        tcplog_budget_pause(t, conn, td_mono_ms());
        return;
    }
    n = read(conn->fd, t->rbuf, conn->read_len);
    if (n > 0) {
        td_counter_add(t->bytes, (uint64_t) n);
        conn->last_active = td_mono_ms();
        tcplog_ingest(t, conn, t->rbuf, (size_t) n, false);
        tcplog_unreserve(conn);
    } else if (n == 0) {
        tcplog_unreserve(conn);
        conn->closing = true;
        tcplog_ingest(t, conn, NULL, 0, true);
    } else {
        int err = errno;

        tcplog_unreserve(conn);
        if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) {
            return;
        }
        /* Complete lines were delivered; the partial one is kept too. */
        td_log(TD_LOG_WARN, t->id, conn->peer, err,
               "read failed; closing the connection");
        conn->closing = true;
        tcplog_ingest(t, conn, NULL, 0, true);
    }
    if (conn->closing) {
        tcplog_set_reading(t, conn, false);
        if (conn->held == NULL) {
            tcplog_conn_close(t, conn);
        }
    }
}

/* ---- accepting ---- */

static void
tcplog_accept_pause(tcplog *t, bool on)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tcplog_tag_listen};

    if (on) {
        epoll_ctl(t->epfd, EPOLL_CTL_DEL, t->lfd, &ev);
        t->accept_paused_until = td_mono_ms() + TCPLOG_ACCEPT_PAUSE;
    } else {
        t->accept_paused_until = 0;
        if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->lfd, &ev) != 0) {
            int err = errno;

            td_log(TD_LOG_ERROR, t->id, NULL, err,
                   "cannot watch the listener again; retrying");
            t->accept_paused_until = td_mono_ms() + TCPLOG_ACCEPT_PAUSE;
        }
    }
}

static void
tcplog_refuse_conn(tcplog *t, int fd, const char *peer)
{
    uint64_t sup;

    close(fd);
    if (tcplog_rl_allow(&t->rl_maxconn, td_mono_ms(), &sup)) {
        td_log(TD_LOG_WARN, t->id, peer, 0,
               "connection closed at once: max_connections (%lld) are "
               "open; %llu more were closed since the last message",
               (long long) t->cfg->max_connections,
               (unsigned long long) sup);
    }
}

static void
tcplog_add_conn(tcplog *t, int fd, const struct sockaddr_storage *ss)
{
    tcplog_conn *conn = calloc(1, sizeof(*conn));

    if (conn == NULL) {
        td_log(TD_LOG_ERROR, t->id, NULL, ENOMEM,
               "out of memory; connection closed at accept");
        close(fd);
        return;
    }
    conn->fd = fd;
    tcplog_peer_name(ss, conn->addr, sizeof(conn->addr), &conn->port);
    tcplog_peer_text(conn->peer, sizeof(conn->peer), conn->addr,
                     conn->port);
    td_ndjson_framer_init(&conn->fr, (size_t) t->cfg->max_log_size);
    conn->expansion = TCPLOG_EXPANSION;
    conn->last_active = td_mono_ms();
    if (t->n_conns >= (size_t) t->cfg->max_connections) {
        tcplog_refuse_conn(t, fd, conn->peer);
        free(conn);
        return;
    }
    conn->next = t->conns;
    if (t->conns != NULL) {
        t->conns->prev = conn;
    }
    t->conns = conn;
    t->n_conns++;
    td_gauge_add(t->open, 1);
    tcplog_set_reading(t, conn, true);
    if (conn->closing) {
        tcplog_conn_close(t, conn);
        return;
    }
    td_log(TD_LOG_DEBUG, t->id, conn->peer, 0, "connection opened");
}

static void
tcplog_accept(tcplog *t)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        uint64_t sup;
        int fd, err;

        fd = accept4(t->lfd, (struct sockaddr *) &ss, &sl,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            tcplog_add_conn(t, fd, &ss);
            continue;
        }
        err = errno;
        if (err == EINTR || err == ECONNABORTED) {
            continue;
        }
        if (err == EAGAIN || err == EWOULDBLOCK) {
            return;
        }
        /* Out of descriptors: the listener stays readable, so back off. */
        if (tcplog_rl_allow(&t->rl_accept, td_mono_ms(), &sup)) {
            td_log(TD_LOG_ERROR, t->id, NULL, err,
                   "accept failed; not accepting for %d ms (%llu similar "
                   "messages suppressed)", TCPLOG_ACCEPT_PAUSE,
                   (unsigned long long) sup);
        }
        tcplog_accept_pause(t, true);
        return;
    }
}

/* ---- the loop ---- */

static void
tcplog_idle_scan(tcplog *t, int64_t now)
{
    int64_t idle = t->cfg->idle_timeout_ms;
    int64_t step = idle / 2;
    tcplog_conn *conn, *next;

    if (idle <= 0 || now < t->next_idle_scan) {
        return;
    }
    step = step < 10 ? 10 : step > 1000 ? 1000 : step;
    t->next_idle_scan = now + step;
    for (conn = t->conns; conn != NULL; conn = next) {
        next = conn->next;
        if (conn->held != NULL || conn->budget_wait || conn->closing
            || now - conn->last_active < idle) {
            continue;
        }
        td_log(TD_LOG_INFO, t->id, conn->peer, 0,
               "closing a connection idle for %lld ms (idle_timeout)",
               (long long) (now - conn->last_active));
        conn->closing = true;
        tcplog_set_reading(t, conn, false);
        tcplog_ingest(t, conn, NULL, 0, true);
        if (conn->held == NULL) {
            tcplog_conn_close(t, conn);
        }
    }
}

/* Milliseconds epoll_wait may sleep: until the next timer, or forever. */
static int
tcplog_timeout(const tcplog *t, int64_t now)
{
    int64_t due = -1;

    if (t->next_retry >= 0) {
        due = t->next_retry;
    }
    if (t->accept_paused_until > 0
        && (due < 0 || t->accept_paused_until < due)) {
        due = t->accept_paused_until;
    }
    if (t->cfg->idle_timeout_ms > 0 && t->n_conns > 0
        && (due < 0 || t->next_idle_scan < due)) {
        due = t->next_idle_scan;
    }
    if (due < 0) {
        return -1;
    }
    return due <= now ? 0 : due - now > 60000 ? 60000 : (int) (due - now);
}

static void
tcplog_drain_wake(tcplog *t)
{
    uint64_t v;

    while (read(t->wakefd, &v, sizeof(v)) > 0) {
    }
}

static void
tcplog_dispatch(tcplog *t, struct epoll_event *evs, int n)
{
    for (int i = 0; i < n; i++) {
        void *p = evs[i].data.ptr;

        if (p == &tcplog_tag_wake) {
            tcplog_drain_wake(t);
        } else if (p == &tcplog_tag_listen) {
            tcplog_accept(t);
        } else {
            tcplog_readable(t, p);
        }
    }
}

/*
 * Hands in the partial line of every connection that holds no refused
 * batch. One that holds a batch keeps its partial line until the batch
 * is taken: the line came after the batch's lines and must follow them.
 */
static void
tcplog_hand_in_partials(tcplog *t)
{
    tcplog_conn *conn, *next;

    for (conn = t->conns; conn != NULL; conn = next) {
        next = conn->next;
        if (conn->held == NULL && td_ndjson_pending(&conn->fr)) {
            tcplog_ingest(t, conn, NULL, 0, true);
        }
    }
}

/*
 * Shutdown inside the thread: no more accepting or reading; partial
 * lines become records; held batches are retried until the deadline,
 * and the partial line of a connection follows once its batch is taken.
 */
static void
tcplog_drain(tcplog *t)
{
    int64_t deadline = atomic_load(&t->deadline), now;
    tcplog_conn *conn;
    size_t lost = 0, conns = 0, partial = 0;

    epoll_ctl(t->epfd, EPOLL_CTL_DEL, t->lfd, NULL);
    close(t->lfd);
    t->lfd = -1;
    for (conn = t->conns; conn != NULL; conn = conn->next) {
        tcplog_set_reading(t, conn, false);
    }
    tcplog_hand_in_partials(t);
    for (now = td_mono_ms(); t->n_held > 0 && now < deadline;
         now = td_mono_ms()) {
        int64_t due = t->next_retry < deadline ? t->next_retry : deadline;
        struct timespec ts;

        if (due > now) {
            ts.tv_sec = (due - now) / 1000;
            ts.tv_nsec = (long) ((due - now) % 1000) * 1000000L;
            nanosleep(&ts, NULL);
            now = td_mono_ms();
        }
        tcplog_retry_due(t, now, false);
        tcplog_hand_in_partials(t);
    }
    for (conn = t->conns; conn != NULL; conn = conn->next) {
        if (conn->held != NULL) {
            lost += td_batch_items(conn->held);
            conns++;
            partial += td_ndjson_pending(&conn->fr);
        }
    }
    if (lost > 0) {
        td_log(TD_LOG_WARN, t->id, NULL, 0,
               "shutdown deadline passed: %zu log records held for %zu "
               "connections (and %zu partial lines after them) could not "
               "be handed to the pipelines and are abandoned", lost, conns,
               partial);
    }
}

static void *
tcplog_thread(void *arg)
{
    struct epoll_event evs[TCPLOG_EVENTS];
    tcplog *t = arg;

    while (!atomic_load(&t->stopping)) {
        int64_t now = td_mono_ms();
        int n = epoll_wait(t->epfd, evs, TCPLOG_EVENTS,
                           tcplog_timeout(t, now));

        if (n < 0) {
            int err = errno;

            if (err != EINTR) {
                td_log(TD_LOG_ERROR, t->id, NULL, err,
                       "epoll_wait failed; the receiver stops");
                break;
            }
            continue;
        }
        tcplog_dispatch(t, evs, n);
        if (atomic_load(&t->stopping)) {
            break;
        }
        now = td_mono_ms();
        if (t->n_held + t->n_waiting > 0 && t->next_retry >= 0
            && now >= t->next_retry) {
            tcplog_retry_due(t, now, true);
        }
        if (t->accept_paused_until > 0 && now >= t->accept_paused_until) {
            tcplog_accept_pause(t, false);
        }
        tcplog_idle_scan(t, now);
    }
    tcplog_drain(t);
    return NULL;
}

/* ---- lifecycle ---- */

static void tcplog_destroy(void *self);

static int
tcplog_metrics(tcplog *t, char *err, size_t errlen)
{
    char labels[512];

    if (td_self_labels(labels, sizeof(labels), "receiver", t->id,
                       "transport", "tcp", NULL) != TD_OK) {
        snprintf(err, errlen, "receiver id \"%s\" is too long for metric "
                 "labels", t->id);
        return TD_EINVAL;
    }
    t->accepted = td_self_counter(
        "tandem_receiver_accepted_log_records_total",
        "Log records a receiver handed to its pipelines.", labels);
    t->refused = td_self_counter(
        "tandem_receiver_refused_log_records_total",
        "Log records refused by a pipeline; TCP receivers retry them, "
        "counting each refused batch once.", labels);
    t->bytes = td_self_counter(
        "tandem_receiver_received_bytes_total",
        "Bytes a receiver read from its clients.", labels);
    t->pauses = td_self_counter(
        "tandem_receiver_memory_pauses_total",
        "Times a connection stopped reading because the memory budget had "
        "no room for its next read; it reads again once there is.",
        labels);
    t->open = td_self_gauge(
        "tandem_receiver_open_connections",
        "Client connections a receiver has open.", labels);
    return TD_OK;
}

static int
tcplog_create(const td_component_ctx *ctx, const void *cfgp, void **self,
              char *err, size_t errlen)
{
    const td_tcplog_cfg *cfg = cfgp;
    tcplog *t;
    int rc;

    if (ctx->out[TD_SIGNAL_LOGS] == NULL) {
        snprintf(err, errlen, "no logs pipeline takes from this receiver");
        return TD_EINVAL;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL || (t->id = strdup(ctx->id)) == NULL) {
        free(t);
        snprintf(err, errlen, "out of memory");
        return TD_ENOMEM;
    }
    t->cfg = cfg;
    t->out = ctx->out[TD_SIGNAL_LOGS];
    t->lfd = t->epfd = t->wakefd = -1;
    t->port = -1;
    t->next_retry = -1;
    t->opts.parse_json = cfg->parse == TD_TCPLOG_PARSE_JSON;
    t->opts.resource = &cfg->resource;
    t->opts.attributes = &cfg->attributes;
    rc = td_ndjson_builder_init(&t->bld, &t->opts);
    if (rc == TD_OK) {
        t->rbuf = malloc(TCPLOG_READ_SIZE);
        rc = t->rbuf != NULL ? TD_OK : TD_ENOMEM;
    }
    if (rc != TD_OK) {
        snprintf(err, errlen, "out of memory");
    } else {
        rc = tcplog_metrics(t, err, errlen);
    }
    if (rc != TD_OK) {
        t->shut = true;
        tcplog_destroy(t);
        return rc;
    }
    *self = t;
    return TD_OK;
}

static int
tcplog_listen(tcplog *t, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[256], portstr[8], addr[INET6_ADDRSTRLEN], where[300];
    int port, rc, one = 1, e;

    if (td_tcplog_split_endpoint(t->cfg->endpoint, host, sizeof(host),
                                 &port, err, errlen) != TD_OK) {
        return TD_EINVAL;
    }
    snprintf(portstr, sizeof(portstr), "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host[0] != '\0' ? host : NULL, portstr, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve \"%s\": %s", host,
                 gai_strerror(rc));
        return TD_ERR;
    }
    t->lfd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK
                    | SOCK_CLOEXEC, ai->ai_protocol);
    if (t->lfd < 0 || setsockopt(t->lfd, SOL_SOCKET, SO_REUSEADDR, &one,
                                 sizeof(one)) != 0
        || bind(t->lfd, ai->ai_addr, ai->ai_addrlen) != 0
        || listen(t->lfd, SOMAXCONN) != 0
        || getsockname(t->lfd, (struct sockaddr *) &ss, &sl) != 0) {
        e = errno;
        freeaddrinfo(ai);
        snprintf(err, errlen, "cannot listen on %s: %s", t->cfg->endpoint,
                 strerror(e));
        return TD_ERR;
    }
    freeaddrinfo(ai);
    tcplog_peer_name(&ss, addr, sizeof(addr), &t->port);
    tcplog_peer_text(where, sizeof(where), addr, t->port);
    td_log(TD_LOG_INFO, t->id, NULL, 0, "listening on %s", where);
    return TD_OK;
}

static int
tcplog_start(void *self, char *err, size_t errlen)
{
    struct epoll_event lev = {.events = EPOLLIN,
                              .data.ptr = &tcplog_tag_listen};
    struct epoll_event wev = {.events = EPOLLIN,
                              .data.ptr = &tcplog_tag_wake};
    tcplog *t = self;
    int rc, e;

    rc = tcplog_listen(t, err, errlen);
    if (rc != TD_OK) {
        return rc;
    }
    t->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (t->wakefd < 0 || t->epfd < 0
        || epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->lfd, &lev) != 0
        || epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wakefd, &wev) != 0) {
        e = errno;
        snprintf(err, errlen, "cannot set up epoll: %s", strerror(e));
        return TD_ERR;
    }
    rc = pthread_create(&t->thread, NULL, tcplog_thread, t);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the thread: %s", strerror(rc));
        return TD_ERR;
    }
    t->thread_started = true;
    return TD_OK;
}

static void
tcplog_shutdown(void *self, int64_t deadline)
{
    tcplog *t = self;
    uint64_t one = 1;

    if (t->shut) {
        return;
    }
    t->shut = true;
    if (t->thread_started) {
        atomic_store(&t->deadline, deadline);
        atomic_store(&t->stopping, true);
        if (write(t->wakefd, &one, sizeof(one)) < 0) {
            int err = errno;

            /* EAGAIN means a wake-up is already pending, which is enough. */
            if (err != EAGAIN) {
                td_log(TD_LOG_ERROR, t->id, NULL, err,
                       "cannot wake the receiver thread");
            }
        }
        pthread_join(t->thread, NULL);
        t->thread_started = false;
    }
    while (t->conns != NULL) {
        tcplog_conn_close(t, t->conns);
    }
    if (t->lfd >= 0) {
        close(t->lfd);
        t->lfd = -1;
    }
}

static void
tcplog_destroy(void *self)
{
    tcplog *t = self;

    tcplog_shutdown(t, td_mono_ms());
    if (t->epfd >= 0) {
        close(t->epfd);
    }
    if (t->wakefd >= 0) {
        close(t->wakefd);
    }
    td_ndjson_builder_free(&t->bld);
    free(t->rbuf);
    free(t->id);
    free(t);
}

int
td_tcplog_port(void *self)
{
    return ((tcplog *) self)->port;
}

const td_component_desc td_tcplog_receiver = {
    .type = "tcplog",
    .kind = TD_KIND_RECEIVER,
    .signals = TD_SIGNAL_BIT(TD_SIGNAL_LOGS),
    .summary = "newline-delimited JSON (or text) logs over TCP",
    .cfg_size = sizeof(td_tcplog_cfg),
    .keys = tcplog_keys,
    .validate = tcplog_validate,
    .create = tcplog_create,
    .start = tcplog_start,
    .shutdown = tcplog_shutdown,
    .destroy = tcplog_destroy,
};
