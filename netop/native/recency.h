/* The flow table's recency list (netop/engine/flowtable.py): its entries, least recently
 * active first — what an OrderedDict keyed by the entries gave, for the few operations
 * the table uses (append, move to the end, remove, iterate from the front).
 *
 * The links live in each entry's native part (Counters.lru_prev / lru_next), so moving
 * a flow to the end is a few pointer writes on the entry and its neighbours: no hash
 * lookup per delta (an OrderedDict's move_to_end was a dict probe, a cache miss in a
 * table of 100k flows: a quarter of an all-active tick's merge). The list holds a
 * strong reference to each entry in it; the links themselves are borrowed. Included by
 * _fastflow.c after Counters is defined. */

typedef struct {
    PyObject_HEAD
    Counters *head, *tail;
    Py_ssize_t len;
    unsigned long long version;  /* changes on every mutation: iterators check it */
} Recency;

static PyTypeObject RecencyType;

static inline int recency_has(const Recency *r, const Counters *e) {
    return e->lru_owner == (const void *)r;
}

static void recency_unlink(Recency *r, Counters *e) {
    if (e->lru_prev) e->lru_prev->lru_next = e->lru_next; else r->head = e->lru_next;
    if (e->lru_next) e->lru_next->lru_prev = e->lru_prev; else r->tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void recency_link_last(Recency *r, Counters *e) {
    e->lru_prev = r->tail;
    e->lru_next = NULL;
    if (r->tail) r->tail->lru_next = e; else r->head = e;
    r->tail = e;
}

/* Moves ``e`` (in the list) to the end: the merge's per-delta step. */
static inline void recency_touch(Recency *r, Counters *e) {
    if (r->tail == e) return;
    recency_unlink(r, e);
    recency_link_last(r, e);
    r->version++;
}

static Counters *recency_entry(Recency *r, PyObject *o, int must_be_in) {
    if (!PyObject_TypeCheck(o, &CountersType)) {
        PyErr_SetString(PyExc_TypeError, "not a flow-table entry");
        return NULL;
    }
    Counters *e = (Counters *)o;
    if (must_be_in && !recency_has(r, e)) {
        PyErr_SetObject(PyExc_KeyError, o);
        return NULL;
    }
    return e;
}

static void recency_drop_all(Recency *r) {
    Counters *e = r->head;
    r->head = r->tail = NULL;
    r->len = 0;
    r->version++;
    while (e) {
        Counters *next = e->lru_next;
        e->lru_prev = e->lru_next = NULL;
        e->lru_owner = NULL;
        Py_DECREF(e);
        e = next;
    }
}

static int Recency_traverse(Recency *r, visitproc visit, void *arg) {
    for (Counters *e = r->head; e; e = e->lru_next) Py_VISIT((PyObject *)e);
    return 0;
}

static int Recency_clear(Recency *r) {
    recency_drop_all(r);
    return 0;
}

static void Recency_dealloc(Recency *r) {
    PyObject_GC_UnTrack(r);
    recency_drop_all(r);
    Py_TYPE(r)->tp_free((PyObject *)r);
}

static Py_ssize_t Recency_len(Recency *r) { return r->len; }

static int Recency_contains(Recency *r, PyObject *o) {
    return PyObject_TypeCheck(o, &CountersType) && recency_has(r, (Counters *)o);
}

/* r[e] = None appends ``e`` (an entry already in keeps its place, as in a dict);
 * del r[e] removes it. */
static int Recency_ass(Recency *r, PyObject *o, PyObject *value) {
    Counters *e = recency_entry(r, o, value == NULL);
    if (!e) return -1;
    if (value == NULL) {
        recency_unlink(r, e);
        e->lru_owner = NULL;
        r->len--;
        r->version++;
        Py_DECREF(e);
        return 0;
    }
    if (recency_has(r, e)) return 0;
    if (e->lru_owner) {
        PyErr_SetString(PyExc_ValueError, "entry is in another recency list");
        return -1;
    }
    Py_INCREF(e);
    e->lru_owner = r;
    recency_link_last(r, e);
    r->len++;
    r->version++;
    return 0;
}

static PyObject *Recency_subscript(Recency *r, PyObject *o) {
    if (!recency_entry(r, o, 1)) return NULL;
    Py_RETURN_NONE;
}

static PyObject *Recency_move_to_end(Recency *r, PyObject *o) {
    Counters *e = recency_entry(r, o, 1);
    if (!e) return NULL;
    recency_touch(r, e);
    Py_RETURN_NONE;
}

typedef struct {
    PyObject_HEAD
    Recency *list;
    Counters *next;  /* borrowed: valid while the list's version is unchanged */
    unsigned long long version;
} RecencyIter;

static PyTypeObject RecencyIterType;

static PyObject *Recency_iter(Recency *r) {
    RecencyIter *it = PyObject_GC_New(RecencyIter, &RecencyIterType);
    if (!it) return NULL;
    it->list = (Recency *)Py_NewRef(r);
    it->next = r->head;
    it->version = r->version;
    PyObject_GC_Track(it);
    return (PyObject *)it;
}

static PyObject *RecencyIter_next(RecencyIter *it) {
    if (!it->list) return NULL;
    if (it->version != it->list->version) {
        PyErr_SetString(PyExc_RuntimeError, "recency list changed during iteration");
        return NULL;
    }
    Counters *e = it->next;
    if (!e) { Py_CLEAR(it->list); return NULL; }
    it->next = e->lru_next;
    return Py_NewRef((PyObject *)e);
}

static int RecencyIter_traverse(RecencyIter *it, visitproc visit, void *arg) {
    Py_VISIT(it->list);
    return 0;
}

static void RecencyIter_dealloc(RecencyIter *it) {
    PyObject_GC_UnTrack(it);
    Py_XDECREF(it->list);
    PyObject_GC_Del(it);
}

static PyTypeObject RecencyIterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "netop.native._fastflow.RecencyIterator",
    .tp_basicsize = sizeof(RecencyIter),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_dealloc = (destructor)RecencyIter_dealloc,
    .tp_traverse = (traverseproc)RecencyIter_traverse,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)RecencyIter_next,
};

static PySequenceMethods Recency_seq = {
    .sq_length = (lenfunc)Recency_len,
    .sq_contains = (objobjproc)Recency_contains,
};

static PyMappingMethods Recency_map = {
    .mp_length = (lenfunc)Recency_len,
    .mp_subscript = (binaryfunc)Recency_subscript,
    .mp_ass_subscript = (objobjargproc)Recency_ass,
};

static PyMethodDef Recency_methods[] = {
    {"move_to_end", (PyCFunction)Recency_move_to_end, METH_O, "Move an entry to the end."},
    {NULL}
};

static PyTypeObject RecencyType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "netop.native._fastflow.Recency",
    .tp_basicsize = sizeof(Recency),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)Recency_dealloc,
    .tp_traverse = (traverseproc)Recency_traverse,
    .tp_clear = (inquiry)Recency_clear,
    .tp_iter = (getiterfunc)Recency_iter,
    .tp_as_sequence = &Recency_seq,
    .tp_as_mapping = &Recency_map,
    .tp_methods = Recency_methods,
    .tp_doc = "The flow table's entries, least recently active first (an OrderedDict's "
              "subset: r[e] = None, del r[e], move_to_end, iteration, len, in).",
};
