"""NetFlow v5: 24-byte header, 48-byte IPv4 records, sampling, sysUptime to epoch."""

from __future__ import annotations

import struct

from netop.sources.collector.exporters import ExporterState
from netop.sources.collector.flowsets import Malformed, Output

_HEADER = struct.Struct("!HHIIIIBBH")
# src, dst, (nexthop, input, output), dPkts, dOctets, First, Last, srcport, dstport,
# (pad), tcp_flags, prot, (tos, src_as, dst_as, masks, pad2).
_RECORD = struct.Struct("!4s4s8xIIIIHHxBB9x")
RECORD_SIZE = 48
MAX_COUNT = 30


def decode(data: bytes, state: ExporterState, out: Output) -> None:
    """Decode one v5 datagram into ``out``; raises Malformed on broken structure."""
    if len(data) < _HEADER.size:
        raise Malformed("short v5 header")
    _, count, uptime, secs, nsecs, sequence, _etype, _eid, sampling = _HEADER.unpack_from(data)
    if not 0 < count <= MAX_COUNT or len(data) < _HEADER.size + count * RECORD_SIZE:
        raise Malformed(f"v5 count {count} for a {len(data)}-byte datagram")
    rate = sampling & 0x3FFF or 1
    now_ms = secs * 1000.0 + nsecs / 1e6
    body = memoryview(data)[_HEADER.size : _HEADER.size + count * RECORD_SIZE]
    # First/Last are sysUptime ms; the signed 32-bit distance to the header's uptime
    # survives the uptime wrapping every 49.7 days.
    records = [
        (
            proto,
            src,
            sport,
            dst,
            dport,
            None,
            packets * rate,
            octets * rate,
            (now_ms - ((uptime - first + 0x80000000) & 0xFFFFFFFF) + 0x80000000) / 1000,
            (now_ms - ((uptime - last + 0x80000000) & 0xFFFFFFFF) + 0x80000000) / 1000,
            flags,
        )
        for src, dst, packets, octets, first, last, sport, dport, flags, proto in (
            _RECORD.iter_unpack(body)
        )
    ]
    out.append((rate, records))  # type: ignore[arg-type]
    engine = _etype << 8 | _eid
    state.check_sequence("netflow5", engine, sequence, count)
