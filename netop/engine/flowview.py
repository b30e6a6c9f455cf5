"""The Flows pane's rows: filter, sort and top-N over the whole flow table, per tick.

The order is decided here, over every flow, not by sorting widget rows: the UI gets at
most ``top_n`` rows. Rates are this tick's bytes each way; the average is an
exponentially weighted mean over about ten seconds, like iftop's 10 s column.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from functools import lru_cache

from netop.engine.filter import Filter, parse_filter
from netop.engine.flowtable import FlowEntry, FlowTable
from netop.model import FlowRecord, FlowRow, FlowsView, ViewSpec, tcp_flags_text

#: Seconds the smoothed average spans.
AVERAGE_SECONDS = 10.0


class _Facts:
    """One flow as the filter and the sort see it."""

    __slots__ = ("entry", "rate_fwd", "rate_rev", "rate_bps", "avg_bps")

    process = ""
    names: tuple[str, ...] = ()

    def __init__(self, entry: FlowEntry, fwd: float, rev: float, avg: float) -> None:
        self.entry = entry
        self.rate_fwd = fwd
        self.rate_rev = rev
        self.rate_bps = fwd + rev
        self.avg_bps = avg

    @property
    def record(self) -> FlowRecord:
        return self.entry.record


_SORT_KEYS: dict[str, Callable[[_Facts], float | int | str]] = {
    "rate": lambda f: f.rate_bps,
    "avg": lambda f: f.avg_bps,
    "bytes": lambda f: f.entry.bytes + f.entry.bytes_rev,
    "packets": lambda f: f.entry.packets + f.entry.packets_rev,
    "age": lambda f: -f.entry.first,
    "proto": lambda f: f.entry.proto,
    "src": lambda f: f.entry.src,
    "dst": lambda f: f.entry.dst,
}


@lru_cache(maxsize=32)
def _filter(text: str) -> Filter:
    return parse_filter(text)


def tcp_state(flags: int, proto: int) -> str:
    """A short TCP state from the flag union: SYN seen, established, closing, reset."""
    if proto != 6:
        return ""
    if flags & 0x04:
        return "RST"
    if flags & 0x01:
        return "FIN"
    if flags & 0x12 == 0x12 or flags & 0x10:
        return "EST"
    if flags & 0x02:
        return "SYN"
    return tcp_flags_text(flags)


class FlowViewBuilder:
    """Keeps the smoothed averages between ticks and builds each tick's view."""

    def __init__(self) -> None:
        self._avg: dict[str, float] = {}

    def build(
        self, table: FlowTable, spec: ViewSpec, now: float, interval: float, status: str = ""
    ) -> FlowsView:
        """Rate, filter, sort and cut the table to ``spec.top_n`` rows."""
        alpha = min(1.0, interval / AVERAGE_SECONDS)
        scale = 8.0 / interval
        averages: dict[str, float] = {}
        facts = []
        old = self._avg
        for entry in table.entries():
            fwd = entry.tick_bytes * scale
            rev = entry.tick_bytes_rev * scale
            avg = old.get(entry.key, 0.0)
            avg += alpha * (fwd + rev - avg)
            averages[entry.key] = avg
            facts.append(_Facts(entry, fwd, rev, avg))
        self._avg = averages
        flt = _filter(spec.filter_text)
        chosen = facts if flt.matches_all else flt.compile().select(facts, now)
        key = _SORT_KEYS.get(spec.sort, _SORT_KEYS["rate"])
        pick = heapq.nlargest if spec.descending else heapq.nsmallest
        top = pick(spec.top_n, chosen, key=key)
        rows = tuple(
            FlowRow(
                key=f.entry.key,
                record=f.record,
                rate_bps=f.rate_fwd,
                rate_rev_bps=f.rate_rev,
                avg_bps=f.avg_bps,
                state=tcp_state(f.entry.tcp_flags, f.entry.proto),
            )
            for f in top
        )
        return FlowsView(rows=rows, total_flows=len(facts), matched_flows=len(chosen),
                         status=status, spec=spec, now=now)
