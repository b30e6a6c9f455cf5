"""The poller against a real net-snmp agent on 127.0.0.1: every version, every failure."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from netop.engine.rates import RateTracker
from netop.model import InterfaceSample, NetEvent, SourceStatus
from netop.sources.snmp.poller import Poller
from netop.sources.snmp.source import SnmpSource
from netop.sources.snmp.targets import Secret, SnmpTarget
from tests.integration.snmp.agents import COMMUNITY, Snmpd, free_udp_port
from tests.ready import wait_until

REPO = Path(__file__).resolve().parents[3]


def v2c(port: int, community: str = COMMUNITY, **kw: Any) -> SnmpTarget:
    return SnmpTarget(name="agent", host="127.0.0.1", port=port, version="2c",
                      community=Secret(community), **kw)  # fmt: skip


def v3(port: int, user: str, auth: str | None = None, priv: str | None = None,
       auth_key: str = "netop-auth-pass", priv_key: str = "netop-priv-pass",
       **kw: Any) -> SnmpTarget:  # fmt: skip
    return SnmpTarget(
        name="agent", host="127.0.0.1", port=port, version="3", user=user,
        auth_protocol=auth, auth_key=Secret(auth_key) if auth else None,
        priv_protocol=priv, priv_key=Secret(priv_key) if priv else None, **kw,
    )  # fmt: skip


def run_rounds(targets: list[SnmpTarget], rounds: int, gap: float = 0.0,
               between: Any = None) -> list[list[Any]]:  # fmt: skip
    """Poll every target ``rounds`` times; ``between(i)`` runs after round i."""

    async def main() -> list[list[Any]]:
        poller = Poller(targets)
        await poller.open()
        out = []
        try:
            for i in range(rounds):
                out.append(await poller.poll_all())
                if between is not None:
                    between(i)
                await asyncio.sleep(gap)
        finally:
            poller.close()
        return out

    return asyncio.run(main())


def samples(items: list[Any]) -> dict[str, InterfaceSample]:
    return {i.name: i for i in items if isinstance(i, InterfaceSample)}


def events(items: list[Any]) -> list[str]:
    return [i.message for i in items if isinstance(i, NetEvent)]


def status(items: list[Any]) -> dict[str, Any]:
    return [i for i in items if isinstance(i, SourceStatus)][-1].rows[0]


@pytest.mark.parametrize(
    ("make", "bits"),
    [
        (
            lambda p: SnmpTarget(
                name="agent", host="127.0.0.1", port=p, version="1", community=Secret(COMMUNITY)
            ),
            32,
        ),  # fmt: skip
        (lambda p: v2c(p), 64),
        (lambda p: v3(p, "netop-noauth"), 64),
        (lambda p: v3(p, "netop-auth", "sha"), 64),
        (lambda p: v3(p, "netop-priv", "sha", "aes"), 64),
        (lambda p: v3(p, "netop-p256", "sha256", "aes256"), 64),
        (lambda p: v3(p, "netop-des", "sha", "des"), 64),
        (lambda p: v3(p, "netop-md5des", "md5", "des"), 64),
    ],
    ids=[
        "v1",
        "v2c",
        "v3-noAuthNoPriv",
        "v3-authNoPriv-sha",
        "v3-authPriv-sha-aes",
        "v3-authPriv-sha256-aes256",
        "v3-authPriv-sha-des",
        "v3-authPriv-md5-des",
    ],
)
def test_every_version_polls_the_interfaces(snmpd: Snmpd, make: Any, bits: int) -> None:
    (items,) = run_rounds([make(snmpd.port)], 1)
    found = samples(items)
    assert "lo" in found, events(items)
    lo = found["lo"]
    assert lo.origin == "snmp:agent"
    assert lo.counter_bits == bits
    assert isinstance(lo.rx_bytes, int)
    assert lo.rx_bytes > 0
    # net-snmp on this kernel reads lo's inbound unicast packets as 0; outbound moves.
    assert isinstance(lo.rx_packets, int)
    assert isinstance(lo.tx_packets, int)
    assert lo.tx_packets > 0
    assert lo.oper_up is True
    # net-snmp reports lo at 10 Mbit/s; a software loopback has no real speed, so none is
    # used (no utilisation, no implausible-delta cap on what it really carries).
    assert lo.speed_bps is None
    assert lo.discontinuity is None
    row = status(items)
    assert row["reachable"] is True
    assert row["availability_pct"] == 100.0
    assert row["interfaces"] == len(found) >= 2
    assert any("reachable" in e for e in events(items))


@pytest.mark.parametrize(
    ("make", "kind_text", "limit"),
    [
        (lambda p: v2c(p, "wrong-community", timeout=0.5, retries=1),
         "unreachable: no response after 2 x 0.5 s (or a wrong community)", 1.6),
        (lambda p: v3(p, "netop-priv", "sha", "aes", auth_key="wrong-auth-key", timeout=0.5),
         "authentication failed: wrong digest", 0.5),
        (lambda p: v3(p, "netop-priv", "sha", "aes", priv_key="wrong-priv-key", timeout=0.5),
         "unreachable: no response after 2 x 0.5 s (or a wrong priv key)", 1.6),
        (lambda p: v3(p, "nobody-here", "sha", timeout=0.5),
         "authentication failed: unknown user 'nobody-here'", 0.5),
        (lambda p: v3(p, "netop-priv", "sha", timeout=0.5),
         "access denied: agent answered authorizationError", 0.5),
        (lambda p: v2c(free_udp_port(), timeout=0.5, retries=1),
         "unreachable: port unreachable: nothing answers on 127.0.0.1:", 0.3),
    ],
    ids=["wrong-community", "wrong-auth-key", "wrong-priv-key", "unknown-user",
         "too-low-security-level", "dead-port"],
)  # fmt: skip
def test_failures_read_clearly_within_the_timeout(
    snmpd: Snmpd, make: Any, kind_text: str, limit: float
) -> None:
    started = time.monotonic()
    (items,) = run_rounds([make(snmpd.port)], 1)
    elapsed = time.monotonic() - started
    assert not samples(items)
    messages = events(items)
    assert len(messages) == 1, messages
    assert kind_text in messages[0]
    assert "pass" not in messages[0]
    assert "key" not in messages[0].split("(")[0]
    row = status(items)
    assert row["reachable"] is False
    assert row["availability_pct"] == 0.0
    assert kind_text.split(": ", 1)[-1] in row["last_error"]
    assert elapsed < limit + 1.0  # engine start-up plus the configured timeout


def test_unreachable_said_once_then_recovered(snmpd: Snmpd) -> None:
    target = v2c(snmpd.port, timeout=0.3, retries=0)

    def between(i: int) -> None:
        if i == 0:
            snmpd.stop()
        elif i == 2:
            snmpd.start()

    rounds = run_rounds([target], 4, between=between)
    assert samples(rounds[0])
    assert [e for e in events(rounds[1]) if "unreachable" in e]
    assert not events(rounds[2])  # still down: not said again
    assert [e for e in events(rounds[3]) if "reachable again" in e]
    assert status(rounds[3])["availability_pct"] == 50.0


def _rates(rounds: list[list[Any]]) -> list[tuple[InterfaceSample, Any, list[NetEvent]]]:
    tracker = RateTracker()
    out = []
    for items in rounds:
        for sample in samples(items).values():
            rate, evs = tracker.update(sample)
            out.append((sample, rate, evs))
    return out


@pytest.mark.parametrize("make", [lambda p: v2c(p), lambda p: v3(p, "netop-priv", "sha", "aes")],
                         ids=["v2c", "v3"])  # fmt: skip
def test_agent_restart_same_engine_id_gives_no_rate_then_recovers(snmpd: Snmpd, make: Any) -> None:
    # sysUpTime must have grown past what the restarted agent reports, so it goes back.
    wait_until(lambda: snmpd.uptime_ticks() >= 120, 15, "the agent's sysUpTime reaching 1.2 s")

    def between(i: int) -> None:
        if i == 0:
            snmpd.restart()

    rounds = run_rounds([make(snmpd.port)], 3, gap=0.2, between=between)
    assert [e for e in events(rounds[1]) if "agent restarted (sysUpTime went back)" in e], [
        events(r) for r in rounds
    ]
    after = samples(rounds[1])
    assert after
    assert all(s.discontinuity for s in after.values())
    results = _rates(rounds)
    lo = [(s, r) for s, r, _ in results if s.name == "lo"]
    assert lo[1][1].rx_bps is None  # the restart interval has no rate
    assert all(r.rx_bps is None or r.rx_bps < 15e6 for _, r in lo)  # and no spike
    assert status(rounds[2])["reachable"] is True


def test_an_agent_restart_is_one_event_not_one_per_interface(snmpd: Snmpd) -> None:
    wait_until(lambda: snmpd.uptime_ticks() >= 120, 15, "the agent's sysUpTime reaching 1.2 s")

    def between(i: int) -> None:
        if i == 0:
            snmpd.restart()

    rounds = run_rounds([v2c(snmpd.port)], 2, gap=0.2, between=between)
    assert len(samples(rounds[1])) >= 2  # lo and eth0 at least: several interfaces
    said = [e for e in events(rounds[1]) if "restart" in e]
    said += [e.message for _, _, evs in _rates(rounds) for e in evs]
    assert len(said) == 1, said
    assert "agent restarted" in said[0]


def test_agent_with_new_engine_id_is_rediscovered(snmpd: Snmpd) -> None:
    wait_until(lambda: snmpd.uptime_ticks() >= 120, 15, "the agent's sysUpTime reaching 1.2 s")
    target = v3(snmpd.port, "netop-p256", "sha256", "aes256", timeout=0.4, retries=0)

    def between(i: int) -> None:
        if i == 0:
            snmpd.restart(new_engine=True)

    rounds = run_rounds([target], 5, between=between)
    ok = [i for i, items in enumerate(rounds) if samples(items)]
    assert ok[0] == 0
    assert len(ok) >= 2, [events(r) for r in rounds]
    back = rounds[ok[1]]
    assert [e for e in events(back) if "new engine ID" in e], events(back)
    assert all(s.discontinuity == "new engine ID" for s in samples(back).values())


def _udp_flood(stop: threading.Event, port: int, bytes_per_s: int) -> None:
    payload = b"x" * 1000
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            for _ in range(bytes_per_s // 1000 // 20):
                sock.sendto(payload, ("127.0.0.1", port))
            time.sleep(0.05)


def test_polling_faster_than_the_counter_cache_gives_no_zero_then_spike(snmpd: Snmpd) -> None:
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)
    stop = threading.Event()
    flood = threading.Thread(target=_udp_flood, args=(stop, sink.getsockname()[1], 400_000))
    flood.start()

    def flowing() -> bool:
        try:
            return bool(sink.recv(2048))
        except BlockingIOError:
            return False

    try:
        wait_until(flowing, 10, "the UDP flood never reached its sink")  # lo's counters move
        rounds = run_rounds([v2c(snmpd.port, interval=0.5)], 20, gap=0.5)
    finally:
        stop.set()
        flood.join()
        sink.close()
    lo = [s for items in rounds for s in samples(items).values() if s.name == "lo"]
    # The agent refreshes every ~3 s: far fewer samples than polls, each a real change.
    assert 2 <= len(lo) <= 8, len(lo)
    # Every sample carries new counters (no zero-rate interval) and spans at least one
    # whole cache period (no half-empty interval that would read double). Absolute rates
    # are not compared: other programs on this machine may use loopback too.
    deltas = [b.rx_bytes - a.rx_bytes for a, b in zip(lo, lo[1:], strict=False)]  # type: ignore[operator]
    assert min(deltas) > 0
    spans = [b.ts - a.ts for a, b in zip(lo, lo[1:], strict=False)]
    assert min(spans) > 2.0, spans


def test_source_thread_emits_and_stops(snmpd: Snmpd) -> None:
    got: list[Any] = []
    lock = threading.Lock()

    def emit(item: Any) -> None:
        with lock:
            got.append(item)

    source = SnmpSource([v2c(snmpd.port, interval=0.5)], warnings=["a warning"])
    source.start(emit)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(isinstance(i, InterfaceSample) for i in got):
        time.sleep(0.05)
    source.stop()
    source.stop()  # idempotent
    assert any(isinstance(i, InterfaceSample) and i.name == "lo" for i in got)
    assert any(isinstance(i, NetEvent) and i.message == "a warning" for i in got)
    assert not [t for t in threading.enumerate() if t.name == "netop-snmp"]
    assert source.describe() == "snmp agent"


def _netop(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netop", *args], capture_output=True, text=True, timeout=60,
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO), **(env or {})),
    )  # fmt: skip


def test_cli_prints_interface_records(snmpd: Snmpd) -> None:
    proc = _netop("snmp", f"v2c:{COMMUNITY}@127.0.0.1:{snmpd.port}", "--json", "--count", "1",
                  "--interval", "1")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert records
    for record in records:
        assert record["origin"] == f"snmp:127.0.0.1:{snmpd.port}"
        assert {"ts", "iface", "rx_bps", "tx_bps", "rx_drops", "speed_bps", "util_rx",
                "oper_up", "counters"} <= set(record)  # fmt: skip
    assert COMMUNITY not in proc.stdout + proc.stderr


def test_cli_v3_keys_from_environment_and_config_file(snmpd: Snmpd, tmp_path: Path) -> None:
    env = {"NETOP_SNMP_AUTH_KEY": "netop-auth-pass", "NETOP_SNMP_PRIV_KEY": "netop-priv-pass"}
    proc = _netop("snmp", f"v3:netop-p256@127.0.0.1:{snmpd.port}/sha256/aes256", "--json",
                  "--count", "1", "--interval", "1", env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert any(json.loads(line)["iface"] == "lo" for line in proc.stdout.splitlines())
    config = tmp_path / "netop.toml"
    config.write_text(
        f'[[snmp.targets]]\nname = "core"\nhost = "127.0.0.1"\nport = {snmpd.port}\n'
        f'version = "2c"\ncommunity = "{COMMUNITY}"\ninterval = 1\n'
    )
    config.chmod(0o644)
    proc = _netop("snmp", "--config", str(config), "--json", "--count", "1")
    assert proc.returncode == 0, proc.stderr
    assert "readable by other users" in proc.stderr
    assert "chmod 600" in proc.stderr
    assert {json.loads(line)["origin"] for line in proc.stdout.splitlines()} == {"snmp:core"}
    assert COMMUNITY not in proc.stderr


def test_a_dead_target_never_delays_the_others(snmpd: Snmpd) -> None:
    got: list[Any] = []
    lock = threading.Lock()

    def emit(item: Any) -> None:
        with lock:
            got.append((time.monotonic(), item))

    # Wrong community: snmpd stays silent, so each poll of "dead" waits 2 x 1.5 s.
    dead = replace(v2c(snmpd.port, "silent", timeout=1.5, retries=1), name="dead")
    live = replace(v2c(snmpd.port, interval=0.5), name="live")
    source = SnmpSource([dead, live])
    started = time.monotonic()
    source.start(emit)

    def live_polls_seen() -> int:
        with lock:
            return sum(1 for _, i in got if isinstance(i, SourceStatus)
                       and any(r["name"] == "live" and r["reachable"] for r in i.rows))  # fmt: skip

    # Stop while the dead target's first request (2 x 1.5 s) is still in flight.
    wait_until(lambda: live_polls_seen() >= 3, 10, "three polls of the live target")
    stopping = time.monotonic()
    source.stop()
    assert time.monotonic() - stopping < 1.0  # in-flight requests are cancelled, not awaited
    live_polls = [t for t, i in got if isinstance(i, SourceStatus)
                  and any(r["name"] == "live" and r["reachable"] for r in i.rows)]  # fmt: skip
    assert live_polls
    assert live_polls[0] - started < 1.0  # not behind the dead target's 3 s timeout
    assert len(live_polls) >= 3  # polled on its own schedule meanwhile


@pytest.mark.parametrize(("user", "auth", "priv"), [("netop-des", "sha", "des"),
                                                   ("netop-priv", "sha", "aes")])  # fmt: skip
def test_own_usm_reads_what_pysnmp_reads(snmpd: Snmpd, user: str, auth: str, priv: str) -> None:
    """pysnmp as the differential oracle: the same v3 user, the same static columns."""
    from pysnmp.hlapi.v3arch.asyncio import (
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        UsmUserData,
        get_cmd,
        usmAesCfb128Protocol,
        usmDESPrivProtocol,
        usmHMACSHAAuthProtocol,
    )  # fmt: skip

    from netop.sources.snmp import mib
    from netop.sources.snmp.poller import fetch
    from netop.sources.snmp.usm import UsmSession

    target = v3(snmpd.port, user, auth, priv)
    names = ("descr", "type", "oper")

    async def ours() -> Any:
        session = UsmSession(target)
        try:
            return await fetch(session, names)
        finally:
            session.close()

    async def theirs(indexes: list[int]) -> dict[str, dict[int, Any]]:
        engine = SnmpEngine()
        try:
            transport = await UdpTransportTarget.create(("127.0.0.1", snmpd.port), timeout=2,
                                                        retries=1)  # fmt: skip
            usm = UsmUserData(user, "netop-auth-pass", "netop-priv-pass",
                              authProtocol=usmHMACSHAAuthProtocol,
                              privProtocol=usmDESPrivProtocol if priv == "des"
                              else usmAesCfb128Protocol)  # fmt: skip
            out: dict[str, dict[int, Any]] = {}
            for name in names:
                oids = [".".join(map(str, (*mib.COLUMNS[name], i))) for i in indexes]
                ei, es, _, vbs = await get_cmd(engine, usm, transport, ContextData(),
                                               *(ObjectType(ObjectIdentity(o)) for o in oids),
                                               lookupMib=False)  # fmt: skip
                assert not ei
                assert not es
                out[name] = {int(oid[-1]): (bytes(v.asOctets()) if hasattr(v, "asOctets")
                                            else int(v)) for oid, v in vbs}  # fmt: skip
            return out
        finally:
            engine.close_dispatcher()

    result = asyncio.run(ours())
    assert result.error is None
    assert result.columns["descr"]
    indexes = sorted(result.columns["descr"])
    assert result.columns == asyncio.run(theirs(indexes))
