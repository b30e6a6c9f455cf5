"""How the main screen's rows are shared: the small panes get their rows, Flows the rest.

A pane needs its rows plus a header line and a border (three lines). The Events (and,
while a collector runs, Exporters) pane takes up to a sixth of the body; Flows is kept
at least a third of the body (more when the rest needs less); what is left goes to
Interfaces first (its busiest rows are on top), then to Counters. Nothing depends on
focus, so moving between panes never moves a header under the mouse.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Lines of a pane that are not rows: its border (2) and its column header (1).
FRAME = 3

#: The least a pane is drawn with: its frame and one row.
MIN_PANE = FRAME + 1


@dataclass(frozen=True, slots=True)
class PaneRows:
    """Rows each pane has to show (0 for a pane that is hidden)."""

    interfaces: int
    counters: int
    flows: int
    events: int
    exporters: int = -1
    """Rows of the Exporters pane; -1 while it is not shown."""


@dataclass(frozen=True, slots=True)
class PaneHeights:
    """Lines given to each pane but Flows, which takes what remains."""

    interfaces: int
    counters: int
    events: int
    exporters: int


def _want(rows: int) -> int:
    return max(MIN_PANE, rows + FRAME)


def pane_heights(body: int, rows: PaneRows, wide: bool) -> PaneHeights:
    """The heights for a body ``body`` lines tall; ``wide``: Interfaces and Counters
    side by side (each then gets the whole top band)."""
    events = min(_want(rows.events), max(MIN_PANE, body // 6))
    exporters = 0
    if rows.exporters >= 0:
        exporters = min(_want(rows.exporters), max(MIN_PANE, body // 6))
    # Not from Flows' own rows: a filter that leaves two flows must not make the panes
    # above jump taller (and back when it is cleared).
    flows_min = max(MIN_PANE + 2, body // 3)
    room = max(MIN_PANE, body - events - exporters - flows_min)
    if wide:
        top = min(max(_want(rows.interfaces), _want(rows.counters)), room)
        return PaneHeights(top, top, events, exporters)
    counters_min = min(_want(rows.counters), MIN_PANE)
    interfaces = max(MIN_PANE, min(_want(rows.interfaces), room - counters_min))
    counters = max(MIN_PANE, min(_want(rows.counters), room - interfaces))
    return PaneHeights(interfaces, counters, events, exporters)
