"""Listeners, kernel drop accounting, the Source contract and the [collector] config."""

from __future__ import annotations

import argparse
import socket
import struct
import time

import pytest

from netop.config import Config
from netop.errors import ConfigError, NetopError
from netop.model import FlowBatch, InterfaceSample, NetEvent, SourceStatus
from netop.sources.collector.decoder import Collector
from netop.sources.collector.server import CollectorServer, parse_listen
from netop.sources.collector.source import (
    CollectorSource,
    add_collector_arguments,
    collector_settings,
    collector_source_from_args,
)
from tests.unit.sources.collector import builders as b


def test_parse_listen_forms() -> None:
    assert parse_listen("2055") == ("127.0.0.1", 2055)
    assert parse_listen("0.0.0.0:4739") == ("0.0.0.0", 4739)
    assert parse_listen("[::1]:6343") == ("::1", 6343)
    assert parse_listen(":9995") == ("127.0.0.1", 9995)
    for bad in ("::1", "host:port", "70000", "[::1]6343", ""):
        with pytest.raises(ConfigError):
            parse_listen(bad)


def test_config_section_is_validated() -> None:
    raw = {"collector": {"listen": ["2055", "[::1]:4739"], "allow": ["10.0.0.0/8"],
                         "template_lifetime": 600}}  # fmt: skip
    listens, limits, allow, _ = collector_settings(Config(raw=raw))
    assert listens == [("127.0.0.1", 2055), ("::1", 4739)]
    assert limits.template_lifetime == 600.0
    assert allow == ["10.0.0.0/8"]
    with pytest.raises(ConfigError, match="collector.allow"):
        collector_settings(Config(raw={"collector": {"allow": ["not-an-address"]}}))
    with pytest.raises(ConfigError, match="collector.template_lifetime"):
        collector_settings(Config(raw={"collector": {"template_lifetime": "long"}}))
    with pytest.raises(ConfigError, match="--collect"):
        collector_settings(Config(), ["127.0.0.1:x"])


def test_source_from_args_only_when_asked() -> None:
    parser = argparse.ArgumentParser()
    add_collector_arguments(parser)
    assert collector_source_from_args(parser.parse_args([]), Config()) is None
    source = collector_source_from_args(parser.parse_args(["--collect", "127.0.0.1:0"]), Config())
    assert source is not None
    assert source.produces_flows  # the engine shows the Flows pane for it
    try:
        assert source.addresses[0][0] == "127.0.0.1"
        assert source.addresses[0][1] > 0
    finally:
        source.stop()


def test_port_in_use_is_one_clear_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with pytest.raises(NetopError, match=f"cannot listen on 127.0.0.1:{port}"):
            CollectorServer([("127.0.0.1", port)], Collector())


def test_kernel_drops_are_read_for_our_socket() -> None:
    server = CollectorServer([("127.0.0.1", 0)], Collector(), rcvbuf=4096)
    try:
        assert server.kernel_drops() == 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for _ in range(500):  # nobody reads: the small buffer overflows
                sender.sendto(b"\0" * 1000, server.addresses[0])
        assert server.kernel_drops() > 0
    finally:
        server.stop()


def test_source_poll_reports_flows_counters_events_and_status() -> None:
    source = CollectorSource([("127.0.0.1", 0)])
    source.start()
    try:
        target = source.addresses[0]
        tpl = b.ipfix_template_set(300, b.V4_TEMPLATE)
        data = b.data_set(300, b.v4_record("10.0.0.1", "10.0.0.2", 1234, 80))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(b.ipfix(tpl, data, seq=0), target)
            sender.sendto(b.ipfix(data, seq=1), target)
            sender.sendto(b.ipfix(data, seq=7), target)  # 5 records lost
            sender.sendto(b.sflow(b.sflow_counter_sample(index=4)), target)
            sender.sendto(b"garbage!", target)
        items: list[object] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.1)
            items += source.poll(time.time())
            status = [i for i in items if isinstance(i, SourceStatus)][-1]
            if sum(row["datagrams"] for row in status.rows) >= 5:
                break
        batches = [i for i in items if isinstance(i, FlowBatch)]
        assert {batch.source for batch in batches} == {"ipfix"}
        records = [r for batch in batches for r in batch.records]
        assert sum(r.packets for r in records) == 9
        assert {(r.src, r.dst, r.exporter) for r in records} == {("10.0.0.1", "10.0.0.2",
                                                                  "127.0.0.1")}  # fmt: skip
        samples = [i for i in items if isinstance(i, InterfaceSample)]
        # An sFlow agent is known by the agent address it sends, not the UDP source.
        assert [(s.origin, s.name) for s in samples] == [("sflow:192.0.2.1", "4")]
        messages = " | ".join(i.message for i in items if isinstance(i, NetEvent))
        assert "new exporter 127.0.0.1" in messages
        assert "5 ipfix sequence numbers lost" in messages
        row, agent = status.rows
        assert (row["exporter"], row["seq_lost"], row["malformed"]) == ("127.0.0.1", 5, 1)
        assert row["templates"] == 1
        assert (agent["exporter"], agent["protocol"]) == ("192.0.2.1", "sflow")
        assert "2 exporters" in status.summary
    finally:
        source.stop()
    source.stop()  # idempotent


def test_sflow_expanded_samples() -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    frame = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=5, dport=6, flags="S"))
    header = frame + b"\0" * (-len(frame) % 4)
    raw = struct.pack("!IIII", 1, len(frame) + 4, 4, len(frame)) + header
    records = struct.pack("!II", 1, len(raw)) + raw
    body = struct.pack("!IIIIIIIIIII", 1, 0, 7, 50, 50, 0, 0, 1, 0, 2, 1) + records
    expanded = struct.pack("!II", 3, len(body)) + body
    c = Collector()
    (rec,) = b.flows(c, b.sflow(expanded), "192.0.2.1", 1.0)
    assert rec.sampling == 50
    assert (rec.proto, rec.sport, rec.dport, rec.packets, rec.tcp_flags) == (6, 5, 6, 50, 0x02)


def test_ipv6_listener_names_the_exporter() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this kernel")
    try:
        source = CollectorSource([("::1", 0)])
    except NetopError as exc:
        pytest.skip(f"no ::1 here: {exc}")
    source.start()
    try:
        record = b.v4_record("10.0.0.1", "10.0.0.2", 1, 2)
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sender:
            sender.sendto(b.ipfix(b.ipfix_template_set(300, b.V4_TEMPLATE),
                                  b.data_set(300, record)), source.addresses[0])  # fmt: skip
        source.server.flush()
        deadline = time.monotonic() + 5
        records = []
        while not records and time.monotonic() < deadline:
            time.sleep(0.05)
            records = [r for i in source.poll(time.time()) if isinstance(i, FlowBatch)
                       for r in i.records]  # fmt: skip
        assert [r.exporter for r in records] == ["::1"]
    finally:
        source.stop()


def test_collect_command_bad_listen_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from netop.cli import main

    assert main(["collect", "--listen", "127.0.0.1:port", "--duration", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "netop: --listen: port must be 0-65535, got '127.0.0.1:port'"


def test_collect_command_runs_for_its_duration(capsys: pytest.CaptureFixture[str]) -> None:
    from netop.cli import main

    start = time.monotonic()
    assert main(["collect", "--listen", "127.0.0.1:0", "--json", "--duration", "0.3"]) == 0
    assert 0.3 <= time.monotonic() - start < 3
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "listening on udp 127.0.0.1:" in captured.err


BURST = 400


def test_tick_gets_the_lock_while_a_slow_burst_is_decoded() -> None:
    """A burst of costly datagrams must not keep the tick waiting for all of it."""
    import random

    from netop.sources.collector.exporters import Limits
    from tests.integration.collector import hostile

    # Budgets lifted so that every datagram really costs (its templates compiled); 400
    # of them keep the decoder busy for about a second, so the tick's try comes while it
    # is (40 were done in ~0.1 s: a busy machine could let the burst end first).
    limits = Limits(compiles_per_second=10**6, compiles_total_per_second=10**6,
                    max_templates_per_datagram=10**6, max_templates=10**6,
                    template_cache=1)  # fmt: skip
    server = CollectorServer([("127.0.0.1", 0)], Collector(limits))
    server.start()
    rng = random.Random(9)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for _ in range(BURST):
                sender.sendto(hostile.many_templates(rng, size=400), server.addresses[0])
        deadline = time.monotonic() + 10
        while server.received == 0 and server.busy == 0 and time.monotonic() < deadline:
            time.sleep(0.005)  # until the decode thread has started on the burst
        start = time.monotonic()
        with server.locked():
            waited = time.monotonic() - start
            decoded = server.collector.datagrams
        assert waited < 0.5, f"the tick waited {waited:.2f} s for the lock"
        assert decoded < BURST, decoded  # it got in during the burst, not after it
    finally:
        server.stop()


def test_allow_list_from_the_command_line_and_new_limit_keys() -> None:
    raw = {"collector": {"allow": ["10.0.0.0/8"], "max_domains": 16, "exporter_lifetime": 60}}
    _, limits, allow, _ = collector_settings(
        Config(raw=raw), ["2055"], allow_args=["192.0.2.0/24, 198.51.100.7", "2001:db8::/32"]
    )
    assert allow == ["192.0.2.0/24", "198.51.100.7", "2001:db8::/32"]
    assert (limits.max_domains, limits.exporter_lifetime) == (16, 60.0)
    with pytest.raises(ConfigError, match="--allow: not an address or network: 'x'"):
        collector_settings(Config(), ["2055"], allow_args=["x"])
    with pytest.raises(ConfigError, match="collector.max_domains"):
        collector_settings(Config(raw={"collector": {"max_domains": 0}}))


def test_listening_beyond_loopback_without_allow_list_warns() -> None:
    from netop.sources.collector.source import open_warning

    assert open_warning([("127.0.0.1", 2055), ("::1", 4739)], []) is None
    assert open_warning([("0.0.0.0", 2055)], ["10.0.0.0/8"]) is None
    text = open_warning([("127.0.0.1", 1), ("0.0.0.0", 2055)], [])
    assert text is not None
    assert "0.0.0.0:2055" in text
    assert "--allow" in text


def test_collect_command_warns_off_loopback_and_takes_allow(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from netop.cli import main

    assert main(["collect", "--listen", "0.0.0.0:0", "--duration", "0"]) == 0
    err = capsys.readouterr().err
    assert "netop: warning: collector listens on 0.0.0.0:" in err
    assert main(["collect", "--listen", "0.0.0.0:0", "--allow", "127.0.0.0/8",
                 "--duration", "0"]) == 0  # fmt: skip
    assert "warning" not in capsys.readouterr().err


def test_limit_drops_are_in_the_stats_and_the_summary() -> None:
    import random

    from tests.integration.collector import hostile

    source = CollectorSource([("127.0.0.1", 0)])
    source.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(hostile.empty_sets(random.Random(1), size=2000), source.addresses[0])
            sender.sendto(b.ipfix(b.ipfix_template_set(300, b.V4_TEMPLATE),
                                  b.data_set(300, b.v4_record("10.0.0.1", "10.0.0.2", 1, 2))),
                          source.addresses[0])  # fmt: skip
        deadline = time.monotonic() + 5
        batches: list[FlowBatch] = []
        status = None
        while not batches and time.monotonic() < deadline:
            source.server.flush()
            items = source.poll(time.time())
            batches = [i for i in items if isinstance(i, FlowBatch)]
            status = next(i for i in items if isinstance(i, SourceStatus))
        assert batches
        assert batches[0].stats["limit_empty_sets"] == 496
        assert status is not None
        assert "dropped by limits: empty_sets 496" in status.summary
    finally:
        source.stop()
