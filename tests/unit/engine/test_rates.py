"""Rates from cumulative counters: wraps, resets, missing speed, discontinuities."""

from __future__ import annotations

import pytest

from netop.engine.rates import RateTracker, counter_delta
from netop.model import InterfaceSample


def s(t: float, rx: int, tx: int = 0, **kw: object) -> InterfaceSample:
    fields: dict[str, object] = {"origin": "local", "name": "eth0", "ts": t, "rx_bytes": rx,
                                 "tx_bytes": tx, "rx_packets": rx // 100,
                                 "tx_packets": tx // 100}
    fields.update(kw)
    return InterfaceSample(**fields)  # type: ignore[arg-type]


def test_first_sample_has_no_rate() -> None:
    rate, events = RateTracker().update(s(0, 1000))
    assert rate.rx_bps is None
    assert rate.tx_bps is None
    assert events == []


def test_rate_is_bits_per_second_over_the_real_interval() -> None:
    tracker = RateTracker()
    tracker.update(s(10.0, 1_000))
    rate, _ = tracker.update(s(12.0, 251_000, 50_000))
    assert rate.rx_bps == pytest.approx(250_000 * 8 / 2)
    assert rate.tx_bps == pytest.approx(50_000 * 8 / 2)
    assert rate.rx_pps == pytest.approx(2500 / 2)
    assert rate.deltas["rx_bytes"] == 250_000


@pytest.mark.parametrize(
    ("old", "new", "bits", "expected", "reset"),
    [
        (2**32 - 100, 50, 32, 150, False),  # a 32-bit wrap
        (2**32 - 100, 2**31 + 10, 32, None, True),  # "wrap" of more than half the range: reset
        (2**40, 5, 64, None, True),  # 64-bit counters never wrap in practice: reset
        (5, 5, 64, 0, False),
        (None, 5, 64, None, False),
    ],
)
def test_counter_delta_tells_wrap_from_reset(
    old: int | None, new: int, bits: int, expected: int | None, reset: bool
) -> None:
    delta = counter_delta(old, new, bits)
    assert delta.value == expected
    assert delta.reset is reset


def test_wrap_of_a_32_bit_counter_gives_the_true_rate() -> None:
    tracker = RateTracker()
    tracker.update(s(0, 2**32 - 1000, counter_bits=32, speed_bps=10**9, rx_packets=7))
    rate, events = tracker.update(s(1, 4000, counter_bits=32, speed_bps=10**9, rx_packets=12))
    assert rate.rx_bps == pytest.approx(5000 * 8)
    assert events == []


def test_counter_going_backwards_gives_no_rate_and_an_event() -> None:
    tracker = RateTracker()
    tracker.update(s(0, 10_000_000))
    rate, events = tracker.update(s(1, 1_000))
    assert rate.rx_bps is None
    assert rate.tx_bps is None
    assert all(value is None for value in rate.deltas.values())
    assert len(events) == 1
    assert "counter reset" in events[0].message
    # And the next interval is normal again, from the new base.
    rate, events = tracker.update(s(2, 9_000))
    assert rate.rx_bps == pytest.approx(8_000 * 8)
    assert events == []


def test_reset_of_only_a_drop_counter_keeps_the_rate() -> None:
    tracker = RateTracker()
    tracker.update(s(0, 1_000, rx_drops=50))
    rate, events = tracker.update(s(1, 2_000, rx_drops=0))
    assert rate.rx_bps == pytest.approx(8_000)
    assert rate.deltas["rx_drops"] is None
    assert "rx_drops" in events[0].message


def test_missing_speed_gives_no_utilisation() -> None:
    tracker = RateTracker()
    tracker.update(s(0, 0))
    rate, _ = tracker.update(s(1, 125_000))
    assert rate.speed_bps is None
    assert rate.util_rx is None
    assert rate.util_tx is None


def test_utilisation_is_percent_of_link_speed() -> None:
    tracker = RateTracker()
    tracker.update(s(0, 0, speed_bps=10_000_000))
    rate, _ = tracker.update(s(1, 625_000, speed_bps=10_000_000))
    assert rate.util_rx == pytest.approx(50.0)


def test_discontinuity_flag_gives_no_rate() -> None:
    tracker = RateTracker()
    tracker.update(s(0, 0, origin="snmp:sw1"))
    rate, events = tracker.update(s(30, 10**6, origin="snmp:sw1",
                                    discontinuity="agent restarted (sysUpTime went back)"))
    assert rate.rx_bps is None
    assert "agent restarted" in events[0].message
    assert events[0].message.startswith("sw1:eth0")


def test_remote_delta_beyond_link_speed_is_discarded() -> None:
    tracker = RateTracker()
    tracker.update(s(0, 0, origin="snmp:sw1", speed_bps=100_000_000))
    rate, events = tracker.update(s(1, 10**9, origin="snmp:sw1", speed_bps=100_000_000))
    assert rate.rx_bps is None
    assert "implausible" in events[0].message


def test_local_counters_are_not_capped_by_nominal_speed() -> None:
    # A veth reports 10 Gbit/s but carries more; local 64-bit counters are trusted.
    tracker = RateTracker()
    tracker.update(s(0, 0, speed_bps=10**10))
    rate, events = tracker.update(s(1, 3 * 10**9, speed_bps=10**10))
    assert rate.rx_bps == pytest.approx(24e9)
    assert events == []


def test_forgotten_interface_starts_over() -> None:
    tracker = RateTracker()
    tracker.update(s(0, 100))
    tracker.forget(("local", "eth0"))
    rate, events = tracker.update(s(1, 5))
    assert rate.rx_bps is None
    assert events == []
