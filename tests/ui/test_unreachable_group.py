"""An SNMP target that never answered still has its group, saying why."""

from __future__ import annotations

from typing import Any

from netop.config import Config
from netop.engine.engine import Engine
from netop.model import SourceStatus
from netop.ui.app import NetopApp
from netop.ui.panes.interfaces import GROUP, InterfacesPane
from tests.scripted import T0, ScriptedSource, sample


async def test_a_never_reachable_target_gets_its_group_with_the_reason() -> None:
    status = SourceStatus("snmp", "SNMP 0/1 targets reachable", rows=({
        "name": "core-sw", "host": "192.0.2.1:161", "reachable": False,
        "last_error": "no response after 2 x 1.0 s (or a wrong community)",
        "last_latency_ms": None, "availability_pct": 0.0, "interfaces": 0,
    },), ts=T0)  # fmt: skip
    ticks: list[list[Any]] = [[sample("eth0", t, rx=t * 1000, tx=0), status] for t in range(3)]
    engine = Engine(Config(), [ScriptedSource(ticks)], hostname="testhost")
    app = NetopApp(engine, Config(), run_engine=False)
    async with app.run_test(size=(160, 30)) as pilot:
        for t in range(3):
            app.apply_snapshot(engine.tick(now=T0 + t + 0.5))
        await pilot.pause()
        pane = app.query_one(InterfacesPane)
        keys = [row.key for row in pane.rows]
        assert GROUP + "snmp:core-sw" in keys, keys
        index = keys.index(GROUP + "snmp:core-sw")
        line = "".join(seg.text for seg in pane.render_line(index + 1))
        assert "core-sw (snmp)" in line, line
        assert "0 interfaces" in line, line
        assert "UNREACHABLE: no response after 2 x 1.0 s" in line, line
