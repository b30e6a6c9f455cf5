"""Readiness waits for tests: a line on a stream, a listening port, a condition; each bounded.

A test starts its traffic when the thing under test says it is ready, never after a
guessed ``sleep``: on a busy machine any guess is sometimes too short.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from typing import IO, TypeVar

T = TypeVar("T")


class StreamLines:
    """Reads a text stream to its end on a thread; a test may wait for a line meanwhile."""

    def __init__(self, stream: IO[str]) -> None:
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self._ended = False
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                with self._cond:
                    self._lines.append(line)
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def wait_for(self, needle: str, timeout: float) -> str:
        """The first line containing ``needle``; fails with what was read on timeout or EOF."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self._lines:
                    if needle in line:
                        return line
                left = deadline - time.monotonic()
                if self._ended or left <= 0:
                    why = "the stream ended" if self._ended else f"{timeout} s passed"
                    raise AssertionError(
                        f"{why} without a line containing {needle!r}; read:\n"
                        + "".join(self._lines)
                    )
                self._cond.wait(left)

    def text(self, timeout: float = 10.0) -> str:
        """Everything read, once the stream has ended (bounded)."""
        self._thread.join(timeout)
        with self._cond:
            return "".join(self._lines)


class Watched:
    """A process whose stdout and stderr (text pipes) are read as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        assert proc.stderr is not None
        self.proc = proc
        self.stdout = StreamLines(proc.stdout)
        self.stderr = StreamLines(proc.stderr)

    @property
    def returncode(self) -> int | None:
        """The exit status, once it has exited."""
        return self.proc.returncode

    def communicate(self, timeout: float) -> tuple[str, str]:
        """Wait (bounded) for the exit; all of stdout and stderr."""
        self.proc.wait(timeout=timeout)
        return self.stdout.text(), self.stderr.text()

    def kill(self) -> None:
        """End the process if it still runs (only this one, by its PID)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def start_watched(cmd: list[str], **kwargs: object) -> Watched:
    """Start ``cmd`` with text pipes for stdout and stderr, read on threads."""
    proc: subprocess.Popen[str] = subprocess.Popen(  # type: ignore[call-overload]
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )
    return Watched(proc)


def wait_until(
    probe: Callable[[], T | None], timeout: float, what: str, every: float = 0.05
) -> T:
    """Poll ``probe`` until it returns something truthy (bounded); fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(every)


def listening(netns: str | None, port: int, udp: bool = False) -> bool:
    """Whether a socket listens on ``port`` (TCP, or a bound UDP one) in ``netns``."""
    cmd = ["ss", "-Hn", "-ul" if udp else "-tl", "sport", "=", f":{port}"]
    if netns is not None:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    return done.returncode == 0 and bool(done.stdout.strip())


def wait_for_port(
    port: int, netns: str | None = None, udp: bool = False, timeout: float = 15.0,
    proc: subprocess.Popen[bytes] | subprocess.Popen[str] | None = None,
) -> None:  # fmt: skip
    """Wait until something listens on ``port`` in ``netns``; fail early if ``proc`` exits."""

    def probe() -> bool:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{proc.args!r} exited with {proc.returncode} before listening")
        return listening(netns, port, udp)

    where = f" in {netns}" if netns else ""
    wait_until(probe, timeout, f"nothing listened on {'udp' if udp else 'tcp'} port {port}{where}")
