"""The detail screen's record lists the flow's interfaces (in_if / out_if) when known."""

from __future__ import annotations

import socket

from rich.console import Console

from netop.model import FlowRecord, FlowRow
from netop.ui.detail import record_table


def _text(row: FlowRow) -> str:
    console = Console(width=100, record=True, color_system=None)
    console.print(record_table(row, 2.0, True))
    return " ".join(console.export_text().split())


def test_detail_lists_the_interfaces_a_flow_used() -> None:
    lo = socket.if_nametoindex("lo")
    captured = FlowRecord(6, "127.0.0.1", 1, "127.0.0.1", 2, None, 1, 60, first=1.0, last=1.0,
                          in_if=lo)  # fmt: skip
    assert f"interface in / out {lo} (lo) / —" in _text(FlowRow("k", captured))
    # An exporter's ifIndex is one of its own interfaces: the number only.
    exported = captured._replace(source="ipfix", exporter="192.0.2.1", in_if=lo, out_if=7)
    assert f"interface in / out {lo} / 7" in _text(FlowRow("k", exported))
    assert "interface" not in _text(FlowRow("k", captured._replace(in_if=None)))
