"""``netop flows -r FILE --filter EXPR``: the TUI's filter language, headless."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    packets = []
    t = 1_700_000_000.0
    for i in range(5):  # a big HTTPS download
        p = Ether() / IP(src="10.9.0.1", dst="192.0.2.10") / TCP(sport=40000, dport=443,
                                                               flags="A") / (b"x" * 1400)
        p.time = t + i
        packets.append(p)
    # a download: one small request, then the server's bytes come back (dst→src)
    for i in range(6):
        up = i == 0
        ip = IP(src="10.9.0.1", dst="192.0.2.20") if up else IP(src="192.0.2.20", dst="10.9.0.1")
        tcp = TCP(sport=40001, dport=8443, flags="A") if up else TCP(sport=8443, dport=40001,
                                                                     flags="A")
        p = Ether() / ip / tcp / (b"g" * (40 if up else 1400))
        p.time = t + i
        packets.append(p)
    dns = Ether() / IP(src="10.9.0.1", dst="192.0.2.53") / UDP(sport=5353, dport=53) / b"q"
    dns.time = t + 1
    ping = Ether() / IP(src="10.9.0.1", dst="192.0.2.1") / ICMP()
    ping.time = t + 2
    path = tmp_path_factory.mktemp("pcap") / "mix.pcap"
    wrpcap(str(path), [*packets, dns, ping])
    return path


def flows(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "netop", "flows", *args], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize(
    ("expr", "dports"),
    [
        ("", {443, 8443, 53, 8 * 256}),
        ("tcp and port 443", {443}),
        ("udp or icmp", {53, 8 * 256}),
        # bytes: both directions, as the Bytes column; _fwd src→dst, _rev dst→src
        ("bytes > 5k", {443, 8443}),
        ("bytes_fwd > 5k", {443}),
        ("bytes_rev > 5k", {8443}),
        ("packets >= 6", {8443}),
        ("not net 192.0.2.0/30", {443, 8443, 53}),
        ("dst host 192.0.2.53", {53}),
    ],
)
def test_filter_selects_flows(capture: Path, expr: str, dports: set[int]) -> None:
    done = flows("-r", str(capture), "--json", "--filter", expr)
    assert done.returncode == 0, done.stderr
    assert {json.loads(line)["dport"] for line in done.stdout.splitlines()} == dports


def test_invalid_filter_is_one_line_and_exit_2(capture: Path) -> None:
    done = flows("-r", str(capture), "--json", "--filter", "port and (")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("netop: filter: ")
    assert "position" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
