"""RFC 5103 biflow records (reverse counters under enterprise 29305) are read as both
directions: the reverse one with addresses, ports and interfaces swapped."""

from __future__ import annotations

from netop.model import FlowRecord
from netop.outputs.ipfix_encode import FlowEncoder
from netop.sources.collector.decoder import Collector

TCP = FlowRecord(6, "10.0.0.1", 40000, "10.0.0.2", 443, 7, 10, 1000, 8, 5000, 1700000000.25,
                 1700000003.5, 0x12, in_if=3, out_if=9)  # fmt: skip
PING = FlowRecord(58, "2001:db8::1", 0, "2001:db8::2", 128 * 256, None, 2, 208, 2, 208, 5.0, 6.0)
ONE_WAY = FlowRecord(17, "10.0.0.1", 1, "10.0.0.2", 2, None, 2, 168, 0, 0, 5.0, 6.0)


def _decoded(records: list[FlowRecord]) -> set[tuple[object, ...]]:
    collector = Collector()
    for datagram in FlowEncoder().encode(records):
        collector.feed(datagram, "127.0.0.1", 1.0)
    return {(r.proto, r.src, r.sport, r.dst, r.dport, r.vlan, r.packets, r.bytes, r.in_if,
             r.out_if) for rs in collector.flows.drain().values() for r in rs}  # fmt: skip


def test_both_directions_of_a_biflow() -> None:
    assert _decoded([TCP, ONE_WAY]) == {
        (6, "10.0.0.1", 40000, "10.0.0.2", 443, 7, 10, 1000, 3, 9),
        (6, "10.0.0.2", 443, "10.0.0.1", 40000, 7, 8, 5000, 9, 3),
        (17, "10.0.0.1", 1, "10.0.0.2", 2, None, 2, 168, None, None),  # no empty reverse
    }


def test_an_icmp_request_s_reverse_is_its_reply() -> None:
    assert _decoded([PING]) == {
        (58, "2001:db8::1", 0, "2001:db8::2", 128 * 256, None, 2, 208, None, None),
        (58, "2001:db8::2", 0, "2001:db8::1", 129 * 256, None, 2, 208, None, None),
    }
