"""Benchmark: what a person watching a network TUI over SSH pays (netop vs btop/glances/bmon).

    .venv/bin/python bench/tui.py [--duration 30] [--reps 3] [--sizes 120x40,200x60]
                                  [--programs netop-capture,netop,btop,glances,bmon]

``netop`` is the TUI without packet capture (the namespace has no default route);
``netop-capture`` is what root gets by default, capture on, here on the idle ``dum0``
(``-i dum0``): the UI plus its capture child.

Must run as root (it creates a network namespace). Missing peers are installed with
``apt-get install -y btop glances bmon``.

Set-up: a network namespace ``netop-bench-<pid>`` holding ``lo`` (up) and 30 idle dummy
interfaces ``dum0``..``dum29`` (up; ``ifb`` devices if the kernel has no dummy driver, see
``namespace()``). Every program runs as ``ip netns exec NS PROGRAM``
(``ip`` execs the program, so the spawned PID is the program), so all of them see exactly
those 31 interfaces and no traffic ("idle"). The namespace is deleted at the end.

Each run: a fresh pseudo-terminal of COLSxROWS (TIOCSWINSZ on the slave before spawn),
``TERM=xterm-256color``, ``LANG=LC_ALL=C.UTF-8``, ``COLORTERM`` (and COLUMNS/LINES/TMUX/
TERM_PROGRAM) removed, the program in its own session with the pty as controlling tty. The
master is drained with ``select`` for DURATION seconds; nothing is typed. The only reply
sent is to a cursor-position request (``ESC[6n`` -> ``ESC[1;1R``), in case a program waits
for it. Measured:

* ``t_first_frame_s``: output is split into bursts separated by >= 50 ms of silence; the
  first frame ends at the end of the first burst after which the program has written
  >= 2048 bytes in total (a 120x40 screen of box drawing and colour is far more than that;
  the start-up escape sequences before it are far less).
* ``bytes_per_s``: bytes written after the first frame / time after it.
* ``updates_per_s``: bursts after the first frame / time after it (one burst is normally
  one screen update); ``bytes_per_update``: mean bytes per such burst,
  ``bytes_per_update_median``: median (programs that also redraw a clock or a cursor
  have many small bursts besides the big ones).
* ``cpu_pct``: user+sys CPU seconds of the process tree (every PID ever seen in the tree,
  last value of each; psutil, sampled every 0.5 s and once more just before the stop) as
  % of one core, steady window = from the first sample >= first frame + 1 s to the end.
* ``peak_rss_mb``: max over the samples of the summed RSS of the tree.
* ``processes``: the same CPU % (steady window) and peak RSS per process of the tree
  (``capture-child`` apart from the UI), printed as a second table.

The program is stopped by its PID: SIGTERM, SIGKILL after 3 s (then its process group,
which is its own session, is SIGKILLed so nothing it started survives). Runs are
interleaved (rep -> size -> program); runs in which the program exited early are left out of the
table (the n column; they stay in the JSON). Output: a markdown table of medians over the
repetitions (with min-max of CPU % and bytes/s) and JSON in
``bench/results/tui-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
N_DUMMIES = 30
GAP_S = 0.050
FIRST_FRAME_BYTES = 2048
SAMPLE_S = 0.5
WARMUP_S = 1.0
CPR_QUERY = b"\x1b[6n"
CPR_REPLY = b"\x1b[1;1R"
CAPTURE_IFACE = "dum0"


def program_argv(name: str) -> list[str]:
    """The command line for one program under test (default settings except netop's)."""
    netop = [str(ROOT / ".venv" / "bin" / "netop"), "--interval", "1"]
    if name == "netop":
        return netop
    if name == "netop-capture":
        # what a root user gets by default (capture on the default route's interface),
        # on an interface that carries nothing: the capture child's idle cost
        return [*netop, "-i", CAPTURE_IFACE]
    return [name]


@dataclass
class RunResult:
    program: str
    cols: int
    rows: int
    rep: int
    duration_s: float
    exited_early: bool
    bytes_total: int
    t_first_output_s: float | None
    t_first_frame_s: float | None
    bytes_first_frame: int | None
    bytes_per_s: float | None
    bursts_after_first_frame: int
    updates_per_s: float | None
    bytes_per_update: float | None
    bytes_per_update_median: float | None
    cpu_s_total: float
    cpu_pct: float | None
    cpu_window_s: float | None
    peak_rss_mb: float
    pids_seen: int
    #: per process of the tree: label -> {"cpu_pct": steady CPU %, "peak_rss_mb": ...}
    processes: dict[str, dict[str, float | None]] = field(default_factory=dict)
    burst_log: list[tuple[float, int]] = field(default_factory=list)


class TreeSampler:
    """CPU seconds and RSS of a process and all its descendants, sampled over time."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.procs: dict[int, psutil.Process] = {}
        self.cpu: dict[int, float] = {}
        self.peak_rss = 0
        self.samples: list[tuple[float, float]] = []  # (t, total cpu seconds)
        self.pid_samples: list[tuple[float, dict[int, float]]] = []  # (t, {pid: cpu s})
        self.peak_rss_pid: dict[int, int] = {}
        self.labels: dict[int, str] = {}

    def _tree(self) -> list[psutil.Process]:
        try:
            root = self.procs.setdefault(self.pid, psutil.Process(self.pid))
            kids = root.children(recursive=True)
        except psutil.Error:
            return list(self.procs.values())
        return [root] + [self.procs.setdefault(k.pid, k) for k in kids]

    def sample(self, t: float) -> None:
        rss = 0
        for p in self._tree():
            try:
                with p.oneshot():
                    ct = p.cpu_times()
                    self.cpu[p.pid] = ct.user + ct.system
                    one = p.memory_info().rss
                    rss += one
                    self.peak_rss_pid[p.pid] = max(self.peak_rss_pid.get(p.pid, 0), one)
                    self.labels[p.pid] = _label(p)  # again: `ip netns exec` execs
            except psutil.Error:
                continue
        self.peak_rss = max(self.peak_rss, rss)
        self.samples.append((t, sum(self.cpu.values())))
        self.pid_samples.append((t, dict(self.cpu)))


def _label(p: psutil.Process) -> str:
    """A short name for a process of the tree: the capture child is told apart."""
    try:
        cmd = p.cmdline()
    except psutil.Error:
        return "?"
    if any("netop.sources.capture.child" in part for part in cmd):
        return "capture-child"
    if not cmd:
        return p.name()
    first = os.path.basename(cmd[0])
    if first.startswith("python") and len(cmd) > 1 and not cmd[1].startswith("-"):
        return os.path.basename(cmd[1])  # a Python program: its script's name
    return first


def _child_setup() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the program by PID, SIGKILL after 3 s; then SIGKILL its own session's group."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=3)
    # the program is its own session/group leader (setsid), so this group is only its tree
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def measure(
    ns: str,
    program: str,
    cols: int,
    rows: int,
    duration: float,
    rep: int,
    raw_path: Path | None = None,
) -> RunResult:
    """Run one program in a fresh COLSxROWS pty for DURATION seconds and measure it.

    If raw_path is given, every byte the program writes goes there too.
    """
    raw = open(raw_path, "wb") if raw_path is not None else None  # noqa: SIM115
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = dict(os.environ)
    for k in ("COLORTERM", "COLUMNS", "LINES", "TMUX", "STY", "TERM_PROGRAM"):
        env.pop(k, None)
    env.update(TERM="xterm-256color", LANG="C.UTF-8", LC_ALL="C.UTF-8")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        ["ip", "netns", "exec", ns, *program_argv(program)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        preexec_fn=_child_setup,
        close_fds=True,
        cwd="/tmp",
    )
    os.close(slave)
    sampler = TreeSampler(proc.pid)
    deadline = t0 + duration
    next_sample = t0
    total = 0
    t_first: float | None = None
    bursts: list[tuple[float, int]] = []  # (t_end, cumulative bytes at the end)
    in_burst = False
    last_data = t0
    tail = b""
    eof = False
    try:
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            if now >= next_sample:
                sampler.sample(now - t0)
                next_sample += SAMPLE_S
            if eof:
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
                continue
            timeout = min(deadline, next_sample) - now
            if in_burst:
                timeout = min(timeout, last_data + GAP_S - now)
            ready, _, _ = select.select([master], [], [], max(0.0, timeout))
            now = time.monotonic()
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if not data:
                    eof = True
                    continue
                if t_first is None:
                    t_first = now - t0
                total += len(data)
                if raw is not None:
                    raw.write(data)
                scan = tail + data
                for _ in range(scan.count(CPR_QUERY)):
                    with contextlib.suppress(OSError):
                        os.write(master, CPR_REPLY)
                tail = scan[-(len(CPR_QUERY) - 1) :]
                in_burst = True
                last_data = now
            elif in_burst and now - last_data >= GAP_S:
                in_burst = False
                bursts.append((last_data - t0, total))
        t_end = time.monotonic() - t0
        sampler.sample(t_end)
        exited = proc.poll() is not None
    finally:
        _stop(proc)
        with contextlib.suppress(OSError):
            while select.select([master], [], [], 0)[0] and os.read(master, 65536):
                pass
        os.close(master)
        if raw is not None:
            raw.close()
    if in_burst:
        bursts.append((last_data - t0, total))

    ff_idx = next((i for i, (_, b) in enumerate(bursts) if b >= FIRST_FRAME_BYTES), None)
    t_ff = bursts[ff_idx][0] if ff_idx is not None else None
    b_ff = bursts[ff_idx][1] if ff_idx is not None else None
    bps = ups = bpu = bpu_med = None
    n_after = 0
    if ff_idx is not None and t_ff is not None and b_ff is not None and t_end > t_ff:
        after = bursts[ff_idx + 1 :]
        n_after = len(after)
        bps = (total - b_ff) / (t_end - t_ff)
        ups = n_after / (t_end - t_ff)
        sizes = [b - a for (_, a), (_, b) in zip(bursts[ff_idx:], after, strict=False)]
        bpu = (total - b_ff) / n_after if n_after else 0.0
        bpu_med = statistics.median(sizes) if sizes else 0.0
    cpu_total = sum(sampler.cpu.values())
    cpu_pct = window = None
    processes: dict[str, dict[str, float | None]] = {}
    if t_ff is not None:
        start = next(((t, c) for t, c in sampler.samples if t >= t_ff + WARMUP_S), None)
        if start is not None and t_end > start[0]:
            window = t_end - start[0]
            cpu_pct = 100.0 * (cpu_total - start[1]) / window
            begin = next(c for t, c in sampler.pid_samples if t == start[0])
            for pid, label in sampler.labels.items():
                pct = 100.0 * (sampler.cpu.get(pid, 0.0) - begin.get(pid, 0.0)) / window
                entry = processes.setdefault(label, {"cpu_pct": 0.0, "peak_rss_mb": 0.0})
                entry["cpu_pct"] = round((entry["cpu_pct"] or 0.0) + pct, 3)
                entry["peak_rss_mb"] = max(
                    entry["peak_rss_mb"] or 0.0,
                    round(sampler.peak_rss_pid.get(pid, 0) / 2**20, 1),
                )
    return RunResult(
        program=program,
        cols=cols,
        rows=rows,
        rep=rep,
        duration_s=round(t_end, 3),
        exited_early=exited,
        bytes_total=total,
        t_first_output_s=None if t_first is None else round(t_first, 4),
        t_first_frame_s=None if t_ff is None else round(t_ff, 4),
        bytes_first_frame=b_ff,
        bytes_per_s=None if bps is None else round(bps, 1),
        bursts_after_first_frame=n_after,
        updates_per_s=None if ups is None else round(ups, 3),
        bytes_per_update=None if bpu is None else round(bpu, 1),
        bytes_per_update_median=bpu_med,
        cpu_s_total=round(cpu_total, 3),
        cpu_pct=None if cpu_pct is None else round(cpu_pct, 3),
        cpu_window_s=None if window is None else round(window, 2),
        peak_rss_mb=round(sampler.peak_rss / 2**20, 1),
        pids_seen=len(sampler.cpu),
        processes=processes,
        burst_log=[(round(t, 3), b) for t, b in bursts[:300]],
    )


@contextlib.contextmanager
def namespace(n_ifaces: int = N_DUMMIES) -> Iterator[tuple[str, str]]:
    """A network namespace with lo and N idle interfaces (``dum0``.. ), deleted on exit.

    The interfaces are ``dummy`` devices; on kernels built without the dummy driver (``ip``
    says "Unknown device type") they are ``ifb`` devices instead, which are just as idle
    (nothing is redirected to them). IPv6 is disabled in the namespace first so that no
    interface sends router solicitations / DAD / MLD packets on link-up. Yields (ns, kind).
    """
    ns = f"netop-bench-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for key in ("all", "default"):
            subprocess.run(
                ["ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{key}.disable_ipv6=1"],
                check=True,
            )
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        probe = subprocess.run(
            ["ip", "-n", ns, "link", "add", "dum0", "type", "dummy"], capture_output=True
        )
        kind = "dummy" if probe.returncode == 0 else "ifb"
        for i in range(n_ifaces):
            if i or kind != "dummy":
                subprocess.run(["ip", "-n", ns, "link", "add", f"dum{i}", "type", kind], check=True)
            subprocess.run(["ip", "-n", ns, "link", "set", f"dum{i}", "up"], check=True)
        yield ns, kind
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def iface_packets(ns: str) -> int:
    """Total rx+tx packets over all interfaces of the namespace (should stay 0: idle)."""
    out = subprocess.run(
        ["ip", "netns", "exec", ns, "cat", "/proc/net/dev"], capture_output=True, text=True
    ).stdout
    total = 0
    for line in out.splitlines()[2:]:
        f = line.split(":", 1)[1].split()
        total += int(f[1]) + int(f[9])
    return total


def ensure_installed(programs: list[str]) -> None:
    missing = [p for p in programs if not p.startswith("netop") and shutil.which(p) is None]
    if missing:
        print(f"installing {' '.join(missing)} ...", file=sys.stderr)
        subprocess.run(
            ["apt-get", "install", "-y", *missing],
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )


def _med(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def _rng(values: list[float | None], fmt: str) -> str:
    vals = [v for v in values if v is not None]
    return f"{format(min(vals), fmt)}–{format(max(vals), fmt)}" if vals else "–"


def _f(v: float | None, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def table(results: list[RunResult], sizes: list[tuple[int, int]], programs: list[str]) -> str:
    lines = [
        "| size | program | n | CPU % (min–max) | KB/s after 1st frame (min–max) | B/update mean "
        "(median) | updates/s | 1st frame s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for cols, rows in sizes:
        for prog in programs:
            rs = [r for r in results if r.program == prog and (r.cols, r.rows) == (cols, rows)]
            # a program that exited during its run (crash, missing terminal) is not measured
            rs = [r for r in rs if not r.exited_early]
            if not rs:
                lines.append(f"| {cols}x{rows} | {prog} | 0 | exited early in every run |")
                continue
            cpu = [r.cpu_pct for r in rs]
            kbs = [None if r.bytes_per_s is None else r.bytes_per_s / 1000 for r in rs]
            lines.append(
                f"| {cols}x{rows} | {prog} | {len(rs)} | "
                f"{_f(_med(cpu), '.2f')} ({_rng(cpu, '.2f')}) | "
                f"{_f(_med(kbs), '.2f')} ({_rng(kbs, '.2f')}) | "
                f"{_f(_med([r.bytes_per_update for r in rs]), '.0f')} "
                f"({_f(_med([r.bytes_per_update_median for r in rs]), '.0f')}) | "
                f"{_f(_med([r.updates_per_s for r in rs]), '.2f')} | "
                f"{_f(_med([r.t_first_frame_s for r in rs]), '.2f')} | "
                f"{_f(_med([r.peak_rss_mb for r in rs]), '.1f')} |"
            )
    return "\n".join(lines)


def process_table(
    results: list[RunResult], sizes: list[tuple[int, int]], programs: list[str]
) -> str:
    """Medians per process of the tree (the UI and the capture child apart)."""
    lines = [
        "| size | program | process | n | CPU % steady | peak RSS MB |",
        "|---|---|---|---|---|---|",
    ]
    for cols, rows in sizes:
        for prog in programs:
            rs = [r for r in results if r.program == prog and (r.cols, r.rows) == (cols, rows)]
            rs = [r for r in rs if not r.exited_early]
            labels = sorted({label for r in rs for label in r.processes})
            for label in labels:
                got = [r.processes[label] for r in rs if label in r.processes]
                cpu = _med([g["cpu_pct"] for g in got])
                rss = _med([g["peak_rss_mb"] for g in got])
                lines.append(
                    f"| {cols}x{rows} | {prog} | {label} | {len(got)} | "
                    f"{_f(cpu, '.2f')} | {_f(rss, '.1f')} |"
                )
    return "\n".join(lines)


def parse_sizes(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        c, _, r = part.strip().lower().partition("x")
        out.append((int(c), int(r)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per run (30)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions, interleaved (3)")
    ap.add_argument("--sizes", default="120x40,200x60", help="COLSxROWS,... (120x40,200x60)")
    ap.add_argument("--programs", default="netop-capture,netop,btop,glances,bmon",
                    help="comma-separated; netop-capture is netop capturing on the idle dum0")
    ap.add_argument("--raw-dir", type=Path, help="also save each run's raw output here")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        ap.error("must run as root (creates a network namespace)")
    sizes = parse_sizes(args.sizes)
    programs = [p.strip() for p in args.programs.split(",") if p.strip()]
    ensure_installed(programs)
    results: list[RunResult] = []
    started = time.strftime("%Y%m%d-%H%M%S")
    with namespace() as (ns, kind):
        packets_before = iface_packets(ns)
        for rep in range(args.reps):
            for cols, rows in sizes:
                for prog in programs:
                    raw = None
                    if args.raw_dir is not None:
                        args.raw_dir.mkdir(parents=True, exist_ok=True)
                        raw = args.raw_dir / f"{prog}-{cols}x{rows}-{rep}.raw"
                    r = measure(ns, prog, cols, rows, args.duration, rep, raw)
                    results.append(r)
                    print(
                        f"rep {rep} {cols}x{rows} {prog:8s} cpu={_f(r.cpu_pct, '.2f')}% "
                        f"B/s={_f(r.bytes_per_s, '.0f')} B/upd={_f(r.bytes_per_update, '.0f')} "
                        f"ff={_f(r.t_first_frame_s, '.2f')}s rss={r.peak_rss_mb}MB"
                        + (" EXITED EARLY" if r.exited_early else ""),
                        file=sys.stderr,
                        flush=True,
                    )
        packets = iface_packets(ns) - packets_before
    md = table(results, sizes, programs)
    print(f"namespace: lo + {N_DUMMIES} {kind} interfaces; packets during runs: {packets}\n")
    print(md)
    print("\nPer process (medians):\n")
    print(process_table(results, sizes, programs))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"tui-{started}.json"
    meta = {
        "started": started,
        "duration_s": args.duration,
        "reps": args.reps,
        "sizes": args.sizes,
        "programs": {p: program_argv(p) for p in programs},
        "interfaces": f"lo + {N_DUMMIES} x {kind}",
        "packets_during_runs": packets,
        "gap_s": GAP_S,
        "first_frame_bytes": FIRST_FRAME_BYTES,
        "cpu_count": os.cpu_count(),
    }
    out.write_text(json.dumps({"meta": meta, "runs": [asdict(r) for r in results]}, indent=1))
    print(f"\nJSON: {out.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
