"""The headless view writes records exactly as ``json.dumps`` of the model's ``to_json``."""

from __future__ import annotations

import io
import json

import pytest

from netop.commands.output import HeadlessView, json_line
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
