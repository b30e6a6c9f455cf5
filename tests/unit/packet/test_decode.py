"""Decoder cases, each a packet built with scapy whose truth is known."""

from __future__ import annotations

import pytest
from scapy.layers.inet import GRE, ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.layers.l2 import CookedLinux, Dot1AD, Dot1Q, Ether, Loopback
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw

from netop.packet.decode import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    PacketInfo,
    parse_frame,
)

E = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
V4 = IP(src="10.1.2.3", dst="10.9.8.7")
V6 = IPv6(src="fd00::1", dst="fd00::2")


def test_ethernet_ipv4_tcp_flags_and_l3_length() -> None:
    pkt = E / V4 / TCP(sport=1234, dport=443, flags="SA") / Raw(b"x" * 10)
    info = parse_frame(bytes(pkt))
    assert info == PacketInfo(6, "10.1.2.3", "10.9.8.7", 1234, 443, None, 50, 0x12)


def test_ipv4_options_move_the_transport_header() -> None:
    pkt = (
        E
        / IP(src="10.1.2.3", dst="10.9.8.7", options=b"\x01\x01\x01\x00")
        / UDP(sport=53, dport=5353)
    )
    info = parse_frame(bytes(pkt))
    assert info is not None
    assert (info.sport, info.dport, info.l3_len) == (53, 5353, 32)


def test_stacked_vlans_key_by_the_outer_tag() -> None:
    pkt = E / Dot1AD(vlan=300) / Dot1Q(vlan=20) / V4 / UDP(sport=1, dport=2)
    info = parse_frame(bytes(pkt))
    assert info is not None
    assert info.vlan == 300
    assert info.proto == 17


def test_single_8021q_tag() -> None:
    info = parse_frame(bytes(E / Dot1Q(vlan=7) / V6 / TCP(sport=5, dport=6, flags="S")))
    assert info is not None
    assert (info.vlan, info.src, info.tcp_flags) == (7, "fd00::1", 0x02)


def test_icmp_type_and_code_as_netflow() -> None:
    info = parse_frame(bytes(E / V4 / ICMP(type=3, code=1)))
    assert info is not None
    assert (info.proto, info.sport, info.dport) == (1, 0, 3 * 256 + 1)


def test_icmpv6_echo() -> None:
    req = parse_frame(bytes(E / V6 / ICMPv6EchoRequest()))
    rep = parse_frame(bytes(E / V6 / ICMPv6EchoReply()))
    assert req is not None
    assert rep is not None
    assert (req.proto, req.dport, rep.dport) == (58, 128 * 256, 129 * 256)


def test_ipv6_extension_headers_are_skipped() -> None:
    pkt = (
        E
        / V6
        / IPv6ExtHdrHopByHop()
        / IPv6ExtHdrRouting()
        / IPv6ExtHdrDestOpt()
        / UDP(sport=7, dport=9)
        / Raw(b"abc")
    )
    info = parse_frame(bytes(pkt))
    assert info is not None
    assert (info.proto, info.sport, info.dport) == (17, 7, 9)
    assert info.l3_len == len(pkt) - 14


def test_ipv6_non_first_fragment_has_no_ports() -> None:
    pkt = E / V6 / IPv6ExtHdrFragment(offset=100, id=5, nh=17) / Raw(b"z" * 16)
    info = parse_frame(bytes(pkt))
    assert info is not None
    assert (info.proto, info.sport, info.dport) == (17, 0, 0)


def test_ipv4_non_first_fragment_has_no_ports() -> None:
    info = parse_frame(
        bytes(E / IP(src="1.1.1.1", dst="2.2.2.2", proto=17, frag=10) / Raw(b"q" * 8))
    )
    assert info is not None
    assert (info.proto, info.sport, info.dport, info.l3_len) == (17, 0, 0, 28)


@pytest.mark.parametrize(
    "pkt",
    [
        E / V4 / GRE() / IP(src="192.0.2.1", dst="192.0.2.2") / TCP(),
        E / V4 / UDP(sport=4789, dport=4789) / VXLAN() / Ether() / IP() / TCP(),
        E / V4 / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(),
    ],
    ids=["gre", "vxlan", "ipip"],
)
def test_tunnels_count_as_the_outer_flow(pkt: object) -> None:
    info = parse_frame(bytes(pkt))  # type: ignore[call-overload]
    assert info is not None
    assert (info.src, info.dst) == ("10.1.2.3", "10.9.8.7")


def test_other_link_types() -> None:
    sll = CookedLinux(proto=0x0800) / V4 / UDP(sport=3, dport=4)
    assert parse_frame(bytes(sll), LINKTYPE_LINUX_SLL) is not None
    sll2 = b"\x08\x00\x00\x00" + b"\x00\x00\x00\x02" + b"\x00\x01\x00\x06" + bytes(8)
    info = parse_frame(sll2 + bytes(V4 / UDP(sport=3, dport=4)), LINKTYPE_LINUX_SLL2)
    assert info is not None
    assert info.sport == 3
    raw = parse_frame(bytes(V6 / TCP(sport=8, dport=9)), LINKTYPE_RAW)
    assert raw is not None
    assert raw.dport == 9
    null = parse_frame(bytes(Loopback(type=2) / V4 / UDP(sport=1, dport=2)), LINKTYPE_NULL)
    assert null is not None
    assert null.dst == "10.9.8.7"


@pytest.mark.parametrize("cut", [0, 1, 13, 14, 20, 33, 35])
def test_truncated_frames_give_none(cut: int) -> None:
    frame = bytes(E / V4 / TCP())
    assert parse_frame(frame[:cut], LINKTYPE_ETHERNET) is None


def test_non_ip_and_garbage_give_none() -> None:
    assert parse_frame(bytes(Ether(type=0x0806) / Raw(b"\x00" * 28))) is None
    assert parse_frame(b"\xff" * 100, 999) is None
    bad_ihl = bytearray(bytes(E / V4 / UDP()))
    bad_ihl[14] = 0x43
    assert parse_frame(bytes(bad_ihl)) is None
