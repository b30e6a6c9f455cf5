"""Packet decoder: link layer, VLAN tags, IPv4/IPv6 (options, extension headers,
fragments) and the transport ports that key a flow.

This is the *slow path*: one call per packet, every case handled, never raises.
:mod:`netop.sources.capture.aggregate` has a fast path for the common Ethernet/IP/TCP/UDP frame
and falls back to :func:`decode` for everything else. :func:`parse_frame` is the public
one-packet API (also used by the sFlow decoder for sampled packet headers).

Tunnels (GRE, VXLAN, IP-in-IP, Teredo) are deliberately *not* decapsulated: a flow is
what the outer headers say, as NetFlow exporters count it.
"""

from __future__ import annotations

import socket
import struct
from typing import NamedTuple

# Link types (https://www.tcpdump.org/linktypes.html).
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_RAW_OPENBSD = 14
LINKTYPE_RAW_ALT = 12
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_NFLOG = 239
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
_VLAN_TYPES = frozenset((0x8100, 0x88A8, 0x9100, 0x9200))
_ETH_PPPOE = 0x8864
_ETH_MPLS = frozenset((0x8847, 0x8848))
_MAX_TAGS = 8

#: IPv6 extension headers whose length is ``(byte1 + 1) * 8``.
_IPV6_EXT = frozenset((0, 43, 60, 135, 139, 140))
_IPV6_FRAG = 44
_IPV6_AH = 51

#: ICMP/ICMPv6 reply type -> request type, so a reply joins its request's flow.
ICMP_REPLY_TO_REQUEST: dict[int, dict[int, int]] = {
    1: {0: 8, 14: 13, 16: 15, 18: 17},
    58: {129: 128, 131: 130},
}

_IP4 = struct.Struct("!BxHHHxB2x4s4s")
_PORTS = struct.Struct("!HH")
_U16 = struct.Struct("!H")
_U16LE = struct.Struct("<H")
_U32LE = struct.Struct("<I")
_U32BE = struct.Struct("!I")


class PacketInfo(NamedTuple):
    """The flow-relevant fields of one packet (addresses as text)."""

    proto: int
    src: str
    dst: str
    sport: int
    dport: int
    vlan: int | None
    l3_len: int
    tcp_flags: int


class Decoded(NamedTuple):
    """What the aggregator needs from one packet: raw addresses, and fragment state.

    ``frag`` is ``None`` for an unfragmented packet, else ``(ident, first)``: ``ident``
    identifies the datagram (addresses + IP ID), ``first`` is True for the fragment
    that carries the transport header.
    """

    proto: int
    src: bytes
    dst: bytes
    sport: int
    dport: int
    vlan: int | None
    l3_len: int
    tcp_flags: int
    frag: tuple[bytes, bool] | None
    #: Offset of the transport header in the frame (-1: none) and the IP payload's
    #: length from there (the KPIs read sequence numbers and DNS headers).
    l4_off: int = -1
    l4_len: int = 0


def format_addr(raw: bytes) -> str:
    """Text form of a 4- or 16-byte address."""
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def parse_frame(data: bytes, linktype: int = LINKTYPE_ETHERNET) -> PacketInfo | None:
    """Decode one frame; ``None`` for non-IP or malformed input. Never raises."""
    d = decode(data, linktype)
    if d is None:
        return None
    try:
        return PacketInfo(
            d.proto,
            format_addr(d.src),
            format_addr(d.dst),
            d.sport,
            d.dport,
            d.vlan,
            d.l3_len,
            d.tcp_flags,
        )
    except (ValueError, OSError):
        return None


def decode(data: bytes, linktype: int = LINKTYPE_ETHERNET) -> Decoded | None:
    """Decode one frame to raw flow fields; ``None`` for non-IP or malformed. Never raises."""
    try:
        return _decode(data, linktype)
    except (IndexError, struct.error, ValueError):
        return None


def is_ip_frame(data: bytes, linktype: int) -> bool:
    """Whether the frame claims to carry IP (so that a failed decode is 'malformed')."""
    try:
        return _l3_start(data, linktype)[0] >= 0
    except (IndexError, struct.error, ValueError):
        return False


def _decode(data: bytes, linktype: int) -> Decoded | None:
    off, vlan, version = _l3_start(data, linktype)
    if off < 0:
        return None
    if version == 0:
        if off >= len(data):
            return None
        version = data[off] >> 4
    if version == 4:
        return _ipv4(data, off, vlan)
    if version == 6:
        return _ipv6(data, off, vlan)
    return None


def _l3_start(data: bytes, linktype: int) -> tuple[int, int | None, int]:
    """(offset of the IP header or -1, outer VLAN, IP version or 0 = look at the header)."""
    if linktype == LINKTYPE_ETHERNET:
        return _ethernet(data, 12, None)
    if linktype in (LINKTYPE_RAW, LINKTYPE_RAW_ALT, LINKTYPE_RAW_OPENBSD):
        return 0, None, 0
    if linktype == LINKTYPE_IPV4:
        return 0, None, 4
    if linktype == LINKTYPE_IPV6:
        return 0, None, 6
    if linktype == LINKTYPE_LINUX_SLL:
        return _ethertype_l3(data, _U16.unpack_from(data, 14)[0], 16, None)
    if linktype == LINKTYPE_LINUX_SLL2:
        return _ethertype_l3(data, _U16.unpack_from(data, 0)[0], 20, None)
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        family = (_U32BE if linktype == LINKTYPE_LOOP else _U32LE).unpack_from(data, 0)[0]
        if family > 0xFFFF:  # written on a host of the other byte order
            family = int.from_bytes(data[:4], "little" if linktype == LINKTYPE_LOOP else "big")
        if family == 2:
            return 4, None, 4
        if family in (10, 24, 28, 30):  # AF_INET6 on Linux, the BSDs and macOS
            return 4, None, 6
        # Some systems (BSD/OS) put an Ethernet type in the low half instead.
        return _ethertype_l3(data, _U16.unpack_from(data, 2)[0], 4, None)
    if linktype == LINKTYPE_NFLOG:
        return _nflog(data)
    return -1, None, 0


def _ethernet(data: bytes, type_off: int, vlan: int | None) -> tuple[int, int | None, int]:
    etype = _U16.unpack_from(data, type_off)[0]
    off = type_off + 2
    for _ in range(_MAX_TAGS):
        if etype not in _VLAN_TYPES:
            break
        if vlan is None:
            vlan = _U16.unpack_from(data, off)[0] & 0x0FFF
        etype = _U16.unpack_from(data, off + 2)[0]
        off += 4
    return _ethertype_l3(data, etype, off, vlan)


def _ethertype_l3(
    data: bytes, etype: int, off: int, vlan: int | None
) -> tuple[int, int | None, int]:
    if etype == ETH_IPV4:
        return off, vlan, 4
    if etype == ETH_IPV6:
        return off, vlan, 6
    if etype in _VLAN_TYPES:
        return _ethernet(data, off - 2, vlan)
    if etype == _ETH_PPPOE:  # 6-byte PPPoE header, then the 2-byte PPP protocol
        ppp = _U16.unpack_from(data, off + 6)[0]
        if ppp == 0x0021:
            return off + 8, vlan, 4
        if ppp == 0x0057:
            return off + 8, vlan, 6
        return -1, vlan, 0
    if etype in _ETH_MPLS:
        for _ in range(_MAX_TAGS):
            bottom = data[off + 2] & 1
            off += 4
            if bottom:
                return off, vlan, 0
        return -1, vlan, 0
    return -1, vlan, 0


def _nflog(data: bytes) -> tuple[int, int | None, int]:
    family = data[0]
    off = 4
    while off + 4 <= len(data):
        length, tlv_type = _U16LE.unpack_from(data, off)[0], _U16LE.unpack_from(data, off + 2)[0]
        if length < 4:
            return -1, None, 0
        if tlv_type == 9:  # NFULA_PAYLOAD
            return off + 4, None, 4 if family == 2 else 6 if family == 10 else 0
        off += (length + 3) & ~3
    return -1, None, 0


def _ipv4(data: bytes, off: int, vlan: int | None) -> Decoded | None:
    vihl, total, ident, frag, proto, src, dst = _IP4.unpack_from(data, off)
    ihl = (vihl & 0x0F) * 4
    if vihl >> 4 != 4 or ihl < 20 or total < ihl:
        return None
    offset = frag & 0x1FFF
    more = frag & 0x2000
    fragment: tuple[bytes, bool] | None = None
    if offset or more:
        fragment = (src + dst + ident.to_bytes(2, "big") + bytes((proto,)), offset == 0)
        if offset:
            return Decoded(proto, src, dst, 0, 0, vlan, total, 0, fragment)
    sport, dport, flags = _transport(data, off + ihl, proto)
    if sport < 0:
        return None
    return Decoded(proto, src, dst, sport, dport, vlan, total, flags, fragment, off + ihl,
                   total - ihl)


def _ipv6(data: bytes, off: int, vlan: int | None) -> Decoded | None:
    if data[off] >> 4 != 6:
        return None
    plen = _U16.unpack_from(data, off + 4)[0]
    nh = data[off + 6]
    src = bytes(data[off + 8 : off + 24])
    dst = bytes(data[off + 24 : off + 40])
    if len(dst) != 16:
        return None
    pos = off + 40
    fragment: tuple[bytes, bool] | None = None
    for _ in range(_MAX_TAGS):
        if nh in _IPV6_EXT:
            nh, pos = data[pos], pos + (data[pos + 1] + 1) * 8
        elif nh == _IPV6_AH:
            nh, pos = data[pos], pos + (data[pos + 1] + 2) * 4
        elif nh == _IPV6_FRAG:
            frag_off = _U16.unpack_from(data, pos + 2)[0]
            ident = bytes(data[pos + 4 : pos + 8])
            nh = data[pos]
            pos += 8
            fragment = (src + dst + ident, frag_off >> 3 == 0)
            if frag_off >> 3:
                return Decoded(nh, src, dst, 0, 0, vlan, plen + 40, 0, fragment)
        else:
            break
    sport, dport, flags = _transport(data, pos, nh)
    if sport < 0:
        return None
    return Decoded(nh, src, dst, sport, dport, vlan, plen + 40, flags, fragment, pos,
                   off + 40 + plen - pos)


def _transport(data: bytes, pos: int, proto: int) -> tuple[int, int, int]:
    """(sport, dport, tcp flags); sport -1 when the header is cut short."""
    if proto in (6, 17, 132, 136):  # TCP, UDP, SCTP, UDP-Lite share the port layout
        if pos + 4 > len(data):
            return -1, 0, 0
        sport, dport = _PORTS.unpack_from(data, pos)
        flags = data[pos + 13] if proto == 6 and pos + 14 <= len(data) else 0
        return sport, dport, flags
    if proto in (1, 58):
        if pos + 2 > len(data):
            return -1, 0, 0
        return 0, data[pos] << 8 | data[pos + 1], 0
    return 0, 0, 0


_REQUEST_TO_REPLY: dict[int, dict[int, int]] = {
    proto: {req: rep for rep, req in table.items()}
    for proto, table in ICMP_REPLY_TO_REQUEST.items()
}


def reverse_ports(proto: int, sport: int, dport: int) -> tuple[int, int]:
    """The (sport, dport) a packet of the other direction of this flow carries.

    For ICMP/ICMPv6 a request's other direction is its reply type with the same code.
    """
    if proto in (1, 58):
        reply = _REQUEST_TO_REPLY[proto].get(dport >> 8)
        return 0, (reply << 8 | dport & 0xFF) if reply is not None else dport
    return dport, sport


def answers_first(proto: int, dport: int, tcp_flags: int) -> bool:
    """Whether a flow's first seen packet is the *answer* (SYN-ACK, ICMP reply).

    Then the other side opened the flow and becomes its ``src``.
    """
    if proto == 6:
        return tcp_flags & 0x12 == 0x12
    if proto in (1, 58):
        return dport >> 8 in ICMP_REPLY_TO_REQUEST[proto]
    return False


def request_ports(proto: int, dport: int) -> int:
    """For an ICMP reply, the dport (type*256+code) of the request it answers."""
    request = ICMP_REPLY_TO_REQUEST.get(proto, {}).get(dport >> 8)
    return dport if request is None else request << 8 | dport & 0xFF
