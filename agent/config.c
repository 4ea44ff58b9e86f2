/*
 * config.c - td_config_load(): reads and merges the sources, applies
 * --set, expands ${...}, then turns the tree into a td_config: the
 * component sections through each type's key table, the service section
 * and its pipelines, with every problem reported as FILE:LINE:COL.
 *
 * The YAML side is in config_yaml.c, the key tables in config_keys.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "log.h"
#include "registry.h"

const char td_default_config[] =
    "# tandem's embedded default: NDJSON logs on TCP :5000 through\n"
    "# memory_limiter and batch to the debug exporter, own metrics and\n"
    "# health on :8888.\n"
    "receivers:\n"
    "  tcplog:\n"
    "    endpoint: 0.0.0.0:5000\n"
    "processors:\n"
    "  memory_limiter:\n"
    "    check_interval: 1s\n"
    "    limit_mib: 512\n"
    "    spike_limit_mib: 128\n"
    "  batch:\n"
    "exporters:\n"
    "  debug:\n"
    "    verbosity: basic\n"
    "service:\n"
    "  pipelines:\n"
    "    logs:\n"
    "      receivers: [tcplog]\n"
    "      processors: [memory_limiter, batch]\n"
    "      exporters: [debug]\n"
    "  telemetry:\n"
    "    metrics:\n"
    "      address: 0.0.0.0:8888\n";

static const char *const td_config_sections[TD_KIND_COUNT] = {
    "receivers", "processors", "exporters", "extensions"
};

static const char *const td_config_top[] = {
    "receivers", "processors", "exporters", "extensions", "service", NULL
};

/* ---- the service section's own keys ---- */

typedef struct td_config_service {
    int log_level;              /* index in td_config_log_levels */
    int log_encoding;
    char *metrics_address;
    int metrics_level;          /* index in td_config_metrics_levels */
    int64_t shutdown_ms;
} td_config_service;

static const char *const td_config_log_levels[] = {
    "debug", "info", "warn", "error", NULL
};
static const char *const td_config_encodings[] = {"json", NULL};
static const char *const td_config_metrics_levels[] = {
    "none", "basic", "normal", "detailed", NULL
};

static const td_cfg_key td_config_logs_keys[] = {
    {.name = "level", .type = TD_CFG_ENUM, .def = "info",
     .offset = offsetof(td_config_service, log_level),
     .choices = td_config_log_levels, .desc = "own log level"},
    {.name = "encoding", .type = TD_CFG_ENUM, .def = "json",
     .offset = offsetof(td_config_service, log_encoding),
     .choices = td_config_encodings,
     .desc = "own log format (JSON lines only)"},
    {.name = NULL}
};

static const td_cfg_key td_config_metrics_keys[] = {
    {.name = "address", .type = TD_CFG_STR, .def = "0.0.0.0:8888",
     .offset = offsetof(td_config_service, metrics_address),
     .desc = "where /metrics and /health are served"},
    {.name = "level", .type = TD_CFG_ENUM, .def = "normal",
     .offset = offsetof(td_config_service, metrics_level),
     .choices = td_config_metrics_levels,
     .desc = "none turns own metrics and health off"},
    {.name = NULL}
};

static const td_cfg_key td_config_telemetry_keys[] = {
    {.name = "logs", .type = TD_CFG_SECTION, .sub = td_config_logs_keys},
    {.name = "metrics", .type = TD_CFG_SECTION,
     .sub = td_config_metrics_keys},
    {.name = NULL}
};

static const td_cfg_key td_config_service_keys[] = {
    {.name = "telemetry", .type = TD_CFG_SECTION,
     .sub = td_config_telemetry_keys},
    {.name = "shutdown_timeout", .type = TD_CFG_DURATION, .def = "10s",
     .offset = offsetof(td_config_service, shutdown_ms),
     .desc = "how long draining may take on SIGTERM",
     .min = 1, .max = 600000},
    {.name = NULL}
};

static const char *const td_config_service_extra[] = {
    "pipelines", "extensions", NULL
};

static const char *const td_config_pipeline_keys[] = {
    "receivers", "processors", "exporters", NULL
};

/* What the interpretation of one load keeps next to the td_config. */
typedef struct td_config_build {
    td_cfg_loader *ld;
    td_config *cfg;
    const td_cfg_node *root;
    const td_cfg_node **at[TD_KIND_COUNT];  /* each component's id key */
    /*
     * Each section's map, whose keys are the components' ids in order:
     * its hash index finds a component by id. NULL when the section is
     * absent or empty.
     */
    const td_cfg_node *sec[TD_KIND_COUNT];
    /* The section was written but is not a map: ids cannot be checked. */
    bool sec_bad[TD_KIND_COUNT];
    /*
     * The list serial that last named each component, to find an id
     * listed twice in one list in linear time.
     */
    size_t *seen[TD_KIND_COUNT];
    size_t serial;
    /* Some pipeline could not be read, so "unused" would be a guess. */
    bool pipelines_bad;
    /*
     * Some id of the kind was used but not defined: it may well have
     * been meant for a component that now looks unused.
     */
    bool undefined[TD_KIND_COUNT];
} td_config_build;

/* ---- messages ---- */

void
td_cfg_vmsg(td_cfg_loader *ld, bool error, const char *file, int line,
            int col, const char *fmt, va_list ap)
{
    int *shown = &ld->n_msgs[error ? 1 : 0];
    size_t start;

    if (error) {
        ld->n_errors++;
    } else {
        ld->n_warnings++;
    }
    /*
     * Errors and warnings are capped apart, so that many warnings never
     * hide the error that made the load fail.
     */
    if (*shown > TD_CFG_MAX_MSGS) {
        return;
    }
    start = ld->msgs->len;
    if ((*shown)++ == TD_CFG_MAX_MSGS) {
        if (td_buf_printf(ld->msgs, "%s:%d:%d: %s: too many %s; the rest "
                          "are not shown\n", file, line, col,
                          error ? "error" : "warning",
                          error ? "errors" : "warnings") != TD_OK) {
            ld->nomem = true;
        }
        return;
    }
    if (td_buf_printf(ld->msgs, "%s:%d:%d: %s: ", file, line, col,
                      error ? "error" : "warning") != TD_OK
        || td_buf_vprintf(ld->msgs, fmt, ap) != TD_OK) {
        ld->nomem = true;
        return;
    }
    /* One message is one line, whatever a file name or value held. */
    for (size_t i = start; i < ld->msgs->len; i++) {
        unsigned char c = (unsigned char) ld->msgs->data[i];

        if (c < 0x20 || c == 0x7f) {
            ld->msgs->data[i] = '?';
        }
    }
    if (td_buf_putc(ld->msgs, '\n') != TD_OK) {
        ld->nomem = true;
    }
}

void
td_cfg_msg(td_cfg_loader *ld, bool error, const char *file, int line,
           int col, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    td_cfg_vmsg(ld, error, file, line, col, fmt, ap);
    va_end(ap);
}

bool
td_cfg_quiet(const td_cfg_loader *ld)
{
    return ld->n_msgs[1] >= TD_CFG_MAX_MSGS;
}

/* ---- reading sources ---- */

static int
td_config_read_file(td_cfg_loader *ld, const char *path, char **text,
                    size_t *len)
{
    td_buf b = TD_BUF_INIT;
    char chunk[65536];
    FILE *f = fopen(path, "rb");
    size_t got;
    int err;

    if (f == NULL) {
        err = errno;
        td_cfg_msg(ld, true, path, 1, 1, "cannot open the config file: %s",
                   strerror(err));
        return TD_EINVAL;
    }
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + got > TD_CFG_MAX_FILE) {
            td_cfg_msg(ld, true, path, 1, 1, "the config file is larger "
                       "than %u MiB", TD_CFG_MAX_FILE >> 20);
            fclose(f);
            td_buf_free(&b);
            return TD_EINVAL;
        }
        if (td_buf_append(&b, chunk, got) != TD_OK) {
            fclose(f);
            td_buf_free(&b);
            ld->nomem = true;
            return TD_ENOMEM;
        }
    }
    err = ferror(f) ? errno : 0;
    fclose(f);
    if (err != 0) {
        td_cfg_msg(ld, true, path, 1, 1, "cannot read the config file: %s",
                   strerror(err));
        td_buf_free(&b);
        return TD_EINVAL;
    }
    *text = b.data;
    *len = b.len;
    return TD_OK;
}

/*
 * Parses every source and merges them into one map (NULL if none).
 * *broken is set when a source could not be used at all; the rest of
 * the load would then only report consequences of that.
 */
static td_cfg_node *
td_config_sources(td_cfg_loader *ld, const td_config_source *srcs,
                  size_t n_srcs, bool *broken)
{
    td_cfg_node *root = NULL;

    for (size_t i = 0; i < n_srcs; i++) {
        const char *name = srcs[i].name ? srcs[i].name : "config";
        char *owned = NULL;
        const char *text = srcs[i].text;
        size_t len = text ? strlen(text) : 0;
        td_cfg_node *doc = NULL;

        if (text == NULL) {
            if (td_config_read_file(ld, name, &owned, &len) != TD_OK) {
                *broken = true;
                continue;
            }
            text = owned ? owned : "";
        }
        if (td_cfg_yaml_parse(ld, name, text, len, 0, &doc) != TD_OK
            && doc == NULL) {
            *broken = true;
        }
        free(owned);
        if (doc == NULL) {
            continue;
        }
        if (doc->kind != TD_CFG_NODE_MAP) {
            td_cfg_node_error(ld, doc, "the top level of a config must be "
                              "a map of receivers, processors, exporters, "
                              "extensions and service, got %s",
                              td_cfg_node_what(doc));
            td_cfg_node_free(ld, doc);
            *broken = true;
            continue;
        }
        if (root == NULL) {
            root = doc;
        } else {
            td_cfg_yaml_merge(ld, root, doc);
        }
    }
    return root;
}

/* ---- components ---- */

static const td_component_desc *
td_config_find_type(const td_cfg_loader *ld, td_kind kind, const char *type,
                    size_t len)
{
    for (size_t i = 0; i < ld->n_extra; i++) {
        const td_component_desc *d = ld->extra[i];

        if (d->kind == kind && strlen(d->type) == len
            && memcmp(d->type, type, len) == 0) {
            return d;
        }
    }
    return td_registry_find(kind, type, len);
}

static void
td_config_unknown_type(td_cfg_loader *ld, const td_cfg_node *key,
                       td_kind kind, size_t type_len)
{
    const td_component_desc *const *all;
    const char *names[64];
    char type[128], q[160];
    td_buf list = TD_BUF_INIT;
    const char *hint;
    size_t n_all, n = 0;

    all = td_registry_all(&n_all);
    for (size_t i = 0; i < ld->n_extra + n_all && n < 64; i++) {
        const td_component_desc *d = i < ld->n_extra ? ld->extra[i]
                                                     : all[i - ld->n_extra];

        if (d->kind == kind) {
            names[n] = d->type;
            if (td_buf_printf(&list, "%s%s", n ? ", " : "", d->type)
                != TD_OK) {
                ld->nomem = true;
            }
            n++;
        }
    }
    snprintf(type, sizeof(type), "%.*s", (int) type_len, key->str);
    td_cfg_quote(type, q, sizeof(q));
    hint = td_cfg_suggest(type, names, n);
    if (n == 0) {
        td_cfg_node_error(ld, key, "unknown %s type %s; no %s types are "
                          "compiled in yet", td_kind_name(kind), q,
                          td_kind_name(kind));
    } else if (hint != NULL) {
        td_cfg_node_error(ld, key, "unknown %s type %s; did you mean "
                          "\"%s\"? %s types compiled in: %s",
                          td_kind_name(kind), q, hint, td_kind_name(kind),
                          list.data);
    } else {
        td_cfg_node_error(ld, key, "unknown %s type %s; %s types compiled "
                          "in: %s", td_kind_name(kind), q,
                          td_kind_name(kind), list.data);
    }
    td_buf_free(&list);
}

/* Checks "type" or "type/name"; returns the type's length or 0. */
static size_t
td_config_check_id(td_cfg_loader *ld, const td_cfg_node *key,
                   const char *what, const char *example)
{
    const char *slash = strchr(key->str, '/');
    char q[160];

    if (slash != NULL && slash != key->str && slash[1] != '\0'
        && strchr(slash + 1, '/') == NULL) {
        return (size_t) (slash - key->str);
    }
    if (slash == NULL && key->len > 0) {
        return key->len;
    }
    td_cfg_node_error(ld, key, "invalid %s id %s; write TYPE or TYPE/NAME "
                      "with a non-empty NAME and no second \"/\", as in %s",
                      what, td_cfg_quote(key->str, q, sizeof(q)),
                      example);
    return 0;
}

/* Cross-key checks of the exporter helper's settings. */
static void
td_config_check_xset(td_cfg_diag *d, const td_exporter_settings *x)
{
    char a[32], b[32];

    if (x->retry_enabled && x->initial_interval_ms > x->max_interval_ms) {
        td_cfg_fmt_duration(x->initial_interval_ms, a, sizeof(a));
        td_cfg_fmt_duration(x->max_interval_ms, b, sizeof(b));
        td_cfg_error(d, "retry_on_failure.initial_interval",
                     "retry_on_failure.initial_interval (%s) is longer "
                     "than retry_on_failure.max_interval (%s); make it "
                     "shorter or raise max_interval", a, b);
    }
}

static void
td_config_component(td_config_build *bd, td_kind kind,
                    td_cfg_component *comp, const td_cfg_node *key,
                    const td_cfg_node *val)
{
    td_cfg_loader *ld = bd->ld;
    const td_component_desc *desc = comp->desc;
    bool exp = kind == TD_KIND_EXPORTER;
    char what[256], q[160], err[256];
    td_cfg_diag d;
    int errors;

    snprintf(what, sizeof(what), "%s %s", td_kind_name(kind),
             td_cfg_quote(comp->id, q, sizeof(q)));
    comp->cfg = calloc(1, desc->cfg_size ? desc->cfg_size : 1);
    if (comp->cfg == NULL) {
        ld->nomem = true;
        return;
    }
    if (td_cfg_defaults(desc->keys, comp->cfg, err, sizeof(err)) != TD_OK
        || (exp && td_cfg_defaults(td_exporter_keys, &comp->xset, err,
                                   sizeof(err)) != TD_OK)) {
        td_cfg_node_error(ld, key, "%s has a built-in default that does "
                          "not parse (a bug in tandem): %s", what, err);
        return;
    }
    errors = td_cfg_parse_block(ld, val, desc->keys, comp->cfg,
                                exp ? td_exporter_keys : NULL, &comp->xset,
                                NULL, what, false);
    errors += td_cfg_check_required(ld, val, key, desc->keys, what);
    if (errors != 0) {
        return;
    }
    memset(&d, 0, sizeof(d));
    d.ld = ld;
    d.block = val;
    d.at = key;
    d.what = what;
    if (exp) {
        td_config_check_xset(&d, &comp->xset);
    }
    if (desc->validate != NULL && desc->validate(comp->cfg, &d) != TD_OK
        && d.n_errors == 0) {
        td_cfg_node_error(ld, key, "%s: the settings are not valid",
                          what);
    }
}

static void
td_config_components(td_config_build *bd, td_kind kind)
{
    td_cfg_loader *ld = bd->ld;
    const char *section = td_config_sections[kind];
    const td_cfg_node *sec = td_cfg_node_get(bd->root, section);
    char example[64];

    if (sec == NULL || (sec->kind == TD_CFG_NODE_SCALAR && sec->is_null)) {
        return;
    }
    if (sec->kind != TD_CFG_NODE_MAP) {
        td_cfg_node_error(ld, sec, "%s must be a map of %s ids to their "
                          "settings, got %s", section, td_kind_name(kind),
                          td_cfg_node_what(sec));
        bd->sec_bad[kind] = true;
        return;
    }
    bd->sec[kind] = sec;
    bd->cfg->comps[kind] = calloc(sec->n ? sec->n : 1,
                                  sizeof(td_cfg_component));
    bd->at[kind] = calloc(sec->n ? sec->n : 1, sizeof(*bd->at[kind]));
    bd->seen[kind] = calloc(sec->n ? sec->n : 1, sizeof(*bd->seen[kind]));
    if (bd->cfg->comps[kind] == NULL || bd->at[kind] == NULL
        || bd->seen[kind] == NULL) {
        ld->nomem = true;
        return;
    }
    snprintf(example, sizeof(example), "%s",
             kind == TD_KIND_RECEIVER ? "tcplog or tcplog/edge"
             : kind == TD_KIND_EXPORTER ? "file or file/archive"
                                        : "TYPE or TYPE/primary");
    for (size_t i = 0; i < sec->n && !ld->nomem; i++) {
        const td_cfg_node *key = sec->keys[i];
        td_cfg_component *comp;
        size_t type_len;

        comp = &bd->cfg->comps[kind][bd->cfg->n_comps[kind]];
        comp->id = strdup(key->str);
        if (comp->id == NULL) {
            ld->nomem = true;
            return;
        }
        comp->line = key->line;
        comp->col = key->col;
        bd->at[kind][bd->cfg->n_comps[kind]++] = key;
        /*
         * A component with a bad id or type stays in the list without a
         * descriptor, so that pipelines naming it do not add "not
         * defined" errors on top of the real one.
         */
        type_len = td_config_check_id(ld, key, td_kind_name(kind), example);
        if (type_len == 0) {
            continue;
        }
        comp->desc = td_config_find_type(ld, kind, key->str, type_len);
        if (comp->desc == NULL) {
            td_config_unknown_type(ld, key, kind, type_len);
            continue;
        }
        td_config_component(bd, kind, comp, key, sec->vals[i]);
    }
}

/*
 * Finds a component by id through its section's map, whose i-th key is
 * the i-th component; returns its index or -1.
 */
static long
td_config_find_comp(const td_config_build *bd, td_kind kind,
                    const td_cfg_node *item)
{
    long i = td_cfg_node_find(bd->sec[kind], item->str, item->len);

    if (i < 0 || (size_t) i >= bd->cfg->n_comps[kind]) {
        return -1;
    }
    return i;
}

/* "traces, metrics": the signals a descriptor supports. */
static void
td_config_signals(unsigned signals, char *buf, size_t len)
{
    size_t o = 0;

    buf[0] = '\0';
    for (int s = 0; s < TD_SIGNAL_COUNT && o < len; s++) {
        if (signals & TD_SIGNAL_BIT(s)) {
            o += (size_t) snprintf(buf + o, len - o, "%s%s", o ? ", " : "",
                                   td_signal_name((td_signal) s));
        }
    }
    if (o == 0) {
        snprintf(buf, len, "none");
    }
}

/* ---- references from the service ---- */

static void
td_config_undefined(td_config_build *bd, const td_cfg_node *item,
                    td_kind kind, const char *user)
{
    const char *names[64];
    const char *hint;
    char q[160];
    size_t n = 0;

    /* Past the message limit the hint would not be shown: skip it. */
    for (size_t i = 0; i < bd->cfg->n_comps[kind] && n < 64
                       && !td_cfg_quiet(bd->ld); i++) {
        names[n++] = bd->cfg->comps[kind][i].id;
    }
    hint = td_cfg_suggest(item->str, names, n);
    td_cfg_node_error(bd->ld, item, "%s %s is used by %s but not defined; "
                      "define it under %s%s%s%s", td_kind_name(kind),
                      td_cfg_quote(item->str, q, sizeof(q)), user,
                      td_config_sections[kind],
                      hint ? " (did you mean \"" : "", hint ? hint : "",
                      hint ? "\"?)" : "");
}

/*
 * Resolves one list of ids (a pipeline's receivers, processors or
 * exporters, or service.extensions) into pointers at the components.
 * sig is the pipeline's signal or -1. Returns the count resolved.
 */
static size_t
td_config_refs(td_config_build *bd, const td_cfg_node *list, td_kind kind,
               int sig, const char *user, const char *path,
               td_cfg_component ***out)
{
    td_cfg_loader *ld = bd->ld;
    td_cfg_component **refs;
    char q[160], sigs[64];
    size_t n = 0;

    *out = NULL;
    if (list == NULL || (list->kind == TD_CFG_NODE_SCALAR
                         && list->is_null)) {
        return 0;
    }
    if (list->kind != TD_CFG_NODE_SEQ) {
        td_cfg_node_error(ld, list, "%s must be a list of %s ids such as "
                          "[a, b], got %s", path, td_kind_name(kind),
                          td_cfg_node_what(list));
        bd->pipelines_bad = true;
        return 0;
    }
    refs = calloc(list->n ? list->n : 1, sizeof(*refs));
    if (refs == NULL) {
        ld->nomem = true;
        return 0;
    }
    bd->serial++;
    for (size_t i = 0; i < list->n; i++) {
        const td_cfg_node *item = list->vals[i];
        td_cfg_component *comp;
        long at;

        if (item->kind != TD_CFG_NODE_SCALAR || item->is_null) {
            td_cfg_node_error(ld, item, "item %zu of %s must be %s %s id, "
                              "got %s", i + 1, path,
                              kind == TD_KIND_EXPORTER
                              || kind == TD_KIND_EXTENSION ? "an" : "a",
                              td_kind_name(kind), td_cfg_node_what(item));
            continue;
        }
        if (item->bad) {
            continue;
        }
        at = td_config_find_comp(bd, kind, item);
        if (at < 0) {
            /* A section that is not a map was reported already. */
            if (!bd->sec_bad[kind]) {
                td_config_undefined(bd, item, kind, user);
            }
            bd->undefined[kind] = true;
            continue;
        }
        comp = &bd->cfg->comps[kind][at];
        if (bd->seen[kind][at] == bd->serial) {
            td_cfg_node_error(ld, item, "%s %s is listed twice in %s; "
                              "list each id once", td_kind_name(kind),
                              td_cfg_quote(item->str, q, sizeof(q)),
                              path);
            continue;
        }
        bd->seen[kind][at] = bd->serial;
        comp->used = true;
        if (sig >= 0 && comp->desc != NULL
            && !(comp->desc->signals & TD_SIGNAL_BIT(sig))) {
            td_config_signals(comp->desc->signals, sigs, sizeof(sigs));
            td_cfg_node_error(ld, item, "%s %s does not support %s; it "
                              "supports %s", td_kind_name(kind),
                              td_cfg_quote(item->str, q, sizeof(q)),
                              td_signal_name((td_signal) sig), sigs);
            continue;
        }
        refs[n++] = comp;
    }
    *out = refs;
    return n;
}

/* ---- service ---- */

/* Checks "signal" or "signal/name"; returns the signal or -1. */
static int
td_config_pipeline_id(td_cfg_loader *ld, const td_cfg_node *key)
{
    static const char *const signals[] = {"traces", "metrics", "logs"};
    const char *slash = strchr(key->str, '/');
    size_t len = slash ? (size_t) (slash - key->str) : key->len;
    int sig = td_signal_parse(key->str, len);
    char type[128], q[160];
    const char *hint;

    if (sig >= 0 && (slash == NULL || (slash[1] != '\0'
                                       && strchr(slash + 1, '/') == NULL))) {
        return sig;
    }
    td_cfg_quote(key->str, q, sizeof(q));
    if (sig >= 0) {
        td_cfg_node_error(ld, key, "invalid pipeline id %s; write SIGNAL "
                          "or SIGNAL/NAME with a non-empty NAME and no "
                          "second \"/\", as in logs/shipper", q);
        return -1;
    }
    snprintf(type, sizeof(type), "%.*s", (int) len, key->str);
    hint = td_cfg_suggest(type, signals, 3);
    td_cfg_node_error(ld, key, "invalid pipeline id %s; a pipeline id "
                      "starts with traces, metrics or logs, optionally "
                      "followed by /NAME%s%s%s", q,
                      hint ? " (did you mean \"" : "", hint ? hint : "",
                      hint ? "\"?)" : "");
    return -1;
}

/* True when the id in node is of type (before any "/NAME"). */
static bool
td_config_id_is(const td_cfg_node *node, const char *type)
{
    size_t len = strlen(type);

    return node->kind == TD_CFG_NODE_SCALAR && !node->is_null
           && node->len >= len && memcmp(node->str, type, len) == 0
           && (node->str[len] == '\0' || node->str[len] == '/');
}

/*
 * The OpenTelemetry Collector's advice, as warnings: memory_limiter goes
 * first, so that it refuses data before any other processor spends
 * memory on it, and batch after it, because what batch holds is not
 * refused by a limiter behind it.
 */
static void
td_config_proc_order(td_config_build *bd, const td_cfg_node *list,
                     const char *q)
{
    const td_cfg_node *batch = NULL;

    if (list == NULL || list->kind != TD_CFG_NODE_SEQ) {
        return;
    }
    for (size_t i = 0; i < list->n; i++) {
        const td_cfg_node *item = list->vals[i];

        if (td_config_id_is(item, "batch") && batch == NULL) {
            batch = item;
        }
        if (!td_config_id_is(item, "memory_limiter")) {
            continue;
        }
        if (i > 0) {
            td_cfg_node_warn(bd->ld, item, "memory_limiter is not the "
                             "first processor of pipeline %s; put it "
                             "first so that it refuses data before other "
                             "processors spend memory on it", q);
        }
        if (batch != NULL) {
            td_cfg_node_warn(bd->ld, batch, "batch stands before "
                             "memory_limiter in pipeline %s; what batch "
                             "holds escapes the limit, so put batch "
                             "after memory_limiter", q);
        }
        return;
    }
}

static void
td_config_pipeline(td_config_build *bd, const td_cfg_node *key,
                   const td_cfg_node *val, int sig)
{
    static const td_kind kinds[3] = {
        TD_KIND_RECEIVER, TD_KIND_PROCESSOR, TD_KIND_EXPORTER
    };
    td_config *cfg = bd->cfg;
    td_cfg_pipeline *p = &cfg->pipelines[cfg->n_pipelines++];
    char where[256], user[256], path[320], q[160];
    td_cfg_component **refs[3];
    size_t n[3];

    p->signal = (td_signal) sig;
    p->id = strdup(key->str);
    if (p->id == NULL) {
        bd->ld->nomem = true;
        return;
    }
    td_cfg_quote(key->str, q, sizeof(q));
    snprintf(where, sizeof(where), "service.pipelines.%s", key->str);
    snprintf(user, sizeof(user), "pipeline %s", q);
    td_cfg_parse_block(bd->ld, val, NULL, NULL, NULL, NULL,
                       td_config_pipeline_keys, where, true);
    if (val->kind != TD_CFG_NODE_MAP && !val->is_null) {
        bd->pipelines_bad = true;
        return;
    }
    for (int i = 0; i < 3; i++) {
        const td_cfg_node *list = td_cfg_node_get(val,
                                                  td_config_pipeline_keys[i]);

        snprintf(path, sizeof(path), "%s.%s", where,
                 td_config_pipeline_keys[i]);
        n[i] = td_config_refs(bd, list, kinds[i], sig, user, path,
                              &refs[i]);
        if (i == 1) {
            td_config_proc_order(bd, list, q);
            continue;
        }
        if (list == NULL || (list->kind == TD_CFG_NODE_SCALAR
                             && list->is_null)) {
            td_cfg_node_error(bd->ld, key, "pipeline %s has no %s; list "
                              "at least one under %s", q,
                              td_config_sections[kinds[i]], path);
        } else if (list->kind == TD_CFG_NODE_SEQ && list->n == 0) {
            td_cfg_node_error(bd->ld, list, "pipeline %s has no %s; list "
                              "at least one under %s", q,
                              td_config_sections[kinds[i]], path);
        }
    }
    p->receivers = refs[0];
    p->n_receivers = n[0];
    p->processors = refs[1];
    p->n_processors = n[1];
    p->exporters = refs[2];
    p->n_exporters = n[2];
}

static void
td_config_pipelines(td_config_build *bd, const td_cfg_node *svc_key,
                    const td_cfg_node *svc)
{
    const td_cfg_node *pl = td_cfg_node_get(svc, "pipelines");
    const td_cfg_node *at = svc_key ? svc_key : bd->root;
    td_config *cfg = bd->cfg;

    if (pl != NULL && pl->kind != TD_CFG_NODE_MAP && !pl->is_null) {
        td_cfg_node_error(bd->ld, pl, "service.pipelines must be a map of "
                          "pipeline ids (traces, metrics, logs or "
                          "SIGNAL/NAME) to their lists, got %s",
                          td_cfg_node_what(pl));
        bd->pipelines_bad = true;
        return;
    }
    if (pl == NULL || pl->kind != TD_CFG_NODE_MAP || pl->n == 0) {
        td_cfg_node_error(bd->ld, pl && !pl->is_null ? pl : at,
                          "no pipelines are defined; add one under "
                          "service.pipelines, e.g. logs: {receivers: "
                          "[tcplog], exporters: [debug]}");
        return;
    }
    cfg->pipelines = calloc(pl->n, sizeof(*cfg->pipelines));
    if (cfg->pipelines == NULL) {
        bd->ld->nomem = true;
        return;
    }
    for (size_t i = 0; i < pl->n && !bd->ld->nomem; i++) {
        int sig = td_config_pipeline_id(bd->ld, pl->keys[i]);

        if (sig >= 0) {
            td_config_pipeline(bd, pl->keys[i], pl->vals[i], sig);
        } else {
            bd->pipelines_bad = true;
        }
    }
}

static void
td_config_service_section(td_config_build *bd)
{
    td_cfg_loader *ld = bd->ld;
    long at = td_cfg_node_find(bd->root, "service", 7);
    const td_cfg_node *key = at >= 0 ? bd->root->keys[at] : NULL;
    const td_cfg_node *svc = at >= 0 ? bd->root->vals[at] : NULL;
    td_cfg_component **exts = NULL;
    td_config_service set;
    char err[256];

    memset(&set, 0, sizeof(set));
    if (td_cfg_defaults(td_config_service_keys, &set, err, sizeof(err))
        != TD_OK) {
        ld->nomem = true;
        return;
    }
    td_cfg_parse_block(ld, svc, td_config_service_keys, &set, NULL, NULL,
                       td_config_service_extra, "service", true);
    if (svc != NULL && svc->kind != TD_CFG_NODE_MAP && !svc->is_null) {
        /* Reported above; "no pipelines" would only repeat it. */
        bd->pipelines_bad = true;
    }
    bd->cfg->log_level = td_log_level_parse(
        td_config_log_levels[set.log_level]);
    bd->cfg->shutdown_timeout_ms = set.shutdown_ms;
    if (set.metrics_level != 0) {
        bd->cfg->metrics_address = set.metrics_address;
        set.metrics_address = NULL;
    }
    td_cfg_free_values(td_config_service_keys, &set);

    if (!bd->pipelines_bad) {
        td_config_pipelines(bd, key, svc);
    }
    (void) td_config_refs(bd, td_cfg_node_get(svc, "extensions"),
                          TD_KIND_EXTENSION, -1, "service.extensions",
                          "service.extensions", &exts);
    free(exts);
}

/*
 * Warns about components that nothing uses. When some pipeline could not
 * be read, or an id of the kind was misspelt, what was meant to be used
 * is unknown, so nothing is said.
 */
static void
td_config_unused(td_config_build *bd)
{
    if (bd->pipelines_bad) {
        return;
    }
    for (int kind = 0; kind < TD_KIND_COUNT; kind++) {
        if (bd->undefined[kind]) {
            continue;
        }
        for (size_t i = 0; i < bd->cfg->n_comps[kind]; i++) {
            const td_cfg_component *comp = &bd->cfg->comps[kind][i];
            char q[160];

            if (comp->used || comp->desc == NULL) {
                continue;
            }
            td_cfg_quote(comp->id, q, sizeof(q));
            if (kind == TD_KIND_EXTENSION) {
                td_cfg_node_warn(bd->ld, bd->at[kind][i], "extension %s "
                                 "is defined but not listed in "
                                 "service.extensions, so it will not run",
                                 q);
            } else {
                td_cfg_node_warn(bd->ld, bd->at[kind][i], "%s %s is "
                                 "defined but no pipeline uses it, so it "
                                 "will not run", td_kind_name(kind), q);
            }
        }
    }
}

/* ---- loading ---- */

static void
td_config_build_all(td_config_build *bd)
{
    td_cfg_parse_block(bd->ld, bd->root, NULL, NULL, NULL, NULL,
                       td_config_top, "the top level of the config", true);
    for (int kind = 0; kind < TD_KIND_COUNT && !bd->ld->nomem; kind++) {
        td_config_components(bd, (td_kind) kind);
    }
    if (!bd->ld->nomem) {
        td_config_service_section(bd);
    }
    if (!bd->ld->nomem) {
        td_config_unused(bd);
    }
}

int
td_config_load_ext(const td_config_source *srcs, size_t n_srcs,
                   const char *const *sets, size_t n_sets,
                   const td_component_desc *const *extra, size_t n_extra,
                   td_config **out, td_buf *msgs)
{
    td_config_build bd;
    td_cfg_loader ld;
    bool broken = false;
    td_cfg_node *root;

    *out = NULL;
    memset(&ld, 0, sizeof(ld));
    ld.msgs = msgs;
    ld.extra = extra;
    ld.n_extra = n_extra;
    root = td_config_sources(&ld, srcs, n_srcs, &broken);
    if (root == NULL && !ld.nomem) {
        root = td_cfg_node_new(&ld, TD_CFG_NODE_MAP,
                               n_srcs && srcs[0].name ? srcs[0].name
                                                      : "config", 1, 1);
    }
    if (root == NULL) {
        return TD_ENOMEM;
    }
    /* A --set that could not be applied leaves ids undefined. */
    for (size_t i = 0; i < n_sets; i++) {
        if (td_cfg_yaml_set(&ld, root, sets[i]) != TD_OK) {
            broken = true;
        }
    }
    td_cfg_yaml_expand(&ld, root);

    memset(&bd, 0, sizeof(bd));
    bd.ld = &ld;
    bd.root = root;
    bd.cfg = calloc(1, sizeof(*bd.cfg));
    if (bd.cfg == NULL) {
        ld.nomem = true;
    } else if (!broken) {
        td_config_build_all(&bd);
    }
    for (int kind = 0; kind < TD_KIND_COUNT; kind++) {
        free(bd.at[kind]);
        free(bd.seen[kind]);
    }
    td_cfg_node_free(&ld, root);
    if (ld.nomem || ld.n_errors != 0) {
        td_config_free(bd.cfg);
        return ld.nomem ? TD_ENOMEM : TD_EINVAL;
    }
    *out = bd.cfg;
    return TD_OK;
}

int
td_config_load(const td_config_source *srcs, size_t n_srcs,
               const char *const *sets, size_t n_sets, td_config **out,
               td_buf *msgs)
{
    return td_config_load_ext(srcs, n_srcs, sets, n_sets, NULL, 0, out,
                              msgs);
}

void
td_config_free(td_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    for (int kind = 0; kind < TD_KIND_COUNT; kind++) {
        for (size_t i = 0; i < cfg->n_comps[kind]; i++) {
            td_cfg_component *comp = &cfg->comps[kind][i];

            if (comp->desc != NULL) {
                td_cfg_free_values(comp->desc->keys, comp->cfg);
                td_cfg_free_values(td_exporter_keys, &comp->xset);
            }
            free(comp->cfg);
            free(comp->id);
        }
        free(cfg->comps[kind]);
    }
    for (size_t i = 0; i < cfg->n_pipelines; i++) {
        free(cfg->pipelines[i].id);
        free(cfg->pipelines[i].receivers);
        free(cfg->pipelines[i].processors);
        free(cfg->pipelines[i].exporters);
    }
    free(cfg->pipelines);
    free(cfg->metrics_address);
    free(cfg);
}
