"""Cost of the per-flow packet rings in the capture's C table, in one process.

Feeds the same pcap (``bench/capture.py`` makes one: 1M packets, 10,000 flows) through
``_fastflow.Table(keep_packets=True)`` with the per-flow rings off (``flow_packets=0``:
the global ring only, as before they existed) and on (16 packets x 2048 flows), runs
interleaved rep by rep, CPU time per packet and the resident memory the table added;
medians::

    python bench/flowring.py [--pcap /tmp/netop-bench/pkts.pcap] [--reps 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from netop.native import fastpath

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pcap", default=str(Path(tempfile.gettempdir(), "netop-bench", "pkts.pcap")))
    ap.add_argument("--reps", type=int, default=7)
    a = ap.parse_args()
    module = fastpath.load()
    if module is None:
        sys.exit("the C fast path is not available")
    data = Path(a.pcap).read_bytes()
    linktype = int.from_bytes(data[20:24], "little")
    body = data[24:]
    peers = {"global ring only (flow_packets=0)": 0, "per-flow rings (flow_packets=16)": 16}
    cpu: dict[str, list[float]] = {name: [] for name in peers}
    rss: dict[str, list[float]] = {name: [] for name in peers}
    proc = psutil.Process()
    packets = 0
    for _ in range(a.reps):
        for name, k in peers.items():
            before = proc.memory_info().rss
            table = module.Table(2_000_000, True, kpis=True, flow_packets=k, flow_rings=2048)
            t = time.process_time()
            _consumed, _slow, packets, _ts, _bad = table.feed_pcap(body, True, False, linktype)
            cpu[name].append((time.process_time() - t) / packets * 1e6)
            rss[name].append((proc.memory_info().rss - before) / 2**20)
            del table
    base = statistics.median(cpu["global ring only (flow_packets=0)"])
    for name in peers:
        med = statistics.median(cpu[name])
        print(f"{name:40} {med:.3f} µs/pkt  x{med / base:.2f}  "
              f"table +{statistics.median(rss[name]):.1f} MiB RSS  ({packets} packets)")


if __name__ == "__main__":
    main()
