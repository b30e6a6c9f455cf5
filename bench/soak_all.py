"""The combined soak: one netop engine (the TUI's, ticking at its interval) that at the
same time captures churning flows live, collects exports under a mixed hostile flood
and polls an SNMP agent that restarts.

    sudo .venv/bin/python bench/soak_all.py [--minutes 60] [--pps 20000] [--flood 600000]
                                            [--small-limits] [--nice -10]

Everything runs in two network namespaces the soak makes and removes (``tests/netns``):

* ``tcpreplay --pps P --loop --unique-ip`` sends a churn capture (every flow its own
  5-tuple, two packets each: ``P / 2`` new flows a second, new addresses every loop)
  into the veth end in namespace A; the engine captures the other end in namespace B
  (the frames' MAC is no interface's: B's kernel drops them right after the taps) into
  a flow table bounded at ``--max-flows``;
* the engine's collector listens on B's loopback; a flood process in B sends the mixed
  hostile datagrams of ``tests/integration/collector`` from spoofed 127.x sources, and
  softflowd (in B) exports a known capture at :data:`REAL_ROUNDS` of the run;
* a real snmpd on B's loopback is polled, and restarted at ``bench.soak.RESTARTS``.

The engine child prints a JSON line a tick; the parent samples its RSS (and its capture
child's) every tick and checks the accounting at the end: ticks contiguous, every
interval either ticked or counted as lost (a whole interval late, as the TUI's timer
would skip it) and no tick "busy" (the engine process used more CPU since the previous
tick than the interval: it could not keep up on its own; a tick that is late while the
engine was not busy was starved by other processes, and the machine's load is recorded
beside it), packets delivered to the veth = captured + kernel drops, flows created = live +
evicted + expired, datagrams sent (flood + softflowd) = received + kernel drops, every
limit counter, every real flow seen, SNMP rows back after each restart. The summary is
printed and written as JSON to ``bench/results/`` (the per-tick curve beside it). CI
runs a short form (``tests/integration/test_soak_all.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.soak import RESTARTS, paced_ticks, table_row, write_churn  # noqa: E402
from tests.integration.collector.soak import (  # noqa: E402
    MIX,
    SMALL_LIMITS,
    cpu_seconds,
    rss_mib,
)

#: When softflowd exports its capture, as parts of the run (both after the warm-up).
REAL_ROUNDS = (0.5, 0.8)
#: The warm-up, as a part of the run: the table fills, the collector reaches its bounds.
WARMUP = 0.4
#: The sources stop this many seconds before the engine does, so that the last ticks
#: account for everything they sent.
DRAIN = 5.0
#: At most this many seconds of ticks after the run, until everything sent is taken.
SETTLE = 30.0
#: The real exporter's address (softflowd in namespace B sends from B's loopback).
REAL_EXPORTER = "127.0.0.1"
RESULTS = ROOT / "bench" / "results"


# -- the engine child (runs in namespace B) ----------------------------------------------


def child(spec: dict[str, Any]) -> int:
    """Build the TUI's engine from a command line, tap what its capture and collector
    sources hand it, tick it for ``spec["seconds"]`` and print a JSON line per tick."""
    from netop.cli import build_parser
    from netop.commands.tui import build_engine, build_sources
    from netop.config import load_config
    from netop.model import FlowBatch, proto_name
    from netop.sources.base import Emit, SourceItem
    from netop.sources.capture.source import CaptureSource
    from netop.sources.collector.source import CollectorSource

    if spec.get("max_remote_rows"):
        # The CI form lowers the engine's cap on remote (sFlow) interface rows as its
        # config lowers the collector's limits: reached within the warm-up.
        import netop.engine.engine

        netop.engine.engine.MAX_REMOTE_ROWS = int(spec["max_remote_rows"])
    args = build_parser().parse_args(spec["argv"])
    config = load_config(args.config, overrides=args)
    sources = build_sources(args, config)
    engine = build_engine(args, config, sources)
    capture = next(s for s in sources if isinstance(s, CaptureSource))
    collector = next(s for s in sources if isinstance(s, CollectorSource))
    cap_stats: dict[str, int] = {}
    col_stats: dict[str, int] = {}
    real: dict[tuple[str, str, int, str, int], int] = {}
    real_datagrams = [0, 0]  # [datagrams of forgotten states, of the current one]

    def tap(emit: Emit) -> Emit:
        def tapped(item: SourceItem) -> None:
            if isinstance(item, FlowBatch) and item.stats:
                cap_stats.update(item.stats)
            emit(item)

        return tapped

    start_capture = capture.start
    capture.start = lambda emit=None: start_capture(tap(emit) if emit else emit)  # type: ignore[method-assign]
    poll_collector = collector.poll

    def poll(now: float) -> list[SourceItem]:
        items = poll_collector(now)
        for item in items:
            if not isinstance(item, FlowBatch):
                continue
            col_stats.update(item.stats)
            for rec in item.records:
                if rec.exporter == REAL_EXPORTER:
                    key = (proto_name(rec.proto), rec.src, rec.sport, rec.dst, rec.dport)
                    real[key] = real.get(key, 0) + rec.packets
        state = collector.collector.exporters.get(REAL_EXPORTER)
        count = state.datagrams if state is not None else 0
        if count < real_datagrams[1]:  # the state was forgotten and made again
            real_datagrams[0] += real_datagrams[1]
        real_datagrams[1] = count
        return items

    collector.poll = poll  # type: ignore[method-assign]
    engine.start()
    # Ready once the capture child has reported (its ring is open): packets sent before
    # that reach the veth but no socket, and would spoil the count.
    deadline = time.monotonic() + 30
    while not cap_stats and time.monotonic() < deadline:
        time.sleep(0.05)
    port = collector.addresses[0][1]
    print(json.dumps({"ready": True, "collector_port": port, "pid": os.getpid()}), flush=True)
    try:
        cpu = time.process_time()
        interval = engine.config.interval
        busy = lost_before = 0
        settled: tuple[object, ...] = ()
        # The sources stop DRAIN s before the end; a starved engine may still have
        # batches and datagrams queued then, so it ticks on (bounded) until it has taken
        # everything: the accounting is over all that was sent, not a race with the queue.
        for snap, now, lost in paced_ticks(engine, spec["seconds"] + SETTLE):
            # CPU the whole process (all its threads) used since the last tick: with the
            # pacing, tells a busy engine from a starved one.
            used, cpu = time.process_time() - cpu, time.process_time()
            busy += used > interval * (1 + lost - lost_before)
            lost_before = lost
            received = collector.collector.datagrams + collector.collector.refused
            print(json.dumps({
                "t": now, **table_row(engine, snap), "lost": lost,
                "interface_rows": len(snap.interfaces), "events": snap.events_total,
                "cpu": round(used, 3), "busy": busy,
                "capture": dict(cap_stats),
                "collector": {**col_stats, "received": received,
                              "kernel_drops": collector.server.kernel_drops(),
                              **{f"limit_{k}": v for k, v in collector.collector.drops().items()}},
                "real_datagrams": sum(real_datagrams), "real_flows": len(real),
            }), flush=True)  # fmt: skip
            state = (cap_stats.get("kernel_packets"), received, _udp_queued(port),
                     engine._inbox.qsize())  # fmt: skip
            if now >= spec["seconds"] and state == settled and state[2:] == (0, 0):
                break
            settled = state
    finally:
        engine.stop()
    print(json.dumps({"end": True, "real": [[*k, v] for k, v in sorted(real.items())]}),
          flush=True)  # fmt: skip
    return 0


def _udp_queued(port: int) -> int:
    """Bytes waiting in the receive queue of the UDP socket bound to ``port`` (this
    namespace's ``/proc/net/udp``); 0 when there is none."""
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port:
            return int(fields[4].split(":")[1], 16)
    return 0


def flood(port: int, seconds: float, rate: float) -> int:
    """The mixed hostile flood (runs in namespace B); prints what it sent."""
    from tests.integration.collector.hostile import SpoofSender

    sender = SpoofSender(port)
    for _ in sender.flood(MIX, seconds, rate):
        pass
    print(json.dumps({"sent": sender.sent, "bytes": sender.bytes}), flush=True)
    return 0


# -- the parent --------------------------------------------------------------------------


@dataclass
class Soak:
    """What a combined soak measured."""

    seconds: float
    pps: int
    warmup: float
    ticks: list[dict[str, Any]] = field(default_factory=list)
    rss: list[tuple[float, float, float]] = field(default_factory=list)  # t, engine, capture
    restarts: list[float] = field(default_factory=list)
    #: Per restart: the agent's rows in the tick before it, and in the first tick after
    #: it that had rows again (and when).
    snmp_rows: list[tuple[int, int, float]] = field(default_factory=list)
    real_rounds: list[float] = field(default_factory=list)
    real_expected: dict[str, int] = field(default_factory=dict)
    real_seen: dict[str, int] = field(default_factory=dict)
    flood_sent: int = 0
    flood_bytes: int = 0
    veth_rx: int = 0  # packets the capture's veth end received while the soak ran
    veth_tx: int = 0  # packets tcpreplay put on the other end
    cpu: dict[str, float] = field(default_factory=dict)
    load: list[float] = field(default_factory=list)  # the machine's 1-min load, a tick
    stderr: str = ""

    @property
    def last(self) -> dict[str, Any]:
        """The last tick's line."""
        return self.ticks[-1] if self.ticks else {}

    def rss_at(self, t: float, column: int = 1) -> float:
        """RSS (MiB) at the first sample at or after ``t`` s (1: engine, 2: +capture)."""
        after = [row for row in self.rss if row[0] >= t] or self.rss[-1:]
        return after[0][column] if column == 1 else after[0][1] + after[0][2]

    def growth(self, column: int = 1) -> float:
        """Largest RSS after the warm-up over the RSS at its end, minus 1."""
        after = [row[1] if column == 1 else row[1] + row[2]
                 for row in self.rss if row[0] >= self.warmup]  # fmt: skip
        return max(after) / self.rss_at(self.warmup, column) - 1 if after else 0.0


def _link_packets(netns: str, ifname: str, key: str) -> int:
    out = subprocess.run(["ip", "-n", netns, "-s", "-j", "link", "show", ifname],
                         capture_output=True, text=True, timeout=10, check=True)  # fmt: skip
    return int(json.loads(out.stdout)[0]["stats64"][key]["packets"])


def _children(pid: int) -> list[int]:
    import psutil

    try:
        return [kid.pid for kid in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def _child_rss(pid: int) -> float:
    """RSS (MiB) of the children of ``pid`` (the capture child)."""
    return sum(rss_mib(kid) for kid in _children(pid))


def _child_cpu(pid: int) -> float:
    """CPU seconds of the children of ``pid``."""
    total = 0.0
    for kid in _children(pid):
        with contextlib.suppress(OSError):
            total += cpu_seconds(kid)
    return total


def run(seconds: float, workdir: Path, pps: int = 20_000, flood_rate: float = 600_000,
        max_flows: int = 20_000, limits: str = SMALL_LIMITS, max_remote_rows: int | None = 2048,
        log: bool = False) -> Soak:  # fmt: skip
    """Run the combined soak for ``seconds`` (see the module's docstring).

    ``limits``: the ``[collector]`` config; ``max_remote_rows``: the engine's cap on sFlow
    interface rows (None: its default). The defaults here are the CI form's small ones,
    which the flood reaches within a short warm-up.
    """
    from netop.model import proto_name
    from tests.integration.collector.traffic import build
    from tests.integration.snmp.agents import COMMUNITY, Snmpd
    from tests.netns import veth_pair
    from tests.ready import StreamLines

    soak = Soak(seconds, pps, warmup=WARMUP * seconds)
    churn = workdir / "churn.pcap"
    # 100,000 flows: more than the table holds; --unique-ip makes every loop new ones.
    write_churn(churn, 50, 2000)
    real_pcap = workdir / "real.pcap"
    truth = build(real_pcap)
    soak.real_expected = {json.dumps([proto_name(k[0]), *k[1:]]): t.packets
                          for k, t in truth.items()}  # fmt: skip
    config = workdir / "soak.toml"
    config.write_text(limits)
    procs: list[subprocess.Popen[Any]] = []
    with veth_pair() as veth:
        agent = Snmpd(workdir, netns=veth.ns_b).start()
        try:
            argv = ["-n", "-i", veth.if_b, "--no-sampling", "--max-flows", str(max_flows),
                    "--snmp", f"v2c:{COMMUNITY}@127.0.0.1:{agent.port}",
                    "--collect", "127.0.0.1:0", "--config", str(config)]  # fmt: skip
            spec = json.dumps({"argv": argv, "seconds": seconds,
                               "max_remote_rows": max_remote_rows})
            err = (workdir / "engine.err").open("w")
            engine = subprocess.Popen(
                veth.run_b(sys.executable, "-m", "bench.soak_all", "--child", spec),
                stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT)  # fmt: skip
            procs.append(engine)
            assert engine.stdout is not None
            ready = json.loads(engine.stdout.readline() or "{}")
            if not ready.get("ready"):
                raise RuntimeError("the engine did not start: "
                                   + (workdir / "engine.err").read_text()[-2000:])
            port = int(ready["collector_port"])
            rx0 = _link_packets(veth.ns_b, veth.if_b, "rx")
            tx0 = _link_packets(veth.ns_a, veth.if_a, "tx")
            active = max(1.0, seconds - DRAIN)
            loops = math.ceil(pps * active / 200_000) + 1  # the churn file is 200,000 packets
            replay = subprocess.Popen(
                veth.run_a("tcpreplay", "-q", "-i", veth.if_a, "--pps", str(pps),
                           "--loop", str(loops), "--unique-ip", "--duration", str(int(active)),
                           str(churn)),
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
            procs.append(replay)
            flooder = subprocess.Popen(
                veth.run_b(sys.executable, "-m", "bench.soak_all", "--flood-child",
                           str(port), str(active), str(flood_rate)),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)  # fmt: skip
            procs.append(flooder)
            flood_out = StreamLines(flooder.stdout) if flooder.stdout else None
            started = time.monotonic()
            end_line: dict[str, Any] = {}
            curve = (workdir / "ticks.jsonl").open("w")  # as it comes: a long run's curve
            for line in engine.stdout:  # one line a tick: the engine's own pace
                row = json.loads(line)
                if row.get("end"):
                    end_line = row
                    break
                soak.ticks.append(row)
                now = time.monotonic() - started
                soak.rss.append((now, rss_mib(engine.pid), _child_rss(engine.pid)))
                load = float(Path("/proc/loadavg").read_text().split()[0])
                curve.write(json.dumps({**row, "rss": soak.rss[-1], "load": load}) + "\n")
                soak.load.append(load)
                curve.flush()
                soak.cpu = {"engine": cpu_seconds(engine.pid), "capture": _child_cpu(engine.pid)}
                waiting = [i for i, back in enumerate(soak.snmp_rows) if back[1] == 0]
                if waiting and row["snmp_rows"] > 0:
                    before = soak.snmp_rows[waiting[0]][0]
                    soak.snmp_rows[waiting[0]] = (before, row["snmp_rows"], row["t"])
                if len(soak.restarts) < len(RESTARTS) and now >= seconds * RESTARTS[
                        len(soak.restarts)]:  # fmt: skip
                    agent.restart()
                    soak.restarts.append(row["t"])
                    soak.snmp_rows.append((row["snmp_rows"], 0, 0.0))
                if len(soak.real_rounds) < len(REAL_ROUNDS) and now >= seconds * REAL_ROUNDS[
                        len(soak.real_rounds)]:  # fmt: skip
                    _softflowd(veth.run_b, real_pcap, port, workdir)
                    soak.real_rounds.append(row["t"])
                if log and len(soak.ticks) % 60 == 0:
                    print(f"  {now:6.0f} s  engine RSS {soak.rss[-1][1]:6.1f} MiB  capture "
                          f"{soak.rss[-1][2]:5.1f} MiB  lost {row['lost']}  flows "
                          f"{row['created']}  datagrams {row['collector'].get('received')}",
                          file=sys.stderr, flush=True)  # fmt: skip
                if now > seconds + 60:
                    break
            curve.close()
            soak.real_seen = {json.dumps(r[:-1]): r[-1] for r in end_line.get("real", [])}
            engine.wait(timeout=30)
            replay.wait(timeout=30)
            flooder.wait(timeout=30)
            if flood_out is not None:
                sent = json.loads(flood_out.wait_for('"sent"', 10))
                soak.flood_sent, soak.flood_bytes = sent["sent"], sent["bytes"]
            soak.veth_rx = _link_packets(veth.ns_b, veth.if_b, "rx") - rx0
            soak.veth_tx = _link_packets(veth.ns_a, veth.if_a, "tx") - tx0
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)
            agent.stop()
            soak.stderr = (workdir / "engine.err").read_text(errors="replace")
    return soak


def _softflowd(run_b: Any, pcap: Path, port: int, workdir: Path) -> None:
    """softflowd exports ``pcap`` to the collector (bounded: it reads a file)."""
    softflowd = shutil.which("softflowd")
    if softflowd is None:
        raise RuntimeError("softflowd is not installed (apt-get install softflowd)")
    subprocess.run(
        run_b(softflowd, "-r", str(pcap), "-n", f"127.0.0.1:{port}", "-v", "10", "-6", "-d",
              "-c", "none", "-p", str(workdir / "softflowd.pid")),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, check=True)  # fmt: skip


# -- the summary -------------------------------------------------------------------------


def summary(soak: Soak) -> dict[str, Any]:
    """The figures of a soak, for the report and the JSON file."""
    last = soak.last
    cap = last.get("capture", {})
    col = last.get("collector", {})
    active = max(1.0, soak.seconds - DRAIN)
    expected = {k: v * len(soak.real_rounds) for k, v in soak.real_expected.items()}
    return {
        "seconds": soak.seconds, "pps_asked": soak.pps, "warmup_s": soak.warmup,
        "ticks": len(soak.ticks), "lost_ticks": last.get("lost"),
        "busy_ticks": last.get("busy"),
        "load_median": sorted(soak.load)[len(soak.load) // 2] if soak.load else None,
        "load_max": max(soak.load, default=None),
        "seq_contiguous": [t["seq"] for t in soak.ticks] == list(range(1, len(soak.ticks) + 1)),
        "rss_engine_warmup_mib": round(soak.rss_at(soak.warmup), 1),
        "rss_engine_max_after_mib": round(max(r[1] for r in soak.rss if r[0] >= soak.warmup), 1),
        "rss_engine_growth": round(soak.growth(1), 4),
        "rss_total_warmup_mib": round(soak.rss_at(soak.warmup, 2), 1),
        "rss_total_growth": round(soak.growth(2), 4),
        "capture": {
            "veth_tx": soak.veth_tx, "veth_rx": soak.veth_rx,
            "kernel_packets": cap.get("kernel_packets"), "captured": cap.get("packets"),
            "kernel_drops": cap.get("kernel_drops"), "overflow": cap.get("overflow"),
            "malformed": cap.get("malformed"), "sampling": cap.get("sampling"),
            "pps": round(soak.veth_rx / active), "new_flows_s": round(soak.veth_rx / 2 / active),
        },
        "flow_table": {k: last.get(k) for k in ("created", "flows", "evicted", "expired",
                                                 "losses")},  # fmt: skip
        "collector": {
            "flood_sent": soak.flood_sent, "flood_mb": round(soak.flood_bytes / 1e6, 1),
            "real_datagrams": last.get("real_datagrams"), **col,
        },
        "real_flows": {"expected": len(expected), "seen": len(soak.real_seen),
                       "exact": soak.real_seen == expected, "rounds": len(soak.real_rounds)},
        "snmp": {"restarts": soak.restarts, "rows_back": soak.snmp_rows,
                 "rows_end": last.get("snmp_rows")},
        "cpu_s": soak.cpu,
    }  # fmt: skip


def main() -> int:
    """``--minutes N`` (full: 60): run, print the summary, write it to bench/results/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--pps", type=int, default=20_000, help="churn packets/s (2 a flow)")
    parser.add_argument("--flood", type=float, default=600_000, help="hostile bytes/s")
    parser.add_argument("--max-flows", type=int, default=20_000)
    parser.add_argument("--small-limits", action="store_true",
                        help="the CI form's small collector and remote-row limits "
                             "(default: netop's own defaults)")  # fmt: skip
    parser.add_argument("--nice", type=int, default=-10,
                        help="scheduling priority of the soak and all it starts (default -10: "
                             "on a shared machine the neighbours' load would otherwise be "
                             "what is measured; the load is recorded either way)")  # fmt: skip
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--flood-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))
    if args.flood_child:
        port, seconds, rate = args.flood_child
        return flood(int(port), float(seconds), float(rate))
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # before any thread: all inherit it
    out = RESULTS / f"soak_all-{time.strftime('%Y%m%d-%H%M%S')}.json"
    # The work folder stays beside the figures: its ticks.jsonl (the curve, written as
    # the run goes) and the engine's stderr outlive a run that ends early.
    workdir = out.with_suffix("")
    workdir.mkdir(parents=True)
    soak = run(args.minutes * 60, workdir, args.pps, args.flood, args.max_flows,
               SMALL_LIMITS if args.small_limits else "",
               2048 if args.small_limits else None, log=True)
    figures = summary(soak)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print_summary(figures)
    print(f"written to {out} (per-tick curve: {workdir / 'ticks.jsonl'})")
    return 0


def print_summary(f: dict[str, Any]) -> None:
    """The figures as a few lines for a person."""
    cap, col, real, snmp = f["capture"], f["collector"], f["real_flows"], f["snmp"]
    limits = ", ".join(f"{k[6:]} {v}" for k, v in sorted(col.items())
                       if k.startswith("limit_") and v)  # fmt: skip
    print(f"{f['seconds'] / 60:.0f} min, {f['ticks']} ticks (seq contiguous: "
          f"{f['seq_contiguous']}), lost {f['lost_ticks']}, over CPU budget "
          f"{f['busy_ticks']}; machine load median {f['load_median']} max {f['load_max']}")
    print(f"RSS engine: {f['rss_engine_warmup_mib']} MiB at the end of the {f['warmup_s']:.0f} s "
          f"warm-up, max after {f['rss_engine_max_after_mib']} MiB "
          f"({f['rss_engine_growth']:+.1%}); with the capture child {f['rss_total_growth']:+.1%}")
    print(f"capture: {cap['pps']} packets/s = {cap['new_flows_s']} new flows/s; veth sent "
          f"{cap['veth_tx']}, received {cap['veth_rx']} = kernel {cap['kernel_packets']} = "
          f"captured {cap['captured']} + kernel drops {cap['kernel_drops']}; overflow "
          f"{cap['overflow']}, sampling 1/{cap['sampling']}")
    table = f["flow_table"]
    print(f"flow table: created {table['created']} = live {table['flows']} + evicted "
          f"{table['evicted']} + expired {table['expired']} ({table['losses']})")
    print(f"collector: sent {col['flood_sent']} hostile ({col['flood_mb']} MB) + "
          f"{col['real_datagrams']} real datagrams; received {col['received']}, kernel drops "
          f"{col['kernel_drops']}; dropped by limits: {limits}")
    print(f"real flows: {real['seen']} of {real['expected']} over {real['rounds']} rounds "
          f"({'exact' if real['exact'] else 'MISSING OR WRONG'}); SNMP restarts at "
          f"{snmp['restarts']}, rows before/after: {snmp['rows_back']}")


if __name__ == "__main__":
    sys.exit(main())
