/*
 * tcplog.h - the tcplog receiver's config and what tests may ask of a
 * running instance. The core sees only td_tcplog_receiver (registry.c).
 */
#ifndef TD_TCPLOG_H
#define TD_TCPLOG_H

#include <stdint.h>

#include "component.h"

/* The config block; the key table in tcplog.c fills it. */
typedef struct td_tcplog_cfg {
    char *endpoint;                 /* "host:port", "[v6]:port", ":port" */
    int64_t max_log_size;           /* bytes kept of one line */
    int64_t max_connections;
    int64_t idle_timeout_ms;        /* 0: never */
    int parse;                      /* TD_TCPLOG_PARSE_* */
    td_cfg_strmap resource;
    td_cfg_strmap attributes;
} td_tcplog_cfg;

#define TD_TCPLOG_PARSE_JSON 0
#define TD_TCPLOG_PARSE_NONE 1

extern const td_component_desc td_tcplog_receiver;

/*
 * The port the listener is bound to, after start() succeeded (useful
 * with port 0); -1 before. Main thread.
 */
int td_tcplog_port(void *self);

/*
 * Splits an endpoint into host (may be empty: every interface) and port
 * without any name lookup. host receives at most hostlen - 1 bytes.
 * 0 or TD_EINVAL with a sentence in err.
 */
int td_tcplog_split_endpoint(const char *ep, char *host, size_t hostlen,
                             int *port, char *err, size_t errlen);

#endif
