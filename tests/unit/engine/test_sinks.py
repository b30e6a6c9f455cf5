"""The engine hands every snapshot it builds to its sinks, and a failing sink is an
event, never a lost tick."""

from __future__ import annotations

from netop.config import Config
from netop.engine.engine import Engine
from netop.model import Snapshot


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
