"""A snapshot that arrives right after a detail screen is pushed, before its widgets
exist, waits for the next tick instead of failing (it happened shooting the README's
screenshots: ``NoMatches: '#heading'`` from the interface detail)."""

from __future__ import annotations

from netop.ui.ifdetail import InterfaceDetailScreen
from tests.ui.conftest import make_app, retick


async def test_interface_detail_takes_a_snapshot_before_it_is_mounted() -> None:
    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for snapshot in snapshots:
            app.apply_snapshot(snapshot)
        rate = snapshots[-1].interfaces[0]
        app.push_screen(InterfaceDetailScreen(rate, bits=True))
        retick(app)  # at once: the screen is on the stack, its widgets not yet
        await pilot.pause()
        assert isinstance(app.screen, InterfaceDetailScreen)
        assert rate.name in str(app.screen.query_one("#heading").render())


async def test_flow_detail_takes_a_snapshot_before_it_is_mounted() -> None:
    from netop.ui.detail import FlowDetailScreen

    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for snapshot in snapshots:
            app.apply_snapshot(snapshot)
        row = snapshots[-1].flows.rows[0]
        app.push_screen(FlowDetailScreen(row, True, snapshots[-1].ts))
        retick(app)
        await pilot.pause()
        assert isinstance(app.screen, FlowDetailScreen)
