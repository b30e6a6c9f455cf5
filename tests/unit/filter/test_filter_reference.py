"""The compiled matcher agrees with a plain tree-walking interpreter on random flows."""

from __future__ import annotations

import fnmatch
import ipaddress
import operator

from hypothesis import given, settings
from hypothesis import strategies as st

from netop.engine.filter import Facts, parse_filter
from netop.engine.filter_grammar import (
    All,
    And,
    Attr,
    Compare,
    Family,
    Flags,
    Host,
    Net,
    Node,
    Not,
    Or,
    Port,
    Proto,
    Vlan,
)
from netop.model import FlowRecord

from .test_filter_properties import expressions

_OPS = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def _value(field: str, flow: Facts, now: float) -> float:
    r = flow.record
    return {
        "bytes": r.bytes + r.bytes_rev,
        "bytes_fwd": r.bytes,
        "bytes_rev": r.bytes_rev,
        "bytes_total": r.bytes + r.bytes_rev,
        "packets": r.packets + r.packets_rev,
        "packets_fwd": r.packets,
        "packets_rev": r.packets_rev,
        "packets_total": r.packets + r.packets_rev,
        "rate": flow.rate_bps,
        "avg": flow.avg_bps,
        "age": now - r.first,
        "duration": r.last - r.first,
        "idle": now - r.last,
    }[field]


def _glob(pattern: str, text: str) -> bool:
    return bool(text) and fnmatch.fnmatchcase(text.lower().rstrip("."), pattern)


def _sides(direction: str, flow: Facts) -> list[tuple[str, str]]:
    names = list(flow.names) + ["", ""]
    pairs = [(flow.record.src, names[0]), (flow.record.dst, names[1])]
    return {"src": pairs[:1], "dst": pairs[1:], "": pairs}[direction]


def evaluate(node: Node, flow: Facts, now: float) -> bool:  # noqa: C901
    """The meaning of each node, written the obvious way."""
    r = flow.record
    if isinstance(node, All):
        return True
    if isinstance(node, And):
        return all(evaluate(item, flow, now) for item in node.items)
    if isinstance(node, Or):
        return any(evaluate(item, flow, now) for item in node.items)
    if isinstance(node, Not):
        return not evaluate(node.item, flow, now)
    if isinstance(node, Host):
        if node.is_address:
            return any(addr == node.value for addr, _ in _sides(node.direction, flow))
        return any(
            _glob(node.value, a) or _glob(node.value, n) for a, n in _sides(node.direction, flow)
        )
    if isinstance(node, Net):
        return any(ipaddress.ip_address(a) in node.network for a, _ in _sides(node.direction, flow))
    if isinstance(node, Port):
        ports = {"src": [r.sport], "dst": [r.dport], "": [r.sport, r.dport]}[node.direction]
        return r.proto in (6, 17, 33, 132, 136) and any(node.low <= p <= node.high for p in ports)
    if isinstance(node, Proto):
        return r.proto == node.number
    if isinstance(node, Family):
        return ipaddress.ip_address(r.src).version == node.version
    if isinstance(node, Compare):
        return bool(_OPS[node.op](_value(node.field, flow, now), node.value))
    if isinstance(node, Flags):
        return r.tcp_flags & node.mask == node.mask
    if isinstance(node, Vlan):
        return r.vlan == node.vlan
    if isinstance(node, Attr):
        if node.kind == "process":
            return _glob(node.value, flow.process)
        if node.kind == "exporter":
            return r.exporter == node.value
        return r.source == node.value
    raise AssertionError(node)


flows = st.builds(
    Facts,
    record=st.builds(
        FlowRecord,
        proto=st.sampled_from([1, 6, 17, 58, 132, 47]),
        src=st.sampled_from(["10.0.0.5", "93.184.216.34", "2001:db8::5", "192.0.2.1"]),
        sport=st.sampled_from([0, 22, 53, 443, 51000]),
        dst=st.sampled_from(["10.0.0.1", "8.8.8.8", "2001:db8:1::53", "::1"]),
        dport=st.sampled_from([0, 53, 80, 443, 2048]),
        vlan=st.sampled_from([None, 0, 10]),
        packets=st.integers(0, 10**6),
        bytes=st.integers(0, 10**10),
        packets_rev=st.integers(0, 10**6),
        bytes_rev=st.integers(0, 10**10),
        first=st.floats(0, 100),
        last=st.floats(0, 100),
        tcp_flags=st.integers(0, 255),
        source=st.sampled_from(["capture", "netflow9", "ipfix", "sflow"]),
        exporter=st.sampled_from([None, "192.0.2.1", "2001:db8::1"]),
    ),
    rate_bps=st.floats(0, 1e9),
    avg_bps=st.floats(0, 1e9),
    process=st.sampled_from(["", "curl", "firefox", "Web Content"]),
    names=st.sampled_from([(), ("", "example.com"), ("host-1", ""), ("a.lan", "www.a.b")]),
)


@settings(max_examples=500)
@given(expressions, st.lists(flows, min_size=1, max_size=8), st.floats(0, 200))
def test_compiled_matcher_agrees_with_reference(text: str, batch: list[Facts], now: float) -> None:
    parsed = parse_filter(text)
    expected = [flow for flow in batch if evaluate(parsed.node, flow, now)]
    assert parsed.compile().select(batch, now) == expected
    assert [parsed.matches(flow, now) for flow in batch] == [flow in expected for flow in batch]
