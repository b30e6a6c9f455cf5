"""netop's SNMPv3 USM: keys against RFC 3414 and pysnmp, messages against pyasn1."""

from __future__ import annotations

import hashlib
import hmac

import pysnmp.hlapi.v3arch.asyncio  # noqa: F401  (loads pysnmp's modules in working order)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder as ber_decoder
from pyasn1.type import univ
from pysnmp.proto.mpmod.rfc3412 import SNMPv3Message
from pysnmp.proto.secmod.eso.priv import aes192, aes256
from pysnmp.proto.secmod.rfc3414 import localkey
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters

from netop.sources.snmp.ber import GET_BULK
from netop.sources.snmp.targets import Secret, SnmpTarget
from netop.sources.snmp.usm import UsmSession, localize, password_to_key, priv_key

ENGINE = bytes.fromhex("000000000000000000000002")
ENGINE_ASN1 = univ.OctetString(ENGINE)


def test_rfc3414_key_vectors() -> None:
    ku = password_to_key(b"maplesyrup", "md5")
    assert ku.hex() == "9faf3283884e92834ebc9847d8edd963"
    assert localize(ku, ENGINE, "md5").hex() == "526f5eed9fcce26f8964c2930787d82b"
    ku = password_to_key(b"maplesyrup", "sha1")
    assert ku.hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    assert localize(ku, ENGINE, "sha1").hex() == "6695febc9288e36282235fc7151f128497b38f3f"


@pytest.mark.parametrize("name", ["sha224", "sha256", "sha384", "sha512"])
def test_sha2_keys_match_pysnmp(name: str) -> None:
    algo = getattr(hashlib, name)
    reference = localkey.localize_key(localkey.hash_passphrase(b"netop-auth-pass", algo),
                                      ENGINE_ASN1, algo)  # fmt: skip
    assert localize(password_to_key(b"netop-auth-pass", name), ENGINE, name) == bytes(reference)


@pytest.mark.parametrize(
    ("cls", "size", "how"),
    [
        (aes256.AesBlumenthal256, 32, "blumenthal"),
        (aes192.AesBlumenthal192, 24, "blumenthal"),
        (aes256.Aes256, 32, "reeder"),
        (aes192.Aes192, 24, "reeder"),
    ],
)
def test_aes_key_extension_matches_pysnmp(cls: type, size: int, how: str) -> None:
    from pysnmp.proto.secmod.rfc3414.auth import hmacsha

    ku = localkey.hash_passphrase(b"netop-priv-pass", hashlib.sha1)
    reference = cls().localize_key(hmacsha.HmacSha.SERVICE_ID, ku, ENGINE_ASN1)
    assert priv_key(b"netop-priv-pass", ENGINE, "sha1", size, how) == bytes(reference)


def _session(priv: str | None = "aes", auth: str = "sha256") -> UsmSession:
    target = SnmpTarget(
        name="x", host="127.0.0.1", port=161, version="3", user="netop",
        auth_protocol=auth, auth_key=Secret("netop-auth-pass"),
        priv_protocol=priv, priv_key=Secret("netop-priv-pass") if priv else None,
    )  # fmt: skip
    session = UsmSession(target)
    session._learn(ENGINE, 7, 1234)
    return session


def test_authpriv_message_is_valid_for_pyasn1_and_its_digest_checks_out() -> None:
    session = _session()
    from netop.sources.snmp.ber import encode_pdu

    pdu = encode_pdu(GET_BULK, 42, [(1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6)], max_repetitions=25)
    data = session._message(99, pdu, secure=True)
    msg, rest = ber_decoder.decode(data, asn1Spec=SNMPv3Message())
    assert rest == b""
    assert int(msg["msgGlobalData"]["msgID"]) == 99
    assert bytes(msg["msgGlobalData"]["msgFlags"]) == b"\x07"  # auth, priv, reportable
    usm, _ = ber_decoder.decode(bytes(msg["msgSecurityParameters"]),
                                asn1Spec=UsmSecurityParameters())  # fmt: skip
    assert bytes(usm["msgAuthoritativeEngineId"]) == ENGINE
    assert int(usm["msgAuthoritativeEngineBoots"]) == 7
    assert bytes(usm["msgUserName"]) == b"netop"
    digest = bytes(usm["msgAuthenticationParameters"])
    assert len(digest) == 24  # HMAC-SHA-256-192
    blanked = data.replace(digest, b"\x00" * 24)
    key = localize(password_to_key(b"netop-auth-pass", "sha256"), ENGINE, "sha256")
    assert hmac.compare_digest(hmac.new(key, blanked, "sha256").digest()[:24], digest)
    # The encrypted scoped PDU decrypts (with the same IV the agent builds) to our PDU.
    encrypted = bytes(msg["msgData"]["encryptedPDU"])
    salt = bytes(usm["msgPrivacyParameters"])
    boots, when = int(usm["msgAuthoritativeEngineBoots"]), int(usm["msgAuthoritativeEngineTime"])
    plain = session._crypt(salt, boots, when, encrypted, encrypt=False)
    assert plain.endswith(pdu)


def test_a_response_with_a_bad_digest_is_dropped() -> None:
    session = _session(priv=None)
    from netop.sources.snmp.ber import encode_pdu

    data = bytearray(session._message(5, encode_pdu(0xA2, 1, [(1, 3, 6)]), secure=True))
    assert session._parse(bytes(data), 5, level=1) is not None  # genuine: accepted
    data[-3] ^= 0xFF
    assert session._parse(bytes(data), 5, level=1) is None
    assert session._parse(bytes(data[:-3]), 5, level=1) is None


@pytest.mark.parametrize(("auth", "hash_name"), [("md5", "md5"), ("sha", "sha1")])
def test_des_key_matches_pysnmp(auth: str, hash_name: str) -> None:
    from pysnmp.proto.secmod.rfc3414.auth import hmacmd5, hmacsha
    from pysnmp.proto.secmod.rfc3414.priv import des

    service = hmacmd5.HmacMd5.SERVICE_ID if auth == "md5" else hmacsha.HmacSha.SERVICE_ID
    algo = getattr(hashlib, hash_name)
    ku = localkey.hash_passphrase(b"netop-priv-pass", algo)
    reference = des.Des().localize_key(service, ku, ENGINE_ASN1)
    assert _session(priv="des", auth=auth)._priv_key == bytes(reference)


@pytest.mark.parametrize("size", [0, 1, 7, 8, 13, 200])
def test_des_encrypts_and_decrypts_like_pysnmp(size: int) -> None:
    """RFC 3414 §8 DES-CBC both ways against pysnmp's implementation."""
    from pysnmp.proto.secmod.rfc3414.priv import des

    session = _session(priv="des", auth="sha")
    key = univ.OctetString(session._priv_key)
    plain = bytes(range(256))[:size]
    salt = bytes.fromhex("0000000700c0ffee")
    ours = session._crypt(salt, 7, 1234, plain, encrypt=True)
    assert len(ours) % 8 == 0
    theirs = des.Des().decrypt_data(key, (7, 1234, univ.OctetString(salt)),
                                    univ.OctetString(ours))  # fmt: skip
    assert theirs[:size] == plain
    cipher, params = des.Des().encrypt_data(key, (7, 1234, None), plain)
    assert session._crypt(bytes(params), 7, 1234, bytes(cipher), encrypt=False)[:size] == plain


def test_des_authpriv_message_parses_back_and_a_cut_one_is_dropped() -> None:
    from netop.sources.snmp.ber import encode_pdu

    session = _session(priv="des", auth="sha")
    data = session._message(5, encode_pdu(0xA2, 1, [(1, 3, 6, 1)]), secure=True)
    reply = session._parse(data, 5, level=3)
    assert reply is not None
    assert reply.varbinds == [((1, 3, 6, 1), None)]
    # A ciphertext that is not whole DES blocks is dropped, never raised.
    msg, _ = ber_decoder.decode(data, asn1Spec=SNMPv3Message())
    encrypted = bytes(msg["msgData"]["encryptedPDU"])
    cut = data.replace(encrypted, encrypted[:-3]).replace(
        len(encrypted).to_bytes(2, "big"), (len(encrypted) - 3).to_bytes(2, "big"), 1
    )
    assert session._parse(cut, 5, level=3) is None


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 255))
def test_mutated_messages_never_raise(position: int, byte: int) -> None:
    session = _session()
    from netop.sources.snmp.ber import encode_pdu

    data = bytearray(session._message(5, encode_pdu(0xA2, 1, [(1, 3, 6, 1)]), secure=True))
    data[position % len(data)] = byte
    result = session._parse(bytes(data), 5, level=3)
    assert result is None or isinstance(result, tuple)
