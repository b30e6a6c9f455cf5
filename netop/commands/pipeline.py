"""The one pipeline every command runs: sources from the flags, one :class:`Engine`.

The TUI, ``ifaces``, ``flows``, ``snmp`` and ``collect`` all build their sources with
:func:`build_sources` and their engine with :func:`build_engine`; what differs is the
view that reads the snapshots (the Textual app, or :mod:`netop.commands.output`).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Collection
from dataclasses import replace
from typing import TYPE_CHECKING

from netop.config import Config
from netop.engine.engine import MAX_REMOTE_ROWS, Engine
from netop.engine.flowview import Enrichment
from netop.engine.sinks import SnapshotSink
from netop.errors import ConfigError
from netop.sources.base import Source

if TYPE_CHECKING:
    from netop.engine.detect.detector import Detector
    from netop.outputs.actions import ActionsSink

#: Every kind of source, in the order they are built.
ALL_SOURCES: tuple[str, ...] = ("counters", "capture", "snmp", "collector", "syslog", "traps")


# Each factory imports its source when asked: a command pays only for its own sources
# (the SNMP source brings asyncio, the collector its decoders).
def _counters(args: argparse.Namespace, config: Config) -> Source | None:
    from netop.sources.counters import InterfaceCounters

    return InterfaceCounters(include=getattr(args, "iface_globs", None) or ())


def _capture(args: argparse.Namespace, config: Config) -> Source | None:
    from netop.sources.capture.options import capture_source_from_args

    return capture_source_from_args(args, config)


def _snmp(args: argparse.Namespace, config: Config) -> Source | None:
    from netop.sources.snmp.source import snmp_source_from_args

    return snmp_source_from_args(args, config)


def _collector(args: argparse.Namespace, config: Config) -> Source | None:
    from netop.sources.collector.source import collector_source_from_args

    return collector_source_from_args(args, config)


def _syslog(args: argparse.Namespace, config: Config) -> Source | None:
    from netop.sources.syslog.source import syslog_source_from_args

    return syslog_source_from_args(args, config)


def _traps(args: argparse.Namespace, config: Config) -> Source | None:
    from netop.sources.traps.source import trap_source_from_args

    return trap_source_from_args(args, config)


_FACTORIES: dict[str, Callable[[argparse.Namespace, Config], Source | None]] = {
    "counters": _counters,
    "capture": _capture,
    "snmp": _snmp,
    "collector": _collector,
    "syslog": _syslog,
    "traps": _traps,
}


def _export_ipfix(args: argparse.Namespace, config: Config) -> SnapshotSink | None:
    return _flow_export(args, config, 0)


def _export_netflow9(args: argparse.Namespace, config: Config) -> SnapshotSink | None:
    return _flow_export(args, config, 1)


def _flow_export(args: argparse.Namespace, config: Config, which: int) -> SnapshotSink | None:
    ipfix, netflow9 = getattr(args, "export_ipfix", None), getattr(args, "export_netflow9", None)
    if not (ipfix or netflow9 or "export" in config.raw):
        return None  # before the imports: a run without outputs does not load them
    from netop.outputs.ipfix_export import FlowExportSink, export_settings
    from netop.sources.capture.options import options_from_args

    active = options_from_args(args, config).active_timeout
    wanted = [s for s in export_settings(config.raw, ipfix, netflow9, active)
              if s.version == (10, 9)[which]]
    return FlowExportSink(wanted[0]) if wanted else None


def _prometheus(args: argparse.Namespace, config: Config) -> SnapshotSink | None:
    if not (getattr(args, "prometheus", None) or "prometheus" in config.raw):
        return None
    from netop.outputs.prometheus import PrometheusSink, prometheus_settings

    settings = prometheus_settings(config.raw, getattr(args, "prometheus", None))
    return PrometheusSink(settings) if settings is not None else None


def _record(args: argparse.Namespace, config: Config) -> SnapshotSink | None:
    if not (getattr(args, "record", None) or "record" in config.raw):
        return None
    from netop.outputs.record import recorder_from_args

    return recorder_from_args(args, config)


def _actions(args: argparse.Namespace, config: Config) -> SnapshotSink | None:
    return build_actions(args, config)


def build_actions(args: argparse.Namespace, config: Config) -> ActionsSink | None:
    """The ``[[alerts.actions]]`` sink; None without actions or with ``--no-actions``."""
    if "alerts" not in config.raw:
        return None
    from netop.engine.detect.settings import alert_settings

    actions = alert_settings(config.raw).actions
    if not actions or getattr(args, "no_actions", False):
        return None
    from netop.outputs.actions import ActionsSink

    return ActionsSink(actions)


#: Every kind of snapshot sink (``netop.outputs``), in the order they are built. Each
#: factory returns ``None`` when the flags and config don't ask for it.
_SINK_FACTORIES: dict[str, Callable[[argparse.Namespace, Config], SnapshotSink | None]] = {
    "export-ipfix": _export_ipfix,
    "export-netflow9": _export_netflow9,
    "prometheus": _prometheus,
    "record": _record,
    "actions": _actions,
}


def announce_sinks(engine: Engine) -> None:
    """Print what the started outputs have to say (where /metrics is served, warnings)
    on stderr: the headless commands' equivalent of the TUI's event log. An output that
    could not start (a port in use) is an error: one line, exit 2."""
    import sys

    from netop.errors import NetopError

    if engine.sink_failures:
        raise NetopError(engine.sink_failures[0])
    for sink in engine.sinks:
        for _, text in getattr(sink, "notices", ()):
            print(f"netop: {text}", file=sys.stderr, flush=True)


def build_sinks(args: argparse.Namespace, config: Config) -> list[SnapshotSink]:
    """The outputs the flags and config ask for, handed every snapshot by the engine."""
    sinks: list[SnapshotSink] = []
    for factory in _SINK_FACTORIES.values():
        sink = factory(args, config)
        if sink is not None:
            sinks.append(sink)
    return sinks


def build_sources(
    args: argparse.Namespace, config: Config, kinds: Collection[str] = ALL_SOURCES
) -> list[Source]:
    """The sources of ``kinds`` that the flags and config ask for (counters always).

    The factories read the TUI's flag names (``-i``/``-r``, ``--snmp``, ``--collect``);
    a subcommand with its own spelling sets those attributes before calling this.
    """
    sources: list[Source] = []
    for kind in ALL_SOURCES:
        if kind in kinds:
            source = _FACTORIES[kind](args, config)
            if source is not None:
                sources.append(source)
    link_sources(sources)
    return sources


def link_sources(sources: list[Source]) -> None:
    """Traps name an interface by ifIndex: the SNMP poller, when it polls the sender,
    knows its name (a lookup the trap source calls; data still flows to the engine)."""
    snmp = next((s for s in sources if s.name == "snmp"), None)
    traps = next((s for s in sources if s.name == "traps"), None)
    if snmp is None or traps is None:
        return
    from netop.sources.snmp.source import SnmpSource
    from netop.sources.traps.source import TrapSource

    if isinstance(snmp, SnmpSource) and isinstance(traps, TrapSource):
        traps.set_resolver(snmp.interface_name)


def named_interfaces(args: argparse.Namespace, config: Config) -> tuple[str, ...]:
    """The interfaces the user named (``-i`` or ``[capture] interfaces``; ``any`` names
    none): the header total and the ``all`` row are over these."""
    from netop.sources.capture.options import options_from_args

    return tuple(i for i in options_from_args(args, config).interfaces if i != "any")


def live_capture(args: argparse.Namespace, sources: list[Source]) -> bool:
    """Whether flows are captured here and now (not read from a file)."""
    return not getattr(args, "read", None) and any(
        source.produces_flows and source.name == "capture" for source in sources)


def build_enrichment(
    args: argparse.Namespace, config: Config, sources: list[Source]
) -> Enrichment:
    """Process attribution and name resolution for the flows.

    Processes are looked up only for a live capture: flows read from a file happened
    elsewhere or earlier (matching them to this box's sockets could only give wrong
    names), exported flows are other boxes' traffic, and without flows the socket-table
    reader would cost CPU for nothing.
    """
    from netop.enrich import names, procs

    live = live_capture(args, sources)
    return Enrichment(procs=procs.resolver_from_config(config.raw) if live else None,
                      names=names.resolver_from_config(config.raw),
                      local=procs.LocalAddresses(), service=names.service_name)


def build_engine(
    args: argparse.Namespace,
    config: Config,
    sources: list[Source],
    keep_ended: bool | None = None,
    keep_expired: bool = False,
    enrich: bool = True,
    sinks: list[SnapshotSink] | None = None,
    event_capacity: int = 1000,
    detector: Detector | None = None,
    detect: bool = True,
) -> Engine:
    """The engine over ``sources``, its flow table bounded as the flags and config say.

    ``keep_ended``: ended flows stay listed (default: when a recording is played, as in
    the TUI); ``keep_expired``: they are also handed out by :meth:`Engine.drain_ended`.
    ``enrich``: processes and names (a view that shows neither may do without).
    ``sinks``: the outputs (default: those :func:`build_sinks` finds in the flags).
    ``event_capacity``: events the log keeps (a headless command printing a flood of
    pushed events needs a tick's worth).
    ``detector``: detection (default: the config's, plus ``--watchlist`` files).
    ``detect``: False for a command that shows no alerts: the engine makes the config's
    detector only if something asks for it.
    """
    from netop.sources.capture.options import options_from_args

    opts = options_from_args(args, config)
    enrichment = (build_enrichment(args, config, sources)
                  if enrich and any(s.produces_flows for s in sources) else None)
    remote_rows = MAX_REMOTE_ROWS
    for source in sources:
        if source.name == "collector":
            from netop.sources.collector.source import CollectorSource

            if isinstance(source, CollectorSource):
                remote_rows = source.collector.limits.max_interfaces_total
    return Engine(config, sources, enrichment=enrichment,
                  total_of=named_interfaces(args, config), max_flows=opts.max_flows,
                  idle_timeout=opts.idle_timeout, active_timeout=opts.active_timeout,
                  keep_ended=keep_ended, keep_expired=keep_expired,
                  max_remote_rows=remote_rows, event_capacity=event_capacity,
                  sinks=build_sinks(args, config) if sinks is None else sinks,
                  detector=detector or (build_detector(args, config) if detect else None))


def build_detector(args: argparse.Namespace, config: Config) -> Detector:
    """The detector of the config plus ``--watchlist`` files (a missing one: exit 2)."""
    from netop.engine.detect.detector import Detector
    from netop.engine.detect.settings import alert_settings

    settings = alert_settings(config.raw)
    extra = tuple(getattr(args, "watchlist", None) or ())
    for path in extra:
        if not os.path.isfile(path):
            raise ConfigError("--watchlist", f"no such file: {path}")
    if extra:
        settings = replace(settings, watchlist_files=settings.watchlist_files + extra)
    detector = Detector(settings, config.interval)
    seed = getattr(args, "baseline_from", None) or settings.detect.baseline_from
    if seed:
        seed_baselines(detector, os.path.expanduser(seed), settings.detect.band_samples)
    return detector


def seed_baselines(detector: Detector, path: str, samples: int) -> None:
    """``--baseline-from``: the detector's interface baselines from ``path``'s last day;
    a file that is no recording ends the command (exit 2)."""
    from netop.engine.baseline_seed import recorded_rates
    from netop.engine.recording import RecordingError

    try:
        ticks = recorded_rates(path, time.time(), samples)
    except RecordingError as exc:
        raise ConfigError("--baseline-from", str(exc)) from exc
    detector.seed(ticks)
