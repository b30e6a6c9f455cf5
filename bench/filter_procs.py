"""Benchmark: process attribution — /proc tables vs psutil vs ss vs lsof; names; safe_text.

    .venv/bin/python bench/filter_procs.py [--connections 2000] [--runs 7]

Opens ``--connections`` real TCP connections on 127.0.0.1 (so 2x sockets plus a
listener), then measures, median of ``--runs``, CPU time of one full socket->process
map by each method: netop's ``ProcessResolver.refresh`` (tables of every namespace +
fd walk), ``psutil.net_connections("inet")`` (what the issue suggested), ``ss -tunap``
(iproute2, netlink; CPU of the child) and ``lsof -nPi`` (what nethogs-like tools
shell out to). Then the per-flow ``lookup`` cost, ``safe_text`` on names and the
``NameResolver.lookup`` cache hit.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402

from netop.enrich.names import NameResolver  # noqa: E402
from netop.enrich.procs import ProcessInfo, ProcessResolver  # noqa: E402
from netop.text import safe_text  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_cpu(action: Callable[[], object], runs: int, child: bool = False) -> float:
    times = []
    for _ in range(runs):
        clock = children_cpu if child else time.process_time
        start = clock()
        action()
        times.append(clock() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    server = socket.create_server(("127.0.0.1", 0), backlog=args.connections)
    port = server.getsockname()[1]
    pairs = []
    for _ in range(args.connections):
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        pairs.append((client, accepted))
    flows = [(6, "127.0.0.1", c.getsockname()[1], "127.0.0.1", port) for c, _ in pairs]
    sockets = 2 * args.connections + 1
    print(f"{sockets} own sockets; CPU per full socket->process map, median of {args.runs}")

    def netop_full() -> None:
        resolver = ProcessResolver()
        resolver.refresh()
        resolver.refresh()

    resolver = ProcessResolver()
    resolver.refresh()
    results = {
        "netop refresh (tables only, owners known)": median_cpu(resolver.refresh, args.runs),
        "netop cold (tables + fd walk)": median_cpu(netop_full, args.runs),
        "psutil.net_connections('inet')": median_cpu(
            lambda: psutil.net_connections("inet"), args.runs
        ),
    }
    if shutil.which("ss"):
        results["ss -tunap (child CPU)"] = median_cpu(
            lambda: subprocess.run(["ss", "-tunap"], capture_output=True, check=True),
            args.runs,
            child=True,
        )
    if shutil.which("lsof"):
        results["lsof -nPi (child CPU)"] = median_cpu(
            lambda: subprocess.run(["lsof", "-nPi"], capture_output=True), args.runs, child=True
        )
    for name, seconds in results.items():
        print(f"  {name:45} {seconds * 1e3:9.2f} ms  {seconds / sockets * 1e6:7.2f} µs/socket")

    resolver.refresh()
    found = sum(isinstance(resolver.lookup(*flow), ProcessInfo) for flow in flows)
    per_lookup = median_cpu(lambda: [resolver.lookup(*flow) for flow in flows], args.runs)
    print(f"lookup: {per_lookup / len(flows) * 1e6:.2f} µs/flow ({found}/{len(flows)} attributed)")

    names = [f"host-{i}.example.com" for i in range(10_000)]
    hostile = [f"\x1b[31mhost-{i}\u202e.example[red]x[/]\n" for i in range(10_000)]
    for label, batch in (("plain", names), ("hostile", hostile)):
        cost = median_cpu(lambda b=batch: [safe_text(n) for n in b], args.runs)
        print(f"safe_text {label}: {cost / len(batch) * 1e6:.2f} µs/name")
    answers = {f"10.0.{i >> 8}.{i & 255}": f"h{i}.example" for i in range(5000)}
    dns = NameResolver(resolve=answers.get, max_lookups_per_s=100_000, max_workers=4)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the queue holds 1000: feed it in rounds
        if all([dns.lookup(address) for address in answers]):
            break
        time.sleep(0.05)
    hit = median_cpu(lambda: [dns.lookup(a) for a in answers], args.runs)
    print(f"NameResolver.lookup cache hit: {hit / len(answers) * 1e6:.2f} µs/address")
    dns.stop()
    for client, accepted in pairs:
        client.close()
        accepted.close()
    server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
