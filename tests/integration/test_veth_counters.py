"""Real traffic over a veth pair: netop's byte counts match the kernel's within 2 %."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.netns import sh, veth_pair

pytestmark = pytest.mark.netns

PAYLOAD = 8 * 1024 * 1024


def kernel_rx_bytes(ns: str, ifname: str) -> int:
    link = json.loads(sh("ip", "-n", ns, "-j", "-s", "link", "show", ifname))[0]
    return int(link["stats64"]["rx"]["bytes"])


def wait_for_port(cmd_prefix: list[str], addr: str, port: int, deadline_s: float = 10) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        probe = subprocess.run([*cmd_prefix, "curl", "-s", "-o", "/dev/null",
                                f"http://{addr}:{port}/"], capture_output=True, timeout=5)
        if probe.returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"server on {addr}:{port} did not come up")


def test_netop_counts_the_bytes_the_kernel_counted(tmp_path: Path) -> None:
    (tmp_path / "blob").write_bytes(bytes(range(256)) * (PAYLOAD // 256))
    with veth_pair() as pair:
        server = subprocess.Popen(
            pair.run_b(sys.executable, "-m", "http.server", "8080", "--bind", pair.addr_b,
                       "--directory", str(tmp_path)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(pair.run_a(), pair.addr_b, 8080)
            before = kernel_rx_bytes(pair.ns_a, pair.if_a)
            netop = subprocess.Popen(
                pair.run_a(sys.executable, "-m", "netop", "ifaces", "--json", "--count", "4",
                           "--interval", "1", "-i", pair.if_a),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                cwd=Path(__file__).resolve().parents[2])
            time.sleep(0.8)  # netop has taken its priming sample
            fetched = subprocess.run(
                pair.run_a("curl", "-s", "-o", "/dev/null", "-w", "%{size_download}",
                           f"http://{pair.addr_b}:8080/blob"),
                capture_output=True, text=True, timeout=30)
            out, err = netop.communicate(timeout=30)
            after = kernel_rx_bytes(pair.ns_a, pair.if_a)
        finally:
            server.terminate()
            server.wait(timeout=10)
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
