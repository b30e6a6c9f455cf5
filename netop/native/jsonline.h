/* jsonline.h: a flow record's ``--json`` line, as netop.commands.output.flow_json_line
 * writes it, in C (included from _fastflow.c after kpi.h: uses put and kpi_put).
 * Printing 10k flows was a sixth of ``netop flows -r --json``; anything unusual (a value
 * of another type, a string json would escape, a float out of range) gives None and the
 * Python formatter writes the line. */

/* A plain ASCII string json would not escape, quoted; 1: it would. */
static int put_qstr(char *buf, size_t *n, size_t cap, PyObject *v) {
    if (!PyUnicode_CheckExact(v) || !PyUnicode_IS_ASCII(v)) return 1;
    const char *s = (const char *)PyUnicode_DATA(v);
    Py_ssize_t len = PyUnicode_GET_LENGTH(v);
    for (Py_ssize_t j = 0; j < len; j++)
        if (s[j] < 0x20 || s[j] == '"' || s[j] == '\\' || s[j] == 0x7f) return 1;
    return put(buf, n, cap, "\"", 1) < 0 || put(buf, n, cap, s, (size_t)len) < 0 ||
           put(buf, n, cap, "\"", 1) < 0;
}

/* An exact int by its repr (None allowed: ``null``); 1: anything else. */
static int put_int(char *buf, size_t *n, size_t cap, PyObject *v, int none_ok) {
    if (v == Py_None) return none_ok ? put(buf, n, cap, "null", 4) < 0 : 1;
    if (!PyLong_CheckExact(v)) return 1;
    int over = 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &over);
    if (over || (x == -1 && PyErr_Occurred())) { PyErr_Clear(); return 1; }
    return put_ll(buf, n, cap, x) < 0;
}

/* An exact float within +-1e300 by its repr; 1: anything else; -1: a Python error. */
static int put_time(char *buf, size_t *n, size_t cap, PyObject *v) {
    if (!PyFloat_CheckExact(v)) return 1;
    double x = PyFloat_AS_DOUBLE(v);
    if (!(x > -1e300 && x < 1e300)) return 1;
    return put_repr(buf, n, cap, x);
}

/* The KPI keys of a flow without KPIs, all null (netop.model.KPI_KEYS), closing "}". */
static const char NO_KPI_JSON[] =
    "\"rtt_ms\": null, \"rtt_server_ms\": null, \"rtt_client_ms\": null, \"ack_rtt_ms\": null, "
    "\"retrans\": null, \"retrans_rev\": null, \"ooo\": null, \"ooo_rev\": null, "
    "\"conn_state\": null, \"ttfb_ms\": null, \"dns_queries\": null, \"dns_answers\": null, "
    "\"dns_ms\": null, \"dns_rcodes\": null, \"jitter_ms\": null}";

/* flow_json(record, proto_text, flags_text, app_tail) -> the record's JSON line, or
 * None. ``app_tail``: the application keys closing the object (', "app": ...}' without
 * its leading ", "), made in Python. */
static PyObject *flow_json_of(PyObject *r, PyObject *proto, PyObject *flags, PyObject *tail) {
    if (!PyTuple_Check(r) || PyTuple_GET_SIZE(r) < 19) Py_RETURN_NONE;
    if (!PyUnicode_IS_ASCII(tail)) Py_RETURN_NONE;
    Py_ssize_t tlen = PyUnicode_GET_LENGTH(tail);
    const char *t = (const char *)PyUnicode_DATA(tail);
    char buf[2048];
    size_t n = 0, cap = sizeof buf;
    PyObject *const *f = &PyTuple_GET_ITEM(r, 0);
    int rc = 0;
#define KEY(s) (rc = rc ? rc : put(buf, &n, cap, s, sizeof(s) - 1) < 0)
#define STEP(e) (rc = rc ? rc : (e))
    KEY("{\"proto\": "); STEP(put_qstr(buf, &n, cap, proto));
    KEY(", \"src\": "); STEP(put_qstr(buf, &n, cap, f[1]));
    KEY(", \"sport\": "); STEP(put_int(buf, &n, cap, f[2], 0));
    KEY(", \"dst\": "); STEP(put_qstr(buf, &n, cap, f[3]));
    KEY(", \"dport\": "); STEP(put_int(buf, &n, cap, f[4], 0));
    KEY(", \"vlan\": "); STEP(put_int(buf, &n, cap, f[5], 1));
    KEY(", \"packets\": "); STEP(put_int(buf, &n, cap, f[6], 0));
    KEY(", \"bytes\": "); STEP(put_int(buf, &n, cap, f[7], 0));
    KEY(", \"packets_rev\": "); STEP(put_int(buf, &n, cap, f[8], 0));
    KEY(", \"bytes_rev\": "); STEP(put_int(buf, &n, cap, f[9], 0));
    KEY(", \"first\": "); STEP(put_time(buf, &n, cap, f[10]));
    KEY(", \"last\": "); STEP(put_time(buf, &n, cap, f[11]));
    KEY(", \"tcp_flags\": "); STEP(put_qstr(buf, &n, cap, flags));
    KEY(", \"source\": "); STEP(put_qstr(buf, &n, cap, f[13]));
    KEY(", \"exporter\": ");
    STEP(f[14] == Py_None ? put(buf, &n, cap, "null", 4) < 0 : put_qstr(buf, &n, cap, f[14]));
    KEY(", \"sampling\": "); STEP(put_int(buf, &n, cap, f[15], 0));
    KEY(", \"in_if\": "); STEP(put_int(buf, &n, cap, f[16], 1));
    KEY(", \"out_if\": "); STEP(put_int(buf, &n, cap, f[17], 1));
    KEY(", ");
    if (f[18] == Py_None) KEY(NO_KPI_JSON);
    else STEP(kpi_put(buf, &n, cap, f[18]));
#undef KEY
#undef STEP
    if (rc < 0) return NULL;
    if (rc > 0) Py_RETURN_NONE;
    n--;  /* the KPIs' "}": the application keys close the object */
    PyObject *out = PyUnicode_New((Py_ssize_t)n + 2 + tlen, 127);
    if (!out) return NULL;
    char *d = (char *)PyUnicode_DATA(out);
    memcpy(d, buf, n);
    memcpy(d + n, ", ", 2);
    memcpy(d + n + 2, t, (size_t)tlen);
    return out;
}

static PyObject *flow_json(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *r, *proto, *flags, *tail;
    if (!PyArg_ParseTuple(args, "OUUU", &r, &proto, &flags, &tail)) return NULL;
    return flow_json_of(r, proto, flags, tail);
}

/* A small int field of a record (proto, tcp_flags) as an index into a 256-entry table;
 * -1: not one. */
static int byte_field(PyObject *v) {
    if (!PyLong_CheckExact(v)) return -1;
    long x = PyLong_AsLong(v);
    if (x == -1 && PyErr_Occurred()) { PyErr_Clear(); return -1; }
    return x >= 0 && x < 256 ? (int)x : -1;
}

/* flow_json_lines(records, proto_texts, flag_texts, no_app_tail, general) -> [line]: each
 * record's flow_json line with its proto and flags texts from the two 256-entry tables;
 * a record with application facts, or one flow_json hands back, goes to ``general``
 * (Python's line). No Python call per usual record. */
static PyObject *flow_json_lines(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *records, *protos, *flags, *no_app, *general;
    if (!PyArg_ParseTuple(args, "OO!O!UO", &records, &PyTuple_Type, &protos, &PyTuple_Type,
                          &flags, &no_app, &general)) return NULL;
    if (PyTuple_GET_SIZE(protos) != 256 || PyTuple_GET_SIZE(flags) != 256) {
        PyErr_SetString(PyExc_ValueError, "proto and flag tables of 256 texts");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(records, "records must be a sequence");
    if (!seq) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    PyObject *out = PyList_New(n);
    if (!out) { Py_DECREF(seq); return NULL; }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *r = items[i], *line = NULL;
        if (PyTuple_Check(r) && PyTuple_GET_SIZE(r) == 20 && PyTuple_GET_ITEM(r, 19) == Py_None) {
            int p = byte_field(PyTuple_GET_ITEM(r, 0)), f = byte_field(PyTuple_GET_ITEM(r, 12));
            if (p >= 0 && f >= 0) {
                PyObject *pt = PyTuple_GET_ITEM(protos, p), *ft = PyTuple_GET_ITEM(flags, f);
                if (PyUnicode_CheckExact(pt) && PyUnicode_CheckExact(ft)) {
                    line = flow_json_of(r, pt, ft, no_app);
                    if (!line) goto fail;
                    if (line == Py_None) Py_CLEAR(line);
                }
            }
        }
        if (!line && !(line = PyObject_CallOneArg(general, r))) goto fail;
        PyList_SET_ITEM(out, i, line);
    }
    Py_DECREF(seq);
    return out;
fail:
    Py_DECREF(seq);
    Py_DECREF(out);
    return NULL;
}
