"""Benchmark of issue 13: what detection costs the engine tick, and watchlist lookups.

    .venv/bin/python bench/detect.py [--flows 100000] [--ticks 7] [--active 0.1,1]
    .venv/bin/python bench/flows.py --detect ...      (the same, from the flows bench)

Part 1, tick: two engines over the same synthetic flows as ``bench/flows.py`` part 1
(its ``SyntheticSource``: N live flows, 10 % or all of them sending a delta per tick,
sort by rate), one with detection on (the defaults: floods, scans, large transfers and a
1,000-prefix watchlist) and one with ``[detect] enabled = false``; their ticks
alternate in the same process and run. Reported: median tick CPU of each, detection's
own CPU (``Detector.observe_flows`` timed inside the tick) and its share of the tick.

Part 2, watchlist: ``address in PrefixSet`` for 10 and for 1,000,000 random IPv4
prefixes, 200,000 lookups of random addresses each (median of 5 runs, ns per lookup).

Output: markdown on stdout, JSON in ``bench/results/detect-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from flows import T0, SyntheticSource, Timer, make_flows  # noqa: E402

from netop.config import Config  # noqa: E402
from netop.engine.detect.detector import Detector  # noqa: E402
from netop.engine.detect.settings import alert_settings  # noqa: E402
from netop.engine.detect.watchlist import PrefixSet, parse_list  # noqa: E402
from netop.engine.engine import Engine  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def _engine(flows: Any, fraction: float, detect: bool, watchlist: str) -> tuple[
        Engine, SyntheticSource, Timer]:
    raw: dict[str, Any] = {"detect": {"enabled": detect}, "watchlist": {"files": [watchlist]}}
    source = SyntheticSource(flows, fraction)
    detector = Detector(alert_settings(raw))
    detector.watchlist.poll()
    engine = Engine(Config(raw=raw), [source], hostname="bench", clock=lambda: T0,
                    detector=detector)
    timer = Timer(detector.observe_flows)
    detector.observe_flows = timer  # type: ignore[method-assign]
    return engine, source, timer


def tick_bench(n: int, fraction: float, ticks: int, watchlist: str) -> dict[str, Any]:
    """Alternating ticks of an engine with and one without detection."""
    flows = make_flows(n)
    runs = {name: _engine(flows, fraction, name == "on", watchlist) for name in ("on", "off")}
    now = T0
    cpu: dict[str, list[float]] = {"on": [], "off": []}
    own: list[float] = []
    for i in range(ticks + 3):
        now += 1.0
        for name, (engine, source, timer) in runs.items():
            source.prepare(now)
            timer.take()
            c = time.process_time()
            engine.tick(now)
            spent = time.process_time() - c
            if i >= 3:  # the first creates the flows; then warm-up
                cpu[name].append(spent)
                if name == "on":
                    own.append(timer.take()[1])
    on, off = statistics.median(cpu["on"]), statistics.median(cpu["off"])
    mine = statistics.median(own)
    mean = statistics.fmean(own)
    return {"detect_cpu_ms_mean": round(mean * 1e3, 1),
            "detect_cpu_ms_max": round(max(own) * 1e3, 1),
            "detect_mean_share_pct": round(100 * mean / statistics.fmean(cpu["on"]), 1),
            "flows": n, "active": fraction, "tick_cpu_ms_detect_on": round(on * 1e3, 1),
            "tick_cpu_ms_detect_off": round(off * 1e3, 1),
            "detect_cpu_ms": round(mine * 1e3, 1),
            "detect_share_of_tick_pct": round(100 * mine / on, 1),
            "on_over_off": round(on / off, 3)}


def lookup_bench(sizes: tuple[int, ...], lookups: int = 200_000) -> list[dict[str, Any]]:
    """ns per ``in`` for watchlists of each size."""
    rng = random.Random(13)
    probes = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(lookups)]
    out = []
    for size in sizes:
        lines = [f"{ipaddress.IPv4Address(rng.getrandbits(32) & ~0xFF)}/24"
                 for _ in range(size)]
        t = time.perf_counter()
        prefixes = PrefixSet(parse_list("\n".join(lines)).networks)
        build = time.perf_counter() - t
        runs = []
        for _ in range(5):
            t = time.process_time()
            hits = sum(1 for p in probes if p in prefixes)
            runs.append(time.process_time() - t)
        out.append({"entries": size, "parse_and_build_s": round(build, 2),
                    "ns_per_lookup": round(statistics.median(runs) / lookups * 1e9),
                    "hits": hits})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flows", type=int, default=100_000)
    ap.add_argument("--ticks", type=int, default=15, help="measured ticks (15: three sweeps)")
    ap.add_argument("--active", default="0.1,1")
    ap.add_argument("--skip-lookups", action="store_true")
    args = ap.parse_args(argv)
    result: dict[str, Any] = {"started": time.strftime("%Y%m%d-%H%M%S")}
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listed:
        rng = random.Random(1)
        listed.write("".join(f"{rng.randrange(1, 223)}.{rng.randrange(256)}."
                             f"{rng.randrange(256)}.0/24\n" for _ in range(1000)))
        listed.flush()
        rows = [tick_bench(args.flows, float(f), args.ticks, listed.name)
                for f in args.active.split(",")]
    print(f"## Detection cost, engine tick, {args.flows} live flows "
          f"(medians of {args.ticks} alternating ticks)\n")
    print("| active/tick | tick CPU ms, detection on | off | detection CPU ms median | "
          "mean (with the 5-s sweeps) | max | median share | mean share | on / off |\n"
          "|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['active']:.0%} | {r['tick_cpu_ms_detect_on']} | "
              f"{r['tick_cpu_ms_detect_off']} | {r['detect_cpu_ms']} | "
              f"{r['detect_cpu_ms_mean']} | {r['detect_cpu_ms_max']} | "
              f"{r['detect_share_of_tick_pct']} % | {r['detect_mean_share_pct']} % | "
              f"{r['on_over_off']} |")
    result["tick"] = rows
    if not args.skip_lookups:
        lookups = lookup_bench((10, 1_000_000))
        print("\n## Watchlist lookup (/16 blocks, then a bisect), 200k random IPv4\n")
        print("| entries | parse + build s | ns per lookup |\n|---|---|---|")
        for r in lookups:
            print(f"| {r['entries']} | {r['parse_and_build_s']} | {r['ns_per_lookup']} |")
        result["lookups"] = lookups
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"detect-{result['started']}.json"
    out.write_text(json.dumps(result, indent=1))
    print(f"\nJSON: {out.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
