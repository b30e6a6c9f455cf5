"""Warnings printed before the TUI opens (config typos, a skipped theme) are in its event
log too: the screen hides what was printed before it."""

from __future__ import annotations

from netop.commands.tui import announce_warnings
from netop.config import Config
from netop.engine.engine import Engine
from netop.model import Severity
from netop.ui.themes import ThemeSet
from tests.scripted import T0, ScriptedSource, sample


def test_config_and_theme_warnings_reach_the_event_log() -> None:
    engine = Engine(Config(), [ScriptedSource([[sample("eth0", 0, 0, 0)]])],
                    hostname="testhost")  # fmt: skip
    config = Config(raw={"intervall": 2})
    themes = ThemeSet((), ("theme /x/mine.toml: primary: not a colour: 'nope' (skipped)",))
    announce_warnings(engine, config, themes)
    snapshot = engine.tick(now=T0 + 1)
    warned = [e.message for e in snapshot.events if e.severity == Severity.WARNING]
    assert "config: intervall: unknown key; did you mean interval?" in warned, warned
    assert any("mine.toml" in m and "skipped" in m for m in warned), warned
