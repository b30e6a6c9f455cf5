"""Signals that end netop: SIGINT, SIGTERM and SIGHUP all end it the same clean way.

Python's default for SIGTERM and SIGHUP is to die on the spot: no ``finally`` runs, so a
full-screen terminal stays in the alternate screen with mouse tracking on and the cursor
hidden, and the capture child is left behind. Here both raise :class:`Interrupted`, a
:class:`KeyboardInterrupt`, so every command ends through the path Ctrl-C already takes;
the TUI replaces these handlers with asyncio ones once its event loop runs.

The exit status after a signal is ``128 + signal number`` (130 INT, 143 TERM, 129 HUP),
the shell's convention, so a script can tell "stopped" from "done". ``netop flows -i``
without ``--duration`` is the exception, as in tcpdump: a signal is how it is meant to
stop, so it prints the flows and exits 0.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

#: The signals that end netop cleanly.
ENDING_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread by SIGTERM or SIGHUP (SIGINT raises a plain
    KeyboardInterrupt); ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


Handlers = dict[signal.Signals, Any]


def install() -> Handlers:
    """Make SIGTERM and SIGHUP raise :class:`Interrupted`; return the handlers they had,
    for :func:`restore`. Does nothing outside the main thread (Python allows handlers
    only there)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, _raise) for sig in (signal.SIGTERM, signal.SIGHUP)}


def restore(previous: Handlers) -> None:
    """Put back the handlers :func:`install` replaced."""
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def exit_status(exc: BaseException) -> int:
    """The exit status for an interruption: 128 + the signal's number."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))
