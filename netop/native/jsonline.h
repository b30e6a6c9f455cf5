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
static PyObject *flow_json(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *r, *proto, *flags, *tail;
    if (!PyArg_ParseTuple(args, "OUUU", &r, &proto, &flags, &tail)) return NULL;
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
