"""``netop flows -r``: JSON records, table, --top/--sort, damaged files, bad flags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

ROOT = Path(__file__).resolve().parents[3]


def _netop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netop", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    pkts = []
    for i in range(3):  # flow i has i+1 packets
        for _ in range(i + 1):
            pkts.append(
                Ether() / IP(src="10.0.0.1", dst=f"10.0.1.{i}") / UDP(sport=1000 + i, dport=53)
            )
    pkts.append(Ether() / IP(src="10.0.0.9", dst="10.0.0.1") / TCP(sport=5, dport=22, flags="S"))
    for n, p in enumerate(pkts):
        p.time = 1_700_000_000 + n
    path = tmp_path / "c.pcap"
    wrpcap(str(path), pkts)
    return path


def test_json_prints_every_flow(capture: Path) -> None:
    done = _netop("flows", "-r", str(capture), "--json")
    assert done.returncode == 0, done.stderr
    recs = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(recs) == 4
    assert recs[0]["packets"] == 3
    assert recs[0]["proto"] == "udp"
    tcp = [r for r in recs if r["proto"] == "tcp"][0]
    assert (tcp["src"], tcp["dport"], tcp["tcp_flags"], tcp["source"]) == (
        "10.0.0.9",
        22,
        "S",
        "capture",
    )
    assert tcp["first"] == 1_700_000_006.0


def test_top_and_sort(capture: Path) -> None:
    done = _netop("flows", "-r", str(capture), "--json", "--top", "2", "--sort", "age")
    recs = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["sport"] for r in recs] == [1000, 1001]


def test_filter_applies_to_files_like_tcpdump(capture: Path) -> None:
    done = _netop("flows", "-r", str(capture), "--json", "-f", "tcp or udp port 1001")
    assert done.returncode == 0, done.stderr
    recs = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted((r["proto"], r["sport"]) for r in recs) == [("tcp", 5), ("udp", 1001)]
    bad = _netop("flows", "-r", str(capture), "-f", "tcp port banana")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "netop: bad filter 'tcp port banana': unknown port 'banana'"


def test_table_output(capture: Path) -> None:
    done = _netop("flows", "-r", str(capture))
    assert done.returncode == 0
    assert "10.0.0.9:5" in done.stdout
    assert "PROTO" in done.stdout.splitlines()[0]


def test_damaged_file_prints_records_then_fails(capture: Path) -> None:
    capture.write_bytes(capture.read_bytes()[:-7])
    done = _netop("flows", "-r", str(capture), "--json")
    assert done.returncode != 0
    assert len(done.stdout.splitlines()) == 3
    assert done.stderr.count("\n") == 1
    assert "netop:" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--sort", "colour"], "--sort"),
        (["--top", "0"], "--top"),
        (["-W", "2"], "-C/-W"),
        (["--speed", "fast"], "--speed"),
    ],
)
def test_bad_flags_are_one_line(capture: Path, args: list[str], needle: str) -> None:
    done = _netop("flows", "-r", str(capture), *args)
    assert done.returncode == 2
    assert needle in done.stderr
    assert "Traceback" not in done.stderr
