/*
 * test_admin.c - the own HTTP endpoint on 127.0.0.1 with an ephemeral
 * port, spoken to over a plain socket: /metrics (plain and gzip, inflated
 * with zlib), the health checks, 404, 405, and start failures.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zlib.h>

#include "admin.h"
#include "selfmetrics.h"
#include "td.h"
#include "tt.h"

typedef struct test_resp {
    int status;
    char *head;         /* status line and headers, NUL-terminated */
    char *body;
    size_t body_len;
} test_resp;

static void
test_resp_free(test_resp *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/*
 * Sends one request with "Connection: close" and reads the answer to EOF.
 * Returns 0 or -1.
 */
static int
test_http(int port, const char *method, const char *path,
          const char *extra, test_resp *r)
{
    struct sockaddr_in sa;
    char req[512];
    char *all = NULL, *sep;
    size_t len = 0, cap = 0;
    int fd, n;

    memset(r, 0, sizeof(*r));
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: test\r\n"
                 "Connection: close\r\n%s\r\n", method, path,
                 extra != NULL ? extra : "");
    if (write(fd, req, (size_t) n) != n) {
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t got;

        if (cap - len < 4096) {
            char *grown = realloc(all, cap + 65536);

            if (grown == NULL) {
                break;
            }
            all = grown;
            cap += 65536;
        }
        got = read(fd, all + len, cap - len - 1);
        if (got <= 0) {
            break;
        }
        len += (size_t) got;
    }
    close(fd);
    if (all == NULL) {
        return -1;
    }
    all[len] = '\0';
    sep = strstr(all, "\r\n\r\n");
    if (sep == NULL || sscanf(all, "HTTP/1.%*d %d", &r->status) != 1) {
        free(all);
        return -1;
    }
    r->head = strndup(all, (size_t) (sep - all) + 2);
    r->body_len = len - (size_t) (sep + 4 - all);
    r->body = malloc(r->body_len + 1);
    if (r->head == NULL || r->body == NULL) {
        free(all);
        test_resp_free(r);
        return -1;
    }
    memcpy(r->body, sep + 4, r->body_len);
    r->body[r->body_len] = '\0';
    free(all);
    return 0;
}

/* The value of header name in a response head, or NULL (static). */
static const char *
test_header(const test_resp *r, const char *name)
{
    static char val[256];
    size_t n = strlen(name);

    for (const char *p = strstr(r->head, "\r\n"); p != NULL;
         p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;

        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            size_t len;

            while (*v == ' ') {
                v++;
            }
            len = strcspn(v, "\r");
            snprintf(val, sizeof(val), "%.*s", (int) len, v);
            return val;
        }
    }
    return NULL;
}

static td_admin *
test_start(void)
{
    char err[256] = "";
    td_admin *adm = NULL;
    int rc = td_admin_start("127.0.0.1:0", &adm, err, sizeof(err));

    TT_CHECK_INT(rc, TD_OK);
    if (rc != TD_OK) {
        fprintf(stderr, "start: %s\n", err);
        return NULL;
    }
    TT_CHECK(td_admin_port(adm) > 0);
    return adm;
}

/* Drops the lines of metrics that change between two renders. */
static char *
test_stable_lines(const char *text, size_t len)
{
    char *out = calloc(1, len + 1);
    size_t o = 0;
    const char *p = text, *end = text + len;

    while (out != NULL && p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        size_t n = nl != NULL ? (size_t) (nl - p) + 1 : (size_t) (end - p);

        if (memmem(p, n, "tandem_process_", 15) == NULL) {
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
    }
    return out;
}

static void
test_metrics_plain(void)
{
    td_admin *adm;
    td_counter *c;
    test_resp r;
    const char *v;

    td_self_reset();
    c = td_self_counter("t_admin_requests_total", "Requests.",
                        "path=\"/x\"");
    td_counter_add(c, 17);
    adm = test_start();
    if (adm == NULL) {
        return;
    }
    TT_CHECK_INT(test_http(td_admin_port(adm), "GET", "/metrics", NULL, &r),
                 0);
    TT_CHECK_INT(r.status, 200);
    v = test_header(&r, "Content-Type");
    TT_CHECK_STR(v, "text/plain; version=0.0.4; charset=utf-8");
    TT_CHECK(test_header(&r, "Content-Encoding") == NULL);
    TT_CHECK_STR(test_header(&r, "Vary"), "Accept-Encoding");
    TT_CHECK(r.body != NULL
             && strstr(r.body, "\nt_admin_requests_total{path=\"/x\"} 17\n")
                != NULL);
    TT_CHECK(r.body != NULL
             && strstr(r.body, "tandem_process_open_fds ") != NULL);
    test_resp_free(&r);

    /* HEAD answers the headers only. */
    TT_CHECK_INT(test_http(td_admin_port(adm), "HEAD", "/metrics", NULL,
                           &r), 0);
    TT_CHECK_INT(r.status, 200);
    TT_CHECK_INT(r.body_len, 0);
    test_resp_free(&r);

    td_admin_stop(adm);
    td_self_reset();
}

/* Inflates a gzip member into a NUL-terminated malloc'd string. */
static char *
test_gunzip(const char *data, size_t len, size_t *out_len)
{
    z_stream zs;
    size_t cap = 1 << 20;
    char *out = malloc(cap);
    int zrc;

    if (out == NULL) {
        return NULL;
    }
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        free(out);
        return NULL;
    }
    zs.next_in = (Bytef *) (uintptr_t) data;
    zs.avail_in = (uInt) len;
    zs.next_out = (Bytef *) out;
    zs.avail_out = (uInt) (cap - 1);
    zrc = inflate(&zs, Z_FINISH);
    *out_len = zs.total_out;
    inflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    out[*out_len] = '\0';
    return out;
}

static void
test_metrics_gzip(void)
{
    td_admin *adm;
    test_resp plain, gz;
    char *text, *a, *b;
    size_t text_len = 0;

    td_self_reset();
    for (int i = 0; i < 50; i++) {
        char labels[64];

        snprintf(labels, sizeof(labels), "n=\"%d\"", i);
        td_counter_add(td_self_counter("t_gz_total", "Compressible.",
                                       labels), (uint64_t) i);
    }
    adm = test_start();
    if (adm == NULL) {
        return;
    }
    TT_CHECK_INT(test_http(td_admin_port(adm), "GET", "/metrics",
                           "Accept-Encoding: deflate, gzip;q=0.8\r\n", &gz),
                 0);
    TT_CHECK_INT(gz.status, 200);
    TT_CHECK_STR(test_header(&gz, "Content-Encoding"), "gzip");
    TT_CHECK_STR(test_header(&gz, "Vary"), "Accept-Encoding");
    TT_CHECK(gz.body_len >= 2 && (unsigned char) gz.body[0] == 0x1f
             && (unsigned char) gz.body[1] == 0x8b);

    TT_CHECK_INT(test_http(td_admin_port(adm), "GET", "/metrics", NULL,
                           &plain), 0);
    text = test_gunzip(gz.body, gz.body_len, &text_len);
    TT_CHECK(text != NULL);
    if (text != NULL) {
        TT_CHECK(gz.body_len < text_len);
        a = test_stable_lines(text, text_len);
        b = test_stable_lines(plain.body, plain.body_len);
        TT_CHECK(a != NULL && b != NULL && strstr(a, "t_gz_total") != NULL);
        TT_CHECK_STR(a, b);
        free(a);
        free(b);
    }
    free(text);
    test_resp_free(&gz);
    test_resp_free(&plain);

    /* q=0 refuses gzip: the text comes as it is. */
    TT_CHECK_INT(test_http(td_admin_port(adm), "GET", "/metrics",
                           "Accept-Encoding: gzip;q=0, identity\r\n", &gz),
                 0);
    TT_CHECK(test_header(&gz, "Content-Encoding") == NULL);
    TT_CHECK(strncmp(gz.body, "# HELP ", 7) == 0);
    test_resp_free(&gz);

    td_admin_stop(adm);
    td_self_reset();
}

static void
test_health(void)
{
    td_admin *adm = test_start();
    test_resp r;

    if (adm == NULL) {
        return;
    }
    TT_CHECK_INT(test_http(td_admin_port(adm), "GET", "/health/live", NULL,
                           &r), 0);
    TT_CHECK_INT(r.status, 200);
    TT_CHECK_STR(r.body, "{\"status\":\"live\"}");
    TT_CHECK_STR(test_header(&r, "Content-Type"), "application/json");
    test_resp_free(&r);

    TT_CHECK_INT(test_http(td_admin_port(adm), "GET", "/health/ready", NULL,
                           &r), 0);
    TT_CHECK_INT(r.status, 503);
    TT_CHECK_STR(r.body, "{\"status\":\"not ready\"}");
    test_resp_free(&r);

    td_admin_set_ready(adm, true);
    TT_CHECK_INT(test_http(td_admin_port(adm), "GET", "/health/ready", NULL,
                           &r), 0);
    TT_CHECK_INT(r.status, 200);
    TT_CHECK_STR(r.body, "{\"status\":\"ready\"}");
    test_resp_free(&r);

    td_admin_set_ready(adm, false);
    TT_CHECK_INT(test_http(td_admin_port(adm), "GET", "/health/ready", NULL,
                           &r), 0);
    TT_CHECK_INT(r.status, 503);
    test_resp_free(&r);
    td_admin_stop(adm);
}

static void
test_not_found_and_method(void)
{
    td_admin *adm = test_start();
    test_resp r;

    if (adm == NULL) {
        return;
    }
    TT_CHECK_INT(test_http(td_admin_port(adm), "GET", "/nope", NULL, &r),
                 0);
    TT_CHECK_INT(r.status, 404);
    TT_CHECK(r.body_len > 0);
    test_resp_free(&r);

    TT_CHECK_INT(test_http(td_admin_port(adm), "POST", "/metrics",
                           "Content-Length: 0\r\n", &r), 0);
    TT_CHECK_INT(r.status, 405);
    TT_CHECK_STR(test_header(&r, "Allow"), "GET, HEAD");
    test_resp_free(&r);

    TT_CHECK_INT(test_http(td_admin_port(adm), "DELETE", "/health/live",
                           NULL, &r), 0);
    TT_CHECK_INT(r.status, 405);
    test_resp_free(&r);
    td_admin_stop(adm);
}

static int
test_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

static void
test_start_errors(void)
{
    td_admin *adm = test_start(), *second = NULL;
    char addr[64], err[256];
    int fds;

    if (adm == NULL) {
        return;
    }
    /* The port is taken: the message names the address and the errno. */
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", td_admin_port(adm));
    fds = test_count_fds();
    err[0] = '\0';
    TT_CHECK(td_admin_start(addr, &second, err, sizeof(err)) != TD_OK);
    TT_CHECK(second == NULL);
    TT_CHECK(strstr(err, addr) != NULL);
    TT_CHECK(strstr(err, strerror(EADDRINUSE)) != NULL);
    TT_CHECK_INT(test_count_fds(), fds);
    td_admin_stop(adm);
    td_admin_stop(NULL);

    TT_CHECK_INT(td_admin_start("no-port", &second, err, sizeof(err)),
                 TD_EINVAL);
    TT_CHECK(strstr(err, "no-port") != NULL);
    TT_CHECK_INT(td_admin_start("127.0.0.1:70000", &second, err,
                                sizeof(err)), TD_EINVAL);
    TT_CHECK_INT(td_admin_start("127.0.0.1:http", &second, err,
                                sizeof(err)), TD_EINVAL);
    TT_CHECK_INT(td_admin_start("example.com:80", &second, err,
                                sizeof(err)), TD_EINVAL);
    TT_CHECK(strstr(err, "example.com:80") != NULL);
    TT_CHECK_INT(td_admin_start("::1:80", &second, err, sizeof(err)),
                 TD_EINVAL);
    TT_CHECK(second == NULL);
}

static void
test_other_addresses(void)
{
    char err[256] = "";
    td_admin *adm = NULL;
    test_resp r;
    int fd;
    struct sockaddr_in6 sa6;

    /* localhost needs no name lookup: it is 127.0.0.1. */
    TT_CHECK_INT(td_admin_start("localhost:0", &adm, err, sizeof(err)),
                 TD_OK);
    if (adm != NULL) {
        TT_CHECK_INT(test_http(td_admin_port(adm), "GET", "/health/live",
                               NULL, &r), 0);
        TT_CHECK_INT(r.status, 200);
        test_resp_free(&r);
        td_admin_stop(adm);
        adm = NULL;
    }

    /* [::1] works wherever this host can bind IPv6 loopback at all. */
    fd = socket(AF_INET6, SOCK_STREAM, 0);
    memset(&sa6, 0, sizeof(sa6));
    sa6.sin6_family = AF_INET6;
    sa6.sin6_addr = in6addr_loopback;
    if (fd >= 0 && bind(fd, (struct sockaddr *) &sa6, sizeof(sa6)) == 0) {
        TT_CHECK_INT(td_admin_start("[::1]:0", &adm, err, sizeof(err)),
                     TD_OK);
        TT_CHECK(adm == NULL || td_admin_port(adm) > 0);
        td_admin_stop(adm);
    } else {
        fprintf(stderr, "note: no IPv6 loopback here, [::1] not tried\n");
    }
    if (fd >= 0) {
        close(fd);
    }
}

static const tt_case cases[] = {
    {"metrics_plain", test_metrics_plain},
    {"metrics_gzip", test_metrics_gzip},
    {"health", test_health},
    {"not_found_and_method", test_not_found_and_method},
    {"start_errors", test_start_errors},
    {"other_addresses", test_other_addresses},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
