"""The ``W`` box: the file to write the live capture to (``-w`` started from the TUI)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

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


class PcapBar(Horizontal):
    """An input line for the pcap file, prefilled with a fresh name; hidden until opened.
    A name that cannot be written stays, with the reason beside it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    PcapBar { height: 1; display: none; background: $footer-background; }
    PcapBar.-open { display: block; }
    PcapBar > Static { width: auto; padding: 0 1; color: $footer-foreground; }
    PcapBar > Input { width: 1fr; background: $surface; color: $foreground; }
    PcapBar > #pcap-verdict { color: $netop-dim; background: $surface; max-width: 60%; }
    PcapBar > #pcap-verdict.-invalid { color: $error; }
    """

    class Chosen(Message):
        """The user chose to write to ``path`` (absolute)."""

        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    class Cancelled(Message):
        """Closed without writing."""

    def __init__(self) -> None:
        super().__init__(id="pcap")
        self.check: Callable[[str], str] = pcap_path

    def compose(self) -> ComposeResult:
        yield Static("write pcap", id="pcap-label")
        yield Input(id="pcap-input", compact=True)
        yield Static(VERDICT, id="pcap-verdict")

    def open(self, name: str) -> None:
        """Show the box with ``name`` in it, and focus it."""
        self.add_class("-open")
        verdict = self.query_one("#pcap-verdict", Static)
        verdict.set_class(False, "-invalid")
        verdict.update(VERDICT)
        field = self.query_one(Input)
        field.value = name
        field.cursor_position = len(name)
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Write there; a name that cannot be written stays, with the reason beside it."""
        event.stop()
        verdict = self.query_one("#pcap-verdict", Static)
        try:
            path = self.check(event.value)
        except ValueError as exc:
            verdict.set_class(True, "-invalid")
            verdict.update(Text(str(exc)))  # the user's text, never markup
            return
        self.remove_class("-open")
        self.post_message(self.Chosen(path))

    def action_cancel(self) -> None:
        """Close without writing."""
        self.remove_class("-open")
        self.post_message(self.Cancelled())
