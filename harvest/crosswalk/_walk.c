/* harvest.crosswalk._walk: the crosswalks' walks over libxml2's tree, in C (oai_dc, DataCite).
 *
 * The crosswalks walk a record's elements with lxml: every element they touch costs an lxml proxy
 * object, a "{namespace}name" tag string, a text string and attribute lookups, about 0.3 µs each,
 * and a record has 20-40 elements. These functions read the same tree through the structures lxml
 * wraps (an lxml element holds a pointer to its libxml2 node) and create only the strings the
 * crosswalk keeps: dc_fields() for oai_dc (harvest/crosswalk/oai_dc.py: _dc_fields) and
 * resource_nodes() for DataCite/OpenAIRE (harvest/crosswalk/datacite.py: _walk_nodes), giving
 * exactly what the Python walks give (tests/crosswalk/test_walk_c.py compares them on generated,
 * mutated and real records).
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
static PyObject *dc_fields(PyObject *self, PyObject *metadata) {
    xnode *node = node_of(metadata);
    if (!node)
        return NULL;
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

/* The nodes of an element's element children, down to `depth` levels: tuples (local name, text,
 * attributes, children). text: the element's whitespace-normalised text, descendants' included,
 * or None (what harvest.crosswalk.base.element_text gives); attributes: {name: value} of the
 * attributes in no namespace (what lxml's el.get(name) finds), or None when there are none;
 * children: the same for its element children while depth lasts, else None.
 * Returns NULL with an error set, or NotImplemented (a borrowed singleton, not increfed here)
 * when a node of a kind the Python walk must handle is met. */
static PyObject *nodes_of(xnode *el, int depth, buffer *b) {
    PyObject *list = PyList_New(0);
    if (!list)
        return NULL;
    for (xnode *c = el->children; c; c = c->next) {
        if (c->type != ELEMENT_NODE) {
            if (c->type == TEXT_NODE || c->type == CDATA_SECTION_NODE || c->type == COMMENT_NODE || c->type == PI_NODE)
                continue;
            Py_DECREF(list);
            return Py_NotImplemented;
        }
        b->len = 0;
        int r = collect_text(c, b);
        if (r) {
            Py_DECREF(list);
            return r < 0 ? NULL : Py_NotImplemented;
        }
        PyObject *text = make_value(b->data, b->len);
        if (!text) {
            if (PyErr_Occurred()) {
                Py_DECREF(list);
                return NULL;
            }
            text = Py_None;
            Py_INCREF(text);
        }
        PyObject *attrs = Py_None;
        Py_INCREF(attrs);
        for (xattr *a = (xattr *)c->properties; a; a = a->next) {
            if (a->ns)
                continue;
            PyObject *value = NULL;
            r = attr_value(a, &value);
            if (r == 0 && attrs == Py_None) {
                Py_DECREF(attrs);
                if (!(attrs = PyDict_New()))
                    r = -1;
            }
            if (r == 0)
                r = PyDict_SetItemString(attrs, (const char *)a->name, value) < 0 ? -1 : 0;
            Py_XDECREF(value);
            if (r) {
                Py_XDECREF(attrs);
                Py_DECREF(text);
                Py_DECREF(list);
                return r < 0 ? NULL : Py_NotImplemented;
            }
        }
        PyObject *kids = Py_None;
        Py_INCREF(kids);
        if (depth > 1) {
            Py_DECREF(kids);
            kids = nodes_of(c, depth - 1, b);
            if (!kids || kids == Py_NotImplemented) {
                Py_DECREF(attrs);
                Py_DECREF(text);
                Py_DECREF(list);
                return kids;
            }
        }
        PyObject *name = PyUnicode_FromString((const char *)c->name);
        PyObject *node = name ? PyTuple_Pack(4, name, text, attrs, kids) : NULL;
        Py_XDECREF(name);
        Py_DECREF(text);
        Py_DECREF(attrs);
        Py_DECREF(kids);
        if (!node || PyList_Append(list, node) < 0) {
            Py_XDECREF(node);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(node);
    }
    return list;
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

/* resource_nodes(metadata, depth) -> list | None | NotImplemented: the nodes (see nodes_of) of the
 * DataCite/OpenAIRE <resource>'s children; None when there is no resource element. */
static PyObject *resource_nodes(PyObject *self, PyObject *args) {
    PyObject *metadata;
    int depth;
    if (!PyArg_ParseTuple(args, "Oi", &metadata, &depth))
        return NULL;
    xnode *node = node_of(metadata);
    if (!node)
        return NULL;
    xnode *resource = first_named(node, "resource", 1);
    if (!resource)
        Py_RETURN_NONE;
    buffer b;
    b.data = b.small;
    b.cap = sizeof(b.small);
    b.len = 0;
    PyObject *nodes = nodes_of(resource, depth < 1 ? 1 : depth, &b);
    if (b.data != b.small)
        PyMem_Free(b.data);
    if (nodes == Py_NotImplemented)
        Py_INCREF(nodes);
    return nodes;
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
    {"resource_nodes", resource_nodes, METH_VARARGS,
     "resource_nodes(metadata, depth) -> [(name, text, attributes, children), ...] | None | NotImplemented"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_walk", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__walk(void) {
    str_strip = PyUnicode_InternFromString("strip");
    str_split = PyUnicode_InternFromString("split");
    str_space = PyUnicode_InternFromString(" ");
    if (!str_strip || !str_split || !str_space)
        return NULL;
    return PyModule_Create(&module);
}
