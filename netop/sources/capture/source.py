"""``CaptureSource``: live capture through the child process, or a file played back.

Either way the engine receives one :class:`FlowBatch` per tick (the flow deltas plus
cumulative counters), :class:`NetEvent` lines for what changed (permission problem,
drops started, sampling changed, file error) and a :class:`SourceStatus` line for the
header, e.g. ``"eth0: 1.2 Mpps, 0 dropped"``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import threading
import time
from typing import TYPE_CHECKING

from netop.errors import NetopError
from netop.format import human_bytes
from netop.model import FlowBatch, FlowKey, NetEvent, PcapStatus, Severity, SourceStatus
from netop.sources.base import Emit, Source, SourceItem
from netop.sources.capture.aggregate import PacketAggregator, rows_to_records
from netop.sources.capture.messages import (
    STOP,
    Batch,
    ChildConfig,
    Event,
    Fatal,
    Message,
    Writing,
    decode,
    pcap_line,
    watch_line,
)
from netop.sources.capture.options import CaptureOptions
from netop.sources.capture.ring import PERMISSION_HINT
from netop.sources.capture.steer import FileSteering
from netop.sources.capture.watch import from_wire

if TYPE_CHECKING:
    from netop.packet.bpf import OfflineFilter
    from netop.sources.capture.filewatch import FileFlowPackets

NAME = "capture"
#: Batches handed to a polling consumer (the engine, which polls once a tick) between two
#: of its polls, at most. Past that the reader stops reading the child, whose ring then
#: fills and the kernel counts the drops; without the bound a starved engine's inbox
#: grew by a batch a tick for as long as it was starved.
MAX_UNTAKEN = 4


def default_interface() -> str | None:
    """The interface of the IPv4 (else IPv6) default route, from /proc."""
    try:
        with open("/proc/net/route") as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if len(fields) > 2 and fields[1] == "00000000":
                    return fields[0]
        with open("/proc/net/ipv6_route") as handle:
            for line in handle:
                fields = line.split()
                if (
                    len(fields) == 10
                    and fields[0] == "0" * 32
                    and fields[1] == "00"
                    and fields[9] != "lo"
                ):
                    return fields[9]
    except OSError:
        return None
    return None


def _rate(value: float) -> str:
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}pps"
    return f"{value:.0f} pps"


class CaptureSource(Source):
    """Packet capture as a source of per-tick flow deltas."""

    name = NAME
    produces_flows = True

    def __init__(self, options: CaptureOptions) -> None:
        self.options = options
        self.replay = bool(options.read)
        #: Whether the child keeps per-flow packet rings (``capture.flow_packets``): only
        #: for a view that opens flow details (the TUI); a headless command never does,
        #: so it does not pay their per-packet cost.
        self.flow_details = False
        self._emit: Emit | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        #: Backpressure towards a consumer that polls (see MAX_UNTAKEN); one that only
        #: takes what is emitted (``netop flows -i``) never waits.
        self._taken = threading.Condition()
        self._polled = False
        self._untaken = 0
        self._done = threading.Event()
        #: Set once the live child has opened its rings: packets from then on are seen.
        self.attached = threading.Event()
        self._last_packets = 0
        self._last_ts = 0.0
        # watch_flow() leaves its request here; the child (or playback) thread applies it.
        self._watch_lock = threading.Lock()
        self._watch_pending = False
        self._watch_flow: FlowKey | None = None
        self._wake = threading.Event()  # ... and wakes a playback whose file has ended
        # write_pcap() queues its control lines here; sent as the watch request is.
        self._pcap_lines: list[bytes] = []
        self._pcap_wanted: str | None = (
            os.path.abspath(options.write) if options.write and not options.read else None)
        self._pcap_confirmed: PcapStatus | None = None
        # A file, not a pipe: a chatty child must never block on a full stderr pipe.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child
        #: The playback keys' hold on a file being played (None live).
        self.steering: FileSteering | None = None
        if options.read:
            try:
                size = os.path.getsize(options.read)
            except OSError:
                size = 0
            self.steering = FileSteering(options.speed, size)

    def describe(self) -> str:
        """What is captured, for the header."""
        if self.options.read:
            return os.path.basename(self.options.read)
        return ",".join(self.options.interfaces)

    def check(self) -> None:
        """Raise :class:`~netop.errors.NetopError` for input that would end the capture at
        once: a file that is not a readable capture, an unknown interface, a filter
        libpcap rejects. The TUI calls it before the screen opens, so the reason is one
        line on stderr rather than an event in a screen that shows nothing.
        """
        from netop.packet.bpf import OfflineFilter, compile_filter
        from netop.packet.pcapfile import check_readable

        o = self.options
        if o.read:
            check_readable(o.read)
            if o.filter:
                OfflineFilter(o.filter)
            return
        for iface in o.interfaces:
            if iface == "any":
                continue
            try:
                socket.if_nametoindex(iface)
            except OSError:
                raise NetopError(f"no such interface: {iface}") from None
        compile_filter(o.filter)

    def alive(self) -> bool:
        """Whether the capture (child or file playback) is still running."""
        return self._thread is not None and not self._done.is_set()

    def start(self, emit: Emit) -> None:
        """Start the child process (or the file playback thread)."""
        self._emit = emit
        target = self._play_file if self.options.read else self._run_child
        self._thread = threading.Thread(target=target, name="netop-capture", daemon=True)
        self._thread.start()

    def poll(self, now: float) -> list[SourceItem]:
        """Nothing (batches are emitted); tells the reader that the consumer took what it
        was handed, so that it may hand over more."""
        with self._taken:
            self._polled = True
            self._untaken = 0
            self._taken.notify_all()
        return []

    def _wait_for_room(self) -> None:
        """Block the reader while a polling consumer has MAX_UNTAKEN batches untaken."""
        with self._taken:
            while self._polled and self._untaken >= MAX_UNTAKEN and not self._stop.is_set():
                self._taken.wait(0.5)  # stop() sets _stop: seen within half a second
            self._untaken += 1

    def watch_flow(self, flow: FlowKey | None) -> None:
        """Send the packets of ``flow`` with every batch from now on (``None``: stop).

        Thread-safe and non-blocking: the request reaches the child (or the playback
        thread) within a tick; see :mod:`netop.sources.capture.watch` for what is kept.
        """
        with self._watch_lock:
            self._watch_flow = flow
            self._watch_pending = True
        self._wake.set()
        self._send_watch()

    def write_pcap(self, path: str | None) -> bool:
        """Live: ask the child to write the capture to ``path`` from now on (``None``:
        stop); thread-safe and non-blocking. A file being played: False."""
        if self.options.read:
            return False
        with self._watch_lock:
            self._pcap_wanted = path
            self._pcap_lines.append(pcap_line(path))
        self._send_watch()
        return True

    def pcap_status(self) -> PcapStatus | None:
        """The file asked for (``pending`` until the child confirms it), else the one the
        child writes."""
        with self._watch_lock:
            wanted, confirmed = self._pcap_wanted, self._pcap_confirmed
        if wanted is None:
            return None
        if confirmed is None or confirmed.path != wanted:
            return PcapStatus(wanted, 0, pending=True)
        return confirmed

    def _on_writing(self, message: Writing) -> None:
        """The child says which file it writes now (or why it could not)."""
        path, size, error = str(message.path), int(message.bytes), str(message.error)
        with self._watch_lock:
            before = self._pcap_confirmed
            self._pcap_confirmed = PcapStatus(path, size) if path else None
            if error and not self._pcap_lines:
                self._pcap_wanted = None  # failed: nothing is written until asked again
        if error:
            self._event(Severity.ERROR, f"pcap not written: {error}")
        elif path and (before is None or before.path != path):
            self._event(Severity.INFO, f"writing the capture to {path}")
        if before is not None and before.path != path:
            self._event(Severity.INFO, f"pcap {before.path} closed ({human_bytes(before.bytes)})")

    def _send_watch(self) -> None:
        """Pass pending pcap and watch requests to the child, if it runs (never blocks)."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.poll() is not None:
            return
        with self._watch_lock:
            while self._pcap_lines:
                line = self._pcap_lines[0]
                try:
                    sent = os.write(proc.stdin.fileno(), line)
                except BlockingIOError:
                    return  # retried after the child's next message
                except (OSError, ValueError):
                    sent = len(line)
                if sent < len(line):  # a long path: the rest goes next time
                    self._pcap_lines[0] = line[sent:]
                    return
                del self._pcap_lines[0]
            if not self._watch_pending:
                return
            line = watch_line(self._watch_flow)
            try:
                os.write(proc.stdin.fileno(), line)  # < PIPE_BUF: all or nothing
            except BlockingIOError:
                return  # retried after the child's next message
            except (OSError, ValueError):
                pass
            self._watch_pending = False

    def _take_watch_request(self) -> tuple[bool, FlowKey | None]:
        with self._watch_lock:
            pending, self._watch_pending = self._watch_pending, False
            return pending, self._watch_flow

    def stop(self) -> None:
        """Ask the child for its last batch, wait for it briefly, then end it. Idempotent."""
        self._stop.set()
        self._wake.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                assert proc.stdin is not None
                proc.stdin.write(STOP)
                proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pass
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        if proc is not None and proc.poll() is None:
            try:
                proc.terminate()
                proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            except PermissionError:  # a child started through sudo: it saw our "stop"
                pass
        if self._thread is None or not self._thread.is_alive():
            if proc is not None:
                for pipe in (proc.stdin, proc.stdout):
                    # A child that died unread leaves our config in stdin's buffer,
                    # which close() would flush into the broken pipe.
                    if pipe is not None:
                        # closing flushes what a child that died early never read
                        with contextlib.suppress(OSError):
                            pipe.close()
            self._stderr.close()

    # -- helpers -------------------------------------------------------------------

    def _event(self, severity: Severity, message: str) -> None:
        assert self._emit is not None
        self._emit(NetEvent(time.time(), severity, NAME, message))

    def _status(self, stats: dict[str, int], now: float) -> None:
        assert self._emit is not None
        packets = stats.get("packets", self._last_packets)
        elapsed = now - self._last_ts if self._last_ts else 0.0
        pps = (packets - self._last_packets) / elapsed if elapsed > 0 else 0.0
        self._last_packets, self._last_ts = packets, now
        steering = self.steering
        if steering is not None:
            # A file has no kernel and no drops: what applies is how much was read.
            steering.packets = packets
            steering.malformed = stats.get("malformed", 0)
            summary = f"{self.describe()}: {packets} packets read"
        else:
            summary = f"{self.describe()}: {_rate(pps)}, {stats.get('kernel_drops', 0)} dropped"
        if stats.get("sampling", 1) > 1:
            summary += f", sampling 1/{stats['sampling']}"
        if stats.get("malformed"):
            summary += f", {stats['malformed']} malformed"
        self._emit(SourceStatus(NAME, summary, ts=now))

    # -- live --------------------------------------------------------------------

    def _child_config(self) -> ChildConfig:
        o = self.options
        return ChildConfig(
            interfaces=list(o.interfaces),
            filter=o.filter,
            promiscuous=o.promiscuous,
            ring_mb=o.ring_mb,
            sampling=o.sampling,
            sample=o.sample,
            interval=o.interval,
            max_flows=max(o.max_flows, 1024),
            write=os.path.abspath(o.write) if o.write else None,
            rotate_mb=o.rotate_mb,
            max_files=o.max_files,
            snaplen=o.snaplen,
            user=o.user,
            flow_packets=o.flow_packets if self.flow_details else 0,
            flow_rings=o.flow_rings,
        )

    def _run_child(self) -> None:
        assert self._emit is not None
        from netop.sources.capture.entry import child_command, child_environment

        # Isolated: no current directory on sys.path (a json.py there would run with
        # capture rights), no inherited PYTHON*/LD_* variables; the config goes on
        # stdin, never argv, and the child validates it.
        cmd = child_command(self.options.helper, self.options.launcher)
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                cwd="/",
                env=child_environment(os.environ),
            )
        except OSError as exc:
            self._event(Severity.ERROR, f"cannot start the capture process: {exc}")
            self._done.set()
            return
        self._proc = proc
        assert proc.stdin is not None
        try:
            proc.stdin.write(self._child_config().to_line())
            proc.stdin.flush()
        except OSError:
            pass  # the child ended at once; its messages, stderr and status say why
        os.set_blocking(proc.stdin.fileno(), False)
        try:
            self._read_child(proc)
        finally:
            self._done.set()

    def _read_child(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        assert self._emit is not None
        stream = proc.stdout
        while True:
            head = stream.read(4)
            if len(head) < 4:
                break
            body = stream.read(int.from_bytes(head, "little"))
            try:
                message = decode(body)
                self._send_watch()
                self._on_message(message)
            except (ValueError, TypeError):
                self._event(Severity.ERROR, "capture process sent a damaged message")
                break
        code = proc.wait()
        if code not in (0, 2, 3) and not self._stop.is_set():
            self._stderr.seek(0)
            err = self._stderr.read()[-4096:].decode(errors="replace")
            last = err.strip().splitlines()[-1] if err.strip() else f"exit status {code}"
            self._event(Severity.ERROR, f"capture process ended: {last[:200]}")

    def _on_message(self, message: Message) -> None:
        """Act on one message of the child (``ValueError``/``TypeError``: damaged)."""
        assert self._emit is not None
        if isinstance(message, Batch):
            stats = dict(message.stats)
            records = tuple(rows_to_records(message.rows))
            watched = from_wire(message.watched) if message.watched else None
            self._wait_for_room()
            self._emit(FlowBatch(NAME, records, stats, watched))
            if stats:
                self._status(stats, time.time())
        elif isinstance(message, Event):
            self._event(Severity(message.severity), str(message.text))
        elif isinstance(message, Writing):
            self._on_writing(message)
        elif isinstance(message, Fatal):
            text = str(message.text)
            if text == PERMISSION_HINT:  # the child cannot know how it was started: we do
                from netop.sources.capture.privileges import capture_rights_advice

                text = capture_rights_advice(self.options.launcher, self.options.helper)
            self._event(Severity.ERROR, text)
            self._emit(SourceStatus(NAME, f"capture off: {text}", ts=time.time()))
        else:
            self.attached.set()
            self._event(Severity.INFO, f"capturing on {', '.join(map(str, message.interfaces))}")

    # -- file ------------------------------------------------------------------------

    def _play_file(self) -> None:
        from netop.packet.bpf import FilterError, OfflineFilter
        from netop.packet.pcapfile import PcapError
        from netop.sources.capture.offline import paced_ticks

        assert self._emit is not None
        assert self.options.read is not None
        path = self.options.read
        agg = PacketAggregator()
        clock = 0.0
        try:
            packet_filter = OfflineFilter(self.options.filter) if self.options.filter else None
        except FilterError as exc:
            self._event(Severity.ERROR, str(exc))
            self._done.set()
            return
        scan: FileFlowPackets | None = None
        try:
            for clock, records, _agg in paced_ticks(
                path,
                self.options.interval,
                self.options.speed,
                self._stop.is_set,
                sleep=lambda s: None if self._stop.wait(s) else None,
                packet_filter=packet_filter,
                agg=agg,
                steering=self.steering,
                on_gap=lambda note: self._event(Severity.INFO,
                                                f"{os.path.basename(path)}: {note}"),
            ):
                scan = self._file_watch(scan, packet_filter)
                watched = None
                if scan is not None:
                    scan.advance(clock)
                    watched = scan.packets()
                self._emit(FlowBatch(NAME, tuple(records), agg.stats(), watched, clock))
                self._status(agg.stats(), clock)
            if not self._stop.is_set():
                self._event(Severity.INFO, f"end of {os.path.basename(path)}")
        except PcapError as exc:
            self._event(Severity.ERROR, str(exc))
        finally:
            self._done.set()
        self._serve_watches(packet_filter, clock)

    def _file_watch(
        self, scan: FileFlowPackets | None, packet_filter: OfflineFilter | None
    ) -> FileFlowPackets | None:
        """The reader of the watched flow's packets, new when the user chose another."""
        from netop.sources.capture.filewatch import FileFlowPackets

        pending, flow = self._take_watch_request()
        if not pending:
            return scan
        assert self.options.read is not None
        return None if flow is None else FileFlowPackets(self.options.read, flow, packet_filter)

    def _serve_watches(self, packet_filter: OfflineFilter | None, clock: float) -> None:
        """After the end of the file: answer each watch from the file, until stopped."""
        assert self._emit is not None
        while not self._stop.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            scan = self._file_watch(None, packet_filter)
            if scan is None:
                continue
            scan.advance(None)
            self._emit(FlowBatch(NAME, (), {}, scan.packets(), clock or None))
