"""The ``?`` help screen: every key binding with what it does."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

#: (key, what it does) — the single list the help screen shows.
KEYS: tuple[tuple[str, str], ...] = (
    ("q / ctrl+c", "quit"),
    ("?", "this help"),
    ("space", "pause the display (collection goes on; the header says PAUSED); in playback "
              "(netop replay, -r FILE) pause the playing itself"),
    ("tab / shift+tab", "focus the next / previous pane"),
    ("↑ ↓ pgup pgdn home end", "move in the focused pane"),
    ("/", "filter the flows (enter applies, esc cancels; e.g. port 443 and bytes > 1M; "
          "bytes, packets: both directions, bytes_fwd/bytes_rev: one)"),
    ("s / S", "sort the flows by the next column / reverse the order (or click a header)"),
    ("a", "group flows: connection → remote host → process → user → port → protocol; "
          "the process and user views show what this host sent and received"),
    ("n", "show names (reverse DNS, /etc/services) or bare addresses and ports"),
    ("enter", "details of the selected flow (record, rate history, packets); on a group "
              "row: its member flows; on an interface: its detail (graph, all counters, "
              "NIC statistics, qdisc drops); on an event line: its interface's row, or "
              "for a flow's event a filter to that flow; escape returns"),
    ("h", "filter to the selected flow's remote host (narrows the filter in force)"),
    ("p", "filter to the selected flow's protocol and service port"),
    ("P", "filter to the selected flow's process"),
    ("C", "filter to the selected flow's conversation (its two hosts)"),
    ("backspace", "undo the last drill-down (h p P C, or enter on a group row)"),
    ("T", "flows: totals (bytes each way) instead of rates, and back"),
    ("B", "flows: iftop's scale bars behind the rows (10 s average, log scale 10b…1Gb, "
          "the ruler on the pane's bottom line), and off"),
    ("W", "live capture: write it to a pcap file from now on (asks for the name, mode "
          "0600; the header shows ● PCAP name size); W again closes it. With -w it "
          "closes that file"),
    ("o", "interfaces: busiest first (the -i ones on top) or by name"),
    ("b", "toggle bits / bytes"),
    ("i", "hide / show idle interfaces"),
    ("c", "fold / unfold every remote group (SNMP targets, sFlow exporters); enter folds one"),
    ("t", "next theme"),
    ("K", "KPIs per remote host or service (v switches); / filters on them too: "
          "rtt > 100ms, retrans > 1%, state S0"),
    ("!", "alerts: active and recent, deduplicated; enter shows the flows behind one, "
          "a acknowledges it"),
    ("[", "playback: step one interval back (pauses; atop's t/T are the theme key here)"),
    ("]", "playback: step one interval forward (pauses)"),
    ("-", "playback: slower (0.25x to 128x; the header shows the speed)"),
    ("+", "playback: faster (long gaps in a recording are skipped with a note)"),
    ("g", "playback: go to a time (14:32, 2026-01-01 14:32, -10m, +1h) or a percentage "
          "(50%)"),
    ("escape", "close this help"),
)


class HelpScreen(ModalScreen[None]):
    """Lists every binding; any of escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        /* A definite width: with ``width: auto`` the box sizes itself from children
           that size themselves from the box, and collapses to its frame. */
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    HelpScreen > VerticalScroll > Static { width: 100%; height: auto; }
    HelpScreen > VerticalScroll > .title { text-style: bold; color: $primary; }
    """

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(ratio=1)
        for key, action in KEYS:
            table.add_row(key, action)
        with VerticalScroll():
            yield Static("netop keys  (↑ ↓ scroll · esc closes)", classes="title")
            yield Static(table)

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        """Close the help."""
        self.dismiss(result)
