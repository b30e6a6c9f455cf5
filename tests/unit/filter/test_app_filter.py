"""Filter words on the application layer: ``app``, ``sni``, ``dns.qname``, ``http.host``."""

from __future__ import annotations

import pytest

from netop.engine.filter import FilterError, FlowFacts, parse_filter
from netop.model import AppFacts, FlowRecord


class _Flow:
    def __init__(self, app: AppFacts | None) -> None:
        self.record = FlowRecord(6, "10.0.0.1", 40000, "10.0.0.2", 443, app=app)
        self.rate_bps = self.avg_bps = 0.0
        self.process = ""
        self.names: tuple[str, ...] = ()


TLS = _Flow(AppFacts("tls", sni="Www.Example.COM", alpn=("h2",)))
DNS = _Flow(AppFacts("dns", dns_qname="api.corp.example", dns_qtype="A"))
HTTP = _Flow(AppFacts("http", http_host="shop.example.org", http_request="GET /"))
NONE = _Flow(None)
ALL: list[FlowFacts] = [TLS, DNS, HTTP, NONE]


@pytest.mark.parametrize(("text", "matched"), [
    ("app tls", [TLS]),
    ("app DNS", [DNS]),
    ("not app http", [TLS, DNS, NONE]),
    ("sni www.example.com", [TLS]),
    ("sni *.example.com", [TLS]),
    ("sni example.com", []),
    ("dns.qname *.corp.*", [DNS]),
    ("http.host shop.example.org", [HTTP]),
    ("sni * or dns.qname * or http.host *", [TLS, DNS, HTTP]),
])  # fmt: skip
def test_application_words_match(text: str, matched: list[FlowFacts]) -> None:
    f = parse_filter(text)
    assert [flow for flow in ALL if f.matches(flow, 0.0)] == matched
    assert parse_filter(str(f)) == f  # the canonical text parses back to the same


@pytest.mark.parametrize(("text", "problem"), [
    ("app ftp", "unknown app 'ftp' (use http, tls, dns)"),
    ("sni", "expected a name or glob such as *.example.com after 'sni'"),
    ("dns.qname and", "expected a name or glob such as *.example.com after 'dns.qname'"),
    ("app", "expected an application protocol after 'app'"),
])  # fmt: skip
def test_bad_application_words_say_what_is_expected(text: str, problem: str) -> None:
    with pytest.raises(FilterError, match="filter: ") as err:
        parse_filter(text)
    assert err.value.problem.startswith(problem)


def test_app_dns_canonical_text_is_bare() -> None:
    assert str(parse_filter("app DNS")) == "app dns"
