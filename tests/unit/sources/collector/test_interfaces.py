"""in_if/out_if: the ifIndexes an exporter gives a flow, in every export protocol."""

from __future__ import annotations

import socket
import struct

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from netop.sources.collector.decoder import Collector
from tests.unit.sources.collector import builders as b

EXP = "192.0.2.1"
#: src, dst, sport, dport, proto, packets, bytes + two interface fields of ``width`` bytes.
BASE = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 4), (1, 4)]


def _record(*ifs: int, width: int = 4) -> bytes:
    head = struct.pack("!4s4sHHBII", socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.2"),
                       1234, 80, 6, 3, 180)  # fmt: skip
    code = {2: "H", 4: "I"}[width]
    return head + b"".join(struct.pack(f"!{code}", v) for v in ifs)


def _interfaces(data: bytes) -> list[tuple[int | None, int | None]]:
    return [(r.in_if, r.out_if) for r in b.flows(Collector(), data, EXP, 100.0)]


@pytest.mark.parametrize(
    ("fields", "values", "want"),
    [
        ([(10, 4), (14, 4)], (7, 9), (7, 9)),  # ingressInterface / egressInterface
        ([(252, 4), (253, 4)], (3, 4), (3, 4)),  # only the physical ones
        ([(10, 4), (14, 4), (252, 4), (253, 4)], (7, 9, 3, 4), (7, 9)),  # 10/14 win
        ([(252, 4), (10, 4), (253, 4), (14, 4)], (3, 7, 4, 9), (7, 9)),  # in any order
        ([(10, 2), (14, 2)], (7, 9), (7, 9)),  # reduced-size encoding
        ([(10, 4), (14, 4)], (0, 9), (None, 9)),  # ifIndex 0 names no interface
        ([(10, 4)], (7,), (7, None)),  # no egress field
        ([], (), (None, None)),
    ],
)
def test_ipfix_interfaces(
    fields: list[tuple[int, int]], values: tuple[int, ...], want: tuple[int | None, int | None]
) -> None:
    width = fields[0][1] if fields else 4
    msg = b.ipfix(b.ipfix_template_set(300, BASE + fields),
                  b.data_set(300, _record(*values, width=width)))  # fmt: skip
    assert _interfaces(msg) == [want]


def test_netflow9_interfaces() -> None:
    msg = b.v9(b.v9_template_set(300, [*BASE, (10, 2), (14, 2)]),
               b.data_set(300, _record(5, 6, width=2)))  # fmt: skip
    assert _interfaces(msg) == [(5, 6)]


def test_variable_length_template_interfaces() -> None:
    """A template with a variable-length field goes through the same decoder."""
    fields = [*BASE, (82, 65535), (10, 4), (14, 4)]
    head = _record()
    msg = b.ipfix(b.ipfix_template_set(300, fields),
                  b.data_set(300, head + b"\3eth" + struct.pack("!II", 11, 12)))  # fmt: skip
    assert _interfaces(msg) == [(11, 12)]


def _v5(input_if: int, output_if: int) -> bytes:
    header = struct.pack("!HHIIIIBBH", 5, 1, 100_000, 1_700_000_010, 0, 0, 0, 0, 0)
    record = struct.pack(
        "!4s4s4sHHIIIIHHBBBBHHBBH", socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.2"),
        b"\0" * 4, input_if, output_if, 3, 180, 90_000, 99_000, 1234, 80, 0, 0x12, 6, 0, 0, 0,
        0, 0, 0,
    )  # fmt: skip
    assert len(record) == 48
    return header + record


def test_netflow5_interfaces() -> None:
    assert _interfaces(_v5(3, 65535)) == [(3, 65535)]
    assert _interfaces(_v5(0, 2)) == [(None, 2)]


FRAME = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2))


@pytest.mark.parametrize(
    ("input_if", "output_if", "want"),
    [
        (5, 6, (5, 6)),
        (0, 6, (None, 6)),  # 0: interface not known
        (5, 0x3FFFFFFF, (5, None)),  # internal: the agent itself
        (0x3FFFFFFF, 6, (None, 6)),
        (5, 1 << 30 | 258, (5, None)),  # format 1: dropped (reason 258)
        (5, 2 << 30 | 3, (5, None)),  # format 2: sent to 3 interfaces
        (5, 2 << 30 | 0, (5, None)),  # format 2: to an unknown number of interfaces
    ],
)
def test_sflow_compact_interfaces(
    input_if: int, output_if: int, want: tuple[int | None, int | None]
) -> None:
    sample = b.sflow_flow_sample(FRAME, rate=1, in_if=input_if, out_if=output_if)
    assert _interfaces(b.sflow(sample)) == [want]


@pytest.mark.parametrize(
    ("words", "want"),
    [
        ((0, 7, 0, 8), (7, 8)),
        ((0, 7, 1, 258), (7, None)),  # dropped
        ((0, 7, 2, 4), (7, None)),  # multiple
        ((0, 0x3FFFFFFF, 0, 8), (None, 8)),  # internal
        ((0, 0, 0, 8), (None, 8)),  # unknown
    ],
)
def test_sflow_expanded_interfaces(
    words: tuple[int, int, int, int], want: tuple[int | None, int | None]
) -> None:
    header = FRAME + b"\0" * (-len(FRAME) % 4)
    raw = struct.pack("!IIII", 1, len(FRAME) + 4, 4, len(FRAME)) + header
    records = struct.pack("!II", 1, len(raw)) + raw
    body = struct.pack("!IIIIIIIIIII", 1, 0, 7, 1, 1, 0, *words, 1) + records
    assert _interfaces(b.sflow(struct.pack("!II", 3, len(body)) + body)) == [want]


def test_flows_on_other_interfaces_stay_apart() -> None:
    """The same 5-tuple in on two interfaces is two observations, not one flow."""
    msg = b.ipfix(b.ipfix_template_set(300, [*BASE, (10, 4), (14, 4)]),
                  b.data_set(300, _record(1, 2), _record(3, 2)))  # fmt: skip
    assert sorted(_interfaces(msg), key=str) == [(1, 2), (3, 2)]
