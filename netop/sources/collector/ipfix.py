"""IPFIX (RFC 7011): message header, template/options-template sets, withdrawals, data sets."""

from __future__ import annotations

import struct

from netop.sources.collector.exporters import ExporterState, Limits
from netop.sources.collector.flowsets import (
    Malformed,
    Output,
    data_set,
    decode_data_set,
    define_template,
    template_budget_spent,
    too_many_fields,
    withdrawn,
)
from netop.sources.collector.templates import FieldSpec

VERSION = 10
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
    while end - pos >= 4:
        set_id, set_len = unpack(data, pos)
        after = pos + set_len
        if set_len < 4 or after > end:
            raise Malformed(f"set length {set_len} at {pos}")
        if set_id > 255:
            tpl = templates.get((VERSION, domain, set_id))
            if tpl is not None and tpl.aggregate is not None:  # the hot path
                data_records += data_set(tpl, data, pos + 4, after, export_ms, uptime,
                                         sampling, out)  # fmt: skip
                pos = after
                continue
            body = memoryview(data)[pos + 4 : after]
            count = decode_data_set(
                state, (VERSION, domain, set_id), body, export_ms, uptime, now, limits, out
            )
            if count < 0:
                unknown = True
            else:
                data_records += count
            if count > 0 and tpl is not None and tpl.options:
                options_records += count  # options data may set sampling or boot time
                uptime, sampling = _context(state, domain, export_ms)
        elif set_id in (2, 3):
            body = memoryview(data)[pos + 4 : after]
            _templates(body, state, domain, now, limits, out, options=set_id == 3)
        pos = after
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
