"""IPFIX (RFC 7011): message header, template/options-template sets, withdrawals, data sets."""

from __future__ import annotations

import struct

from netop.sources.collector.exporters import ExporterState, Limits
from netop.sources.collector.flowsets import (
    Malformed,
    Output,
    decode_data_set,
    define_template,
    fast_data_set,
    template_budget_spent,
    too_many_fields,
    uptime_time_context,
    withdrawn,
)
from netop.sources.collector.records import RawFlow
from netop.sources.collector.templates import FieldSpec

VERSION = 10
_NO_TIME_CONTEXT = (0.0, None)
_HEADER = struct.Struct("!HHIII")
_PAIR = struct.Struct("!HH")
_PEN = struct.Struct("!I")
_OPTIONS = struct.Struct("!HHH")


def decode(data: bytes, state: ExporterState, now: float, limits: Limits, out: Output) -> None:
    """Decode one IPFIX message into ``out``; raises Malformed on broken structure."""
    if len(data) < _HEADER.size:
        raise Malformed("short IPFIX header")
    _, length, export_time, sequence, domain = _HEADER.unpack_from(data)
    if length < _HEADER.size or length > len(data):
        raise Malformed(f"message length {length} of a {len(data)}-byte datagram")
    export_ms = export_time * 1000.0
    state.datagram_templates = 0
    pos, end = _HEADER.size, length
    data_records = options_records = 0
    unknown = False  # a set waits for its template: this message's count is unknown
    templates = state.templates
    unpack = _PAIR.unpack_from
    uptime, sampling = _context(state, domain, export_ms)
    flows: list[RawFlow] = []
    fast = fast_data_set
    deferred, source, exporter = out.deferred, out.source, out.exporter
    uptime_context = uptime_time_context(export_ms, uptime)
    table = out.table(sampling) if out.sink is not None and deferred is None else None
    room, overflow, merged = out.room, 0, 0
    try:
        while end - pos >= 4:
            set_id, set_len = unpack(data, pos)
            after = pos + set_len
            if set_len < 4 or after > end:
                raise Malformed(f"set length {set_len} at {pos}")
            if set_id > 255:
                tpl = templates.get((VERSION, domain, set_id))
                if tpl is not None and tpl.aggregate is not None and deferred is not None:
                    # The hot path: known data sets are merged into the flow table at the
                    # end of the burst, one call per template and export second.
                    size = tpl.fixed_length or 1
                    stop = after - (set_len - 4) % size
                    if tpl.has_uptime:
                        group = (tpl, uptime_context, sampling, source, exporter)
                    elif tpl.uses_export_time:
                        group = (tpl, (export_ms, None), sampling, source, exporter)
                    else:
                        group = (tpl, _NO_TIME_CONTEXT, sampling, source, exporter)
                    bodies = deferred.get(group)
                    if bodies is None:
                        deferred[group] = [data[pos + 4 : stop]]
                    else:
                        bodies.append(data[pos + 4 : stop])
                    count = (stop - pos - 4) // size
                    merged += count
                    data_records += count
                    pos = after
                    continue
                if tpl is not None and tpl.aggregate is not None and table is not None:
                    size = tpl.fixed_length or 1
                    stop = after - (set_len - 4) % size
                    room, over = tpl.aggregate(data[pos + 4 : stop], export_ms, uptime, sampling,
                                               table, room)  # fmt: skip
                    count = (stop - pos - 4) // size
                    overflow += over
                    merged += count - over
                    data_records += count
                    pos = after
                    continue
                if tpl is not None and tpl.convert is not None:
                    got = fast(tpl, data, pos + 4, after, export_ms, uptime, sampling, out)
                    if isinstance(got, int):
                        data_records += got
                    else:
                        flows += got
                        data_records += len(got)
                    pos = after
                    continue
                key = (VERSION, domain, set_id)
                body = memoryview(data)[pos + 4 : after]
                count = decode_data_set(state, key, body, export_ms, uptime, now, limits, out)
                if count < 0:
                    unknown = True
                else:
                    data_records += count
                if count > 0 and tpl is not None and tpl.options:
                    options_records += count  # options data may set sampling or boot time
                    uptime, sampling = _context(state, domain, export_ms)
                    uptime_context = uptime_time_context(export_ms, uptime)
                    if table is not None:
                        table = out.table(sampling)
            elif set_id in (2, 3):
                body = memoryview(data)[pos + 4 : after]
                _templates(body, state, domain, now, limits, out, options=set_id == 3)
            pos = after
    finally:
        # Kept even when the rest of the message turns out malformed.
        out.room, out.overflow, out.merged = room, out.overflow + overflow, out.merged + merged
    if flows:
        out.append((sampling, flows))
    if unknown:
        state.check_sequence("ipfix", domain, sequence, -1)
    else:
        flows_only = data_records - options_records
        state.check_sequence("ipfix", domain, sequence, data_records, flows_only)


def _context(state: ExporterState, domain: int, export_ms: float) -> tuple[float | None, int]:
    """Uptime at export (from systemInitTimeMilliseconds) and sampling of a domain."""
    init = state.init_ms.get(domain)
    uptime = export_ms - init if init is not None else None
    return uptime, state.sampling.get((VERSION, domain), 1)


def _templates(
    body: memoryview,
    state: ExporterState,
    domain: int,
    now: float,
    limits: Limits,
    out: Output,
    options: bool,
) -> None:
    head = _OPTIONS if options else _PAIR
    pos, end = 0, len(body)
    while end - pos >= head.size:  # shorter is padding
        if template_budget_spent(state, limits):
            return
        if options:
            tid, count, scope = _OPTIONS.unpack_from(body, pos)
        else:
            (tid, count), scope = _PAIR.unpack_from(body, pos), 0
        if count == 0:
            # A withdrawal has only the 4-byte record header.
            withdrawn(state, VERSION, domain, tid, options)
            pos += 4
            continue
        pos += head.size
        if tid < 256 or (options and not 0 < scope <= count):
            raise Malformed(f"template {tid}: {count} fields, {scope} scope fields")
        if too_many_fields(state, count, limits):
            return  # its end is not known without walking it: the rest of the set goes
        fields: list[FieldSpec] = []
        for _ in range(count):
            if end - pos < 4:
                raise Malformed(f"template {tid} with {count} fields overruns its set")
            ie, length = _PAIR.unpack_from(body, pos)
            pos += 4
            pen = 0
            if ie & 0x8000:
                if end - pos < 4:
                    raise Malformed(f"template {tid}: enterprise number cut off")
                (pen,) = _PEN.unpack_from(body, pos)
                pos += 4
                ie &= 0x7FFF
            fields.append((ie, length, pen))
        key = (VERSION, domain, tid)
        define_template(state, key, tuple(fields), scope, options, now, limits, out)
