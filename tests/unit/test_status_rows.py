"""The rows a source reports in its status are read through one typed shape each: the
keys the SNMP poller and the collector write are the ones the views read."""

from __future__ import annotations

from typing import Any

from netop.model import ExporterRow, SourceStatus, TargetRow, target_row
from netop.sources.collector.exporters import ExporterState
from netop.sources.snmp.targets import SnmpTarget
from netop.sources.snmp.tracker import TargetTracker


def snmp_target(**kw: Any) -> SnmpTarget:
    return SnmpTarget(**{"name": "sw1", "host": "192.0.2.1", **kw})


def test_every_field_of_an_exporter_row_is_written_by_the_collector() -> None:
    written = ExporterState("192.0.2.9", protocol="ipfix", records=7, seq_lost=2).row((1.5, 9.0))
    assert set(ExporterRow._fields) <= set(written)
    row = ExporterRow.of(written)
    assert row == ExporterRow("192.0.2.9", "ipfix", 1.5, 9.0, 0, 2, 0, 0.0, 7)


def test_every_field_of_a_target_row_is_written_by_the_poller() -> None:
    tracker = TargetTracker(snmp_target())
    tracker.reachable, tracker.last_error = False, "timeout"
    written = tracker.status_row()
    assert set(TargetRow._fields) <= set(written)
    assert TargetRow.of(written) == TargetRow("sw1", False, "timeout", None, None)


def test_a_group_finds_its_target_row_by_origin() -> None:
    rows = tuple(TargetTracker(snmp_target(name=n)).status_row() for n in ("a", "b"))
    statuses = [SourceStatus("collector", "", ({"exporter": "b"},)), SourceStatus("snmp", "", rows)]
    found = target_row("snmp:b", statuses)
    assert found is not None
    assert found.name == "b"
    assert target_row("snmp:c", statuses) is None
    assert target_row("sflow:b", statuses) is None  # an exporter's row is not a target's
