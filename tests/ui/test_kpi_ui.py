"""KPIs in the TUI: RTT / Retr / Zeek state in the Flows pane (wide only), every KPI in
the detail screen, and the KPI screen (``K``) per remote host and per service."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from netop.config import Config
from netop.engine.engine import Engine
from netop.engine.flowview import Enrichment
from netop.model import FlowBatch, FlowKpi, FlowRecord
from netop.sources.base import SourceItem
from netop.ui.app import NetopApp
from netop.ui.kpi import KpiScreen
from tests.scripted import T0, ScriptedFlows, ScriptedSource, StaticLookups, demo_ticks
from tests.ui.conftest import NAMES, PROCESSES, retick, screen_text

#: KPIs per conversation of ScriptedFlows (by its source port).
KPIS = {
    51512: FlowKpi(rtt_ms=23.4, rtt_server_ms=23.1, rtt_client_ms=0.3, ack_rtt_ms=24.0,
                   retrans=0, retrans_rev=0, ooo=1, ooo_rev=0, conn_state="S1", ttfb_ms=61.0),
    51514: FlowKpi(rtt_ms=25.0, rtt_server_ms=24.6, rtt_client_ms=0.4, ack_rtt_ms=26.0,
                   retrans=0, retrans_rev=2, ooo=0, ooo_rev=0, conn_state="SF", ttfb_ms=75.0),
    40022: FlowKpi(rtt_ms=180.0, rtt_server_ms=179.0, rtt_client_ms=1.0, retrans=0,
                   retrans_rev=0, ooo=0, ooo_rev=0, conn_state="S1", ttfb_ms=350.0),
    53001: FlowKpi(dns_queries=4, dns_answers=4, dns_ms=12.5,
                   dns_rcodes={"NOERROR": 3, "SERVFAIL": 1}),
    60000: FlowKpi(retrans=0, retrans_rev=0, ooo=0, ooo_rev=0, conn_state="REJ"),
    41000: FlowKpi(jitter_ms=0.8),
}  # fmt: skip


#: Share of each flow's packets retransmitted src→dst (a capture's counts grow with it).
RETRANS_SHARE = {51512: 0.001, 51514: 0.2}


class KpiFlows(ScriptedFlows):
    """ScriptedFlows whose records carry the KPIs a capture would have measured."""

    def __init__(self) -> None:
        super().__init__()
        self.packets: dict[int, int] = {}

    def poll(self, now: float) -> Iterable[SourceItem]:
        out: list[SourceItem] = []
        for batch in super().poll(now):
            assert isinstance(batch, FlowBatch)
            records = []
            for r in batch.records:
                kpi = KPIS.get(r.sport)
                seen = self.packets[r.sport] = self.packets.get(r.sport, 0) + r.packets
                if kpi is not None and r.sport in RETRANS_SHARE:
                    kpi = kpi._replace(retrans=int(seen * RETRANS_SHARE[r.sport]))
                records.append(FlowRecord(*r[:18], kpi))
            out.append(FlowBatch(batch.source, tuple(records)))
        return out


def make_kpi_app(ticks: int = 40) -> NetopApp:
    config = Config(history_seconds=60)
    lookups = StaticLookups(NAMES, PROCESSES)
    engine = Engine(config, [ScriptedSource(demo_ticks(ticks)), KpiFlows()],
                    hostname="testhost",
                    enrichment=Enrichment(procs=lookups, names=lookups, local=lookups))
    for t in range(ticks):
        engine.tick(now=T0 + t + 0.5)
    return NetopApp(engine, config, run_engine=False)


def test_flows_pane_shows_rtt_retr_and_zeek_state(snap_compare: Any) -> None:
    app = make_kpi_app()

    async def feed(pilot: Any) -> None:
        retick(app, 40)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(160, 40), run_before=feed)


async def test_kpi_columns_hidden_when_narrow_and_detail_lists_every_kpi() -> None:
    app = make_kpi_app()
    async with app.run_test(size=(100, 40)) as pilot:
        retick(app, 40)
        await pilot.pause()
        text = screen_text(app)
        assert "RTT" not in text  # below 110 cells the KPI columns go, as others do
        await pilot.press("tab", "tab", "down", "enter")  # the 2nd flow by rate: 51512
        await pilot.pause()
        retick(app, 41)
        await pilot.pause()
        detail = screen_text(app)
        assert ":51512" in detail
        for label in ("connection (Zeek)", "handshake RTT", "23.400 ms", "retransmitted",
                      "time to first byte"):
            assert label in detail


async def test_kpi_screen_asks_the_engine_only_while_open() -> None:
    app = make_kpi_app()
    async with app.run_test(size=(120, 30)) as pilot:
        retick(app, 40)
        await pilot.press("K")
        await pilot.pause()
        assert isinstance(app.screen, KpiScreen)
        assert app.engine.kpi_by == "host"
        retick(app, 41)
        await pilot.pause()
        text = screen_text(app)
        assert "192.0.2.10" in text
        assert "Conns" in text
        await pilot.press("v")
        await pilot.pause()
        assert app.engine.kpi_by == "service"
        retick(app, 42)
        await pilot.pause()
        assert "tcp/443" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.engine.kpi_by is None
        assert not isinstance(app.screen, KpiScreen)


def test_kpi_screen(snap_compare: Any) -> None:
    app = make_kpi_app()

    async def feed(pilot: Any) -> None:
        retick(app, 40)
        await pilot.press("K")
        await pilot.pause()
        retick(app, 41)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 24), run_before=feed)


async def test_kpi_screen_at_80_columns_keeps_the_host_readable() -> None:
    app = make_kpi_app()
    async with app.run_test(size=(80, 24)) as pilot:
        retick(app, 40)
        await pilot.press("K")
        await pilot.pause()
        retick(app, 41)
        await pilot.pause()
        text = screen_text(app)
        assert "198.51.100.7 " in text  # whole, not cut
        assert "RTT p95" not in text
        assert "RTT p50" in text
