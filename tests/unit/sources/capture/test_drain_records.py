"""The records C makes of a drain (``PacketAggregator.drain``) are those the Python loop
makes of the same rows: addresses as text (v4 and v6), counts times the sampling rate,
KPIs a ``FlowKpi``, application facts an ``AppFacts``."""

from __future__ import annotations

import random
import socket

import pytest
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Packet

from netop.model import AppFacts, FlowKpi, FlowRecord
from netop.sources.capture.aggregate import PacketAggregator


def _packets() -> list[tuple[float, bytes, int]]:
    rng = random.Random(7)
    out: list[Packet] = []
    for i in range(300):
        # Every octet width, 0 and 255 included: the C formatter writes IPv4 by hand.
        a = ".".join(str(rng.choice([0, 1, 9, 10, 99, 100, 199, 255, rng.randrange(256)]))
                     for _ in range(4))  # fmt: skip
        out.append(Ether() / IP(src=a, dst="192.0.2.1") / UDP(sport=1024 + i, dport=9))
    for _ in range(20):
        raw = bytes(rng.randrange(256) if rng.random() < 0.5 else 0 for _ in range(16))
        out.append(Ether() / IPv6(src=socket.inet_ntop(socket.AF_INET6, raw), dst="::1")
                   / UDP(sport=5, dport=6))  # fmt: skip
    # A TCP exchange (KPIs), a DNS question and answer (app facts), a VLAN.
    c, s = "10.0.0.1", "10.0.0.2"
    out += [Ether() / IP(src=c, dst=s) / TCP(sport=40000, dport=80, flags="S", seq=1),
            Ether() / IP(src=s, dst=c) / TCP(sport=80, dport=40000, flags="SA", seq=9, ack=2),
            Ether() / IP(src=c, dst=s) / TCP(sport=40000, dport=80, flags="A", seq=2, ack=10)]
    q = DNS(id=5, rd=1, qd=DNSQR(qname="example.com"))
    out += [Ether() / IP(src=c, dst=s) / UDP(sport=5353, dport=53) / q,
            Ether() / IP(src=s, dst=c) / UDP(sport=53, dport=5353)
            / DNS(id=5, qr=1, qd=q.qd, an=DNSRR(rrname="example.com", rdata="192.0.2.7"))]
    out.append(Ether() / Dot1Q(vlan=42) / IP(src=c, dst=s) / UDP(sport=7, dport=8))
    return [(1000.0 + i / 100, bytes(p), len(p)) for i, p in enumerate(out)]


@pytest.mark.parametrize("sampling", [1, 100])
def test_c_records_are_the_python_records(sampling: int) -> None:
    packets = _packets()
    fast, slow = PacketAggregator(), PacketAggregator()
    if fast._c is None:
        pytest.skip("the C extension did not build")
    for agg in (fast, slow):
        agg.sampling = sampling
        agg.add_batch(1, packets)
    c_made = fast.drain()
    python_made = slow._drain("capture", typed=True)
    assert c_made == python_made
    assert len(c_made) == 300 + 20 + 3
    assert all(type(r) is FlowRecord for r in c_made)
    assert all(type(r.kpi) is FlowKpi for r in c_made if r.kpi is not None)
    assert any(r.kpi is not None and r.proto == 6 for r in c_made)
    apps = [r.app for r in c_made if r.app is not None]
    assert apps
    assert all(type(a) is AppFacts for a in apps)
    assert {r.vlan for r in c_made} == {None, 42}
    assert all(r.packets % sampling == 0 and r.sampling == sampling for r in c_made)
    assert fast.drain() == []  # a drain starts a new interval


def test_an_address_is_one_string_across_flows_and_drains() -> None:
    """Each address's text is made once and shared (by its flows, and tick after tick):
    the flow table's keys compare by identity."""
    agg = PacketAggregator()
    if agg._c is None:
        pytest.skip("the C extension did not build")
    packets = _packets()
    agg.add_batch(1, packets[:100])
    first = {r.src: r.src for r in agg.drain()}
    agg.add_batch(1, packets[:100])
    again = agg.drain()
    assert again
    assert all(r.src is first[r.src] for r in again if r.src in first)
    assert len({id(r.dst) for r in again if r.dst == "192.0.2.1"}) == 1
