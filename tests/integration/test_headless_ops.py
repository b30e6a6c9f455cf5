"""Headless commands as an operator runs them: what a capture says when it starts, the
summary after a file (and why its table is empty), a progress bar only on a terminal,
and an SNMP poll of a dead agent that ends by itself."""

from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pcapgen import udp_frame
from tests.ptyproc import PtyNetop

REPO = Path(__file__).resolve().parents[2]


def _netop(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netop", *args], capture_output=True, text=True,
        timeout=timeout, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
    )  # fmt: skip


def _write_pcap(path: Path, frames: list[bytes], start: int = 1_700_000_000) -> None:
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    for i, frame in enumerate(frames):
        out += struct.pack("<IIII", start + i // 1000, i % 1000, len(frame), len(frame))
        out += frame
    path.write_bytes(bytes(out))


def _arp() -> bytes:
    return (b"\xff" * 6 + bytes.fromhex("020000000001") + b"\x08\x06"
            + bytes.fromhex("0001080006040001") + bytes(20))  # fmt: skip


def _udp(i: int, size: int = 1) -> bytes:
    return udp_frame(0x0A000001, 0x0A000002, 1000 + i % 7, 53, b"x" * size)


@pytest.mark.skipif(os.geteuid() != 0, reason="capturing on lo needs root")
def test_a_live_capture_says_where_and_with_which_filter() -> None:
    done = _netop("flows", "-i", "lo", "-f", "udp port 9", "-p", "--duration", "0.3",
                  timeout=30)  # fmt: skip
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stderr.splitlines() if "capture attached" in x)
    assert line.startswith("netop: capture attached on lo ("), line
    assert "BPF 'udp port 9'" in line
    assert "not promiscuous" in line


def test_an_offline_read_ends_with_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "mix.pcap"
    _write_pcap(path, [_udp(i) for i in range(20)] + [_arp(), _arp()])
    done = _netop("flows", "-r", str(path))
    assert done.returncode == 0, done.stderr
    assert "netop: mix.pcap: 22 packets read, 0 malformed, 2 not IP (skipped), 7 flows" \
        in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("frames", "flags", "why"),
    [
        ([], [], "no flows: the file holds no packets"),
        ([_arp(), _arp()], [], "no flows: none of the 2 packets is IP"),
        ([_udp(1), _udp(2)], ["-f", "tcp"], "no flows: the capture filter -f 'tcp' kept none "
                                            "of the file's packets"),
        ([_udp(1), _udp(2)], ["--filter", "tcp"], "no flows: --filter 'tcp' matched none of "
                                                  "the 2 flows"),
    ],
    ids=["empty", "not-ip", "bpf", "filter"],
)  # fmt: skip
def test_an_empty_table_says_why(
    tmp_path: Path, frames: list[bytes], flags: list[str], why: str
) -> None:
    path = tmp_path / "few.pcap"
    _write_pcap(path, frames)
    done = _netop("flows", "-r", str(path), *flags)
    assert done.returncode == 0, done.stderr
    assert f"netop: {why}" in done.stderr, done.stderr


@pytest.fixture(scope="module")
def big_pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from netop.commands.progress import PROGRESS_MIN_BYTES

    frame = _udp(0, 1400)
    path = tmp_path_factory.mktemp("big") / "big.pcap"
    _write_pcap(path, [frame] * (PROGRESS_MIN_BYTES // len(frame) + 100))
    return path


def test_a_long_read_shows_progress_on_a_terminal(big_pcap: Path) -> None:
    netop = PtyNetop(["flows", "-r", str(big_pcap), "--top", "1"], cols=100, rows=30)
    try:
        assert netop.read_until(b"netop: big.pcap:", timeout=120), netop.output[-2000:]
    finally:
        netop.proc.wait(timeout=60)
    text = netop.output.decode("utf-8", "replace")
    assert "reading big.pcap" in text, text[-2000:]
    assert re.search(r"\d+(\.\d+)?/\d+(\.\d+)? MB", text), text[-2000:]


def test_no_progress_bar_when_stderr_is_not_a_terminal(big_pcap: Path) -> None:
    done = _netop("flows", "-r", str(big_pcap), "--top", "1")
    assert done.returncode == 0, done.stderr
    assert "reading" not in done.stderr
    assert "\x1b" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("count", [[], ["--count", "2"]], ids=["no-count", "count-2"])
def test_snmp_to_a_dead_target_ends_with_status_2(tmp_path: Path, count: list[str]) -> None:
    config = tmp_path / "netop.toml"
    config.write_text(
        "[[snmp.targets]]\nname = 'dead'\nhost = '127.0.0.1'\n"
        f"port = {_free_udp_port()}\nversion = '2c'\ncommunity = 'public'\n"
        "timeout = 0.3\nretries = 1\ninterval = 1\n")  # fmt: skip
    config.chmod(0o600)
    done = _netop("--config", str(config), "snmp", *count, timeout=60)
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("netop: no SNMP target answered"), done.stderr
    assert "dead" in last
    assert "Traceback" not in done.stderr


def test_the_capture_rights_advice_names_the_launcher_never_the_interpreter(
    tmp_path: Path,
) -> None:
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) not installed")
    config = tmp_path / "netop.toml"
    config.write_text(f'[capture]\nlauncher = "{tmp_path}/no-launcher"\n')
    config.chmod(0o600)
    # A user namespace's "root" lacks CAP_NET_RAW over the host's network namespace.
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", sys.executable, "-m", "netop",
         "--config", str(config), "flows", "-i", "lo", "--duration", "1"],
        capture_output=True, text=True, cwd=REPO, timeout=30,
    )  # fmt: skip
    if "unshare failed" in done.stderr or "Operation not permitted" in done.stderr[:80]:
        pytest.skip(f"user namespaces unavailable: {done.stderr.strip()}")
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "\n" not in line, line
    assert "CAP_NET_RAW" in line
    assert "netop install-capture --file-caps --group netop" in line, line
    assert 'capture.helper = ["sudo", "-n"]' in line, line
    assert f"{tmp_path}/no-launcher is not installed" in line, line
    assert "setcap" not in line
    assert "python" not in line.lower().replace("never the python interpreter", "")
