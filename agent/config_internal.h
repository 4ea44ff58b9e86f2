/*
 * config_internal.h - what the parts of the config loader share:
 * config_yaml.c (YAML to node tree, merge, --set, ${} expansion),
 * config_keys.c (key tables to structs, durations, td_cfg_diag) and
 * config.c (sections, components, service, pipelines).
 *
 * Nothing here is a contract for the rest of tandem, except
 * td_config_load_ext(), which tests use to load configs with component
 * types that are not in the registry. Main thread only.
 */
#ifndef TD_CONFIG_INTERNAL_H
#define TD_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "component.h"
#include "config.h"

/* Deepest nesting of maps and sequences a config may have. */
#define TD_CFG_MAX_DEPTH 64
/* Most nodes one load may build, aliases copied; stops alias bombs. */
#define TD_CFG_MAX_NODES 100000
/*
 * Most bytes of scalar text one load may hold, aliases copied: an alias
 * of one long string repeated stays under the node budget but not this.
 */
#define TD_CFG_MAX_BYTES (64u << 20)
/* Most parts of one --set key ("a::b::c" has three). */
#define TD_CFG_MAX_SET_PARTS 32
/* Errors (and, apart, warnings) written before the rest are counted. */
#define TD_CFG_MAX_MSGS 200
/* Largest config file read. */
#define TD_CFG_MAX_FILE (16u << 20)

typedef enum td_cfg_node_kind {
    TD_CFG_NODE_SCALAR = 0,
    TD_CFG_NODE_MAP,
    TD_CFG_NODE_SEQ
} td_cfg_node_kind;

/*
 * One node of a parsed document. file points at a string that outlives
 * the load (the source's name or a literal). Positions are 1-based.
 * Scalars: str is NUL-terminated (len bytes, no NUL inside), is_null for
 * plain "", "~" and "null"; bad when an error about the scalar itself was
 * reported (a NUL inside, a malformed ${...}), so that no second message
 * about the same value follows. Maps: keys[i] (scalars) and vals[i]; the
 * hash index (slots, 0 = empty, else index + 1) exists once a map has
 * many keys. Sequences: vals[i]. Each node owns its children.
 */
typedef struct td_cfg_node td_cfg_node;
struct td_cfg_node {
    td_cfg_node_kind kind;
    const char *file;
    int line, col;
    int end_line, end_col;      /* scalars: where the text ends */
    bool quoted;                /* scalar written in quotes or a block */
    bool is_null;
    bool flow;                  /* collection written as [..] or {..} */
    bool bad;                   /* already reported; see above */
    char *str;
    size_t len;
    td_cfg_node **keys;
    td_cfg_node **vals;
    size_t n, cap;
    uint32_t *slots;
    size_t n_slots;
};

typedef struct td_cfg_loader {
    td_buf *msgs;
    int n_errors;
    int n_warnings;
    int n_msgs[2];              /* warnings, errors written */
    bool nomem;
    bool over_nodes;            /* TD_CFG_MAX_NODES was reached */
    bool over_bytes;            /* TD_CFG_MAX_BYTES was reached */
    size_t n_nodes;             /* live nodes */
    size_t n_bytes;             /* live scalar text */
    const td_component_desc *const *extra;
    size_t n_extra;
} td_cfg_loader;

struct td_cfg_diag {
    td_cfg_loader *ld;
    const td_cfg_node *block;   /* the block's value, or NULL */
    const td_cfg_node *at;      /* where the block's id was written */
    const char *what;           /* "receiver \"tcplog\"" */
    int n_errors;
};

/* ---- messages (config.c) ---- */

void td_cfg_msg(td_cfg_loader *ld, bool error, const char *file, int line,
                int col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void td_cfg_vmsg(td_cfg_loader *ld, bool error, const char *file,
                 int line, int col, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));
#define td_cfg_node_error(ld, node, ...)                               \
    td_cfg_msg((ld), true, (node)->file, (node)->line, (node)->col,     \
               __VA_ARGS__)
#define td_cfg_node_warn(ld, node, ...)                                \
    td_cfg_msg((ld), false, (node)->file, (node)->line, (node)->col,    \
               __VA_ARGS__)

/*
 * True once TD_CFG_MAX_MSGS errors were written: later ones are only
 * counted, so callers may skip work that only feeds an error message
 * (such as looking for a suggestion).
 */
bool td_cfg_quiet(const td_cfg_loader *ld);

/*
 * Writes s double-quoted into buf (len bytes, at least 16) for a
 * message: quotes, backslashes and control characters escaped, long
 * values cut with "...". Returns buf.
 */
const char *td_cfg_quote(const char *s, char *buf, size_t len);

/* ---- node tree (config_yaml.c) ---- */

td_cfg_node *td_cfg_node_new(td_cfg_loader *ld, td_cfg_node_kind kind,
                             const char *file, int line, int col);
/* Frees n and its children and gives them back to the node budget. */
void td_cfg_node_free(td_cfg_loader *ld, td_cfg_node *n);

/* Appends a pair to a map or (key NULL) an item to a sequence. */
int td_cfg_node_add(td_cfg_loader *ld, td_cfg_node *coll, td_cfg_node *key,
                    td_cfg_node *val);

/* Index of key in a map, or -1. */
long td_cfg_node_find(const td_cfg_node *map, const char *key, size_t len);

/* The value under key in a map (NULL when absent or not a map). */
const td_cfg_node *td_cfg_node_get(const td_cfg_node *map, const char *key);

/*
 * Parses one YAML document into *root (NULL for an empty document).
 * col_off is added to the columns of line 1 (for --set values).
 * Errors go to the loader; returns 0, TD_EINVAL or TD_ENOMEM.
 */
int td_cfg_yaml_parse(td_cfg_loader *ld, const char *file, const char *text,
                      size_t len, int col_off, td_cfg_node **root);

/* Merges src into dst (both maps), taking src's nodes; src is freed. */
void td_cfg_yaml_merge(td_cfg_loader *ld, td_cfg_node *dst,
                       td_cfg_node *src);

/*
 * Applies one --set argument to root (a map). Returns 0, or TD_EINVAL
 * (reported) or TD_ENOMEM when nothing was applied.
 */
int td_cfg_yaml_set(td_cfg_loader *ld, td_cfg_node *root, const char *arg);

/* Expands ${...} and $$ in every scalar value below node. */
void td_cfg_yaml_expand(td_cfg_loader *ld, td_cfg_node *node);

/* "a map", "a list", "a string", "nothing": for messages. */
const char *td_cfg_node_what(const td_cfg_node *n);

/* ---- key tables (config_keys.c) ---- */

/*
 * Parses a block (a map or NULL) through keys into cfg and, when keys2
 * is not NULL, through keys2 into cfg2; a key is unknown only when it is
 * in neither. extra names keys the caller handles itself (skipped here).
 * where is "receiver \"tcplog\"" or "service"; dotted says whether
 * section paths are joined to where with "." (service.telemetry) or
 * named as a section. Defaults must already be applied. Returns the
 * number of errors reported.
 */
int td_cfg_parse_block(td_cfg_loader *ld, const td_cfg_node *block,
                       const td_cfg_key *keys, void *cfg,
                       const td_cfg_key *keys2, void *cfg2,
                       const char *const *extra, const char *where,
                       bool dotted);

/* Checks TD_CFG_REQUIRED keys; reports at `at`. Returns errors found. */
int td_cfg_check_required(td_cfg_loader *ld, const td_cfg_node *block,
                          const td_cfg_node *at, const td_cfg_key *keys,
                          const char *where);

/* Levenshtein distance, capped: strings over 64 bytes give a large value. */
size_t td_cfg_distance(const char *a, const char *b);

/* The closest of names to s when it is close enough, else NULL. */
const char *td_cfg_suggest(const char *s, const char *const *names,
                           size_t n);

/* Writes ms as a Go-style duration ("1m30s", "200ms", "0s"). */
void td_cfg_fmt_duration(int64_t ms, char *buf, size_t len);

/*
 * td_config_load with extra component types looked up before the
 * registry (tests use it for fake components).
 */
int td_config_load_ext(const td_config_source *srcs, size_t n_srcs,
                       const char *const *sets, size_t n_sets,
                       const td_component_desc *const *extra,
                       size_t n_extra, td_config **out, td_buf *msgs);

#endif
