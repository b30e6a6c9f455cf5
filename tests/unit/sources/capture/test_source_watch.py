"""CaptureSource.watch_flow over a played-back file: the flow's packets in FlowBatch.watched."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from netop.model import FlowBatch
from netop.sources.base import SourceItem
from netop.sources.capture.options import CaptureOptions
from netop.sources.capture.source import CaptureSource

C, S = "10.0.0.1", "10.0.0.2"
T0 = 1_700_000_000.0
FLOW = (6, C, 40000, S, 80, None)


def _pcap(tmp_path: Path) -> tuple[Path, list[tuple[bytes, bool, int]]]:
    """A 3-second file: a TCP handshake and data, with unrelated UDP in between."""
    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    plan = [(0.0, True, "S"), (0.02, False, "SA"), (0.021, True, "A")]
    plan += [(0.5 + i * 0.25, i % 2 == 0, "PA") for i in range(10)]
    pkts = []
    ours: list[tuple[bytes, bool, int]] = []
    for n, (dt, client, flags) in enumerate(plan):
        a, b, sp, dp = (C, S, 40000, 80) if client else (S, C, 80, 40000)
        p = eth / IP(src=a, dst=b) / TCP(sport=sp, dport=dp, flags=flags) / (b"%d" % n * 300)
        p.time = T0 + dt
        other = eth / IP(src=C, dst="10.0.0.9") / UDP(sport=5353, dport=53)
        other.time = T0 + dt + 0.001
        pkts += [p, other]
        ours.append((bytes(p)[:256], not client, len(p)))
    path = tmp_path / "watch.pcap"
    wrpcap(str(path), pkts)
    return path, ours


def _run(source: CaptureSource, on_batch: object = None) -> list[FlowBatch]:
    batches: list[FlowBatch] = []
    lock = threading.Lock()

    def emit(item: SourceItem) -> None:
        if isinstance(item, FlowBatch):
            with lock:
                batches.append(item)
            if callable(on_batch):
                on_batch(len(batches))

    source.start(emit)
    deadline = time.monotonic() + 10
    while source.alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    source.stop()
    return batches


def test_watched_flow_packets_bytes_directions_and_rtt(tmp_path: Path) -> None:
    path, ours = _pcap(tmp_path)
    source = CaptureSource(CaptureOptions(read=str(path), speed=None, interval=0.5))
    source.watch_flow(FLOW)
    batches = _run(source)
    assert len(batches) >= 4
    assert all(b.watched is not None for b in batches)
    # From a file each batch has the flow's packets so far (all of them: fewer than 50).
    last = batches[-1].watched
    assert last is not None
    got = last.packets
    assert [(p.data, p.reverse, p.wirelen) for p in got] == ours
    assert last.total == len(ours)
    assert all(len(p.data) == 256 for p in got)
    assert last.flow == FLOW
    assert last.syn_rtt is not None
    assert abs(last.syn_rtt - 0.02) < 1e-5
    assert last.handshake_rtt is not None
    assert abs(last.handshake_rtt - 0.021) < 1e-5


def test_watch_started_mid_playback_begins_with_the_file_and_stops(tmp_path: Path) -> None:
    path, ours = _pcap(tmp_path)
    source = CaptureSource(CaptureOptions(read=str(path), speed=None, interval=0.5))

    def on_batch(n: int) -> None:  # on the playback thread: fine, watch_flow is thread-safe
        if n == 2:
            source.watch_flow(FLOW)
        elif n == 4:
            source.watch_flow(None)

    batches = _run(source, on_batch)
    assert [b.watched is not None for b in batches[:5]] == [False, False, True, True, False]
    first = batches[2].watched
    assert first is not None
    # The batches before the request went by unwatched; their packets are read again.
    assert [(p.data, p.reverse, p.wirelen) for p in first.packets] == ours[: len(first.packets)]
    assert len(first.packets) >= 3
    assert first.handshake_rtt is not None


def _watch_after_end(source: CaptureSource, flow: object) -> FlowBatch:
    """Play to the end, then watch ``flow``: the batch that answers (bounded wait)."""
    answers: list[FlowBatch] = []
    ended = threading.Event()

    def emit(item: SourceItem) -> None:
        if isinstance(item, FlowBatch) and ended.is_set() and item.watched is not None:
            answers.append(item)

    source.start(emit)
    deadline = time.monotonic() + 10
    while source.alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not source.alive()
    ended.set()
    source.watch_flow(flow)  # type: ignore[arg-type]
    while not answers and time.monotonic() < deadline:
        time.sleep(0.02)
    source.stop()
    assert answers, "no packets for a flow watched after the end of the file"
    return answers[0]


def test_watch_after_the_end_of_the_file_reads_the_flow_from_the_file(tmp_path: Path) -> None:
    path, ours = _pcap(tmp_path)
    source = CaptureSource(CaptureOptions(read=str(path), speed=None, interval=0.5))
    watched = _watch_after_end(source, FLOW).watched
    assert watched is not None
    assert [(p.data, p.reverse, p.wirelen) for p in watched.packets] == ours
    assert watched.total == len(ours)
    assert watched.syn_rtt is not None
    assert abs(watched.syn_rtt - 0.02) < 1e-5


def test_a_long_flow_from_a_file_gives_its_first_and_last_packets(tmp_path: Path) -> None:
    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    pkts = []
    for i in range(1000):
        p = eth / IP(src=C, dst=S) / UDP(sport=7000, dport=9) / (b"%d" % i)
        p.time = T0 + i * 0.01
        pkts.append(p)
    path = tmp_path / "long.pcap"
    wrpcap(str(path), pkts)
    source = CaptureSource(CaptureOptions(read=str(path), speed=None))
    watched = _watch_after_end(source, (17, C, 7000, S, 9, None)).watched
    assert watched is not None
    assert watched.total == 1000
    want = [bytes(p) for p in pkts[:25] + pkts[-25:]]
    assert [p.data for p in watched.packets] == want
