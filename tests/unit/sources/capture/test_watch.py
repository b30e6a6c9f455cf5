"""The recent-packet ring and the watched flow: bounds, matching, bytes, handshake RTT."""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether
from scapy.utils import wrpcap

from netop.engine.engine import read_into_table
from netop.engine.flowtable import FlowTable
from netop.model import FlowKey, FlowPackets
from netop.native import fastpath
from netop.packet.pcapfile import read_batches
from netop.sources.capture.aggregate import PacketAggregator
from netop.sources.capture.child import parse_control
from netop.sources.capture.watch import (
    FLOW_PACKETS,
    FLOW_SNAP,
    RING_SIZE,
    SNAP,
    WATCH_SIZE,
    from_wire,
    to_wire,
)
from tests.unit.sources.capture.test_fastpath import _tpacket_block

C, S = "10.0.0.1", "10.0.0.2"
T0 = 1_700_000_000.0
PATHS = [
    pytest.param(True, id="C"),
    pytest.param(False, id="python"),
]


def _eth() -> Ether:
    # Fixed addresses: scapy would otherwise look up routes and neighbours (slow).
    return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def _agg(fast: bool) -> PacketAggregator:
    if fast and fastpath.load() is None:
        pytest.skip("the C fast path cannot be built here (no C compiler)")
    agg = PacketAggregator(fast=fast, keep_packets=True)
    assert agg.accelerated == fast
    return agg


def _frame(src: str, dst: str, sport: int, dport: int, flags: str = "A", vlan: int | None = None,
           payload: int = 0) -> bytes:  # fmt: skip
    ip = IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags) / (b"p" * payload)
    return bytes(_eth() / Dot1Q(vlan=vlan) / ip if vlan is not None else _eth() / ip)


def _take(agg: PacketAggregator) -> FlowPackets:
    flow, taken = agg.watching, agg.take_watched()
    assert flow is not None
    assert taken is not None
    watched = from_wire(to_wire(flow, taken))
    assert watched is not None
    return watched


@pytest.mark.parametrize("fast", PATHS)
def test_both_directions_match_with_reverse_flags_and_bytes(fast: bool) -> None:
    agg = _agg(fast)
    frames = [
        _frame(C, S, 40000, 80, payload=500),
        _frame(S, C, 80, 40000, payload=10),
        _frame(C, S, 40001, 80),  # another flow: other source port
        _frame(S, C, 80, 40001),
        _frame("10.0.0.3", S, 40000, 80),  # another host
    ]
    packets = [(T0 + i, f, len(f) + 4) for i, f in enumerate(frames)]
    agg.watch((6, C, 40000, S, 80, None))
    agg.add_batch(1, packets)
    got = _take(agg)
    assert got.flow == (6, C, 40000, S, 80, None)
    assert [p.reverse for p in got.packets] == [False, True]
    assert [p.ts for p in got.packets] == [T0, T0 + 1]
    assert got.packets[0].data == frames[0][:SNAP]
    assert len(got.packets[0].data) == SNAP
    assert got.packets[1].data == frames[1]
    assert [p.wirelen for p in got.packets] == [len(frames[0]) + 4, len(frames[1]) + 4]
    assert all(p.linktype == 1 for p in got.packets)
    assert got.handshake_rtt is None
    assert got.syn_rtt is None
    assert _take(agg).packets == ()  # taken once


@pytest.mark.parametrize("fast", PATHS)
def test_vlan_is_part_of_the_flow(fast: bool) -> None:
    agg = _agg(fast)
    frames = [_frame(C, S, 1, 2, vlan=7), _frame(C, S, 1, 2, vlan=8), _frame(S, C, 2, 1, vlan=7),
              _frame(C, S, 1, 2)]  # fmt: skip
    agg.add_batch(1, [(T0 + i, f, len(f)) for i, f in enumerate(frames)])
    agg.watch((6, C, 1, S, 2, 7))  # the ring's packets come first
    got = _take(agg)
    assert [(p.data, p.reverse) for p in got.packets] == [(frames[0], False), (frames[2], True)]
    agg.watch((6, C, 1, S, 2, None))
    assert [p.data for p in _take(agg).packets] == [frames[3]]


@pytest.mark.parametrize("fast", PATHS)
def test_ipv6_and_icmp_replies_match(fast: bool) -> None:
    agg = _agg(fast)
    a, b = "2001:db8::1", "2001:db8::2"
    six = [bytes(_eth() / IPv6(src=a, dst=b) / UDP(sport=5, dport=53)),
           bytes(_eth() / IPv6(src=b, dst=a) / UDP(sport=53, dport=5))]  # fmt: skip
    ping = [bytes(_eth() / IP(src=C, dst=S) / ICMP(type=8, id=1)),
            bytes(_eth() / IP(src=S, dst=C) / ICMP(type=0, id=1))]  # fmt: skip
    agg.add_batch(1, [(T0 + i, f, len(f)) for i, f in enumerate(six + ping)])
    agg.watch((17, a, 5, b, 53, None))
    assert [(p.data, p.reverse) for p in _take(agg).packets] == [(six[0], False), (six[1], True)]
    agg.watch((1, C, 0, S, 8 * 256, None))
    assert [(p.data, p.reverse) for p in _take(agg).packets] == [(ping[0], False), (ping[1], True)]


@pytest.mark.parametrize("fast", PATHS)
def test_ring_and_per_batch_bounds(fast: bool) -> None:
    _agg(fast)
    agg = PacketAggregator(fast=fast, keep_packets=True, flow_packets=0)  # the global ring only
    old = _frame(C, S, 1, 2)
    base = _frame("10.1.0.1", S, 1000, 80)  # then only the source port changes (offset 34)
    filler = [base[:34] + (1000 + i % 50).to_bytes(2, "big") + base[36:] for i in range(RING_SIZE)]
    batch = [(T0, old, len(old))] + [(T0 + 1 + i * 1e-4, f, len(f)) for i, f in enumerate(filler)]
    agg.add_batch(1, batch)
    agg.watch((6, C, 1, S, 2, None))
    assert _take(agg).packets == ()  # scrolled out of the 4096-packet ring
    agg.watch((6, "10.1.0.1", 1000, S, 80, None))  # its last 82 packets are still held
    got = _take(agg).packets
    assert len(got) == WATCH_SIZE
    newest = max(i for i in range(RING_SIZE) if i % 50 == 0)
    assert got[-1].ts == batch[1 + newest][0]  # the newest kept, oldest first
    assert [p.ts for p in got] == sorted(p.ts for p in got)
    agg.add_batch(1, [(T0 + 10 + i, f, len(f)) for i, f in enumerate(filler[:200])])
    assert len(_take(agg).packets) == 4  # only what came since the last take
    agg.watch(None)
    assert agg.take_watched() is None
    assert agg.watching is None


@pytest.mark.parametrize("fast", PATHS)
def test_live_ring_blocks_are_kept_as_raw_ip(fast: bool) -> None:
    agg = _agg(fast)
    frames = [(_frame(C, S, 9, 10, payload=20), 5), (_frame(S, C, 10, 9), 5),
              (_frame(S, C, 10, 9), None)]  # fmt: skip
    agg.watch((6, C, 9, S, 10, 5))
    agg.add_tpacket_block(_tpacket_block(frames), len(frames))
    got = _take(agg).packets
    assert [(p.data, p.reverse, p.linktype) for p in got] == [
        (frames[0][0][14:], False, 101),
        (frames[1][0][14:], True, 101),
    ]
    assert got[0].ts == pytest.approx(100.000005)


@pytest.mark.parametrize("fast", PATHS)
def test_loopback_packets_are_kept_once(fast: bool) -> None:
    # On lo each packet reaches the ring twice (OUTGOING, then HOST): the detail screen
    # must list it once, as tcpdump does.
    agg = _agg(fast)
    frames = [(_frame(C, S, 9, 10, payload=20), None)] * 2 + [(_frame(S, C, 10, 9), None)] * 2
    sll = [(1, 4), (1, 0), (1, 4), (1, 0)]
    agg.watch((6, C, 9, S, 10, None))
    agg.add_tpacket_block(_tpacket_block(frames, sll), len(frames), 1)
    got = _take(agg).packets
    assert [p.reverse for p in got] == [False, True]


def _handshake_pcap(tmp_path: Path) -> tuple[Path, FlowKey]:
    seq = [  # (time, from client?, flags)
        (0.000, True, "S"),
        (0.003, True, "S"),  # retransmitted SYN: the RTT counts from the first
        (0.025, False, "SA"),
        (0.0262, True, "A"),
        (0.030, True, "PA"),
        (0.050, False, "A"),
    ]
    pkts = []
    for dt, client, flags in seq:
        a, b, sp, dp = (C, S, 40000, 443) if client else (S, C, 443, 40000)
        p = _eth() / IP(src=a, dst=b) / TCP(sport=sp, dport=dp, flags=flags)
        p.time = T0 + dt
        pkts.append(p)
    path = tmp_path / "hs.pcap"
    wrpcap(str(path), pkts)
    return path, (6, C, 40000, S, 443, None)


@pytest.mark.parametrize("fast", PATHS)
def test_handshake_rtt_from_a_pcap(tmp_path: Path, fast: bool) -> None:
    path, flow = _handshake_pcap(tmp_path)
    agg = _agg(fast)
    agg.watch(flow)
    for linktype, packets in read_batches(str(path)):
        agg.add_batch(linktype, packets)
    got = _take(agg)
    assert len(got.packets) == 6
    assert [p.reverse for p in got.packets] == [False, False, True, False, False, True]
    assert got.syn_rtt == pytest.approx(0.025, abs=2e-6)
    assert got.handshake_rtt == pytest.approx(0.0262, abs=2e-6)


@pytest.mark.parametrize("fast", PATHS)
def test_handshake_rtt_through_the_c_pcap_walker(tmp_path: Path, fast: bool) -> None:
    path, flow = _handshake_pcap(tmp_path)
    agg = _agg(fast)
    read_into_table(str(path), FlowTable(), agg)  # the classic-pcap route
    agg.watch(flow)  # after the fact: from the ring alone
    got = _take(agg)
    assert len(got.packets) == 6
    assert got.handshake_rtt == pytest.approx(0.0262, abs=2e-6)


@pytest.mark.parametrize("fast", PATHS)
def test_no_rtt_without_the_whole_handshake(tmp_path: Path, fast: bool) -> None:
    agg = _agg(fast)
    frames = [_frame(S, C, 443, 40000, "SA"), _frame(C, S, 40000, 443, "A")]
    agg.watch((6, C, 40000, S, 443, None))
    agg.add_batch(1, [(T0 + i, f, len(f)) for i, f in enumerate(frames)])
    got = _take(agg)
    assert len(got.packets) == 2
    assert got.syn_rtt is None
    assert got.handshake_rtt is None


def test_keeping_packets_is_off_unless_asked() -> None:
    agg = PacketAggregator()
    agg.watch((6, C, 1, S, 2, None))
    f = _frame(C, S, 1, 2)
    agg.add_batch(1, [(T0, f, len(f))])
    assert agg.take_watched() is None


def test_bad_watch_requests_are_ignored() -> None:
    agg = PacketAggregator(keep_packets=True)
    agg.watch((6, "not an address", 1, S, 2, None))
    assert agg.watching is None
    assert agg.take_watched() is None
    assert from_wire(("junk",)) is None


def test_control_lines() -> None:
    rest, stop, watches, _ = parse_control(
        b'watch [6, "10.0.0.1", 1, "10.0.0.2", 2, 7]\nwatch {bad\nwatch null\nwatch [6, "x"'
    )
    assert watches == [(6, "10.0.0.1", 1, "10.0.0.2", 2, 7), None]
    assert not stop
    assert rest == b'watch [6, "x"'
    rest, stop, watches, _ = parse_control(rest + b', 1, "y", 2, null]\nstop\n')
    assert stop
    assert rest == b""
    assert watches == [(6, "x", 1, "y", 2, None)]


def test_wire_form_is_time_ordered_and_bounded() -> None:
    packets = [(T0 + (i * 7) % 100, 1, b"x", 1, False) for i in range(100)]
    got = from_wire(to_wire((6, C, 1, S, 2, None), (packets, 0.0, 0.0, 0.0, 0)))
    assert got is not None
    assert len(got.packets) == WATCH_SIZE
    assert [p.ts for p in got.packets] == sorted(p.ts for p in got.packets)


@pytest.mark.parametrize("fast", PATHS)
def test_quiet_flow_keeps_its_last_packets_past_the_global_ring(fast: bool) -> None:
    # A quiet flow's packets scroll out of the global ring under a busy flow; its own
    # ring still holds its last FLOW_PACKETS, and watching it starts with them.
    agg = _agg(fast)
    quiet = [_frame(C, S, 5000, 53, payload=i) for i in range(FLOW_PACKETS + 3)]
    quiet[1] = _frame(S, C, 53, 5000, payload=1)  # one answer: reverse
    busy = _frame("10.1.0.1", S, 1000, 80)
    batch = [(T0 + i, f, len(f) + 4) for i, f in enumerate(quiet)]
    batch += [(T0 + 100 + i * 1e-4, busy, len(busy)) for i in range(RING_SIZE + 10)]
    agg.add_batch(1, batch)
    agg.watch((6, C, 5000, S, 53, None))
    got = _take(agg).packets
    assert len(got) == FLOW_PACKETS
    kept = batch[3 : FLOW_PACKETS + 3]
    assert [p.ts for p in got] == [ts for ts, _f, _w in kept]
    assert [p.data for p in got] == [f[:FLOW_SNAP] for _ts, f, _w in kept]
    assert [p.wirelen for p in got] == [w for _ts, _f, w in kept]
    assert not any(p.reverse for p in got)
    agg.watch((6, S, 53, C, 5000, None))  # from the other side: the directions flip
    assert all(p.reverse for p in _take(agg).packets)


@pytest.mark.parametrize("fast", PATHS)
def test_flow_rings_are_a_bounded_pool_reusing_slots_by_clock(fast: bool) -> None:
    if fast and fastpath.load() is None:
        pytest.skip("the C fast path cannot be built here (no C compiler)")
    agg = PacketAggregator(fast=fast, keep_packets=True, flow_packets=4, flow_rings=3)
    frames = {port: _frame(C, S, port, 80) for port in (1, 2, 3, 4, 5)}
    # 4 finds every slot marked: the hand clears the marks and takes the first (1's);
    # 2 marks its slot again, so 5 takes 3's, the one not active since the hand passed.
    order = [1, 2, 3, 4, 2, 5]
    batch = [(T0 + i, frames[p], 60) for i, p in enumerate(order)]
    ping = bytes(_eth() / IP(src="10.9.0.1", dst=S) / ICMP(type=8, id=1))
    batch += [(T0 + 10 + i * 1e-4, ping, 60) for i in range(RING_SIZE)]  # no flow ring
    agg.add_batch(1, batch)
    kept = {}
    for port in frames:
        agg.watch((6, C, port, S, 80, None))
        kept[port] = [p.ts - T0 for p in _take(agg).packets]
    assert kept == {1: [], 2: [1, 4], 3: [], 4: [3], 5: [5]}


def test_flow_ring_settings_are_checked() -> None:
    if fastpath.load() is None:
        pytest.skip("the C fast path cannot be built here (no C compiler)")
    with pytest.raises(ValueError, match="too large"):
        PacketAggregator(keep_packets=True, flow_packets=1024, flow_rings=1 << 20)
    agg = PacketAggregator(keep_packets=True, flow_packets=0)  # off: the global ring only
    quiet = _frame(C, S, 5000, 53)
    busy = bytes(_eth() / IP(src="10.9.0.1", dst=S) / ICMP(type=8, id=1))
    agg.add_batch(1, [(T0, quiet, 60)] + [(T0 + 1, busy, 60)] * RING_SIZE)
    agg.watch((6, C, 5000, S, 53, None))
    assert _take(agg).packets == ()


def _pcap_records(packets: list[tuple[float, bytes, int]]) -> bytes:
    import struct

    return b"".join(struct.pack("<IIII", int(ts), round(ts % 1 * 1e6), len(f), w) + f
                    for ts, f, w in packets)  # fmt: skip


@pytest.mark.parametrize("fast", PATHS)
def test_a_slot_given_to_another_flow_mid_interval_is_not_written_by_the_first(
    fast: bool,
) -> None:
    # The C table remembers each flow's slot in its flow-table entry until the next
    # drain; a slot the clock gave to another flow meanwhile must not take its packets.
    if fast and fastpath.load() is None:
        pytest.skip("the C fast path cannot be built here (no C compiler)")
    agg = PacketAggregator(fast=fast, keep_packets=True, flow_packets=4, flow_rings=1)
    one, two = _frame(C, S, 1, 80), _frame(C, S, 2, 80)
    ping = bytes(_eth() / IP(src="10.9.0.1", dst=S) / ICMP(type=8, id=1))
    packets = [(T0, one, 60), (T0 + 1, two, 60), (T0 + 2, one, 60)]
    packets += [(T0 + 10, ping, 60)] * RING_SIZE
    agg.add_pcap_buffer(_pcap_records(packets), True, False, 1)
    agg.watch((6, C, 2, S, 80, None))
    assert [p.ts - T0 for p in _take(agg).packets] == []  # 1 took the only slot back
    agg.watch((6, C, 1, S, 80, None))
    assert [p.ts - T0 for p in _take(agg).packets] == [2]
