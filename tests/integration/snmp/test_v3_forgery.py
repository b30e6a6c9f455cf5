"""SNMPv3 against forgeries (RFC 3414 §3.2 and §4, RFC 3412 §7.2): a relay between
netop and the private snmpd sends a forged datagram just before the agent's real
reply; netop must drop the forgery, take the real reply and keep polling.

The forger knows the test users' keys where the attack needs a valid digest (a stale
or downgraded message); an attacker replaying captured traffic would have one too.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from netop.model import InterfaceSample, NetEvent
from netop.sources.snmp.poller import Poller
from netop.sources.snmp.targets import Secret, SnmpTarget
from tests.integration.snmp.agents import Snmpd
from tests.integration.snmp.relay import (
    Relay,
    Tlv,
    parse,
    sha_keys,
    usm_report,
    v3_encode,
    v3_parse,
)

SYS_NAME_OID = parse(bytes.fromhex("06082b06010201010500")).value  # 1.3.6.1.2.1.1.5.0


def target(port: int, user: str, priv: bool) -> SnmpTarget:
    return SnmpTarget(
        name="agent", host="127.0.0.1", port=port, version="3", user=user,
        auth_protocol="sha", auth_key=Secret("netop-auth-pass"),
        priv_protocol="aes" if priv else None,
        priv_key=Secret("netop-priv-pass") if priv else None, timeout=0.5, retries=1,
    )  # fmt: skip


class Forger:
    """Armed for one round at a time; ``forge(request, reply)`` gives the forgery."""

    def __init__(self, forge: Any) -> None:
        self.forge = forge
        self.armed = False
        self.forged = 0

    def __call__(self, request: bytes, reply: bytes) -> list[bytes]:
        if not self.armed:
            return [reply]
        forged = self.forge(request, reply)
        if forged is None:
            return [reply]
        self.forged += 1
        return [forged, reply]


def poll_rounds(tgt: SnmpTarget, forger: Forger, arm: set[int], rounds: int = 3) -> tuple[
    Poller, list[list[Any]], list[dict[str, Any]]
]:  # fmt: skip
    """Poll ``rounds`` times, the forger armed in the rounds in ``arm``; the poller,
    each round's items and the session's USM state after each round."""

    async def main() -> tuple[Poller, list[list[Any]], list[dict[str, Any]]]:
        poller = Poller([tgt])
        await poller.open()
        out, state = [], []
        try:
            for i in range(rounds):
                forger.armed = i in arm
                out.append(await poller.poll_all())
                session = poller._sessions[0]
                state.append({"boots": session._boots, "engine_id": session.engine_id,
                              "sys_name": poller.trackers[0].sys_name})  # fmt: skip
        finally:
            poller.close()
        return poller, out, state

    return asyncio.run(main())


def _events(items: list[Any]) -> list[str]:
    return [i.message for i in items if isinstance(i, NetEvent)]


def _polled_ok(items: list[Any]) -> bool:
    return any(isinstance(i, InterfaceSample) for i in items) or not any(
        "unreachable" in m or "failed" in m or "authentication" in m for m in _events(items)
    )


def _is_response(m: Any) -> bool:
    return bool(m.flags & 1) and m.pdu.tag == 0xA2


def _set_sys_name(m: Any, name: bytes) -> bool:
    found = False
    for varbind in m.pdu[3].children:
        if varbind[0].value == SYS_NAME_OID:
            varbind.children[1] = Tlv(0x04, name)
            found = True
    return found


def _request_msg_id(request: bytes) -> int:
    return int.from_bytes(parse(request)[1][0].value, "big")


def _request_flags(request: bytes) -> int:
    return parse(request)[1][2].value[0]


def test_a_stale_authenticated_message_never_rolls_the_clock_back(snmpd: Snmpd) -> None:
    seen: dict[str, int] = {}

    def forge(request: bytes, reply: bytes) -> bytes | None:
        m = v3_parse(reply)
        seen["boots"] = m.boots
        if not _is_response(m) or m.boots < 1:
            return None
        auth, _ = sha_keys(m.engine_id)
        return v3_encode(replace(m, boots=m.boots - 1), auth)  # an earlier boot's message

    forger = Forger(forge)
    with Relay(snmpd.port, forger) as relay:
        _, rounds, state = poll_rounds(target(relay.port, "netop-auth", False), forger, {1})
    assert forger.forged >= 1
    assert [s["boots"] for s in state] == [seen["boots"]] * 3  # never rolled back
    assert all(_polled_ok(items) for items in rounds), [_events(r) for r in rounds]


def test_an_unauthenticated_wrong_digest_report_is_not_believed(snmpd: Snmpd) -> None:
    def forge(request: bytes, reply: bytes) -> bytes | None:
        if not _request_flags(request) & 1:
            return None  # discovery: not this test's forgery
        return usm_report(_request_msg_id(request), v3_parse(reply).engine_id, 5)

    forger = Forger(forge)
    with Relay(snmpd.port, forger) as relay:
        _, rounds, _ = poll_rounds(target(relay.port, "netop-auth", False), forger, {1})
    assert forger.forged >= 1
    assert not [m for r in rounds for m in _events(r) if "authentication" in m]
    assert all(_polled_ok(items) for items in rounds), [_events(r) for r in rounds]


def test_forged_unknown_engine_report_and_forged_discovery_break_nothing(
    snmpd: Snmpd,
) -> None:
    def forge(request: bytes, reply: bytes) -> bytes | None:
        m = v3_parse(reply, sha_keys(parse(parse(reply)[2].value)[0].value)[1])
        if not _request_flags(request) & 1:  # discovery: the agent's boots made huge
            return v3_encode(replace(m, boots=2**40, time=2**40))
        return usm_report(_request_msg_id(request), m.engine_id, 4)

    forger = Forger(forge)
    with Relay(snmpd.port, forger) as relay:
        _, rounds, state = poll_rounds(target(relay.port, "netop-priv", True), forger,
                                       {0, 1, 2}, rounds=4)  # fmt: skip
    assert forger.forged >= 3
    assert all(s["boots"] < 2**31 for s in state)
    assert all(_polled_ok(items) for items in rounds), [_events(r) for r in rounds]
    assert any(isinstance(i, InterfaceSample) for i in rounds[-1])


def test_an_auth_no_priv_reply_to_an_auth_priv_request_is_dropped(snmpd: Snmpd) -> None:
    def forge(request: bytes, reply: bytes) -> bytes | None:
        auth, priv = sha_keys(parse(parse(reply)[2].value)[0].value)
        m = v3_parse(reply, priv)
        if not _is_response(m) or not _set_sys_name(m, b"forged-in-clear"):
            return None
        return v3_encode(replace(m, flags=1), auth)  # authenticated, not encrypted

    forger = Forger(forge)
    with Relay(snmpd.port, forger) as relay:
        _, rounds, state = poll_rounds(target(relay.port, "netop-priv", True), forger, {0, 1})
    assert forger.forged >= 2
    assert [s["sys_name"] for s in state] == [state[-1]["sys_name"]] * 3
    assert state[-1]["sys_name"] not in (None, "forged-in-clear")
    assert all(_polled_ok(items) for items in rounds), [_events(r) for r in rounds]


def test_a_response_with_another_request_id_is_dropped(snmpd: Snmpd) -> None:
    def forge(request: bytes, reply: bytes) -> bytes | None:
        m = v3_parse(reply)
        if not _is_response(m) or not _set_sys_name(m, b"forged-request-id"):
            return None
        rid = int.from_bytes(m.pdu[0].value, "big")
        m.pdu.children[0] = Tlv(0x02, ((rid + 1) & 0x7FFFFFFF).to_bytes(4, "big"))
        return v3_encode(m, sha_keys(m.engine_id)[0])

    forger = Forger(forge)
    with Relay(snmpd.port, forger) as relay:
        _, rounds, state = poll_rounds(target(relay.port, "netop-auth", False), forger, {0, 1})
    assert forger.forged >= 2
    assert state[-1]["sys_name"] not in (None, "forged-request-id")
    assert [s["sys_name"] for s in state] == [state[-1]["sys_name"]] * 3
    assert all(_polled_ok(items) for items in rounds), [_events(r) for r in rounds]
