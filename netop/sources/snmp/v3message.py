"""The SNMPv3 message around a scoped PDU (RFC 3412 §6, RFC 3414 §2.4).

One reader and one writer of the message header and the USM security parameters,
shared by the side that polls (:mod:`netop.sources.snmp.usm`) and the side that
receives notifications (:mod:`netop.sources.traps.usm`). What each side *believes*
(whose engine ID, which clock, what to answer) stays with it; this module only knows
where the fields are and how the digest covers the message.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from netop.sources.snmp.ber import header, integer, tlv

FLAG_AUTH, FLAG_PRIV, FLAG_REPORTABLE = 1, 2, 4
#: snmpEngineBoots and snmpEngineTime: 0..2147483647 (RFC 3414 §2.2.1).
MAX_INT = 2**31 - 1
#: Seconds a message may lag the engine's clock (RFC 3414 §2.2.3).
TIME_WINDOW = 150
#: msgMaxSize we announce: the largest UDP payload.
MAX_SIZE = 65507


@dataclass(frozen=True, slots=True)
class V3Header:
    """Where a v3 message's fields are; ``boots``/``engine_time`` are None when out of
    RFC 3414's range (such a message is never believed)."""

    msg_id: int
    flags: int
    engine_id: bytes
    boots: int | None
    engine_time: int | None
    user: bytes
    #: ``data[start:end]`` of msgAuthenticationParameters (the digest).
    auth_span: tuple[int, int]
    #: msgPrivacyParameters (the salt of an encrypted scoped PDU).
    salt: bytes
    #: Where the scoped PDU (or the OCTET STRING that encrypts it) starts.
    scoped_at: int
    end: int


def parse_header(data: bytes) -> V3Header | None:
    """The header of a v3 message with the USM security model, or None when ``data``
    is another version or model. Raises BerError/IndexError/ValueError when malformed."""
    tag, pos, end = header(data, 0, len(data))
    if tag != 0x30:
        return None
    tag, vpos, vend = header(data, pos, end)
    if tag != 0x02 or data[vpos:vend] != b"\x03":
        return None
    _, gpos, gend = header(data, vend, end)  # msgGlobalData
    fields = []
    p = gpos
    for _ in range(4):
        _, fpos, fend = header(data, p, gend)
        fields.append(data[fpos:fend])
        p = fend
    msg_id_raw, _, flag_raw, model = fields
    if len(flag_raw) != 1 or model != b"\x03" or not 0 < len(msg_id_raw) <= 5:
        return None
    _, spos, send = header(data, gend, end)  # msgSecurityParameters
    _, upos, uend = header(data, spos, send)
    usm: list[tuple[int, int]] = []
    p = upos
    for _ in range(6):
        _, fpos, fend = header(data, p, uend)
        usm.append((fpos, fend))
        p = fend
    return V3Header(
        msg_id=int.from_bytes(msg_id_raw, "big", signed=True),
        flags=flag_raw[0],
        engine_id=data[usm[0][0] : usm[0][1]],
        boots=uint31(data[usm[1][0] : usm[1][1]]),
        engine_time=uint31(data[usm[2][0] : usm[2][1]]),
        user=data[usm[3][0] : usm[3][1]],
        auth_span=usm[4],
        salt=data[usm[5][0] : usm[5][1]],
        scoped_at=send,
        end=end,
    )


def digest_ok(data: bytes, head: V3Header, key: bytes, hash_name: str, trunc: int) -> bool:
    """True when the message's HMAC (over the whole message with the digest zeroed,
    RFC 3414 §6.3.2) verifies with the localised ``key``."""
    a0, a1 = head.auth_span
    if not key or a1 - a0 != trunc:
        return False
    blanked = data[:a0] + b"\x00" * trunc + data[a1:]
    digest = hmac.new(key, blanked, hash_name).digest()[:trunc]
    return hmac.compare_digest(digest, data[a0:a1])


def build_message(msg_id: int, flags: int, engine_id: bytes, boots: int, engine_time: int,
                  user: bytes, scoped: bytes, priv_params: bytes = b"",
                  auth: tuple[bytes, str, int] | None = None) -> bytes:  # fmt: skip
    """A whole v3 message. ``scoped`` is the scoped PDU, already encrypted (an OCTET
    STRING) when ``flags`` ask for privacy; ``auth`` is (localised key, hash name,
    truncation) when they ask for authentication: the digest is then computed over the
    message and put in place."""
    trunc = auth[2] if auth is not None and flags & FLAG_AUTH else 0
    before = (tlv(0x04, engine_id) + integer(boots) + integer(engine_time)
              + tlv(0x04, user))  # fmt: skip
    fields = before + tlv(0x04, b"\x00" * trunc) + tlv(0x04, priv_params)
    head = tlv(0x30, integer(msg_id) + integer(MAX_SIZE) + tlv(0x04, bytes((flags,)))
               + integer(3))  # fmt: skip
    security = tlv(0x04, tlv(0x30, fields))
    inner = integer(3) + head + security + scoped
    message = tlv(0x30, inner)
    if trunc and auth is not None:
        # Where the zeroed digest sits: after every header before it (its own is 2 bytes).
        outer = len(message) - len(inner)
        at = outer + len(integer(3)) + len(head) + len(security) - len(fields)
        at += len(before) + 2
        digest = hmac.new(auth[0], message, auth[1]).digest()[:trunc]
        message = message[:at] + digest + message[at + trunc :]
    return message


def uint31(raw: bytes) -> int | None:
    """An INTEGER (0..2147483647) of the USM header, or None when out of range."""
    if not 0 < len(raw) <= 5:
        return None
    value = int.from_bytes(raw, "big", signed=True)
    return value if 0 <= value <= MAX_INT else None
