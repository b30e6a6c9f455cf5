"""Live capture: the TUI's ``W`` (``CaptureSource.write_pcap``) writes exactly the packets
captured between start and stop, to a 0600 file tshark reads; a file the capture
process cannot open is an error event, not a crash."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from netop.model import FlowBatch, NetEvent, Severity
from netop.sources.base import SourceItem
from netop.sources.capture.options import CaptureOptions
from netop.sources.capture.source import CaptureSource
from tests.netns import VethPair, veth_pair
from tests.ready import wait_until

pytestmark = pytest.mark.netns

PORT = 9479
_SEND = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(f"{sys.argv[2]}-{i}".encode(), (sys.argv[1], int(sys.argv[4])))
"""


def _send(pair: VethPair, tag: str, count: int) -> None:
    subprocess.run(pair.run_b(sys.executable, "-c", _SEND, pair.addr_a, tag, str(count),
                                 str(PORT)),
                   timeout=20, check=True)  # fmt: skip


def _markers(pcap: Path) -> list[str]:
    out = subprocess.run(
        ["tshark", "-n", "-r", str(pcap), "-Y", f"udp.dstport == {PORT} && !icmp",
         "-T", "fields", "-e", "data"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    return [bytes.fromhex(line.strip()).decode() for line in out.splitlines() if line.strip()]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is the referee")
def test_w_writes_exactly_the_packets_between_start_and_stop(
    launcher: str, out_dir: Path
) -> None:
    pcap = out_dir / "live.pcap"  # the capture process writes as the user it drops to
    items: list[SourceItem] = []
    lock = threading.Lock()

    def emit(item: SourceItem) -> None:
        with lock:
            items.append(item)

    def seen(count: int) -> bool:
        with lock:
            return sum(r.packets for i in items if isinstance(i, FlowBatch)
                       for r in i.records if r.dport == PORT) >= count  # fmt: skip

    def event(text: str) -> NetEvent | None:
        with lock:
            return next((i for i in items if isinstance(i, NetEvent) and text in i.message),
                        None)  # fmt: skip

    with veth_pair() as pair:
        source = CaptureSource(CaptureOptions(
            interfaces=(pair.if_a,), helper=("ip", "netns", "exec", pair.ns_a),
            launcher=launcher, interval=0.3,
        ))  # fmt: skip
        source.start(emit)
        try:
            wait_until(source.attached.is_set, 30, "the capture never attached")
            # A directory that is not there: one error event, nothing written, still capturing.
            assert source.write_pcap("/nonexistent-netop-dir/x.pcap")
            failed = wait_until(lambda: event("pcap not written"), 15, "no error event")
            assert failed.severity == Severity.ERROR
            assert source.pcap_status() is None
            # Before: counted (so out of the rings) before writing starts.
            _send(pair, "before", 3)
            wait_until(lambda: seen(3), 15, "the first datagrams were not captured")
            assert source.write_pcap(str(pcap))
            status = source.pcap_status()
            assert status is not None  # shown at once, pending
            assert status.path == str(pcap)
            wait_until(lambda: (s := source.pcap_status()) is not None and not s.pending, 15,
                       "the capture process never said it writes")  # fmt: skip
            _send(pair, "during", 5)
            wait_until(lambda: seen(8), 15, "the marked datagrams were not captured")
            assert source.write_pcap(None)
            assert source.pcap_status() is None
            wait_until(lambda: event("closed"), 15, "the file was never closed")
            _send(pair, "after", 3)
            wait_until(lambda: seen(11), 15, "the last datagrams were not captured")
        finally:
            source.stop()
    assert stat.S_IMODE(os.stat(pcap).st_mode) == 0o600
    assert _markers(pcap) == [f"during-{i}" for i in range(5)]
    closed = event("closed")
    assert closed is not None
    assert str(pcap) in closed.message


