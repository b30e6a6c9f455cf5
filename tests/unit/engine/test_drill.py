"""Drill-down filters parse, and select what they say (through the real filter)."""

from __future__ import annotations

import pytest

from netop.engine.drill import (
    conversation_filter,
    host_filter,
    members_filter,
    narrow,
    port_filter,
    process_filter,
    program_of,
)
from netop.engine.filter import Facts, parse_filter
from netop.model import FlowRecord

WEB = FlowRecord(6, "10.0.0.5", 51512, "192.0.2.10", 443)
DNS = FlowRecord(17, "10.0.0.5", 40001, "192.0.2.53", 53)
V6 = FlowRecord(6, "fd00::5", 40000, "fd00::99", 22)
PING = FlowRecord(1, "10.0.0.5", 0, "192.0.2.10", 2048)


def matches(text: str, record: FlowRecord, process: str = "") -> bool:
    return parse_filter(text).matches(Facts(record, process=process))


@pytest.mark.parametrize(("text", "hits", "misses"), [
    (host_filter("192.0.2.10"), [WEB, PING], [DNS, V6]),
    (host_filter("fd00::99"), [V6], [WEB]),
    (port_filter(6, 443), [WEB], [DNS, PING]),
    (port_filter(17, 53), [DNS], [WEB]),
    (port_filter(1, 2048), [PING], [WEB, DNS]),
    (conversation_filter("10.0.0.5", "192.0.2.53"), [DNS], [WEB, V6]),
    (members_filter("remote", "192.0.2.53"), [DNS], [WEB]),
    (members_filter("port", (443, 6)), [WEB], [DNS]),
    (members_filter("protocol", 17), [DNS], [WEB, PING]),
])
def test_drill_filters_select_their_flows(
    text: str, hits: list[FlowRecord], misses: list[FlowRecord]
) -> None:
    for record in hits:
        assert matches(text, record), (text, record)
    for record in misses:
        assert not matches(text, record), (text, record)


def test_process_filter_takes_the_shown_name_whole() -> None:
    text = process_filter("firefox (4242)")
    assert text == 'process "firefox (4242)"'
    assert matches(text, WEB, "firefox (4242)")
    assert not matches(text, WEB, "firefox (4243)")
    assert process_filter("") == process_filter("—") == ""
    assert members_filter("process", "—") == ""


def test_narrow_ands_the_filter_in_force_once() -> None:
    assert narrow("", "host 192.0.2.10") == "host 192.0.2.10"
    assert narrow("tcp or udp", "port 53") == "(tcp or udp) and port 53"
    assert narrow("(tcp or udp) and port 53", "port 53") == "(tcp or udp) and port 53"
    parse_filter(narrow("tcp or udp", "port 53"))


def test_the_process_view_groups_by_program_and_its_filter_takes_every_pid() -> None:
    assert program_of("python3 (4242)") == "python3"
    assert program_of("iperf3 (1) → iperf3 (22)") == "iperf3 → iperf3"
    assert program_of("— → python3 (7)") == "— → python3"
    text = members_filter("process", "python3")
    for pid in (1, 4242):
        assert matches(text, WEB, f"python3 ({pid})")
    assert not matches(text, WEB, "python3.11 (5)")
    assert not matches(text, WEB, "iperf3 (1) → python3 (2)")
    both = members_filter("process", "— → python3")
    assert matches(both, WEB, "— → python3 (7)")
    assert not matches(both, WEB, "python3 (7)")


def test_flow_filter_selects_just_that_flow() -> None:
    from netop.engine.drill import flow_filter

    other_port = WEB._replace(sport=51513)
    flipped = WEB._replace(src=WEB.dst, sport=WEB.dport, dst=WEB.src, dport=WEB.sport)
    text = flow_filter(WEB[:6])  # type: ignore[arg-type]
    assert text == ("tcp and src host 10.0.0.5 and dst host 192.0.2.10 "
                    "and src port 51512 and dst port 443")
    assert matches(text, WEB)
    assert not any(matches(text, r) for r in (other_port, flipped, DNS, V6, PING))
    assert matches(flow_filter(V6[:6]), V6)  # type: ignore[arg-type]
    ping = flow_filter(PING[:6])  # type: ignore[arg-type]
    assert ping == "icmp and src host 10.0.0.5 and dst host 192.0.2.10"
    assert matches(ping, PING)
