/*
 * td.c - signal names and clocks.
 */
#include <string.h>
#include <time.h>

#include "td.h"

static const char *const td_signal_names[TD_SIGNAL_COUNT] = {
    "traces", "metrics", "logs"
};

static const char *const td_signal_item_names[TD_SIGNAL_COUNT] = {
    "spans", "metric_points", "log_records"
};

const char *
td_signal_name(td_signal s)
{
    return (unsigned) s < TD_SIGNAL_COUNT ? td_signal_names[s] : "unknown";
}

const char *
td_signal_items(td_signal s)
{
    return (unsigned) s < TD_SIGNAL_COUNT ? td_signal_item_names[s]
                                          : "items";
}

int
td_signal_parse(const char *name, size_t len)
{
    for (int i = 0; i < TD_SIGNAL_COUNT; i++) {
        if (strlen(td_signal_names[i]) == len
            && memcmp(td_signal_names[i], name, len) == 0) {
            return i;
        }
    }
    return -1;
}

uint64_t
td_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

int64_t
td_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
