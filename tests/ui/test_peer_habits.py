"""The peers' habits (issue 11): nethogs' sent/received per process and per user, and
iftop's scale bars behind the rows."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from netop.model import AGGREGATIONS
from tests.ui.conftest import make_app, retick, screen_text

SIZES = [(80, 24), (120, 40), (200, 60)]
SIZE_IDS = ["80x24", "120x40", "200x60"]


async def test_a_cycles_to_the_user_view_with_sent_and_received_columns() -> None:
    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.apply_snapshot(snapshots[-1])
        await pilot.press("tab", "tab")
        seen = []
        for _ in range(len(AGGREGATIONS)):
            await pilot.press("a")
            retick(app)
            await pilot.pause()
            seen.append(app.engine.view_spec.aggregate)
            text = screen_text(app)
            if seen[-1] in ("process", "user"):
                assert "Sent ↑" in text
                assert "Recv ↓" in text
            else:
                assert "Sent ↑" not in text
        assert seen[:4] == ["remote", "process", "user", "port"]
        assert seen[-1] == "connection"


async def test_the_user_view_rows_are_the_owners_of_the_processes() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.engine.view_spec = replace(app.engine.view_spec, aggregate="user")
        retick(app)
        await pilot.pause()
        flows = app.query_one("#flows")
        labels = {key.split("|", 1)[1] for key in flows.latest}  # type: ignore[attr-defined]
        assert {"alice", "bob", "www-data"} <= labels
        # nginx (www-data) answers: it sends the 6 Mb/s the flow's ← carries.
        www = flows.latest["user|www-data"]  # type: ignore[attr-defined]
        assert www.rate_bps > www.rate_rev_bps


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("mode", ["process", "user"])
def test_sent_received_views(snap_compare: Any, mode: str, size: tuple[int, int]) -> None:
    app, _ = make_app()

    async def feed(pilot: Any) -> None:
        app.engine.view_spec = replace(app.engine.view_spec, aggregate=mode)
        app.query_one("#flows").focus()
        retick(app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=feed)


async def test_a_resort_never_shows_the_old_order_or_loses_the_count() -> None:
    """``s`` while a tick is being built: that tick's snapshot still has the old order.
    Shown, the title and the rows flipped back for a tick and then forward (flicker)."""
    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.apply_snapshot(snapshots[-1])
        await pilot.pause()
        flows: Any = app.query_one("#flows")
        assert str(flows.border_title) == "Flows · 7 · by rate ↓"
        before = flows.rows
        await pilot.press("tab", "tab", "s")
        # The count stays; only what changed changes.
        assert str(flows.border_title) == "Flows · 7 · by avg ↓"
        app.apply_snapshot(snapshots[-1])  # built before the key: by rate
        await pilot.pause()
        assert str(flows.border_title) == "Flows · 7 · by avg ↓"
        assert flows.rows == before  # not re-ordered by the old key either
        retick(app)  # the first tick with the new order
        await pilot.pause()
        assert str(flows.border_title) == "Flows · 7 · by avg ↓"
        avgs = [flows.latest[row.key].avg_bps for row in flows.rows]
        assert avgs == sorted(avgs, reverse=True)


async def test_b_draws_scale_bars_behind_the_flows_and_a_ruler() -> None:
    from netop.ui.widgets.scalebar import bar_fraction

    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.apply_snapshot(snapshots[-1])
        await pilot.pause()
        flows: Any = app.query_one("#flows")
        assert all(row.bar == 0 for row in flows.rows)  # off by default
        assert "─1Gb─" not in screen_text(app)
        await pilot.press("B")
        await pilot.pause()
        top = flows.rows[0]
        assert top.bar == pytest.approx(bar_fraction(flows.latest[top.key].avg_bps))
        assert 0 < top.bar < 1
        text = screen_text(app)
        assert "10b─" in text
        assert "─1Gb" in text
        # The bar is drawn: the first cells of the top row are reversed, the rest not.
        strip = flows.render_line(1)
        cells = round(top.bar * flows.inner_width)
        reversed_cells = sum(len(seg.text) for seg in strip if seg.style and seg.style.reverse)
        assert reversed_cells == cells
        await pilot.press("b")  # bytes: the ruler in bytes too
        await pilot.pause()
        assert "─1GB" in screen_text(app)
        await pilot.press("B")
        await pilot.pause()
        assert all(row.bar == 0 for row in flows.rows)
        assert "─1GB" not in screen_text(app)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_scale_bars(snap_compare: Any, size: tuple[int, int]) -> None:
    app, snapshots = make_app()

    async def feed(pilot: Any) -> None:
        app.apply_snapshot(snapshots[-1])
        await pilot.press("B")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=feed)


async def test_a_played_file_has_its_averages_and_totals_on_its_own_time() -> None:
    """``netop -r FILE`` at ×4: the Avg columns and the totals line count the file's
    seconds (the totals line said "waiting for the first sample" for ever)."""
    from netop.config import Config
    from netop.engine.engine import Engine
    from netop.ui.app import NetopApp
    from netop.ui.panes.flows import FlowsPane
    from netop.ui.totalsbar import TotalsBar
    from tests.unit.engine.test_played_time import PlayedFile

    engine = Engine(Config(), [PlayedFile()], hostname="h")
    app = NetopApp(engine, Config(), run_engine=False)
    async with app.run_test(size=(200, 40)) as pilot:
        for t in range(12):
            app.apply_snapshot(engine.tick(now=100.0 + t))
        await pilot.pause()
        bar = str(app.query_one(TotalsBar).render())
        # 8 kb/s over 2 s, 10 s and 40 s of the file (12 ticks x 4 s = 48 s played).
        assert "8.00kb/s 8.00kb/s 8.00kb/s" in bar, bar
        assert "peak 8.00kb/s" in bar, bar  # the first tick too: from the first packet
        assert "cum 48.0kB" in bar, bar  # 12 ticks x 4 s x 1000 B
        flows = app.query_one(FlowsPane)
        text = screen_text(app)
        assert "32.0kb/s" not in text
        row = flows.rows[0]
        cells = dict(zip([c.key for c in flows.columns], row.cells, strict=True))
        assert cells["avg2"] == "8.00kb/s"
        assert cells["avg40"] == "8.00kb/s"


def test_the_readme_key_table_lists_every_binding() -> None:
    """Every key the app binds is in the README's key table (as the help screen's test
    holds for the help screen)."""
    import re
    from pathlib import Path

    from netop.ui.app import NetopApp

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Keys", 1)[1].split("\n\n", 2)[1]
    keys = {k for line in table.splitlines() if line.startswith("| `")
            for k in re.findall(r"`([^`]+)`", line.split("|")[1])}
    listed = {part for k in keys for part in k.split()}
    for binding in NetopApp.BINDINGS:
        key = getattr(binding, "key_display", None) or binding.key  # type: ignore[union-attr]
        key = {"question_mark": "?"}.get(key, key)
        assert key in keys or key in listed, key
