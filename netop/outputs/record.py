"""The recorder: every snapshot into a SQLite file (``--record FILE.db``, ``[record]``,
``netop record``), on its own thread behind a bounded queue.

The file's shape is :mod:`netop.engine.recording`. Each tick is one transaction in WAL
mode, so a ``kill -9`` loses at most the tick being written and never corrupts the
file; a tick that finds the queue full is dropped and counted (``dropped`` in the next
tick's record and in ``meta``), so a slow disk never delays the engine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any

from netop.config import Config, get_float, get_int, get_section
from netop.engine.eta import ETA_EVERY, recording_etas
from netop.engine.recording import (
    KEYFRAME_TICKS,
    ROLLUP_SECONDS,
    SCHEMA,
    SCHEMA_VERSION,
    TALKER_SECONDS,
    RecordingError,
    open_reader,
    read_meta,
    rest_of,
)
from netop.engine.tickcodec import TickEncoder, meta_fields
from netop.errors import ConfigError, NetopError
from netop.model import RecordingStatus, Snapshot, proto_name

#: Snapshots waiting for the writer at most (a minute of ticks at 1 s).
QUEUE_TICKS = 60
#: Ticks between two retention passes.
RETENTION_EVERY = 60
#: Hosts and services kept per rollup period.
TALKERS_PER_PERIOD = 100


@dataclass(frozen=True, slots=True)
class RecordOptions:
    """Where and how much to record."""

    path: str
    top: int = 100
    """Flow rows recorded per tick (the Flows view's first ``top``)."""
    max_age_days: float = 30.0
    """Ticks, rollups and events older than this are deleted (0: kept forever)."""
    max_mb: float = 0.0
    """When the file grows beyond this, its oldest ticks go (0: no limit)."""


def create_private(path: str) -> None:
    """Create ``path`` and its ``-wal``/``-shm`` files with mode 0600 before SQLite
    opens them (SQLite would create them with the umask's mode: world-readable)."""
    for name in (path, path + "-wal", path + "-shm"):
        try:
            fd = os.open(name, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise NetopError(f"--record: cannot create {name}: {exc.strerror}") from exc
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)


def open_writer(path: str) -> sqlite3.Connection:
    """The recording at ``path``, created (0600, schema) or reopened to append."""
    fresh = not os.path.exists(path) or os.path.getsize(path) == 0
    create_private(path)
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if fresh:
            # Before the first table and before WAL, page size first (setting auto_vacuum
            # fixes the page size). A tick is 2-3 kB: in 4 kB pages each would take a
            # page of its own.
            db.execute("PRAGMA page_size = 32768")
            db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            db.executescript(SCHEMA)
        db.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL: a committed tick survives the process dying (kill -9); only a
        # power cut may lose the last ticks, never the file's consistency.
        db.execute("PRAGMA synchronous = NORMAL")
        # SQLite checkpoints every 1000 pages: 32 MB of WAL at these pages; 4 MB is plenty.
        db.execute("PRAGMA wal_autocheckpoint = 128")
        if fresh:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            _put_meta(db, {"created": str(time.time()),
                           "rollup_seconds": str(ROLLUP_SECONDS), **meta_fields()})
        else:
            read_meta(db)
    except sqlite3.DatabaseError as exc:
        raise NetopError(f"--record: {path} is not a netop recording ({exc})") from exc
    except (sqlite3.Error, RecordingError) as exc:
        raise NetopError(f"--record: {path}: {exc}") from exc
    return db


def _put_meta(db: sqlite3.Connection, values: dict[str, str]) -> None:
    db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                   list(values.items()))


class _Rollup:
    """Sums of one period: bytes and peaks per interface."""

    def __init__(self, period: int) -> None:
        self.period = period
        self.ifaces: dict[tuple[str, str], list[Any]] = {}

    def add(self, snapshot: Snapshot) -> None:
        step = snapshot.interval
        for r in snapshot.interfaces:
            if r.rx_bps is None and r.tx_bps is None:
                continue
            rx, tx = r.rx_bps or 0.0, r.tx_bps or 0.0
            acc = self.ifaces.get(r.key)
            if acc is None:
                self.ifaces[r.key] = [step, rx * step / 8, tx * step / 8, rx, tx, r.speed_bps]
                continue
            acc[0] += step
            acc[1] += rx * step / 8
            acc[2] += tx * step / 8
            acc[3] = max(acc[3], rx)
            acc[4] = max(acc[4], tx)
            acc[5] = r.speed_bps or acc[5]

    def write(self, db: sqlite3.Connection) -> None:
        db.executemany(
            "INSERT INTO iface_rollup (period, origin, name, seconds, rx_bytes, tx_bytes, "
            "rx_peak_bps, tx_peak_bps, speed_bps) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (origin, name, period) DO UPDATE SET "
            "seconds = seconds + excluded.seconds, rx_bytes = rx_bytes + excluded.rx_bytes, "
            "tx_bytes = tx_bytes + excluded.tx_bytes, "
            "rx_peak_bps = max(rx_peak_bps, excluded.rx_peak_bps), "
            "tx_peak_bps = max(tx_peak_bps, excluded.tx_peak_bps), "
            "speed_bps = coalesce(excluded.speed_bps, speed_bps)",
            [(self.period, origin, name, *acc) for (origin, name), acc in self.ifaces.items()])


class _Talkers:
    """Bytes per host and service over one hour, from the recorded top flows."""

    #: Keys kept at most while the hour runs (a scan makes a new host per flow).
    LIMIT = 50_000

    def __init__(self, period: int) -> None:
        self.period = period
        self.talkers: dict[tuple[str, str], float] = {}

    def add(self, snapshot: Snapshot) -> None:
        if snapshot.flows.spec.aggregate != "connection":
            return
        step = snapshot.interval
        talkers = self.talkers
        for row in snapshot.flows.rows:
            moved = (row.rate_bps + row.rate_rev_bps) * step / 8
            if moved <= 0:
                continue
            rec = row.record
            for key in (("host", rec.src), ("host", rec.dst),
                        ("service", f"{proto_name(rec.proto)}/{rec.dport}")):
                talkers[key] = talkers.get(key, 0.0) + moved
        if len(talkers) > self.LIMIT:
            kept = sorted(talkers.items(), key=lambda kv: -kv[1])[:self.LIMIT // 5]
            self.talkers = dict(kept)

    def write(self, db: sqlite3.Connection) -> None:
        for kind in ("host", "service"):
            ranked = sorted(((v, k) for (c, k), v in self.talkers.items() if c == kind),
                            reverse=True)[:TALKERS_PER_PERIOD]
            db.executemany(
                "INSERT INTO talkers (period, kind, key, bytes) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (kind, key, period) "
                "DO UPDATE SET bytes = bytes + excluded.bytes",
                [(self.period, kind, key, value) for value, key in ranked])


class RecordWriter:
    """Writes snapshots into an open recording, on the caller's thread (the recorder's
    own thread; the synthetic recorder and the benchmark call it directly)."""

    def __init__(self, db: sqlite3.Connection, options: RecordOptions) -> None:
        self.db = db
        self.options = options
        row = db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
        self._event_base = int(row[0])
        self._events_seen = 0
        self._rollup: _Rollup | None = None
        self._talkers: _Talkers | None = None
        self._ticks = 0
        self._first = True
        self.dropped = 0
        self.written = 0
        last = db.execute("SELECT coalesce(max(seq), 0) FROM ticks").fetchone()
        self._seq = int(last[0])
        self._encoder = TickEncoder()
        self._since_keyframe = KEYFRAME_TICKS  # this writer's first tick is a keyframe

    def write(self, snapshot: Snapshot) -> None:
        """One tick: its blobs, new events, the rollup when a period ends; one commit."""
        fresh = snapshot.events_total - self._events_seen
        new_events = snapshot.events[-fresh:] if fresh > 0 else ()
        self._events_seen = snapshot.events_total
        last_event = self._event_base + snapshot.events_total
        keyframe = self._since_keyframe >= KEYFRAME_TICKS
        self._since_keyframe = 1 if keyframe else self._since_keyframe + 1
        core, flows = self._encoder.encode(
            snapshot, self.options.top, rest_of(snapshot, last_event, self.dropped), keyframe)
        period = int(snapshot.ts // ROLLUP_SECONDS) * ROLLUP_SECONDS
        db = self.db
        self._seq += 1
        db.execute("BEGIN")
        try:
            if self._first:
                _put_meta(db, {"hostname": snapshot.hostname,
                               "interval": str(snapshot.interval)})
                self._first = False
            db.execute("INSERT INTO ticks (seq, ts, keyframe, core, flows) "
                       "VALUES (?, ?, ?, ?, ?)", (self._seq, snapshot.ts, keyframe, core, flows))
            first_id = last_event - len(new_events) + 1
            db.executemany(
                "INSERT OR REPLACE INTO events (id, ts, severity, source, message) "
                "VALUES (?, ?, ?, ?, ?)",
                [(first_id + i, e.ts, e.severity.name.lower(), e.source, e.message)
                 for i, e in enumerate(new_events)])
            if self._rollup is not None and self._rollup.period != period:
                self._rollup.write(db)
                self._rollup = None
            if self._rollup is None:
                self._rollup = _Rollup(period)
            self._rollup.add(snapshot)
            hour = int(snapshot.ts // TALKER_SECONDS) * TALKER_SECONDS
            if self._talkers is not None and self._talkers.period != hour:
                self._talkers.write(db)
                self._talkers = None
            if self._talkers is None:
                self._talkers = _Talkers(hour)
            self._talkers.add(snapshot)
            self._ticks += 1
            if self._ticks % RETENTION_EVERY == 0:
                self._retain(snapshot.ts)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.written += 1

    def _retain(self, now: float) -> None:
        age = self.options.max_age_days * 86400
        db = self.db
        if age > 0:
            row = db.execute("SELECT seq FROM ticks WHERE ts >= ? ORDER BY seq LIMIT 1",
                             (now - age,)).fetchone()
            if row is not None:
                self._drop_before(row[0])
        limit = self.options.max_mb * 1e6
        if limit > 0:
            pages, size, free = (db.execute(f"PRAGMA {p}").fetchone()[0]
                                 for p in ("page_count", "page_size", "freelist_count"))
            used = (pages - free) * size
            if used > limit:
                # Down to 90 % of the limit in one pass, at the average tick's size.
                lo, hi = db.execute("SELECT min(seq), max(seq) FROM ticks").fetchone()
                if lo is not None:
                    count = hi - lo + 1
                    self._drop_before(lo + max(1, round(count * (1 - 0.9 * limit / used))))
            db.execute("PRAGMA incremental_vacuum")

    def _drop_before(self, seq: int) -> None:
        """Delete the ticks before ``seq``, rounded up to a keyframe (a reader starts at
        one), and the events and rollups older than the first tick left."""
        db = self.db
        row = db.execute("SELECT seq FROM ticks WHERE seq >= ? AND keyframe = 1 "
                         "ORDER BY seq LIMIT 1", (seq,)).fetchone()
        if row is None:
            return
        db.execute("DELETE FROM ticks WHERE seq < ?", (row[0],))
        first = db.execute("SELECT ts FROM ticks WHERE seq = ?", (row[0],)).fetchone()[0]
        db.execute("DELETE FROM events WHERE ts < ?", (first,))
        db.execute("DELETE FROM iface_rollup WHERE period < ?", (first - ROLLUP_SECONDS,))
        db.execute("DELETE FROM talkers WHERE period < ?", (first - TALKER_SECONDS,))

    def flush(self) -> None:
        """Write the period in progress (at the end of a recording)."""
        self.db.execute("BEGIN")
        if self._rollup is not None:
            self._rollup.write(self.db)
        if self._talkers is not None:
            self._talkers.write(self.db)
        _put_meta(self.db, {"dropped": str(self.dropped)})
        self.db.execute("COMMIT")
        self._rollup = None
        self._talkers = None


class Recorder:
    """The ``record`` sink: the engine hands it snapshots, its thread writes them."""

    name = "record"

    def __init__(self, options: RecordOptions) -> None:
        self.options = options
        # Opened here: a bad path ends the command before its screen or sources start.
        self._db: sqlite3.Connection | None = open_writer(options.path)
        self.writer = RecordWriter(self._db, options)
        self._queue: queue.Queue[Snapshot | None] = queue.Queue(QUEUE_TICKS)
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        self._reported = False
        self._bytes = self._size()
        self._eta: dict[tuple[str, str], str] = {}
        self._stop = threading.Event()
        #: Set once the ETAs were computed a first time (or found impossible).
        self.eta_ready = threading.Event()
        self._eta_thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the writer thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="netop-record",
                                            daemon=True)
            self._thread.start()
        if self._eta_thread is None:
            self._eta_thread = threading.Thread(target=self._etas, name="netop-record-eta",
                                                daemon=True)
            self._eta_thread.start()

    def recording_status(self) -> RecordingStatus:
        """The file, its size, ticks dropped, the ETAs (the engine puts it in each
        snapshot: the header's indicator, the Interfaces pane's ETA column)."""
        return RecordingStatus(self.options.path, self._bytes, self.writer.dropped,
                               self.error, self._eta)

    def _etas(self) -> None:
        """The capacity ETAs from the file, at start and then every ETA_EVERY seconds,
        on their own connection and thread: a month's report takes a second or two."""
        while not self._stop.is_set():
            try:
                db = open_reader(self.options.path)
                try:
                    self._eta = recording_etas(db)
                finally:
                    db.close()
            except (sqlite3.Error, RecordingError, ValueError):
                pass  # no ETA column, as with too few days: the header still shows the file
            self.eta_ready.set()
            self._stop.wait(ETA_EVERY)

    def _size(self) -> int:
        total = 0
        for name in (self.options.path, self.options.path + "-wal"):
            with contextlib.suppress(OSError):
                total += os.path.getsize(name)
        return total

    def consume(self, snapshot: Snapshot) -> None:
        """Queue ``snapshot``; a full queue drops it (counted)."""
        if self.error is not None and not self._reported:
            self._reported = True  # one event, not one per tick
            raise RuntimeError(self.error)
        try:
            self._queue.put_nowait(snapshot)
        except queue.Full:
            self.writer.dropped += 1

    def _run(self) -> None:
        while True:
            snapshot = self._queue.get()
            if snapshot is None:
                return
            try:
                self.writer.write(snapshot)
            except Exception as exc:  # a full disk: say so once per tick, keep going
                self.error = f"cannot write {self.options.path}: {exc}"
            self._bytes = self._size()

    def close(self) -> None:
        """Write what is queued, the period in progress, and close the file."""
        self._stop.set()
        eta, self._eta_thread = self._eta_thread, None
        if eta is not None:
            eta.join(timeout=30)
        thread, self._thread = self._thread, None
        if thread is not None:
            # The queue may be full: wait for room rather than lose the end marker.
            self._queue.put(None, timeout=30)
            thread.join(timeout=30)
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self.writer.flush()
            self._db.close()
            self._db = None


def add_record_arguments(parser: argparse.ArgumentParser) -> None:
    """``--record FILE.db`` (the TUI and the headless commands that take it)."""
    parser.add_argument("--record", metavar="FILE.db",
                        help="record every tick into a SQLite file (see netop replay/report)")


def record_options(args: argparse.Namespace, config: Config) -> RecordOptions | None:
    """What ``--record`` and ``[record]`` ask for, or ``None``: path from the flag, else
    ``[record] path``; ``top``, ``max_age_days``, ``max_mb`` from the section."""
    section = get_section(config.raw, "record")
    path = getattr(args, "record", None) or section.get("path")
    if not path:
        return None
    if not isinstance(path, str):
        raise ConfigError("record.path", "must be a string")
    return RecordOptions(
        path=os.path.expanduser(path),
        top=get_int(config.raw, "record.top", 100, low=0, high=100_000),
        max_age_days=get_float(config.raw, "record.max_age_days", 30.0, low=0.0),
        max_mb=get_float(config.raw, "record.max_mb", 0.0, low=0.0),
    )


def recorder_from_args(args: argparse.Namespace, config: Config) -> Recorder | None:
    """The recorder the flags and config ask for (the pipeline's ``record`` sink)."""
    options = record_options(args, config)
    return Recorder(options) if options is not None else None
