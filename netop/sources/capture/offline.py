"""Reading a capture file into flows, as fast as possible or at recorded speed.

Flow timeouts run on packet time, checked once per batch of packets (a few MiB of
file), so a flow's idle gap *inside* one batch does not split it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from io import BufferedIOBase
from typing import BinaryIO, TypeAlias, cast

from netop.model import FlowRecord
from netop.packet.bpf import OfflineFilter
from netop.packet.pcapfile import (
    MAX_SNAPLEN,
    Batch,
    Packet,
    PcapError,
    ReadCounts,
    open_classic,
    read_batches,
)
from netop.sources.capture.aggregate import PacketAggregator
from netop.sources.capture.steer import GAP_SECONDS, FileSteering, gap_text

#: Bytes read at a time into the one buffer a file's packets are counted from. 1 MiB, not
#: more: a 16 MiB buffer cost every read 4,000 page faults (10 ms: most of a small file's
#: read) and streamed through the caches the flow table lives in.
_CHUNK = 1 << 20
_TICK = 1.0
#: The smallest pcap record that can start a flow (16-byte header, raw IPv4 + ports):
#: a buffer of ``room * _MIN_FLOW_RECORD`` bytes cannot hold more new flows than ``room``.
_MIN_FLOW_RECORD = 16 + 20 + 4
#: Most slots the file reader's aggregator has for one interval's new flows (fewer with
#: a smaller table): what one second of a file may bring before it is handed on.
_AGG_FLOWS = 65536
#: Fewest slots: room for a window that holds the largest record (see ``_room``).
_AGG_MIN_FLOWS = 16384


@dataclass
class FileReadResult:
    """What reading a file gave: counters and the error that stopped it, if any."""

    packets: int = 0
    malformed: int = 0
    non_ip: int = 0
    bad_timestamps: int = 0
    """Packets given their predecessor's time: theirs was impossible (``MAX_TIMESTAMP``)."""
    overflow: int = 0
    """Packets of new flows the aggregator refused (none when it is drained in time)."""
    last_ts: float = 0.0
    last_tick: float = 0.0
    error: PcapError | None = None
    filtered_out: int = 0
    """Packets the capture (BPF) filter did not keep: never counted in ``packets``."""


#: One tick of a file read as fast as it goes: the flow deltas as the aggregator's rows,
#: the source name, the sampling rate and the file's clock at the end of the tick.
FileTick: TypeAlias = tuple[list[FlowRecord], float]


class FileReader:
    """Reads every readable packet of a capture file into per-tick flow deltas.

    Iterating gives one :data:`FileTick` per second of packet time (and whenever the
    aggregator is nearly full, so no new flow is refused: a flood of them ends in the
    consumer's flow-table evictions). A damaged file is not raised: after the last
    readable tick its error is in :attr:`result`, with the counters.
    """

    def __init__(
        self,
        path: str,
        max_flows: int,
        agg: PacketAggregator | None = None,
        packet_filter: OfflineFilter | None = None,
        tick: float = _TICK,
    ) -> None:
        """``tick``: seconds of packet time per tick (a consumer that draws nothing per
        tick may take them coarser: flows still end on time, a tick late at most)."""
        self.path = path
        self.tick = tick
        self.agg = agg if agg is not None else PacketAggregator(
            max_flows=min(max(max_flows, _AGG_MIN_FLOWS), _AGG_FLOWS))
        self.packet_filter = packet_filter
        self.result = FileReadResult()
        self._started = False

    def __iter__(self) -> Iterator[FileTick]:
        agg, result = self.agg, self.result
        counts = ReadCounts()
        try:
            classic = None if self.packet_filter else open_classic(self.path)
            if classic is not None:
                yield from self._read_classic(classic)
            else:
                for linktype, packets in self._filtered(read_batches(self.path, counts)):
                    start = 0
                    while start < len(packets):
                        room = yield from self._room(packets[start][0])
                        end = start + room
                        agg.add_batch(linktype, packets[start:end])
                        yield from self._tick(packets[min(end, len(packets)) - 1][0])
                        start = end
        except PcapError as exc:
            result.error = exc
        yield agg.drain(), result.last_ts
        result.packets, result.malformed, result.non_ip = agg.packets, agg.malformed, agg.non_ip
        result.bad_timestamps = counts.bad_timestamps
        result.overflow = agg.stats()["overflow"]

    def _filtered(self, batches: Iterator[Batch]) -> Iterator[Batch]:
        """:func:`filtered`, counting what the filter leaves out (for the summary)."""
        if self.packet_filter is None:
            yield from batches
            return
        result = self.result
        for batch in batches:
            kept = next(filtered(iter((batch,)), self.packet_filter), None)
            result.filtered_out += len(batch[1]) - (len(kept[1]) if kept else 0)
            if kept is not None:
                yield kept

    def _room(self, now: float) -> Generator[FileTick, None, int]:
        """How many packets may go to the aggregator now without any being refused (each
        may start a flow); hands the aggregator on first when it is nearly full."""
        agg = self.agg
        room = agg.max_flows - len(agg)
        if room < agg.max_flows // 4 or room * _MIN_FLOW_RECORD < MAX_SNAPLEN + 16:
            yield from self._tick(now, force=True)
            room = agg.max_flows - len(agg)
        return max(room, 1)

    def _tick(self, now: float, force: bool = False) -> Iterator[FileTick]:
        """Hand the deltas on once per second of packet time (or when full)."""
        agg, result = self.agg, self.result
        result.last_ts = max(result.last_ts, now)
        if not self._started:
            # The clock starts with the file's first packets, not at 1970: else the
            # first chunk was a tick of its own and a file shorter than a tick was
            # drained and merged twice (a sixth of ``flows -r`` on a 2 s file).
            self._started = True
            result.last_tick = now
        if now < result.last_tick + self.tick and not agg.full and not force:
            return
        result.last_tick = now
        yield agg.drain(), now

    def _read_classic(self, classic: tuple[BinaryIO, bool, bool, int]) -> Iterator[FileTick]:
        """The classic-pcap route: whole chunks go to the (C) walker, no per-packet
        objects."""
        handle, little, nano, linktype = classic
        agg, result, path = self.agg, self.result, self.path
        # One buffer, filled again and again: a new object per chunk (and the copies
        # that joined a cut record to the next chunk) cost the kernel a fresh mapping to
        # fault in and zero each time, a tenth of the whole read.
        buf = memoryview(bytearray(_CHUNK + MAX_SNAPLEN + 16))
        with handle, buf:
            have = 0  # bytes in buf: a record cut by the last chunk, then the new chunk
            offset = 24
            while True:
                got = cast(BufferedIOBase, handle).readinto(buf[have : have + _CHUNK])
                if not got:
                    break
                have += got
                pos = 0
                while pos < have:
                    # A window no larger than the aggregator's room for new flows (and
                    # never smaller than one record): a flood of new flows is handed on,
                    # not refused.
                    room = (yield from self._room(result.last_ts)) * _MIN_FLOW_RECORD
                    end = min(pos + room, have)  # at least one whole record: see _room
                    with buf[pos:end] as part:
                        used, last, bad = agg.add_pcap_buffer(part, little, nano, linktype)
                    if last:
                        yield from self._tick(last)
                    if bad:
                        raise PcapError(f"{path}: damaged record at byte {offset + used}")
                    offset += used
                    pos += used
                    if end >= have or not used:
                        break  # the rest is a record cut by the chunk: it waits for more
                have -= pos
                buf[:have] = buf[pos : pos + have]
            if have:
                raise PcapError(
                    f"{path}: file ends in the middle of a packet ({have} bytes left)")


def filtered(batches: Iterator[Batch], packet_filter: OfflineFilter | None) -> Iterator[Batch]:
    """The batches with only the packets the filter accepts (all without a filter)."""
    if packet_filter is None:
        yield from batches
        return
    accepts = packet_filter.accepts
    for linktype, packets in batches:
        kept = [p for p in packets if accepts(linktype, p[1], p[2])]
        if kept:
            yield linktype, kept


def paced_ticks(
    path: str,
    interval: float,
    speed: float | None,
    stopped: Callable[[], bool],
    sleep: Callable[[float], None] = time.sleep,
    packet_filter: OfflineFilter | None = None,
    agg: PacketAggregator | None = None,
    steering: FileSteering | None = None,
    on_gap: Callable[[str], None] | None = None,
) -> Iterator[tuple[float, list[FlowRecord], PacketAggregator]]:
    """Play a file tick by tick: ``(packet_time, deltas, aggregator)`` per tick.

    ``packet_time`` is the file's clock at the end of the tick; after the last packet
    it is that packet's time (the file ends there, not at the next tick boundary).

    ``speed`` 1.0 = recorded speed, 2.0 = twice as fast, ``None`` = no waiting. The
    generator raises :class:`PcapError` after the last readable tick of a damaged file.
    ``agg`` is the aggregator to feed (e.g. one that keeps packets); a new one by default.
    ``steering``: the TUI's playback keys (pause, steps, speed, jumps; its speed then
    replaces ``speed``). A silence longer than :data:`GAP_SECONDS` is skipped at once,
    not waited through, and ``on_gap`` is told (with the note's text).
    """
    agg = PacketAggregator() if agg is None else agg
    tick_end: float | None = None
    started = time.monotonic()
    base = 0.0
    generation = steering.generation if steering is not None else 0

    def pace_now() -> float | None:
        return steering.pace() if steering is not None else speed

    step = interval * (pace_now() or 1.0)  # packet seconds per tick

    def pace() -> None:
        nonlocal started, base, generation, step
        if steering is not None:
            steering.gate(stopped)
            if steering.generation != generation:
                # Resumed, sped up, jumped or skipped: the pace starts again from here.
                generation = steering.generation
                started, base = time.monotonic(), tick_end or 0.0
                step = interval * (pace_now() or 1.0)
                return
        current = pace_now()
        if current is not None and tick_end is not None:
            wait = started + (tick_end - base) / current - time.monotonic()
            if wait > 0:
                sleep(wait)

    error: PcapError | None = None
    latest = 0.0
    read_bytes = 0
    counts = ReadCounts()
    try:
        for linktype, packets in filtered(read_batches(path, counts), packet_filter):
            agg.bad_timestamps = counts.bad_timestamps
            latest = max(latest, max(p[0] for p in packets))
            if steering is not None:
                steering.read_ahead(latest, counts.offset)
            start = 0
            while start < len(packets):
                if stopped():
                    return
                if tick_end is None:
                    base = packets[0][0]
                    tick_end = base + step
                    if steering is not None:
                        steering.begin(base)
                end = _split(packets, start, tick_end)
                agg.add_batch(linktype, packets[start:end])
                read_bytes += sum(len(p[1]) for p in packets[start:end]) + 16 * (end - start)
                start = end
                if end < len(packets):  # the tick is complete
                    pace()
                    if steering is not None:
                        steering.at(tick_end, read_bytes)
                    yield tick_end, agg.drain(), agg
                    tick_end += step
                    ahead = packets[end][0] - tick_end
                    paced = pace_now() is not None
                    if ahead >= step and (not paced or ahead >= GAP_SECONDS):
                        # Skip a long silence in one step instead of many empty ticks
                        # (or, at a pace, instead of waiting through it).
                        tick_end += step * int(ahead // step)
                        if paced:
                            note = (steering.skipped(ahead) if steering is not None
                                    else f"skipped a silence of {gap_text(ahead)}")
                            started, base = time.monotonic(), tick_end
                            if steering is not None:
                                generation = steering.generation
                            if on_gap is not None:
                                on_gap(note)
    except PcapError as exc:
        error = exc
    agg.bad_timestamps = counts.bad_timestamps
    if tick_end is not None and not stopped():
        pace()
        if steering is not None:
            steering.at(min(tick_end, latest), steering.size)
            steering.ended = True
        yield min(tick_end, latest), agg.drain(), agg
    if error is not None:
        raise error


def _split(packets: list[Packet], start: int, limit: float) -> int:
    """Index of the first packet at or after ``limit`` (packets are nearly time-ordered)."""
    i = start
    n = len(packets)
    while i < n and packets[i][0] < limit:
        i += 1
    return i
