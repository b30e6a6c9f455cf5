"""The ``/`` filter box: validated as you type, applied on Enter, Esc cancels."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from netop.engine.filter import FilterError, parse_filter


class FilterBar(Horizontal):
    """An input line with a verdict beside it; hidden until opened."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    FilterBar { height: 1; display: none; background: $footer-background; }
    FilterBar.-open { display: block; }
    FilterBar > Static { width: auto; padding: 0 1; color: $footer-foreground; }
    FilterBar > Input { width: 1fr; background: $surface; color: $foreground; }
    FilterBar > Input.-invalid { color: $error; }
    FilterBar > Input.-valid { color: $success; }
    FilterBar > #filter-verdict { color: $netop-dim; background: $surface; max-width: 60%; }
    FilterBar > #filter-verdict.-invalid { color: $error; }
    """

    class Applied(Message):
        """The user applied ``text`` (already known to parse)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Cancelled(Message):
        """The user closed the box without applying."""

    def compose(self) -> ComposeResult:
        yield Static("filter", id="filter-label")
        # compact: one row, no border in any state. A plain Input's focused and invalid
        # states draw a tall border that, squeezed into one row, hides the typed text.
        yield Input(placeholder="e.g. tcp and port 443 and bytes > 1M", id="filter-input",
                    compact=True)
        yield Static("", id="filter-verdict")

    def open(self, current: str) -> None:
        """Show the box with the filter in force, and focus it."""
        self.add_class("-open")
        field = self.query_one(Input)
        field.value = current
        field.focus()

    def close(self) -> None:
        """Hide the box."""
        self.remove_class("-open")

    def on_input_changed(self, event: Input.Changed) -> None:
        """Validate as the user types: green when it parses, red with the reason when not."""
        verdict = self.query_one("#filter-verdict", Static)
        try:
            parse_filter(event.value)
        except FilterError as exc:
            event.input.set_class(True, "-invalid")
            event.input.set_class(False, "-valid")
            verdict.set_class(True, "-invalid")
            verdict.update(Text(str(exc)))  # the user's text, never markup
        else:
            event.input.set_class(False, "-invalid")
            event.input.set_class(bool(event.value), "-valid")
            verdict.set_class(False, "-invalid")
            verdict.update("enter applies · esc cancels")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Apply a valid filter; an invalid one stays in the box and nothing changes."""
        try:
            parse_filter(event.value)
        except FilterError:
            return
        self.post_message(self.Applied(event.value.strip()))
        self.close()

    def action_cancel(self) -> None:
        """Close without changing the filter."""
        self.close()
        self.post_message(self.Cancelled())
