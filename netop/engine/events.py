"""The bounded event log and the analyzers that turn interface changes into events."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from netop.model import InterfaceRate, NetEvent, Severity

#: Ticks a drop/error counter must stay still before a new increase is reported again,
#: so that a steady trickle gives one event, not one per second.
REARM_TICKS = 30

_WATCHED = (
    ("rx_drops", "receive drops"),
    ("tx_drops", "transmit drops"),
    ("rx_errors", "receive errors"),
    ("tx_errors", "transmit errors"),
    ("collisions", "collisions"),
)


class EventLog:
    """The most recent ``capacity`` events; memory stays bounded however many arrive."""

    def __init__(self, capacity: int = 1000) -> None:
        self._events: deque[NetEvent] = deque(maxlen=capacity)
        self.total = 0

    def add(self, event: NetEvent) -> None:
        """Record one event."""
        self._events.append(event)
        self.total += 1

    def extend(self, events: Iterable[NetEvent]) -> None:
        """Record several events in order."""
        for event in events:
            self.add(event)

    def recent(self, count: int | None = None) -> tuple[NetEvent, ...]:
        """The last ``count`` events (all kept ones when None), oldest first."""
        events = tuple(self._events)
        return events if count is None else events[-count:]

    def __len__(self) -> int:
        return len(self._events)


class InterfaceWatch:
    """Notices link up/down, interfaces appearing or going, and drops/errors starting."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], InterfaceRate] = {}
        self._quiet: dict[tuple[tuple[str, str], str], int] = {}
        self._primed: set[str] = set()

    def observe(self, origin: str, rates: list[InterfaceRate], now: float) -> list[NetEvent]:
        """Events from one tick's rates of every interface of ``origin``."""
        events: list[NetEvent] = []
        first_look = origin not in self._primed
        self._primed.add(origin)
        seen = set()
        for rate in rates:
            seen.add(rate.key)
            old = self._known.get(rate.key)
            self._known[rate.key] = rate
            if old is None:
                if not first_look:
                    events.append(_event(now, Severity.INFO, rate, "interface appeared"))
            elif old.oper_up is not None and rate.oper_up is not None \
                    and old.oper_up != rate.oper_up:
                if rate.oper_up:
                    events.append(_event(now, Severity.INFO, rate, "link up"))
                else:
                    events.append(_event(now, Severity.ERROR, rate, "link down"))
            events.extend(self._counter_events(rate, now))
        for key in [k for k in self._known if k[0] == origin and k not in seen]:
            gone = self._known.pop(key)
            events.append(_event(now, Severity.WARNING, gone, "interface gone"))
            for field, _ in _WATCHED:
                self._quiet.pop((key, field), None)
        return events

    def forget(self, origin: str) -> None:
        """Drop everything known about ``origin`` (it went silent for good)."""
        self._primed.discard(origin)
        for key in [k for k in self._known if k[0] == origin]:
            del self._known[key]
            for field, _ in _WATCHED:
                self._quiet.pop((key, field), None)

    def _counter_events(self, rate: InterfaceRate, now: float) -> list[NetEvent]:
        events = []
        for field, label in _WATCHED:
            delta = rate.deltas.get(field)
            if delta is None:
                continue
            slot = (rate.key, field)
            quiet = self._quiet.get(slot, REARM_TICKS)
            if delta > 0:
                if quiet >= REARM_TICKS:
                    severity = Severity.ERROR if "errors" in field else Severity.WARNING
                    events.append(_event(now, severity, rate,
                                         f"{label} started increasing (+{delta})"))
                self._quiet[slot] = 0
            else:
                self._quiet[slot] = min(quiet + 1, REARM_TICKS)
        return events


def _event(now: float, severity: Severity, rate: InterfaceRate, message: str) -> NetEvent:
    kind = {"link up": "link_up", "link down": "link_down"}.get(message, "")
    device = "local" if rate.origin == "local" else rate.origin.split(":", 1)[-1]
    return NetEvent(now, severity, rate.origin, f"{rate.label}: {message}", kind,
                    device if kind else "", rate.name if kind else "",
                    row=(rate.origin, rate.name))
