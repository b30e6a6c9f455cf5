"""The headless view: snapshots (and the flows the engine hands out) as JSON lines or text.

Every headless command prints through here, so a record looks the same whichever
command printed it: flows in the design's flow-record shape, interfaces in its
interface-record shape (``to_json`` of the model), one object per line with ``--json``.
"""

from __future__ import annotations

import functools
import json
import json.encoder
import time
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from netop.format import endpoint, human_age, human_bytes, human_count, human_rate
from netop.model import (
    APP_KEYS,
    KPI_KEYS,
    AppFacts,
    FlowKpi,
    FlowRecord,
    InterfaceRate,
    KpiGroup,
    NetEvent,
    Severity,
    Snapshot,
    proto_name,
    tcp_flags_text,
)


class HeadlessView:
    """Writes records to ``out``: JSON lines (``as_json``) or a plain table."""

    def __init__(self, out: TextIO, as_json: bool) -> None:
        self.out = out
        self.as_json = as_json
        self._header = False
        self._events_seen = 0

    # -- flows ------------------------------------------------------------------------

    def flows(self, records: Iterable[FlowRecord], table: bool = True) -> None:
        """Flow records: one JSON object each, or rows of a table (``table``: with its
        header line once; else one self-describing line each, as a stream)."""
        if self.as_json:
            lines = flow_json_lines(records)
        elif table:
            lines = [flow_row(r) for r in records]
            if not self._header:
                lines.insert(0, FLOW_HEADER)
                self._header = True
        else:
            lines = [flow_line(r) for r in records]
        self._write(lines)

    def snapshot_flows(self, snapshot: Snapshot) -> None:
        """The flow rows of a snapshot (its Flows view: filtered, sorted, cut)."""
        self.flows(row.record for row in snapshot.flows.rows)

    # -- interfaces --------------------------------------------------------------------

    def interfaces(self, rates: Iterable[InterfaceRate]) -> None:
        """Interface records: one JSON object each, or one line each."""
        if self.as_json:
            lines = [json_line(r.to_json()) for r in rates]
        else:
            lines = [interface_line(r) for r in rates]
        self._write(lines)

    # -- events -----------------------------------------------------------------------

    def new_events(self, snapshot: Snapshot) -> list[NetEvent]:
        """The snapshot's events this view has not seen yet, oldest first."""
        fresh = snapshot.events_total - self._events_seen
        self._events_seen = snapshot.events_total
        if fresh <= 0:
            return []
        return list(snapshot.events[-fresh:])

    def events(self, events: Iterable[NetEvent]) -> None:
        """Events: one JSON object each (pushed ones with kind, sender, interface and
        details), or one line each (time, level, message)."""
        if self.as_json:
            lines = [event_json_line(e) for e in events]
        else:
            lines = [event_line(e) for e in events]
        self._write(lines)

    def _write(self, lines: list[str]) -> None:
        if lines:
            self.out.write("\n".join(lines) + "\n")
        self.out.flush()


def _line_encoder() -> Callable[[dict[str, Any]], str]:
    """``json.dumps`` with its defaults, the C encoder made once instead of per call
    (a quarter of the cost of printing 10k flows)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return json.dumps
    encode = make(None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii,
                  None, ": ", ", ", False, False, True)

    def line(obj: dict[str, Any]) -> str:
        return "".join(encode(obj, 0))

    return line


#: One JSON object as ``json.dumps`` writes it.
json_line = _line_encoder()

_quote = json.encoder.encode_basestring_ascii
_FLOW_JSON = (
    '{"proto": %s, "src": %s, "sport": %r, "dst": %s, "dport": %r, "vlan": %s, '
    '"packets": %r, "bytes": %r, "packets_rev": %r, "bytes_rev": %r, "first": %r, '
    '"last": %r, "tcp_flags": %s, "source": %s, "exporter": %s, "sampling": %r, '
    '"in_if": %s, "out_if": %s, %s'
)
#: The KPI keys of a flow without KPIs (all null), closing the object.
_NO_KPI_JSON = ", ".join(f'"{k}": null' for k in KPI_KEYS) + "}"
#: The application-layer keys of a flow without facts (all null), closing the object.
_NO_APP_JSON = ", ".join(f'"{k}": null' for k in APP_KEYS) + "}"


@functools.cache
def _native_kpi_json() -> Callable[[FlowKpi], str | None] | None:
    from netop.native import fastpath

    module = fastpath.load()
    return None if module is None else getattr(module, "kpi_json", None)


@functools.cache
def _native_flow_json() -> Callable[[FlowRecord, str, str, str], str | None] | None:
    from netop.native import fastpath

    module = fastpath.load()
    return None if module is None else getattr(module, "flow_json", None)


def _kpi_json(kpi: FlowKpi | None) -> str:
    if kpi is None:
        return _NO_KPI_JSON
    native = _native_kpi_json()
    text = native(kpi) if native is not None else None
    return text if text is not None else json_line(kpi._asdict())[1:]


_NO_KPI_APP_JSON = _NO_KPI_JSON[:-1] + ", " + _NO_APP_JSON


def _kpi_app_json(kpi: FlowKpi | None, app: AppFacts | None) -> str:
    if kpi is None and app is None:
        return _NO_KPI_APP_JSON
    head = _kpi_json(kpi)[:-1] + ", "
    return head + (_NO_APP_JSON if app is None else json_line(app.as_json())[1:])


def _opt(value: int | None) -> str:
    return "null" if value is None else repr(value)


def flow_json_line(r: FlowRecord) -> str:
    """``json_line(r.to_json())``, formatted directly (a third of the cost; printing is
    a quarter of ``netop flows -r`` on a 10k-flow file). Strings go through json's own
    escaping; a time that is not a finite float takes the general path. The line is
    written in C when it can be (``_fastflow.flow_json``: the same bytes)."""
    native = _native_flow_json()
    if native is not None:
        app = r.app
        text = native(r, proto_name(r.proto), tcp_flags_text(r.tcp_flags),
                      _NO_APP_JSON if app is None else json_line(app.as_json())[1:])
        if text is not None:
            return text
    return _python_flow_json_line(r)


@functools.cache
def _native_flow_json_lines() -> Callable[..., list[str]] | None:
    from netop.native import fastpath

    module = fastpath.load()
    return None if module is None else getattr(module, "flow_json_lines", None)


@functools.cache
def _texts() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Every byte's protocol text and TCP flags text: the C loop's tables."""
    return (tuple(proto_name(i) for i in range(256)),
            tuple(tcp_flags_text(i) for i in range(256)))


def flow_json_lines(records: Iterable[FlowRecord]) -> list[str]:
    """:func:`flow_json_line` of each record, the usual ones with no Python call each
    (``_fastflow.flow_json_lines``: a summary prints one per flow)."""
    native = _native_flow_json_lines()
    if native is None:
        return [flow_json_line(r) for r in records]
    protos, flags = _texts()
    return native(records if isinstance(records, list | tuple) else list(records), protos,
                  flags, _NO_APP_JSON, flow_json_line)  # fmt: skip


def _python_flow_json_line(r: FlowRecord) -> str:
    """:func:`flow_json_line` in Python (any record)."""
    first, last = r.first, r.last
    if type(first) is not float or type(last) is not float or not (
        -1e300 < first < 1e300 and -1e300 < last < 1e300
    ):
        return json_line(r.to_json())
    return _FLOW_JSON % (
        _quote(proto_name(r.proto)), _quote(r.src), r.sport, _quote(r.dst), r.dport,
        _opt(r.vlan), r.packets, r.bytes, r.packets_rev, r.bytes_rev, first, last,
        _quote(tcp_flags_text(r.tcp_flags)), _quote(r.source),
        "null" if r.exporter is None else _quote(r.exporter), r.sampling,
        _opt(r.in_if), _opt(r.out_if), _kpi_app_json(r.kpi, r.app),
    )  # fmt: skip


FLOW_HEADER = (f"{'PROTO':<7}{'SOURCE':<40}{'DESTINATION':<40}{'VLAN':>5}"
               f"{'PKTS':>8}{'BYTES':>9}{'PKTS<':>8}{'BYTES<':>9}{'DURATION':>9} FLAGS")


def flow_row(r: FlowRecord) -> str:
    """One flow as a row under :data:`FLOW_HEADER`, in the TUI's units (``--json`` has
    the exact counts)."""
    src = endpoint(r.src, r.sport, r.proto)
    dst = endpoint(r.dst, r.dport, r.proto, icmp_type=True)
    vlan = "-" if r.vlan is None else str(r.vlan)
    return (f"{proto_name(r.proto):<7}{src:<40}{dst:<40}{vlan:>5}"
            f"{human_count(r.packets):>8}{human_bytes(r.bytes):>9}"
            f"{human_count(r.packets_rev):>8}{human_bytes(r.bytes_rev):>9}"
            f"{human_age(r.last - r.first):>9} {tcp_flags_text(r.tcp_flags) or '-'}")


def flow_line(r: FlowRecord) -> str:
    """One flow on one self-describing line (a stream of exported flows)."""
    src = endpoint(r.src, r.sport, r.proto)
    dst = endpoint(r.dst, r.dport, r.proto, icmp_type=True)
    return (f"{r.source:<8} {r.exporter or '-':<15} {proto_name(r.proto):<6} "
            f"{src} > {dst} vlan {r.vlan if r.vlan is not None else '-'} "
            f"{human_count(r.packets)} pkts {human_bytes(r.bytes)} "
            f"flags {tcp_flags_text(r.tcp_flags) or '-'} "
            f"sampling {r.sampling}")


def interface_line(row: InterfaceRate) -> str:
    """One interface's rates, drops and errors this interval, after the sample's time."""
    state = "up" if row.oper_up else "down" if row.oper_up is False else "?"
    stamp = time.strftime("%H:%M:%S", time.localtime(row.ts))
    return (f"{stamp} {row.label:<24} rx {human_rate(row.rx_bps):>12}  "
            f"tx {human_rate(row.tx_bps):>12}  "
            f"drops {row.deltas.get('rx_drops') or 0}/{row.deltas.get('tx_drops') or 0}  "
            f"errors {row.deltas.get('rx_errors') or 0}/{row.deltas.get('tx_errors') or 0}  "
            f"{state}")


def event_line(event: NetEvent) -> str:
    """One event as ``HH:MM:SS.mmm LEVEL message`` (the message is already safe text)."""
    stamp = time.strftime("%H:%M:%S", time.localtime(event.ts))
    return f"{stamp}.{int(event.ts % 1 * 1000):03d} {event.severity.name:<7} {event.message}"


_EVENT_JSON = ('{"ts": %r, "severity": %s, "source": %s, "message": %s, "kind": %s, '
               '"sender": %s, "interface": %s, "details": {%s}}')


_LEVELS = {level: _quote(level.name.lower()) for level in Severity}
#: Detail keys as JSON (``"level": ``): the same few keys on every event of a flood.
_EVENT_KEYS: dict[str, str] = {}
#: Whole detail pairs as JSON: a flood's facility, level, sender, host and app repeat.
_EVENT_PAIRS: dict[tuple[str, str], str] = {}


def _event_key(key: str) -> str:
    quoted = _quote(key) + ": "
    if len(_EVENT_KEYS) < 1024:  # keys come from the network: bounded
        _EVENT_KEYS[key] = quoted
    return quoted


def event_json_line(e: NetEvent) -> str:
    """``json_line(e.to_json())``, formatted directly for pushed events (half the cost:
    a syslog flood prints tens of thousands a second)."""
    if not e.kind or type(e.ts) is not float or not -1e300 < e.ts < 1e300:
        return json_line(e.to_json())
    pairs = _EVENT_PAIRS
    # Keyed by the detail's key, as dict(details) would: a repeated key keeps its first
    # place and its last value.
    parts: dict[str, str] = {}
    for pair in e.details:
        text = pairs.get(pair)
        if text is None:
            text = (_EVENT_KEYS.get(pair[0]) or _event_key(pair[0])) + _quote(pair[1])
            if len(pairs) >= 4096:  # values come from the network: bounded
                pairs.clear()
            pairs[pair] = text
        parts[pair[0]] = text
    details = ", ".join(parts.values())
    return _EVENT_JSON % (
        e.ts, _LEVELS[e.severity], _quote(e.source), _quote(e.message),
        _quote(e.kind), _quote(e.sender), _quote(e.interface) if e.interface else "null",
        details,
    )  # fmt: skip


def _num(value: float | int | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def kpi_header() -> str:
    """The header of ``netop kpis`` without ``--json``."""
    return (f"{'KEY':<40}{'FLOWS':>7}{'OK%':>7}{'RTT50':>9}{'RTT95':>9}{'RETR%':>7}"
            f"{'TTFB50':>9}{'TTFB95':>9}{'DNS50':>9}{'DNSFAIL':>8}")


def kpi_row(g: KpiGroup) -> str:
    """One group under :func:`kpi_header` (times in ms, '-' where not measurable)."""
    return (f"{g.key:<40}{g.flows:>7}{_num(g.success_pct, '.1f'):>7}"
            f"{_num(g.rtt_ms_p50, '.2f'):>9}{_num(g.rtt_ms_p95, '.2f'):>9}"
            f"{_num(g.retrans_pct, '.2f'):>7}{_num(g.ttfb_ms_p50, '.2f'):>9}"
            f"{_num(g.ttfb_ms_p95, '.2f'):>9}{_num(g.dns_ms_p50, '.2f'):>9}"
            f"{_num(g.dns_failures, 'd'):>8}")
