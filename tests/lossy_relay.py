"""A lossy Ethernet relay between two interfaces, for the KPI tests (no netem here).

Run inside a namespace that holds both interfaces::

    python -m tests.lossy_relay IF1 IF2 --drop 0.03 --seed 1 --seconds 60

Every frame that arrives on one side is sent out of the other, except that an IPv4 TCP
frame is dropped with probability ``--drop`` (seeded: the same run drops the same
frames). Real TCP stacks on both ends then see real loss and retransmit. Prints
``relay ready`` once both sockets are bound, ``dropped N`` at the end; stops after
``--seconds`` or when its stdin closes.
"""

from __future__ import annotations

import argparse
import random
import select
import socket
import sys
import time

ETH_P_ALL = 3


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("left")
    ap.add_argument("right")
    ap.add_argument("--drop", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=60.0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    socks = []
    for name in (a.left, a.right):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        socks.append(s)
    left, right = socks
    print("relay ready", flush=True)
    dropped = 0
    deadline = time.monotonic() + a.seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([left, right, sys.stdin], [], [], 0.2)
        if sys.stdin in ready and not sys.stdin.readline():
            break
        for s in ready:
            if s is sys.stdin:
                continue
            data, addr = s.recvfrom(65535)
            if addr[2] == socket.PACKET_OUTGOING:
                continue  # our own copy going out
            if (a.drop and data[12:14] == b"\x08\x00" and len(data) > 23 and data[23] == 6
                    and rng.random() < a.drop):  # fmt: skip
                dropped += 1
                continue
            (right if s is left else left).send(data)
    print(f"dropped {dropped}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
