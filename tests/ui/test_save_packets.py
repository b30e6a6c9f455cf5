"""``w`` in a flow's detail saves the packets it holds to a pcap file (mode 0600) that
tshark reads back."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from netop.config import Config
from netop.engine.engine import Engine
from netop.sources.capture.options import CaptureOptions
from netop.sources.capture.source import CaptureSource
from netop.ui.app import NetopApp
from netop.ui.detail import FlowDetailScreen
from netop.ui.panes.flows import FlowsPane

TRAFFIC = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pcap" / "traffic"


async def _open_detail_and_press_w() -> int:
    """Play the file, open its flow's detail, press w: the flow's packet count."""
    source = CaptureSource(CaptureOptions(read=str(TRAFFIC / "pcpp_one_tcp_stream.pcap"),
                                          speed=None))  # fmt: skip
    config = Config()
    engine = Engine(config, [source], hostname="testhost")
    app = NetopApp(engine, config, run_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        engine.start()
        deadline = time.monotonic() + 20
        while source.alive() and time.monotonic() < deadline:
            app.apply_snapshot(engine.tick())
            await pilot.pause(0.02)
        app.apply_snapshot(engine.tick())
        await pilot.press("tab", "tab")
        assert app.focused is app.query_one(FlowsPane)
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, FlowDetailScreen)
        total = screen.row.record.packets + screen.row.record.packets_rev
        while time.monotonic() < deadline and screen.packets is None:
            app.apply_snapshot(engine.tick())
            await pilot.pause(0.05)
        await pilot.press("w")
        await pilot.pause()
        engine.stop()
    return total


@pytest.mark.skipif(not TRAFFIC.is_dir(), reason="../shared/data is absent")
@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_w_saves_the_flows_packets_to_a_private_pcap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    total = asyncio.run(_open_detail_and_press_w())
    (saved,) = list(tmp_path.glob("netop-*.pcap"))
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    done = subprocess.run(["tshark", "-r", str(saved), "-T", "fields", "-e", "tcp.srcport"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.split()) == total == 36
