"""Syslog messages (RFC 5424 and RFC 3164) from raw bytes to :class:`SyslogMessage`.

The input is hostile: :func:`parse` never raises, whatever the bytes. What cannot be
read as either format is kept whole as the message text (RFC 3164 §4.3.3: a message
without a PRI is user.notice) and flagged ``malformed`` so the receiver counts it.

RFC 3164 timestamps carry neither year nor time zone. The year is the one that puts
the time closest to the receiving time (a "Dec 31 23:59:59" heard on 1 January is last
year's); the zone is the sender's as configured (``syslog.timezone``, default this
host's), or the one written after the time (Cisco's ``*Mar  1 00:00:10.123 UTC:``).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Severity names, RFC 5424 table 2.
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
#: Facility names, RFC 5424 table 1 (Linux names).
FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp",
              "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock", "local0",
              "local1", "local2", "local3", "local4", "local5", "local6", "local7")  # fmt: skip
#: Longest message parsed (RFC 5424 §6.1 asks receivers for 2048 at least; rsyslog 8k).
MAX_MESSAGE = 8192
_MONTHS = {m: i for i, m in enumerate(calendar.month_abbr) if m}
_PRI = re.compile(rb"<(\d{1,3})>")
_RFC5424 = re.compile(
    r"1 (\S+) (\S{1,255}) (\S{1,48}) (\S{1,128}) (\S{1,32}) ?(.*)", re.DOTALL)
_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(Z|[+-]\d\d:\d\d)$")
# Optional Cisco sequence number and "*"/"." (clock not synchronised), month, day,
# optional year, time with optional fraction, optional zone name, optional colon.
_BSD_TIME = re.compile(
    r"(?:\d+: )?[*.]?([A-Z][a-z]{2}) {1,2}(\d{1,2})(?: (\d{4}))? (\d\d):(\d\d):(\d\d)"
    r"(?:\.(\d{1,6}))?(?: ([A-Z]{3,4}))?:? ")
_TAG = re.compile(r"([^\s:\[]{1,48})(?:\[([^\]\s]{1,32})\])?: ?")
_SD_PARAM = re.compile(r' ([^\s=\]"]{1,32})="((?:[^"\\]|\\.)*)"')
_SD_ID = re.compile(r'\[([^\s=\]"]{1,32})')
_UNESCAPE = re.compile(r"\\([\"\\\]])")


@dataclass(frozen=True, slots=True)
class SyslogMessage:
    """One received syslog message; every text field is the sender's, unsanitised."""

    facility: int
    severity: int
    #: When the sender says it happened (UNIX time), None when it does not say.
    ts: float | None
    hostname: str
    app: str
    procid: str
    msgid: str
    #: RFC 5424 structured data: ((sd-id, ((name, value), ...)), ...).
    structured: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    text: str
    rfc: int  # 5424, 3164, or 0 when neither could be read
    malformed: bool = False

    @property
    def facility_name(self) -> str:
        """``kern``, ``local7``... or the number."""
        return FACILITIES[self.facility] if self.facility < len(FACILITIES) else str(self.facility)

    @property
    def severity_name(self) -> str:
        """``err``, ``warning``..."""
        return SEVERITIES[self.severity]


def zone(name: str | None) -> dt.tzinfo | None:
    """The time zone called ``name`` (None: this host's local zone); ValueError if unknown."""
    if not name or name == "local":
        return None
    if name.upper() in ("UTC", "GMT", "Z"):
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def parse(data: bytes, now: float, tz: dt.tzinfo | None = None) -> SyslogMessage:
    """One message. ``now`` is when it arrived (for the missing year); ``tz`` the
    sender's zone for RFC 3164 times without one (None: this host's)."""
    try:
        return _parse(data[:MAX_MESSAGE], now, tz)
    except (ValueError, OverflowError, IndexError):  # defensive: never escape
        return _raw(data[:MAX_MESSAGE], 1, 5, True)


def _raw(data: bytes, facility: int, severity: int, malformed: bool) -> SyslogMessage:
    text = data.decode("utf-8", "replace").rstrip("\r\n\x00")
    return SyslogMessage(facility, severity, None, "", "", "", "", (), text, 0, malformed)


def _parse(data: bytes, now: float, tz: dt.tzinfo | None) -> SyslogMessage:
    pri = _PRI.match(data)
    if pri is None or int(pri.group(1)) > 191 or (len(pri.group(1)) > 1
                                                   and pri.group(1)[0] == 0x30):
        # RFC 3164 §4.3.3: no valid PRI means user.notice and the whole as content.
        return _raw(data, 1, 5, True)
    value = int(pri.group(1))
    facility, severity = value >> 3, value & 7
    rest = data[pri.end():]
    if rest.startswith(b"\xef\xbb\xbf"):
        rest = rest[3:]
    text = rest.decode("utf-8", "replace").rstrip("\r\n\x00")
    if text.startswith("1 "):
        message = _rfc5424(text, facility, severity)
        if message is not None:
            return message
    return _rfc3164(text, facility, severity, now, tz)


def _rfc5424(text: str, facility: int, severity: int) -> SyslogMessage | None:
    head = _RFC5424.match(text)
    if head is None:
        return None
    stamp, host, app, procid, msgid, rest = head.groups()
    ts = None
    malformed = False
    if stamp != "-":
        ts = _iso_time(stamp)
        malformed = ts is None
    structured: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    if rest.startswith("-"):
        rest = rest[2:] if rest.startswith("- ") else rest[1:]
    elif rest.startswith("["):
        rest, structured, ok = _structured(rest)
        malformed = malformed or not ok
    if rest.startswith("\ufeff"):
        rest = rest[1:]
    return SyslogMessage(facility, severity, ts, _nil(host), _nil(app), _nil(procid),
                         _nil(msgid), tuple(structured), rest, 5424, malformed)


def _nil(value: str) -> str:
    return "" if value == "-" else value


def _structured(
    text: str,
) -> tuple[str, list[tuple[str, tuple[tuple[str, str], ...]]], bool]:
    """(message after the SD, the SD elements, whether it was well formed)."""
    elements: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    pos = 0
    while pos < len(text) and text[pos] == "[" and len(elements) < 64:
        sd_id = _SD_ID.match(text, pos)
        if sd_id is None:
            return text[pos:], elements, False
        pos = sd_id.end()
        params: list[tuple[str, str]] = []
        while (param := _SD_PARAM.match(text, pos)) is not None and len(params) < 64:
            params.append((param.group(1), _UNESCAPE.sub(r"\1", param.group(2))))
            pos = param.end()
        if not text.startswith("]", pos):
            return text[pos:], elements, False
        pos += 1
        elements.append((sd_id.group(1), tuple(params)))
    if text.startswith(" ", pos):
        pos += 1
    return text[pos:], elements, True


_last_stamp: list[tuple[str, float | None]] = [("", None)]


def _iso_time(stamp: str) -> float | None:
    # A busy sender stamps many messages with the same time: one conversion for them.
    last = _last_stamp[0]
    if stamp == last[0]:
        return last[1]
    value = _iso_time_uncached(stamp)
    _last_stamp[0] = (stamp, value)
    return value


def _iso_time_uncached(stamp: str) -> float | None:
    match = _ISO.match(stamp)
    if match is None:
        return None
    year, month, day, hour, minute, second, frac, offset = match.groups()
    try:
        when = dt.datetime(int(year), int(month), int(day), int(hour), int(minute),
                           int(second), tzinfo=dt.UTC)  # fmt: skip
    except ValueError:
        return None
    seconds = calendar.timegm(when.timetuple()) + (int(frac.ljust(6, "0")) / 1e6 if frac else 0)
    if offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        seconds -= sign * (int(offset[1:3]) * 3600 + int(offset[4:6]) * 60)
    return seconds


def _rfc3164(text: str, facility: int, severity: int, now: float,
             tz: dt.tzinfo | None) -> SyslogMessage:  # fmt: skip
    stamp = _BSD_TIME.match(text)
    if stamp is None:
        # No timestamp: RFC 3164 §4.3.2 says the content is all there is.
        return SyslogMessage(facility, severity, None, "", "", "", "", (), text, 3164, False)
    month, day, year, hour, minute, second, frac, zone_name = stamp.groups()
    rest = text[stamp.end():]
    ts = _bsd_time(month, day, year, hour, minute, second, frac, zone_name, now, tz)
    host = ""
    # A hostname is one word that is not itself a tag ("sshd[12]:") or a Cisco
    # mnemonic ("%LINK-3-UPDOWN:").
    first, _, after = rest.partition(" ")
    if first and not first.endswith(":") and not first.startswith("%") and "[" not in first:
        host, rest = first, after
    app = procid = ""
    tag = _TAG.match(rest)
    if tag is not None and not rest.startswith("%"):
        app, procid = tag.group(1), tag.group(2) or ""
        rest = rest[tag.end():]
    return SyslogMessage(facility, severity, ts, host, app, procid, "", (), rest, 3164,
                         ts is None)


def _bsd_time(month: str, day: str, year: str | None, hour: str, minute: str, second: str,
              frac: str | None, zone_name: str | None, now: float,
              tz: dt.tzinfo | None) -> float | None:  # fmt: skip
    number = _MONTHS.get(month)
    if number is None:
        return None
    if zone_name in ("UTC", "GMT"):
        tz = dt.UTC
    # tz None: a naive time, which .timestamp() reads as this host's, DST included.
    here = dt.datetime.fromtimestamp(now, tz)
    years = [int(year)] if year else [here.year - 1, here.year, here.year + 1]
    best: float | None = None
    for candidate in years:
        try:
            when = dt.datetime(candidate, number, int(day), int(hour), int(minute),
                               int(second), tzinfo=tz)  # fmt: skip
        except ValueError:
            continue  # 29 February in a year that has none
        seconds = when.timestamp() + (int(frac.ljust(6, "0")) / 1e6 if frac else 0.0)
        if best is None or abs(seconds - now) < abs(best - now):
            best = seconds
    return best
