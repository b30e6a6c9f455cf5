"""The ``W`` key: a prompt prefilled with a fresh pcap name, the request handed to the
live capture, ``● PCAP name size`` in the header while it writes, ``W`` again stops;
a name that cannot be written stays in the prompt with the reason; in playback it says
it is for live capture."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from netop.config import Config
from netop.engine.engine import Engine
from netop.engine.playback import FilePlayback
from netop.model import PcapStatus
from netop.sources.base import Source, SourceItem
from netop.sources.capture.steer import FileSteering
from netop.ui.app import NetopApp
from netop.ui.header import HeaderBar
from netop.ui.pcapbar import PcapBar
from tests.scripted import T0, ScriptedSource, demo_ticks


class LiveCapture(Source):
    """Stands in for the capture's control side: keeps what it was asked, and says it
    writes (with ``size`` bytes) once asked."""

    name = "capture"

    def __init__(self) -> None:
        self.asked: list[str | None] = []
        self.size = 0

    def poll(self, now: float) -> Iterable[SourceItem]:
        return ()

    def write_pcap(self, path: str | None) -> bool:
        self.asked.append(path)
        return True

    def pcap_status(self) -> PcapStatus | None:
        path = self.asked[-1] if self.asked else None
        return None if path is None else PcapStatus(path, self.size)


def _app() -> tuple[NetopApp, Engine, LiveCapture]:
    live = LiveCapture()
    config = Config(history_seconds=60)
    engine = Engine(config, [ScriptedSource(demo_ticks(12)), live], hostname="testhost")
    return NetopApp(engine, config, run_engine=False), engine, live


def _header(app: NetopApp) -> str:
    return str(app.query_one(HeaderBar).render())


def _notes(app: NetopApp) -> str:
    return " ".join(str(n.message) for n in app._notifications)


async def test_w_starts_and_stops_writing(tmp_path: Path) -> None:
    app, engine, live = _app()
    async with app.run_test(size=(120, 30)) as pilot:
        app.apply_snapshot(engine.tick(now=T0 + 0.5))
        await pilot.press("W")
        bar = app.query_one(PcapBar)
        assert bar.has_class("-open")
        field = bar.query_one("#pcap-input")
        assert re.fullmatch(r"netop-\d{8}-\d{6}\.pcap", field.value), field.value  # type: ignore[attr-defined]
        field.value = str(tmp_path / "cap.pcap")  # type: ignore[attr-defined]
        await pilot.press("enter")
        assert live.asked == [str(tmp_path / "cap.pcap")]
        assert not bar.has_class("-open")
        live.size = 2048
        app.apply_snapshot(engine.tick(now=T0 + 1.5))
        await pilot.pause()
        assert "● PCAP cap.pcap 2.05kB" in _header(app), _header(app)
        await pilot.press("W")  # stop: no prompt
        assert live.asked[-1] is None
        assert not bar.has_class("-open")
        app.apply_snapshot(engine.tick(now=T0 + 2.5))
        await pilot.pause()
        assert "PCAP" not in _header(app)


async def test_a_name_that_cannot_be_written_stays_with_the_reason(tmp_path: Path) -> None:
    app, engine, live = _app()
    (tmp_path / "old.pcap").write_bytes(b"")
    async with app.run_test(size=(120, 30)) as pilot:
        app.apply_snapshot(engine.tick(now=T0 + 0.5))
        for name, reason in [(str(tmp_path / "no" / "x.pcap"), "no such directory"),
                             (str(tmp_path / "old.pcap"), "exists"),
                             (str(tmp_path), "is a directory"),
                             ("  ", "type a file name")]:
            await pilot.press("W")
            bar = app.query_one(PcapBar)
            bar.query_one("#pcap-input").value = name  # type: ignore[attr-defined]
            await pilot.press("enter")
            assert bar.has_class("-open")
            verdict = str(bar.query_one("#pcap-verdict").render())
            assert reason in verdict, verdict
            await pilot.press("escape")
            assert not bar.has_class("-open")
        assert live.asked == []


async def test_w_in_playback_says_it_is_for_live_capture() -> None:
    app, engine, live = _app()
    app.playback = FilePlayback(FileSteering(1.0, 1000))  # as netop -r FILE has
    async with app.run_test(size=(120, 30)) as pilot:
        app.apply_snapshot(engine.tick(now=T0 + 0.5))
        await pilot.press("W")
        await pilot.pause()
        assert not app.query_one(PcapBar).has_class("-open")
        assert "live capture" in _notes(app), _notes(app)
        assert live.asked == []


@pytest.mark.parametrize("size", [(80, 24), (200, 60)], ids=["80x24", "200x60"])
def test_pcap_prompt_and_indicator(snap_compare: Any, size: tuple[int, int]) -> None:
    """80x24: the prompt open (with a fixed name); 200x60: the header while writing."""
    app, engine, live = _app()

    async def feed(pilot: Any) -> None:
        for t in range(8):
            app.apply_snapshot(engine.tick(now=T0 + t + 0.5))
        if size == (80, 24):
            await pilot.press("W")
            app.query_one(PcapBar).query_one("#pcap-input").value = "capture.pcap"  # type: ignore[attr-defined]
        else:
            live.asked.append("/var/tmp/capture.pcap")
            live.size = 12_345_678
            app.apply_snapshot(engine.tick(now=T0 + 8.5))
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=feed)
