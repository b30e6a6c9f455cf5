"""The Flows view of a replayed tick: the recorded rows filtered, grouped and sorted by
the user's :class:`~netop.model.ViewSpec`, as the engine does for live flows.

A recording holds the top rows of each tick, not every flow: a filter or a grouping in
replay works over those rows (the view says so).
"""

from __future__ import annotations

import heapq
import ipaddress
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace

from netop.engine.filter import Facts, FilterError, parse_filter
from netop.model import FlowRecord, FlowRow, FlowsView, ViewSpec, proto_name

_ROW_SORT: dict[str, Callable[[FlowRow], float | int | str]] = {
    "rate": lambda r: r.rate_bps + r.rate_rev_bps,
    "avg": lambda r: r.avg_bps,
    "bytes": lambda r: r.record.bytes + r.record.bytes_rev,
    "packets": lambda r: r.record.packets + r.record.packets_rev,
    "age": lambda r: -r.record.first,
    "proto": lambda r: r.record.proto,
    "src": lambda r: r.record.src,
    "dst": lambda r: r.record.dst,
    "process": lambda r: r.process or r.label,
}


def _group_key(mode: str, row: FlowRow) -> tuple[Hashable, str]:
    r = row.record
    if mode == "protocol":
        return r.proto, proto_name(r.proto)
    if mode == "port":
        return (r.dport, r.proto), f"{r.dport}/{proto_name(r.proto)}"
    if mode == "process":
        label = row.process.split(" (", 1)[0] if row.process else "—"
        return label, label
    # remote host: the recording does not say which end was local. The responder is
    # the remote one for the flows a host opens (the common case), unless it is a
    # private address answering a public one (a server here).
    if _private(r.dst) and not _private(r.src):
        address, name = r.src, row.src_name
    else:
        address, name = r.dst, row.dst_name
    return address, f"{name} ({address})" if name else address


#: Addresses a host of its own network has (RFC 1918, ULA, loopback, link-local).
_LOCAL_NETS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
    "fc00::/7", "::1/128", "fe80::/10"))


def _private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in _LOCAL_NETS)


def _grouped(mode: str, rows: Sequence[FlowRow]) -> list[FlowRow]:
    groups: dict[Hashable, list[FlowRow]] = {}
    labels: dict[Hashable, str] = {}
    for row in rows:
        key, label = _group_key(mode, row)
        groups.setdefault(key, []).append(row)
        labels[key] = label
    out = []
    for key, members in groups.items():
        label = labels[key]
        recs = [m.record for m in members]
        proto = recs[0].proto if mode == "protocol" else 0
        record = FlowRecord(proto, label, 0, "", 0, None,
                            sum(r.packets for r in recs), sum(r.bytes for r in recs),
                            sum(r.packets_rev for r in recs), sum(r.bytes_rev for r in recs),
                            min(r.first for r in recs), max(r.last for r in recs))
        out.append(FlowRow(key=f"{mode}|{label}", record=record,
                           rate_bps=sum(m.rate_bps for m in members),
                           rate_rev_bps=sum(m.rate_rev_bps for m in members),
                           avg_bps=sum(m.avg_bps for m in members), label=label,
                           flows=len(members)))
    return out


def replay_view(recorded: FlowsView, spec: ViewSpec) -> FlowsView:
    """``recorded`` as ``spec`` asks: filtered, grouped, sorted, cut to ``spec.top_n``."""
    rows: Sequence[FlowRow] = recorded.rows
    status = recorded.status
    if recorded.spec.aggregate != "connection":
        # Recorded grouped: the flows behind the groups are not in the file.
        return replace(recorded, spec=spec, status=status or
                       f"recorded grouped by {recorded.spec.aggregate}: shown as recorded")
    if spec.filter_text:
        try:
            matcher = parse_filter(spec.filter_text).compile()
        except FilterError as exc:
            return replace(recorded, rows=(), spec=spec, status=f"filter: {exc}")
        now = recorded.now
        rows = [row for row in rows if matcher.match(
            Facts(row.record, row.rate_bps + row.rate_rev_bps, row.avg_bps, row.process,
                  (row.src_name, row.dst_name)), now)]
    matched = len(rows)
    if spec.aggregate != "connection":
        rows = _grouped(spec.aggregate, rows)
    key = _ROW_SORT.get(spec.sort, _ROW_SORT["rate"])
    pick = heapq.nlargest if spec.descending else heapq.nsmallest
    chosen = tuple(pick(spec.top_n, rows, key=key))
    if not chosen and recorded.rows:
        status = "no recorded flow matches the filter"
    return replace(recorded, rows=chosen, spec=spec, status=status,
                   matched_flows=matched if spec.filter_text else recorded.matched_flows)
