"""The Flows pane: the top flows (or groups of flows) the engine chose, or why none.

Columns depend on the aggregation and on the pane's width: at 80 columns the pane keeps
what answers "who talks to whom, how fast, which process" and drops the rest.
"""

from __future__ import annotations

from textual import events

from netop.format import endpoint, human_age, human_bytes, human_count, human_rate
from netop.model import FlowRow, Snapshot, ViewSpec, proto_name
from netop.ui.widgets.kpicells import flow_cells
from netop.ui.widgets.linetable import Cell, Column, LineTable, Middle, Row, Styled

#: Pane widths below which the less important columns are dropped.
NARROW = 110

_CONNECTION_WIDE = (
    Column("proto", "Proto", 5),
    Column("src", "Source", 0, min_width=12),
    Column("dst", "Destination", 0, min_width=12),
    Column("rate", "Rate →", 9, "right"),
    Column("rate_rev", "Rate ←", 9, "right"),
    Column("avg", "Avg 10s", 9, "right"),
    Column("bytes", "Bytes", 8, "right"),
    Column("packets", "Pkts", 6, "right"),
    Column("age", "Age", 6, "right"),
    Column("rtt", "RTT", 7, "right"),
    Column("retr", "Retr", 6, "right"),
    Column("state", "State", 11),
    Column("process", "Process", 0, min_width=10),
)
_CONNECTION_NARROW = ("proto", "src", "dst", "rate", "rate_rev", "bytes", "process")

_GROUP_WIDE = (
    Column("label", "Group", 0, min_width=16),
    Column("flows", "Flows", 6, "right"),
    Column("rate", "Rate →", 9, "right"),
    Column("rate_rev", "Rate ←", 9, "right"),
    Column("avg", "Avg 10s", 9, "right"),
    Column("bytes", "Bytes", 8, "right"),
    Column("packets", "Pkts", 6, "right"),
    Column("age", "Age", 6, "right"),
)
_GROUP_NARROW = ("label", "flows", "rate", "rate_rev", "bytes")

_GROUP_TITLES = {"remote": "Remote host", "process": "Process", "port": "Port / service",
                 "protocol": "Protocol"}


def endpoint_cell(addr: str, port: int, proto: int, name: str = "") -> Middle:
    """:func:`endpoint` as a cell that, when narrow, keeps the port and the end of the
    address (hosts of one IPv6 /64 differ only there) and loses the middle."""
    text = endpoint(addr, port, proto, name)
    keep = 0
    if text != (name or addr):  # has a port
        keep = len(str(port)) + (2 if text.startswith("[") else 1)
    return Middle(text, keep=keep)


#: Protocol names that fit the 5-cell Proto column.
_SHORT_PROTO = {58: "icmp6"}


def short_proto(proto: int) -> str:
    """The protocol in at most five cells (``icmp6``, not ``icmpv6`` cut to ``icmp…``)."""
    return _SHORT_PROTO.get(proto) or proto_name(proto)


#: Columns only worth their cells when some flow has KPIs (a capture measured them).
_KPI_COLUMNS = ("rtt", "retr")


def columns_for(aggregate: str, width: int, kpis: bool = True) -> tuple[Column, ...]:
    """The columns of ``aggregate`` mode that fit a pane ``width`` cells wide; ``kpis``:
    whether a row on screen has KPIs (without, RTT and Retr would be columns of dashes
    taking the addresses' room)."""
    wide: tuple[Column, ...]
    narrow: tuple[str, ...]
    if aggregate == "connection":
        wide, narrow = _CONNECTION_WIDE, _CONNECTION_NARROW
    else:
        label = Column("label", _GROUP_TITLES.get(aggregate, "Group"), 0, min_width=16)
        wide, narrow = (label, *_GROUP_WIDE[1:]), _GROUP_NARROW
    if width >= NARROW:
        return wide if kpis else tuple(c for c in wide if c.key not in _KPI_COLUMNS)
    return tuple(c for c in wide if c.key in narrow)


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
        self._shape = ("connection", True, True)
        self._kpis = False
        self._drawn_with = (0.0, True)
        self._losses = ""

    def show_spec(self, spec: ViewSpec) -> None:
        """Say in the title how the flows are sorted, filtered and grouped."""
        self.spec = spec
        self._fit_columns()
        self._title(None, None)

    def _fit_columns(self) -> None:
        shape = (self.spec.aggregate, self.size.width >= NARROW, self._kpis)
        if shape != self._shape:
            self._shape = shape
            self.set_columns(columns_for(self.spec.aggregate, self.size.width, self._kpis))
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

    def _title(self, total: int | None, matched: int | None, losses: str | None = None) -> None:
        if losses is not None:
            self._losses = losses
        arrow = "↓" if self.spec.descending else "↑"
        parts = ["Flows"]
        if total:
            parts.append(f"{matched}/{total}" if self.spec.filter_text else f"{total}")
        if self._losses:
            parts.append(self._losses)
        if self.spec.aggregate != "connection":
            parts.append(f"per {_GROUP_TITLES.get(self.spec.aggregate, '').lower()}")
        parts.append(f"by {self.spec.sort} {arrow}")
        if self.spec.filter_text:
            parts.append(f"filter: {self.spec.filter_text}")
        self.set_title(" · ".join(parts))

    def show(self, snapshot: Snapshot, bits: bool) -> None:
        """Render the engine's top flows."""
        view = snapshot.flows
        self.set_empty_text(view.status or "no flows yet")
        self.spec = view.spec
        self._kpis = any(row.record.kpi is not None for row in view.rows)
        self._fit_columns()
        self._title(view.total_flows, view.matched_flows, view.losses)
        now = view.now or snapshot.ts
        self._drawn_with = (now, bits)
        self.latest = {row.key: row for row in view.rows}
        keys = [c.key for c in self.columns]
        self.set_rows([self._row(row, now, bits, keys) for row in view.rows])

    def _row(self, row: FlowRow, now: float, bits: bool, keys: list[str]) -> Row:
        r = row.record
        names = self.spec.names
        cells: dict[str, Cell] = {
            "proto": short_proto(r.proto),
            "label": row.label,
            "flows": human_count(row.flows),
            "src": endpoint_cell(r.src, r.sport, r.proto, row.src_name if names else ""),
            "dst": endpoint_cell(r.dst, r.dport, r.proto, row.dst_name if names else ""),
            "rate": Styled(human_rate(row.rate_bps, bits), "tx"),
            "rate_rev": Styled(human_rate(row.rate_rev_bps, bits), "rx"),
            "avg": human_rate(row.avg_bps, bits),
            "bytes": human_bytes(r.bytes + r.bytes_rev),
            "packets": human_count(r.packets + r.packets_rev),
            "age": human_age(now - r.first),
            # Zeek's word for how the connection went, when the capture measured it.
            "state": (r.kpi.conn_state if r.kpi is not None and r.kpi.conn_state else row.state),
            "process": row.process or Styled("—", "dim"),
            **(flow_cells(r) if "rtt" in keys else {}),
        }
        return Row(key=row.key, cells=tuple(cells[k] for k in keys))
