/* Placeholder descriptor, replaced by the component's implementation. */
#include "component.h"

static const td_cfg_key file_keys[] = {
    {.name = NULL}
};

const td_component_desc td_file_exporter = {
    .type = "file",
    .kind = TD_KIND_EXPORTER,
    .signals = TD_SIGNALS_ALL,
    .summary = "placeholder",
    .cfg_size = 8,
    .keys = file_keys,
};
