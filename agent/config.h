/*
 * config.h - loading tandem's YAML configuration.
 *
 * The shape is the OpenTelemetry Collector's: receivers, processors,
 * exporters and extensions are maps of component id ("type" or
 * "type/name") to a config block; service holds pipelines ("signal" or
 * "signal/name" to receivers/processors/exporters lists) and telemetry.
 * Several files merge in order, maps deeply, later values winning; --set
 * overrides apply last. ${env:VAR}, ${VAR}, ${env:VAR:-default} expand in
 * scalar values and $$ is a literal $.
 *
 * Every problem is reported as one line
 *     FILE:LINE:COLUMN: error: SENTENCE
 * (or "warning:"), in the order found. Loading opens no socket and does
 * no DNS: `tandem validate` is this function and nothing more.
 * Main thread only.
 */
#ifndef TD_CONFIG_H
#define TD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "component.h"
#include "exporter.h"
#include "td.h"

typedef struct td_cfg_component {
    char *id;                       /* "tcplog/edge" */
    const td_component_desc *desc;
    void *cfg;                      /* desc->cfg_size bytes, parsed */
    td_exporter_settings xset;      /* exporters only */
    int line, col;                  /* where the id was written */
    bool used;                      /* listed by some pipeline */
} td_cfg_component;

typedef struct td_cfg_pipeline {
    char *id;                       /* "logs" or "logs/shipper" */
    td_signal signal;
    td_cfg_component **receivers;   /* point into td_config's arrays */
    size_t n_receivers;
    td_cfg_component **processors;
    size_t n_processors;
    td_cfg_component **exporters;
    size_t n_exporters;
} td_cfg_pipeline;

typedef struct td_config {
    td_cfg_component *comps[TD_KIND_COUNT];
    size_t n_comps[TD_KIND_COUNT];
    td_cfg_pipeline *pipelines;
    size_t n_pipelines;
    int log_level;                  /* service.telemetry.logs.level */
    char *metrics_address;          /* service.telemetry.metrics.address,
                                       NULL when level is none */
    int64_t shutdown_timeout_ms;    /* service.shutdown_timeout */
} td_config;

/* One --config source: a file path, or a name and its text. */
typedef struct td_config_source {
    const char *name;               /* file path, or a label for text */
    const char *text;               /* NULL: read the file at name */
} td_config_source;

/*
 * Loads, merges and validates the sources, then applies sets ("key=value"
 * with keys separated by "::", or by "." when no "::" is present, as in
 * --set service::telemetry::logs::level=debug). Errors and warnings are
 * appended to msgs, one per line. Returns 0 with *out set (warnings may
 * be present), or TD_EINVAL when there was at least one error (*out is
 * NULL), or TD_ENOMEM.
 */
int td_config_load(const td_config_source *srcs, size_t n_srcs,
                   const char *const *sets, size_t n_sets,
                   td_config **out, td_buf *msgs);

void td_config_free(td_config *cfg);

/*
 * Parses a duration like "200ms", "5s", "1m30s", "1h", "0" into
 * milliseconds. 0 or TD_EINVAL.
 */
int td_parse_duration(const char *s, int64_t *ms);

/* The embedded default configuration (YAML text). */
extern const char td_default_config[];

#endif
