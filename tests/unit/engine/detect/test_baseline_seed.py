"""Baselines that start from a recording (``--baseline-from``): no cold learning period."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.record_gen import Scenario, generate
from netop.cli import build_parser
from netop.commands.pipeline import build_detector
from netop.config import Config
from netop.engine.baseline_seed import DAY, recorded_rates, seed_target
from netop.engine.detect.detector import Detector
from netop.engine.detect.settings import AlertSettings
from netop.errors import ConfigError
from netop.model import COUNTER_FIELDS, Alert, InterfaceRate

NOW = 1_767_700_000.0


def _recording(path: Path, start: float, ticks: int = 200) -> None:
    """eth0 steady at 300 Mb/s (1 % noise) on 1 s ticks from ``start``."""
    generate(str(path), Scenario(interfaces=2, flows=1, level=lambda ts: 300e6,
                                 shape=lambda ts: 1.0), start, ticks, 1.0)


def _spike(detector: Detector, ticks: int = 9) -> list[Alert]:
    """``ticks`` seconds of eth0 at 3 Gb/s; the alerts that fired."""
    fired: list[Alert] = []
    deltas = dict.fromkeys(COUNTER_FIELDS, 0)
    for t in range(ticks):
        rate = InterfaceRate("local", "eth0", NOW + t, 3e9, 1e8, 3e5, 1e4, deltas,
                             {}, 10_000_000_000, True)
        detector.observe_rates([rate], NOW + t)
        fired.extend(detector.finish_tick(NOW + t))
    return fired


def test_seeded_baselines_alert_at_once_where_cold_ones_learn(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    _recording(path, NOW - DAY - 100)
    ticks = recorded_rates(str(path), NOW, 64)
    assert len(ticks) == 64
    # Yesterday at this time: the ticks end at NOW - DAY.
    assert max(r.ts for r in ticks[-1]) <= NOW - DAY
    assert {r.name for r in ticks[0]} == {"eth0", "eth1"}
    seeded = Detector(AlertSettings())
    assert seeded.seed(ticks) == 12  # 2 interfaces × 6 metrics
    assert not any("learning" in line for line in seeded.status(NOW))
    fired = _spike(seeded)
    assert [(a.kind, a.entity) for a in fired if a.kind == "baseline"][:1] == [
        ("baseline", "eth0 rx")]
    base = next(a for a in fired if a.entity == "eth0 rx").baseline
    assert base == pytest.approx(300e6, rel=0.02)
    cold = Detector(AlertSettings())
    assert _spike(cold) == []
    assert any("learning" in line for line in cold.status(NOW))


def test_seed_time_is_this_time_of_day_on_the_last_day_that_has_it() -> None:
    assert seed_target(NOW - 3 * DAY, NOW - 5, NOW) == NOW - DAY
    # Recorded until two and a half days ago: three days back.
    assert seed_target(NOW - 9 * DAY, NOW - 2.5 * DAY, NOW) == NOW - 3 * DAY
    # Less than a day recorded: its last ticks.
    assert seed_target(NOW - 3600, NOW - 5, NOW) == NOW - 5


def test_flag_and_config_seed_the_detector_and_a_bad_file_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.db"
    _recording(path, NOW - DAY - 100)
    monkeypatch.setattr("netop.commands.pipeline.time.time", lambda: NOW)
    args = build_parser().parse_args(["--baseline-from", str(path)])
    detector = build_detector(args, Config())
    assert not any("learning" in line for line in detector.status(NOW))
    assert _spike(detector)
    config = Config(raw={"detect": {"baseline_from": str(path)}})
    assert _spike(build_detector(build_parser().parse_args([]), config))
    bad = tmp_path / "notes.txt"
    bad.write_text("not a recording")
    with pytest.raises(ConfigError, match="--baseline-from.*not a netop recording"):
        build_detector(build_parser().parse_args(["--baseline-from", str(bad)]), Config())
