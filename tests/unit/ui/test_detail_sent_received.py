"""A flow's detail says what its local process sent and received (nethogs' columns)."""

from __future__ import annotations

from netop.model import FlowRecord, FlowRow
from netop.ui.detail import _sent_received


def _row(remote: str) -> FlowRow:
    record = FlowRecord(6, "203.0.113.9", 60000, "10.1.0.1", 80, None, 5, 1000, 5, 250_000,
                        100.0, 101.0)
    return FlowRow(key="k", record=record, rate_bps=8000.0, rate_rev_bps=2_000_000.0,
                   process="nginx (777)", remote=remote)


def test_a_server_sends_what_its_flows_carry_back() -> None:
    # nginx answers: the remote end opened the flow, so ← is what nginx sent.
    assert _sent_received(_row("203.0.113.9"), True) == (
        "2.00Mb/s (250kB)  /  8.00kb/s (1.00kB)")


def test_a_client_sends_what_its_flows_carry_forward() -> None:
    assert _sent_received(_row("10.1.0.1"), True) == (
        "8.00kb/s (1.00kB)  /  2.00Mb/s (250kB)")
