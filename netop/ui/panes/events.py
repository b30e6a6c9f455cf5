"""The Event log pane: timestamped, severity-coloured, scrolling, bounded."""

from __future__ import annotations

import time
from collections import deque

from netop.model import NetEvent, Severity, Snapshot
from netop.ui.widgets.linetable import Column, LineTable, Row, Styled

#: Lines kept on screen; older ones scroll away for good (the engine keeps its own log).
MAX_LINES = 500

_SEVERITY = {
    Severity.INFO: ("info", "dim"),
    Severity.WARNING: ("WARN", "warn"),
    Severity.ERROR: ("ERROR", "error"),
}


class EventsPane(LineTable):
    """The event log; follows the newest line unless the user scrolled up.

    Focused, it has a cursor (on the newest line at first) and ``Enter`` on a line goes
    to what the event is about (:mod:`netop.ui.eventjump`); unfocused it has none.
    """

    COLUMNS = (
        Column("time", "Time", 8),
        Column("severity", "Level", 5),
        Column("message", "Event", 0, min_width=20),
    )

    def __init__(self) -> None:
        super().__init__(self.COLUMNS, cursor=False, id="events", classes="pane",
                         empty_text="no events yet")
        self.border_title = "Events"
        self._lines: deque[Row] = deque(maxlen=MAX_LINES)
        self._events: deque[NetEvent] = deque(maxlen=MAX_LINES)
        self._seen = 0

    def show(self, snapshot: Snapshot) -> None:
        """Append the events the pane has not shown yet."""
        fresh = snapshot.events_total - self._seen
        if fresh <= 0:
            return
        new = snapshot.events[-fresh:] if fresh <= len(snapshot.events) else snapshot.events
        start = self._seen
        self._seen = snapshot.events_total
        for offset, event in enumerate(new, start=start + fresh - len(new)):
            self._lines.append(self._row(offset, event))
            self._events.append(event)
        following = self.scroll_offset.y >= self.max_scroll_y
        self.set_rows(tuple(self._lines))
        if following:
            self.call_after_refresh(self.scroll_end, animate=False)

    def event(self, key: str) -> NetEvent | None:
        """The event of the line ``key``, if it is still shown."""
        for row, event in zip(self._lines, self._events, strict=True):
            if row.key == key:
                return event
        return None

    def on_focus(self) -> None:
        """A cursor while focused, on the newest line unless it was on another."""
        self.show_cursor = True
        if self.rows:
            index = self.cursor_index
            self._move_cursor(len(self.rows) - 1 if index is None else index)

    def on_blur(self) -> None:
        """No cursor while another pane has the keys."""
        self.show_cursor = False
        self._cache.clear()
        self.refresh()

    @staticmethod
    def _row(number: int, event: NetEvent) -> Row:
        label, style = _SEVERITY[event.severity]
        stamp = time.strftime("%H:%M:%S", time.localtime(event.ts))
        return Row(
            key=str(number),
            cells=(Styled(stamp, "dim"), Styled(label, style), event.message),
        )
