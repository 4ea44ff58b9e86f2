/*
 * test_config.c - the config loader (agent/config*.c) from YAML text to a
 * td_config. Every failing case compares the whole of what the loader
 * wrote, FILE:LINE:COLUMN included, so that a message that loses its
 * position, its sentence or its list of what is allowed fails here; every
 * valid case checks the values it produced.
 *
 * Component types not in the registry (a fake receiver with every kind
 * of key) go through td_config_load_ext().
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_internal.h"
#include "log.h"
#include "receivers/tcplog.h"
#include "tt.h"

/* A pipeline that uses the usual tcplog and debug; goes last in a text. */
#define LOGS_PIPELINE                                                    \
    "service:\n"                                                         \
    "  pipelines:\n"                                                     \
    "    logs: {receivers: [tcplog], exporters: [debug]}\n"

#define TCPLOG_KEYS                                                      \
    "endpoint, max_log_size, max_connections, idle_timeout, parse, "     \
    "resource, attributes"

/* ---- a fake receiver with one key of every type ---- */

typedef struct fake_cfg {
    td_cfg_strlist tags;
    td_cfg_strmap labels;
    double ratio;
    int64_t count;
    bool on;
    int mode;
    int64_t wait_ms;
    char *name;
} fake_cfg;

static const char *const fake_modes[] = {"fast", "safe", NULL};

static const td_cfg_key fake_nested_keys[] = {
    {.name = "wait", .type = TD_CFG_DURATION, .def = "250ms",
     .offset = offsetof(fake_cfg, wait_ms), .min = 0, .max = 60000},
    {.name = "name", .type = TD_CFG_STR,
     .offset = offsetof(fake_cfg, name), .flags = TD_CFG_REQUIRED},
    {.name = NULL}
};

static const td_cfg_key fake_keys[] = {
    {.name = "tags", .type = TD_CFG_STRLIST, .def = "[a, b]",
     .offset = offsetof(fake_cfg, tags)},
    {.name = "labels", .type = TD_CFG_STRMAP,
     .offset = offsetof(fake_cfg, labels)},
    {.name = "ratio", .type = TD_CFG_DOUBLE, .def = "0.5",
     .offset = offsetof(fake_cfg, ratio), .min = 0, .max = 1},
    {.name = "count", .type = TD_CFG_INT,
     .offset = offsetof(fake_cfg, count), .min = 1, .max = 1000,
     .flags = TD_CFG_REQUIRED},
    {.name = "on", .type = TD_CFG_BOOL, .def = "true",
     .offset = offsetof(fake_cfg, on)},
    {.name = "mode", .type = TD_CFG_ENUM, .def = "safe",
     .offset = offsetof(fake_cfg, mode), .choices = fake_modes},
    {.name = "nested", .type = TD_CFG_SECTION, .sub = fake_nested_keys},
    {.name = NULL}
};

/* Cross-key checks, to see where td_cfg_diag messages point. */
static int
fake_validate(void *cfg, td_cfg_diag *d)
{
    const fake_cfg *c = cfg;

    if (!c->on) {
        td_cfg_warn(d, "on", "on is false, so this receiver reads nothing");
    }
    if (c->count > 100 && c->mode == 0) {
        td_cfg_error(d, "count", "count above 100 needs mode safe");
        return TD_EINVAL;
    }
    if (c->wait_ms == 0 && !td_cfg_is_set(d, "nested.wait")) {
        td_cfg_error(d, "nested.wait", "cannot happen: wait has a default");
        return TD_EINVAL;
    }
    return TD_OK;
}

static const td_component_desc fake_receiver = {
    .type = "fake",
    .kind = TD_KIND_RECEIVER,
    .signals = TD_SIGNAL_BIT(TD_SIGNAL_TRACES)
               | TD_SIGNAL_BIT(TD_SIGNAL_METRICS),
    .summary = "a receiver that only exists in this test",
    .cfg_size = sizeof(fake_cfg),
    .keys = fake_keys,
    .validate = fake_validate,
};

static const td_component_desc *const fake_extra[] = {&fake_receiver};

/* ---- loading helpers ---- */

typedef struct loaded {
    int rc;
    td_config *cfg;
    td_buf msgs;
} loaded;

static void
load_ext(loaded *l, const td_config_source *srcs, size_t n_srcs,
         const char *const *sets, size_t n_sets, bool fake)
{
    memset(l, 0, sizeof(*l));
    l->rc = td_config_load_ext(srcs, n_srcs, sets, n_sets,
                               fake ? fake_extra : NULL, fake ? 1 : 0,
                               &l->cfg, &l->msgs);
}

/* Loads text as the source "t.yaml", then applies sets. */
static void
load_sets(loaded *l, const char *text, const char *const *sets,
          size_t n_sets)
{
    td_config_source src = {.name = "t.yaml", .text = text};

    load_ext(l, &src, 1, sets, n_sets, false);
}

static void
load(loaded *l, const char *text)
{
    load_sets(l, text, NULL, 0);
}

static void
load_fake(loaded *l, const char *text)
{
    td_config_source src = {.name = "f.yaml", .text = text};

    load_ext(l, &src, 1, NULL, 0, true);
}

static const char *
msgs_of(const loaded *l)
{
    return l->msgs.data != NULL ? l->msgs.data : "";
}

static void
loaded_free(loaded *l)
{
    td_config_free(l->cfg);
    td_buf_free(&l->msgs);
}

/* The load failed and wrote exactly expected (lines ending in \n). */
#define CHECK_FAILS(l, expected)                                         \
    do {                                                                 \
        TT_CHECK_INT((l)->rc, TD_EINVAL);                                \
        TT_CHECK((l)->cfg == NULL);                                      \
        TT_CHECK_STR(msgs_of(l), expected);                              \
    } while (0)

/* The load succeeded and wrote exactly expected ("" for nothing). */
#define CHECK_LOADS(l, expected)                                         \
    do {                                                                 \
        TT_CHECK_INT((l)->rc, TD_OK);                                    \
        TT_CHECK((l)->cfg != NULL);                                      \
        TT_CHECK_STR(msgs_of(l), expected);                              \
    } while (0)

static td_cfg_component *
find_comp(const td_config *cfg, td_kind kind, const char *id)
{
    for (size_t i = 0; cfg != NULL && i < cfg->n_comps[kind]; i++) {
        if (strcmp(cfg->comps[kind][i].id, id) == 0) {
            return &cfg->comps[kind][i];
        }
    }
    return NULL;
}

static const td_tcplog_cfg *
tcplog_of(const td_config *cfg, const char *id)
{
    td_cfg_component *comp = find_comp(cfg, TD_KIND_RECEIVER, id);

    return comp != NULL ? comp->cfg : NULL;
}

/* The value of key in a strmap, or NULL. */
static const char *
strmap_get(const td_cfg_strmap *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->keys[i], key) == 0) {
            return m->vals[i];
        }
    }
    return NULL;
}

/* ---- valid configs ---- */

static void
test_default_config(void)
{
    td_config_source src = {.name = "default", .text = td_default_config};
    const td_tcplog_cfg *tc;
    loaded l;

    load_ext(&l, &src, 1, NULL, 0, false);
    CHECK_LOADS(&l, "");
    if (l.cfg == NULL) {
        loaded_free(&l);
        return;
    }
    TT_CHECK_INT(l.cfg->n_comps[TD_KIND_RECEIVER], 1);
    TT_CHECK_INT(l.cfg->n_comps[TD_KIND_EXPORTER], 1);
    tc = tcplog_of(l.cfg, "tcplog");
    TT_CHECK(tc != NULL);
    if (tc != NULL) {
        TT_CHECK_STR(tc->endpoint, "0.0.0.0:5000");
        TT_CHECK_INT(tc->max_log_size, 1048576);
        TT_CHECK_INT(tc->parse, TD_TCPLOG_PARSE_JSON);
    }
    TT_CHECK(find_comp(l.cfg, TD_KIND_EXPORTER, "debug") != NULL);
    TT_CHECK_INT(l.cfg->n_pipelines, 1);
    TT_CHECK_STR(l.cfg->pipelines[0].id, "logs");
    TT_CHECK_INT(l.cfg->pipelines[0].signal, TD_SIGNAL_LOGS);
    TT_CHECK_INT(l.cfg->pipelines[0].n_receivers, 1);
    TT_CHECK_INT(l.cfg->pipelines[0].n_exporters, 1);
    TT_CHECK_STR(l.cfg->metrics_address, "0.0.0.0:8888");
    TT_CHECK_INT(l.cfg->shutdown_timeout_ms, 10000);
    TT_CHECK_INT(l.cfg->log_level, TD_LOG_INFO);
    loaded_free(&l);
}

static void
test_valid_values(void)
{
    const td_tcplog_cfg *tc;
    td_cfg_component *dbg;
    const td_cfg_pipeline *p;
    loaded l;

    load(&l, "receivers:\n"
             "  tcplog/edge:\n"
             "    endpoint: 127.0.0.1:6000\n"
             "    max_log_size: 4096\n"
             "    idle_timeout: 1m30s\n"
             "    parse: none\n"
             "    resource: {service.name: shop, zone: \"2\"}\n"
             "exporters:\n"
             "  debug:\n"
             "    verbosity: detailed\n"
             "    timeout: 200ms\n"
             "    sending_queue: {enabled: false, queue_size: 7}\n"
             "    retry_on_failure:\n"
             "      initial_interval: 1.5s\n"
             "      max_interval: 1h\n"
             "      multiplier: 2.5\n"
             "service:\n"
             "  shutdown_timeout: 45s\n"
             "  telemetry:\n"
             "    logs: {level: debug}\n"
             "    metrics: {address: 127.0.0.1:9999}\n"
             "  pipelines:\n"
             "    logs/shipper:\n"
             "      receivers: [tcplog/edge]\n"
             "      exporters: [debug]\n");
    CHECK_LOADS(&l, "");
    tc = tcplog_of(l.cfg, "tcplog/edge");
    TT_CHECK(tc != NULL);
    if (tc != NULL) {
        TT_CHECK_STR(tc->endpoint, "127.0.0.1:6000");
        TT_CHECK_INT(tc->max_log_size, 4096);
        TT_CHECK_INT(tc->max_connections, 1024);
        TT_CHECK_INT(tc->idle_timeout_ms, 90000);
        TT_CHECK_INT(tc->parse, TD_TCPLOG_PARSE_NONE);
        TT_CHECK_INT(tc->resource.n, 2);
        TT_CHECK_STR(strmap_get(&tc->resource, "service.name"), "shop");
        TT_CHECK_STR(strmap_get(&tc->resource, "zone"), "2");
        TT_CHECK_INT(tc->attributes.n, 0);
    }
    dbg = find_comp(l.cfg, TD_KIND_EXPORTER, "debug");
    TT_CHECK(dbg != NULL);
    if (dbg != NULL) {
        TT_CHECK_INT(dbg->line, 9);
        TT_CHECK_INT(dbg->col, 3);
        TT_CHECK_INT(dbg->xset.timeout_ms, 200);
        TT_CHECK(!dbg->xset.queue_enabled);
        TT_CHECK_INT(dbg->xset.queue_size, 7);
        TT_CHECK_INT(dbg->xset.num_consumers, 10);
        TT_CHECK(dbg->xset.retry_enabled);
        TT_CHECK_INT(dbg->xset.initial_interval_ms, 1500);
        TT_CHECK_INT(dbg->xset.max_interval_ms, 3600000);
        TT_CHECK_INT(dbg->xset.max_elapsed_ms, 300000);
        TT_CHECK(dbg->xset.multiplier == 2.5);
        TT_CHECK(dbg->xset.randomization_factor == 0.5);
    }
    TT_CHECK_INT(l.cfg != NULL ? l.cfg->n_pipelines : 0, 1);
    if (l.cfg != NULL && l.cfg->n_pipelines == 1) {
        p = &l.cfg->pipelines[0];
        TT_CHECK_STR(p->id, "logs/shipper");
        TT_CHECK_INT(p->signal, TD_SIGNAL_LOGS);
        TT_CHECK_INT(p->n_receivers, 1);
        TT_CHECK_INT(p->n_processors, 0);
        TT_CHECK_INT(p->n_exporters, 1);
        TT_CHECK(p->n_receivers == 1 && p->receivers[0]->cfg == tc);
        TT_CHECK(p->n_exporters == 1 && p->exporters[0] == dbg);
        TT_CHECK_INT(l.cfg->shutdown_timeout_ms, 45000);
        TT_CHECK_INT(l.cfg->log_level, TD_LOG_DEBUG);
        TT_CHECK_STR(l.cfg->metrics_address, "127.0.0.1:9999");
    }
    loaded_free(&l);
}

/* metrics.level none turns own metrics off: no address at all. */
static void
test_metrics_level_none(void)
{
    loaded l;

    load(&l, "receivers: {tcplog: }\n"
             "exporters: {debug: }\n"
             "service:\n"
             "  telemetry: {metrics: {level: none}}\n"
             "  pipelines: {logs: {receivers: [tcplog], "
             "exporters: [debug]}}\n");
    CHECK_LOADS(&l, "");
    TT_CHECK(l.cfg != NULL && l.cfg->metrics_address == NULL);
    loaded_free(&l);
}

/* ---- unknown keys ---- */

static void
test_unknown_key_suggests(void)
{
    loaded l;

    load(&l, "receivers:\n"
             "  tcplog:\n"
             "    endpont: 0.0.0.0:5000\n"
             "exporters:\n"
             "  debug:\n" LOGS_PIPELINE);
    CHECK_FAILS(&l, "t.yaml:3:5: error: unknown key \"endpont\" in "
                "receiver \"tcplog\"; did you mean \"endpoint\"? valid "
                "keys: " TCPLOG_KEYS "\n");
    loaded_free(&l);
}

static void
test_unknown_key_no_suggestion(void)
{
    loaded l;

    load(&l, "receivers:\n"
             "  tcplog:\n"
             "    colour: red\n"
             "exporters:\n"
             "  debug:\n" LOGS_PIPELINE);
    CHECK_FAILS(&l, "t.yaml:3:5: error: unknown key \"colour\" in "
                "receiver \"tcplog\"; valid keys: " TCPLOG_KEYS "\n");
    loaded_free(&l);
}

/* Sections of a component are named by path; service's are dotted. */
static void
test_unknown_key_nested(void)
{
    loaded l;

    load(&l, "receivers: {tcplog: }\n"
             "exporters:\n"
             "  debug:\n"
             "    sending_queue:\n"
             "      queue_sise: 5\n"
             "service:\n"
             "  pipelines: {logs: {receivers: [tcplog], "
             "exporters: [debug]}}\n"
             "  telemetry: {logs: {levle: debug}}\n"
             "  pipeline: {}\n"
             "sevrice: {}\n");
    CHECK_FAILS(&l,
                "t.yaml:10:1: error: unknown key \"sevrice\" in the top "
                "level of the config; did you mean \"service\"? valid "
                "keys: receivers, processors, exporters, extensions, "
                "service\n"
                "t.yaml:5:7: error: unknown key \"sending_queue.queue_sise\""
                " in exporter \"debug\"; did you mean \"queue_size\"? "
                "valid keys: enabled, num_consumers, queue_size\n"
                "t.yaml:8:22: error: unknown key \"levle\" in "
                "service.telemetry.logs; did you mean \"level\"? valid "
                "keys: level, encoding\n"
                "t.yaml:9:3: error: unknown key \"pipeline\" in service; "
                "did you mean \"pipelines\"? valid keys: telemetry, "
                "shutdown_timeout, pipelines, extensions\n");
    loaded_free(&l);
}

/* Past TD_CFG_MAX_MSGS errors the loader says so once and stops. */
static void
test_message_limit(void)
{
    td_buf text = TD_BUF_INIT;
    const char *m;
    int lines = 0;
    loaded l;

    TT_CHECK_INT(td_buf_puts(&text, "receivers:\n  tcplog:\n"), TD_OK);
    for (int i = 0; i < TD_CFG_MAX_MSGS + 50; i++) {
        TT_CHECK_INT(td_buf_printf(&text, "    k%d: 1\n", i), TD_OK);
    }
    load(&l, text.data);
    TT_CHECK_INT(l.rc, TD_EINVAL);
    m = msgs_of(&l);
    for (const char *p = m; *p != '\0'; p++) {
        lines += *p == '\n';
    }
    /* The errors, the notice, and the warning of the unused tcplog. */
    TT_CHECK_INT(lines, TD_CFG_MAX_MSGS + 2);
    TT_CHECK(strncmp(m, "t.yaml:3:5: error: unknown key \"k0\" in receiver "
                     "\"tcplog\"; valid keys: " TCPLOG_KEYS "\n",
                     strlen("t.yaml:3:5: error: unknown key \"k0\"")) == 0);
    TT_CHECK(strstr(m, "t.yaml:203:5: error: too many errors; the rest "
                    "are not shown\nt.yaml:2:3: warning: receiver "
                    "\"tcplog\" is defined but no pipeline uses it, so it "
                    "will not run\n") != NULL);
    TT_CHECK(strstr(m, "\"k200\"") == NULL);
    loaded_free(&l);
    td_buf_free(&text);
}

/* Errors are capped apart from warnings, so warnings cannot hide them. */
static void
test_warnings_do_not_hide_errors(void)
{
    td_buf text = TD_BUF_INIT;
    const char *m;
    int lines = 0;
    loaded l;

    unsetenv("TD_T_UNSET");
    TT_CHECK_INT(td_buf_puts(&text, "receivers:\n  tcplog:\n"
                             "    attributes:\n"), TD_OK);
    for (int i = 0; i < TD_CFG_MAX_MSGS + 50; i++) {
        TT_CHECK_INT(td_buf_printf(&text, "      k%d: ${TD_T_UNSET}\n", i),
                     TD_OK);
    }
    TT_CHECK_INT(td_buf_puts(&text, "    max_log_size: big\n"
                             "exporters: {debug: }\n" LOGS_PIPELINE),
                 TD_OK);
    load(&l, text.data);
    TT_CHECK_INT(l.rc, TD_EINVAL);
    m = msgs_of(&l);
    for (const char *p = m; *p != '\0'; p++) {
        lines += *p == '\n';
    }
    TT_CHECK_INT(lines, TD_CFG_MAX_MSGS + 2);
    TT_CHECK(strstr(m, "t.yaml:204:13: warning: too many warnings; the "
                    "rest are not shown\n") != NULL);
    TT_CHECK(strstr(m, "t.yaml:254:19: error: invalid value for "
                    "\"max_log_size\" in receiver \"tcplog\": expected an "
                    "integer, got \"big\"\n") != NULL);
    loaded_free(&l);
    td_buf_free(&text);
}

/* ---- wrong types and ranges ---- */

static void
test_wrong_types(void)
{
    loaded l;

    load(&l, "receivers:\n"
             "  tcplog:\n"
             "    max_connections: lots\n"
             "    endpoint: {host: a}\n"
             "    resource: [a]\n"
             "    attributes: {a: {b: c}}\n"
             "exporters:\n"
             "  debug:\n"
             "    sending_queue: {enabled: yes, num_consumers: 1.5}\n"
             "    retry_on_failure: 5\n" LOGS_PIPELINE);
    CHECK_FAILS(&l,
                "t.yaml:3:22: error: invalid value for \"max_connections\" "
                "in receiver \"tcplog\": expected an integer, got "
                "\"lots\"\n"
                "t.yaml:4:15: error: invalid value for \"endpoint\" in "
                "receiver \"tcplog\": expected a string, got a map\n"
                "t.yaml:5:15: error: invalid value for \"resource\" in "
                "receiver \"tcplog\": expected a map of names to single "
                "values, got a list\n"
                "t.yaml:6:21: error: invalid value for \"attributes\" in "
                "receiver \"tcplog\": \"a\": expected a single value, got "
                "a map\n"
                "t.yaml:9:30: error: invalid value for "
                "\"sending_queue.enabled\" in exporter \"debug\": expected "
                "true or false, got \"yes\"\n"
                "t.yaml:9:50: error: invalid value for "
                "\"sending_queue.num_consumers\" in exporter \"debug\": "
                "expected an integer, got \"1.5\"\n"
                "t.yaml:10:23: error: invalid value for "
                "\"retry_on_failure\" in exporter \"debug\": expected a map "
                "of keys, got \"5\"\n");
    loaded_free(&l);
}

static void
test_out_of_range(void)
{
    loaded l;

    load(&l, "receivers:\n"
             "  tcplog:\n"
             "    max_log_size: 0\n"
             "    max_connections: 99999999999999999999999\n"
             "exporters:\n"
             "  debug:\n"
             "    retry_on_failure:\n"
             "      randomization_factor: 2\n"
             "      multiplier: 1e999\n"
             "      max_elapsed_time: 25h\n"
             "service:\n"
             "  shutdown_timeout: 0s\n"
             "  pipelines: {logs: {receivers: [tcplog], "
             "exporters: [debug]}}\n");
    CHECK_FAILS(&l,
                "t.yaml:3:19: error: invalid value for \"max_log_size\" in "
                "receiver \"tcplog\": \"0\" is out of range; it must be "
                "between 1 and 67108864\n"
                "t.yaml:4:22: error: invalid value for \"max_connections\" "
                "in receiver \"tcplog\": \"99999999999999999999999\" is out "
                "of range; it must be between 1 and 1000000\n"
                "t.yaml:8:29: error: invalid value for "
                "\"retry_on_failure.randomization_factor\" in exporter "
                "\"debug\": \"2\" is out of range; it must be between 0 "
                "and 1\n"
                "t.yaml:9:19: error: invalid value for "
                "\"retry_on_failure.multiplier\" in exporter \"debug\": "
                "\"1e999\" is out of range; it must be between 1 and 100\n"
                "t.yaml:10:25: error: invalid value for "
                "\"retry_on_failure.max_elapsed_time\" in exporter "
                "\"debug\": \"25h\" is out of range; it must be between 0s "
                "and 24h\n"
                "t.yaml:12:21: error: invalid value for \"shutdown_timeout\" "
                "in service: \"0s\" is out of range; it must be between 1ms "
                "and 10m\n");
    loaded_free(&l);
}

static void
test_enum_lists_choices(void)
{
    loaded l;

    load(&l, "receivers:\n"
             "  tcplog:\n"
             "    parse: xml\n"
             "exporters:\n"
             "  debug:\n"
             "    verbosity: [loud]\n"
             "service:\n"
             "  telemetry: {logs: {level: trace}}\n"
             "  pipelines: {logs: {receivers: [tcplog], "
             "exporters: [debug]}}\n");
    CHECK_FAILS(&l,
                "t.yaml:3:12: error: invalid value for \"parse\" in "
                "receiver \"tcplog\": expected one of json, none, got "
                "\"xml\"\n"
                "t.yaml:6:16: error: invalid value for \"verbosity\" in "
                "exporter \"debug\": expected one of basic, normal, "
                "detailed, got a list\n"
                "t.yaml:8:29: error: invalid value for \"level\" in "
                "service.telemetry.logs: expected one of debug, info, warn, "
                "error, got \"trace\"\n");
    loaded_free(&l);
}

/* A key written with nothing after it keeps its default. */
static void
test_empty_value_keeps_default(void)
{
    const td_tcplog_cfg *tc;
    loaded l;

    load(&l, "receivers:\n"
             "  tcplog:\n"
             "    max_log_size:\n"
             "    endpoint: ~\n"
             "exporters: {debug: }\n" LOGS_PIPELINE);
    CHECK_LOADS(&l, "");
    tc = tcplog_of(l.cfg, "tcplog");
    TT_CHECK(tc != NULL && tc->max_log_size == 1048576);
    TT_CHECK(tc != NULL && strcmp(tc->endpoint, "0.0.0.0:5000") == 0);
    loaded_free(&l);
}

/* ---- components and ids ---- */

static void
test_unknown_component_type(void)
{
    loaded l;

    load(&l, "receivers:\n"
             "  tcpolg:\n"
             "  otlp/front:\n"
             "processors:\n"
             "  transform:\n"
             "exporters:\n"
             "  debug:\n"
             "  kafka:\n"
             "service:\n"
             "  pipelines:\n"
             "    logs: {receivers: [tcpolg, otlp/front], processors: "
             "[transform], exporters: [debug, kafka]}\n");
    CHECK_FAILS(&l,
                "t.yaml:2:3: error: unknown receiver type \"tcpolg\"; did "
                "you mean \"tcplog\"? receiver types compiled in: tcplog\n"
                "t.yaml:3:3: error: unknown receiver type \"otlp\"; "
                "receiver types compiled in: tcplog\n"
                "t.yaml:5:3: error: unknown processor type \"transform\"; "
                "processor types compiled in: batch, memory_limiter\n"
                "t.yaml:8:3: error: unknown exporter type \"kafka\"; "
                "exporter types compiled in: debug, file, nop\n");
    loaded_free(&l);
}

static void
test_bad_component_id(void)
{
    loaded l;

    load(&l, "receivers:\n"
             "  tcplog/:\n"
             "  /edge:\n"
             "  tcplog/a/b:\n"
             "  \"\":\n"
             "exporters: {debug: }\n"
             "service:\n"
             "  pipelines:\n"
             "    logs: {receivers: [tcplog/], exporters: [debug]}\n");
    CHECK_FAILS(&l,
                "t.yaml:2:3: error: invalid receiver id \"tcplog/\"; write "
                "TYPE or TYPE/NAME with a non-empty NAME and no second "
                "\"/\", as in tcplog or tcplog/edge\n"
                "t.yaml:3:3: error: invalid receiver id \"/edge\"; write "
                "TYPE or TYPE/NAME with a non-empty NAME and no second "
                "\"/\", as in tcplog or tcplog/edge\n"
                "t.yaml:4:3: error: invalid receiver id \"tcplog/a/b\"; "
                "write TYPE or TYPE/NAME with a non-empty NAME and no "
                "second \"/\", as in tcplog or tcplog/edge\n"
                "t.yaml:5:3: error: invalid receiver id \"\"; write TYPE or "
                "TYPE/NAME with a non-empty NAME and no second \"/\", as in "
                "tcplog or tcplog/edge\n");
    loaded_free(&l);
}

static void
test_undefined_id(void)
{
    loaded l;

    load(&l, "receivers: {tcplog: }\n"
             "exporters: {debug: }\n"
             "service:\n"
             "  pipelines:\n"
             "    logs: {receivers: [tcplog, tcplog/edge], exporters: "
             "[debg]}\n"
             "    logs/2: {receivers: [tcplog], exporters: [loki]}\n");
    CHECK_FAILS(&l,
                "t.yaml:5:32: error: receiver \"tcplog/edge\" is used by "
                "pipeline \"logs\" but not defined; define it under "
                "receivers\n"
                "t.yaml:5:58: error: exporter \"debg\" is used by pipeline "
                "\"logs\" but not defined; define it under exporters (did "
                "you mean \"debug\"?)\n"
                "t.yaml:6:47: error: exporter \"loki\" is used by pipeline "
                "\"logs/2\" but not defined; define it under exporters\n");
    loaded_free(&l);
}

static void
test_signal_not_supported(void)
{
    loaded l;

    load(&l, "receivers: {tcplog: }\n"
             "exporters: {debug: }\n"
             "service:\n"
             "  pipelines:\n"
             "    logs: {receivers: [tcplog], exporters: [debug]}\n"
             "    traces: {receivers: [tcplog], exporters: [debug]}\n");
    CHECK_FAILS(&l, "t.yaml:6:26: error: receiver \"tcplog\" does not "
                "support traces; it supports logs\n");
    loaded_free(&l);

    /* Several supported signals are listed in order. */
    load_fake(&l, "receivers:\n"
                  "  fake: {count: 1, nested: {name: n}}\n"
                  "exporters: {debug: }\n"
                  "service:\n"
                  "  pipelines:\n"
                  "    logs: {receivers: [fake], exporters: [debug]}\n");
    CHECK_FAILS(&l, "f.yaml:6:24: error: receiver \"fake\" does not "
                "support logs; it supports traces, metrics\n");
    loaded_free(&l);
}

static void
test_pipeline_without_receiver_or_exporter(void)
{
    loaded l;

    load(&l, "receivers: {tcplog: }\n"
             "exporters: {debug: }\n"
             "service:\n"
             "  pipelines:\n"
             "    logs: {receivers: [tcplog], exporters: [debug]}\n"
             "    logs/a: {exporters: [debug]}\n"
             "    logs/b: {receivers: [tcplog], exporters: []}\n"
             "    logs/c:\n");
    CHECK_FAILS(&l,
                "t.yaml:6:5: error: pipeline \"logs/a\" has no receivers; "
                "list at least one under "
                "service.pipelines.logs/a.receivers\n"
                "t.yaml:7:46: error: pipeline \"logs/b\" has no exporters; "
                "list at least one under "
                "service.pipelines.logs/b.exporters\n"
                "t.yaml:8:5: error: pipeline \"logs/c\" has no receivers; "
                "list at least one under "
                "service.pipelines.logs/c.receivers\n"
                "t.yaml:8:5: error: pipeline \"logs/c\" has no exporters; "
                "list at least one under "
                "service.pipelines.logs/c.exporters\n");
    loaded_free(&l);
}

static void
test_no_pipelines(void)
{
    loaded l;

    load(&l, "");
    CHECK_FAILS(&l, "t.yaml:1:1: error: no pipelines are defined; add one "
                "under service.pipelines, e.g. logs: {receivers: [tcplog], "
                "exporters: [debug]}\n");
    loaded_free(&l);

    load(&l, "receivers: {tcplog: }\n"
             "service:\n"
             "  pipelines: {}\n");
    CHECK_FAILS(&l, "t.yaml:3:14: error: no pipelines are defined; add one "
                "under service.pipelines, e.g. logs: {receivers: [tcplog], "
                "exporters: [debug]}\n"
                "t.yaml:1:13: warning: receiver \"tcplog\" is defined but "
                "no pipeline uses it, so it will not run\n");
    loaded_free(&l);
}

static void
test_unused_component_warns(void)
{
    loaded l;

    load(&l, "receivers: {tcplog: , tcplog/spare: }\n"
             "exporters:\n"
             "  debug:\n"
             "  nop:\n" LOGS_PIPELINE);
    CHECK_LOADS(&l, "t.yaml:1:23: warning: receiver \"tcplog/spare\" is "
                "defined but no pipeline uses it, so it will not run\n"
                "t.yaml:4:3: warning: exporter \"nop\" is defined but no "
                "pipeline uses it, so it will not run\n");
    TT_CHECK(find_comp(l.cfg, TD_KIND_EXPORTER, "nop") != NULL);
    TT_CHECK(find_comp(l.cfg, TD_KIND_EXPORTER, "nop") != NULL
             && !find_comp(l.cfg, TD_KIND_EXPORTER, "nop")->used);
    TT_CHECK(find_comp(l.cfg, TD_KIND_EXPORTER, "debug") != NULL
             && find_comp(l.cfg, TD_KIND_EXPORTER, "debug")->used);
    loaded_free(&l);
}

/*
 * memory_limiter belongs first and batch after it; the warnings point at
 * the ids in the processors list. A correct order says nothing.
 */
static void
test_processor_order_warns(void)
{
    loaded l;

    load(&l, "receivers: {tcplog: }\n"
             "processors:\n"
             "  batch:\n"
             "  memory_limiter: {limit_mib: 100}\n"
             "exporters: {nop: }\n"
             "service:\n"
             "  pipelines:\n"
             "    logs:\n"
             "      receivers: [tcplog]\n"
             "      processors: [batch, memory_limiter]\n"
             "      exporters: [nop]\n"
             "    logs/ok:\n"
             "      receivers: [tcplog]\n"
             "      processors: [memory_limiter, batch]\n"
             "      exporters: [nop]\n");
    CHECK_LOADS(&l, "t.yaml:10:27: warning: memory_limiter is not the "
                "first processor of pipeline \"logs\"; put it first so "
                "that it refuses data before other processors spend "
                "memory on it\n"
                "t.yaml:10:20: warning: batch stands before memory_limiter "
                "in pipeline \"logs\"; what batch holds escapes the limit, "
                "so put batch after memory_limiter\n");
    loaded_free(&l);
}

static void
test_bad_pipeline_id(void)
{
    loaded l;

    load(&l, "receivers: {tcplog: }\n"
             "exporters: {debug: }\n"
             "service:\n"
             "  pipelines:\n"
             "    logs: {receivers: [tcplog], exporters: [debug]}\n"
             "    logz: {receivers: [tcplog], exporters: [debug]}\n"
             "    events/x: {receivers: [tcplog], exporters: [debug]}\n"
             "    logs/: {receivers: [tcplog], exporters: [debug]}\n"
             "    traces/a/b: {receivers: [tcplog], exporters: [debug]}\n");
    CHECK_FAILS(&l,
                "t.yaml:6:5: error: invalid pipeline id \"logz\"; a "
                "pipeline id starts with traces, metrics or logs, "
                "optionally followed by /NAME (did you mean \"logs\"?)\n"
                "t.yaml:7:5: error: invalid pipeline id \"events/x\"; a "
                "pipeline id starts with traces, metrics or logs, "
                "optionally followed by /NAME\n"
                "t.yaml:8:5: error: invalid pipeline id \"logs/\"; write "
                "SIGNAL or SIGNAL/NAME with a non-empty NAME and no second "
                "\"/\", as in logs/shipper\n"
                "t.yaml:9:5: error: invalid pipeline id \"traces/a/b\"; "
                "write SIGNAL or SIGNAL/NAME with a non-empty NAME and no "
                "second \"/\", as in logs/shipper\n");
    loaded_free(&l);
}

static void
test_pipeline_lists(void)
{
    loaded l;

    load(&l, "receivers: {tcplog: }\n"
             "exporters: {debug: , nop: }\n"
             "service:\n"
             "  pipelines:\n"
             "    logs:\n"
             "      receivers: tcplog\n"
             "      exporters: [debug, nop, debug, [x], ~]\n"
             "      procesors: []\n");
    CHECK_FAILS(&l,
                "t.yaml:8:7: error: unknown key \"procesors\" in "
                "service.pipelines.logs; did you mean \"processors\"? "
                "valid keys: receivers, processors, exporters\n"
                "t.yaml:6:18: error: service.pipelines.logs.receivers must "
                "be a list of receiver ids such as [a, b], got a single "
                "value\n"
                "t.yaml:7:31: error: exporter \"debug\" is listed twice in "
                "service.pipelines.logs.exporters; list each id once\n"
                "t.yaml:7:38: error: item 4 of "
                "service.pipelines.logs.exporters must be an exporter id, "
                "got a list\n"
                "t.yaml:7:43: error: item 5 of "
                "service.pipelines.logs.exporters must be an exporter id, "
                "got nothing\n");
    loaded_free(&l);
}

/* A section that is not a map is one error, not one per use of it. */
static void
test_broken_sections_do_not_cascade(void)
{
    loaded l;

    load(&l, "receivers: [tcplog]\n"
             "exporters: {debug: }\n" LOGS_PIPELINE);
    CHECK_FAILS(&l, "t.yaml:1:12: error: receivers must be a map of "
                "receiver ids to their settings, got a list\n");
    loaded_free(&l);

    load(&l, "receivers: {tcplog: }\n"
             "exporters: {debug: }\n"
             "service: on\n");
    CHECK_FAILS(&l, "t.yaml:3:10: error: service must be a map of "
                "settings, got a single value\n");
    loaded_free(&l);

    load(&l, "receivers: {tcplog: 5}\n"
             "exporters: {debug: }\n" LOGS_PIPELINE);
    CHECK_FAILS(&l, "t.yaml:1:21: error: receiver \"tcplog\" must be a map "
                "of settings, got a single value\n");
    loaded_free(&l);
}

static void
test_extensions(void)
{
    loaded l;

    load(&l, "receivers: {tcplog: }\n"
             "exporters: {debug: }\n"
             "extensions: {health_check: }\n"
             "service:\n"
             "  extensions: [zpages]\n"
             "  pipelines: {logs: {receivers: [tcplog], "
             "exporters: [debug]}}\n");
    CHECK_FAILS(&l,
                "t.yaml:3:14: error: unknown extension type "
                "\"health_check\"; no extension types are compiled in yet\n"
                "t.yaml:5:16: error: extension \"zpages\" is used by "
                "service.extensions but not defined; define it under "
                "extensions\n");
    loaded_free(&l);
}

/* ---- cross-key validation and required keys ---- */

static void
test_validate_messages(void)
{
    loaded l;

    load(&l, "receivers:\n"
             "  tcplog:\n"
             "    endpoint: localhost\n"
             "exporters:\n"
             "  debug:\n"
             "    retry_on_failure: {initial_interval: 2m, "
             "max_interval: 1m}\n" LOGS_PIPELINE);
    CHECK_FAILS(&l,
                "t.yaml:3:15: error: receiver \"tcplog\": endpoint "
                "\"localhost\" has no port; write host:port, for example "
                "0.0.0.0:5000\n"
                "t.yaml:6:42: error: exporter \"debug\": "
                "retry_on_failure.initial_interval (2m) is longer than "
                "retry_on_failure.max_interval (1m); make it shorter or "
                "raise max_interval\n");
    loaded_free(&l);
}

static void
test_required_keys(void)
{
    loaded l;

    load(&l, "receivers: {tcplog: }\n"
             "exporters:\n"
             "  file:\n"
             "  file/b:\n"
             "    path:\n"
             "  file/c: {path: \"\"}\n"
             "service:\n"
             "  pipelines:\n"
             "    logs: {receivers: [tcplog], exporters: [file, file/b, "
             "file/c]}\n");
    CHECK_FAILS(&l,
                "t.yaml:3:3: error: missing required key \"path\" in "
                "exporter \"file\"; it has no default, so add it\n"
                "t.yaml:5:5: error: key \"path\" in exporter \"file/b\" is "
                "required but has no value; it has no default, so give it "
                "one\n"
                "t.yaml:6:18: error: exporter \"file/c\": path must name "
                "the file to write to\n");
    loaded_free(&l);

    /* A required key inside a section is named by its path. */
    load_fake(&l, "receivers:\n"
                  "  fake:\n"
                  "    nested: {wait: 1s}\n"
                  "exporters: {debug: }\n"
                  "service:\n"
                  "  pipelines:\n"
                  "    traces: {receivers: [fake], exporters: [debug]}\n");
    CHECK_FAILS(&l,
                "f.yaml:2:3: error: missing required key \"count\" in "
                "receiver \"fake\"; it has no default, so add it\n"
                "f.yaml:2:3: error: missing required key \"nested.name\" in "
                "receiver \"fake\"; it has no default, so add it\n");
    loaded_free(&l);
}

/* ---- every key type, through the fake receiver ---- */

static void
test_strlist_strmap_values(void)
{
    td_cfg_component *comp;
    const fake_cfg *fc;
    loaded l;

    load_fake(&l, "receivers:\n"
                  "  fake:\n"
                  "    tags: [x, \"y z\", 3]\n"
                  "    labels: {team: core, tier: 1}\n"
                  "    ratio: 0.25\n"
                  "    count: 7\n"
                  "    on: false\n"
                  "    mode: fast\n"
                  "    nested: {name: n1}\n"
                  "  fake/defaults: {count: 1, nested: {name: n2}}\n"
                  "exporters: {debug: }\n"
                  "service:\n"
                  "  pipelines:\n"
                  "    traces: {receivers: [fake, fake/defaults], "
                  "exporters: [debug]}\n");
    CHECK_LOADS(&l, "f.yaml:7:9: warning: receiver \"fake\": on is false, "
                "so this receiver reads nothing\n");
    comp = find_comp(l.cfg, TD_KIND_RECEIVER, "fake");
    fc = comp != NULL ? comp->cfg : NULL;
    TT_CHECK(fc != NULL);
    if (fc != NULL) {
        TT_CHECK_INT(fc->tags.n, 3);
        TT_CHECK(fc->tags.n == 3 && !strcmp(fc->tags.items[0], "x")
                 && !strcmp(fc->tags.items[1], "y z")
                 && !strcmp(fc->tags.items[2], "3"));
        TT_CHECK_INT(fc->labels.n, 2);
        TT_CHECK_STR(strmap_get(&fc->labels, "team"), "core");
        TT_CHECK_STR(strmap_get(&fc->labels, "tier"), "1");
        TT_CHECK(fc->ratio == 0.25);
        TT_CHECK_INT(fc->count, 7);
        TT_CHECK(!fc->on);
        TT_CHECK_INT(fc->mode, 0);
        TT_CHECK_INT(fc->wait_ms, 250);
        TT_CHECK_STR(fc->name, "n1");
    }
    comp = find_comp(l.cfg, TD_KIND_RECEIVER, "fake/defaults");
    fc = comp != NULL ? comp->cfg : NULL;
    TT_CHECK(fc != NULL);
    if (fc != NULL) {
        TT_CHECK(fc->tags.n == 2 && !strcmp(fc->tags.items[0], "a")
                 && !strcmp(fc->tags.items[1], "b"));
        TT_CHECK_INT(fc->labels.n, 0);
        TT_CHECK(fc->ratio == 0.5);
        TT_CHECK(fc->on);
        TT_CHECK_INT(fc->mode, 1);
    }
    loaded_free(&l);
}

static void
test_strlist_strmap_errors(void)
{
    loaded l;

    load_fake(&l, "receivers:\n"
                  "  fake:\n"
                  "    tags: {a: b}\n"
                  "    labels: [a, b]\n"
                  "    count: 1\n"
                  "    nested: {name: n}\n"
                  "  fake/2:\n"
                  "    tags: [a, [b]]\n"
                  "    labels: {a: [1]}\n"
                  "    count: 1\n"
                  "    nested: {name: n, wait: 2m}\n"
                  "  fake/3:\n"
                  "    tags: x\n"
                  "    count: 500\n"
                  "    mode: fast\n"
                  "    nested: {name: n}\n"
                  "exporters: {debug: }\n"
                  "service:\n"
                  "  pipelines:\n"
                  "    traces: {receivers: [fake, fake/2, fake/3], "
                  "exporters: [debug]}\n");
    CHECK_FAILS(&l,
                "f.yaml:3:11: error: invalid value for \"tags\" in receiver "
                "\"fake\": expected a list of strings such as [a, b], got a "
                "map\n"
                "f.yaml:4:13: error: invalid value for \"labels\" in "
                "receiver \"fake\": expected a map of names to single "
                "values, got a list\n"
                "f.yaml:8:15: error: invalid value for \"tags\" in receiver "
                "\"fake/2\": item 2: expected a single value, got a list\n"
                "f.yaml:9:17: error: invalid value for \"labels\" in "
                "receiver \"fake/2\": \"a\": expected a single value, got a "
                "list\n"
                "f.yaml:11:29: error: invalid value for \"nested.wait\" in "
                "receiver \"fake/2\": \"2m\" is out of range; it must be "
                "between 0s and 1m\n"
                "f.yaml:13:11: error: invalid value for \"tags\" in "
                "receiver \"fake/3\": expected a list of strings such as "
                "[a, b], got \"x\"\n");
    loaded_free(&l);

    /* Cross-key errors point at the key they name. */
    load_fake(&l, "receivers:\n"
                  "  fake:\n"
                  "    count: 500\n"
                  "    mode: fast\n"
                  "    nested: {name: n}\n"
                  "exporters: {debug: }\n"
                  "service:\n"
                  "  pipelines:\n"
                  "    traces: {receivers: [fake], exporters: [debug]}\n");
    CHECK_FAILS(&l, "f.yaml:3:12: error: receiver \"fake\": count above "
                "100 needs mode safe\n");
    loaded_free(&l);
}

/* ---- ${...} expansion ---- */

static void
test_env_expansion(void)
{
    const td_tcplog_cfg *tc;
    const char *sets[] = {"receivers::tcplog::attributes::s=${TD_T_HOST}"};
    loaded l;

    setenv("TD_T_HOST", "10.1.2.3", 1);
    setenv("TD_T_PORT", "6001", 1);
    setenv("TD_T_EMPTY", "", 1);
    unsetenv("TD_T_UNSET");
    load_sets(&l, "receivers:\n"
                  "  tcplog:\n"
                  "    endpoint: ${env:TD_T_HOST}:${TD_T_PORT}\n"
                  "    max_log_size: ${env:TD_T_UNSET:-2048}\n"
                  "    attributes:\n"
                  "      a: ${TD_T_HOST}\n"
                  "      b: \"x-${env:TD_T_UNSET:-dflt}-y\"\n"
                  "      c: $$TD_T_HOST\n"
                  "      d: $${TD_T_HOST}\n"
                  "      e: \"${TD_T_EMPTY:-unused}\"\n"
                  "      f: cost $5 a$b\n"
                  "      g: ${env:TD_T_UNSET:-}\n"
                  "      h: '$$$$'\n"
                  "exporters: {debug: }\n" LOGS_PIPELINE,
              sets, 1);
    CHECK_LOADS(&l, "");
    tc = tcplog_of(l.cfg, "tcplog");
    TT_CHECK(tc != NULL);
    if (tc != NULL) {
        TT_CHECK_STR(tc->endpoint, "10.1.2.3:6001");
        TT_CHECK_INT(tc->max_log_size, 2048);
        TT_CHECK_STR(strmap_get(&tc->attributes, "a"), "10.1.2.3");
        TT_CHECK_STR(strmap_get(&tc->attributes, "b"), "x-dflt-y");
        TT_CHECK_STR(strmap_get(&tc->attributes, "c"), "$TD_T_HOST");
        TT_CHECK_STR(strmap_get(&tc->attributes, "d"), "${TD_T_HOST}");
        /* Set but empty is set: the default is for unset only. */
        TT_CHECK_STR(strmap_get(&tc->attributes, "e"), "");
        TT_CHECK_STR(strmap_get(&tc->attributes, "f"), "cost $5 a$b");
        TT_CHECK_STR(strmap_get(&tc->attributes, "g"), "");
        TT_CHECK_STR(strmap_get(&tc->attributes, "h"), "$$");
        TT_CHECK_STR(strmap_get(&tc->attributes, "s"), "10.1.2.3");
    }
    loaded_free(&l);
    unsetenv("TD_T_HOST");
    unsetenv("TD_T_PORT");
    unsetenv("TD_T_EMPTY");
}

/* An unset variable without a default is empty, with a warning. */
static void
test_env_undefined(void)
{
    const td_tcplog_cfg *tc;
    loaded l;

    unsetenv("TD_T_UNSET");
    load(&l, "receivers:\n"
             "  tcplog:\n"
             "    attributes:\n"
             "      a: pre${TD_T_UNSET}post\n"
             "      b: \"${env:TD_T_UNSET}\"\n"
             "exporters: {debug: }\n" LOGS_PIPELINE);
    CHECK_LOADS(&l,
                "t.yaml:4:13: warning: environment variable TD_T_UNSET is "
                "not set, so \"${TD_T_UNSET}\" expands to an empty string; "
                "set it or write ${env:TD_T_UNSET:-default}\n"
                "t.yaml:5:11: warning: environment variable TD_T_UNSET is "
                "not set, so \"${env:TD_T_UNSET}\" expands to an empty "
                "string; set it or write ${env:TD_T_UNSET:-default}\n");
    tc = tcplog_of(l.cfg, "tcplog");
    TT_CHECK(tc != NULL);
    if (tc != NULL) {
        TT_CHECK_STR(strmap_get(&tc->attributes, "a"), "prepost");
        TT_CHECK_STR(strmap_get(&tc->attributes, "b"), "");
    }
    loaded_free(&l);

    /* Empty where a number is needed is then a type error. */
    load(&l, "receivers:\n"
             "  tcplog:\n"
             "    max_log_size: ${TD_T_UNSET}\n"
             "exporters: {debug: }\n" LOGS_PIPELINE);
    CHECK_FAILS(&l,
                "t.yaml:3:19: warning: environment variable TD_T_UNSET is "
                "not set, so \"${TD_T_UNSET}\" expands to an empty string; "
                "set it or write ${env:TD_T_UNSET:-default}\n"
                "t.yaml:3:19: error: invalid value for \"max_log_size\" in "
                "receiver \"tcplog\": expected an integer, got \"\"\n");
    loaded_free(&l);
}

/* A malformed reference is one error; the value is not judged again. */
static void
test_env_malformed(void)
{
    loaded l;

    load(&l, "receivers:\n"
             "  tcplog:\n"
             "    endpoint: ${TD_T_HOST\n"
             "    parse: ${1X}\n"
             "    attributes:\n"
             "      a: \"${env:}\"\n"
             "      b: ${A:B}\n"
             "      c: \"x ${}\"\n"
             "exporters: {debug: }\n" LOGS_PIPELINE);
    CHECK_FAILS(&l,
                "t.yaml:3:15: error: malformed variable reference "
                "\"${TD_T_HOST\"; write ${env:NAME}, ${NAME} or "
                "${env:NAME:-default} (NAME of letters, digits and _, not "
                "starting with a digit), and $$ for a literal $\n"
                "t.yaml:4:12: error: malformed variable reference "
                "\"${1X}\"; write ${env:NAME}, ${NAME} or "
                "${env:NAME:-default} (NAME of letters, digits and _, not "
                "starting with a digit), and $$ for a literal $\n"
                "t.yaml:6:11: error: malformed variable reference "
                "\"${env:}\"; write ${env:NAME}, ${NAME} or "
                "${env:NAME:-default} (NAME of letters, digits and _, not "
                "starting with a digit), and $$ for a literal $\n"
                "t.yaml:7:10: error: malformed variable reference "
                "\"${A:B}\"; write ${env:NAME}, ${NAME} or "
                "${env:NAME:-default} (NAME of letters, digits and _, not "
                "starting with a digit), and $$ for a literal $\n"
                "t.yaml:8:13: error: malformed variable reference \"${}\"; "
                "write ${env:NAME}, ${NAME} or ${env:NAME:-default} (NAME "
                "of letters, digits and _, not starting with a digit), and "
                "$$ for a literal $\n");
    loaded_free(&l);
}

/* ---- durations ---- */

static void
test_duration_parse(void)
{
    static const struct {
        const char *text;
        int64_t ms;
    } good[] = {
        {"200ms", 200}, {"5s", 5000}, {"1m30s", 90000}, {"1h", 3600000},
        {"0", 0}, {"0s", 0}, {"1.5s", 1500}, {".5s", 500},
        {"2h45m10s5ms", 9910005}, {"1.000000000000000s", 1000},
        {"2562047788015h", 9223372036854000000LL},
    };
    static const char *const bad[] = {
        "", "5", "-1s", "+1s", "1d", "1 s", " 1s", "s", "ms", "0.5ms",
        "1.0001s", "1s ", "1sec", "1m30", "00", "2562047788016h",
        "99999999999999999999h", "1e3s", "5S",
    };
    int64_t ms;

    for (size_t i = 0; i < TD_ARRAY_SIZE(good); i++) {
        ms = -1;
        TT_CHECK_INT(td_parse_duration(good[i].text, &ms), TD_OK);
        TT_CHECK_INT(ms, good[i].ms);
    }
    for (size_t i = 0; i < TD_ARRAY_SIZE(bad); i++) {
        ms = -7;
        if (td_parse_duration(bad[i], &ms) != TD_EINVAL) {
            fprintf(stderr, "duration \"%s\" was accepted\n", bad[i]);
            TT_CHECK(false);
        }
        TT_CHECK_INT(ms, -7);
    }
    TT_CHECK_INT(td_parse_duration(NULL, &ms), TD_EINVAL);
}

static void
test_duration_format(void)
{
    char b[32];

    td_cfg_fmt_duration(90000, b, sizeof(b));
    TT_CHECK_STR(b, "1m30s");
    td_cfg_fmt_duration(200, b, sizeof(b));
    TT_CHECK_STR(b, "200ms");
    td_cfg_fmt_duration(1500, b, sizeof(b));
    TT_CHECK_STR(b, "1.5s");
    td_cfg_fmt_duration(0, b, sizeof(b));
    TT_CHECK_STR(b, "0s");
    td_cfg_fmt_duration(86400000, b, sizeof(b));
    TT_CHECK_STR(b, "24h");
    td_cfg_fmt_duration(3723004, b, sizeof(b));
    TT_CHECK_STR(b, "1h2m3.004s");
}

/* A duration key says why a value is not a duration. */
static void
test_duration_keys(void)
{
    loaded l;

    load(&l, "receivers:\n"
             "  tcplog:\n"
             "    idle_timeout: 5\n"
             "exporters:\n"
             "  debug:\n"
             "    timeout: 0.5ms\n"
             "    retry_on_failure:\n"
             "      initial_interval: -1s\n"
             "      max_interval: 1d\n"
             "      max_elapsed_time: 99999999999999999999h\n"
             "service:\n"
             "  shutdown_timeout: h\n"
             "  pipelines: {logs: {receivers: [tcplog], "
             "exporters: [debug]}}\n");
    CHECK_FAILS(&l,
                "t.yaml:3:19: error: invalid value for \"idle_timeout\" in "
                "receiver \"tcplog\": expected a duration such as 200ms, 5s "
                "or 1m30s, got \"5\" (a number needs a unit: h, m, s or "
                "ms)\n"
                "t.yaml:6:14: error: invalid value for \"timeout\" in "
                "exporter \"debug\": expected a duration such as 200ms, 5s "
                "or 1m30s, got \"0.5ms\" (it is finer than a "
                "millisecond)\n"
                "t.yaml:8:25: error: invalid value for "
                "\"retry_on_failure.initial_interval\" in exporter "
                "\"debug\": expected a duration such as 200ms, 5s or "
                "1m30s, got \"-1s\" (a duration cannot be negative)\n"
                "t.yaml:9:21: error: invalid value for "
                "\"retry_on_failure.max_interval\" in exporter \"debug\": "
                "expected a duration such as 200ms, 5s or 1m30s, got "
                "\"1d\" (the units are h, m, s and ms)\n"
                "t.yaml:10:25: error: invalid value for "
                "\"retry_on_failure.max_elapsed_time\" in exporter "
                "\"debug\": \"99999999999999999999h\" is out of range; it "
                "must be between 0s and 24h\n"
                "t.yaml:12:21: error: invalid value for \"shutdown_timeout\" "
                "in service: expected a duration such as 200ms, 5s or "
                "1m30s, got \"h\" (a unit needs a number before it)\n");
    loaded_free(&l);
}

/* ---- YAML itself ---- */

static void
test_yaml_syntax_errors(void)
{
    loaded l;

    load(&l, "receivers:\n"
             "  tcplog: {endpoint: [a\n");
    CHECK_FAILS(&l, "t.yaml:3:1: error: did not find expected ',' or ']' "
                "(while parsing a flow sequence at line 2, column 22)\n");
    loaded_free(&l);

    /* Without a final newline the end is on the last line. */
    load(&l, "receivers:\n"
             "  tcplog: {endpoint: [a");
    CHECK_FAILS(&l, "t.yaml:2:24: error: did not find expected ',' or ']' "
                "(while parsing a flow sequence at line 2, column 22)\n");
    loaded_free(&l);

    load(&l, "receivers:\n"
             "\ttcplog:\n");
    CHECK_FAILS(&l, "t.yaml:2:1: error: found character that cannot start "
                "any token (while scanning for the next token at line 2, "
                "column 1); YAML does not allow tabs for indentation, use "
                "spaces\n");
    loaded_free(&l);

    load(&l, "receivers:\n"
             "  tcplog:\n"
             "    endpoint: \"abc\n");
    CHECK_FAILS(&l, "t.yaml:4:1: error: found unexpected end of stream "
                "(while scanning a quoted scalar at line 3, column 15)\n");
    loaded_free(&l);

    load(&l, "receivers:\n"
             "  tcplog:\n"
             " exporters:\n");
    CHECK_FAILS(&l, "t.yaml:3:2: error: did not find expected key (while "
                "parsing a block mapping at line 1, column 1); check the "
                "indentation of this line\n");
    loaded_free(&l);

    load(&l, "receivers: {}\n"
             "---\n"
             "exporters: {}\n");
    CHECK_FAILS(&l, "t.yaml:2:1: error: a second YAML document starts "
                "here; a config source holds one document (pass several "
                "files with --config instead)\n");
    loaded_free(&l);

    load(&l, "receivers:\n"
             "  tcplog:\n"
             "    endpoint: \xff\xfe:1\n");
    CHECK_FAILS(&l, "t.yaml:3:15: error: invalid leading UTF-8 octet; a "
                "config must be UTF-8 text without control characters "
                "other than tab and line breaks\n");
    loaded_free(&l);
}

static void
test_top_level_not_map(void)
{
    loaded l;

    load(&l, "- receivers\n- exporters\n");
    CHECK_FAILS(&l, "t.yaml:1:1: error: the top level of a config must be a "
                "map of receivers, processors, exporters, extensions and "
                "service, got a list\n");
    loaded_free(&l);

    load(&l, "just words\n");
    CHECK_FAILS(&l, "t.yaml:1:1: error: the top level of a config must be a "
                "map of receivers, processors, exporters, extensions and "
                "service, got a single value\n");
    loaded_free(&l);
}

static void
test_duplicate_keys(void)
{
    loaded l;

    load(&l, "receivers:\n"
             "  tcplog:\n"
             "    endpoint: 0.0.0.0:1\n"
             "    endpoint: 0.0.0.0:2\n"
             "exporters: {debug: , debug: }\n"
             "receivers: {}\n" LOGS_PIPELINE);
    CHECK_FAILS(&l,
                "t.yaml:4:5: error: duplicate key \"endpoint\"; it is "
                "already set at line 3, column 5, so remove one of them\n"
                "t.yaml:5:22: error: duplicate key \"debug\"; it is already "
                "set at line 5, column 13, so remove one of them\n"
                "t.yaml:6:1: error: duplicate key \"receivers\"; it is "
                "already set at line 1, column 1, so remove one of them\n");
    loaded_free(&l);
}

static void
test_odd_keys_and_nul(void)
{
    static const char text[] = "receivers:\n"
                               "  ? [a, b]\n"
                               "  : x\n"
                               "  ~: y\n"
                               "  tcplog:\n"
                               "    endpoint: \"0.0.0.0\\0:1\"\n"
                               "exporters: {debug: }\n" LOGS_PIPELINE;
    loaded l;

    load(&l, text);
    CHECK_FAILS(&l,
                "t.yaml:2:5: error: a key must be a single value, not a "
                "list\n"
                "t.yaml:4:3: error: a key is empty; write a name before "
                "the colon\n"
                "t.yaml:6:15: error: this text contains a NUL character "
                "(\\0), which tandem does not accept in a key or value; "
                "remove it\n");
    loaded_free(&l);
}

/* Anchors, aliases, merge keys and tags are YAML the loader accepts. */
static void
test_anchors_merge_keys_tags(void)
{
    const td_tcplog_cfg *a, *b;
    loaded l;

    load(&l, "receivers:\n"
             "  tcplog/a: &base\n"
             "    endpoint: 127.0.0.1:7000\n"
             "    max_log_size: !!int \"512\"\n"
             "    attributes: &attrs {env: prod}\n"
             "  tcplog/b:\n"
             "    <<: *base\n"
             "    endpoint: !!str 127.0.0.1:7001\n"
             "    resource: *attrs\n"
             "exporters: {debug: }\n"
             "service:\n"
             "  pipelines:\n"
             "    logs: {receivers: [tcplog/a, tcplog/b], "
             "exporters: [debug]}\n");
    CHECK_LOADS(&l, "");
    a = tcplog_of(l.cfg, "tcplog/a");
    b = tcplog_of(l.cfg, "tcplog/b");
    TT_CHECK(a != NULL && b != NULL);
    if (a != NULL && b != NULL) {
        TT_CHECK_STR(a->endpoint, "127.0.0.1:7000");
        TT_CHECK_STR(b->endpoint, "127.0.0.1:7001");
        TT_CHECK_INT(a->max_log_size, 512);
        TT_CHECK_INT(b->max_log_size, 512);
        TT_CHECK_STR(strmap_get(&b->attributes, "env"), "prod");
        TT_CHECK_STR(strmap_get(&b->resource, "env"), "prod");
    }
    loaded_free(&l);

    load(&l, "receivers:\n"
             "  tcplog:\n"
             "    endpoint: *nope\n"
             "    <<: [1]\n");
    CHECK_FAILS(&l, "t.yaml:3:15: error: alias \"*nope\" refers to no "
                "anchor defined before it; write \"&nope\" on an earlier "
                "value, or quote the value if it is not meant as an "
                "alias\n");
    loaded_free(&l);

    load(&l, "receivers:\n"
             "  tcplog:\n"
             "    <<: [1]\n");
    CHECK_FAILS(&l, "t.yaml:3:10: error: a merge key (<<) takes a map or a "
                "list of maps, got a single value\n"
                "t.yaml:1:1: error: no pipelines are defined; add one "
                "under service.pipelines, e.g. logs: {receivers: [tcplog], "
                "exporters: [debug]}\n"
                "t.yaml:2:3: warning: receiver \"tcplog\" is defined but "
                "no pipeline uses it, so it will not run\n");
    loaded_free(&l);
}

/* Aliases cannot blow the tree up: nodes and bytes are both bounded. */
static void
test_alias_bombs(void)
{
    td_buf text = TD_BUF_INIT;
    char *long_value;
    loaded l;

    load(&l, "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
             "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
             "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
             "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
             "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
             "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
             "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n");
    CHECK_FAILS(&l, "t.yaml:5:36: error: the configuration grows past "
                "100000 nodes once aliases are expanded; remove the alias "
                "chain that multiplies it\n");
    loaded_free(&l);

    /* Few nodes, but each alias copies one long (1 MiB) string. */
    long_value = malloc(1u << 20);
    TT_CHECK(long_value != NULL);
    if (long_value == NULL) {
        return;
    }
    memset(long_value, 'x', 1u << 20);
    TT_CHECK_INT(td_buf_puts(&text, "a: &a \""), TD_OK);
    TT_CHECK_INT(td_buf_append(&text, long_value, 1u << 20), TD_OK);
    free(long_value);
    TT_CHECK_INT(td_buf_puts(&text, "\"\nb: [*a"), TD_OK);
    for (int i = 0; i < 100; i++) {
        TT_CHECK_INT(td_buf_puts(&text, ", *a"), TD_OK);
    }
    TT_CHECK_INT(td_buf_puts(&text, "]\n"), TD_OK);
    load(&l, text.data);
    CHECK_FAILS(&l, "t.yaml:2:253: error: the configuration grows past 64 "
                "MiB of text once aliases are expanded; remove the aliases "
                "that repeat long values\n");
    loaded_free(&l);
    td_buf_free(&text);
}

static void
test_depth_limit(void)
{
    td_buf text = TD_BUF_INIT;
    char expected[160];
    loaded l;

    TT_CHECK_INT(td_buf_puts(&text, "a: "), TD_OK);
    for (int i = 0; i < 100; i++) {
        TT_CHECK_INT(td_buf_putc(&text, '['), TD_OK);
    }
    for (int i = 0; i < 100; i++) {
        TT_CHECK_INT(td_buf_putc(&text, ']'), TD_OK);
    }
    load(&l, text.data);
    /* The root map is level 1, so the 64th '[' is one level too deep. */
    snprintf(expected, sizeof(expected), "t.yaml:1:%d: error: maps and "
             "lists nest deeper than %d levels\n", 3 + TD_CFG_MAX_DEPTH,
             TD_CFG_MAX_DEPTH);
    CHECK_FAILS(&l, expected);
    loaded_free(&l);
    td_buf_free(&text);
}

/* A BOM is not a column a person can see. */
static void
test_bom(void)
{
    loaded l;

    load(&l, "\xef\xbb\xbfreceivers: {tcplog: 1}\n"
             "exporters: {debug: }\n" LOGS_PIPELINE);
    CHECK_FAILS(&l, "t.yaml:1:21: error: receiver \"tcplog\" must be a map "
                "of settings, got a single value\n");
    loaded_free(&l);
}

/* ---- several sources ---- */

static void
test_merge_sources(void)
{
    td_config_source srcs[] = {
        {.name = "base.yaml",
         .text = "receivers:\n"
                 "  tcplog:\n"
                 "    endpoint: 0.0.0.0:5000\n"
                 "    max_log_size: 100\n"
                 "    resource: {a: \"1\", b: \"2\"}\n"
                 "exporters:\n"
                 "  debug: {verbosity: normal}\n"
                 "service:\n"
                 "  pipelines:\n"
                 "    logs: {receivers: [tcplog], exporters: [debug, "
                 "nop]}\n"},
        {.name = "site.yaml",
         .text = "receivers:\n"
                 "  tcplog:\n"
                 "    endpoint: 127.0.0.1:5001\n"
                 "    resource: {b: \"3\", c: \"4\"}\n"
                 "exporters:\n"
                 "  debug:\n"
                 "  nop:\n"
                 "service:\n"
                 "  pipelines:\n"
                 "    logs: {exporters: [debug]}\n"},
    };
    const td_tcplog_cfg *tc;
    loaded l;

    load_ext(&l, srcs, 2, NULL, 0, false);
    /* Lists replace: nop is no longer in the pipeline. */
    CHECK_LOADS(&l, "site.yaml:7:3: warning: exporter \"nop\" is defined "
                "but no pipeline uses it, so it will not run\n");
    tc = tcplog_of(l.cfg, "tcplog");
    TT_CHECK(tc != NULL);
    if (tc != NULL) {
        TT_CHECK_STR(tc->endpoint, "127.0.0.1:5001");
        TT_CHECK_INT(tc->max_log_size, 100);
        TT_CHECK_INT(tc->resource.n, 3);
        TT_CHECK_STR(strmap_get(&tc->resource, "a"), "1");
        TT_CHECK_STR(strmap_get(&tc->resource, "b"), "3");
        TT_CHECK_STR(strmap_get(&tc->resource, "c"), "4");
    }
    TT_CHECK(l.cfg != NULL && l.cfg->n_pipelines == 1
             && l.cfg->pipelines[0].n_receivers == 1
             && l.cfg->pipelines[0].n_exporters == 1);
    loaded_free(&l);
}

/* Each message names the source where the offending text was written. */
static void
test_merge_positions(void)
{
    td_config_source srcs[] = {
        {.name = "base.yaml",
         .text = "receivers:\n"
                 "  tcplog: {max_log_size: 5}\n"
                 "exporters: {debug: }\n"
                 "service:\n"
                 "  pipelines:\n"
                 "    logs: {receivers: [tcplog], exporters: [debug]}\n"},
        {.name = "over.yaml",
         .text = "receivers:\n"
                 "  tcplog: {max_log_size: none}\n"
                 "  tcplog/x: {colour: 1}\n"},
        {.name = "broken.yaml", .text = "receivers: [\n"},
    };
    loaded l;

    load_ext(&l, srcs, 2, NULL, 0, false);
    CHECK_FAILS(&l,
                "over.yaml:2:26: error: invalid value for \"max_log_size\" "
                "in receiver \"tcplog\": expected an integer, got "
                "\"none\"\n"
                "over.yaml:3:14: error: unknown key \"colour\" in receiver "
                "\"tcplog/x\"; valid keys: " TCPLOG_KEYS "\n"
                "over.yaml:3:3: warning: receiver \"tcplog/x\" is defined "
                "but no pipeline uses it, so it will not run\n");
    loaded_free(&l);

    /* A source that does not parse stops the load after reading all. */
    load_ext(&l, srcs + 1, 2, NULL, 0, false);
    CHECK_FAILS(&l, "broken.yaml:2:1: error: did not find expected node "
                "content (while parsing a flow node at line 2, column "
                "1)\n");
    loaded_free(&l);
}

static void
test_file_sources(void)
{
    char path[] = "/tmp/td_test_config_XXXXXX";
    td_config_source src = {.name = path, .text = NULL};
    char expected[256];
    loaded l;
    FILE *f;
    int fd;

    fd = mkstemp(path);
    TT_CHECK(fd >= 0);
    if (fd < 0) {
        return;
    }
    f = fdopen(fd, "w");
    TT_CHECK(f != NULL);
    if (f == NULL) {
        close(fd);
        unlink(path);
        return;
    }
    fputs("receivers:\n  tcplog:\n    parse: yaml\n"
          "exporters: {debug: }\n" LOGS_PIPELINE, f);
    fclose(f);
    load_ext(&l, &src, 1, NULL, 0, false);
    snprintf(expected, sizeof(expected), "%s:3:12: error: invalid value "
             "for \"parse\" in receiver \"tcplog\": expected one of json, "
             "none, got \"yaml\"\n", path);
    CHECK_FAILS(&l, expected);
    loaded_free(&l);
    unlink(path);

    load_ext(&l, &src, 1, NULL, 0, false);
    snprintf(expected, sizeof(expected), "%s:1:1: error: cannot open the "
             "config file: No such file or directory\n", path);
    CHECK_FAILS(&l, expected);
    loaded_free(&l);
}

/* ---- --set ---- */

static void
test_set_overrides(void)
{
    const char *sets[] = {
        "receivers::tcplog::endpoint=127.0.0.1:9000",
        "service.telemetry.logs.level=warn",
        "service::shutdown_timeout=1m30s",
        "exporters.debug.verbosity=normal",
        "exporters::debug::verbosity=detailed",
        "receivers::tcplog::attributes={k: v, n: 1}",
        "receivers::tcplog::resource::host.name=a.b",
        "receivers::tcplog::max_log_size=",
    };
    const td_tcplog_cfg *tc;
    loaded l;

    load_sets(&l, "receivers:\n"
                  "  tcplog:\n"
                  "    endpoint: 0.0.0.0:1\n"
                  "    max_log_size: 77\n"
                  "exporters: {debug: }\n" LOGS_PIPELINE,
              sets, TD_ARRAY_SIZE(sets));
    CHECK_LOADS(&l, "");
    tc = tcplog_of(l.cfg, "tcplog");
    TT_CHECK(tc != NULL);
    if (tc != NULL) {
        TT_CHECK_STR(tc->endpoint, "127.0.0.1:9000");
        /* An empty --set value gives the key back its default. */
        TT_CHECK_INT(tc->max_log_size, 1048576);
        TT_CHECK_STR(strmap_get(&tc->attributes, "k"), "v");
        TT_CHECK_STR(strmap_get(&tc->attributes, "n"), "1");
        /* With "::" in the key, "." is part of a name. */
        TT_CHECK_STR(strmap_get(&tc->resource, "host.name"), "a.b");
    }
    TT_CHECK(l.cfg != NULL && l.cfg->log_level == TD_LOG_WARN);
    TT_CHECK(l.cfg != NULL && l.cfg->shutdown_timeout_ms == 90000);
    loaded_free(&l);
}

/* --set alone can make a whole config; a block value stays text. */
static void
test_set_builds_config(void)
{
    const char *sets[] = {
        "receivers::tcplog::endpoint=a: b",
        "exporters::debug::verbosity=basic",
        "service::pipelines::logs={receivers: [tcplog], exporters: [debug]}",
    };
    loaded l;

    load_ext(&l, NULL, 0, sets, TD_ARRAY_SIZE(sets), false);
    CHECK_FAILS(&l, "--set:1:29: error: receiver \"tcplog\": endpoint "
                "\"a: b\" has port \" b\"; a port is a number from 0 to "
                "65535\n");
    loaded_free(&l);

    sets[0] = "receivers::tcplog::endpoint=[::1]:5000";
    load_ext(&l, NULL, 0, sets, TD_ARRAY_SIZE(sets), false);
    CHECK_FAILS(&l, "--set:1:30: error: did not find expected node content "
                "(while parsing a flow node at line 1, column 30); to pass "
                "the value as text, quote it: KEY='VALUE'\n");
    loaded_free(&l);

    sets[0] = "receivers::tcplog::endpoint='[::1]:5000'";
    load_ext(&l, NULL, 0, sets, TD_ARRAY_SIZE(sets), false);
    CHECK_LOADS(&l, "");
    TT_CHECK(tcplog_of(l.cfg, "tcplog") != NULL
             && !strcmp(tcplog_of(l.cfg, "tcplog")->endpoint, "[::1]:5000"));
    loaded_free(&l);
}

static void
test_set_errors(void)
{
    static const struct {
        const char *arg;
        const char *msg;
    } cases[] = {
        {"noequals", "--set:1:1: error: --set \"noequals\" is not "
         "KEY=VALUE; write for example --set "
         "service::telemetry::logs::level=debug\n"},
        {"=x", "--set:1:1: error: --set \"=x\" is not KEY=VALUE; write for "
         "example --set service::telemetry::logs::level=debug\n"},
        {"a..b=1", "--set:1:3: error: --set key \"a..b\" has an empty "
         "part; separate keys with \"::\" or \".\", as in a::b=value\n"},
        {"service::=1", "--set:1:10: error: --set key \"service::\" has an "
         "empty part; separate keys with \"::\" or \".\", as in "
         "a::b=value\n"},
        {"receivers::tcplog::max_log_size=[1", "--set:1:35: error: did "
         "not find expected ',' or ']' (while parsing a flow sequence at "
         "line 1, column 33); to pass the value as text, quote it: "
         "KEY='VALUE'\n"},
        {"receivers::tcplog::bogus=1", "--set:1:20: error: unknown key "
         "\"bogus\" in receiver \"tcplog\"; valid keys: " TCPLOG_KEYS "\n"},
        {"service::telemetry::logs::level=loud", "--set:1:33: error: "
         "invalid value for \"level\" in service.telemetry.logs: expected "
         "one of debug, info, warn, error, got \"loud\"\n"},
        {"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f."
         "g.h=1", "--set:1:65: error: --set key \"a.b.c.d.e.f.g.h.i.j.k.l."
         "m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h\" has more than 32 "
         "parts; no config key is nested that deep\n"},
    };
    loaded l;

    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++) {
        load_sets(&l, "receivers: {tcplog: }\n"
                      "exporters: {debug: }\n" LOGS_PIPELINE,
                  &cases[i].arg, 1);
        CHECK_FAILS(&l, cases[i].msg);
        loaded_free(&l);
    }
}

/* ---- internals the messages rely on ---- */

static void
test_suggest(void)
{
    static const char *const names[] = {"endpoint", "parse", "resource"};

    TT_CHECK_INT(td_cfg_distance("kitten", "sitting"), 3);
    TT_CHECK_INT(td_cfg_distance("", "abc"), 3);
    TT_CHECK_STR(td_cfg_suggest("endpont", names, 3), "endpoint");
    TT_CHECK_STR(td_cfg_suggest("prase", names, 3), "parse");
    TT_CHECK(td_cfg_suggest("colour", names, 3) == NULL);
    /* A one-letter word is never "close" to anything. */
    TT_CHECK(td_cfg_suggest("x", names, 3) == NULL);
    TT_CHECK(td_cfg_suggest("endpoint", names, 0) == NULL);
}

static const tt_case cases[] = {
    {"default_config", test_default_config},
    {"valid_values", test_valid_values},
    {"metrics_level_none", test_metrics_level_none},
    {"unknown_key_suggests", test_unknown_key_suggests},
    {"unknown_key_no_suggestion", test_unknown_key_no_suggestion},
    {"unknown_key_nested", test_unknown_key_nested},
    {"message_limit", test_message_limit},
    {"warnings_do_not_hide_errors", test_warnings_do_not_hide_errors},
    {"wrong_types", test_wrong_types},
    {"out_of_range", test_out_of_range},
    {"enum_lists_choices", test_enum_lists_choices},
    {"empty_value_keeps_default", test_empty_value_keeps_default},
    {"unknown_component_type", test_unknown_component_type},
    {"bad_component_id", test_bad_component_id},
    {"undefined_id", test_undefined_id},
    {"signal_not_supported", test_signal_not_supported},
    {"pipeline_without_receiver_or_exporter",
     test_pipeline_without_receiver_or_exporter},
    {"no_pipelines", test_no_pipelines},
    {"unused_component_warns", test_unused_component_warns},
    {"processor_order_warns", test_processor_order_warns},
    {"bad_pipeline_id", test_bad_pipeline_id},
    {"pipeline_lists", test_pipeline_lists},
    {"broken_sections_do_not_cascade", test_broken_sections_do_not_cascade},
    {"extensions", test_extensions},
    {"validate_messages", test_validate_messages},
    {"required_keys", test_required_keys},
    {"strlist_strmap_values", test_strlist_strmap_values},
    {"strlist_strmap_errors", test_strlist_strmap_errors},
    {"env_expansion", test_env_expansion},
    {"env_undefined", test_env_undefined},
    {"env_malformed", test_env_malformed},
    {"duration_parse", test_duration_parse},
    {"duration_format", test_duration_format},
    {"duration_keys", test_duration_keys},
    {"yaml_syntax_errors", test_yaml_syntax_errors},
    {"top_level_not_map", test_top_level_not_map},
    {"duplicate_keys", test_duplicate_keys},
    {"odd_keys_and_nul", test_odd_keys_and_nul},
    {"anchors_merge_keys_tags", test_anchors_merge_keys_tags},
    {"alias_bombs", test_alias_bombs},
    {"depth_limit", test_depth_limit},
    {"bom", test_bom},
    {"merge_sources", test_merge_sources},
    {"merge_positions", test_merge_positions},
    {"file_sources", test_file_sources},
    {"set_overrides", test_set_overrides},
    {"set_builds_config", test_set_builds_config},
    {"set_errors", test_set_errors},
    {"suggest", test_suggest},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
