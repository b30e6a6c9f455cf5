"""The engine hands every snapshot it builds to its sinks, and a failing sink is an
event, never a lost tick."""

from __future__ import annotations

from collections.abc import Sequence

from netop.config import Config
from netop.engine.engine import Engine
from netop.engine.flowtable import FlowTable
from netop.model import FlowBatch, FlowRecord, Snapshot
from netop.sources.base import Source, SourceItem


class _Keeper:
    name = "keeper"

    def __init__(self) -> None:
        self.started = 0
        self.closed = 0
        self.seen: list[Snapshot] = []

    def start(self) -> None:
        self.started += 1

    def consume(self, snapshot: Snapshot) -> None:
        self.seen.append(snapshot)

    def close(self) -> None:
        self.closed += 1


class _Broken(_Keeper):
    name = "broken"

    def consume(self, snapshot: Snapshot) -> None:
        raise RuntimeError("disk full")


def test_every_tick_reaches_every_sink_even_after_one_fails() -> None:
    keeper, broken = _Keeper(), _Broken()
    engine = Engine(Config(), [], hostname="box", clock=lambda: 1000.0,
                    sinks=[broken, keeper])
    engine.start()
    first = engine.tick(1000.0)
    second = engine.tick(1001.0)
    engine.stop()
    assert keeper.seen == [first, second]
    assert (keeper.started, keeper.closed) == (1, 1)
    assert any(e.source == "broken" and "disk full" in e.message for e in second.events)


class _FlowKeeper(_Keeper):
    """A sink that also takes flows as they end (``flows_ended``)."""

    name = "flows"

    def __init__(self) -> None:
        super().__init__()
        self.ended: list[tuple[FlowRecord, bool]] = []

    def flows_ended(self, records: Sequence[FlowRecord], forced: bool) -> None:
        self.ended.extend((r, forced) for r in records)


class _Flows(Source):
    """Hands the engine the flow deltas it is given, one batch a poll."""

    name = "capture"
    produces_flows = True

    def __init__(self) -> None:
        self.next: list[FlowRecord] = []

    def poll(self, now: float) -> list[SourceItem]:
        records, self.next = self.next, []
        return [FlowBatch("capture", tuple(records))]


def _delta(t: float, packets: int, rev: int = 0) -> FlowRecord:
    return FlowRecord(17, "10.0.0.1", 5000, "10.0.0.2", 53, None, packets, packets * 100,
                      rev, rev * 10, t, t)  # fmt: skip


def test_flows_that_end_reach_the_sinks_that_take_them() -> None:
    source, keeper, plain = _Flows(), _FlowKeeper(), _Keeper()
    engine = Engine(Config(), [source], hostname="box", idle_timeout=15, active_timeout=0,
                    sinks=[keeper, plain])  # fmt: skip
    engine.start()
    source.next = [_delta(1000.0, 3, 1)]
    engine.tick(1000.0)
    assert keeper.ended == []
    engine.tick(1020.0)  # idle for 20 s: ended on its timeout
    [(record, forced)] = keeper.ended
    assert (record.packets, record.bytes, record.packets_rev, forced) == (3, 300, 1, False)
    source.next = [_delta(1030.0, 2)]
    engine.tick(1030.0)
    engine.stop()  # the live flow ends with the run
    assert [(r.packets, r.first, f) for r, f in keeper.ended[1:]] == [(2, 1030.0, True)]
    assert engine.drain_ended() == []  # not kept for a command that did not ask


def test_a_flow_taken_up_again_is_handed_out_with_only_what_came_since() -> None:
    table = FlowTable(idle_timeout=15, active_timeout=0, keep_expired=True, keep_ended=True)
    table.merge_records([_delta(1000.0, 3, 1)], 1000.0)
    table.expire(1020.0)
    table.merge_records([_delta(1040.0, 2, 2)], 1040.0)  # the ended flow is revived
    table.end_all()
    first, second = table.drain_expired()
    assert (first.packets, first.packets_rev, first.first) == (3, 1, 1000.0)
    assert (second.packets, second.bytes, second.packets_rev, second.bytes_rev) == (2, 200, 2, 20)
    assert second.first == 1040.0
    # The table itself still shows the whole flow.
    [entry] = table.ended()
    assert (entry.packets, entry.packets_rev) == (5, 3)


def test_service_kpis_are_aggregated_only_for_a_sink_that_wants_them() -> None:
    class _Wants(_Keeper):
        wants_service_kpis = True

    keeper, wants = _Keeper(), _Wants()
    plain = Engine(Config(), [], hostname="box", clock=lambda: 1000.0, sinks=[keeper])
    asking = Engine(Config(), [], hostname="box", clock=lambda: 1000.0, sinks=[wants])
    calls: list[str] = []
    import netop.engine.engine as engine_module

    real = engine_module.kpi_groups

    def counting(flows, by):  # type: ignore[no-untyped-def]
        calls.append(by)
        return real(flows, by)

    engine_module.kpi_groups = counting  # type: ignore[assignment]
    try:
        for t in range(7):
            plain.tick(1000.0 + t)
            asking.tick(1000.0 + t)
    finally:
        engine_module.kpi_groups = real  # type: ignore[assignment]
    assert calls == ["service", "service"]  # at 0 s and 5 s: every SERVICE_KPI_SECONDS
