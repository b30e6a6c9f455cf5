"""Flow export benchmark: IPFIX / NetFlow v9 encoding rate, and what exporting adds to
reading a capture, against softflowd exporting the same capture in the same run.

    python bench/export.py [--reps 5] [--records 200000] [--packets 1000000] [--flows 10000]

1. Encoding: ``FlowEncoder.encode`` over realistic records (address pools that repeat,
   as flows between hosts do), records per CPU second, median of ``--reps``; the C packer and the
   pure-Python fallback (``NETOP_PURE_PYTHON=1`` in a child).
2. Added CPU per packet: ``netop flows -r PCAP`` with and without ``--export-ipfix``
   (to a UDP socket this script drains), the child's CPU time (user+sys) per packet;
   ``softflowd -r PCAP -v 10`` (the real exporter reading the same file) beside it.
   The pcap is made by ``bench/capture_gen.py`` (``--packets`` over ``--flows``).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netop.model import FlowRecord  # noqa: E402
from netop.outputs.ipfix_encode import FlowEncoder  # noqa: E402

PY = sys.executable


def records(n: int, seed: int = 7) -> list[FlowRecord]:
    """Flows between 2,000 clients and 200 servers (v4 and v6), TCP/UDP/ICMP."""
    rnd = random.Random(seed)
    clients = [f"10.{i // 250}.{i % 250}.{rnd.randrange(1, 250)}" for i in range(1800)]
    clients += [f"2001:db8::{i:x}" for i in range(200)]
    servers = [f"192.0.2.{i}" for i in range(1, 180)] + [f"2001:db8:ffff::{i:x}" for i in range(20)]
    out = []
    for _ in range(n):
        src = rnd.choice(clients)
        dst = rnd.choice([s for s in rnd.sample(servers, 4) if (":" in s) == (":" in src)]
                         or [servers[-1] if ":" in src else servers[0]])
        proto = rnd.choice((6, 6, 6, 17, 17, 1))
        packets = rnd.randrange(1, 2000)
        first = 1_700_000_000 + rnd.random() * 3600
        out.append(FlowRecord(proto, src, rnd.randrange(1024, 65535), dst,
                              rnd.choice((80, 443, 53, 8080)) if proto != 1 else 2048,
                              rnd.choice((None, None, 100)), packets, packets * 700,
                              packets // 2, packets * 300, first, first + rnd.random() * 60,
                              0x1B if proto == 6 else 0))  # fmt: skip
    return out


def encode_rate(recs: list[FlowRecord], version: int, biflow: bool,
                reps: int) -> tuple[float, float]:
    """Median records per CPU second and per wall second (on a busy box the CPU time
    is the cost; the wall time includes waiting for a CPU)."""
    cpu, wall = [], []
    for _ in range(reps):
        enc = FlowEncoder(version=version, biflow=biflow)
        start, start_wall = time.process_time(), time.perf_counter()
        enc.encode(recs)
        cpu.append(len(recs) / (time.process_time() - start))
        wall.append(len(recs) / (time.perf_counter() - start_wall))
    return statistics.median(cpu), statistics.median(wall)


def _drain(sock: socket.socket, stop: threading.Event, got: list[int]) -> None:
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            got[0] += len(sock.recv(65535)) and 1
        except OSError:
            continue


def cpu_of(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """CPU seconds (user+sys) of ``cmd`` and its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--flows", type=int, default=10_000)
    ap.add_argument("--python-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    recs = records(args.records)
    if args.python_only:
        print(" ".join(f"{r:.0f}" for r in encode_rate(recs, 10, True, args.reps)))
        return
    print(f"== encoding {len(recs):,} flow records: records per CPU second and per second "
          f"(median of {args.reps})")
    for label, version, biflow in (("IPFIX biflow (RFC 5103)", 10, True),
                                   ("IPFIX one record per direction", 10, False),
                                   ("NetFlow v9 (one record per direction)", 9, False)):
        cpu, wall = encode_rate(recs, version, biflow, args.reps)
        print(f"  {label:<40} {cpu:>12,.0f} /CPU-s {wall:>12,.0f} /s")
    pure = subprocess.run([PY, __file__, "--python-only", "--records", "50000", "--reps",
                           str(args.reps)], capture_output=True, text=True, check=True,
                          env={**os.environ, "NETOP_PURE_PYTHON": "1"}).stdout  # fmt: skip
    cpu, wall = (float(x) for x in pure.split())
    print(f"  {'IPFIX biflow, pure-Python fallback':<40} {cpu:>12,.0f} /CPU-s {wall:>12,.0f} /s")
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")

    with tempfile.TemporaryDirectory() as tmp:
        pcap = Path(tmp) / "bench.pcap"
        subprocess.run([PY, str(ROOT / "bench" / "capture_gen.py"), str(pcap), "--packets",
                        str(args.packets), "--flows", str(args.flows)], check=True,
                       capture_output=True)  # fmt: skip
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        sink.bind(("127.0.0.1", 0))
        port = sink.getsockname()[1]
        stop, got = threading.Event(), [0]
        drainer = threading.Thread(target=_drain, args=(sink, stop, got), daemon=True)
        drainer.start()
        base = [PY, "-m", "netop", "flows", "-r", str(pcap)]
        runs: dict[str, list[float]] = {"plain": [], "ipfix": [], "softflowd": []}
        softflowd = shutil.which("softflowd")
        for _ in range(args.reps):  # interleaved: the peers share the machine's state
            runs["plain"].append(cpu_of(base))
            runs["ipfix"].append(cpu_of([*base, "--export-ipfix", f"127.0.0.1:{port}"]))
            if softflowd:
                runs["softflowd"].append(cpu_of([softflowd, "-r", str(pcap), "-n",
                                                 f"127.0.0.1:{port}", "-v", "10", "-6", "-d",
                                                 "-c", "none"]))  # fmt: skip
        stop.set()
        drainer.join(2)
        print(f"\n== reading {args.packets:,} packets / {args.flows:,} flows "
              f"(CPU per packet, median of {args.reps})")
        med = {k: statistics.median(v) for k, v in runs.items() if v}
        for key, label in (("plain", "netop flows -r"), ("ipfix", "netop flows -r --export-ipfix"),
                           ("softflowd", "softflowd -r -v 10 (reads + exports)")):
            if key in med:
                print(f"  {label:<42} {med[key] / args.packets * 1e6:8.3f} µs/pkt "
                      f"({med[key]:.2f} s)")
        if not softflowd:
            print("  softflowd not installed: skipped")
        added = med["ipfix"] / med["plain"] - 1
        print(f"  export adds {added * 100:+.1f} % CPU per packet to netop's read "
              f"({(med['ipfix'] - med['plain']) / args.packets * 1e6:.3f} µs/pkt); "
              f"{got[0]:,} datagrams received in all")
        flows = args.flows  # what the export encodes: one record per flow (and split)
        own = flows / encode_rate(records(flows), 10, True, args.reps)[0]
        print(f"  the encoder's own CPU for {flows:,} flows: {own * 1e3:.1f} ms = "
              f"{own / med['plain'] * 100:.2f} % of the read (export costs per flow, not "
              "per packet)")
        if "softflowd" in med:
            print(f"  netop with export / softflowd: {med['ipfix'] / med['softflowd']:.2f}x CPU")


if __name__ == "__main__":
    main()
