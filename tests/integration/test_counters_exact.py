"""Every counter the interface sample reports with 30 interfaces is the kernel's
(``ip -s link``), collisions included.

What the sample costs (it runs once a second for as long as netop runs) is measured by
``bench/tui.py``, not asserted here: a timed test flakes on a busy machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from tests.netns import require_netns, sh

pytestmark = pytest.mark.netns

N_IFACES = 30

_PROBE = """
import json, statistics, time
from netop.sources.counters import InterfaceCounters
c = InterfaceCounters()
c.sample()
batches = []
for _ in range(5):
    t = time.process_time()
    for _ in range(40):
        c.sample()
    batches.append((time.process_time() - t) / 40 * 1000)
print(json.dumps({"ms": statistics.median(batches),
                  "rows": {s.name: [s.rx_bytes, s.rx_packets, s.rx_drops, s.tx_bytes,
                                    s.tx_packets, s.tx_errors, s.collisions, s.oper_up]
                           for s in c.sample()}}))
"""


@pytest.fixture
def namespace():  # type: ignore[no-untyped-def]
    require_netns()
    ns = f"netop-cost-{uuid.uuid4().hex[:6]}"
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        kind = "dummy"
        if subprocess.run(["ip", "-n", ns, "link", "add", "c0", "type", "dummy"],
                          capture_output=True).returncode != 0:
            kind = "ifb"
            sh("ip", "-n", ns, "link", "add", "c0", "type", kind)
        for i in range(1, N_IFACES):
            sh("ip", "-n", ns, "link", "add", f"c{i}", "type", kind)
        for i in range(N_IFACES):
            sh("ip", "-n", ns, "link", "set", f"c{i}", "up")
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_sample_of_30_interfaces_is_exact(namespace: str) -> None:
    done = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c", _PROBE],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert len(got["rows"]) == N_IFACES + 1
    links = json.loads(sh("ip", "-n", namespace, "-j", "-s", "link", "show"))
    for link in links:
        rx, tx = link["stats64"]["rx"], link["stats64"]["tx"]
        # The namespace is idle (IPv6 off, no addresses): counters stand still.
        assert got["rows"][link["ifname"]][:7] == [
            rx["bytes"], rx["packets"], rx["dropped"], tx["bytes"], tx["packets"],
            tx["errors"], tx["collisions"]]
    assert got["rows"]["c1"][7] is True
