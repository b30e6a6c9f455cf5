"""A soak of a real ``netop collect`` under a mixed hostile flood from spoofed loopback
sources, with softflowd exporting real flows in the middle of it.

Used by ``bench/collector_soak.py``; its mix, limits and process probes also by the
combined soak (``bench/soak_all.py`` and its CI form ``tests/integration/test_soak_all.py``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.collector.hostile import SpoofSender
from tests.integration.collector.traffic import unfold

ROOT = Path(__file__).resolve().parents[3]
_TICKS = os.sysconf("SC_CLK_TCK")
#: The mix, weighted by repetition: many tiny datagrams from new spoofed exporters in
#: random domains, and every kind of large hostile datagram.
MIX = ["domains"] * 20 + ["templates", "empty_sets", "small_sets", "huge_template",
                          "sflow_counters"]  # fmt: skip
#: Limits low enough that a short flood reaches every bound during its warm-up (at the
#: defaults that takes minutes): the CI-length soaks' ``[collector]`` config.
SMALL_LIMITS = """
[collector]
max_exporters = 256
template_cache = 128
max_pending_total = 4194304
max_pending_items_total = 8192
max_template_bytes_total = 4194304
max_interfaces = 100
max_interfaces_total = 2048
"""
#: The limit counters each kind of the mix must hit (names of ``Collector.drops()``).
MIX_LIMITS = ("templates_per_datagram", "template_fields", "empty_sets", "pending",
              "exporters_evicted", "interfaces")  # fmt: skip


@dataclass
class SoakResult:
    """What a soak measured."""

    seconds: float
    warmup: float
    sent: int = 0
    sent_bytes: int = 0
    rss: list[tuple[float, float]] = field(default_factory=list)  # (t, MiB)
    cpu: float = 0.0
    stderr: str = ""
    real_flows: dict[tuple[str, str, int, str, int], int] = field(default_factory=dict)
    exit_after: float = 0.0

    def rss_at(self, t: float) -> float:
        """RSS (MiB) at the first sample at or after ``t`` seconds."""
        return next((mib for when, mib in self.rss if when >= t), self.rss[-1][1])

    @property
    def after_warmup(self) -> list[float]:
        """RSS samples (MiB) after the warm-up."""
        return [mib for when, mib in self.rss if when >= self.warmup]

    @property
    def growth(self) -> float:
        """Largest RSS after the warm-up relative to the RSS at its end (0.05 = +5 %)."""
        base = self.rss_at(self.warmup)
        return max(self.after_warmup) / base - 1

    def counts(self) -> dict[str, int]:
        """The numbers of the exit summary: datagrams, refused, kernel drops, limits."""
        out: dict[str, int] = {}
        summary = next((line for line in self.stderr.splitlines() if "exporters," in line), "")
        for key, pattern in (("received", r"(\d+) datagrams,"),
                             ("kernel_drops", r"(\d+) datagrams dropped"),
                             ("refused", r"(\d+) datagrams refused")):  # fmt: skip
            match = re.search(pattern, summary)
            out[key] = int(match.group(1)) if match else 0
        for line in self.stderr.splitlines():
            if line.startswith("netop: exporter {"):
                row = json.loads(line.split(" ", 2)[2])
                if row["exporter"] == "127.0.0.1":
                    out["real_datagrams"] = row["datagrams"]
        limits = re.search(r"dropped by limits: ([^,]+(?:, [a-z_]+ \d+)*)", summary)
        if limits:
            for part in limits.group(1).split(", "):
                name, count = part.rsplit(" ", 1)
                out[name] = int(count)
        return out


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_mib(pid: int) -> float:
    """Resident set size of process ``pid`` in MiB (0 when it has none)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_soak(seconds: float, rate: float, workdir: Path, pcap: Path | None = None,
             config: str = "", real_at: float | None = None,
             log: bool = False) -> SoakResult:  # fmt: skip
    """Flood ``netop collect`` for ``seconds`` at ``rate`` bytes/s with :data:`MIX`.

    The first 40 % of the run is the warm-up; softflowd (when ``pcap`` is given and it
    is installed) exports ``pcap`` at ``real_at`` seconds (default: 70 % of the run).
    """
    result = SoakResult(seconds, warmup=0.4 * seconds)
    cmd = [sys.executable, "-m", "netop", "collect", "--listen", "127.0.0.1:0", "--json",
           "--duration", str(seconds + 2), "--interval", "1"]  # fmt: skip
    if config:
        path = workdir / "soak.toml"
        path.write_text(config)
        cmd[3:3] = ["--config", str(path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)  # fmt: skip
    lines: list[str] = []
    errors: list[str] = []
    try:
        assert proc.stderr is not None
        assert proc.stdout is not None
        first = proc.stderr.readline()  # readiness: the listening line
        if "listening on udp 127.0.0.1:" not in first:
            raise RuntimeError(f"netop collect did not start: {first!r}")
        port = int(first.rsplit(":", 1)[1])
        readers = [threading.Thread(target=sink.extend, args=(pipe,), daemon=True)
                   for pipe, sink in ((proc.stdout, lines), (proc.stderr, errors))]  # fmt: skip
        for reader in readers:
            reader.start()
        sender = SpoofSender(port)
        softflowd = shutil.which("softflowd") if pcap is not None else None
        real_at = 0.7 * seconds if real_at is None else real_at
        exporter: subprocess.Popen[bytes] | None = None
        start = time.monotonic()
        next_sample = 0.0
        for _ in sender.flood(MIX, seconds, rate):
            now = time.monotonic() - start
            if now >= next_sample:
                result.rss.append((now, rss_mib(proc.pid)))
                next_sample += 0.5
                if log and int(now) % 60 == 0 and len(result.rss) % 2 == 1:
                    print(f"  {now:6.0f} s  RSS {result.rss[-1][1]:6.1f} MiB  sent "
                          f"{sender.sent} datagrams", file=sys.stderr, flush=True)  # fmt: skip
            if softflowd and pcap and exporter is None and now >= real_at:
                exporter = subprocess.Popen(
                    [softflowd, "-r", str(pcap), "-n", f"127.0.0.1:{port}", "-v", "10", "-6",
                     "-d", "-c", "none", "-p", str(workdir / "softflowd.pid")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        result.rss.append((time.monotonic() - start, rss_mib(proc.pid)))
        result.cpu = cpu_seconds(proc.pid)
        if exporter is not None:
            exporter.wait(timeout=30)
        end = time.monotonic()
        proc.wait(timeout=30)
        result.exit_after = time.monotonic() - end
        for reader in readers:
            reader.join(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    result.sent, result.sent_bytes = sender.sent, sender.bytes
    result.stderr = "".join(errors)
    real = [rec for rec in map(json.loads, lines) if rec["exporter"] == "127.0.0.1"]
    for key, (packets, _) in unfold(real).items():
        result.real_flows[key] = result.real_flows.get(key, 0) + packets
    return result
