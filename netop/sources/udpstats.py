"""What the kernel says about our UDP sockets: datagrams it dropped before we read them."""

from __future__ import annotations

from collections.abc import Iterable


def kernel_drops(inodes: Iterable[int | str]) -> int:
    """Datagrams the kernel dropped for these sockets (``drops`` column of /proc/net/udp)."""
    wanted = {str(i) for i in inodes}
    total = 0
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(path, encoding="ascii") as handle:
                lines = handle.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) >= 13 and cols[9] in wanted:
                total += int(cols[12])
    return total
