"""The engine's flow table: merges per-tick flow deltas from every source.

Flows are bidirectional: a delta for ``b->a`` joins the flow ``a->b`` with its
counters swapped, so unidirectional exporters (NetFlow v5) and the capture child land
in the same rows. The table is bounded (``max_flows``; the least recently active flow
is evicted first and counted), and flows end on NetFlow-style idle and active timeouts.

Cost per tick is proportional to the number of deltas merged, not to the table size:
recency is kept in an ``OrderedDict`` (expiry pops from its front) and the per-tick
counters are reset only on the entries touched this tick.
"""

from __future__ import annotations

import gc
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from netop.config import DEFAULT_ACTIVE_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_FLOWS
from netop.model import FlowBatch, FlowRecord
from netop.packet.decode import reverse_ports

_ACTIVE_SCAN_EVERY = 5.0

_FullKey = tuple[int, int | None, str, str, int, int, str, str | None]
#: (proto, src, sport, dst, dport, vlan, packets, bytes, packets_rev, bytes_rev, first,
#: last, tcp_flags): a delta without its source, as the capture child sends it.
Row = tuple[int, str, int, str, int, int | None, int, int, int, int, float, float, int]
#: A row plus (source, exporter, sampling).
FullRow = tuple[
    int, str, int, str, int, int | None, int, int, int, int, float, float, int, str, str | None, int
]


def tcp_state(proto: int, flags: int, packets_rev: int) -> str:
    """A short TCP state from the union of flags: what a flow list can honestly say."""
    if proto != 6:
        return ""
    if flags & 0x04:
        return "reset"
    if flags & 0x01:
        return "closing"
    if flags & 0x02:
        return "established" if flags & 0x10 and packets_rev else "syn-sent"
    return "mid-stream"  # the handshake happened before we looked


class FlowEntry:
    """One flow in the table: cumulative counters plus this tick's."""

    __slots__ = (
        "_key",
        "proto",
        "src",
        "sport",
        "dst",
        "dport",
        "vlan",
        "source",
        "exporter",
        "packets",
        "bytes",
        "packets_rev",
        "bytes_rev",
        "first",
        "last",
        "tcp_flags",
        "sampling",
        "tick_packets",
        "tick_bytes",
        "tick_packets_rev",
        "tick_bytes_rev",
        "_keys",
        "_record",
        "view",
        "ended",
        "evicted",
    )

    def __init__(self, row: FullRow, keys: tuple[_FullKey, _FullKey]) -> None:
        self._key: str | None = None
        self.proto, self.src, self.sport, self.dst, self.dport, self.vlan = row[:6]
        self.source, self.exporter, self.sampling = row[13:]
        self.packets = self.bytes = self.packets_rev = self.bytes_rev = 0
        self.tick_packets = self.tick_bytes = self.tick_packets_rev = self.tick_bytes_rev = 0
        self.first, self.last = row[10], row[11]
        self.tcp_flags = 0
        self._keys = keys
        self._record: FlowRecord | None = None
        #: What the flow view keeps per flow across ticks (rates, average); its own type.
        self.view: object = None
        #: Left the table on a timeout but kept for showing (``keep_ended``).
        self.ended = False
        #: Pushed out by a full table: gone for good, from the view too.
        self.evicted = False

    @property
    def key(self) -> str:
        """Stable text id of the flow (for the UI to keep the selection across ticks)."""
        if self._key is None:
            vlan = "" if self.vlan is None else self.vlan
            self._key = (
                f"{self.source}|{self.exporter or ''}|{self.proto}|{vlan}|"
                f"{self.src}|{self.sport}|{self.dst}|{self.dport}"
            )
        return self._key

    @property
    def state(self) -> str:
        """TCP state guessed from the flags seen (empty for other protocols); "ended"."""
        if self.ended:
            return "ended"
        return tcp_state(self.proto, self.tcp_flags, self.packets_rev)

    @property
    def record(self) -> FlowRecord:
        """The cumulative flow as a record (built on demand, cached until it changes)."""
        if self._record is None:
            self._record = FlowRecord(
                self.proto,
                self.src,
                self.sport,
                self.dst,
                self.dport,
                self.vlan,
                self.packets,
                self.bytes,
                self.packets_rev,
                self.bytes_rev,
                self.first,
                self.last,
                self.tcp_flags,
                self.source,
                self.exporter,
                self.sampling,
            )
        return self._record


@dataclass
class FlowTableStats:
    """Counters since the table was made."""

    merged: int = 0
    created: int = 0
    evictions: int = 0
    idle_expired: int = 0
    active_expired: int = 0


class FlowTable:
    """Bounded table of bidirectional flows keyed by
    (proto, src, sport, dst, dport, vlan, source, exporter).

    ``idle_timeout``/``active_timeout`` of 0 disable that timeout. With ``keep_expired``
    every flow that times out is kept for :meth:`drain_expired`, which is how the
    headless command prints every flow that ended; an evicted flow is only counted.
    With ``keep_ended`` (a recording played back) a flow that times out stays visible
    to the flow view, marked ``ended`` (up to ``max_flows`` of them), and a later packet
    of the same flow takes it up again: at the end of a file every flow of it is there,
    as in the headless listing.
    """

    def __init__(
        self,
        max_flows: int = DEFAULT_MAX_FLOWS,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        active_timeout: float = DEFAULT_ACTIVE_TIMEOUT,
        keep_expired: bool = False,
        keep_ended: bool = False,
    ) -> None:
        if max_flows < 1:
            raise ValueError("max_flows must be at least 1")
        self.max_flows = max_flows
        self.idle_timeout = idle_timeout
        self.active_timeout = active_timeout
        self.keep_expired = keep_expired
        self.keep_ended = keep_ended
        # Both keys of every ended flow (``keep_ended``), oldest first.
        self._ended: OrderedDict[_FullKey, FlowEntry] = OrderedDict()
        self.stats = FlowTableStats()
        self._index: dict[_FullKey, tuple[FlowEntry, bool]] = {}
        self._lru: OrderedDict[_FullKey, FlowEntry] = OrderedDict()
        self._touched: list[FlowEntry] = []
        self._expired: list[FlowRecord] = []
        self._last_active_scan = 0.0

    def __len__(self) -> int:
        return len(self._lru)

    def merge(self, batch: FlowBatch, now: float) -> None:
        """Add one batch of deltas (any source) to the table."""
        self.merge_records(batch.records, now)

    def merge_records(self, records: Iterable[FlowRecord], now: float) -> None:
        """Add deltas to the table. ``now`` is not used: a full table evicts its least
        recently active flow, whatever the time."""
        self._merge(
            (
                (
                    r.proto,
                    r.src,
                    r.sport,
                    r.dst,
                    r.dport,
                    r.vlan,
                    r.packets,
                    r.bytes,
                    r.packets_rev,
                    r.bytes_rev,
                    r.first,
                    r.last,
                    r.tcp_flags,
                    r.source,
                    r.exporter,
                    r.sampling,
                )
                for r in records
            ),
        )

    def merge_rows(self, rows: Iterable[Row], source: str, sampling: int, now: float) -> None:
        """Add deltas given as plain rows (the capture child's compact form)."""
        self._merge(row + (source, None, sampling) for row in rows)

    def _merge(self, rows: Iterable[FullRow]) -> None:
        # A burst of new flows allocates hundreds of thousands of objects; the cyclic GC
        # would rescan them many times over (half the cost). Nothing here makes cycles,
        # so collection waits until the merge is done.
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._merge_rows(rows)
        finally:
            if enabled:
                gc.enable()

    def _merge_rows(self, rows: Iterable[FullRow]) -> None:
        index, lru, touched = self._index, self._lru, self._touched
        n = 0
        evictions = self.stats.evictions
        for row in rows:
            (
                proto,
                src,
                sport,
                dst,
                dport,
                vlan,
                p,
                b,
                pr,
                br,
                first,
                last,
                flags,
                source,
                exp,
                _,
            ) = row
            n += 1
            hit = index.get((proto, vlan, src, dst, sport, dport, source, exp))
            if hit is None and self._ended:
                hit = self._revive((proto, vlan, src, dst, sport, dport, source, exp))
            if hit is None:
                entry = self._create(row)
                rev = False
                if len(lru) > self.max_flows:
                    self._evict()
            else:
                entry, rev = hit
            if entry.tick_packets == 0 and entry.tick_packets_rev == 0:
                touched.append(entry)
            if rev:
                p, b, pr, br = pr, br, p, b
            entry.packets += p
            entry.bytes += b
            entry.packets_rev += pr
            entry.bytes_rev += br
            entry.tick_packets += p
            entry.tick_bytes += b
            entry.tick_packets_rev += pr
            entry.tick_bytes_rev += br
            if first < entry.first:
                entry.first = first
            if last > entry.last:
                entry.last = last
            entry.tcp_flags |= flags
            entry.sampling = row[15]
            entry._record = None
            lru.move_to_end(entry._keys[0])
        self.stats.merged += n
        if self.stats.evictions != evictions:
            # Flows this batch brought and evicted: the view must not adopt them again.
            self._touched = [e for e in touched if not e.evicted]

    def _evict(self) -> None:
        """Make room at once, not after the batch: the table never holds more than
        ``max_flows`` + 1 flows however many new ones one batch brings. An evicted flow
        is not kept even with ``keep_expired`` (memory follows ``max_flows`` whatever
        floods the table); the count says what was lost."""
        entry = next(iter(self._lru.values()))
        self._remove(entry, keep=False)
        entry.evicted = True
        self.stats.evictions += 1

    def _create(self, row: FullRow) -> FlowEntry:
        proto, src, sport, dst, dport, vlan = row[0], row[1], row[2], row[3], row[4], row[5]
        source, exporter = row[13], row[14]
        fwd: _FullKey = (proto, vlan, src, dst, sport, dport, source, exporter)
        if proto == 1 or proto == 58:
            rsport, rdport = reverse_ports(proto, sport, dport)
        else:
            rsport, rdport = dport, sport
        rev: _FullKey = (proto, vlan, dst, src, rsport, rdport, source, exporter)
        entry = FlowEntry(row, (fwd, rev))
        self._index[fwd] = (entry, False)
        self._index.setdefault(rev, (entry, True))
        self._lru[fwd] = entry
        self.stats.created += 1
        return entry

    def _remove(self, entry: FlowEntry, keep: bool = True) -> None:
        del self._lru[entry._keys[0]]
        for k in entry._keys:
            hit = self._index.get(k)
            if hit is not None and hit[0] is entry:
                del self._index[k]
        if self.keep_expired and keep:
            self._expired.append(entry.record)
        entry.view = None  # tells the flow view the flow is gone

    def _end(self, entry: FlowEntry) -> None:
        """A flow timed out: removed, or kept for showing as ended (``keep_ended``)."""
        if not self.keep_ended:
            self._remove(entry)
            return
        view = entry.view
        self._remove(entry)
        entry.view, entry.ended = view, True
        for key in entry._keys:
            self._ended[key] = entry
        while len(self._ended) > 2 * self.max_flows:
            key, dropped = self._ended.popitem(last=False)
            if key == dropped._keys[0]:  # each flow has two keys: count it once
                self.stats.evictions += 1
            dropped.view = None

    def _revive(self, key: _FullKey) -> tuple[FlowEntry, bool] | None:
        """An ended flow that has a packet again goes back into the table."""
        entry = self._ended.get(key)
        if entry is None:
            return None
        for k in entry._keys:
            self._ended.pop(k, None)
        entry.ended = False
        fwd, rev = entry._keys
        self._index[fwd] = (entry, False)
        self._index.setdefault(rev, (entry, True))
        self._lru[fwd] = entry
        return entry, key != fwd

    def expire(self, now: float) -> int:
        """End flows idle for ``idle_timeout`` or older than ``active_timeout``."""
        ended = 0
        lru = self._lru
        if self.idle_timeout > 0:
            limit = now - self.idle_timeout
            while lru:
                oldest = next(iter(lru.values()))
                if oldest.last > limit:
                    break
                self._end(oldest)
                ended += 1
            self.stats.idle_expired += ended
        if self.active_timeout > 0 and now - self._last_active_scan >= _ACTIVE_SCAN_EVERY:
            self._last_active_scan = now
            limit = now - self.active_timeout
            old = [e for e in lru.values() if e.first <= limit]
            for entry in old:
                self._end(entry)
            self.stats.active_expired += len(old)
            ended += len(old)
        return ended

    def entries(self) -> Iterator[FlowEntry]:
        """Every live flow, least recently active first."""
        return iter(self._lru.values())

    def ended(self) -> list[FlowEntry]:
        """Flows that timed out and are kept for showing (``keep_ended``), oldest first."""
        return list({id(e): e for e in self._ended.values()}.values())

    def touched(self) -> list[FlowEntry]:
        """Entries that received packets this tick (until :meth:`end_tick`)."""
        return self._touched

    def end_tick(self) -> None:
        """Reset the per-tick counters (only entries touched this tick)."""
        for entry in self._touched:
            entry.tick_packets = entry.tick_bytes = 0
            entry.tick_packets_rev = entry.tick_bytes_rev = 0
        self._touched = []

    def end_all(self) -> None:
        """End every live flow now (as a timeout would)."""
        for entry in list(self._lru.values()):
            self._end(entry)

    def drain_expired(self) -> list[FlowRecord]:
        """Flows that left the table since the last call (with ``keep_expired``)."""
        out, self._expired = self._expired, []
        return out

    def records(self) -> list[FlowRecord]:
        """Every live flow as a cumulative record."""
        return [entry.record for entry in self._lru.values()]
