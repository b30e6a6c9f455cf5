"""Live capture: the detail of a quiet flow, opened after a busy flow scrolled the
capture's global packet ring, still starts with the quiet flow's earlier packets (the
per-flow ring), and ``w`` saves them; tshark reads the saved file as referee."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from netop.config import Config
from netop.engine.engine import Engine
from netop.model import FlowPackets
from netop.packet.savepackets import save_packets
from netop.sources.capture.options import CaptureOptions
from netop.sources.capture.source import CaptureSource
from netop.sources.capture.watch import RING_SIZE
from tests.netns import veth_pair
from tests.ready import wait_for_port, wait_until

pytestmark = pytest.mark.netns

QUIET = 4  # packets of the quiet flow, one a second
_QUIET_SENDER = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 7000))
for i in range(int(sys.argv[2])):
    if i:
        time.sleep(1.0)
    s.sendto(b"quiet-%d" % i, (sys.argv[1], 7777))
"""


def test_quiet_flow_detail_starts_with_packets_from_before_it_was_opened(
    launcher: str, tmp_path: Path
) -> None:
    if shutil.which("iperf3") is None or shutil.which("tshark") is None:
        pytest.skip("needs iperf3 (the busy flow) and tshark (the referee)")
    with veth_pair() as pair:
        server = subprocess.Popen(pair.run_b("iperf3", "-s", "-1", "-p", "5201"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        source = CaptureSource(CaptureOptions(
            interfaces=(pair.if_a,), helper=("ip", "netns", "exec", pair.ns_a),
            launcher=launcher, interval=0.5,
        ))  # fmt: skip
        source.flow_details = True  # as the TUI sets it
        engine = Engine(Config(), [source], hostname="h")
        engine.start()
        try:
            wait_for_port(5201, pair.ns_b, proc=server)
            source.attached.wait(timeout=30)
            assert source.attached.is_set(), "the capture never attached"
            subprocess.run(pair.run_a(sys.executable, "-c", _QUIET_SENDER, pair.addr_b,
                                      str(QUIET)), timeout=30, check=True)  # fmt: skip
            # The busy flow: ~8000 UDP datagrams, twice the global ring, after the quiet one.
            subprocess.run(pair.run_a("iperf3", "-c", pair.addr_b, "-p", "5201", "-u",
                                      "-b", "40M", "-l", "1200", "-t", "2"),
                           timeout=30, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            flow = (17, pair.addr_a, 7000, pair.addr_b, 7777, None)

            def busy_counted() -> bool:
                records = [row.record for row in engine.tick().flows.rows]
                quiet = any(tuple(r[:6]) == flow for r in records)
                busy = sum(r.packets + r.packets_rev for r in records
                           if r.proto == 17 and r.dport == 5201)  # fmt: skip
                return quiet and busy > 1.5 * RING_SIZE

            wait_until(busy_counted, 20, "the quiet and the busy flow were not both counted")
            # Open the quiet flow's detail, as the TUI does.
            engine.view_spec = replace(engine.view_spec, watch=flow)

            def watched() -> FlowPackets | None:
                got = engine.tick().flows.watched
                return got if got is not None and len(got.packets) >= QUIET else None

            got = wait_until(watched, 15, "the quiet flow's earlier packets were not shown")
        finally:
            engine.stop()
            server.kill()
            server.wait(timeout=10)
    assert [p.reverse for p in got.packets] == [False] * QUIET
    assert [p.ts for p in got.packets] == sorted(p.ts for p in got.packets)
    # ``w``: the detail saves what it holds; tshark reads the file back.
    path = tmp_path / "quiet.pcap"
    written, skipped = save_packets(str(path), got.packets)
    assert (written, skipped) == (QUIET, 0)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    done = subprocess.run(
        ["tshark", "-r", str(path), "-n", "-T", "fields", "-e", "udp.srcport", "-e",
         "udp.dstport", "-e", "data.data"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert rows == [["7000", "7777", f"quiet-{i}".encode().hex()] for i in range(QUIET)]
