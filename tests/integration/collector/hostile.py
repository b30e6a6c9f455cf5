"""Crafted hostile export datagrams and a bounded sender from many 127.x.y.z addresses.

Linux routes all of 127.0.0.0/8 to ``lo``, so binding a socket to 127.a.b.c emulates a
spoofed exporter address without leaving the machine. Used by the attack tests, the
soaks (``bench/collector_soak.py``, ``bench/soak_all.py``).
"""

from __future__ import annotations

import random
import socket
import struct
import time
from collections.abc import Callable, Iterator

MAX_DATAGRAM = 65507  # the largest UDP payload over IPv4


def _ipfix(body: bytes, domain: int = 1, seq: int = 0, export: int = 1_700_000_010) -> bytes:
    return struct.pack("!HHIII", 10, 16 + len(body), export, seq, domain) + body


def many_templates(rng: random.Random, size: int = MAX_DATAGRAM) -> bytes:
    """One IPFIX message full of small templates, each with a different field list
    (two fields of random elements and lengths), so no cache can serve them."""
    records: list[bytes] = []
    room = size - 16 - 4
    tid = 256
    while room >= 12:
        fields = struct.pack("!HHHH", rng.randrange(1, 500), rng.randrange(1, 17),
                             rng.randrange(1, 500), rng.randrange(1, 17))  # fmt: skip
        records.append(struct.pack("!HH", tid, 2) + fields)
        tid = tid + 1 if tid < 65535 else 256
        room -= 12
    body = b"".join(records)
    return _ipfix(struct.pack("!HH", 2, 4 + len(body)) + body, domain=rng.randrange(1 << 32))


def empty_sets(rng: random.Random, size: int = MAX_DATAGRAM) -> bytes:
    """One IPFIX message of empty data sets (4-byte headers) for templates never sent."""
    count = (size - 16) // 4
    body = b"".join(struct.pack("!HH", rng.randrange(256, 65536), 4) for _ in range(count))
    return _ipfix(body, domain=rng.randrange(1 << 32))


def small_pending_sets(rng: random.Random, size: int = MAX_DATAGRAM) -> bytes:
    """One IPFIX message of 1-byte-record data sets for templates never sent."""
    count = (size - 16) // 8
    body = b"".join(struct.pack("!HH4s", rng.randrange(256, 65536), 8, b"x\0\0\0")
                    for _ in range(count))  # fmt: skip
    return _ipfix(body, domain=rng.randrange(1 << 32))


def random_domain(rng: random.Random) -> bytes:
    """A small valid IPFIX message (one template) in a random observation domain."""
    fields = struct.pack("!HHHH", 8, 4, 12, 4)
    rec = struct.pack("!HH", rng.randrange(256, 65536), 2) + fields
    return _ipfix(struct.pack("!HH", 2, 4 + len(rec)) + rec, domain=rng.randrange(1 << 32),
                  seq=rng.randrange(1 << 32))  # fmt: skip


def huge_template(rng: random.Random, fields: int = 16_000) -> bytes:
    """One IPFIX template with ``fields`` field specifiers (fills a datagram)."""
    spec = b"".join(struct.pack("!HH", rng.randrange(1, 500), 4) for _ in range(fields))
    rec = struct.pack("!HH", rng.randrange(256, 65536), fields) + spec
    return _ipfix(struct.pack("!HH", 2, 4 + len(rec)) + rec, domain=rng.randrange(1 << 32))


def sflow_counters(rng: random.Random, samples: int = 200) -> bytes:
    """An sFlow v5 datagram of generic-interface counter samples with random ifIndexes."""
    parts: list[bytes] = []
    for _ in range(samples):
        generic = struct.pack("!IIQIIQIIIIIIQIIIIII", rng.randrange(1 << 31), 6, 10**9, 1, 3,
                              1000, 10, 1, 1, 0, 0, 0, 2000, 20, 2, 2, 1, 0, 0)  # fmt: skip
        body = struct.pack("!III", 1, 3, 1) + struct.pack("!II", 1, len(generic)) + generic
        parts.append(struct.pack("!II", 2, len(body)) + body)
    head = struct.pack("!II4sIII", 5, 1, socket.inet_aton("192.0.2.1"), 0,
                       rng.randrange(1 << 32), 1000)  # fmt: skip
    return head + struct.pack("!I", samples) + b"".join(parts)


KINDS: dict[str, Callable[[random.Random], bytes]] = {
    "templates": many_templates,
    "empty_sets": empty_sets,
    "small_sets": small_pending_sets,
    "domains": random_domain,
    "huge_template": huge_template,
    "sflow_counters": sflow_counters,
}


def spoofed_address(rng: random.Random) -> str:
    """A random source address in 127.0.0.0/8 other than 127.0.0.1."""
    while True:
        address = f"127.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        if address != "127.0.0.1":
            return address


class SpoofSender:
    """Sends datagrams to 127.0.0.1:``port`` from many 127.x.y.z source addresses.

    Every loop is bounded by a datagram count and a deadline; ``rate`` is in bytes per
    second (0: as fast as possible).
    """

    def __init__(self, port: int, seed: int = 17) -> None:
        self.port = port
        self.rng = random.Random(seed)
        self.sent = 0
        self.bytes = 0

    def send(self, data: bytes, source: str) -> None:
        """One datagram from ``source`` (a fresh bound socket: sources are many)."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((source, 0))
            try:
                sock.sendto(data, ("127.0.0.1", self.port))
            except OSError:
                return  # e.g. ECONNREFUSED from an earlier ICMP: the flood goes on
        self.sent += 1
        self.bytes += len(data)

    def flood(self, kinds: list[str], seconds: float, rate: float = 0.0,
              max_datagrams: int = 10_000_000) -> Iterator[None]:  # fmt: skip
        """Send a mix of ``kinds`` for at most ``seconds``; yields after each datagram
        (so a caller can watch the receiver) and stops at ``max_datagrams``."""
        start = time.monotonic()
        deadline = start + seconds
        sent = 0
        while sent < max_datagrams:
            now = time.monotonic()
            if now >= deadline:
                return
            if rate > 0 and self.bytes > rate * (now - start):
                time.sleep(min(0.01, deadline - now))
                yield
                continue
            kind = kinds[sent % len(kinds)]
            self.send(KINDS[kind](self.rng), spoofed_address(self.rng))
            sent += 1
            yield
