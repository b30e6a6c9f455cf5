"""NetFlow v9 (RFC 3954): header, template and options-template FlowSets, data FlowSets."""

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
)
from netop.sources.collector.templates import FieldSpec

VERSION = 9
_HEADER = struct.Struct("!HHIIII")
_SET = struct.Struct("!HH")
_PAIR = struct.Struct("!HH")
_OPTIONS = struct.Struct("!HHH")
#: v9 scope field types (system, interface, ...) are not IPFIX elements: never decode
#: them as one; a non-zero "enterprise" marks them unknown.
_SCOPE_PEN = 1


def decode(data: bytes, state: ExporterState, now: float, limits: Limits, out: Output) -> None:
    """Decode one v9 export packet into ``out``; raises Malformed on broken structure."""
    if len(data) < _HEADER.size:
        raise Malformed("short v9 header")
    _, count, uptime, unix_secs, sequence, source_id = _HEADER.unpack_from(data)
    export_ms = unix_secs * 1000.0
    state.datagram_templates = 0
    pos, end = _HEADER.size, len(data)
    seen = 0  # records so far
    while end - pos >= 4:
        set_id, length = _SET.unpack_from(data, pos)
        if length < 4 or pos + length > end:
            if count and seen >= count:
                break  # junk after the header's count of records: padding, not an attack
            raise Malformed(f"FlowSet length {length} at {pos}")
        if set_id > 255:
            tpl = state.templates.get((VERSION, source_id, set_id))
            if tpl is not None and tpl.aggregate is not None:  # the hot path
                seen += data_set(tpl, data, pos + 4, pos + length, export_ms, uptime,
                                 state.sampling.get((VERSION, source_id), 1), out)  # fmt: skip
                pos += length
                continue
        body = memoryview(data)[pos + 4 : pos + length]
        if set_id == 0:
            seen += _templates(body, state, source_id, now, limits, out)
        elif set_id == 1:
            seen += _options_templates(body, state, source_id, now, limits, out)
        elif set_id > 255:
            key = (VERSION, source_id, set_id)
            records = decode_data_set(state, key, body, export_ms, uptime, now, limits, out)
            seen += records if records > 0 else _guess_records(body)
        pos += length
    state.check_sequence("netflow9", source_id, sequence, 1)


def _guess_records(body: memoryview) -> int:
    # A data set whose template is unknown holds at least one record.
    return 1 if len(body) else 0


def _templates(
    body: memoryview, state: ExporterState, domain: int, now: float, limits: Limits, out: Output
) -> int:
    pos, end, done = 0, len(body), 0
    while end - pos >= 4:
        tid, count = _PAIR.unpack_from(body, pos)
        pos += 4
        if tid < 256 or pos + 4 * count > end:
            raise Malformed(f"template {tid} with {count} fields overruns its FlowSet")
        done += 1
        if template_budget_spent(state, limits):
            return done
        if too_many_fields(state, count, limits):
            pos += 4 * count
            continue
        fields: list[FieldSpec] = []
        for _ in range(count):
            ie, length = _PAIR.unpack_from(body, pos)
            fields.append((ie, length, 0))
            pos += 4
        define_template(state, (VERSION, domain, tid), tuple(fields), 0, False, now, limits, out)
    return done


def _options_templates(
    body: memoryview, state: ExporterState, domain: int, now: float, limits: Limits, out: Output
) -> int:
    pos, end, done = 0, len(body), 0
    while end - pos >= _OPTIONS.size + 4:  # shorter is padding
        tid, scope_len, option_len = _OPTIONS.unpack_from(body, pos)
        pos += _OPTIONS.size
        if tid < 256 or scope_len % 4 or option_len % 4 or pos + scope_len + option_len > end:
            raise Malformed(f"options template {tid} overruns its FlowSet")
        done += 1
        if template_budget_spent(state, limits):
            return done
        if too_many_fields(state, (scope_len + option_len) // 4, limits):
            pos += scope_len + option_len
            continue
        fields: list[FieldSpec] = []
        for index in range((scope_len + option_len) // 4):
            ie, length = _PAIR.unpack_from(body, pos)
            fields.append((ie, length, _SCOPE_PEN if index < scope_len // 4 else 0))
            pos += 4
        key, scope = (VERSION, domain, tid), scope_len // 4
        define_template(state, key, tuple(fields), scope, True, now, limits, out)
    return done
