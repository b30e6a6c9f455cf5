"""Baselines: a lasting spike fires after 7 of 9 violations; noise and idle links don't."""

from __future__ import annotations

import random

from netop.engine.detect.baseline import DesBaseline, RobustBaseline


def feed(base: RobustBaseline | DesBaseline, values: list[float]) -> list[int]:
    """Indexes of the samples at which the baseline fired."""
    return [i for i, v in enumerate(values) if base.update(v).fire]


def normal(n: int, mean: float, spread: float, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [mean * (1 + rng.uniform(-spread, spread)) for _ in range(n)]


def test_lasting_spike_fires_after_seven_violations() -> None:
    values = normal(100, 100e6, 0.05) + [500e6] * 10
    fired = feed(RobustBaseline(floor=10e6), values)
    assert fired  # 100 Mb/s ±5 %, a spike to 500 Mb/s
    assert fired[0] == 106  # the 7th spike sample


def test_noise_does_not_fire() -> None:
    values = normal(2000, 100e6, 0.3, seed=7)
    assert feed(RobustBaseline(floor=10e6), values) == []


def test_short_burst_does_not_fire() -> None:
    values = normal(100, 100e6, 0.05) + [500e6] * 5 + normal(20, 100e6, 0.05, seed=3)
    assert feed(RobustBaseline(floor=10e6), values) == []


def test_idle_link_below_the_floor_does_not_fire() -> None:
    values = [0.0] * 100 + [3 * 8 * 60.0] * 20  # 3 packets a second on an idle link
    assert feed(RobustBaseline(floor=10e6), values) == []


def test_learning_period_reports_what_is_left() -> None:
    base = RobustBaseline(learning=64)
    first = base.update(1.0)
    assert first.baseline is None
    assert first.learning_left == 64
    for _ in range(63):
        base.update(1.0)
    assert base.update(1.0).learning_left == 0


def test_des_takes_up_a_step_too_fast_for_seven_of_nine() -> None:
    """Why the robust baseline is the default: ntopng's DES (α 0.9) forecasts the
    spike's own level from its second sample on, so 7 of 9 never holds."""
    values = normal(100, 100e6, 0.05) + [500e6] * 10
    assert feed(DesBaseline(floor=10e6), values) == []
    assert feed(DesBaseline(floor=10e6, k=1, n=1), values) == [100]
