"""UI test fixtures: a real engine fed by a scripted source, fixed clock and time zone."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from netop.config import Config
from netop.engine.engine import Engine
from netop.engine.flowview import Enrichment
from netop.model import Snapshot
from netop.ui.app import NetopApp
from tests.scripted import T0, ScriptedFlows, ScriptedSource, StaticLookups, demo_ticks


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """Event timestamps render the same everywhere."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


NAMES = {"192.0.2.10": "cdn.example.net", "198.51.100.7": "bastion.example.org",
         "192.0.2.53": "resolver.example.net"}
PROCESSES = {51512: (4242, "firefox", "alice"), 51514: (4242, "firefox", "alice"),
             40022: (5150, "ssh", "alice"), 80: (777, "nginx", "www-data"),
             41000: (9001, "iperf3", "bob")}


def make_app(
    theme: str = "netop-dark", ticks: int = 40, names: dict[str, str] | None = None
) -> tuple[NetopApp, list[Snapshot]]:
    """An app whose engine does not run on its own; the test applies snapshots."""
    config = Config(theme=theme, history_seconds=60)
    lookups = StaticLookups(NAMES if names is None else names, PROCESSES)
    engine = Engine(config, [ScriptedSource(demo_ticks(ticks)), ScriptedFlows()],
                    hostname="testhost",
                    enrichment=Enrichment(procs=lookups, names=lookups, local=lookups,
                                          service=lambda port, proto: {443: "https", 22: "ssh",
                                                                       53: "domain",
                                                                       80: "http"}.get(port)))
    snapshots = [engine.tick(now=T0 + t + 0.5) for t in range(ticks)]
    return NetopApp(engine, config, run_engine=False), snapshots


def retick(app: NetopApp, t: int = 40) -> Snapshot:
    """One more engine tick after a key changed the view spec; shown at once."""
    snapshot = app.engine.tick(now=T0 + t + 0.5)
    app.apply_snapshot(snapshot)
    return snapshot


def screen_text(app: NetopApp) -> str:
    """The characters on the screen as drawn (the composited frame, modal over main screen)."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False,
                      safe_box=False)
    console.print(app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)
