"""What ``netop syslog`` and ``netop traps`` share: listen, tick, print every event.

The source goes through the one engine, as in the TUI; here it is asked not to
coalesce a flood (every message is printed), and the engine ticks often with an event
log large enough for a tick of a flood. The listening addresses and, at the end, the
receiver's counters go to stderr, the events to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from netop import signals
from netop.commands.flags import ALLOW_HELP, DURATION_HELP, JSON_HELP, LISTEN_HELP
from netop.commands.output import HeadlessView
from netop.commands.pipeline import build_engine, link_sources
from netop.config import Config
from netop.errors import NetopError
from netop.sources.base import Source
from netop.sources.snmp.source import SNMP_HELP

#: Seconds between ticks (a flood of 50k msgs/s is 5k events a tick).
TICK = 0.1
EVENT_CAPACITY = 50_000


def add_listen_arguments(parser: argparse.ArgumentParser, what: str, port: int) -> None:
    """``--listen``, ``--allow``, ``--duration``, ``--json``."""
    parser.add_argument(
        "--listen", action="append", default=[], metavar="[HOST:]PORT",
        help=LISTEN_HELP)
    parser.add_argument(
        "--allow", action="append", default=[], metavar="NETWORK[,NETWORK]",
        help=ALLOW_HELP)
    parser.add_argument(
        "--snmp", action="append", default=None, metavar="TARGET",
        help=SNMP_HELP)
    parser.add_argument("--json", action="store_true", help=JSON_HELP)
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help=DURATION_HELP)


def run_push(args: argparse.Namespace, config: Config, source: Source,
             flush: Callable[[], None], summary: Callable[[], str]) -> int:  # fmt: skip
    """Run ``source`` through the engine until ``--duration``; print its events."""
    if args.duration is not None and args.duration < 0:
        raise NetopError("--duration must be 0 or more")
    from netop.sources.snmp.source import snmp_source_from_args

    sources = [source]
    snmp = snmp_source_from_args(args, config)
    if snmp is not None:
        sources.append(snmp)
        link_sources(sources)
    engine = build_engine(args, config, sources, enrich=False,
                          event_capacity=EVENT_CAPACITY)  # fmt: skip
    # Every message is printed: the witnesses of an incident too, marked with it.
    engine.incidents.keep_witnesses = True
    view = HeadlessView(sys.stdout, args.json)
    seen = 0

    def tick() -> None:
        nonlocal seen
        engine.tick()
        fresh = engine.events.total - seen
        seen = engine.events.total
        kept = engine.events.recent(min(fresh, len(engine.events))) if fresh else ()
        if fresh > len(kept):
            print(f"netop: {fresh - len(kept)} events not printed (more than "
                  f"{EVENT_CAPACITY} in one tick)", file=sys.stderr, flush=True)  # fmt: skip
        view.events(kept)

    status = 0
    try:
        engine.start()
        print(f"netop: listening on {source.describe()}", file=sys.stderr, flush=True)
        start = time.monotonic()
        end = None if args.duration is None else start + args.duration
        at = start
        try:
            while True:
                at += TICK
                time.sleep(max(0.0, (at if end is None else min(at, end)) - time.monotonic()))
                tick()
                if end is not None and time.monotonic() >= end:
                    break
        except KeyboardInterrupt as exc:
            # Without --duration a signal is how a listener is meant to stop (as
            # `netop flows -i`): what arrived is printed, and the status is 0.
            status = 0 if args.duration is None else signals.exit_status(exc)
        flush()  # what is in the socket buffers now is still printed
        tick()
    finally:
        engine.stop()
    print(f"netop: {summary()}", file=sys.stderr, flush=True)
    return status
