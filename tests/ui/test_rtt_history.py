"""The flow detail screen's RTT history: the engine keeps each on-screen TCP flow's ack
RTT once per tick (bounded), and the detail screen draws it as a Sparkline with its range
and the handshake RTT beside it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.widgets import Sparkline

from netop.config import Config
from netop.engine.engine import Engine
from netop.engine.flowview import HISTORY_TICKS, Enrichment
from netop.model import FlowBatch, FlowRecord
from netop.sources.base import SourceItem
from netop.ui.app import NetopApp
from tests.scripted import T0, ScriptedSource, StaticLookups, demo_ticks
from tests.ui.conftest import NAMES, PROCESSES, retick, screen_text
from tests.ui.test_kpi_ui import KpiFlows


class RisingRtt(KpiFlows):
    """KpiFlows whose flow from port 51512 sees its ack RTT rise 1 ms a tick after tick
    20 (a queue filling somewhere on the path)."""

    def __init__(self, stop_after: int | None = None) -> None:
        super().__init__()
        self.ticks = 0
        self.stop_after = stop_after

    def poll(self, now: float) -> Iterable[SourceItem]:
        self.ticks += 1
        out: list[SourceItem] = []
        for batch in super().poll(now):
            assert isinstance(batch, FlowBatch)
            records = []
            for r in batch.records:
                if r.sport == 51512 and self.stop_after is not None \
                        and self.ticks > self.stop_after:
                    continue  # the flow goes idle
                if r.sport == 51512 and r.kpi is not None:
                    rtt = 24.0 + max(0, self.ticks - 20)
                    r = FlowRecord(*r[:18], r.kpi._replace(ack_rtt_ms=rtt))
                records.append(r)
            out.append(FlowBatch(batch.source, tuple(records)))
        return out


def make_app(ticks: int = 40, stop_after: int | None = None) -> NetopApp:
    config = Config(history_seconds=60)
    lookups = StaticLookups(NAMES, PROCESSES)
    engine = Engine(config, [ScriptedSource(demo_ticks(ticks)), RisingRtt(stop_after)],
                    hostname="testhost",
                    enrichment=Enrichment(procs=lookups, names=lookups, local=lookups))
    for t in range(ticks):
        engine.tick(now=T0 + t + 0.5)
    return NetopApp(engine, config, run_engine=False)


def _row(app: NetopApp, sport: int) -> Any:
    snapshot = app.engine.tick(now=T0 + 40.5)
    return next(r for r in snapshot.flows.rows if r.record.sport == sport)


def test_engine_keeps_a_bounded_rtt_series_per_flow_on_screen() -> None:
    app = make_app()
    row = _row(app, 51512)
    assert 20 < len(row.rtt_history) <= HISTORY_TICKS
    assert row.rtt_history[0] == 24.0
    assert row.rtt_history[-1] > row.rtt_history[0] + 15  # the rise is in the series
    no_ack = _row(app, 40022)  # a flow with a handshake but no ack RTT sample
    assert no_ack.rtt_history == ()


def test_an_idle_flow_adds_no_rtt_samples() -> None:
    app = make_app(stop_after=30)
    row = _row(app, 51512)
    assert len(row.rtt_history) == 30  # the ticks it moved in, not the 41 it was shown


async def test_detail_draws_the_rtt_sparkline_with_its_range() -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        retick(app, 40)
        await pilot.pause()
        await pilot.press("tab", "tab", "down", "enter")  # the 2nd flow by rate: 51512
        await pilot.pause()
        retick(app, 41)
        await pilot.pause()
        spark = app.screen.query_one("#rtt-spark", Sparkline)
        assert spark.display
        assert max(spark.data or []) > min(spark.data or []) + 15
        text = screen_text(app)
        assert "RTT history" in text
        assert "min 24.000" in text
        assert "handshake RTT 23.400 ms" in text


def test_detail_rtt_history_snapshot(snap_compare: Any) -> None:
    app = make_app()

    async def open_detail(pilot: Any) -> None:
        retick(app, 40)
        await pilot.pause()
        await pilot.press("tab", "tab", "down", "enter")
        await pilot.pause()
        retick(app, 41)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 40), run_before=open_detail)


def test_the_note_counts_ticks_and_says_when_there_is_no_sample() -> None:
    from netop.model import FlowKpi, FlowRecord, FlowRow
    from netop.ui.detail import rtt_note

    record = FlowRecord(6, "10.0.0.1", 1, "10.0.0.2", 2, None, 0, 0, 0, 0, 0.0, 0.0, 0, 1,
                        "capture", "", None, None, FlowKpi(rtt_ms=1.5))  # fmt: skip
    assert "over 1 tick " in rtt_note(FlowRow("k", record, rtt_history=(2.0,)))
    assert rtt_note(FlowRow("k", record)) == "(no ack RTT sample yet)  handshake RTT 1.500 ms"
