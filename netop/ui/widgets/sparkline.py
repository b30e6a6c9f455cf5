"""Sparklines as plain text: one block character per sample, one style per line.

Textual's Sparkline widget colours every bar on a gradient, which costs an escape
code per cell on every repaint; a string of block characters in a single colour
looks as clear and costs a fraction of the bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

BARS = " ▁▂▃▄▅▆▇█"


def spark_text(values: Sequence[float], width: int) -> str:
    """The last ``width`` values as bars scaled to their maximum, right-aligned."""
    if width <= 0:
        return ""
    tail = list(values[-width:])
    peak = max(tail, default=0.0)
    if peak <= 0:
        bars = "".join(" " for _ in tail)
    else:
        top = len(BARS) - 1
        # Any non-zero value gets at least the lowest bar, so a trickle stays visible.
        bars = "".join(
            BARS[max(1, round(v / peak * top))] if v > 0 else " " for v in tail
        )
    return bars.rjust(width)
