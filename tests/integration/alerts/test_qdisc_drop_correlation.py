"""A KPI alert correlated with drops on the same interface, on real traffic.

Three namespaces: A sends iperf3 TCP through a router R to B. ``netop alerts -i``
captures R's interface towards B. First clean traffic (the baselines learn: no drops, no
retransmissions), then a small egress shaper (``tc tbf``) on that interface: its queue
overflows, the qdisc drops packets, A's TCP retransmits (the loss is a hop away, as on
a real congested link; a shaper on A's own interface mostly makes A's TCP back off
without a retransmission). The kernel counts those drops in the qdisc only (the veth's
``tx_dropped`` stays 0, asserted: that is why netop reads the qdisc), so netop must raise
the interface's ``qdisc_drops`` baseline alert, the host's retransmission KPI alert and
one correlated event tying them to the interface. ``tc -s`` is the referee for the
drops. The detection delay (from the shaper's start to the correlated alert on netop's
stdout) is printed, not asserted.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.netns import require_netns, sh
from tests.ready import start_watched, wait_for_port

ROOT = Path(__file__).resolve().parents[3]
PORT = 5201  # inside namespace B only

# Learning short enough for a test, floors that keep the rate baselines out of it (the
# rate rises from idle to iperf3's load; that is not what is tested here).
CONFIG = """\
[detect]
learning_samples = 5
persistence = 2
window = 3
floor_drops = 5
floor_bps = 1e12
floor_pps = 1e9
kpi_interval = 1
kpi_learning = 3
kpi_min_packets = 50
kpi_retrans_segments = 5
kpi_retrans_rise_pct = 1
"""


@dataclass(frozen=True)
class Routed:
    """A (``addr_a``) — R — B (``addr_b``); ``if_rb`` is R's interface towards B."""

    ns_a: str
    ns_r: str
    ns_b: str
    if_rb: str
    addr_b: str


@contextlib.contextmanager
def routed() -> Iterator[Routed]:
    """Namespaces A, R, B joined by two veth pairs, R forwarding; removed after."""
    require_netns()
    tag = f"{os.getpid() % 10000}"
    ns_a, ns_r, ns_b = (f"netop-q{c}{tag}" for c in "arb")
    net = f"10.{120 + os.getpid() % 50}"
    host = os.getpid() % 250
    if_rb = f"qrb{tag}"
    try:
        for ns in (ns_a, ns_r, ns_b):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns_a, "link", "add", "qa", "type", "veth", "peer", "name", "qra",
           "netns", ns_r)
        sh("ip", "-n", ns_b, "link", "add", "qb", "type", "veth", "peer", "name", if_rb,
           "netns", ns_r)
        for ns, ifname, addr in ((ns_a, "qa", f"{net}.{host}.1"),
                                 (ns_r, "qra", f"{net}.{host}.254"),
                                 (ns_r, if_rb, f"{net}.{host + 1}.254"),
                                 (ns_b, "qb", f"{net}.{host + 1}.2")):
            sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", ifname)
            sh("ip", "-n", ns, "link", "set", ifname, "up")
        sh("ip", "-n", ns_a, "route", "add", "default", "via", f"{net}.{host}.254")
        sh("ip", "-n", ns_b, "route", "add", "default", "via", f"{net}.{host + 1}.254")
        sh("ip", "netns", "exec", ns_r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        yield Routed(ns_a, ns_r, ns_b, if_rb, f"{net}.{host + 1}.2")
    finally:
        for ns in (ns_a, ns_r, ns_b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _records(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_retransmissions_and_qdisc_drops_on_one_veth_are_one_correlated_alert(
        tmp_path: Path) -> None:  # fmt: skip
    for tool in ("iperf3", "tc"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")
    config = tmp_path / "netop.toml"
    config.write_text(CONFIG)
    with routed() as net:
        def in_ns(ns: str, *args: str) -> list[str]:
            return ["ip", "netns", "exec", ns, *args]

        server = start_watched(in_ns(net.ns_b, "iperf3", "-s", "-p", str(PORT)))
        netop = start_watched(in_ns(net.ns_r, sys.executable, "-m", "netop", "alerts", "-i",
                                    net.if_rb, "--json", "--duration", "90",
                                    "--config", str(config)), cwd=ROOT)
        client = None
        try:
            wait_for_port(PORT, net.ns_b, proc=server.proc)
            netop.stderr.wait_for("netop: capture attached on ", timeout=30)
            # Clean traffic: the baselines learn no drops and no retransmissions.
            subprocess.run(in_ns(net.ns_a, "iperf3", "-c", net.addr_b, "-p", str(PORT),
                                 "-t", "8", "-b", "50M"),
                           capture_output=True, timeout=60, check=True)  # fmt: skip
            assert netop.stdout.text(timeout=1) == ""  # no false alarm on clean traffic
            sh(*in_ns(net.ns_r, "tc", "qdisc", "add", "dev", net.if_rb, "root", "tbf", "rate",
                      "20mbit", "burst", "32kb", "limit", "30000"))
            started = time.monotonic()
            client = subprocess.Popen(in_ns(net.ns_a, "iperf3", "-c", net.addr_b, "-p",
                                            str(PORT), "-t", "30"),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            line = netop.stdout.wait_for('"kind": "correlated"', timeout=40)
            print(f"\ncorrelated: {time.monotonic() - started:.1f} s after the shaper started")
            tc = json.loads(sh(*in_ns(net.ns_r, "tc", "-s", "-j", "qdisc", "show", "dev",
                                      net.if_rb)))
            tx_dropped = int(sh(*in_ns(net.ns_r, "cat",
                                       f"/sys/class/net/{net.if_rb}/statistics/tx_dropped")))
            netop.proc.send_signal(signal.SIGINT)
            stdout, stderr = netop.communicate(timeout=30)
        finally:
            if client is not None and client.poll() is None:
                client.kill()
                client.wait(timeout=10)
            netop.kill()
            server.kill()
    qdisc_dropped = sum(q.get("drops", 0) for q in tc if q.get("root"))
    assert qdisc_dropped > 0, tc
    assert tx_dropped == 0  # the kernel's interface counter never sees them
    linked = json.loads(line)
    records = _records(stdout)
    by_kind = {r["kind"]: r for r in records}
    assert set(by_kind) == {"baseline", "kpi_baseline", "correlated"}, stderr
    drops = by_kind["baseline"]
    assert drops["entity"] == f"{net.if_rb} qdisc_drops"
    assert 0 < drops["value"] <= qdisc_dropped
    assert drops["baseline"] == 0
    kpi = by_kind["kpi_baseline"]
    assert kpi["entity"] == f"host {net.addr_b} retransmissions"
    assert kpi["value"] > 1
    assert linked["entity"] == net.if_rb
    # The drops alert's latest figure (its count grows while it lasts), not its first.
    assert linked["message"].startswith(f"{net.if_rb}: {kpi['message']} while "
                                        f"{net.if_rb} qdisc_drops ")
    assert [r["kind"] for r in records].count("correlated") == 1
