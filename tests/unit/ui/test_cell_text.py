"""Every table cell shows text by the one rule of :mod:`netop.text`: what reaches the
screen from an interface, an agent or a resolver is made printable the same way."""

from __future__ import annotations

import pytest

from netop.text import safe_text
from netop.ui.widgets.linetable import cut_middle

HOSTILE = [
    "eth\u200d0",  # zero-width joiner: two names that look alike
    "wlan\ue0000",  # private use
    "ge-0/0/1\tuplink",  # a tab would shift the columns after it
    "lo\x1b[2J",  # ESC: clears the screen
    "abc\u202edcba",  # bidi override: reads backwards
    "x\u0301\u0301\u0301\u0301\u0301",  # combining marks piled up
    "port\x85",  # C1 control
]


@pytest.mark.parametrize("text", HOSTILE)
def test_cells_make_text_printable_as_safe_text_does(text: str) -> None:
    assert cut_middle(text, 100) == safe_text(text)
