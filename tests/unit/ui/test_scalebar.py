"""The scale bars' log scale and ruler (iftop's 10b..1Gb)."""

from __future__ import annotations

import pytest

from netop.ui.widgets.scalebar import bar_fraction, scale_ruler


def test_the_scale_is_logarithmic_from_10b_to_1gb() -> None:
    assert bar_fraction(0) == 0.0
    assert bar_fraction(10) == 0.0
    assert bar_fraction(1e9) == 1.0
    assert bar_fraction(5e9) == 1.0
    assert bar_fraction(1e5) == pytest.approx(0.5)  # 100 kb/s: half way
    assert bar_fraction(8e5, bits=False) == pytest.approx(0.5)  # 100 kB/s


@pytest.mark.parametrize("width", [40, 76, 196])
def test_the_ruler_puts_each_decade_where_its_bar_ends(width: int) -> None:
    ruler = scale_ruler(width)
    assert len(ruler) == width
    assert ruler.startswith("10b")
    assert ruler.endswith("1Gb")
    mid = ruler.index("100kb")
    assert abs(mid - round(bar_fraction(1e5) * width)) <= 1
    assert "1GB" in scale_ruler(width, bits=False)


def test_a_margin_keeps_the_first_and_last_labels_inside() -> None:
    ruler = scale_ruler(76, margin=2)
    assert len(ruler) == 72
    assert ruler.startswith("10b")
    assert ruler.endswith("1Gb")
    # The others stay where their bars end (the ruler starts at cell 2).
    assert abs(2 + ruler.index("100kb") - round(bar_fraction(1e5) * 76)) <= 1
