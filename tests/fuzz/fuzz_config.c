/*
 * fuzz_config.c - the config loader (td_config_load) under libFuzzer.
 *
 * The input is cut at NUL bytes, which a config text cannot hold: the
 * first piece is one config source, the second (if any) a second source
 * merged over it, and up to FUZZ_MAX_SETS further pieces are --set
 * arguments. A few environment variables are set so that ${...} takes
 * both of its paths. The run aborts when:
 *
 *   - the return code is not 0, TD_EINVAL or TD_ENOMEM, or does not
 *     agree with whether a config came back;
 *   - a failed load wrote no error, or a successful one wrote an error;
 *   - a message line is not "FILE:LINE:COL: error|warning: TEXT" with
 *     LINE and COL at least 1, or holds a control character;
 *   - a pipeline of a returned config points outside its components.
 *
 * Sanitizers catch the rest (overflows, leaks, undefined behaviour).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"

#define FUZZ_MAX_SETS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *why, const char *msgs)
{
    fprintf(stderr, "fuzz_config: %s\n--- messages ---\n%s\n", why,
            msgs != NULL ? msgs : "");
    abort();
}

/* Parses a positive decimal at *p, moving *p past it; false if none. */
static bool
fuzz_number(const char **p, const char *end)
{
    const char *s = *p;
    long v = 0;

    while (s < end && *s >= '0' && *s <= '9' && v < 1000000000) {
        v = v * 10 + (*s++ - '0');
    }
    if (s == *p || v < 1) {
        return false;
    }
    *p = s;
    return true;
}

/*
 * Checks one message line. File names are "a.yaml", "b.yaml" or
 * "--set", so the first ':' ends the name.
 */
static bool
fuzz_line_ok(const char *line, const char *end, bool *is_error)
{
    const char *p = memchr(line, ':', (size_t) (end - line));

    if (p == NULL || p == line) {
        return false;
    }
    p++;
    if (!fuzz_number(&p, end) || p >= end || *p++ != ':'
        || !fuzz_number(&p, end) || p >= end || *p++ != ':') {
        return false;
    }
    if ((size_t) (end - p) > 8 && memcmp(p, " error: ", 8) == 0) {
        *is_error = true;
    } else if ((size_t) (end - p) > 10 && memcmp(p, " warning: ", 10) == 0) {
        *is_error = false;
    } else {
        return false;
    }
    for (const char *c = line; c < end; c++) {
        if ((unsigned char) *c < 0x20 || *c == 0x7f) {
            return false;
        }
    }
    return true;
}

/* Checks every line; returns how many are errors, or -1 if malformed. */
static int
fuzz_check_msgs(const td_buf *msgs)
{
    const char *p = msgs->data, *end;
    int errors = 0;

    if (p == NULL) {
        return 0;
    }
    end = p + msgs->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        bool is_error = false;

        if (nl == NULL || !fuzz_line_ok(p, nl, &is_error)) {
            return -1;
        }
        errors += is_error;
        p = nl + 1;
    }
    return errors;
}

/* True when ptr is one of the components of a kind. */
static bool
fuzz_is_comp(const td_config *cfg, td_kind kind, const td_cfg_component *c)
{
    for (size_t i = 0; i < cfg->n_comps[kind]; i++) {
        if (c == &cfg->comps[kind][i]) {
            return c->desc != NULL && c->used;
        }
    }
    return false;
}

static void
fuzz_check_config(const td_config *cfg, const char *msgs)
{
    for (size_t i = 0; i < cfg->n_pipelines; i++) {
        const td_cfg_pipeline *p = &cfg->pipelines[i];

        if (p->id == NULL || p->n_receivers == 0 || p->n_exporters == 0) {
            fuzz_fail("a pipeline without id, receivers or exporters", msgs);
        }
        for (size_t j = 0; j < p->n_receivers; j++) {
            if (!fuzz_is_comp(cfg, TD_KIND_RECEIVER, p->receivers[j])) {
                fuzz_fail("a pipeline receiver is not a component", msgs);
            }
        }
        for (size_t j = 0; j < p->n_processors; j++) {
            if (!fuzz_is_comp(cfg, TD_KIND_PROCESSOR, p->processors[j])) {
                fuzz_fail("a pipeline processor is not a component", msgs);
            }
        }
        for (size_t j = 0; j < p->n_exporters; j++) {
            if (!fuzz_is_comp(cfg, TD_KIND_EXPORTER, p->exporters[j])) {
                fuzz_fail("a pipeline exporter is not a component", msgs);
            }
        }
    }
    if (cfg->n_pipelines == 0) {
        fuzz_fail("a config without pipelines loaded", msgs);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool env_done;
    td_config_source srcs[2] = {{.name = "a.yaml"}, {.name = "b.yaml"}};
    const char *sets[FUZZ_MAX_SETS];
    const char *pieces[2 + FUZZ_MAX_SETS];
    size_t n_pieces = 0, n_srcs, n_sets;
    td_buf msgs = TD_BUF_INIT;
    td_config *cfg = NULL;
    char *text;
    int rc, errors;

    if (!env_done) {
        setenv("TD_FUZZ_SET", "value", 1);
        setenv("TD_FUZZ_EMPTY", "", 1);
        unsetenv("TD_FUZZ_UNSET");
        env_done = true;
    }
    text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    for (size_t i = 0; n_pieces < TD_ARRAY_SIZE(pieces);) {
        pieces[n_pieces++] = text + i;
        i += strlen(text + i) + 1;
        if (i > size) {
            break;
        }
    }
    n_srcs = n_pieces < 2 ? n_pieces : 2;
    n_sets = n_pieces - n_srcs;
    for (size_t i = 0; i < n_srcs; i++) {
        srcs[i].text = pieces[i];
    }
    for (size_t i = 0; i < n_sets; i++) {
        sets[i] = pieces[n_srcs + i];
    }

    rc = td_config_load(srcs, n_srcs, sets, n_sets, &cfg, &msgs);
    errors = fuzz_check_msgs(&msgs);
    if (errors < 0) {
        fuzz_fail("a message line is malformed", msgs.data);
    }
    if (rc == TD_OK) {
        if (cfg == NULL || errors != 0) {
            fuzz_fail("loaded, but without a config or with errors",
                      msgs.data);
        }
        fuzz_check_config(cfg, msgs.data);
    } else if (rc == TD_EINVAL) {
        if (cfg != NULL || errors == 0) {
            fuzz_fail("failed, but with a config or without an error",
                      msgs.data);
        }
    } else if (rc != TD_ENOMEM || cfg != NULL) {
        fuzz_fail("an unexpected return code", msgs.data);
    }
    td_config_free(cfg);
    td_buf_free(&msgs);
    free(text);
    return 0;
}
