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

static PyObject *opt_int(const uint8_t *rec, Field fl) {
    if (!fl.len) Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong(rd(rec, fl));
}

static PyObject *addr(const uint8_t *rec, Field fl) {
    return PyBytes_FromStringAndSize(fl.len ? (const char *)rec + fl.off : NULL, fl.len);
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
    if (!ok) return PyObject_Vectorcall(L->fallback, args, n, NULL);

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
    PyObject *key = NULL;
    for (Py_ssize_t r = 0; r < count; r++) {
        const uint8_t *rec = data + r * L->reclen;
        uint64_t proto = F[R_PROTO].len ? rd(rec, F[R_PROTO]) : 0;
        unsigned __int128 dport = F[R_DPORT].len ? rd(rec, F[R_DPORT]) : 0;
        if (L->dport_mode != D_PLAIN) {
            unsigned __int128 icmp;
            if (F[R_ICMP].len) icmp = rd(rec, F[R_ICMP]);
            else icmp = (unsigned __int128)rd(rec, F[R_ICMP_TYPE]) * 256 + rd(rec, F[R_ICMP_CODE]);
            if (proto == 1 || proto == 58) {
                if (L->dport_mode == D_ICMP_ONLY || icmp) dport = icmp;
            } else if (L->dport_mode == D_ICMP_ONLY) {
                dport = 0;
            }
        }
        PyObject *vlan;
        if (F[R_VLAN].len) {
            uint64_t v = rd(rec, F[R_VLAN]) & 4095;
            vlan = v ? PyLong_FromUnsignedLongLong(v) : (Py_INCREF(Py_None), Py_None);
        } else {
            vlan = (Py_INCREF(Py_None), Py_None);
        }
        key = PyTuple_New(8);
        if (!key) { Py_XDECREF(vlan); goto fail; }
        PyTuple_SET_ITEM(key, 0, PyLong_FromUnsignedLongLong(proto));
        PyTuple_SET_ITEM(key, 1, addr(rec, F[R_SRC]));
        PyTuple_SET_ITEM(key, 2, PyLong_FromUnsignedLongLong(F[R_SPORT].len ? rd(rec, F[R_SPORT]) : 0));
        PyTuple_SET_ITEM(key, 3, addr(rec, F[R_DST]));
        PyTuple_SET_ITEM(key, 4, from_u128(dport));
        PyTuple_SET_ITEM(key, 5, vlan);
        PyTuple_SET_ITEM(key, 6, opt_int(rec, F[R_IN_IF]));
        PyTuple_SET_ITEM(key, 7, opt_int(rec, F[R_OUT_IF]));
        for (int i = 0; i < 8; i++) if (!PyTuple_GET_ITEM(key, i)) goto fail;
        double first = first_kind == T_EXPORT ? f0 : when(rec, first_kind, F[R_FIRST], &c);
        double last = last_kind == T_EXPORT ? f0
                      : (last_kind == first_kind && F[R_LAST].off == F[R_FIRST].off
                         && F[R_LAST].len == F[R_FIRST].len) ? first
                      : when(rec, last_kind, F[R_LAST], &c);
        unsigned __int128 packets = F[R_PACKETS].len ? rd(rec, F[R_PACKETS]) : 0;
        unsigned __int128 octets = F[R_OCTETS].len ? rd(rec, F[R_OCTETS]) : 0;
        if (S != 1) { packets *= (uint64_t)S; octets *= (uint64_t)S; }
        uint64_t flags = F[R_FLAGS].len ? rd(rec, F[R_FLAGS]) & 255 : 0;
        PyObject *entry = PyDict_GetItemWithError(table, key);
        if (!entry) {
            if (PyErr_Occurred()) goto fail;
            if (room > 0) {
                PyObject *sums = PyList_New(5);
                if (!sums) goto fail;
                PyList_SET_ITEM(sums, 0, from_u128(packets));
                PyList_SET_ITEM(sums, 1, from_u128(octets));
                PyList_SET_ITEM(sums, 2, PyFloat_FromDouble(first));
                PyList_SET_ITEM(sums, 3, PyFloat_FromDouble(last));
                PyList_SET_ITEM(sums, 4, PyLong_FromUnsignedLongLong(flags));
                int bad = 0;
                for (int i = 0; i < 5; i++) bad |= !PyList_GET_ITEM(sums, i);
                if (bad || PyDict_SetItem(table, key, sums) < 0) { Py_DECREF(sums); goto fail; }
                Py_DECREF(sums);
                room--;
            } else {
                over++;
            }
        } else {
            if (!PyList_CheckExact(entry) || PyList_GET_SIZE(entry) < 5) {
                PyErr_SetString(PyExc_TypeError, "flow table entry is not a sums list");
                goto fail;
            }
            Py_INCREF(entry);
            int bad = add_to(entry, 0, packets) < 0 || add_to(entry, 1, octets) < 0
                      || keep_extreme(entry, 2, first, 1) < 0 || keep_extreme(entry, 3, last, 0) < 0
                      || or_flags(entry, flags) < 0;
            Py_DECREF(entry);
            if (bad) goto fail;
        }
        Py_CLEAR(key);
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(Lnn)", room, over, count);
fail:
    Py_XDECREF(key);
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
    PyObject *m = PyModule_Create(&moddef);
    if (!m) return NULL;
    Py_INCREF(&LayoutType);
    if (PyModule_AddObject(m, "Layout", (PyObject *)&LayoutType) < 0) {
        Py_DECREF(&LayoutType); Py_DECREF(m); return NULL;
    }
    PyModule_AddIntConstant(m, "VERSION", 1);
    return m;
}
