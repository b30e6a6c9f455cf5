"""Application-layer facts in the TUI: the flow detail lists them (as text, never
markup) and the filter box takes ``sni``, ``dns.qname``, ``http.host`` and ``app``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.widgets import Input

from netop.config import Config
from netop.engine.engine import Engine
from netop.engine.flowview import Enrichment
from netop.model import AppFacts, FlowBatch, FlowRecord
from netop.sources.base import SourceItem
from netop.ui.app import NetopApp
from tests.scripted import T0, ScriptedFlows, ScriptedSource, StaticLookups, demo_ticks
from tests.ui.conftest import NAMES, PROCESSES, retick, screen_text

#: Facts per conversation of ScriptedFlows (by its source port).
FACTS = {
    51512: AppFacts("tls", sni="www.example.com", alpn=("h2", "http/1.1")),
    51514: AppFacts("tls", sni="[bold red]evil[/] \x1b[2J.example.org"),
    53001: AppFacts("dns", dns_qname="cdn.example.net", dns_qtype="AAAA", dns_rcode="NOERROR",
                    dns_records=("2001:db8::10", "192.0.2.10")),
    60000: AppFacts("http", http_host="shop.example.com", http_request="GET /cart?id=7"),
}


class AppFlows(ScriptedFlows):
    """ScriptedFlows whose records carry what a capture read from their payloads."""

    def poll(self, now: float) -> Iterable[SourceItem]:
        out: list[SourceItem] = []
        for batch in super().poll(now):
            assert isinstance(batch, FlowBatch)
            records = [FlowRecord(*r[:19], FACTS.get(r.sport)) for r in batch.records]
            out.append(FlowBatch(batch.source, tuple(records)))
        return out


def make_app_facts_app(ticks: int = 40) -> NetopApp:
    config = Config(history_seconds=60)
    lookups = StaticLookups(NAMES, PROCESSES)
    engine = Engine(config, [ScriptedSource(demo_ticks(ticks)), AppFlows()],
                    hostname="testhost",
                    enrichment=Enrichment(procs=lookups, names=lookups, local=lookups))
    for t in range(ticks):
        engine.tick(now=T0 + t + 0.5)
    return NetopApp(engine, config, run_engine=False)


async def _filter(app: NetopApp, pilot: Any, text: str) -> None:
    await pilot.press("slash")
    await pilot.pause()
    app.query_one("#filter-input", Input).value = text
    await pilot.press("enter")
    await pilot.pause()


async def _open_detail(app: NetopApp, pilot: Any) -> str:
    """The detail of the only flow the filter in force leaves (the filter box hands
    the focus back to the flows)."""
    retick(app, 40)
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    retick(app, 41)
    await pilot.pause()
    return screen_text(app)


async def test_detail_lists_tls_sni_and_alpn() -> None:
    app = make_app_facts_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await _filter(app, pilot, "port 51512")
        detail = await _open_detail(app, pilot)
        assert ":51512" in detail
        for text in ("application", "TLS", "tls sni", "www.example.com", "tls alpn",
                     "h2, http/1.1"):
            assert text in detail


async def test_detail_shows_hostile_names_as_text() -> None:
    app = make_app_facts_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await _filter(app, pilot, "port 51514")
        detail = await _open_detail(app, pilot)
        assert ":51514" in detail
        assert "[bold red]evil[/]" in detail  # the markup is shown, not applied
        assert "\x1b" not in detail


async def test_filter_box_takes_application_words() -> None:
    app = make_app_facts_app()
    async with app.run_test(size=(160, 40)) as pilot:
        for text, port in (("sni *.example.com", 51512), ("app http", 60000),
                           ("dns.qname cdn.example.net", 53001), ("http.host shop.*", 60000),
                           ("app tls and not sni www.*", 51514)):
            await _filter(app, pilot, text)
            assert app.engine.view_spec.filter_text == text
            snapshot = retick(app, 40)
            assert [r.record.sport for r in snapshot.flows.rows] == [port], text


def test_detail_of_a_dns_flow(snap_compare: Any) -> None:
    """Reached with keys only (the filter box applies its filter on a timer: a snapshot
    taken through it would count a varying number of ticks)."""
    app = make_app_facts_app()

    async def open_dns(pilot: Any) -> None:
        for t in range(40, 44):
            retick(app, t)
        await pilot.press("tab", "tab", *["down"] * DNS_ROW, "enter")
        await pilot.pause()
        retick(app, 44)
        await pilot.pause()
        assert ":53001" in screen_text(app)

    assert snap_compare(app, terminal_size=(100, 40), run_before=open_dns)


#: The DNS conversation's row in the Flows pane, by rate.
DNS_ROW = 5
