"""NetFlow v5: 24-byte header, 48-byte IPv4 records, sampling, sysUptime to epoch.

A v5 record is a fixed layout, so it is decoded by the same generated code as a v9
template with those fields (First/Last being sysUptime-relative like v9's IE 22/21).
"""

from __future__ import annotations

import struct

from netop.sources.collector.exporters import ExporterState
from netop.sources.collector.flowsets import Malformed, Output, data_set
from netop.sources.collector.templates import compile_template

_HEADER = struct.Struct("!HHIIIIBBH")
RECORD_SIZE = 48
MAX_COUNT = 30
_PAD = 0  # not an information element: skipped
#: src, dst, (nexthop), input, output, dPkts, dOctets, First, Last, srcport, dstport,
#: (pad), tcp_flags, prot, (tos, src_as, dst_as, masks, pad2).
V5_LAYOUT = compile_template(
    0,
    [(8, 4, 0), (12, 4, 0), (_PAD, 4, 0), (10, 2, 0), (14, 2, 0), (2, 4, 0), (1, 4, 0),
     (22, 4, 0), (21, 4, 0),
     (7, 2, 0), (11, 2, 0), (_PAD, 1, 0), (6, 1, 0), (4, 1, 0), (_PAD, 9, 0)],
)  # fmt: skip


def decode(data: bytes, state: ExporterState, out: Output) -> None:
    """Decode one v5 datagram into ``out``; raises Malformed on broken structure."""
    if len(data) < _HEADER.size:
        raise Malformed("short v5 header")
    _, count, uptime, secs, nsecs, sequence, etype, eid, sampling = _HEADER.unpack_from(data)
    if not 0 < count <= MAX_COUNT or len(data) < _HEADER.size + count * RECORD_SIZE:
        raise Malformed(f"v5 count {count} for a {len(data)}-byte datagram")
    rate = sampling & 0x3FFF or 1
    export_ms = secs * 1000.0 + nsecs / 1e6
    end = _HEADER.size + count * RECORD_SIZE
    data_set(V5_LAYOUT, data, _HEADER.size, end, export_ms, uptime, rate, out)
    state.check_sequence("netflow5", etype << 8 | eid, sequence, count)
