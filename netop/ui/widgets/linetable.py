"""A keyed table that repaints only the lines that changed.

Textual's DataTable repaints the whole table when one cell changes, and every styled
cell costs escape codes; over SSH at 1 Hz that is tens of KB/s. This table uses the
line API instead: rows are keyed, :meth:`LineTable.set_rows` compares each row with
what is on screen and refreshes only the lines whose text moved, so an idle screen
sends nothing and a busy one sends only its changed rows. Styles come from component
classes (theme variables in the stylesheet), one style run per cell at most.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from netop.text import safe_text
from netop.ui.widgets.sparkline import spark_text

#: Cell style names; each maps to the component class ``line-table--<name>``.
STYLE_NAMES = ("rx", "tx", "dim", "warn", "error", "ok", "changed", "accent")


@dataclass(frozen=True, slots=True)
class Column:
    """A column: ``width`` 0 means it shares what the fixed columns leave."""

    key: str
    label: str
    width: int = 0
    align: Literal["left", "right"] = "left"
    min_width: int = 6
    weight: int = 1
    """A flexible column's share of the spare width, relative to the others'."""


@dataclass(frozen=True, slots=True)
class Spark:
    """A sparkline cell, drawn to whatever width its column gets."""

    values: tuple[float, ...]
    style: str | None = None


@dataclass(frozen=True, slots=True)
class Styled:
    """Text with one of :data:`STYLE_NAMES`."""

    text: str
    style: str | None = None


@dataclass(frozen=True, slots=True)
class Middle:
    """Text that, too wide for its column, loses its middle instead of its end: the
    last ``keep`` characters (a port, say) stay whole and the rest is shared between
    the head and the tail of the text, where addresses and names differ."""

    text: str
    style: str | None = None
    keep: int = 0


Cell = str | Styled | Spark | Middle


@dataclass(frozen=True, slots=True)
class Row:
    """A keyed row; the key keeps the cursor on the same row across re-sorts."""

    key: str
    cells: tuple[Cell, ...]
    bar: float = 0.0
    """A scale bar behind the row (iftop's): the share of the line, 0..1, drawn reversed."""


class LineTable(ScrollView, can_focus=True):
    """A fixed-header table of keyed rows with an optional cursor."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "line-table--header",
        "line-table--cursor",
        "line-table--bar",
        *(f"line-table--{name}" for name in STYLE_NAMES),
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(0)", "First", show=False),
        Binding("end", "edge(1)", "Last", show=False),
    ]

    DEFAULT_CSS = """
    LineTable { height: 1fr; overflow-x: hidden; }
    """

    class HeaderClicked(Message):
        """The header of a column was clicked."""

        def __init__(self, table: LineTable, column: str) -> None:
            super().__init__()
            self.table = table
            self.column = column

    class RowChosen(Message):
        """Enter was pressed on a row (or it was double-clicked)."""

        def __init__(self, table: LineTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        cursor: bool = False,
        empty_text: str = "",
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's own parameter name
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns: tuple[Column, ...] = tuple(columns)
        self.rows: tuple[Row, ...] = ()
        self.show_cursor = cursor
        self.cursor_key: str | None = None
        self.empty_text = empty_text
        self._index: dict[str, int] = {}
        self._widths: tuple[int, ...] = ()
        self._widths_for = -1
        self._title_text: str | None = None
        self._cache: dict[int, Strip] = {}

    # -- data ---------------------------------------------------------------------------

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Replace the columns (e.g. a new aggregation); repaints everything."""
        self.columns = tuple(columns)
        self._widths = ()
        self._widths_for = -1
        self._cache.clear()
        self.refresh()

    def set_title(self, title: str) -> None:
        """Set the border title; assigning one repaints the whole widget, so only on change.

        The title is plain text: it carries what the user typed (a filter) and what the
        network said (an exporter's summary), so it is never read as markup.
        """
        if title != self._title_text:
            self._title_text = title
            self.border_title = Content(title)

    def set_empty_text(self, text: str) -> None:
        """What an empty table says (why it is empty)."""
        if text != self.empty_text:
            self.empty_text = text
            if not self.rows:
                self.refresh()

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Show ``rows``; only lines whose content changed are repainted."""
        old = self.rows
        new = tuple(rows)
        if new == old:
            return
        self.rows = new
        self._index = {row.key: i for i, row in enumerate(new)}
        if self.cursor_key not in self._index:
            self.cursor_key = new[0].key if (new and self.show_cursor) else None
        if len(new) != len(old):
            self.virtual_size = Size(self.inner_width, len(new) + 1)
        if not old or not new:
            self._cache.clear()
            self.refresh()
            return
        widths = self._widths if self._widths_for == self.inner_width else ()
        for i in range(max(len(old), len(new))):
            if i >= len(old) or i >= len(new) or not self._same(old[i], new[i], widths):
                self._cache.pop(i, None)
                self._refresh_row(i)
        self._cache_cursor_rows()

    @staticmethod
    def _same(old: Row, new: Row, widths: Sequence[int]) -> bool:
        """Whether two rows look the same on screen.

        A sparkline's history grows each tick while its drawn tail may not change (an
        idle interface is blank either way), so sparklines compare as drawn.
        """
        if old == new:
            return True
        if old.key != new.key or len(old.cells) != len(new.cells) or not widths:
            return False
        for a, b, w in zip(old.cells, new.cells, widths, strict=False):
            if a == b:
                continue
            if not (isinstance(a, Spark) and isinstance(b, Spark) and a.style == b.style):
                return False
            if spark_text(a.values, w) != spark_text(b.values, w):
                return False
        return True

    @property
    def cursor_index(self) -> int | None:
        """Index of the row under the cursor, if any."""
        return None if self.cursor_key is None else self._index.get(self.cursor_key)

    # -- rendering ----------------------------------------------------------------------

    @property
    def inner_width(self) -> int:
        """Cells a line has: the content's width less a vertical scrollbar (drawn over the
        last cells otherwise, hiding the last column)."""
        return self.scrollable_content_region.width or self.size.width

    def _refresh_row(self, index: int) -> None:
        y = index - round(self.scroll_offset.y) + 1
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.inner_width, 1))

    def _cache_cursor_rows(self) -> None:
        index = self.cursor_index
        if index is not None:
            self._cache.pop(index, None)

    def notify_style_update(self) -> None:
        """Theme changed: every cached line has stale colours."""
        super().notify_style_update()
        self._cache.clear()

    def on_resize(self, event: events.Resize) -> None:
        """New width: column widths and cached lines are stale."""
        self._widths = ()
        self._cache.clear()
        self.virtual_size = Size(event.size.width, len(self.rows) + 1)

    def _column_widths(self, width: int) -> tuple[int, ...]:
        if self._widths and self._widths_for == width:
            return self._widths
        fixed = sum(c.width for c in self.columns if c.width) + len(self.columns) - 1
        flexible = [c for c in self.columns if not c.width]
        spare = max(0, width - fixed)
        weights = sum(c.weight for c in flexible) or 1
        widths = []
        for column in self.columns:
            widths.append(column.width
                          or max(column.min_width, spare * column.weight // weights))
        # When the screen is too narrow, trim from the widest columns to fit.
        while sum(widths) + len(widths) - 1 > width and max(widths) > 3:
            widest = widths.index(max(widths))
            widths[widest] -= 1
        self._widths = tuple(widths)
        self._widths_for = width
        return self._widths

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the widget: the header at 0, then rows from the scroll offset."""
        width = self.inner_width
        widths = self._column_widths(width)
        base = self.rich_style
        if y == 0:
            header = self.get_component_rich_style("line-table--header")
            cells = [
                _fit(c.label, w, c.align) for c, w in zip(self.columns, widths, strict=True)
            ]
            return Strip([Segment(" ".join(cells).ljust(width)[:width], base + header)])
        index = y - 1 + round(self.scroll_offset.y)
        if not self.rows:
            lines = textwrap.wrap(self.empty_text, max(10, width - 4))
            if 2 <= y < 2 + len(lines):
                dim = self.get_component_rich_style("line-table--dim")
                text = _fit("  " + lines[y - 2], width, "left")
                return Strip([Segment(text, base + dim)])
            return Strip.blank(width, base)
        if index >= len(self.rows):
            return Strip.blank(width, base)
        cached = self._cache.get(index)
        if cached is not None and cached.cell_length == width:
            return cached
        if cached is not None:  # the width changed under us: every cached line is stale
            self._cache.clear()
        strip = self._render_row(self.rows[index], widths, width, base)
        self._cache[index] = strip
        return strip

    def _render_row(self, row: Row, widths: Sequence[int], width: int, base: Style) -> Strip:
        """One row as a strip: cells padded to their columns, one style run per cell."""
        selected = self.show_cursor and row.key == self.cursor_key and self.has_focus
        if self.show_cursor and row.key == self.cursor_key:
            cursor_style = self.get_component_rich_style("line-table--cursor")
            line_style = base + cursor_style if selected else base + Style(underline=True)
        else:
            line_style = base
        pieces: list[tuple[str, Style]] = []
        if len(row.cells) == 1 and len(self.columns) > 1:
            # A one-cell row (a group header) spans the whole line.
            widths = [width]
        for i, (column, cell, w) in enumerate(zip(self.columns, row.cells, widths, strict=False)):
            if i:
                pieces.append((" ", line_style))
            text, style_name = _cell_text(cell, w, column.align)
            style = line_style
            if style_name and not selected:
                style = line_style + self.get_component_rich_style(f"line-table--{style_name}")
            pieces.append((text, style))
        used = sum(len(t) for t, _ in pieces)
        if used < width:
            pieces.append((" " * (width - used), line_style))
        if row.bar > 0:
            pieces = _with_bar(pieces, round(row.bar * width),
                               self.get_component_rich_style("line-table--bar"))
        return Strip(_merge(pieces), width)

    # -- interaction ----------------------------------------------------------------------

    def _move_cursor(self, index: int) -> None:
        if not self.rows or not self.show_cursor:
            return
        index = max(0, min(len(self.rows) - 1, index))
        old = self.cursor_index
        self.cursor_key = self.rows[index].key
        for i in (old, index):
            if i is not None:
                self._cache.pop(i, None)
                self._refresh_row(i)
        visible = self.size.height - 1
        top = round(self.scroll_offset.y)
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + visible:
            self.scroll_to(y=index - visible + 1, animate=False)

    def move_to(self, key: str) -> bool:
        """Put the cursor on the row ``key`` (scrolled into view); False: no such row."""
        index = self._index.get(key)
        if index is None or not self.show_cursor:
            return False
        self._move_cursor(index)
        return True

    def action_cursor(self, step: int) -> None:
        """Move the cursor by ``step`` rows (or scroll without a cursor)."""
        if not self.show_cursor:
            self.scroll_to(y=self.scroll_offset.y + step, animate=False)
            return
        current = self.cursor_index
        self._move_cursor((current if current is not None else -1) + step)

    def action_page(self, direction: int) -> None:
        """Move a page up or down."""
        self.action_cursor(direction * max(1, self.size.height - 2))

    def action_edge(self, end: int) -> None:
        """Go to the first (0) or last (1) row."""
        self.action_cursor(-len(self.rows) if end == 0 else len(self.rows))

    def key_enter(self) -> None:
        """Enter chooses the row under the cursor."""
        if self.cursor_key is not None:
            self.post_message(self.RowChosen(self, self.cursor_key))

    def on_click(self, event: events.Click) -> None:
        """A click on the header sorts; on a row it moves the cursor there."""
        # The event's x/y count from the border; the header is the content's first line.
        offset = event.get_content_offset(self)
        if offset is None:  # on the border or the scrollbar
            return
        if offset.y == 0:
            x = offset.x
            for column, w in zip(self.columns, self._widths, strict=False):
                if x < w + 1:
                    self.post_message(self.HeaderClicked(self, column.key))
                    return
                x -= w + 1
            return
        index = offset.y - 1 + round(self.scroll_offset.y)
        if 0 <= index < len(self.rows):
            self._move_cursor(index)
            if event.chain >= 2 and self.cursor_key is not None:
                self.post_message(self.RowChosen(self, self.cursor_key))

    def on_focus(self) -> None:
        """The cursor is drawn brighter while the table has focus."""
        self._cache_cursor_rows()
        index = self.cursor_index
        if index is not None:
            self._refresh_row(index)

    def on_blur(self) -> None:
        """Dim the cursor again."""
        self.on_focus()


#: Characters of a cell made printable (``netop.text.safe_text``) before it is fitted:
#: more than any column is wide, so the cut to the column keeps its own ellipsis.
_CELL_CHARS = 1024


def _fit(text: str, width: int, align: str) -> str:
    """``text`` made printable and padded or cut (with an ellipsis) to ``width`` cells."""
    text = safe_text(text, _CELL_CHARS)
    if not text.isascii():
        return _fit_wide(text, width, align)
    if len(text) > width:
        return text[: max(0, width - 1)] + "…" if width > 1 else text[:width]
    return text.rjust(width) if align == "right" else text.ljust(width)


def _fit_wide(text: str, width: int, align: str) -> str:
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, max(0, width - 1)) + "…" if width > 1 else ""
    pad = " " * (width - length)
    return pad + text if align == "right" else text + pad


def cut_middle(text: str, width: int, keep: int = 0) -> str:
    """``text`` (printable) shortened to at most ``width`` cells with ``…`` in the middle,
    its last ``keep`` characters whole; ``[fd00:99:aaaa:bbbb::12]:443`` at 16 cells is
    ``[fd00…b::12]:443``. Too narrow for even that, it is cut at the end."""
    text = safe_text(text, _CELL_CHARS)
    if cell_len(text) <= width:
        return text
    keep = max(0, min(keep, len(text)))
    body, suffix = text[: len(text) - keep], text[len(text) - keep:]
    room = width - 1 - cell_len(suffix)
    if room < 2:
        return set_cell_size(text, max(0, width - 1)) + "…" if width > 1 else ""
    head = set_cell_size(body, room // 2).rstrip()
    return head + "…" + _last_cells(body, room - cell_len(head)) + suffix


def _last_cells(text: str, cells: int) -> str:
    """The longest end of ``text`` at most ``cells`` wide."""
    if text.isascii():
        return text[len(text) - cells:] if cells > 0 else ""
    taken = 0
    start = len(text)
    while start > 0 and taken + cell_len(text[start - 1]) <= cells:
        start -= 1
        taken += cell_len(text[start])
    return text[start:]


def _cell_text(cell: Cell, width: int, align: str) -> tuple[str, str | None]:
    if isinstance(cell, Spark):
        return spark_text(cell.values, width), cell.style
    if isinstance(cell, Middle):
        return _fit(cut_middle(cell.text, width, cell.keep), width, align), cell.style
    if isinstance(cell, Styled):
        return _fit(cell.text, width, align), cell.style
    return _fit(cell, width, align), None


def _with_bar(pieces: list[tuple[str, Style]], cells: int,
              bar: Style) -> list[tuple[str, Style]]:
    """``pieces`` with ``bar`` added to their first ``cells`` cells (split where the bar
    ends inside a piece)."""
    out: list[tuple[str, Style]] = []
    left = cells
    for text, style in pieces:
        if left <= 0:
            out.append((text, style))
            continue
        length = cell_len(text)
        if length <= left:
            out.append((text, style + bar))
        else:
            head = set_cell_size(text, left)
            out.append((head, style + bar))
            out.append((text[len(head):], style))
        left -= length
    return out


def _merge(pieces: list[tuple[str, Style]]) -> list[Segment]:
    """Join neighbouring pieces of equal style: fewer escape codes on the wire."""
    segments: list[Segment] = []
    text, style = pieces[0]
    for next_text, next_style in pieces[1:]:
        if next_style == style:
            text += next_text
        else:
            segments.append(Segment(text, style))
            text, style = next_text, next_style
    segments.append(Segment(text, style))
    return segments
