"""Alert actions: what makes an alert reach someone (``[[alerts.actions]]``).

Three kinds: ``command`` runs a program with the alert JSON on stdin (ntopng's shell
recipient), ``webhook`` POSTs it (timeout, retries with doubling backoff), ``syslog``
sends an RFC 5424 message over UDP. Each action has its own thread behind a bounded
queue, a minimum severity and a rate limit (alerts per minute, a token bucket): the
engine's :meth:`ActionsSink.consume` only queues, so a receiver that hangs never delays
a tick, and it delays no other action either. A failed delivery, a full queue and
rate-limited alerts are events in the log.
"""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence

from netop.engine.detect.settings import ActionSettings
from netop.model import Alert, AlertSeverity, NetEvent, Severity, Snapshot

#: Alerts waiting per action at most; beyond, they are dropped and counted.
QUEUE_SIZE = 256
#: Seconds :meth:`ActionsSink.close` waits for each action's thread.
CLOSE_WAIT = 2.0
#: RFC 5424 severities of alert severities (critical 2, warning 4, informational 6).
_SYSLOG_SEVERITY = {AlertSeverity.CRITICAL: 2, AlertSeverity.WARNING: 4,
                    AlertSeverity.INFO: 6}

Emit = Callable[[NetEvent], None]


def payload(alert: Alert) -> bytes:
    """The alert record as the actions send it: one JSON object, UTF-8."""
    return json.dumps(alert.to_json()).encode()


def deliver(action: ActionSettings, alert: Alert,
            stop: threading.Event | None = None) -> str | None:
    """Send one alert through one action (blocking, with its retries); None when
    delivered, else why not."""
    attempts = 1 + (action.retries if action.type == "webhook" else 0)
    why: str | None = None
    for attempt in range(attempts):
        if attempt:
            wait = action.backoff * 2 ** (attempt - 1)
            if stop is not None and stop.wait(wait):
                return f"{why} (gave up: netop is stopping)"
            if stop is None:
                time.sleep(wait)
        why = _send(action, alert)
        if why is None:
            return None
    if attempts > 1:
        return f"{why} (after {attempts} attempts)"
    return why


def _send(action: ActionSettings, alert: Alert) -> str | None:
    try:
        if action.type == "command":
            return _command(action, alert)
        if action.type == "webhook":
            return _webhook(action, alert)
        return _syslog(action, alert)
    except OSError as exc:
        return exc.strerror or str(exc)


def _command(action: ActionSettings, alert: Alert) -> str | None:
    try:
        done = subprocess.run(list(action.command), input=payload(alert),
                              capture_output=True, timeout=action.timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"no exit within {action.timeout:g} s (killed)"
    except FileNotFoundError:
        return f"no such program: {action.command[0]}"
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"exit status {done.returncode}" + (f": {err[0][:200]}" if err else "")
    return None


def _webhook(action: ActionSettings, alert: Alert) -> str | None:
    request = urllib.request.Request(action.url, data=payload(alert), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "netop"})
    try:
        with urllib.request.urlopen(request, timeout=action.timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, OSError) and reason.strerror:
            return reason.strerror
        return str(reason)
    except TimeoutError:
        return f"no answer within {action.timeout:g} s"
    if not 200 <= status < 300:
        return f"HTTP {status}"
    return None


def _syslog(action: ActionSettings, alert: Alert) -> str | None:
    pri = action.facility * 8 + _SYSLOG_SEVERITY[alert.severity]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(alert.ts))
    host = socket.gethostname() or "-"
    message = f"<{pri}>1 {stamp} {host} netop - {alert.kind} - ".encode() + payload(alert)
    family = socket.AF_INET6 if ":" in action.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(action.timeout)
        sock.sendto(message, (action.host, action.port))
    return None


class _Bucket:
    """Token bucket: ``per_minute`` alerts, bursts up to the same number."""

    def __init__(self, per_minute: float) -> None:
        self.capacity = max(1.0, per_minute)
        self.rate = per_minute / 60.0
        self.tokens = self.capacity
        self.last = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class _Worker:
    """One action: its queue, thread, rate limit and counters."""

    def __init__(self, action: ActionSettings, emit: Callable[[str, Severity], None]) -> None:
        self.action = action
        self.min_severity = AlertSeverity.parse(action.min_severity) or AlertSeverity.WARNING
        self.queue: queue.Queue[Alert | None] = queue.Queue(QUEUE_SIZE)
        self.bucket = _Bucket(action.rate_limit)
        self.emit = emit
        self.stop = threading.Event()
        self.delivered = self.failed = self.suppressed = self.dropped = 0
        self.thread = threading.Thread(target=self._run, name=f"netop-{action.type}",
                                       daemon=True)

    def offer(self, alert: Alert) -> None:
        if alert.severity < self.min_severity:
            return
        if not self.bucket.take():
            self.suppressed += 1
            if self.suppressed == 1 or self.suppressed % 100 == 0:
                self.emit(f"{self.action.name}: rate limit "
                          f"({self.action.rate_limit:g}/min): {self.suppressed} alerts "
                          "not sent", Severity.WARNING)
            return
        try:
            self.queue.put_nowait(alert)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                self.emit(f"{self.action.name}: {self.dropped} alerts dropped "
                          f"(receiver too slow, {QUEUE_SIZE} waiting)", Severity.ERROR)

    def _run(self) -> None:
        while True:
            alert = self.queue.get()
            if alert is None:
                return
            why = deliver(self.action, alert, self.stop)
            if why is None:
                self.delivered += 1
            else:
                self.failed += 1
                self.emit(f"{self.action.name}: alert {alert.kind} {alert.entity} not "
                          f"delivered: {why}", Severity.ERROR)


class ActionsSink:
    """The snapshot sink that hands every newly fired alert to the actions."""

    name = "alert actions"

    def __init__(self, actions: tuple[ActionSettings, ...]) -> None:
        self._emit: Emit | None = None
        self.workers = [_Worker(action, self._event) for action in actions]
        self._started = False

    def bind_events(self, emit: Emit) -> None:
        """Where failed deliveries go (the engine's event inbox)."""
        self._emit = emit

    def _event(self, message: str, severity: Severity) -> None:
        if self._emit is not None:
            self._emit(NetEvent(time.time(), severity, "alerts", message))

    def start(self) -> None:
        """Start one thread per action."""
        if not self._started:
            self._started = True
            for worker in self.workers:
                worker.thread.start()

    def consume(self, snapshot: Snapshot) -> None:
        """Queue the snapshot's new alerts (never blocks)."""
        self.send(snapshot.new_alerts)

    def send(self, alerts: Sequence[Alert]) -> None:
        """Queue alerts that fired without a snapshot (``netop alerts -r`` plays a file
        with no tick); never blocks."""
        for alert in alerts:
            for worker in self.workers:
                worker.offer(alert)

    def close(self) -> None:
        """Deliver what is queued within ``CLOSE_WAIT`` seconds, then stop (retries
        are cut short)."""
        for worker in self.workers:
            try:
                worker.queue.put_nowait(None)
            except queue.Full:
                worker.stop.set()
        deadline = time.monotonic() + CLOSE_WAIT
        for worker in self.workers:
            if worker.thread.is_alive():
                worker.thread.join(max(0.0, deadline - time.monotonic()))
        for worker in self.workers:
            worker.stop.set()
