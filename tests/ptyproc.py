"""Run ``netop`` as a person's terminal would: in a pseudo-terminal, reading everything
it writes, so that tests see the escape sequences that open and restore the screen."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

NETOP = [sys.executable, "-m", "netop"]


class PtyNetop:
    """``netop ARGS`` with stdin, stdout and stderr on a fresh pty of ``cols`` x ``rows``,
    in a session of its own with the pty as its controlling terminal (as over SSH)."""

    def __init__(self, args: list[str], cols: int = 80, rows: int = 24) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
        env.pop("NO_COLOR", None)

        def controlling_tty() -> None:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(  # noqa: S603 - our own program
            [*NETOP, *args], stdin=slave, stdout=slave, stderr=slave, env=env,
            start_new_session=True, preexec_fn=controlling_tty, close_fds=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        os.close(slave)
        self.output = bytearray()

    def read_until(self, needle: bytes, timeout: float) -> bool:
        """Read output until ``needle`` appeared (True) or ``timeout`` passed (False)."""
        deadline = time.monotonic() + timeout
        while needle not in self.output:
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                return needle in self.output
        return True

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], min(timeout, 0.2))
        if not ready:
            return self.proc.poll() is None or timeout > 0.2
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: every writer closed the pty
            return False
        self.output += chunk
        return bool(chunk)

    def wait(self, timeout: float) -> int | None:
        """Drain the output until the process ends; its status, or None on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._read(deadline - time.monotonic()) and self.proc.poll() is not None:
                break
        try:
            return self.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        """End the process if it still runs (by its PID) and close the pty."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=5)
        with contextlib.suppress(OSError):
            os.close(self.master)


def children(pid: int) -> list[int]:
    """PIDs of the direct children of ``pid``, from /proc."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def cmdline(pid: int) -> str:
    """The command line of ``pid`` ('' when it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def state(pid: int) -> str | None:
    """The process state letter of ``pid`` (``Z`` = defunct), or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]
