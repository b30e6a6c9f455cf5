/* Passive per-flow KPIs for the capture table (_fastflow.c includes this file).
 *
 * The flow table (Entry) is emptied at every drain; a flow's KPI state must outlive
 * that, so it lives in a table of its own (Kpi, keyed like Entry: canonical side a is
 * the lower address/port). An Entry remembers its Kpi's index for the interval, so a
 * packet costs one index, not a second hash lookup, and the two cache lines every
 * packet reads are fetched while the Entry is updated. Idle states are swept
 * (compacted, index rebuilt) after a drain, which stamps each its flow's last packet.
 *
 * What is measured, with tshark 4.0.17 (epan/dissectors/packet-tcp.c) and Zeek as referees:
 * - handshake RTT: tcp.analysis.initial_rtt = the most recent SYN -> the ACK completing
 *   the handshake, split at the SYN/ACK (server half, client half);
 * - retransmissions per direction: tshark's retransmission flag (plain, fast, spurious),
 *   out-of-order separately, keep-alives excluded, its order of tests and thresholds
 *   (spurious first: already acknowledged; fast: >= 2 dup ACKs and the other side's
 *   last packet < 20 ms ago; out-of-order within the iRTT, 3 ms while unknown);
 * - ack RTT: with TCP timestamps pping's method (a TSval's first sight -> its first
 *   echo); without, data segment -> first ACK covering it, one outstanding sample per
 *   direction, none from a retransmitted segment (Karn); median of the last KPI_SAMPLES;
 * - conn_state: Zeek's conn.log words from per-endpoint states (base/protocols/conn);
 * - TTFB: the originator's first payload -> the responder's first payload after it;
 * - DNS (port 53, UDP or TCP with one message per segment): queries, responses, rcodes,
 *   query -> response delay matched on the flow + DNS id (tshark's dns.time);
 * - UDP jitter: RFC 3550 6.4.1's estimator J += (|D| - J) / 16 on the variation of the
 *   interarrival time (no sender timestamps on the wire: D = delta_i - delta_(i-1)).
 * Everything reads only the captured bytes it bounds-checked. */

#define KPI_SAMPLES 16
#define DNS_PENDING 8
#define DNS_SAMPLES 32
/* States live in chunks of KCHUNK (never moved by growth, no doubling slack: memory
 * per flow is what the state takes); the index maps a flow to its number. */
#define KCHUNK_BITS 12
#define KCHUNK (1 << KCHUNK_BITS)
#define KP(t, i) (&(t)->kp[(i) >> KCHUNK_BITS][(i) & (KCHUNK - 1)])

enum { ST_INACTIVE, ST_SYN_SENT, ST_SYN_ACK_SENT, ST_PARTIAL, ST_ESTABLISHED, ST_CLOSED, ST_RESET };

/* One side's state, read by every packet of the flow. Times are microseconds modulo
 * 2**32 (71 minutes): only differences of recent times are read, which wrap-around
 * arithmetic keeps exact, in half the bytes of doubles (the handshake and DNS times,
 * compared with tshark to 0.01 ms, are doubles). */
typedef struct {
    uint32_t nextseq, lastack;
    uint32_t nextseq_us;  /* TCP: when nextseq last moved; UDP: the last arrival */
    uint32_t lastack_us;  /* TCP: this side's last packet; UDP: the last interarrival */
    union {
        struct { uint32_t retrans, ooo; };   /* TCP */
        struct { float jit; uint32_t jit_n; };  /* UDP: RFC 3550 estimate (s), packets */
    };
    /* The pending ack-RTT sample: without TCP timestamps the segment ending at
     * ``samp_end`` sent at ``samp_us`` (seq/ack); with them (Kpi.ts) the oldest TSval of
     * this side not yet echoed and when it was first seen (pping). */
    uint32_t samp_end, samp_us;
    uint32_t tsb, tsb_us;  /* timestamps: this side's latest TSval, when first seen */
    uint16_t win;
    uint8_t dupacks, st, has_seq, has_ack, samp_on, tsb_on, has_ts;
} KDir;

typedef struct {
    uint16_t id[DNS_PENDING];
    double ts[DNS_PENDING];
    uint8_t n, ns, si;
    uint32_t queries, answers, rcodes[16];
    float samp[DNS_SAMPLES];
} KDns;

/* What every packet reads comes first (two cache lines); the key, read once per flow and
 * interval, and the handshake and TTFB times after it. */
typedef struct Kpi_ {
    KDir d[2];
    uint8_t proto, orig, has_rtt, ts, nsamp, si, data[2];
    float *samp;  /* ack RTT samples (KPI_SAMPLES), made with the first */
    KDns *dns;
    /* -- read once per flow and interval, or rarely */
    uint8_t a[16], b[16];
    uint16_t vlan, pa, pb;
    uint8_t alen, has_first[2];
    uint32_t first_us[2];
    double syn, synack, rtt, last;
} Kpi;

static inline uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LE(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((a) - (b)) > 0)
#define SEQ_GE(a, b) ((int32_t)((a) - (b)) >= 0)

static int kpi_index_build(Table *t, Py_ssize_t want) {
    Py_ssize_t cap = 1024;
    while (cap * 3 < want * 4) cap *= 2;
    uint32_t *ix = PyMem_Calloc((size_t)cap, sizeof(uint32_t));
    if (!ix) return -1;
    for (Py_ssize_t i = 0; i < t->kn; i++) {
        const Kpi *k = KP(t, i);
        uint64_t h = hash_entry(k->proto, k->vlan, k->alen, k->a, k->b, k->pa, k->pb);
        Py_ssize_t j = (Py_ssize_t)(h & (uint64_t)(cap - 1));
        while (ix[j]) j = (j + 1) & (cap - 1);
        ix[j] = (uint32_t)i + 1;
    }
    PyMem_Free(t->kix);
    t->kix = ix;
    t->kix_cap = cap;
    return 0;
}

/* The KPI state of a flow in canonical order (a < b), made when ``opener`` >= 0 (the
 * side that opened it: 0 = a); -1 when absent or the table is full. */
static Py_ssize_t kpi_find(Table *t, uint8_t proto, uint16_t vlan, uint8_t alen, const uint8_t *a,
                           const uint8_t *b, uint16_t pa, uint16_t pb, int opener) {
    if (!t->kix) {
        if (opener < 0 || kpi_index_build(t, 0) < 0) return -1;
    }
    uint64_t h = hash_entry(proto, vlan, alen, a, b, pa, pb);
    Py_ssize_t mask = t->kix_cap - 1, j = (Py_ssize_t)(h & (uint64_t)mask);
    for (;;) {
        uint32_t v = t->kix[j];
        if (!v) break;
        Kpi *k = KP(t, (Py_ssize_t)v - 1);
        if (k->proto == proto && k->vlan == vlan && k->alen == alen && k->pa == pa &&
            k->pb == pb && addr_eq(k->a, a, alen) && addr_eq(k->b, b, alen))
            return (Py_ssize_t)v - 1;
        j = (j + 1) & mask;
    }
    if (opener < 0) return -1;
    if (t->kn >= t->max_flows) { t->kpi_overflow++; return -1; }
    if (t->kn == t->kcap) {  /* one more chunk */
        Py_ssize_t nch = t->kcap / KCHUNK;
        Kpi **chunks = PyMem_Realloc(t->kp, (size_t)(nch + 1) * sizeof(Kpi *));
        if (!chunks) return -1;
        t->kp = chunks;
        if (!(chunks[nch] = PyMem_Malloc(KCHUNK * sizeof(Kpi)))) return -1;
        t->kcap += KCHUNK;
    }
    if ((t->kn + 1) * 4 > t->kix_cap * 3) {
        if (kpi_index_build(t, t->kn + 1) < 0) return -1;
        mask = t->kix_cap - 1;
        j = (Py_ssize_t)(h & (uint64_t)mask);
        while (t->kix[j]) j = (j + 1) & mask;
    }
    Kpi *k = KP(t, t->kn);
    memset(k, 0, sizeof(Kpi));
    k->proto = proto; k->vlan = vlan; k->alen = alen; k->pa = pa; k->pb = pb;
    memcpy(k->a, a, alen); memcpy(k->b, b, alen);
    k->orig = (uint8_t)opener;
    if (proto == 17 || proto == 6) {
        /* DNS; not mDNS (5353): its answers go to a multicast group, not to the asker */
        if (pa == 53 || pb == 53) {
            k->dns = PyMem_Calloc(1, sizeof(KDns));
            if (!k->dns) return -1;
        }
    }
    t->kix[j] = (uint32_t)t->kn + 1;
    return t->kn++;
}

/* Drop the states idle since ``now - idle``: compact, rebuild the index. */
static int kpi_sweep(Table *t, double now) {
    Py_ssize_t w = 0;
    for (Py_ssize_t i = 0; i < t->kn; i++) {
        Kpi *k = KP(t, i);
        if (k->last < now - t->kpi_idle) { PyMem_Free(k->dns); PyMem_Free(k->samp); continue; }
        if (w != i) *KP(t, w) = *k;
        w++;
    }
    if (w == t->kn) return 0;
    t->kn = w;
    /* give back the chunks left empty (one spare kept) */
    Py_ssize_t keep = (w + KCHUNK - 1) / KCHUNK + 1, have = t->kcap / KCHUNK;
    for (Py_ssize_t c = keep; c < have; c++) PyMem_Free(t->kp[c]);
    if (keep < have) t->kcap = keep * KCHUNK;
    return kpi_index_build(t, w);
}

static void kpi_free(Table *t) {
    for (Py_ssize_t i = 0; i < t->kn; i++) { PyMem_Free(KP(t, i)->dns); PyMem_Free(KP(t, i)->samp); }
    for (Py_ssize_t c = 0; c < t->kcap / KCHUNK; c++) PyMem_Free(t->kp[c]);
    PyMem_Free(t->kp); PyMem_Free(t->kix);
    t->kp = NULL; t->kix = NULL; t->kn = t->kcap = t->kix_cap = 0;
}

static void push_sample(float *buf, uint8_t *n, uint8_t *i, int cap, double v) {
    buf[*i] = (float)v;
    *i = (uint8_t)((*i + 1) % cap);
    if (*n < cap) (*n)++;
}

static void dns_message(Kpi *k, int dir, const uint8_t *p, uint32_t len, double ts) {
    KDns *d = k->dns;
    if (len < 12) return;
    uint16_t id = be16(p), flags = be16(p + 2);
    if (!(flags & 0x8000)) {  /* a query */
        d->queries++;
        /* The same id again: a resend, timed from the first query (tshark), unless more
         * than its dns.retransmission_timer (5 s) later: then a new transaction. */
        for (int i = 0; i < d->n; i++)
            if (d->id[i] == id) { if (ts - d->ts[i] > 5.0) d->ts[i] = ts; return; }
        if (d->n == DNS_PENDING) {  /* the oldest never answered: forget it */
            memmove(d->id, d->id + 1, (DNS_PENDING - 1) * sizeof(uint16_t));
            memmove(d->ts, d->ts + 1, (DNS_PENDING - 1) * sizeof(double));
            d->n--;
        }
        d->id[d->n] = id; d->ts[d->n] = ts; d->n++;
        return;
    }
    d->answers++;
    d->rcodes[flags & 0x0F]++;
    for (int i = 0; i < d->n; i++) {
        if (d->id[i] != id) continue;
        push_sample(d->samp, &d->ns, &d->si, DNS_SAMPLES, ts - d->ts[i]);
        memmove(d->id + i, d->id + i + 1, (size_t)(d->n - i - 1) * sizeof(uint16_t));
        memmove(d->ts + i, d->ts + i + 1, (size_t)(d->n - i - 1) * sizeof(double));
        d->n--;
        return;
    }
    (void)dir;
}

static inline void kpi_state(Kpi *k, int dir, uint8_t flags, int32_t seglen) {
    KDir *x = &k->d[dir], *y = &k->d[!dir];
    if (seglen > 0) k->data[dir] = 1;
    if (flags & 0x04) { x->st = ST_RESET; return; }
    if (flags & 0x01) { if (x->st != ST_RESET) x->st = ST_CLOSED; return; }
    if (flags & 0x02) {
        if (x->st == ST_INACTIVE || x->st == ST_PARTIAL)
            x->st = (flags & 0x10) ? ST_SYN_ACK_SENT : ST_SYN_SENT;
        return;
    }
    if (x->st == ST_SYN_SENT && y->st == ST_SYN_ACK_SENT) { x->st = y->st = ST_ESTABLISHED; return; }
    if (x->st == ST_INACTIVE) x->st = ST_PARTIAL;
}

/* The TCP timestamps option (RFC 7323) of a header of ``hl`` bytes, all captured: 1 and
 * TSval, TSecr when present. Linux puts it first after two NOPs; others anywhere. */
static inline int tcp_ts_option(const uint8_t *h, uint32_t hl, uint32_t *tsval, uint32_t *tsecr) {
    if (hl >= 32 && h[20] == 1 && h[21] == 1 && h[22] == 8 && h[23] == 10) {
        *tsval = be32(h + 24); *tsecr = be32(h + 28);
        return 1;
    }
    for (uint32_t i = 20; i + 1 < hl;) {
        uint8_t kind = h[i];
        if (kind == 0) return 0;
        if (kind == 1) { i++; continue; }
        uint8_t len = h[i + 1];
        if (len < 2 || i + len > hl) return 0;
        if (kind == 8 && len == 10) { *tsval = be32(h + i + 2); *tsecr = be32(h + i + 6); return 1; }
        i += len;
    }
    return 0;
}

static void add_rtt_sample(Kpi *k, uint32_t us) {
    if (!k->samp) k->samp = PyMem_Malloc(KPI_SAMPLES * sizeof(float));
    if (k->samp) push_sample(k->samp, &k->nsamp, &k->si, KPI_SAMPLES, us * 1e-6);
}

/* pping's per-packet RTT: the first time a TSval is seen on one side -> the first packet
 * of the other side echoing it (TSecr). Each TSval gives at most one sample; it may
 * overestimate (a TSval held by a quiet side), never underestimates. Two TSvals per side
 * wait for their echo: the oldest not yet echoed (a bulk sender's, echoed an RTT later)
 * and the latest (a request's, echoed by its answer); an echo past one forgets it. */
static void kpi_ts(Kpi *k, int dir, uint8_t flags, uint32_t tsval, uint32_t tsecr, uint32_t us) {
    KDir *f = &k->d[dir], *r = &k->d[!dir];
    if (!k->ts) {  /* from now on timestamps, not seq/ack, give this flow's samples */
        k->ts = 1;
        k->d[0].samp_on = k->d[1].samp_on = 0;
    }
    /* pping skips a TSval of 0 and a packet echoing nothing unless it is a SYN */
    if (!tsval || (!tsecr && (flags & 0x12) != 0x02)) return;
    if (tsecr) {
        if (r->samp_on && tsecr == r->samp_end) { add_rtt_sample(k, us - r->samp_us); r->samp_on = 0; }
        else if (r->tsb_on && tsecr == r->tsb) { add_rtt_sample(k, us - r->tsb_us); r->tsb_on = 0; }
        if (r->samp_on && SEQ_GT(tsecr, r->samp_end)) r->samp_on = 0;
        if (r->tsb_on && SEQ_GE(tsecr, r->tsb)) r->tsb_on = 0;
    }
    if (f->has_ts && !SEQ_GT(tsval, f->tsb)) return;  /* seen before: not its first time */
    f->has_ts = 1;
    f->tsb = tsval; f->tsb_us = us; f->tsb_on = 1;
    if (!f->samp_on) { f->samp_end = tsval; f->samp_us = us; f->samp_on = 1; }
}

/* A data, SYN or FIN segment ending at ``next``: is it sent again, and how? tshark
 * 4.0.17's tests in its order (that of Wireshark's packet-tcp.c today): a keep-alive is
 * none; a segment the other side has already acknowledged is a spurious retransmission,
 * even within the iRTT of the highest segment; then, for a segment starting before the
 * side's next expected sequence number, fast retransmission, out-of-order, plain
 * retransmission. Spurious and plain both count as retransmissions
 * (tcp.analysis.retransmission). Returns whether the segment was behind or resent (no
 * ack-RTT sample starts there). */
static int kpi_resent(Kpi *k, KDir *f, KDir *r, uint32_t seq, uint32_t next, int32_t seglen,
                      uint8_t flags, uint32_t us) {
    int behind = f->has_seq && SEQ_LT(seq, f->nextseq);
    int just_below = behind && f->nextseq - 1 == seq;
    if (just_below && seglen <= 1 && !(flags & 0x07)) return 1;  /* keep-alive */
    /* more than one byte from just below nextseq: new data after a zero-window probe */
    int after_probe = just_below && seglen > 1;
    if (seglen > 0 && r->has_ack && r->lastack && SEQ_LE(seq + (uint32_t)seglen, r->lastack)) {
        f->retrans++;  /* spurious */
    } else if (!behind || after_probe) {
        return behind;
    } else if (r->dupacks >= 2 && r->has_ack && r->lastack == seq && us - r->lastack_us < 20000u) {
        f->retrans++;  /* fast */
    } else {
        /* in whole microseconds, compared as tshark compares its nanoseconds: strictly
         * below (a packet exactly one iRTT later is a retransmission) */
        uint32_t irtt_us = k->has_rtt && k->rtt > 0.0 ? (uint32_t)(k->rtt * 1e6 + 0.5) : 3000u;
        if (us - f->nextseq_us < irtt_us && f->nextseq != next) {
            f->ooo++;
            return 1;
        }
        f->retrans++;  /* plain */
    }
    if (!k->ts) f->samp_on = 0;  /* Karn: no sample from a resent segment */
    return 1;
}

static void kpi_tcp(Kpi *k, int dir, const uint8_t *h, uint32_t cap, uint32_t l4len, double ts,
                    uint32_t us) {
    if (cap < 20) return;
    uint32_t seq = be32(h + 4), ack = be32(h + 8);
    uint8_t flags = h[13];
    uint16_t win = be16(h + 14);
    uint32_t hl = (uint32_t)(h[12] >> 4) * 4;
    int32_t seglen = (int32_t)l4len - (int32_t)hl;
    if (seglen < 0) seglen = 0;
    KDir *f = &k->d[dir], *r = &k->d[!dir];
    kpi_state(k, dir, flags, seglen);
    /* handshake, as tshark's tcp.analysis.initial_rtt: the most recent SYN (no ACK) to
     * the first packet with ACK and without SYN, whichever side sent it */
    if (!k->has_rtt) {
        if ((flags & 0x12) == 0x02) { k->syn = ts; k->synack = 0.0; }
        else if ((flags & 0x12) == 0x12 && k->syn != 0.0 && k->synack == 0.0) k->synack = ts;
        else if ((flags & 0x12) == 0x10 && k->syn != 0.0) { k->rtt = ts - k->syn; k->has_rtt = 1; }
    }
    /* duplicate ACK (tshark: no data, same window, seq at nextseq, same ack); the count
     * starts again only when the ack number moves (a window update does not reset it) */
    if (seglen == 0 && win && win == f->win && f->has_seq && seq == f->nextseq && f->has_ack &&
        ack == f->lastack && !(flags & 0x07)) {
        if (f->dupacks < 255) f->dupacks++;
    } else if (!f->has_ack || ack != f->lastack) {
        f->dupacks = 0;
    }
    uint32_t next = seq + (uint32_t)seglen + ((flags & 0x03) ? 1u : 0u);
    if (seglen > 0 || (flags & 0x03)) {
        int resent = kpi_resent(k, f, r, seq, next, seglen, flags, us);
        if (!resent && seglen > 0 && !f->samp_on && k->has_rtt && !k->ts) {
            f->samp_on = 1; f->samp_end = seq + (uint32_t)seglen; f->samp_us = us;
        }
    }
    if (!f->has_seq || SEQ_GT(next, f->nextseq)) { f->nextseq = next; f->nextseq_us = us; f->has_seq = 1; }
    if (flags & 0x10) {
        if (!k->ts && r->samp_on && SEQ_LE(r->samp_end, ack)) {
            add_rtt_sample(k, us - r->samp_us);
            r->samp_on = 0;
        }
        f->lastack = ack; f->has_ack = 1;
    }
    uint32_t tsval, tsecr;
    if (hl > 20 && cap >= hl && tcp_ts_option(h, hl, &tsval, &tsecr)) kpi_ts(k, dir, flags, tsval, tsecr, us);
    f->win = win;
    f->lastack_us = us;
    if (seglen > 0) {
        if (!k->has_first[dir] && (dir == k->orig || k->has_first[!dir])) {
            k->first_us[dir] = us; k->has_first[dir] = 1;
        }
        if (k->dns && seglen >= 14 && cap >= hl + 14) {
            const uint8_t *m = h + hl;
            dns_message(k, dir, m + 2, (uint32_t)seglen - 2 < cap ? (uint32_t)seglen - 2 : cap, ts);
        }
    }
}

static void kpi_udp(Kpi *k, int dir, const uint8_t *h, uint32_t cap, uint32_t l4len, double ts,
                    uint32_t us) {
    KDir *f = &k->d[dir];
    if (f->jit_n) {
        uint32_t delta = us - f->nextseq_us;
        if (f->jit_n >= 2) {
            double dd = ((double)delta - (double)f->lastack_us) * 1e-6;
            if (dd < 0) dd = -dd;
            f->jit += (float)((dd - f->jit) / 16.0);
        }
        f->lastack_us = delta;
    }
    f->nextseq_us = us;
    f->jit_n++;
    if (k->dns && cap >= 20) {
        uint32_t n = l4len - 8;
        if (n > cap - 8) n = cap - 8;
        dns_message(k, dir, h + 8, n, ts);
    }
}

/* One packet of a flow whose KPI state is ``k`` (``dir`` 0: a -> b). */
static void kpi_packet(Kpi *k, int dir, const uint8_t *l4, uint32_t cap, uint32_t l4len, double ts) {
    uint32_t us = (uint32_t)(uint64_t)(ts * 1e6 + 0.5);
    if (k->proto == 6) kpi_tcp(k, dir, l4, cap, l4len, ts, us);
    else if (k->proto == 17) kpi_udp(k, dir, l4, cap, l4len, ts, us);
}

static int cmp_float(const void *x, const void *y) {
    float a = *(const float *)x, b = *(const float *)y;
    return a < b ? -1 : a > b;
}

/* Seconds as milliseconds to the microsecond: the resolution of the times measured
 * (and of a double holding an epoch time); more digits would be noise, and cost a
 * longer repr in every JSON line. */
static PyObject *ms_value(double s) { return PyFloat_FromDouble(round(s * 1e6) / 1e3); }

static double median_s(const float *s, int n) {
    float v[DNS_SAMPLES];
    memcpy(v, s, (size_t)n * sizeof(float));
    qsort(v, (size_t)n, sizeof(float), cmp_float);
    return n % 2 ? v[n / 2] : ((double)v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static const char *const RCODE_NAMES[16] = {
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
    "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI", "RCODE12", "RCODE13", "RCODE14", "RCODE15"};

static const char *conn_state(const Kpi *k) {
    const KDir *o = &k->d[k->orig], *r = &k->d[!k->orig];
    int os = o->st, rs = r->st;
    int o_in = os == ST_INACTIVE || os == ST_PARTIAL, r_in = rs == ST_INACTIVE || rs == ST_PARTIAL;
    if (rs == ST_RESET) {
        if (os == ST_SYN_SENT || os == ST_SYN_ACK_SENT || (os == ST_RESET && !k->data[0] && !k->data[1]))
            return "REJ";
        return o_in ? "RSTRH" : "RSTR";
    }
    if (os == ST_RESET) return r_in ? "RSTOS0" : "RSTO";
    if (os == ST_CLOSED && rs == ST_CLOSED) return "SF";
    if (os == ST_CLOSED) return r_in ? "SH" : "S2";
    if (rs == ST_CLOSED) return o_in ? "SHR" : "S3";
    if (os == ST_SYN_SENT && rs == ST_INACTIVE) return "S0";
    if (os == ST_ESTABLISHED && rs == ST_ESTABLISHED) return "S1";
    return "OTH";
}

/* The FlowKpi fields (netop.model) of ``k`` for a row whose src is side ``src`` (0 = a):
 * rtt_ms, rtt_server_ms, rtt_client_ms, ack_rtt_ms, retrans, retrans_rev, ooo, ooo_rev,
 * conn_state, ttfb_ms, dns_queries, dns_answers, dns_ms, dns_rcodes, jitter_ms. */
static PyObject *kpi_tuple(const Kpi *k, int src) {
    PyObject *none = Py_None;
    int tcp = k->proto == 6;
    const KDir *s = &k->d[src], *d = &k->d[!src];
    PyObject *rtt = none, *rs = none, *rc = none, *ack = none, *st = none, *ttfb = none;
    PyObject *re = none, *rr = none, *oo = none, *orr = none;
    PyObject *dq = none, *da = none, *dms = none, *drc = none, *jit = none;
    Py_INCREF(none); Py_INCREF(none); Py_INCREF(none); Py_INCREF(none); Py_INCREF(none);
    Py_INCREF(none); Py_INCREF(none); Py_INCREF(none); Py_INCREF(none); Py_INCREF(none);
    Py_INCREF(none); Py_INCREF(none); Py_INCREF(none); Py_INCREF(none); Py_INCREF(none);
    if (tcp) {
        if (k->has_rtt) {
            Py_DECREF(rtt); rtt = ms_value(k->rtt);
            if (k->synack != 0.0) {
                Py_DECREF(rs); rs = ms_value(k->synack - k->syn);
                Py_DECREF(rc); rc = ms_value(k->syn + k->rtt - k->synack);
            }
        }
        if (k->nsamp) { Py_DECREF(ack); ack = ms_value(median_s(k->samp, k->nsamp)); }
        Py_DECREF(re); re = PyLong_FromUnsignedLong(s->retrans);
        Py_DECREF(rr); rr = PyLong_FromUnsignedLong(d->retrans);
        Py_DECREF(oo); oo = PyLong_FromUnsignedLong(s->ooo);
        Py_DECREF(orr); orr = PyLong_FromUnsignedLong(d->ooo);
        Py_DECREF(st); st = PyUnicode_FromString(conn_state(k));
        int o = k->orig;
        if (k->has_first[o] && k->has_first[!o]) {
            Py_DECREF(ttfb); ttfb = ms_value((k->first_us[!o] - k->first_us[o]) * 1e-6);
        }
    } else {
        const KDir *a = &k->d[0], *b = &k->d[1];
        double j = -1.0;
        if (a->jit_n >= 3) j = a->jit;
        if (b->jit_n >= 3 && b->jit > j) j = b->jit;
        if (j >= 0.0) { Py_DECREF(jit); jit = ms_value(j); }
    }
    if (k->dns && (k->dns->queries || k->dns->answers)) {
        const KDns *n = k->dns;
        Py_DECREF(dq); dq = PyLong_FromUnsignedLong(n->queries);
        Py_DECREF(da); da = PyLong_FromUnsignedLong(n->answers);
        if (n->ns) { Py_DECREF(dms); dms = ms_value(median_s(n->samp, n->ns)); }
        Py_DECREF(drc); drc = PyDict_New();
        for (int i = 0; drc && i < 16; i++) {
            if (!n->rcodes[i]) continue;
            PyObject *c = PyLong_FromUnsignedLong(n->rcodes[i]);
            if (!c || PyDict_SetItemString(drc, RCODE_NAMES[i], c) < 0) { Py_XDECREF(c); Py_CLEAR(drc); break; }
            Py_DECREF(c);
        }
    }
    PyObject *items[15] = {rtt, rs, rc, ack, re, rr, oo, orr, st, ttfb, dq, da, dms, drc, jit};
    for (int i = 0; i < 15; i++)
        if (!items[i]) { for (int j = 0; j < 15; j++) Py_XDECREF(items[j]); return NULL; }
    PyObject *out = PyTuple_New(15);
    if (!out) { for (int j = 0; j < 15; j++) Py_DECREF(items[j]); return NULL; }
    for (int i = 0; i < 15; i++) PyTuple_SET_ITEM(out, i, items[i]);
    return out;
}

/* The per-packet hook: the flow's KPI state (found once per interval), then the packet. */
static inline void kpi_hook(Table *t, Entry *e, const Pkt *k, int dir, int opener_dir, double ts) {
    if (!t->kpi_on || !k->l4) return;
    if (ts > t->know) t->know = ts;
    if (!e->kpi) {
        Py_ssize_t i = kpi_find(t, e->proto, e->vlan, e->alen, e->a, e->b, e->pa, e->pb, opener_dir);
        e->kpi = i < 0 ? UINT32_MAX : (uint32_t)i + 1;
    }
    if (e->kpi != UINT32_MAX) kpi_packet(KP(t, (Py_ssize_t)e->kpi - 1), dir, k->l4, k->l4cap, k->l4len, ts);
}

/* The FlowKpi fields' names, in their order (netop.model.KPI_KEYS). */
static const char *const KPI_NAMES[15] = {
    "rtt_ms", "rtt_server_ms", "rtt_client_ms", "ack_rtt_ms", "retrans", "retrans_rev", "ooo",
    "ooo_rev", "conn_state", "ttfb_ms", "dns_queries", "dns_answers", "dns_ms", "dns_rcodes",
    "jitter_ms"};

static int put(char *buf, size_t *n, size_t cap, const char *s, size_t len) {
    if (*n + len > cap) return -1;
    memcpy(buf + *n, s, len);
    *n += len;
    return 0;
}

/* A non-negative integer's digits (what %lld writes), without printf's machinery. */
static int put_ll(char *buf, size_t *n, size_t cap, long long x) {
    char tmp[24];
    int i = 24;
    unsigned long long u = x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x;
    do { tmp[--i] = (char)('0' + u % 10); u /= 10; } while (u);
    if (x < 0) tmp[--i] = '-';
    return put(buf, n, cap, tmp + i, (size_t)(24 - i));
}

/* A finite float as repr() writes it. A time or value at microsecond resolution (a
 * capture's timestamps, the KPIs' rounded times) is written from its integer count of
 * microseconds: that decimal is repr's exactly when it reads back as the same float (the
 * division of two exact integers is correctly rounded, as strtod is) and no shorter one
 * can (below 2**33 a float's spacing is under 1e-6: one 1e-6 step has room for one
 * candidate). Else dtoa, several thousand instructions for a 17-digit time. -1: error. */
static int put_repr(char *buf, size_t *n, size_t cap, double x) {
    if (x >= 1e-4 && x < 8589934592.0) {
        long long us = llround(x * 1e6);
        if ((double)us / 1e6 == x) {
            char frac[7];
            long long f = us % 1000000;
            int len = 6;
            for (int i = 5; i >= 0; i--) { frac[i] = (char)('0' + f % 10); f /= 10; }
            while (len > 1 && frac[len - 1] == '0') len--;
            return put_ll(buf, n, cap, us / 1000000) < 0 || put(buf, n, cap, ".", 1) < 0 ||
                   put(buf, n, cap, frac, (size_t)len) < 0 ? 1 : 0;
        }
    }
    char *s = PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (!s) return -1;
    int rc = put(buf, n, cap, s, strlen(s)) < 0 ? 1 : 0;
    PyMem_Free(s);
    return rc;
}

/* A dict of plain-text names to ints (``dns_rcodes``) as json.dumps writes it, in its
 * order; 1 for anything else (the general encoder takes it). */
static int put_counts(char *buf, size_t *np, size_t cap, PyObject *d) {
    size_t n = *np;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    int first = 1;
    if (put(buf, &n, cap, "{", 1) < 0) return 1;
    while (PyDict_Next(d, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k) || !PyUnicode_IS_ASCII(k) || PyUnicode_GET_LENGTH(k) >= 64 ||
            !PyLong_CheckExact(v)) return 1;
        const char *s = (const char *)PyUnicode_DATA(k);
        Py_ssize_t len = PyUnicode_GET_LENGTH(k);
        for (Py_ssize_t j = 0; j < len; j++)
            if (s[j] < 0x20 || s[j] == '"' || s[j] == '\\' || s[j] == 0x7f) return 1;
        int over = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &over);
        if (over || (x == -1 && PyErr_Occurred())) { PyErr_Clear(); return 1; }
        if ((!first && put(buf, &n, cap, ", ", 2) < 0) || put(buf, &n, cap, "\"", 1) < 0 ||
            put(buf, &n, cap, s, (size_t)len) < 0 || put(buf, &n, cap, "\": ", 3) < 0 ||
            put_ll(buf, &n, cap, x) < 0) return 1;
        first = 0;
    }
    if (put(buf, &n, cap, "}", 1) < 0) return 1;
    *np = n;
    return 0;
}

/* kpi_put: a FlowKpi's members as json.dumps writes them (floats and ints by their
 * repr) into buf at *n, closing the flow record's object with "}"; 1 when a value needs
 * the general encoder (a dict, an unusual string), -1 on a Python error. */
static int kpi_put(char *buf, size_t *np, size_t cap, PyObject *kpi) {
    if (!PyTuple_Check(kpi) || PyTuple_GET_SIZE(kpi) != 15) return 1;
    size_t n = *np;
    for (int i = 0; i < 15; i++) {
        PyObject *v = PyTuple_GET_ITEM(kpi, i);
        const char *name = KPI_NAMES[i];
        if (put(buf, &n, cap, "\"", 1) < 0 || put(buf, &n, cap, name, strlen(name)) < 0 ||
            put(buf, &n, cap, "\": ", 3) < 0) return 1;
        int rc;
        if (v == Py_None) {
            rc = put(buf, &n, cap, "null", 4);
        } else if (PyLong_CheckExact(v)) {
            int over = 0;
            long long x = PyLong_AsLongLongAndOverflow(v, &over);
            if (over || (x == -1 && PyErr_Occurred())) { PyErr_Clear(); return 1; }
            rc = put_ll(buf, &n, cap, x);
        } else if (PyFloat_CheckExact(v)) {
            double x = PyFloat_AS_DOUBLE(v);
            if (!isfinite(x)) return 1;
            rc = put_repr(buf, &n, cap, x);
            if (rc < 0) return -1;
            if (rc > 0) return 1;
        } else if (PyUnicode_CheckExact(v) && PyUnicode_IS_ASCII(v) && PyUnicode_GET_LENGTH(v) < 64) {
            const char *s = (const char *)PyUnicode_DATA(v);
            Py_ssize_t len = PyUnicode_GET_LENGTH(v);
            for (Py_ssize_t j = 0; j < len; j++)
                if (s[j] < 0x20 || s[j] == '"' || s[j] == '\\' || s[j] == 0x7f) return 1;
            rc = put(buf, &n, cap, "\"", 1) < 0 || put(buf, &n, cap, s, (size_t)len) < 0 ||
                 put(buf, &n, cap, "\"", 1) < 0 ? -1 : 0;
        } else if (PyDict_CheckExact(v)) {
            rc = put_counts(buf, &n, cap, v);
            if (rc < 0) return -1;
            if (rc > 0) return 1;
        } else {
            return 1;
        }
        if (rc < 0 || put(buf, &n, cap, i < 14 ? ", " : "}", i < 14 ? 2 : 1) < 0) return 1;
    }
    *np = n;
    return 0;
}

/* kpi_json(kpi) -> '"rtt_ms": 1.5, ... "jitter_ms": null}': kpi_put as a string, or None
 * for the general encoder. A tenth of the cost of encoding its dict. */
static PyObject *kpi_json(PyObject *Py_UNUSED(self), PyObject *kpi) {
    char buf[1024];
    size_t n = 0;
    int rc = kpi_put(buf, &n, sizeof buf, kpi);
    if (rc < 0) return NULL;
    if (rc > 0) Py_RETURN_NONE;
    return PyUnicode_FromStringAndSize(buf, (Py_ssize_t)n);
}
