"""Unit suffixes as typed in filters and shown on screen."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netop.engine.units import UnitError, format_number, parse_quantity


@pytest.mark.parametrize(
    ("text", "time", "value"),
    [
        ("5", False, 5.0),
        ("10k", False, 10_000.0),
        ("10K", False, 10_000.0),
        ("1.5M", False, 1_500_000.0),
        ("2G", False, 2e9),
        ("1T", False, 1e12),
        ("1Ki", False, 1024.0),
        ("3Mi", False, 3 * 1024.0**2),
        ("10Mbps", False, 1e7),
        ("1e3", False, 1000.0),
        ("30s", True, 30.0),
        ("250ms", True, 0.25),
        ("2m", True, 120.0),
        ("1h", True, 3600.0),
        ("1d", True, 86400.0),
        ("45", True, 45.0),
    ],
)
def test_parse_quantity(text: str, time: bool, value: float) -> None:
    assert parse_quantity(text, time=time) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "time"),
    [
        ("", False),
        ("M", False),
        ("1X", False),
        ("1s", False),
        ("1k", True),
        ("-1", False),
        ("1e999", False),
        ("١٢", False),
        ("1.", False),
    ],
)
def test_parse_quantity_rejects(text: str, time: bool) -> None:
    with pytest.raises(UnitError):
        parse_quantity(text, time=time)


@given(st.floats(min_value=0, max_value=1e300, allow_nan=False))
def test_format_number_round_trips(value: float) -> None:
    assert parse_quantity(format_number(value)) == value
