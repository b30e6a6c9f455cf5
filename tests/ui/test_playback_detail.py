"""The detail screen of a flow from a played file: its packets and file-time ages.

A real engine over a real capture file (``../shared``), the app's ticker replaced by
the test's own ticks so that the end of the file is reached before keys are pressed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from rich.console import Console
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from netop.config import Config
from netop.engine.engine import Engine
from netop.sources.capture.options import CaptureOptions
from netop.sources.capture.source import CaptureSource
from netop.ui.app import NetopApp
from netop.ui.detail import FlowDetailScreen
from netop.ui.panes.flows import FlowsPane

TRAFFIC = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pcap" / "traffic"


def _text(screen: FlowDetailScreen, widget: str) -> str:
    console = Console(width=200, color_system=None)
    with console.capture() as out:
        console.print(screen.query_one(widget).content)  # type: ignore[attr-defined]
    return out.get()


async def _packets_after_end(path: Path, size: tuple[int, int] = (120, 50)) -> tuple[str, str, int]:
    """Play ``path`` to its end, open the first flow: (record text, packets text, total)."""
    source = CaptureSource(CaptureOptions(read=str(path), speed=None))
    config = Config()
    engine = Engine(config, [source], hostname="testhost")
    app = NetopApp(engine, config, run_engine=False)
    async with app.run_test(size=size) as pilot:
        engine.start()
        deadline = time.monotonic() + 20
        while source.alive() and time.monotonic() < deadline:
            app.apply_snapshot(engine.tick())
            await pilot.pause(0.02)
        assert not source.alive()
        app.apply_snapshot(engine.tick())
        await pilot.press("tab", "tab")  # Interfaces → Counters → Flows
        assert app.focused is app.query_one(FlowsPane)
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, FlowDetailScreen)
        record_text = _text(screen, "#record")  # the first frame, before any new tick
        record = screen.row.record
        packets = ""
        while time.monotonic() < deadline:
            app.apply_snapshot(engine.tick())
            await pilot.pause(0.05)
            packets = _text(screen, "#packets")
            if "bytes on the wire" in packets:
                break
        engine.stop()
    return record_text, packets, record.packets + record.packets_rev


@pytest.mark.skipif(not TRAFFIC.is_dir(), reason="../shared/data is absent")
async def test_detail_after_the_end_of_a_file_lists_the_flows_packets() -> None:
    seen, packets, total = await _packets_after_end(TRAFFIC / "pcpp_three_http_streams.pcap")
    # Ages are file time from the first frame on: the file ended a tick ago at most.
    assert "(0s ago)" in seen or "(1s ago)" in seen, seen
    assert packets.count("bytes on the wire") == total, packets
    assert packets.startswith(f"{total} packets\n")


async def test_a_long_flow_shows_its_first_and_last_packets_and_the_gap(tmp_path: Path) -> None:
    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    frames = []
    for i in range(120):
        p = eth / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=7000, dport=9) / (b"%d" % i)
        p.time = 1_700_000_000 + i * 0.01
        frames.append(p)
    path = tmp_path / "long.pcap"
    wrpcap(str(path), frames)
    _seen, packets, total = await _packets_after_end(path)
    assert total == 120
    assert packets.startswith("120 packets; the first 25 and the last 25 shown\n")
    assert packets.count("bytes on the wire") == 50
    newest, gap, oldest = packets.partition("… 70 packets not shown …")
    assert gap
    assert newest.count("bytes on the wire") == oldest.count("bytes on the wire") == 25
