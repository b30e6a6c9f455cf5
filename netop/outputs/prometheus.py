"""Prometheus ``/metrics``: the latest snapshot, read at scrape time.

:class:`SnapshotMetrics` works as a custom collector: the engine hands it each snapshot
(one reference swap) and a scrape builds the series from the latest one, so there are no
per-series objects to keep in step with interfaces that come and go. It renders the
text exposition format itself (``prometheus_client``'s generic families cost 100 ms of
CPU a scrape at 1,000 interfaces, ``bench/prometheus.py``); prometheus_client adds its
process collector (``process_*``: netop's CPU and memory).
Names follow node_exporter's (``netop_network_receive_bytes_total{device}``...) and
snmp_exporter's for SNMP interfaces (``if_name``, the target).

Cardinality is bounded: interfaces beyond ``max_interfaces`` (the busiest kept) and
exporters beyond ``top_n`` are summed into one ``other`` series; no label ever carries a
flow or a remote address beyond those top N.
"""

from __future__ import annotations

import base64
import hmac
import math
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from netop import __version__
from netop.config import get_int, get_str
from netop.errors import ConfigError
from netop.model import AlertSeverity, InterfaceRate, KpiGroup, Severity, Snapshot

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
#: KPIs per service: (metric, KpiGroup attribute, scale to the metric's unit, help).
_KPI_GAUGES: tuple[tuple[str, str, float, str], ...] = (
    ("netop_kpi_connections", "flows", 1.0, "Connections (flows) of the service in the table."),
    ("netop_kpi_success_ratio", "success_pct", 0.01, "Share of its TCP connections that "
     "completed (Zeek SF/S1 against S0/REJ/RST*)."),
    ("netop_kpi_rtt_p50_seconds", "rtt_ms_p50", 0.001, "Median TCP handshake RTT."),
    ("netop_kpi_rtt_p95_seconds", "rtt_ms_p95", 0.001, "95th percentile TCP handshake RTT."),
    ("netop_kpi_retrans_ratio", "retrans_pct", 0.01, "Retransmitted share of TCP segments."),
    ("netop_kpi_ttfb_p50_seconds", "ttfb_ms_p50", 0.001, "Median server response time."),
    ("netop_kpi_dns_p50_seconds", "dns_ms_p50", 0.001, "Median DNS response time."),
    ("netop_kpi_dns_failures", "dns_failures", 1.0, "DNS answers that failed (SERVFAIL, "
     "REFUSED...) or never came."),
)  # fmt: skip
#: Alert series: one per kind and severity (the kinds are netop's own, a fixed set).
_ALERT_SERIES = 12 * len(AlertSeverity) + 1


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
                + (self.top_n + 1) * len(_KPI_GAUGES) + _ALERT_SERIES
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


def _escape(value: str) -> str:
    """A label value as the text exposition format wants it (names come off the network)."""
    return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


def _labels(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    return "{" + ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)) + "}"


def _num(value: float) -> str:
    if type(value) is int:
        return str(value)
    if math.isfinite(value):
        return repr(float(value))
    return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")


class _Family:
    """One metric family, rendered straight to text (prometheus_client's generic
    families cost ~10 us a sample: 100 ms a scrape at 1,000 interfaces)."""

    __slots__ = ("name", "help", "kind", "labels", "sample", "lines")

    def __init__(self, name: str, help_text: str, kind: str, labels: Sequence[str] = ()) -> None:
        self.name, self.help, self.kind, self.labels = name, help_text, kind, tuple(labels)
        self.sample = name + "_total" if kind == "counter" else name
        self.lines: list[str] = []

    def add(self, values: Sequence[str], value: float) -> None:
        """One sample with these label values."""
        self.lines.append(f"{self.sample}{_labels(self.labels, values)} {_num(value)}")

    def add_labelled(self, labels: str, value: float) -> None:
        """One sample whose label text (``{...}``) is already rendered."""
        self.lines.append(f"{self.sample}{labels} {_num(value)}")

    def text(self) -> str:
        """HELP, TYPE and the samples (an empty family: HELP and TYPE only)."""
        help_text = self.help.replace("\\", "\\\\").replace("\n", "\\n")
        # Text format 0.0.4 names a counter's family with its _total, as its samples.
        head = f"# HELP {self.sample} {help_text}\n# TYPE {self.sample} {self.kind}\n"
        return head + "".join(line + "\n" for line in self.lines)


class SnapshotMetrics:
    """The series of the latest snapshot, built at each scrape (no per-series state)."""

    def __init__(self, top_n: int = DEFAULT_TOP_N,
                 max_interfaces: int = DEFAULT_MAX_INTERFACES) -> None:
        self.top_n = top_n
        self.max_interfaces = max_interfaces
        self._snapshot: Snapshot | None = None

    def update(self, snapshot: Snapshot) -> None:
        """Take the newest snapshot (a reference swap: atomic under the GIL)."""
        self._snapshot = snapshot

    def families(self) -> list[_Family]:
        """Every family, from the latest snapshot."""
        snap = self._snapshot
        families: list[_Family] = []
        info = _Family("netop_info", "netop's version and host.", "gauge",
                       ("version", "hostname"))
        info.add((__version__, snap.hostname if snap else ""), 1.0)
        families.append(info)
        if snap is not None:
            families += self._interfaces(snap)
            families += self._engine(snap)
            families += self._snmp(snap)
            families += self._exporters(snap)
            families += self._kpis(snap.service_kpis)
            families += self._alerts(snap)
        series = sum(len(f.lines) for f in families) + 1
        count = _Family("netop_scrape_series", "Series in this scrape (bounded).", "gauge")
        count.add((), series)
        families.append(count)
        return families

    def render(self) -> bytes:
        """The text exposition (format 0.0.4) of :meth:`families`."""
        return "".join(f.text() for f in self.families()).encode()

    def _chosen(self, snap: Snapshot) -> tuple[list[InterfaceRate], list[InterfaceRate]]:
        rows = [r for r in snap.interfaces if r.name != "all"]
        if len(rows) <= self.max_interfaces:
            return rows, []
        # The busiest keep their own series; local ones first (this box's own).
        rows.sort(key=lambda r: (r.origin != "local", -((r.rx_bps or 0) + (r.tx_bps or 0))))
        return rows[: self.max_interfaces], rows[self.max_interfaces :]

    def _interfaces(self, snap: Snapshot) -> list[_Family]:
        kept, rest = self._chosen(snap)
        labels = [_labels(_IF_LABELS, _if_labels(r)) for r in kept]
        out = []
        for suffix, field, help_text in _COUNTERS:
            family = _Family(f"netop_network_{suffix.removesuffix('_total')}", help_text,
                             "counter", _IF_LABELS)
            add = family.lines.append
            sample = family.sample
            for row, text in zip(kept, labels, strict=True):
                value = row.counters.get(field)
                if value is not None:
                    add(f"{sample}{text} {_num(value)}")
            if rest:
                family.add((OTHER, OTHER, "", ""), sum(r.counters.get(field) or 0 for r in rest))
            out.append(family)
        up = _Family("netop_network_up", "1 when the interface is operationally up.", "gauge",
                     _IF_LABELS)
        speed = _Family("netop_network_speed_bytes", "Link speed in bytes per second.",
                        "gauge", _IF_LABELS)
        for row, text in zip(kept, labels, strict=True):
            if row.oper_up is not None:
                up.add_labelled(text, 1 if row.oper_up else 0)
            if row.speed_bps:
                speed.add_labelled(text, row.speed_bps / 8)
        return [*out, up, speed]

    def _engine(self, snap: Snapshot) -> list[_Family]:
        tick = _Family("netop_tick_duration_seconds", "Time the engine took for its last "
                       "tick.", "gauge")
        tick.add((), snap.tick_seconds)
        flows = _Family("netop_flows", "Flows in the flow table.", "gauge")
        flows.add((), snap.flows.total_flows)
        out = [tick, flows]
        capture = snap.flow_stats.get("capture")
        if capture:
            for name, key, help_text in (
                ("netop_capture_packets", "packets", "Packets the capture counted."),
                ("netop_capture_kernel_drops", "kernel_drops", "Packets the kernel dropped "
                 "before the capture could read them."),
                ("netop_capture_malformed", "malformed", "Packets that could not be parsed."),
            ):
                family = _Family(name, help_text, "counter")
                family.add((), int(capture.get(key, 0)))
                out.append(family)
            sampling = _Family("netop_capture_sampling", "1-in-N packet sampling (1: every "
                               "packet).", "gauge")
            sampling.add((), int(capture.get("sampling", 1)))
            out.append(sampling)
        return out

    def _snmp(self, snap: Snapshot) -> list[_Family]:
        rows = [row for s in snap.sources if s.source == "snmp" for row in s.rows]
        if not rows:
            return []
        target = ("target",)
        up = _Family("netop_snmp_up", "1 when the SNMP target answered its last poll.",
                     "gauge", target)
        latency = _Family("netop_snmp_latency_seconds", "Duration of the last poll.", "gauge",
                          target)
        avail = _Family("netop_snmp_availability_ratio", "Share of polls answered.", "gauge",
                        target)
        for row in rows:
            name = (str(row.get("name", "")),)
            if row.get("reachable") is not None:
                up.add(name, 1 if row["reachable"] else 0)
            if row.get("last_latency_ms") is not None:
                latency.add(name, float(row["last_latency_ms"]) / 1000)
            if row.get("availability_pct") is not None:
                avail.add(name, float(row["availability_pct"]) / 100)
        return [up, latency, avail]

    def _kpis(self, groups: Sequence[KpiGroup]) -> list[_Family]:
        """KPIs of the top-N services by connections; the rest's connections summed into
        ``service="other"`` (their percentiles do not add up)."""
        if not groups:
            return []
        ranked = sorted(groups, key=lambda g: (-g.flows, g.key))
        top, rest = ranked[: self.top_n], ranked[self.top_n :]
        out = []
        for name, attr, scale, help_text in _KPI_GAUGES:
            family = _Family(name, help_text, "gauge", ("service",))
            for group in top:
                value = getattr(group, attr)
                if value is not None:
                    family.add((group.key,), value * scale if scale != 1.0 else value)
            if rest and attr == "flows":
                family.add((OTHER,), sum(g.flows for g in rest))
            out.append(family)
        return out

    def _alerts(self, snap: Snapshot) -> list[_Family]:
        firing = _Family("netop_alerts_firing", "Active alerts (deduplicated: one per kind "
                         "and entity) by kind and severity.", "gauge", ("kind", "severity"))
        counts: dict[tuple[str, str], int] = {}
        for alert in snap.alerts:
            if alert.active:
                key = (alert.kind, alert.severity.name.lower())
                counts[key] = counts.get(key, 0) + 1
        for key in sorted(counts):
            firing.add(key, counts[key])
        total = _Family("netop_alerts", "Alerts fired since netop started.", "counter")
        total.add((), snap.alerts_total)
        return [firing, total]

    def _exporters(self, snap: Snapshot) -> list[_Family]:
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
            family = _Family(name, help_text, "counter", ("exporter", "protocol"))
            for row in top:
                family.add((str(row.get("exporter", "")), str(row.get("protocol", ""))),
                           int(row.get(key, 0) or 0))
            if rest:
                family.add((OTHER, OTHER), int(sum(r.get(key, 0) or 0 for r in rest)))
            out.append(family)
        return out


def _if_labels(row: InterfaceRate) -> tuple[str, str, str, str]:
    kind, _, target = row.origin.partition(":")
    if kind == "snmp":
        return (row.name, row.origin, target, row.name)
    return (row.name, row.origin, "", "")


def _metrics_app(metrics: SnapshotMetrics) -> Callable[..., Iterable[bytes]]:
    """The WSGI app of /metrics: netop's series, then prometheus_client's process
    collector (netop's own CPU, memory, open files: ``process_*``)."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.process_collector import ProcessCollector

    process = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=process)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "/") not in ("/", "/metrics"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: see /metrics\n"]
        body = metrics.render() + generate_latest(process)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return app


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
    #: The engine aggregates KPIs per service for it (``Snapshot.service_kpis``).
    wants_service_kpis = True

    def __init__(self, settings: PrometheusSettings) -> None:
        self.settings = settings
        self.metrics = SnapshotMetrics(settings.top_n, settings.max_interfaces)
        self.notices: list[tuple[Severity, str]] = []
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = settings.port

    def start(self) -> None:
        """Bind and serve (port 0: a free one, then in :attr:`port`)."""
        if self._server is not None:
            return
        s = self.settings
        app: Callable[..., Iterable[bytes]] = _metrics_app(self.metrics)
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
