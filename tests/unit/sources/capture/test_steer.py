"""Steering a capture file: long silences skipped, pause really stops the reader, steps
let one tick through, speed and jumps (issue 11, "Steering a file")."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from netop.engine.playback import FilePlayback, PlaybackState
from netop.sources.capture.offline import paced_ticks
from netop.sources.capture.steer import FileSteering
from netop.ui.header import playback_text

T = 1_700_000_000.0
YEAR = 365 * 86400.0


def _pcap(path: Path, times: list[float]) -> Path:
    packets = []
    for i, t in enumerate(times):
        p = Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000 + i % 2, dport=53)
        p.time = t
        packets.append(p)
    wrpcap(str(path), packets)
    return path


def test_a_year_long_silence_is_skipped_with_a_note_not_waited(tmp_path: Path) -> None:
    path = _pcap(tmp_path / "gap.pcap", [T, T + 0.5, T + 1.5, T + YEAR, T + YEAR + 1])
    waits: list[float] = []
    notes: list[str] = []
    clocks = [clock for clock, _, _ in paced_ticks(
        str(path), 1.0, 1.0, lambda: False, sleep=waits.append, on_gap=notes.append)]
    # At recorded speed the silence would be a year of waiting; here it is skipped.
    assert sum(waits) < 10
    assert notes == ["skipped a silence of 364d 23h"]
    assert clocks[-1] == pytest.approx(T + YEAR + 1)


def test_short_silences_still_play_at_recorded_speed(tmp_path: Path) -> None:
    path = _pcap(tmp_path / "calm.pcap", [T, T + 1.5, T + 3.5, T + 4.2])
    notes: list[str] = []
    ticks = list(paced_ticks(str(path), 1.0, 1.0, lambda: False, sleep=lambda s: None,
                             on_gap=notes.append))
    assert notes == []
    assert len(ticks) == 5  # every second of the file is a tick


def _reader(path: Path, steering: FileSteering, stop: threading.Event) -> list[float]:
    clocks: list[float] = []

    def run() -> None:
        for clock, _, _ in paced_ticks(str(path), 1.0, 1.0, stop.is_set,
                                       sleep=lambda s: stop.wait(min(s, 0.01)),
                                       steering=steering):
            clocks.append(clock)

    threading.Thread(target=run, daemon=True).start()
    return clocks


def _until(what: str, probe: object, seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if callable(probe) and probe():
            return
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def test_pause_holds_the_reader_and_steps_let_one_tick_through(tmp_path: Path) -> None:
    path = _pcap(tmp_path / "steps.pcap", [T + i * 0.5 for i in range(20)])
    steering = FileSteering(1.0, path.stat().st_size)
    steering.toggle_pause()
    stop = threading.Event()
    try:
        clocks = _reader(path, steering, stop)
        _until("the reader to hold", lambda: steering.holding)
        assert clocks == []  # paused before the first tick: nothing read on
        steering.step(1)
        _until("one tick", lambda: len(clocks) == 1 and steering.holding)
        assert clocks == [pytest.approx(T + 1.0)]
        steering.step(2)
        _until("two more ticks", lambda: len(clocks) == 3 and steering.holding)
        steering.step(-1)
        assert "forwards only" in steering.note
        steering.seek(T + 7.2)  # a jump reads on without waiting, and holds there
        _until("the jump", lambda: steering.clock is not None and steering.clock >= T + 7
               and steering.holding)
        assert steering.paused
        assert clocks[-1] == pytest.approx(T + 8.0)
    finally:
        stop.set()


def test_the_file_header_state_shows_file_things(tmp_path: Path) -> None:
    steering = FileSteering(2.0, 1000)
    steering.at(T, 100)
    steering.at(T + 30, 500)
    steering.packets, steering.malformed = 1234, 2
    state = FilePlayback(steering).state()
    assert state.kind == "file"
    assert state.position == T + 30
    assert state.fraction == pytest.approx(0.5)
    assert state.end == pytest.approx(T + 60)  # estimated from the bytes read
    assert state.detail == "1234 packets read, 2 malformed"
    assert state.speed == 2.0


def _played_states(path: Path, speed: float) -> list[PlaybackState]:
    """The header's state after each tick of ``path`` played at ``speed``."""
    steering = FileSteering(speed, path.stat().st_size)
    playback = FilePlayback(steering)
    states = []
    for _ in paced_ticks(str(path), 1.0, speed, lambda: False, sleep=lambda s: None,
                         steering=steering):
        states.append(playback.state())
    return states


@pytest.mark.parametrize("speed", [1.0, 4.0])
def test_position_and_time_left_follow_what_is_played(tmp_path: Path, speed: float) -> None:
    """Issue 11: the bar showed 100 % and -0:00:00 long before the file ended (the end
    guessed from the bytes played, the start taken as the end of the first tick)."""
    path = _pcap(tmp_path / "even.pcap", [T + i * 0.5 for i in range(40)])  # 19.5 s
    states = _played_states(path, speed)
    first = states[0]
    assert first.start == pytest.approx(T, abs=1e-3)
    assert first.end == pytest.approx(T + 19.5, abs=1e-3)
    assert first.position == pytest.approx(T + speed, abs=1e-3)
    assert first.fraction == pytest.approx(speed / 19.5)
    assert first.end - first.position == pytest.approx(19.5 - speed)
    for state in states[:-1]:
        assert state.end == pytest.approx(T + 19.5, abs=1e-3)
        assert state.fraction == pytest.approx((state.position - T) / 19.5)
        assert state.fraction < 1.0
        assert not state.ended
    assert states[-1].fraction == 1.0
    assert states[-1].ended


def test_before_the_first_tick_nothing_is_played(tmp_path: Path) -> None:
    path = _pcap(tmp_path / "even.pcap", [T + i * 0.5 for i in range(41)])
    state = FilePlayback(FileSteering(4.0, path.stat().st_size)).state()
    assert state.fraction == 0.0
    assert "100%" not in playback_text(state)
    assert "01-01" not in playback_text(state)  # no epoch time for "not yet read"
