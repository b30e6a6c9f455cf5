/* The flow table's index (netop/engine/flowtable.py): a flow's key -> (entry, reverse).
 *
 * A dict did this with an 8-tuple key, so the merge built a tuple per delta, hashed it,
 * and followed the dict's index, its entry, the stored key and the (entry, reverse)
 * value — a cache miss each in a table of 200k keys. Here a slot holds the key's hash,
 * the key, the entry and the direction, and the merge hashes the record's own fields
 * (no tuple): one slot and one stored key to read per delta. Open addressing with linear
 * probing; a removed key leaves a marker until the next resize.
 *
 * From Python it is the few dict operations the table uses: get, [key] = (entry, rev),
 * setdefault, del, len, in. Keys are the table's 8-field tuples (proto, src, sport, dst,
 * dport, vlan, source, exporter); the merge reads the same fields from a record (its
 * items 0-5, 13 and 14). Included by _fastflow.c after Counters is defined. */

#include <sys/mman.h>

#define FI_FIELDS 8

typedef struct {
    Py_hash_t hash;
    PyObject *key;    /* NULL: never used; fi_gone: removed */
    PyObject *entry;
    int rev;
} FiSlot;

typedef struct {
    PyObject_HEAD
    FiSlot *slots;
    size_t mask;
    Py_ssize_t used;    /* live keys */
    Py_ssize_t filled;  /* live keys and removal markers */
} FlowIndex;

static PyTypeObject FlowIndexType;
static char fi_gone_mark;  /* only its address is used */
#define FI_GONE ((PyObject *)&fi_gone_mark)

/* xxHash-style lanes, as CPython's tuple hash combines its items' hashes. */
static Py_hash_t fi_hash(PyObject *const *f) {
    Py_uhash_t acc = (Py_uhash_t)2870177450012600261ULL;
    for (int k = 0; k < FI_FIELDS; k++) {
        Py_uhash_t lane = (Py_uhash_t)PyObject_Hash(f[k]);
        if (lane == (Py_uhash_t)-1 && PyErr_Occurred()) return -1;
        acc += lane * (Py_uhash_t)14029467366897019727ULL;
        acc = (acc << 31) | (acc >> 33);
        acc *= (Py_uhash_t)11400714785074694791ULL;
    }
    return acc == (Py_uhash_t)-1 ? 1546275796 : (Py_hash_t)acc;
}

static int fi_fields_of_key(PyObject *key, PyObject **f) {
    if (!PyTuple_Check(key) || PyTuple_GET_SIZE(key) != FI_FIELDS) {
        PyErr_SetString(PyExc_TypeError, "a flow index key is an 8-tuple");
        return -1;
    }
    for (int k = 0; k < FI_FIELDS; k++) f[k] = PyTuple_GET_ITEM(key, k);
    return 0;
}

/* The record's key fields: items 0-5 (the flow key) and 13-14 (source, exporter). */
static inline void fi_fields_of_record(PyObject *r, PyObject **f) {
    for (int k = 0; k < 6; k++) f[k] = PyTuple_GET_ITEM(r, k);
    f[6] = PyTuple_GET_ITEM(r, 13);
    f[7] = PyTuple_GET_ITEM(r, 14);
}

/* 1 if the stored key holds these fields, 0 if not, -1 on error. */
static int fi_equal(PyObject *const *f, PyObject *key) {
    for (int k = 0; k < FI_FIELDS; k++) {
        PyObject *a = f[k], *b = PyTuple_GET_ITEM(key, k);
        if (a == b) continue;
        int eq = PyObject_RichCompareBool(a, b, Py_EQ);
        if (eq <= 0) return eq;
    }
    return 1;
}

/* The slot holding these fields (*found = 1), else the slot a new key would take
 * (*found = 0); -1 on error. */
static Py_ssize_t fi_find(FlowIndex *ix, PyObject *const *f, Py_hash_t hash, int *found) {
    size_t i = (size_t)hash & ix->mask;
    Py_ssize_t free_slot = -1;
    FiSlot *slots = ix->slots;
    for (;;) {
        FiSlot *s = &slots[i];
        if (s->key == NULL) {
            *found = 0;
            return free_slot >= 0 ? free_slot : (Py_ssize_t)i;
        }
        if (s->key == FI_GONE) {
            if (free_slot < 0) free_slot = (Py_ssize_t)i;
        } else if (s->hash == hash) {
            PyObject *key = Py_NewRef(s->key);
            int eq = fi_equal(f, key);
            Py_DECREF(key);
            if (eq < 0) return -1;
            if (slots != ix->slots) {  /* a comparison ran code that changed the index */
                PyErr_SetString(PyExc_RuntimeError, "flow index changed during a lookup");
                return -1;
            }
            if (eq) { *found = 1; return (Py_ssize_t)i; }
        }
        i = (i + 1) & ix->mask;
    }
}

/* Slot arrays of 256 KiB and more are mapped, not taken from malloc: a churning table
 * resizes every few seconds, and once glibc has freed one mapped chunk it raises its
 * mmap threshold to that size, so the next arrays came from the brk heap, were zeroed
 * there and stayed resident after free — the soak saw the engine's RSS climb ~4 MiB a
 * step. A mapping is returned to the kernel whole on munmap. */
#define FI_MAP_BYTES ((size_t)256 * 1024)

static FiSlot *fi_alloc(size_t size) {
    size_t bytes = size * sizeof(FiSlot);
    if (bytes < FI_MAP_BYTES) return PyMem_Calloc(size, sizeof(FiSlot));
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : (FiSlot *)p;  /* anonymous pages read as zero */
}

static void fi_free(FiSlot *slots, size_t size) {
    if (!slots) return;
    if (size * sizeof(FiSlot) < FI_MAP_BYTES) PyMem_Free(slots);
    else munmap(slots, size * sizeof(FiSlot));
}

static int fi_resize(FlowIndex *ix, Py_ssize_t want) {
    size_t size = 16;
    while (size < (size_t)want * 2) size <<= 1;
    FiSlot *fresh = fi_alloc(size);
    if (!fresh) { PyErr_NoMemory(); return -1; }
    FiSlot *old = ix->slots;
    size_t old_size = old ? ix->mask + 1 : 0;
    for (size_t j = 0; j < old_size; j++) {
        if (old[j].key == NULL || old[j].key == FI_GONE) continue;
        size_t i = (size_t)old[j].hash & (size - 1);
        while (fresh[i].key) i = (i + 1) & (size - 1);
        fresh[i] = old[j];
    }
    fi_free(old, old_size);
    ix->slots = fresh;
    ix->mask = size - 1;
    ix->filled = ix->used;
    return 0;
}

static int FlowIndex_init(FlowIndex *ix, PyObject *args, PyObject *kwds) {
    if (!PyArg_ParseTuple(args, "")) return -1;
    return ix->slots ? 0 : fi_resize(ix, 8);
}

static void fi_release(FlowIndex *ix) {
    FiSlot *slots = ix->slots;
    size_t size = slots ? ix->mask + 1 : 0;
    ix->slots = NULL;
    ix->mask = 0;
    ix->used = ix->filled = 0;
    for (size_t j = 0; j < size; j++) {
        if (slots[j].key == NULL || slots[j].key == FI_GONE) continue;
        Py_DECREF(slots[j].key);
        Py_DECREF(slots[j].entry);
    }
    fi_free(slots, size);
}

static int FlowIndex_traverse(FlowIndex *ix, visitproc visit, void *arg) {
    size_t size = ix->slots ? ix->mask + 1 : 0;
    for (size_t j = 0; j < size; j++) {
        if (ix->slots[j].key == NULL || ix->slots[j].key == FI_GONE) continue;
        Py_VISIT(ix->slots[j].key);
        Py_VISIT(ix->slots[j].entry);
    }
    return 0;
}

static int FlowIndex_clear(FlowIndex *ix) {
    fi_release(ix);
    return fi_resize(ix, 8) < 0 ? (PyErr_Clear(), 0) : 0;
}

static void FlowIndex_dealloc(FlowIndex *ix) {
    PyObject_GC_UnTrack(ix);
    fi_release(ix);
    Py_TYPE(ix)->tp_free((PyObject *)ix);
}

static int fi_ready(FlowIndex *ix) {
    if (ix->slots) return 0;
    PyErr_SetString(PyExc_RuntimeError, "flow index not initialised");
    return -1;
}

/* The slot of ``key`` or -1 (*found says which); -2 on error. */
static Py_ssize_t fi_lookup_key(FlowIndex *ix, PyObject *key, Py_hash_t *hash, int *found) {
    PyObject *f[FI_FIELDS];
    if (fi_ready(ix) < 0 || fi_fields_of_key(key, f) < 0) return -2;
    *hash = fi_hash(f);
    if (*hash == -1) return -2;
    Py_ssize_t at = fi_find(ix, f, *hash, found);
    return at < 0 ? -2 : at;
}

static PyObject *fi_value(const FiSlot *s) {
    return PyTuple_Pack(2, s->entry, s->rev ? Py_True : Py_False);
}

/* Stores (key, value) in the slot ``at`` fi_find gave (not found there). */
static int fi_store(FlowIndex *ix, Py_ssize_t at, Py_hash_t hash, PyObject *key,
                    PyObject *value) {
    if (!PyTuple_Check(value) || PyTuple_GET_SIZE(value) != 2
        || !PyObject_TypeCheck(PyTuple_GET_ITEM(value, 0), &CountersType)
        || !PyBool_Check(PyTuple_GET_ITEM(value, 1))) {
        PyErr_SetString(PyExc_TypeError, "a flow index value is (FlowEntry, reverse)");
        return -1;
    }
    FiSlot *s = &ix->slots[at];
    if (s->key == NULL) ix->filled++;
    s->hash = hash;
    s->key = Py_NewRef(key);
    s->entry = Py_NewRef(PyTuple_GET_ITEM(value, 0));
    s->rev = PyTuple_GET_ITEM(value, 1) == Py_True;
    ix->used++;
    if ((size_t)ix->filled * 3 >= (ix->mask + 1) * 2) return fi_resize(ix, ix->used * 2);
    return 0;
}

static int FlowIndex_ass(FlowIndex *ix, PyObject *key, PyObject *value) {
    Py_hash_t hash;
    int found;
    Py_ssize_t at = fi_lookup_key(ix, key, &hash, &found);
    if (at == -2) return -1;
    if (value == NULL) {
        if (!found) { PyErr_SetObject(PyExc_KeyError, key); return -1; }
        FiSlot *s = &ix->slots[at];
        PyObject *k = s->key, *e = s->entry;
        s->key = FI_GONE;
        s->entry = NULL;
        ix->used--;
        Py_DECREF(k);
        Py_DECREF(e);
        return 0;
    }
    if (found) {  /* replaced in place */
        FiSlot *s = &ix->slots[at];
        if (!PyTuple_Check(value) || PyTuple_GET_SIZE(value) != 2
            || !PyObject_TypeCheck(PyTuple_GET_ITEM(value, 0), &CountersType)
            || !PyBool_Check(PyTuple_GET_ITEM(value, 1))) {
            PyErr_SetString(PyExc_TypeError, "a flow index value is (FlowEntry, reverse)");
            return -1;
        }
        PyObject *old = s->entry;
        s->entry = Py_NewRef(PyTuple_GET_ITEM(value, 0));
        s->rev = PyTuple_GET_ITEM(value, 1) == Py_True;
        Py_DECREF(old);
        return 0;
    }
    return fi_store(ix, at, hash, key, value);
}

static PyObject *FlowIndex_subscript(FlowIndex *ix, PyObject *key) {
    Py_hash_t hash;
    int found;
    Py_ssize_t at = fi_lookup_key(ix, key, &hash, &found);
    if (at == -2) return NULL;
    if (!found) { PyErr_SetObject(PyExc_KeyError, key); return NULL; }
    return fi_value(&ix->slots[at]);
}

static PyObject *FlowIndex_get(FlowIndex *ix, PyObject *args) {
    PyObject *key, *dflt = Py_None;
    if (!PyArg_ParseTuple(args, "O|O:get", &key, &dflt)) return NULL;
    Py_hash_t hash;
    int found;
    Py_ssize_t at = fi_lookup_key(ix, key, &hash, &found);
    if (at == -2) return NULL;
    return found ? fi_value(&ix->slots[at]) : Py_NewRef(dflt);
}

static PyObject *FlowIndex_setdefault(FlowIndex *ix, PyObject *args) {
    PyObject *key, *value;
    if (!PyArg_ParseTuple(args, "OO:setdefault", &key, &value)) return NULL;
    Py_hash_t hash;
    int found;
    Py_ssize_t at = fi_lookup_key(ix, key, &hash, &found);
    if (at == -2) return NULL;
    if (found) return fi_value(&ix->slots[at]);
    if (fi_store(ix, at, hash, key, value) < 0) return NULL;
    return Py_NewRef(value);
}

static Py_ssize_t FlowIndex_len(FlowIndex *ix) { return ix->used; }

static int FlowIndex_contains(FlowIndex *ix, PyObject *key) {
    Py_hash_t hash;
    int found;
    Py_ssize_t at = fi_lookup_key(ix, key, &hash, &found);
    return at == -2 ? -1 : found;
}

/* The hash of a record's key (-1 on error). */
static inline Py_hash_t fi_record_hash(PyObject *r) {
    PyObject *f[FI_FIELDS];
    fi_fields_of_record(r, f);
    return fi_hash(f);
}

/* Asks the CPU to fetch the slot a key of this hash starts at: the merge does it a few
 * records ahead, so the slot (a cache miss in a table of 100k flows) is there when the
 * record's turn comes. */
static inline void fi_prefetch(const FlowIndex *ix, Py_hash_t hash) {
    if (ix->slots) __builtin_prefetch(&ix->slots[(size_t)hash & ix->mask]);
}

/* The merge's lookup: the slot of a record's flow, or NULL (error set or not).
 * ``hash``: the record's, if known, else -1. */
static FiSlot *fi_lookup_record(FlowIndex *ix, PyObject *r, Py_hash_t hash) {
    PyObject *f[FI_FIELDS];
    if (fi_ready(ix) < 0) return NULL;
    fi_fields_of_record(r, f);
    if (hash == -1) hash = fi_hash(f);
    if (hash == -1) return NULL;
    int found;
    Py_ssize_t at = fi_find(ix, f, hash, &found);
    return at >= 0 && found ? &ix->slots[at] : NULL;
}

static PySequenceMethods FlowIndex_seq = {
    .sq_length = (lenfunc)FlowIndex_len,
    .sq_contains = (objobjproc)FlowIndex_contains,
};

static PyMappingMethods FlowIndex_map = {
    .mp_length = (lenfunc)FlowIndex_len,
    .mp_subscript = (binaryfunc)FlowIndex_subscript,
    .mp_ass_subscript = (objobjargproc)FlowIndex_ass,
};

static PyMethodDef FlowIndex_methods[] = {
    {"get", (PyCFunction)FlowIndex_get, METH_VARARGS, "The (entry, reverse) of a key, or the default."},
    {"setdefault", (PyCFunction)FlowIndex_setdefault, METH_VARARGS, "Store unless the key is there."},
    {NULL}
};

static PyTypeObject FlowIndexType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "netop.native._fastflow.FlowIndex",
    .tp_basicsize = sizeof(FlowIndex),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)FlowIndex_init,
    .tp_dealloc = (destructor)FlowIndex_dealloc,
    .tp_traverse = (traverseproc)FlowIndex_traverse,
    .tp_clear = (inquiry)FlowIndex_clear,
    .tp_as_sequence = &FlowIndex_seq,
    .tp_as_mapping = &FlowIndex_map,
    .tp_methods = FlowIndex_methods,
    .tp_doc = "The flow table's index: 8-field key -> (FlowEntry, reverse) (a dict's "
              "get, [k] = v, setdefault, del, len, in).",
};
