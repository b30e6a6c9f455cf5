"""The syslog receiver as a netop source: messages in, events out.

Each message is parsed on the receive thread (RFC 5424 or 3164), matched against the
pattern table and kept as a :class:`~netop.model.NetEvent` in a bounded queue that
:meth:`SyslogSource.poll` drains once per tick. Severity maps as ``emerg``..``err`` →
error, ``warning`` → warning, the rest → info, unless a known message says more (a link
going down is an error whatever level the device gave it).

A flood is coalesced: beyond ``max_events`` in one tick the rest are counted into one
line saying how many and at what rate (a person reads a few lines a second; the
headless command asks for every message). Everything from the network is made safe
text before it leaves this module.
"""

from __future__ import annotations

import argparse
import datetime as dt
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from netop.config import Config, get_float, get_int, get_section, get_str
from netop.errors import ConfigError
from netop.model import NetEvent, Severity, SourceStatus
from netop.sources.base import Emit, Source, SourceItem
from netop.sources.push.guard import SenderGuard, default_allow, known_senders, parse_networks
from netop.sources.push.server import DEFAULT_RCVBUF, PushServer, Reply
from netop.sources.syslog.framing import Framer
from netop.sources.syslog.parser import SyslogMessage, parse, zone
from netop.sources.syslog.patterns import PatternTable, user_patterns
from netop.text import safe_text

DEFAULT_PORT = 514
#: Parsed messages waiting for the next tick; more are dropped and counted.
DEFAULT_QUEUE = 100_000
#: Events shown per tick in the TUI before the rest are summed up in one line.
DEFAULT_MAX_EVENTS = 50
_TEXT_LIMIT = 480


def syslog_severity(level: int) -> Severity:
    """netop's severity for a syslog one (0 emerg .. 7 debug)."""
    if level <= 3:
        return Severity.ERROR
    return Severity.WARNING if level == 4 else Severity.INFO


_SEVERITY = tuple(syslog_severity(level) for level in range(8))


def _safe(text: str, limit: int) -> str:
    """:func:`safe_text`, its common case (short printable ASCII) without the call."""
    if len(text) <= limit and text.isascii() and text.isprintable():
        return text
    return safe_text(text, limit)


class SyslogReceiver:
    """Guard, parse and match one message at a time; thread-confined to the receiver
    thread except :meth:`take`, which swaps the queue under a lock."""

    def __init__(self, guard: SenderGuard, patterns: PatternTable,
                 names: Mapping[str, str] | None = None, tz: dt.tzinfo | None = None,
                 queue_size: int = DEFAULT_QUEUE) -> None:  # fmt: skip
        self.guard = guard
        self.patterns = patterns
        self.names = dict(names or {})
        self.tz = tz
        self.queue_size = queue_size
        self._queue: deque[NetEvent] = deque()
        self._lock = threading.Lock()
        self.received = 0
        self.malformed = 0
        self.queue_full = 0
        self.senders: dict[str, int] = {}

    def handle(self, data: bytes, sender: str, now: float, reply: Reply | None = None) -> None:
        """One message from ``sender`` (an address) arriving at ``now``."""
        self.received += 1
        if not self.guard.admit(sender, now):
            return
        if len(self._queue) >= self.queue_size:
            self.queue_full += 1
            return
        message = parse(data, now, self.tz)
        if message.malformed:
            self.malformed += 1
        if len(self.senders) < 4096 or sender in self.senders:
            self.senders[sender] = self.senders.get(sender, 0) + 1
        event = self.event(message, sender, now)
        with self._lock:
            self._queue.append(event)

    def event(self, message: SyslogMessage, sender: str, now: float) -> NetEvent:
        """The event of one parsed message."""
        who = _safe(self.names.get(sender, sender), 64)
        text = _safe(message.text, _TEXT_LIMIT)
        found = self.patterns.match(message.text)
        details = [("facility", message.facility_name), ("level", message.severity_name),
                   ("address", sender)]  # fmt: skip
        if message.hostname:
            details.append(("hostname", _safe(message.hostname, 64)))
        if message.app:
            details.append(("app", _safe(message.app, 64)))
        if message.procid:
            details.append(("procid", _safe(message.procid, 64)))
        if message.msgid:
            details.append(("msgid", _safe(message.msgid, 64)))
        if message.ts is not None:
            details.append(("sent", f"{message.ts:.3f}"))
        for sd_id, params in message.structured:
            for name, value in params:
                details.append((safe_text(f"{sd_id}.{name}", 80), safe_text(value, 200)))
        severity = _SEVERITY[message.severity]
        kind, interface = "syslog", ""
        if found is not None:
            kind = found.kind
            interface = safe_text(found.interface, 64)
            severity = found.severity if found.severity is not None else severity
            details.append(("pattern", found.pattern))
            details.extend((k, safe_text(v, 120)) for k, v in found.fields)
        app = f" {_safe(message.app, 48)}" if message.app else ""
        return NetEvent(now, severity, "syslog", f"{who}{app}: {text}", kind, who, interface,
                        tuple(details))

    def take(self) -> list[NetEvent]:
        """Everything parsed since the last call, oldest first."""
        with self._lock:
            taken, self._queue = self._queue, deque()
        return list(taken)


class SyslogSource(Source):
    """Receives syslog over UDP and TCP; events each tick, flood coalesced."""

    name = "syslog"

    def __init__(self, listens: Sequence[tuple[str, int]], receiver: SyslogReceiver,
                 max_events: int | None = DEFAULT_MAX_EVENTS, warning: str | None = None,
                 rcvbuf: int = DEFAULT_RCVBUF) -> None:  # fmt: skip
        self.receiver = receiver
        self.server = PushServer("syslog", listens, listens, receiver.handle, Framer, rcvbuf)
        self.max_events = max_events
        self.warning = warning
        self._last: tuple[float, int] | None = None
        self._warned = False
        self._last_drops = 0
        self.rate = 0.0
        #: The highest per-tick rate seen (the summary at the end of a run).
        self.peak = 0.0

    def start(self, emit: Emit | None = None) -> None:
        """Start receiving."""
        self.server.start()

    def describe(self) -> str:
        """``syslog udp+tcp 127.0.0.1:5514``."""
        ports = sorted({f"{h}:{p}" for _, h, p in self.server.addresses})
        return "syslog udp+tcp " + ", ".join(ports)

    def poll(self, now: float) -> list[SourceItem]:
        """This tick's events (at most ``max_events`` one by one) and the status."""
        events = self.receiver.take()
        items: list[SourceItem] = []
        if self.warning is not None and not self._warned:
            self._warned = True
            items.append(NetEvent(now, Severity.WARNING, "syslog", self.warning))
        received = self.receiver.received
        # Over a second at least: a tick of 0.1 s with one message is not "10/s".
        if self._last is None:
            self._last = (now, received)
        elif now - self._last[0] >= 1.0:
            self.rate = (received - self._last[1]) / (now - self._last[0])
            self.peak = max(self.peak, self.rate)
            self._last = (now, received)
        if self.max_events is not None and len(events) > self.max_events:
            shown = events[: self.max_events]
            rest = len(events) - len(shown)
            items.extend(shown)
            items.append(NetEvent(now, Severity.WARNING, "syslog",
                                  f"syslog flood: {rest} more messages this tick not listed "
                                  f"({self.rate:,.0f} msgs/s)", "syslog_flood"))  # fmt: skip
        else:
            items.extend(events)
        drops = self.server.kernel_drops()
        if drops > self._last_drops:
            items.append(NetEvent(now, Severity.WARNING, "syslog",
                                  f"kernel dropped {drops - self._last_drops} syslog datagrams "
                                  "(UDP receive buffer full)"))  # fmt: skip
        self._last_drops = drops
        items.append(SourceStatus(source="syslog", summary=self.summary(drops), ts=now,
                                  rows=tuple(self.rows())))  # fmt: skip
        return items

    def counters(self) -> dict[str, int]:
        """Every counter of the receiver, for the status and ``netop syslog``'s summary."""
        r, g, s = self.receiver, self.receiver.guard, self.server
        return {"received": r.received, "malformed": r.malformed, "refused": g.refused,
                "rate_limited": g.rate_limited, "queue_full": r.queue_full,
                "kernel_drops": s.kernel_drops(), "framing_errors": s.framing_errors,
                "refused_connections": s.refused_connections,
                "parse_errors": s.handler_errors}  # fmt: skip

    def summary(self, drops: int | None = None) -> str:
        """One line: what arrived, at what rate, and what was not used."""
        c = self.counters()
        text = (f"{self.describe()}: {c['received']} msgs ({self.rate:,.0f}/s, "
                f"peak {self.peak:,.0f}/s)")
        for key in ("malformed", "refused", "rate_limited", "queue_full", "kernel_drops",
                    "framing_errors", "parse_errors"):  # fmt: skip
            if c[key]:
                text += f", {c[key]} {key.replace('_', ' ')}"
        return text

    def rows(self) -> list[dict[str, Any]]:
        """Per sender, the messages it sent (the busiest first, at most 50)."""
        top = sorted(self.receiver.senders.items(), key=lambda kv: -kv[1])[:50]
        return [{"sender": self.receiver.names.get(a, a), "address": a, "messages": n}
                for a, n in top]

    def stop(self) -> None:
        """Stop receiving (idempotent)."""
        self.server.stop()


def add_syslog_arguments(parser: argparse.ArgumentParser) -> None:
    """``--syslog [HOST:]PORT`` (repeatable) for the TUI."""
    parser.add_argument(
        "--syslog", action="append", default=[], metavar="[HOST:]PORT",
        help="receive syslog (RFC 5424/3164) on this UDP and TCP port (repeatable; "
        "default host 127.0.0.1)")  # fmt: skip
    parser.add_argument(
        "--syslog-allow", action="append", default=[], metavar="NETWORK[,NETWORK]",
        help="accept syslog only from these networks (overrides syslog.allow)")


def syslog_settings(
    config: Config, listen: Sequence[str], flag: str, allow_args: Sequence[str],
    allow_flag: str,
) -> tuple[list[tuple[str, int]], list[str]]:  # fmt: skip
    """(listen addresses, allow-list) from the flags, else ``[syslog]``."""
    from netop.sources.collector.server import parse_listen

    section = get_section(config.raw, "syslog")
    raw: Any = list(listen) or section.get("listen", [])
    if isinstance(raw, str | int):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError("syslog.listen", 'must be a list of "[HOST:]PORT" strings')
    listens = [parse_listen(str(item), flag if listen else "syslog.listen") for item in raw]
    allow: Any = section.get("allow", [])
    if allow_args:
        allow = [p.strip() for a in allow_args for p in a.split(",") if p.strip()]
    if not isinstance(allow, list):
        raise ConfigError("syslog.allow", "must be a list of addresses or networks")
    return listens, allow


def build_syslog_source(
    config: Config, listen: Sequence[str], allow_args: Sequence[str] = (),
    flag: str = "--syslog", allow_flag: str = "--syslog-allow",
    max_events: int | None = DEFAULT_MAX_EVENTS, names: Mapping[str, str] | None = None,
) -> SyslogSource | None:  # fmt: skip
    """The source the flags and ``[syslog]`` ask for, or None when they ask for none."""
    listens, allow = syslog_settings(config, listen, flag, allow_args, allow_flag)
    if not listens:
        return None
    nets = parse_networks(allow, allow_flag if allow_args else "syslog.allow")
    names = dict(names or {})
    nets, warning = default_allow(listens, nets, names)
    rate = get_float(config.raw, "syslog.rate_limit", 50_000.0, low=1.0, high=10_000_000.0)
    queue = get_int(config.raw, "syslog.queue", DEFAULT_QUEUE, low=100, high=10_000_000)
    rcvbuf = get_int(config.raw, "syslog.rcvbuf", DEFAULT_RCVBUF, low=65536, high=1 << 30)
    try:
        tz = zone(get_str(config.raw, "syslog.timezone", "local"))
    except ValueError as exc:
        raise ConfigError("syslog.timezone", str(exc)) from None
    patterns = PatternTable(user_patterns(get_section(config.raw, "syslog").get("patterns")))
    receiver = SyslogReceiver(SenderGuard(nets, rate), patterns, names, tz, queue)
    return SyslogSource(listens, receiver, max_events, warning, rcvbuf)


def syslog_source_from_args(args: argparse.Namespace, config: Config) -> SyslogSource | None:
    """The TUI's syslog source (``--syslog``), or None."""
    listen = getattr(args, "syslog", None) or []
    if not listen and not get_section(config.raw, "syslog").get("listen"):
        return None
    return build_syslog_source(config, listen, getattr(args, "syslog_allow", None) or [],
                               names=known_senders(config, args))
