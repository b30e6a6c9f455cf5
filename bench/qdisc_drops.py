"""Cost of reading every local interface's root qdisc drops per tick.

Runs the peers in one run, alternating: ``InterfaceCounters.sample()`` as it is (with
one rtnetlink qdisc dump), the same without the dump, and ``tc -s -j qdisc show`` (the
process the interface detail runs). Prints medians and the ratio.

    .venv/bin/python bench/qdisc_drops.py [--rounds 2000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from collections.abc import Callable

from netop.sources import counters
from netop.sources.counters import InterfaceCounters
from netop.sources.qdiscs import root_qdisc_drops


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--tc-rounds", type=int, default=50)
    args = parser.parse_args()
    source = InterfaceCounters()
    real = counters.root_qdisc_drops
    with_dump, without, dump_only = [], [], []
    for _ in range(args.rounds):
        counters.root_qdisc_drops = real
        with_dump.append(_time(source.sample))
        counters.root_qdisc_drops = lambda: None
        without.append(_time(source.sample))
        dump_only.append(_time(root_qdisc_drops))
    counters.root_qdisc_drops = real
    tc = [_time(lambda: subprocess.run(["tc", "-s", "-j", "qdisc", "show"],
                                       capture_output=True, check=False))
          for _ in range(args.tc_rounds)]
    interfaces = len(source.sample())
    w, wo, d, t = (statistics.median(x) * 1e6 for x in (with_dump, without, dump_only, tc))
    print(f"{interfaces} interfaces, {args.rounds} rounds (tc: {args.tc_rounds})")
    print(f"counters.sample() with the qdisc dump:    median {w:8.1f} µs")
    print(f"counters.sample() without it:             median {wo:8.1f} µs")
    print(f"root_qdisc_drops() alone:                 median {d:8.1f} µs")
    print(f"tc -s -j qdisc show (a process):          median {t:8.1f} µs")
    print(f"ratio with/without: {w / wo:.2f}")


if __name__ == "__main__":
    main()
