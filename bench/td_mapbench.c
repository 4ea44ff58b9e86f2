/*
 * td_mapbench.c - the CPU cost of tcplog's parsing alone: frames a file
 * of NDJSON lines in 64 KiB reads, as tcplog does, maps every line into
 * batches with the NDJSON builder, and prints lines per CPU-second.
 * No sockets, no threads, no pipeline: what is left is framing, cJSON
 * and the telemetry model, so a change to them can be measured apart
 * from the kernel's share.
 *
 * It also times cJSON alone on the same lines, parsing into a scratch
 * arena reset per line as tcplog does: the floor that any mapping built
 * on cJSON stands on.
 *
 *   td_mapbench FILE [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "cjson_arena.h"
#include "receivers/ndjson.h"
#include "td.h"

#define MB_READ_SIZE (64 * 1024)

static double
mb_cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Parses every line of data with cJSON only. Returns the CPU seconds. */
static double
mb_cjson_only(const char *data, size_t size, int rounds,
              unsigned long long *parsed)
{
    td_arena *scratch = td_arena_new(64 * 1024);
    double t0 = mb_cpu_seconds();

    for (int r = 0; r < rounds && scratch != NULL; r++) {
        const char *p = data, *end = data + size;

        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t) (end - p));
            size_t len = (size_t) ((nl != NULL ? nl : end) - p);

            td_arena_reset(scratch);
            td_cjson_arena_begin(scratch);
            *parsed += cJSON_ParseWithLength(p, len) != NULL;
            td_cjson_arena_end();
            p += len + 1;
        }
    }
    td_arena_unref(scratch);
    return mb_cpu_seconds() - t0;
}

int
main(int argc, char **argv)
{
    td_ndjson_opts opts = { .parse_json = true };
    td_ndjson_builder bld;
    td_ndjson_framer fr;
    td_ndjson_line line;
    unsigned long long lines = 0, parsed = 0, bytes = 0;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    size_t size, used;
    double t0, t1, cj;
    char *data;
    FILE *f;

    if (argc < 2 || (f = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "usage: td_mapbench FILE [ROUNDS]\n");
        return 2;
    }
    fseek(f, 0, SEEK_END);
    size = (size_t) ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc(size);
    if (data == NULL || fread(data, 1, size, f) != size) {
        fprintf(stderr, "td_mapbench: cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(f);
    if (td_ndjson_builder_init(&bld, &opts) != TD_OK) {
        return 1;
    }
    td_ndjson_framer_init(&fr, 1 << 20);

    t0 = mb_cpu_seconds();
    for (int r = 0; r < rounds; r++) {
        for (size_t off = 0; off < size; off += MB_READ_SIZE) {
            size_t len = size - off < MB_READ_SIZE ? size - off
                                                   : MB_READ_SIZE;
            const char *p = data + off;
            td_batch *b = td_batch_new(TD_SIGNAL_LOGS, len * 4 + 1024);

            if (b == NULL) {
                return 1;
            }
            td_ndjson_builder_begin(&bld, b, "127.0.0.1", 40000, 1);
            while (td_ndjson_frame(&fr, p, len, &used, &line) == 1) {
                p += used;
                len -= used;
                lines += td_ndjson_map(&bld, &line) == 1;
            }
            bytes += td_batch_bytes(b);
            td_batch_unref(b);
        }
    }
    t1 = mb_cpu_seconds();
    cj = mb_cjson_only(data, size, rounds, &parsed);
    printf("{\"lines\":%llu,\"cpu_s\":%.3f,\"m_lines_per_cpu_s\":%.3f,"
           "\"cjson_parsed\":%llu,\"cjson_cpu_s\":%.3f,"
           "\"cjson_m_lines_per_cpu_s\":%.3f,\"batch_bytes_per_line\":%.0f,"
           "\"input_bytes_per_line\":%.0f}\n",
           lines, t1 - t0, (double) lines / (t1 - t0) / 1e6, parsed, cj,
           (double) lines / cj / 1e6, (double) bytes / (double) lines,
           (double) size * rounds / (double) lines);
    td_ndjson_framer_free(&fr);
    td_ndjson_builder_free(&bld);
    free(data);
    return 0;
}
