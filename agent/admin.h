/*
 * admin.h - tandem's own HTTP endpoint (service.telemetry.metrics.address):
 *   GET /metrics       own metrics, Prometheus text 0.0.4 (gzip when the
 *                      client accepts it)
 *   GET /health/live   200 while the process runs
 *   GET /health/ready  200 once every component started and while the
 *                      service is not shutting down nor memory limited
 *                      (td_budget_limited(), budget.h), else 503
 * Runs on libmicrohttpd's own thread.
 */
#ifndef TD_ADMIN_H
#define TD_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct td_admin td_admin;

/*
 * Listens on address ("host:port"; port 0 picks one). 0, or a negative
 * code with a message (naming the address and errno text) in err.
 * Main thread.
 */
int td_admin_start(const char *address, td_admin **out, char *err,
                   size_t errlen);

/* The port actually bound (useful with port 0). */
int td_admin_port(const td_admin *adm);

/* Sets what /health/ready answers. Any thread. */
void td_admin_set_ready(td_admin *adm, bool ready);

/* Stops the server and frees it. NULL is ignored. Main thread. */
void td_admin_stop(td_admin *adm);

#endif
