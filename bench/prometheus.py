"""Prometheus scrape benchmark: /metrics at 1,000 interfaces (and 100 exporters, top-N 20).

    python bench/prometheus.py [--interfaces 1000] [--exporters 100] [--reps 50]

Measures the collector alone (``generate_latest``) and a full HTTP scrape of the
running endpoint (``PrometheusSink``, urllib on 127.0.0.1): median and p95 wall time,
CPU per scrape, and the CPU share at a 15 s scrape interval. node_exporter's netdev
scrape is measured beside it when ``prometheus-node-exporter`` is installed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402

from netop.model import InterfaceRate, Snapshot, SourceStatus  # noqa: E402
from netop.outputs.prometheus import (  # noqa: E402
    PrometheusSettings,
    PrometheusSink,
    SnapshotMetrics,
)

FIELDS = ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_drops", "tx_drops",
          "rx_errors", "tx_errors")  # fmt: skip


class _AsClientFamilies:
    """netop's series as prometheus_client metric families."""

    def __init__(self, metrics: SnapshotMetrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[object]:
        return []

    def collect(self) -> list[object]:
        from prometheus_client.core import Metric

        out = []
        for fam in self.metrics.families():
            metric = Metric(fam.name, fam.help, fam.kind)
            for line in fam.lines:
                name, _, value = line.rpartition(" ")
                labels = {}
                if "{" in name:
                    name, _, body = name.partition("{")
                    for part in body.rstrip("}").split('",'):
                        key, _, val = part.partition('="')
                        labels[key] = val.rstrip('"')
                metric.add_sample(name, labels, float(value))
            out.append(metric)
        return out


def snapshot(interfaces: int, exporters: int) -> Snapshot:
    """SNMP-sized: ``interfaces`` rows over 20 targets, plus local ones."""
    rows = []
    for i in range(interfaces):
        origin = "local" if i < 8 else f"snmp:sw{i % 20}"
        counters = {f: 10**9 + i * 1000 + n for n, f in enumerate(FIELDS)}
        rows.append(InterfaceRate(origin, f"ge-0/0/{i}", 1.0, 1e6 * i, 2e6, 10.0, 10.0, {},
                                  counters, 10**10, i % 7 != 0))  # fmt: skip
    exp = tuple({"exporter": f"10.1.{i // 250}.{i % 250}", "protocol": "ipfix",
                 "datagrams": i * 10, "records": i * 200, "seq_lost": i % 3, "malformed": 0}
                for i in range(exporters))  # fmt: skip
    return Snapshot(1.0, 1, "bench", "bench", 1.0, interfaces=tuple(rows),
                    sources=(SourceStatus("collector", "", exp),))


def timed(fn: object, reps: int) -> tuple[list[float], list[float], int]:
    wall, cpu, size = [], [], 0
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        size = len(fn())  # type: ignore[operator]
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return wall, cpu, size


def report(label: str, wall: list[float], cpu: list[float], size: int) -> None:
    wall.sort()
    med_cpu = statistics.median(cpu)
    print(f"  {label:<34} median {statistics.median(wall) * 1e3:6.1f} ms, "
          f"p95 {wall[int(len(wall) * 0.95) - 1] * 1e3:6.1f} ms, CPU {med_cpu * 1e3:6.1f} ms "
          f"({med_cpu / 15 * 100:.2f} % of a CPU at a 15 s interval), {size:,} bytes")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interfaces", type=int, default=1000)
    ap.add_argument("--exporters", type=int, default=100)
    ap.add_argument("--reps", type=int, default=50)
    args = ap.parse_args()
    snap = snapshot(args.interfaces, args.exporters)
    metrics = SnapshotMetrics(top_n=20)
    metrics.update(snap)
    series = sum(1 for line in metrics.render().decode().splitlines()
                 if line and not line.startswith("#"))
    print(f"== {args.interfaces} interfaces, {args.exporters} exporters (top 20), "
          f"{series:,} series, {args.reps} scrapes")
    report("netop's rendering", *timed(metrics.render, args.reps))
    # What prometheus_client's generic families cost for the same series (the first
    # design): the reason netop renders the text itself.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_AsClientFamilies(metrics))  # type: ignore[arg-type]
    report("same via prometheus_client families", *timed(lambda: generate_latest(registry),
                                                          max(5, args.reps // 5)))
    sink = PrometheusSink(PrometheusSettings("127.0.0.1", 0, top_n=20))
    sink.start()
    sink.consume(snap)
    url = f"http://127.0.0.1:{sink.port}/metrics"

    def scrape() -> bytes:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return bytes(answer.read())

    try:
        # Client and server share this process: the CPU is both sides'.
        report("HTTP scrape (urllib, same process)", *timed(scrape, args.reps))
    finally:
        sink.close()
    exporter = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
    if exporter is None:
        print("  node_exporter: not installed here (Debian prometheus-node-exporter); "
              "its netdev scrape not measured")
        return
    proc = subprocess.Popen([exporter, "--web.listen-address=127.0.0.1:19100",
                             "--collector.disable-defaults", "--collector.netdev"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        url = "http://127.0.0.1:19100/metrics"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                scrape()
                break
            except OSError:
                time.sleep(0.1)
        report("node_exporter netdev (this box)", *timed(scrape, args.reps))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
