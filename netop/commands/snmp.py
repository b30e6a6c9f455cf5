"""``netop snmp``: poll SNMP agents and print interface records, headless.

``netop snmp TARGET... [--count N] [--interval S] [--json]`` and
``netop snmp --config FILE ...``. A first poll sets the baseline; then each of the
``--count`` polls prints one record per interface that has a new reading (JSON
lines with ``--json``, a table otherwise). Events (unreachable, authentication
failures, restarts) go to stderr so that stdout stays machine-readable.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

from netop.commands.flags import COUNT_HELP, JSON_HELP
from netop.commands.output import HeadlessView
from netop.commands.pipeline import announce_sinks, build_engine, build_sources
from netop.config import Config
from netop.engine.engine import Engine
from netop.errors import NetopError
from netop.outputs.options import add_output_arguments
from netop.sources.snmp.source import SNMP_HELP, SnmpSource

HELP = (
    "poll SNMP agents (v1/v2c/v3) and print per-interface rates; --interval is the poll "
    "interval (default: each target's, 10 s)"
)

EXAMPLES = (
    "netop snmp v2c:@192.0.2.1 --count 3      # community from $NETOP_SNMP_COMMUNITY_FILE",
    "netop snmp v2c:public@127.0.0.1:1161 --json --count 3 --interval 10",
    "netop snmp --config lab.toml --json      # the [[snmp.targets]] of a config file",
)

#: Seconds between engine ticks: new readings are printed this soon after they arrive.
_TICK = 0.1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``netop snmp``."""
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=SNMP_HELP)
    parser.add_argument(
        "--count",
        type=int,
        default=0,
        metavar="N",
        help=COUNT_HELP,
    )
    parser.add_argument("--json", action="store_true", help=JSON_HELP)
    add_output_arguments(parser, flows=False)


def run(args: argparse.Namespace, config: Config) -> int:
    """Poll until ``--count`` polls are printed (or forever); exit status 0 on success."""
    interval = getattr(args, "interval", None)
    if args.count < 0:
        raise NetopError("--count must be 0 or more")
    count = args.count or None  # 0: until interrupted
    args.snmp = args.targets  # the TUI's --snmp: one factory for both
    sources = build_sources(args, config, kinds=("snmp",))
    if not sources:
        raise NetopError(
            "no SNMP target: name one (v2c:COMMUNITY@HOST) or use --config with [[snmp.targets]]"
        )
    source = sources[0]
    assert isinstance(source, SnmpSource)
    if interval is not None:
        source.targets = tuple(t if t.interval == interval else replace(t, interval=interval)
                               for t in source.targets)
    engine = build_engine(args, config, sources)
    view = HeadlessView(sys.stdout, args.json)
    engine.start()
    try:
        announce_sinks(engine)
        return _poll(engine, view, count)
    finally:
        engine.stop()


def _poll(engine: Engine, view: HeadlessView, count: int | None) -> int:
    """Tick the engine; print each interface's new readings (its first is the baseline),
    one printed round per tick that brought any, until ``count`` rounds. When no target
    answered its first poll (with its retries) and no ``count`` was given, or none
    answered in all of ``count`` rounds: one line naming each and exit status 2. (With
    ``count``, an agent whose first reply was lost still gets its other rounds.)"""
    seen: dict[tuple[str, str], float] = {}
    printed = 0
    polls = 0
    status_ts = 0.0
    reachable = answered_ever = False
    last_rows: tuple[dict[str, object], ...] = ()
    while count is None or printed < count:
        time.sleep(_TICK)
        snapshot = engine.tick()
        for event in view.new_events(snapshot):
            print(f"netop: {event.severity.name.lower()}: {event.message}", file=sys.stderr)
        rows = []
        for rate in snapshot.interfaces:
            if not rate.origin.startswith("snmp:") or seen.get(rate.key) == rate.ts:
                continue
            if rate.key in seen:  # an interface's first reading is its baseline
                rows.append(rate)
            seen[rate.key] = rate.ts
        status = next((s for s in snapshot.sources if s.source == "snmp"), None)
        polled = status is not None and status.ts != status_ts
        if status is not None and polled:
            status_ts = status.ts
            polls += 1
            reachable = any(row.get("reachable") for row in status.rows)
            answered_ever = answered_ever or reachable
            last_rows = tuple(status.rows)
            if (count is None and not answered_ever
                    and all(row.get("reachable") is False for row in status.rows)):
                raise _none_answered(last_rows)
        # A poll where the agents' counter caches had not moved yet prints nothing and
        # does not count; one where no target answered does (else a dead agent never ends).
        if rows:
            view.interfaces(rows)
            printed += 1
        elif polled and polls > 1 and not reachable:
            printed += 1
    # Success is an agent that answered: one that stops answering later is an event
    # (on stderr), not a failed command.
    if not answered_ever and last_rows:
        raise _none_answered(last_rows)
    return 0


def _none_answered(rows: tuple[dict[str, object], ...]) -> NetopError:
    return NetopError("no SNMP target answered: " + "; ".join(
        f"{row.get('name')} ({row.get('host')}): {row.get('last_error')}" for row in rows))
