"""Benchmark: flow filter matching over 100k flows, netop vs nfdump's filter engine.

    .venv/bin/python bench/filter.py [--flows 100000] [--runs 7]

netop: ``Filter.compile().select(flows, now)`` (what the engine calls per tick) and
``Filter.matches`` per flow (the slow path), as CPU microseconds per flow, median of
``--runs``. nfdump: the same expressions over the same 100k flows, written by
``nfpcapd`` from a synthetic pcap. nfdump's filter cost per flow is the CPU time of
``nfdump -r FILE '(EXPR) and proto 255'`` minus that of ``nfdump -r FILE 'proto 255'``
(both print nothing, so reading and printing cancel out). "cold" is netop's first tick
over flows it has never seen (fresh address memos).
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netop.engine.filter import CompiledFilter, Facts, parse_filter  # noqa: E402
from netop.model import FlowRecord  # noqa: E402

# (netop expression, nfdump expression or None where nfdump has no equivalent)
EXPRESSIONS: list[tuple[str, str | None]] = [
    ("port 443", "port 443"),
    ("tcp and dst port 443 and bytes > 1k", "proto tcp and dst port 443 and bytes > 1k"),
    ("net 10.0.0.0/8 and not port 22", "net 10.0.0.0/8 and not port 22"),
    ("src host 10.1.2.3 or dst host 172.16.0.9", "src ip 10.1.2.3 or dst ip 172.16.0.9"),
    ("udp and (port 53 or port 123)", "proto udp and (port 53 or port 123)"),
    ("host *.example.com", None),
    ("process firefox or rate > 1M", None),
    ("age > 30s and avg < 100k", None),
]
PROCESSES = ["", "firefox", "curl", "sshd", "chrome", "systemd-resolved"]


def synthetic_flows(count: int, seed: int = 1) -> list[Facts]:
    """``count`` distinct IPv4 flows with a realistic mix of ports, sizes and names."""
    rng = random.Random(seed)
    flows = []
    for i in range(count):
        proto = rng.choice((6, 6, 6, 17, 17, 1))
        src = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        dst = f"{rng.choice((93, 172, 151, 10))}.{rng.randrange(256)}.{rng.randrange(4)}.9"
        dport = rng.choice((443, 443, 80, 53, 22, 123, rng.randrange(1024, 65536)))
        sport = 0 if proto == 1 else 1024 + i % 60000
        record = FlowRecord(
            proto,
            src,
            sport,
            dst,
            0 if proto == 1 else dport,
            packets=1,
            bytes=rng.randrange(40, 1440),
            first=1000.0 - rng.random() * 120,
            last=1000.0,
        )
        name = f"cdn{i % 97}.example.com" if i % 3 == 0 else ""
        flows.append(
            Facts(
                record,
                rate_bps=rng.random() * 2e6,
                avg_bps=rng.random() * 2e6,
                process=rng.choice(PROCESSES),
                names=("", name),
            )
        )
    return flows


def cpu() -> float:
    return time.process_time()


def median_us_per_flow(action: object, flows: int, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = cpu()
        action()  # type: ignore[operator]
        times.append(cpu() - start)
    return statistics.median(times) / flows * 1e6


def write_pcap(path: Path, flows: list[Facts]) -> None:
    """One Ethernet/IPv4 packet per flow, TCP or UDP or ICMP as the flow says."""
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for n, facts in enumerate(flows):
            r = facts.record
            if r.proto == 6:
                l4 = struct.pack("!HHIIBBHHH", r.sport, r.dport, 1, 0, 0x50, 0x18, 8192, 0, 0)
            elif r.proto == 17:
                l4 = struct.pack("!HHHH", r.sport, r.dport, 8, 0)
            else:
                l4 = struct.pack("!BBHHH", 8, 0, 0, 1, n & 0xFFFF)
            payload_len = max(r.bytes - 20 - len(l4), 0)
            total = 20 + len(l4) + payload_len
            ip = struct.pack(
                "!BBHHHBBH4s4s",
                0x45,
                0,
                total,
                n & 0xFFFF,
                0,
                64,
                r.proto,
                0,
                bytes(map(int, r.src.split("."))),
                bytes(map(int, r.dst.split("."))),
            )
            frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + l4 + b"\x00" * payload_len
            ts = 1_700_000_000 + n // 1000
            out.write(struct.pack("<IIII", ts, (n % 1000) * 1000, len(frame), len(frame)))
            out.write(frame)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def nfdump_file(workdir: Path, flows: list[Facts]) -> Path | None:
    pcap = workdir / "flows.pcap"
    write_pcap(pcap, flows)
    out = workdir / "nf"
    out.mkdir()
    subprocess.run(["nfpcapd", "-r", str(pcap), "-w", str(out)], capture_output=True, timeout=300)
    files = sorted(p for p in out.rglob("nfcapd.*") if p.stat().st_size > 0)
    return files[0] if files else None


def nfdump_cpu(path: Path, expression: str, runs: int) -> float:
    """Median CPU seconds of ``nfdump -r FILE EXPR`` printing nothing."""
    times = []
    for _ in range(runs):
        before = children_cpu()
        subprocess.run(
            ["nfdump", "-r", str(path), "-q", "-o", "csv", expression],
            capture_output=True,
            timeout=300,
            check=True,
        )
        times.append(children_cpu() - before)
    return statistics.median(times)


def nfdump_matches(path: Path, expression: str) -> int:
    done = subprocess.run(
        ["nfdump", "-r", str(path), "-q", "-o", "csv", expression],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return sum(1 for line in done.stdout.splitlines() if line[:1].isdigit())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-nfdump", action="store_true")
    args = parser.parse_args()
    flows = synthetic_flows(args.flows)
    now = 1000.0
    print(f"{args.flows} flows, median of {args.runs} runs, CPU µs per flow")
    print(
        f"{'expression':42} {'matched':>7} {'select':>7} {'ms/tick':>7} {'cold':>7}"
        f" {'match()':>7} {'nfdump':>7}"
    )
    nf_path: Path | None = None
    workdir = Path(tempfile.mkdtemp(prefix="netop-bench-"))
    try:
        if not args.no_nfdump and shutil.which("nfpcapd") and shutil.which("nfdump"):
            nf_path = nfdump_file(workdir, flows)
        base = nfdump_cpu(nf_path, "proto 255", args.runs) if nf_path else 0.0
        for text, nf_text in EXPRESSIONS:
            node = parse_filter(text).node
            cold_us = median_us_per_flow(
                lambda n=node: CompiledFilter(n).select(flows, now), len(flows), args.runs
            )
            compiled = parse_filter(text).compile()
            matched = len(compiled.select(flows, now))
            select_us = median_us_per_flow(
                lambda c=compiled: c.select(flows, now), len(flows), args.runs
            )
            match_us = median_us_per_flow(
                lambda c=compiled: [c.match(f, now) for f in flows], len(flows), args.runs
            )
            nf = "n/a"
            if nf_path and nf_text:
                cost = nfdump_cpu(nf_path, f"({nf_text}) and proto 255", args.runs)
                nf = f"{max(cost - base, 0.0) / len(flows) * 1e6:.3f}"
                nf_matched = nfdump_matches(nf_path, nf_text)
                if nf_matched != matched:
                    nf += f" (matched {nf_matched})"
            print(
                f"{text:42} {matched:>7} {select_us:>7.3f} {select_us * len(flows) / 1000:>7.1f}"
                f" {cold_us:>7.3f} {match_us:>7.3f} {nf:>7}"
            )
        if nf_path:
            print(f"nfdump read of the file, no output: {base / len(flows) * 1e6:.3f} µs/flow")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
