"""The Counters pane: packets, drops, errors and collisions per interface.

Cumulative values, with those that grew this tick highlighted — drops in the warning
colour, errors and collisions in the error colour — so a problem stands out.
"""

from __future__ import annotations

from netop.format import human_count
from netop.model import InterfaceRate, Snapshot
from netop.ui.panes.interfaces import GROUP, grouped
from netop.ui.widgets.linetable import Cell, Column, LineTable, Middle, Row, Styled

#: (counter, column label, style when it grew this tick)
_FIELDS = (
    ("rx_packets", "Pkt in", "changed"),
    ("tx_packets", "Pkt out", "changed"),
    ("rx_drops", "Drp in", "warn"),
    ("tx_drops", "Drp out", "warn"),
    ("rx_errors", "Err in", "error"),
    ("tx_errors", "Err out", "error"),
    ("collisions", "Coll", "error"),
)


class CountersPane(LineTable):
    """Cumulative counters per interface, increases highlighted."""

    COLUMNS = (
        Column("iface", "Interface", 0, min_width=10),
        *(Column(field, label, 7, "right") for field, label, _ in _FIELDS),
    )

    def __init__(self) -> None:
        super().__init__(self.COLUMNS, cursor=False, id="counters", classes="pane",
                         empty_text="waiting for the first sample…")
        self.border_title = "Counters"

    def show(
        self, snapshot: Snapshot, hidden: frozenset[tuple[str, str]], collapsed: set[str],
        by_rate: bool = False, watched: tuple[str, ...] = (),
    ) -> None:
        """Render the counters of every interface not hidden, grouped and ordered like
        Interfaces."""
        rows = []
        for origin, rates in grouped(snapshot.interfaces, by_rate, watched).items():
            if origin != "local":
                arrow = "▸" if origin in collapsed else "▾"
                kind, _, name = origin.partition(":")
                rows.append(Row(GROUP + origin, (Styled(f"{arrow} {name} ({kind})", "accent"),)))
                if origin in collapsed:
                    continue
            rows.extend(self._row(rate) for rate in rates if rate.key not in hidden)
        self.set_rows(rows)

    @staticmethod
    def _row(rate: InterfaceRate) -> Row:
        cells: list[Cell] = [Middle(rate.name)]  # under its group's header: the ifName
        for field, _, style in _FIELDS:
            text = human_count(rate.counters.get(field))
            delta = rate.deltas.get(field)
            cells.append(Styled(text, style) if delta else text)
        return Row(key=f"{rate.origin}\0{rate.name}", cells=tuple(cells))
