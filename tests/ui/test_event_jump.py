"""Enter on an event log line: to the Interfaces row it is about, or the flow it is about."""

from __future__ import annotations

from netop.engine.drill import flow_filter
from netop.model import FlowKey, NetEvent, Severity
from netop.ui.panes.events import EventsPane
from netop.ui.panes.flows import FlowsPane
from netop.ui.panes.interfaces import InterfacesPane
from tests.scripted import T0
from tests.ui.conftest import make_app, retick


async def test_enter_on_a_counter_event_focuses_its_interface_row() -> None:
    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for snapshot in snapshots:
            app.apply_snapshot(snapshot)
        events = app.query_one(EventsPane)
        interfaces = app.query_one(InterfacesPane)
        assert interfaces.cursor_key != "local\0wlan0"
        assert "wlan0: receive drops started increasing" in str(events.rows[-1].cells[-1])
        events.focus()  # the cursor starts on the newest line
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is interfaces
        assert interfaces.cursor_key == "local\0wlan0"
        assert app.engine.view_spec.filter_text == ""


async def test_enter_on_a_flow_event_filters_the_flows_to_that_flow() -> None:
    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for snapshot in snapshots:
            app.apply_snapshot(snapshot)
        rows = snapshots[-1].flows.rows
        flow = FlowKey(*rows[1].record[:6])
        app.engine.emit(NetEvent(T0 + 40, Severity.WARNING, "kpi", "slow handshake",
                                 flow=flow))
        retick(app)
        events = app.query_one(EventsPane)
        events.focus()
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.engine.view_spec.filter_text == flow_filter(flow)
        assert isinstance(app.focused, FlowsPane)
        shown = retick(app, 41).flows.rows
        assert [tuple(r.record[:6]) for r in shown] == [flow]
        await pilot.press("backspace")  # back to every flow
        await pilot.pause()
        assert app.engine.view_spec.filter_text == ""


async def test_enter_on_an_event_about_nothing_only_says_so() -> None:
    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for snapshot in snapshots:
            app.apply_snapshot(snapshot)
        events = app.query_one(EventsPane)
        events.focus()
        await pilot.pause()
        await pilot.press("up", "enter")  # "watching 6 interfaces": about no one row
        await pilot.pause()
        assert app.focused is events
        assert app.engine.view_spec.filter_text == ""
