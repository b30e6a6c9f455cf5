"""The Flows pane's rows: filter, sort, aggregate and top-N over the whole flow table.

The order is decided here, over every flow, not by sorting widget rows: the UI gets at
most ``top_n`` rows. Rates are this tick's bytes each way; the average is the mean rate
over the last ten seconds, a true sliding window like iftop's 10 s column (a flow idle
for ten seconds averages exactly 0).
Processes and names are looked up lazily: only when the filter asks for them, for
the rows on screen, or for the aggregation by process.
"""

from __future__ import annotations

import contextlib
import heapq
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from typing import Protocol

from netop.engine.filter import Filter, parse_filter
from netop.engine.flowtable import FlowEntry, FlowTable
from netop.model import (
    FlowFields,
    FlowRecord,
    FlowRow,
    FlowsView,
    ViewSpec,
    proto_name,
)

#: Seconds the sliding average spans.
AVERAGE_SECONDS = 10.0
#: Ticks of rate history kept per flow on screen (for the detail screen's sparkline).
HISTORY_TICKS = 120


class ProcessLookup(Protocol):
    """What the view needs of process attribution (``netop.enrich.procs``)."""

    def lookup_flow(self, record: FlowFields) -> object: ...


class NameLookup(Protocol):
    """What the view needs of name resolution (``netop.enrich.names``)."""

    def lookup(self, address: str) -> str | None: ...


class LocalSide(Protocol):
    """Which end of a flow is this host (``netop.enrich.procs.LocalAddresses``)."""

    def local_side(self, record: FlowFields) -> str | None: ...


@dataclass
class Enrichment:
    """Optional lookups the engine wires in (the TUI does; tests may not)."""

    procs: ProcessLookup | None = None
    names: NameLookup | None = None
    local: LocalSide | None = None
    service: Callable[[int, int], str | None] | None = None

    def start(self) -> None:
        """Start the lookups' background threads (those that have one)."""
        for helper in (self.procs, self.names):
            start = getattr(helper, "start", None)
            if start is not None:
                start()

    def stop(self) -> None:
        """Stop them; best effort, at exit."""
        for helper in (self.procs, self.names):
            stop = getattr(helper, "stop", None)
            if stop is not None:
                with contextlib.suppress(Exception):
                    stop()


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
    """One flow as the filter, the sort and the aggregation see it.

    Made once per flow and kept on its table entry (``FlowEntry.view``): per tick only
    the flows that moved are updated, the others' rates are zero. ``_sum`` is the sum of
    the flow's rates over the ticks in the average's window; the builder takes a tick's
    rates out again when that tick leaves the window, so a tick costs per active flow,
    not per flow in the table.
    """

    __slots__ = ("entry", "rate_fwd", "rate_rev", "rate_bps", "_sum", "_last", "_view",
                 "proc", "ends", "settled", "retry_at", "group_mode", "group_label")

    def __init__(self, entry: FlowEntry, view: FlowViewBuilder) -> None:
        self.entry = entry
        self.rate_fwd = self.rate_rev = self.rate_bps = 0.0
        self._sum = 0.0
        self._last = -1  # the last tick with traffic
        self._view = view
        self.proc: ProcessLabel | None = None
        #: Each end's owner of a local-to-local flow, kept once named.
        self.ends: list[ProcessLabel] | None = None
        #: Whether ``proc`` is final (every owner there is to find was found).
        self.settled = False
        self.retry_at = 0.0
        self.group_mode = ""
        self.group_label = ""

    def update(self, fwd: float, rev: float) -> None:
        """This tick's rates; they join the window's sum."""
        self.rate_fwd = fwd
        self.rate_rev = rev
        self.rate_bps = total = fwd + rev
        self._sum += total
        self._last = self._view.tick

    def idle(self) -> None:
        """No packets this tick."""
        self.rate_fwd = self.rate_rev = self.rate_bps = 0.0

    @property
    def avg_bps(self) -> float:
        return self._sum / self._view.window

    @property
    def record(self) -> FlowFields:
        # The entry carries every field of a FlowRecord under the same names; building a
        # FlowRecord per flow per tick just to filter cost more than the whole tick budget.
        return self.entry

    @property
    def process(self) -> str:
        return self._view.process_of(self.entry).name

    @property
    def names(self) -> tuple[str, ...]:
        return self._view.names_of(self.entry)


_SORT_KEYS: dict[str, Callable[[_Facts], float | int | str]] = {
    "rate": attrgetter("rate_bps"),
    "avg": attrgetter("avg_bps"),
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


class _Group:
    """Sums over the flows of one group (a remote host, a process, a port...)."""

    __slots__ = ("label", "proto", "flows", "fwd", "rev", "avg", "bytes", "bytes_rev",
                 "packets", "packets_rev", "first", "last")

    def __init__(self, label: str, proto: int) -> None:
        self.label = label
        self.proto = proto
        self.flows = self.bytes = self.bytes_rev = self.packets = self.packets_rev = 0
        self.fwd = self.rev = self.avg = self.last = 0.0
        self.first = float("inf")


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
        self.tick = 0
        self.window = 1
        """Ticks in the average's window: AVERAGE_SECONDS at the current interval."""
        # Per tick in the window (oldest first): the flows that moved and their rates.
        self._moved: deque[tuple[list[_Facts], array[float]]] = deque()
        self._active: list[_Facts] = []
        self._all: list[_Facts] = []
        self._now = 0.0
        self._names_on = True
        self._history: dict[str, deque[float]] = {}

    # -- lookups ------------------------------------------------------------------------

    def facts(self, entry: FlowEntry) -> _Facts:
        """The flow's facts object, made on first sight."""
        found = entry.view
        if isinstance(found, _Facts) and found._view is self:
            return found
        made = _Facts(entry, self)
        entry.view = made
        self._all.append(made)
        return made

    def process_of(self, entry: FlowEntry) -> ProcessLabel:
        """The flow's process, looked up once and kept (unknowns retried every 2 s).

        A flow between two local processes shows both (``client → server``); each
        owner, once found, stays, so the label never flips between the two ends.
        """
        facts = self.facts(entry)
        known = facts.proc
        if known is not None and (facts.settled or self._now < facts.retry_at):
            return known
        procs = self.enrichment.procs
        if procs is None or entry.source != "capture":
            label = ProcessLabel("", "not a live local capture: no process to attribute")
            facts.settled = True
        else:
            record = entry
            both = getattr(procs, "lookup_ends", None)
            ends = both(record) if both is not None else None
            if ends is None:
                label = describe_process(procs.lookup_flow(record))
                facts.settled = bool(label.name)
            else:
                label = self._both_ends(facts, ends)
            if not facts.settled:
                facts.retry_at = self._now + 2.0
        facts.proc = label
        return label

    @staticmethod
    def _both_ends(facts: _Facts, found: tuple[object, object]) -> ProcessLabel:
        """``client → server`` from each end's owner, keeping those named before."""
        old = facts.ends or [ProcessLabel("", ""), ProcessLabel("", "")]
        ends = [was if was.name else describe_process(new)
                for was, new in zip(old, found, strict=True)]
        facts.ends = ends
        facts.settled = all(end.name for end in ends)
        if not any(end.name for end in ends):
            return ProcessLabel("", ends[0].note)
        name = " → ".join(end.name or "—" for end in ends)
        return ProcessLabel(name, " → ".join(end.note for end in ends))

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
        self._advance(table, interval)
        # The builder's own list of live flows: a plain list walks much faster than the
        # table's LRU-ordered dict, and a flow the table removed has ``view`` reset.
        facts = self._all = [f for f in self._all if f.entry.view is f]
        flt = _filter(spec.filter_text)
        chosen = facts if flt.matches_all else flt.compile().select(facts, now)
        if spec.aggregate == "connection":
            rows = self._connections(chosen, spec, flt.matches_all)
        else:
            rows = self._groups(chosen, spec)
        return FlowsView(rows=rows, total_flows=len(facts), matched_flows=len(chosen),
                         status=status, spec=spec, now=now)

    def _advance(self, table: FlowTable, interval: float) -> None:
        """One tick: rates of the flows that moved, zero for those that stopped; the
        tick that leaves the average's window takes its rates out of the sums."""
        self.tick += 1
        self.window = max(1, round(AVERAGE_SECONDS / interval))
        self._leave_window(self.tick - self.window)
        for facts in self._active:
            facts.idle()
        scale = 8.0 / interval
        active = []
        rates = array("d")
        if self.tick == 1:  # a table that had flows before this view: adopt them all
            for entry in table.entries():
                self.facts(entry)
        for entry in table.touched():
            facts = self.facts(entry)
            facts.update(entry.tick_bytes * scale, entry.tick_bytes_rev * scale)
            active.append(facts)
            rates.append(facts.rate_bps)
        self._active = active
        self._moved.append((active, rates))

    def _leave_window(self, cutoff: int) -> None:
        """Take the rates of ticks up to ``cutoff`` out of their flows' sums."""
        moved = self._moved
        while len(moved) >= self.window:
            flows, rates = moved.popleft()
            for facts, rate in zip(flows, rates, strict=True):
                if facts._last <= cutoff:
                    facts._sum = 0.0  # no traffic left in the window: exactly zero
                else:
                    facts._sum -= rate

    def _top(self, chosen: list[_Facts], spec: ViewSpec, everything: bool) -> list[_Facts]:
        """The first ``top_n`` of ``chosen`` in the spec's order."""
        key = _SORT_KEYS.get(spec.sort, _SORT_KEYS["rate"])
        if spec.sort == "rate" and spec.descending and len(self._active) >= spec.top_n:
            # Only flows that moved this tick have a rate: the top is among them.
            pool = self._active if everything else [f for f in chosen if f.rate_bps > 0]
            if len(pool) >= spec.top_n:
                return heapq.nlargest(spec.top_n, pool, key=key)
        pick = heapq.nlargest if spec.descending else heapq.nsmallest
        return pick(spec.top_n, chosen, key=key)

    def _connections(
        self, chosen: list[_Facts], spec: ViewSpec, everything: bool
    ) -> tuple[FlowRow, ...]:
        rows = []
        history: dict[str, deque[float]] = {}
        for f in self._top(chosen, spec, everything):
            proc = self.process_of(f.entry)
            names = self.names_of(f.entry)
            # Kept only for rows on screen: memory stays bounded by top_n.
            rates = self._history.get(f.entry.key) or deque(maxlen=HISTORY_TICKS)
            rates.append(f.rate_bps)
            history[f.entry.key] = rates
            rows.append(FlowRow(
                key=f.entry.key,
                record=f.entry.record,
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

    def _group_label(self, mode: str, f: _Facts) -> tuple[str, bool]:
        """The group of a flow in ``mode``, and whether that label can be kept."""
        e = f.entry
        if mode == "protocol":
            return proto_name(e.proto), True
        if mode == "port":
            service = self.enrichment.service if self._names_on else None
            name = service(e.dport, e.proto) if service is not None else None
            text = f"{e.dport}/{proto_name(e.proto)}"
            return (f"{text} ({name})" if name else text), True
        if mode == "process":
            name = self.process_of(e).name
            return (name or "—"), bool(name)
        # remote host: the end that is not this host (the destination when neither is)
        local = self.enrichment.local
        side = local.local_side(e) if local is not None else None
        remote = e.src if side == "dst" else e.dst
        names = self.enrichment.names
        if names is None or not self._names_on:
            return remote, True
        resolved = names.lookup(remote)
        return (f"{resolved} ({remote})" if resolved else remote), bool(resolved)

    def _groups(self, chosen: list[_Facts], spec: ViewSpec) -> tuple[FlowRow, ...]:
        mode = spec.aggregate
        cache_as = f"{mode}{'+names' if spec.names else ''}"
        groups: dict[str, _Group] = {}
        window = self.window
        # One tight loop: this runs over every flow each tick, so no method calls per flow.
        for f in chosen:
            if f.group_mode == cache_as:
                label = f.group_label
            else:
                label, stable = self._group_label(mode, f)
                if stable:
                    f.group_mode, f.group_label = cache_as, label
            group = groups.get(label)
            if group is None:
                group = groups[label] = _Group(label, f.entry.proto if mode == "protocol" else 0)
            e = f.entry
            group.flows += 1
            group.fwd += f.rate_fwd
            group.rev += f.rate_rev
            group.avg += f._sum / window
            group.bytes += e.bytes
            group.bytes_rev += e.bytes_rev
            group.packets += e.packets
            group.packets_rev += e.packets_rev
            if e.first < group.first:
                group.first = e.first
            if e.last > group.last:
                group.last = e.last
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
