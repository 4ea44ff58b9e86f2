/* Placeholder descriptor, replaced by the component's implementation. */
#include "component.h"

static const td_cfg_key tcplog_keys[] = {
    {.name = NULL}
};

const td_component_desc td_tcplog_receiver = {
    .type = "tcplog",
    .kind = TD_KIND_RECEIVER,
    .signals = TD_SIGNAL_BIT(TD_SIGNAL_LOGS),
    .summary = "placeholder",
    .cfg_size = 8,
    .keys = tcplog_keys,
};
