"""netop exports a capture's flows as IPFIX / NetFlow v9 to a real nfcapd, and nfdump
decodes them to the capture's flow truth, packet for packet and byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.export.collectors import nfcapd, nfdump_as_flows, nfdump_records, one_way
from tests.shared_data import absent_reason, shared_path

TRUTH = shared_path("data", "pcap", "truth")
TRAFFIC = shared_path("data", "pcap", "traffic")
#: Shared captures with TCP, UDP, ICMP, IPv6 and VLAN tags between them.
SHARED = ["pcpp_three_http_streams", "pcpp_vlanpackets", "tcpdump_dns_udp",
          "pcpp_icmppackets", "pcpp_ipv6_options", "pcpp_dnspackets"]  # fmt: skip


def _export(pcap: Path, flag: str, port: int) -> tuple[list[dict[str, Any]], str]:
    """``netop flows -r PCAP --export-...``: its own flow listing and its stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "netop", "flows", "-r", str(pcap), flag, f"127.0.0.1:{port}",
         "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def _roundtrip(pcap: Path, flag: str, tmp_path: Path) -> tuple[list[dict[str, Any]], Any, str]:
    flowdir = tmp_path / "nfcapd"
    flowdir.mkdir()
    with nfcapd(flowdir) as port:
        mine, stderr = _export(pcap, flag, port)
    return mine, nfdump_as_flows(nfdump_records(flowdir)), stderr


@pytest.mark.parametrize("flag", ["--export-ipfix", "--export-netflow9"])
@pytest.mark.parametrize("name", SHARED)
def test_nfdump_decodes_the_truth_of_a_shared_capture(name: str, flag: str, tmp_path: Path) -> None:
    truth_file = TRUTH / f"{name}.truth.json"
    if not truth_file.exists():
        pytest.skip(absent_reason(truth_file))
    truth = json.loads(truth_file.read_text())
    mine, theirs, stderr = _roundtrip(TRAFFIC / truth["pcap"], flag, tmp_path)
    assert one_way(theirs) == one_way(truth["records"])
    assert one_way(mine) == one_way(truth["records"])
    assert "dropped" not in stderr
    assert "not sent" not in stderr
    if flag == "--export-ipfix":
        # RFC 5103: one record per conversation, nfdump reads the reverse counters.
        assert len(theirs) == len(mine)
        assert any(r["packets_rev"] for r in theirs) == any(r["packets_rev"] for r in mine)
    else:
        assert not any(r["packets_rev"] for r in theirs)


def _scapy_capture(path: Path) -> list[dict[str, Any]]:
    """A capture with a TCP flow silent for 40 s in its middle, VLAN UDP, IPv6 UDP and
    ICMP echo; its truth, computed from the packets written."""
    scapy = pytest.importorskip("scapy.all")
    ether, ip, ipv6, tcp, udp = scapy.Ether, scapy.IP, scapy.IPv6, scapy.TCP, scapy.UDP
    t0 = 1_700_000_000.0
    steps: list[tuple[float, Any]] = []
    out = ether() / ip(src="10.9.0.1", dst="10.9.0.2")
    back = ether() / ip(src="10.9.0.2", dst="10.9.0.1")
    steps += [(0.0, out / tcp(sport=40000, dport=80, flags="S")),
              (0.01, back / tcp(sport=80, dport=40000, flags="SA")),
              (0.02, out / tcp(sport=40000, dport=80, flags="A")),
              (0.03, out / tcp(sport=40000, dport=80, flags="PA") / (b"x" * 300)),
              (40.5, back / tcp(sport=80, dport=40000, flags="PA") / (b"y" * 900)),
              (40.6, out / tcp(sport=40000, dport=80, flags="FA")),
              (40.7, back / tcp(sport=80, dport=40000, flags="FA"))]  # fmt: skip
    for i in range(3):
        steps.append((1.0 + i, ether() / scapy.Dot1Q(vlan=100) / ip(src="10.9.1.1", dst="10.9.1.2")
                      / udp(sport=5000, dport=53) / (b"q" * (20 + i))))
    steps.append((1.5, ether() / scapy.Dot1Q(vlan=100) / ip(src="10.9.1.2", dst="10.9.1.1")
                  / udp(sport=53, dport=5000) / (b"r" * 80)))
    for i in range(2):
        steps.append((2.0 + i, ether() / ipv6(src="2001:db8::1", dst="2001:db8::2")
                      / udp(sport=1234, dport=4321) / (b"6" * 50)))
        ping = ether() / ip(src="10.9.2.1", dst="10.9.2.2")
        pong = ether() / ip(src="10.9.2.2", dst="10.9.2.1")
        steps.append((3.0 + i, ping / scapy.ICMP(type=8, seq=i)))
        steps.append((3.1 + i, pong / scapy.ICMP(type=0, seq=i)))
    steps.sort(key=lambda s: s[0])
    packets = []
    flows: dict[Any, dict[str, Any]] = {}
    for offset, pkt in steps:
        pkt = pkt.__class__(bytes(pkt))
        pkt.time = t0 + offset
        packets.append(pkt)
        l3 = pkt[ip] if ip in pkt else pkt[ipv6]
        size = l3.len if ip in pkt else l3.plen + 40
        proto = "tcp" if tcp in pkt else "udp" if udp in pkt else "icmp"
        ports = (pkt[tcp].sport, pkt[tcp].dport) if tcp in pkt else (
            (pkt[udp].sport, pkt[udp].dport) if udp in pkt else (0, 0))
        vlan = pkt[scapy.Dot1Q].vlan if scapy.Dot1Q in pkt else None
        key = (proto, frozenset(((l3.src, ports[0]), (l3.dst, ports[1]))), vlan)
        flow = flows.setdefault(key, {"proto": proto, "src": l3.src, "sport": ports[0],
                                      "dst": l3.dst, "dport": ports[1], "vlan": vlan,
                                      "packets": 0, "bytes": 0, "packets_rev": 0,
                                      "bytes_rev": 0})  # fmt: skip
        side = "" if l3.src == flow["src"] and ports[0] == flow["sport"] else "_rev"
        flow["packets" + side] += 1
        flow["bytes" + side] += size
    scapy.wrpcap(str(path), packets)
    return list(flows.values())


@pytest.mark.parametrize("flag", ["--export-ipfix", "--export-netflow9"])
def test_nfdump_decodes_the_truth_of_a_made_capture(flag: str, tmp_path: Path) -> None:
    pcap = tmp_path / "made.pcap"
    truth = _scapy_capture(pcap)
    mine, theirs, _ = _roundtrip(pcap, flag, tmp_path)
    assert one_way(theirs) == one_way(truth)
    assert one_way(mine) == one_way(truth)
    if flag == "--export-ipfix":
        assert len(theirs) == len(truth)
