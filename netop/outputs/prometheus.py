"""Prometheus ``/metrics``: the latest snapshot, read at scrape time.

:class:`SnapshotMetrics` is a ``prometheus_client`` custom collector: the engine hands it
each snapshot (one reference swap) and a scrape builds the series from the latest one,
so there are no per-series objects to keep in step with interfaces that come and go.
Names follow node_exporter's (``netop_network_receive_bytes_total{device}``...) and
snmp_exporter's for SNMP interfaces (``if_name``, the target).

Cardinality is bounded: interfaces beyond ``max_interfaces`` (the busiest kept) and
exporters beyond ``top_n`` are summed into one ``other`` series; no label ever carries a
flow or a remote address beyond those top N.
"""

from __future__ import annotations

import base64
import hmac
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from netop import __version__
from netop.config import get_int, get_str
from netop.errors import ConfigError
from netop.model import InterfaceRate, Severity, Snapshot

#: Exporters (remote addresses) with their own label values; the rest are ``other``.
DEFAULT_TOP_N = 20
#: Interfaces with their own series; the rest are summed into ``device="other"``.
DEFAULT_MAX_INTERFACES = 2000
OTHER = "other"

#: (metric suffix, counter field, help) of the node_exporter-style interface counters.
_COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("receive_bytes_total", "rx_bytes", "Bytes received (cumulative counter)."),
    ("transmit_bytes_total", "tx_bytes", "Bytes sent (cumulative counter)."),
    ("receive_packets_total", "rx_packets", "Packets received."),
    ("transmit_packets_total", "tx_packets", "Packets sent."),
    ("receive_drop_total", "rx_drops", "Received packets dropped."),
    ("transmit_drop_total", "tx_drops", "Packets to send dropped."),
    ("receive_errs_total", "rx_errors", "Receive errors."),
    ("transmit_errs_total", "tx_errors", "Transmit errors."),
)
#: snmp_exporter's ``ifName`` written ``if_name``: promtool's lint wants snake_case labels.
_IF_LABELS = ("device", "origin", "target", "if_name")
#: Series besides interfaces and exporters: info, tick, flows, capture (4), series count.
_FIXED_SERIES = 10


@dataclass(frozen=True, slots=True)
class PrometheusSettings:
    """Where to serve and how much (flags over the ``[prometheus]`` section)."""

    host: str
    port: int
    top_n: int = DEFAULT_TOP_N
    max_interfaces: int = DEFAULT_MAX_INTERFACES
    user: str | None = None
    password: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None

    @property
    def url(self) -> str:
        """The address of /metrics."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls_cert else 'http'}://{host}:{self.port}/metrics"

    def max_series(self, targets: int = 0) -> int:
        """The most series one scrape can have (``targets``: SNMP targets)."""
        return ((self.max_interfaces + 1) * (len(_COUNTERS) + 2) + (self.top_n + 1) * 4
                + targets * 3 + _FIXED_SERIES)


def prometheus_settings(raw: Mapping[str, Any], flag: str | None) -> PrometheusSettings | None:
    """The settings when ``--prometheus`` or ``[prometheus] listen`` asks for an
    endpoint; each bad value is one :class:`ConfigError`."""
    listen = flag or get_str(raw, "prometheus.listen", "")
    if not listen:
        return None
    key = "--prometheus" if flag else "prometheus.listen"
    host, port = _listen(listen, key)
    user = get_str(raw, "prometheus.basic_auth_user", "") or None
    password = _password(raw)
    if (user is None) != (password is None):
        raise ConfigError("prometheus.basic_auth_user",
                          "basic auth needs both a user and a password")
    cert = get_str(raw, "prometheus.tls_cert_file", "") or None
    keyfile = get_str(raw, "prometheus.tls_key_file", "") or None
    if (cert is None) != (keyfile is None):
        raise ConfigError("prometheus.tls_cert_file", "TLS needs both tls_cert_file and "
                          "tls_key_file")
    return PrometheusSettings(
        host, port,
        top_n=get_int(raw, "prometheus.top_n", DEFAULT_TOP_N, low=1, high=1000),
        max_interfaces=get_int(raw, "prometheus.max_interfaces", DEFAULT_MAX_INTERFACES,
                               low=1, high=100_000),
        user=user, password=password, tls_cert=cert, tls_key=keyfile,
    )  # fmt: skip


def _listen(text: str, key: str) -> tuple[str, int]:
    host, port = "127.0.0.1", text
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif ":" in text:
        host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(key, f"expected [HOST:]PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def _password(raw: Mapping[str, Any]) -> str | None:
    if get_str(raw, "prometheus.basic_auth_password", ""):
        return get_str(raw, "prometheus.basic_auth_password", "")
    env = get_str(raw, "prometheus.basic_auth_password_env", "")
    if env:
        value = os.environ.get(env)
        if not value:
            raise ConfigError("prometheus.basic_auth_password_env", f"${env} is not set")
        return value
    path = get_str(raw, "prometheus.basic_auth_password_file", "")
    if path:
        try:
            with open(os.path.expanduser(path), encoding="utf-8") as handle:
                return handle.read().strip() or None
        except OSError as exc:
            raise ConfigError("prometheus.basic_auth_password_file",
                              exc.strerror or str(exc)) from None
    return None


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


class SnapshotMetrics:
    """The custom collector: series built from the latest snapshot at each scrape."""

    def __init__(self, top_n: int = DEFAULT_TOP_N,
                 max_interfaces: int = DEFAULT_MAX_INTERFACES) -> None:
        self.top_n = top_n
        self.max_interfaces = max_interfaces
        self._snapshot: Snapshot | None = None

    def update(self, snapshot: Snapshot) -> None:
        """Take the newest snapshot (a reference swap: atomic under the GIL)."""
        self._snapshot = snapshot

    def describe(self) -> list[Any]:
        """Nothing to describe up front (the registry must not call :meth:`collect`)."""
        return []

    def collect(self) -> Iterator[Any]:
        """Every family, from the latest snapshot."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        snap = self._snapshot
        families: list[Any] = []
        info = GaugeMetricFamily("netop_info", "netop's version and host.",
                                 labels=("version", "hostname"))
        info.add_metric((__version__, snap.hostname if snap else ""), 1.0)
        families.append(info)
        if snap is not None:
            families += self._interfaces(snap, CounterMetricFamily, GaugeMetricFamily)
            families += self._engine(snap, CounterMetricFamily, GaugeMetricFamily)
            families += self._snmp(snap, GaugeMetricFamily)
            families += self._exporters(snap, CounterMetricFamily)
        series = sum(len(f.samples) for f in families) + 1
        count = GaugeMetricFamily("netop_scrape_series", "Series in this scrape (bounded).")
        count.add_metric((), float(series))
        families.append(count)
        yield from families

    def _chosen(self, snap: Snapshot) -> tuple[list[InterfaceRate], list[InterfaceRate]]:
        rows = [r for r in snap.interfaces if r.name != "all"]
        if len(rows) <= self.max_interfaces:
            return rows, []
        # The busiest keep their own series; local ones first (this box's own).
        rows.sort(key=lambda r: (r.origin != "local", -((r.rx_bps or 0) + (r.tx_bps or 0))))
        return rows[: self.max_interfaces], rows[self.max_interfaces :]

    def _interfaces(self, snap: Snapshot, counter: Any, gauge: Any) -> list[Any]:
        kept, rest = self._chosen(snap)
        labels = [_if_labels(r) for r in kept]
        out = []
        for suffix, field, help_text in _COUNTERS:
            family = counter(f"netop_network_{suffix.removesuffix('_total')}", help_text,
                             labels=_IF_LABELS)
            for row, values in zip(kept, labels, strict=True):
                value = row.counters.get(field)
                if value is not None:
                    family.add_metric(values, float(value))
            if rest:
                total = sum(r.counters.get(field) or 0 for r in rest)
                family.add_metric((OTHER, OTHER, "", ""), float(total))
            out.append(family)
        up = gauge("netop_network_up", "1 when the interface is operationally up.",
                   labels=_IF_LABELS)
        speed = gauge("netop_network_speed_bytes", "Link speed in bytes per second.",
                      labels=_IF_LABELS)
        for row, values in zip(kept, labels, strict=True):
            if row.oper_up is not None:
                up.add_metric(values, 1.0 if row.oper_up else 0.0)
            if row.speed_bps:
                speed.add_metric(values, row.speed_bps / 8)
        return [*out, up, speed]

    def _engine(self, snap: Snapshot, counter: Any, gauge: Any) -> list[Any]:
        tick = gauge("netop_tick_duration_seconds", "Time the engine took for its last tick.")
        tick.add_metric((), snap.tick_seconds)
        flows = gauge("netop_flows", "Flows in the flow table.")
        flows.add_metric((), float(snap.flows.total_flows))
        out = [tick, flows]
        capture = snap.flow_stats.get("capture")
        if capture:
            for name, key, help_text in (
                ("netop_capture_packets", "packets", "Packets the capture counted."),
                ("netop_capture_kernel_drops", "kernel_drops", "Packets the kernel dropped "
                 "before the capture could read them."),
                ("netop_capture_malformed", "malformed", "Packets that could not be parsed."),
            ):
                family = counter(name, help_text)
                family.add_metric((), float(capture.get(key, 0)))
                out.append(family)
            sampling = gauge("netop_capture_sampling", "1-in-N packet sampling (1: every "
                             "packet).")
            sampling.add_metric((), float(capture.get("sampling", 1)))
            out.append(sampling)
        return out

    def _snmp(self, snap: Snapshot, gauge: Any) -> list[Any]:
        rows = [row for s in snap.sources if s.source == "snmp" for row in s.rows]
        if not rows:
            return []
        up = gauge("netop_snmp_up", "1 when the SNMP target answered its last poll.",
                   labels=("target",))
        latency = gauge("netop_snmp_latency_seconds", "Duration of the last poll.",
                        labels=("target",))
        avail = gauge("netop_snmp_availability_ratio", "Share of polls answered.",
                      labels=("target",))
        for row in rows:
            name = str(row.get("name", ""))
            if row.get("reachable") is not None:
                up.add_metric((name,), 1.0 if row["reachable"] else 0.0)
            if row.get("last_latency_ms") is not None:
                latency.add_metric((name,), float(row["last_latency_ms"]) / 1000)
            if row.get("availability_pct") is not None:
                avail.add_metric((name,), float(row["availability_pct"]) / 100)
        return [up, latency, avail]

    def _exporters(self, snap: Snapshot, counter: Any) -> list[Any]:
        rows = [row for s in snap.sources if s.source == "collector" for row in s.rows]
        if not rows:
            return []
        rows.sort(key=lambda r: -int(r.get("records", 0) or 0))
        top, rest = rows[: self.top_n], rows[self.top_n :]
        out = []
        for name, key, help_text in (
            ("netop_collector_datagrams", "datagrams", "Export datagrams received."),
            ("netop_collector_records", "records", "Flow records decoded."),
            ("netop_collector_sequence_lost", "seq_lost", "Records (NetFlow v5/IPFIX) or "
             "datagrams (v9/sFlow) lost by the exporter's sequence numbers."),
            ("netop_collector_malformed", "malformed", "Datagrams that could not be decoded."),
        ):
            family = counter(name, help_text, labels=("exporter", "protocol"))
            for row in top:
                family.add_metric((str(row.get("exporter", "")), str(row.get("protocol", ""))),
                                  float(row.get(key, 0) or 0))
            if rest:
                family.add_metric((OTHER, OTHER), float(sum(r.get(key, 0) or 0 for r in rest)))
            out.append(family)
        return out


def _if_labels(row: InterfaceRate) -> tuple[str, str, str, str]:
    kind, _, target = row.origin.partition(":")
    if kind == "snmp":
        return (row.name, row.origin, target, row.name)
    return (row.name, row.origin, "", "")


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        """Scrapes are not logged (the TUI owns the terminal)."""


def _with_basic_auth(app: Callable[..., Iterable[bytes]], user: str,
                     password: str) -> Callable[..., Iterable[bytes]]:
    expected = base64.b64encode(f"{user}:{password}".encode()).decode()

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        given = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "basic" or not hmac.compare_digest(token.strip(), expected):
            start_response("401 Unauthorized",
                           [("WWW-Authenticate", 'Basic realm="netop"'),
                            ("Content-Type", "text/plain")])
            return [b"unauthorized\n"]
        return app(environ, start_response)

    return guarded


class PrometheusSink:
    """Serves /metrics from the latest snapshot on its own thread."""

    name = "prometheus"

    def __init__(self, settings: PrometheusSettings) -> None:
        self.settings = settings
        self.metrics = SnapshotMetrics(settings.top_n, settings.max_interfaces)
        self.notices: list[tuple[Severity, str]] = []
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = settings.port

    def start(self) -> None:
        """Bind and serve (port 0: a free one, then in :attr:`port`)."""
        from prometheus_client import CollectorRegistry, make_wsgi_app
        from prometheus_client.process_collector import ProcessCollector

        if self._server is not None:
            return
        s = self.settings
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self.metrics)
        ProcessCollector(registry=registry)  # netop's own CPU and memory (process_*)
        app: Callable[..., Iterable[bytes]] = make_wsgi_app(registry)
        if s.user and s.password:
            app = _with_basic_auth(app, s.user, s.password)
        server = make_server(s.host, s.port, app, _Server6 if ":" in s.host else _Server,
                             handler_class=_QuietHandler)
        if s.tls_cert and s.tls_key:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(s.tls_cert, s.tls_key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self.port = server.server_port
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="prometheus",
                                        daemon=True)
        self._thread.start()
        settings = PrometheusSettings(s.host, self.port, s.top_n, s.max_interfaces, s.user,
                                      s.password, s.tls_cert, s.tls_key)
        self.notices.append((Severity.INFO, f"prometheus: serving {settings.url} "
                             f"(at most {s.max_series()} series plus 3 per SNMP target: "
                             f"{s.max_interfaces} interfaces, top {s.top_n} exporters, "
                             "the rest summed into 'other')"))
        if not _loopback(s.host) and not (s.user or s.tls_cert):
            self.notices.append((Severity.WARNING, f"prometheus: {s.host} is not a loopback "
                                 "address and neither basic auth nor TLS is configured: "
                                 "anyone who can reach it reads this box's traffic figures "
                                 "([prometheus] basic_auth_user, tls_cert_file)"))

    def consume(self, snapshot: Snapshot) -> None:
        """Keep the snapshot for the next scrape."""
        self.metrics.update(snapshot)

    def close(self) -> None:
        """Stop serving; safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
