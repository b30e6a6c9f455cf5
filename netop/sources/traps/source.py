"""SNMP traps and informs (v1, v2c, v3) as a netop source: notifications in, events out.

The well-known notifications are decoded into what they mean: linkDown/linkUp with
the interface (its ifIndex resolved to the name the SNMP poller knows when the device
is also polled), coldStart, warmStart, authenticationFailure. Any other is shown as
its numeric trap OID with its varbinds (netop ships no MIBs). Informs are acknowledged
at once from the receive thread. Bad input (malformed, unknown community or user, bad
digest) is counted per reason and never shown.
"""

from __future__ import annotations

import argparse
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from netop.config import Config, get_float, get_int, get_section, get_str
from netop.errors import ConfigError
from netop.model import NetEvent, Severity, SourceStatus
from netop.sources.base import Emit, Source, SourceItem
from netop.sources.push.guard import SenderGuard, default_allow, known_senders, parse_networks
from netop.sources.push.server import DEFAULT_RCVBUF, PushServer, Reply
from netop.sources.snmp.ber import BerError
from netop.sources.traps.pdu import (
    INFORM,
    SNMP_TRAPS,
    Notification,
    community_response,
    decode_community,
    oid_text,
    value_text,
)
from netop.sources.traps.usm import UsmReceiver, parse_engine_id, users_from_config
from netop.text import safe_text

DEFAULT_PORT = 162
DEFAULT_QUEUE = 100_000
DEFAULT_MAX_EVENTS = 50
#: (kind, name, severity) of the standard notifications (RFC 3418 snmpTraps, RFC 2863).
KNOWN = {
    1: ("cold_start", "coldStart", Severity.WARNING),
    2: ("warm_start", "warmStart", Severity.WARNING),
    3: ("link_down", "linkDown", Severity.ERROR),
    4: ("link_up", "linkUp", Severity.INFO),
    5: ("auth_failure", "authenticationFailure", Severity.WARNING),
}
_IF_INDEX = (1, 3, 6, 1, 2, 1, 2, 2, 1, 1)
_IF_DESCR = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)
_IF_ADMIN = (1, 3, 6, 1, 2, 1, 2, 2, 1, 7)
_IF_OPER = (1, 3, 6, 1, 2, 1, 2, 2, 1, 8)
_IF_NAME = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)
_STATUS = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent",
           7: "lowerLayerDown"}  # fmt: skip
_MAX_SHOWN_VARBINDS = 12
#: (sender address, ifIndex) -> interface name, from the SNMP poller when it polls it.
IfResolver = Callable[[str, int], str | None]


class TrapReceiver:
    """Guard, decode, acknowledge; events queued for the next tick (receive thread)."""

    def __init__(self, guard: SenderGuard, usm: UsmReceiver | None = None,
                 communities: Sequence[str] = (), names: Mapping[str, str] | None = None,
                 resolver: IfResolver | None = None,
                 queue_size: int = DEFAULT_QUEUE) -> None:  # fmt: skip
        self.guard = guard
        self.usm = usm
        self.communities = {c.encode() for c in communities}
        self.names = dict(names or {})
        self.resolver = resolver
        self.queue_size = queue_size
        self._queue: deque[NetEvent] = deque()
        self._lock = threading.Lock()
        self.received = 0
        self.notifications = 0
        self.informs = 0
        self.queue_full = 0
        #: Messages dropped, by reason (malformed, bad_community, bad_digest...).
        self.dropped: Counter[str] = Counter()

    def handle(self, data: bytes, sender: str, now: float, reply: Reply | None = None) -> None:
        """One datagram from ``sender``."""
        self.received += 1
        if not self.guard.admit(sender, now):
            return
        user = ""
        try:
            decoded = decode_community(data)
        except BerError:
            self.dropped["malformed"] += 1
            return
        if isinstance(decoded, int):
            if decoded != 3 or self.usm is None:
                self.dropped["no_v3_users" if decoded == 3 else "bad_version"] += 1
                return
            result = self.usm.receive(data)
            if result.answer is not None and reply is not None:
                reply(result.answer)
            if result.notification is None:
                if result.dropped != "discovery":
                    self.dropped[result.dropped or "malformed"] += 1
                return
            note, version, user = result.notification, 3, result.user
        else:
            version, community, note = decoded
            if self.communities and community not in self.communities:
                self.dropped["bad_community"] += 1
                return
            if note.pdu == INFORM and reply is not None:
                reply(community_response(version, community, note))
        self.notifications += 1
        self.informs += note.pdu == INFORM
        if len(self._queue) >= self.queue_size:
            self.queue_full += 1
            return
        event = self.event(note, sender, now, user)
        with self._lock:
            self._queue.append(event)

    def event(self, note: Notification, sender: str, now: float, user: str = "") -> NetEvent:
        """The event of one notification."""
        who = safe_text(self.names.get(sender, sender), 64)
        version = {0: "v1", 1: "v2c", 3: "v3"}[note.version]
        what = "inform" if note.pdu == INFORM else "trap"
        details: list[tuple[str, str]] = [("address", sender), ("version", version),
                                          ("pdu", what), ("trap_oid", oid_text(note.trap_oid))]
        if user:
            details.append(("user", safe_text(user, 64)))
        if note.uptime is not None:
            details.append(("uptime", str(note.uptime)))
        if note.agent_address:
            details.append(("agent_address", note.agent_address))
        shown: list[str] = []
        for oid, _, value in note.varbinds:
            text = safe_text(value_text(_, value), 120)
            details.append((oid_text(oid), text))
            if len(shown) < _MAX_SHOWN_VARBINDS:
                shown.append(f"{oid_text(oid)}={text}")
        known = KNOWN.get(note.trap_oid[-1]) if note.trap_oid[:-1] == SNMP_TRAPS else None
        if known is None:
            more = len(note.varbinds) - len(shown)
            message = (f"{who}: {what} {oid_text(note.trap_oid)}"
                       + (f" {', '.join(shown)}" if shown else "")
                       + (f" (+{more} more)" if more > 0 else ""))  # fmt: skip
            return NetEvent(now, Severity.INFO, "traps", message, "trap", who, "",
                            tuple(details))  # fmt: skip
        kind, name, severity = known
        interface = ""
        if kind in ("link_down", "link_up"):
            interface, states = self._interface(note, sender)
            message = f"{who}: {name} {interface or '(no ifIndex)'}{states}"
        else:
            message = f"{who}: {name}"
        return NetEvent(now, severity, "traps", message, kind, who, interface, tuple(details))

    def _interface(self, note: Notification, sender: str) -> tuple[str, str]:
        """(interface name or ``ifIndex N``, `` (admin up, oper down)``)."""
        index = None
        name = ""
        admin = oper = None
        for oid, _, value in note.varbinds:
            column, suffix = oid[:-1], oid[-1]
            if column == _IF_INDEX and isinstance(value, int):
                index = value
            elif column in (_IF_NAME, _IF_DESCR) and isinstance(value, bytes) and not name:
                name = safe_text(value, 64)
                index = index if index is not None else suffix
            elif column == _IF_ADMIN and isinstance(value, int):
                admin, index = value, index if index is not None else suffix
            elif column == _IF_OPER and isinstance(value, int):
                oper, index = value, index if index is not None else suffix
        if index is not None and self.resolver is not None:
            polled = self.resolver(sender, index)
            name = safe_text(polled, 64) if polled else name
        if not name and index is not None:
            name = f"ifIndex {index}"
        states = []
        if admin is not None:
            states.append(f"admin {_STATUS.get(admin, admin)}")
        if oper is not None:
            states.append(f"oper {_STATUS.get(oper, oper)}")
        return name, f" ({', '.join(states)})" if states else ""

    def take(self) -> list[NetEvent]:
        """Everything decoded since the last call, oldest first."""
        with self._lock:
            taken, self._queue = self._queue, deque()
        return list(taken)


class TrapSource(Source):
    """Receives SNMP notifications on UDP; events each tick, a flood coalesced."""

    name = "traps"

    def __init__(self, listens: Sequence[tuple[str, int]], receiver: TrapReceiver,
                 max_events: int | None = DEFAULT_MAX_EVENTS, warning: str | None = None,
                 rcvbuf: int = DEFAULT_RCVBUF) -> None:  # fmt: skip
        self.receiver = receiver
        self.server = PushServer("traps", listens, (), receiver.handle, None, rcvbuf)
        self.max_events = max_events
        self.warning = warning
        self._last: tuple[float, int] | None = None
        self._warned = False
        self.rate = 0.0
        #: The highest per-tick rate seen (the summary at the end of a run).
        self.peak = 0.0

    def start(self, emit: Emit | None = None) -> None:
        """Start receiving."""
        self.server.start()

    def set_resolver(self, resolver: IfResolver) -> None:
        """Resolve ifIndexes with the SNMP poller's interface names."""
        self.receiver.resolver = resolver

    def describe(self) -> str:
        """``traps udp 127.0.0.1:162``."""
        return "traps udp " + ", ".join(f"{h}:{p}" for _, h, p in self.server.addresses)

    def poll(self, now: float) -> list[SourceItem]:
        """This tick's events (at most ``max_events`` one by one) and the status."""
        events = self.receiver.take()
        items: list[SourceItem] = []
        if self.warning is not None and not self._warned:
            self._warned = True
            items.append(NetEvent(now, Severity.WARNING, "traps", self.warning))
        received = self.receiver.received
        # Over a second at least: a tick of 0.1 s with one message is not "10/s".
        if self._last is None:
            self._last = (now, received)
        elif now - self._last[0] >= 1.0:
            self.rate = (received - self._last[1]) / (now - self._last[0])
            self.peak = max(self.peak, self.rate)
            self._last = (now, received)
        if self.max_events is not None and len(events) > self.max_events:
            items.extend(events[: self.max_events])
            items.append(NetEvent(now, Severity.WARNING, "traps",
                                  f"trap flood: {len(events) - self.max_events} more "
                                  f"notifications this tick not listed ({self.rate:,.0f}/s)",
                                  "trap_flood"))  # fmt: skip
        else:
            items.extend(events)
        items.append(SourceStatus(source="traps", summary=self.summary(), ts=now))
        return items

    def counters(self) -> dict[str, int]:
        """Every counter, for the status line and ``netop traps``' summary."""
        r = self.receiver
        return {"received": r.received, "notifications": r.notifications,
                "informs": r.informs, "refused": r.guard.refused,
                "rate_limited": r.guard.rate_limited, "queue_full": r.queue_full,
                "kernel_drops": self.server.kernel_drops(),
                "decode_errors": self.server.handler_errors,
                **{f"dropped_{k}": v for k, v in sorted(r.dropped.items())}}  # fmt: skip

    def summary(self) -> str:
        """One line: what arrived and what was dropped, by reason."""
        c = self.counters()
        text = (f"{self.describe()}: {c['notifications']} notifications "
                f"({c['informs']} informs acknowledged), {self.rate:,.0f} msgs/s "
                f"(peak {self.peak:,.0f}/s)")
        for key, value in c.items():
            if key not in ("received", "notifications", "informs") and value:
                text += f", {value} {key.replace('_', ' ')}"
        return text

    def stop(self) -> None:
        """Stop receiving (idempotent)."""
        self.server.stop()


def add_trap_arguments(parser: argparse.ArgumentParser) -> None:
    """``--traps [HOST:]PORT`` (repeatable) for the TUI."""
    parser.add_argument(
        "--traps", action="append", default=[], metavar="[HOST:]PORT",
        help="receive SNMP traps and informs on this UDP port (repeatable; default host "
        "127.0.0.1; v3 users in [[traps.users]])")  # fmt: skip
    parser.add_argument(
        "--traps-allow", action="append", default=[], metavar="NETWORK[,NETWORK]",
        help="accept notifications only from these networks (overrides traps.allow)")


def build_trap_source(
    config: Config, listen: Sequence[str], allow_args: Sequence[str] = (),
    flag: str = "--traps", allow_flag: str = "--traps-allow",
    max_events: int | None = DEFAULT_MAX_EVENTS, names: Mapping[str, str] | None = None,
) -> TrapSource | None:  # fmt: skip
    """The source the flags and ``[traps]`` ask for, or None when they ask for none."""
    from netop.sources.collector.server import parse_listen

    section = get_section(config.raw, "traps")
    raw: Any = list(listen) or section.get("listen", [])
    if isinstance(raw, str | int):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError("traps.listen", 'must be a list of "[HOST:]PORT" strings')
    listens = [parse_listen(str(item), flag if listen else "traps.listen") for item in raw]
    if not listens:
        return None
    allow: Any = section.get("allow", [])
    if allow_args:
        allow = [p.strip() for a in allow_args for p in a.split(",") if p.strip()]
    if not isinstance(allow, list):
        raise ConfigError("traps.allow", "must be a list of addresses or networks")
    nets = parse_networks(allow, allow_flag if allow_args else "traps.allow")
    names = dict(names or {})
    nets, warning = default_allow(listens, nets, names)
    communities: Any = section.get("communities", [])
    if not isinstance(communities, list) or not all(isinstance(c, str) for c in communities):
        raise ConfigError("traps.communities", "must be a list of strings")
    users, warnings = users_from_config(section.get("users"))
    engine_text = get_str(config.raw, "traps.engine_id", "")
    engine_id = parse_engine_id(engine_text, "traps.engine_id") if engine_text else None
    usm = UsmReceiver(users, engine_id) if users else None
    rate = get_float(config.raw, "traps.rate_limit", 20_000.0, low=1.0, high=10_000_000.0)
    queue = get_int(config.raw, "traps.queue", DEFAULT_QUEUE, low=100, high=10_000_000)
    receiver = TrapReceiver(SenderGuard(nets, rate), usm, communities, names, None, queue)
    if warnings:
        warning = "; ".join(([warning] if warning else []) + warnings)
    return TrapSource(listens, receiver, max_events, warning)


def trap_source_from_args(args: argparse.Namespace, config: Config) -> TrapSource | None:
    """The TUI's trap source (``--traps``), or None."""
    listen = getattr(args, "traps", None) or []
    if not listen and not get_section(config.raw, "traps").get("listen"):
        return None
    return build_trap_source(config, listen, getattr(args, "traps_allow", None) or [],
                             names=known_senders(config, args))
