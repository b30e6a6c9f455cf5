"""Baselines: is this interface's rate normal for it?

Two forecasters, both behind Brutlag's persistence (k violations in a window of n,
default 7 of 9) and an absolute floor:

- :class:`RobustBaseline` (the default): the median and MAD of the last ``samples``
  values; a violation is a modified z-score 0.6745 (x − median) / MAD above 3.5
  (Iglewicz & Hoaglin) that is also above the floor and at least ``min_rise`` above the
  median. A lasting spike stays far from a median of 64 samples for 32 of them, so 7
  of 9 fires.
- :class:`DesBaseline`: ntopng's double exponential smoothing (α 0.9, β 0.035, band
  1.96 × RMS forecast error over 64 samples). With α 0.9 the forecast takes up a
  step within one sample, so under 7-of-9 persistence it never fires on a lasting
  spike (``tests/unit/engine/detect/test_baseline.py`` shows it); kept for
  ``[detect] method = "des"`` with ``persistence = 1``, ntopng's own use.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

#: Modified z-score above which a value is an outlier (Iglewicz & Hoaglin).
Z_LIMIT = 3.5
#: A value must also be this much above the median (0.5: 1.5 × the median).
MIN_RISE = 0.5


@dataclass(frozen=True, slots=True)
class Verdict:
    """One sample judged: its baseline and band (None while learning), whether it
    violates, and whether the persistence rule now fires."""

    baseline: float | None
    band: float | None
    violation: bool
    fire: bool
    learning_left: int = 0


class _Persistence:
    __slots__ = ("k", "flags")

    def __init__(self, k: int, n: int) -> None:
        self.k = k
        self.flags: deque[bool] = deque(maxlen=n)

    def add(self, violation: bool) -> bool:
        self.flags.append(violation)
        return violation and sum(self.flags) >= self.k


class RobustBaseline:
    """Median/MAD over a rolling window, with persistence and a floor."""

    def __init__(self, samples: int = 64, learning: int = 64, k: int = 7, n: int = 9,
                 floor: float = 0.0) -> None:
        self.values: deque[float] = deque(maxlen=samples)
        self.learning = learning
        self.floor = floor
        self.seen = 0
        self._persist = _Persistence(k, n)

    def update(self, x: float) -> Verdict:
        """Judge ``x`` against the values before it, then learn it."""
        self.seen += 1
        if self.seen <= self.learning or len(self.values) < 2:
            self.values.append(x)
            return Verdict(None, None, False, False, self.learning - self.seen + 1)
        ordered = sorted(self.values)
        median = _median(ordered)
        mad = _median(sorted(abs(v - median) for v in ordered))
        band = Z_LIMIT * mad / 0.6745
        violation = (x >= self.floor and x > median + band
                     and x > median * (1 + MIN_RISE))
        self.values.append(x)
        return Verdict(median, band, violation, self._persist.add(violation))

    def seed(self, values: Sequence[float]) -> None:
        """Start from ``values`` (a recording's) instead of a learning period."""
        self.values.extend(values)
        if len(self.values) >= 2:
            self.seen = max(self.seen, self.learning)


class DesBaseline:
    """ntopng's double exponential smoothing with its RMS band."""

    def __init__(self, alpha: float = 0.9, beta: float = 0.035, width: float = 1.96,
                 samples: int = 64, learning: int = 64, k: int = 7, n: int = 9,
                 floor: float = 0.0) -> None:
        self.alpha, self.beta, self.width = alpha, beta, width
        self.errors: deque[float] = deque(maxlen=samples)
        self.learning = learning
        self.floor = floor
        self.level: float | None = None
        self.trend = 0.0
        self.seen = 0
        self._persist = _Persistence(k, n)

    def update(self, x: float) -> Verdict:
        """Judge ``x`` against the forecast made before it, then learn it."""
        self.seen += 1
        if self.level is None:
            self.level = x
            return Verdict(None, None, False, False, self.learning - self.seen + 1)
        forecast = self.level + self.trend
        error = x - forecast
        band = (self.width * math.sqrt(sum(self.errors) / len(self.errors))
                if self.errors else 0.0)
        self.errors.append(error * error)
        level = self.alpha * x + (1 - self.alpha) * forecast
        self.trend = self.beta * (level - self.level) + (1 - self.beta) * self.trend
        self.level = level
        if self.seen <= self.learning:
            return Verdict(None, None, False, False, self.learning - self.seen + 1)
        violation = x >= self.floor and x > forecast + band
        return Verdict(forecast, band, violation, self._persist.add(violation))

    def seed(self, values: Sequence[float]) -> None:
        """Start from ``values`` (a recording's) instead of a learning period: the
        forecast and its band learn them, no verdict is kept."""
        for x in values:
            self.update(x)
        if values:
            self.seen = max(self.seen, self.learning)
            self._persist.flags.clear()


def _median(ordered: list[float]) -> float:
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
