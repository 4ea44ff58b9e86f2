/*
 * td.h - the few definitions every part of tandem shares: return codes,
 * signals and small helpers.
 *
 * Functions return int: 0 on success, a negative TD_E* code on failure.
 * TD_AGAIN means "refused for now, try again later" (back-pressure, a full
 * queue, a retryable export failure); TD_EPERM means a permanent failure
 * that must not be retried.
 */
#ifndef TD_H
#define TD_H

#include <stddef.h>
#include <stdint.h>

#define TD_VERSION "0.1.0"

#define TD_OK      0
#define TD_ERR    -1  /* generic failure, details in a message buffer */
#define TD_AGAIN  -2  /* retryable: refused, queue full, would block */
#define TD_ENOMEM -3  /* an allocation failed */
#define TD_EINVAL -4  /* invalid argument or input */
#define TD_EPERM  -5  /* permanent failure: do not retry */

/* Exit codes of the tandem binary. */
#define TD_EXIT_OK     0
#define TD_EXIT_RUN    1  /* runtime failure */
#define TD_EXIT_USAGE  2  /* bad usage or invalid config */

typedef enum td_signal {
    TD_SIGNAL_TRACES = 0,
    TD_SIGNAL_METRICS = 1,
    TD_SIGNAL_LOGS = 2,
    TD_SIGNAL_COUNT = 3
} td_signal;

#define TD_SIGNAL_BIT(s) (1u << (s))
#define TD_SIGNALS_ALL   0x7u

/* "traces", "metrics" or "logs". */
const char *td_signal_name(td_signal s);

/* Parses "traces", "metrics" or "logs" (len bytes); returns -1 if none. */
int td_signal_parse(const char *name, size_t len);

/* Unit of items for a signal: "spans", "metric_points", "log_records". */
const char *td_signal_items(td_signal s);

#define TD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Wall clock in nanoseconds since the Unix epoch. Any thread. */
uint64_t td_now_ns(void);

/* Monotonic clock in milliseconds. Any thread. */
int64_t td_mono_ms(void);

#endif
