"""The Flows pane's rows: filter, sort, aggregate and top-N over the whole flow table.

The order is decided here, over every flow, not by sorting widget rows: the UI gets at
most ``top_n`` rows. Rates are this tick's bytes each way; the average is an
exponentially weighted mean over about ten seconds, like iftop's 10 s column.
Processes and names are looked up lazily: only when the filter asks for them, for
the rows on screen, or for the aggregation by process.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from netop.engine.filter import Filter, parse_filter
from netop.engine.flowtable import FlowEntry, FlowTable
from netop.model import (
    FlowRecord,
    FlowRow,
    FlowsView,
    ViewSpec,
    proto_name,
)

#: Seconds the smoothed average spans.
AVERAGE_SECONDS = 10.0
#: Ticks of rate history kept per flow on screen (for the detail screen's sparkline).
HISTORY_TICKS = 120


class ProcessLookup(Protocol):
    """What the view needs of process attribution (``netop.sources.procs``)."""

    def lookup_flow(self, record: FlowRecord) -> object: ...


class NameLookup(Protocol):
    """What the view needs of name resolution (``netop.sources.names``)."""

    def lookup(self, address: str) -> str | None: ...


class LocalSide(Protocol):
    """Which end of a flow is this host (``netop.sources.procs.LocalAddresses``)."""

    def local_side(self, record: FlowRecord) -> str | None: ...


@dataclass
class Enrichment:
    """Optional lookups the engine wires in (the TUI does; tests may not)."""

    procs: ProcessLookup | None = None
    names: NameLookup | None = None
    local: LocalSide | None = None
    service: Callable[[int, int], str | None] | None = None


@dataclass(frozen=True, slots=True)
class ProcessLabel:
    """A flow's process as shown: ``name`` (empty when unknown) and a note."""

    name: str
    note: str


def describe_process(found: object) -> ProcessLabel:
    """``ProcessInfo`` → ``name (pid)`` and the user; ``Unknown`` → the reason."""
    pid = getattr(found, "pid", None)
    if pid is not None:
        return ProcessLabel(f"{getattr(found, 'name', '?')} ({pid})",
                            f"user {getattr(found, 'user', '?')}")
    return ProcessLabel("", str(getattr(found, "reason", "unknown")))


class _Facts:
    """One flow as the filter, the sort and the aggregation see it."""

    __slots__ = ("entry", "rate_fwd", "rate_rev", "rate_bps", "avg_bps", "_view")

    def __init__(self, entry: FlowEntry, fwd: float, rev: float, avg: float,
                 view: FlowViewBuilder) -> None:
        self.entry = entry
        self.rate_fwd = fwd
        self.rate_rev = rev
        self.rate_bps = fwd + rev
        self.avg_bps = avg
        self._view = view

    @property
    def record(self) -> FlowRecord:
        return self.entry.record

    @property
    def process(self) -> str:
        return self._view.process_of(self.entry).name

    @property
    def names(self) -> tuple[str, ...]:
        return self._view.names_of(self.entry)


_SORT_KEYS: dict[str, Callable[[_Facts], float | int | str]] = {
    "rate": lambda f: f.rate_bps,
    "avg": lambda f: f.avg_bps,
    "bytes": lambda f: f.entry.bytes + f.entry.bytes_rev,
    "packets": lambda f: f.entry.packets + f.entry.packets_rev,
    "age": lambda f: -f.entry.first,
    "proto": lambda f: f.entry.proto,
    "src": lambda f: f.entry.src,
    "dst": lambda f: f.entry.dst,
    "process": lambda f: f.process,
}


@lru_cache(maxsize=32)
def _filter(text: str) -> Filter:
    return parse_filter(text)


@dataclass
class _Group:
    label: str
    proto: int = 0
    flows: int = 0
    fwd: float = 0.0
    rev: float = 0.0
    avg: float = 0.0
    bytes: int = 0
    bytes_rev: int = 0
    packets: int = 0
    packets_rev: int = 0
    first: float = float("inf")
    last: float = 0.0

    def add(self, f: _Facts) -> None:
        e = f.entry
        self.flows += 1
        self.fwd += f.rate_fwd
        self.rev += f.rate_rev
        self.avg += f.avg_bps
        self.bytes += e.bytes
        self.bytes_rev += e.bytes_rev
        self.packets += e.packets
        self.packets_rev += e.packets_rev
        self.first = min(self.first, e.first)
        self.last = max(self.last, e.last)


_GROUP_SORT: dict[str, Callable[[_Group], float | int | str]] = {
    "rate": lambda g: g.fwd + g.rev,
    "avg": lambda g: g.avg,
    "bytes": lambda g: g.bytes + g.bytes_rev,
    "packets": lambda g: g.packets + g.packets_rev,
    "age": lambda g: -g.first,
}


class FlowViewBuilder:
    """Keeps averages and lookups between ticks and builds each tick's view."""

    def __init__(self, enrichment: Enrichment | None = None) -> None:
        self.enrichment = enrichment or Enrichment()
        self._avg: dict[str, float] = {}
        self._procs: dict[str, ProcessLabel] = {}
        self._retry_at: dict[str, float] = {}
        self._now = 0.0
        self._names_on = True
        self._history: dict[str, deque[float]] = {}

    # -- lookups ------------------------------------------------------------------------

    def process_of(self, entry: FlowEntry) -> ProcessLabel:
        """The flow's process, looked up once and kept (unknowns retried every 2 s)."""
        known = self._procs.get(entry.key)
        if known is not None and (known.name or self._now < self._retry_at.get(entry.key, 0)):
            return known
        procs = self.enrichment.procs
        if procs is None or entry.source != "capture":
            label = ProcessLabel("", "not a live local capture: no process to attribute")
        else:
            label = describe_process(procs.lookup_flow(entry.record))
            if not label.name:
                self._retry_at[entry.key] = self._now + 2.0
        self._procs[entry.key] = label
        return label

    def names_of(self, entry: FlowEntry) -> tuple[str, ...]:
        """Resolved names of (src, dst), ``""`` where not (yet) known."""
        names = self.enrichment.names
        if names is None or not self._names_on:
            return ()
        return (names.lookup(entry.src) or "", names.lookup(entry.dst) or "")

    # -- the view ---------------------------------------------------------------------

    def build(
        self, table: FlowTable, spec: ViewSpec, now: float, interval: float, status: str = ""
    ) -> FlowsView:
        """Rate, filter, aggregate, sort and cut the table to ``spec.top_n`` rows."""
        self._now = now
        self._names_on = spec.names
        facts = self._rate(table.entries(), interval)
        flt = _filter(spec.filter_text)
        chosen = facts if flt.matches_all else flt.compile().select(facts, now)
        if spec.aggregate == "connection":
            rows = self._connections(chosen, spec)
        else:
            rows = self._groups(chosen, spec)
        live = {f.entry.key for f in facts}
        if len(self._procs) > 2 * len(live) + 1000:  # forget flows that are gone
            self._procs = {k: v for k, v in self._procs.items() if k in live}
            self._retry_at = {k: v for k, v in self._retry_at.items() if k in live}
        return FlowsView(rows=rows, total_flows=len(facts), matched_flows=len(chosen),
                         status=status, spec=spec, now=now)

    def _rate(self, entries: Iterable[FlowEntry], interval: float) -> list[_Facts]:
        alpha = min(1.0, interval / AVERAGE_SECONDS)
        scale = 8.0 / interval
        averages: dict[str, float] = {}
        facts = []
        old = self._avg
        for entry in entries:
            fwd = entry.tick_bytes * scale
            rev = entry.tick_bytes_rev * scale
            avg = old.get(entry.key, 0.0)
            avg += alpha * (fwd + rev - avg)
            averages[entry.key] = avg
            facts.append(_Facts(entry, fwd, rev, avg, self))
        self._avg = averages
        return facts

    def _connections(self, chosen: list[_Facts], spec: ViewSpec) -> tuple[FlowRow, ...]:
        key = _SORT_KEYS.get(spec.sort, _SORT_KEYS["rate"])
        pick = heapq.nlargest if spec.descending else heapq.nsmallest
        rows = []
        history: dict[str, deque[float]] = {}
        for f in pick(spec.top_n, chosen, key=key):
            proc = self.process_of(f.entry)
            names = self.names_of(f.entry)
            # Kept only for rows on screen: memory stays bounded by top_n.
            rates = self._history.get(f.entry.key) or deque(maxlen=HISTORY_TICKS)
            rates.append(f.rate_bps)
            history[f.entry.key] = rates
            rows.append(FlowRow(
                key=f.entry.key,
                record=f.record,
                rate_bps=f.rate_fwd,
                rate_rev_bps=f.rate_rev,
                avg_bps=f.avg_bps,
                state=f.entry.state,
                process=proc.name,
                process_note=proc.note,
                src_name=names[0] if names else "",
                dst_name=names[1] if names else "",
                history=tuple(rates),
            ))
        self._history = history
        return tuple(rows)

    def _group_label(self, mode: str, f: _Facts) -> tuple[str, int]:
        e = f.entry
        if mode == "protocol":
            return proto_name(e.proto), e.proto
        if mode == "port":
            service = self.enrichment.service if self._names_on else None
            name = service(e.dport, e.proto) if service is not None else None
            text = f"{e.dport}/{proto_name(e.proto)}"
            return (f"{text} ({name})" if name else text), e.proto
        if mode == "process":
            return (self.process_of(e).name or "—"), 0
        # remote host: the end that is not this host (the destination when neither is)
        local = self.enrichment.local
        side = local.local_side(e.record) if local is not None else None
        remote = e.src if side == "dst" else e.dst
        names = self.enrichment.names
        name = names.lookup(remote) if names is not None and self._names_on else None
        return (f"{name} ({remote})" if name else remote), 0

    def _groups(self, chosen: list[_Facts], spec: ViewSpec) -> tuple[FlowRow, ...]:
        groups: dict[str, _Group] = {}
        for f in chosen:
            label, proto = self._group_label(spec.aggregate, f)
            group = groups.get(label)
            if group is None:
                group = groups[label] = _Group(label, proto)
            group.add(f)
        key: Callable[[_Group], float | int | str] = _GROUP_SORT.get(
            spec.sort, lambda g: g.label)
        pick = heapq.nlargest if spec.descending else heapq.nsmallest
        rows = []
        for g in pick(spec.top_n, groups.values(), key=key):
            record = FlowRecord(g.proto, g.label, 0, "", 0, None, g.packets, g.bytes,
                                g.packets_rev, g.bytes_rev, g.first, g.last)
            rows.append(FlowRow(key=f"{spec.aggregate}|{g.label}", record=record,
                                rate_bps=g.fwd, rate_rev_bps=g.rev, avg_bps=g.avg,
                                label=g.label, flows=g.flows))
        return tuple(rows)
