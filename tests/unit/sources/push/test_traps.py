"""Trap decoding and the v3 receiver, on messages net-snmp's snmptrap sent (captured
bytes: the unit tests need no agent); hostile bytes never get further than a count."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netop.model import Severity
from netop.sources.push.guard import SenderGuard
from netop.sources.snmp.keys import Secret
from netop.sources.traps.source import TrapReceiver
from netop.sources.traps.usm import TrapUser, UsmReceiver

# snmptrap -v 3 -u netop -l authPriv -a SHA -A authpass123 -x AES -X privpass123
#   -e 0x8000000001020304 HOST '' linkDown ifIndex.4 = 4 ifDescr.4 = "eth-4"
V3_LINK_DOWN = bytes.fromhex(
    "3081c4020103301102040ab340f4020300ffe30401030201030433303104088000000001020304020101"
    "020321e7c004056e65746f70040cc8014d24d92dc1182b4ba2540408b4266f0d179bdb6a0477f2ac59fe"
    "fb53a7f50d3b98ffc929f17892eae920e988607da74e5a12d7d8ffe1b6c32a755f0858e94f1bd3d0b858"
    "98936a23e900fd03db33da757b5f1ac998dcd8ec11c2403a9ea8118b8fc461028f6752f6dc5b44297800"
    "9d5d4c675ded28b8a33fbea5497e6901bb841c6d8be4b7f7ab697a9b793b50")
# snmptrap -v 2c -c public HOST '' 1.3.6.1.4.1.99.0.1 1.3.6.1.4.1.99.1 s $'x\e[31m'
V2C_ESCAPE = bytes.fromhex(
    "305702010104067075626c6963a74a02047a57ad94020100020100303c300f06082b0601020101030043"
    "0321e7c43016060a2b06010603010104010006082b06010401630001301106072b0601040163010406781b"
    "5b33316d")
USER = TrapUser("netop", "sha", Secret("authpass123"), "aes", Secret("privpass123"))


def receiver(users: tuple[TrapUser, ...] = (USER,)) -> TrapReceiver:
    return TrapReceiver(SenderGuard(), UsmReceiver(users), names={"192.0.2.1": "core-sw1"},
                        resolver=lambda addr, index: "Gi0/4" if (addr, index) == (
                            "192.0.2.1", 4) else None)


def test_v3_authpriv_link_down_decoded_and_resolved() -> None:
    r = receiver()
    r.handle(V3_LINK_DOWN, "192.0.2.1", 1.0)
    [event] = r.take()
    assert (event.kind, event.severity, event.sender, event.interface) == (
        "link_down", Severity.ERROR, "core-sw1", "Gi0/4")
    assert event.message == "core-sw1: linkDown Gi0/4"
    assert dict(event.details)["user"] == "netop"


def test_v3_unpolled_sender_keeps_the_trap_s_own_name() -> None:
    r = receiver()
    r.handle(V3_LINK_DOWN, "198.51.100.7", 1.0)
    [event] = r.take()
    assert (event.sender, event.interface) == ("198.51.100.7", "eth-4")


def test_v3_bad_digest_is_dropped_counted_never_shown() -> None:
    r = receiver((TrapUser("netop", "sha", Secret("otherpass123"), "aes",
                           Secret("privpass123")),))
    r.handle(V3_LINK_DOWN, "192.0.2.1", 1.0)
    assert r.take() == []
    assert r.dropped == {"bad_digest": 1}
    flipped = bytearray(V3_LINK_DOWN)
    flipped[-3] ^= 1
    r = receiver()
    r.handle(bytes(flipped), "192.0.2.1", 1.0)
    assert r.take() == []
    assert r.dropped == {"bad_digest": 1}


def test_v3_replayed_older_message_is_refused() -> None:
    r = receiver()
    r.handle(V3_LINK_DOWN, "192.0.2.1", 1.0)
    assert r.usm is not None
    r.usm._latest[bytes.fromhex("8000000001020304")] = (2, 10**6)  # the sender rebooted since
    r.handle(V3_LINK_DOWN, "192.0.2.1", 2.0)
    assert len(r.take()) == 1
    assert r.dropped == {"not_in_time_window": 1}


def test_v3_engine_id_pinned_per_user() -> None:
    pinned = TrapUser("netop", "sha", Secret("authpass123"), "aes", Secret("privpass123"),
                      engine_id=b"\x80\x00\x00\x00\x05\x01\x02\x03")
    r = receiver((pinned,))
    r.handle(V3_LINK_DOWN, "192.0.2.1", 1.0)
    assert r.take() == []
    assert r.dropped == {"unknown_engine": 1}


def test_escape_codes_in_a_varbind_are_shown_as_text() -> None:
    r = receiver()
    r.handle(V2C_ESCAPE, "192.0.2.1", 1.0)
    [event] = r.take()
    assert "\x1b" not in event.message
    assert "1.3.6.1.4.1.99.0.1" in event.message
    assert event.kind == "trap"
    assert event.severity == Severity.INFO


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_datagrams_are_counted_not_raised(data: bytes) -> None:
    r = receiver()
    r.handle(data, "192.0.2.1", 1.0)
    r.take()
    assert r.received == 1


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_mutated_real_messages_are_counted_not_raised(data: st.DataObject) -> None:
    base = bytearray(data.draw(st.sampled_from([V3_LINK_DOWN, V2C_ESCAPE])))
    for _ in range(data.draw(st.integers(1, 4))):
        base[data.draw(st.integers(0, len(base) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(base)))
    r = receiver()
    r.handle(bytes(base[:cut]), "192.0.2.1", 1.0)
    events = r.take()
    assert len(events) + sum(r.dropped.values()) <= 1
