"""A remote interface whose samples stopped shows that, not its last rate."""

from __future__ import annotations

from dataclasses import replace

from netop.config import Config
from netop.engine.engine import Engine
from netop.model import InterfaceSample
from netop.ui.app import NetopApp
from netop.ui.panes.interfaces import InterfacesPane
from tests.scripted import T0, ScriptedSource, sample


async def test_stale_snmp_row_shows_its_age_not_its_last_rate() -> None:
    def snmp(t: int) -> InterfaceSample:
        return replace(sample("Gi0/1", t, rx=t * 1000, tx=t * 1000), origin="snmp:sw",
                       max_gap=2.0)

    ticks = [[snmp(t)] if t < 3 else [] for t in range(50)]
    engine = Engine(Config(), [ScriptedSource(ticks)], hostname="testhost")
    app = NetopApp(engine, Config(), run_engine=False)
    async with app.run_test(size=(120, 30)) as pilot:
        for t in range(3):
            app.apply_snapshot(engine.tick(now=T0 + t + 0.5))
        await pilot.pause()
        pane = app.query_one(InterfacesPane)
        index = next(i for i, r in enumerate(pane.rows) if r.key == "snmp:sw\0Gi0/1")
        line = "".join(seg.text for seg in pane.render_line(index + 1))
        assert "8.00kb/s" in line, line
        assert " up" in line, line
        for t in range(3, 45):
            app.apply_snapshot(engine.tick(now=T0 + t + 0.5))
        await pilot.pause()
        line = "".join(seg.text for seg in pane.render_line(index + 1))
        assert "8.00kb/s" not in line, line
        assert " up" not in line, line
        assert "stale" in line, line
        assert "42s ago" in line, line
