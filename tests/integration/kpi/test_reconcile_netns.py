"""``netop reconcile`` in a namespace with known traffic: with offloads off and no drops
the captured packets and bytes (wire length) agree with the kernel's counters within
0.5 %; with offloads on, the record says so among its reasons."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.netns import VethPair, veth_pair
from tests.ready import start_watched, wait_for_port
from tests.shared_data import REPO_ROOT


def _offloads(pair: VethPair, on: bool) -> None:
    for ns, ifname in ((pair.ns_a, pair.if_a), (pair.ns_b, pair.if_b)):
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c",
                        "from netop.sources.offloads import set_offloads; "
                        f"set_offloads({ifname!r}, {on})"], check=True, cwd=REPO_ROOT,
                       timeout=20)  # fmt: skip


def _reconcile(pair: VethPair, port: int) -> list[dict[str, object]]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    netop = start_watched(pair.run_b(sys.executable, "-m", "netop", "reconcile", "-i",
                                     pair.if_b, "--duration", "6", "--json"), env=env)
    try:
        netop.stderr.wait_for("netop: capture attached on ", timeout=30)
        server = subprocess.Popen(pair.run_b("iperf3", "-s", "-1", "-p", str(port)),
                                  stdout=subprocess.DEVNULL)
        wait_for_port(port, pair.ns_b, proc=server)
        subprocess.run(pair.run_a("iperf3", "-c", pair.addr_b, "-p", str(port), "-n", "1M"),
                       check=True, capture_output=True, timeout=60)
        server.wait(timeout=30)
        out, err = netop.communicate(timeout=60)
    finally:
        netop.kill()
    assert netop.returncode == 0, err
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_captured_agrees_with_the_kernel_without_offloads() -> None:
    if subprocess.run(["which", "iperf3"], capture_output=True).returncode:
        pytest.skip("iperf3 not installed")
    with veth_pair() as pair:
        _offloads(pair, False)
        records = _reconcile(pair, 5311)
    total = records[-1]
    assert total["interval"] == "total"
    assert int(total["captured_packets"]) > 500  # type: ignore[call-overload]
    assert total["capture_drops"] == 0
    assert total["offloads"] == {"tso": False, "gso": False, "gro": False}
    assert abs(float(total["diff_packets_pct"])) < 0.5, total  # type: ignore[arg-type]
    assert abs(float(total["diff_bytes_pct"])) < 0.5, total  # type: ignore[arg-type]
    assert len(records) >= 2  # per interval, then the whole run


def test_offloads_on_are_named_as_a_reason() -> None:
    if subprocess.run(["which", "iperf3"], capture_output=True).returncode:
        pytest.skip("iperf3 not installed")
    with veth_pair() as pair:
        _offloads(pair, True)
        total = _reconcile(pair, 5312)[-1]
    assert total["offloads"]["tso"] is True  # type: ignore[index]
    assert any("on: the capture sees merged" in r for r in total["reasons"])  # type: ignore[attr-defined]
