"""Fixed-threshold KPI events through the engine's event log, and the engine's per-host
KPI aggregation in the snapshot while a view asks for it."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from netop.config import Config
from netop.engine.engine import Engine
from netop.engine.kpi_events import KpiThresholds, kpi_thresholds
from netop.errors import ConfigError
from netop.model import FlowBatch, FlowKpi, FlowRecord, Severity
from netop.sources.base import Source, SourceItem


class Flows(Source):
    """One batch of flow deltas per poll (the same flows again: cumulative KPIs)."""

    name = "capture"
    produces_flows = True

    def __init__(self, records: list[FlowRecord]) -> None:
        self.records = records

    def poll(self, now: float) -> Iterable[SourceItem]:
        return [FlowBatch("capture", tuple(self.records))]

    def describe(self) -> str:
        return "scripted flows"


def tcp(sport: int, packets: int, retrans: int) -> FlowRecord:
    kpi = FlowKpi(rtt_ms=10.0, retrans=retrans, retrans_rev=0, ooo=0, ooo_rev=0,
                  conn_state="S1")
    return FlowRecord(6, "10.0.0.1", sport, "192.0.2.1", 443, packets=packets,
                      packets_rev=packets, first=100.0, last=100.0, kpi=kpi)  # fmt: skip


def dns(rcodes: dict[str, int]) -> FlowRecord:
    kpi = FlowKpi(dns_queries=2, dns_answers=2, dns_ms=5.0, dns_rcodes=rcodes)
    return FlowRecord(17, "10.0.0.1", 5000, "192.0.2.53", 53, packets=2, packets_rev=2,
                      first=100.0, last=100.0, kpi=kpi)  # fmt: skip


def kpi_events(engine: Engine) -> list[str]:
    return [e.message for e in engine.events.recent(100) if e.source == "kpi"]


def test_retransmission_flag_and_dns_failures_once_per_flow() -> None:
    lossy, fine = tcp(40000, 50, 20), tcp(40001, 50, 1)  # 20 % and 1 % of 100 packets
    failing = dns({"SERVFAIL": 1, "NOERROR": 1})
    engine = Engine(Config(), [Flows([lossy, fine, failing])], hostname="h")
    for t in range(3):
        engine.tick(now=100.0 + t)
    messages = kpi_events(engine)
    assert len(messages) == 2, messages
    assert "40000" in messages[0]
    assert "20.0 % of 100 packets" in messages[0]
    assert "SERVFAIL" in messages[1]
    assert "192.0.2.53" in messages[1]
    assert all(e.severity == Severity.WARNING for e in engine.events.recent(100)
               if e.source == "kpi")


def test_thresholds_come_from_the_kpi_section() -> None:
    raw = {"kpi": {"retrans_pct": 30.0, "dns_failure_rcodes": ["nxdomain"], "rtt_ms": 5}}
    t = kpi_thresholds(raw)
    assert t == KpiThresholds(retrans_pct=30.0, rtt_ms=5.0, dns_failure_rcodes=("NXDOMAIN",))
    engine = Engine(Config(raw=raw), [Flows([tcp(40000, 50, 20)])], hostname="h")
    engine.tick(now=100.0)
    (message,) = kpi_events(engine)  # 20 % is under 30 %, the RTT of 10 ms over 5 ms
    assert "handshake RTT 10.0 ms" in message


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"kpi": {"retrans_pct": 150}}, "at most 100"),
        ({"kpi": {"dns_failure_rcodes": ["BOGUS"]}}, "unknown rcode"),
        ({"kpi": {"retrans": 1}}, "unknown key"),
        ({"kpi": {"min_packets": "x"}}, "must be an integer"),
    ],
)
def test_bad_kpi_section_is_one_clear_error(raw: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        kpi_thresholds(raw)
    assert problem in str(caught.value)


def test_snapshot_has_kpi_groups_only_while_asked() -> None:
    engine = Engine(Config(), [Flows([tcp(40000, 50, 20), tcp(40001, 50, 0)])], hostname="h")
    assert engine.tick(now=100.0).kpis == ()
    engine.kpi_by = "service"
    (group,) = engine.tick(now=101.0).kpis
    assert (group.key, group.flows, group.rtt_ms_p50) == ("tcp/443", 2, 10.0)
