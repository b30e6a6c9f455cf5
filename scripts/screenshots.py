"""Write the README's SVG screenshots from the real app watching traffic it makes itself.

Usage (root: it makes two network namespaces)::

    .venv/bin/python scripts/screenshots.py [--seconds 10]   # -> screenshots/*.svg

Two namespaces joined by a veth pair (``netop-shot-a`` 10.203.0.1 <-> ``netop-shot-b``
10.203.0.2). In B: an iperf3 server, a Python HTTP server and a UDP echo; in A: an
iperf3 client (rate-limited, so the graphs move), curl fetching a page every half
second, hping3 pings and a quiet UDP flow. netop runs in A (the same script, re-run there
with ``--inside``) capturing the veth end, and shoots the main screen in each theme, a
flow's detail, the KPI pane, the alerts pane (after an nmap port scan of B) and the
interface detail. Every helper process is
bounded (count or time), ended by its PID, and both namespaces are removed after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "screenshots"
NS_A, NS_B = "netop-shot-a", "netop-shot-b"
IF_A, IF_B = "shot0", "shot1"
ADDR_A, ADDR_B = "10.203.0.1", "10.203.0.2"
#: The longest any helper runs (its own bound; it is ended by PID before).
HELPER_SECONDS = 120

_UDP_ECHO = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5353))
s.settimeout(SECONDS)
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)
""".replace("SECONDS", str(HELPER_SECONDS))

_QUIET = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(SECONDS):
    s.sendto(b"quiet-%d" % i, (sys.argv[1], 5353))
    time.sleep(1.0)
""".replace("SECONDS", str(HELPER_SECONDS))

_CURL_LOOP = f"""
for i in $(seq 1 {HELPER_SECONDS * 2}); do
  curl -s -o /dev/null http://{ADDR_B}:8080/ ; sleep 0.5
done
"""


def sh(*args: str) -> None:
    """Run a setup command; fail with its stderr."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        sys.exit(f"screenshots: {' '.join(args)} failed: {done.stderr.strip()}")


@contextmanager
def namespaces() -> Iterator[None]:
    """The two namespaces and their veth pair, removed on the way out."""
    for ns in (NS_A, NS_B):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    try:
        sh("ip", "netns", "add", NS_A)
        sh("ip", "netns", "add", NS_B)
        sh("ip", "link", "add", IF_A, "netns", NS_A, "type", "veth", "peer", "name", IF_B,
           "netns", NS_B)
        for ns, ifname, addr in ((NS_A, IF_A, ADDR_A), (NS_B, IF_B, ADDR_B)):
            sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", ifname)
            sh("ip", "-n", ns, "link", "set", ifname, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield
    finally:
        for ns in (NS_A, NS_B):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def in_ns(ns: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *args]


def wait_port(ns: str, port: int, udp: bool = False, timeout: float = 15.0) -> None:
    """Until something listens on ``port`` in ``ns`` (bounded)."""
    deadline = time.monotonic() + timeout
    flag = "-uln" if udp else "-tln"
    while time.monotonic() < deadline:
        out = subprocess.run(in_ns(ns, "ss", "-H", flag, "sport", "=", f":{port}"),
                             capture_output=True, text=True, timeout=10).stdout
        if out.strip():
            return
        time.sleep(0.05)
    sys.exit(f"screenshots: nothing listened on port {port} in {ns}")


def start_traffic(web_root: str, procs: list[subprocess.Popen[bytes]]) -> None:
    """The servers in B, then the clients in A; all bounded, each added to ``procs``
    as it starts (so that a failure half-way still ends those started)."""
    quiet = subprocess.DEVNULL

    def start(cmd: list[str]) -> None:
        procs.append(subprocess.Popen(cmd, stdout=quiet, stderr=quiet))

    start(in_ns(NS_B, "timeout", str(HELPER_SECONDS), "iperf3", "-s", "-p", "5201"))
    start(in_ns(NS_B, "timeout", str(HELPER_SECONDS), sys.executable, "-m", "http.server",
                "8080", "--bind", ADDR_B, "--directory", web_root))
    start(in_ns(NS_B, sys.executable, "-c", _UDP_ECHO))
    wait_port(NS_B, 5201)
    wait_port(NS_B, 8080)
    wait_port(NS_B, 5353, udp=True)
    start(["iperf3", "-c", ADDR_B, "-p", "5201", "-b", "40M", "-t", str(HELPER_SECONDS)])
    start(["sh", "-c", _CURL_LOOP])
    start(["hping3", "-1", "-q", "-i", "u500000", "-c", str(HELPER_SECONDS * 2), ADDR_B])
    start([sys.executable, "-c", _QUIET, ADDR_B])


def scan() -> subprocess.CompletedProcess[bytes]:
    """A port scan of B (its closed ports answer RST): what the alerts pane shows."""
    return subprocess.run(["nmap", "-sT", "-Pn", "-n", "--max-retries", "0", "-p",
                           "1000-1040", ADDR_B], capture_output=True, timeout=60, check=False)


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """End each helper by its PID."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


async def shoot(theme: str, size: tuple[int, int], seconds: float,
                extras: bool) -> list[Path]:  # fmt: skip
    """Run the app capturing the veth end for ``seconds``, save its screen (and, with
    ``extras``, the flow detail, KPI pane, alerts pane and interface detail)."""
    from dataclasses import replace

    from netop.cli import build_parser
    from netop.commands.pipeline import build_engine, build_sources
    from netop.config import Config
    from netop.sources.capture.source import CaptureSource
    from netop.ui.app import NetopApp
    from netop.ui.panes.flows import FlowsPane
    from netop.ui.panes.interfaces import InterfacesPane

    args = build_parser().parse_args(["-i", IF_A, "--theme", theme])
    config = Config(theme=theme, interval=0.5, history_seconds=60)
    sources = build_sources(args, config)
    for source in sources:
        if isinstance(source, CaptureSource):
            source.flow_details = True  # as the TUI does
    engine = build_engine(args, config, sources)
    engine.view_spec = replace(engine.view_spec, names=False)
    app = NetopApp(engine, config)
    tag = theme.removeprefix("netop-")
    saved: list[Path] = []

    def save(name: str) -> None:
        app.save_screenshot(filename=name, path=str(OUT))
        saved.append(OUT / name)

    async with app.run_test(size=size) as pilot:
        await asyncio.sleep(seconds)
        await pilot.pause()
        save(f"netop-{tag}-{size[0]}x{size[1]}.svg")
        if not extras:
            return saved
        app.query_one(FlowsPane).focus()
        await pilot.press("enter")  # the busiest flow's detail
        await asyncio.sleep(2 * config.interval)
        await pilot.pause()
        save(f"netop-{tag}-flow-detail.svg")
        await pilot.press("escape", "K")
        await asyncio.sleep(2 * config.interval)
        await pilot.pause()
        save(f"netop-{tag}-kpis.svg")
        await pilot.press("escape")
        await asyncio.to_thread(scan)
        # Its alert comes once the attempts are judged failed (after a reply timeout).
        for _ in range(150):
            if app.shown and app.shown.alerts:
                break
            await asyncio.sleep(0.2)  # noqa: ASYNC110 (the app's state, not an event)
        await pilot.press("exclamation_mark")
        await pilot.pause()
        save(f"netop-{tag}-alerts.svg")
        await pilot.press("escape")
        interfaces = app.query_one(InterfacesPane)
        interfaces.focus()
        interfaces.move_to(f"local\0{IF_A}")
        await pilot.press("enter")
        await asyncio.sleep(2 * config.interval)
        await pilot.pause()
        save(f"netop-{tag}-interface-detail.svg")
    return saved


def inside(seconds: float) -> None:
    """In namespace A: traffic, then the screenshots."""
    with tempfile.TemporaryDirectory() as web_root:
        Path(web_root, "index.html").write_text("<h1>netop screenshot</h1>\n" * 200)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            start_traffic(web_root, procs)
            OUT.mkdir(exist_ok=True)
            for theme, size, extras in (("netop-dark", (120, 40), True),
                                        ("netop-light", (120, 40), False),
                                        ("netop-dark", (80, 24), False),
                                        ("netop-contrast", (120, 40), False)):
                for path in asyncio.run(shoot(theme, size, seconds, extras)):
                    print(path)
        finally:
            stop(procs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="how long netop watches before each shot")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.seconds)
        return
    if os.geteuid() != 0:
        sys.exit("screenshots: needs root (it makes two network namespaces)")
    with namespaces():
        done = subprocess.run(in_ns(NS_A, sys.executable, str(Path(__file__).resolve()),
                                    "--inside", "--seconds", str(args.seconds)),
                              cwd=ROOT, timeout=600, check=False)  # fmt: skip
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
