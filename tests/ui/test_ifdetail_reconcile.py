"""The interface detail's reconciliation: the kernel's counts since the screen opened
beside an SNMP agent's for the interface of the same name, the difference in % and the
reason (the agent's cached counters lag)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from netop.config import Config
from netop.engine.engine import Engine
from netop.model import InterfaceSample
from netop.ui.app import NetopApp
from netop.ui.ifdetail import InterfaceDetailScreen
from netop.ui.panes.interfaces import InterfacesPane
from tests.scripted import T0, ScriptedSource, sample
from tests.ui.conftest import screen_text

#: Not an interface of this host: the NIC sections stay the same on every machine.
NAME = "uplink9"


def ticks(count: int = 60) -> list[list[InterfaceSample]]:
    """A local interface at 1 MB/s in, 250 kB/s out; the agent of the same device
    refreshing its counters only every 3 s (net-snmp's cache): the SNMP tracker passes a
    reading on only when they changed."""
    out = []
    for t in range(count):
        local = sample(NAME, t, 1_000_000 * t, 250_000 * t)
        snmp = [replace(local, origin="snmp:sw1", max_gap=5.0)] if t % 3 == 0 else []
        out.append([local, *snmp])
    return out


def make_app() -> NetopApp:
    config = Config(history_seconds=60)
    engine = Engine(config, [ScriptedSource(ticks())], hostname="testhost")
    for t in range(30):
        engine.tick(now=T0 + t + 0.5)
    return NetopApp(engine, config, run_engine=False)


async def _open(app: NetopApp, pilot: Any) -> None:
    app.apply_snapshot(app.engine.tick(now=T0 + 30.5))
    pane = app.query_one(InterfacesPane)
    pane.focus()
    pane.cursor_key = f"local\0{NAME}"
    await pilot.press("enter")
    await pilot.pause()
    for t in range(31, 39):  # the screen's start at 31; the agent last refreshed at 36
        app.apply_snapshot(app.engine.tick(now=T0 + t + 0.5))
    await pilot.pause()


async def test_kernel_and_snmp_side_by_side_with_the_caching_reason() -> None:
    app = make_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await _open(app, pilot)
        assert isinstance(app.screen, InterfaceDetailScreen)
        text = screen_text(app)
        assert "Do the numbers agree?" in text
        assert "kernel 8.75MB" in text  # 7 s × 1.25 MB/s since the screen opened
        assert "snmp:sw1 uplink9: 7.50MB (-14.29 %)" in text  # its counters of 30 and 36
        assert "last SNMP reading is 2.5 s old (agent counter caching)" in text


async def test_no_agent_for_the_name_says_so() -> None:
    app, _ = __import__("tests.ui.conftest", fromlist=["make_app"]).make_app()
    async with app.run_test(size=(120, 50)) as pilot:
        for t in range(3):
            app.apply_snapshot(app.engine.tick(now=T0 + 40 + t + 0.5))
        pane = app.query_one(InterfacesPane)
        pane.focus()
        pane.cursor_key = "local\0eth0"
        await pilot.press("enter")
        await pilot.pause()
        app.apply_snapshot(app.engine.tick(now=T0 + 44.5))
        await pilot.pause()
        assert "No SNMP agent polled here reports an interface named eth0" in screen_text(app)


def test_interface_detail_reconcile_snapshot(snap_compare: Any) -> None:
    app = make_app()

    async def run_before(pilot: Any) -> None:
        await _open(app, pilot)

    assert snap_compare(app, terminal_size=(100, 40), run_before=run_before)
