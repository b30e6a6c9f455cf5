"""Names for addresses and ports: reverse DNS in the background, service names.

:class:`NameResolver` never blocks its caller: ``lookup(addr)`` answers from a cache
(or ``None``) and queues a lookup that a small pool of worker threads does with
``socket.gethostbyaddr`` (the system resolver, so ``/etc/hosts``, nsswitch and the
libc resolver's caching and timeouts apply, as for iftop and bandwhich). Lookups are
rate-limited with a token bucket, the queue and the cache are bounded, and failures
are cached for ``negative_ttl``. Every name goes through :func:`safe_text` before it is
stored: a PTR record is attacker-controlled text.
"""

from __future__ import annotations

import ipaddress
import queue
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from netop.config import get_bool, get_float, get_int, get_section
from netop.text import safe_text

#: A function from an address to its name, or ``None``; may block for seconds.
ResolveFn = Callable[[str], str | None]
#: Longest DNS name (RFC 1035: 253 characters in text form).
MAX_NAME = 253
_PORT_PROTOCOLS = {6: "tcp", 17: "udp", 132: "sctp", 33: "dccp"}


def system_resolve(address: str) -> str | None:
    """The system resolver's name for ``address`` (``gethostbyaddr``), ``None`` if none."""
    try:
        return socket.gethostbyaddr(address)[0]
    except (OSError, UnicodeError, ValueError):
        return None


class NameResolver:
    """Asynchronous, cached, rate-limited reverse DNS.

    ``resolve`` is the name source (the system resolver by default; tests pass their
    own source of hostile names). ``clock`` is for the cache's expiry.
    """

    def __init__(
        self,
        max_workers: int = 4,
        ttl: float = 300.0,
        negative_ttl: float = 60.0,
        max_lookups_per_s: float = 20.0,
        max_entries: int = 10_000,
        resolve: ResolveFn = system_resolve,
        clock: Callable[[], float] = time.monotonic,
        max_queue: int = 1000,
    ) -> None:
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.max_entries = max(1, max_entries)
        self._resolve = resolve
        self._clock = clock
        self._rate = max(0.1, max_lookups_per_s)
        self._tokens = 1.0
        self._refilled = time.monotonic()
        self._bucket_lock = threading.Lock()
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[str | None, float]] = OrderedDict()
        self._queued: set[str] = set()
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize=max(1, max_queue))
        self._stopping = threading.Event()
        self._workers = [
            threading.Thread(target=self._work, name=f"netop-dns-{n}", daemon=True)
            for n in range(max(1, max_workers))
        ]
        for worker in self._workers:
            worker.start()

    def lookup(self, address: str) -> str | None:
        """The cached name of ``address`` (possibly stale), else ``None``; never blocks.

        A missing or expired entry queues a lookup. Text that is not an IP address is
        never sent to the resolver.
        """
        # The hit path takes no lock: a dict read is atomic, and eviction order is by
        # insertion (refresh), which is close enough to LRU for a name cache.
        entry = self._cache.get(address)
        if entry is not None and entry[1] > self._clock():
            return entry[0]
        with self._lock:
            if address in self._queued or self._stopping.is_set():
                return entry[0] if entry else None
        if not _is_address(address):
            return None
        with self._lock:
            try:
                self._queue.put_nowait(address)
                self._queued.add(address)
            except queue.Full:
                pass  # asked again on a later tick, once the queue has room
        return entry[0] if entry else None

    def cached(self, address: str) -> str | None:
        """The cached name without queueing anything (for drawing a frozen screen)."""
        with self._lock:
            entry = self._cache.get(address)
        return entry[0] if entry else None

    @property
    def pending(self) -> int:
        """Lookups queued or in progress."""
        with self._lock:
            return len(self._queued)

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the workers; one stuck in the resolver is a daemon and is left behind."""
        self._stopping.set()
        for _ in self._workers:
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                break
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    # -- workers --------------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                address = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if address is None:
                return
            if not self._take_token():
                return
            try:
                raw = self._resolve(address)
            except Exception:  # noqa: BLE001 - an injected or system resolver may fail any way
                raw = None
            name = safe_text(raw, MAX_NAME) if raw else None
            self._store(address, name)

    def _take_token(self) -> bool:
        """Wait for the rate limiter; False when stopping."""
        while not self._stopping.is_set():
            with self._bucket_lock:
                now = time.monotonic()
                self._tokens = min(1.0, self._tokens + (now - self._refilled) * self._rate)
                self._refilled = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return True
                wait = (1.0 - self._tokens) / self._rate
            self._stopping.wait(wait)
        return False

    def _store(self, address: str, name: str | None) -> None:
        expires = self._clock() + (self.ttl if name else self.negative_ttl)
        with self._lock:
            self._queued.discard(address)
            self._cache[address] = (name, expires)
            self._cache.move_to_end(address)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)


def names_enabled(raw: Mapping[str, Any]) -> bool:
    """``[names] enabled`` (default true): start with names shown (``n`` toggles)."""
    return get_bool(raw, "names.enabled", True)


def resolver_from_config(raw: Mapping[str, Any]) -> NameResolver:
    """A :class:`NameResolver` from the ``[names]`` table of the config file.

    Keys: ``max_workers`` (1-32, default 4), ``ttl`` (s, 300), ``negative_ttl`` (s, 60),
    ``max_lookups_per_s`` (20), ``max_entries`` (10000). A bad value raises
    :class:`~netop.errors.ConfigError` naming the key.
    """
    get_section(raw, "names")
    return NameResolver(
        max_workers=get_int(raw, "names.max_workers", 4, low=1, high=32),
        ttl=get_float(raw, "names.ttl", 300.0, low=1.0, high=86400.0),
        negative_ttl=get_float(raw, "names.negative_ttl", 60.0, low=1.0, high=86400.0),
        max_lookups_per_s=get_float(raw, "names.max_lookups_per_s", 20.0, low=0.1, high=10000.0),
        max_entries=get_int(raw, "names.max_entries", 10_000, low=10, high=10_000_000),
    )


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=8192)
def service_name(port: int, proto: int | str = "tcp") -> str | None:
    """The ``/etc/services`` name of ``port`` for ``proto`` (6/"tcp", 17/"udp"...).

    ``None`` for an unknown port, a protocol without ports, or a system without
    ``/etc/services`` (Debian's ``netbase`` package provides it).
    """
    name = _PORT_PROTOCOLS.get(proto) if isinstance(proto, int) else proto.lower()
    if name is None or not 0 <= port <= 65535:
        return None
    try:
        return safe_text(socket.getservbyport(port, name), 32)
    except (OSError, OverflowError, ValueError, TypeError):
        return None
