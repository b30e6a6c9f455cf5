"""The engine: the single owner of state. Once per tick it merges what the sources
produced, computes rates and histories, runs the analyzers and builds one immutable
:class:`~netop.model.Snapshot`.

It runs on whatever thread calls :meth:`Engine.tick` (a worker thread in the TUI, the
main thread headless); sources running elsewhere hand items over through a
thread-safe queue, so no lock is held while a view reads a snapshot.
"""

from __future__ import annotations

import contextlib
import fnmatch
import queue
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from netop.config import (
    DEFAULT_ACTIVE_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_FLOWS,
    Config,
)
from netop.engine.events import EventLog, InterfaceWatch
from netop.engine.flowtable import FlowTable
from netop.engine.flowview import Enrichment, FlowViewBuilder
from netop.engine.history import RateHistory
from netop.engine.incidents import LinkIncidents
from netop.engine.kpi_events import KpiWatch, kpi_thresholds
from netop.engine.kpis import kpi_groups
from netop.engine.rates import RateTracker
from netop.engine.sinks import SnapshotSink
from netop.model import (
    COUNTER_FIELDS,
    Alert,
    AlertSeverity,
    FlowBatch,
    FlowKey,
    FlowPackets,
    FlowRecord,
    FlowsView,
    InterfaceRate,
    InterfaceSample,
    KpiGroup,
    NetEvent,
    NicDetail,
    PacketSample,
    PcapStatus,
    RecordingStatus,
    Severity,
    Snapshot,
    SourceStatus,
    Totals,
    ViewSpec,
)
from netop.sources.base import Source, SourceItem
from netop.sources.nicstats import NicReader

if TYPE_CHECKING:
    from netop.engine.detect.detector import Detector
    from netop.packet.bpf import OfflineFilter
    from netop.sources.capture.aggregate import PacketAggregator
    from netop.sources.capture.offline import FileReadResult

#: Shown in the Flows pane while nothing produces flows.
NO_FLOWS_STATUS = (
    "Packet capture is not running, so there are no flows to show. "
    "Start netop with -i IFACE (needs root or CAP_NET_RAW), -r FILE to read a capture, "
    "or --collect PORT to receive NetFlow/IPFIX/sFlow."
)


#: Packets of the watched flow kept for the detail screen.
WATCHED_PACKETS = 50
#: sFlow agents silent this long lose their interface rows (an agent sends counters
#: every 20-30 s; a spoofed one is never heard again), and their rows are capped in
#: total, the least recently heard agents going first.
REMOTE_ORIGIN_TTL = 300.0
MAX_REMOTE_ROWS = 16384
_AGED_PREFIXES = ("sflow:",)

#: Seconds between packet time and wall time beyond which flows are being replayed.
REPLAY_SKEW = 60.0

#: Seconds between two aggregations of the KPIs per service for the outputs (a walk over
#: every flow: Prometheus scrapes every 15 s or so, a tick is 1 s).
SERVICE_KPI_SECONDS = 5.0

#: Events carried in each snapshot: enough for a view that skipped a few snapshots.
SNAPSHOT_EVENTS = 200


@dataclass(frozen=True, slots=True)
class _Pending:
    samples: list[InterfaceSample]
    events: list[NetEvent]
    batches: list[FlowBatch]
    statuses: list[SourceStatus]

#: The key of a played file's flow total in the rate histories.
_FLOW_TOTAL = ("file", "flows")


class Engine:
    """Owns the sources, interface state, the event log and the flow table; each
    :meth:`tick` turns what the sources produced into one :class:`Snapshot`."""

    def __init__(
        self,
        config: Config,
        sources: Sequence[Source],
        hostname: str | None = None,
        clock: Callable[[], float] = time.time,
        event_capacity: int = 1000,
        enrichment: Enrichment | None = None,
        total_of: Sequence[str] = (),
        max_flows: int = DEFAULT_MAX_FLOWS,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        active_timeout: float = DEFAULT_ACTIVE_TIMEOUT,
        keep_ended: bool | None = None,
        keep_expired: bool = False,
        max_remote_rows: int = MAX_REMOTE_ROWS,
        sinks: Sequence[SnapshotSink] = (),
        detector: Detector | None = None,
    ) -> None:
        """``total_of``: the interfaces (glob patterns) the user named; the ``all`` row
        and the header total sum those. Empty: every local interface but ``lo``.
        ``max_flows``/``idle_timeout``/``active_timeout`` bound the flow table.
        ``keep_ended``: flows that time out stay listed, marked ended (default: when a
        source plays a recording); ``keep_expired``: they are handed out by
        :meth:`drain_ended` too (a headless view that prints flows as they end).
        ``max_remote_rows``: interface rows of sFlow agents kept at most (the
        collector's ``max_interfaces_total``, so that both bound the same thing).
        ``sinks``: handed every snapshot :meth:`tick` builds (recorder, exporters).
        ``detector``: detection and alerts (default: from the config's ``[detect]``,
        ``[watchlist]`` and ``[alerts]``)."""
        self.config = config
        self.sinks = list(sinks)
        self._total_of = tuple(total_of)
        self.sources = list(sources)
        self.hostname = hostname or socket.gethostname()
        self._clock = clock
        #: The local interface whose NIC and qdisc counters each tick reads (the TUI's
        #: interface detail screen sets it, as it sets ``view_spec``); None: none.
        self.nic_detail: str | None = None
        self._nic_reader: NicReader | None = None
        self._inbox: queue.SimpleQueue[SourceItem] = queue.SimpleQueue()
        self._rates = RateTracker()
        self._history = RateHistory(round(config.history_seconds / config.interval))
        self._watch = InterfaceWatch()
        #: Link-down correlation; a headless stream sets ``keep_witnesses``.
        self.incidents = LinkIncidents()
        self.events = EventLog(event_capacity)
        self._current: dict[str, dict[tuple[str, str], InterfaceRate]] = {}
        self._max_gap: dict[tuple[str, str], float] = {}
        #: Aged remote origins by when they were last heard, least recent first.
        self._origin_seen: dict[str, float] = {}
        self._remote_rows = 0
        self._max_remote_rows = max_remote_rows
        self._statuses: dict[str, SourceStatus] = {}
        self._seq = 0
        self._started = False
        # A recording keeps its ended flows: at its end every flow of it is on screen.
        if keep_ended is None:
            keep_ended = any(s.replay for s in self.sources)
        #: Sinks that take flows as they end (``flows_ended``; see netop.engine.sinks).
        self._flow_sinks = [s for s in self.sinks if callable(getattr(s, "flows_ended", None))]
        self._keep_expired = keep_expired
        self._sinks_started = False
        #: Why sinks failed to start (a headless command ends on them).
        self.sink_failures: list[str] = []
        self._ended_out: list[FlowRecord] = []
        self.flow_table = FlowTable(max_flows, idle_timeout, active_timeout,
                                    keep_expired=keep_expired or bool(self._flow_sinks),
                                    keep_ended=keep_ended)
        #: Per source, its latest cumulative loss counters (FlowBatch.stats).
        self._flow_losses: dict[str, tuple[int, int]] = {}
        #: Per source, its latest cumulative counters (``FlowBatch.stats``).
        self.flow_stats: dict[str, dict[str, int]] = {}
        self.enrichment = enrichment or Enrichment()
        self._flow_view = FlowViewBuilder(self.enrichment)
        #: The user's sort/filter choice; the UI replaces it whole (an atomic swap).
        self.view_spec = ViewSpec()
        #: KPIs per "host" or "service" in each snapshot while a view asks (else None:
        #: the aggregation walks every flow, so it runs only while someone looks).
        self.kpi_by: str | None = None
        #: An output wants the KPIs per service (``wants_service_kpis``): their last
        #: aggregation and when it was made.
        self._service_kpis: tuple[KpiGroup, ...] = ()
        self._service_kpis_at: float | None = None
        self._kpi_watch = KpiWatch(kpi_thresholds(config.raw))
        self._watching: FlowKey | None = None
        self._watched_packets: deque[PacketSample] = deque(maxlen=WATCHED_PACKETS)
        self._watched_rtt: tuple[float | None, float | None] = (None, None)
        self._watched_total: int | None = None
        self._data_clock = 0.0
        self._replay_clock: float | None = None
        #: A played file's time at the last tick, and the file seconds that tick played
        #: (0: live, the interval is the time).
        self._played_at: float | None = None
        self._flow_interval = 0.0
        #: Whether the last tick moved the flows on (a paused file's does not).
        self._advanced = True
        self._detector = detector
        if detector is not None:
            self._adopt(detector)

    @property
    def detector(self) -> Detector:
        """Detection and alerts; the config's, made (and its modules loaded) when first
        asked for: a command that shows no alerts (``flows -r``) never pays for them."""
        if self._detector is None:
            from netop.engine.detect.detector import Detector
            from netop.engine.detect.settings import alert_settings

            self._detector = self._adopt(Detector(alert_settings(self.config.raw),
                                                  self.config.interval))
        return self._detector

    def _adopt(self, detector: Detector) -> Detector:
        if len(self._total_of) == 1 and not any(c in self._total_of[0] for c in "*?["):
            # One interface captured: every flow's alert concerns it (its drops, errors).
            detector.book.paths = frozenset(self._total_of)
        return detector

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start every source's background work."""
        if self._started:
            return
        self._started = True
        self.enrichment.start()
        self.detector.start()
        for source in self.sources:
            try:
                source.start(self._inbox.put)
            except Exception as exc:  # a broken source must not take the others down
                self.emit(NetEvent(self._clock(), Severity.ERROR, source.name,
                                   f"{source.name} failed to start: {exc}"))
        self.start_sinks()

    def start_sinks(self) -> None:
        """Start the outputs (``start`` does it; a headless run that plays a file
        without starting sources calls it alone). Safe to call twice."""
        if self._sinks_started:
            return
        self._sinks_started = True
        for sink in self.sinks:
            bind = getattr(sink, "bind_events", None)
            if bind is not None:  # an output whose failures are events (alert actions)
                bind(self.emit)
            try:
                sink.start()
            except Exception as exc:  # nor a broken output the monitoring
                self.sink_failures.append(f"{sink.name} failed to start: {exc}")
                self.emit(NetEvent(self._clock(), Severity.ERROR, sink.name,
                                   self.sink_failures[-1]))
                continue
            for severity, text in getattr(sink, "notices", ()):
                self.emit(NetEvent(self._clock(), severity, sink.name, text))

    def stop(self) -> None:
        """Stop every source and lookup thread; safe to call twice. Flows still live
        end here for the sinks that take ended flows (as an exporter's shutdown)."""
        self.enrichment.stop()
        if self._detector is not None:
            self._detector.stop()
        for source in self.sources:
            # Stopping is best effort: one source failing must not keep the others running.
            with contextlib.suppress(Exception):
                source.stop()
        self.close_sinks()

    def close_sinks(self) -> None:
        """End the flows still live for the sinks that take ended flows (as an
        exporter does at shutdown), then close every sink; safe to call twice."""
        if self._flow_sinks and self._sinks_started:
            self.flow_table.end_all()
            self._pass_ended(forced=True)
        self._sinks_started = False
        for sink in self.sinks:
            with contextlib.suppress(Exception):
                sink.close()

    def emit(self, item: SourceItem) -> None:
        """Hand an item to the engine from any thread (what sources' ``emit`` is)."""
        self._inbox.put(item)

    def watching(self) -> str:
        """What is being watched, for the header."""
        return ", ".join(source.describe() for source in self.sources) or "nothing"

    def _read_nic(self, now: float) -> NicDetail | None:
        """The deeper counters of the local interface ``nic_detail`` names, if any: read
        here, on the engine's thread, since it runs ``tc`` and an ioctl."""
        name = self.nic_detail
        if name is None:
            self._nic_reader = None
            return None
        if self._nic_reader is None or self._nic_reader.name != name:
            self._nic_reader = NicReader(name)
        return self._nic_reader.read(now)

    def acknowledge(self, key: tuple[str, str]) -> None:
        """Acknowledge the alert of (kind, entity), from any thread (the UI's)."""
        self.detector.acknowledge(key)

    def interface_samples(self) -> tuple[InterfaceSample, ...]:
        """The latest raw sample of every interface as of the last tick (``netop
        reconcile`` compares cumulative counters across sources)."""
        return self._rates.samples()

    @property
    def named_interfaces(self) -> tuple[str, ...]:
        """The interfaces (glob patterns) the user named, which the ``all`` row totals."""
        return self._total_of

    # -- the tick ---------------------------------------------------------------------

    def tick(self, now: float | None = None) -> Snapshot:
        """Merge everything that arrived, compute rates and events, build a Snapshot."""
        now = self._clock() if now is None else now
        started = time.perf_counter()
        pending = self._collect(now)
        new_events = list(pending.events)
        by_origin: dict[str, list[InterfaceSample]] = {}
        for sample in pending.samples:
            by_origin.setdefault(sample.origin, []).append(sample)
        for origin, samples in by_origin.items():
            try:
                new_events.extend(self._update_origin(origin, samples, now))
            except Exception as exc:  # one source's bad readings must not lose the tick
                new_events.append(_dropped(origin, now, exc))
        new_events = self.incidents.observe(new_events, self._current, now)
        self._age_remote(now)
        for status in pending.statuses:
            self._statuses[status.source] = status
        flows = self._flows(pending.batches, now)
        fired = self.detector.finish_tick(now)
        new_events.extend(_alert_event(alert) for alert in fired)
        new_events.sort(key=lambda e: e.ts)
        self.events.extend(new_events)
        self._seq += 1
        interfaces = tuple(
            self._aged(rate, now) for origin in self._current.values()
            for rate in origin.values()
        )
        total, totals = self._total(now)
        # Everything the snapshot holds is computed before the tick's cost is read.
        nic, kpis, service_kpis = self._read_nic(now), self._kpi_groups(), self._kpis_for_sinks(now)
        alerts, detect_status = self.detector.book.alerts(), self.detector.status(now)
        flow_history = self._flow_total(total)
        snapshot = Snapshot(
            ts=now,
            seq=self._seq,
            hostname=self.hostname,
            watching=self.watching(),
            interval=self.config.interval,
            interfaces=interfaces,
            total=total,
            totals=totals,
            events=self.events.recent(SNAPSHOT_EVENTS),
            events_total=self.events.total,
            flows=flows,
            status=tuple(s.summary for s in self._statuses.values() if s.summary),
            sources=tuple(self._statuses.values()),
            flow_stats={name: dict(stats) for name, stats in self.flow_stats.items()},
            nic=nic,
            kpis=kpis,
            service_kpis=service_kpis,
            alerts=alerts,
            alerts_total=self.detector.book.total,
            new_alerts=tuple(fired),
            detect_status=detect_status,
            flow_interval=self._flow_interval,
            flow_history=flow_history,
            recording=self._recording_status(),
            pcap=self.pcap_status(),
            tick_seconds=time.perf_counter() - started,
        )
        self._pass_ended()
        self._hand_to_sinks(snapshot)
        return snapshot

    def write_pcap(self, path: str | None) -> bool:
        """Ask the live capture to write its packets to the pcap file ``path`` from now on
        (``None``: stop). Thread-safe, never blocks; False when no source captures live."""
        asked = False
        for source in self.sources:
            with contextlib.suppress(Exception):
                asked = source.write_pcap(path) or asked
        return asked

    def pcap_status(self) -> PcapStatus | None:
        """The pcap file the live capture writes (or was asked to), if any."""
        for source in self.sources:
            status = source.pcap_status()
            if status is not None:
                return status
        return None

    def _recording_status(self) -> RecordingStatus | None:
        """The status of the sink that records (``recording_status()``), if any."""
        for sink in self.sinks:
            status = getattr(sink, "recording_status", None)
            if callable(status):
                value = status()
                if isinstance(value, RecordingStatus):
                    return value
        return None

    def _pass_ended(self, forced: bool = False) -> None:
        """Hand the flows that ended to the sinks that take them, and keep them for
        :meth:`drain_ended` when asked (``keep_expired``)."""
        ended = self.flow_table.drain_expired()
        if not ended:
            return
        if self._keep_expired:
            self._ended_out.extend(ended)
        for sink in self._flow_sinks:
            try:
                sink.flows_ended(ended, forced)  # type: ignore[attr-defined]
            except Exception as exc:  # as for snapshots: the tick goes on
                self.emit(NetEvent(self._clock(), Severity.ERROR, sink.name,
                                   f"{sink.name} failed: {exc!r}"))

    def _hand_to_sinks(self, snapshot: Snapshot) -> None:
        for sink in self.sinks:
            try:
                sink.consume(snapshot)
            except Exception as exc:  # an output's bug must not lose the tick
                self.emit(NetEvent(snapshot.ts, Severity.ERROR, sink.name,
                                   f"{sink.name} failed: {exc!r}"))

    # -- headless ---------------------------------------------------------------------

    def play(self, ticks: Iterable[tuple[Sequence[FlowRecord], float]]) -> None:
        """Headless, as fast as the input goes: merge a recording tick by tick on its own
        clock, as :meth:`tick` does, but without building a view per tick.

        Each tick is ``(records, clock)``: the flow deltas, and the recording's time at
        the end of the tick. :meth:`summary` then gives the result.
        """
        for clock in merge_ticks(self.flow_table, ticks):
            self._replay_clock = max(self._replay_clock or 0.0, clock)
            if self._flow_sinks:
                self._pass_ended()

    def detect_play(
        self, ticks: Iterable[tuple[Sequence[FlowRecord], float]]
    ) -> Iterator[list[Alert]]:
        """As :meth:`play`, with detection on the recording's clock: yields the alerts
        each tick fired (``netop alerts -r``)."""
        table, detector = self.flow_table, self.detector
        for records, clock in ticks:
            self._replay_clock = max(self._replay_clock or 0.0, clock)
            table.merge_records(records, clock)
            detector.observe_flows(table.created(), clock, table.entries, table.touched(),
                                   table.touched_with_kpi())
            fired = detector.finish_tick(clock)
            table.end_tick()
            table.expire(clock)
            if fired:
                self.events.extend([_alert_event(alert) for alert in fired])
            yield fired

    def summary(self, spec: ViewSpec) -> Snapshot:
        """The last snapshot of a headless run: every flow the table kept (ended ones
        too), filtered, sorted and cut by ``spec`` as the Flows pane is, their rates the
        average over each flow's life (a finished capture has no "this tick")."""
        now = self._replay_clock if self._replay_clock is not None else self._clock()
        flows = self._flow_view.summary(self.flow_table, spec, now)
        flows = replace(flows, losses=self._losses([]))
        self._seq += 1
        return Snapshot(ts=now, seq=self._seq, hostname=self.hostname,
                        watching=self.watching(), interval=self.config.interval,
                        events=self.events.recent(SNAPSHOT_EVENTS),
                        events_total=self.events.total, flows=flows,
                        sources=tuple(self._statuses.values()))

    def drain_ended(self, everything: bool = False) -> list[FlowRecord]:
        """Flows that ended since the last call (an engine made with ``keep_expired``);
        ``everything``: end the live ones first, as at the end of a run. Evicted flows
        are only counted (``flow_table.stats.evictions``)."""
        if everything:
            self.flow_table.end_all()
        self._pass_ended(forced=everything)
        out, self._ended_out = self._ended_out, []
        return out

    def _flow_clock(self, batches: list[FlowBatch], captured: float | None,
                    now: float) -> float:
        """The time flows are aged against: the wall clock live, the file's on replay.

        A capture file played back carries its own timestamps; measured against the
        wall clock every flow would look idle for years (or, for a file recorded a
        minute ago, a minute older than it was) and expire at once. A playing source
        says what time it is (``FlowBatch.clock``); from then on that is the time.
        ``captured``: the latest packet time of this tick's capture batches, if any.
        """
        for batch in batches:
            if batch.clock is not None:
                self._replay_clock = max(self._replay_clock or 0.0, batch.clock)
        if self._replay_clock is not None:
            return self._replay_clock
        if captured is not None:
            self._data_clock = max(self._data_clock, captured)
        if self._data_clock and abs(now - self._data_clock) > REPLAY_SKEW:
            return self._data_clock
        return now

    def _watched_flow(self, batches: list[FlowBatch]) -> FlowPackets | None:
        """Relay the flow the user watches to the sources; gather its packets."""
        wanted = self.view_spec.watch
        if wanted != self._watching:
            self._watching = wanted
            self._watched_packets.clear()
            self._watched_rtt = (None, None)
            self._watched_total = None
            for source in self.sources:
                with contextlib.suppress(Exception):
                    source.watch_flow(wanted)
        if wanted is None:
            return None
        for batch in batches:
            got = batch.watched
            if got is None or got.flow != wanted:
                continue
            if got.total is not None:  # the source knows them all: its choice replaces ours
                self._watched_packets.clear()
                self._watched_total = got.total
            self._watched_packets.extend(got.packets)
            if got.handshake_rtt is not None or got.syn_rtt is not None:
                self._watched_rtt = (got.handshake_rtt, got.syn_rtt)
        return FlowPackets(wanted, tuple(self._watched_packets), *self._watched_rtt,
                           total=self._watched_total)

    def _losses(self, batches: list[FlowBatch]) -> str:
        """Every flow the table evicted and every packet a source refused or mended."""
        for batch in batches:
            if batch.stats:
                self.flow_stats[batch.source] = batch.stats
                self._flow_losses[batch.source] = (batch.stats.get("overflow", 0),
                                                   batch.stats.get("bad_time", 0))
        overflow = sum(o for o, _ in self._flow_losses.values())
        bad_time = sum(b for _, b in self._flow_losses.values())
        parts = []
        if self.flow_table.stats.evictions:
            parts.append(f"{self.flow_table.stats.evictions} evicted")
        if overflow:
            parts.append(f"{overflow} pkts of new flows dropped")
        if bad_time:
            parts.append(f"{bad_time} impossible timestamp" + ("s" if bad_time > 1 else ""))
        return ", ".join(parts)

    def _kpis_for_sinks(self, now: float) -> tuple[KpiGroup, ...]:
        if not any(getattr(sink, "wants_service_kpis", False) for sink in self.sinks):
            return ()
        at = self._service_kpis_at
        if at is None or not 0 <= now - at < SERVICE_KPI_SECONDS:
            table = self.flow_table
            self._service_kpis = tuple(
                kpi_groups([*table.entries(), *table.ended()], "service"))
            self._service_kpis_at = now
        return self._service_kpis

    def _kpi_groups(self) -> tuple[KpiGroup, ...]:
        by = self.kpi_by
        if by is None:
            return ()
        table = self.flow_table
        return tuple(kpi_groups([*table.entries(), *table.ended()], by))

    def _flows(self, batches: list[FlowBatch], now: float) -> FlowsView:
        watched = self._watched_flow(batches)
        latest = self._merge(batches, now)
        now = self._flow_clock(batches, latest, now)
        if self._replay_clock is not None and self._played_at is None:
            # The file's first tick played from its first packet on.
            firsts = [r.first for b in batches for r in b.records]
            if firsts:
                self._played_at = min(firsts)
        table = self.flow_table
        self.events.extend(self._kpi_watch.check(table.touched_with_kpi(), now))
        # Every tick, batches or not: unanswered attempts are judged when their time is up.
        self.detector.observe_flows(table.created(), now, table.entries, table.touched(),
                                    table.touched_with_kpi())
        if not any(source.produces_flows for source in self.sources):
            view = FlowsView(status=NO_FLOWS_STATUS)
        else:
            summaries = [s.summary for s in self._statuses.values() if s.summary]
            waiting = "No flows yet. " + " ".join(summaries)
            losses = self._losses(batches)
            moved = any(b.records for b in batches)
            # Merged: the deltas go now, not after the view. A batch of every flow still
            # held would be rescanned by the GC's young collections the build triggers.
            batches.clear()
            played = self._played(now)
            # A played file paused or at its end: no time went by, no packets came; the
            # rates and averages stay as they were (a paused film, not a fading one).
            self._advanced = played is None or played > 0 or moved
            if played:
                self._flow_interval = played
            interval = played or self._flow_interval or self.config.interval
            view = self._flow_view.build(self.flow_table, self.view_spec, now, interval,
                                         waiting, advance=self._advanced)
            view = replace(view, watched=watched, losses=losses)
        self.flow_table.end_tick()
        self.flow_table.expire(now)
        return view

    def _played(self, now: float) -> float | None:
        """The seconds of a played file this tick covered (at a speed, a step: not the
        interval), so that rates and averages are per second of the file; ``None`` live."""
        if self._replay_clock is None:
            return None
        before, self._played_at = self._played_at, now
        return max(0.0, now - before) if before is not None else 0.0

    def _flow_total(self, total: InterfaceRate | None) -> tuple[float, ...]:
        """A played file without interfaces to total: the flows' total rate per tick
        (both ways), what the totals line averages; empty otherwise."""
        if total is not None or not self._flow_interval:
            return ()
        if self._advanced:
            self._history.add(_FLOW_TOTAL, self._flow_view.tick_bps, 0.0)
        return self._history.get(_FLOW_TOTAL)[0]

    def _merge(self, batches: list[FlowBatch], now: float) -> float | None:
        """Merge the batches; the latest packet time of the capture's (only a capture
        replays packets: an exporter with a skewed clock must not switch the whole
        table to its time). A batch that fails to merge is an event at ``now``."""
        # Its own frame: no loop variable keeps the last batch alive after the merge.
        captured: float | None = None
        for batch in batches:
            try:
                latest = self.flow_table.merge(batch, now)
            except Exception as exc:  # as for samples: the other batches still count
                self.events.extend([_dropped(batch.source, now, exc)])
                continue
            if latest is not None and batch.source == "capture":
                captured = latest if captured is None else max(captured, latest)
        return captured

    def _collect(self, now: float) -> _Pending:
        pending = _Pending([], [], [], [])
        for source in self.sources:
            try:
                self._sort_items(source.poll(now), pending)
            except Exception as exc:
                pending.events.append(NetEvent(now, Severity.ERROR, source.name,
                                               f"{source.name}: {exc}"))
        drained: list[SourceItem] = []
        # Bounded: items that arrive while we drain wait for the next tick.
        for _ in range(self._inbox.qsize()):
            try:
                drained.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        self._sort_items(drained, pending)
        return pending

    @staticmethod
    def _sort_items(items: Iterable[SourceItem], pending: _Pending) -> None:
        for item in items:
            if isinstance(item, InterfaceSample):
                pending.samples.append(item)
            elif isinstance(item, NetEvent):
                pending.events.append(item)
            elif isinstance(item, FlowBatch):
                pending.batches.append(item)
            elif isinstance(item, SourceStatus):
                pending.statuses.append(item)

    def _update_origin(
        self, origin: str, samples: list[InterfaceSample], now: float
    ) -> list[NetEvent]:
        events: list[NetEvent] = []
        fresh: dict[tuple[str, str], InterfaceRate] = {}
        for sample in samples:
            if sample.max_gap is not None:
                self._max_gap[sample.key] = sample.max_gap
            rate, rate_events = self._rates.update(sample)
            events.extend(rate_events)
            self.detector.observe_rates((rate,), now)
            self._history.add(rate.key, rate.rx_bps, rate.tx_bps)
            rx_hist, tx_hist = self._history.get(rate.key)
            fresh[rate.key] = _with_history(rate, rx_hist, tx_hist)
        rates = list(fresh.values())
        if origin not in self._current:
            names = ", ".join(sorted(rate.name for rate in rates)) or "none"
            events.append(NetEvent(now, Severity.INFO, origin,
                                   f"{origin}: watching {len(rates)} interfaces ({names})"))
        events.extend(self._watch.observe(origin, rates, now))
        old = self._current.get(origin, {})
        for key in old.keys() - fresh.keys():
            self._rates.forget(key)
            self._history.forget(key)
            self._max_gap.pop(key, None)
        self._current[origin] = fresh
        if origin.startswith(_AGED_PREFIXES):
            self._remote_rows += len(fresh) - len(old)
            self._origin_seen.pop(origin, None)
            self._origin_seen[origin] = now
        return events

    def _aged(self, rate: InterfaceRate, now: float) -> InterfaceRate:
        """``rate``, or when its source has sent nothing for twice its sampling interval,
        a stale row: no rates, no link state, how long ago the last sample was."""
        gap = self._max_gap.get(rate.key)
        age = now - rate.ts
        if gap is None or age <= 2 * gap:
            return rate
        return replace(rate, rx_bps=None, tx_bps=None, rx_pps=None, tx_pps=None,
                       oper_up=None, stale_for=age)

    def _age_remote(self, now: float) -> None:
        """Forget remote origins silent for REMOTE_ORIGIN_TTL, and the least recently
        heard ones while their rows exceed ``max_remote_rows`` (spoofed sFlow agents)."""
        seen = self._origin_seen
        while seen:
            origin = next(iter(seen))
            if (now - seen[origin] <= REMOTE_ORIGIN_TTL
                    and self._remote_rows <= self._max_remote_rows):
                break
            del seen[origin]
            rows = self._current.pop(origin, {})
            self._remote_rows -= len(rows)
            for key in rows:
                self._rates.forget(key)
                self._history.forget(key)
                self._max_gap.pop(key, None)
            self._watch.forget(origin)

    def _total(self, now: float) -> tuple[InterfaceRate | None, Totals]:
        local = list(self._current.get("local", {}).values())
        if not local:
            return None, Totals()
        if self._total_of:
            # The user asked about these interfaces (``-i lo`` included): total them.
            real = [r for r in local
                    if any(fnmatch.fnmatchcase(r.name, p) for p in self._total_of)]
        else:
            # lo counts every packet twice (out and in) and is no traffic of the box's
            # network, so the "all" row, like bmon's and nload's totals, leaves it out.
            real = [r for r in local if r.name != "lo"]

        def total(attr: str) -> float | None:
            values = [getattr(r, attr) for r in real if getattr(r, attr) is not None]
            return float(sum(values)) if values else None

        deltas: dict[str, int | None] = {}
        for field in COUNTER_FIELDS:
            values = [r.deltas.get(field) for r in real]
            known = [v for v in values if v is not None]
            deltas[field] = sum(known) if known else None
        rx, tx = total("rx_bps"), total("tx_bps")
        self._history.add(("local", "all"), rx, tx)
        rx_hist, tx_hist = self._history.get(("local", "all"))
        row = InterfaceRate(
            origin="local", name="all", ts=now, rx_bps=rx, tx_bps=tx,
            rx_pps=total("rx_pps"), tx_pps=total("tx_pps"), deltas=deltas,
            counters={}, speed_bps=None, oper_up=None,
            rx_history=rx_hist, tx_history=tx_hist,
        )
        totals = Totals(
            rx_bps=rx or 0.0, tx_bps=tx or 0.0,
            rx_pps=row.rx_pps or 0.0, tx_pps=row.tx_pps or 0.0,
            drops=(deltas["rx_drops"] or 0) + (deltas["tx_drops"] or 0),
            errors=(deltas["rx_errors"] or 0) + (deltas["tx_errors"] or 0),
        )
        return row, totals


def _alert_event(alert: Alert) -> NetEvent:
    """An alert's line in the event log."""
    severity = (Severity.ERROR if alert.severity >= AlertSeverity.CRITICAL
                else Severity.WARNING)
    return NetEvent(alert.ts, severity, "alert", f"{alert.kind}: {alert.message}")


def merge_ticks(
    table: FlowTable, ticks: Iterable[tuple[Sequence[FlowRecord], float]]
) -> Iterator[float]:
    """Merge ticks of flow rows into ``table`` on their own clock (each tick: merge,
    end the tick, expire); yields each tick's clock. See :meth:`Engine.play`."""
    for records, clock in ticks:
        table.merge_records(records, clock)
        table.end_tick()  # else the tick's list of touched flows keeps evicted ones alive
        table.expire(clock)
        yield clock


def read_into_table(
    path: str,
    table: FlowTable,
    agg: PacketAggregator | None = None,
    packet_filter: OfflineFilter | None = None,
) -> FileReadResult:
    """Read every readable packet of a capture file into ``table`` as fast as it goes
    (the table alone, no engine around it: for tests and benchmarks of the reader)."""
    from netop.sources.capture.offline import FileReader

    reader = FileReader(path, table.max_flows, agg, packet_filter)
    for _ in merge_ticks(table, reader):
        pass
    return reader.result


def _dropped(origin: str, now: float, exc: Exception) -> NetEvent:
    """The event of a source whose items this tick could not be used."""
    return NetEvent(now, Severity.ERROR, origin,
                    f"{origin}: dropped its readings this tick: {type(exc).__name__}: {exc}")


def _with_history(
    rate: InterfaceRate, rx: tuple[float, ...], tx: tuple[float, ...]
) -> InterfaceRate:
    return replace(rate, rx_history=rx, tx_history=tx)
