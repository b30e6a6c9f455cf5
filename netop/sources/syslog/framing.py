"""RFC 6587 framing of syslog over TCP: octet counting (``LEN SP MSG``) or a newline
after each message (non-transparent framing), told apart per frame as rsyslog does: a
frame that starts with a digit is octet-counted, one that starts with ``<`` ends at LF.

A frame is never allowed to grow past :data:`MAX_FRAME`: a newline-framed message
that long is cut there (and the rest up to the next newline skipped), a count larger
than that closes the connection (the stream can no longer be followed).
"""

from __future__ import annotations

from netop.sources.syslog.parser import MAX_MESSAGE

MAX_FRAME = MAX_MESSAGE
_MAX_DIGITS = 6


class FramingError(ValueError):
    """The stream cannot be split into messages any more."""


class Framer:
    """Splits one TCP connection's bytes into messages."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._skipping = False
        #: Messages cut at MAX_FRAME.
        self.oversize = 0

    def feed(self, data: bytes) -> list[bytes]:
        """The whole messages completed by ``data``; FramingError when the stream is bad."""
        buf = self._buf
        buf += data
        out: list[bytes] = []
        pos = 0
        end = len(buf)
        while pos < end:
            if self._skipping:
                lf = buf.find(b"\n", pos)
                if lf < 0:
                    pos = end
                    break
                self._skipping = False
                pos = lf + 1
                continue
            first = buf[pos]
            if 0x30 <= first <= 0x39:
                space = buf.find(b" ", pos, pos + _MAX_DIGITS + 1)
                if space < 0:
                    if end - pos > _MAX_DIGITS:
                        raise FramingError("octet count too long or not followed by a space")
                    break
                digits = bytes(buf[pos:space])
                if not digits.isdigit():
                    raise FramingError("bad octet count")
                size = int(digits)
                if size > MAX_FRAME:
                    raise FramingError(f"octet count {size} over the {MAX_FRAME}-byte limit")
                if space + 1 + size > end:
                    break
                out.append(bytes(buf[space + 1 : space + 1 + size]))
                pos = space + 1 + size
            elif first in (0x0A, 0x0D, 0x00, 0x20):
                pos += 1  # stray separators between frames
            else:
                lf = buf.find(b"\n", pos, pos + MAX_FRAME + 1)
                if lf < 0:
                    if end - pos > MAX_FRAME:
                        out.append(bytes(buf[pos : pos + MAX_FRAME]))
                        self.oversize += 1
                        self._skipping = True
                        pos += MAX_FRAME
                        continue
                    break
                out.append(bytes(buf[pos:lf]))
                pos = lf + 1
        del buf[:pos]
        return out
