"""The bottom line (iftop's): per direction the 2 s / 10 s / 40 s averages, the peak and
the bytes since netop started, over the interfaces the ``all`` row totals."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from netop.format import human_bytes, human_rate
from netop.model import Snapshot

#: The averaging windows, in seconds, as iftop shows them.
WINDOWS = (2, 10, 40)

#: Screen width below which only the 10 s average is shown.
NARROW = 130


def _mean(history: tuple[float, ...], seconds: float, interval: float) -> float | None:
    ticks = max(1, round(seconds / interval)) if interval > 0 else 1
    # Over the whole window, a tick not yet seen counting as 0 (iftop's way, and the
    # engine's 10 s average): the three columns compare.
    return sum(history[-ticks:]) / ticks if history else None


class TotalsBar(Static):
    """One line; the byte totals add up every snapshot, shown or not (pause)."""

    DEFAULT_CSS = """
    TotalsBar { height: 1; background: $footer-background; color: $footer-foreground; }
    """

    def __init__(self) -> None:
        super().__init__("", id="totals")
        self.cum = {"rx_bytes": 0, "tx_bytes": 0, "flows": 0}
        self._counted = -1
        self._last = ""

    def count(self, snapshot: Snapshot) -> None:
        """Add ``snapshot``'s byte deltas to the totals since start (once per tick)."""
        if snapshot.seq == self._counted:
            return
        if snapshot.total is None:
            if snapshot.flow_history:  # a played file: its flows' bytes this tick
                self._counted = snapshot.seq
                self.cum["flows"] += round(snapshot.flow_history[-1]
                                           * snapshot.flow_interval / 8)
            return
        self._counted = snapshot.seq
        for field in ("rx_bytes", "tx_bytes"):
            self.cum[field] += snapshot.total.deltas.get(field) or 0

    def line(self, snapshot: Snapshot | None, bits: bool,
             windows: tuple[int, ...] = WINDOWS) -> str:
        """The bar's text for ``snapshot``, averaged over ``windows`` seconds."""
        total = snapshot.total if snapshot is not None else None
        if snapshot is not None and total is None and snapshot.flow_history:
            return self._flows_line(snapshot, bits, windows)
        if snapshot is None or total is None:
            return " totals: waiting for the first sample…"
        parts = []
        for arrow, history, field in (("↓", total.rx_history, "rx_bytes"),
                                      ("↑", total.tx_history, "tx_bytes")):
            means = " ".join(human_rate(_mean(history, w, snapshot.interval), bits)
                             for w in windows)
            peak = human_rate(max(history) if history else None, bits)
            parts.append(f"{arrow} {means}  peak {peak}  cum {human_bytes(self.cum[field])}")
        return f" {'/'.join(f'{w}s' for w in windows)}  " + "  │  ".join(parts)

    def _flows_line(self, snapshot: Snapshot, bits: bool, windows: tuple[int, ...]) -> str:
        """A played file's line: its flows' total (both ways), on the file's time."""
        history, interval = snapshot.flow_history, snapshot.flow_interval
        means = " ".join(human_rate(_mean(history, w, interval), bits) for w in windows)
        return (f" {'/'.join(f'{w}s' for w in windows)}  flows ⇅ {means}  "
                f"peak {human_rate(max(history), bits)}  cum {human_bytes(self.cum['flows'])}")

    def show(self, snapshot: Snapshot | None, bits: bool) -> None:
        """Repaint when the text changed."""
        # Narrow: the 10 s average alone, so that both directions fit on 80 columns.
        windows = WINDOWS if self.app.size.width >= NARROW else (10,)
        plain = self.line(snapshot, bits, windows)
        if plain != self._last:
            self._last = plain
            self.update(Text(plain, no_wrap=True, overflow="ellipsis"))
