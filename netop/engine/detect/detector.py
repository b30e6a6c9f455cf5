"""The engine's detection: attacks, watchlist and baselines, deduplicated into alerts.

:class:`Detector` is called from :meth:`netop.engine.engine.Engine.tick` with the
tick's interface rates and the flows that moved; :meth:`Detector.finish_tick` returns
the alerts that fired in that tick (new ones, not repeats of an active alert).
"""

from __future__ import annotations

import functools
import queue
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from netop.engine.detect.alerts import AlertBook
from netop.engine.detect.attacks import AttackDetector, Entry
from netop.engine.detect.baseline import DesBaseline, RobustBaseline, Verdict
from netop.engine.detect.kpi_baselines import KpiBaselines
from netop.engine.detect.novelty import NewDestinations
from netop.engine.detect.settings import AlertSettings
from netop.engine.detect.watchlist import Watchlist
from netop.model import Alert, AlertSeverity, FlowKey, InterfaceRate

#: Severity of each kind of alert.
SEVERITY: dict[str, AlertSeverity] = {
    "syn_flood": AlertSeverity.CRITICAL,
    "watchlist": AlertSeverity.CRITICAL,
    "icmp_flood": AlertSeverity.WARNING,
    "address_scan": AlertSeverity.WARNING,
    "port_scan": AlertSeverity.WARNING,
    "large_transfer": AlertSeverity.WARNING,
    "baseline": AlertSeverity.WARNING,
    "correlated": AlertSeverity.WARNING,
    "new_destination": AlertSeverity.INFO,
    "kpi_baseline": AlertSeverity.WARNING,
}

#: Interface metrics with a baseline: (name, attribute or delta field, unit, floor key).
_METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("rx", "rx_bps", "bit/s", "bps"),
    ("tx", "tx_bps", "bit/s", "bps"),
    ("rx_pps", "rx_pps", "packets/s", "pps"),
    ("tx_pps", "tx_pps", "packets/s", "pps"),
    ("drops", "drops", "drops", "drops"),
    ("errors", "errors", "errors", "drops"),
    # A full egress queue's drops: the kernel counts them in the qdisc only.
    ("qdisc_drops", "qdisc_drops", "drops", "drops"),
)

Baseline = RobustBaseline | DesBaseline

#: Interface series with a baseline at most (64 samples each): 1,000 SNMP or sFlow ports
#: with all six metrics; beyond, new series go without one and the status says so.
MAX_BASELINES = 6000


@functools.lru_cache(maxsize=4096)
def community_id(flow: FlowKey) -> str | None:
    """The flow's Community ID v1 (the ``communityid`` package), None if it has none."""
    import communityid  # type: ignore[import-untyped]

    make = {6: communityid.FlowTuple.make_tcp, 17: communityid.FlowTuple.make_udp}
    try:
        if flow.proto in make:
            tpl = make[flow.proto](flow.src, flow.dst, flow.sport, flow.dport)
        elif flow.proto in (1, 58):
            icmp = (communityid.FlowTuple.make_icmp if flow.proto == 1
                    else communityid.FlowTuple.make_icmp6)
            tpl = icmp(flow.src, flow.dst, flow.dport >> 8, flow.dport & 0xFF)
        else:
            tpl = communityid.FlowTuple.make_ip(flow.src, flow.dst, flow.proto)
        return str(communityid.CommunityID().calc(tpl))
    except Exception:  # an address the package refuses: the alert goes out without it
        return None


class Detector:
    """Runs every detector and keeps the alert book."""

    def __init__(self, settings: AlertSettings, interval: float = 1.0) -> None:
        """``interval``: seconds per tick (a baseline learns one sample per tick)."""
        self.settings = settings
        self.interval = interval
        self.enabled = settings.detect.enabled
        self.attacks = AttackDetector(settings.detect)
        self.watchlist = Watchlist(settings.watchlist_files, settings.watchlist_reload)
        self.book = AlertBook(settings.clear_after, settings.keep)
        self._baselines: dict[tuple[str, str, str], Baseline] = {}
        self._fired: list[Alert] = []
        self._generation = 0
        self._now = 0.0
        self._acks: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self._untracked = 0
        self.novelty = (NewDestinations(settings.detect, self.attacks.is_local)
                        if settings.detect.new_destinations else None)
        self.kpi_baselines = KpiBaselines(settings.kpi)

    def start(self) -> None:
        """Load the watchlist and keep it fresh (a thread polls the files)."""
        self.watchlist.start()

    def stop(self) -> None:
        """Stop the watchlist's thread."""
        self.watchlist.stop()

    # -- inputs -----------------------------------------------------------------------

    def report(self, kind: str, entity: str, value: float, unit: str, message: str,
               flow: FlowKey | None, baseline: float | None = None,
               band: float | None = None, at: float | None = None) -> None:
        """A detector found something: an alert (deduplicated by the book); ``at``: when,
        if not the tick's clock (an interval judged late: a file read in coarse ticks)."""
        alert = Alert(ts=self._now if at is None else at, kind=kind,
                      severity=SEVERITY.get(kind, AlertSeverity.WARNING),
                      entity=entity, message=message, value=value, baseline=baseline,
                      band=band, unit=unit, flow=flow,
                      community_id=community_id(flow) if flow is not None else None)
        fresh = self.book.fire(alert)
        if fresh is not None:
            self._fired.append(fresh)
        while self.book.pending:
            linked = self.book.fire(self.book.pending.pop())
            if linked is not None:
                self._fired.append(linked)

    def observe_flows(self, created: Iterable[Entry], now: float,
                      everything: Callable[[], Iterable[Entry]] | None = None,
                      moved: Sequence[Entry] | None = None,
                      with_kpi: Sequence[Entry] | None = None) -> None:
        """The flows made this tick; ``moved``: those that moved in it (swept for busy
        ones every few seconds); ``everything``: all live flows (checked against a
        watchlist that just changed); ``with_kpi``: those of ``moved`` that carry KPIs,
        when the caller has them at hand (the flow table finds them once a tick)."""
        if not self.enabled:
            return
        self._now = now
        prefixes = self.watchlist.prefixes
        if self.watchlist.generation != self._generation:
            self._generation = self.watchlist.generation
            if everything is not None:
                self.attacks.check_all(everything(), prefixes, self.report)
        self.attacks.observe(created, now, self.report, prefixes, moved)
        if self.novelty is not None:
            self.novelty.observe(created, now, self.report)
        if moved is not None and self.settings.detect.baseline:
            self.kpi_baselines.observe(moved if with_kpi is None else with_kpi, now,
                                       self.report)

    def observe_rates(self, rates: Iterable[InterfaceRate], now: float) -> None:
        """One tick's interface rates, each metric against its baseline."""
        d = self.settings.detect
        if not self.enabled or not d.baseline:
            return
        self._now = now
        floors = {"bps": d.floor_bps, "pps": d.floor_pps, "drops": d.floor_drops}
        for rate in rates:
            if rate.stale_for is not None or rate.name == "lo":
                continue
            for metric, attr, unit, floor in _METRICS:
                value = _metric(rate, attr)
                if value is None:
                    continue
                key = (rate.origin, rate.name, metric)
                base = self._baselines.get(key)
                if base is None:
                    if len(self._baselines) >= MAX_BASELINES:
                        self._untracked += 1
                        continue
                    base = self._baselines[key] = self._new_baseline(floors[floor])
                verdict = base.update(value)
                if verdict.fire:
                    self._baseline_alert(rate, metric, value, unit, verdict)

    def seed(self, ticks: Iterable[Iterable[InterfaceRate]]) -> int:
        """Start the interface baselines from recorded ticks (oldest first) instead of a
        learning period (``--baseline-from``); the number of series seeded."""
        d = self.settings.detect
        floors = {"bps": d.floor_bps, "pps": d.floor_pps, "drops": d.floor_drops}
        series: dict[tuple[str, str, str], tuple[str, list[float]]] = {}
        for rates in ticks:
            for rate in rates:
                if rate.stale_for is not None or rate.name == "lo":
                    continue
                for metric, attr, _, floor in _METRICS:
                    value = _metric(rate, attr)
                    if value is not None:
                        key = (rate.origin, rate.name, metric)
                        series.setdefault(key, (floor, []))[1].append(value)
        for key, (floor, values) in list(series.items())[:MAX_BASELINES]:
            base = self._baselines.get(key) or self._new_baseline(floors[floor])
            base.seed(values)
            self._baselines[key] = base
        return len(series)

    def _new_baseline(self, floor: float) -> Baseline:
        d = self.settings.detect
        if d.method == "des":
            return DesBaseline(d.alpha, d.beta, d.band_width, d.band_samples,
                               d.learning_samples, d.persistence, d.window, floor)
        return RobustBaseline(d.band_samples, d.learning_samples, d.persistence, d.window,
                              floor)

    def _baseline_alert(self, rate: InterfaceRate, metric: str, value: float, unit: str,
                        verdict: Verdict) -> None:
        from netop.format import human_rate

        assert verdict.baseline is not None
        assert verdict.band is not None
        entity = f"{rate.label} {metric}"
        bits = unit == "bit/s"

        def shown(x: float) -> str:
            return human_rate(x) if bits else f"{x:.0f} {unit}"

        self.report("baseline", entity, value, unit,
                    f"{entity} {shown(value)} vs baseline {shown(verdict.baseline)} "
                    f"±{shown(verdict.band)}", None, verdict.baseline, verdict.band)

    # -- outputs -------------------------------------------------------------------------

    def finish_tick(self, now: float) -> list[Alert]:
        """Age the book (on the clock the detectors last saw: a file's own time when
        one is replayed); the alerts that fired since the last call."""
        self.book.age(self._now or now)
        while not self._acks.empty():
            self.book.acknowledge(self._acks.get_nowait())
        fired, self._fired = self._fired, []
        return fired

    def status(self, now: float) -> tuple[str, ...]:
        """Learning periods and watchlist state, one line each."""
        lines = []
        if not self.enabled:
            return ("detection off ([detect] enabled = false)",)
        left = max((b.learning - b.seen for b in self._baselines.values()), default=0)
        if left > 0:
            seconds = left * self.interval
            lines.append(f"baselines learning, {seconds:.0f} s left")
        if self.novelty is not None:
            novel = self.novelty.learning_left(self._now or now)
            if novel > 0:
                lines.append(f"new destinations learning, {novel:.0f} s left")
        if self._untracked:
            lines.append(f"baselines: {MAX_BASELINES} series at most; others go without")
        lines.extend(self.kpi_baselines.status())
        lines.extend(st.describe(now) for st in self.watchlist.statuses())
        return tuple(lines)

    def acknowledge(self, key: tuple[str, str]) -> None:
        """Acknowledge an alert by (kind, entity), from any thread (the UI's): applied
        at the next tick, on the engine's thread, which owns the book."""
        self._acks.put(key)


def _metric(rate: InterfaceRate, attr: str) -> float | None:
    if attr in ("drops", "errors"):
        rx, tx = rate.deltas.get(f"rx_{attr}"), rate.deltas.get(f"tx_{attr}")
        if rx is None and tx is None:
            return None
        return float((rx or 0) + (tx or 0))
    if attr == "qdisc_drops":
        return None if rate.qdisc_drops is None else float(rate.qdisc_drops)
    value: Any = getattr(rate, attr)
    return None if value is None else float(value)
