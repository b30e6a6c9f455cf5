"""``netop kpis``: the per-host / per-service aggregation and the command's output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from netop.engine.kpis import kpi_groups, percentile
from netop.model import FlowKpi, FlowRecord
from tests.shared_data import require_shared


def flow(dst: str, dport: int, state: str | None, rtt: float | None, retrans: int = 0,
         dns: FlowKpi | None = None) -> FlowRecord:
    kpi = dns or FlowKpi(rtt_ms=rtt, retrans=retrans, retrans_rev=0, ooo=0, ooo_rev=0,
                         conn_state=state)
    return FlowRecord(6 if dns is None else 17, "10.0.0.1", 40000, dst, dport, packets=5,
                      packets_rev=5, kpi=kpi)  # fmt: skip


def test_groups_by_host_count_success_rtt_and_retransmissions() -> None:
    flows = [flow("192.0.2.1", 443, "SF", 10.0), flow("192.0.2.1", 443, "S1", 30.0, retrans=2),
             flow("192.0.2.1", 443, "S0", None), flow("192.0.2.1", 443, "REJ", None),
             flow("192.0.2.9", 80, "SF", 5.0)]  # fmt: skip
    first, second = kpi_groups(flows, "host")
    assert (first.key, first.flows, first.success_pct) == ("192.0.2.1", 4, 50.0)
    assert first.rtt_ms_p50 == 20.0
    assert first.rtt_ms_p95 == pytest.approx(29.0)
    assert first.retrans_pct == pytest.approx(100 * 2 / 40)
    assert first.dns_ms_p50 is None
    assert first.dns_failures is None
    assert first.ttfb_ms_p50 is None
    assert second.key == "192.0.2.9"


def test_groups_by_service_and_dns_failures() -> None:
    bad = FlowKpi(dns_queries=3, dns_answers=2, dns_ms=12.0,
                  dns_rcodes={"SERVFAIL": 1, "NOERROR": 1})
    (g,) = kpi_groups([flow("192.0.2.53", 53, None, None, dns=bad)], "service")
    assert g.key == "udp/53"
    assert g.dns_ms_p50 == 12.0
    assert g.dns_failures == 2
    assert g.success_pct is None
    assert g.retrans_pct is None


def test_flows_without_kpis_count_but_measure_nothing() -> None:
    (g,) = kpi_groups([FlowRecord(6, "10.0.0.1", 1, "192.0.2.1", 2, source="netflow9")])
    assert g.flows == 1
    assert g.success_pct is None
    assert g.rtt_ms_p50 is None
    assert percentile([], 50) is None


def test_kpis_command_on_a_capture_and_a_bad_key() -> None:
    path = require_shared("data", "pcap", "traffic", "pcpp_three_http_streams.pcap")
    done = subprocess.run([sys.executable, "-m", "netop", "kpis", "-r", str(path), "--json",
                           "--by", "service"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (rec,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert rec["key"] == "tcp/80"
    assert rec["flows"] == 3
    assert rec["success_pct"] == 100.0
    assert rec["rtt_ms_p50"] is not None
    assert rec["dns_ms_p50"] is None
    bad = subprocess.run([sys.executable, "-m", "netop", "kpis", "-r", str(path), "--by", "x"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1
