"""What ``netop report`` says about a recording, as a JSON-ready dict.

It reads the 5-minute rollups (``iface_rollup``, ``talkers``) and the events, never the
per-tick blobs: a month of 1 s ticks costs what a month of 5-minute rows does.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from netop.engine.capacity import capacity_trend, percentile95
from netop.engine.recording import ROLLUP_SECONDS

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
    rows = db.execute(
        "SELECT origin, name, period, seconds, rx_bytes, tx_bytes, rx_peak_bps, "
        "tx_peak_bps, speed_bps FROM iface_rollup WHERE period >= ? AND period <= ? "
        "ORDER BY origin, name, period", (_floor(lo, rollup), hi)).fetchall()
    per: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in rows:
        per.setdefault((row[0], row[1]), []).append(row[2:])
    interfaces = [_interface(origin, name, samples, rollup)
                  for (origin, name), samples in per.items()]
    interfaces.sort(key=lambda r: -(r["p95_bps"] or 0))
    talkers = {}
    for kind in ("host", "service"):
        found = db.execute(
            "SELECT key, sum(bytes) AS b FROM talkers WHERE kind = ? AND period >= ? "
            "AND period <= ? GROUP BY key ORDER BY b DESC LIMIT ?",
            (kind, _floor(lo, rollup), hi, TOP)).fetchall()
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


def _interface(origin: str, name: str, samples: list[tuple[Any, ...]],
               rollup: int) -> dict[str, Any]:
    seconds = sum(s[1] for s in samples)
    rx_bytes = sum(s[2] for s in samples)
    tx_bytes = sum(s[3] for s in samples)
    speeds = [s[6] for s in samples if s[6]]
    speed = speeds[-1] if speeds else None
    billed = [max(s[2], s[3]) * 8 / s[1] for s in samples if s[1] > 0]
    p95 = percentile95(billed)
    by_day: dict[int, list[float]] = {}
    for s, value in zip((s for s in samples if s[1] > 0), billed, strict=True):
        by_day.setdefault(int(s[0] // 86400), []).append(value)
    per_day = 86400 / rollup
    daily = [(float(day), v) for day, values in sorted(by_day.items())
             if len(values) >= per_day * DAY_COVERAGE
             for v in (percentile95(values),) if v is not None]
    trend = capacity_trend(daily, speed)
    return {
        "origin": origin, "iface": name,
        "seconds": seconds,
        "avg_rx_bps": rx_bytes * 8 / seconds if seconds else None,
        "avg_tx_bps": tx_bytes * 8 / seconds if seconds else None,
        "peak_rx_bps": max((s[4] or 0 for s in samples), default=None),
        "peak_tx_bps": max((s[5] or 0 for s in samples), default=None),
        "p95_bps": p95,
        "samples": len(billed),
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
