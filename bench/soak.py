"""Soak of the whole engine: a churning capture file played at recorded speed, an SNMP
agent (real net-snmp ``snmpd``) restarted mid-run, the flow table at its bound.

The engine runs in a child process (``python -m bench.soak --child ...``) that ticks it
like the TUI does and prints one JSON line per tick; the parent samples the child's RSS
and restarts the agent at :data:`RESTARTS`. The full length is
``python bench/soak.py --minutes 60``. Its CI form is part of the combined soak
(``bench/soak_all.py``, ``tests/integration/test_soak_all.py``), which also uses
:func:`paced_ticks`, :func:`table_row` and :func:`write_churn`.
"""

from __future__ import annotations

import argparse
import json
import struct
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from collections.abc import Iterator

    from netop.engine.engine import Engine
    from netop.model import Snapshot

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

T0 = 1_700_000_000
#: When the agent restarts, as parts of the run: once in the warm-up, once after it (a
#: leak per restart shows in the RSS after the warm-up).
RESTARTS = (0.25, 0.7)
_ETH = bytes(6) + bytes.fromhex("020000000001") + b"\x08\x00"


def write_churn(path: Path, seconds: int, rate: int) -> int:
    """``rate`` new UDP flows per second of packet time for ``seconds``, two packets
    each half a second apart, every flow its own 5-tuple; returns the number of flows."""
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    with path.open("wb") as out:
        out.write(head)
        n = seconds * rate
        pending: deque[tuple[int, bytes]] = deque()  # second packets, in time order
        for i in range(n):
            usec = T0 * 1_000_000 + i * 1_000_000 // rate
            while pending and pending[0][0] <= usec:
                _write(out, *pending.popleft())
            src = 0x0A800000 + i // 50000
            udp = struct.pack("!HHHH", 1024 + i % 50000, 53, 9, 0) + b"q"
            ip = struct.pack("!BBHHHBBHII", 0x45, 0, 29, 0, 0, 64, 17, 0, src, 0x0A000001)
            frame = _ETH + ip + udp
            _write(out, usec, frame)
            pending.append((usec + 500_000, frame))
        for usec, frame in pending:
            _write(out, usec, frame)
    return n


def _write(out: BinaryIO, usec: int, frame: bytes) -> None:
    out.write(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame),
                          len(frame)) + frame)


def paced_ticks(engine: Engine, seconds: float) -> Iterator[tuple[Snapshot, float, int]]:
    """Tick ``engine`` every ``config.interval`` seconds for ``seconds``, as the TUI does;
    yields each snapshot, its time since the start and the ticks lost so far (a tick
    that came a whole interval late was lost: its snapshot was never made)."""
    interval = engine.config.interval
    start = time.monotonic()
    lost = 0
    k = 0
    while time.monotonic() - start < seconds:
        k += 1
        wait = start + k * interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        elif -wait >= interval:  # a whole tick late: that tick was lost
            lost += int(-wait // interval)
            k += int(-wait // interval)
        snap = engine.tick()
        yield snap, round(time.monotonic() - start, 3), lost


def table_row(engine: Engine, snap: Snapshot) -> dict[str, object]:
    """The flow table's accounting and the SNMP rows of one tick."""
    stats = engine.flow_table.stats
    return {
        "seq": snap.seq, "flows": len(engine.flow_table), "losses": snap.flows.losses,
        "snmp_rows": sum(1 for r in snap.interfaces if r.origin.startswith("snmp:")),
        "created": stats.created, "evicted": stats.evictions,
        "expired": stats.idle_expired + stats.active_expired,
    }  # fmt: skip


def child(pcap: str, snmp: str, seconds: float, max_flows: int) -> int:
    """Tick a real engine (capture playback + SNMP + counters) once a second; a JSON
    line per tick, and the table's accounting at the end."""
    import resource

    from netop.cli import build_parser
    from netop.commands.tui import build_engine, build_sources
    from netop.config import Config

    args = build_parser().parse_args(["-n", "-r", pcap, "--max-flows", str(max_flows),
                                      "--snmp", snmp])
    config = Config()
    sources = build_sources(args, config)
    engine = build_engine(args, config, sources)
    engine.start()
    try:
        for snap, now, lost in paced_ticks(engine, seconds):
            print(json.dumps({
                "t": now, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                **table_row(engine, snap), "lost": lost,
            }), flush=True)  # fmt: skip
    finally:
        engine.stop()
    return 0


@dataclass
class SoakResult:
    """What the parent saw."""

    ticks: list[dict[str, object]] = field(default_factory=list)
    rss: list[tuple[float, float]] = field(default_factory=list)  # (t, MiB) sampled
    flows_in_file: int = 0
    restarts: list[float] = field(default_factory=list)  # when the agent was restarted
    stderr: str = ""

    def growth(self, warmup: float) -> float:
        """RSS growth after ``warmup`` seconds: last over first sample after it."""
        after = [mib for t, mib in self.rss if t >= warmup]
        return after[-1] / after[0] - 1 if len(after) > 1 else 0.0


def run_soak(seconds: float, workdir: Path, rate: int = 3000, max_flows: int = 20000,
             restart: bool = True) -> SoakResult:
    """Run a soak of ``seconds``; the agent is restarted at :data:`RESTARTS`."""
    import psutil

    from tests.integration.snmp.agents import COMMUNITY, Snmpd

    result = SoakResult()
    pcap = workdir / "churn.pcap"
    result.flows_in_file = write_churn(pcap, int(seconds) + 5, rate)
    agent = Snmpd(workdir).start()
    proc: subprocess.Popen[str] | None = None
    try:
        err = (workdir / "soak.err").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.soak", "--child", str(pcap),
             f"v2c:{COMMUNITY}@127.0.0.1:{agent.port}", str(seconds), str(max_flows)],
            stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT,
        )  # fmt: skip
        watched = psutil.Process(proc.pid)
        started = time.monotonic()
        assert proc.stdout is not None
        for line in proc.stdout:  # one line a tick: the child's own pace
            tick = json.loads(line)
            result.ticks.append(tick)
            now = time.monotonic() - started
            try:
                result.rss.append((now, watched.memory_info().rss / 2**20))
            except psutil.NoSuchProcess:
                break
            due = RESTARTS[len(result.restarts)] if len(result.restarts) < len(RESTARTS) else 2
            if restart and now >= seconds * due:
                agent.restart()
                result.restarts.append(now)
            if now > seconds + 30:
                break
        proc.wait(timeout=30)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        agent.stop()
        result.stderr = (workdir / "soak.err").read_text(errors="replace")
    return result


def main() -> int:
    """``--minutes N``: the full soak; prints the RSS curve and the accounting."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=2000, help="new flows per second")
    parser.add_argument("--max-flows", type=int, default=20000)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        pcap, snmp, seconds, max_flows = args.child
        return child(pcap, snmp, float(seconds), int(max_flows))
    with tempfile.TemporaryDirectory() as tmp:
        res = run_soak(args.minutes * 60, Path(tmp), args.rate, args.max_flows)
    last = res.ticks[-1] if res.ticks else {}
    warm = max(25.0, min(120.0, args.minutes * 60 / 3))
    print(f"ticks {len(res.ticks)}, lost {last.get('lost')}, RSS growth after {warm:.0f} s "
          f"{res.growth(warm):+.1%}, peak {max(m for _, m in res.rss):.0f} MiB")
    print(f"flows created {last.get('created')} = live {last.get('flows')} + evicted "
          f"{last.get('evicted')} + expired {last.get('expired')}; losses: {last.get('losses')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
