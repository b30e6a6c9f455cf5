"""netop's SNMP BER codec, checked against pysnmp/pyasn1 as the reference and fuzzed."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder as ber_decoder
from pyasn1.codec.ber import encoder as ber_encoder
from pysnmp.proto import api, rfc1902, rfc1905

from netop.sources.snmp.ber import (
    END_OF_MIB,
    GET_BULK,
    GET_NEXT,
    BerError,
    decode_response,
    encode_request,
)
from tests.shared_data import require_shared, shared_path

PCAPS = shared_path("data", "pcap", "snmp")
P = api.v2c


def reference_response(
    version: int, community: str, request_id: int, varbinds: list[tuple[str, Any]],
    status: int = 0, index: int = 0,
) -> bytes:  # fmt: skip
    """A Response message encoded by pysnmp."""
    proto = api.PROTOCOL_MODULES[version]
    pdu = proto.GetResponsePDU()
    proto.apiPDU.set_defaults(pdu)
    proto.apiPDU.set_request_id(pdu, request_id)
    proto.apiPDU.set_error_status(pdu, status)
    proto.apiPDU.set_error_index(pdu, index)
    proto.apiPDU.set_varbinds(pdu, [(rfc1902.ObjectName(oid), value) for oid, value in varbinds])
    msg = proto.Message()
    proto.apiMessage.set_defaults(msg)
    proto.apiMessage.set_version(msg, version)
    proto.apiMessage.set_community(msg, community)
    proto.apiMessage.set_pdu(msg, pdu)
    return bytes(ber_encoder.encode(msg))


ALL_TYPES: list[tuple[str, Any, Any]] = [
    ("1.3.6.1.2.1.1.3.0", rfc1902.TimeTicks(4294967295), 4294967295),
    ("1.3.6.1.2.1.1.5.0", rfc1902.OctetString(b"sw1\x00\xff"), b"sw1\x00\xff"),
    ("1.3.6.1.2.1.2.2.1.8.1", rfc1902.Integer32(1), 1),
    ("1.3.6.1.2.1.2.2.1.8.2", rfc1902.Integer32(-2147483648), -2147483648),
    ("1.3.6.1.2.1.2.2.1.10.1", rfc1902.Counter32(4294967295), 4294967295),
    ("1.3.6.1.2.1.2.2.1.5.1", rfc1902.Gauge32(128), 128),
    ("1.3.6.1.2.1.31.1.1.1.6.1", rfc1902.Counter64(2**64 - 1), 2**64 - 1),
    ("1.3.6.1.2.1.31.1.1.1.6.2", rfc1902.Counter64(0), 0),
    ("1.3.6.1.2.1.4.20.1.1.10.0.0.1", rfc1902.IpAddress("10.0.0.1"), b"\x0a\x00\x00\x01"),
    ("1.3.6.1.2.1.1.2.0", rfc1902.ObjectName("1.3.6.1.4.1.9"), None),
    ("1.3.6.1.4.1.4294967295.16384.128", rfc1905.NoSuchObject(""), None),
    ("1.3.6.1.2.1.99.0", rfc1905.NoSuchInstance(""), None),
    ("2.999.1", rfc1905.EndOfMibView(""), END_OF_MIB),
]


def test_responses_of_every_type_decode_like_pysnmp() -> None:
    data = reference_response(1, "netop-public", 123456789,
                              [(oid, value) for oid, value, _ in ALL_TYPES])  # fmt: skip
    version, community, rid, status, index, varbinds = decode_response(data)
    assert (version, community, rid, status, index) == (1, b"netop-public", 123456789, 0, 0)
    assert [".".join(map(str, oid)) for oid, _ in varbinds] == [oid for oid, _, _ in ALL_TYPES]
    assert [value for _, value in varbinds] == [expected for _, _, expected in ALL_TYPES]


def test_v1_error_status_and_index() -> None:
    data = reference_response(0, "c", 7, [("1.3.6.1.2.1.1.3.0", rfc1902.Integer32(0))], 2, 1)
    assert decode_response(data)[:5] == (0, b"c", 7, 2, 1)


@pytest.mark.parametrize(("pdu", "reps"), [(GET_BULK, 25), (GET_NEXT, 0)])
def test_requests_decode_with_pysnmp(pdu: int, reps: int) -> None:
    oids = [(1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6), (1, 3, 6, 1, 4, 1, 2**32 - 1, 200, 0)]
    data = encode_request(1, b"public", pdu, 2**31 - 1, oids, max_repetitions=reps)
    msg, rest = ber_decoder.decode(data, asn1Spec=P.Message())
    assert rest == b""
    assert P.apiMessage.get_community(msg) == b"public"
    got = P.apiMessage.get_pdu(msg)
    assert P.apiPDU.get_request_id(got) == 2**31 - 1
    assert [tuple(name) for name, _ in P.apiPDU.get_varbinds(got)] == oids
    if pdu == GET_BULK:
        assert P.apiBulkPDU.get_max_repetitions(got) == reps
        assert P.apiBulkPDU.get_non_repeaters(got) == 0


def test_a_request_is_not_taken_for_a_response() -> None:
    with pytest.raises(BerError, match="not a response"):
        decode_response(encode_request(1, b"c", GET_NEXT, 1, [(1, 3, 6)]))


def test_every_truncation_is_a_clean_error() -> None:
    data = reference_response(1, "c", 1, [(oid, value) for oid, value, _ in ALL_TYPES])
    for cut in range(len(data)):
        with pytest.raises(BerError):
            decode_response(data[:cut])


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    with contextlib.suppress(BerError):
        decode_response(data)


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 255))
def test_flipped_bytes_never_raise_anything_else(position: int, byte: int) -> None:
    data = bytearray(reference_response(1, "c", 1, [(o, v) for o, v, _ in ALL_TYPES]))
    data[position % len(data)] = byte
    with contextlib.suppress(BerError):
        decode_response(bytes(data))


def _udp_payloads(pcap: Path) -> list[bytes]:
    from scapy.layers.inet import UDP
    from scapy.utils import rdpcap

    return [bytes(p[UDP].payload) for p in rdpcap(str(pcap)) if UDP in p]


def test_real_responses_from_captures_decode_like_pysnmp() -> None:
    require_shared("data", "pcap", "snmp")
    checked = 0
    for pcap in sorted(PCAPS.glob("*.pcap")):
        for payload in _udp_payloads(pcap):
            try:
                version = int(api.decodeMessageVersion(payload))
                proto = api.PROTOCOL_MODULES[version]
                msg, _ = ber_decoder.decode(payload, asn1Spec=proto.Message())
                pdu = proto.apiMessage.get_pdu(msg)
            except Exception:
                continue  # v3 or not SNMP: not for this codec
            if not pdu.isSameTypeWith(proto.GetResponsePDU()):
                continue
            _, community, rid, _, _, varbinds = decode_response(payload)
            assert community == bytes(proto.apiMessage.get_community(msg))
            assert rid == int(proto.apiPDU.get_request_id(pdu))
            expected = proto.apiPDU.get_varbinds(pdu)
            assert [oid for oid, _ in varbinds] == [tuple(name) for name, _ in expected]
            for (_, value), (_, ref) in zip(varbinds, expected, strict=True):
                if isinstance(value, int):
                    assert value == int(ref)
                elif isinstance(value, bytes):
                    assert value == bytes(ref.asOctets())
            checked += 1
    assert checked >= 5


def _with_value(tag: int, body: bytes) -> bytes:
    """A v2c response whose one varbind (ifHCInOctets.1) has a raw value TLV."""
    from netop.sources.snmp.ber import encode_oid, integer, tlv

    varbind = tlv(0x30, encode_oid((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1)) + tlv(tag, body))
    pdu = tlv(0xA2, integer(7) + integer(0) + integer(0) + tlv(0x30, varbind))
    return tlv(0x30, integer(1) + tlv(0x04, b"c") + pdu)


@pytest.mark.parametrize(
    ("tag", "size"),
    [(0x46, 10), (0x46, 138), (0x41, 6), (0x42, 6), (0x42, 138), (0x43, 6), (0x47, 6),
     (0x02, 5), (0x02, 138)],
    ids=["counter64-80bit", "counter64-2^1100", "counter32", "gauge32", "gauge32-2^1100",
         "timeticks", "uint32", "integer", "integer-2^1100"],
)  # fmt: skip
def test_an_integer_longer_than_its_type_is_rejected(tag: int, size: int) -> None:
    with pytest.raises(BerError, match="too long"):
        decode_response(_with_value(tag, b"\x01" + b"\x00" * (size - 1)))


@pytest.mark.parametrize(
    ("tag", "body", "value"),
    [(0x46, b"\x00" + b"\xff" * 8, 2**64 - 1), (0x46, b"\x01" + b"\x00" * 8, 0),
     (0x41, b"\x01\x00\x00\x00\x05", 5), (0x42, b"\xff\xff\xff\xff", 2**32 - 1),
     (0x02, b"\x80\x00\x00\x00", -(2**31))],
)  # fmt: skip
def test_unsigned_values_are_masked_to_their_width(tag: int, body: bytes, value: int) -> None:
    assert decode_response(_with_value(tag, body))[5][0][1] == value


@pytest.mark.parametrize("tag", [0x02, 0x41, 0x46])
def test_an_empty_integer_is_rejected(tag: int) -> None:
    with pytest.raises(BerError):
        decode_response(_with_value(tag, b""))


def test_a_request_id_longer_than_32_bits_is_rejected() -> None:
    from netop.sources.snmp.ber import integer, tlv

    pdu = tlv(0xA2, tlv(0x02, b"\x01" + b"\x00" * 5) + integer(0) + integer(0) + tlv(0x30, b""))
    with pytest.raises(BerError):
        decode_response(tlv(0x30, integer(1) + tlv(0x04, b"c") + pdu))
