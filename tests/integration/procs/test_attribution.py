"""A real server and client in network namespaces, attributed to the right processes."""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from netop.enrich.procs import OTHER_USER, ProcessInfo, ProcessResolver
from tests.netns import VethPair, veth_pair

HELPER = Path(__file__).with_name("resolve_helper.py")
PORT = 8000 + os.getpid() % 1000

#: Listens on argv[1]:argv[2], says so, then accepts and holds connections until killed
#: (60 s at most).
_HOLDING_SERVER = """
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen()
print("listening", flush=True)
s.settimeout(1.0)
held, end = [], time.monotonic() + 60
while time.monotonic() < end:
    try:
        held.append(s.accept()[0])
    except TimeoutError:
        pass
"""
IMPORT = "import netop.enrich.procs"


def resolve_in(prefix: list[str], lookups: list[list[Any]]) -> list[dict[str, Any]]:
    done = subprocess.run(
        [*prefix, sys.executable, str(HELPER), json.dumps(lookups)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def client_port(pair: VethPair, timeout: float = 10.0) -> int:
    """The local port of the established connection from A to B's server."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(
            pair.run_a("ss", "-tnH", "state", "established", "dst", f"{pair.addr_b}:{PORT}"),
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.split()
        local = [field for field in out if field.startswith(f"{pair.addr_a}:")]
        if local:
            return int(local[0].rsplit(":", 1)[1])
        time.sleep(0.1)
    raise AssertionError("curl never connected")


def comm(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


@pytest.mark.netns
def test_server_and_client_in_namespaces() -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    with veth_pair() as pair:
        # A server that holds every connection open: a file served by http.server fits in
        # the client's autotuned receive buffer, so the server's socket was sometimes
        # closed (and rightly unowned) before the test asked whose it was.
        server = subprocess.Popen(
            pair.run_b(sys.executable, "-c", _HOLDING_SERVER, pair.addr_b, str(PORT)),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        client = None
        try:
            assert server.stdout is not None
            ready = select.select([server.stdout], [], [], 20)[0]
            assert ready, "the server never said it was listening"
            assert server.stdout.readline().strip() == "listening"
            client = subprocess.Popen(
                pair.run_a("curl", "-s", "-o", "/dev/null", "-m", "60",
                           f"http://{pair.addr_b}:{PORT}/"),
            )
            cport = client_port(pair)
            # ip netns exec execs the program, so the Popen pid is curl's / the server's.
            (at_client,) = resolve_in(
                ["ip", "netns", "exec", pair.ns_a], [[6, pair.addr_a, cport, pair.addr_b, PORT]]
            )
            assert at_client["pid"] == client.pid
            assert at_client["name"] == "curl"
            assert at_client["user"] == "root"
            # Until the server accept()s, the connection sits in the listen queue with no
            # owner (inode 0): ask again, for a bounded time, until it has one.
            deadline = time.monotonic() + 10
            while True:
                (at_server,) = resolve_in(
                    ["ip", "netns", "exec", pair.ns_b],
                    [[6, pair.addr_b, PORT, pair.addr_a, cport]],
                )
                if "pid" in at_server or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert at_server.get("pid") == server.pid, at_server
            assert at_server["name"] == comm(server.pid)
            # From the root namespace: the sockets live in other namespaces and are found.
            here = ProcessResolver()
            here.refresh()
            here.refresh()
            seen = here.lookup(6, pair.addr_a, cport, pair.addr_b, PORT)
            assert isinstance(seen, ProcessInfo)
            assert seen.pid == client.pid
            server_side = here.lookup(6, pair.addr_b, PORT, pair.addr_a, cport)
            assert isinstance(server_side, ProcessInfo)
            assert server_side.pid == server.pid
        finally:
            for proc in (client, server):
                if proc is not None:
                    proc.kill()
                    proc.wait(10)


@pytest.mark.netns
def test_other_users_socket_gives_reason_not_name() -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and util-linux setpriv to run the resolver as nobody")
    check = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {str(HELPER.parents[3])!r}); {IMPORT}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if check.returncode != 0:
        pytest.skip(f"this Python cannot run as nobody: {check.stderr.strip()[-200:]}")
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        (answer,) = resolve_in(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
            [[6, "127.0.0.1", port, "127.0.0.1", 40000]],
        )
    assert answer == {"reason": OTHER_USER}
