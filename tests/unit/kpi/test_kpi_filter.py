"""The flow filter's KPI terms: ``rtt > 100ms``, ``retrans > 1%``, ``state S0``,
``rcode NXDOMAIN``, ``ttfb > 500ms``; validated like every other term."""

from __future__ import annotations

import pytest

from netop.engine.filter import parse_filter
from netop.engine.filter_grammar import FilterError
from netop.model import FlowKpi, FlowRecord


class Facts:
    """What the filter reads: the flow's record."""

    def __init__(self, record: FlowRecord) -> None:
        self.record = record


SLOW = FlowRecord(6, "10.0.0.1", 40000, "192.0.2.1", 443, packets=50, packets_rev=50,
                  kpi=FlowKpi(rtt_ms=150.0, retrans=2, retrans_rev=1, ooo=0, ooo_rev=0,
                              conn_state="SF", ttfb_ms=600.0))  # fmt: skip
FAILED = FlowRecord(6, "10.0.0.1", 40001, "192.0.2.1", 443, packets=3,
                    kpi=FlowKpi(retrans=2, retrans_rev=0, ooo=0, ooo_rev=0, conn_state="S0"))
DNS = FlowRecord(17, "10.0.0.1", 5555, "192.0.2.53", 53, packets=1, packets_rev=1,
                 kpi=FlowKpi(dns_queries=1, dns_answers=1, dns_ms=20.0,
                             dns_rcodes={"NXDOMAIN": 1}))  # fmt: skip
UNMEASURED = FlowRecord(6, "10.0.0.1", 40002, "192.0.2.1", 443, packets=9, source="netflow9")
FLOWS = {"slow": SLOW, "failed": FAILED, "dns": DNS, "unmeasured": UNMEASURED}


@pytest.mark.parametrize(
    ("text", "matching"),
    [
        ("rtt > 100ms", {"slow"}),
        ("rtt < 100ms", set()),
        ("rtt != 1s", {"slow"}),  # not measured never matches, whatever the operator
        ("retrans > 1%", {"slow", "failed"}),
        ("retrans > 5%", {"failed"}),
        ("retrans >= 3", {"slow"}),
        ("state S0", {"failed"}),
        ("state sf", {"slow"}),
        ("not state SF", {"failed", "dns", "unmeasured"}),
        ("rcode NXDOMAIN", {"dns"}),
        ("rcode SERVFAIL", set()),
        ("ttfb > 500ms", {"slow"}),
        ("dns < 50ms and udp", {"dns"}),
        ("tcp and rtt > 100ms or state S0", {"slow", "failed"}),
    ],
)
def test_kpi_terms_select_the_right_flows(text: str, matching: set[str]) -> None:
    f = parse_filter(text)
    assert {name for name, r in FLOWS.items() if f.matches(Facts(r), 0.0)} == matching
    assert parse_filter(str(f)) == f  # the canonical text parses back


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("state XX", "unknown state 'XX'"),
        ("rcode NOPE", "unknown rcode 'NOPE'"),
        ("rtt > fast", "not a number"),
        ("retrans > many%", "not a number"),
        ("state", "expected a Zeek connection state"),
        ("ttfb 5", "expected one of"),
    ],
)
def test_bad_kpi_terms_are_one_clear_error(text: str, problem: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(text)
    assert problem in str(caught.value)
    assert "\n" not in str(caught.value)
