"""The C flow index (``_fastflow.FlowIndex``) answers as the dict it replaces: the same
(entry, reverse) for a key, through removals and resizes, and the merge finds a record's
flow in it by the record's own fields."""

from __future__ import annotations

import gc
import random
import weakref
from typing import Any

import pytest

from netop.engine import flowtable
from netop.engine.flowtable import FlowEntry, FlowTable, TableKey
from netop.model import FlowRecord
from netop.native import fastpath

FAST = fastpath.load()
pytestmark = pytest.mark.skipif(FAST is None, reason="the C extension is not available here")


def _key(i: int) -> TableKey:
    # fresh strings each time: found by value, not by identity
    return (6 if i % 3 else 17, f"10.0.{i >> 8}.{i & 255}", 1000 + i % 7,
            "".join(["192.0.2.", str(i % 5)]), 443, None if i % 2 else i % 4095,
            "capture" if i % 4 else "ipfix", None if i % 4 else "198.51.100.1")  # fmt: skip


def _entry(i: int) -> FlowEntry:
    k = _key(i)
    r = FlowRecord(*k[:6], 1, 60, 0, 0, 1.0, 1.0, 0, k[6], k[7])  # type: ignore[misc]
    return FlowEntry(r, (k, k))


# 6,000 keys take slot arrays past 256 KiB, which are mapped rather than malloc'd.
@pytest.mark.parametrize("keys", [600, 6_000])
def test_random_operations_answer_as_a_dict(keys: int) -> None:
    rng = random.Random(11)
    entries = [_entry(i) for i in range(keys)]
    fast: Any = FAST.FlowIndex()
    slow: dict[TableKey, tuple[FlowEntry, bool]] = {}
    for _ in range(keys * 30):
        i = rng.randrange(keys)
        key, value = _key(i), (entries[i], rng.random() < 0.5)
        op = rng.randrange(5)
        if op == 0:
            fast[key] = value
            slow[key] = value
        elif op == 1:
            assert fast.setdefault(key, value) == slow.setdefault(key, value)
        elif op == 2 and key in slow:
            del fast[key]
            del slow[key]
        elif op == 3:
            assert fast.get(key) == slow.get(key)
        else:
            assert (key in fast) == (key in slow)
        assert len(fast) == len(slow)
    for i in range(keys):
        assert fast.get(_key(i), "none") == slow.get(_key(i), "none")


def test_bad_keys_and_values_are_errors() -> None:
    index: Any = FAST.FlowIndex()
    with pytest.raises(TypeError, match="8-tuple"):
        index.get((1, 2))
    with pytest.raises(TypeError, match="FlowEntry, reverse"):
        index[_key(1)] = ("not an entry", False)
    with pytest.raises(KeyError):
        del index[_key(1)]
    with pytest.raises(KeyError):
        index[_key(1)]  # noqa: B018
    with pytest.raises(TypeError):
        index.get(([], "", 0, "", 0, None, "", None))  # an unhashable field


def test_a_cycle_through_the_index_is_collected() -> None:
    table = FlowTable()
    table.merge_records([FlowRecord(6, "10.0.0.1", 1, "10.0.0.2", 2, None, 1, 60, 0, 0,
                                    1.0, 1.0, 0, "capture")], 1.0)  # fmt: skip
    table._lru = type(table._lru)()  # only the index holds the entry now
    entry = table._index.get((6, "10.0.0.1", 1, "10.0.0.2", 2, None, "capture", None))[0]
    entry.view = table  # table -> index -> entry -> table
    gone = weakref.ref(table)
    del table, entry
    gc.collect()
    assert gone() is None


def test_a_table_on_the_c_index_merges_as_one_on_a_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    """Records whose strings are equal to, not the same objects as, the keys': both ways
    of each flow, ICMP's reversed type and code, VLANs, exporters."""
    rng = random.Random(5)
    ticks = []
    for t in range(20):
        records = []
        for _ in range(200):
            i = rng.randrange(120)
            k = _key(i)
            proto = 1 if i % 10 == 0 else k[0]
            sport, dport = (8, 0) if proto == 1 else (k[2], k[4])
            fwd = rng.random() < 0.6
            src, dst = (k[1], k[3]) if fwd else (k[3], k[1])
            if proto == 1 and not fwd:
                sport, dport = 0, 0  # an echo reply
            elif not fwd:
                sport, dport = dport, sport
            records.append(FlowRecord(proto, "".join(src), sport, "".join(dst), dport, k[5],
                                      1, 100, 0, 0, 100.0 + t, 100.0 + t, 0, k[6], k[7]))
        ticks.append(records)
    fast = FlowTable(max_flows=80)
    monkeypatch.setattr(flowtable, "_merger", lambda: None)
    slow = FlowTable(max_flows=80)
    assert isinstance(slow._index, dict)
    assert not isinstance(fast._index, dict)
    for t, records in enumerate(ticks):
        for table in (fast, slow):
            table.merge_records(records, 100.0 + t)
            table.end_tick()
        assert [(e.proto, e.src, e.sport, e.dst, e.dport, e.packets, e.packets_rev)
                for e in fast.entries()] == [
            (e.proto, e.src, e.sport, e.dst, e.dport, e.packets, e.packets_rev)
            for e in slow.entries()]  # fmt: skip
    assert fast.stats == slow.stats
    assert fast.stats.evictions


def test_an_unhashable_record_fails_in_its_turn_not_before() -> None:
    """The merge hashes records a few places ahead (to fetch their slots early): a bad
    one there is reported when its turn comes, after the records before it merged."""
    good = [FlowRecord(6, f"10.0.0.{i}", 1, "10.0.0.250", 2, None, 1, 60, 0, 0, 1.0, 1.0,
                       0, "capture") for i in range(3)]  # fmt: skip
    bad = good[0]._replace(src=["not", "hashable"])
    table = FlowTable()
    with pytest.raises(TypeError, match="unhashable"):
        table.merge_records([*good, bad, *good], 1.0)
    assert sorted(e.src for e in table.entries()) == ["10.0.0.0", "10.0.0.1", "10.0.0.2"]
    assert all(e.packets == 1 for e in table.entries())
