"""The C extension makes a table's entries as ``FlowEntry(record, keys)`` does (every slot
and counter alike), without its ``__init__``."""

from __future__ import annotations

import pytest

from netop.engine.flowtable import FlowEntry, FlowTable
from netop.model import AppFacts, FlowKpi, FlowRecord

RECORDS = [
    FlowRecord(6, "10.0.0.1", 40000, "10.0.0.2", 443, None, 3, 180, 2, 120, 100.0, 100.5,
               0x12, "capture"),
    FlowRecord(17, "fd00::1", 53, "fd00::2", 5353, 7, 1, 80, 1, 120, 1.7e9, 1.7e9 + 2, 0,
               "ipfix", "192.0.2.9", 100, 3, 4, FlowKpi(dns_queries=1), AppFacts("dns")),
]


def _state(entry: FlowEntry) -> dict[str, object]:
    names = [*FlowEntry.__slots__, "packets", "bytes", "packets_rev", "bytes_rev",
             "tick_packets", "tick_bytes", "tick_packets_rev", "tick_bytes_rev", "first",
             "last", "tcp_flags"]  # fmt: skip
    return {name: getattr(entry, name) for name in names}


@pytest.mark.parametrize("record", RECORDS)
def test_a_c_made_entry_is_the_python_made_one(record: FlowRecord) -> None:
    table = FlowTable()
    if table._fast is None:
        pytest.skip("the C extension is not available here")
    keys = (record[:6] + record[13:15], record[:6] + record[13:15])
    made = table._fast.new_entry(table._template, record, keys, *table._entry_slots)
    assert type(made) is FlowEntry
    assert _state(made) == _state(FlowEntry(record, keys))
    assert made._keys is keys


def test_entries_made_in_a_merge_count_as_the_python_ones() -> None:
    """Merged through C (entries made by ``new_entry``) and through Python alone, the
    table's flows and counters are the same."""
    tables = []
    for fast in (True, False):
        table = FlowTable(max_flows=10)
        if not fast:
            table._fast = None
        table.merge_records(RECORDS + [RECORDS[0]._replace(first=99.0, packets=1)], 101.0)
        tables.append(table)
    assert [_state(e) | {"_keys": None} for e in tables[0].entries()] == [
        _state(e) | {"_keys": None} for e in tables[1].entries()]
    assert tables[0].stats.created == tables[1].stats.created == 2
