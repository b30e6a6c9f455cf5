"""``netop collect``: receive NetFlow v5/v9, IPFIX and sFlow v5 and print the flows.

The records go through the engine's flow table, as in the TUI: the two directions of a
conversation are one flow (``packets_rev``/``bytes_rev``). An exported record is a flow
the exporter has already ended (on its own timeouts), so the flows are printed as they
end: once per tick (``--interval``), every flow that records arrived for in that tick,
and then they leave the table. Memory stays that of one tick under any flood; a flow an
exporter reports again in a later tick (a long flow on an active timeout) is printed
again with the new counts, as nfdump lists it. The output streams into ``jq`` or a log
shipper. The listening addresses and, at exit, a summary per exporter go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from netop.commands.flags import ALLOW_HELP, DURATION_HELP, JSON_HELP, LISTEN_HELP
from netop.commands.output import HeadlessView
from netop.commands.pipeline import announce_sinks, build_engine, build_sources
from netop.config import Config
from netop.engine.engine import Engine
from netop.errors import NetopError
from netop.model import Snapshot, SourceStatus
from netop.outputs.options import add_output_arguments
from netop.sources.collector.server import DEFAULT_HOST
from netop.sources.collector.source import (
    DEFAULT_PORTS,
    CollectorSource,
    collector_settings,
)

_SUMMARY_EXPORTERS = 50
HELP = "receive NetFlow v5/v9, IPFIX and sFlow exports and print the flows"
EXAMPLES = (
    "netop collect                             # 127.0.0.1 on 2055, 4739 and 6343",
    "netop collect --listen 0.0.0.0:2055 --allow 192.0.2.0/24 --json",
    "netop collect --listen 6343 --duration 60 --json | jq 'select(.bytes > 1e6)'",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``netop collect``."""
    parser.add_argument(
        "--listen",
        action="append",
        default=[],
        metavar="[HOST:]PORT",
        help=LISTEN_HELP,
    )
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="NETWORK[,NETWORK]",
        help=ALLOW_HELP,
    )
    parser.add_argument("--json", action="store_true", help=JSON_HELP)
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help=DURATION_HELP)
    add_output_arguments(parser)


def run(args: argparse.Namespace, config: Config) -> int:
    """Listen, print each flow as it ends, exit 0 after ``--duration``."""
    if args.duration is not None and args.duration < 0:
        raise NetopError("--duration must be 0 or more")
    # Checked here for the error to name this command's flags (the factory's are the TUI's).
    listens, _, _, _ = collector_settings(config, args.listen, "--listen", allow_args=args.allow)
    args.collect = args.listen or (
        [] if listens else [f"{DEFAULT_HOST}:{port}" for port in DEFAULT_PORTS])
    args.collect_allow = args.allow
    sources = build_sources(args, config, kinds=("collector",))
    source = sources[0]
    assert isinstance(source, CollectorSource)
    engine = build_engine(args, config, sources, keep_ended=False, keep_expired=True)
    view = HeadlessView(sys.stdout, args.json)
    status: SourceStatus | None = None
    try:
        engine.start()
        announce_sinks(engine)
        print(f"netop: listening on {source.describe()}", file=sys.stderr, flush=True)
        if source.warning is not None:
            print(f"netop: warning: {source.warning}", file=sys.stderr, flush=True)
        start = time.monotonic()
        end = None if args.duration is None else start + args.duration
        tick = start
        while True:
            tick += config.interval
            wait_until = tick if end is None else min(tick, end)
            time.sleep(max(0.0, wait_until - time.monotonic()))
            status = _status(engine.tick()) or status
            view.flows(engine.drain_ended(everything=True), table=False)
            if end is not None and time.monotonic() >= end:
                break
        # Datagrams that arrived in the last moments are decoded before the exit.
        time.sleep(0.05)
        source.server.flush()
        status = _status(engine.tick()) or status
        view.flows(engine.drain_ended(everything=True), table=False)
    finally:
        engine.stop()
    _summary(status, engine)
    for sink in engine.sinks:
        summary = getattr(sink, "summary", None)
        if callable(summary):
            print(f"netop: {sink.name}: {summary()}", file=sys.stderr)
    return 0


def _status(snapshot: Snapshot) -> SourceStatus | None:
    return next((s for s in snapshot.sources if s.source == "collector"), None)


def _summary(status: SourceStatus | None, engine: Engine) -> None:
    """Per exporter, what it sent (stderr); the flows the bounded table evicted."""
    if status is not None:
        print(f"netop: {status.summary}", file=sys.stderr)
        # Spoofed sources can make thousands of exporters: the busiest ones are shown.
        rows = sorted(status.rows, key=lambda row: -int(row.get("records", 0)))
        for row in rows[:_SUMMARY_EXPORTERS]:
            print(f"netop: exporter {json.dumps(row)}", file=sys.stderr)
        if len(rows) > _SUMMARY_EXPORTERS:
            print(f"netop: ... and {len(rows) - _SUMMARY_EXPORTERS} more exporters",
                  file=sys.stderr)  # fmt: skip
    evicted = engine.flow_table.stats.evictions
    if evicted:
        print(f"netop: {evicted} flows evicted (table full at capture.max_flows "
              f"{engine.flow_table.max_flows}; not listed)", file=sys.stderr)
