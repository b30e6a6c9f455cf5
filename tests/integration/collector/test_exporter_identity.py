"""Who an exporter is and whether its clock can be believed, with a real pmacctd: an sFlow
agent is known by the agent address in its datagrams (not the UDP source, which a relay
or NAT changes), and flows dated in the future are counted and said once."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from netop.model import NetEvent
from netop.sources.collector.source import CollectorSource
from tests.integration.collector.test_real_exporters import _collect, _pmacctd
from tests.integration.collector.traffic import build

AGENT = "192.0.2.77"
AHEAD = 3600


@pytest.fixture(scope="module")
def pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("traffic") / "source.pcap"
    build(path)
    return path


def _shifted(src: Path, dst: Path, seconds: int) -> Path:
    """The same packets, every timestamp moved by ``seconds`` (classic pcap, any order)."""
    data = bytearray(src.read_bytes())
    order = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    pos = 24
    while pos + 16 <= len(data):
        sec, _usec, incl, _orig = struct.unpack_from(order + "IIII", data, pos)
        struct.pack_into(order + "I", data, pos, sec + seconds)
        pos += 16 + incl
    dst.write_bytes(bytes(data))
    return dst


def test_an_sflow_exporter_is_keyed_by_its_agent_address(
    pcap: Path, collector: CollectorSource, tmp_path: Path
) -> None:
    host, port = collector.addresses[0]
    lines = ["plugins: sfprobe", f"sfprobe_receiver: {host}:{port}",
             f"sfprobe_agentip: {AGENT}", "sfprobe_agentsubid: 0", "sampling_rate: 1"]  # fmt: skip
    records, status = _collect(collector, _pmacctd(tmp_path, pcap, lines), timeout=30)
    assert records
    assert {r.exporter for r in records} == {AGENT}
    assert [row["exporter"] for row in status.rows] == [AGENT]  # sent from 127.0.0.1


def test_flows_dated_in_the_future_are_counted_and_said_once(
    pcap: Path, tmp_path: Path
) -> None:
    import time

    ahead = _shifted(pcap, tmp_path / "ahead.pcap", int(time.time()) + AHEAD - 1_700_000_000)
    source = CollectorSource([("127.0.0.1", 0)])
    source.start()
    events: list[NetEvent] = []
    try:
        host, port = source.addresses[0]
        lines = ["plugins: nfprobe", f"nfprobe_receiver: {host}:{port}", "nfprobe_version: 10",
                 "nfprobe_engine: 7"]  # fmt: skip
        original_poll = source.poll

        def poll(now: float) -> list:
            items = original_poll(now)
            events.extend(i for i in items if isinstance(i, NetEvent))
            return items

        source.poll = poll  # type: ignore[method-assign]
        records, status = _collect(source, _pmacctd(tmp_path, ahead, lines), timeout=30)
    finally:
        source.stop()
    assert records
    row = status.rows[0]
    assert row["clock_skew"] == len(records), row
    assert AHEAD - 120 < row["clock_ahead_s"] < AHEAD + 120, row
    said = [e.message for e in events if "future" in e.message]
    assert len(said) == 1, said
    assert "127.0.0.1" in said[0]
