"""A real Prometheus server scrapes ``netop ifaces --prometheus`` in a namespace while
iperf3 sends a steady stream over a veth pair: every counter value Prometheus stored is
one netop printed, and PromQL's rate for the interface equals netop's own figure
within one interval."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.export.prom import prometheus
from tests.netns import veth_pair
from tests.ready import start_watched, wait_for_port, wait_until

METRICS_PORT = 9464
WINDOW = 6  # seconds of the rate compared


def test_promql_rate_equals_netops_figure(tmp_path: Path) -> None:
    if shutil.which("iperf3") is None:
        pytest.skip("iperf3 is not installed")
    with veth_pair() as pair:
        netop = start_watched(pair.run_b(
            sys.executable, "-m", "netop", "ifaces", "--json", "--count", "22", "--interval", "1",
            "-i", pair.if_b, "--prometheus", f"127.0.0.1:{METRICS_PORT}"))  # fmt: skip
        server = None
        try:
            netop.stderr.wait_for("prometheus: serving", 30)
            with prometheus(tmp_path, [f"127.0.0.1:{METRICS_PORT}"], pair.ns_b) as prom:
                wait_until(lambda: prom.query('up{job="netop"} == 1'), 30, "netop scraped")
                server = subprocess.Popen(pair.run_b("iperf3", "-s", "-1", "-B", pair.addr_b),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                wait_for_port(5201, netns=pair.ns_b, proc=server)
                subprocess.run(pair.run_a("iperf3", "-c", pair.addr_b, "-u", "-b", "8M", "-t",
                                          "10", "-l", "1000"),
                               check=True, capture_output=True, timeout=60)  # fmt: skip
                end = time.time() - 1.0  # inside the steady part, after a last scrape
                selector = f'netop_network_receive_bytes_total{{device="{pair.if_b}"}}'
                [rate] = prom.query(f"rate({selector}[{WINDOW}s])", at=end)
                [stored] = prom.query(f"{selector}[30s]", at=end)
            out, err = netop.communicate(timeout=60)
        finally:
            netop.kill()
            if server is not None and server.poll() is None:
                server.kill()
                server.wait(timeout=10)
    assert netop.returncode == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    printed = {r["counters"]["rx_bytes"] for r in records}
    # What Prometheus stored is what netop counted: the very counter values.
    values = [int(float(v)) for _, v in stored["values"]]
    assert len(values) >= 10
    assert set(values) <= printed
    # PromQL's rate against the mean of netop's own rx rates over the same window.
    mine = [r["rx_bps"] / 8 for r in records if end - WINDOW < r["ts"] <= end]
    assert len(mine) >= WINDOW - 1
    ours = sum(mine) / len(mine)
    theirs = float(rate["value"][1])
    assert ours > 900_000  # the stream ran: ~1 MB/s
    # Within one interval: the two windows differ by at most one tick's worth of bytes.
    assert abs(theirs - ours) <= ours / WINDOW, (theirs, ours)
