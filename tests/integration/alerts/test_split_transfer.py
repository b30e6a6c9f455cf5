"""A large transfer split over many slow connections, on real traffic: ``iperf3 -P``
from namespace A (the local host) to B, each stream paced below what one busy flow
needs, ``netop alerts -i`` capturing in B with a lowered limit. The same total spread
over many remotes (addresses of B) raises nothing."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.netns import VethPair, sh, veth_pair
from tests.ready import Watched, start_watched, wait_for_port

ROOT = Path(__file__).resolve().parents[3]
#: The lowered limit: 6 MB per minute from A to one remote. One flow is "busy" (summed
#: alone, before pairs) at a tenth of it, 10 kB/s; each stream here sends 6 kB/s.
LIMIT = 6e6
STREAMS, RATE = 100, "48k"


@pytest.fixture(autouse=True)
def _iperf3() -> None:
    if shutil.which("iperf3") is None:
        pytest.skip("iperf3 not installed (Debian package iperf3)")


def _alerts(pair: VethPair, config: Path) -> Watched:
    netop = start_watched(pair.run_b(sys.executable, "-m", "netop", "alerts", "-i",
                                     pair.if_b, "--json", "--duration", "90", "--no-actions",
                                     "--config", str(config)), cwd=ROOT)
    netop.stderr.wait_for("netop: capture attached on ", timeout=30)
    return netop


def _config(tmp_path: Path, pair: VethPair) -> Path:
    config = tmp_path / "netop.toml"
    config.write_text(f'[detect]\nlocal_nets = ["{pair.addr_a}/32"]\n'
                      f"large_transfer_bytes = {LIMIT:g}\nbaseline = false\n")
    config.chmod(0o600)
    return config


@contextmanager
def _servers(pair: VethPair, addresses: list[str], base_port: int) -> Iterator[None]:
    with ExitStack() as stack:
        for i, address in enumerate(addresses):
            port = base_port + i
            server = subprocess.Popen(pair.run_b("iperf3", "-s", "-1", "-B", address,
                                                 "-p", str(port)),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stack.callback(server.wait, 10)
            stack.callback(server.kill)
            wait_for_port(port, pair.ns_b, proc=server)
        yield


def _clients(pair: VethPair, addresses: list[str], base_port: int, streams: int,
             seconds: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen(pair.run_a("iperf3", "-c", address, "-p", str(base_port + i),
                                        "-P", str(streams), "-b", RATE, "-l", "1400",
                                        "-t", str(seconds)),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for i, address in enumerate(addresses)]


def _finish(netop: Watched) -> str:
    if netop.proc.poll() is None:
        netop.proc.send_signal(signal.SIGINT)
    stdout, _ = netop.communicate(timeout=30)
    return stdout


def test_parallel_slow_streams_to_one_remote_are_one_large_transfer(tmp_path: Path) -> None:
    with veth_pair() as pair:
        config = _config(tmp_path, pair)
        with _servers(pair, [pair.addr_b], 5310):
            netop = _alerts(pair, config)
            try:
                started = time.monotonic()
                clients = _clients(pair, [pair.addr_b], 5310, STREAMS, 30)
                try:
                    line = netop.stdout.wait_for('"kind": "large_transfer"', timeout=60)
                    print(f"\nlarge_transfer over {STREAMS} streams: detected "
                          f"{time.monotonic() - started:.1f} s after the start")
                finally:
                    for client in clients:
                        client.kill()
                        client.wait(timeout=10)
                stdout = _finish(netop)
            finally:
                netop.kill()
    record = json.loads(line)
    assert record["entity"] == f"{pair.addr_a} → {pair.addr_b}"
    assert record["value"] > LIMIT
    assert [json.loads(x)["kind"] for x in stdout.splitlines()] == ["large_transfer"]


def test_the_same_total_over_many_remotes_is_no_alert(tmp_path: Path) -> None:
    remotes = 10
    with veth_pair() as pair:
        prefix = pair.addr_b.rsplit(".", 1)[0]
        addresses = [f"{prefix}.{100 + i}" for i in range(remotes)]
        for address in addresses:
            sh("ip", "-n", pair.ns_b, "addr", "add", f"{address}/32", "dev", pair.if_b)
        config = _config(tmp_path, pair)
        with _servers(pair, addresses, 5320):
            netop = _alerts(pair, config)
            try:
                # As many streams and bytes as above, a tenth to each remote, for as
                # long as the alert above took at most.
                clients = _clients(pair, addresses, 5320, STREAMS // remotes, 20)
                codes = [client.wait(timeout=60) for client in clients]
                stdout = _finish(netop)
            finally:
                netop.kill()
    assert codes == [0] * remotes  # the traffic did flow: 12 MB in all, above the limit
    assert stdout.strip() == ""
