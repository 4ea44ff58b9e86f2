/*
 * test_budget.c - the process-wide memory budget: arena blocks charged
 * exactly as batches are made, grown, merged, copied and freed (also from
 * several threads at once); reservations against the soft limit; the
 * tightest of several owners' limits; held bytes; the limited state, its
 * seconds and its log lines; the memory figures read from fake cgroup,
 * meminfo and statm files; and the metrics as promtool reads them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "budget.h"
#include "log.h"
#include "selfmetrics.h"
#include "telemetry.h"
#include "td.h"
#include "tt.h"

/* Owners of limits; only their addresses matter. */
static int owner_a, owner_b;

/*
 * A logs batch of n records whose bodies are about size bytes each, or
 * NULL when out of memory. No checks inside: threads call it too.
 */
static td_batch *
make_batch(size_t n, size_t size)
{
    td_batch *b = td_batch_new(TD_SIGNAL_LOGS, 0);
    td_resource_group *rg = b != NULL ? td_batch_add_resource(b) : NULL;
    td_scope_group *sg = rg != NULL ? td_batch_add_scope(b, rg) : NULL;
    char body[512];

    if (sg == NULL) {
        td_batch_unref(b);
        return NULL;
    }
    memset(body, 'x', sizeof(body));
    for (size_t i = 0; i < n; i++) {
        td_log_record *rec = td_batch_add_log(b, sg);

        if (rec == NULL
            || td_attrs_put_int(b, &rec->attrs, "i", (int64_t) i) != 0) {
            td_batch_unref(b);
            return NULL;
        }
        rec->body.type = TD_VAL_STR;
        rec->body.u.s = td_batch_str(b, body, size < sizeof(body)
                                                  ? size : sizeof(body));
    }
    return b;
}

static td_batch *
batch_of(size_t n, size_t size)
{
    td_batch *b = make_batch(n, size);

    TT_CHECK(b != NULL);
    return b;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static int
count_of(const char *text, const char *what)
{
    int n = 0;

    for (const char *p = text; p != NULL && (p = strstr(p, what)) != NULL;
         p += strlen(what)) {
        n++;
    }
    return n;
}

/* ---- files for the memory figures ---- */

static char tmpdir[64];

static const char *
fake_file(const char *name, const char *text)
{
    static char paths[8][128];
    static int next;
    char *path = paths[next++ % 8];
    FILE *f;

    snprintf(path, 128, "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    TT_CHECK(f != NULL);
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

static void
fake_dir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_budget.XXXXXX");
    TT_CHECK(mkdtemp(tmpdir) != NULL);
}

static void
fake_dir_remove(void)
{
    static const char *const names[] = {"max2", "max1", "meminfo", "statm",
                                        "metrics.txt"};

    for (size_t i = 0; i < TD_ARRAY_SIZE(names); i++) {
        char path[128];

        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

/* ---- the cases ---- */

/*
 * The budget moves by exactly the bytes the batch's arenas hold: when it
 * is made, as it grows over many records, when another is appended (the
 * source's arena counts once, for as long as the merged batch holds it)
 * and when it is copied; freeing everything brings it back.
 */
static void
test_charge_exact(void)
{
    size_t start = td_budget_used();
    td_batch *a, *b, *c;

    a = td_batch_new(TD_SIGNAL_LOGS, 0);
    TT_CHECK(a != NULL);
    if (a == NULL) {
        return;
    }
    TT_CHECK(td_budget_used() > start);
    TT_CHECK_INT(td_budget_used() - start, td_batch_bytes(a));
    td_batch_unref(a);
    TT_CHECK_INT(td_budget_used(), start);

    a = batch_of(5000, 200);            /* many blocks */
    TT_CHECK(td_batch_bytes(a) > 1000000);
    TT_CHECK_INT(td_budget_used() - start, td_batch_bytes(a));

    b = batch_of(300, 100);
    TT_CHECK_INT(td_budget_used() - start,
                 td_batch_bytes(a) + td_batch_bytes(b));
    TT_CHECK_INT(td_batch_append(a, b), TD_OK);
    td_batch_unref(b);                  /* its arena lives on in a */
    TT_CHECK_INT(td_budget_used() - start, td_batch_bytes(a));

    c = td_batch_clone(a);
    TT_CHECK(c != NULL);
    TT_CHECK_INT(td_budget_used() - start,
                 td_batch_bytes(a) + (c != NULL ? td_batch_bytes(c) : 0));
    td_batch_unref(a);
    TT_CHECK_INT(td_budget_used() - start,
                 c != NULL ? td_batch_bytes(c) : 0);
    td_batch_unref(c);
    TT_CHECK_INT(td_budget_used(), start);
}

/* A scratch arena reset gives back every block but its first. */
static void
test_arena_reset(void)
{
    size_t start = td_budget_used();
    td_arena *a = td_arena_new(1024);
    size_t first;

    TT_CHECK(a != NULL);
    if (a == NULL) {
        return;
    }
    first = td_arena_bytes(a);
    TT_CHECK_INT(td_budget_used() - start, first);
    for (int i = 0; i < 100; i++) {
        TT_CHECK(td_arena_alloc(a, 1000) != NULL);
    }
    TT_CHECK(td_arena_bytes(a) > first);
    TT_CHECK_INT(td_budget_used() - start, td_arena_bytes(a));
    td_arena_reset(a);
    TT_CHECK_INT(td_budget_used() - start, first);
    td_arena_unref(a);
    TT_CHECK_INT(td_budget_used(), start);
}

/*
 * A reservation fits while used + reserved + bytes stays at or under the
 * soft limit; a refused one reserves nothing and makes the budget
 * limited for a while; a release makes room.
 */
static void
test_reserve_soft_limit(void)
{
    size_t used = td_budget_used(), r0 = td_budget_reserved();
    int64_t t0;

    TT_CHECK_INT(td_budget_reserve(1 << 30), TD_OK);  /* no limit */
    td_budget_release(1 << 30);

    TT_CHECK_INT(td_budget_set_limits(&owner_a, used + 1000, used + 5000),
                 TD_OK);
    TT_CHECK_INT(td_budget_reserve(600), TD_OK);
    TT_CHECK(!td_budget_limited());
    t0 = td_mono_ms();
    TT_CHECK_INT(td_budget_reserve(600), TD_AGAIN);
    /* Refused: limited for 500 ms (unless this thread slept that long). */
    TT_CHECK(td_budget_limited() || td_mono_ms() - t0 >= 500);
    TT_CHECK_INT(td_budget_reserved() - r0, 600);
    TT_CHECK_INT(td_budget_reserve(400), TD_OK);      /* exactly full */
    TT_CHECK_INT(td_budget_reserve(1), TD_AGAIN);
    td_budget_release(400);
    td_budget_release(600);
    TT_CHECK_INT(td_budget_reserved(), r0);
    TT_CHECK_INT(td_budget_reserve(1001), TD_AGAIN);
    TT_CHECK_INT(td_budget_reserve(1000), TD_OK);
    td_budget_release(1000);

    /* With no refusal for longer than that, the limited state ends. */
    sleep_ms(600);
    TT_CHECK(!td_budget_limited());

    td_budget_clear(&owner_a);
    TT_CHECK_INT(td_budget_soft_limit(), 0);
    TT_CHECK_INT(td_budget_reserve(1001), TD_OK);
    td_budget_release(1001);
    TT_CHECK_INT(td_budget_reserved(), r0);
}

/* With several owners the tightest soft and hard limits are in force. */
static void
test_tightest_limits(void)
{
    TT_CHECK_INT(td_budget_set_limits(&owner_a, 100, 200), TD_OK);
    TT_CHECK_INT(td_budget_set_limits(&owner_b, 50, 300), TD_OK);
    TT_CHECK_INT(td_budget_soft_limit(), 50);
    TT_CHECK_INT(td_budget_hard_limit(), 200);
    TT_CHECK_INT(td_budget_set_limits(&owner_b, 500, 0), TD_OK);
    TT_CHECK_INT(td_budget_soft_limit(), 100);
    TT_CHECK_INT(td_budget_hard_limit(), 200);
    TT_CHECK_INT(td_budget_set_limits(&owner_b, 400, 300), TD_EINVAL);
    TT_CHECK_INT(td_budget_set_limits(&owner_a, 0, 0), TD_OK);
    TT_CHECK_INT(td_budget_soft_limit(), 500);
    TT_CHECK_INT(td_budget_hard_limit(), 0);
    td_budget_clear(&owner_b);
    td_budget_clear(&owner_b);          /* twice is harmless */
    TT_CHECK_INT(td_budget_soft_limit(), 0);
    TT_CHECK_INT(td_budget_hard_limit(), 0);
}

/*
 * Above the soft limit processors are refused and the budget is limited;
 * bytes a receiver holds after a refusal do not count for admission (they
 * are there either way) but do for the limited state.
 */
static void
test_admits_and_held(void)
{
    size_t start = td_budget_used();
    td_batch *b;

    TT_CHECK_INT(td_budget_set_limits(&owner_a, start + 10000,
                                      start + 20000), TD_OK);
    TT_CHECK(td_budget_admits());
    TT_CHECK(!td_budget_limited());

    b = batch_of(200, 100);
    TT_CHECK(td_batch_bytes(b) > 10000);
    TT_CHECK(!td_budget_admits());
    TT_CHECK(td_budget_limited());

    td_budget_hold(td_batch_bytes(b));
    TT_CHECK_INT(td_budget_held(), td_batch_bytes(b));
    TT_CHECK(td_budget_admits());
    TT_CHECK(td_budget_limited());
    td_budget_unhold(td_batch_bytes(b));
    TT_CHECK(!td_budget_admits());

    td_batch_unref(b);
    TT_CHECK(td_budget_admits());
    TT_CHECK(!td_budget_limited());
    td_budget_clear(&owner_a);
}

/* Resident memory above an owner's hard limit makes the budget limited. */
static void
test_rss_over(void)
{
    td_budget_set_rss_over(&owner_a, true);   /* no such owner yet */
    TT_CHECK(!td_budget_limited());
    TT_CHECK_INT(td_budget_set_limits(&owner_a, 0, 1 << 30), TD_OK);
    td_budget_set_rss_over(&owner_a, true);
    TT_CHECK(td_budget_limited());
    TT_CHECK(td_budget_admits());             /* admission is by bytes */
    td_budget_set_rss_over(&owner_a, false);
    TT_CHECK(!td_budget_limited());
    td_budget_set_rss_over(&owner_a, true);
    td_budget_clear(&owner_a);                /* the flag goes with it */
    TT_CHECK(!td_budget_limited());
}

static uint64_t
limited_counter(void)
{
    return td_counter_get(td_self_counter(
        "tandem_memory_limited_seconds_total", "h", ""));
}

/*
 * The limited state over fake time: seconds are counted for the periods
 * it held; the entry and the exit are logged once each; a second entry
 * within 10 s is not logged (nor its exit) but counted in the next line.
 */
static void
test_update_seconds_and_logs(void)
{
    int64_t t = 10000000;           /* fake td_mono_ms() values */
    uint64_t s0 = td_budget_limited_seconds(), c0;
    size_t start = td_budget_used();
    td_batch *b;
    tt_capture cap;
    char *text;

    td_self_reset();
    TT_CHECK_INT(td_budget_metrics(), TD_OK);
    c0 = limited_counter();
    td_log_set_level(TD_LOG_INFO);
    TT_CHECK(!td_budget_update(t, 0));
    TT_CHECK_INT(td_budget_set_limits(&owner_a, start + 1000,
                                      start + 2000), TD_OK);
    b = batch_of(100, 100);

    tt_capture_begin(&cap);
    TT_CHECK(td_budget_update(t + 1000, 50 << 20));
    TT_CHECK(td_budget_update(t + 3500, 50 << 20));
    td_batch_unref(b);
    TT_CHECK(!td_budget_update(t + 4000, 50 << 20));
    b = batch_of(100, 100);
    TT_CHECK(td_budget_update(t + 5000, 0));      /* within 10 s */
    td_batch_unref(b);
    TT_CHECK(!td_budget_update(t + 6000, 0));
    b = batch_of(100, 100);
    TT_CHECK(td_budget_update(t + 12000, 0));
    td_batch_unref(b);
    TT_CHECK(!td_budget_update(t + 12500, 0));
    text = tt_capture_end(&cap);

    /* 3000 + 1000 + 500 ms limited: 4 whole seconds, 500 ms pending. */
    TT_CHECK_INT(td_budget_limited_seconds() - s0, 4);
    TT_CHECK_INT(limited_counter() - c0, 4);
    TT_CHECK_INT(count_of(text, "\"msg\":\"memory limited: "), 2);
    TT_CHECK_INT(count_of(text, "memory no longer limited after "), 2);
    TT_CHECK(strstr(text, "memory no longer limited after 3.0 s") != NULL);
    TT_CHECK(strstr(text, "memory no longer limited after 0.5 s") != NULL);
    TT_CHECK(strstr(text, "resident 50.0 MiB") != NULL);
    TT_CHECK_INT(count_of(text, "(limited 1 more times since the last "
                                "message)"), 1);
    TT_CHECK(strstr(text, "\"level\":\"warn\",\"component\":\"memory\"")
             != NULL);
    free(text);
    td_budget_clear(&owner_a);
    td_self_reset();
}

typedef struct worker {
    int seed;
    int ok;
} worker;

/* Makes, grows, merges and frees batches, and reserves, in a loop. */
static void *
worker_run(void *arg)
{
    worker *w = arg;
    td_batch *keep = td_batch_new(TD_SIGNAL_LOGS, 0);

    w->ok = keep != NULL;
    for (int i = 0; w->ok && i < 300; i++) {
        td_batch *b = make_batch((size_t) (1 + (i * 7 + w->seed) % 50), 64);

        if (b == NULL) {
            w->ok = 0;
            break;
        }
        if (td_budget_reserve(4096) == TD_OK) {
            td_budget_release(4096);
        }
        if (i % 3 == 0) {
            w->ok = td_batch_append(keep, b) == TD_OK;
        }
        td_batch_unref(b);
        if (i % 50 == 49) {
            td_batch_unref(keep);
            keep = td_batch_new(TD_SIGNAL_LOGS, 0);
            w->ok = keep != NULL;
        }
    }
    td_batch_unref(keep);
    return NULL;
}

/* Charges from four threads at once add up to nothing in the end. */
static void
test_concurrent(void)
{
    size_t start = td_budget_used(), r0 = td_budget_reserved();
    pthread_t th[4];
    worker w[4];

    for (int i = 0; i < 4; i++) {
        w[i].seed = i;
        w[i].ok = 0;
        TT_CHECK_INT(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        TT_CHECK(w[i].ok);
    }
    TT_CHECK_INT(td_budget_used(), start);
    TT_CHECK_INT(td_budget_reserved(), r0);
}

/* The memory the process may use, from fake cgroup and meminfo files. */
static void
test_read_total(void)
{
    const char *mem, *v2, *v1, *src = NULL;
    char err[256] = "";
    size_t bytes = 0;

    fake_dir();
    mem = fake_file("meminfo", "MemFree:  100 kB\n"
                               "MemTotal:       8388608 kB\n");

    v2 = fake_file("max2", "1073741824\n");
    TT_CHECK_INT(td_budget_read_total(v2, NULL, mem, &bytes, &src, err,
                                      sizeof(err)), TD_OK);
    TT_CHECK_INT(bytes, 1073741824);
    TT_CHECK_STR(src, "cgroup v2 memory.max");

    v2 = fake_file("max2", "max\n");
    TT_CHECK_INT(td_budget_read_total(v2, NULL, mem, &bytes, &src, err,
                                      sizeof(err)), TD_OK);
    TT_CHECK_INT(bytes, 8388608LL * 1024);
    TT_CHECK_STR(src, "MemTotal");

    /* v1, with v2 absent. */
    v1 = fake_file("max1", "536870912\n");
    TT_CHECK_INT(td_budget_read_total("/nonexistent/memory.max", v1, mem,
                                      &bytes, &src, err, sizeof(err)),
                 TD_OK);
    TT_CHECK_INT(bytes, 536870912);
    TT_CHECK_STR(src, "cgroup v1 memory.limit_in_bytes");

    /* v1's "no limit" is a huge number. */
    v1 = fake_file("max1", "9223372036854771712\n");
    TT_CHECK_INT(td_budget_read_total(v2, v1, mem, &bytes, &src, err,
                                      sizeof(err)), TD_OK);
    TT_CHECK_INT(bytes, 8388608LL * 1024);
    TT_CHECK_STR(src, "MemTotal");

    /* A cgroup limit above the machine's memory is no limit. */
    v2 = fake_file("max2", "17179869184\n");
    TT_CHECK_INT(td_budget_read_total(v2, NULL, mem, &bytes, &src, err,
                                      sizeof(err)), TD_OK);
    TT_CHECK_INT(bytes, 8388608LL * 1024);

    /* Without a meminfo, a cgroup limit still counts... */
    TT_CHECK_INT(td_budget_read_total(v2, NULL, NULL, &bytes, &src, err,
                                      sizeof(err)), TD_OK);
    TT_CHECK_INT(bytes, 17179869184LL);

    /* ...and with neither there is no answer. */
    v2 = fake_file("max2", "max\n");
    TT_CHECK_INT(td_budget_read_total(v2, "/nonexistent/v1", NULL, &bytes,
                                      &src, err, sizeof(err)), TD_ERR);
    TT_CHECK(strstr(err, "cannot tell how much memory the process may "
                         "use: no cgroup memory limit in ") == err);
    TT_CHECK(strstr(err, "and no MemTotal in (none)") != NULL);
    fake_dir_remove();
}

static void
test_read_rss(void)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t bytes = 0;

    fake_dir();
    TT_CHECK_INT(td_budget_read_rss(fake_file("statm", "9000 250 30 1 0 "
                                              "400 0\n"), &bytes), TD_OK);
    TT_CHECK_INT(bytes, 250 * page);
    TT_CHECK_INT(td_budget_read_rss(fake_file("statm", "garbage\n"),
                                    &bytes), TD_ERR);
    TT_CHECK_INT(td_budget_read_rss("/nonexistent/statm", &bytes), TD_ERR);
    TT_CHECK_INT(td_budget_read_rss("/proc/self/statm", &bytes), TD_OK);
    TT_CHECK(bytes > 0);
    fake_dir_remove();
}

/* The budget's metrics render with their values; promtool accepts them. */
static void
test_metrics(void)
{
    td_buf out = TD_BUF_INIT;
    char want[128], path[128];
    FILE *f;

    td_self_reset();
    TT_CHECK_INT(td_budget_metrics(), TD_OK);
    TT_CHECK_INT(td_budget_set_limits(&owner_a, 1000, 3000), TD_OK);
    TT_CHECK_INT(td_self_render(&out), TD_OK);
    TT_CHECK(out.data != NULL);
    if (out.data == NULL) {
        return;
    }
    TT_CHECK(strstr(out.data, "# TYPE tandem_memory_budget_used_bytes "
                              "gauge\n") != NULL);
    TT_CHECK(strstr(out.data, "\ntandem_memory_budget_used_bytes ")
             != NULL);
    TT_CHECK(strstr(out.data, "tandem_memory_budget_limit_bytes"
                              "{limit=\"soft\"} 1000\n") != NULL);
    TT_CHECK(strstr(out.data, "tandem_memory_budget_limit_bytes"
                              "{limit=\"hard\"} 3000\n") != NULL);
    TT_CHECK(strstr(out.data, "tandem_memory_budget_reserved_bytes ")
             != NULL);
    snprintf(want, sizeof(want), "# TYPE %s counter\n%s ",
             "tandem_memory_limited_seconds_total",
             "tandem_memory_limited_seconds_total");
    TT_CHECK(strstr(out.data, want) != NULL);

    /* promtool is the real reader of this format, when installed. */
    if (access("/usr/bin/promtool", X_OK) == 0) {
        fake_dir();
        snprintf(path, sizeof(path), "%s/metrics.txt", tmpdir);
        f = fopen(path, "w");
        TT_CHECK(f != NULL);
        if (f != NULL) {
            char cmd[256];

            fwrite(out.data, 1, out.len, f);
            fclose(f);
            snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
            TT_CHECK_INT(system(cmd), 0);
        }
        fake_dir_remove();
    }
    td_buf_free(&out);
    td_budget_clear(&owner_a);
    td_self_reset();
}

/*
 * The process's own cgroup: its v2 and v1 memory files come from the
 * lines of /proc/self/cgroup, under cgroupfs; the root cgroup, a line
 * without memory, or no file at all leave the root-level defaults.
 */
static void
test_cgroup_files(void)
{
    td_budget_paths paths = {
        .cgroup2 = "/fixed/memory.max",
        .cgroup1 = "/fixed/memory.limit_in_bytes",
        .root = "/sys/fs/cgroup",
    };
    char v2[256], v1[256], want[256];

    fake_dir();
    paths.self = fake_file("max2", "12:memory:/docker/abc\n"
                                   "4:cpu,cpuacct:/docker/abc\n"
                                   "0::/system.slice/tandem.service\n");
    td_budget_cgroup_files(&paths, v2, v1, sizeof(v2));
    TT_CHECK_STR(v2, "/sys/fs/cgroup/system.slice/tandem.service/"
                     "memory.max");
    TT_CHECK_STR(v1, "/sys/fs/cgroup/memory/docker/abc/"
                     "memory.limit_in_bytes");

    paths.self = fake_file("max1", "3:cpu,memory,pids:/batch.slice\n"
                                   "0::/\n");
    td_budget_cgroup_files(&paths, v2, v1, sizeof(v2));
    TT_CHECK_STR(v2, "/fixed/memory.max");
    TT_CHECK_STR(v1, "/sys/fs/cgroup/memory/batch.slice/"
                     "memory.limit_in_bytes");

    snprintf(want, sizeof(want), "%s/none", tmpdir);
    paths.self = want;
    td_budget_cgroup_files(&paths, v2, v1, sizeof(v2));
    TT_CHECK_STR(v2, "/fixed/memory.max");
    TT_CHECK_STR(v1, "/fixed/memory.limit_in_bytes");
    fake_dir_remove();
}

static const tt_case cases[] = {
    {"cgroup_files", test_cgroup_files},
    {"charge_exact", test_charge_exact},
    {"arena_reset", test_arena_reset},
    {"reserve_soft_limit", test_reserve_soft_limit},
    {"tightest_limits", test_tightest_limits},
    {"admits_and_held", test_admits_and_held},
    {"rss_over", test_rss_over},
    {"update_seconds_and_logs", test_update_seconds_and_logs},
    {"concurrent", test_concurrent},
    {"read_total", test_read_total},
    {"read_rss", test_read_rss},
    {"metrics", test_metrics},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
