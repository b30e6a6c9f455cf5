"""Attacks on a real ``netop collect`` from spoofed loopback sources, with softflowd as
the real exporter that must still get its flows through.

Each test starts ``netop collect --listen 127.0.0.1:0 --json --duration D``, floods it
with crafted datagrams from many 127.x.y.z addresses (bounded in count and time) while
softflowd exports the known-flows pcap from 127.0.0.1, and checks the process's CPU,
memory, exit time, output and the drop counts in its summary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from netop.model import proto_name
from tests.integration.collector.hostile import SpoofSender
from tests.integration.collector.traffic import Truth, build, unfold

ROOT = Path(__file__).resolve().parents[3]
_TICKS = os.sysconf("SC_CLK_TCK")


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple, Truth]]:
    path = tmp_path_factory.mktemp("traffic") / "source.pcap"
    return path, build(path)


@dataclass
class Collect:
    """A running ``netop collect`` and what it printed."""

    proc: subprocess.Popen[str]
    port: int
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    def cpu(self) -> float:
        """CPU seconds (user + system) the process used so far."""
        with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def rss_mb(self) -> float:
        """Resident memory in MiB."""
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0


@pytest.fixture
def collect() -> Iterator[Callable[..., Collect]]:
    started: list[Collect] = []

    def start(duration: float, *extra: str) -> Collect:
        cmd = [sys.executable, "-m", "netop", "collect", "--listen", "127.0.0.1:0", "--json",
               "--duration", str(duration), "--interval", "0.5", *extra]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=ROOT)  # fmt: skip
        assert proc.stderr is not None
        assert proc.stdout is not None
        first = proc.stderr.readline()  # readiness: the listening line
        assert "listening on udp 127.0.0.1:" in first, first
        run = Collect(proc, int(first.rsplit(":", 1)[1]))
        # Both pipes are drained as the process writes, so it never blocks on them.
        for pipe, sink in ((proc.stdout, run.lines), (proc.stderr, run.errors)):
            reader = threading.Thread(target=sink.extend, args=(pipe,), daemon=True)
            reader.start()
            run.readers.append(reader)
        started.append(run)
        return run

    yield start
    for run in started:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()


def _finish(run: Collect, timeout: float) -> tuple[float, str]:
    """Wait (bounded) for the exit; returns (seconds it took, stderr)."""
    start = time.monotonic()
    try:
        run.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        run.proc.kill()
        run.proc.wait()
        pytest.fail(f"netop collect ignored --duration: still running {timeout} s later")
    took = time.monotonic() - start
    for reader in run.readers:
        reader.join(timeout=5)
    return took, "".join(run.errors)


def _softflowd(pcap: Path, port: int, tmp_path: Path) -> subprocess.Popen[bytes]:
    softflowd = shutil.which("softflowd")
    if softflowd is None:
        pytest.skip("softflowd not installed (apt-get install softflowd)")
    # -c none: otherwise softflowd -r blocks forever on its control socket.
    return subprocess.Popen([softflowd, "-r", str(pcap), "-n", f"127.0.0.1:{port}", "-v", "10",
                             "-6", "-d", "-c", "none", "-p", str(tmp_path / "pid")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def _flood(run: Collect, kinds: list[str], seconds: float, rate: float, pcap: Path,
           tmp_path: Path, max_datagrams: int = 200_000) -> tuple[SpoofSender, float]:  # fmt: skip
    """Flood for ``seconds`` and start softflowd a second in; returns the sender and
    the peak RSS seen."""
    sender = SpoofSender(run.port)
    exporter: subprocess.Popen[bytes] | None = None
    start = time.monotonic()
    peak = run.rss_mb()
    for _ in sender.flood(kinds, seconds, rate, max_datagrams):
        if exporter is None and time.monotonic() - start > 1.0:
            exporter = _softflowd(pcap, run.port, tmp_path)
        if sender.sent % 64 == 0:
            peak = max(peak, run.rss_mb())
    if exporter is None:
        exporter = _softflowd(pcap, run.port, tmp_path)
    exporter.wait(timeout=20)
    return sender, max(peak, run.rss_mb())


def _real_flows(run: Collect) -> dict[tuple, int]:
    """Packets per 5-tuple of the records softflowd's exporter address sent."""
    records = [json.loads(line) for line in run.lines]
    real = [rec for rec in records if rec["exporter"] == "127.0.0.1"]
    return {key: packets for key, (packets, _) in unfold(real).items()}


def _expect_all(run: Collect, truth: dict[tuple, Truth]) -> None:
    got = _real_flows(run)
    want = {(proto_name(k[0]), *k[1:]): t.packets for k, t in truth.items()}
    assert set(got) == set(want), f"{len(set(got) & set(want))} of {len(want)} real flows"
    assert got == want


def test_template_flood_costs_little_cpu_and_duration_holds(
    traffic, collect, tmp_path: Path
) -> None:
    """64 KB datagrams of ~5,400 distinct small templates from spoofed sources."""
    pcap, truth = traffic
    run = collect(9)
    cpu_before = run.cpu()
    sender, _ = _flood(run, ["templates"], seconds=6, rate=130_000, pcap=pcap,
                       tmp_path=tmp_path)  # fmt: skip
    per_datagram = (run.cpu() - cpu_before) / max(1, sender.sent)
    _, err = _finish(run, timeout=12)  # before the fix: ignored --duration for minutes
    assert sender.sent >= 8
    # Before the fix each datagram cost ~4 s of CPU; softflowd's flows count too here.
    assert per_datagram < 0.1, f"{per_datagram * 1000:.0f} ms of CPU per datagram"
    _expect_all(run, truth)
    assert "dropped by limits:" in err, err
    assert "templates_per_datagram" in err, err


def test_empty_and_tiny_set_flood_keeps_memory_bounded(traffic, collect, tmp_path: Path) -> None:
    """Data sets for templates never sent: empty ones and 1-byte ones, 1 MB/s."""
    pcap, truth = traffic
    run = collect(12)
    base = run.rss_mb()
    sender, peak = _flood(run, ["empty_sets", "small_sets"], seconds=9, rate=1_000_000,
                          pcap=pcap, tmp_path=tmp_path)  # fmt: skip
    _, err = _finish(run, timeout=15)
    assert sender.bytes >= 5_000_000
    _expect_all(run, truth)
    # Before: ~+40 MB per MB of empty sets. After: the pending budget (64 MiB counted
    # with per-item overhead; 65,536 items) is the ceiling, far below.
    assert peak - base < 60, f"RSS grew {peak - base:.0f} MiB"
    assert "empty_sets" in err, err
    assert "pending" in err, err


def test_spoofed_exporters_and_domains_do_not_lock_out_a_real_one(
    traffic, collect, tmp_path: Path
) -> None:
    """6,000 spoofed exporters, each in a random observation domain, then softflowd."""
    pcap, truth = traffic
    run = collect(8)
    sender = SpoofSender(run.port)
    for _ in sender.flood(["domains"], seconds=4, max_datagrams=6000):
        pass
    assert sender.sent >= 5000
    exporter = _softflowd(pcap, run.port, tmp_path)
    exporter.wait(timeout=20)
    _, err = _finish(run, timeout=12)
    _expect_all(run, truth)
    assert "exporters_evicted" in err, err
    assert "refused" not in err.split("exporter {")[0], err
