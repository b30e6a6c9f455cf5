"""A flow's held packets saved as a pcap file (the detail screen's ``w``).

The file is new (``O_EXCL``, never through a symlink), mode 0600, in the current
directory, named after the flow and the time; packets of another link type than the
first one's are left out (a classic pcap has one) and counted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

from netop.model import FlowKey, PacketSample, proto_name
from netop.packet.pcapfile import PcapWriter

#: Packets a detail screen keeps for ``w`` (newest win): a few MiB at most.
MAX_SAVED = 10_000


def save_name(flow: FlowKey, now: float | None = None) -> str:
    """``netop-tcp-10.0.0.1.443-10.0.0.2.5000-20260101-120000.pcap`` (no ':' or '/')."""
    proto, src, sport, dst, dport, _vlan = flow
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    text = f"netop-{proto_name(proto)}-{src}.{sport}-{dst}.{dport}-{stamp}.pcap"
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def save_packets(path: str, packets: Iterable[PacketSample]) -> tuple[int, int]:
    """Write ``packets`` (oldest first) to a new pcap at ``path``: (written, left out).

    Raises :class:`~netop.packet.pcapfile.PcapError` when the file cannot be made.
    """
    items = sorted(packets, key=lambda p: p.ts)
    if not items:
        return 0, 0
    linktype = items[0].linktype
    writer = PcapWriter(path, linktype)
    written = skipped = 0
    try:
        for sample in items:
            if sample.linktype != linktype:
                skipped += 1
                continue
            writer.write(sample.ts, sample.data, sample.wirelen)
            written += 1
    finally:
        writer.close()
    return written, skipped
