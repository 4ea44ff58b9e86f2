/*
 * log.c - tandem's own log lines: one JSON object per line on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "td.h"

int td_log_level_cur = TD_LOG_INFO;

static const char *const td_log_names[] = {"error", "warn", "info", "debug"};

void
td_log_set_level(td_log_level level)
{
    td_log_level_cur = (int) level;
}

int
td_log_level_parse(const char *name)
{
    for (size_t i = 0; i < TD_ARRAY_SIZE(td_log_names); i++) {
        if (strcmp(name, td_log_names[i]) == 0) {
            return (int) i;
        }
    }
    if (strcmp(name, "warning") == 0) {
        return TD_LOG_WARN;
    }
    return -1;
}

void
td_log_write(td_log_level level, const char *component, const char *peer,
             int err, const char *fmt, ...)
{
    char stack[1024], ts[32], msg[768];
    td_buf b = TD_BUF_INIT;
    struct timeval tv;
    struct tm tm;
    va_list ap;
    int n;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) {
        msg[0] = '\0';
    }

    td_buf_printf(&b, "{\"ts\":\"%s.%03dZ\",\"level\":\"%s\","
                  "\"component\":", ts, (int) (tv.tv_usec / 1000),
                  td_log_names[level]);
    td_buf_json_str(&b, component, strlen(component));
    td_buf_puts(&b, ",\"msg\":");
    td_buf_json_str(&b, msg, strlen(msg));
    if (peer != NULL) {
        td_buf_puts(&b, ",\"peer\":");
        td_buf_json_str(&b, peer, strlen(peer));
    }
    if (err != 0) {
        const char *text = strerror_r(err, stack, sizeof(stack));

        td_buf_printf(&b, ",\"errno\":%d,\"error\":", err);
        td_buf_json_str(&b, text, strlen(text));
    }
    td_buf_puts(&b, "}\n");

    if (b.data != NULL) {
        ssize_t w = write(STDERR_FILENO, b.data, b.len);

        (void) w;
    }
    td_buf_free(&b);
}
