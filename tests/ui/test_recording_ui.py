"""What the TUI shows of the recording it writes to (``netop --record F``): an indicator
in the header, and the Interfaces pane's ETA column once the file gives a trend."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bench.record_gen import T0 as GEN_T0
from bench.record_gen import Scenario, generate, linear_level
from netop.config import Config
from netop.engine.engine import Engine
from netop.model import RecordingStatus
from netop.outputs.record import Recorder, RecordOptions
from netop.ui.app import NetopApp
from netop.ui.header import HeaderBar
from netop.ui.panes.interfaces import InterfacesPane
from tests.scripted import T0, ScriptedSource, demo_ticks
from tests.ui.conftest import make_app

#: Seconds a test waits for the recorder's ETA thread at most.
ETA_WAIT = 30.0


@pytest.mark.parametrize("size", [(80, 24), (200, 60)], ids=["80x24", "200x60"])
def test_recording_indicator_in_the_header(snap_compare: Any, size: tuple[int, int]) -> None:
    """File name, size and dropped ticks first in the header (a narrow terminal still
    shows them); the ETA column beside Link."""
    app, snapshots = make_app()
    status = RecordingStatus("/var/lib/netop/net.db", 12_345_678, 3,
                             eta={("local", "bond0"): "80% 3w", ("local", "eth0"): "90% 5mo"})

    async def feed(pilot: Any) -> None:
        for snapshot in snapshots:
            app.apply_snapshot(replace(snapshot, recording=status))
        await pilot.pause()
        header = str(app.query_one(HeaderBar).render())
        assert "● REC net.db 12.3MB 3 dropped" in header, header

    assert snap_compare(app, terminal_size=size, run_before=feed)


def _recorder_app(path: Path) -> tuple[NetopApp, Engine, Recorder]:
    recorder = Recorder(RecordOptions(str(path)))
    engine = Engine(Config(history_seconds=60), [ScriptedSource(demo_ticks(8))],
                    hostname="testhost", sinks=[recorder])
    engine.start_sinks()
    return NetopApp(engine, Config(history_seconds=60), run_engine=False), engine, recorder


def _wait_for_eta(recorder: Recorder) -> dict[tuple[str, str], str]:
    """The ETAs once the recorder's thread computed them a first time (bounded)."""
    assert recorder.eta_ready.wait(ETA_WAIT)
    return dict(recorder.recording_status().eta)


async def test_eta_column_from_an_8_day_recording(tmp_path: Path) -> None:
    """eth0 grows 50 Mb/s a week from 300 Mb/s on a 1 Gb/s link over 8 days: on the
    last day 35 % and rising 5 %/week, so 70 % in 7 weeks — as ``netop report`` says."""
    path = tmp_path / "week.db"
    generate(str(path), Scenario(interfaces=3, flows=5, level=linear_level(300e6, 50e6)),
             GEN_T0, 8 * 288, 300.0)
    app, engine, recorder = _recorder_app(path)
    try:
        etas = _wait_for_eta(recorder)
        assert etas.get(("local", "eth0")) == "70% 7w", etas
        async with app.run_test(size=(120, 30)) as pilot:
            for t in range(3):
                app.apply_snapshot(engine.tick(now=T0 + t + 0.5))
            await pilot.pause()
            pane = app.query_one(InterfacesPane)
            assert [c.key for c in pane.columns][-1] == "eta"
            eth0 = next(r for r in pane.rows if r.key == "local\0eth0")
            assert "70% 7w" in [str(c) for c in eth0.cells]
            header = str(app.query_one(HeaderBar).render())
            assert "● REC week.db" in header, header
    finally:
        engine.close_sinks()


async def test_no_eta_column_on_3_days(tmp_path: Path) -> None:
    """Too few days for a trend: no column (as the report refuses to predict)."""
    path = tmp_path / "short.db"
    generate(str(path), Scenario(interfaces=3, flows=5, level=linear_level(300e6, 50e6)),
             GEN_T0, 3 * 288, 300.0)
    app, engine, recorder = _recorder_app(path)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            for t in range(3):
                app.apply_snapshot(engine.tick(now=T0 + t + 0.5))
            await pilot.pause()
            assert _wait_for_eta(recorder) == {}
            app.apply_snapshot(engine.tick(now=T0 + 3.5))
            await pilot.pause()
            pane = app.query_one(InterfacesPane)
            assert "eta" not in [c.key for c in pane.columns]
            assert "● REC short.db" in str(app.query_one(HeaderBar).render())
    finally:
        engine.close_sinks()
