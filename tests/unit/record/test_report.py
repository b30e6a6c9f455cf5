"""``netop report``: the billing 95th percentile and the capacity trend, on recordings
whose numbers are known (made by the synthetic recorder at accelerated time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.record_gen import GBIT, T0, Scenario, generate, linear_level
from netop.engine.capacity import capacity_trend, least_squares, percentile95
from netop.engine.recording import open_reader
from netop.engine.report import build_report

#: 5-minute ticks: each tick is one billing sample (the rollup is what the report reads).
STEP = 300.0
PER_DAY = int(86400 / STEP)
BASE = 455e6          # busy-hour level on day 0
PER_WEEK = 35e6       # its growth: 3.5 % of 1 Gb/s a week


def report_of(path: Path, *args: str) -> dict:  # type: ignore[type-arg]
    out = subprocess.run([sys.executable, "-m", "netop", "report", str(path), "--json", *args],
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "month.db"
    generate(str(path), Scenario(interfaces=2, flows=5, level=linear_level(BASE, PER_WEEK)),
             T0, 30 * PER_DAY, STEP)
    return path


def test_percentile95_drops_the_top_five_percent() -> None:
    assert percentile95([float(v) for v in range(1, 101)]) == 95.0
    month = [1.0] * 8208 + [100.0] * 432  # 432 burst samples in 8,640: all dropped
    assert percentile95(month) == 1.0
    assert percentile95(month + [100.0]) == 100.0
    assert percentile95([]) is None


def test_least_squares_is_exact_on_a_line() -> None:
    fit = least_squares([0, 1, 2, 3], [1, 3, 5, 7])
    assert fit is not None
    assert fit.slope == pytest.approx(2)
    assert fit.intercept == pytest.approx(1)
    assert fit.r2 == pytest.approx(1)


def test_a_month_gives_the_95th_percentile_and_the_known_trend(month: Path) -> None:
    report = report_of(month)
    eth0 = next(r for r in report["interfaces"] if r["iface"] == "eth0")
    last_level = BASE + PER_WEEK * 29 / 7
    # Busy hours are 8 % of a day: the month's 95th percentile lies in the last days'.
    assert BASE < eth0["p95_bps"] <= last_level * 1.011
    assert eth0["speed_bps"] == GBIT
    assert eth0["peak_rx_bps"] == pytest.approx(last_level, rel=0.011)
    trend = eth0["trend"]
    assert trend["shown"]
    assert trend["days"] == 30
    assert trend["slope_bps_per_week"] == pytest.approx(PER_WEEK, rel=0.05)
    assert trend["r2"] > 0.99
    assert trend["util_per_week"] == pytest.approx(3.5, rel=0.05)
    # Day 29's level is 600 Mb/s: 70 % is 100 Mb/s away, at 35 Mb/s a week.
    assert trend["now_util"] == pytest.approx(60.0, rel=0.02)
    assert trend["weeks_to"]["70"] == pytest.approx(100 / 35, rel=0.05)
    assert trend["weeks_to"]["80"] == pytest.approx(200 / 35, rel=0.05)
    assert trend["text"] == "60 % and rising 3.5 %/week → 70 % in about 3 weeks"


def test_three_days_are_refused_with_the_reason(month: Path) -> None:
    report = report_of(month, "--from=-3d")
    eth0 = next(r for r in report["interfaces"] if r["iface"] == "eth0")
    assert not eth0["trend"]["shown"]
    assert eth0["trend"]["weeks_to"] is None
    assert "3 full days of data, 7 needed" in eth0["trend"]["text"]


def test_a_noisy_trend_is_refused_with_its_r2() -> None:
    noisy = [(float(d), 500e6 + (80e6 if d % 2 else -80e6)) for d in range(14)]
    trend = capacity_trend(noisy, GBIT)
    assert trend.reason.startswith("no trend: the daily 95th percentiles do not follow a line")
    assert trend.weeks_to is None


def test_the_text_report_says_it_in_words(month: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "netop", "report", str(month)],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert "eth0: 60 % and rising 3.5 %/week → 70 % in about 3 weeks" in out
    assert "top hosts" in out


def test_build_report_reads_rollups_not_ticks(month: Path) -> None:
    db = open_reader(str(month))
    report = build_report(db, None, None)
    assert report["ticks"] == 30 * PER_DAY
    assert report["top_services"][0]["key"] == "tcp/443"
    assert report["alerts_total"] > 0


@pytest.mark.parametrize("args", [["--from", "yesterday"], ["--to", "25:99"]])
def test_a_bad_time_is_one_line_and_exit_2(month: Path, args: list[str]) -> None:
    out = subprocess.run([sys.executable, "-m", "netop", "report", str(month), *args],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.startswith("netop: --")
    assert "Traceback" not in out.stderr
