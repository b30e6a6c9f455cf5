"""``netop ifaces --json`` as a user runs it: a subprocess, its output parsed."""

from __future__ import annotations

import json
import subprocess
import sys

import psutil

CONTRACT = {"ts", "iface", "origin", "rx_bps", "tx_bps", "rx_pps", "tx_pps", "rx_drops",
            "tx_drops", "rx_errors", "tx_errors", "counters", "speed_bps", "util_rx", "util_tx",
            "oper_up"}


def test_ifaces_json_prints_one_record_per_interface_per_interval() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "netop", "ifaces", "--json", "--count", "2", "--interval", "0.3"],
        capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    names = set(psutil.net_io_counters(pernic=True))
    per_interval = len({r["iface"] for r in records})
    assert len(records) == 2 * per_interval
    assert {r["iface"] for r in records} <= names | {"all"}
    assert "lo" in {r["iface"] for r in records}
    for record in records:
        assert set(record) >= CONTRACT
        assert record["origin"] == "local"
        assert record["rx_bps"] is not None
        assert record["rx_bps"] >= 0
        if record["speed_bps"] is None:
            assert record["util_rx"] is None
    # Cumulative counters never go back from the first interval to the second.
    for name in {r["iface"] for r in records}:
        first, second = [r["counters"]["rx_bytes"] for r in records if r["iface"] == name]
        assert 0 <= first <= second, name
    lo = [r for r in records if r["iface"] == "lo"]
    assert lo[0]["speed_bps"] is None  # loopback has no link speed


def test_ifaces_unknown_interface_is_one_error_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "netop", "ifaces", "--json", "-i", "nosuch0", "--interval", "0.1"],
        capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "netop: no interface matches nosuch0"
