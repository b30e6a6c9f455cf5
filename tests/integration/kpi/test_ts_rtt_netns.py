"""``ack_rtt_ms`` on real Linux TCP (timestamps on) against pping's definition.

Two namespaces joined by a veth pair; a Python HTTP server in B, curl requests from A,
tcpdump in A writes the file. The referee: pping's RTT samples per flow, computed here
from tshark's ``tcp.options.timestamp`` fields (the first time each TSval is seen on one
side -> the first packet of the other side echoing it). netop keeps a subset of those
samples (two waiting TSvals per side), so its median lies within pping's samples and,
on these request/response flows, close to pping's median. (The seq/ack method it used
before, on the same flows, gave values below pping's smallest sample.)
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kpi_referee import canonical, netop_flows
from tests.netns import veth_pair
from tests.ready import start_watched, wait_for_port, wait_until

PORT = 8097
REQUESTS = 6
MARKER = b"NETOP-TS-END-OF-TRAFFIC"


def pping_samples(pcap: Path) -> dict[object, list[float]]:
    """pping's samples (ms) per canonical flow key."""
    out = subprocess.run(
        ["tshark", "-r", str(pcap), "-Y", "tcp", "-T", "fields", "-E", "separator=,",
         "-e", "frame.time_epoch", "-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst",
         "-e", "tcp.dstport", "-e", "tcp.options.timestamp.tsval",
         "-e", "tcp.options.timestamp.tsecr", "-e", "tcp.flags"],
        capture_output=True, text=True, check=True, timeout=120).stdout  # fmt: skip
    seen: dict[tuple[str, str, int], float] = {}
    used: set[tuple[str, str, int]] = set()
    samples: dict[object, list[float]] = {}
    for line in out.splitlines():
        t, src, sport, dst, dport, tsval, tsecr, flags = line.split(",")
        if not tsval:
            continue
        val, ecr = int(tsval), int(tsecr or 0)
        if val == 0 or (ecr == 0 and int(flags, 16) != 0x002):
            continue
        seen.setdefault((src, sport, val), float(t))
        back = (dst, dport, ecr)
        if back in seen and back not in used:
            key = canonical("tcp", src, int(sport), dst, int(dport))
            samples.setdefault(key, []).append((float(t) - seen[back]) * 1e3)
            used.add(back)
    return samples


def test_ack_rtt_follows_pping_on_linux_tcp(tmp_path: Path) -> None:
    for tool in ("tshark", "tcpdump", "curl"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")
    pcap = tmp_path / "ts.pcap"
    with veth_pair() as pair:
        dump = start_watched(pair.run_a("tcpdump", "-i", pair.if_a, "-n", "-U", "--immediate-mode",
                                        "-s", "128", "-w", str(pcap)))  # fmt: skip
        server = subprocess.Popen(pair.run_b(sys.executable, "-m", "http.server", str(PORT),
                                             "--bind", pair.addr_b),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  cwd=tmp_path)  # fmt: skip
        try:
            dump.stderr.wait_for("listening on", timeout=20)
            wait_for_port(PORT, pair.ns_b, proc=server)
            for _ in range(REQUESTS):
                subprocess.run(pair.run_a("curl", "-s", "-o", "/dev/null", "--max-time", "10",
                                          f"http://{pair.addr_b}:{PORT}/"),
                               check=True, timeout=30)  # fmt: skip
            # The end of the traffic, on the wire after everything else: once it is in
            # tcpdump's file (written packet by packet), every earlier packet is too.
            send = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                    f"s.sendto({MARKER!r}, ({pair.addr_b!r}, 9))")
            subprocess.run(pair.run_a(sys.executable, "-c", send), check=True, timeout=20)
            wait_until(lambda: MARKER in pcap.read_bytes() or None, 20, "marker in the capture")
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=20)
            dump.proc.send_signal(signal.SIGINT)
            dump.communicate(timeout=30)
    ref = pping_samples(pcap)
    records = [r for r in netop_flows(pcap) if r["proto"] == "tcp" and r["dport"] == PORT]
    assert len(records) == REQUESTS
    for r in records:
        key = canonical("tcp", str(r["src"]), int(r["sport"]), str(r["dst"]),  # type: ignore[call-overload]
                        int(r["dport"]))  # type: ignore[call-overload]
        samples = ref.get(key)
        assert samples, f"no timestamps on {key}: the test would prove nothing"
        got = r["ack_rtt_ms"]
        assert isinstance(got, float), r
        # netop's samples are pping's (to the microsecond it rounds to)
        assert min(samples) - 0.001 <= got <= max(samples) + 0.001, (key, got, samples)
