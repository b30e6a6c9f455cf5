"""The collector's decoding core: one datagram in, records and exporter state out.

Independent of sockets so that tests, the benchmark and pcap replays feed it
directly. Not thread-safe: the server calls it from one decode thread.
"""

from __future__ import annotations

import heapq
import ipaddress
import time
from collections.abc import Iterable, Sequence
from typing import Any

from netop.model import InterfaceSample, NetEvent, Severity
from netop.sources.collector import ipfix, netflow5, netflow9, sflow
from netop.sources.collector.exporters import ExporterState, Limits, Shared
from netop.sources.collector.flowsets import Output, compile_stored, release_pending
from netop.sources.collector.records import FlowAggregator

#: Protocol names as they appear in FlowRecord.source.
PROTOCOLS = {5: "netflow5", 9: "netflow9", 10: "ipfix", "sflow": "sflow"}
#: The first two bytes of a NetFlow/IPFIX datagram -> protocol (the fast path of detect).
#: "new exporter" events per tick; a spoofed flood's thousands become one summary.
_NEW_EXPORTER_EVENTS = 20
_SFLOW5 = b"\x00\x00\x00\x05"
_BY_VERSION = {b"\x00\x05": "netflow5", b"\x00\x09": "netflow9", b"\x00\x0a": "ipfix"}


def detect(data: bytes) -> str | None:
    """The export protocol of a datagram from its version field, or None."""
    if len(data) < 4:
        return None
    version = data[0] << 8 | data[1]
    if version in (5, 9, 10):
        return PROTOCOLS[version]
    if version == 0 and data[2] == 0 and data[3] == 5:
        return "sflow"
    return None


class Collector:
    """Decodes datagrams from many exporters into a :class:`FlowAggregator`.

    ``allow`` restricts which exporter addresses are decoded (others are counted in
    :attr:`refused`); ``limits`` bounds what each exporter can make us keep.
    """

    def __init__(
        self,
        limits: Limits | None = None,
        allow: Iterable[str] = (),
        aggregator: FlowAggregator | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.networks = tuple(ipaddress.ip_network(a, strict=False) for a in allow)
        self.flows = aggregator or FlowAggregator()
        self.exporters: dict[str, ExporterState] = {}
        self.shared = Shared(self.limits)
        self.interfaces: list[InterfaceSample] = []
        self.events: list[NetEvent] = []
        self.refused = 0
        self.unknown = 0
        self.datagrams = 0
        self.records = 0
        self._last_expire = 0.0
        self._new_exporters = 0  # since the last housekeeping

    def _state(self, exporter: str, now: float, checked: bool = False) -> ExporterState | None:
        """``checked``: the sender was already found in the allow-list."""
        state = self.exporters.get(exporter)
        if state is not None:
            return state
        if self.networks and not checked and not self._allowed(exporter):
            self.refused += 1
            return None
        if len(self.exporters) >= self.limits.max_exporters:
            self._evict()
        state = self.exporters[exporter] = ExporterState(
            exporter, first_seen=now, budget=self.shared
        )
        self._new_exporters += 1
        if self._new_exporters <= _NEW_EXPORTER_EVENTS:
            self.events.append(
                NetEvent(now, Severity.INFO, "collector", f"new exporter {exporter}")
            )
        return state

    def drops(self) -> dict[str, int]:
        """Items refused by each limit since the start (see exporters.DROP_NAMES)."""
        return dict(self.shared.drops)

    def _evict(self) -> None:
        """Make room in a full exporter table: forget the least recently heard eighth,
        exporters that never sent a decodable record first (a spoofed flood sends none).

        Evicting in batches keeps the cost per new exporter logarithmic.
        """
        count = max(1, len(self.exporters) // 8)
        victims = heapq.nsmallest(
            count, self.exporters.values(), key=lambda s: (s.records > 0, s.last_seen)
        )
        for state in victims:
            self._forget(state.address)
        self.shared.drop("exporters_evicted", len(victims))

    def _forget(self, address: str) -> None:
        state = self.exporters.pop(address)
        state.release()

    def _allowed(self, exporter: str) -> bool:
        try:
            address = ipaddress.ip_address(exporter)
        except ValueError:
            return False
        return any(address in net for net in self.networks)

    def feed_many(
        self, burst: Sequence[tuple[bytes, str]], now: float, budget: float | None = None
    ) -> int:
        """Decode a burst of (datagram, exporter).

        Without ``budget`` the whole burst is decoded and the records added are
        returned; with it, decoding stops once ``budget`` seconds of wall time are
        spent (after at least one datagram) and the number of *datagrams* decoded is
        returned, so that the caller can release its lock and go on later.

        IPFIX data sets of one template, exporter and export second are merged into
        the flow table in one call at the end: exporters send few records per set
        (softflowd ~3), and the per-call cost would otherwise dominate.
        """
        deferred: dict[tuple[Any, ...], list[bytes]] = {}
        added = done = 0
        stop = None if budget is None else time.monotonic() + budget
        try:
            for data, exporter in burst:
                added += self.feed(data, exporter, now, deferred)
                done += 1
                if stop is not None and time.monotonic() >= stop:
                    break
        finally:
            self._merge_deferred(deferred)
        return added if budget is None else done

    def _merge_deferred(self, deferred: dict[tuple[Any, ...], list[bytes]]) -> None:
        flows = self.flows
        for (tpl, (export_ms, uptime), sampling, source, exporter), bodies in deferred.items():
            table = flows.table(source, exporter, sampling)
            body = bodies[0] if len(bodies) == 1 else b"".join(bodies)
            try:
                room, over, _ = tpl.aggregate(body, export_ms, uptime, sampling, table, flows.room)
            except Exception:  # checked lengths make this unreachable; never let it escape
                continue
            flows.commit(room, over)

    def feed(
        self,
        data: bytes,
        exporter: str,
        now: float,
        deferred: dict[tuple[Any, ...], list[bytes]] | None = None,
    ) -> int:
        """Decode one datagram from ``exporter``; returns the records it added.

        An sFlow datagram's exporter is the agent address it carries (the UDP source
        may be a relay or a NAT); the allow-list still applies to the UDP source.
        """
        if data[:4] == _SFLOW5:
            agent = sflow.agent_address(data)
            if agent is not None and agent != exporter:
                if self.networks and not self._allowed(exporter):
                    self.refused += 1
                    return 0
                state = self.exporters.get(agent) or self._state(agent, now, checked=True)
                return self._feed(state, data, agent, now, deferred)
        state = self.exporters.get(exporter) or self._state(exporter, now)
        return self._feed(state, data, exporter, now, deferred)

    def _feed(
        self,
        state: ExporterState | None,
        data: bytes,
        exporter: str,
        now: float,
        deferred: dict[tuple[Any, ...], list[bytes]] | None,
    ) -> int:
        if state is None:
            return 0
        self.datagrams += 1
        state.datagrams += 1
        state.last_seen = now
        protocol = _BY_VERSION.get(data[:2]) or detect(data)
        if protocol is None:
            state.malformed += 1
            self.unknown += 1
            return 0
        state.protocol = protocol
        out = Output(self.flows, protocol, exporter)
        if deferred is not None:
            out.deferred = deferred
        if not self._decode(protocol, data, state, now, out) and (
            state.malformed in (1, 10, 100, 1000) or state.malformed % 10000 == 0
        ):
            state.note(
                Severity.WARNING,
                f"exporter {exporter}: {state.malformed} malformed {protocol} datagrams",
            )
        out.commit()
        added = out.merged
        state.records += added
        self.records += added
        return added

    def _decode(
        self, protocol: str, data: bytes, state: ExporterState, now: float, out: Output
    ) -> bool:
        """Run one decoder; False (and counted) when the datagram is malformed."""
        try:
            if protocol == "netflow5":
                netflow5.decode(data, state, out)
            elif protocol == "netflow9":
                netflow9.decode(data, state, now, self.limits, out)
            elif protocol == "ipfix":
                ipfix.decode(data, state, now, self.limits, out)
            else:
                sflow.decode(data, state, now, out, self.interfaces, self.limits)
        except Exception:  # hostile input: nothing a datagram holds may escape
            state.malformed += 1
            return False
        return True

    def housekeeping(self, now: float) -> list[NetEvent]:
        """Expire templates and buffered data; collect pending events. Call once a tick."""
        if now - self._last_expire >= 1.0:
            self._last_expire = now
            idle = [a for a, s in self.exporters.items()
                    if now - s.last_seen > self.limits.exporter_lifetime]  # fmt: skip
            for address in idle:
                self._forget(address)
            self.shared.drop("exporters_expired", len(idle))
            for state in self.exporters.values():
                state.expire(now, self.limits)
                if state.pending:
                    self._retry_pending(state, now)
        if self._new_exporters > _NEW_EXPORTER_EVENTS:
            more = self._new_exporters - _NEW_EXPORTER_EVENTS
            self.events.append(NetEvent(now, Severity.WARNING, "collector",
                                        f"{more} more new exporters (not listed one by one)"))
        self._new_exporters = 0
        events, self.events = self.events, []
        for state in self.exporters.values():
            if state.events:
                events.extend(NetEvent(now, sev, "collector", msg) for sev, msg in state.events)
                state.events.clear()
        return events

    def _retry_pending(self, state: ExporterState, now: float) -> None:
        """Compile (within the budgets) stored templates that data is waiting for, and
        decode that data: the compile budget may have been spent when it arrived."""
        waiting = [k for k in state.pending if k in state.templates]
        if not waiting:
            return
        out = Output(self.flows, state.protocol, state.address)
        for key in waiting:
            tpl = state.templates[key]
            if tpl.ready or compile_stored(state, key, tpl, now, self.limits) is not None:
                release_pending(state, key, now, self.limits, out)
        out.commit()
        added = out.merged
        state.records += added
        self.records += added

    def take_interfaces(self) -> list[InterfaceSample]:
        """sFlow counter samples decoded since the last call."""
        samples, self.interfaces = self.interfaces, []
        return samples
