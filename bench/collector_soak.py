"""Collector under attack: CPU per hostile datagram, and a long soak of a mixed flood.

    .venv/bin/python bench/collector_soak.py [--minutes 60] [--rate 600000] [--cpu-only]

1. CPU per hostile datagram: for each kind of crafted datagram (64 KB of distinct
   templates, 64 KB of empty data sets, 64 KB of 1-byte sets for unknown templates, a
   16,000-field template, a template in a random observation domain, 200 sFlow counter
   samples) a real ``netop collect`` is flooded from spoofed 127.x.y.z sources for a few
   seconds at ``--rate`` bytes/s; reported: the process's CPU ms per datagram (its idle
   cost subtracted) and its RSS growth.
2. Soak: ``--minutes`` of the mixed flood at the default limits, softflowd exporting a
   known pcap at 70 % of the run; reported: RSS at the end of the warm-up (40 %) and
   its maximum after, growth, datagrams sent vs accounted for, every limit counter, and
   whether every real flow came through.
Traffic stays on loopback.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netop.model import proto_name  # noqa: E402
from tests.integration.collector.hostile import KINDS  # noqa: E402
from tests.integration.collector.soak import run_soak  # noqa: E402
from tests.integration.collector.traffic import build  # noqa: E402


def cpu_per_kind(rate: float, seconds: float, workdir: Path) -> None:
    """Print CPU ms per datagram and RSS growth for each hostile kind."""
    import tests.integration.collector.soak as soak

    idle = run_soak(seconds, rate=1.0, workdir=workdir)  # ~nothing sent: the idle cost
    idle_cpu = idle.cpu
    print(f"{'kind':16} {'datagrams':>9} {'bytes':>10} {'CPU ms/datagram':>16} {'RSS +MiB':>9}")
    for kind in KINDS:
        saved = soak.MIX
        soak.MIX = [kind]
        try:
            result = run_soak(seconds, rate=rate, workdir=workdir)
        finally:
            soak.MIX = saved
        ms = (result.cpu - idle_cpu) * 1000 / max(1, result.sent)
        grew = result.rss[-1][1] - result.rss[0][1]
        print(f"{kind:16} {result.sent:9d} {result.sent_bytes:10d} {ms:16.2f} {grew:9.1f}",
              flush=True)  # fmt: skip


def soak(minutes: float, rate: float, workdir: Path) -> int:
    """Run the long soak and print its figures; 1 when RSS grew 10 % or flows were lost."""
    pcap = workdir / "source.pcap"
    truth = build(pcap)
    print(f"soak: {minutes} min of the mixed flood at {rate / 1e3:.0f} kB/s", flush=True)
    started = time.monotonic()
    result = run_soak(minutes * 60, rate=rate, workdir=workdir, pcap=pcap, log=True)
    counts = result.counts()
    want = {(proto_name(k[0]), *k[1:]): t.packets for k, t in truth.items()}
    print(f"wall {time.monotonic() - started:.0f} s, CPU {result.cpu:.1f} s "
          f"({100 * result.cpu / (minutes * 60):.1f} % of a core)")
    print(f"sent {result.sent} datagrams, {result.sent_bytes / 1e6:.1f} MB; collector "
          f"received {counts['received']}, kernel drops {counts['kernel_drops']}, "
          f"real exporter {counts.get('real_datagrams', 0)}")
    base = result.rss_at(result.warmup)
    print(f"RSS: start {result.rss[0][1]:.1f} MiB, end of warm-up {base:.1f} MiB, "
          f"max after {max(result.after_warmup):.1f} MiB, end {result.rss[-1][1]:.1f} MiB "
          f"-> growth {result.growth:+.1%}")
    limits = {k: v for k, v in counts.items()
              if k not in ("received", "kernel_drops", "refused", "real_datagrams")}  # fmt: skip
    print("dropped by limits: " + ", ".join(f"{k} {v}" for k, v in sorted(limits.items())))
    flows_ok = result.real_flows == want
    print(f"real flows: {len(result.real_flows)} of {len(want)} "
          f"({'all exact' if flows_ok else 'MISSING OR WRONG'})")
    return 0 if result.growth < 0.10 and flows_ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=600_000, help="flood bytes/s")
    parser.add_argument("--cpu-seconds", type=float, default=6.0,
                        help="flood length per kind for the CPU table")  # fmt: skip
    parser.add_argument("--cpu-only", action="store_true")
    parser.add_argument("--soak-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="netop-soak-") as tmp:
        if not args.soak_only:
            cpu_per_kind(args.rate, args.cpu_seconds, Path(tmp))
        if args.cpu_only:
            return 0
        return soak(args.minutes, args.rate, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
