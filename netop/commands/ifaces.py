"""``netop ifaces``: local interface rates as JSON lines (or a plain table)."""

from __future__ import annotations

import argparse
import sys
import time

from netop.commands.flags import COUNT_HELP, JSON_HELP
from netop.commands.output import HeadlessView
from netop.commands.pipeline import announce_sinks, build_engine, build_sources
from netop.config import Config
from netop.errors import NetopError
from netop.outputs.options import add_output_arguments
from netop.sources.capture.options import INTERFACE_HELP

HELP = "print local interface rates, drops and errors per interval"
EXAMPLES = (
    "netop ifaces                              # one interval, a line per interface",
    "netop ifaces -i 'eth*' --count 0          # every second until Ctrl-C",
    "netop ifaces --json --count 10 --interval 5 | jq .rx_bps",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``netop ifaces``."""
    parser.add_argument("--count", type=int, default=1, metavar="N", help=COUNT_HELP)
    parser.add_argument("--json", action="store_true", help=JSON_HELP)
    parser.add_argument("-i", "--interface", action="append", default=[], metavar="IFACE",
                        dest="interfaces", help=INTERFACE_HELP)
    add_output_arguments(parser, flows=False)


def run(args: argparse.Namespace, config: Config) -> int:
    """Sample, wait one interval, then print one record per interface per interval."""
    if args.count < 0:
        raise NetopError("--count must be 0 or more")
    args.iface_globs = args.interfaces
    engine = build_engine(args, config, build_sources(args, config, kinds=("counters",)))
    view = HeadlessView(sys.stdout, args.json)
    if engine.sinks:
        engine.start_sinks()  # --prometheus: served while the rates are printed
    try:
        announce_sinks(engine)
        engine.tick()  # the first sample only primes the rates
        printed = 0
        deadline = time.monotonic()
        while args.count == 0 or printed < args.count:
            deadline += config.interval
            time.sleep(max(0.0, deadline - time.monotonic()))
            snapshot = engine.tick()
            rows = [r for r in snapshot.interfaces if r.origin == "local"]
            if not rows and args.interfaces:
                raise NetopError(f"no interface matches {', '.join(args.interfaces)}")
            view.interfaces(rows)
            printed += 1
    finally:
        engine.close_sinks()
    return 0
