"""Never-seen destinations (``[detect] new_destinations``, off by default).

Each local host (``local_nets``) that opens flows learns its destinations for
``new_destination_learning`` seconds from its first flow; after that, a flow it opens to
an address it never talked to is an alert (``new_destination``, severity info). Memory
is bounded: a fixed Bloom filter per host (``FILTER_BYTES``, so a host costs the same
for 10 or 10,000 destinations) and ``new_destination_hosts`` hosts at most, the least
recently active forgotten first. A Bloom filter can only err towards "seen" — a missed
new destination, never a false alarm — and a host whose destinations outgrow its filter
(``CAPACITY``: a server, a crawler) is no longer judged rather than judged badly.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable

from netop.engine.detect.attacks import Entry, Report, flow_key
from netop.engine.detect.settings import DetectSettings
from netop.model import FlowKey

#: Bytes of each host's filter (4,096 bits) and the hash functions per address.
FILTER_BYTES = 512
_HASHES = 3
#: Destinations a filter holds before it saturates: at 512 the odds that a new address
#: reads as seen are about 2 % (Bloom: (1 - e^(-k n / m))^k).
CAPACITY = 512
_SYN = 0x02


class _Host:
    """One host: when it was first seen, its destinations' filter and their count."""

    __slots__ = ("first", "bits", "count")

    def __init__(self, first: float) -> None:
        self.first = first
        self.bits = bytearray(FILTER_BYTES)
        self.count = 0

    def add(self, address: str) -> bool:
        """Note ``address``; whether it was (probably) there already."""
        seen = True
        bits = self.bits
        mask = FILTER_BYTES * 8 - 1
        h = hash(address)
        for i in range(_HASHES):
            # Double hashing (Kirsch-Mitzenmacher): k positions from two hashes.
            bit = (h + i * ((h >> 17) | 1)) & mask
            byte, flag = bit >> 3, 1 << (bit & 7)
            if not bits[byte] & flag:
                seen = False
                bits[byte] |= flag
        if not seen:
            self.count += 1
        return seen


class NewDestinations:
    """Learns each local host's destinations; reports those never seen after learning."""

    filter_bytes = FILTER_BYTES

    def __init__(self, s: DetectSettings, local: Callable[[str], bool]) -> None:
        self.learning = s.new_destination_learning
        self.max_hosts = s.new_destination_hosts
        self.local = local
        self.hosts: OrderedDict[str, _Host] = OrderedDict()
        self.started: float | None = None

    def observe(self, created: Iterable[Entry], now: float, report: Report) -> None:
        """The flows made this tick, each by its opener (the flow's source; a TCP flow
        only when its SYN was seen: one met mid-stream may be oriented either way)."""
        local = self.local
        for e in created:
            src = e.src
            if (e.proto != 6 or e.tcp_flags & _SYN) and local(src):
                self.see(src, e.dst, e, now, report)

    def see(self, host: str, dst: str, entry: Entry | None, now: float,
            report: Report) -> None:
        """``host`` opened a flow to ``dst``."""
        state = self.hosts.get(host)
        if self.started is None:
            self.started = now
        if state is None:
            state = self.hosts[host] = _Host(now)
            if len(self.hosts) > self.max_hosts:
                self.hosts.popitem(last=False)
        else:
            self.hosts.move_to_end(host)
        if state.count > CAPACITY:
            return  # too many destinations to call one unusual
        if state.add(dst) or now - state.first < self.learning:
            return
        flow: FlowKey | None = flow_key(entry) if entry is not None else None
        report("new_destination", f"{host} → {dst}", float(state.count - 1),
               "destinations known",
               f"{host} opened a flow to {dst}, which it never talked to in "
               f"{now - state.first:.0f} s", flow)

    def learning_left(self, now: float) -> float:
        """Seconds until the first host's learning ends (0: hosts are being judged;
        a host seen later has its own period)."""
        if self.started is None:
            return self.learning
        return max(0.0, self.started + self.learning - now)
