"""Numbers with unit suffixes, as users type them in filters.

Counts and rates take SI prefixes (``k``/``K``, ``M``, ``G``, ``T``, ``P``: powers of
1000) or binary ones (``Ki``, ``Mi``, ``Gi``, ``Ti``, ``Pi``: powers of 1024). Durations
take ``ms``, ``s``, ``m`` (minutes), ``h`` and ``d``. A bare number is the base unit
(bytes, packets, bits per second, seconds).
"""

from __future__ import annotations

import math
import re

#: Multipliers of the count/rate suffixes. ``k`` and ``K`` both mean 1000 (users type both).
SI_SUFFIXES: dict[str, int] = {
    "": 1,
    "k": 1000,
    "K": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "P": 1000**5,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "Pi": 1024**5,
}

#: Multipliers of the duration suffixes, in seconds.
TIME_SUFFIXES: dict[str, float] = {
    "": 1.0,
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}

_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)([A-Za-z]*)\Z")


class UnitError(ValueError):
    """A quantity that cannot be read; the message says why in a few words."""


def parse_quantity(text: str, time: bool = False) -> float:
    """The value of ``text`` such as ``"1.5M"``, ``"10Ki"`` or (``time=True``) ``"30s"``.

    Rate suffixes may end in ``bps``/``bit`` (``10Mbps``), which changes nothing: rates
    are bits per second. Raises :class:`UnitError` for anything else, including values
    that overflow to infinity.
    """
    match = _QUANTITY.match(text)
    if match is None:
        raise UnitError(f"not a number: {text!r}")
    number, suffix = match.groups()
    table: dict[str, float] | dict[str, int] = TIME_SUFFIXES if time else SI_SUFFIXES
    if not time:
        for tail in ("bps", "bit", "b"):
            if suffix.endswith(tail) and suffix[: -len(tail)] in SI_SUFFIXES:
                suffix = suffix[: -len(tail)]
                break
    if suffix not in table:
        known = ", ".join(key for key in table if key)
        raise UnitError(f"unknown unit {suffix!r} (use {known})")
    value = float(number) * table[suffix]
    if not math.isfinite(value):
        raise UnitError(f"number too large: {text!r}")
    return value


def format_number(value: float) -> str:
    """Canonical text of a parsed value: an integer when integral, else ``repr``.

    ``parse_quantity(format_number(v)) == v`` for every finite ``v >= 0``.
    """
    if value.is_integer() and abs(value) < 1e18:
        return str(int(value))
    return repr(value)
