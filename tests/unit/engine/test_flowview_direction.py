"""The process and user views: sent and received relative to this host (nethogs'
columns), and the flows grouped by the user owning their process."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from netop.engine.flowtable import FlowTable
from netop.engine.flowview import Enrichment, FlowViewBuilder
from netop.model import AGGREGATIONS, FlowFields, FlowRecord, ViewSpec

LOCAL = "192.0.2.10"


@dataclass(frozen=True)
class Owner:
    pid: int
    name: str
    user: str


class Procs:
    """Port → owner: the web server (port 80) runs as www-data, the client as alice."""

    def lookup_flow(self, record: FlowFields) -> object:
        if record.dport == 80 and record.dst == LOCAL:
            return Owner(80, "nginx", "www-data")
        if record.sport == 5000:
            return Owner(4242, "curl", "alice")
        return Owner(4343, "wget", "1234")  # no passwd entry: the uid as text


class Local:
    def local_side(self, record: FlowFields) -> str | None:
        if record.src == LOCAL:
            return "src"
        return "dst" if record.dst == LOCAL else None


def _table(now: float) -> FlowTable:
    table = FlowTable(max_flows=100, idle_timeout=0)
    table.merge_records([
        # Inbound: a remote client uploads 1000 B to our nginx, which answers 10 000 B.
        FlowRecord(6, "198.51.100.7", 40000, LOCAL, 80, None, 5, 1000, 5, 10000, now, now,
                   0x10, "capture"),
        # Outbound: our curl sends 300 B and receives 3000 B.
        FlowRecord(6, LOCAL, 5000, "203.0.113.5", 443, None, 3, 300, 3, 3000, now, now,
                   0x10, "capture"),
        FlowRecord(6, LOCAL, 5001, "203.0.113.6", 443, None, 1, 50, 1, 70, now, now,
                   0x10, "capture"),
    ], now)
    return table


def _builder(c: bool) -> FlowViewBuilder:
    b = FlowViewBuilder(Enrichment(procs=Procs(), local=Local()))
    if c and b._fast is None:
        pytest.skip("the C extension is not available here")
    if not c:
        b._fast = None
    return b


@pytest.mark.parametrize("c", [True, False])
@pytest.mark.parametrize("filter_text", ["", "bytes > 0"])  # kept, and summed afresh
def test_the_process_view_shows_sent_and_received_by_this_host(
    c: bool, filter_text: str
) -> None:
    table = _table(100.0)
    builder = _builder(c)
    view = builder.build(table, ViewSpec(aggregate="process", filter_text=filter_text),
                         100.5, 1.0)
    rows = {r.label: r for r in view.rows}
    nginx, curl = rows["nginx"], rows["curl"]
    # nginx received the upload (the flow's → direction) and sent the answer (←).
    assert (nginx.rate_bps, nginx.rate_rev_bps) == (10000 * 8, 1000 * 8)
    assert (nginx.record.bytes, nginx.record.bytes_rev) == (10000, 1000)
    assert (curl.rate_bps, curl.rate_rev_bps) == (300 * 8, 3000 * 8)
    assert (curl.record.bytes, curl.record.bytes_rev) == (300, 3000)
    # A second tick: more bytes the same ways, the sums follow.
    table.end_tick()
    table.merge_records([FlowRecord(6, "198.51.100.7", 40000, LOCAL, 80, None, 1, 100, 1,
                                    2000, 101.0, 101.0, 0x10, "capture")], 101.0)
    view = builder.build(table, ViewSpec(aggregate="process", filter_text=filter_text),
                         101.5, 1.0)
    nginx = {r.label: r for r in view.rows}["nginx"]
    assert (nginx.rate_bps, nginx.rate_rev_bps) == (2000 * 8, 100 * 8)
    assert (nginx.record.bytes, nginx.record.bytes_rev) == (12000, 1100)


@pytest.mark.parametrize("c", [True, False])
def test_the_user_view_groups_by_the_owner_of_the_process(c: bool) -> None:
    assert "user" in AGGREGATIONS
    builder = _builder(c)
    view = builder.build(_table(100.0), ViewSpec(aggregate="user"), 100.5, 1.0)
    rows = {r.label: r for r in view.rows}
    assert sorted(rows) == ["1234", "alice", "www-data"]
    assert rows["alice"].flows == 1
    assert rows["www-data"].rate_bps == 10000 * 8  # sent, as in the process view
    assert rows["alice"].members == "user alice"


def test_the_user_of_a_process_is_its_login_name_or_its_uid() -> None:
    from netop.engine.flowview import describe_process

    assert describe_process(Owner(1, "curl", "alice")).user == "alice"
    assert describe_process(Owner(1, "curl", "1234")).user == "1234"
    assert describe_process(object()).user == ""


@pytest.mark.parametrize("c", [True, False])
def test_a_user_group_expands_into_its_flows_through_the_filter(c: bool) -> None:
    builder = _builder(c)
    table = _table(100.0)
    rows = {r.label: r for r in builder.build(table, ViewSpec(aggregate="user"),
                                              100.5, 1.0).rows}
    view = builder.build(table, ViewSpec(filter_text=rows["www-data"].members), 100.6, 1.0)
    assert [(r.record.dport, r.process) for r in view.rows] == [(80, "nginx (80)")]
