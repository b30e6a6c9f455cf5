"""SVG snapshots of the main screen, fed by a deterministic source.

Update after an intended change with: ``scripts/test.sh tests/ui --snapshot-update``
(the README says so too); review the diff of ``tests/ui/__snapshots__`` before committing.
"""

from __future__ import annotations

from typing import Any

import pytest

from netop.sources.base import Source
from tests.ui.conftest import make_app


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
@pytest.mark.parametrize("theme", ["netop-dark", "netop-light", "netop-contrast"])
def test_main_screen(snap_compare: Any, theme: str, size: tuple[int, int]) -> None:
    app, snapshots = make_app(theme)

    async def feed(pilot: Any) -> None:
        for snapshot in snapshots:
            app.apply_snapshot(snapshot)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=feed)


@pytest.mark.parametrize("size", [(80, 24), (200, 60)], ids=["80x24", "200x60"])
def test_help_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    app, snapshots = make_app()

    async def feed(pilot: Any) -> None:
        from netop.ui.help import KEYS
        from tests.ui.conftest import screen_text

        app.apply_snapshot(snapshots[-1])
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        assert "quit" in text
        if size[1] >= 60:  # all of it fits
            for key, _ in KEYS:
                assert key in text, key

    assert snap_compare(app, terminal_size=size, run_before=feed)


def test_hostile_interface_name_renders_as_literal_text(snap_compare: Any) -> None:
    from netop.config import Config
    from netop.engine.engine import Engine
    from netop.ui.app import NetopApp
    from tests.scripted import T0, ScriptedSource, sample

    hostile = "[red]x[/]\x1b[2J\x07evil"
    ticks = [[sample(hostile, t, t * 1000, 0)] for t in range(3)]
    engine = Engine(Config(), [ScriptedSource(ticks)], hostname="testhost")
    app = NetopApp(engine, Config(), run_engine=False)
    snaps = [engine.tick(now=T0 + t) for t in range(3)]

    async def feed(pilot: Any) -> None:
        for snap in snaps:
            app.apply_snapshot(snap)
        await pilot.pause()
        from netop.ui.panes.interfaces import InterfacesPane

        pane = app.query_one(InterfacesPane)
        line = "".join(seg.text for seg in pane.render_line(2))
        # Markup shown as typed, not interpreted (a long name loses its middle, not its tags).
        assert "[red]x[" in line
        assert "\x1b" not in line
        assert "\x07" not in line

    assert snap_compare(app, terminal_size=(80, 24), run_before=feed)


@pytest.mark.parametrize("mode", ["connection", "remote", "process", "port", "protocol"])
def test_flows_aggregation(snap_compare: Any, mode: str) -> None:
    from dataclasses import replace

    from tests.ui.conftest import retick

    app, snapshots = make_app()

    async def feed(pilot: Any) -> None:
        app.engine.view_spec = replace(app.engine.view_spec, aggregate=mode)
        app.query_one("#flows").focus()
        retick(app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=feed)


@pytest.mark.parametrize("text", ["tcp and port 443", "port and ("], ids=["valid", "invalid"])
def test_filter_box(snap_compare: Any, text: str) -> None:
    app, snapshots = make_app()

    async def feed(pilot: Any) -> None:
        app.apply_snapshot(snapshots[-1])
        await pilot.press("slash")
        await pilot.press(*text)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=feed)


def test_detail_screen(snap_compare: Any) -> None:
    from tests.ui.conftest import retick

    app, snapshots = make_app()

    async def feed(pilot: Any) -> None:
        for t in range(40, 44):
            retick(app, t)
        await pilot.press("tab", "tab", "enter")
        await pilot.pause()
        retick(app, 44)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 32), run_before=feed)


def test_hostile_dns_name_renders_as_literal_text(snap_compare: Any) -> None:
    from tests.ui.conftest import retick

    hostile = "[bold red]pwned[/]\x1b]0;owned\x07.example"
    app, _ = make_app(names={"192.0.2.10": hostile})

    async def feed(pilot: Any) -> None:
        retick(app)
        await pilot.pause()
        from netop.ui.panes.flows import FlowsPane

        pane = app.query_one(FlowsPane)
        lines = ["".join(seg.text for seg in pane.render_line(y)) for y in range(1, 4)]
        assert any("[bold red]p" in line for line in lines), lines  # the tag, as text
        assert not any("\x1b" in line or "\x07" in line for line in lines)

    assert snap_compare(app, terminal_size=(160, 30), run_before=feed)


def test_remote_groups_folded_and_unfolded(snap_compare: Any) -> None:
    from dataclasses import replace

    from netop.config import Config
    from netop.engine.engine import Engine
    from netop.model import SourceStatus
    from netop.ui.app import NetopApp
    from tests.scripted import T0, ScriptedSource, demo_ticks, sample

    ticks = demo_ticks(6, interfaces=3)
    for t, row in enumerate(ticks):
        for name, rx in (("Gi0/1", 9_000_000), ("Gi0/2", 120_000), ("Gi0/48", 0)):
            row.append(replace(sample(name, t, rx * t, rx * t // 3), origin="snmp:core-sw1"))
        row.append(SourceStatus("snmp", "SNMP 1/1 targets reachable", (
            {"name": "core-sw1", "reachable": True, "last_latency_ms": 12.4,
             "availability_pct": 99.5, "interfaces": 3, "last_error": None},), T0 + t))
    engine = Engine(Config(), [ScriptedSource(ticks)], hostname="testhost")
    app = NetopApp(engine, Config(), run_engine=False)
    snaps = [engine.tick(now=T0 + t + 0.5) for t in range(6)]

    async def feed(pilot: Any) -> None:
        for snap in snaps:
            app.apply_snapshot(snap)
        await pilot.pause()
        from netop.ui.panes.counters import CountersPane
        from netop.ui.panes.interfaces import InterfacesPane

        pane = app.query_one(InterfacesPane)
        assert [r.key for r in pane.rows if r.key.startswith("snmp:")] == [
            "snmp:core-sw1\0Gi0/1", "snmp:core-sw1\0Gi0/2", "snmp:core-sw1\0Gi0/48"]
        # Under the target's header each row is named by its ifName, in both panes.
        for table in (pane, app.query_one(CountersPane)):
            drawn = ["".join(seg.text for seg in table.render_line(y)).split()[0]
                     for y in range(1, len(table.rows) + 1)]
            assert {"Gi0/1", "Gi0/2", "Gi0/48"} <= set(drawn), drawn
        await pilot.press("c")
        await pilot.pause()
        assert not [r for r in pane.rows if r.key.startswith("snmp:")]
        counters = app.query_one(CountersPane)
        assert not [r for r in counters.rows if r.key.startswith("snmp:")]
        await pilot.press("c")  # and back
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 30), run_before=feed)


class _V6Flows(Source):
    """IPv6 flows between hosts of one /64 and an ICMPv6 echo: rows that differ only at
    the end of the address and in the port."""

    name = "v6-flows"
    produces_flows = True
    replay = False

    def __init__(self) -> None:
        self.polls = 0

    def start(self, emit: Any) -> None: ...

    def stop(self) -> None: ...

    def watch_flow(self, flow: Any) -> None: ...

    def describe(self) -> str:
        return "scripted v6 flows"

    def poll(self, now: float) -> list[Any]:
        from netop.model import FlowBatch, FlowRecord
        from tests.scripted import T0

        tick, self.polls = self.polls, self.polls + 1
        net = "fd00:99:aaaa:bbbb:cccc:dddd"
        convs = [(6, f"{net}:0:11", 50000 + i, f"{net}:0:{20 + i}", 443, 90_000 * (i + 1))
                 for i in range(4)]
        convs.append((58, f"{net}:0:11", 0, f"{net}:0:99", 32768, 1_000))
        return [FlowBatch("capture", tuple(
            FlowRecord(p, s, sp, d, dp, None, b // 1000, b, b // 2000, b // 2,
                       T0 + tick, T0 + tick + 0.9, 0x18 if p == 6 else 0)
            for p, s, sp, d, dp, b in convs))]


def test_ipv6_flows_stay_apart_at_120_columns(snap_compare: Any) -> None:
    from netop.config import Config
    from netop.engine.engine import Engine
    from netop.ui.app import NetopApp
    from tests.scripted import T0

    engine = Engine(Config(), [_V6Flows()], hostname="testhost")  # type: ignore[list-item]
    app = NetopApp(engine, Config(), run_engine=False)

    async def feed(pilot: Any) -> None:
        for t in range(3):
            app.apply_snapshot(engine.tick(now=T0 + t + 0.5))
        app.query_one("#flows").focus()
        await pilot.pause()
        from netop.ui.panes.flows import FlowsPane

        pane = app.query_one(FlowsPane)
        lines = ["".join(seg.text for seg in pane.render_line(y)) for y in range(1, 6)]
        assert len(set(lines)) == 5, lines
        for i in range(4):
            assert any(f":{20 + i}]:443" in line for line in lines), lines
            assert any(f":{50000 + i}" in line for line in lines), lines
        assert any(line.startswith("icmp6 ") for line in lines), lines

    assert snap_compare(app, terminal_size=(120, 30), run_before=feed)
