"""The interactive TUI (``netop`` with no subcommand)."""

from __future__ import annotations

import argparse
from dataclasses import replace

from netop.commands.alerts import add_watchlist_argument
from netop.commands.pipeline import build_engine, build_sources, named_interfaces
from netop.config import Config
from netop.sources.capture.options import add_capture_arguments
from netop.sources.capture.source import CaptureSource
from netop.sources.collector.source import add_collector_arguments
from netop.sources.snmp.source import add_snmp_arguments

#: The engine and sources are built where every command builds them (re-exported here
#: for callers that build "the TUI's" engine: tests, bench/soak.py).
__all__ = ["add_arguments", "build_engine", "build_sources", "named_interfaces", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the TUI: display, then each source's own flags."""
    parser.add_argument("--theme", metavar="NAME", help="colour theme (t cycles them live)")
    parser.add_argument("--hide-idle", action="store_true", default=None,
                        help="start with idle interfaces hidden")
    parser.add_argument("-n", "--no-names", action="store_true",
                        help="don't resolve host and service names (n toggles it live)")
    add_capture_arguments(parser)
    add_snmp_arguments(parser)
    add_collector_arguments(parser)
    add_watchlist_argument(parser)


def run(args: argparse.Namespace, config: Config) -> int:
    """Start the TUI and block until the user quits."""
    from netop.ui.app import NetopApp
    from netop.ui.themes import load_themes

    themes = load_themes()
    themes.check(config.theme)
    if args.hide_idle:
        config = replace(config, hide_idle=True)
    sources = build_sources(args, config)
    for source in sources:
        if isinstance(source, CaptureSource):
            source.check()  # bad -r/-i/-f: one line and exit 2, before the screen opens
    engine = build_engine(args, config, sources)
    from netop.enrich.names import names_enabled

    show_names = names_enabled(config.raw) and not getattr(args, "no_names", False)
    engine.view_spec = replace(engine.view_spec, names=show_names)
    app = NetopApp(engine, config, themes)
    app.run()
    # A signal ends the TUI cleanly (terminal restored, capture child ended) with the
    # shell's status for it, as the headless commands do; see netop.signals.
    return 0 if app.exit_signal is None else 128 + app.exit_signal
