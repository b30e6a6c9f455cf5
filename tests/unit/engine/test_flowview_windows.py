"""The Avg 2s / 10s / 40s of a flow row come from the flow's own rates over those
windows, whether or not its row was on screen (issue 11: they were built from the ticks
the row had been shown, so after a switch of view or a rank change they were far too
low)."""

from __future__ import annotations

import pytest

from netop.engine.flowtable import FlowTable
from netop.engine.flowview import FlowViewBuilder
from netop.model import FlowBatch, FlowRecord, FlowRow, ViewSpec
from netop.ui.panes.flows import window_avg

T = 1_700_000_000.0


def _shown(row: FlowRow, seconds: int) -> float | None:
    """What the Avg column of ``seconds`` shows for ``row`` (1-s ticks)."""
    own = {2: "avg2_bps", 40: "avg40_bps"}
    value = getattr(row, own[seconds], None)
    return value if value is not None else window_avg(row.history, seconds, 1.0)


def _record(sport: int, size: int, now: float) -> FlowRecord:
    return FlowRecord(17, "10.0.0.1", sport, "10.0.0.2", 53, None, 1, size, 0, 0,
                      now - 0.5, now - 0.5)


def _play(builder: FlowViewBuilder, table: FlowTable, specs: list[ViewSpec],
          big: bool) -> FlowRow | None:
    """One tick per spec: flow 2000 sends 1250 B/tick (10 kb/s), flow 1000 12500 B/tick
    (100 kb/s) while ``big``; the row of flow 2000 at the end, if shown."""
    view = None
    for spec in specs:
        now = T + builder.tick + 1
        batch = [_record(2000, 1250, now)] + ([_record(1000, 12_500, now)] if big else [])
        table.merge(FlowBatch("capture", tuple(batch)), now)
        view = builder.build(table, spec, now, 1.0)
        table.end_tick()
    assert view is not None
    return next((r for r in view.rows if r.record.sport == 2000), None)


@pytest.mark.parametrize("native", [True, False])
def test_averages_of_a_row_that_was_below_the_top_are_its_own(native: bool) -> None:
    table, builder = FlowTable(idle_timeout=0), FlowViewBuilder()
    if not native:
        builder._fast = None
    elif builder._fast is None:
        pytest.skip("the C extension is not available here")
    top1 = ViewSpec(top_n=1)
    _play(builder, table, [top1] * 30, big=True)  # only flow 1000 on screen
    row = _play(builder, table, [top1], big=False)  # flow 1000 stops: 2000 comes up
    assert row is not None
    assert row.rate_bps == pytest.approx(10_000)
    assert row.avg_bps == pytest.approx(10_000)
    assert _shown(row, 2) == pytest.approx(10_000)
    assert _shown(row, 40) == pytest.approx(10_000 * 31 / 40)


def test_averages_survive_a_grouped_view() -> None:
    table, builder = FlowTable(idle_timeout=0), FlowViewBuilder()
    _play(builder, table, [ViewSpec(aggregate="remote")] * 20, big=False)
    row = _play(builder, table, [ViewSpec()], big=False)
    assert row is not None
    assert _shown(row, 2) == pytest.approx(10_000)
    assert _shown(row, 40) == pytest.approx(10_000 * 21 / 40)


def test_averages_leave_their_windows_exactly() -> None:
    table, builder = FlowTable(idle_timeout=0), FlowViewBuilder()
    _play(builder, table, [ViewSpec()] * 5, big=False)
    # Idle from here: flow 2000 sends nothing (big=True moves only flow 1000 too).
    row = None
    for n in range(1, 41):
        now = T + builder.tick + 1
        table.merge(FlowBatch("capture", (_record(1000, 12_500, now),)), now)
        view = builder.build(table, ViewSpec(top_n=1000), now, 1.0)
        table.end_tick()
        row = next(r for r in view.rows if r.record.sport == 2000)
        if n == 2:
            assert _shown(row, 2) == 0.0
            assert _shown(row, 40) == pytest.approx(10_000 * 5 / 40)
    assert row is not None
    assert _shown(row, 40) == 0.0


@pytest.mark.parametrize("native", [True, False])
def test_a_churn_of_short_flows_is_not_kept_alive_by_the_40s_window(native: bool) -> None:
    """A flow the table removed lets go of its entry, and the windows drop it once such
    flows are a quarter of them: the 40 s window held 40 s of a churn's dead flows (the
    CI soak's RSS grew 26 % after its warm-up)."""
    table, builder = FlowTable(max_flows=100, idle_timeout=0), FlowViewBuilder()
    if not native:
        builder._fast = None
    elif builder._fast is None:
        pytest.skip("the C extension is not available here")
    spec = ViewSpec(top_n=10)
    for tick in range(60):
        now = T + tick + 1
        batch = tuple(_record(10_000 + tick * 200 + i, 100, now) for i in range(200))
        table.merge(FlowBatch("capture", batch), now)
        builder.build(table, spec, now, 1.0)
        table.end_tick()
    held = [f for _, flows, _ in builder._moved for f in flows]
    # The table keeps 100 flows; each moved once. Without the compaction the windows
    # held 4,000 (40 ticks of 100), 3,900 of them removed from the table.
    assert len(held) <= 400
    assert all(hasattr(f, "entry") for f in held if not f.released)
    assert not any(hasattr(f, "entry") for f in held if f.released)
