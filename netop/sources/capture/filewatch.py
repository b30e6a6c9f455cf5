"""The packets of one flow of a capture file, read back from the file for the detail screen.

Played back, a file's packets are on disk, so watching a flow does not depend on what
a ring still holds (as it must live): the file is read again from its start with a
second reader that keeps only the flow's first :data:`FIRST` and last :data:`LAST`
packets and their count (bounded memory whatever the file's size), up to where the
playback is, then follows the playback tick by tick; after the end it reads to the end.
Matching uses the capture's own aggregator and watch ring, so a packet belongs to the
flow exactly when the flow table counted it there.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import replace

from netop.model import FlowKey, FlowPackets
from netop.packet.bpf import OfflineFilter
from netop.packet.pcapfile import Batch, Packet, PcapError, read_batches
from netop.sources.capture.aggregate import PacketAggregator
from netop.sources.capture.offline import filtered
from netop.sources.capture.watch import WATCH_SIZE, from_wire, to_wire

#: Packets kept from the start and from the end of the flow (the engine shows 50).
FIRST = 25
LAST = 25

Sample = tuple[float, int, bytes, int, bool]


class FileFlowPackets:
    """One flow's packets in a capture file, read up to a point in file time."""

    def __init__(self, path: str, flow: FlowKey, packet_filter: OfflineFilter | None) -> None:
        self.flow = flow
        self.total = 0
        self.done = False
        self._first: list[Sample] = []
        self._last: deque[Sample] = deque(maxlen=LAST)
        self._handshake = (0.0, 0.0, 0.0)
        # One flow slot: the aggregator only has to match packets, not to count flows.
        self._agg = PacketAggregator(max_flows=1, keep_packets=True)
        self._agg.watch(flow)
        self._batches: Iterator[Batch] = filtered(read_batches(path), packet_filter)
        self._linktype = 0
        self._packets: list[Packet] = []
        self._next = 0

    def advance(self, until: float | None) -> None:
        """Read the packets before ``until`` (file time; ``None``: to the end of the file).

        A damaged file ends the reading quietly: the playback reports the damage.
        """
        while not self.done:
            if self._next >= len(self._packets):
                try:
                    self._linktype, self._packets = next(self._batches)
                except (StopIteration, PcapError):
                    self.done = True
                    return
                self._next = 0
            packets, start = self._packets, self._next
            # At most WATCH_SIZE packets per step: the watch ring then loses none of them.
            end = min(len(packets), start + WATCH_SIZE)
            if until is not None:
                stop = start
                while stop < end and packets[stop][0] < until:
                    stop += 1
                end = stop
            if end == start:
                return
            self._agg.add_batch(self._linktype, packets[start:end])
            self._next = end
            self._take()

    def _take(self) -> None:
        taken = self._agg.take_watched()
        if taken is None:
            return
        samples, syn, synack, ack, missed = taken
        self.total += len(samples) + missed
        self._handshake = (syn, synack, ack)
        for sample in samples:
            if len(self._first) < FIRST:
                self._first.append(sample)
            else:
                self._last.append(sample)

    def packets(self) -> FlowPackets | None:
        """What the detail screen shows: first and last packets, count, handshake RTT."""
        kept = self._first + list(self._last)
        got = from_wire(to_wire(self.flow, (kept, *self._handshake, 0)))
        return None if got is None else replace(got, total=self.total)
