"""in_if/out_if from real exporters, checked against nfdump (NetFlow/IPFIX) and tshark (sFlow).

pmacctd is told the ifIndex of its capture interface and the traffic's direction
(``[ns]fprobe_ifindex`` / ``_direction``), so the exports carry a real interface on one
side; softflowd exports 0 (no interface), which must come out as null.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from netop.model import FlowBatch, FlowRecord
from netop.sources.collector.decoder import Collector
from netop.sources.collector.source import CollectorSource
from tests.integration.collector.traffic import build
from tests.ready import wait_for_port

IFINDEX = 7
INTERNAL = 0x3FFFFFFF


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not installed (apt-get install softflowd pmacct nfdump tshark)")
    return path


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("traffic") / "source.pcap"
    build(path)
    return path


def _exporter(tmp_path: Path, pcap: Path, tool: str, version: int, direction: str | None,
              port: int) -> subprocess.Popen[bytes]:  # fmt: skip
    if tool == "softflowd":
        args = [_need("softflowd"), "-r", str(pcap), "-n", f"127.0.0.1:{port}", "-v",
                str(version), "-6", "-d", "-c", "none", "-p", str(tmp_path / "pid")]  # fmt: skip
    else:
        conf = tmp_path / "pmacctd.conf"
        conf.write_text("\n".join([
            "daemonize: false", f"pcap_savefile: {pcap}", "plugins: nfprobe[p]",
            f"nfprobe_receiver[p]: 127.0.0.1:{port}", f"nfprobe_version[p]: {version}",
            f"nfprobe_direction[p]: {direction}", f"nfprobe_ifindex[p]: {IFINDEX}",
        ]) + "\n")  # fmt: skip
        args = [_need("pmacctd"), "-f", str(conf)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _collect(source: CollectorSource, proc: subprocess.Popen[bytes]) -> list[FlowRecord]:
    """Flows until the exporter exited and nothing new came for a moment (bounded)."""
    records: list[FlowRecord] = []
    deadline = time.monotonic() + 40
    quiet = 0
    while time.monotonic() < deadline and quiet < 4:
        time.sleep(0.25)
        got = [r for item in source.poll(time.time()) if isinstance(item, FlowBatch)
               for r in item.records]  # fmt: skip
        records += got
        quiet = quiet + 1 if not got and proc.poll() is not None else 0
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    return records


def _nfdump(flowdir: Path) -> Counter[tuple[str, str, int, int]]:
    """Packets per (src, dst, in, out) as nfdump decodes nfcapd's file."""
    out = subprocess.run(
        [_need("nfdump"), "-R", str(flowdir), "-q", "-N", "-6", "-o", "fmt:%sa|%da|%in|%out|%pkt"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    sums: Counter[tuple[str, str, int, int]] = Counter()
    for line in out.splitlines():
        if "|" not in line:
            continue
        src, dst, in_if, out_if, packets = (x.strip() for x in line.split("|"))
        sums[(src, dst, int(in_if), int(out_if))] += int(packets)
    return sums


@pytest.mark.parametrize(
    ("tool", "version", "direction"),
    [("pmacctd", 5, "in"), ("pmacctd", 9, "out"), ("pmacctd", 10, "in"), ("pmacctd", 10, "out"),
     ("softflowd", 9, None), ("softflowd", 10, None)],
)  # fmt: skip
def test_interfaces_match_nfdump(
    pcap: Path, collector: CollectorSource, tmp_path: Path, tool: str, version: int,
    direction: str | None,
) -> None:  # fmt: skip
    """Exporter -> nfcapd (which decodes and repeats every datagram) -> netop."""
    host, port = collector.addresses[0]
    nfcapd_port = _free_udp_port()
    with tempfile.TemporaryDirectory() as flowdir:
        nfcapd = subprocess.Popen([_need("nfcapd"), "-w", flowdir, "-b", "127.0.0.1", "-p",
                                   str(nfcapd_port), "-t", "3600", "-R", f"{host}/{port}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            wait_for_port(nfcapd_port, udp=True, proc=nfcapd)
            records = _collect(collector, _exporter(tmp_path, pcap, tool, version, direction,
                                                    nfcapd_port))  # fmt: skip
        finally:
            # Everything netop got, nfcapd had decoded first: now it may write its file.
            nfcapd.send_signal(signal.SIGTERM)
            nfcapd.wait(timeout=30)
        theirs = _nfdump(Path(flowdir))
    ours: Counter[tuple[str, str, int, int]] = Counter()
    for r in records:
        ours[(r.src, r.dst, r.in_if or 0, r.out_if or 0)] += r.packets
        assert r.in_if != 0  # 0 names no interface: null
        assert r.out_if != 0
    assert records
    assert ours == theirs
    sides = {(r.in_if, r.out_if) for r in records}
    if tool == "softflowd":
        assert sides == {(None, None)}
    else:
        assert sides == ({(IFINDEX, None)} if direction == "in" else {(None, IFINDEX)})


def _record(proc: subprocess.Popen[bytes], sock: socket.socket) -> list[bytes]:
    """The datagrams an exporter sends until it exited and went quiet (bounded)."""
    sock.settimeout(0.25)
    out: list[bytes] = []
    deadline = time.monotonic() + 40
    quiet = 0
    while time.monotonic() < deadline and quiet < 4:
        try:
            out.append(sock.recv(65535))
            quiet = 0
        except TimeoutError:
            quiet = quiet + 1 if proc.poll() is not None else 0
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    return out


def _tshark_interfaces(datagrams: list[bytes], tmp_path: Path) -> Counter[tuple[int, int]]:
    """(input, output) interface words of every flow sample, as tshark dissects them."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    from scapy.utils import wrpcap

    path = tmp_path / "sflow.pcap"
    wrpcap(str(path), [Ether() / IP(src="127.0.0.1", dst="127.0.0.1")
                       / UDP(sport=40000, dport=6343) / Raw(d) for d in datagrams])  # fmt: skip
    out = subprocess.run(
        [_need("tshark"), "-r", str(path), "-d", "udp.port==6343,sflow", "-T", "fields",
         "-e", "sflow.flow_sample.input_interface", "-e", "sflow.flow_sample.output_interface",
         "-E", "occurrence=a", "-E", "aggregator=,"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    pairs: Counter[tuple[int, int]] = Counter()
    for line in out.splitlines():
        ins, _, outs = line.partition("\t")
        for a, b in zip(ins.split(","), outs.split(","), strict=True):
            if a:
                pairs[(int(a, 0), int(b, 0))] += 1
    return pairs


def _sflow_ifindex(word: int) -> int | None:
    # The sFlow v5 interface encoding as tshark shows it: format in the top 2 bits.
    fmt, value = word >> 30, word & INTERNAL
    return value if fmt == 0 and 0 < value < INTERNAL else None


@pytest.mark.parametrize("direction", ["in", "out"])
def test_sflow_interfaces_match_tshark(pcap: Path, tmp_path: Path, direction: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    conf = tmp_path / "pmacctd.conf"
    conf.write_text("\n".join([
        "daemonize: false", f"pcap_savefile: {pcap}", "plugins: sfprobe[s]",
        f"sfprobe_receiver[s]: 127.0.0.1:{sock.getsockname()[1]}",
        "sfprobe_agentip[s]: 127.0.0.1", "sampling_rate: 1",
        f"sfprobe_direction[s]: {direction}", f"sfprobe_ifindex[s]: {IFINDEX}",
    ]) + "\n")  # fmt: skip
    with sock:
        proc = subprocess.Popen([_need("pmacctd"), "-f", str(conf)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        datagrams = _record(proc, sock)
    assert datagrams
    words = _tshark_interfaces(datagrams, tmp_path)
    theirs: Counter[tuple[int | None, int | None]] = Counter()
    for (a, b), n in words.items():
        theirs[(_sflow_ifindex(a), _sflow_ifindex(b))] += n
    c = Collector()
    for data in datagrams:
        c.feed(data, "127.0.0.1", 1.0)
    ours: Counter[tuple[int | None, int | None]] = Counter()
    for r in (r for recs in c.flows.drain().values() for r in recs):
        ours[(r.in_if, r.out_if)] += r.packets  # 1 in 1 sampling: a packet per sample
    assert c.records == sum(words.values())
    assert ours == theirs
    # What pmacctd sends: our ifIndex on the configured side; the other is the agent itself.
    if direction == "in":
        assert {a for a, _ in words} == {IFINDEX}
    assert set(ours) == ({(IFINDEX, None)} if direction == "in" else {(None, IFINDEX)})
