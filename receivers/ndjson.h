/*
 * ndjson.h - newline-delimited JSON logs: framing a byte stream into
 * lines, and mapping each line to an OTLP log record.
 *
 * Both halves are pure (no sockets, no threads of their own) so that unit
 * tests and the fuzz target drive them directly; the tcplog receiver
 * (tcplog.c) feeds them from its sockets. docs/TCPLOG.md states the
 * mapping rules for users.
 *
 * Threads: a framer belongs to one connection, a builder to one thread;
 * neither is shared. The builder's scratch arena is installed for cJSON
 * on the calling thread only while a line is mapped.
 */
#ifndef TD_NDJSON_H
#define TD_NDJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "component.h"
#include "telemetry.h"

/* ---- framing ---- */

typedef struct td_ndjson_framer {
    char *buf;          /* the partial line so far, malloc'd */
    size_t len;         /* bytes kept in buf, at most max */
    size_t cap;
    size_t max;         /* max_log_size: bytes kept of one line */
    uint64_t orig;      /* bytes of the partial line seen, kept or not */
    bool cr;            /* the last byte seen of the partial line is \r */
    bool emitted;       /* buf holds a line handed out by the last call */
} td_ndjson_framer;

/*
 * One complete line, without its line end: "\n" or "\r\n" (a \r just
 * before the \n is part of the line end, is not counted in orig_len and
 * does not count against max; a \r elsewhere is content).
 */
typedef struct td_ndjson_line {
    const char *ptr;    /* valid until the next call on the framer */
    size_t len;         /* bytes kept: at most max_log_size */
    uint64_t orig_len;  /* bytes the sender wrote for the line */
    bool truncated;     /* orig_len > len: the rest was discarded */
} td_ndjson_line;

/* Sets up an empty framer that keeps at most max bytes (>= 1) per line. */
void td_ndjson_framer_init(td_ndjson_framer *fr, size_t max);

/* Frees the partial-line buffer; the framer may be initialized again. */
void td_ndjson_framer_free(td_ndjson_framer *fr);

/*
 * Consumes bytes of data[0, len) up to and including the first newline.
 * Returns 1 with *line set when a line is complete, 0 when every byte was
 * consumed into the partial line (no line yet), TD_ENOMEM when growing
 * the partial-line buffer failed (nothing consumed). *used receives the
 * bytes consumed. Call again with data + *used until it returns 0. A
 * line may point into data (no copy) or into the framer's buffer.
 * Bytes of an over-long line past max are counted and dropped, so the
 * framer never holds more than max bytes.
 */
int td_ndjson_frame(td_ndjson_framer *fr, const char *data, size_t len,
                    size_t *used, td_ndjson_line *line);

/*
 * At end of stream: hands out the partial line (a final line without a
 * newline is still a line; a \r that ends it is dropped as in "\r\n").
 * Returns 1 with *line set, or 0 when nothing was pending.
 */
int td_ndjson_flush(td_ndjson_framer *fr, td_ndjson_line *line);

/* True when a partial line is buffered (bytes seen since the last one). */
static inline bool
td_ndjson_pending(const td_ndjson_framer *fr)
{
    return fr->orig > 0 && !fr->emitted;
}

/* ---- mapping ---- */

typedef struct td_ndjson_opts {
    bool parse_json;                    /* parse: json (else none) */
    const td_cfg_strmap *resource;      /* added to every resource */
    const td_cfg_strmap *attributes;    /* added to every record */
} td_ndjson_opts;

typedef struct td_ndjson_group {
    td_str service;                     /* in the batch; NULL ptr: none */
    td_scope_group *sg;
} td_ndjson_group;

/*
 * Builds log records into one batch at a time. The fields are private
 * to ndjson.c; they are here so that a builder can live on the stack.
 */
typedef struct td_ndjson_builder {
    td_ndjson_opts opts;
    td_arena *scratch;                  /* cJSON trees, reset per line */
    td_batch *b;
    td_ndjson_group *groups;            /* malloc'd, one per service */
    size_t n_groups;
    size_t cap_groups;
    const char *peer_addr;
    td_str peer_str;                    /* peer_addr in the batch, lazily */
    int peer_port;
    uint64_t now_ns;
    /* Per line. */
    const char *text;                   /* the line as cJSON saw it */
    size_t text_len;
    size_t num_pos;                     /* next number token to match */
    bool bad_utf8;
    bool line_utf8;                     /* the whole line is valid UTF-8 */
    char err[256];
    size_t err_len;
} td_ndjson_builder;

/*
 * Sets up a builder; opts (and the maps it points to) must outlive it.
 * Returns 0 or TD_ENOMEM. Calls td_cjson_arena_init(), so the first call
 * belongs on the main thread.
 */
int td_ndjson_builder_init(td_ndjson_builder *bld,
                           const td_ndjson_opts *opts);

void td_ndjson_builder_free(td_ndjson_builder *bld);

/*
 * Starts filling batch b (a logs batch; the caller keeps its reference)
 * with records from one peer: peer_addr (NUL-terminated, without
 * brackets) and peer_port become network.peer.address and
 * network.peer.port; a NULL peer_addr adds neither. now_ns is the
 * observed time of the records.
 */
void td_ndjson_builder_begin(td_ndjson_builder *bld, td_batch *b,
                             const char *peer_addr, int peer_port,
                             uint64_t now_ns);

/*
 * Maps one line to one log record appended to the batch. Returns 1 when
 * a record was added, 0 when the line was blank (nothing, or only
 * spaces, tabs and \r) and not truncated, and was skipped; TD_ENOMEM
 * when the batch could not grow (the batch may hold a partial record
 * and should be dropped).
 */
int td_ndjson_map(td_ndjson_builder *bld, const td_ndjson_line *line);

/*
 * Why the line last given to td_ndjson_map() was not fully parsed (the
 * text of its tandem.parse_error), or NULL when it was. Valid until the
 * next td_ndjson_map() call.
 */
static inline const char *
td_ndjson_line_error(const td_ndjson_builder *bld)
{
    return bld->err_len > 0 ? bld->err : NULL;
}

/* ---- helpers, exported for tests ---- */

/*
 * Parses an RFC 3339 date-time ("2024-05-01T12:00:00.123456789Z", a
 * space instead of T, any fraction up to nanoseconds, Z or +hh:mm; no
 * offset means UTC) into Unix nanoseconds. 0 or TD_EINVAL.
 */
int td_ndjson_parse_rfc3339(const char *s, size_t len, uint64_t *ns);

/*
 * Parses decimal epoch text ("1714564800", "1714564800123.5") guessing
 * the unit from the integer part: < 1e11 seconds, < 1e14 milliseconds,
 * < 1e17 microseconds, else nanoseconds. 0 or TD_EINVAL.
 */
int td_ndjson_parse_epoch(const char *s, size_t len, uint64_t *ns);

/*
 * Maps a level name (case-insensitive) or number text to an OTLP
 * SeverityNumber; 0 when unknown.
 */
int td_ndjson_severity(const char *s, size_t len);

/* True when s[0, len) is valid UTF-8. */
bool td_ndjson_utf8_valid(const char *s, size_t len);

#endif
