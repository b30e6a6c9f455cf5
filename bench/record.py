"""What recording, replay and report cost, on files made by the synthetic recorder.

    .venv/bin/python bench/record.py [--hours 24] [--days 30] [--dir /tmp]

* recording: CPU per tick of the recorder's writer (encode, insert, commit) at 30
  interfaces and the top 100 of 10,000 flows, as a share of one core at a 1 s tick,
  and the bytes a day of 1 s ticks takes (measured on ``--hours`` of them);
* replay: first frame of the ``--hours`` file (open, decode, Flows view) and jumps to
  random times (median and worst);
* report: ``netop report --json`` over ``--days`` days (5-minute ticks: the report reads
  the 5-minute rollups, whose rows are the same for 1 s ticks).

Goals (issue 15): ≤ 3 % of a core, ≤ 150 MB/day, first frame ≤ 1 s, jump ≤ 200 ms,
report ≤ 5 s.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.record_gen import T0, Scenario, linear_level, snapshots  # noqa: E402
from netop.config import Config  # noqa: E402
from netop.engine.player import RecordingPlayer  # noqa: E402
from netop.outputs.record import RecordOptions, RecordWriter, open_writer  # noqa: E402


def record_day(path: Path, hours: float) -> tuple[float, float, int]:
    """Write ``hours`` of 1 s ticks; (CPU seconds per tick, bytes per day, ticks)."""
    ticks = int(hours * 3600)
    db = open_writer(str(path))
    writer = RecordWriter(db, RecordOptions(str(path), top=100, max_age_days=0))
    scenario = Scenario(interfaces=30, flows=100, level=linear_level(400e6, 0))
    cpu = 0.0
    for snapshot in snapshots(scenario, T0, ticks, 1.0):
        start = time.process_time()
        writer.write(snapshot)
        cpu += time.process_time() - start
    writer.flush()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    size = os.path.getsize(path)
    return cpu / ticks, size * 86400 / ticks, ticks


def replay_costs(path: Path, jumps: int = 50) -> tuple[float, list[float], list[float]]:
    """(first frame seconds, jump wall seconds, jump CPU seconds): CPU too, because on
    a shared machine the wall time is mostly other processes' turn."""
    start = time.perf_counter()
    player = RecordingPlayer(str(path), Config())
    player.current()
    first = time.perf_counter() - start
    state = player.state()
    rng = random.Random(7)
    times = []
    cpu = []
    for _ in range(jumps):
        at = rng.uniform(state.start, state.end)
        t, c = time.perf_counter(), time.process_time()
        player.seek(at)
        player.current()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    player.stop()
    return first, times, cpu


def report_cost(path: Path, days: int) -> float:
    """Seconds of ``netop report --json`` (the whole command) over ``days`` days."""
    if not path.exists():
        db = open_writer(str(path))
        writer = RecordWriter(db, RecordOptions(str(path), top=100, max_age_days=0))
        scenario = Scenario(interfaces=30, flows=100, level=linear_level(400e6, 20e6))
        for snapshot in snapshots(scenario, T0, days * 288, 300.0):
            writer.write(snapshot)
        writer.flush()
        db.close()
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "netop", "report", str(path), "--json"],
                       check=True, capture_output=True)
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--dir", default="/tmp")
    args = parser.parse_args()
    day = Path(args.dir) / f"netop-bench-{args.hours:g}h.db"
    month = Path(args.dir) / f"netop-bench-{args.days}d.db"
    for p in (day, month):
        for suffix in ("", "-wal", "-shm"):
            Path(str(p) + suffix).unlink(missing_ok=True)
    cpu, per_day, ticks = record_day(day, args.hours)
    print(f"record: {ticks} ticks of 30 interfaces + top 100 flows: "
          f"{cpu * 1000:.2f} ms CPU per tick = {cpu * 100:.2f} % of a core at 1 s "
          f"(goal ≤ 3 %); {per_day / 1e6:.0f} MB per day (goal ≤ 150)")
    first, jumps, cpu = replay_costs(day)
    print(f"replay: first frame {first * 1000:.0f} ms (goal ≤ 1000); jump median "
          f"{statistics.median(jumps) * 1000:.0f} ms, worst {max(jumps) * 1000:.0f} ms "
          f"(goal ≤ 200; CPU median {statistics.median(cpu) * 1000:.0f} ms, worst "
          f"{max(cpu) * 1000:.0f} ms) over {args.hours:g} h")
    seconds = report_cost(month, args.days)
    print(f"report: {args.days} days, median of 3 runs {seconds:.2f} s (goal ≤ 5)")
    for p in (day, month):
        Path(p).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
