"""Write a synthetic capture for the capture benchmark: N frames over F flows.

Frame templates (one per flow and TCP-flag variant) are built with scapy; the records
are then written with ``struct`` (scapy would take minutes for a million packets).
Addresses are private (10.80.0.0/16 and fd80::/64); the destination MAC matches no
interface, so a receiving kernel drops the frames right after the packet taps.

    python bench/capture_gen.py OUT.pcap [--packets 1000000] [--flows 10000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import struct

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw


def templates(flows: int, rnd: random.Random) -> list[list[bytes]]:
    """Per flow, the frames it cycles through (TCP: a handshake-ish mix of flags)."""
    eth = Ether(src="02:80:00:00:00:01", dst="02:80:00:00:00:fe")
    out = []
    for i in range(flows):
        hi, lo = divmod(i, 250)
        if rnd.random() < 0.3:
            l3 = IPv6(src=f"fd80::a:{hi:x}:{lo + 1:x}", dst=f"fd80::b:{lo + 1:x}:{hi:x}")
        else:
            l3 = IP(src=f"10.80.{hi}.{lo + 1}", dst=f"10.81.{lo + 1}.{hi}")
        sport = rnd.randint(1024, 65535)
        dport = rnd.choice([53, 80, 443, 8443, rnd.randint(1, 65535)])
        size = rnd.choice([0, 0, 20, 40, 80, 120])
        if rnd.random() < 0.6:
            frames = [
                eth
                / l3
                / TCP(sport=sport, dport=dport, flags=f)
                / Raw(b"t" * (size if "P" in f else 0))
                for f in ("S", "A", "PA", "PA", "A", "FA")
            ]
        else:
            frames = [eth / l3 / UDP(sport=sport, dport=dport) / Raw(b"u" * max(size, 8))]
        out.append([bytes(f) for f in frames])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--flows", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    flows = templates(a.flows, rnd)
    hot = max(1, a.flows // 5)
    ts_us = 1_750_000_000 * 1_000_000
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        pack = struct.pack
        for n in range(a.packets):
            # 80 % of the packets go to 20 % of the flows.
            idx = rnd.randrange(hot) if rnd.random() < 0.8 else rnd.randrange(a.flows)
            variants = flows[idx]
            frame = variants[n % len(variants)]
            ts_us += 2
            f.write(pack("<IIII", ts_us // 1_000_000, ts_us % 1_000_000, len(frame), len(frame)))
            f.write(frame)
    print(f"wrote {a.out}: {a.packets} packets over {a.flows} flows")


if __name__ == "__main__":
    main()
