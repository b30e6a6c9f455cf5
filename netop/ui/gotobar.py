"""The ``g`` box of playback: go to a time (``14:32``, ``-10m``) or a percentage."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static


class GotoBar(Horizontal):
    """An input line for a position; hidden until opened. ``parse`` turns the text into
    a time or raises ValueError with the reason (shown beside the box)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    GotoBar { height: 1; display: none; background: $footer-background; }
    GotoBar.-open { display: block; }
    GotoBar > Static { width: auto; padding: 0 1; color: $footer-foreground; }
    GotoBar > Input { width: 1fr; background: $surface; color: $foreground; }
    GotoBar > #goto-verdict { color: $netop-dim; background: $surface; max-width: 60%; }
    GotoBar > #goto-verdict.-invalid { color: $error; }
    """

    class Chosen(Message):
        """The user chose time ``ts``."""

        def __init__(self, ts: float) -> None:
            super().__init__()
            self.ts = ts

    class Cancelled(Message):
        """Closed without moving."""

    def __init__(self) -> None:
        super().__init__(id="goto")
        self.parse: Callable[[str], float] | None = None

    def compose(self) -> ComposeResult:
        yield Static("go to", id="goto-label")
        yield Input(placeholder="14:32 · -10m · +1h · 50%", id="goto-input", compact=True)
        yield Static("enter goes · esc cancels", id="goto-verdict")

    def open(self, parse: Callable[[str], float]) -> None:
        """Show the box empty, and focus it."""
        self.parse = parse
        self.add_class("-open")
        field = self.query_one(Input)
        field.value = ""
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Go there; a text that names no time stays, with the reason beside it."""
        event.stop()
        verdict = self.query_one("#goto-verdict", Static)
        if self.parse is None:
            return
        try:
            ts = self.parse(event.value)
        except ValueError as exc:
            verdict.set_class(True, "-invalid")
            verdict.update(Text(str(exc)))  # the user's text, never markup
            return
        verdict.set_class(False, "-invalid")
        verdict.update("enter goes · esc cancels")
        self.remove_class("-open")
        self.post_message(self.Chosen(ts))

    def action_cancel(self) -> None:
        """Close without moving."""
        self.remove_class("-open")
        self.post_message(self.Cancelled())
