"""SNMP notifications on the wire: v1 Trap-PDUs, v2 traps and informs, and the Response
that acknowledges an inform, on netop's BER codec (:mod:`netop.sources.snmp.ber`).

The input is hostile: every decoder raises only :class:`~netop.sources.snmp.ber.BerError`,
never reads past the buffer and bounds the varbinds. Values are kept with their type
so that they can be shown as an operator expects (an OID dotted, an IpAddress as one,
a string as text or hex).
"""

from __future__ import annotations

from dataclasses import dataclass

from netop.sources.snmp.ber import (
    BerError,
    decode_integer,
    decode_oid,
    decode_unsigned,
    encode_oid,
    header,
    integer,
    tlv,
    varbind_spans,
)

TRAP_V1, INFORM, TRAP_V2, RESPONSE, REPORT = 0xA4, 0xA6, 0xA7, 0xA2, 0xA8
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
#: RFC 3584 §3.1: a v1 generic trap N is the v2 notification snmpTraps.(N+1).
SNMP_TRAPS = (1, 3, 6, 1, 6, 3, 1, 1, 5)
_UNSIGNED = {0x41: ("Counter32", 32), 0x42: ("Gauge32", 32), 0x43: ("TimeTicks", 32),
             0x46: ("Counter64", 64), 0x47: ("UInteger32", 32)}  # fmt: skip
Value = int | str | tuple[int, ...] | bytes | None


@dataclass(frozen=True, slots=True)
class Notification:
    """One decoded trap or inform (v1 traps in their RFC 3584 v2 form)."""

    version: int  # 0 (v1), 1 (v2c) or 3
    pdu: int  # TRAP_V1, TRAP_V2 or INFORM
    request_id: int
    trap_oid: tuple[int, ...]
    uptime: int | None
    #: (oid, type name, value) of every varbind but sysUpTime.0 and snmpTrapOID.0.
    varbinds: tuple[tuple[tuple[int, ...], str, Value], ...]
    #: v1: the agent-addr field (the device's own address, maybe behind a NAT).
    agent_address: str = ""
    #: The raw varbind list (TLV), echoed in an inform's Response.
    raw_varbinds: bytes = b""


def _value(data: bytes, tag: int, pos: int, end: int) -> tuple[str, Value]:
    if tag == 0x02:
        return "INTEGER", decode_integer(data, pos, end)
    if tag == 0x04:
        return "OCTET STRING", data[pos:end]
    if tag == 0x06:
        return "OID", decode_oid(data, pos, end)
    if tag == 0x40:
        if end - pos != 4:
            raise BerError("IpAddress is not 4 bytes")
        return "IpAddress", ".".join(str(b) for b in data[pos:end])
    if tag in _UNSIGNED:
        name, bits = _UNSIGNED[tag]
        return name, decode_unsigned(data, pos, end, bits)
    if tag == 0x05:
        return "NULL", None
    if tag == 0x44:
        return "Opaque", data[pos:end]
    return f"tag 0x{tag:02x}", data[pos:end]


def decode_varbinds(data: bytes, pos: int, end: int) -> list[tuple[tuple[int, ...], str, Value]]:
    """The varbind list whose SEQUENCE starts at ``pos``."""
    return [(decode_oid(data, opos, oend), *_value(data, vtag, vpos, vend))
            for opos, oend, vtag, vpos, vend in varbind_spans(data, pos, end, strict=True)]


def decode_pdu(data: bytes, pos: int, end: int, version: int) -> Notification:
    """The notification PDU at ``pos`` (a trap or an inform; anything else: BerError)."""
    tag, pos, end = header(data, pos, end)
    if tag == TRAP_V1:
        return _v1(data, pos, end)
    if tag not in (TRAP_V2, INFORM):
        raise BerError(f"PDU type 0x{tag:02x} is not a notification")
    ints = []
    for _ in range(3):
        itag, ipos, iend = header(data, pos, end)
        if itag != 0x02:
            raise BerError("bad PDU header")
        ints.append(decode_integer(data, ipos, iend))
        pos = iend
    varbinds = decode_varbinds(data, pos, end)
    uptime = trap_oid = None
    rest = []
    for number, (oid, kind, value) in enumerate(varbinds):
        if number == 0 and oid == SYS_UPTIME and isinstance(value, int):
            uptime = value
        elif number <= 1 and oid == SNMP_TRAP_OID and isinstance(value, tuple):
            trap_oid = value
        else:
            rest.append((oid, kind, value))
    if trap_oid is None:
        raise BerError("no snmpTrapOID.0 in the second varbind")
    return Notification(version, tag, ints[0], trap_oid, uptime, tuple(rest), "",
                        data[pos:end])  # fmt: skip


def _v1(data: bytes, pos: int, end: int) -> Notification:
    tag, epos, eend = header(data, pos, end)
    if tag != 0x06:
        raise BerError("no enterprise OID")
    enterprise = decode_oid(data, epos, eend)
    tag, apos, aend = header(data, eend, end)
    if tag != 0x40 or aend - apos != 4:
        raise BerError("no agent-addr")
    agent = ".".join(str(b) for b in data[apos:aend])
    fields = []
    pos = aend
    for want in (0x02, 0x02, 0x43):
        tag, ipos, iend = header(data, pos, end)
        if tag != want:
            raise BerError("bad Trap-PDU header")
        fields.append(decode_integer(data, ipos, iend) if want == 0x02
                      else decode_unsigned(data, ipos, iend, 32))  # fmt: skip
        pos = iend
    generic, specific, stamp = fields
    trap_oid: tuple[int, ...]
    if 0 <= generic <= 5:
        trap_oid = (*SNMP_TRAPS, generic + 1)
    elif generic == 6:
        trap_oid = (*enterprise, 0, specific & 0xFFFFFFFF)
    else:
        raise BerError(f"generic-trap {generic} is not 0-6")
    varbinds = decode_varbinds(data, pos, end)
    return Notification(0, TRAP_V1, 0, trap_oid, stamp, tuple(varbinds), agent)


def decode_community(data: bytes) -> tuple[int, bytes, Notification] | int:
    """``(version, community, notification)`` of a v1/v2c message, or the version
    number of any other (3: hand it to the USM)."""
    tag, pos, end = header(data, 0, len(data))
    if tag != 0x30:
        raise BerError("not a SEQUENCE")
    tag, vpos, vend = header(data, pos, end)
    if tag != 0x02:
        raise BerError("no version")
    version = decode_integer(data, vpos, vend)
    if version not in (0, 1):
        return version
    tag, cpos, cend = header(data, vend, end)
    if tag != 0x04:
        raise BerError("no community")
    notification = decode_pdu(data, cend, end, version)
    if (version == 0) != (notification.pdu == TRAP_V1):
        raise BerError("a v1 message carries only v1 traps, v2c only v2 PDUs")
    return version, data[cpos:cend], notification


def response_pdu(request_id: int, raw_varbinds: bytes) -> bytes:
    """The Response PDU acknowledging an inform: its request-id and varbinds, no error."""
    return tlv(RESPONSE, integer(request_id) + integer(0) + integer(0) + raw_varbinds)


def community_response(version: int, community: bytes, note: Notification) -> bytes:
    """The whole v2c message acknowledging ``note`` (an inform)."""
    body = integer(version) + tlv(0x04, community) + response_pdu(note.request_id,
                                                                  note.raw_varbinds)
    return tlv(0x30, body)


def oid_text(oid: tuple[int, ...]) -> str:
    """``1.3.6.1...``."""
    return ".".join(map(str, oid))


def value_text(kind: str, value: Value) -> str:
    """A varbind value as net-snmp's tools print it, roughly: numbers, dotted OIDs,
    strings as text when printable UTF-8, else hex."""
    if value is None:
        return "NULL"
    if isinstance(value, tuple):
        return oid_text(value)
    if isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex(" ")
        return text if text.isprintable() else value.hex(" ")
    return str(value)


def encode_varbind(oid: tuple[int, ...], value: bytes) -> bytes:
    """One varbind with an already-encoded value (tests and Reports)."""
    return tlv(0x30, encode_oid(oid) + value)
