"""``netop flows -r`` against hostile files: impossible timestamps and a SYN flood.

Each test runs the real command (a subprocess, bounded in time) on a file the test
writes itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.pcapgen import udp_frame, write_pcapng_seconds, write_syn_flood

NETOP = [sys.executable, "-m", "netop"]


def _netop(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NETOP, *args], capture_output=True, text=True, timeout=timeout)


def test_a_timestamp_beyond_any_clock_is_mended_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "future.pcapng"
    good = udp_frame(0x0A000001, 0x0A000002, 5000, 53)
    evil = udp_frame(0x0A000003, 0x0A000004, 6000, 53)
    write_pcapng_seconds(path, [(1_700_000_000, good), (2**60, evil), (1_700_000_001, good)])
    done = _netop("flows", "-r", str(path), "--json", "--sort", "src", "--reverse",
                    timeout=30)
    assert done.returncode == 0, done.stderr
    flows = [json.loads(line) for line in done.stdout.splitlines()]
    # The packet still counts, at the time of the packet before it.
    assert [(f["src"], f["packets"], f["first"], f["last"]) for f in flows] == [
        ("10.0.0.1", 2, 1_700_000_000, 1_700_000_001),
        ("10.0.0.3", 1, 1_700_000_000, 1_700_000_000),
    ]
    assert "1 packet with an impossible timestamp (given the one before)" in done.stderr
    assert "Traceback" not in done.stderr


def _peak_rss_mb(
    args: list[str], timeout: float, out_dir: Path
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run netop, sampling its RSS every 20 ms; its output goes to files (a pipe nobody
    reads while it runs would block it)."""
    out_path, err_path = out_dir / "stdout", out_dir / "stderr"
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen([*NETOP, *args], stdout=out, stderr=err)
    peak = 0.0
    deadline = time.monotonic() + timeout
    try:
        watched = psutil.Process(proc.pid)
        while proc.poll() is None:
            with contextlib.suppress(psutil.NoSuchProcess):
                peak = max(peak, watched.memory_info().rss / 2**20)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(0.02)
            assert time.monotonic() < deadline, f"netop {' '.join(args)} ran over {timeout} s"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    done = subprocess.CompletedProcess(args, proc.returncode, out_path.read_text(),
                                       err_path.read_text())
    return peak, done


def test_a_syn_flood_costs_what_the_table_limit_says_and_every_eviction_is_counted(
    tmp_path: Path,
) -> None:
    path = tmp_path / "flood.pcap"
    write_syn_flood(path, 200_000)
    small, done = _peak_rss_mb(["flows", "-r", str(path), "--max-flows", "10000", "--json"], 120,
                               tmp_path)
    assert done.returncode == 0, done.stderr
    listed = done.stdout.count("\n")
    # Every flow is accounted for: listed, or counted as evicted/dropped on stderr.
    assert listed <= 10_000
    assert f"{200_000 - listed} flows evicted" in done.stderr, done.stderr
    assert "0 packets of new flows dropped" in done.stderr, done.stderr
    big, done = _peak_rss_mb(["flows", "-r", str(path), "--max-flows", "300000", "--json"], 120,
                             tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 200_000
    assert "evicted" not in done.stderr, done.stderr  # nothing lost: nothing said
    # What 200k flows cost above the interpreter, the 10k-flow run must stay well under.
    base, _ = _peak_rss_mb(["flows", "--help"], 30, tmp_path)
    assert small - base < (big - base) / 3, (base, small, big)


@pytest.mark.skipif(os.geteuid() != 0, reason="capturing on lo needs root")
def test_an_interface_named_twice_is_captured_once() -> None:
    done = _netop("flows", "-i", "lo", "-i", "lo", "--duration", "2", timeout=30)
    assert done.returncode == 0, done.stderr
    assert "netop: capture attached on lo (" in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("ring_mb", "interfaces", "said"),
    [
        (1024, ["lo"], "config: capture.ring_mb: must be 1..256 MiB, got 1024"),
        (200, ["lo", "nosuch1", "nosuch2"],
         "config: capture.ring_mb: 200 MiB x 3 interfaces = 600 MiB of kernel memory; at most 512"),
    ],
)
def test_a_ring_beyond_the_cap_is_one_clear_error(
    tmp_path: Path, ring_mb: int, interfaces: list[str], said: str
) -> None:
    config = tmp_path / "netop.toml"
    config.write_text(f"[capture]\nring_mb = {ring_mb}\n")
    flags = [arg for iface in interfaces for arg in ("-i", iface)]
    done = _netop("--config", str(config), "flows", *flags, "--duration", "0.2", timeout=30)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [f"netop: {said}"], done.stderr


def test_a_churn_faster_than_the_table_refuses_no_packet(tmp_path: Path) -> None:
    # 20,000 new flows a second, each two packets 0.5 s apart, into 10,000 slots: flows
    # are evicted (and counted) before their second packet, but no packet is refused.
    from bench.soak import write_churn

    path = tmp_path / "churn.pcap"
    write_churn(path, 3, 20_000)
    done = _netop("flows", "-r", str(path), "--max-flows", "10000", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "120000 packets read" in done.stderr, done.stderr
    assert "0 packets of new flows dropped" in done.stderr, done.stderr
    listed = done.stdout.count("\n")
    packets = sum(json.loads(line)["packets"] for line in done.stdout.splitlines())
    evicted = int(done.stderr.split(" flows evicted")[0].rsplit(" ", 1)[1])
    assert listed == 10_000
    assert packets + evicted >= 120_000 - 10_000  # an evicted flow holds one or two packets
