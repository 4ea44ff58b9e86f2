/*
 * buf.c - growable byte buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "td.h"

int
td_buf_reserve(td_buf *b, size_t n)
{
    size_t want, cap;
    char *p;

    if (b->len + n + 1 <= b->cap) {
        return TD_OK;
    }
    want = b->len + n + 1;
    cap = b->cap ? b->cap : 256;
    while (cap < want) {
        cap *= 2;
    }
    p = realloc(b->data, cap);
    if (p == NULL) {
        return TD_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return TD_OK;
}

int
td_buf_append(td_buf *b, const void *data, size_t len)
{
    if (td_buf_reserve(b, len) != TD_OK) {
        return TD_ENOMEM;
    }
    if (len > 0) {
        memcpy(b->data + b->len, data, len);
    }
    b->len += len;
    b->data[b->len] = '\0';
    return TD_OK;
}

int
td_buf_putc(td_buf *b, char c)
{
    return td_buf_append(b, &c, 1);
}

int
td_buf_puts(td_buf *b, const char *s)
{
    return td_buf_append(b, s, strlen(s));
}

int
td_buf_vprintf(td_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0 || td_buf_reserve(b, (size_t) n) != TD_OK) {
        return TD_ENOMEM;
    }
    vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
    b->len += (size_t) n;
    return TD_OK;
}

int
td_buf_printf(td_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = td_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/*
 * JSON string escaping (RFC 8259 section 7): quote, backslash and control
 * characters are escaped; everything else, UTF-8 included, passes as is.
 */
int
td_buf_json_str(td_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char *o;

    /* Worst case every byte becomes \u00XX. */
    if (td_buf_reserve(b, len * 6 + 2) != TD_OK) {
        return TD_ENOMEM;
    }
    o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];

        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char) c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 0xf];
        }
    }
    *o++ = '"';
    b->len = (size_t) (o - b->data);
    b->data[b->len] = '\0';
    return TD_OK;
}

void
td_buf_clear(td_buf *b)
{
    b->len = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

void
td_buf_free(td_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
