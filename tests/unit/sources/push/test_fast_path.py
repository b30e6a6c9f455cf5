"""The syslog receiver's fast path: the common RFC 5424 message read in one match must
make exactly the event the general parser makes, and everything else must fall back."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netop.model import NetEvent
from netop.sources.push.guard import SenderGuard
from netop.sources.syslog.parser import parse
from netop.sources.syslog.patterns import Pattern, PatternTable
from netop.sources.syslog.source import SyslogReceiver

NOW = 1_764_504_000.25
BENCH = (b"<189>1 2026-11-30T12:00:00.000Z edge1 bench 10 ID3 - bench 10 "
         b"%LINK-3-UPDOWN: Interface Gi0/10, changed state to down")  # fmt: skip


def _receiver(patterns: PatternTable | None = None) -> SyslogReceiver:
    return SyslogReceiver(SenderGuard(), patterns or PatternTable(), {"192.0.2.1": "edge1"})


def _general(receiver: SyslogReceiver, data: bytes, sender: str) -> NetEvent:
    return receiver.event(parse(data, NOW), sender, NOW)


def test_the_common_message_takes_the_fast_path_and_matches_the_general_one() -> None:
    receiver = _receiver()
    fast = receiver.fast_event(BENCH, "192.0.2.1", NOW)
    assert fast is not None
    assert fast == _general(receiver, BENCH, "192.0.2.1")
    assert fast.kind == "link_down"
    assert fast.interface == "Gi0/10"
    assert fast.message.startswith("edge1 bench: bench 10 %LINK-3-UPDOWN")


def test_what_the_fast_path_leaves_alone() -> None:
    receiver = _receiver()
    for data in (
        b"<189>1 - h a p m [x@1 k=\"v\"] text",  # structured data
        b"<192>1 - h a p m - text",  # PRI out of range
        b"<05>1 - h a p m - text",  # leading zero
        b"<13>Nov 30 12:00:00 host app: text",  # RFC 3164
        b"<13>1 - h a p m - line\nbreak",  # a control character in the text
        b"<13>1 - " + b"h" * 65 + b" a p m - text",  # hostname longer than shown
    ):
        assert receiver.fast_event(data, "127.0.0.1", NOW) is None, data


def test_a_bad_time_is_counted_as_malformed_on_both_paths() -> None:
    receiver = _receiver()
    data = b"<13>1 2026-13-45T99:00:00Z h a p m - text"
    receiver.handle(data, "127.0.0.1", NOW)
    assert receiver.malformed == 1 == int(parse(data, NOW).malformed)


def test_a_user_pattern_without_a_hint_is_still_tried() -> None:
    import re

    user = Pattern("mine", re.compile(r"DENY (?P<src>\S+)"), "firewall")
    receiver = _receiver(PatternTable([user]))
    event = receiver.fast_event(b"<13>1 - fw app - - - DENY 10.0.0.1", "127.0.0.1", NOW)
    assert event is not None
    assert event.kind == "firewall"


_WORD = st.sampled_from(["-", "h", "edge1", "a" * 48, "a" * 49, "p" * 64, "p" * 65, "m" * 32,
                         "m" * 33, "x]", "é", "a\x1fb", "[", "\"q\""])  # fmt: skip
_STAMP = st.sampled_from(["-", "2026-11-30T12:00:00.000Z", "2026-11-30T12:00:00+02:00",
                          "2026-02-30T12:00:00Z", "yesterday", "2026-11-30T12:00:00.1234567Z"])
_PRI = st.sampled_from(["0", "13", "189", "191", "192", "05", "999", ""])
_TEXT = st.one_of(
    st.sampled_from(["", " ", "%LINK-3-UPDOWN: Interface Gi0/1, changed state to up",
                     "%BGP-5-ADJCHANGE: neighbor 192.0.2.1 Down Peer closed",
                     "eth0: Link is Down", "x" * 600, "\ufeffbom", "a\r\n", "a\x00",
                     "[red]markup[/red]", "tab\there"]),
    st.text(max_size=40),
)  # fmt: skip
_SD = st.sampled_from(["", " -", " - ", " -x", " [a@1 b=\"c\"]", "  -"])


@settings(max_examples=400)
@given(_PRI, _STAMP, _WORD, _WORD, _WORD, _WORD, _SD, _TEXT)
def test_fast_path_equals_general_path(pri: str, stamp: str, host: str, app: str,
                                       procid: str, msgid: str, sd: str,
                                       text: str) -> None:  # fmt: skip
    data = f"<{pri}>1 {stamp} {host} {app} {procid} {msgid}{sd}{text}".encode()
    receiver = _receiver()
    fast = receiver.fast_event(data, "192.0.2.1", NOW) if data.isascii() else None
    if fast is not None:
        assert fast == _general(receiver, data, "192.0.2.1")
        assert receiver.malformed == int(parse(data, NOW).malformed)


@given(st.binary(max_size=300))
def test_fast_path_never_raises_and_agrees_on_any_bytes(data: bytes) -> None:
    receiver = _receiver()
    fast = receiver.fast_event(data, "127.0.0.1", NOW) if data.isascii() else None
    if fast is not None:
        assert fast == _general(receiver, data, "127.0.0.1")


def test_event_json_lines_stay_exact_when_their_detail_pairs_repeat() -> None:
    import json

    from netop.commands.output import _EVENT_PAIRS, event_json_line, json_line
    from netop.model import Severity

    for n in range(5000):  # more pairs than are remembered: the memory is bounded
        details = (("level", "notice"), ("procid", str(n)), ("level", f"x{n % 3}"))
        event = NetEvent(NOW, Severity.INFO, "syslog", "m", "syslog", "r1", "", details)
        line = event_json_line(event)
        assert line == json_line(event.to_json())
        assert json.loads(line)["details"] == {"level": f"x{n % 3}", "procid": str(n)}
    assert len(_EVENT_PAIRS) <= 4096
