"""Making untrusted text (DNS names, process names, payload summaries) safe to show.

Anything that came from the network or from another user's process can carry terminal
escape codes, newlines that break a table row, bidirectional-override characters that
make a name read backwards, zero-width characters that make two names look alike, or
thousands of combining marks. :func:`safe_text` turns such a string into one line of
printable text. It does not escape Rich markup: a ``[red]`` in a name is just text, and
views must show it as text (a ``rich.text.Text``/``Content``, never a markup string).
"""

from __future__ import annotations

import unicodedata

#: What an unprintable character is shown as.
REPLACEMENT = "\ufffd"
#: Combining marks kept after one base character; more is "Zalgo" text that overflows rows.
MAX_COMBINING = 2
_WHITESPACE = {"\t": " ", "\n": " ", "\r": " ", "\v": " ", "\f": " "}


def safe_text(text: object, limit: int = 253) -> str:
    """One line of printable text, at most ``limit`` characters (``…`` marks a cut).

    Control characters (C0 incl. ESC, DEL, C1), format characters (bidi overrides,
    zero-width joiners, BOM), surrogates, private-use and unassigned code points become
    U+FFFD; tabs and newlines become spaces; runs of combining marks are cut to
    :data:`MAX_COMBINING`. Non-strings are converted with ``str`` first; bytes are
    decoded as UTF-8 with replacement.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    elif not isinstance(text, str):
        text = str(text)
    limit = max(1, limit)
    if text.isascii() and text.isprintable():
        return text if len(text) <= limit else text[: limit - 1] + "…"
    # Bound the work on a huge input before the per-character loop.
    text = text[: limit * (MAX_COMBINING + 2)]
    out: list[str] = []
    combining = 0
    for char in text:
        if char.isprintable():
            if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me"):
                combining += 1
                if combining > MAX_COMBINING or not out:
                    continue
            else:
                combining = 0
            out.append(char)
        else:
            combining = 0
            out.append(_WHITESPACE.get(char, REPLACEMENT))
    result = "".join(out)
    return result if len(result) <= limit else result[: limit - 1] + "…"
