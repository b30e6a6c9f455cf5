"""The push sources as the engine sees them: a flood coalesced per tick with its rate,
and bad flags or config as one error line, exit status 2."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netop.cli import main
from netop.commands.output import event_json_line, json_line
from netop.config import Config
from netop.model import NetEvent, Severity, SourceStatus
from netop.sources.syslog.source import build_syslog_source


def test_flood_is_coalesced_with_a_rate_and_headless_gets_everything() -> None:
    for max_events, shown in ((50, 51), (None, 300)):
        source = build_syslog_source(Config(), ["127.0.0.1:0"], max_events=max_events)
        assert source is not None
        source.start()
        try:
            source.poll(time.time())
            port = source.server.addresses[0][2]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                for n in range(300):
                    udp.sendto(b"<13>1 - h app - - - msg %d" % n, ("127.0.0.1", port))
            deadline = time.monotonic() + 10
            while source.receiver.received < 300 and time.monotonic() < deadline:
                time.sleep(0.01)
            items = source.poll(time.time() + 1)
        finally:
            source.stop()
        events = [i for i in items if isinstance(i, NetEvent)]
        assert len(events) == shown
        if max_events:
            assert events[-1].kind == "syslog_flood"
            assert "250 more messages this tick not listed" in events[-1].message
            assert "msgs/s" in events[-1].message
        status = [i for i in items if isinstance(i, SourceStatus)]
        assert "300 msgs" in status[0].summary


@pytest.mark.parametrize(("argv", "error"), [
    (["syslog", "--listen", "localhost:99999"], "--listen: port must be 0-65535"),
    (["traps", "--listen", "1:2:3"], "--listen: write IPv6 addresses as [ADDRESS]:PORT"),
    (["syslog", "--listen", "0", "--allow", "10.0.0.0/33"], "--allow: not an address"),
])
def test_bad_flags_are_one_line(argv: list[str], error: str,
                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert error in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("toml", "error"), [
    ('[[traps.users]]\nuser = "u"\nauth_key = "short"\n', "traps.users[0].auth_key: must be"),
    ('[[traps.users]]\nuser = "u"\npriv_key = "longenough"\n', "authPriv needs"),
    ('[traps]\nengine_id = "xyz"\n', "traps.engine_id: not a hex engine ID"),
    ('[syslog]\ntimezone = "Mars/Olympus"\n', "syslog.timezone: unknown time zone"),
    ('[[syslog.patterns]]\nmatch = "("\n', "syslog.patterns[0].match"),
])
def test_bad_config_is_one_line(toml: str, error: str, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    config = tmp_path / "c.toml"
    config.write_text(toml)
    config.chmod(0o600)
    command = "traps" if "traps" in toml else "syslog"
    assert main(["--config", str(config), command, "--listen", "0", "--duration", "0"]) == 2
    err = capsys.readouterr().err
    assert error in err
    assert "Traceback" not in err


def test_a_polled_sender_is_named_by_its_target(tmp_path: Path) -> None:
    from netop.config import load_config
    from netop.sources.push.guard import known_senders

    config = tmp_path / "c.toml"
    config.write_text('[[snmp.targets]]\nname = "core-sw1"\nhost = "192.0.2.1"\n'
                      'community = "public"\n')  # fmt: skip
    config.chmod(0o600)
    names = known_senders(load_config(str(config)))
    assert names == {"192.0.2.1": "core-sw1"}
    source = build_syslog_source(Config(), ["127.0.0.1:0"], names=names)
    assert source is not None
    try:
        source.receiver.handle(b"<11>Nov 30 12:00:00 r1 %LINK-3-UPDOWN: Interface Gi0/1, "
                               b"changed state to down", "192.0.2.1", 1.0)  # fmt: skip
        [event] = source.receiver.take()
    finally:
        source.stop()
    assert event.sender == "core-sw1"
    assert event.message.startswith("core-sw1: %LINK-3-UPDOWN")
    assert dict(event.details)["address"] == "192.0.2.1"


def test_one_sender_cannot_hold_every_tcp_slot() -> None:
    source = build_syslog_source(Config(), ["127.0.0.1:0"])
    assert source is not None
    source.start()
    conns: list[socket.socket] = []
    try:
        port = source.server.addresses[-1][2]
        for _ in range(40):
            conns.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        deadline = time.monotonic() + 10
        while source.server.refused_connections < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert source.server.connections == 32
        assert source.server.refused_connections == 8
    finally:
        for conn in conns:
            conn.close()
        source.stop()


@given(st.text(max_size=40), st.text(max_size=40), st.lists(
    st.tuples(st.text(max_size=10), st.text(max_size=20)), max_size=6),
    st.floats(min_value=0, max_value=4e9))
def test_event_json_line_is_json_dumps_of_the_record(message: str, interface: str,
                                                     details: list[tuple[str, str]],
                                                     ts: float) -> None:  # fmt: skip
    for kind in ("", "link_down"):
        event = NetEvent(ts, Severity.WARNING, "syslog", message, kind, "r1", interface,
                         tuple(details))  # fmt: skip
        assert event_json_line(event) == json_line(event.to_json())
        assert json.loads(event_json_line(event)) == event.to_json()
