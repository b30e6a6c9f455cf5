"""Pilot tests: every key of the foundation does what the help screen says."""

from __future__ import annotations

import re

import pytest

from netop.ui.app import NetopApp
from netop.ui.header import HeaderBar
from netop.ui.help import HelpScreen
from netop.ui.panes.counters import CountersPane
from netop.ui.panes.events import EventsPane
from netop.ui.panes.flows import FlowsPane
from netop.ui.panes.interfaces import InterfacesPane
from tests.ui.conftest import make_app, screen_text


def header_text(app: NetopApp) -> str:
    return str(app.query_one(HeaderBar).render())


def cell(app: NetopApp, pane: type, key: str, column: int) -> str:
    table = app.query_one(pane)
    row = next(r for r in table.rows if r.key == key)
    value = row.cells[column]
    return value if isinstance(value, str) else value.text


async def test_q_quits() -> None:
    app, _ = make_app()
    async with app.run_test() as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert not app.is_running


@pytest.mark.parametrize("where", ["flows", "filter box"])
async def test_ctrl_c_quits_like_every_monitor(where: str) -> None:
    app, _ = make_app()
    async with app.run_test() as pilot:
        if where == "filter box":
            await pilot.press("slash", "t", "c")
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 0
    assert not app.is_running


def _help_key(binding: object) -> str:
    key = getattr(binding, "key_display", None) or binding.key  # type: ignore[attr-defined]
    return {"question_mark": "?", "tab": "tab / shift+tab", "s": "s / S", "S": "s / S",
            "shift+tab": "tab / shift+tab", "q": "q / ctrl+c", "ctrl+c": "q / ctrl+c"}.get(key, key)


def _squash(text: str) -> str:
    """Screen text with the frame and line breaks gone, so wrapped lines still match."""
    # The frame, and the block elements a scrollbar thumb is drawn with (over the text).
    return " ".join(re.sub(r"[│╭╮╰╯─\u2580-\u259f]", " ", text).split())


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (160, 48), (200, 60)])
async def test_help_shows_every_binding_on_screen_and_escape_closes(
    size: tuple[int, int],
) -> None:
    from textual.containers import VerticalScroll

    from netop.ui.help import KEYS

    app, _ = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        listed = {key for key, _ in KEYS}
        for binding in app.BINDINGS:
            assert _help_key(binding) in listed, binding
        # What a person can read: the screen, page by page through the scrolling box.
        scroller = app.screen.query_one(VerticalScroll)
        seen = _squash(screen_text(app))
        for _ in range(20):
            if scroller.scroll_y >= scroller.max_scroll_y:
                break
            # Pages that overlap by two lines: an entry wrapped over a page break is
            # still read whole on one of them.
            scroller.scroll_to(y=scroller.scroll_y + max(1, scroller.size.height - 2),
                               animate=False)
            await pilot.pause()
            seen += " " + _squash(screen_text(app))
        for key, action in KEYS:
            assert f"{key} {_squash(action)}" in seen or (
                key in seen and _squash(action) in seen), (key, action, seen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_space_pauses_display_but_keeps_collecting() -> None:
    app, snaps = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.apply_snapshot(snaps[10])
        await pilot.pause()
        await pilot.press("space")
        await pilot.pause()
        assert "PAUSED" in header_text(app)
        app.apply_snapshot(snaps[20])
        await pilot.pause()
        assert app.shown is snaps[10]
        assert app.latest is snaps[20]
        await pilot.press("space")
        await pilot.pause()
        assert "PAUSED" not in header_text(app)
        assert app.shown is snaps[20]


async def test_b_toggles_bits_and_bytes() -> None:
    app, snaps = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.apply_snapshot(snaps[5])
        await pilot.pause()
        assert cell(app, InterfacesPane, "local\0eth1", 2).endswith("b/s")
        await pilot.press("b")
        await pilot.pause()
        assert cell(app, InterfacesPane, "local\0eth1", 2).endswith("B/s")
        assert "B/s" in header_text(app)


async def test_t_cycles_themes() -> None:
    app, _ = make_app()
    async with app.run_test() as pilot:
        seen = [app.theme]
        for _ in range(len(app.themes.names)):
            await pilot.press("t")
            await pilot.pause()
            seen.append(app.theme)
        assert seen[-1] == seen[0]
        assert set(seen) == set(app.themes.names)


async def test_tab_moves_focus_through_the_panes() -> None:
    app, _ = make_app()
    async with app.run_test() as pilot:
        order = []
        for _ in range(4):
            order.append(type(app.focused))
            await pilot.press("tab")
            await pilot.pause()
        assert order == [InterfacesPane, CountersPane, FlowsPane, EventsPane]
        assert type(app.focused) is InterfacesPane


async def test_i_hides_idle_interfaces_in_both_panes() -> None:
    app, snaps = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.apply_snapshot(snaps[-1])
        await pilot.pause()
        keys = {r.key for r in app.query_one(InterfacesPane).rows}
        assert "local\0docker0" in keys  # docker0 carries nothing in the demo
        await pilot.press("i")
        await pilot.pause()
        keys = {r.key for r in app.query_one(InterfacesPane).rows}
        assert "local\0docker0" not in keys
        assert "local\0eth1" in keys
        assert "idle hidden" in str(app.query_one(InterfacesPane).border_title)
        assert "local\0docker0" not in {r.key for r in app.query_one(CountersPane).rows}


async def test_flows_pane_says_why_it_is_empty() -> None:
    from netop.config import Config
    from netop.engine.engine import Engine
    from tests.scripted import T0, ScriptedSource, demo_ticks

    engine = Engine(Config(), [ScriptedSource(demo_ticks(3))], hostname="testhost")
    app = NetopApp(engine, Config(), run_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.apply_snapshot(engine.tick(now=T0))
        await pilot.pause()
        assert "capture is not running" in app.query_one(FlowsPane).empty_text
        assert app.query_one(FlowsPane).rows == ()


async def test_counters_highlight_what_grew_this_tick() -> None:
    app, snaps = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.apply_snapshot(snaps[-1])  # wlan0's drops grow in the second half
        await pilot.pause()
        row = next(r for r in app.query_one(CountersPane).rows if r.key == "local\0wlan0")
        drops = row.cells[3]
        assert not isinstance(drops, str)
        assert drops.style == "warn"
        quiet = row.cells[5]
        assert isinstance(quiet, str)


async def test_events_pane_shows_each_event_once() -> None:
    app, snaps = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for snap in snaps[:25]:
            app.apply_snapshot(snap)
        await pilot.pause()
        app.apply_snapshot(snaps[25])
        app.apply_snapshot(snaps[25])
        await pilot.pause()
        pane = app.query_one(EventsPane)
        messages = [r.cells[2] for r in pane.rows]
        assert len(messages) == snaps[25].events_total
        assert any("docker0" in str(m) or "watching" in str(m) for m in messages)


async def test_s_cycles_sort_and_S_reverses_in_the_engine() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.engine.view_spec.sort == "rate"
        await pilot.press("s")
        await pilot.pause()
        assert app.engine.view_spec.sort == "avg"
        await pilot.press("S")
        await pilot.pause()
        assert app.engine.view_spec.descending is False
        assert "by avg ↑" in str(app.query_one(FlowsPane).border_title)


async def test_slash_filter_validates_applies_and_keeps_the_old_one_on_error() -> None:
    from textual.widgets import Input

    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash")
        await pilot.pause()
        box = app.query_one("#filter-input", Input)
        assert app.focused is box
        await pilot.press(*"tcp and port 443")
        await pilot.press("enter")
        await pilot.pause()
        assert app.engine.view_spec.filter_text == "tcp and port 443"
        await pilot.press("slash")
        await pilot.pause()
        box.value = "port and ("
        await pilot.pause()
        assert box.has_class("-invalid")
        await pilot.press("enter")
        await pilot.pause()
        assert app.engine.view_spec.filter_text == "tcp and port 443"  # unchanged
        await pilot.press("escape")
        await pilot.pause()
        assert app.engine.view_spec.filter_text == "tcp and port 443"
        assert isinstance(app.focused, FlowsPane)


async def test_a_cycles_aggregations_keeping_sort_and_filter() -> None:
    from netop.model import AGGREGATIONS
    from tests.ui.conftest import retick

    app, snaps = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        app.apply_snapshot(snaps[-1])
        await pilot.press("S")
        seen = []
        for _ in AGGREGATIONS:
            seen.append(app.engine.view_spec.aggregate)
            assert app.engine.view_spec.descending is False  # sort order kept
            await pilot.press("a")
            await pilot.pause()
        assert seen == list(AGGREGATIONS)
        assert app.engine.view_spec.aggregate == "connection"
        await pilot.press("a", "a")  # → process
        await pilot.pause()
        snap = retick(app)
        labels = {row.label for row in snap.flows.rows}
        # By program (the PIDs are in the member flows).
        assert {"firefox", "ssh", "nginx", "—"} <= labels
        firefox = next(r for r in snap.flows.rows if r.label == "firefox")
        assert firefox.flows == 2


async def test_n_toggles_names_in_the_flows_pane() -> None:
    from tests.ui.conftest import retick

    app, snaps = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        retick(app)
        await pilot.pause()
        pane = app.query_one(FlowsPane)
        texts = [str(c) for r in pane.rows for c in r.cells]
        assert any("cdn.example.net:https" in t for t in texts)  # the service, too
        await pilot.press("n")
        await pilot.pause()
        retick(app, 41)
        await pilot.pause()
        texts = [str(c) for r in pane.rows for c in r.cells]
        assert not any("cdn.example.net" in t for t in texts)
        assert any("192.0.2.10:443" in t for t in texts)


async def test_enter_opens_details_and_escape_returns_with_the_cursor_in_place() -> None:
    from netop.ui.detail import FlowDetailScreen
    from tests.ui.conftest import retick

    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        retick(app)
        await pilot.press("tab", "tab")  # Interfaces → Counters → Flows
        await pilot.pause()
        pane = app.query_one(FlowsPane)
        assert app.focused is pane
        await pilot.press("down", "down")
        await pilot.pause()
        chosen = pane.cursor_key
        assert chosen == pane.rows[2].key
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, FlowDetailScreen)
        assert app.screen.row.key == chosen
        retick(app, 41)  # the screen follows the flow live
        await pilot.pause()
        assert len(app.screen.row.history) >= 2
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, FlowDetailScreen)
        assert pane.cursor_key == chosen
        assert app.focused is pane


@pytest.mark.parametrize("text", ["tcp and port 443", "port and ("], ids=["valid", "invalid"])
@pytest.mark.parametrize("theme", ["netop-dark", "netop-light", "netop-contrast"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)])
async def test_typed_filter_text_is_visible(theme: str, size: tuple[int, int], text: str) -> None:
    app, snaps = make_app(theme)
    async with app.run_test(size=size) as pilot:
        app.apply_snapshot(snaps[-1])
        await pilot.press("slash")
        await pilot.press(*text)
        await pilot.pause()
        bottom = screen_text(app).splitlines()[-3:]
        assert any(text in line for line in bottom), bottom
