"""KPIs on screen: the Flows pane's RTT / retransmission cells, the detail screen's KPI
rows, and the KPI screen (``K``): connections, success %, RTT and TTFB percentiles,
retransmissions and DNS per remote host or per service (``v`` switches).

The numbers come from the engine (``FlowRecord.kpi``, ``Snapshot.kpis``); this module
only formats them. A KPI that could not be measured shows as a dim dash, never 0.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer

from netop.model import FlowFields, KpiGroup, Snapshot, retrans_pct
from netop.ui.widgets.kpicells import DASH, ms_text, pct_text
from netop.ui.widgets.linetable import Cell, Column, LineTable, Row, Styled


def detail_rows(r: FlowFields) -> list[tuple[str, str]]:
    """(label, value) rows of every KPI the flow has, for the detail screen."""
    kpi = r.kpi
    if kpi is None:
        return []

    def ms(v: float | None) -> str:
        return "—" if v is None else f"{v:.3f} ms"

    rows: list[tuple[str, str]] = []
    if kpi.conn_state is not None:
        rows.append(("connection (Zeek)", kpi.conn_state))
        rows.append(("handshake RTT", f"{ms(kpi.rtt_ms)}  (to server {ms(kpi.rtt_server_ms)}, "
                                      f"to client {ms(kpi.rtt_client_ms)})"))
        rows.append(("ack RTT (median)", ms(kpi.ack_rtt_ms)))
        pct = retrans_pct(kpi, r.packets + r.packets_rev)
        rows.append(("retransmitted →  /  ←", f"{kpi.retrans}  /  {kpi.retrans_rev}"
                     + ("" if pct is None else f"  ({pct:.2f} % of packets)")))
        rows.append(("out of order →  /  ←", f"{kpi.ooo}  /  {kpi.ooo_rev}"))
        rows.append(("time to first byte", ms(kpi.ttfb_ms)))
    if kpi.dns_queries is not None:
        codes = ", ".join(f"{k} {v}" for k, v in sorted((kpi.dns_rcodes or {}).items()))
        rows.append(("DNS queries / answers", f"{kpi.dns_queries}  /  {kpi.dns_answers}"))
        rows.append(("DNS time (median)", ms(kpi.dns_ms)))
        rows.append(("DNS answers by code", codes or "—"))
    if kpi.jitter_ms is not None:
        rows.append(("jitter (RFC 3550)", ms(kpi.jitter_ms)))
    return rows


COLUMNS = (
    Column("key", "Host", 0, min_width=16),
    Column("flows", "Conns", 6, "right"),
    Column("ok", "OK %", 6, "right"),
    Column("rtt50", "RTT p50", 8, "right"),
    Column("rtt95", "RTT p95", 8, "right"),
    Column("retr", "Retr %", 7, "right"),
    Column("ttfb50", "TTFB p50", 9, "right"),
    Column("ttfb95", "TTFB p95", 9, "right"),
    Column("dns50", "DNS p50", 8, "right"),
    Column("dnsfail", "DNS fail", 8, "right"),
)


#: Below this width the p95 columns go (the host must stay readable at 80 columns).
NARROW = 110
_WIDE_ONLY = ("rtt95", "ttfb95")


def columns_for(by: str, width: int) -> tuple[Column, ...]:
    """The KPI screen's columns for ``by`` ("host"/"service") at ``width`` cells."""
    label = Column("key", "Host" if by == "host" else "Service", 0, min_width=16)
    cols = (label, *COLUMNS[1:])
    return cols if width >= NARROW else tuple(c for c in cols if c.key not in _WIDE_ONLY)


_ALL_KEYS = tuple(column.key for column in COLUMNS)


def group_row(g: KpiGroup, keys: tuple[str, ...] = _ALL_KEYS) -> Row:
    """One remote host or service as a row of the KPI screen (cells of ``keys``)."""
    ok: Cell = pct_text(g.success_pct)
    if g.success_pct is not None and g.success_pct < 90.0:
        ok = Styled(f"{g.success_pct:.1f}%", "warn")
    fails: Cell = DASH if g.dns_failures is None else (
        Styled(str(g.dns_failures), "warn") if g.dns_failures else "0")
    cells: dict[str, Cell] = {
        "key": g.key, "flows": str(g.flows), "ok": ok, "rtt50": ms_text(g.rtt_ms_p50),
        "rtt95": ms_text(g.rtt_ms_p95), "retr": pct_text(g.retrans_pct, 15.0),
        "ttfb50": ms_text(g.ttfb_ms_p50), "ttfb95": ms_text(g.ttfb_ms_p95),
        "dns50": ms_text(g.dns_ms_p50), "dnsfail": fails,
    }  # fmt: skip
    return Row(key=g.key, cells=tuple(cells[k] for k in keys))


class KpiTable(LineTable):
    """The KPI groups of the latest snapshot, most connections first."""

    def __init__(self) -> None:
        super().__init__(COLUMNS, cursor=True, id="kpis", classes="pane",
                         empty_text="waiting for flows…")


class KpiScreen(Screen[None]):
    """KPIs per remote host or per service; follows the snapshots; escape goes back.

    While it is open the engine aggregates every flow each tick (``Engine.kpi_by``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,K", "back", "Back"),
        Binding("v", "switch", "Host/Service"),
    ]

    DEFAULT_CSS = """
    KpiScreen { background: $background; }
    KpiScreen > KpiTable { height: 1fr; border: round $primary; }
    """

    def __init__(self, by: str = "host") -> None:
        super().__init__()
        self.by = by

    def compose(self) -> ComposeResult:
        yield KpiTable()
        yield Footer()

    def on_mount(self) -> None:
        """Title, and focus on the table."""
        self._title()
        self.query_one(KpiTable).focus()

    def _title(self) -> None:
        other = "service" if self.by == "host" else "host"
        self.query_one(KpiTable).set_title(f"KPIs per {self.by} · v: per {other}")

    def follow(self, snapshot: Snapshot) -> None:
        """Show the snapshot's groups (those of the grouping asked for)."""
        table = self.query_one(KpiTable)
        columns = columns_for(self.by, table.size.width)
        if columns != table.columns:
            table.set_columns(columns)
        keys = tuple(c.key for c in columns)
        table.set_rows([group_row(g, keys) for g in snapshot.kpis])

    def action_switch(self) -> None:
        """Per host ⇄ per service (the engine regroups from the next tick)."""
        self.by = "service" if self.by == "host" else "host"
        self._title()
        self.query_one(KpiTable).set_rows([])
        self.app.post_message(KpiGrouping(self.by))

    def action_back(self) -> None:
        """Back to the main screen."""
        self.dismiss(None)


class KpiGrouping(Message):
    """The KPI screen wants another grouping (the app tells the engine)."""

    def __init__(self, by: str) -> None:
        super().__init__()
        self.by = by
