"""The flow view's tick in C (``_fastflow.advance``/``leave_window``/``clear_rates``)
and in Python give the same rates, window sums and rows, tick after tick."""

from __future__ import annotations

import random

import pytest

from netop.engine.flowtable import FlowTable
from netop.engine.flowview import FlowViewBuilder
from netop.model import FlowRecord, ViewSpec


def _builder(c: bool) -> FlowViewBuilder:
    b = FlowViewBuilder()
    if c and b._fast is None:
        pytest.skip("the C extension is not available here")
    if not c:
        b._fast = None
    return b


def _batches(seed: int) -> list[list[FlowRecord]]:
    """Flows that come, move, stop and come back, some in both directions."""
    rng = random.Random(seed)
    hosts = [f"10.0.{i // 200}.{i % 200 + 1}" for i in range(300)]
    out = []
    for tick in range(30):
        batch = []
        # Fewer flows move in some ticks: those that stop must drop to rate 0 and leave
        # the window after 10 ticks (average exactly 0).
        for _ in range(rng.choice((0, 40, 400))):
            # The last 12 ticks move other hosts' flows only: the first ones stop.
            a, b = rng.sample(hosts[:150] if tick < 18 else hosts[150:], 2)
            pa, pb = rng.choice((1000, 1001)), 443
            if rng.random() < 0.3:
                a, b, pa, pb = b, a, pb, pa
            t = 100.0 + tick + rng.random()
            batch.append(FlowRecord(6, a, pa, b, pb, None, rng.randrange(1, 9),
                                    # Few sizes: equal rates, whose order the top-N keeps.
                                    rng.choice((60, 1500, 9000)), rng.randrange(3),
                                    rng.choice((0, 60)), t, t, 0x10, "capture"))
        out.append(batch)
    return out


def _state(b: FlowViewBuilder) -> list[tuple[str, float, float, float, float, int,
                                              float, float]]:
    return sorted((f.entry.key, f.rate_fwd, f.rate_rev, f.rate_bps, f._sum, f._last,
                   f._sum2, f._sum40)
                  for f in b._all if f.entry.view is f)


@pytest.mark.parametrize(("aggregate", "sort", "filter_text", "top_n"), [
    ("connection", "avg", "", 50),
    # By rate: the C top-N (ties in the pool's order, as heapq.nlargest keeps them).
    ("connection", "rate", "", 50),
    ("connection", "rate", "", 2000),
    ("connection", "rate", "port 443", 7),
    # The kept aggregation's groups follow the flows that moved (``_fastflow.agg_moved``).
    ("remote", "avg", "", 50),
    ("remote", "rate", "", 5),
    ("remote", "bytes", "", 500),
    ("port", "age", "", 50),
])  # fmt: skip
def test_c_and_python_ticks_give_the_same_rates_sums_and_rows(
    aggregate: str, sort: str, filter_text: str, top_n: int
) -> None:
    runs = []
    for c in (True, False):
        table = FlowTable(max_flows=5000, idle_timeout=0)
        builder = _builder(c)
        spec = ViewSpec(sort=sort, aggregate=aggregate, filter_text=filter_text, top_n=top_n)
        states, views = [], []
        for tick, batch in enumerate(_batches(4)):
            now = 101.0 + tick
            table.merge_records(batch, now)
            view = builder.build(table, spec, now, 1.0)
            states.append(_state(builder))
            views.append([(r.key, r.rate_bps, r.rate_rev_bps, r.avg_bps, r.flows, r.record)
                          for r in view.rows])
            table.end_tick()
            table.expire(now)
        runs.append((states, views))
    (c_states, c_views), (py_states, py_views) = runs
    assert any(s for s in c_states)
    assert any(v for v in c_views)
    # Bit for bit, not approximately: the same float operations in the same order.
    assert c_states == py_states
    assert c_views == py_views
    # Some flow stopped long enough for its average to reach exactly 0 again.
    assert any(sum_ == 0.0 and last > 0 for _, _, _, _, sum_, last, _, _ in c_states[-1])


def test_c_and_python_group_sums_agree_past_64_bits() -> None:
    """A hostile exporter's counts (2**63 - 1 each) summed in one group leave 64 bits:
    the C aggregation goes on in Python ints, as the Python one does."""
    big = 2**63 - 1
    rows = []
    for c in (True, False):
        table = FlowTable(max_flows=100, idle_timeout=0)
        builder = _builder(c)
        spec = ViewSpec(aggregate="remote", sort="bytes")
        out = []
        for tick in range(4):
            now = 101.0 + tick
            batch = [FlowRecord(17, f"10.0.0.{i}", 5000, "192.0.2.9", 53, None, 1,
                                big if i < 3 else 100, 0, 0, now, now, 0, "ipfix")
                     for i in range(1, 6)]  # fmt: skip
            table.merge_records(batch, now)
            out.append([(r.key, r.record.bytes, r.avg_bps) for r in
                        builder.build(table, spec, now, 1.0).rows])
            table.end_tick()
        rows.append(out)
    assert rows[0] == rows[1]
    # Two flows saturated at 2**63 - 1 (the table's own counts), three of 4 x 100 bytes.
    assert rows[0][-1][0][1] == 2 * big + 3 * 400


def test_process_groups_without_process_lookup_are_settled_at_once() -> None:
    """Without process attribution (or for flows that are not a live capture) every
    flow's process group is final: it must not be looked for again every tick."""
    table = FlowTable(max_flows=100, idle_timeout=0)
    builder = FlowViewBuilder()
    spec = ViewSpec(aggregate="process")
    for tick in range(3):
        now = 101.0 + tick
        table.merge_records([FlowRecord(6, "10.0.0.1", 1000 + i, "10.0.0.2", 80, None, 1,
                                        60, 0, 0, now, now, 0x10, "capture")
                             for i in range(20)], now)  # fmt: skip
        view = builder.build(table, spec, now, 1.0)
        table.end_tick()
    assert [(r.label, r.flows) for r in view.rows] == [("—", 20)]
    assert builder._agg is not None
    assert builder._agg.unsettled == []
