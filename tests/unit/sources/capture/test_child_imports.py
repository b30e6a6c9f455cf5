"""The capture child stays small: it imports the ring, the filter, the aggregator and
nothing of the UI, the engine, psutil or the tools only a build needs.

Every module a long-running child imports stays in its memory for the whole run (it
counts in the RSS the person watching netop pays), so this is checked on a fresh
interpreter started exactly as :mod:`netop.sources.capture.source` starts the child.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from netop.native import fastpath
from netop.packet.bpf import ACCEPT_ALL, attach
from netop.sources.capture import entry

#: Modules (and their submodules) the child must not load on its normal path.
FORBIDDEN = (
    "textual",
    "rich",
    "psutil",
    "scapy",
    "asyncio",
    "netop.engine",
    "netop.ui",
    # The child lives in netop.sources.capture; the package itself is only a docstring.
    "netop.sources.base",
    "netop.sources.collector",
    "netop.sources.snmp",
    "netop.sources.counters",
    "netop.sources.capture.source",
    "netop.enrich",
    "netop.model",  # dataclasses/inspect/ast only to build records the parent builds
    "dataclasses",
    "ctypes",  # the kernel filter is packed with struct, not ctypes
    "subprocess",  # fastpath: only to build the C extension
    "hashlib",
    "tempfile",
    "sysconfig",
    "threading",
)

_PROBE = (
    "import json, sys; sys.path.insert(0, sys.argv[1]); "
    "from netop.sources.capture.child import main; "
    "from netop.native import fastpath; from netop.sources.capture import privileges; "
    "fastpath.load(); "
    "print(json.dumps(sorted(sys.modules)))"
)


def _child_modules() -> list[str]:
    done = subprocess.run(
        [sys.executable, "-I", "-c", _PROBE, entry.package_root()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_child_imports_only_what_capture_needs() -> None:
    if fastpath.load() is None:
        # Without a prebuilt extension the child compiles it, which needs subprocess.
        allowed = {"subprocess", "hashlib", "tempfile", "sysconfig", "threading"}
    else:
        allowed = set()
    modules = _child_modules()
    loaded = sorted(
        name
        for name in modules
        for bad in FORBIDDEN
        if bad not in allowed and (name == bad or name.startswith(bad + "."))
    )
    assert loaded == []
    assert "netop.sources.capture.ring" in modules
    assert "netop.sources.capture.aggregate" in modules


def test_child_severities_are_the_models() -> None:
    from netop.model import Severity
    from netop.sources.capture import child

    assert (child.INFO, child.WARNING) == (Severity.INFO, Severity.WARNING)


def test_attach_packs_the_filter_the_kernel_runs() -> None:
    """``attach`` (struct-packed sock_fprog) really filters: a drop-all program keeps a
    datagram out, accept-all lets the next one in. UDP sockets take socket filters
    without privileges, and 127.0.0.1 is the only address used."""
    drop_all = ((0x06, 0, 0, 0),)  # ret #0
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
    ):
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(0.5)
        attach(rx, drop_all)
        tx.sendto(b"dropped", rx.getsockname())
        try:
            got = rx.recv(64)
        except TimeoutError:
            got = b""
        assert got == b""
        attach(rx, ACCEPT_ALL)
        tx.sendto(b"kept", rx.getsockname())
        assert rx.recv(64) == b"kept"
