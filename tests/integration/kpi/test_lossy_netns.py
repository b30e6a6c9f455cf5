"""KPIs on real loss: iperf3 through a lossy relay, netop live and tshark on tcpdump's file.

Three namespaces: the client (A), a relay (R) that forwards Ethernet frames between two
veth pairs and drops 3 % of the TCP ones (seeded; this kernel has no netem, and no nft
program is installed), and the server (B). Offloads are off on every veth, so every
capture sees wire-sized segments. In B, tcpdump writes the file tshark judges, and
``netop flows -i`` captures the same interface live; ``netop flows -r`` reads the file.
Both must agree with tshark: handshake RTT, retransmissions and out-of-order per side.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kpi_referee import compare, tshark_kpis
from tests.netns import require_netns, sh
from tests.ready import start_watched, wait_for_port, wait_until
from tests.shared_data import REPO_ROOT

MARKER = b"NETOP-KPI-END-OF-TRAFFIC"


@contextlib.contextmanager
def relayed(tag: str) -> Iterator[tuple[str, str, str, str]]:
    """Namespaces A, R, B (A-R and R-B veth pairs), offloads off; (nsA, nsR, nsB, addrB)."""
    require_netns()
    ns = [f"netop-k{c}{tag}" for c in "arb"]
    net = f"10.{170 + os.getpid() % 50}.{os.getpid() % 250}"
    try:
        for n in ns:
            sh("ip", "netns", "add", n)
            sh("ip", "-n", n, "link", "set", "lo", "up")
        sh("ip", "-n", ns[0], "link", "add", "ka", "type", "veth", "peer", "name", "kr1",
           "netns", ns[1])
        sh("ip", "-n", ns[2], "link", "add", "kb", "type", "veth", "peer", "name", "kr2",
           "netns", ns[1])
        for n, ifs in ((ns[0], ["ka"]), (ns[1], ["kr1", "kr2"]), (ns[2], ["kb"])):
            for i in ifs:
                sh("ip", "netns", "exec", n, sys.executable, "-c",
                   "from netop.sources.offloads import set_offloads; "
                   f"set_offloads({i!r}, False, False)")
                sh("ip", "-n", n, "link", "set", i, "up", "promisc", "on")
        sh("ip", "-n", ns[0], "addr", "add", f"{net}.1/24", "dev", "ka")
        sh("ip", "-n", ns[2], "addr", "add", f"{net}.2/24", "dev", "kb")
        yield ns[0], ns[1], ns[2], f"{net}.2"
    finally:
        for n in ns:
            subprocess.run(["ip", "netns", "del", n], capture_output=True)


def test_retransmissions_through_a_lossy_relay_agree_with_tshark(tmp_path: Path) -> None:
    for tool in ("tshark", "tcpdump", "iperf3"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            pytest.skip(f"{tool} not installed")
    pcap = tmp_path / "lossy.pcap"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with relayed(f"{os.getpid() % 10000}") as (ns_a, ns_r, ns_b, addr_b):
        started = []
        try:
            relay = start_watched(["ip", "netns", "exec", ns_r, sys.executable, "-m",
                                   "tests.lossy_relay", "kr1", "kr2", "--drop", "0.03",
                                   "--seed", "7", "--seconds", "90"],
                                  stdin=subprocess.PIPE, cwd=REPO_ROOT, env=env)  # fmt: skip
            started.append(relay)
            relay.stdout.wait_for("relay ready", timeout=20)
            dump = start_watched(["ip", "netns", "exec", ns_b, "tcpdump", "-i", "kb", "-n", "-U",
                                  "--immediate-mode", "-s", "256", "-w", str(pcap)])  # fmt: skip
            started.append(dump)
            dump.stderr.wait_for("listening on", timeout=20)
            live = start_watched(["ip", "netns", "exec", ns_b, sys.executable, "-m", "netop",
                                  "flows", "-i", "kb", "--json"], env=env)  # fmt: skip
            started.append(live)
            live.stderr.wait_for("netop: capture attached on ", timeout=30)
            server = subprocess.Popen(["ip", "netns", "exec", ns_b, "iperf3", "-s", "-1", "-p",
                                       "5299"], stdout=subprocess.DEVNULL)  # fmt: skip
            wait_for_port(5299, ns_b, proc=server)
            subprocess.run(["ip", "netns", "exec", ns_a, "iperf3", "-c", addr_b, "-p", "5299",
                            "-n", "2M"], check=True, capture_output=True, timeout=120)  # fmt: skip
            server.wait(timeout=30)
            # The end of the traffic, on the wire after everything else: once it is in
            # tcpdump's file (written packet by packet), every earlier packet is too.
            subprocess.run(["ip", "netns", "exec", ns_a, sys.executable, "-c",
                            "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
                            f"; s.sendto({MARKER!r}, ({addr_b!r}, 9))"], check=True, timeout=20)
            wait_until(lambda: MARKER in pcap.read_bytes() or None, 20, "marker in the capture")
            for proc in (live, dump):
                proc.proc.send_signal(signal.SIGINT)
            out, err = live.communicate(timeout=60)
            dump.communicate(timeout=30)
            assert relay.proc.stdin is not None
            relay.proc.stdin.close()  # the relay ends and says how many frames it dropped
            relay_out, _ = relay.communicate(timeout=30)
        finally:
            for w in started:
                w.kill()
    assert live.returncode == 0, err
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    ref = tshark_kpis(pcap)
    lost = sum(sum(r.retrans.values()) for r in ref.values())
    assert lost >= 3, f"no retransmissions ({relay_out.strip()}): the test would prove nothing"
    # The file: exactly tshark's verdicts, segment by segment.
    assert compare(pcap) == []
    # Live: the same handshake RTTs, and the same segments out of sequence. Whether one
    # is a retransmission or out of order is decided on time differences of a few
    # microseconds here (the iRTT of a veth link), and netop's ring and tcpdump's
    # socket stamp a packet separately; and the live capture drains its ring after the
    # end marker, so a late retransmitted FIN may be in one and not the other. The
    # split may differ by a few, the sum by a packet or two, not more.
    assert [p for p in compare(pcap, records) if "rtt_ms" in p] == []
    want = sum(sum(r.retrans.values()) + sum(r.ooo.values()) for r in ref.values())
    got = sum(int(r[k] or 0) for r in records if r["proto"] == "tcp"  # type: ignore[call-overload]
              for k in ("retrans", "retrans_rev", "ooo", "ooo_rev"))
    assert abs(got - want) <= 2, (got, want)
    mine = sum(int(r["retrans"] or 0) + int(r["retrans_rev"] or 0) for r in records)  # type: ignore[call-overload]
    assert abs(mine - lost) <= max(3, lost // 50), (mine, lost)
