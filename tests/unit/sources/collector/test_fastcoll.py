"""The C decode-and-merge (``_fastcoll.c``) against the Python function generated for
the same template: same return values and the same flow table, key for key and sum for
sum (types and float bits included), on random templates and records, on every real
export capture, on hostile datagrams; and never a crash on random layouts and bytes."""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netop.sources.collector import fastpath, netflow5
from netop.sources.collector.decoder import Collector
from netop.sources.collector.records import FlowTable
from netop.sources.collector.templates import Template, c_layout, compile_template
from tests.integration.collector import hostile
from tests.unit.sources.collector import builders as b
from tests.unit.sources.collector.exports import FLOWEXPORT, FLOWS, datagrams

NATIVE = fastpath.load()
pytestmark = pytest.mark.skipif(NATIVE is None, reason="C collector path not buildable here")
DIFF = settings(max_examples=400, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])  # fmt: skip

#: Elements the decoders use, and some they do not.
USED_IES = [1, 2, 4, 6, 7, 8, 10, 11, 12, 14, 21, 22, 27, 28, 32, 58, 85, 86, 139, 150, 151,
            152, 153, 154, 155, 156, 157, 158, 159, 176, 177, 178, 179, 243, 252, 253]  # fmt: skip
OTHER_IES = [3, 5, 9, 13, 60, 61, 89, 136, 1000]


@contextmanager
def pure_python(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Templates compiled inside get only the generated Python function."""
    with monkeypatch.context() as m:
        m.setattr(fastpath, "load", lambda: None)
        v5 = netflow5.V5_LAYOUT
        m.setattr(netflow5, "V5_LAYOUT", compile_template(0, v5.fields))
        yield


def both(
    fields: list[tuple[int, int, int]], monkeypatch: pytest.MonkeyPatch
) -> tuple[Template, Template]:
    """(C, Python) compilations of one template."""
    native = compile_template(256, fields)
    with pure_python(monkeypatch):
        python = compile_template(256, fields)
    return native, python


def same_table(a: FlowTable, b: FlowTable) -> None:
    # repr shows types, float bits (shortest round trip) and insertion order.
    assert repr(a) == repr(b)


def test_fixed_templates_get_the_c_layout_and_varlen_ones_python() -> None:
    fixed = compile_template(256, [(8, 4, 0), (12, 4, 0), (2, 4, 0), (1, 4, 0)])
    varlen = compile_template(257, [(8, 4, 0), (12, 4, 0), (82, 65535, 0)])
    assert isinstance(fixed.aggregate, NATIVE.Layout)  # type: ignore[union-attr]
    assert not isinstance(varlen.aggregate, NATIVE.Layout)  # type: ignore[union-attr]
    assert isinstance(netflow5.V5_LAYOUT.aggregate, NATIVE.Layout)  # type: ignore[union-attr]


def _field(draw: Any) -> tuple[int, int, int]:
    ie = draw(st.sampled_from(USED_IES + OTHER_IES))
    natural = {8: 4, 12: 4, 27: 16, 28: 16}.get(ie)
    lengths = [1, 2, 3, 4, 5, 6, 7, 8, 9, 16]
    length = natural if natural and draw(st.booleans()) else draw(st.sampled_from(lengths))
    pen = draw(st.sampled_from([0, 0, 0, 0, 9]))
    return (ie, length, pen)


@st.composite
def cases(draw: Any) -> tuple[Any, ...]:
    fields = [_field(draw) for _ in range(draw(st.integers(1, 14)))]
    reclen = sum(length for _, length, _ in fields)
    count = draw(st.integers(0, 6))
    # Few distinct byte values, so that records collide into one key and merge.
    body = bytes(draw(st.lists(st.sampled_from([0, 1, 6, 58, 255, 0x80]),
                               min_size=reclen * count, max_size=reclen * count)))  # fmt: skip
    export = draw(st.sampled_from([0.0, 1_700_000_010_000.0, 123.456, 4294967296000.5]))
    uptime = draw(st.sampled_from([None, 0, 5, 1000.7, 2**26 - 1, 2**26, 2**31 + 5, 2**32 - 1,
                                   -7.5, 2.0**60, float("inf"), float("nan")]))  # fmt: skip
    sampling = draw(st.sampled_from([1, 1, 3, 1 << 30, 0]))
    room = draw(st.sampled_from([0, 1, 2, 1000]))
    return fields, body, export, uptime, sampling, room


def _run(tpl: Template, body: bytes, args: tuple[Any, ...], table: FlowTable, room: int) -> Any:
    assert tpl.aggregate is not None
    try:
        return tpl.aggregate(body, *args, table, room)
    except Exception as exc:  # noqa: BLE001 - the two paths must fail alike too
        return type(exc)


@given(cases())
@DIFF
def test_c_equals_python_on_random_templates_and_records(case: tuple[Any, ...]) -> None:
    fields, body, export, uptime, sampling, room = case
    with pytest.MonkeyPatch.context() as mp:
        native, python = both(fields, mp)
    if not native.fixed_length:
        return
    assert isinstance(native.aggregate, NATIVE.Layout)  # type: ignore[union-attr]
    c_table: FlowTable = {}
    py_table: FlowTable = {}
    for _ in range(2):  # the second pass merges into the entries of the first
        got = _run(native, body, (export, uptime, sampling), c_table, room)
        want = _run(python, body, (export, uptime, sampling), py_table, room)
        assert got == want
        same_table(c_table, py_table)


def test_edge_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Values where C integers or float order could differ from Python's."""
    fields = [(4, 1, 0), (8, 4, 0), (12, 4, 0), (176, 8, 0), (177, 8, 0), (2, 8, 0), (1, 8, 0),
              (58, 2, 0), (10, 4, 0), (14, 4, 0), (6, 2, 0), (22, 4, 0), (21, 8, 0)]  # fmt: skip
    native, python = both(fields, monkeypatch)
    records = [
        struct.pack("!B4s4sQQQQHIIHIQ", 1, b"\1\2\3\4", b"\5\6\7\10", 2**64 - 1, 2**64 - 1,
                    2**64 - 1, 2**64 - 1, 0, 0, 0, 0xFFFF, 2**32 - 1, 2**64 - 1),
        struct.pack("!B4s4sQQQQHIIHIQ", 1, b"\1\2\3\4", b"\5\6\7\10", 2**64 - 1, 2**64 - 1,
                    2**64 - 1, 2**64 - 1, 4096, 7, 0, 0x1FF, 0, 3),
        struct.pack("!B4s4sQQQQHIIHIQ", 58, b"\0" * 4, b"\0" * 4, 0, 0, 1, 1, 4095, 1, 2, 0,
                    2**31, 2**31 + 1),
    ]  # fmt: skip
    body = b"".join(records) * 2
    for uptime in (None, 0, 2**31, 2**26, 2**32 - 1, 1e15):
        for sampling in (1, 2, 1 << 30):
            c_table: FlowTable = {}
            py_table: FlowTable = {}
            args = (1_700_000_000_123.0, uptime, sampling)
            assert _run(native, body, args, c_table, 10) == _run(python, body, args, py_table, 10)
            same_table(c_table, py_table)
            assert max(e[0] for e in c_table.values()) > 2**64  # past C integers


def test_existing_entries_of_any_size_merge_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    native, python = both([(8, 4, 0), (12, 4, 0), (2, 8, 0), (1, 8, 0), (6, 1, 0)], monkeypatch)
    body = b"\1\1\1\1\2\2\2\2" + (2**63).to_bytes(8, "big") + (5).to_bytes(8, "big") + b"\x12"
    tables = []
    for tpl in (native, python):
        key = (0, b"\1\1\1\1", 0, b"\2\2\2\2", 0, None, None, None)
        table: FlowTable = {key: [2**70, -3, math.inf, -math.inf, 1 << 40]}
        assert tpl.aggregate is not None
        assert tpl.aggregate(body, 0.0, None, 1, table, 0) == (0, 0, 1)
        tables.append(table)
    same_table(*tables)


def _feed_all(dgrams: list[tuple[str, bytes, float]], burst: bool) -> tuple[Any, ...]:
    collector = Collector()
    if burst:
        for i in range(0, len(dgrams), 64):
            chunk = dgrams[i : i + 64]
            collector.feed_many([(data, src) for src, data, _ in chunk], chunk[0][2])
    else:
        for src, data, when in dgrams:
            collector.feed(data, src, when)
    flows = collector.flows.drain()
    return (collector.records, collector.datagrams, collector.drops(),
            {name: sorted(map(repr, records)) for name, records in flows.items()})  # fmt: skip


def _captures() -> list[Path]:
    found = sorted(FLOWS.glob("*.pcap")) if FLOWS.exists() else []
    found += sorted(FLOWEXPORT.glob("*.pcap")) if FLOWEXPORT.exists() else []
    return [p for p in found if p.name != "source-traffic.pcap"]


@pytest.mark.parametrize("burst", [False, True], ids=["feed", "feed_many"])
def test_c_equals_python_on_every_real_export(burst: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    captures = _captures()
    if not captures:
        pytest.skip("../shared/data is absent: no real exports to compare on")
    compared = 0
    for path in captures:
        dgrams = datagrams(path)
        native = _feed_all(dgrams, burst)
        with pure_python(monkeypatch):
            python = _feed_all(dgrams, burst)
        assert native == python, path.name
        compared += native[0]
    assert compared > 1000  # records really went through both paths


def test_c_equals_python_on_hostile_datagrams(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(10)
    dgrams = [(hostile.spoofed_address(rng), kind(rng), 1.0)
              for kind in hostile.KINDS.values() for _ in range(3)]  # fmt: skip
    # And the real template followed by data sets cut at every length.
    tpl = b.ipfix_template_set(300, [(f[0], f[1], 0) for f in b.V4_TEMPLATE])
    record = b.v4_record("10.0.0.1", "10.0.0.2", 1, 2)
    for cut in range(0, 3 * len(record)):
        body = (record * 3)[:cut]
        data = struct.pack("!HH", 300, 4 + len(body)) + body
        msg = struct.pack("!HHIII", 10, 16 + len(tpl) + len(data), 1_700_000_000, 0, 1)
        dgrams.append(("127.0.0.9", msg + tpl + data, 1.0))
    native = _feed_all(dgrams, burst=True)
    with pure_python(monkeypatch):
        python = _feed_all(dgrams, burst=True)
    assert native == python
    assert native[0] > 0


@st.composite
def layouts(draw: Any) -> tuple[tuple[int, ...], bytes]:
    reclen = draw(st.integers(0, 80))
    roles = []
    for _ in range(16):
        off = draw(st.integers(0, 90))
        roles += [off, draw(st.sampled_from([0, 0, 1, 2, 4, 8, 9, 16, 17]))]
    kinds = [draw(st.integers(0, 6)), draw(st.integers(0, 6)), draw(st.integers(0, 3))]
    return (reclen, *roles, *kinds), draw(st.binary(max_size=400))


@given(layouts(), st.sampled_from([None, 0, 2**31, 2**40]), st.sampled_from([1, 7]))
@settings(max_examples=3000, deadline=None, database=None)
def test_random_layouts_and_bytes_never_crash(
    case: tuple[tuple[int, ...], bytes], uptime: int | None, sampling: int
) -> None:
    """Any spec is refused at construction or reads only inside whole records."""
    spec, body = case
    assert NATIVE is not None

    def fallback(*args: Any) -> tuple[int, int, int]:
        raise AssertionError("in-domain arguments never reach the fallback")

    try:
        layout = NATIVE.Layout(spec, fallback)
    except ValueError:
        return
    reclen = spec[0]
    for off, length in zip(spec[1:33:2], spec[2:33:2], strict=True):
        assert length == 0 or off + length <= reclen
    table: FlowTable = {}
    room, over, count = layout(body, 1e12, uptime, sampling, table, 5)
    assert count == len(body) // reclen
    assert len(table) == 5 - room
    assert 0 <= over <= count


def test_c_layout_of_softflowd_ipfix() -> None:
    fields = [(8, 4, 0), (12, 4, 0), (7, 2, 0), (11, 2, 0), (4, 1, 0), (6, 1, 0), (2, 4, 0),
              (1, 4, 0), (152, 8, 0), (153, 8, 0)]  # fmt: skip
    spec = c_layout(compile_template(1024, fields))
    assert spec[0] == 38
    assert spec[1:5] == (12, 1, 0, 4)  # proto at 12, src at 0


@pytest.mark.parametrize("distinct", [1, 90, 1100, 5000])
@pytest.mark.parametrize("room", [0, 700, 100_000])
def test_large_bodies_merge_alike(
    distinct: int, room: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bodies longer than the C batch (1024 records), with keys repeating across it."""
    native, python = both([(8, 4, 0), (12, 4, 0), (7, 2, 0), (2, 4, 0), (1, 4, 0), (152, 8, 0)],
                          monkeypatch)  # fmt: skip
    rng = random.Random(distinct)
    first = 10**12
    body = b"".join(
        struct.pack("!4s4sHIIQ", b"\n\0\0\1", (k % 251).to_bytes(4, "big"), k // 251,
                    rng.randrange(1, 9), rng.randrange(40, 1500), rng.randrange(first, first + 999))
        for k in (rng.randrange(distinct) for _ in range(5000))
    )  # fmt: skip
    tables: list[FlowTable] = [{}, {}]
    results = [
        _run(t, body, (1e12, None, 1), table, room)
        for t, table in zip((native, python), tables, strict=True)
    ]
    assert results[0] == results[1]
    same_table(*tables)


def test_built_on_first_use_into_the_private_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shared builder (netop.native.build) builds this extension too."""
    from netop.native import build as native

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    module = native.build_and_import("netop.sources.collector._fastcoll", fastpath._SOURCE)
    assert module is not None
    assert module.VERSION >= fastpath._VERSION
    assert [p.name.startswith("_fastcoll-") for p in (tmp_path / "netop").iterdir()] == [True]
