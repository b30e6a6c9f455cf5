"""Cumulative interface counters in, per-interval rates out — never a negative or a spike.

A counter that goes down between two samples is either a wrap (a 32-bit SNMP counter
passing 2**32) or a reset (driver reset, interface recreated, agent reboot). A wrap
is taken only where it is plausible: a 32-bit counter whose wrapped delta is less
than half the counter's range. Anything else is a reset: that interval gets no rate
and an event says why. For remote counters, a delta larger than the link could carry
in the interval is discarded too (an SNMP agent that skipped a wrap or mixed up
counters would otherwise show a spike); local kernel counters are 64-bit and never
wrap, and a veth's nominal speed says nothing about what it can carry, so they are
not capped.
"""

from __future__ import annotations

from dataclasses import dataclass

from netop.model import (
    COUNTER_FIELDS,
    InterfaceRate,
    InterfaceSample,
    NetEvent,
    Severity,
    iface_label,
)

#: Width of the kernel's qdisc drop counter (``struct gnet_stats_queue.drops``).
QDISC_DROPS_BITS = 32

#: Counters whose reset invalidates the interval's rates.
_RATE_FIELDS = ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets")

#: Headroom over the nominal link speed before a delta is called implausible: counters
#: include L2 framing the speed does not, and sample times jitter.
SPIKE_HEADROOM = 1.5


@dataclass(frozen=True, slots=True)
class CounterDelta:
    """The difference between two readings of one counter."""

    value: int | None
    reset: bool = False
    wrapped: bool = False


def counter_delta(old: int | None, new: int | None, bits: int) -> CounterDelta:
    """Delta of a cumulative counter of ``bits`` width, telling a wrap from a reset."""
    if old is None or new is None:
        return CounterDelta(None)
    if new >= old:
        return CounterDelta(new - old)
    if bits < 64:
        span = 1 << bits
        wrapped = new + span - old
        if 0 <= wrapped < span // 2:
            return CounterDelta(wrapped, wrapped=True)
    return CounterDelta(None, reset=True)


class RateTracker:
    """Turns successive :class:`InterfaceSample` of each interface into rates."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], InterfaceSample] = {}

    def forget(self, key: tuple[str, str]) -> None:
        """Drop the state of an interface that is gone."""
        self._last.pop(key, None)

    def samples(self) -> tuple[InterfaceSample, ...]:
        """The latest sample of every interface (its raw cumulative counters)."""
        return tuple(self._last.values())

    def update(self, sample: InterfaceSample) -> tuple[InterfaceRate, list[NetEvent]]:
        """Rates since the previous sample of the same interface, and any events.

        Rates are ``None`` on the first sample, after a discontinuity, after a
        counter reset and when a remote delta exceeds what the link could carry.
        """
        prev = self._last.get(sample.key)
        self._last[sample.key] = sample
        events: list[NetEvent] = []
        deltas: dict[str, int | None] = dict.fromkeys(COUNTER_FIELDS)
        trusted = prev is not None and sample.ts > prev.ts
        if prev is not None and sample.discontinuity:
            trusted = False
            if not sample.discontinuity_said:
                events.append(self._event(sample, Severity.WARNING,
                                          f"counter discontinuity: {sample.discontinuity}; "
                                          "no rate this interval"))
        elif prev is not None and trusted:
            reset_fields = []
            for name in COUNTER_FIELDS:
                delta = counter_delta(getattr(prev, name), getattr(sample, name),
                                      sample.counter_bits)
                deltas[name] = delta.value
                if delta.reset:
                    reset_fields.append(name)
            if reset_fields:
                trusted = not any(name in _RATE_FIELDS for name in reset_fields)
                message = f"counter reset ({', '.join(reset_fields)} went backwards)"
                if not trusted:
                    message += "; no rate this interval"
                events.append(self._event(sample, Severity.WARNING, message))
        rates = self._rates(prev, sample, deltas) if trusted and prev else None
        if rates is not None and self._implausible(sample, rates[0], rates[1]):
            events.append(self._event(
                sample, Severity.WARNING,
                f"discarded an implausible delta ({_mbps(max(rates[0], rates[1]))} on a "
                f"{_mbps(float(sample.speed_bps or 0))} link)"))
            rates = None
        if rates is None:
            deltas = dict.fromkeys(COUNTER_FIELDS) if not trusted else deltas
        rx_bps, tx_bps, rx_pps, tx_pps = rates if rates else (None, None, None, None)
        qdisc_drops = (counter_delta(prev.qdisc_drops, sample.qdisc_drops,
                                     QDISC_DROPS_BITS).value
                       if trusted and prev is not None else None)
        return (
            InterfaceRate(
                origin=sample.origin,
                name=sample.name,
                ts=sample.ts,
                rx_bps=rx_bps,
                tx_bps=tx_bps,
                rx_pps=rx_pps,
                tx_pps=tx_pps,
                deltas=deltas,
                counters={name: getattr(sample, name) for name in COUNTER_FIELDS},
                speed_bps=sample.speed_bps,
                oper_up=sample.oper_up,
                qdisc_drops=qdisc_drops,
            ),
            events,
        )

    @staticmethod
    def _rates(
        prev: InterfaceSample, sample: InterfaceSample, deltas: dict[str, int | None]
    ) -> tuple[float, float, float, float] | None:
        dt = sample.ts - prev.ts

        def per_s(name: str, scale: int = 1) -> float:
            value = deltas[name]
            return 0.0 if value is None else value * scale / dt

        return (per_s("rx_bytes", 8), per_s("tx_bytes", 8), per_s("rx_packets"),
                per_s("tx_packets"))

    @staticmethod
    def _implausible(sample: InterfaceSample, rx_bps: float, tx_bps: float) -> bool:
        if sample.origin == "local" or not sample.speed_bps:
            return False
        return max(rx_bps, tx_bps) > sample.speed_bps * SPIKE_HEADROOM

    @staticmethod
    def _event(sample: InterfaceSample, severity: Severity, message: str) -> NetEvent:
        label = iface_label(sample.origin, sample.name)
        return NetEvent(sample.ts, severity, sample.origin, f"{label}: {message}",
                        row=(sample.origin, sample.name))


def _mbps(bps: float) -> str:
    return f"{bps / 1e6:.1f} Mbit/s"
