"""The flow view's per-flow and per-group sums are native fields, and its lists of every
flow are kept from tick to tick: a tick in which every flow moves creates no Python
object per flow (no float or int per rate or count, no new list of every flow for the
cyclic GC to rescan). Speed itself is measured by ``bench/flows.py --views``."""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

import pytest

from netop.config import Config
from netop.engine import flowview
from netop.engine.engine import Engine
from netop.engine.flowtable import FlowTable
from netop.engine.flowview import Enrichment, FlowViewBuilder, _Facts, _Group
from netop.model import FlowBatch, FlowRecord, FlowsView, ViewSpec
from netop.native import fastpath
from netop.sources.base import Source, SourceItem


def _native() -> object:
    mod = fastpath.load()
    if mod is None:
        pytest.skip("the C extension is not available here")
    return mod


def _batch(now: float, n: int, start: int = 0) -> list[FlowRecord]:
    return [FlowRecord(6, f"10.0.{i // 250}.{i % 250 + 1}", 1000 + i, "192.0.2.7", 443,
                       None, 2, 3000, 1, 60, now, now, 0x10, "capture")
            for i in range(start, start + n)]  # fmt: skip


def test_rates_sums_and_group_counts_are_native_fields() -> None:
    mod = _native()
    for name in ("rate_fwd", "rate_rev", "rate_bps", "_sum", "_last", "c_bytes", "c_sum"):
        assert getattr(_Facts, name).__objclass__ is mod.FlowSums, name  # type: ignore[attr-defined]
    for name in ("fwd", "rev", "avg_sum", "first", "last", "bytes", "packets_rev", "tick"):
        assert getattr(_Group, name).__objclass__ is mod.GroupSums, name  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", [0, 5, -7, 2**63 - 1, 2**63, 2 * (2**63 - 1) + 1200,
                                   2**100 + 3, -(2**90)])
def test_a_group_count_keeps_any_sum_of_flow_counts_exactly(value: int) -> None:
    _native()
    group = _Group("192.0.2.7")
    group.bytes = value
    group.packets_rev = value
    assert group.bytes == value
    assert group.packets_rev == value
    group.bytes += 2**63 - 1
    assert group.bytes == value + 2**63 - 1


def test_a_group_count_is_an_int() -> None:
    _native()
    group = _Group("x")
    with pytest.raises(TypeError):
        group.bytes = 1.5  # type: ignore[assignment]


@pytest.mark.parametrize("aggregate", ["connection", "remote"])
def test_the_lists_of_every_flow_are_kept_from_tick_to_tick(aggregate: str) -> None:
    """The live list, the table's touched list and the active list are refilled, not
    made anew each tick, while flows come, move and leave."""
    _native()
    table = FlowTable(max_flows=10_000, idle_timeout=3.0)
    builder = FlowViewBuilder()
    spec = ViewSpec(aggregate=aggregate)
    # The lists themselves are kept here, so that no id is reused by a new list.
    seen_all: list[object] = []
    seen_touched: list[object] = []
    seen_active: list[object] = []
    for tick in range(50):
        now = 100.0 + tick
        # 300 flows move each tick; from tick 12 on, a different 300: the first ones
        # stop, leave the window and time out.
        table.merge_records(_batch(now, 300, 0 if tick < 12 else 300), now)
        seen_touched.append(table.touched())
        view = builder.build(table, spec, now, 1.0)
        seen_all.append(builder._all)
        seen_active.append(builder._active)
        table.end_tick()
        table.expire(now)
    assert view.total_flows == 300  # the first 300 timed out and left the view
    assert len({id(x) for x in seen_all}) == 1
    assert len({id(x) for x in seen_touched}) == 1
    # The first forty ticks' lists are new (the Avg 40s window fills); then reused.
    assert len({id(x) for x in seen_active}) <= 41


class _Unowned:
    """Every flow's owner is unknown (forwarded traffic): it is looked for again."""

    def __init__(self) -> None:
        self.looks: list[int] = []

    def lookup_flow(self, record: FlowRecord) -> object:
        self.looks.append(record.sport)
        return _Gone()


class _Gone:
    reason = "no socket"


def test_unowned_flows_are_looked_for_again_a_bounded_number_per_tick_each_in_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(flowview, "RESETTLE_PER_TICK", 7)
    procs = _Unowned()
    table = FlowTable(max_flows=1000, idle_timeout=0)
    builder = FlowViewBuilder(Enrichment(procs=procs))
    spec = ViewSpec(aggregate="process")
    per_tick = []
    for tick in range(12):
        now = 100.0 + tick
        table.merge_records(_batch(now, 30), now)
        before = len(procs.looks)
        view = builder.build(table, spec, now, 1.0)
        per_tick.append(len(procs.looks) - before)
        table.end_tick()
    assert per_tick[0] == 30  # the aggregation is made: every flow's group is found
    assert max(per_tick[1:]) == 7
    # Each in turn: every one of the 30 was looked for again, none starved.
    again = procs.looks[30:]
    assert set(again) == {1000 + i for i in range(30)}
    assert [(r.label, r.flows) for r in view.rows] == [("—", 30)]


class _Records(list):  # type: ignore[type-arg]
    """A batch's records that can be watched with a weak reference."""


def test_the_merged_deltas_are_let_go_before_the_view_is_built() -> None:
    """A batch of every flow held through the build is rescanned by the GC's young
    collections there; the engine lets it go once merged."""
    records = _Records(_batch(100.0, 50))
    ref = weakref.ref(records)

    class Once(Source):
        name = "capture"
        produces_flows = True

        def __init__(self, records: _Records) -> None:
            self.batch: FlowBatch | None = FlowBatch("capture", records)  # type: ignore[arg-type]

        def poll(self, now: float) -> Iterable[SourceItem]:
            batch, self.batch = self.batch, None
            return (batch,) if batch is not None else ()

    engine = Engine(Config(), [Once(records)], hostname="t", clock=lambda: 100.0)
    alive_at_build = []
    build = engine._flow_view.build

    def watched_build(*args: Any, **kwargs: Any) -> FlowsView:
        alive_at_build.append(ref() is not None)
        return build(*args, **kwargs)

    engine._flow_view.build = watched_build  # type: ignore[method-assign]
    del records
    snap = engine.tick(100.0)
    assert snap.flows.total_flows == 50
    assert alive_at_build == [False]


def test_a_summarys_lifetime_rates_in_c_are_pythons() -> None:
    """``lifetimes`` (C) sets each flow's rates and window sums to the very floats
    ``_Facts.lifetime`` sets: one flow per shape of span (none, sub-second, long)."""
    _native()
    table = FlowTable(max_flows=1000)
    recs = [r._replace(first=1000.0, last=1000.0 + span, bytes=3000 + 7 * i)
            for i, (r, span) in enumerate(zip(_batch(1000.0, 5), [0.0, 0.3, 1.0, 7.77, 3600.5],
                                              strict=True))]
    table.merge(FlowBatch("capture", tuple(recs)), 1001.0)
    fields = ("rate_fwd", "rate_rev", "rate_bps", "_sum", "_sum2", "_sum40")
    got: list[list[tuple[float, ...]]] = []
    for native in (True, False):
        builder = FlowViewBuilder(Enrichment())
        builder.window, builder.window2, builder.window40 = 10, 2, 40
        facts = [builder.facts(e) for e in table.entries()]
        if native:
            assert builder._fast is not None
            builder._fast.lifetimes(facts, builder)
        else:
            for f in facts:
                f.lifetime()
        got.append([tuple(getattr(f, name) for name in fields) for f in facts])
        for e in table.entries():
            e.view = None
    assert got[0] == got[1]
    assert got[0][0] == (0.0,) * 6  # no span: no rate
    assert got[0][1][0] == 3007 * (8.0 / ((1000.0 + 0.3) - 1000.0))
