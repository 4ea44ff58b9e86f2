/*
 * registry.c - every component type compiled into tandem.
 */
#include <string.h>

#include "registry.h"

extern const td_component_desc td_tcplog_receiver;
extern const td_component_desc td_debug_exporter;
extern const td_component_desc td_file_exporter;
extern const td_component_desc td_nop_exporter;
extern const td_component_desc td_batch_processor;
extern const td_component_desc td_memory_limiter_processor;

static const td_component_desc *const td_registry[] = {
    &td_tcplog_receiver,
    &td_debug_exporter,
    &td_file_exporter,
    &td_nop_exporter,
    &td_batch_processor,
    &td_memory_limiter_processor,
};

const td_component_desc *
td_registry_find(td_kind kind, const char *type, size_t len)
{
    for (size_t i = 0; i < TD_ARRAY_SIZE(td_registry); i++) {
        const td_component_desc *d = td_registry[i];

        if (d->kind == kind && strlen(d->type) == len
            && memcmp(d->type, type, len) == 0) {
            return d;
        }
    }
    return NULL;
}

const td_component_desc *const *
td_registry_all(size_t *n)
{
    *n = TD_ARRAY_SIZE(td_registry);
    return td_registry;
}
