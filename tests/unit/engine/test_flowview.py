"""Top-N sort, filter and aggregation over a large flow table, against a plain reference."""

from __future__ import annotations

import random

import pytest

from netop.engine.filter import Facts, parse_filter
from netop.engine.flowtable import FlowTable
from netop.engine.flowview import Enrichment, FlowViewBuilder
from netop.model import FlowBatch, FlowRecord, ViewSpec, proto_name

T = 1_767_225_600.0
LOCAL = "10.1.0.1"


def synthetic(count: int, seed: int = 7) -> list[FlowRecord]:
    rng = random.Random(seed)
    flows = []
    for i in range(count):
        proto = rng.choice((6, 6, 6, 17, 17, 1))
        outbound = rng.random() < 0.7
        remote = f"10.{rng.randrange(2, 9)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        port = rng.choice((443, 80, 53, 22, 8080, 5201)) if proto != 1 else 0
        src, dst = (LOCAL, remote) if outbound else (remote, LOCAL)
        flows.append(FlowRecord(
            proto, src, 30000 + i % 30000 if proto != 1 else 0, dst, port, None,
            packets=rng.randrange(1, 50), bytes=rng.randrange(60, 2_000_000),
            packets_rev=rng.randrange(0, 50), bytes_rev=rng.randrange(0, 500_000),
            first=T + rng.random() * 100, last=T + 100 + rng.random(),
            tcp_flags=0x12 if proto == 6 else 0))
    return flows


class Local:
    def local_side(self, record: FlowRecord) -> str | None:
        return "src" if record.src == LOCAL else "dst" if record.dst == LOCAL else None


@pytest.fixture(scope="module")
def table() -> FlowTable:
    t = FlowTable(max_flows=200_000)
    t.merge(FlowBatch("capture", tuple(synthetic(100_000))), T + 101)
    return t


def build(table: FlowTable, **spec: object) -> tuple[FlowViewBuilder, object]:
    builder = FlowViewBuilder(Enrichment(local=Local()))
    view = builder.build(table, ViewSpec(**spec), T + 101, 1.0)  # type: ignore[arg-type]
    return builder, view


def reference_rows(table: FlowTable, expr: str, key: str, n: int) -> list[int]:
    """The sort values of the top ``n`` flows, computed the plain way."""
    flt = parse_filter(expr)
    entries = [e for e in table.entries()
               if flt.matches(Facts(e.record, rate_bps=(e.tick_bytes + e.tick_bytes_rev) * 8,
                                    avg_bps=(e.tick_bytes + e.tick_bytes_rev) * 8 / 10),
                              now=T + 101)]
    keyfn = {"bytes": lambda e: e.bytes + e.bytes_rev,
             "packets": lambda e: e.packets + e.packets_rev,
             "rate": lambda e: (e.tick_bytes + e.tick_bytes_rev) * 8}[key]
    return sorted((keyfn(e) for e in entries), reverse=True)[:n]


@pytest.mark.parametrize("expr", ["", "tcp and port 443", "udp or icmp",
                                  "net 10.3.0.0/16 and bytes > 1M", "not port 22"])
@pytest.mark.parametrize("key", ["bytes", "packets", "rate"])
def test_top_n_matches_a_plain_sort_of_the_filtered_flows(
    table: FlowTable, expr: str, key: str
) -> None:
    _, view = build(table, sort=key, filter_text=expr, top_n=50)
    values = {"bytes": lambda r: r.record.bytes + r.record.bytes_rev,
              "packets": lambda r: r.record.packets + r.record.packets_rev,
              "rate": lambda r: r.rate_bps + r.rate_rev_bps}[key]
    got = [values(r) for r in view.rows]  # type: ignore[attr-defined]
    # Ties may come in any order, so the sort values are compared, in order.
    assert got == reference_rows(table, expr, key, 50)
    assert len(got) == 50
    assert view.total_flows == len(table)  # type: ignore[attr-defined]


def test_ascending_order_and_matched_count(table: FlowTable) -> None:
    _, view = build(table, sort="bytes", descending=False, filter_text="udp", top_n=10)
    sizes = [r.record.bytes + r.record.bytes_rev for r in view.rows]  # type: ignore[attr-defined]
    assert sizes == sorted(sizes)
    udp = sum(1 for e in table.entries() if e.proto == 17)
    assert view.matched_flows == udp  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", ["remote", "port", "protocol", "process"])
def test_aggregation_sums_match_a_reference_grouping(table: FlowTable, mode: str) -> None:
    _, view = build(table, aggregate=mode, sort="bytes", top_n=100_000, filter_text="tcp")
    groups: dict[str, list[int]] = {}
    for e in table.entries():
        if e.proto != 6:
            continue
        if mode == "remote":
            label = e.dst if e.src == LOCAL else e.src
        elif mode == "port":
            label = f"{e.dport}/{proto_name(e.proto)}"
        elif mode == "protocol":
            label = proto_name(e.proto)
        else:
            label = "—"
        g = groups.setdefault(label, [0, 0])
        g[0] += 1
        g[1] += e.bytes + e.bytes_rev
    rows = {r.label: r for r in view.rows}  # type: ignore[attr-defined]
    assert set(rows) == set(groups)
    for label, (flows, total) in groups.items():
        assert rows[label].flows == flows
        assert rows[label].record.bytes + rows[label].record.bytes_rev == total
    totals = [r.record.bytes + r.record.bytes_rev for r in view.rows]  # type: ignore[attr-defined]
    assert totals == sorted(totals, reverse=True)


def test_rates_come_from_this_ticks_bytes_and_average_smooths_them() -> None:
    t = FlowTable()
    rec = FlowRecord(6, "10.0.0.1", 1000, "10.0.0.2", 80, None, 10, 125_000, 5, 12_500,
                     T, T + 0.5, 0x02)
    builder = FlowViewBuilder()
    t.merge(FlowBatch("capture", (rec,)), T + 1)
    view = builder.build(t, ViewSpec(), T + 1, 1.0)
    row = view.rows[0]
    assert row.rate_bps == 1_000_000
    assert row.rate_rev_bps == 100_000
    assert row.avg_bps == pytest.approx(110_000)  # 1/10 of the way from 0
    assert row.state == "syn-sent"
    assert row.history == (1_100_000.0,)
    t.end_tick()
    view = builder.build(t, ViewSpec(), T + 2, 1.0)
    assert view.rows[0].rate_bps == 0
    assert view.rows[0].avg_bps == pytest.approx(110_000)  # still in the 10 s window


def _moving_flow_ticks(interval: float, busy: int, ticks: int, aggregate: str) -> list[float]:
    """Avg of one flow that sends 12_500 B (100 kb/s at 1 s) per tick for ``busy`` ticks,
    then nothing; one value per tick."""
    t = FlowTable(idle_timeout=0)
    builder = FlowViewBuilder()
    seen = []
    for n in range(1, ticks + 1):
        now = T + n * interval
        if n <= busy:
            rec = FlowRecord(17, "10.0.0.1", 1000, "10.0.0.2", 53, None, 1, 12_500, 0, 0,
                             now - interval / 2, now - interval / 2)
            t.merge(FlowBatch("capture", (rec,)), now)
        view = builder.build(t, ViewSpec(aggregate=aggregate, sort="avg"), now, interval)
        seen.append(view.rows[0].avg_bps)
        t.end_tick()
    return seen


@pytest.mark.parametrize("aggregate", ["connection", "protocol"])
def test_avg_is_a_true_10s_window_so_a_flow_idle_for_10s_shows_zero(aggregate: str) -> None:
    avg = _moving_flow_ticks(1.0, busy=5, ticks=16, aggregate=aggregate)
    assert avg[0] == pytest.approx(10_000)  # 100 kb/s for 1 of the last 10 s
    assert avg[4] == pytest.approx(50_000)
    assert avg[9] == pytest.approx(50_000)  # ticks 1-10: still all five busy ones
    assert avg[10] == pytest.approx(40_000)  # tick 1 left the window
    assert avg[14] == 0.0  # idle for 10 s: nothing left, exactly (iftop's 10 s column)
    assert avg[15] == 0.0


def test_avg_window_is_10s_at_other_intervals() -> None:
    avg = _moving_flow_ticks(0.5, busy=1, ticks=22, aggregate="connection")
    assert avg[0] == pytest.approx(200_000 / 20)  # 200 kb/s for 0.5 of the last 10 s
    assert avg[19] == pytest.approx(10_000)
    assert avg[20] == 0.0


def test_process_column_says_why_it_is_empty_for_exported_flows() -> None:
    class Procs:
        calls = 0

        def lookup_flow(self, record: FlowRecord) -> object:
            Procs.calls += 1
            raise AssertionError("exported flows are never attributed to local processes")

    t = FlowTable()
    rec = FlowRecord(6, "192.0.2.1", 1, "192.0.2.2", 2, None, 1, 40, first=T, last=T,
                     source="ipfix", exporter="127.0.0.1")
    t.merge(FlowBatch("ipfix", (rec,)), T)
    view = FlowViewBuilder(Enrichment(procs=Procs())).build(t, ViewSpec(), T, 1.0)
    assert view.rows[0].process == ""
    assert "not a live local capture" in view.rows[0].process_note
    assert Procs.calls == 0
