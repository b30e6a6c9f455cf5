"""The header total is over the interfaces the user named (``-i lo`` shows lo's rate)."""

from __future__ import annotations

import pytest

from netop.cli import build_parser
from netop.commands.tui import named_interfaces
from netop.config import Config
from netop.engine.engine import Engine
from netop.ui.app import NetopApp
from netop.ui.header import HeaderBar
from netop.ui.panes.interfaces import InterfacesPane
from tests.scripted import T0, ScriptedSource, sample


@pytest.mark.parametrize(("argv", "named"), [
    (["-i", "lo"], ("lo",)),
    (["-i", "lo", "-i", "eth0"], ("lo", "eth0")),
    (["-i", "any"], ()),
    ([], ()),
])
def test_named_interfaces_come_from_the_flags(argv: list[str], named: tuple[str, ...]) -> None:
    assert named_interfaces(build_parser().parse_args(argv), Config()) == named


async def test_header_total_with_i_lo_is_lo_traffic() -> None:
    ticks = [[sample("eth0", t, rx=0, tx=0), sample("lo", t, rx=t * 5_000_000, tx=t * 5_000_000)]
             for t in range(4)]
    args = build_parser().parse_args(["-i", "lo"])
    engine = Engine(Config(), [ScriptedSource(ticks)], hostname="testhost",
                    total_of=named_interfaces(args, Config()))
    app = NetopApp(engine, Config(), run_engine=False)
    async with app.run_test(size=(120, 30)) as pilot:
        for t in range(4):
            app.apply_snapshot(engine.tick(now=T0 + t + 0.5))
        await pilot.pause()
        header = str(app.query_one(HeaderBar).render())
        assert "↓ 40.0Mb/s" in header, header
        all_row = app.query_one(InterfacesPane).rows[0]
        assert all_row.key == "local\0all"
        assert "40.0Mb/s" in str(all_row.cells[2])
