"""The interactive TUI (``netop`` with no subcommand)."""

from __future__ import annotations

import argparse
from dataclasses import replace

from netop.capture.options import add_capture_arguments, capture_source_from_args
from netop.config import Config
from netop.engine.engine import Engine
from netop.engine.flowview import Enrichment
from netop.sources.base import Source
from netop.sources.collector.source import add_collector_arguments, collector_source_from_args
from netop.sources.counters import InterfaceCounters
from netop.sources.snmp.source import add_snmp_arguments, snmp_source_from_args


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


def build_sources(args: argparse.Namespace, config: Config) -> list[Source]:
    """Every source the command line and config ask for; counters always."""
    sources: list[Source] = [InterfaceCounters()]
    for make in (capture_source_from_args, snmp_source_from_args, collector_source_from_args):
        source = make(args, config)
        if source is not None:
            sources.append(source)
    return sources


def build_enrichment(args: argparse.Namespace, config: Config) -> Enrichment:
    """Process attribution and name resolution for the Flows pane."""
    from netop.sources import names, procs

    # Flows read from a file happened elsewhere or earlier: matching them to this box's
    # sockets could only give wrong names, so there is no attribution for them.
    reading = bool(getattr(args, "read", None))
    return Enrichment(procs=None if reading else procs.resolver_from_config(config.raw),
                      names=names.resolver_from_config(config.raw),
                      local=procs.LocalAddresses(), service=names.service_name)


def run(args: argparse.Namespace, config: Config) -> int:
    """Start the TUI and block until the user quits."""
    from netop.ui.app import NetopApp
    from netop.ui.themes import load_themes

    themes = load_themes()
    themes.check(config.theme)
    if args.hide_idle:
        config = replace(config, hide_idle=True)
    engine = Engine(config, build_sources(args, config),
                    enrichment=build_enrichment(args, config))
    from netop.sources.names import names_enabled

    show_names = names_enabled(config.raw) and not getattr(args, "no_names", False)
    engine.view_spec = replace(engine.view_spec, names=show_names)
    NetopApp(engine, config, themes).run()
    return 0
