"""Benchmark of issue 4 (Performance): the engine tick and the TUI with 100k live flows.

    .venv/bin/python bench/flows.py [--flows 100000] [--ticks 20] [--duration 30]
                                    [--skip-tui] [--skip-engine] [--active 0.1,1]
                                    [--default-spec-only] [--merge-reps 7]
    .venv/bin/python bench/flows.py --views [--flows 100000] [--reps 9] [--active 0.1]

Part 0, merge: the flow table alone, N flows all moving every tick: the C merge
(``_fastflow.merge``) and the pure-Python merge (``NETOP_PURE_PYTHON=1``), each in its
own process, alternated in the same run (median of ``--merge-reps`` merges each: CPU
and wall ms, µs CPU per delta), after the first merge that creates the N flows.

Part 1, engine tick: an :class:`~netop.engine.engine.Engine` with one source whose
``poll(now)`` returns one ``FlowBatch("capture", records)``. The source keeps N distinct
flows alive: the first tick creates all of them; after that, each tick either 10 % of
the flows (a different tenth each tick, so every flow moves every 10 s, inside the 15 s
idle timeout) or all N send a delta. ``now`` advances 1 s per tick. The batch is built
before the timed call (the source's own cost is not the engine's). Per view spec
(sort by rate / bytes, two filters, aggregation by remote and by process) it measures
``engine.tick(now)`` wall and CPU time (``time.process_time``), medians over ``--ticks``
ticks after 2 warm-up ticks with that spec (and once more for the default spec with the
cyclic GC disabled around the tick, to show its share), split into ``FlowTable.merge``,
``FlowViewBuilder.build``, ``FlowTable.end_tick`` + ``expire`` and the rest (timed by
wrapping those bound methods on the instances). One tick is profiled with cProfile.

Part 2, TUI: a pcap (written here with ``struct``) keeps ~N flows alive for ~70 s of
packet time: each flow sends one packet every 10 s (N/10 packets/s), Ethernet/IPv4,
80 % TCP (ACK) / 20 % UDP, 60-120 byte frames. ``netop --interval 1 -r FILE --speed 1``
runs for ``--duration`` s in a 120x40 pty inside the idle namespace of ``bench/tui.py``
(its ``namespace()`` and ``measure()`` are reused, so CPU, bytes/s after the first frame,
first frame and peak RSS mean the same as there). For comparison a pcap with 100 flows
at the same packet rate (each flow 100 packets/s). The per-process split of CPU seconds
comes from the same psutil samples. ``cpu_pct_steady`` is CPU % from first frame + 11 s
(once every flow of the file has been seen) to the end.

Part 3 (``--views``, alone): ``FlowViewBuilder.build`` CPU time per aggregation mode
(connection, remote, process, port, protocol) over the same N flows, 10 % (``--active``)
moving per tick, sort by rate, top 200; once without enrichment and once with in-process stubs for
names (half the remotes resolve), the local side and processes (one flow in ten without
an owner, so retried). Peer in the same run: ``nfdump -s STAT -n 200`` (its top-N
statistic by dstip / dstport / proto) over the same flows written by ``nfpcapd``, CPU
time beyond a read that prints nothing.

Output: markdown tables on stdout, JSON in ``bench/results/flows-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import gc
import io
import json
import os
import pstats
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import tui  # noqa: E402  (bench/tui.py: the pty meter)

from netop.config import Config  # noqa: E402
from netop.engine.engine import Engine  # noqa: E402
from netop.engine.flowview import Enrichment  # noqa: E402
from netop.model import AGGREGATIONS, FlowBatch, FlowRecord, ViewSpec  # noqa: E402
from netop.sources.base import Source, SourceItem  # noqa: E402

RESULTS = ROOT / "bench" / "results"
T0 = 1_700_000_000.0
WARMUP_TICKS = 2

SPECS: list[tuple[str, dict[str, Any]]] = [
    ("sort rate (default)", {}),
    ("sort bytes", {"sort": "bytes"}),
    ("filter tcp and port 443", {"filter_text": "tcp and port 443"}),
    ("filter net 10/8 and bytes > 1M", {"filter_text": "net 10.0.0.0/8 and bytes > 1M"}),
    ("aggregate remote", {"aggregate": "remote"}),
    ("aggregate process", {"aggregate": "process"}),
]


# -- part 1: the engine ---------------------------------------------------------------


class FlowKey:
    """One synthetic flow: its 5-tuple and how much it sends per delta."""

    __slots__ = ("proto", "src", "sport", "dst", "dport", "size")

    def __init__(self, rng: random.Random, i: int, n_remotes: int) -> None:
        self.proto = 6 if rng.random() < 0.8 else 17
        local = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255 or 1}"
        r = rng.randrange(n_remotes)
        # half the remotes are inside 10/8 too (east-west traffic), half public
        remote = f"10.200.{r >> 8 & 255}.{r & 255}" if r % 2 else f"93.{r >> 8 & 255}.{r & 255}.7"
        self.src, self.dst = local, remote
        self.sport = 1024 + i % 60000
        self.dport = rng.choice((443, 443, 443, 80, 53, 22, 8080, 5201))
        # heavy tail: 0.5 % elephants, 5 % medium, the rest mice (bytes per delta)
        u = rng.random()
        self.size = 1_500_000 if u < 0.005 else 100_000 if u < 0.055 else 600


def make_flows(n: int, seed: int = 4) -> list[FlowKey]:
    """N distinct flows over n/20 remote hosts."""
    rng = random.Random(seed)
    return [FlowKey(rng, i, max(n // 20, 1)) for i in range(n)]


class SyntheticSource(Source):
    """Returns the batch prepared by :meth:`prepare` (built outside the timed tick)."""

    name = "capture"
    produces_flows = True

    def __init__(self, flows: list[FlowKey], active_fraction: float) -> None:
        self.flows = flows
        self.groups = max(1, round(1 / active_fraction))
        self.tick = 0
        self._batch: FlowBatch | None = None

    def prepare(self, now: float) -> int:
        """Build this tick's deltas: all flows on the first tick, then one group."""
        if self.tick == 0 or self.groups == 1:
            chosen: Iterable[FlowKey] = self.flows
        else:
            chosen = self.flows[self.tick % self.groups :: self.groups]
        records = tuple(
            FlowRecord(f.proto, f.src, f.sport, f.dst, f.dport, None,
                       max(1, f.size // 1000), f.size, 1, 60, now - 0.5, now,
                       0x10 if f.proto == 6 else 0)
            for f in chosen
        )  # fmt: skip
        self.tick += 1
        self._batch = FlowBatch("capture", records)
        return len(records)

    def poll(self, now: float) -> Iterable[SourceItem]:
        """The prepared batch, once."""
        batch, self._batch = self._batch, None
        return (batch,) if batch is not None else ()


class Timer:
    """Wraps a bound method, adding its wall and CPU time to per-tick totals."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.wall = 0.0
        self.cpu = 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        w, c = time.perf_counter(), time.process_time()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.wall += time.perf_counter() - w
            self.cpu += time.process_time() - c

    def take(self) -> tuple[float, float]:
        out = (self.wall, self.cpu)
        self.wall = self.cpu = 0.0
        return out


def engine_bench(
    flows: list[FlowKey], fraction: float, ticks: int, profile_spec: str | None
) -> tuple[list[dict[str, Any]], str]:
    """Every view spec on one engine; returns rows of medians (ms) and a cProfile text."""
    source = SyntheticSource(flows, fraction)
    engine = Engine(Config(), [source], hostname="bench", clock=lambda: T0)
    table = engine.flow_table
    t_merge = Timer(table.merge)
    t_end = Timer(table.end_tick)
    t_exp = Timer(table.expire)
    t_build = Timer(engine._flow_view.build)
    table.merge = t_merge  # type: ignore[method-assign]
    table.end_tick = t_end  # type: ignore[method-assign]
    table.expire = t_exp  # type: ignore[method-assign]
    engine._flow_view.build = t_build  # type: ignore[method-assign]
    now = T0
    timers = (t_merge, t_build, t_end, t_exp)

    def one_tick() -> dict[str, float]:
        nonlocal now
        now += 1.0
        n = source.prepare(now)
        for t in timers:
            t.take()
        w, c = time.perf_counter(), time.process_time()
        snap = engine.tick(now)
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        (mw, mc), (bw, bc), (ew, ec), (xw, xc) = (t.take() for t in timers)
        return {
            "deltas": n, "live": snap.flows.total_flows, "matched": snap.flows.matched_flows,
            "rows": len(snap.flows.rows), "wall": wall, "cpu": cpu,
            "merge_cpu": mc, "build_cpu": bc, "expire_cpu": ec + xc,
            "other_cpu": cpu - mc - bc - ec - xc,
            "merge_wall": mw, "build_wall": bw, "expire_wall": ew + xw,
        }  # fmt: skip

    first = one_tick()  # creates every flow
    out: list[dict[str, Any]] = []
    prof_text = ""
    for label, changes in SPECS:
        engine.view_spec = dataclasses.replace(ViewSpec(), **changes)
        for _ in range(WARMUP_TICKS):
            one_tick()
        samples = [one_tick() for _ in range(ticks)]
        row: dict[str, Any] = {"spec": label, "active": fraction}
        for k in samples[0]:
            row[k] = statistics.median(s[k] for s in samples)
        row["cpu_max"] = max(s["cpu"] for s in samples)
        out.append(row)
        if label == profile_spec:
            now += 1.0
            source.prepare(now)
            wrapped = [(table, "merge"), (table, "end_tick"), (table, "expire"),
                       (engine._flow_view, "build")]  # fmt: skip
            saved = [vars(obj).pop(name) for obj, name in wrapped]  # profile without Timer
            prof = cProfile.Profile()
            prof.enable()
            engine.tick(now)
            prof.disable()
            for (obj, name), fn in zip(wrapped, saved, strict=True):
                setattr(obj, name, fn)
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(8)
            prof_text = buf.getvalue()
    # Diagnostic: how much of the default tick is the cyclic GC rescanning the table.
    engine.view_spec = ViewSpec()
    gc.disable()
    try:
        for _ in range(WARMUP_TICKS):
            one_tick()
        samples = [one_tick() for _ in range(ticks)]
    finally:
        gc.enable()
    row = {"spec": "sort rate, GC off (diagnostic)", "active": fraction}
    row.update({k: statistics.median(s[k] for s in samples) for k in samples[0]})
    out.append({**row, "cpu_max": max(s["cpu"] for s in samples)})
    out.insert(0, {"spec": "first tick (creates all)", "active": 1.0, **first,
                   "cpu_max": first["cpu"]})  # fmt: skip
    return out, prof_text


def merge_bench(flows: list[FlowKey], reps: int) -> dict[str, Any]:
    """C and pure-Python merge of an all-active batch into a table of N flows.

    Each peer runs in its own process (``NETOP_PURE_PYTHON=1`` for Python: the entries
    then have plain slots, as on a machine without a compiler); the two alternate, one
    merge each, ``reps`` times. Medians of CPU time (``time.process_time``) and wall.
    """
    import subprocess

    out: dict[str, Any] = {"flows": len(flows)}
    samples: dict[str, list[tuple[float, float]]] = {"C": [], "Python": []}
    procs = {}
    for name in samples:
        env = dict(os.environ)
        if name == "Python":
            env["NETOP_PURE_PYTHON"] = "1"
        procs[name] = subprocess.Popen(
            [sys.executable, __file__, "--merge-worker", str(len(flows))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
    try:
        for name, proc in procs.items():  # each builds its table: wait until ready
            assert proc.stdout is not None
            line = proc.stdout.readline().split()
            out[f"{name}_engine"] = line[1] if len(line) > 1 else "?"
        for _ in range(reps):
            for name, proc in procs.items():
                assert proc.stdin is not None
                assert proc.stdout is not None
                proc.stdin.write("merge\n")
                proc.stdin.flush()
                cpu, wall = map(float, proc.stdout.readline().split())
                samples[name].append((cpu, wall))
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()
    for name, values in samples.items():
        cpu = statistics.median(v[0] for v in values)
        out[f"{name}_cpu_ms"] = round(cpu * 1e3, 1)
        out[f"{name}_wall_ms"] = round(statistics.median(v[1] for v in values) * 1e3, 1)
        out[f"{name}_us_per_delta"] = round(cpu * 1e6 / len(flows), 3)
    out["python_over_c"] = round(out["Python_cpu_ms"] / out["C_cpu_ms"], 2)
    return out


def merge_worker(n: int) -> int:
    """One merge peer (see :func:`merge_bench`): a table of ``n`` flows, then one
    all-active merge per ``merge`` line on stdin, answering ``cpu wall`` seconds."""
    from netop.engine.flowtable import FlowTable

    table = FlowTable()
    src = SyntheticSource(make_flows(n), 1.0)
    now = T0
    src.prepare(now)
    for batch in src.poll(now):
        table.merge(batch, now)  # type: ignore[arg-type]
    table.end_tick()
    print("ready", "C" if getattr(table, "_fast", None) is not None else "Python", flush=True)
    for line in sys.stdin:
        if line.strip() != "merge":
            break
        now += 1.0
        src.prepare(now)
        (batch,) = src.poll(now)
        gc.collect()
        c, w = time.process_time(), time.perf_counter()
        table.merge(batch, now)  # type: ignore[arg-type]
        print(time.process_time() - c, time.perf_counter() - w, flush=True)
        table.end_tick()
        table.expire(now)
    return 0


def engine_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| active/tick | spec | deltas | live | matched | tick wall ms | tick CPU ms (max) "
        "| merge CPU ms | view build CPU ms | end_tick+expire CPU ms | other CPU ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['active']:.0%} | {r['spec']} | {r['deltas']:.0f} | {r['live']:.0f} | "
            f"{r['matched']:.0f} | {r['wall'] * 1e3:.1f} | {r['cpu'] * 1e3:.1f} "
            f"({r['cpu_max'] * 1e3:.1f}) | {r['merge_cpu'] * 1e3:.1f} | "
            f"{r['build_cpu'] * 1e3:.1f} | {r['expire_cpu'] * 1e3:.1f} | "
            f"{r['other_cpu'] * 1e3:.1f} |"
        )
    return "\n".join(lines)


# -- part 3: the view build per aggregation mode, against nfdump's top-N statistics -----


class _Names:
    """Half the remote hosts have a name (the other half stay unresolved, as in life)."""

    def lookup(self, address: str) -> str | None:
        return f"host{address.rsplit('.', 1)[-1]}.example" if address.startswith("93.") else None


class _Local:
    """The synthetic flows' source is this host."""

    def local_side(self, record: FlowRecord) -> str | None:
        return "src"


class _Proc:
    __slots__ = ("pid", "name", "user")

    def __init__(self, pid: int) -> None:
        self.pid, self.name, self.user = pid, f"app{pid % 40}", "root"


class _Gone:
    reason = "socket gone"


class _Procs:
    """Nine flows in ten have an owner (40 programs); the rest are retried every 2 s."""

    def lookup_flow(self, record: FlowRecord) -> object:
        return _Gone() if record.sport % 10 == 0 else _Proc(record.sport % 400)


#: nfdump's equivalent of each aggregation (its ``-s`` top-N statistic), where one exists.
NFDUMP_STAT = {"remote": "dstip/bytes", "port": "dstport/bytes", "protocol": "proto/bytes"}


def view_bench(
    flows: list[FlowKey], reps: int, enriched: bool, active: float
) -> list[dict[str, Any]]:
    """CPU ms of ``FlowViewBuilder.build`` per aggregation mode (``active`` of the flows
    move per tick, sort by rate, top 200), median of ``reps`` ticks after two warm-up
    ticks."""
    source = SyntheticSource(flows, active)
    enrichment = Enrichment(names=_Names(), local=_Local(), procs=_Procs()) if enriched else None
    engine = Engine(Config(), [source], hostname="bench", clock=lambda: T0,
                    enrichment=enrichment)  # fmt: skip
    t_build = Timer(engine._flow_view.build)
    engine._flow_view.build = t_build  # type: ignore[method-assign]
    now = T0
    out = []
    for mode in AGGREGATIONS:
        engine.view_spec = ViewSpec(aggregate=mode)
        samples = []
        for n in range(WARMUP_TICKS + reps):
            now += 1.0
            source.prepare(now)
            t_build.take()
            engine.tick(now)
            if n >= WARMUP_TICKS:
                samples.append(t_build.take()[1])
        out.append({"mode": mode, "enriched": enriched, "build_cpu": statistics.median(samples),
                    "build_cpu_max": max(samples)})  # fmt: skip
    return out


def nfdump_bench(flows: list[FlowKey], reps: int) -> dict[str, float]:
    """CPU s of ``nfdump -s STAT -n 200`` over the same flows, minus a read that prints
    nothing (``proto 255``), median of ``reps``; empty when nfdump is not installed."""
    if not (shutil.which("nfpcapd") and shutil.which("nfdump")):
        return {}
    import filter as filter_bench  # bench/filter.py: pcap writer and nfdump runner

    facts = [types.SimpleNamespace(record=FlowRecord(
        f.proto, f.src, f.sport, f.dst, f.dport, bytes=max(60, f.size % 1400)))
        for f in flows]  # fmt: skip
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="netop-agg-") as tmp:
        path = filter_bench.nfdump_file(Path(tmp), facts)  # type: ignore[arg-type]
        if path is None:
            return {}
        base = filter_bench.nfdump_cpu(path, "proto 255", reps)
        for mode, stat in NFDUMP_STAT.items():
            times = []
            for _ in range(reps):
                before = filter_bench.children_cpu()
                subprocess.run(["nfdump", "-r", str(path), "-q", "-n", "200", "-s", stat],
                               capture_output=True, timeout=300, check=True)  # fmt: skip
                times.append(filter_bench.children_cpu() - before)
            out[mode] = max(statistics.median(times) - base, 0.0)
        out["read"] = base
    return out


def view_table(rows: list[dict[str, Any]], peer: dict[str, float]) -> str:
    lines = [
        "| aggregation | enrichment | view build CPU ms (max) | nfdump -s top 200, CPU ms "
        "beyond its read | netop / nfdump |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        nf = peer.get(r["mode"])
        ratio = f"{r['build_cpu'] / nf:.2f}" if nf else "n/a"
        nf_text = f"{nf * 1e3:.1f}" if nf is not None else "n/a"
        lines.append(
            f"| {r['mode']} | {'stubs' if r['enriched'] else 'none'} | "
            f"{r['build_cpu'] * 1e3:.1f} ({r['build_cpu_max'] * 1e3:.1f}) | {nf_text} | {ratio} |"
        )
    if "read" in peer:
        lines.append(f"\nnfdump's read of the file (subtracted): {peer['read'] * 1e3:.1f} ms")
    return "\n".join(lines)


# -- part 2: the TUI ------------------------------------------------------------------


def _csum(header: bytes) -> int:
    s = sum(struct.unpack("!10H", header))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _frame(rng: random.Random, i: int) -> bytes:
    """One Ethernet/IPv4/TCP-or-UDP frame of 60-120 bytes for flow i."""
    tcp = rng.random() < 0.8
    length = rng.randrange(60, 121)
    l4 = 20 if tcp else 8
    payload = length - 14 - 20 - l4
    src = bytes((10, (i >> 16) & 255, (i >> 8) & 255, i & 255 or 1))
    r = rng.randrange(5000)
    dst = bytes((93, r >> 8 & 255, r & 255, 7))
    sport = 1024 + i % 60000
    dport = rng.choice((443, 443, 443, 80, 53, 8080))
    ip_len = 20 + l4 + payload
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, i & 0xFFFF, 0x4000, 64,
                      6 if tcp else 17, 0, src, dst)  # fmt: skip
    iph = iph[:10] + struct.pack("!H", _csum(iph)) + iph[12:]
    if tcp:
        l4h = struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 0x50, 0x10, 65535, 0, 0)
    else:
        l4h = struct.pack("!HHHH", sport, dport, 8 + payload, 0)
    eth = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00"
    return eth + iph + l4h + bytes(payload)


def write_pcap(path: Path, n_flows: int, seconds: float, pps: float, seed: int = 4) -> int:
    """Flows sending in turn, evenly spaced at ``pps``; each flow every n_flows/pps s."""
    rng = random.Random(seed)
    frames = [_frame(rng, i) for i in range(n_flows)]
    heads = [struct.pack("<II", len(f), len(f)) + f for f in frames]
    n_packets = int(seconds * pps)
    step_us = 1e6 / pps
    pack = struct.Struct("<II").pack
    base = int(T0)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        chunk: list[bytes] = []
        for k in range(n_packets):
            us = int(k * step_us)
            chunk.append(pack(base + us // 1_000_000, us % 1_000_000))
            chunk.append(heads[k % n_flows])
            if len(chunk) >= 200_000:
                fh.write(b"".join(chunk))
                chunk = []
        fh.write(b"".join(chunk))
    return n_packets


class NamedSampler(tui.TreeSampler):
    """The pty meter's sampler, also keeping each process's name (for the split)."""

    last: NamedSampler | None = None

    def __init__(self, pid: int) -> None:
        super().__init__(pid)
        self.names: dict[int, str] = {}
        self.threads: dict[int, int] = {}
        NamedSampler.last = self

    def sample(self, t: float) -> None:
        super().sample(t)
        for pid, p in list(self.procs.items()):
            try:  # every time: "ip netns exec" becomes netop when it execs
                cmd = p.cmdline()
                self.names[pid] = " ".join(a.rsplit("/", 1)[-1] for a in cmd[:3]) or p.name()
            except Exception:
                self.names.setdefault(pid, "?")
            with contextlib.suppress(Exception):
                self.threads[pid] = max(self.threads.get(pid, 0), p.num_threads())


def tui_run(ns: str, pcap: Path, label: str, duration: float) -> dict[str, Any]:
    """One netop run on ``pcap`` in the 120x40 pty of bench/tui.py."""
    argv = [str(ROOT / ".venv" / "bin" / "netop"), "--interval", "1", "-r", str(pcap),
            "--speed", "1"]  # fmt: skip
    tui.program_argv = lambda name: argv
    tui.TreeSampler = NamedSampler  # type: ignore[misc]
    r = tui.measure(ns, "netop", 120, 40, duration, 0)
    s = NamedSampler.last
    assert s is not None
    steady = None
    if r.t_first_frame_s is not None:
        start = next(((t, c) for t, c in s.samples if t >= r.t_first_frame_s + 11.0), None)
        end = s.samples[-1]
        if start is not None and end[0] > start[0]:
            steady = round(100.0 * (end[1] - start[1]) / (end[0] - start[0]), 2)
    procs = [
        {"pid": pid, "cmd": s.names.get(pid, "?"), "cpu_s": round(cpu, 2),
         "threads": s.threads.get(pid)}
        for pid, cpu in s.cpu.items()
    ]  # fmt: skip
    out = dataclasses.asdict(r)
    out.pop("burst_log")
    out.update(label=label, cpu_pct_steady=steady, processes=procs)
    return out


def tui_table(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| pcap | CPU % (from 1st frame+1 s) | CPU % steady (from +11 s) | KB/s after 1st "
        "frame | B/update (median) | updates/s | 1st frame s | peak RSS MB | CPU s per process |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        per = "; ".join(f"{p['cmd']}: {p['cpu_s']}" for p in r["processes"] if p["cpu_s"] > 0.05)
        kbs = None if r["bytes_per_s"] is None else r["bytes_per_s"] / 1000
        lines.append(
            f"| {r['label']} | {tui._f(r['cpu_pct'], '.1f')} | "
            f"{tui._f(r['cpu_pct_steady'], '.1f')} | {tui._f(kbs, '.2f')} | "
            f"{tui._f(r['bytes_per_update'], '.0f')} "
            f"({tui._f(r['bytes_per_update_median'], '.0f')}) | "
            f"{tui._f(r['updates_per_s'], '.2f')} | {tui._f(r['t_first_frame_s'], '.2f')} | "
            f"{r['peak_rss_mb']:.0f} | {per}"
            + (" EXITED EARLY" if r["exited_early"] else "")
            + " |"
        )
    return "\n".join(lines)


# -- main -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["--merge-worker"]:
        return merge_worker(int(args_in[1]))
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--flows", type=int, default=100_000, help="live flows (100000)")
    ap.add_argument("--ticks", type=int, default=20, help="measured ticks per spec (20)")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per TUI run (30)")
    ap.add_argument("--pcap-seconds", type=float, default=70.0, help="packet time (70)")
    ap.add_argument("--skip-tui", action="store_true", help="engine part only")
    ap.add_argument("--skip-engine", action="store_true", help="TUI part only")
    ap.add_argument("--views", action="store_true",
                    help="only part 3: view build per aggregation mode, and nfdump -s")
    ap.add_argument("--reps", type=int, default=9, help="ticks per mode in part 3 (9)")
    ap.add_argument("--active", default="0.1,1",
                    help="fractions of the flows that move per tick (0.1,1; --views: the first)")
    ap.add_argument("--default-spec-only", action="store_true", help="sort by rate only")
    ap.add_argument("--merge-reps", type=int, default=7, help="merges per peer (7)")
    args = ap.parse_args(argv)
    if args.default_spec_only:
        del SPECS[1:]
    started = time.strftime("%Y%m%d-%H%M%S")
    meta = {"started": started, "flows": args.flows, "ticks": args.ticks}
    result: dict[str, Any] = {"meta": {**meta, "cpu_count": os.cpu_count()}}
    if args.views:
        flows = make_flows(args.flows)
        print(f"views: {args.flows} flows, {args.reps} ticks per mode ...", file=sys.stderr)
        active = float(args.active.split(",")[0])
        view_rows = (view_bench(flows, args.reps, False, active)
                     + view_bench(flows, args.reps, True, active))
        peer = nfdump_bench(flows, args.reps)
        print(f"## View build per aggregation, {args.flows} live flows, {active:.0%} move "
              f"per tick, sort rate, top 200 (medians of {args.reps})\n")
        print(view_table(view_rows, peer))
        result["views"] = view_rows
        result["nfdump"] = peer
        args.skip_engine = args.skip_tui = True
    if not args.skip_engine:
        flows = make_flows(args.flows)
        rows: list[dict[str, Any]] = []
        profiles: dict[str, str] = {}
        merge = merge_bench(flows, args.merge_reps)
        print(f"## Merge, {args.flows} flows all moving (median of {args.merge_reps})\n")
        print("| merge | engine | CPU ms | wall ms | µs CPU per delta |\n|---|---|---|---|---|")
        for name in ("C", "Python"):
            print(f"| {name} | {merge[name + '_engine']} | {merge[name + '_cpu_ms']} | "
                  f"{merge[name + '_wall_ms']} | {merge[name + '_us_per_delta']} |")
        print(f"\nPython / C: {merge['python_over_c']}\n")
        result["merge"] = merge
        for fraction in (float(f) for f in args.active.split(",")):
            print(f"engine: {args.flows} flows, {fraction:.0%} active/tick ...", file=sys.stderr)
            r, prof = engine_bench(flows, fraction, args.ticks, "sort rate (default)")
            rows += r
            profiles[f"{fraction:.0%} active, sort rate"] = prof
        print(f"## Engine tick, {args.flows} live flows (medians of {args.ticks} ticks)\n")
        print(engine_table(rows))
        for name, text in profiles.items():
            print(f"\n### cProfile, one tick ({name}), by own time\n\n```")
            print(text.strip())
            print("```")
        result["engine"] = rows
        result["profiles"] = profiles
    if not args.skip_tui:
        if os.geteuid() != 0:
            ap.error("the TUI part must run as root (it creates a network namespace)")
        runs: list[dict[str, Any]] = []
        with tempfile.TemporaryDirectory(prefix="netop-flows-") as tmp:
            pps = args.flows / 10.0
            cases = [(f"{args.flows} flows", args.flows), ("100 flows", 100)]
            with tui.namespace() as (ns, _kind):
                for label, n in cases:
                    pcap = Path(tmp) / f"flows-{n}.pcap"
                    t = time.perf_counter()
                    packets = write_pcap(pcap, n, args.pcap_seconds, pps)
                    print(f"pcap {label}: {packets} packets, {pcap.stat().st_size >> 20} MiB "
                          f"in {time.perf_counter() - t:.1f} s; running netop ...",
                          file=sys.stderr)  # fmt: skip
                    run = tui_run(ns, pcap, f"{label}, {pps:.0f} pkt/s", args.duration)
                    run["packets"] = packets
                    runs.append(run)
                    pcap.unlink()
        print(f"\n## TUI at 120x40, --interval 1 -r FILE --speed 1, {args.duration:.0f} s\n")
        print(tui_table(runs))
        result["tui"] = runs
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"flows-{started}.json"
    out.write_text(json.dumps(result, indent=1, default=str))
    print(f"\nJSON: {out.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
