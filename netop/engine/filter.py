"""Flow filters: parse the user's expression, then match flows fast.

``parse_filter("tcp and dst port 443 and rate > 1M")`` gives an immutable, hashable
:class:`Filter` whose ``str()`` is its canonical text. Matching compiles the syntax tree
once into one Python expression (a generated function), so that filtering 100k flows
per tick costs a list comprehension with no per-node function calls. Address, network
and glob tests are memoised per distinct string in bounded dicts, so no address is
parsed twice. No user text ever becomes code: every value the generated source uses is
bound as a named constant.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import operator
import re
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from netop.engine.filter_grammar import (
    APP_FIELDS,
    KPI_FIELDS,
    All,
    And,
    Attr,
    Compare,
    Family,
    FilterError,
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
from netop.engine.filter_parser import parse_node
from netop.model import FlowFields, FlowRecord

__all__ = ["CompiledFilter", "Facts", "Filter", "FilterError", "FlowFacts", "parse_filter"]

#: IP protocols whose flows carry ports (TCP, UDP, DCCP, SCTP, UDP-Lite).
PORTED = frozenset({6, 17, 33, 132, 136})
#: Entries a memo keeps before it starts over: above a full flow table's distinct
#: addresses (so steady-state ticks hit), yet bounded under hostile address churn.
MEMO_LIMIT = 1 << 18


class FlowFacts(Protocol):
    """What the engine knows about one flow at matching time.

    ``names`` holds the resolved names of ``(src, dst)`` in that order, ``""`` for one
    not resolved; it may be empty. ``rate_bps``/``avg_bps`` are bits per second over
    both directions (this tick / the 10 s average).
    """

    @property
    def record(self) -> FlowFields: ...
    @property
    def rate_bps(self) -> float: ...
    @property
    def avg_bps(self) -> float: ...
    @property
    def process(self) -> str: ...
    @property
    def names(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class Facts:
    """A plain :class:`FlowFacts` for the engine, headless commands and tests."""

    record: FlowRecord
    rate_bps: float = 0.0
    avg_bps: float = 0.0
    process: str = ""
    names: tuple[str, ...] = ()


class _Memo(dict[Any, bool]):
    """A bounded cache of ``test(key)``; a key the test rejects or chokes on is False."""

    def __init__(self, test: Callable[[str], bool]) -> None:
        super().__init__()
        self.test = test

    def __missing__(self, key: Any) -> bool:
        try:
            value = isinstance(key, str) and bool(self.test(key))
        except (ValueError, TypeError):
            value = False
        if len(self) >= MEMO_LIMIT:
            self.clear()
        self[key] = value
        return value


def address_value(text: str) -> tuple[int, int] | None:
    """``(version, integer)`` of an address text, ``None`` when it is not one.

    ``inet_pton`` first: it is several times faster than ``ipaddress`` on a miss, which
    matters on the first tick over 100k new flows.
    """
    for family, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        try:
            return version, int.from_bytes(socket.inet_pton(family, text), "big")
        except (OSError, ValueError):
            continue
    try:
        parsed = ipaddress.ip_address(text)  # e.g. a scoped "fe80::1%eth0"
    except ValueError:
        return None
    return parsed.version, int(parsed)


def _in_network(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Callable[[str], bool]:
    version, base, mask = network.version, int(network.network_address), int(network.netmask)

    def test(text: str) -> bool:
        value = address_value(text)
        return value is not None and value[0] == version and value[1] & mask == base

    return test


def _same_address(address: str) -> Callable[[str], bool]:
    target = address_value(address)
    return lambda text: text == address or (target is not None and address_value(text) == target)


def _glob(pattern: str) -> Callable[[str], bool]:
    regex = re.compile(fnmatch.translate(pattern), re.DOTALL)
    # An unknown (empty) name or process never matches, not even ``*``.
    return lambda text: bool(text) and regex.match(text.lower().rstrip(".")) is not None


def _any_name(memo: _Memo, names: Sequence[str]) -> bool:
    for name in names:  # noqa: SIM110 - a loop is faster than any(), and this runs per flow
        if name and memo[name]:
            return True
    return False


def _nth_name(memo: _Memo, names: Sequence[str], index: int) -> bool:
    return len(names) > index and bool(names[index]) and memo[names[index]]


#: ``bytes``/``packets`` count both directions, like the Bytes column, ``rate`` and
#: ``--sort bytes``; ``_fwd`` is src→dst and ``_rev`` dst→src (the JSON record's
#: ``bytes``/``bytes_rev``). ``_total`` is kept as a synonym of the plain word.
_FIELD_CODE = {
    "bytes": "(r.bytes + r.bytes_rev)",
    "bytes_fwd": "r.bytes",
    "bytes_rev": "r.bytes_rev",
    "bytes_total": "(r.bytes + r.bytes_rev)",
    "packets": "(r.packets + r.packets_rev)",
    "packets_fwd": "r.packets",
    "packets_rev": "r.packets_rev",
    "packets_total": "(r.packets + r.packets_rev)",
    "rate": "f.rate_bps",
    "avg": "f.avg_bps",
    "age": "(now - r.first)",
    "duration": "(r.last - r.first)",
    "idle": "(now - r.last)",
}
#: KPI fields: (FlowKpi field, scale to the filter's base unit); None when not measured.
_KPI_CODE = {
    "rtt": ("rtt_ms", 0.001),
    "ttfb": ("ttfb_ms", 0.001),
    "dns": ("dns_ms", 0.001),
    "jitter": ("jitter_ms", 0.001),
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">=": operator.ge, "<=": operator.le,
    ">": operator.gt, "<": operator.lt,
}  # fmt: skip


def _kpi_compare(r: Any, field: str, op: str, value: float) -> bool:
    """A KPI term: False where the flow's KPI was not measured (whatever the operator)."""
    kpi = r.kpi
    if kpi is None:
        return False
    if field == "retrans" or field == "retrans_pct":
        if kpi.retrans is None or kpi.retrans_rev is None:
            return False
        got = float(kpi.retrans + kpi.retrans_rev)
        if field == "retrans_pct":
            packets = r.packets + r.packets_rev
            if packets <= 0:
                return False
            got = 100.0 * got / packets
        return _COMPARE[op](got, value)
    name, scale = _KPI_CODE[field]
    ms = getattr(kpi, name)
    return ms is not None and _COMPARE[op](ms * scale, value)


def _kpi_has(r: Any, kind: str, value: str) -> bool:
    """``state S0`` / ``rcode NXDOMAIN`` (at least one such answer)."""
    kpi = r.kpi
    if kpi is None:
        return False
    if kind == "state":
        return bool(kpi.conn_state == value)
    return bool(kpi.dns_rcodes and kpi.dns_rcodes.get(value, 0) > 0)
#: A glob that may match an address's text (digits, hex letters, '.', ':', wildcards).
_ADDRESS_GLOB = re.compile(r"[0-9a-f.:*?\[\]!%-]*\Z")
_OPS = frozenset({"==", "!=", ">=", "<=", ">", "<"})


class _CodeGen:
    """Turns a syntax tree into Python expression text over ``f``, ``r`` and ``now``."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {
            "_PORTED": PORTED,
            "_any_name": _any_name,
            "_nth_name": _nth_name,
            "_kpi_compare": _kpi_compare,
            "_kpi_has": _kpi_has,
        }

    def const(self, value: Any) -> str:
        name = f"_k{len(self.names)}"
        self.names[name] = value
        return name

    def sides(self, direction: str, template: str) -> str:
        """``template`` with ``{a}`` as src and/or dst address, per direction."""
        if direction:
            return template.format(a=f"r.{direction}")
        return f"({template.format(a='r.src')} or {template.format(a='r.dst')})"

    def code(self, node: Node) -> str:  # noqa: C901 - one branch per node kind
        if isinstance(node, All):
            return "True"
        if isinstance(node, And | Or):
            joiner = " and " if isinstance(node, And) else " or "
            return "(" + joiner.join(self.code(item) for item in node.items) + ")"
        if isinstance(node, Not):
            return f"(not {self.code(node.item)})"
        if isinstance(node, Host):
            return self.host(node)
        if isinstance(node, Net):
            return self.net(node)
        if isinstance(node, Port):
            low, high = int(node.low), int(node.high)
            test = f"{{a}} == {low}" if low == high else f"{low} <= {{a}} <= {high}"
            if node.direction:
                ports = test.format(a="r.sport" if node.direction == "src" else "r.dport")
            else:
                ports = f"({test.format(a='r.sport')} or {test.format(a='r.dport')})"
            return f"(r.proto in _PORTED and {ports})"
        if isinstance(node, Proto):
            return f"r.proto == {int(node.number)}"
        if isinstance(node, Family):
            return "(':' not in r.src)" if node.version == 4 else "(':' in r.src)"
        if isinstance(node, Compare):
            if node.op not in _OPS:
                raise FilterError(f"unknown operator {node.op!r}", 0)
            if node.field in KPI_FIELDS:
                return (f"_kpi_compare(r, {self.const(node.field)}, {self.const(node.op)}, "
                        f"{self.const(float(node.value))})")
            return f"({_FIELD_CODE[node.field]} {node.op} {self.const(float(node.value))})"
        if isinstance(node, Flags):
            return f"((r.tcp_flags & {int(node.mask)}) == {int(node.mask)})"
        if isinstance(node, Vlan):
            return f"r.vlan == {int(node.vlan)}"
        if isinstance(node, Attr):
            return self.attribute(node)
        raise FilterError(f"cannot match {type(node).__name__}", 0)

    def net(self, node: Net) -> str:
        network = node.network
        if network.version == 4 and network.prefixlen % 8 == 0:
            # Octet-aligned IPv4 networks are a prefix of dotted-quad text: no parsing.
            octets = str(network.network_address).split(".")[: network.prefixlen // 8]
            if not octets:
                return self.sides(node.direction, "(':' not in {a} and '.' in {a})")
            if len(octets) == 4:
                return self.sides(node.direction, "{a} == " + self.const(".".join(octets)))
            prefix = self.const(".".join(octets) + ".")
            return self.sides(node.direction, "{a}.startswith(" + prefix + ")")
        memo = self.const(_Memo(_in_network(network)))
        return self.sides(node.direction, memo + "[{a}]")

    def host(self, node: Host) -> str:
        if node.is_address:
            target = self.const(node.value)
            if ":" not in node.value:
                # Dotted-quad text has one spelling, so string equality is exact.
                return self.sides(node.direction, "{a} == " + target)
            memo = self.const(_Memo(_same_address(node.value)))
            return self.sides(node.direction, f"({{a}} == {target} or {memo}[{{a}}])")
        memo = self.const(_Memo(_glob(node.value)))
        index = 0 if node.direction == "src" else 1
        names = (
            f"_nth_name({memo}, f.names, {index})"
            if node.direction
            else f"_any_name({memo}, f.names)"
        )
        if not _ADDRESS_GLOB.match(node.value):
            return names  # the pattern has letters no address text has
        return f"({self.sides(node.direction, memo + '[{a}]')} or {names})"

    def attribute(self, node: Attr) -> str:
        if node.kind == "app":
            return f"(r.app is not None and r.app.app == {self.const(node.value)})"
        if node.kind in APP_FIELDS:
            memo = self.const(_Memo(_glob(node.value)))
            return f"(r.app is not None and {memo}[r.app.{APP_FIELDS[node.kind]} or ''])"
        if node.kind in ("state", "rcode"):
            return f"_kpi_has(r, {self.const(node.kind)}, {self.const(node.value)})"
        if node.kind == "process":
            return f"{self.const(_Memo(_glob(node.value)))}[f.process]"
        if node.kind == "user":
            # Not every kind of facts knows users (a recording's rows do not): none match.
            return f"{self.const(_Memo(_glob(node.value)))}[getattr(f, 'user', '')]"
        if node.kind == "exporter":
            return f"{self.const(_Memo(_same_address(node.value)))}[r.exporter]"
        return f"r.source == {self.const(node.value)}"


_F = TypeVar("_F", bound=FlowFacts)


class CompiledFilter:
    """A filter turned into Python: ``match(flow, now)`` and ``select(flows, now)``."""

    def __init__(self, node: Node) -> None:
        gen = _CodeGen()
        expression = gen.code(node)
        source = (
            "def match(f, now):\n"
            "    r = f.record\n"
            f"    return bool({expression})\n"
            "def select(flows, now):\n"
            f"    return [f for f in flows for r in (f.record,) if {expression}]\n"
        )
        namespace = dict(gen.names)
        exec(compile(source, "<netop filter>", "exec"), namespace)  # noqa: S102 - our own code
        self.source = source
        self._match: Callable[[FlowFacts, float], bool] = namespace["match"]
        self._select: Callable[[Iterable[FlowFacts], float], list[Any]] = namespace["select"]

    def match(self, flow: FlowFacts, now: float) -> bool:
        """True when ``flow`` passes; ``now`` (epoch seconds) is for ``age``/``idle``."""
        return self._match(flow, now)

    def select(self, flows: Iterable[_F], now: float) -> list[_F]:
        """The flows that pass, in their order."""
        return self._select(flows, now)


@lru_cache(maxsize=64)
def _compiled(node: Node) -> CompiledFilter:
    return CompiledFilter(node)


@dataclass(frozen=True, slots=True)
class Filter:
    """A parsed filter: immutable, hashable, printable as canonical text."""

    node: Node

    def __str__(self) -> str:
        return str(self.node)

    @property
    def matches_all(self) -> bool:
        """True for the empty filter (the engine can skip matching)."""
        return isinstance(self.node, All)

    def compile(self) -> CompiledFilter:
        """The compiled matcher (cached per distinct filter)."""
        return _compiled(self.node)

    def matches(self, flow: FlowFacts, now: float | None = None) -> bool:
        """True when ``flow`` passes; ``now`` defaults to the current time."""
        return self.compile().match(flow, time.time() if now is None else now)


def parse_filter(text: str) -> Filter:
    """Parse ``text``; ``""`` gives the match-all filter. Raises :class:`FilterError`."""
    return Filter(parse_node(text))
