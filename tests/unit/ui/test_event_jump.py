"""Which Interfaces row an event is about (``Enter`` on an event log line)."""

from __future__ import annotations

from netop.model import InterfaceRate, NetEvent, Severity
from netop.ui.eventjump import flow_clause, interface_row


def _rate(origin: str, name: str) -> InterfaceRate:
    return InterfaceRate(origin=origin, name=name, ts=0.0, rx_bps=None, tx_bps=None,
                         rx_pps=None, tx_pps=None, deltas={}, counters={}, speed_bps=None,
                         oper_up=None)  # fmt: skip


ROWS = [_rate("local", "eth0"), _rate("snmp:core1", "Gi0/1"), _rate("snmp:core2", "Gi0/1")]


def test_an_event_naming_its_row_goes_there_if_shown() -> None:
    event = NetEvent(0.0, Severity.WARNING, "snmp:core2", "x", row=("snmp:core2", "Gi0/1"))
    assert interface_row(event, ROWS) == "snmp:core2\0Gi0/1"
    gone = NetEvent(0.0, Severity.WARNING, "local", "x", row=("local", "wlan0"))
    assert interface_row(gone, ROWS) is None


def test_a_pushed_event_goes_to_its_senders_interface() -> None:
    trap = NetEvent(0.0, Severity.ERROR, "traps", "down", "link_down", "core2", "Gi0/1")
    assert interface_row(trap, ROWS) == "snmp:core2\0Gi0/1"
    local = NetEvent(0.0, Severity.ERROR, "syslog", "down", "link_down", "local", "eth0")
    assert interface_row(local, ROWS) == "local\0eth0"
    stranger = NetEvent(0.0, Severity.ERROR, "traps", "down", "link_down", "edge9", "Gi0/1")
    assert interface_row(stranger, ROWS) is None
    plain = NetEvent(0.0, Severity.INFO, "local", "watching 1 interface")
    assert interface_row(plain, ROWS) is None
    assert flow_clause(plain) == ""
