"""The recording file: its SQLite schema and the snapshot codec, shared by the writer
(``netop.outputs.record``) and the readers (replay, report).

Schema version 2 (``PRAGMA user_version``; version 1 files are refused with one line:
their ticks were coded otherwise), documented in the README:

* ``meta(key, value)``: ``created``, ``hostname``, ``interval``, ``rollup_seconds``,
  ``dropped`` and the field names of the encoded rows (``iface_ident``,
  ``ident_fields``, ``kpi_fields``, ``counter_fields``) as JSON, so a reader can decode
  rows written by a later netop.
* ``ticks(seq, ts, keyframe, core, flows)``: one row per engine tick, coded by
  :mod:`netop.engine.tickcodec` (compressed columns; between keyframes only what moved).
* ``iface_rollup(period, origin, name, seconds, rx_bytes, tx_bytes, rx_peak_bps,
  tx_peak_bps, speed_bps)``: per interface and ``rollup_seconds`` (300) period, plain
  columns for ``sqlite3``/DuckDB and for ``netop report`` (the 95th percentile is
  billed on 5-minute samples).
* ``talkers(period, kind, key, bytes)``: bytes per host (``kind='host'``) and service
  (``'service'``, e.g. ``tcp/443``) per hour (the 100 biggest of each), from the
  recorded top flows.
* ``events(id, ts, severity, source, message)``: every event once.

A new Snapshot field is kept without a new design: anything the codec does not know is
stored under ``extra`` (dataclasses as dicts) and handed back when the reading netop's
Snapshot has that field.
"""

from __future__ import annotations

import dataclasses
import enum
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from netop.engine.tickcodec import TickDecoder, num, significant

__all__ = ["RecordingError", "TickDecoder", "open_reader", "read_meta", "significant"]
from netop.model import (
    Alert,
    AlertSeverity,
    FlowKey,
    FlowRow,
    FlowsView,
    InterfaceRate,
    KpiGroup,
    NetEvent,
    Severity,
    Snapshot,
    SourceStatus,
    Totals,
    ViewSpec,
)

SCHEMA_VERSION = 2
#: Seconds per row of ``iface_rollup``: the billing sample.
ROLLUP_SECONDS = 300
#: Seconds per row of ``talkers`` (an hour: a month of top-100 lists stays small).
TALKER_SECONDS = 3600

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ticks (
    seq INTEGER PRIMARY KEY, ts REAL NOT NULL, keyframe INTEGER NOT NULL,
    core BLOB NOT NULL, flows BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS ticks_ts ON ticks(ts);
CREATE TABLE IF NOT EXISTS iface_rollup (
    period INTEGER NOT NULL, origin TEXT NOT NULL, name TEXT NOT NULL,
    seconds REAL NOT NULL, rx_bytes REAL NOT NULL, tx_bytes REAL NOT NULL,
    rx_peak_bps REAL, tx_peak_bps REAL, speed_bps INTEGER,
    PRIMARY KEY (origin, name, period)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS talkers (
    period INTEGER NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, bytes REAL NOT NULL,
    PRIMARY KEY (kind, key, period)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, severity TEXT NOT NULL,
    source TEXT NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
"""

#: Every this many ticks one is written whole (a keyframe): a reader starts there.
KEYFRAME_TICKS = 60
#: Snapshot fields the codec writes itself; any other goes under "extra".
_KNOWN = frozenset({"ts", "seq", "hostname", "watching", "interval", "interfaces", "total",
                    "totals", "events", "events_total", "flows", "status", "sources",
                    "recording"})


class RecordingError(Exception):
    """A file that is not a netop recording, or one of another schema version."""


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


def _alert(raw: Mapping[str, Any]) -> Alert:
    flow = raw.get("flow")
    return Alert(**{**raw, "severity": AlertSeverity[str(raw["severity"]).upper()],
                    "flow": FlowKey(*flow) if flow else None})


#: How the typed extras come back from their plain JSON form (the others stay plain).
_RESTORE: dict[str, Any] = {
    "alerts": lambda v: tuple(_alert(a) for a in v),
    "new_alerts": lambda v: (),  # fired then, not now: no toast again in replay
    "kpis": lambda v: tuple(KpiGroup(**g) for g in v),
    "nic": lambda v: None,  # this host's NIC now says nothing about then
    "detect_status": tuple,
    "status": tuple,
}


def restore_extras(extra: Mapping[str, Any], known: set[str]) -> dict[str, Any]:
    """The Snapshot fields kept under ``extra``, typed again; a field this netop does not
    know, or one that does not decode (a later netop's), is left out: its default."""
    out: dict[str, Any] = {}
    for name, value in extra.items():
        if name not in known:
            continue
        try:
            out[name] = _RESTORE.get(name, lambda v: v)(value)
        except (TypeError, KeyError, ValueError):
            continue
    return out


def rest_of(snapshot: Snapshot, last_event: int, dropped: int) -> dict[str, Any]:
    """What a tick records beside its interfaces and flow rows, plain."""
    flows = snapshot.flows
    total = snapshot.total
    rest: dict[str, Any] = {
        "hostname": snapshot.hostname,
        "watching": snapshot.watching,
        "interval": snapshot.interval,
        "total": ({k: num(k, v) for k, v in _plain(total).items()
                   if not k.endswith("_history")} if total is not None else None),
        # To the 3 significant digits the screen shows, as every recorded rate.
        "totals": {k: num(k, v) for k, v in _plain(snapshot.totals).items()},
        "events_total": last_event,
        "dropped": dropped,
        "status": list(snapshot.status),
        "sources": [_plain(s) for s in snapshot.sources],
        # ``now`` as milliseconds before the tick: the same every tick, so written once.
        "flows": {"total": flows.total_flows, "matched": flows.matched_flows,
                  "status": flows.status, "now_ms": round((snapshot.ts - flows.now) * 1000),
                  "losses": flows.losses,
                  "spec": _plain(dataclasses.replace(flows.spec, watch=None))},
    }
    extra = {f.name: _plain(getattr(snapshot, f.name))
             for f in dataclasses.fields(snapshot) if f.name not in _KNOWN}
    if extra:
        rest["extra"] = extra
    return rest


def snapshot_of(
    decoder: TickDecoder, seq: int, ts: float, core: Mapping[str, Any],
    rows: tuple[FlowRow, ...], events: tuple[NetEvent, ...],
    interfaces: tuple[InterfaceRate, ...],
) -> Snapshot:
    """A Snapshot as it was recorded, from a decoded ``core`` and ``rows``, with
    ``interfaces`` (histories rebuilt by the caller)."""
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
        interfaces=interfaces,
        total=decoder.iface(total) if total else None,
        totals=Totals(**(core.get("totals") or {})),
        events=events, events_total=int(core.get("events_total", 0)),
        flows=FlowsView(rows=rows, total_flows=int(flows.get("total", 0)),
                        matched_flows=int(flows.get("matched", 0)),
                        status=str(flows.get("status", "")), spec=spec,
                        now=ts - float(flows.get("now_ms", 0)) / 1000,
                        losses=str(flows.get("losses", ""))),
        status=tuple(core.get("status", ())),
        sources=tuple(SourceStatus(**s) for s in core.get("sources", ())),
        **restore_extras(extra, snapshot_fields),
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
