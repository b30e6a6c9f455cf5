"""KPIs per remote host or per service: an aggregation over the flow table's flows.

One :class:`KpiGroup` per key: how many flows, the share that succeeded (Zeek states SF,
S1, S2, S3 against S0, REJ, SH and the RST* family), handshake RTT and TTFB percentiles,
retransmitted segments in % of the TCP packets, the DNS time median and the DNS
failures (SERVFAIL, REFUSED, FORMERR, NOTIMP answers and queries left unanswered).
A value with nothing to measure is ``None``, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from netop.model import FAILURE_STATES, SUCCESS_STATES, FlowFields, KpiGroup, proto_name

#: ``--by`` keys: the remote host (the flow's responder, ``dst``) or the service
#: (protocol/responder port).
KPI_GROUPINGS = ("host", "service")

DNS_FAILURE_RCODES = ("SERVFAIL", "REFUSED", "FORMERR", "NOTIMP")


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` (0..100) percentile, linear between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(slots=True)
class _Acc:
    flows: int = 0
    ok: int = 0
    failed: int = 0
    rtt: list[float] = field(default_factory=list)
    ttfb: list[float] = field(default_factory=list)
    dns: list[float] = field(default_factory=list)
    retrans: int = 0
    tcp_packets: int = 0
    dns_failures: int | None = None


def group_key(flow: FlowFields, by: str) -> str:
    """The flow's group: its responder address, or ``proto/port`` of the responder."""
    if by == "host":
        return flow.dst
    return f"{proto_name(flow.proto)}/{flow.dport}"


def kpi_groups(flows: Iterable[FlowFields], by: str = "host") -> list[KpiGroup]:
    """One group per key, most flows first (then by key)."""
    if by not in KPI_GROUPINGS:
        raise ValueError(f"--by must be one of {', '.join(KPI_GROUPINGS)}, got {by!r}")
    accs: dict[str, _Acc] = {}
    for flow in flows:
        acc = accs.setdefault(group_key(flow, by), _Acc())
        acc.flows += 1
        k = flow.kpi
        if k is None:
            continue
        if k.conn_state in SUCCESS_STATES:
            acc.ok += 1
        elif k.conn_state in FAILURE_STATES:
            acc.failed += 1
        if k.rtt_ms is not None:
            acc.rtt.append(k.rtt_ms)
        if k.ttfb_ms is not None:
            acc.ttfb.append(k.ttfb_ms)
        if k.retrans is not None and k.retrans_rev is not None:
            acc.retrans += k.retrans + k.retrans_rev
            acc.tcp_packets += flow.packets + flow.packets_rev
        if k.dns_queries is not None or k.dns_answers is not None:
            if k.dns_ms is not None:
                acc.dns.append(k.dns_ms)
            rcodes = k.dns_rcodes or {}
            unanswered = max(0, (k.dns_queries or 0) - (k.dns_answers or 0))
            failures = sum(rcodes.get(name, 0) for name in DNS_FAILURE_RCODES) + unanswered
            acc.dns_failures = (acc.dns_failures or 0) + failures
    out = [
        KpiGroup(
            key=key, flows=a.flows,
            success_pct=100.0 * a.ok / (a.ok + a.failed) if a.ok + a.failed else None,
            rtt_ms_p50=percentile(a.rtt, 50), rtt_ms_p95=percentile(a.rtt, 95),
            retrans_pct=100.0 * a.retrans / a.tcp_packets if a.tcp_packets else None,
            ttfb_ms_p50=percentile(a.ttfb, 50), ttfb_ms_p95=percentile(a.ttfb, 95),
            dns_ms_p50=percentile(a.dns, 50), dns_failures=a.dns_failures,
        )  # fmt: skip
        for key, a in accs.items()
    ]
    out.sort(key=lambda g: (-g.flows, g.key))
    return out
