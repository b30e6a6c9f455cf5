"""The push receivers' allow-list and per-sender rate limit."""

from __future__ import annotations

from netop.sources.push.guard import SenderGuard, default_allow, parse_networks


def test_rate_limit_is_per_sender_and_refills() -> None:
    guard = SenderGuard(rate=10.0, burst=5.0)
    admitted = sum(guard.admit("192.0.2.1", 100.0) for _ in range(20))
    assert admitted == 5
    assert guard.rate_limited == 15
    assert guard.admit("192.0.2.2", 100.0)  # another sender has its own bucket
    assert sum(guard.admit("192.0.2.1", 101.0) for _ in range(20)) == 5  # 1 s later


def test_allow_list_refuses_and_counts() -> None:
    guard = SenderGuard(parse_networks(["10.0.0.0/8"], "x"))
    assert guard.admit("10.1.2.3", 0.0)
    assert not guard.admit("192.0.2.1", 0.0)
    assert not guard.admit("not an address", 0.0)
    assert guard.refused == 2


def test_allow_list_on_by_default_beyond_loopback() -> None:
    nets, warning = default_allow([("127.0.0.1", 514)], (), ())
    assert nets == ()
    assert warning is None
    nets, warning = default_allow([("0.0.0.0", 514)], (), ["192.0.2.9", "router.example"])
    guard = SenderGuard(nets)
    assert guard.admit("192.0.2.9", 0.0)
    assert guard.admit("127.0.0.1", 0.0)
    assert not guard.admit("198.51.100.1", 0.0)
    assert warning is not None
    assert "192.0.2.9" in warning


def test_spoofed_senders_keep_the_state_bounded() -> None:
    guard = SenderGuard(rate=1.0)
    for n in range(20000):
        guard.admit(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 0.0)
    assert len(guard._buckets) <= 4096
