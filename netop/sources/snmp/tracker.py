"""One target's state between polls: poll results in, samples, events and status out.

This is where the SNMP-specific rules live (the engine's RateTracker does the
wrap-safe deltas):

* **Agent restarts.** sysUpTime going back, sysUpTime smaller than the time since the
  last good poll (the agent restarted while we could not reach it), a new
  snmpEngineID, or an interface's ifCounterDiscontinuityTime changing: the samples
  carry ``discontinuity`` so that interval gets no rate.
* **The agent's counter cache.** net-snmp refreshes IF-MIB counters about every 3 s;
  polled faster, the same values come back twice and a naive rate reads 0 and then
  double. When the poll interval is shorter than :data:`CACHE_HOLD`, a poll where no
  counter moved is held back (no samples) until they move or the hold time passes,
  so every rate spans whole cache periods.
* **Reachability.** Unreachable / recovered / authentication failures are events,
  each said once, not on every failed poll.

No I/O here: the poller feeds :class:`PollResult` values in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netop.model import InterfaceSample, NetEvent, Severity, SourceStatus, iface_label
from netop.sources.snmp import mib
from netop.sources.snmp.targets import SnmpTarget
from netop.text import safe_text

Value = int | bytes | None

#: Below this poll interval, unchanged counters are held back (the agent's cache).
CACHE_HOLD = 5.0
#: How often the static columns (names, speeds) are walked again.
STATIC_EVERY = 300.0
#: Tolerance, in seconds, when comparing sysUpTime to the time since the last poll.
UPTIME_SLACK = 5.0
_UPTIME_WRAP = 1 << 32
_NAME_MAX = 64
#: The widest SNMP number (Counter64); anything larger did not come from a real agent.
_VALUE_MAX = (1 << 64) - 1
#: ifHighSpeed is a Gauge32 of Mbit/s: no agent can claim a faster link than this.
MAX_SPEED_BPS = ((1 << 32) - 1) * 1_000_000


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll of one target brought back (or why it failed)."""

    ts: float
    mono: float
    latency: float
    scalars: dict[tuple[int, ...], Value] = field(default_factory=dict)
    columns: dict[str, dict[int, Value]] = field(default_factory=dict)
    error_kind: str | None = None
    error: str | None = None


@dataclass(slots=True)
class _Iface:
    name: str = ""
    descr: str = ""
    alias: str = ""
    speed_bps: int | None = None
    wanted: bool = True
    oper: int | None = None
    disc_time: int | None = None
    counters: tuple[int | None, ...] | None = None


class TargetTracker:
    """Turns the poll results of one target into samples, events and a status row."""

    def __init__(self, target: SnmpTarget) -> None:
        self.target = target
        self.reachable: bool | None = None
        self.polls = 0
        self.good_polls = 0
        self.last_latency: float | None = None
        self.last_error: str | None = None
        self.sys_name: str | None = None
        self.interfaces = 0
        self._ifaces: dict[int, _Iface] = {}
        self._uptime: int | None = None
        self._ticking = False
        self._engine_id: bytes | None = None
        self._last_good: float | None = None
        self._down_since: float | None = None
        self._static_at: float | None = None
        self._need_low = False
        self._hold = CACHE_HOLD if target.interval < CACHE_HOLD else 0.0
        self._since: float | None = None  # last emission (or first poll)
        self._last_names: tuple[str, ...] = ()

    # ------------------------------------------------------------ planning

    def plan(self, mono: float) -> tuple[str, ...]:
        """Column names the next poll should walk."""
        static = self._static_at is None or mono - self._static_at >= STATIC_EVERY
        # The first poll asks for the 32-bit counters too, to learn which ports need them.
        return mib.plan(self.target.version, static, low=self._need_low or not self.polls)

    # ------------------------------------------------------------ results

    def update(self, result: PollResult) -> list[InterfaceSample | NetEvent]:
        """Samples and events for one poll result."""
        self.polls += 1
        if result.error is not None:
            return self._failed(result)
        out: list[InterfaceSample | NetEvent] = []
        self.good_polls += 1
        self.last_latency = result.latency
        self.last_error = None
        sys_name = _text(result.scalars.get(mib.SYS_NAME))
        self.sys_name = sys_name or self.sys_name
        if self.reachable is None:
            out.append(
                self._event(
                    result.ts,
                    Severity.INFO,
                    "reachable" + (f" (sysName {sys_name})" if sys_name else ""),
                )
            )
        elif self.reachable is False:
            down = result.mono - (self._down_since or result.mono)
            out.append(self._event(result.ts, Severity.INFO, f"reachable again after {down:.0f} s"))
        self.reachable = True
        self._down_since = None
        reason = self._restart(result)
        if reason:
            out.append(self._event(result.ts, Severity.WARNING, f"{reason}; counters re-baselined"))
            self._static_at = None
        if "descr" in result.columns or "name" in result.columns:
            self._learn_static(result.columns)
            self._static_at = result.mono
        out.extend(self._samples(result, reason))
        self._last_good = result.mono
        return out

    def _failed(self, result: PollResult) -> list[InterfaceSample | NetEvent]:
        message = result.error or "poll failed"
        out: list[InterfaceSample | NetEvent] = []
        if self.reachable is not False or message != self.last_error:
            prefix = {
                "timeout": "unreachable: ",
                "refused": "unreachable: ",
                "access": "access denied: ",
            }.get(result.error_kind or "", "" if result.error_kind == "auth" else "poll failed: ")
            out.append(self._event(result.ts, Severity.ERROR, prefix + message))
        if self.reachable is not False:
            self._down_since = result.mono
        self.reachable = False
        self.last_error = message
        return out

    def _restart(self, result: PollResult) -> str | None:
        uptime = result.scalars.get(mib.SYS_UPTIME)
        engine_id = result.scalars.get(mib.ENGINE_ID)
        reason: str | None = None
        if isinstance(engine_id, bytes) and engine_id:
            if self._engine_id is not None and engine_id != self._engine_id:
                reason = "new engine ID"
            self._engine_id = engine_id
        if isinstance(uptime, int):
            prev = self._uptime
            if prev is not None and reason is None:
                gap = 0.0 if self._last_good is None else result.mono - self._last_good
                if uptime < prev and not _uptime_wrapped(prev, uptime, gap):
                    reason = "agent restarted (sysUpTime went back)"
                elif self._ticking and uptime / 100 + UPTIME_SLACK < gap:
                    reason = "agent restarted (sysUpTime is less than the time since last poll)"
            if prev is not None and uptime > prev:
                self._ticking = True
            self._uptime = uptime
        return reason

    def _learn_static(self, columns: dict[str, dict[int, Value]]) -> None:
        indexes = sorted(set().union(*(columns.get(c, {}) for c in mib.STATIC)))
        taken: set[str] = set()
        for index in indexes:
            state = self._ifaces.setdefault(index, _Iface())
            state.descr = _text(columns.get("descr", {}).get(index))
            state.alias = _text(columns.get("alias", {}).get(index))
            if_name = _text(columns.get("name", {}).get(index))
            label = self.target.interface_label
            name = ((state.alias if label == "alias" else "")
                    or (state.descr if label == "descr" else "")
                    or if_name or state.descr or f"ifIndex{index}")
            if name in taken:
                name = f"{name}#{index}"
            taken.add(name)
            state.name = name
            state.speed_bps = _speed(columns, index)
            state.wanted = self.target.wants(name, state.descr, state.alias)

    def _samples(self, result: PollResult, restart: str | None) -> list[InterfaceSample | NetEvent]:
        cols = result.columns
        out: list[InterfaceSample | NetEvent] = []
        samples: list[InterfaceSample] = []
        fresh = False
        counted = 0
        missing_hc = False
        indexes = set().union(*(cols.get(c, {}) for c in mib.DYNAMIC + mib.HC + mib.LOW))
        for index in sorted(indexes):
            state = self._ifaces.get(index)
            if state is None:
                state = self._ifaces[index] = _Iface(name=f"ifIndex{index}")
                self._static_at = None  # an interface we have no name for: re-learn
            hc_in, hc_out = _int(cols, "hc_in_octets", index), _int(cols, "hc_out_octets", index)
            counters: tuple[int | None, ...]
            if hc_in is not None and hc_out is not None:
                bits = 64
                counters = (
                    hc_in,
                    hc_out,
                    _sum(cols, index, "hc_in_ucast", "hc_in_mcast", "hc_in_bcast"),
                    _sum(cols, index, "hc_out_ucast", "hc_out_mcast", "hc_out_bcast"),
                )
            else:
                missing_hc = True
                if "in_octets" not in cols:
                    continue  # asked for the 32-bit columns next time
                bits = 32
                counters = (
                    _int(cols, "in_octets", index),
                    _int(cols, "out_octets", index),
                    _sum(cols, index, "in_ucast", "in_nucast"),
                    _sum(cols, index, "out_ucast", "out_nucast"),
                )
            errors = tuple(
                _int(cols, c, index)
                for c in ("in_discards", "out_discards", "in_errors", "out_errors")
            )
            oper = _int(cols, "oper", index)
            out.extend(self._oper_change(result.ts, state, oper))
            disc_time = _int(cols, "disc_time", index)
            reason = restart
            if (
                reason is None
                and disc_time is not None
                and state.disc_time is not None
                and disc_time != state.disc_time
            ):
                reason = "ifCounterDiscontinuityTime changed"
            state.disc_time = disc_time if disc_time is not None else state.disc_time
            if not state.wanted:
                continue
            counted += 1
            every = counters + errors
            moved = state.counters is not None and every != state.counters
            fresh = fresh or reason is not None or moved
            state.counters = every
            samples.append(InterfaceSample(
                origin=self.target.origin, name=state.name, ts=result.ts,
                rx_bytes=counters[0], tx_bytes=counters[1],
                rx_packets=counters[2], tx_packets=counters[3],
                rx_drops=errors[0], tx_drops=errors[1],
                rx_errors=errors[2], tx_errors=errors[3],
                speed_bps=state.speed_bps,
                oper_up=None if oper is None else oper == 1,
                counter_bits=bits, discontinuity=reason,
                max_gap=max(self.target.interval, self._hold),
                # An agent restart is one event for the target (see update), not one
                # per interface; an interface's own discontinuity time is its own.
                discontinuity_said=reason is not None and reason == restart,
            ))  # fmt: skip
        self._need_low = missing_hc and self.target.version != "1"
        for gone in set(self._ifaces) - indexes:
            del self._ifaces[gone]
        self.interfaces = counted
        # The engine takes each poll's samples as the whole set of the target's
        # interfaces, so a poll is sent whole or held whole: held while no counter of
        # any interface moved since the previous poll (the agent refreshes its table
        # at once) and the hold time has not passed. The first poll is held too, so
        # the baseline is taken just after a refresh, not somewhere inside a period.
        first = self._since is None
        since = result.mono if self._since is None else self._since
        names = tuple(sample.name for sample in samples)
        changed_set = not first and names != self._last_names
        self._last_names = names
        if self._hold and not fresh and not changed_set and result.mono - since < self._hold:
            self._since = since
            return out
        self._since = result.mono
        return out + samples

    def _oper_change(self, ts: float, state: _Iface, oper: int | None) -> list[NetEvent]:
        previous, state.oper = state.oper, oper
        if previous is None or oper is None or previous == oper or not state.wanted:
            return []
        self._static_at = None  # speeds change with the link: re-read them
        new = mib.OPER_STATUS.get(oper, str(oper))
        old = mib.OPER_STATUS.get(previous, str(previous))
        severity = Severity.INFO if oper == 1 else Severity.WARNING
        label = iface_label(self.target.origin, state.name)
        kind = "link_up" if oper == 1 else "link_down" if oper in (2, 7) else "link_state"
        return [NetEvent(ts, severity, self.target.origin, f"{label}: link {new} (was {old})",
                         kind, self.target.name, state.name)]

    def interface_name(self, index: int) -> str | None:
        """The name of the interface with ``index`` as this target's rows show it."""
        state = self._ifaces.get(index)
        return state.name if state is not None else None

    def _event(self, ts: float, severity: Severity, message: str) -> NetEvent:
        return NetEvent(ts, severity, self.target.origin, f"{self.target.name}: {message}")

    # ------------------------------------------------------------ status

    def status_row(self) -> dict[str, Any]:
        """The target's row of the SNMP :class:`SourceStatus`."""
        t = self.target
        return {
            "name": t.name,
            "host": f"[{t.host}]:{t.port}" if ":" in t.host else f"{t.host}:{t.port}",
            "version": t.version if t.version != "3" else f"3 {t.security_level}",
            "sys_name": self.sys_name,
            "reachable": self.reachable,
            "last_latency_ms": None
            if self.last_latency is None
            else round(self.last_latency * 1000, 1),
            "availability_pct": None
            if not self.polls
            else round(100.0 * self.good_polls / self.polls, 1),
            "interfaces": self.interfaces,
            "last_error": self.last_error,
        }


def status_of(trackers: list[TargetTracker], ts: float) -> SourceStatus:
    """The SNMP source's status: a summary line and one row per target."""
    up = sum(1 for t in trackers if t.reachable)
    return SourceStatus(
        source="snmp",
        summary=f"SNMP {up}/{len(trackers)} targets reachable",
        rows=tuple(t.status_row() for t in trackers),
        ts=ts,
    )


def _uptime_wrapped(prev: int, now: int, gap: float) -> bool:
    """sysUpTime (TimeTicks) wraps after 497 days; that is not a restart."""
    ticks = int(gap * 100) + 100 * int(UPTIME_SLACK)
    return prev > _UPTIME_WRAP - ticks and now < ticks


def _int(cols: dict[str, dict[int, Value]], name: str, index: int) -> int | None:
    value = cols.get(name, {}).get(index)
    return value if isinstance(value, int) and 0 <= value <= _VALUE_MAX else None


def _sum(cols: dict[str, dict[int, Value]], index: int, first: str, *rest: str) -> int | None:
    """Sum of packet counters; ``None`` without the first (unicast) one."""
    total = _int(cols, first, index)
    if total is None:
        return None
    return total + sum(v for v in (_int(cols, name, index) for name in rest) if v is not None)


def _speed(cols: dict[str, dict[int, Value]], index: int) -> int | None:
    if _int(cols, "type", index) == mib.SOFTWARE_LOOPBACK:
        return None  # no real link speed: no utilisation, no cap on its rates
    high = _int(cols, "high_speed", index)
    speed = high * 1_000_000 if high else _int(cols, "speed", index)
    return speed if speed and speed <= MAX_SPEED_BPS else None


def _text(value: Value) -> str:
    """Agent text made safe to show (:func:`netop.text.safe_text`), bounded."""
    if not isinstance(value, bytes):
        return ""
    return safe_text(value[: _NAME_MAX * 4].strip(), limit=_NAME_MAX)
