"""The ! Alerts screen: deduplicated alerts, enter filters the flows, a acknowledges."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from netop.model import Alert, AlertSeverity, FlowKey, Snapshot
from tests.scripted import T0
from tests.ui.conftest import make_app, screen_text

SCAN = Alert(ts=T0 + 30, kind="port_scan", severity=AlertSeverity.WARNING,
             entity="10.0.0.9 → 192.168.1.10", value=100.0, unit="ports",
             message="10.0.0.9 scanned at least 100 ports of 192.168.1.10 in 300 s "
                     "(failed attempts)",
             flow=FlowKey(6, "10.0.0.9", 40000, "192.168.1.10", 22),
             community_id="1:wCb3OG7yAFWelaUydu0D+125CLM=", first=T0 + 25, count=86)
FLOOD = Alert(ts=T0 + 38, kind="syn_flood", severity=AlertSeverity.CRITICAL,
              entity="192.168.1.10", value=24308.0, unit="SYN/s",
              message="24308 SYN/s to 192.168.1.10 (limit 256)", first=T0 + 36, count=3)
BASE = Alert(ts=T0 + 20, kind="baseline", severity=AlertSeverity.WARNING,
             entity="eth0 rx", value=500e6, baseline=99e6, band=5e6, unit="bit/s",
             message="eth0 rx 500 Mb/s vs baseline 99 Mb/s ±5 Mb/s", first=T0 + 12,
             count=4, active=False)


def with_alerts(snapshot: Snapshot, *alerts: Alert) -> Snapshot:
    return replace(snapshot, alerts=alerts, alerts_total=len(alerts),
                   detect_status=("baselines learning, 40 s left",
                                  "watchlist feodo.txt: 512 entries, file 3 min old"))


@pytest.mark.parametrize("size", [(80, 24), (200, 60)], ids=["80x24", "200x60"])
def test_alerts_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    app, snapshots = make_app()

    async def feed(pilot: Any) -> None:
        app.apply_snapshot(with_alerts(snapshots[-1], FLOOD, SCAN, BASE))
        await pilot.press("exclamation_mark")
        await pilot.pause()
        text = screen_text(app)
        assert "syn_flood" in text
        assert "port_scan" in text
        assert "learning, 40 s left" in text

    assert snap_compare(app, terminal_size=size, run_before=feed)


async def test_enter_filters_the_flows_behind_the_alert() -> None:
    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.apply_snapshot(with_alerts(snapshots[-1], SCAN, FLOOD))
        await pilot.press("exclamation_mark")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.engine.view_spec.filter_text == "host 10.0.0.9 and host 192.168.1.10"
        await pilot.press("exclamation_mark")
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.engine.view_spec.filter_text == "host 192.168.1.10"


async def test_a_acknowledges_through_the_engine() -> None:
    app, snapshots = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.apply_snapshot(with_alerts(snapshots[-1], SCAN))
        await pilot.press("exclamation_mark")
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
    detector = app.engine.detector
    detector.book.fire(replace(SCAN, count=1))
    detector.finish_tick(T0 + 31)
    (alert,) = detector.book.alerts()
    assert alert.acked


async def test_network_text_is_shown_as_text() -> None:
    app, snapshots = make_app()
    hostile = replace(SCAN, entity="[red]x[/]\x1b[2Jevil", message="[bold]boom[/] \x07")
    async with app.run_test(size=(120, 40)) as pilot:
        app.apply_snapshot(with_alerts(snapshots[-1], hostile))
        await pilot.press("exclamation_mark")
        await pilot.pause()
        text = screen_text(app)
    assert "[red]x[/]" in text
    assert "[bold]boom[/]" in text
    assert "\x1b" not in text
    assert "\x07" not in text
