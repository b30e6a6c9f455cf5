"""A pcap with known flows (built with scapy) for the real exporters to read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

T0 = 1_700_000_000.0


@dataclass
class Truth:
    """One unidirectional flow as the exporters should report it."""

    proto: int
    src: str
    sport: int
    dst: str
    dport: int
    vlan: int | None
    ipv6: bool
    packets: int = 0
    bytes: int = 0
    first: float = 0.0
    last: float = 0.0
    flags: int = 0

    @property
    def key(self) -> tuple[int, str, int, str, int]:
        """(proto, src, sport, dst, dport)."""
        return (self.proto, self.src, self.sport, self.dst, self.dport)


def build(path: Path) -> dict[tuple[int, str, int, str, int], Truth]:
    """Write the pcap and return its flows keyed by 5-tuple (ICMP: dport = type*256+code)."""
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6
    from scapy.layers.l2 import Dot1Q, Ether
    from scapy.packet import Raw
    from scapy.utils import wrpcap

    packets = []
    truth: dict[tuple[int, str, int, str, int], Truth] = {}

    def add(ts: float, l3: object, vlan: int | None = None) -> None:
        frame = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        frame = frame / Dot1Q(vlan=vlan) / l3 if vlan else frame / l3  # type: ignore[operator]
        frame = Ether(bytes(frame))
        frame.time = ts
        packets.append(frame)
        ip = frame[IP] if IP in frame else frame[IPv6]
        ipv6 = IPv6 in frame
        length = (40 + ip.plen) if ipv6 else ip.len
        if TCP in frame or UDP in frame:
            l4 = frame[TCP] if TCP in frame else frame[UDP]
            key = (6 if TCP in frame else 17, ip.src, l4.sport, ip.dst, l4.dport)
            flags = int(frame[TCP].flags) if TCP in frame else 0
        elif ICMP in frame:
            key, flags = (1, ip.src, 0, ip.dst, frame[ICMP].type * 256 + frame[ICMP].code), 0
        else:
            icmp6 = frame[IPv6].payload
            key, flags = (58, ip.src, 0, ip.dst, icmp6.type * 256 + icmp6.code), 0
        flow = truth.get(key)
        if flow is None:
            flow = truth[key] = Truth(*key, vlan=vlan, ipv6=ipv6, first=ts)
        flow.packets += 1
        flow.bytes += length
        flow.last = ts
        flow.flags |= flags

    t = T0
    # TCP over IPv4, both directions, full handshake and close.
    c, s = "10.0.0.1", "192.0.2.10"
    add(t, IP(src=c, dst=s) / TCP(sport=40000, dport=80, flags="S"))
    add(t + 0.01, IP(src=s, dst=c) / TCP(sport=80, dport=40000, flags="SA"))
    for i in range(30):
        add(t + 0.02 + i * 0.1, IP(src=c, dst=s) / TCP(sport=40000, dport=80, flags="PA")
            / Raw(b"q" * (20 + i)))  # fmt: skip
        add(t + 0.03 + i * 0.1, IP(src=s, dst=c) / TCP(sport=80, dport=40000, flags="A")
            / Raw(b"r" * (600 + 10 * i)))  # fmt: skip
    add(t + 3.5, IP(src=c, dst=s) / TCP(sport=40000, dport=80, flags="FA"))
    add(t + 3.51, IP(src=s, dst=c) / TCP(sport=80, dport=40000, flags="FA"))
    # A bulk UDP stream (gives the sFlow 1:10 estimate enough samples).
    for i in range(400):
        add(t + 0.5 + i * 0.01, IP(src="10.0.0.2", dst="192.0.2.20") / UDP(sport=5004, dport=5006)
            / Raw(b"m" * (200 + (i * 37) % 900)))  # fmt: skip
    # DNS-like UDP, ICMP echo and reply.
    for i in range(5):
        add(t + 1 + i, IP(src="10.0.0.3", dst="192.0.2.53") / UDP(sport=33333, dport=53)
            / Raw(b"d" * (30 + i)))  # fmt: skip
        add(t + 1.2 + i, IP(src="10.0.0.4", dst="192.0.2.30") / ICMP(type=8, id=7, seq=i))
        add(t + 1.21 + i, IP(src="192.0.2.30", dst="10.0.0.4") / ICMP(type=0, id=7, seq=i))
    # IPv6 TCP, UDP and ICMPv6.
    a, b = "2001:db8::1", "2001:db8::2"
    add(t + 2, IPv6(src=a, dst=b) / TCP(sport=41000, dport=443, flags="S"))
    for i in range(12):
        add(t + 2.1 + i * 0.2, IPv6(src=a, dst=b) / TCP(sport=41000, dport=443, flags="PA")
            / Raw(b"x" * (100 + i)))  # fmt: skip
    for i in range(6):
        add(t + 2.5 + i, IPv6(src=b, dst=a) / UDP(sport=123, dport=123) / Raw(b"n" * 48))
        add(t + 2.6 + i, IPv6(src=a, dst=b) / ICMPv6EchoRequest(id=1, seq=i))
        add(t + 2.61 + i, IPv6(src=b, dst=a) / ICMPv6EchoReply(id=1, seq=i))
    # Tagged traffic in VLAN 100.
    for i in range(8):
        add(t + 4 + i * 0.5, IP(src="10.1.0.1", dst="10.1.0.2") / UDP(sport=1000, dport=2000)
            / Raw(b"v" * (64 + i)), vlan=100)  # fmt: skip
    packets.sort(key=lambda p: float(p.time))
    wrpcap(str(path), packets)
    return truth


_PROTO_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}


def unfold(records: list[dict[str, Any]]) -> dict[tuple[Any, ...], tuple[int, int]]:
    """``netop collect`` records (one per conversation, both directions, as the engine's
    flow table keeps them) as the exporters' one-way flows:
    (proto name, src, sport, dst, dport) -> (packets, bytes), summed over records."""
    from netop.packet.decode import reverse_ports

    out: dict[tuple[Any, ...], tuple[int, int]] = {}

    def add(key: tuple[Any, ...], packets: int, octets: int) -> None:
        p, b = out.get(key, (0, 0))
        out[key] = (p + packets, b + octets)

    for r in records:
        add((r["proto"], r["src"], r["sport"], r["dst"], r["dport"]), r["packets"], r["bytes"])
        if r["packets_rev"]:
            number = _PROTO_NUMBERS.get(r["proto"], 0)
            sport, dport = reverse_ports(number, r["sport"], r["dport"])
            add((r["proto"], r["dst"], sport, r["src"], dport), r["packets_rev"], r["bytes_rev"])
    return out
