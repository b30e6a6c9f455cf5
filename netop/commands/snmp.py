"""``netop snmp``: poll SNMP agents and print interface records, headless.

``netop snmp TARGET... [--count N] [--interval S] [--json]`` and
``netop snmp --config FILE ...``. A first poll sets the baseline; then each of the
``--count`` polls prints one record per interface that has a new reading (JSON
lines with ``--json``, a table otherwise). Events (unreachable, authentication
failures, restarts) go to stderr so that stdout stays machine-readable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any, TextIO

from netop.config import Config
from netop.engine.rates import RateTracker
from netop.errors import NetopError
from netop.model import InterfaceRate, InterfaceSample, NetEvent
from netop.sources.snmp.source import SNMP_HELP, load_targets

HELP = (
    "poll SNMP agents (v1/v2c/v3) and print per-interface rates; --interval is the poll "
    "interval (default: each target's, 10 s)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``netop snmp``."""
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=SNMP_HELP)
    parser.add_argument(
        "--count",
        type=int,
        default=None,
        metavar="N",
        help="print N polls after the baseline, then exit (default: forever)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def run(args: argparse.Namespace, config: Config) -> int:
    """Poll until ``--count`` polls are printed (or forever); exit status 0 on success."""
    interval = getattr(args, "interval", None)
    count = args.count
    if count is not None and count < 1:
        raise NetopError("--count must be at least 1")
    found = load_targets(args.targets, config, interval=interval)
    if not found.targets:
        raise NetopError(
            "no SNMP target: name one (v2c:COMMUNITY@HOST) or use --config with [[snmp.targets]]"
        )
    for warning in found.warnings:
        print(f"netop: warning: {warning}", file=sys.stderr)
    if interval is not None:
        targets = [
            t if t.interval == interval else _with_interval(t, interval) for t in found.targets
        ]
    else:
        targets = list(found.targets)
    step = min(t.interval for t in targets)
    return asyncio.run(_poll(targets, count, step, args.json, sys.stdout))


def _with_interval(target: Any, interval: float) -> Any:
    from dataclasses import replace

    return replace(target, interval=interval)


async def _poll(
    targets: list[Any], count: int | None, step: float, as_json: bool, out: TextIO
) -> int:
    from netop.sources.snmp.poller import Poller

    poller = Poller(targets)
    await poller.open()
    rates = RateTracker()
    seen: set[tuple[str, str]] = set()
    printed = 0
    start = time.monotonic()
    rounds = 0
    try:
        while count is None or printed < count:
            items = await poller.poll_all()
            rows: list[InterfaceRate] = []
            for item in items:
                if isinstance(item, InterfaceSample):
                    rate, events = rates.update(item)
                    if item.key in seen:  # an interface's first reading is its baseline
                        rows.append(rate)
                    seen.add(item.key)
                    _events(events)
                elif isinstance(item, NetEvent):
                    _events([item])
            rounds += 1
            # A round where the agents' counter caches had not moved yet prints nothing
            # and does not count; a round where no target answered does.
            if rows or (rounds > 1 and not any(t.reachable for t in poller.trackers)):
                _print(rows, as_json, out)
                printed += 1
            if count is not None and printed >= count:
                break
            delay = start + rounds * step - time.monotonic()
            await asyncio.sleep(max(delay, 0.0))
    finally:
        poller.close()
    reachable = any(t.reachable for t in poller.trackers)
    return 0 if reachable else 1


def _events(events: list[NetEvent]) -> None:
    for event in events:
        print(f"netop: {event.severity.name.lower()}: {event.message}", file=sys.stderr)


def _print(rows: list[InterfaceRate], as_json: bool, out: TextIO) -> None:
    if as_json:
        for rate in rows:
            out.write(json.dumps(rate.to_json()) + "\n")
        out.flush()
        return
    for rate in rows:
        out.write(
            f"{rate.label:<32} rx {_bps(rate.rx_bps):>12} tx {_bps(rate.tx_bps):>12} "
            f"{'up' if rate.oper_up else 'down' if rate.oper_up is False else '?'}\n"
        )
    out.flush()


def _bps(value: float | None) -> str:
    if value is None:
        return "-"
    for unit, scale in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if value >= scale:
            return f"{value / scale:.2f} {unit}"
    return f"{value:.0f} bit/s"
