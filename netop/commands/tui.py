"""The interactive TUI (``netop`` with no subcommand)."""

from __future__ import annotations

import argparse
from dataclasses import replace

from netop.capture.options import add_capture_arguments, capture_source_from_args
from netop.config import Config
from netop.engine.engine import Engine
from netop.sources.base import Source
from netop.sources.collector.source import add_collector_arguments, collector_source_from_args
from netop.sources.counters import InterfaceCounters
from netop.sources.snmp.source import add_snmp_arguments, snmp_source_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the TUI: display, then each source's own flags."""
    parser.add_argument("--theme", metavar="NAME", help="colour theme (t cycles them live)")
    parser.add_argument("--hide-idle", action="store_true", default=None,
                        help="start with idle interfaces hidden")
    add_capture_arguments(parser)
    add_snmp_arguments(parser)
    add_collector_arguments(parser)


def build_sources(args: argparse.Namespace, config: Config) -> list[Source]:
    """Every source the command line and config ask for; counters always."""
    sources: list[Source] = [InterfaceCounters()]
    for make in (capture_source_from_args, snmp_source_from_args, collector_source_from_args):
        source = make(args, config)
        if source is not None:
            sources.append(source)
    return sources


def run(args: argparse.Namespace, config: Config) -> int:
    """Start the TUI and block until the user quits."""
    from netop.ui.app import NetopApp
    from netop.ui.themes import load_themes

    themes = load_themes()
    themes.check(config.theme)
    if args.hide_idle:
        config = replace(config, hide_idle=True)
    engine = Engine(config, build_sources(args, config))
    NetopApp(engine, config, themes).run()
    return 0
