"""The flow filter language: its grammar, tokens and syntax tree.

Grammar (tcpdump/nfdump style; keywords are case-insensitive)::

    expr      := and ( ("or" | "||") and )*
    and       := unary ( ("and" | "&&") unary )*
    unary     := ("not" | "!") unary | "(" expr ")" | primitive
    primitive := [proto] [dir] ("host" NAME | "net" CIDR | "port" N | "portrange" N-N)
               | proto | "proto" (N | NAME) | FIELD OP QUANTITY | "flags" LETTERS
               | "process" NAME | "user" NAME | "exporter" ADDR | "source" KIND | "vlan" N
               | "state" ZEEK_STATE | "rcode" DNS_RCODE
               | "app" APP | APP_FIELD NAME
    APP       := "http" | "tls" | "dns"
    APP_FIELD := "sni" | "dns.qname" | "http.host"   (application layer, glob like host)
    proto     := "tcp" | "udp" | "icmp" | "icmpv6" | "sctp" | "ip" | "ip6"
    dir       := "src" | "dst"
    FIELD     := bytes | packets | rate | avg (both directions; rate/avg in bits/s)
               | bytes_fwd | packets_fwd (src→dst) | bytes_rev | packets_rev (dst→src)
               | bytes_total | packets_total (= bytes, packets) | age | duration | idle
               | rtt | ttfb | dns | jitter (passive KPIs, durations) | retrans (count,
                 both directions; ``retrans > 1%``: in % of the flow's packets)
    OP        := == | = | != | > | >= | < | <=

``tcp port 443`` is ``tcp and port 443``, as in tcpdump. A KPI term never matches a flow
where the KPI could not be measured (``rtt > 0`` is "has a handshake RTT"). ``host``
takes an address or a case-insensitive glob over names and address text; ``process`` a
glob. Values that are keywords or hold spaces go in double quotes. The parser
(``filter_parser``) is a hand-written recursive descent over the regex tokenizer here
rather than pyparsing or lark: the grammar is LL(1) and small, hand-written rules give
the one-line "expected X after Y at position N" messages the filter box shows while the
user types, and it adds no dependency. The syntax tree is made of frozen dataclasses, so
filters compare and hash by value; ``str()`` of a node is its canonical text, which
parses back to an equal node.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from netop.engine.units import format_number
from netop.errors import NetopError
from netop.model import DNS_RCODES, PROTO_NAMES, TCP_FLAG_LETTERS


class FilterError(NetopError):
    """A filter that cannot be parsed; ``position`` is the 0-based offset of the problem."""

    def __init__(self, problem: str, position: int) -> None:
        super().__init__(f"filter: {problem} at position {position}")
        self.problem = problem
        self.position = position


# --- syntax tree -------------------------------------------------------------------------


class Node:
    """Base of the syntax tree; subclasses are frozen dataclasses."""


@dataclass(frozen=True, slots=True)
class All(Node):
    """The empty filter: matches every flow."""

    def __str__(self) -> str:
        return ""


@dataclass(frozen=True, slots=True)
class And(Node):
    """All of ``items`` (two or more, never an ``And`` themselves)."""

    items: tuple[Node, ...]

    def __str__(self) -> str:
        return " and ".join(
            f"({item})" if isinstance(item, Or) else str(item) for item in self.items
        )


@dataclass(frozen=True, slots=True)
class Or(Node):
    """Any of ``items`` (two or more, never an ``Or`` themselves)."""

    items: tuple[Node, ...]

    def __str__(self) -> str:
        return " or ".join(str(item) for item in self.items)


@dataclass(frozen=True, slots=True)
class Not(Node):
    """The negation of ``item``."""

    item: Node

    def __str__(self) -> str:
        inner = str(self.item)
        return f"not ({inner})" if isinstance(self.item, And | Or) else f"not {inner}"


@dataclass(frozen=True, slots=True)
class Host(Node):
    """An address (canonical text) or a name glob (lower case) at ``direction``."""

    direction: str  # "src", "dst" or "" for either
    value: str
    is_address: bool

    def __str__(self) -> str:
        return f"{_dir(self.direction)}host {quote(self.value)}"


@dataclass(frozen=True, slots=True)
class Net(Node):
    """An IPv4 or IPv6 network at ``direction``."""

    direction: str
    network: ipaddress.IPv4Network | ipaddress.IPv6Network

    def __str__(self) -> str:
        return f"{_dir(self.direction)}net {self.network}"


@dataclass(frozen=True, slots=True)
class Port(Node):
    """A port or port range at ``direction``; only protocols with ports match."""

    direction: str
    low: int
    high: int

    def __str__(self) -> str:
        if self.low == self.high:
            return f"{_dir(self.direction)}port {self.low}"
        return f"{_dir(self.direction)}portrange {self.low}-{self.high}"


@dataclass(frozen=True, slots=True)
class Proto(Node):
    """An IP protocol number."""

    number: int

    def __str__(self) -> str:
        name = PROTO_NAMES.get(self.number)
        if name is None and self.number == 132:
            name = "sctp"
        return name if name is not None else f"proto {self.number}"


@dataclass(frozen=True, slots=True)
class Family(Node):
    """IPv4 (``ip``) or IPv6 (``ip6``) flows."""

    version: int

    def __str__(self) -> str:
        return "ip" if self.version == 4 else "ip6"


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """A numeric field compared with a value in the field's base unit."""

    field: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.field} {self.op} {format_number(self.value)}"


@dataclass(frozen=True, slots=True)
class Flags(Node):
    """TCP flags that must all have been seen (a bit mask, bit 0 = FIN)."""

    mask: int

    def __str__(self) -> str:
        letters = "".join(c for bit, c in enumerate(TCP_FLAG_LETTERS) if self.mask >> bit & 1)
        # Letters can spell a keyword ("SRC", "NOT"): quote() keeps the text parseable.
        return f"flags {quote(letters)}"


@dataclass(frozen=True, slots=True)
class Attr(Node):
    """Equality on a text attribute: ``process`` (glob), ``exporter``, ``source``."""

    kind: str
    value: str

    def __str__(self) -> str:
        if self.kind == "app":  # one of APPS, bare even where it is a keyword ("dns")
            return f"app {self.value}"
        return f"{self.kind} {quote(self.value)}"


@dataclass(frozen=True, slots=True)
class Vlan(Node):
    """The outermost VLAN id."""

    vlan: int

    def __str__(self) -> str:
        return f"vlan {self.vlan}"


def _dir(direction: str) -> str:
    return f"{direction} " if direction else ""


# --- tokens ------------------------------------------------------------------------------

#: Numeric fields and whether their values are durations.
FIELDS: dict[str, bool] = {
    "bytes": False,
    "bytes_fwd": False,
    "bytes_rev": False,
    "bytes_total": False,
    "packets": False,
    "packets_fwd": False,
    "packets_rev": False,
    "packets_total": False,
    "rate": False,
    "avg": False,
    "age": True,
    "duration": True,
    "idle": True,
    "rtt": True,
    "ttfb": True,
    "dns": True,
    "jitter": True,
    "retrans": False,
    "retrans_pct": False,
}
#: Fields compared with the flow's KPIs (``netop.model.FlowKpi``); None: not measured.
KPI_FIELDS = frozenset({"rtt", "ttfb", "dns", "jitter", "retrans", "retrans_pct"})
#: Zeek's conn_state words (``state S0``).
CONN_STATES = ("S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH",
               "SHR", "OTH")  # fmt: skip
#: DNS response codes by name (``rcode NXDOMAIN``), as the flow record's ``dns_rcodes``.
RCODES = DNS_RCODES
#: Application protocols the capture recognises (``app tls``), the record's ``app``.
APPS = ("http", "tls", "dns")
#: Application-layer name words and the flow record's key each globs (``sni *.example.com``).
APP_FIELDS: dict[str, str] = {"sni": "sni", "dns.qname": "dns_qname", "http.host": "http_host"}
OPERATORS = ("==", "!=", ">=", "<=", ">", "<")
PROTOCOLS: dict[str, int] = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "sctp": 132}
FAMILIES: dict[str, int] = {"ip": 4, "ip6": 6, "inet": 4, "inet6": 6}
SOURCES = ("capture", "netflow5", "netflow9", "ipfix", "sflow")
ADDRESS_KINDS = ("host", "net", "port", "portrange")
KEYWORDS = frozenset(
    {"and", "or", "not", "src", "dst", "proto", "flags", "process", "exporter", "source"}
    | {"state", "rcode", "user", "app", *APP_FIELDS}
    | {"vlan", *ADDRESS_KINDS, *FIELDS, *PROTOCOLS, *FAMILIES}
)

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<op>&&|\|\||==|!=|>=|<=|=|>|<|!|\(|\))
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<word>[^\s()!<>=&|"]+)
      | (?P<bad>.)""",
    re.VERBOSE | re.DOTALL,
)
_BARE = re.compile(r"[^\s()!<>=&|\"]+\Z")
MAX_LENGTH = 4096
MAX_DEPTH = 64


def quote(value: str) -> str:
    """``value`` as a filter word: bare when it can be, else in double quotes."""
    if _BARE.match(value) and value.lower() not in KEYWORDS:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``kind`` is ``op``, ``string``, ``word`` or ``end``."""

    kind: str
    text: str
    pos: int

    @property
    def keyword(self) -> str:
        """Lower-cased text of a bare word, else ``""``."""
        return self.text.lower() if self.kind == "word" else ""


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raises :class:`FilterError` on a stray character."""
    if len(text) > MAX_LENGTH:
        raise FilterError(f"filter longer than {MAX_LENGTH} characters", MAX_LENGTH)
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "bad"
        if kind == "space":
            continue
        if kind == "bad":
            problem = "unterminated quote" if match.group() == '"' else "unexpected character"
            raise FilterError(f"{problem} {match.group()!r}", match.start())
        value = match.group()
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1], flags=re.DOTALL)
        elif value == "=":
            value = "=="
        tokens.append(Token(kind, value, match.start()))
    tokens.append(Token("end", "", len(text)))
    return tokens
