"""Hypothesis fuzzing of every decoder: only the two 'this datagram is bad' exceptions,
no hang (a per-example deadline), and state that stays within its limits."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netop.sources.collector import ipfix, netflow5, netflow9, sflow
from netop.sources.collector.decoder import Collector
from netop.sources.collector.exporters import ExporterState, Limits
from netop.sources.collector.flowsets import Malformed, Output
from netop.sources.collector.records import FlowAggregator
from tests.shared_data import require_shared
from tests.unit.sources.collector import builders as b
from tests.unit.sources.collector.exports import FLOWEXPORT, FLOWS, datagrams

EXPECTED = (Malformed, struct.error)
LIMITS = Limits(max_templates=16, max_pending_bytes=4096)
FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


def _run(data: bytes, state: ExporterState | None = None) -> ExporterState:
    state = state or ExporterState("192.0.2.1")
    sink = FlowAggregator(max_flows=64)
    out = Output(sink, "fuzz", state.address)
    version = struct.unpack_from("!H", data)[0] if len(data) >= 2 else -1
    try:
        if version == 5:
            netflow5.decode(data, state, out)
        elif version == 9:
            netflow9.decode(data, state, 1.0, LIMITS, out)
        elif version == 10:
            ipfix.decode(data, state, 1.0, LIMITS, out)
        else:
            sflow.decode(data, state, 1.0, out, [])
    except EXPECTED:
        pass
    assert len(state.templates) <= LIMITS.max_templates
    assert state.pending_bytes <= LIMITS.max_pending_bytes
    out.commit()
    assert len(sink) <= 64
    for rec in (r for records in sink.drain().values() for r in records):
        assert isinstance(rec.src, str)
        assert rec.in_if is None or rec.in_if > 0
        assert rec.out_if is None or rec.out_if > 0
    return state


@given(st.sampled_from([5, 9, 10, 0]), st.binary(max_size=1500))
@FUZZ
def test_random_bytes_after_a_version(version: int, tail: bytes) -> None:
    head = b"\0\0\0\5" if version == 0 else struct.pack("!H", version)
    _run(head + tail)


FIELD = st.tuples(
    st.sampled_from(
        [
            1,
            2,
            4,
            6,
            7,
            8,
            11,
            12,
            21,
            22,
            27,
            28,
            32,
            58,
            82,
            152,
            153,
            154,
            160,
            305,
            306,
            34,
            999,
        ]
    ),  # fmt: skip
    st.sampled_from([0, 1, 2, 3, 4, 5, 8, 16, 65535]),
    st.sampled_from([0, 0, 0, 9]),
)


@given(st.lists(FIELD, max_size=12), st.lists(st.binary(max_size=200), max_size=4),
       st.booleans())  # fmt: skip
@FUZZ
def test_random_templates_and_data(fields: list, bodies: list[bytes], v9: bool) -> None:
    state = ExporterState("192.0.2.1")
    if v9:
        plain = [(ie, length) for ie, length, _ in fields]
        _run(b.v9(b.v9_template_set(300, plain)), state)
        _run(b.v9(*(b.data_set(300, body) for body in bodies)), state)
    else:
        _run(b.ipfix(b.ipfix_template_set(300, fields)), state)
        _run(b.ipfix(*(b.data_set(300, body) for body in bodies)), state)
        _run(b.ipfix(b.ipfix_options_set(301, fields[:1], fields[1:]),
                     *(b.data_set(301, body) for body in bodies)), state)  # fmt: skip


@given(st.lists(st.integers(256, 65535), max_size=60), st.binary(max_size=64))
@FUZZ
def test_template_floods_stay_bounded(tids: list[int], body: bytes) -> None:
    state = ExporterState("192.0.2.1")
    for tid in tids:
        _run(b.ipfix(b.ipfix_template_set(tid, b.V4_TEMPLATE), b.data_set(tid ^ 1, body)), state)


@pytest.fixture(scope="module")
def corpus() -> list[bytes]:
    """Real exporters' datagrams, read once: outside every example's deadline."""
    require_shared("data", "flows")
    paths = sorted(FLOWS.glob("*-[0-9]*.pcap"))[:6] + sorted(FLOWEXPORT.glob("*.pcap"))[:8]
    out: list[bytes] = []
    for path in paths:
        out.extend(data for _, data, _ in datagrams(path)[:5])
    assert out, f"no export datagrams in {FLOWS}"
    return out


@given(data=st.data())
@FUZZ
def test_mutated_real_datagrams(corpus: list[bytes], data: st.DataObject) -> None:
    original = bytearray(data.draw(st.sampled_from(corpus)))
    for _ in range(data.draw(st.integers(1, 8))):
        if not original:
            break
        pos = data.draw(st.integers(0, len(original) - 1))
        original[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(original)))
    _run(bytes(original[:cut]))


@given(st.lists(st.binary(max_size=300), max_size=20))
@FUZZ
def test_collector_never_raises(datagrams_: list[bytes]) -> None:
    c = Collector(limits=LIMITS)
    for i, d in enumerate(datagrams_):
        c.feed(d, f"192.0.2.{i % 3}", float(i))
    c.housekeeping(1000.0)
    assert c.datagrams == len(datagrams_)  # each one counted, decoded or not
    for state in c.exporters.values():
        assert len(state.templates) <= LIMITS.max_templates
        assert state.pending_bytes <= LIMITS.max_pending_bytes
        assert state.malformed <= state.datagrams
    senders = {f"192.0.2.{i}" for i in range(3)}
    for records in c.flows.drain().values():
        for r in records:
            assert r.exporter in senders
