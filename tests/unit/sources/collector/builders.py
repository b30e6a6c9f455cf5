"""Build NetFlow v9 / IPFIX / sFlow datagrams byte by byte for decoder tests."""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence

from netop.model import FlowRecord
from netop.sources.collector.decoder import Collector

#: (ie, length) or (ie, length, enterprise).
Field = tuple[int, ...]

V4_TEMPLATE: list[Field] = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (2, 4), (1, 4),
                            (152, 8), (153, 8)]  # fmt: skip


def v4_record(src: str, dst: str, sport: int, dport: int, proto: int = 6, flags: int = 0x12,
              packets: int = 3, octets: int = 180, first_ms: int = 1_700_000_000_000,
              last_ms: int = 1_700_000_001_000) -> bytes:  # fmt: skip
    """One data record of :data:`V4_TEMPLATE`."""
    return struct.pack(
        "!4s4sHHBBIIQQ", socket.inet_aton(src), socket.inet_aton(dst), sport, dport, proto,
        flags, packets, octets, first_ms, last_ms,
    )  # fmt: skip


def field_specs(fields: Sequence[Field]) -> bytes:
    out = b""
    for f in fields:
        if len(f) == 3 and f[2]:
            out += struct.pack("!HHI", f[0] | 0x8000, f[1], f[2])
        else:
            out += struct.pack("!HH", f[0], f[1])
    return out


def ipfix_template_set(tid: int, fields: Sequence[Field]) -> bytes:
    body = struct.pack("!HH", tid, len(fields)) + field_specs(fields)
    return struct.pack("!HH", 2, 4 + len(body)) + body


def ipfix_options_set(tid: int, scope: Sequence[Field], fields: Sequence[Field]) -> bytes:
    body = struct.pack("!HHH", tid, len(scope) + len(fields), len(scope))
    body += field_specs([*scope, *fields])
    body += b"\0" * (-len(body) % 4)
    return struct.pack("!HH", 3, 4 + len(body)) + body


def data_set(tid: int, *records: bytes, pad: int = 0) -> bytes:
    body = b"".join(records) + b"\0" * pad
    return struct.pack("!HH", tid, 4 + len(body)) + body


def ipfix(*sets: bytes, seq: int = 0, domain: int = 1, export: int = 1_700_000_010) -> bytes:
    body = b"".join(sets)
    return struct.pack("!HHIII", 10, 16 + len(body), export, seq, domain) + body


def v9_template_set(tid: int, fields: Sequence[Field]) -> bytes:
    body = struct.pack("!HH", tid, len(fields)) + field_specs(fields)
    return struct.pack("!HH", 0, 4 + len(body)) + body


def v9(*sets: bytes, seq: int = 0, source_id: int = 1, uptime: int = 100_000,
       secs: int = 1_700_000_010, count: int = 0) -> bytes:  # fmt: skip
    return struct.pack("!HHIIII", 9, count, uptime, secs, seq, source_id) + b"".join(sets)


def sflow(*samples: bytes, seq: int = 1, count: int | None = None) -> bytes:
    head = struct.pack("!II4sIII", 5, 1, socket.inet_aton("192.0.2.1"), 0, seq, 1000)
    n = len(samples) if count is None else count
    return head + struct.pack("!I", n) + b"".join(samples)


def sflow_flow_sample(frame: bytes, rate: int = 100, seq: int = 1, pool: int = 100,
                      vlan: int | None = None, in_if: int = 1,
                      out_if: int = 2) -> bytes:  # fmt: skip
    header = frame + b"\0" * (-len(frame) % 4)
    raw = struct.pack("!IIII", 1, len(frame) + 4, 4, len(frame)) + header
    records = struct.pack("!II", 1, len(raw)) + raw
    n = 1
    if vlan is not None:
        records += struct.pack("!IIIIII", 1001, 16, vlan, 0, vlan, 0)
        n += 1
    body = struct.pack("!IIIIIIII", seq, 3, rate, pool, 0, in_if, out_if, n) + records
    return struct.pack("!II", 1, len(body)) + body


def sflow_counter_sample(index: int = 3, in_octets: int = 1000, out_octets: int = 2000) -> bytes:
    generic = struct.pack("!IIQIIQIIIIIIQIIIIII", index, 6, 1_000_000_000, 1, 3, in_octets,
                          10, 1, 1, 0, 0, 0, out_octets, 20, 2, 2, 1, 0, 0)  # fmt: skip
    body = struct.pack("!III", 1, 3, 1) + struct.pack("!II", 1, len(generic)) + generic
    return struct.pack("!II", 2, len(body)) + body


def flows(c: Collector, data: bytes, exporter: str, now: float) -> list[FlowRecord]:
    """Feed one datagram and drain what it added, as the source does each tick."""
    c.feed(data, exporter, now)
    return [rec for recs in c.flows.drain().values() for rec in recs]
