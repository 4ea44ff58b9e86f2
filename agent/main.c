/*
 * main.c - the tandem command line.
 *
 *   tandem [--config FILE]... [--set KEY=VALUE]...   run
 *   tandem validate --config FILE... [--set ...]     check a config offline
 *   tandem components                                list compiled-in types
 *   tandem --version | --help
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage or invalid config.
 * Signals: SIGTERM and SIGINT are blocked in every thread and taken by
 * the main thread with sigwait(), which then drains the service.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "config.h"
#include "log.h"
#include "registry.h"
#include "service.h"

#define TD_MAX_ARGS 64

typedef struct td_cli {
    const char *command;            /* "run", "validate", "components" */
    td_config_source srcs[TD_MAX_ARGS];
    size_t n_srcs;
    const char *sets[TD_MAX_ARGS];
    size_t n_sets;
} td_cli;

static void
td_main_usage(FILE *out)
{
    fprintf(out,
        "usage: tandem [--config FILE]... [--set KEY=VALUE]...\n"
        "       tandem validate --config FILE... [--set KEY=VALUE]...\n"
        "       tandem components\n"
        "       tandem --version | --help\n"
        "\n"
        "Runs the telemetry pipelines of the configuration files (merged\n"
        "in order), or the embedded default when none is given: NDJSON\n"
        "logs on TCP :5000 to the debug exporter, own metrics on :8888.\n"
        "\n"
        "  --config FILE     a YAML config; repeat to merge several\n"
        "  --set KEY=VALUE   override one value, e.g.\n"
        "                    --set service::telemetry::logs::level=debug\n"
        "  validate          load and check the config offline (no sockets,\n"
        "                    no DNS); exit 0 when valid, 2 when not\n"
        "  components        list every receiver, processor and exporter\n"
        "                    with its config keys and defaults\n"
        "\n"
        "Exit codes: 0 ok, 1 runtime failure, 2 bad usage or invalid "
        "config.\n");
}

static int
td_main_take(const char *opt, int argc, char **argv, int *i,
             const char **val)
{
    size_t len = strlen(opt);

    if (strncmp(argv[*i], opt, len) == 0 && argv[*i][len] == '=') {
        *val = argv[*i] + len + 1;
        return 1;
    }
    if (strcmp(argv[*i], opt) != 0) {
        return 0;
    }
    if (*i + 1 >= argc) {
        fprintf(stderr, "tandem: %s needs a value\n", opt);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

/* Returns -1 to exit 0 (help, version), 0 to go on, 2 on bad usage. */
static int
td_main_parse(td_cli *cli, int argc, char **argv)
{
    int i = 1;

    cli->command = "run";
    if (argc > 1 && argv[1][0] != '-') {
        if (strcmp(argv[1], "validate") != 0
            && strcmp(argv[1], "components") != 0) {
            fprintf(stderr, "tandem: unknown command \"%s\"; commands are "
                    "validate and components\n", argv[1]);
            return TD_EXIT_USAGE;
        }
        cli->command = argv[1];
        i = 2;
    }
    for (; i < argc; i++) {
        const char *val;
        int rc;

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            td_main_usage(stdout);
            return -1;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("tandem %s\n", TD_VERSION);
            return -1;
        }
        if ((rc = td_main_take("--config", argc, argv, &i, &val)) != 0) {
            if (rc < 0 || cli->n_srcs == TD_MAX_ARGS) {
                return TD_EXIT_USAGE;
            }
            cli->srcs[cli->n_srcs].name = val;
            cli->srcs[cli->n_srcs++].text = NULL;
            continue;
        }
        if ((rc = td_main_take("--set", argc, argv, &i, &val)) != 0) {
            if (rc < 0 || cli->n_sets == TD_MAX_ARGS) {
                return TD_EXIT_USAGE;
            }
            cli->sets[cli->n_sets++] = val;
            continue;
        }
        fprintf(stderr, "tandem: unknown option \"%s\"; see tandem --help\n",
                argv[i]);
        return TD_EXIT_USAGE;
    }
    if (strcmp(cli->command, "validate") == 0 && cli->n_srcs == 0) {
        fprintf(stderr, "tandem: validate needs --config FILE\n");
        return TD_EXIT_USAGE;
    }
    if (strcmp(cli->command, "components") == 0
        && (cli->n_srcs || cli->n_sets)) {
        fprintf(stderr, "tandem: components takes no options\n");
        return TD_EXIT_USAGE;
    }
    return 0;
}

static const char *
td_main_type_name(const td_cfg_key *k, char *buf, size_t len)
{
    static const char *const names[] = {
        "string", "bool", "int", "double", "duration", "enum",
        "list of strings", "map", "section"
    };
    size_t off;

    if (k->type != TD_CFG_ENUM) {
        return names[k->type];
    }
    off = (size_t) snprintf(buf, len, "one of ");
    for (size_t i = 0; k->choices[i] != NULL && off < len; i++) {
        off += (size_t) snprintf(buf + off, len - off, "%s%s",
                                 i ? "|" : "", k->choices[i]);
    }
    return buf;
}

static void
td_main_print_keys(const td_cfg_key *keys, const char *prefix)
{
    char name[128], type[128];

    for (const td_cfg_key *k = keys; k->name != NULL; k++) {
        snprintf(name, sizeof(name), "%s%s", prefix, k->name);
        if (k->type == TD_CFG_SECTION) {
            char sub[160];

            snprintf(sub, sizeof(sub), "%s.", name);
            td_main_print_keys(k->sub, sub);
            continue;
        }
        /* Two lines a key, so that the listing reads in 80 columns. */
        printf("    %s: %s, ", name, td_main_type_name(k, type, sizeof(type)));
        if (k->def != NULL) {
            printf("default %s\n", k->def);
        } else {
            printf("%s\n", (k->flags & TD_CFG_REQUIRED) ? "required"
                                                        : "no default");
        }
        printf("        %s\n", k->desc ? k->desc : "");
    }
}

static int
td_main_components(void)
{
    const td_component_desc *const *all;
    size_t n;

    all = td_registry_all(&n);
    for (int kind = 0; kind < TD_KIND_COUNT; kind++) {
        int found = 0;

        printf("%ss:\n", td_kind_name((td_kind) kind));
        for (size_t i = 0; i < n; i++) {
            const td_component_desc *d = all[i];

            if ((int) d->kind != kind) {
                continue;
            }
            found = 1;
            printf("  %s (", d->type);
            for (int s = 0, first = 1; s < TD_SIGNAL_COUNT; s++) {
                if (d->signals & TD_SIGNAL_BIT(s)) {
                    printf("%s%s", first ? "" : ", ",
                           td_signal_name((td_signal) s));
                    first = 0;
                }
            }
            printf("): %s\n", d->summary);
            td_main_print_keys(d->keys, "");
            if (d->kind == TD_KIND_EXPORTER) {
                td_main_print_keys(td_exporter_keys, "");
            }
        }
        if (!found) {
            printf("  (none compiled in)\n");
        }
    }
    return TD_EXIT_OK;
}

/* Prints the loader's messages: plain for validate, as log lines else. */
static void
td_main_report(const td_buf *msgs, int as_log)
{
    const char *p = msgs->data, *nl;

    if (p == NULL) {
        return;
    }
    if (!as_log) {
        fputs(p, stderr);
        return;
    }
    for (; *p != '\0'; p = nl + 1) {
        td_log_level level;

        nl = strchr(p, '\n');
        if (nl == NULL) {
            nl = p + strlen(p);
        }
        level = strstr(p, ": error: ") != NULL && strstr(p, ": error: ") < nl
                    ? TD_LOG_ERROR
                    : TD_LOG_WARN;
        td_log(level, "config", NULL, 0, "%.*s", (int) (nl - p), p);
        if (*nl == '\0') {
            break;
        }
    }
}

static int
td_main_run(const td_config *cfg)
{
    td_service *svc = NULL;
    td_admin *adm = NULL;
    char err[1024];
    sigset_t set;
    int sig, rc;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (cfg->metrics_address != NULL) {
        rc = td_admin_start(cfg->metrics_address, &adm, err, sizeof(err));
        if (rc != TD_OK) {
            td_log(TD_LOG_ERROR, "service", NULL, 0,
                   "cannot serve own metrics: %s", err);
            return TD_EXIT_RUN;
        }
        td_log(TD_LOG_INFO, "service", NULL, 0,
               "own metrics and health on %s (port %d)",
               cfg->metrics_address, td_admin_port(adm));
    }

    rc = td_service_build(cfg, &svc, err, sizeof(err));
    if (rc == TD_OK) {
        rc = td_service_start(svc, err, sizeof(err));
        if (rc != TD_OK) {
            td_service_shutdown(svc);
        }
    }
    if (rc != TD_OK) {
        td_log(TD_LOG_ERROR, "service", NULL, 0, "cannot start: %s", err);
        td_service_free(svc);
        td_admin_stop(adm);
        return TD_EXIT_RUN;
    }
    if (adm != NULL) {
        td_admin_set_ready(adm, true);
    }
    td_log(TD_LOG_INFO, "service", NULL, 0,
           "tandem %s started with %zu pipeline(s)", TD_VERSION,
           cfg->n_pipelines);

    while (sigwait(&set, &sig) != 0) {
        continue;
    }
    td_log(TD_LOG_INFO, "service", NULL, 0, "received %s",
           sig == SIGTERM ? "SIGTERM" : "SIGINT");
    if (adm != NULL) {
        td_admin_set_ready(adm, false);
    }
    td_service_shutdown(svc);
    td_service_free(svc);
    td_admin_stop(adm);
    return TD_EXIT_OK;
}

int
main(int argc, char **argv)
{
    td_buf msgs = TD_BUF_INIT;
    td_config *cfg = NULL;
    td_cli cli;
    int rc, validate;

    memset(&cli, 0, sizeof(cli));
    rc = td_main_parse(&cli, argc, argv);
    if (rc != 0) {
        return rc < 0 ? TD_EXIT_OK : rc;
    }
    if (strcmp(cli.command, "components") == 0) {
        return td_main_components();
    }
    validate = strcmp(cli.command, "validate") == 0;
    if (cli.n_srcs == 0) {
        cli.srcs[0].name = "<embedded default>";
        cli.srcs[0].text = td_default_config;
        cli.n_srcs = 1;
    }

    rc = td_config_load(cli.srcs, cli.n_srcs, cli.sets, cli.n_sets, &cfg,
                        &msgs);
    td_main_report(&msgs, !validate);
    td_buf_free(&msgs);
    if (rc != TD_OK) {
        if (rc == TD_ENOMEM) {
            fprintf(stderr, "tandem: out of memory loading the config\n");
            return TD_EXIT_RUN;
        }
        if (validate) {
            fprintf(stderr, "tandem: configuration is not valid\n");
        }
        return TD_EXIT_USAGE;
    }
    if (validate) {
        printf("configuration is valid: %zu pipeline(s)\n",
               cfg->n_pipelines);
        td_config_free(cfg);
        return TD_EXIT_OK;
    }

    td_log_set_level((td_log_level) cfg->log_level);
    rc = td_main_run(cfg);
    td_config_free(cfg);
    return rc;
}
