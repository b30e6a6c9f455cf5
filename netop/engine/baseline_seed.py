"""Baselines from a recording (``--baseline-from F.db``, ``[detect] baseline_from``): the
interface rates of the recording's last day, so detection starts without a cold
learning period.

Which ticks: the ``samples`` (a baseline's window) up to this time of day on the
recording's last day that has it — yesterday at this time for a recording that is kept
up to now, the daily cycle being the first thing a rate follows — or, when the
recording covers less than that, its last ticks.
"""

from __future__ import annotations

import math

from netop.engine.recording import TickDecoder, open_reader, read_meta
from netop.model import InterfaceRate

DAY = 86400.0


def seed_target(first: float, last: float, now: float) -> float:
    """The time whose ticks seed: this time of day on the last recorded day that has
    it, else the recording's end."""
    days_back = max(1, math.ceil((now - last) / DAY))
    target = now - days_back * DAY
    return target if first <= target <= last else last


def recorded_rates(path: str, now: float, samples: int) -> list[list[InterfaceRate]]:
    """The interface rates of the ``samples`` ticks up to :func:`seed_target`, oldest
    first. RecordingError when ``path`` is no recording."""
    db = open_reader(path)
    try:
        decoder = TickDecoder(read_meta(db))
        first, last = db.execute("SELECT min(ts), max(ts) FROM ticks").fetchone()
        if first is None:
            return []
        target = seed_target(float(first), float(last), now)
        rows = db.execute("SELECT seq FROM ticks WHERE ts <= ? ORDER BY seq DESC LIMIT ?",
                          (target, samples)).fetchall()
        if not rows:
            return []
        lo, hi = int(rows[-1][0]), int(rows[0][0])
        # Decoded in order from the keyframe before the first (a tick builds on those
        # before it in its group).
        key = db.execute("SELECT seq FROM ticks WHERE seq <= ? AND keyframe = 1 "
                         "ORDER BY seq DESC LIMIT 1", (lo,)).fetchone()
        start = int(key[0]) if key is not None else lo
        out: list[list[InterfaceRate]] = []
        for seq, ts, keyframe, blob in db.execute(
                "SELECT seq, ts, keyframe, core FROM ticks WHERE seq BETWEEN ? AND ? "
                "ORDER BY seq", (start, hi)):
            if keyframe:
                decoder.reset()
            interfaces = decoder.core(blob, float(ts))["interfaces"]
            if seq >= lo:
                out.append([decoder.iface(kw) for kw in interfaces])
        return out
    finally:
        db.close()
