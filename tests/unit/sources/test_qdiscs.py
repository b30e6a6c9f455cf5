"""The rtnetlink qdisc dump: a root qdisc's drops by interface index, a child's ignored."""

from __future__ import annotations

import struct

import pytest

from netop.sources.qdiscs import parse_dump


def _attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def _qdisc(ifindex: int, parent: int, drops: int) -> bytes:
    queue = struct.pack("=IIIII", 0, 0, drops, 0, 7)  # qlen backlog drops requeues overl.
    body = (struct.pack("=BBHiIII", 0, 0, 0, ifindex, 0x80010000, parent, 1)
            + _attr(1, b"tbf\0") + _attr(7, _attr(3, queue)))
    return struct.pack("=IHHII", 16 + len(body), 36, 2, 1, 0) + body


def test_root_qdisc_drops_by_interface_index() -> None:
    done = struct.pack("=IHHII", 20, 3, 2, 1, 0) + b"\0" * 4
    chunk = _qdisc(4, 0xFFFFFFFF, 2486) + _qdisc(4, 0x80010001, 99) + _qdisc(7, 0xFFFFFFFF, 0)
    assert parse_dump([chunk]) == ({4: 2486, 7: 0}, False)
    assert parse_dump([chunk, done]) == ({4: 2486, 7: 0}, True)


def test_a_truncated_message_is_ignored_not_misread() -> None:
    assert parse_dump([_qdisc(4, 0xFFFFFFFF, 5)[:30]]) == ({}, False)


def test_an_interface_without_a_queue_dropped_nothing_unless_the_kernel_did_not_answer(
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from netop.sources import counters

    monkeypatch.setattr(counters, "root_qdisc_drops", dict)  # noqueue only: empty dump
    drops = counters.InterfaceCounters._qdisc_drops()
    assert drops
    assert set(drops.values()) == {0}
    monkeypatch.setattr(counters, "root_qdisc_drops", lambda: None)
    assert counters.InterfaceCounters._qdisc_drops() == {}
