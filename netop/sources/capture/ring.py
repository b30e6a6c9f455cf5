"""AF_PACKET socket with a PACKET_MMAP TPACKET_V3 receive ring.

The kernel fills fixed-size blocks with many packets; user space takes a whole block
at once (one Python crossing per block instead of per packet), copies it out and hands
the block straight back so the kernel can refill it while we parse. The socket is
``SOCK_DGRAM`` (cooked): packets start at the network header on every interface type,
the EtherType comes from the ``sockaddr_ll`` the kernel puts beside each packet, and
VLAN tags stripped by the NIC arrive in ``tp_vlan_tci``.

Every page of a ring is mapped into the capture process and stays resident once the
kernel has written it, so ``capture.ring_mb`` is what a busy interface costs in memory.
(A ring that starts small and is re-made larger on traffic was tried: the socket has no
ring while it is re-made, and the packets of that moment are lost without any counter.)
"""

from __future__ import annotations

import errno
import mmap
import socket
import struct
from collections.abc import Iterator, Sequence

from netop.errors import NetopError
from netop.packet.bpf import Insn, attach

SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_VERSION = 10
TPACKET_V3 = 2
PACKET_MR_PROMISC = 1
ETH_P_ALL = 0x0003
TP_STATUS_USER = 1
BLOCK_SIZE = 1 << 20
RETIRE_MS = 10

_BLOCK_HDR = struct.Struct("=IIIIII")  # version, priv offset, status, num_pkts, first, len
_STATS_V3 = struct.Struct("=III")

PERMISSION_HINT = (
    "packet capture needs CAP_NET_RAW: install the capture launcher once with "
    "`netop install-capture --file-caps` as root (README: Capture rights), or run netop with sudo"
)


class CapturePermissionError(NetopError):
    """The process may not open packet sockets."""


class CaptureOpenError(NetopError):
    """An interface that cannot be captured on (missing, down...)."""


class Ring:
    """One TPACKET_V3 ring on one interface (or on all with ``"any"``)."""

    def __init__(
        self,
        iface: str,
        program: Sequence[Insn],
        ring_mb: int,
        promiscuous: bool = True,
    ) -> None:
        self.iface = iface
        self.block_size, self.block_nr = BLOCK_SIZE, max(2, ring_mb * (1 << 20) // BLOCK_SIZE)
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        except PermissionError:
            raise CapturePermissionError(PERMISSION_HINT) from None
        try:
            self._setup(program, ring_mb, promiscuous)
        except BaseException:
            self.sock.close()
            raise

    def _setup(self, program: Sequence[Insn], ring_mb: int, promiscuous: bool) -> None:
        sock = self.sock
        ifindex = 0
        self.loopback = loopback_index()
        if self.iface != "any":
            try:
                ifindex = socket.if_nametoindex(self.iface)
            except OSError:
                raise CaptureOpenError(f"no such interface: {self.iface}") from None
        # Filter first, so no unfiltered packet lands in the ring before it is on.
        attach(sock, program)
        sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
        self._map_ring()
        if ifindex:
            sock.bind((self.iface, ETH_P_ALL))
            if promiscuous:
                mreq = struct.pack("=iHH8s", ifindex, PACKET_MR_PROMISC, 0, b"")
                sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)

    def _map_ring(self) -> None:
        size, count = self.block_size, self.block_nr
        req = struct.pack("=IIIIIII", size, count, 1 << 11, count * (size >> 11), RETIRE_MS, 0, 0)
        self.sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
        self.map = mmap.mmap(
            self.sock.fileno(), size * count, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE
        )
        self._next = 0

    @property
    def size(self) -> int:
        """Bytes in the ring now."""
        return self.block_size * self.block_nr

    def fileno(self) -> int:
        """The socket's descriptor, for ``select``/``poll`` over several rings."""
        return self.sock.fileno()

    def set_filter(self, program: Sequence[Insn]) -> None:
        """Replace the kernel filter (e.g. to change the sampling rate)."""
        attach(self.sock, program)

    def blocks(self) -> Iterator[tuple[bytes, int]]:
        """Every block the kernel has retired, as ``(copy, packet count)``; non-blocking."""
        view = self.map
        for _ in range(self.block_nr):
            base = self._next * self.block_size
            _v, _priv, status, num, _first, length = _BLOCK_HDR.unpack_from(view, base)
            if not status & TP_STATUS_USER:
                return
            block = view[base : base + length]
            view[base + 8 : base + 12] = b"\x00\x00\x00\x00"  # TP_STATUS_KERNEL: hand back
            self._next = (self._next + 1) % self.block_nr
            yield block, num

    def stats(self) -> tuple[int, int]:
        """(packets, drops) since the previous call (the kernel resets them on read)."""
        try:
            raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS_V3.size)
        except OSError as exc:
            if exc.errno == errno.EBADF:
                return 0, 0
            raise
        packets, drops, _freeze = _STATS_V3.unpack(raw)
        return packets, drops

    def close(self) -> None:
        """Release the ring and the socket. Idempotent."""
        mapping = getattr(self, "map", None)
        if mapping is not None and not mapping.closed:
            mapping.close()
        self.sock.close()


def loopback_index() -> int:
    """The ifindex of ``lo`` in this network namespace (0 when there is none).

    Packets lo sends come back to it as received; libpcap skips the outgoing copy on
    that ifindex (``linux_check_direction``), and so do the readers of this ring.
    """
    try:
        return socket.if_nametoindex("lo")
    except OSError:
        return 0
