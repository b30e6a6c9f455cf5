"""/metrics from a snapshot: node_exporter names, bounded labels, promtool's check,
basic auth, and the warning for an exposed endpoint."""

from __future__ import annotations

import base64
import shutil
import subprocess
import urllib.error
import urllib.request
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from netop.errors import ConfigError
from netop.model import FlowsView, InterfaceRate, Severity, Snapshot, SourceStatus
from netop.outputs.prometheus import (
    PrometheusSettings,
    PrometheusSink,
    SnapshotMetrics,
    prometheus_settings,
)

COUNTERS = {"rx_bytes": 1000, "tx_bytes": 2000, "rx_packets": 10, "tx_packets": 20,
            "rx_drops": 1, "tx_drops": 2, "rx_errors": 3, "tx_errors": 4}  # fmt: skip


def _rate(origin: str, name: str, scale: int = 1, bps: float = 0.0) -> InterfaceRate:
    return InterfaceRate(origin, name, 100.0, bps, bps, 1.0, 1.0, {},
                         {k: v * scale for k, v in COUNTERS.items()}, 1_000_000_000, True)


def _snapshot(interfaces: list[InterfaceRate], exporters: int = 0) -> Snapshot:
    rows = tuple({"exporter": f"192.0.2.{i}", "protocol": "ipfix", "datagrams": i,
                  "records": 10 * i, "seq_lost": 1, "malformed": 0} for i in range(exporters))
    snmp = {"name": "core1", "reachable": True, "last_latency_ms": 12.5,
            "availability_pct": 99.0}
    sources = (SourceStatus("collector", "", rows), SourceStatus("snmp", "", (snmp,)))
    return Snapshot(100.0, 1, "box", "eth0", 1.0, interfaces=tuple(interfaces), sources=sources,
                    flows=FlowsView(total_flows=7),
                    flow_stats={"capture": {"packets": 500, "kernel_drops": 3, "sampling": 1}},
                    tick_seconds=0.002)  # fmt: skip


def _scrape(metrics: SnapshotMetrics) -> str:
    return metrics.render().decode()


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def test_node_exporter_names_and_snmp_labels() -> None:
    metrics = SnapshotMetrics()
    metrics.update(_snapshot([_rate("local", "eth0"), _rate("snmp:core1", "ge-0/0/1", 3)]))
    got = _samples(_scrape(metrics))
    local = frozenset({("device", "eth0"), ("origin", "local"), ("target", ""), ("if_name", "")})
    snmp = frozenset({("device", "ge-0/0/1"), ("origin", "snmp:core1"), ("target", "core1"),
                      ("if_name", "ge-0/0/1")})  # fmt: skip
    assert got[("netop_network_receive_bytes_total", local)] == 1000
    assert got[("netop_network_transmit_errs_total", snmp)] == 12
    assert got[("netop_network_receive_drop_total", local)] == 1
    assert got[("netop_network_up", snmp)] == 1
    assert got[("netop_network_speed_bytes", local)] == 125_000_000
    assert got[("netop_snmp_up", frozenset({("target", "core1")}))] == 1
    assert got[("netop_snmp_latency_seconds", frozenset({("target", "core1")}))] == 0.0125
    assert got[("netop_capture_kernel_drops_total", frozenset())] == 3
    assert got[("netop_flows", frozenset())] == 7
    assert got[("netop_tick_duration_seconds", frozenset())] == 0.002


def test_exporters_beyond_top_n_and_interfaces_beyond_the_cap_are_summed_as_other() -> None:
    metrics = SnapshotMetrics(top_n=20, max_interfaces=3)
    rows = [_rate("local", f"if{i}", 1, bps=float(i)) for i in range(5)]
    metrics.update(_snapshot(rows, exporters=25))
    got = _samples(_scrape(metrics))
    records = {dict(labels)["exporter"]: v for (name, labels), v in got.items()
               if name == "netop_collector_records_total"}
    assert len(records) == 21
    assert records["other"] == sum(10 * i for i in range(5))  # the five least busy
    devices = {dict(labels)["device"]: v for (name, labels), v in got.items()
               if name == "netop_network_receive_bytes_total"}
    assert set(devices) == {"if4", "if3", "if2", "other"}  # the busiest keep their own
    assert devices["other"] == 2000
    series = got[("netop_scrape_series", frozenset())]
    assert series == sum(1 for name, _ in got if not name.startswith("process_"))


def test_promtool_accepts_the_exposition() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    metrics = SnapshotMetrics()
    metrics.update(_snapshot([_rate("local", "eth0"), _rate("snmp:core1", "ge-0/0/1")], 3))
    done = subprocess.run([promtool, "check", "metrics"], input=_scrape(metrics),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == ""
    assert done.stderr.strip() == ""


def _get(url: str, auth: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_basic_auth_guards_the_endpoint() -> None:
    sink = PrometheusSink(PrometheusSettings("127.0.0.1", 0, user="prom", password="s3cret"))
    sink.start()
    try:
        sink.consume(_snapshot([_rate("local", "eth0")]))
        url = f"http://127.0.0.1:{sink.port}/metrics"
        assert _get(url)[0] == 401
        assert _get(url, "prom:wrong")[0] == 401
        status, text = _get(url, "prom:s3cret")
        assert status == 200
        assert "netop_network_receive_bytes_total" in text
        assert "process_resident_memory_bytes" in text
    finally:
        sink.close()
    assert not any(sev is Severity.WARNING for sev, _ in sink.notices)


def test_an_exposed_endpoint_without_auth_or_tls_is_warned_about() -> None:
    sink = PrometheusSink(PrometheusSettings("0.0.0.0", 0))
    sink.start()
    sink.close()
    warnings = [text for sev, text in sink.notices if sev is Severity.WARNING]
    assert len(warnings) == 1
    assert "0.0.0.0" in warnings[0]
    assert "series" in sink.notices[0][1]  # the bound on series is announced


@pytest.mark.parametrize(("flag", "raw"), [
    ("localhost:x", {}), ("99999", {}), ("[::1", {}),
    ("9100", {"prometheus": {"basic_auth_user": "u"}}),
    ("9100", {"prometheus": {"tls_cert_file": "c.pem"}}),
    ("9100", {"prometheus": {"top_n": 0}}),
])  # fmt: skip
def test_bad_settings_are_one_config_error(flag: str, raw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        prometheus_settings(raw, flag)


def test_listen_defaults_to_loopback() -> None:
    settings = prometheus_settings({}, "9100")
    assert settings is not None
    assert (settings.host, settings.port) == ("127.0.0.1", 9100)
    assert prometheus_settings({}, None) is None


def _kpi_snapshot(services: int) -> Snapshot:
    from dataclasses import replace

    from netop.model import Alert, AlertSeverity, KpiGroup

    groups = tuple(KpiGroup(f"tcp/{8000 + i}", 100 - i, 90.0, 1.5, 4.0, 2.0, 30.0, 80.0,
                            None, None) for i in range(services))
    alerts = (
        Alert(99.0, "port_scan", AlertSeverity.CRITICAL, "10.0.0.9", "scan"),
        Alert(99.0, "port_scan", AlertSeverity.CRITICAL, "10.0.0.8", "scan"),
        Alert(99.0, "syn_flood", AlertSeverity.WARNING, "10.0.0.1", "flood", active=False),
    )
    return replace(_snapshot([_rate("local", "eth0")]), service_kpis=groups, alerts=alerts,
                   alerts_total=5)


def test_kpis_per_service_top_n_and_alerts_by_kind_and_severity() -> None:
    metrics = SnapshotMetrics(top_n=3)
    metrics.update(_kpi_snapshot(5))
    got = _samples(_scrape(metrics))
    svc = lambda s: frozenset({("service", s)})  # noqa: E731
    assert got[("netop_kpi_connections", svc("tcp/8000"))] == 100
    assert got[("netop_kpi_rtt_p50_seconds", svc("tcp/8000"))] == pytest.approx(0.0015)
    assert got[("netop_kpi_success_ratio", svc("tcp/8002"))] == pytest.approx(0.9)
    assert ("netop_kpi_connections", svc("tcp/8003")) not in got  # beyond top 3
    assert got[("netop_kpi_connections", svc("other"))] == 97 + 96
    assert ("netop_kpi_rtt_p50_seconds", svc("other")) not in got  # percentiles don't add
    assert ("netop_kpi_dns_p50_seconds", svc("tcp/8000")) not in got  # not measured
    firing = frozenset({("kind", "port_scan"), ("severity", "critical")})
    assert got[("netop_alerts_firing", firing)] == 2
    assert not any(name == "netop_alerts_firing" and ("kind", "syn_flood") in labels
                   for name, labels in got)  # no longer active
    assert got[("netop_alerts_total", frozenset())] == 5


def test_promtool_accepts_kpi_and_alert_series() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    metrics = SnapshotMetrics(top_n=3)
    metrics.update(_kpi_snapshot(5))
    done = subprocess.run([promtool, "check", "metrics"], input=_scrape(metrics),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == ""
    assert done.stderr.strip() == ""
