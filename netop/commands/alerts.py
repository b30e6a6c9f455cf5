"""``netop alerts``: run detection headless and print alert records as they fire.

``-r FILE`` reads a capture to its end as fast as it goes, detection on the file's own
clock; ``-i IFACE --duration S`` captures live; ``--collect P`` receives NetFlow/IPFIX/
sFlow. The same engine, detectors and alert book as the TUI: one record per alert that
fires (a repeat of an active alert is counted, not printed again). The configured
``[[alerts.actions]]`` get them too (``--no-actions``: printed only); a failed delivery
is a line on stderr, as are readiness and the summary.
"""

from __future__ import annotations

import argparse
import sys
import time

from netop.commands.flags import DURATION_HELP, JSON_HELP, NO_ACTIONS_HELP
from netop.commands.output import json_line
from netop.commands.pipeline import (
    build_actions,
    build_detector,
    build_engine,
    build_sources,
)
from netop.config import Config
from netop.engine.detect.detector import Detector
from netop.engine.engine import Engine
from netop.errors import ConfigError, NetopError
from netop.model import Alert, NetEvent, Snapshot
from netop.sources.capture.options import add_capture_arguments, options_from_args
from netop.sources.capture.source import CaptureSource
from netop.sources.collector.source import add_collector_arguments
from netop.text import safe_text

HELP = "detect attacks, watchlist hits and anomalies; print alerts as they fire"
EXAMPLES = (
    "netop alerts -r trace.pcap --json             # every alert the file raises",
    "netop alerts -i eth0 --watchlist /etc/netop/feodo.txt --json",
    "netop alerts --collect 2055 --duration 3600   # on a router's NetFlow",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``netop alerts``."""
    add_capture_arguments(parser)
    add_collector_arguments(parser)
    parser.add_argument("--duration", type=float, metavar="S", help=DURATION_HELP)
    add_watchlist_argument(parser)
    parser.add_argument("--json", action="store_true", help=JSON_HELP)
    parser.add_argument("--no-actions", action="store_true", help=NO_ACTIONS_HELP)


def add_watchlist_argument(parser: argparse.ArgumentParser) -> None:
    """``--watchlist FILE`` (repeatable), added to ``[watchlist] files``."""
    parser.add_argument("--watchlist", action="append", default=[], metavar="FILE",
                        help="IP/CIDR list file (# and ; comments; Feodo Tracker and "
                        "Spamhaus DROP as they are); repeatable, reloaded on change")


def run(args: argparse.Namespace, config: Config) -> int:
    """Detect, print each alert as it fires; exit 0 at the end of the file or duration."""
    if args.duration is not None and args.duration <= 0:
        raise ConfigError("--duration", f"must be positive, got {args.duration}")
    if not (args.read or args.interfaces or args.collect):
        raise NetopError("nothing to watch: give -r FILE, -i IFACE or --collect PORT")
    detector = build_detector(args, config)
    printer = _Printer(args.json)
    if args.read:
        return _read(args, config, detector, printer)
    kinds: tuple[str, ...] = ()
    if args.interfaces:
        # The captured interfaces' own counters too: their rates, drops and qdisc drops
        # have baselines, and a KPI alert on their flows correlates with their drops.
        kinds = ("counters", "capture")
        args.iface_globs = list(args.interfaces)
    kinds += ("collector",) if args.collect else ()
    sources = build_sources(args, config, kinds=kinds)
    engine = build_engine(args, config, sources, enrich=False, detector=detector)
    return _live(args, engine, printer)


class _Printer:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.count = 0

    def alerts(self, alerts: list[Alert] | tuple[Alert, ...]) -> None:
        if not alerts:
            return
        self.count += len(alerts)
        if self.as_json:
            lines = [json_line(a.to_json()) for a in alerts]
        else:
            lines = [f"{time.strftime('%H:%M:%S', time.localtime(a.ts))} "
                     f"{a.severity.name.lower():8} {a.kind:14} {safe_text(a.message)}"
                     for a in alerts]
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()


def _status(lines: tuple[str, ...]) -> None:
    for line in lines:
        if line.startswith("watchlist"):
            print(f"netop: {line}", file=sys.stderr, flush=True)


def _read(args: argparse.Namespace, config: Config, detector: Detector,
          printer: _Printer) -> int:
    from netop.sources.capture.offline import FileReader

    opts = options_from_args(args, config)
    packet_filter = None
    if opts.filter:
        from netop.packet.bpf import OfflineFilter

        packet_filter = OfflineFilter(opts.filter)
    engine = Engine(config, [], max_flows=opts.max_flows, idle_timeout=opts.idle_timeout,
                    active_timeout=opts.active_timeout, detector=detector)
    # No tick, so no snapshot for the sink: the alerts are handed to it as they fire.
    actions = build_actions(args, config)
    if actions is not None:
        actions.bind_events(_delivery_event)
        actions.start()
    detector.start()
    try:
        _status(detector.status(time.time()))
        assert opts.read is not None
        reader = FileReader(opts.read, opts.max_flows, packet_filter=packet_filter, tick=1.0)
        for fired in engine.detect_play(reader):
            printer.alerts(fired)
            if actions is not None and fired:
                actions.send(fired)
    finally:
        detector.stop()
        if actions is not None:
            actions.close()
    if reader.result.error is not None and not reader.result.packets:
        raise reader.result.error  # nothing read: the error alone
    _summary(printer, engine)
    if reader.result.error is not None:
        raise reader.result.error
    return 0


def _live(args: argparse.Namespace, engine: Engine, printer: _Printer) -> int:
    interval = engine.config.interval
    capture = next((s for s in engine.sources if isinstance(s, CaptureSource)), None)
    engine.start()
    try:
        _status(engine.detector.status(time.time()))
        for source in engine.sources:
            if not isinstance(source, CaptureSource):
                print(f"netop: listening on {source.describe()}", file=sys.stderr,
                      flush=True)
        duration = args.duration or float("inf")
        deadline = time.monotonic() + duration
        next_tick = time.monotonic() + interval
        announced = capture is None
        seen = 0
        while time.monotonic() < deadline:
            if capture is not None and not capture.alive():
                break
            if not announced and capture is not None and capture.attached.is_set():
                announced = True
                deadline = time.monotonic() + duration  # counted from attachment
                print(f"netop: capture attached on {capture.describe()}", file=sys.stderr,
                      flush=True)
            if time.monotonic() >= next_tick:
                next_tick += interval
                snapshot = engine.tick()
                printer.alerts(snapshot.new_alerts)
                seen = _delivery_events(snapshot, seen)
            time.sleep(min(0.05, max(0.0, min(deadline, next_tick) - time.monotonic())))
    except KeyboardInterrupt:
        pass
    finally:
        for source in engine.sources:
            source.stop()
        printer.alerts(engine.tick().new_alerts)
        engine.stop()
    errors = [e.message for e in engine.events.recent()
              if e.source == "capture" and e.severity >= 2]
    _summary(printer, engine)
    if errors:
        raise NetopError(errors[-1])
    return 0


def _delivery_events(snapshot: Snapshot, seen: int) -> int:
    """Print the actions' events logged since ``seen`` events; the new count."""
    fresh = snapshot.events_total - seen
    for event in snapshot.events[-fresh:] if fresh > 0 else ():
        if event.source == "alerts":
            _delivery_event(event)
    return snapshot.events_total


def _delivery_event(event: NetEvent) -> None:
    """A delivery problem of an action (failed, rate-limited, dropped): one line."""
    print(f"netop: {safe_text(event.message)}", file=sys.stderr, flush=True)


def _summary(printer: _Printer, engine: Engine) -> None:
    kinds: dict[str, int] = {}
    for alert in engine.detector.book.alerts():
        kinds[alert.kind] = kinds.get(alert.kind, 0) + 1
    detail = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    print(f"netop: {printer.count} alerts" + (f" ({detail})" if detail else ""),
          file=sys.stderr, flush=True)
