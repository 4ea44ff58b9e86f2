/*
 * service.h - the running pipelines built from a loaded config.
 *
 * Build creates every component that a pipeline uses (an exporter or a
 * receiver listed by several pipelines is one instance; processors are
 * one instance per pipeline). Start opens exporters, then processors,
 * then receivers, so nothing is received before it can be sent on.
 * Shutdown goes the other way and drains: receivers stop and hand in
 * what they hold, processors flush, exporters empty their queues, all
 * before one deadline. Main thread only.
 */
#ifndef TD_SERVICE_H
#define TD_SERVICE_H

#include <stddef.h>

#include "config.h"

typedef struct td_service td_service;

/*
 * Creates every instance (opens nothing). cfg must outlive the service.
 * 0, or a negative code with a message naming the component in err.
 */
int td_service_build(const td_config *cfg, td_service **out, char *err,
                     size_t errlen);

/* Starts every instance; on failure the message names the component. */
int td_service_start(td_service *svc, char *err, size_t errlen);

/*
 * Stops and drains everything before now + cfg->shutdown_timeout_ms.
 * What the deadline cuts off is counted and logged by the component
 * that held it.
 */
void td_service_shutdown(td_service *svc);

/* Frees the service; after td_service_shutdown(). NULL is ignored. */
void td_service_free(td_service *svc);

#endif
