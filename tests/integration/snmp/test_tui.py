"""A real snmpd behind the whole stack: SnmpSource -> Engine -> Snapshot -> TUI panes."""

from __future__ import annotations

import asyncio
import time

from netop.config import Config
from netop.engine.engine import Engine
from netop.model import Snapshot
from netop.sources.snmp.source import SnmpSource
from netop.sources.snmp.targets import Secret, SnmpTarget
from tests.integration.snmp.agents import COMMUNITY, Snmpd


def _snapshots(engine: Engine, seconds: float) -> list[Snapshot]:
    snaps = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.25)
        snaps.append(engine.tick())
    return snaps


async def test_snmp_interfaces_reach_the_panes(snmpd: Snmpd) -> None:
    from netop.ui.app import NetopApp
    from netop.ui.panes.interfaces import InterfacesPane

    target = SnmpTarget(name="core-sw1", host="127.0.0.1", port=snmpd.port,
                        community=Secret(COMMUNITY), interval=0.5)  # fmt: skip
    config = Config(interval=0.25, history_seconds=30)
    engine = Engine(config, [SnmpSource([target])], hostname="testhost")
    engine.start()
    try:
        snaps = _snapshots(engine, 7.0)  # past net-snmp's ~3 s counter cache
    finally:
        engine.stop()
    last = snaps[-1]
    remote = [r for r in last.interfaces if r.origin == "snmp:core-sw1"]
    assert {r.label for r in remote} >= {"core-sw1:lo", "core-sw1:eth0"}
    assert any(r.rx_bps is not None for r in remote)  # a rate after the baseline
    assert any("SNMP 1/1 targets reachable" in s for s in last.status)
    app = NetopApp(engine, config, run_engine=False)
    async with app.run_test(size=(160, 50)) as pilot:
        app.apply_snapshot(last)
        await pilot.pause()
        pane = app.query_one(InterfacesPane)
        # Under the target's header, rows are named by ifName alone.
        labels = [str(getattr(row.cells[0], "text", row.cells[0])) for row in pane.rows
                  if row.key.startswith("snmp:core-sw1\0")]
        assert {"lo", "eth0"} <= set(labels), labels
        header = next(r for r in pane.rows if r.key == "group\0snmp:core-sw1")
        text = str(getattr(header.cells[0], "text", header.cells[0]))
        assert "core-sw1 (snmp)" in text
        assert "reachable" in text
        assert "% available" in text
        # enter on the group header folds it: its interfaces leave both panes
        pane.focus()
        pane.cursor_key = header.key
        await pilot.press("enter")
        await pilot.pause()
        assert not any(r.key.startswith("snmp:core-sw1\0") for r in pane.rows)
        assert any(r.key == header.key for r in pane.rows)


async def test_stopped_agent_goes_stale_instead_of_showing_its_last_rate(snmpd: Snmpd) -> None:
    from netop.ui.app import NetopApp
    from netop.ui.panes.interfaces import InterfacesPane

    target = SnmpTarget(name="core-sw1", host="127.0.0.1", port=snmpd.port,
                        community=Secret(COMMUNITY), interval=0.5, timeout=0.3,
                        retries=0)  # fmt: skip
    config = Config(interval=0.25, history_seconds=30)
    engine = Engine(config, [SnmpSource([target])], hostname="testhost")
    engine.start()
    try:
        deadline = time.monotonic() + 15
        last = engine.tick()
        while time.monotonic() < deadline and not any(
                r.rx_bps is not None for r in last.interfaces if r.origin == "snmp:core-sw1"):
            await asyncio.sleep(0.25)
            last = engine.tick()
        remote = [r for r in last.interfaces if r.origin == "snmp:core-sw1"]
        assert any(r.rx_bps is not None for r in remote), remote
        snmpd.stop()  # the agent goes away mid-watch
        stopped = time.monotonic()
        deadline = stopped + 20  # 2 x the 5 s a sample may be held (net-snmp's cache)
        while time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            last = engine.tick()
            remote = [r for r in last.interfaces if r.origin == "snmp:core-sw1"]
            if remote and all(r.stale_for is not None for r in remote):
                break
        waited = time.monotonic() - stopped
    finally:
        engine.stop()
    assert remote
    assert all(r.stale_for is not None for r in remote), remote
    assert all(r.rx_bps is None and r.tx_bps is None and r.oper_up is None for r in remote)
    assert 5.0 < waited < 12.0, waited  # not before 2 x max_gap-ish, not the whole outage
    assert any("UNREACHABLE" not in s and "0/1 targets reachable" in s for s in last.status)
    app = NetopApp(engine, config, run_engine=False)
    async with app.run_test(size=(160, 50)) as pilot:
        app.apply_snapshot(last)
        await pilot.pause()
        pane = app.query_one(InterfacesPane)
        lines = ["".join(seg.text for seg in pane.render_line(y))
                 for y in range(1, len(pane.rows) + 1)]
        rows = [line for line, row in zip(lines, pane.rows, strict=True)
                if row.key.startswith("snmp:core-sw1\0")]
        assert rows
        assert all("stale" in line for line in rows), rows
        assert all("ago" in line for line in rows), rows
        assert not any("b/s" in line or " up " in line for line in rows), rows
