"""CPU of the whole ``netop flows -r FILE --json`` command beside its peers, in one run.

Runs, interleaved run by run so that load drifts hit each alike: netop with KPIs on,
netop with ``NETOP_KPIS=0``, ``tcpdump -n -r FILE -w /dev/null``, and (once, with
``--tshark``) ``tshark -r FILE -q -z conv,ip``. Prints the median CPU (user + sys of
the child, from ``wait4``) and packets per CPU second. netop runs with its bytecode
cached, as an installed netop does (``PYTHONDONTWRITEBYTECODE`` is dropped: with it every
run compiles ~150 modules again, about 0.15 s). Generates the 1M-packet /
10k-flow pcap of ``bench/capture_gen.py`` when no file is given.

    .venv/bin/python bench/flows_read.py [--pcap F] [--runs 9] [--tshark] [--installed]
                                         [--against REV]

``--installed`` also runs netop installed the way ``scripts/install.sh`` installs it (a
fresh venv, ``pip install .``): an editable install's import hook costs every command
about 15 ms that an installed netop does not pay.

``--against REV`` also runs netop as it was at git revision REV (a temporary worktree,
``python -m netop`` from there; its C extension is built on first use), in the same
interleaved runs: a before/after that drifts in the machine's load cannot fake.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NETOP = str(ROOT / ".venv" / "bin" / "netop")


def cpu_of(cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> float:
    """User + system CPU seconds of one run of ``cmd`` (its output thrown away)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, cwd=cwd)  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited with {proc.returncode}")
    return usage.ru_utime + usage.ru_stime


def packets_in(pcap: str) -> int:
    """Packets in ``pcap``, as netop's summary line says."""
    out = subprocess.run([NETOP, "flows", "-r", pcap, "--json"], capture_output=True,
                         text=True, check=True).stderr  # fmt: skip
    for word, after in zip(out.split(), out.split()[1:], strict=False):
        if after == "packets" and word.isdigit():
            return int(word)
    raise SystemExit(f"no packet count in netop's summary: {out!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pcap", help="the capture to read (default: generate one)")
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--tshark", action="store_true", help="also tshark, once")
    ap.add_argument("--against", metavar="REV", help="also netop at this git revision")
    ap.add_argument("--installed", action="store_true",
                    help="also netop installed as scripts/install.sh does (pip install .)")
    a = ap.parse_args()
    pcap = a.pcap
    if pcap is None:
        pcap = os.path.join(tempfile.gettempdir(), "netop-bench-1m.pcap")
        if not os.path.exists(pcap):
            subprocess.run([sys.executable, str(ROOT / "bench" / "capture_gen.py"), pcap],
                           check=True)  # fmt: skip
    # As an installed netop runs: its bytecode cached (by the first run, here).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    packets = packets_in(pcap)
    env_off = {**os.environ, "NETOP_KPIS": "0"}
    env_on = {k: v for k, v in os.environ.items() if k != "NETOP_KPIS"}
    commands: dict[str, tuple[list[str], dict[str, str] | None, str | None]] = {
        "netop flows -r --json (KPIs on)": ([NETOP, "flows", "-r", pcap, "--json"], env_on,
                                            None),
        "netop flows -r --json (KPIs off)": ([NETOP, "flows", "-r", pcap, "--json"], env_off,
                                             None),
        "tcpdump -n -r -w /dev/null": (["tcpdump", "-n", "-r", pcap, "-w", "/dev/null"], None,
                                       None),
    }
    with tempfile.TemporaryDirectory() as scratch:
        if a.installed:
            venv = os.path.join(scratch, "venv")
            subprocess.run([sys.executable, "-m", "venv", venv], check=True)
            subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", str(ROOT)],
                           check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            installed = [os.path.join(venv, "bin", "netop"), "flows", "-r", pcap, "--json"]
            commands["netop installed (KPIs on)"] = (installed, env_on, None)
        if a.against:
            tree = os.path.join(scratch, "before")
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", tree,
                            a.against], check=True)  # fmt: skip
            before = [sys.executable, "-m", "netop", "flows", "-r", pcap, "--json"]
            commands[f"netop at {a.against} (KPIs on)"] = (before, env_on, tree)
        try:
            times = _interleaved(commands, a.runs)
        finally:
            if a.against:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                os.path.join(scratch, "before")], check=False)  # fmt: skip
    if a.tshark and shutil.which("tshark"):
        times["tshark -q -z conv,ip (once)"] = [
            cpu_of(["tshark", "-r", pcap, "-q", "-z", "conv,ip"])]
    print(f"{pcap}: {packets:,} packets, {a.runs} runs interleaved, load "
          f"{os.getloadavg()[0]:.1f}")
    netop = statistics.median(times["netop flows -r --json (KPIs on)"])
    for name, values in times.items():
        cpu = statistics.median(values)
        print(f"{name:<36} median CPU {cpu:7.3f} s  {packets / cpu / 1e6:6.2f} Mpps"
              f"  (netop x{cpu / netop:.2f})")


def _interleaved(
    commands: dict[str, tuple[list[str], dict[str, str] | None, str | None]], runs: int
) -> dict[str, list[float]]:
    """Each command's CPU seconds, ``runs`` times, the commands taking turns (one warm-up
    run each first: bytecode, a built extension)."""
    for cmd, env, cwd in commands.values():
        cpu_of(cmd, env, cwd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (cmd, env, cwd) in commands.items():
            times[name].append(cpu_of(cmd, env, cwd))
    return times


if __name__ == "__main__":
    main()
