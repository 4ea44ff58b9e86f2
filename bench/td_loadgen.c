/*
 * td_loadgen.c - sends realistic newline-delimited JSON log lines to a TCP
 * endpoint over N connections, one thread per connection, and prints what
 * it sent as one JSON object on stdout.
 *
 * Every line carries an id "c<conn>-<seq>" so that a checker can prove
 * each line arrived exactly once: as the "seq" key of JSON lines, and as
 * "id=c<conn>-<seq>" at the start of the text of plain (not JSON) lines
 * and of over-long lines. Lines are about 250-350 bytes with varied
 * services, levels, messages, numbers, trace context and a nested map,
 * drawn from a seeded xorshift generator so that runs repeat.
 *
 * Writes are blocking: when the receiver stops reading, the kernel's
 * buffers fill and this program blocks, which is what the back-pressure
 * test observes.
 *
 *   td_loadgen --host H --port P [--connections N] [--lines TOTAL]
 *              [--bad-every K] [--long-every K] [--long-size BYTES]
 *              [--seed S]
 *   td_loadgen --file PATH [--lines TOTAL] ...
 *
 * --rate LINES_PER_S paces the sender (over all connections together);
 * --duration SECONDS stops it after that long, at a line boundary, and
 * the lines it reports are the lines it wrote.
 *
 * The second form writes the lines of one connection to a file instead,
 * so that a benchmark can replay the very same bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LG_CHUNK (256 * 1024)

typedef struct lg_opts {
    const char *host;
    const char *port;
    const char *file;       /* write here instead of connecting */
    int conns;
    uint64_t lines;
    uint64_t bad_every;     /* 0: none */
    uint64_t long_every;    /* 0: none */
    size_t long_size;
    uint64_t seed;
    double rate;            /* lines per second in all, 0: unpaced */
    double duration;        /* seconds, 0: until --lines are sent */
} lg_opts;

typedef struct lg_conn {
    const lg_opts *opts;
    int index;
    uint64_t lines;         /* lines this connection sends */
    uint64_t rng;
    uint64_t bad, longs, bytes;
    uint64_t sent;          /* lines written */
    int err;                /* errno of a failure, 0 when all was sent */
    const char *what;       /* the call that failed */
    pthread_t thread;
} lg_conn;

static const char *const lg_services[] = {
    "chat-gateway", "presence", "room-router", "auth", "media-relay",
    "billing", "notifier"
};
static const char *const lg_levels[] = {
    "info", "info", "info", "debug", "warn", "error", "INFO", "Warning"
};
static const char *const lg_msgs[] = {
    "message delivered", "client connected", "client disconnected",
    "room joined", "presence update fanned out", "token refreshed",
    "slow consumer detected, buffering", "upstream timeout, retrying",
    "rate limit applied to client"
};
static const char *const lg_methods[] = { "GET", "POST", "PUT", "DELETE" };
static const char *const lg_regions[] = {
    "eu-west-1", "us-east-2", "ap-south-1", "sa-east-1"
};
static const int lg_status[] = { 200, 200, 200, 201, 204, 400, 404, 503 };

#define LG_PICK(rng, arr) (arr[lg_next(rng) % (sizeof(arr) / sizeof(arr[0]))])

static uint64_t
lg_next(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static void
lg_usage(FILE *f)
{
    fprintf(f,
            "usage: td_loadgen {--host HOST --port PORT | --file PATH}"
            " [--connections N]\n"
            "                  [--rate LINES_PER_S] [--duration SECONDS]\n"
            "                  [--lines TOTAL] [--bad-every K]"
            " [--long-every K]\n"
            "                  [--long-size BYTES] [--seed S]\n");
}

/* A JSON log line of about 250-350 bytes. Returns its length. */
static size_t
lg_json_line(lg_conn *c, uint64_t seq, char *out, size_t cap)
{
    uint64_t *r = &c->rng;
    uint64_t ms = 1764800000000ULL + seq * 3 + (uint64_t) c->index;
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    char ts[32];
    int n;

    gmtime_r(&secs, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(out, cap,
                 "{\"ts\":\"%s.%03uZ\",\"level\":\"%s\",\"service\":\"%s\","
                 "\"msg\":\"%s\",\"seq\":\"c%d-%llu\",\"room\":\"room-%u\","
                 "\"user_id\":%u,\"latency_ms\":%u.%02u,"
                 "\"trace_id\":\"%016llx%016llx\",\"span_id\":\"%016llx\","
                 "\"http\":{\"method\":\"%s\",\"path\":\"/rooms/%u\","
                 "\"status\":%d},\"region\":\"%s\"}\n",
                 ts, (unsigned) (ms % 1000), LG_PICK(r, lg_levels),
                 LG_PICK(r, lg_services), LG_PICK(r, lg_msgs), c->index,
                 (unsigned long long) seq, (unsigned) (lg_next(r) % 5000),
                 (unsigned) (lg_next(r) % 1000000),
                 (unsigned) (lg_next(r) % 400), (unsigned) (lg_next(r) % 100),
                 (unsigned long long) lg_next(r) | 1,
                 (unsigned long long) lg_next(r),
                 (unsigned long long) lg_next(r) | 1,
                 LG_PICK(r, lg_methods), (unsigned) (lg_next(r) % 5000),
                 LG_PICK(r, lg_status), LG_PICK(r, lg_regions));
    return (size_t) n;
}

/* A line that is not JSON, as a badly configured logger writes. */
static size_t
lg_plain_line(lg_conn *c, uint64_t seq, char *out, size_t cap)
{
    int n = snprintf(out, cap,
                     "id=c%d-%llu %s plain text from a legacy logger:"
                     " user=%u room=room-%u\n",
                     c->index, (unsigned long long) seq,
                     LG_PICK(&c->rng, lg_levels),
                     (unsigned) (lg_next(&c->rng) % 1000000),
                     (unsigned) (lg_next(&c->rng) % 5000));

    return (size_t) n;
}

/*
 * A JSON line of long_size bytes (newline included) whose message starts
 * with the id, so that the part a receiver keeps still names the line.
 */
static size_t
lg_long_line(lg_conn *c, uint64_t seq, char *out, size_t cap)
{
    size_t size = c->opts->long_size;
    int n;

    if (size + 1 > cap) {
        size = cap - 1;
    }
    n = snprintf(out, cap, "{\"msg\":\"id=c%d-%llu stack trace:",
                 c->index, (unsigned long long) seq);
    for (size_t i = (size_t) n; i + 3 < size; i++) {
        out[i] = (char) ('a' + i % 26);
    }
    if (size >= (size_t) n + 3) {
        memcpy(out + size - 3, "\"}\n", 3);
    }
    return size;
}

static int
lg_connect(const lg_opts *o, const char **what)
{
    struct addrinfo hints = { 0 }, *res, *ai;
    int fd = -1, rc, err = 0;

    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(o->host, o->port, &hints, &res);
    if (rc != 0) {
        *what = "getaddrinfo";
        errno = EHOSTUNREACH;
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        *what = "connect";
        errno = err;
    }
    return fd;
}

static int
lg_write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

static double
lg_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) (t.tv_sec - t0->tv_sec)
           + (double) (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * After sent lines of one connection: sleeps until they are due at
 * per_s lines a second, and says whether --duration is over.
 */
static bool
lg_pace(const lg_opts *o, const struct timespec *t0, double per_s,
        uint64_t sent)
{
    double ahead;

    if (per_s > 0 && (ahead = (double) sent / per_s - lg_since(t0)) > 0) {
        struct timespec ts = { (time_t) ahead,
                               (long) ((ahead - (double) (time_t) ahead)
                                       * 1e9) };

        nanosleep(&ts, NULL);
    }
    return o->duration > 0 && lg_since(t0) >= o->duration;
}

static void *
lg_run(void *arg)
{
    lg_conn *c = arg;
    const lg_opts *o = c->opts;
    size_t room = LG_CHUNK + o->long_size + 1024;
    char *buf = malloc(room);
    double per_s = o->rate / o->conns;
    /* Paced, lines go out in bursts of about 10 ms. */
    uint64_t batch = per_s / 100 >= 1 ? (uint64_t) (per_s / 100) : 1;
    struct timespec t0;
    size_t len = 0;
    int fd;

    if (buf == NULL) {
        c->err = ENOMEM;
        c->what = "malloc";
        return NULL;
    }
    if (o->file != NULL) {
        fd = open(o->file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        c->what = "open";
    } else {
        fd = lg_connect(o, &c->what);
    }
    if (fd < 0) {
        c->err = errno;
        free(buf);
        return NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t seq = 0; seq < c->lines; seq++) {
        size_t cap = room - len;

        if (o->long_every && seq % o->long_every == o->long_every - 1) {
            len += lg_long_line(c, seq, buf + len, cap);
            c->longs++;
        } else if (o->bad_every && seq % o->bad_every == o->bad_every - 1) {
            len += lg_plain_line(c, seq, buf + len, cap);
            c->bad++;
        } else {
            len += lg_json_line(c, seq, buf + len, cap);
        }
        if (len >= LG_CHUNK || seq + 1 == c->lines
            || (per_s > 0 && seq + 1 - c->sent >= batch)) {
            if (lg_write_all(fd, buf, len) != 0) {
                c->err = errno;
                c->what = "send";
                break;
            }
            c->bytes += len;
            c->sent = seq + 1;
            len = 0;
            if (lg_pace(o, &t0, per_s, c->sent)) {
                break;
            }
        }
    }
    /* Half-close and wait for the receiver to close: it read everything. */
    if (c->err == 0 && o->file == NULL) {
        char tmp[256];

        shutdown(fd, SHUT_WR);
        while (recv(fd, tmp, sizeof(tmp), 0) > 0) {
        }
    }
    close(fd);
    free(buf);
    return NULL;
}

static int
lg_parse_args(int argc, char **argv, lg_opts *o)
{
    static const struct option longopts[] = {
        { "host", required_argument, NULL, 'h' },
        { "port", required_argument, NULL, 'p' },
        { "connections", required_argument, NULL, 'c' },
        { "lines", required_argument, NULL, 'n' },
        { "bad-every", required_argument, NULL, 'b' },
        { "long-every", required_argument, NULL, 'l' },
        { "long-size", required_argument, NULL, 's' },
        { "seed", required_argument, NULL, 'r' },
        { "file", required_argument, NULL, 'f' },
        { "rate", required_argument, NULL, 'R' },
        { "duration", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, '?' },
        { NULL, 0, NULL, 0 }
    };
    int ch;

    *o = (lg_opts) { .host = "127.0.0.1", .conns = 1, .lines = 100000,
                     .long_size = 4096, .seed = 1 };
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h': o->host = optarg; break;
        case 'p': o->port = optarg; break;
        case 'c': o->conns = atoi(optarg); break;
        case 'n': o->lines = strtoull(optarg, NULL, 10); break;
        case 'b': o->bad_every = strtoull(optarg, NULL, 10); break;
        case 'l': o->long_every = strtoull(optarg, NULL, 10); break;
        case 's': o->long_size = strtoull(optarg, NULL, 10); break;
        case 'r': o->seed = strtoull(optarg, NULL, 10); break;
        case 'f': o->file = optarg; break;
        case 'R': o->rate = strtod(optarg, NULL); break;
        case 'd': o->duration = strtod(optarg, NULL); break;
        default: return -1;
        }
    }
    if ((o->port == NULL) == (o->file == NULL)
        || (o->file != NULL && o->conns != 1) || o->conns < 1
        || o->conns > 4096
        || o->long_size < 64 || o->long_size > (64u << 20)) {
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    uint64_t bad = 0, longs = 0, bytes = 0, sent = 0;
    struct timespec t0, t1;
    lg_conn *conns;
    double secs;
    lg_opts o;
    int failed = 0;

    signal(SIGPIPE, SIG_IGN);   /* a closed peer is an error, not death */
    if (lg_parse_args(argc, argv, &o) != 0) {
        lg_usage(stderr);
        return 2;
    }
    conns = calloc((size_t) o.conns, sizeof(*conns));
    if (conns == NULL) {
        perror("td_loadgen: calloc");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < o.conns; i++) {
        lg_conn *c = &conns[i];

        c->opts = &o;
        c->index = i;
        c->lines = o.lines / (uint64_t) o.conns
                   + ((uint64_t) i < o.lines % (uint64_t) o.conns);
        c->rng = (o.seed + 1) * 0x9E3779B97F4A7C15ULL + (uint64_t) i * 7919;
        if (pthread_create(&c->thread, NULL, lg_run, c) != 0) {
            fprintf(stderr, "td_loadgen: pthread_create failed\n");
            return 1;
        }
    }
    for (int i = 0; i < o.conns; i++) {
        lg_conn *c = &conns[i];

        pthread_join(c->thread, NULL);
        if (c->err != 0) {
            fprintf(stderr, "td_loadgen: connection %d: %s: %s\n", i,
                    c->what, strerror(c->err));
            failed = 1;
        }
        bad += c->bad;
        sent += c->sent;
        longs += c->longs;
        bytes += c->bytes;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double) (t1.tv_sec - t0.tv_sec)
           + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("{\"lines\":%llu,\"connections\":%d,\"bad\":%llu,\"long\":%llu,"
           "\"bytes\":%llu,\"seconds\":%.3f,\"lines_per_s\":%.0f,"
           "\"mb_per_s\":%.2f}\n",
           (unsigned long long) sent, o.conns, (unsigned long long) bad,
           (unsigned long long) longs, (unsigned long long) bytes, secs,
           (double) sent / secs, (double) bytes / secs / 1e6);
    free(conns);
    return failed;
}
