"""``netop collect``: receive NetFlow v5/v9, IPFIX and sFlow v5 and print the flows.

Records are printed as they arrive, once per tick (``--interval``): each line is one
flow's packets and bytes received during that tick (the same flow can appear again in
a later tick), so the output streams into ``jq`` or a log shipper without waiting for
the end. The listening addresses and, at exit, a summary per exporter go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from netop.config import Config
from netop.errors import NetopError
from netop.model import FlowBatch, FlowRecord, SourceStatus, proto_name, tcp_flags_text
from netop.sources.collector.server import DEFAULT_HOST
from netop.sources.collector.source import (
    DEFAULT_PORTS,
    CollectorSource,
    collector_settings,
)

_SUMMARY_EXPORTERS = 50
HELP = "receive NetFlow v5/v9, IPFIX and sFlow exports and print the flows"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``netop collect``."""
    parser.add_argument(
        "--listen",
        action="append",
        default=[],
        metavar="[HOST:]PORT",
        help="UDP address to receive exports on (repeatable; default host 127.0.0.1; "
        "default 2055, 4739 and 6343; port 0 picks a free one)",
    )
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="NETWORK[,NETWORK]",
        help="accept exports only from these exporter networks (CIDR, comma-separated, "
        "repeatable; overrides collector.allow); others are refused and counted",
    )
    parser.add_argument("--json", action="store_true", help="one JSON flow record per line")
    parser.add_argument(
        "--duration", type=float, default=None, metavar="S",
        help="stop after S seconds (default: until interrupted)",
    )  # fmt: skip


def run(args: argparse.Namespace, config: Config) -> int:
    """Listen, print each tick's flows, exit 0 after ``--duration``."""
    if args.duration is not None and args.duration < 0:
        raise NetopError("--duration must be 0 or more")
    listens, limits, allow, rcvbuf = collector_settings(
        config, args.listen, "--listen", allow_args=args.allow
    )
    if not listens:
        listens = [(DEFAULT_HOST, port) for port in DEFAULT_PORTS]
    source = CollectorSource(listens, limits, allow, rcvbuf)
    status: SourceStatus | None = None
    try:
        source.start()
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
            status = _emit(source.poll(time.time()), args.json) or status
            if end is not None and time.monotonic() >= end:
                break
        # Datagrams that arrived in the last moments are decoded before the exit.
        time.sleep(0.05)
        source.server.flush()
        status = _emit(source.poll(time.time()), args.json) or status
    finally:
        source.stop()
    if status is not None:
        print(f"netop: {status.summary}", file=sys.stderr)
        # Spoofed sources can make thousands of exporters: the busiest ones are shown.
        rows = sorted(status.rows, key=lambda row: -int(row.get("records", 0)))
        for row in rows[:_SUMMARY_EXPORTERS]:
            print(f"netop: exporter {json.dumps(row)}", file=sys.stderr)
        if len(rows) > _SUMMARY_EXPORTERS:
            print(f"netop: ... and {len(rows) - _SUMMARY_EXPORTERS} more exporters",
                  file=sys.stderr)  # fmt: skip
    return 0


def _emit(items: Sequence[object], as_json: bool) -> SourceStatus | None:
    status: SourceStatus | None = None
    lines: list[str] = []
    for item in items:
        if isinstance(item, FlowBatch):
            for record in item.records:
                lines.append(json.dumps(record.to_json()) if as_json else _line(record))
        elif isinstance(item, SourceStatus):
            status = item
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
    return status


def _line(r: FlowRecord) -> str:
    return (
        f"{r.source:<8} {r.exporter or '-':<15} {proto_name(r.proto):<6} "
        f"{r.src}:{r.sport} > {r.dst}:{r.dport} vlan {r.vlan if r.vlan is not None else '-'} "
        f"{r.packets} pkts {r.bytes} B flags {tcp_flags_text(r.tcp_flags) or '-'} "
        f"sampling {r.sampling}"
    )
