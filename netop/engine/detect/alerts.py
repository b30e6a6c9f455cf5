"""Deduplication and acknowledgement: one alert per (kind, entity) while it lasts.

A detector that keeps firing about the same thing (a scan that goes on, a flood that
lasts a minute) updates one alert — last seen, count, latest value — instead of
paging again every tick. An alert not fired for ``clear_after`` seconds stops being
active; it stays among the recent ones (bounded) and a later firing is a new alert.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

from netop.model import Alert, AlertSeverity

#: Seconds within which two alerts about the same subject are one correlated event.
CORRELATE_WINDOW = 120.0


def subjects(alert: Alert, paths: frozenset[str] = frozenset()) -> set[str]:
    """What an alert is about, for correlation: an interface ("eth0" of "eth0 rx"), or
    the addresses of its entity and flow — and, for a flow's alert or a host's or
    service's KPI alert (measured on the captured flows), ``paths``: the interface its
    flows are captured on, when that is known (one interface)."""
    if alert.kind == "baseline":
        return {alert.entity.rsplit(" ", 1)[0]}
    out = {part for part in alert.entity.replace("→", " ").split() if part}
    if alert.flow is not None:
        out |= {alert.flow.src, alert.flow.dst}
    if alert.flow is not None or alert.kind == "kpi_baseline":
        out |= paths
    return out


def _family(alert: Alert) -> str:
    """The kind, with interface baselines split into rates and drops/errors (a rate
    spike seen in both bit/s and packets/s is one thing, not two)."""
    if alert.kind == "baseline":
        metric = alert.entity.rsplit(" ", 1)[-1]
        return ("baseline-loss" if metric in ("drops", "errors", "qdisc_drops")
                else "baseline-rate")
    return alert.kind


def correlate(new: Alert, active: list[Alert],
              paths: frozenset[str] = frozenset()) -> Alert | None:
    """One correlated alert when ``new`` and another active alert of a different family
    (a KPI or rate alert beside a drops/errors alert, a scan beside a flood) concern the
    same subject within ``CORRELATE_WINDOW`` seconds (``paths``: see :func:`subjects`)."""
    family = _family(new)
    if new.severity < AlertSeverity.WARNING:
        return None  # a note (a never-seen destination) makes no warning of its own
    for other in active:
        if (other.kind == "correlated" or _family(other) == family
                or other.severity < AlertSeverity.WARNING):
            continue
        if abs(new.ts - other.ts) > CORRELATE_WINDOW:
            continue
        # The capture interface links a flow's alert to that interface's drops or
        # errors only (a scan beside a rate spike is no finding of its own).
        via = paths if "baseline-loss" in (family, _family(other)) else frozenset()
        shared = subjects(new, via) & subjects(other, via)
        if shared:
            subject = sorted(shared)[0]
            first, second = sorted((other, new), key=lambda a: (a.kind, a.entity))
            if shared & via:  # "retrans to X up ... while veth1 drops rose"
                first, second = sorted((other, new), key=lambda a: a.kind == "baseline")
            return Alert(ts=new.ts, kind="correlated",
                         severity=max(new.severity, other.severity, AlertSeverity.WARNING),
                         entity=subject, flow=new.flow or other.flow,
                         community_id=new.community_id or other.community_id,
                         message=f"{subject}: {first.message} while {second.message}")
    return None


class AlertBook:
    """Active and recent alerts, deduplicated, with their acknowledgement state."""

    def __init__(self, clear_after: float = 60.0, keep: int = 200) -> None:
        self.clear_after = clear_after
        self.keep = keep
        self._alerts: OrderedDict[tuple[str, str], Alert] = OrderedDict()
        self.total = 0
        #: Correlated alerts made by :meth:`fire`, for the detector to fire in turn.
        self.pending: list[Alert] = []
        #: The interface every flow is captured on (set when exactly one is): a flow's
        #: alert then also concerns it, and correlates with its drops or errors.
        self.paths: frozenset[str] = frozenset()

    def fire(self, alert: Alert) -> Alert | None:
        """Record a firing; the alert when it is new (to be sent), None for a repeat."""
        old = self._alerts.get(alert.key)
        if old is not None and old.active:
            self._alerts[alert.key] = replace(
                alert, first=old.first, count=old.count + 1, acked=old.acked,
                flow=alert.flow or old.flow,
                community_id=alert.community_id or old.community_id)
            self._alerts.move_to_end(alert.key)
            return None
        fresh = replace(alert, first=alert.ts, count=1, acked=False, active=True)
        if alert.kind != "correlated":
            linked = correlate(fresh, [a for a in self._alerts.values() if a.active],
                               self.paths)
            if linked is not None:
                self.pending.append(linked)
        self._alerts.pop(alert.key, None)
        self._alerts[alert.key] = fresh
        self.total += 1
        while len(self._alerts) > self.keep:
            self._alerts.popitem(last=False)
        return fresh

    def age(self, now: float) -> None:
        """Alerts quiet for ``clear_after`` are no longer active."""
        for key, alert in self._alerts.items():
            if alert.active and now - alert.ts >= self.clear_after:
                self._alerts[key] = replace(alert, active=False)

    def acknowledge(self, key: tuple[str, str]) -> bool:
        """Mark an alert acknowledged (it stays listed); whether it was there."""
        alert = self._alerts.get(key)
        if alert is None:
            return False
        self._alerts[key] = replace(alert, acked=True)
        return True

    def alerts(self) -> tuple[Alert, ...]:
        """Active ones first, then recent ones; newest first within each."""
        newest = list(reversed(self._alerts.values()))
        return tuple([a for a in newest if a.active] + [a for a in newest if not a.active])
