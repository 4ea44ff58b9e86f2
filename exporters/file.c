/*
 * file.c - the file exporter: OTLP/JSON lines appended to a file, raw or
 * as zstd frames, with size-based rotation.
 *
 * Each export is encoded (and compressed) without the lock, then written
 * with one write(2) under the lock, so concurrent exports never
 * interleave and a line or frame is either all in the file or not at
 * all: when a write fails half way, the file is cut back to where it
 * was, so that the retry does not leave a torn line or frame in front of
 * the good copy. With compression zstd every export is one complete
 * frame, and a file of concatenated frames is what `zstd -d` reads.
 *
 * flush_interval: data goes to the kernel at once (there is no user-space
 * buffer); flush_interval is how often it is fsync'd to the disk by a
 * background thread. 0 fsyncs inside every export before it returns
 * success.
 *
 * Rotation: before a write that would make the file larger than
 * rotation.max_megabytes, PATH becomes PATH.1, PATH.1 becomes PATH.2 and
 * so on, the oldest beyond rotation.max_backups is removed, and a new
 * PATH is started. A single export larger than the limit still goes
 * whole into the fresh file.
 *
 * A path that is not a regular file (/dev/stdout, a FIFO) is written to
 * but never rotated, cut back or fsync'd: none of that means anything
 * there.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "buf.h"
#include "component.h"
#include "log.h"
#include "otlp_json.h"

enum { FILE_GRAN_BATCH = 0, FILE_GRAN_RECORD };
enum { FILE_COMP_NONE = 0, FILE_COMP_ZSTD };

/* Warnings about failed rotation are repeated at most this often. */
#define FILE_WARN_EVERY_MS 60000

typedef struct file_cfg {
    char *path;
    int granularity;
    int compression;
    int64_t flush_interval_ms;
    int64_t max_megabytes;
    int64_t max_backups;
} file_cfg;

typedef struct file_exp {
    char *id;
    const file_cfg *cfg;
    char *from, *to;            /* scratch for backup names, under mu */
    size_t name_cap;

    /*
     * One export at a time encodes and writes: writes to one file are
     * serial anyway, and so at most one batch's encoding is in memory
     * (with a batch processor in front, 8192 records make some 7 MB of
     * OTLP/JSON; ten consumers encoding at once held ten of them). The
     * buffers are kept between exports. Taken before mu.
     */
    pthread_mutex_t enc;
    td_buf json, zst;           /* under enc */

    pthread_mutex_t mu;         /* everything below */
    int fd;                     /* -1 when closed */
    uint64_t size;              /* bytes in the current file */
    bool regular;               /* a regular file, not /dev/stdout */
    bool dirty;                 /* written since the last fsync */
    bool stopping;
    int64_t warned_ms;          /* last rotation warning */

    pthread_cond_t cond;        /* wakes the flusher to stop */
    pthread_t flusher;
    bool flusher_running;
} file_exp;

static const char *const file_granularities[] = {"batch", "record", NULL};
static const char *const file_compressions[] = {"none", "zstd", NULL};

static const td_cfg_key file_rotation_keys[] = {
    {.name = "max_megabytes", .type = TD_CFG_INT, .def = "0",
     .offset = offsetof(file_cfg, max_megabytes),
     .desc = "start a new file before this many MiB; 0 never rotates",
     .min = 0, .max = 100000},
    {.name = "max_backups", .type = TD_CFG_INT, .def = "100",
     .offset = offsetof(file_cfg, max_backups),
     .desc = "rotated files kept as PATH.1 (newest) to PATH.N",
     .min = 0, .max = 100000},
    {.name = NULL}
};

static const td_cfg_key file_keys[] = {
    {.name = "path", .type = TD_CFG_STR,
     .offset = offsetof(file_cfg, path),
     .desc = "where to write; appended", .flags = TD_CFG_REQUIRED},
    {.name = "granularity", .type = TD_CFG_ENUM, .def = "batch",
     .offset = offsetof(file_cfg, granularity),
     .desc = "batch: one OTLP/JSON request per line per batch; "
             "record: one per record",
     .choices = file_granularities},
    {.name = "compression", .type = TD_CFG_ENUM, .def = "none",
     .offset = offsetof(file_cfg, compression),
     .desc = "zstd writes each export as one zstd frame",
     .choices = file_compressions},
    {.name = "flush_interval", .type = TD_CFG_DURATION, .def = "1s",
     .offset = offsetof(file_cfg, flush_interval_ms),
     .desc = "how often written data is fsync'd; 0 fsyncs every export",
     .min = 0, .max = 3600000},
    {.name = "rotation", .type = TD_CFG_SECTION,
     .desc = "size-based rotation", .sub = file_rotation_keys},
    {.name = NULL}
};

static const char *
file_strerror(int e, char *tmp, size_t len)
{
    return strerror_r(e, tmp, len);
}

static int
file_validate(void *cfg, td_cfg_diag *d)
{
    const file_cfg *c = cfg;

    if (c->path == NULL || c->path[0] == '\0') {
        td_cfg_error(d, "path", "path must name the file to write to");
        return TD_EINVAL;
    }
    return TD_OK;
}

static int
file_create(const td_component_ctx *ctx, const void *cfg, void **self,
            char *err, size_t errlen)
{
    const file_cfg *c = cfg;
    pthread_condattr_t ca;
    file_exp *x;

    if (c->path == NULL || c->path[0] == '\0') {
        snprintf(err, errlen, "file: path must name the file to write to");
        return TD_EINVAL;
    }
    x = calloc(1, sizeof(*x));
    if (x == NULL) {
        goto nomem;
    }
    x->cfg = c;
    x->fd = -1;
    x->name_cap = strlen(c->path) + 24;
    x->id = strdup(ctx->id);
    x->from = malloc(x->name_cap);
    x->to = malloc(x->name_cap);
    if (x->id == NULL || x->from == NULL || x->to == NULL) {
        goto nomem;
    }

    /* The flusher waits on the monotonic clock, immune to clock steps. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&x->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&x->mu, NULL);
    pthread_mutex_init(&x->enc, NULL);
    *self = x;
    return TD_OK;

nomem:
    if (x != NULL) {
        free(x->id);
        free(x->from);
        free(x->to);
        free(x);
    }
    snprintf(err, errlen, "file: out of memory");
    return TD_ENOMEM;
}

/* Opens PATH for appending; 0 or the errno of the failure. Under mu. */
static int
file_open_locked(file_exp *x)
{
    struct stat st;
    int fd, e;

    fd = open(x->cfg->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
              0644);
    if (fd < 0) {
        return errno;
    }
    if (fstat(fd, &st) != 0) {
        e = errno;
        close(fd);
        return e;
    }
    x->fd = fd;
    x->regular = S_ISREG(st.st_mode);
    x->size = x->regular ? (uint64_t) st.st_size : 0;
    return 0;
}

/*
 * fsyncs in the background every flush_interval. The descriptor is
 * dup'd under the lock and synced without it, so writers are not held
 * up by a slow disk.
 */
static void *
file_flusher(void *arg)
{
    file_exp *x = arg;
    struct timespec ts;

    pthread_mutex_lock(&x->mu);
    while (!x->stopping) {
        int fd = -1;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t) (x->cfg->flush_interval_ms / 1000);
        ts.tv_nsec += (long) (x->cfg->flush_interval_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&x->cond, &x->mu, &ts);
        if (x->stopping || !x->dirty || x->fd < 0 || !x->regular) {
            continue;
        }
        fd = dup(x->fd);
        x->dirty = false;
        pthread_mutex_unlock(&x->mu);

        if (fd >= 0 && fsync(fd) != 0) {
            int e = errno;

            td_log(TD_LOG_WARN, x->id, x->cfg->path, e,
                   "fsync failed; written data may not be on disk");
        }
        if (fd >= 0) {
            close(fd);
        }
        pthread_mutex_lock(&x->mu);
    }
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

static int
file_start(void *self, char *err, size_t errlen)
{
    file_exp *x = self;
    char tmp[128];
    int e;

    pthread_mutex_lock(&x->mu);
    e = file_open_locked(x);
    pthread_mutex_unlock(&x->mu);
    if (e != 0) {
        snprintf(err, errlen, "file: cannot open %s for appending: %s",
                 x->cfg->path, file_strerror(e, tmp, sizeof(tmp)));
        return TD_ERR;
    }

    if (x->cfg->flush_interval_ms > 0) {
        e = pthread_create(&x->flusher, NULL, file_flusher, x);
        if (e != 0) {
            snprintf(err, errlen, "file: cannot start the flush thread: %s",
                     file_strerror(e, tmp, sizeof(tmp)));
            return TD_ERR;
        }
        x->flusher_running = true;
    }
    return TD_OK;
}

static bool
file_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

static void
file_backup_name(const file_exp *x, char *dst, int64_t i)
{
    snprintf(dst, x->name_cap, "%s.%lld", x->cfg->path, (long long) i);
}

/* Logs a rotation problem, at most once per FILE_WARN_EVERY_MS. */
static void
file_warn_locked(file_exp *x, int e, const char *what, const char *path)
{
    int64_t now = td_mono_ms();

    if (x->warned_ms != 0 && now - x->warned_ms < FILE_WARN_EVERY_MS) {
        return;
    }
    x->warned_ms = now;
    td_log(TD_LOG_WARN, x->id, path, e, "%s; writing on into %s", what,
           x->cfg->path);
}

/*
 * Shifts PATH.1..PATH.k-1 up by one, where PATH.k is the first free
 * name (or max_backups when all are taken, whose file is dropped), and
 * removes leftovers beyond max_backups from a larger earlier setting.
 * Backups are normally contiguous, so this costs a few syscalls, not
 * max_backups of them.
 */
static void
file_shift_backups_locked(file_exp *x)
{
    int64_t max = x->cfg->max_backups, k = 1;

    while (k <= max) {
        file_backup_name(x, x->from, k);
        if (!file_exists(x->from)) {
            break;
        }
        k++;
    }
    if (k > max) {
        k = max;
        file_backup_name(x, x->from, k);
        unlink(x->from);
    }
    for (int64_t i = k - 1; i >= 1; i--) {
        file_backup_name(x, x->from, i);
        file_backup_name(x, x->to, i + 1);
        if (rename(x->from, x->to) != 0) {
            file_warn_locked(x, errno, "cannot shift a backup", x->from);
        }
    }
    for (int64_t i = max + 1;; i++) {
        file_backup_name(x, x->from, i);
        if (unlink(x->from) != 0) {
            break;
        }
    }
}

/*
 * Closes PATH, turns it into PATH.1 (or removes it when max_backups is
 * 0) and opens a new PATH. When renaming fails the old file is reopened
 * and grows past the limit, with a warning, rather than losing data.
 * 0 or the errno of a failed open.
 */
static int
file_rotate_locked(file_exp *x)
{
    fsync(x->fd);
    close(x->fd);
    x->fd = -1;
    x->dirty = false;

    if (x->cfg->max_backups == 0) {
        if (unlink(x->cfg->path) != 0) {
            file_warn_locked(x, errno, "cannot remove the full file",
                             x->cfg->path);
        }
    } else {
        file_shift_backups_locked(x);
        file_backup_name(x, x->to, 1);
        if (rename(x->cfg->path, x->to) != 0) {
            file_warn_locked(x, errno, "cannot rotate the file", x->to);
        }
    }
    /*
     * After a failed rename this reopens the full file, and the next
     * write tries to rotate again.
     */
    return file_open_locked(x);
}

/* write(2) until all is written; 0 or the errno of the failure. */
static int
file_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0) {
            int e = errno;

            if (e == EINTR) {
                continue;
            }
            return e;
        }
        if (n == 0) {
            return EIO;
        }
        data += n;
        len -= (size_t) n;
    }
    return 0;
}

/* Appends data to the file; 0 or TD_AGAIN with a message. Under mu. */
static int
file_write_locked(file_exp *x, const char *data, size_t len, char *err,
                  size_t errlen)
{
    uint64_t max = (uint64_t) x->cfg->max_megabytes * 1024 * 1024;
    const char *what = "write";
    char tmp[128];
    int e = 0;

    if (x->fd < 0) {
        what = "open";
        e = file_open_locked(x);
    }
    if (e == 0 && x->regular && max > 0 && x->size > 0
        && x->size + len > max) {
        what = "open after rotation";
        e = file_rotate_locked(x);
    }
    if (e == 0) {
        what = "write";
        e = file_write_all(x->fd, data, len);
    }
    if (e == 0 && x->regular && x->cfg->flush_interval_ms == 0
        && fsync(x->fd) != 0) {
        what = "fsync";
        e = errno;
    }
    if (e != 0) {
        /* A partial line or frame would precede the retried copy. */
        if (x->fd >= 0 && x->regular
            && ftruncate(x->fd, (off_t) x->size) != 0) {
            td_log(TD_LOG_WARN, x->id, x->cfg->path, errno,
                   "cannot cut a partly written export off the file");
        }
        snprintf(err, errlen, "file: %s %s: %s", what, x->cfg->path,
                 file_strerror(e, tmp, sizeof(tmp)));
        return TD_AGAIN;
    }
    x->size += len;
    x->dirty = true;
    return TD_OK;
}

/* Encodes the batch as the configured lines; 0 or TD_ENOMEM. */
static int
file_encode(const file_exp *x, const td_batch *b, td_buf *out)
{
    if (x->cfg->granularity == FILE_GRAN_RECORD) {
        return td_otlp_json_encode_each(b, out);
    }
    if (td_otlp_json_encode(b, out) != TD_OK
        || td_buf_putc(out, '\n') != TD_OK) {
        return TD_ENOMEM;
    }
    return TD_OK;
}

/* One complete zstd frame (with its content size) per export. */
static int
file_compress(const td_buf *in, td_buf *out, char *err, size_t errlen)
{
    size_t bound = ZSTD_compressBound(in->len), n;

    if (td_buf_reserve(out, bound) != TD_OK) {
        snprintf(err, errlen, "file: out of memory compressing");
        return TD_AGAIN;
    }
    n = ZSTD_compress(out->data, bound, in->data, in->len,
                      ZSTD_CLEVEL_DEFAULT);
    if (ZSTD_isError(n)) {
        snprintf(err, errlen, "file: zstd: %s", ZSTD_getErrorName(n));
        return TD_AGAIN;
    }
    out->len = n;
    return TD_OK;
}

static int
file_export(void *self, td_batch *b, int64_t deadline, char *err,
            size_t errlen)
{
    file_exp *x = self;
    td_buf *json = &x->json, *zst = &x->zst;
    const td_buf *data = json;
    int rc;

    (void) deadline;
    if (b->resources == NULL) {
        return TD_OK;
    }
    pthread_mutex_lock(&x->enc);
    json->len = 0;
    zst->len = 0;
    if (file_encode(x, b, json) != TD_OK) {
        snprintf(err, errlen, "file: out of memory encoding a batch");
        rc = TD_AGAIN;
        goto out;
    }
    if (json->len == 0) {
        rc = TD_OK;
        goto out;
    }
    if (x->cfg->compression == FILE_COMP_ZSTD) {
        rc = file_compress(json, zst, err, errlen);
        if (rc != TD_OK) {
            goto out;
        }
        data = zst;
    }

    pthread_mutex_lock(&x->mu);
    rc = file_write_locked(x, data->data, data->len, err, errlen);
    pthread_mutex_unlock(&x->mu);

out:
    pthread_mutex_unlock(&x->enc);
    return rc;
}

/* Stops the flusher, syncs and closes the file. Safe to call twice. */
static void
file_close(file_exp *x)
{
    pthread_mutex_lock(&x->mu);
    x->stopping = true;
    pthread_cond_signal(&x->cond);
    pthread_mutex_unlock(&x->mu);
    if (x->flusher_running) {
        pthread_join(x->flusher, NULL);
        x->flusher_running = false;
    }

    pthread_mutex_lock(&x->mu);
    if (x->fd >= 0) {
        if (x->dirty && x->regular && fsync(x->fd) != 0) {
            td_log(TD_LOG_WARN, x->id, x->cfg->path, errno,
                   "fsync at shutdown failed");
        }
        close(x->fd);
        x->fd = -1;
    }
    pthread_mutex_unlock(&x->mu);
}

static void
file_shutdown(void *self, int64_t deadline)
{
    (void) deadline;
    file_close(self);
}

static void
file_destroy(void *self)
{
    file_exp *x = self;

    file_close(x);
    pthread_cond_destroy(&x->cond);
    pthread_mutex_destroy(&x->mu);
    pthread_mutex_destroy(&x->enc);
    td_buf_free(&x->json);
    td_buf_free(&x->zst);
    free(x->id);
    free(x->from);
    free(x->to);
    free(x);
}

const td_component_desc td_file_exporter = {
    .type = "file",
    .kind = TD_KIND_EXPORTER,
    .signals = TD_SIGNALS_ALL,
    .summary = "appends OTLP/JSON lines to a file, optionally zstd, "
               "rotated by size",
    .cfg_size = sizeof(file_cfg),
    .keys = file_keys,
    .validate = file_validate,
    .create = file_create,
    .start = file_start,
    .export = file_export,
    .shutdown = file_shutdown,
    .destroy = file_destroy,
};
