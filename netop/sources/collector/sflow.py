"""sFlow v5 (sflow.org): flow and expanded flow samples, counter samples.

Each flow sample stands for ``sampling_rate`` packets; when consecutive samples of the
same data source are seen, the sample pool gives the effective rate (pool packets per
sample), which corrects for samples the agent dropped. Sampled packet headers are
decoded by netop's own packet decoder, so an sFlow flow keys exactly like a captured one.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterator
from typing import Any

from netop.model import InterfaceSample
from netop.sources.collector.exporters import ExporterState, Limits
from netop.sources.collector.flowsets import Malformed, Output

_U32 = struct.Struct("!I")
_HEAD = struct.Struct("!III")  # sub-agent id, sequence, uptime
_FLOW = struct.Struct("!IIIIIIII")
_XFLOW = struct.Struct("!IIIIIIIIIII")
_COUNTER = struct.Struct("!II")
_XCOUNTER = struct.Struct("!III")
_RAW_HEADER = struct.Struct("!IIII")
_SWITCH = struct.Struct("!IIII")
_SAMPLED_V4 = struct.Struct("!II4s4sIIII")
_SAMPLED_V6 = struct.Struct("!II16s16sIIII")
_GENERIC_IF = struct.Struct("!IIQIIQIIIIIIQIIIIII")
#: sFlow header_protocol -> pcap link type of the sampled header.
_LINKTYPES = {1: 1, 11: 228, 12: 229}
MAX_SOURCES = 4096
MAX_INTERFACE_SAMPLES = 10_000
_INTERNAL = 0x3FFFFFFF  # the interface value of a packet sourced/received by the agent


def interface(value: int, fmt: int | None = None) -> int | None:
    """The ifIndex of an sFlow interface field, None when it names no single one.

    Compact samples carry the format in the top two bits of ``value``; expanded ones
    in a word of its own (``fmt``). Format 1 (packet dropped) and 2 (several output
    interfaces), the internal interface 0x3FFFFFFF and 0 (unknown) give None.
    """
    if fmt is None:
        fmt, value = value >> 30, value & 0x3FFFFFFF
    return value if fmt == 0 and 0 < value < _INTERNAL else None


def agent_address(data: bytes) -> str | None:
    """The agent address an sFlow v5 datagram names itself by (None when it has none
    or the datagram is too short): who the exporter is, whatever relayed the datagram."""
    if len(data) < 12:
        return None
    (addr_type,) = _U32.unpack_from(data, 4)
    if addr_type == 1:
        return str(ipaddress.IPv4Address(data[8:12]))
    if addr_type == 2 and len(data) >= 24:
        return str(ipaddress.IPv6Address(data[8:24]))
    return None


def decode(
    data: bytes,
    state: ExporterState,
    now: float,
    out: Output,
    interfaces: list[InterfaceSample],
    limits: Limits | None = None,
) -> None:
    """Decode one sFlow v5 datagram into ``out`` and ``interfaces``.

    Interfaces (counter samples) are capped per exporter and in total: a new one
    beyond either limit is dropped and counted, known ones keep updating.
    """
    limits = limits or state.budget.limits
    view = memoryview(data)
    (addr_type,) = _U32.unpack_from(data, 4)
    if addr_type not in (1, 2):
        raise Malformed(f"agent address type {addr_type}")
    pos = 8 + (4 if addr_type == 1 else 16)
    sub_agent, sequence, _uptime = _HEAD.unpack_from(data, pos)
    (count,) = _U32.unpack_from(data, pos + 12)
    pos += 16
    sources: dict[tuple[int, int], tuple[int, int]] = state.sflow_sources
    # A lying count ends at the datagram's end.
    for fmt, body in _records(view, pos, count, "sample", "the datagram", strict_end=True):
        if fmt in (1, 3):
            _flow_sample(body, fmt == 3, sub_agent, sources, now, out)
        elif fmt in (2, 4) and len(interfaces) < MAX_INTERFACE_SAMPLES:
            _counter_sample(body, fmt == 4, state, now, interfaces, limits)
    state.check_sequence("sflow", sub_agent, sequence, 1)


def _records(
    buf: memoryview, pos: int, count: int, what: str, within: str, strict_end: bool = False
) -> Iterator[tuple[int, memoryview]]:
    """The (format, body) records of an sFlow list of ``count`` records from ``pos``.

    A record claiming more than remains is :class:`Malformed`; a list that ends early
    stops quietly, unless ``strict_end`` and bytes too few for a header are left over.
    """
    for _ in range(count):
        if len(buf) - pos < 8:
            if strict_end and pos != len(buf):
                raise Malformed(f"{what} header cut off")
            return
        fmt, length = _COUNTER.unpack_from(buf, pos)
        pos += 8
        if length > len(buf) - pos:
            raise Malformed(f"{what} length {length} overruns {within}")
        yield fmt, buf[pos : pos + length]
        pos += length


def _flow_sample(
    body: memoryview,
    expanded: bool,
    sub_agent: int,
    sources: dict[tuple[int, int], tuple[int, int]],
    now: float,
    out: Output,
) -> None:
    if expanded:
        (seq, _, source_index, rate, pool, _drops, in_fmt, in_value, out_fmt, out_value,
         nrec) = _XFLOW.unpack_from(body)  # fmt: skip
        in_if, out_if = interface(in_value, in_fmt), interface(out_value, out_fmt)
        pos = _XFLOW.size
    else:
        seq, source_id, rate, pool, _drops, in_value, out_value, nrec = _FLOW.unpack_from(body)
        source_index = source_id
        in_if, out_if = interface(in_value), interface(out_value)
        pos = _FLOW.size
    effective = float(rate or 1)
    key = (sub_agent, source_index)
    previous = sources.get(key)
    if previous is not None:
        samples, packets = (seq - previous[0]) & 0xFFFFFFFF, (pool - previous[1]) & 0xFFFFFFFF
        if 0 < samples < 1 << 20 and samples <= packets <= samples * effective * 4:
            effective = packets / samples
    if previous is not None or len(sources) < MAX_SOURCES:
        sources[key] = (seq, pool)
    packet: Any = None
    vlan: int | None = None
    for fmt, rec in _records(body, pos, nrec, "flow record", "its sample"):
        length = len(rec)
        if fmt == 1 and packet is None:
            packet = _raw_header(rec)
        elif fmt == 1001 and length >= 16:
            vlan = _SWITCH.unpack_from(rec)[0] or None
        elif fmt == 3 and packet is None and length >= _SAMPLED_V4.size:
            packet = _sampled_ip(_SAMPLED_V4.unpack_from(rec), socket.AF_INET)
        elif fmt == 4 and packet is None and length >= _SAMPLED_V6.size:
            packet = _sampled_ip(_SAMPLED_V6.unpack_from(rec), socket.AF_INET6)
    if packet is None:
        return
    proto, src, dst, sport, dport, pvlan, l3_len, flags = packet
    flow = (proto, src, sport, dst, dport, pvlan if pvlan is not None else vlan, in_if, out_if)
    out.add(rate or 1, flow, [max(1, round(effective)), round(l3_len * effective), now, now, flags])


def _raw_header(rec: memoryview) -> Any:
    if len(rec) < _RAW_HEADER.size:
        return None
    protocol, _frame_length, _stripped, header_length = _RAW_HEADER.unpack_from(rec)
    linktype = _LINKTYPES.get(protocol)
    if linktype is None:
        return None
    header = bytes(rec[_RAW_HEADER.size : _RAW_HEADER.size + header_length])
    from netop.packet.decode import parse_frame  # lazy: only sFlow needs it

    return parse_frame(header, linktype)


def _sampled_ip(fields: tuple[Any, ...], family: int) -> Any:
    length, proto, src, dst, sport, dport, flags, _ = fields
    return (proto, socket.inet_ntop(family, src), socket.inet_ntop(family, dst), sport, dport,
            None, length, flags & 0xFF)  # fmt: skip


def _counter_sample(
    body: memoryview,
    expanded: bool,
    state: ExporterState,
    now: float,
    out: list[InterfaceSample],
    limits: Limits,
) -> None:
    if expanded:
        _, _, _, nrec = struct.unpack_from("!IIII", body)
        pos = 16
    else:
        _, _, nrec = _XCOUNTER.unpack_from(body)
        pos = 12
    for fmt, rec in _records(body, pos, nrec, "counter record", "its sample"):
        if fmt == 1 and len(rec) >= _GENERIC_IF.size:
            sample = _generic_interface(rec, state.address, now)
            if _interface_room(state, sample.name, limits):
                out.append(sample)


def _interface_room(state: ExporterState, name: str, limits: Limits) -> bool:
    if name in state.interfaces:
        return True
    shared = state.budget
    if (
        len(state.interfaces) >= limits.max_interfaces
        or shared.interfaces >= limits.max_interfaces_total
    ):
        shared.drop("interfaces")
        return False
    state.interfaces.add(name)
    shared.interfaces += 1
    return True


def _generic_interface(rec: memoryview, exporter: str, now: float) -> InterfaceSample:
    (index, _type, speed, _direction, status, in_octets, in_ucast, in_mcast, in_bcast,
     in_discards, in_errors, _unknown, out_octets, out_ucast, out_mcast, out_bcast,
     out_discards, out_errors, _promisc) = _GENERIC_IF.unpack_from(rec)  # fmt: skip
    return InterfaceSample(
        origin=f"sflow:{exporter}",
        name=str(index),
        ts=now,
        rx_bytes=in_octets,
        tx_bytes=out_octets,
        rx_packets=in_ucast + in_mcast + in_bcast,
        tx_packets=out_ucast + out_mcast + out_bcast,
        rx_drops=in_discards,
        tx_drops=out_discards,
        rx_errors=in_errors,
        tx_errors=out_errors,
        speed_bps=speed or None,
        oper_up=bool(status & 2),
    )
