"""A summary without lookups (``flows -r``) makes its rows without a call per flow; they
are the rows the general path makes."""

from __future__ import annotations

import pytest

from netop.engine.flowtable import FlowTable
from netop.engine.flowview import Enrichment, FlowViewBuilder
from netop.model import FlowBatch, ViewSpec

from .test_flowview import T, synthetic


def _rows(plain: bool, spec: ViewSpec, monkeypatch: pytest.MonkeyPatch) -> tuple[object, ...]:
    table = FlowTable(max_flows=10_000)
    table.merge(FlowBatch("capture", tuple(synthetic(2_000, seed=3))), T + 101)
    builder = FlowViewBuilder(Enrichment())
    calls: list[int] = []
    real = FlowViewBuilder._plain_rows

    def counted(top: list[object]) -> object:
        calls.append(len(top))
        return real(top)  # type: ignore[arg-type]

    monkeypatch.setattr(FlowViewBuilder, "_plain_rows", staticmethod(counted))
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
