"""iftop's scale bars: a row's rate as a bar behind it on a log scale, 10 b/s to 1 Gb/s
(10 B/s to 1 GB/s in bytes), and the ruler that says where each decade is."""

from __future__ import annotations

import math

#: The decades the scale spans: 10^1 .. 10^9 (10 b/s .. 1 Gb/s), as iftop's log scale.
LOW, HIGH = 1, 9

_PREFIXES = ("", "k", "M", "G")


def bar_fraction(bits_per_second: float, bits: bool = True) -> float:
    """Where ``bits_per_second`` (in bytes when not ``bits``) falls on the scale, 0..1."""
    value = bits_per_second if bits else bits_per_second / 8
    if value <= 10 ** LOW:
        return 0.0
    return min(1.0, (math.log10(value) - LOW) / (HIGH - LOW))


def _label(decade: int, bits: bool) -> str:
    prefix, power = divmod(decade, 3)
    return f"{10 ** power}{_PREFIXES[prefix]}{'b' if bits else 'B'}"


def scale_ruler(width: int, bits: bool = True, margin: int = 0) -> str:
    """A line ``width`` cells wide with each decade's label where its bar would end
    (``10b────100b────1kb…``), less ``margin`` cells at each end (where a border title
    cannot go; the labels there move in); a label that would run into the next is left
    out, never the first or the last."""
    line = ["─"] * width
    last = _label(HIGH, bits)
    stop = max(margin, width - margin - len(last))
    line[stop:stop + len(last)] = last
    end = margin - 1
    for decade in range(LOW, HIGH):
        label = _label(decade, bits)
        at = max(margin, round((decade - LOW) / (HIGH - LOW) * width))
        if at <= end or at + len(label) >= stop:
            continue
        line[at:at + len(label)] = label
        end = at + len(label)
    return "".join(line[margin:max(margin, width - margin)])
