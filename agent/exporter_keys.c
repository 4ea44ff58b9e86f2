/*
 * exporter_keys.c - the exporter helper's config keys, which every
 * exporter block accepts next to its own: timeout, sending_queue and
 * retry_on_failure, with the OpenTelemetry Collector's names and
 * defaults (exporterhelper's TimeoutConfig, QueueConfig and
 * configretry.BackOffConfig).
 */
#include <stddef.h>

#include "exporter.h"

static const td_cfg_key td_exporter_queue_keys[] = {
    {.name = "enabled", .type = TD_CFG_BOOL, .def = "true",
     .offset = offsetof(td_exporter_settings, queue_enabled),
     .desc = "queue batches and send them from consumer threads"},
    {.name = "num_consumers", .type = TD_CFG_INT, .def = "10",
     .offset = offsetof(td_exporter_settings, num_consumers),
     .desc = "threads sending from the queue", .min = 1, .max = 1000},
    {.name = "queue_size", .type = TD_CFG_INT, .def = "1000",
     .offset = offsetof(td_exporter_settings, queue_size),
     .desc = "batches the queue holds before refusing",
     .min = 1, .max = 1000000},
    {.name = NULL}
};

/*
 * Intervals are at least 1ms so that backoff always waits; a multiplier
 * below 1 would shrink the wait after each failure, so it starts at 1.
 */
static const td_cfg_key td_exporter_retry_keys[] = {
    {.name = "enabled", .type = TD_CFG_BOOL, .def = "true",
     .offset = offsetof(td_exporter_settings, retry_enabled),
     .desc = "retry failed sends with exponential backoff"},
    {.name = "initial_interval", .type = TD_CFG_DURATION, .def = "5s",
     .offset = offsetof(td_exporter_settings, initial_interval_ms),
     .desc = "wait after the first failure", .min = 1, .max = 3600000},
    {.name = "max_interval", .type = TD_CFG_DURATION, .def = "30s",
     .offset = offsetof(td_exporter_settings, max_interval_ms),
     .desc = "longest wait between attempts", .min = 1, .max = 3600000},
    {.name = "max_elapsed_time", .type = TD_CFG_DURATION, .def = "300s",
     .offset = offsetof(td_exporter_settings, max_elapsed_ms),
     .desc = "give up on a batch after this long (0 = never)",
     .min = 0, .max = 86400000},
    {.name = "multiplier", .type = TD_CFG_DOUBLE, .def = "1.5",
     .offset = offsetof(td_exporter_settings, multiplier),
     .desc = "growth of the wait after each failure", .min = 1, .max = 100},
    {.name = "randomization_factor", .type = TD_CFG_DOUBLE, .def = "0.5",
     .offset = offsetof(td_exporter_settings, randomization_factor),
     .desc = "jitter, as a fraction of the wait", .min = 0, .max = 1},
    {.name = NULL}
};

const td_cfg_key td_exporter_keys[] = {
    {.name = "timeout", .type = TD_CFG_DURATION, .def = "5s",
     .offset = offsetof(td_exporter_settings, timeout_ms),
     .desc = "deadline of one send attempt", .min = 1, .max = 3600000},
    {.name = "sending_queue", .type = TD_CFG_SECTION,
     .sub = td_exporter_queue_keys},
    {.name = "retry_on_failure", .type = TD_CFG_SECTION,
     .sub = td_exporter_retry_keys},
    {.name = NULL}
};
