"""The engine's flow table: merges per-tick flow deltas from every source.

Flows are bidirectional: a delta for ``b->a`` joins the flow ``a->b`` with its
counters swapped, so unidirectional exporters (NetFlow v5) and the capture child land
in the same rows. The table is bounded (``max_flows``; the least recently active flow
is evicted first and counted), and flows end on NetFlow-style idle and active timeouts.

Cost per tick is proportional to the number of deltas merged, not to the table size:
recency is kept in a list ordered by activity (expiry pops from its front) and the
per-tick counters are reset only on the entries touched this tick. With the C extension
the index and the recency list are native (``FlowIndex``, ``Recency``: the merge finds a
flow by the record's own fields and moves it without a hash lookup); without it they are
a dict and an ``OrderedDict``, with the same results.
"""

from __future__ import annotations

import gc
import math
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from netop.config import DEFAULT_ACTIVE_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_FLOWS
from netop.model import AppFacts, FlowBatch, FlowKpi, FlowRecord
from netop.packet.decode import reverse_ports

_ACTIVE_SCAN_EVERY = 5.0

#: The table's key of a flow: the record's :class:`~netop.model.FlowKey` fields, then
#: (source, exporter) — ``record[:6] + record[13:15]``, in the record's own order.
TableKey = tuple[int, str, int, str, int, int | None, str, str | None]

#: The object slots the C merge (``_fastflow.merge``) sets, in its order.
_MERGED_SLOTS = ("sampling", "in_if", "out_if", "_record", "kpi", "app")
#: The entry slots a record sets (the rest start as FlowEntry.__init__ starts them), in
#: the order ``_fastflow.new_entry`` sets them.
_RECORD_SLOTS = ("proto", "src", "sport", "dst", "dport", "vlan", "source", "exporter",
                 "sampling", "_keys")


class _Counters:
    """An entry's counters on the pure-Python path. With the C extension they are its
    native ``Counters`` (same names): the merge then adds machine integers in place."""

    __slots__ = (
        "packets", "bytes", "packets_rev", "bytes_rev", "tick_packets", "tick_bytes",
        "tick_packets_rev", "tick_bytes_rev", "first", "last", "tcp_flags",
    )  # fmt: skip


def _merger() -> ModuleType | None:
    """The C merge (``_fastflow``), or ``None``: the Python path has the same results."""
    from netop.native import fastpath

    return fastpath.load()


if TYPE_CHECKING:
    _Base = _Counters
else:
    _Base = _Counters if _merger() is None else _merger().Counters


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


class FlowEntry(_Base):
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
        "sampling",
        "in_if",
        "out_if",
        "kpi",
        "app",
        "_keys",
        "_record",
        "view",
        "ended",
        "evicted",
        "handed",
        "resumed",
    )

    def __init__(self, record: FlowRecord, keys: tuple[TableKey, TableKey]) -> None:
        self._key: str | None = None
        self.proto, self.src, self.sport, self.dst, self.dport, self.vlan = record[:6]
        self.source, self.exporter, self.sampling = record[13:16]
        self.in_if: int | None = None
        self.out_if: int | None = None
        #: The latest KPIs the source measured (cumulative: each replaces the last).
        self.kpi: FlowKpi | None = None
        #: What the flow said at the application layer (each interval's facts merged in).
        self.app: AppFacts | None = None
        self.packets = self.bytes = self.packets_rev = self.bytes_rev = 0
        self.tick_packets = self.tick_bytes = self.tick_packets_rev = self.tick_bytes_rev = 0
        self.first, self.last = record.first, record.last
        self.tcp_flags = 0
        self._keys = keys
        self._record: FlowRecord | None = None
        #: What the flow view keeps per flow across ticks (rates, average); its own type.
        self.view: object = None
        #: Left the table on a timeout but kept for showing (``keep_ended``).
        self.ended = False
        #: Pushed out by a full table: gone for good, from the view too.
        self.evicted = False
        #: Counters when the flow was last handed out as expired (``keep_expired``), and
        #: the first packet after it was taken up again: a revived flow is handed out
        #: again with only what came since (an exporter must not count packets twice).
        self.handed: tuple[int, int, int, int] | None = None
        self.resumed: float | None = None

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
            # As FlowRecord's ``__new__`` makes it, without its Python call.
            self._record = tuple.__new__(FlowRecord, (
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
                self.in_if,
                self.out_if,
                self.kpi,
                self.app,
            ))
        return self._record


def _handout(entry: FlowEntry) -> FlowRecord:
    """The flow as it leaves the table: what it carried since it was last handed out."""
    record = entry.record
    base = entry.handed
    entry.handed = (record.packets, record.bytes, record.packets_rev, record.bytes_rev)
    if base is None:
        return record
    first = record.first if entry.resumed is None else entry.resumed
    return record._replace(packets=record.packets - base[0], bytes=record.bytes - base[1],
                           packets_rev=record.packets_rev - base[2],
                           bytes_rev=record.bytes_rev - base[3], first=first)


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
        self._ended: OrderedDict[TableKey, FlowEntry] = OrderedDict()
        self.stats = FlowTableStats()
        self._fast = _merger()
        # Key -> (entry, reverse): with the C extension an index the merge reads without
        # building a key tuple per delta; a dict otherwise.
        self._index: dict[TableKey, tuple[FlowEntry, bool]] = (
            {} if self._fast is None else self._fast.FlowIndex())
        # Recency, least recent first: with the C extension a list linked through the
        # entries themselves (the merge moves a flow without a hash lookup), else an
        # OrderedDict keyed by the entry (an identity hash: re-hashing the 8-field key
        # was a third of the merge). The table uses only what both have.
        self._lru: OrderedDict[FlowEntry, None] = (
            OrderedDict() if self._fast is None else self._fast.Recency())
        self._touched: list[FlowEntry] = []
        #: Entries made this tick (detection looks at new flows only for scans).
        self._created: list[FlowEntry] = []
        self._expired: list[FlowRecord] = []
        self._with_kpi: list[FlowEntry] | None = None
        self._last_active_scan = 0.0
        self._offsets = (
            self._fast.slot_offsets(FlowEntry, _MERGED_SLOTS) if self._fast is not None else ()
        )
        self._kpi_offset: int = (
            self._fast.slot_offsets(FlowEntry, ("kpi",))[0] if self._fast is not None else 0)
        # C makes entries as FlowEntry(record, keys) does, from a template's slots and the
        # record's fields, without the Python __init__ (a third of a new flow's cost).
        nothing: TableKey = (0, "", 0, "", 0, None, "", None)
        self._template = FlowEntry(FlowRecord(0, "", 0, "", 0, None, 0, 0, 0, 0, 0.0, 0.0, 0,
                                              ""), (nothing, nothing))  # fmt: skip
        self._entry_slots: tuple[tuple[int, ...], tuple[int, ...]] = (
            (self._fast.slot_offsets(FlowEntry, FlowEntry.__slots__),
             self._fast.slot_offsets(FlowEntry, _RECORD_SLOTS))
            if self._fast is not None else ((), ()))  # fmt: skip

    def __len__(self) -> int:
        return len(self._lru)

    def merge(self, batch: FlowBatch, now: float) -> float | None:
        """Add one batch of deltas (any source) to the table; the latest ``last`` of its
        records (None for an empty batch)."""
        return self.merge_records(batch.records, now)

    def merge_records(self, records: Sequence[FlowRecord], now: float) -> float | None:
        """Add deltas to the table; the latest ``last`` of them (None if there are none:
        the engine's clock follows a capture's, read here instead of in a pass of its
        own over every record). ``now`` is not used."""
        # A burst of new flows allocates hundreds of thousands of objects; the cyclic GC
        # would rescan them many times over (half the cost). Nothing here makes cycles,
        # so collection waits until the merge is done.
        self._with_kpi = None
        enabled = gc.isenabled()
        gc.disable()
        evictions = self.stats.evictions
        latest = -math.inf
        try:
            fast = self._fast
            if fast is None:
                for record in records:
                    self._merge_one(record)
                    latest = max(latest, record.last)
            else:
                # C merges every delta; for a new flow it has Python make the entry
                # (``_entry_of``) and goes on. It stops at a record it cannot take:
                # Python makes its entry and C tries again, else Python merges it.
                n, i, made = len(records), 0, -1
                lru = self._lru
                move = lru if isinstance(lru, fast.Recency) else lru.move_to_end
                touched, offsets, make = self._touched, self._offsets, self._entry_of
                while i < n:
                    i, last = fast.merge(self._index, records, i, touched, move, offsets, make)
                    latest = max(latest, last)
                    if i >= n:
                        break
                    if i == made:  # C cannot take it even now: Python does
                        self._merge_one(records[i])
                        latest = max(latest, records[i].last)
                        i += 1
                        continue
                    self._entry_of(records[i])
                    made = i
        finally:
            if enabled:
                gc.enable()
        self.stats.merged += len(records)
        if self.stats.evictions != evictions:
            # Flows this batch brought and evicted: the view must not adopt them again.
            self._touched = [e for e in self._touched if not e.evicted]
        return latest if records else None

    def _entry_of(self, r: FlowRecord) -> tuple[FlowEntry, bool]:
        """The entry of the record's flow, made (or revived) if need be; whether the
        record goes the other way."""
        key: TableKey = r[:6] + r[13:15]
        hit = self._index.get(key)
        if hit is None and self._ended:
            hit = self._revive(key)
            if hit is not None:
                hit[0].resumed = r.first
        if hit is not None:
            return hit
        entry = self._create(r, key)
        if len(self._lru) > self.max_flows:
            self._evict()
        return entry, False

    def _merge_one(self, r: FlowRecord) -> None:
        """Add one delta (the pure-Python path)."""
        entry, rev = self._entry_of(r)
        if entry.tick_packets == 0 and entry.tick_packets_rev == 0:
            self._touched.append(entry)
        p, b, pr, br, first, last, flags, _, _, sampling, in_if, out_if = r[6:18]
        kpi = r[18] if len(r) > 18 else None
        app = r[19] if len(r) > 19 else None
        if rev:
            p, b, pr, br, in_if, out_if = pr, br, p, b, out_if, in_if
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
        entry.sampling = sampling
        if in_if is not None:
            entry.in_if = in_if
        if out_if is not None:
            entry.out_if = out_if
        if kpi is not None:
            entry.kpi = kpi.swapped() if rev else kpi
        if app is not None:
            entry.app = app if entry.app is None else entry.app.merged(app)
        entry._record = None
        self._lru.move_to_end(entry)

    def _evict(self) -> None:
        """Make room at once, not after the batch: the table never holds more than
        ``max_flows`` + 1 flows however many new ones one batch brings. An evicted flow
        is not kept even with ``keep_expired`` (memory follows ``max_flows`` whatever
        floods the table); the count says what was lost."""
        entry = next(iter(self._lru))
        self._remove(entry, keep=False)
        entry.evicted = True
        self.stats.evictions += 1

    def _create(self, r: FlowRecord, fwd: TableKey) -> FlowEntry:
        proto, sport, dport = r.proto, r.sport, r.dport
        if proto == 1 or proto == 58:
            rsport, rdport = reverse_ports(proto, sport, dport)
        else:
            rsport, rdport = dport, sport
        rev: TableKey = (proto, r.dst, rsport, r.src, rdport, r.vlan, r.source, r.exporter)
        fast = self._fast
        entry: FlowEntry = (
            FlowEntry(r, (fwd, rev)) if fast is None
            else fast.new_entry(self._template, r, (fwd, rev), *self._entry_slots))
        self._index[fwd] = (entry, False)
        self._index.setdefault(rev, (entry, True))
        self._lru[entry] = None
        self._created.append(entry)
        self.stats.created += 1
        return entry

    def _remove(self, entry: FlowEntry, keep: bool = True) -> None:
        del self._lru[entry]
        for k in entry._keys:
            hit = self._index.get(k)
            if hit is not None and hit[0] is entry:
                del self._index[k]
        if self.keep_expired and keep:
            self._expired.append(_handout(entry))
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

    def _revive(self, key: TableKey) -> tuple[FlowEntry, bool] | None:
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
        self._lru[entry] = None
        return entry, key != fwd

    def expire(self, now: float) -> int:
        """End flows idle for ``idle_timeout`` or older than ``active_timeout``."""
        ended = 0
        lru = self._lru
        if self.idle_timeout > 0:
            limit = now - self.idle_timeout
            while lru:
                oldest = next(iter(lru))
                if oldest.last > limit:
                    break
                self._end(oldest)
                ended += 1
            self.stats.idle_expired += ended
        if self.active_timeout > 0 and now - self._last_active_scan >= _ACTIVE_SCAN_EVERY:
            self._last_active_scan = now
            limit = now - self.active_timeout
            old = [e for e in lru if e.first <= limit]
            for entry in old:
                self._end(entry)
            self.stats.active_expired += len(old)
            ended += len(old)
        return ended

    def entries(self) -> Iterator[FlowEntry]:
        """Every live flow, least recently active first."""
        return iter(self._lru)

    def ended(self) -> list[FlowEntry]:
        """Flows that timed out and are kept for showing (``keep_ended``), oldest first."""
        return list({id(e): e for e in self._ended.values()}.values())

    def touched(self) -> list[FlowEntry]:
        """Entries that received packets this tick (until :meth:`end_tick`)."""
        return self._touched

    def touched_with_kpi(self) -> list[FlowEntry]:
        """The entries touched this tick that carry KPIs (until :meth:`end_tick`): what
        the KPI checks read, found once a tick for all of them."""
        if self._with_kpi is None:
            touched = self._touched
            self._with_kpi = (
                [e for e in touched if e.kpi is not None] if self._fast is None
                else self._fast.with_slot(touched, self._kpi_offset))
        return self._with_kpi

    def created(self) -> list[FlowEntry]:
        """Entries made this tick (until :meth:`end_tick`), evicted ones included."""
        return self._created

    def end_tick(self) -> None:
        """Reset the per-tick counters (only entries touched this tick)."""
        self._created = []
        self._with_kpi = None
        if self._fast is not None:
            self._fast.reset_ticks(self._touched)
        else:
            for entry in self._touched:
                entry.tick_packets = entry.tick_bytes = 0
                entry.tick_packets_rev = entry.tick_bytes_rev = 0
        # Emptied, not made anew: a new list of every flow that moved would be rescanned
        # by each young collection of the cyclic GC (a cache miss per flow) until old.
        self._touched.clear()

    def end_all(self) -> None:
        """End every live flow now (as a timeout would)."""
        for entry in list(self._lru):
            self._end(entry)

    def drain_expired(self) -> list[FlowRecord]:
        """Flows that left the table since the last call (with ``keep_expired``)."""
        out, self._expired = self._expired, []
        return out

    def records(self) -> list[FlowRecord]:
        """Every live flow as a cumulative record."""
        return [entry.record for entry in self._lru]

