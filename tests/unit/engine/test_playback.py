"""The engine over a capture file played back: file time everywhere, every flow kept."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from netop.config import Config
from netop.engine.engine import Engine, read_into_table
from netop.engine.flowtable import FlowTable
from netop.model import Snapshot
from netop.sources.capture.options import CaptureOptions
from netop.sources.capture.source import CaptureSource

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "pcap" / "traffic"


def _play(path: Path, timeout: float = 20.0) -> tuple[Engine, Snapshot]:
    """Play ``path`` at full speed through a real engine; the snapshot after its end."""
    source = CaptureSource(CaptureOptions(read=str(path), speed=None))
    engine = Engine(Config(), [source], hostname="test")
    engine.start()
    try:
        deadline = time.monotonic() + timeout
        engine.tick()
        while source.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
            engine.tick()
        assert not source.alive(), "playback did not end"
        return engine, engine.tick()
    finally:
        engine.stop()


def test_flow_times_are_file_times_even_for_a_recent_file(tmp_path: Path) -> None:
    # Recorded 40 s ago: close enough to the wall clock that guessing "is this a replay?"
    # from the skew fails. One flow for 2 s, the other for 1 s, 6 s of file in all.
    start = time.time() - 40.0
    packets = []
    for i in range(9):
        p = Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000, dport=53)
        p.time = start + i * 0.25
        packets.append(p)
    late = Ether() / IP(src="10.0.0.3", dst="10.0.0.2") / UDP(sport=1001, dport=53)
    late.time = start + 6.0
    packets.append(late)
    path = tmp_path / "recent.pcap"
    wrpcap(str(path), packets)
    _engine, snap = _play(path)
    assert snap.flows.now == pytest.approx(start + 6.0, abs=1.0)
    ages = sorted(snap.flows.now - row.record.first for row in snap.flows.rows)
    assert ages == [pytest.approx(0.0, abs=1.0), pytest.approx(6.0, abs=1.0)]


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
def test_the_end_of_a_file_shows_every_flow_of_the_file() -> None:
    path = SHARED / "pcpp_dnspackets.pcap"
    table = FlowTable(keep_expired=True)
    read_into_table(str(path), table)
    expected = len(table.drain_expired() + table.records())
    assert expected > 100  # DNS lookups spread over minutes: most idle out on file time
    engine, snap = _play(path)
    assert snap.flows.total_flows == expected
    states = [f.entry.state for f in engine._flow_view._all]  # every flow the view holds
    assert states.count("ended") >= expected - 10
