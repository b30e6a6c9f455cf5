"""Cells of KPIs for the tables: short durations, shares, a dim dash when not measured
(the Flows pane's RTT and Retr columns, the KPI screen)."""

from __future__ import annotations

from netop.model import FlowFields, retrans_pct
from netop.ui.widgets.linetable import Cell, Styled

DASH = Styled("—", "dim")


def ms_text(ms: float | None) -> Cell:
    """A duration in ms as a short cell (``0.42ms``, ``35ms``, ``1.2s``)."""
    if ms is None:
        return DASH
    if ms >= 1000:
        return f"{ms / 1000:.1f}s"
    return f"{ms:.0f}ms" if ms >= 10 else f"{ms:.2f}ms"


def pct_text(pct: float | None, warn: float | None = None) -> Cell:
    """A share in % (warn-styled at or above ``warn``)."""
    if pct is None:
        return DASH
    text = f"{pct:.1f}%"
    return Styled(text, "warn") if warn is not None and pct >= warn else text


def flow_cells(r: FlowFields) -> dict[str, Cell]:
    """The Flows pane's KPI cells of one flow: ``rtt``, ``retr`` (retransmitted % of
    its packets, warn from 15 % as ntopng flags it)."""
    kpi = r.kpi
    if kpi is None:
        return {"rtt": DASH, "retr": DASH}
    return {"rtt": ms_text(kpi.rtt_ms),
            "retr": pct_text(retrans_pct(kpi, r.packets + r.packets_rev), 15.0)}
