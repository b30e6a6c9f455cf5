"""Steering something that plays back (a recording, a capture file): the contract the
TUI's playback keys use, the state its header shows, and the "go to" parser.

The TUI reads snapshots from a :class:`SnapshotProvider`: the live
:class:`~netop.engine.engine.Engine`, or a recording's player. What plays back also
offers a :class:`Playback`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Protocol

from netop.config import Config
from netop.model import NetEvent, Snapshot, ViewSpec
from netop.sources.capture.steer import FileSteering


class SnapshotProvider(Protocol):
    """Where the TUI gets its snapshots: ticked on the app's worker thread."""

    config: Config
    view_spec: ViewSpec
    nic_detail: str | None
    """The local interface whose detail screen is open (its deeper counters are read
    while it is; a recording has none to read)."""
    kpi_by: str | None
    """``host`` or ``service`` while the KPI screen is open (the KPIs are aggregated only
    then), else ``None``."""

    @property
    def named_interfaces(self) -> tuple[str, ...]:
        """The interfaces (glob patterns) the user named: listed first."""
        ...

    def acknowledge(self, key: tuple[str, str]) -> None:
        """Acknowledge the alert of (kind, entity), from the UI's thread."""

    def start(self) -> None:
        """Begin (sources, files)."""

    def stop(self) -> None:
        """End; safe twice."""

    def tick(self, now: float | None = None) -> Snapshot:
        """The next snapshot."""
        ...

    def emit(self, item: NetEvent) -> None:
        """Log an event (the UI's own errors)."""


@dataclass(frozen=True, slots=True)
class PlaybackState:
    """Where playback is, for the header."""

    kind: str
    """``"replay"`` or ``"file"``."""
    start: float
    end: float
    position: float
    speed: float = 1.0
    paused: bool = False
    ended: bool = False
    note: str = ""
    """A one-off remark (a gap skipped, a bad "go to")."""
    detail: str = ""
    """What else applies (packets read, malformed)."""

    @property
    def fraction(self) -> float:
        """Position in [0, 1] of the whole span."""
        span = self.end - self.start
        if span <= 0:
            return 1.0
        return min(1.0, max(0.0, (self.position - self.start) / span))


class Playback(Protocol):
    """The playback keys' actions; called on the UI thread."""

    def state(self) -> PlaybackState:
        """Where it is now."""
        ...

    def toggle_pause(self) -> None:
        """Pause or resume the playing itself."""

    def step(self, ticks: int) -> None:
        """Pause and move ``ticks`` intervals (negative: back)."""

    def change_speed(self, faster: bool) -> None:
        """The next speed up or down in :data:`SPEEDS`."""

    def seek(self, ts: float) -> None:
        """Go to time ``ts`` (clamped to the span)."""

    def current(self) -> Snapshot | None:
        """The snapshot at the position now, when it can be had at once (a recording);
        ``None``: at the next tick (a capture file being read)."""
        ...


_RELATIVE = re.compile(r"^([+-])\s*(\d+(?:\.\d+)?)\s*([smhd]?)$")
_UNITS = {"": 60.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_CLOCK = re.compile(r"^(?:(\d{4})-(\d{2})-(\d{2})[ T])?(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def parse_goto(text: str, state: PlaybackState) -> float:
    """The time ``text`` names: ``14:32`` (``14:32:05``, ``2026-01-01 14:32``) in local
    time on the day of the position, ``-10m``/``+30s``/``+2h`` from the position,
    ``43%`` of the span. ValueError with the reason otherwise."""
    text = text.strip()
    if text.endswith("%"):
        try:
            pct = float(text[:-1])
        except ValueError:
            raise ValueError(f"not a percentage: {text!r}") from None
        if not 0 <= pct <= 100:
            raise ValueError("a percentage is 0 to 100")
        return state.start + (state.end - state.start) * pct / 100
    rel = _RELATIVE.match(text)
    if rel:
        sign, amount, unit = rel.groups()
        delta = float(amount) * _UNITS[unit]
        return state.position + (delta if sign == "+" else -delta)
    clock = _CLOCK.match(text)
    if clock:
        y, mo, d, h, mi, s = clock.groups()
        base = time.localtime(state.position)
        if y is not None:
            year, month, day = int(y), int(mo), int(d)
        else:
            year, month, day = base.tm_year, base.tm_mon, base.tm_mday
        if int(h) > 23 or int(mi) > 59 or int(s or 0) > 59:
            raise ValueError(f"not a time: {text!r}")
        return time.mktime((year, month, day, int(h), int(mi), int(s or 0), 0, 0, -1))
    raise ValueError(f"go to 14:32, 2026-01-01 14:32, -10m, +30s or 43% (not {text!r})")


def _file_end(s: FileSteering, first: float, clock: float) -> float:
    """The file's end time: the last packet's once the reader has read the whole file
    (it reads ahead of what is played, a file of up to 16 MiB at once); before that,
    estimated from the time and share of the bytes read ahead, else of those played."""
    if s.latest is not None and s.ahead_bytes > 0:
        if s.ahead_bytes >= s.size:
            return s.latest
        return first + (s.latest - first) * s.size / s.ahead_bytes
    share = min(1.0, s.read_bytes / s.size) if s.size else 0.0
    return first + (clock - first) / share if share > 0.01 else clock


class FilePlayback:
    """The playback keys over a capture file being played (``netop -r FILE``)."""

    def __init__(self, steering: FileSteering) -> None:
        self.steering = steering

    def state(self) -> PlaybackState:
        """Where the file is: its time, the share of it read, packets read, malformed."""
        s = self.steering
        first = s.first if s.first is not None else 0.0
        clock = s.clock if s.clock is not None else first
        end = _file_end(s, first, clock)
        detail = f"{s.packets} packets read"
        if s.malformed:
            detail += f", {s.malformed} malformed"
        if s.first is None:  # nothing read yet: nothing played, no span to show
            return PlaybackState("file", 0.0, 1.0, 0.0, s.speed, s.paused, s.ended,
                                 s.note, detail)
        return PlaybackState("file", first, max(end, clock), clock, s.speed,
                             s.paused, s.ended, s.note, detail)

    def toggle_pause(self) -> None:
        """Stop or go on reading the file."""
        self.steering.toggle_pause()

    def step(self, ticks: int) -> None:
        """Pause and read ``ticks`` more ticks (forwards only)."""
        self.steering.step(ticks)

    def change_speed(self, faster: bool) -> None:
        """Next speed."""
        self.steering.change_speed(faster)

    def seek(self, ts: float) -> None:
        """Read on up to ``ts``."""
        self.steering.seek(ts)

    def current(self) -> Snapshot | None:
        """Not at once: the next tick shows where the file got to."""
        return None
