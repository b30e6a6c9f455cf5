"""The export sink: a bounded queue whose overflow is counted, everything queued sent at
close, and the [export] settings."""

from __future__ import annotations

import socket
import struct

import pytest

from netop.errors import ConfigError
from netop.model import FlowRecord
from netop.outputs.ipfix_export import ExportSettings, FlowExportSink, export_settings

REC = FlowRecord(17, "10.0.0.1", 5000, "10.0.0.2", 53, None, 1, 80, 1, 120, 1.0, 2.0)


def test_a_full_queue_drops_and_counts() -> None:
    sink = FlowExportSink(ExportSettings("127.0.0.1", 9, queue_records=10))
    sink.flows_ended([REC] * 6)
    sink.flows_ended([REC] * 6)  # 12 > 10: this batch is dropped whole
    sink.flows_ended([REC] * 4)
    assert (sink.flows_in, sink.dropped) == (16, 6)
    sink.close()
    assert "6 flows dropped (queue full)" in sink.summary()


def test_everything_queued_is_sent_at_close() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        port = receiver.getsockname()[1]
        sink = FlowExportSink(ExportSettings("127.0.0.1", port))
        sink.start()
        for _ in range(10):
            sink.flows_ended([REC] * 100)
        sink.close()
        datagrams = [receiver.recv(65535) for _ in range(sink.encoder.datagrams)]
    sent = 0
    for datagram in datagrams:
        # Each message's sequence: the data records sent before it, none lost.
        assert struct.unpack_from("!I", datagram, 8)[0] == sent
        sent += _records(datagram)
    assert sent == sink.encoder.records == 1000
    assert sink.dropped == 0
    assert "exported 1000 flow records" in sink.summary()


def _records(datagram: bytes) -> int:
    pos, count = 16, 0
    while pos < len(datagram):
        set_id, length = struct.unpack_from("!HH", datagram, pos)
        if set_id >= 256:
            count += (length - 4) // 74  # the IPv4 biflow record
        pos += length
    return count


def test_settings_from_the_config_and_flags() -> None:
    raw = {"export": {"netflow9": "127.0.0.1", "biflow": False, "domain": 7}}
    [ipfix, v9] = export_settings(raw, "localhost:9999", None, 1800.0)
    assert (ipfix.version, ipfix.host, ipfix.port, ipfix.biflow) == (10, "localhost", 9999, False)
    assert (v9.version, v9.port, v9.domain, v9.active_timeout) == (9, 2055, 7, 1800.0)
    assert export_settings({}, None, None, 0.0) == []
    with pytest.raises(ConfigError, match="export.template_every"):
        export_settings({"export": {"template_every": 0}}, "127.0.0.1", None, 0.0)
