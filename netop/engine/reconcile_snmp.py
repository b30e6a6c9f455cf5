"""The SNMP column group of ``netop reconcile``: the same interface's counters as its
agent reports them (``ifHCIn/OutOctets`` and packets, or the 32-bit ``ifIn/OutOctets``
where the agent has no HC columns), their difference from the kernel's in %, and the
reasons netop knows for one: 32-bit wraps and resets, and agent counter caching (an
agent serves its counters from a cache it refreshes every few seconds — net-snmp about
every 3 s — so a poll faster than that reads the same values again and the next one a
burst)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from netop.engine.rates import counter_delta
from netop.model import InterfaceSample
from netop.sources.base import Source

#: Seconds an agent may serve the same cached counters (net-snmp refreshes IF-MIB
#: counters about every 3 s; the SNMP tracker holds unchanged polls this long).
AGENT_CACHE_S = 5.0

#: The SNMP keys of a reconcile record, ``null`` while no SNMP reading is there.
SNMP_KEYS = ("snmp_target", "snmp_if", "snmp_counter_bits", "snmp_packets", "snmp_bytes",
             "snmp_diff_packets_pct", "snmp_diff_bytes_pct", "snmp_age_s")  # fmt: skip


def poll_every(sources: list[Source], interval: float) -> None:
    """Poll the SNMP targets every ``interval`` seconds (one reconcile interval)."""
    from netop.sources.snmp.source import SnmpSource

    for source in sources:
        if isinstance(source, SnmpSource):
            source.targets = tuple(replace(t, interval=interval) for t in source.targets)


def kernel_ifindex(iface: str) -> int | None:
    """The interface's kernel ifIndex (an agent on this host names it so without ifName)."""
    try:
        return int((Path("/sys/class/net") / iface / "ifindex").read_text())
    except (OSError, ValueError):
        return None


@dataclass
class SnmpSide:
    """Finds the polled interface matching the captured one and compares its counters."""

    iface: str
    poll_interval: float
    first: InterfaceSample | None = None
    prev: InterfaceSample | None = None

    def __post_init__(self) -> None:
        index = kernel_ifindex(self.iface)
        self._names = {self.iface} | ({f"ifIndex{index}"} if index is not None else set())

    def find(self, samples: tuple[InterfaceSample, ...]) -> InterfaceSample | None:
        """The latest SNMP sample of the interface (by ifName, else by ifIndex)."""
        found = [s for s in samples if s.origin.startswith("snmp:") and s.name in self._names]
        return max(found, key=lambda s: s.ts) if found else None

    @staticmethod
    def polled(samples: tuple[InterfaceSample, ...]) -> list[str]:
        """``target/ifName`` of every polled interface, for a 'not found' message."""
        return sorted(f"{s.origin.removeprefix('snmp:')}/{s.name}" for s in samples
                      if s.origin.startswith("snmp:"))  # fmt: skip

    def interval(self, now: InterfaceSample | None, kernel_packets: int, kernel_bytes: int,
                 wall: float) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
        """Fields and reasons since the previous call; remembers ``now``."""
        if self.first is None:
            self.first = now
        out = compare(self.prev or now, now, kernel_packets, kernel_bytes, wall,
                      self.poll_interval)  # fmt: skip
        self.prev = now or self.prev
        return out

    def total(self, now: InterfaceSample | None, kernel_packets: int, kernel_bytes: int,
              wall: float) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
        """Fields and reasons from the first reading to ``now``."""
        return compare(self.first, now, kernel_packets, kernel_bytes, wall, self.poll_interval,
                       whole_run=True)  # fmt: skip


def _pct(value: int | None, kernel: int) -> float | None:
    return None if value is None or kernel <= 0 else round(100.0 * (value - kernel) / kernel, 3)


def compare(start: InterfaceSample | None, end: InterfaceSample | None, kernel_packets: int,
            kernel_bytes: int, wall: float, poll_interval: float,
            whole_run: bool = False) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """The SNMP fields between two readings of one interface, beside the kernel's deltas
    over the interval, and the reasons for a difference."""
    fields: dict[str, Any] = dict.fromkeys(SNMP_KEYS)
    if start is None or end is None:
        return fields, []
    reasons: list[str] = []
    bits = end.counter_bits
    deltas = {name: counter_delta(getattr(start, name), getattr(end, name), bits)
              for name in ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets")}  # fmt: skip
    if end.discontinuity and end is not start:
        reasons.append(f"SNMP counters restarted ({end.discontinuity}): no SNMP difference")
    wrapped = [name for name, d in deltas.items() if d.wrapped]
    if wrapped:
        reasons.append(f"SNMP 32-bit counter wrapped ({', '.join(wrapped)}): taken as one wrap")
    reset = any(d.reset for d in deltas.values()) or bool(end.discontinuity and end is not start)

    def both(rx: str, tx: str) -> int | None:
        a, b = deltas[rx].value, deltas[tx].value
        return None if reset or a is None or b is None else a + b

    snmp_bytes, snmp_packets = both("rx_bytes", "tx_bytes"), both("rx_packets", "tx_packets")
    age = max(0.0, wall - end.ts)
    fields.update({
        "snmp_target": end.origin.removeprefix("snmp:"), "snmp_if": end.name,
        "snmp_counter_bits": bits, "snmp_packets": snmp_packets, "snmp_bytes": snmp_bytes,
        "snmp_diff_packets_pct": _pct(snmp_packets, kernel_packets),
        "snmp_diff_bytes_pct": _pct(snmp_bytes, kernel_bytes), "snmp_age_s": round(age, 2),
    })  # fmt: skip
    if bits < 64:
        speed = end.speed_bps
        every = (f" (every {(1 << bits) * 8 / speed:.0f} s at {speed / 1e6:g} Mbit/s)"
                 if speed else "")  # fmt: skip
        reasons.append(f"SNMP has only 32-bit counters (ifInOctets, no ifHCInOctets): they "
                       f"wrap{every}; two wraps between polls cannot be told apart")  # fmt: skip
    if snmp_bytes is not None and snmp_bytes != kernel_bytes:
        if poll_interval < AGENT_CACHE_S and not whole_run:
            what = ("reads 0 while the kernel counted" if snmp_bytes == 0 else
                    "carries counts the agent held back in earlier intervals"
                    if snmp_bytes > kernel_bytes else "misses the latest counts")
            reasons.append(
                f"SNMP agent counter caching: its counters last changed {age:.1f} s ago, "
                f"polled every {poll_interval:g} s (agents refresh them every few seconds, "
                f"net-snmp about every 3 s): this interval {what}")
        elif age > 0.5:
            reasons.append(f"the last SNMP reading is {age:.1f} s old (agent counter "
                           "caching): it misses what the kernel counted since")  # fmt: skip
    return fields, reasons


def line_part(r: dict[str, Any]) -> str:
    """The SNMP part of a human reconcile line, empty without SNMP."""
    if r.get("snmp_bytes") is None:
        return ""
    pct = r["snmp_diff_bytes_pct"]
    return (f"   snmp bytes {r['snmp_bytes']:>11} "
            f"{'—' if pct is None else f'{pct:+.2f}%':>8}")  # fmt: skip
