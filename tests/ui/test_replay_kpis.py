"""Flow KPIs in replay: the recorded flows' KPIs in the detail screen, as they were live."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.console import Console

from netop.engine.player import RecordingPlayer
from netop.model import FlowKpi
from netop.outputs.record import RecordOptions, RecordWriter, open_writer
from netop.ui.app import NetopApp
from netop.ui.detail import FlowDetailScreen
from tests.ui.conftest import make_app

KPI = FlowKpi(rtt_ms=12.0, rtt_server_ms=11.0, rtt_client_ms=1.0, ack_rtt_ms=13.5, retrans=2,
              retrans_rev=0, ooo=0, ooo_rev=0, conn_state="S1", ttfb_ms=30.0)


async def test_the_detail_screen_of_a_replayed_flow_shows_its_kpis(tmp_path: Path) -> None:
    _, snapshots = make_app(ticks=5)
    path = tmp_path / "kpi.db"
    db = open_writer(str(path))
    writer = RecordWriter(db, RecordOptions(str(path)))
    for snap in snapshots:
        rows = tuple(r._replace(record=r.record._replace(kpi=KPI)) for r in snap.flows.rows)
        writer.write(replace(snap, flows=replace(snap.flows, rows=rows)))
    writer.flush()
    db.close()
    player = RecordingPlayer(str(path), make_app(ticks=1)[0].config)
    app = NetopApp(player, player.config, run_engine=False, playback=player)
    async with app.run_test(size=(120, 50)) as pilot:
        app.apply_snapshot(player.current())
        await pilot.pause()
        await pilot.press("tab", "tab", "enter")  # Interfaces → Counters → Flows, open
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, FlowDetailScreen)
        console = Console(width=200, color_system=None)
        with console.capture() as out:
            console.print(screen.query_one("#record").content)  # type: ignore[attr-defined]
        text = out.get()
        assert "handshake RTT" in text
        assert "12.000 ms" in text
        assert "S1" in text
