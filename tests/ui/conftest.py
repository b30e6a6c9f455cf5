"""UI test fixtures: a real engine fed by a scripted source, fixed clock and time zone."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from netop.config import Config
from netop.engine.engine import Engine
from netop.model import Snapshot
from netop.ui.app import NetopApp
from tests.scripted import T0, ScriptedSource, demo_ticks


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


def make_app(theme: str = "netop-dark", ticks: int = 40) -> tuple[NetopApp, list[Snapshot]]:
    """An app whose engine does not run on its own; the test applies snapshots."""
    config = Config(theme=theme, history_seconds=60)
    engine = Engine(config, [ScriptedSource(demo_ticks(ticks))], hostname="testhost")
    snapshots = [engine.tick(now=T0 + t + 0.5) for t in range(ticks)]
    return NetopApp(engine, config, run_engine=False), snapshots
