"""The capture child's pcap output: the file ``-w`` names at start, then whatever the
``pcap`` control lines start and stop (the TUI's ``W``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from netop.packet.decode import LINKTYPE_LINUX_SLL
from netop.sources.capture.messages import ChildConfig, Message, Writing

if TYPE_CHECKING:
    from netop.packet.pcapfile import PcapWriter


class PcapOutput:
    """At most one open :class:`~netop.packet.pcapfile.PcapWriter`; every change of it
    (and, from :meth:`tick`, its size) is told to the parent as :class:`Writing`."""

    def __init__(self, config: ChildConfig, send: Callable[[Message], None],
                 writer: PcapWriter | None = None, who: str = "") -> None:
        self._config = config
        #: The user the files are written as, named when one cannot be opened.
        self._who = who
        self._send = send
        self.writer = writer
        self._path = config.write if writer is not None else None

    def status(self, error: str = "") -> Writing:
        """What is written now, for the parent."""
        writer = self.writer
        if writer is None:
            return Writing("", 0, error)
        return Writing(self._path or writer.path, writer.bytes_written, error)

    def start(self, path: str) -> None:
        """Finish the current file, if any, and write to ``path`` from now on. A file
        that cannot be opened leaves nothing written and says why."""
        from netop.packet.pcapfile import PcapError, PcapWriter

        self.stop(quiet=True)
        try:
            self.writer = PcapWriter(path, LINKTYPE_LINUX_SLL, self._config.snaplen,
                                     self._config.rotate_mb, self._config.max_files)
        except PcapError as exc:
            hint = f" (written as {self._who}; see capture.user)" if self._who else ""
            self._send(self.status(f"{exc}{hint}"))
            return
        self._path = path
        self._send(self.status())

    def stop(self, quiet: bool = False) -> None:
        """Finish the current file (flushed, closed); nothing is written until the next
        :meth:`start`."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            self._path = None
        if not quiet:
            self._send(self.status())

    def fail(self, exc: OSError) -> None:
        """Writing failed (a full disk): stop, and say why."""
        path = self._path
        self.stop(quiet=True)
        self._send(self.status(f"{path}: {exc.strerror or exc}"))

    def tick(self) -> None:
        """Flush what this tick wrote and report the size."""
        if self.writer is not None:
            try:
                self.writer.flush()
            except OSError as exc:
                self.fail(exc)
                return
            self._send(self.status())

    def close(self) -> None:
        """At the child's end: finish the file without a message (the pipe may be gone)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
