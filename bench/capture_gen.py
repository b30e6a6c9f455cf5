"""Write a synthetic capture for the capture benchmark: N frames over F flows.

Frame templates (one per flow and TCP-flag variant) are built with scapy; the records
are then written with ``struct`` (scapy would take minutes for a million packets).
Addresses are private (10.80.0.0/16 and fd80::/64); the destination MAC matches no
interface, so a receiving kernel drops the frames right after the packet taps.

    python bench/capture_gen.py OUT.pcap [--packets 1000000] [--flows 10000] [--seed 7]
                                         [--conversations]

By default each TCP flow cycles through one direction's SYN, ACK, data and FIN with the
same sequence number: every segment after the first looks resent, the worst case for the
per-flow KPI state machine. ``--conversations`` writes what real traffic looks like
instead: a handshake both ways, then data segments with advancing sequence numbers and
an ACK back every second segment; UDP flows answer every request.
"""

from __future__ import annotations

import argparse
import random
import struct

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw


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


#: TCP header offset in a template frame: Ethernet + IPv4 (no options) or IPv6.
_TCP_AT = {4: 14 + 20, 6: 14 + 40}


def conversations(flows: int, rnd: random.Random) -> list[tuple[int, list[bytes]]]:
    """Per flow (TCP header offset or 0 for UDP, its frames): TCP — SYN, SYN/ACK,
    ACK, client data, server ACK; UDP — request, answer. Sequence numbers are patched in
    per packet by :class:`Conversation`."""
    eth = Ether(src="02:80:00:00:00:01", dst="02:80:00:00:00:fe")
    back = Ether(src="02:80:00:00:00:fe", dst="02:80:00:00:00:01")
    out: list[tuple[int, list[bytes]]] = []
    for i in range(flows):
        hi, lo = divmod(i, 250)
        if rnd.random() < 0.3:
            a, b = f"fd80::a:{hi:x}:{lo + 1:x}", f"fd80::b:{lo + 1:x}:{hi:x}"
            fwd, rev, version = IPv6(src=a, dst=b), IPv6(src=b, dst=a), 6
        else:
            a, b = f"10.80.{hi}.{lo + 1}", f"10.81.{lo + 1}.{hi}"
            fwd, rev, version = IP(src=a, dst=b), IP(src=b, dst=a), 4
        sport = rnd.randint(1024, 65535)
        dport = rnd.choice([53, 80, 443, 8443, rnd.randint(1, 65535)])
        size = rnd.choice([40, 80, 120, 536, 1200])
        if rnd.random() < 0.6:
            c = (eth / fwd, sport, dport)
            r = (back / rev, dport, sport)
            out.append((_TCP_AT[version], [_tcp(*c, "S"), _tcp(*r, "SA"), _tcp(*c, "A"),
                                           _tcp(*c, "PA", size), _tcp(*r, "A")]))
        else:
            out.append((0, [bytes(eth / fwd / UDP(sport=sport, dport=dport) / Raw(b"u" * size)),
                            bytes(back / rev / UDP(sport=dport, dport=sport)
                                  / Raw(b"v" * size))]))
    return out


def _tcp(head: Packet, sport: int, dport: int, flags: str, payload: int = 0) -> bytes:
    return bytes(head / TCP(sport=sport, dport=dport, flags=flags) / Raw(b"t" * payload))


class Conversation:
    """One flow's next frame: handshake first, then two data segments for each ACK."""

    def __init__(self, tcp_at: int, frames: list[bytes], rnd: random.Random) -> None:
        self.tcp_at, self.frames, self.step = tcp_at, frames, 0
        self.client = rnd.randrange(1 << 32)
        self.server = rnd.randrange(1 << 32)
        self.payload = len(frames[3]) - len(frames[2]) if tcp_at else 0

    def next(self) -> bytes:
        """The flow's next frame, its sequence and acknowledgement numbers set."""
        step, self.step = self.step, self.step + 1
        if not self.tcp_at:
            return self.frames[step % 2]
        c, s = self.client, self.server
        if step == 0:
            frame, seq, ack = self.frames[0], c, 0
        elif step == 1:
            frame, seq, ack = self.frames[1], s, c + 1
        elif step == 2:
            frame, seq, ack = self.frames[2], c + 1, s + 1
        else:
            sent = (step - 3) - (step - 3) // 3  # data segments before this one
            if (step - 3) % 3 == 2:
                frame, seq, ack = self.frames[4], s + 1, c + 1 + (sent * self.payload)
            else:
                frame, seq, ack = self.frames[3], c + 1 + sent * self.payload, s + 1
        out = bytearray(frame)
        struct.pack_into(">II", out, self.tcp_at + 4, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF)
        return bytes(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--flows", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--conversations", action="store_true",
                    help="TCP and UDP flows as real conversations (both ways, advancing "
                         "sequence numbers) instead of one direction's resent segments")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    talks = ([Conversation(at, frames, rnd) for at, frames in conversations(a.flows, rnd)]
             if a.conversations else None)
    flows = templates(a.flows, rnd) if talks is None else []
    hot = max(1, a.flows // 5)
    ts_us = 1_750_000_000 * 1_000_000
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        pack = struct.pack
        for n in range(a.packets):
            # 80 % of the packets go to 20 % of the flows.
            idx = rnd.randrange(hot) if rnd.random() < 0.8 else rnd.randrange(a.flows)
            if talks is not None:
                frame = talks[idx].next()
            else:
                variants = flows[idx]
                frame = variants[n % len(variants)]
            ts_us += 2
            f.write(pack("<IIII", ts_us // 1_000_000, ts_us % 1_000_000, len(frame), len(frame)))
            f.write(frame)
    print(f"wrote {a.out}: {a.packets} packets over {a.flows} flows")


if __name__ == "__main__":
    main()
