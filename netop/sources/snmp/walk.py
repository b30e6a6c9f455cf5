"""Talking to one agent: GET of scalars and a column-parallel table walk (pysnmp).

pysnmp's own ``bulk_walk_cmd`` walks one column per generator, runs past the end of
the column unless told otherwise and never stops on a timeout, so the walk here is our
own: every still-active column rides in each GETBULK (GETNEXT for v1) and a column
drops out as soon as the agent answers with an OID outside it. Values are decoded to
plain ``int``/``bytes`` and every failure becomes one :class:`SnmpError` with a kind
the poller can act on (``timeout``, ``auth``, ``access``, ``protocol``).

pysnmp is imported here only, lazily by the poller thread, so start-up does not pay it.
"""

from __future__ import annotations

import asyncio
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

from netop.sources.snmp.targets import SnmpTarget

Oid = tuple[int, ...]
#: Decoded value: ``int`` for numbers, ``bytes`` for strings, ``None`` for "no such".
Value = int | bytes | None

MAX_REQUESTS = 2000  # per walk: bounds time and memory against a looping agent
MAX_ROWS = 20000  # per column
_NO_SUCH_NAME = 2  # SNMPv1 errorStatus at the end of the MIB view

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


class SnmpError(Exception):
    """A failed request, with ``kind`` one of timeout, auth, access, protocol."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


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
        tries = target.retries + 1
        hint = " (or a wrong priv key)" if target.security_level == "authPriv" else ""
        if target.version != "3":
            hint = " (or a wrong community)"
        return SnmpError("timeout", f"no response after {tries} x {target.timeout:g} s{hint}")
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


def decode(value: Any) -> Value:
    """A pysnmp value as ``int``/``bytes``; ``None`` for NULL-like markers."""
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.OctetString):
        return bytes(value.asOctets())
    return None


class Session:
    """One target's handles: auth data, transport, and the engine it uses."""

    def __init__(self, target: SnmpTarget, engine: SnmpEngine) -> None:
        self.target = target
        self.engine = engine
        self.own_engine = False
        self._auth = auth_data(target)
        self._context = ContextData()
        self._transport: Any = None
        self.requests = 0
        #: Shared bound on requests in flight across all targets (set by the poller).
        self.limit: asyncio.Semaphore | None = None

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

    async def _call(self, command: Any, *args: Any) -> tuple[Any, ...]:
        transport = await self._target()
        self.requests += 1
        try:
            if self.limit is None:
                ei, es, ex, vbs = await command(
                    self.engine, self._auth, transport, self._context, *args, lookupMib=False
                )
            else:
                async with self.limit:
                    ei, es, ex, vbs = await command(
                        self.engine, self._auth, transport, self._context, *args, lookupMib=False
                    )
        except SnmpError:
            raise
        except Exception as exc:  # pysnmp raises e.g. StatusInformation for crypto errors
            raise SnmpError("protocol", f"{type(exc).__name__}: {exc}") from None
        if ei:
            raise classify(ei, self.target)
        return int(es or 0), int(ex or 0), vbs

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, Value]:
        """GET of scalars; an object the agent lacks comes back as ``None``."""
        status, index, vbs = await self._call(get_cmd, *_objects(oids))
        if status and self.target.version == "1" and status == _NO_SUCH_NAME and len(oids) > 1:
            # v1 fails the whole PDU for one missing object: ask again without it.
            rest = [o for i, o in enumerate(oids) if i != index - 1]
            found = await self.get(rest)
            found[oids[index - 1]] = None
            return found
        if status:
            raise _status_error(status)
        return {tuple(name): decode(val) for name, val in vbs}

    async def walk(self, columns: Sequence[Oid]) -> dict[Oid, dict[Oid, Value]]:
        """Every row of every column, walked in parallel; ``{column: {index: value}}``."""
        result: dict[Oid, dict[Oid, Value]] = {col: {} for col in columns}
        cursor: dict[Oid, Oid] = {col: col for col in columns}
        active = list(columns)
        for _ in range(MAX_REQUESTS):
            if not active:
                break
            vbs = await self._step(active, cursor)
            done: set[Oid] = set()
            width = len(active)
            progressed = False
            for i, (name, val) in enumerate(vbs):
                col = active[i % width]
                if col in done:
                    continue
                oid = tuple(name)
                if oid[: len(col)] != col or isinstance(val, EndOfMibView) or oid <= cursor[col]:
                    done.add(col)
                    continue
                cursor[col] = oid
                rows = result[col]
                rows[oid[len(col) :]] = decode(val)
                progressed = True
                if len(rows) >= MAX_ROWS:
                    done.add(col)
            if not progressed:
                break
            active = [col for col in active if col not in done]
        return result

    async def _step(self, active: list[Oid], cursor: dict[Oid, Oid]) -> Any:
        if self.target.version != "1":
            reps = self.target.max_repetitions
            status, _, vbs = await self._call(
                bulk_cmd, 0, reps, *_objects([cursor[c] for c in active])
            )
            if status:
                raise _status_error(status)
            return vbs
        while active:
            status, index, vbs = await self._call(next_cmd, *_objects([cursor[c] for c in active]))
            if status == _NO_SUCH_NAME and 0 < index <= len(active):
                # v1: this column hit the end of the agent's view; the rest go on.
                del active[index - 1]
                continue
            if status:
                raise _status_error(status)
            return vbs
        return ()


def _objects(oids: Sequence[Oid]) -> list[Any]:
    return [ObjectType(ObjectIdentity(".".join(map(str, oid)))) for oid in oids]


_STATUS = {1: "tooBig", 2: "noSuchName", 5: "genErr", 6: "noAccess", 16: "authorizationError"}


def _status_error(status: int) -> SnmpError:
    name = _STATUS.get(status, f"error-status {status}")
    kind = "access" if status in (6, 16) else "protocol"
    hint = " (the agent refuses this user/community the data)" if kind == "access" else ""
    return SnmpError(kind, f"agent answered {name}{hint}")
