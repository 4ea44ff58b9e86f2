/*
 * file_fixture.h - what the file exporter's tests share: setting config
 * keys through the descriptor's key table, a file exporter writing into
 * a directory of its own under /tmp, reading files and OTLP/JSON back,
 * and unpacking zstd frames. Include after tt.h; a failed step is a
 * failed check.
 */
#ifndef TD_TEST_FILE_FIXTURE_H
#define TD_TEST_FILE_FIXTURE_H

#include <dirent.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <zstd.h>

#include "buf.h"
#include "component.h"
#include "otlp_json.h"
#include "registry.h"
#include "telemetry.h"
#include "tt.h"

#define MIB (1024 * 1024)

/* ---- config through the descriptor's key table ---- */

/* The key at a dotted path ("rotation.max_backups"); NULL if none. */
static inline const td_cfg_key *
cfg_key(const td_cfg_key *keys, const char *path)
{
    const char *dot = strchr(path, '.');
    size_t len = dot != NULL ? (size_t) (dot - path) : strlen(path);

    for (const td_cfg_key *k = keys; k->name != NULL; k++) {
        if (strlen(k->name) != len || memcmp(k->name, path, len) != 0) {
            continue;
        }
        if (dot == NULL) {
            return k;
        }
        return k->type == TD_CFG_SECTION ? cfg_key(k->sub, dot + 1) : NULL;
    }
    return NULL;
}

static inline void
cfg_set_int(const td_component_desc *desc, void *cfg, const char *path,
            int64_t v)
{
    const td_cfg_key *k = cfg_key(desc->keys, path);

    TT_CHECK(k != NULL
             && (k->type == TD_CFG_INT || k->type == TD_CFG_DURATION));
    if (k != NULL) {
        TT_CHECK(v >= k->min && v <= k->max);
        *(int64_t *) ((char *) cfg + k->offset) = v;
    }
}

static inline void
cfg_set_enum(const td_component_desc *desc, void *cfg, const char *path,
             const char *choice)
{
    const td_cfg_key *k = cfg_key(desc->keys, path);
    int i = 0;

    TT_CHECK(k != NULL && k->type == TD_CFG_ENUM);
    if (k == NULL || k->choices == NULL) {
        return;
    }
    while (k->choices[i] != NULL && strcmp(k->choices[i], choice) != 0) {
        i++;
    }
    TT_CHECK(k->choices[i] != NULL);
    *(int *) ((char *) cfg + k->offset) = i;
}

static inline void
cfg_set_str(const td_component_desc *desc, void *cfg, const char *path,
            const char *v)
{
    const td_cfg_key *k = cfg_key(desc->keys, path);
    char **field;

    TT_CHECK(k != NULL && k->type == TD_CFG_STR);
    if (k == NULL) {
        return;
    }
    field = (char **) ((char *) cfg + k->offset);
    free(*field);
    *field = v != NULL ? strdup(v) : NULL;
}

/* ---- files ---- */

static inline int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

static inline void
rm_tree(const char *dir)
{
    chmod(dir, 0700);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The rest of a stream, NUL-terminated, malloc'd; NULL on failure. */
static inline char *
slurp_stream(FILE *f, size_t *len)
{
    td_buf out = TD_BUF_INIT;
    char chunk[65536];
    size_t n;

    *len = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (td_buf_append(&out, chunk, n) != TD_OK) {
            td_buf_free(&out);
            return NULL;
        }
    }
    if (ferror(f)) {
        td_buf_free(&out);
        return NULL;
    }
    if (out.data == NULL) {
        return strdup("");
    }
    *len = out.len;
    return out.data;
}

/* The whole file, NUL-terminated, malloc'd; NULL when it cannot be read. */
static inline char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data;

    *len = 0;
    if (f == NULL) {
        return NULL;
    }
    data = slurp_stream(f, len);
    fclose(f);
    return data;
}

static inline void
spill(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");

    TT_CHECK(f != NULL);
    if (f != NULL) {
        TT_CHECK(fputs(text, f) >= 0);
        fclose(f);
    }
}

static inline bool
exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

static inline long long
file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long long) st.st_size : -1;
}

/* Threads of this process, from /proc/self/task. */
static inline int
thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *de;
    int n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        n += de->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

/* ---- an exporter in a directory of its own ---- */

typedef struct fx {
    const td_component_desc *desc;
    char dir[64];
    char path[128];
    void *cfg;
    void *self;
    char err[512];
} fx;

/* A config with every default, writing to DIR/out.jsonl. */
static inline void
fx_init(fx *f)
{
    memset(f, 0, sizeof(*f));
    f->desc = td_registry_find(TD_KIND_EXPORTER, "file", 4);
    TT_CHECK(f->desc != NULL);
    snprintf(f->dir, sizeof(f->dir), "/tmp/td-file-test.XXXXXX");
    TT_CHECK(mkdtemp(f->dir) != NULL);
    snprintf(f->path, sizeof(f->path), "%s/out.jsonl", f->dir);
    if (f->desc == NULL) {
        return;
    }
    f->cfg = calloc(1, f->desc->cfg_size);
    TT_CHECK(f->cfg != NULL);
    TT_CHECK_INT(td_cfg_defaults(f->desc->keys, f->cfg, f->err,
                                 sizeof(f->err)), TD_OK);
    cfg_set_str(f->desc, f->cfg, "path", f->path);
}

/* A name next to the output: out.jsonl.1 for suffix ".1". */
static inline void
fx_name(const fx *f, char *dst, size_t len, const char *suffix)
{
    snprintf(dst, len, "%s%s", f->path, suffix);
}

static inline void
fx_backup(const fx *f, char *dst, size_t len, int i)
{
    snprintf(dst, len, "%s.%d", f->path, i);
}

/* create and start; the code of the first that fails, message in err. */
static inline int
fx_start(fx *f)
{
    td_component_ctx ctx = {.id = "file/test", .kind = TD_KIND_EXPORTER};
    int rc;

    f->err[0] = '\0';
    if (f->desc == NULL || f->cfg == NULL) {
        return TD_ERR;
    }
    rc = f->desc->create(&ctx, f->cfg, &f->self, f->err, sizeof(f->err));
    if (rc != TD_OK) {
        f->self = NULL;
        return rc;
    }
    return f->desc->start(f->self, f->err, sizeof(f->err));
}

static inline int
fx_export(fx *f, td_batch *b)
{
    TT_CHECK(b != NULL && f->self != NULL);
    if (b == NULL || f->self == NULL) {
        return TD_ERR;
    }
    f->err[0] = '\0';
    return f->desc->export(f->self, b, td_mono_ms() + 5000, f->err,
                           sizeof(f->err));
}

/* Exports b and drops the caller's reference. */
static inline int
fx_export_unref(fx *f, td_batch *b)
{
    int rc = fx_export(f, b);

    if (b != NULL) {
        td_batch_unref(b);
    }
    return rc;
}

static inline void
fx_stop(fx *f)
{
    if (f->self != NULL) {
        f->desc->shutdown(f->self, td_mono_ms() + 5000);
        f->desc->destroy(f->self);
        f->self = NULL;
    }
}

static inline void
fx_done(fx *f)
{
    fx_stop(f);
    if (f->cfg != NULL) {
        td_cfg_free_values(f->desc->keys, f->cfg);
        free(f->cfg);
        f->cfg = NULL;
    }
    rm_tree(f->dir);
}

/* ---- reading OTLP/JSON back ---- */

/*
 * Follows a path of member names and [index]es from j:
 * "resourceLogs[0].scopeLogs[1].scope.name". NULL if any step is absent.
 */
static inline const cJSON *
jpath(const cJSON *j, const char *path)
{
    char name[64];

    while (j != NULL && *path != '\0') {
        size_t n = strcspn(path, ".[");

        if (n > 0) {
            if (n >= sizeof(name)) {
                return NULL;
            }
            memcpy(name, path, n);
            name[n] = '\0';
            j = cJSON_GetObjectItemCaseSensitive(j, name);
            path += n;
        }
        if (*path == '[') {
            char *end;
            long i = strtol(path + 1, &end, 10);

            j = cJSON_GetArrayItem(j, (int) i);
            path = *end == ']' ? end + 1 : end;
        }
        if (*path == '.') {
            path++;
        }
    }
    return j;
}

/* The string at path, or NULL when absent or not a string. */
static inline const char *
jstr(const cJSON *j, const char *path)
{
    const cJSON *v = jpath(j, path);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static inline double
jnum(const cJSON *j, const char *path)
{
    const cJSON *v = jpath(j, path);

    return cJSON_IsNumber(v) ? v->valuedouble : -12345.0;
}

/* Elements of the array at path, or -1 when it is not an array. */
static inline int
jlen(const cJSON *j, const char *path)
{
    const cJSON *v = jpath(j, path);

    return cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
}

/* The value of the key/value pair named key in an OTLP attribute list. */
static inline const cJSON *
jattr(const cJSON *attrs, const char *key)
{
    const cJSON *kv;

    cJSON_ArrayForEach(kv, attrs) {
        const char *k = jstr(kv, "key");

        if (k != NULL && strcmp(k, key) == 0) {
            return jpath(kv, "value");
        }
    }
    return NULL;
}

/*
 * Parses the line that starts at *p as one JSON document filling the
 * whole line up to its newline, and moves *p past the newline. NULL,
 * with a failed check, when the line is not that.
 */
static inline cJSON *
next_line(const char **p, const char *end)
{
    const char *nl = memchr(*p, '\n', (size_t) (end - *p));
    const char *parsed = NULL;
    cJSON *doc;

    TT_CHECK(nl != NULL);
    if (nl == NULL) {
        *p = end;
        return NULL;
    }
    doc = cJSON_ParseWithLengthOpts(*p, (size_t) (nl - *p), &parsed, 0);
    TT_CHECK(doc != NULL);
    TT_CHECK(doc == NULL || parsed == nl);
    *p = nl + 1;
    return doc;
}

static inline int
count_lines(const char *text, size_t len)
{
    int n = 0;

    for (size_t i = 0; i < len; i++) {
        n += text[i] == '\n';
    }
    return n;
}

/* The batch's own OTLP/JSON request and a newline, as the file has it. */
static inline void
encode_line(const td_batch *b, td_buf *out)
{
    TT_CHECK_INT(td_otlp_json_encode(b, out), TD_OK);
    TT_CHECK_INT(td_buf_putc(out, '\n'), TD_OK);
}

/* ---- zstd ---- */

/* Complete zstd frames that exactly fill data; -1 when they do not. */
static inline int
zstd_frames(const char *data, size_t len)
{
    int n = 0;

    while (len > 0) {
        size_t size = ZSTD_findFrameCompressedSize(data, len);

        if (ZSTD_isError(size) || size > len) {
            return -1;
        }
        data += size;
        len -= size;
        n++;
    }
    return n;
}

/* Decompresses concatenated frames with the streaming API into out. */
static inline int
zstd_unpack(const char *data, size_t len, td_buf *out)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ZSTD_inBuffer in = {data, len, 0};
    size_t step = ZSTD_DStreamOutSize(), rc = 0;
    int result = 0;

    if (dctx == NULL) {
        return -1;
    }
    while (in.pos < in.size) {
        ZSTD_outBuffer o;

        if (td_buf_reserve(out, step + 1) != TD_OK) {
            result = -1;
            break;
        }
        o = (ZSTD_outBuffer){out->data + out->len, step, 0};
        rc = ZSTD_decompressStream(dctx, &o, &in);
        if (ZSTD_isError(rc)) {
            result = -1;
            break;
        }
        out->len += o.pos;
        out->data[out->len] = '\0';
    }
    /* rc is 0 only when the last frame was complete. */
    if (result == 0 && rc != 0) {
        result = -1;
    }
    ZSTD_freeDCtx(dctx);
    return result;
}

/* The number of the oldest backup: PATH.1 .. PATH.N all exist. */
static inline int
count_backups(const fx *f)
{
    char name[160];
    int n = 0;

    for (;;) {
        fx_backup(f, name, sizeof(name), n + 1);
        if (!exists(name)) {
            return n;
        }
        n++;
    }
}

#endif
