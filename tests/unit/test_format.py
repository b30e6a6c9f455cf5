"""Human-readable numbers."""

from __future__ import annotations

import pytest

from netop.format import human_age, human_rate, si


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (999, "999"), (1000, "1.00k"), (1234, "1.23k"), (12_345_678, "12.3M"),
     (1.5e9, "1.50G"), (42.5, "42.5")],
)
def test_si(value: float, text: str) -> None:
    assert si(value) == text


def test_rates_in_bits_or_bytes() -> None:
    assert human_rate(8_000_000) == "8.00Mb/s"
    assert human_rate(8_000_000, bits=False) == "1.00MB/s"
    assert human_rate(None) == "—"


def test_ages() -> None:
    assert [human_age(s) for s in (5, 65, 3725, 90000)] == ["5s", "1m05s", "1h02m", "1d01h"]
