"""The headless view writes records exactly as ``json.dumps`` of the model's ``to_json``."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netop.commands.output import HeadlessView, flow_json_line, json_line
from netop.model import FlowRecord, tcp_flags_text


@pytest.mark.parametrize(
    "record",
    [
        FlowRecord(6, "10.0.0.1", 40000, "192.0.2.1", 443, None, 10, 1000, 5, 500,
                   1.7e9, 1.7e9 + 1.25, 0x12, "capture", None, 1),
        FlowRecord(58, "2001:db8::1", 0, "2001:db8::2", 128 * 256, 100, 1, 2**40, 0, 0,
                   0.1, 0.30000000000000004, 0, "ipfix", "192.0.2.9", 100, 3, 7),
        FlowRecord(47, 'x"\\\n\u202e\U0001f600', 0, "\x00", 0, 4095, 0, 0, 0, 0,
                   float(2**53), 1e-7, 0xFF, "sflow", "é", 1),
    ],
)
def test_json_lines_are_json_dumps_of_the_record(record: FlowRecord) -> None:
    assert json_line(record.to_json()) == json.dumps(record.to_json())
    out = io.StringIO()
    HeadlessView(out, as_json=True).flows([record, record])
    assert out.getvalue() == (json.dumps(record.to_json()) + "\n") * 2


def test_flag_letters_for_every_byte_and_beyond() -> None:
    assert tcp_flags_text(0x12) == "SA"
    assert tcp_flags_text(0) == ""
    assert tcp_flags_text(0xFF) == "FSRPAUEC"
    assert tcp_flags_text(0x100 | 0x01) == "F"


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 255), st.text(max_size=40), st.integers(0, 65535), st.text(max_size=40),
    st.integers(0, 65535), st.none() | st.integers(0, 4095), st.integers(0, 2**70),
    st.integers(0, 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True), st.integers(0, 255),
    st.sampled_from(["capture", "ipfix", "sflow"]), st.none() | st.text(max_size=20),
    st.none() | st.integers(0, 2**32),
)
def test_a_flow_line_is_exactly_what_json_dumps_writes(
    proto: int, src: str, sport: int, dst: str, dport: int, vlan: int | None, packets: int,
    nbytes: int, first: float, last: float, flags: int, source: str, exporter: str | None,
    in_if: int | None,
) -> None:
    r = FlowRecord(proto, src, sport, dst, dport, vlan, packets, nbytes, packets // 2,
                   nbytes // 3, first, last, flags, source, exporter, 1, in_if, None)
    assert flow_json_line(r) == json.dumps(r.to_json())
