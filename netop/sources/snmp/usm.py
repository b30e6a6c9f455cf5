"""SNMPv3 sessions through pysnmp (USM authentication and privacy).

v3 needs engine discovery, time windows, key localisation and AES/DES: that is what
pysnmp is for, so v3 requests go through it (with ``lookupMib=False`` and numeric
OIDs: it ships no IF-MIB and MIB lookups double its CPU). v1/v2c take the cheaper
path in :mod:`netop.sources.snmp.community`. pysnmp is imported only here, on the
poller's thread, so netop's start-up does not pay for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as _auth
from pysnmp.proto import errind
from pysnmp.proto.rfc1902 import univ  # pyasn1's, re-exported (typed as Any)
from pysnmp.proto.rfc1905 import EndOfMibView

from netop.sources.snmp.ber import END_OF_MIB, GET, GET_BULK, RawValue, VarBind
from netop.sources.snmp.targets import SnmpTarget
from netop.sources.snmp.walk import BaseSession, Oid, SnmpError, timeout_error

_AUTH = {
    "md5": _auth.USM_AUTH_HMAC96_MD5,
    "sha": _auth.USM_AUTH_HMAC96_SHA,
    "sha224": _auth.USM_AUTH_HMAC128_SHA224,
    "sha256": _auth.USM_AUTH_HMAC192_SHA256,
    "sha384": _auth.USM_AUTH_HMAC256_SHA384,
    "sha512": _auth.USM_AUTH_HMAC384_SHA512,
}
_PRIV = {
    "des": _auth.USM_PRIV_CBC56_DES,
    "aes": _auth.USM_PRIV_CFB128_AES,
    "aes192": _auth.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "aes256": _auth.USM_PRIV_CFB256_AES_BLUMENTHAL,
    "aes192c": _auth.USM_PRIV_CFB192_AES,
    "aes256c": _auth.USM_PRIV_CFB256_AES,
}


def new_engine() -> Any:
    """A pysnmp engine (one per poller, shared by its v3 targets)."""
    return SnmpEngine()


def auth_data(target: SnmpTarget) -> Any:
    """pysnmp's CommunityData / UsmUserData for a target (both protocols explicit)."""
    if target.version != "3":
        assert target.community is not None
        return CommunityData(target.community.reveal(), mpModel=0 if target.version == "1" else 1)
    return UsmUserData(
        target.user,
        authKey=target.auth_key.reveal() if target.auth_key else None,
        privKey=target.priv_key.reveal() if target.priv_key else None,
        authProtocol=_AUTH[target.auth_protocol] if target.auth_protocol else _auth.USM_AUTH_NONE,
        privProtocol=_PRIV[target.priv_protocol] if target.priv_protocol else _auth.USM_PRIV_NONE,
    )


def classify(indication: Any, target: SnmpTarget) -> SnmpError:
    """A pysnmp errorIndication as an :class:`SnmpError` a user can act on."""
    if isinstance(indication, errind.RequestTimedOut):
        return timeout_error(target)
    if isinstance(indication, errind.WrongDigest):
        return SnmpError(
            "auth", "SNMPv3 authentication failed: wrong digest (wrong auth key or auth protocol)"
        )
    if isinstance(indication, errind.UnknownUserName):
        return SnmpError("auth", f"SNMPv3 authentication failed: unknown user {target.user!r}")
    if isinstance(indication, errind.UnsupportedSecurityLevel):
        return SnmpError(
            "auth",
            "SNMPv3: the agent does not allow this security level "
            f"({target.security_level}) for user {target.user!r}",
        )
    if isinstance(indication, errind.DecryptionError):
        return SnmpError("auth", "SNMPv3 decryption failed (wrong priv key or protocol)")
    if isinstance(indication, errind.NotInTimeWindow):
        return SnmpError("auth", "SNMPv3: message not in time window")
    return SnmpError("protocol", str(indication))


def decode(value: Any) -> RawValue:
    """A pysnmp value as ``int``/``bytes``; ``None`` for NULL-like markers."""
    if isinstance(value, EndOfMibView):
        return END_OF_MIB
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.OctetString):
        return bytes(value.asOctets())
    return None


class UsmSession(BaseSession):
    """Requests through pysnmp; used for SNMPv3 (works for v1/v2c too)."""

    def __init__(self, target: SnmpTarget, engine: Any) -> None:
        super().__init__(target)
        self.engine = engine
        self.own_engine = False
        self._auth = auth_data(target)
        self._context = ContextData()
        self._transport: Any = None

    def renew_engine(self) -> None:
        """Use a fresh private engine: forgets a v3 agent's cached engine ID and time."""
        if self.own_engine:
            self.engine.close_dispatcher()
        self.engine = SnmpEngine()
        self.own_engine = True
        self._transport = None

    def close(self) -> None:
        """Release a private engine (the shared one is the poller's)."""
        if self.own_engine:
            self.engine.close_dispatcher()
            self.own_engine = False

    async def _target(self) -> Any:
        if self._transport is None:
            cls = Udp6TransportTarget if ":" in self.target.host else UdpTransportTarget
            try:
                self._transport = await cls.create(
                    (self.target.host, self.target.port),
                    timeout=self.target.timeout,
                    retries=self.target.retries,
                )
            except Exception as exc:  # resolution failures come in many types
                raise SnmpError("protocol", f"cannot resolve {self.target.host}: {exc}") from None
        return self._transport

    async def request(
        self, pdu: int, oids: Sequence[Oid], max_repetitions: int = 0
    ) -> tuple[int, int, list[VarBind]]:
        """One GET / GETNEXT / GETBULK through pysnmp."""
        transport = await self._target()
        objects = [ObjectType(ObjectIdentity(".".join(map(str, oid)))) for oid in oids]
        args: tuple[Any, ...] = (self.engine, self._auth, transport, self._context)
        try:
            if pdu == GET_BULK:
                ei, es, ex, vbs = await bulk_cmd(*args, 0, max_repetitions, *objects,
                                                 lookupMib=False)  # fmt: skip
            else:
                command = get_cmd if pdu == GET else next_cmd
                ei, es, ex, vbs = await command(*args, *objects, lookupMib=False)
        except Exception as exc:  # pysnmp raises e.g. StatusInformation for crypto errors
            raise SnmpError("protocol", f"{type(exc).__name__}: {exc}") from None
        if ei:
            raise classify(ei, self.target)
        return int(es or 0), int(ex or 0), [(tuple(name), decode(val)) for name, val in vbs]
