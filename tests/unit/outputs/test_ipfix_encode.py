"""The IPFIX / NetFlow v9 encoder: message structure, RFC 5103 reverse elements,
sequence numbers, template refresh, and the C packer against the Python one."""

from __future__ import annotations

import random
import socket
import struct
from typing import Any

import pytest

from netop.model import FlowRecord
from netop.outputs import ipfix_encode
from netop.outputs.ipfix_encode import REVERSE_PEN, FlowEncoder, pack_python

REC = FlowRecord(6, "10.0.0.1", 40000, "10.0.0.2", 443, 100, 10, 1000, 8, 5000,
                 1700000000.25, 1700000003.5, 0x12, in_if=3, out_if=7)  # fmt: skip


def _sets(datagram: bytes, header: int) -> list[tuple[int, bytes]]:
    out, pos = [], header
    while pos < len(datagram):
        set_id, length = struct.unpack_from("!HH", datagram, pos)
        out.append((set_id, datagram[pos + 4 : pos + length]))
        pos += length
    return out


def _template(body: bytes) -> tuple[int, list[tuple[int, int, int]]]:
    tid, count = struct.unpack_from("!HH", body)
    fields, pos = [], 4
    for _ in range(count):
        ie, length = struct.unpack_from("!HH", body, pos)
        pos += 4
        pen = 0
        if ie & 0x8000:
            (pen,) = struct.unpack_from("!I", body, pos)
            pos += 4
        fields.append((ie & 0x7FFF, length, pen))
    return tid, fields


def _decode(fields: list[tuple[int, int, int]], body: bytes) -> dict[tuple[int, int], Any]:
    values, pos = {}, 0
    for ie, length, pen in fields:
        raw = body[pos : pos + length]
        values[(ie, pen)] = raw if ie in (8, 12, 27, 28) else int.from_bytes(raw, "big")
        pos += length
    return values


def test_ipfix_biflow_message() -> None:
    enc = FlowEncoder(domain=7, clock=lambda: 1700000100.0)
    [datagram] = enc.encode([REC])
    version, length, export, seq, domain = struct.unpack_from("!HHIII", datagram)
    assert (version, length, export, seq, domain) == (10, len(datagram), 1700000100, 0, 7)
    (tset, tbody), (dset, dbody) = _sets(datagram, 16)
    assert tset == 2
    tid, fields = _template(tbody)
    assert tid == dset == 256
    assert (1, 8, REVERSE_PEN) in fields
    assert (2, 8, REVERSE_PEN) in fields
    v = _decode(fields, dbody)
    assert socket.inet_ntoa(v[(8, 0)]) == "10.0.0.1"
    assert socket.inet_ntoa(v[(12, 0)]) == "10.0.0.2"
    assert (v[(7, 0)], v[(11, 0)], v[(4, 0)], v[(6, 0)], v[(58, 0)]) == (40000, 443, 6, 0x12, 100)
    assert (v[(10, 0)], v[(14, 0)]) == (3, 7)
    assert (v[(152, 0)], v[(153, 0)]) == (1700000000250, 1700000003500)
    assert (v[(1, 0)], v[(2, 0)], v[(1, REVERSE_PEN)], v[(2, REVERSE_PEN)]) == (1000, 10, 5000, 8)
    assert v[(136, 0)] == ipfix_encode.END_IDLE


def test_sequence_counts_records_and_templates_are_resent() -> None:
    enc = FlowEncoder(template_every=3, message_bytes=400, clock=lambda: 1.0)
    datagrams = enc.encode([REC] * 40)
    assert all(len(d) <= 400 for d in datagrams)
    seqs = [struct.unpack_from("!I", d, 8)[0] for d in datagrams]
    counts = [len(_sets(d, 16)[-1][1]) // 74 for d in datagrams]
    assert sum(counts) == 40
    # RFC 7011: the data records sent before this message in the domain.
    assert seqs == [sum(counts[:i]) for i in range(len(counts))]
    with_templates = [i for i, d in enumerate(datagrams) if _sets(d, 16)[0][0] == 2]
    assert with_templates == list(range(0, len(datagrams), 3))


def test_templates_are_resent_after_their_interval() -> None:
    now = [0.0]
    enc = FlowEncoder(template_every=1000, template_seconds=60, clock=lambda: now[0])
    assert _sets(enc.encode([REC])[0], 16)[0][0] == 2
    now[0] = 30.0
    assert _sets(enc.encode([REC])[0], 16)[0][0] == 256
    now[0] = 61.0
    assert _sets(enc.encode([REC])[0], 16)[0][0] == 2


def test_netflow9_one_record_per_direction() -> None:
    ping = FlowRecord(1, "10.0.0.1", 0, "10.0.0.2", 8 * 256, None, 2, 168, 2, 168, 5.0, 6.0)
    enc = FlowEncoder(version=9, domain=3, clock=lambda: 100.0)
    [datagram] = enc.encode([REC, ping])
    version, count, _, unix, seq, source = struct.unpack_from("!HHIIII", datagram)
    sets = _sets(datagram, 20)
    assert (version, unix, seq, source) == (9, 100, 0, 3)
    assert sets[0][0] == 0
    templates = sets[0][1]
    tid, fields = _template(templates)
    assert tid == 258
    assert not any(pen for _, _, pen in fields)
    size = sum(length for _, length, _ in fields)
    body = sets[1][1]
    rows = [_decode(fields, body[i : i + size]) for i in range(0, len(body) - size + 1, size)]
    assert count == 2 + len(rows)  # v9 counts template records too
    got = {(socket.inet_ntoa(r[(8, 0)]), r[(7, 0)], r[(11, 0)], r[(2, 0)], r[(10, 0)])
           for r in rows}  # fmt: skip
    assert got == {("10.0.0.1", 40000, 443, 10, 3), ("10.0.0.2", 443, 40000, 8, 7),
                   ("10.0.0.1", 0, 8 * 256, 2, 0), ("10.0.0.2", 0, 0, 2, 0)}  # fmt: skip
    assert struct.unpack_from("!I", enc.encode([REC])[0], 12)[0] == 1  # per datagram


def test_end_reasons() -> None:
    fin = REC._replace(tcp_flags=0x11)
    long = REC._replace(proto=17, tcp_flags=0, first=0.0, last=2000.0)
    enc = FlowEncoder(biflow=True, clock=lambda: 1.0)

    def reason(record: FlowRecord, forced: bool) -> int:
        [d] = enc.encode([record], forced, active_timeout=1800.0)
        return d[-17]  # the byte before the two reverse counters

    assert reason(fin, False) == ipfix_encode.END_OF_FLOW
    assert reason(long, False) == ipfix_encode.END_ACTIVE
    assert reason(long, True) == ipfix_encode.END_FORCED
    assert reason(REC, False) == ipfix_encode.END_IDLE


def _random_records(n: int, seed: int) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    odd: list[Any] = [None, -1, 0, 1, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1,
                      2**64, 1.5, "x", True]  # fmt: skip
    addrs = ["10.0.0.1", "192.0.2.255", "2001:db8::1", "::1", "fe80::1%eth0", "not-an-ip",
             "", "1.2.3", "10.0.0.1\0"]  # fmt: skip
    out = []
    for _ in range(n):
        r = list(REC)
        for i in (0, 2, 4, 5, 6, 7, 8, 9, 12, 16, 17):
            if rng.random() < 0.15:
                r[i] = rng.choice(odd)
        if rng.random() < 0.3:
            r[1], r[3] = rng.choice(addrs), rng.choice(addrs)
        if rng.random() < 0.1:
            r[10] = rng.choice([-0.5, -5.0, float("nan"), float("inf"), 0, 1e20, 12.3456])
        out.append(tuple(r))
    return out


@pytest.mark.parametrize("biflow", [True, False])
@pytest.mark.parametrize("flags_len", [1, 2])
def test_c_packer_matches_python(biflow: bool, flags_len: int) -> None:
    native = ipfix_encode._native()
    if native is None:
        pytest.skip("the C packer could not be built here (no C compiler?)")
    records = _random_records(3000, seed=flags_len * 2 + biflow)
    for forced, active in ((False, 0), (False, 1_800_000), (True, 1000)):
        args = (records, biflow, flags_len, 4 if forced else 1, forced, active)
        assert native.pack(*args) == pack_python(*args)
    assert pack_python(records, biflow, flags_len, 1, False, 0)[4] > 0  # some were bad


def test_unpackable_records_are_skipped_and_counted() -> None:
    enc = FlowEncoder(clock=lambda: 1.0)
    bad = REC._replace(src="aa:bb")  # e.g. a non-IP flow
    mixed = REC._replace(dst="2001:db8::1")
    datagrams = enc.encode([bad, mixed, REC])
    assert enc.skipped == 2
    assert enc.records == 1
    assert len(datagrams) == 1
