"""The ``g`` box of playback: go to a time (``14:32``, ``-10m``) or a percentage."""

from __future__ import annotations

from textual.message import Message

from netop.ui.promptbar import PromptBar


class GotoBar(PromptBar[float]):
    """An input line for a position; hidden until opened. The check given to
    :meth:`open` turns the text into a time or raises ValueError with the reason."""

    LABEL = "go to"
    PLACEHOLDER = "14:32 · -10m · +1h · 50%"
    VERDICT = "enter goes · esc cancels"

    class Chosen(Message):
        """The user chose time ``ts``."""

        def __init__(self, ts: float) -> None:
            super().__init__()
            self.ts = ts

    class Cancelled(Message):
        """Closed without moving."""

    def __init__(self) -> None:
        super().__init__(id="goto")

    def chosen(self, value: float) -> Message:
        return self.Chosen(value)

    def cancelled(self) -> Message:
        return self.Cancelled()
