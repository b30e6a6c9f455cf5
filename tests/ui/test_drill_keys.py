"""Drill-down keys (h p P C, enter on a group, backspace), T totals and the totals line."""

from __future__ import annotations

from dataclasses import replace

import pytest

from netop.ui.app import NetopApp
from netop.ui.filterbar import FilterBar
from netop.ui.panes.flows import FlowsPane
from netop.ui.totalsbar import TotalsBar
from tests.ui.conftest import make_app, retick, screen_text


async def _ready(app: NetopApp, snapshots: list, pilot: object) -> FlowsPane:  # type: ignore[type-arg]
    for snapshot in snapshots:
        app.apply_snapshot(snapshot)
    flows = app.query_one(FlowsPane)
    flows.focus()
    await pilot.pause()  # type: ignore[attr-defined]
    return flows


@pytest.mark.parametrize(("key", "expected"), [
    ("h", "host {remote}"),
    ("p", "{proto} port {dport}"),
    ("P", 'process "{process}"'),
    ("C", "host {src} and host {dst}"),
])
async def test_a_drill_key_filters_to_the_selected_flow_and_backspace_returns(
    key: str, expected: str
) -> None:
    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        flows = await _ready(app, snapshots, pilot)
        row = flows.latest[flows.cursor_key or ""]
        r = row.record
        want = expected.format(remote=row.remote, proto=("tcp" if r.proto == 6 else "udp"),
                               dport=r.dport, process=row.process, src=r.src, dst=r.dst)
        await pilot.press(key)
        await pilot.pause()
        assert app.engine.view_spec.filter_text == want
        snapshot = retick(app)
        await pilot.pause()
        assert snapshot.flows.rows
        assert row.key in {x.key for x in snapshot.flows.rows}
        assert snapshot.flows.matched_flows < snapshot.flows.total_flows
        assert f"filter: {want}" in screen_text(app)
        # The filter box opens with the drilled expression, ready to edit.
        await pilot.press("slash")
        await pilot.pause()
        assert app.query_one(FilterBar).query_one("Input").value == want  # type: ignore[attr-defined]
        await pilot.press("escape", "backspace")
        await pilot.pause()
        assert app.engine.view_spec.filter_text == ""


async def test_drills_narrow_each_other_and_unwind_one_at_a_time() -> None:
    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        flows = await _ready(app, snapshots, pilot)
        row = flows.latest[flows.cursor_key or ""]
        await pilot.press("h")
        retick(app)
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        text = app.engine.view_spec.filter_text
        assert text.startswith(f"(host {row.remote}) and ")
        assert "port" in text
        await pilot.press("backspace")
        await pilot.pause()
        assert app.engine.view_spec.filter_text == f"host {row.remote}"
        await pilot.press("backspace")
        await pilot.pause()
        assert app.engine.view_spec.filter_text == ""


@pytest.mark.parametrize("mode", ["remote", "process", "port", "protocol"])
async def test_enter_on_a_group_row_opens_its_member_flows(mode: str) -> None:
    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.engine.view_spec = replace(app.engine.view_spec, aggregate=mode)
        flows = await _ready(app, [*snapshots, app.engine.tick(now=snapshots[-1].ts + 1)],
                             pilot)
        group = flows.latest[flows.cursor_key or ""]
        assert group.label
        assert group.members
        await pilot.press("enter")
        await pilot.pause()
        spec = app.engine.view_spec
        assert (spec.aggregate, spec.filter_text) == ("connection", group.members)
        snapshot = retick(app, 41)
        assert sum(1 for _ in snapshot.flows.rows) == group.flows
        await pilot.press("backspace")
        await pilot.pause()
        assert (app.engine.view_spec.aggregate, app.engine.view_spec.filter_text) == (mode, "")


async def test_T_shows_totals_instead_of_rates_and_back() -> None:
    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        flows = await _ready(app, snapshots, pilot)
        assert "Rate →" in screen_text(app)
        await pilot.press("T")
        await pilot.pause()
        text = screen_text(app)
        assert "Total →" in text
        assert "Total ←" in text
        assert "Rate →" not in text
        row = flows.rows[0]
        keys = [c.key for c in flows.columns]
        flow = flows.latest[row.key].record
        shown = row.cells[keys.index("rate")]
        assert getattr(shown, "text", shown).endswith("B")  # bytes, not b/s
        assert flow.bytes > 0
        await pilot.press("T")
        await pilot.pause()
        assert "Rate →" in screen_text(app)


async def test_the_totals_line_has_averages_peaks_and_bytes_since_start() -> None:
    app, snapshots = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        half = len(snapshots) // 2
        await _ready(app, snapshots[:half], pilot)
        # Paused, the totals still count every tick.
        await pilot.press("space")
        for snapshot in snapshots[half:]:
            app.apply_snapshot(snapshot)
        await pilot.pause()
        bar = app.query_one(TotalsBar)
        want_rx = sum(s.total.deltas.get("rx_bytes") or 0 for s in snapshots if s.total)
        assert bar.cum["rx_bytes"] == want_rx > 0
        line = bar.line(snapshots[-1], True)
        assert "2s/10s/40s" in line
        assert "peak" in line
        assert "cum" in line
        await pilot.press("space")
        await pilot.pause()
        assert "peak" in screen_text(app)


async def test_n_shows_service_names_for_ports_in_flow_rows_too() -> None:
    app, snapshots = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        await _ready(app, snapshots, pilot)
        text = screen_text(app)
        assert "cdn.example.net:https" in text
        assert "bastion.example.org:ssh" in text
        await pilot.press("n")
        retick(app)
        await pilot.pause()
        text = screen_text(app)
        assert "192.0.2.10:443" in text
        assert ":https" not in text


async def test_a_closing_flow_silent_for_two_ticks_is_closed() -> None:
    from netop.ui.panes.flows import _state

    assert _state("closing", 0.5, 1.0) == "closing"
    assert _state("closing", 2.0, 1.0) == "closed"
    assert _state("established", 60.0, 1.0) == "established"
