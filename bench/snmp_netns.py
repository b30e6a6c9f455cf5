"""SNMP benchmark against a fast agent with many interfaces: snmpd in a network namespace.

    .venv/bin/python bench/snmp_netns.py [--ifaces 1300] [--polls 10]   (needs root)

snmpsim answers every client slowly (it is Python, and caps responses at 64 values),
so its 1317-port recording measures the simulator more than the poller. Here the agent
is net-snmp's snmpd, in a namespace this script makes with ``--ifaces`` veth
interfaces, listening on that namespace's 127.0.0.1. netop, snmpbulkwalk and
prometheus-snmp-exporter all poll it from inside the namespace (this script runs
itself again under ``ip netns exec``). The namespace and the agent are removed after.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _bench_module() -> object:
    spec = importlib.util.spec_from_file_location("netop_bench_snmp", ROOT / "bench" / "snmp.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def inside(port: int, polls: int) -> None:
    """Measure the three pollers (we are inside the namespace); print JSON."""
    from netop.sources.snmp.targets import Secret, SnmpTarget
    from tests.integration.snmp.agents import free_udp_port

    b: object = _bench_module()
    work = Path(tempfile.mkdtemp(prefix="netop-bench-ns-"))
    conf = work / "snmp.yml"
    b.exporter_config(conf, ["public"])  # type: ignore[attr-defined]
    web = free_udp_port()
    exporter = subprocess.Popen(
        ["prometheus-snmp-exporter", f"--config.file={conf}",
         f"--web.listen-address=127.0.0.1:{web}", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1.0)
    target = SnmpTarget(name="ns", host="127.0.0.1", port=port, community=Secret("public"),
                        timeout=10.0, retries=0)  # fmt: skip
    try:
        out = {
            "netop": b.bench_netop(target, polls),  # type: ignore[attr-defined]
            "snmpbulkwalk": b.bench_bulkwalk(port, "public", polls),  # type: ignore[attr-defined]
            "snmp_exporter": b.bench_exporter(  # type: ignore[attr-defined]
                exporter.pid, web, port, "public", polls),
        }  # fmt: skip
    finally:
        exporter.terminate()
        exporter.wait(timeout=10)
    print(json.dumps(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ifaces", type=int, default=1300)
    parser.add_argument("--polls", type=int, default=10)
    parser.add_argument("--inside", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.inside, args.polls)
        return 0
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    ns = f"netop-snmpbench-{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="netop-bench-ns-"))
    subprocess.run(["ip", "netns", "add", ns], check=True)
    agent: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        batch = "".join(f"link add v{i} type veth peer name w{i}\n"
                        for i in range(args.ifaces // 2))  # fmt: skip
        subprocess.run(["ip", "-n", ns, "-batch", "-"], input=batch.encode(), check=True)
        port = 1161
        (work / "persist").mkdir()
        conf = work / "snmpd.conf"
        conf.write_text(
            f"[snmp] persistentDir {work / 'persist'}\n"
            f"agentaddress udp:127.0.0.1:{port}\nrocommunity public 127.0.0.1\n"
        )
        agent = subprocess.Popen(
            ["ip", "netns", "exec", ns, "snmpd", "-f", "-Lf", str(work / "log"), "-C", "-c",
             str(conf), "-p", str(work / "pid")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.5)
        out = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-W", "ignore", __file__,
             "--inside", str(port), "--polls", str(args.polls)],
            capture_output=True, text=True, check=True, timeout=1200,
        )  # fmt: skip
        results = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if agent is not None:
            agent.terminate()
            agent.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", ns], check=False)
    ifaces = str(args.ifaces + 1)
    b: object = _bench_module()
    print("| device | ifaces | tool | wall ms | CPU ms | values | CPU µs/value |")
    print("|---|---|---|---|---|---|---|")
    for tool, r in results.items():
        print(b.row("snmpd-netns", ifaces, tool, r))  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())
