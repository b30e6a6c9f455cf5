"""The detail screen of a flow from a played file: its packets and file-time ages.

A real engine over a real capture file (``../shared``), the app's ticker replaced by
the test's own ticks so that the end of the file is reached before keys are pressed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from rich.console import Console

from netop.capture.options import CaptureOptions
from netop.capture.source import CaptureSource
from netop.config import Config
from netop.engine.engine import Engine
from netop.ui.app import NetopApp
from netop.ui.detail import FlowDetailScreen
from netop.ui.panes.flows import FlowsPane

TRAFFIC = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pcap" / "traffic"
pytestmark = pytest.mark.skipif(not TRAFFIC.is_dir(), reason="../shared/data is absent")


def _text(screen: FlowDetailScreen, widget: str) -> str:
    console = Console(width=200, color_system=None)
    with console.capture() as out:
        console.print(screen.query_one(widget).content)  # type: ignore[attr-defined]
    return out.get()


async def test_detail_after_the_end_of_a_file_lists_the_flows_packets() -> None:
    source = CaptureSource(CaptureOptions(read=str(TRAFFIC / "pcpp_three_http_streams.pcap"),
                                          speed=None))  # fmt: skip
    config = Config()
    engine = Engine(config, [source], hostname="testhost")
    app = NetopApp(engine, config, run_engine=False)
    async with app.run_test(size=(120, 50)) as pilot:
        engine.start()
        deadline = time.monotonic() + 20
        while source.alive() and time.monotonic() < deadline:
            app.apply_snapshot(engine.tick())
            await pilot.pause(0.02)
        assert not source.alive()
        app.apply_snapshot(engine.tick())
        await pilot.press("tab", "tab")  # Interfaces → Counters → Flows
        pane = app.query_one(FlowsPane)
        assert app.focused is pane
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, FlowDetailScreen)
        record = screen.row.record
        # Ages are file time from the first frame on: the file ended a tick ago at most.
        assert "ago)" in _text(screen, "#record")
        seen = _text(screen, "#record")
        assert "(0s ago)" in seen or "(1s ago)" in seen, seen
        total = record.packets + record.packets_rev
        packets = ""
        while time.monotonic() < deadline:
            app.apply_snapshot(engine.tick())
            await pilot.pause(0.05)
            packets = _text(screen, "#packets")
            if "bytes on the wire" in packets:
                break
        assert packets.count("bytes on the wire") == min(total, 50), packets
        assert f"{total} packets" in packets
        engine.stop()
