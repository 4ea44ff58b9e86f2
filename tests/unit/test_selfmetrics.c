/*
 * test_selfmetrics.c - the own-metrics registry: exact rendering, label
 * escaping, process metrics, and the output checked by promtool from
 * Prometheus (a missing promtool fails the test).
 */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "selfmetrics.h"
#include "td.h"
#include "tt.h"

static double
test_fn_value(void *arg)
{
    return *(const double *) arg;
}

static char *
test_render(void)
{
    td_buf out = TD_BUF_INIT;

    TT_CHECK_INT(td_self_render(&out), TD_OK);
    if (out.data == NULL) {
        return strdup("");
    }
    return out.data;
}

/* The value of the sample line that starts with "prefix " or NULL. */
static const char *
test_sample(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);

    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, prefix, n) == 0 && p[n] == ' ') {
            return p + n + 1;
        }
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    return NULL;
}

/*
 * Families whose names start with "t_" sort before every "tandem_*"
 * process metric ('_' < 'a'), so the registered ones open the text.
 */
static void
test_render_exact(void)
{
    static double fn_val = 2.5;
    td_counter *a1, *a2;
    td_gauge *b;
    char *text;
    const char *expect =
        "# HELP t_a_total Counts \\\\ things.\\nSecond line.\n"
        "# TYPE t_a_total counter\n"
        "t_a_total{x=\"1\"} 3\n"
        "t_a_total{x=\"2\"} 0\n"
        "# HELP t_b Gauge b.\n"
        "# TYPE t_b gauge\n"
        "t_b -5\n"
        "# HELP t_c Computed.\n"
        "# TYPE t_c gauge\n"
        "t_c{k=\"v\"} 2.5\n"
        "# HELP tandem_build_info ";

    td_self_reset();
    /* Registered out of order: rendering sorts families by name. */
    b = td_self_gauge("t_b", "Gauge b.", "");
    TT_CHECK_INT(td_self_gauge_fn("t_c", "Computed.", "k=\"v\"",
                                  test_fn_value, &fn_val), TD_OK);
    a1 = td_self_counter("t_a_total", "Counts \\ things.\nSecond line.",
                         "x=\"1\"");
    a2 = td_self_counter("t_a_total", "ignored", "x=\"2\"");
    TT_CHECK(a1 != NULL && a2 != NULL && b != NULL && a1 != a2);
    td_counter_add(a1, 2);
    td_counter_add(a1, 1);
    td_gauge_set(b, -3);
    td_gauge_add(b, -2);

    text = test_render();
    TT_CHECK(strncmp(text, expect, strlen(expect)) == 0);
    if (strncmp(text, expect, strlen(expect)) != 0) {
        fprintf(stderr, "rendered:\n%s\n", text);
    }
    free(text);
    td_self_reset();
}

static void
test_same_series_and_conflicts(void)
{
    td_counter *c1, *c2;

    td_self_reset();
    c1 = td_self_counter("t_same_total", "h", "a=\"1\"");
    c2 = td_self_counter("t_same_total", "h", "a=\"1\"");
    TT_CHECK(c1 != NULL && c1 == c2);
    td_counter_add(c1, 7);
    TT_CHECK_INT(td_counter_get(c2), 7);

    /* A family has one type; a counter's name ends in _total. */
    TT_CHECK(td_self_gauge("t_same_total", "h", "") == NULL);
    TT_CHECK(td_self_counter("t_no_suffix", "h", "") == NULL);
    TT_CHECK(td_self_gauge("0bad", "h", "") == NULL);
    TT_CHECK(td_self_gauge("bad-name", "h", "") == NULL);
    TT_CHECK_INT(td_self_gauge_fn("t_fn", "h", "", NULL, NULL), TD_EINVAL);

    /* NULL series are ignored by the inline helpers. */
    td_counter_add(NULL, 1);
    TT_CHECK_INT(td_counter_get(NULL), 0);
    td_self_reset();
}

static void
test_sorted_families(void)
{
    char *text;
    const char *p, *prev = NULL;
    size_t prev_len = 0;
    int n = 0;

    td_self_reset();
    TT_CHECK(td_self_counter("zz_last_total", "z", "") != NULL);
    TT_CHECK(td_self_counter("aa_first_total", "a", "") != NULL);
    TT_CHECK(td_self_gauge("tandem_mid", "m", "") != NULL);
    text = test_render();

    for (p = strstr(text, "# TYPE "); p != NULL;
         p = strstr(p + 1, "# TYPE ")) {
        const char *name = p + 7;
        size_t len = strcspn(name, " ");

        if (prev != NULL) {
            size_t m = len < prev_len ? len : prev_len;
            int cmp = memcmp(prev, name, m);

            TT_CHECK(cmp < 0 || (cmp == 0 && prev_len < len));
        }
        prev = name;
        prev_len = len;
        n++;
    }
    /* Three registered families and six process families. */
    TT_CHECK_INT(n, 9);
    TT_CHECK(strncmp(text, "# HELP aa_first_total a\n", 24) == 0);
    free(text);
    td_self_reset();
}

static void
test_labels(void)
{
    char out[64];
    const char *want = "k=\"a\\\\b\\\"c\\nd\",k2=\"\"";

    TT_CHECK_INT(td_self_labels(out, sizeof(out), "k", "a\\b\"c\nd",
                                "k2", "", NULL), TD_OK);
    TT_CHECK_STR(out, want);

    /* Exactly enough room, and one byte less. */
    TT_CHECK_INT(td_self_labels(out, strlen(want) + 1, "k", "a\\b\"c\nd",
                                "k2", "", NULL), TD_OK);
    TT_CHECK_STR(out, want);
    TT_CHECK_INT(td_self_labels(out, strlen(want), "k", "a\\b\"c\nd",
                                "k2", "", NULL), TD_EINVAL);

    TT_CHECK_INT(td_self_labels(out, sizeof(out), NULL), TD_OK);
    TT_CHECK_STR(out, "");
    TT_CHECK_INT(td_self_labels(out, sizeof(out), "bad-key", "v", NULL),
                 TD_EINVAL);
    TT_CHECK_INT(td_self_labels(out, sizeof(out), "1key", "v", NULL),
                 TD_EINVAL);
    TT_CHECK_INT(td_self_labels(out, 0, "k", "v", NULL), TD_EINVAL);
}

static double
test_value(const char *text, const char *prefix)
{
    const char *v = test_sample(text, prefix);

    TT_CHECK(v != NULL);
    return v != NULL ? strtod(v, NULL) : -1.0;
}

static void
test_process_metrics(void)
{
    char *text;
    double fds_before, fds_after, start, now;
    int extra[3];

    td_self_reset();
    text = test_render();
    TT_CHECK(test_value(text, "tandem_process_resident_memory_bytes") > 0);
    TT_CHECK(test_value(text, "tandem_process_resident_memory_peak_bytes")
             >= test_value(text, "tandem_process_resident_memory_bytes"));
    TT_CHECK(test_value(text, "tandem_process_cpu_seconds_total") >= 0);
    TT_CHECK(strstr(text, "# TYPE tandem_process_cpu_seconds_total "
                    "counter\n") != NULL);
    TT_CHECK(test_value(text, "tandem_build_info{version=\"" TD_VERSION
                        "\"}") == 1.0);
    start = test_value(text, "tandem_process_start_time_seconds");
    now = (double) time(NULL);
    /* This process started moments ago; btime has 1 s resolution. */
    TT_CHECK(start <= now + 2 && start > now - 600);
    fds_before = test_value(text, "tandem_process_open_fds");
    free(text);

    for (int i = 0; i < 3; i++) {
        extra[i] = open("/dev/null", O_RDONLY);
        TT_CHECK(extra[i] >= 0);
    }
    text = test_render();
    fds_after = test_value(text, "tandem_process_open_fds");
    TT_CHECK(fds_after == fds_before + 3);
    free(text);
    for (int i = 0; i < 3; i++) {
        close(extra[i]);
    }
}

/* Pipes text into `promtool check metrics`; returns its exit status. */
static int
test_promtool(const char *text)
{
    FILE *p = popen("promtool check metrics", "w");
    int st;

    TT_CHECK(p != NULL);
    if (p == NULL) {
        return -1;
    }
    fputs(text, p);
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_promtool_accepts(void)
{
    char labels[128];
    char *text;
    td_counter *c;

    td_self_reset();
    TT_CHECK_INT(td_self_labels(labels, sizeof(labels), "exporter",
                                "otlphttp/\"odd\\name\"", "signal", "logs",
                                NULL), TD_OK);
    c = td_self_counter("tandem_exporter_sent_log_records_total",
                        "Items an exporter delivered.\nWith a newline "
                        "and a \\ backslash.", labels);
    td_counter_add(c, 42);
    TT_CHECK(td_self_gauge("tandem_exporter_queue_size",
                           "Batches waiting.", labels) != NULL);
    {
        static const double bounds[] = {10, 100, 1000, 1e6};
        td_histogram *h = td_self_histogram(
            "tandem_processor_batch_batch_send_size",
            "Items per batch sent.", labels, bounds, 4);

        TT_CHECK(h != NULL);
        td_histogram_observe(h, 50);
        td_histogram_observe(h, 5e6);
        TT_CHECK(td_self_histogram("tandem_unlabelled_seconds", "Bare.", "",
                                   bounds, 4) != NULL);
    }
    text = test_render();
    TT_CHECK(strstr(text, "le=\"1000000\"} 1\n") != NULL);
    TT_CHECK_INT(test_promtool(text), 0);
    free(text);

    /* The check can fail: promtool rejects a broken exposition. */
    TT_CHECK(test_promtool("# TYPE x_total counter\nx_total{a=\"} 1\n")
             != 0);
    td_self_reset();
}

/*
 * Buckets are cumulative and inclusive of their bound; +Inf, _count and
 * the last bucket agree; a series without labels gets only le.
 */
static void
test_histogram_render(void)
{
    static const double bounds[] = {1, 2.5, 10};
    static const double obs[] = {0.5, 1, 2, 3, 100};
    td_histogram *h, *bare;
    char *text;
    const char *expect =
        "# HELP t_h Items per batch.\n"
        "# TYPE t_h histogram\n"
        "t_h_bucket{p=\"x\",le=\"1\"} 2\n"
        "t_h_bucket{p=\"x\",le=\"2.5\"} 3\n"
        "t_h_bucket{p=\"x\",le=\"10\"} 4\n"
        "t_h_bucket{p=\"x\",le=\"+Inf\"} 5\n"
        "t_h_sum{p=\"x\"} 106.5\n"
        "t_h_count{p=\"x\"} 5\n"
        "t_h_bucket{le=\"1\"} 0\n"
        "t_h_bucket{le=\"2.5\"} 0\n"
        "t_h_bucket{le=\"10\"} 1\n"
        "t_h_bucket{le=\"+Inf\"} 1\n"
        "t_h_sum 7\n"
        "t_h_count 1\n"
        "# HELP tandem_build_info ";

    td_self_reset();
    h = td_self_histogram("t_h", "Items per batch.", "p=\"x\"", bounds, 3);
    bare = td_self_histogram("t_h", "ignored", "", bounds, 3);
    TT_CHECK(h != NULL && bare != NULL && h != bare);
    TT_CHECK(td_self_histogram("t_h", "h", "p=\"x\"", bounds, 3) == h);
    for (size_t i = 0; i < TD_ARRAY_SIZE(obs); i++) {
        td_histogram_observe(h, obs[i]);
    }
    td_histogram_observe(bare, 7);
    TT_CHECK_INT(td_histogram_count(h), 5);
    TT_CHECK(td_histogram_sum(h) == 106.5);

    text = test_render();
    TT_CHECK(strncmp(text, expect, strlen(expect)) == 0);
    if (strncmp(text, expect, strlen(expect)) != 0) {
        fprintf(stderr, "rendered:\n%s\n", text);
    }
    free(text);
    td_self_reset();
}

static void
test_histogram_rejects(void)
{
    static const double ok[] = {1, 2};
    static const double unsorted[] = {2, 1};
    static const double same[] = {1, 1};
    double bad[] = {1, NAN};
    td_histogram *h;

    td_self_reset();
    td_log_set_level(TD_LOG_ERROR);
    TT_CHECK(td_self_histogram("t_x_bucket", "h", "", ok, 2) == NULL);
    TT_CHECK(td_self_histogram("t_x_sum", "h", "", ok, 2) == NULL);
    TT_CHECK(td_self_histogram("t_x_count", "h", "", ok, 2) == NULL);
    TT_CHECK(td_self_histogram("t_x_total", "h", "", ok, 2) == NULL);
    TT_CHECK(td_self_histogram("t-x", "h", "", ok, 2) == NULL);
    TT_CHECK(td_self_histogram("t_x", "h", "", unsorted, 2) == NULL);
    TT_CHECK(td_self_histogram("t_x", "h", "", same, 2) == NULL);
    TT_CHECK(td_self_histogram("t_x", "h", "", bad, 2) == NULL);
    TT_CHECK(td_self_histogram("t_x", "h", "le=\"1\"", ok, 2) == NULL);
    TT_CHECK(td_self_histogram("t_x", "h", "a=\"1\",le=\"1\"", ok, 2)
             == NULL);

    /* A family keeps its bounds and its type. */
    h = td_self_histogram("t_x", "h", "a=\"1\"", ok, 2);
    TT_CHECK(h != NULL);
    TT_CHECK(td_self_histogram("t_x", "h", "a=\"2\"", ok, 1) == NULL);
    TT_CHECK(td_self_gauge("t_x", "h", "") == NULL);
    TT_CHECK(td_self_histogram("t_c_total_h", "h", "", ok, 2) != NULL);
    TT_CHECK(td_self_counter("t_y_total", "h", "") != NULL);
    TT_CHECK(td_self_histogram("t_y", "h", "", ok, 2) != NULL);

    /* No bounds at all: only +Inf. NaN goes to +Inf; NULL is ignored. */
    h = td_self_histogram("t_inf", "h", "", NULL, 0);
    TT_CHECK(h != NULL);
    td_histogram_observe(h, NAN);
    td_histogram_observe(NULL, 1);
    TT_CHECK_INT(td_histogram_count(h), 1);
    TT_CHECK(isnan(td_histogram_sum(h)));
    TT_CHECK_INT(td_histogram_count(NULL), 0);
    td_self_reset();
}

#define HIST_THREADS 4
#define HIST_PER_THREAD 50000

static void *
hist_worker(void *arg)
{
    td_histogram *h = arg;

    for (int i = 0; i < HIST_PER_THREAD; i++) {
        td_histogram_observe(h, (double) (i % 4));
    }
    return NULL;
}

/* Concurrent observations lose no count and no part of the sum. */
static void
test_histogram_concurrent(void)
{
    static const double bounds[] = {0, 1, 2};
    pthread_t th[HIST_THREADS];
    td_histogram *h;
    char *text;

    td_self_reset();
    h = td_self_histogram("t_conc", "h", "", bounds, 3);
    TT_CHECK(h != NULL);
    if (h == NULL) {
        return;
    }
    for (int i = 0; i < HIST_THREADS; i++) {
        TT_CHECK_INT(pthread_create(&th[i], NULL, hist_worker, h), 0);
    }
    for (int i = 0; i < HIST_THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    TT_CHECK_INT(td_histogram_count(h), HIST_THREADS * HIST_PER_THREAD);
    /* Each thread adds 0+1+2+3 per four observations: exact in a double. */
    TT_CHECK(td_histogram_sum(h)
             == (double) HIST_THREADS * HIST_PER_THREAD / 4 * 6);
    text = test_render();
    TT_CHECK(strstr(text, "t_conc_bucket{le=\"0\"} 50000\n") != NULL);
    TT_CHECK(strstr(text, "t_conc_bucket{le=\"2\"} 150000\n") != NULL);
    TT_CHECK(strstr(text, "t_conc_bucket{le=\"+Inf\"} 200000\n") != NULL);
    free(text);
    td_self_reset();
}

static const tt_case cases[] = {
    {"render_exact", test_render_exact},
    {"same_series_and_conflicts", test_same_series_and_conflicts},
    {"sorted_families", test_sorted_families},
    {"labels", test_labels},
    {"process_metrics", test_process_metrics},
    {"promtool_accepts", test_promtool_accepts},
    {"histogram_render", test_histogram_render},
    {"histogram_rejects", test_histogram_rejects},
    {"histogram_concurrent", test_histogram_concurrent},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
