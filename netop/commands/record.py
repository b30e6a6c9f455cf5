"""``netop record FILE.db``: the always-on recorder, headless.

The same sources as the TUI (``-i``/``-r``, ``--snmp``, ``--collect``) and the same
engine, ticking once per interval; the ``record`` sink writes each tick. It runs until
``--duration``, a signal (TERM/INT/HUP: the file is closed cleanly), or the end of the
capture file it reads.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from netop.commands.pipeline import build_engine, build_sources
from netop.config import Config
from netop.errors import NetopError
from netop.outputs.record import Recorder, RecordOptions, record_options
from netop.sources.capture.options import add_capture_arguments
from netop.sources.capture.source import CaptureSource
from netop.sources.collector.source import add_collector_arguments
from netop.sources.snmp.source import add_snmp_arguments

HELP = "record interfaces, flows and events into a SQLite file (see replay, report)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``netop record``: the file, the TUI's sources, ``--duration``."""
    parser.add_argument("file", metavar="FILE.db", help="the recording (created 0600, or "
                        "appended to)")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="stop after S seconds (default: until interrupted, or the "
                        "end of the -r file)")
    parser.add_argument("--top", type=int, default=None, metavar="N",
                        help="flow rows recorded per tick (default record.top, 100)")
    add_capture_arguments(parser)
    add_snmp_arguments(parser)
    add_collector_arguments(parser)


def run(args: argparse.Namespace, config: Config) -> int:
    """Record until the duration, a signal or the end of the file; exit 0."""
    if args.duration is not None and args.duration < 0:
        raise NetopError("--duration must be 0 or more")
    args.record = args.file
    options = record_options(args, config)
    assert options is not None
    if args.top is not None:
        if args.top < 0:
            raise NetopError("--top must be 0 or more")
        options = RecordOptions(options.path, args.top, options.max_age_days, options.max_mb)
    sources = build_sources(args, config)
    capture = next((s for s in sources if isinstance(s, CaptureSource)), None)
    if capture is not None:
        capture.check()
    recorder = Recorder(options)
    engine = build_engine(args, config, sources, sinks=[recorder])
    reading = capture is not None and bool(getattr(args, "read", None))
    started = time.monotonic()
    end = None if args.duration is None else started + args.duration
    try:
        engine.start()
        print(f"netop: recording {engine.watching()} to {options.path} every "
              f"{config.interval:g} s", file=sys.stderr, flush=True)
        deadline = started
        while end is None or time.monotonic() < end:
            deadline += config.interval
            wait_until = deadline if end is None else min(deadline, end)
            time.sleep(max(0.0, wait_until - time.monotonic()))
            engine.tick()
            if reading and capture is not None and not capture.alive():
                engine.tick()  # the flows of the file's last moments
                break
    finally:
        engine.stop()
    size = os.path.getsize(options.path)
    print(f"netop: recorded {recorder.writer.written} ticks to {options.path} "
          f"({size / 1e6:.1f} MB; {recorder.writer.dropped} dropped)", file=sys.stderr)
    return 0
