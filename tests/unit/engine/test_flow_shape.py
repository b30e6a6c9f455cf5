"""One flow shape through the flow table: in_if/out_if kept and turned with a reverse
delta; the C merge and the Python merge give the same table."""

from __future__ import annotations

import random

import pytest

from netop.engine.flowtable import FlowTable
from netop.model import FlowKey, FlowRecord


def _table(c: bool) -> FlowTable:
    t = FlowTable(max_flows=50)
    if c and t._fast is None:
        pytest.skip("the C extension is not available here")
    if not c:
        t._fast = None
    return t


@pytest.mark.parametrize("c", [True, False], ids=["C", "Python"])
def test_interfaces_survive_the_table_and_turn_with_a_reverse_delta(c: bool) -> None:
    t = _table(c)
    fwd = FlowRecord(6, "10.0.0.1", 1000, "10.0.0.2", 80, None, 1, 60, first=1.0, last=1.0,
                     tcp_flags=0x02, in_if=3)  # fmt: skip
    # The answer, as a unidirectional exporter sees it: in by 7, out by 3.
    rev = FlowRecord(6, "10.0.0.2", 80, "10.0.0.1", 1000, None, 1, 60, first=2.0, last=2.0,
                     tcp_flags=0x12, in_if=7, out_if=3)  # fmt: skip
    t.merge_records([fwd], 1.0)
    t.merge_records([rev], 2.0)
    (r,) = t.records()
    assert r.key == FlowKey(6, "10.0.0.1", 1000, "10.0.0.2", 80, None)
    assert (r.packets, r.packets_rev, r.tcp_flags) == (1, 1, 0x12)
    assert (r.in_if, r.out_if) == (3, 7)
    assert (r.to_json()["in_if"], r.to_json()["out_if"]) == (3, 7)


def test_c_and_python_merges_give_the_same_table() -> None:
    rng = random.Random(10)
    hosts = [f"10.0.0.{i}" for i in range(1, 9)]
    batches = []
    for tick in range(6):
        batch = []
        for _ in range(80):
            a, b = rng.sample(hosts, 2)
            pa, pb = rng.choice((1000, 1001)), rng.choice((80, 443))
            if rng.random() < 0.5:
                a, b, pa, pb = b, a, pb, pa
            batch.append(FlowRecord(
                rng.choice((6, 17)), a, pa, b, pb, rng.choice((None, 5)), rng.randrange(1, 9),
                rng.randrange(40, 9000), rng.randrange(3), rng.randrange(900),
                tick + rng.random(), tick + 1 + rng.random(), rng.randrange(64),
                rng.choice(("capture", "ipfix")), None, rng.choice((1, 4)),
                rng.choice((None, 2, 3)), rng.choice((None, 4)),
            ))  # fmt: skip
        batches.append(batch)
    tables = [_table(True), _table(False)]
    for tick, batch in enumerate(batches):
        for t in tables:
            t.merge_records(batch, float(tick))
            t.expire(float(tick))
    touched = [sorted(e.key for e in t.touched()) for t in tables]
    assert touched[0] == touched[1]
    records = [sorted(t.records(), key=repr) for t in tables]
    assert records[0] == records[1]
    assert tables[0].stats == tables[1].stats
    assert tables[0].stats.evictions > 0  # the bound was exercised too


def test_absurd_counts_saturate_in_c() -> None:
    t = _table(True)
    huge = FlowRecord(17, "10.0.0.1", 5, "10.0.0.2", 6, None, 2**64, 2**70, last=1.0)
    t.merge_records([huge, huge], 1.0)
    (r,) = t.records()
    assert r.packets == r.bytes == 2**63 - 1
