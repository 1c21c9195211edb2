/* harvest.crosswalk._walk: the crosswalks' walks over libxml2's tree, in C (oai_dc, DataCite).
 *
 * The crosswalks walk a record's elements with lxml: every element they touch costs an lxml proxy
 * object, a "{namespace}name" tag string, a text string and attribute lookups, about 0.3 µs each,
 * and a record has 20-40 elements. These functions read the same tree through the structures lxml
 * wraps (an lxml element holds a pointer to its libxml2 node) and create only the strings the
 * crosswalk keeps: dc_fields() for oai_dc (harvest/crosswalk/oai_dc.py: _dc_fields) and
 * datacite_fields() for DataCite/OpenAIRE (harvest/crosswalk/datacite.py: _walk), giving exactly
 * what the Python walks give (tests/crosswalk/test_walk_c.py compares them on generated, mutated
 * and real records). The module also holds C versions of two identifier normalisers and of
 * record_bytes' loop (see their sections below), which need no lxml structure.
 *
 * Only fields of the structures are read; no libxml2 function is called, so nothing is linked
 * against libxml2. The layouts are libxml2's public ABI (tree.h: struct _xmlNode, _xmlAttr) and
 * lxml's public element struct (lxml.etree.h: struct LxmlElement); harvest.crosswalk.speedups
 * uses this module only with lxml versions whose layout is known, after checking it on parsed
 * documents. Built by `make` (harvest/crosswalk/build_walk.py); without it the Python walks run.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* libxml2's node types and the leading fields of its xmlNode */
enum { ELEMENT_NODE = 1, TEXT_NODE = 3, CDATA_SECTION_NODE = 4, PI_NODE = 7, COMMENT_NODE = 8 };

typedef struct xnode {
    void *_private;
    int type;
    const unsigned char *name;
    struct xnode *children;
    struct xnode *last;
    struct xnode *parent;
    struct xnode *next;
    struct xnode *prev;
    void *doc;
    void *ns;
    unsigned char *content;
    void *properties;   /* struct xattr * */
} xnode;

/* the leading fields of libxml2's xmlAttr */
typedef struct xattr {
    void *_private;
    int type;
    const unsigned char *name;
    struct xnode *children;
    struct xnode *last;
    struct xnode *parent;
    struct xattr *next;
    struct xattr *prev;
    void *doc;
    void *ns;
} xattr;

/* lxml's _Element */
typedef struct {
    PyObject_HEAD
    void *_doc;
    xnode *_c_node;
    PyObject *_tag;
} lxml_element;

static PyTypeObject *element_type = NULL;   /* lxml.etree._Element, given to init() */
static PyObject *str_strip, *str_split, *str_space;

/* One value's text, grown as needed. */
typedef struct {
    char *data;
    Py_ssize_t len, cap;
    char small[1024];
} buffer;

static int buf_add(buffer *b, const unsigned char *s) {
    Py_ssize_t n = (Py_ssize_t)strlen((const char *)s);
    if (b->len + n > b->cap) {
        Py_ssize_t cap = (b->len + n) * 2;
        char *data = b->data == b->small ? PyMem_Malloc(cap) : PyMem_Realloc(b->data, cap);
        if (!data) {
            PyErr_NoMemory();
            return -1;
        }
        if (b->data == b->small)
            memcpy(data, b->small, b->len);
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

/* The text of every text and CDATA node under `node` in document order: what lxml's `.text` of a
 * leaf and "".join(el.itertext()) give (comments and processing instructions are not text).
 * 1: a node of another kind (an entity reference, ...): the caller leaves it to the Python walk;
 * -1: error; 0: done. */
static int collect_text(xnode *node, buffer *b) {
    for (xnode *c = node->children; c; c = c->next) {
        switch (c->type) {
        case TEXT_NODE:
        case CDATA_SECTION_NODE:
            if (c->content && buf_add(b, c->content) < 0)
                return -1;
            break;
        case ELEMENT_NODE: {
            int r = collect_text(c, b);
            if (r)
                return r;
            break;
        }
        case COMMENT_NODE:
        case PI_NODE:
            break;
        default:
            return 1;
        }
    }
    return 0;
}

/* The value as the Python walk makes it: stripped, and runs of whitespace made one space when it
 * holds two spaces, a tab, a newline or a carriage return; NULL without an error for an empty
 * value. Plain ASCII needing no change (the usual case) is decoded once; anything else goes
 * through str.strip, str.split and str.join themselves, so Unicode whitespace is treated alike. */
static PyObject *make_value(const char *s, Py_ssize_t n) {
    if (n == 0)
        return NULL;
    int plain = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || c < 0x21 || c == 0x7f) {   /* not printable ASCII: a space is checked below */
            if (c == ' ' && i > 0 && i + 1 < n && s[i + 1] != ' ')
                continue;
            plain = 0;
            break;
        }
    }
    PyObject *text = PyUnicode_DecodeUTF8(s, n, "strict");
    if (!text || plain)
        return text;
    PyObject *value = PyObject_CallMethodNoArgs(text, str_strip);
    Py_DECREF(text);
    if (!value)
        return NULL;
    Py_ssize_t len = PyUnicode_GET_LENGTH(value);
    if (len == 0) {
        Py_DECREF(value);
        return NULL;
    }
    int squeeze = 0;
    for (Py_ssize_t i = 0; i < len && !squeeze; i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(value, i);
        if (c == '\n' || c == '\t' || c == '\r' || (c == ' ' && i + 1 < len && PyUnicode_READ_CHAR(value, i + 1) == ' '))
            squeeze = 1;
    }
    if (!squeeze)
        return value;
    PyObject *parts = PyObject_CallMethodNoArgs(value, str_split);
    Py_DECREF(value);
    if (!parts)
        return NULL;
    PyObject *joined = PyUnicode_Join(str_space, parts);
    Py_DECREF(parts);
    return joined;
}

static xnode *node_of(PyObject *obj) {
    if (!element_type) {
        PyErr_SetString(PyExc_RuntimeError, "harvest.crosswalk._walk.init() was not called");
        return NULL;
    }
    if (!PyObject_TypeCheck(obj, element_type)) {
        PyErr_Format(PyExc_TypeError, "expected an lxml element, got %.100s", Py_TYPE(obj)->tp_name);
        return NULL;
    }
    xnode *node = ((lxml_element *)obj)->_c_node;
    if (!node) {
        PyErr_SetString(PyExc_ValueError, "an lxml element without a node");
        return NULL;
    }
    return node;
}

/* dc_fields(metadata) -> dict | None | NotImplemented: see harvest.crosswalk.oai_dc._dc_fields */
static PyObject *dc_fields_node(xnode *node);

static PyObject *dc_fields(PyObject *self, PyObject *metadata) {
    xnode *node = node_of(metadata);
    return node ? dc_fields_node(node) : NULL;
}

static PyObject *dc_fields_node(xnode *node) {
    xnode *dc = NULL;
    if (node->type == ELEMENT_NODE && strcmp((const char *)node->name, "dc") == 0) {
        dc = node;
    } else {
        for (xnode *c = node->children; c; c = c->next) {
            if (c->type == ELEMENT_NODE && strcmp((const char *)c->name, "dc") == 0) {
                dc = c;
                break;
            }
        }
    }
    if (!dc)
        Py_RETURN_NONE;
    PyObject *fields = PyDict_New();
    if (!fields)
        return NULL;
    buffer b;
    b.data = b.small;
    b.cap = sizeof(b.small);
    const unsigned char *last_name = NULL;
    PyObject *last_list = NULL;   /* borrowed from `fields` */
    for (xnode *c = dc->children; c; c = c->next) {
        if (c->type != ELEMENT_NODE)
            continue;
        b.len = 0;
        int r = collect_text(c, &b);
        if (r < 0)
            goto error;
        if (r > 0) {
            Py_DECREF(fields);
            if (b.data != b.small)
                PyMem_Free(b.data);
            Py_RETURN_NOTIMPLEMENTED;
        }
        PyObject *value = make_value(b.data, b.len);
        if (!value) {
            if (PyErr_Occurred())
                goto error;
            continue;
        }
        PyObject *list;
        if (last_name && strcmp((const char *)c->name, (const char *)last_name) == 0) {
            list = last_list;   /* repeated elements (creator, subject, ...) come together */
        } else {
            PyObject *name = PyUnicode_FromString((const char *)c->name);
            if (!name) {
                Py_DECREF(value);
                goto error;
            }
            list = PyDict_GetItemWithError(fields, name);
            if (!list) {
                if (PyErr_Occurred() || !(list = PyList_New(0)) || PyDict_SetItem(fields, name, list) < 0) {
                    Py_XDECREF(list);
                    Py_DECREF(name);
                    Py_DECREF(value);
                    goto error;
                }
                Py_DECREF(list);   /* `fields` holds it */
            }
            Py_DECREF(name);
            last_name = c->name;
            last_list = list;
        }
        int failed = PyList_Append(list, value);
        Py_DECREF(value);
        if (failed < 0)
            goto error;
    }
    if (b.data != b.small)
        PyMem_Free(b.data);
    return fields;
error:
    if (b.data != b.small)
        PyMem_Free(b.data);
    Py_DECREF(fields);
    return NULL;
}


/* An attribute's value: the text of its children (1 for a node of another kind; -1 error). */
static int attr_value(xattr *a, PyObject **out) {
    buffer b;
    b.data = b.small;
    b.cap = sizeof(b.small);
    b.len = 0;
    for (xnode *c = a->children; c; c = c->next) {
        if (c->type != TEXT_NODE) {
            if (b.data != b.small)
                PyMem_Free(b.data);
            return 1;
        }
        if (c->content && buf_add(&b, c->content) < 0) {
            if (b.data != b.small)
                PyMem_Free(b.data);
            return -1;
        }
    }
    *out = PyUnicode_DecodeUTF8(b.data, b.len, "strict");
    if (b.data != b.small)
        PyMem_Free(b.data);
    return *out ? 0 : -1;
}

/* The first element named `name` (any namespace): `node` itself, else its first descendant in
 * document order (what lxml's iterdescendants("{*}name", "name") finds first). */
static xnode *first_named(xnode *node, const char *name, int self) {
    if (self && node->type == ELEMENT_NODE && strcmp((const char *)node->name, name) == 0)
        return node;
    for (xnode *c = node->children; c; c = c->next) {
        if (c->type == ELEMENT_NODE) {
            xnode *found = first_named(c, name, 1);
            if (found)
                return found;
        }
    }
    return NULL;
}

/* ---- the identifier normalisers (harvest/crosswalk/normalize.py) for ASCII values -------------
 *
 * classify_identifier() and normalise_orcid() run for every identifier, related identifier and
 * ORCID iD of every record; in Python each costs ~1 µs of regular expressions and string methods.
 * These give the same answers for values (and hints) that are ASCII strings without '%', reading
 * the patterns of normalize.py by hand; anything else goes to the Python function given to
 * set_fallbacks(). Python's `re` and str.strip() count \t\n\v\f\r, \x1c-\x1f and ' ' as ASCII
 * whitespace, and re.I folds ASCII letters only (non-ASCII never reaches this code).
 * tests/crosswalk/test_walk_c.py compares both on generated and real identifiers. */

static PyObject *py_classify = NULL, *py_orcid = NULL;   /* the Python versions */
static PyObject *str_doi, *str_handle, *str_arxiv, *str_ark, *str_urn, *str_cstr, *str_issn, *str_isbn, *str_url;

static int ws(char c) { return c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f); }
static int dig(char c) { return c >= '0' && c <= '9'; }
static char low(char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
static int alpha(char c) { c = low(c); return c >= 'a' && c <= 'z'; }

/* the length of `lit` (lower case) if s[i..n) starts with it, ignoring ASCII case; else -1 */
static Py_ssize_t lit(const char *s, Py_ssize_t n, Py_ssize_t i, const char *lit) {
    Py_ssize_t k = 0;
    for (; lit[k]; k++)
        if (i + k >= n || low(s[i + k]) != lit[k])
            return -1;
    return k;
}

/* "http://" or "https://" at i, ignoring case: where what follows starts, or -1 */
static Py_ssize_t http(const char *s, Py_ssize_t n, Py_ssize_t i) {
    Py_ssize_t k = lit(s, n, i, "http");
    if (k < 0)
        return -1;
    i += k;
    if (i < n && low(s[i]) == 's')
        i++;
    k = lit(s, n, i, "://");
    return k < 0 ? -1 : i + k;
}

static Py_ssize_t spaces(const char *s, Py_ssize_t n, Py_ssize_t i) {
    while (i < n && ws(s[i]))
        i++;
    return i;
}

/* \S+$ from i: at least one character, none of them whitespace */
static int nonspace_to_end(const char *s, Py_ssize_t n, Py_ssize_t i) {
    if (i >= n)
        return 0;
    for (; i < n; i++)
        if (ws(s[i]))
            return 0;
    return 1;
}

static Py_ssize_t digits(const char *s, Py_ssize_t n, Py_ssize_t i) {
    Py_ssize_t j = i;
    while (j < n && dig(s[j]))
        j++;
    return j - i;
}

/* s[a..b) as a new str, lower-cased when `lower` */
static PyObject *piece(const char *s, Py_ssize_t a, Py_ssize_t b, int lower) {
    PyObject *out = PyUnicode_New(b - a, 127);
    if (!out)
        return NULL;
    Py_UCS1 *d = PyUnicode_1BYTE_DATA(out);
    for (Py_ssize_t i = a; i < b; i++)
        d[i - a] = lower ? low(s[i]) : s[i];
    return out;
}

static PyObject *pair(PyObject *scheme, PyObject *value) {
    if (!value)
        return NULL;
    PyObject *t = PyTuple_Pack(2, scheme, value);
    Py_DECREF(value);
    return t;
}

/* _DOI_PREFIXES: where the DOI starts after one of them at 0, else 0 */
static Py_ssize_t doi_prefix(const char *s, Py_ssize_t n) {
    Py_ssize_t k, i;
    if ((k = lit(s, n, 0, "doi:")) >= 0)
        return spaces(s, n, k);
    if ((k = lit(s, n, 0, "info:doi/")) >= 0)
        return k;
    if ((i = http(s, n, 0)) >= 0) {
        Py_ssize_t j = i;
        if ((k = lit(s, n, j, "dx.")) >= 0 || (k = lit(s, n, j, "www.")) >= 0)
            j += k;
        if ((k = lit(s, n, j, "doi.org/")) >= 0)
            return j + k;
        if ((k = lit(s, n, i, "doi.")) >= 0) {   /* https?://doi\.[a-z]+/ */
            j = i + k;
            Py_ssize_t start = j;
            while (j < n && alpha(s[j]))
                j++;
            if (j > start && j < n && s[j] == '/')
                return j + 1;
        }
    }
    if ((k = lit(s, n, 0, "urn:doi:")) >= 0)
        return k;
    return 0;
}

/* ^10\.\d{4,9}/\S+$ over s[a..b) */
static int doi_match(const char *s, Py_ssize_t a, Py_ssize_t b) {
    if (b - a < 3 || s[a] != '1' || s[a + 1] != '0' || s[a + 2] != '.')
        return 0;
    Py_ssize_t k = digits(s, b, a + 3);
    return k >= 4 && k <= 9 && a + 3 + k < b && s[a + 3 + k] == '/' && nonspace_to_end(s, b, a + 4 + k);
}

/* _HANDLE_PREFIXES: the length of the one at i, else -1 */
static Py_ssize_t handle_prefix(const char *s, Py_ssize_t n) {
    Py_ssize_t k, i;
    if ((k = lit(s, n, 0, "hdl:")) >= 0)
        return spaces(s, n, k);
    if ((k = lit(s, n, 0, "info:hdl/")) >= 0)
        return k;
    if ((i = http(s, n, 0)) >= 0 && (k = lit(s, n, i, "hdl.handle.net/")) >= 0)
        return i + k;
    return -1;
}

/* ^\d[\d.]*\/\S+$ over s[a..b) */
static int handle_match(const char *s, Py_ssize_t a, Py_ssize_t b) {
    if (a >= b || !dig(s[a]))
        return 0;
    Py_ssize_t i = a + 1;
    while (i < b && (dig(s[i]) || s[i] == '.'))
        i++;
    return i < b && s[i] == '/' && nonspace_to_end(s, b, i + 1);
}

static Py_ssize_t arxiv_prefix(const char *s, Py_ssize_t n) {
    Py_ssize_t k, i;
    if ((k = lit(s, n, 0, "arxiv:")) >= 0)
        return spaces(s, n, k);
    if ((i = http(s, n, 0)) >= 0) {
        if ((k = lit(s, n, i, "export.")) >= 0 && lit(s, n, i + k, "arxiv.org/") >= 0)
            i += k;
        if ((k = lit(s, n, i, "arxiv.org/")) >= 0) {
            i += k;
            if (((k = lit(s, n, i, "abs")) >= 0 || (k = lit(s, n, i, "pdf")) >= 0) && i + k < n && s[i + k] == '/')
                return i + k + 1;
        }
    }
    if ((k = lit(s, n, 0, "oai:arxiv.org:")) >= 0)
        return k;
    return -1;
}

/* (?:v\d+)?(?:\.pdf)?$ from i; `ci`: v and .pdf in any case */
static int arxiv_tail(const char *s, Py_ssize_t n, Py_ssize_t i, int ci) {
    if (i < n && (s[i] == 'v' || (ci && s[i] == 'V')) && i + 1 < n && dig(s[i + 1]))
        i += 1 + digits(s, n, i + 1);
    if (i < n && s[i] == '.') {
        if (ci ? lit(s, n, i + 1, "pdf") < 0 : (i + 3 >= n || s[i + 1] != 'p' || s[i + 2] != 'd' || s[i + 3] != 'f'))
            return 0;
        i += 4;
    }
    return i == n;
}

/* _ARXIV_NEW, then _ARXIV_OLD, over s[a..n): the end of group 1, else -1 */
static Py_ssize_t arxiv_match(const char *s, Py_ssize_t a, Py_ssize_t n) {
    if (digits(s, n, a) >= 4 && a + 4 < n && s[a + 4] == '.') {
        Py_ssize_t k = digits(s, n, a + 5);
        if ((k == 4 || k == 5) && arxiv_tail(s, n, a + 5 + k, 0))
            return a + 5 + k;
    }
    if (a < n && alpha(s[a])) {
        Py_ssize_t i = a + 1;
        while (i < n && (alpha(s[i]) || s[i] == '.' || s[i] == '-'))
            i++;
        if (i < n && s[i] == '/' && digits(s, n, i + 1) >= 7 && arxiv_tail(s, n, i + 8, 1))
            return i + 8;
    }
    return -1;
}

/* _ARK from 0: the start of group 1 (which runs to the end), else -1 */
static Py_ssize_t ark_match(const char *s, Py_ssize_t n) {
    Py_ssize_t i = 0, j = http(s, n, 0);
    if (j >= 0) {   /* (?:https?://[^/]+/)? */
        Py_ssize_t h = j;
        while (h < n && s[h] != '/')
            h++;
        if (h > j && h < n)
            i = h + 1;
    }
    Py_ssize_t k = lit(s, n, i, "ark:");
    if (k < 0)
        return -1;
    i += k;
    if (i < n && s[i] == '/')
        i++;
    k = digits(s, n, i);
    return k >= 5 && k <= 9 && i + k < n && s[i + k] == '/' && nonspace_to_end(s, n, i + k + 1) ? i : -1;
}

/* _URN_NBN from 0: the start of group 1, else -1 */
static Py_ssize_t urn_nbn_match(const char *s, Py_ssize_t n) {
    Py_ssize_t i = 0, j = http(s, n, 0), k;
    if (j >= 0 && (k = lit(s, n, j, "nbn-resolving.")) >= 0) {
        j += k;
        if ((k = lit(s, n, j, "org/")) >= 0 || (k = lit(s, n, j, "de/")) >= 0)
            i = j + k;
    }
    Py_ssize_t start = i;
    if ((k = lit(s, n, i, "urn:nbn:")) < 0)
        return -1;
    i += k;
    if (!nonspace_to_end(s, n, i))
        return -1;
    /* [a-z0-9-]+[:-]\S+: some non-empty run of the class, then ':' or '-', then one character more */
    for (Py_ssize_t e = i + 1; e < n && (alpha(s[e - 1]) || dig(s[e - 1]) || s[e - 1] == '-'); e++)
        if ((s[e] == ':' || s[e] == '-') && e + 1 < n)
            return start;
    return -1;
}

/* \d{5}\.\d{2}\.\S+$ from i */
static int cstr_tail(const char *s, Py_ssize_t n, Py_ssize_t i) {
    return digits(s, n, i) >= 5 && i + 5 < n && s[i + 5] == '.' && digits(s, n, i + 6) >= 2 && i + 8 < n
        && s[i + 8] == '.' && nonspace_to_end(s, n, i + 9);
}

/* _CSTR from 0: the start of group 1, else -1 */
static Py_ssize_t cstr_match(const char *s, Py_ssize_t n) {
    Py_ssize_t k, i;
    if ((k = lit(s, n, 0, "cstr:")) >= 0) {
        i = spaces(s, n, k);
        return cstr_tail(s, n, i) ? i : -1;
    }
    if ((i = http(s, n, 0)) >= 0) {
        if ((k = lit(s, n, i, "www.")) >= 0 && lit(s, n, i + k, "cstr.cn/") >= 0)
            i += k;
        if ((k = lit(s, n, i, "cstr.cn/")) >= 0 && cstr_tail(s, n, i + k))
            return i + k;
    }
    return -1;
}

/* normalise_issn(s[0..n)), already stripped */
static PyObject *issn(const char *s, Py_ssize_t n) {
    Py_ssize_t i = 0, k;
    if ((k = lit(s, n, 0, "urn:issn:")) >= 0)
        i = k;
    else if ((k = lit(s, n, 0, "issn")) >= 0) {
        i = k;
        if (i < n && s[i] == ':')
            i++;
        i = spaces(s, n, i);
    }
    char d[8];
    if (digits(s, n, i) < 4)
        Py_RETURN_NONE;
    memcpy(d, s + i, 4);
    i += 4;
    if (i < n && s[i] == '-')
        i++;
    if (digits(s, n, i) < 3 || i + 4 != n || !(dig(s[i + 3]) || low(s[i + 3]) == 'x'))
        Py_RETURN_NONE;
    memcpy(d + 4, s + i, 4);
    if (d[7] == 'x')
        d[7] = 'X';
    int total = 0;
    for (int w = 0; w < 7; w++)
        total += (d[w] - '0') * (8 - w);
    int check = (11 - total % 11) % 11;
    if (d[7] != (check == 10 ? 'X' : '0' + check))
        Py_RETURN_NONE;
    char out[9] = {d[0], d[1], d[2], d[3], '-', d[4], d[5], d[6], d[7]};
    return PyUnicode_FromStringAndSize(out, 9);
}

/* _ISBN_PREFIX at 0: its length, else -1 */
static Py_ssize_t isbn_prefix(const char *s, Py_ssize_t n) {
    Py_ssize_t k, i;
    if ((k = lit(s, n, 0, "urn:isbn:")) >= 0)
        return k;
    if ((k = lit(s, n, 0, "isbn")) < 0)
        return -1;
    i = k;
    if (i + 2 < n && s[i] == '-' && s[i + 1] == '1' && (s[i + 2] == '0' || s[i + 2] == '3'))
        i += 3;
    if (i < n && s[i] == ':')
        i++;
    return spaces(s, n, i);
}

/* normalise_isbn(s[0..n)), already stripped */
static PyObject *isbn(const char *s, Py_ssize_t n) {
    Py_ssize_t i = isbn_prefix(s, n), m = 0;
    char d[14];
    for (i = i < 0 ? 0 : i; i < n; i++) {
        if (ws(s[i]) || s[i] == '-')
            continue;
        if (m == 14)
            Py_RETURN_NONE;
        d[m++] = s[i] == 'x' ? 'X' : s[i];
    }
    int total = 0;
    if (m == 10) {
        for (int j = 0; j < 9; j++)
            if (!dig(d[j]))
                Py_RETURN_NONE;
        if (!dig(d[9]) && d[9] != 'X')
            Py_RETURN_NONE;
        for (int j = 0; j < 10; j++)
            total += (10 - j) * (d[j] == 'X' ? 10 : d[j] - '0');
        if (total % 11)
            Py_RETURN_NONE;
        memmove(d + 3, d, 9);
        d[0] = '9', d[1] = '7', d[2] = '8';
        total = 0;
        for (int j = 0; j < 12; j++)
            total += (j % 2 ? 3 : 1) * (d[j] - '0');
        d[12] = '0' + (10 - total % 10) % 10;
        return PyUnicode_FromStringAndSize(d, 13);
    }
    if (m != 13 || d[0] != '9' || d[1] != '7' || (d[2] != '8' && d[2] != '9'))
        Py_RETURN_NONE;
    for (int j = 0; j < 13; j++) {
        if (!dig(d[j]))
            Py_RETURN_NONE;
        total += (j % 2 ? 3 : 1) * (d[j] - '0');
    }
    if (total % 10)
        Py_RETURN_NONE;
    return PyUnicode_FromStringAndSize(d, 13);
}

/* classify_identifier for ASCII s[0..n) and hint h (stripped, lower-cased); NotImplemented
 * (a new reference) when the Python function must decide */
static PyObject *classify(const char *value, Py_ssize_t n, const char *h) {
    Py_ssize_t a = 0, b = n, k;
    while (a < b && ws(value[a]))
        a++;
    while (b > a && ws(value[b - 1]))
        b--;
    if (a == b)
        Py_RETURN_NONE;
    const char *v = value + a;
    n = b - a;
    int doi_like = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (v[i] == '%')
            Py_RETURN_NOTIMPLEMENTED;   /* unquote: percent escapes may decode to anything */
        if (v[i] == '1' && i + 2 < n && v[i + 1] == '0' && v[i + 2] == '.')
            doi_like = 1;
    }
    if (doi_like) {
        Py_ssize_t i = doi_prefix(v, n), e = n;
        while (i < e && ws(v[i]))
            i++;
        if (doi_match(v, i, e))
            return pair(str_doi, piece(v, i, e, 1));
    }
    Py_ssize_t hp = handle_prefix(v, n);
    if (hp >= 0 || (!strcmp(h, "handle") && handle_match(v, 0, n))) {
        Py_ssize_t i = hp < 0 ? 0 : hp;
        i = spaces(v, n, i);
        return handle_match(v, i, n) ? pair(str_handle, piece(v, i, n, 1)) : (Py_INCREF(Py_None), Py_None);
    }
    int has_arxiv = 0, has_ark = 0, has_nbn = 0, has_cstr = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        has_arxiv = has_arxiv || lit(v, n, i, "arxiv") >= 0;
        has_ark = has_ark || lit(v, n, i, "ark:") >= 0;
        has_nbn = has_nbn || lit(v, n, i, "urn:nbn:") >= 0;
        has_cstr = has_cstr || lit(v, n, i, "cstr") >= 0;
    }
    Py_ssize_t ap = has_arxiv ? arxiv_prefix(v, n) : -1;
    if (!strcmp(h, "arxiv") || ap >= 0) {
        Py_ssize_t i = ap < 0 ? 0 : ap, e = arxiv_match(v, i, n);
        return e >= 0 ? pair(str_arxiv, piece(v, i, e, 1)) : (Py_INCREF(Py_None), Py_None);
    }
    if (has_ark && (k = ark_match(v, n)) >= 0)
        return pair(str_ark, piece(v, k, n, 0));
    if (has_nbn && (k = urn_nbn_match(v, n)) >= 0)
        return pair(str_urn, piece(v, k, n, 1));
    if ((has_cstr && (k = cstr_match(v, n)) >= 0) || (!strcmp(h, "cstr") && cstr_tail(v, n, 0) && (k = 0) == 0))
        return pair(str_cstr, piece(v, k, n, 1));
    if (!strcmp(h, "issn") || !strcmp(h, "eissn") || !strcmp(h, "pissn") || !strcmp(h, "lissn")
            || lit(v, n, 0, "issn") >= 0 || lit(v, n, 0, "urn:issn:") >= 0) {
        PyObject *found = issn(v, n);
        return found == Py_None || !found ? found : pair(str_issn, found);
    }
    if (!strcmp(h, "isbn") || isbn_prefix(v, n) >= 0) {
        PyObject *found = isbn(v, n);
        return found == Py_None || !found ? found : pair(str_isbn, found);
    }
    if ((k = http(v, n, 0)) >= 0 && nonspace_to_end(v, n, k))
        return pair(str_url, piece(v, 0, n, 0));
    Py_RETURN_NONE;
}

static PyObject *classify_identifier(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "classify_identifier(value, hint=None)");
        return NULL;
    }
    PyObject *value = args[0], *hint = nargs > 1 ? args[1] : Py_None;
    if (value == Py_None)
        Py_RETURN_NONE;
    char h[16] = "";
    int fast = PyUnicode_CheckExact(value) && PyUnicode_IS_ASCII(value);
    if (fast && hint != Py_None) {   /* (hint or "").strip().lower(); a long hint is no hint this code knows */
        if (!PyUnicode_CheckExact(hint) || !PyUnicode_IS_ASCII(hint))
            fast = 0;
        else {
            const char *s = (const char *)PyUnicode_1BYTE_DATA(hint);
            Py_ssize_t a = 0, b = PyUnicode_GET_LENGTH(hint);
            while (a < b && ws(s[a]))
                a++;
            while (b > a && ws(s[b - 1]))
                b--;
            if (b - a >= (Py_ssize_t)sizeof(h))
                strcpy(h, "?");   /* longer than any hint compared with */
            else {
                for (Py_ssize_t i = a; i < b; i++)
                    h[i - a] = low(s[i]);
                h[b - a] = 0;
            }
        }
    }
    if (fast) {
        PyObject *found = classify((const char *)PyUnicode_1BYTE_DATA(value), PyUnicode_GET_LENGTH(value), h);
        if (found != Py_NotImplemented)
            return found;
        Py_DECREF(found);
    }
    if (!py_classify) {
        PyErr_SetString(PyExc_RuntimeError, "harvest.crosswalk._walk.set_fallbacks() was not called");
        return NULL;
    }
    return PyObject_Vectorcall(py_classify, args, nargs, NULL);
}

/* normalise_orcid: (\d{4}-?\d{4}-?\d{4}-?\d{3}[\dX])$ searched in the stripped value (re.I), then
 * the ISO 7064 11,2 check digit */
static int orcid_at(const char *s, Py_ssize_t i, Py_ssize_t n, char *d) {
    int m = 0;
    for (int group = 0; group < 4; group++) {
        for (int j = 0; j < 4; j++) {
            if (i >= n)
                return 0;
            char c = s[i++];
            if (!(dig(c) || (group == 3 && j == 3 && low(c) == 'x')))
                return 0;
            d[m++] = c == 'x' ? 'X' : c;
        }
        if (group < 3 && i < n && s[i] == '-')
            i++;
    }
    return i == n;
}

static PyObject *normalise_orcid(PyObject *self, PyObject *value) {
    if (value == Py_None)
        Py_RETURN_NONE;
    if (PyUnicode_CheckExact(value) && PyUnicode_IS_ASCII(value)) {
        const char *s = (const char *)PyUnicode_1BYTE_DATA(value);
        Py_ssize_t a = 0, b = PyUnicode_GET_LENGTH(value);
        if (b == 0)
            Py_RETURN_NONE;
        while (a < b && ws(s[a]))
            a++;
        while (b > a && ws(s[b - 1]))
            b--;
        char d[16];
        int found = 0;
        for (Py_ssize_t i = b - 19 > a ? b - 19 : a; i <= b - 16 && !found; i++)   /* the leftmost match */
            found = orcid_at(s, i, b, d);
        if (!found)
            Py_RETURN_NONE;
        int total = 0;
        for (int j = 0; j < 15; j++)
            total = (total + d[j] - '0') * 2;
        int check = (12 - total % 11) % 11;
        if (d[15] != (check == 10 ? 'X' : '0' + check))
            Py_RETURN_NONE;
        char out[19];
        for (int j = 0, o = 0; j < 16; j++) {
            if (j && j % 4 == 0)
                out[o++] = '-';
            out[o++] = d[j];
        }
        return PyUnicode_FromStringAndSize(out, 19);
    }
    if (!py_orcid) {
        PyErr_SetString(PyExc_RuntimeError, "harvest.crosswalk._walk.set_fallbacks() was not called");
        return NULL;
    }
    return PyObject_CallOneArg(py_orcid, value);
}

static PyObject *set_fallbacks(PyObject *self, PyObject *args) {
    PyObject *classify_fn, *orcid_fn;
    if (!PyArg_ParseTuple(args, "OO", &classify_fn, &orcid_fn))
        return NULL;
    Py_INCREF(classify_fn);
    Py_INCREF(orcid_fn);
    Py_XSETREF(py_classify, classify_fn);
    Py_XSETREF(py_orcid, orcid_fn);
    Py_RETURN_NONE;
}

/* ---- the DataCite/OpenAIRE walk to its fields in one pass (harvest/crosswalk/datacite.py: _walk) --
 * datacite_fields(metadata) -> dict | None | NotImplemented: the dict `_walk(find_resource(m))`
 * gives, read straight from libxml2's nodes: only the strings the fields keep are made. year_of,
 * normalise_resource_type, normalise_language and normalise_orcid are the functions given to
 * set_datacite_helpers(); names are split here for ASCII (else by the split_name given).
 * NotImplemented for anything the lxml walk must see (an entity reference, ...). */
static PyObject *py_year_of = NULL, *py_resource_type = NULL, *py_language = NULL, *py_split_name = NULL,
                *py_normalise_orcid = NULL;
static PyObject *str_lower, *str_upper;   /* str.lower and str.upper */

typedef struct {
    buffer b;
    int status;   /* 0; 1: leave the record to the Python walk; -1: error set */
} dwalk;

/* element_text(el): a new reference (None when empty), or NULL with w->status set */
static PyObject *dtext(dwalk *w, xnode *el) {
    w->b.len = 0;
    int r = collect_text(el, &w->b);
    if (r) {
        w->status = r < 0 ? -1 : 1;
        return NULL;
    }
    PyObject *v = make_value(w->b.data, w->b.len);
    if (!v) {
        if (PyErr_Occurred()) {
            w->status = -1;
            return NULL;
        }
        Py_RETURN_NONE;
    }
    return v;
}

/* el.get(name), an attribute in no namespace: a new reference (None when absent) */
static PyObject *dattr(dwalk *w, xnode *el, const char *name) {
    for (xattr *a = (xattr *)el->properties; a; a = a->next) {
        if (a->ns || strcmp((const char *)a->name, name))
            continue;
        PyObject *v = NULL;
        int r = attr_value(a, &v);
        if (r) {
            w->status = r < 0 ? -1 : 1;
            return NULL;
        }
        return v;
    }
    Py_RETURN_NONE;
}

static int truthy(PyObject *v) { return v != Py_None && PyUnicode_GET_LENGTH(v) > 0; }

/* a or b: steals both references, returns one */
static PyObject *either(PyObject *a, PyObject *b) {
    if (!a || !b) {
        Py_XDECREF(a);
        Py_XDECREF(b);
        return NULL;
    }
    if (truthy(a)) {
        Py_DECREF(b);
        return a;
    }
    Py_DECREF(a);
    return b;
}

/* fn(arg), stealing arg: a new reference, or NULL with w->status set */
static PyObject *call1(dwalk *w, PyObject *fn, PyObject *arg) {
    if (!arg)
        return NULL;
    PyObject *r = PyObject_CallOneArg(fn, arg);
    Py_DECREF(arg);
    if (!r)
        w->status = -1;
    return r;
}

/* (el.get(name) or "").lower(): a new reference */
static PyObject *dattr_lower(dwalk *w, xnode *el, const char *name) {
    PyObject *v = dattr(w, el, name);
    if (v == Py_None) {
        Py_DECREF(v);
        return PyUnicode_FromStringAndSize("", 0);
    }
    return call1(w, str_lower, v);
}

/* the element children of el, one after another; NULL at the end (w->status 1 for a node of a kind
 * the Python walk must see) */
static xnode *next_element(dwalk *w, xnode *c) {
    for (; c; c = c->next) {
        if (c->type == ELEMENT_NODE)
            return c;
        if (c->type != TEXT_NODE && c->type != CDATA_SECTION_NODE && c->type != COMMENT_NODE && c->type != PI_NODE) {
            w->status = 1;
            return NULL;
        }
    }
    return NULL;
}

#define EACH_ELEMENT(w, k, parent) for (xnode *k = next_element(w, (parent)->children); k; k = next_element(w, k->next))
#define IS(node, s) (strcmp((const char *)(node)->name, s) == 0)

/* split_name(name): the family name in 'Family, Given' or 'Given Family' (ASCII here) */
static PyObject *split_name(PyObject *name) {
    if (!PyUnicode_IS_ASCII(name))
        return PyObject_CallOneArg(py_split_name, name);
    const char *s = (const char *)PyUnicode_1BYTE_DATA(name);
    Py_ssize_t n = PyUnicode_GET_LENGTH(name), a = 0, b;
    const char *comma = memchr(s, ',', n);
    if (comma) {
        b = comma - s;
        while (a < b && ws(s[a]))
            a++;
        while (b > a && ws(s[b - 1]))
            b--;
        return PyUnicode_Substring(name, a, b);
    }
    b = n;
    while (b > 0 && ws(s[b - 1]))
        b--;
    if (b == 0) {
        Py_INCREF(name);
        return name;
    }
    a = b;
    while (a > 0 && !ws(s[a - 1]))
        a--;
    return PyUnicode_Substring(name, a, b);
}

/* _creator(el): (name, family_name, orcid, affiliation) or None */
static PyObject *dcreator(dwalk *w, xnode *el) {
    PyObject *name = NULL, *family = NULL, *orcid = NULL, *affiliation = NULL, *v, *out = NULL;
    EACH_ELEMENT(w, c, el) {
        if (IS(c, "creatorName") || IS(c, "contributorName")) {
            if (!(v = dtext(w, c)))
                goto done;
            Py_XSETREF(name, v);
        } else if (IS(c, "familyName")) {
            if (!(v = dtext(w, c)))
                goto done;
            Py_XSETREF(family, v);
        } else if (IS(c, "affiliation")) {
            if (!affiliation || affiliation == Py_None) {
                if (!(v = dtext(w, c)))
                    goto done;
                Py_XSETREF(affiliation, v);
            }
        } else if (IS(c, "nameIdentifier")) {
            PyObject *scheme = dattr(w, c, "nameIdentifierScheme");
            if (!scheme)
                goto done;
            int is_orcid = 0;
            if (scheme == Py_None)
                Py_DECREF(scheme);
            else {
                PyObject *up = call1(w, str_upper, scheme);
                if (!up)
                    goto done;
                is_orcid = PyUnicode_CompareWithASCIIString(up, "ORCID") == 0;
                Py_DECREF(up);
            }
            if (is_orcid) {
                if (!(v = dtext(w, c)))
                    goto done;
                PyObject *found = PyObject_CallOneArg(py_normalise_orcid, v);
                Py_DECREF(v);
                if (!found) {
                    w->status = -1;
                    goto done;
                }
                Py_XSETREF(orcid, found);
            }
        }
    }
    if (w->status)
        goto done;
    if (!name || !truthy(name)) {
        out = Py_None;
        Py_INCREF(out);
        goto done;
    }
    PyObject *fam = family && truthy(family) ? (Py_INCREF(family), family) : split_name(name);
    if (!fam) {
        w->status = -1;
        goto done;
    }
    out = PyTuple_Pack(4, name, fam, orcid ? orcid : Py_None, affiliation ? affiliation : Py_None);
    if (!out)
        w->status = -1;
    Py_DECREF(fam);
done:
    Py_XDECREF(name);
    Py_XDECREF(family);
    Py_XDECREF(orcid);
    Py_XDECREF(affiliation);
    return out;
}

/* list.append(item), stealing item; 0, or -1 with w->status set */
static int add(dwalk *w, PyObject *list, PyObject *item) {
    if (!item) {
        if (!w->status)
            w->status = -1;
        return -1;
    }
    int r = PyList_Append(list, item);
    Py_DECREF(item);
    if (r < 0)
        w->status = -1;
    return r;
}

/* (a, b) and (a, b, c), stealing the references; NULL if one is NULL */
static PyObject *tuple2(PyObject *a, PyObject *b) {
    PyObject *t = a && b ? PyTuple_Pack(2, a, b) : NULL;
    Py_XDECREF(a);
    Py_XDECREF(b);
    return t;
}

static PyObject *tuple3(PyObject *a, PyObject *b, PyObject *c) {
    PyObject *t = a && b && c ? PyTuple_Pack(3, a, b, c) : NULL;
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(c);
    return t;
}

static int set_item(dwalk *w, PyObject *out, const char *key, PyObject *value) {
    if (!value) {
        if (!w->status)
            w->status = -1;
        return -1;
    }
    int r = PyDict_SetItemString(out, key, value);
    Py_DECREF(value);
    if (r < 0)
        w->status = -1;
    return r;
}

static PyObject *datacite_fields(PyObject *self, PyObject *metadata) {
    if (!py_year_of) {
        PyErr_SetString(PyExc_RuntimeError, "harvest.crosswalk._walk.set_datacite_helpers() was not called");
        return NULL;
    }
    xnode *node = node_of(metadata);
    if (!node)
        return NULL;
    xnode *resource = first_named(node, "resource", 1);
    if (!resource)
        Py_RETURN_NONE;
    static const char *lists[] = {"titles", "creators", "subjects", "descriptions", "ids", "related", "dates", "rights"};
    PyObject *l[8] = {NULL};
    PyObject *out = PyDict_New();
    dwalk w;
    w.b.data = w.b.small;
    w.b.cap = sizeof(w.b.small);
    w.b.len = 0;
    w.status = out ? 0 : -1;
    for (int i = 0; i < 8 && !w.status; i++)
        if (!(l[i] = PyList_New(0)) || PyDict_SetItemString(out, lists[i], l[i]) < 0)
            w.status = -1;
    static const char *nones[] = {"publisher", "year", "type", "language"};
    for (int i = 0; i < 4 && !w.status; i++)
        if (PyDict_SetItemString(out, nones[i], Py_None) < 0)
            w.status = -1;
    PyObject *titles = l[0], *creators = l[1], *subjects = l[2], *descriptions = l[3], *ids = l[4], *related = l[5],
             *dates = l[6], *rights = l[7];
    if (!w.status) {
        EACH_ELEMENT(&w, c, resource) {
            if (IS(c, "creators")) {
                EACH_ELEMENT(&w, k, c) {
                    if (IS(k, "creator") && add(&w, creators, dcreator(&w, k)) < 0)
                        break;
                }
            } else if (IS(c, "titles")) {
                EACH_ELEMENT(&w, k, c) {
                    PyObject *v = dtext(&w, k);
                    if (!v)
                        break;
                    if (!truthy(v)) {
                        Py_DECREF(v);
                        continue;
                    }
                    if (add(&w, titles, tuple2(dattr(&w, k, "titleType"), v)) < 0)
                        break;
                }
            } else if (IS(c, "subjects")) {
                EACH_ELEMENT(&w, k, c) {
                    if (add(&w, subjects, dtext(&w, k)) < 0)
                        break;
                }
            } else if (IS(c, "identifier")) {
                PyObject *v = dtext(&w, c);
                add(&w, ids, tuple2(v, v ? dattr(&w, c, "identifierType") : NULL));
            } else if (IS(c, "alternateIdentifiers")) {
                EACH_ELEMENT(&w, k, c) {
                    PyObject *v = dtext(&w, k);
                    if (add(&w, ids, tuple2(v, v ? dattr(&w, k, "alternateIdentifierType") : NULL)) < 0)
                        break;
                }
            } else if (IS(c, "descriptions")) {
                EACH_ELEMENT(&w, k, c) {
                    PyObject *kind = dattr(&w, k, "descriptionType");
                    if (!kind)
                        break;
                    int abstract = !truthy(kind) || PyUnicode_CompareWithASCIIString(kind, "Abstract") == 0;
                    Py_DECREF(kind);
                    if (abstract && add(&w, descriptions, dtext(&w, k)) < 0)
                        break;
                }
            } else if (IS(c, "dates")) {
                EACH_ELEMENT(&w, k, c) {
                    PyObject *kind = dattr_lower(&w, k, "dateType");
                    if (add(&w, dates, tuple2(kind, kind ? dtext(&w, k) : NULL)) < 0)
                        break;
                }
            } else if (IS(c, "relatedIdentifiers")) {
                EACH_ELEMENT(&w, k, c) {
                    PyObject *rel = dattr(&w, k, "relationType");
                    PyObject *v = rel ? dtext(&w, k) : NULL;
                    PyObject *kind = v ? dattr(&w, k, "relatedIdentifierType") : NULL;
                    if (add(&w, related, tuple3(rel, v, kind)) < 0)
                        break;
                }
            } else if (IS(c, "rightsList")) {
                EACH_ELEMENT(&w, k, c) {
                    PyObject *v = dattr(&w, k, "rightsURI");
                    if (v && !truthy(v))
                        v = either(v, dattr(&w, k, "rightsIdentifier"));
                    if (v && !truthy(v))
                        v = either(v, dtext(&w, k));
                    if (add(&w, rights, v) < 0)
                        break;
                }
            } else if (IS(c, "publisher")) {
                set_item(&w, out, "publisher", dtext(&w, c));
            } else if (IS(c, "publicationYear")) {
                set_item(&w, out, "year", call1(&w, py_year_of, dtext(&w, c)));
            } else if (IS(c, "resourceType")) {
                PyObject *written[3] = {dattr(&w, c, "uri"), NULL, NULL};
                if (written[0])
                    written[1] = dattr(&w, c, "resourceTypeGeneral");
                if (written[1])
                    written[2] = dtext(&w, c);
                PyObject *type = NULL, *raw = NULL;
                for (int i = 0; i < 3 && written[2] && !type; i++) {
                    PyObject *t = PyObject_CallOneArg(py_resource_type, written[i]);
                    if (!t) {
                        w.status = -1;
                        break;
                    }
                    if (PyObject_IsTrue(t)) {
                        type = t;
                        raw = written[i];
                        Py_INCREF(raw);
                    } else
                        Py_DECREF(t);
                }
                for (int i = 0; i < 3; i++)
                    Py_XDECREF(written[i]);
                if (!w.status) {
                    if (!type) {
                        type = Py_None, raw = Py_None;
                        Py_INCREF(type);
                        Py_INCREF(raw);
                    }
                    set_item(&w, out, "type", type);
                    set_item(&w, out, "type_raw", raw);
                }
            } else if (IS(c, "language")) {
                PyObject *v = dtext(&w, c);
                if (v) {
                    Py_INCREF(v);
                    set_item(&w, out, "language_raw", v);
                    set_item(&w, out, "language", call1(&w, py_language, v));
                }
            } else if (IS(c, "subject")) {
                add(&w, subjects, dtext(&w, c));
            } else if (IS(c, "description")) {
                add(&w, descriptions, dtext(&w, c));
            } else if (IS(c, "date")) {
                PyObject *kind = dattr_lower(&w, c, "dateType");
                add(&w, dates, tuple2(kind, kind ? dtext(&w, c) : NULL));
            } else if (IS(c, "rights") || IS(c, "licenseCondition")) {
                PyObject *v = dattr(&w, c, "rightsURI");
                if (v && !truthy(v))
                    v = either(v, dattr(&w, c, "uri"));
                if (v && !truthy(v))
                    v = either(v, dtext(&w, c));
                add(&w, rights, v);
            }
            if (w.status)
                break;
        }
    }
    for (int i = 0; i < 8; i++)
        Py_XDECREF(l[i]);
    if (w.b.data != w.b.small)
        PyMem_Free(w.b.data);
    if (w.status) {
        Py_XDECREF(out);
        if (w.status < 0)
            return NULL;
        Py_RETURN_NOTIMPLEMENTED;
    }
    return out;
}

static PyObject *set_datacite_helpers(PyObject *self, PyObject *args) {
    PyObject *fns[5];
    if (!PyArg_ParseTuple(args, "OOOOO", &fns[0], &fns[1], &fns[2], &fns[3], &fns[4]))
        return NULL;
    PyObject **slots[] = {&py_year_of, &py_resource_type, &py_language, &py_split_name, &py_normalise_orcid};
    for (int i = 0; i < 5; i++) {
        Py_INCREF(fns[i]);
        Py_XSETREF(*slots[i], fns[i]);
    }
    Py_RETURN_NONE;
}

/* ---- the records of a ListRecords page as bytes (harvest/oai/page.py: record_bytes) -------------
 * cut_records(content, pos, count, open_tag, close_tag, head) -> ([head + record, ...], end) | None:
 * the loop of record_bytes, with memmem for its two searches a record (bytes.find's skip table
 * does poorly on a needle that starts with '<' in XML), same rules and same answers. */
static const char *find_in(const char *s, Py_ssize_t from, Py_ssize_t to, const char *needle, Py_ssize_t m) {
    if (to - from < m)
        return NULL;
    return memmem(s + from, to - from, needle, m);
}

static PyObject *cut_records(PyObject *self, PyObject *args) {
    Py_buffer content;
    Py_ssize_t pos, count, n, cn, hn;
    const char *open_tag, *close_tag, *head;
    if (!PyArg_ParseTuple(args, "y*nny#y#y#", &content, &pos, &count, &open_tag, &n, &close_tag, &cn, &head, &hn))
        return NULL;
    const char *s = content.buf;
    Py_ssize_t len = content.len;
    PyObject *out = PyList_New(0);
    if (!out)
        goto fail;
    for (Py_ssize_t item = 0; item < count; item++) {
        while (pos < len && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\r' || s[pos] == '\n'))
            pos++;
        if (pos < 0 || pos + n + 1 > len || memcmp(s + pos, open_tag, n) || s[pos + n] != '>')
            goto none;
        Py_ssize_t depth = 1, k = pos + n + 1, close = -1;
        while (depth) {
            const char *hit;
            if (close < k) {   /* the first end tag from k on; kept while k has not passed it */
                if (!(hit = find_in(s, k, len, close_tag, cn)))
                    goto none;
                close = hit - s;
            }
            hit = find_in(s, k, close, open_tag, n);
            if (hit) {   /* an element of the same name inside */
                Py_ssize_t nested = hit - s;
                char after = s[nested + n];
                if (after == '>' || after == ' ' || after == '\t' || after == '\r' || after == '\n') {
                    const char *gt = memchr(s + nested, '>', len - nested);
                    if (!gt || gt - s > close)
                        goto none;
                    depth += gt[-1] != '/';
                    k = gt - s + 1;
                } else if (after == '/')
                    k = nested + n + 2;
                else   /* a longer name */
                    k = nested + n;
                continue;
            }
            depth--;
            k = close + cn;
        }
        PyObject *record = PyBytes_FromStringAndSize(NULL, hn + k - pos - n);
        if (!record)
            goto fail;
        memcpy(PyBytes_AS_STRING(record), head, hn);
        memcpy(PyBytes_AS_STRING(record) + hn, s + pos + n, k - pos - n);
        int bad = PyList_Append(out, record);
        Py_DECREF(record);
        if (bad)
            goto fail;
        pos = k;
    }
    PyBuffer_Release(&content);
    PyObject *result = Py_BuildValue("(Nn)", out, pos);
    return result;
none:
    Py_DECREF(out);
    PyBuffer_Release(&content);
    Py_RETURN_NONE;
fail:
    Py_XDECREF(out);
    PyBuffer_Release(&content);
    return NULL;
}

/* ---- the whole oai_dc crosswalk (harvest/crosswalk/oai_dc.py: py_map_oai_dc, with base.finish) ----
 * dc_values(metadata) -> Values | NotImplemented: the tuple py_map_oai_dc(metadata) returns, built
 * from dc_fields' dict without a Python frame. The normalisers are the Python functions given to
 * set_dc_helpers() (cached: a call is a dictionary lookup); identifiers go through
 * classify_identifier above. NotImplemented leaves the record to Python: what dc_fields leaves,
 * no dc element, no title or no identifier (Python raises Unmappable for those), a creator with
 * ';' (its affiliation is split there). */
enum { H_TYPE, H_LANGUAGE, H_YEAR, H_LICENSE, H_CREATOR, H_ISSN, H_SPLIT_NAME, N_HELPERS };
static PyObject *dc_helper[N_HELPERS];
enum { K_TITLE, K_CREATOR, K_SUBJECT, K_DESCRIPTION, K_PUBLISHER, K_DATE, K_TYPE, K_LANGUAGE, K_RIGHTS,
       K_RELATION, K_SOURCE, K_IDENTIFIER, N_KEYS };
static const char *dc_key_names[N_KEYS] = {"title", "creator", "subject", "description", "publisher", "date", "type",
                                           "language", "rights", "relation", "source", "identifier"};
static PyObject *dc_key[N_KEYS];
static PyObject *str_references, *str_is_part_of, *str_issn_hint, *str_resource_type, *str_language, *str_license;
/* PID_SCHEMES (harvest/crosswalk/normalize.py): best_pid's order */
static const char *pid_order[] = {"doi", "handle", "ark", "urn", "arxiv", "cstr", "isbn"};
/* pid_url's resolvers */
static const char *resolver_scheme[] = {"doi", "handle", "arxiv", "ark", "cstr"};
static const char *resolver_base[] = {"https://doi.org/", "https://hdl.handle.net/", "https://arxiv.org/abs/",
                                      "https://n2t.net/ark:/", "https://cstr.cn/"};

/* f.get(name): a borrowed list, or NULL (no error) when absent */
static PyObject *dc_list(PyObject *f, int key) {
    PyObject *v = PyDict_GetItemWithError(f, dc_key[key]);
    return v && PyList_CheckExact(v) ? v : NULL;
}

static int has_alnum(PyObject *s) {
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    for (Py_ssize_t i = 0; i < n; i++)
        if (Py_UNICODE_ISALNUM(PyUnicode_READ(kind, data, i)))
            return 1;
    return 0;
}

static int is_ascii(PyObject *s, const char *text) { return PyUnicode_CompareWithASCIIString(s, text) == 0; }

/* classify_identifier(value, hint): a new reference */
static PyObject *classify2(PyObject *value, PyObject *hint) {
    PyObject *args[2] = {value, hint};
    return classify_identifier(NULL, args, 2);
}

/* a truthy result of helper(arg): a new reference, Py_None (new) when falsy, NULL on error */
static PyObject *helper(int which, PyObject *arg) {
    return PyObject_CallOneArg(dc_helper[which], arg);
}

static PyObject *dc_values_node(xnode *node);

static PyObject *dc_values(PyObject *self, PyObject *metadata) {
    xnode *node = node_of(metadata);
    return node ? dc_values_node(node) : NULL;
}

static PyObject *dc_values_node(xnode *node) {
    if (!dc_helper[0]) {
        PyErr_SetString(PyExc_RuntimeError, "harvest.crosswalk._walk.set_dc_helpers() was not called");
        return NULL;
    }
    PyObject *f = dc_fields_node(node);
    if (!f)
        return NULL;
    if (f == Py_None || f == Py_NotImplemented) {
        Py_DECREF(f);
        Py_RETURN_NOTIMPLEMENTED;
    }
    PyObject *out = NULL, *creators = NULL, *subjects = NULL, *seen = NULL, *ids = NULL, *kept = NULL, *rel = NULL;
    PyObject *rtype = NULL, *rtype_raw = NULL, *first_type = NULL, *first_type_raw = NULL, *lang = NULL;
    PyObject *lang_raw = NULL, *year = NULL, *license = NULL, *landing = NULL, *pid = NULL, *t = NULL;
    PyObject *list, *v;
    int unmapped = 0;
    Py_ssize_t i;

    PyObject *titles = dc_list(f, K_TITLE), *identifiers = dc_list(f, K_IDENTIFIER);
    if (PyErr_Occurred())
        goto done;
    if (!titles || !PyList_GET_SIZE(titles) || !identifiers || !PyList_GET_SIZE(identifiers)) {
        unmapped = 1;   /* Python says why: missing_title, missing_identifier */
        goto done;
    }
    /* creators: (name, family, None, None) where there is no ';' to split off */
    if (!(creators = PyList_New(0)))
        goto done;
    if ((list = dc_list(f, K_CREATOR))) {
        for (i = 0; i < PyList_GET_SIZE(list); i++) {
            PyObject *name = PyList_GET_ITEM(list, i);
            if (PyUnicode_FindChar(name, ';', 0, PyUnicode_GET_LENGTH(name), 1) != -1) {
                unmapped = 1;
                goto done;
            }
            PyObject *family = PyUnicode_IS_ASCII(name) ? split_name(name) : helper(H_SPLIT_NAME, name);
            if (!family)
                goto done;
            t = PyTuple_Pack(4, name, family, Py_None, Py_None);
            Py_DECREF(family);
            if (!t || PyList_Append(creators, t) < 0)
                goto done;
            Py_CLEAR(t);
        }
    }
    /* subjects, each once, in order */
    if (!(subjects = PyList_New(0)) || !(seen = PySet_New(NULL)))
        goto done;
    if ((list = dc_list(f, K_SUBJECT))) {
        for (i = 0; i < PyList_GET_SIZE(list); i++) {
            v = PyList_GET_ITEM(list, i);
            int known = PySet_Contains(seen, v);
            if (known < 0 || (!known && (PySet_Add(seen, v) < 0 || PyList_Append(subjects, v) < 0)))
                goto done;
        }
    }
    /* resource type: the first that is not Text, else the first */
    if ((list = dc_list(f, K_TYPE))) {
        for (i = 0; i < PyList_GET_SIZE(list) && !rtype; i++) {
            PyObject *raw = PyList_GET_ITEM(list, i);
            if (!(v = helper(H_TYPE, raw)))
                goto done;
            if (v == Py_None || !PyUnicode_Check(v) || !PyUnicode_GET_LENGTH(v)) {
                if (v != Py_None && !PyUnicode_Check(v)) {
                    Py_DECREF(v);
                    unmapped = 1;
                    goto done;
                }
                Py_DECREF(v);
                continue;
            }
            if (!first_type) {
                first_type = v;
                Py_INCREF(v);
                first_type_raw = raw;
                Py_INCREF(raw);
            }
            if (!is_ascii(v, "Text")) {
                rtype = v;
                rtype_raw = raw;
                Py_INCREF(raw);
            } else
                Py_DECREF(v);
        }
        if (!rtype && first_type) {
            rtype = first_type;
            rtype_raw = first_type_raw;
            Py_INCREF(rtype);
            Py_INCREF(rtype_raw);
        }
    }
    /* language: the first that normalises */
    if ((list = dc_list(f, K_LANGUAGE))) {
        for (i = 0; i < PyList_GET_SIZE(list) && !lang; i++) {
            PyObject *raw = PyList_GET_ITEM(list, i);
            if (!(v = helper(H_LANGUAGE, raw)))
                goto done;
            if (v != Py_None && !PyUnicode_Check(v)) {
                Py_DECREF(v);
                unmapped = 1;
                goto done;
            }
            if (v != Py_None && PyUnicode_GET_LENGTH(v)) {
                lang = v;
                lang_raw = raw;
                Py_INCREF(raw);
            } else
                Py_DECREF(v);
        }
    }
    /* year: the smallest found */
    if ((list = dc_list(f, K_DATE))) {
        for (i = 0; i < PyList_GET_SIZE(list); i++) {
            if (!(v = helper(H_YEAR, PyList_GET_ITEM(list, i))))
                goto done;
            int truth = PyObject_IsTrue(v), less = 0;
            if (truth > 0 && year && (less = PyObject_RichCompareBool(v, year, Py_LT)) < 0)
                truth = -1;
            if (truth < 0) {
                Py_DECREF(v);
                goto done;
            }
            if (truth && (!year || less))
                Py_XSETREF(year, v);
            else
                Py_DECREF(v);
        }
    }
    /* licence: pick_license_from(rights) -> (licence, the statement it came from) */
    list = dc_list(f, K_RIGHTS);
    if (!(license = helper(H_LICENSE, list ? list : Py_None)))
        goto done;
    if (!PyTuple_CheckExact(license) || PyTuple_GET_SIZE(license) != 2) {
        unmapped = 1;
        goto done;
    }
    /* identifiers: classified, each once; the written form kept where it differs */
    if (!(ids = PyList_New(0)) || !(kept = PyList_New(0)))
        goto done;
    for (i = 0; i < PyList_GET_SIZE(identifiers); i++) {
        PyObject *value = PyList_GET_ITEM(identifiers, i);
        PyObject *found = classify2(value, Py_None);
        if (!found)
            goto done;
        int known = found == Py_None ? 1 : PySequence_Contains(ids, found);
        if (known < 0 || (!known && PyList_Append(ids, found) < 0)) {
            Py_DECREF(found);
            goto done;
        }
        if (!known) {
            PyObject *scheme = PyTuple_GET_ITEM(found, 0), *norm = PyTuple_GET_ITEM(found, 1);
            int differs = is_ascii(scheme, "url") ? 0 : PyObject_RichCompareBool(value, norm, Py_NE);
            if (differs > 0) {
                PyObject *label = PyUnicode_FromFormat("identifier:%U", scheme);
                t = label ? PyTuple_Pack(2, label, value) : NULL;
                Py_XDECREF(label);
                if (!t || PyList_Append(kept, t) < 0)
                    differs = -1;
                Py_CLEAR(t);
            }
            if (differs < 0) {
                Py_DECREF(found);
                goto done;
            }
        }
        Py_DECREF(found);
    }
    if (!PyList_GET_SIZE(ids)) {
        unmapped = 1;
        goto done;
    }
    /* originals: what the partner wrote where normalisation changed it */
    {
        PyObject *names[3] = {str_resource_type, str_language, str_license};
        PyObject *raws[3] = {rtype_raw, lang_raw, PyTuple_GET_ITEM(license, 1)};
        PyObject *norms[3] = {rtype, lang, PyTuple_GET_ITEM(license, 0)};
        for (int k = 0; k < 3; k++) {
            if (!raws[k] || raws[k] == Py_None)
                continue;
            int differs = PyObject_RichCompareBool(raws[k], norms[k] ? norms[k] : Py_None, Py_NE);
            if (differs < 0)
                goto done;
            if (differs) {
                t = PyTuple_Pack(2, names[k], raws[k]);
                if (!t || PyList_Append(kept, t) < 0)
                    goto done;
                Py_CLEAR(t);
            }
        }
    }
    /* the primary PID (scheme order, then the smallest value) and the landing URL */
    PyObject *best = NULL, *first_url = NULL;
    int best_rank = 99;
    for (i = 0; i < PyList_GET_SIZE(ids); i++) {
        PyObject *id = PyList_GET_ITEM(ids, i), *scheme = PyTuple_GET_ITEM(id, 0);
        if (!first_url && is_ascii(scheme, "url"))
            first_url = PyTuple_GET_ITEM(id, 1);
        for (int r = 0; r < 7; r++) {
            if (!is_ascii(scheme, pid_order[r]))
                continue;
            int smaller = r < best_rank;
            if (r == best_rank) {
                smaller = PyUnicode_Compare(PyTuple_GET_ITEM(id, 1), PyTuple_GET_ITEM(best, 1)) < 0;
                if (PyErr_Occurred())
                    goto done;
            }
            if (smaller) {
                best = id;
                best_rank = r;
            }
            break;
        }
    }
    if (best && !(pid = PyUnicode_FromFormat("%U:%U", PyTuple_GET_ITEM(best, 0), PyTuple_GET_ITEM(best, 1))))
        goto done;
    if (first_url) {
        landing = first_url;
        Py_INCREF(landing);
    } else if (best) {
        for (int r = 0; r < 5 && !landing; r++)
            if (is_ascii(PyTuple_GET_ITEM(best, 0), resolver_scheme[r])
                    && !(landing = PyUnicode_FromFormat("%s%U", resolver_base[r], PyTuple_GET_ITEM(best, 1))))
                goto done;
    }
    /* related: dc:relation as References, ISSN-like dc:source as IsPartOf; classified, each once */
    if (!(rel = PyList_New(0)))
        goto done;
    for (int part = 0; part < 2; part++) {
        if (!(list = dc_list(f, part ? K_SOURCE : K_RELATION)))
            continue;
        for (i = 0; i < PyList_GET_SIZE(list); i++) {
            PyObject *value = PyList_GET_ITEM(list, i), *hint = Py_None;
            if (part) {
                if (!(v = helper(H_ISSN, value)))
                    goto done;
                int match = v != Py_None;
                Py_DECREF(v);
                if (!match)
                    continue;
                hint = str_issn_hint;
            }
            PyObject *found = classify2(value, hint);
            if (!found)
                goto done;
            if (found == Py_None) {
                Py_DECREF(found);
                continue;
            }
            t = PyTuple_Pack(3, part ? str_is_part_of : str_references, PyTuple_GET_ITEM(found, 0),
                             PyTuple_GET_ITEM(found, 1));
            Py_DECREF(found);
            int known = t ? PySequence_Contains(rel, t) : -1;
            if (known < 0 || (!known && PyList_Append(rel, t) < 0))
                goto done;
            Py_CLEAR(t);
        }
    }
    /* the first description with a letter or digit in it */
    PyObject *description = Py_None, *publisher = Py_None;
    if ((list = dc_list(f, K_DESCRIPTION))) {
        for (i = 0; i < PyList_GET_SIZE(list); i++)
            if (has_alnum(PyList_GET_ITEM(list, i))) {
                description = PyList_GET_ITEM(list, i);
                break;
            }
    }
    if ((list = dc_list(f, K_PUBLISHER)) && PyList_GET_SIZE(list))
        publisher = PyList_GET_ITEM(list, 0);
    if (PyErr_Occurred())
        goto done;
    out = PyTuple_Pack(14, PyList_GET_ITEM(titles, 0), creators, subjects, description, publisher,
                       year ? year : Py_None, rtype ? rtype : Py_None, lang ? lang : Py_None,
                       PyTuple_GET_ITEM(license, 0), ids, pid ? pid : Py_None, landing ? landing : Py_None, rel, kept);
done:
    Py_DECREF(f);
    Py_XDECREF(creators);
    Py_XDECREF(subjects);
    Py_XDECREF(seen);
    Py_XDECREF(ids);
    Py_XDECREF(kept);
    Py_XDECREF(rel);
    Py_XDECREF(rtype);
    Py_XDECREF(rtype_raw);
    Py_XDECREF(first_type);
    Py_XDECREF(first_type_raw);
    Py_XDECREF(lang);
    Py_XDECREF(lang_raw);
    Py_XDECREF(year);
    Py_XDECREF(license);
    Py_XDECREF(landing);
    Py_XDECREF(pid);
    Py_XDECREF(t);
    if (unmapped && !out && !PyErr_Occurred())
        Py_RETURN_NOTIMPLEMENTED;
    return out;
}

/* ---- a whole oai_dc <record> to its rows (harvest/records.py: map_record, with py_map_oai_dc) ------
 * dc_record(record, received, metadata_prefix, run_id, harvested_at, crosswalk_version)
 *   -> (records row, raw row) | NotImplemented
 * The rows map_record builds for a live record whose header reads cleanly, whose bytes as
 * received hold its identifier, and whose metadata dc_values maps; NotImplemented for the rest
 * (a deleted record, a header or datestamp map_record refuses or reads otherwise, no metadata, ...),
 * which map_record then does. The datestamp is read here in its two usual forms
 * (YYYY-MM-DDThh:mm:ssZ, YYYY-MM-DD); others go through parse_utc, the helper given. */
#include <datetime.h>

typedef struct xns {
    struct xns *next;
    int type;
    const unsigned char *href;
    const unsigned char *prefix;
} xns;

static const char OAI_HREF[] = "http://www.openarchives.org/OAI/2.0/";
static PyObject *py_parse_utc = NULL;

static int oai_element(xnode *n, const char *name) {
    return n->type == ELEMENT_NODE && strcmp((const char *)n->name, name) == 0 && n->ns
           && strcmp((const char *)((xns *)n->ns)->href, OAI_HREF) == 0;
}

/* lxml's el.text: the text and CDATA nodes before the first other child ("" when none); NULL on
 * error, or with *other set when a node lxml would read otherwise (an entity reference) is met */
static PyObject *el_text(xnode *el, int *other) {
    buffer b;
    b.data = b.small;
    b.cap = sizeof(b.small);
    b.len = 0;
    for (xnode *c = el->children; c; c = c->next) {
        if (c->type == TEXT_NODE || c->type == CDATA_SECTION_NODE) {
            if (c->content && buf_add(&b, c->content) < 0) {
                if (b.data != b.small)
                    PyMem_Free(b.data);
                return NULL;
            }
        } else if (c->type == ELEMENT_NODE || c->type == COMMENT_NODE || c->type == PI_NODE) {
            break;
        } else {
            *other = 1;
            break;
        }
    }
    PyObject *v = PyUnicode_DecodeUTF8(b.data, b.len, NULL);
    if (b.data != b.small)
        PyMem_Free(b.data);
    return v;
}

static PyObject *stripped(PyObject *v) {
    PyObject *out = PyObject_CallMethodNoArgs(v, str_strip);
    Py_DECREF(v);
    return out;
}

static int digits_at(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* parse_utc(stamp): aware UTC datetime; NULL with *refused set where parse_utc raises ValueError
 * or OverflowError (map_record quarantines the record), NULL alone on another error */
static PyObject *datestamp(PyObject *stamp, int *refused) {
    if (PyUnicode_IS_ASCII(stamp)) {
        const char *s = (const char *)PyUnicode_1BYTE_DATA(stamp);
        Py_ssize_t n = PyUnicode_GET_LENGTH(stamp);
        int y, mo, d, h = 0, mi = 0, sec = 0;
        if ((n == 20 || n == 10) && digits_at(s, 4, &y) && s[4] == '-' && digits_at(s + 5, 2, &mo) && s[7] == '-'
                && digits_at(s + 8, 2, &d)
                && (n == 10 || (s[10] == 'T' && digits_at(s + 11, 2, &h) && s[13] == ':' && digits_at(s + 14, 2, &mi)
                                && s[16] == ':' && digits_at(s + 17, 2, &sec) && s[19] == 'Z'))) {
            PyObject *dt = PyDateTimeAPI->DateTime_FromDateAndTime(y, mo, d, h, mi, sec, 0, PyDateTime_TimeZone_UTC,
                                                                   PyDateTimeAPI->DateTimeType);
            if (!dt && PyErr_ExceptionMatches(PyExc_ValueError)) {   /* 2024-02-30: parse_utc refuses it too */
                PyErr_Clear();
                *refused = 1;
            }
            return dt;
        }
    }
    PyObject *dt = PyObject_CallOneArg(py_parse_utc, stamp);
    if (!dt && (PyErr_ExceptionMatches(PyExc_ValueError) || PyErr_ExceptionMatches(PyExc_OverflowError))) {
        PyErr_Clear();
        *refused = 1;
    }
    return dt;
}

static PyObject *dc_record(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError,
                        "dc_record(record, received, metadata_prefix, run_id, harvested_at, crosswalk_version)");
        return NULL;
    }
    if (!py_parse_utc) {
        PyErr_SetString(PyExc_RuntimeError, "harvest.crosswalk._walk.set_record_helpers() was not called");
        return NULL;
    }
    xnode *record = node_of(args[0]);
    if (!record)
        return NULL;
    PyObject *received = args[1];
    if (!oai_element(record, "record") || !PyBytes_CheckExact(received))
        Py_RETURN_NOTIMPLEMENTED;
    xnode *header = NULL, *metadata = NULL;
    for (xnode *c = record->children; c; c = c->next) {
        if (!header && oai_element(c, "header"))
            header = c;
        else if (!metadata && oai_element(c, "metadata"))
            metadata = c;
    }
    if (!header || !metadata)
        Py_RETURN_NOTIMPLEMENTED;
    for (xattr *a = (xattr *)header->properties; a; a = a->next)
        if (!a->ns && strcmp((const char *)a->name, "status") == 0)
            Py_RETURN_NOTIMPLEMENTED;   /* deleted (a tombstone), or a status map_record reads itself */
    int other = 0, refused = 0, has_element = 0;
    for (xnode *c = metadata->children; c && !has_element; c = c->next)
        has_element = c->type == ELEMENT_NODE;
    if (!has_element)
        Py_RETURN_NOTIMPLEMENTED;
    PyObject *ident = NULL, *stamp = NULL, *sets = NULL, *when = NULL, *values = NULL, *row = NULL, *raw = NULL;
    PyObject *out = NULL, *v;
    if (!(sets = PyList_New(0)))
        goto done;
    for (xnode *c = header->children; c; c = c->next) {
        if (c->type != ELEMENT_NODE) {
            if (c->type != TEXT_NODE && c->type != COMMENT_NODE && c->type != PI_NODE && c->type != CDATA_SECTION_NODE)
                other = 1;
            continue;
        }
        int is_id = !ident && oai_element(c, "identifier"), is_stamp = !stamp && oai_element(c, "datestamp");
        int is_set = oai_element(c, "setSpec");
        if (!is_id && !is_stamp && !is_set)
            continue;
        if (!(v = el_text(c, &other)))
            goto done;
        if (is_id)
            ident = v;
        else if (is_stamp)
            stamp = v;
        else {
            if (!(v = stripped(v)))
                goto done;
            int bad = PyUnicode_GET_LENGTH(v) && PyList_Append(sets, v) < 0;
            Py_DECREF(v);
            if (bad)
                goto done;
        }
    }
    if (other || !ident || !stamp)
        goto decline;
    if (!(v = stripped(ident)))
        goto done_ident;
    ident = v;
    if (!PyUnicode_GET_LENGTH(ident))
        goto decline;   /* header without identifier */
    if (!(when = datestamp(stamp, &refused)))
        goto maybe_decline;
    /* the record's bytes as received must hold its identifier, else map_record serialises it */
    Py_ssize_t idlen;
    const char *idutf8 = PyUnicode_AsUTF8AndSize(ident, &idlen);
    if (!idutf8)
        goto done;
    if (!memmem(PyBytes_AS_STRING(received), PyBytes_GET_SIZE(received), idutf8, idlen))
        goto decline;
    if (!(values = dc_values_node(metadata))) {
        PyErr_Clear();   /* map_record runs the crosswalk again and keeps the record with the error */
        goto decline;
    }
    if (values == Py_NotImplemented)
        goto decline;
    PyObject *prefix = args[2], *run_id = args[3], *harvested_at = args[4], *version = args[5];
    if (!(row = PyTuple_New(22)))
        goto done;
    PyObject *head[5] = {ident, when, Py_False, sets, prefix}, *tail[3] = {run_id, harvested_at, version};
    for (int i = 0; i < 5; i++) {
        Py_INCREF(head[i]);
        PyTuple_SET_ITEM(row, i, head[i]);
    }
    for (int i = 0; i < 14; i++) {
        v = PyTuple_GET_ITEM(values, i);
        Py_INCREF(v);
        PyTuple_SET_ITEM(row, 5 + i, v);
    }
    for (int i = 0; i < 3; i++) {
        Py_INCREF(tail[i]);
        PyTuple_SET_ITEM(row, 19 + i, tail[i]);
    }
    if (!(raw = PyTuple_Pack(7, ident, when, Py_False, prefix, received, run_id, harvested_at)))
        goto done;
    out = PyTuple_Pack(2, row, raw);
    goto done;
maybe_decline:
    if (!refused)
        goto done;
decline:
    Py_XDECREF(ident);
    Py_XDECREF(stamp);
    Py_XDECREF(sets);
    Py_XDECREF(when);
    Py_XDECREF(values);
    Py_RETURN_NOTIMPLEMENTED;
done_ident:
    ident = NULL;   /* stripped() released it */
done:
    Py_XDECREF(ident);
    Py_XDECREF(stamp);
    Py_XDECREF(sets);
    Py_XDECREF(when);
    Py_XDECREF(values);
    Py_XDECREF(row);
    Py_XDECREF(raw);
    return out;
}

static PyObject *set_record_helpers(PyObject *self, PyObject *parse_utc) {
    Py_INCREF(parse_utc);
    Py_XSETREF(py_parse_utc, parse_utc);
    Py_RETURN_NONE;
}

static PyObject *set_dc_helpers(PyObject *self, PyObject *args) {
    PyObject *fns[N_HELPERS];
    if (!PyArg_ParseTuple(args, "OOOOOOO", &fns[0], &fns[1], &fns[2], &fns[3], &fns[4], &fns[5], &fns[6]))
        return NULL;
    for (int i = 0; i < N_HELPERS; i++) {
        Py_INCREF(fns[i]);
        Py_XSETREF(dc_helper[i], fns[i]);
    }
    Py_RETURN_NONE;
}

static PyObject *init(PyObject *self, PyObject *type) {
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "init() takes lxml.etree._Element");
        return NULL;
    }
    Py_INCREF(type);
    Py_XSETREF(element_type, (PyTypeObject *)type);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"init", init, METH_O, "init(lxml.etree._Element): the element class the functions accept"},
    {"dc_fields", dc_fields, METH_O, "dc_fields(metadata) -> {local name: [value, ...]} | None | NotImplemented"},
    {"classify_identifier", (PyCFunction)(void (*)(void))classify_identifier, METH_FASTCALL,
     "classify_identifier(value, hint=None) -> (scheme, value) | None, as harvest.crosswalk.normalize's"},
    {"normalise_orcid", normalise_orcid, METH_O, "normalise_orcid(value) -> str | None, as harvest.crosswalk.normalize's"},
    {"datacite_fields", datacite_fields, METH_O, "datacite_fields(metadata) -> dict | None | NotImplemented"},
    {"set_datacite_helpers", set_datacite_helpers, METH_VARARGS,
     "set_datacite_helpers(year_of, normalise_resource_type, normalise_language, split_name, normalise_orcid)"},
    {"cut_records", cut_records, METH_VARARGS,
     "cut_records(content, pos, count, open_tag, close_tag, head) -> ([bytes, ...], end) | None"},
    {"dc_values", dc_values, METH_O, "dc_values(metadata) -> the oai_dc crosswalk's Values | NotImplemented"},
    {"dc_record", (PyCFunction)(void (*)(void))dc_record, METH_FASTCALL,
     "dc_record(record, received, metadata_prefix, run_id, harvested_at, crosswalk_version) -> (row, raw) | "
     "NotImplemented"},
    {"set_record_helpers", set_record_helpers, METH_O, "set_record_helpers(parse_utc)"},
    {"set_dc_helpers", set_dc_helpers, METH_VARARGS,
     "set_dc_helpers(normalise_resource_type, normalise_language, year_of, pick_license_from, _creator, "
     "issn_like_match, split_name)"},
    {"set_fallbacks", set_fallbacks, METH_VARARGS,
     "set_fallbacks(classify_identifier, normalise_orcid): the Python versions, for what the C code leaves"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_walk", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__walk(void) {
    str_strip = PyUnicode_InternFromString("strip");
    str_split = PyUnicode_InternFromString("split");
    str_space = PyUnicode_InternFromString(" ");
    if (!str_strip || !str_split || !str_space)
        return NULL;
    str_lower = PyObject_GetAttrString((PyObject *)&PyUnicode_Type, "lower");
    str_upper = PyObject_GetAttrString((PyObject *)&PyUnicode_Type, "upper");
    if (!str_lower || !str_upper)
        return NULL;
    static const char *schemes[] = {"doi", "handle", "arxiv", "ark", "urn", "cstr", "issn", "isbn", "url"};
    PyObject **slots[] = {&str_doi, &str_handle, &str_arxiv, &str_ark, &str_urn, &str_cstr, &str_issn, &str_isbn, &str_url};
    for (int i = 0; i < 9; i++)
        if (!(*slots[i] = PyUnicode_InternFromString(schemes[i])))
            return NULL;
    PyDateTime_IMPORT;
    if (!PyDateTimeAPI)
        return NULL;
    for (int i = 0; i < N_KEYS; i++)
        if (!(dc_key[i] = PyUnicode_InternFromString(dc_key_names[i])))
            return NULL;
    static const char *words[] = {"References", "IsPartOf", "ISSN", "resource_type", "language", "license"};
    PyObject **word_slots[] = {&str_references, &str_is_part_of, &str_issn_hint, &str_resource_type, &str_language,
                               &str_license};
    for (int i = 0; i < 6; i++)
        if (!(*word_slots[i] = PyUnicode_InternFromString(words[i])))
            return NULL;
    return PyModule_Create(&module);
}
