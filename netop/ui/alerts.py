"""The ``!`` Alerts screen: active and recent alerts, deduplicated, with their counts.

One row per alert (kind and entity): severity, first and last seen, count, the value
against its baseline, the message. ``enter`` filters the Flows pane to the flows
behind the selected alert and goes back; ``a`` acknowledges it (the engine marks it at
its next tick). Detection's own state (learning, watchlists) is the line under the
table. Every text from the network is shown as text, never as markup.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from netop.format import human_rate
from netop.model import Alert, AlertSeverity, Snapshot
from netop.text import safe_text

_STYLE = {AlertSeverity.CRITICAL: "bold red", AlertSeverity.WARNING: "yellow",
          AlertSeverity.INFO: ""}


def alert_filter(alert: Alert) -> str | None:
    """The flow filter that shows the flows behind ``alert`` (None: no flows behind)."""
    flow = alert.flow
    if alert.kind in ("port_scan", "large_transfer", "new_destination") and flow is not None:
        return f"host {flow.src} and host {flow.dst}"
    if alert.kind == "large_transfer" and " → " in alert.entity:  # summed over many flows
        src, dst = alert.entity.split(" → ", 1)
        return f"host {src} and host {dst}"
    if alert.kind == "address_scan" and flow is not None:
        return f"host {flow.src}"
    if alert.kind in ("syn_flood", "icmp_flood", "watchlist"):
        return f"host {alert.entity}"
    return None


def _value(alert: Alert) -> str:
    def shown(x: float) -> str:
        if alert.unit == "bit/s":
            return human_rate(x)
        return f"{x:,.0f}"

    if alert.value is None:
        return ""
    text = f"{shown(alert.value)} {'' if alert.unit == 'bit/s' else alert.unit}".strip()
    if alert.baseline is not None:
        band = f" ±{shown(alert.band)}" if alert.band is not None else ""
        text += f" vs {shown(alert.baseline)}{band}"
    return text


def _clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


class AlertsScreen(ModalScreen[str | None]):
    """Lists the snapshot's alerts; dismissed with the chosen alert's flow filter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,exclamation_mark", "dismiss(None)", "Back"),
        Binding("enter", "flows", "Flows behind it"),
        Binding("a", "acknowledge", "Acknowledge"),
    ]

    DEFAULT_CSS = """
    AlertsScreen { align: center middle; }
    AlertsScreen > Vertical {
        width: 96%; height: 90%; border: round $primary; background: $surface;
    }
    AlertsScreen DataTable { height: 1fr; }
    AlertsScreen .status { height: auto; color: $text-muted; }
    AlertsScreen .detail { height: auto; }
    """

    def __init__(self, snapshot: Snapshot | None,
                 acknowledge: Callable[[tuple[str, str]], None] | None = None) -> None:
        super().__init__()
        self.snapshot = snapshot
        self._acknowledge = acknowledge
        self._rows: dict[str, Alert] = {}

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Alerts"
            yield DataTable(cursor_type="row", zebra_stripes=False)
            yield Static("", classes="detail", markup=False)
            yield Static("", classes="status", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("severity", "kind", "entity", "count", "last", "first", "value",
                      "message"):
            table.add_column(label, key=label)
        self.follow(self.snapshot)
        table.focus()

    def follow(self, snapshot: Snapshot | None) -> None:
        """Show the alerts of a newer snapshot, the cursor staying on its alert."""
        self.snapshot = snapshot
        table: DataTable[Text] = self.query_one(DataTable)
        selected = self._selected_key()
        table.clear()
        self._rows = {}
        alerts = snapshot.alerts if snapshot is not None else ()
        for alert in alerts:
            key = f"{alert.kind}|{alert.entity}"
            self._rows[key] = alert
            style = "dim" if alert.acked or not alert.active else _STYLE[alert.severity]
            severity = alert.severity.name.lower() + (" ✓" if alert.acked else "")
            table.add_row(Text(severity, style=style), Text(alert.kind),
                          Text(safe_text(alert.entity, 60)), Text(str(alert.count)),
                          Text(_clock(alert.ts)), Text(_clock(alert.first)),
                          Text(_value(alert)), Text(safe_text(alert.message, 200)), key=key)
        if selected in self._rows:
            table.move_cursor(row=table.get_row_index(selected))
        self._show_detail()
        lines = list(snapshot.detect_status) if snapshot is not None else []
        if not alerts:
            lines.insert(0, "No alerts.")
        self.query_one(".status", Static).update(
            "\n".join(lines) + "\nenter: the flows behind an alert · a: acknowledge · "
            "escape: back")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The selected alert's message and value in full under the table."""
        self._show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an alert: its flows."""
        event.stop()
        self.action_flows()

    def _show_detail(self) -> None:
        alert = self._selected()
        text = ""
        if alert is not None:
            value = _value(alert)
            text = safe_text(alert.message, 400) + (f"  ({value})" if value else "")
            if alert.community_id:
                text += f"\ncommunity_id {alert.community_id}"
        self.query_one(".detail", Static).update(text)

    def _selected_key(self) -> str | None:
        table: DataTable[Text] = self.query_one(DataTable)
        if not self._rows or table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    def _selected(self) -> Alert | None:
        key = self._selected_key()
        return self._rows.get(key) if key is not None else None

    def action_flows(self) -> None:
        """Back to the flows, filtered to the selected alert's."""
        alert = self._selected()
        if alert is None:
            return
        text = alert_filter(alert)
        if text is None:
            self.notify("No flows behind this alert (an interface baseline).", timeout=3,
                        markup=False)
            return
        self.dismiss(text)

    def action_acknowledge(self) -> None:
        """Mark the selected alert acknowledged (from the engine's next tick)."""
        alert = self._selected()
        if alert is not None and self._acknowledge is not None:
            self._acknowledge(alert.key)
            self.notify(f"acknowledged: {alert.kind} {alert.entity}", timeout=2,
                        markup=False)
