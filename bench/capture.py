"""Capture benchmark: netop vs tcpdump vs tshark on the same replayed traffic, plus
offline ``netop flows -r`` speed and flow-table memory per flow.

Run as root (network namespaces)::

    python bench/capture.py [--reps 3] [--packets 1000000] [--skip-live] [--skip-offline]

Live part: namespaces ``nbench-tx``/``nbench-rx`` joined by a veth pair (no addresses,
IPv6 off, nothing in the root namespace). ``tcpreplay --topspeed`` sends the pcap into
the tx end; each candidate captures on the rx end. Per run: packets sent (tcpreplay),
packets the candidate counted, kernel drops it reports, and the CPU time of the
capturing process(es) from the start of the replay to the end of the drain -> µs/pkt.
Medians over ``--reps`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# NETOP_BENCH_NS: another prefix, so that two runs on one machine never share (or
# delete) each other's namespaces.
_NS = os.environ.get("NETOP_BENCH_NS", "nbench")
TX, RX, TXIF, RXIF = f"{_NS}-tx", f"{_NS}-rx", "nbveth0", "nbveth1"
PY = sys.executable


def sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def setup_ns() -> None:
    teardown_ns()
    for ns in (TX, RX):
        sh("ip", "netns", "add", ns)
        sh(
            "ip",
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        )
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "-n", TX, "link", "add", TXIF, "type", "veth", "peer", "name", RXIF, "netns", RX)
    sh("ip", "-n", TX, "link", "set", TXIF, "up")
    sh("ip", "-n", RX, "link", "set", RXIF, "up")


def teardown_ns() -> None:
    for ns in (TX, RX):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def tree_cpu(proc: psutil.Process, match: str | None = None) -> float:
    """CPU seconds of a process tree (only processes whose command line has ``match``)."""
    total = 0.0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for p in procs:
        try:
            if match and match not in " ".join(p.cmdline()):
                continue
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def tree_rss(proc: psutil.Process, match: str | None = None) -> int:
    """Resident bytes of a process tree (only processes whose command line has ``match``)."""
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for p in procs:
        try:
            if match and match not in " ".join(p.cmdline()):
                continue
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


CANDIDATES: dict[str, tuple[list[str], str | None]] = {
    # name: (command, substring selecting the capturing process for CPU accounting)
    "netop": ([PY, "-m", "netop", "flows", "-i", RXIF, "--json"], "netop.sources.capture.child"),
    "netop-py": ([PY, "-m", "netop", "flows", "-i", RXIF, "--json"], "netop.sources.capture.child"),
    # the same without per-flow KPIs (NETOP_KPIS=0): their cost is netop's minus this
    "netop-nokpi": ([PY, "-m", "netop", "flows", "-i", RXIF, "--json"],
                    "netop.sources.capture.child"),
    "tcpdump": (["tcpdump", "-i", RXIF, "-n", "-B", "16384", "-w", "/dev/null"], None),
    "tshark": (["tshark", "-i", RXIF, "-n", "-q", "-B", "16"], None),
}


def parse_counts(name: str, out: str, err: str) -> tuple[int, int]:
    """(packets the candidate counted, kernel drops it reported)."""
    if name.startswith("netop"):
        pkts = sum(r["packets"] + r["packets_rev"] for r in map(json.loads, out.splitlines()))
        m = re.search(r"(\d+) dropped by kernel", err)
        return pkts, int(m.group(1)) if m else -1
    if name == "tcpdump":
        cap = re.search(r"(\d+) packets? captured", err)
        drop = re.search(r"(\d+) packets? dropped by kernel", err)
        return int(cap.group(1)) if cap else -1, int(drop.group(1)) if drop else -1
    cap = re.search(r"(\d+) packets? captured", err)
    drop = re.search(r"dropped on interface '[^']+': \d+/(\d+)", err)
    return int(cap.group(1)) if cap else -1, int(drop.group(1)) if drop else 0


def live_run(name: str, pcap: str, warmup: float, drain: float) -> dict[str, float]:
    cmd, match = CANDIDATES[name]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if name == "netop-py":
        env["NETOP_PURE_PYTHON"] = "1"
    if name == "netop-nokpi":
        env["NETOP_KPIS"] = "0"
    proc = subprocess.Popen(
        ["ip", "netns", "exec", RX, *cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    ps = psutil.Process(proc.pid)
    time.sleep(warmup)
    cpu0 = tree_cpu(ps, match)
    t0 = time.monotonic()
    rep = subprocess.run(
        ["ip", "netns", "exec", TX, "tcpreplay", "-i", TXIF, "--topspeed", pcap],
        capture_output=True,
        text=True,
    )
    replay_s = time.monotonic() - t0
    time.sleep(drain)
    cpu1 = tree_cpu(ps, match)
    rss = tree_rss(ps, match)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    sent = int(re.search(r"Actual: (\d+) packets", rep.stdout).group(1))  # type: ignore[union-attr]
    got, drops = parse_counts(name, out, err)
    cpu = cpu1 - cpu0
    return {
        "sent": sent,
        "received": got,
        "drops": drops,
        "pps": sent / replay_s,
        "cpu_s": cpu,
        "us_per_pkt": cpu / max(got, 1) * 1e6,
        "rss_mb": rss / 2**20,
    }


def children_cpu() -> float:
    """User + system CPU seconds of the children waited for so far."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def offline(pcap: str, reps: int, baseline: str | None = None) -> dict[str, dict[str, float]]:
    """In-process reads, then the whole commands (netop, and ``baseline``: the same
    command from another checkout, e.g. main before a change) beside tcpdump and tshark,
    interleaved rep by rep: wall and CPU (user + system) medians."""
    from netop.engine.engine import read_into_table
    from netop.engine.flowtable import FlowTable
    from netop.sources.capture.aggregate import PacketAggregator

    n = sum(1 for _ in [0])  # packet count comes from the run itself
    results: dict[str, dict[str, float]] = {}
    for label, fast, kpis in (
        ("netop flows -r (C path, in-process)", True, "1"),
        ("netop flows -r (C path, KPIs off, in-process)", True, "0"),
        ("netop flows -r (pure Python, in-process)", False, "1"),
    ):
        times = []
        os.environ["NETOP_KPIS"] = kpis
        for _ in range(reps):
            table = FlowTable(max_flows=1_000_000, keep_expired=True)
            t = time.perf_counter()
            res = read_into_table(pcap, table, PacketAggregator(fast=fast))
            times.append(time.perf_counter() - t)
            n = res.packets
        os.environ.pop("NETOP_KPIS")
        med = statistics.median(times)
        results[label] = {"seconds": med, "pps": n / med}
    netop_cmd = [PY, "-m", "netop", "flows", "-r", pcap, "--json"]
    commands = [
        ("netop flows -r --json > /dev/null (whole command)", netop_cmd, str(ROOT)),
        ("tcpdump -r -w /dev/null", ["tcpdump", "-r", pcap, "-w", "/dev/null"], str(ROOT)),
        # tshark's own flow table: its conversation statistics over every IP flow.
        ("tshark -r -q -z conv,ip", ["tshark", "-r", pcap, "-q", "-z", "conv,ip"], str(ROOT)),
    ]
    if baseline:
        commands.insert(1, (f"baseline {baseline}: netop flows -r --json", netop_cmd, baseline))
    walls: dict[str, list[float]] = {label: [] for label, _, _ in commands}
    cpus: dict[str, list[float]] = {label: [] for label, _, _ in commands}
    # Interleaved rep by rep: on a shared machine the load drifts alike for all.
    for _ in range(reps):
        for label, cmd, root in commands:
            c, t = children_cpu(), time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                           cwd=root, env={**os.environ, "PYTHONPATH": root})  # fmt: skip
            walls[label].append(time.perf_counter() - t)
            cpus[label].append(children_cpu() - c)
    for label, _, _ in commands:
        wall, cpu = statistics.median(walls[label]), statistics.median(cpus[label])
        results[label] = {"seconds": wall, "pps": n / wall, "cpu_seconds": cpu,
                          "pps_cpu": n / cpu}  # fmt: skip
    whole = results["netop flows -r --json > /dev/null (whole command)"]
    for peer in [label for label, _, _ in commands[1:]]:
        results[f"netop flows -r speed / {peer}"] = {
            "ratio": results[peer]["seconds"] / whole["seconds"],
            "cpu_ratio": results[peer]["cpu_seconds"] / whole["cpu_seconds"]}
    return results


def memory_per_flow(count: int) -> dict[str, float]:
    """Bytes per flow: engine FlowTable with ``count`` flows, and the capture C table."""
    from netop.engine.flowtable import FlowTable
    from netop.model import FlowRecord
    from netop.native import fastpath

    proc = psutil.Process()
    out: dict[str, float] = {}
    before = proc.memory_info().rss
    table = FlowTable(max_flows=count)
    chunk = 100_000
    for base in range(0, count, chunk):
        recs = [
            FlowRecord(
                6,
                f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
                1000 + (i & 4095),
                "192.0.2.1",
                443,
                packets=1,
                bytes=60,
                first=1.0,
                last=1.0,
            )
            for i in range(base, base + chunk)
        ]
        table.merge_records(recs, 1.0)
        del recs
    out["engine FlowTable (bytes/flow)"] = (proc.memory_info().rss - before) / count
    del table
    module = fastpath.load()
    for label, kpis in (("capture C table (bytes/flow)", True),
                        ("capture C table, KPIs off (bytes/flow)", False)):
        if module is None:
            break
        import struct

        before = proc.memory_info().rss
        t = module.Table(count, kpis=kpis)
        frames = bytearray()
        for i in range(count):
            ip = (
                struct.pack("!BBHHHBBH", 0x45, 0, 40, 0, 0, 64, 6, 0)
                + struct.pack("!I", 0x0A000000 + i)
                + bytes([192, 0, 2, 1])
                + struct.pack("!HH", 1000, 443)
                + bytes(16)
            )
            frames += struct.pack("<IIII", 1, 0, len(ip), len(ip)) + ip
        t.feed_pcap(bytes(frames), True, False, 101)
        del frames
        out[label] = (proc.memory_info().rss - before) / count
        del t
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description="netop capture benchmark")
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--flows", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--pcap", default=str(Path(tempfile.gettempdir(), "netop-bench", "pkts.pcap")))
    ap.add_argument("--candidates", default="netop,netop-nokpi,tcpdump,tshark,netop-py")
    ap.add_argument("--skip-live", action="store_true")
    ap.add_argument("--skip-offline", action="store_true")
    ap.add_argument("--memory-flows", type=int, default=1_000_000)
    ap.add_argument("--baseline", metavar="DIR",
                    help="another checkout of netop (e.g. main before a change): its "
                    "flows -r is timed beside, interleaved")
    a = ap.parse_args()
    Path(a.pcap).parent.mkdir(parents=True, exist_ok=True)
    if not Path(a.pcap).exists():
        sh(
            PY,
            str(ROOT / "bench" / "capture_gen.py"),
            a.pcap,
            "--packets",
            str(a.packets),
            "--flows",
            str(a.flows),
        )
    report: dict[str, object] = {}
    if not a.skip_live:
        setup_ns()
        try:
            for name in a.candidates.split(","):
                runs = [live_run(name, a.pcap, 2.0, 1.5) for _ in range(a.reps)]
                med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                report[f"live {name}"] = {"median": med, "runs": runs}
                print(
                    f"{name:10} sent {med['sent']:.0f} @ {med['pps'] / 1e3:.0f} kpps  received "
                    f"{med['received']:.0f} ({100 * med['received'] / med['sent']:.2f} %)  "
                    f"drops {med['drops']:.0f}  CPU {med['us_per_pkt']:.3f} µs/pkt  "
                    f"capture RSS {med['rss_mb']:.1f} MiB",
                    flush=True,
                )
        finally:
            teardown_ns()
    if not a.skip_offline:
        for label, r in offline(a.pcap, a.reps, a.baseline).items():
            report[label] = r
            if "ratio" in r:
                print(f"{label:55} {r['ratio']:.2f}x wall  {r['cpu_ratio']:.2f}x CPU", flush=True)
                continue
            cpu = (f"  CPU {r['cpu_seconds']:.3f} s  {r['pps_cpu'] / 1e6:.2f} Mpps"
                   if "cpu_seconds" in r else "")
            print(f"{label:55} {r['seconds']:.3f} s  {r['pps'] / 1e6:.2f} Mpps{cpu}",
                  flush=True)
        for label, v in memory_per_flow(a.memory_flows).items():
            report[label] = v
            print(f"{label:55} {v:.0f}", flush=True)
    out = Path(a.pcap).parent / "report.json"
    out.write_text(json.dumps(report, indent=1, default=float))
    print(f"full report: {out}")


if __name__ == "__main__":
    main()
