"""The Flows pane: the top flows (or groups of flows) the engine chose, or why none.

Columns depend on the aggregation and on the pane's width: at 80 columns the pane keeps
what answers "who talks to whom, how fast, which process" and drops the rest.
"""

from __future__ import annotations

from dataclasses import replace

from textual import events
from textual.content import Content

from netop.engine.flowview import ORIENTED
from netop.format import endpoint, human_age, human_bytes, human_count, human_rate
from netop.model import FlowRow, Snapshot, ViewSpec, proto_name
from netop.ui.widgets.kpicells import flow_cells
from netop.ui.widgets.linetable import Cell, Column, LineTable, Middle, Row, Styled
from netop.ui.widgets.scalebar import bar_fraction, scale_ruler

#: Connection columns in their screen order. Each column's priority says in which order
#: they give way when the pane narrows (0 stays longest): who talks to whom and how fast
#: first, the process after the addresses and ports (an address loses its middle before
#: the process takes its room, and never its port), the details last.
_CONNECTION = (
    (Column("proto", "Proto", 5), 2),
    (Column("src", "Source", 0, min_width=19, weight=2), 0),
    (Column("dst", "Destination", 0, min_width=19, weight=2), 0),
    (Column("rate", "Rate →", 9, "right"), 1),
    (Column("rate_rev", "Rate ←", 9, "right"), 1),
    (Column("avg2", "Avg 2s", 9, "right"), 9),
    (Column("avg", "Avg 10s", 9, "right"), 5),
    (Column("avg40", "Avg 40s", 9, "right"), 9),
    (Column("peak", "Peak", 9, "right"), 6),
    (Column("bytes", "Bytes", 8, "right"), 3),
    (Column("packets", "Pkts", 6, "right"), 8),
    (Column("age", "Age", 6, "right"), 7),
    (Column("rtt", "RTT", 7, "right"), 6),
    (Column("retr", "Retr", 6, "right"), 7),
    (Column("state", "State", 11), 6),
    (Column("process", "Process", 0, min_width=12), 4),
)

_GROUP = (
    (Column("label", "Group", 0, min_width=16), 0),
    (Column("flows", "Flows", 6, "right"), 2),
    (Column("rate", "Rate →", 9, "right"), 1),
    (Column("rate_rev", "Rate ←", 9, "right"), 1),
    (Column("avg", "Avg 10s", 9, "right"), 5),
    (Column("bytes", "Bytes", 8, "right"), 3),
    (Column("packets", "Pkts", 6, "right"), 7),
    (Column("age", "Age", 6, "right"), 6),
)

_GROUP_TITLES = {"remote": "Remote host", "process": "Process", "user": "User",
                 "port": "Port / service", "protocol": "Protocol"}


def endpoint_cell(addr: str, port: int, proto: int, name: str = "",
                  service: str = "") -> Middle:
    """:func:`endpoint` as a cell that, when narrow, keeps the port and the end of the
    address (hosts of one IPv6 /64 differ only there) and loses the middle. ``service``:
    the port's name, shown instead of its number (iftop's and ``n``'s habit)."""
    text = endpoint(addr, port, proto, name)
    keep = 0
    if text != (name or addr):  # has a port
        if service:
            text = text[: len(text) - len(str(port))] + service
        keep = len(service or str(port)) + (2 if text.startswith("[") else 1)
    return Middle(text, keep=keep)


#: Protocol names that fit the 5-cell Proto column.
_SHORT_PROTO = {58: "icmp6"}


def short_proto(proto: int) -> str:
    """The protocol in at most five cells (``icmp6``, not ``icmpv6`` cut to ``icmp…``)."""
    return _SHORT_PROTO.get(proto) or proto_name(proto)


#: From this priority on a column is a detail: it is shown only while the flexible
#: columns (addresses, process, group label) keep :data:`ROOMY` cells, not just their
#: minimum, so that the addresses are whole on a 160-column screen.
DETAIL_PRIORITY = 5
ROOMY = {"src": 26, "dst": 26, "label": 26, "process": 14}


def _room(columns: list[Column], roomy: bool = False) -> int:
    """Cells ``columns`` need at least: their widths and a space between two."""
    return sum(c.width or (max(c.min_width, ROOMY.get(c.key, 0)) if roomy else c.min_width)
               for c in columns) + max(0, len(columns) - 1)


#: Labels of the two rate columns when ``T`` shows totals instead (iftop's ``T``).
_TOTAL_LABELS = {"rate": "Total →", "rate_rev": "Total ←"}
#: Their labels in the process and user views, whose rows are oriented: what this host
#: sent and received (nethogs' columns), as rates and as totals.
_ORIENTED_LABELS = {"rate": "Sent ↑", "rate_rev": "Recv ↓"}
_ORIENTED_TOTAL_LABELS = {"rate": "Sent tot", "rate_rev": "Recv tot"}


#: Columns only worth their cells when some flow has KPIs (a capture measured them).
_KPI_COLUMNS = ("rtt", "retr")


def columns_for(
    aggregate: str, width: int, totals: bool = False, kpis: bool = True
) -> tuple[Column, ...]:
    """The columns of ``aggregate`` mode that fit a pane ``width`` cells wide: the most
    useful first (by priority), each one only while all taken so far still fit.
    ``totals``: the rate columns show the bytes each way since the flow began; ``kpis``:
    whether a row on screen has KPIs (without, RTT and Retr would be columns of dashes
    taking the addresses' room)."""
    ranked: tuple[tuple[Column, int], ...]
    if aggregate == "connection":
        ranked = _CONNECTION if kpis else tuple(
            (c, p) for c, p in _CONNECTION if c.key not in _KPI_COLUMNS)
    else:
        label = Column("label", _GROUP_TITLES.get(aggregate, "Group"), 0, min_width=16)
        ranked = ((label, 0), *_GROUP[1:])
    taken: list[Column] = []
    for column, priority in sorted(ranked, key=lambda pair: pair[1]):
        if not taken or _room([*taken, column], priority >= DETAIL_PRIORITY) <= width:
            taken.append(column)
    chosen = tuple(c for c, _ in ranked if c in taken)
    labels = _TOTAL_LABELS if totals else {}
    if aggregate in ORIENTED:
        labels = _ORIENTED_TOTAL_LABELS if totals else _ORIENTED_LABELS
    return tuple(replace(c, label=labels[c.key]) if c.key in labels else c for c in chosen)


def window_avg(history: tuple[float, ...], seconds: float, interval: float) -> float | None:
    """The mean rate over the last ``seconds`` of ``history`` (one rate per tick of
    ``interval``), ticks without a rate counting as 0 as in the engine's 10 s average
    (and iftop's), so that the three averages compare; ``None`` without history."""
    if not history:
        return None
    ticks = max(1, round(seconds / interval)) if interval > 0 else 1
    return sum(history[-ticks:]) / ticks


#: Ticks of silence after a FIN from which a TCP flow counts as closed.
CLOSED_AFTER_TICKS = 2


def _state(state: str, idle: float, interval: float) -> str:
    """The engine's TCP state, with ``closing`` (a FIN seen) become ``closed`` once the
    flow has been silent for :data:`CLOSED_AFTER_TICKS` ticks: the flags' union cannot
    tell one FIN from two, the silence after them can."""
    if state == "closing" and idle >= CLOSED_AFTER_TICKS * interval:
        return "closed"
    return state


def _shown(spec: ViewSpec) -> tuple[object, ...]:
    """What of a spec the pane shows (not the flow the detail screen watches)."""
    return (spec.sort, spec.descending, spec.filter_text, spec.aggregate, spec.names,
            spec.top_n)


class FlowsPane(LineTable):
    """Top flows with rates each way, totals, age, state and process."""

    #: Column → engine sort key, for clicks on the header.
    SORT_BY_COLUMN = {"proto": "proto", "src": "src", "dst": "dst", "rate": "rate",
                      "rate_rev": "rate", "avg": "avg", "bytes": "bytes",
                      "packets": "packets", "age": "age", "process": "process",
                      "label": "src", "flows": "packets"}

    def __init__(self) -> None:
        super().__init__(columns_for("connection", 200), cursor=True, id="flows",
                         classes="pane")
        self.border_title = "Flows"
        self.spec = ViewSpec()
        self.latest: dict[str, FlowRow] = {}
        self._shape: tuple[str, ...] = tuple(c.label for c in self.columns)
        self._kpis = False
        self._drawn_with = (0.0, True)
        self._losses = ""
        #: ``T``: the rate columns show totals (bytes each way) instead.
        self.totals = False
        self._interval = 1.0
        #: The flow counts the title shows (total, matched), kept across a key.
        self._counts: tuple[int | None, int | None] = (None, None)
        #: The spec a key asked for that no snapshot has shown yet.
        self._asked: ViewSpec | None = None
        #: ``B``: iftop's scale bars behind the rows (their 10 s average, log scale).
        self.bars = False
        self._ruler_text = ""

    def show_spec(self, spec: ViewSpec) -> None:
        """Say in the title how the flows are sorted, filtered and grouped.

        Until a snapshot built with ``spec`` arrives, those built before it (the tick in
        flight when the key was pressed) are not shown: their order and title are the old
        ones, and showing them flipped the pane back for a tick (a flicker on re-sort).
        """
        filter_changed = spec.filter_text != self.spec.filter_text
        self.spec = spec
        self._asked = spec
        total, matched = self._counts
        self._fit_columns()
        # The count stays; a new filter's matches are not known yet.
        self._title(total, None if filter_changed else matched)

    def refit(self) -> None:
        """Columns again after a display choice changed (``T``, ``B``)."""
        self._fit_columns()
        self._ruler()
        now, bits = self._drawn_with
        keys = [c.key for c in self.columns]
        grouped = self.spec.aggregate != "connection"
        self.set_rows([self._row(row, now, bits, keys) for row in self.latest.values()
                       if bool(row.label) == grouped])

    def _ruler(self) -> None:
        """The scale's ruler under the rows while the bars are on (iftop's top line),
        placed so that each decade's label sits where a bar of that rate ends."""
        text = ""
        if self.bars:
            # The subtitle starts two cells right of the rows (a corner, a line, a space)
            # and leaves as many at the end.
            text = scale_ruler(self.inner_width, self._drawn_with[1], margin=2)
        if text != self._ruler_text:  # assigning repaints the whole pane
            self._ruler_text = text
            self.border_subtitle = Content(text)

    def _fit_columns(self) -> None:
        columns = columns_for(self.spec.aggregate, self.inner_width, self.totals, self._kpis)
        shape = (*(c.label for c in columns), self.spec.aggregate)
        if shape != self._shape:
            self._shape = shape
            self.set_columns(columns)
            # The rows on screen have the old columns' cells: draw them again.
            now, bits = self._drawn_with
            keys = [c.key for c in self.columns]
            grouped = self.spec.aggregate != "connection"
            self.set_rows([self._row(row, now, bits, keys) for row in self.latest.values()
                           if bool(row.label) == grouped])

    def on_resize(self, event: events.Resize) -> None:
        """Wider or narrower: maybe another set of columns."""
        super().on_resize(event)
        self._fit_columns()
        self._ruler()

    def _title(self, total: int | None, matched: int | None, losses: str | None = None) -> None:
        if losses is not None:
            self._losses = losses
        arrow = "↓" if self.spec.descending else "↑"
        parts = ["Flows"]
        if total:
            parts.append(f"{matched}/{total}" if self.spec.filter_text else f"{total}")
        if self._losses:
            parts.append(self._losses)
        if total is not None:
            self._counts = (total, matched)
        if total and self.spec.filter_text and matched is None:
            parts[-1] = f"…/{total}"
        if self.spec.aggregate != "connection":
            parts.append(f"per {_GROUP_TITLES.get(self.spec.aggregate, '').lower()}")
        parts.append(f"by {self.spec.sort} {arrow}")
        if self.spec.filter_text:
            parts.append(f"filter: {self.spec.filter_text}")
        self.set_title(" · ".join(parts))

    def show(self, snapshot: Snapshot, bits: bool) -> None:
        """Render the engine's top flows."""
        view = snapshot.flows
        if self._asked is not None:
            if _shown(view.spec) != _shown(self._asked):  # built before the key
                self._title(view.total_flows, None if view.spec.filter_text !=
                            self._asked.filter_text else view.matched_flows)
                return
            self._asked = None
        self.set_empty_text(view.status or "no flows yet")
        self.spec = view.spec
        self._kpis = any(row.record.kpi is not None for row in view.rows)
        self._fit_columns()
        self._title(view.total_flows, view.matched_flows, view.losses)
        now = view.now or snapshot.ts
        # A played file: the Avg columns count its seconds, not the wall clock's.
        self._interval = snapshot.flow_interval or snapshot.interval
        self._drawn_with = (now, bits)
        self._ruler()
        self.latest = {row.key: row for row in view.rows}
        keys = [c.key for c in self.columns]
        self.set_rows([self._row(row, now, bits, keys) for row in view.rows])

    def _row(self, row: FlowRow, now: float, bits: bool, keys: list[str]) -> Row:
        r = row.record
        names = self.spec.names
        interval = self._interval
        if self.totals:
            rate: Cell = Styled(human_bytes(r.bytes), "tx")
            rate_rev: Cell = Styled(human_bytes(r.bytes_rev), "rx")
        else:
            rate = Styled(human_rate(row.rate_bps, bits), "tx")
            rate_rev = Styled(human_rate(row.rate_rev_bps, bits), "rx")
        cells: dict[str, Cell] = {
            "proto": short_proto(r.proto),
            "label": row.label,
            "flows": human_count(row.flows),
            "src": endpoint_cell(r.src, r.sport, r.proto, row.src_name if names else ""),
            "dst": endpoint_cell(r.dst, r.dport, r.proto, row.dst_name if names else "",
                                 row.service if names else ""),
            "rate": rate,
            "rate_rev": rate_rev,
            "avg": human_rate(row.avg_bps, bits),
            "avg2": human_rate(row.avg2_bps if row.avg2_bps is not None
                               else window_avg(row.history, 2, interval), bits),
            "avg40": human_rate(row.avg40_bps if row.avg40_bps is not None
                                else window_avg(row.history, 40, interval), bits),
            "peak": human_rate(max(row.history) if row.history else None, bits),
            "bytes": human_bytes(r.bytes + r.bytes_rev),
            "packets": human_count(r.packets + r.packets_rev),
            "age": human_age(now - r.first),
            # Zeek's word for how the connection went, when the capture measured it.
            "state": (r.kpi.conn_state if r.kpi is not None and r.kpi.conn_state
                      else _state(row.state, now - r.last, interval)),
            "process": row.process or Styled("—", "dim"),
            **(flow_cells(r) if "rtt" in keys else {}),
        }
        bar = bar_fraction(row.avg_bps, bits) if self.bars else 0.0
        return Row(key=row.key, cells=tuple(cells[k] for k in keys), bar=bar)
