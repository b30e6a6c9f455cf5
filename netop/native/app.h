/* Application-layer facts of a flow for the capture table (_fastflow.c includes this).
 *
 * From the first payload packets of a flow (at most APP_TRIES per flow and interval,
 * then the entry's counter stops it): the HTTP/1.x request line and Host, the TLS
 * ClientHello's SNI and ALPN list, the DNS question (name, type) and answer (rcode,
 * the first A/AAAA/CNAME records). The facts live in a bounded side table (APP_MAX
 * flows per interval, first come; the rest are counted in app_overflow), not in the
 * hot Entry, which holds only its 1-based index and the counter. The engine merges the
 * facts of successive intervals (netop.model.AppFacts.merged).
 *
 * Input is hostile: every read is checked against the captured payload (never past
 * caplen), DNS name compression is followed a bounded number of hops, and the text
 * kept is printable ASCII only (anything else becomes '?'; ',' too in list items, which
 * are joined with ','). Only one TCP segment is read: a ClientHello split over several
 * segments gives what its first one holds. */

#define APP_MAX 4096
#define APP_TRIES 4
#define APP_NAME 256
#define APP_TEXT 160

enum { APP_NONE, APP_HTTP, APP_TLS, APP_DNS };
enum { HAVE_ASK = 1, HAVE_ANSWER = 2 };

typedef struct AppFacts_ {
    uint8_t kind, have;
    uint16_t qtype;
    int16_t rcode;          /* -1: no response seen */
    char name[APP_NAME];    /* TLS: SNI; HTTP: Host; DNS: query name */
    char text[APP_TEXT];    /* TLS: ALPN list; HTTP: request line; DNS: answers */
} AppFacts;

/* Append n bytes of s to the NUL-terminated dst (size cap) as printable ASCII. */
static void app_put(char *dst, size_t cap, const uint8_t *s, size_t n, int list_item) {
    size_t len = strlen(dst);
    for (size_t i = 0; i < n && len + 1 < cap; i++) {
        uint8_t c = s[i];
        dst[len++] = (c < 0x20 || c > 0x7E || (list_item && c == ',')) ? '?' : (char)c;
    }
    dst[len] = 0;
}

static void app_sep(char *dst, size_t cap) {
    if (dst[0]) app_put(dst, cap, (const uint8_t *)",", 1, 0);
}

/* ---- HTTP/1.x request --------------------------------------------------------- */

static const char *const HTTP_METHODS[] = {"GET ", "POST ", "HEAD ", "PUT ", "DELETE ",
                                           "OPTIONS ", "PATCH ", "CONNECT ", "TRACE ", NULL};

static int app_http(AppFacts *f, const uint8_t *p, uint32_t n) {
    size_t m = 0;
    for (int i = 0; HTTP_METHODS[i]; i++) {
        size_t l = strlen(HTTP_METHODS[i]);
        if (n > l && memcmp(p, HTTP_METHODS[i], l) == 0) { m = l; break; }
    }
    if (!m || p[m] == ' ' || p[m] == '\r' || p[m] == '\n') return 0;
    /* the request line up to " HTTP/" or the line's end */
    uint32_t end = (uint32_t)m;
    while (end < n && p[end] != '\r' && p[end] != '\n' && p[end] != ' ') end++;
    /* "GET key" (Redis's inline command) is no request line: " HTTP/" must follow the
     * target, unless the capture ends before it does */
    if (end < n && (p[end] != ' ' || (n - end > 5 && memcmp(p + end + 1, "HTTP/", 5) != 0)))
        return 0;
    f->text[0] = 0;
    app_put(f->text, sizeof f->text, p, end, 0);
    /* Host: a header line at the start of a line, name case-insensitive */
    for (uint32_t i = end; i + 6 < n; i++) {
        if (p[i] != '\n') continue;
        const uint8_t *h = p + i + 1;
        uint32_t left = n - i - 1;
        if (left >= 2 && h[0] == '\r' && h[1] == '\n') break;  /* end of the headers */
        if (left < 5 || (h[0] | 0x20) != 'h' || (h[1] | 0x20) != 'o' || (h[2] | 0x20) != 's'
            || (h[3] | 0x20) != 't' || h[4] != ':') continue;
        uint32_t a = 5, b;
        while (a < left && (h[a] == ' ' || h[a] == '\t')) a++;
        b = a;
        while (b < left && h[b] != '\r' && h[b] != '\n') b++;
        while (b > a && (h[b - 1] == ' ' || h[b - 1] == '\t')) b--;
        f->name[0] = 0;
        app_put(f->name, sizeof f->name, h + a, b - a, 0);
        break;
    }
    f->kind = APP_HTTP;
    f->have |= HAVE_ASK;
    return 1;
}

/* ---- TLS ClientHello ------------------------------------------------------------ */

static int app_tls(AppFacts *f, const uint8_t *p, uint32_t n) {
    /* record: handshake, TLS 1.0..1.3 legacy version; handshake: ClientHello */
    if (n < 43 || p[0] != 0x16 || p[1] != 3 || p[2] > 4 || p[5] != 1) return 0;
    uint32_t rec = 5u + be16(p + 3);
    uint32_t end = n < rec ? n : rec;
    uint32_t o = 9 + 2 + 32;  /* record + handshake headers, version, random */
    if (o + 1 > end) return 0;
    o += 1u + p[o];                            /* session id */
    if (o + 2 > end) goto done;
    o += 2u + be16(p + o);                     /* cipher suites */
    if (o + 1 > end) goto done;
    o += 1u + p[o];                            /* compression methods */
    if (o + 2 > end) goto done;
    uint32_t xend = o + 2u + be16(p + o);
    if (xend < end) end = xend;
    o += 2;
    while (o + 4 <= end) {
        uint16_t type = be16(p + o), len = be16(p + o + 2);
        const uint8_t *x = p + o + 4;
        uint32_t xn = end - (o + 4) < len ? end - (o + 4) : len;  /* what was captured */
        if (type == 0 && xn >= 5 && x[2] == 0) {         /* server_name: host_name */
            uint32_t l = be16(x + 3);
            f->name[0] = 0;
            app_put(f->name, sizeof f->name, x + 5, l < xn - 5 ? l : xn - 5, 0);
        } else if (type == 16 && xn >= 2) {               /* ALPN */
            uint32_t i = 2, lend = 2u + be16(x);
            if (lend > xn) lend = xn;
            f->text[0] = 0;
            while (i < lend) {
                uint32_t l = x[i++];
                if (i + l > lend) break;
                app_sep(f->text, sizeof f->text);
                app_put(f->text, sizeof f->text, x + i, l, 1);
                i += l;
            }
        }
        o += 4u + len;
    }
done:
    f->kind = APP_TLS;
    f->have |= HAVE_ASK;
    return 1;
}

/* ---- DNS ------------------------------------------------------------------------- */

/* Read the name at *o (compression followed, at most 16 hops) into out (may be NULL);
 * *o moves past the name as it stands in the message. 0 on a malformed name. */
static int dns_name(const uint8_t *m, uint32_t n, uint32_t *o, char *out, size_t cap) {
    uint32_t i = *o, hops = 0, labels = 0;
    int jumped = 0;
    if (out) out[0] = 0;
    for (;;) {
        if (i >= n) return 0;
        uint8_t l = m[i];
        if (l == 0) { if (!jumped) *o = i + 1; break; }
        if ((l & 0xC0) == 0xC0) {
            if (i + 1 >= n || ++hops > 16) return 0;
            if (!jumped) *o = i + 2;
            jumped = 1;
            i = (uint32_t)(l & 0x3F) << 8 | m[i + 1];
            continue;
        }
        if (l & 0xC0 || i + 1 + l > n || ++labels > 128) return 0;
        if (out) {
            if (out[0]) app_put(out, cap, (const uint8_t *)".", 1, 0);
            app_put(out, cap, m + i + 1, l, 1);
        }
        i += 1u + l;
    }
    if (out && !out[0]) app_put(out, cap, (const uint8_t *)".", 1, 0);  /* the root */
    return 1;
}

static void dns_answer(AppFacts *f, const uint8_t *m, uint32_t n, uint32_t o, uint16_t ancount) {
    int kept = 0;
    for (uint16_t k = 0; k < ancount && k < 16 && kept < 4; k++) {
        if (!dns_name(m, n, &o, NULL, 0) || o + 10 > n) return;
        uint16_t type = be16(m + o), cls = be16(m + o + 2), rdlen = be16(m + o + 8);
        uint32_t rd = o + 10;
        if (rd + rdlen > n) return;
        char buf[APP_NAME];
        buf[0] = 0;
        if (cls == 1 && type == 1 && rdlen == 4) {
            snprintf(buf, sizeof buf, "%u.%u.%u.%u", m[rd], m[rd + 1], m[rd + 2], m[rd + 3]);
        } else if (cls == 1 && type == 28 && rdlen == 16) {
            /* full form; the Python side prints it canonically */
            int w = 0;
            for (int j = 0; j < 16; j += 2)
                w += snprintf(buf + w, sizeof buf - (size_t)w, j ? ":%x" : "%x", be16(m + rd + j));
        } else if (cls == 1 && type == 5) {
            uint32_t c = rd;
            if (!dns_name(m, rd + rdlen, &c, buf, sizeof buf)) return;
        }
        if (buf[0]) {
            app_sep(f->text, sizeof f->text);
            app_put(f->text, sizeof f->text, (const uint8_t *)buf, strlen(buf), 1);
            kept++;
        }
        o = rd + rdlen;
    }
}

/* One DNS message (after TCP's length prefix); only standard queries and responses. */
static int app_dns(AppFacts *f, const uint8_t *m, uint32_t n) {
    if (n < 17) return 0;
    uint16_t flags = be16(m + 2), qd = be16(m + 4), an = be16(m + 6);
    if (((flags >> 11) & 0xF) != 0 || qd != 1) return 0;
    uint32_t o = 12;
    char name[APP_NAME];
    if (!dns_name(m, n, &o, name, sizeof name) || o + 4 > n) return 0;
    int response = flags >> 15;
    if (!(f->have & HAVE_ASK) || !response) {
        memcpy(f->name, name, sizeof name);
        f->qtype = be16(m + o);
    }
    f->kind = APP_DNS;
    if (!response) { f->have |= HAVE_ASK; return 1; }
    if (!(f->have & HAVE_ASK)) f->have |= HAVE_ASK;  /* the question is repeated */
    f->rcode = (int16_t)(flags & 0xF);
    f->text[0] = 0;
    dns_answer(f, m, n, o + 4, an);
    f->have |= HAVE_ANSWER;
    return 1;
}

/* ---- the hook ----------------------------------------------------------------- */

static AppFacts *app_slot(Table *t, Entry *e) {
    if (e->app) return &t->app[e->app - 1];
    if (!t->app) {
        t->app = PyMem_Malloc(APP_MAX * sizeof(AppFacts));
        if (!t->app) return NULL;  /* no facts, the counts go on */
    }
    if (t->app_n >= APP_MAX) { t->app_overflow++; return NULL; }
    AppFacts *f = &t->app[t->app_n++];
    memset(f, 0, offsetof(AppFacts, name));
    f->name[0] = f->text[0] = 0;
    f->rcode = -1;
    e->app = (uint16_t)t->app_n;
    return f;
}

/* The payload of a transport segment captured as l4[0..cap): 0 when there is none (a
 * SYN, an ACK), -1 when the header is broken. */
static int app_payload(const uint8_t *l4, uint32_t cap, uint8_t proto, const uint8_t **p,
                       uint32_t *n) {
    uint32_t h = 8;
    if (proto == 6) {
        if (cap < 20) return 0;
        h = (uint32_t)(l4[12] >> 4) * 4;
        if (h < 20) return -1;
    }
    if (cap <= h) return 0;
    *p = l4 + h;
    *n = cap - h;
    return 1;
}

/* Read one payload into f (which holds what the flow said before); 1 when it was HTTP,
 * TLS or DNS. */
static int app_read(AppFacts *f, const uint8_t *p, uint32_t n, uint8_t proto, int dns) {
    if (dns) {
        if (proto != 6) return app_dns(f, p, n);
        return n > 2 && app_dns(f, p + 2, n - 2 < be16(p) ? n - 2 : be16(p));
    }
    return p[0] == 0x16 ? app_tls(f, p, n) : app_http(f, p, n);
}

static void app_clear(AppFacts *f) {
    memset(f, 0, offsetof(AppFacts, name));
    f->name[0] = f->text[0] = 0;
    f->rcode = -1;
}

/* Look at the payload of one of the flow's first packets; done: no more looks. */
__attribute__((noinline, cold)) static void app_look(Table *t, Entry *e, const Pkt *k) {
    const uint8_t *p;
    uint32_t n;
    int has = app_payload(k->l4, k->l4cap < k->l4len ? k->l4cap : k->l4len, k->proto, &p, &n);
    if (has <= 0) {
        if (has < 0) e->app_n = APP_TRIES;
        return;
    }
    e->app_n++;
    int dns = k->sport == 53 || k->dport == 53;
    /* cheap first-byte rejects before any side-table slot is taken */
    if (!dns && p[0] != 0x16 && !(p[0] >= 'C' && p[0] <= 'T')) return;
    AppFacts scratch, *f = e->app ? &t->app[e->app - 1] : &scratch;
    if (!e->app) app_clear(&scratch);
    if (!app_read(f, p, n, k->proto, dns)) return;
    if (f == &scratch) {
        AppFacts *s = app_slot(t, e);
        if (!s) { e->app_n = APP_TRIES; return; }
        *s = scratch;
        f = s;
    }
    if (f->kind != APP_DNS || f->have == (HAVE_ASK | HAVE_ANSWER)) e->app_n = APP_TRIES;
}

static inline void app_hook(Table *t, Entry *e, const Pkt *k) {
    if (__builtin_expect(e->app_n < APP_TRIES, 0) && k->l4) app_look(t, e, k);
}

static const char *const APP_KINDS[] = {NULL, "http", "tls", "dns"};

static PyObject *app_str(const char *s) { return s[0] ? PyUnicode_FromString(s) : Py_NewRef(Py_None); }

static PyObject *facts_tuple(const AppFacts *f) {
    PyObject *qt = f->kind == APP_DNS ? PyLong_FromLong(f->qtype) : Py_NewRef(Py_None);
    PyObject *rc = f->rcode >= 0 ? PyLong_FromLong(f->rcode) : Py_NewRef(Py_None);
    return Py_BuildValue("(sNNNN)", APP_KINDS[f->kind], app_str(f->name), app_str(f->text), qt, rc);
}

/* The facts as (app, name, text, qtype, rcode), or None: AppFacts.from_row reads it. */
static PyObject *app_tuple(const Table *t, const Entry *e) {
    if (!e->app || !t->app) return Py_NewRef(Py_None);
    return facts_tuple(&t->app[e->app - 1]);
}

/* app_parse(proto, sport, dport, l4) -> (app, name, text, qtype, rcode) | None: what one
 * segment (transport header and payload as captured) says, for the packets Python
 * counts (file playback in the TUI, the slow path); Python merges a flow's. */
static PyObject *app_parse(PyObject *self, PyObject *args) {
    int proto, sport, dport;
    Py_buffer l4;
    if (!PyArg_ParseTuple(args, "iiiy*", &proto, &sport, &dport, &l4)) return NULL;
    const uint8_t *p;
    uint32_t n, cap = l4.len > 65535 ? 65535 : (uint32_t)l4.len;
    AppFacts f;
    app_clear(&f);
    int got = (proto == 6 || proto == 17) && app_payload(l4.buf, cap, (uint8_t)proto, &p, &n) > 0
              && app_read(&f, p, n, (uint8_t)proto, sport == 53 || dport == 53);
    PyBuffer_Release(&l4);
    if (!got) Py_RETURN_NONE;
    return facts_tuple(&f);
}
