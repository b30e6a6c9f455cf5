/* netop collector fast path: decode the records of a fixed-length NetFlow v9 / IPFIX
 * data set and merge them into the collector's flow table (a dict FlowKey -> Sums),
 * with exactly the semantics of the Python function templates.py generates for the
 * same template (same keys, same sums, same float arithmetic in the same order).
 *
 * A Layout is built once per template from a flat tuple of integers (see
 * templates.c_layout); every field (offset, length) is checked against the record
 * length there, and records are only read whole, so no read can leave the buffer.
 * Inputs outside the domain handled here (odd export/uptime/sampling values, or a
 * table that is not a dict) are passed to the Python function given at construction.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <sys/random.h>

#if defined(__GNUC__) && !defined(__clang__)
/* Python rounds every operation separately; a fused multiply-add would not. */
#pragma GCC optimize("fp-contract=off")
#endif

enum { R_PROTO, R_SRC, R_DST, R_SPORT, R_DPORT, R_ICMP, R_ICMP_TYPE, R_ICMP_CODE, R_VLAN,
       R_FLAGS, R_IN_IF, R_OUT_IF, R_PACKETS, R_OCTETS, R_FIRST, R_LAST, N_ROLES };
/* Time kinds (0: no field, the export time). */
enum { T_EXPORT, T_MS, T_NTP, T_SEC, T_UPTIME, T_DELTA_US };
/* dport: the field; ICMP type/code when the protocol is ICMP (and no dport field);
 * ICMP type/code, else the field, when the protocol is ICMP. */
enum { D_PLAIN, D_ICMP_ONLY, D_ICMP_OR_PORT };

#define NTP_EPOCH 2208988800LL
#define WRAP_SAFE 67108864LL
#define DOMAIN (1LL << 52)

typedef struct { Py_ssize_t off, len; } Field;

typedef struct {
    PyObject_HEAD
    Py_ssize_t reclen;
    Field f[N_ROLES];
    int first_kind, last_kind, dport_mode, uses_uptime;
    PyObject *fallback;
    vectorcallfunc vectorcall;
} Layout;

static inline uint64_t rd(const uint8_t *rec, Field fl) {
    uint64_t v = 0;
    for (Py_ssize_t i = 0; i < fl.len; i++) v = v << 8 | rec[fl.off + i];
    return v;
}

static PyObject *from_u128(unsigned __int128 v) {
    if (v >> 64 == 0) return PyLong_FromUnsignedLongLong((uint64_t)v);
    PyObject *hi = PyLong_FromUnsignedLongLong((uint64_t)(v >> 64));
    PyObject *lo = PyLong_FromUnsignedLongLong((uint64_t)v);
    PyObject *sh = PyLong_FromLong(64), *out = NULL, *t = NULL;
    if (hi && lo && sh && (t = PyNumber_Lshift(hi, sh))) out = PyNumber_Or(t, lo);
    Py_XDECREF(hi); Py_XDECREF(lo); Py_XDECREF(sh); Py_XDECREF(t);
    return out;
}

/* The time of one record field, as the generated expression computes it. */
typedef struct { double E, B; long long T; int fast; } Clock;

static inline double when(const uint8_t *rec, int kind, Field fl, const Clock *c) {
    uint64_t v;
    switch (kind) {
    case T_MS: return (double)rd(rec, fl) * 0.001;
    case T_SEC: return (double)rd(rec, fl) * 1.0;
    case T_NTP:
        v = rd(rec, fl);
        return (double)((long long)(v >> 32) - NTP_EPOCH) + (double)(v & 0xFFFFFFFFu) / 4294967296.0;
    case T_UPTIME:
        v = rd(rec, fl);
        if (c->fast || (c->T >= 0 && v <= (uint64_t)c->T)) return (c->B + (double)v) * 0.001;
        return (c->B - 4294967296.0 + (double)v) * 0.001;
    case T_DELTA_US: return c->E / 1000 - (double)rd(rec, fl) / 1e6;
    default: return c->E / 1000;
    }
}

/* entry[i] = entry[i] + add (Python ints). */
static int add_to(PyObject *entry, Py_ssize_t i, unsigned __int128 add) {
    PyObject *cur = PyList_GET_ITEM(entry, i), *sum;
    if (PyLong_CheckExact(cur) && add <= (unsigned __int128)INT64_MAX) {
        int of = 0;
        long long c = PyLong_AsLongLongAndOverflow(cur, &of);
        long long r;
        if (!of && !(c == -1 && PyErr_Occurred()) && !__builtin_add_overflow(c, (long long)add, &r)) {
            if (add == 0) return 0;
            sum = PyLong_FromLongLong(r);
            goto set;
        }
        PyErr_Clear();
    }
    PyObject *a = from_u128(add);
    if (!a) return -1;
    sum = PyNumber_Add(cur, a);
    Py_DECREF(a);
set:
    if (!sum) return -1;
    PyList_SetItem(entry, i, sum);  /* steals sum, drops the old value */
    return 0;
}

/* entry[i] = v when v < entry[i] (less) or v > entry[i] (!less). */
static int keep_extreme(PyObject *entry, Py_ssize_t i, double v, int less) {
    PyObject *cur = PyList_GET_ITEM(entry, i);
    int better;
    if (PyFloat_CheckExact(cur)) {
        double d = PyFloat_AS_DOUBLE(cur);
        better = less ? v < d : v > d;
    } else {
        PyObject *o = PyFloat_FromDouble(v);
        if (!o) return -1;
        better = PyObject_RichCompareBool(o, cur, less ? Py_LT : Py_GT);
        Py_DECREF(o);
        if (better < 0) return -1;
    }
    if (!better) return 0;
    PyObject *o = PyFloat_FromDouble(v);
    if (!o) return -1;
    PyList_SetItem(entry, i, o);
    return 0;
}

static int or_flags(PyObject *entry, uint64_t flags) {
    PyObject *cur = PyList_GET_ITEM(entry, 4), *r;
    if (PyLong_CheckExact(cur)) {
        int of = 0;
        long long c = PyLong_AsLongLongAndOverflow(cur, &of);
        if (!of && !(c == -1 && PyErr_Occurred())) {
            if (((unsigned long long)c | flags) == (unsigned long long)c && c >= 0) return 0;
            if (c >= 0) { r = PyLong_FromLongLong((long long)((uint64_t)c | flags)); goto set; }
        }
        PyErr_Clear();
    }
    PyObject *f = PyLong_FromUnsignedLongLong(flags);
    if (!f) return -1;
    r = PyNumber_Or(cur, f);
    Py_DECREF(f);
set:
    if (!r) return -1;
    PyList_SetItem(entry, 4, r);
    return 0;
}

/* Exact int in [lo, hi], else 0 (out of this path's domain). */
static int int_in(PyObject *o, long long lo, long long hi, long long *out) {
    if (!PyLong_CheckExact(o)) return 0;
    int of = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &of);
    if (of || (v == -1 && PyErr_Occurred())) { PyErr_Clear(); return 0; }
    *out = v;
    return v >= lo && v <= hi;
}


/* The batch: records of one call summed per raw key before they meet the dict. */
typedef struct {
    uint64_t proto, sport, in_if, out_if;
    unsigned __int128 dport;
    uint8_t src[16], dst[16];
    uint16_t vlan;
} RawKey;

typedef struct {
    RawKey k;
    unsigned __int128 packets, octets;
    double first, last;
    uint64_t flags;
    uint32_t gen, nrec;
} Acc;

#ifndef BATCH  /* overridable to test the flush paths with tiny batches */
#define BATCH 1024u
#define SLOTS 2048u   /* power of two, twice BATCH */
#define MAX_PROBE 32
#endif

typedef struct {
    Acc slots[SLOTS];
    uint32_t order[BATCH];  /* slots in the order their keys first appeared */
    uint32_t n, gen;
} Batch;

static Batch *batch;  /* one for the module: calls run under the GIL */
/* Set during a call: a call nested in it (a finalizer run by the garbage collector
 * during an allocation) uses the Python function instead of the busy batch. */
static int busy;
static uint64_t hash_seed;  /* per process, so that colliding keys cannot be precomputed */

static inline uint64_t mix(uint64_t h) {
    h ^= h >> 32; h *= 0xD6E8FEB86659FD93ULL; h ^= h >> 32; h *= 0xD6E8FEB86659FD93ULL;
    return h ^ (h >> 32);
}

static inline uint64_t key_hash(const RawKey *k) {
    uint64_t w[sizeof(RawKey) / 8], h = hash_seed;
    memcpy(w, k, sizeof w);
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) h = mix(h ^ w[i]) + i;
    return h;
}

/* A Python key (the FlowKey order) for a raw key. */
static PyObject *py_key(const Layout *L, const RawKey *k) {
    const Field *F = L->f;
    PyObject *key = PyTuple_New(8);
    if (!key) return NULL;
    PyObject *none = Py_None;
    PyTuple_SET_ITEM(key, 0, PyLong_FromUnsignedLongLong(k->proto));
    PyTuple_SET_ITEM(key, 1, PyBytes_FromStringAndSize((const char *)k->src, F[R_SRC].len));
    PyTuple_SET_ITEM(key, 2, PyLong_FromUnsignedLongLong(k->sport));
    PyTuple_SET_ITEM(key, 3, PyBytes_FromStringAndSize((const char *)k->dst, F[R_DST].len));
    PyTuple_SET_ITEM(key, 4, from_u128(k->dport));
    PyTuple_SET_ITEM(key, 5, k->vlan ? PyLong_FromLong(k->vlan) : (Py_INCREF(none), none));
    PyTuple_SET_ITEM(key, 6, F[R_IN_IF].len ? PyLong_FromUnsignedLongLong(k->in_if) : (Py_INCREF(none), none));
    PyTuple_SET_ITEM(key, 7, F[R_OUT_IF].len ? PyLong_FromUnsignedLongLong(k->out_if) : (Py_INCREF(none), none));
    for (int i = 0; i < 8; i++) {
        if (!PyTuple_GET_ITEM(key, i)) { Py_DECREF(key); return NULL; }
    }
    return key;
}

/* Merge the batch into the table in first-appearance order, as record-by-record
 * merging would: a key finds room at its first record or never in this call. */
static int flush(const Layout *L, Batch *bt, PyObject *table, long long *room, Py_ssize_t *over) {
    for (uint32_t i = 0; i < bt->n; i++) {
        Acc *a = &bt->slots[bt->order[i]];
        PyObject *key = py_key(L, &a->k);
        if (!key) return -1;
        PyObject *entry = PyDict_GetItemWithError(table, key);
        int bad = 0;
        if (!entry) {
            if (PyErr_Occurred()) {
                bad = 1;
            } else if (*room > 0) {
                PyObject *sums = PyList_New(5);
                if (!sums) { Py_DECREF(key); return -1; }
                PyList_SET_ITEM(sums, 0, from_u128(a->packets));
                PyList_SET_ITEM(sums, 1, from_u128(a->octets));
                PyList_SET_ITEM(sums, 2, PyFloat_FromDouble(a->first));
                PyList_SET_ITEM(sums, 3, PyFloat_FromDouble(a->last));
                PyList_SET_ITEM(sums, 4, PyLong_FromUnsignedLongLong(a->flags));
                for (int j = 0; j < 5; j++) bad |= !PyList_GET_ITEM(sums, j);
                bad = bad || PyDict_SetItem(table, key, sums) < 0;
                Py_DECREF(sums);
                (*room)--;
            } else {
                *over += a->nrec;
            }
        } else if (!PyList_CheckExact(entry) || PyList_GET_SIZE(entry) < 5) {
            PyErr_SetString(PyExc_TypeError, "flow table entry is not a sums list");
            bad = 1;
        } else {
            Py_INCREF(entry);
            bad = add_to(entry, 0, a->packets) < 0 || add_to(entry, 1, a->octets) < 0
                  || keep_extreme(entry, 2, a->first, 1) < 0 || keep_extreme(entry, 3, a->last, 0) < 0
                  || or_flags(entry, a->flags) < 0;
            Py_DECREF(entry);
        }
        Py_DECREF(key);
        if (bad) return -1;
    }
    bt->n = 0;
    if (++bt->gen == 0) { memset(bt->slots, 0, sizeof bt->slots); bt->gen = 1; }
    return 0;
}

/* layout(body, export_ms, uptime_ms, sampling, table, room) -> (room, over, count) */
static PyObject *Layout_vcall(PyObject *self_o, PyObject *const *args, size_t nargsf, PyObject *kw) {
    Layout *L = (Layout *)self_o;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    if (kw || n != 6) {
        PyErr_SetString(PyExc_TypeError, "layout(body, export_ms, uptime_ms, sampling, table, room)");
        return NULL;
    }
    PyObject *Eo = args[1], *Uo = args[2], *So = args[3], *table = args[4];
    Clock c = {0};
    long long S, U = 0, room;
    int have_u = Uo != Py_None;
    int ok = PyDict_CheckExact(table) && int_in(So, 1, DOMAIN, &S)
             && int_in(args[5], -DOMAIN, DOMAIN, &room);
    /* The decoders pass a float export time; an int one would be summed exactly. */
    ok = ok && PyFloat_CheckExact(Eo) && isfinite(c.E = PyFloat_AS_DOUBLE(Eo));
    if (ok && L->uses_uptime && have_u) {
        if (PyFloat_CheckExact(Uo)) {
            double u = PyFloat_AS_DOUBLE(Uo);
            ok = isfinite(u) && fabs(u) < (double)DOMAIN;
            U = (long long)u;  /* int(U): truncation toward zero */
        } else {
            ok = int_in(Uo, -DOMAIN, DOMAIN, &U);
        }
    }
    if (!ok || busy) return PyObject_Vectorcall(L->fallback, args, n, NULL);

    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) return NULL;
    const uint8_t *data = view.buf;
    Py_ssize_t count = view.len / L->reclen;
    Py_ssize_t over = 0;
    int first_kind = L->first_kind, last_kind = L->last_kind;
    if (L->uses_uptime) {
        if (!have_u) {
            first_kind = last_kind = T_EXPORT;  /* no boot time: the export time */
        } else {
            c.B = c.E - (double)U;
            c.fast = U >= WRAP_SAFE;
            c.T = U + 2147483648LL;
        }
    }
    /* Times that depend on no field are the same for every record. */
    double f0 = when(data, T_EXPORT, L->f[R_FIRST], &c);
    const Field *F = L->f;
    Batch *bt = batch;
    busy = 1;
    if (++bt->gen == 0) { memset(bt->slots, 0, sizeof bt->slots); bt->gen = 1; }
    bt->n = 0;
    for (Py_ssize_t r = 0; r < count; r++) {
        const uint8_t *rec = data + r * L->reclen;
        RawKey k;
        memset(&k, 0, sizeof k);
        k.proto = F[R_PROTO].len ? rd(rec, F[R_PROTO]) : 0;
        k.dport = F[R_DPORT].len ? rd(rec, F[R_DPORT]) : 0;
        if (L->dport_mode != D_PLAIN) {
            unsigned __int128 icmp;
            if (F[R_ICMP].len) icmp = rd(rec, F[R_ICMP]);
            else icmp = (unsigned __int128)rd(rec, F[R_ICMP_TYPE]) * 256 + rd(rec, F[R_ICMP_CODE]);
            if (k.proto == 1 || k.proto == 58) {
                if (L->dport_mode == D_ICMP_ONLY || icmp) k.dport = icmp;
            } else if (L->dport_mode == D_ICMP_ONLY) {
                k.dport = 0;
            }
        }
        k.sport = rd(rec, F[R_SPORT]);  /* 0 when absent (length 0) */
        k.vlan = (uint16_t)(rd(rec, F[R_VLAN]) & 4095);
        k.in_if = rd(rec, F[R_IN_IF]);
        k.out_if = rd(rec, F[R_OUT_IF]);
        memcpy(k.src, rec + F[R_SRC].off, (size_t)F[R_SRC].len);
        memcpy(k.dst, rec + F[R_DST].off, (size_t)F[R_DST].len);
        double first = first_kind == T_EXPORT ? f0 : when(rec, first_kind, F[R_FIRST], &c);
        double last = last_kind == T_EXPORT ? f0
                      : (last_kind == first_kind && F[R_LAST].off == F[R_FIRST].off
                         && F[R_LAST].len == F[R_FIRST].len) ? first
                      : when(rec, last_kind, F[R_LAST], &c);
        unsigned __int128 packets = rd(rec, F[R_PACKETS]);
        unsigned __int128 octets = rd(rec, F[R_OCTETS]);
        if (S != 1) { packets *= (uint64_t)S; octets *= (uint64_t)S; }
        uint64_t flags = rd(rec, F[R_FLAGS]) & 255;
        /* Sum records of one key in the batch first: one Python key per distinct flow. */
        uint64_t h = key_hash(&k);
        Acc *a = NULL;
        for (int probe = 0; probe < MAX_PROBE; probe++) {
            Acc *s = &bt->slots[(h + (uint64_t)probe) & (SLOTS - 1)];
            if (s->gen != bt->gen) {
                s->gen = bt->gen;
                memcpy(&s->k, &k, sizeof k);  /* padding included: keys compare as bytes */
                s->packets = packets; s->octets = octets;
                s->first = first; s->last = last; s->flags = flags; s->nrec = 1;
                bt->order[bt->n++] = (uint32_t)(s - bt->slots);
                a = s;
                break;
            }
            if (memcmp(&s->k, &k, sizeof k) == 0) {
                s->packets += packets; s->octets += octets;
                if (first < s->first) s->first = first;
                if (last > s->last) s->last = last;
                s->flags |= flags; s->nrec++;
                a = s;
                break;
            }
        }
        if (!a || bt->n == BATCH) {
            /* Full, or a long probe (hostile keys): merge what is summed, then go on. */
            if (flush(L, bt, table, &room, &over) < 0) goto fail;
            if (!a) r--;  /* this record again, into the empty batch */
        }
    }
    if (flush(L, bt, table, &room, &over) < 0) goto fail;
    busy = 0;
    PyBuffer_Release(&view);
    return Py_BuildValue("(Lnn)", room, over, count);
fail:
    busy = 0;
    PyBuffer_Release(&view);
    return NULL;
}

static PyObject *Layout_call(PyObject *self, PyObject *args, PyObject *kw) {
    return Layout_vcall(self, &PyTuple_GET_ITEM(args, 0), (size_t)PyTuple_GET_SIZE(args), kw);
}

static int check_field(Field fl, Py_ssize_t reclen, int role) {
    if (fl.len == 0) return 1;
    if (fl.off < 0 || fl.len < 0 || fl.off > reclen || fl.len > reclen - fl.off) return 0;
    if (role == R_SRC || role == R_DST) return fl.len == 4 || fl.len == 16;
    return fl.len <= 8;
}

/* Layout(spec, fallback): spec = (record length, then offset and length of each role
 * in enum order, first kind, last kind, dport mode). */
static int Layout_init(Layout *L, PyObject *args, PyObject *kw) {
    PyObject *spec, *fallback;
    if (kw || !PyArg_ParseTuple(args, "O!O", &PyTuple_Type, &spec, &fallback)) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "Layout(spec, fallback)");
        return -1;
    }
    if (PyTuple_GET_SIZE(spec) != 1 + 2 * N_ROLES + 3) {
        PyErr_SetString(PyExc_ValueError, "layout spec has the wrong length");
        return -1;
    }
    long long v[1 + 2 * N_ROLES + 3];
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(spec); i++) {
        v[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(spec, i));
        if (v[i] == -1 && PyErr_Occurred()) return -1;
        if (v[i] < 0 || v[i] > 65535) {
            PyErr_SetString(PyExc_ValueError, "layout spec value out of range");
            return -1;
        }
    }
    L->reclen = (Py_ssize_t)v[0];
    for (int r = 0; r < N_ROLES; r++) {
        L->f[r].off = (Py_ssize_t)v[1 + 2 * r];
        L->f[r].len = (Py_ssize_t)v[2 + 2 * r];
    }
    L->first_kind = (int)v[1 + 2 * N_ROLES];
    L->last_kind = (int)v[2 + 2 * N_ROLES];
    L->dport_mode = (int)v[3 + 2 * N_ROLES];
    int ok = L->reclen > 0 && L->first_kind <= T_DELTA_US && L->last_kind <= T_DELTA_US
             && L->dport_mode <= D_ICMP_OR_PORT
             && (L->first_kind == T_EXPORT) == (L->f[R_FIRST].len == 0)
             && (L->last_kind == T_EXPORT) == (L->f[R_LAST].len == 0)
             && (L->dport_mode == D_PLAIN || L->f[R_ICMP].len || L->f[R_ICMP_TYPE].len)
             && (L->dport_mode != D_ICMP_OR_PORT || L->f[R_DPORT].len);
    for (int r = 0; r < N_ROLES; r++) ok = ok && check_field(L->f[r], L->reclen, r);
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "layout spec does not fit its record");
        return -1;
    }
    L->uses_uptime = L->first_kind == T_UPTIME || L->last_kind == T_UPTIME;
    Py_INCREF(fallback);
    Py_XSETREF(L->fallback, fallback);
    L->vectorcall = Layout_vcall;
    return 0;
}

static void Layout_dealloc(Layout *L) {
    Py_XDECREF(L->fallback);
    Py_TYPE(L)->tp_free((PyObject *)L);
}

static PyObject *Layout_get_reclen(Layout *L, void *Py_UNUSED(c)) { return PyLong_FromSsize_t(L->reclen); }

static PyGetSetDef Layout_getset[] = {
    {"record_length", (getter)Layout_get_reclen, NULL, "bytes per record", NULL},
    {NULL}
};

static PyTypeObject LayoutType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "netop.sources.collector._fastcoll.Layout",
    .tp_basicsize = sizeof(Layout),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(Layout, vectorcall),
    .tp_call = Layout_call,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Layout_init,
    .tp_dealloc = (destructor)Layout_dealloc,
    .tp_getset = Layout_getset,
    .tp_doc = "Decode-and-merge of one fixed-length data template: "
              "layout(body, export_ms, uptime_ms, sampling, table, room) -> (room, over, count).",
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_fastcoll", NULL, -1, NULL, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fastcoll(void) {
    if (PyType_Ready(&LayoutType) < 0) return NULL;
    if (!batch) {
        batch = PyMem_RawCalloc(1, sizeof *batch);
        if (!batch) return PyErr_NoMemory();
        if (getrandom(&hash_seed, sizeof hash_seed, GRND_NONBLOCK) != sizeof hash_seed)
            hash_seed = (uint64_t)(uintptr_t)batch ^ 0x9E3779B97F4A7C15ULL;
    }
    PyObject *m = PyModule_Create(&moddef);
    if (!m) return NULL;
    Py_INCREF(&LayoutType);
    if (PyModule_AddObject(m, "Layout", (PyObject *)&LayoutType) < 0) {
        Py_DECREF(&LayoutType); Py_DECREF(m); return NULL;
    }
    PyModule_AddIntConstant(m, "VERSION", 2);
    return m;
}
