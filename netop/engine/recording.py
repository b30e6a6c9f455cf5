"""The recording file: its SQLite schema and the snapshot codec, shared by the writer
(``netop.outputs.record``) and the readers (replay, report).

Schema version 1 (``PRAGMA user_version``), documented in the README:

* ``meta(key, value)``: ``created``, ``hostname``, ``interval``, ``rollup_seconds`` and
  the field names of the encoded records (``iface_fields``, ``row_fields``,
  ``record_fields``) as JSON, so a reader can decode rows written by a later netop.
* ``ticks(seq, ts, core, flows)``: one row per engine tick. ``core`` and ``flows`` are
  zlib-compressed JSON: everything of the :class:`~netop.model.Snapshot` but its flow
  rows, and the flow rows (top N). Compressed because plain rows of 30 interfaces and
  100 flows a second cost several times the 150 MB/day budget.
* ``iface_rollup(period, origin, name, seconds, rx_bytes, tx_bytes, rx_peak_bps,
  tx_peak_bps, speed_bps)``: per interface and ``rollup_seconds`` (300) period, plain
  columns for ``sqlite3``/DuckDB and for ``netop report`` (the 95th percentile is
  billed on 5-minute samples).
* ``talkers(period, kind, key, bytes)``: bytes per host (``kind='host'``) and service
  (``'service'``, e.g. ``tcp/443``) per period, from the recorded top flows.
* ``events(id, ts, severity, source, message)``: every event once.

A new Snapshot field is kept without a new design: anything the codec does not know is
stored under ``extra`` in ``core`` (dataclasses as dicts) and handed back when the
reading netop's Snapshot has that field.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sqlite3
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from netop.model import (
    FlowRecord,
    FlowRow,
    FlowsView,
    InterfaceRate,
    NetEvent,
    Severity,
    Snapshot,
    SourceStatus,
    Totals,
    ViewSpec,
)

SCHEMA_VERSION = 1
#: Seconds per row of ``iface_rollup`` and ``talkers``: the billing sample.
ROLLUP_SECONDS = 300

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ticks (
    seq INTEGER PRIMARY KEY, ts REAL NOT NULL, core BLOB NOT NULL, flows BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS ticks_ts ON ticks(ts);
CREATE TABLE IF NOT EXISTS iface_rollup (
    period INTEGER NOT NULL, origin TEXT NOT NULL, name TEXT NOT NULL,
    seconds REAL NOT NULL, rx_bytes REAL NOT NULL, tx_bytes REAL NOT NULL,
    rx_peak_bps REAL, tx_peak_bps REAL, speed_bps INTEGER,
    PRIMARY KEY (period, origin, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS talkers (
    period INTEGER NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, bytes REAL NOT NULL,
    PRIMARY KEY (period, kind, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, severity TEXT NOT NULL,
    source TEXT NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
"""

#: Interface fields not recorded: the sparkline histories are rebuilt from earlier ticks.
_IFACE_SKIP = frozenset({"rx_history", "tx_history"})
IFACE_FIELDS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(InterfaceRate) if f.name not in _IFACE_SKIP)
#: Flow row fields (the record is encoded apart, by RECORD_FIELDS; history is not kept).
ROW_FIELDS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(FlowRow) if f.name not in ("record", "history"))
RECORD_FIELDS: tuple[str, ...] = FlowRecord._fields
#: Rates are recorded to the bit: a fraction of a bit/s is noise and costs bytes.
_ROUNDED = frozenset({"rx_bps", "tx_bps", "rx_pps", "tx_pps", "rate_bps", "rate_rev_bps",
                      "avg_bps"})
#: Snapshot fields the codec writes itself; any other goes under "extra".
_KNOWN = frozenset({"ts", "seq", "hostname", "watching", "interval", "interfaces", "total",
                    "totals", "events", "events_total", "flows", "status", "sources"})


class RecordingError(Exception):
    """A file that is not a netop recording, or one of another schema version."""


def _num(name: str, value: Any) -> Any:
    if isinstance(value, float):
        if name in _ROUNDED:
            return round(value)
        return round(value, 3)
    return value


def _plain(value: Any) -> Any:
    """A JSON-ready form of a value some later Snapshot field may hold."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.name.lower()
    return value


def encode_iface(rate: InterfaceRate) -> list[Any]:
    """One interface as a list in IFACE_FIELDS order."""
    return [_num(name, getattr(rate, name)) for name in IFACE_FIELDS]


def encode_row(row: FlowRow) -> list[Any]:
    """One flow row: its ROW_FIELDS, then its record in RECORD_FIELDS order."""
    out = [_num(name, getattr(row, name)) for name in ROW_FIELDS]
    out.append([_num(name, value) for name, value in zip(RECORD_FIELDS, row.record,
                                                          strict=True)])
    return out


def _pack(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 6)


def _unpack(blob: bytes) -> Any:
    return json.loads(zlib.decompress(blob))


def encode_snapshot(
    snapshot: Snapshot, top: int, last_event: int, dropped: int = 0
) -> tuple[bytes, bytes]:
    """``(core, flows)`` blobs of one tick; ``top`` flow rows at most; ``last_event``:
    the id of the newest event recorded (the replayed ``events_total``); ``dropped``:
    ticks the recorder lost so far (its queue was full)."""
    flows = snapshot.flows
    core: dict[str, Any] = {
        "hostname": snapshot.hostname,
        "watching": snapshot.watching,
        "interval": snapshot.interval,
        "interfaces": [encode_iface(r) for r in snapshot.interfaces],
        "total": encode_iface(snapshot.total) if snapshot.total is not None else None,
        "totals": _plain(snapshot.totals),
        "events_total": last_event,
        "dropped": dropped,
        "status": list(snapshot.status),
        "sources": [_plain(s) for s in snapshot.sources],
        "flows": {"total": flows.total_flows, "matched": flows.matched_flows,
                  "status": flows.status, "now": flows.now, "losses": flows.losses,
                  "spec": _plain(dataclasses.replace(flows.spec, watch=None))},
    }
    extra = {f.name: _plain(getattr(snapshot, f.name)) for f in dataclasses.fields(snapshot)
             if f.name not in _KNOWN}
    if extra:
        core["extra"] = extra
    rows = [encode_row(r) for r in flows.rows[:top]]
    return _pack(core), _pack(rows)


class Codec:
    """Decodes ticks with the field names the file was written with."""

    def __init__(self, meta: Mapping[str, str]) -> None:
        self.iface_fields = tuple(json.loads(meta.get("iface_fields", "null"))
                                  or IFACE_FIELDS)
        self.row_fields = tuple(json.loads(meta.get("row_fields", "null")) or ROW_FIELDS)
        self.record_fields = tuple(json.loads(meta.get("record_fields", "null"))
                                   or RECORD_FIELDS)
        self._iface_known = frozenset(IFACE_FIELDS)
        self._row_known = frozenset(ROW_FIELDS)
        self._record_known = frozenset(RECORD_FIELDS)

    def iface(self, values: Sequence[Any]) -> InterfaceRate:
        """An interface row back as an :class:`InterfaceRate` (no history)."""
        kw = {k: v for k, v in zip(self.iface_fields, values, strict=False)
              if k in self._iface_known}
        for name in ("deltas", "counters"):
            kw[name] = dict(kw.get(name) or {})
        kw.setdefault("speed_bps", None)
        kw.setdefault("oper_up", None)
        return InterfaceRate(**kw)

    def row(self, values: Sequence[Any]) -> FlowRow:
        """A flow row back as a :class:`FlowRow`."""
        *head, rec = values
        kw = {k: v for k, v in zip(self.row_fields, head, strict=False)
              if k in self._row_known}
        rkw = {k: v for k, v in zip(self.record_fields, rec, strict=False)
               if k in self._record_known}
        return FlowRow(record=FlowRecord(**rkw), **kw)

    def core(self, blob: bytes) -> dict[str, Any]:
        """The decoded ``core`` column."""
        value: dict[str, Any] = _unpack(blob)
        return value

    def rows(self, blob: bytes) -> tuple[FlowRow, ...]:
        """The decoded ``flows`` column."""
        return tuple(self.row(v) for v in _unpack(blob))

    def snapshot(
        self, seq: int, ts: float, core: Mapping[str, Any], rows: tuple[FlowRow, ...],
        events: tuple[NetEvent, ...], interfaces: tuple[InterfaceRate, ...] | None = None,
    ) -> Snapshot:
        """A Snapshot as it was recorded; ``interfaces`` replaces the decoded ones (with
        their histories rebuilt by the caller)."""
        flows = core.get("flows") or {}
        spec_raw = dict(flows.get("spec") or {})
        spec_names = {f.name for f in dataclasses.fields(ViewSpec)} - {"watch"}
        spec = ViewSpec(**{k: v for k, v in spec_raw.items() if k in spec_names})
        total = core.get("total")
        extra = core.get("extra") or {}
        snapshot_fields = {f.name for f in dataclasses.fields(Snapshot)}
        return Snapshot(
            ts=ts, seq=seq, hostname=str(core.get("hostname", "")),
            watching=str(core.get("watching", "")),
            interval=float(core.get("interval", 1.0)),
            interfaces=interfaces if interfaces is not None else tuple(
                self.iface(v) for v in core.get("interfaces", ())),
            total=self.iface(total) if total else None,
            totals=Totals(**(core.get("totals") or {})),
            events=events, events_total=int(core.get("events_total", 0)),
            flows=FlowsView(rows=rows, total_flows=int(flows.get("total", 0)),
                            matched_flows=int(flows.get("matched", 0)),
                            status=str(flows.get("status", "")), spec=spec,
                            now=float(flows.get("now", 0.0)),
                            losses=str(flows.get("losses", ""))),
            status=tuple(core.get("status", ())),
            sources=tuple(SourceStatus(**s) for s in core.get("sources", ())),
            **{k: v for k, v in extra.items() if k in snapshot_fields},
        )


def event_of(row: Sequence[Any]) -> NetEvent:
    """An ``events`` row ``(ts, severity, source, message)`` back as a NetEvent."""
    ts, severity, source, message = row
    try:
        level = Severity[str(severity).upper()]
    except KeyError:
        level = Severity.INFO
    return NetEvent(float(ts), level, str(source), str(message))


def read_meta(db: sqlite3.Connection) -> dict[str, str]:
    """The ``meta`` table; raises RecordingError when ``db`` is no recording of this
    schema version."""
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        rows = db.execute("SELECT key, value FROM meta").fetchall()
    except sqlite3.DatabaseError as exc:
        raise RecordingError(f"not a netop recording ({exc})") from exc
    if version != SCHEMA_VERSION:
        raise RecordingError(f"recording schema version {version}, this netop reads "
                             f"{SCHEMA_VERSION}")
    return {str(k): str(v) for k, v in rows}


def open_reader(path: str) -> sqlite3.Connection:
    """The recording at ``path`` opened read-only; RecordingError when it is none."""
    import os
    from pathlib import Path

    if not os.path.isfile(path):
        raise RecordingError(f"no such recording: {path}")
    try:
        db = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True,
                             check_same_thread=False)
    except sqlite3.Error as exc:
        raise RecordingError(f"cannot open {path}: {exc}") from exc
    read_meta(db)
    return db
