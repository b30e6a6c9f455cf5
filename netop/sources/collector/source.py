"""The flow collector as a netop Source: flows, sFlow interface counters, events, status.

Wiring: the TUI adds ``add_collector_arguments(parser)`` and, after parsing, appends
``collector_source_from_args(args, config)`` (when not None) to the engine's sources.
Each :meth:`CollectorSource.poll` returns one :class:`FlowBatch` per export protocol
that delivered flows this tick, the sFlow counter samples, new events and one
:class:`SourceStatus` (``source="collector"``) whose rows feed the Exporters view.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from netop.config import Config, get_float, get_int, get_section
from netop.errors import ConfigError
from netop.model import FlowBatch, NetEvent, Severity, SourceStatus
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
        max_flows: int = 200_000,
    ) -> None:
        self.collector = Collector(limits, allow, FlowAggregator(max_flows))
        self.server = CollectorServer(listens, self.collector, rcvbuf)
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
        with self.server.lock:
            flows = self.collector.flows.drain()
            interfaces = self.collector.take_interfaces()
            events = self.collector.housekeeping(now)
            rows, totals = self._rows(now)
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
        stats = {
            **totals,
            "kernel_drops": drops,
            "overflow": self.collector.flows.overflow,
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
                summary=self._summary(totals, drops),
                rows=tuple(rows),
                ts=now,
            )
        )
        self._last_poll = now
        return items

    def _rows(self, now: float) -> tuple[list[dict[str, Any]], dict[str, int]]:
        span = now - self._last_poll if self._last_poll is not None else 0.0
        rows: list[dict[str, Any]] = []
        totals = {"exporters": 0, "datagrams": 0, "records": 0, "malformed": 0, "seq_lost": 0}
        for address, state in sorted(self.collector.exporters.items()):
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
        return rows, totals

    def _summary(self, totals: Mapping[str, int], drops: int) -> str:
        text = (
            f"{self.describe()}: {totals['exporters']} exporters, "
            f"{totals['records']} records, {totals['seq_lost']} lost, "
            f"{totals['malformed']} malformed"
        )
        return text + (f", {drops} datagrams dropped (receive buffer full)" if drops else "")

    def stop(self) -> None:
        """Stop receiving and close the sockets (idempotent)."""
        self.server.stop()


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


def collector_settings(
    config: Config, listen: Sequence[str] = (), flag: str = "--collect"
) -> tuple[list[tuple[str, int]], Limits, list[str], int]:
    """Listen addresses, limits, allow-list and receive buffer from ``[collector]``.

    ``listen`` (the command line's ``flag``) overrides ``collector.listen``.
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
    if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
        raise ConfigError("collector.allow", "must be a list of addresses or networks")
    import ipaddress

    for item in allow:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError("collector.allow", f"not an address or network: {item!r}") from None
    limits = Limits(
        max_templates=get_int(config.raw, "collector.max_templates", 512, low=1, high=65535),
        template_lifetime=get_float(
            config.raw, "collector.template_lifetime", 1800.0, low=1.0, high=86400.0
        ),
        max_pending_bytes=get_int(
            config.raw, "collector.max_pending_bytes", 1 << 20, low=0, high=1 << 30
        ),
        pending_lifetime=get_float(
            config.raw, "collector.pending_lifetime", 60.0, low=0.0, high=3600.0
        ),
        max_exporters=get_int(config.raw, "collector.max_exporters", 4096, low=1, high=1 << 20),
        max_pending_total=get_int(
            config.raw, "collector.max_pending_total", 64 << 20, low=0, high=1 << 32
        ),
    )
    rcvbuf = get_int(config.raw, "collector.rcvbuf", DEFAULT_RCVBUF, low=65536, high=1 << 30)
    return listens, limits, list(allow), rcvbuf


def collector_source_from_args(args: argparse.Namespace, config: Config) -> CollectorSource | None:
    """A started-on-demand source when ``--collect`` or ``collector.listen`` asks for one."""
    listens, limits, allow, rcvbuf = collector_settings(config, getattr(args, "collect", []) or [])
    if not listens:
        return None
    max_flows = get_int(config.raw, "collector.max_flows", 200_000, low=100, high=10_000_000)
    return CollectorSource(listens, limits, allow, rcvbuf, max_flows)
