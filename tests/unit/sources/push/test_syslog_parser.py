"""The syslog parser: both RFCs, the missing year and zone, hostile bytes."""

from __future__ import annotations

import calendar
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from netop.sources.syslog.parser import parse, zone

NOW = calendar.timegm((2026, 11, 30, 12, 0, 0))


def test_rfc5424_with_structured_data_and_bom() -> None:
    raw = (b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 '
           b'[exampleSDID@32473 iut="3" eventSource="Appl\\"ication"][examplePriority@32473 '
           b'class="high"] \xef\xbb\xbfAn application event')
    msg = parse(raw, NOW)
    assert (msg.rfc, msg.facility_name, msg.severity_name) == (5424, "local4", "notice")
    assert msg.ts == calendar.timegm((2003, 10, 11, 22, 14, 15)) + 0.003
    assert (msg.hostname, msg.app, msg.procid, msg.msgid) == (
        "mymachine.example.com", "evntslog", "", "ID47")
    assert msg.structured == (
        ("exampleSDID@32473", (("iut", "3"), ("eventSource", 'Appl"ication'))),
        ("examplePriority@32473", (("class", "high"),)),
    )
    assert msg.text == "An application event"
    assert not msg.malformed


def test_rfc5424_offset_and_nil_values() -> None:
    msg = parse(b"<34>1 2003-10-11T22:14:15.003-07:00 host su - - - 'su root' failed", NOW)
    assert msg.ts == calendar.timegm((2003, 10, 12, 5, 14, 15)) + 0.003
    assert (msg.app, msg.msgid, msg.structured, msg.text) == ("su", "", (), "'su root' failed")
    assert msg.severity_name == "crit"


def test_rfc3164_missing_year_takes_the_nearest_one() -> None:
    new_year = calendar.timegm((2027, 1, 1, 0, 0, 30))
    msg = parse(b"<13>Dec 31 23:59:59 host app[12]: late", new_year, dt.UTC)
    assert msg.ts == calendar.timegm((2026, 12, 31, 23, 59, 59))
    assert (msg.hostname, msg.app, msg.procid, msg.text) == ("host", "app", "12", "late")


def test_rfc3164_sender_zone() -> None:
    msg = parse(b"<13>Nov 30 13:00:00 host app: x", NOW, zone("Europe/Berlin"))
    assert msg.ts == calendar.timegm((2026, 11, 30, 12, 0, 0))


def test_cisco_timestamp_with_its_zone_and_no_host() -> None:
    msg = parse(b"<187>58: *Nov 30 11:59:58.250 UTC: %LINK-3-UPDOWN: Interface Gi0/1, "
                b"changed state to down", NOW, zone("Asia/Tokyo"))
    assert msg.ts == NOW - 1.75
    assert msg.hostname == ""
    assert msg.text.startswith("%LINK-3-UPDOWN: Interface Gi0/1")
    assert msg.severity_name == "err"
    assert msg.facility_name == "local7"


def test_no_pri_is_user_notice_and_counted_as_malformed() -> None:
    msg = parse(b"just text\n", NOW)
    assert (msg.facility_name, msg.severity_name, msg.text, msg.malformed) == (
        "user", "notice", "just text", True)
    assert parse(b"<192>x", NOW).malformed
    assert parse(b"<013>x", NOW).malformed


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_parse_without_raising(data: bytes) -> None:
    msg = parse(data, NOW)
    assert 0 <= msg.severity <= 7
    assert isinstance(msg.text, str)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_after_a_header_parses(text: str) -> None:
    for head in ("<13>1 2026-11-30T12:00:00Z h a p m ", "<13>Nov 30 12:00:00 h ", "<13>1 - - "):
        msg = parse((head + text).encode("utf-8", "surrogatepass"), NOW)
        assert msg.rfc in (0, 3164, 5424)
