"""Capacity arithmetic for ``netop report``: the billing 95th percentile and the trend.

95th percentile as transit is billed: 5-minute samples of max(in, out), the top 5 %
dropped, the next highest billed (a month = 8,640 samples, 432 dropped). Trend as
Prometheus' ``predict_linear``: a least-squares line, here over the daily 95th
percentiles, projected to 70/80/90 % of the interface's speed; with fewer than
:data:`MIN_DAYS` days or a fit worse than :data:`MIN_R2` no projection is made.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_DAYS = 7
MIN_R2 = 0.5
THRESHOLDS: tuple[int, ...] = (70, 80, 90)


def percentile95(values: Sequence[float]) -> float | None:
    """The billed value: sorted ascending, the top 5 % (rounded down) dropped, the
    highest left. ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    drop = len(ordered) * 5 // 100
    return ordered[len(ordered) - 1 - drop]


@dataclass(frozen=True, slots=True)
class Fit:
    """``y = intercept + slope * x`` and how well it fits."""

    slope: float
    intercept: float
    r2: float


def least_squares(xs: Sequence[float], ys: Sequence[float]) -> Fit | None:
    """The least-squares line through the points (``None`` under two distinct xs)."""
    n = len(xs)
    if n < 2:
        return None
    mx = sum(xs) / n
    my = sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    intercept = my - slope * mx
    syy = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - (intercept + slope * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    r2 = 1.0 - ss_res / syy if syy > 0 else 1.0
    return Fit(slope, intercept, r2)


@dataclass(frozen=True, slots=True)
class Trend:
    """The capacity trend of one interface, or why there is none (``reason``)."""

    days: int
    slope_bps_per_week: float | None = None
    r2: float | None = None
    now_bps: float | None = None
    """The fitted 95th percentile on the last day."""
    now_pct: float | None = None
    pct_per_week: float | None = None
    weeks_to: dict[int, float | None] | None = None
    """Weeks until each threshold; 0 when already above it, None when never (flat or
    falling)."""
    reason: str = ""

    def sentence(self) -> str:
        """``65 % and rising 2 %/week → 80 % in about 3 weeks`` (or why not)."""
        if self.reason:
            return self.reason
        if self.now_pct is None or self.pct_per_week is None or self.weeks_to is None:
            slope = (self.slope_bps_per_week or 0) / 1e6
            return f"{slope:+.1f} Mb/s per week (speed unknown: no utilisation)"
        trend = "rising" if self.pct_per_week > 0 else "falling"
        head = f"{self.now_pct:.0f} % and {trend} {abs(self.pct_per_week):.1f} %/week"
        for threshold in THRESHOLDS:
            weeks = self.weeks_to.get(threshold)
            if weeks is None:
                continue
            if weeks == 0:
                continue  # already above it: the next threshold says more
            return f"{head} → {threshold} % in about {_about(weeks)}"
        if self.now_pct >= THRESHOLDS[-1]:
            return f"{head} (above {THRESHOLDS[-1]} % already)"
        return f"{head} (no threshold ahead)"


def _about(weeks: float) -> str:
    if weeks < 1:
        days = max(1, round(weeks * 7))
        return f"{days} day{'s' if days != 1 else ''}"
    if weeks < 13:
        w = round(weeks)
        return f"{w} week{'s' if w != 1 else ''}"
    months = round(weeks / 4.345)
    return f"{months} months"


def capacity_trend(daily: Sequence[tuple[float, float]], speed_bps: float | None) -> Trend:
    """The trend over ``daily`` (day number, 95th percentile in bits/s) against
    ``speed_bps``; refuses (``reason``) under MIN_DAYS days or R² under MIN_R2."""
    days = len(daily)
    if days < MIN_DAYS:
        return Trend(days, reason=f"no trend: {days} full day{'s' if days != 1 else ''} of data, "
                                  f"{MIN_DAYS} needed")
    xs = [d for d, _ in daily]
    ys = [v for _, v in daily]
    fit = least_squares(xs, ys)
    if fit is None:
        return Trend(days, reason="no trend: the days do not vary")
    if fit.r2 < MIN_R2 or math.isnan(fit.r2):
        return Trend(days, slope_bps_per_week=fit.slope * 7, r2=fit.r2,
                     reason=f"no trend: the daily 95th percentiles do not follow a line "
                            f"(R² {fit.r2:.2f} < {MIN_R2})")
    now = fit.intercept + fit.slope * xs[-1]
    if not speed_bps:
        return Trend(days, fit.slope * 7, fit.r2, now)
    now_pct = 100 * now / speed_bps
    pct_week = 100 * fit.slope * 7 / speed_bps
    weeks_to: dict[int, float | None] = {}
    for threshold in THRESHOLDS:
        target = speed_bps * threshold / 100
        if now >= target:
            weeks_to[threshold] = 0.0
        elif fit.slope <= 0:
            weeks_to[threshold] = None
        else:
            weeks_to[threshold] = (target - now) / fit.slope / 7
    return Trend(days, fit.slope * 7, fit.r2, now, now_pct, pct_week, weeks_to)
