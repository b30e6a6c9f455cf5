"""The interactive TUI (``netop`` with no subcommand)."""

from __future__ import annotations

import argparse

from netop.config import Config
from netop.engine.engine import Engine
from netop.sources.base import Source
from netop.sources.counters import InterfaceCounters


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the TUI."""
    parser.add_argument("--theme", metavar="NAME", help="colour theme (t cycles them live)")
    parser.add_argument("--hide-idle", action="store_true", default=None,
                        help="start with idle interfaces hidden")


def build_sources(args: argparse.Namespace, config: Config) -> list[Source]:
    """Every source the command line and config ask for."""
    sources: list[Source] = [InterfaceCounters()]
    return sources


def run(args: argparse.Namespace, config: Config) -> int:
    """Start the TUI and block until the user quits."""
    from netop.ui.app import NetopApp
    from netop.ui.themes import load_themes

    themes = load_themes()
    themes.check(config.theme)
    if args.hide_idle:
        from dataclasses import replace

        config = replace(config, hide_idle=True)
    engine = Engine(config, build_sources(args, config))
    NetopApp(engine, config, themes).run()
    return 0
