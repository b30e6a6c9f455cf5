"""Each interface's root qdisc drops, from one rtnetlink dump (what ``tc -s qdisc`` shows).

A packet a full egress queue drops (a shaper's ``tbf``, a ``pfifo`` at its limit, an
``fq_codel`` under pressure) never reaches the driver, so it is not in the interface's
``tx_dropped`` (``/proc/net/dev``): on a veth the kernel counts it only in the qdisc.
Read here for every interface at once, in the caller's network namespace, without
running ``tc``: one ``RTM_GETQDISC`` dump costs about as much as reading ``/proc/net/dev``.
"""

from __future__ import annotations

import socket
import struct

_RTM_NEWQDISC = 36
_RTM_GETQDISC = 38
_NLM_F_REQUEST = 0x1
_NLM_F_DUMP = 0x300
_NLMSG_ERROR = 2
_NLMSG_DONE = 3
_TCA_STATS = 3
_TCA_STATS2 = 7
_TCA_STATS_QUEUE = 3
#: ``parent`` of a device's root qdisc (``TC_H_ROOT``): only the root's counters, since a
#: classful root already counts what its children drop.
_TC_H_ROOT = 0xFFFFFFFF
_NLMSG = struct.Struct("=IHHII")
_TCMSG = struct.Struct("=BBHiIII")
_RTATTR = struct.Struct("=HH")
#: Bounds on one dump: messages read (a box with thousands of interfaces needs a few
#: dozen) and seconds the kernel may take to answer.
_MAX_READS = 10_000
_TIMEOUT = 1.0


def _attrs(data: bytes, start: int, end: int) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    pos = start
    while pos + _RTATTR.size <= end:
        length, kind = _RTATTR.unpack_from(data, pos)
        if length < _RTATTR.size or pos + length > end:
            break
        out[kind & 0x3FFF] = data[pos + _RTATTR.size:pos + length]
        pos += (length + 3) & ~3
    return out


def _drops(payload: bytes, offset: int, end: int) -> int | None:
    attrs = _attrs(payload, offset, end)
    stats2 = attrs.get(_TCA_STATS2)
    if stats2 is not None:
        queue = _attrs(stats2, 0, len(stats2)).get(_TCA_STATS_QUEUE)
        if queue is not None and len(queue) >= 12:
            return int(struct.unpack_from("=I", queue, 8)[0])
    stats = attrs.get(_TCA_STATS)  # struct tc_stats: bytes u64, packets u32, drops u32
    if stats is not None and len(stats) >= 16:
        return int(struct.unpack_from("=I", stats, 12)[0])
    return None


def parse_dump(chunks: list[bytes]) -> tuple[dict[int, int], bool]:
    """Root qdisc drops by interface index from the dump's datagrams, and whether the
    dump's end (``NLMSG_DONE``) was among them."""
    drops: dict[int, int] = {}
    for data in chunks:
        pos = 0
        while pos + _NLMSG.size <= len(data):
            length, kind, _, _, _ = _NLMSG.unpack_from(data, pos)
            if length < _NLMSG.size or pos + length > len(data):
                break
            if kind == _NLMSG_DONE:
                return drops, True
            if kind == _NLMSG_ERROR:
                raise OSError("the kernel refused the qdisc dump")
            body = pos + _NLMSG.size
            if kind == _RTM_NEWQDISC and length >= _NLMSG.size + _TCMSG.size:
                _, _, _, ifindex, _, parent, _ = _TCMSG.unpack_from(data, body)
                if parent == _TC_H_ROOT:
                    value = _drops(data, body + _TCMSG.size, pos + length)
                    if value is not None:
                        drops[ifindex] = value
            pos += (length + 3) & ~3
    return drops, False


def root_qdisc_drops() -> dict[int, int] | None:
    """Each interface's root qdisc drop counter (cumulative, 32 bits wide) by
    interface index; None where rtnetlink cannot be asked. An interface without a queue
    (``noqueue``, a veth's default) is not in the dump: nothing can overflow there."""
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)  # NETLINK_ROUTE
    except OSError:
        return None
    with sock:
        sock.settimeout(_TIMEOUT)
        request = _NLMSG.pack(_NLMSG.size + _TCMSG.size, _RTM_GETQDISC,
                              _NLM_F_REQUEST | _NLM_F_DUMP, 1, 0) + _TCMSG.pack(0, 0, 0, 0,
                                                                                 0, 0, 0)
        drops: dict[int, int] = {}
        try:
            sock.sendto(request, (0, 0))
            for _ in range(_MAX_READS):
                part, done = parse_dump([sock.recv(65536)])
                drops.update(part)
                if done:
                    break
        except OSError:
            return None
    return drops
