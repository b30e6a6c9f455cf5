"""Reverse DNS in the background, with a real system resolver and an injected source."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable

import pytest

from netop.enrich.names import NameResolver, service_name


def wait_for(predicate: Callable[[], object], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_localhost_from_system_resolver() -> None:
    try:
        expected = socket.gethostbyaddr("127.0.0.1")[0]
    except OSError:
        pytest.skip("the system resolver has no name for 127.0.0.1 (no /etc/hosts entry)")
    resolver = NameResolver()
    try:
        assert resolver.lookup("127.0.0.1") is None  # never blocks: the first call queues
        assert wait_for(lambda: resolver.lookup("127.0.0.1") is not None)
        assert resolver.lookup("127.0.0.1") == expected
    finally:
        resolver.stop()


def test_hostile_names_are_sanitised() -> None:
    names = {
        "192.0.2.1": "\x1b[31mevil\x1b[0m[red]x[/]\nnext\u202e.example",
        "192.0.2.2": "a" * 999,
    }
    resolver = NameResolver(resolve=names.get)
    try:
        for address in names:
            resolver.lookup(address)
        assert wait_for(lambda: all(resolver.lookup(a) for a in names))
        evil = resolver.lookup("192.0.2.1")
        assert evil is not None
        assert evil.isprintable()
        assert "\x1b" not in evil
        assert "\n" not in evil
        assert "[red]x[/]" in evil
        assert len(resolver.lookup("192.0.2.2") or "") == 253
    finally:
        resolver.stop()


def test_lookup_never_blocks_on_a_slow_resolver() -> None:
    release = threading.Event()

    def slow(address: str) -> str | None:
        release.wait(5)
        return "slow.example"

    resolver = NameResolver(max_workers=1, resolve=slow)
    try:
        start = time.monotonic()
        for n in range(200):
            assert resolver.lookup(f"198.51.100.{n % 250}") is None
        assert time.monotonic() - start < 0.5
        assert resolver.pending > 0
    finally:
        release.set()
        resolver.stop()


def test_rate_limit_bounds_lookups_per_second() -> None:
    calls: list[float] = []
    resolver = NameResolver(
        max_workers=4, max_lookups_per_s=10, resolve=lambda a: calls.append(1) or None
    )
    try:
        for n in range(100):
            resolver.lookup(f"203.0.113.{n}")
        time.sleep(1.0)
        assert 3 <= len(calls) <= 12
    finally:
        resolver.stop()


def test_not_an_address_is_not_resolved() -> None:
    seen: list[str] = []
    resolver = NameResolver(resolve=lambda a: seen.append(a) or "x")
    try:
        for text in ("example.com", "", "\x1b[31m", "10.0.0.256"):
            assert resolver.lookup(text) is None
        # An address asked for after them: once it is resolved, the others had their turn.
        resolver.lookup("192.0.2.1")
        assert wait_for(lambda: seen)
        assert seen == ["192.0.2.1"]
    finally:
        resolver.stop()


def test_ttl_negative_ttl_and_bound() -> None:
    now = [1000.0]
    answers = {"192.0.2.1": "one.example"}
    asked: list[str] = []

    def resolve(address: str) -> str | None:
        asked.append(address)
        return answers.get(address)

    resolver = NameResolver(
        ttl=300,
        negative_ttl=60,
        max_entries=3,
        max_lookups_per_s=1000,
        resolve=resolve,
        clock=lambda: now[0],
    )
    try:
        resolver.lookup("192.0.2.1")
        resolver.lookup("192.0.2.9")
        assert wait_for(lambda: resolver.pending == 0 and len(asked) == 2)
        assert resolver.lookup("192.0.2.1") == "one.example"
        assert resolver.lookup("192.0.2.9") is None
        assert len(asked) == 2  # both answers cached, the failure too
        answers["192.0.2.9"] = "nine.example"
        now[0] += 61  # the negative entry expires, the positive one does not
        resolver.lookup("192.0.2.9")
        assert wait_for(lambda: resolver.lookup("192.0.2.9") == "nine.example")
        answers["192.0.2.1"] = "renamed.example"
        now[0] += 300
        assert resolver.lookup("192.0.2.1") == "one.example"  # stale while refreshing
        assert wait_for(lambda: resolver.lookup("192.0.2.1") == "renamed.example")
        for n in range(2, 8):
            resolver.lookup(f"192.0.2.{n + 100}")
        assert wait_for(lambda: resolver.pending == 0)
        assert resolver.cached("192.0.2.1") is None  # evicted: only 3 entries kept
    finally:
        resolver.stop()


def test_stop_ends_workers() -> None:
    resolver = NameResolver(max_workers=3, resolve=lambda a: None)
    resolver.stop()
    assert not any(worker.is_alive() for worker in resolver._workers)
    assert resolver.lookup("192.0.2.1") is None


@pytest.mark.skipif(not os.path.exists("/etc/services"), reason="no /etc/services (netbase)")
def test_service_names() -> None:
    assert service_name(443, 6) == "https"
    assert service_name(53, "udp") == "domain"
    assert service_name(22) == "ssh"
    assert service_name(1, 1) is None  # ICMP has no ports
    assert service_name(65535, 6) is None
    assert service_name(70000, 6) is None


def test_config_section() -> None:
    from netop.enrich.names import names_enabled, resolver_from_config
    from netop.errors import ConfigError

    resolver = resolver_from_config({"names": {"ttl": 10, "max_workers": 2}})
    try:
        assert resolver.ttl == 10.0
        assert len(resolver._workers) == 2
    finally:
        resolver.stop()
    assert names_enabled({}) is True
    assert names_enabled({"names": {"enabled": False}}) is False
    with pytest.raises(ConfigError, match="names.max_lookups_per_s"):
        resolver_from_config({"names": {"max_lookups_per_s": "fast"}})
    with pytest.raises(ConfigError, match="names.max_workers"):
        resolver_from_config({"names": {"max_workers": 0}})
