"""The C recency list (``_fastflow.Recency``) does what the flow table used an OrderedDict
for, in the same order; a table on it ends, evicts and lists the flows a table on an
OrderedDict does."""

from __future__ import annotations

import gc
import random
import weakref
from collections import OrderedDict
from typing import Any

import pytest

from netop.engine import flowtable
from netop.engine.flowtable import FlowEntry, FlowTable
from netop.model import FlowRecord
from netop.native import fastpath

FAST = fastpath.load()
pytestmark = pytest.mark.skipif(FAST is None, reason="the C extension is not available here")


def _entries(n: int) -> list[FlowEntry]:
    out = []
    for i in range(n):
        r = FlowRecord(6, f"10.0.0.{i}", 1000 + i, "10.0.1.1", 443, None, 1, 60, 0, 0,
                       float(i), float(i), 0, "capture")  # fmt: skip
        key = r[:6] + r[13:15]
        out.append(FlowEntry(r, (key, key)))
    return out


def test_random_operations_leave_the_order_an_ordereddict_has() -> None:
    rng = random.Random(7)
    pool = _entries(40)
    fast: Any = FAST.Recency()
    slow: OrderedDict[FlowEntry, None] = OrderedDict()
    for _ in range(3000):
        e = rng.choice(pool)
        op = rng.randrange(4)
        if op == 0:  # add (one already in keeps its place)
            fast[e] = None
            slow[e] = None
        elif op == 1 and e in slow:
            fast.move_to_end(e)
            slow.move_to_end(e)
        elif op == 2 and e in slow:
            del fast[e]
            del slow[e]
        elif op == 3 and slow:
            first = next(iter(slow))
            assert next(iter(fast)) is first
        assert len(fast) == len(slow)
        assert (e in fast) == (e in slow)
    assert list(fast) == list(slow)


def test_missing_entries_and_changes_while_iterating_are_errors() -> None:
    a, b = _entries(2)
    r: Any = FAST.Recency()
    with pytest.raises(KeyError):
        del r[a]
    with pytest.raises(KeyError):
        r.move_to_end(a)
    with pytest.raises(TypeError):
        r["not an entry"] = None
    r[a] = None
    r[b] = None
    other: Any = FAST.Recency()
    with pytest.raises(ValueError, match="another recency list"):
        other[a] = None  # an entry is in one table's list at most
    it = iter(r)
    assert next(it) is a
    r.move_to_end(a)
    with pytest.raises(RuntimeError):
        next(it)
    assert list(r) == [b, a]


def test_the_list_holds_its_entries_and_lets_them_go() -> None:
    (a,) = _entries(1)
    r: Any = FAST.Recency()
    r[a] = None
    held = len(gc.get_referrers(a))
    del r[a]
    assert len(gc.get_referrers(a)) == held - 1
    assert a not in r
    assert len(r) == 0


def test_a_cycle_through_the_list_is_collected() -> None:
    table = FlowTable()
    table.merge_records([FlowRecord(6, "10.0.0.1", 1, "10.0.0.2", 2, None, 1, 60, 0, 0,
                                    1.0, 1.0, 0, "capture")], 1.0)  # fmt: skip
    next(table.entries()).view = table  # table -> list -> entry -> table
    gone = weakref.ref(table)
    del table
    gc.collect()
    assert gone() is None


def _run(table: FlowTable, rng: random.Random) -> list[list[tuple[object, ...]]]:
    """Ticks of deltas over 150 flows into a table of 100 (evictions, idle and active ends)."""
    seen = []
    now = 1000.0
    for _ in range(30):
        now += 1.0
        records = []
        for _ in range(rng.randrange(1, 25) if rng.random() < 0.8 else 120):
            i = rng.randrange(150) if rng.random() < 0.9 else rng.randrange(20)
            fwd = rng.random() < 0.7
            a, b = (f"10.0.0.{i}", "10.9.9.9") if fwd else ("10.9.9.9", f"10.0.0.{i}")
            pa, pb = (40000 + i, 443) if fwd else (443, 40000 + i)
            records.append(FlowRecord(6, a, pa, b, pb, None, 1, 100, 0, 0, now, now, 0x10,
                                      "capture"))  # fmt: skip
        table.merge_records(records, now)
        table.end_tick()
        table.expire(now)
        seen.append([(e.src, e.sport, e.packets, e.packets_rev) for e in table.entries()])
    return seen


def test_a_table_on_the_c_list_keeps_the_order_of_one_on_an_ordereddict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast = FlowTable(max_flows=100, idle_timeout=5.0, active_timeout=8.0)
    monkeypatch.setattr(flowtable, "_merger", lambda: None)
    slow = FlowTable(max_flows=100, idle_timeout=5.0, active_timeout=8.0)
    assert isinstance(slow._lru, OrderedDict)
    assert not isinstance(fast._lru, OrderedDict)
    assert _run(fast, random.Random(3)) == _run(slow, random.Random(3))
    assert fast.stats == slow.stats
    assert fast.stats.evictions
    assert fast.stats.idle_expired
    assert fast.stats.active_expired
