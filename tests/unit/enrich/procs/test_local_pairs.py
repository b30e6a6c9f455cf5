"""A flow between two local processes names both, and keeps the owners it found."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from netop.config import Config
from netop.engine.flowtable import FlowTable
from netop.engine.flowview import Enrichment, FlowViewBuilder
from netop.enrich.procs import ProcessResolver
from netop.model import FlowBatch, FlowRecord, ViewSpec

_CLIENT = """
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print(s.getsockname()[1], flush=True)
sys.stdin.read()
"""


def test_loopback_flow_shows_client_and_server_and_keeps_them() -> None:
    resolver = ProcessResolver(refresh_interval=60.0)
    view = FlowViewBuilder(Enrichment(procs=resolver))
    table = FlowTable()
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        client = subprocess.Popen(
            [sys.executable, "-c", _CLIENT, str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert client.stdout is not None
            cport = int(client.stdout.readline())  # connected: its socket exists
            accepted, _ = server.accept()
            resolver.refresh()
            record = FlowRecord(6, "127.0.0.1", cport, "127.0.0.1", port, packets=1, bytes=60,
                                first=100.0, last=100.0, tcp_flags=2)  # fmt: skip
            table.merge(FlowBatch("capture", (record,)), 100.0)
            shown = []
            for t in range(3):
                (row,) = view.build(table, ViewSpec(), 100.0 + t * 3, Config().interval).rows
                shown.append(row.process)
                if t == 0:  # both ends go away; what was seen stays
                    assert client.stdin is not None
                    client.stdin.close()
                    client.wait(timeout=10)
                    accepted.close()
                    resolver.refresh()
        finally:
            if client.poll() is None:
                client.kill()
                client.wait(timeout=10)
    first = shown[0]
    assert f"({client.pid})" in first  # the client, which opened the flow ...
    assert f"({os.getpid()})" in first  # ... and the server
    assert first.index(f"({client.pid})") < first.index(f"({os.getpid()})")
    assert shown == [first] * 3
