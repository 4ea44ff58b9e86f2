/*
 * buf.h - a growable byte buffer for encoders and renderers.
 *
 * The buffer owns data (malloc'd); td_buf_free() releases it. Appends
 * return 0 or TD_ENOMEM; after a failed append the buffer keeps what it
 * had and stays usable. Not thread-safe: one owner at a time.
 */
#ifndef TD_BUF_H
#define TD_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct td_buf {
    char *data;     /* NUL-terminated when len > 0 or after any append */
    size_t len;
    size_t cap;
} td_buf;

#define TD_BUF_INIT {NULL, 0, 0}

/* Makes room for n more bytes. */
int td_buf_reserve(td_buf *b, size_t n);
int td_buf_append(td_buf *b, const void *data, size_t len);
int td_buf_putc(td_buf *b, char c);
int td_buf_puts(td_buf *b, const char *s);
int td_buf_printf(td_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int td_buf_vprintf(td_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Appends s (len bytes) as a JSON string with quotes and escapes. */
int td_buf_json_str(td_buf *b, const char *s, size_t len);

/* Empties the buffer, keeping its memory. */
void td_buf_clear(td_buf *b);
void td_buf_free(td_buf *b);

#endif
