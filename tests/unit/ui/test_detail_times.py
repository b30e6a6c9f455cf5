"""The detail screen's times: a time no clock can show is shown as a number, not a crash.

A flow exporter or a file can carry any 64-bit time; the detail screen must open anyway.
"""

from __future__ import annotations

import math
import os
import time

import pytest

from netop.ui.detail import _when


@pytest.mark.parametrize("ts", [2.0**62, -1e18, math.inf, math.nan])
def test_an_impossible_time_is_shown_as_the_number(ts: float) -> None:
    shown = _when(ts)
    assert shown == f"{ts:g} (not a date)"


def test_a_real_time_is_a_date() -> None:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        assert _when(1_700_000_000.25) == "2023-11-14 22:13:20.250"
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()
