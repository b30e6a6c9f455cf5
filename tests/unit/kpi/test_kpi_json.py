"""The KPI members of a flow's JSON line: the C formatter writes exactly what
``json.dumps`` of the record's dict writes, and hands back to it what it cannot."""

from __future__ import annotations

import json

import pytest

from netop.commands.output import flow_json_line
from netop.model import FlowKpi, FlowRecord

KPIS = [
    None,
    FlowKpi(),
    FlowKpi(jitter_ms=2.917093923315406),
    FlowKpi(12.0, 10.0, 2.0, 0.123, 0, 3, 1, 0, "SF", 37.5),
    FlowKpi(dns_queries=2, dns_answers=1, dns_ms=25.0, dns_rcodes={"NXDOMAIN": 1}),
    FlowKpi(dns_queries=5, dns_rcodes={}),
    FlowKpi(dns_rcodes={"NOERROR": 3, "SERVFAIL": 2**40, "NXDOMAIN": -1}),
    FlowKpi(dns_rcodes={"a\"b": 1}),
    FlowKpi(dns_rcodes={"NOERROR": True}),
    FlowKpi(dns_rcodes={"NOERROR": 2**70}),
    FlowKpi(dns_rcodes={7: 1}),
    FlowKpi(dns_rcodes={"é": 1}),
    FlowKpi(conn_state='a"b\\c'),
    FlowKpi(rtt_ms=float("nan"), ttfb_ms=float("inf")),
    FlowKpi(retrans=2**70, ooo=True),
    FlowKpi(rtt_ms=1e300, ttfb_ms=-0.0, dns_ms=1e-7, conn_state="RSTOS0"),
]


@pytest.mark.parametrize("kpi", KPIS)
def test_flow_line_is_json_dumps_of_the_record(kpi: FlowKpi | None) -> None:
    rec = FlowRecord(6, "10.0.0.1", 40000, "10.0.0.2", 80, None, 3, 180, 2, 120, 100.0,
                     100.5, 0x12, kpi=kpi)  # fmt: skip
    line = flow_json_line(rec)
    assert line == json.dumps(rec.to_json())
    assert json.loads(line.replace("NaN", "null").replace("Infinity", "null"))
