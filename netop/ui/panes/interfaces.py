"""The Interfaces pane: one row per interface with rx/tx sparklines, rates and utilisation.

Local interfaces come first under the ``all`` row; each remote origin (an SNMP target,
an sFlow exporter) follows as a group whose header row tells its status (reachable,
poll latency, availability) and collapses with enter or a click.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence

from netop.format import human_age, human_rate
from netop.model import InterfaceRate, Snapshot, SourceStatus, TargetRow, target_row
from netop.ui.widgets.linetable import Cell, Column, LineTable, Middle, Row, Spark, Styled

#: Seconds of silence after which an interface counts as idle (for hiding).
IDLE_SECONDS = 10

#: Key prefix of group header rows.
GROUP = "group\0"


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


def group_title(origin: str, count: int, row: TargetRow | None) -> tuple[str, str | None]:
    """Header text of a remote group and its style (error when an SNMP target is
    unreachable)."""
    kind, _, name = origin.partition(":")
    parts = [f"{name} ({kind})", f"{count} interface" + ("" if count == 1 else "s")]
    style: str | None = "accent"
    if row is not None:
        if row.reachable:
            parts.append("reachable")
        else:
            parts.append("UNREACHABLE" + (f": {row.last_error}" if row.last_error else ""))
            style = "error"
        if row.last_latency_ms is not None:
            parts.append(f"{row.last_latency_ms:.0f} ms")
        if row.availability_pct is not None:
            parts.append(f"{row.availability_pct:.1f}% available")
    return " · ".join(parts), style


#: Ticks of history the busy-first order averages over, so that two interfaces of about
#: the same rate do not swap places every tick.
BUSY_TICKS = 10


def busy_bps(rate: InterfaceRate) -> float:
    """Both directions' rate averaged over the last :data:`BUSY_TICKS` ticks."""
    rx, tx = rate.rx_history[-BUSY_TICKS:], rate.tx_history[-BUSY_TICKS:]
    if not rx and not tx:
        return (rate.rx_bps or 0.0) + (rate.tx_bps or 0.0)
    return sum(rx) / max(1, len(rx)) + sum(tx) / max(1, len(tx))


def grouped(
    interfaces: Iterable[InterfaceRate], by_rate: bool = False,
    watched: Sequence[str] = (), statuses: Iterable[SourceStatus] = (),
) -> dict[str, list[InterfaceRate]]:
    """Interfaces by origin: ``local`` first, then the remote origins by name. Inside a
    group by name, or with ``by_rate`` the watched ones (``-i`` patterns) first, then the
    busiest (:func:`busy_bps`), names breaking ties. An SNMP target of ``statuses`` with
    no interface (never reached) gets its empty group, whose header then says why."""
    groups: dict[str, list[InterfaceRate]] = {}
    for rate in sorted(interfaces, key=lambda r: (r.origin != "local", r.origin, r.name)):
        groups.setdefault(rate.origin, []).append(rate)
    for status in statuses:
        if status.source == "snmp":
            for row in status.rows:
                groups.setdefault(f"snmp:{row.get('name', '')}", [])
    if by_rate:
        for rates in groups.values():
            rates.sort(key=lambda r: (
                not (r.origin == "local"
                     and any(fnmatch.fnmatchcase(r.name, p) for p in watched)),
                -round(busy_bps(r)), r.name))
    return groups


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
    #: Shown when the recording this run writes to gives a capacity trend (``--record``).
    ETA_COLUMN = Column("eta", "ETA", 7, "right")

    def __init__(self) -> None:
        super().__init__(self.COLUMNS, cursor=True, id="interfaces", classes="pane",
                         empty_text="waiting for the first sample…")
        self.border_title = "Interfaces"
        self.collapsed: set[str] = set()
        #: Interfaces left out as idle at the last :meth:`show` (the Counters pane follows).
        self.hidden: frozenset[tuple[str, str]] = frozenset()
        #: Busiest first (default) or by name; ``o`` switches.
        self.by_rate = True
        #: The interfaces the user named (``-i``): first in the busy order.
        self.watched: tuple[str, ...] = ()
        self._with_eta = False

    def toggle(self, origin: str) -> None:
        """Collapse or expand one remote group."""
        self.collapsed ^= {origin}

    def show(self, snapshot: Snapshot, bits: bool, hide_idle: bool) -> None:
        """Render the interfaces of ``snapshot``."""
        etas = snapshot.recording.eta if snapshot.recording is not None else {}
        if bool(etas) != self._with_eta:
            self._with_eta = bool(etas)
            self.set_columns(self.COLUMNS + ((self.ETA_COLUMN,) if etas else ()))
        eta: Mapping[tuple[str, str], str] | None = etas or None
        rows = []
        if snapshot.total is not None:
            rows.append(self._row(snapshot.total, bits, total=True, eta=eta))
        hidden: set[tuple[str, str]] = set()
        shown = 0
        for origin, rates in grouped(snapshot.interfaces, self.by_rate, self.watched,
                                     snapshot.sources).items():
            if origin != "local":
                title, style = group_title(origin, len(rates),
                                           target_row(origin, snapshot.sources))
                arrow = "▸" if origin in self.collapsed else "▾"
                rows.append(Row(GROUP + origin, (Styled(f"{arrow} {title}", style),)))
                if origin in self.collapsed:
                    continue
            for rate in rates:
                if hide_idle and is_idle(rate):
                    hidden.add(rate.key)
                    continue
                shown += 1
                rows.append(self._row(rate, bits, eta=eta))
        order = "busiest first" if self.by_rate else "by name"
        title = f"Interfaces ({shown}) · {order}"
        if hidden:
            title = f"Interfaces ({shown}, {len(hidden)} idle hidden — i shows them) · {order}"
        self.set_title(title)
        self.hidden = frozenset(hidden)
        self.set_rows(rows)

    @staticmethod
    def _row(rate: InterfaceRate, bits: bool, total: bool = False,
             eta: Mapping[tuple[str, str], str] | None = None) -> Row:
        # The ETA column's cell, when it is shown: "" where the trend gives none.
        extra: tuple[Cell, ...] = (
            () if eta is None else ("" if total else eta.get(rate.key, ""),))
        if rate.stale_for is not None:  # its source stopped answering: say so, and since when
            return Row(key=f"{rate.origin}\0{rate.name}", cells=(
                Middle(rate.name), Spark(rate.rx_history, "rx"), Styled("stale", "dim"),
                Spark(rate.tx_history, "tx"), Styled(f"{human_age(rate.stale_for)} ago", "dim"),
                "—", _link(rate), *extra))
        cells: tuple[Cell, ...] = (
            # Under its group's header a remote interface is named by its ifName alone.
            Styled(rate.label, "accent") if total else Middle(rate.name),
            Spark(rate.rx_history, "rx"),
            Styled(human_rate(rate.rx_bps, bits), "rx"),
            Spark(rate.tx_history, "tx"),
            Styled(human_rate(rate.tx_bps, bits), "tx"),
            "" if total else _util(rate),
            "" if total else _link(rate),
            *extra,
        )
        return Row(key=f"{rate.origin}\0{rate.name}", cells=cells)
