"""Detection on exported flows: softflowd reads a capture of a port scan and exports
NetFlow v9 to ``netop alerts --collect`` on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pcapgen import syn_frame
from tests.ready import start_watched

ROOT = Path(__file__).resolve().parents[3]
SCANNER, VICTIM = 0x0A000009, 0x0A000001  # 10.0.0.9 → 10.0.0.1


def write_scan(path: Path, ports: int, start: int = 1_700_000_000) -> None:
    """A classic pcap: one unanswered SYN to each of ``ports`` ports, 10 ms apart."""
    parts = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i in range(ports):
        frame = syn_frame(SCANNER, VICTIM, 40000, 1 + i)
        parts.append(struct.pack("<IIII", start, i * 10_000, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(parts))


def test_port_scan_in_netflow_v9_from_softflowd(tmp_path: Path) -> None:
    softflowd = shutil.which("softflowd")
    if softflowd is None:
        pytest.skip("softflowd not installed (apt-get install softflowd)")
    pcap = tmp_path / "scan.pcap"
    write_scan(pcap, 40)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    netop = start_watched([sys.executable, "-m", "netop", "alerts", "--collect",
                           f"127.0.0.1:{port}", "--json", "--duration", "60"], cwd=ROOT)
    try:
        netop.stderr.wait_for("netop: listening on", timeout=30)
        subprocess.run([softflowd, "-r", str(pcap), "-n", f"127.0.0.1:{port}", "-v", "9",
                        "-d", "-c", "none", "-p", str(tmp_path / "pid")],
                       capture_output=True, timeout=60, check=True)
        # Unanswered: judged failed 5 s (scan_reply_timeout) after the records arrived.
        line = netop.stdout.wait_for('"kind": "port_scan"', timeout=30)
        netop.proc.send_signal(signal.SIGINT)
        stdout, _ = netop.communicate(timeout=30)
    finally:
        netop.kill()
    record = json.loads(line)
    assert record["entity"] == "10.0.0.9 → 10.0.0.1"
    assert record["proto"] == "tcp"
    assert record["value"] >= 15
    assert [json.loads(x)["kind"] for x in stdout.splitlines()] == ["port_scan"]
