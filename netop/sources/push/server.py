"""Sockets of a push receiver: UDP datagrams and TCP streams on one thread.

One thread serves every socket with a selector, as the flow collector does (one thread
lost less than a receive thread plus a worker, the GIL hand-offs costing more than the
overlap): readable UDP sockets are drained in bursts, TCP connections are read and
split into messages by a per-connection framer. Every message goes to ``handle(data,
sender, now, reply)`` on this thread; ``reply`` answers the sender (UDP only: an SNMP
inform's acknowledgement), else None. Connections are bounded in number and each in
buffered bytes; the socket receive buffers are the queue.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

from netop.errors import NetopError
from netop.sources.udpstats import kernel_drops

DEFAULT_RCVBUF = 16 << 20
MAX_CONNECTIONS = 256
#: TCP connections one sender address may hold at once.
MAX_PER_SENDER = 32
_BURST = 2048
#: Seconds a busy receiver lets messages gather between wake-ups (the added latency).
GATHER = 0.002
_MAX_DATAGRAM = 65535
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
#: Reply callback given to the handler for a UDP message.
Reply = Callable[[bytes], None]
Handler = Callable[[bytes, str, float, Reply | None], None]


class StreamFramer(Protocol):
    """Splits a byte stream into messages (see netop.sources.syslog.framing)."""

    def feed(self, data: bytes) -> list[bytes]:
        """Whole messages completed by ``data``; ValueError when the stream is bad."""
        ...


def _bind(host: str, port: int, kind: socket.SocketKind, rcvbuf: int, what: str) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=kind)
    except socket.gaierror as exc:
        raise NetopError(f"{what}: cannot resolve {host!r}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if sys.platform.startswith("linux") and kind == socket.SOCK_DGRAM:
            with contextlib.suppress(OSError):  # beyond rmem_max when we may
                sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, rcvbuf)
        sock.bind(address)
        if kind == socket.SOCK_STREAM:
            sock.listen(64)
    except OSError as exc:
        sock.close()
        proto = "TCP" if kind == socket.SOCK_STREAM else "UDP"
        raise NetopError(f"{what}: cannot listen on {proto} {host}:{port}: "
                         f"{exc.strerror or exc}") from None  # fmt: skip
    sock.setblocking(False)
    return sock


def _host(peer: tuple[str, int] | tuple[str, int, int, int]) -> str:
    host = peer[0]
    return host[7:] if host.startswith("::ffff:") and "." in host else host


class PushServer:
    """UDP and TCP listeners feeding one handler from one thread."""

    def __init__(
        self,
        what: str,
        udp: Sequence[tuple[str, int]],
        tcp: Sequence[tuple[str, int]],
        handle: Handler,
        framer: Callable[[], StreamFramer] | None = None,
        rcvbuf: int = DEFAULT_RCVBUF,
        clock: Callable[[], float] = time.time,
        max_connections: int = MAX_CONNECTIONS,
        replies: bool = True,
        gather: float = GATHER,
    ) -> None:
        self.what = what
        #: Whether the handler may answer a UDP sender (SNMP informs); else it gets None.
        self.replies = replies
        #: Seconds to let messages gather after a wake-up that found only a few.
        self.gather = gather
        self.handle = handle
        self.clock = clock
        self._framer = framer
        self.max_connections = max_connections
        self.udp: list[socket.socket] = []
        self.tcp: list[socket.socket] = []
        try:
            for host, port in udp:
                self.udp.append(_bind(host, port, socket.SOCK_DGRAM, rcvbuf, what))
            for number, (host, port) in enumerate(tcp):
                if port == 0 and number < len(udp) and udp[number][0] == host:
                    # Port 0 on both: TCP takes the port UDP was given, as rsyslog users
                    # expect one number for both.
                    port = self.udp[number].getsockname()[1]
                self.tcp.append(_bind(host, port, socket.SOCK_STREAM, rcvbuf, what))
        except NetopError:
            self.close()
            raise
        self._addresses = [("udp", *s.getsockname()[:2]) for s in self.udp]
        self._addresses += [("tcp", *s.getsockname()[:2]) for s in self.tcp]
        self._inodes = {str(os.fstat(s.fileno()).st_ino) for s in self.udp}
        self._drops = 0
        self._open = True
        self._conns: dict[socket.socket, tuple[str, StreamFramer]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0
        #: Connections refused over the limit, and closed for bad framing.
        self.refused_connections = 0
        self.framing_errors = 0
        self.handler_errors = 0

    @property
    def addresses(self) -> list[tuple[str, str, int]]:
        """(``"udp"``/``"tcp"``, host, port) of every bound socket (port 0 resolved)."""
        return list(self._addresses)

    def kernel_drops(self) -> int:
        """Datagrams the kernel dropped on our UDP sockets (``/proc/net/udp``)."""
        if not self._open:
            return self._drops  # closed: the last count read (the kernel forgot them)
        total = kernel_drops(self._inodes)
        self._drops = max(self._drops, total)
        return self._drops

    def start(self) -> None:
        """Start the receive thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"netop-{self.what}",
                                            daemon=True)  # fmt: skip
            self._thread.start()

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        for sock in self.udp:
            selector.register(sock, selectors.EVENT_READ, "udp")
        for sock in self.tcp:
            selector.register(sock, selectors.EVENT_READ, "listen")
        buffer = bytearray(_MAX_DATAGRAM)
        try:
            while not self._stop.is_set():
                gather = False
                for key, _ in selector.select(timeout=0.05):
                    sock = cast(socket.socket, key.fileobj)
                    if key.data == "udp":
                        gather |= 0 < self._drain(sock, buffer) < _BURST
                    elif key.data == "listen":
                        self._accept(sock, selector)
                    else:
                        self._read(sock, selector)
                        gather = True
                self.passes += 1
                if gather and self.gather:
                    # Woken for a few messages, the wake-up costs more than they do: let
                    # a few milliseconds' worth gather (the receive buffer holds seconds)
                    # and read them in one burst.
                    self._stop.wait(self.gather)
        except (OSError, ValueError):
            pass  # sockets closed by stop()
        finally:
            for conn in list(self._conns):
                conn.close()
            self._conns.clear()
            selector.close()

    def _call(self, data: bytes, sender: str, now: float, reply: Reply | None) -> None:
        try:
            self.handle(data, sender, now, reply)
        except Exception:  # a parser bug must not stop the receiver: counted
            self.handler_errors += 1

    def _drain(self, sock: socket.socket, buffer: bytearray) -> int:
        """Read what ``sock`` holds (at most a burst); how many datagrams were read."""
        view = memoryview(buffer)
        recv = sock.recvfrom_into
        handle = self.handle
        now = self.clock()
        count = 0
        for count in range(_BURST):  # noqa: B007 - the count is the answer
            try:
                size, peer = recv(buffer)
            except (BlockingIOError, InterruptedError):
                return count
            except OSError:
                continue  # e.g. ICMP errors queued on the socket
            data = bytes(view[:size])
            host = peer[0]
            if host.startswith("::ffff:"):
                host = _host(peer)
            if not self.replies:  # syslog: no closure per datagram
                try:
                    handle(data, host, now, None)
                except Exception:  # a parser bug must not stop the receiver: counted
                    self.handler_errors += 1
                continue

            def reply(answer: bytes, peer: Any = peer) -> None:
                with contextlib.suppress(OSError):
                    sock.sendto(answer, peer)

            self._call(data, host, now, reply)
        return count + 1

    def _accept(self, listener: socket.socket, selector: selectors.BaseSelector) -> None:
        try:
            conn, peer = listener.accept()
        except (BlockingIOError, InterruptedError, OSError):
            return
        host = _host(peer)
        mine = sum(1 for sender, _ in self._conns.values() if sender == host)
        # One sender holding every slot (idle connections: slowloris) must not lock the
        # others out: each sender gets at most a share of them.
        if (len(self._conns) >= self.max_connections or mine >= MAX_PER_SENDER
                or self._framer is None):
            self.refused_connections += 1
            conn.close()
            return
        conn.setblocking(False)
        self._conns[conn] = (host, self._framer())
        selector.register(conn, selectors.EVENT_READ, "conn")

    def _read(self, conn: socket.socket, selector: selectors.BaseSelector) -> None:
        sender, framer = self._conns[conn]
        try:
            data = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        messages: list[bytes] = []
        bad = False
        if data:
            try:
                messages = framer.feed(data)
            except ValueError:
                bad = True
        now = self.clock()
        for message in messages:
            self._call(message, sender, now, None)
        if not data or bad:
            self.framing_errors += bad
            selector.unregister(conn)
            del self._conns[conn]
            conn.close()

    @property
    def connections(self) -> int:
        """Open TCP connections."""
        return len(self._conns)

    def flush(self, timeout: float = 1.0) -> None:
        """Wait (bounded) until what is in the socket buffers now has been handled."""
        target = self.passes + 2
        deadline = time.monotonic() + timeout
        while self._thread is not None and self.passes < target \
                and time.monotonic() < deadline:
            time.sleep(0.005)

    def stop(self) -> None:
        """Stop the thread and close every socket (idempotent)."""
        if self._open:
            self.kernel_drops()  # read before the sockets (and their counts) go
        self._open = False
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._thread = None
        self.close()

    def close(self) -> None:
        """Close the listening sockets."""
        for sock in self.udp + self.tcp:
            sock.close()
