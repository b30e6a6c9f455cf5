"""Where ``Enter`` on an event log line goes: the Interfaces row the event is about and,
for a flow's event, the filter that shows just that flow."""

from __future__ import annotations

from collections.abc import Iterable

from netop.engine.drill import flow_filter
from netop.model import InterfaceRate, NetEvent


def interface_row(event: NetEvent, interfaces: Iterable[InterfaceRate]) -> str | None:
    """The Interfaces pane's row key (``origin\\0name``) of the interface ``event`` is
    about, when that row is shown; ``None`` otherwise.

    An event may name its row (``NetEvent.row``: counter and link events); a pushed one
    (syslog, trap) names the interface and its sender: the row of that name on the SNMP
    target of that name, or a local one when the sender is this host.
    """
    rows = [(r.origin, r.name) for r in interfaces]
    if event.row is not None:
        return _key(*event.row) if event.row in rows else None
    if not event.interface:
        return None
    named = [(o, n) for o, n in rows if n == event.interface]
    for origin, name in named:
        device = "local" if origin == "local" else origin.split(":", 1)[-1]
        if device == event.sender or (origin == "local" and event.sender in ("", "local")):
            return _key(origin, name)
    return None


def flow_clause(event: NetEvent) -> str:
    """The filter that selects the flow ``event`` is about (empty: none)."""
    return flow_filter(event.flow) if event.flow is not None else ""


def _key(origin: str, name: str) -> str:
    # The row keys of netop.ui.panes.interfaces.
    return f"{origin}\0{name}"
