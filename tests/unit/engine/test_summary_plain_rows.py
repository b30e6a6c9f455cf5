"""A summary without lookups (``flows -r``) makes its rows without a call per flow; they
are the rows the general path makes."""

from __future__ import annotations

import pytest

from netop.engine.flowtable import FlowTable
from netop.engine.flowview import Enrichment, FlowViewBuilder
from netop.model import FlowBatch, FlowRecord, ViewSpec

from .test_flowview import T, synthetic


def _rows(plain: bool, spec: ViewSpec, monkeypatch: pytest.MonkeyPatch) -> tuple[object, ...]:
    table = FlowTable(max_flows=10_000)
    table.merge(FlowBatch("capture", tuple(synthetic(2_000, seed=3))), T + 101)
    builder = FlowViewBuilder(Enrichment())
    calls: list[int] = []
    real = FlowViewBuilder._plain_rows

    def counted(self: FlowViewBuilder, top: list[object]) -> object:
        calls.append(len(top))
        return real(self, top)  # type: ignore[arg-type]

    monkeypatch.setattr(FlowViewBuilder, "_plain_rows", counted)
    if not plain:
        monkeypatch.setattr(FlowViewBuilder, "_plain", lambda self, spec: False)
    rows = builder.summary(table, spec, T + 200).rows
    assert bool(calls) == plain
    return rows


@pytest.mark.parametrize("spec", [
    ViewSpec(sort="rate", top_n=10**9, names=False),
    ViewSpec(sort="bytes", descending=False, top_n=50, names=True),
    ViewSpec(sort="rate", filter_text="proto tcp", top_n=10**9, names=False),
])
def test_plain_rows_are_the_general_rows(spec: ViewSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = _rows(True, spec, monkeypatch)
    monkeypatch.undo()
    general = _rows(False, spec, monkeypatch)
    assert plain == general
    assert 0 < len(plain) <= min(spec.top_n, 2_000)


def _kinds() -> list[FlowRecord]:
    """A flow of every shape a row shows differently: each TCP state, a VLAN, an
    exporter, ICMP, IPv6."""
    def tcp(i: int, flags: int, rev: int) -> FlowRecord:
        return FlowRecord(6, "10.0.0.1", 40000 + i, "10.0.0.2", 443, None, 3, 300, rev,
                          rev * 100, T, T + 1 + i, flags, "capture")  # fmt: skip

    # The first two are the least recently active: a timeout ends them first.
    return [FlowRecord(17, "192.0.2.1", 53, "192.0.2.2", 5353, 7, 1, 80, 1, 120, T, T + 0.5,
                       0, "ipfix", "192.0.2.9", 100, 3, 4),
            FlowRecord(1, "10.0.0.1", 0, "10.0.0.9", 2048, None, 2, 168, 0, 0, T, T, 0,
                       "capture"),
            tcp(0, 0x04, 1), tcp(1, 0x01, 1), tcp(2, 0x12, 2), tcp(3, 0x12, 0),
            tcp(4, 0x02, 0), tcp(5, 0x10, 5),
            FlowRecord(17, "fd00::1", 5000, "fd00::2", 6000, None, 9, 900, 0, 0, T, T + 3, 0,
                       "sflow", ""),
            # Not plain ASCII: C writes its key the general way.
            FlowRecord(17, "10.0.0.3", 5000, "10.0.0.4", 6000, 4095, 1, 90, 0, 0, T, T + 3, 0,
                       "netflow9", "routeur-é")]


def test_c_rows_are_the_python_rows_for_every_kind_of_flow() -> None:
    """``_fastflow.plain_rows`` makes the rows ``_plain_rows`` makes in Python, an ended
    flow's included (its state, its key and record kept or made)."""
    table = FlowTable(max_flows=100, keep_ended=True, idle_timeout=5.0)
    table.merge(FlowBatch("capture", tuple(_kinds())), T)
    table.expire(T + 5.6)  # those idle for over 5 s (ICMP, the exported one) end: "ended"
    spec = ViewSpec(sort="rate", top_n=10**9, names=False)
    rows = []
    for native in (True, False):
        for entry in [*table.entries(), *table.ended()]:
            entry.view, entry._key, entry._record = None, None, None
        builder = FlowViewBuilder(Enrichment())
        if native and builder._fast is None:
            pytest.skip("the C extension is not available here")
        if not native:
            builder._fast = None
        rows.append(sorted(builder.summary(table, spec, T + 10).rows, key=lambda r: r.key))
    assert rows[0] == rows[1]
    states = {r.state for r in rows[0]}
    assert {"reset", "closing", "established", "syn-sent", "mid-stream", ""} <= states
    assert [r.state for r in rows[0] if r.record.proto != 6] == ["ended", "ended", "", ""]
    assert "netflow9|routeur-é|17|4095|10.0.0.3|5000|10.0.0.4|6000" in {r.key for r in rows[0]}
    assert any("|192.0.2.9|17|7|" in r.key for r in rows[0])
