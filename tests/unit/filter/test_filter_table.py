"""The filter language against a table of expressions and flows with known answers."""

from __future__ import annotations

import pytest

from netop.engine.filter import Facts, FilterError, parse_filter
from netop.model import FlowRecord

NOW = 1_000.0

WEB = Facts(
    FlowRecord(
        6,
        "10.0.0.5",
        51000,
        "93.184.216.34",
        443,
        vlan=10,
        packets=900,
        bytes=2_000_000,
        packets_rev=800,
        bytes_rev=50_000,
        first=900.0,
        last=990.0,
        tcp_flags=0x1B,
        source="capture",
    ),
    rate_bps=80_000.0,
    avg_bps=1_500_000.0,
    process="firefox",
    names=("laptop.lan", "www.Example.COM"),
)
DNS = Facts(
    FlowRecord(
        17,
        "2001:db8::5",
        40000,
        "2001:db8:1::53",
        53,
        packets=2,
        bytes=120,
        packets_rev=2,
        bytes_rev=300,
        first=995.0,
        last=995.5,
        source="netflow9",
        exporter="192.0.2.1",
    ),
    rate_bps=0.0,
    avg_bps=100.0,
    process="",
)
PING = Facts(
    FlowRecord(
        1,
        "10.0.0.5",
        0,
        "10.0.0.1",
        8 * 256,
        packets=3,
        bytes=252,
        first=999.0,
        last=999.0,
        source="sflow",
    ),
    process="ping",
)
FLOWS = {"web": WEB, "dns": DNS, "ping": PING}

# expression -> names of the flows it matches
TABLE: list[tuple[str, set[str]]] = [
    ("", {"web", "dns", "ping"}),
    ("tcp", {"web"}),
    ("udp", {"dns"}),
    ("icmp", {"ping"}),
    ("proto 17", {"dns"}),
    ("proto udp", {"dns"}),
    ("ip", {"web", "ping"}),
    ("ip6", {"dns"}),
    ("port 443", {"web"}),
    ("port https", {"web"}),
    ("tcp port 443", {"web"}),
    ("udp port 443", set()),
    ("dst port 53", {"dns"}),
    ("src port 53", set()),
    ("port 2048", set()),  # ICMP type/code is not a port
    ("portrange 50000-52000", {"web"}),
    ("port 1-100", {"dns"}),
    ("src portrange 39000-40000 or dst port 443", {"web", "dns"}),
    ("host 10.0.0.5", {"web", "ping"}),
    ("src host 10.0.0.1", set()),
    ("dst host 10.0.0.1", {"ping"}),
    ("host 2001:DB8:1:0::53", {"dns"}),
    ("host www.example.com", {"web"}),
    ("host WWW.EXAMPLE.COM", {"web"}),
    ("host *.example.com", {"web"}),
    ("dst host *.example.com", {"web"}),
    ("src host *.example.com", set()),
    ("src host laptop.*", {"web"}),
    ("host 10.0.0.*", {"web", "ping"}),
    ("net 10.0.0.0/8", {"web", "ping"}),
    ("dst net 93.184.0.0/16", {"web"}),
    ("src net 93.184.0.0/16", set()),
    ("net 2001:db8::/32", {"dns"}),
    ("net 2001:db8:1::/48", {"dns"}),
    ("src net 2001:db8:1::/48", set()),
    ("bytes > 1M", {"web"}),
    ("bytes >= 2M", {"web"}),
    ("bytes > 2M", set()),
    ("bytes>1.9Mi", {"web"}),
    ("bytes_rev > 200", {"web", "dns"}),
    ("bytes_total == 420", {"dns"}),
    ("packets < 5", {"dns", "ping"}),
    ("packets_total != 4", {"web", "ping"}),
    ("rate > 10k", {"web"}),
    ("rate > 10Mbps", set()),
    ("avg > 1M", {"web"}),
    ("age > 30s", {"web"}),
    ("age < 1m", {"dns", "ping"}),
    ("duration >= 90", {"web"}),
    ("idle <= 1s", {"ping"}),
    ("process firefox", {"web"}),
    ("process FIRE*", {"web"}),
    ('process "firefox"', {"web"}),
    ("not process *", {"dns"}),
    ("exporter 192.0.2.1", {"dns"}),
    ("source netflow9", {"dns"}),
    ("source capture or source sflow", {"web", "ping"}),
    ("vlan 10", {"web"}),
    ("flags S", {"web"}),
    ("flags SAF", {"web"}),
    ("flags R", set()),
    ("not tcp", {"dns", "ping"}),
    ("! tcp && ! udp", {"ping"}),
    ("tcp || udp", {"web", "dns"}),
    ("(tcp or udp) and not port 53", {"web"}),
    ("tcp or udp and port 53", {"web", "dns"}),  # and binds tighter
    ("not (tcp or icmp)", {"dns"}),
    ("not not tcp", {"web"}),
    ("TCP AND PORT 443", {"web"}),
    ("host 10.0.0.5 and not dst host 10.0.0.1", {"web"}),
]


@pytest.mark.parametrize(("expression", "expected"), TABLE)
def test_expression_matches_expected_flows(expression: str, expected: set[str]) -> None:
    parsed = parse_filter(expression)
    matched = {name for name, flow in FLOWS.items() if parsed.matches(flow, now=NOW)}
    assert matched == expected
    compiled = parsed.compile()
    assert compiled.select(list(FLOWS.values()), NOW) == [
        flow for name, flow in FLOWS.items() if name in expected
    ]
    assert parse_filter(str(parsed)) == parsed


INVALID: list[tuple[str, int, str]] = [
    ("tcp and", 7, "ends too early"),
    ("(tcp", 4, "expected ')'"),
    ("tcp)", 3, "unexpected ')'"),
    ("port", 4, "expected a port number"),
    ("port 65536", 5, "not a port number"),
    ("portrange 10-5", 10, "runs backwards"),
    ("portrange 10", 10, "expected a port range"),
    ("net 10.0.0.0/33", 4, "not a network"),
    ("bytes 5", 6, "expected one of"),
    ("bytes > 5X", 8, "unknown unit"),
    ("age > 5M", 6, "unknown unit"),
    ("bytes > 1e999", 8, "too large"),
    ("proto 256", 6, "protocol number"),
    ("vlan 4096", 5, "VLAN id"),
    ("source pcap", 7, "unknown source"),
    ("exporter router1", 9, "not an IP address"),
    ("flags SX", 6, "not a TCP flag"),
    ("host and", 5, "expected an address"),
    ('process "unterminated', 8, "unterminated quote"),
    ("tcp $ udp", 4, "unexpected '$'"),
    ("src tcp", 4, "expected 'host'"),
    ("tcp udp", 4, "expected 'and', 'or'"),
    ("host a & host b", 7, "unexpected character"),
    ("(" * 100 + "tcp" + ")" * 100, 64, "nested more than"),
]


@pytest.mark.parametrize(("expression", "position", "words"), INVALID)
def test_invalid_expression_names_problem_and_position(
    expression: str, position: int, words: str
) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(expression)
    assert caught.value.position == position
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)
    assert str(caught.value).endswith(f"at position {position}")


def test_filters_are_values() -> None:
    assert parse_filter("tcp  and port 443") == parse_filter("tcp port 443")
    assert hash(parse_filter("proto 6")) == hash(parse_filter("tcp"))
    assert parse_filter("tcp or udp") != parse_filter("udp or tcp")
    assert len({parse_filter("udp"), parse_filter("proto 17"), parse_filter("UDP")}) == 1
    assert parse_filter("").matches_all
    assert not parse_filter("tcp").matches_all


def test_canonical_text_quotes_keywords_and_spaces() -> None:
    assert str(parse_filter('process "Web Content"')) == 'process "web content"'
    assert str(parse_filter('host "port"')) == 'host "port"'
    assert str(parse_filter(r'process "a\"b"')) == r'process "a\"b"'
    assert str(parse_filter("not (tcp and port 1) or udp")) == "not (tcp and port 1) or udp"


def test_hostile_record_addresses_do_not_raise() -> None:
    junk = Facts(FlowRecord(6, "not-an-ip", 1, "\x1b[31m", 2), names=("\x00", ""))
    # Text that is no address matches no address test (and its negation), names nothing.
    expected = {"net 10.0.0.0/8": False, "host 10.0.0.1": False, "host *": True,
                "exporter 1.2.3.4": False, "process x": False, "not net 10.0.0.0/8": True}
    for text, want in expected.items():
        assert parse_filter(text).matches(junk, now=NOW) is want, text
    assert not parse_filter("net 0.0.0.0/0").matches(junk, now=NOW)


def test_ipv6_literal_matches_any_spelling() -> None:
    flow = Facts(FlowRecord(6, "2001:DB8:0::1", 1, "fe80::1%eth0", 2))
    assert parse_filter("src host 2001:db8::1").matches(flow, now=NOW)
    assert parse_filter("host 2001:0db8::0001").matches(flow, now=NOW)
    assert parse_filter("dst host fe80::1%eth0").matches(flow, now=NOW)
    assert not parse_filter("dst host 2001:db8::1").matches(flow, now=NOW)
