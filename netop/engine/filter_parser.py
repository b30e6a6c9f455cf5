"""Recursive-descent parser of the flow filter language (grammar in filter_grammar)."""

from __future__ import annotations

import ipaddress
import re
import socket

from netop.engine.filter_grammar import (
    ADDRESS_KINDS,
    APP_FIELDS,
    APPS,
    CONN_STATES,
    FAMILIES,
    FIELDS,
    KEYWORDS,
    MAX_DEPTH,
    OPERATORS,
    PROTOCOLS,
    RCODES,
    SOURCES,
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
    Token,
    Vlan,
    tokenize,
)
from netop.engine.units import UnitError, parse_quantity
from netop.model import TCP_FLAG_LETTERS

_INT = re.compile(r"[0-9]{1,10}\Z")
_HINT = "host, net, port, tcp, udp, process, bytes > N ..."


def parse_node(text: str) -> Node:
    """The syntax tree of ``text``; ``All()`` for an empty or blank filter."""
    return _Parser(text).parse()


def join(kind: type[And] | type[Or], items: list[Node]) -> Node:
    """``items`` combined with ``kind``, flattening nested nodes of the same kind."""
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else (item,))
    return flat[0] if len(flat) == 1 else kind(tuple(flat))


def _describe(token: Token) -> str:
    return "the end of the filter" if token.kind == "end" else repr(token.text)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    # -- token helpers --------------------------------------------------------------------

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def fail(self, problem: str, token: Token | None = None) -> FilterError:
        token = token or self.peek()
        return FilterError(problem, token.pos)

    def is_op(self, *texts: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.text in texts

    def word(self, what: str, after: Token) -> Token:
        """The next bare word or quoted string; keywords must be quoted to be values."""
        token = self.peek()
        bare = token.kind == "word" and token.keyword not in KEYWORDS
        if not (bare or token.kind == "string") or not token.text:
            raise self.fail(f"expected {what} after {after.text!r}, found {_describe(token)}")
        return self.take()

    def integer(self, what: str, after: Token, high: int) -> tuple[int, Token]:
        token = self.word(what, after)
        if not _INT.match(token.text) or int(token.text) > high:
            raise self.fail(f"expected {what} (0-{high}), found {token.text!r}", token)
        return int(token.text), token

    # -- grammar --------------------------------------------------------------------------

    def parse(self) -> Node:
        if self.peek().kind == "end":
            return All()
        node = self.disjunction()
        token = self.peek()
        if token.kind != "end":
            expected = "')' or the end" if token.text == ")" else "'and', 'or' or the end"
            raise self.fail(f"unexpected {_describe(token)}; expected {expected}")
        return node

    def disjunction(self) -> Node:
        items = [self.conjunction()]
        while self.is_op("||") or self.peek().keyword == "or":
            self.take()
            items.append(self.conjunction())
        return join(Or, items)

    def conjunction(self) -> Node:
        items = [self.unary()]
        while self.is_op("&&") or self.peek().keyword == "and":
            self.take()
            items.append(self.unary())
        return join(And, items)

    def unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} deep")
        try:
            if self.is_op("!") or self.peek().keyword == "not":
                self.take()
                return Not(self.unary())
            if self.is_op("("):
                opening = self.take()
                node = self.disjunction()
                if not self.is_op(")"):
                    raise self.fail(
                        f"expected ')' for the '(' at {opening.pos}, found {_describe(self.peek())}"
                    )
                self.take()
                return node
            return self.primitive()
        finally:
            self.depth -= 1

    def primitive(self) -> Node:
        token = self.peek()
        key = token.keyword
        if key in PROTOCOLS or key in FAMILIES:
            self.take()
            base: Node = Proto(PROTOCOLS[key]) if key in PROTOCOLS else Family(FAMILIES[key])
            following = self.peek().keyword
            if following in ("src", "dst") or following in ADDRESS_KINDS:
                return join(And, [base, self.address()])
            return base
        if key in ("src", "dst") or key in ADDRESS_KINDS:
            return self.address()
        if key == "proto":
            return self.proto(self.take())
        if key in FIELDS:
            return self.compare(self.take())
        if key == "flags":
            return self.flags(self.take())
        if key == "vlan":
            return Vlan(self.integer("a VLAN id", self.take(), 4095)[0])
        if key in ("process", "exporter", "source", "state", "rcode", "user", "app") or (
                key in APP_FIELDS):
            return self.attribute(self.take())
        if token.kind == "end":
            raise self.fail(f"the filter ends too early; expected a term ({_HINT})")
        raise self.fail(f"unexpected {_describe(token)}; expected a term ({_HINT})")

    def address(self) -> Node:
        direction = ""
        if self.peek().keyword in ("src", "dst"):
            direction = self.take().keyword
        kind_token = self.peek()
        if kind_token.keyword not in ADDRESS_KINDS:
            raise self.fail(
                f"expected 'host', 'net', 'port' or 'portrange' after {direction!r}, "
                f"found {_describe(kind_token)}"
            )
        self.take()
        kind = kind_token.keyword
        if kind == "host":
            value = self.word("an address or host name", kind_token).text
            try:
                return Host(direction, str(ipaddress.ip_address(value)), True)
            except ValueError:
                return Host(direction, value.lower(), False)
        if kind == "net":
            token = self.word("a network such as 10.0.0.0/8", kind_token)
            try:
                return Net(direction, ipaddress.ip_network(token.text, strict=False))
            except ValueError:
                raise self.fail(f"not a network: {token.text!r}", token) from None
        token = self.word(
            "a port number" if kind == "port" else "a range such as 1-1023", kind_token
        )
        low, high = self.port_range(token, kind == "portrange")
        return Port(direction, low, high)

    def port_range(self, token: Token, range_only: bool) -> tuple[int, int]:
        parts = token.text.split("-")
        if len(parts) == 1 and not range_only:
            port = self.port_value(parts[0], token)
            return port, port
        if len(parts) != 2:
            raise self.fail(f"expected a port range such as 1-1023, found {token.text!r}", token)
        low, high = (self.port_value(part, token) for part in parts)
        if low > high:
            raise self.fail(f"port range {token.text!r} runs backwards", token)
        return low, high

    def port_value(self, text: str, token: Token) -> int:
        if _INT.match(text) and int(text) <= 65535:
            return int(text)
        try:
            return socket.getservbyname(text.lower())
        except (OSError, ValueError, UnicodeError):
            raise self.fail(f"not a port number or service name: {text!r}", token) from None

    def proto(self, after: Token) -> Node:
        token = self.peek()
        if token.keyword in PROTOCOLS:
            self.take()
            return Proto(PROTOCOLS[token.keyword])
        number, _ = self.integer("a protocol number or name", after, 255)
        return Proto(number)

    def compare(self, field: Token) -> Node:
        op = self.peek()
        if op.kind != "op" or op.text not in OPERATORS:
            choices = " ".join(OPERATORS)
            raise self.fail(
                f"expected one of {choices} after {field.text!r}, found {_describe(op)}"
            )
        self.take()
        name = field.keyword
        is_time = FIELDS[name]
        what = "a duration such as 30s" if is_time else "a number such as 10k or 1Mi"
        if name == "retrans":
            what = "a count or a share such as 1%"
        token = self.word(what, op)
        text = token.text
        if name == "retrans" and text.endswith("%"):
            name, text = "retrans_pct", text[:-1]  # in % of the flow's packets
        try:
            value = parse_quantity(text, time=is_time)
        except UnitError as exc:
            raise self.fail(str(exc), token) from None
        return Compare(name, op.text, value)

    def flags(self, after: Token) -> Node:
        token = self.word(f"TCP flag letters ({TCP_FLAG_LETTERS})", after)
        mask = 0
        if not token.text.isascii():
            raise self.fail(f"not TCP flag letters: {token.text!r}", token)
        for letter in token.text.upper():
            bit = TCP_FLAG_LETTERS.find(letter)
            if bit < 0:
                raise self.fail(f"not a TCP flag: {letter!r} (use {TCP_FLAG_LETTERS})", token)
            mask |= 1 << bit
        return Flags(mask)

    def attribute(self, kind: Token) -> Node:
        key = kind.keyword
        if key in APP_FIELDS:
            return Attr(key, self.word("a name or glob such as *.example.com", kind).text.lower())
        if key == "app":
            token = self.peek()
            if token.kind == "word" and token.keyword in APPS:  # "dns" is a keyword too
                self.take()
            else:
                token = self.word("an application protocol", kind)
            if token.text.lower() not in APPS:
                raise self.fail(f"unknown app {token.text!r} (use {', '.join(APPS)})", token)
            return Attr("app", token.text.lower())
        if key == "process":
            return Attr("process", self.word("a process name", kind).text.lower())
        if key == "user":
            return Attr("user", self.word("a user name or uid", kind).text.lower())
        if key == "exporter":
            token = self.word("an exporter address", kind)
            try:
                return Attr("exporter", str(ipaddress.ip_address(token.text)))
            except ValueError:
                raise self.fail(f"not an IP address: {token.text!r}", token) from None
        if key in ("state", "rcode"):
            words = CONN_STATES if key == "state" else RCODES
            what = "a Zeek connection state" if key == "state" else "a DNS response code"
            token = self.word(what, kind)
            if token.text.upper() not in words:
                raise self.fail(f"unknown {key} {token.text!r} (use {', '.join(words)})", token)
            return Attr(key, token.text.upper())
        token = self.word("a source kind", kind)
        if token.text.lower() not in SOURCES:
            raise self.fail(f"unknown source {token.text!r} (use {', '.join(SOURCES)})", token)
        return Attr("source", token.text.lower())
