"""CaptureSource playing a file: one FlowBatch per tick, status lines, pacing, errors."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from netop.model import FlowBatch, NetEvent, Severity, SourceStatus
from netop.sources.base import SourceItem
from netop.sources.capture.options import CaptureOptions
from netop.sources.capture.source import CaptureSource


def _file(tmp_path: Path, seconds: int) -> Path:
    pkts = []
    for i in range(seconds * 4):  # 4 packets a second of recorded time
        p = Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000 + i % 2, dport=53)
        p.time = 1_700_000_000 + i * 0.25
        pkts.append(p)
    path = tmp_path / "play.pcap"
    wrpcap(str(path), pkts)
    return path


def _collect(source: CaptureSource, timeout: float) -> list[SourceItem]:
    items: list[SourceItem] = []
    lock = threading.Lock()

    def emit(item: SourceItem) -> None:
        with lock:
            items.append(item)

    source.start(emit)
    deadline = time.monotonic() + timeout
    while source.alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    source.stop()
    return items


def test_playback_at_max_speed_emits_every_packet_tick_by_tick(tmp_path: Path) -> None:
    path = _file(tmp_path, 5)
    items = _collect(CaptureSource(CaptureOptions(read=str(path), speed=None)), 10)
    batches = [i for i in items if isinstance(i, FlowBatch)]
    assert len(batches) >= 5
    assert sum(r.packets for b in batches for r in b.records) == 20
    assert all(b.source == "capture" for b in batches)
    status = [i for i in items if isinstance(i, SourceStatus)]
    assert status
    assert status[-1].summary.startswith("play.pcap: ")
    assert any(isinstance(i, NetEvent) and "end of play.pcap" in i.message for i in items)


def test_recorded_speed_is_paced(tmp_path: Path) -> None:
    path = _file(tmp_path, 2)
    start = time.monotonic()
    _collect(CaptureSource(CaptureOptions(read=str(path), speed=4.0, interval=0.25)), 10)
    assert 0.3 < time.monotonic() - start < 3.0  # 2 s of traffic at 4x = 0.5 s


def test_damaged_file_ends_with_an_error_event(tmp_path: Path) -> None:
    path = _file(tmp_path, 2)
    path.write_bytes(path.read_bytes()[:-5])
    items = _collect(CaptureSource(CaptureOptions(read=str(path), speed=None)), 10)
    errors = [i for i in items if isinstance(i, NetEvent) and i.severity == Severity.ERROR]
    assert len(errors) == 1
    assert "middle of a packet" in errors[0].message
    assert sum(r.packets for i in items if isinstance(i, FlowBatch) for r in i.records) == 7


def test_playback_applies_the_filter(tmp_path: Path) -> None:
    path = _file(tmp_path, 2)
    opts = CaptureOptions(read=str(path), speed=None, filter="udp src port 1000")
    items = _collect(CaptureSource(opts), 10)
    records = [r for i in items if isinstance(i, FlowBatch) for r in i.records]
    assert {r.sport for r in records} == {1000}
    assert sum(r.packets for r in records) == 4


def test_a_dying_capture_process_is_reported_with_its_last_words() -> None:
    # The helper prefix stands in for a child that crashes before saying anything.
    opts = CaptureOptions(interfaces=("lo",), helper=("sh", "-c", "echo boom >&2; exit 5", "sh"))
    items = _collect(CaptureSource(opts), 10)
    errors = [i for i in items if isinstance(i, NetEvent) and i.severity == Severity.ERROR]
    assert [e.message for e in errors] == ["capture process ended: boom"]


def test_a_child_that_never_reads_its_config_stops_cleanly() -> None:
    """Its config stays in stdin's buffer; closing the pipe must not raise BrokenPipe
    (it did in about one stop in three: whenever the child was gone before the write)."""
    for _ in range(10):
        opts = CaptureOptions(
            interfaces=("lo",), helper=("sh", "-c", "exec 0<&-; echo boom >&2; exit 5", "sh")
        )
        items = _collect(CaptureSource(opts), 10)  # stops the source at the end
        errors = [i.message for i in items if isinstance(i, NetEvent)]
        assert "capture process ended: boom" in errors
