"""``netop report FILE.db``: traffic, 95th percentiles, top talkers, alerts and the
capacity trend of a recording, as text or one JSON object (``--json``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from netop.config import Config
from netop.engine.playback import PlaybackState, parse_goto
from netop.engine.recording import RecordingError, open_reader
from netop.errors import NetopError
from netop.format import human_bytes, human_rate
from netop.text import safe_text

HELP = "summarise a recording: 95th percentiles, top talkers, alerts, capacity trend"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``netop report``."""
    parser.add_argument("file", metavar="FILE.db", help="a recording")
    parser.add_argument("--from", dest="start", metavar="T", default=None,
                        help="start: 2026-01-01, \"2026-01-01 14:00\", --from=-7d (7 days "
                        "before the end), 50%%")
    parser.add_argument("--to", dest="end", metavar="T", default=None,
                        help="end: same forms as --from")
    parser.add_argument("--json", action="store_true", help="one JSON object")


def _when(text: str | None, first: float, last: float, flag: str) -> float | None:
    """``text`` as a time: a date (midnight local), a date and time, ``-7d``/``-12h``
    from the end of the recording, or ``50%``."""
    if text is None:
        return None
    text = text.strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        text += " 00:00"
    try:
        return parse_goto(text, PlaybackState("report", first, last, last))
    except ValueError as exc:
        raise NetopError(f"{flag}: {exc}") from exc


def run(args: argparse.Namespace, config: Config) -> int:
    """Print the report; exit 2 for a file that is no recording or a bad time."""
    from netop.engine.report import build_report

    try:
        db = open_reader(args.file)
    except RecordingError as exc:
        raise NetopError(str(exc)) from exc
    try:
        first, last = db.execute("SELECT min(ts), max(ts) FROM ticks").fetchone()
        if first is None:
            raise NetopError(f"{args.file}: the recording has no ticks")
        start = _when(args.start, first, last, "--from")
        end = _when(args.end, first, last, "--to")
        if start is not None and end is not None and end < start:
            raise NetopError("--to is before --from")
        report = build_report(db, start, end)
    finally:
        db.close()
    if args.json:
        print(json.dumps(report, separators=(",", ":")))
    else:
        sys.stdout.write(render(report))
    return 0


def _t(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts is not None else "—"


def _pct(value: float | None) -> str:
    return f"{value:.1f} %" if value is not None else "—"


def render(report: dict[str, Any]) -> str:
    """The report as text (names from the network shown as text, cut and cleaned)."""
    lines = [f"netop report: {_t(report['from'])} → {_t(report['to'])}, "
             f"{report['ticks']} ticks", ""]
    lines.append(f"{'interface':<24} {'avg in':>10} {'avg out':>10} {'peak':>10} "
                 f"{'95th':>10} {'speed':>10} {'95th %':>7}")
    for r in report["interfaces"]:
        label = r["iface"] if r["origin"] == "local" else f"{r['origin']}:{r['iface']}"
        peak = max(r["peak_rx_bps"] or 0, r["peak_tx_bps"] or 0)
        lines.append(f"{safe_text(label, 24):<24} {human_rate(r['avg_rx_bps']):>10} "
                     f"{human_rate(r['avg_tx_bps']):>10} {human_rate(peak):>10} "
                     f"{human_rate(r['p95_bps']):>10} "
                     f"{human_rate(r['speed_bps']) if r['speed_bps'] else '—':>10} "
                     f"{_pct(r['p95_util']):>7}")
    lines += ["", "capacity trend (least squares over daily 95th percentiles):"]
    for r in report["interfaces"]:
        label = r["iface"] if r["origin"] == "local" else f"{r['origin']}:{r['iface']}"
        trend = r["trend"]
        extra = ""
        if trend["shown"] and trend["slope_bps_per_week"] is not None:
            extra = (f"  [{trend['slope_bps_per_week'] / 1e6:+.2f} Mb/s per week, "
                     f"R² {trend['r2']:.2f}, {trend['days']} days]")
        lines.append(f"  {safe_text(label, 24)}: {trend['text']}{extra}")
    for title, key in (("top hosts", "top_hosts"), ("top services", "top_services")):
        lines += ["", f"{title} (bytes, recorded top flows):"]
        if not report[key]:
            lines.append("  none recorded")
        for item in report[key]:
            lines.append(f"  {human_bytes(item['bytes']):>10}  {safe_text(item['key'], 60)}")
    lines += ["", f"alerts and warnings: {report['alerts_total']}"]
    for a in report["alerts"][-10:]:
        lines.append(f"  {_t(a['ts'])} {a['severity']:<7} {safe_text(a['source'], 20)}: "
                     f"{safe_text(a['message'], 160)}")
    return "\n".join(lines) + "\n"
