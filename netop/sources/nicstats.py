"""One interface's deeper counters for the interface detail screen: the kernel's full
``/sys/class/net/IF/statistics``, the NIC driver's own statistics (what ``ethtool -S``
prints, read with the same ``SIOCETHTOOL`` ioctl, so ethtool need not be installed) and
each qdisc's drops and backlog (``tc -s -j qdisc show dev IF``), where most drops on a
busy sender really happen.

Read on the engine's thread when the detail screen asks for it, once per tick; never
on the UI thread.
"""

from __future__ import annotations

import array
import fcntl
import json
import os
import socket
import struct
import subprocess
from dataclasses import dataclass

from netop.model import NicDetail

_SIOCETHTOOL = 0x8946
_ETHTOOL_GSSET_INFO = 0x37
_ETHTOOL_GSTRINGS = 0x1B
_ETHTOOL_GSTATS = 0x1D
_ETH_SS_STATS = 1
_ETH_GSTRING_LEN = 32
#: No driver has more; a bound for the buffers (a confused driver could claim any count).
_MAX_STATS = 4096
#: Seconds ``tc`` may take before the qdisc section says it did not answer.
TC_TIMEOUT = 2.0


def sysfs_stats(name: str, root: str = "/sys/class/net") -> dict[str, int]:
    """Every counter of ``/sys/class/net/NAME/statistics`` (empty when there is none)."""
    base = os.path.join(root, name, "statistics")
    stats: dict[str, int] = {}
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return stats
    for entry in entries:
        try:
            with open(os.path.join(base, entry)) as handle:
                stats[entry] = int(handle.read().strip())
        except (OSError, ValueError):
            continue
    return stats


def _ethtool(sock: socket.socket, name: str, buffer: array.array[int]) -> None:
    address, _ = buffer.buffer_info()
    request = struct.pack("16sP", name.encode()[:15], address)
    fcntl.ioctl(sock.fileno(), _SIOCETHTOOL, request)


def ethtool_stats(name: str) -> tuple[dict[str, int], str]:
    """The driver's statistics (``ethtool -S``) and, when there are none, why."""
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except OSError as exc:
        return {}, f"no socket: {exc.strerror}"
    with sock:
        try:
            info = array.array("B", struct.pack("IIQI", _ETHTOOL_GSSET_INFO, 0,
                                                1 << _ETH_SS_STATS, 0))
            _ethtool(sock, name, info)
            _, _, mask, count = struct.unpack("IIQI", info.tobytes())
            if not mask & (1 << _ETH_SS_STATS) or count == 0:
                return {}, "the driver keeps no statistics of its own"
            count = min(count, _MAX_STATS)
            strings = array.array("B", struct.pack("III", _ETHTOOL_GSTRINGS, _ETH_SS_STATS,
                                                   count) + bytes(count * _ETH_GSTRING_LEN))
            _ethtool(sock, name, strings)
            values = array.array("B", struct.pack("II", _ETHTOOL_GSTATS, count)
                                 + bytes(count * 8))
            _ethtool(sock, name, values)
        except OSError as exc:
            return {}, f"the driver keeps no statistics of its own ({exc.strerror})"
    raw = strings.tobytes()[12:]
    numbers = struct.unpack(f"{count}Q", values.tobytes()[8:8 + count * 8])
    stats = {}
    for i, number in enumerate(numbers):
        label = raw[i * _ETH_GSTRING_LEN:(i + 1) * _ETH_GSTRING_LEN].split(b"\0", 1)[0]
        stats[label.decode("ascii", "replace").strip()] = number
    return stats, ""


#: Qdisc fields shown, in this order.
QDISC_FIELDS = ("bytes", "packets", "drops", "overlimits", "requeues", "backlog", "qlen")


def qdisc_stats(name: str) -> tuple[tuple[dict[str, object], ...], str]:
    """Each qdisc of ``name`` (kind, handle, parent and :data:`QDISC_FIELDS`) from
    ``tc -s -j``, and why there are none when there are none."""
    try:
        done = subprocess.run(["tc", "-s", "-j", "qdisc", "show", "dev", name],
                              capture_output=True, timeout=TC_TIMEOUT, check=False)
    except FileNotFoundError:
        return (), "tc is not installed (Debian: iproute2)"
    except subprocess.TimeoutExpired:
        return (), f"tc did not answer in {TC_TIMEOUT:g} s"
    if done.returncode != 0:
        return (), (done.stderr.decode(errors="replace").strip().splitlines() or ["tc failed"])[0]
    try:
        parsed = json.loads(done.stdout or b"[]")
    except ValueError:
        return (), "tc printed no JSON"
    qdiscs = []
    for item in parsed if isinstance(parsed, list) else ():
        if not isinstance(item, dict):
            continue
        row: dict[str, object] = {"kind": str(item.get("kind", "?")),
                                  "handle": str(item.get("handle", "")),
                                  "parent": "root" if item.get("root") else
                                  str(item.get("parent", ""))}
        for key in QDISC_FIELDS:
            value = item.get(key)
            row[key] = value if isinstance(value, int) else None
        qdiscs.append(row)
    return tuple(qdiscs), ""


@dataclass
class NicReader:
    """Reads one interface's :class:`NicDetail` per call (the engine's tick)."""

    name: str
    root: str = "/sys/class/net"

    def read(self, ts: float) -> NicDetail:
        """Everything :mod:`netop.sources.nicstats` can tell about the interface now."""
        nic, nic_note = ethtool_stats(self.name)
        qdiscs, qdisc_note = qdisc_stats(self.name)
        return NicDetail(name=self.name, ts=ts, kernel=sysfs_stats(self.name, self.root),
                         nic=nic, nic_note=nic_note, qdiscs=qdiscs, qdisc_note=qdisc_note)
