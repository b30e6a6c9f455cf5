"""The Flows pane's rows: filter, sort, aggregate and top-N over the whole flow table.

The order is decided here, over every flow, not by sorting widget rows: the UI gets at
most ``top_n`` rows. Rates are this tick's bytes each way; the average is the mean rate
over the last ten seconds, a true sliding window like iftop's 10 s column (a flow idle
for ten seconds averages exactly 0).
Processes and names are looked up lazily: only when the filter asks for them, for
the rows on screen, or for the aggregation by process.

An aggregation without a filter is kept from tick to tick: a tick changes its groups by
the flows that came, went or moved, so its cost follows the traffic, not the table
(with a filter, whose matches change every tick, the chosen flows are summed afresh).
"""

from __future__ import annotations

import contextlib
import gc
import heapq
from array import array
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Protocol, cast

from netop.engine.drill import members_filter, program_of
from netop.engine.flowtable import FlowEntry, FlowTable
from netop.model import (
    FlowFields,
    FlowRecord,
    FlowRow,
    FlowsView,
    ViewSpec,
    proto_name,
)
from netop.native import fastpath

#: Seconds the sliding average spans.
AVERAGE_SECONDS = 10.0
#: Ticks of rate history kept per flow on screen (for the detail screen's sparkline).
HISTORY_TICKS = 120
#: The window sums' attributes, in ``_fastflow.leave_window``'s order of ``which``.
_WINDOW_SUMS = ("_sum", "_sum2", "_sum40")
#: Flows whose group is not final (their process not found yet) looked at again per
#: tick in a kept aggregation, at most.
RESETTLE_PER_TICK = 1000


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
    """A flow's process as shown: ``name`` (empty when unknown), a note, and the user
    owning it (its login name, else the uid as text; empty when unknown)."""

    name: str
    note: str
    user: str = ""


#: The aggregations whose rows show what this host sent and received (nethogs'
#: columns) instead of each flow's → and ← directions.
ORIENTED = ("process", "user")


#: The process of a flow that is not a live capture on this host.
_NO_PROCESS = ProcessLabel("", "not a live local capture: no process to attribute")


def describe_process(found: object) -> ProcessLabel:
    """``ProcessInfo`` → ``name (pid)`` and the user; ``Unknown`` → the reason."""
    pid = getattr(found, "pid", None)
    if pid is not None:
        user = str(getattr(found, "user", "") or "")
        return ProcessLabel(f"{getattr(found, 'name', '?')} ({pid})",
                            f"user {user or '?'}", user)
    return ProcessLabel("", str(getattr(found, "reason", "unknown")))


class _FlowSums:
    """A flow's rates and sums on the pure-Python path. With the C extension they are
    its native ``FlowSums`` (same names): a tick then sets machine doubles in place."""

    __slots__ = ("rate_fwd", "rate_rev", "rate_bps", "_sum", "_last", "c_bytes",
                 "c_bytes_rev", "c_packets", "c_packets_rev", "c_sum", "_sum2", "_sum40")


class _GroupSums:
    """A group's sums on the pure-Python path (with the C extension: ``GroupSums``)."""

    __slots__ = ("fwd", "rev", "first", "last", "avg_sum", "bytes", "bytes_rev", "packets",
                 "packets_rev", "recent", "tick")


if TYPE_CHECKING:
    from netop.engine.filter import Filter

    _FactsBase = _FlowSums
    _GroupBase = _GroupSums
else:
    _native = fastpath.load()
    _FactsBase = _FlowSums if _native is None else _native.FlowSums
    _GroupBase = _GroupSums if _native is None else _native.GroupSums


class _Facts(_FactsBase):
    """One flow as the filter, the sort and the aggregation see it.

    Made once per flow and kept on its table entry (``FlowEntry.view``): per tick only
    the flows that moved are updated, the others' rates are zero. ``_sum`` is the sum of
    the flow's rates over the ticks in the average's window; the builder takes a tick's
    rates out again when that tick leaves the window, so a tick costs per active flow,
    not per flow in the table.
    """

    __slots__ = ("entry", "_view", "proc", "ends", "settled", "retry_at", "key_mode",
                 "group_key", "group", "inbound", "c_swap", "released")

    def __init__(self, entry: FlowEntry, view: FlowViewBuilder) -> None:
        self.entry = entry
        self.released = False
        self.rate_fwd = self.rate_rev = self.rate_bps = 0.0
        self._sum = self._sum2 = self._sum40 = 0.0
        self._last = -1  # the last tick with traffic
        self._view = view
        self.proc: ProcessLabel | None = None
        #: Each end's owner of a local-to-local flow, kept once named.
        self.ends: list[ProcessLabel] | None = None
        #: Whether ``proc`` is final (every owner there is to find was found).
        self.settled = False
        self.retry_at = 0.0
        #: The aggregation mode whose group key is kept in ``group_key`` (a stable one).
        self.key_mode = ""
        self.group_key: object = None
        #: The group of the running aggregation this flow is counted in, and what it
        #: added to it (so a tick adds only what changed since).
        self.group: _Group | None = None
        self.c_bytes = self.c_bytes_rev = self.c_packets = self.c_packets_rev = 0
        self.c_sum = 0.0
        #: Whether this host is the flow's responder (its → direction is received), once
        #: asked; and what that swap added to its group's ``swap`` (``bytes_rev - bytes``).
        self.inbound: bool | None = None
        self.c_swap = 0

    def lifetime(self) -> None:
        """Rates and average over the flow's whole life (a headless summary's)."""
        e = self.entry
        span = e.last - e.first
        scale = 8.0 / span if span > 0 else 0.0
        self.rate_fwd = e.bytes * scale
        self.rate_rev = e.bytes_rev * scale
        self.rate_bps = self.rate_fwd + self.rate_rev
        self._sum = self.rate_bps * self._view.window
        self._sum2 = self.rate_bps * self._view.window2
        self._sum40 = self.rate_bps * self._view.window40

    @property
    def avg_bps(self) -> float:
        return self._sum / self._view.window

    def release(self) -> None:
        """A flow the table removed: its rates may stay in the averages' windows for up
        to 40 s, its entry need not — under a churn of new flows the windows would
        otherwise keep 40 s of dead entries alive, beyond the table's limit."""
        del self.entry
        self.released = True

    @property
    def avg2_bps(self) -> float:
        """The mean rate over the last 2 s (ticks without traffic count as 0)."""
        return self._sum2 / self._view.window2

    @property
    def avg40_bps(self) -> float:
        """The mean rate over the last 40 s."""
        return self._sum40 / self._view.window40

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

    @property
    def user(self) -> str:
        return self._view.process_of(self.entry).user


#: The entry slots ``_fastflow.plain_rows`` reads, in its order (its P_* numbers).
PLAIN_SLOTS = ("_key", "proto", "src", "sport", "dst", "dport", "vlan", "source", "exporter",
               "sampling", "in_if", "out_if", "kpi", "app", "_record", "ended")


class _FastTick:
    """The C side of a tick (``_fastflow.advance``/``leave_window``/``clear_rates``):
    the same arithmetic in the same order as the Python loops, on the native sums and
    the object slots found by their offsets."""

    __slots__ = ("mod", "view", "entry", "facts_view", "group", "plain")

    def __init__(self, mod: Any) -> None:
        self.mod: Any = mod
        self.view = self.mod.slot_offsets(FlowEntry, ("view",))[0]
        self.entry, self.facts_view, self.group = self.mod.slot_offsets(
            _Facts, ("entry", "_view", "group"))
        self.plain = self.mod.slot_offsets(FlowEntry, PLAIN_SLOTS)

    def plain_rows(self, top: list[_Facts]) -> tuple[FlowRow, ...]:
        """:meth:`FlowViewBuilder._plain_rows`, in C."""
        if not top:
            return ()
        view = top[0]._view
        return cast(tuple[FlowRow, ...], self.mod.plain_rows(
            top, FlowRow, FlowRecord, self.entry, self.plain, _NO_PROCESS.name,
            _NO_PROCESS.note, view.window, view.window2, view.window40))

    def moved(self, agg: _Aggregation, active: list[_Facts], rates_only: bool) -> list[_Group]:
        """:meth:`_Aggregation.moved`, in C."""
        return cast(list[_Group], self.mod.agg_moved(agg.moving, active, agg.tick, rates_only,
                                                     self.group, self.entry))

    def resum(self, flows: list[_Facts]) -> None:
        """:meth:`_Aggregation.resum`, in C."""
        self.mod.agg_resum(flows, self.group)

    def prune(self, facts: list[_Facts]) -> list[_Facts]:
        """Take the facts whose flow left the table out of ``facts``; those."""
        return cast(list[_Facts], self.mod.prune(facts, self.entry, self.view))

    def lifetimes(self, facts: list[_Facts], view: FlowViewBuilder) -> None:
        """:meth:`_Facts.lifetime` of each flow, in C."""
        self.mod.lifetimes(facts, self.entry, view.window, view.window2, view.window40)

    def top_rate(self, n: int, pool: list[_Facts]) -> list[_Facts]:
        """``heapq.nlargest(n, pool, key=attrgetter("rate_bps"))``, in C."""
        return cast(list[_Facts], self.mod.top(pool, n))


def _fast_tick() -> _FastTick | None:
    """The C tick, or ``None`` (no compiler, or ``NETOP_PURE_PYTHON=1``)."""
    mod = fastpath.load()
    if mod is None or not hasattr(mod, "agg_resum"):
        return None
    return _FastTick(mod)


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
def _filter(text: str) -> Filter | None:
    """The parsed filter; ``None`` for none (every flow), without loading the parser:
    most runs never filter."""
    if not text:
        return None
    from netop.engine.filter import parse_filter

    return parse_filter(text)


class _Group(_GroupBase):
    """Sums over the flows of one group (a remote host, a process, a port...).

    ``key`` is what the flows have in common (an address, a port and protocol...); the
    label shown is made from it only for the groups on screen. ``avg_sum`` is the sum of
    the members' window sums and ``recent`` how many of them are not zero, so a group
    idle for the whole window averages exactly 0 however its sum was reached.
    """

    __slots__ = ("key", "label", "members", "flows", "dirty", "swap")

    def __init__(self, key: Hashable) -> None:
        self.key = key
        self.label = ""
        self.members: dict[_Facts, None] = {}
        self.flows = self.bytes = self.bytes_rev = self.packets = self.packets_rev = 0
        self.recent = 0
        self.fwd = self.rev = self.avg_sum = self.last = 0.0
        self.first = float("inf")
        #: A member that held ``first`` or ``last`` left: both are found again.
        self.dirty = False
        #: The last tick it had a rate in.
        self.tick = -1
        #: In an :data:`ORIENTED` view: the sum of ``bytes_rev - bytes`` over the members
        #: this host answers, so that ``bytes + swap`` is what this host sent.
        self.swap = 0


_GROUP_SORT: dict[str, Callable[[_Group], float | int | str]] = {
    "rate": lambda g: g.fwd + g.rev,
    "avg": attrgetter("avg_sum"),
    "bytes": lambda g: g.bytes + g.bytes_rev,
    "packets": lambda g: g.packets + g.packets_rev,
    "age": lambda g: -g.first,
}


class _Aggregation:
    """One aggregation mode kept over every live flow from tick to tick.

    A tick changes it by the flows that came, went or moved (and those whose group
    was not known yet), not by the whole table: a flow that did nothing adds nothing.
    """

    __slots__ = ("mode", "groups", "unsettled", "moving", "tick")

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.groups: dict[Hashable, _Group] = {}
        #: Flows whose group may still change (their process or name is not known yet).
        self.unsettled: list[_Facts] = []
        #: Groups with a rate this tick (only they can lead a sort by rate).
        self.moving: list[_Group] = []
        self.tick = 0

    def join(self, f: _Facts, key: Hashable) -> None:
        """Count ``f`` in the group ``key``."""
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = _Group(key)
        e = f.entry
        f.group = group
        group.members[f] = None
        group.flows += 1
        f.c_bytes, f.c_bytes_rev = e.bytes, e.bytes_rev
        f.c_packets, f.c_packets_rev = e.packets, e.packets_rev
        group.bytes += e.bytes
        group.bytes_rev += e.bytes_rev
        group.packets += e.packets
        group.packets_rev += e.packets_rev
        f.c_sum = f._sum
        if f._sum:
            group.avg_sum += f._sum
            group.recent += 1
        if e.first < group.first:
            group.first = e.first
        if e.last > group.last:
            group.last = e.last
        if f.inbound:
            f.c_swap = e.bytes_rev - e.bytes
            group.swap += f.c_swap

    def leave(self, f: _Facts) -> None:
        """Take ``f`` out of its group again (it left the table, or its group changed)."""
        group = f.group
        f.group = None
        if group is None or self.groups.get(group.key) is not group:
            return  # counted by an aggregation that is gone
        del group.members[f]
        group.flows -= 1
        if not group.flows:
            del self.groups[group.key]
            return
        group.bytes -= f.c_bytes
        group.bytes_rev -= f.c_bytes_rev
        group.packets -= f.c_packets
        group.packets_rev -= f.c_packets_rev
        if f.inbound:
            group.swap -= f.c_swap
            f.c_swap = 0
        if f.c_sum:
            group.recent -= 1
            group.avg_sum = group.avg_sum - f.c_sum if group.recent else 0.0
        e = f.entry
        if e.first <= group.first or e.last >= group.last:
            group.dirty = True

    def moved(
        self, active: list[_Facts], rates_only: bool = False, fast: _FastTick | None = None
    ) -> list[_Group]:
        """Add what the flows that moved this tick added to their counters and window
        sums, and sum their rates; the groups that moved, each once (``fast``: in C)."""
        if fast is not None:
            self.tick += 1
            self.moving = fast.moved(self, active, rates_only)
            return self.moving
        for was in self.moving:
            was.fwd = was.rev = 0.0
        moving = []
        self.tick = tick = self.tick + 1
        for f in active:
            group = f.group
            if group is None:
                continue
            if group.tick != tick:
                group.tick = tick
                moving.append(group)
            group.fwd += f.rate_fwd
            group.rev += f.rate_rev
            if rates_only:
                continue
            e = f.entry
            group.bytes += e.bytes - f.c_bytes
            group.bytes_rev += e.bytes_rev - f.c_bytes_rev
            group.packets += e.packets - f.c_packets
            group.packets_rev += e.packets_rev - f.c_packets_rev
            f.c_bytes, f.c_bytes_rev = e.bytes, e.bytes_rev
            f.c_packets, f.c_packets_rev = e.packets, e.packets_rev
            if e.first < group.first:
                group.first = e.first
            if e.last > group.last:
                group.last = e.last
            if f._sum != f.c_sum:
                if not f.c_sum:
                    group.recent += 1
                group.avg_sum = group.avg_sum + (f._sum - f.c_sum) if group.recent else 0.0
                f.c_sum = f._sum
        self.moving = moving
        return moving

    def resum(self, flows: list[_Facts], fast: _FastTick | None = None) -> None:
        """Follow the window sums of flows whose sum changed as a tick left the window
        (``fast``: in C)."""
        if fast is not None:
            fast.resum(flows)
            return
        for f in flows:
            group = f.group
            if group is None or f._sum == f.c_sum:
                continue
            if not f.c_sum:
                group.recent += 1
            elif not f._sum:
                group.recent -= 1
            group.avg_sum = group.avg_sum + (f._sum - f.c_sum) if group.recent else 0.0
            f.c_sum = f._sum

    def settle(self) -> None:
        """Find ``first`` and ``last`` again where the member that held one left."""
        for group in self.groups.values():
            if group.dirty:
                group.dirty = False
                group.first = min(f.entry.first for f in group.members)
                group.last = max(f.entry.last for f in group.members)


class FlowViewBuilder:
    """Keeps averages and lookups between ticks and builds each tick's view."""

    def __init__(self, enrichment: Enrichment | None = None) -> None:
        self.enrichment = enrichment or Enrichment()
        self.tick = 0
        self.window = 1
        """Ticks in the average's window: AVERAGE_SECONDS at the current interval."""
        self.window2 = 1
        self.window40 = 1
        """Ticks in the Avg 2s and Avg 40s windows."""
        # Per tick in the longest window (oldest first): its number, the flows that moved
        # and their rates. The sums of every flow are kept, not only of the rows shown:
        # a row that comes on screen shows its own averages at once.
        self._moved: deque[tuple[int, list[_Facts], array[float]]] = deque()
        #: The last tick taken out of the 10 s, 2 s and 40 s windows' sums.
        self._out = [0, 0, 0]
        # Lists of flows that left the longest window: one is refilled as the next active.
        self._retired: list[list[_Facts]] = []
        #: Flows released since the windows were last compacted.
        self._released = 0
        self._active: list[_Facts] = []
        self._all: list[_Facts] = []
        self._now = 0.0
        self._names_on = True
        self._history: dict[str, deque[float]] = {}
        self._rtt_history: dict[str, deque[float]] = {}
        # Flows first seen since the last build, and those whose window sum changed as
        # a tick left the window: what a kept aggregation has to take in.
        self._new: list[_Facts] = []
        # Each a list of the flows of one tick that left the window. Lists of every flow
        # are kept and refilled, not made anew: a new one is rescanned by each young
        # collection of the cyclic GC (a cache miss per flow) until it is old.
        self._left: list[list[_Facts]] = []
        self._spare: list[_Facts] = []
        self._agg: _Aggregation | None = None
        #: This build applies the spec again without a tick (see :meth:`build`).
        self._frozen = False
        #: The rate swaps of the groups :meth:`_filtered_groups` made last, and of the
        #: kept aggregation's groups this tick (:meth:`_follow_swaps`).
        self._fresh_swaps: dict[_Group, float] = {}
        self._kept_swaps: dict[_Group, float] = {}
        self._fast = _fast_tick()

    @property
    def tick_bps(self) -> float:
        """Every flow's rate in the last tick, summed (bits/s, both ways); asked for
        only by a played file's totals line, so not summed on every tick."""
        return sum(self._moved[-1][2]) if self._moved else 0.0

    # -- lookups ------------------------------------------------------------------------

    def facts(self, entry: FlowEntry) -> _Facts:
        """The flow's facts object, made on first sight."""
        found = entry.view
        if isinstance(found, _Facts) and found._view is self:
            return found
        made = _Facts(entry, self)
        entry.view = made
        self._all.append(made)
        self._new.append(made)
        return made

    def process_of(self, entry: FlowEntry) -> ProcessLabel:
        """The flow's process, looked up once and kept (unknowns retried every 2 s).

        A flow between two local processes shows both (``client → server``); each
        owner, once found, stays, so the label never flips between the two ends.
        """
        procs = self.enrichment.procs
        if procs is None or entry.source != "capture":
            return _NO_PROCESS
        facts = self.facts(entry)
        known = facts.proc
        if known is not None and (facts.settled or self._now < facts.retry_at):
            return known
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
        users = [end.user or "—" for end in ends]
        user = users[0] if len(set(users)) == 1 else " → ".join(users)
        return ProcessLabel(name, " → ".join(end.note for end in ends), user)

    def names_of(self, entry: FlowEntry) -> tuple[str, ...]:
        """Resolved names of (src, dst), ``""`` where not (yet) known."""
        names = self.enrichment.names
        if names is None or not self._names_on:
            return ()
        return (names.lookup(entry.src) or "", names.lookup(entry.dst) or "")

    # -- the view ---------------------------------------------------------------------

    def build(
        self, table: FlowTable, spec: ViewSpec, now: float, interval: float, status: str = "",
        advance: bool = True,
    ) -> FlowsView:
        """Rate, filter, aggregate, sort and cut the table to ``spec.top_n`` rows.

        ``advance``: a tick went by; without (a played file paused or at its end: no
        time and no packets), rates, averages and histories stay as they were and only
        the spec is applied again."""
        self._now = now
        self._names_on = spec.names
        self._frozen = not advance
        if advance:
            self._advance(table, interval)
        # The builder's own list of live flows: a plain list walks much faster than the
        # table's LRU-ordered dict, and a flow the table removed has ``view`` reset.
        facts = self._all
        gone = self._prune(facts)
        flt = _filter(spec.filter_text)
        everything = flt is None or flt.matches_all
        chosen = facts if flt is None or everything else flt.compile().select(facts, now)
        if spec.aggregate == "connection":
            self._agg = None
            rows = self._connections(chosen, spec, everything)
        elif everything:
            agg = self._kept_groups(spec.aggregate, facts, gone)
            rows = self._group_rows(list(agg.groups.values()), spec, agg.moving)
        else:
            self._agg = None
            rows = self._group_rows(self._filtered_groups(spec.aggregate, chosen), spec, None)
        self._new = []
        self._left.clear()
        for f in gone:
            f.release()
        self._released += len(gone)
        if self._released * 4 >= sum(len(m[1]) for m in self._moved) > 0:
            self._compact_windows()
        if self._retired:  # the first list of those that left every window: next active
            self._spare = self._retired[0]
            self._spare.clear()
            self._retired.clear()
        return FlowsView(rows=rows, total_flows=len(facts), matched_flows=len(chosen),
                         status=status, spec=spec, now=now)

    def _prune(self, facts: list[_Facts]) -> list[_Facts]:
        """Take the flows the table removed (their entry's ``view`` was reset) out of the
        live list, in place; return them, in their order."""
        if self._fast is not None:
            return self._fast.prune(facts)
        gone = [f for f in facts if f.entry.view is not f]
        if gone:
            facts[:] = [f for f in facts if f.entry.view is f]
        return gone

    def summary(self, table: FlowTable, spec: ViewSpec, now: float) -> FlowsView:
        """The view at the end of a headless run: every flow the table holds or kept as
        ended, with :meth:`_Facts.lifetime` rates, through the same filter, sort,
        aggregation and cut as :meth:`build`."""
        # A facts object and a row per flow, all at once: nothing here makes cycles, and
        # the cyclic GC rescanning them as they pile up was a third of the cost.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._summary(table, spec, now)
        finally:
            if enabled:
                gc.enable()

    def _summary(self, table: FlowTable, spec: ViewSpec, now: float) -> FlowsView:
        self._now = now
        self._names_on = spec.names
        for entry in table.entries():
            self.facts(entry)
        for entry in table.ended():
            self.facts(entry)
        facts = self._all = [f for f in self._all if f.entry.view is f]
        if self._fast is not None:
            self._fast.lifetimes(facts, self)
        else:
            for f in facts:
                f.lifetime()
        self._active = []
        flt = _filter(spec.filter_text)
        everything = flt is None or flt.matches_all
        chosen = facts if flt is None or everything else flt.compile().select(facts, now)
        self._agg = None
        if spec.aggregate == "connection":
            rows = self._connections(chosen, spec, everything, history=False)
        else:
            rows = self._group_rows(self._filtered_groups(spec.aggregate, chosen), spec, None)
        return FlowsView(rows=rows, total_flows=len(facts), matched_flows=len(chosen),
                         spec=spec, now=now)

    def _advance(self, table: FlowTable, interval: float) -> None:
        """One tick: rates of the flows that moved, zero for those that stopped; the
        tick that leaves the average's window takes its rates out of the sums."""
        self.tick += 1
        self.window = max(1, round(AVERAGE_SECONDS / interval))
        self.window2 = max(1, round(2.0 / interval))
        self.window40 = max(1, round(40.0 / interval))
        self._leave_windows()
        fast = self._fast
        before = self._active
        if fast is None:
            for facts in before:  # no packets this tick
                facts.rate_fwd = facts.rate_rev = facts.rate_bps = 0.0
        scale = 8.0 / interval
        tick = self.tick
        active, self._spare = self._spare, []
        if tick == 1:  # a table that had flows before this view: adopt them all
            for entry in table.entries():
                self.facts(entry)
        touched = table.touched()
        if fast is not None:
            rates = array("d", bytes(8 * len(touched)))
            i, n = 0, len(touched)
            while i < n:
                i = fast.mod.advance(touched, i, fast.view, _Facts, self, fast.facts_view,
                                     scale, tick, active, rates)
                if i < n:  # a flow new to this view: made here, C goes on from it
                    self.facts(touched[i])
            del rates[len(active):]
            fast.mod.clear_rates(before, tick)  # those that did not move again
        else:
            rates = array("d")
            # Inline, no method calls per flow: every flow of an all-active tick passes here.
            for entry in touched:
                found = entry.view
                facts = found if isinstance(found, _Facts) and found._view is self else (
                    self.facts(entry))
                facts.rate_fwd = fwd = entry.tick_bytes * scale
                facts.rate_rev = rev = entry.tick_bytes_rev * scale
                facts.rate_bps = total = fwd + rev
                facts._sum += total  # this tick's rates join the windows' sums
                facts._sum2 += total
                facts._sum40 += total
                facts._last = tick
                active.append(facts)
                rates.append(total)
        self._active = active
        self._moved.append((tick, active, rates))

    def _compact_windows(self) -> None:
        """Take the flows the table removed out of the windows' per-tick lists (their
        sums are never read again) once they are a quarter of them: under a churn of
        short flows the 40 s window would otherwise hold 40 s of them."""
        for _, flows, rates in self._moved:
            keep = [i for i, f in enumerate(flows) if not f.released]
            if len(keep) < len(flows):
                flows[:] = [flows[i] for i in keep]
                rates[:] = array("d", [rates[i] for i in keep])
        self._released = 0

    def _leave_windows(self) -> None:
        """Take the rates of the ticks that left each average's window out of its sums
        (those that left the 10 s one: in ``_left``, for a kept aggregation); a tick that
        left every window is let go."""
        tick = self.tick
        for which, size in enumerate((self.window, self.window2, self.window40)):
            cutoff, done = tick - size, self._out[which]
            if cutoff <= done:
                continue
            for t, flows, rates in self._moved:
                if t > cutoff:
                    break
                if t > done:
                    if which == 0:
                        self._left.append(flows)
                    self._leave(flows, rates, cutoff, which)
            self._out[which] = cutoff
        low = min(self._out)
        moved = self._moved
        while moved and moved[0][0] <= low:
            self._retired.append(moved.popleft()[1])

    def _leave(self, flows: list[_Facts], rates: array[float], cutoff: int,
               which: int) -> None:
        """One tick's rates out of window ``which``'s sums (0: 10 s, 1: 2 s, 2: 40 s),
        exactly zero for a flow whose last traffic left it."""
        if self._fast is not None:
            self._fast.mod.leave_window(flows, rates, cutoff, which)
            return
        name = _WINDOW_SUMS[which]
        for facts, rate in zip(flows, rates, strict=True):
            if facts._last <= cutoff:
                setattr(facts, name, 0.0)
            else:
                setattr(facts, name, getattr(facts, name) - rate)

    def _top(self, chosen: list[_Facts], spec: ViewSpec, everything: bool) -> list[_Facts]:
        """The first ``top_n`` of ``chosen`` in the spec's order."""
        key = _SORT_KEYS.get(spec.sort, _SORT_KEYS["rate"])
        if spec.sort == "rate" and spec.descending and len(self._active) >= spec.top_n:
            # Only flows that moved this tick have a rate: the top is among them.
            pool = self._active if everything else [f for f in chosen if f.rate_bps > 0]
            if len(pool) >= spec.top_n:
                if self._fast is not None:
                    return self._fast.top_rate(spec.top_n, pool)
                return heapq.nlargest(spec.top_n, pool, key=key)
        if spec.sort == "rate" and spec.descending and self._fast is not None:
            return self._fast.top_rate(spec.top_n, chosen)
        pick = heapq.nlargest if spec.descending else heapq.nsmallest
        return pick(spec.top_n, chosen, key=key)

    def _connections(
        self, chosen: list[_Facts], spec: ViewSpec, everything: bool, history: bool = True
    ) -> tuple[FlowRow, ...]:
        rows = []
        histories: dict[str, deque[float]] = {}
        rtt_histories: dict[str, deque[float]] = {}
        rates: tuple[float, ...] | deque[float] = ()
        rtts: tuple[float, ...] | deque[float] = ()
        top = self._top(chosen, spec, everything)
        if spec.sort == "rate":
            # Flows at the same rate (idle ones: zero) by last activity, newest first,
            # instead of the heap's arbitrary order.
            top.sort(key=lambda f: (f.rate_bps, f.entry.last), reverse=spec.descending)
        service = self.enrichment.service if spec.names else None
        if not history and self._plain(spec):
            return self._plain_rows(top)
        for f in top:
            proc = self.process_of(f.entry)
            names = self.names_of(f.entry)
            if history:
                # Kept only for rows on screen: memory stays bounded by top_n.
                rates = self._history.get(f.entry.key) or deque(maxlen=HISTORY_TICKS)
                if not self._frozen or not rates:
                    rates.append(f.rate_bps)
                histories[f.entry.key] = rates
                rtts = self._rtt_of(f, rtt_histories)
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
                remote=self._remote_of(f.entry),
                service=(service(f.entry.dport, f.entry.proto) or "") if service else "",
                rtt_history=tuple(rtts),
                avg2_bps=f.avg2_bps,
                avg40_bps=f.avg40_bps,
            ))
        if history:
            self._history = histories
            self._rtt_history = rtt_histories
        return tuple(rows)

    def _plain(self, spec: ViewSpec) -> bool:
        """Whether no row needs a lookup: no processes, names, local addresses or
        services (a file's summary, as ``flows -r`` makes it)."""
        e = self.enrichment
        return e.procs is None and e.local is None and (
            not spec.names or (e.names is None and e.service is None))

    def _plain_rows(self, top: list[_Facts]) -> tuple[FlowRow, ...]:
        """The rows of :meth:`_connections` without history or lookups, as it makes
        them (no process, names or service; the remote end is the destination), with no
        call per flow to find that out: a summary has a row per flow. In C when the
        extension is there (``_fastflow.plain_rows``: the same rows)."""
        if self._fast is not None:
            return self._fast.plain_rows(top)
        name, note = _NO_PROCESS.name, _NO_PROCESS.note
        # The row made as FlowRow's own ``__new__`` makes it, without its Python call; the
        # fields in FlowRow's order (a test compares with a row made by keywords).
        new = tuple.__new__
        rows = []
        for f in top:
            e = f.entry
            rows.append(new(FlowRow, (
                e.key, e.record, f.rate_fwd, f.rate_rev, f.avg_bps, e.state, name, note,
                "", "", "", 1, (), e.dst, "", "", (), f.avg2_bps, f.avg40_bps)))
        return tuple(rows)

    def _rtt_of(self, f: _Facts, kept: dict[str, deque[float]]) -> deque[float] | tuple[()]:
        """The flow's ack RTT series with this tick's value appended (none: no sample)."""
        rtts = self._rtt_history.get(f.entry.key)
        kpi = f.entry.record.kpi
        # Only a tick the flow moved in: an idle flow's median is not a new measurement.
        if kpi is not None and kpi.ack_rtt_ms is not None and f.rate_bps > 0:
            rtts = rtts if rtts is not None else deque(maxlen=HISTORY_TICKS)
            rtts.append(kpi.ack_rtt_ms)
        if rtts is None:
            return ()
        kept[f.entry.key] = rtts
        return rtts

    def _group_key(self, mode: str, f: _Facts) -> tuple[Hashable, bool]:
        """The group of a flow in ``mode``, and whether it can be kept (it cannot while
        the flow's process is still being looked for)."""
        e = f.entry
        if mode == "protocol":
            return e.proto, True
        if mode == "port":
            return (e.dport, e.proto), True
        if mode in ORIENTED:
            if f.inbound is None:
                local = self.enrichment.local
                f.inbound = local is not None and local.local_side(e) == "dst"
            # Without process attribution the label is final: no owner will ever be found.
            # By program: every python3 one row, its PIDs in the member flows (enter).
            label = self.process_of(e)
            key = program_of(label.name or "—") if mode == "process" else label.user or "—"
            return key, f.settled or label is _NO_PROCESS
        return self._remote_of(e), True

    def _remote_of(self, e: FlowEntry) -> str:
        """The end that is not this host (the destination when neither is)."""
        local = self.enrichment.local
        side = local.local_side(e) if local is not None else None
        return e.src if side == "dst" else e.dst

    def _key_of(self, mode: str, f: _Facts) -> tuple[Hashable, bool]:
        """``_group_key``, kept on the flow once it is stable."""
        if f.key_mode == mode:
            return f.group_key, True
        key, stable = self._group_key(mode, f)
        if stable:
            f.key_mode, f.group_key = mode, key
        return key, stable

    def _label(self, mode: str, key: Hashable) -> str:
        """What a group is called on screen (names only for the groups shown)."""
        if mode == "protocol":
            return proto_name(cast(int, key))
        if mode == "port":
            dport, proto = cast(tuple[int, int], key)
            service = self.enrichment.service if self._names_on else None
            name = service(dport, proto) if service is not None else None
            text = f"{dport}/{proto_name(proto)}"
            return f"{text} ({name})" if name else text
        if mode in ORIENTED:
            return cast(str, key)
        remote = cast(str, key)
        names = self.enrichment.names
        resolved = names.lookup(remote) if names is not None and self._names_on else None
        return f"{resolved} ({remote})" if resolved else remote

    def _kept_groups(
        self, mode: str, alive: list[_Facts], gone: list[_Facts]
    ) -> _Aggregation:
        """Every live flow's group, changed by this tick's arrivals, departures and moves
        (the whole table is walked only when the mode changes)."""
        agg = self._agg
        if agg is None or agg.mode != mode:
            agg = self._agg = _Aggregation(mode)
            for f in alive:
                key, stable = self._key_of(mode, f)
                agg.join(f, key)
                if not stable:
                    agg.unsettled.append(f)
        else:
            for f in gone:
                agg.leave(f)
            for f in self._new:
                if f.entry.view is f:
                    key, stable = self._key_of(mode, f)
                    agg.join(f, key)
                    if not stable:
                        agg.unsettled.append(f)
            if agg.unsettled:
                self._resettle(agg)
            agg.moved(self._active, fast=self._fast)
            if mode in ORIENTED:
                self._follow_swaps()
            for flows in self._left:
                agg.resum(flows, self._fast)
            agg.settle()
            return agg
        agg.moved(self._active, rates_only=True, fast=self._fast)
        if mode in ORIENTED:
            self._follow_swaps()
        return agg

    def _follow_swaps(self) -> None:
        """Keep each group's ``swap`` up with the bytes its answered flows moved this
        tick, and sum their ``rate_rev - rate_fwd`` per group (only the flows that
        moved can have changed either): one pass over the flows that moved."""
        swaps: dict[_Group, float] = {}
        get = swaps.get
        for f in self._active:
            if f.inbound:
                group = f.group
                if group is not None:
                    e = f.entry
                    swap = e.bytes_rev - e.bytes
                    group.swap += swap - f.c_swap
                    f.c_swap = swap
                    swaps[group] = get(group, 0.0) + f.rate_rev - f.rate_fwd
        self._kept_swaps = swaps

    def _resettle(self, agg: _Aggregation) -> None:
        """Look again for the groups of flows not settled yet; move those that changed.

        At most :data:`RESETTLE_PER_TICK` are looked for in one tick: the flows whose
        process is not found all came due together (every 2 s) and each look is a
        lookup. Those looked for go to the back, so the others' turn comes next.
        """
        waiting: list[_Facts] = []
        looked: list[_Facts] = []
        now = self._now
        budget = RESETTLE_PER_TICK
        for f in agg.unsettled:
            if f.entry.view is not f:
                continue
            if now < f.retry_at or not budget:  # its process is looked for again later
                waiting.append(f)
                continue
            budget -= 1
            key, stable = self._key_of(agg.mode, f)
            group = f.group
            if group is None or group.key != key:
                agg.leave(f)
                agg.join(f, key)
            if not stable:
                looked.append(f)
        agg.unsettled = waiting + looked if looked else waiting

    def _filtered_groups(self, mode: str, chosen: list[_Facts]) -> list[_Group]:
        """The groups of the flows a filter chose, summed afresh (the filter's matches
        change from tick to tick)."""
        groups: dict[Hashable, _Group] = {}
        key_of = self._key_of
        swaps: dict[_Group, float] = {}
        self._fresh_swaps = swaps
        oriented = mode in ORIENTED
        # One tight loop: this runs over every chosen flow each tick.
        for f in chosen:
            key = f.group_key if f.key_mode == mode else key_of(mode, f)[0]
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group(key)
            e = f.entry
            group.flows += 1
            group.fwd += f.rate_fwd
            group.rev += f.rate_rev
            if f._sum:
                group.avg_sum += f._sum
                group.recent += 1
            group.bytes += e.bytes
            group.bytes_rev += e.bytes_rev
            group.packets += e.packets
            group.packets_rev += e.packets_rev
            if e.first < group.first:
                group.first = e.first
            if e.last > group.last:
                group.last = e.last
            if oriented and f.inbound:
                group.swap += e.bytes_rev - e.bytes
                swaps[group] = swaps.get(group, 0.0) + f.rate_rev - f.rate_fwd
        return list(groups.values())

    def _group_rows(
        self, groups: list[_Group], spec: ViewSpec, moving: list[_Group] | None
    ) -> tuple[FlowRow, ...]:
        """The first ``spec.top_n`` groups in the spec's order, as rows (by rate, from
        the groups that moved when there are enough of them: the others' rate is 0)."""
        mode = spec.aggregate
        if (moving is not None and spec.sort == "rate" and spec.descending
                and len(moving) >= spec.top_n):
            groups = moving
        sort = _GROUP_SORT.get(spec.sort)
        if sort is None:  # by name: every group needs its label
            for g in groups:
                g.label = self._label(mode, g.key)
            sort = attrgetter("label")
        pick = heapq.nlargest if spec.descending else heapq.nsmallest
        rows = []
        window = self.window
        top = pick(spec.top_n, groups, key=sort)
        oriented = mode in ORIENTED
        swaps = (self._kept_swaps if moving is not None else self._fresh_swaps
                 ) if oriented else {}
        for g in top:
            label = g.label = self._label(mode, g.key)
            proto = cast(int, g.key) if mode == "protocol" else 0
            # Oriented: → is what this host sent, ← what it received (nethogs).
            swap, rate_swap = (g.swap, swaps.get(g, 0.0)) if oriented else (0, 0.0)
            record = FlowRecord(proto, label, 0, "", 0, None, g.packets, g.bytes + swap,
                                g.packets_rev, g.bytes_rev - swap, g.first, g.last)
            rows.append(FlowRow(key=f"{mode}|{label}", record=record,
                                rate_bps=g.fwd + rate_swap, rate_rev_bps=g.rev - rate_swap,
                                avg_bps=g.avg_sum / window if g.recent else 0.0,
                                label=label, flows=g.flows,
                                members=members_filter(mode, g.key)))
        return tuple(rows)
