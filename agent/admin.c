/*
 * admin.c - tandem's own HTTP endpoint on libmicrohttpd: /metrics in the
 * Prometheus text format (gzip when the client asks for it) and the two
 * health checks.
 *
 * The server runs on libmicrohttpd's internal polling thread (epoll where
 * the library has it, else poll). The only state shared with the main
 * thread is the ready flag, an atomic; /metrics reads the registry through
 * td_self_render(), which takes the registry's own lock. /health/ready
 * also reads the memory budget's limited state (lock-free atomics).
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <zlib.h>

#include "admin.h"
#include "budget.h"
#include "buf.h"
#include "log.h"
#include "selfmetrics.h"
#include "td.h"

#define TD_ADMIN_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct td_admin {
    struct MHD_Daemon *daemon;
    atomic_bool ready;
    /*
     * While MHD_start_daemon() runs, the library's messages are kept in
     * start_msg instead of being logged: td_admin_start() reports the
     * failure itself, once, with the address.
     */
    atomic_bool starting;
    char start_msg[512];
    int port;
};

static void
td_admin_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
td_admin_log(void *cls, const char *fmt, va_list ap)
{
    td_admin *adm = cls;
    char msg[512];
    size_t n;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) {
        msg[--n] = '\0';
    }
    if (atomic_load(&adm->starting)) {
        snprintf(adm->start_msg, sizeof(adm->start_msg), "%s", msg);
        return;
    }
    td_log(TD_LOG_WARN, "admin", NULL, 0, "libmicrohttpd: %s", msg);
}

/*
 * True when an Accept-Encoding value admits gzip (RFC 9110 section
 * 12.5.3): a "gzip", "x-gzip" or "*" coding whose q is not zero.
 */
static bool
td_admin_accepts_gzip(const char *value)
{
    const char *p = value;

    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t) (end - p) : strlen(p);
        char tok[64];
        char *semi, *name = tok, *q;
        size_t n;

        if (len < sizeof(tok)) {
            memcpy(tok, p, len);
            tok[len] = '\0';
            semi = strchr(tok, ';');
            if (semi != NULL) {
                *semi = '\0';
            }
            while (*name == ' ' || *name == '\t') {
                name++;
            }
            n = strlen(name);
            while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t')) {
                name[--n] = '\0';
            }
            if (strcasecmp(name, "gzip") == 0
                || strcasecmp(name, "x-gzip") == 0
                || strcmp(name, "*") == 0) {
                q = semi != NULL ? strstr(semi + 1, "q=") : NULL;
                if (q == NULL || strtod(q + 2, NULL) > 0.0) {
                    return true;
                }
            }
        }
        p = end != NULL ? end + 1 : NULL;
    }
    return false;
}

/*
 * Compresses len bytes into a gzip member (RFC 1952) in a malloc'd
 * buffer. 0, or TD_ENOMEM / TD_ERR.
 */
static int
td_admin_gzip(const char *data, size_t len, char **out, size_t *out_len)
{
    z_stream zs;
    uLong bound;
    char *buf;
    int zrc;

    memset(&zs, 0, sizeof(zs));
    /* 15 window bits plus 16 asks zlib for a gzip header and trailer. */
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return TD_ENOMEM;
    }
    bound = deflateBound(&zs, (uLong) len);
    buf = malloc(bound);
    if (buf == NULL) {
        deflateEnd(&zs);
        return TD_ENOMEM;
    }
    zs.next_in = (Bytef *) (uintptr_t) data;
    zs.avail_in = (uInt) len;
    zs.next_out = (Bytef *) buf;
    zs.avail_out = (uInt) bound;
    zrc = deflate(&zs, Z_FINISH);
    *out_len = (size_t) zs.total_out;
    deflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        free(buf);
        return TD_ERR;
    }
    *out = buf;
    return TD_OK;
}

static enum MHD_Result
td_admin_send(struct MHD_Connection *conn, unsigned status,
              const char *type, const char *body)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(strlen(body),
                                           (void *) (uintptr_t) body,
                                           MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    }
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result
td_admin_metrics(struct MHD_Connection *conn)
{
    td_buf text = TD_BUF_INIT;
    struct MHD_Response *resp;
    const char *accept;
    enum MHD_Result ret;
    char *body;
    size_t len;
    bool gz;

    if (td_self_render(&text) != TD_OK) {
        td_buf_free(&text);
        return td_admin_send(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                             "text/plain", "out of memory\n");
    }
    accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                         MHD_HTTP_HEADER_ACCEPT_ENCODING);
    gz = accept != NULL && td_admin_accepts_gzip(accept);
    if (gz && td_admin_gzip(text.data != NULL ? text.data : "", text.len,
                            &body, &len) == TD_OK) {
        td_buf_free(&text);
    } else {
        /* Without gzip (or when it failed) the text goes as it is. */
        gz = false;
        len = text.len;
        body = text.data;
        if (body == NULL) {
            body = calloc(1, 1);
            if (body == NULL) {
                return MHD_NO;
            }
        }
    }

    resp = MHD_create_response_from_buffer(len, body,
                                           MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            TD_ADMIN_METRICS_TYPE);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY,
                            MHD_HTTP_HEADER_ACCEPT_ENCODING);
    if (gz) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING,
                                "gzip");
    }
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

/*
 * Every request is answered on its first call: none of the endpoints
 * takes a body, and a request with one is refused before it is read.
 */
static enum MHD_Result
td_admin_handle(void *cls, struct MHD_Connection *conn, const char *url,
                const char *method, const char *version,
                const char *upload_data, size_t *upload_data_size,
                void **req_cls)
{
    td_admin *adm = cls;

    (void) version;
    (void) upload_data;
    (void) upload_data_size;
    (void) req_cls;

    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0
        && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        return td_admin_send(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                             "text/plain", "method not allowed\n");
    }
    if (strcmp(url, "/metrics") == 0) {
        return td_admin_metrics(conn);
    }
    if (strcmp(url, "/health/live") == 0) {
        return td_admin_send(conn, MHD_HTTP_OK, "application/json",
                             "{\"status\":\"live\"}");
    }
    if (strcmp(url, "/health/ready") == 0) {
        if (!atomic_load(&adm->ready)) {
            return td_admin_send(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                 "application/json",
                                 "{\"status\":\"not ready\"}");
        }
        if (td_budget_limited()) {
            return td_admin_send(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                                 "application/json",
                                 "{\"status\":\"not ready\","
                                 "\"reason\":\"memory limited\"}");
        }
        return td_admin_send(conn, MHD_HTTP_OK, "application/json",
                             "{\"status\":\"ready\"}");
    }
    return td_admin_send(conn, MHD_HTTP_NOT_FOUND, "text/plain",
                         "404 page not found\n");
}

/*
 * Splits "host:port", "[v6]:port" or ":port" into numeric host and port
 * strings. An empty host means every IPv4 interface; "localhost" is
 * taken as 127.0.0.1 so that starting needs no name lookup.
 */
static int
td_admin_split(const char *address, char *host, size_t hostlen,
               char *port, size_t portlen)
{
    const char *colon, *h = address;
    size_t hlen;

    if (address[0] == '[') {
        const char *close = strchr(address, ']');

        if (close == NULL || close[1] != ':') {
            return TD_EINVAL;
        }
        h = address + 1;
        hlen = (size_t) (close - h);
        colon = close + 1;
    } else {
        colon = strrchr(address, ':');
        if (colon == NULL || memchr(address, ':', (size_t) (colon - address))
                             != NULL) {
            return TD_EINVAL;
        }
        hlen = (size_t) (colon - address);
    }
    if (hlen >= hostlen || strlen(colon + 1) >= portlen
        || colon[1] == '\0' || strspn(colon + 1, "0123456789")
                               != strlen(colon + 1)) {
        return TD_EINVAL;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (hlen == 0 || strcmp(host, "localhost") == 0) {
        snprintf(host, hostlen, "%s", hlen == 0 ? "0.0.0.0" : "127.0.0.1");
    }
    snprintf(port, portlen, "%s", colon + 1);
    return atoi(port) <= 65535 ? TD_OK : TD_EINVAL;
}

static int
td_admin_resolve(const char *address, struct addrinfo **res, char *err,
                 size_t errlen)
{
    struct addrinfo hints;
    char host[256], port[16];
    int grc;

    if (td_admin_split(address, host, sizeof(host), port, sizeof(port))
        != TD_OK) {
        snprintf(err, errlen, "invalid address \"%s\": expected host:port "
                 "with a numeric port (IPv6 as [addr]:port)", address);
        return TD_EINVAL;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    grc = getaddrinfo(host, port, &hints, res);
    if (grc != 0) {
        snprintf(err, errlen, "invalid address \"%s\": %s (the host must "
                 "be an IP address or localhost)", address,
                 gai_strerror(grc));
        return TD_EINVAL;
    }
    return TD_OK;
}

int
td_admin_start(const char *address, td_admin **out, char *err,
               size_t errlen)
{
    struct addrinfo *res = NULL;
    const union MHD_DaemonInfo *info;
    unsigned flags;
    td_admin *adm;
    int rc, saved;

    *out = NULL;
    rc = td_admin_resolve(address, &res, err, errlen);
    if (rc != TD_OK) {
        return rc;
    }
    adm = calloc(1, sizeof(*adm));
    if (adm == NULL) {
        freeaddrinfo(res);
        snprintf(err, errlen, "out of memory");
        return TD_ENOMEM;
    }
    atomic_init(&adm->ready, false);
    atomic_init(&adm->starting, true);

    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES
             ? MHD_USE_EPOLL : MHD_USE_POLL;
    if (res->ai_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    /* The logger must be the first option to catch every message. */
    errno = 0;
    adm->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, td_admin_handle, adm,
        MHD_OPTION_EXTERNAL_LOGGER, td_admin_log, adm,
        MHD_OPTION_SOCK_ADDR, res->ai_addr,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 30,
        MHD_OPTION_END);
    saved = errno;
    freeaddrinfo(res);
    atomic_store(&adm->starting, false);

    if (adm->daemon == NULL) {
        if (saved != 0) {
            snprintf(err, errlen, "cannot listen on %s: %s", address,
                     strerror(saved));
        } else {
            snprintf(err, errlen, "cannot listen on %s: %s", address,
                     adm->start_msg[0] ? adm->start_msg
                                       : "the HTTP server did not start");
        }
        free(adm);
        return TD_ERR;
    }
    info = MHD_get_daemon_info(adm->daemon, MHD_DAEMON_INFO_BIND_PORT);
    adm->port = info != NULL ? (int) info->port : -1;
    *out = adm;
    return TD_OK;
}

int
td_admin_port(const td_admin *adm)
{
    return adm != NULL ? adm->port : -1;
}

void
td_admin_set_ready(td_admin *adm, bool ready)
{
    if (adm != NULL) {
        atomic_store(&adm->ready, ready);
    }
}

void
td_admin_stop(td_admin *adm)
{
    if (adm == NULL) {
        return;
    }
    MHD_stop_daemon(adm->daemon);
    free(adm);
}
