"""IPFIX (RFC 7011): message header, template/options-template sets, withdrawals, data sets."""

from __future__ import annotations

import struct

from netop.sources.collector.exporters import ExporterState, Limits
from netop.sources.collector.flowsets import (
    Malformed,
    Output,
    decode_data_set,
    known_template,
    template_arrived,
    withdrawn,
)
from netop.sources.collector.templates import FieldSpec, compile_template

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
    pos, end = _HEADER.size, length
    data_records = options_records = 0
    while end - pos >= 4:
        set_id, set_len = _PAIR.unpack_from(data, pos)
        if set_len < 4 or pos + set_len > end:
            raise Malformed(f"set length {set_len} at {pos}")
        body = memoryview(data)[pos + 4 : pos + set_len]
        if set_id in (2, 3):
            _templates(body, state, domain, now, limits, out, options=set_id == 3)
        elif set_id > 255:
            init = state.init_ms.get(domain)
            uptime = export_ms - init if init is not None else None
            key = (VERSION, domain, set_id)
            count = decode_data_set(state, key, body, export_ms, uptime, now, limits, out)
            data_records = -1 if count < 0 or data_records < 0 else data_records + count
            if count > 0 and key in state.templates and state.templates[key].options:
                options_records += count
        pos += set_len
    flows_only = data_records - options_records if data_records >= 0 else -1
    state.check_sequence("ipfix", domain, sequence, data_records, flows_only)


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
        if not known_template(state, key, tuple(fields), scope, now):
            tpl = compile_template(tid, fields, scope_count=scope, options=options)
            template_arrived(state, key, tpl, now, limits, out)
