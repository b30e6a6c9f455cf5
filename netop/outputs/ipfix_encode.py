"""IPFIX (RFC 7011) and NetFlow v9 (RFC 3954) messages from flow records.

Pure encoding, no I/O: :class:`FlowEncoder` turns :class:`~netop.model.FlowRecord`
values into datagrams, keeps the sequence number of its observation domain and says
when the templates are due again (over UDP they are re-sent, RFC 7011 §8.4).

IPFIX records are RFC 5103 biflows by default: the forward counters under the standard
elements, the reverse ones under the same element numbers with enterprise number 29305.
NetFlow v9 has no biflow: each flow becomes one record per direction that carried
packets (as softflowd exports), and so does IPFIX with ``biflow=False`` (for a collector
that ignores the reverse elements).
"""

from __future__ import annotations

import functools
import os
import socket
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from netop.model import FlowRecord
from netop.packet.decode import reverse_ports

#: RFC 5103: reverse information elements are the forward ones under this enterprise.
REVERSE_PEN = 29305
IPFIX_VERSION = 10
V9_VERSION = 9
#: Default datagram size: fits a 1500-byte Ethernet MTU with IP/UDP headers.
DEFAULT_MESSAGE_BYTES = 1400

# flowEndReason (IANA IE 136).
END_IDLE, END_ACTIVE, END_OF_FLOW, END_FORCED, END_LACK_OF_RESOURCES = 1, 2, 3, 4, 5

#: Template ids: (IPv6, biflow) -> id. Data sets use ids >= 256 (RFC 7011 §3.4.1).
TEMPLATE_IDS: dict[tuple[bool, bool], int] = {
    (False, True): 256, (True, True): 257, (False, False): 258, (True, False): 259,
}  # fmt: skip

#: One field: (element id, length, enterprise number or 0).
Field = tuple[int, int, int]


def _fields(ipv6: bool, biflow: bool, v9: bool) -> tuple[Field, ...]:
    addr = (27, 16, 0), (28, 16, 0)
    if not ipv6:
        addr = (8, 4, 0), (12, 4, 0)
    fields: list[Field] = [
        *addr,
        (7, 2, 0),            # sourceTransportPort
        (11, 2, 0),           # destinationTransportPort (ICMP: type*256+code)
        (4, 1, 0),            # protocolIdentifier
        (6, 1 if v9 else 2, 0),  # tcpControlBits (RFC 7125: 2 octets in IPFIX)
        (58, 2, 0),           # vlanId
        (10, 4, 0),           # ingressInterface
        (14, 4, 0),           # egressInterface
        (152, 8, 0),          # flowStartMilliseconds
        (153, 8, 0),          # flowEndMilliseconds
        (1, 8, 0),            # octetDeltaCount
        (2, 8, 0),            # packetDeltaCount
        (136, 1, 0),          # flowEndReason
    ]  # fmt: skip
    if biflow:
        fields += [(1, 8, REVERSE_PEN), (2, 8, REVERSE_PEN)]
    return tuple(fields)


def _record_struct(fields: Sequence[Field]) -> struct.Struct:
    codes = {1: "B", 2: "H", 4: "I", 8: "Q", 16: "16s"}
    fmt = "".join("4s" if (ie in (8, 12) and pen == 0) else codes[length]
                  for ie, length, pen in fields)
    return struct.Struct("!" + fmt)


def template_record(template_id: int, fields: Sequence[Field]) -> bytes:
    """One template record: id, field count, field specifiers (PEN when enterprise)."""
    out = [struct.pack("!HH", template_id, len(fields))]
    for ie, length, pen in fields:
        if pen:
            out.append(struct.pack("!HHI", ie | 0x8000, length, pen))
        else:
            out.append(struct.pack("!HH", ie, length))
    return b"".join(out)


@dataclass(frozen=True, slots=True)
class _Layout:
    template_id: int
    fields: tuple[Field, ...]
    record: struct.Struct


def uniflows(records: Iterable[FlowRecord]) -> list[tuple[object, ...]]:
    """Each biflow as one record per direction that carried packets (the reverse one
    with addresses, ports and interfaces swapped), as plain tuples in the record's
    field order."""
    out: list[tuple[object, ...]] = []
    add = out.append
    for r in records:
        (proto, src, sport, dst, dport, vlan, packets, octets, packets_rev, octets_rev,
         first, last, flags, source, exporter, sampling, in_if, out_if) = r[:18]
        if packets or not packets_rev:
            add(r)
        if packets_rev:
            if proto == 1 or proto == 58:
                sport, dport = reverse_ports(proto, sport, dport)
            else:
                sport, dport = dport, sport
            add((proto, dst, sport, src, dport, vlan, packets_rev, octets_rev, 0, 0, first,
                 last, flags, source, exporter, sampling, out_if, in_if))
    return out


class FlowEncoder:
    """Encodes flow records into IPFIX (``version=10``) or NetFlow v9 (``version=9``)
    datagrams for one observation domain (v9: source id) of one exporter.

    ``template_every``: templates go in the first datagram and then in every
    ``template_every``-th one, or after ``template_seconds`` — whichever comes first.
    """

    def __init__(
        self,
        version: int = IPFIX_VERSION,
        domain: int = 0,
        biflow: bool = True,
        message_bytes: int = DEFAULT_MESSAGE_BYTES,
        template_every: int = 20,
        template_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if version not in (IPFIX_VERSION, V9_VERSION):
            raise ValueError(f"unsupported version {version}")
        self.version = version
        self.domain = domain
        self.biflow = biflow and version == IPFIX_VERSION
        self.message_bytes = message_bytes
        self.template_every = template_every
        self.template_seconds = template_seconds
        self._clock = clock
        self._boot = clock()
        v9 = version == V9_VERSION
        self._layouts: dict[bool, _Layout] = {}
        for ipv6 in (False, True):
            fields = _fields(ipv6, self.biflow, v9)
            self._layouts[ipv6] = _Layout(TEMPLATE_IDS[(ipv6, self.biflow)], fields,
                                          _record_struct(fields))
        self._header = struct.Struct("!HHIIII" if v9 else "!HHIII")
        self._templates = self._template_set()
        #: IPFIX: data records sent; v9: datagrams sent (each protocol's sequence).
        self.sequence = 0
        self.datagrams = 0
        self.records = 0
        #: Records whose addresses could not be packed (not IPv4/IPv6 text).
        self.skipped = 0
        self._since_templates = template_every  # the first datagram carries them
        self._templates_at = float("-inf")
        self._flags_len = 1 if v9 else 2

    def _template_set(self) -> bytes:
        records = b"".join(template_record(lay.template_id, lay.fields)
                           for lay in self._layouts.values())
        set_id = 0 if self.version == V9_VERSION else 2
        return struct.pack("!HH", set_id, 4 + len(records)) + records

    def templates_due(self, now: float) -> bool:
        """Whether the next datagram must carry the templates."""
        return (self._since_templates >= self.template_every
                or now - self._templates_at >= self.template_seconds)

    def encode(self, records: Sequence[FlowRecord], forced: bool = False,
               active_timeout: float = 0.0) -> list[bytes]:
        """Datagrams carrying ``records`` (templates first when due). flowEndReason
        (IE 136): end of flow on a TCP FIN/RST, else forced (``forced``: the end of a
        run), active timeout (the flow lasted ``active_timeout``), idle timeout."""
        if not self.biflow:
            records = uniflows(records)  # type: ignore[assignment]
        args = (records, self.biflow, self._flags_len, END_FORCED if forced else END_IDLE,
                forced, int(active_timeout * 1000))
        native = _native()
        v4, n4, v6, n6, skipped = native.pack(*args) if native else pack_python(*args)
        self.skipped += skipped
        out: list[bytes] = []
        for ipv6, blob, n in ((False, v4, n4), (True, v6, n6)):
            if n:
                out.extend(self._messages(self._layouts[ipv6], blob, n))
        return out

    def _messages(self, lay: _Layout, blob: bytes, n: int) -> list[bytes]:
        out: list[bytes] = []
        size = len(blob) // n
        now = self._clock()  # one export time for one batch
        room = self.message_bytes - self._header.size - 4
        plain = max(1, room // size) * size
        with_templates = max(1, (room - len(self._templates)) // size) * size
        pos, end = 0, len(blob)
        while pos < end:
            templates = self.templates_due(now)
            chunk = blob[pos : pos + (with_templates if templates else plain)]
            pos += len(chunk)
            out.append(self._message(lay, chunk, len(chunk) // size, templates, now))
        return out

    def _message(
        self, lay: _Layout, body: bytes, count: int, templates: bool, now: float
    ) -> bytes:
        pad = b""
        if self.version == V9_VERSION:
            pad = b"\0" * (-(4 + len(body)) % 4)  # v9 FlowSets end on a 4-byte boundary
        data_set = struct.pack("!HH", lay.template_id, 4 + len(body) + len(pad)) + body + pad
        parts = [self._templates, data_set] if templates else [data_set]
        payload = b"".join(parts)
        if templates:
            self._since_templates = 0
            self._templates_at = now
        self._since_templates += 1
        if self.version == IPFIX_VERSION:
            header = self._header.pack(IPFIX_VERSION, self._header.size + len(payload),
                                       int(now) & 0xFFFFFFFF, self.sequence, self.domain)
            # RFC 7011: the sequence counts data records sent before this message.
            self.sequence = (self.sequence + count) & 0xFFFFFFFF
        else:
            in_header = count + (len(self._layouts) if templates else 0)
            uptime = int((now - self._boot) * 1000) & 0xFFFFFFFF
            header = self._header.pack(V9_VERSION, in_header, uptime, int(now) & 0xFFFFFFFF,
                                       self.sequence, self.domain)
            self.sequence = (self.sequence + 1) & 0xFFFFFFFF  # v9: per datagram
        self.datagrams += 1
        self.records += count
        return header + payload


@functools.cache
def _native() -> ModuleType | None:
    """The C packer (``_ipfixenc.c``), or ``None``: :func:`pack_python` gives the same."""
    from netop.native import build

    return build.load(_NATIVE_NAME, _NATIVE_SOURCE, _NATIVE_VERSION)


_NATIVE_NAME = "netop.outputs._ipfixenc"
_NATIVE_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ipfixenc.c")
#: The ``VERSION`` of ``_ipfixenc.c``; an older prebuilt module is rebuilt, not used.
_NATIVE_VERSION = 2
_PACKERS: dict[tuple[int, bool, int], struct.Struct] = {}
_MAX64 = (1 << 64) - 1


def _packer(family: int, biflow: bool, flags_len: int) -> struct.Struct:
    key = (family, biflow, flags_len)
    if key not in _PACKERS:
        fmt = f"!{family}s{family}sHHB{'H' if flags_len == 2 else 'B'}HIIQQQQB"
        _PACKERS[key] = struct.Struct(fmt + ("QQ" if biflow else ""))
    return _PACKERS[key]


def _address(text: object) -> bytes | None:
    if not isinstance(text, str) or "\0" in text:
        return None
    try:
        return socket.inet_pton(socket.AF_INET6 if ":" in text else socket.AF_INET, text)
    except (OSError, ValueError):
        return None


def pack_python(
    records: Sequence[tuple[Any, ...]], biflow: bool, flags_len: int, default_reason: int,
    forced: bool, active_ms: int,
) -> tuple[bytes, int, bytes, int, int]:
    """The records packed in the templates' layouts: (IPv4 bytes, count, IPv6 bytes,
    count, skipped). The C packer's fallback: a record with an address that is not
    IPv4/IPv6 text, a value outside its field or a negative time is skipped."""
    out: dict[int, list[bytes]] = {4: [], 16: []}
    skipped = 0
    for r in records:
        a, b = _address(r[1]), _address(r[3])
        if a is None or b is None or len(a) != len(b):
            skipped += 1
            continue
        try:
            (proto, _, sport, _, dport, vlan, packets, octets, packets_rev, octets_rev,
             first, last, flags, _, _, _, in_if, out_if) = r[:18]
            ints = (proto, sport, dport, packets, octets, flags,
                    *((packets_rev, octets_rev) if biflow else ()))
            optional = (vlan, in_if, out_if)
            if (not all(isinstance(v, int) for v in ints)
                    or not all(v is None or isinstance(v, int) for v in optional)
                    or not 0 <= flags <= _MAX64 or not 0 <= (vlan or 0) <= _MAX64):
                raise ValueError
            first_ms, last_ms = int(float(first) * 1000), int(float(last) * 1000)
            reason = default_reason
            if proto == 6 and flags & 5:
                reason = END_OF_FLOW
            elif active_ms and not forced and 0 <= last_ms - first_ms >= active_ms:
                reason = END_ACTIVE
            values = [a, b, sport, dport, proto, flags & 0xFF, (vlan or 0) & 0xFFF,
                      in_if or 0, out_if or 0, first_ms, last_ms, octets, packets, reason]
            if biflow:
                values += [octets_rev, packets_rev]
            out[len(a)].append(_packer(len(a), biflow, flags_len).pack(*values))
        except (struct.error, ValueError, OverflowError, TypeError):
            skipped += 1
    return (b"".join(out[4]), len(out[4]), b"".join(out[16]), len(out[16]), skipped)
