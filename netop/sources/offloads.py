"""An interface's segmentation offloads (TSO, GSO, GRO), read from the kernel.

With them on, a capture sees packets the kernel merged (GRO) or has not yet cut (TSO,
GSO): fewer, larger packets than the wire carried, which is why captured packet counts
can disagree with the interface counters. Read with the ethtool ioctl (``SIOCETHTOOL``,
the legacy per-feature commands), so no ``ethtool`` program is needed.
"""

from __future__ import annotations

import ctypes
import fcntl
import socket
import struct

SIOCETHTOOL = 0x8946
#: feature -> (get command, set command) of ``linux/ethtool.h``.
COMMANDS = {"tso": (0x1E, 0x1F), "gso": (0x23, 0x24), "gro": (0x2B, 0x2C)}


def _ioctl(ifname: str, cmd: int, value: int = 0) -> int:
    data = ctypes.create_string_buffer(struct.pack("II", cmd, value))
    ifreq = struct.pack("16sP16x", ifname.encode()[:15], ctypes.addressof(data))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)
    return int(struct.unpack_from("II", data.raw)[1])


def read_offloads(ifname: str) -> dict[str, bool | None]:
    """``{"tso": .., "gso": .., "gro": ..}``; ``None`` where the kernel would not say."""
    out: dict[str, bool | None] = {}
    for name, (get, _) in COMMANDS.items():
        try:
            out[name] = bool(_ioctl(ifname, get))
        except OSError:
            out[name] = None
    return out


#: Set command of transmit checksumming (``ETHTOOL_STXCSUM``).
_SET_TX_CSUM = 0x17


def set_offloads(ifname: str, on: bool, tx_checksum: bool | None = None) -> None:
    """Turn TSO, GSO and GRO on or off, and transmit checksumming when ``tx_checksum``
    is given (a frame relayed by a packet socket must carry its checksum). Needs
    CAP_NET_ADMIN (tests use it in namespaces they made); ``OSError`` when refused."""
    for _, put in COMMANDS.values():
        _ioctl(ifname, put, 1 if on else 0)
    if tx_checksum is not None:
        _ioctl(ifname, _SET_TX_CSUM, 1 if tx_checksum else 0)
