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


class ScriptedFlows(Source):
    """Flow deltas per tick from a fixed list of conversations, like a capture would send."""

    name = "scripted-flows"
    produces_flows = True

    def __init__(self, t0: float = T0) -> None:
        self.t0 = t0
        self.polls = 0
        # (proto, src, sport, dst, dport, bytes/tick →, bytes/tick ←, tcp flags)
        self.conversations = [
            (6, "10.1.0.1", 51512, "192.0.2.10", 443, 1_200_000, 40_000, 0x1A),
            (6, "10.1.0.1", 51514, "192.0.2.10", 443, 300_000, 9_000, 0x1A),
            (6, "10.1.0.1", 40022, "198.51.100.7", 22, 4_000, 6_000, 0x18),
            (17, "10.1.0.1", 53001, "192.0.2.53", 53, 120, 300, 0),
            (6, "203.0.113.9", 60000, "10.1.0.1", 80, 900, 250_000, 0x1B),
            (1, "10.1.0.1", 0, "192.0.2.1", 2048, 84, 84, 0),
            (17, "10.1.0.1", 41000, "198.51.100.20", 5201, 2_500_000, 0, 0),
        ]

    def poll(self, now: float) -> Iterable[SourceItem]:
        from netop.model import FlowBatch, FlowRecord

        tick = self.polls
        self.polls += 1
        records = []
        for i, (proto, src, sport, dst, dport, fwd, rev, flags) in enumerate(self.conversations):
            if i == 6 and tick < 5:
                continue  # a transfer that starts later
            scale = 1 + (tick + i) % 3
            records.append(FlowRecord(
                proto, src, sport, dst, dport, None, max(1, fwd * scale // 1400), fwd * scale,
                max(1, rev * scale // 1400) if rev else 0, rev * scale,
                self.t0 + tick, self.t0 + tick + 0.9, flags))
        return [FlowBatch("capture", tuple(records))]

    def describe(self) -> str:
        return "scripted flows"


class StaticLookups:
    """Names and processes from fixed tables: the inputs a snapshot test needs to be stable."""

    def __init__(self, names: dict[str, str], ports: dict[int, tuple[int, str, str]]) -> None:
        self.names = names
        self.ports = ports

    def lookup(self, address: str) -> str | None:
        return self.names.get(address)

    def lookup_flow(self, record: object) -> object:
        from netop.enrich.procs import ProcessInfo, Unknown

        sport = getattr(record, "sport", 0)
        dport = getattr(record, "dport", 0)
        for port in (sport, dport):
            if port in self.ports:
                pid, name, user = self.ports[port]
                return ProcessInfo(pid, name, user)
        return Unknown("other user's process (run as root to see it)")

    def local_side(self, record: object) -> str | None:
        return "src" if getattr(record, "src", "") == "10.1.0.1" else "dst"
