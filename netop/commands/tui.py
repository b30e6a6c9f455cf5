"""The interactive TUI (``netop`` with no subcommand)."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from netop.commands.alerts import add_watchlist_argument
from netop.commands.flags import NO_NAMES_HELP
from netop.commands.pipeline import ALL_SOURCES, build_engine, build_sources, named_interfaces
from netop.config import Config
from netop.engine.engine import Engine
from netop.errors import ConfigError, NetopError
from netop.model import NetEvent, Severity
from netop.outputs.options import add_output_arguments
from netop.outputs.record import add_record_arguments
from netop.sources.capture.options import add_capture_arguments
from netop.sources.capture.source import CaptureSource
from netop.sources.collector.source import add_collector_arguments
from netop.sources.snmp.source import add_snmp_arguments
from netop.sources.syslog.source import add_syslog_arguments
from netop.sources.traps.source import add_trap_arguments

if TYPE_CHECKING:
    from netop.ui.themes import ThemeSet

#: The engine and sources are built where every command builds them (re-exported here
#: for callers that build "the TUI's" engine: tests, bench/soak.py).
__all__ = ["add_arguments", "build_engine", "build_sources", "named_interfaces", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the TUI: display, then each source's own flags."""
    parser.add_argument("--theme", metavar="NAME", help="colour theme (t cycles them live)")
    parser.add_argument("--hide-idle", action="store_true", default=None,
                        help="start with idle interfaces hidden")
    parser.add_argument("-n", "--no-names", action="store_true", help=NO_NAMES_HELP)
    add_capture_arguments(parser)
    add_snmp_arguments(parser)
    add_collector_arguments(parser)
    add_syslog_arguments(parser)
    add_trap_arguments(parser)
    add_output_arguments(parser)
    add_record_arguments(parser)
    add_watchlist_argument(parser)
    parser.add_argument("--baseline-from", metavar="FILE.db",
                        help="start the interface baselines from a recording's last day "
                             "(no learning period)")
    parser.add_argument("--local-interfaces", action="store_true",
                        help="with -r: show this host's interfaces beside the file too")


def announce_warnings(engine: Engine, config: Config, themes: ThemeSet) -> None:
    """The start-up warnings (config typos, skipped themes) into the event log too: the
    TUI's screen covers the lines printed before it opened."""
    from netop.commands.config_keys import config_warnings

    now = time.time()
    for warning in [*(f"config: {w}" for w in config_warnings(config.raw)), *themes.warnings]:
        engine.emit(NetEvent(now, Severity.WARNING, "config", warning))


#: Why ``netop > file`` does not start the screen, and what to run instead.
NOT_A_TERMINAL = ("the TUI needs a terminal on stdout; to write to a file or a pipe use a "
                  "headless command: netop flows --json, netop ifaces --json, netop snmp --json")


def run(args: argparse.Namespace, config: Config) -> int:
    """Start the TUI and block until the user quits."""
    from netop.ui.app import NetopApp
    from netop.ui.themes import load_themes

    themes = load_themes()
    for warning in themes.warnings:  # a broken theme of the user's own: not a reason to stop
        print(f"netop: warning: {warning}", file=sys.stderr)
    try:
        themes.check(config.theme)
    except NetopError as exc:  # named as the user gave it: the flag, or the config key
        raise ConfigError("--theme" if args.theme else "theme", str(exc)) from None
    if args.hide_idle:
        config = replace(config, hide_idle=True)
    kinds = ALL_SOURCES
    if getattr(args, "read", None) and not args.local_interfaces:
        # A file's traffic happened elsewhere or earlier: this host's interfaces now
        # would only be mixed into it.
        kinds = tuple(k for k in ALL_SOURCES if k != "counters")
    sources = build_sources(args, config, kinds)
    for source in sources:
        if isinstance(source, CaptureSource):
            source.check()  # bad -r/-i/-f: one line and exit 2, before the screen opens
            source.flow_details = True  # the flow detail shows a flow's recent packets
    if not sys.stdout.isatty():
        # Textual would draw escape codes into the file and wait for keys it never gets.
        raise NetopError(NOT_A_TERMINAL)
    engine = build_engine(args, config, sources)
    announce_warnings(engine, config, themes)
    from netop.enrich.names import names_enabled

    show_names = names_enabled(config.raw) and not getattr(args, "no_names", False)
    engine.view_spec = replace(engine.view_spec, names=show_names)
    from netop.engine.playback import FilePlayback

    # A file being played gets the playback keys (pause really stops its reader).
    steering = next((s.steering for s in sources
                     if isinstance(s, CaptureSource) and s.steering is not None), None)
    playback = FilePlayback(steering) if steering is not None else None
    app = NetopApp(engine, config, themes, playback=playback)
    app.run()
    # A signal ends the TUI cleanly (terminal restored, capture child ended) with the
    # shell's status for it, as the headless commands do; see netop.signals.
    return 0 if app.exit_signal is None else 128 + app.exit_signal
