"""Bad export and Prometheus settings: one clear line and exit 2, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.shared_data import shared_path

PCAP = shared_path("data", "pcap", "traffic", "pcpp_three_http_streams.pcap")


def _netop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "netop", *args], capture_output=True,
                          text=True, timeout=60)  # fmt: skip


@pytest.mark.parametrize(("flag", "value", "says"), [
    ("--export-ipfix", "nosuch.invalid:4739", "cannot resolve 'nosuch.invalid'"),
    ("--export-ipfix", "127.0.0.1:99999", "port must be 1-65535"),
    ("--export-netflow9", ":2055", "no host"),
    ("--prometheus", "abc", "expected [HOST:]PORT"),
])  # fmt: skip
def test_bad_flag_is_one_line(flag: str, value: str, says: str) -> None:
    done = _netop("flows", "-r", str(PCAP), flag, value)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert says in done.stderr
    assert flag in done.stderr
    assert "Traceback" not in done.stderr


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _netop("ifaces", "--count", "1", "--prometheus", str(port))
    assert done.returncode == 2
    assert done.stderr.strip() == ("netop: prometheus failed to start: [Errno 98] Address "
                                   "already in use")
