"""Attack and misuse detection over the flows that moved in a tick.

Fed the flow table's touched entries once per tick (cumulative counters plus this
tick's), so the cost follows the flows that moved, not the table. What counts:

- SYN flood (ntopng: > 256 SYN/s to one destination): packets of TCP flows with a SYN,
  no payload and no completed handshake (an answer, an ACK from the opener and no
  RST), summed per destination over at least one second.
- ICMP flood: ICMP packets to one destination per second.
- Scans as Zeek's scan.zeek counts them: only failed attempts (rejected — a RST with
  no payload exchanged — or unanswered within ``scan_reply_timeout``); an address scan
  is one source failing on ``address_scan_hosts`` hosts on one port within
  ``scan_window``, a port scan one source failing on ``port_scan_ports`` ports of one
  host. TCP attempts with a SYN, UDP, and ICMP echo requests count.
- Large transfer: a local host (``local_nets``) sending more than
  ``large_transfer_bytes`` to one remote within 60 s, summed per (local, remote) pair
  over every flow between them — parallel or consecutive connections add up. A flow
  counts in a tick when it moved at least 1/``large_transfer_flows`` of that rate in it
  (a C-speed filter, so 100k flows of a few packets cost little): a transfer split
  over up to ``large_transfer_flows`` flows at once is seen.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from itertools import compress
from operator import attrgetter
from types import ModuleType
from typing import Protocol

from netop.engine.detect.settings import DetectSettings
from netop.engine.detect.watchlist import PrefixSet
from netop.model import FlowKey, proto_name

#: No payload: L3 bytes per packet at most this (IPv6 40 + TCP 60 with options).
_HEADER_ONLY = 100
_SYN, _RST, _ACK = 0x02, 0x04, 0x10
#: ICMP / ICMPv6 echo request as the flow's dport (type * 256 + code).
_ECHO = {1: 8 * 256, 58: 128 * 256}
#: ICMP error types (unreachable, source quench, redirect, time exceeded, parameter
#: problem; ICMPv6 1-4): answers to other traffic, not a flood of their own — a burst of
#: UDP to a closed port must not read as an ICMP flood to its sender.
_ERRORS = {1: frozenset({3, 4, 5, 11, 12}), 58: frozenset({1, 2, 3, 4})}


def _icmp_error(proto: int, dport: int) -> bool:
    return (dport >> 8) in _ERRORS[proto]
#: Attempts awaiting an answer, at most (the oldest are judged early beyond this).
MAX_PENDING = 250_000
#: Seconds between sweeps of the whole table for busy flows.
SWEEP_EVERY = 5.0
#: Packets a flow needs before a sweep looks at it (a tenth of a SYN flood second).
_BUSY_PACKETS = 25
_TICK_PACKETS = attrgetter("tick_packets")
_TICK_BYTES = attrgetter("tick_bytes")
_TICK_BYTES_REV = attrgetter("tick_bytes_rev")


class Entry(Protocol):
    """What is read of a flow-table entry (``netop.engine.flowtable.FlowEntry``)."""

    proto: int
    src: str
    sport: int
    dst: str
    dport: int
    vlan: int | None
    packets: int
    bytes: int
    packets_rev: int
    bytes_rev: int
    tick_packets: int
    tick_bytes: int
    tick_packets_rev: int
    tick_bytes_rev: int
    tcp_flags: int


#: A finding: kind, entity, value, unit, message, the flow behind it.
Finding = tuple[str, str, float, str, str, FlowKey | None]
Report = Callable[[str, str, float, str, str, FlowKey | None], None]


def flow_key(e: Entry) -> FlowKey:
    """The entry's 5-tuple (and VLAN)."""
    return FlowKey(e.proto, e.src, e.sport, e.dst, e.dport, e.vlan)


def _half_open(e: Entry, flags: int) -> bool:
    """A SYN with no payload and no completed handshake (no answer, no ACK from the
    opener, or a RST)."""
    return e.bytes <= _HEADER_ONLY * e.packets and not (
        flags & _ACK and e.packets_rev and e.packets >= 2 and not flags & _RST)


def failed(e: Entry) -> bool:
    """Whether an attempt failed: no answer, or rejected before any payload."""
    if e.packets_rev == 0:
        return True
    if e.proto != 6 or not e.tcp_flags & _RST:
        return False
    return (e.bytes <= _HEADER_ONLY * e.packets
            and e.bytes_rev <= _HEADER_ONLY * e.packets_rev)


class _Counts:
    """Per-key counts over at least one second of ticks, then judged as rates."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.seconds = 0.0
        self.example: dict[str, FlowKey] = {}

    def rates(self, seconds: float) -> dict[str, float] | None:
        """Per-second rates once the ticks since the last ones span a second."""
        self.seconds += seconds
        if self.seconds < 1.0:
            return None
        out = {k: v / self.seconds for k, v in self.counts.items()}
        self.counts = {}
        self.seconds = 0.0
        return out


class _Seen:
    """Per key, distinct values with when each was last seen, bounded in keys."""

    def __init__(self, window: float, max_keys: int) -> None:
        self.window = window
        self.max_keys = max_keys
        self.by_key: OrderedDict[tuple[object, ...], dict[object, float]] = OrderedDict()

    def add(self, key: tuple[object, ...], value: object, now: float, limit: int) -> int:
        """Note ``value`` under ``key``; how many distinct values in the window."""
        values = self.by_key.get(key)
        if values is None:
            values = self.by_key[key] = {}
            if len(self.by_key) > self.max_keys:
                self.by_key.popitem(last=False)
        else:
            self.by_key.move_to_end(key)
        values[value] = now
        if len(values) >= limit:
            old = now - self.window
            for v in [v for v, ts in values.items() if ts < old]:
                del values[v]
            if len(values) > 8 * limit:  # bounded: a scan of a /8 keeps the newest
                for v in list(values)[: len(values) - 6 * limit]:
                    del values[v]
        return len(values)


class AttackDetector:
    """SYN and ICMP floods, address and port scans, large transfers."""

    def __init__(self, s: DetectSettings) -> None:
        self.s = s
        self._syn = _Counts()
        self._icmp = _Counts()
        self._pending: deque[tuple[float, Entry]] = deque()
        self._addr = _Seen(s.scan_window, s.max_tracked)
        self._ports = _Seen(s.scan_window, s.max_tracked)
        #: The last minute's ticks, each its bytes per (local, remote) pair, oldest first;
        #: and their sums per pair: a tick costs the pairs that moved in it, not all.
        self._pairs: deque[tuple[float, dict[tuple[str, str], int]]] = deque()
        self._pair_sums: dict[tuple[str, str], int] = {}
        self._local_cache: dict[str, bool] = {}
        self._busy: OrderedDict[Entry, None] = OrderedDict()
        self._busy_tick = s.large_transfer_bytes / 600.0
        self._swept = float("-inf")
        self._listed_cache: dict[str, bool] = {}
        self._waiting: set[Entry] = set()
        self._last: float | None = None
        self._native = _native_filter()

    def observe(self, created: Iterable[Entry], now: float, report: Report,
                prefixes: PrefixSet | None = None,
                moved: Sequence[Entry] | None = None) -> None:
        """Judge one tick: the flows ``created`` in it, the busy flows noticed before
        (re-found every ``SWEEP_EVERY`` seconds among the flows that ``moved`` in the
        tick); ``report`` each finding. ``prefixes``: the watchlist new flows are
        checked against."""
        s = self.s
        seconds = 1.0 if self._last is None else max(now - self._last, 1e-3)
        self._last = now
        syn, icmp = self._syn.counts, self._icmp.counts
        syn_ex, icmp_ex = self._syn.example, self._icmp.example
        pending, waiting = self._pending, self._waiting
        deadline = now + s.scan_reply_timeout
        rejected: list[Entry] = []
        listed = prefixes if prefixes is not None and len(prefixes) else None
        busy = self._busy
        self._busy_tick = s.large_transfer_bytes / 600.0 * min(seconds, 60.0)
        for e in created:
            if listed is not None:
                self._check_listed(e, listed, report)
            proto = e.proto
            tp = e.tick_packets
            if proto == 6:
                flags = e.tcp_flags
                if flags & _SYN:
                    if flags & _RST and failed(e):
                        rejected.append(e)
                    else:
                        pending.append((deadline, e))
                        waiting.add(e)
                    if _half_open(e, flags):
                        dst = e.dst
                        if dst not in syn:
                            syn_ex[dst] = flow_key(e)
                        syn[dst] = syn.get(dst, 0) + tp
            elif proto == 17:
                pending.append((deadline, e))
                waiting.add(e)
            elif (proto == 1 or proto == 58) and not _icmp_error(proto, e.dport):
                if e.dport == _ECHO[proto]:
                    pending.append((deadline, e))
                    waiting.add(e)
                dst = e.dst
                if dst not in icmp:
                    icmp_ex[dst] = flow_key(e)
                icmp[dst] = icmp.get(dst, 0) + tp
            if self._is_busy(e):
                busy[e] = None
                if len(busy) > s.max_tracked:
                    busy.popitem(last=False)
        if moved is not None and now - self._swept >= SWEEP_EVERY:
            self._sweep(moved, now)
        pairs = self._busy_flows(now, created, moved is None)
        if moved is not None:
            pairs = self._pair_bytes(moved, seconds)
        for e in rejected:
            self._failed(e, now, report)
        self._judge_pending(now, report)
        self._floods(seconds, report)
        self._transfers(pairs, now, report)

    def _is_busy(self, e: Entry) -> bool:
        """Whether a flow is worth reading every tick, by what it did in this one: a
        tenth of the large-transfer rate, or a stream of SYNs or ICMP packets."""
        if e.tick_bytes >= self._busy_tick or e.tick_bytes_rev >= self._busy_tick:
            return True
        if e.tick_packets < _BUSY_PACKETS:
            return False
        proto = e.proto
        return proto == 1 or proto == 58 or (proto == 6 and _half_open(e, e.tcp_flags))

    def _sweep(self, moved: Sequence[Entry], now: float) -> None:
        """Find the busy flows among those that moved in this tick (a busy flow moves
        every tick); a C-speed prefilter on this tick's packets first."""
        self._swept = now
        least = min(_BUSY_PACKETS, int(self._busy_tick // 1500) + 1)
        many = compress(moved, map(least.__le__, map(_TICK_PACKETS, moved)))
        busy: OrderedDict[Entry, None] = OrderedDict()
        for e in many:
            if self._is_busy(e):
                busy[e] = None
        self._busy = busy

    def _busy_flows(self, now: float, created: Iterable[Entry],
                    with_pairs: bool = True) -> dict[tuple[str, str], int]:
        """This tick's SYN and ICMP packets and bytes of the busy flows; the bytes per
        (sender, receiver) pair (``with_pairs``: without the flows that moved, only the
        busy ones can be summed)."""
        syn, icmp = self._syn.counts, self._icmp.counts
        pairs: dict[tuple[str, str], int] = {}
        floor = self._busy_tick
        if with_pairs:
            for e in created:  # their bytes so far, once
                if e.bytes >= floor or e.bytes_rev >= floor:
                    self._add_pair(pairs, e, e.bytes, e.bytes_rev)
        for e in self._busy:
            tp = e.tick_packets
            if not (tp or e.tick_packets_rev):
                continue
            if tp == e.packets and e.tick_packets_rev == e.packets_rev:
                continue  # new this tick: counted with the created ones
            proto = e.proto
            if proto == 6 and _half_open(e, e.tcp_flags):
                syn[e.dst] = syn.get(e.dst, 0) + tp
            elif (proto == 1 or proto == 58) and not _icmp_error(proto, e.dport):
                icmp[e.dst] = icmp.get(e.dst, 0) + tp
            if with_pairs:
                self._add_pair(pairs, e, e.tick_bytes, e.tick_bytes_rev)
        return pairs

    def _pair_bytes(self, moved: Sequence[Entry], seconds: float) -> dict[tuple[str, str], int]:
        """This tick's bytes per (sender, receiver) pair, over every flow that moved at
        least 1/``large_transfer_flows`` of the large-transfer rate in it, either way."""
        floor = max(1, int(self.s.large_transfer_bytes / 60.0 / self.s.large_transfer_flows
                           * min(seconds, 60.0)))
        pairs: dict[tuple[str, str], int] = {}
        enough: Iterable[Entry] | None = None
        if self._native is not None:
            try:
                enough = self._native.moved_bytes(moved, floor)
            except TypeError:  # entries of the pure-Python table
                enough = None
        if enough is None:
            over = floor.__le__
            enough = {*compress(moved, map(over, map(_TICK_BYTES, moved))),
                      *compress(moved, map(over, map(_TICK_BYTES_REV, moved)))}
        for e in enough:  # each way that moved enough: a request's few bytes don't
            fwd, rev = e.tick_bytes, e.tick_bytes_rev
            if fwd >= floor:
                k = (e.src, e.dst)
                pairs[k] = pairs.get(k, 0) + fwd
            if rev >= floor:
                k = (e.dst, e.src)
                pairs[k] = pairs.get(k, 0) + rev
        return pairs

    @staticmethod
    def _add_pair(pairs: dict[tuple[str, str], int], e: Entry, fwd: int, rev: int) -> None:
        if fwd:
            k = (e.src, e.dst)
            pairs[k] = pairs.get(k, 0) + fwd
        if rev:
            k = (e.dst, e.src)
            pairs[k] = pairs.get(k, 0) + rev

    # -- scans --------------------------------------------------------------------------

    def _judge_pending(self, now: float, report: Report) -> None:
        pending, waiting = self._pending, self._waiting
        while pending and (pending[0][0] <= now or len(pending) > MAX_PENDING):
            _, e = pending.popleft()
            if e in waiting:
                waiting.discard(e)
                if failed(e):
                    self._failed(e, now, report)

    def check_all(self, entries: Iterable[Entry], prefixes: PrefixSet,
                  report: Report) -> None:
        """Every live flow against a list that just changed."""
        self._listed_cache.clear()
        if len(prefixes):
            for e in entries:
                self._check_listed(e, prefixes, report)

    def _check_listed(self, e: Entry, prefixes: PrefixSet, report: Report) -> None:
        cache = self._listed_cache
        for address in (e.src, e.dst):
            hit = cache.get(address)
            if hit is None:
                hit = address in prefixes
                if len(cache) > self.s.max_tracked:
                    cache.clear()
                cache[address] = hit
            if hit:
                other = e.dst if address == e.src else e.src
                report("watchlist", address, float(e.bytes + e.bytes_rev), "bytes",
                       f"flow between {other} and {address}, which is on the watchlist "
                       f"({_service(e.proto, e.dport)})", flow_key(e))
                return

    def _failed(self, e: Entry, now: float, report: Report) -> None:
        s = self.s
        src, dst, port = e.src, e.dst, (e.proto, e.dport)
        hosts = self._addr.add((src, port), dst, now, s.address_scan_hosts)
        if hosts >= s.address_scan_hosts:
            service = _service(e.proto, e.dport)
            report("address_scan", src, hosts, "hosts",
                   f"{src} scanned at least {hosts} hosts on {service} in "
                   f"{s.scan_window:.0f} s (failed attempts)", flow_key(e))
        ports = self._ports.add((src, dst), port, now, s.port_scan_ports)
        if ports >= s.port_scan_ports:
            report("port_scan", f"{src} → {dst}", ports, "ports",
                   f"{src} scanned at least {ports} ports of {dst} in {s.scan_window:.0f} s "
                   "(failed attempts)", flow_key(e))

    # -- floods -------------------------------------------------------------------------

    def _floods(self, seconds: float, report: Report) -> None:
        s = self.s
        for counts, limit, kind, what in ((self._syn, s.syn_flood_rate, "syn_flood", "SYN"),
                                          (self._icmp, s.icmp_flood_rate, "icmp_flood",
                                           "ICMP packets")):
            examples = counts.example
            rates = counts.rates(seconds)
            if rates is None:
                continue
            for dst, rate in rates.items():
                if rate > limit:
                    report(kind, dst, rate, f"{what}/s",
                           f"{rate:.0f} {what}/s to {dst} (limit {limit:.0f})",
                           examples.get(dst))
            counts.example = {}

    # -- large transfers ------------------------------------------------------------------

    def is_local(self, address: str) -> bool:
        """Whether ``address`` is in ``local_nets`` (cached)."""
        return self._local(address)

    def _local(self, address: str) -> bool:
        hit = self._local_cache.get(address)
        if hit is None:
            try:
                ip = ipaddress.ip_address(address)
                hit = any(ip in net for net in self.s.local_nets)
            except ValueError:
                hit = False
            if len(self._local_cache) > self.s.max_tracked:
                self._local_cache.clear()
            self._local_cache[address] = hit
        return hit

    def _transfers(self, pairs: dict[tuple[str, str], int], now: float,
                   report: Report) -> None:
        limit = self.s.large_transfer_bytes
        sums = self._pair_sums
        outbound = {pair: b for pair, b in pairs.items()
                    if self._local(pair[0]) and not self._local(pair[1])}
        window = self._pairs
        cutoff = now - 60.0
        while window and (window[0][0] <= cutoff or len(sums) > self.s.max_tracked):
            for pair, b in window.popleft()[1].items():
                left = sums[pair] - b
                if left > 0:
                    sums[pair] = left
                else:
                    del sums[pair]
        if not outbound:
            return
        window.append((now, outbound))
        for pair, b in outbound.items():
            total = sums[pair] = sums.get(pair, 0) + b
            if total > limit:
                src, dst = pair
                report("large_transfer", f"{src} → {dst}", float(total), "bytes/min",
                       f"{src} sent {_bytes(total)} to {dst} within a minute "
                       f"(limit {_bytes(limit)})", None)


def _native_filter() -> ModuleType | None:
    """The C module when the flow table's entries are its ``Counters`` (what
    ``moved_bytes`` reads); else None and the filter is Python's."""
    from netop.native import fastpath

    module = fastpath.load()
    return module if module is not None and hasattr(module, "moved_bytes") else None


def _service(proto: int, dport: int) -> str:
    if proto in _ECHO:
        return f"{proto_name(proto)} echo"
    return f"{proto_name(proto)}/{dport}"


def _bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"
