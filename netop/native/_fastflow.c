/* netop capture fast path: walk pcap records or TPACKET_V3 blocks, parse the common
 * frame (Ethernet or cooked/raw IP, at most one VLAN tag, IPv4 without options or
 * fragments, IPv6 without extension headers, TCP or UDP) and aggregate it into a
 * bidirectional flow table, all without creating a Python object per packet.
 *
 * Everything else is returned to Python as a list of offsets for the slow path
 * (netop/packet/decode.py), which has the same semantics. Input is untrusted: every
 * read is bounds-checked against the captured length and the buffer.
 *
 * The engine uses it too: the flow table's merge (netop/engine/flowtable.py) and the
 * flow view's per-tick work over every flow that moved — rates, the average's window
 * sums, the live-flow list, the top-N by rate and the kept aggregations' group sums
 * (netop/engine/flowview.py). Each has a Python twin with the same results, bit for bit
 * (tests/unit/engine/test_flow_shape.py, test_flowview_tick.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <limits.h>
#include <stddef.h>
#include <errno.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/capability.h>

#define NO_VLAN 0xFFFF
#define MAX_SNAPLEN 262144u

typedef struct {
    uint8_t used, proto, alen, flipped;
    uint16_t vlan, pa, pb;
    uint8_t a[16], b[16];
    uint64_t pk[2], by[2];
    double first, last;
    uint8_t flags;
    /* app.h: payload packets looked at this interval, 1 + the index of its AppFacts */
    uint8_t app_n;
    uint16_t app;
    uint32_t kpi;  /* this interval: 1 + the index of the flow's Kpi (kpi.h), UINT32_MAX: none */
    /* ifindex (0: unknown) the a->b packets came in by / went out by */
    int32_t ifin, ifout;
    /* this interval: 1 + its per-flow ring's slot (fring.h) and that slot's generation */
    uint32_t fr, frgen;
} Entry;

/* One kept packet: its flow key (as the packet went) and its first SNAP bytes. */
#define RING_N 4096u   /* global ring of the most recent packets (power of two) */
#define WATCH_N 64u    /* packets of the watched flow kept between two takes */
#define SNAP 256u

typedef struct {
    _Alignas(16) uint8_t data[SNAP];  /* first: aligned for streaming stores */
    double ts;
    uint32_t wirelen;
    uint16_t caplen, linktype;
    uint8_t proto, alen, flags, rev;
    uint16_t vlan, sport, dport;
    uint8_t src[16], dst[16];
} Sample;

typedef struct {
    uint8_t proto, alen;
    uint16_t vlan, sport, dport, rsport, rdport;
    uint8_t src[16], dst[16];
} WatchKey;

typedef struct {
    PyObject_HEAD
    Entry *slots;
    Py_ssize_t cap, count, max_flows;
    unsigned long long overflow;
    int keep, watching;
    Sample *ring, *wring;
    uint64_t seq, wseq;
    WatchKey w;
    double syn, synack, ack;
    /* per-flow KPI state (kpi.h), kept across drains */
    struct Kpi_ **kp;  /* chunks of KCHUNK states */
    uint32_t *kix;
    Py_ssize_t kn, kcap, kix_cap;
    int kpi_on;
    double kpi_idle, know, ksweep_at;
    unsigned long long kpi_overflow;
    /* per-flow packet rings (fring.h) */
    struct FrFlow_ *frf;
    struct FrPkt_ *frp;
    int32_t *frb;
    Py_ssize_t fr_n, fr_k, fr_nb, fr_used, fr_hand;
    unsigned long long fr_reused;
    Entry *fr_e;  /* the flow add_packet just counted (NULL: none) */
    /* application-layer facts of this interval (app.h) */
    struct AppFacts_ *app;
    uint32_t app_n;
    unsigned long long app_overflow;
} Table;

typedef struct {
    uint8_t proto, alen;
    uint16_t vlan, sport, dport;
    const uint8_t *src, *dst;
    uint32_t l3len;
    uint8_t flags;
    int32_t ifindex;   /* the capture interface (0: unknown, e.g. a file) */
    uint8_t outgoing;  /* PACKET_OUTGOING: this host sent it */
    const uint8_t *l4; /* the transport header (NULL: not parsed) */
    uint32_t l4cap, l4len;  /* its bytes captured / the IP payload's length */
} Pkt;

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Parse from the network header; 1 = fast-path packet, 0 = leave it to Python. */
static int parse_l3(const uint8_t *q, uint32_t len, uint16_t etype, uint16_t vlan, Pkt *k) {
    k->vlan = vlan;
    if (etype == 0x0800) {
        if (len < 24 || q[0] != 0x45 || (be16(q + 6) & 0x3FFF)) return 0;
        k->proto = q[9];
        if (k->proto != 6 && k->proto != 17) return 0;
        k->l3len = be16(q + 2);
        if (k->l3len < 20) return 0;
        k->alen = 4; k->src = q + 12; k->dst = q + 16;
        k->l4 = q + 20; k->l4len = k->l3len - 20;
        k->l4cap = (len < k->l3len ? len : k->l3len) - 20;
        k->sport = be16(q + 20); k->dport = be16(q + 22);
        k->flags = (k->proto == 6 && len > 33) ? q[33] : 0;
        return 1;
    }
    if (etype == 0x86DD) {
        if (len < 44 || (q[0] >> 4) != 6) return 0;
        k->proto = q[6];
        if (k->proto != 6 && k->proto != 17) return 0;
        k->l3len = (uint32_t)be16(q + 4) + 40;
        k->alen = 16; k->src = q + 8; k->dst = q + 24;
        k->l4 = q + 40; k->l4len = k->l3len - 40;
        k->l4cap = (len < k->l3len ? len : k->l3len) - 40;
        k->sport = be16(q + 40); k->dport = be16(q + 42);
        k->flags = (k->proto == 6 && len > 53) ? q[53] : 0;
        return 1;
    }
    return 0;
}

static int parse_frame(const uint8_t *p, uint32_t len, int linktype, Pkt *k) {
    if (linktype == 1) {
        if (len < 14) return 0;
        uint16_t et = be16(p + 12), vlan = NO_VLAN;
        uint32_t off = 14;
        if (et == 0x8100 || et == 0x88A8) {
            if (len < 18) return 0;
            vlan = be16(p + 14) & 0x0FFF;
            et = be16(p + 16);
            off = 18;
        }
        return parse_l3(p + off, len - off, et, vlan, k);
    }
    if (linktype == 101 || linktype == 12 || linktype == 14 || linktype == 228 || linktype == 229) {
        if (len < 1) return 0;
        return parse_l3(p, len, (p[0] >> 4) == 6 ? 0x86DD : 0x0800, NO_VLAN, k);
    }
    return 0;
}

static inline uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    return h;
}

/* Whether two addresses of ``alen`` (4 or 16) bytes are equal, and memcmp's sign for
 * them: inline, where a call to memcmp was a tenth of a packet's instructions. */
static inline int addr_eq(const uint8_t *x, const uint8_t *y, uint8_t alen) {
    if (alen == 4) {
        uint32_t u, v;
        memcpy(&u, x, 4); memcpy(&v, y, 4);
        return u == v;
    }
    uint64_t p, q, r, s;
    memcpy(&p, x, 8); memcpy(&q, y, 8); memcpy(&r, x + 8, 8); memcpy(&s, y + 8, 8);
    return p == q && r == s;
}

static inline int addr_cmp(const uint8_t *x, const uint8_t *y, uint8_t alen) {
    if (alen == 4) {
        uint32_t u, v;
        memcpy(&u, x, 4); memcpy(&v, y, 4);
        u = __builtin_bswap32(u); v = __builtin_bswap32(v);
        return (u > v) - (u < v);
    }
    uint64_t p, q;
    memcpy(&p, x, 8); memcpy(&q, y, 8);
    if (p == q) { memcpy(&p, x + 8, 8); memcpy(&q, y + 8, 8); }
    p = __builtin_bswap64(p); q = __builtin_bswap64(q);
    return (p > q) - (p < q);
}

static uint64_t hash_entry(uint8_t proto, uint16_t vlan, uint8_t alen, const uint8_t *a,
                           const uint8_t *b, uint16_t pa, uint16_t pb) {
    uint64_t h = (uint64_t)proto << 48 | (uint64_t)vlan << 32 | (uint64_t)pa << 16 | pb;
    uint64_t w;
    for (int i = 0; i < alen; i += 4) {
        uint32_t x, y;
        memcpy(&x, a + i, 4); memcpy(&y, b + i, 4);
        w = (uint64_t)x << 32 | y;
        h = mix(h, w);
    }
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL; h ^= h >> 33;
    return h;
}

#include "kpi.h"
#include "app.h"
#include "jsonline.h"

static int grow(Table *t) {
    Py_ssize_t ncap = t->cap ? t->cap * 2 : 1024;
    Entry *ns = PyMem_Calloc((size_t)ncap, sizeof(Entry));
    if (!ns) return -1;
    for (Py_ssize_t i = 0; i < t->cap; i++) {
        Entry *e = &t->slots[i];
        if (!e->used) continue;
        uint64_t h = hash_entry(e->proto, e->vlan, e->alen, e->a, e->b, e->pa, e->pb);
        Py_ssize_t j = (Py_ssize_t)(h & (uint64_t)(ncap - 1));
        while (ns[j].used) j = (j + 1) & (ncap - 1);
        ns[j] = *e;
    }
    PyMem_Free(t->slots);
    t->slots = ns;
    t->cap = ncap;
    return 0;
}

/* The interface a packet going ``dir`` (0: a->b) was seen on, as the a->b direction's
 * in or out interface: received a->b is a->b's way in, sent b->a is its way in too. */
static inline void note_ifindex(Entry *e, const Pkt *k, int dir) {
    if (!k->ifindex) return;
    if ((dir == 0) == !k->outgoing) e->ifin = k->ifindex;
    else e->ifout = k->ifindex;
}

static int add_packet(Table *t, const Pkt *k, double ts) {
    /* Canonical order: side a is the lower (address, port). */
    int c = addr_cmp(k->src, k->dst, k->alen);
    int src_is_a = c < 0 || (c == 0 && k->sport <= k->dport);
    const uint8_t *a = src_is_a ? k->src : k->dst, *b = src_is_a ? k->dst : k->src;
    uint16_t pa = src_is_a ? k->sport : k->dport, pb = src_is_a ? k->dport : k->sport;
    int dir = src_is_a ? 0 : 1;
    t->fr_e = NULL;
    if ((t->count + 1) * 2 > t->cap && grow(t) < 0) return -1;
    uint64_t h = hash_entry(k->proto, k->vlan, k->alen, a, b, pa, pb);
    Py_ssize_t mask = t->cap - 1, j = (Py_ssize_t)(h & (uint64_t)mask);
    for (;;) {
        Entry *e = &t->slots[j];
        if (!e->used) break;
        if (e->proto == k->proto && e->vlan == k->vlan && e->alen == k->alen && e->pa == pa &&
            e->pb == pb && addr_eq(e->a, a, k->alen) && addr_eq(e->b, b, k->alen)) {
            /* its KPI state is a cache miss of its own: start it now */
            if (e->kpi && e->kpi != UINT32_MAX) {
                const char *kp = (const char *)KP(t, (Py_ssize_t)e->kpi - 1);
                __builtin_prefetch(kp, 1);
                __builtin_prefetch(kp + 64, 1);
            }
            e->pk[dir] += 1; e->by[dir] += k->l3len;
            if (ts > e->last) e->last = ts;
            if (ts < e->first) e->first = ts;
            e->flags |= k->flags;
            note_ifindex(e, k, dir);
            kpi_hook(t, e, k, dir, e->flipped, ts);
            t->fr_e = e;
            app_hook(t, e, k);
            return 0;
        }
        j = (j + 1) & mask;
    }
    if (t->count >= t->max_flows) { t->overflow++; return 0; }
    Entry *e = &t->slots[j];
    memset(e, 0, sizeof(Entry));
    e->used = 1; e->proto = k->proto; e->alen = k->alen; e->vlan = k->vlan;
    e->pa = pa; e->pb = pb;
    memcpy(e->a, a, k->alen); memcpy(e->b, b, k->alen);
    /* A SYN-ACK seen first means the other side opened the flow. */
    int opener_is_src = !(k->proto == 6 && (k->flags & 0x12) == 0x12);
    e->flipped = (opener_is_src ? src_is_a : !src_is_a) ? 0 : 1;
    if (c == 0 && k->sport == k->dport) e->flipped = 0;  /* talking to itself */
    e->pk[dir] = 1; e->by[dir] = k->l3len;
    e->first = e->last = ts; e->flags = k->flags;
    note_ifindex(e, k, dir);
    t->count++;
    kpi_hook(t, e, k, dir, e->flipped, ts);
    t->fr_e = e;
    app_hook(t, e, k);
    return 0;
}

/* TCP handshake of the watched flow: first SYN, the SYN/ACK answering it, the ACK after. */
static void handshake(Table *t, const Sample *s) {
    if (s->proto != 6) return;
    uint8_t f = s->flags & 0x12;
    if (f == 0x02 && !s->rev && t->syn == 0.0) t->syn = s->ts;
    else if (f == 0x12 && s->rev && t->syn != 0.0 && t->synack == 0.0 && s->ts >= t->syn)
        t->synack = s->ts;
    else if (f == 0x10 && !s->rev && t->synack != 0.0 && t->ack == 0.0 && s->ts >= t->synack)
        t->ack = s->ts;
}

/* Keep one packet of the watched flow (``rev``: it went dst -> src). */
static void watch_keep(Table *t, const Sample *s, int rev) {
    Sample *d = &t->wring[t->wseq++ & (WATCH_N - 1)];
    *d = *s;
    d->rev = (uint8_t)rev;
    handshake(t, d);
}

#include "fring.h"

static void watch_match(Table *t, const Sample *s) {
    const WatchKey *w = &t->w;
    if (s->proto != w->proto || s->vlan != w->vlan || s->alen != w->alen) return;
    int rev;
    if (s->sport == w->sport && s->dport == w->dport && !memcmp(s->src, w->src, w->alen) &&
        !memcmp(s->dst, w->dst, w->alen))
        rev = 0;
    else if (s->sport == w->rsport && s->dport == w->rdport && !memcmp(s->src, w->dst, w->alen) &&
             !memcmp(s->dst, w->src, w->alen))
        rev = 1;
    else
        return;
    watch_keep(t, s, rev);
}

/* Keep one packet in the global ring (and the watched flow's ring when it matches). */
static inline void keep_packet(Table *t, const Pkt *k, double ts, const uint8_t *data,
                               uint32_t caplen, uint32_t wirelen, int linktype) {
    if (!t->ring) return;
    fr_keep(t, t->fr_e, k, ts, data, caplen, wirelen, linktype, t->seq);
    Sample *s = &t->ring[t->seq++ & (RING_N - 1)];
    uint32_t n = caplen < SNAP ? caplen : SNAP;
    s->ts = ts; s->wirelen = wirelen; s->caplen = (uint16_t)n; s->linktype = (uint16_t)linktype;
    s->proto = k->proto; s->alen = k->alen; s->flags = k->flags; s->rev = 0;
    s->vlan = k->vlan; s->sport = k->sport; s->dport = k->dport;
    memcpy(s->src, k->src, k->alen); memcpy(s->dst, k->dst, k->alen);
    memcpy(s->data, data, n);
    /* The next slot has long left the cache: start fetching it now (for writing). */
    Sample *next = &t->ring[t->seq & (RING_N - 1)];
    __builtin_prefetch(next->data, 1, 0);
    __builtin_prefetch(next->data + 64, 1, 0);
    __builtin_prefetch(&next->ts, 1, 0);
    if (t->watching) watch_match(t, s);
}

static void Table_dealloc(Table *t) {
    PyMem_Free(t->ring);
    PyMem_Free(t->wring);
    PyMem_Free(t->slots);
    PyMem_Free(t->app);
    kpi_free(t);
    fr_free(t);
    Py_TYPE(t)->tp_free((PyObject *)t);
}

static int Table_init(Table *t, PyObject *args, PyObject *kw) {
    Py_ssize_t max_flows = 1000000;
    int keep = 0, kpis = 1;
    double kpi_idle = 60.0;
    Py_ssize_t flow_packets = 16, flow_rings = 2048;
    static char *names[] = {"max_flows", "keep_packets", "kpis", "kpi_idle", "flow_packets",
                            "flow_rings", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|nppdnn", names, &max_flows, &keep, &kpis,
                                     &kpi_idle, &flow_packets, &flow_rings))
        return -1;
    t->max_flows = max_flows < 1 ? 1 : max_flows;
    t->kpi_on = kpis;
    t->kpi_idle = kpi_idle;
    if (keep && !t->ring) {
        t->ring = PyMem_Calloc(RING_N, sizeof(Sample));
        t->wring = PyMem_Calloc(WATCH_N, sizeof(Sample));
        if (!t->ring || !t->wring) { PyErr_NoMemory(); return -1; }
        int fr = fr_init(t, flow_packets, flow_rings);
        if (fr == -1) PyErr_NoMemory();
        if (fr < 0) return -1;
    }
    return 0;
}

static PyObject *append_offset(PyObject *list, Py_ssize_t off) {
    PyObject *o = PyLong_FromSsize_t(off);
    if (!o || PyList_Append(list, o) < 0) { Py_XDECREF(o); return NULL; }
    Py_DECREF(o);
    return list;
}

/* feed_pcap(buf, little, nano, linktype) -> (consumed, slow_offsets, packets, last_ts, bad) */
static PyObject *Table_feed_pcap(Table *t, PyObject *args) {
    Py_buffer view;
    int little, nano, linktype;
    if (!PyArg_ParseTuple(args, "y*ppi", &view, &little, &nano, &linktype)) return NULL;
    const uint8_t *buf = view.buf;
    Py_ssize_t end = view.len, off = 0, n = 0;
    double last_ts = 0.0, scale = nano ? 1e-9 : 1e-6;
    int bad = 0;
    PyObject *slow = PyList_New(0);
    if (!slow) { PyBuffer_Release(&view); return NULL; }
    while (off + 16 <= end) {
        uint32_t h[4];
        memcpy(h, buf + off, 16);
        if (!little) for (int i = 0; i < 4; i++) h[i] = __builtin_bswap32(h[i]);
        if (h[2] > MAX_SNAPLEN) { bad = 1; break; }
        if (off + 16 + (Py_ssize_t)h[2] > end) break;
        double ts = (double)h[0] + (double)h[1] * scale;
        Pkt k;
        k.ifindex = 0; k.outgoing = 0;
        if (parse_frame(buf + off + 16, h[2], linktype, &k)) {
            if (add_packet(t, &k, ts) < 0) { Py_DECREF(slow); PyBuffer_Release(&view); return PyErr_NoMemory(); }
            keep_packet(t, &k, ts, buf + off + 16, h[2], h[3], linktype);
        } else if (!append_offset(slow, off)) {
            Py_DECREF(slow); PyBuffer_Release(&view); return NULL;
        }
        last_ts = ts;
        n++;
        off += 16 + h[2];
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("nNndi", off, slow, n, last_ts, bad);
}

#define PACKET_OUTGOING 4

/* feed_tpacket(block, count, loopback=0) -> (slow_offsets, packets); offsets of
 * tpacket3_hdr. ``loopback`` is the ifindex of lo: its outgoing copies are skipped, as
 * libpcap does, because lo delivers every packet again as incoming. */
static PyObject *Table_feed_tpacket(Table *t, PyObject *args) {
    Py_buffer view;
    Py_ssize_t count;
    int loopback = 0;
    if (!PyArg_ParseTuple(args, "y*n|i", &view, &count, &loopback)) return NULL;
    const uint8_t *blk = view.buf;
    Py_ssize_t end = view.len, n = 0;
    PyObject *slow = PyList_New(0);
    if (!slow) { PyBuffer_Release(&view); return NULL; }
    uint32_t off;
    if (end < 20) goto done;
    memcpy(&off, blk + 16, 4);
    for (Py_ssize_t i = 0; i < count; i++) {
        if ((Py_ssize_t)off + 60 > end) break;
        uint32_t nxt, sec, nsec, snaplen, status, tci;
        uint16_t mac;
        int32_t ifindex;
        memcpy(&nxt, blk + off, 4); memcpy(&sec, blk + off + 4, 4);
        memcpy(&nsec, blk + off + 8, 4); memcpy(&snaplen, blk + off + 12, 4);
        memcpy(&status, blk + off + 20, 4); memcpy(&mac, blk + off + 24, 2);
        memcpy(&tci, blk + off + 32, 4); memcpy(&ifindex, blk + off + 52, 4);
        if (loopback && ifindex == loopback && blk[off + 58] == PACKET_OUTGOING) {
            if (!nxt) break;
            off += nxt;
            continue;
        }
        n++;
        uint16_t etype = be16(blk + off + 50);
        uint16_t vlan = (status & 0x10) ? (uint16_t)(tci & 0x0FFF) : NO_VLAN;
        Pkt k;
        k.ifindex = ifindex; k.outgoing = blk[off + 58] == PACKET_OUTGOING;
        int fast = (Py_ssize_t)off + mac + snaplen <= end &&
                   parse_l3(blk + off + mac, snaplen, etype, vlan, &k);
        if (fast) {
            double ts = (double)sec + (double)nsec * 1e-9;
            if (add_packet(t, &k, ts) < 0) {
                Py_DECREF(slow); PyBuffer_Release(&view); return PyErr_NoMemory();
            }
            uint32_t wirelen;
            memcpy(&wirelen, blk + off + 16, 4);
            /* SOCK_DGRAM ring: the data starts at the network header (LINKTYPE_RAW). */
            keep_packet(t, &k, ts, blk + off + mac, snaplen, wirelen, 101);
        } else if (!append_offset(slow, off)) {
            Py_DECREF(slow); PyBuffer_Release(&view); return NULL;
        }
        if (!nxt) break;
        off += nxt;
    }
done:
    PyBuffer_Release(&view);
    return Py_BuildValue("Nn", slow, n);
}

/* drain() -> [(proto, src, sport, dst, dport, vlan, p, b, pr, br, first, last, flags,
 *              in_if, out_if, kpi, app)]: a FlowRecord's fields in its order, less
 * (source, exporter, sampling); addresses packed; in_if/out_if None when unknown; kpi
 * the flow's FlowKpi fields so far (kpi.h) or None; app its facts this interval (app.h)
 * or None. */
static PyObject *Table_drain(Table *t, PyObject *Py_UNUSED(unused)) {
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    for (Py_ssize_t i = 0; i < t->cap; i++) {
        Entry *e = &t->slots[i];
        if (!e->used) continue;
        int f = e->flipped;
        PyObject *vlan = e->vlan == NO_VLAN ? Py_None : PyLong_FromLong(e->vlan);
        if (e->vlan == NO_VLAN) Py_INCREF(Py_None);
        int32_t in_if = f ? e->ifout : e->ifin, out_if = f ? e->ifin : e->ifout;
        PyObject *pin = in_if ? PyLong_FromLong(in_if) : Py_NewRef(Py_None);
        PyObject *pout = out_if ? PyLong_FromLong(out_if) : Py_NewRef(Py_None);
        PyObject *kpi = Py_None;
        if (e->kpi && e->kpi != UINT32_MAX) {
            Kpi *kk = KP(t, (Py_ssize_t)e->kpi - 1);
            if (e->last > kk->last) kk->last = e->last;  /* for the sweep after the drain */
            kpi = kpi_tuple(kk, f);
        } else {
            Py_INCREF(kpi);
        }
        PyObject *app = kpi ? app_tuple(t, e) : NULL;
        if (!app) { Py_DECREF(vlan); Py_XDECREF(pin); Py_XDECREF(pout); Py_XDECREF(kpi); Py_DECREF(out); return NULL; }
        PyObject *row = Py_BuildValue(
            "(iy#iy#iNKKKKddiNNNN)", e->proto, f ? e->b : e->a, (Py_ssize_t)e->alen,
            f ? e->pb : e->pa, f ? e->a : e->b, (Py_ssize_t)e->alen, f ? e->pa : e->pb, vlan,
            (unsigned long long)e->pk[f], (unsigned long long)e->by[f],
            (unsigned long long)e->pk[!f], (unsigned long long)e->by[!f], e->first, e->last,
            (int)e->flags, pin, pout, kpi, app);
        if (!row || PyList_Append(out, row) < 0) { Py_XDECREF(row); Py_DECREF(out); return NULL; }
        Py_DECREF(row);
    }
    if (t->cap > 65536 && t->count * 8 < t->cap) {
        PyMem_Free(t->slots); t->slots = NULL; t->cap = 0;  /* shrink after a burst */
    } else if (t->slots) {
        memset(t->slots, 0, (size_t)t->cap * sizeof(Entry));
    }
    t->count = 0;
    t->app_n = 0;
    return out;
}

/* A tuple of type ``type`` (a tuple subclass: a named tuple) holding ``plain``'s items, as
 * ``tuple.__new__(type, plain)`` makes it; ``plain`` is released. */
static PyObject *retyped(PyObject *plain, PyTypeObject *type) {
    if (!plain) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(plain);
    PyObject *out = type->tp_alloc(type, n);
    if (out) {
        for (Py_ssize_t i = 0; i < n; i++)
            PyTuple_SET_ITEM(out, i, Py_NewRef(PyTuple_GET_ITEM(plain, i)));
    }
    Py_DECREF(plain);
    return out;
}

/* An address as text, as ``socket.inet_ntop`` writes it. IPv4 by hand: glibc's goes
 * through sprintf, a microsecond an address. */
static PyObject *addr_text(const uint8_t *raw, uint8_t alen) {
    char buf[INET6_ADDRSTRLEN];
    if (alen == 4) {
        char *o = buf;
        for (int i = 0; i < 4; i++) {
            unsigned v = raw[i];
            if (v >= 100) { *o++ = (char)('0' + v / 100); v %= 100; *o++ = (char)('0' + v / 10); }
            else if (v >= 10) *o++ = (char)('0' + v / 10);
            *o++ = (char)('0' + v % 10);
            *o++ = '.';
        }
        Py_ssize_t n = o - buf - 1;
        PyObject *text = PyUnicode_New(n, 127);  /* ASCII: no decoding */
        if (text) memcpy(PyUnicode_1BYTE_DATA(text), buf, (size_t)n);
        return text;
    }
    if (!inet_ntop(AF_INET6, raw, buf, sizeof buf)) {
        PyErr_SetString(PyExc_ValueError, "bad address");
        return NULL;
    }
    return PyUnicode_FromString(buf);
}

/* An address's text from ``names`` (packed address -> text), made and kept there when
 * new: one string per address, shared by its flows and the same object tick after tick
 * (the flow table's keys then compare by identity). */
static PyObject *named_addr(PyObject *names, PyObject *raw) {
    PyObject *text = PyDict_GetItemWithError(names, raw);  /* borrowed */
    if (text) return Py_NewRef(text);
    if (PyErr_Occurred()) return NULL;
    text = addr_text((const uint8_t *)PyBytes_AS_STRING(raw), (uint8_t)PyBytes_GET_SIZE(raw));
    if (text && PyDict_SetItem(names, raw, text) < 0) Py_CLEAR(text);
    return text;
}

/* drain_records(record_type, kpi_type, as_app, source, sampling, names) -> [record]: what
 * ``drain`` gives, each row made the record PacketAggregator.drain makes of it in
 * Python (addresses as text through ``names``, counts times ``sampling``, the KPIs a
 * ``kpi_type``, app facts through ``as_app``), with no Python call per flow but
 * ``as_app``'s. */
static PyObject *Table_drain_records(Table *t, PyObject *args) {
    PyTypeObject *rtype, *ktype;
    PyObject *as_app, *source, *names;
    unsigned long long k;
    if (!PyArg_ParseTuple(args, "O!O!OUKO!", &PyType_Type, &rtype, &PyType_Type, &ktype,
                          &as_app, &source, &k, &PyDict_Type, &names)) return NULL;
    if (!PyType_IsSubtype(rtype, &PyTuple_Type) || !PyType_IsSubtype(ktype, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "record and KPI types must be tuples");
        return NULL;
    }
    PyObject *rows = Table_drain(t, NULL);
    if (!rows) return NULL;
    PyObject *sampling = PyLong_FromUnsignedLongLong(k);
    if (!sampling) { Py_DECREF(rows); return NULL; }
    Py_ssize_t n = PyList_GET_SIZE(rows);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *row = PyList_GET_ITEM(rows, i);
        PyObject *rec = rtype->tp_alloc(rtype, 20);
        if (!rec) goto fail;
        PyObject *src = named_addr(names, PyTuple_GET_ITEM(row, 1));
        PyObject *dst = src ? named_addr(names, PyTuple_GET_ITEM(row, 3)) : NULL;
        if (!dst) { Py_XDECREF(src); Py_DECREF(rec); goto fail; }
        PyTuple_SET_ITEM(rec, 0, Py_NewRef(PyTuple_GET_ITEM(row, 0)));
        PyTuple_SET_ITEM(rec, 1, src);
        PyTuple_SET_ITEM(rec, 2, Py_NewRef(PyTuple_GET_ITEM(row, 2)));
        PyTuple_SET_ITEM(rec, 3, dst);
        PyTuple_SET_ITEM(rec, 4, Py_NewRef(PyTuple_GET_ITEM(row, 4)));
        PyTuple_SET_ITEM(rec, 5, Py_NewRef(PyTuple_GET_ITEM(row, 5)));
        for (int c = 6; c < 10; c++) {
            PyObject *v = PyTuple_GET_ITEM(row, c);
            if (k != 1) {
                v = PyLong_FromUnsignedLongLong(PyLong_AsUnsignedLongLong(v) * k);
                if (!v) { Py_DECREF(rec); goto fail; }
            } else {
                Py_INCREF(v);
            }
            PyTuple_SET_ITEM(rec, c, v);
        }
        for (int c = 10; c < 13; c++) PyTuple_SET_ITEM(rec, c, Py_NewRef(PyTuple_GET_ITEM(row, c)));
        PyTuple_SET_ITEM(rec, 13, Py_NewRef(source));
        PyTuple_SET_ITEM(rec, 14, Py_NewRef(Py_None));
        PyTuple_SET_ITEM(rec, 15, Py_NewRef(sampling));
        PyTuple_SET_ITEM(rec, 16, Py_NewRef(PyTuple_GET_ITEM(row, 13)));
        PyTuple_SET_ITEM(rec, 17, Py_NewRef(PyTuple_GET_ITEM(row, 14)));
        PyObject *kpi = PyTuple_GET_ITEM(row, 15);
        kpi = kpi == Py_None ? Py_NewRef(kpi) : retyped(Py_NewRef(kpi), ktype);
        if (!kpi) { Py_DECREF(rec); goto fail; }
        PyTuple_SET_ITEM(rec, 18, kpi);
        PyObject *app = PyTuple_GET_ITEM(row, 16);
        app = app == Py_None ? Py_NewRef(app) : PyObject_CallOneArg(as_app, app);
        if (!app) { Py_DECREF(rec); goto fail; }
        PyTuple_SET_ITEM(rec, 19, app);
        PyList_SET_ITEM(rows, i, rec);  /* the list's reference to the row moves here */
        Py_DECREF(row);
    }
    Py_DECREF(sampling);
    return rows;
fail:
    Py_DECREF(sampling);
    Py_DECREF(rows);
    return NULL;
}

/* sweep_kpis(): forget the KPI state of flows idle for ``kpi_idle`` (packet time), at
 * most every 10 s; after a drain, once its rows' KPIs were read. */
static PyObject *Table_sweep_kpis(Table *t, PyObject *Py_UNUSED(unused)) {
    if (t->know - t->ksweep_at >= 10.0) {
        t->ksweep_at = t->know;
        if (kpi_sweep(t, t->know) < 0) return PyErr_NoMemory();
    }
    Py_RETURN_NONE;
}

static int addr_arg(PyObject *o, uint8_t *out, uint8_t *alen) {
    char *p; Py_ssize_t n;
    if (PyBytes_AsStringAndSize(o, &p, &n) < 0) return -1;
    if (n != 4 && n != 16) { PyErr_SetString(PyExc_ValueError, "address of 4 or 16 bytes"); return -1; }
    memcpy(out, p, (size_t)n); *alen = (uint8_t)n;
    return 0;
}

static uint16_t vlan_arg(PyObject *o) { return o == Py_None ? NO_VLAN : (uint16_t)(PyLong_AsLong(o) & 0x0FFF); }

/* record(ts, linktype, data, wirelen, proto, vlan, src, dst, sport, dport, flags): a packet
 * the slow path decoded, kept like the fast path's. */
static PyObject *Table_record(Table *t, PyObject *args) {
    double ts; int linktype, proto, sport, dport, flags; Py_buffer data; unsigned int wirelen;
    PyObject *vlan, *src, *dst;
    if (!PyArg_ParseTuple(args, "diy*IiOSSiii", &ts, &linktype, &data, &wirelen, &proto, &vlan,
                          &src, &dst, &sport, &dport, &flags)) return NULL;
    Pkt k;
    uint8_t a[16], b[16], alen, blen;
    if (addr_arg(src, a, &alen) < 0 || addr_arg(dst, b, &blen) < 0 || alen != blen) {
        PyBuffer_Release(&data);
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "address families differ");
        return NULL;
    }
    k.proto = (uint8_t)proto; k.alen = alen; k.vlan = vlan_arg(vlan);
    k.sport = (uint16_t)sport; k.dport = (uint16_t)dport; k.src = a; k.dst = b;
    k.flags = (uint8_t)flags; k.l3len = 0; k.ifindex = 0; k.outgoing = 0; k.l4 = NULL;
    t->fr_e = NULL;
    keep_packet(t, &k, ts, data.buf, (uint32_t)data.len, wirelen, linktype);
    PyBuffer_Release(&data);
    Py_RETURN_NONE;
}

/* watch((proto, vlan, src, dst, sport, dport, rsport, rdport) | None): start (or stop)
 * keeping one flow's packets, starting with those the global ring still holds. */
static PyObject *Table_watch(Table *t, PyObject *key) {
    t->watching = 0; t->wseq = 0; t->syn = t->synack = t->ack = 0.0;
    if (key == Py_None || !t->ring) Py_RETURN_NONE;
    int proto, sport, dport, rsport, rdport;
    PyObject *vlan, *src, *dst;
    if (!PyArg_ParseTuple(key, "iOSSiiii", &proto, &vlan, &src, &dst, &sport, &dport, &rsport, &rdport))
        return NULL;
    WatchKey *w = &t->w;
    uint8_t blen;
    memset(w, 0, sizeof(*w));
    if (addr_arg(src, w->src, &w->alen) < 0 || addr_arg(dst, w->dst, &blen) < 0) return NULL;
    w->proto = (uint8_t)proto; w->vlan = vlan_arg(vlan);
    w->sport = (uint16_t)sport; w->dport = (uint16_t)dport;
    w->rsport = (uint16_t)rsport; w->rdport = (uint16_t)rdport;
    uint64_t start = t->seq > RING_N ? t->seq - RING_N : 0;
    fr_prefill(t, start);
    for (uint64_t i = start; i < t->seq; i++) watch_match(t, &t->ring[i & (RING_N - 1)]);
    t->watching = 1;
    Py_RETURN_NONE;
}

/* take_watched() -> ([(ts, linktype, data, wirelen, reverse)], syn, synack, ack, missed):
 * the watched flow's packets since the last take (oldest first, at most WATCH_N) and
 * the handshake times seen (0.0 when not). */
static PyObject *Table_take_watched(Table *t, PyObject *Py_UNUSED(unused)) {
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    uint64_t n = t->wseq < WATCH_N ? t->wseq : WATCH_N;
    for (uint64_t i = t->wseq - n; i < t->wseq; i++) {
        const Sample *s = &t->wring[i & (WATCH_N - 1)];
        PyObject *row = Py_BuildValue("(diy#IO)", s->ts, (int)s->linktype, (const char *)s->data,
                                      (Py_ssize_t)s->caplen, s->wirelen, s->rev ? Py_True : Py_False);
        if (!row || PyList_Append(out, row) < 0) { Py_XDECREF(row); Py_DECREF(out); return NULL; }
        Py_DECREF(row);
    }
    unsigned long long missed = t->wseq - n;
    t->wseq = 0;
    return Py_BuildValue("NdddK", out, t->syn, t->synack, t->ack, missed);
}

/* The canonical order of a flow given as (src, dst, sport, dport): whether src is side a. */
static int key_args(PyObject *src, PyObject *dst, uint8_t *a, uint8_t *b, uint8_t *alen) {
    uint8_t blen;
    if (addr_arg(src, a, alen) < 0 || addr_arg(dst, b, &blen) < 0) return -1;
    if (*alen != blen) { PyErr_SetString(PyExc_ValueError, "address families differ"); return -1; }
    return 0;
}

/* kpi_feed(ts, proto, vlan, src, dst, sport, dport, l4, l4len): one packet the Python
 * path counted (its transport header and payload as captured), into the flow's KPIs. */
static PyObject *Table_kpi_feed(Table *t, PyObject *args) {
    double ts; int proto, sport, dport; unsigned int l4len; Py_buffer l4;
    PyObject *vlan, *src, *dst;
    if (!PyArg_ParseTuple(args, "diOSSiiy*I", &ts, &proto, &vlan, &src, &dst, &sport, &dport,
                          &l4, &l4len)) return NULL;
    uint8_t a[16], b[16], alen;
    if (key_args(src, dst, a, b, &alen) < 0) { PyBuffer_Release(&l4); return NULL; }
    if (!t->kpi_on || (proto != 6 && proto != 17)) { PyBuffer_Release(&l4); Py_RETURN_NONE; }
    int c = memcmp(a, b, alen);
    int src_is_a = c < 0 || (c == 0 && sport <= dport);
    int dir = src_is_a ? 0 : 1;
    int flags = proto == 6 && l4.len > 13 ? ((const uint8_t *)l4.buf)[13] : 0;
    int opener = ((flags & 0x12) == 0x12) ? !dir : dir;
    if (c == 0 && sport == dport) opener = 0;
    Py_ssize_t i = kpi_find(t, (uint8_t)proto, vlan_arg(vlan), alen, src_is_a ? a : b,
                            src_is_a ? b : a, (uint16_t)(src_is_a ? sport : dport),
                            (uint16_t)(src_is_a ? dport : sport), opener);
    if (i >= 0) {
        if (ts > t->know) t->know = ts;
        if (ts > KP(t, i)->last) KP(t, i)->last = ts;
        kpi_packet(KP(t, i), dir, l4.buf, (uint32_t)l4.len, l4len, ts);
    }
    PyBuffer_Release(&l4);
    Py_RETURN_NONE;
}

/* kpi_of(proto, vlan, src, dst, sport, dport) -> the flow's FlowKpi fields as seen from
 * src, or None. */
static PyObject *Table_kpi_of(Table *t, PyObject *args) {
    int proto, sport, dport;
    PyObject *vlan, *src, *dst;
    if (!PyArg_ParseTuple(args, "iOSSii", &proto, &vlan, &src, &dst, &sport, &dport)) return NULL;
    uint8_t a[16], b[16], alen;
    if (key_args(src, dst, a, b, &alen) < 0) return NULL;
    int c = memcmp(a, b, alen);
    int src_is_a = c < 0 || (c == 0 && sport <= dport);
    Py_ssize_t i = kpi_find(t, (uint8_t)proto, vlan_arg(vlan), alen, src_is_a ? a : b,
                            src_is_a ? b : a, (uint16_t)(src_is_a ? sport : dport),
                            (uint16_t)(src_is_a ? dport : sport), -1);
    if (i < 0) Py_RETURN_NONE;
    return kpi_tuple(KP(t, i), src_is_a ? 0 : 1);
}

static Py_ssize_t Table_len(Table *t) { return t->count; }

static PyObject *Table_get_kpi_overflow(Table *t, void *Py_UNUSED(c)) { return PyLong_FromUnsignedLongLong(t->kpi_overflow); }

static PyObject *Table_get_app_overflow(Table *t, void *Py_UNUSED(c)) { return PyLong_FromUnsignedLongLong(t->app_overflow); }

static PyObject *Table_get_overflow(Table *t, void *Py_UNUSED(c)) { return PyLong_FromUnsignedLongLong(t->overflow); }

static PyMethodDef Table_methods[] = {
    {"feed_pcap", (PyCFunction)Table_feed_pcap, METH_VARARGS, "Walk pcap records."},
    {"feed_tpacket", (PyCFunction)Table_feed_tpacket, METH_VARARGS, "Walk a TPACKET_V3 block."},
    {"drain", (PyCFunction)Table_drain, METH_NOARGS, "Rows since the last drain."},
    {"drain_records", (PyCFunction)Table_drain_records, METH_VARARGS,
     "Records since the last drain (PacketAggregator.drain's)."},
    {"record", (PyCFunction)Table_record, METH_VARARGS, "Keep a slow-path packet."},
    {"watch", (PyCFunction)Table_watch, METH_O, "Start or stop keeping one flow's packets."},
    {"take_watched", (PyCFunction)Table_take_watched, METH_NOARGS, "The watched flow's new packets."},
    {"kpi_feed", (PyCFunction)Table_kpi_feed, METH_VARARGS, "One Python-path packet into its flow's KPIs."},
    {"kpi_of", (PyCFunction)Table_kpi_of, METH_VARARGS, "A flow's KPIs as seen from src, or None."},
    {"sweep_kpis", (PyCFunction)Table_sweep_kpis, METH_NOARGS, "Forget idle flows' KPI state."},
    {NULL}
};

static PyGetSetDef Table_getset[] = {
    {"overflow", (getter)Table_get_overflow, NULL, "new flows refused at max_flows", NULL},
    {"app_overflow", (getter)Table_get_app_overflow, NULL, "flows without app facts (side table full)", NULL},
    {"kpi_overflow", (getter)Table_get_kpi_overflow, NULL, "flows without KPI state (table full)", NULL},
    {NULL}
};

static PySequenceMethods Table_seq = {.sq_length = (lenfunc)Table_len};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "netop.native._fastflow.Table",
    .tp_basicsize = sizeof(Table),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Table_init,
    .tp_dealloc = (destructor)Table_dealloc,
    .tp_methods = Table_methods,
    .tp_getset = Table_getset,
    .tp_as_sequence = &Table_seq,
    .tp_doc = "Bidirectional flow table fed from pcap records or TPACKET_V3 blocks.",
};

/* ---- the engine's flow table merge (netop/engine/flowtable.py) -------------------
 * The table's entries are Python objects with __slots__; merging a delta into one is a
 * dozen slot updates, which in Python cost ~1.4 us a delta. Here the slots are reached
 * through their offsets (from the type's member descriptors), so a delta costs one dict
 * lookup and a few integer additions. Semantics are those of FlowTable._merge_one. */

#include <structmember.h>

/* The counters of a flow-table entry, native: FlowEntry (Python) derives from this, so
 * the merge adds machine integers in place instead of allocating eight int objects per
 * delta (each a cache miss of its own). Counts saturate at 2**63-1. */
typedef struct Counters {
    PyObject_HEAD
    long long packets, bytes, packets_rev, bytes_rev;
    long long tick_packets, tick_bytes, tick_packets_rev, tick_bytes_rev;
    double first, last;
    long long tcp_flags;
    /* The entry's place in its table's recency list (recency.h): borrowed links. */
    struct Counters *lru_prev, *lru_next;
    const void *lru_owner;
} Counters;

static PyMemberDef Counters_members[] = {
    {"packets", T_LONGLONG, offsetof(Counters, packets), 0, NULL},
    {"bytes", T_LONGLONG, offsetof(Counters, bytes), 0, NULL},
    {"packets_rev", T_LONGLONG, offsetof(Counters, packets_rev), 0, NULL},
    {"bytes_rev", T_LONGLONG, offsetof(Counters, bytes_rev), 0, NULL},
    {"tick_packets", T_LONGLONG, offsetof(Counters, tick_packets), 0, NULL},
    {"tick_bytes", T_LONGLONG, offsetof(Counters, tick_bytes), 0, NULL},
    {"tick_packets_rev", T_LONGLONG, offsetof(Counters, tick_packets_rev), 0, NULL},
    {"tick_bytes_rev", T_LONGLONG, offsetof(Counters, tick_bytes_rev), 0, NULL},
    {"first", T_DOUBLE, offsetof(Counters, first), 0, NULL},
    {"last", T_DOUBLE, offsetof(Counters, last), 0, NULL},
    {"tcp_flags", T_LONGLONG, offsetof(Counters, tcp_flags), 0, NULL},
    {NULL}
};

static PyTypeObject CountersType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "netop.native._fastflow.Counters",
    .tp_basicsize = sizeof(Counters),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_members = Counters_members,
    .tp_doc = "Native counters of a flow-table entry (the engine's FlowEntry derives from it).",
};

#include "recency.h"
#include "flowindex.h"

enum { S_SAMPLING, S_IN_IF, S_OUT_IF, S_RECORD, S_KPI, S_APP, S_COUNT };

/* slot_offsets(type, names) -> tuple of the byte offsets of those __slots__ */
static PyObject *slot_offsets(PyObject *self, PyObject *args) {
    PyObject *type, *names;
    if (!PyArg_ParseTuple(args, "O!O!", &PyType_Type, &type, &PyTuple_Type, &names)) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(names);
    PyObject *out = PyTuple_New(n);
    if (!out) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *d = PyObject_GetAttr(type, PyTuple_GET_ITEM(names, i));
        if (!d) { Py_DECREF(out); return NULL; }
        if (!PyObject_TypeCheck(d, &PyMemberDescr_Type)
            || ((PyMemberDescrObject *)d)->d_member->type != T_OBJECT_EX) {
            Py_DECREF(d); Py_DECREF(out);
            PyErr_SetString(PyExc_TypeError, "not an object __slots__ member");
            return NULL;
        }
        PyTuple_SET_ITEM(out, i, PyLong_FromSsize_t(((PyMemberDescrObject *)d)->d_member->offset));
        Py_DECREF(d);
    }
    return out;
}

#define SLOT(obj, off) (*(PyObject **)((char *)(obj) + (off)))

static int slot_set(PyObject *obj, Py_ssize_t off, PyObject *value) {
    PyObject *old = SLOT(obj, off);
    Py_INCREF(value);
    SLOT(obj, off) = value;
    Py_XDECREF(old);
    return 0;
}

/* A count from a record: non-negative, saturated (a hostile exporter may send 2**64-1). */
static int count_arg(PyObject *o, long long *out) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred()) return -1;
    *out = overflow > 0 ? LLONG_MAX : (overflow < 0 || v < 0) ? 0 : v;
    return 0;
}

static inline long long sat_add(long long a, long long b) {
    return a > LLONG_MAX - b ? LLONG_MAX : a + b;
}

/* A record the C merge takes (the rest are Python's business). */
static inline int record_shaped(PyObject *r) {
    return PyTuple_Check(r) && PyTuple_GET_SIZE(r) >= 18 && PyTuple_GET_SIZE(r) <= 20;
}

/* How many records ahead the merge fetches a record's index slot. */
#define MERGE_AHEAD 8

/* The entry of a record's flow and its direction, in a dict or a FlowIndex: 1, or 0 when
 * the flow is not there (``make``, unless None, is asked to make it first), -1 on
 * error. ``*eo`` is a new reference. */
static int merge_find(PyObject *index, FlowIndex *fix, PyObject *r, Py_hash_t hash,
                      PyObject *make, PyObject **eo, int *rev) {
    for (int attempt = 0; attempt < 2; attempt++) {
        if (fix) {
            FiSlot *slot = fi_lookup_record(fix, r, hash);
            if (slot) {
                *eo = Py_NewRef(slot->entry);
                *rev = slot->rev;
                return 1;
            }
        } else {
            PyObject *key = PyTuple_New(8);
            if (!key) return -1;
            for (int k = 0; k < 6; k++) PyTuple_SET_ITEM(key, k, Py_NewRef(PyTuple_GET_ITEM(r, k)));
            for (int k = 6; k < 8; k++) PyTuple_SET_ITEM(key, k, Py_NewRef(PyTuple_GET_ITEM(r, k + 7)));
            PyObject *hit = PyDict_GetItemWithError(index, key);  /* borrowed */
            Py_DECREF(key);
            if (hit) {
                if (!PyTuple_Check(hit) || PyTuple_GET_SIZE(hit) != 2
                    || !PyObject_TypeCheck(PyTuple_GET_ITEM(hit, 0), &CountersType)) {
                    PyErr_SetString(PyExc_TypeError, "index value must be (FlowEntry, reverse)");
                    return -1;
                }
                *eo = Py_NewRef(PyTuple_GET_ITEM(hit, 0));
                *rev = PyTuple_GET_ITEM(hit, 1) == Py_True;
                return 1;
            }
        }
        if (PyErr_Occurred()) return -1;
        if (attempt || make == Py_None) return 0;
        /* A new flow: ``make`` (Python) makes its entry, and the merge goes on here
         * instead of returning for it. */
        PyObject *made = PyObject_CallOneArg(make, r);
        if (!made) return -1;
        Py_DECREF(made);
    }
    return 0;
}

/* merge(index, records, start, touched, move, offsets[, make]) -> (position, latest):
 * the position of the first record whose flow is not in ``index`` (a dict or a
 * FlowIndex) and that ``make`` did not make (or len(records)): Python takes that record
 * and calls again from the next, so records are merged strictly in order; the latest
 * ``last`` of the records merged (-inf if none). ``move``: the table's Recency, or a
 * callable. */
static PyObject *merge(PyObject *self, PyObject *args) {
    PyObject *index, *records, *touched, *move, *offs, *make = Py_None;
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, "OOnO!OO!|O", &index, &records, &start,
                          &PyList_Type, &touched, &move, &PyTuple_Type, &offs, &make)) return NULL;
    FlowIndex *fix = Py_IS_TYPE(index, &FlowIndexType) ? (FlowIndex *)index : NULL;
    if (!fix && !PyDict_Check(index)) {
        PyErr_SetString(PyExc_TypeError, "index must be a dict or a FlowIndex");
        return NULL;
    }
    if (PyTuple_GET_SIZE(offs) != S_COUNT) { PyErr_SetString(PyExc_ValueError, "offsets"); return NULL; }
    Py_ssize_t off[S_COUNT];
    for (int i = 0; i < S_COUNT; i++) off[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(offs, i));
    if (PyErr_Occurred()) return NULL;
    PyObject *seq = PySequence_Fast(records, "records must be a sequence");
    if (!seq) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), i;
    PyObject **items = PySequence_Fast_ITEMS(seq);
    PyObject *held = NULL;
    double latest = -INFINITY;
    Py_hash_t hashes[MERGE_AHEAD];
    if (fix) {
        for (i = start; i < n && i < start + MERGE_AHEAD; i++) {
            hashes[i % MERGE_AHEAD] = -1;
            if (!record_shaped(items[i])) continue;
            Py_hash_t h = fi_record_hash(items[i]);
            if (h == -1) PyErr_Clear();
            else fi_prefetch(fix, h);
            hashes[i % MERGE_AHEAD] = h;
        }
    }
    for (i = start; i < n; i++) {
        PyObject *r = items[i];
        if (!record_shaped(r)) break;  /* Python's business */
        PyObject *eo;
        int rev;
        Py_hash_t hash = -1;
        if (fix) {
            /* The slot of the record MERGE_AHEAD places on is fetched now; this one's
             * hash was computed then (a resize since only wasted that prefetch). */
            hash = hashes[i % MERGE_AHEAD];
            Py_ssize_t ahead = i + MERGE_AHEAD;
            if (ahead < n) {
                Py_hash_t h = -1;
                if (record_shaped(items[ahead])) {
                    h = fi_record_hash(items[ahead]);
                    if (h == -1) PyErr_Clear();  /* found again, and reported, in its turn */
                    else fi_prefetch(fix, h);
                }
                hashes[ahead % MERGE_AHEAD] = h;
            }
        }
        int got = merge_find(index, fix, r, hash, make, &eo, &rev);
        if (got < 0) goto fail;
        if (!got) break;
        held = eo;  /* a Python call below (swapped, merged, move) must not free it */
        Counters *e = (Counters *)eo;
        long long p, b, pr, br, flags;
        double first, last;
        if (count_arg(PyTuple_GET_ITEM(r, 6), &p) < 0 || count_arg(PyTuple_GET_ITEM(r, 7), &b) < 0
            || count_arg(PyTuple_GET_ITEM(r, 8), &pr) < 0 || count_arg(PyTuple_GET_ITEM(r, 9), &br) < 0
            || count_arg(PyTuple_GET_ITEM(r, 12), &flags) < 0) goto fail;
        first = PyFloat_AsDouble(PyTuple_GET_ITEM(r, 10));
        if (first == -1.0 && PyErr_Occurred()) goto fail;
        last = PyFloat_AsDouble(PyTuple_GET_ITEM(r, 11));
        if (last == -1.0 && PyErr_Occurred()) goto fail;
        if (last > latest) latest = last;
        PyObject *in_if = PyTuple_GET_ITEM(r, 16), *out_if = PyTuple_GET_ITEM(r, 17);
        if (rev) {
            long long t; PyObject *o;
            t = p; p = pr; pr = t; t = b; b = br; br = t;
            o = in_if; in_if = out_if; out_if = o;
        }
        if (e->tick_packets == 0 && e->tick_packets_rev == 0 && PyList_Append(touched, eo) < 0) goto fail;
        e->packets = sat_add(e->packets, p); e->bytes = sat_add(e->bytes, b);
        e->packets_rev = sat_add(e->packets_rev, pr); e->bytes_rev = sat_add(e->bytes_rev, br);
        e->tick_packets = sat_add(e->tick_packets, p); e->tick_bytes = sat_add(e->tick_bytes, b);
        e->tick_packets_rev = sat_add(e->tick_packets_rev, pr);
        e->tick_bytes_rev = sat_add(e->tick_bytes_rev, br);
        if (first < e->first) e->first = first;
        if (last > e->last) e->last = last;
        e->tcp_flags |= flags;
        slot_set(eo, off[S_SAMPLING], PyTuple_GET_ITEM(r, 15));
        if (in_if != Py_None) slot_set(eo, off[S_IN_IF], in_if);
        if (out_if != Py_None) slot_set(eo, off[S_OUT_IF], out_if);
        slot_set(eo, off[S_RECORD], Py_None);
        PyObject *kpi = PyTuple_GET_SIZE(r) > 18 ? PyTuple_GET_ITEM(r, 18) : Py_None;
        if (kpi != Py_None) {  /* the latest KPIs replace (they are cumulative) */
            if (rev) {
                PyObject *sw = PyObject_CallMethod(kpi, "swapped", NULL);
                if (!sw) goto fail;
                slot_set(eo, off[S_KPI], sw);
                Py_DECREF(sw);
            } else {
                slot_set(eo, off[S_KPI], kpi);
            }
        }
        PyObject *app = PyTuple_GET_SIZE(r) > 19 ? PyTuple_GET_ITEM(r, 19) : Py_None;
        if (app != Py_None) {  /* app.h: this interval's facts join the earlier ones */
            PyObject *old = SLOT(eo, off[S_APP]);
            /* not CallMethod(..., "O", app): a tuple there would be the argument list */
            PyObject *now;
            if (old && old != Py_None) {
                PyObject *name = PyUnicode_FromString("merged");
                now = name ? PyObject_CallMethodOneArg(old, name, app) : NULL;
                Py_XDECREF(name);
            } else {
                now = Py_NewRef(app);
            }
            if (!now) goto fail;
            slot_set(eo, off[S_APP], now);
            Py_DECREF(now);
        }
        if (Py_IS_TYPE(move, &RecencyType)) {
            if (!recency_has((Recency *)move, e)) { PyErr_SetObject(PyExc_KeyError, eo); goto fail; }
            recency_touch((Recency *)move, e);
        } else {
            PyObject *moved = PyObject_CallOneArg(move, eo);
            if (!moved) goto fail;
            Py_DECREF(moved);
        }
        Py_CLEAR(held);
    }
    Py_DECREF(seq);
    return Py_BuildValue("nd", i, latest);
fail:
    Py_XDECREF(held);
    Py_DECREF(seq);
    return NULL;
}

/* with_slot(entries, offset) -> the entries whose object slot at ``offset`` is set and
 * not None (FlowTable.touched_with_kpi: the flows that moved with KPIs, found without
 * reading a Python attribute of each of 100k). */
static PyObject *with_slot(PyObject *self, PyObject *args) {
    PyObject *entries;
    Py_ssize_t off;
    if (!PyArg_ParseTuple(args, "O!n", &PyList_Type, &entries, &off)) return NULL;
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(entries); i++) {
        PyObject *eo = PyList_GET_ITEM(entries, i);
        if (!PyObject_TypeCheck(eo, &CountersType)) {
            PyErr_SetString(PyExc_TypeError, "not a flow-table entry");
            Py_DECREF(out);
            return NULL;
        }
        PyObject *v = SLOT(eo, off);
        if (v && v != Py_None && PyList_Append(out, eo) < 0) { Py_DECREF(out); return NULL; }
    }
    return out;
}

/* reset_ticks(entries): zero this tick's counters of each entry (FlowTable.end_tick). */
static PyObject *reset_ticks(PyObject *self, PyObject *entries) {
    PyObject *seq = PySequence_Fast(entries, "entries must be a sequence");
    if (!seq) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyObject_TypeCheck(items[i], &CountersType)) {
            Py_DECREF(seq);
            PyErr_SetString(PyExc_TypeError, "not a flow-table entry");
            return NULL;
        }
        Counters *e = (Counters *)items[i];
        e->tick_packets = e->tick_bytes = e->tick_packets_rev = e->tick_bytes_rev = 0;
    }
    Py_DECREF(seq);
    Py_RETURN_NONE;
}

/* moved_bytes(entries, floor): the entries that moved at least ``floor`` bytes this tick
 * either way (the large-transfer detector's per-pair sums, netop/engine/detect/attacks.py):
 * 100k flows filtered without reading two Python attributes of each. */
static PyObject *moved_bytes(PyObject *self, PyObject *args) {
    PyObject *entries;
    long long floor;
    if (!PyArg_ParseTuple(args, "OL", &entries, &floor)) return NULL;
    PyObject *seq = PySequence_Fast(entries, "entries must be a sequence");
    if (!seq) return NULL;
    PyObject *out = PyList_New(0);
    if (!out) { Py_DECREF(seq); return NULL; }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyObject_TypeCheck(items[i], &CountersType)) {
            PyErr_SetString(PyExc_TypeError, "not a flow-table entry");
            goto fail;
        }
        Counters *e = (Counters *)items[i];
        if ((e->tick_bytes >= floor || e->tick_bytes_rev >= floor)
            && PyList_Append(out, items[i]) < 0) goto fail;
    }
    Py_DECREF(seq);
    return out;
fail:
    Py_DECREF(seq);
    Py_DECREF(out);
    return NULL;
}

/* ---- the flow view's tick (netop/engine/flowview.py, FlowViewBuilder._advance) ------
 * The per-flow rates and the average's window sums, and the kept aggregations' group
 * sums, are native fields of the view's objects: ``_Facts`` derives from FlowSums and
 * ``_Group`` from GroupSums, as FlowEntry derives from Counters. A tick in which every
 * flow moves then allocates no Python object per flow (a float or an int per field
 * each was most of its cost, each a cache miss of its own). The same arithmetic in the
 * same order as the Python loops, so both give the same results bit for bit. */

typedef struct {
    PyObject_HEAD
    double rate_fwd, rate_rev, rate_bps, sum;
    long long last;     /* the last tick with traffic */
    long long c[4];     /* bytes, bytes_rev, packets, packets_rev last added to its group */
    double c_sum;       /* the window sum last added to its group */
    double sum2, sum40; /* the 2 s and 40 s windows' sums (Avg 2s / Avg 40s) */
} FlowSums;

static PyMemberDef FlowSums_members[] = {
    {"rate_fwd", T_DOUBLE, offsetof(FlowSums, rate_fwd), 0, NULL},
    {"rate_rev", T_DOUBLE, offsetof(FlowSums, rate_rev), 0, NULL},
    {"rate_bps", T_DOUBLE, offsetof(FlowSums, rate_bps), 0, NULL},
    {"_sum", T_DOUBLE, offsetof(FlowSums, sum), 0, NULL},
    {"_last", T_LONGLONG, offsetof(FlowSums, last), 0, NULL},
    {"c_bytes", T_LONGLONG, offsetof(FlowSums, c[0]), 0, NULL},
    {"c_bytes_rev", T_LONGLONG, offsetof(FlowSums, c[1]), 0, NULL},
    {"c_packets", T_LONGLONG, offsetof(FlowSums, c[2]), 0, NULL},
    {"c_packets_rev", T_LONGLONG, offsetof(FlowSums, c[3]), 0, NULL},
    {"c_sum", T_DOUBLE, offsetof(FlowSums, c_sum), 0, NULL},
    {"_sum2", T_DOUBLE, offsetof(FlowSums, sum2), 0, NULL},
    {"_sum40", T_DOUBLE, offsetof(FlowSums, sum40), 0, NULL},
    {NULL}
};

static PyTypeObject FlowSumsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "netop.native._fastflow.FlowSums",
    .tp_basicsize = sizeof(FlowSums),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_members = FlowSums_members,
    .tp_doc = "Native rates and sums of one flow in the flow view (its _Facts derives from it).",
};

/* A group's counts are sums over up to max_flows flows of counts up to 2**63-1 each:
 * 128 bits hold them exactly (Python shows them as ints). */
typedef __int128 i128;

typedef struct {
    PyObject_HEAD
    double fwd, rev, first, last, avg_sum;
    i128 n[4];          /* bytes, bytes_rev, packets, packets_rev */
    long long recent, tick;
} GroupSums;

static PyObject *i128_to_py(i128 v) {
    if (v >= LLONG_MIN && v <= LLONG_MAX) return PyLong_FromLongLong((long long)v);
    PyObject *hi = PyLong_FromLongLong((long long)(v >> 64));
    PyObject *lo = PyLong_FromUnsignedLongLong((unsigned long long)v);
    PyObject *sh = PyLong_FromLong(64), *out = NULL;
    if (hi && lo && sh) {
        PyObject *up = PyNumber_Lshift(hi, sh);
        if (up) { out = PyNumber_Or(up, lo); Py_DECREF(up); }
    }
    Py_XDECREF(hi); Py_XDECREF(lo); Py_XDECREF(sh);
    return out;
}

static int py_to_i128(PyObject *o, i128 *out) {
    if (!PyLong_Check(o)) { PyErr_SetString(PyExc_TypeError, "a group count is an int"); return -1; }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (!overflow) { *out = v; return 0; }
    unsigned long long lo = PyLong_AsUnsignedLongLongMask(o);
    if (lo == (unsigned long long)-1 && PyErr_Occurred()) return -1;
    PyObject *sh = PyLong_FromLong(64);
    if (!sh) return -1;
    PyObject *hi_o = PyNumber_Rshift(o, sh);
    Py_DECREF(sh);
    if (!hi_o) return -1;
    long long hi = PyLong_AsLongLong(hi_o);
    Py_DECREF(hi_o);
    if (hi == -1 && PyErr_Occurred()) return -1;
    *out = (i128)(((unsigned __int128)(unsigned long long)hi << 64) | lo);
    return 0;
}

static PyObject *GroupSums_get(GroupSums *g, void *which) { return i128_to_py(g->n[(Py_ssize_t)which]); }

static int GroupSums_set(GroupSums *g, PyObject *v, void *which) {
    if (!v) { PyErr_SetString(PyExc_AttributeError, "cannot delete a group count"); return -1; }
    return py_to_i128(v, &g->n[(Py_ssize_t)which]);
}

static PyGetSetDef GroupSums_getset[] = {
    {"bytes", (getter)GroupSums_get, (setter)GroupSums_set, NULL, (void *)0},
    {"bytes_rev", (getter)GroupSums_get, (setter)GroupSums_set, NULL, (void *)1},
    {"packets", (getter)GroupSums_get, (setter)GroupSums_set, NULL, (void *)2},
    {"packets_rev", (getter)GroupSums_get, (setter)GroupSums_set, NULL, (void *)3},
    {NULL}
};

static PyMemberDef GroupSums_members[] = {
    {"fwd", T_DOUBLE, offsetof(GroupSums, fwd), 0, NULL},
    {"rev", T_DOUBLE, offsetof(GroupSums, rev), 0, NULL},
    {"first", T_DOUBLE, offsetof(GroupSums, first), 0, NULL},
    {"last", T_DOUBLE, offsetof(GroupSums, last), 0, NULL},
    {"avg_sum", T_DOUBLE, offsetof(GroupSums, avg_sum), 0, NULL},
    {"recent", T_LONGLONG, offsetof(GroupSums, recent), 0, NULL},
    {"tick", T_LONGLONG, offsetof(GroupSums, tick), 0, NULL},
    {NULL}
};

static PyTypeObject GroupSumsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "netop.native._fastflow.GroupSums",
    .tp_basicsize = sizeof(GroupSums),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_members = GroupSums_members,
    .tp_getset = GroupSums_getset,
    .tp_doc = "Native sums of one group of a kept aggregation (its _Group derives from it).",
};

static inline PyObject *slot_get(PyObject *obj, Py_ssize_t off) {
    return *(PyObject **)((char *)obj + off);  /* borrowed; NULL when unset */
}

static int check_facts_type(PyObject *type) {
    if (!PyType_Check(type) || !PyType_IsSubtype((PyTypeObject *)type, &FlowSumsType)) {
        PyErr_SetString(PyExc_TypeError, "not a FlowSums type");
        return -1;
    }
    return 0;
}

/* The flow-table entry of a flow view's facts (borrowed), or NULL with a TypeError. */
static PyObject *facts_entry(PyObject *fo, Py_ssize_t entry_off) {
    PyObject *eo = PyObject_TypeCheck(fo, &FlowSumsType) ? slot_get(fo, entry_off) : NULL;
    if (!eo || !PyObject_TypeCheck(eo, &CountersType)) {
        PyErr_SetString(PyExc_TypeError, "not a flow's facts with its entry");
        return NULL;
    }
    return eo;
}

/* The entry slots plain_rows reads, in this order (netop.engine.flowview.PLAIN_SLOTS). */
enum { P_KEY, P_PROTO, P_SRC, P_SPORT, P_DST, P_DPORT, P_VLAN, P_SOURCE, P_EXPORTER,
       P_SAMPLING, P_IN_IF, P_OUT_IF, P_KPI, P_APP, P_RECORD, P_ENDED, P_COUNT };

static PyObject *STATE_TEXT[6];  /* "", reset, closing, established, syn-sent, mid-stream */

/* FlowEntry.state, in C: tcp_state(proto, flags, packets_rev), or "ended". */
static PyObject *entry_state(PyObject *eo, const Py_ssize_t *off, const Counters *c) {
    if (!STATE_TEXT[0]) {
        const char *texts[6] = {"", "reset", "closing", "established", "syn-sent", "mid-stream"};
        for (int i = 0; i < 6; i++)
            if (!(STATE_TEXT[i] = PyUnicode_InternFromString(texts[i]))) return NULL;
    }
    if (slot_get(eo, off[P_ENDED]) == Py_True) return PyUnicode_InternFromString("ended");
    PyObject *proto = slot_get(eo, off[P_PROTO]);
    long p = proto && PyLong_CheckExact(proto) ? PyLong_AsLong(proto) : -1;
    long long f = c->tcp_flags;
    int i = p != 6 ? 0 : f & 0x04 ? 1 : f & 0x01 ? 2 : f & 0x02 ? ((f & 0x10) && c->packets_rev ? 3 : 4) : 5;
    return Py_NewRef(STATE_TEXT[i]);
}

/* ``sep``.join(str(p) for p in parts) for ASCII strings and ints that fit a long long,
 * written straight into one string (PyUnicode_FromFormat was most of a summary row's
 * cost); NULL without an error for anything else. */
static PyObject *ascii_joined(PyObject *const *parts, int n, char sep) {
    char buf[512];
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        PyObject *v = parts[i];
        if (i && put(buf, &len, sizeof buf, &sep, 1) < 0) return NULL;
        if (PyUnicode_CheckExact(v)) {
            if (!PyUnicode_IS_ASCII(v) ||
                put(buf, &len, sizeof buf, (const char *)PyUnicode_DATA(v),
                    (size_t)PyUnicode_GET_LENGTH(v)) < 0) return NULL;
        } else {
            int over = 0;
            long long x = PyLong_CheckExact(v) ? PyLong_AsLongLongAndOverflow(v, &over) : 0;
            if (!PyLong_CheckExact(v) || over || (x == -1 && PyErr_Occurred())) {
                PyErr_Clear();
                return NULL;
            }
            if (put_ll(buf, &len, sizeof buf, x) < 0) return NULL;
        }
    }
    PyObject *out = PyUnicode_New((Py_ssize_t)len, 127);
    if (out) memcpy(PyUnicode_1BYTE_DATA(out), buf, len);
    return out;
}

/* FlowEntry.key, in C (same text), kept in its ``_key`` as the property keeps it; NULL
 * without an error: a field of an unusual type, for the property to write. */
static PyObject *entry_key(PyObject *eo, const Py_ssize_t *off, PyObject *empty) {
    PyObject *key = slot_get(eo, off[P_KEY]);
    if (key && key != Py_None) return Py_NewRef(key);
    PyObject *exp = slot_get(eo, off[P_EXPORTER]), *vlan = slot_get(eo, off[P_VLAN]);
    PyObject *f[6] = {slot_get(eo, off[P_SOURCE]), slot_get(eo, off[P_PROTO]),
                      slot_get(eo, off[P_SRC]), slot_get(eo, off[P_SPORT]),
                      slot_get(eo, off[P_DST]), slot_get(eo, off[P_DPORT])};
    if (!exp || !vlan || !(exp == Py_None || PyUnicode_CheckExact(exp)) ||
        !(vlan == Py_None || PyLong_CheckExact(vlan))) return NULL;
    for (int i = 0; i < 6; i++)
        if (!f[i] || !(i % 2 == 0 ? PyUnicode_CheckExact(f[i]) : PyLong_CheckExact(f[i]))) return NULL;
    if (exp == Py_None) exp = empty;
    PyObject *parts[8] = {f[0], exp, f[1], vlan == Py_None ? empty : vlan, f[2], f[3], f[4], f[5]};
    key = ascii_joined(parts, 8, '|');
    if (!key && !PyErr_Occurred())  /* not plain ASCII and small ints: the general way */
        key = PyUnicode_FromFormat("%U|%U|%S|%S|%U|%S|%U|%S", parts[0], parts[1], parts[2],
                                   parts[3], parts[4], parts[5], parts[6], parts[7]);
    if (key) slot_set(eo, off[P_KEY], key);
    return key;
}

/* FlowEntry.record, in C: its cached ``_record``, or one made of its fields (and kept). */
static PyObject *entry_record(PyObject *eo, const Py_ssize_t *off, PyTypeObject *rtype) {
    PyObject *rec = slot_get(eo, off[P_RECORD]);
    if (rec && rec != Py_None) return Py_NewRef(rec);
    const Counters *c = (const Counters *)eo;
    PyObject *v[20] = {
        Py_XNewRef(slot_get(eo, off[P_PROTO])), Py_XNewRef(slot_get(eo, off[P_SRC])),
        Py_XNewRef(slot_get(eo, off[P_SPORT])), Py_XNewRef(slot_get(eo, off[P_DST])),
        Py_XNewRef(slot_get(eo, off[P_DPORT])), Py_XNewRef(slot_get(eo, off[P_VLAN])),
        PyLong_FromLongLong(c->packets), PyLong_FromLongLong(c->bytes),
        PyLong_FromLongLong(c->packets_rev), PyLong_FromLongLong(c->bytes_rev),
        PyFloat_FromDouble(c->first), PyFloat_FromDouble(c->last),
        PyLong_FromLongLong(c->tcp_flags), Py_XNewRef(slot_get(eo, off[P_SOURCE])),
        Py_XNewRef(slot_get(eo, off[P_EXPORTER])), Py_XNewRef(slot_get(eo, off[P_SAMPLING])),
        Py_XNewRef(slot_get(eo, off[P_IN_IF])), Py_XNewRef(slot_get(eo, off[P_OUT_IF])),
        Py_XNewRef(slot_get(eo, off[P_KPI])), Py_XNewRef(slot_get(eo, off[P_APP]))};
    int ok = 1;
    for (int i = 0; i < 20; i++) ok &= v[i] != NULL;
    rec = ok ? rtype->tp_alloc(rtype, 20) : NULL;
    if (!rec) {
        for (int i = 0; i < 20; i++) Py_XDECREF(v[i]);
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_AttributeError, "entry field not set");
        return NULL;
    }
    for (int i = 0; i < 20; i++) PyTuple_SET_ITEM(rec, i, v[i]);
    slot_set(eo, off[P_RECORD], rec);
    return rec;
}

/* plain_rows(top, row_type, record_type, facts_entry_off, entry_offs, process, note,
 * window, window2, window40) -> (row, ...): FlowViewBuilder._plain_rows in C, the same
 * rows (a summary has one per flow). ``entry_offs``: the slots of PLAIN_SLOTS. */
static PyObject *plain_rows(PyObject *self, PyObject *args) {
    PyObject *top, *offs, *name, *note;
    PyTypeObject *row_type, *rtype;
    Py_ssize_t entry_off, off[P_COUNT];
    double w, w2, w40;
    if (!PyArg_ParseTuple(args, "O!O!O!nO!UUddd", &PyList_Type, &top, &PyType_Type, &row_type,
                          &PyType_Type, &rtype, &entry_off, &PyTuple_Type, &offs, &name, &note,
                          &w, &w2, &w40)) return NULL;
    if (PyTuple_GET_SIZE(offs) != P_COUNT || !PyType_IsSubtype(row_type, &PyTuple_Type) ||
        !PyType_IsSubtype(rtype, &PyTuple_Type)) {
        PyErr_SetString(PyExc_ValueError, "slot offsets, or row and record types");
        return NULL;
    }
    for (int i = 0; i < P_COUNT; i++) off[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(offs, i));
    if (PyErr_Occurred()) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(top);
    PyObject *out = PyTuple_New(n), *empty = PyUnicode_New(0, 0), *none = PyTuple_New(0);
    PyObject *one = PyLong_FromLong(1);
    if (!out || !empty || !none || !one) goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *fo = PyList_GET_ITEM(top, i), *eo = facts_entry(fo, entry_off);
        if (!eo) goto fail;
        const FlowSums *f = (const FlowSums *)fo;
        PyObject *dst = slot_get(eo, off[P_DST]);
        PyObject *key = entry_key(eo, off, empty);
        if (!key && !PyErr_Occurred()) key = PyObject_GetAttrString(eo, "key");
        PyObject *rec = key ? entry_record(eo, off, rtype) : NULL;
        PyObject *state = rec ? entry_state(eo, off, (const Counters *)eo) : NULL;
        PyObject *row = state && dst ? row_type->tp_alloc(row_type, 19) : NULL;
        if (!row) {
            Py_XDECREF(key); Py_XDECREF(rec); Py_XDECREF(state);
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_AttributeError, "entry field not set");
            goto fail;
        }
        PyObject *v[19] = {key, rec, PyFloat_FromDouble(f->rate_fwd),
                           PyFloat_FromDouble(f->rate_rev), PyFloat_FromDouble(f->sum / w), state,
                           Py_NewRef(name), Py_NewRef(note), Py_NewRef(empty), Py_NewRef(empty),
                           Py_NewRef(empty), Py_NewRef(one), Py_NewRef(none), Py_NewRef(dst),
                           Py_NewRef(empty), Py_NewRef(empty), Py_NewRef(none),
                           PyFloat_FromDouble(f->sum2 / w2), PyFloat_FromDouble(f->sum40 / w40)};
        for (int j = 0; j < 19; j++) PyTuple_SET_ITEM(row, j, v[j]);
        PyTuple_SET_ITEM(out, i, row);
        if (!v[2] || !v[3] || !v[4] || !v[17] || !v[18]) goto fail;
    }
    Py_DECREF(empty); Py_DECREF(none); Py_DECREF(one);
    return out;
fail:
    Py_XDECREF(out); Py_XDECREF(empty); Py_XDECREF(none); Py_XDECREF(one);
    return NULL;
}

/* new_entry(template, record, keys, all_offs, record_offs) -> entry: a flow-table entry
 * as FlowEntry(record, keys) makes it, without its __init__: every slot copied from
 * ``template`` (an entry FlowEntry.__init__ made: the starting values), then the
 * record's fields (``record_offs``: proto, src, sport, dst, dport, vlan, source,
 * exporter, sampling, _keys) and its first and last. A test compares both, slot by slot. */
static PyObject *new_entry(PyObject *self, PyObject *args) {
    PyObject *tpl, *r, *keys, *all, *rec;
    if (!PyArg_ParseTuple(args, "OO!OO!O!", &tpl, &PyTuple_Type, &r, &keys, &PyTuple_Type, &all,
                          &PyTuple_Type, &rec)) return NULL;
    if (!PyObject_TypeCheck(tpl, &CountersType) || PyTuple_GET_SIZE(rec) != 10 ||
        PyTuple_GET_SIZE(r) < 16) {
        PyErr_SetString(PyExc_TypeError, "a FlowEntry template, a record, 10 record slots");
        return NULL;
    }
    double first = PyFloat_AsDouble(PyTuple_GET_ITEM(r, 10));
    if (first == -1.0 && PyErr_Occurred()) return NULL;
    double last = PyFloat_AsDouble(PyTuple_GET_ITEM(r, 11));
    if (last == -1.0 && PyErr_Occurred()) return NULL;
    PyTypeObject *type = Py_TYPE(tpl);
    PyObject *eo = type->tp_alloc(type, 0);
    if (!eo) return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(all); i++) {
        Py_ssize_t off = PyLong_AsSsize_t(PyTuple_GET_ITEM(all, i));
        if (off == -1 && PyErr_Occurred()) { Py_DECREF(eo); return NULL; }
        PyObject *v = SLOT(tpl, off);
        if (v) slot_set(eo, off, v);
    }
    static const int fields[10] = {0, 1, 2, 3, 4, 5, 13, 14, 15, -1};
    for (int i = 0; i < 10; i++) {
        Py_ssize_t off = PyLong_AsSsize_t(PyTuple_GET_ITEM(rec, i));
        if (off == -1 && PyErr_Occurred()) { Py_DECREF(eo); return NULL; }
        slot_set(eo, off, fields[i] < 0 ? keys : PyTuple_GET_ITEM(r, fields[i]));
    }
    Counters *c = (Counters *)eo;
    c->first = first;
    c->last = last;
    return eo;
}

/* lifetimes(facts, entry_off, window, window2, window40): each flow's rates over its whole
 * life (its bytes over last - first) and its window sums, as _Facts.lifetime sets them,
 * in the same order: a headless summary's, with no Python call per flow. */
static PyObject *lifetimes(PyObject *self, PyObject *args) {
    PyObject *facts;
    Py_ssize_t entry_off;
    double w, w2, w40;
    if (!PyArg_ParseTuple(args, "O!nddd", &PyList_Type, &facts, &entry_off, &w, &w2, &w40))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(facts);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *fo = PyList_GET_ITEM(facts, i), *eo = facts_entry(fo, entry_off);
        if (!eo) return NULL;
        const Counters *e = (const Counters *)eo;
        FlowSums *f = (FlowSums *)fo;
        double span = e->last - e->first;
        double scale = span > 0 ? 8.0 / span : 0.0;
        f->rate_fwd = (double)e->bytes * scale;
        f->rate_rev = (double)e->bytes_rev * scale;
        f->rate_bps = f->rate_fwd + f->rate_rev;
        f->sum = f->rate_bps * w;
        f->sum2 = f->rate_bps * w2;
        f->sum40 = f->rate_bps * w40;
    }
    Py_RETURN_NONE;
}

/* advance(touched, start, entry_view_offset, facts_type, builder, facts_view_offset,
 *         scale, tick, active, rates) -> position of the first entry whose facts object
 * is not the builder's (or len(touched)): Python makes it and calls again from there.
 * ``rates`` is a writable buffer of len(touched) doubles; rates[len(active)] gets each
 * flow's rate. */
static PyObject *advance(PyObject *self, PyObject *args) {
    PyObject *touched, *ftype, *builder, *active, *rates_obj;
    Py_ssize_t start, view_off, fview_off;
    double scale;
    long long tick;
    if (!PyArg_ParseTuple(args, "O!nnOOndLO!O", &PyList_Type, &touched, &start, &view_off,
                          &ftype, &builder, &fview_off, &scale, &tick,
                          &PyList_Type, &active, &rates_obj)) return NULL;
    if (check_facts_type(ftype) < 0) return NULL;
    Py_buffer buf;
    if (PyObject_GetBuffer(rates_obj, &buf, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) return NULL;
    double *rates = (double *)buf.buf;
    Py_ssize_t cap = buf.len / (Py_ssize_t)sizeof(double);
    Py_ssize_t n = PyList_GET_SIZE(touched), i;
    for (i = start; i < n; i++) {
        PyObject *eo = PyList_GET_ITEM(touched, i);
        if (!PyObject_TypeCheck(eo, &CountersType)) {
            PyErr_SetString(PyExc_TypeError, "not a flow-table entry");
            goto fail;
        }
        PyObject *fo = slot_get(eo, view_off);
        if (!fo || !PyObject_TypeCheck(fo, (PyTypeObject *)ftype) || slot_get(fo, fview_off) != builder)
            break;  /* a flow this view has not seen yet */
        Py_ssize_t j = PyList_GET_SIZE(active);
        if (j >= cap) { PyErr_SetString(PyExc_ValueError, "rates buffer too small"); goto fail; }
        Counters *e = (Counters *)eo;
        FlowSums *f = (FlowSums *)fo;
        double fwd = (double)e->tick_bytes * scale, rev = (double)e->tick_bytes_rev * scale;
        double total = fwd + rev;
        f->rate_fwd = fwd;
        f->rate_rev = rev;
        f->rate_bps = total;
        f->sum += total;
        f->sum2 += total;
        f->sum40 += total;
        f->last = tick;
        if (PyList_Append(active, fo) < 0) goto fail;
        rates[j] = total;
    }
    PyBuffer_Release(&buf);
    return PyLong_FromSsize_t(i);
fail:
    PyBuffer_Release(&buf);
    return NULL;
}

/* ``o`` as a flow view's facts, or NULL with TypeError set. Checked in the loops that
 * use them, not in a pass of its own: a pass over 100k objects is 100k cache misses. */
static inline FlowSums *as_facts(PyObject *o) {
    if (PyObject_TypeCheck(o, &FlowSumsType)) return (FlowSums *)o;
    PyErr_SetString(PyExc_TypeError, "not a flow view's facts");
    return NULL;
}

/* leave_window(flows, rates, cutoff[, which]): the tick that leaves an average's window
 * takes its rates out of its flows' sums (exactly 0 when the flow's last traffic left);
 * ``which``: 0 the 10 s window's ``_sum``, 1 ``_sum2``, 2 ``_sum40``. */
static PyObject *leave_window(PyObject *self, PyObject *args) {
    PyObject *flows, *rates_obj;
    long long cutoff;
    int which = 0;
    if (!PyArg_ParseTuple(args, "O!OL|i", &PyList_Type, &flows, &rates_obj, &cutoff, &which))
        return NULL;
    if (which < 0 || which > 2) { PyErr_SetString(PyExc_ValueError, "which is 0, 1 or 2"); return NULL; }
    Py_buffer buf;
    if (PyObject_GetBuffer(rates_obj, &buf, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    const double *rates = (const double *)buf.buf;
    Py_ssize_t n = PyList_GET_SIZE(flows);
    if (buf.len / (Py_ssize_t)sizeof(double) < n) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "fewer rates than flows");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        FlowSums *f = as_facts(PyList_GET_ITEM(flows, i));
        if (!f) { PyBuffer_Release(&buf); return NULL; }
        double *sum = which == 0 ? &f->sum : which == 1 ? &f->sum2 : &f->sum40;
        if (f->last <= cutoff) *sum = 0.0;
        else *sum -= rates[i];
    }
    PyBuffer_Release(&buf);
    Py_RETURN_NONE;
}

/* clear_rates(flows, tick): the flows that moved last tick and not in ``tick`` (their
 * ``_last``) have no rate now. Called after ``advance``: an all-active tick then skips
 * every flow instead of zeroing it only to set it again. */
static PyObject *clear_rates(PyObject *self, PyObject *args) {
    PyObject *flows;
    long long tick;
    if (!PyArg_ParseTuple(args, "O!L", &PyList_Type, &flows, &tick)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(flows);
    for (Py_ssize_t i = 0; i < n; i++) {
        FlowSums *f = as_facts(PyList_GET_ITEM(flows, i));
        if (!f) return NULL;
        if (f->last != tick) f->rate_fwd = f->rate_rev = f->rate_bps = 0.0;
    }
    Py_RETURN_NONE;
}

/* prune(facts, entry_offset, view_offset) -> the facts whose entry no longer points
 * back at them (a flow the table removed has its ``view`` reset), taken out of ``facts``
 * in place: the live list is not made anew each tick (a new list of every flow would be
 * rescanned by the cyclic GC's young collections). */
static PyObject *prune(PyObject *self, PyObject *args) {
    PyObject *flows;
    Py_ssize_t entry_off, view_off;
    if (!PyArg_ParseTuple(args, "O!nn", &PyList_Type, &flows, &entry_off, &view_off)) return NULL;
    PyObject *gone = PyList_New(0);
    if (!gone) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(flows), k = 0;
    PyObject **items = ((PyListObject *)flows)->ob_item;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *fo = items[i];
        PyObject *eo = PyObject_TypeCheck(fo, &FlowSumsType) ? slot_get(fo, entry_off) : NULL;
        if (!eo || !PyObject_TypeCheck(eo, &CountersType)) {
            /* what is kept so far stays, in order, followed by the rest unchanged */
            memmove(&items[k], &items[i], (size_t)(n - i) * sizeof(PyObject *));
            Py_SET_SIZE(flows, k + (n - i));
            Py_DECREF(gone);
            PyErr_SetString(PyExc_TypeError, "facts without a flow-table entry");
            return NULL;
        }
        if (slot_get(eo, view_off) == fo) { items[k++] = fo; continue; }
        /* the list's reference moves to ``gone`` */
        if (PyList_Append(gone, fo) < 0) {
            memmove(&items[k], &items[i], (size_t)(n - i) * sizeof(PyObject *));
            Py_SET_SIZE(flows, k + (n - i));
            Py_DECREF(gone);
            return NULL;
        }
        Py_DECREF(fo);
    }
    Py_SET_SIZE(flows, k);
    return gone;
}

typedef struct { double v; Py_ssize_t i; } Ranked;

/* a ranks below b: smaller value, or the same value and later in the pool. */
static inline int below(const Ranked *a, const Ranked *b) {
    return a->v < b->v || (a->v == b->v && a->i > b->i);
}

static void sift_down(Ranked *h, Py_ssize_t n, Py_ssize_t i) {
    for (;;) {
        Py_ssize_t l = 2 * i + 1, m = i;
        if (l < n && below(&h[l], &h[m])) m = l;
        if (l + 1 < n && below(&h[l + 1], &h[m])) m = l + 1;
        if (m == i) return;
        Ranked t = h[i]; h[i] = h[m]; h[m] = t;
        i = m;
    }
}

static int rank_cmp(const void *x, const void *y) {
    const Ranked *a = x, *b = y;
    return below(a, b) ? 1 : below(b, a) ? -1 : 0;
}

/* top(pool, n) -> the n facts of ``pool`` with the largest rate, largest first, ties in
 * pool order: heapq.nlargest(n, pool, key=attrgetter("rate_bps")). */
static PyObject *top(PyObject *self, PyObject *args) {
    PyObject *pool;
    Py_ssize_t want;
    if (!PyArg_ParseTuple(args, "O!n", &PyList_Type, &pool, &want)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(pool);
    if (want > n) want = n;
    if (want <= 0) return PyList_New(0);
    Ranked *h = PyMem_Malloc((size_t)want * sizeof(Ranked));
    if (!h) return PyErr_NoMemory();
    Py_ssize_t size = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        FlowSums *f = as_facts(PyList_GET_ITEM(pool, i));
        if (!f) { PyMem_Free(h); return NULL; }
        Ranked r = {f->rate_bps, i};
        if (size < want) {
            h[size++] = r;
            if (size == want)
                for (Py_ssize_t k = want / 2; k-- > 0;) sift_down(h, want, k);
        } else if (below(&h[0], &r)) {
            h[0] = r;
            sift_down(h, want, 0);
        }
    }
    qsort(h, (size_t)size, sizeof(Ranked), rank_cmp);
    PyObject *out = PyList_New(size);
    if (out)
        for (Py_ssize_t k = 0; k < size; k++) {
            PyObject *o = PyList_GET_ITEM(pool, h[k].i);
            Py_INCREF(o);
            PyList_SET_ITEM(out, k, o);
        }
    PyMem_Free(h);
    return out;
}

/* ---- the kept aggregation's tick (flowview._Aggregation.moved / resum) ----------- */

/* The group a facts object is counted in (a GroupSums), NULL for none; -1 on a type error. */
static int group_of(PyObject *fo, Py_ssize_t group_off, GroupSums **out) {
    PyObject *g = slot_get(fo, group_off);
    if (!g || g == Py_None) { *out = NULL; return 0; }
    if (!PyObject_TypeCheck(g, &GroupSumsType)) {
        PyErr_SetString(PyExc_TypeError, "not a kept aggregation's group");
        return -1;
    }
    *out = (GroupSums *)g;
    return 0;
}

/* agg_moved(was_moving, active, tick, rates_only, group_offset, entry_offset) -> the
 * groups that moved, each once: _Aggregation.moved, the same operations in its order. */
static PyObject *agg_moved(PyObject *self, PyObject *args) {
    PyObject *was, *active;
    long long tick;
    int rates_only;
    Py_ssize_t group_off, entry_off;
    if (!PyArg_ParseTuple(args, "O!O!Lpnn", &PyList_Type, &was, &PyList_Type, &active,
                          &tick, &rates_only, &group_off, &entry_off)) return NULL;
    Py_ssize_t nw = PyList_GET_SIZE(was);
    for (Py_ssize_t i = 0; i < nw; i++) {
        PyObject *g = PyList_GET_ITEM(was, i);
        if (!PyObject_TypeCheck(g, &GroupSumsType)) {
            PyErr_SetString(PyExc_TypeError, "not a kept aggregation's group");
            return NULL;
        }
        ((GroupSums *)g)->fwd = ((GroupSums *)g)->rev = 0.0;
    }
    PyObject *moving = PyList_New(0);
    if (!moving) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(active);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *fo = PyList_GET_ITEM(active, i);
        FlowSums *f = as_facts(fo);
        GroupSums *g;
        if (!f || group_of(fo, group_off, &g) < 0) goto fail;
        if (!g) continue;
        if (g->tick != tick) {
            g->tick = tick;
            if (PyList_Append(moving, (PyObject *)g) < 0) goto fail;
        }
        g->fwd += f->rate_fwd;
        g->rev += f->rate_rev;
        if (rates_only) continue;
        PyObject *eo = slot_get(fo, entry_off);
        if (!eo || !PyObject_TypeCheck(eo, &CountersType)) {
            PyErr_SetString(PyExc_TypeError, "facts without a flow-table entry");
            goto fail;
        }
        Counters *e = (Counters *)eo;
        const long long now[4] = {e->bytes, e->bytes_rev, e->packets, e->packets_rev};
        for (int k = 0; k < 4; k++) {
            g->n[k] += (i128)now[k] - f->c[k];
            f->c[k] = now[k];
        }
        if (e->first < g->first) g->first = e->first;
        if (e->last > g->last) g->last = e->last;
        if (f->sum != f->c_sum) {
            if (f->c_sum == 0.0) g->recent += 1;
            g->avg_sum = g->recent ? g->avg_sum + (f->sum - f->c_sum) : 0.0;
            f->c_sum = f->sum;
        }
    }
    return moving;
fail:
    Py_DECREF(moving);
    return NULL;
}

/* agg_resum(flows, group_offset): _Aggregation.resum, the groups follow the window sums
 * of flows whose sum changed as a tick left the window. */
static PyObject *agg_resum(PyObject *self, PyObject *args) {
    PyObject *flows;
    Py_ssize_t group_off;
    if (!PyArg_ParseTuple(args, "O!n", &PyList_Type, &flows, &group_off)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(flows);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *fo = PyList_GET_ITEM(flows, i);
        FlowSums *f = as_facts(fo);
        GroupSums *g;
        if (!f || group_of(fo, group_off, &g) < 0) return NULL;
        if (!g || f->sum == f->c_sum) continue;
        if (f->c_sum == 0.0) g->recent += 1;
        else if (f->sum == 0.0) g->recent -= 1;
        g->avg_sum = g->recent ? g->avg_sum + (f->sum - f->c_sum) : 0.0;
        f->c_sum = f->sum;
    }
    Py_RETURN_NONE;
}

/* Empty every capability set and forbid regaining any (the capture child calls this
 * after opening its rings; done here so that the child need not load ctypes). */
static PyObject *drop_capabilities(PyObject *self, PyObject *args) {
    struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &head, data) != 0) return PyErr_SetFromErrno(PyExc_OSError);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return PyErr_SetFromErrno(PyExc_OSError);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"drop_capabilities", drop_capabilities, METH_NOARGS, "Drop all capabilities, set no_new_privs."},
    {"app_parse", app_parse, METH_VARARGS, "What one segment says at the application layer (app.h)."},
    {"slot_offsets", slot_offsets, METH_VARARGS, "Byte offsets of a type's __slots__."},
    {"merge", merge, METH_VARARGS, "Merge flow deltas into the engine's flow table."},
    {"reset_ticks", reset_ticks, METH_O, "Zero the tick counters of flow-table entries."},
    {"with_slot", with_slot, METH_VARARGS, "Entries whose object slot is set, not None."},
    {"moved_bytes", moved_bytes, METH_VARARGS, "Entries that moved at least N bytes this tick."},
    {"advance", advance, METH_VARARGS, "The flow view's per-tick rates and window sums."},
    {"lifetimes", lifetimes, METH_VARARGS, "Flows' rates over their whole life (a summary's)."},
    {"new_entry", new_entry, METH_VARARGS, "A flow-table entry as FlowEntry(record, keys) makes it."},
    {"plain_rows", plain_rows, METH_VARARGS, "A summary's rows without lookups (_plain_rows)."},
    {"leave_window", leave_window, METH_VARARGS, "Take a tick's rates out of the window sums."},
    {"prune", prune, METH_VARARGS, "Take the facts whose flow left the table out, in place."},
    {"top", top, METH_VARARGS, "The n largest by a float slot, largest first."},
    {"agg_moved", agg_moved, METH_VARARGS, "A kept aggregation's groups follow the flows that moved."},
    {"clear_rates", clear_rates, METH_VARARGS, "Zero the rates of flows that stopped."},
    {"agg_resum", agg_resum, METH_VARARGS, "A kept aggregation's groups follow the window sums."},
    {"kpi_json", kpi_json, METH_O, "A FlowKpi's members as JSON, or None for the general encoder."},
    {"flow_json", flow_json, METH_VARARGS, "A flow record's JSON line, or None for the Python one."},
    {"flow_json_lines", flow_json_lines, METH_VARARGS, "Flow records' JSON lines (flow_json's)."},
    {NULL}
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_fastflow", NULL, -1, module_methods};

PyMODINIT_FUNC PyInit__fastflow(void) {
    if (PyType_Ready(&TableType) < 0 || PyType_Ready(&CountersType) < 0
        || PyType_Ready(&FlowSumsType) < 0 || PyType_Ready(&GroupSumsType) < 0
        || PyType_Ready(&RecencyType) < 0 || PyType_Ready(&RecencyIterType) < 0
        || PyType_Ready(&FlowIndexType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moddef);
    if (!m) return NULL;
    Py_INCREF(&TableType);
    if (PyModule_AddObject(m, "Table", (PyObject *)&TableType) < 0) {
        Py_DECREF(&TableType); Py_DECREF(m); return NULL;
    }
    Py_INCREF(&CountersType);
    if (PyModule_AddObject(m, "Counters", (PyObject *)&CountersType) < 0) {
        Py_DECREF(&CountersType); Py_DECREF(m); return NULL;
    }
    Py_INCREF(&FlowSumsType);
    if (PyModule_AddObject(m, "FlowSums", (PyObject *)&FlowSumsType) < 0) {
        Py_DECREF(&FlowSumsType); Py_DECREF(m); return NULL;
    }
    Py_INCREF(&GroupSumsType);
    if (PyModule_AddObject(m, "GroupSums", (PyObject *)&GroupSumsType) < 0) {
        Py_DECREF(&GroupSumsType); Py_DECREF(m); return NULL;
    }
    Py_INCREF(&RecencyType);
    if (PyModule_AddObject(m, "Recency", (PyObject *)&RecencyType) < 0) {
        Py_DECREF(&RecencyType); Py_DECREF(m); return NULL;
    }
    Py_INCREF(&FlowIndexType);
    if (PyModule_AddObject(m, "FlowIndex", (PyObject *)&FlowIndexType) < 0) {
        Py_DECREF(&FlowIndexType); Py_DECREF(m); return NULL;
    }
    PyModule_AddIntConstant(m, "VERSION", 21);
    return m;
}
