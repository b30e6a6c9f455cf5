"""The flow collector as a netop Source: flows, sFlow interface counters, events, status.

Wiring: the TUI adds ``add_collector_arguments(parser)`` and, after parsing, appends
``collector_source_from_args(args, config)`` (when not None) to the engine's sources.
Each :meth:`CollectorSource.poll` returns one :class:`FlowBatch` per export protocol
that delivered flows this tick, the sFlow counter samples, new events and one
:class:`SourceStatus` (``source="collector"``) whose rows feed the Exporters view.
"""

from __future__ import annotations

import argparse
import ipaddress
import operator
from collections.abc import Mapping, Sequence
from typing import Any

from netop.config import DEFAULT_MAX_FLOWS, Config, get_float, get_int, get_section
from netop.errors import ConfigError
from netop.model import FlowBatch, FlowRecord, NetEvent, Severity, SourceStatus
from netop.sources.base import Emit, Source, SourceItem
from netop.sources.collector.decoder import Collector
from netop.sources.collector.exporters import Limits
from netop.sources.collector.records import FlowAggregator
from netop.sources.collector.server import DEFAULT_RCVBUF, CollectorServer, parse_listen

#: Default ports: NetFlow/IPFIX, IPFIX, sFlow.
DEFAULT_PORTS = (2055, 4739, 6343)


class CollectorSource(Source):
    """Receives NetFlow v5/v9, IPFIX and sFlow v5 on UDP and reports once per tick."""

    name = "collector"
    produces_flows = True
    produces_flows = True

    def __init__(
        self,
        listens: Sequence[tuple[str, int]],
        limits: Limits | None = None,
        allow: Sequence[str] = (),
        rcvbuf: int = DEFAULT_RCVBUF,
        max_flows: int = DEFAULT_MAX_FLOWS,
    ) -> None:
        self.collector = Collector(limits, allow, FlowAggregator(max_flows))
        self.server = CollectorServer(listens, self.collector, rcvbuf)
        #: Shown once as a warning event (and by ``netop collect`` on stderr).
        self.warning = open_warning(self.addresses, allow)
        self._last_poll: float | None = None
        self._last_counts: dict[str, tuple[int, int]] = {}
        self._last_drops = 0

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """Bound (host, port) of every listener."""
        return self.server.addresses

    def start(self, emit: Emit | None = None) -> None:
        """Start receiving (items are returned by :meth:`poll`, not pushed)."""
        self.server.start()

    def describe(self) -> str:
        """The listening addresses, e.g. ``"udp 127.0.0.1:2055"``."""
        return "udp " + ", ".join(f"{h}:{p}" for h, p in self.addresses)

    def poll(self, now: float) -> list[SourceItem]:
        """Flows, counter samples, events and the exporter status since the last poll."""
        with self.server.locked():
            flows = self.collector.flows.drain()
            skewed = self._check_clocks(flows, now)
            interfaces = self.collector.take_interfaces()
            events = self.collector.housekeeping(now)
            events.extend(skewed)
            rows, totals = self._rows(now)
        if self.warning is not None and self._last_poll is None:
            events.append(NetEvent(now, Severity.WARNING, "collector", self.warning))
        drops = self.server.kernel_drops()
        if drops > self._last_drops:
            events.append(
                NetEvent(
                    now,
                    Severity.WARNING,
                    "collector",
                    f"kernel dropped {drops - self._last_drops} export datagrams "
                    "(UDP receive buffer full)",
                )  # fmt: skip
            )
        self._last_drops = drops
        limited = self.collector.drops()
        stats = {
            **totals,
            "kernel_drops": drops,
            "overflow": self.collector.flows.overflow,
            **{f"limit_{name}": count for name, count in limited.items()},
        }
        items: list[SourceItem] = [
            FlowBatch(source=source, records=tuple(records), stats=dict(stats))
            for source, records in flows.items()
        ]
        items.extend(interfaces)
        items.extend(events)
        items.append(
            SourceStatus(
                source="collector",
                summary=self._summary(totals, drops, limited),
                rows=tuple(rows),
                ts=now,
            )
        )
        self._last_poll = now
        return items

    def _check_clocks(self, flows: Mapping[Any, Sequence[FlowRecord]],
                      now: float) -> list[NetEvent]:
        """Count the records dated in the future per exporter (beyond
        :data:`CLOCK_SLACK`); the first time an exporter does it, one event."""
        events: list[NetEvent] = []
        limit = now + CLOCK_SLACK
        exporters = self.collector.exporters
        for records in flows.values():
            if max(map(_LAST, records), default=0.0) <= limit:
                continue  # the usual case, checked at C speed
            for record in records:
                if record.last <= limit:
                    continue
                state = exporters.get(record.exporter or "")
                if state is None:
                    continue
                if not state.clock_skew:
                    events.append(NetEvent(
                        now, Severity.WARNING, "collector",
                        f"exporter {state.address}: flows dated {record.last - now:.0f} s in "
                        "the future (its clock is ahead of ours?); counted in clock_skew"))
                state.clock_skew += 1
                state.clock_ahead = max(state.clock_ahead, record.last - now)
        return events

    def _rows(self, now: float) -> tuple[list[dict[str, Any]], dict[str, int]]:
        span = now - self._last_poll if self._last_poll is not None else 0.0
        rows: list[dict[str, Any]] = []
        totals = {"exporters": 0, "datagrams": 0, "records": 0, "malformed": 0, "seq_lost": 0}
        exporters = self.collector.exporters
        for gone in [a for a in self._last_counts if a not in exporters]:
            del self._last_counts[gone]
        for address, state in sorted(exporters.items()):
            before = self._last_counts.get(address, (state.datagrams, state.records))
            rates = (0.0, 0.0)
            if span > 0:
                rates = ((state.datagrams - before[0]) / span, (state.records - before[1]) / span)
            self._last_counts[address] = (state.datagrams, state.records)
            rows.append(state.row(rates))
            totals["exporters"] += 1
            totals["datagrams"] += state.datagrams
            totals["records"] += state.records
            totals["malformed"] += state.malformed
            totals["seq_lost"] += state.seq_lost
        totals["refused"] = self.collector.refused
        totals["received"] = self.collector.datagrams + self.collector.refused
        return rows, totals

    def _summary(self, totals: Mapping[str, int], drops: int, limited: Mapping[str, int]) -> str:
        text = (
            f"{self.describe()}: {totals['exporters']} exporters, "
            f"{totals['received']} datagrams, "
            f"{totals['records']} records, {totals['seq_lost']} lost, "
            f"{totals['malformed']} malformed"
        )
        if totals.get("refused"):
            text += f", {totals['refused']} datagrams refused (not allowed)"
        hit = ", ".join(f"{name} {count}" for name, count in limited.items() if count)
        if hit:
            text += f", dropped by limits: {hit}"
        return text + (f", {drops} datagrams dropped (receive buffer full)" if drops else "")

    def stop(self) -> None:
        """Stop receiving and close the sockets (idempotent)."""
        self.server.stop()


def open_warning(listens: Sequence[tuple[str, int]], allow: Sequence[str]) -> str | None:
    """A warning when a listener accepts exports from beyond this host with no
    allow-list (UDP sources are trivially spoofed), else None."""
    if allow:
        return None
    exposed = []
    for host, port in listens:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            exposed.append(f"{host}:{port}")
    if not exposed:
        return None
    return (
        f"collector listens on {', '.join(exposed)} with no allow-list: any host can "
        "send (or spoof) exports; give --allow NETWORK[,NETWORK...] or collector.allow"
    )


def add_collector_arguments(parser: argparse.ArgumentParser) -> None:
    """``--collect [HOST:]PORT`` (repeatable) for the TUI."""
    parser.add_argument(
        "--collect",
        action="append",
        default=[],
        metavar="[HOST:]PORT",
        help="receive NetFlow v5/v9, IPFIX and sFlow on this UDP port (repeatable; "
        "default host 127.0.0.1; ports 2055, 4739, 6343 are the usual ones)",
    )
    parser.add_argument(
        "--collect-allow",
        action="append",
        default=[],
        metavar="NETWORK[,NETWORK]",
        help="accept exports only from these exporter networks (CIDR; repeatable; "
        "overrides collector.allow)",
    )


#: Seconds a record's end may lie ahead of our clock before it counts as dated in the
#: future (export batching and NTP noise stay well inside this).
CLOCK_SLACK = 5.0
_LAST = operator.itemgetter(FlowRecord._fields.index("last"))  # faster than attrgetter

#: ``[collector]`` limit keys: (name, default, low, high); see exporters.Limits.
_LIMIT_KEYS: tuple[tuple[str, int | float, int | float, int | float], ...] = (
    ("max_templates", 512, 1, 65535),
    ("template_lifetime", 1800.0, 1.0, 86400.0),
    ("max_pending_bytes", 1 << 20, 0, 1 << 30),
    ("pending_lifetime", 60.0, 0.0, 3600.0),
    ("max_exporters", 4096, 1, 1 << 20),
    ("max_pending_total", 64 << 20, 0, 1 << 32),
    ("max_template_fields", 256, 1, 65535),
    ("max_templates_per_datagram", 64, 1, 65535),
    ("max_template_bytes", 1 << 20, 1024, 1 << 30),
    ("max_template_bytes_total", 64 << 20, 1024, 1 << 32),
    ("compiles_per_second", 16, 1, 100_000),
    ("compiles_total_per_second", 64, 1, 100_000),
    ("template_cache", 1024, 1, 1 << 20),
    ("max_pending_items", 1024, 0, 1 << 24),
    ("max_pending_items_total", 65536, 0, 1 << 26),
    ("max_domains", 256, 1, 1 << 20),
    ("exporter_lifetime", 3600.0, 1.0, 7 * 86400.0),
    ("max_interfaces", 2048, 1, 1 << 20),
    ("max_interfaces_total", 16384, 1, 1 << 24),
)
#: The ``[collector]`` limit keys' names (the config's unknown-key check reads them).
LIMIT_KEY_NAMES: tuple[str, ...] = tuple(name for name, *_ in _LIMIT_KEYS)


def collector_settings(
    config: Config,
    listen: Sequence[str] = (),
    flag: str = "--collect",
    allow_args: Sequence[str] = (),
    allow_flag: str = "--allow",
) -> tuple[list[tuple[str, int]], Limits, list[str], int]:
    """Listen addresses, limits, allow-list and receive buffer from ``[collector]``.

    ``listen`` (the command line's ``flag``) overrides ``collector.listen``, and
    ``allow_args`` (``allow_flag``: comma-separated networks, repeatable) overrides
    ``collector.allow``.
    """
    section = get_section(config.raw, "collector")
    raw_listen: Any = list(listen) or section.get("listen", [])
    if isinstance(raw_listen, str | int):
        raw_listen = [raw_listen]
    if not isinstance(raw_listen, list):
        raise ConfigError("collector.listen", 'must be a list of "[HOST:]PORT" strings')
    key = flag if listen else "collector.listen"
    listens = [parse_listen(str(item), key) for item in raw_listen]
    allow: Any = section.get("allow", [])
    allow_key = "collector.allow"
    if allow_args:
        allow = [part.strip() for arg in allow_args for part in arg.split(",") if part.strip()]
        allow_key = allow_flag
    if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
        raise ConfigError(allow_key, "must be a list of addresses or networks")
    for item in allow:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(allow_key, f"not an address or network: {item!r}") from None
    values: dict[str, Any] = {}
    for name, default, low, high in _LIMIT_KEYS:
        key = f"collector.{name}"
        if isinstance(default, float):
            values[name] = get_float(config.raw, key, default, low=low, high=high)
        else:
            values[name] = get_int(config.raw, key, default, low=int(low), high=int(high))
    limits = Limits(**values)
    rcvbuf = get_int(config.raw, "collector.rcvbuf", DEFAULT_RCVBUF, low=65536, high=1 << 30)
    return listens, limits, list(allow), rcvbuf


def collector_source_from_args(args: argparse.Namespace, config: Config) -> CollectorSource | None:
    """A started-on-demand source when ``--collect`` or ``collector.listen`` asks for one."""
    listens, limits, allow, rcvbuf = collector_settings(
        config,
        getattr(args, "collect", []) or [],
        allow_args=getattr(args, "collect_allow", []) or [],
        allow_flag="--collect-allow",
    )
    if not listens:
        return None
    max_flows = get_int(config.raw, "collector.max_flows", DEFAULT_MAX_FLOWS, low=100,
                        high=10_000_000)
    return CollectorSource(listens, limits, allow, rcvbuf, max_flows)
