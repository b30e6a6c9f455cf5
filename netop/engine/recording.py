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
  (``'service'``, e.g. ``tcp/443``) per hour (the 100 biggest of each), from the
  recorded top flows.
* ``events(id, ts, severity, source, message)``: every event once.

A new Snapshot field is kept without a new design: anything the codec does not know is
stored under ``extra`` in ``core`` (dataclasses as dicts) and handed back when the
reading netop's Snapshot has that field.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import sqlite3
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from netop.model import (
    COUNTER_FIELDS,
    Alert,
    AlertSeverity,
    FlowKey,
    FlowRecord,
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

SCHEMA_VERSION = 1
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

#: Interface fields not recorded: the sparkline histories are rebuilt from earlier ticks.
_IFACE_SKIP = frozenset({"rx_history", "tx_history"})
IFACE_FIELDS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(InterfaceRate) if f.name not in _IFACE_SKIP)
#: Flow row fields (the record is encoded apart, by RECORD_FIELDS; history is not kept).
ROW_FIELDS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(FlowRow) if f.name not in ("record", "history"))
RECORD_FIELDS: tuple[str, ...] = FlowRecord._fields
#: What changes from tick to tick in a flow row; the rest is its identity, written once
#: per keyframe group and referred to by number after that.
ROW_MOVING = ("rate_bps", "rate_rev_bps", "avg_bps")
RECORD_COUNTS = ("packets", "bytes", "packets_rev", "bytes_rev")
#: Record fields not written: ``kpi`` changes as the flow goes on (it is no identity)
#: and has no per-tick column yet; replayed flows show no KPIs.
RECORD_SKIPPED = ("last", "kpi", "app")
IDENT_FIELDS: tuple[str, ...] = (
    *(f for f in ROW_FIELDS if f not in ROW_MOVING),
    *(f"record.{f}" for f in RECORD_FIELDS if f not in (*RECORD_COUNTS, *RECORD_SKIPPED)))
#: Every this many ticks one is written whole (a keyframe): a reader starts there.
KEYFRAME_TICKS = 60
#: Rates are recorded to 3 significant digits, as the screen shows them: more digits of a
#: rate are noise that costs a third of the file (counters stay exact).
_ROUNDED = frozenset({"rx_bps", "tx_bps", "rx_pps", "tx_pps", "rate_bps", "rate_rev_bps",
                      "avg_bps"})
RATE_DIGITS = 3
#: Snapshot fields the codec writes itself; any other goes under "extra".
_KNOWN = frozenset({"ts", "seq", "hostname", "watching", "interval", "interfaces", "total",
                    "totals", "events", "events_total", "flows", "status", "sources"})


class RecordingError(Exception):
    """A file that is not a netop recording, or one of another schema version."""


def _num(name: str, value: Any) -> Any:
    if isinstance(value, float):
        if name in _ROUNDED:
            return significant(value)
        return round(value, 3)
    return value


def significant(value: float, digits: int = RATE_DIGITS) -> int | float:
    """``value`` to ``digits`` significant digits (an int from 100 up)."""
    if value == 0 or not math.isfinite(value):
        return 0
    places = digits - 1 - math.floor(math.log10(abs(value)))
    rounded = round(value, places)
    return int(rounded) if places <= 0 else rounded


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


def _pack(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 6)


def _unpack(blob: bytes) -> Any:
    return json.loads(zlib.decompress(blob))


def _ident_of(row: FlowRow) -> tuple[Any, ...]:
    return (*(_num(f, getattr(row, f)) for f in ROW_FIELDS if f not in ROW_MOVING),
            *(_num(f, v) for f, v in zip(RECORD_FIELDS, row.record, strict=True)
              if f not in RECORD_COUNTS and f not in RECORD_SKIPPED))


class TickEncoder:
    """Turns snapshots into ``(core, flows)`` blobs, keeping what the ticks of a
    keyframe group share: flow identities (written once, then a number) and counts
    (written whole, then as the increase since the flow's previous row), interface
    counters (whole in the keyframe, else the deltas say how they grew)."""

    def __init__(self) -> None:
        self._ids: dict[tuple[Any, ...], int] = {}
        self._counts: list[tuple[int, ...]] = []

    def encode(self, snapshot: Snapshot, top: int, last_event: int, dropped: int,
               keyframe: bool) -> tuple[bytes, bytes]:
        """The tick's blobs; ``keyframe`` starts a new group."""
        if keyframe:
            self._ids.clear()
            self._counts.clear()
        ts = snapshot.ts
        flows = snapshot.flows
        core: dict[str, Any] = {
            "hostname": snapshot.hostname,
            "watching": snapshot.watching,
            "interval": snapshot.interval,
            "interfaces": [self._iface(r, ts, keyframe) for r in snapshot.interfaces],
            "total": (self._iface(snapshot.total, ts, True)
                      if snapshot.total is not None else None),
            "totals": _plain(snapshot.totals),
            "events_total": last_event,
            "dropped": dropped,
            "status": list(snapshot.status),
            "sources": [_plain(s) for s in snapshot.sources],
            "flows": {"total": flows.total_flows, "matched": flows.matched_flows,
                      "status": flows.status, "now": flows.now, "losses": flows.losses,
                      "spec": _plain(dataclasses.replace(flows.spec, watch=None))},
        }
        extra = {f.name: _plain(getattr(snapshot, f.name))
                 for f in dataclasses.fields(snapshot) if f.name not in _KNOWN}
        if extra:
            core["extra"] = extra
        interval = snapshot.interval
        return _pack(core), _pack([self._row(r, ts, interval) for r in flows.rows[:top]])

    @staticmethod
    def _iface(rate: InterfaceRate, ts: float, keyframe: bool) -> list[Any]:
        out = []
        for name in IFACE_FIELDS:
            value = getattr(rate, name)
            if name == "ts":
                value = round((value - ts) * 1000)
            elif name == "deltas":
                value = [value.get(f) for f in COUNTER_FIELDS]
            elif name == "counters":
                value = [value.get(f) for f in COUNTER_FIELDS] if keyframe else None
            out.append(_num(name, value))
        return out

    def _row(self, row: FlowRow, ts: float, interval: float) -> list[Any]:
        rec = row.record
        counts = (rec.packets, rec.bytes, rec.packets_rev, rec.bytes_rev)
        ident = _ident_of(row)
        ref: Any = self._ids.get(ident)
        rates: list[Any] = [_num(f, getattr(row, f)) for f in ROW_MOVING]
        if ref is None:
            self._ids[ident] = len(self._counts)
            self._counts.append(counts)
            ref, shown = list(ident), counts
        else:
            before = self._counts[ref]
            self._counts[ref] = counts
            shown = tuple(c - b for c, b in zip(counts, before, strict=True))
            # A rate is this tick's bytes per second: when the increase since the
            # previous tick says it (the flow was recorded then), it is not written.
            for i, moved in ((0, shown[1]), (1, shown[3])):
                if rates[i] == significant(moved * 8 / interval):
                    rates[i] = None
        return [ref, *rates, *shown, round((ts - rec.last) * 1000)]


class TickDecoder:
    """Reads the ticks of a keyframe group in order, as :class:`TickEncoder` wrote
    them; the field names are the file's (``meta``), so a later netop's rows read."""

    def __init__(self, meta: Mapping[str, str]) -> None:
        self.iface_fields = tuple(json.loads(meta.get("iface_fields", "null"))
                                  or IFACE_FIELDS)
        self.ident_fields = tuple(json.loads(meta.get("ident_fields", "null"))
                                  or IDENT_FIELDS)
        self._row_known = frozenset(ROW_FIELDS)
        self._record_known = frozenset(RECORD_FIELDS)
        self._iface_known = frozenset(IFACE_FIELDS)
        self._idents: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._counts: list[list[int]] = []
        self._counters: dict[tuple[str, str], list[Any]] = {}

    def reset(self) -> None:
        """At a keyframe: forget the group."""
        self._idents.clear()
        self._counts.clear()
        self._counters.clear()

    def core(self, blob: bytes) -> dict[str, Any]:
        """The decoded ``core`` column."""
        value: dict[str, Any] = _unpack(blob)
        return value

    def iface(self, values: Sequence[Any], ts: float) -> InterfaceRate:
        """An interface row as an :class:`InterfaceRate` (no history); counters carried
        from the keyframe by the deltas."""
        kw = {k: v for k, v in zip(self.iface_fields, values, strict=False)
              if k in self._iface_known}
        kw["ts"] = ts + (kw.get("ts") or 0) / 1000
        deltas = list(kw.get("deltas") or [None] * len(COUNTER_FIELDS))
        key = (kw.get("origin", ""), kw.get("name", ""))
        counters = kw.get("counters")
        if counters is None:
            before = self._counters.get(key)
            counters = ([None if b is None or d is None else b + d
                         for b, d in zip(before, deltas, strict=False)]
                        if before is not None else [None] * len(COUNTER_FIELDS))
        self._counters[key] = list(counters)
        kw["deltas"] = dict(zip(COUNTER_FIELDS, deltas, strict=False))
        kw["counters"] = {f: v for f, v in zip(COUNTER_FIELDS, counters, strict=False)
                          if v is not None}
        kw.setdefault("speed_bps", None)
        kw.setdefault("oper_up", None)
        return InterfaceRate(**kw)

    def interfaces(self, core: Mapping[str, Any], ts: float) -> list[InterfaceRate]:
        """Every interface of a decoded ``core``."""
        return [self.iface(v, ts) for v in core.get("interfaces", ())]

    def carry(self, core: Mapping[str, Any], blob: bytes) -> None:
        """Read a tick on the way to another one: only what the next ticks build on
        (interface counters, flow identities and counts), no rows or rates made."""
        at = [self.iface_fields.index(f) for f in ("origin", "name", "deltas", "counters")]
        for v in core.get("interfaces", ()):
            key = (v[at[0]], v[at[1]])
            counters = v[at[3]]
            if counters is None:
                before = self._counters.get(key)
                deltas = v[at[2]] or ()
                counters = ([None if b is None or d is None else b + d
                             for b, d in zip(before, deltas, strict=False)]
                            if before is not None else None)
            if counters is not None:
                self._counters[key] = list(counters)
        for values in _unpack(blob):
            ref, counts = values[0], values[4:8]
            if isinstance(ref, list):
                self._idents.append(self._ident(ref))
                self._counts.append(list(counts))
            elif ref < len(self._counts):
                total = self._counts[ref]
                self._counts[ref] = [t + c for t, c in zip(total, counts, strict=True)]

    def _ident(self, ref: Sequence[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        row_kw: dict[str, Any] = {}
        rec_kw: dict[str, Any] = {}
        for name, value in zip(self.ident_fields, ref, strict=False):
            if name.startswith("record."):
                if name[7:] in self._record_known:
                    rec_kw[name[7:]] = value
            elif name in self._row_known:
                row_kw[name] = value
        return row_kw, rec_kw

    def rows(self, blob: bytes, ts: float, interval: float = 1.0) -> tuple[FlowRow, ...]:
        """The decoded ``flows`` column of the next tick of the group (``interval``: the
        tick's, for the rates that were left to the counts)."""
        out = []
        for values in _unpack(blob):
            ref, rate, rate_rev, avg, *counts, last_ms = values
            if isinstance(ref, list):
                self._idents.append(self._ident(ref))
                self._counts.append(list(counts))
                index = len(self._idents) - 1
            else:
                index = ref
                if index >= len(self._counts):
                    continue  # its group's start was not read (a damaged file)
                total = self._counts[index]
                if rate is None:
                    rate = significant(counts[1] * 8 / interval)
                if rate_rev is None:
                    rate_rev = significant(counts[3] * 8 / interval)
                counts = [t + c for t, c in zip(total, counts, strict=True)]
                self._counts[index] = counts
            row_kw, rec_kw = self._idents[index]
            record = FlowRecord(**rec_kw, **dict(zip(RECORD_COUNTS, counts, strict=True)),
                                last=ts - last_ms / 1000)
            out.append(FlowRow(record=record, rate_bps=rate, rate_rev_bps=rate_rev,
                               avg_bps=avg, **row_kw))
        return tuple(out)

    def snapshot(
        self, seq: int, ts: float, core: Mapping[str, Any], rows: tuple[FlowRow, ...],
        events: tuple[NetEvent, ...], interfaces: tuple[InterfaceRate, ...],
    ) -> Snapshot:
        """A Snapshot as it was recorded, with ``interfaces`` (histories rebuilt by the
        caller)."""
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
            total=self.iface(total, ts) if total else None,
            totals=Totals(**(core.get("totals") or {})),
            events=events, events_total=int(core.get("events_total", 0)),
            flows=FlowsView(rows=rows, total_flows=int(flows.get("total", 0)),
                            matched_flows=int(flows.get("matched", 0)),
                            status=str(flows.get("status", "")), spec=spec,
                            now=float(flows.get("now", 0.0)),
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
