"""``netop flows``: flows from a capture file or a live interface, printed at the end.

The same pipeline as the TUI: the capture source of ``-r``/``-i``, the engine with its
flow table, the Flows pane's filter, sort keys and aggregation (a :class:`ViewSpec`);
what is printed is the engine's last snapshot, every flow of it.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netop.commands.flags import DURATION_HELP, JSON_HELP, NO_NAMES_HELP
from netop.commands.output import HeadlessView
from netop.commands.pipeline import announce_sinks, build_engine, build_sources, live_capture
from netop.config import Config
from netop.engine.engine import Engine
from netop.errors import ConfigError, NetopError
from netop.model import FLOW_SORT_KEYS, Severity, Snapshot, ViewSpec
from netop.outputs.options import add_output_arguments
from netop.sources.base import Source
from netop.sources.capture.offline import FileReadResult
from netop.sources.capture.options import add_capture_arguments, options_from_args
from netop.sources.capture.source import CaptureSource

if TYPE_CHECKING:
    from netop.engine.filter import Filter
    from netop.engine.filter_grammar import Node

HELP = "print the flows of a capture file (-r) or of a live capture (-i ... --duration S)"
EXAMPLES = (
    "netop flows -r trace.pcap --top 10        # the 10 largest flows of a file",
    "netop flows -r trace.pcap --filter 'port 443 and bytes > 1M' --json",
    "netop flows -i eth0 -f 'not port 22' --duration 30 --sort rate",
    "netop flows -i eth0 -w cap.pcap -C 100 -W 5   # also write packets, a ring of files",
)
#: ``netop flows`` sorts by bytes unless told; the keys are the Flows pane's.
DEFAULT_SORT = "bytes"
#: Longest wait for a live capture to attach (the child starts, opens its rings).
ATTACH_WAIT = 30.0
#: Longest wait for reverse-DNS answers a name term of ``--filter`` needs.
NAMES_WAIT = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``netop flows``."""
    add_capture_arguments(parser)
    parser.add_argument("--duration", type=float, metavar="S", help=DURATION_HELP)
    parser.add_argument("--json", action="store_true", help=JSON_HELP)
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
        default=DEFAULT_SORT,
        metavar="KEY",
        help=f"order, the Flows pane's keys: {', '.join(FLOW_SORT_KEYS)} (default "
        f"{DEFAULT_SORT}; largest first, as the pane's s)",
    )
    parser.add_argument("--reverse", action="store_true",
                        help="the other order (the pane's S)")
    parser.add_argument("-n", "--no-names", action="store_true", help=NO_NAMES_HELP)
    add_output_arguments(parser)


@dataclass(frozen=True, slots=True)
class _Needs:
    process: bool
    names: bool


#: What a run without ``--filter`` needs: nothing.
_NO_NEEDS = _Needs(False, False)


def _needs(node: Node) -> _Needs:
    """Which enrichments the filter's terms read."""
    from netop.engine.filter_grammar import And, Attr, Host, Not, Or

    if isinstance(node, And | Or):
        parts = [_needs(item) for item in node.items]
        return _Needs(any(p.process for p in parts), any(p.names for p in parts))
    if isinstance(node, Not):
        return _needs(node.item)
    if isinstance(node, Attr) and node.kind == "process":
        return _Needs(True, False)
    if isinstance(node, Host) and not node.is_address:
        return _Needs(False, True)
    return _Needs(False, False)


def run(args: argparse.Namespace, config: Config) -> int:
    """Collect the flows, print them, and report a damaged file as an error at the end."""
    if not getattr(args, "read", None):
        return _run(args, config)
    # A file's flows make no cycles: no cyclic collection while they are read, summed
    # and printed (back on, the GC's first young collection rescanned every object made
    # meanwhile). What is alive at the end is frozen: the collection at the
    # interpreter's exit skips it (together a sixth of the command on 10k flows).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(args, config)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _run(args: argparse.Namespace, config: Config) -> int:
    if args.sort not in FLOW_SORT_KEYS:
        raise ConfigError("--sort", f"unknown key {args.sort!r}; one of "
                          f"{', '.join(FLOW_SORT_KEYS)}")
    if args.top is not None and args.top < 1:
        raise ConfigError("--top", f"must be at least 1, got {args.top}")
    if args.duration is not None and args.duration <= 0:
        raise ConfigError("--duration", f"must be positive, got {args.duration}")
    flow_filter = None
    if args.flow_filter:  # the parser is loaded only for a filter
        from netop.engine.filter import parse_filter

        flow_filter = parse_filter(args.flow_filter)  # a bad one ends here, before capturing
    opts = options_from_args(args, config)
    sources = build_sources(args, config, kinds=("capture",))
    if not sources:
        raise NetopError("no interface to capture on: give -i IFACE or -r FILE")
    needs = _NO_NEEDS if flow_filter is None else _needs(flow_filter.node)
    if flow_filter is not None:
        _check_enrichment(args, config, flow_filter, sources)
    # Flows that time out stay listed (marked ended, taken up again by a later packet),
    # as the TUI keeps them for a file: at the end every flow is printed. Records carry
    # addresses, not names or processes: those are looked up only for the filter's terms
    # and the process sort (a file has no processes: refused above).
    engine = build_engine(args, config, sources, keep_ended=True, detect=False,
                          enrich=needs.names or needs.process or args.sort == "process")
    if not needs.names and engine.enrichment.names is not None:
        stop = getattr(engine.enrichment.names, "stop", None)
        if stop is not None:
            stop()  # no reverse DNS unless the filter asks
        engine.enrichment.names = None
    spec = ViewSpec(sort=args.sort, descending=not args.reverse,
                    filter_text=args.flow_filter, top_n=args.top or sys.maxsize,
                    names=engine.enrichment.names is not None)
    # While live, the view is built every tick (a process is named while its socket is
    # open); only the last snapshot is printed, so a bounded top keeps those ticks cheap.
    engine.view_spec = ViewSpec(sort=args.sort, descending=spec.descending,
                                filter_text=spec.filter_text, top_n=min(spec.top_n, 200),
                                names=spec.names)
    result: FileReadResult | None = None
    error: NetopError | None
    if opts.read:
        engine.start_sinks()  # the file's flows are exported as they end
        announce_sinks(engine)
        result = _read(engine, opts.read, opts.filter)
        error = result.error
    else:
        error = _live(args, engine)
    if needs.names and engine.enrichment.names is not None:
        _await_names(engine)
    snapshot = engine.summary(spec)
    engine.enrichment.stop()
    if result is not None and opts.read and error is None:  # else the error is the line
        _file_summary(engine, opts.read, opts.filter, args.flow_filter, result, snapshot)
    if error is not None and not snapshot.flows.rows:
        close_outputs(engine)
        raise error
    view = HeadlessView(sys.stdout, args.json)
    view.snapshot_flows(snapshot)
    close_outputs(engine)
    if error is not None:
        raise error
    return 0


def close_outputs(engine: Engine) -> None:
    """Export the flows still live and wait until the outputs have sent them (bounded);
    each output's summary line goes to stderr."""
    if not engine.sinks:
        return
    engine.close_sinks()
    for sink in engine.sinks:
        summary = getattr(sink, "summary", None)
        if callable(summary):
            print(f"netop: {sink.name}: {summary()}", file=sys.stderr, flush=True)


def _check_enrichment(
    args: argparse.Namespace, config: Config, flow_filter: Filter, sources: list[Source]
) -> None:
    """A filter term whose data this run cannot have is one line and exit 2, not a
    filter that silently matches nothing."""
    needs = _needs(flow_filter.node)
    if needs.process and not live_capture(args, sources):
        raise NetopError("process: not available when reading a file")
    if needs.names:
        from netop.enrich.names import names_enabled

        if args.no_names or not names_enabled(config.raw):
            raise NetopError("host NAME: name resolution is off (-n or [names] enabled)")


def _await_names(engine: Engine) -> None:
    """Ask for every flow's names and wait (bounded) for the answers."""
    names = engine.enrichment.names
    assert names is not None
    table = engine.flow_table
    for entry in [*table.entries(), *table.ended()]:
        names.lookup(entry.src)
        names.lookup(entry.dst)
    pending = getattr(names, "pending", 0)
    deadline = time.monotonic() + NAMES_WAIT
    while pending and time.monotonic() < deadline:
        time.sleep(0.05)
        pending = getattr(names, "pending", 0)


def _read(engine: Engine, path: str, bpf: str | None) -> FileReadResult:
    """Play the file through the engine as fast as it reads (a bar on a terminal)."""
    from netop.commands.progress import with_progress
    from netop.sources.capture.offline import FileReader

    packet_filter = None
    if bpf:
        from netop.packet.bpf import OfflineFilter

        packet_filter = OfflineFilter(bpf)
    table = engine.flow_table
    # Nothing is drawn per tick here, so ticks need only be as fine as the timeouts: an
    # ended flow is kept and taken up again by a later packet (as in the TUI), so the
    # flows printed are the same at any tick, and the merge runs once per flow per tick.
    timeouts = [t for t in (table.idle_timeout, table.active_timeout) if t > 0]
    reader = FileReader(path, table.max_flows, packet_filter=packet_filter,
                        tick=max(1.0, min(timeouts, default=1.0)))
    # Reading makes a row per flow per tick and the table's entries, and no cycles: the
    # cyclic GC's young collections rescanning them were a tenth of the command.
    enabled = gc.isenabled()
    gc.disable()
    try:
        engine.play(with_progress(path, reader, sys.stderr))
    finally:
        if enabled:
            gc.enable()
    return reader.result


def _file_summary(engine: Engine, path: str, bpf: str | None, flow_filter: str,
                  result: FileReadResult, snapshot: Snapshot) -> None:
    """What the file gave, on stderr: packets, malformed, skipped, flows; what was lost
    or mended when anything was; and why nothing is listed when nothing is."""
    flows = snapshot.flows
    text = (f"netop: {os.path.basename(path)}: {_plural(result.packets, 'packet')} read, "
            f"{result.malformed} malformed, {result.non_ip} not IP (skipped), ")
    if bpf:
        text += f"{result.filtered_out} left out by -f, "
    text += _plural(flows.total_flows, "flow")
    if result.bad_timestamps or result.overflow or engine.flow_table.stats.evictions:
        text += (f"; {_plural(result.bad_timestamps, 'packet')} with an impossible timestamp "
                 f"(given the one before), {result.overflow} packets of new flows dropped; "
                 + _table_summary(engine))
    print(text, file=sys.stderr)
    if flows.rows or result.error is not None:
        return
    if flows.total_flows:
        why = f"--filter {flow_filter!r} matched none of the {_plural(flows.total_flows, 'flow')}"
    elif bpf and result.filtered_out:
        why = f"the capture filter -f {bpf!r} kept none of the file's packets"
    elif result.packets == 0:
        why = "the file holds no packets"
    elif result.non_ip + result.malformed >= result.packets:
        why = (f"none of the {_plural(result.packets, 'packet')} is IP"
               + (f" ({result.malformed} malformed)" if result.malformed else ""))
    else:
        why = "no packet made a flow"
    print(f"netop: no flows: {why}", file=sys.stderr)


def _live(args: argparse.Namespace, engine: Engine) -> NetopError | None:
    """Tick the engine until ``--duration`` (counted from attachment) or Ctrl-C."""
    source = engine.sources[0]
    assert isinstance(source, CaptureSource)
    interval = engine.config.interval
    errors: list[str] = []
    seen = 0

    def tick() -> None:
        nonlocal seen
        snapshot = engine.tick()
        fresh = snapshot.events_total - seen
        seen = snapshot.events_total
        for event in snapshot.events[-fresh:] if fresh > 0 else ():
            if event.source != "capture":
                continue
            if event.severity >= Severity.ERROR:
                errors.append(event.message)
            elif event.severity >= Severity.WARNING:
                print(f"netop: {event.message}", file=sys.stderr)

    engine.start()
    try:
        announce_sinks(engine)
        duration = args.duration or float("inf")
        # --duration counts from attachment; until then the wait for it is bounded.
        deadline = time.monotonic() + ATTACH_WAIT
        next_tick = time.monotonic() + interval
        announced = False
        while time.monotonic() < deadline and not errors and source.alive():
            if not announced and source.attached.is_set():
                announced = True
                # Scripts (and the tests) start their traffic on this line, not on a guess;
                # --duration counts from here, so a slow start never shortens the capture.
                deadline = time.monotonic() + duration
                print(f"netop: capture attached on {source.describe()} ({_settings(source)})",
                      file=sys.stderr, flush=True)
            if time.monotonic() >= next_tick:
                next_tick += interval
                tick()
            time.sleep(min(0.05, max(0.0, min(deadline, next_tick) - time.monotonic())))
    except KeyboardInterrupt:
        pass  # Ctrl-C ends the capture, like tcpdump; the flows are still printed
    finally:
        source.stop()  # the child's last batch is in the engine's inbox now
    tick()
    for other in engine.sources[1:]:
        other.stop()
    if errors:
        return NetopError(errors[0])
    stats = _capture_stats(engine)
    if stats:
        print(
            f"netop: {stats.get('packets', 0)} packets captured, "
            f"{stats.get('kernel_drops', 0)} dropped by kernel, "
            f"{stats.get('malformed', 0)} malformed, "
            f"{stats.get('overflow', 0)} packets of new flows dropped; "
            + _table_summary(engine),
            file=sys.stderr,
        )
    return None


def _settings(source: CaptureSource) -> str:
    """The capture's settings for its start line, as tcpdump says "listening on"."""
    o = source.options
    parts = [f"BPF {o.filter!r}" if o.filter else "no BPF filter",
             "promiscuous" if o.promiscuous else "not promiscuous"]
    if o.sample > 1:
        parts.append(f"sampling 1 in {o.sample}")
    if o.write:
        parts.append(f"writing {o.write}")
    return ", ".join(parts)


def _capture_stats(engine: Engine) -> dict[str, int]:
    """The capture's last cumulative counters, as the engine last merged them."""
    return dict(engine.flow_stats.get("capture", {}))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _table_summary(engine: Engine) -> str:
    """What the bounded table lost: evicted flows are counted, not listed."""
    evicted = engine.flow_table.stats.evictions
    text = f"{_plural(evicted, 'flow')} evicted"
    if evicted:
        text += f" (table full at --max-flows {engine.flow_table.max_flows}; not listed)"
    return text
