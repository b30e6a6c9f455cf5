"""Read export datagrams out of a pcap (test helper; scapy is fine off the hot path)."""

from __future__ import annotations

from pathlib import Path

from tests.shared_data import shared_path

FLOWS = shared_path("data", "flows")
FLOWEXPORT = shared_path("data", "pcap", "flowexport")


def datagrams(path: Path) -> list[tuple[str, bytes, float]]:
    """(exporter address, UDP payload, capture time) of every UDP datagram in ``path``."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.utils import PcapReader

    out: list[tuple[str, bytes, float]] = []
    with PcapReader(str(path)) as reader:
        for pkt in reader:
            if UDP not in pkt:
                continue
            ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
            if ip is None:
                continue
            out.append((str(ip.src), bytes(pkt[UDP].payload), float(pkt.time)))
    return out
