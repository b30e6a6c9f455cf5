"""Real softflowd and pmacctd read a pcap with known flows and export to netop."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netop.model import FlowBatch, FlowRecord, SourceStatus
from netop.sources.collector.source import CollectorSource
from tests.integration.collector.traffic import Truth, build, unfold
from tests.ready import start_watched


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple, Truth]]:
    path = tmp_path_factory.mktemp("traffic") / "source.pcap"
    return path, build(path)


def _collect(source: CollectorSource, proc: subprocess.Popen[bytes], timeout: float) -> tuple[
    list[FlowRecord], SourceStatus
]:  # fmt: skip
    """Poll until the exporter exited and nothing new arrived for a moment."""
    records: list[FlowRecord] = []
    status: SourceStatus | None = None
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        time.sleep(0.25)
        got = 0
        for item in source.poll(time.time()):
            if isinstance(item, FlowBatch):
                records.extend(item.records)
                got += len(item.records)
            elif isinstance(item, SourceStatus):
                status = item
        quiet = quiet + 1 if got == 0 and proc.poll() is not None else 0
        if quiet >= 3:
            break
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    assert status is not None
    return records, status


def _merge(records: list[FlowRecord]) -> dict[tuple, FlowRecord]:
    """Sum records per 5-tuple (an exporter may split one flow)."""
    out: dict[tuple, FlowRecord] = {}
    for r in records:
        key = (r.proto, r.src, r.sport, r.dst, r.dport)
        old = out.get(key)
        if old is not None:
            r = r._replace(
                tcp_flags=r.tcp_flags | old.tcp_flags,
                packets=r.packets + old.packets,
                bytes=r.bytes + old.bytes,
                first=min(r.first, old.first),
                last=max(r.last, old.last),
            )
        out[key] = r
    return out


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not installed (apt-get install softflowd pmacct)")
    return path


@pytest.mark.parametrize(("version", "source_name"), [(5, "netflow5"), (9, "netflow9"),
                                                      (10, "ipfix")])  # fmt: skip
def test_softflowd(traffic, collector, tmp_path, version: int, source_name: str) -> None:
    pcap, truth = traffic
    host, port = collector.addresses[0]
    # -c none: otherwise softflowd -r blocks forever on its control socket.
    args = [_need("softflowd"), "-r", str(pcap), "-n", f"{host}:{port}", "-v", str(version),
            "-d", "-c", "none", "-p", str(tmp_path / "pid")]  # fmt: skip
    if version != 5:
        args.insert(-4, "-6")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records, status = _collect(collector, proc, timeout=20)
    expected = {k: f for k, f in truth.items() if version != 5 or not f.ipv6}
    got = _merge(records)
    assert set(got) == set(expected)
    for key, flow in expected.items():
        r = got[key]
        assert (r.packets, r.bytes, r.tcp_flags) == (flow.packets, flow.bytes, flow.flags), key
        # softflowd times both records of a connection with the connection's first/last
        # packet, so a direction's span can be a reply's few ms longer than its own.
        assert abs((r.last - r.first) - (flow.last - flow.first)) < 0.05
        assert r.source == source_name
        assert r.exporter == "127.0.0.1"
        assert r.sampling == 1
    row = status.rows[0]
    assert row["exporter"] == "127.0.0.1"
    assert row["malformed"] == 0
    assert row["seq_lost"] == 0


def _pmacctd(tmp_path: Path, pcap: Path, lines: list[str]) -> subprocess.Popen[bytes]:
    conf = tmp_path / "pmacctd.conf"
    conf.write_text("\n".join(["daemonize: false", f"pcap_savefile: {pcap}", *lines]) + "\n")
    return subprocess.Popen([_need("pmacctd"), "-f", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip


@pytest.mark.parametrize(("version", "source_name"), [(5, "netflow5"), (9, "netflow9"),
                                                      (10, "ipfix")])  # fmt: skip
def test_pmacctd_nfprobe(traffic, collector, tmp_path, version: int, source_name: str) -> None:
    pcap, truth = traffic
    host, port = collector.addresses[0]
    lines = ["plugins: nfprobe", f"nfprobe_receiver: {host}:{port}",
             f"nfprobe_version: {version}"]  # fmt: skip
    if version == 5:
        lines.append("nfprobe_engine: 0:0")
    else:
        lines += ["nfprobe_engine: 7", "aggregate: src_host, dst_host, src_port, dst_port, "
                  "proto, tos, tcpflags, vlan"]  # fmt: skip
    records, status = _collect(collector, _pmacctd(tmp_path, pcap, lines), timeout=30)
    expected = {k: f for k, f in truth.items() if version != 5 or not f.ipv6}
    got = _merge(records)
    assert set(got) == set(expected)
    for key, flow in expected.items():
        r = got[key]
        assert (r.packets, r.bytes) == (flow.packets, flow.bytes), key
        if version != 5:
            assert r.vlan == flow.vlan, key
            # pmacct exports pcap times (flowStart/EndMilliseconds): compare absolutely
            # (nfprobe, a softflowd fork, also times a direction by its whole connection).
            assert abs(r.first - flow.first) < 0.05, key
            assert abs(r.last - flow.last) < 0.05, key
        assert r.source == source_name
        assert r.sampling == 1
    assert status.rows[0]["malformed"] == 0


@pytest.mark.parametrize("rate", [1, 10])
def test_pmacctd_sfprobe(traffic, collector, tmp_path, rate: int) -> None:
    pcap, truth = traffic
    host, port = collector.addresses[0]
    lines = ["plugins: sfprobe", f"sfprobe_receiver: {host}:{port}", "sfprobe_agentip: 127.0.0.1",
             "sfprobe_agentsubid: 0", f"sampling_rate: {rate}"]  # fmt: skip
    records, status = _collect(collector, _pmacctd(tmp_path, pcap, lines), timeout=30)
    got = _merge(records)
    assert records
    assert all(r.source == "sflow" and r.sampling == rate for r in records)
    assert set(got) <= set(truth)
    total_packets = sum(f.packets for f in truth.values())
    total_bytes = sum(f.bytes for f in truth.values())
    est_packets = sum(r.packets for r in records)
    est_bytes = sum(r.bytes for r in records)
    if rate == 1:
        # Every packet is a sample (the notes saw an exporter miss a handful).
        assert total_packets * 0.98 <= est_packets <= total_packets
        for key, r in got.items():
            flow = truth[key]
            assert r.packets <= flow.packets, key
            assert r.vlan == flow.vlan, key
            assert r.bytes * flow.packets == flow.bytes * r.packets or r.packets < flow.packets
    else:
        # Sampling 1 in N: the packet estimate's standard deviation is about
        # sqrt(n * N * (N - 1)); allow 4 sigma.
        sigma = math.sqrt(total_packets * (rate - 1))
        assert abs(est_packets - total_packets) <= 4 * sigma
        assert abs(est_bytes - total_bytes) <= 4 * sigma * (total_bytes / total_packets) * 1.5
    assert status.rows[0]["malformed"] == 0


def test_collect_command_end_to_end(traffic, tmp_path) -> None:
    """`netop collect --json --duration` prints softflowd's flows and exits 0."""
    pcap, truth = traffic
    softflowd = _need("softflowd")
    cmd = [sys.executable, "-m", "netop", "collect", "--listen", "127.0.0.1:0", "--json",
           "--duration", "4", "--interval", "0.5"]  # fmt: skip
    proc = start_watched(cmd, cwd=Path(__file__).resolve().parents[3])
    try:
        # Bound before it says so: the exporter starts on this line (bounded wait).
        first = proc.stderr.wait_for("listening on udp 127.0.0.1:", timeout=30)
        port = int(first.rsplit(":", 1)[1])
        subprocess.run([softflowd, "-r", str(pcap), "-n", f"127.0.0.1:{port}", "-v", "9", "-6",
                        "-d", "-c", "none", "-p", str(tmp_path / "pid")], check=True,
                       capture_output=True, timeout=20)  # fmt: skip
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    # One record per conversation (the engine's flow table joins the two directions).
    one_way = unfold(lines)
    assert len(one_way) == len(truth)
    assert sum(p for p, _ in one_way.values()) == sum(f.packets for f in truth.values())
    assert {x["source"] for x in lines} == {"netflow9"}
    assert "1 exporters" in err
