/*
 * log.h - tandem's own log lines.
 *
 * Every line is one JSON object on stderr:
 *   {"ts":"2026-12-04T05:01:02.345Z","level":"warn","component":"tcplog",
 *    "msg":"...","peer":"127.0.0.1:5121","errno":104,"error":"..."}
 * "peer" and "errno"/"error" appear only when given. The level is checked
 * before any formatting, so a disabled level costs one comparison.
 * Thread-safe: each line is written with a single write(2).
 */
#ifndef TD_LOG_H
#define TD_LOG_H

#include <stdarg.h>

typedef enum td_log_level {
    TD_LOG_ERROR = 0,
    TD_LOG_WARN = 1,
    TD_LOG_INFO = 2,
    TD_LOG_DEBUG = 3
} td_log_level;

extern int td_log_level_cur;

/* Sets the level; call before threads start. */
void td_log_set_level(td_log_level level);

/* Parses "error", "warn", "info", "debug"; returns -1 if unknown. */
int td_log_level_parse(const char *name);

/*
 * Writes one line. peer may be NULL; err is an errno value or 0.
 * Use the td_log() macro, which skips the call below the level.
 */
void td_log_write(td_log_level level, const char *component,
                  const char *peer, int err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#define td_log(level, component, peer, err, ...)                       \
    do {                                                               \
        if ((int) (level) <= td_log_level_cur) {                       \
            td_log_write((level), (component), (peer), (err),          \
                         __VA_ARGS__);                                 \
        }                                                              \
    } while (0)

#endif
