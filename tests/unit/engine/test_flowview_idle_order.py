"""Flows at the same rate (the idle ones: zero) come newest activity first, and a
flow row carries its service name and remote end."""

from __future__ import annotations

from netop.engine.flowtable import FlowTable
from netop.engine.flowview import Enrichment, FlowViewBuilder
from netop.model import FlowBatch, FlowRecord, ViewSpec

T = 1_767_225_600.0


def _flow(i: int, last: float) -> FlowRecord:
    return FlowRecord(6, "10.1.0.1", 40000 + i, f"192.0.2.{i}", 443, None, packets=3,
                      bytes=300, first=T, last=last, tcp_flags=0x12)


def test_idle_flows_come_by_last_activity_newest_first() -> None:
    table = FlowTable(max_flows=1000)
    lasts = [T + 5, T + 50, T + 20, T + 40, T + 10, T + 30]
    table.merge(FlowBatch("capture", tuple(_flow(i, last) for i, last in enumerate(lasts))),
                T + 60)
    services = {443: "https"}
    builder = FlowViewBuilder(Enrichment(service=lambda port, proto: services.get(port)))
    builder.build(table, ViewSpec(), T + 61, 1.0)
    table.end_tick()
    for tick in range(2, 5):  # later ticks: nobody moved, every rate is zero
        view = builder.build(table, ViewSpec(), T + 60 + tick, 1.0)
    rows = view.rows
    assert [r.rate_bps for r in rows] == [0.0] * len(lasts)
    assert [r.record.last for r in rows] == sorted(lasts, reverse=True)
    assert {r.service for r in rows} == {"https"}
    assert {r.remote for r in rows} == {f"192.0.2.{i}" for i in range(len(lasts))}
    names_off = builder.build(table, ViewSpec(names=False), T + 66, 1.0)
    assert {r.service for r in names_off.rows} == {""}
