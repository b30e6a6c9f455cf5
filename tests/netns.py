"""Network namespaces joined by a veth pair, for tests that need real traffic.

Only for tests: everything is created inside namespaces the test owns, with the
test hosts' own addresses, and removed afterwards. Nothing touches the root
namespace's interfaces.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

_counter = itertools.count(1)


def netns_unavailable_reason() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "creating network namespaces needs root (CI runs as root)"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    probe = f"netop-probe-{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def require_netns() -> None:
    """Skip the calling test, with the reason, where namespaces cannot be made."""
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(reason)


def sh(*args: str, timeout: float = 20) -> str:
    """Run a command, fail loudly with its stderr, return its stdout."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


@dataclass(frozen=True)
class VethPair:
    """Two namespaces ``ns_a``/``ns_b`` joined by ``if_a`` <-> ``if_b``."""

    ns_a: str
    ns_b: str
    if_a: str
    if_b: str
    addr_a: str
    addr_b: str

    def run_a(self, *args: str) -> list[str]:
        """Argument list that runs a command inside namespace A."""
        return ["ip", "netns", "exec", self.ns_a, *args]

    def run_b(self, *args: str) -> list[str]:
        """Argument list that runs a command inside namespace B."""
        return ["ip", "netns", "exec", self.ns_b, *args]


@contextlib.contextmanager
def veth_pair(ipv6: bool = False) -> Iterator[VethPair]:
    """Make two namespaces joined by a veth pair with addresses; remove them after."""
    require_netns()
    n = next(_counter)
    tag = f"{os.getpid() % 10000}{n}"
    ns_a, ns_b = f"netop-a{tag}", f"netop-b{tag}"
    if_a, if_b = f"nva{tag}"[:15], f"nvb{tag}"[:15]
    net = 200 + (n % 50)
    addr_a, addr_b = f"10.{net}.{os.getpid() % 250}.1", f"10.{net}.{os.getpid() % 250}.2"
    try:
        sh("ip", "netns", "add", ns_a)
        sh("ip", "netns", "add", ns_b)
        sh("ip", "link", "add", if_a, "netns", ns_a, "type", "veth", "peer", "name", if_b,
           "netns", ns_b)
        for ns, ifname, addr in ((ns_a, if_a, addr_a), (ns_b, if_b, addr_b)):
            sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", ifname)
            sh("ip", "-n", ns, "link", "set", ifname, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            if not ipv6:
                sh("ip", "netns", "exec", ns, "sysctl", "-qw",
                   "net.ipv6.conf.all.disable_ipv6=1")
        yield VethPair(ns_a, ns_b, if_a, if_b, addr_a, addr_b)
    finally:
        for ns in (ns_a, ns_b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
