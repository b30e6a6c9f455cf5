"""False alarms on real captures: ``netop alerts -r`` over every shared capture.

    .venv/bin/python bench/detect_captures.py [--dir ../shared/data/pcap]

Every capture under ``traffic/``, ``flowexport/`` and ``snmp/`` of the shared data
(public projects' traces of ordinary traffic: no attacks in them) is read twice: with
the defaults, and with every optional detector on (``new_destinations``, learning 10 %
of the file's span, at least 1 s). Each alert printed is a false alarm. The span of each
file comes from ``capinfos`` (Wireshark's, the referee); alarms per hour are over the
sum of spans, leaving out files spanning more than a day (test corpora stitched from
packets years apart: their span is no hour of traffic). Output: markdown on stdout, JSON in
``bench/results/detect-captures-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SUBDIRS = ("traffic", "flowexport", "snmp")
#: Files spanning more than this are stitched corpora, not hours of traffic.
MAX_SPAN = 86400.0


def span(path: Path) -> float:
    """Seconds from the first to the last packet (capinfos -u), 0 when unknown."""
    done = subprocess.run(["capinfos", "-T", "-u", "-r", str(path)], capture_output=True,
                          text=True, timeout=60)
    try:
        return float(done.stdout.strip().split("\t")[-1])
    except ValueError:
        return 0.0


def alerts(path: Path, config: Path | None) -> tuple[list[dict[str, Any]], str]:
    """The alert records ``netop alerts -r`` prints for ``path``, and its stderr tail."""
    cmd = [sys.executable, "-m", "netop", "alerts", "-r", str(path), "--json", "--no-actions"]
    if config is not None:
        cmd += ["--config", str(config)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    records = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return records, done.stderr.strip().splitlines()[-1:][0] if done.stderr.strip() else ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=ROOT.parent / "shared" / "data" / "pcap")
    args = ap.parse_args(argv)
    files = sorted(p for sub in SUBDIRS if (args.dir / sub).is_dir()
                   for p in (args.dir / sub).iterdir() if p.is_file())
    if not files:
        print(f"netop: no captures under {args.dir}", file=sys.stderr)
        return 2
    started = time.strftime("%Y%m%d-%H%M%S")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            seconds = span(path)
            config = Path(tmp) / "all.toml"
            config.write_text("[detect]\nnew_destinations = true\n"
                              f"new_destination_learning = {max(1.0, seconds / 10):.3f}\n")
            config.chmod(0o600)
            default, err = alerts(path, None)
            everything, _ = alerts(path, config)
            rows.append({"file": f"{path.parent.name}/{path.name}", "seconds": seconds,
                         "default": [r["kind"] for r in default],
                         "all_on": [r["kind"] for r in everything], "stderr": err,
                         "records": default + everything})
    hours = sum(r["seconds"] for r in rows if r["seconds"] <= MAX_SPAN) / 3600
    stitched = [r["file"] for r in rows if r["seconds"] > MAX_SPAN]
    n_default = sum(len(r["default"]) for r in rows)
    n_all = sum(len(r["all_on"]) for r in rows)
    print(f"## False alarms, {len(rows)} shared captures, {hours * 60:.1f} min of traffic\n")
    print("| capture | span s | alerts (defaults) | alerts (all detectors on) |")
    print("|---|---|---|---|")
    for r in rows:
        if r["default"] or r["all_on"]:
            print(f"| {r['file']} | {r['seconds']:.0f} | {', '.join(r['default']) or 0} | "
                  f"{', '.join(r['all_on']) or 0} |")

    def per_hour(n: int) -> float | None:
        return round(n / hours, 2) if hours else None

    print(f"| **all {len(rows)}** | {hours * 3600:.0f} | {n_default} "
          f"({per_hour(n_default)}/h) | {n_all} ({per_hour(n_all)}/h) |")
    if stitched:
        print(f"\nNot in the hours (spans over a day): {', '.join(stitched)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"detect-captures-{started}.json"
    out.write_text(json.dumps({"captures": rows, "hours": hours, "stitched": stitched,
                               "alerts_default": n_default,
                               "alerts_all_on": n_all}, indent=1))
    print(f"\nJSON: {out.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
