"""Real traffic over a veth pair: netop's byte counts match the kernel's within 2 %."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.netns import sh, veth_pair
from tests.ready import Watched, start_watched, wait_for_port

pytestmark = pytest.mark.netns

PAYLOAD = 8 * 1024 * 1024


def kernel_rx_bytes(ns: str, ifname: str) -> int:
    link = json.loads(sh("ip", "-n", ns, "-j", "-s", "link", "show", ifname))[0]
    return int(link["stats64"]["rx"]["bytes"])


def test_netop_counts_the_bytes_the_kernel_counted(tmp_path: Path) -> None:
    (tmp_path / "blob").write_bytes(bytes(range(256)) * (PAYLOAD // 256))
    with veth_pair() as pair:
        server = subprocess.Popen(
            pair.run_b(sys.executable, "-m", "http.server", "8080", "--bind", pair.addr_b,
                       "--directory", str(tmp_path)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        netop: Watched | None = None
        try:
            wait_for_port(8080, pair.ns_b, proc=server)
            before = kernel_rx_bytes(pair.ns_a, pair.if_a)
            netop = start_watched(
                pair.run_a(sys.executable, "-m", "netop", "ifaces", "--json", "--count", "4",
                           "--interval", "1", "-i", pair.if_a),
                cwd=Path(__file__).resolve().parents[2])
            # Its first record comes one interval after the priming sample: the transfer
            # starts after that sample, so every byte falls inside netop's window.
            netop.stdout.wait_for(pair.if_a, timeout=30)
            fetched = subprocess.run(
                pair.run_a("curl", "-s", "-o", "/dev/null", "-w", "%{size_download}",
                           f"http://{pair.addr_b}:8080/blob"),
                capture_output=True, text=True, timeout=30)
            out, err = netop.communicate(timeout=30)
            after = kernel_rx_bytes(pair.ns_a, pair.if_a)
        finally:
            server.terminate()
            server.wait(timeout=10)
            if netop is not None:
                netop.kill()
    assert fetched.returncode == 0
    assert int(fetched.stdout) == PAYLOAD
    assert netop.returncode == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 4
    assert {r["iface"] for r in records} == {pair.if_a}
    netop_bytes = sum(r["rx_bps"] for r in records) / 8  # 1 s intervals: bits/s → bytes
    delta_bytes = records[-1]["counters"]["rx_bytes"] - records[0]["counters"]["rx_bytes"]
    kernel = after - before
    assert kernel > PAYLOAD
    assert abs(netop_bytes - kernel) <= 0.02 * kernel, (netop_bytes, kernel)
    first_delta = records[0]["rx_bps"] / 8
    assert abs(delta_bytes + first_delta - kernel) <= 0.02 * kernel
