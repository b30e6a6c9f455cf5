/* Per-flow packet rings: the last ``fr_k`` packets (first FR_SNAP bytes each) of every
 * active TCP/UDP flow, so that the detail of a quiet flow opened now starts with its
 * recent packets even after busy flows have pushed them out of the global ring.
 *
 * Bounded: a fixed pool of ``fr_n`` flow slots of ``fr_k`` packets of 128 bytes each
 * (16 x 2048 x 128 B = 4 MiB by default), allocated once and touched only as it is
 * used. A new flow takes a free slot, else the least recently active one (a clock: each
 * packet marks its slot, the hand clears marks and reuses the first slot found unmarked).
 * Included by _fastflow.c after keep_packet's types; uses its Table, Pkt, Sample. */

#define FR_SNAP 96u

typedef struct FrPkt_ {
    double ts;
    uint64_t gseq;      /* the packet's number in the global ring's sequence */
    uint32_t wirelen;
    uint16_t caplen, linktype;
    uint8_t dir, flags; /* dir 0: went a->b (canonical order) */
    uint8_t pad[6];
    uint8_t data[FR_SNAP];
} FrPkt;  /* 128 bytes: two cache lines */

typedef struct FrFlow_ {
    uint8_t used, proto, alen, ref;
    uint16_t vlan, pa, pb;
    uint8_t a[16], b[16];
    uint32_t n;      /* packets kept so far */
    uint32_t pos;    /* where the next one goes (n % fr_k, without dividing per packet) */
    int32_t next;    /* next slot in the same bucket, -1: none */
    uint32_t bucket;
    uint32_t gen;    /* bumped each time the slot is given to a flow (never 0 then) */
} FrFlow;

#ifdef __SSE2__
#include <emmintrin.h>
static inline void fr_store(FrPkt *dst, const FrPkt *src) {
    __m128i *d = (__m128i *)dst;
    const __m128i *s = (const __m128i *)src;
    for (int i = 0; i < (int)(sizeof(FrPkt) / 16); i++) _mm_stream_si128(d + i, _mm_loadu_si128(s + i));
}
#else
static inline void fr_store(FrPkt *dst, const FrPkt *src) { *dst = *src; }
#endif

static void fr_free(Table *t) {
    PyMem_Free(t->frf); free(t->frp); PyMem_Free(t->frb);
    t->frf = NULL; t->frp = NULL; t->frb = NULL; t->fr_n = t->fr_k = 0;
}

/* Make the pool: ``n`` flows of ``k`` packets (k = 0: no per-flow rings). */
static int fr_init(Table *t, Py_ssize_t k, Py_ssize_t n) {
    fr_free(t);
    if (k <= 0 || n <= 0) return 0;
    if (k > 1024 || n > (1 << 22) || n * k > (1 << 24)) {  /* at most 2 GiB */
        PyErr_SetString(PyExc_ValueError, "flow_packets x flow_rings too large");
        return -2;
    }
    Py_ssize_t nb = 64;
    while (nb < n) nb *= 2;
    t->frf = PyMem_Calloc((size_t)n, sizeof(FrFlow));
    /* 16-byte aligned for the streaming stores; pages are touched only as used */
    void *pool = NULL;
    if (posix_memalign(&pool, 64, (size_t)(n * k) * sizeof(FrPkt)) == 0) t->frp = pool;
    t->frb = PyMem_Malloc((size_t)nb * sizeof(int32_t));
    if (!t->frf || !t->frp || !t->frb) { fr_free(t); return -1; }
    for (Py_ssize_t i = 0; i < nb; i++) t->frb[i] = -1;
    t->fr_n = n; t->fr_k = k; t->fr_nb = nb; t->fr_used = 0; t->fr_hand = 0;
    return 0;
}

static inline int fr_same(const FrFlow *f, uint8_t proto, uint16_t vlan, uint8_t alen,
                          const uint8_t *a, const uint8_t *b, uint16_t pa, uint16_t pb) {
    return f->proto == proto && f->vlan == vlan && f->alen == alen && f->pa == pa &&
           f->pb == pb && !memcmp(f->a, a, alen) && !memcmp(f->b, b, alen);
}

static void fr_unlink(Table *t, Py_ssize_t i) {
    FrFlow *f = &t->frf[i];
    int32_t *p = &t->frb[f->bucket];
    while (*p >= 0 && *p != (int32_t)i) p = &t->frf[*p].next;
    if (*p == (int32_t)i) *p = f->next;
}

/* The slot of a flow in canonical order (a < b), made when ``create``; -1 when absent. */
static Py_ssize_t fr_find(Table *t, uint8_t proto, uint16_t vlan, uint8_t alen, const uint8_t *a,
                          const uint8_t *b, uint16_t pa, uint16_t pb, int create) {
    uint32_t bucket = (uint32_t)(hash_entry(proto, vlan, alen, a, b, pa, pb) & (uint64_t)(t->fr_nb - 1));
    int32_t *head = &t->frb[bucket];
    for (int32_t i = *head; i >= 0; i = t->frf[i].next)
        if (fr_same(&t->frf[i], proto, vlan, alen, a, b, pa, pb)) return i;
    if (!create) return -1;
    Py_ssize_t i;
    if (t->fr_used < t->fr_n) {
        i = t->fr_used++;
    } else {
        /* at most two turns: the first clears every mark */
        for (;;) {
            FrFlow *f = &t->frf[t->fr_hand];
            Py_ssize_t at = t->fr_hand;
            t->fr_hand = (t->fr_hand + 1) % t->fr_n;
            if (f->ref) { f->ref = 0; continue; }
            i = at;
            break;
        }
        fr_unlink(t, i);
        t->fr_reused++;
    }
    FrFlow *f = &t->frf[i];
    uint32_t gen = f->gen + 1 ? f->gen + 1 : 1;
    memset(f, 0, sizeof(FrFlow));
    f->gen = gen;
    f->used = 1; f->proto = proto; f->vlan = vlan; f->alen = alen; f->pa = pa; f->pb = pb;
    memcpy(f->a, a, alen); memcpy(f->b, b, alen);
    f->bucket = bucket;
    f->next = *head;
    *head = (int32_t)i;
    return i;
}

/* Keep one packet in its flow's ring (TCP and UDP only). ``gseq``: its global number;
 * ``e``: its flow-table entry, which remembers the slot for the rest of the interval. */
static void fr_keep(Table *t, Entry *e, const Pkt *k, double ts, const uint8_t *data,
                    uint32_t caplen, uint32_t wirelen, int linktype, uint64_t gseq) {
    if (!t->frf || (k->proto != 6 && k->proto != 17)) return;
    int c = memcmp(k->src, k->dst, k->alen);
    int src_is_a = c < 0 || (c == 0 && k->sport <= k->dport);
    Py_ssize_t i;
    if (e && e->fr && t->frf[e->fr - 1].gen == e->frgen) {
        i = (Py_ssize_t)e->fr - 1;
    } else {
        i = src_is_a
            ? fr_find(t, k->proto, k->vlan, k->alen, k->src, k->dst, k->sport, k->dport, 1)
            : fr_find(t, k->proto, k->vlan, k->alen, k->dst, k->src, k->dport, k->sport, 1);
        if (i < 0) return;
        if (e) { e->fr = (uint32_t)i + 1; e->frgen = t->frf[i].gen; }
    }
    FrFlow *f = &t->frf[i];
    f->ref = 1;
    FrPkt *p = &t->frp[i * t->fr_k + (Py_ssize_t)f->pos];
    f->pos = f->pos + 1 == (uint32_t)t->fr_k ? 0 : f->pos + 1;
    f->n++;
    uint32_t n = caplen < FR_SNAP ? caplen : FR_SNAP;
    /* Built in L1, then written around the cache: the pool is larger than the cache
     * and a slot is read only when a detail opens, so reading it in first is waste. */
    FrPkt tmp;
    tmp.ts = ts; tmp.gseq = gseq; tmp.wirelen = wirelen;
    tmp.caplen = (uint16_t)n; tmp.linktype = (uint16_t)linktype;
    tmp.dir = (uint8_t)!src_is_a; tmp.flags = k->flags;
    memset(tmp.pad, 0, sizeof tmp.pad);
    memcpy(tmp.data, data, n);
    fr_store(p, &tmp);
}

static void watch_keep(Table *t, const Sample *s, int rev);

/* The watched flow's packets that only its own ring still holds (numbered before
 * ``before``, the oldest in the global ring), oldest first, into the watch ring. */
static void fr_prefill(Table *t, uint64_t before) {
    if (!t->frf) return;
    const WatchKey *w = &t->w;
    if (w->proto != 6 && w->proto != 17) return;
    int c = memcmp(w->src, w->dst, w->alen);
    int src_is_a = c < 0 || (c == 0 && w->sport <= w->dport);
    Py_ssize_t i = src_is_a
        ? fr_find(t, w->proto, w->vlan, w->alen, w->src, w->dst, w->sport, w->dport, 0)
        : fr_find(t, w->proto, w->vlan, w->alen, w->dst, w->src, w->dport, w->sport, 0);
    if (i < 0) return;
    const FrFlow *f = &t->frf[i];
    uint32_t k = (uint32_t)t->fr_k, n = f->n < k ? f->n : k, at = f->n < k ? 0 : f->pos;
    for (uint32_t j = 0; j < n; j++, at = at + 1 == k ? 0 : at + 1) {
        const FrPkt *p = &t->frp[i * t->fr_k + (Py_ssize_t)at];
        if (p->gseq >= before) break;  /* the global ring has this one and the rest */
        Sample s;
        memset(&s, 0, sizeof s);
        s.ts = p->ts; s.wirelen = p->wirelen; s.caplen = p->caplen; s.linktype = p->linktype;
        s.proto = w->proto; s.alen = w->alen; s.flags = p->flags; s.vlan = w->vlan;
        memcpy(s.data, p->data, p->caplen);
        /* rev: the packet went the other way than the watched direction (src -> dst) */
        watch_keep(t, &s, (p->dir == 0) != src_is_a);
    }
}
