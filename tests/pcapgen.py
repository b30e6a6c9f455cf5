"""Capture files written byte by byte for the hardening tests (fast, no scapy per packet)."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

_ETH_IPV4 = bytes(6) + bytes.fromhex("020000000001") + b"\x08\x00"


def udp_frame(src: int, dst: int, sport: int, dport: int, payload: bytes = b"x") -> bytes:
    """An Ethernet/IPv4/UDP frame (checksums zero: netop and tshark don't need them)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src, dst)
    return _ETH_IPV4 + ip + udp


def syn_frame(src: int, dst: int, sport: int, dport: int) -> bytes:
    """An Ethernet/IPv4/TCP SYN (what a SYN flood is made of)."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 40, 0, 0, 64, 6, 0, src, dst)
    return _ETH_IPV4 + ip + tcp


def write_pcapng_seconds(path: Path, packets: Iterable[tuple[int, bytes]]) -> None:
    """A pcapng file whose interface counts time in whole seconds (``if_tsresol`` 0), so
    that a 64-bit timestamp can say any number of seconds: ``(seconds, frame)``."""
    out = bytearray()
    out += struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28)
    options = struct.pack("<HHB3x", 9, 1, 0) + struct.pack("<HH", 0, 0)
    idb_len = 16 + len(options) + 4
    out += struct.pack("<IIHHI", 1, idb_len, 1, 0, 0) + options + struct.pack("<I", idb_len)
    for ts, frame in packets:
        pad = -len(frame) % 4
        blen = 32 + len(frame) + pad
        out += struct.pack("<IIIIIII", 6, blen, 0, ts >> 32, ts & 0xFFFFFFFF, len(frame),
                           len(frame))
        out += frame + bytes(pad) + struct.pack("<I", blen)
    path.write_bytes(bytes(out))


def write_syn_flood(path: Path, flows: int, start: int = 1_700_000_000) -> None:
    """A classic pcap of ``flows`` SYNs, each from its own source port/address, all in the
    same second (no timeout can end them: only the table's bound can)."""
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    parts = [head]
    dst = 0x0A000001
    for i in range(flows):
        frame = syn_frame(0x0A800000 + i // 60000, dst, 1024 + i % 60000, 80)
        parts.append(struct.pack("<IIII", start, i % 1_000_000, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(parts))
