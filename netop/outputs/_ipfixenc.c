/* The IPFIX / NetFlow v9 record packer of netop.outputs.ipfix_encode.
 *
 * pack(records, biflow, flags_len, default_reason, forced, active_ms)
 *   -> (v4 bytes, v4 count, v6 bytes, v6 count, skipped)
 *
 * Packs each FlowRecord (a tuple) into the fixed layout of the encoder's templates, in
 * network byte order, IPv4 and IPv6 records apart. It makes exactly the choices of the
 * Python fallback (FlowEncoder._pack_python), which the differential test holds it to:
 * a record with an address that is not IPv4/IPv6 text, a value out of its field's range
 * or a negative time is skipped and counted.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <arpa/inet.h>
#include <string.h>
#include <math.h>

#define VERSION 2

typedef struct { char *buf; Py_ssize_t len, cap; Py_ssize_t n; } Out;

static int out_room(Out *o, Py_ssize_t need) {
    if (o->len + need <= o->cap) return 0;
    Py_ssize_t cap = o->cap ? o->cap * 2 : 65536;
    while (cap < o->len + need) cap *= 2;
    char *b = PyMem_Realloc(o->buf, cap);
    if (!b) { PyErr_NoMemory(); return -1; }
    o->buf = b; o->cap = cap;
    return 0;
}

static inline void put16(unsigned char *p, unsigned v) { p[0] = v >> 8; p[1] = v; }
static inline void put32(unsigned char *p, unsigned long v) {
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
static inline void put64(unsigned char *p, unsigned long long v) {
    put32(p, (unsigned long)(v >> 32)); put32(p + 4, (unsigned long)(v & 0xffffffffULL));
}

/* An unsigned value <= max, or -1 (no exception left set). None counts as 0 when
 * none_ok. */
static int get_u(PyObject *o, unsigned long long max, int none_ok, unsigned long long *v) {
    if (o == Py_None) { if (!none_ok) return -1; *v = 0; return 0; }
    if (!PyLong_Check(o)) return -1;
    unsigned long long x = PyLong_AsUnsignedLongLong(o);
    if (x == (unsigned long long)-1 && PyErr_Occurred()) { PyErr_Clear(); return -1; }
    if (x > max) return -1;
    *v = x;
    return 0;
}

static int get_ms(PyObject *o, unsigned long long *v) {
    double d = PyFloat_AsDouble(o);
    if (d == -1.0 && PyErr_Occurred()) { PyErr_Clear(); return -1; }
    d *= 1000.0;
    if (!isfinite(d) || d <= -1.0 || d >= 18446744073709551616.0) return -1;
    *v = d < 0 ? 0 : (unsigned long long)d;  /* truncation toward zero, as int() */
    return 0;
}

/* 4 or 16 address bytes from text, 0 when not an address. */
static int addr(PyObject *o, unsigned char *dst) {
    Py_ssize_t n;
    if (!PyUnicode_Check(o)) return 0;
    const char *s = PyUnicode_AsUTF8AndSize(o, &n);
    if (!s) { PyErr_Clear(); return 0; }
    if ((Py_ssize_t)strlen(s) != n) return 0;
    if (memchr(s, ':', n)) return inet_pton(AF_INET6, s, dst) == 1 ? 16 : 0;
    return inet_pton(AF_INET, s, dst) == 1 ? 4 : 0;
}

static PyObject *pack(PyObject *self, PyObject *args) {
    PyObject *records;
    int biflow, flags_len, default_reason, forced;
    long long active_ms;
    if (!PyArg_ParseTuple(args, "OiiipL", &records, &biflow, &flags_len, &default_reason,
                          &forced, &active_ms))
        return NULL;
    PyObject *seq = PySequence_Fast(records, "records must be a sequence");
    if (!seq) return NULL;
    Out o4 = {0}, o6 = {0};
    Py_ssize_t skipped = 0, n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *r = items[i];
        if (!PyTuple_Check(r) || PyTuple_GET_SIZE(r) < 18) { skipped++; continue; }
        unsigned char a[16], b[16];
        int la = addr(PyTuple_GET_ITEM(r, 1), a), lb = addr(PyTuple_GET_ITEM(r, 3), b);
        if (!la || la != lb) { skipped++; continue; }
        unsigned long long proto, sport, dport, vlan, pk, by, pkr = 0, byr = 0, fl, in_if, out_if;
        unsigned long long first, last;
        if (get_u(PyTuple_GET_ITEM(r, 0), 255, 0, &proto) ||
            get_u(PyTuple_GET_ITEM(r, 2), 65535, 0, &sport) ||
            get_u(PyTuple_GET_ITEM(r, 4), 65535, 0, &dport) ||
            get_u(PyTuple_GET_ITEM(r, 5), 0xFFFFFFFFFFFFFFFFULL, 1, &vlan) ||
            get_u(PyTuple_GET_ITEM(r, 6), 0xFFFFFFFFFFFFFFFFULL, 0, &pk) ||
            get_u(PyTuple_GET_ITEM(r, 7), 0xFFFFFFFFFFFFFFFFULL, 0, &by) ||
            (biflow && get_u(PyTuple_GET_ITEM(r, 8), 0xFFFFFFFFFFFFFFFFULL, 0, &pkr)) ||
            (biflow && get_u(PyTuple_GET_ITEM(r, 9), 0xFFFFFFFFFFFFFFFFULL, 0, &byr)) ||
            get_u(PyTuple_GET_ITEM(r, 12), 0xFFFFFFFFFFFFFFFFULL, 0, &fl) ||
            get_u(PyTuple_GET_ITEM(r, 16), 0xFFFFFFFFULL, 1, &in_if) ||
            get_u(PyTuple_GET_ITEM(r, 17), 0xFFFFFFFFULL, 1, &out_if) ||
            get_ms(PyTuple_GET_ITEM(r, 10), &first) || get_ms(PyTuple_GET_ITEM(r, 11), &last)) {
            skipped++;
            continue;
        }
        int reason = default_reason;
        if (proto == 6 && (fl & 5)) reason = 3;
        else if (active_ms && !forced && last - first >= (unsigned long long)active_ms
                 && last >= first) reason = 2;
        Out *o = la == 4 ? &o4 : &o6;
        Py_ssize_t size = 2 * la + 2 + 2 + 1 + flags_len + 2 + 4 + 4 + 8 + 8 + 8 + 8 + 1
                          + (biflow ? 16 : 0);
        if (out_room(o, size) < 0) goto fail;
        unsigned char *p = (unsigned char *)o->buf + o->len;
        memcpy(p, a, la); p += la;
        memcpy(p, b, la); p += la;
        put16(p, sport); p += 2;
        put16(p, dport); p += 2;
        *p++ = (unsigned char)proto;
        if (flags_len == 2) { put16(p, fl & 0xFF); p += 2; } else { *p++ = fl & 0xFF; }
        put16(p, vlan & 0xFFF); p += 2;
        put32(p, in_if); p += 4;
        put32(p, out_if); p += 4;
        put64(p, first); p += 8;
        put64(p, last); p += 8;
        put64(p, by); p += 8;
        put64(p, pk); p += 8;
        *p++ = (unsigned char)reason;
        if (biflow) { put64(p, byr); p += 8; put64(p, pkr); p += 8; }
        o->len += size;
        o->n++;
    }
    Py_DECREF(seq);
    PyObject *res = Py_BuildValue("(y#ny#nn)", o4.buf ? o4.buf : "", o4.len, o4.n,
                                  o6.buf ? o6.buf : "", o6.len, o6.n, skipped);
    PyMem_Free(o4.buf);
    PyMem_Free(o6.buf);
    return res;
fail:
    Py_DECREF(seq);
    PyMem_Free(o4.buf);
    PyMem_Free(o6.buf);
    return NULL;
}

static PyMethodDef methods[] = {
    {"pack", pack, METH_VARARGS, "Pack flow records into IPFIX/v9 template layouts."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ipfixenc", NULL, -1, methods};

PyMODINIT_FUNC PyInit__ipfixenc(void) {
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "VERSION", VERSION) < 0) { Py_DECREF(m); return NULL; }
    return m;
}
