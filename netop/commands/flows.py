"""``netop flows``: flows from a capture file or a live interface, printed at the end."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from netop.config import Config
from netop.engine.flowtable import FlowTable
from netop.errors import ConfigError, NetopError
from netop.model import FlowRecord, NetEvent, Severity, proto_name, tcp_flags_text
from netop.sources.capture.options import add_capture_arguments, options_from_args

HELP = "print the flows of a capture file (-r) or of a live capture (-i ... --duration S)"

_SORT_KEYS: dict[str, tuple[Callable[[FlowRecord], Any], bool]] = {
    "bytes": (lambda r: r.bytes + r.bytes_rev, True),
    "packets": (lambda r: r.packets + r.packets_rev, True),
    "bytes_fwd": (lambda r: r.bytes, True),
    "bytes_rev": (lambda r: r.bytes_rev, True),
    "first": (lambda r: r.first, False),
    "last": (lambda r: r.last, True),
    "duration": (lambda r: r.last - r.first, True),
    "proto": (lambda r: (proto_name(r.proto), r.src, r.sport), False),
    "src": (lambda r: (r.src, r.sport), False),
    "dst": (lambda r: (r.dst, r.dport), False),
    "sport": (lambda r: r.sport, False),
    "dport": (lambda r: r.dport, False),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``netop flows``."""
    add_capture_arguments(parser)
    parser.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="live capture: stop after S seconds (default: at Ctrl-C, like tcpdump)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON flow record per line")
    parser.add_argument("--top", type=int, metavar="N", help="only the first N flows")
    parser.add_argument(
        "--filter",
        dest="flow_filter",
        default="",
        metavar="EXPR",
        help="show only flows matching EXPR, the TUI's / filter "
        "(e.g. 'tcp and port 443 and bytes > 1M'; bytes/packets count both directions, "
        "bytes_fwd/bytes_rev one); -f is the capture (BPF) filter",
    )
    parser.add_argument(
        "--sort",
        default="bytes",
        metavar="KEY",
        help=f"order: {', '.join(_SORT_KEYS)} (default bytes)",
    )


def run(args: argparse.Namespace, config: Config) -> int:
    """Collect the flows, print them, and report a damaged file as an error at the end."""
    if args.sort not in _SORT_KEYS:
        raise ConfigError("--sort", f"unknown key {args.sort!r}; one of {', '.join(_SORT_KEYS)}")
    if args.top is not None and args.top < 1:
        raise ConfigError("--top", f"must be at least 1, got {args.top}")
    if args.duration is not None and args.duration <= 0:
        raise ConfigError("--duration", f"must be positive, got {args.duration}")
    from netop.engine.filter import Facts, parse_filter

    flow_filter = parse_filter(args.flow_filter)  # a bad one ends here, before capturing
    opts = options_from_args(args, config)
    table = FlowTable(opts.max_flows, opts.idle_timeout, opts.active_timeout, keep_expired=True)
    error: NetopError | None = None
    if opts.read:
        from netop.sources.capture.offline import read_into_table

        packet_filter = None
        if opts.filter:
            from netop.packet.bpf import OfflineFilter

            packet_filter = OfflineFilter(opts.filter)
        result = read_into_table(opts.read, table, packet_filter=packet_filter)
        error = result.error
        if result.bad_timestamps or result.overflow or table.stats.evictions:
            # Only when something was lost or mended: a clean read stays silent.
            print(f"netop: {result.packets} packets read, {result.malformed} malformed, "
                  f"{_plural(result.bad_timestamps, 'packet')} with an impossible timestamp "
                  f"(given the one before), {result.overflow} packets of new flows dropped; "
                  + _table_summary(table, opts.max_flows), file=sys.stderr)
    else:
        error = _live(args, config, table)
    records = table.drain_expired() + table.records()
    if not flow_filter.matches_all:
        # Headless there is no "this tick": rates are the flow's average over its life.
        now = max((r.last for r in records), default=0.0)
        compiled = flow_filter.compile()
        records = [r for r in records if compiled.match(Facts(r, rate_bps=_avg_bps(r),
                                                              avg_bps=_avg_bps(r)), now)]
    key, reverse = _SORT_KEYS[args.sort]
    records.sort(key=key, reverse=reverse)
    if args.top is not None:
        records = records[: args.top]
    out = sys.stdout
    if error is not None and not records:
        raise error
    if args.json:
        for r in records:
            out.write(json.dumps(r.to_json()) + "\n")
    else:
        _print_table(records, out.write)
    out.flush()
    if error is not None:
        raise error
    return 0


def _avg_bps(r: FlowRecord) -> float:
    span = r.last - r.first
    return (r.bytes + r.bytes_rev) * 8 / span if span > 0 else 0.0


def _live(args: argparse.Namespace, config: Config, table: FlowTable) -> NetopError | None:
    from netop.model import FlowBatch
    from netop.sources.capture.options import capture_source_from_args

    source = capture_source_from_args(args, config)
    if source is None:
        raise NetopError("no interface to capture on: give -i IFACE or -r FILE")
    errors: list[str] = []

    def emit(item: object) -> None:
        if isinstance(item, FlowBatch):
            now = time.time()
            table.merge(item, now)
            table.expire(now)
            table.end_tick()
        elif isinstance(item, NetEvent) and item.severity >= Severity.ERROR:
            errors.append(item.message)
        elif isinstance(item, NetEvent) and item.severity >= Severity.WARNING:
            print(f"netop: {item.message}", file=sys.stderr)

    stats: dict[str, int] = {}

    def keep_stats(item: object) -> None:
        if isinstance(item, FlowBatch) and item.stats:
            stats.update(item.stats)
        emit(item)

    source.start(keep_stats)
    try:
        duration = args.duration or float("inf")
        deadline = time.monotonic() + duration
        announced = False
        while time.monotonic() < deadline and not errors and source.alive():
            if not announced and source.attached.is_set():
                announced = True
                # Scripts (and the tests) start their traffic on this line, not on a guess;
                # --duration counts from here, so a slow start never shortens the capture.
                deadline = time.monotonic() + duration
                print(f"netop: capture attached on {source.describe()}", file=sys.stderr,
                      flush=True)
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
    except KeyboardInterrupt:
        pass  # Ctrl-C ends the capture, like tcpdump; the flows are still printed
    finally:
        source.stop()
    if errors:
        return NetopError(errors[0])
    if stats:
        print(
            f"netop: {stats.get('packets', 0)} packets captured, "
            f"{stats.get('kernel_drops', 0)} dropped by kernel, "
            f"{stats.get('malformed', 0)} malformed, "
            f"{stats.get('overflow', 0)} packets of new flows dropped; "
            + _table_summary(table, table.max_flows),
            file=sys.stderr,
        )
    return None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _table_summary(table: FlowTable, max_flows: int) -> str:
    """What the bounded table lost: evicted flows are counted, not listed."""
    evicted = table.stats.evictions
    text = f"{_plural(evicted, 'flow')} evicted"
    if evicted:
        text += f" (table full at --max-flows {max_flows}; not listed)"
    return text


def _print_table(records: list[FlowRecord], write: Callable[[str], object]) -> None:
    write(
        f"{'PROTO':<7}{'SOURCE':<40}{'DESTINATION':<40}{'VLAN':>5}"
        f"{'PKTS':>9}{'BYTES':>12}{'PKTS<':>9}{'BYTES<':>12}{'SECS':>9} FLAGS\n"
    )
    for r in records:
        src = _endpoint(r.src, r.sport, r.proto)
        dst = _endpoint(r.dst, r.dport, r.proto)
        vlan = "" if r.vlan is None else str(r.vlan)
        write(
            f"{proto_name(r.proto):<7}{src:<40}{dst:<40}{vlan:>5}{r.packets:>9}{r.bytes:>12}"
            f"{r.packets_rev:>9}{r.bytes_rev:>12}{r.last - r.first:>9.2f} "
            f"{tcp_flags_text(r.tcp_flags)}\n"
        )


def _endpoint(addr: str, port: int, proto: int) -> str:
    if proto in (1, 58):
        return addr if port == 0 else f"{addr} type {port >> 8}/{port & 0xFF}"
    host = f"[{addr}]" if ":" in addr else addr
    return f"{host}:{port}"
