"""A forging UDP relay between netop and a real agent, on 127.0.0.1 only.

netop talks to the relay's port; the relay forwards each request to the agent and
hands every reply to ``alter(request, reply)``, which returns the datagrams netop
gets instead (none, the reply, a forgery, or a forgery and then the reply). It runs
in a thread until :meth:`Relay.stop`, and never lives longer than ``lifetime`` s.

:class:`Tlv` is a tag-preserving BER tree, enough to rewrite one value of a message
and encode it again with the right lengths.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from netop.sources.snmp.ber import header, tlv

Alter = Callable[[bytes, bytes], list[bytes]]


def passthrough(request: bytes, reply: bytes) -> list[bytes]:
    """The agent's reply, unchanged."""
    return [reply]


class Relay:
    """Forward requests from one client to ``agent_port``; replies go through ``alter``."""

    def __init__(self, agent_port: int, alter: Alter = passthrough, lifetime: float = 60.0):
        self.alter = alter
        self.lifetime = lifetime
        self.requests: list[bytes] = []
        self.errors: list[str] = []
        self._front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._front.bind(("127.0.0.1", 0))
        self._front.settimeout(0.1)
        self._back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._back.connect(("127.0.0.1", agent_port))
        self._back.settimeout(0.1)
        self.port = int(self._front.getsockname()[1])
        self._client: tuple[str, int] | None = None
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._forward, daemon=True),
                         threading.Thread(target=self._reply, daemon=True)]  # fmt: skip

    def __enter__(self) -> Relay:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2.0)
        self._front.close()
        self._back.close()

    def _running(self, start: float) -> bool:
        return not self._stop.is_set() and time.monotonic() - start < self.lifetime

    def _forward(self) -> None:
        start = time.monotonic()
        while self._running(start):
            try:
                data, addr = self._front.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            self._client = addr
            self.requests.append(data)
            self._back.send(data)

    def _reply(self) -> None:
        start = time.monotonic()
        while self._running(start):
            try:
                reply = self._back.recv(65535)
            except (TimeoutError, OSError):
                continue
            request = self.requests[-1] if self.requests else b""
            try:
                out = self.alter(request, reply)
            except Exception as exc:  # a bug in a test's forger must show, not hang
                self.errors.append(f"{type(exc).__name__}: {exc}")
                out = [reply]
            for datagram in out:
                if self._client is not None:
                    self._front.sendto(datagram, self._client)


@dataclass
class Tlv:
    """One BER TLV: constructed ones hold children, primitive ones bytes."""

    tag: int
    value: bytes = b""
    children: list[Tlv] = field(default_factory=list)

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)

    def encode(self) -> bytes:
        if self.constructed:
            return tlv(self.tag, b"".join(child.encode() for child in self.children))
        return tlv(self.tag, self.value)

    def __getitem__(self, i: int) -> Tlv:
        return self.children[i]


def parse(data: bytes, pos: int = 0, end: int | None = None) -> Tlv:
    """The TLV at ``pos`` (constructed ones parsed all the way down)."""
    end = len(data) if end is None else end
    tag, start, stop = header(data, pos, end)
    node = Tlv(tag)
    if node.constructed:
        p = start
        while p < stop:
            child = parse(data, p, stop)
            node.children.append(child)
            p = header(data, p, stop)[2]
    else:
        node.value = data[start:stop]
    return node


# ---------------------------------------------------------------- SNMPv3 forgeries


@dataclass
class V3:
    """An SNMPv3 message taken apart (the scoped PDU in clear), to alter and re-sign."""

    msg_id: int
    flags: int
    engine_id: bytes
    boots: int
    time: int
    user: bytes
    scoped: Tlv  # SEQUENCE { contextEngineID, contextName, PDU }

    @property
    def pdu(self) -> Tlv:
        return self.scoped[2]


def _aes(key: bytes, boots: int, engine_time: int, salt: bytes, data: bytes,
         encrypt: bool) -> bytes:  # fmt: skip
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    iv = boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt
    cipher = Cipher(algorithms.AES(key[:16]), CFB(iv))
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(data) + op.finalize()


def v3_parse(data: bytes, priv_key: bytes = b"") -> V3:
    """Take a v3 message apart, decrypting it with the localised ``priv_key``."""
    msg = parse(data)
    head, usm = msg[1], parse(msg[2].value)
    boots = int.from_bytes(usm[1].value, "big")
    engine_time = int.from_bytes(usm[2].value, "big")
    flags = head[2].value[0]
    scoped = msg[3]
    if flags & 2:
        scoped = parse(_aes(priv_key, boots, engine_time, usm[5].value, scoped.value, False))
    return V3(int.from_bytes(head[0].value, "big"), flags, usm[0].value, boots, engine_time,
              usm[3].value, scoped)  # fmt: skip


def _int(value: int) -> Tlv:
    return Tlv(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def v3_encode(m: V3, auth_key: bytes = b"", priv_key: bytes = b"") -> bytes:
    """The message with its flags: encrypted with ``priv_key``, signed (HMAC-SHA-96)
    with ``auth_key``; an unauthenticated one carries no digest."""
    import hashlib
    import hmac

    salt = b"\x00\x00\x00\x00netop" if m.flags & 2 else b""
    scoped = m.scoped
    if m.flags & 2:
        scoped = Tlv(0x04, _aes(priv_key, m.boots, m.time, salt, m.scoped.encode(), True))

    def build(digest: bytes) -> bytes:
        usm = Tlv(0x30, children=[Tlv(0x04, m.engine_id), _int(m.boots), _int(m.time),
                                  Tlv(0x04, m.user), Tlv(0x04, digest), Tlv(0x04, salt)])
        head = Tlv(0x30, children=[_int(m.msg_id), _int(65507), Tlv(0x04, bytes((m.flags,))),
                                   _int(3)])
        return Tlv(0x30, children=[_int(3), head, Tlv(0x04, usm.encode()), scoped]).encode()

    if not m.flags & 1:
        return build(b"")
    blank = build(b"\x00" * 12)
    return build(hmac.new(auth_key, blank, hashlib.sha1).digest()[:12])


def sha_keys(engine_id: bytes, auth: str = "netop-auth-pass",
             priv: str = "netop-priv-pass") -> tuple[bytes, bytes]:  # fmt: skip
    """The SHA-1 auth key and AES-128 priv key of the test users, localised."""
    from netop.sources.snmp.usm import localize, password_to_key

    auth_key = localize(password_to_key(auth.encode(), "sha1"), engine_id, "sha1")
    priv_key = localize(password_to_key(priv.encode(), "sha1"), engine_id, "sha1")[:16]
    return auth_key, priv_key


def usm_report(msg_id: int, engine_id: bytes, counter: int, boots: int = 0,
               engine_time: int = 0, request_id: int = 0) -> bytes:  # fmt: skip
    """An unauthenticated Report of usmStats<counter>.0 (4 unknownEngineIDs,
    5 wrongDigests), as an agent sends one."""
    from netop.sources.snmp.ber import encode_oid

    oid = encode_oid((1, 3, 6, 1, 6, 3, 15, 1, 1, counter, 0))
    varbind = Tlv(0x30, children=[parse(oid), Tlv(0x41, b"\x01")])
    pdu = Tlv(0xA8, children=[_int(request_id), _int(0), _int(0),
                              Tlv(0x30, children=[varbind])])
    scoped = Tlv(0x30, children=[Tlv(0x04, engine_id), Tlv(0x04, b""), pdu])
    return v3_encode(V3(msg_id, 0, engine_id, boots, engine_time, b"", scoped))
