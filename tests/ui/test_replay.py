"""``netop replay``: a recording through the same app, steered by the playback keys.

The recording is made by netop's recorder from a real engine fed by scripted sources;
the app reads it through the recording's player, exactly as ``netop replay`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from netop.engine.player import RecordingPlayer
from netop.outputs.record import RecordOptions, RecordWriter, open_writer
from netop.ui.app import NetopApp
from netop.ui.gotobar import GotoBar
from tests.scripted import T0
from tests.ui.conftest import make_app, screen_text

TICKS = 40


def recorded(tmp_path: Path) -> Path:
    """A 40-tick recording of the UI tests' demo network."""
    _, snapshots = make_app(ticks=TICKS)
    path = tmp_path / "demo.db"
    db = open_writer(str(path))
    writer = RecordWriter(db, RecordOptions(str(path)))
    for snapshot in snapshots:
        writer.write(snapshot)
    writer.flush()
    db.close()
    return path


def replay_app(tmp_path: Path) -> tuple[NetopApp, RecordingPlayer]:
    player = RecordingPlayer(str(recorded(tmp_path)), make_app(ticks=1)[0].config)
    return NetopApp(player, player.config, run_engine=False, playback=player), player


def header_text(app: NetopApp) -> str:
    from netop.ui.header import HeaderBar

    return str(app.query_one(HeaderBar).render())


async def test_steps_speed_and_pause_steer_the_recording(tmp_path: Path) -> None:
    app, player = replay_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        app.apply_snapshot(player.current())
        await pilot.pause()
        assert "▶ 01-01 00:00:00" in header_text(app)
        await pilot.press("right_square_bracket", "right_square_bracket")
        await pilot.pause()
        assert app.shown is not None
        assert app.shown.ts == pytest.approx(T0 + 2.5)
        assert player.state().paused
        assert "|| 01-01 00:00:02" in header_text(app)
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert app.shown.ts == pytest.approx(T0 + 1.5)
        await pilot.press("plus", "plus")
        await pilot.pause()
        assert player.speed == 4.0
        assert "×4" in header_text(app)
        await pilot.press("minus")
        await pilot.pause()
        assert "×2" in header_text(app)
        await pilot.press("space")  # resumes the playing, not just the display
        await pilot.pause()
        assert not player.state().paused
        assert "PAUSED" not in header_text(app)
        before = player.state().position
        app.apply_snapshot(player.tick())  # what the app's ticker does each interval
        await pilot.pause()
        assert player.state().position == pytest.approx(before + 2)  # 2 ticks at ×2


async def test_g_goes_to_a_percentage_a_time_and_refuses_nonsense(tmp_path: Path) -> None:
    app, player = replay_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        app.apply_snapshot(player.current())
        await pilot.press("g")
        await pilot.press(*"50%", "enter")
        await pilot.pause()
        assert app.shown is not None
        assert app.shown.ts == pytest.approx(T0 + 20.5)
        await pilot.press("g")
        await pilot.press(*"00:00:30", "enter")
        await pilot.pause()
        assert app.shown.ts == pytest.approx(T0 + 30.5)
        await pilot.press("g")
        await pilot.press(*"-10s", "enter")
        await pilot.pause()
        assert app.shown.ts == pytest.approx(T0 + 20.5)
        await pilot.press("g")
        await pilot.press(*"soon", "enter")
        await pilot.pause()
        bar = app.query_one(GotoBar)
        assert bar.has_class("-open")  # stays open with the reason
        assert "go to 14:32" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert not bar.has_class("-open")
        assert app.shown.ts == pytest.approx(T0 + 20.5)


async def test_filter_sort_and_grouping_work_in_replay_at_once(tmp_path: Path) -> None:
    app, player = replay_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        player.seek(T0 + 20)
        app.apply_snapshot(player.current())
        await pilot.pause()
        assert len(app.shown.flows.rows) == 7  # type: ignore[union-attr]
        await pilot.press("slash", *"port 22", "enter")
        await pilot.pause()
        rows = app.shown.flows.rows  # type: ignore[union-attr]
        assert [r.record.dport for r in rows] == [22]
        await pilot.press("slash", *["backspace"] * 7, "enter")
        await pilot.press("a")  # remote host
        await pilot.pause()
        rows = app.shown.flows.rows  # type: ignore[union-attr]
        labels = {r.label for r in rows}
        assert "cdn.example.net (192.0.2.10)" in labels
        assert "203.0.113.9" in labels  # the client of the local web server
        assert "10.1.0.1" not in labels
        cdn = next(r for r in rows if r.label == "cdn.example.net (192.0.2.10)")
        assert cdn.flows == 2
        assert "cdn.example.net (192.0.2.10)" in screen_text(app)


async def test_the_playback_keys_are_not_offered_live() -> None:
    app, snaps = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        app.apply_snapshot(snaps[-1])
        await pilot.pause()
        text = screen_text(app)
        assert "Go to" not in text
        assert "Slower" not in text
        shown = app.shown
        await pilot.press("right_square_bracket", "g")
        await pilot.pause()
        assert app.shown is shown
        assert not app.query_one(GotoBar).has_class("-open")


@pytest.mark.parametrize("size", [(80, 24), (200, 60)], ids=["80x24", "200x60"])
def test_replay_screen(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app, player = replay_app(tmp_path)

    async def steer(pilot: Any) -> None:
        player.seek(T0 + 30)
        await pilot.press("right_square_bracket", "plus")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=steer)
