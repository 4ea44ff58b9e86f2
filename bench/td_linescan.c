/*
 * td_linescan.c - the physical limit for tcplog on this machine: a TCP
 * server that does nothing with its input but find the newlines.
 *
 * It serves connections the way tcplog does (one thread, level-triggered
 * epoll, non-blocking sockets, 64 KiB reads) and counts lines with
 * memchr(), so the difference between its CPU cost and tandem's is what
 * framing, JSON parsing, the telemetry model and the pipeline cost.
 *
 *   td_linescan [--host H] [--port P] --connections N
 *
 * prints "listening on PORT" on stdout once bound, then, after N
 * connections have been served and closed, one JSON object with the
 * lines, bytes, CPU seconds and peak RSS of the process.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define LS_READ_SIZE (64 * 1024)
#define LS_EVENTS    64

static int
ls_listen(const char *host, const char *port)
{
    struct addrinfo hints = { 0 }, *res;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd, one = 1;

    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host, port, &hints, &res) != 0) {
        fprintf(stderr, "td_linescan: cannot resolve %s\n", host);
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0
        || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0
        || bind(fd, res->ai_addr, res->ai_addrlen) < 0
        || listen(fd, 512) < 0
        || getsockname(fd, (struct sockaddr *) &ss, &sl) < 0) {
        fprintf(stderr, "td_linescan: listen on %s:%s: %s\n", host, port,
                strerror(errno));
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    printf("listening on %d\n",
           ntohs(ss.ss_family == AF_INET6
                     ? ((struct sockaddr_in6 *) &ss)->sin6_port
                     : ((struct sockaddr_in *) &ss)->sin_port));
    fflush(stdout);
    return fd;
}

static uint64_t
ls_count(const char *p, size_t n)
{
    const char *end = p + n;
    uint64_t lines = 0;

    while ((p = memchr(p, '\n', (size_t) (end - p))) != NULL) {
        lines++;
        p++;
    }
    return lines;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "host", required_argument, NULL, 'h' },
        { "port", required_argument, NULL, 'p' },
        { "connections", required_argument, NULL, 'c' },
        { NULL, 0, NULL, 0 }
    };
    const char *host = "127.0.0.1", *port = "0";
    struct epoll_event ev, evs[LS_EVENTS];
    uint64_t lines = 0, bytes = 0;
    int conns = 0, closed = 0, lfd, epfd, ch;
    struct rusage ru;
    char *buf;

    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h': host = optarg; break;
        case 'p': port = optarg; break;
        case 'c': conns = atoi(optarg); break;
        default: conns = 0; optind = argc; break;
        }
    }
    if (conns < 1) {
        fprintf(stderr, "usage: td_linescan [--host H] [--port P]"
                        " --connections N\n");
        return 2;
    }
    buf = malloc(LS_READ_SIZE);
    lfd = ls_listen(host, port);
    epfd = epoll_create1(0);
    if (buf == NULL || lfd < 0 || epfd < 0) {
        return 1;
    }
    ev = (struct epoll_event) { .events = EPOLLIN, .data.fd = lfd };
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);

    while (closed < conns) {
        int n = epoll_wait(epfd, evs, LS_EVENTS, -1);

        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            ssize_t got;

            if (fd == lfd) {
                int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

                if (cfd >= 0) {
                    ev = (struct epoll_event) { .events = EPOLLIN,
                                                .data.fd = cfd };
                    epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &ev);
                }
                continue;
            }
            got = read(fd, buf, LS_READ_SIZE);
            if (got > 0) {
                bytes += (uint64_t) got;
                lines += ls_count(buf, (size_t) got);
            } else if (got == 0 || errno != EAGAIN) {
                close(fd);
                closed++;
            }
        }
    }

    getrusage(RUSAGE_SELF, &ru);
    printf("{\"lines\":%llu,\"bytes\":%llu,\"cpu_s\":%.3f,"
           "\"max_rss_kb\":%ld}\n",
           (unsigned long long) lines, (unsigned long long) bytes,
           (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
               + (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
           ru.ru_maxrss);
    free(buf);
    return 0;
}
