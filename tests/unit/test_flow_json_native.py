"""A flow's ``--json`` line written in C (``_fastflow.flow_json``) is the very line the
Python formatter writes, and the C one is taken for the usual records."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netop.commands import output
from netop.model import AppFacts, FlowKpi, FlowRecord

USUAL = [
    FlowRecord(17, "fd80::a:5:6", 52212, "fd80::b:6:5", 443, None, 480, 80640, 0, 0,
               1750000000.006888, 1750000001.98908, 0, "capture", None, 1,
               kpi=FlowKpi(jitter_ms=2.917)),
    FlowRecord(6, "10.0.0.1", 40000, "192.0.2.1", 443, 7, 10, 1000, 5, 500, 1.7e9,
               1.7e9 + 1.25, 0x12, "ipfix", "192.0.2.9", 100, 3, 4,
               FlowKpi(12.0, 10.0, 2.0, 0.123, 0, 3, 1, 0, "SF", 37.5),
               AppFacts("tls", sni="example.org", alpn=("h2", "http/1.1"))),
    FlowRecord(1, "10.0.0.1", 0, "10.0.0.2", 2048, None, 1, 84, 1, 84, 0.5, 0.5, 0,
               "capture", None, 1, None, None, None, AppFacts("dns", dns_qname="a.test")),
    # DNS KPIs: the answer codes counted (a dict: none yet, or some).
    FlowRecord(17, "10.0.0.1", 5353, "10.0.0.2", 53, None, 3, 200, 3, 400, 0.5, 0.7, 0,
               "capture", None, 1, kpi=FlowKpi(dns_queries=3, dns_rcodes={})),
    FlowRecord(17, "10.0.0.1", 5353, "10.0.0.2", 53, None, 3, 200, 3, 400, 0.5, 0.7, 0,
               "capture", None, 1,
               kpi=FlowKpi(dns_queries=3, dns_rcodes={"NOERROR": 2, "NXDOMAIN": 1})),
]


@pytest.mark.parametrize("record", USUAL)
def test_the_c_line_is_taken_and_equals_the_python_line(record: FlowRecord) -> None:
    native = output._native_flow_json()
    if native is None:
        pytest.skip("no C extension")
    line = output.flow_json_line(record)
    assert line == output._python_flow_json_line(record) == json.dumps(record.to_json())
    app = record.app
    tail = output._NO_APP_JSON if app is None else output.json_line(app.as_json())[1:]
    assert native(record, "x", "", tail) is not None  # not handed back to Python


@pytest.mark.parametrize("record", [
    FlowRecord(6, 'x"y', 1, "b", 2, None, 1, 1, 0, 0, 1.0, 2.0, 0, "capture", None, 1),
    FlowRecord(6, "a", 1, "b", 2, None, 2**70, 1, 0, 0, 1.0, 2.0, 0, "capture", None, 1),
    FlowRecord(6, "a", 1, "b", 2, None, 1, 1, 0, 0, float("inf"), 2.0, 0, "capture"),
    FlowRecord(6, "a", 1, "b", 2, True, 1, 1, 0, 0, 1.0, 2.0, 0, "capture"),  # type: ignore[arg-type]
    FlowRecord(6, "a", 1, "b", 2, None, 1, 1, 0, 0, 1.0, 2.0, 0, "sflow", "é", 1),
    FlowRecord(6, "a", 1, "b", 2, None, 1, 1, 0, 0, 1.0, 2.0, 0, "capture", None, 1,
               kpi=FlowKpi(dns_rcodes={"NX\nDOMAIN": 1})),
    FlowRecord(6, "a", 1, "b", 2, None, 1, 1, 0, 0, 1.0, 2.0, 0, "capture", None, 1,
               kpi=FlowKpi(dns_rcodes={3: 1})),  # type: ignore[dict-item]
])
def test_what_c_cannot_write_is_handed_back(record: FlowRecord) -> None:
    native = output._native_flow_json()
    if native is None:
        pytest.skip("no C extension")
    assert native(record, "tcp", "", output._NO_APP_JSON) is None
    assert output.flow_json_line(record) == output._python_flow_json_line(record)


def test_the_lines_of_many_records_are_each_records_line() -> None:
    """``flow_json_lines`` (C's loop over a summary) writes what ``flow_json_line`` writes
    for each record: usual ones, ones with app facts, ones C hands back, protocol numbers
    and flags outside its tables."""
    records = [*USUAL,
               FlowRecord(6, 'x"y', 1, "b", 2, None, 1, 1, 0, 0, 1.0, 2.0, 0, "capture"),
               FlowRecord(47, "a", 0, "b", 0, None, 1, 1, 0, 0, 1.0, 2.0, 0x1FF, "capture"),
               FlowRecord(300, "a", 0, "b", 0, None, 1, 1, 0, 0, 1.0, 2.0, 0, "sflow"),
               FlowRecord(6, "a", 1, "b", 2, None, 1, 1, 0, 0, 1.0, 2.0, -1, "capture")]
    want = [output.flow_json_line(r) for r in records]
    assert output.flow_json_lines(records) == want
    assert output.flow_json_lines(iter(records)) == want
    assert want[-3] == json.dumps(records[-3].to_json())  # flags 0x1FF: no table entry
    assert output.flow_json_lines([]) == []


@settings(max_examples=2000, deadline=None)
@given(st.integers(0, 2**33 * 10**6 + 10**6), st.integers(0, 10**9),
       st.floats(min_value=0, max_value=1e10, allow_nan=False), st.integers(-3, 3))
def test_times_are_written_as_repr_writes_them(us: int, ms_us: int, anything: float,
                                               nudge: int) -> None:
    """A capture's microsecond times, the KPIs' rounded milliseconds, their neighbours
    one float away and any float: the C line writes each as ``repr`` does."""
    first = us / 1e6
    last = math.nextafter(first, math.inf) if nudge > 0 else (
        math.nextafter(first, 0.0) if nudge < 0 else anything)
    kpi = FlowKpi(rtt_ms=ms_us / 1e3, jitter_ms=anything, ttfb_ms=ms_us / 1e6)
    r = FlowRecord(6, "a", 1, "b", 2, None, 1, 1, 0, 0, first, last, 0, "capture",
                   None, 1, kpi=kpi)
    assert output.flow_json_line(r) == json.dumps(r.to_json())
