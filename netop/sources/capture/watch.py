"""The packets of one watched flow, for the flow detail screen.

The capture keeps a bounded ring of the most recent packets (:data:`RING_SIZE` packets,
their first :data:`SNAP` bytes each, about 1.3 MiB in C) so that watching a flow starts
with what the ring still holds; from then on every packet of that flow (either
direction) is also copied to a small ring of :data:`WATCH_SIZE` packets that each tick
empties. A global ring alone would not do: at 1 Mpps it holds 4 ms of traffic, so a
slow flow's packets would scroll out between two ticks.

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


class PacketRing:
    """Recent packets (bounded) and the watched flow's new ones, with its handshake times."""

    def __init__(self) -> None:
        self._ring: deque[tuple[Any, ...]] = deque(maxlen=RING_SIZE)
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
