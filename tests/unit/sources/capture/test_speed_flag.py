"""``netop -r FILE --speed 4`` plays the file (issue 11: a colleague saw 0 packets read
in the TUI at --speed 4 while ``+`` during playback worked): the TUI's own wiring, from
the command line to the engine's flows, without the screen."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from netop.cli import build_parser
from netop.commands.pipeline import build_engine, build_sources
from netop.config import load_config
from netop.engine.playback import FilePlayback
from netop.sources.capture.source import CaptureSource

T = 1_700_000_000.0


@pytest.mark.parametrize("speed", ["1", "4", "max"])
def test_speed_flag_plays_every_packet_into_the_flows(tmp_path: Path, speed: str) -> None:
    path = tmp_path / "six.pcap"
    frames = []
    for i in range(24):  # 6 s, 4 flows
        p = Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000 + i % 4, dport=53)
        p.time = T + i * 0.25
        frames.append(p)
    wrpcap(str(path), frames)
    argv = ["-r", str(path), "--speed", speed, "--interval", "0.5"]
    args = build_parser().parse_args(argv)
    config = load_config(None, overrides=args)
    sources = build_sources(args, config, ("capture",))
    capture = next(s for s in sources if isinstance(s, CaptureSource))
    assert capture.steering is not None
    playback = FilePlayback(capture.steering)
    engine = build_engine(args, config, sources)
    engine.start()
    try:
        deadline = time.monotonic() + 30  # bounded: 6 s of file at 1x, with room
        # Polled until the reader says it reached the end (a flag, not a guessed time).
        snapshot = engine.tick()
        while not playback.state().ended and time.monotonic() < deadline:
            time.sleep(0.1)
            snapshot = engine.tick()
        snapshot = engine.tick()
    finally:
        engine.stop()
    state = playback.state()
    assert state.ended
    assert capture.steering.packets == 24
    assert state.fraction == 1.0
    flows = snapshot.flows
    assert flows is not None
    assert flows.total_flows == 4
