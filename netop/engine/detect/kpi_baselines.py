"""Baselines of passive KPIs: a remote host's handshake RTT p95 or retransmission % leaving
its usual range, a service's connection success % dropping.

Built against false alarms (a first version, per host over the KPI groups, raised 2 in 12
minutes of normal traffic):

- **Intervals, not ticks.** Each ``interval`` seconds (of the flows' clock: a file's own
  time when one is replayed) every entity gets one value per metric, from what happened
  in that interval only: the handshake RTTs of the connections that completed one in it,
  the segments retransmitted and sent in it (deltas of each flow's counters), the
  outcomes of the connections decided in it (Zeek states; an attempt still ``S0`` after
  :data:`S0_DECIDED` seconds failed).
- **Enough evidence or the interval does not count** (neither for the baseline nor for
  persistence): at least ``min_rtt_samples`` RTTs, ``min_connections`` decided
  connections, ``min_packets`` TCP packets.
- **Absolute floors** on top of the robust band (median/MAD, :mod:`.baseline`): RTT p95
  at least ``rtt_rise_ms`` above the baseline *and* ``rtt_factor`` times it;
  retransmissions at least ``retrans_rise_pct`` points above it and ``retrans_segments``
  segments in the interval; success at least ``success_drop_pct`` points below it.
- **Persistence**: ``persistence`` violations among the last ``window`` counted intervals
  (Brutlag's 7 of 9).
- **Learning** for ``learning`` counted intervals per series, shown in the status.
- **A cap** of ``max_entities`` hosts and as many services; a series that has not counted
  for ``forget_after`` intervals is dropped and its place freed.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from netop.config import get_bool, get_float, get_int
from netop.engine.detect.baseline import RobustBaseline
from netop.model import FAILURE_STATES, SUCCESS_STATES, proto_name

#: Seconds after which a connection attempt still without a reply (Zeek ``S0``) failed.
S0_DECIDED = 5.0
#: Flows whose counters (and decided outcome) are remembered at most.
FLOW_MEMORY = 100_000
#: Attempts still undecided remembered at most.
PENDING_MEMORY = 20_000

#: ``report(kind, entity, value, unit, message, flow, baseline, band)``.
Report = Callable[..., None]


@dataclass(frozen=True, slots=True)
class KpiBaselineSettings:
    """The ``kpi_*`` keys of ``[detect]``."""

    enabled: bool = True
    interval: float = 10.0
    learning: int = 30
    min_rtt_samples: int = 20
    min_connections: int = 10
    min_packets: int = 1000
    rtt_rise_ms: float = 20.0
    rtt_factor: float = 2.0
    retrans_rise_pct: float = 2.0
    retrans_segments: int = 20
    success_drop_pct: float = 20.0
    max_entities: int = 50
    forget_after: int = 360
    persistence: int = 7
    window: int = 9


def kpi_baseline_settings(raw: Mapping[str, Any], persistence: int = 7,
                          window: int = 9) -> KpiBaselineSettings:  # fmt: skip
    """``[detect] kpi_*``, each bad value one error naming its key."""
    d = KpiBaselineSettings()
    return KpiBaselineSettings(
        enabled=get_bool(raw, "detect.kpi_baselines", d.enabled),
        interval=get_float(raw, "detect.kpi_interval", d.interval, low=1, high=3600),
        learning=get_int(raw, "detect.kpi_learning", d.learning, low=2, high=100_000),
        min_rtt_samples=get_int(raw, "detect.kpi_min_rtt_samples", d.min_rtt_samples,
                                low=1, high=1_000_000),
        min_connections=get_int(raw, "detect.kpi_min_connections", d.min_connections,
                                low=1, high=1_000_000),
        min_packets=get_int(raw, "detect.kpi_min_packets", d.min_packets, low=1,
                            high=10**12),
        rtt_rise_ms=get_float(raw, "detect.kpi_rtt_rise_ms", d.rtt_rise_ms, low=0),
        rtt_factor=get_float(raw, "detect.kpi_rtt_factor", d.rtt_factor, low=1, high=1000),
        retrans_rise_pct=get_float(raw, "detect.kpi_retrans_rise_pct", d.retrans_rise_pct,
                                   low=0, high=100),
        retrans_segments=get_int(raw, "detect.kpi_retrans_segments", d.retrans_segments,
                                 low=0, high=10**12),
        success_drop_pct=get_float(raw, "detect.kpi_success_drop_pct", d.success_drop_pct,
                                   low=0, high=100),
        max_entities=get_int(raw, "detect.kpi_max_entities", d.max_entities, low=1,
                             high=100_000),
        forget_after=get_int(raw, "detect.kpi_forget_after", d.forget_after, low=1,
                             high=10**7),
        persistence=persistence, window=window,
    )  # fmt: skip


def _group(entry: Any, by: str) -> str:
    """``netop kpis --by``'s keys (netop.engine.kpis.group_key; detect may not import the
    engine package): the responder's address, or ``proto/port``."""
    return str(entry.dst) if by == "host" else f"{proto_name(entry.proto)}/{entry.dport}"


def _p95(values: list[float]) -> float:
    """The 95th percentile, linear between closest ranks (as the KPI groups')."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * 0.95
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _ms(value: float) -> str:
    """Milliseconds as shown: 3 decimals below 1 ms (a LAN's 0.04 ms is not 0.0)."""
    return f"{value:.3f}" if abs(value) < 1 else f"{value:.1f}"


@dataclass(slots=True)
class _Bucket:
    """What one entity did in the current interval."""

    rtts: list[float] = field(default_factory=list)
    retrans: int = 0
    packets: int = 0
    ok: int = 0
    failed: int = 0


class _Series:
    """One metric of one entity: its robust baseline and its own persistence."""

    __slots__ = ("base", "flags", "idle", "last")

    def __init__(self, learning: int, window: int) -> None:
        # k = n = 1: the baseline only judges; persistence with the floors is ours.
        self.base = RobustBaseline(64, learning, 1, 1)
        self.flags: deque[bool] = deque(maxlen=window)
        self.idle = 0
        self.last: float | None = None


class KpiBaselines:
    """Per remote host (RTT p95, retransmission %) and per service (success %)."""

    def __init__(self, settings: KpiBaselineSettings) -> None:
        self.s = settings
        #: The earliest interval (its number: start time // interval) not yet judged.
        self._open: int | None = None
        self._buckets: dict[int, dict[tuple[str, str], _Bucket]] = {}
        self._interval_end = 0.0
        self._series: dict[tuple[str, str, str], _Series] = {}
        self._flows: OrderedDict[str, tuple[int, int, bool, bool]] = OrderedDict()
        self._pending: OrderedDict[str, tuple[Any, float]] = OrderedDict()
        self.untracked = 0
        self.intervals = 0

    # -- input --------------------------------------------------------------------

    def observe(self, moved: Iterable[Any], now: float, report: Report) -> None:
        """The flows that moved this tick (flow-table entries with ``kpi``). Each event
        goes to the interval of its own time (a handshake, an outcome: the flow's start;
        retransmissions: its last packet), so a file read in coarse ticks is judged per
        interval all the same; an interval is judged once the clock has passed it."""
        if not self.s.enabled:
            return
        if self._open is None:
            moved = list(moved)
            first = min((e.first for e in moved if e.first), default=now)
            self._open = int(min(first, now) // self.s.interval)
        # Only TCP flows with KPIs count; the rest skipped without a call each (a tick in
        # which 100k flows move passes here).
        moved = [e for e in moved if e.kpi is not None and e.proto == 6]
        take = self._take
        for entry in moved:
            take(entry, now)
        self._decide_pending(now)
        self._close_until(now, report)

    def _close_until(self, now: float, report: Report) -> None:
        assert self._open is not None
        step = self.s.interval
        while (self._open + 1) * step <= now:
            buckets = self._buckets.pop(self._open, None)
            if buckets is None:  # a quiet stretch: skip to the next interval with data
                later = [k for k in self._buckets if k > self._open]
                upto = min(later) if later else int(now // step)
                self._age(upto - self._open)
                self._open = upto
                continue
            self._interval_end = (self._open + 1) * step
            self._close(buckets, report)
            self._open += 1

    def _bucket(self, by: str, entry: Any, at: float) -> _Bucket:
        assert self._open is not None
        index = max(self._open, int(at // self.s.interval))
        buckets = self._buckets.setdefault(index, {})
        key = (by, _group(entry, by))
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = _Bucket()
        return bucket

    def _take(self, entry: Any, now: float) -> None:
        kpi = entry.kpi
        key = entry.key
        retrans, packets, rtt_taken, decided = self._flows.pop(key, (0, 0, False, False))
        if kpi.rtt_ms is not None and not rtt_taken:
            self._bucket("host", entry, entry.first or now).rtts.append(kpi.rtt_ms)
            rtt_taken = True
        if kpi.retrans is not None and kpi.retrans_rev is not None:
            now_retrans = kpi.retrans + kpi.retrans_rev
            now_packets = entry.packets + entry.packets_rev
            host = self._bucket("host", entry, entry.last or now)
            host.retrans += max(0, now_retrans - retrans)
            host.packets += max(0, now_packets - packets)
            retrans, packets = now_retrans, now_packets
        if not decided:
            state = kpi.conn_state
            if state in SUCCESS_STATES or (state in FAILURE_STATES and state != "S0"):
                self._outcome(entry, state in SUCCESS_STATES)
                decided = True
                self._pending.pop(key, None)
            elif state == "S0" and key not in self._pending:
                self._pending[key] = (entry, entry.first or now)
                while len(self._pending) > PENDING_MEMORY:
                    self._pending.popitem(last=False)
        self._flows[key] = (retrans, packets, rtt_taken, decided)
        while len(self._flows) > FLOW_MEMORY:
            self._flows.popitem(last=False)

    def _outcome(self, entry: Any, ok: bool) -> None:
        bucket = self._bucket("service", entry, entry.first)
        if ok:
            bucket.ok += 1
        else:
            bucket.failed += 1

    def _decide_pending(self, now: float) -> None:
        while self._pending:
            key, (entry, since) = next(iter(self._pending.items()))
            if now - since < S0_DECIDED:
                return
            del self._pending[key]
            state = entry.kpi.conn_state if entry.kpi is not None else None
            known = self._flows.get(key)
            if known is not None and known[3]:
                continue
            if state == "S0" or state in FAILURE_STATES:
                self._outcome(entry, False)
            elif state in SUCCESS_STATES:
                self._outcome(entry, True)
            if known is not None:
                self._flows[key] = (*known[:3], True)

    # -- one interval ---------------------------------------------------------------

    def _close(self, buckets: dict[tuple[str, str], _Bucket], report: Report) -> None:
        s = self.s
        self.intervals += 1
        counted: set[tuple[str, str, str]] = set()
        for (by, name), b in buckets.items():
            if by == "host":
                if len(b.rtts) >= s.min_rtt_samples:
                    self._judge(("host", name, "rtt_p95"), _p95(b.rtts), len(b.rtts), report,
                                counted)  # fmt: skip
                if b.packets >= s.min_packets:
                    pct = 100.0 * b.retrans / b.packets
                    self._judge(("host", name, "retrans_pct"), pct, b.retrans, report,
                                counted)  # fmt: skip
            elif b.ok + b.failed >= s.min_connections:
                failed_pct = 100.0 * b.failed / (b.ok + b.failed)
                self._judge(("service", name, "failed_pct"), failed_pct, b.failed, report,
                            counted)  # fmt: skip
        for key in self._series.keys() - counted:
            self._series[key].idle += 1
        self._age(0)

    def _age(self, quiet: int) -> None:
        """``quiet`` intervals without any data went by; drop long-idle series."""
        for key in list(self._series):
            series = self._series[key]
            series.idle += quiet
            if series.idle >= self.s.forget_after:
                del self._series[key]

    def _judge(self, key: tuple[str, str, str], x: float, evidence: int, report: Report,
               counted: set[tuple[str, str, str]]) -> None:  # fmt: skip
        s = self.s
        series = self._series.get(key)
        if series is None:
            if sum(1 for k in self._series if k[0] == key[0] and k[2] == key[2]) \
                    >= s.max_entities:
                self.untracked += 1
                return
            series = self._series[key] = _Series(s.learning, s.window)
        counted.add(key)
        series.idle = 0
        series.last = x
        verdict = series.base.update(x)
        if verdict.baseline is None:
            return
        base = verdict.baseline
        metric = key[2]
        if metric == "rtt_p95":
            floor = x - base >= s.rtt_rise_ms and x >= base * s.rtt_factor
        elif metric == "retrans_pct":
            floor = x - base >= s.retrans_rise_pct and evidence >= s.retrans_segments
        else:
            floor = x - base >= s.success_drop_pct
        # The band (median + 3.5 MAD) also counts for success, where MIN_RISE's ×1.5
        # would ask a 0 % failure baseline for nothing: the floor above is the guard.
        band_ok = x > base + (verdict.band or 0.0)
        violation = floor and band_ok and (verdict.violation or metric == "failed_pct")
        series.flags.append(violation)
        if violation and sum(series.flags) >= s.persistence:
            # Again every violating interval while it lasts: the alert book keeps one
            # alert (its count grows) and clears it once the reports stop.
            self._alert(key, x, base, verdict.band or 0.0, report, self._interval_end)

    @staticmethod
    def _alert(key: tuple[str, str, str], x: float, base: float, band: float,
               report: Report, at: float) -> None:  # fmt: skip
        by, name, metric = key
        if metric == "rtt_p95":
            entity, unit = f"host {name} rtt p95", "ms"
            text = f"{entity} {_ms(x)} ms vs usual {_ms(base)} ms ±{_ms(band)}"
            value, usual = x, base
        elif metric == "retrans_pct":
            entity, unit = f"host {name} retransmissions", "%"
            text = f"{entity} {x:.2f} % vs usual {base:.2f} % ±{band:.2f}"
            value, usual = x, base
        else:
            entity, unit = f"service {name} success", "%"
            value, usual = 100.0 - x, 100.0 - base
            text = f"{entity} {value:.1f} % vs usual {usual:.1f} % (−{band:.1f})"
        report("kpi_baseline", entity, value, unit, text, None, usual, band, at=at)

    # -- status ---------------------------------------------------------------------

    def status(self) -> tuple[str, ...]:
        """The learning state, one line (none when nothing is tracked)."""
        if not self.s.enabled or not self._series:
            return ()
        learning = [x for x in self._series.values() if x.base.seen < x.base.learning]
        lines = []
        if learning:
            left = max(x.base.learning - x.base.seen for x in learning) * self.s.interval
            lines.append(f"KPI baselines: {len(learning)} of {len(self._series)} host/service "
                         f"series learning, up to {left:.0f} s left")
        if self.untracked:
            lines.append(f"KPI baselines: {self.s.max_entities} hosts and services at most; "
                         "others go without")
        return tuple(lines)
