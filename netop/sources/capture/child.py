"""The capture child process: the only part of netop that needs CAP_NET_RAW.

Started by :mod:`netop.sources.capture.entry` (config: the first line on stdin). It opens one
TPACKET_V3 ring per interface, aggregates packets into flow deltas and writes one
:class:`~netop.sources.capture.messages.Batch` per tick to stdout; ``stop`` on stdin
(or EOF) makes it send a last batch and exit, a ``watch`` line starts or stops
sending one flow's packets (:mod:`netop.sources.capture.watch`) and a ``pcap`` line
starts or stops writing the capture to a file (:mod:`netop.sources.capture.pcapout`).
Every message, both ways, is in :mod:`netop.sources.capture.messages`.
"""

from __future__ import annotations

import json
import os
import select
import signal
import struct
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple, cast

from netop.errors import NetopError
from netop.native import fastpath
from netop.packet.bpf import FilterError, compile_filter, with_sampling
from netop.packet.decode import LINKTYPE_LINUX_SLL
from netop.sources.capture.aggregate import PacketAggregator, is_loopback_copy
from netop.sources.capture.messages import (
    MAX_CONFIG_BYTES,
    STOP,
    Batch,
    ChildConfig,
    ConfigRejected,
    Event,
    Fatal,
    Message,
    Ready,
    encode,
    parse_config,
    parse_pcap_path,
)
from netop.sources.capture.pcapout import PcapOutput
from netop.sources.capture.ring import RETIRE_MS, Ring
from netop.sources.capture.watch import WatchedWire, to_wire

if TYPE_CHECKING:
    from netop.model import FlowKey
    from netop.packet.pcapfile import PcapWriter

#: :class:`netop.model.Severity` values, as sent in ``event`` messages. The child does
#: not import the model (dataclasses and all): it stays resident for the whole run.
INFO, WARNING = 0, 1

#: ``ret #0``: the rings keep nothing until the real filter is on.
DROP_ALL = ((0x06, 0, 0, 0),)

_LEN = struct.Struct("<I")
_TP3_WRITE = struct.Struct("=IIIIIIH")


class AdaptiveSampler:
    """Chooses the kernel 1-in-N rate from the drop counters, tick by tick.

    Drops in two ticks in a row double N (up to ``max_rate``); ten clean ticks halve
    it again. Disabled, it only reports.
    """

    def __init__(self, enabled: bool, max_rate: int = 4096) -> None:
        self.enabled = enabled
        self.max_rate = max_rate
        self.rate = 1
        self._dropping = 0
        self._clean = 0

    def observe(self, packets: int, drops: int) -> int | None:
        """Feed one tick's kernel counters; the new rate when it should change."""
        if drops > 0 and drops * 1000 > packets + drops:
            self._dropping += 1
            self._clean = 0
        else:
            self._clean += 1
            self._dropping = 0
        if not self.enabled:
            return None
        if self._dropping >= 2 and self.rate < self.max_rate:
            self._dropping = 0
            self.rate = min(self.rate * 2, self.max_rate)
            return self.rate
        if self._clean >= 10 and self.rate > 1:
            self._clean = 0
            self.rate //= 2
            return self.rate
        return None


def write_block(writer: PcapWriter, block: bytes, count: int, loopback: int = 0) -> None:
    """Append a ring block's packets to a pcap file as Linux cooked (SLL) frames.

    Like the flow counts, lo's outgoing copies (``loopback`` is lo's ifindex) are left
    out: tcpdump writes each loopback packet once.
    """
    off = _LEN.unpack_from(block, 16)[0]
    for _ in range(count):
        nxt, sec, nsec, snaplen, wirelen, _status, mac = _TP3_WRITE.unpack_from(block, off)
        if loopback and is_loopback_copy(block, off, loopback):
            if not nxt:
                break
            off += nxt
            continue
        sll = off + 48  # sockaddr_ll: family, protocol, ifindex, hatype, pkttype, halen, addr
        hatype = block[sll + 8 : sll + 10]
        pkttype = block[sll + 10]
        halen = min(block[sll + 11], 8)
        header = (
            struct.pack("!H", pkttype)
            + hatype[:: -1 if sys.byteorder == "little" else 1]
            + struct.pack("!H", halen)
            + block[sll + 12 : sll + 12 + halen].ljust(8, b"\0")
            + block[sll + 2 : sll + 4]
        )
        data = header + block[off + mac : off + mac + snaplen]
        writer.write(sec + nsec * 1e-9, data, wirelen + 16)
        if not nxt:
            break
        off += nxt


class Control(NamedTuple):
    """What the complete control lines at the start of a buffer ask for."""

    rest: bytes
    """The incomplete line that follows them."""
    stop: bool
    watches: list[FlowKey | None]
    pcaps: list[str | None]
    """Files to write the capture to, in order (``None``: stop writing)."""


def parse_control(buf: bytes) -> Control:
    """Complete control lines at the start of ``buf``; a damaged line is skipped."""
    stop = False
    watches: list[FlowKey | None] = []
    pcaps: list[str | None] = []
    *lines, rest = buf.split(b"\n")
    for line in lines:
        if line.startswith(b"pcap "):
            try:
                pcaps.append(parse_pcap_path(json.loads(line[5:])))
            except ValueError:
                continue
        elif line.startswith(b"watch "):
            try:
                flow = json.loads(line[6:])
                watches.append(None if flow is None else _flow_tuple(flow))
            except (ValueError, TypeError):
                continue
        elif line.strip() == STOP.strip():
            stop = True
    return Control(rest[-4096:], stop, watches, pcaps)


def _flow_tuple(flow: Any) -> FlowKey:
    proto, src, sport, dst, dport, vlan = flow
    if not isinstance(src, str) or not isinstance(dst, str):
        raise TypeError("addresses must be text")
    if vlan is not None and not isinstance(vlan, int):
        raise TypeError("vlan must be a number")
    # The child does not import the model: a plain tuple in FlowKey's order.
    return cast("FlowKey", (int(proto), src, int(sport), dst, int(dport), vlan))


def watched_wire(agg: PacketAggregator) -> WatchedWire | None:
    """The watched flow's part of a batch message, ``None`` when nothing is watched."""
    flow = agg.watching
    taken = agg.take_watched()
    return None if flow is None or taken is None else to_wire(flow, taken)


def read_config(fd: int) -> ChildConfig:
    """The first line on ``fd`` (the parent's stdin pipe), parsed and validated.

    Read a byte at a time so that the control lines after it stay in the pipe.
    """
    data = bytearray()
    while len(data) <= MAX_CONFIG_BYTES:
        byte = os.read(fd, 1)
        if not byte:
            raise ConfigRejected("capture config: stdin ended before the config line")
        if byte == b"\n":
            break
        data += byte
    else:
        raise ConfigRejected(f"capture config: longer than {MAX_CONFIG_BYTES} bytes")
    return parse_config(bytes(data))


def run(config: ChildConfig, out: BinaryIO, stdin_fd: int) -> int:
    """The child's main loop; returns its exit status."""

    def send(message: Message) -> None:
        out.write(encode(message))
        out.flush()

    rings: list[Ring] = []
    writer: PcapWriter | None = None
    try:
        for iface in config.interfaces:
            rings.append(
                Ring(
                    iface,
                    DROP_ALL,  # the real filter is compiled without privileges, below
                    config.ring_mb,
                    config.promiscuous,
                )
            )
        # Root may build/load the C fast path from root's own cache (readable only now);
        # a child with file capabilities but the user's uid must not load code from the
        # user's cache while it holds them.
        fastpath.load(installed_only=os.getuid() != 0)
        if config.filter:
            from netop.packet.bpf import load_compiler

            try:
                load_compiler()
            except FilterError as exc:
                send(Fatal(str(exc)))
                return 2
        # Like tcpdump -Z: drop root before opening output files, so they are the user's.
        from netop.sources.capture.privileges import PrivilegeError, drop

        try:
            dropped = drop(os.environ, config.user)
        except PrivilegeError as exc:
            send(Fatal(f"capture process cannot drop privileges: {exc}"))
            return 3
        send(Event(INFO, f"capture process now runs as {dropped}"))
        # libpcap parses the caller's filter text only now, with no rights left.
        try:
            program = compile_filter(config.filter)
        except FilterError as exc:
            send(Fatal(str(exc)))
            return 2
        for ring in rings:
            ring.set_filter(with_sampling(program, config.sample))
        if config.write:
            from netop.packet.pcapfile import PcapError, PcapWriter

            try:
                writer = PcapWriter(
                    config.write,
                    LINKTYPE_LINUX_SLL,
                    config.snaplen,
                    config.rotate_mb,
                    config.max_files,
                )
            except PcapError as exc:
                who = dropped.split(",")[0]
                send(Fatal(f"{exc} (-w files are written as {who}; see capture.user)"))
                return 3
        send(Ready(list(config.interfaces)))
        output = PcapOutput(config, send, writer, dropped.split(",")[0])
        writer = None  # the output owns it now: closed by it, or by the next start
        if output.writer is not None:
            send(output.status())
        try:
            return _loop(config, rings, output, program, send, stdin_fd)
        finally:
            output.close()
    except NetopError as exc:
        send(Fatal(str(exc)))
        return 3
    except OSError as exc:
        where = ", ".join(config.interfaces)
        send(Fatal(f"cannot capture on {where}: {exc.strerror or exc}"))
        return 3
    finally:
        for ring in rings:
            ring.close()
        if writer is not None:
            writer.close()


def _loop(
    config: ChildConfig,
    rings: list[Ring],
    output: PcapOutput,
    program: Any,
    send: Callable[[Message], None],
    stdin_fd: int,
) -> int:
    interval = float(config.interval)
    agg = PacketAggregator(
        max_flows=config.max_flows,
        keep_packets=True,
        flow_packets=config.flow_packets,
        flow_rings=config.flow_rings,
    )
    fixed = config.sample
    sampler = AdaptiveSampler(config.sampling and fixed == 1)
    if fixed > 1:
        sampler.rate = agg.sampling = fixed
    poller = select.poll()
    for ring in rings:
        poller.register(ring.fileno(), select.POLLIN)
    poller.register(stdin_fd, select.POLLIN | select.POLLHUP)
    kernel_drops = kernel_packets = 0
    was_dropping = False
    next_tick = time.monotonic() + interval
    stopping = False
    control = b""

    def take(ring: Ring) -> None:
        for block, count in ring.blocks():
            agg.add_tpacket_block(block, count, ring.loopback)
            if output.writer is not None:
                try:
                    write_block(output.writer, block, count, ring.loopback)
                except OSError as exc:
                    output.fail(exc)
            if agg.full:
                send(Batch(agg.drain_rows(), {}, watched_wire(agg)))

    while True:
        timeout_ms = max(0, int((next_tick - time.monotonic()) * 1000))
        for fd, _ev in poller.poll(timeout_ms):
            if fd == stdin_fd:
                data = os.read(stdin_fd, 4096)
                if not data:
                    stopping = True
                    poller.unregister(stdin_fd)
                asked = parse_control(control + data)
                control = asked.rest
                stopping = stopping or asked.stop
                for flow in asked.watches:
                    agg.watch(flow)
                if asked.pcaps:
                    # Packets the rings hold were captured before the request: they
                    # belong to the file that was open then (or to none).
                    for ring in rings:
                        take(ring)
                    for path in asked.pcaps:
                        if path is None:
                            output.stop()
                        else:
                            output.start(path)
        if stopping:
            time.sleep(2 * RETIRE_MS / 1000)  # let the kernel retire the partial blocks
        for ring in rings:
            take(ring)
        if not stopping and time.monotonic() < next_tick:
            continue
        next_tick += interval
        tick_packets = tick_drops = 0
        for ring in rings:
            p, d = ring.stats()
            tick_packets += p
            tick_drops += d
        kernel_packets += tick_packets
        kernel_drops += tick_drops
        stats = agg.stats()
        stats.update(
            kernel_drops=kernel_drops, kernel_packets=kernel_packets, evictions=stats["overflow"]
        )
        send(Batch(agg.drain_rows(), stats, watched_wire(agg)))
        output.tick()
        if tick_drops and not was_dropping:
            text = f"kernel dropped {tick_drops} packets this tick (capture cannot keep up)"
            send(Event(WARNING, text))
        was_dropping = bool(tick_drops)
        new_rate = sampler.observe(tick_packets, tick_drops)
        if new_rate is not None:
            for ring in rings:
                ring.set_filter(with_sampling(program, new_rate))
            agg.sampling = new_rate
            text = f"kernel sampling now 1 in {new_rate} (counts scaled by {new_rate})"
            send(Event(WARNING if new_rate > 1 else INFO, text))
        if stopping:
            return 0


def main() -> int:
    """Entry point: the config is the first line on stdin (never argv: see
    :mod:`netop.sources.capture.entry`); a bad one is one ``fatal`` message and status 2."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    try:
        config = read_config(sys.stdin.fileno())
    except ConfigRejected as exc:
        try:
            sys.stdout.buffer.write(encode(Fatal(str(exc))))
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            pass
        return 2
    try:
        return run(config, sys.stdout.buffer, sys.stdin.fileno())
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
