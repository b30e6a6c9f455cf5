"""A capture file played at a speed: rates and averages over the file's time (the
played time), not the wall clock's; the totals line gets the flows' total."""

from __future__ import annotations

from collections.abc import Iterable

from netop.config import Config
from netop.engine.engine import Engine
from netop.model import FlowBatch, FlowRecord
from netop.sources.base import Source, SourceItem

FILE_T0 = 1_600_000_000.0


class PlayedFile(Source):
    """A file played at ×4: each tick of the engine brings 4 s of the file, 1000 B of
    one flow per second of it (8 kb/s)."""

    name = "capture"
    produces_flows = True

    def __init__(self, speed: float = 4.0) -> None:
        self.speed = speed
        self.ticks = 0

    def poll(self, now: float) -> Iterable[SourceItem]:
        start = FILE_T0 + self.ticks * self.speed
        self.ticks += 1
        end = start + self.speed
        record = FlowRecord(6, "10.0.0.1", 1000, "10.0.0.2", 80, None, 4,
                            int(1000 * self.speed), 0, 0, start, end - 0.01, 0x10, "capture")
        return [FlowBatch("capture", (record,), clock=end)]


def test_rates_and_averages_count_the_file_seconds_a_tick_played() -> None:
    engine = Engine(Config(), [PlayedFile()], hostname="h")
    snaps = [engine.tick(now=100.0 + t) for t in range(6)]
    last = snaps[-1]
    row = last.flows.rows[0]
    assert row.rate_bps == 8000  # not 32 000: four file seconds went by in the tick
    assert last.flow_interval == 4.0
    # The 10 s average: 10 file seconds (2.5 ticks) of 8 kb/s.
    assert row.avg_bps == 8000
    # The totals line's source when no interface is watched: the flows' total per tick.
    assert last.total is None
    assert last.flow_history == (8000,) * 6  # the first tick from the first packet on


def test_live_flows_keep_the_interval() -> None:
    from tests.scripted import T0, ScriptedFlows

    engine = Engine(Config(), [ScriptedFlows()], hostname="h")
    snap = [engine.tick(now=T0 + t + 0.5) for t in range(3)][-1]
    assert snap.flow_interval == 0.0
    assert snap.flow_history == ()


class PausedAfter(PlayedFile):
    """Plays 6 ticks, then stays where it is (paused, or at the end of the file)."""

    def poll(self, now: float) -> Iterable[SourceItem]:
        if self.ticks >= 6:
            return [FlowBatch("capture", (), clock=FILE_T0 + 6 * self.speed)]
        return super().poll(now)


def test_a_paused_file_keeps_its_rates_and_averages() -> None:
    engine = Engine(Config(), [PausedAfter()], hostname="h")
    snaps = [engine.tick(now=100.0 + t) for t in range(20)]
    playing, paused = snaps[5], snaps[-1]
    row, still = playing.flows.rows[0], paused.flows.rows[0]
    assert (still.rate_bps, still.avg_bps) == (row.rate_bps, row.avg_bps) == (8000, 8000)
    assert still.history == row.history
    assert paused.flow_history == playing.flow_history
    assert paused.flow_interval == 4.0
