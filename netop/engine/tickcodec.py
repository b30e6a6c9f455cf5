"""The tick codec of a recording (schema 2): a snapshot into the ``core`` and ``flows``
blobs of one ``ticks`` row and back.

Both blobs are zlib-compressed JSON, laid out in columns (numbers of one kind side by
side compress best). Within a keyframe group (a keyframe and the ticks up to the next)
the encoder and the decoder keep the same state, so a tick only holds what moved:

* an interface's or a flow's fixed fields are written once per group, then it is
  referred to by its number;
* counters are written whole at their first row in the group, then as the increase;
* a rate that the increase and the time since the previous row give (as the engine
  computes it, to the 3 significant digits recorded) is written as ``null``;
* a flow's average rate and KPIs are written when they changed, else ``null``;
* the other snapshot fields (status, sources, totals...) only when they changed.

The decoder also reads files of a later netop: field names come from ``meta``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from netop.model import (
    COUNTER_FIELDS,
    FlowKpi,
    FlowRecord,
    FlowRow,
    InterfaceRate,
    Snapshot,
)

#: Interface fields not recorded: the sparkline histories are rebuilt from earlier ticks.
_IFACE_SKIP = frozenset({"rx_history", "tx_history"})
IFACE_FIELDS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(InterfaceRate) if f.name not in _IFACE_SKIP)
#: What moves from tick to tick in an interface row; the rest is its identity.
IFACE_MOVING = ("ts", "rx_bps", "tx_bps", "rx_pps", "tx_pps", "deltas", "counters",
                "stale_for")
IFACE_IDENT: tuple[str, ...] = tuple(f for f in IFACE_FIELDS if f not in IFACE_MOVING)
#: Each rate and the delta it is computed from, times this factor, over the interval.
IFACE_RATES = (("rx_bps", "rx_bytes", 8), ("tx_bps", "tx_bytes", 8),
               ("rx_pps", "rx_packets", 1), ("tx_pps", "tx_packets", 1))
#: Flow row fields not recorded: the record (encoded apart, by RECORD_FIELDS) and what a
#: replay rebuilds from the ticks before (the rate histories and the 2 s / 40 s means,
#: which the Flows pane then takes from the history) or does not show (RTT sparkline).
_ROW_SKIP = frozenset({"record", "history", "rtt_history", "avg2_bps", "avg40_bps"})
ROW_FIELDS: tuple[str, ...] = tuple(
    name for name in FlowRow._fields if name not in _ROW_SKIP)
RECORD_FIELDS: tuple[str, ...] = FlowRecord._fields
ROW_MOVING = ("rate_bps", "rate_rev_bps", "avg_bps")
RECORD_COUNTS = ("packets", "bytes", "packets_rev", "bytes_rev")
#: Record fields that move: ``last`` (as milliseconds before the tick) and ``kpi``.
RECORD_MOVING = ("last", "kpi")
#: Record fields not recorded: the application facts (a replayed flow shows none).
RECORD_SKIPPED = ("app",)
IDENT_FIELDS: tuple[str, ...] = (
    *(f for f in ROW_FIELDS if f not in ROW_MOVING),
    *(f"record.{f}" for f in RECORD_FIELDS
      if f not in (*RECORD_COUNTS, *RECORD_MOVING, *RECORD_SKIPPED)))
KPI_FIELDS: tuple[str, ...] = FlowKpi._fields
#: Rates are recorded to 3 significant digits, as the screen shows them: more digits of a
#: rate are noise that costs a third of the file (counters stay exact).
_ROUNDED = frozenset({"rx_bps", "tx_bps", "rx_pps", "tx_pps", "rate_bps", "rate_rev_bps",
                      "avg_bps"})
RATE_DIGITS = 3
#: Snapshot fields written as interfaces and flow rows; the others are the "rest".
_OWN = frozenset({"ts", "seq", "interfaces", "flows", "events"})


def significant(value: float, digits: int = RATE_DIGITS) -> int | float:
    """``value`` to ``digits`` significant digits (an int from 100 up)."""
    if value == 0 or not math.isfinite(value):
        return 0
    places = digits - 1 - math.floor(math.log10(abs(value)))
    rounded = round(value, places)
    return int(rounded) if places <= 0 else rounded


def num(name: str, value: Any) -> Any:
    """A recorded number: rates to 3 significant digits, other floats to 3 places."""
    if isinstance(value, float):
        if name in _ROUNDED:
            return significant(value)
        return round(value, 3)
    return value


def pack(value: Any) -> bytes:
    """JSON, compressed."""
    return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 9)


def unpack(blob: bytes) -> Any:
    """The value :func:`pack` packed."""
    return json.loads(zlib.decompress(blob))


def _derived(delta: Any, factor: int, dt: float | None) -> Any:
    """The rate the engine computes from ``delta`` over ``dt``, as recorded; None when
    it cannot be told."""
    if dt is None or dt <= 0 or not isinstance(delta, int):
        return None
    return significant(delta * factor / dt)


class TickEncoder:
    """Turns snapshots into ``(core, flows)`` blobs (see the module)."""

    def __init__(self) -> None:
        self._if_ids: dict[tuple[Any, ...], int] = {}
        self._if_ts: list[float | None] = []
        self._ids: dict[tuple[Any, ...], int] = {}
        self._counts: list[tuple[int, ...]] = []
        self._avg: list[Any] = []
        self._kpi: list[Any] = []
        self._rest: dict[str, Any] = {}

    def encode(self, snapshot: Snapshot, top: int, rest: dict[str, Any],
               keyframe: bool) -> tuple[bytes, bytes]:
        """The tick's blobs; ``rest`` is everything else of the snapshot, plain;
        ``keyframe`` starts a new group."""
        if keyframe:
            for state in (self._if_ids, self._ids, self._rest):
                state.clear()
            for lst in (self._if_ts, self._counts, self._avg, self._kpi):
                lst.clear()
        changed = {k: v for k, v in rest.items() if self._rest.get(k, ...) != v}
        gone = [k for k in self._rest if k not in rest]
        self._rest = rest
        core: dict[str, Any] = {"if": self._ifaces(snapshot.interfaces, snapshot.ts,
                                                   keyframe), "rest": changed}
        if gone:
            core["gone"] = gone
        return pack(core), pack(self._rows(snapshot.flows.rows[:top], snapshot.ts,
                                           snapshot.interval))

    def _ifaces(self, rates: Sequence[InterfaceRate], ts: float,
                keyframe: bool) -> list[list[Any]]:
        cols: list[list[Any]] = [[] for _ in range(4 + len(IFACE_RATES) + len(COUNTER_FIELDS))]
        ref_col, ts_col, stale_col, counters_col = cols[0], cols[1], cols[2], cols[3]
        rate_cols = cols[4:4 + len(IFACE_RATES)]
        delta_cols = cols[4 + len(IFACE_RATES):]
        expect = 0
        for r in rates:
            ident = tuple(num(f, getattr(r, f)) for f in IFACE_IDENT)
            ref: Any = self._if_ids.get(ident)
            first = ref is None
            if ref is None:
                ref = self._if_ids[ident] = len(self._if_ts)
                self._if_ts.append(None)
                ref_col.append(list(ident))
            else:
                ref_col.append(ref - expect)
            expect = ref + 1
            ms = round((r.ts - ts) * 1000)
            at = ts + ms / 1000
            before = self._if_ts[ref]
            dt = at - before if before is not None else None
            self._if_ts[ref] = at
            ts_col.append(ms)
            stale_col.append(num("stale_for", r.stale_for))
            counters_col.append([r.counters.get(f) for f in COUNTER_FIELDS]
                                if keyframe or first else None)
            for col, field in zip(delta_cols, COUNTER_FIELDS, strict=True):
                col.append(r.deltas.get(field))
            for col, (name, delta, factor) in zip(rate_cols, IFACE_RATES, strict=True):
                value = getattr(r, name)
                if value is None:
                    col.append(False)
                    continue
                value = num(name, value)
                derived = _derived(r.deltas.get(delta), factor, dt)
                col.append(None if derived is not None and derived == value else value)
        if not any(counters_col):
            cols[3] = []
        return cols

    def _rows(self, rows: Sequence[FlowRow], ts: float, interval: float) -> list[list[Any]]:
        cols: list[list[Any]] = [[] for _ in range(10)]
        expect = 0
        for row in rows:
            rec = row.record
            counts: tuple[int, ...] = (rec.packets, rec.bytes, rec.packets_rev, rec.bytes_rev)
            ident = (*(num(f, getattr(row, f)) for f in ROW_FIELDS if f not in ROW_MOVING),
                     *(num(f, v) for f, v in zip(RECORD_FIELDS, rec, strict=True)
                       if f not in RECORD_COUNTS and f not in RECORD_MOVING))
            rates: list[Any] = [num(f, getattr(row, f)) for f in ROW_MOVING]
            kpi: Any = list(rec.kpi) if rec.kpi is not None else None
            index = self._ids.get(ident)
            written: Any
            if index is None:
                index = self._ids[ident] = len(self._counts)
                self._counts.append(counts)
                self._avg.append(rates[2])
                self._kpi.append(kpi)
                written, shown = list(ident), counts
            else:
                # The number as the step from the row before's: mostly 0 (same order).
                written = index - expect
                before = self._counts[index]
                self._counts[index] = counts
                shown = tuple(c - b for c, b in zip(counts, before, strict=True))
                # A rate is this tick's bytes per second: when the increase since the
                # previous tick says it (the flow was recorded then), it is not written.
                for i, moved in ((0, shown[1]), (1, shown[3])):
                    if rates[i] == significant(moved * 8 / interval):
                        rates[i] = None
                if rates[2] == self._avg[index]:
                    rates[2] = None
                else:
                    self._avg[index] = rates[2]
                if kpi == self._kpi[index]:
                    kpi = None
                else:
                    self._kpi[index] = kpi
                    kpi = kpi if kpi is not None else False
            expect = index + 1
            for col, value in zip(cols, (written, *rates, *shown,
                                         round((ts - rec.last) * 1000), kpi), strict=True):
                col.append(value)
        return cols


class TickDecoder:
    """Reads the ticks of a keyframe group in order, as :class:`TickEncoder` wrote
    them; the field names are the file's (``meta``), so a later netop's rows read."""

    def __init__(self, meta: Mapping[str, str]) -> None:
        def names(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(json.loads(meta.get(key, "null")) or default)

        self.iface_ident = names("iface_ident", IFACE_IDENT)
        self.ident_fields = names("ident_fields", IDENT_FIELDS)
        self.kpi_fields = names("kpi_fields", KPI_FIELDS)
        self.counter_fields = names("counter_fields", COUNTER_FIELDS)
        self._row_known = frozenset(ROW_FIELDS)
        self._record_known = frozenset(RECORD_FIELDS)
        self._iface_known = frozenset(IFACE_FIELDS)
        self._kpi_known = frozenset(KPI_FIELDS)
        self._if_idents: list[dict[str, Any]] = []
        self._if_keys: list[tuple[str, str]] = []
        self._if_ts: list[float | None] = []
        self._if_counters: list[list[Any] | None] = []
        self._idents: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._counts: list[list[int]] = []
        self._avg: list[Any] = []
        self._kpi: list[FlowKpi | None] = []
        self._rest: dict[str, Any] = {}

    def reset(self) -> None:
        """At a keyframe: forget the group."""
        for lst in (self._if_idents, self._if_keys, self._if_ts, self._if_counters,
                    self._idents,
                    self._counts, self._avg, self._kpi):
            lst.clear()
        self._rest = {}

    @property
    def rest(self) -> Mapping[str, Any]:
        """The snapshot's other fields as of the tick read last (``core`` or ``rates``)."""
        return self._rest

    def core(self, blob: bytes, ts: float) -> dict[str, Any]:
        """The snapshot's fields but its flow rows, as of this tick: the "rest" merged
        with the ticks before in the group, ``interfaces`` as field dicts."""
        value = self._unpack_rest(blob)
        return {**self._rest, "interfaces": self._ifaces(value.get("if") or [], ts)}

    def _unpack_rest(self, blob: bytes) -> dict[str, Any]:
        """A tick's blob, its "rest" merged into the group's so far (:attr:`rest`)."""
        value: dict[str, Any] = unpack(blob)
        rest = {**self._rest, **value.get("rest", {})}
        for key in value.get("gone", ()):
            rest.pop(key, None)
        self._rest = rest
        return value

    def _walk(self, cols: list[list[Any]], ts: float
              ) -> Iterator[tuple[int, int, float, float | None]]:  # fmt: skip
        """``(row, interface number, its time, seconds since its previous row)`` of each
        interface row of a tick, new interfaces learned on the way; a row whose group's
        start was not read (a damaged file) is skipped."""
        ref_col, ts_col = cols[0], cols[1]
        expect = 0
        for i, ref in enumerate(ref_col):
            if isinstance(ref, list):
                self._new_iface(ref)
                ref = len(self._if_idents) - 1
            else:
                ref += expect
                if not 0 <= ref < len(self._if_idents):
                    continue
            expect = ref + 1
            at = ts + ts_col[i] / 1000
            before = self._if_ts[ref]
            self._if_ts[ref] = at
            yield i, ref, at, (at - before if before is not None else None)

    def _carry_counters(self, ref: int, i: int, cols: list[list[Any]]) -> list[Any]:
        """Interface ``ref``'s counters at row ``i``: whole in a keyframe, else its
        previous ones plus the row's deltas."""
        counters_col, delta_cols = cols[3], cols[4 + len(IFACE_RATES):]
        counters = counters_col[i] if counters_col else None
        if counters is None:
            prev = self._if_counters[ref]
            counters = ([None if b is None or c[i] is None else b + c[i]
                         for b, c in zip(prev, delta_cols, strict=False)]
                        if prev is not None else [None] * len(self.counter_fields))
        self._if_counters[ref] = counters
        return counters

    def _new_iface(self, ref: Sequence[Any]) -> None:
        ident = dict(zip(self.iface_ident, ref, strict=False))
        self._if_idents.append(ident)
        self._if_keys.append((ident.get("origin", ""), ident.get("name", "")))
        self._if_ts.append(None)
        self._if_counters.append(None)

    def rates(self, blob: bytes, ts: float, carry: bool = True
              ) -> list[tuple[tuple[str, str], Any, Any]]:
        """A tick read on the way to another: the state the next ticks build on, and
        only ``((origin, name), rx_bps, tx_bps)`` per interface, for the sparklines (a
        jump reads a minute or two of ticks; building every field, or rounding the
        rates, would cost most of it). ``carry``: keep the counters (not needed before
        the keyframe of the tick wanted)."""
        cols = self._unpack_rest(blob).get("if") or []
        if not cols or not cols[0]:
            return []
        rx_col, tx_col = cols[4], cols[5]
        delta_cols = cols[4 + len(IFACE_RATES):]
        fields = self.counter_fields
        at_rx, at_tx = fields.index("rx_bytes"), fields.index("tx_bytes")
        out = []
        for i, ref, _, dt in self._walk(cols, ts):
            if carry:
                self._carry_counters(ref, i, cols)
            rx, tx = rx_col[i], tx_col[i]
            if rx is None:
                delta = delta_cols[at_rx][i]
                rx = delta * 8 / dt if dt and isinstance(delta, int) else None
            if tx is None:
                delta = delta_cols[at_tx][i]
                tx = delta * 8 / dt if dt and isinstance(delta, int) else None
            out.append((self._if_keys[ref], None if rx is False else rx,
                        None if tx is False else tx))
        return out

    def _ifaces(self, cols: list[list[Any]], ts: float) -> list[dict[str, Any]]:
        if not cols or not cols[0]:
            return []
        nrates = len(IFACE_RATES)
        stale_col = cols[2]
        rate_cols = cols[4:4 + nrates]
        delta_cols = cols[4 + nrates:]
        fields = self.counter_fields
        out = []
        for i, ref, at, dt in self._walk(cols, ts):
            deltas = dict(zip(fields, (c[i] for c in delta_cols), strict=False))
            counters = self._carry_counters(ref, i, cols)
            kw = {**self._if_idents[ref], "ts": at, "stale_for": stale_col[i],
                  "deltas": deltas,
                  "counters": {f: v for f, v in zip(fields, counters, strict=False)
                               if v is not None}}
            for col, (name, delta, factor) in zip(rate_cols, IFACE_RATES, strict=True):
                value = col[i]
                kw[name] = (None if value is False else
                            _derived(deltas.get(delta), factor, dt) if value is None
                            else value)
            out.append(kw)
        return out

    def iface(self, kw: Mapping[str, Any]) -> InterfaceRate:
        """A decoded interface as an :class:`InterfaceRate` (no history)."""
        known = {k: v for k, v in kw.items() if k in self._iface_known}
        known.setdefault("speed_bps", None)
        known.setdefault("oper_up", None)
        return InterfaceRate(**known)

    def carry(self, blob: bytes) -> None:
        """Read a tick's flows on the way to another one: only what the next ticks build
        on, no rows made."""
        self.rows(blob, 0.0, 1.0, build=False)

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

    def _kpi_of(self, values: Sequence[Any]) -> FlowKpi:
        return FlowKpi(**{k: v for k, v in zip(self.kpi_fields, values, strict=False)
                          if k in self._kpi_known})

    def rows(self, blob: bytes, ts: float, interval: float = 1.0,
             build: bool = True) -> tuple[FlowRow, ...]:
        """The decoded ``flows`` of the next tick of the group (``interval``: the tick's,
        for the rates that were left to the counts)."""
        cols = unpack(blob)
        if not cols or not cols[0]:
            return ()
        out = []
        expect = 0
        for ref, rate, rate_rev, avg, *counts, last_ms, kpi_raw in zip(*cols, strict=False):
            if isinstance(ref, list):
                self._idents.append(self._ident(ref))
                self._counts.append(list(counts))
                self._avg.append(avg)
                kpi = self._kpi_of(kpi_raw) if kpi_raw else None
                self._kpi.append(kpi)
                index = len(self._idents) - 1
            else:
                index = ref + expect
                if not 0 <= index < len(self._counts):
                    continue  # its group's start was not read (a damaged file)
                if build:
                    if rate is None:
                        rate = significant(counts[1] * 8 / interval)
                    if rate_rev is None:
                        rate_rev = significant(counts[3] * 8 / interval)
                total = self._counts[index]
                counts = [t + c for t, c in zip(total, counts, strict=True)]
                self._counts[index] = counts
                if avg is None:
                    avg = self._avg[index]
                else:
                    self._avg[index] = avg
                if kpi_raw is None:
                    kpi = self._kpi[index]
                else:
                    kpi = self._kpi_of(kpi_raw) if kpi_raw else None
                    self._kpi[index] = kpi
            expect = index + 1
            if not build:
                continue
            row_kw, rec_kw = self._idents[index]
            record = FlowRecord(**rec_kw, **dict(zip(RECORD_COUNTS, counts, strict=True)),
                                last=ts - last_ms / 1000, kpi=kpi)
            out.append(FlowRow(record=record, rate_bps=rate, rate_rev_bps=rate_rev,
                               avg_bps=avg, **row_kw))
        return tuple(out)


def meta_fields() -> dict[str, str]:
    """The field names a reader needs, for ``meta``."""
    return {"iface_ident": json.dumps(IFACE_IDENT), "ident_fields": json.dumps(IDENT_FIELDS),
            "kpi_fields": json.dumps(KPI_FIELDS),
            "counter_fields": json.dumps(COUNTER_FIELDS)}


__all__ = ["IDENT_FIELDS", "IFACE_FIELDS", "Snapshot", "TickDecoder", "TickEncoder",
           "meta_fields", "num", "pack", "significant", "unpack"]
