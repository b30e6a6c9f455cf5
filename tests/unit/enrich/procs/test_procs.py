"""Process attribution from the kernel's socket tables, with this test's own sockets."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator

import pytest

from netop.enrich import proc_tables
from netop.enrich.procs import (
    CLOSED,
    NOT_LOCAL,
    LocalAddresses,
    ProcessInfo,
    ProcessResolver,
    Unknown,
    user_name,
)
from netop.model import FlowRecord

little_endian = pytest.mark.skipif(sys.byteorder != "little", reason="/proc/net hex is host order")


@little_endian
def test_hex_addresses() -> None:
    assert proc_tables.hex_address("0100007F") == "127.0.0.1"
    assert proc_tables.hex_address("0200A8C0") == "192.168.0.2"
    assert proc_tables.hex_address("00000000000000000000000001000000") == "::1"
    assert proc_tables.hex_address("0000000000000000FFFF00000100007F") == "127.0.0.1"
    assert proc_tables.hex_address("B80D0120000000000000000001000000") == "2001:db8::1"


@little_endian
def test_parse_table_rows_and_junk() -> None:
    text = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n"
        "   0: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000 "
        "       0 4242 1 0000000000000000 20 4 30 10 -1\n"
        "   1: garbage\n"
        "   2: ZZZZ:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000 0 1 1\n"
    )
    rows = list(proc_tables.parse_table(text, 6))
    assert rows == [((6, "127.0.0.1", 8080, "127.0.0.1", 50000), 4242, 1000)]


class Counted(ProcessResolver):
    """Counts its completed refreshes (the background thread's and the first one)."""

    refreshes = 0

    def refresh(self) -> None:
        super().refresh()
        self.refreshes += 1


@pytest.fixture
def resolver() -> Iterator[Counted]:
    made = Counted(refresh_interval=0.5)
    made.start()
    yield made
    made.stop()


def _my_name() -> str:
    with open(f"/proc/{os.getpid()}/comm") as handle:
        return handle.read().strip()


def test_tcp_connection_both_ends(resolver: ProcessResolver) -> None:
    name = _my_name()
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        cport = client.getsockname()[1]
        resolver.refresh()
        client_end = resolver.lookup(6, "127.0.0.1", cport, "127.0.0.1", port)
        server_end = resolver.lookup(6, "127.0.0.1", port, "127.0.0.1", cport)
        assert isinstance(client_end, ProcessInfo)
        assert client_end.pid == os.getpid()
        assert client_end.name == name
        assert client_end.user == user_name(os.geteuid())
        assert server_end == client_end
        # A flow the server has not accepted yet still maps to the listener.
        assert resolver.lookup(6, "127.0.0.1", port, "127.0.0.1", 1) == client_end
        client.close()
        accepted.close()
    resolver.refresh()
    # Gone from the kernel, still attributed: short-lived sockets stay named.
    assert resolver.lookup(6, "127.0.0.1", cport, "127.0.0.1", port) == client_end


def test_udp_unconnected_socket_matches_any_remote(resolver: ProcessResolver) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("0.0.0.0", 0))
        port = udp.getsockname()[1]
        resolver.refresh()
        found = resolver.lookup(17, "127.0.0.1", port, "127.0.0.1", 5353)
        assert isinstance(found, ProcessInfo)
        assert found.pid == os.getpid()
        assert resolver.lookup(6, "127.0.0.1", port, "127.0.0.1", 5353) == Unknown(CLOSED)


def test_ipv6_loopback(resolver: ProcessResolver) -> None:
    if not socket.has_ipv6 or not os.path.exists("/proc/net/tcp6"):
        pytest.skip("no IPv6 here")
    try:
        server = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError as exc:
        pytest.skip(f"cannot bind ::1: {exc}")
    with server:
        port = server.getsockname()[1]
        resolver.refresh()
        found = resolver.lookup(6, "::1", port, "::1", 40000)
        assert isinstance(found, ProcessInfo)
        assert found.pid == os.getpid()


def test_reasons_instead_of_wrong_names(resolver: ProcessResolver) -> None:
    assert resolver.lookup(6, "203.0.113.1", 1234, "198.51.100.1", 80) == Unknown(NOT_LOCAL)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    assert resolver.lookup(6, "127.0.0.1", free_port, "127.0.0.1", 9) == Unknown(CLOSED)


def test_local_side_and_lookup_flow(resolver: ProcessResolver) -> None:
    local = LocalAddresses()
    assert local.is_local("127.0.0.1")
    assert not local.is_local("203.0.113.77")
    assert local.local_side(FlowRecord(6, "203.0.113.1", 1, "127.0.0.1", 2)) == "dst"
    assert local.local_side(FlowRecord(6, "127.0.0.1", 1, "203.0.113.1", 2)) == "src"
    assert local.local_side(FlowRecord(6, "203.0.113.1", 1, "198.51.100.2", 2)) is None
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        resolver.refresh()
        inbound = FlowRecord(6, "127.0.0.1", 40001, "127.0.0.1", port)
        found = resolver.lookup_flow(inbound)
        assert isinstance(found, ProcessInfo)
        assert found.pid == os.getpid()


def test_background_refresh_picks_up_new_sockets(resolver: Counted) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        first = resolver.lookup(6, "127.0.0.1", port, "127.0.0.1", 1)
        deadline = time.monotonic() + 5
        found = first
        while not isinstance(found, ProcessInfo) and time.monotonic() < deadline:
            time.sleep(0.05)
            found = resolver.lookup(6, "127.0.0.1", port, "127.0.0.1", 1)
        assert isinstance(found, ProcessInfo)
        assert resolver.refreshes >= 2


def test_config_section() -> None:
    from netop.enrich.procs import resolver_from_config
    from netop.errors import ConfigError

    made = resolver_from_config({"procs": {"refresh_interval": 5, "keep": 30}})
    assert made.refresh_interval == 5.0
    assert made.keep == 30.0
    with pytest.raises(ConfigError, match="procs.refresh_interval"):
        resolver_from_config({"procs": {"refresh_interval": 0}})
    with pytest.raises(ConfigError, match="procs"):
        resolver_from_config({"procs": 3})


def _wait_for_refreshes(resolver: Counted, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while resolver.refreshes < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert resolver.refreshes >= count


def test_resolver_sleeps_while_nobody_asks() -> None:
    """No flows, no lookups: the socket tables (and every namespace in /proc) are not
    re-read every period for nothing. A lookup wakes it; it sleeps again after
    ``idle_after`` seconds without one."""
    made = Counted(refresh_interval=0.05)
    made.idle_after = 0.3
    made.start()
    try:
        _wait_for_refreshes(made, 1)
        time.sleep(0.6)  # a quiet period, measured
        assert made.refreshes == 1
        made.lookup(6, "127.0.0.1", 1, "127.0.0.1", 2)
        _wait_for_refreshes(made, 2)
        # Past idle_after since that lookup it sleeps again: no refresh for 1 s (while
        # awake it refreshes every min_gap = 0.25 s), within a bounded 10 s.
        deadline, quiet_since, last = time.monotonic() + 10, time.monotonic(), made.refreshes
        while time.monotonic() - quiet_since < 1.0:
            assert time.monotonic() < deadline, "the resolver never went back to sleep"
            time.sleep(0.05)
            if made.refreshes != last:
                quiet_since, last = time.monotonic(), made.refreshes
    finally:
        made.stop()
