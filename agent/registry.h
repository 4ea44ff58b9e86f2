/*
 * registry.h - the component types compiled into tandem.
 *
 * Adding a component means adding its descriptor to the table in
 * registry.c. The table is constant; any thread may read it.
 */
#ifndef TD_REGISTRY_H
#define TD_REGISTRY_H

#include "component.h"

/* Finds a type of a kind by name (len bytes); NULL if none. */
const td_component_desc *td_registry_find(td_kind kind, const char *type,
                                          size_t len);

/* All descriptors; *n receives their count. */
const td_component_desc *const *td_registry_all(size_t *n);

#endif
