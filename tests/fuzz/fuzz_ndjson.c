/*
 * fuzz_ndjson.c - the NDJSON framer and mapper under libFuzzer.
 *
 * The first byte of an input chooses the options (parse: json or none,
 * configured resource and attributes, a peer or none), max_log_size (256,
 * or 4100 so that the framer's buffer must grow past its first block) and
 * where the rest is cut into reads. The rest is framed both in one read
 * and in those pieces, every line is mapped into a batch, and each batch
 * is rendered as OTLP/JSON. The run aborts when:
 *
 *   - the framer holds more than max_log_size bytes or hands out more;
 *   - a rendering is not JSON that cJSON accepts, holds a raw NUL, or is
 *     not valid UTF-8;
 *   - the two ways of reading the same bytes give different batches.
 *
 * Sanitizers catch the rest (overflows, leaks, undefined behaviour).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "otlp_json.h"
#include "receivers/ndjson.h"
#include "telemetry.h"

#define FUZZ_MAX_SMALL    256
#define FUZZ_MAX_LARGE    4100
#define FUZZ_NOW          1700000000000000000ull
#define FUZZ_CUTS         4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_k1[] = "deployment.environment", fuzz_v1[] = "fuzz";
static char fuzz_k2[] = "service.name", fuzz_v2[] = "configured";
static char fuzz_k3[] = "team", fuzz_v3[] = "core";
static char fuzz_k4[] = "network.peer.port", fuzz_v4[] = "1";
static char *fuzz_res_keys[] = {fuzz_k1, fuzz_k2};
static char *fuzz_res_vals[] = {fuzz_v1, fuzz_v2};
static char *fuzz_attr_keys[] = {fuzz_k3, fuzz_k4};
static char *fuzz_attr_vals[] = {fuzz_v3, fuzz_v4};
static const td_cfg_strmap fuzz_res = {fuzz_res_keys, fuzz_res_vals, 2};
static const td_cfg_strmap fuzz_attrs = {fuzz_attr_keys, fuzz_attr_vals, 2};

static void
fuzz_fail(const char *why, const char *text)
{
    fprintf(stderr, "fuzz_ndjson: %s\n", why);
    if (text != NULL) {
        fprintf(stderr, "%s\n", text);
    }
    abort();
}

static void
fuzz_map(td_ndjson_builder *bld, const td_ndjson_line *line, size_t max)
{
    if (line->len > max) {
        fuzz_fail("a line is longer than max_log_size", NULL);
    }
    if (td_ndjson_map(bld, line) < 0) {
        fuzz_fail("mapping a line failed", NULL);
    }
}

/*
 * Frames data[0, len) as reads that end at the cut offsets (ascending,
 * at most len) and maps every line, the final partial one included.
 */
static void
fuzz_feed(td_ndjson_builder *bld, size_t max, const char *data, size_t len,
          const size_t *cuts, size_t n_cuts)
{
    td_ndjson_framer fr;
    td_ndjson_line line;
    size_t start = 0;

    td_ndjson_framer_init(&fr, max);
    for (size_t c = 0; c <= n_cuts; c++) {
        size_t end = c < n_cuts ? cuts[c] : len;
        size_t used;

        while (start < end) {
            int rc = td_ndjson_frame(&fr, data + start, end - start, &used,
                                     &line);

            if (rc < 0 || used > end - start) {
                fuzz_fail("the framer failed", NULL);
            }
            if (fr.len > max || fr.cap > max) {
                fuzz_fail("the framer holds more than max_log_size", NULL);
            }
            start += used;
            if (rc == 0) {
                break;
            }
            fuzz_map(bld, &line, max);
        }
    }
    if (td_ndjson_flush(&fr, &line) == 1) {
        fuzz_map(bld, &line, max);
    }
    td_ndjson_framer_free(&fr);
}

/* Renders a batch and checks the text; returns it (malloc'd). */
static char *
fuzz_render(const td_batch *b)
{
    td_buf out = TD_BUF_INIT;
    cJSON *doc;

    if (td_otlp_json_encode(b, &out) != TD_OK || out.data == NULL) {
        fuzz_fail("encoding failed", NULL);
    }
    if (strlen(out.data) != out.len) {
        fuzz_fail("the output holds a raw NUL", NULL);
    }
    if (!td_ndjson_utf8_valid(out.data, out.len)) {
        fuzz_fail("the output is not UTF-8", out.data);
    }
    doc = cJSON_ParseWithLength(out.data, out.len);
    if (doc == NULL) {
        fuzz_fail("the output is not JSON", out.data);
    }
    cJSON_Delete(doc);
    return out.data;
}

/* Maps the stream read with the given cuts; returns the rendering. */
static char *
fuzz_run(const td_ndjson_opts *opts, const char *peer, size_t max,
         const char *data, size_t len, const size_t *cuts, size_t n_cuts)
{
    td_ndjson_builder bld;
    td_batch *b;
    char *text;

    if (td_ndjson_builder_init(&bld, opts) != TD_OK) {
        fuzz_fail("out of memory", NULL);
    }
    b = td_batch_new(TD_SIGNAL_LOGS, 0);
    if (b == NULL) {
        fuzz_fail("out of memory", NULL);
    }
    td_ndjson_builder_begin(&bld, b, peer, 4242, FUZZ_NOW);
    fuzz_feed(&bld, max, data, len, cuts, n_cuts);
    text = fuzz_render(b);
    td_batch_unref(b);
    td_ndjson_builder_free(&bld);
    return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cuts[FUZZ_CUTS], len, max, n_cuts = 0;
    td_ndjson_opts opts = {0};
    const char *text, *peer;
    char *whole, *split;
    unsigned ctl;

    if (size < 1) {
        return 0;
    }
    ctl = data[0];
    text = (const char *) data + 1;
    len = size - 1;

    /* Bits 0-2: options; bits 3-6 place the cuts; bit 7: the size. */
    opts.parse_json = (ctl & 1) == 0;
    if (ctl & 2) {
        opts.resource = &fuzz_res;
        opts.attributes = &fuzz_attrs;
    }
    peer = (ctl & 4) ? "2001:db8::7" : NULL;
    max = (ctl & 0x80) ? FUZZ_MAX_LARGE : FUZZ_MAX_SMALL;
    for (size_t i = 0; i < FUZZ_CUTS && len > 1; i++) {
        size_t at = (((ctl >> 3) & 0xf) * (2 * i + 1) + i * 37 + 1) % len;

        if (n_cuts == 0 || at > cuts[n_cuts - 1]) {
            cuts[n_cuts++] = at;
        }
    }

    whole = fuzz_run(&opts, peer, max, text, len, NULL, 0);
    split = fuzz_run(&opts, peer, max, text, len, cuts, n_cuts);
    if (strcmp(whole, split) != 0) {
        fprintf(stderr, "whole: %s\nsplit: %s\n", whole, split);
        fuzz_fail("split reads gave other records than one read", NULL);
    }
    free(whole);
    free(split);
    return 0;
}
