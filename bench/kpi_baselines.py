"""Host/service KPI baselines: false alarms on normal traffic, and the delay to a real rise.

    sudo .venv/bin/python bench/kpi_baselines.py gen --minutes 30 --out normal.pcap
    sudo .venv/bin/python bench/kpi_baselines.py gen --minutes 12 --rise-after 480 \
        --out rise.pcap
    .venv/bin/python bench/kpi_baselines.py replay normal.pcap rise.pcap ../shared/data/pcap/*/*

``gen``: two namespaces joined by a veth pair (made here, removed after); in B an HTTP
server and an iperf3 server, and tcpdump writing the capture (headers only). From A,
for the whole run: short HTTP connections at a rate that drifts between 2 and 5 a
second (a slow wave plus noise), and iperf3 uploads of 5 s at 5-20 Mbit/s every 15-45 s.
With ``--rise-after S``: from S seconds on, A's egress gets a 20 Mbit/s token bucket
(tbf; this kernel has no netem) and a steady iperf3 UDP upload at 25 Mbit/s keeps it
full, so every packet
from A waits in the queue (bufferbloat): the handshake RTT seen in B grows by the
queue's delay. The rise's start (capture time) is printed and stored beside the file.

``replay``: ``netop alerts -r FILE --json`` on each file; prints the ``kpi_baseline``
alerts per file, and for a file made with ``--rise-after`` the delay from the rise to
the first alert. Every other ``kpi_baseline`` alert is a false alarm.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.netns import VethPair, veth_pair  # noqa: E402
from tests.ready import start_watched, wait_for_port  # noqa: E402

#: The HTTP client run in A: connections at a drifting rate until the deadline.
CLIENT = r"""
import math, random, socket, sys, time
addr, seconds, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
t0 = time.monotonic()
while (t := time.monotonic() - t0) < seconds:
    rate = 3.5 + 1.5 * math.sin(2 * math.pi * t / 600) + rng.uniform(-0.5, 0.5)
    try:
        with socket.create_connection((addr, 8099), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.0\r\nHost: b\r\n\r\n")
            while s.recv(65536):
                pass
    except OSError:
        pass
    time.sleep(rng.expovariate(rate))
"""


def gen(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    seconds = args.minutes * 60
    out = Path(args.out).resolve()
    with veth_pair() as pair:
        procs: list[subprocess.Popen[Any]] = []
        try:
            procs.append(subprocess.Popen(pair.run_b("iperf3", "-s", "-p", "5301"),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            procs.append(subprocess.Popen(pair.run_b("iperf3", "-s", "-p", "5302"),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            procs.append(subprocess.Popen(pair.run_b(sys.executable, "-m", "http.server",
                                                     "--bind", pair.addr_b, "8099"),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            for port, proc in ((5301, procs[0]), (5302, procs[1]), (8099, procs[2])):
                wait_for_port(port, pair.ns_b, proc=proc)
            dump = start_watched(pair.run_b("tcpdump", "-i", pair.if_b, "-s", "128", "-U",
                                            "-w", str(out), "tcp"))  # fmt: skip
            procs.append(dump.proc)
            dump.stderr.wait_for("listening on", timeout=20)
            t0 = time.monotonic()
            wall0 = time.time()
            client = subprocess.Popen(pair.run_a(sys.executable, "-c", CLIENT, pair.addr_b,
                                                 str(seconds), str(args.seed)))  # fmt: skip
            procs.append(client)
            rise_at = None
            runs = 0
            while time.monotonic() - t0 < seconds - 6:
                if args.rise_after is not None and rise_at is None \
                        and time.monotonic() - t0 >= args.rise_after:
                    rise_at = _rise(pair, procs, seconds - (time.monotonic() - t0))
                    print(f"rise at {rise_at:.3f} (capture clock), "
                          f"{rise_at - wall0:.0f} s in", flush=True)  # fmt: skip
                pause = rng.uniform(15, 45)
                deadline = time.monotonic() + pause
                rate = rng.randint(5, 20)
                subprocess.run(pair.run_a("iperf3", "-c", pair.addr_b, "-p", "5301", "-t", "5",
                                          "-b", f"{rate}M"), capture_output=True, timeout=60)
                runs += 1
                while time.monotonic() < deadline and time.monotonic() - t0 < seconds - 6:
                    if args.rise_after is not None and rise_at is None \
                            and time.monotonic() - t0 >= args.rise_after:
                        break
                    time.sleep(0.5)
            client.wait(timeout=60)
        finally:
            for proc in reversed(procs):
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
    meta = {"minutes": args.minutes, "iperf_runs": runs, "rise_at": rise_at, "seed": args.seed}
    Path(str(out) + ".json").write_text(json.dumps(meta))
    print(json.dumps(meta))
    return 0


def _rise(pair: VethPair, procs: list[subprocess.Popen[Any]], left: float) -> float:
    subprocess.run(["tc", "-n", pair.ns_a, "qdisc", "add", "dev", pair.if_a, "root", "tbf",
                    "rate", "20mbit", "burst", "32kbit", "latency", "150ms"], check=True)
    # UDP at 125 % of the bucket's rate keeps its queue full (a TCP sender would not:
    # TCP small queues keep its own qdisc short), as a congested uplink's would be.
    procs.append(subprocess.Popen(pair.run_a("iperf3", "-c", pair.addr_b, "-p", "5302", "-u",
                                             "-t", str(int(max(5, left))), "-b", "25M"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return time.time()


def replay(args: argparse.Namespace) -> int:
    print("| capture | kpi_baseline alerts | other alerts | first kpi alert after the rise |")
    print("|---|---|---|---|")
    total_false = 0
    for name in args.files:
        path = Path(name)
        done = subprocess.run([sys.executable, "-m", "netop", "alerts", "-r", str(path),
                               "--json", *(["--config", args.config] if args.config else [])],
                              capture_output=True, text=True, cwd=ROOT, timeout=3600)
        alerts = [json.loads(line) for line in done.stdout.splitlines()
                  if line.startswith("{")]  # fmt: skip
        kpi = [a for a in alerts if a.get("kind") == "kpi_baseline"]
        meta_path = Path(str(path) + ".json")
        rise = json.loads(meta_path.read_text()).get("rise_at") if meta_path.exists() else None
        delay = "—"
        if rise is not None:
            after = [a for a in kpi if a["ts"] >= rise]
            total_false += len(kpi) - len(after)
            delay = f"{after[0]['ts'] - rise:.0f} s: {after[0]['message']}" if after else "none"
        else:
            total_false += len(kpi)
        err = "" if done.returncode == 0 else f" (exit {done.returncode})"
        print(f"| {path.name}{err} | {len(kpi)} | {len(alerts) - len(kpi)} | {delay} |")
        for a in kpi:
            print(f"|  | {a['message']} | | |", file=sys.stderr)
    print(f"\nfalse kpi_baseline alarms: {total_false}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--minutes", type=float, default=30.0)
    g.add_argument("--seed", type=int, default=12)
    g.add_argument("--rise-after", type=float, default=None, metavar="S")
    g.add_argument("--out", required=True)
    r = sub.add_parser("replay")
    r.add_argument("files", nargs="+")
    r.add_argument("--config", default=None)
    args = ap.parse_args(argv)
    return gen(args) if args.mode == "gen" else replay(args)


if __name__ == "__main__":
    sys.exit(main())
