/*
 * tt.h - tandem's tiny unit test harness.
 *
 * A test program lists its cases in one table and calls tt_run():
 *
 *     static void test_arena_grows(void) { TT_CHECK(x == 1); }
 *     static const tt_case cases[] = {
 *         {"arena_grows", test_arena_grows},
 *         {NULL, NULL}
 *     };
 *     int main(int argc, char **argv) { return tt_run(cases, argc, argv); }
 *
 * A failed check prints file:line and the expression (or both strings) and
 * marks the case failed; the case goes on. `prog NAME` runs one case. The
 * exit code is 0 only when every check held and at least one case ran.
 */
#ifndef TT_H
#define TT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct tt_case {
    const char *name;
    void (*fn)(void);
} tt_case;

static int tt_failed_checks;
static int tt_checks;

#define TT_CHECK(cond)                                                   \
    do {                                                                 \
        tt_checks++;                                                     \
        if (!(cond)) {                                                   \
            tt_failed_checks++;                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,       \
                    __LINE__, #cond);                                    \
        }                                                                \
    } while (0)

#define TT_CHECK_INT(a, b)                                               \
    do {                                                                 \
        long long tt_a_ = (long long) (a), tt_b_ = (long long) (b);      \
        tt_checks++;                                                     \
        if (tt_a_ != tt_b_) {                                            \
            tt_failed_checks++;                                          \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n",        \
                    __FILE__, __LINE__, #a, tt_a_, tt_b_);               \
        }                                                                \
    } while (0)

#define TT_CHECK_STR(a, b)                                               \
    do {                                                                 \
        const char *tt_a_ = (a), *tt_b_ = (b);                           \
        tt_checks++;                                                     \
        if (tt_a_ == NULL || tt_b_ == NULL || strcmp(tt_a_, tt_b_)) {    \
            tt_failed_checks++;                                          \
            fprintf(stderr, "%s:%d: %s\n  got:      \"%s\"\n"            \
                    "  expected: \"%s\"\n", __FILE__, __LINE__, #a,      \
                    tt_a_ ? tt_a_ : "(null)", tt_b_ ? tt_b_ : "(null)"); \
        }                                                                \
    } while (0)

/* Compares a (ptr, len) string with a C string. */
#define TT_CHECK_MEM(ptr, len, b)                                        \
    do {                                                                 \
        const char *tt_b_ = (b);                                         \
        size_t tt_l_ = (size_t) (len);                                   \
        tt_checks++;                                                     \
        if (tt_l_ != strlen(tt_b_) || memcmp((ptr), tt_b_, tt_l_)) {     \
            tt_failed_checks++;                                          \
            fprintf(stderr, "%s:%d: %s\n  got:      \"%.*s\"\n"          \
                    "  expected: \"%s\"\n", __FILE__, __LINE__, #ptr,    \
                    (int) tt_l_, (const char *) (ptr), tt_b_);           \
        }                                                                \
    } while (0)

/*
 * Stderr capture, for checking log lines: tt_capture_begin() points fd 2
 * at a fresh temporary file, tt_capture_end() restores it and returns
 * everything written meanwhile (malloc'd, NUL-terminated; "" when the
 * capture could not be set up, NULL only without memory).
 */
typedef struct tt_capture {
    FILE *tmp;
    int saved;
} tt_capture;

static inline void
tt_capture_begin(tt_capture *c)
{
    fflush(stderr);
    c->tmp = tmpfile();
    c->saved = dup(STDERR_FILENO);
    TT_CHECK(c->tmp != NULL && c->saved >= 0);
    if (c->tmp != NULL && c->saved >= 0) {
        TT_CHECK(dup2(fileno(c->tmp), STDERR_FILENO) == STDERR_FILENO);
    }
}

static inline char *
tt_capture_end(tt_capture *c)
{
    char *text;
    off_t len;

    fflush(stderr);
    if (c->saved >= 0) {
        dup2(c->saved, STDERR_FILENO);
        close(c->saved);
    }
    if (c->tmp == NULL) {
        return calloc(1, 1);
    }
    len = lseek(fileno(c->tmp), 0, SEEK_END);
    text = calloc(1, len > 0 ? (size_t) len + 1 : 1);
    if (text != NULL && len > 0
        && pread(fileno(c->tmp), text, (size_t) len, 0) != len) {
        text[0] = '\0';
    }
    fclose(c->tmp);
    return text;
}

static int
tt_run(const tt_case *cases, int argc, char **argv)
{
    int ran = 0, failed = 0;

    for (const tt_case *c = cases; c->name != NULL; c++) {
        int before = tt_failed_checks;

        if (argc > 1 && strcmp(argv[1], c->name) != 0) {
            continue;
        }
        c->fn();
        ran++;
        if (tt_failed_checks != before) {
            failed++;
            fprintf(stderr, "FAIL %s\n", c->name);
        } else {
            fprintf(stderr, "ok   %s\n", c->name);
        }
    }
    fprintf(stderr, "%d cases, %d failed, %d checks\n", ran, failed,
            tt_checks);
    return ran > 0 && failed == 0 ? 0 : 1;
}

#endif
