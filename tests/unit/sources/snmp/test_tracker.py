"""TargetTracker: restarts, the agent's counter cache, reachability, hostile agent text."""

from __future__ import annotations

from typing import Any

from netop.engine.rates import RateTracker
from netop.model import InterfaceSample, NetEvent, Severity
from netop.sources.snmp import mib
from netop.sources.snmp.targets import Secret, SnmpTarget
from netop.sources.snmp.tracker import PollResult, TargetTracker, status_of

ENGINE = b"\x80\x00\x1f\x88\x80engine-a"


def target(**kw: Any) -> SnmpTarget:
    base: dict[str, Any] = {"name": "sw1", "host": "192.0.2.1", "community": Secret("x")}
    base.update(kw)
    return SnmpTarget(**base)


def result(
    mono: float,
    uptime: int | None,
    ifaces: dict[int, dict[str, Any]],
    engine: bytes | None = ENGINE,
    static: bool = True,
) -> PollResult:
    columns: dict[str, dict[int, Any]] = {}
    for index, values in ifaces.items():
        for name, value in values.items():
            if not static and name in mib.STATIC:
                continue
            columns.setdefault(name, {})[index] = value
    scalars: dict[tuple[int, ...], Any] = {mib.SYS_NAME: b"sw1.example"}
    if uptime is not None:
        scalars[mib.SYS_UPTIME] = uptime
    if engine is not None:
        scalars[mib.ENGINE_ID] = engine
    return PollResult(ts=1000.0 + mono, mono=mono, latency=0.01, scalars=scalars,
                      columns=columns)  # fmt: skip


def failed(mono: float, kind: str, message: str) -> PollResult:
    return PollResult(ts=1000.0 + mono, mono=mono, latency=1.0, error_kind=kind, error=message)


def port(octets_in: int, octets_out: int, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": b"Gi0/1", "descr": b"GigabitEthernet0/1", "high_speed": 1000, "speed": 10**9,
        "oper": 1, "hc_in_octets": octets_in, "hc_out_octets": octets_out, "hc_in_ucast": 10,
        "hc_in_mcast": 2, "hc_in_bcast": 1, "hc_out_ucast": 20, "in_discards": 3,
        "out_discards": 4, "in_errors": 5, "out_errors": 6, "disc_time": 0,
    }  # fmt: skip
    values.update(extra)
    return values


def samples(items: list[Any]) -> list[InterfaceSample]:
    return [i for i in items if isinstance(i, InterfaceSample)]


def events(items: list[Any]) -> list[NetEvent]:
    return [i for i in items if isinstance(i, NetEvent)]


def test_sample_fields_from_the_if_mib() -> None:
    tracker = TargetTracker(target())
    items = tracker.update(result(0.0, 100, {1: port(1000, 2000)}))
    (s,) = samples(items)
    assert (s.origin, s.name, s.ts) == ("snmp:sw1", "Gi0/1", 1000.0)
    assert (s.rx_bytes, s.tx_bytes, s.rx_packets, s.tx_packets) == (1000, 2000, 13, 20)
    assert (s.rx_drops, s.tx_drops, s.rx_errors, s.tx_errors) == (3, 4, 5, 6)
    assert s.speed_bps == 1_000_000_000
    assert s.oper_up is True
    assert s.counter_bits == 64
    assert s.discontinuity is None
    (e,) = events(items)
    assert e.message == "sw1: reachable (sysName sw1.example)"
    assert e.source == "snmp:sw1"


def test_32_bit_fallback_per_interface_and_plan() -> None:
    tracker = TargetTracker(target())
    assert "in_octets" in tracker.plan(0.0)  # the first poll learns which ports need them
    no_hc = port(0, 0, in_octets=4_000_000_000, out_octets=7, in_ucast=9, in_nucast=1,
                 high_speed=0, speed=100_000_000, name=b"Fa0/2")  # fmt: skip
    del no_hc["hc_in_octets"], no_hc["hc_out_octets"]
    items = tracker.update(result(0.0, 100, {1: port(5, 6), 2: no_hc}))
    by_name = {s.name: s for s in samples(items)}
    assert by_name["Gi0/1"].counter_bits == 64
    assert by_name["Fa0/2"].counter_bits == 32
    assert by_name["Fa0/2"].rx_bytes == 4_000_000_000
    assert by_name["Fa0/2"].rx_packets == 10
    assert by_name["Fa0/2"].speed_bps == 100_000_000
    # Later polls ask for the 32-bit columns only while some port needs them.
    assert "in_octets" in tracker.plan(10.0)
    assert "descr" not in tracker.plan(10.0)
    only_hc = {k: v for k, v in no_hc.items() if k not in mib.LOW}
    items = tracker.update(result(10.0, 1100, {1: port(5, 6), 2: only_hc}, static=False))
    assert [s.name for s in samples(items)] == ["Gi0/1"]  # Fa0/2 has no reading this time
    tracker.update(result(20.0, 2100, {1: port(5, 6)}, static=False))
    assert "in_octets" not in tracker.plan(30.0)


def test_v1_never_asks_for_64_bit_columns() -> None:
    tracker = TargetTracker(target(version="1"))
    assert not set(tracker.plan(0.0)) & set(mib.HC)


def test_32_bit_wrap_gives_the_true_rate_through_the_engine() -> None:
    tracker, rates = TargetTracker(target(interval=10.0)), RateTracker()
    low = {"name": b"e0", "speed": 1_000_000_000, "oper": 1, "in_ucast": 1, "out_ucast": 1}
    first = samples(tracker.update(result(0.0, 0, {1: {**low, "in_octets": 2**32 - 1000,
                                                       "out_octets": 0}})))  # fmt: skip
    second = samples(tracker.update(result(10.0, 1000, {1: {**low, "in_octets": 24_000,
                                                            "out_octets": 0}})))  # fmt: skip
    rates.update(first[0])
    rate, evs = rates.update(second[0])
    assert second[0].counter_bits == 32
    assert rate.rx_bps == 25_000 * 8 / 10.0
    assert evs == []


def test_sysuptime_going_back_is_a_restart() -> None:
    tracker, rates = TargetTracker(target()), RateTracker()
    for s in samples(tracker.update(result(0.0, 50_000, {1: port(10**9, 10**9)}))):
        rates.update(s)
    items = tracker.update(result(10.0, 300, {1: port(5_000, 6_000)}))
    (s,) = samples(items)
    assert s.discontinuity == "agent restarted (sysUpTime went back)"
    assert any("agent restarted" in e.message and e.severity is Severity.WARNING
               for e in events(items))  # fmt: skip
    rate, _ = rates.update(s)
    assert rate.rx_bps is None  # no spike, no negative: no rate this interval
    (s,) = samples(tracker.update(result(20.0, 1300, {1: port(15_000, 6_000)})))
    assert s.discontinuity is None
    assert rates.update(s)[0].rx_bps == 10_000 * 8 / 10.0


def test_restart_while_unreachable_is_caught_by_uptime_shorter_than_the_gap() -> None:
    tracker = TargetTracker(target())
    tracker.update(result(0.0, 10_000, {1: port(1, 1)}))
    tracker.update(result(10.0, 11_000, {1: port(2, 2)}))
    tracker.update(failed(20.0, "timeout", "no response"))
    # Back 600 s later with an uptime of 300 s: larger than before, but it restarted.
    (s,) = samples(tracker.update(result(610.0, 30_000, {1: port(3, 3)})))
    assert s.discontinuity is not None
    assert s.discontinuity.startswith("agent restarted")


def test_static_uptime_of_a_recording_is_not_a_restart() -> None:
    tracker = TargetTracker(target())
    for i in range(4):
        (s,) = samples(tracker.update(result(i * 10.0, 500, {1: port(i, i)})))
        assert s.discontinuity is None


def test_sysuptime_wrap_after_497_days_is_not_a_restart() -> None:
    tracker = TargetTracker(target())
    tracker.update(result(0.0, 2**32 - 200, {1: port(1, 1)}))
    (s,) = samples(tracker.update(result(10.0, 800, {1: port(2, 2)})))
    assert s.discontinuity is None


def test_new_engine_id_and_if_counter_discontinuity_time() -> None:
    tracker = TargetTracker(target())
    tracker.update(result(0.0, 100, {1: port(1, 1), 2: port(1, 1, name=b"Gi0/2")}))
    (a, b) = samples(tracker.update(result(10.0, 1100, {1: port(2, 2),
                                                        2: port(2, 2, name=b"Gi0/2",
                                                                disc_time=1050)})))  # fmt: skip
    assert a.discontinuity is None
    assert b.discontinuity == "ifCounterDiscontinuityTime changed"
    items = tracker.update(result(20.0, 2100, {1: port(3, 3), 2: port(3, 3, name=b"Gi0/2",
                                                                      disc_time=1050)},
                                  engine=b"other-engine"))  # fmt: skip
    assert {s.discontinuity for s in samples(items)} == {"new engine ID"}
    assert any("new engine ID" in e.message for e in events(items))


def test_unchanged_counters_are_held_while_polling_faster_than_the_cache() -> None:
    tracker, rates = TargetTracker(target(interval=1.0)), RateTracker()
    # The agent refreshes every 3 s; we poll every second.
    emitted = []
    for second in range(13):
        refreshed = second // 3 * 3
        items = tracker.update(result(float(second), second * 100,
                                      {1: port(refreshed * 1000, 0)}))  # fmt: skip
        for s in samples(items):
            rate, _ = rates.update(s)
            emitted.append((second, rate.rx_bps))
    # The baseline waits for the first refresh, so every interval is whole periods.
    assert [t for t, _ in emitted] == [3, 6, 9, 12]
    assert [bps for _, bps in emitted[1:]] == [8000.0] * 3  # steady, never 0 then double


def test_idle_interface_still_reports_after_the_hold() -> None:
    tracker = TargetTracker(target(interval=1.0))
    times = [t for t in range(12) if samples(tracker.update(result(float(t), t * 100,
                                                                   {1: port(7, 7)})))]  # fmt: skip
    assert times == [5, 10]


def test_slow_polls_always_emit() -> None:
    tracker = TargetTracker(target(interval=10.0))
    assert all(samples(tracker.update(result(t * 10.0, t * 1000, {1: port(7, 7)})))
               for t in range(3))  # fmt: skip


def test_oper_status_changes_are_events() -> None:
    tracker = TargetTracker(target())
    tracker.update(result(0.0, 100, {1: port(1, 1)}))
    items = tracker.update(result(10.0, 1100, {1: port(1, 1, oper=2)}, static=False))
    (e,) = events(items)
    assert e.message == "sw1:Gi0/1: link down (was up)"
    assert e.severity is Severity.WARNING
    assert samples(items)[0].oper_up is False
    assert "descr" in tracker.plan(11.0)  # speeds are re-read after a link change
    (e,) = events(tracker.update(result(20.0, 2100, {1: port(1, 1, oper=1)})))
    assert e.message == "sw1:Gi0/1: link up (was down)"


def test_unreachable_once_then_recovered_and_availability() -> None:
    tracker = TargetTracker(target())
    tracker.update(result(0.0, 100, {1: port(1, 1)}))
    (e,) = events(tracker.update(failed(10.0, "timeout", "no response after 2 x 2 s")))
    assert e.message == "sw1: unreachable: no response after 2 x 2 s"
    assert e.severity is Severity.ERROR
    assert events(tracker.update(failed(20.0, "timeout", "no response after 2 x 2 s"))) == []
    (e,) = events(tracker.update(failed(30.0, "auth", "SNMPv3 authentication failed: x")))
    assert e.message == "sw1: SNMPv3 authentication failed: x"  # named as such, not a timeout
    (e,) = events(tracker.update(result(40.0, 4100, {1: port(2, 2)})))
    assert e.message == "sw1: reachable again after 30 s"
    row = tracker.status_row()
    assert row["availability_pct"] == 40.0
    assert row["reachable"] is True
    assert row["interfaces"] == 1
    assert row["last_error"] is None
    status = status_of([tracker, TargetTracker(target(name="sw2"))], 5.0)
    assert status.summary == "SNMP 1/2 targets reachable"
    assert [r["name"] for r in status.rows] == ["sw1", "sw2"]


def test_hostile_names_are_cleaned_and_duplicates_told_apart() -> None:
    tracker = TargetTracker(target())
    evil = b"\x1b[31m[bold]red\x07" + b"\xff" + b"A" * 500
    items = tracker.update(result(0.0, 100, {
        1: port(1, 1, name=evil), 2: port(1, 1, name=b"dup"), 3: port(1, 1, name=b"dup"),
        4: port(1, 1, name=b"", descr=b""), 5: port(1, 1, name=12345),
    }))  # fmt: skip
    names = [s.name for s in samples(items)]
    # The one sanitiser netop has (netop.text.safe_text): U+FFFD for what cannot be
    # shown, a cut marked with an ellipsis.
    assert names[0].startswith("\ufffd[31m[bold]red\ufffd\ufffd")
    assert len(names[0]) == 64
    assert names[0].endswith("…")
    assert all(c.isprintable() for n in names for c in n)
    assert names[1:] == ["dup", "dup#3", "ifIndex4", "GigabitEthernet0/1"]


def test_garbage_values_do_not_break_the_tracker() -> None:
    tracker = TargetTracker(target())
    garbage = port(b"x", -5, oper=b"up", high_speed=b"fast", speed=None, in_discards=None,
                   in_octets=b"y", out_octets=-1)  # fmt: skip
    items = tracker.update(result(0.0, b"not-ticks", {1: garbage}))  # type: ignore[arg-type]
    (s,) = samples(items)
    assert s.counter_bits == 32  # HC octets unusable: the 32-bit ones are tried
    assert s.rx_bytes is None
    assert s.tx_bytes is None
    assert s.rx_drops is None
    assert s.oper_up is None
    assert s.speed_bps is None


def test_include_exclude_filter_interfaces() -> None:
    tracker = TargetTracker(target(include=("Gi*",), exclude=("*/2",)))
    items = tracker.update(result(0.0, 100, {
        1: port(1, 1), 2: port(1, 1, name=b"Gi0/2"), 3: port(1, 1, name=b"Vlan1", descr=b"V"),
    }))  # fmt: skip
    assert [s.name for s in samples(items)] == ["Gi0/1"]
    assert tracker.interfaces == 1


def test_unknown_interface_triggers_a_static_walk() -> None:
    tracker = TargetTracker(target())
    tracker.update(result(0.0, 100, {1: port(1, 1)}))
    items = tracker.update(result(10.0, 1100, {1: port(2, 2), 9: port(1, 1)}, static=False))
    assert "ifIndex9" in [s.name for s in samples(items)]
    assert "descr" in tracker.plan(11.0)


def test_a_poll_is_sent_whole_or_held_whole() -> None:
    # The engine takes one poll's samples as the target's whole set of interfaces.
    tracker = TargetTracker(target(interval=1.0))
    idle = port(5, 5, name=b"Gi0/2")
    assert samples(tracker.update(result(0.0, 0, {1: port(0, 0), 2: idle}))) == []
    assert samples(tracker.update(result(1.0, 100, {1: port(0, 0), 2: idle}))) == []
    moved = samples(tracker.update(result(2.0, 200, {1: port(900, 0), 2: idle})))
    assert [s.name for s in moved] == ["Gi0/1", "Gi0/2"]  # the idle port comes along
    gone = samples(tracker.update(result(3.0, 300, {1: port(900, 0)})))
    assert [s.name for s in gone] == ["Gi0/1"]  # a changed set is sent at once


def test_samples_say_when_the_next_one_is_due() -> None:
    """The engine marks a target's rates stale after twice this gap without a sample."""
    slow = TargetTracker(target(interval=10.0))
    assert {s.max_gap for s in samples(slow.update(result(0.0, 100, {1: port(7, 7)})))} == {10.0}
    # Polled faster than the agent's counter cache, samples may be held up to CACHE_HOLD.
    fast = TargetTracker(target(interval=1.0))
    got = [s for t in range(12)
           for s in samples(fast.update(result(float(t), t * 100, {1: port(7, 7)})))]
    assert got
    assert {s.max_gap for s in got} == {5.0}


def test_speeds_are_capped_and_values_beyond_64_bits_ignored() -> None:
    tracker = TargetTracker(target())
    huge = port(4, 5, high_speed=2**1100, speed=2**1100, hc_in_ucast=2**64)
    (s,) = samples(tracker.update(result(0.0, 100, {1: huge})))
    assert s.speed_bps is None  # no link is faster than ifHighSpeed's 2^32-1 Mbit/s
    assert s.rx_packets is None
    assert (s.rx_bytes, s.tx_bytes) == (4, 5)
