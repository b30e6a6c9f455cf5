"""A synthetic recorder at accelerated time: long recordings for tests and benchmarks.

It builds the snapshots an engine would (30 interfaces, the top flows of a busy box)
on a clock it is given, and writes them with netop's own :class:`RecordWriter`, as
fast as it goes: a day of 5-minute ticks in a second, a day of 1 s ticks in minutes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from netop.model import (
    COUNTER_FIELDS,
    FlowRecord,
    FlowRow,
    FlowsView,
    InterfaceRate,
    NetEvent,
    Severity,
    Snapshot,
    Totals,
)
from netop.outputs.record import RecordOptions, RecordWriter, open_writer

#: 2026-01-05 00:00:00 UTC (a Monday).
T0 = 1_767_571_200.0
GBIT = 1_000_000_000


def busy_hours(ts: float) -> float:
    """Load shape of a day: 1.0 from 18:00 to 20:00 UTC (8 % of the day: above the 5 %
    the 95th percentile drops, so a day's 95th percentile is its level), 0.3 else."""
    hour = (ts % 86400) / 3600
    return 1.0 if 18 <= hour < 20 else 0.3


@dataclass
class Scenario:
    """What the recording holds: ``level(ts)`` is the busy-hour rate in bits/s of the
    first interface (``eth0``); the others carry fractions of it."""

    interfaces: int = 30
    flows: int = 100
    level: Callable[[float], float] = lambda ts: 300e6
    shape: Callable[[float], float] = busy_hours
    speed_bps: int = GBIT
    seed: int = 1


def snapshots(scenario: Scenario, start: float, ticks: int, interval: float,
              seq0: int = 0) -> Iterator[Snapshot]:
    """``ticks`` snapshots from ``start``, ``interval`` apart."""
    rng = random.Random(scenario.seed)
    names = ["eth0"] + [f"eth{i}" for i in range(1, scenario.interfaces)]
    counters = {n: dict.fromkeys(COUNTER_FIELDS, 0) for n in names}
    hosts = [f"10.{i // 250}.{i % 250}.{1 + i % 7}" for i in range(4000)]
    for n in range(ticks):
        ts = start + n * interval
        base = scenario.level(ts) * scenario.shape(ts)
        rates = []
        for i, name in enumerate(names):
            rx = base / (1 + i) * (1 + 0.01 * rng.random())
            tx = rx * 0.4
            c = counters[name]
            c["rx_bytes"] += int(rx * interval / 8)
            c["tx_bytes"] += int(tx * interval / 8)
            deltas = dict.fromkeys(COUNTER_FIELDS, 0)
            deltas["rx_bytes"] = int(rx * interval / 8)
            deltas["tx_bytes"] = int(tx * interval / 8)
            deltas["rx_packets"] = int(rx * interval / 8 / 1200)
            deltas["tx_packets"] = int(tx * interval / 8 / 1200)
            c["rx_packets"] += deltas["rx_packets"]
            c["tx_packets"] += deltas["tx_packets"]
            # Packet rates as the engine computes them: this interval's packets per second.
            rates.append(InterfaceRate("local", name, ts, rx, tx,
                                       deltas["rx_packets"] / interval,
                                       deltas["tx_packets"] / interval,
                                       deltas, dict(c), scenario.speed_bps, True))
        rows = []
        for k in range(scenario.flows):
            src = hosts[(k * 7 + n // 60) % len(hosts)]
            dst = f"192.0.2.{1 + k % 200}"
            rate = base / 4 / (1 + k) ** 1.1
            first = start + (n // 60) * 60 * interval - 30 - k  # a new flow each minute

            def sent(at: float, share: float, rate: float = rate, first: float = first) -> int:
                return int(rate * share * (at - first) / 8)

            fwd, rev = sent(ts, 0.95), sent(ts, 0.05)
            # The rates the engine shows: this tick's bytes, per second.
            rate_fwd = (fwd - sent(ts - interval, 0.95)) * 8 / interval
            rate_rev = (rev - sent(ts - interval, 0.05)) * 8 / interval
            rec = FlowRecord(6, src, 40000 + k, dst, (443, 80, 22, 53)[k % 4], None,
                             fwd // 1200 + 1, fwd, rev // 60 + 1, rev, first, ts - 0.1, 0x1A)
            rows.append(FlowRow(f"r{k}", rec, rate_fwd, rate_rev, rate, "established",
                                f"app{k % 9} ({1000 + k})"))
        total_rx = sum(r.rx_bps or 0 for r in rates)
        total_tx = sum(r.tx_bps or 0 for r in rates)
        events = ()
        if n % 3600 == 0:
            events = (NetEvent(ts, Severity.WARNING, "engine", f"synthetic event at tick {n}"),)
        yield Snapshot(ts=ts, seq=seq0 + n + 1, hostname="synthetic", watching="30 interfaces",
                       interval=interval, interfaces=tuple(rates),
                       totals=Totals(total_rx, total_tx),
                       events=events, events_total=n // 3600 + 1,
                       flows=FlowsView(rows=tuple(rows), total_flows=10_000,
                                       matched_flows=10_000, now=ts))


def generate(path: str, scenario: Scenario, start: float, ticks: int, interval: float,
             top: int = 100) -> RecordWriter:
    """Write ``ticks`` synthetic ticks into ``path`` (created or appended to)."""
    db = open_writer(path)
    writer = RecordWriter(db, RecordOptions(path, top=top, max_age_days=0))
    for snapshot in snapshots(scenario, start, ticks, interval):
        writer.write(snapshot)
    writer.flush()
    db.close()
    return writer


def linear_level(base_bps: float, per_week_bps: float, start: float = T0
                 ) -> Callable[[float], float]:
    """A busy-hour level growing ``per_week_bps`` a week, constant within each day (so
    that each day's 95th percentile is exactly that day's level)."""
    def level(ts: float) -> float:
        day = math.floor((ts - start) / 86400)
        return base_bps + per_week_bps * day / 7
    return level
