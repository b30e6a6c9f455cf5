"""The receiving side of SNMPv3 notifications with the User-based Security Model
(RFC 3414), on netop's own USM helpers (:mod:`netop.sources.snmp.usm`) and BER.

* **Traps** are sent with the *sender's* engine ID (it is authoritative). A user's
  keys are localised to that engine ID: the one configured for the user
  (``engine_id``), or, when none is, any engine ID the message names (keys are cached
  per engine ID, bounded). Replays are refused per engine ID by the RFC 3414 §3.2
  step 7b rule (lower boots, or more than 150 s behind the latest time seen).
* **Informs** are sent with the *receiver's* engine ID, which the sender discovers
  first (an unauthenticated probe answered with a usmStatsUnknownEngineIDs Report that
  carries netop's engine ID, boots and time), then acknowledged with a Response
  authenticated (and encrypted) with the user's keys localised to netop's engine ID.
* A message whose digest does not verify, from an unknown user, at a level the user
  does not have, or that does not decrypt to a PDU, is dropped and counted; nothing of
  it is shown.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netop.errors import ConfigError
from netop.sources.snmp.ber import BerError, header, integer, tlv
from netop.sources.snmp.keys import Secret, read_secret
from netop.sources.snmp.targets import AUTH_PROTOCOLS, MIN_KEY_LEN, PRIV_PROTOCOLS
from netop.sources.snmp.usm import AUTH, PRIV, crypt_scoped, localize, password_to_key, priv_key
from netop.sources.snmp.v3message import (
    FLAG_AUTH,
    FLAG_PRIV,
    FLAG_REPORTABLE,
    MAX_INT,
    TIME_WINDOW,
    build_message,
    digest_ok,
    parse_header,
)
from netop.sources.traps.pdu import (
    INFORM,
    REPORT,
    Notification,
    decode_pdu,
    encode_varbind,
    response_pdu,
)

_UNKNOWN_ENGINE_IDS = (1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0)
#: Engine IDs whose localised keys are kept per user (spoofed IDs recycle the oldest).
MAX_ENGINES = 256


@dataclass(frozen=True, slots=True)
class TrapUser:
    """One ``[[traps.users]]`` entry."""

    user: str
    auth_protocol: str | None = None
    auth_key: Secret | None = None
    priv_protocol: str | None = None
    priv_key: Secret | None = None
    engine_id: bytes | None = None

    @property
    def flags(self) -> int:
        """The security level as msgFlags bits."""
        return (FLAG_AUTH if self.auth_protocol else 0) | (FLAG_PRIV if self.priv_protocol else 0)


def local_engine_id(name: str | None = None) -> bytes:
    """netop's engine ID (RFC 3411 format 5, octets): stable for this host's name."""
    digest = hashlib.sha1((name or socket.gethostname()).encode()).digest()[:8]
    return b"\x80\x00\x00\x00\x05" + digest


def parse_engine_id(text: str, key: str) -> bytes:
    """``0x8000...`` or plain hex to bytes (5-32 of them, RFC 3411)."""
    raw = text[2:] if text.lower().startswith("0x") else text
    try:
        value = bytes.fromhex(raw.replace(":", ""))
    except ValueError:
        raise ConfigError(key, f"not a hex engine ID: {text!r}") from None
    if not 5 <= len(value) <= 32:
        raise ConfigError(key, "an engine ID is 5 to 32 bytes")
    return value


def users_from_config(raw: Any, env: Mapping[str, str] | None = None,
                      key: str = "traps.users") -> tuple[list[TrapUser], list[str]]:  # fmt: skip
    """``[[traps.users]]`` to users, plus warnings (world-readable key files)."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        raise ConfigError(key, "must be a list of tables")
    env = os.environ if env is None else env
    users: list[TrapUser] = []
    warnings: list[str] = []
    allowed = {"user", "auth_protocol", "priv_protocol", "engine_id", "auth_key",
               "auth_key_env", "auth_key_file", "priv_key", "priv_key_env", "priv_key_file"}
    for number, table in enumerate(raw):
        where = f"{key}[{number}]"
        if not isinstance(table, Mapping):
            raise ConfigError(where, "must be a table")
        for name in table:
            if name not in allowed:
                raise ConfigError(f"{where}.{name}", "unknown key")
        user = table.get("user")
        if not isinstance(user, str) or not user:
            raise ConfigError(f"{where}.user", "is required")
        auth_key, _ = read_secret(table, "auth_key", where, env, warnings)
        priv, _ = read_secret(table, "priv_key", where, env, warnings)
        auth = _protocol(table.get("auth_protocol"), AUTH_PROTOCOLS, f"{where}.auth_protocol")
        privp = _protocol(table.get("priv_protocol"), PRIV_PROTOCOLS, f"{where}.priv_protocol")
        auth = auth or ("sha" if auth_key else None)
        privp = privp or ("aes" if priv else None)
        if auth and auth_key is None:
            raise ConfigError(f"{where}.auth_key", "is required with auth_protocol")
        if privp and (priv is None or not auth):
            raise ConfigError(f"{where}.priv_key", "authPriv needs auth_key and priv_key")
        for name, value in (("auth_key", auth_key), ("priv_key", priv)):
            if value is not None and len(value.reveal()) < MIN_KEY_LEN:
                raise ConfigError(f"{where}.{name}", f"must be at least {MIN_KEY_LEN} characters")
        engine = table.get("engine_id")
        engine_id = None
        if engine is not None:
            if not isinstance(engine, str):
                raise ConfigError(f"{where}.engine_id", "must be a hex string")
            engine_id = parse_engine_id(engine, f"{where}.engine_id")
        users.append(TrapUser(user, auth, auth_key, privp, priv, engine_id))
    return users, warnings


def _protocol(value: Any, allowed: Sequence[str], key: str) -> str | None:
    if value is None:
        return None
    text = str(value).lower().replace("-", "")
    if text not in allowed:
        raise ConfigError(key, f"must be one of {', '.join(allowed)}, got {value!r}")
    return text


class _Keys:
    """One user's keys, localised per engine ID on demand (bounded cache)."""

    def __init__(self, user: TrapUser) -> None:
        self.user = user
        self.hash, self.trunc = AUTH[user.auth_protocol] if user.auth_protocol else ("", 0)
        self._ku = (password_to_key(user.auth_key.reveal().encode(), self.hash)
                    if user.auth_key and self.hash else b"")  # fmt: skip
        self._cache: OrderedDict[bytes, tuple[bytes, bytes]] = OrderedDict()

    def for_engine(self, engine_id: bytes) -> tuple[bytes, bytes]:
        """(auth key, priv key) localised to ``engine_id``."""
        keys = self._cache.get(engine_id)
        if keys is None:
            auth = localize(self._ku, engine_id, self.hash) if self._ku else b""
            privk = b""
            if self.user.priv_protocol and self.user.priv_key:
                size, how = PRIV[self.user.priv_protocol]
                privk = priv_key(self.user.priv_key.reveal().encode(), engine_id, self.hash,
                                 size, how)  # fmt: skip
            keys = (auth, privk)
            if len(self._cache) >= MAX_ENGINES:
                self._cache.popitem(last=False)
            self._cache[engine_id] = keys
        return keys


@dataclass(frozen=True, slots=True)
class V3Result:
    """A v3 message's outcome: a notification, an answer to send, or a drop reason."""

    notification: Notification | None = None
    answer: bytes | None = None
    user: str = ""
    dropped: str = ""


class UsmReceiver:
    """Checks and opens SNMPv3 notifications; answers discovery probes and informs."""

    def __init__(self, users: Sequence[TrapUser], engine_id: bytes | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 boots: int | None = None) -> None:  # fmt: skip
        self.engine_id = engine_id or local_engine_id()
        self._keys = {u.user.encode(): _Keys(u) for u in users}
        self._clock = clock
        self._start = clock()
        # Boots must grow across restarts and we keep no state: seconds since 2020.
        self.boots = boots if boots is not None else max(1, int(time.time()) - 1_577_836_800)
        self._latest: OrderedDict[bytes, tuple[int, int]] = OrderedDict()
        self.unknown_engine_reports = 0
        self._salt = int.from_bytes(os.urandom(8), "big")

    def engine_time(self) -> int:
        """Seconds since this receiver started (snmpEngineTime)."""
        return min(int(self._clock() - self._start), MAX_INT)

    def receive(self, data: bytes) -> V3Result:
        """One v3 message (its outer SEQUENCE at 0); never raises for bad input."""
        try:
            return self._receive(data)
        except (BerError, IndexError, ValueError, OverflowError):
            return V3Result(dropped="malformed")

    def _receive(self, data: bytes) -> V3Result:
        head = parse_header(data)
        if head is None:
            return V3Result(dropped="malformed")
        msg_id, flags, engine_id, user = head.msg_id, head.flags, head.engine_id, head.user
        boots, etime = head.boots, head.engine_time
        if boots is None or etime is None:
            return V3Result(dropped="malformed")
        if not engine_id and not flags & FLAG_AUTH:
            return self._discovery(data, head.scoped_at, head.end, msg_id, flags)
        keys = self._keys.get(user)
        if keys is None:
            return V3Result(dropped="unknown_user")
        if flags & 3 != keys.user.flags:
            return V3Result(dropped="wrong_level")
        ours = engine_id == self.engine_id
        if not ours and keys.user.engine_id is not None and engine_id != keys.user.engine_id:
            return V3Result(dropped="unknown_engine")
        if not 5 <= len(engine_id) <= 32:
            return V3Result(dropped="malformed")
        auth_key, privk = keys.for_engine(engine_id)
        if flags & FLAG_AUTH:
            if not digest_ok(data, head, auth_key, keys.hash, keys.trunc):
                return V3Result(dropped="bad_digest")
            if not self._timely(engine_id, ours, boots, etime):
                return V3Result(dropped="not_in_time_window")
        tag, mpos, mend = header(data, head.scoped_at, head.end)
        if flags & FLAG_PRIV:
            salt = head.salt
            if tag != 0x04 or len(salt) != 8:
                return V3Result(dropped="malformed")
            try:
                plain = crypt_scoped(keys.user.priv_protocol or "", privk, salt, boots, etime,
                                     data[mpos:mend], encrypt=False)  # fmt: skip
                tag, mpos, mend = header(plain, 0, len(plain))
            except (BerError, ValueError):
                return V3Result(dropped="decryption_failed")
            data = plain
        if tag != 0x30:
            return V3Result(dropped="decryption_failed" if flags & FLAG_PRIV else "malformed")
        _, cpos, cend = header(data, mpos, mend)
        context_engine = data[cpos:cend]
        _, npos, nend = header(data, cend, mend)
        context_name = data[npos:nend]
        note = decode_pdu(data, nend, mend, 3)
        who = user.decode("utf-8", "replace")
        if note.pdu != INFORM:
            return V3Result(note, None, who)
        if not ours:
            return V3Result(dropped="inform_not_to_us")
        answer = self._message(msg_id, flags & 3, user, keys, auth_key, privk,
                               tlv(0x30, tlv(0x04, context_engine) + tlv(0x04, context_name)
                                   + response_pdu(note.request_id, note.raw_varbinds)))
        return V3Result(note, answer, who)

    def _timely(self, engine_id: bytes, ours: bool, boots: int, etime: int) -> bool:
        if ours:  # we are authoritative (an inform): RFC 3414 §3.2 step 7a
            return boots == self.boots and abs(etime - self.engine_time()) <= TIME_WINDOW
        known = self._latest.get(engine_id)
        if known is not None:
            kb, kt = known
            if boots < kb or (boots == kb and etime < kt - TIME_WINDOW):
                return False
            if (boots, etime) <= known:
                return True
        if len(self._latest) >= MAX_ENGINES and engine_id not in self._latest:
            self._latest.popitem(last=False)
        self._latest[engine_id] = (boots, etime)
        return True

    def _discovery(self, data: bytes, spos: int, end: int, msg_id: int, flags: int) -> V3Result:
        """RFC 3414 §4: answer a probe with our engine ID, boots and time."""
        if not flags & FLAG_REPORTABLE:
            return V3Result(dropped="malformed")
        tag, mpos, mend = header(data, spos, end)
        if tag != 0x30:
            return V3Result(dropped="malformed")
        _, cpos, cend = header(data, mpos, mend)
        _, npos, nend = header(data, cend, mend)
        _, ppos, pend = header(data, nend, mend)
        itag, ipos, iend = header(data, ppos, pend)
        request_id = int.from_bytes(data[ipos:iend], "big", signed=True) if itag == 2 else 0
        self.unknown_engine_reports += 1
        counter = tlv(0x41, self.unknown_engine_reports.to_bytes(5, "big").lstrip(b"\x00")
                      or b"\x00")  # fmt: skip
        varbinds = tlv(0x30, encode_varbind(_UNKNOWN_ENGINE_IDS, counter))
        pdu = tlv(REPORT, integer(request_id) + integer(0) + integer(0) + varbinds)
        scoped = tlv(0x30, tlv(0x04, self.engine_id) + tlv(0x04, b"") + pdu)
        return V3Result(answer=self._message(msg_id, 0, b"", None, b"", b"", scoped),
                        dropped="discovery")

    def _message(self, msg_id: int, level: int, user: bytes, keys: _Keys | None,
                 auth_key: bytes, privk: bytes, scoped: bytes) -> bytes:  # fmt: skip
        """A whole v3 message from netop's engine (a Report or a Response)."""
        boots, etime = self.boots, self.engine_time()
        priv_params = b""
        if level & FLAG_PRIV and keys is not None:
            self._salt = (self._salt + 1) & (2**64 - 1)
            priv_params = self._salt.to_bytes(8, "big")
            scoped = tlv(0x04, crypt_scoped(keys.user.priv_protocol or "", privk, priv_params,
                                            boots, etime, scoped, encrypt=True))  # fmt: skip
        auth = (auth_key, keys.hash, keys.trunc) if keys is not None else None
        return build_message(msg_id, level, self.engine_id, boots, etime, user, scoped,
                             priv_params, auth)  # fmt: skip
