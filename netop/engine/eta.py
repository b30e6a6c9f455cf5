"""The capacity ETA per interface from a recording, for the TUI's Interfaces pane: what
``netop report`` says as a trend, cut to a column (``80% 3w``).

Computed from the file's 5-minute rollups (never its ticks) by the recorder's ETA
thread, once at start and then every :data:`ETA_EVERY` seconds: a trend over days does
not move from one tick to the next.
"""

from __future__ import annotations

import sqlite3

from netop.engine.capacity import THRESHOLDS
from netop.engine.report import build_report

#: Seconds between two computations of the ETAs.
ETA_EVERY = 3600.0


def short_weeks(weeks: float) -> str:
    """``5d``, ``3w``, ``4mo``: the column's unit."""
    if weeks < 1:
        return f"{max(1, round(weeks * 7))}d"
    if weeks < 13:
        return f"{round(weeks)}w"
    return f"{round(weeks / 4.345)}mo"


def eta_text(trend: dict[str, object]) -> str | None:
    """The column's text for a report's ``trend``: the first threshold ahead and when
    (``80% 3w``), ``≥90%`` when above the last; None when the trend is not shown."""
    if not trend.get("shown"):
        return None
    weeks_to = trend.get("weeks_to")
    if not isinstance(weeks_to, dict):
        return None
    for threshold in THRESHOLDS:
        weeks = weeks_to.get(str(threshold))
        if weeks is None or weeks == 0:
            continue
        return f"{threshold}% {short_weeks(float(weeks))}"
    if all(weeks_to.get(str(t)) == 0 for t in THRESHOLDS):
        return f"≥{THRESHOLDS[-1]}%"
    return "—"


def recording_etas(db: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """Per ``(origin, name)``, the ETA text of every interface whose trend is shown."""
    out: dict[tuple[str, str], str] = {}
    for iface in build_report(db, None, None)["interfaces"]:
        text = eta_text(iface["trend"])
        if text is not None:
            out[(str(iface["origin"]), str(iface["iface"]))] = text
    return out
