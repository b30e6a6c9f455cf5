"""What ``netop report`` says about a recording, as a JSON-ready dict.

It reads the 5-minute rollups (``iface_rollup``, ``talkers``) and the events, never the
per-tick blobs: a month of 1 s ticks costs what a month of 5-minute rows does.
"""

from __future__ import annotations

import sqlite3
from itertools import groupby
from operator import itemgetter
from typing import Any

from netop.engine.capacity import capacity_trend, percentile95
from netop.engine.recording import ROLLUP_SECONDS, TALKER_SECONDS

#: A day counts in the trend when its samples cover at least half of it.
DAY_COVERAGE = 0.5
TOP = 10


def build_report(db: sqlite3.Connection, start: float | None, end: float | None,
                 rollup: int = ROLLUP_SECONDS) -> dict[str, Any]:
    """The report over [start, end] (``None``: the recording's ends)."""
    lo = start if start is not None else float("-inf")
    hi = end if end is not None else float("inf")
    span = db.execute("SELECT min(ts), max(ts), count(*) FROM ticks WHERE ts BETWEEN ? AND ?",
                      (lo, hi)).fetchone()
    first = _floor(lo, rollup)
    sums = db.execute(
        "SELECT origin, name, sum(seconds), sum(rx_bytes), sum(tx_bytes), max(rx_peak_bps), "
        "max(tx_peak_bps), max(speed_bps) FROM iface_rollup WHERE period >= ? AND period <= ? "
        "GROUP BY origin, name", (first, hi)).fetchall()
    # The billing samples, computed by SQLite: a month of 30 interfaces is 260k rows.
    samples = db.execute(
        "SELECT origin, name, CAST(period / 86400 AS INTEGER), "
        "max(rx_bytes, tx_bytes) * 8.0 / seconds FROM iface_rollup "
        "WHERE period >= ? AND period <= ? AND seconds > 0 "
        "ORDER BY origin, name, period", (first, hi))
    billed: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for key, group in groupby(samples, key=itemgetter(0, 1)):
        billed[key] = [(day, value) for _, _, day, value in group]
    # The fastest speed seen: after an upgrade, what the link is now.
    interfaces = [_interface(origin, name, totals, speed, billed.get((origin, name), []),
                             rollup)
                  for origin, name, *totals, speed in sums]
    interfaces.sort(key=lambda r: -(r["p95_bps"] or 0))
    talkers = {}
    for kind in ("host", "service"):
        found = db.execute(
            "SELECT key, sum(bytes) AS b FROM talkers WHERE kind = ? AND period >= ? "
            "AND period <= ? GROUP BY key ORDER BY b DESC LIMIT ?",
            (kind, _floor(lo, TALKER_SECONDS), hi, TOP)).fetchall()
        talkers[kind] = [{"key": k, "bytes": round(b)} for k, b in found]
    alerts = db.execute(
        "SELECT ts, severity, source, message FROM events WHERE ts BETWEEN ? AND ? "
        "AND severity IN ('warning', 'error') ORDER BY ts DESC LIMIT ?",
        (lo, hi, 50)).fetchall()
    alert_count = db.execute(
        "SELECT count(*) FROM events WHERE ts BETWEEN ? AND ? "
        "AND severity IN ('warning', 'error')", (lo, hi)).fetchone()[0]
    return {
        "from": span[0], "to": span[1], "ticks": span[2],
        "interfaces": interfaces,
        "top_hosts": talkers["host"],
        "top_services": talkers["service"],
        "alerts_total": alert_count,
        "alerts": [{"ts": t, "severity": s, "source": src, "message": m}
                   for t, s, src, m in reversed(alerts)],
    }


def _floor(value: float, step: int) -> float:
    return value if value == float("-inf") else (value // step) * step


def _interface(origin: str, name: str, totals: list[Any], speed: int | None,
               samples: list[tuple[int, float]], rollup: int) -> dict[str, Any]:
    seconds, rx_bytes, tx_bytes, peak_rx, peak_tx = totals
    values = [v for _, v in samples]
    p95 = percentile95(values)
    per_day = 86400 / rollup
    daily = []
    for day, group in groupby(samples, key=itemgetter(0)):
        day_values = [v for _, v in group]
        if len(day_values) >= per_day * DAY_COVERAGE:
            value = percentile95(day_values)
            if value is not None:
                daily.append((float(day), value))
    trend = capacity_trend(daily, speed)
    return {
        "origin": origin, "iface": name,
        "seconds": seconds,
        "avg_rx_bps": rx_bytes * 8 / seconds if seconds else None,
        "avg_tx_bps": tx_bytes * 8 / seconds if seconds else None,
        "peak_rx_bps": peak_rx,
        "peak_tx_bps": peak_tx,
        "p95_bps": p95,
        "samples": len(values),
        "speed_bps": speed,
        "p95_util": 100 * p95 / speed if p95 is not None and speed else None,
        "rx_bytes": round(rx_bytes), "tx_bytes": round(tx_bytes),
        "daily_p95_bps": [{"day": int(d) * 86400, "p95_bps": v} for d, v in daily],
        "trend": {
            "days": trend.days,
            "slope_bps_per_week": trend.slope_bps_per_week,
            "r2": trend.r2,
            "now_bps": trend.now_bps,
            "now_util": trend.now_pct,
            "util_per_week": trend.pct_per_week,
            "weeks_to": {str(k): v for k, v in (trend.weeks_to or {}).items()} or None,
            "shown": not trend.reason,
            "text": trend.sentence(),
        },
    }
