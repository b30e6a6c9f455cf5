"""The Exporters pane: every NetFlow/IPFIX/sFlow exporter the collector has heard from.

Shown only while a flow collector runs (``--collect``).
"""

from __future__ import annotations

import time

from netop.format import human_age, human_count
from netop.model import ExporterRow, Snapshot
from netop.ui.widgets.linetable import Column, LineTable, Row, Styled


class ExportersPane(LineTable):
    """Protocol, rates, templates, sequence losses and last-seen per exporter."""

    COLUMNS = (
        Column("exporter", "Exporter", 0, min_width=15),
        Column("protocol", "Protocol", 9),
        Column("datagrams_s", "Dgram/s", 8, "right"),
        Column("records_s", "Rec/s", 8, "right"),
        Column("templates", "Tmpl", 5, "right"),
        Column("seq_lost", "Lost", 7, "right"),
        Column("malformed", "Bad", 6, "right"),
        Column("last_seen", "Seen", 7, "right"),
    )

    DEFAULT_CSS = """
    ExportersPane { display: none; }
    ExportersPane.-active { display: block; }
    """

    def __init__(self) -> None:
        super().__init__(self.COLUMNS, cursor=False, id="exporters", classes="pane",
                         empty_text="listening; no exporter has sent anything yet")
        self.border_title = "Exporters"

    def show(self, snapshot: Snapshot) -> None:
        """Render the collector's exporter rows; hidden when there is no collector."""
        status = next((s for s in snapshot.sources if s.source == "collector"), None)
        self.set_class(status is not None, "-active")
        if status is None:
            return
        self.set_title(f"Exporters ({len(status.rows)}) · {status.summary}")
        now = snapshot.ts or time.time()
        self.set_rows([self._row(ExporterRow.of(row), now) for row in status.rows])

    @staticmethod
    def _row(row: ExporterRow, now: float) -> Row:
        lost, bad = row.seq_lost, row.malformed
        return Row(
            key=row.exporter,
            cells=(
                row.exporter,
                row.protocol,
                human_count(row.datagrams_s),
                human_count(row.records_s),
                str(row.templates),
                Styled(human_count(lost), "warn") if lost else "0",
                Styled(human_count(bad), "error") if bad else "0",
                human_age(now - row.last_seen) if row.last_seen else "—",
            ),
        )
