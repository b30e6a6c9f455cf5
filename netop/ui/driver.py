"""A Linux terminal driver that survives its terminal hanging up.

When an SSH session closes, the pty goes away: every write to it fails with EIO, and the
kernel sends SIGHUP. Textual's writer thread dies on the first failed write, after which
its bounded queue fills and the shutdown's last write blocks forever (seen in one run in
three of ``tests/integration/test_tui_process.py``). Here a failed write to a hung-up
terminal is dropped instead: nobody can see it, and the app ends through its SIGHUP
handler as it does for any other signal.
"""

from __future__ import annotations

import errno
from typing import IO, Any

from textual.drivers.linux_driver import LinuxDriver


class _HungUpSafeFile:
    """The terminal's file, whose writes and flushes become no-ops once it hung up."""

    def __init__(self, file: IO[str]) -> None:
        self._file = file
        self.hung_up = False

    def write(self, text: str) -> int:
        if self.hung_up:
            return len(text)
        try:
            return self._file.write(text)
        except OSError as exc:
            return self._lost(exc, len(text))

    def flush(self) -> None:
        if self.hung_up:
            return
        try:
            self._file.flush()
        except OSError as exc:
            self._lost(exc, 0)

    def _lost(self, exc: OSError, size: int) -> int:
        if exc.errno not in (errno.EIO, errno.EPIPE, errno.ENXIO):
            raise exc
        self.hung_up = True
        return size

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class HangupSafeLinuxDriver(LinuxDriver):
    """Textual's Linux driver, writing through :class:`_HungUpSafeFile`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._file = _HungUpSafeFile(self._file)  # type: ignore[arg-type,assignment]
