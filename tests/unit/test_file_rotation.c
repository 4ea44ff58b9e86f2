/*
 * test_file_rotation.c - the file exporter's rotation by size:
 * rotation.max_megabytes counts whole MiB, PATH.1 is the newest backup,
 * rotation.max_backups is honoured (leftovers beyond it removed), no
 * line or zstd frame is split across files, and nothing is lost: all
 * the files together hold exactly what was written, in order, also when
 * several threads export at once.
 *
 * Every case works in its own directory under /tmp, removed at the end.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_fixture.h"
#include "samples.h"
#include "tt.h"

/* ---- rotation ---- */

/* xorshift64: the same filler on every run. */
static uint64_t
rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/*
 * A logs batch of n records with bodies "seq=NNNNNNNN " and pad filler
 * bytes: 'x's, or letters and digits from rng (which zstd cannot shrink
 * much) when rng is not NULL.
 */
static td_batch *
seq_batch(int first, int n, size_t pad, uint64_t *rng)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_scope_group *sg = b != NULL ? sample_resource(b, "seq", "gen")
                                   : NULL;
    char *body = malloc(pad + 32);

    TT_CHECK(sg != NULL && body != NULL);
    for (int i = 0; sg != NULL && body != NULL && i < n; i++) {
        td_log_record *r = td_batch_add_log(b, sg);
        int len = snprintf(body, 32, "seq=%08d ", first + i);

        for (size_t j = 0; j < pad; j++) {
            body[(size_t) len + j] =
                rng != NULL ? alnum[rng_next(rng) % 62] : 'x';
        }
        TT_CHECK(r != NULL);
        if (r != NULL) {
            r->body.type = TD_VAL_STR;
            r->body.u.s = td_batch_str(b, body, (size_t) len + pad);
        }
    }
    free(body);
    return b;
}

/*
 * Reads a plain output file line by line: every line must be whole JSON
 * and its records must carry the sequence numbers that follow *next
 * (any first one when *next is -1). Returns the lines, -1 when the file
 * is missing or not made of whole lines.
 */
static int
scan_seq_text(const char *text, size_t len, int *next)
{
    const char *p = text, *end = text + len;
    int lines = 0;

    if (text == NULL || len == 0 || text[len - 1] != '\n') {
        return -1;
    }
    while (p < end) {
        cJSON *doc = next_line(&p, end);
        const cJSON *recs = jpath(doc, "resourceLogs[0].scopeLogs[0]."
                                       "logRecords");
        const cJSON *r;

        if (doc == NULL) {
            return -1;
        }
        cJSON_ArrayForEach(r, recs) {
            const char *body = jstr(r, "body.stringValue");
            int seq = -1;

            TT_CHECK(body != NULL && sscanf(body, "seq=%d", &seq) == 1);
            if (*next == -1) {
                *next = seq;
            }
            TT_CHECK_INT(seq, *next);
            *next = seq + 1;
        }
        cJSON_Delete(doc);
        lines++;
    }
    return lines;
}

static int
scan_seq_file(const char *path, int *next, long long *bytes)
{
    size_t len;
    char *text = slurp(path, &len);
    int lines = scan_seq_text(text, len, next);

    *bytes += (long long) len;
    free(text);
    return lines;
}

/* Exports batches of 10 records of about 1 KiB until past total bytes. */
static long long
write_seq(fx *f, long long total, int *seq, long long *line_max)
{
    long long written = 0;

    *line_max = 0;
    while (written < total) {
        td_batch *b = seq_batch(*seq, 10, 1000, NULL);
        td_buf line = TD_BUF_INIT;

        encode_line(b, &line);
        written += (long long) line.len;
        if ((long long) line.len > *line_max) {
            *line_max = (long long) line.len;
        }
        td_buf_free(&line);
        if (fx_export_unref(f, b) != TD_OK) {
            TT_CHECK(0);
            break;
        }
        *seq += 10;
    }
    return written;
}

/*
 * rotation.max_megabytes counts whole MiB. With 1 MiB and room for ten
 * backups, 3.5 MiB of lines end up in PATH.N (oldest) .. PATH.1, PATH,
 * each at most 1 MiB and filled as far as a whole line allowed, every
 * line whole, and together exactly what was written, in order.
 */
static void
test_rotation_keeps_everything(void)
{
    long long written, bytes = 0, line_max;
    int seq = 0, next = 0, backups;
    char name[160];
    fx f;

    fx_init(&f);
    cfg_set_int(f.desc, f.cfg, "rotation.max_megabytes", 1);
    cfg_set_int(f.desc, f.cfg, "rotation.max_backups", 10);
    TT_CHECK_INT(fx_start(&f), TD_OK);
    written = write_seq(&f, 7 * MIB / 2, &seq, &line_max);
    fx_stop(&f);

    backups = count_backups(&f);
    TT_CHECK_INT(backups, 3);
    for (int i = backups; i >= 1; i--) {
        fx_backup(&f, name, sizeof(name), i);
        TT_CHECK(file_size(name) <= MIB);
        TT_CHECK(file_size(name) + line_max > MIB);
        TT_CHECK(scan_seq_file(name, &next, &bytes) > 0);
    }
    TT_CHECK(file_size(f.path) <= MIB);
    TT_CHECK(scan_seq_file(f.path, &next, &bytes) > 0);
    TT_CHECK_INT(next, seq);
    TT_CHECK_INT(bytes, written);
    fx_done(&f);
}

/*
 * rotation.max_backups is honoured: with 2, only PATH.1 and PATH.2 stay,
 * holding the newest lines without a gap, and leftovers of a larger
 * earlier setting (PATH.3, PATH.4) go. With 0 the full file is removed.
 */
static void
test_rotation_max_backups(void)
{
    long long bytes = 0, line_max;
    int seq = 0, next = -1, lines;
    char name[160];
    fx f;

    fx_init(&f);
    cfg_set_int(f.desc, f.cfg, "rotation.max_megabytes", 1);
    cfg_set_int(f.desc, f.cfg, "rotation.max_backups", 2);
    fx_backup(&f, name, sizeof(name), 3);
    spill(name, "stale 3\n");
    fx_backup(&f, name, sizeof(name), 4);
    spill(name, "stale 4\n");
    TT_CHECK_INT(fx_start(&f), TD_OK);
    write_seq(&f, 5 * MIB, &seq, &line_max);
    fx_stop(&f);

    TT_CHECK_INT(count_backups(&f), 2);
    fx_backup(&f, name, sizeof(name), 3);
    TT_CHECK(!exists(name));
    fx_backup(&f, name, sizeof(name), 4);
    TT_CHECK(!exists(name));
    for (int i = 2; i >= 1; i--) {
        fx_backup(&f, name, sizeof(name), i);
        TT_CHECK(file_size(name) <= MIB);
        TT_CHECK(file_size(name) + line_max > MIB);
        TT_CHECK(scan_seq_file(name, &next, &bytes) > 0);
    }
    lines = scan_seq_file(f.path, &next, &bytes);
    TT_CHECK(lines > 0);
    TT_CHECK_INT(next, seq);

    /* The oldest lines went with the files beyond PATH.2. */
    TT_CHECK(bytes < 3 * MIB && (long long) seq * 1000 > 4 * MIB);
    fx_done(&f);

    fx_init(&f);
    next = -1;
    bytes = 0;
    seq = 0;
    cfg_set_int(f.desc, f.cfg, "rotation.max_megabytes", 1);
    cfg_set_int(f.desc, f.cfg, "rotation.max_backups", 0);
    TT_CHECK_INT(fx_start(&f), TD_OK);
    write_seq(&f, 5 * MIB / 2, &seq, &line_max);
    fx_stop(&f);
    TT_CHECK_INT(count_backups(&f), 0);
    lines = scan_seq_file(f.path, &next, &bytes);
    TT_CHECK(lines > 0 && lines * 10 < seq);
    TT_CHECK_INT(next, seq);
    TT_CHECK(bytes <= MIB);
    fx_done(&f);
}

/*
 * Existing files take part: what PATH held counts towards the limit and
 * moves to PATH.1 with it, an old PATH.1 moves to PATH.2. An export
 * larger than the limit goes whole into a fresh file, and the next one
 * starts another.
 */
static void
test_rotation_existing_and_oversized(void)
{
    td_buf first = TD_BUF_INIT, second = TD_BUF_INIT, big = TD_BUF_INIT;
    td_buf want = TD_BUF_INIT;
    td_batch *b1 = seq_batch(0, 600, 1000, NULL);
    td_batch *b2 = seq_batch(600, 600, 1000, NULL);
    td_batch *b3 = seq_batch(1200, 1500, 1000, NULL);
    char name[160];
    size_t len;
    char *text;
    fx f;

    encode_line(b1, &first);
    encode_line(b2, &second);
    encode_line(b3, &big);
    TT_CHECK(first.len < MIB && first.len + second.len > MIB);
    TT_CHECK(big.len > MIB);

    fx_init(&f);
    cfg_set_int(f.desc, f.cfg, "rotation.max_megabytes", 1);
    spill(f.path, "old current\n");
    fx_backup(&f, name, sizeof(name), 1);
    spill(name, "old backup\n");
    TT_CHECK_INT(fx_start(&f), TD_OK);
    TT_CHECK_INT(fx_export(&f, b1), TD_OK);
    TT_CHECK_INT(count_backups(&f), 1);
    TT_CHECK_INT(fx_export(&f, b2), TD_OK);
    TT_CHECK_INT(count_backups(&f), 2);
    TT_CHECK_INT(fx_export(&f, b3), TD_OK);
    TT_CHECK_INT(fx_export(&f, b1), TD_OK);
    fx_stop(&f);

    TT_CHECK_INT(count_backups(&f), 4);
    fx_backup(&f, name, sizeof(name), 4);
    text = slurp(name, &len);
    TT_CHECK_STR(text, "old backup\n");
    free(text);

    fx_backup(&f, name, sizeof(name), 3);
    TT_CHECK_INT(td_buf_puts(&want, "old current\n"), TD_OK);
    TT_CHECK_INT(td_buf_append(&want, first.data, first.len), TD_OK);
    text = slurp(name, &len);
    TT_CHECK(text != NULL && len == want.len
             && memcmp(text, want.data, len) == 0);
    free(text);

    fx_backup(&f, name, sizeof(name), 2);
    text = slurp(name, &len);
    TT_CHECK(text != NULL && len == second.len
             && memcmp(text, second.data, len) == 0);
    free(text);

    fx_backup(&f, name, sizeof(name), 1);
    text = slurp(name, &len);
    TT_CHECK(text != NULL && len == big.len
             && memcmp(text, big.data, len) == 0);
    free(text);

    text = slurp(f.path, &len);
    TT_CHECK(text != NULL && len == first.len
             && memcmp(text, first.data, len) == 0);
    free(text);

    td_batch_unref(b1);
    td_batch_unref(b2);
    td_batch_unref(b3);
    td_buf_free(&first);
    td_buf_free(&second);
    td_buf_free(&big);
    td_buf_free(&want);
    fx_done(&f);
}

/* Occurrences of needle in text. */
static int
count_str(const char *text, const char *needle)
{
    int n = 0;

    for (const char *p = text; p != NULL && (p = strstr(p, needle)) != NULL;
         p++) {
        n++;
    }
    return n;
}

/*
 * When PATH cannot become PATH.1 (here PATH.1 is a directory that
 * cannot be removed or replaced), nothing is lost: PATH grows past the
 * limit, and the warning naming the backup comes once, not per export.
 */
static void
test_rotation_rename_fails(void)
{
    long long written, bytes = 0, line_max;
    int seq = 0, next = 0, saved;
    char name[160], inner[200];
    FILE *log = tmpfile();
    char *text = NULL;
    size_t len;
    fx f;

    fx_init(&f);
    cfg_set_int(f.desc, f.cfg, "rotation.max_megabytes", 1);
    cfg_set_int(f.desc, f.cfg, "rotation.max_backups", 1);
    fx_backup(&f, name, sizeof(name), 1);
    TT_CHECK_INT(mkdir(name, 0755), 0);
    snprintf(inner, sizeof(inner), "%s/keep", name);
    spill(inner, "not a backup\n");
    TT_CHECK_INT(fx_start(&f), TD_OK);

    TT_CHECK(log != NULL);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    if (log != NULL) {
        dup2(fileno(log), STDERR_FILENO);
    }
    written = write_seq(&f, 5 * MIB / 2, &seq, &line_max);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    fx_stop(&f);

    TT_CHECK(file_size(f.path) > 2 * MIB);
    TT_CHECK(scan_seq_file(f.path, &next, &bytes) > 0);
    TT_CHECK_INT(next, seq);
    TT_CHECK_INT(bytes, written);
    TT_CHECK(exists(inner));

    if (log != NULL) {
        rewind(log);
        text = slurp_stream(log, &len);
        fclose(log);
    }
    TT_CHECK_INT(count_str(text, "cannot rotate the file"), 1);
    TT_CHECK(text != NULL && strstr(text, name) != NULL);
    free(text);
    fx_done(&f);
}

/*
 * Rotation with compression zstd counts compressed bytes: every file
 * holds whole frames only, decodes on its own, and oldest to newest
 * they decode to exactly the lines written.
 */
static void
test_rotation_zstd(void)
{
    td_buf want = TD_BUF_INIT, got = TD_BUF_INIT;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    int seq = 0, backups, frames = 0, exports = 0;
    char name[160];
    fx f;

    fx_init(&f);
    cfg_set_enum(f.desc, f.cfg, "compression", "zstd");
    cfg_set_int(f.desc, f.cfg, "rotation.max_megabytes", 1);
    TT_CHECK_INT(fx_start(&f), TD_OK);
    while (want.len < 3 * MIB) {
        td_batch *b = seq_batch(seq, 10, 1000, &rng);

        encode_line(b, &want);
        TT_CHECK_INT(fx_export_unref(&f, b), TD_OK);
        seq += 10;
        exports++;
    }
    fx_stop(&f);

    backups = count_backups(&f);
    TT_CHECK(backups >= 1);
    for (int i = backups; i >= 0; i--) {
        size_t len;
        char *packed;
        int n;

        if (i > 0) {
            fx_backup(&f, name, sizeof(name), i);
        } else {
            fx_name(&f, name, sizeof(name), "");
        }
        packed = slurp(name, &len);
        TT_CHECK(packed != NULL && len > 0 && len <= MIB);
        n = zstd_frames(packed, len);
        TT_CHECK(n > 0);
        frames += n;
        TT_CHECK_INT(zstd_unpack(packed, len, &got), 0);
        free(packed);
    }
    TT_CHECK_INT(frames, exports);
    TT_CHECK(got.len == want.len && memcmp(got.data, want.data,
                                           want.len) == 0);
    td_buf_free(&want);
    td_buf_free(&got);
    fx_done(&f);
}

#define CONC_THREADS 4
#define CONC_EXPORTS 60
#define CONC_RECORDS 10

/* One thread's exports, built beforehand: checks are not thread-safe. */
typedef struct conc_arg {
    fx *f;
    td_batch *batches[CONC_EXPORTS];
    int failed;
} conc_arg;

static void *
conc_run(void *p)
{
    conc_arg *a = p;
    char err[256];

    for (int i = 0; i < CONC_EXPORTS; i++) {
        if (a->f->desc->export(a->f->self, a->batches[i],
                               td_mono_ms() + 5000, err,
                               sizeof(err)) != TD_OK) {
            a->failed++;
        }
    }
    return NULL;
}

/*
 * Exports from several threads at once, as the sending queue's
 * consumers make them, with rotation in between: every line whole in
 * one file, every record exactly once.
 */
static void
test_rotation_concurrent(void)
{
    enum { TOTAL = CONC_THREADS * CONC_EXPORTS * CONC_RECORDS };
    static unsigned char seen[TOTAL];
    pthread_t th[CONC_THREADS];
    conc_arg args[CONC_THREADS];
    char name[160];
    int backups, twice = 0, missing = 0;
    fx f;

    memset(seen, 0, sizeof(seen));
    fx_init(&f);
    cfg_set_int(f.desc, f.cfg, "rotation.max_megabytes", 1);
    TT_CHECK_INT(fx_start(&f), TD_OK);
    for (int t = 0; t < CONC_THREADS; t++) {
        args[t].f = &f;
        args[t].failed = 0;
        for (int i = 0; i < CONC_EXPORTS; i++) {
            int first = (t * CONC_EXPORTS + i) * CONC_RECORDS;

            args[t].batches[i] = seq_batch(first, CONC_RECORDS, 1000, NULL);
            TT_CHECK(args[t].batches[i] != NULL);
        }
    }
    for (int t = 0; t < CONC_THREADS; t++) {
        TT_CHECK_INT(pthread_create(&th[t], NULL, conc_run, &args[t]), 0);
    }
    for (int t = 0; t < CONC_THREADS; t++) {
        pthread_join(th[t], NULL);
        TT_CHECK_INT(args[t].failed, 0);
        for (int i = 0; i < CONC_EXPORTS; i++) {
            td_batch_unref(args[t].batches[i]);
        }
    }
    fx_stop(&f);

    backups = count_backups(&f);
    TT_CHECK(backups >= 2);
    for (int i = backups; i >= 0; i--) {
        const char *p, *end;
        size_t len;
        char *text;

        if (i > 0) {
            fx_backup(&f, name, sizeof(name), i);
        } else {
            fx_name(&f, name, sizeof(name), "");
        }
        text = slurp(name, &len);
        TT_CHECK(text != NULL && len > 0 && len <= MIB
                 && text[len - 1] == '\n');
        p = text;
        end = text != NULL ? text + len : NULL;
        while (p != NULL && p < end) {
            cJSON *doc = next_line(&p, end);
            const cJSON *r;

            cJSON_ArrayForEach(r, jpath(doc, "resourceLogs[0].scopeLogs[0]."
                                             "logRecords")) {
                const char *body = jstr(r, "body.stringValue");
                int seq = -1;

                if (body != NULL && sscanf(body, "seq=%d", &seq) == 1
                    && seq >= 0 && seq < TOTAL) {
                    twice += seen[seq]++ > 0;
                }
            }
            cJSON_Delete(doc);
        }
        free(text);
    }
    for (int i = 0; i < TOTAL; i++) {
        missing += seen[i] == 0;
    }
    TT_CHECK_INT(twice, 0);
    TT_CHECK_INT(missing, 0);
    fx_done(&f);
}

static const tt_case cases[] = {
    {"rotation_keeps_everything", test_rotation_keeps_everything},
    {"rotation_max_backups", test_rotation_max_backups},
    {"rotation_existing_and_oversized",
     test_rotation_existing_and_oversized},
    {"rotation_rename_fails", test_rotation_rename_fails},
    {"rotation_zstd", test_rotation_zstd},
    {"rotation_concurrent", test_rotation_concurrent},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
