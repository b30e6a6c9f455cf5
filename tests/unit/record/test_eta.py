"""The Interfaces pane's ETA text from a report's trend."""

from __future__ import annotations

from netop.engine.eta import eta_text, short_weeks


def test_the_next_threshold_ahead_and_when() -> None:
    trend = {"shown": True, "weeks_to": {"70": 0.0, "80": 2.6, "90": 9.0}}
    assert eta_text(trend) == "80% 3w"
    assert eta_text({"shown": True, "weeks_to": {"70": 0.4, "80": 1.0, "90": 2.0}}) == "70% 3d"
    assert eta_text({"shown": True, "weeks_to": {"70": 30.0, "80": 40.0, "90": 50.0}}) \
        == "70% 7mo"


def test_above_all_falling_and_not_shown() -> None:
    assert eta_text({"shown": True, "weeks_to": {"70": 0.0, "80": 0.0, "90": 0.0}}) == "≥90%"
    assert eta_text({"shown": True, "weeks_to": {"70": None, "80": None, "90": None}}) == "—"
    assert eta_text({"shown": False, "weeks_to": {"70": 1.0}}) is None
    assert eta_text({"shown": True, "weeks_to": None}) is None


def test_units() -> None:
    assert [short_weeks(w) for w in (0.01, 0.5, 1.0, 12.4, 13.0, 52.0)] == [
        "1d", "4d", "1w", "12w", "3mo", "12mo"]
