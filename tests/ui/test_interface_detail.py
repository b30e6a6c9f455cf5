"""Enter on an interface row: its detail screen, fed by the engine's tick (the NIC and
qdisc of the real lo), escape back; the engine stops reading when it closes."""

from __future__ import annotations

from netop.ui.ifdetail import InterfaceDetailScreen, graph_lines
from netop.ui.panes.interfaces import InterfacesPane
from tests.ui.conftest import make_app, retick, screen_text


async def test_enter_on_an_interface_opens_its_detail_and_escape_returns() -> None:
    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for snapshot in snapshots:
            app.apply_snapshot(snapshot)
        pane = app.query_one(InterfacesPane)
        pane.focus()
        pane.cursor_key = "local\0lo"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, InterfaceDetailScreen)
        assert app.engine.nic_detail == "lo"
        snapshot = retick(app)
        await pilot.pause()
        assert snapshot.nic is not None
        assert snapshot.nic.name == "lo"
        text = screen_text(app)
        assert "Interface lo (local)" in text
        assert "rx_missed_errors" in text
        assert "Queueing disciplines" in text
        assert "root" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, InterfaceDetailScreen)
        assert app.engine.nic_detail is None
        assert retick(app, 41).nic is None


def test_the_graph_scales_to_its_peak_in_eighths() -> None:
    lines = graph_lines([0, 1, 2, 4], 6, rows=2)
    assert lines == ["     █", "  ▄██"[-6:].rjust(6)]
    assert graph_lines([], 4, rows=1) == ["    "]
