"""False alarms on normal traffic: ``netop alerts -i`` over steady, varying load.

    sudo .venv/bin/python bench/detect_normal.py [--minutes 30] [--seed 13] [--a-local]

Two namespaces joined by a veth pair (made here, removed after). In B: an iperf3
server and ``python -m http.server``; ``netop alerts -i`` (detection defaults, baselines
included) captures there. From A, for the whole run: iperf3 uploads of 5 s each at a
rate drawn between 20 and 80 Mbit/s (a realistic variation, not a constant), and one
curl fetch a second. Every alert printed is a false alarm. ``--a-local``: A is the
only local host (``local_nets``), so that its uploads are outbound transfers, and
never-seen destinations are on (learning 60 s). Output: alerts by kind and
per hour, as markdown; JSON in ``bench/results/detect-normal-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.netns import veth_pair  # noqa: E402
from tests.ready import start_watched, wait_for_port  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--a-local", action="store_true",
                    help="A is the local host; new_destinations on (learning 60 s)")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    seconds = args.minutes * 60
    started = time.strftime("%Y%m%d-%H%M%S")
    with veth_pair() as pair, tempfile.TemporaryDirectory() as tmp:
        extra: list[str] = []
        if args.a_local:
            config = Path(tmp) / "netop.toml"
            config.write_text(f'[detect]\nlocal_nets = ["{pair.addr_a}/32"]\n'
                              "new_destinations = true\nnew_destination_learning = 60\n")
            config.chmod(0o600)
            extra = ["--config", str(config)]
        iperf = subprocess.Popen(pair.run_b("iperf3", "-s", "-B", pair.addr_b, "-p", "5301"),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        http = subprocess.Popen(pair.run_b(sys.executable, "-m", "http.server", "--bind",
                                           pair.addr_b, "8099"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        netop = start_watched(pair.run_b(sys.executable, "-m", "netop", "alerts", "-i",
                                         pair.if_b, "--json", "--duration", str(seconds), *extra),
                              cwd=ROOT)
        stop = threading.Event()
        fetches = 0

        def fetch() -> None:
            nonlocal fetches
            while not stop.wait(1.0):
                subprocess.run(pair.run_a("curl", "-s", "-o", "/dev/null", "--max-time", "2",
                                          f"http://{pair.addr_b}:8099/"), timeout=10)
                fetches += 1

        try:
            wait_for_port(5301, pair.ns_b, proc=iperf)
            wait_for_port(8099, pair.ns_b, proc=http)
            netop.stderr.wait_for("netop: capture attached on ", timeout=30)
            t0 = time.monotonic()
            thread = threading.Thread(target=fetch, daemon=True)
            thread.start()
            runs = 0
            while time.monotonic() - t0 < seconds - 6:
                rate = rng.randint(20, 80)
                subprocess.run(pair.run_a("iperf3", "-c", pair.addr_b, "-p", "5301", "-t", "5",
                                          "-b", f"{rate}M"), capture_output=True, timeout=60)
                runs += 1
            stop.set()
            stdout, stderr = netop.communicate(timeout=seconds + 60)
        finally:
            stop.set()
            netop.kill()
            for proc in (iperf, http):
                proc.kill()
                proc.wait(timeout=10)
    alerts = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    kinds: dict[str, int] = {}
    for alert in alerts:
        kinds[alert["kind"]] = kinds.get(alert["kind"], 0) + 1
    result: dict[str, Any] = {
        "minutes": args.minutes, "a_local": args.a_local, "iperf_runs": runs,
        "curl_fetches": fetches,
        "alerts": len(alerts), "by_kind": kinds,
        "per_hour": round(len(alerts) * 60 / args.minutes, 2), "records": alerts,
        "netop_stderr_tail": stderr.splitlines()[-3:],
    }
    print(f"## False alarms, {args.minutes:g} min of iperf3 (20-80 Mbit/s, 5-s runs) and "
          "curl (1/s)\n")
    print(f"| iperf3 runs | curl fetches | alerts | per hour | by kind |\n|---|---|---|---|---|\n"
          f"| {runs} | {fetches} | {len(alerts)} | {result['per_hour']} | {kinds or '-'} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"detect-normal-{started}.json"
    out.write_text(json.dumps(result, indent=1))
    print(f"\nJSON: {out.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
