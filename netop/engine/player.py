"""Plays a recording back as snapshots: the TUI's provider in ``netop replay``.

Each :meth:`RecordingPlayer.tick` (one per interval on the app's worker thread) moves
``speed`` recorded ticks on and returns that tick's snapshot, its Flows view rebuilt by
the user's view spec (:mod:`netop.engine.replay_view`), its sparklines from the ticks
before it. Ticks are read by index, never all at once: opening a month-long file costs
what opening a minute-long one does. Playing moves tick by tick, so the hours the
recorder was not running are skipped (with a note), never waited through.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import deque
from dataclasses import replace

from netop.config import Config
from netop.engine.engine import SNAPSHOT_EVENTS
from netop.engine.flowview import HISTORY_TICKS
from netop.engine.history import RateHistory
from netop.engine.playback import PlaybackState
from netop.engine.recording import (
    RecordingError,
    TickDecoder,
    event_of,
    open_reader,
    read_meta,
)
from netop.engine.replay_view import replay_view
from netop.model import FlowRow, InterfaceRate, NetEvent, Snapshot, ViewSpec
from netop.sources.capture.steer import gap_text, next_speed
from netop.text import safe_text

#: A jump between two ticks longer than this many intervals is a gap worth a note.
GAP_INTERVALS = 5
#: Ticks a note (a gap skipped) stays in the header: long enough to be read.
NOTE_TICKS = 5
#: The key of the ``all`` row's history (the engine's).
_TOTAL = ("local", "all")


class RecordingPlayer:
    """A :class:`~netop.engine.playback.SnapshotProvider` and
    :class:`~netop.engine.playback.Playback` over one recording file."""

    def __init__(self, path: str, config: Config) -> None:
        """Opens ``path`` read-only; RecordingError when it is no recording."""
        self.path = path
        self._db: sqlite3.Connection = open_reader(path)
        meta = read_meta(self._db)
        self._meta = meta
        self.decoder = TickDecoder(meta)
        self._decoded: int | None = None
        interval = float(meta.get("interval", config.interval))
        self.config = replace(config, interval=interval)
        self.view_spec = ViewSpec()
        self.nic_detail: str | None = None
        self.kpi_by: str | None = None
        self._lock = threading.Lock()
        self._history_len = max(2, round(config.history_seconds / interval))
        first = self._db.execute("SELECT seq, ts FROM ticks ORDER BY seq LIMIT 1").fetchone()
        last = self._db.execute(
            "SELECT seq, ts FROM ticks ORDER BY seq DESC LIMIT 1").fetchone()
        if first is None:
            raise RecordingError(f"{path}: the recording has no ticks yet")
        self._start: float = first[1]
        self._end: float = last[1]
        self._seq: int = first[0]
        self._ts: float = first[1]
        self.paused = False
        self.speed = 1.0
        self._credit = 0.0
        self._ended = False
        self._note = ""
        self._note_ticks = 0
        self._history: RateHistory | None = None
        self._history_seq: int | None = None
        #: Per flow row on screen its rates (both ways), as the live engine keeps them
        #: for the Avg 2s / 40s and Peak columns; ``_flow_seq``: the tick they end at.
        self._flow_history: dict[str, deque[float]] = {}
        self._flow_seq: int | None = None
        self._own_events: list[NetEvent] = []
        self._last: Snapshot | None = None

    # -- provider ---------------------------------------------------------------------

    @property
    def named_interfaces(self) -> tuple[str, ...]:
        """None: a recording's rows are shown as they were ordered."""
        return ()

    def acknowledge(self, key: tuple[str, str]) -> None:
        """Nothing: a recording's alerts are as they were."""

    def start(self) -> None:
        """Nothing to start: the file is open."""

    def stop(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def emit(self, item: NetEvent) -> None:
        """The UI's own errors: kept, shown as the last events."""
        self._own_events = [*self._own_events[-9:], item]

    def tick(self, now: float | None = None) -> Snapshot:
        """Move on by ``speed`` ticks (unless paused) and return the snapshot there."""
        with self._lock:
            if not self.paused and not self._ended:
                self._credit += self.speed
                whole = int(self._credit)
                self._credit -= whole
                if whole:
                    self._advance(whole)
            return self._snapshot()

    def current(self) -> Snapshot:
        """The snapshot at the position (after a key moved it)."""
        with self._lock:
            return self._snapshot()

    # -- playback ---------------------------------------------------------------------

    def state(self) -> PlaybackState:
        """Where playback is."""
        return PlaybackState("replay", self._start, self._end, self._ts, self.speed,
                             self.paused, self._ended, self._note)

    def toggle_pause(self) -> None:
        """Pause or resume; at the end, resume starts over."""
        with self._lock:
            if self._ended and self.paused:
                self._goto_seq(*self._first_at(self._start))
            self.paused = not self.paused
            self._note = ""

    def step(self, ticks: int) -> None:
        """Pause and move ``ticks`` recorded ticks."""
        with self._lock:
            self.paused = True
            self._advance(ticks)

    def change_speed(self, faster: bool) -> None:
        """Next speed up or down."""
        self.speed = next_speed(self.speed, faster)
        self._credit = 0.0

    def seek(self, ts: float) -> None:
        """Go to the first tick at or after ``ts`` (clamped to the recording)."""
        with self._lock:
            ts = min(max(ts, self._start), self._end)
            self._goto_seq(*self._first_at(ts))
            self._note = ""

    # -- internals --------------------------------------------------------------------

    def _first_at(self, ts: float) -> tuple[int, float]:
        row = self._db.execute("SELECT seq, ts FROM ticks WHERE ts >= ? ORDER BY ts LIMIT 1",
                               (ts,)).fetchone()
        if row is None:
            row = self._db.execute(
                "SELECT seq, ts FROM ticks ORDER BY seq DESC LIMIT 1").fetchone()
        return int(row[0]), float(row[1])

    def _goto_seq(self, seq: int, ts: float) -> None:
        self._seq, self._ts = seq, ts
        self._ended = False
        self._credit = 0.0

    def _advance(self, ticks: int) -> None:
        if ticks > 0:
            row = self._db.execute(
                "SELECT seq, ts FROM ticks WHERE seq > ? ORDER BY seq LIMIT 1 OFFSET ?",
                (self._seq, ticks - 1)).fetchone()
            if row is None:  # the end: stay on the last tick, paused
                row = self._db.execute(
                    "SELECT seq, ts FROM ticks ORDER BY seq DESC LIMIT 1").fetchone()
                self._ended = True
                self.paused = True
                self._note = "end of recording"
        else:
            row = self._db.execute(
                "SELECT seq, ts FROM ticks WHERE seq < ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
                (self._seq, -ticks - 1)).fetchone()
            if row is None:
                row = self._db.execute(
                    "SELECT seq, ts FROM ticks ORDER BY seq LIMIT 1").fetchone()
            self._ended = False
        gap = float(row[1]) - self._ts
        if ticks > 0 and gap > GAP_INTERVALS * self.config.interval * ticks:
            self._note = f"skipped a gap of {gap_text(gap)}"
            self._note_ticks = NOTE_TICKS
        elif not self._ended:
            self._note_ticks -= 1
            if self._note_ticks <= 0:
                self._note = ""
        self._seq, self._ts = int(row[0]), float(row[1])

    def _decode(
        self, seq: int, earlier: list[tuple[FlowRow, ...]] | None = None
    ) -> tuple[float, dict[str, object], tuple[FlowRow, ...], list[InterfaceRate]]:
        """Tick ``seq``: on from the tick decoded last, or from its group's keyframe.
        ``earlier``: filled with the rows of the :data:`HISTORY_TICKS` - 1 ticks before
        (decoded from the keyframe before the first of them)."""
        db = self._db
        first = seq - HISTORY_TICKS + 1 if earlier is not None else seq
        if earlier is None and self._decoded is not None and self._decoded == seq - 1:
            start = seq
        else:
            row = db.execute("SELECT seq FROM ticks WHERE seq <= ? AND keyframe = 1 "
                             "ORDER BY seq DESC LIMIT 1", (first,)).fetchone()
            start = int(row[0]) if row is not None else first
            self.decoder.reset()
        got = None
        for n, ts, keyframe, core_blob, flows_blob in db.execute(
                "SELECT seq, ts, keyframe, core, flows FROM ticks WHERE seq BETWEEN ? AND ? "
                "ORDER BY seq", (start, seq)):
            if keyframe:
                self.decoder.reset()
            core = self.decoder.core(core_blob)
            self._decoded = int(n)
            interval = core.get("interval", self.config.interval)
            tick = float(interval) if isinstance(interval, int | float) else (
                self.config.interval)
            if n != seq:  # on the way: carry the counts (and the rows for the history)
                if earlier is not None and n >= first:
                    earlier.append(self.decoder.carry_rows(core, flows_blob, float(ts), tick))
                else:
                    self.decoder.carry(core, flows_blob)
                continue
            rates = self.decoder.interfaces(core, float(ts))
            rows = self.decoder.rows(flows_blob, float(ts), tick)
            got = (float(ts), core, rows, rates)
        assert got is not None
        return got

    def _rows_with_history(
        self, rows: tuple[FlowRow, ...], earlier: list[tuple[FlowRow, ...]] | None
    ) -> tuple[FlowRow, ...]:
        """The tick's rows with their rate histories, as live: a row's history runs over
        the ticks it was on screen without a break, at most :data:`HISTORY_TICKS`
        (appended to when playing on by one tick, rebuilt from ``earlier`` otherwise)."""
        if earlier is not None:
            self._flow_history = {}
            for before in earlier:
                self._add_flow_rates(before)
        self._add_flow_rates(rows)
        self._flow_seq = self._seq
        history = self._flow_history
        return tuple(replace(r, history=tuple(history[r.key])) for r in rows)

    def _add_flow_rates(self, rows: tuple[FlowRow, ...]) -> None:
        kept: dict[str, deque[float]] = {}
        for r in rows:
            rates = self._flow_history.get(r.key) or deque(maxlen=HISTORY_TICKS)
            rates.append(r.rate_bps + r.rate_rev_bps)
            kept[r.key] = rates
        self._flow_history = kept

    def _interfaces(
        self, rates: list[InterfaceRate], total: InterfaceRate | None
    ) -> tuple[tuple[InterfaceRate, ...], InterfaceRate | None]:
        """The tick's interfaces and ``all`` row with their sparkline histories (the
        totals line's averages): appended to when playing on by one tick, rebuilt from
        the ticks before it otherwise."""
        if self._history is None or self._history_seq != self._seq - 1:
            history = RateHistory(self._history_len)
            fields = self.decoder.iface_fields
            # Only the rates, read by position: a jump rebuilds two minutes of 30
            # interfaces, and building each InterfaceRate would cost most of the jump.
            at = [fields.index(f) for f in ("origin", "name", "rx_bps", "tx_bps")]
            earlier = self._db.execute(
                "SELECT core FROM ticks WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                (self._seq, self._history_len - 1)).fetchall()
            for (blob,) in reversed(earlier):
                core = self.decoder.core(blob)
                for v in core.get("interfaces", ()):
                    history.add((v[at[0]], v[at[1]]), v[at[2]], v[at[3]])
                all_row = core.get("total")
                if all_row:
                    history.add(_TOTAL, all_row[at[2]], all_row[at[3]])
            self._history = history
        for r in rates:
            self._history.add(r.key, r.rx_bps, r.tx_bps)
        if total is not None:
            self._history.add(_TOTAL, total.rx_bps, total.tx_bps)
        self._history_seq = self._seq
        out = []
        for r in rates:
            rx, tx = self._history.get(r.key)
            out.append(replace(r, rx_history=rx, tx_history=tx))
        if total is not None:
            rx, tx = self._history.get(_TOTAL)
            total = replace(total, rx_history=rx, tx_history=tx)
        return tuple(out), total

    def _events(self, last_id: int) -> tuple[NetEvent, ...]:
        rows = self._db.execute(
            "SELECT ts, severity, source, message FROM events WHERE id <= ? "
            "ORDER BY id DESC LIMIT ?", (last_id, SNAPSHOT_EVENTS)).fetchall()
        return tuple(event_of(r) for r in reversed(rows))

    def _snapshot(self) -> Snapshot:
        if self._last is not None and self._last.seq == self._seq:
            return self._with_view(self._last)
        earlier: list[tuple[FlowRow, ...]] | None = (
            None if self._flow_seq == self._seq - 1 else [])
        ts, core, rows, rates = self._decode(self._seq, earlier)
        rows = self._rows_with_history(rows, earlier)
        last_event = core.get("events_total", 0)
        events = self._events(last_event if isinstance(last_event, int) else 0)
        snap = self.decoder.snapshot(self._seq, ts, core, rows, events, ())
        interfaces, total = self._interfaces(list(rates), snap.total)
        snap = replace(snap, interfaces=interfaces, total=total)
        snap = replace(snap, watching=f"replay of {safe_text(os.path.basename(self.path))} "
                                      f"(recorded: {snap.watching})")
        self._last = snap
        return self._with_view(snap)

    def _with_view(self, snap: Snapshot) -> Snapshot:
        flows = replay_view(snap.flows, self.view_spec)
        return replace(snap, flows=flows)

