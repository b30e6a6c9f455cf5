"""The asyncio worker that polls every target: one loop, one session per target.

Each target runs its own task on a fixed schedule, so a dead or slow target (which
waits ``timeout * (retries + 1)``) never delays the others. v1/v2c targets use
:class:`~netop.sources.snmp.community.CommunitySession`, v3 targets netop's own USM
(:class:`~netop.sources.snmp.usm.UsmSession`); each has its own connected UDP socket.
A semaphore bounds the requests in flight across all targets, so that a hundred
targets cannot all have bulk responses on the way at once.

A v3 agent that comes back with a new engine ID and answers a request for the old one
with nothing (rather than an unknownEngineID report) is found again by forgetting what
we knew of it after :data:`RENEW_AFTER_TIMEOUTS` timeouts in a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence

from netop.model import InterfaceSample, NetEvent, Severity, SourceStatus
from netop.sources.snmp import mib
from netop.sources.snmp.community import CommunitySession
from netop.sources.snmp.targets import SnmpTarget
from netop.sources.snmp.tracker import PollResult, TargetTracker, status_of
from netop.sources.snmp.usm import UsmSession
from netop.sources.snmp.walk import BaseSession, SnmpError

Item = InterfaceSample | NetEvent | SourceStatus
MAX_IN_FLIGHT = 24
RENEW_AFTER_TIMEOUTS = 2


class Poller:
    """Polls a set of targets; usable one round at a time or as a scheduled run."""

    def __init__(self, targets: Sequence[SnmpTarget], max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self.trackers = [TargetTracker(t) for t in targets]
        self._max_in_flight = max_in_flight
        self._sessions: list[BaseSession] = []
        self._timeouts = [0] * len(self.trackers)

    async def open(self) -> None:
        """Create one session per target (call on the polling loop)."""
        limit = asyncio.Semaphore(self._max_in_flight)
        self._sessions = []
        for tracker in self.trackers:
            session: BaseSession
            if tracker.target.version == "3":
                session = UsmSession(tracker.target)
            else:
                session = CommunitySession(tracker.target)
            session.limit = limit
            self._sessions.append(session)

    def close(self) -> None:
        """Close every session's socket."""
        for session in self._sessions:
            session.close()

    async def poll(self, i: int) -> list[Item]:
        """Poll target ``i`` once; its samples and events, then the source status."""
        tracker, session = self.trackers[i], self._sessions[i]
        result = await fetch(session, tracker.plan(time.monotonic()))
        if result.error_kind == "timeout":
            self._timeouts[i] += 1
            if tracker.target.version == "3" and self._timeouts[i] >= RENEW_AFTER_TIMEOUTS:
                session.renew_engine()
                self._timeouts[i] = 0
        else:
            self._timeouts[i] = 0
        items: list[Item] = list(tracker.update(result))
        items.append(status_of(self.trackers, time.time()))
        return items

    async def poll_all(self) -> list[Item]:
        """Poll every target once, concurrently."""
        rounds = await asyncio.gather(*(self.poll(i) for i in range(len(self.trackers))))
        return [item for items in rounds for item in items]

    async def run(self, emit: Callable[[Item], None], stop: asyncio.Event) -> None:
        """Poll every target on its own schedule until ``stop`` is set."""
        tasks = [
            asyncio.create_task(self._run_one(i, emit, stop)) for i in range(len(self.trackers))
        ]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run_one(self, i: int, emit: Callable[[Item], None], stop: asyncio.Event) -> None:
        interval = self.trackers[i].target.interval
        start = time.monotonic()
        rounds = 0
        while not stop.is_set():
            try:
                items = await self.poll(i)
            except Exception as exc:  # a bug for one target must not end its polling
                target = self.trackers[i].target
                message = f"{target.name}: poll failed: {type(exc).__name__}: {exc}"
                items = [NetEvent(time.time(), Severity.ERROR, target.origin, message)]
            for item in items:
                emit(item)
            # Fixed-rate schedule; after an overrun, skip to the next future slot.
            rounds = max(rounds + 1, int((time.monotonic() - start) / interval) + 1)
            delay = start + rounds * interval - time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(delay, 0.0))


async def fetch(session: BaseSession, names: Sequence[str]) -> PollResult:
    """One poll of one agent: the scalars, then the columns ``names`` in parallel."""
    t0, w0 = time.monotonic(), time.time()
    try:
        scalars = await session.get(mib.SCALARS)
        t_walk = time.monotonic()
        walked = await session.walk([mib.COLUMNS[n] for n in names])
    except SnmpError as exc:
        t1 = time.monotonic()
        return PollResult(
            ts=w0 + (t1 - t0), mono=t1, latency=t1 - t0, error_kind=exc.kind, error=exc.message
        )
    t1 = time.monotonic()
    columns = {
        name: {idx[0]: v for idx, v in walked[mib.COLUMNS[name]].items() if len(idx) == 1}
        for name in names
    }
    # The counters are read during the walk (not the scalar GET, which may include v3
    # discovery): the middle of the walk is the best single time for them.
    mid = (t_walk + t1) / 2
    return PollResult(
        ts=w0 + (mid - t0), mono=mid, latency=t1 - t0, scalars=scalars, columns=columns
    )
