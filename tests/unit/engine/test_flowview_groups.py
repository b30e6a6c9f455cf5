"""Aggregated views kept from tick to tick: every tick's groups equal a grouping made
afresh from the table, while flows come, move, go, and find their process or name late."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

import pytest

from netop.engine.drill import program_of
from netop.engine.flowtable import FlowTable
from netop.engine.flowview import Enrichment, FlowViewBuilder
from netop.model import FlowBatch, FlowRecord, FlowRow, ViewSpec, proto_name

T = 1_767_225_600.0
LOCAL = "10.1.0.1"


@dataclass
class Local:
    calls: int = 0

    def local_side(self, record: FlowRecord) -> str | None:
        self.calls += 1
        return "src" if record.src == LOCAL else "dst" if record.dst == LOCAL else None


@dataclass
class Names:
    """Remotes ending in an even number get a name once ``resolving`` is set."""

    resolving: bool = False
    calls: int = 0

    def lookup(self, address: str) -> str | None:
        self.calls += 1
        last = int(address.rsplit(".", 1)[-1])
        return f"h{last}.example" if self.resolving and last % 2 == 0 else None


@dataclass(frozen=True)
class Owner:
    pid: int
    name: str
    user: str = "root"


@dataclass(frozen=True)
class Gone:
    reason: str = "no socket"


@dataclass
class Procs:
    """A flow's owner is found from its third look on (ports ending in 0: never)."""

    looks: dict[int, int] = field(default_factory=dict)

    def lookup_flow(self, record: FlowRecord) -> object:
        seen = self.looks[record.sport] = self.looks.get(record.sport, 0) + 1
        if record.sport % 10 == 0 or seen < 3:
            return Gone()
        return Owner(record.sport % 7, f"app{record.sport % 7}")


def record(rng: random.Random, i: int, now: float) -> FlowRecord:
    remote = f"10.9.{i % 3}.{i % 23 + 1}"
    proto = (6, 6, 17, 1)[i % 4]
    src, dst = (LOCAL, remote) if i % 5 else (remote, LOCAL)
    return FlowRecord(proto, src, 20000 + i if proto != 1 else 0, dst,
                      (443, 53, 80)[i % 3] if proto != 1 else 0, None,
                      packets=rng.randrange(1, 9), bytes=rng.randrange(60, 9000),
                      packets_rev=rng.randrange(0, 9), bytes_rev=rng.randrange(0, 4000),
                      first=now - rng.random(), last=now)  # fmt: skip


def expected(
    table: FlowTable, builder: FlowViewBuilder, mode: str, names: Names, proto_only: int | None,
    window: dict[int, deque[float]],
) -> dict[str, tuple[int, int, int, float, float, float, float]]:
    """label → (flows, bytes both ways, packets both ways, first, last, rate, avg), made
    from the table alone (and the process each flow was last seen to have)."""
    groups: dict[str, list[float]] = {}
    for e in table.entries():
        if proto_only is not None and e.proto != proto_only:
            continue
        if mode == "protocol":
            label = proto_name(e.proto)
        elif mode == "port":
            label = f"{e.dport}/{proto_name(e.proto)}"
        elif mode == "process":
            label = program_of(e.view.proc.name or "—")  # type: ignore[attr-defined]
        else:
            remote = e.dst if e.src == LOCAL else e.src
            name = names.lookup(remote)
            label = f"{name} ({remote})" if name else remote
        g = groups.setdefault(label, [0, 0, 0, float("inf"), 0.0, 0.0, 0.0])
        g[0] += 1
        g[1] += e.bytes + e.bytes_rev
        g[2] += e.packets + e.packets_rev
        g[3] = min(g[3], e.first)
        g[4] = max(g[4], e.last)
        g[5] += (e.tick_bytes + e.tick_bytes_rev) * 8
        g[6] += sum(window.get(id(e), ())) / 10
    return {k: (int(v[0]), int(v[1]), int(v[2]), v[3], v[4], v[5], v[6])
            for k, v in groups.items()}


def seen(rows: tuple[FlowRow, ...]) -> dict[str, tuple[int, int, int, float, float, float, float]]:
    return {r.label: (r.flows, r.record.bytes + r.record.bytes_rev,
                      r.record.packets + r.record.packets_rev, r.record.first, r.record.last,
                      r.rate_bps + r.rate_rev_bps, r.avg_bps)
            for r in rows}  # fmt: skip


@pytest.mark.parametrize("filter_text", ["", "udp"])
@pytest.mark.parametrize("mode", ["remote", "process", "port", "protocol"])
def test_kept_groups_equal_a_fresh_grouping_every_tick(mode: str, filter_text: str) -> None:
    rng = random.Random(f"{mode}{filter_text}")
    names, procs = Names(), Procs()
    builder = FlowViewBuilder(Enrichment(procs=procs, names=names, local=Local()))
    table = FlowTable(max_flows=120, idle_timeout=6.0)
    window: dict[int, deque[float]] = {}  # each live entry's rates in the 10 s window
    next_flow = 0
    for tick in range(1, 41):
        now = T + tick
        names.resolving = tick > 12
        fresh = rng.randrange(0, 25) if tick < 30 else 0  # then the table drains
        ids = [next_flow + n for n in range(fresh)]
        next_flow += fresh
        ids += rng.sample(range(next_flow), min(next_flow, rng.randrange(0, 40)))
        table.merge(FlowBatch("capture", tuple(record(rng, i, now) for i in ids)), now)
        # A mode switch in the middle starts the kept groups again.
        aggregate = "connection" if tick == 20 else mode
        view = builder.build(table, ViewSpec(aggregate=aggregate, sort="bytes", top_n=10_000,
                                             filter_text=filter_text), now, 1.0)
        live = {id(e) for e in table.entries()}
        for key in list(window):
            if key not in live:
                del window[key]
        for e in table.entries():
            rates = window.setdefault(id(e), deque(maxlen=10))
            rates.append((e.tick_bytes + e.tick_bytes_rev) * 8.0)
        if aggregate == mode:
            want = expected(table, builder, mode, names, 17 if filter_text else None, window)
            got = seen(view.rows)
            assert set(got) == set(want), tick
            for label, values in want.items():
                assert got[label][:5] == values[:5], (tick, label)
                assert got[label][5:] == pytest.approx(values[5:], abs=1e-6), (tick, label)
                if values[6] == 0:
                    assert got[label][6] == 0.0  # idle for the whole window: exactly 0
        table.end_tick()
        table.expire(now)
    # Flows did leave both ways.
    assert table.stats.evictions
    assert table.stats.idle_expired


def test_a_tick_looks_at_the_flows_that_changed_and_names_only_the_groups_shown() -> None:
    """Per tick, work follows the flows that moved, not the table: the local side is
    asked once per flow, and names only for the rows on screen."""
    local, names = Local(), Names()
    builder = FlowViewBuilder(Enrichment(names=names, local=local))
    table = FlowTable()
    rng = random.Random(3)
    table.merge(FlowBatch("capture", tuple(record(rng, i, T) for i in range(300))), T)
    spec = ViewSpec(aggregate="remote", top_n=5)
    builder.build(table, spec, T, 1.0)
    flows = len(table)
    assert local.calls == flows
    for tick in range(1, 6):
        table.end_tick()
        now = T + tick
        table.merge(FlowBatch("capture", tuple(record(rng, i, now) for i in range(4))), now)
        names.calls = 0
        view = builder.build(table, spec, now, 1.0)
        assert len(view.rows) == 5
        assert names.calls == 5
    assert local.calls == flows
