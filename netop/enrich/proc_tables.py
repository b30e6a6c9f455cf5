"""The kernel's socket tables and socket owners, read straight from ``/proc``.

``/proc/<pid>/net/{tcp,tcp6,udp,udp6}`` list every socket of the network namespace
``<pid>`` lives in, with its inode and owner uid; ``/proc/<pid>/fd/*`` link to
``socket:[<inode>]``. Reading these directly is several times faster than
``psutil.net_connections`` (``bench/filter_procs.py`` measures both), because psutil
builds a full record per connection and walks every process's fds on every call,
while here the tables and the fd walk run on their own cadences. Every function
here tolerates processes and sockets vanishing mid-read.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

#: (proto, local ip, local port, remote ip, remote port)
SocketKey = tuple[int, str, int, str, int]
TABLES: tuple[tuple[str, int, bool], ...] = (
    ("tcp", 6, False),
    ("tcp6", 6, True),
    ("udp", 17, False),
    ("udp6", 17, True),
)
_V4_MAPPED = "::ffff:"
_NATIVE_WORDS = struct.Struct("=4I")
_NATIVE_WORD = struct.Struct("=I")


@dataclass(frozen=True, slots=True)
class SocketEntry:
    """One row of a socket table; ``inode`` 0 means no process holds it (TIME_WAIT)."""

    inode: int
    uid: int
    netns: int


@lru_cache(maxsize=1 << 16)
def hex_address(text: str) -> str:
    """``/proc/net`` address text (host-order 32-bit words in hex) as an IP string.

    IPv4-mapped IPv6 addresses come out as plain IPv4, as captured flows show them.
    """
    if len(text) == 8:
        return socket.inet_ntop(socket.AF_INET, _NATIVE_WORD.pack(int(text, 16)))
    words = [int(text[i : i + 8], 16) for i in range(0, 32, 8)]
    address = socket.inet_ntop(socket.AF_INET6, _NATIVE_WORDS.pack(*words))
    if address.startswith(_V4_MAPPED) and "." in address:
        return address[len(_V4_MAPPED) :]
    return address


def parse_table(text: str, proto: int) -> Iterator[tuple[SocketKey, int, int]]:
    """``(key, inode, uid)`` for each row of one ``/proc/net/{tcp,udp}[6]`` file."""
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        try:
            local, remote = fields[1].split(":"), fields[2].split(":")
            key = (
                proto,
                hex_address(local[0]),
                int(local[1], 16),
                hex_address(remote[0]),
                int(remote[1], 16),
            )
            yield key, int(fields[9]), int(fields[7])
        except (ValueError, IndexError, OSError, struct.error):
            continue


def read_tables(proc_dir: str, netns: int) -> dict[SocketKey, SocketEntry]:
    """All TCP/UDP sockets of the namespace seen through ``proc_dir`` (``/proc/<pid>``)."""
    sockets: dict[SocketKey, SocketEntry] = {}
    for name, proto, _ in TABLES:
        try:
            with open(f"{proc_dir}/net/{name}", encoding="ascii", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        for key, inode, uid in parse_table(text, proto):
            # A listener and an established socket never share a 5-tuple, but a TIME_WAIT
            # row (inode 0) can sit next to a live one: keep the live one.
            if inode or key not in sockets:
                sockets[key] = SocketEntry(inode, uid, netns)
    return sockets


def pids() -> list[int]:
    """Process ids visible in ``/proc``."""
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def netns_of(pid: int | str) -> int:
    """The network namespace inode of ``pid`` (``"self"`` allowed), 0 when unreadable."""
    try:
        link = os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return 0
    try:
        return int(link[link.index("[") + 1 : -1])
    except ValueError:
        return 0


def namespaces(own: int) -> dict[int, int]:
    """One process per network namespace other than ``own``: ``{netns: pid}``.

    Reading another process's ``ns/net`` link needs the right to ptrace it (root, or
    the same user), so an unprivileged run only sees its own users' namespaces.
    """
    found: dict[int, int] = {}
    for pid in pids():
        netns = netns_of(pid)
        if netns and netns != own and netns not in found:
            found[netns] = pid
    return found


def socket_owners(max_fds: int = 500_000) -> tuple[dict[int, int], bool]:
    """``{socket inode: pid}`` from every readable ``/proc/<pid>/fd``.

    Returns the map and whether some process's fds were unreadable (another user's,
    without root). Stops after ``max_fds`` descriptors to bound the work.
    """
    owners: dict[int, int] = {}
    denied = False
    seen = 0
    for pid in pids():
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except PermissionError:
            denied = True
            continue
        except OSError:
            continue
        for fd in fds:
            seen += 1
            if seen > max_fds:
                return owners, denied
            try:
                link = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                try:
                    owners.setdefault(int(link[8:-1]), pid)
                except ValueError:
                    continue
    return owners, denied


def process_name(pid: int) -> str | None:
    """The kernel's short name of ``pid`` (``/proc/<pid>/comm``), ``None`` when gone."""
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as handle:
            return handle.read().rstrip("\n")
    except OSError:
        return None


def process_uid(pid: int) -> int | None:
    """The real uid of ``pid``, ``None`` when gone."""
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None
