"""The Interfaces pane: one row per interface with rx/tx sparklines, rates and utilisation."""

from __future__ import annotations

from netop.format import human_rate
from netop.model import InterfaceRate, Snapshot
from netop.ui.linetable import Column, LineTable, Row, Spark, Styled

#: Seconds of silence after which an interface counts as idle (for hiding).
IDLE_SECONDS = 10


def is_idle(rate: InterfaceRate) -> bool:
    """No traffic over the last :data:`IDLE_SECONDS` ticks."""
    return not any(rate.rx_history[-IDLE_SECONDS:]) and not any(rate.tx_history[-IDLE_SECONDS:])


def _util(rate: InterfaceRate) -> str:
    rx, tx = rate.util_rx, rate.util_tx
    if rx is None or tx is None:
        return "—"
    return f"{max(rx, tx):.0f}%"


def _link(rate: InterfaceRate) -> Styled:
    if rate.oper_up is None:
        return Styled("?", "dim")
    return Styled("up", None) if rate.oper_up else Styled("down", "error")


class InterfacesPane(LineTable):
    """Rates of every interface; ``all`` on top, local ones, then each remote origin."""

    COLUMNS = (
        Column("iface", "Interface", 16),
        Column("rx_spark", "RX history", 0, min_width=8),
        Column("rx", "RX", 10, "right"),
        Column("tx_spark", "TX history", 0, min_width=8),
        Column("tx", "TX", 10, "right"),
        Column("util", "Util", 5, "right"),
        Column("link", "Link", 4),
    )

    def __init__(self) -> None:
        super().__init__(self.COLUMNS, cursor=False, id="interfaces", classes="pane",
                         empty_text="waiting for the first sample…")
        self.border_title = "Interfaces"

    def show(self, snapshot: Snapshot, bits: bool, hide_idle: bool) -> None:
        """Render the interfaces of ``snapshot``."""
        rows = []
        if snapshot.total is not None:
            rows.append(self._row(snapshot.total, bits, total=True))
        hidden = 0
        for rate in sorted(snapshot.interfaces, key=_order):
            if hide_idle and is_idle(rate):
                hidden += 1
                continue
            rows.append(self._row(rate, bits))
        shown = len(rows) - (1 if snapshot.total is not None else 0)
        title = f"Interfaces ({shown})"
        if hidden:
            title = f"Interfaces ({shown}, {hidden} idle hidden — i shows them)"
        self.set_title(title)
        self.set_rows(rows)

    @staticmethod
    def _row(rate: InterfaceRate, bits: bool, total: bool = False) -> Row:
        return Row(
            key=f"{rate.origin}\0{rate.name}",
            cells=(
                Styled(rate.label, "accent") if total else rate.label,
                Spark(rate.rx_history, "rx"),
                Styled(human_rate(rate.rx_bps, bits), "rx"),
                Spark(rate.tx_history, "tx"),
                Styled(human_rate(rate.tx_bps, bits), "tx"),
                "" if total else _util(rate),
                "" if total else _link(rate),
            ),
        )


def _order(rate: InterfaceRate) -> tuple[int, str, str]:
    return (0 if rate.origin == "local" else 1, rate.origin, rate.name)
