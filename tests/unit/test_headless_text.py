"""Text output of the headless commands: timestamped interface lines, the TUI's units."""

from __future__ import annotations

import time

from netop.commands.output import FLOW_HEADER, flow_row, interface_line
from netop.format import human_age, human_bytes, human_count, human_rate
from netop.model import FlowRecord, InterfaceRate


def _rate(ts: float) -> InterfaceRate:
    return InterfaceRate(origin="snmp:core", name="ge-0/0/1", ts=ts, rx_bps=1_234_000.0,
                         tx_bps=56_000.0, rx_pps=10.0, tx_pps=2.0,
                         deltas={"rx_drops": 3, "tx_drops": 0, "rx_errors": 1,
                                 "tx_errors": 0},
                         counters={}, speed_bps=None, oper_up=True)  # fmt: skip


def test_an_interface_line_starts_with_the_sample_time() -> None:
    ts = 1_700_000_123.0
    line = interface_line(_rate(ts))
    assert line.startswith(time.strftime("%H:%M:%S ", time.localtime(ts))), line
    assert human_rate(1_234_000.0) in line


def test_a_flow_row_counts_in_the_tuis_units() -> None:
    r = FlowRecord(6, "10.0.0.1", 40000, "192.0.2.1", 443, None, 12_345, 9_876_543, 5,
                   500, 1.7e9, 1.7e9 + 125.0, 0x12, "capture", None, 1)
    row = flow_row(r)
    assert human_bytes(9_876_543) in row
    assert human_count(12_345) in row
    assert human_age(125.0) in row
    assert "9876543" not in row
    assert len(row.split()) == len(FLOW_HEADER.split()) - 0  # one cell per column
