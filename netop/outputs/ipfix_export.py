"""Flow export: the flows netop sees, as IPFIX or NetFlow v9 over UDP to a collector.

A :class:`FlowExportSink` takes the flows the engine ends (idle/active timeouts, the
end of a file or of the run; see ``flows_ended`` in :mod:`netop.engine.sinks`), queues
them (bounded: what does not fit is dropped and counted) and encodes and sends them on
its own thread, paced so that a collector on the same box keeps up. The encoding is
:mod:`netop.outputs.ipfix_encode`.
"""

from __future__ import annotations

import collections
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netop.config import DEFAULT_MAX_FLOWS, get_bool, get_float, get_int, get_str
from netop.errors import ConfigError
from netop.model import FlowRecord, Snapshot
from netop.outputs.ipfix_encode import IPFIX_VERSION, V9_VERSION, FlowEncoder

#: IANA ports: IPFIX 4739, NetFlow 2055 (the common choice; v9 has none assigned).
DEFAULT_PORTS = {IPFIX_VERSION: 4739, V9_VERSION: 2055}
#: Flows waiting to be encoded, at most (beyond: dropped and counted): a full flow
#: table ending at once fits.
DEFAULT_QUEUE_RECORDS = DEFAULT_MAX_FLOWS
#: Datagrams per second, at most: ~20 MB/s of 1400-byte datagrams, which a collector on
#: a busy 2-core box (nfcapd, netop collect) receives without loss.
DEFAULT_MAX_DATAGRAMS_PER_S = 15_000
#: Longest wait at close for the queue to be sent.
CLOSE_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class ExportSettings:
    """Where and how to export (flags over the ``[export]`` config section)."""

    host: str
    port: int
    version: int = IPFIX_VERSION
    biflow: bool = True
    domain: int = 0
    template_every: int = 20
    template_seconds: float = 60.0
    message_bytes: int = 1400
    queue_records: int = DEFAULT_QUEUE_RECORDS
    max_datagrams_per_s: int = DEFAULT_MAX_DATAGRAMS_PER_S
    active_timeout: float = 0.0

    @property
    def label(self) -> str:
        """``IPFIX to HOST:PORT``."""
        kind = "IPFIX" if self.version == IPFIX_VERSION else "NetFlow v9"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{kind} to {host}:{self.port}"


def parse_target(text: str, key: str, default_port: int) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT``; the port may be left out) as (host, port); a host
    that does not resolve is a :class:`ConfigError` naming ``key``."""
    host, port = text, default_port
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = _port(rest[1:], key)
    elif text.count(":") == 1:
        host, _, rest = text.partition(":")
        port = _port(rest, key)
    if not host:
        raise ConfigError(key, f"no host in {text!r} (HOST:PORT)")
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(key, f"cannot resolve {host!r}: {exc}") from None
    return host, port


def _port(text: str, key: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(key, f"port must be 1-65535, got {text!r}")
    return int(text)


def export_settings(
    raw: Mapping[str, Any], ipfix: str | None, netflow9: str | None, active_timeout: float
) -> list[ExportSettings]:
    """The exports the flags (``--export-ipfix``, ``--export-netflow9``) or the
    ``[export]`` section ask for; each bad value is one :class:`ConfigError`."""
    common = {
        "biflow": get_bool(raw, "export.biflow", True),
        "domain": get_int(raw, "export.domain", 0, low=0, high=0xFFFFFFFF),
        "template_every": get_int(raw, "export.template_every", 20, low=1, high=100_000),
        "template_seconds": get_float(raw, "export.template_seconds", 60.0, low=1.0,
                                      high=86_400.0),
        "message_bytes": get_int(raw, "export.message_bytes", 1400, low=256, high=65_000),
        "queue_records": get_int(raw, "export.queue_records", DEFAULT_QUEUE_RECORDS, low=1,
                                 high=10_000_000),
        "max_datagrams_per_s": get_int(raw, "export.max_datagrams_per_s",
                                       DEFAULT_MAX_DATAGRAMS_PER_S, low=1, high=10_000_000),
    }
    out: list[ExportSettings] = []
    for version, flag, key in ((IPFIX_VERSION, ipfix, "ipfix"), (V9_VERSION, netflow9, "netflow9")):
        text = flag or get_str(raw, f"export.{key}", "")
        if not text:
            continue
        name = f"--export-{key}" if flag else f"export.{key}"
        host, port = parse_target(text, name, DEFAULT_PORTS[version])
        out.append(ExportSettings(host, port, version, active_timeout=active_timeout,
                                  **common))  # type: ignore[arg-type]
    return out


class FlowExportSink:
    """Exports every flow the engine ends to one collector (a SnapshotSink that takes
    ended flows)."""

    def __init__(self, settings: ExportSettings) -> None:
        self.settings = settings
        self.name = "export-ipfix" if settings.version == IPFIX_VERSION else "export-netflow9"
        self.encoder = FlowEncoder(settings.version, settings.domain, settings.biflow,
                                   settings.message_bytes, settings.template_every,
                                   settings.template_seconds)
        self._queue: collections.deque[tuple[Sequence[FlowRecord], bool]] = collections.deque()
        self._queued = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closing = False
        self._busy = False
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._address: tuple[Any, ...] | None = None
        #: Flows given, dropped for a full queue, datagrams the socket refused.
        self.flows_in = 0
        self.dropped = 0
        self.send_errors = 0

    def start(self) -> None:
        """Resolve the collector, open the socket, start the sending thread."""
        if self._thread is not None:
            return
        s = self.settings
        family, _, _, _, address = socket.getaddrinfo(s.host, s.port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, socket.SOCK_DGRAM)
        # Not connected: an ICMP port unreachable then fails no later send (a collector
        # restarting must not cost the datagrams after it).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self._sock, self._address = sock, address
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def consume(self, snapshot: Snapshot) -> None:
        """Nothing per snapshot: flows come through :meth:`flows_ended`."""

    def flows_ended(self, records: Sequence[FlowRecord], forced: bool = False) -> None:
        """Queue flows that ended (never blocks; beyond ``queue_records`` they are
        dropped and counted)."""
        with self._lock:
            self.flows_in += len(records)
            if self._closing or self._queued + len(records) > self.settings.queue_records:
                self.dropped += len(records)
                return
            self._queue.append((records, forced))
            self._queued += len(records)
            self._wake.notify()

    def close(self) -> None:
        """Send what is queued (bounded by CLOSE_TIMEOUT), then stop; safe twice."""
        with self._lock:
            self._closing = True
            self._wake.notify()
        thread = self._thread
        if thread is not None:
            thread.join(CLOSE_TIMEOUT)
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def summary(self) -> str:
        """One line: what was exported and lost."""
        e = self.encoder
        text = (f"exported {e.records} flow records in {e.datagrams} datagrams "
                f"({self.settings.label})")
        lost = [f"{n} {what}" for n, what in (
            (self.dropped, "flows dropped (queue full)"),
            (self.send_errors, "datagrams not sent"),
            (e.skipped, "flows without IP addresses skipped")) if n]
        return text + ("; " + ", ".join(lost) if lost else "")

    def _next(self) -> tuple[Sequence[FlowRecord], bool] | None:
        with self._lock:
            while not self._queue and not self._closing:
                self._wake.wait(1.0)
            if not self._queue:
                return None
            records, forced = self._queue.popleft()
            self._queued -= len(records)
            return records, forced

    def _run(self) -> None:
        gap = 1.0 / self.settings.max_datagrams_per_s
        due = time.monotonic()
        while True:
            item = self._next()
            if item is None:
                return
            records, forced = item
            for start in range(0, len(records), 4096):  # bounded memory per step
                chunk = records[start : start + 4096]
                for datagram in self.encoder.encode(chunk, forced, self.settings.active_timeout):
                    due = max(due + gap, time.monotonic() - 0.005)  # bursts of 5 ms at most
                    wait = due - time.monotonic()
                    if wait > 0.001:
                        time.sleep(wait)
                    self._send(datagram)

    def _send(self, datagram: bytes) -> None:
        sock, address = self._sock, self._address
        if sock is None or address is None:
            self.send_errors += 1
            return
        try:
            sock.sendto(datagram, address)
        except OSError:
            self.send_errors += 1
