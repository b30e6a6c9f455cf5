"""Issue #17 in the TUI: text that looks like markup, impossible file times, bounds."""

from __future__ import annotations

import time
from pathlib import Path

from netop.config import Config
from netop.engine.engine import Engine
from netop.sources.capture.options import CaptureOptions
from netop.sources.capture.source import CaptureSource
from netop.ui.app import NetopApp
from netop.ui.detail import FlowDetailScreen
from netop.ui.panes.flows import FlowsPane
from tests.pcapgen import udp_frame, write_pcapng_seconds
from tests.ui.conftest import make_app, retick


async def test_a_filter_that_looks_like_markup_is_shown_as_typed() -> None:
    from textual.widgets import Input

    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.apply_snapshot(snapshots[-1])
        await pilot.press("slash")
        await pilot.pause()
        box = app.query_one("#filter-input", Input)
        box.value = 'process "[/x]"'  # valid filter, and a closing tag to Rich
        await pilot.press("enter")
        await pilot.pause()
        assert app.engine.view_spec.filter_text == 'process "[/x]"'
        retick(app)
        await pilot.pause()
        assert app.is_running
        title = app.query_one(FlowsPane).border_title
        assert title is not None
        assert 'filter: process "\\[/x]"' in title, title


async def test_playback_of_a_file_from_beyond_any_clock_ends_and_its_flow_opens(
    tmp_path: Path,
) -> None:
    path = tmp_path / "future.pcapng"
    frame = udp_frame(0x0A000001, 0x0A000002, 5000, 53)
    write_pcapng_seconds(path, [(1_700_000_000, frame), (2**60, frame), (2**62, frame)])
    source = CaptureSource(CaptureOptions(read=str(path), speed=None))
    config = Config()
    engine = Engine(config, [source], hostname="testhost")
    app = NetopApp(engine, config, run_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        engine.start()
        try:
            deadline = time.monotonic() + 10
            while source.alive() and time.monotonic() < deadline:
                app.apply_snapshot(engine.tick())
                await pilot.pause(0.02)
            assert not source.alive(), "playback still running after 10 s"
            snapshot = engine.tick()
            app.apply_snapshot(snapshot)
            assert [r.record.packets for r in snapshot.flows.rows] == [3]
            assert snapshot.flows.losses == "2 impossible timestamps"
            await pilot.pause()
            title = app.query_one(FlowsPane).border_title
            assert title is not None
            assert "2 impossible timestamps" in title, title
            await pilot.press("tab", "tab", "enter")
            await pilot.pause()
            assert isinstance(app.screen, FlowDetailScreen)
            assert app.is_running
        finally:
            engine.stop()
