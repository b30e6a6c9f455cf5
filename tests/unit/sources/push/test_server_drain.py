"""The push server's UDP drain: it says how many datagrams one wake-up read (a busy
receiver then lets more gather), and gives a reply callback only where one is wanted."""

from __future__ import annotations

import select
import socket
import time

import pytest

from netop.sources.push.server import PushServer, Reply


@pytest.mark.parametrize("replies", [True, False])
def test_drain_counts_what_it_read_and_replies_only_when_asked(replies: bool) -> None:
    got: list[tuple[bytes, Reply | None]] = []
    server = PushServer("t", [("127.0.0.1", 0)], [], lambda d, s, n, r: got.append((d, r)),
                        replies=replies)  # fmt: skip
    try:
        sock = server.udp[0]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for n in range(5):
                sender.sendto(b"m%d" % n, sock.getsockname())
        buffer = bytearray(65535)
        read = 0
        deadline = time.monotonic() + 5.0
        while read < 5 and time.monotonic() < deadline:  # bounded: loopback delivers
            select.select([sock], [], [], 0.5)
            read += server._drain(sock, buffer)
        assert read == 5
        assert [d for d, _ in got] == [b"m0", b"m1", b"m2", b"m3", b"m4"]
        assert all((r is not None) is replies for _, r in got)
        assert server._drain(sock, buffer) == 0  # nothing left: nothing to gather for
    finally:
        server.close()
