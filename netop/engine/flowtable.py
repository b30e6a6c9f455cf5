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

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from netop.capture.decode import reverse_ports
from netop.model import FlowBatch, FlowRecord

#: NetFlow's usual defaults (Cisco: inactive 15 s, active 30 min).
DEFAULT_IDLE_TIMEOUT = 15.0
DEFAULT_ACTIVE_TIMEOUT = 1800.0
DEFAULT_MAX_FLOWS = 200_000
_ACTIVE_SCAN_EVERY = 5.0

_FullKey = tuple[int, int | None, str, str, int, int, str, str | None]


class FlowEntry:
    """One flow in the table: cumulative counters plus this tick's."""

    __slots__ = (
        "key",
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
    )

    def __init__(self, r: FlowRecord, keys: tuple[_FullKey, _FullKey]) -> None:
        self.key = (
            f"{r.source}|{r.exporter or ''}|{r.proto}|{'' if r.vlan is None else r.vlan}|"
            f"{r.src}|{r.sport}|{r.dst}|{r.dport}"
        )
        self.proto, self.src, self.sport, self.dst, self.dport = (
            r.proto,
            r.src,
            r.sport,
            r.dst,
            r.dport,
        )
        self.vlan, self.source, self.exporter = r.vlan, r.source, r.exporter
        self.packets = self.bytes = self.packets_rev = self.bytes_rev = 0
        self.tick_packets = self.tick_bytes = self.tick_packets_rev = self.tick_bytes_rev = 0
        self.first, self.last = r.first, r.last
        self.tcp_flags = 0
        self.sampling = r.sampling
        self._keys = keys
        self._record: FlowRecord | None = None

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
    every flow that leaves the table (timeout or eviction) is kept for
    :meth:`drain_expired`, which is how the headless command prints *every* flow.
    """

    def __init__(
        self,
        max_flows: int = DEFAULT_MAX_FLOWS,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        active_timeout: float = DEFAULT_ACTIVE_TIMEOUT,
        keep_expired: bool = False,
    ) -> None:
        if max_flows < 1:
            raise ValueError("max_flows must be at least 1")
        self.max_flows = max_flows
        self.idle_timeout = idle_timeout
        self.active_timeout = active_timeout
        self.keep_expired = keep_expired
        self.stats = FlowTableStats()
        self._index: dict[_FullKey, tuple[FlowEntry, bool]] = {}
        self._lru: OrderedDict[str, FlowEntry] = OrderedDict()
        self._touched: list[FlowEntry] = []
        self._expired: list[FlowRecord] = []
        self._last_active_scan = 0.0

    def __len__(self) -> int:
        return len(self._lru)

    def merge(self, batch: FlowBatch, now: float) -> None:
        """Add one batch of deltas (any source) to the table."""
        self.merge_records(batch.records, now)

    def merge_records(self, records: Iterable[FlowRecord], now: float) -> None:
        """Add deltas to the table; ``now`` is only used to pick eviction victims."""
        index, lru, touched = self._index, self._lru, self._touched
        n = 0
        for r in records:
            n += 1
            hit = index.get((r.proto, r.vlan, r.src, r.dst, r.sport, r.dport, r.source, r.exporter))
            if hit is None:
                entry = self._create(r)
                rev = False
            else:
                entry, rev = hit
            if entry.tick_packets == 0 and entry.tick_packets_rev == 0:
                touched.append(entry)
            if rev:
                entry.packets += r.packets_rev
                entry.bytes += r.bytes_rev
                entry.packets_rev += r.packets
                entry.bytes_rev += r.bytes
                entry.tick_packets += r.packets_rev
                entry.tick_bytes += r.bytes_rev
                entry.tick_packets_rev += r.packets
                entry.tick_bytes_rev += r.bytes
            else:
                entry.packets += r.packets
                entry.bytes += r.bytes
                entry.packets_rev += r.packets_rev
                entry.bytes_rev += r.bytes_rev
                entry.tick_packets += r.packets
                entry.tick_bytes += r.bytes
                entry.tick_packets_rev += r.packets_rev
                entry.tick_bytes_rev += r.bytes_rev
            if r.first < entry.first:
                entry.first = r.first
            if r.last > entry.last:
                entry.last = r.last
            entry.tcp_flags |= r.tcp_flags
            entry.sampling = r.sampling
            entry._record = None
            lru.move_to_end(entry.key)
        self.stats.merged += n
        while len(lru) > self.max_flows:
            self._remove(next(iter(lru.values())))
            self.stats.evictions += 1

    def _create(self, r: FlowRecord) -> FlowEntry:
        fwd: _FullKey = (r.proto, r.vlan, r.src, r.dst, r.sport, r.dport, r.source, r.exporter)
        rsport, rdport = reverse_ports(r.proto, r.sport, r.dport)
        rev: _FullKey = (r.proto, r.vlan, r.dst, r.src, rsport, rdport, r.source, r.exporter)
        entry = FlowEntry(r, (fwd, rev))
        old = self._lru.get(entry.key)
        if old is not None:  # same id, other key spelling: keep one entry
            return old
        self._index[fwd] = (entry, False)
        self._index.setdefault(rev, (entry, True))
        self._lru[entry.key] = entry
        self.stats.created += 1
        return entry

    def _remove(self, entry: FlowEntry) -> None:
        del self._lru[entry.key]
        for k in entry._keys:
            hit = self._index.get(k)
            if hit is not None and hit[0] is entry:
                del self._index[k]
        if self.keep_expired:
            self._expired.append(entry.record)

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
                self._remove(oldest)
                ended += 1
            self.stats.idle_expired += ended
        if self.active_timeout > 0 and now - self._last_active_scan >= _ACTIVE_SCAN_EVERY:
            self._last_active_scan = now
            limit = now - self.active_timeout
            old = [e for e in lru.values() if e.first <= limit]
            for entry in old:
                self._remove(entry)
            self.stats.active_expired += len(old)
            ended += len(old)
        return ended

    def entries(self) -> Iterator[FlowEntry]:
        """Every live flow, least recently active first."""
        return iter(self._lru.values())

    def end_tick(self) -> None:
        """Reset the per-tick counters (only entries touched this tick)."""
        for entry in self._touched:
            entry.tick_packets = entry.tick_bytes = 0
            entry.tick_packets_rev = entry.tick_bytes_rev = 0
        self._touched = []

    def drain_expired(self) -> list[FlowRecord]:
        """Flows that left the table since the last call (with ``keep_expired``)."""
        out, self._expired = self._expired, []
        return out

    def records(self) -> list[FlowRecord]:
        """Every live flow as a cumulative record."""
        return [entry.record for entry in self._lru.values()]
