"""``netop reconcile --snmp``: a real net-snmp agent inside the namespace whose veth
carries known iperf3 traffic. Over the whole run the agent's counters (read after its
cache refreshed) agree with the kernel's and the capture's; per 1 s interval, polled
faster than the agent's cache, some intervals read 0 from SNMP while the kernel moved,
and the record names agent counter caching as the reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.kpi.test_reconcile_netns import _offloads
from tests.integration.snmp.agents import COMMUNITY, Snmpd
from tests.netns import require_netns, veth_pair
from tests.ready import start_watched, wait_for_port
from tests.shared_data import REPO_ROOT

#: Captured, kernel and SNMP totals must agree this closely (no drops, offloads off).
TOLERANCE_PCT = 0.5


def _run(tmp_path: Path) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with veth_pair() as pair:
        _offloads(pair, False)
        agent = Snmpd(tmp_path, netns=pair.ns_b).start()
        try:
            netop = start_watched(pair.run_b(
                sys.executable, "-m", "netop", "reconcile", "-i", pair.if_b, "--duration", "11",
                "--json", "--snmp", f"v2c:{COMMUNITY}@127.0.0.1:{agent.port}"), env=env)
            try:
                netop.stderr.wait_for("netop: capture attached on ", timeout=40)
                server = subprocess.Popen(pair.run_b("iperf3", "-s", "-1", "-p", "5313"),
                                          stdout=subprocess.DEVNULL)
                wait_for_port(5313, pair.ns_b, proc=server)
                # Paced over 4 s, so the kernel's counters move in every 1 s interval
                # while the agent's move only when its cache refreshes.
                subprocess.run(pair.run_a("iperf3", "-c", pair.addr_b, "-p", "5313", "-t", "4",
                                          "-b", "4M"), check=True, capture_output=True,
                               timeout=60)  # fmt: skip
                server.wait(timeout=30)
                out, err = netop.communicate(timeout=60)
            finally:
                netop.kill()
        finally:
            agent.stop()
    assert netop.returncode == 0, err
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_snmp_counters_agree_and_caching_is_named(tmp_path: Path) -> None:
    require_netns()
    if subprocess.run(["which", "iperf3"], capture_output=True).returncode:
        pytest.skip("iperf3 not installed")
    records = _run(tmp_path)
    total = records[-1]
    assert total["interval"] == "total"
    assert total["snmp_counter_bits"] == 64
    assert total["snmp_if"].startswith("nvb")  # the agent's ifName of the veth
    assert int(total["kernel_bytes"]) > 1_500_000, total
    for key in ("snmp_diff_bytes_pct", "snmp_diff_packets_pct", "diff_bytes_pct",
                "diff_packets_pct"):  # fmt: skip
        assert abs(float(total[key])) < TOLERANCE_PCT, (key, total)
    intervals = records[:-1]
    cached = [r for r in intervals if r["kernel_bytes"] > 0 and r["snmp_bytes"] == 0]
    assert cached, intervals  # polled every 1 s, the agent's values stood still
    assert all(any("agent counter caching" in why for why in r["reasons"]) for r in cached)
