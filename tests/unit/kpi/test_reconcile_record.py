"""``netop reconcile``'s record: the difference and the reasons it names."""

from __future__ import annotations

import subprocess
import sys

from netop.commands.reconcile import Totals, record

OFF = {"tso": False, "gso": False, "gro": False}


def test_wire_bytes_and_differences() -> None:
    start = Totals(0, 0, 0, 0, 0, 0)
    end = Totals(cap_packets=100, ip_packets=100, l3_bytes=10_000, drops=0, k_packets=100,
                 k_bytes=11_400)
    r = record("veth0", start, end, 1.0, OFF, 1)
    assert r["captured_bytes"] == 11_400  # + 14 bytes of Ethernet header per packet
    assert r["diff_packets_pct"] == 0.0
    assert r["diff_bytes_pct"] == 0.0
    assert r["reasons"] == []


def test_reasons_for_a_gap() -> None:
    start = Totals(0, 0, 0, 0, 0, 0)
    end = Totals(cap_packets=90, ip_packets=85, l3_bytes=8_500, drops=10, k_packets=100,
                 k_bytes=11_400)
    r = record("eth0", start, end, "total", {"tso": True, "gso": True, "gro": False}, 4)
    assert r["diff_packets_pct"] == -10.0
    text = " | ".join(r["reasons"])
    assert "dropped 10" in text
    assert "sampling 1 in 4" in text
    assert "TSO/GSO on" in text
    assert "5 non-IP packets" in text


def test_bad_use_is_one_line_and_exit_2() -> None:
    for argv in (["-r", "x.pcap"], ["-i", "no-such-if0"], []):
        done = subprocess.run([sys.executable, "-m", "netop", "reconcile", *argv],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, (argv, done.stderr)
        assert done.stderr.count("\n") == 1, done.stderr
        assert "Traceback" not in done.stderr
