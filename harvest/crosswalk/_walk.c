/* harvest.crosswalk._walk: the oai_dc crosswalk's inner loop over libxml2's tree, in C.
 *
 * harvest/crosswalk/oai_dc.py walks the children of <oai_dc:dc> with lxml: every child costs an
 * lxml proxy object, a "{namespace}name" tag string and a text string, about 0.3 µs each, and a
 * record has ~20 of them. dc_fields() reads the same tree through the structures lxml wraps (an
 * lxml element holds a pointer to its libxml2 node) and creates only the strings the crosswalk
 * keeps, giving exactly what the Python walk gives (tests/crosswalk/test_walk_c.py compares
 * them on generated and real records).
 *
 * Only fields of the structures are read; no libxml2 function is called, so nothing is linked
 * against libxml2. The layouts are libxml2's public ABI (tree.h: struct _xmlNode) and lxml's
 * public element struct (lxml.etree.h: struct LxmlElement); harvest.crosswalk.speedups uses
 * this module only with lxml versions whose layout is known, after checking it on a parsed
 * document. Built by `make` (harvest/crosswalk/build_walk.py); without it the Python walk runs.
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
} xnode;

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
