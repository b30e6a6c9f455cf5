"""Messages from the engine's thread to the UI."""

from __future__ import annotations

from textual.message import Message

from netop.model import Snapshot


class SnapshotReady(Message, bubble=False):
    """A new snapshot; a newer one replaces it in the queue, so a slow UI skips frames."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        """Only the newest snapshot matters; events travel in every snapshot's tail."""
        return isinstance(message, SnapshotReady)
