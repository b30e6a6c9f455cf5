"""Captured flows carry the capture interface's ifindex as in_if/out_if, by direction.

The client in namespace A opens TCP connections to a server in namespace B over a veth
pair; netop captures on each end. A's side sends the client's packets (out_if = A's
veth), B's side receives them (in_if = B's veth); the ifindex is the one ``ip -j link``
reports in that namespace.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.capture.test_live import _attached, _fetch, _http_server, _need
from tests.netns import VethPair, sh, veth_pair
from tests.ready import Watched, start_watched

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.netns


def _ifindex(ns: str, ifname: str) -> int:
    (link,) = json.loads(sh("ip", "-n", ns, "-j", "link", "show", "dev", ifname))
    return int(link["ifindex"])


def _netop_in(pair: VethPair, ns: str, ifname: str) -> Watched:
    cmd = ["ip", "netns", "exec", ns, sys.executable, "-m", "netop", "flows", "-i", ifname,
           "--duration", "5", "--json"]  # fmt: skip
    return start_watched(cmd, cwd=ROOT)


def test_captured_flows_name_the_capture_interface_by_direction() -> None:
    _need("curl")
    with veth_pair() as pair:
        index_a, index_b = _ifindex(pair.ns_a, pair.if_a), _ifindex(pair.ns_b, pair.if_b)
        server = _http_server(pair, pair.addr_b, 8082)
        side_a = _netop_in(pair, pair.ns_a, pair.if_a)
        side_b = _netop_in(pair, pair.ns_b, pair.if_b)
        try:
            _attached(side_a)
            _attached(side_b)
            for i in range(3):
                _fetch(pair, f"http://{pair.addr_b}:8082/?n={i}", max_time=3)
            out_a, err_a = side_a.communicate(timeout=30)
            out_b, err_b = side_b.communicate(timeout=30)
        finally:
            server.terminate()
            server.wait(timeout=10)
            side_a.kill()
            side_b.kill()
    assert side_a.returncode == 0, err_a
    assert side_b.returncode == 0, err_b
    for out, in_if, out_if in ((out_a, None, index_a), (out_b, index_b, None)):
        flows = [json.loads(line) for line in out.splitlines()]
        http = [r for r in flows if r["proto"] == "tcp" and r["dport"] == 8082]
        assert len(http) == 3, flows
        for r in http:
            assert r["src"] == pair.addr_a
            assert r["packets_rev"] > 0
            assert (r["in_if"], r["out_if"]) == (in_if, out_if), r


def test_flows_read_from_a_file_have_no_interface() -> None:
    pcap = ROOT.parent / "shared" / "data" / "pcap" / "traffic" / "pcpp_dnspackets.pcap"
    if not pcap.exists():
        pytest.skip(f"{pcap} is absent (../shared/data is not checked out)")
    done = subprocess.run([sys.executable, "-m", "netop", "flows", "-r", str(pcap), "--json"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    flows = [json.loads(line) for line in done.stdout.splitlines()]
    assert flows
    assert all(r["in_if"] is None and r["out_if"] is None for r in flows)
