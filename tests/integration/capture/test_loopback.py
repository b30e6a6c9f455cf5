"""Loopback and ``-i any``: each packet counted and written once, as tcpdump does.

lo hands every packet it sends to a packet socket twice: as PACKET_OUTGOING and again
as received. libpcap drops the outgoing copy on lo's ifindex; netop must too. The lo
here is the private one of a namespace the test made.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.netns import VethPair, veth_pair
from tests.ready import start_watched

ROOT = Path(__file__).resolve().parents[3]
PORT = 8093
SIZE = 100_000
pytestmark = pytest.mark.netns


def _need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"`{tool}` is not installed (apt-get install {tool})")


def _wait(predicate: object, what: str, seconds: float = 15.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _tcpdump(pair: VethPair, iface: str, pcap: Path) -> subprocess.Popen[str]:
    """tcpdump on ``iface`` in namespace A, returned once it says it is listening."""
    dump = subprocess.Popen(
        pair.run_a("tcpdump", "-i", iface, "-n", "-U", "-w", str(pcap), "tcp port " + str(PORT)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert dump.stderr is not None
    lines = []
    for _ in range(5):  # "tcpdump: data link type ...", then "listening on lo, ..."
        lines.append(dump.stderr.readline())
        if "listening on" in lines[-1]:
            return dump
    dump.kill()
    raise AssertionError(f"tcpdump did not start: {lines}")


def _tshark(pcap: Path, *args: str) -> list[str]:
    out = subprocess.run(["tshark", "-n", "-r", str(pcap), *args],
                         capture_output=True, text=True, timeout=60, check=True).stdout  # fmt: skip
    return out.splitlines()


def _fetch_over_lo(pair: VethPair, root: Path) -> None:
    """One ~100 KB HTTP download over lo inside namespace A."""
    server = subprocess.Popen(
        pair.run_a(sys.executable, "-m", "http.server", str(PORT), "--bind", "127.0.0.1",
                   "--directory", str(root)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        port_open = f"import socket; socket.create_connection(('127.0.0.1', {PORT}), 1).close()"

        def listening() -> bool:
            probe = pair.run_a(sys.executable, "-c", port_open)
            return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0

        _wait(listening, "the HTTP server")
        subprocess.run(
            pair.run_a("curl", "-s", "-o", "/dev/null", "--max-time", "5",
                       f"http://127.0.0.1:{PORT}/blob"),
            check=True, timeout=15,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("iface", ["lo", "any"])
def test_loopback_download_counts_like_tcpdump(
    tmp_path: Path, out_dir: Path, iface: str
) -> None:
    _need("tcpdump", "tshark", "curl")
    (tmp_path / "blob").write_bytes(b"x" * SIZE)
    ref, mine = tmp_path / "ref.pcap", out_dir / "netop.pcap"  # the child writes as nobody
    with veth_pair() as pair:
        dump = _tcpdump(pair, iface, ref)
        netop = start_watched(
            pair.run_a(sys.executable, "-m", "netop", "flows", "-i", iface, "-f",
                       f"tcp port {PORT}", "--duration", "8", "--json", "-w", str(mine)),
            cwd=ROOT,
        )  # fmt: skip
        try:
            # netop's word, not the socket's appearance: the child opens its rings with a
            # drop-all filter and puts the real one on after giving up its rights.
            netop.stderr.wait_for("netop: capture attached on ", timeout=30)
            _fetch_over_lo(pair, tmp_path)
            stdout, stderr = netop.communicate(timeout=40)
        finally:
            dump.terminate()
            dump.wait(timeout=10)
            netop.kill()
    assert netop.returncode == 0, stderr
    flows = [json.loads(line) for line in stdout.splitlines()]
    download = max(flows, key=lambda r: r["bytes"] + r["bytes_rev"])
    got = download["bytes"] + download["bytes_rev"]
    lengths = _tshark(ref, "-T", "fields", "-e", "ip.len", f"tcp.port == {download['sport']}")
    want = sum(int(x) for x in lengths)
    assert want > SIZE
    assert abs(got - want) <= want / 100, (got, want)
    assert download["packets"] + download["packets_rev"] == len(lengths)
    # -w holds each packet once: nothing looks like a retransmission to Wireshark.
    assert len(_tshark(mine, f"tcp.port == {download['sport']}")) == len(lengths)
    assert _tshark(mine, "-Y", "tcp.analysis.retransmission") == []
