"""Space goes by content: small panes shrink to their rows, Flows takes the rest, focus
resizes nothing, columns give way in order of usefulness, a tiny terminal is told so."""

from __future__ import annotations

import pytest

from netop.ui.app import NetopApp
from netop.ui.panes.counters import CountersPane
from netop.ui.panes.flows import FlowsPane, columns_for
from netop.ui.panes.interfaces import InterfacesPane, group_title
from tests.scripted import T0, ScriptedSource, sample
from tests.ui.conftest import make_app, screen_text


def heights(app: NetopApp) -> dict[str, int]:
    return {pane.id or "": pane.region.height
            for pane in (app.query_one(InterfacesPane), app.query_one(CountersPane),
                         app.query_one(FlowsPane))}


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)])
async def test_small_panes_shrink_to_their_rows_and_flows_takes_the_rest(
    size: tuple[int, int],
) -> None:
    app, snapshots = make_app()
    async with app.run_test(size=size) as pilot:
        for snapshot in snapshots:
            app.apply_snapshot(snapshot)
        await pilot.pause()
        interfaces = app.query_one(InterfacesPane)
        flows = app.query_one(FlowsPane)
        rows = len(interfaces.rows)  # the all row and six interfaces
        assert rows == 7
        if size[1] >= 40:  # room for every interface: no more than its rows, header, border
            assert interfaces.region.height == rows + 3
        # Flows gets its rows, or at least a third of the body (all but header, totals
        # line and footer).
        assert flows.region.height >= min(len(flows.rows) + 3, (size[1] - 3) // 3)
        assert flows.region.height > interfaces.region.height or size[1] < 40


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_focusing_a_pane_resizes_nothing(size: tuple[int, int]) -> None:
    app, snapshots = make_app()
    async with app.run_test(size=size) as pilot:
        for snapshot in snapshots:
            app.apply_snapshot(snapshot)
        await pilot.pause()
        before = heights(app)
        for _ in range(3):
            await pilot.press("tab")
            await pilot.pause()
            assert heights(app) == before, app.focused


async def test_a_header_click_sorts_without_moving_the_header() -> None:
    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for snapshot in snapshots:
            app.apply_snapshot(snapshot)
        await pilot.pause()
        flows = app.query_one(FlowsPane)
        top = flows.region.y
        assert app.engine.view_spec.sort == "rate"
        # The Bytes header: where the first click lands is where the header stays.
        keys = [c.key for c in flows.columns]
        x = sum(w + 1 for w in flows._widths[:keys.index("bytes")])
        await pilot.click(FlowsPane, offset=(x + 3, 1))
        await pilot.pause()
        assert flows.region.y == top
        assert app.engine.view_spec.sort == "bytes"


def test_process_gives_way_before_addresses_and_ports() -> None:
    keys = [c.key for c in columns_for("connection", 77)]
    assert keys == ["proto", "src", "dst", "rate", "rate_rev", "bytes"]
    at_90 = columns_for("connection", 90)
    assert "process" in [c.key for c in at_90]
    assert {c.key: c.min_width for c in at_90}["src"] >= 19
    wide = [c.key for c in columns_for("connection", 200)]
    assert wide[:3] == ["proto", "src", "dst"]
    assert wide[-1] == "process"
    assert {"avg2", "avg", "avg40", "peak", "state"} <= set(wide)


async def test_at_80_columns_addresses_and_ports_are_whole() -> None:
    app, snapshots = make_app(names={})
    async with app.run_test(size=(80, 24)) as pilot:
        for snapshot in snapshots:
            app.apply_snapshot(snapshot)
        await pilot.press("tab", "tab")
        await pilot.pause()
        text = screen_text(app)
    assert "Process" not in text.split("Flows", 1)[1]
    assert "192.0.2.10:https" in text  # not 192.0…:https
    assert "Bytes" in text  # the last column whole, not under the scrollbar


@pytest.mark.parametrize("size", [(40, 10), (59, 30), (100, 14)])
async def test_a_terminal_too_small_says_so(size: tuple[int, int]) -> None:
    app, snapshots = make_app()
    async with app.run_test(size=size) as pilot:
        app.apply_snapshot(snapshots[-1])
        await pilot.pause()
        text = screen_text(app)
        assert "terminal too small" in text
        assert "Interfaces" not in text
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        text = screen_text(app)
        assert "terminal too small" not in text
        assert "Interfaces" in text


def _busy_engine_app(named: tuple[str, ...]) -> NetopApp:
    from netop.config import Config
    from netop.engine.engine import Engine

    rates = {"aa0": 0, "bb0": 1_000, "lo": 5_000_000, "zz0": 40_000}
    ticks = [[sample(name, t, rx=t * r, tx=t * r) for name, r in rates.items()]
             for t in range(6)]
    engine = Engine(Config(), [ScriptedSource(ticks)], hostname="testhost", total_of=named)
    app = NetopApp(engine, Config(), run_engine=False)
    app._snaps = [engine.tick(now=T0 + t + 0.5) for t in range(6)]  # type: ignore[attr-defined]
    return app


@pytest.mark.parametrize("named", [(), ("aa0",)])
async def test_interfaces_busiest_first_the_named_ones_on_top_and_o_orders_by_name(
    named: tuple[str, ...],
) -> None:
    app = _busy_engine_app(named)
    async with app.run_test(size=(80, 24)) as pilot:
        for snapshot in app._snaps:  # type: ignore[attr-defined]
            app.apply_snapshot(snapshot)
        await pilot.pause()
        names = [r.key.split("\0")[1] for r in app.query_one(InterfacesPane).rows]
        expected = ["lo", "zz0", "bb0", "aa0"]
        if named:
            expected = ["aa0", "lo", "zz0", "bb0"]
        assert names == ["all", *expected]
        counters = [r.key.split("\0")[1] for r in app.query_one(CountersPane).rows]
        assert counters == expected
        await pilot.press("o")
        await pilot.pause()
        names = [r.key.split("\0")[1] for r in app.query_one(InterfacesPane).rows]
        assert names == ["all", "aa0", "bb0", "lo", "zz0"]


def test_one_interface_is_singular() -> None:
    assert group_title("snmp:sw1", 1, None)[0] == "sw1 (snmp) · 1 interface"
    assert group_title("snmp:sw1", 2, None)[0] == "sw1 (snmp) · 2 interfaces"
