"""Each default and limit is written once: a number repeated across modules drifts when
one copy is changed (``max_flows``, the snapshot length, the kernel ring)."""

from __future__ import annotations

import io
import tokenize
from pathlib import Path

import pytest

import netop

ROOT = Path(netop.__file__).parent

#: number → the one module that may write it as a literal.
ONE_PLACE = {
    200_000: "config.py",  # DEFAULT_MAX_FLOWS
    262_144: "packet/pcapfile.py",  # MAX_SNAPLEN
}


def _value(literal: str) -> int | None:
    try:
        return int(literal.replace("_", ""), 0)
    except ValueError:
        return None  # a float or complex literal


def number_literals(value: int) -> list[str]:
    """``path:line`` of each literal of ``value`` in netop's code (not its comments or
    docstrings: a config example may show the default)."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
        for tok in tokens:
            if tok.type == tokenize.NUMBER and _value(tok.string) == value:
                found.append(f"{path.relative_to(ROOT)}:{tok.start[0]}")
    return found


@pytest.mark.parametrize(("value", "home"), sorted(ONE_PLACE.items()))
def test_a_repeated_default_is_written_in_one_place(value: int, home: str) -> None:
    assert [at for at in number_literals(value) if not at.startswith(f"{home}:")] == []
    assert len(number_literals(value)) == 1
