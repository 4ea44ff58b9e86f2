/*
 * test_selfmetrics.c - the own-metrics registry: exact rendering, label
 * escaping, process metrics, and the output checked by promtool from
 * Prometheus (a missing promtool fails the test).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
    text = test_render();
    TT_CHECK_INT(test_promtool(text), 0);
    free(text);

    /* The check can fail: promtool rejects a broken exposition. */
    TT_CHECK(test_promtool("# TYPE x_total counter\nx_total{a=\"} 1\n")
             != 0);
    td_self_reset();
}

static const tt_case cases[] = {
    {"render_exact", test_render_exact},
    {"same_series_and_conflicts", test_same_series_and_conflicts},
    {"sorted_families", test_sorted_families},
    {"labels", test_labels},
    {"process_metrics", test_process_metrics},
    {"promtool_accepts", test_promtool_accepts},
    {NULL, NULL}
};

int
main(int argc, char **argv)
{
    return tt_run(cases, argc, argv);
}
