"""The one-line header: host, what is watched, totals, PAUSED."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from netop.format import human_rate
from netop.model import Snapshot


class HeaderBar(Static):
    """Repainted only when its text changes."""

    DEFAULT_CSS = """
    HeaderBar { height: 1; background: $footer-background; color: $footer-foreground; }
    """

    def __init__(self) -> None:
        super().__init__("", id="header")
        self._last: tuple[str, bool] = ("", False)

    def show(self, snapshot: Snapshot | None, bits: bool, paused: bool) -> None:
        """Render the header for ``snapshot``."""
        if snapshot is None:
            plain = " netop  starting…"
        else:
            t = snapshot.totals
            parts = [
                f" netop  {snapshot.hostname}",
                f"watching {snapshot.watching}",
                f"↓ {human_rate(t.rx_bps, bits)}  ↑ {human_rate(t.tx_bps, bits)}",
                f"drops {t.drops}  errors {t.errors}",
                *snapshot.status,
            ]
            plain = "  │  ".join(parts)
        if (plain, paused) == self._last:
            return
        self._last = (plain, paused)
        text = Text(plain, no_wrap=True, overflow="ellipsis")
        if paused:
            text = Text.assemble(Text(" PAUSED ", style="reverse bold"), text)
        self.update(text)
