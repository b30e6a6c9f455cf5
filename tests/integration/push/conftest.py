"""A ``netop syslog`` / ``netop traps`` process for the push tests, read line by line."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_LISTENING = re.compile(r"listening on \S+ \S+ 127\.0\.0\.1:(\d+)")


class Netop:
    """A running netop push command: its port, its JSON events, its stderr."""

    def __init__(self, command: str, *extra: str, listen: str = "127.0.0.1:0",
                 prefix: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "netop", command, "--listen", listen, "--json",
             "--duration", "90", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        assert self.proc.stderr is not None
        # readline blocks; the process ends (EOF) or says it listens. A loaded machine
        # takes seconds to import: the --duration bounds it anyway.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.stderr.append(line)
            found = _LISTENING.search(line)
            if found:
                self.port = int(found.group(1))
                threading.Thread(target=self._pump_err, daemon=True).start()
                return
        self.stop()
        raise AssertionError(f"netop {command} did not start: {''.join(self.stderr)}")

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def _pump_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def events(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """The next ``count`` events (fails after ``timeout`` seconds with what came)."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"{len(got)} of {count} events came: {got}") from None
            got.append(json.loads(line))
        return got

    def stop(self) -> str:
        """End the process (SIGINT, as a user would); its stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        time.sleep(0.05)
        return "".join(self.stderr)


@pytest.fixture
def netop_syslog() -> Iterator[Netop]:
    """``netop syslog`` on a free loopback port."""
    proc = Netop("syslog")
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def trap_config(tmp_path: Path) -> Path:
    """A config with two v3 users (authPriv SHA/AES, authNoPriv SHA-256) and netop's
    engine ID fixed."""
    path = tmp_path / "traps.toml"
    path.write_text('[traps]\nengine_id = "0x80000000aabbccdd01"\n'
                    '[[traps.users]]\nuser = "netop"\nauth_protocol = "sha"\n'
                    'auth_key = "authpass123"\npriv_protocol = "aes"\n'
                    'priv_key = "privpass123"\n'
                    '[[traps.users]]\nuser = "netop-auth"\nauth_protocol = "sha256"\n'
                    'auth_key = "authpass456"\n')  # fmt: skip
    path.chmod(0o600)
    return path


@pytest.fixture
def netop_traps(trap_config: Path) -> Iterator[Netop]:
    """``netop traps`` on a free loopback port with the v3 user of ``trap_config``."""
    proc = Netop("traps", "--config", str(trap_config))
    try:
        yield proc
    finally:
        proc.stop()
