"""The interactive TUI (``netop`` with no subcommand)."""

from __future__ import annotations

import argparse
from dataclasses import replace

from netop.config import Config
from netop.engine.engine import Engine
from netop.engine.flowview import Enrichment
from netop.sources.base import Source
from netop.sources.capture.options import (
    add_capture_arguments,
    capture_source_from_args,
    options_from_args,
)
from netop.sources.capture.source import CaptureSource
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


def named_interfaces(args: argparse.Namespace, config: Config) -> tuple[str, ...]:
    """The interfaces the user named (``-i`` or ``[capture] interfaces``; ``any`` names
    none): the header total and the ``all`` row are over these."""
    return tuple(i for i in options_from_args(args, config).interfaces if i != "any")


def build_enrichment(
    args: argparse.Namespace, config: Config, sources: list[Source]
) -> Enrichment:
    """Process attribution and name resolution for the Flows pane.

    Processes are looked up only for a live capture: flows read from a file happened
    elsewhere or earlier (matching them to this box's sockets could only give wrong
    names), exported flows are other boxes' traffic, and without flows the socket-table
    reader would cost CPU for nothing.
    """
    from netop.enrich import names, procs

    live = not getattr(args, "read", None) and any(
        isinstance(source, CaptureSource) for source in sources)
    return Enrichment(procs=procs.resolver_from_config(config.raw) if live else None,
                      names=names.resolver_from_config(config.raw),
                      local=procs.LocalAddresses(), service=names.service_name)


def build_engine(args: argparse.Namespace, config: Config, sources: list[Source]) -> Engine:
    """The TUI's engine, its flow table bounded as the flags and config say."""
    opts = options_from_args(args, config)
    return Engine(config, sources, enrichment=build_enrichment(args, config, sources),
                  total_of=named_interfaces(args, config), max_flows=opts.max_flows,
                  idle_timeout=opts.idle_timeout, active_timeout=opts.active_timeout)


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
