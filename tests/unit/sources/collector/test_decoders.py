"""Decoder behaviour on crafted datagrams: templates, options, buffering, hostile input."""

from __future__ import annotations

import struct

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from netop.model import FlowRecord
from netop.sources.collector.decoder import Collector, detect
from netop.sources.collector.exporters import Limits
from tests.unit.sources.collector import builders as b

EXP = "192.0.2.1"


def _records(c: Collector, data: bytes, now: float = 100.0) -> list[FlowRecord]:
    return b.flows(c, data, EXP, now)


def test_detects_each_protocol() -> None:
    assert detect(b.v9()) == "netflow9"
    assert detect(b.ipfix()) == "ipfix"
    assert detect(b.sflow()) == "sflow"
    assert detect(struct.pack("!HH", 5, 1)) == "netflow5"
    assert detect(b"\x00\x07abc") is None


def test_ipfix_template_then_data() -> None:
    c = Collector()
    record = b.v4_record("10.0.0.1", "10.0.0.2", 1234, 80)
    msg = b.ipfix(b.ipfix_template_set(300, b.V4_TEMPLATE), b.data_set(300, record, pad=3))
    (rec,) = _records(c, msg)
    assert rec.proto == 6
    assert (rec.src, rec.sport, rec.dst, rec.dport) == ("10.0.0.1", 1234, "10.0.0.2", 80)
    assert (rec.packets, rec.bytes) == (3, 180)
    assert (rec.first, rec.last) == (1_700_000_000.0, 1_700_000_001.0)
    assert rec.tcp_flags == 0x12
    assert (rec.in_if, rec.out_if) == (None, None)  # the template has no interfaces


def test_data_before_template_is_buffered_then_decoded() -> None:
    c = Collector()
    data = b.ipfix(b.data_set(300, b.v4_record("10.0.0.1", "10.0.0.2", 1, 2)), seq=0)
    assert _records(c, data) == []
    assert len(c.exporters[EXP].pending) == 1
    out = _records(c, b.ipfix(b.ipfix_template_set(300, b.V4_TEMPLATE), seq=1))
    assert len(out) == 1
    assert not c.exporters[EXP].pending


def test_buffered_data_is_bounded_and_expires() -> None:
    c = Collector(limits=Limits(max_pending_bytes=1000, pending_lifetime=5.0))
    for i in range(100):
        c.feed(b.ipfix(b.data_set(400 + i, b"x" * 100)), EXP, 100.0)
    state = c.exporters[EXP]
    assert state.pending_bytes <= 1000
    assert state.pending_dropped > 0
    c.housekeeping(110.0)
    assert not state.pending
    assert state.pending_bytes == 0


def test_template_redefinition_replaces() -> None:
    c = Collector()
    _records(c, b.ipfix(b.ipfix_template_set(300, b.V4_TEMPLATE)))
    _records(c, b.ipfix(b.ipfix_template_set(300, [(8, 4), (12, 4), (2, 4)])))
    (rec,) = _records(
        c, b.ipfix(b.data_set(300, struct.pack("!4s4sI", b"\1\1\1\1", b"\2\2\2\2", 9)))
    )
    assert rec.packets == 9
    assert len(c.exporters[EXP].templates) == 1


def test_templates_are_per_domain_and_expire() -> None:
    c = Collector(limits=Limits(template_lifetime=30.0))
    _records(c, b.ipfix(b.ipfix_template_set(300, b.V4_TEMPLATE), domain=1))
    data = b.ipfix(b.data_set(300, b.v4_record("10.0.0.1", "10.0.0.2", 1, 2)), domain=2)
    assert _records(c, data) == []  # other observation domain: unknown template
    events = c.housekeeping(200.0)
    assert c.exporters[EXP].templates == {}
    assert any("template 300 expired" in e.message for e in events)


def test_withdrawal_removes_template_and_reports_it() -> None:
    c = Collector()
    _records(c, b.ipfix(b.ipfix_template_set(300, b.V4_TEMPLATE)))
    _records(c, b.ipfix(struct.pack("!HHHH", 2, 8, 300, 0)))
    assert c.exporters[EXP].templates == {}
    assert any("withdrawn" in e.message for e in c.housekeeping(100.0))


def test_template_limit_per_exporter() -> None:
    c = Collector(limits=Limits(max_templates=10))
    for tid in range(256, 300):
        c.feed(b.ipfix(b.ipfix_template_set(tid, b.V4_TEMPLATE)), EXP, 1.0)
    state = c.exporters[EXP]
    assert len(state.templates) == 10
    assert state.templates_refused == 34


def test_options_sampling_applies_to_flows() -> None:
    c = Collector()
    options = b.ipfix_options_set(500, [(149, 4)], [(305, 4), (306, 4)])
    opt_data = b.data_set(500, struct.pack("!III", 1, 1, 99))
    tpl = b.ipfix_template_set(300, b.V4_TEMPLATE)
    data = b.data_set(300, b.v4_record("10.0.0.1", "10.0.0.2", 1, 2, packets=2, octets=100))
    out = b.flows(c, b.ipfix(options, opt_data, tpl, data), EXP, 1.0)
    assert [(r.sampling, r.packets, r.bytes) for r in out] == [(100, 200, 10000)]


def test_enterprise_and_variable_length_fields() -> None:
    c = Collector()
    fields = [(8, 4), (100, 4, 9), (82, 65535), (12, 4), (2, 4)]
    long_name = b"y" * 300
    rec1 = b"\1\1\1\1" + b"ent!" + b"\3abc" + b"\2\2\2\2" + struct.pack("!I", 5)
    rec2 = b"\1\1\1\2" + b"ent!" + b"\xff" + struct.pack("!H", 300) + long_name
    rec2 += b"\2\2\2\2" + struct.pack("!I", 7)
    out = _records(c, b.ipfix(b.ipfix_template_set(300, fields), b.data_set(300, rec1, rec2)))
    assert sorted((r.src, r.packets) for r in out) == [("1.1.1.1", 5), ("1.1.1.2", 7)]


def test_varlen_claiming_more_than_remains_stops_cleanly() -> None:
    c = Collector()
    fields = [(8, 4), (82, 65535), (2, 4)]
    bad = b"\1\1\1\1" + b"\xff" + struct.pack("!H", 5000) + b"zz"
    assert _records(c, b.ipfix(b.ipfix_template_set(300, fields), b.data_set(300, bad))) == []
    assert c.exporters[EXP].malformed == 0


def test_hostile_structures_are_counted_not_raised() -> None:
    c = Collector()
    hostile = [
        b.ipfix(struct.pack("!HH", 2, 0)),  # set length 0
        b.ipfix(struct.pack("!HH", 2, 2)),  # set length smaller than its header
        b.ipfix(struct.pack("!HHHH", 2, 12, 300, 500) + b"\0" * 4),  # field count overruns
        b.ipfix(struct.pack("!HH", 300, 4000)),  # set longer than the message
        struct.pack("!HHIII", 10, 5000, 0, 0, 0),  # message length beyond the datagram
        b.v9(struct.pack("!HH", 0, 1)),
        b.v9(struct.pack("!HHHH", 0, 8, 12, 1)),  # template id below 256
        b.ipfix(b.ipfix_options_set(300, [], [(1, 4)])),  # options template without scope
        struct.pack("!HHIIIIBBH", 5, 31, 0, 0, 0, 0, 0, 0, 0),  # v5 count beyond 30
        struct.pack("!HHIIIIBBH", 5, 2, 0, 0, 0, 0, 0, 0, 0) + b"\0" * 48,  # v5 truncated
        b.sflow(b"\0\0\0\1\xff\xff\xff\xff"),  # sample longer than the datagram
        b"\0\0\0\5\0\0\0\7",  # sFlow agent address type 7
    ]
    for data in hostile:
        c.feed(data, EXP, 1.0)
    assert c.exporters[EXP].malformed >= len(hostile) - 1
    assert c.records == 0


def test_options_template_with_bad_scope_count_is_malformed() -> None:
    c = Collector()
    c.feed(b.ipfix(struct.pack("!HHHHH", 3, 14, 300, 1, 2) + struct.pack("!HH", 1, 4)), EXP, 1.0)
    assert c.exporters[EXP].malformed == 1


def test_sflow_sample_count_that_lies() -> None:
    c = Collector()
    frame = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2))
    data = b.sflow(b.sflow_flow_sample(frame), count=1_000_000)
    assert len(_records(c, data)) == 1
    assert c.exporters[EXP].malformed == 0


def test_sflow_flow_and_counter_samples() -> None:
    c = Collector()
    frame = bytes(
        Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2) / (b"x" * 72)
    )
    data = b.sflow(b.sflow_flow_sample(frame, rate=100, vlan=42), b.sflow_counter_sample(index=3))
    out = b.flows(c, data, EXP, 5.0)
    assert [(r.sampling, r.proto, r.vlan, r.packets, r.bytes) for r in out] == [
        (100, 17, 42, 100, 100 * 100)
    ]
    (sample,) = c.take_interfaces()
    assert sample.origin == f"sflow:{EXP}"
    assert (sample.name, sample.rx_bytes, sample.tx_bytes, sample.oper_up) == (
        "3",
        1000,
        2000,
        True,
    )


def test_sflow_sample_pool_corrects_the_rate() -> None:
    c = Collector()
    frame = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2))
    _records(c, b.sflow(b.sflow_flow_sample(frame, rate=10, seq=1, pool=10), seq=1))
    # 2 samples later the pool grew by 30 packets: each sample stands for 15.
    (rec,) = _records(c, b.sflow(b.sflow_flow_sample(frame, rate=10, seq=3, pool=40), seq=2))
    assert rec.packets == 15


def test_sequence_gaps_are_counted() -> None:
    c = Collector()
    tpl = b.v9_template_set(300, b.V4_TEMPLATE)
    for seq in (0, 1, 5):
        c.feed(b.v9(tpl, seq=seq), EXP, 1.0)
    assert c.exporters[EXP].seq_lost == 3
    c.feed(b.v9(tpl, seq=4_000_000), EXP, 1.0)  # a restart, not 4 million losses
    assert c.exporters[EXP].seq_lost == 3
    assert c.exporters[EXP].seq_resets == 1


def test_allow_list_refuses_other_exporters() -> None:
    c = Collector(allow=["10.9.0.0/16"])
    c.feed(b.ipfix(), "192.0.2.9", 1.0)
    c.feed(b.ipfix(), "10.9.1.1", 1.0)
    assert list(c.exporters) == ["10.9.1.1"]
    assert c.refused == 1


def test_v9_trailing_padding_after_count_is_ignored() -> None:
    c = Collector()
    tpl = b.v9_template_set(300, b.V4_TEMPLATE)
    data = b.v9(tpl, b.data_set(300, b.v4_record("10.0.0.1", "10.0.0.2", 1, 2)), count=2)
    assert len(_records(c, data + b"\xde\xad\xbe\xef")) == 1
    assert c.exporters[EXP].malformed == 0


def test_huge_repetitive_template_is_cheap() -> None:
    import time

    c = Collector()
    fields = [(8, 4)] * 16000
    start = time.process_time()
    for _ in range(3):
        c.feed(b.ipfix(b.ipfix_template_set(300, fields)), EXP, 1.0)
    assert time.process_time() - start < 1.0
    assert not c.exporters[EXP].templates  # past max_template_fields: refused, counted
    assert c.drops()["template_fields"] == 3
    # Up to the limit, a repeated element is still decoded once.
    c.feed(b.ipfix(b.ipfix_template_set(300, [(8, 4)] * 256), b.data_set(300, b"\0" * 1024)),
           EXP, 1.0)  # fmt: skip
    assert len(c.exporters[EXP].templates[(10, 1, 300)].picks) == 1


def test_buffered_data_is_bounded_across_exporters() -> None:
    c = Collector(limits=Limits(max_pending_bytes=1000, max_pending_total=3000))
    for i in range(50):  # spoofed sources, each with data for unknown templates
        c.feed(b.ipfix(b.data_set(400, b"x" * 500)), f"198.51.100.{i}", 1.0)
    assert c.shared.pending_bytes <= 3000
    assert sum(s.pending_bytes for s in c.exporters.values()) == c.shared.pending_bytes
    c.housekeeping(1000.0)
    assert c.shared.pending_bytes == 0
