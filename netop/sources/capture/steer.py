"""Steering a capture file as it plays: pause (the reader really stops), steps, speed,
jumps forward; and where the file is, for the header.

The file's reader (:func:`netop.sources.capture.offline.paced_ticks`) passes through
:meth:`FileSteering.gate` once per tick on its own thread; the UI's keys change the
steering from the UI thread. A capture file is read forwards only: going back needs the
flows as they were then, which is what a recording (``netop record``) keeps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: A silence in the file longer than this (seconds of packet time) is skipped, not
#: waited through, when the file plays at a pace.
GAP_SECONDS = 5.0
#: Speeds ``-``/``+`` step through (as for recordings).
SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)


def next_speed(speed: float, faster: bool) -> float:
    """The speed after ``speed`` in :data:`SPEEDS` (clamped at the ends)."""
    if faster:
        return next((s for s in SPEEDS if s > speed), SPEEDS[-1])
    return next((s for s in reversed(SPEEDS) if s < speed), SPEEDS[0])


def gap_text(seconds: float) -> str:
    """``3h 20m``, ``2d 4h``, ``45s``: a gap's length."""
    s = int(seconds)
    if s >= 86400:
        return f"{s // 86400}d {s % 86400 // 3600}h"
    if s >= 3600:
        return f"{s // 3600}h {s % 3600 // 60}m"
    if s >= 60:
        return f"{s // 60}m {s % 60}s"
    return f"{s}s"


class FileSteering:
    """Thread-safe playback state of one capture file."""

    def __init__(self, speed: float | None, size: int) -> None:
        self._cond = threading.Condition()
        self.fast = speed is None
        self.speed = speed or 1.0
        self.paused = False
        self._steps = 0
        self.target: float | None = None
        #: Bumped whenever the pace must restart from here (resume, speed, jump, gap).
        self.generation = 0
        self.size = max(1, size)
        self.read_bytes = 0
        self.first: float | None = None
        """The file's first packet time, once read."""
        self.clock: float | None = None
        """The file time played up to (the end of the last tick handed on)."""
        self.latest: float | None = None
        """The latest packet time read from the file (the reader reads ahead of what
        is played), at ``ahead_bytes`` of it."""
        self.ahead_bytes = 0
        self.packets = 0
        self.malformed = 0
        self.ended = False
        self.note = ""
        #: True while the reader waits in :meth:`gate` (what a test synchronises on).
        self.holding = False

    # -- from the UI --------------------------------------------------------------------

    def toggle_pause(self) -> None:
        """Stop reading the file, or go on."""
        with self._cond:
            self.paused = not self.paused
            self.generation += 1
            self.note = ""
            self._cond.notify_all()

    def step(self, ticks: int) -> None:
        """Pause and let ``ticks`` ticks through (forwards only)."""
        with self._cond:
            self.paused = True
            if ticks < 0:
                self.note = "a capture file plays forwards only (netop record keeps history)"
            else:
                self._steps += ticks
                self.note = ""
            self.generation += 1
            self._cond.notify_all()

    def change_speed(self, faster: bool) -> None:
        """Next speed up or down."""
        with self._cond:
            self.speed = next_speed(self.speed, faster)
            self.fast = False
            self.generation += 1

    def seek(self, ts: float) -> None:
        """Read on at full speed up to file time ``ts`` (a time already read: a note)."""
        with self._cond:
            if self.clock is not None and ts <= self.clock:
                self.note = "a capture file plays forwards only (netop record keeps history)"
                return
            self.target = ts
            self.note = ""
            self._cond.notify_all()

    # -- from the reader ----------------------------------------------------------------

    def gate(self, stopped: Callable[[], bool]) -> None:
        """Wait here while paused (bounded waits, so a stop is seen), unless a step or a
        jump lets the tick through."""
        with self._cond:
            while (self.paused and not self._steps and self.target is None
                   and not stopped()):
                self.holding = True
                self._cond.wait(0.2)
            self.holding = False
            if self._steps:
                self._steps -= 1

    def pace(self) -> float | None:
        """Packet seconds per wall second now; ``None``: as fast as it reads."""
        if self.fast or self.target is not None:
            return None
        return self.speed

    def begin(self, first: float) -> None:
        """The reader found the file's first packet time."""
        with self._cond:
            self.first = first

    def read_ahead(self, latest: float, ahead_bytes: int) -> None:
        """The reader has read ``ahead_bytes`` of the file, packets up to ``latest``."""
        with self._cond:
            self.latest = latest
            self.ahead_bytes = ahead_bytes

    def at(self, clock: float, read_bytes: int) -> None:
        """The reader reached file time ``clock`` having read ``read_bytes``."""
        with self._cond:
            if self.first is None:
                self.first = clock
            self.clock = clock
            self.read_bytes = read_bytes
            if self.target is not None and clock >= self.target:
                self.target = None
                self.generation += 1

    def skipped(self, seconds: float) -> str:
        """A gap was skipped: the note (also the event's text)."""
        with self._cond:
            self.note = f"skipped a silence of {gap_text(seconds)}"
            self.generation += 1
            return self.note

    def waited(self) -> float:
        """Wall time now (the reader's clock for pacing; one place to fake in tests)."""
        return time.monotonic()
