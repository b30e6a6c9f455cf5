"""AF_PACKET socket with a PACKET_MMAP TPACKET_V3 receive ring.

The kernel fills fixed-size blocks with many packets; user space takes a whole block
at once (one Python crossing per block instead of per packet), copies it out and hands
the block straight back so the kernel can refill it while we parse. The socket is
``SOCK_DGRAM`` (cooked): packets start at the network header on every interface type,
the EtherType comes from the ``sockaddr_ll`` the kernel puts beside each packet, and
VLAN tags stripped by the NIC arrive in ``tp_vlan_tci``.

A ring starts small (:data:`IDLE_BLOCKS` blocks of :data:`IDLE_BLOCK_SIZE`: as many
blocks, so as many 10 ms retire periods of slack at low rates, as the full ring) and is
re-made at its full size the first time traffic fills a quarter of it
(:meth:`Ring.busy`, :meth:`Ring.grow`; the capture child also grows it once the packet
rate makes the small ring short). Every page of a ring is mapped into the capture process and stays
resident, so a full-size ring on an idle interface would cost its whole size for nothing.
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
#: The ring a capture starts with: 16 x 64 KiB = 1 MiB (the full one: ``ring_mb`` MiB).
#: A frame larger than a block (lo's 64 KiB GSO frames) is cut to the block; the flow
#: counts use the wire length, and such traffic grows the ring within a tick anyway.
IDLE_BLOCK_SIZE = 1 << 16
IDLE_BLOCKS = 16

_BLOCK_HDR = struct.Struct("=IIIIII")  # version, priv offset, status, num_pkts, first, len
_STATS_V3 = struct.Struct("=III")
_SEQ = struct.Struct("=Q")  # the block header's seq_num, at offset 24
_RING_REQ_SIZE = 28  # struct tpacket_req3; all zero frees the ring

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
        start_small: bool = False,
    ) -> None:
        self.iface = iface
        self.full_blocks = max(2, ring_mb * (1 << 20) // BLOCK_SIZE)
        small = start_small and self.full_blocks * BLOCK_SIZE > IDLE_BLOCKS * IDLE_BLOCK_SIZE
        self.block_size, self.block_nr = (
            (IDLE_BLOCK_SIZE, IDLE_BLOCKS) if small else (BLOCK_SIZE, self.full_blocks)
        )
        #: Blocks found retired in the last :meth:`blocks` pass (how far behind we are).
        self.backlog = 0
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
        self._seq = 0  # seq_num of the last block read; the kernel starts at 1

    @property
    def size(self) -> int:
        """Bytes in the ring now."""
        return self.block_size * self.block_nr

    @property
    def can_grow(self) -> bool:
        """Whether the ring is still the small one it starts with."""
        return self.size < self.full_blocks * BLOCK_SIZE

    def busy(self) -> bool:
        """Whether the last :meth:`blocks` pass found a quarter of the ring or more
        waiting while it can still grow."""
        return self.can_grow and 4 * self.backlog >= self.block_nr

    def grow(self) -> int:
        """Re-make the ring at its full size; returns the packets that were lost doing it.

        Call it right after :meth:`blocks` has taken every retired block. The kernel
        frees the old ring with the block it was filling, so that block's packets (and
        the few that arrive during the two ``setsockopt`` calls) are lost: their count
        as the block header said a moment before is returned, to be reported as drops.
        The socket, its binding and its filter stay; no privilege is needed.
        """
        lost = self._unread_packets()
        self.map.close()
        self.sock.setsockopt(SOL_PACKET, PACKET_RX_RING, bytes(_RING_REQ_SIZE))
        small = self.block_size, self.block_nr
        self.block_size, self.block_nr = BLOCK_SIZE, self.full_blocks
        self.backlog = 0
        try:
            self._map_ring()
        except OSError:  # no memory for the big one: carry on with the small one
            self.block_size, self.block_nr = small
            self.full_blocks = 0
            self._map_ring()
        return int(lost)

    def _unread_packets(self) -> int:
        """Packets in blocks retired since the last pass, and in the block being filled.

        A block handed back but not opened again still holds its old count; the kernel
        numbers blocks as it opens them, so only a number past the last one read counts.
        """
        count, seq, index = 0, self._seq, self._next
        for _ in range(self.block_nr):
            base = index * self.block_size
            status, num = _BLOCK_HDR.unpack_from(self.map, base)[2:4]
            (block_seq,) = _SEQ.unpack_from(self.map, base + 24)
            if block_seq <= seq:
                break
            count += num
            if not status & TP_STATUS_USER:
                break
            seq, index = block_seq, (index + 1) % self.block_nr
        return count

    def fileno(self) -> int:
        """The socket's descriptor, for ``select``/``poll`` over several rings."""
        return self.sock.fileno()

    def set_filter(self, program: Sequence[Insn]) -> None:
        """Replace the kernel filter (e.g. to change the sampling rate)."""
        attach(self.sock, program)

    def blocks(self) -> Iterator[tuple[bytes, int]]:
        """Every block the kernel has retired, as ``(copy, packet count)``; non-blocking."""
        view = self.map
        self.backlog = 0
        for _ in range(self.block_nr):
            base = self._next * self.block_size
            _v, _priv, status, num, _first, length = _BLOCK_HDR.unpack_from(view, base)
            if not status & TP_STATUS_USER:
                return
            block = view[base : base + length]
            (self._seq,) = _SEQ.unpack_from(view, base + 24)
            view[base + 8 : base + 12] = b"\x00\x00\x00\x00"  # TP_STATUS_KERNEL: hand back
            self._next = (self._next + 1) % self.block_nr
            self.backlog += 1
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
