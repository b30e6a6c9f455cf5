"""One pipeline: a capture gives the same flows read from the file (``netop flows -r``),
captured live (``netop flows -i``, the file replayed by tcpreplay onto a veth pair) and
played in the TUI's engine; and ``netop flows`` speaks the Flows pane's language."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.netns import veth_pair
from tests.ready import start_watched

ROOT = Path(__file__).resolve().parents[2]
#: (proto, src, sport, dst, dport) -> (packets, bytes, packets_rev, bytes_rev)
Flows = dict[tuple[str, str, int, str, int], tuple[int, int, int, int]]


def _netop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "netop", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TCP both ways, UDP one way and back, ICMP echo, IPv6 UDP: documentation
    addresses that no namespace of the test owns (so nothing answers a replay)."""
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    a2b = Ether(src="02:00:00:00:0a:01", dst="02:00:00:00:0a:02")
    b2a = Ether(src="02:00:00:00:0a:02", dst="02:00:00:00:0a:01")
    c, s = "192.0.2.10", "198.51.100.20"
    packets = [a2b / IP(src=c, dst=s) / TCP(sport=40000, dport=443, flags="S"),
               b2a / IP(src=s, dst=c) / TCP(sport=443, dport=40000, flags="SA"),
               a2b / IP(src=c, dst=s) / TCP(sport=40000, dport=443, flags="A")]
    for i in range(12):
        packets.append(b2a / IP(src=s, dst=c) / TCP(sport=443, dport=40000, flags="PA")
                       / (b"d" * (200 + 37 * i)))
        packets.append(a2b / IP(src=c, dst=s) / TCP(sport=40000, dport=443, flags="A"))
    for i in range(5):
        packets.append(a2b / IP(src=c, dst="192.0.2.53") / UDP(sport=5353 + i, dport=53)
                       / (b"q" * (20 + i)))
        packets.append(b2a / IP(src="192.0.2.53", dst=c) / UDP(sport=53, dport=5353 + i)
                       / (b"a" * (60 + i)))
    for seq in range(4):
        packets.append(a2b / IP(src=c, dst=s) / ICMP(type=8, id=7, seq=seq))
        packets.append(b2a / IP(src=s, dst=c) / ICMP(type=0, id=7, seq=seq))
    packets += [a2b / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=9, dport=7)
                / (b"6" * 50)] * 3
    t = 1_700_000_000.0
    for n, p in enumerate(packets):
        p.time = t + n * 0.01  # ~0.7 s: far inside every flow timeout
    path = tmp_path_factory.mktemp("pipeline") / "mix.pcap"
    wrpcap(str(path), packets)
    return path


def _flows(records: list[dict[str, object]]) -> Flows:
    got: Flows = {}
    for r in records:
        key = (str(r["proto"]), str(r["src"]), int(r["sport"]),  # type: ignore[call-overload]
               str(r["dst"]), int(r["dport"]))  # type: ignore[call-overload]
        assert key not in got, f"flow listed twice: {key}"
        got[key] = (int(r["packets"]), int(r["bytes"]),  # type: ignore[call-overload]
                    int(r["packets_rev"]), int(r["bytes_rev"]))  # type: ignore[call-overload]
    return got


def _from_file(path: Path) -> Flows:
    done = _netop("flows", "-r", str(path), "--json")
    assert done.returncode == 0, done.stderr
    return _flows([json.loads(line) for line in done.stdout.splitlines()])


def _live(path: Path) -> Flows:
    """``netop flows -i`` in namespace A while tcpreplay sends the file from B; ended by
    Ctrl-C (SIGINT) once tcpreplay is done, as a user ends tcpdump."""
    if shutil.which("tcpreplay") is None:
        pytest.skip("`tcpreplay` is not installed (apt-get install tcpreplay)")
    with veth_pair() as pair:
        netop = start_watched(pair.run_a(sys.executable, "-m", "netop", "flows", "-i",
                                         pair.if_a, "--json"), cwd=ROOT)
        try:
            netop.stderr.wait_for("netop: capture attached on ", timeout=30)
            subprocess.run(pair.run_b("tcpreplay", "-q", "-i", pair.if_b, str(path)),
                           check=True, capture_output=True, timeout=30)
            netop.proc.send_signal(signal.SIGINT)
            stdout, stderr = netop.communicate(timeout=30)
        finally:
            netop.kill()
    assert netop.returncode == 0, stderr
    records = [json.loads(line) for line in stdout.splitlines()]
    # The namespace's own packets (none expected, but a kernel may speak) are not the file's.
    ours = ("192.0.2.", "198.51.100.", "2001:db8::")
    return _flows([r for r in records if str(r["src"]).startswith(ours)])


def _tui(path: Path) -> Flows:
    """The engine exactly as ``netop -r FILE`` builds it for the TUI, played to the end
    (at full speed) and read from its snapshots' Flows view."""
    from netop.cli import build_parser
    from netop.commands.tui import build_engine, build_sources
    from netop.config import load_config
    from netop.sources.capture.source import CaptureSource

    args = build_parser().parse_args(["-r", str(path), "--speed", "max"])
    config = load_config(args.config, overrides=args)
    sources = build_sources(args, config)
    engine = build_engine(args, config, sources)
    engine.view_spec = replace(engine.view_spec, top_n=1000)
    capture = next(s for s in sources if isinstance(s, CaptureSource))
    engine.start()
    try:
        deadline = time.monotonic() + 30
        while capture.alive() and time.monotonic() < deadline:
            engine.tick()
            time.sleep(0.05)
        assert not capture.alive(), "the file did not play to its end in 30 s"
        snapshot = engine.tick()
    finally:
        engine.stop()
    return _flows([row.record.to_json() for row in snapshot.flows.rows])


def test_one_capture_gives_the_same_flows_from_file_live_and_tui(capture: Path) -> None:
    from_file = _from_file(capture)
    assert len(from_file) == 1 + 5 + 1 + 1  # tcp, 5 dns, icmp echo, ipv6 udp
    assert _tui(capture) == from_file
    assert _live(capture) == from_file


def test_sort_takes_exactly_the_flows_panes_keys(capture: Path) -> None:
    from netop.model import FLOW_SORT_KEYS

    for key in FLOW_SORT_KEYS:
        done = _netop("flows", "-r", str(capture), "--json", "--sort", key)
        assert done.returncode == 0, (key, done.stderr)
        assert len(done.stdout.splitlines()) == 8
    done = _netop("flows", "-r", str(capture), "--sort", "first")  # not a column of the pane
    assert done.returncode == 2
    assert "--sort: unknown key 'first'" in done.stderr
    assert done.stderr.count("\n") == 1


def test_sort_rate_orders_by_the_flows_average_rate(capture: Path) -> None:
    done = _netop("flows", "-r", str(capture), "--json", "--sort", "rate", "--top", "1")
    assert done.returncode == 0, done.stderr
    top = json.loads(done.stdout)
    assert (top["proto"], top["dport"]) == ("tcp", 443)


def test_process_filter_on_a_file_is_one_line_and_exit_2(capture: Path) -> None:
    done = _netop("flows", "-r", str(capture), "--json", "--filter", "process firefox")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "netop: process: not available when reading a file\n"


def test_name_filter_with_names_off_is_one_line_and_exit_2(capture: Path) -> None:
    done = _netop("flows", "-r", str(capture), "-n", "--filter", "host *.example.com")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("netop: host NAME: name resolution is off")
    assert done.stderr.count("\n") == 1
