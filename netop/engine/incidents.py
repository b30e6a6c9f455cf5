"""Link-down correlation: one incident in the event log instead of lines to match up.

A link going down is told several times: the device's trap (linkDown), its syslog
(``%LINK-3-UPDOWN``), the SNMP poller seeing ifOperStatus change, the engine's own
interface watch, and the interface's traffic falling to nothing. Each arrives on its
own path and clock. This analyzer keys them by (device, interface):

* the first link-down signal opens an incident and is logged as one line, at once;
* later link-down signals for the same key within :data:`WINDOW` seconds are taken
  as evidence, not logged again;
* the interface's rate is watched while the incident is open: a fall from at least
  :data:`TRAFFIC_FLOOR` to under a tenth of it is evidence too;
* one closing line lists the evidence with its times, when every kind of signal the
  incident can have has arrived, when the link comes back, or when the window ends.

Devices are named as the sources name them: a pushed event's ``sender`` (the SNMP
target name when the device is polled), the poller's target name, ``local`` for this
host; interfaces by the name the rows show.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from netop.format import human_rate
from netop.model import InterfaceRate, NetEvent, Severity

#: Seconds signals of one link-down are gathered into one incident.
WINDOW = 30.0
#: Bits per second the link must have carried for a fall to be evidence.
TRAFFIC_FLOOR = 1000.0
_PUSHED = ("traps", "syslog")
_LOOPBACK = ("127.0.0.1", "::1")
_LINK = frozenset(("link_down", "link_up"))
MAX_OPEN = 1024


@dataclass(slots=True)
class _Incident:
    number: int
    opened: float
    device: str
    interface: str
    evidence: dict[str, float] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)
    polled: bool = False


def _key(event: NetEvent) -> tuple[str, str]:
    """(device, interface): a loopback sender of logs or traps is this host (``local``)."""
    local = event.sender in _LOOPBACK and event.source in _PUSHED
    return ("local" if local else event.sender, interface_key(event.interface))


_IF_NAME = re.compile(r"([A-Za-z]+)([-\d].*)")


def interface_key(name: str) -> str:
    """One spelling of an interface name: a device's syslog writes
    ``GigabitEthernet0/1`` where its ifName (and the poller's row) says ``Gi0/1``, so a
    name of letters then a number is keyed by its first two letters and the number
    (``gi0/1``, ``te1/0/1``, ``po1``); any other name as it is."""
    found = _IF_NAME.fullmatch(name)
    if found is None:
        return name
    return found.group(1)[:2].lower() + found.group(2)


def _signal(event: NetEvent) -> str:
    """Which kind of witness an event is: ``trap``, ``syslog``, ``snmp``, ``local``."""
    if event.source == "traps":
        return "trap"
    if event.source == "syslog":
        return "syslog"
    return "snmp" if event.source.startswith("snmp:") else "local"


class LinkIncidents:
    """Turns the link-down signals of one tick into incident lines (see the module)."""

    def __init__(self, window: float = WINDOW, keep_witnesses: bool = False) -> None:
        """``keep_witnesses``: the later witnesses are still logged, marked with their
        incident (a headless stream that must print every message), instead of folded."""
        self.window = window
        self.keep_witnesses = keep_witnesses
        self._open: dict[tuple[str, str], _Incident] = {}
        self._recovered: dict[tuple[str, str], float] = {}
        self._closed: dict[tuple[str, str], bool] = {}
        self._count = 0

    def observe(self, events: list[NetEvent], rates: Mapping[str, Mapping[tuple[str, str],
                InterfaceRate]], now: float) -> list[NetEvent]:  # fmt: skip
        """This tick's events with link-downs folded into incidents."""
        out: list[NetEvent] = []
        for event in events:
            kind = event.kind
            if kind not in _LINK:
                out.append(event)  # the common case, first: a flood is mostly this
                continue
            if kind == "link_down" and event.sender and event.interface:
                out.extend(self._down(event, rates))
            elif event.kind == "link_up" and event.sender and event.interface:
                out.extend(self._up(event))
            else:
                out.append(event)
        for key, incident in list(self._open.items()):
            self._traffic(incident, rates, now)
            if now - incident.opened >= self.window or self._complete(incident):
                del self._open[key]
                if len(incident.evidence) > 1:  # else the opening line said it all
                    out.append(self._closing(incident, now, ""))
                    self._closed[key] = True
                    while len(self._closed) > MAX_OPEN:
                        del self._closed[next(iter(self._closed))]
        return out

    def _down(self, event: NetEvent, rates: Mapping[str, Mapping[tuple[str, str],
              InterfaceRate]]) -> list[NetEvent]:  # fmt: skip
        key = _key(event)
        witness = _signal(event)
        incident = self._open.get(key)
        if incident is not None:
            incident.evidence.setdefault(witness, event.ts)
            if witness in ("snmp", "local"):
                incident.interface = event.interface  # the name its row has
            return [self._marked(event, incident.number)] if self.keep_witnesses else []
        if len(self._open) >= MAX_OPEN:
            return [event]  # a storm of spoofed link-downs: no more correlation state
        self._count += 1
        incident = _Incident(self._count, event.ts, key[0], event.interface,
                             {witness: event.ts})  # fmt: skip
        incident.polled = f"snmp:{key[0]}" in rates or (key[0] == "local" and "local" in rates)
        self._open[key] = incident
        # The first witness's own line, as it would be without correlation: the
        # incident number ties the closing line to it.
        return [self._marked(event, incident.number)]

    @staticmethod
    def _marked(event: NetEvent, number: int) -> NetEvent:
        return replace(event, details=(*event.details, ("incident", str(number))))

    def _up(self, event: NetEvent) -> list[NetEvent]:
        """The link is back: the incident's closing line, once for all its witnesses."""
        key = _key(event)
        incident = self._open.pop(key, None)
        if incident is not None:
            self._remember(key, event.ts)
            if len(incident.evidence) == 1:
                return [event]  # one witness down, one up: its own lines say it all
            back = (f"link back up after {event.ts - incident.opened:.0f} s "
                    f"(first seen by {_signal(event)})")
            return [self._closing(incident, event.ts, back)]
        since = self._recovered.get(key)
        if since is not None and event.ts - since < self.window:
            # another witness of the same recovery
            return [event] if self.keep_witnesses else []
        self._recovered.pop(key, None)
        if self._closed.pop(key, False):
            # The incident was summed up already: this first witness of the recovery is
            # shown, the others are folded into it.
            self._remember(key, event.ts)
        return [event]

    def _remember(self, key: tuple[str, str], ts: float) -> None:
        self._recovered[key] = ts
        while len(self._recovered) > MAX_OPEN:
            del self._recovered[next(iter(self._recovered))]

    def _traffic(self, incident: _Incident, rates: Mapping[str, Mapping[tuple[str, str],
                 InterfaceRate]], now: float) -> None:  # fmt: skip
        if "traffic" in incident.evidence:
            return
        origin = "local" if incident.device == "local" else f"snmp:{incident.device}"
        rows = rates.get(origin, {})
        row = rows.get((origin, incident.interface))
        if row is None:
            wanted = interface_key(incident.interface)
            row = next((r for r in rows.values() if interface_key(r.name) == wanted), None)
        if row is None:
            return
        history = [rx + tx for rx, tx in zip(row.rx_history, row.tx_history, strict=False)]
        if len(history) < 2:
            return
        before = max(history[:-1][-10:])
        current = history[-1]
        if before >= TRAFFIC_FLOOR and current < before / 10:
            incident.evidence["traffic"] = now
            incident.details.append(f"traffic fell {human_rate(before)} -> {human_rate(current)}")

    def _complete(self, incident: _Incident) -> bool:
        """Every witness this incident can have has spoken (a device that is not polled
        may still send both a trap and a syslog line: its incident waits the window)."""
        pushed = any(w in incident.evidence for w in ("trap", "syslog"))
        watched = "snmp" if incident.device != "local" else "local"
        return (incident.polled and pushed and watched in incident.evidence
                and "traffic" in incident.evidence)

    def _closing(self, incident: _Incident, now: float, why: str) -> NetEvent:
        seen = ", ".join(f"{w} {time.strftime('%H:%M:%S', time.localtime(ts))}"
                         for w, ts in sorted(incident.evidence.items(), key=lambda kv: kv[1]))
        extra = "; ".join(incident.details + ([why] if why else []))
        message = (f"incident #{incident.number}: {incident.device} {incident.interface} "
                   f"link down, seen by {seen}" + (f"; {extra}" if extra else ""))
        return NetEvent(now, Severity.ERROR if not why else Severity.INFO, "incident", message,
                        "incident_summary", incident.device, incident.interface,
                        (("incident", str(incident.number)),
                         *((w, f"{ts:.3f}") for w, ts in incident.evidence.items())))
