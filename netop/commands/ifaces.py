"""``netop ifaces``: local interface rates as JSON lines (or a plain table)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from netop.config import Config
from netop.engine.engine import Engine
from netop.errors import NetopError
from netop.format import human_rate
from netop.model import InterfaceRate
from netop.sources.counters import InterfaceCounters

HELP = "print local interface rates, drops and errors per interval"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``netop ifaces``."""
    parser.add_argument("--count", type=int, default=1, metavar="N",
                        help="intervals to print (default 1; 0 = until interrupted)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("-i", "--iface", action="append", default=[], metavar="IFACE",
                        help="only this interface (glob patterns allowed; repeatable)")


def run(args: argparse.Namespace, config: Config) -> int:
    """Sample, wait one interval, then print one record per interface per interval."""
    if args.count < 0:
        raise NetopError("--count must be 0 or more")
    counters = InterfaceCounters(include=args.iface)
    engine = Engine(config, [counters])
    engine.tick()  # the first sample only primes the rates
    printed = 0
    deadline = time.monotonic()
    while args.count == 0 or printed < args.count:
        deadline += config.interval
        time.sleep(max(0.0, deadline - time.monotonic()))
        snapshot = engine.tick()
        rows = [r for r in snapshot.interfaces if r.origin == "local"]
        if not rows and args.iface:
            raise NetopError(f"no interface matches {', '.join(args.iface)}")
        for row in rows:
            print(json.dumps(row.to_json()) if args.json else _line(row))
        sys.stdout.flush()
        printed += 1
    return 0


def _line(row: InterfaceRate) -> str:
    return (f"{row.name:<16} rx {human_rate(row.rx_bps, bits=True):>12}  "
            f"tx {human_rate(row.tx_bps, bits=True):>12}  "
            f"drops {row.deltas.get('rx_drops') or 0}/{row.deltas.get('tx_drops') or 0}  "
            f"errors {row.deltas.get('rx_errors') or 0}/{row.deltas.get('tx_errors') or 0}")
