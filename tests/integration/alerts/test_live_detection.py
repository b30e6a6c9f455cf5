"""Detection on live capture of real attack tools in namespaces the test makes.

``nmap`` (-sS, -sT, -sU, an -sn sweep) and ``hping3 --flood -S`` (bounded by
``timeout``) run in namespace A against B; ``netop alerts -i`` captures in B. Each test
waits for the alert line (bounded) and prints the detection delay: from the attack's
start to the alert on netop's stdout (``pytest -s`` shows them; no timing is asserted).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.netns import VethPair, sh, veth_pair
from tests.ready import Watched, start_watched, wait_for_port, wait_until

ROOT = Path(__file__).resolve().parents[3]


def _need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (Debian package {tool})")


def _alerts(pair: VethPair, *args: str) -> Watched:
    netop = start_watched(pair.run_b(sys.executable, "-m", "netop", "alerts", "-i",
                                     pair.if_b, "--json", "--duration", "60", *args),
                          cwd=ROOT)
    netop.stderr.wait_for("netop: capture attached on ", timeout=30)
    return netop


def _wait_alert(netop: Watched, kind: str, started: float, timeout: float = 30
                ) -> dict[str, Any]:
    line = netop.stdout.wait_for(f'"kind": "{kind}"', timeout=timeout)
    delay = time.monotonic() - started
    print(f"\n{kind}: detected {delay:.1f} s after the attack started")
    record: dict[str, Any] = json.loads(line)
    return record


def _finish(netop: Watched) -> tuple[str, str]:
    if netop.proc.poll() is None:
        netop.proc.send_signal(signal.SIGINT)  # ends like Ctrl-C: summary, exit 0
    try:
        return netop.communicate(timeout=30)
    finally:
        netop.kill()


def _kinds(stdout: str) -> list[str]:
    return [json.loads(line)["kind"] for line in stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("scan", ["-sS", "-sT"])
def test_nmap_tcp_port_scan(scan: str) -> None:
    _need("nmap")
    with veth_pair() as pair:
        netop = _alerts(pair)
        try:
            started = time.monotonic()
            subprocess.run(pair.run_a("nmap", scan, "-Pn", "-n", "-p", "1-200",
                                      "--max-retries", "0", pair.addr_b),
                           capture_output=True, timeout=120, check=True)
            record = _wait_alert(netop, "port_scan", started)
            stdout, stderr = _finish(netop)
        finally:
            netop.kill()
    assert record["entity"] == f"{pair.addr_a} → {pair.addr_b}"
    assert record["src"] == pair.addr_a
    assert record["dst"] == pair.addr_b
    assert record["proto"] == "tcp"
    assert record["community_id"].startswith("1:")
    assert record["value"] >= 15
    # Deduplicated: one port_scan alert for the whole scan, and nothing else fired.
    assert _kinds(stdout) == ["port_scan"], stderr


def test_nmap_udp_scan_counts_unanswered_probes() -> None:
    _need("nmap")
    with veth_pair() as pair:
        netop = _alerts(pair)
        try:
            started = time.monotonic()
            subprocess.run(pair.run_a("nmap", "-sU", "-Pn", "-n", "-p", "1-40",
                                      "--max-retries", "0", pair.addr_b),
                           capture_output=True, timeout=180, check=True)
            record = _wait_alert(netop, "port_scan", started)
            stdout, _ = _finish(netop)
        finally:
            netop.kill()
    assert record["proto"] == "udp"
    assert _kinds(stdout) == ["port_scan"]


def test_nmap_ping_sweep_is_an_address_scan() -> None:
    _need("nmap")
    with veth_pair() as pair:
        # A routed range behind B: the probes go on the wire to B (no ARP per target),
        # nobody answers. Only inside these namespaces.
        sweep = "10.99.77"
        sh("ip", "-n", pair.ns_a, "route", "add", f"{sweep}.0/24", "via", pair.addr_b)
        netop = _alerts(pair)
        try:
            started = time.monotonic()
            subprocess.run(pair.run_a("nmap", "-sn", "-n", "--send-ip", "--max-retries", "0",
                                      f"{sweep}.1-40"),
                           capture_output=True, timeout=120, check=True)
            record = _wait_alert(netop, "address_scan", started)
            stdout, _ = _finish(netop)
        finally:
            netop.kill()
    assert record["entity"] == pair.addr_a
    assert record["value"] >= 25
    assert set(_kinds(stdout)) == {"address_scan"}


def test_hping3_syn_flood() -> None:
    _need("hping3")
    with veth_pair() as pair:
        netop = _alerts(pair)
        try:
            started = time.monotonic()
            # While the flood runs: the delay is to the alert, not to the flood's end.
            flood = subprocess.Popen(pair.run_a("timeout", "3", "hping3", "--flood", "-S",
                                                "-p", "80", pair.addr_b),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                record = _wait_alert(netop, "syn_flood", started)
            finally:
                flood.wait(timeout=30)
            stdout, _ = _finish(netop)
        finally:
            netop.kill()
    assert record["entity"] == pair.addr_b
    assert record["severity"] == "critical"
    assert record["value"] > 256
    assert record["dport"] == 80
    assert "syn_flood" in _kinds(stdout)
    assert "port_scan" not in _kinds(stdout)


def _http(pair: VethPair, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(pair.run_b(sys.executable, "-m", "http.server", "--bind",
                                         pair.addr_b, str(port)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, pair.ns_b, proc=server)
    return server


def _curl(pair: VethPair, port: int) -> None:
    subprocess.run(pair.run_a("curl", "-s", "-o", "/dev/null", "--max-time", "3",
                              f"http://{pair.addr_b}:{port}/"), timeout=30, check=True)


def test_watchlist_hit_and_reload_without_restart(tmp_path: Path) -> None:
    _need("curl")
    listed = tmp_path / "feodo.txt"
    listed.write_text("# abuse.ch Feodo Tracker style\n198.51.100.1\n")
    config = tmp_path / "netop.toml"
    config.write_text("[watchlist]\nreload_seconds = 0.2\n")
    config.chmod(0o600)
    with veth_pair() as pair:
        server = _http(pair, 8090)
        netop = _alerts(pair, "--config", str(config), "--watchlist", str(listed))
        try:
            _curl(pair, 8090)  # not listed yet: no alert
            started = time.monotonic()
            listed.write_text(f"198.51.100.1\n{pair.addr_a}/32\n")
            os.utime(listed, (started, started + 1))
            _curl(pair, 8090)
            record = _wait_alert(netop, "watchlist", started)
            stdout, stderr = _finish(netop)
        finally:
            netop.kill()
            server.terminate()
            server.wait(timeout=10)
    assert record["entity"] == pair.addr_a
    assert record["dst"] == pair.addr_b
    assert record["dport"] == 8090
    assert record["community_id"].startswith("1:")
    assert _kinds(stdout) == ["watchlist"]
    assert "watchlist feodo.txt: 1 entries" in stderr


def test_large_outbound_transfer(tmp_path: Path) -> None:
    _need("iperf3")
    config = tmp_path / "netop.toml"
    # A is the local host here; 20 MB within a minute is the limit of this test.
    with veth_pair() as pair:
        config.write_text(f'[detect]\nlocal_nets = ["{pair.addr_a}/32"]\n'
                          "large_transfer_bytes = 20e6\n")
        config.chmod(0o600)
        server = subprocess.Popen(pair.run_b("iperf3", "-s", "-1", "-B", pair.addr_b,
                                             "-p", "5299"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        netop = _alerts(pair, "--config", str(config))
        try:
            wait_for_port(5299, pair.ns_b, proc=server)
            started = time.monotonic()
            subprocess.run(pair.run_a("iperf3", "-c", pair.addr_b, "-p", "5299", "-t", "3",
                                      "-b", "200M"),
                           capture_output=True, timeout=60, check=True)
            record = _wait_alert(netop, "large_transfer", started)
            stdout, _ = _finish(netop)
        finally:
            netop.kill()
            server.kill()
            server.wait(timeout=10)
    assert record["entity"] == f"{pair.addr_a} → {pair.addr_b}"
    assert record["value"] > 20e6
    assert set(_kinds(stdout)) == {"large_transfer"}


def test_alerts_r_on_a_tcpdump_capture_of_a_scan(tmp_path: Path) -> None:
    """The same kind of scan recorded by tcpdump and read back with ``alerts -r``:
    detection on the file's own clock."""
    _need("nmap", "tcpdump")
    from tests.ready import StreamLines

    pcap = tmp_path / "scan.pcap"
    with veth_pair() as pair:
        dump = subprocess.Popen(pair.run_a("tcpdump", "-i", pair.if_a, "-n", "-U",
                                           "--immediate-mode", "-w", str(pcap), "tcp"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            assert dump.stderr is not None
            StreamLines(dump.stderr).wait_for("listening on", timeout=30)
            # Paced: tcpdump's ring on this busy machine dropped part of a 60-packet
            # burst (its kernel drop counter said so).
            subprocess.run(pair.run_a("nmap", "-sS", "-Pn", "-n", "-p", "1-30",
                                      "--max-retries", "0", "--scan-delay", "20ms",
                                      pair.addr_b),
                           capture_output=True, timeout=120, check=True)
            # 30 SYNs and 30 RSTs, each at least 16 + 54 bytes in the file.
            wait_until(lambda: pcap.stat().st_size >= 24 + 60 * 70, 20, "tcpdump's file")
        finally:
            dump.terminate()
            dump.wait(timeout=10)
    done = subprocess.run([sys.executable, "-m", "netop", "alerts", "-r", str(pcap), "--json"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["kind"], r["src"], r["dst"], r["proto"]) for r in records] == [
        ("port_scan", pair.addr_a, pair.addr_b, "tcp")], (done.stderr, pcap.stat().st_size)
    assert "netop: 1 alerts (1 port_scan)" in done.stderr
