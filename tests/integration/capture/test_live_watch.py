"""Live capture: CaptureSource.watch_flow gets a real TCP connection's packets and RTT."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
from typing import Any

import pytest

from netop.model import FlowBatch
from netop.sources.base import SourceItem
from netop.sources.capture.options import CaptureOptions
from netop.sources.capture.source import CaptureSource
from tests.netns import veth_pair
from tests.ready import wait_for_port, wait_until

pytestmark = pytest.mark.netns

_CLIENT = """
import socket, sys, time
s = socket.create_connection((sys.argv[1], 8086), timeout=5)
for _ in range(5):
    s.sendall(b"ping" * 100)
    s.recv(4096)
    time.sleep(0.05)
s.close()
"""
_SERVER = """
import shutil
import socket
srv = socket.create_server(("0.0.0.0", 8086))
srv.settimeout(20)
c, _ = srv.accept()
c.settimeout(5)
while (data := c.recv(4096)):
    c.sendall(b"pong")
"""


def test_live_watched_flow_has_both_directions_and_handshake_rtt(launcher: str) -> None:
    with veth_pair() as pair:
        # 20 ms each way on the server side: a handshake RTT we can recognise.
        netem = subprocess.run(
            ["tc", "-n", pair.ns_b, "qdisc", "add", "dev", pair.if_b, "root", "netem",
             "delay", "20ms"],
            capture_output=True, timeout=10, check=False,
        ) if shutil.which("tc") else None  # fmt: skip
        server = subprocess.Popen(pair.run_b(sys.executable, "-c", _SERVER))
        wait_for_port(8086, pair.ns_b, proc=server)
        items: list[SourceItem] = []
        lock = threading.Lock()

        def emit(item: SourceItem) -> None:
            with lock:
                items.append(item)

        options = CaptureOptions(
            interfaces=(pair.if_a,),
            helper=("ip", "netns", "exec", pair.ns_a),
            launcher=launcher,
            interval=0.5,
        )
        source = CaptureSource(options)
        source.start(emit)
        try:
            source.attached.wait(timeout=30)  # the child's rings are open: packets are seen
            assert source.attached.is_set(), "the capture never attached"
            subprocess.run(pair.run_a(sys.executable, "-c", _CLIENT, pair.addr_b), timeout=20,
                           check=True)  # fmt: skip
            # Find the connection's flow in the batches, then watch it (after the fact).
            def connection_flows() -> list[Any]:
                with lock:
                    return [
                        r for i in items if isinstance(i, FlowBatch) for r in i.records
                        if r.proto == socket.IPPROTO_TCP and r.dport == 8086
                    ]  # fmt: skip

            flows = wait_until(connection_flows, 15, "the connection was not captured")
            r = flows[0]
            source.watch_flow((r.proto, r.src, r.sport, r.dst, r.dport, r.vlan))

            def watched_batch() -> bool:
                with lock:
                    return any(isinstance(i, FlowBatch) and i.watched is not None for i in items)

            wait_until(watched_batch, 15, "no batch carried the watched flow")
        finally:
            source.stop()
            server.kill()
            server.wait(timeout=10)
    watched = [i.watched for i in items if isinstance(i, FlowBatch) and i.watched is not None]
    assert watched, "no batch carried the watched flow"
    packets = [p for w in watched for p in w.packets]
    assert any(p.reverse for p in packets)
    assert any(not p.reverse for p in packets)
    assert all(p.linktype == 101 for p in packets)  # raw IP from the SOCK_DGRAM ring
    assert b"ping" * 10 in b"".join(p.data for p in packets if not p.reverse)
    last = watched[-1]
    assert last.syn_rtt is not None
    assert last.handshake_rtt is not None
    assert 0.0 < last.syn_rtt <= last.handshake_rtt < 1.0
    if netem is not None and netem.returncode == 0:  # else no sch_netem here: any RTT
        assert last.syn_rtt == pytest.approx(0.020, abs=0.010)
