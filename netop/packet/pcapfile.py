"""Reading pcap/pcapng files and writing pcap files with tcpdump-style rotation.

The reader hands out packets in batches (one per few MiB of file) so that the caller
crosses into its per-packet loop once per batch. A damaged file is read as far as it
is readable; then :class:`PcapError` is raised once, after the last good batch.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Iterator
from typing import BinaryIO

from netop.errors import NetopError

#: One packet: (timestamp in epoch seconds, captured bytes, original length on the wire).
Packet = tuple[float, bytes, int]
#: A run of packets that share one link type.
Batch = tuple[int, list[Packet]]

#: The largest snapshot length (tcpdump's): bytes of a packet kept, in a file or capture.
MAX_SNAPLEN = 262_144
_CHUNK = 4 << 20
_MAX_BLOCK = 16 << 20
_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
#: Packet times at or past this (2242, epoch seconds) are impossible. A pcapng interface
#: may count in any unit with a 64-bit counter and any offset; beyond ~2^53 s a float
#: cannot even advance by a second, and playback would spin on one tick for ever.
MAX_TIMESTAMP = float(2**33)


class ReadCounts:
    """What a reader mended: packets whose timestamp no clock can show (given their
    predecessor's time instead). A plain class: the capture child imports this module
    and keeps its imports few."""

    __slots__ = ("bad_timestamps", "offset")

    def __init__(self) -> None:
        self.bad_timestamps = 0
        #: Bytes of the file read when the last batch was handed on (a player's
        #: estimate of where the file ends in time).
        self.offset = 0


class PcapError(NetopError):
    """A capture file that cannot be read (completely)."""


def read_batches(path: str, counts: ReadCounts | None = None) -> Iterator[Batch]:
    """Every readable packet of a pcap or pcapng file, in batches by link type.

    Raises :class:`PcapError` for a missing/unknown file at once, and for a damaged
    file after everything before the damage has been yielded. A packet with an
    impossible timestamp (negative, not a number, from after :data:`MAX_TIMESTAMP`) gets
    the time of the packet before it and is counted in ``counts``.
    """
    if counts is None:
        counts = ReadCounts()
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed in the finally below
    except OSError as exc:
        raise PcapError(f"{path}: {exc.strerror or exc}") from None
    try:
        magic = handle.read(4)
        if magic in _PCAP_MAGICS:
            batches = _read_pcap(handle, path, magic)
        elif magic == _PCAPNG_SHB:
            batches = _read_pcapng(handle, path, counts)
        elif not magic:
            raise PcapError(f"{path}: empty file, not a capture")
        else:
            raise PcapError(f"{path}: not a pcap or pcapng file (magic {magic.hex()})")
        for batch in batches:
            counts.offset = handle.tell()
            yield batch
    finally:
        handle.close()


def check_readable(path: str) -> None:
    """Raise :class:`PcapError` unless ``path`` opens and starts like a pcap or pcapng file.

    Only the first bytes are read: a file damaged further on is still played up to the
    damage, but a missing, unreadable or foreign file ends the command before it starts.
    """
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise PcapError(f"{path}: {exc.strerror or exc}") from None
    if not magic:
        raise PcapError(f"{path}: empty file, not a capture")
    if magic not in _PCAP_MAGICS and magic != _PCAPNG_SHB:
        raise PcapError(f"{path}: not a pcap or pcapng file (magic {magic.hex()})")


def open_classic(path: str) -> tuple[BinaryIO, bool, bool, int] | None:
    """A classic pcap file opened after its header: (file, little-endian, nanoseconds,
    link type); ``None`` when the file is something else (pcapng, damaged...)."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - returned to the caller
    except OSError as exc:
        raise PcapError(f"{path}: {exc.strerror or exc}") from None
    head = handle.read(24)
    if len(head) == 24 and head[:4] in _PCAP_MAGICS:
        order, scale = _PCAP_MAGICS[head[:4]]
        linktype = struct.unpack_from(order + "I", head, 20)[0] & 0x0FFFFFFF
        return handle, order == "<", scale < 1e-6, linktype
    handle.close()
    return None


def _read_pcap(handle: BinaryIO, path: str, magic: bytes) -> Iterator[Batch]:
    order, scale = _PCAP_MAGICS[magic]
    head = handle.read(20)
    if len(head) < 20:
        raise PcapError(f"{path}: truncated pcap file header")
    linktype = struct.unpack(order + "HHiIII", head)[5] & 0x0FFFFFFF
    rec = struct.Struct(order + "IIII")
    unpack = rec.unpack_from
    buf = b""
    while True:
        chunk = handle.read(_CHUNK)
        if not chunk:
            break
        buf = buf + chunk if buf else chunk
        packets: list[Packet] = []
        append = packets.append
        off, end = 0, len(buf)
        while off + 16 <= end:
            sec, frac, caplen, wirelen = unpack(buf, off)
            if caplen > MAX_SNAPLEN:
                if packets:
                    yield linktype, packets
                raise PcapError(f"{path}: damaged record at byte {_pos(handle, buf, off)}")
            nxt = off + 16 + caplen
            if nxt > end:
                break
            append((sec + frac * scale, buf[off + 16 : nxt], wirelen))
            off = nxt
        buf = buf[off:]
        if packets:
            yield linktype, packets
    if buf:
        raise PcapError(f"{path}: file ends in the middle of a packet ({len(buf)} bytes left)")


def _pos(handle: BinaryIO, buf: bytes, off: int) -> int:
    return handle.tell() - len(buf) + off


def _read_pcapng(handle: BinaryIO, path: str, counts: ReadCounts) -> Iterator[Batch]:
    data = _PCAPNG_SHB + handle.read(_CHUNK)
    base = 0  # file position of data[0]
    off = 0
    eof = False
    order = "<"
    ifaces: list[tuple[int, float, float]] = []  # (linktype, ts scale, ts offset)
    linktype = -1
    packets: list[Packet] = []
    damaged = False
    last_good = 0.0
    while True:
        if off + 12 > len(data) and not eof:
            data, base, off = data[off:] + handle.read(_CHUNK), base + off, 0
            eof = len(data) < 12
        if off + 12 > len(data):
            damaged = off < len(data)
            break
        if data[off : off + 4] == _PCAPNG_SHB:
            bom = data[off + 8 : off + 12]
            order = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">" if bom == b"\x1a\x2b\x3c\x4d" else ""
            if not order:
                damaged = True
                break
            ifaces = []
        btype, blen = struct.unpack_from(order + "II", data, off)
        if blen < 12 or blen % 4 or blen > _MAX_BLOCK:
            damaged = True
            break
        while off + blen > len(data) and not eof:
            more = handle.read(max(_CHUNK, blen))
            eof = not more
            data, base, off = data[off:] + more, base + off, 0
        if off + blen > len(data):
            damaged = True
            break
        body, block_end = off + 8, off + blen - 4
        try:
            if btype == 1:  # Interface Description Block
                ifaces.append(_idb(data, order, body, block_end))
            elif btype in (6, 3, 2):
                parsed = _packet_block(data, order, btype, body, block_end, ifaces)
                if parsed is None:
                    damaged = True
                    break
                lt, packet = parsed
                if 0.0 <= packet[0] < MAX_TIMESTAMP:  # NaN fails this too
                    last_good = packet[0]
                else:
                    # Real files have these (a clock read as unsigned): the packet still
                    # counts, at its predecessor's time, where it sits in the file.
                    counts.bad_timestamps += 1
                    packet = (last_good, packet[1], packet[2])
                if lt != linktype and packets:
                    yield linktype, packets
                    packets = []
                linktype = lt
                packets.append(packet)
                if len(packets) >= 65536:
                    yield linktype, packets
                    packets = []
        except struct.error:
            damaged = True
            break
        off += blen
    if packets:
        yield linktype, packets
    if damaged:
        raise PcapError(f"{path}: damaged pcapng block at byte {base + off}")


def _idb(data: bytes, order: str, body: int, end: int) -> tuple[int, float, float]:
    linktype = struct.unpack_from(order + "H", data, body)[0]
    scale, offset = 1e-6, 0.0
    pos = body + 8
    while pos + 4 <= end:
        code, length = struct.unpack_from(order + "HH", data, pos)
        if code == 0:
            break
        value = pos + 4
        if code == 9 and length >= 1:  # if_tsresol
            res = data[value]
            scale = 2.0 ** -(res & 0x7F) if res & 0x80 else 10.0**-res
        elif code == 14 and length >= 8:  # if_tsoffset
            offset = float(struct.unpack_from(order + "q", data, value)[0])
        pos = value + ((length + 3) & ~3)
    return linktype, scale, offset


def _packet_block(
    data: bytes, order: str, btype: int, body: int, end: int, ifaces: list[tuple[int, float, float]]
) -> tuple[int, Packet] | None:
    if btype == 6:  # Enhanced Packet Block
        iface, hi, lo, caplen, wirelen = struct.unpack_from(order + "IIIII", data, body)
        start = body + 20
    elif btype == 2:  # obsolete Packet Block
        iface, _drops, hi, lo, caplen, wirelen = struct.unpack_from(order + "HHIIII", data, body)
        start = body + 20
    else:  # Simple Packet Block: interface 0, no timestamp
        iface, hi, lo = 0, 0, 0
        wirelen = struct.unpack_from(order + "I", data, body)[0]
        start = body + 4
        caplen = min(wirelen, end - start)
    if iface >= len(ifaces) or start + caplen > end:
        return None
    linktype, scale, offset = ifaces[iface]
    return linktype, ((hi << 32 | lo) * scale + offset, data[start : start + caplen], wirelen)


def _check_directory(path: str) -> None:
    """Refuse a directory others may write to without the sticky bit: anyone there
    could swap our file for a symlink between two rotations."""
    directory = os.path.dirname(os.path.abspath(path))
    st = os.stat(directory)
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not st.st_mode & stat.S_ISVTX:
        raise PcapError(f"{directory}: group/world-writable directory without the sticky bit")


def _open_new_or_own(name: str) -> int:
    """A new file (``O_EXCL|O_NOFOLLOW``: never through a symlink), or an existing one
    only when it is a regular file of ours with no other name (a ``-W`` ring coming
    round, or an earlier capture overwritten as tcpdump does): never someone else's."""
    _check_directory(name)
    flags = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(name, flags | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    fd = os.open(name, flags | os.O_NONBLOCK)  # O_NONBLOCK: a planted FIFO must not hang us
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_nlink != 1:
        os.close(fd)
        raise PcapError(f"{name}: exists and is not a regular file of ours, not overwritten")
    os.set_blocking(fd, True)
    os.ftruncate(fd, 0)
    os.fchmod(fd, 0o600)
    return fd


class PcapWriter:
    """Writes packets as pcap (microseconds), mode 0600, rotating like tcpdump.

    ``rotate_mb`` (tcpdump ``-C``) starts a new file when the current one would exceed
    that many millions of bytes; without ``max_files`` files are named ``path``,
    ``path1``, ``path2``...; with ``max_files`` (``-W``) they are ``path0``..``pathN-1``
    and reused in a ring.
    """

    def __init__(
        self,
        path: str,
        linktype: int,
        snaplen: int = MAX_SNAPLEN,
        rotate_mb: float | None = None,
        max_files: int | None = None,
    ) -> None:
        self.path = path
        self.linktype = linktype
        self.snaplen = snaplen
        self.limit = int(rotate_mb * 1_000_000) if rotate_mb else None
        self.max_files = max_files
        self.index = 0
        self.files_written: list[str] = []
        self._size = 0
        #: Bytes written to all the files so far, headers included.
        self.bytes_written = 0
        self._handle: BinaryIO | None = None
        self._open()

    def _name(self) -> str:
        if self.max_files:
            width = len(str(self.max_files - 1))
            return f"{self.path}{self.index % self.max_files:0{width}d}"
        if self.limit is None or self.index == 0:
            return self.path
        return f"{self.path}{self.index}"

    def _open(self) -> None:
        name = self._name()
        try:
            fd = _open_new_or_own(name)
        except OSError as exc:
            raise PcapError(f"{name}: {exc.strerror or exc}") from None
        self._handle = os.fdopen(fd, "wb")
        header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, self.snaplen, self.linktype)
        self._handle.write(header)
        self._size = len(header)
        self.bytes_written += len(header)
        if name not in self.files_written:
            self.files_written.append(name)

    def write(self, ts: float, data: bytes, wirelen: int | None = None) -> None:
        """Append one packet (cut to the snap length), rotating first when due."""
        assert self._handle is not None, "writer is closed"
        data = data[: self.snaplen]
        size = 16 + len(data)
        if self.limit is not None and self._size + size > self.limit and self._size > 24:
            self._handle.close()
            self.index += 1
            self._open()
        sec = int(ts)
        usec = min(int(round((ts - sec) * 1e6)), 999_999)
        self._handle.write(struct.pack("<IIII", sec, usec, len(data), wirelen or len(data)))
        self._handle.write(data)
        self._size += size
        self.bytes_written += size

    def flush(self) -> None:
        """Push buffered packets to the file."""
        if self._handle is not None:
            self._handle.flush()

    def close(self) -> None:
        """Finish the current file. Idempotent."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
