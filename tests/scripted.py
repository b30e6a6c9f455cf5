"""A scripted source: fixed interface samples, tick by tick, for deterministic tests.

It is a source (what the engine reads), not a stand-in for any of netop's own logic:
the engine, rates, events and UI under test are the real ones.
"""

from __future__ import annotations

from collections.abc import Iterable

from netop.config import Config
from netop.engine.engine import Engine
from netop.model import InterfaceSample, Snapshot
from netop.sources.base import Source, SourceItem

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


class ScriptedSource(Source):
    """Returns ``ticks[n]`` on the n-th poll (the last one again when they run out)."""

    name = "scripted"

    def __init__(self, ticks: list[list[InterfaceSample]]) -> None:
        self.ticks = ticks
        self.polls = 0

    def poll(self, now: float) -> Iterable[SourceItem]:
        items = self.ticks[min(self.polls, len(self.ticks) - 1)]
        self.polls += 1
        return items

    def describe(self) -> str:
        return "scripted interfaces"


def sample(name: str, t: int, rx: int, tx: int, **extra: object) -> InterfaceSample:
    """A local sample at ``T0 + t`` with rx/tx bytes and packets derived from them."""
    fields: dict[str, object] = {
        "rx_packets": rx // 1000, "tx_packets": tx // 1000, "rx_drops": 0, "tx_drops": 0,
        "rx_errors": 0, "tx_errors": 0, "collisions": 0, "speed_bps": 1_000_000_000,
        "oper_up": True,
    }
    fields.update(extra)
    return InterfaceSample("local", name, T0 + t, rx_bytes=rx, tx_bytes=tx, **fields)  # type: ignore[arg-type]


def demo_ticks(count: int = 40, interfaces: int = 6) -> list[list[InterfaceSample]]:
    """A small network: eth0 busy with a wave, others steady or idle, one with drops."""
    ticks = []
    totals = {f"if{i}": [0, 0, 0] for i in range(interfaces)}
    for t in range(count):
        row = []
        for i, name in enumerate(totals):
            rx_rate = [0, 2_000_000, 125_000, 40_000_000, 0, 900][i % 6] * (1 + (t * (i + 1)) % 5)
            tx_rate = [0, 600_000, 80_000, 9_000_000, 0, 300][i % 6] * (1 + (t + i) % 3)
            totals[name][0] += rx_rate
            totals[name][1] += tx_rate
            if i == 2 and t > count // 2:
                totals[name][2] += 3
            real = {0: "eth0", 1: "eth1", 2: "wlan0", 3: "bond0", 4: "docker0", 5: "lo"}
            label = real.get(i, f"veth{i}")
            row.append(sample(label, t, totals[name][0], totals[name][1],
                              rx_drops=totals[name][2],
                              oper_up=(i != 4),
                              speed_bps=None if label == "lo" else 1_000_000_000))
        ticks.append(row)
    return ticks


def run_engine(
    ticks: list[list[InterfaceSample]], config: Config | None = None
) -> tuple[Engine, list[Snapshot]]:
    """Feed every tick through a real engine; returns it and every snapshot."""
    engine = Engine(config or Config(), [ScriptedSource(ticks)], hostname="testhost")
    snapshots = [engine.tick(now=T0 + t + 0.5) for t in range(len(ticks))]
    return engine, snapshots
