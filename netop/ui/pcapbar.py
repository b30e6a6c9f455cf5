"""The ``W`` box: the file to write the live capture to (``-w`` started from the TUI)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from textual.message import Message

from netop.ui.promptbar import PromptBar

#: A longer path would not fit the capture process's control line in one write.
MAX_PATH = 1024
VERDICT = "enter writes · esc cancels"


def default_pcap_name(now: float | None = None) -> str:
    """``netop-20261201-031500.pcap``: a new name each second, in the current directory."""
    return time.strftime("netop-%Y%m%d-%H%M%S.pcap", time.localtime(now))


def pcap_path(text: str, cwd: str | None = None) -> str:
    """The absolute path ``text`` names (``~`` expanded, relative to ``cwd``), or
    ``ValueError`` with the reason: an existing file is never overwritten from here."""
    name = text.strip()
    if not name:
        raise ValueError("type a file name")
    if "\0" in name or len(name) > MAX_PATH:
        raise ValueError("not a usable file name")
    path = os.path.normpath(os.path.join(cwd or os.getcwd(), os.path.expanduser(name)))
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory")
    if os.path.lexists(path):
        raise ValueError(f"{os.path.basename(path)} exists; choose another name")
    if not os.path.isdir(folder):
        raise ValueError(f"no such directory: {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write in {folder}")
    return path


class PcapBar(PromptBar[str]):
    """An input line for the pcap file, prefilled with a fresh name; hidden until opened.
    A name that cannot be written stays, with the reason beside it."""

    LABEL = "write pcap"
    VERDICT = VERDICT

    class Chosen(Message):
        """The user chose to write to ``path`` (absolute)."""

        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    class Cancelled(Message):
        """Closed without writing."""

    def __init__(self) -> None:
        super().__init__(id="pcap")

    def chosen(self, value: str) -> Message:
        return self.Chosen(value)

    def cancelled(self) -> Message:
        return self.Cancelled()

    def open(self, value: str, check: Callable[[str], str] = pcap_path) -> None:
        """Show the box with the name ``value`` in it, the verdict fresh, and focus it."""
        self.verdict.set_class(False, "-invalid")
        self.verdict.update(VERDICT)
        super().open(value, check)
