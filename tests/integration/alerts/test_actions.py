"""Alert actions against real receivers: an http.server webhook on 127.0.0.1, a command
writing a temp file, a UDP syslog socket; ``netop alert-test`` end to end."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from netop.engine.detect.settings import ActionSettings, alert_settings
from netop.model import Alert, AlertSeverity, FlowKey, NetEvent, Snapshot
from netop.outputs.actions import QUEUE_SIZE, ActionsSink
from tests.ready import wait_until

NETOP = [sys.executable, "-m", "netop"]


class Receiver(ThreadingHTTPServer):
    """Records every POST body; answers ``fail_first`` requests with 503; with
    ``hold`` set, holds each request until ``release`` is set (a hanging receiver)."""

    daemon_threads = True

    def __init__(self, fail_first: int = 0, hold: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[dict[str, Any]] = []
        self.requests = 0
        self.fail_first = fail_first
        self.hold = hold
        self.holding = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/alert"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        srv = self.server
        srv.requests += 1
        if srv.hold:
            srv.holding.set()
            srv.release.wait(30)  # bounded: the test releases it
        if srv.requests <= srv.fail_first:
            self.send_response(503)
            self.end_headers()
            return
        srv.bodies.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver_factory() -> Iterator[Any]:
    servers: list[Receiver] = []

    def make(**kwargs: Any) -> Receiver:
        srv = Receiver(**kwargs)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv

    yield make
    for srv in servers:
        srv.release.set()
        srv.shutdown()
        srv.server_close()


def alert(kind: str = "port_scan", n: int = 0,
          severity: AlertSeverity = AlertSeverity.WARNING) -> Alert:
    return Alert(ts=1.7e9 + n, kind=kind, severity=severity, entity=f"10.0.0.{n % 250}",
                 message=f"test {n}", value=15.0, unit="ports",
                 flow=FlowKey(6, "10.0.0.9", 40000, "10.0.0.1", 22), community_id="1:x",
                 first=1.7e9)


def snapshot(*alerts: Alert) -> Snapshot:
    return Snapshot(ts=0.0, seq=1, hostname="h", watching="", interval=1.0,
                    new_alerts=tuple(alerts))


def sink_of(*actions: ActionSettings) -> tuple[ActionsSink, list[NetEvent]]:
    events: list[NetEvent] = []
    sink = ActionsSink(tuple(actions))
    sink.bind_events(events.append)
    sink.start()
    return sink, events


def test_webhook_delivers_the_alert_json(receiver_factory: Any) -> None:
    srv = receiver_factory()
    sink, events = sink_of(ActionSettings("webhook", "hook", url=srv.url))
    try:
        sink.consume(snapshot(alert()))
        wait_until(lambda: srv.bodies, 10, "webhook delivery")
    finally:
        sink.close()
    (body,) = srv.bodies
    assert body["kind"] == "port_scan"
    assert body["dport"] == 22
    assert body["community_id"] == "1:x"
    assert events == []


def test_webhook_retries_until_the_receiver_is_back(receiver_factory: Any) -> None:
    srv = receiver_factory(fail_first=2)
    sink, events = sink_of(ActionSettings("webhook", "hook", url=srv.url, retries=3,
                                          backoff=0.05))
    try:
        sink.consume(snapshot(alert()))
        wait_until(lambda: srv.bodies, 10, "delivery after two 503s")
    finally:
        sink.close()
    assert srv.requests == 3
    assert events == []


def test_failed_delivery_is_an_event() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink, events = sink_of(ActionSettings("webhook", "hook", url=f"http://127.0.0.1:{port}/",
                                          retries=1, backoff=0.01))
    try:
        sink.consume(snapshot(alert()))
        wait_until(lambda: events, 10, "the failure event")
    finally:
        sink.close()
    assert "not delivered: Connection refused (after 2 attempts)" in events[0].message


def test_hanging_receiver_never_blocks_consume_nor_other_actions(
        receiver_factory: Any, tmp_path: Path) -> None:
    srv = receiver_factory(hold=True)
    out = tmp_path / "alerts.jsonl"
    command = ActionSettings("command", "cmd", rate_limit=1e6, command=(
        sys.executable, "-c",
        f"import sys; open({str(out)!r}, 'ab').write(sys.stdin.buffer.read() + b'\\n')"))
    hook = ActionSettings("webhook", "hook", url=srv.url, rate_limit=1e6, timeout=60)
    sink, events = sink_of(hook, command)
    try:
        sink.consume(snapshot(alert(n=0)))
        assert srv.holding.wait(10), "the webhook request never arrived"
        # The receiver holds its request: consume() still only queues. More alerts
        # than the queue holds: they are dropped and counted, consume() returns.
        for n in range(1, QUEUE_SIZE + 20):
            sink.consume(snapshot(alert(n=n)))
        wait_until(lambda: any("dropped" in e.message for e in events), 10,
                   "the dropped-alerts event")
        # The command action is not held up by the hanging webhook.
        wait_until(lambda: out.exists() and out.read_text().count("\n") >= 20, 60,
                   "command deliveries while the webhook hangs")
    finally:
        srv.release.set()
        sink.close()
    first = json.loads(out.read_text().splitlines()[0])
    assert first["entity"] == "10.0.0.0"


def test_min_severity_and_rate_limit(receiver_factory: Any) -> None:
    srv = receiver_factory()
    sink, events = sink_of(ActionSettings("webhook", "hook", url=srv.url,
                                          min_severity="critical", rate_limit=2))
    try:
        sink.consume(snapshot(alert(n=1)))  # warning: below min_severity
        for n in range(2, 7):
            sink.consume(snapshot(alert("syn_flood", n, AlertSeverity.CRITICAL)))
        wait_until(lambda: len(srv.bodies) >= 2, 10, "two deliveries")
    finally:
        sink.close()
    assert [b["kind"] for b in srv.bodies] == ["syn_flood", "syn_flood"]
    assert any("rate limit" in e.message for e in events)


def test_syslog_action_sends_rfc5424_with_the_json() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(10)
        sink, _ = sink_of(ActionSettings("syslog", "log", host="127.0.0.1",
                                         port=rx.getsockname()[1]))
        try:
            sink.consume(snapshot(alert("syn_flood", 1, AlertSeverity.CRITICAL)))
            data = rx.recv(65536).decode()
        finally:
            sink.close()
    assert data.startswith("<10>1 ")  # facility 1 (user) * 8 + critical 2
    assert " netop - syn_flood - {" in data
    assert json.loads(data[data.index("{"):])["kind"] == "syn_flood"


def test_alert_test_prints_each_action(receiver_factory: Any, tmp_path: Path) -> None:
    srv = receiver_factory()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    out = tmp_path / "got.json"
    write = f"import sys; open({str(out)!r}, 'wb').write(sys.stdin.buffer.read())"
    config = tmp_path / "config.toml"
    config.write_text(f"""
[[alerts.actions]]
type = "webhook"
url = "{srv.url}"

[[alerts.actions]]
type = "webhook"
name = "dead"
url = "http://127.0.0.1:{dead}/"
retries = 1
backoff = 0.01

[[alerts.actions]]
type = "command"
command = ["{sys.executable}", "-c", "{write}"]
""")
    config.chmod(0o600)
    done = subprocess.run([*NETOP, "alert-test", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    lines = done.stdout.splitlines()
    assert done.returncode == 1, done.stderr
    assert lines[0] == f"webhook {srv.url}: delivered"
    assert lines[1].startswith("webhook dead: not delivered: Connection refused")
    assert lines[2].endswith(": delivered")
    assert json.loads(out.read_text())["kind"] == "test"
    assert srv.bodies[0]["community_id"].startswith("1:")


def test_bad_action_config_is_one_line_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[alerts.actions]]\ntype = "pager"\n')
    config.chmod(0o600)
    done = subprocess.run([*NETOP, "alert-test", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "alerts.actions[0].type" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert alert_settings({}).actions == ()
