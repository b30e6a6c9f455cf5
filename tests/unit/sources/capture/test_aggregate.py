"""Packets into bidirectional flows: orientation, fragments, ICMP pairing, robustness."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

from netop.model import FlowRecord
from netop.sources.capture.aggregate import PacketAggregator

E = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
A, B = "10.0.0.1", "10.0.0.2"


def _run(frames: list[bytes], linktype: int = 1) -> tuple[PacketAggregator, list[FlowRecord]]:
    agg = PacketAggregator()
    agg.add_batch(linktype, [(100.0 + i, f, len(f)) for i, f in enumerate(frames)])
    return agg, agg.drain()


def test_both_directions_join_one_flow() -> None:
    syn = E / IP(src=A, dst=B) / TCP(sport=40000, dport=80, flags="S")
    synack = E / IP(src=B, dst=A) / TCP(sport=80, dport=40000, flags="SA")
    data = E / IP(src=A, dst=B) / TCP(sport=40000, dport=80, flags="PA") / Raw(b"x" * 100)
    agg, recs = _run([bytes(syn), bytes(synack), bytes(data)])
    assert len(recs) == 1
    r = recs[0]
    assert (r.src, r.sport, r.dst, r.dport) == (A, 40000, B, 80)
    assert (r.packets, r.bytes, r.packets_rev, r.bytes_rev) == (2, 40 + 140, 1, 40)
    assert (r.first, r.last, r.tcp_flags) == (100.0, 102.0, 0x1A)
    assert agg.packets == 3


def test_syn_ack_seen_first_makes_the_other_side_src() -> None:
    synack = E / IP(src=B, dst=A) / TCP(sport=80, dport=40000, flags="SA")
    _, recs = _run([bytes(synack)])
    assert (recs[0].src, recs[0].sport, recs[0].packets, recs[0].packets_rev) == (A, 40000, 0, 1)


def test_icmp_reply_joins_its_request() -> None:
    req = E / IP(src=A, dst=B) / ICMP(type=8)
    rep = E / IP(src=B, dst=A) / ICMP(type=0)
    _, recs = _run([bytes(req), bytes(rep), bytes(req)])
    assert len(recs) == 1
    assert (recs[0].src, recs[0].dport, recs[0].packets, recs[0].packets_rev) == (A, 2048, 2, 1)


def test_non_first_ipv4_fragments_join_their_flow() -> None:
    big = IP(src=A, dst=B, id=77) / UDP(sport=5000, dport=2049) / Raw(b"y" * 3000)
    frames = [bytes(E / f) for f in fragment(big, fragsize=1000)]
    assert len(frames) == 4
    _, recs = _run(frames)
    assert len(recs) == 1
    assert (recs[0].sport, recs[0].dport, recs[0].packets) == (5000, 2049, 4)
    assert recs[0].bytes == sum(len(f) - 14 for f in frames)


def test_vlan_is_part_of_the_key() -> None:
    one = E / Dot1Q(vlan=10) / IP(src=A, dst=B) / UDP(sport=1, dport=2)
    two = E / Dot1Q(vlan=20) / IP(src=A, dst=B) / UDP(sport=1, dport=2)
    _, recs = _run([bytes(one), bytes(two)])
    assert sorted(r.vlan for r in recs if r.vlan is not None) == [10, 20]


def test_malformed_and_non_ip_are_counted() -> None:
    bad = bytearray(bytes(E / IP(src=A, dst=B) / UDP()))
    bad[14] = 0x42  # IHL 2
    agg, recs = _run([bytes(bad), bytes(Ether(type=0x0806) / Raw(b"\x00" * 28))])
    assert (agg.malformed, agg.non_ip, recs) == (1, 1, [])


def test_sampling_scales_counts() -> None:
    agg = PacketAggregator()
    agg.sampling = 8
    frame = bytes(E / IP(src=A, dst=B) / UDP(sport=1, dport=2))
    agg.add_batch(1, [(1.0, frame, len(frame))])
    (rec,) = agg.drain()
    assert (rec.packets, rec.bytes, rec.sampling) == (8, 8 * 28, 8)


def test_max_flows_bounds_a_tick() -> None:
    agg = PacketAggregator(max_flows=10)
    frames = [bytes(E / IP(src=A, dst=B) / UDP(sport=i, dport=9)) for i in range(1, 21)]
    agg.add_batch(1, [(1.0, f, len(f)) for f in frames])
    assert len(agg.drain()) == 10
    assert agg.overflow == 10


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=20), st.sampled_from([0, 1, 101, 113, 239, 276]))
def test_random_bytes_never_raise(frames: list[bytes], linktype: int) -> None:
    agg = PacketAggregator()
    agg.add_batch(linktype, [(1.0, f, len(f)) for f in frames])
    agg.drain()
    assert agg.packets == len(frames)


@settings(max_examples=200, deadline=None)
@given(st.integers(14, 60), st.binary(min_size=1, max_size=4))
def test_mutated_real_frames_never_raise(pos: int, junk: bytes) -> None:
    frame = bytearray(bytes(E / IP(src=A, dst=B) / TCP(flags="S") / Raw(b"p" * 20)))
    frame[pos : pos + len(junk)] = junk
    agg = PacketAggregator()
    agg.add_batch(1, [(1.0, bytes(frame), len(frame))])
    assert agg.packets == 1


def test_packets_going_back_in_time_keep_first_before_last() -> None:
    """A file of merged interfaces goes back in time: each path (C, Python's fast loop,
    Python's decoder for fragments) keeps a flow's earliest and latest times, the C
    table's way. Found on a pcapng: first was after last."""
    frames = [bytes(E / IP(src=A, dst=B) / UDP(sport=5, dport=6) / Raw(b"x" * 20)),
              bytes(E / IP(src=A, dst=B, flags="MF", id=7) / UDP(sport=7, dport=8) / Raw(b"y"))]
    for fast in (True, False):
        agg = PacketAggregator()
        if not fast:
            agg._c = None  # the pure-Python path throughout
        for ts in (20.0, 10.0, 30.0, 5.0):
            agg.add_batch(1, [(ts, f, len(f)) for f in frames])
        records = agg.drain()
        assert len(records) == 2
        assert {(r.first, r.last) for r in records} == {(5.0, 30.0)}, fast
