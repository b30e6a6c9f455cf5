"""Just enough BER for SNMP requests and responses, about ten times cheaper than pysnmp.

pysnmp decodes every value through pyasn1 objects: about 0.1 ms of CPU per value,
which puts a 100-switch fleet at a whole core (bench/snmp.py). Community-based
messages are simple enough to encode and decode by hand: a SEQUENCE of version,
community and one PDU of varbinds. SNMPv3 wraps the same PDUs in its USM header
(:mod:`netop.sources.snmp.usm`).

:func:`decode_response` treats its input as hostile: it never raises anything but
:class:`BerError`, never reads past the buffer, and bounds the number of varbinds.
Like net-snmp's ``asn_parse_int``/``asn_parse_unsigned_int``, an integer longer than
its type (an INTEGER beyond 32 bits, a Counter32 over 5, a Counter64 over 9) fails the
whole message, and unsigned values are masked to their width: every number that
leaves this module fits its SNMP type.
"""

from __future__ import annotations

from collections.abc import Iterator

GET, GET_NEXT, RESPONSE, GET_BULK, REPORT = 0xA0, 0xA1, 0xA2, 0xA5, 0xA8
MAX_VARBINDS = 4096
#: Unsigned application types -> value bits: Counter32, Gauge32, TimeTicks, Counter64, UInt32.
_UNSIGNED = {0x41: 32, 0x42: 32, 0x43: 32, 0x46: 64, 0x47: 32}
_STRINGS = {0x04, 0x40, 0x44}  # OCTET STRING, IpAddress, Opaque
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW = 0x80, 0x81, 0x82


class BerError(ValueError):
    """A message that is not a well-formed SNMP response."""


class EndOfMib:
    """The endOfMibView marker of a walk (a singleton: :data:`END_OF_MIB`)."""

    def __repr__(self) -> str:
        return "END_OF_MIB"


END_OF_MIB = EndOfMib()
RawValue = int | bytes | None | EndOfMib
VarBind = tuple[tuple[int, ...], RawValue]


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def _int(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def encode_oid(oid: tuple[int, ...]) -> bytes:
    """An OBJECT IDENTIFIER (with its tag and length)."""
    if len(oid) < 2:
        raise ValueError(f"OID too short: {oid}")
    out = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return _tlv(0x06, bytes(out))


def tlv(tag: int, body: bytes) -> bytes:
    """One BER tag-length-value."""
    return _tlv(tag, body)


def integer(value: int) -> bytes:
    """A BER INTEGER."""
    return _int(value)


def encode_pdu(
    pdu: int, request_id: int, oids: list[tuple[int, ...]], non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> bytes:  # fmt: skip
    """A GET / GETNEXT / GETBULK PDU asking for ``oids``."""
    varbinds = b"".join(_tlv(0x30, encode_oid(oid) + b"\x05\x00") for oid in oids)
    body = (_int(request_id) + _int(non_repeaters) + _int(max_repetitions)
            + _tlv(0x30, varbinds))  # fmt: skip
    return _tlv(pdu, body)


def encode_request(
    version: int, community: bytes, pdu: int, request_id: int, oids: list[tuple[int, ...]],
    non_repeaters: int = 0, max_repetitions: int = 0,
) -> bytes:  # fmt: skip
    """A v1 (``version`` 0) or v2c (1) GET / GETNEXT / GETBULK message."""
    body = encode_pdu(pdu, request_id, oids, non_repeaters, max_repetitions)
    return _tlv(0x30, _int(version) + _tlv(0x04, community) + body)


def header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the TLV at ``pos``; BerError if bad."""
    return _header(data, pos, end)


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the TLV at ``pos``."""
    if pos + 2 > end:
        raise BerError("truncated header")
    tag = data[pos]
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        size = n & 0x7F
        if size == 0 or size > 4 or pos + size > end:
            raise BerError("bad length")
        n = int.from_bytes(data[pos : pos + size], "big")
        pos += size
    if pos + n > end:
        raise BerError("value runs past its container")
    return tag, pos, pos + n


def _oid(data: bytes, pos: int, end: int) -> tuple[int, ...]:
    if pos >= end:
        raise BerError("empty OID")
    arcs: list[int] = []
    arc = 0
    for byte in data[pos:end]:
        arc = (arc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(arc)
            arc = 0
        elif arc > 1 << 32:
            raise BerError("OID arc too large")
    if arc or not arcs:
        raise BerError("OID ends inside an arc")
    first = arcs[0]  # the first two arcs share one subidentifier: 40 * x + y
    head = [first // 40, first % 40] if first < 80 else [2, first - 80]
    return (*head, *arcs[1:])


def decode_oid(data: bytes, pos: int, end: int) -> tuple[int, ...]:
    """The OBJECT IDENTIFIER whose value is ``data[pos:end]``; BerError if bad."""
    return _oid(data, pos, end)


def decode_integer(data: bytes, pos: int, end: int) -> int:
    """An Integer32 value at ``data[pos:end]`` (see :func:`_signed32`); BerError if bad."""
    return _signed32(data, pos, end)


def decode_unsigned(data: bytes, pos: int, end: int, bits: int) -> int:
    """A Counter/Gauge/TimeTicks value of ``bits``; BerError if bad."""
    return _unsigned(data, pos, end, bits)


def _signed32(data: bytes, pos: int, end: int) -> int:
    """An INTEGER (Integer32). pyasn1 writes -2^31 in 5 bytes, and some agents put
    unsigned 32-bit numbers here, so 5 bytes and -2^31..2^32-1 are accepted."""
    if not 0 < end - pos <= 5:
        raise BerError("INTEGER too long for Integer32" if end > pos else "empty INTEGER")
    value = int.from_bytes(data[pos:end], "big", signed=True)
    if not -(1 << 31) <= value < 1 << 32:
        raise BerError("INTEGER out of range (too long for Integer32)")
    return value


def _unsigned(data: bytes, pos: int, end: int, bits: int) -> int:
    """A Counter32/Gauge32/TimeTicks/UInt32 or Counter64, masked to ``bits``.

    One more byte than the width is allowed: the leading zero of a value with its top
    bit set.
    """
    if not 0 < end - pos <= bits // 8 + 1:
        raise BerError(f"{bits}-bit value too long" if end > pos else "empty integer")
    return int.from_bytes(data[pos:end], "big") & ((1 << bits) - 1)


def decode_response(data: bytes) -> tuple[int, bytes, int, int, int, list[VarBind]]:
    """``(version, community, request_id, error_status, error_index, varbinds)`` of a
    v1/v2c response."""
    try:
        return _decode(data)
    except BerError:
        raise
    except (IndexError, ValueError, OverflowError) as exc:  # defensive: never escape
        raise BerError(str(exc)) from None


def _decode(data: bytes) -> tuple[int, bytes, int, int, int, list[VarBind]]:
    tag, pos, end = _header(data, 0, len(data))
    if tag != 0x30:
        raise BerError("not a SEQUENCE")
    tag, vpos, vend = _header(data, pos, end)
    if tag != 0x02:
        raise BerError("no version")
    version = _signed32(data, vpos, vend)
    tag, cpos, cend = _header(data, vend, end)
    if tag != 0x04:
        raise BerError("no community")
    community = data[cpos:cend]
    tag, rid, status, index, varbinds = decode_pdu(data, cend, end)
    if tag != RESPONSE:
        raise BerError(f"PDU type 0x{tag:02x} is not a response")
    return version, community, rid, status, index, varbinds


def decode_pdu(data: bytes, pos: int, end: int) -> tuple[int, int, int, int, list[VarBind]]:
    """``(pdu_tag, request_id, error_status, error_index, varbinds)`` of the PDU at ``pos``."""
    tag, pos, end = _header(data, pos, end)
    if tag not in (RESPONSE, REPORT):
        raise BerError(f"PDU type 0x{tag:02x} is not a response")
    pdu_tag = tag
    ints = []
    for _ in range(3):
        tag, ipos, iend = _header(data, pos, end)
        if tag != 0x02:
            raise BerError("bad PDU header")
        ints.append(_signed32(data, ipos, iend))
        pos = iend
    varbinds: list[VarBind] = []
    for opos, oend, tag, spos, send in varbind_spans(data, pos, end):
        value: RawValue
        if tag in _UNSIGNED:
            value = _unsigned(data, spos, send, _UNSIGNED[tag])
        elif tag == 0x02:
            value = _signed32(data, spos, send)
        elif tag in _STRINGS:
            value = data[spos:send]
        elif tag == END_OF_MIB_VIEW:
            value = END_OF_MIB
        else:  # NULL, noSuchObject, noSuchInstance, OIDs and anything unknown
            value = None
        varbinds.append((_oid(data, opos, oend), value))
    return pdu_tag, ints[0], ints[1], ints[2], varbinds


def varbind_spans(data: bytes, pos: int, end: int,
                  strict: bool = False) -> Iterator[tuple[int, int, int, int, int]]:  # fmt: skip
    """``(oid_pos, oid_end, value_tag, value_pos, value_end)`` of each varbind of the
    list whose SEQUENCE starts at ``pos`` (at most MAX_VARBINDS; BerError if bad).
    ``strict`` refuses bytes after a varbind's value."""
    tag, pos, end = _header(data, pos, end)
    if tag != 0x30:
        raise BerError("no varbind list")
    count = 0
    while pos < end:
        if count >= MAX_VARBINDS:
            raise BerError("too many varbinds")
        count += 1
        tag, vb, pos = _header(data, pos, end)
        if tag != 0x30:
            raise BerError("varbind is not a SEQUENCE")
        tag, opos, oend = _header(data, vb, pos)
        if tag != 0x06:
            raise BerError("varbind without an OID")
        vtag, vpos, vend = _header(data, oend, pos)
        if strict and vend != pos:
            raise BerError("junk after a varbind's value")
        yield opos, oend, vtag, vpos, vend
