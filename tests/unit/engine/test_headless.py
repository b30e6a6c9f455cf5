"""The engine's headless entries: a recording merged tick by tick, the summary view,
and the flows that ended handed out once."""

from __future__ import annotations

from netop.config import Config
from netop.engine.engine import Engine
from netop.engine.flowtable import FlowTable
from netop.model import FlowRecord, ViewSpec


def _row(i: int, t: float, packets: int = 1) -> FlowRecord:
    return FlowRecord(17, f"10.0.0.{i}", 1000 + i, "192.0.2.1", 53, None, packets,
                      100 * packets, 0, 0, t, t, 0)


def test_ended_flows_over_the_cap_are_counted_as_evicted() -> None:
    table = FlowTable(max_flows=2, idle_timeout=1.0, active_timeout=0, keep_ended=True)
    for i in range(7):  # one flow per second, each idle by the next tick
        table.merge_records([_row(i, float(10 * i))], float(10 * i))
        table.end_tick()
        table.expire(float(10 * i + 5))
    kept = len(table.ended()) + len(table)
    assert kept < 7
    assert table.stats.evictions == 7 - kept  # what is not listed is counted


def test_play_and_summary_list_every_flow_with_lifetime_rates() -> None:
    engine = Engine(Config(), [], keep_ended=True, idle_timeout=2.0)
    ticks = [([_row(1, 0.0), _row(2, 0.5)], 1.0),
             ([_row(1, 9.0, packets=3)], 9.0),  # flow 2 ended meanwhile
             ([_row(2, 20.0)], 20.0)]  # ... and is taken up again
    engine.play(ticks)
    snap = engine.summary(ViewSpec(sort="rate", top_n=10))
    flows = {row.record.src: row for row in snap.flows.rows}
    assert set(flows) == {"10.0.0.1", "10.0.0.2"}
    assert (flows["10.0.0.1"].record.packets, flows["10.0.0.2"].record.packets) == (4, 2)
    # 400 bytes over 9 s of life, 200 bytes over 19.5 s: the first is faster.
    assert flows["10.0.0.1"].rate_bps == 400 * 8 / 9.0
    assert [row.record.src for row in snap.flows.rows] == ["10.0.0.1", "10.0.0.2"]
    assert snap.ts == 20.0  # the recording's clock


def test_drain_ended_hands_each_flow_out_once() -> None:
    engine = Engine(Config(), [], keep_ended=False, keep_expired=True)
    engine.flow_table.merge_records([_row(1, 5.0), _row(2, 5.0)], 5.0)
    assert engine.drain_ended() == []
    ended = engine.drain_ended(everything=True)
    assert sorted(r.src for r in ended) == ["10.0.0.1", "10.0.0.2"]
    assert engine.drain_ended(everything=True) == []
    assert len(engine.flow_table) == 0
