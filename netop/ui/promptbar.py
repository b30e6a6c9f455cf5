"""A one-line prompt above the footer: a label, an input, and a verdict beside it.

The ``g`` (go to) and ``W`` (write a pcap) boxes are prompts: the text typed is checked
by a function that returns the value or raises ValueError with the reason, which stays
beside the box until the text is fixed or the box closed with escape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Generic, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

T = TypeVar("T")


class PromptBar(Horizontal, Generic[T]):
    """Hidden until :meth:`open`; Enter posts :meth:`chosen` of the checked value,
    escape :meth:`cancelled`. Subclasses name their messages (Textual routes them by
    the class that defines them) and the texts."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    PromptBar { height: 1; display: none; background: $footer-background; }
    PromptBar.-open { display: block; }
    PromptBar > Static { width: auto; padding: 0 1; color: $footer-foreground; }
    PromptBar > Input { width: 1fr; background: $surface; color: $foreground; }
    PromptBar > .verdict { color: $netop-dim; background: $surface; max-width: 60%; }
    PromptBar > .verdict.-invalid { color: $error; }
    """

    #: The label before the box, its placeholder, and the verdict while nothing is wrong.
    LABEL: ClassVar[str] = ""
    PLACEHOLDER: ClassVar[str] = ""
    VERDICT: ClassVar[str] = ""

    def __init__(self, id: str) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self.check: Callable[[str], T] | None = None

    def compose(self) -> ComposeResult:
        yield Static(self.LABEL, id=f"{self.id}-label")
        yield Input(placeholder=self.PLACEHOLDER, id=f"{self.id}-input", compact=True)
        yield Static(self.VERDICT, id=f"{self.id}-verdict", classes="verdict")

    def chosen(self, value: T) -> Message:
        """The message Enter posts for a value that passed :attr:`check`."""
        raise NotImplementedError

    def cancelled(self) -> Message:
        """The message escape posts."""
        raise NotImplementedError

    @property
    def verdict(self) -> Static:
        """The text beside the box."""
        return self.query_one(f"#{self.id}-verdict", Static)

    def open(self, value: str, check: Callable[[str], T]) -> None:
        """Show the box with ``value`` in it (the cursor at its end), and focus it."""
        self.check = check
        self.add_class("-open")
        field = self.query_one(Input)
        field.value = value
        field.cursor_position = len(value)
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Post the value; a text that does not pass stays, with the reason beside it."""
        event.stop()
        if self.check is None:
            return
        verdict = self.verdict
        try:
            value = self.check(event.value)
        except ValueError as exc:
            verdict.set_class(True, "-invalid")
            verdict.update(Text(str(exc)))  # the user's text, never markup
            return
        verdict.set_class(False, "-invalid")
        verdict.update(self.VERDICT)
        self.remove_class("-open")
        self.post_message(self.chosen(value))

    def action_cancel(self) -> None:
        """Close without a value."""
        self.remove_class("-open")
        self.post_message(self.cancelled())
