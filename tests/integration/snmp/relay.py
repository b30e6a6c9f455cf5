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
