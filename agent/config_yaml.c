/*
 * config_yaml.c - YAML text to tandem's config node tree, merging of
 * several sources, --set overrides and ${...} expansion.
 *
 * libyaml's event parser does the YAML; this file builds its own small
 * tree on top because the loader needs things libyaml's document API does
 * not give: the file name on every node (sources merge), duplicate keys
 * as errors, aliases copied under a node budget (an alias bomb is an
 * error, not an out-of-memory), YAML merge keys ("<<"), and a hash index
 * so that maps with many keys stay linear to load.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config_internal.h"

/* Maps with at least this many keys get a hash index. */
#define TD_CFG_INDEX_MIN 16

typedef struct td_cfg_anchor {
    char *name;
    td_cfg_node *node;
} td_cfg_anchor;

typedef struct td_cfg_yaml {
    td_cfg_loader *ld;
    yaml_parser_t parser;
    const char *file;
    const char *text;
    size_t len;
    int col_off;
    size_t last_line;           /* libyaml's 0-based line of the end */
    size_t last_col;            /* and its 0-based column there */
    td_cfg_anchor *anchors;
    size_t n_anchors, cap_anchors;
    /* Nodes dropped while parsing (duplicates); anchors may point in. */
    td_cfg_node **orphans;
    size_t n_orphans, cap_orphans;
    bool fatal;
} td_cfg_yaml;

static const char td_cfg_set_file[] = "--set";

td_cfg_node *
td_cfg_node_new(td_cfg_loader *ld, td_cfg_node_kind kind, const char *file,
                int line, int col)
{
    td_cfg_node *n;

    if (ld->n_nodes >= TD_CFG_MAX_NODES) {
        ld->over_nodes = true;
        return NULL;
    }
    n = calloc(1, sizeof(*n));
    if (n == NULL) {
        ld->nomem = true;
        return NULL;
    }
    ld->n_nodes++;
    n->kind = kind;
    n->file = file;
    n->line = n->end_line = line;
    n->col = n->end_col = col;
    return n;
}

/*
 * Frees a node and its children and adds up how many nodes and bytes of
 * scalar text that was: the budgets count what is live, and nodes do not
 * point at their loader. Recursion is bounded by TD_CFG_MAX_DEPTH.
 */
static void
td_cfg_yaml_free_count(td_cfg_node *n, size_t *nodes, size_t *bytes)
{
    if (n == NULL) {
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys != NULL) {
            td_cfg_yaml_free_count(n->keys[i], nodes, bytes);
        }
        td_cfg_yaml_free_count(n->vals[i], nodes, bytes);
    }
    (*nodes)++;
    *bytes += n->str != NULL ? n->len : 0;
    free(n->keys);
    free(n->vals);
    free(n->slots);
    free(n->str);
    free(n);
}

void
td_cfg_node_free(td_cfg_loader *ld, td_cfg_node *n)
{
    size_t nodes = 0, bytes = 0;

    td_cfg_yaml_free_count(n, &nodes, &bytes);
    ld->n_nodes = nodes > ld->n_nodes ? 0 : ld->n_nodes - nodes;
    ld->n_bytes = bytes > ld->n_bytes ? 0 : ld->n_bytes - bytes;
}

const char *
td_cfg_node_what(const td_cfg_node *n)
{
    if (n == NULL || (n->kind == TD_CFG_NODE_SCALAR && n->is_null)) {
        return "nothing";
    }
    switch (n->kind) {
    case TD_CFG_NODE_MAP:
        return "a map";
    case TD_CFG_NODE_SEQ:
        return "a list";
    default:
        return "a single value";
    }
}

/* FNV-1a: keys are short and trusted to be unremarkable. */
static uint32_t
td_cfg_yaml_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char) s[i]) * 16777619u;
    }
    return h;
}

static int
td_cfg_yaml_reindex(td_cfg_node *map, size_t want)
{
    size_t n_slots = 64;
    uint32_t *slots;

    while (n_slots < want * 2) {
        n_slots *= 2;
    }
    slots = calloc(n_slots, sizeof(*slots));
    if (slots == NULL) {
        return TD_ENOMEM;
    }
    for (size_t i = 0; i < map->n; i++) {
        const td_cfg_node *k = map->keys[i];
        size_t h = td_cfg_yaml_hash(k->str, k->len) & (n_slots - 1);

        while (slots[h] != 0) {
            h = (h + 1) & (n_slots - 1);
        }
        slots[h] = (uint32_t) (i + 1);
    }
    free(map->slots);
    map->slots = slots;
    map->n_slots = n_slots;
    return TD_OK;
}

long
td_cfg_node_find(const td_cfg_node *map, const char *key, size_t len)
{
    if (map == NULL || map->kind != TD_CFG_NODE_MAP) {
        return -1;
    }
    if (map->slots != NULL) {
        size_t h = td_cfg_yaml_hash(key, len) & (map->n_slots - 1);

        for (; map->slots[h] != 0; h = (h + 1) & (map->n_slots - 1)) {
            const td_cfg_node *k = map->keys[map->slots[h] - 1];

            if (k->len == len && memcmp(k->str, key, len) == 0) {
                return (long) map->slots[h] - 1;
            }
        }
        return -1;
    }
    for (size_t i = 0; i < map->n; i++) {
        const td_cfg_node *k = map->keys[i];

        if (k->len == len && memcmp(k->str, key, len) == 0) {
            return (long) i;
        }
    }
    return -1;
}

const td_cfg_node *
td_cfg_node_get(const td_cfg_node *map, const char *key)
{
    long i = td_cfg_node_find(map, key, strlen(key));

    return i < 0 ? NULL : map->vals[i];
}

int
td_cfg_node_add(td_cfg_loader *ld, td_cfg_node *coll, td_cfg_node *key,
                td_cfg_node *val)
{
    if (coll->n == coll->cap) {
        size_t cap = coll->cap ? coll->cap * 2 : 4;
        td_cfg_node **vals = realloc(coll->vals, cap * sizeof(*vals));

        if (vals == NULL) {
            ld->nomem = true;
            return TD_ENOMEM;
        }
        coll->vals = vals;
        if (coll->kind == TD_CFG_NODE_MAP) {
            td_cfg_node **keys = realloc(coll->keys, cap * sizeof(*keys));

            if (keys == NULL) {
                ld->nomem = true;
                return TD_ENOMEM;
            }
            coll->keys = keys;
        }
        coll->cap = cap;
    }
    if (coll->kind == TD_CFG_NODE_MAP) {
        coll->keys[coll->n] = key;
    }
    coll->vals[coll->n++] = val;
    if (coll->kind != TD_CFG_NODE_MAP || key == NULL
        || coll->n < TD_CFG_INDEX_MIN) {
        return TD_OK;
    }
    if (coll->slots == NULL || coll->n * 2 > coll->n_slots) {
        if (td_cfg_yaml_reindex(coll, coll->n) != TD_OK) {
            ld->nomem = true;
            coll->n--;
            return TD_ENOMEM;
        }
        return TD_OK;
    }
    {
        size_t h = td_cfg_yaml_hash(key->str, key->len)
                   & (coll->n_slots - 1);

        while (coll->slots[h] != 0) {
            h = (h + 1) & (coll->n_slots - 1);
        }
        coll->slots[h] = (uint32_t) coll->n;
    }
    return TD_OK;
}

/*
 * Makes a scalar node holding a copy of s (len bytes). NULL when out of
 * memory or past a budget (the loader's flags say which).
 */
static td_cfg_node *
td_cfg_yaml_scalar(td_cfg_loader *ld, const char *file, int line, int col,
                   const char *s, size_t len)
{
    td_cfg_node *n;

    if (len > TD_CFG_MAX_BYTES - ld->n_bytes) {
        ld->over_bytes = true;
        return NULL;
    }
    n = td_cfg_node_new(ld, TD_CFG_NODE_SCALAR, file, line, col);
    if (n == NULL) {
        return NULL;
    }
    n->str = malloc(len + 1);
    if (n->str == NULL) {
        ld->nomem = true;
        td_cfg_node_free(ld, n);
        return NULL;
    }
    memcpy(n->str, s, len);
    n->str[len] = '\0';
    n->len = len;
    ld->n_bytes += len;
    return n;
}

/*
 * Deep copy for aliases and merge keys. depth is where the copy goes;
 * the copy may not take the tree past TD_CFG_MAX_DEPTH. NULL when out of
 * memory, out of node budget or too deep (the caller reports which).
 */
static td_cfg_node *
td_cfg_yaml_copy(td_cfg_loader *ld, const td_cfg_node *src, int depth)
{
    td_cfg_node *n;

    if (depth > TD_CFG_MAX_DEPTH) {
        return NULL;
    }
    if (src->kind == TD_CFG_NODE_SCALAR) {
        n = td_cfg_yaml_scalar(ld, src->file, src->line, src->col, src->str,
                               src->len);
        if (n != NULL) {
            n->end_line = src->end_line;
            n->end_col = src->end_col;
            n->quoted = src->quoted;
            n->is_null = src->is_null;
            n->bad = src->bad;
        }
        return n;
    }
    n = td_cfg_node_new(ld, src->kind, src->file, src->line, src->col);
    if (n == NULL) {
        return NULL;
    }
    n->flow = src->flow;
    for (size_t i = 0; i < src->n; i++) {
        td_cfg_node *k = NULL, *v;

        if (src->keys != NULL
            && (k = td_cfg_yaml_copy(ld, src->keys[i], depth + 1)) == NULL) {
            td_cfg_node_free(ld, n);
            return NULL;
        }
        v = td_cfg_yaml_copy(ld, src->vals[i], depth + 1);
        if (v == NULL || td_cfg_node_add(ld, n, k, v) != TD_OK) {
            td_cfg_node_free(ld, k);
            td_cfg_node_free(ld, v);
            td_cfg_node_free(ld, n);
            return NULL;
        }
    }
    return n;
}

/* ---- parsing ---- */

/*
 * Finds where the text ends the way libyaml counts lines (LF, CR, CRLF,
 * NEL, LS, PS) and columns (characters), so that an error at the end of
 * a text without a final line break is reported on its last line rather
 * than on a line that does not exist.
 */
static void
td_cfg_yaml_find_end(td_cfg_yaml *y)
{
    const unsigned char *t = (const unsigned char *) y->text;
    size_t i = 0;

    while (i < y->len) {
        size_t brk = 0;

        if (t[i] == '\n') {
            brk = 1;
        } else if (t[i] == '\r') {
            brk = i + 1 < y->len && t[i + 1] == '\n' ? 2 : 1;
        } else if (t[i] == 0xC2 && i + 1 < y->len && t[i + 1] == 0x85) {
            brk = 2;
        } else if (t[i] == 0xE2 && i + 2 < y->len && t[i + 1] == 0x80
                   && (t[i + 2] == 0xA8 || t[i + 2] == 0xA9)) {
            brk = 3;
        }
        if (brk != 0) {
            y->last_line++;
            y->last_col = 0;
            i += brk;
            continue;
        }
        y->last_col += (t[i] & 0xC0) != 0x80;
        i++;
    }
}

static int
td_cfg_yaml_line(const td_cfg_yaml *y, const yaml_mark_t *m)
{
    size_t line = m->line > y->last_line ? y->last_line : m->line;

    return (int) line + 1;
}

static int
td_cfg_yaml_col(const td_cfg_yaml *y, const yaml_mark_t *m)
{
    size_t col = m->column;
    bool first = m->line == 0;

    if (m->line > y->last_line) {
        col = y->last_col;
        first = y->last_line == 0;
    }
    return (int) col + 1 + (first ? y->col_off : 0);
}

/* Where byte offset off of the text is, for reader errors. */
static void
td_cfg_yaml_offset_pos(const td_cfg_yaml *y, size_t off, int *line,
                       int *col)
{
    *line = 1;
    *col = 1 + y->col_off;
    for (size_t i = 0; i < off && i < y->len; i++) {
        if (y->text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char) y->text[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

/*
 * True when the character at a mark is a tab. libyaml's mark index counts
 * characters, not bytes.
 */
static bool
td_cfg_yaml_tab_at(const td_cfg_yaml *y, const yaml_mark_t *m)
{
    size_t chars = 0;

    for (size_t i = 0; i < y->len; i++) {
        if (((unsigned char) y->text[i] & 0xC0) == 0x80) {
            continue;
        }
        if (chars++ == m->index) {
            return y->text[i] == '\t';
        }
    }
    return false;
}

/*
 * Reports libyaml's error with its position. libyaml's sentences name
 * the problem; two common causes get a hint on what is allowed.
 */
static void
td_cfg_yaml_syntax_error(td_cfg_yaml *y)
{
    const yaml_parser_t *p = &y->parser;
    const char *problem = p->problem ? p->problem : "invalid YAML";
    const char *hint = "";
    int line, col;

    y->fatal = true;
    if (p->error == YAML_MEMORY_ERROR) {
        y->ld->nomem = true;
        return;
    }
    if (p->error == YAML_READER_ERROR) {
        td_cfg_yaml_offset_pos(y, p->problem_offset, &line, &col);
        td_cfg_msg(y->ld, true, y->file, line, col, "%s; a config must be "
                   "UTF-8 text without control characters other than tab "
                   "and line breaks", problem);
        return;
    }
    line = td_cfg_yaml_line(y, &p->problem_mark);
    col = td_cfg_yaml_col(y, &p->problem_mark);
    if (td_cfg_yaml_tab_at(y, &p->problem_mark)) {
        hint = "; YAML does not allow tabs for indentation, use spaces";
    } else if (y->file == td_cfg_set_file) {
        hint = "; to pass the value as text, quote it: KEY='VALUE'";
    } else if (strcmp(problem, "did not find expected key") == 0) {
        hint = "; check the indentation of this line";
    }
    if (p->context == NULL) {
        td_cfg_msg(y->ld, true, y->file, line, col, "%s%s", problem, hint);
        return;
    }
    td_cfg_msg(y->ld, true, y->file, line, col,
               "%s (%s at line %d, column %d)%s", problem, p->context,
               td_cfg_yaml_line(y, &p->context_mark),
               td_cfg_yaml_col(y, &p->context_mark), hint);
}

static int
td_cfg_yaml_next(td_cfg_yaml *y, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&y->parser, ev)) {
        td_cfg_yaml_syntax_error(y);
        return TD_EINVAL;
    }
    return TD_OK;
}

static void
td_cfg_yaml_orphan(td_cfg_yaml *y, td_cfg_node *n)
{
    if (n == NULL) {
        return;
    }
    if (y->n_orphans == y->cap_orphans) {
        size_t cap = y->cap_orphans ? y->cap_orphans * 2 : 8;
        td_cfg_node **o = realloc(y->orphans, cap * sizeof(*o));

        if (o == NULL) {
            /* Freeing now is safe only because the load fails anyway. */
            y->ld->nomem = true;
            y->fatal = true;
            return;
        }
        y->orphans = o;
        y->cap_orphans = cap;
    }
    y->orphans[y->n_orphans++] = n;
}

static int
td_cfg_yaml_anchor(td_cfg_yaml *y, const yaml_char_t *name, td_cfg_node *n)
{
    char *copy;

    if (name == NULL) {
        return TD_OK;
    }
    if (y->n_anchors == y->cap_anchors) {
        size_t cap = y->cap_anchors ? y->cap_anchors * 2 : 8;
        td_cfg_anchor *a = realloc(y->anchors, cap * sizeof(*a));

        if (a == NULL) {
            y->ld->nomem = true;
            return TD_ENOMEM;
        }
        y->anchors = a;
        y->cap_anchors = cap;
    }
    copy = strdup((const char *) name);
    if (copy == NULL) {
        y->ld->nomem = true;
        return TD_ENOMEM;
    }
    y->anchors[y->n_anchors].name = copy;
    y->anchors[y->n_anchors++].node = n;
    return TD_OK;
}

/* Reports why a node could not be made: memory, a budget or depth. */
static void
td_cfg_yaml_no_node(td_cfg_yaml *y, const char *file, int line, int col)
{
    y->fatal = true;
    if (y->ld->nomem) {
        return;
    }
    if (y->ld->over_nodes) {
        td_cfg_msg(y->ld, true, file, line, col,
                   "the configuration grows past %d nodes once aliases "
                   "are expanded; remove the alias chain that multiplies "
                   "it", TD_CFG_MAX_NODES);
        return;
    }
    if (y->ld->over_bytes) {
        td_cfg_msg(y->ld, true, file, line, col,
                   "the configuration grows past %u MiB of text once "
                   "aliases are expanded; remove the aliases that repeat "
                   "long values", TD_CFG_MAX_BYTES >> 20);
        return;
    }
    td_cfg_msg(y->ld, true, file, line, col,
               "maps and lists nest deeper than %d levels",
               TD_CFG_MAX_DEPTH);
}

static td_cfg_node *
td_cfg_yaml_alias(td_cfg_yaml *y, const yaml_event_t *ev, int depth)
{
    const char *name = (const char *) ev->data.alias.anchor;
    int line = td_cfg_yaml_line(y, &ev->start_mark);
    int col = td_cfg_yaml_col(y, &ev->start_mark);
    td_cfg_node *n;

    for (size_t i = y->n_anchors; i-- > 0;) {
        if (strcmp(y->anchors[i].name, name) != 0) {
            continue;
        }
        n = td_cfg_yaml_copy(y->ld, y->anchors[i].node, depth);
        if (n == NULL) {
            td_cfg_yaml_no_node(y, y->file, line, col);
        }
        return n;
    }
    /* libyaml allows only [0-9A-Za-z_-] in names; cut long ones. */
    td_cfg_msg(y->ld, true, y->file, line, col,
               "alias \"*%.64s\" refers to no anchor defined before it; "
               "write \"&%.64s\" on an earlier value, or quote the value "
               "if it is not meant as an alias", name, name);
    y->fatal = true;
    return NULL;
}

static td_cfg_node *
td_cfg_yaml_scalar_ev(td_cfg_yaml *y, const yaml_event_t *ev)
{
    const char *s = (const char *) ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const char *tag = (const char *) ev->data.scalar.tag;
    td_cfg_node *n;

    n = td_cfg_yaml_scalar(y->ld, y->file, td_cfg_yaml_line(y,
                                                            &ev->start_mark),
                           td_cfg_yaml_col(y, &ev->start_mark), s, len);
    if (n == NULL) {
        td_cfg_yaml_no_node(y, y->file, td_cfg_yaml_line(y,
                                                         &ev->start_mark),
                            td_cfg_yaml_col(y, &ev->start_mark));
        return NULL;
    }
    n->end_line = td_cfg_yaml_line(y, &ev->end_mark);
    n->end_col = td_cfg_yaml_col(y, &ev->end_mark);
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE
                || (tag != NULL && strcmp(tag, YAML_STR_TAG) == 0);
    if (!n->quoted) {
        n->is_null = len == 0 || strcmp(n->str, "~") == 0
                     || strcmp(n->str, "null") == 0
                     || strcmp(n->str, "Null") == 0
                     || strcmp(n->str, "NULL") == 0;
    }
    if (memchr(s, '\0', len) != NULL) {
        td_cfg_node_error(y->ld, n, "this text contains a NUL character "
                          "(\\0), which tandem does not accept in a key "
                          "or value; remove it");
        /* Keep the invariant that str holds no NUL within len. */
        n->len = strlen(n->str);
        n->bad = true;
    }
    return n;
}

static int td_cfg_yaml_node(td_cfg_yaml *y, yaml_event_t *ev, int depth,
                            td_cfg_node **out);

/*
 * Applies YAML merge keys ("<<: *base" or "<<: [*a, *b]") of a finished
 * map: keys written in the map win, then earlier merge sources win over
 * later ones. The "<<" entry itself is removed (kept as an orphan, since
 * an anchor may point into it).
 */
static void
td_cfg_yaml_merge_keys(td_cfg_yaml *y, td_cfg_node *map, int depth)
{
    long at = td_cfg_node_find(map, "<<", 2);
    td_cfg_node *key, *val;
    size_t n_src;

    if (at < 0 || map->keys[at]->quoted) {
        return;
    }
    key = map->keys[at];
    val = map->vals[at];
    memmove(map->keys + at, map->keys + at + 1,
            (map->n - (size_t) at - 1) * sizeof(*map->keys));
    memmove(map->vals + at, map->vals + at + 1,
            (map->n - (size_t) at - 1) * sizeof(*map->vals));
    map->n--;
    if (map->slots != NULL && td_cfg_yaml_reindex(map, map->n) != TD_OK) {
        y->ld->nomem = true;
        y->fatal = true;
    }
    td_cfg_yaml_orphan(y, key);
    td_cfg_yaml_orphan(y, val);

    n_src = val->kind == TD_CFG_NODE_SEQ ? val->n : 1;
    for (size_t s = 0; s < n_src && !y->fatal; s++) {
        const td_cfg_node *src = val->kind == TD_CFG_NODE_SEQ ? val->vals[s]
                                                             : val;

        if (src->kind != TD_CFG_NODE_MAP) {
            td_cfg_node_error(y->ld, src, "a merge key (<<) takes a map "
                              "or a list of maps, got %s",
                              td_cfg_node_what(src));
            continue;
        }
        for (size_t i = 0; i < src->n && !y->fatal; i++) {
            const td_cfg_node *k = src->keys[i];
            td_cfg_node *kc, *vc;

            if (td_cfg_node_find(map, k->str, k->len) >= 0) {
                continue;
            }
            kc = td_cfg_yaml_copy(y->ld, k, depth + 1);
            vc = td_cfg_yaml_copy(y->ld, src->vals[i], depth + 1);
            if (kc == NULL || vc == NULL
                || td_cfg_node_add(y->ld, map, kc, vc) != TD_OK) {
                td_cfg_node_free(y->ld, kc);
                td_cfg_node_free(y->ld, vc);
                td_cfg_yaml_no_node(y, src->file, src->line, src->col);
            }
        }
    }
}

/* Takes the events of one key-value pair of a map after its key event. */
static void
td_cfg_yaml_pair(td_cfg_yaml *y, td_cfg_node *map, td_cfg_node *key,
                 int depth)
{
    yaml_event_t ev;
    td_cfg_node *val = NULL;
    long dup;

    if (td_cfg_yaml_next(y, &ev) != TD_OK
        || td_cfg_yaml_node(y, &ev, depth + 1, &val) != TD_OK) {
        td_cfg_node_free(y->ld, key);
        return;
    }
    if (key->kind != TD_CFG_NODE_SCALAR) {
        td_cfg_node_error(y->ld, key, "a key must be a single value, not "
                          "%s", td_cfg_node_what(key));
        td_cfg_yaml_orphan(y, key);
        td_cfg_yaml_orphan(y, val);
        return;
    }
    if (key->is_null || key->bad) {
        if (!key->bad) {
            td_cfg_node_error(y->ld, key, "a key is empty; write a name "
                              "before the colon");
        }
        td_cfg_yaml_orphan(y, key);
        td_cfg_yaml_orphan(y, val);
        return;
    }
    dup = td_cfg_node_find(map, key->str, key->len);
    if (dup >= 0) {
        const td_cfg_node *first = map->keys[dup];
        char q[160];

        td_cfg_node_error(y->ld, key, "duplicate key %s; it is already "
                          "set at line %d, column %d, so remove one of "
                          "them", td_cfg_quote(key->str, q, sizeof(q)),
                          first->line, first->col);
        td_cfg_yaml_orphan(y, key);
        td_cfg_yaml_orphan(y, val);
        return;
    }
    if (td_cfg_node_add(y->ld, map, key, val) != TD_OK) {
        td_cfg_node_free(y->ld, key);
        td_cfg_node_free(y->ld, val);
        y->fatal = true;
    }
}

/* Builds a map or sequence from its start event to its end event. */
static td_cfg_node *
td_cfg_yaml_coll(td_cfg_yaml *y, const yaml_event_t *start, int depth)
{
    bool is_map = start->type == YAML_MAPPING_START_EVENT;
    int line = td_cfg_yaml_line(y, &start->start_mark);
    int col = td_cfg_yaml_col(y, &start->start_mark);
    yaml_event_type_t end = is_map ? YAML_MAPPING_END_EVENT
                                   : YAML_SEQUENCE_END_EVENT;
    td_cfg_node *n;

    if (depth > TD_CFG_MAX_DEPTH) {
        td_cfg_yaml_no_node(y, y->file, line, col);
        return NULL;
    }
    n = td_cfg_node_new(y->ld, is_map ? TD_CFG_NODE_MAP : TD_CFG_NODE_SEQ,
                        y->file, line, col);
    if (n == NULL) {
        td_cfg_yaml_no_node(y, y->file, line, col);
        return NULL;
    }
    n->flow = is_map ? start->data.mapping_start.style
                           == YAML_FLOW_MAPPING_STYLE
                     : start->data.sequence_start.style
                           == YAML_FLOW_SEQUENCE_STYLE;
    while (!y->fatal) {
        yaml_event_t ev;
        td_cfg_node *item = NULL;

        if (td_cfg_yaml_next(y, &ev) != TD_OK) {
            break;
        }
        if (ev.type == end) {
            yaml_event_delete(&ev);
            if (is_map) {
                td_cfg_yaml_merge_keys(y, n, depth);
            }
            if (!y->fatal) {
                return n;
            }
            break;
        }
        if (td_cfg_yaml_node(y, &ev, depth + 1, &item) != TD_OK) {
            break;
        }
        if (is_map) {
            td_cfg_yaml_pair(y, n, item, depth);
        } else if (td_cfg_node_add(y->ld, n, NULL, item) != TD_OK) {
            td_cfg_node_free(y->ld, item);
            y->fatal = true;
        }
    }
    td_cfg_node_free(y->ld, n);
    return NULL;
}

/* Turns the events of one node, starting with ev (consumed), into *out. */
static int
td_cfg_yaml_node(td_cfg_yaml *y, yaml_event_t *ev, int depth,
                 td_cfg_node **out)
{
    const yaml_char_t *anchor = NULL;
    td_cfg_node *n = NULL;

    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        n = td_cfg_yaml_alias(y, ev, depth);
        break;
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        n = td_cfg_yaml_scalar_ev(y, ev);
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        n = td_cfg_yaml_coll(y, ev, depth);
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        n = td_cfg_yaml_coll(y, ev, depth);
        break;
    default:
        td_cfg_msg(y->ld, true, y->file, td_cfg_yaml_line(y,
                                                          &ev->start_mark),
                   td_cfg_yaml_col(y, &ev->start_mark),
                   "unexpected YAML structure");
        y->fatal = true;
        break;
    }
    /*
     * The anchor is registered once its node is complete, so an alias
     * inside the node it names is "not defined before", which rules out
     * recursive structures.
     */
    if (n != NULL && td_cfg_yaml_anchor(y, anchor, n) != TD_OK) {
        y->fatal = true;
    }
    yaml_event_delete(ev);
    if (n == NULL) {
        y->fatal = true;
        return TD_EINVAL;
    }
    *out = n;
    return TD_OK;
}

/* Reads the stream: at most one document, whose root goes to *root. */
static void
td_cfg_yaml_stream(td_cfg_yaml *y, td_cfg_node **root)
{
    yaml_event_t ev;
    int docs = 0;

    while (!y->fatal && td_cfg_yaml_next(y, &ev) == TD_OK) {
        yaml_event_type_t type = ev.type;

        if (type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            return;
        }
        if (type == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
            td_cfg_msg(y->ld, true, y->file,
                       td_cfg_yaml_line(y, &ev.start_mark),
                       td_cfg_yaml_col(y, &ev.start_mark),
                       "a second YAML document starts here; a config "
                       "source holds one document (pass several files "
                       "with --config instead)");
            yaml_event_delete(&ev);
            y->fatal = true;
            return;
        }
        if (type == YAML_STREAM_START_EVENT
            || type == YAML_DOCUMENT_START_EVENT
            || type == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        if (td_cfg_yaml_node(y, &ev, 1, root) != TD_OK) {
            return;
        }
    }
}

int
td_cfg_yaml_parse(td_cfg_loader *ld, const char *file, const char *text,
                  size_t len, int col_off, td_cfg_node **root)
{
    int errors = ld->n_errors;
    td_cfg_yaml y;

    memset(&y, 0, sizeof(y));
    y.ld = ld;
    y.file = file;
    y.text = text;
    y.len = len;
    /*
     * libyaml counts a byte order mark as a column of the first line,
     * which then looks indented differently from the next ones.
     */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    y.text = text;
    y.len = len;
    y.col_off = col_off;
    td_cfg_yaml_find_end(&y);
    *root = NULL;
    if (!yaml_parser_initialize(&y.parser)) {
        ld->nomem = true;
        return TD_ENOMEM;
    }
    yaml_parser_set_input_string(&y.parser, (const unsigned char *) text,
                                 len);
    yaml_parser_set_encoding(&y.parser, YAML_UTF8_ENCODING);
    td_cfg_yaml_stream(&y, root);
    yaml_parser_delete(&y.parser);

    for (size_t i = 0; i < y.n_anchors; i++) {
        free(y.anchors[i].name);
    }
    free(y.anchors);
    for (size_t i = 0; i < y.n_orphans; i++) {
        td_cfg_node_free(ld, y.orphans[i]);
    }
    free(y.orphans);
    if (y.fatal) {
        td_cfg_node_free(ld, *root);
        *root = NULL;
    }
    if (ld->nomem) {
        return TD_ENOMEM;
    }
    return ld->n_errors != errors || y.fatal ? TD_EINVAL : TD_OK;
}

/* ---- merging ---- */

void
td_cfg_yaml_merge(td_cfg_loader *ld, td_cfg_node *dst, td_cfg_node *src)
{
    for (size_t i = 0; i < src->n; i++) {
        td_cfg_node *key = src->keys[i], *val = src->vals[i];
        long at = td_cfg_node_find(dst, key->str, key->len);
        td_cfg_node *old;

        src->keys[i] = src->vals[i] = NULL;
        if (at < 0) {
            if (td_cfg_node_add(ld, dst, key, val) != TD_OK) {
                td_cfg_node_free(ld, key);
                td_cfg_node_free(ld, val);
            }
            continue;
        }
        old = dst->vals[at];
        if (old->kind == TD_CFG_NODE_MAP && val->kind == TD_CFG_NODE_MAP) {
            td_cfg_yaml_merge(ld, old, val);
            td_cfg_node_free(ld, key);
            continue;
        }
        /*
         * An empty value ("tcplog:") over a map adds nothing: it means
         * "this exists, with defaults", which the map already says.
         */
        if (old->kind == TD_CFG_NODE_MAP && val->kind == TD_CFG_NODE_SCALAR
            && val->is_null) {
            td_cfg_node_free(ld, key);
            td_cfg_node_free(ld, val);
            continue;
        }
        /* The later key's position is where the value now comes from. */
        td_cfg_node_free(ld, dst->keys[at]);
        td_cfg_node_free(ld, old);
        dst->keys[at] = key;
        dst->vals[at] = val;
    }
    src->n = 0;
    td_cfg_node_free(ld, src);
}

/* ---- --set ---- */

/*
 * A value written as a block collection ("a: b", "- x") on the command
 * line is almost certainly meant as text, so it is kept as one string;
 * flow collections ("[a, b]", "{k: v}") and scalars go through YAML.
 */
static td_cfg_node *
td_cfg_yaml_set_value(td_cfg_loader *ld, const char *val, int col_off)
{
    size_t len = strlen(val);
    td_cfg_node *n = NULL;

    if (td_cfg_yaml_parse(ld, td_cfg_set_file, val, len, col_off, &n)
        != TD_OK) {
        td_cfg_node_free(ld, n);
        return NULL;
    }
    if (n == NULL) {
        n = td_cfg_yaml_scalar(ld, td_cfg_set_file, 1, col_off + 1, "", 0);
        if (n != NULL) {
            n->is_null = true;
        }
        return n;
    }
    if (n->kind != TD_CFG_NODE_SCALAR && !n->flow) {
        td_cfg_node_free(ld, n);
        n = td_cfg_yaml_scalar(ld, td_cfg_set_file, 1, col_off + 1, val,
                               len);
    }
    return n;
}

/* Splits a --set key into its parts; returns how many, or -1. */
static int
td_cfg_yaml_set_key(td_cfg_loader *ld, const char *arg, size_t key_len,
                    size_t *starts, size_t *lens)
{
    const char *eq = arg + key_len, *p = strstr(arg, "::"), *sep = "::";
    size_t sep_len = 2;
    int n = 0;

    if (p == NULL || p > eq) {
        sep = ".";
        sep_len = 1;
    }
    for (p = arg;; p += sep_len) {
        const char *end = strstr(p, sep);

        if (end == NULL || end > eq) {
            end = eq;
        }
        if (n == TD_CFG_MAX_SET_PARTS) {
            td_cfg_msg(ld, true, td_cfg_set_file, 1, (int) (p - arg) + 1,
                       "--set key \"%.*s%s\" has more than %d parts; no "
                       "config key is nested that deep",
                       key_len > 96 ? 96 : (int) key_len, arg,
                       key_len > 96 ? "..." : "", TD_CFG_MAX_SET_PARTS);
            return -1;
        }
        if (end == p) {
            td_cfg_msg(ld, true, td_cfg_set_file, 1, (int) (p - arg) + 1,
                       "--set key \"%.*s%s\" has an empty part; separate "
                       "keys with \"::\" or \".\", as in a::b=value",
                       key_len > 96 ? 96 : (int) key_len, arg,
                       key_len > 96 ? "..." : "");
            return -1;
        }
        starts[n] = (size_t) (p - arg);
        lens[n++] = (size_t) (end - p);
        if (end == eq) {
            return n;
        }
        p = end;
    }
}

int
td_cfg_yaml_set(td_cfg_loader *ld, td_cfg_node *root, const char *arg)
{
    size_t starts[TD_CFG_MAX_SET_PARTS], lens[TD_CFG_MAX_SET_PARTS];
    const char *eq = strchr(arg, '=');
    td_cfg_node *val;
    size_t key_len;
    int n;

    if (eq == NULL || eq == arg) {
        td_cfg_msg(ld, true, td_cfg_set_file, 1, 1,
                   "--set \"%.96s\" is not KEY=VALUE; write for example "
                   "--set service::telemetry::logs::level=debug", arg);
        return TD_EINVAL;
    }
    key_len = (size_t) (eq - arg);
    n = td_cfg_yaml_set_key(ld, arg, key_len, starts, lens);
    if (n < 0) {
        return TD_EINVAL;
    }
    val = td_cfg_yaml_set_value(ld, eq + 1, (int) key_len + 1);
    if (val == NULL) {
        return ld->nomem ? TD_ENOMEM : TD_EINVAL;
    }

    /* Wraps the value in one map per key part, innermost first. */
    while (n-- > 0) {
        td_cfg_node *chain, *key;

        chain = td_cfg_node_new(ld, TD_CFG_NODE_MAP, td_cfg_set_file, 1,
                                (int) starts[n] + 1);
        key = td_cfg_yaml_scalar(ld, td_cfg_set_file, 1,
                                 (int) starts[n] + 1, arg + starts[n],
                                 lens[n]);
        if (chain == NULL || key == NULL
            || td_cfg_node_add(ld, chain, key, val) != TD_OK) {
            if (!ld->nomem) {
                td_cfg_msg(ld, true, td_cfg_set_file, 1, 1,
                           "the configuration grows past %d nodes or %u "
                           "MiB of text with this --set", TD_CFG_MAX_NODES,
                           TD_CFG_MAX_BYTES >> 20);
            }
            td_cfg_node_free(ld, chain);
            td_cfg_node_free(ld, key);
            td_cfg_node_free(ld, val);
            return ld->nomem ? TD_ENOMEM : TD_EINVAL;
        }
        val = chain;
    }
    td_cfg_yaml_merge(ld, root, val);
    return TD_OK;
}

/* ---- ${} expansion ---- */

/* Where byte off of a scalar was written, when that can be known. */
static void
td_cfg_yaml_scalar_pos(const td_cfg_node *n, size_t off, int *line,
                       int *col)
{
    int chars = 0;

    *line = n->line;
    *col = n->col;
    if (n->end_line != n->line) {
        return;
    }
    for (size_t i = 0; i < off; i++) {
        chars += ((unsigned char) n->str[i] & 0xC0) != 0x80;
    }
    if (!n->quoted) {
        *col = n->col + chars;
        return;
    }
    /* Quoted without escapes: the text is the value plus two quotes. */
    if ((size_t) (n->end_col - n->col) == n->len + 2) {
        *col = n->col + 1 + chars;
    }
}

static bool
td_cfg_yaml_name_char(char c, bool first)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (!first && c >= '0' && c <= '9');
}

/*
 * Expands one ${...} reference, ref (len bytes, without "${" and "}"),
 * into out. Returns false when the reference is malformed.
 */
static bool
td_cfg_yaml_ref(td_cfg_loader *ld, const td_cfg_node *n, size_t off,
                const char *ref, size_t len, td_buf *out)
{
    const char *name = ref, *end = ref + len, *env;
    const char *p;
    char var[256];
    int line, col;

    if (len >= 4 && memcmp(ref, "env:", 4) == 0) {
        name = ref + 4;
    }
    for (p = name; p < end && td_cfg_yaml_name_char(*p, p == name); p++) {
        continue;
    }
    if (p == name || (size_t) (p - name) >= sizeof(var)) {
        return false;
    }
    if (p < end && (end - p < 2 || p[0] != ':' || p[1] != '-')) {
        return false;
    }
    memcpy(var, name, (size_t) (p - name));
    var[p - name] = '\0';
    env = getenv(var);
    if (env != NULL || p < end) {
        int rc = env != NULL ? td_buf_puts(out, env)
                             : td_buf_append(out, p + 2,
                                             (size_t) (end - p - 2));

        /* Out of memory is not "malformed": the caller checks nomem. */
        if (rc != TD_OK) {
            ld->nomem = true;
        }
        return true;
    }
    /*
     * As in the OpenTelemetry Collector, an unset variable without a
     * default is empty, with a warning: a typo then shows up in the log
     * instead of stopping a daemon that may be restarted unattended.
     */
    td_cfg_yaml_scalar_pos(n, off, &line, &col);
    td_cfg_msg(ld, false, n->file, line, col,
               "environment variable %s is not set, so \"${%.*s}\" "
               "expands to an empty string; set it or write "
               "${env:%s:-default}", var, (int) len, ref, var);
    return true;
}

static void
td_cfg_yaml_expand_scalar(td_cfg_loader *ld, td_cfg_node *n)
{
    td_buf out = TD_BUF_INIT;
    const char *s = n->str;
    size_t i = 0;

    while (i < n->len) {
        const char *close;
        size_t ref_len;
        int line, col;

        if (s[i] != '$' || i + 1 >= n->len
            || (s[i + 1] != '$' && s[i + 1] != '{')) {
            if (td_buf_putc(&out, s[i++]) != TD_OK) {
                ld->nomem = true;
                break;
            }
            continue;
        }
        if (s[i + 1] == '$') {
            if (td_buf_putc(&out, '$') != TD_OK) {
                ld->nomem = true;
                break;
            }
            i += 2;
            continue;
        }
        close = memchr(s + i + 2, '}', n->len - i - 2);
        if (close != NULL
            && td_cfg_yaml_ref(ld, n, i, s + i + 2,
                               (size_t) (close - s - i - 2), &out)) {
            i = (size_t) (close - s) + 1;
            continue;
        }
        if (ld->nomem) {
            break;
        }
        td_cfg_yaml_scalar_pos(n, i, &line, &col);
        ref_len = close ? (size_t) (close - s) + 1 - i : n->len - i;
        td_cfg_msg(ld, true, n->file, line, col,
                   "malformed variable reference \"%.*s%s\"; write "
                   "${env:NAME}, ${NAME} or ${env:NAME:-default} (NAME of "
                   "letters, digits and _, not starting with a digit), "
                   "and $$ for a literal $",
                   ref_len > 64 ? 64 : (int) ref_len, s + i,
                   ref_len > 64 ? "..." : "");
        n->bad = true;
        td_buf_free(&out);
        return;
    }
    if (ld->nomem) {
        td_buf_free(&out);
        return;
    }
    /* Environment text is trusted: it is counted but not limited. */
    ld->n_bytes -= ld->n_bytes < n->len ? ld->n_bytes : n->len;
    ld->n_bytes += out.len;
    free(n->str);
    if (out.data == NULL) {
        n->str = strdup("");
        n->len = 0;
        if (n->str == NULL) {
            ld->nomem = true;
        }
        return;
    }
    /* Expanded values may hold anything but NUL, which getenv rules out. */
    n->str = out.data;
    n->len = out.len;
}

void
td_cfg_yaml_expand(td_cfg_loader *ld, td_cfg_node *node)
{
    if (node == NULL) {
        return;
    }
    if (node->kind == TD_CFG_NODE_SCALAR) {
        if (!node->is_null && memchr(node->str, '$', node->len) != NULL) {
            td_cfg_yaml_expand_scalar(ld, node);
        }
        return;
    }
    for (size_t i = 0; i < node->n; i++) {
        td_cfg_yaml_expand(ld, node->vals[i]);
    }
}
