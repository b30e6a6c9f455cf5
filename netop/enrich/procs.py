"""Which process owns a flow: pid, name and user from the kernel's socket tables.

A background thread re-reads the socket tables of every network namespace it can see
(``/proc/<pid>/net/*``, one process per namespace, so containers' sockets are found
too) and, when a socket's owner is not known yet, walks ``/proc/*/fd``. Sockets and
owners stay remembered for ``keep`` seconds after they vanish, so a short-lived
connection seen once stays attributed. Where the owner cannot be known, ``lookup``
returns an :class:`Unknown` with the reason, never a guess. A lookup that misses wakes
the thread early (at most every ``min_gap`` seconds) instead of waiting a full period.
While nobody asks (no flows, or every flow's process already known) for ``idle_after``
seconds, the thread sleeps until the next lookup instead of re-reading ``/proc``.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import psutil

from netop.config import DEFAULT_PROC_ENTRIES, get_float, get_int, get_section
from netop.enrich import proc_tables
from netop.enrich.proc_tables import SocketEntry, SocketKey
from netop.model import FlowFields
from netop.text import safe_text

OTHER_USER = "other user's process (run as root to see it)"
OTHER_NETNS = "socket in another network namespace"
NOT_LOCAL = "not a local socket"
CLOSED = "socket closed before it was seen"
PENDING = "not looked up yet"
INVISIBLE = "no visible process holds the socket"
_WILDCARDS = ("0.0.0.0", "::")


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """The owner of a socket."""

    pid: int
    name: str
    user: str


@dataclass(frozen=True, slots=True)
class Unknown:
    """Why a flow's process cannot be named (shown as ``—`` with this reason)."""

    reason: str


class LocalAddresses:
    """This host's interface addresses (``psutil.net_if_addrs``), re-read every ``ttl`` s."""

    def __init__(self, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._read_at = -1e18
        self._addresses: frozenset[str] = frozenset()
        self._networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    def _refresh(self) -> None:
        now = self._clock()
        if now - self._read_at < self.ttl:
            return
        addresses: set[str] = set()
        networks = []
        for entries in psutil.net_if_addrs().values():
            for entry in entries:
                if entry.family.name not in ("AF_INET", "AF_INET6"):
                    continue
                address = entry.address.split("%", 1)[0]
                addresses.add(address)
                try:
                    networks.append(ipaddress.ip_interface(f"{address}/{entry.netmask}").network)
                except ValueError:
                    continue
        self._addresses = frozenset(addresses)
        self._networks = tuple(networks)
        self._read_at = now

    def is_local(self, address: str) -> bool:
        """True when ``address`` is one of this host's (this namespace's) addresses."""
        self._refresh()
        return address in self._addresses

    def on_link(self, address: str) -> bool:
        """True when ``address`` is in a subnet a local interface is attached to."""
        self._refresh()
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in self._networks)

    def local_side(self, record: FlowFields) -> str | None:
        """``"src"`` or ``"dst"``: the flow's end on this host; ``None`` if neither."""
        if self.is_local(record.src):
            return "src"
        if self.is_local(record.dst):
            return "dst"
        return None


@lru_cache(maxsize=1024)
def user_name(uid: int) -> str:
    """The login name of ``uid``, else the number as text."""
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return str(uid)


K = TypeVar("K")
V = TypeVar("V")


def _prune(table: dict[K, tuple[V, float]], horizon: float, limit: int) -> None:
    """Drop entries last seen before ``horizon``, then the oldest beyond ``limit``."""
    for key in [key for key, (_, seen) in table.items() if seen < horizon]:
        del table[key]
    if len(table) > limit:
        oldest = sorted(table.items(), key=lambda item: item[1][1])
        for key, _ in oldest[: len(table) - limit]:
            del table[key]


class ProcessResolver:
    """Maps a flow's local endpoint to its process; see the module docstring."""

    def __init__(
        self,
        refresh_interval: float = 2.0,
        keep: float = 120.0,
        max_entries: int = DEFAULT_PROC_ENTRIES,
        min_gap: float = 0.25,
        local: LocalAddresses | None = None,
        idle_after: float = 30.0,
    ) -> None:
        self.refresh_interval = refresh_interval
        self.keep = keep
        self.max_entries = max_entries
        self.min_gap = min_gap
        self.idle_after = idle_after
        self._asked = -1e18  # monotonic time of the last lookup
        self.local = local or LocalAddresses()
        self.own_netns = proc_tables.netns_of("self")
        self._root = os.geteuid() == 0
        self._sockets: dict[SocketKey, tuple[SocketEntry, float]] = {}
        self._owners: dict[int, tuple[ProcessInfo, float]] = {}
        self._wanted: set[int] = set()
        self._unowned: set[int] = set()  # no visible process held these at the last walk
        self._denied = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Read the tables once now, then keep them fresh in a background thread."""
        self.refresh()
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="netop-procs", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the background thread."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stopping.is_set():
            now = time.monotonic()
            asked = now - self._asked < self.idle_after
            # Nobody asked lately: every refresh would walk /proc for nothing; sleep until
            # a lookup wakes us.
            self._wake.wait(max(0.0, self.refresh_interval - (now - last)) if asked else None)
            if self._stopping.is_set():
                return
            gap = self.min_gap - (time.monotonic() - last)
            if gap > 0 and self._stopping.wait(gap):
                return
            self._wake.clear()
            last = time.monotonic()
            self.refresh()

    # -- reading the kernel ---------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read every visible namespace's socket tables, and owners where needed."""
        now = time.monotonic()
        views = {self.own_netns: "/proc/self"}
        for netns, pid in proc_tables.namespaces(self.own_netns).items():
            views[netns] = f"/proc/{pid}"
        fresh: dict[SocketKey, SocketEntry] = {}
        for netns, proc_dir in views.items():
            for key, entry in proc_tables.read_tables(proc_dir, netns).items():
                # The own namespace wins a 5-tuple that exists in several (127.0.0.1...).
                if key not in fresh or netns == self.own_netns:
                    fresh[key] = entry
        with self._lock:
            known = set(self._owners)
            skip = known | self._unowned
        missing = {e.inode for e in fresh.values() if e.inode and e.inode not in skip}
        owners: dict[int, ProcessInfo] = {}
        denied = self._denied
        walked = bool(missing or self._wanted)
        if walked:
            found, denied = proc_tables.socket_owners()
            described: dict[int, ProcessInfo | None] = {}
            for inode, pid in found.items():
                if inode in known:
                    continue
                if pid not in described:
                    described[pid] = self._describe(pid)
                info = described[pid]
                if info is not None:
                    owners[inode] = info
        with self._lock:
            for key, entry in fresh.items():
                known_entry = self._sockets.get(key)
                if entry.inode == 0 and known_entry is not None and known_entry[0].inode:
                    entry = known_entry[0]  # its TIME_WAIT row: keep the owner we saw
                self._sockets[key] = (entry, now)
            for inode, info in owners.items():
                self._owners[inode] = (info, now)
            for entry in fresh.values():
                if entry.inode in self._owners:
                    self._owners[entry.inode] = (self._owners[entry.inode][0], now)
            self._wanted.clear()
            self._denied = denied
            if walked:
                self._unowned = {e.inode for e in fresh.values() if e.inode} - set(self._owners)
            self._expire(now)

    def _describe(self, pid: int) -> ProcessInfo | None:
        name = proc_tables.process_name(pid)
        uid = proc_tables.process_uid(pid)
        if name is None or uid is None:
            return None
        return ProcessInfo(pid, safe_text(name, 64), safe_text(user_name(uid), 32))

    def _expire(self, now: float) -> None:
        _prune(self._sockets, now - self.keep, self.max_entries)
        _prune(self._owners, now - self.keep, self.max_entries)
        self._unowned &= {entry.inode for entry, _ in self._sockets.values()}

    # -- answering ------------------------------------------------------------------------

    def _find(self, key: SocketKey) -> SocketEntry | None:
        found = self._sockets.get(key)
        if found is not None:
            return found[0]
        # No connected socket: a listener or an unconnected UDP socket bound to the
        # address, or to the wildcard address of either family.
        proto, local_ip, local_port, _, _ = key
        for bound_ip in (local_ip, *_WILDCARDS):
            for remote_ip in _WILDCARDS:
                found = self._sockets.get((proto, bound_ip, local_port, remote_ip, 0))
                if found is not None:
                    return found[0]
        return None

    def lookup(
        self, proto: int, local_ip: str, local_port: int, remote_ip: str, remote_port: int
    ) -> ProcessInfo | Unknown:
        """The process owning the local end ``local_ip:local_port`` of a flow, or why not."""
        key = (proto, local_ip, local_port, remote_ip, remote_port)
        now = time.monotonic()
        if now - self._asked >= self.idle_after:
            self._wake.set()  # the thread sleeps: tables may be stale
        self._asked = now
        with self._lock:
            entry = self._find(key)
            inode = entry.inode if entry is not None else 0
            owner = self._owners.get(inode)
            unowned = inode in self._unowned
            if inode and owner is None and not unowned:
                self._wanted.add(inode)
            denied = self._denied
        if owner is not None:
            return owner[0]
        if entry is None:
            if self.local.is_local(local_ip):
                self._wake.set()
                return Unknown(CLOSED)
            if not self._root and self.local.on_link(local_ip):
                return Unknown(OTHER_NETNS)
            return Unknown(NOT_LOCAL)
        if inode == 0:
            return Unknown(CLOSED)
        if denied and not self._root and entry.uid != os.geteuid():
            return Unknown(OTHER_USER)
        if unowned:
            return Unknown(INVISIBLE)
        self._wake.set()
        return Unknown(PENDING)

    def lookup_ends(
        self, record: FlowFields
    ) -> tuple[ProcessInfo | Unknown, ProcessInfo | Unknown] | None:
        """The owners of both ends, (src's, dst's), when both are local; else ``None``.

        Local to local (loopback, or this host's own address), a flow has two owners
        that are both worth showing: the client and the server.
        """
        if not (self.local.is_local(record.src) and self.local.is_local(record.dst)):
            return None
        return (
            self.lookup(record.proto, record.src, record.sport, record.dst, record.dport),
            self.lookup(record.proto, record.dst, record.dport, record.src, record.sport),
        )

    def lookup_flow(self, record: FlowFields) -> ProcessInfo | Unknown:
        """``lookup`` for a flow, trying its local end(s) first.

        When both ends are local (loopback), the first one with a known owner wins; when
        neither is, both are tried (a container's or a routed flow).
        """
        forward = (record.proto, record.src, record.sport, record.dst, record.dport)
        backward = (record.proto, record.dst, record.dport, record.src, record.sport)
        local = [args for args in (forward, backward) if self.local.is_local(args[1])]
        first: ProcessInfo | Unknown | None = None
        for args in local or [forward, backward]:
            result = self.lookup(*args)
            if isinstance(result, ProcessInfo):
                return result
            first = first or result
        return first or Unknown(NOT_LOCAL)


def resolver_from_config(raw: Mapping[str, Any]) -> ProcessResolver:
    """A :class:`ProcessResolver` from the ``[procs]`` table of the config file.

    Keys: ``refresh_interval`` (s, 0.2-60, default 2), ``keep`` (s a vanished socket
    stays attributed, default 120), ``max_entries`` (default 200000).
    """
    get_section(raw, "procs")
    return ProcessResolver(
        refresh_interval=get_float(raw, "procs.refresh_interval", 2.0, low=0.2, high=60.0),
        keep=get_float(raw, "procs.keep", 120.0, low=0.0, high=86400.0),
        max_entries=get_int(raw, "procs.max_entries", DEFAULT_PROC_ENTRIES, low=100,
                            high=10_000_000),
    )
