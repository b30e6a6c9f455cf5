"""Property tests: canonical text round-trips; no input raises anything but FilterError."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netop.engine.filter import Facts, FilterError, parse_filter
from netop.model import FlowRecord

_words = st.sampled_from(
    ["example.com", "*.lan", "host-1", "WWW.A.B", "a?c", "[ab]x", "10.0.0.*", "é.example"]
)
_quoted = st.text(min_size=1, max_size=12).map(
    lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
)
_addresses = st.one_of(
    st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(lambda a: a.exploded.upper())
)
_networks = st.tuples(st.ip_addresses(v=4), st.integers(0, 32)).map(lambda t: f"{t[0]}/{t[1]}")
_networks6 = st.tuples(st.ip_addresses(v=6), st.integers(0, 128)).map(lambda t: f"{t[0]}/{t[1]}")
_direction = st.sampled_from(["", "src ", "dst ", "SRC "])
_number = st.tuples(
    st.integers(0, 10**6),
    st.sampled_from(["", ".5", ".25"]),
    st.sampled_from(["", "k", "K", "M", "G", "T", "Ki", "Mi", "Gi", "Mbps", "kbit"]),
).map(lambda t: f"{t[0]}{t[1]}{t[2]}")
_duration = st.tuples(st.integers(0, 10**5), st.sampled_from(["", "s", "ms", "m", "h", "d"])).map(
    lambda t: f"{t[0]}{t[1]}"
)
_op = st.sampled_from(["==", "=", "!=", ">", ">=", "<", "<="])

_primitives = st.one_of(
    st.sampled_from(["tcp", "udp", "icmp", "icmpv6", "sctp", "ip", "ip6", "inet6", "TCP"]),
    st.integers(0, 255).map(lambda n: f"proto {n}"),
    st.tuples(_direction, st.one_of(_words, _quoted, _addresses)).map(
        lambda t: f"{t[0]}host {t[1]}"
    ),
    st.tuples(_direction, st.one_of(_networks, _networks6)).map(lambda t: f"{t[0]}net {t[1]}"),
    st.tuples(_direction, st.integers(0, 65535)).map(lambda t: f"{t[0]}port {t[1]}"),
    st.tuples(_direction, st.integers(0, 65535), st.integers(0, 65535)).map(
        lambda t: f"{t[0]}portrange {min(t[1:])}-{max(t[1:])}"
    ),
    st.tuples(st.sampled_from(["tcp", "udp"]), _direction, st.integers(0, 65535)).map(
        lambda t: f"{t[0]} {t[1]}port {t[2]}"
    ),
    st.tuples(
        st.sampled_from(["bytes", "packets_rev", "rate", "avg", "bytes_total"]), _op, _number
    ).map(" ".join),
    st.tuples(st.sampled_from(["age", "duration", "idle"]), _op, _duration).map(" ".join),
    st.one_of(_words, _quoted).map(lambda w: f"process {w}"),
    st.ip_addresses().map(lambda a: f"exporter {a}"),
    st.sampled_from(["capture", "netflow5", "netflow9", "ipfix", "sflow"]).map(
        lambda s: f"source {s}"
    ),
    st.integers(0, 4095).map(lambda n: f"vlan {n}"),
    st.text(alphabet="FSRPAUECfsa", min_size=1, max_size=4).map(lambda s: f"flags {s}"),
)


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(
            children, st.sampled_from([" and ", " or ", " && ", " || ", " AND "]), children
        ).map("".join),
        children.map(lambda c: f"not {c}"),
        children.map(lambda c: f"!{c}"),
        children.map(lambda c: f"({c})"),
    )


expressions = st.recursive(_primitives, _combine, max_leaves=12)

FLOW = Facts(
    FlowRecord(6, "10.0.0.5", 51000, "93.184.216.34", 443, bytes=5000, first=1.0, last=2.0),
    rate_bps=100.0,
    process="curl",
    names=("", "example.com"),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_canonical_text_parses_back_to_the_same_filter(text: str) -> None:
    parsed = parse_filter(text)
    canonical = str(parsed)
    again = parse_filter(canonical)
    assert again == parsed
    assert str(again) == canonical
    assert parsed.matches(FLOW, now=10.0) == again.matches(FLOW, now=10.0)


@settings(max_examples=300)
@given(expressions)
def test_not_inverts_every_filter(text: str) -> None:
    parsed = parse_filter(text)
    negated = parse_filter(f"not ({text})")
    assert negated.matches(FLOW, now=10.0) != parsed.matches(FLOW, now=10.0)


_tokens = st.sampled_from(
    [
        "tcp",
        "udp",
        "and",
        "or",
        "not",
        "(",
        ")",
        "!",
        "&&",
        "||",
        "host",
        "net",
        "port",
        "portrange",
        "src",
        "dst",
        "bytes",
        ">",
        "<=",
        "==",
        "1M",
        "10.0.0.0/8",
        "443",
        "1-2",
        "process",
        '"',
        "x",
        "vlan",
        "flags",
        "SA",
        "proto",
        "age",
        "30s",
        "exporter",
        "source",
        "sflow",
        "::1",
        "*",
        "\\",
        "=",
        "&",
        "|",
    ]
)


@settings(max_examples=500)
@given(st.one_of(st.text(max_size=60), st.lists(_tokens, max_size=12).map(" ".join)))
def test_random_text_raises_only_filter_error(text: str) -> None:
    error: FilterError | None = None
    try:
        parsed = parse_filter(text)
    except FilterError as exc:
        error = exc
    if error is not None:
        assert 0 <= error.position <= len(text)
        assert "\n" not in str(error)
        return
    got = parsed.matches(FLOW, now=10.0)
    assert isinstance(got, bool)
    assert parse_filter(str(parsed)) == parsed
    # Its negation, through its printed text, says the opposite about the same flow.
    negated = parse_filter(f"not ({parsed})") if not parsed.matches_all else None
    assert got if negated is None else negated.matches(FLOW, now=10.0) is (not got)


def test_flag_letters_that_spell_a_keyword_print_quoted() -> None:
    # Found by the round-trip property: C, R, S print in FSRPAUEC order as "SRC".
    flt = parse_filter("flags CRS")
    assert str(flt) == 'flags "SRC"'
    assert parse_filter(str(flt)) == flt
