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
from collections.abc import Mapping
from dataclasses import replace

from netop.config import Config
from netop.engine.engine import SNAPSHOT_EVENTS
from netop.engine.flowview import HISTORY_TICKS
from netop.engine.history import RateHistory
from netop.engine.kpis import kpi_groups
from netop.engine.playback import PlaybackState
from netop.engine.recording import (
    RecordingError,
    TickDecoder,
    event_of,
    open_reader,
    read_meta,
    snapshot_of,
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
        """Tick ``seq``: on from the tick decoded last, or, after a jump, from the
        keyframe before the sparklines' first tick: one pass rebuilds both.
        ``earlier``: filled with the flow rows of the :data:`HISTORY_TICKS` - 1 ticks
        before (the flows' rate histories, rebuilt)."""
        db = self._db
        flows_from = flow_first = first = seq
        history: RateHistory | None = None
        if earlier is None and self._decoded is not None and self._decoded == seq - 1:
            start = seq
        else:
            first = max(seq - self._history_len + 1, 0)
            start = self._keyframe(first, first)
            # Flow rows build on their group only: read from the keyframe of the first
            # tick whose rows are wanted.
            if earlier is not None:
                flow_first = max(seq - HISTORY_TICKS + 1, 0)
            flows_from = self._keyframe(flow_first, start)
            start = min(start, flows_from)
            history = RateHistory(self._history_len)
            self.decoder.reset()
        got = None
        for n, ts, keyframe, core_blob, flows_blob in db.execute(
                "SELECT seq, ts, keyframe, core, CASE WHEN seq >= ? THEN flows END "
                "FROM ticks WHERE seq BETWEEN ? AND ? ORDER BY seq", (flows_from, start, seq)):
            if keyframe:
                self.decoder.reset()
            self._decoded = int(n)
            if n != seq:  # on the way: the state the next ticks build on, the rates
                rates_on_way = self.decoder.rates(core_blob, float(ts), n >= flows_from)
                if history is not None and n >= first:
                    for key, rx, tx in rates_on_way:
                        history.add(key, rx, tx)
                    total = self.decoder.rest.get("total")
                    if total:
                        history.add(_TOTAL, total.get("rx_bps"), total.get("tx_bps"))
                if flows_blob is not None:
                    if earlier is not None and n >= flow_first:
                        earlier.append(self.decoder.rows(flows_blob, float(ts),
                                                         self._interval(self.decoder.rest)))
                    else:
                        self.decoder.carry(flows_blob)
                continue
            core = self.decoder.core(core_blob, float(ts))
            rates = [self.decoder.iface(kw) for kw in core["interfaces"]]
            rows = self.decoder.rows(flows_blob, float(ts), self._interval(core))
            got = (float(ts), core, rows, rates)
        assert got is not None
        if history is not None:
            self._history, self._history_seq = history, seq - 1
        return got

    def _interval(self, core: Mapping[str, object]) -> float:
        interval = core.get("interval", self.config.interval)
        return float(interval) if isinstance(interval, int | float) else self.config.interval

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
        return tuple(r._replace(history=tuple(history[r.key])) for r in rows)

    def _add_flow_rates(self, rows: tuple[FlowRow, ...]) -> None:
        kept: dict[str, deque[float]] = {}
        for r in rows:
            rates = self._flow_history.get(r.key) or deque(maxlen=HISTORY_TICKS)
            rates.append(r.rate_bps + r.rate_rev_bps)
            kept[r.key] = rates
        self._flow_history = kept

    def _keyframe(self, seq: int, default: int) -> int:
        """The keyframe at or before ``seq`` (``default`` when there is none)."""
        row = self._db.execute("SELECT seq FROM ticks WHERE seq <= ? AND keyframe = 1 "
                               "ORDER BY seq DESC LIMIT 1", (seq,)).fetchone()
        return int(row[0]) if row is not None else default

    def _interfaces(
        self, rates: list[InterfaceRate], total: InterfaceRate | None
    ) -> tuple[tuple[InterfaceRate, ...], InterfaceRate | None]:
        """The tick's interfaces and ``all`` row with their sparkline histories (the
        totals line's averages): appended to when playing on by one tick, else rebuilt
        by the jump's decoding (:meth:`_decode`) or here from the ticks before."""
        if self._history is None or self._history_seq != self._seq - 1:
            history = RateHistory(self._history_len)
            first = max(self._seq - self._history_len + 1, 0)
            start = self._keyframe(first, first)
            decoder = TickDecoder(self._meta)
            for n, ts, keyframe, blob in self._db.execute(
                    "SELECT seq, ts, keyframe, core FROM ticks WHERE seq >= ? AND seq < ? "
                    "ORDER BY seq", (start, self._seq)):
                if keyframe:
                    decoder.reset()
                decoded = decoder.rates(blob, float(ts), carry=False)
                if n >= first:
                    for key, rx, tx in decoded:
                        history.add(key, rx, tx)
                    all_row = decoder.rest.get("total")
                    if all_row:
                        history.add(_TOTAL, all_row.get("rx_bps"), all_row.get("tx_bps"))
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
        snap = snapshot_of(self.decoder, self._seq, ts, core, rows, events, ())
        interfaces, total = self._interfaces(rates, snap.total)
        snap = replace(snap, interfaces=interfaces, total=total)
        snap = replace(snap, watching=f"replay of {safe_text(os.path.basename(self.path))} "
                                      f"(recorded: {snap.watching})")
        self._last = snap
        return self._with_view(snap)

    def _with_view(self, snap: Snapshot) -> Snapshot:
        flows = replay_view(snap.flows, self.view_spec)
        by = self.kpi_by
        if by is None:
            return replace(snap, flows=flows)
        # The KPI pane open: its groups over the recorded rows' KPIs (the top flows
        # recorded), as the live engine groups its whole table.
        kpis = tuple(kpi_groups([r.record for r in snap.flows.rows], by))
        return replace(snap, flows=flows, kpis=kpis)

