"""``netop alerts`` hands what fires to the configured ``[[alerts.actions]]``, as the TUI
does: a real ``command`` action (a Python one-liner appending its stdin to a file) gets
the alert JSON from ``-r FILE`` and from ``-i IFACE``; ``--no-actions`` only prints."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from tests.netns import veth_pair
from tests.ready import start_watched, wait_until

ROOT = Path(__file__).resolve().parents[3]
NETOP = [sys.executable, "-m", "netop"]
SCANNER, TARGET = "10.9.8.7", "192.0.2.50"
ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def _scan_pcap(path: Path) -> None:
    """A port scan as a file: 20 SYNs to 20 ports, each answered by a RST."""
    packets = []
    for i, port in enumerate(range(1, 21)):
        t = 1_700_000_000 + i * 0.05
        syn = ETH / IP(src=SCANNER, dst=TARGET) / TCP(sport=40000, dport=port, flags="S")
        rst = ETH / IP(src=TARGET, dst=SCANNER) / TCP(sport=port, dport=40000, flags="RA")
        syn.time, rst.time = t, t + 0.001
        packets += [syn, rst]
    wrpcap(str(path), packets)


def _config(tmp_path: Path, out: Path) -> Path:
    config = tmp_path / "netop.toml"
    append = f"import sys; open({str(out)!r}, 'a').write(sys.stdin.read() + '\\n')"
    config.write_text("[[alerts.actions]]\ntype = \"command\"\n"
                      f"command = {json.dumps([sys.executable, '-c', append])}\n"
                      "min_severity = \"warning\"\n")
    config.chmod(0o600)
    return config


def _delivered(out: Path) -> list[dict[str, object]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def test_alerts_r_sends_to_the_command_action(tmp_path: Path) -> None:
    pcap, out = tmp_path / "scan.pcap", tmp_path / "delivered.jsonl"
    _scan_pcap(pcap)
    config = _config(tmp_path, out)
    done = subprocess.run([*NETOP, "alerts", "-r", str(pcap), "--json", "--config",
                           str(config)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["kind"] for r in printed] == ["port_scan"], done.stderr
    # Delivered before exit (the run waits for its actions' queues).
    delivered = _delivered(out)
    assert [(r["kind"], r["src"], r["dst"]) for r in delivered] == [
        ("port_scan", SCANNER, TARGET)], done.stderr
    assert delivered[0]["community_id"] == printed[0]["community_id"]


def test_alerts_r_no_actions_only_prints(tmp_path: Path) -> None:
    pcap, out = tmp_path / "scan.pcap", tmp_path / "delivered.jsonl"
    _scan_pcap(pcap)
    config = _config(tmp_path, out)
    done = subprocess.run([*NETOP, "alerts", "-r", str(pcap), "--json", "--no-actions",
                           "--config", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["kind"] for line in done.stdout.splitlines()] == ["port_scan"]
    assert not out.exists()


def test_failed_delivery_is_said_on_stderr(tmp_path: Path) -> None:
    pcap = tmp_path / "scan.pcap"
    _scan_pcap(pcap)
    config = tmp_path / "netop.toml"
    config.write_text("[[alerts.actions]]\ntype = \"command\"\n"
                      f"command = {json.dumps([str(tmp_path / 'no-such-pager')])}\n")
    config.chmod(0o600)
    done = subprocess.run([*NETOP, "alerts", "-r", str(pcap), "--config", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "not delivered: no such program" in done.stderr
    assert "Traceback" not in done.stderr


def test_alerts_i_sends_to_the_command_action(tmp_path: Path) -> None:
    out = tmp_path / "delivered.jsonl"
    config = _config(tmp_path, out)
    with veth_pair() as pair:
        netop = start_watched(pair.run_b(*NETOP, "alerts", "-i", pair.if_b, "--json",
                                         "--duration", "60", "--config", str(config)),
                              cwd=ROOT)
        try:
            netop.stderr.wait_for("netop: capture attached on ", timeout=30)
            started = time.monotonic()
            subprocess.run(pair.run_a("nmap", "-sS", "-Pn", "-n", "-p", "1-100",
                                      "--max-retries", "0", pair.addr_b),
                           capture_output=True, timeout=120, check=True)
            netop.stdout.wait_for('"kind": "port_scan"', timeout=30)
            wait_until(lambda: _delivered(out), 20, "the command action's file")
            print(f"\nport_scan delivered {time.monotonic() - started:.1f} s after the scan")
            netop.proc.send_signal(signal.SIGINT)
            netop.communicate(timeout=30)
        finally:
            netop.kill()
    delivered = _delivered(out)
    assert [(r["kind"], r["src"]) for r in delivered] == [("port_scan", pair.addr_a)]


@pytest.fixture(autouse=True)
def _nmap() -> None:
    import shutil

    if shutil.which("nmap") is None:
        pytest.skip("nmap not installed (Debian package nmap)")
