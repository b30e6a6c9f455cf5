"""The packets of one watched flow, for the flow detail screen.

The capture keeps a bounded ring of the most recent packets (:data:`RING_SIZE` packets,
their first :data:`SNAP` bytes each, about 1.3 MiB in C) and, per active TCP/UDP flow,
that flow's last ``flow_packets`` packets (their first :data:`FLOW_SNAP` bytes) in a
fixed pool of ``flow_rings`` flows: a quiet flow's packets survive busy ones that scroll
the global ring. Watching a flow starts with what its own ring and the global ring
still hold; from then on every packet of that flow (either direction) is also copied
to a small ring of :data:`WATCH_SIZE` packets that each tick empties. A global ring
alone would not do: at 1 Mpps it holds 4 ms of traffic, so a slow flow's packets would
scroll out between two ticks.

When every flow slot is taken, a new flow takes the slot of one not active lately (a
clock: each packet marks its flow's slot; the hand clears marks and takes the first
unmarked slot), so the pool costs at most ``flow_rings x flow_packets x 128`` bytes.

:class:`PacketRing` is the pure-Python twin of the C table's ``record``/``watch``/
``take_watched`` (used when the C fast path is unavailable).
"""

from __future__ import annotations

import socket
from collections import deque
from typing import TYPE_CHECKING, Any

from netop.packet.decode import reverse_ports

if TYPE_CHECKING:  # the capture child never builds these; only the parent does
    from netop.model import FlowKey, FlowPackets

RING_SIZE = 4096
WATCH_SIZE = 64
SNAP = 256
#: Packets kept per flow, flows in the pool, and bytes kept per packet (C: 128-byte slots).
FLOW_PACKETS = 16
FLOW_RINGS = 2048
FLOW_SNAP = 96
#: Bytes of one kept packet in the C pool (its header and FLOW_SNAP bytes of data).
FLOW_SLOT_BYTES = 128

#: What the child ships per tick: (flow, [(ts, linktype, data, wirelen, reverse)],
#: syn, synack, ack times). The child never imports the model: its flow is a plain
#: tuple in :class:`~netop.model.FlowKey`'s order, made a FlowKey again by the parent.
WatchedWire = tuple["FlowKey", list[tuple[float, int, bytes, int, bool]], float, float, float]
#: What a ring's ``take_watched`` gives: packets, syn, synack, ack times, missed count.
Taken = tuple[list[tuple[float, int, bytes, int, bool]], float, float, float, int]


def watch_key(flow: FlowKey) -> tuple[int, int | None, bytes, bytes, int, int, int, int] | None:
    """The key :meth:`PacketRing.watch` (and the C table) take, or ``None`` if unusable."""
    try:
        proto, src, sport, dst, dport, vlan = flow
        family = socket.AF_INET6 if ":" in src else socket.AF_INET
        a, b = socket.inet_pton(family, src), socket.inet_pton(family, dst)
        rsport, rdport = reverse_ports(proto, sport, dport)
        return (proto, vlan, a, b, sport, dport, rsport, rdport)
    except (OSError, ValueError, TypeError):
        return None


class FlowRings:
    """The last ``k`` packets of each of at most ``n`` TCP/UDP flows (``_fastflow``'s
    ``fring.h`` twin: same slots, same clock)."""

    def __init__(self, k: int, n: int) -> None:
        self.k, self.n = k, n
        self._slot: dict[tuple[Any, ...], int] = {}
        self._keys: list[tuple[Any, ...]] = []
        self._rings: list[deque[tuple[int, tuple[Any, ...], int]]] = []
        self._ref: list[bool] = []
        self._hand = 0

    def keep(self, seq: int, item: tuple[Any, ...]) -> None:
        """Keep ``item`` (a :meth:`PacketRing.record` tuple), number ``seq``, in its flow's ring."""
        proto, vlan, src, dst, sport, dport = item[4:10]
        if proto != 6 and proto != 17:
            return
        fwd = (src, sport) <= (dst, dport)
        key = (
            (proto, vlan, src, dst, sport, dport) if fwd else (proto, vlan, dst, src, dport, sport)
        )
        i = self._slot.get(key)
        if i is None:
            i = self._take(key)
        self._ref[i] = True
        self._rings[i].append((seq, item, 0 if fwd else 1))

    def _take(self, key: tuple[Any, ...]) -> int:
        if len(self._keys) < self.n:
            self._keys.append(key)
            self._rings.append(deque(maxlen=self.k))
            self._ref.append(True)
            i = len(self._keys) - 1
        else:
            while self._ref[self._hand]:
                self._ref[self._hand] = False
                self._hand = (self._hand + 1) % self.n
            i, self._hand = self._hand, (self._hand + 1) % self.n
            del self._slot[self._keys[i]]
            self._keys[i] = key
            self._rings[i].clear()
        self._slot[key] = i
        return i

    def held(self, key: tuple[Any, ...], before: int) -> list[tuple[tuple[Any, ...], bool]]:
        """The kept packets of the flow ``key`` (``watch``'s first six fields) numbered
        below ``before``, oldest first, with whether each went the other way."""
        proto, vlan, src, dst, sport, dport = key
        fwd = (src, sport) <= (dst, dport)
        canon = key if fwd else (proto, vlan, dst, src, dport, sport)
        i = self._slot.get(canon)
        if i is None:
            return []
        return [(item, (d == 0) != fwd) for seq, item, d in self._rings[i] if seq < before]


class PacketRing:
    """Recent packets (bounded) and the watched flow's new ones, with its handshake times."""

    def __init__(self, flow_packets: int = FLOW_PACKETS, flow_rings: int = FLOW_RINGS) -> None:
        self._ring: deque[tuple[Any, ...]] = deque(maxlen=RING_SIZE)
        self._flows = FlowRings(flow_packets, flow_rings) if flow_packets > 0 else None
        self._seq = 0
        self._watched: deque[tuple[float, int, bytes, int, bool]] = deque(maxlen=WATCH_SIZE)
        self._key: tuple[Any, ...] | None = None
        self._rkey: tuple[Any, ...] | None = None
        self._seen = 0
        self._hs = [0.0, 0.0, 0.0]

    def record(self, *item: Any) -> None:
        """Keep one packet: ``(ts, linktype, data, wirelen, proto, vlan, src, dst, sport,
        dport, tcp_flags)``, ``data`` already cut to :data:`SNAP` bytes by the caller.

        A bare ``*args`` tuple: this runs once per packet on the pure-Python path.
        """
        if self._flows is not None:
            self._flows.keep(self._seq, item)
        self._seq += 1
        self._ring.append(item)
        if self._key is not None:
            self._match(item)

    def _match(self, item: tuple[Any, ...]) -> None:
        key = item[4:10]
        if key == self._key:
            rev = False
        elif key == self._rkey:
            rev = True
        else:
            return
        self._keep(item, rev)

    def _keep(self, item: tuple[Any, ...], rev: bool) -> None:
        ts = item[0]
        self._watched.append((ts, item[1], item[2], item[3], rev))
        self._seen += 1
        if item[4] == 6:
            handshake(self._hs, ts, item[10], rev)

    def watch(self, key: tuple[int, int | None, bytes, bytes, int, int, int, int] | None) -> None:
        """Start (``None``: stop) watching a flow; the ring's matching packets come first."""
        self._key = self._rkey = None
        self._watched.clear()
        self._seen = 0
        self._hs = [0.0, 0.0, 0.0]
        if key is None:
            return
        proto, vlan, a, b, sport, dport, rsport, rdport = key
        self._key = (proto, vlan, a, b, sport, dport)
        self._rkey = (proto, vlan, b, a, rsport, rdport)
        if self._flows is not None:  # what only the flow's own ring still holds
            for item, rev in self._flows.held(self._key, self._seq - len(self._ring)):
                self._keep(item[:2] + (item[2][:FLOW_SNAP],) + item[3:], rev)
        for item in self._ring:
            self._match(item)

    def take_watched(self) -> Taken:
        """New packets since the last take, handshake times (0.0 = not seen), missed count."""
        out = list(self._watched)
        missed = self._seen - len(out)
        self._watched.clear()
        self._seen = 0
        return out, self._hs[0], self._hs[1], self._hs[2], missed


class PacketWatch:
    """The watch API of :class:`~netop.sources.capture.aggregate.PacketAggregator` (a mixin).

    ``_ring`` is the C table or a :class:`PacketRing` when packets are kept, else ``None``.
    """

    _ring: Any = None
    _watching: FlowKey | None = None

    def watch(self, flow: FlowKey | None) -> None:
        """Keep the packets of ``flow`` (either direction) from now on; ``None`` stops.

        Needs ``keep_packets``; the recent packets of the flow still held come first.
        """
        key = watch_key(flow) if flow is not None else None
        self._watching = flow if key is not None else None
        if self._ring is not None:
            self._ring.watch(key)

    @property
    def watching(self) -> FlowKey | None:
        """The flow being watched, if any."""
        return self._watching

    def take_watched(self) -> Taken | None:
        """The watched flow's packets since the last call and its handshake times."""
        if self._watching is None or self._ring is None:
            return None
        taken: Taken = self._ring.take_watched()
        return taken


def handshake(hs: list[float], ts: float, flags: int, rev: bool) -> None:
    """Advance [syn, synack, ack] times with one TCP packet (same rules as the C code)."""
    f = flags & 0x12
    if f == 0x02 and not rev and not hs[0]:
        hs[0] = ts
    elif f == 0x12 and rev and hs[0] and not hs[1] and ts >= hs[0]:
        hs[1] = ts
    elif f == 0x10 and not rev and hs[1] and not hs[2] and ts >= hs[1]:
        hs[2] = ts


def to_wire(flow: FlowKey, taken: Taken) -> WatchedWire:
    """The watched part of a batch message (plain data, time-ordered)."""
    packets, syn, synack, ack, _missed = taken
    packets.sort(key=lambda p: p[0])  # C and Python paths may interleave within a tick
    return (flow, packets, syn, synack, ack)


def from_wire(wire: Any) -> FlowPackets | None:
    """The :class:`FlowPackets` of a batch message's watched part (``None`` if absent/bad)."""
    from netop.model import FlowKey, FlowPackets, PacketSample

    try:
        flow, packets, syn, synack, ack = wire
        samples = tuple(
            PacketSample(float(ts), int(lt), bytes(data), int(wl), bool(rev))
            for ts, lt, data, wl, rev in packets[:WATCH_SIZE]
        )
        proto, src, sport, dst, dport, vlan = flow
        key = FlowKey(int(proto), str(src), int(sport), str(dst), int(dport), vlan)
    except (TypeError, ValueError):
        return None
    syn_rtt = synack - syn if syn and synack else None
    hs_rtt = ack - syn if syn and synack and ack else None
    return FlowPackets(key, samples, hs_rtt, syn_rtt)
